//! Host key pinning: when the destination presents a key other than the pinned one, the
//! source refuses to connect, transfers nothing, and names the Secret to check.
// A test crate: helpers outside #[test] functions fail fast too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::Command;

use support::peers::{FerryServer, Sshd, SshdAccess};
use support::{Keys, bin, ensure_deps, run, text};

fn push_pinning(
    keys: &Keys,
    port: u16,
    pinned: &Path,
    src: &Path,
    secret: Option<&str>,
) -> std::process::Output {
    let mut cmd = Command::new(bin());
    cmd.arg("push")
        .args([
            "--address",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--user",
            "root",
        ])
        .arg("--key")
        .arg(&keys.source)
        .arg("--known-host-key")
        .arg(pinned)
        .arg(src);
    if let Some(secret) = secret {
        cmd.args(["--keys-secret", secret]);
    }
    run(&mut cmd)
}

#[test]
fn a_changed_host_key_is_refused_naming_the_secret() {
    ensure_deps();
    let tmp = tempfile::tempdir().unwrap();
    let (src, vol, state) = (
        tmp.path().join("src"),
        tmp.path().join("vol"),
        tmp.path().join("state"),
    );
    std::fs::create_dir_all(&src).unwrap();
    std::fs::create_dir_all(&vol).unwrap();
    std::fs::write(src.join("data"), b"secret payload").unwrap();
    let keys = Keys::generate(&tmp.path().join("keys"));
    let server = FerryServer::start(&keys, &vol, &state, &tmp.path().join("server.log"));

    // The source pins another replication's destination key.
    let out = push_pinning(
        &keys,
        server.port,
        &keys.wrong_pub,
        &src,
        Some("db-replication-keys"),
    );
    assert!(!out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("host key mismatch for 127.0.0.1:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Secret \"db-replication-keys\""),
        "{stderr}"
    );
    assert!(stderr.contains("destination.pub"), "{stderr}");
    assert!(
        stderr.contains("the server presented ssh-ed25519 SHA256:"),
        "{stderr}"
    );
    // Nothing went over: no file, no authentication, no completion.
    assert_eq!(std::fs::read_dir(&vol).unwrap().count(), 0);
    assert!(
        !server.log_text().contains("authenticated"),
        "{}",
        server.log_text()
    );
    assert_eq!(
        ferry_rsync::ssh::server::completion::read_marker(&state).unwrap(),
        None
    );

    // Without a Secret name, the message points at the pinned file instead.
    let out = push_pinning(&keys, server.port, &keys.wrong_pub, &src, None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&keys.wrong_pub.display().to_string()),
        "{stderr}"
    );

    // The right pin works.
    let out = push_pinning(
        &keys,
        server.port,
        &keys.destination_pub,
        &src,
        Some("db-replication-keys"),
    );
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn a_changed_openssh_host_key_is_refused_too() {
    ensure_deps();
    let tmp = tempfile::tempdir().unwrap();
    let (src, dst) = (tmp.path().join("src"), tmp.path().join("dst"));
    std::fs::create_dir_all(&src).unwrap();
    std::fs::create_dir_all(&dst).unwrap();
    std::fs::write(src.join("data"), b"x").unwrap();
    let keys = Keys::generate(&tmp.path().join("keys"));
    let sshd = Sshd::start(&keys, &tmp.path().join("sshd"), SshdAccess::Rrsync(&dst));
    let out = run(Command::new("rsync")
        .arg("-a")
        .arg("-e")
        .arg(format!(
            "{} ssh --key {} --known-host-key {} --keys-secret nas-keys -p {}",
            bin(),
            keys.source.display(),
            keys.wrong_pub.display(),
            sshd.port
        ))
        .arg(format!("{}/", src.display()))
        .arg("root@127.0.0.1:"));
    assert!(!out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("host key mismatch") && stderr.contains("Secret \"nas-keys\""),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(&dst).unwrap().count(), 0);
}
