//! The apiserver's audit log (`$FERRY_AUDIT_LOG`, written by `tests/cluster/up`): the
//! metadata of every write made with a service-account token, one JSON line per request.
//! Tests count a sidecar's writes there by its user (the pod's ServiceAccount) and
//! namespace: what the apiserver itself recorded, not what the sidecar says it did.

use std::path::PathBuf;

use anyhow::Context;
use k8s_openapi::jiff::Timestamp;
use serde_json::Value;

use crate::cluster::Cluster;

/// One write request, as the apiserver recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Write {
    /// When the apiserver received it.
    pub at: Timestamp,
    /// Who made it, e.g. `system:serviceaccount:ns:default`.
    pub user: String,
    /// `create`, `update`, `patch`, `delete` or `deletecollection`.
    pub verb: String,
    /// The resource, with its subresource: `leases`, `replicationsources/status`, `events`.
    pub resource: String,
    /// The object's namespace.
    pub namespace: String,
    /// The object's name (empty for a create without one).
    pub name: String,
    /// The HTTP status of the answer.
    pub code: i64,
}

impl std::fmt::Display for Write {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {} {}/{}/{} -> {}",
            self.at, self.user, self.verb, self.namespace, self.resource, self.name, self.code
        )
    }
}

/// The user name of ServiceAccount `ns/name`'s tokens.
pub fn service_account(ns: &str, name: &str) -> String {
    format!("system:serviceaccount:{ns}:{name}")
}

/// The audit log of `cluster` and its rotated predecessors, oldest first.
fn files(cluster: &Cluster) -> anyhow::Result<Vec<PathBuf>> {
    let log = PathBuf::from(cluster.var("FERRY_AUDIT_LOG")?);
    let dir = log.parent().context("the audit log has no directory")?;
    let stem = log
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("audit")
        .to_owned();
    let mut rotated: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p != &log
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&format!("{stem}-")))
        })
        .collect();
    // Rotated names carry their time: sorted by name, they are oldest first.
    rotated.sort();
    rotated.push(log);
    Ok(rotated)
}

/// One audit line as a [`Write`], if it is a completed request.
pub fn parse(line: &str) -> Option<Write> {
    let v: Value = serde_json::from_str(line).ok()?;
    if v["stage"] != "ResponseComplete" {
        return None;
    }
    let object = &v["objectRef"];
    let mut resource = object["resource"].as_str().unwrap_or_default().to_owned();
    if let Some(sub) = object["subresource"].as_str() {
        resource = format!("{resource}/{sub}");
    }
    Some(Write {
        at: v["requestReceivedTimestamp"].as_str()?.parse().ok()?,
        user: v["user"]["username"].as_str()?.to_owned(),
        verb: v["verb"].as_str()?.to_owned(),
        resource,
        namespace: object["namespace"].as_str().unwrap_or_default().to_owned(),
        name: object["name"].as_str().unwrap_or_default().to_owned(),
        code: v["responseStatus"]["code"].as_i64().unwrap_or(0),
    })
}

/// The writes recorded so far that `keep` selects.
pub fn writes(cluster: &Cluster, keep: impl Fn(&Write) -> bool) -> anyhow::Result<Vec<Write>> {
    let mut out = Vec::new();
    for file in files(cluster)? {
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            // Rotated away between the listing and the read.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("reading {}", file.display())),
        };
        out.extend(text.lines().filter_map(parse).filter(|w| keep(w)));
    }
    out.sort_by_key(|w| w.at);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_write_with_its_subresource() {
        let line = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","stage":"ResponseComplete","requestURI":"/apis/x","verb":"patch","user":{"username":"system:serviceaccount:ns:default"},"objectRef":{"resource":"replicationsources","namespace":"ns","name":"db","apiGroup":"replication.ferry.dev","subresource":"status"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-12-07T13:00:00.123456Z","stageTimestamp":"2026-12-07T13:00:00.130000Z"}"#;
        let w = parse(line).unwrap();
        assert_eq!(w.resource, "replicationsources/status");
        assert_eq!(w.user, service_account("ns", "default"));
        assert_eq!(w.verb, "patch");
        assert_eq!(w.code, 200);
        assert!(parse(&line.replace("ResponseComplete", "RequestReceived")).is_none());
    }
}
