//! Running one sync under `/usr/bin/time`, counting MinIO's requests and CPU time around
//! it, and printing the results.
//!
//! MinIO's CPU seconds over a run (user + system, from `/proc/PID/stat`) show what a
//! request form costs the server: on a machine where the server and the client share the
//! cores, every CPU second either saves shows in the wall time, and unlike the wall time
//! the figure hardly moves with other load.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::s3support::{self, minio::Minio};

/// Who syncs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    /// `ferry-sidecar sync` with its defaults.
    Ferry,
    /// `rclone sync` with its defaults.
    RcloneDefault,
    /// `rclone sync --transfers 32 --checkers 32`.
    RcloneTuned,
    /// The floor client ([`crate::floor`]) with this many requests in flight.
    Floor(u16),
}

impl Tool {
    pub fn slug(self) -> &'static str {
        match self {
            Tool::Ferry => "ferry",
            Tool::RcloneDefault => "rclone",
            Tool::RcloneTuned => "rclone32",
            Tool::Floor(_) => "floor",
        }
    }
    pub fn label(self) -> String {
        match self {
            Tool::Ferry => "ferry-sidecar".into(),
            Tool::RcloneDefault => "rclone default".into(),
            Tool::RcloneTuned => "rclone 32/32".into(),
            Tool::Floor(n) => format!("floor ({n} in flight)"),
        }
    }
}

/// One run's figures.
#[derive(Clone, Debug)]
pub struct Sample {
    pub tool: Tool,
    pub wall: Duration,
    /// User + system CPU time of the client.
    pub cpu: Duration,
    /// User + system CPU time MinIO spent during the run.
    pub server_cpu: Duration,
    pub rss_kib: u64,
    pub requests: std::collections::BTreeMap<String, u64>,
    /// The requests Ferry's own summary reports (`S3 requests N`), to set beside MinIO's.
    pub reported: Option<u64>,
}

impl Sample {
    pub fn total_requests(&self) -> u64 {
        self.requests.values().sum()
    }
    fn breakdown(&self) -> String {
        let get = |k: &str| self.requests.get(k).copied().unwrap_or(0);
        let put = get("PutObject")
            + get("PutObjectPart")
            + get("NewMultipartUpload")
            + get("CompleteMultipartUpload");
        let other = self.total_requests()
            - put
            - get("GetObject")
            - get("HeadObject")
            - get("ListObjectsV2")
            - get("ListObjectsV1");
        format!(
            "{} (put {} head {} list {} get {} other {})",
            self.total_requests(),
            put,
            get("HeadObject"),
            get("ListObjectsV2") + get("ListObjectsV1"),
            get("GetObject"),
            other
        )
    }
}

/// `rclone version`'s first line.
pub fn rclone_version() -> String {
    let out = Command::new(s3support::rclone_bin())
        .arg("version")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or("rclone")
        .to_owned()
}

/// The command that runs `program` measured: under `/usr/bin/time`, and, with
/// `FERRY_BENCH_PERF=DIR`, under `perf record` too (a flat profile per run in
/// `DIR/<tool>-<n>.data`, for `perf report --no-children -i ...`). Profiled runs are slower
/// and their memory figure is perf's: they are for finding where the time goes, not for the
/// figures.
fn measured(tool: Tool, program: impl AsRef<std::ffi::OsStr>) -> Command {
    let Ok(dir) = std::env::var("FERRY_BENCH_PERF") else {
        return ferry_e2e::gnu_time::command(program);
    };
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = ferry_e2e::gnu_time::command("perf");
    cmd.args(["record", "-q", "-F", "1999", "-o"])
        .arg(Path::new(&dir).join(format!("{}-{n}.data", tool.slug())))
        .arg("--")
        .arg(program);
    cmd
}

/// The longest one run may take: rclone's push of the million-file case took more than 30
/// minutes on 2 loaded cores.
const RUN_LIMIT: Duration = Duration::from_secs(3600);

/// Syncs `src` to `remote` (`minio:BUCKET/PREFIX`) with `tool`, measured.
pub fn run(tool: Tool, minio: &Minio, conf: &Path, src: &Path, remote: &str) -> Sample {
    let mut cmd = match tool {
        Tool::Ferry => {
            let mut cmd = measured(tool, s3support::ferry_bin());
            cmd.args(["sync", "--stats", "0", "--config"])
                .arg(conf)
                .arg(src)
                .arg(remote);
            cmd
        }
        Tool::RcloneDefault | Tool::RcloneTuned => {
            let mut cmd = measured(tool, s3support::rclone_bin());
            cmd.args(["sync", "-q", "--config"]).arg(conf);
            if tool == Tool::RcloneTuned {
                cmd.args(["--transfers", "32", "--checkers", "32"]);
            }
            cmd.arg(src).arg(remote);
            cmd
        }
        Tool::Floor(n) => {
            let (bucket, prefix) = remote.trim_start_matches("minio:").split_once('/').unwrap();
            let mut cmd = measured(tool, std::env::current_exe().unwrap());
            cmd.arg("floor")
                .arg(conf)
                .arg(src)
                .args([bucket, prefix, &n.to_string()]);
            cmd
        }
    };
    cmd.env_remove("RUST_LOG");
    let before = minio.requests();
    let server_before = cpu_of(minio.pid);
    let started = Instant::now();
    let out = s3support::run_within(&mut cmd, RUN_LIMIT);
    let wall = started.elapsed();
    let server_cpu = cpu_of(minio.pid).saturating_sub(server_before);
    let after = minio.requests();
    assert!(
        out.status.success(),
        "{tool:?} failed: {}",
        s3support::text(&out)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let usage = ferry_e2e::gnu_time::parse(&stderr)
        .unwrap_or_else(|| panic!("{tool:?}: no figures from /usr/bin/time:\n{stderr}"));
    let rss_kib = usage.peak_rss_kib;
    let cpu = Duration::from_secs_f64(usage.cpu_seconds);
    let reported = (tool == Tool::Ferry)
        .then(|| {
            String::from_utf8_lossy(&out.stdout)
                .split("S3 requests ")
                .nth(1)
                .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|n| n.parse().ok())
        })
        .flatten();
    let requests = after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, v)| *v > 0)
        .collect();
    Sample {
        tool,
        wall,
        cpu,
        server_cpu,
        rss_kib,
        requests,
        reported,
    }
}

/// User + system CPU time of process `pid` so far (fields 14 and 15 of `/proc/PID/stat`,
/// in clock ticks).
fn cpu_of(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The command name (field 2) may hold spaces; the fields after it do not.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_secs_f64(ticks as f64 / clock_ticks() as f64)
}

/// Clock ticks per second (`getconf CLK_TCK`).
fn clock_ticks() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        let out = Command::new("getconf").arg("CLK_TCK").output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    })
}

/// Prints one case's rows.
pub fn print_case(label: &str, samples: &[Sample]) {
    println!("\n{label}");
    println!(
        "  {:<20} {:>9} {:>9} {:>10} {:>10}  S3 requests",
        "tool", "wall", "CPU", "MinIO CPU", "peak RSS"
    );
    for s in samples {
        println!(
            "  {:<20} {:>8.2}s {:>8.2}s {:>9.2}s {:>6} MiB  {}",
            s.tool.label(),
            s.wall.as_secs_f64(),
            s.cpu.as_secs_f64(),
            s.server_cpu.as_secs_f64(),
            s.rss_kib / 1024,
            s.breakdown()
        );
        if let Some(reported) = s.reported {
            println!(
                "  {:<20} reports {reported} S3 requests itself; MinIO counted {}",
                "",
                s.total_requests()
            );
        }
    }
}

/// Prints rclone/ferry ratios per case against the goals of issue 25, and how much of the
/// floor's throughput Ferry reaches (floor wall / Ferry wall) where a floor ran.
pub fn print_ratios(rows: &[(String, Vec<Sample>)]) {
    println!(
        "\nRatios (rclone / ferry; above 1 means Ferry is faster, leaner or sends fewer requests):"
    );
    println!(
        "  {:<5} {:<15} {:>8} {:>10} {:>9}  goal",
        "case", "vs", "wall", "requests", "RSS"
    );
    let goals = [
        ("a", "wall >= 2.5x default, >= 1.5x tuned"),
        ("b", "wall >= 5x"),
        ("c", "wall >= 2x"),
        ("d", "wall >= 1.0x, RSS >= 1.0x"),
        ("e", "wall >= 2.5x, RSS >= 1.67x (ferry <= 0.6x rclone)"),
        ("f", "wall >= 1.0x (crypt, issue 24)"),
    ];
    for (label, samples) in rows {
        let goal = goals
            .iter()
            .find(|(c, _)| label.starts_with(*c))
            .map_or("", |(_, g)| g);
        let ferry = &samples[0];
        for other in samples[1..]
            .iter()
            .filter(|s| !matches!(s.tool, Tool::Floor(_)))
        {
            println!(
                "  ({label}) {:<15} {:>7.2}x {:>9.2}x {:>8.2}x  {goal}",
                other.tool.label(),
                other.wall.as_secs_f64() / ferry.wall.as_secs_f64().max(1e-3),
                other.total_requests() as f64 / ferry.total_requests().max(1) as f64,
                other.rss_kib as f64 / ferry.rss_kib.max(1) as f64,
            );
        }
    }
    println!(
        "\nFerry against the floor (floor wall / Ferry wall = the share of the floor's throughput Ferry reaches; goal for (a) >= 0.85):"
    );
    for (label, samples) in rows {
        let ferry = &samples[0];
        if let Some(floor) = samples.iter().find(|s| matches!(s.tool, Tool::Floor(_))) {
            println!(
                "  ({label}) {:<24} ferry {:>7.2}s  floor {:>7.2}s  ferry reaches {:.2} of the floor",
                floor.tool.label(),
                ferry.wall.as_secs_f64(),
                floor.wall.as_secs_f64(),
                floor.wall.as_secs_f64() / ferry.wall.as_secs_f64().max(1e-3),
            );
            println!(
                "  {:<29} CPU client + MinIO: ferry {:.2}s + {:.2}s, floor {:.2}s + {:.2}s",
                "",
                ferry.cpu.as_secs_f64(),
                ferry.server_cpu.as_secs_f64(),
                floor.cpu.as_secs_f64(),
                floor.server_cpu.as_secs_f64(),
            );
        }
    }
}
