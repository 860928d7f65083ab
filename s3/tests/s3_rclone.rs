//! Interop with the real rclone (the pinned build, same MinIO): what Ferry pushes, rclone
//! checks with no differences and would not transfer again, and restores with modes; what
//! rclone pushes (multipart included), Ferry pulls identically and does not push again.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod s3support;

use std::os::unix::fs::symlink;
use std::path::Path;

use s3support::{
    Fixture, bucket, ferry_sync, minio, rclone, run, summary, text, tree, write_rclone_conf,
};

/// A tree with small files, odd names, a multipart-sized file, a 0600 file and symlinks.
fn build(root: &Path, seed: u64) {
    let files = tree::small_files(root, seed, 300, 16 * 1024, 5);
    tree::big_file(
        &root.join("large/blob.bin"),
        seed + 1,
        20 << 20,
        1_700_000_000_500_000_000,
    );
    tree::write(
        &root.join("private/secret.key"),
        b"hush",
        0o600,
        1_700_000_001_000_000_000,
    );
    symlink(&files[2], root.join("link")).unwrap();
    tree::set_mtime(&root.join("link"), 1_690_000_000_250_000_000);
}

#[test]
fn rclone_accepts_what_ferry_pushed() {
    let Fixture {
        bucket: name,
        work,
        conf,
        ..
    } = Fixture::new("interop-ferry");
    let src = work.path().join("src");
    build(&src, 10);
    let src_arg = src.to_str().unwrap();
    let remote = format!("minio:{name}/data");

    let push = run(ferry_sync(&conf, src_arg, &remote).arg("--links"));
    assert!(push.status.success(), "{}", text(&push));

    let check = run(rclone(&conf).args(["check", "--links", src_arg, &remote]));
    let out = text(&check);
    assert!(check.status.success(), "rclone check: {out}");
    assert!(out.contains("0 differences found"), "{out}");
    assert!(
        !out.contains("hashes could not be checked"),
        "every hash checkable: {out}"
    );

    let dry = run(rclone(&conf).args(["sync", "--dry-run", "--links", "-v", src_arg, &remote]));
    let out = text(&dry);
    assert!(dry.status.success(), "rclone sync --dry-run: {out}");
    assert!(
        !out.contains("Skipped"),
        "rclone would change something: {out}"
    );
    assert!(out.contains("There was nothing to transfer"), "{out}");

    // rclone restores the modes Ferry recorded (its --metadata keys).
    let back = work.path().join("rclone-copy");
    let copy = run(rclone(&conf).args([
        "copy",
        "--metadata",
        "--links",
        &remote,
        back.to_str().unwrap(),
    ]));
    assert!(copy.status.success(), "{}", text(&copy));
    tree::assert_same(&tree::snapshot(&src), &tree::snapshot(&back));
}

#[test]
fn ferry_pulls_what_rclone_pushed() {
    let Fixture {
        client,
        bucket: name,
        work,
        conf,
    } = Fixture::new("interop-rclone");
    let src = work.path().join("src");
    build(&src, 20);
    let src_arg = src.to_str().unwrap();
    let remote = format!("minio:{name}/from-rclone");

    // Multipart from rclone too (md5chksum written by rclone), and modes via --metadata.
    let push = run(rclone(&conf).args([
        "sync",
        "--links",
        "--metadata",
        "--s3-upload-cutoff",
        "5M",
        "--s3-chunk-size",
        "5M",
        src_arg,
        &remote,
    ]));
    assert!(push.status.success(), "rclone sync: {}", text(&push));
    let etag = s3support::block_on(bucket::get(&client, &name, "from-rclone/large/blob.bin")).2;
    assert!(
        etag.contains('-'),
        "rclone should have used multipart: {etag}"
    );

    let dst = work.path().join("pulled");
    let pull = run(ferry_sync(&conf, &remote, dst.to_str().unwrap()).arg("--links"));
    assert!(pull.status.success(), "{}", text(&pull));
    tree::assert_same(&tree::snapshot(&src), &tree::snapshot(&dst));

    let push = run(ferry_sync(&conf, src_arg, &remote).arg("--links"));
    let s = summary(&push);
    assert!(push.status.success(), "{}", text(&push));
    assert_eq!(
        (
            s.files_transferred,
            s.files_updated,
            s.files_deleted,
            s.errors
        ),
        (0, 0, 0, 0),
        "{}",
        text(&push)
    );
    assert_eq!(s.files_checked, 303);
}

/// Directory markers both ways: rclone sees the directories Ferry recorded (and recreates
/// the empty ones with `--create-empty-src-dirs`), and Ferry restores the empty
/// directories rclone recorded with `directory_markers = true`.
#[test]
fn empty_directories_cross_over_as_directory_markers() {
    let Fixture {
        client,
        bucket: name,
        work,
        conf,
    } = Fixture::new("interop-dirs");
    let src = work.path().join("src");
    tree::write(
        &src.join("a/file.txt"),
        b"x",
        0o644,
        1_700_000_000_000_000_000,
    );
    tree::dir(
        &src.join("a/empty/nested"),
        0o755,
        1_700_000_001_000_000_000,
    );
    tree::dir(&src.join("top-empty"), 0o755, 1_700_000_002_000_000_000);
    let src_arg = src.to_str().unwrap();

    // Ferry -> rclone.
    let remote = format!("minio:{name}/ferry");
    let push = run(&mut ferry_sync(&conf, src_arg, &remote));
    assert!(push.status.success(), "{}", text(&push));
    let dirs = run(rclone(&conf).args(["lsf", "-R", "--dirs-only", &remote]));
    let listed = String::from_utf8_lossy(&dirs.stdout).into_owned();
    for dir in ["a/", "a/empty/", "a/empty/nested/", "top-empty/"] {
        assert!(
            listed.lines().any(|l| l == dir),
            "rclone does not see {dir}: {}",
            text(&dirs)
        );
    }
    let files = run(rclone(&conf).args(["lsf", "-R", "--files-only", &remote]));
    assert_eq!(
        String::from_utf8_lossy(&files.stdout).trim(),
        "a/file.txt",
        "markers are not files to rclone: {}",
        text(&files)
    );
    let back = work.path().join("rclone-copy");
    let copy = run(rclone(&conf).args([
        "copy",
        "--create-empty-src-dirs",
        &remote,
        back.to_str().unwrap(),
    ]));
    assert!(copy.status.success(), "{}", text(&copy));
    assert!(back.join("a/empty/nested").is_dir(), "{}", text(&copy));
    assert!(back.join("top-empty").is_dir(), "{}", text(&copy));

    // rclone -> Ferry.
    let minio = minio::shared();
    let marked = work.path().join("marked");
    std::fs::create_dir_all(&marked).unwrap();
    let marked_conf = write_rclone_conf(
        &marked,
        "minio",
        &minio.endpoint,
        &minio.access,
        &minio.secret,
    );
    let mut text_conf = std::fs::read_to_string(&marked_conf).unwrap();
    text_conf.push_str("directory_markers = true\n");
    std::fs::write(&marked_conf, text_conf).unwrap();
    let remote = format!("minio:{name}/rclone");
    let push =
        run(rclone(&marked_conf).args(["sync", "--create-empty-src-dirs", src_arg, &remote]));
    assert!(push.status.success(), "rclone sync: {}", text(&push));
    let markers = s3support::block_on(bucket::markers(&client, &name, "rclone/"));
    assert!(
        markers.contains_key("rclone/a/empty/nested/"),
        "{markers:?}"
    );
    let dst = work.path().join("pulled");
    let pull = run(&mut ferry_sync(
        &marked_conf,
        &remote,
        dst.to_str().unwrap(),
    ));
    assert!(pull.status.success(), "{}", text(&pull));
    assert!(dst.join("a/empty/nested").is_dir(), "{}", text(&pull));
    assert!(dst.join("top-empty").is_dir(), "{}", text(&pull));
    tree::assert_same(&tree::snapshot(&src), &tree::snapshot(&dst));
}
