//! S3 Object Lock on timestamped copies (issue 24), against the real MinIO with buckets
//! created with locking: every object of a copy and its manifest are written locked (from
//! rclone's `object_lock_*` keys or the `--s3-object-lock-*` flags); MinIO refuses to delete
//! a locked version; pruning leaves a copy that is still locked and says until when, and
//! deletes an expired one version by version; a bucket without locking and a mirror with a
//! lock are refused before anything is written.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod s3support;

use std::path::Path;
use std::time::Duration;

use aws_sdk_s3::types::ObjectLockMode;
use s3support::{Fixture, bucket, ferry_sync, run, summary, text, tree};

const MTIME: i64 = 1_700_000_000_000_000_000;

/// A fixture whose bucket is replaced by one created with Object Lock.
fn locked_fixture(prefix: &str) -> Fixture {
    let mut fx = Fixture::new(prefix);
    let name = format!("{prefix}-lock-{:08x}", rand::random::<u32>());
    s3support::block_on(
        fx.client
            .create_bucket()
            .bucket(&name)
            .object_lock_enabled_for_bucket(true)
            .send(),
    )
    .unwrap();
    fx.bucket = name;
    fx
}

/// Appends rclone's Object Lock keys to the `[minio]` section.
fn lock_keys(conf: &Path, mode: &str, until: &str) {
    let mut text = std::fs::read_to_string(conf).unwrap();
    text.push_str(&format!(
        "object_lock_mode = {mode}\nobject_lock_retain_until_date = {until}\n"
    ));
    std::fs::write(conf, text).unwrap();
}

fn seed(dir: &Path) {
    for f in ["a.txt", "b/c.txt", "b/d.txt"] {
        tree::write(&dir.join(f), f.as_bytes(), 0o644, MTIME);
    }
}

/// Every version and delete marker below `prefix`: (key, version id, is a delete marker).
fn versions(fx: &Fixture, prefix: &str) -> Vec<(String, String, bool)> {
    s3support::block_on(async {
        let out = fx
            .client
            .list_object_versions()
            .bucket(&fx.bucket)
            .prefix(prefix)
            .send()
            .await
            .unwrap();
        let mut all: Vec<(String, String, bool)> = out
            .versions()
            .iter()
            .map(|v| {
                (
                    v.key().unwrap().to_owned(),
                    v.version_id().unwrap().to_owned(),
                    false,
                )
            })
            .collect();
        all.extend(out.delete_markers().iter().map(|m| {
            (
                m.key().unwrap().to_owned(),
                m.version_id().unwrap().to_owned(),
                true,
            )
        }));
        all.sort();
        all
    })
}

/// The stamps of the copies below `x/`.
fn stamps(fx: &Fixture) -> Vec<String> {
    let listed = s3support::block_on(bucket::list_all(&fx.client, &fx.bucket, "x/"));
    let mut stamps: Vec<String> = listed
        .keys()
        .filter_map(|k| {
            k.strip_prefix("x/")?
                .split_once('/')
                .map(|(s, _)| s.to_owned())
        })
        .collect();
    stamps.dedup();
    stamps
}

#[test]
fn a_locked_copy_cannot_be_deleted_and_pruning_waits_for_its_date() {
    let fx = locked_fixture("locked");
    lock_keys(&fx.conf, "GOVERNANCE", "1d");
    let src = fx.work.path().join("src");
    seed(&src);
    let remote = format!("minio:{}/x", fx.bucket);
    let push = || {
        run(ferry_sync(&fx.conf, src.to_str().unwrap(), &remote).args([
            "--timestamp-prefix",
            "--retain",
            "1",
        ]))
    };
    let first = push();
    assert!(first.status.success(), "{}", text(&first));
    let [copy] = stamps(&fx).try_into().unwrap();

    // Every object of the copy, and its manifest, is locked for a day.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let stored = versions(&fx, "x/");
    assert_eq!(
        stored.len(),
        5,
        "three files, the marker of b/ and the manifest: {stored:?}"
    );
    // MinIO keeps a directory marker (a key ending in `/`) as a directory, unversioned and
    // unlocked whatever the request says: only objects with content are locked there.
    for (key, version, _) in stored.iter().filter(|(k, _, _)| !k.ends_with('/')) {
        let head = s3support::block_on(
            fx.client
                .head_object()
                .bucket(&fx.bucket)
                .key(key)
                .version_id(version)
                .send(),
        )
        .unwrap();
        assert_eq!(
            head.object_lock_mode(),
            Some(&ObjectLockMode::Governance),
            "{key}"
        );
        let until = head.object_lock_retain_until_date().unwrap().secs();
        assert!(
            (now + 86_400 - 120..=now + 86_400 + 120).contains(&until),
            "{key} locked until {until}, a day after {now}"
        );
    }

    // MinIO refuses to delete a locked version.
    let (key, version, _) = stored
        .iter()
        .find(|(k, _, _)| k.ends_with("a.txt"))
        .unwrap();
    let refused = s3support::block_on(
        fx.client
            .delete_object()
            .bucket(&fx.bucket)
            .key(key)
            .version_id(version)
            .send(),
    );
    let err = refused.expect_err("a locked version was deleted");
    let said = format!("{:?}", aws_sdk_s3::error::DisplayErrorContext(&err));
    assert!(said.contains("Object is WORM protected"), "{said}");
    assert_eq!(versions(&fx, "x/"), stored, "the copy is whole");

    // A second copy: the first is beyond --retain 1 but locked: it waits, the line a user
    // reads says until when, and nothing is deleted (no delete marker either).
    std::thread::sleep(Duration::from_millis(1100));
    tree::write(&src.join("a.txt"), b"changed", 0o644, MTIME + 1);
    let mut cmd = std::process::Command::new(s3support::ferry_bin());
    cmd.args([
        "sync",
        "--stats",
        "0",
        "--timestamp-prefix",
        "--retain",
        "1",
        "--config",
    ])
    .arg(&fx.conf)
    .arg(&src)
    .arg(&remote)
    .env_remove("RUST_LOG");
    let second = run(&mut cmd);
    assert!(second.status.success(), "{}", text(&second));
    let line = String::from_utf8_lossy(&second.stdout);
    assert!(
        line.contains(&format!(
            "1 old copy beyond retain locked, not pruned: {copy} until 20"
        )),
        "{line}"
    );
    assert_eq!(stamps(&fx).len(), 2);
    let after = versions(&fx, "x/");
    assert!(after.iter().all(|(_, _, marker)| !marker), "{after:?}");
    for version in &stored {
        assert!(after.contains(version), "{version:?} went: {after:?}");
    }

    // A third: two old copies wait; the retention guard (one copy pruned per sync) counts
    // only copies that would be deleted, so it does not refuse.
    std::thread::sleep(Duration::from_millis(1100));
    let third = run(&mut cmd);
    assert!(third.status.success(), "{}", text(&third));
    let line = String::from_utf8_lossy(&third.stdout);
    assert!(
        line.contains("2 old copies beyond retain locked, not pruned:")
            && line.contains(&format!("{copy} until 20"))
            && !line.contains("refused"),
        "{}",
        text(&third)
    );
    assert_eq!(stamps(&fx).len(), 3);
}

#[test]
fn an_expired_lock_is_pruned_version_by_version() {
    let fx = locked_fixture("expired");
    let src = fx.work.path().join("src");
    seed(&src);
    let remote = format!("minio:{}/x", fx.bucket);
    let push = || {
        run(ferry_sync(&fx.conf, src.to_str().unwrap(), &remote).args([
            "--timestamp-prefix",
            "--retain",
            "1",
            "--s3-object-lock-mode",
            "compliance",
            "--s3-object-lock-retain-until-date",
            "3s",
        ]))
    };
    let first = push();
    assert!(first.status.success(), "{}", text(&first));
    let [old] = stamps(&fx).try_into().unwrap();
    std::thread::sleep(Duration::from_secs(4));
    let second = push();
    assert!(second.status.success(), "{}", text(&second));
    let s = summary(&second);
    assert!(s.locked.is_empty(), "{:?}", s.locked);
    let [kept] = stamps(&fx).try_into().unwrap();
    assert_ne!(kept, old);
    let left = versions(&fx, &format!("x/{old}"));
    assert!(
        left.is_empty(),
        "every version of the expired copy and its manifest went: {left:?}"
    );
}

#[test]
fn a_bucket_without_lock_and_a_locked_mirror_are_refused_before_anything_is_written() {
    let fx = Fixture::new("nolock");
    let src = fx.work.path().join("src");
    seed(&src);
    let remote = format!("minio:{}/x", fx.bucket);
    let out = run(ferry_sync(&fx.conf, src.to_str().unwrap(), &remote).args([
        "--timestamp-prefix",
        "--s3-object-lock-mode",
        "GOVERNANCE",
        "--s3-object-lock-retain-until-date",
        "1d",
    ]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "--s3-object-lock-mode: bucket \"{}\" does not have Object Lock enabled",
            fx.bucket
        )) && stderr.contains("mc mb --with-lock"),
        "{stderr}"
    );
    assert!(
        s3support::block_on(bucket::list_all(&fx.client, &fx.bucket, "")).is_empty(),
        "something was written"
    );

    let locked = locked_fixture("mirror");
    lock_keys(&locked.conf, "COMPLIANCE", "1d");
    let remote = format!("minio:{}/x", locked.bucket);
    let out = run(&mut ferry_sync(
        &locked.conf,
        src.to_str().unwrap(),
        &remote,
    ));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("object_lock_mode in [minio] of")
            && stderr.contains("every overwrite and deletion of a locked object would fail"),
        "{stderr}"
    );
    assert!(
        s3support::block_on(bucket::list_all(&locked.client, &locked.bucket, "")).is_empty(),
        "something was written"
    );
}
