//! `make demo` itself, on the shared test cluster: `scripts/demo` brings the cluster up (or
//! reuses it), builds Ferry, runs the webhook and installs the chart, replicates an annotated
//! Deployment's volume to MinIO on its schedule, restores it through a ReplicationDestination
//! and exits 0 only when the restored volume equals the source. Afterwards the test removes
//! what the demo leaves up for a user to explore (its webhook, release and namespaces), so
//! nothing keeps running for the rest of the test run.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use ferry_e2e::Cluster;
use ferry_e2e::cluster::repo_root;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The demo's bound: a build with nothing to do, a sync on the next minute and a restore.
const LIMIT: &str = "600s";
/// The line the demo prints once `diff -r` of the restored volume and the source is clean.
const MATCHES: &str = "restored data matches the source";

/// The last `lines` lines of `text`.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[test]
fn make_demo_restores_the_replicated_data_and_exits_0() -> anyhow::Result<()> {
    let cluster = Cluster::shared();
    let dir = tempfile::tempdir()?;
    let log_path = dir.path().join("demo.log");
    let log = std::fs::File::create(&log_path)?;
    let script = repo_root().join("scripts/demo");
    let cargo = std::env::var("CARGO")
        .ok()
        .or_else(|| option_env!("CARGO").map(str::to_owned))
        .unwrap_or_else(|| "cargo".to_owned());
    // `timeout` signals the demo's whole process group; the webhook it leaves running is in
    // a session of its own, as after `make demo`.
    let status = Command::new("timeout")
        .args(["--kill-after=15s", LIMIT])
        .arg(&script)
        .arg(&cluster.state)
        .current_dir(repo_root())
        .env("FERRY_CLUSTER_STATE", &cluster.state)
        .env("CARGO", cargo)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .with_context(|| format!("running {}", script.display()))?;
    let output = std::fs::read_to_string(&log_path)?;
    let webhook_log = cluster.state.join("logs/demo-webhook.log");
    let webhook_tail = read_tail(&webhook_log, 80);
    clean_up(cluster);
    let matched = output.lines().any(|line| line.trim() == MATCHES);
    if status.success() && matched {
        return Ok(());
    }
    eprintln!(
        "scripts/demo output:\n{output}\n\n==> {} (last 80 lines) <==\n{webhook_tail}",
        webhook_log.display(),
    );
    if status.code() == Some(124) {
        bail!("scripts/demo did not finish within {LIMIT}; its output is above");
    }
    bail!(
        "scripts/demo ended with {status} and {} {MATCHES:?}; last lines:\n{}",
        if matched { "printed" } else { "did not print" },
        tail(&output, 20)
    );
}

fn read_tail(path: &Path, lines: usize) -> String {
    std::fs::read_to_string(path)
        .map(|text| tail(&text, lines))
        .unwrap_or_else(|err| format!("(cannot read it: {err})"))
}

/// Stops the webhook the demo started (only if the recorded pid still runs `ferry-webhook`),
/// uninstalls its release and deletes its namespaces without waiting. Best effort: a failure
/// here does not fail the test.
fn clean_up(cluster: &Cluster) {
    let pid_file = cluster.state.join("demo/webhook.pid");
    if let Some(pid) = std::fs::read_to_string(&pid_file)
        .ok()
        .and_then(|text| text.trim().parse::<i32>().ok())
    {
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
        let exe = exe.to_string_lossy();
        if exe
            .trim_end_matches(" (deleted)")
            .ends_with("/ferry-webhook")
        {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        let _ = std::fs::remove_file(&pid_file);
    }
    let _ = cluster.helm(["uninstall", "ferry", "--namespace", "ferry-system"]);
    let _ = cluster.kubectl([
        "delete",
        "namespace",
        "ferry-demo",
        "ferry-demo-restore",
        "--ignore-not-found",
        "--wait=false",
    ]);
}
