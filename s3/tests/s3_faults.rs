//! Faults and safety, against real MinIO behind a seeded fault-injecting proxy: syncs
//! converge through 503 SlowDown, 500 and connection resets; a run with errors deletes
//! nothing; `--max-delete` over the limit deletes nothing and says why; a dry run changes
//! nothing; a file that keeps changing while it is uploaded is reported and never stored.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod s3support;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use s3support::proxy::{Counters, Faults, Multipart, Proxy};
use s3support::{Fixture, bucket, ferry_sync, minio, run, summary, text, tree, write_rclone_conf};

fn setup(prefix: &str) -> Fixture {
    Fixture::new(prefix)
}

/// An rclone.conf for the proxy, in its own directory.
fn proxied_conf(dir: &Path, proxy: &Proxy) -> std::path::PathBuf {
    let minio = minio::shared();
    std::fs::create_dir_all(dir).unwrap();
    write_rclone_conf(dir, "minio", &proxy.endpoint, &minio.access, &minio.secret)
}

#[test]
fn converges_through_throttling_errors_and_resets() {
    let s = setup("faults");
    let faults = Faults {
        seed: 7,
        slowdown: 0.05,
        server_error: 0.04,
        reset: 0.04,
        max: 400,
        ..Faults::default()
    };
    let proxy = Proxy::start(minio::shared().port, Some(faults));
    let conf = proxied_conf(&s.work.path().join("proxied"), &proxy);
    let src = s.work.path().join("src");
    tree::small_files(&src, 40, 400, 8 * 1024, 3);
    tree::big_file(
        &src.join("big.bin"),
        41,
        40 << 20,
        1_700_000_000_000_000_000,
    );
    let remote = format!("minio:{}/f", s.bucket);

    let push = run(&mut ferry_sync(&conf, src.to_str().unwrap(), &remote));
    assert!(push.status.success(), "{}", text(&push));
    assert_eq!(summary(&push).files_transferred, 401);
    let c = &proxy.counters;
    let injected = (
        Counters::get(&c.slowdowns),
        Counters::get(&c.server_errors),
        Counters::get(&c.resets),
    );
    assert!(
        injected.0 > 5 && injected.1 > 5 && injected.2 > 5,
        "faults injected {injected:?}"
    );

    let dst = s.work.path().join("dst");
    let pull = run(&mut ferry_sync(&conf, &remote, dst.to_str().unwrap()));
    assert!(pull.status.success(), "{}", text(&pull));
    tree::assert_same(&tree::snapshot(&src), &tree::snapshot(&dst));

    // Converged: nothing left to do, whichever way it is asked.
    let again = run(&mut ferry_sync(&s.conf, src.to_str().unwrap(), &remote));
    let sum = summary(&again);
    assert_eq!(
        (sum.files_transferred, sum.files_deleted, sum.errors),
        (0, 0, 0),
        "{}",
        text(&again)
    );
}

#[test]
fn a_run_with_errors_deletes_nothing() {
    let s = setup("errors");
    let src = s.work.path().join("src");
    let files = tree::small_files(&src, 50, 60, 1024, 2);
    let remote = format!("minio:{}/e", s.bucket);
    let first = run(&mut ferry_sync(&s.conf, src.to_str().unwrap(), &remote));
    assert!(first.status.success(), "{}", text(&first));

    for f in files.iter().take(5) {
        std::fs::remove_file(src.join(f)).unwrap();
    }
    tree::write(
        &src.join("poison.txt"),
        b"refused",
        0o644,
        1_700_000_000_000_000_000,
    );
    let faults = Faults {
        seed: 1,
        slowdown: 0.0,
        server_error: 0.0,
        reset: 0.0,
        max: 0,
        poison: Some("poison".into()),
        ..Faults::default()
    };
    let proxy = Proxy::start(minio::shared().port, Some(faults));
    let conf = proxied_conf(&s.work.path().join("proxied"), &proxy);
    let push = run(&mut ferry_sync(&conf, src.to_str().unwrap(), &remote));
    assert_eq!(push.status.code(), Some(1), "{}", text(&push));
    let stderr = String::from_utf8_lossy(&push.stderr);
    assert!(
        stderr.contains("not deleting files as there were IO errors"),
        "{}",
        text(&push)
    );
    assert!(
        stderr.contains("poison.txt"),
        "the failed file is named: {}",
        text(&push)
    );
    let sum = summary(&push);
    assert_eq!((sum.files_deleted, sum.errors), (0, 1));
    let listed = s3support::block_on(bucket::list(&s.client, &s.bucket, "e/"));
    for f in files.iter().take(5) {
        assert!(
            listed.contains_key(&format!("e/{f}")),
            "{f} must not be deleted"
        );
    }
}

#[test]
fn max_delete_over_the_limit_deletes_nothing_and_says_why() {
    let s = setup("maxdelete");
    let src = s.work.path().join("src");
    let files = tree::small_files(&src, 60, 50, 1024, 2);
    let remote = format!("minio:{}/m", s.bucket);
    assert!(
        run(&mut ferry_sync(&s.conf, src.to_str().unwrap(), &remote))
            .status
            .success()
    );
    for f in files.iter().take(20) {
        std::fs::remove_file(src.join(f)).unwrap();
    }
    let refused =
        run(ferry_sync(&s.conf, src.to_str().unwrap(), &remote).args(["--max-delete", "5"]));
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("not deleting files: 20 deletions exceed --max-delete 5; check that the source is complete, or raise --max-delete"),
        "{}",
        text(&refused)
    );
    assert_eq!(summary(&refused).files_deleted, 0);
    assert_eq!(
        s3support::block_on(bucket::list(&s.client, &s.bucket, "m/")).len(),
        50
    );

    let allowed =
        run(ferry_sync(&s.conf, src.to_str().unwrap(), &remote).args(["--max-delete", "20"]));
    assert!(allowed.status.success(), "{}", text(&allowed));
    assert_eq!(summary(&allowed).files_deleted, 20);
    assert_eq!(
        s3support::block_on(bucket::list(&s.client, &s.bucket, "m/")).len(),
        30
    );
}

#[test]
fn a_dry_run_changes_nothing() {
    let s = setup("dryrun");
    let src = s.work.path().join("src");
    let files = tree::small_files(&src, 70, 100, 1024, 2);
    let remote = format!("minio:{}/d", s.bucket);
    assert!(
        run(&mut ferry_sync(&s.conf, src.to_str().unwrap(), &remote))
            .status
            .success()
    );
    let before = s3support::block_on(bucket::list(&s.client, &s.bucket, ""));
    for (i, f) in files.iter().take(5).enumerate() {
        tree::change(&src.join(f), 700 + i as u64);
    }
    for f in files.iter().skip(50).take(5) {
        std::fs::remove_file(src.join(f)).unwrap();
    }
    for i in 0..5 {
        tree::write(
            &src.join(format!("extra {i}")),
            b"x",
            0o644,
            1_700_000_000_000_000_000,
        );
    }
    let dry = run(ferry_sync(&s.conf, src.to_str().unwrap(), &remote).arg("--dry-run"));
    assert!(dry.status.success(), "{}", text(&dry));
    let stdout = String::from_utf8_lossy(&dry.stdout);
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.starts_with("would copy: "))
            .count(),
        10,
        "{stdout}"
    );
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.starts_with("would delete: "))
            .count(),
        5,
        "{stdout}"
    );
    let sum = summary(&dry);
    assert!(sum.dry_run);
    assert_eq!((sum.files_transferred, sum.files_deleted), (10, 5));
    assert_eq!(
        before,
        s3support::block_on(bucket::list(&s.client, &s.bucket, "")),
        "a dry run changed the bucket"
    );

    // A dry pull leaves the local side alone too.
    let dst = s.work.path().join("never-created");
    let dry = run(ferry_sync(&s.conf, &remote, dst.to_str().unwrap()).arg("--dry-run"));
    assert!(dry.status.success(), "{}", text(&dry));
    assert_eq!(summary(&dry).files_transferred, 100);
    assert!(!dst.exists());
}

#[test]
fn a_file_changing_during_upload_is_reported_not_stored() {
    let s = setup("torn");
    let src = s.work.path().join("src");
    tree::small_files(&src, 80, 20, 1024, 1);
    let path = src.join("growing.log");
    tree::big_file(&path, 81, 20 << 20, 1_700_000_000_000_000_000);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, path) = (Arc::clone(&stop), path.clone());
        std::thread::spawn(move || {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap();
            while !stop.load(Ordering::SeqCst) {
                f.write_all(b"log line\n").unwrap();
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        })
    };
    let remote = format!("minio:{}/t", s.bucket);
    let push = run(&mut ferry_sync(&s.conf, src.to_str().unwrap(), &remote));
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    assert_eq!(push.status.code(), Some(1), "{}", text(&push));
    assert!(
        String::from_utf8_lossy(&push.stderr).contains("growing.log: changed while being uploaded"),
        "{}",
        text(&push)
    );
    let listed = s3support::block_on(bucket::list(&s.client, &s.bucket, "t/"));
    assert!(
        !listed.contains_key("t/growing.log"),
        "a torn file was stored"
    );
    assert_eq!(listed.len(), 20, "the other files are there");
}

#[test]
fn sigterm_aborts_multipart_uploads_and_deletes_nothing() {
    let s = setup("sigterm");
    let src = s.work.path().join("src");
    tree::small_files(&src, 90, 10, 1024, 1);
    let remote = format!("minio:{}/s", s.bucket);
    assert!(
        run(&mut ferry_sync(&s.conf, src.to_str().unwrap(), &remote))
            .status
            .success()
    );
    std::fs::remove_file(src.join(tree::odd_name(0))).ok();
    tree::big_file(
        &src.join("large.bin"),
        91,
        96 << 20,
        1_700_000_000_000_000_000,
    );
    let mut cmd = ferry_sync(&s.conf, src.to_str().unwrap(), &remote);
    cmd.args(["--bwlimit", "16M"]);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    // Wait until the multipart upload has started.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let uploads =
            s3support::block_on(s.client.list_multipart_uploads().bucket(&s.bucket).send())
                .unwrap();
        if !uploads.uploads().is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no multipart upload started"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let stopped = std::time::Instant::now();
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        stopped.elapsed() < std::time::Duration::from_secs(10),
        "took {:?}",
        stopped.elapsed()
    );
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("stopped by a signal"),
        "{}",
        text(&out)
    );
    let uploads =
        s3support::block_on(s.client.list_multipart_uploads().bucket(&s.bucket).send()).unwrap();
    assert!(
        uploads.uploads().is_empty(),
        "multipart uploads left: {:?}",
        uploads.uploads()
    );
    let listed = s3support::block_on(bucket::list(&s.client, &s.bucket, "s/"));
    assert!(!listed.contains_key("s/large.bin"));
    assert_eq!(listed.len(), 10, "nothing deleted");
}

/// A lost answer to CompleteMultipartUpload: MinIO completes the upload, the connection is
/// reset before the answer, the SDK retries and MinIO answers NoSuchUpload. The engine
/// checks the object (size, md5chksum, mtime) and counts it as stored.
#[test]
fn a_lost_answer_to_complete_multipart_upload_is_checked_not_failed() {
    let s = setup("lostcomplete");
    let proxy = Proxy::start(
        minio::shared().port,
        Some(Faults {
            lose_answer: vec![Multipart::Complete],
            ..Faults::default()
        }),
    );
    let conf = proxied_conf(&s.work.path().join("proxied"), &proxy);
    let src = s.work.path().join("src");
    tree::small_files(&src, 11, 20, 4096, 1);
    tree::big_file(
        &src.join("big.bin"),
        12,
        24 << 20,
        1_700_000_000_123_456_789,
    );
    let remote = format!("minio:{}/c", s.bucket);

    let push = run(&mut ferry_sync(&conf, src.to_str().unwrap(), &remote));
    assert_eq!(
        Counters::get(&proxy.counters.lost_answers),
        1,
        "the answer was lost: {}",
        text(&push)
    );
    assert!(push.status.success(), "{}", text(&push));
    let sum = summary(&push);
    assert_eq!(
        (sum.errors, sum.files_transferred),
        (0, 21),
        "{}",
        text(&push)
    );

    // The object is whole: what a direct pull restores is the source, byte for byte.
    let (meta, body, etag) = s3support::block_on(bucket::get(&s.client, &s.bucket, "c/big.bin"));
    assert_eq!(body.len(), 24 << 20);
    assert!(etag.contains("-"), "a multipart object: {etag}");
    assert_eq!(
        meta.get("mtime").map(String::as_str),
        Some("1700000000.123456789")
    );
    let dst = s.work.path().join("dst");
    let pull = run(&mut ferry_sync(&s.conf, &remote, dst.to_str().unwrap()));
    assert!(pull.status.success(), "{}", text(&pull));
    tree::assert_same(&tree::snapshot(&src), &tree::snapshot(&dst));
    assert!(s3support::block_on(bucket::uploads(&s.client, &s.bucket, "")).is_empty());
}

/// A lost answer to AbortMultipartUpload: MinIO aborts, the SDK's retry meets NoSuchUpload,
/// and that is the abort's success, not a warning.
#[test]
fn a_lost_answer_to_abort_multipart_upload_is_success() {
    let s = setup("lostabort");
    // Every part of big-poison.bin is refused, so its upload is aborted.
    let proxy = Proxy::start(
        minio::shared().port,
        Some(Faults {
            poison: Some(String::from("big-poison")),
            lose_answer: vec![Multipart::Abort],
            ..Faults::default()
        }),
    );
    let conf = proxied_conf(&s.work.path().join("proxied"), &proxy);
    let src = s.work.path().join("src");
    tree::small_files(&src, 13, 5, 1024, 0);
    tree::big_file(
        &src.join("big-poison.bin"),
        14,
        20 << 20,
        1_700_000_000_000_000_000,
    );
    let remote = format!("minio:{}/a", s.bucket);

    let push = run(&mut ferry_sync(&conf, src.to_str().unwrap(), &remote));
    assert_eq!(
        Counters::get(&proxy.counters.lost_answers),
        1,
        "the answer was lost: {}",
        text(&push)
    );
    // The poisoned file is the one error; the abort is not another.
    assert_eq!(push.status.code(), Some(1), "{}", text(&push));
    assert_eq!(summary(&push).errors, 1, "{}", text(&push));
    let stderr = String::from_utf8_lossy(&push.stderr);
    assert!(stderr.contains("big-poison.bin"), "{}", text(&push));
    assert!(
        !stderr.contains("could not abort"),
        "an abort whose answer was lost is a success: {}",
        text(&push)
    );
    assert!(s3support::block_on(bucket::uploads(&s.client, &s.bucket, "")).is_empty());
    let listed = s3support::block_on(bucket::list(&s.client, &s.bucket, "a/"));
    assert_eq!(listed.len(), 5, "{listed:?}");
}

/// Multipart uploads left under the prefix by a crashed writer (or a retried
/// CreateMultipartUpload) are aborted at the end of the next successful sync once older
/// than the bound; a younger one and one outside the prefix are left alone.
#[test]
fn orphaned_multipart_uploads_are_aborted_after_a_successful_sync() {
    let s = setup("orphans");
    let create = |key: &str| {
        s3support::block_on(async {
            let created = s
                .client
                .create_multipart_upload()
                .bucket(&s.bucket)
                .key(key)
                .send()
                .await
                .unwrap();
            let id = created.upload_id().unwrap().to_owned();
            s.client
                .upload_part()
                .bucket(&s.bucket)
                .key(key)
                .upload_id(&id)
                .part_number(1)
                .body(vec![7u8; 1024].into())
                .send()
                .await
                .unwrap();
        })
    };
    create("o/crashed.bin");
    create("other/crashed.bin");
    std::thread::sleep(std::time::Duration::from_secs(7));
    create("o/fresh.bin");
    let src = s.work.path().join("src");
    tree::small_files(&src, 15, 5, 1024, 0);
    let remote = format!("minio:{}/o", s.bucket);
    let mut cmd = ferry_sync(&s.conf, src.to_str().unwrap(), &remote);
    cmd.args(["--abort-uploads-older-than", "5s"]);
    let push = run(&mut cmd);
    assert!(push.status.success(), "{}", text(&push));
    assert_eq!(summary(&push).uploads_aborted, 1, "{}", text(&push));

    let left: Vec<String> = s3support::block_on(bucket::uploads(&s.client, &s.bucket, ""))
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    assert!(!left.contains(&String::from("o/crashed.bin")), "{left:?}");
    assert!(left.contains(&String::from("o/fresh.bin")), "{left:?}");
    assert!(
        left.contains(&String::from("other/crashed.bin")),
        "{left:?}"
    );
}
