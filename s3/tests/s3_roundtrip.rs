//! Round trip through real MinIO: a tree of more than 1,000 entries (empty files, unicode
//! names, spaces, deep directories, a 64 MiB multipart file, symlinks, a 0600 file) is
//! pushed, then pulled into an empty directory, and comes back byte-identical with equal
//! mtimes and modes. The objects are in rclone's format, and a second push of the unchanged
//! tree transfers nothing and sends no HEAD (the manifest answers).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod s3support;

use std::os::unix::fs::symlink;

use s3support::{Fixture, bucket, ferry_sync, run, summary, text, tree};

#[test]
fn push_then_pull_reproduces_the_tree() {
    let Fixture {
        client,
        bucket: name,
        work,
        conf,
    } = Fixture::new("roundtrip");
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

/// Names of 255 bytes (the file system's limit; ASCII and multi-byte UTF-8) go up and come
/// back byte-identical, as do directories and a symlink with the longest names MinIO can
/// hold: the temporary name of a download never outgrows the limit.
#[test]
fn the_longest_names_round_trip() {
    let Fixture {
        bucket: name,
        work,
        conf,
        ..
    } = Fixture::new("longnames");
    let src = work.path().join("src");
    let names = tree::longest_names();
    // Directories and a symlink with the longest names MinIO can hold as markers and
    // `.rclonelink` objects (it keeps each key part as a file name, and a marker's gains 9
    // bytes): 246 and 244 bytes, ASCII and two-byte UTF-8.
    let (dir_a, dir_b) = (
        format!("{}.d", "d".repeat(244)),
        format!("{}d", "é".repeat(122)),
    );
    let link = format!("{}.lnk", "l".repeat(240));
    for (i, long) in names.iter().enumerate() {
        let mtime = 1_700_000_000_000_000_000 + i as i64 * 1_000_000_007;
        tree::write(&src.join(long), long.as_bytes(), 0o640, mtime);
        tree::write(&src.join(&dir_a).join(long), b"nested", 0o600, mtime);
    }
    tree::big_file(
        &src.join(&dir_b).join(&names[2]),
        3,
        20 << 20,
        1_700_000_000_500_000_000,
    );
    std::fs::create_dir_all(src.join("l")).unwrap();
    symlink(&names[3], src.join("l").join(&link)).unwrap();
    tree::dir(&src.join("l"), 0o755, 1_700_000_050_000_000_000);
    tree::dir(&src.join(&dir_b), 0o755, 1_700_000_100_000_000_000);
    tree::dir(&src.join(&dir_a), 0o750, 1_700_000_200_000_000_000);
    let before = tree::snapshot_with_dirs(&src);

    let remote = format!("minio:{name}/long");
    let push = run(ferry_sync(&conf, src.to_str().unwrap(), &remote).arg("--links"));
    assert!(push.status.success(), "{}", text(&push));
    assert_eq!(summary(&push).errors, 0, "{}", text(&push));
    let dst = work.path().join("dst");
    let pull = run(ferry_sync(&conf, &remote, dst.to_str().unwrap()).arg("--links"));
    assert!(pull.status.success(), "{}", text(&pull));
    assert_eq!(summary(&pull).errors, 0, "{}", text(&pull));
    tree::assert_same(&before, &tree::snapshot_with_dirs(&dst));
    // A second pull over the restored tree has nothing to do.
    let again = run(ferry_sync(&conf, &remote, dst.to_str().unwrap()).arg("--links"));
    let sum = summary(&again);
    assert_eq!(
        (sum.files_transferred, sum.errors),
        (0, 0),
        "{}",
        text(&again)
    );
    tree::assert_same(&before, &tree::snapshot_with_dirs(&dst));
}

/// Directories, empty ones and nested ones, come back with their modes and mtimes; a
/// directory removed at the source goes from the remote, and one emptied at the source
/// stays (empty) at the destination.
#[test]
fn directories_round_trip_with_their_modes() {
    let Fixture {
        client,
        bucket: name,
        work,
        conf,
    } = Fixture::new("dirs");
    let src = work.path().join("src");
    tree::write(
        &src.join("base/PG_VERSION"),
        b"17\n",
        0o600,
        1_700_000_000_000_000_000,
    );
    for (rel, mode) in [
        ("base/pg_tblspc", 0o700),
        ("base/pg_twophase", 0o700),
        ("base/pg_snapshots", 0o700),
        ("empty/a/b/c", 0o755),
        ("empty/a/b", 0o750),
        ("empty/a", 0o711),
        ("empty", 0o755),
        ("shared", 0o775),
        ("base", 0o700),
    ] {
        tree::dir(
            &src.join(rel),
            mode,
            1_690_000_000_000_000_000 + i64::from(mode) * 1_000_003,
        );
    }
    let before = tree::snapshot_with_dirs(&src);
    assert_eq!(before.keys().filter(|k| k.ends_with('/')).count(), 9);

    let remote = format!("minio:{name}/d");
    let push = run(&mut ferry_sync(&conf, src.to_str().unwrap(), &remote));
    assert!(push.status.success(), "{}", text(&push));
    assert_eq!(summary(&push).dirs_transferred, 9, "{}", text(&push));
    let markers = s3support::block_on(bucket::markers(&client, &name, "d/"));
    assert!(markers.contains_key("d/empty/a/b/c/"), "{markers:?}");
    let (meta, body, _) = s3support::block_on(bucket::get(&client, &name, "d/base/pg_tblspc/"));
    assert!(body.is_empty());
    assert_eq!(
        meta.get("mode").map(String::as_str),
        Some("40700"),
        "{meta:?}"
    );

    let dst = work.path().join("dst");
    let pull = run(&mut ferry_sync(&conf, &remote, dst.to_str().unwrap()));
    assert!(pull.status.success(), "{}", text(&pull));
    tree::assert_same(&before, &tree::snapshot_with_dirs(&dst));

    // Unchanged: nothing stored, nothing restored but the same mtimes.
    let again = run(&mut ferry_sync(&conf, src.to_str().unwrap(), &remote));
    let sum = summary(&again);
    assert_eq!(
        (sum.files_transferred, sum.dirs_transferred),
        (0, 0),
        "{}",
        text(&again)
    );

    // A directory removed at the source loses its marker; the pull leaves the local one.
    std::fs::remove_dir(src.join("empty/a/b/c")).unwrap();
    tree::set_mtime(&src.join("empty/a/b"), 1_695_000_000_000_000_000);
    let push = run(&mut ferry_sync(&conf, src.to_str().unwrap(), &remote));
    assert!(push.status.success(), "{}", text(&push));
    let markers = s3support::block_on(bucket::markers(&client, &name, "d/"));
    assert!(!markers.contains_key("d/empty/a/b/c/"), "{markers:?}");
    assert_eq!(summary(&push).files_deleted, 0, "markers are not files");
    let pull = run(&mut ferry_sync(&conf, &remote, dst.to_str().unwrap()));
    assert!(pull.status.success(), "{}", text(&pull));
    let after = tree::snapshot_with_dirs(&dst);
    assert_eq!(
        after["empty/a/b/"].mtime, 1_695_000_000_000_000_000,
        "the new mtime is restored"
    );
}

/// A name the server cannot hold (a 255-byte directory is 264 bytes as a MinIO marker) is
/// an error of the sync that names the key and the fix; the rest is stored and nothing is
/// deleted.
#[test]
fn a_name_the_server_refuses_is_an_error_that_says_why() {
    let Fixture {
        client,
        bucket: name,
        work,
        conf,
    } = Fixture::new("refused");
    let src = work.path().join("src");
    let long = "d".repeat(255);
    tree::write(
        &src.join("kept.txt"),
        b"kept",
        0o644,
        1_700_000_000_000_000_000,
    );
    tree::dir(&src.join(&long), 0o755, 1_700_000_000_000_000_000);
    let remote = format!("minio:{name}/r");
    let push = run(&mut ferry_sync(&conf, src.to_str().unwrap(), &remote));
    assert_eq!(push.status.code(), Some(1), "{}", text(&push));
    assert_eq!(summary(&push).errors, 1, "{}", text(&push));
    let stderr = String::from_utf8_lossy(&push.stderr);
    assert!(
        stderr.contains(&format!("{long}/"))
            && stderr.contains("255 bytes per path part")
            && stderr.contains("shorten the name"),
        "{}",
        text(&push)
    );
    let listed = s3support::block_on(bucket::list(&client, &name, "r/"));
    assert!(listed.contains_key("r/kept.txt"), "{listed:?}");
}
