//! A transfer cut in the middle by a failing link: the source sends no completion, the
//! destination records none (and refuses a forged one), and the next run completes.
// A test crate: helpers outside #[test] functions fail fast too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::Ordering;

use ferry_rsync::ssh::server::completion::read_marker;
use support::peers::FerryServer;
use support::proxy::Proxy;
use support::tree::{self, Compare, Support};
use support::{Keys, bin, ensure_deps, run, text};

fn push(keys: &Keys, port: u16, src: &Path, id: &str) -> std::process::Output {
    run(Command::new(bin())
        .arg("push")
        .args([
            "--address",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--sync-id",
            id,
        ])
        .arg("--key")
        .arg(&keys.source)
        .arg("--known-host-key")
        .arg(&keys.destination_pub)
        .arg(src))
}

#[test]
fn a_cut_transfer_publishes_nothing_and_the_next_run_completes() {
    ensure_deps();
    let tmp = tempfile::tempdir().unwrap();
    let (src, vol, state) = (
        tmp.path().join("src"),
        tmp.path().join("vol"),
        tmp.path().join("state"),
    );
    std::fs::create_dir_all(&src).unwrap();
    std::fs::create_dir_all(&vol).unwrap();
    std::fs::write(
        src.join("big.bin"),
        tree::pseudo_random(48 * 1024 * 1024, 11),
    )
    .unwrap();
    std::fs::write(src.join("small.txt"), b"small").unwrap();
    let keys = Keys::generate(&tmp.path().join("keys"));
    let server = FerryServer::start(&keys, &vol, &state, &tmp.path().join("server.log"));
    // The first connection through the proxy dies after 8 MiB from the source.
    let proxy = Proxy::start(server.port, 8 * 1024 * 1024);

    let out = push(&keys, proxy.port, &src, "cut-1");
    assert!(
        !out.status.success(),
        "the cut push reported success: {}",
        text(&out)
    );
    assert_eq!(
        proxy.cuts.load(Ordering::SeqCst),
        1,
        "the proxy did not cut the transfer"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("rsync exited with"), "{stderr}");
    assert!(
        !stderr.contains("completion"),
        "a completion was attempted: {stderr}"
    );
    // The destination has no completion, and no torn big.bin under its real name.
    wait_for_log(&server, "rsync finished");
    let log = server.log_text();
    let finished = log.lines().find(|l| l.contains("rsync finished")).unwrap();
    assert!(
        !finished.contains("exit=0 "),
        "the cut transfer ended cleanly: {finished}"
    );
    println!("server side of the cut transfer:\n{log}");
    assert_eq!(read_marker(&state).unwrap(), None);
    if let Ok(meta) = std::fs::metadata(vol.join("big.bin")) {
        panic!("a partial big.bin was published ({} bytes)", meta.len());
    }
    // A completion forged after the failure is refused.
    let forged = run(Command::new("ssh")
        .args(keys.ssh_args(server.port, &keys.source))
        .args(["127.0.0.1", "ferry-complete", "cut-1"]));
    assert_eq!(forged.status.code(), Some(126), "{}", text(&forged));
    assert!(
        String::from_utf8_lossy(&forged.stderr).contains("did not succeed"),
        "{}",
        text(&forged)
    );
    assert_eq!(read_marker(&state).unwrap(), None);

    // The link is back: the next run completes.
    let out = push(&keys, proxy.port, &src, "retry-2");
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out),
        server.log_text()
    );
    let done = read_marker(&state)
        .unwrap()
        .expect("the retry recorded no completion");
    assert_eq!(done.sync_id, "retry-2");
    let none = Support {
        acls: false,
        xattrs: false,
    };
    let diffs = tree::differences(
        &src,
        &vol,
        Compare {
            owners: true,
            support: none,
        },
    );
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

fn wait_for_log(server: &FerryServer, needle: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !server.log_text().contains(needle) {
        assert!(
            std::time::Instant::now() < deadline,
            "no {needle:?} in:\n{}",
            server.log_text()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
