//! Syncing through an rclone `crypt` remote, against the real MinIO and the real rclone
//! (the pinned build, with its crypt backend), for each name mode (standard with
//! `password2`, obfuscate, off):
//! - what Ferry pushes, `rclone cryptcheck` and `rclone check` through the same crypt
//!   section find no difference in, and rclone restores byte-identical; Ferry's second
//!   push transfers nothing (its sealed manifest and size/mtime comparison work);
//! - what rclone pushes, Ferry pulls byte-identical and would not push again;
//! - the bucket's raw listing holds no plaintext name (except with names off) and no
//!   plaintext content, the manifest included;
//! - a wrong password fails naming the crypt section, with nothing written or deleted
//!   (the bucket's listing and the local tree are the same before and after);
//! - an unknown crypt option is refused naming the key;
//! - timestamped copies through crypt: the copy is a directory of the crypt remote
//!   (`secret:data/<stamp>`, its name encrypted), rclone restores it byte-identical, Ferry
//!   pulls the newest, and `--retain` prunes through crypt too.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod s3support;

use std::collections::BTreeMap;
use std::os::unix::fs::symlink;
use std::path::Path;

use s3support::{Fixture, bucket, ferry_sync, rclone, run, summary, text, tree};

/// Content that must never be seen in the bucket.
const SECRET_TEXT: &[u8] = b"hidden file content: must be encrypted";

/// The hidden-file and odd-name tree: small files with odd names in nested directories,
/// dot files and a dot directory, an empty directory, a 0600 file, a symlink and a file
/// above the multipart cutoff. Returns the names that must not appear in the bucket.
fn build(root: &Path, seed: u64) -> Vec<&'static str> {
    let files = tree::small_files(root, seed, 60, 8 * 1024, 3);
    let at = |i: i64| 1_700_000_000_000_000_000 + i * 1_000_000_123;
    tree::write(&root.join(".hidden"), SECRET_TEXT, 0o644, at(1));
    tree::write(&root.join(".config/.env"), SECRET_TEXT, 0o600, at(2));
    tree::write(&root.join("dir ü0/.dotfile"), SECRET_TEXT, 0o644, at(3));
    tree::write(&root.join("private/secret.key"), b"hush", 0o600, at(4));
    tree::big_file(&root.join("large/blob.bin"), seed + 1, 17 << 20, at(5));
    tree::dir(&root.join("empty dir"), 0o755, at(6));
    symlink(&files[2], root.join("link")).unwrap();
    tree::set_mtime(&root.join("link"), at(7));
    vec![
        ".hidden",
        ".config",
        ".dotfile",
        "secret.key",
        "blob.bin",
        "empty dir",
        "file with spaces",
        "ünïcødé",
    ]
}

/// Appends a `[name]` crypt section over `minio:<bucket>/enc` with `lines` to the
/// fixture's rclone.conf; passwords obscured by the real rclone.
fn add_crypt(conf: &Path, name: &str, bucket: &str, password: &str, lines: &str) {
    let obscure = |p: &str| {
        let out = run(rclone(conf).args(["obscure", p]));
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let mut text = std::fs::read_to_string(conf).unwrap();
    text.push_str(&format!(
        "\n[{name}]\ntype = crypt\nremote = minio:{bucket}/enc\npassword = {}\npassword2 = {}\n{lines}",
        obscure(password),
        obscure("salt, the second password")
    ));
    std::fs::write(conf, text).unwrap();
}

/// The modes of the Done-when list.
const MODES: [(&str, &str); 3] = [
    ("standard", "filename_encryption = standard\n"),
    ("obfuscate", "filename_encryption = obfuscate\n"),
    ("off", "filename_encryption = off\n"),
];

/// rclone's check and cryptcheck through `remote` report no difference over `files`
/// files (symlinks as `.rclonelink`, with --links).
fn rclone_agrees(conf: &Path, src: &str, remote: &str, files: usize, what: &str) {
    for command in ["check", "cryptcheck"] {
        let out = run(rclone(conf).args([command, "--links", src, remote]));
        let log = text(&out);
        assert!(out.status.success(), "{what}: rclone {command}: {log}");
        assert!(
            log.contains(": 0 differences found")
                && log.contains(&format!(": {files} matching files")),
            "{what}: rclone {command}: {log}"
        );
    }
}

/// Every object of the bucket: no plaintext content; no plaintext name unless names are
/// off (then only contents are secret).
fn nothing_in_clear(f: &Fixture, names: &[&str], names_hidden: bool, what: &str) {
    let listed = s3support::block_on(bucket::list_all(&f.client, &f.bucket, ""));
    assert!(!listed.is_empty(), "{what}: empty bucket");
    for key in listed.keys() {
        if names_hidden {
            for name in names {
                assert!(!key.contains(name), "{what}: plaintext name in {key:?}");
            }
        }
        let (_, body, _) = s3support::block_on(bucket::get(&f.client, &f.bucket, key));
        assert!(
            !body.windows(SECRET_TEXT.len()).any(|w| w == SECRET_TEXT),
            "{what}: plaintext content in {key:?}"
        );
        assert!(
            !body.windows(14).any(|w| w == b"ferry_manifest"),
            "{what}: plaintext manifest in {key:?}"
        );
    }
}

fn files_in(root: &Path) -> usize {
    tree::snapshot(root).len()
}

#[test]
fn ferry_pushes_through_crypt_and_rclone_reads_it() {
    for (mode, lines) in MODES {
        let f = Fixture::new(&format!("crypt-ferry-{mode}"));
        add_crypt(&f.conf, "secret", &f.bucket, "the password", lines);
        let src = f.work.path().join("src");
        let names = build(&src, 10);
        let src_arg = src.to_str().unwrap();
        let remote = "secret:data";

        let push = run(ferry_sync(&f.conf, src_arg, remote).arg("--links"));
        assert!(push.status.success(), "{mode}: {}", text(&push));
        rclone_agrees(&f.conf, src_arg, remote, files_in(&src), mode);
        nothing_in_clear(&f, &names, mode != "off", mode);

        // rclone restores it byte-identical, with modes (--metadata passes through crypt).
        let back = f.work.path().join("rclone-copy");
        let copy = run(rclone(&f.conf).args([
            "copy",
            "--metadata",
            "--links",
            remote,
            back.to_str().unwrap(),
        ]));
        assert!(copy.status.success(), "{mode}: {}", text(&copy));
        tree::assert_same(&tree::snapshot(&src), &tree::snapshot(&back));

        // The sealed manifest and plaintext sizes: nothing to do again, without a HEAD.
        let again = summary(&run(ferry_sync(&f.conf, src_arg, remote).arg("--links")));
        assert_eq!(
            (again.files_transferred, again.errors, again.head_requests),
            (0, 0, 0),
            "{mode}: {again:?}"
        );

        // Ferry pulls its own push back, directories and modes included.
        let pulled = f.work.path().join("ferry-pull");
        let pull = run(ferry_sync(&f.conf, remote, pulled.to_str().unwrap()).arg("--links"));
        assert!(pull.status.success(), "{mode}: {}", text(&pull));
        tree::assert_same(
            &tree::snapshot_with_dirs(&src),
            &tree::snapshot_with_dirs(&pulled),
        );
    }
}

#[test]
fn timestamped_copies_through_crypt_are_directories_of_the_crypt_remote() {
    let f = Fixture::new("crypt-stamped");
    add_crypt(&f.conf, "secret", &f.bucket, "the password", MODES[0].1);
    let src = f.work.path().join("src");
    let names = build(&src, 30);
    let src_arg = src.to_str().unwrap();
    let remote = "secret:data";
    let push = || {
        let out = run(ferry_sync(&f.conf, src_arg, remote).args([
            "--links",
            "--timestamp-prefix",
            "--retain",
            "1",
        ]));
        assert!(out.status.success(), "{}", text(&out));
    };
    push();
    nothing_in_clear(&f, &names, true, "timestamped");

    // rclone sees one directory, the copy, under its plaintext name.
    let listed = run(rclone(&f.conf).args(["lsf", "--dirs-only", remote]));
    assert!(listed.status.success(), "{}", text(&listed));
    let dirs = String::from_utf8_lossy(&listed.stdout).into_owned();
    let stamps: Vec<&str> = dirs.lines().map(|l| l.trim_end_matches('/')).collect();
    assert_eq!(stamps.len(), 1, "{dirs}");
    let copy = format!("{remote}/{}", stamps[0]);
    rclone_agrees(&f.conf, src_arg, &copy, files_in(&src), "timestamped");
    let back = f.work.path().join("rclone-copy");
    let out = run(rclone(&f.conf).args([
        "copy",
        "--metadata",
        "--links",
        &copy,
        back.to_str().unwrap(),
    ]));
    assert!(out.status.success(), "{}", text(&out));
    tree::assert_same(&tree::snapshot(&src), &tree::snapshot(&back));

    // A second copy, and the first pruned (--retain 1); Ferry pulls the newest.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    tree::write(
        &src.join(".hidden"),
        b"second copy",
        0o644,
        1_800_000_000_000_000_000,
    );
    push();
    let listed = run(rclone(&f.conf).args(["lsf", "--dirs-only", remote]));
    let dirs = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert_eq!(dirs.lines().count(), 1, "the first copy was pruned: {dirs}");
    assert_ne!(dirs.trim_end().trim_end_matches('/'), stamps[0]);
    let pulled = f.work.path().join("ferry-pull");
    let out = run(ferry_sync(&f.conf, remote, pulled.to_str().unwrap())
        .args(["--links", "--timestamp-prefix"]));
    assert!(out.status.success(), "{}", text(&out));
    tree::assert_same(&tree::snapshot(&src), &tree::snapshot(&pulled));
}

#[test]
fn ferry_pulls_what_rclone_pushed_through_crypt() {
    for (mode, lines) in MODES {
        let f = Fixture::new(&format!("crypt-rclone-{mode}"));
        add_crypt(&f.conf, "secret", &f.bucket, "the password", lines);
        let src = f.work.path().join("src");
        let names = build(&src, 20);
        let src_arg = src.to_str().unwrap();
        let remote = "secret:from-rclone";

        // Multipart from rclone too (the inner S3 remote's flags).
        let push = run(rclone(&f.conf).args([
            "sync",
            "--links",
            "--metadata",
            "--s3-upload-cutoff",
            "5M",
            "--s3-chunk-size",
            "5M",
            src_arg,
            remote,
        ]));
        assert!(
            push.status.success(),
            "{mode}: rclone sync: {}",
            text(&push)
        );
        nothing_in_clear(&f, &names, mode != "off", mode);

        let dst = f.work.path().join("pulled");
        let pull = run(ferry_sync(&f.conf, remote, dst.to_str().unwrap()).arg("--links"));
        assert!(pull.status.success(), "{mode}: {}", text(&pull));
        tree::assert_same(&tree::snapshot(&src), &tree::snapshot(&dst));

        // Plaintext sizes and rclone's mtimes agree: Ferry would not push anything again.
        let push = run(ferry_sync(&f.conf, src_arg, remote).arg("--links"));
        let s = summary(&push);
        assert_eq!((s.files_transferred, s.errors), (0, 0), "{mode}: {s:?}");
        rclone_agrees(&f.conf, src_arg, remote, files_in(&src), mode);
    }
}

#[test]
fn a_wrong_password_names_the_section_and_changes_nothing() {
    for (mode, lines) in MODES {
        let f = Fixture::new(&format!("crypt-wrong-{mode}"));
        add_crypt(&f.conf, "secret", &f.bucket, "the password", lines);
        add_crypt(&f.conf, "wrong", &f.bucket, "another password", lines);
        let src = f.work.path().join("src");
        build(&src, 30);
        let src_arg = src.to_str().unwrap();
        let push = run(ferry_sync(&f.conf, src_arg, "secret:data").arg("--links"));
        assert!(push.status.success(), "{mode}: {}", text(&push));

        // A push that would delete and upload if it could read the remote.
        std::fs::remove_file(src.join(".hidden")).unwrap();
        tree::write(&src.join("new file"), b"new", 0o644, tree::now_ns());
        let before = listing(&f);
        let out = run(ferry_sync(&f.conf, src_arg, "wrong:data").arg("--links"));
        let log = text(&out);
        assert_eq!(out.status.code(), Some(2), "{mode}: {log}");
        assert!(
            log.contains("[wrong] of") && log.contains("password"),
            "{mode}: {log}"
        );
        assert_eq!(listing(&f), before, "{mode}: the bucket changed");

        // A pull into a directory with a file the remote lacks: nothing written or
        // deleted there either.
        let dst = f.work.path().join("dst");
        tree::write(&dst.join("keep me"), b"mine", 0o644, tree::now_ns());
        let local = tree::snapshot_with_dirs(&dst);
        let out = run(&mut ferry_sync(
            &f.conf,
            "wrong:data",
            dst.to_str().unwrap(),
        ));
        let log = text(&out);
        assert_eq!(out.status.code(), Some(2), "{mode}: {log}");
        assert!(log.contains("[wrong] of"), "{mode}: {log}");
        assert_eq!(tree::snapshot_with_dirs(&dst), local, "{mode}: dst changed");
    }
}

#[test]
fn an_unknown_crypt_option_is_refused_by_name() {
    let f = Fixture::new("crypt-option");
    add_crypt(
        &f.conf,
        "secret",
        &f.bucket,
        "the password",
        "filename_encryption = standard\nfilename_encyption = off\n",
    );
    let src = f.work.path().join("src");
    tree::write(&src.join("a"), b"a", 0o644, tree::now_ns());
    let out = run(&mut ferry_sync(
        &f.conf,
        src.to_str().unwrap(),
        "secret:data",
    ));
    let log = text(&out);
    assert_eq!(out.status.code(), Some(2), "{log}");
    assert!(
        log.contains("filename_encyption in [secret]") && log.contains("not a crypt option"),
        "{log}"
    );
    assert!(listing(&f).is_empty(), "nothing written");
}

/// The bucket's keys and ETags.
fn listing(f: &Fixture) -> BTreeMap<String, String> {
    s3support::block_on(bucket::list_all(&f.client, &f.bucket, ""))
        .into_iter()
        .map(|(k, v)| (k, v.etag))
        .collect()
}
