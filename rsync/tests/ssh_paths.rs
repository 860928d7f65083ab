//! The three working paths, each followed by a second, incremental push:
//! our transport to OpenSSH `sshd` restricted to `rrsync`, stock `rsync -e ssh` to our
//! server, and our transport to our server. After every push the trees are identical:
//! hard links, a sparse file, symlinks, permissions, numeric ids, ACLs and xattrs.
// A test crate: helpers outside #[test] functions fail fast too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::Command;

use support::peers::{FerryServer, Sshd, SshdAccess};
use support::tree::{self, Compare};
use support::{Keys, bin, ensure_deps, run, text};

/// Changes the source between pushes: a deletion, an edit, a new file, a new hard link.
fn change(src: &Path) {
    std::fs::remove_file(src.join("empty-file")).unwrap();
    std::fs::write(
        src.join("dir/nested/deep.bin"),
        tree::pseudo_random(300_000, 9),
    )
    .unwrap();
    std::fs::write(src.join("new.txt"), b"second sync\n").unwrap();
    std::fs::hard_link(src.join("plain.txt"), src.join("dir/plain-link")).unwrap();
}

fn assert_same(src: &Path, dst: &Path, what: Compare, label: &str) {
    let diffs = tree::differences(src, dst, what);
    assert!(
        diffs.is_empty(),
        "{label}: trees differ:\n{}",
        diffs.join("\n")
    );
}

/// `ferry-sidecar push` with our transport.
fn push(
    keys: &Keys,
    port: u16,
    user: &str,
    path: &str,
    src: &Path,
    extra: &[&str],
) -> std::process::Output {
    run(Command::new(bin())
        .arg("push")
        .args([
            "--address",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--user",
            user,
        ])
        .args(["--path", path])
        .arg("--key")
        .arg(&keys.source)
        .arg("--known-host-key")
        .arg(&keys.destination_pub)
        .args(extra)
        .arg(src))
}

#[test]
fn ferry_transport_to_openssh_sshd_restricted_to_rrsync() {
    ensure_deps();
    let tmp = tempfile::tempdir().unwrap();
    let (src, dst) = (tmp.path().join("src"), tmp.path().join("dst"));
    std::fs::create_dir_all(&src).unwrap();
    std::fs::create_dir_all(&dst).unwrap();
    let support = tree::probe(tmp.path());
    tree::build(&src, support, true);
    let keys = Keys::generate(&tmp.path().join("keys"));
    let sshd = Sshd::start(&keys, &tmp.path().join("sshd"), SshdAccess::Rrsync(&dst));
    let xattrs: &[&str] = if support.xattrs { &["--xattrs"] } else { &[] };
    let flags = [&["--no-completion"][..], xattrs].concat();

    for round in 0..2 {
        let out = push(&keys, sshd.port, "root", "", &src, &flags);
        assert!(
            out.status.success(),
            "round {round}: {}\nsshd log:\n{}",
            text(&out),
            sshd.log_text()
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("files transferred:"), "{stdout}");
        assert_same(
            &src,
            &dst,
            Compare {
                owners: true,
                support,
            },
            "sshd+rrsync",
        );
        change_once(&src, round);
    }
    // rrsync ran (the forced command), not a free shell.
    assert!(
        sshd.log_text().contains("Accepted publickey"),
        "{}",
        sshd.log_text()
    );
}

fn change_once(src: &Path, round: usize) {
    if round == 0 {
        change(src);
    }
}

#[test]
fn stock_rsync_over_openssh_to_ferry_server() {
    ensure_deps();
    let tmp = tempfile::tempdir().unwrap();
    let (src, vol, state) = (
        tmp.path().join("src"),
        tmp.path().join("vol"),
        tmp.path().join("state"),
    );
    std::fs::create_dir_all(&src).unwrap();
    std::fs::create_dir_all(&vol).unwrap();
    let support = tree::probe(tmp.path());
    tree::build(&src, support, true);
    let keys = Keys::generate(&tmp.path().join("keys"));
    let server = FerryServer::start(&keys, &vol, &state, &tmp.path().join("server.log"));
    let x = if support.xattrs { "-X" } else { "" };

    for round in 0..2 {
        let out = run(Command::new("rsync")
            .args(["-aAHSx", "--numeric-ids", "--delete", "--stats"])
            .args((!x.is_empty()).then_some(x))
            .arg("-e")
            .arg(keys.ssh_command(server.port, &keys.source))
            .arg(format!("{}/", src.display()))
            .arg("127.0.0.1:"));
        assert!(
            out.status.success(),
            "round {round}: {}\nserver log:\n{}",
            text(&out),
            server.log_text()
        );
        assert_same(
            &src,
            &vol,
            Compare {
                owners: true,
                support,
            },
            "rsync -e ssh → ferry",
        );
        change_once(&src, round);
    }
    // Stock ssh can send the completion signal too.
    let out = run(Command::new("ssh")
        .args(keys.ssh_args(server.port, &keys.source))
        .args(["127.0.0.1", "ferry-complete", "stock-1"]));
    assert!(out.status.success(), "{}", text(&out));
    let done = ferry_rsync::ssh::server::completion::read_marker(&state)
        .unwrap()
        .unwrap();
    assert_eq!(done.sync_id, "stock-1");
}

#[test]
fn ferry_transport_to_ferry_server_with_completion() {
    ensure_deps();
    let tmp = tempfile::tempdir().unwrap();
    let (src, vol, state) = (
        tmp.path().join("src"),
        tmp.path().join("vol"),
        tmp.path().join("state"),
    );
    std::fs::create_dir_all(&src).unwrap();
    std::fs::create_dir_all(&vol).unwrap();
    let support = tree::probe(tmp.path());
    tree::build(&src, support, true);
    let keys = Keys::generate(&tmp.path().join("keys"));
    let server = FerryServer::start(&keys, &vol, &state, &tmp.path().join("server.log"));
    let xattrs: &[&str] = if support.xattrs { &["--xattrs"] } else { &[] };

    for round in 0..2 {
        let id = format!("sync-{round}");
        let flags = [&["--sync-id", id.as_str()][..], xattrs].concat();
        let out = push(&keys, server.port, "ferry", "", &src, &flags);
        assert!(
            out.status.success(),
            "round {round}: {}\nserver log:\n{}",
            text(&out),
            server.log_text()
        );
        assert_same(
            &src,
            &vol,
            Compare {
                owners: true,
                support,
            },
            "ferry → ferry",
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("completion recorded: true"), "{stdout}");
        let done = ferry_rsync::ssh::server::completion::read_marker(&state)
            .unwrap()
            .unwrap();
        assert_eq!(done.sync_id, id);
        assert!(done.bytes_received > 0);
        if round == 1 {
            // The second push sent only the changes, and deleted the removed file.
            assert!(stdout.contains("files deleted: 1"), "{stdout}");
        }
        change_once(&src, round);
    }
}

#[test]
fn plain_rsync_e_with_the_transport_to_a_subdirectory() {
    ensure_deps();
    let tmp = tempfile::tempdir().unwrap();
    let (src, vol, state) = (
        tmp.path().join("src"),
        tmp.path().join("vol"),
        tmp.path().join("state"),
    );
    std::fs::create_dir_all(src.join("a")).unwrap();
    std::fs::write(src.join("a/file with spaces"), b"x").unwrap();
    std::fs::create_dir_all(&vol).unwrap();
    let keys = Keys::generate(&tmp.path().join("keys"));
    let server = FerryServer::start(&keys, &vol, &state, &tmp.path().join("server.log"));
    // Exactly how a user would spell it, with ssh-style -p and -l added by rsync.
    let rsh = format!(
        "{} ssh --key {} --known-host-key {} -p {}",
        bin(),
        keys.source.display(),
        keys.destination_pub.display(),
        server.port
    );
    let out = run(Command::new("rsync")
        .args(["-a", "-e", &rsh])
        .arg(format!("{}/", src.display()))
        .arg("someone@127.0.0.1:sub dir/"));
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out),
        server.log_text()
    );
    assert_eq!(
        std::fs::read(vol.join("sub dir/a/file with spaces")).unwrap(),
        b"x"
    );
}

#[test]
fn server_runs_without_root() {
    ensure_deps();
    let tmp = tempfile::tempdir().unwrap();
    let (src, vol, state) = (
        tmp.path().join("src"),
        tmp.path().join("vol"),
        tmp.path().join("state"),
    );
    std::fs::create_dir_all(&src).unwrap();
    for d in [&vol, &state] {
        std::fs::create_dir_all(d).unwrap();
        std::os::unix::fs::chown(d, Some(65534), Some(65534)).unwrap();
    }
    // The temp dir is root's 0700: let the unprivileged server through to its files.
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let support = tree::probe(tmp.path());
    tree::build(&src, support, false);
    let keys = Keys::generate(&tmp.path().join("keys"));
    std::os::unix::fs::chown(&keys.destination, Some(65534), Some(65534)).unwrap();
    let mut setpriv = Command::new("setpriv");
    setpriv.args([
        "--reuid",
        "65534",
        "--regid",
        "65534",
        "--clear-groups",
        "--",
        bin(),
    ]);
    let server =
        FerryServer::start_with(&keys, &vol, &state, &tmp.path().join("server.log"), setpriv);
    let xattrs: &[&str] = if support.xattrs { &["--xattrs"] } else { &[] };
    let flags = [&["--sync-id", "nonroot"][..], xattrs].concat();
    let out = push(&keys, server.port, "ferry", "", &src, &flags);
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out),
        server.log_text()
    );
    // Without root, files belong to the server's user; everything else is preserved.
    assert_same(
        &src,
        &vol,
        Compare {
            owners: false,
            support,
        },
        "non-root server",
    );
    let server_pid = server.pid().to_string();
    let status = std::fs::read_to_string(format!("/proc/{server_pid}/status")).unwrap();
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("Uid:") && l.contains("65534")),
        "{status}"
    );
}

/// The comparison must catch what a weaker copy loses, or its silence would prove nothing.
#[test]
fn the_comparison_catches_what_plain_archive_mode_loses() {
    ensure_deps();
    let tmp = tempfile::tempdir().unwrap();
    let (src, dst) = (tmp.path().join("src"), tmp.path().join("dst"));
    std::fs::create_dir_all(&src).unwrap();
    let support = tree::probe(tmp.path());
    tree::build(&src, support, true);
    // -a without -H, -A, -X, -S.
    let out = run(Command::new("rsync")
        .arg("-a")
        .arg(format!("{}/", src.display()))
        .arg(&dst));
    assert!(out.status.success(), "{}", text(&out));
    let diffs = tree::differences(
        &src,
        &dst,
        Compare {
            owners: true,
            support,
        },
    )
    .join("\n");
    assert!(diffs.contains("hard link groups differ"), "{diffs}");
    assert!(diffs.contains("not sparse"), "{diffs}");
    if support.acls {
        assert!(diffs.contains("ACLs differ"), "{diffs}");
    }
    if support.xattrs {
        assert!(diffs.contains("user xattrs differ"), "{diffs}");
    }
    // And ownership: a copy with --no-o --no-g.
    let dst2 = tmp.path().join("dst2");
    let out = run(Command::new("rsync")
        .args(["-aHAXS", "--no-o", "--no-g"])
        .arg(format!("{}/", src.display()))
        .arg(&dst2));
    assert!(out.status.success(), "{}", text(&out));
    let diffs = tree::differences(
        &src,
        &dst2,
        Compare {
            owners: true,
            support,
        },
    )
    .join("\n");
    assert!(
        diffs.contains("plain.txt: owner 1234:5678 != 0:0"),
        "{diffs}"
    );
}
