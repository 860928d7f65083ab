//! What a person debugging a failed replication test wants to see, gathered when the test
//! did not pass: per namespace the objects, the CRs with their status, the Events, and every
//! container log (`kubectl logs`: apps, sidecars and movers); then the webhook's log.

use std::fmt::Write as _;
use std::sync::PoisonError;

use super::Replication;

impl Replication {
    /// What a person debugging a failure wants: per namespace, the objects, the CRs with
    /// their status, the Events, and every container log; then the webhook's log.
    pub fn diagnostics(&self) -> String {
        let mut out = String::new();
        let namespaces: Vec<String> = self
            .namespaces
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|n| n.name.clone())
            .collect();
        for ns in &namespaces {
            let kubectl = |args: &[&str]| {
                self.cluster
                    .kubectl(args.iter().copied().chain(["-n", ns.as_str()]))
                    .map(|o| format!("{}{}", o.stdout, o.stderr))
                    .unwrap_or_else(|e| format!("{e:#}"))
            };
            let _ = writeln!(
                out,
                "===== namespace {ns}\n--- objects\n{}\n--- CRs\n{}\n--- events\n{}",
                kubectl(&[
                    "get",
                    "pods,pvc,volumesnapshots,secrets,services,leases",
                    "-o",
                    "wide"
                ]),
                kubectl(&[
                    "get",
                    "replicationsources,replicationdestinations",
                    "-o",
                    "yaml"
                ]),
                kubectl(&["get", "events", "--sort-by=.lastTimestamp"]),
            );
            let _ = writeln!(out, "{}", self.container_logs(ns));
        }
        let _ = writeln!(
            out,
            "===== webhook log (last 30 lines)\n{}",
            crate::ferry::webhook_log(self.cluster, 30)
        );
        out
    }

    fn container_logs(&self, ns: &str) -> String {
        let mut out = String::new();
        let pods = self
            .cluster
            .kubectl(["get", "pods", "-n", ns, "-o", "name"])
            .map(|o| o.stdout)
            .unwrap_or_default();
        for pod in pods.lines() {
            let logs = self
                .cluster
                .kubectl([
                    "logs",
                    "-n",
                    ns,
                    pod,
                    "--all-containers",
                    "--prefix",
                    "--tail=80",
                ])
                .map(|o| format!("{}{}", o.stdout, o.stderr))
                .unwrap_or_else(|e| format!("{e:#}"));
            let _ = writeln!(out, "--- kubectl logs {pod} (last 80 lines)\n{logs}");
        }
        out
    }
}
