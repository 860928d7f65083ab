//! What a user reads about a replication: the CR's conditions and timestamps, the Events on
//! it, and the sidecar's Prometheus metrics.

use anyhow::{Context, bail};
use k8s_openapi::api::core::v1::{Event, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::ListParams;
use serde_json::Value;

/// The port the sidecar serves `/metrics` on, at its pod IP.
pub const METRICS_PORT: u16 = 9811;

/// The condition of `type_` in a status, if any.
pub fn condition<'a>(status: &'a Value, type_: &str) -> Option<&'a Value> {
    status["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

/// Whether the condition `type_` has `status` (`"True"`/`"False"`) and `reason`.
pub fn condition_is(status: &Value, type_: &str, value: &str, reason: &str) -> bool {
    condition(status, type_).is_some_and(|c| c["status"] == value && c["reason"] == reason)
}

/// The message of the condition `type_`, or "".
pub fn condition_message<'a>(status: &'a Value, type_: &str) -> &'a str {
    condition(status, type_)
        .and_then(|c| c["message"].as_str())
        .unwrap_or_default()
}

/// A timestamp field of a status (RFC 3339).
pub fn time(value: &Value) -> Option<Timestamp> {
    value.as_str()?.parse().ok()
}

/// Like [`time`], failing with the field's name.
pub fn require_time(status: &Value, field: &str) -> anyhow::Result<Timestamp> {
    time(&status[field]).with_context(|| format!("status.{field} is not a timestamp: {status}"))
}

/// One Event about a CR, as `kubectl get events` shows it.
#[derive(Clone, Debug)]
pub struct EventRecord {
    /// `Normal` or `Warning`.
    pub type_: String,
    /// E.g. `SyncStarted`.
    pub reason: String,
    /// The message (`note` in events.k8s.io).
    pub message: String,
    /// How many occurrences it stands for (the recorder folds repeats into a series).
    pub count: i64,
}

/// The Events whose object is `kind/name` in `ns`.
pub async fn events_of(
    client: &kube::Client,
    ns: &str,
    kind: &str,
    name: &str,
) -> anyhow::Result<Vec<EventRecord>> {
    let api: Api<Event> = Api::namespaced(client.clone(), ns);
    let params = ListParams::default().fields(&format!(
        "involvedObject.kind={kind},involvedObject.name={name}"
    ));
    let list = api.list(&params).await.context("listing events")?;
    Ok(list
        .items
        .into_iter()
        .map(|e| {
            let series = e.series.as_ref().and_then(|s| s.count).unwrap_or(0);
            let count = i64::from(series.max(e.count.unwrap_or(0)).max(1));
            EventRecord {
                type_: e.type_.unwrap_or_default(),
                reason: e.reason.unwrap_or_default(),
                message: e.message.unwrap_or_default(),
                count,
            }
        })
        .collect())
}

/// How many occurrences of `reason` the events stand for.
pub fn occurrences(events: &[EventRecord], reason: &str) -> i64 {
    events
        .iter()
        .filter(|e| e.reason == reason)
        .map(|e| e.count)
        .sum()
}

/// One line per event, for messages.
pub fn describe(events: &[EventRecord]) -> String {
    events
        .iter()
        .map(|e| format!("{} {} x{}: {}", e.type_, e.reason, e.count, e.message))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Fetches the sidecar's `/metrics` (port 9811 on the pod IP) through the apiserver's pod
/// proxy, as `kubectl get --raw` does: the pod network is the node's, not this machine's.
pub async fn scrape(cluster: &crate::Cluster, pod: &Pod) -> anyhow::Result<String> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let path = format!("/api/v1/namespaces/{ns}/pods/{name}:{METRICS_PORT}/proxy/metrics");
    let out = cluster.kubectl(["get", "--request-timeout=10s", "--raw", path.as_str()])?;
    if !out.success {
        bail!("GET {path}: {}", out.stderr.trim());
    }
    Ok(out.stdout)
}

/// Prometheus text exposition, parsed just enough to read sample values.
#[derive(Clone, Debug)]
pub struct Metrics {
    /// The text as served.
    pub text: String,
}

impl Metrics {
    /// The sum of the samples named `name` whose labels include all of `labels`, or `None`
    /// when there is no such sample.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let mut total = None;
        for line in self.text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let Some((sample, rest)) = split_sample(line) else {
                continue;
            };
            if sample.0 != name || !labels.iter().all(|(k, v)| sample.1.contains(&(*k, *v))) {
                continue;
            }
            if let Some(value) = rest
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<f64>().ok())
            {
                *total.get_or_insert(0.0) += value;
            }
        }
        total
    }

    /// Whether a sample named `name` exists at all (a metric family may have `_count` etc.).
    pub fn has(&self, name: &str) -> bool {
        self.text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(split_sample)
            .any(|(sample, _)| sample.0 == name)
    }
}

/// A sample's name and labels.
type Sample<'a> = (&'a str, Vec<(&'a str, &'a str)>);

/// `name{a="1",b="2"} 3` → `((name, [(a, 1), (b, 2)]), " 3")`.
fn split_sample(line: &str) -> Option<(Sample<'_>, &str)> {
    let end = line.find(['{', ' '])?;
    let name = &line[..end];
    if !line[end..].starts_with('{') {
        return Some(((name, Vec::new()), &line[end..]));
    }
    let close = line.rfind('}')?;
    let mut labels = Vec::new();
    let mut inner = &line[end + 1..close];
    while let Some(eq) = inner.find("=\"") {
        let key = inner[..eq].trim_start_matches([',', ' ']);
        let rest = &inner[eq + 2..];
        // The value ends at the first quote not escaped by a backslash.
        let mut stop = None;
        let mut escaped = false;
        for (i, c) in rest.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    stop = Some(i);
                    break;
                }
                _ => escaped = false,
            }
        }
        let stop = stop?;
        labels.push((key, &rest[..stop]));
        inner = &rest[stop + 1..];
    }
    Some(((name, labels), &line[close + 1..]))
}

#[cfg(test)]
mod tests {
    use super::Metrics;

    #[test]
    fn sums_matching_samples() {
        let m = Metrics {
            text: "# TYPE ferry_syncs_total counter\n\
                   ferry_syncs_total{name=\"a\",namespace=\"n\",result=\"success\"} 2\n\
                   ferry_syncs_total{name=\"a\",namespace=\"n\",result=\"failure\"} 1\n\
                   ferry_syncs_total{name=\"b\",namespace=\"n\",result=\"failure\"} 4\n\
                   ferry_volume_out_of_sync{name=\"a\",note=\"x\\\"y\"} 0\n\
                   up 1\n"
                .into(),
        };
        assert_eq!(
            m.sum("ferry_syncs_total", &[("result", "failure")]),
            Some(5.0)
        );
        assert_eq!(
            m.sum("ferry_syncs_total", &[("name", "a"), ("result", "failure")]),
            Some(1.0)
        );
        assert_eq!(
            m.sum("ferry_volume_out_of_sync", &[("name", "a")]),
            Some(0.0)
        );
        assert_eq!(m.sum("up", &[]), Some(1.0));
        assert_eq!(m.sum("ferry_missing", &[]), None);
        assert!(m.has("up"));
    }
}
