//! `make bench-s3`: ferry-sidecar sync against rclone (defaults, and `--transfers 32
//! --checkers 32`), one after the other on the same MinIO (tmpfs) and the same trees, in one
//! run: wall time, S3 requests (MinIO's own per-API counters) and peak RSS
//! (`/usr/bin/time -f %M`), for the cases of issue 8:
//!
//! - (a) 10,000 files of 1-64 KiB, initial push;
//! - (b) a no-change re-sync of (a);
//! - (c) the same after 1% of the files changed;
//! - (d) 4 files of 256 MiB, initial push;
//! - (e) a 100,000-file tree of 1-2 KiB, initial push;
//! - (h) with `FERRY_BENCH_HUGE=1` only: 1,000,000 files of 1 KiB, initial push and a
//!   no-change re-sync, Ferry against rclone default (about 10 GB of disk and tmpfs);
//! - (f) (a) through an rclone crypt remote, both tools with the same section ([`crypt`]).
//!
//! For (a), (d) and (e) the floor client ([`floor`]) stores the same objects with the same
//! client setup and nothing else, at each concurrency of `FERRY_BENCH_FLOOR` (default
//! `8,16,32,64`); the fastest is the floor Ferry is measured against.
//!
//! `FERRY_BENCH_E_FILES` shrinks (e) and `FERRY_BENCH_HUGE_FILES` (h) for a quick look;
//! `FERRY_BENCH_CASES=abcd` picks cases
//! (`FERRY_BENCH_CASES=f` runs only the crypt case; `x` runs none of the default ones).
//! `FERRY_BENCH_PERF=DIR` records a `perf` profile of every run into DIR (see
//! [`measure`]); its figures are then not the tools' own.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../tests/s3support/mod.rs"]
mod s3support;

mod crypt;
mod floor;
mod measure;

use std::path::{Path, PathBuf};

use measure::{Sample, Tool};
use s3support::{bucket, minio, tree};

fn main() {
    if floor::child() {
        return;
    }
    let cases = std::env::var("FERRY_BENCH_CASES").unwrap_or_else(|_| "abcdef".into());
    let e_files: usize = std::env::var("FERRY_BENCH_E_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let shm = Path::new("/dev/shm");
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("ferry-s3-bench-{}", std::process::id()));
    let (minio, conf, name) = serve(shm.is_dir().then(|| shm.to_path_buf()), &work, "bench");
    let tools = [Tool::Ferry, Tool::RcloneDefault, Tool::RcloneTuned];
    let floors: Vec<u16> = std::env::var("FERRY_BENCH_FLOOR")
        .unwrap_or_else(|_| "8,16,32,64".into())
        .split(',')
        .map(|n| {
            n.trim()
                .parse()
                .expect("FERRY_BENCH_FLOOR: numbers, e.g. 8,16,32")
        })
        .collect();
    let version = measure::rclone_version();
    println!(
        "S3 sync benchmark: ferry-sidecar (release) vs {version}, same MinIO on loopback (data on tmpfs); one run per tool per case, tools in turn."
    );
    let mut rows: Vec<(String, Vec<Sample>)> = Vec::new();
    // `id` names the case in the ratios; `prefix` is the remote prefix each tool syncs to;
    // `runs` who syncs, Ferry first; of the floor's trials only the fastest is kept.
    let with_floor: Vec<Tool> = tools
        .iter()
        .copied()
        .chain(floors.iter().map(|n| Tool::Floor(*n)))
        .collect();
    let run_case = |id: &str,
                    label: &str,
                    src: &Path,
                    prefix: &str,
                    runs: &[Tool],
                    rows: &mut Vec<(String, Vec<Sample>)>| {
        let samples: Vec<Sample> = runs
            .iter()
            .copied()
            .map(|tool| {
                let slug = match tool {
                    Tool::Floor(n) => format!("floor{n}"),
                    _ => tool.slug().to_owned(),
                };
                let remote = format!("minio:{name}/{slug}-{prefix}");
                let sample = measure::run(tool, &minio, &conf, src, &remote);
                // Each run as it ends, so a later run that fails leaves the earlier figures.
                eprintln!("{id} {}: {sample:?}", tool.label());
                sample
            })
            .collect();
        measure::print_case(label, &samples);
        let (mut kept, floor): (Vec<Sample>, Vec<Sample>) = samples
            .into_iter()
            .partition(|s| !matches!(s.tool, Tool::Floor(_)));
        kept.extend(floor.into_iter().min_by_key(|s| s.wall));
        rows.push((id.to_owned(), kept));
    };

    let small = work.join("small");
    if cases.contains('a') || cases.contains('b') || cases.contains('c') {
        let files = build_small(&small, 10_000, 64 * 1024);
        run_case(
            "a",
            "(a) 10,000 files of 1-64 KiB, initial push",
            &small,
            "a",
            &with_floor,
            &mut rows,
        );
        run_case(
            "b",
            "(b) no-change re-sync of (a)",
            &small,
            "a",
            &tools,
            &mut rows,
        );
        for (i, f) in files.iter().step_by(100).enumerate() {
            tree::change(&small.join(f), 9_000 + i as u64);
        }
        run_case("c", "(c) 1% of (a) changed", &small, "a", &tools, &mut rows);
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
            &with_floor,
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
            &with_floor,
            &mut rows,
        );
        let _ = std::fs::remove_dir_all(&huge);
    }
    if cases.contains('f') {
        crypt::case(&minio, &conf, &name, &tools, &work, &mut rows);
    }
    if std::env::var("FERRY_BENCH_HUGE").as_deref() == Ok("1") {
        let h_files: usize = std::env::var("FERRY_BENCH_HUGE_FILES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000);
        let million = work.join("million");
        build_small(&million, h_files, 1024);
        huge_case(shm, &work, &million, h_files, &mut rows);
        let _ = std::fs::remove_dir_all(&million);
    }
    measure::print_ratios(&rows);
    let _ = std::fs::remove_dir_all(&work);
    minio.stop();
}

/// A MinIO with its data below `root` (see [`minio::start_at`]), an rclone.conf for it
/// (section `minio`) in `dir`, and a new bucket named after `bucket`.
fn serve(root: Option<PathBuf>, dir: &Path, bucket: &str) -> (minio::Minio, PathBuf, String) {
    let minio = minio::start_at(root);
    std::fs::create_dir_all(dir).unwrap();
    let conf =
        s3support::write_rclone_conf(dir, "minio", &minio.endpoint, &minio.access, &minio.secret);
    let client = bucket::client(&minio, &minio.endpoint);
    let name = s3support::block_on(bucket::create(&client, bucket));
    (minio, conf, name)
}

/// (h) and (h2): each tool pushes the million-file tree and re-syncs it on a MinIO of its
/// own, started empty and deleted after the tool's re-sync. Two copies of a million objects
/// do not fit MinIO's tmpfs next to each other (the second push failed with
/// `XMinioStorageFull`), and an empty server is the same start for both tools.
fn huge_case(
    shm: &Path,
    work: &Path,
    tree: &Path,
    files: usize,
    rows: &mut Vec<(String, Vec<Sample>)>,
) {
    let mut push = Vec::new();
    let mut resync = Vec::new();
    for tool in [Tool::Ferry, Tool::RcloneDefault] {
        let (minio, conf, name) = serve(
            shm.is_dir().then(|| shm.join("ferry-s3-huge")),
            &work.join(format!("huge-{}", tool.slug())),
            "huge",
        );
        let remote = format!("minio:{name}/h");
        for (id, out) in [("h", &mut push), ("h2", &mut resync)] {
            let sample = measure::run(tool, &minio, &conf, tree, &remote);
            eprintln!("{id} {}: {sample:?}", tool.label());
            out.push(sample);
        }
        minio.stop();
    }
    for (id, label, samples) in [
        (
            "h",
            format!("(h) {files} files of 1 KiB, initial push"),
            push,
        ),
        ("h2", "(h2) no-change re-sync of (h)".to_owned(), resync),
    ] {
        measure::print_case(&label, &samples);
        rows.push((id.to_owned(), samples));
    }
}

/// `count` files of 1..max bytes, 100 per directory, in two levels.
fn build_small(root: &Path, count: usize, max: usize) -> Vec<String> {
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};
    let mut rng = StdRng::seed_from_u64(count as u64);
    let mut paths = Vec::with_capacity(count);
    for i in 0..count {
        let rel = format!("d{:03}/s{:02}/file-{i:06}.dat", i / 1000, (i / 100) % 10);
        let size = if max <= 1024 {
            1024
        } else {
            rng.random_range(1024..=max)
        };
        let data = tree::bytes(&mut rng, size);
        tree::write(&root.join(&rel), &data, 0o644, tree::mtime(&mut rng, i));
        paths.push(rel);
    }
    paths
}
