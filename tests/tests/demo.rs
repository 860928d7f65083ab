//! `make demo` itself, on the shared test cluster: `scripts/demo` brings the cluster up (or
//! reuses it), builds Ferry and its images, installs the chart (the webhook as its Deployment
//! on the real node), replicates an annotated Deployment's volume to MinIO on its schedule,
//! restores it through a ReplicationDestination and exits 0 only when the restored volume,
//! listed from a pod, equals the source, listed from the app's container. The demo says it
//! runs on the real node and shows the sidecar container's log. Afterwards the test removes
//! what the demo leaves up for a user to explore (its release and namespaces), so nothing
//! keeps running for the rest of the test run.

use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use ferry_e2e::Cluster;
use ferry_e2e::cluster::repo_root;

/// The demo's bound: a build with nothing to do, a sync on the next minute and a restore.
const LIMIT: &str = "600s";
/// The line the demo prints once the listings of the restored volume and the source match.
const MATCHES: &str = "restored data matches the source";
/// What the demo says about where it runs.
const REAL_NODE: &str = "This demo runs on a real node: ferry-node";
/// The command that shows the sidecar container's log.
const SIDECAR_LOG: &str = "kubectl logs -n ferry-demo deployment/app -c ferry-sidecar";

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
    // `timeout` signals the demo's whole process group.
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
    let webhook_tail = cluster
        .kubectl([
            "logs",
            "-n",
            "ferry-system",
            "deployment/ferry-webhook",
            "--tail=80",
        ])
        .map(|o| format!("{}{}", o.stdout, o.stderr))
        .unwrap_or_else(|e| format!("{e:#}"));
    clean_up(cluster);
    let matched = output.lines().any(|line| line.trim() == MATCHES);
    let real_node = output.contains(REAL_NODE);
    // The sync the demo waited for has ended by the time it shows the log: the sidecar
    // logged its success, as its Event says.
    let sidecar_logged = output
        .split_once(SIDECAR_LOG)
        .is_some_and(|(_, after)| after.contains("SyncSucceeded"));
    if status.success() && matched && real_node && sidecar_logged {
        return Ok(());
    }
    eprintln!(
        "scripts/demo output:\n{output}\n\n==> the webhook's log (last 80 lines) <==\n{webhook_tail}"
    );
    if status.code() == Some(124) {
        bail!("scripts/demo did not finish within {LIMIT}; its output is above");
    }
    bail!(
        "scripts/demo ended with {status}; printed {MATCHES:?}: {matched}; {REAL_NODE:?}: \
         {real_node}; a sidecar log with SyncSucceeded: {sidecar_logged}; last lines:\n{}",
        tail(&output, 20)
    );
}

/// Uninstalls the demo's release and deletes its namespaces without waiting. Best effort: a
/// failure here does not fail the test.
fn clean_up(cluster: &Cluster) {
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
