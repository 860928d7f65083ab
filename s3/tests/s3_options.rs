//! The flags of `ferry-sidecar sync` beyond the defaults, against real MinIO: `--exclude`
//! on both sides, `--checksum`, `--timestamp-prefix` with `--retain`, `--env-config`,
//! `--bwlimit`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod s3support;

use std::process::Command;
use std::time::{Duration, Instant};

use s3support::{
    bucket, ferry_bin, ferry_sync, minio, run, summary, text, tree, write_rclone_conf,
};

fn setup(
    prefix: &str,
) -> (
    aws_sdk_s3::Client,
    String,
    tempfile::TempDir,
    std::path::PathBuf,
) {
    let minio = minio::shared();
    let client = bucket::client(minio, &minio.endpoint);
    let name = s3support::block_on(bucket::create(&client, prefix));
    let work = tempfile::tempdir().unwrap();
    let conf = write_rclone_conf(
        work.path(),
        "minio",
        &minio.endpoint,
        &minio.access,
        &minio.secret,
    );
    (client, name, work, conf)
}

#[test]
fn excludes_apply_to_both_sides() {
    let (client, name, work, conf) = setup("exclude");
    let src = work.path().join("src");
    for f in [
        "keep/a.txt",
        "c.txt",
        "b.tmp",
        "cache/x.txt",
        "deep/cache/y.txt",
    ] {
        tree::write(&src.join(f), f.as_bytes(), 0o644, 1_700_000_000_000_000_000);
    }
    let remote = format!("minio:{name}/x");
    let excludes = ["--exclude", "*.tmp", "--exclude", "cache/"];
    let push = run(ferry_sync(&conf, src.to_str().unwrap(), &remote).args(excludes));
    assert!(push.status.success(), "{}", text(&push));
    let keys = |client| -> Vec<String> {
        s3support::block_on(bucket::list(client, &name, "x/"))
            .into_keys()
            .collect()
    };
    assert_eq!(keys(&client), ["x/c.txt", "x/keep/a.txt"]);

    // An excluded object on the remote is neither deleted nor pulled.
    s3support::block_on(
        client
            .put_object()
            .bucket(&name)
            .key("x/remote.tmp")
            .body(b"r".to_vec().into())
            .send(),
    )
    .unwrap();
    let push = run(ferry_sync(&conf, src.to_str().unwrap(), &remote).args(excludes));
    assert_eq!(summary(&push).files_deleted, 0, "{}", text(&push));
    assert!(keys(&client).contains(&"x/remote.tmp".to_owned()));
    let dst = work.path().join("dst");
    let pull = run(ferry_sync(&conf, &remote, dst.to_str().unwrap()).args(excludes));
    assert_eq!(summary(&pull).files_transferred, 2, "{}", text(&pull));
    assert!(!dst.join("remote.tmp").exists());
}

#[test]
fn checksum_compares_content_not_mtime() {
    let (_, name, work, conf) = setup("checksum");
    let src = work.path().join("src");
    tree::write(&src.join("a"), b"hello", 0o644, 1_700_000_000_000_000_000);
    tree::write(&src.join("b"), b"world", 0o644, 1_700_000_000_000_000_000);
    let remote = format!("minio:{name}/c");
    let src_arg = src.to_str().unwrap();
    assert!(
        run(&mut ferry_sync(&conf, src_arg, &remote))
            .status
            .success()
    );

    // Same content, new mtime: --checksum leaves it; the default updates the mtime only.
    tree::set_mtime(&src.join("a"), 1_710_000_000_000_000_000);
    let s = summary(&run(ferry_sync(&conf, src_arg, &remote).arg("--checksum")));
    assert_eq!((s.files_transferred, s.files_updated), (0, 0));
    let s = summary(&run(&mut ferry_sync(&conf, src_arg, &remote)));
    assert_eq!((s.files_transferred, s.files_updated), (0, 1));

    // New content, same size and mtime: only --checksum notices.
    std::fs::write(src.join("b"), b"WORLD").unwrap();
    tree::set_mtime(&src.join("b"), 1_700_000_000_000_000_000);
    let s = summary(&run(&mut ferry_sync(&conf, src_arg, &remote)));
    assert_eq!(s.files_transferred, 0);
    let s = summary(&run(ferry_sync(&conf, src_arg, &remote).arg("--checksum")));
    assert_eq!(s.files_transferred, 1);
}

#[test]
fn timestamped_copies_are_retained_and_the_newest_pulled() {
    let (client, name, work, conf) = setup("stamps");
    let src = work.path().join("src");
    let remote = format!("minio:{name}/backups");
    for round in 0..3u8 {
        tree::write(
            &src.join("round"),
            &[b'0' + round],
            0o644,
            1_700_000_000_000_000_000 + i64::from(round),
        );
        let push = run(ferry_sync(&conf, src.to_str().unwrap(), &remote).args([
            "--timestamp-prefix",
            "--retain",
            "2",
        ]));
        assert!(push.status.success(), "{}", text(&push));
        std::thread::sleep(Duration::from_millis(1100));
    }
    let listed = s3support::block_on(bucket::list(&client, &name, "backups/"));
    let copies: Vec<&String> = listed.keys().filter(|k| k.ends_with("/round")).collect();
    assert_eq!(copies.len(), 2, "{listed:?}");
    assert_eq!(
        listed
            .keys()
            .filter(|k| k.ends_with(".ferry-manifest"))
            .count(),
        2,
        "{listed:?}"
    );
    let dst = work.path().join("dst");
    let pull = run(ferry_sync(&conf, &remote, dst.to_str().unwrap()).arg("--timestamp-prefix"));
    assert!(pull.status.success(), "{}", text(&pull));
    assert_eq!(std::fs::read(dst.join("round")).unwrap(), b"2");
}

#[test]
fn env_style_settings_and_a_bandwidth_limit() {
    let (client, name, work, _) = setup("envcfg");
    let minio = minio::shared();
    let src = work.path().join("src");
    tree::big_file(&src.join("two-mib"), 5, 2 << 20, 1_700_000_000_000_000_000);
    let started = Instant::now();
    let out = run(Command::new(ferry_bin())
        .args([
            "sync",
            "--env-config",
            "--json",
            "--stats",
            "0",
            "--bwlimit",
            "1M",
        ])
        .arg(&src)
        .arg("bucket:from-env")
        .env_remove("RUST_LOG")
        .env("AWS_ACCESS_KEY_ID", &minio.access)
        .env("AWS_SECRET_ACCESS_KEY", &minio.secret)
        .env("BUCKET_HOST", "127.0.0.1")
        .env("BUCKET_PORT", minio.port.to_string())
        .env("BUCKET_NAME", &name));
    let took = started.elapsed();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        took >= Duration::from_millis(900),
        "2 MiB at 1 MiB/s with a 1 s burst took {took:?}"
    );
    let listed = s3support::block_on(bucket::list(&client, &name, ""));
    assert!(listed.contains_key("from-env/two-mib"), "{listed:?}");
}
