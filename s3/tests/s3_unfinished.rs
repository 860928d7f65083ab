//! A partial push is never restored (issue 22), against the real MinIO, the real
//! `ferry-sidecar` binary and the real rclone:
//! - a push to a plain prefix that fails part-way (a proxy refuses one file) leaves the
//!   push-in-progress mark, and a pull, a restore's choice and a verification refuse the
//!   prefix with a message that names it and the fix, changing nothing locally;
//! - so does a push whose process is killed (SIGKILL) while a PUT is held by the proxy:
//!   the previous manifest is still there, the mark says the tree is not whole;
//! - a later complete push removes the mark, and the prefix pulls again, byte-identical;
//! - a prefix written by rclone (no Ferry manifest, no mark) is pulled and chosen for a
//!   restore as it is;
//! - a timestamped copy whose push failed is never the newest for a pull or a restore,
//!   and is refused by name.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod s3support;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use ferry_s3::options::Layout;
use ferry_s3::remote::Remote;
use ferry_s3::restore::{Choice, choose};
use s3support::proxy::{Counters, Faults, Proxy};
use s3support::{
    Fixture, bucket, ferry_sync, minio, rclone, run, summary, text, tree, write_rclone_conf,
};

const MTIME: i64 = 1_700_000_000_000_000_000;
const MARK: &str = ".ferry-push-in-progress";

/// Thirty small files below `root`, the same for a given `seed`.
fn seed_tree(root: &Path, seed: u64) {
    tree::small_files(root, seed, 30, 4 * 1024, 2);
}

/// The next version of the tree at `root`: ten files changed and `extra` added.
fn next_version(root: &Path, extra: &str) {
    let files: Vec<String> = tree::snapshot(root).into_keys().collect();
    for (i, rel) in files.iter().take(10).enumerate() {
        tree::change(&root.join(rel), 100 + i as u64);
    }
    tree::write(&root.join(extra), b"new in this version", 0o644, MTIME + 7);
}

/// A proxy in front of MinIO with `faults`, and an rclone.conf (in its own directory)
/// whose `[minio]` goes through it.
fn through_proxy(fx: &Fixture, faults: Faults) -> (Proxy, PathBuf) {
    let minio = minio::shared();
    let proxy = Proxy::start(minio.port, Some(faults));
    let dir = fx.work.path().join("proxied");
    std::fs::create_dir_all(&dir).unwrap();
    let conf = write_rclone_conf(&dir, "minio", &proxy.endpoint, &minio.access, &minio.secret);
    (proxy, conf)
}

/// Pushes `src` to `remote` (with `extra` flags) through a proxy that refuses the upload
/// of every path holding "poison": the push fails part-way, exit 1.
fn push_failing_part_way(fx: &Fixture, src: &Path, remote: &str, extra: &[&str]) -> Output {
    let faults = Faults {
        poison: Some("poison".into()),
        ..Faults::default()
    };
    let (_proxy, conf) = through_proxy(fx, faults);
    let failed = run(ferry_sync(&conf, src.to_str().unwrap(), remote).args(extra));
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed));
    failed
}

/// Whether the bucket holds the mark of `prefix`.
fn marked(fx: &Fixture, prefix: &str) -> bool {
    let all = s3support::block_on(bucket::list_all(&fx.client, &fx.bucket, ""));
    all.contains_key(&format!("{prefix}{MARK}"))
}

/// The engine's remote for `minio:<path>` under the fixture's rclone.conf.
async fn engine_remote(conf: &Path, path: &str) -> Remote {
    let text = std::fs::read_to_string(conf).unwrap();
    let section = ferry_s3::config::rclone::section_from_text(&text, conf, "minio").unwrap();
    Remote::open(
        section.s3,
        section.crypt,
        "SRC",
        path,
        format!("SRC \"minio:{path}\""),
    )
    .await
    .unwrap()
}

/// Asserts that a pull of `minio:<bucket>/<prefix>` is refused for the unfinished push,
/// naming the prefix and the fix, and writes nothing.
fn pull_is_refused(fx: &Fixture, prefix: &str, what: &str) {
    let dst = fx.work.path().join(format!("refused-{prefix}"));
    let remote = format!("minio:{}/{prefix}", fx.bucket);
    let pull = run(&mut ferry_sync(&fx.conf, &remote, dst.to_str().unwrap()));
    assert_eq!(pull.status.code(), Some(2), "{what}: {}", text(&pull));
    let stderr = String::from_utf8_lossy(&pull.stderr);
    for words in [
        format!("SRC \"{remote}\": a push to it started at "),
        "did not finish".to_owned(),
        format!("the mark {}/{prefix}{MARK} says so", fx.bucket),
        "it is not pulled, restored or verified".to_owned(),
        "finish a push to it from the source".to_owned(),
    ] {
        assert!(
            stderr.contains(&words),
            "{what}: no {words:?} in {}",
            text(&pull)
        );
    }
    assert!(!dst.exists(), "{what}: the refused pull wrote {dst:?}");
}

/// Pulls `minio:<bucket>/<prefix>` and asserts it is the tree at `src`.
fn pulls_as(fx: &Fixture, prefix: &str, src: &Path, what: &str) {
    let dst = fx
        .work
        .path()
        .join(format!("pulled-{prefix}-{}", rand_suffix()));
    let remote = format!("minio:{}/{prefix}", fx.bucket);
    let pull = run(&mut ferry_sync(&fx.conf, &remote, dst.to_str().unwrap()));
    assert!(pull.status.success(), "{what}: {}", text(&pull));
    tree::assert_same(&tree::snapshot(src), &tree::snapshot(&dst));
}

fn rand_suffix() -> u32 {
    rand::random()
}

#[test]
fn a_push_that_fails_part_way_is_refused_until_a_later_push_completes() {
    let fx = Fixture::new("unfinished-fail");
    let src = fx.work.path().join("src");
    seed_tree(&src, 1);
    let remote = format!("minio:{}/x", fx.bucket);
    let first = run(&mut ferry_sync(&fx.conf, src.to_str().unwrap(), &remote));
    assert!(first.status.success(), "{}", text(&first));
    assert!(!marked(&fx, "x"), "a complete push leaves no mark");
    pulls_as(&fx, "x", &src, "after the first push");

    // The next version goes up through a proxy that refuses one file: part old, part new.
    next_version(&src, "poison.txt");
    let failed = push_failing_part_way(&fx, &src, &remote, &[]);
    assert!(
        summary(&failed).files_transferred >= 10,
        "the changed files went up: {}",
        text(&failed)
    );
    let listed = s3support::block_on(bucket::list_all(&fx.client, &fx.bucket, ""));
    assert!(
        listed.contains_key("x.ferry-manifest") && listed.contains_key(&format!("x{MARK}")),
        "the failed push stored its manifest and left the mark: {listed:?}"
    );
    pull_is_refused(&fx, "x", "after a failed push");

    // The engine's own choice for a restore, and a verification, refuse it too.
    s3support::block_on(async {
        let remote = engine_remote(&fx.conf, &format!("{}/x", fx.bucket)).await;
        let refused = choose(&remote, Layout::Plain, None).await.unwrap_err();
        assert!(
            matches!(refused, ferry_s3::Error::Unfinished { .. }),
            "{refused}"
        );
        let job = ferry_s3::verify::VerifyJob {
            deep: false,
            sample_percent: 100,
        };
        let verify = ferry_s3::verify::run(&remote, Layout::Plain, job)
            .await
            .unwrap_err();
        assert!(verify.to_string().contains("did not finish"), "{verify}");
    });

    // A later push that completes (the file no longer refused) makes it whole again.
    let fixed = run(&mut ferry_sync(&fx.conf, src.to_str().unwrap(), &remote));
    assert!(fixed.status.success(), "{}", text(&fixed));
    assert!(!marked(&fx, "x"), "the complete push removed the mark");
    pulls_as(&fx, "x", &src, "after the complete push");
}

#[test]
fn a_push_killed_mid_way_is_refused_until_a_later_push_completes() {
    let fx = Fixture::new("unfinished-kill");
    let src = fx.work.path().join("src");
    seed_tree(&src, 2);
    let remote = format!("minio:{}/k", fx.bucket);
    let first = run(&mut ferry_sync(&fx.conf, src.to_str().unwrap(), &remote));
    assert!(first.status.success(), "{}", text(&first));
    let manifest_before = s3support::block_on(bucket::list_all(&fx.client, &fx.bucket, ""))
        .get("k.ferry-manifest")
        .cloned()
        .expect("the first push's manifest");

    // The next version, through a proxy that never answers one PUT: the push is certain
    // to be running when it is killed, after its first change.
    next_version(&src, "m-hold.bin");
    let faults = Faults {
        hold: Some("m-hold".into()),
        ..Faults::default()
    };
    let (proxy, conf) = through_proxy(&fx, faults);
    let mut push = ferry_sync(&conf, src.to_str().unwrap(), &remote);
    let mut child = push
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while Counters::get(&proxy.counters.held) == 0 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the push ended before its held PUT"
        );
        assert!(Instant::now() < deadline, "the held PUT never came");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "{status:?}"
    );

    let listed = s3support::block_on(bucket::list_all(&fx.client, &fx.bucket, ""));
    assert_eq!(
        listed.get("k.ferry-manifest"),
        Some(&manifest_before),
        "the killed push left the previous manifest"
    );
    assert!(listed.contains_key(&format!("k{MARK}")), "{listed:?}");
    pull_is_refused(&fx, "k", "after a killed push");

    let fixed = run(&mut ferry_sync(&fx.conf, src.to_str().unwrap(), &remote));
    assert!(fixed.status.success(), "{}", text(&fixed));
    assert!(!marked(&fx, "k"), "the complete push removed the mark");
    pulls_as(&fx, "k", &src, "after the complete push");
}

#[test]
fn a_prefix_rclone_wrote_without_a_manifest_is_pulled_and_restored() {
    let fx = Fixture::new("unfinished-rclone");
    let src = fx.work.path().join("src");
    seed_tree(&src, 3);
    let remote = format!("minio:{}/r", fx.bucket);
    let copy = run(rclone(&fx.conf).args(["copy", src.to_str().unwrap(), &remote]));
    assert!(copy.status.success(), "{}", text(&copy));
    let listed = s3support::block_on(bucket::list_all(&fx.client, &fx.bucket, ""));
    assert!(
        listed.keys().all(|k| k.starts_with("r/")) && listed.len() == 30,
        "rclone wrote only the files: {listed:?}"
    );
    pulls_as(&fx, "r", &src, "rclone's prefix");
    s3support::block_on(async {
        let remote = engine_remote(&fx.conf, &format!("{}/r", fx.bucket)).await;
        match choose(&remote, Layout::Plain, None).await.unwrap() {
            Choice::Copy { name, .. } => assert_eq!(name, format!("{}/r", fx.bucket)),
            other => panic!("rclone's prefix is not restored: {other:?}"),
        }
    });
}

#[test]
fn a_failed_timestamped_copy_is_never_the_newest_and_is_refused_by_name() {
    let fx = Fixture::new("unfinished-stamped");
    let src = fx.work.path().join("src");
    seed_tree(&src, 4);
    let first_tree = tree::snapshot(&src);
    let remote = format!("minio:{}/t", fx.bucket);
    let first = run(ferry_sync(&fx.conf, src.to_str().unwrap(), &remote).arg("--timestamp-prefix"));
    assert!(first.status.success(), "{}", text(&first));
    // Copies are named to the second.
    std::thread::sleep(Duration::from_millis(1100));

    next_version(&src, "poison.txt");
    push_failing_part_way(&fx, &src, &remote, &["--timestamp-prefix"]);
    let listed = s3support::block_on(bucket::list_all(&fx.client, &fx.bucket, "t/"));
    let mut stamps: Vec<&str> = listed
        .keys()
        .filter_map(|k| k.strip_prefix("t/")?.split('/').next())
        .filter(|s| s.len() == 17)
        .collect();
    stamps.dedup();
    assert_eq!(stamps.len(), 2, "two copies: {listed:?}");
    let (complete, partial) = (stamps[0].to_owned(), stamps[1].to_owned());
    assert!(
        listed.contains_key(&format!("t/{complete}.ferry-manifest"))
            && !listed.contains_key(&format!("t/{partial}.ferry-manifest")),
        "only the first copy is complete: {listed:?}"
    );
    assert!(
        !listed.keys().any(|k| k.ends_with(MARK)),
        "timestamped copies carry no mark: {listed:?}"
    );

    // A pull takes the newest complete copy: the first.
    let dst = fx.work.path().join("dst");
    let pull = run(ferry_sync(&fx.conf, &remote, dst.to_str().unwrap()).arg("--timestamp-prefix"));
    assert!(pull.status.success(), "{}", text(&pull));
    tree::assert_same(&first_tree, &tree::snapshot(&dst));

    // A restore takes it too, and refuses the partial one by name.
    s3support::block_on(async {
        let remote = engine_remote(&fx.conf, &format!("{}/t", fx.bucket)).await;
        let layout = Layout::Timestamped {
            retain: None,
            lock: None,
        };
        match choose(&remote, layout, None).await.unwrap() {
            Choice::Copy { name, .. } => assert_eq!(name, complete),
            other => panic!("the newest complete copy is not chosen: {other:?}"),
        }
        let refused = choose(&remote, layout, Some(partial.as_str()))
            .await
            .unwrap_err();
        let message = refused.to_string();
        assert!(
            message.contains(&format!("the copy \"{partial}\" to restore"))
                && message.contains("is partial")
                && message.contains(&format!("complete copies: {complete}")),
            "{message}"
        );
    });
}
