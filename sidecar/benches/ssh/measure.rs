//! CPU and wall-clock accounting: the client through GNU time (rsync plus the transport it
//! waits for), the server through /proc (the server process plus every child it reaped).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// One measured run.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub wall: f64,
    pub client_cpu: f64,
    pub server_cpu: f64,
}

/// user + system seconds of `pid` and its reaped children.
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

fn clock_ticks() -> f64 {
    let out = Command::new("getconf").arg("CLK_TCK").output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(100.0)
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

/// Runs `rsync_args` under `/usr/bin/time`, measuring wall time, the client's CPU, and
/// the server's (`server_pid`). Panics if rsync fails.
pub fn run(rsync_args: &[String], server_pid: u32, scratch: &Path) -> Sample {
    let time_file = scratch.join("time.out");
    let before = settled_cpu(server_pid);
    let start = Instant::now();
    let out = Command::new("/usr/bin/time")
        .arg("-o")
        .arg(&time_file)
        .args(["-f", "%U %S"])
        .arg("rsync")
        .args(rsync_args)
        .output()
        .unwrap();
    let wall = start.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "rsync {rsync_args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = settled_cpu(server_pid);
    let times = std::fs::read_to_string(&time_file).unwrap();
    let client_cpu: f64 = times
        .lines()
        .last()
        .unwrap()
        .split_whitespace()
        .map(|x| x.parse::<f64>().unwrap())
        .sum();
    Sample {
        wall,
        client_cpu,
        server_cpu: after - before,
    }
}

/// The median sample by wall time (CPU figures come from the same run).
pub fn median(mut samples: Vec<Sample>) -> Sample {
    samples.sort_by(|a, b| a.wall.total_cmp(&b.wall));
    samples[samples.len() / 2]
}
