//! `make bench-s3`: ferry-sidecar sync against rclone (defaults, and `--transfers 32
//! --checkers 32`), one after the other on the same MinIO (tmpfs) and the same trees, in one
//! run: wall time, S3 requests (MinIO's own per-API counters) and peak RSS
//! (`/usr/bin/time -f %M`), for the cases of issue 8:
//!
//! - (a) 10,000 files of 1-64 KiB, initial push;
//! - (b) a no-change re-sync of (a);
//! - (c) the same after 1% of the files changed;
//! - (d) 4 files of 256 MiB, initial push;
//! - (e) a 100,000-file tree, initial push (peak RSS);
//! - (f) (a) through an rclone crypt remote, both tools with the same section ([`crypt`]).
//!
//! `FERRY_BENCH_E_FILES` shrinks (e) for a quick look; `FERRY_BENCH_CASES=abcd` picks cases
//! (`FERRY_BENCH_CASES=f` runs only the crypt case).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../tests/s3support/mod.rs"]
mod s3support;

mod crypt;
mod measure;

use std::path::{Path, PathBuf};

use measure::{Sample, Tool};
use s3support::{bucket, minio, tree};

fn main() {
    let cases = std::env::var("FERRY_BENCH_CASES").unwrap_or_else(|_| "abcdef".into());
    let e_files: usize = std::env::var("FERRY_BENCH_E_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let shm = Path::new("/dev/shm");
    let minio = minio::start_at(shm.is_dir().then(|| shm.to_path_buf()));
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("ferry-s3-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let conf = s3support::write_rclone_conf(
        &work,
        "minio",
        &minio.endpoint,
        &minio.access,
        &minio.secret,
    );
    let client = bucket::client(&minio, &minio.endpoint);
    let name = s3support::block_on(bucket::create(&client, "bench"));
    let tools = [Tool::Ferry, Tool::RcloneDefault, Tool::RcloneTuned];
    let version = measure::rclone_version();
    println!(
        "S3 sync benchmark: ferry-sidecar (release) vs {version}, same MinIO on loopback (data on tmpfs); one run per tool per case, tools in turn."
    );
    let mut rows: Vec<(String, Vec<Sample>)> = Vec::new();
    // `id` names the case in the ratios; `prefix` is the remote prefix each tool syncs to.
    let run_case =
        |id: &str, label: &str, src: &Path, prefix: &str, rows: &mut Vec<(String, Vec<Sample>)>| {
            let samples: Vec<Sample> = tools
                .iter()
                .map(|tool| {
                    let remote = format!("minio:{name}/{}-{prefix}", tool.slug());
                    measure::run(*tool, &minio, &conf, src, &remote)
                })
                .collect();
            measure::print_case(label, &samples);
            rows.push((id.to_owned(), samples));
        };

    let small = work.join("small");
    if cases.contains('a') || cases.contains('b') || cases.contains('c') {
        let files = build_small(&small, 10_000, 64 * 1024);
        run_case(
            "a",
            "(a) 10,000 files of 1-64 KiB, initial push",
            &small,
            "a",
            &mut rows,
        );
        run_case("b", "(b) no-change re-sync of (a)", &small, "a", &mut rows);
        for (i, f) in files.iter().step_by(100).enumerate() {
            tree::change(&small.join(f), 9_000 + i as u64);
        }
        run_case("c", "(c) 1% of (a) changed", &small, "a", &mut rows);
        let _ = std::fs::remove_dir_all(&small);
    }
    if cases.contains('d') {
        let big = work.join("big");
        for i in 0..4 {
            tree::big_file(
                &big.join(format!("file{i}.bin")),
                50 + i,
                256 << 20,
                1_700_000_000_000_000_000,
            );
        }
        run_case(
            "d",
            "(d) 4 files of 256 MiB, initial push",
            &big,
            "d",
            &mut rows,
        );
        let _ = std::fs::remove_dir_all(&big);
    }
    if cases.contains('e') {
        let huge = work.join("huge");
        build_small(&huge, e_files, 2 * 1024);
        run_case(
            "e",
            &format!("(e) {e_files} files of 1-2 KiB, initial push"),
            &huge,
            "e",
            &mut rows,
        );
        let _ = std::fs::remove_dir_all(&huge);
    }
    if cases.contains('f') {
        crypt::case(&minio, &conf, &name, &tools, &work, &mut rows);
    }
    measure::print_ratios(&rows);
    let _ = std::fs::remove_dir_all(&work);
    minio.stop();
}

/// `count` files of 1..max bytes, 100 per directory, in two levels.
fn build_small(root: &Path, count: usize, max: usize) -> Vec<String> {
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};
    let mut rng = StdRng::seed_from_u64(count as u64);
    let mut paths = Vec::with_capacity(count);
    for i in 0..count {
        let rel = format!("d{:03}/s{:02}/file-{i:06}.dat", i / 1000, (i / 100) % 10);
        let size = rng.random_range(1024..=max.max(1025));
        let data = tree::bytes(&mut rng, size);
        tree::write(&root.join(&rel), &data, 0o644, tree::mtime(&mut rng, i));
        paths.push(rel);
    }
    paths
}
