//! Round trip through real MinIO: a tree of more than 1,000 entries (empty files, unicode
//! names, spaces, deep directories, a 64 MiB multipart file, symlinks, a 0600 file) is
//! pushed, then pulled into an empty directory, and comes back byte-identical with equal
//! mtimes and modes. The objects are in rclone's format, and a second push of the unchanged
//! tree transfers nothing and sends no HEAD (the manifest answers).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod s3support;

use std::os::unix::fs::symlink;

use s3support::{bucket, ferry_sync, minio, run, summary, text, tree, write_rclone_conf};

#[test]
fn push_then_pull_reproduces_the_tree() {
    let minio = minio::shared();
    let client = bucket::client(minio, &minio.endpoint);
    let name = s3support::block_on(bucket::create(&client, "roundtrip"));
    let work = tempfile::tempdir().unwrap();
    let conf = write_rclone_conf(
        work.path(),
        "minio",
        &minio.endpoint,
        &minio.access,
        &minio.secret,
    );
    let src = work.path().join("src");

    let files = tree::small_files(&src, 1, 1_000, 8 * 1024, 9);
    tree::big_file(
        &src.join("big/video.bin"),
        2,
        64 << 20,
        1_700_000_000_123_456_789,
    );
    tree::write(
        &src.join("private/secret.key"),
        b"hush",
        0o600,
        1_700_000_001_000_000_000,
    );
    tree::write(
        &src.join("bin/run.sh"),
        b"#!/bin/sh\necho hi\n",
        0o755,
        1_700_000_002_500_000_000,
    );
    symlink(&files[1], src.join("link-to-file")).unwrap();
    symlink("/etc/hostname", src.join("absolute-link")).unwrap();
    symlink("does/not/exist", src.join("private/dangling link")).unwrap();
    symlink("private", src.join("link-to-dir")).unwrap();
    for (i, l) in [
        "link-to-file",
        "absolute-link",
        "private/dangling link",
        "link-to-dir",
    ]
    .iter()
    .enumerate()
    {
        tree::set_mtime(
            &src.join(l),
            1_690_000_000_000_000_000 + i as i64 * 1_000_000_001,
        );
    }
    let before = tree::snapshot(&src);
    assert!(before.len() >= 1_000, "{} entries", before.len());

    let remote = format!("minio:{name}/backup");
    let push = run(ferry_sync(&conf, src.to_str().unwrap(), &remote).arg("--links"));
    assert!(push.status.success(), "push: {}", text(&push));
    let pushed = summary(&push);
    assert_eq!(
        pushed.files_transferred,
        before.len() as u64,
        "{}",
        text(&push)
    );
    assert_eq!(pushed.errors, 0);

    // rclone's format on the wire.
    s3support::block_on(async {
        let (meta, _, etag) = bucket::get(&client, &name, "backup/big/video.bin").await;
        assert!(
            etag.contains('-'),
            "64 MiB should be multipart, ETag {etag}"
        );
        assert_eq!(
            meta.get("mtime").map(String::as_str),
            Some("1700000000.123456789")
        );
        let md5 = tree::snapshot(&src.join("big"))["video.bin"].node.clone();
        let tree::Node::File { md5: hex, .. } = md5 else {
            panic!()
        };
        let b64 = meta
            .get("md5chksum")
            .expect("md5chksum on a multipart upload");
        use base64::Engine;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        assert_eq!(
            decoded
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>(),
            hex
        );
        let (meta, body, etag) = bucket::get(&client, &name, "backup/private/secret.key").await;
        assert_eq!(body, b"hush");
        assert_eq!(
            meta.get("mtime").map(String::as_str),
            Some("1700000001"),
            "whole seconds as an integer"
        );
        assert_eq!(meta.get("mode").map(String::as_str), Some("100600"));
        assert!(
            !meta.contains_key("md5chksum"),
            "single part: Content-MD5 only"
        );
        assert_eq!(etag.trim_matches('"'), tree::md5_hex(b"hush"));
        let (meta, body, _) = bucket::get(&client, &name, "backup/link-to-file.rclonelink").await;
        assert_eq!(body, files[1].as_bytes());
        assert_eq!(meta.get("mtime").map(String::as_str), Some("1690000000"));
        let listed = bucket::list(&client, &name, "").await;
        assert!(
            listed.contains_key("backup.ferry-manifest"),
            "manifest beside the prefix"
        );
        assert_eq!(
            listed.keys().filter(|k| k.starts_with("backup/")).count(),
            before.len()
        );
    });

    // Unchanged: nothing moves and no HEAD is needed.
    let again = run(ferry_sync(&conf, src.to_str().unwrap(), &remote).arg("--links"));
    let again_summary = summary(&again);
    assert_eq!(
        (
            again_summary.files_transferred,
            again_summary.head_requests,
            again_summary.errors
        ),
        (0, 0, 0),
        "{}",
        text(&again)
    );
    assert_eq!(again_summary.files_checked, before.len() as u64);

    let dst = work.path().join("restored");
    let pull = run(ferry_sync(&conf, &remote, dst.to_str().unwrap()).arg("--links"));
    assert!(pull.status.success(), "pull: {}", text(&pull));
    assert_eq!(
        summary(&pull).head_requests,
        0,
        "the manifest gives mtimes on pull too"
    );
    tree::assert_same(&before, &tree::snapshot(&dst));

    // And a pull with nothing to do does nothing.
    let pull = run(ferry_sync(&conf, &remote, dst.to_str().unwrap()).arg("--links"));
    let s = summary(&pull);
    assert_eq!(
        (s.files_transferred, s.files_deleted, s.errors),
        (0, 0, 0),
        "{}",
        text(&pull)
    );
}
