//! The sidecar as a process on this machine (the test node's containers are processes of
//! this machine, in namespaces of their own): found by its command line and its pod's name
//! in its environment, and signalled as a node's kubelet or OOM killer would.

use std::path::Path;

use anyhow::Context;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The pid of the `ferry-sidecar <subcommand>` process of pod `ns/pod`, if it runs.
pub fn find(ns: &str, pod: &str, subcommand: &str) -> Option<i32> {
    pids().find(|pid| pod_of(*pid, subcommand).is_some_and(|(n, p)| n == ns && p == pod))
}

/// The pods of namespace `ns` that run a `ferry-sidecar <subcommand>` process now (e.g.
/// `engine`, the S3 engine a sync runs in), sorted, each once.
pub fn pods_running(ns: &str, subcommand: &str) -> Vec<String> {
    let mut pods: Vec<String> = pids()
        .filter_map(|pid| pod_of(pid, subcommand))
        .filter(|(n, _)| n == ns)
        .map(|(_, p)| p)
        .collect();
    pods.sort();
    pods.dedup();
    pods
}

fn pids() -> impl Iterator<Item = i32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
}

/// The namespace and pod of `pid` when it is a `ferry-sidecar <subcommand>` process.
fn pod_of(pid: i32, subcommand: &str) -> Option<(String, String)> {
    let dir = format!("/proc/{pid}");
    let cmdline = std::fs::read(format!("{dir}/cmdline")).ok()?;
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    // runc execs the container's command, so the process itself is the sidecar.
    let is_sidecar = args.first().is_some_and(|a| {
        Path::new(std::ffi::OsStr::new(&*String::from_utf8_lossy(a)))
            .file_name()
            // `ferry-sidecar run` execs `ferry-agent run`.
            .is_some_and(|n| n == "ferry-sidecar" || n == "ferry-agent")
    }) && args.get(1).is_some_and(|a| *a == subcommand.as_bytes());
    if !is_sidecar {
        return None;
    }
    let environ = std::fs::read(format!("{dir}/environ")).ok()?;
    let var = |name: &str| {
        environ.split(|b| *b == 0).find_map(|v| {
            v.strip_prefix(format!("{name}=").as_bytes())
                .map(|value| String::from_utf8_lossy(value).into_owned())
        })
    };
    Some((var("POD_NAMESPACE")?, var("POD_NAME")?))
}

/// Sends `signal` to `pid`.
pub fn signal(pid: i32, signal: Signal) -> anyhow::Result<()> {
    kill(Pid::from_raw(pid), signal).with_context(|| format!("sending {signal} to {pid}"))
}

/// Whether `pid` still runs (a zombie does not).
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| {
        !s.lines()
            .any(|l| l.starts_with("State:") && (l.contains("zombie") || l.contains("dead")))
    })
}
