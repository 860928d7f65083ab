//! Incremental syncs: with 1% of the files changed, 1% deleted and 1% added (and a few only
//! touched), exactly those are transferred, deleted or updated, as the summary says and as
//! MinIO's listing shows (every other object keeps its ETag and LastModified), with no HEAD.
//! The pull side follows the same way.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod s3support;

use std::collections::BTreeSet;

use s3support::{Fixture, bucket, ferry_sync, run, summary, text, tree};

#[test]
fn only_the_changed_percent_moves() {
    let Fixture {
        client,
        bucket: name,
        work,
        conf,
    } = Fixture::new("incremental");
    let src = work.path().join("src");
    let mirror = work.path().join("mirror");
    let files = tree::small_files(&src, 30, 1_000, 4 * 1024, 4);
    let (src_arg, mirror_arg) = (src.to_str().unwrap(), mirror.to_str().unwrap());
    let remote = format!("minio:{name}/inc");

    let first = run(&mut ferry_sync(&conf, src_arg, &remote));
    assert_eq!(summary(&first).files_transferred, 1_000, "{}", text(&first));
    let pull = run(&mut ferry_sync(&conf, &remote, mirror_arg));
    assert_eq!(summary(&pull).files_transferred, 1_000, "{}", text(&pull));
    let before = s3support::block_on(bucket::list(&client, &name, "inc/"));

    // 1% changed, 1% deleted, 1% added, 0.5% touched only.
    let changed: Vec<&String> = files.iter().skip(3).step_by(100).collect();
    let deleted: Vec<&String> = files.iter().skip(51).step_by(100).collect();
    let touched: Vec<&String> = files.iter().skip(77).step_by(200).collect();
    for (i, f) in changed.iter().enumerate() {
        tree::change(&src.join(f), 100 + i as u64);
    }
    for f in &deleted {
        std::fs::remove_file(src.join(f)).unwrap();
    }
    for f in &touched {
        tree::set_mtime(&src.join(f), 1_750_000_000_000_000_001);
    }
    let added: Vec<String> = (0..10).map(|i| format!("new/added {i}.txt")).collect();
    for (i, f) in added.iter().enumerate() {
        tree::write(
            &src.join(f),
            format!("new {i}").as_bytes(),
            0o644,
            1_760_000_000_000_000_000,
        );
    }

    let push = run(&mut ferry_sync(&conf, src_arg, &remote));
    assert!(push.status.success(), "{}", text(&push));
    let s = summary(&push);
    assert_eq!(s.files_transferred, 20, "changed + added: {}", text(&push));
    assert_eq!(s.files_deleted, 10, "{}", text(&push));
    assert_eq!(s.files_updated, 5, "touched: {}", text(&push));
    assert_eq!(s.files_checked, 990);
    assert_eq!(
        s.head_requests, 0,
        "the manifest answers for unchanged objects"
    );

    let after = s3support::block_on(bucket::list(&client, &name, "inc/"));
    let key = |f: &String| format!("inc/{f}");
    let changed_keys: BTreeSet<String> = changed.iter().map(|f| key(f)).collect();
    let touched_keys: BTreeSet<String> = touched.iter().map(|f| key(f)).collect();
    for f in &deleted {
        assert!(!after.contains_key(&key(f)), "{f} should be gone");
    }
    for f in &added {
        assert!(after.contains_key(&key(f)), "{f} should be there");
    }
    let mut untouched = 0;
    for (k, old) in &before {
        let Some(new) = after.get(k) else { continue };
        if changed_keys.contains(k) {
            assert_ne!(old.etag, new.etag, "{k} changed");
        } else if touched_keys.contains(k) {
            assert_eq!(old.etag, new.etag, "{k} only touched");
        } else {
            assert_eq!(old, new, "{k} must not have been rewritten");
            untouched += 1;
        }
    }
    assert_eq!(untouched, 975);
    assert_eq!(after.len(), 1_000);

    let pull = run(&mut ferry_sync(&conf, &remote, mirror_arg));
    assert!(pull.status.success(), "{}", text(&pull));
    let s = summary(&pull);
    assert_eq!(
        (
            s.files_transferred,
            s.files_deleted,
            s.files_updated,
            s.head_requests
        ),
        (20, 10, 5, 0),
        "{}",
        text(&pull)
    );
    tree::assert_same(&tree::snapshot(&src), &tree::snapshot(&mirror));
}
