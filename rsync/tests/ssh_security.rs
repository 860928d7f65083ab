//! The security table: requests our destination server must refuse. Each case checks that
//! the client was refused, that the server logged the refusal with its reason, and, at the
//! end, that nothing was written outside the volume (nor, by a refused request, inside it).
// A test crate: helpers outside #[test] functions fail fast too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use support::peers::FerryServer;
use support::{Keys, ensure_deps, raw, run, text, tree};

/// How a case attacks the server.
enum Attempt {
    /// Stock `ssh` with the right key (or the wrong one) and these arguments; must fail.
    Ssh {
        wrong_key: bool,
        args: Vec<OsString>,
    },
    /// Stock `ssh HOST COMMAND` with the right key: the server must answer exit status 126
    /// and say why on stderr.
    Exec(Vec<u8>),
    /// Stock `rsync -e ssh` with these arguments; must fail.
    Rsync(Vec<String>),
    /// A bare russh client, for what stock ssh cannot send.
    Raw(RawKind),
}

enum RawKind {
    Password,
    KeyboardInteractive,
    Agent,
    X11,
    DirectTcpip,
    HugeCommand,
    LongCommand,
}

struct Case {
    name: &'static str,
    attempt: Attempt,
    /// The `reason=` code the server must log.
    code: &'static str,
    /// Words the logged message must contain.
    says: &'static str,
}

fn ssh(args: &[&str]) -> Attempt {
    Attempt::Ssh {
        wrong_key: false,
        args: args.iter().map(OsString::from).collect(),
    }
}

fn exec(cmd: &str) -> Attempt {
    Attempt::Exec(cmd.as_bytes().to_vec())
}

fn rsync(args: &[&str]) -> Attempt {
    Attempt::Rsync(args.iter().map(|s| s.to_string()).collect())
}

fn cases(tmp: &Path) -> Vec<Case> {
    let src = format!("{}/", tmp.join("client/src").display());
    let outside = tmp.join("outside");
    let abs_target = format!("127.0.0.1:{}/abs", outside.display());
    let pulled = tmp.join("client/pulled").display().to_string();
    let sock = format!("{}:127.0.0.1:9", outside.join("fwd.sock").display());
    let pwned = format!(
        "rsync --server -r . d; touch {}",
        outside.join("pwned").display()
    );
    let c = |name, attempt, code, says| Case {
        name,
        attempt,
        code,
        says,
    };
    vec![
        c(
            "wrong key",
            Attempt::Ssh {
                wrong_key: true,
                args: vec!["true".into()],
            },
            "unknown-key",
            "is not the configured source key",
        ),
        c(
            "password auth",
            Attempt::Raw(RawKind::Password),
            "auth-method",
            "password authentication is disabled",
        ),
        c(
            "keyboard-interactive auth",
            Attempt::Raw(RawKind::KeyboardInteractive),
            "auth-method",
            "keyboard-interactive authentication is disabled",
        ),
        c("shell", ssh(&["-T"]), "request", "a shell is not allowed"),
        c(
            "pty",
            ssh(&["-tt", "ferry-complete", "x"]),
            "request",
            "a PTY is not allowed",
        ),
        c(
            "sftp subsystem",
            ssh(&["-s", "sftp"]),
            "request",
            "the sftp subsystem is not allowed",
        ),
        c(
            "local forwarding (ssh -W)",
            ssh(&["-W", "127.0.0.1:22"]),
            "request",
            "local port forwarding",
        ),
        c(
            "local forwarding (direct-tcpip)",
            Attempt::Raw(RawKind::DirectTcpip),
            "request",
            "local port forwarding",
        ),
        c(
            "remote forwarding",
            ssh(&[
                "-N",
                "-o",
                "ExitOnForwardFailure=yes",
                "-R",
                "0:127.0.0.1:9",
            ]),
            "request",
            "remote port forwarding",
        ),
        c(
            "remote unix socket forwarding",
            Attempt::Ssh {
                wrong_key: false,
                args: ["-N", "-o", "ExitOnForwardFailure=yes", "-R", &sock]
                    .iter()
                    .map(OsString::from)
                    .collect(),
            },
            "request",
            "remote Unix socket forwarding",
        ),
        c(
            "agent forwarding",
            Attempt::Raw(RawKind::Agent),
            "request",
            "agent forwarding",
        ),
        c(
            "x11 forwarding",
            Attempt::Raw(RawKind::X11),
            "request",
            "X11 forwarding",
        ),
        c(
            "--rsh=...",
            exec("rsync --server -logDtpre.iLsfxCIvu --rsh=sh . d"),
            "option",
            "--rsh is not allowed",
        ),
        c(
            "--rsync-path=...",
            exec("rsync --server -r --rsync-path=/bin/sh . d"),
            "option",
            "--rsync-path is not allowed",
        ),
        c(
            "rsync --rsync-path (another program)",
            rsync(&["-r", "--rsync-path=/bin/sh", &src, "127.0.0.1:d"]),
            "program",
            "not \"/bin/sh\"",
        ),
        c(
            "--daemon",
            exec("rsync --server --daemon ."),
            "option",
            "--daemon is not allowed",
        ),
        c(
            "--sender on a write-only target",
            rsync(&["-a", "127.0.0.1:.", &pulled]),
            "sender",
            "write-only",
        ),
        c(
            "../ in a path",
            rsync(&["-a", &src, "127.0.0.1:../escape-dotdot"]),
            "dot-dot",
            "contains '..'",
        ),
        c(
            "absolute path outside the volume",
            rsync(&["-a", &src, &abs_target]),
            "outside-volume",
            "is outside the volume",
        ),
        c(
            "symlink leading out of the volume",
            rsync(&["-a", &src, "127.0.0.1:evil/"]),
            "symlink-escape",
            "through a symlink",
        ),
        c(
            "--copy-unsafe-links",
            rsync(&["-a", "--copy-unsafe-links", &src, "127.0.0.1:d"]),
            "option",
            "--copy-unsafe-links",
        ),
        c(
            "--write-devices",
            rsync(&["-a", "--write-devices", &src, "127.0.0.1:d"]),
            "option",
            "device options",
        ),
        c(
            "--devices",
            exec("rsync --server -r --devices . d"),
            "option",
            "device options",
        ),
        c(
            "--max-alloc=0",
            rsync(&["-a", "--max-alloc=0", &src, "127.0.0.1:d"]),
            "option",
            "above zero",
        ),
        c(
            "-s (secluded args)",
            rsync(&["-a", "-s", &src, "127.0.0.1:d"]),
            "option",
            "-s is not allowed",
        ),
        c(
            "unknown long option",
            exec("rsync --server -r --frobnicate . d"),
            "unknown-option",
            "--frobnicate",
        ),
        c("sh -c ...", exec("sh -c id"), "program", "not \"sh\""),
        c(
            "shell syntax after an rsync command",
            exec(&pwned),
            "shell-syntax",
            "no shell runs here",
        ),
        c(
            "1 MiB command",
            Attempt::Raw(RawKind::HugeCommand),
            "packet-too-large",
            "larger than SSH allows",
        ),
        c(
            "100 KiB command",
            Attempt::Raw(RawKind::LongCommand),
            "command-too-long",
            "longer than the 65536 bytes",
        ),
        c(
            "non-UTF-8 bytes",
            Attempt::Exec(b"rsync --server -r . d\xff\xfe".to_vec()),
            "not-utf8",
            "not valid UTF-8",
        ),
        c(
            "completion without a transfer",
            exec("ferry-complete forged"),
            "completion",
            "no transfer precedes it",
        ),
    ]
}

/// Runs one attempt; panics if the client was not refused.
fn attempt(case: &Case, keys: &Keys, port: u16, rt: &tokio::runtime::Runtime) {
    let name = case.name;
    match &case.attempt {
        Attempt::Ssh { wrong_key, args } => {
            let key = if *wrong_key {
                &keys.wrong
            } else {
                &keys.source
            };
            let out = run(Command::new("ssh")
                .args(keys.ssh_args(port, key))
                .arg("127.0.0.1")
                .args(args));
            assert!(
                !out.status.success(),
                "{name}: ssh succeeded: {}",
                text(&out)
            );
        }
        Attempt::Exec(cmd) => {
            let out = run(Command::new("ssh")
                .args(keys.ssh_args(port, &keys.source))
                .arg("127.0.0.1")
                .arg(OsString::from_vec(cmd.clone())));
            assert_eq!(out.status.code(), Some(126), "{name}: {}", text(&out));
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains("ferry: refused:") && stderr.contains(case.says),
                "{name}: {stderr}"
            );
        }
        Attempt::Rsync(args) => {
            let out = run(Command::new("rsync")
                .arg("-e")
                .arg(keys.ssh_command(port, &keys.source))
                .args(args));
            assert!(
                !out.status.success(),
                "{name}: rsync succeeded: {}",
                text(&out)
            );
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains("ferry: refused:"),
                "{name}: the user is not told why: {stderr}"
            );
        }
        Attempt::Raw(kind) => rt.block_on(async {
            match kind {
                RawKind::Password => assert!(!raw::password(port).await, "{name}"),
                RawKind::KeyboardInteractive => {
                    assert!(!raw::keyboard_interactive(port).await, "{name}")
                }
                RawKind::Agent | RawKind::X11 => {
                    let h = raw::authenticated(port, &keys.source).await;
                    let what = if matches!(kind, RawKind::Agent) {
                        "agent"
                    } else {
                        "x11"
                    };
                    assert!(!raw::request_granted(&h, what).await, "{name}");
                }
                RawKind::DirectTcpip => {
                    let h = raw::authenticated(port, &keys.source).await;
                    assert!(!raw::direct_tcpip(&h, 22).await, "{name}");
                }
                RawKind::HugeCommand | RawKind::LongCommand => {
                    let h = raw::authenticated(port, &keys.source).await;
                    let mut cmd = b"rsync --server -r . ".to_vec();
                    let huge = matches!(kind, RawKind::HugeCommand);
                    cmd.resize(if huge { 1024 * 1024 } else { 100 * 1024 }, b'a');
                    let (status, stderr) = raw::exec(&h, &cmd).await;
                    // 1 MiB does not fit an SSH packet: the server drops the connection and
                    // no exit status comes (255). 100 KiB fits and is refused by length.
                    assert_eq!(status, if huge { 255 } else { 126 }, "{name}: {stderr}");
                }
            }
        }),
    }
}

/// Waits until the log written after `from` holds the case's refusal.
fn assert_logged(server: &FerryServer, from: usize, case: &Case) {
    let want = format!("reason=\"{}\"", case.code);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = server.log_text();
        let new = &log[from.min(log.len())..];
        if new
            .lines()
            .any(|l| l.contains("refused:") && l.contains(&want) && l.contains(case.says))
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{}: the server did not log {want} with {:?}; it logged:\n{new}",
            case.name,
            case.says
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn every_case_is_refused_logged_and_writes_nothing() {
    ensure_deps();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (vol, state, outside) = (t.join("vol"), t.join("state"), t.join("outside"));
    for d in [&vol, &state, &outside, &t.join("client/src")] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(t.join("client/src/payload"), b"must not land anywhere").unwrap();
    std::fs::write(outside.join("sentinel"), b"untouched").unwrap();
    std::fs::write(vol.join("existing"), b"kept").unwrap();
    std::os::unix::fs::symlink(&outside, vol.join("evil")).unwrap();
    let keys = Keys::generate(&t.join("keys"));
    let server = FerryServer::start(&keys, &vol, &state, &t.join("server.log"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (outside_before, volume_before) = (tree::listing(&outside), tree::listing(&vol));

    let cases = cases(t);
    assert!(cases.len() >= 20);
    for case in &cases {
        let from = server.log_text().len();
        attempt(case, &keys, server.port, &rt);
        assert_logged(&server, from, case);
        println!("refused as expected: {}", case.name);
    }

    assert_eq!(
        tree::listing(&outside),
        outside_before,
        "something was written outside the volume"
    );
    assert_eq!(
        std::fs::read(outside.join("sentinel")).unwrap(),
        b"untouched"
    );
    assert!(!t.join("escape-dotdot").exists());
    assert_eq!(
        tree::listing(&vol),
        volume_before,
        "a refused request changed the volume"
    );
    assert_eq!(
        ferry_rsync::ssh::server::completion::read_marker(&state).unwrap(),
        None
    );
    // The server is still serving after all that.
    let out = run(Command::new("ssh")
        .args(keys.ssh_args(server.port, &keys.source))
        .args(["127.0.0.1", "ferry-complete", "after"]));
    assert_eq!(out.status.code(), Some(126), "{}", text(&out));
}
