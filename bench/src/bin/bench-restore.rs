//! `make bench-restore`: restore on first start against its peer, the standalone pull.
//! 10,000 files of 1-64 KiB (the S3 benchmark's case (a)) are pushed once to the test
//! cluster's MinIO; then, alternating, `ferry-sidecar restore` (the restore step as the init
//! container `ferry-restore` runs it: read its ReplicationSource and Secret from the
//! apiserver, choose the newest complete copy, pull it into an empty directory, write
//! `status.lastRestore` and an Event) and `ferry-sidecar sync` pulling the same prefix into
//! an empty directory, both with 16 transfers and 16 checkers, both release builds on this
//! machine. It prints each run's wall time, the medians and their ratio (goal: at most
//! 1.2x), and checks that every run restored every file.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use ferry_e2e::Cluster;
use ferry_e2e::replication::tree::{self, noise};
use ferry_e2e::replication::{Minio, Tree};
use serde_json::json;

/// Files, and their sizes.
const FILES: u64 = 10_000;
const MIN_SIZE: u64 = 1024;
const MAX_SIZE: u64 = 64 * 1024;
/// Runs of each side, alternating.
const RUNS: usize = 3;
/// The goal: a restore takes at most this many times the pull.
const GOAL: f64 = 1.2;
/// The CR and the Secret.
const CR: &str = "bench-restore";
const SECRET: &str = "bench-restore";

/// The release binary `name` beside this one.
fn binary(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let path = exe.with_file_name(name);
    ensure!(
        path.exists(),
        "{} is missing: build it with cargo build --release -p ferry-sidecar",
        path.display()
    );
    Ok(path)
}

/// Runs `command` to its end; fails with its output unless it exits 0. Returns its wall time.
fn timed(command: &mut Command) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let out = command
        .output()
        .context("starting the benchmark's process")?;
    let took = start.elapsed();
    ensure!(
        out.status.success(),
        "{command:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(took)
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort_unstable();
    values[values.len() / 2]
}

/// A fresh empty directory `name` below `root`.
fn empty(root: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let dir = root.join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cluster = Cluster::shared();
    let sidecar = binary("ferry-sidecar")?;
    let root = tempfile::tempdir()?;
    let crds = ferry_e2e::cluster::repo_root().join("charts/ferry/crds");
    cluster
        .kubectl(["apply", "-f", &crds.to_string_lossy()])?
        .ok()?;
    let ns = format!("bench-restore-{}", std::process::id());
    cluster.kubectl(["create", "namespace", &ns])?.ok()?;

    // The tree, pushed once by the standalone sync (it stores the manifest that makes the
    // prefix a complete copy).
    let source = empty(root.path(), "source")?;
    let mut total = 0u64;
    for i in 0..FILES {
        let size = MIN_SIZE + (i * 7919) % (MAX_SIZE - MIN_SIZE + 1);
        let rel = format!("d{:03}/s{:02}/file-{i:06}.dat", i / 1000, (i / 100) % 10);
        tree::write_file(
            &source,
            &rel,
            &noise(i, usize::try_from(size)?),
            tree::now_secs(),
        )?;
        total += size;
    }
    let expected = Tree::of(&source)?;
    let minio = Minio::new(cluster)?;
    let bucket = minio.bucket("bench-restore").await?;
    // This machine reaches MinIO at its host endpoint, not the node's.
    let conf = minio
        .rclone_conf()
        .replace(&minio.pod_endpoint, &minio.endpoint);
    let conf_file = root.path().join("rclone.conf");
    std::fs::write(&conf_file, &conf)?;
    let remote = format!("minio:{bucket}/app");
    timed(
        Command::new(&sidecar)
            .args(["sync", &source.to_string_lossy(), &remote, "--config"])
            .arg(&conf_file),
    )?;

    // The source the restore reads, and its Secret.
    let objects = json!([
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": SECRET, "namespace": ns},
            "stringData": {"rclone.conf": conf}},
        {"apiVersion": "replication.ferry.dev/v1alpha1", "kind": "ReplicationSource",
            "metadata": {"name": CR, "namespace": ns},
            "spec": {"sourcePVC": "data", "paused": true, "rclone": {
                "rcloneConfig": SECRET, "rcloneConfigSection": "minio",
                "rcloneDestPath": format!("{bucket}/app"), "copyMethod": "Direct",
                "transfers": 16, "checkers": 16, "restoreOnEmpty": {}}}},
    ]);
    for object in objects.as_array().into_iter().flatten() {
        cluster
            .kubectl_stdin(["apply", "-f", "-"], &object.to_string())?
            .ok()?;
    }

    let mut restores = Vec::new();
    let mut pulls = Vec::new();
    for run in 0..RUNS {
        let into = empty(root.path(), "restored")?;
        let took = timed(
            Command::new(&sidecar)
                .arg("restore")
                .env("KUBECONFIG", &cluster.kubeconfig)
                .env("POD_NAME", format!("bench-{run}"))
                .env("POD_NAMESPACE", &ns)
                .env("POD_UID", format!("bench-{run}"))
                .env("FERRY_ROLE", "source")
                .env("FERRY_OBJECT", CR)
                .env("FERRY_VOLUME", "data")
                .env("FERRY_VOLUME_PATH", &into)
                .env("FERRY_RESTORE", "true")
                .env("FERRY_SCRATCH_DIR", root.path().join("scratch")),
        )?;
        Tree::of(&into)?.ensure_same(
            &expected,
            ferry_e2e::replication::Compare::FERRY_S3,
            "the restore",
        )?;
        restores.push(took);
        let into = empty(root.path(), "pulled")?;
        let took = timed(
            Command::new(&sidecar)
                .args(["sync", &remote, &into.to_string_lossy(), "--config"])
                .arg(&conf_file),
        )?;
        Tree::of(&into)?.ensure_same(
            &expected,
            ferry_e2e::replication::Compare::FERRY_S3,
            "the pull",
        )?;
        pulls.push(took);
        println!(
            "run {}: restore {:.2}s, sync pull {:.2}s",
            run + 1,
            restores[run].as_secs_f64(),
            pulls[run].as_secs_f64()
        );
    }
    let status = cluster
        .kubectl([
            "get",
            "replicationsource",
            CR,
            "-n",
            &ns,
            "-o",
            "jsonpath={.status.lastRestore}",
        ])?
        .ok()?;
    let (restore, pull) = (median(restores), median(pulls));
    let ratio = restore.as_secs_f64() / pull.as_secs_f64();
    println!(
        "\n{FILES} files, {:.1} MiB, release builds, MinIO on this machine\n\
         {:<44} {:>8}\n{:<44} {:>7.2}s\n{:<44} {:>7.2}s\n{:<44} {:>7.2}x (goal <= {GOAL}x)\n\
         status.lastRestore of the last run: {}",
        total as f64 / 1_048_576.0,
        "case",
        "median",
        "ferry-sidecar restore (restore on first start)",
        restore.as_secs_f64(),
        "ferry-sidecar sync (standalone pull)",
        pull.as_secs_f64(),
        "ratio",
        ratio,
        status.stdout
    );
    let _ = cluster.kubectl(["delete", "namespace", &ns, "--wait=false"]);
    ensure!(
        ratio <= GOAL,
        "the restore took {ratio:.2}x the pull, over the goal of {GOAL}x"
    );
    Ok(())
}
