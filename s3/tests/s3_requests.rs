//! The S3 requests a sync reports (issue 24), against the real MinIO behind the counting
//! proxy: the summary's counts by kind are the requests the proxy saw, for a first push
//! with a multipart upload, a no-change re-sync (a few listings and the manifest: no
//! request per file), a pull, and a timestamped push that prunes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod s3support;

use std::sync::atomic::Ordering;

use s3support::proxy::{Counters, Proxy};
use s3support::{Fixture, minio, run, summary, text, tree};

const MTIME: i64 = 1_700_000_000_000_000_000;

/// Asserts that the summary's counts are the proxy's, by HTTP method where the proxy
/// tells kinds apart (it sees methods: every listing and read is a GET, every write of a
/// body a PUT), and zeroes the proxy.
fn same_as_proxy(what: &str, got: &s3support::Requests, proxy: &Counters) {
    let n = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::SeqCst);
    let seen = format!(
        "{what}: reported {got:?}, the proxy saw {} (GET {} + list {}, HEAD {}, PUT {}, POST {}, DELETE {})",
        n(&proxy.requests),
        n(&proxy.get),
        n(&proxy.list),
        n(&proxy.head),
        n(&proxy.put),
        n(&proxy.post),
        n(&proxy.delete)
    );
    assert_eq!(got.total, n(&proxy.requests), "{seen}");
    let kinds = got.list + got.head + got.get + got.put + got.part + got.copy + got.delete;
    assert_eq!(got.total, kinds + got.other, "{seen}");
    assert_eq!(got.list + got.get, n(&proxy.list) + n(&proxy.get), "{seen}");
    assert_eq!(got.head, n(&proxy.head), "{seen}");
    proxy.reset_counts();
}

#[test]
fn the_reported_requests_are_the_ones_the_server_saw() {
    let fx = Fixture::new("requests");
    let minio = minio::shared();
    let proxy = Proxy::start(minio.port, None);
    let conf = std::fs::read_to_string(&fx.conf)
        .unwrap()
        .replace(&minio.endpoint, &proxy.endpoint);
    std::fs::write(&fx.conf, conf).unwrap();
    let src = fx.work.path().join("src");
    for i in 0..300 {
        tree::write(
            &src.join(format!("d{}/f{i}.txt", i % 7)),
            format!("file {i}").as_bytes(),
            0o644,
            MTIME + i,
        );
    }
    // Above the 16 MiB cutoff: a multipart upload.
    tree::big_file(&src.join("big.bin"), 3, 20 << 20, MTIME);
    let remote = format!("minio:{}/data", fx.bucket);
    let sync = |src: &str, dst: &str, extra: &[&str]| {
        let out = run(s3support::ferry_sync(&fx.conf, src, dst).args(extra));
        assert!(out.status.success(), "{}", text(&out));
        summary(&out)
    };
    let src_arg = src.to_str().unwrap();

    let first = sync(src_arg, &remote, &[]);
    assert_eq!(first.files_transferred, 301);
    assert_eq!(
        first.requests.put,
        300 + 7 + 2 + 1,
        "300 files, 7 directory markers, create and complete, the manifest: {:?}",
        first.requests
    );
    assert_eq!(
        first.requests.part, 3,
        "20 MiB in 8 MiB parts: {:?}",
        first.requests
    );
    same_as_proxy("first push", &first.requests, &proxy.counters);

    let again = sync(src_arg, &remote, &[]);
    assert_eq!(again.files_transferred, 0);
    assert!(
        again.requests.total <= 10 && again.requests.head == 0 && again.requests.put <= 1,
        "a no-change re-sync costs listings and the manifest, not a request per file: {:?}",
        again.requests
    );
    same_as_proxy("no-change re-sync", &again.requests, &proxy.counters);

    let restored = fx.work.path().join("restored");
    let pull = sync(&remote, restored.to_str().unwrap(), &[]);
    assert_eq!(pull.files_transferred, 301);
    assert!(pull.requests.get >= 301, "{:?}", pull.requests);
    same_as_proxy("pull", &pull.requests, &proxy.counters);

    let stamped = format!("minio:{}/stamped", fx.bucket);
    sync(src_arg, &stamped, &["--timestamp-prefix", "--retain", "1"]);
    proxy.counters.reset_counts();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let pruning = sync(src_arg, &stamped, &["--timestamp-prefix", "--retain", "1"]);
    assert!(pruning.requests.delete >= 1, "{:?}", pruning.requests);
    same_as_proxy("a push that prunes", &pruning.requests, &proxy.counters);

    // `--stats`: the status line shows the requests sent so far (1 MiB/s keeps the 2 MiB
    // push going long enough for a few lines).
    let slow = fx.work.path().join("slow");
    tree::big_file(&slow.join("two-mib"), 9, 2 << 20, MTIME);
    let out = run(std::process::Command::new(s3support::ferry_bin())
        .args(["sync", "--stats", "200ms", "--bwlimit", "1M", "--config"])
        .arg(&fx.conf)
        .arg(&slow)
        .arg(format!("minio:{}/slow", fx.bucket))
        .env_remove("RUST_LOG"));
    assert!(out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("ferry sync: ") && l.contains(", S3 requests ")),
        "{}",
        text(&out)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("; S3 requests "), "{}", text(&out));
}
