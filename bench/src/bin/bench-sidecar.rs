//! `make bench-sidecar`: what the injected sidecar container costs, read from its own cgroup
//! on the test node the way `kubectl top` and cAdvisor read it: the working set (usage less
//! the inactive file cache) and CPU, while bound and idle, during the S3 benchmark's case (a)
//! (10,000 files of 1-64 KiB, initial push to MinIO, `copyMethod: Direct`), and idle again
//! after it; plus the cgroup's peak usage during the push and the limit the webhook injected.
//!
//! Ferry is installed with its chart and the images of this build ([`ferry_e2e::ferry`]: the
//! release binaries beside this one). The pod is an ordinary opted-in pod in a restricted
//! namespace; its sidecar is bound to a ReplicationSource with a manual trigger whose value
//! the status already shows, so it binds straight into `WaitingForManual`. Every wait is
//! bounded.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use ferry_e2e::cgroup::{self, ContainerMemory};
use ferry_e2e::replication::manifests::{self, Role};
use ferry_e2e::replication::observe::condition_is;
use ferry_e2e::replication::tree::{self, noise};
use ferry_e2e::replication::{LIMIT, Replication};
use kube::api::{Patch, PatchParams};
use serde_json::json;

/// How long each idle measurement lasts.
const IDLE_WINDOW: Duration = Duration::from_secs(60);
/// How often the idle sidecar is sampled.
const IDLE_SAMPLE: Duration = Duration::from_secs(1);
/// How long the sidecar is left alone once idle before the idle window starts.
const SETTLE: Duration = Duration::from_secs(5);
/// How often the syncing sidecar is sampled.
const SYNC_SAMPLE: Duration = Duration::from_millis(50);
/// The longest the push may take.
const SYNC_LIMIT: Duration = Duration::from_secs(600);
/// Files of case (a) and their sizes.
const FILES: u64 = 10_000;
const MIN_SIZE: u64 = 1024;
const MAX_SIZE: u64 = 64 * 1024;

const CR: &str = "bench";
const POD: &str = "bench";
const IDLE_TOKEN: &str = "idle";
const SYNC_TOKEN: &str = "a";

/// The CPU time of the container, from its cpuacct cgroup (beside its memory cgroup).
fn cpu_seconds(memory: &ContainerMemory) -> anyhow::Result<f64> {
    let dir = PathBuf::from(memory.dir.to_string_lossy().replacen(
        "/sys/fs/cgroup/memory/",
        "/sys/fs/cgroup/cpuacct/",
        1,
    ));
    let path = dir.join("cpuacct.usage");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(text.trim().parse::<u64>()? as f64 / 1e9)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1_048_576.0
}

/// The working set over an idle window, and the CPU it used.
struct Idle {
    median: u64,
    max: u64,
    cpu_seconds: f64,
}

async fn idle(memory: &ContainerMemory) -> anyhow::Result<Idle> {
    tokio::time::sleep(SETTLE).await;
    let cpu0 = cpu_seconds(memory)?;
    let start = Instant::now();
    let mut samples = Vec::new();
    while start.elapsed() < IDLE_WINDOW {
        samples.push(memory.working_set()?);
        tokio::time::sleep(IDLE_SAMPLE).await;
    }
    let cpu_seconds = cpu_seconds(memory)? - cpu0;
    samples.sort_unstable();
    Ok(Idle {
        median: samples[samples.len() / 2],
        max: samples.last().copied().unwrap_or_default(),
        cpu_seconds,
    })
}

/// The push: the largest working set sampled, the cgroup's peak, wall and CPU time.
struct Push {
    working_set_max: u64,
    cgroup_peak: u64,
    samples: usize,
    wall: Duration,
    cpu_seconds: f64,
}

async fn push(fx: &Replication, ns: &str, memory: &ContainerMemory) -> anyhow::Result<Push> {
    memory.reset_peak()?;
    let cpu0 = cpu_seconds(memory)?;
    let start = Instant::now();
    fx.trigger(Role::Source, ns, CR, SYNC_TOKEN).await?;
    let mut working_set_max = 0;
    let mut samples = 0;
    let mut last_poll = Instant::now();
    loop {
        working_set_max = working_set_max.max(memory.working_set()?);
        samples += 1;
        if last_poll.elapsed() >= Duration::from_millis(250) {
            last_poll = Instant::now();
            let status = fx.status(Role::Source, ns, CR).await?;
            if status["lastManualSync"] == SYNC_TOKEN {
                ensure!(
                    status["latestMoverStatus"]["result"] == "Successful",
                    "the push failed: {status:#}"
                );
                break;
            }
        }
        ensure!(
            start.elapsed() < SYNC_LIMIT,
            "the push did not finish within {SYNC_LIMIT:?}"
        );
        tokio::time::sleep(SYNC_SAMPLE).await;
    }
    Ok(Push {
        working_set_max,
        cgroup_peak: memory.peak()?,
        samples,
        wall: start.elapsed(),
        cpu_seconds: cpu_seconds(memory)? - cpu0,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let fx = Replication::start("bench-sidecar").await?;
    let ns = fx.namespace("bench-sidecar", true).await?;
    let data = fx.volume(&ns, "data").await?;
    let mut total = 0u64;
    for i in 0..FILES {
        let size = MIN_SIZE + (i * 7919) % (MAX_SIZE - MIN_SIZE + 1);
        let rel = format!("d{:03}/s{:02}/file-{i:06}.dat", i / 1000, (i / 100) % 10);
        tree::write_file(
            &data,
            &rel,
            &noise(i, usize::try_from(size)?),
            tree::now_secs(),
        )?;
        total += size;
    }
    fx.rclone_secret(&ns, "rclone").await?;
    let bucket = fx.minio.bucket("bench-sidecar").await?;
    let cr = manifests::rclone_source(
        CR,
        "data",
        "rclone",
        &format!("{bucket}/a"),
        "Direct",
        Some(manifests::manual(IDLE_TOKEN)),
    );
    fx.create(&ns, &cr).await?;
    // The trigger's value is already synced: the sidecar binds straight into waiting.
    fx.crs(Role::Source, &ns)
        .patch_status(
            CR,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"lastManualSync": IDLE_TOKEN}})),
        )
        .await?;
    let template = manifests::pod_template("bench", Role::Source, CR, "data");
    let started = Instant::now();
    fx.create_workload(&ns, &manifests::pod(POD, &template))
        .await?;
    let pod = fx.running_pods(&ns, "app=bench", 1).await?.remove(0);
    fx.wait_status(Role::Source, &ns, CR, "WaitingForManual", LIMIT, |s| {
        condition_is(s, "Synchronizing", "False", "WaitingForManual").then_some(())
    })
    .await?;
    let bound = started.elapsed();
    let memory = ContainerMemory::of(fx.cluster, &pod, "ferry-sidecar")?;
    let limit = memory.limit()?;
    cgroup::ensure_limited(limit)?;
    let sidecar = pod
        .spec
        .as_ref()
        .and_then(|s| {
            s.init_containers
                .iter()
                .flatten()
                .chain(s.containers.iter())
                .find(|c| c.name == "ferry-sidecar")
                .cloned()
        })
        .context("no ferry-sidecar container")?;
    let request = sidecar
        .resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("memory"))
        .map(|q| q.0.clone())
        .unwrap_or_default();

    let fresh = idle(&memory).await?;
    let sync = push(&fx, &ns, &memory).await?;
    let after = idle(&memory).await?;
    let now = fx.pods(&ns).get(POD).await?;
    let (restarts, reason) = cgroup::restarts(&now, "ferry-sidecar");
    ensure!(
        restarts == 0,
        "the sidecar restarted {restarts} times ({reason:?})"
    );

    let mut out = String::new();
    let _ = writeln!(
        out,
        "ferry-sidecar container benchmark ({} build): the injected sidecar on the test node, bound to a \
         ReplicationSource (rclone to MinIO, copyMethod Direct, manual trigger); figures from its memory and \
         cpuacct cgroups; one run",
        if cfg!(debug_assertions) {
            "DEBUG (figures not comparable)"
        } else {
            "release"
        }
    );
    let _ = writeln!(
        out,
        "memory request {request}, limit {:.0} MiB (cgroup); bound and waiting {:.1} s after the pod was created; \
         idle windows of {} s sampled every {} s, {} s after it waits; push: {FILES} files of 1-64 KiB ({:.0} MiB), \
         working set sampled every {} ms\n",
        mib(limit),
        bound.as_secs_f64(),
        IDLE_WINDOW.as_secs(),
        IDLE_SAMPLE.as_secs(),
        SETTLE.as_secs(),
        mib(total),
        SYNC_SAMPLE.as_millis()
    );
    let _ = writeln!(out, "| measure | value |\n|---|---|");
    for (label, i) in [("idle, fresh", &fresh), ("idle, after the push", &after)] {
        let _ = writeln!(
            out,
            "| {label}: working set median / max | {:.1} / {:.1} MiB |",
            mib(i.median),
            mib(i.max)
        );
        let _ = writeln!(
            out,
            "| {label}: CPU | {:.2} s over {} s ({:.3}% of one core) |",
            i.cpu_seconds,
            IDLE_WINDOW.as_secs(),
            i.cpu_seconds / IDLE_WINDOW.as_secs_f64() * 100.0
        );
    }
    let _ = writeln!(
        out,
        "| push: working set, largest of {} samples | {:.1} MiB |",
        sync.samples,
        mib(sync.working_set_max)
    );
    let _ = writeln!(
        out,
        "| push: cgroup peak usage (memory.max_usage_in_bytes, page cache included) | {:.1} MiB |",
        mib(sync.cgroup_peak)
    );
    let _ = writeln!(
        out,
        "| push: wall (trigger set to lastManualSync seen) / CPU | {:.2} s / {:.2} s |",
        sync.wall.as_secs_f64(),
        sync.cpu_seconds
    );
    let _ = writeln!(
        out,
        "| push: limit headroom over the working set peak | {:.0}% |",
        (limit as f64 / sync.working_set_max.max(1) as f64 - 1.0) * 100.0
    );
    let _ = writeln!(out, "| container restarts | {restarts} |");
    print!("{out}");
    fx.passed();
    Ok(())
}
