//! CPU and wall-clock accounting. The client (rsync plus the transport it waits for) and
//! the transport alone are measured with `getrusage`, to the microsecond: rsync's own CPU
//! is the same whichever transport it runs, so the transports' difference is a few
//! milliseconds on the small cases, below the 10 ms resolution of `/usr/bin/time`. The
//! server is measured through /proc (the server process plus every child it reaped).

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use nix::sys::resource::{UsageWho, getrusage};

/// The first argument that turns the benchmark binary into the transport's meter.
pub const WRAP: &str = "measure-transport";

/// One measured run.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub wall: f64,
    /// rsync and the transport, without the meter's own CPU.
    pub client_cpu: f64,
    /// The transport alone, when it ran under the meter.
    pub transport_cpu: Option<f64>,
    pub server_cpu: f64,
}

/// user + system seconds used by `who`.
fn cpu(who: UsageWho) -> f64 {
    let usage = getrusage(who).unwrap();
    let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    secs(usage.user_time()) + secs(usage.system_time())
}

/// The meter: `<bench> measure-transport OUT -- PROGRAM ARGS...` runs the transport with
/// rsync's pipes, then writes the transport's CPU seconds and its own to OUT and exits
/// with the transport's status.
pub fn wrap(args: &[String]) -> ! {
    let [out, dashes, program, rest @ ..] = args else {
        panic!("usage: {WRAP} OUT -- PROGRAM ARGS...");
    };
    assert_eq!(dashes, "--", "usage: {WRAP} OUT -- PROGRAM ARGS...");
    let status = Command::new(program).args(rest).status().unwrap();
    let line = format!(
        "{} {}\n",
        cpu(UsageWho::RUSAGE_CHILDREN),
        cpu(UsageWho::RUSAGE_SELF)
    );
    std::fs::write(out, line).unwrap();
    std::process::exit(status.code().unwrap_or(255));
}

/// user + system seconds of `pid` and its reaped children, in clock ticks.
pub fn process_cpu(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // utime, stime, cutime, cstime are fields 14-17 of the line, 11-14 after the name.
    let ticks = f[11] + f[12] + f[13] + f[14];
    ticks as f64 / clock_ticks()
}

/// Asked once: every `getconf` run would otherwise count as a child of this process.
fn clock_ticks() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        let out = Command::new("getconf").arg("CLK_TCK").output().unwrap();
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(100.0)
    })
}

/// Reads the server's CPU once its per-connection children are reaped (sshd reaps them
/// asynchronously): waits until the figure stops moving.
pub fn settled_cpu(pid: u32) -> f64 {
    let mut last = process_cpu(pid);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        std::thread::sleep(Duration::from_millis(150));
        let now = process_cpu(pid);
        if now == last || Instant::now() > deadline {
            return now;
        }
        last = now;
    }
}

/// Runs `rsync rsync_args`, measuring wall time, the client's CPU, the server's
/// (`server_pid`), and the transport's when its command runs under the meter writing to
/// `transport_file`. Panics if rsync fails.
pub fn run(rsync_args: &[String], server_pid: u32, transport_file: &Path) -> Sample {
    let _ = std::fs::remove_file(transport_file);
    let before_server = settled_cpu(server_pid);
    let before = cpu(UsageWho::RUSAGE_CHILDREN);
    let start = Instant::now();
    let out = Command::new("rsync").args(rsync_args).output().unwrap();
    let wall = start.elapsed().as_secs_f64();
    let client = cpu(UsageWho::RUSAGE_CHILDREN) - before;
    assert!(
        out.status.success(),
        "rsync {rsync_args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server_cpu = settled_cpu(server_pid) - before_server;
    let (transport_cpu, meter) = match std::fs::read_to_string(transport_file) {
        Ok(text) => {
            let v: Vec<f64> = text
                .split_whitespace()
                .map(|x| x.parse().unwrap())
                .collect();
            (Some(v[0]), v[1])
        }
        Err(_) => (None, 0.0),
    };
    Sample {
        wall,
        client_cpu: client - meter,
        transport_cpu,
        server_cpu,
    }
}

/// The median of each figure on its own: one slow run under a neighbour's load moves the
/// wall time and the CPU seconds by different amounts.
pub fn median(samples: Vec<Sample>) -> Sample {
    let of = |f: fn(&Sample) -> f64| {
        let mut v: Vec<f64> = samples.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    Sample {
        wall: of(|s| s.wall),
        client_cpu: of(|s| s.client_cpu),
        transport_cpu: samples
            .iter()
            .all(|s| s.transport_cpu.is_some())
            .then(|| of(|s| s.transport_cpu.unwrap_or(0.0))),
        server_cpu: of(|s| s.server_cpu),
    }
}

/// The median over repetitions of `ratio(first[i], second[i])`: runs `i` of the two ran
/// back to back.
pub fn paired_median(
    first: &[Sample],
    second: &[Sample],
    ratio: fn(&Sample, &Sample) -> f64,
) -> f64 {
    let mut v: Vec<f64> = first.iter().zip(second).map(|(a, b)| ratio(a, b)).collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
