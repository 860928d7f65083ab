//! The trust rules in `ferry-sidecar sync` (issue 21), against real MinIO: an unreadable
//! file fails the run (exit 1) naming it, deletes nothing and leaves no complete timestamped
//! copy; an empty source and a shrink over `--max-delete-percent` are refused (exit 3)
//! without a change to the bucket, until `--acknowledge-guards` lifts them for one run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod s3support;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use s3support::{Fixture, bucket, ferry_bin, ferry_sync, run, text, tree};

const MTIME: i64 = 1_700_000_000_000_000_000;

fn listing(fx: &Fixture, prefix: &str) -> BTreeMap<String, bucket::Listed> {
    s3support::block_on(bucket::list_all(&fx.client, &fx.bucket, prefix))
}

/// Six files below `dir`.
fn seed(dir: &std::path::Path) {
    for f in ["a.txt", "b.txt", "c.txt", "d/e.txt", "d/f.txt", "g.txt"] {
        tree::write(&dir.join(f), f.as_bytes(), 0o644, MTIME);
    }
}

#[test]
fn an_unreadable_file_fails_the_run_names_it_and_leaves_no_complete_copy() {
    let fx = Fixture::new("unreadable");
    std::fs::set_permissions(fx.work.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let src = fx.work.path().join("src");
    seed(&src);
    let remote = format!("minio:{}/x", fx.bucket);
    let first = run(ferry_sync(&fx.conf, src.to_str().unwrap(), &remote).arg("--timestamp-prefix"));
    assert!(first.status.success(), "{}", text(&first));
    let before = listing(&fx, "x/");

    // Owned by root, mode 0600; the run is made as nobody.
    tree::write(&src.join("locked/secret.db"), b"private", 0o600, MTIME);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(ferry_bin())
        .args([
            "sync",
            "--json",
            "--stats",
            "0",
            "--timestamp-prefix",
            "--config",
        ])
        .arg(&fx.conf)
        .arg(&src)
        .arg(&remote)
        .env_remove("RUST_LOG");
    let second = run(&mut cmd);
    assert_eq!(second.status.code(), Some(1), "{}", text(&second));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("1 path(s) of the source cannot be read: locked/secret.db"),
        "{}",
        text(&second)
    );
    let after = listing(&fx, "x/");
    for (key, size) in &before {
        assert_eq!(after.get(key), Some(size), "{key} changed: {after:?}");
    }
    let manifests: Vec<&String> = after
        .keys()
        .filter(|k| k.ends_with(".ferry-manifest"))
        .collect();
    assert_eq!(
        manifests.len(),
        1,
        "only the first copy is complete: {after:?}"
    );

    // A pull takes the newest complete copy: the first one.
    let dst = fx.work.path().join("dst");
    let pull = run(ferry_sync(&fx.conf, &remote, dst.to_str().unwrap()).arg("--timestamp-prefix"));
    assert!(pull.status.success(), "{}", text(&pull));
    assert!(dst.join("a.txt").exists() && !dst.join("locked").exists());
}

#[test]
fn an_empty_source_is_refused_until_acknowledged() {
    let fx = Fixture::new("emptysrc");
    let src = fx.work.path().join("src");
    seed(&src);
    let remote = format!("minio:{}/x", fx.bucket);
    let push = run(&mut ferry_sync(&fx.conf, src.to_str().unwrap(), &remote));
    assert!(push.status.success(), "{}", text(&push));
    let before = listing(&fx, "x/");

    std::fs::remove_dir_all(&src).unwrap();
    std::fs::create_dir_all(src.join("lost+found")).unwrap();
    let refused = run(&mut ferry_sync(&fx.conf, src.to_str().unwrap(), &remote));
    assert_eq!(refused.status.code(), Some(3), "{}", text(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("the source is empty"),
        "{}",
        text(&refused)
    );
    assert_eq!(listing(&fx, "x/"), before);

    let acked =
        run(ferry_sync(&fx.conf, src.to_str().unwrap(), &remote).arg("--acknowledge-guards"));
    assert!(acked.status.success(), "{}", text(&acked));
    assert!(
        listing(&fx, "x/").keys().all(|k| k.ends_with('/')),
        "only directory markers may stay"
    );
}

#[test]
fn a_shrink_over_the_limit_is_refused_until_acknowledged() {
    let fx = Fixture::new("shrink");
    let src = fx.work.path().join("src");
    seed(&src);
    let remote = format!("minio:{}/x", fx.bucket);
    let push = run(&mut ferry_sync(&fx.conf, src.to_str().unwrap(), &remote));
    assert!(push.status.success(), "{}", text(&push));
    // Files only: a directory marker whose mtime changed is rewritten, as with maxDelete.
    let files = |fx: &Fixture| s3support::block_on(bucket::list(&fx.client, &fx.bucket, "x/"));
    let before = files(&fx);
    for f in ["a.txt", "b.txt", "c.txt", "d/e.txt"] {
        std::fs::remove_file(src.join(f)).unwrap();
    }
    let limit = ["--max-delete-percent", "50"];
    let refused = run(ferry_sync(&fx.conf, src.to_str().unwrap(), &remote).args(limit));
    assert_eq!(refused.status.code(), Some(3), "{}", text(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("4 of the remote's 6 files"),
        "{}",
        text(&refused)
    );
    assert_eq!(files(&fx), before, "a file was deleted or changed");
    let acked = run(ferry_sync(&fx.conf, src.to_str().unwrap(), &remote)
        .args(limit)
        .arg("--acknowledge-guards"));
    assert!(acked.status.success(), "{}", text(&acked));
    assert_eq!(
        s3support::summary(&acked).files_deleted,
        4,
        "{}",
        text(&acked)
    );
}
