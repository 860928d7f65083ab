//! `make bench-sidecar`: what the `ferry-sidecar run` loop costs (issue 10): its RSS and CPU
//! while bound and idle, and its RSS during the (a) workload of the S3 benchmark (10,000
//! files of 1-64 KiB, initial push), next to the standalone `ferry-sidecar sync` of the
//! same tree.
//!
//! The release `ferry-sidecar run` (which execs `ferry-agent run`, same pid) runs as a local
//! process against the test cluster's
//! apiserver and MinIO, started the way the pod runner starts a container (a private mount
//! namespace holding the pod's kube-api-access files: a token of the namespace's default
//! ServiceAccount, bound to `cluster-admin` in that namespace only, the cluster CA and the
//! namespace; `KUBERNETES_SERVICE_HOST`/`_PORT`), so the client is configured in-cluster as in a
//! pod, not from a kubeconfig. It is bound to a ReplicationSource (`copyMethod: Direct`, `trigger.manual`) in a fresh namespace. Its pod is
//! a Pending pod with no `ferry-sidecar` container, so the pod runner leaves it alone. The
//! PVC it names exists (the sidecar checks the source PVC before every sync, Direct too) but
//! asks for a StorageClass that does not, so it stays Pending and nothing is provisioned: a
//! Direct push reads the local directory given as the volume's mount. `status.lastManualSync` is
//! set to the trigger's value before the sidecar starts, so it binds straight into
//! `WaitingForManual`; the idle window starts a few seconds after that shows.
//!
//! Sequence: generate the tree; start the sidecar; idle for [`IDLE_WINDOW`] (RSS and CPU
//! from `/proc` every second); set `trigger.manual` to "a" and sample RSS every 50 ms until
//! `lastManualSync` is "a" (the sidecar syncs in a child process, `ferry-sidecar engine`: the
//! samples sum the sidecar and its children, and the CPU counts the reaped children); idle again for [`IDLE_WINDOW`] (what a sidecar
//! keeps after a sync); SIGTERM and time the exit; then the standalone `ferry-sidecar sync`
//! of the same tree to another prefix under `/usr/bin/time`. Every wait is bounded.
//!
//! `FERRY_BENCH_SIDECAR_ENV="NAME=value ..."` adds variables to the sidecar's environment
//! (e.g. allocator settings), to try one without a rebuild.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail, ensure};
use ferry_e2e::runner::spawn::{self, Launch, Mount};
use ferry_e2e::{Cluster, TestNamespace};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, Secret};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

/// How long each idle measurement lasts.
const IDLE_WINDOW: Duration = Duration::from_secs(60);
/// How often the idle sidecar is sampled.
const IDLE_SAMPLE: Duration = Duration::from_secs(1);
/// How long the sidecar is left alone once idle before the idle window starts.
const SETTLE: Duration = Duration::from_secs(5);
/// How often the syncing sidecar's RSS is sampled.
const SYNC_SAMPLE: Duration = Duration::from_millis(50);
/// How often the CR is read while waiting for the sync.
const STATUS_POLL: Duration = Duration::from_millis(250);
/// The longest the sync may take.
const SYNC_LIMIT: Duration = Duration::from_secs(600);
/// The longest the sidecar may take to bind and show `WaitingForManual`.
const BIND_LIMIT: Duration = Duration::from_secs(90);
/// The longest the sidecar may take to exit after SIGTERM (its own grace is 20 s).
const STOP_LIMIT: Duration = Duration::from_secs(30);
/// Files of case (a) and their largest size.
const FILES: usize = 10_000;
const MAX_SIZE: usize = 64 * 1024;
/// The goals of issue 10.
const GOAL_IDLE_RSS_MIB: f64 = 15.0;
/// "Idle CPU near zero", read as at most 1% of one core.
const GOAL_IDLE_CPU_PERCENT: f64 = 1.0;

const CR_NAME: &str = "bench";
const POD_NAME: &str = "bench-sidecar";
const CLAIM: &str = "bench-data";
/// The claim's StorageClass, which does not exist: the claim stays Pending, unprovisioned.
const NO_CLASS: &str = "ferry-bench-none";
const SECRET: &str = "bench-rclone";
const SECTION: &str = "minio";
const IDLE_TOKEN: &str = "idle";
const SYNC_TOKEN: &str = "a";

/// The shared test cluster. When its state directory already describes a running control
/// plane (its apiserver answers `/readyz`), that one is used as is, without running
/// `tests/cluster/up`: `up` would replace the running pod runner with the release build next
/// to this binary, and stopping a runner stops the pods it runs, so the e2e tests of a
/// concurrent `make test` would lose their sidecars. This benchmark needs no pod runner.
/// Otherwise [`Cluster::shared`] starts the cluster.
fn cluster() -> anyhow::Result<&'static Cluster> {
    Ok(Cluster::running().unwrap_or_else(Cluster::shared))
}

/// A deterministic generator (SplitMix64): the tree is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Case (a) of the S3 benchmark: `FILES` files of 1 KiB to `MAX_SIZE`, random content,
/// 100 per directory in two levels, mtimes in 2021-2024. Returns the total size.
fn build_tree(root: &Path) -> anyhow::Result<u64> {
    let mut rng = Rng(FILES as u64);
    let mut total = 0u64;
    let mut data = vec![0u8; MAX_SIZE];
    for i in 0..FILES {
        let rel = format!("d{:03}/s{:02}/file-{i:06}.dat", i / 1000, (i / 100) % 10);
        let size = 1024 + usize::try_from(rng.below((MAX_SIZE - 1024 + 1) as u64))?;
        for chunk in data[..size].chunks_mut(8) {
            let word = rng.next().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
        let path = root.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = std::fs::File::create(&path)?;
        file.write_all(&data[..size])?;
        let nanos = if i % 7 == 0 {
            0
        } else {
            rng.below(1_000_000_000)
        };
        let mtime = SystemTime::UNIX_EPOCH
            + Duration::new(
                1_610_000_000 + rng.below(100_000_000),
                u32::try_from(nanos)?,
            );
        file.set_modified(mtime)?;
        total += size as u64;
    }
    Ok(total)
}

/// One reading of a process from `/proc`.
#[derive(Debug, Clone, Copy, Default)]
struct Reading {
    /// `VmRSS`, KiB.
    rss_kib: u64,
    /// `VmHWM`, KiB.
    hwm_kib: u64,
    /// `RssAnon` (heap, stacks), KiB.
    anon_kib: u64,
    /// `RssFile` (mapped files: mostly the binary's own pages), KiB.
    file_kib: u64,
    /// `Threads`.
    threads: u64,
    /// utime + stime, clock ticks.
    cpu_ticks: u64,
    /// cutime + cstime (children waited for), clock ticks.
    children_ticks: u64,
}

fn read_proc(pid: u32) -> anyhow::Result<Reading> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status (did the sidecar exit?)"))?;
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may hold spaces: the
    // state is field 3, utime field 14, stime field 15.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("malformed /proc/<pid>/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| -> anyhow::Result<u64> {
        Ok(fields
            .get(i)
            .context("short /proc/<pid>/stat")?
            .parse::<u64>()?)
    };
    Ok(Reading {
        rss_kib: field("VmRSS:"),
        hwm_kib: field("VmHWM:"),
        anon_kib: field("RssAnon:"),
        file_kib: field("RssFile:"),
        threads: field("Threads:"),
        cpu_ticks: tick(11)? + tick(12)?,
        children_ticks: tick(13)? + tick(14)?,
    })
}

/// The pids of `pid`'s children (from every thread's `children` list).
fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
            out.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    out
}

/// `VmRSS` of `pid` and all its descendants, KiB (a process that ends meanwhile counts 0).
fn tree_rss_kib(pid: u32) -> u64 {
    let own = read_proc(pid).map(|r| r.rss_kib).unwrap_or(0);
    own + children(pid).into_iter().map(tree_rss_kib).sum::<u64>()
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux).
fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The last `lines` lines of the file at `path` (empty if it cannot be read).
fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The sidecar process, killed (and reaped) on drop if still running.
struct Sidecar {
    child: Child,
    log: PathBuf,
}

impl Sidecar {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails with the log tail if the process has exited.
    fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "ferry-sidecar run exited ({status}) early; its log:\n{}",
                self.log_tail(60)
            );
        }
        Ok(())
    }

    fn log_tail(&self, lines: usize) -> String {
        tail(&self.log, lines)
    }

    /// SIGTERM, then waits up to [`STOP_LIMIT`]; SIGKILL after that.
    async fn terminate(&mut self) -> anyhow::Result<(Duration, String)> {
        use nix::sys::signal::{Signal, kill};
        use nix::unistd::Pid;
        let pid = Pid::from_raw(i32::try_from(self.pid())?);
        let started = Instant::now();
        kill(pid, Signal::SIGTERM).context("sending SIGTERM to the sidecar")?;
        while started.elapsed() < STOP_LIMIT {
            if let Some(status) = self.child.try_wait()? {
                return Ok((started.elapsed(), status.to_string()));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        bail!(
            "ferry-sidecar run did not exit within {STOP_LIMIT:?} of SIGTERM; its log:\n{}",
            self.log_tail(40)
        )
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The Synchronizing condition's reason and message, and `lastManualSync`.
fn progress(cr: &DynamicObject) -> (Option<String>, String, Option<String>) {
    let status = cr.data.get("status");
    let condition = status
        .and_then(|s| s.get("conditions"))
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("type").and_then(Value::as_str) == Some("Synchronizing"))
        });
    let text = |v: Option<&Value>, key: &str| {
        v.and_then(|v| v.get(key))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    (
        text(condition, "reason"),
        text(condition, "message").unwrap_or_default(),
        text(status, "lastManualSync"),
    )
}

/// Waits until the sidecar shows `WaitingForManual` with `lastManualSync == token`; fails
/// on an `Error` reason or when the process exits.
async fn wait_idle(
    api: &Api<DynamicObject>,
    sidecar: &mut Sidecar,
    token: &str,
    limit: Duration,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    loop {
        sidecar.check_alive()?;
        let cr = api.get(CR_NAME).await?;
        let (reason, message, last) = progress(&cr);
        match reason.as_deref() {
            Some("WaitingForManual") if last.as_deref() == Some(token) => {
                return Ok(started.elapsed());
            }
            Some("Error") => bail!(
                "the sidecar reports Synchronizing=False, reason Error: {message}\nits log:\n{}",
                sidecar.log_tail(40)
            ),
            _ => {}
        }
        if started.elapsed() > limit {
            bail!(
                "the sidecar did not show WaitingForManual (lastManualSync \"{token}\") within {limit:?}; \
                 condition reason {reason:?} \"{message}\", lastManualSync {last:?}\nits log:\n{}",
                sidecar.log_tail(40)
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What an idle window measured.
struct Idle {
    rss_median_mib: f64,
    rss_max_mib: f64,
    /// `RssAnon` and `RssFile` at the end of the window, MiB.
    anon_mib: f64,
    file_mib: f64,
    threads: u64,
    cpu_seconds: f64,
    window: Duration,
}

impl Idle {
    fn cpu_percent(&self) -> f64 {
        100.0 * self.cpu_seconds / self.window.as_secs_f64()
    }

    fn cpu_per_minute(&self) -> f64 {
        self.cpu_seconds * 60.0 / self.window.as_secs_f64()
    }

    fn goal(&self) -> (bool, bool) {
        (
            self.rss_max_mib <= GOAL_IDLE_RSS_MIB,
            self.cpu_percent() <= GOAL_IDLE_CPU_PERCENT,
        )
    }
}

/// Samples the idle sidecar every [`IDLE_SAMPLE`] for [`IDLE_WINDOW`], after [`SETTLE`];
/// fails if it starts syncing or exits.
async fn measure_idle(
    api: &Api<DynamicObject>,
    sidecar: &mut Sidecar,
    ticks: f64,
) -> anyhow::Result<Idle> {
    tokio::time::sleep(SETTLE).await;
    let pid = sidecar.pid();
    let first = read_proc(pid)?;
    let started = Instant::now();
    // The sidecar and any children (an idle sidecar should have none).
    let mut rss = vec![tree_rss_kib(pid)];
    let mut last = first;
    let mut next = tokio::time::Instant::now();
    while started.elapsed() < IDLE_WINDOW {
        next += IDLE_SAMPLE;
        tokio::time::sleep_until(next).await;
        sidecar.check_alive()?;
        last = read_proc(pid)?;
        rss.push(tree_rss_kib(pid));
    }
    let window = started.elapsed();
    let (reason, message, _) = progress(&api.get(CR_NAME).await?);
    ensure!(
        reason.as_deref() == Some("WaitingForManual"),
        "the sidecar left WaitingForManual during the idle window: {reason:?} \"{message}\""
    );
    rss.sort_unstable();
    Ok(Idle {
        rss_median_mib: mib(rss[rss.len() / 2]),
        rss_max_mib: mib(rss.last().copied().unwrap_or(0)),
        anon_mib: mib(last.anon_kib),
        file_mib: mib(last.file_kib),
        threads: last.threads,
        cpu_seconds: last.cpu_ticks.saturating_sub(first.cpu_ticks) as f64 / ticks,
        window,
    })
}

/// What the sync of case (a) measured.
struct SyncRun {
    wall: Duration,
    /// The larger of the sidecar's `VmHWM` and the largest sample of the sidecar and its
    /// children together.
    peak_mib: f64,
    hwm_mib: f64,
    max_sampled_mib: f64,
    samples: usize,
    cpu_seconds: f64,
    /// The largest sampled RSS of the sidecar's children (the engine process).
    children_mib: f64,
    files: i64,
    bytes: i64,
    after_mib: f64,
}

/// Sets the manual trigger to [`SYNC_TOKEN`] and samples RSS until the sync is recorded.
async fn measure_sync(
    api: &Api<DynamicObject>,
    sidecar: &mut Sidecar,
    ticks: f64,
) -> anyhow::Result<SyncRun> {
    let pid = sidecar.pid();
    let before = read_proc(pid)?;
    let mut max_sampled = before.rss_kib;
    let mut max_children = 0u64;
    let mut samples = 0;
    api.patch(
        CR_NAME,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"trigger": {"manual": SYNC_TOKEN}}})),
    )
    .await?;
    let started = Instant::now();
    let mut polled = Instant::now();
    let mut next = tokio::time::Instant::now();
    let cr = loop {
        next += SYNC_SAMPLE;
        tokio::time::sleep_until(next).await;
        sidecar.check_alive()?;
        let own = read_proc(pid)?.rss_kib;
        let total = tree_rss_kib(pid);
        max_sampled = max_sampled.max(total);
        max_children = max_children.max(total.saturating_sub(own));
        samples += 1;
        if polled.elapsed() >= STATUS_POLL {
            polled = Instant::now();
            let cr = api.get(CR_NAME).await?;
            let (reason, message, last) = progress(&cr);
            if last.as_deref() == Some(SYNC_TOKEN) {
                break cr;
            }
            if reason.as_deref() == Some("Error") {
                bail!(
                    "the sync failed: {message}\nthe sidecar's log:\n{}",
                    sidecar.log_tail(40)
                );
            }
        }
        if started.elapsed() > SYNC_LIMIT {
            bail!(
                "the sync did not finish within {SYNC_LIMIT:?}; the sidecar's log:\n{}",
                sidecar.log_tail(40)
            );
        }
    };
    let wall = started.elapsed();
    let after = read_proc(pid)?;
    let stats = cr
        .data
        .get("status")
        .and_then(|s| s.get("lastSyncStats"))
        .cloned()
        .unwrap_or_default();
    let result = cr
        .data
        .pointer("/status/latestMoverStatus/result")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    ensure!(
        result == "Successful",
        "latestMoverStatus.result is \"{result}\" after the sync"
    );
    Ok(SyncRun {
        wall,
        // The kernel updates VmHWM lazily (on unmap and the like), so a sample may exceed it.
        peak_mib: mib(after.hwm_kib.max(max_sampled)),
        hwm_mib: mib(after.hwm_kib),
        max_sampled_mib: mib(max_sampled),
        samples,
        cpu_seconds: (after.cpu_ticks + after.children_ticks)
            .saturating_sub(before.cpu_ticks + before.children_ticks) as f64
            / ticks,
        children_mib: mib(max_children),
        files: stats
            .get("filesTransferred")
            .and_then(Value::as_i64)
            .unwrap_or(0),
        bytes: stats
            .get("bytesTransferred")
            .and_then(Value::as_i64)
            .unwrap_or(0),
        after_mib: mib(after.rss_kib),
    })
}

/// The standalone `ferry-sidecar sync` of the same tree: (wall, peak RSS MiB, CPU s).
fn standalone_sync(
    sidecar_bin: &Path,
    conf: &Path,
    tree: &Path,
    remote: &str,
) -> anyhow::Result<(Duration, f64, f64)> {
    let mut command = ferry_e2e::gnu_time::command(sidecar_bin);
    command
        .args(["sync", "--stats", "0", "--config"])
        .arg(conf)
        .arg(tree)
        .arg(remote)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command.spawn().context("starting /usr/bin/time")?;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > SYNC_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            bail!("the standalone sync did not finish within {SYNC_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let wall = started.elapsed();
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        std::io::Read::read_to_string(&mut pipe, &mut stderr)?;
    }
    ensure!(
        status.success(),
        "the standalone sync failed ({status}): {stderr}"
    );
    let usage = ferry_e2e::gnu_time::parse(&stderr)
        .with_context(|| format!("no figures from /usr/bin/time: {stderr}"))?;
    Ok((wall, usage.peak_rss_kib as f64 / 1024.0, usage.cpu_seconds))
}

/// Everything the run measured.
struct Report {
    bind: Duration,
    idle: Idle,
    sync: SyncRun,
    idle_after: Idle,
    stop: (Duration, String),
    standalone: Option<(Duration, f64, f64)>,
    tree_bytes: u64,
}

fn yes(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

fn print_report(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "ferry-sidecar run benchmark ({} build): the sidecar as a local process bound to a ReplicationSource \
         (rclone to the test cluster's MinIO, copyMethod Direct, manual trigger); one run",
        if cfg!(debug_assertions) {
            "DEBUG (figures not comparable)"
        } else {
            "release"
        }
    );
    let _ = writeln!(
        out,
        "idle: sampled from /proc every {} s for {} s, starting {} s after the sidecar showed WaitingForManual \
         (bound {:.1} s after start); sync: case (a) of the S3 benchmark, {FILES} files of 1-64 KiB \
         ({:.0} MiB), initial push, VmRSS sampled every {} ms, peak = the larger of VmHWM and the samples",
        IDLE_SAMPLE.as_secs(),
        IDLE_WINDOW.as_secs(),
        SETTLE.as_secs(),
        r.bind.as_secs_f64(),
        mib(r.tree_bytes / 1024),
        SYNC_SAMPLE.as_millis(),
    );
    let extra = extra_env();
    if !extra.is_empty() {
        let pairs: Vec<String> = extra.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = writeln!(
            out,
            "extra environment of the sidecar (FERRY_BENCH_SIDECAR_ENV): {}",
            pairs.join(" ")
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "| measure | value | goal |\n|---|---|---|");
    for (label, idle) in [
        ("idle, fresh", &r.idle),
        ("idle, after the (a) sync", &r.idle_after),
    ] {
        let (rss_ok, cpu_ok) = idle.goal();
        let _ = writeln!(
            out,
            "| {label}: RSS median / max | {:.1} / {:.1} MiB (anon {:.1}, file {:.1}; {} threads) | <= {GOAL_IDLE_RSS_MIB} MiB: {} |",
            idle.rss_median_mib,
            idle.rss_max_mib,
            idle.anon_mib,
            idle.file_mib,
            idle.threads,
            yes(rss_ok)
        );
        let _ = writeln!(
            out,
            "| {label}: CPU | {:.2} s/min ({:.3}% of one core; {:.2} s over {:.0} s) | near zero (<= {GOAL_IDLE_CPU_PERCENT}% of a core): {} |",
            idle.cpu_per_minute(),
            idle.cpu_percent(),
            idle.cpu_seconds,
            idle.window.as_secs_f64(),
            yes(cpu_ok)
        );
    }
    let s = &r.sync;
    let _ = writeln!(
        out,
        "| sync (a) in the sidecar: peak RSS, sidecar + engine process | {:.1} MiB (largest of {} samples {:.1} MiB, of which the engine process {:.1} MiB; sidecar VmHWM {:.1} MiB; {:.1} MiB right after) | report |",
        s.peak_mib, s.samples, s.max_sampled_mib, s.children_mib, s.hwm_mib, s.after_mib
    );
    let _ = writeln!(
        out,
        "| sync (a) in the sidecar: wall (trigger set to lastManualSync seen) | {:.2} s (CPU with the engine process {:.2} s; {} files, {:.0} MiB) | report |",
        s.wall.as_secs_f64(),
        s.cpu_seconds,
        s.files,
        s.bytes as f64 / (1024.0 * 1024.0)
    );
    match r.standalone {
        Some((wall, peak, cpu)) => {
            let _ = writeln!(
                out,
                "| sync (a) standalone `ferry-sidecar sync`: peak RSS / wall | {peak:.1} MiB / {:.2} s (CPU {cpu:.2} s) | comparison |",
                wall.as_secs_f64()
            );
        }
        None => {
            let _ = writeln!(
                out,
                "| sync (a) standalone `ferry-sidecar sync` | not measured | comparison |"
            );
        }
    }
    let _ = writeln!(
        out,
        "| SIGTERM while idle: exit | {} after {:.2} s | clean exit |",
        r.stop.1,
        r.stop.0.as_secs_f64()
    );
    let (rss_ok, cpu_ok) = r.idle.goal();
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "goal (idle RSS <= {GOAL_IDLE_RSS_MIB} MiB, idle CPU near zero), fresh idle: {}; after a sync: {}",
        yes(rss_ok && cpu_ok),
        {
            let (a, b) = r.idle_after.goal();
            yes(a && b)
        }
    );
    let _ = writeln!(
        out,
        "the sidecar's wall time includes the trigger reaching it through the watch and the status write; \
         the machine is shared with other builds, so CPU and wall figures carry their load"
    );
    out
}

/// Creates the bucket for this run.
async fn make_bucket(cluster: &Cluster, name: &str) -> anyhow::Result<aws_sdk_s3::Client> {
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(cluster.var("MINIO_ENDPOINT")?)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            cluster.var("MINIO_ACCESS_KEY")?,
            cluster.var("MINIO_SECRET_KEY")?,
            None,
            None,
            "ferry-bench",
        ))
        .force_path_style(true)
        .build();
    let client = aws_sdk_s3::Client::from_conf(config);
    client
        .create_bucket()
        .bucket(name)
        .send()
        .await
        .with_context(|| format!("creating bucket {name} in the cluster's MinIO"))?;
    Ok(client)
}

/// Deletes every object of the bucket, then the bucket (best effort, bounded).
async fn remove_bucket(client: &aws_sdk_s3::Client, name: &str) -> anyhow::Result<()> {
    use aws_sdk_s3::types::{Delete, ObjectIdentifier};
    let work = async {
        loop {
            let listed = client.list_objects_v2().bucket(name).send().await?;
            let keys: Vec<ObjectIdentifier> = listed
                .contents()
                .iter()
                .filter_map(|o| ObjectIdentifier::builder().key(o.key()?).build().ok())
                .collect();
            if keys.is_empty() {
                break;
            }
            client
                .delete_objects()
                .bucket(name)
                .delete(Delete::builder().set_objects(Some(keys)).build()?)
                .send()
                .await?;
        }
        client.delete_bucket().bucket(name).send().await?;
        anyhow::Ok(())
    };
    tokio::time::timeout(Duration::from_secs(120), work)
        .await
        .context("removing the bucket took over 120 s")?
}

fn rclone_conf(cluster: &Cluster) -> anyhow::Result<String> {
    Ok(format!(
        "[{SECTION}]\ntype = s3\nprovider = Minio\naccess_key_id = {}\nsecret_access_key = {}\n\
         endpoint = {}\nforce_path_style = true\n",
        cluster.var("MINIO_ACCESS_KEY")?,
        cluster.var("MINIO_SECRET_KEY")?,
        cluster.var("MINIO_ENDPOINT")?,
    ))
}

/// The namespace's objects: the rclone Secret, the source PVC (never provisioned), the
/// sidecar's Pending pod and the CR (with `lastManualSync` already at the trigger's value).
async fn create_objects(
    client: &kube::Client,
    ns: &str,
    conf: &str,
    bucket: &str,
) -> anyhow::Result<(Api<DynamicObject>, String)> {
    let secret: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": SECRET, "namespace": ns},
        "stringData": {"rclone.conf": conf},
    }))?;
    Api::<Secret>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &secret)
        .await?;

    let claim: PersistentVolumeClaim = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": CLAIM, "namespace": ns},
        "spec": {"storageClassName": NO_CLASS, "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}}},
    }))?;
    Api::<PersistentVolumeClaim>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &claim)
        .await?;

    // No `ferry-sidecar` container and no node: the pod runner never starts it, and no
    // kubelet exists to; it is there for the sidecar to read (claim, service account).
    let pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": POD_NAME, "namespace": ns, "labels": {"app": "bench-sidecar"}},
        "spec": {
            "automountServiceAccountToken": false,
            "containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10",
                "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": CLAIM}}]},
    }))?;
    let pods = Api::<Pod>::namespaced(client.clone(), ns);
    // A fresh namespace's default ServiceAccount may lag a moment behind it.
    let created = ferry_e2e::wait::eventually(
        Duration::from_secs(30),
        "the bench pod to be created",
        || async {
            match pods.create(&PostParams::default(), &pod).await {
                Ok(created) => Ok(Some(created)),
                Err(kube::Error::Api(e)) if e.code == 403 || e.code == 404 => Ok(None),
                Err(e) => Err(e.into()),
            }
        },
    )
    .await?;
    let uid = created.metadata.uid.context("the created pod has no uid")?;

    let gvk = GroupVersionKind::gvk(ferry_api::GROUP, ferry_api::VERSION, "ReplicationSource");
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), ns, &ApiResource::from_gvk(&gvk));
    let cr: DynamicObject = serde_json::from_value(json!({
        "apiVersion": format!("{}/{}", ferry_api::GROUP, ferry_api::VERSION),
        "kind": "ReplicationSource",
        "metadata": {"name": CR_NAME, "namespace": ns},
        "spec": {
            "sourcePVC": CLAIM,
            "trigger": {"manual": IDLE_TOKEN},
            "rclone": {
                "rcloneConfig": SECRET,
                "rcloneConfigSection": SECTION,
                "rcloneDestPath": format!("{bucket}/bench"),
                "copyMethod": "Direct",
            },
        },
    }))?;
    api.create(&PostParams::default(), &cr).await?;
    api.patch_status(
        CR_NAME,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"lastManualSync": IDLE_TOKEN}})),
    )
    .await?;
    Ok((api, uid))
}

/// Where a pod finds its service account's token, the cluster CA and its namespace.
const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// Writes what a pod's kube-api-access volume holds into `dir`: a token of `ns`'s default
/// ServiceAccount (bound to `cluster-admin` by a RoleBinding, so in `ns` only, which goes with
/// the namespace), the cluster CA from the `kube-root-ca.crt` ConfigMap, and the namespace.
async fn pod_credentials(client: &kube::Client, ns: &str, dir: &Path) -> anyhow::Result<()> {
    use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
    use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
    use k8s_openapi::api::rbac::v1::RoleBinding;
    let binding: RoleBinding = serde_json::from_value(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "bench-sidecar", "namespace": ns},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": ns}],
    }))?;
    Api::<RoleBinding>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &binding)
        .await
        .context("binding the namespace's default ServiceAccount to cluster-admin")?;
    let request = TokenRequest {
        spec: Some(TokenRequestSpec {
            expiration_seconds: Some(3600),
            ..TokenRequestSpec::default()
        }),
        ..TokenRequest::default()
    };
    let token = Api::<ServiceAccount>::namespaced(client.clone(), ns)
        .create_token_request("default", &PostParams::default(), &request)
        .await
        .context("requesting a token for ServiceAccount default")?
        .status
        .and_then(|s| s.token)
        .context("the TokenRequest answer has no token")?;
    let maps = Api::<ConfigMap>::namespaced(client.clone(), ns);
    let ca = ferry_e2e::wait::eventually(
        Duration::from_secs(30),
        "ConfigMap kube-root-ca.crt in the bench namespace",
        || async {
            Ok(maps
                .get_opt("kube-root-ca.crt")
                .await?
                .and_then(|m| m.data?.get("ca.crt").cloned()))
        },
    )
    .await?;
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("token"), token)?;
    std::fs::write(dir.join("ca.crt"), ca)?;
    std::fs::write(dir.join("namespace"), ns)?;
    Ok(())
}

struct Paths {
    sidecar_bin: PathBuf,
    /// The kube-api-access files, mounted at [`SERVICE_ACCOUNT_DIR`] in the sidecar's
    /// namespace.
    credentials: PathBuf,
    tree: PathBuf,
    scratch: PathBuf,
    conf: PathBuf,
    log: PathBuf,
}

async fn run(
    cluster: &'static Cluster,
    ns: &str,
    bucket: &str,
    paths: &Paths,
    tree_bytes: u64,
) -> anyhow::Result<Report> {
    let client = cluster.client().await?;
    let conf = std::fs::read_to_string(&paths.conf)?;
    let (api, uid) = create_objects(&client, ns, &conf, bucket).await?;
    let port = ferry_e2e::webhook::free_port()?;
    let server = cluster.var("FERRY_API_SERVER")?;
    let (api_host, api_port) = server
        .strip_prefix("https://")
        .and_then(|hp| hp.trim_end_matches('/').rsplit_once(':'))
        .with_context(|| format!("FERRY_API_SERVER {server:?} is not https://HOST:PORT"))?;
    pod_credentials(&client, ns, &paths.credentials).await?;
    let mut env: Vec<(String, String)> = [
        ("PATH", std::env::var("PATH").unwrap_or_default()),
        ("HOME", paths.scratch.display().to_string()),
        ("KUBERNETES_SERVICE_HOST", api_host.to_owned()),
        ("KUBERNETES_SERVICE_PORT", api_port.to_owned()),
        ("POD_NAME", POD_NAME.to_owned()),
        ("POD_NAMESPACE", ns.to_owned()),
        ("POD_UID", uid.clone()),
        ("POD_IP", "127.0.0.1".to_owned()),
        ("SERVICE_ACCOUNT", "default".to_owned()),
        ("FERRY_ROLE", "source".to_owned()),
        ("FERRY_OBJECT", CR_NAME.to_owned()),
        ("FERRY_VOLUME", "data".to_owned()),
        ("FERRY_VOLUME_PATH", paths.tree.display().to_string()),
        ("FERRY_SCRATCH_DIR", paths.scratch.display().to_string()),
        ("FERRY_METRICS_PORT", port.to_string()),
        ("RUST_LOG", "info".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    env.extend(extra_env());
    let launch = Launch {
        command: vec![paths.sidecar_bin.display().to_string(), "run".to_owned()],
        env,
        mounts: vec![Mount {
            source: paths.credentials.clone(),
            target: SERVICE_ACCOUNT_DIR.to_owned(),
            read_only: true,
        }],
        working_dir: "/".to_owned(),
        user: None,
    };
    let script = paths.scratch.join("launch.sh");
    std::fs::write(
        &script,
        spawn::script(&launch, "bench-sidecar: ferry-sidecar run"),
    )?;
    let log = std::fs::File::create(&paths.log)?;
    // As the pod runner starts a container: the pid stays the sidecar's through the execs.
    let child = Command::new(spawn::LAUNCHER[0])
        .args(&spawn::LAUNCHER[1..])
        .arg(&script)
        .args(&launch.command)
        .env_clear()
        .envs(launch.env.iter().map(|(k, v)| (k, v)))
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| {
            format!(
                "starting {} through setpriv and unshare",
                paths.sidecar_bin.display()
            )
        })?;
    let mut sidecar = Sidecar {
        child,
        log: paths.log.clone(),
    };
    let ticks = clock_ticks();

    let bind = wait_idle(&api, &mut sidecar, IDLE_TOKEN, BIND_LIMIT).await?;
    eprintln!(
        "bound and idle after {:.1} s; measuring idle for {} s",
        bind.as_secs_f64(),
        IDLE_WINDOW.as_secs()
    );
    let idle = measure_idle(&api, &mut sidecar, ticks).await?;
    eprintln!(
        "idle: RSS median {:.1} MiB, max {:.1} MiB, CPU {:.2} s over {:.0} s; syncing case (a)",
        idle.rss_median_mib,
        idle.rss_max_mib,
        idle.cpu_seconds,
        idle.window.as_secs_f64()
    );
    let sync = measure_sync(&api, &mut sidecar, ticks).await?;
    ensure!(
        sync.files == FILES as i64,
        "the sync transferred {} files, not {FILES}",
        sync.files
    );
    wait_idle(&api, &mut sidecar, SYNC_TOKEN, BIND_LIMIT).await?;
    eprintln!(
        "synced in {:.1} s; measuring idle again for {} s",
        sync.wall.as_secs_f64(),
        IDLE_WINDOW.as_secs()
    );
    let idle_after = measure_idle(&api, &mut sidecar, ticks).await?;
    eprintln!(
        "idle after the sync: RSS median {:.1} MiB, max {:.1} MiB, CPU {:.2} s over {:.0} s",
        idle_after.rss_median_mib,
        idle_after.rss_max_mib,
        idle_after.cpu_seconds,
        idle_after.window.as_secs_f64()
    );
    let metrics = scrape_metrics(port).await;
    let stop = sidecar.terminate().await?;
    ensure!(
        stop.1.contains("exit status: 0"),
        "the sidecar ended with {} after SIGTERM; its log:\n{}",
        stop.1,
        sidecar.log_tail(40)
    );
    match metrics {
        Ok(text) => ensure!(
            text.lines()
                .any(|l| l.starts_with("ferry_syncs_total{") && l.contains("result=\"success\"")),
            "the sidecar's metrics show no successful sync:\n{text}"
        ),
        Err(e) => bail!("the sidecar's metrics endpoint did not answer: {e:#}"),
    }
    eprintln!("running the standalone ferry-sidecar sync of the same tree");
    let standalone = standalone_sync(
        &paths.sidecar_bin,
        &paths.conf,
        &paths.tree,
        &format!("{SECTION}:{bucket}/standalone"),
    )?;
    Ok(Report {
        bind,
        idle,
        sync,
        idle_after,
        stop,
        standalone: Some(standalone),
        tree_bytes,
    })
}

/// `FERRY_BENCH_SIDECAR_ENV`: extra `NAME=value` pairs (space-separated) for the sidecar
/// process, to try a setting without a rebuild (e.g. `MALLOC_ARENA_MAX=2`).
fn extra_env() -> Vec<(String, String)> {
    std::env::var("FERRY_BENCH_SIDECAR_ENV")
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            Some((name.to_owned(), value.to_owned()))
        })
        .collect()
}

/// `GET /metrics` from the sidecar, over a plain HTTP/1.0 connection.
async fn scrape_metrics(port: u16) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let work = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        stream
            .write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .await?;
        let mut body = String::new();
        stream.read_to_string(&mut body).await?;
        anyhow::Ok(body)
    };
    tokio::time::timeout(Duration::from_secs(10), work)
        .await
        .context("the metrics endpoint took over 10 s")?
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sidecar_bin = ferry_e2e::webhook::bin_path("ferry-sidecar")?;
    let cluster = cluster()?;
    let work = tempfile::Builder::new()
        .prefix("ferry-bench-sidecar-")
        .tempdir()?;
    let paths = Paths {
        sidecar_bin,
        credentials: work.path().join("kube-api-access"),
        tree: work.path().join("volume"),
        scratch: work.path().join("scratch"),
        conf: work.path().join("rclone.conf"),
        log: work.path().join("sidecar.log"),
    };
    std::fs::create_dir_all(&paths.scratch)?;
    std::fs::write(&paths.conf, rclone_conf(cluster)?)?;
    eprintln!(
        "generating case (a): {FILES} files in {}",
        paths.tree.display()
    );
    let tree_bytes = build_tree(&paths.tree)?;

    let bucket = format!("bench-sidecar-{}", std::process::id());
    let s3 = make_bucket(cluster, &bucket).await?;
    let namespace = TestNamespace::create(cluster, "bench-sidecar", &[])?;
    let result = run(cluster, &namespace.name, &bucket, &paths, tree_bytes).await;
    if result.is_err() {
        let events = cluster
            .kubectl(["get", "events", "-n", namespace.name.as_str()])
            .map(|o| o.stdout)
            .unwrap_or_default();
        eprintln!(
            "events of namespace {}:\n{events}\nthe sidecar's log tail:\n{}",
            namespace.name,
            tail(&paths.log, 40)
        );
    }
    // The namespace (pod, CR, Secret, Lease, Events) goes with `namespace`'s drop.
    drop(namespace);
    if let Err(e) = remove_bucket(&s3, &bucket).await {
        eprintln!("warning: bucket {bucket} not removed: {e:#}");
    }
    let report = result?;
    print!("{}", print_report(&report));
    Ok(())
}
