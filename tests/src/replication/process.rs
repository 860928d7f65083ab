//! The sidecar as a process on this machine (the test node's containers are processes of
//! this machine, in namespaces of their own): found by its command line and its pod's name
//! in its environment, and signalled as a node's kubelet or OOM killer would.

use std::path::Path;

use anyhow::Context;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The pid of the `ferry-sidecar <subcommand>` process of pod `ns/pod`, if it runs.
pub fn find(ns: &str, pod: &str, subcommand: &str) -> Option<i32> {
    let entries = std::fs::read_dir("/proc").ok()?;
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .find(|pid| matches(*pid, ns, pod, subcommand))
}

fn matches(pid: i32, ns: &str, pod: &str, subcommand: &str) -> bool {
    let dir = format!("/proc/{pid}");
    let Ok(cmdline) = std::fs::read(format!("{dir}/cmdline")) else {
        return false;
    };
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    // runc execs the container's command, so the process itself is the sidecar.
    let is_sidecar = args.first().is_some_and(|a| {
        Path::new(std::ffi::OsStr::new(&*String::from_utf8_lossy(a)))
            .file_name()
            // `ferry-sidecar run` execs `ferry-agent run`.
            .is_some_and(|n| n == "ferry-sidecar" || n == "ferry-agent")
    }) && args.get(1).is_some_and(|a| *a == subcommand.as_bytes());
    if !is_sidecar {
        return false;
    }
    let Ok(environ) = std::fs::read(format!("{dir}/environ")) else {
        return false;
    };
    let vars: Vec<&[u8]> = environ.split(|b| *b == 0).collect();
    let has = |want: String| vars.contains(&want.as_bytes());
    has(format!("POD_NAME={pod}")) && has(format!("POD_NAMESPACE={ns}"))
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
