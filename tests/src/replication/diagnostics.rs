//! What a person debugging a failed replication test wants to see, gathered when the test
//! did not pass: per namespace the objects, the CRs with their status, the Events, and every
//! container log the pod runner kept (sidecars and movers); then the webhook's log.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::PoisonError;

use super::Replication;

impl Replication {
    /// What a person debugging a failure wants: per namespace, the objects, the CRs with
    /// their status, the Events, and every container log the runner kept; then the webhook's
    /// log.
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
        let webhook = self.webhook.log_text();
        let lines: Vec<&str> = webhook.lines().collect();
        let _ = writeln!(
            out,
            "===== webhook log (last 30 lines)\n{}",
            lines[lines.len().saturating_sub(30)..].join("\n")
        );
        out
    }

    fn container_logs(&self, ns: &str) -> String {
        let mut out = String::new();
        let Ok(dir) = self.cluster.var("FERRY_RUNNER_DIR") else {
            return out;
        };
        let Ok(entries) = std::fs::read_dir(PathBuf::from(dir).join("pods")) else {
            return out;
        };
        let mut pods: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&format!("{ns}_")))
            })
            .collect();
        pods.sort();
        for pod in pods {
            let Ok(files) = std::fs::read_dir(&pod) else {
                continue;
            };
            for file in files.filter_map(Result::ok).map(|e| e.path()) {
                if file.extension().is_some_and(|e| e == "log") {
                    let text = std::fs::read_to_string(&file).unwrap_or_default();
                    let lines: Vec<&str> = text.lines().collect();
                    let _ = writeln!(
                        out,
                        "--- {} (last 80 lines)\n{}",
                        file.display(),
                        lines[lines.len().saturating_sub(80)..].join("\n")
                    );
                }
            }
        }
        out
    }
}
