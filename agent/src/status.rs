//! The CR's status as this sidecar sees it, written whole with server-side apply to the
//! status subresource. One field manager (`ferry-sidecar`) owns every field it writes, so a
//! field left out of the next apply is removed: the model is the truth, not a patch log.

use std::time::Duration;

use ferry_api::types::MoverResult;
use ferry_api::types::{DestinationRsyncStatus, MoverStatus, SyncStatus};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::TypedLocalObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde::{Deserialize, Serialize};

/// The field manager of every status write.
pub const FIELD_MANAGER: &str = "ferry-sidecar";
/// `Reconciled`: the configuration is valid and a sidecar is bound.
pub const RECONCILED: &str = "Reconciled";
/// `Synchronizing`: whether a sync is running, and if not, why.
pub const SYNCHRONIZING: &str = "Synchronizing";
/// The most of a mover's log kept in `latestMoverStatus.logs`.
pub const LOG_TAIL: usize = 1024;

/// The status fields Ferry writes, for both kinds: the shared ones of the API, plus the
/// destination's image and rsync endpoint (a source's `status.rsync` has the same fields
/// without the port, which it leaves unset).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Model {
    /// Conditions, times, outcome and counters.
    #[serde(flatten)]
    pub sync: SyncStatus,
    /// Destination only: the last published image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_image: Option<TypedLocalObjectReference>,
    /// Destination only (rsync): where sources connect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rsync: Option<DestinationRsyncStatus>,
    /// Source only: the last restore on first start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_restore: Option<ferry_api::types::LastRestore>,
    /// Source only: the hooks of the last sync that called them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<ferry_api::types::HooksStatus>,
}

impl Model {
    /// Reads the model back from a CR's raw status (fields Ferry does not know are ignored).
    pub fn from_status(status: Option<&serde_json::Value>) -> Model {
        status
            .and_then(|s| serde_json::from_value(s.clone()).ok())
            .unwrap_or_default()
    }

    /// Sets a condition, keeping its transition time when its status does not change.
    pub fn set_condition(
        &mut self,
        kind: &str,
        status: bool,
        reason: &str,
        message: &str,
        generation: Option<i64>,
    ) {
        let status = if status { "True" } else { "False" }.to_owned();
        let now = Time(Timestamp::now());
        let message = clip(message, 1024);
        match self.sync.conditions.iter_mut().find(|c| c.type_ == kind) {
            Some(c) => {
                if c.status != status {
                    c.last_transition_time = now;
                }
                c.status = status;
                c.reason = reason.to_owned();
                c.message = message;
                c.observed_generation = generation;
            }
            None => self.sync.conditions.push(Condition {
                type_: kind.to_owned(),
                status,
                reason: reason.to_owned(),
                message,
                observed_generation: generation,
                last_transition_time: now,
            }),
        }
    }

    /// The reason of a condition, if set.
    pub fn reason(&self, kind: &str) -> Option<&str> {
        self.sync
            .conditions
            .iter()
            .find(|c| c.type_ == kind)
            .map(|c| c.reason.as_str())
    }

    /// Records a finished sync.
    pub fn finish(
        &mut self,
        started: Timestamp,
        ended: Timestamp,
        result: MoverResult,
        logs: &str,
    ) {
        if result == MoverResult::Successful {
            self.sync.last_sync_time = Some(Time(ended));
            let took = ended.duration_since(started);
            self.sync.last_sync_duration = Some(go_duration(took.unsigned_abs()));
        }
        self.sync.latest_mover_status = Some(MoverStatus {
            result,
            logs: (!logs.is_empty()).then(|| tail(logs, LOG_TAIL)),
        });
    }
}

/// Applies the model to the CR's status subresource.
pub async fn apply(
    api: &Api<DynamicObject>,
    kind: &str,
    name: &str,
    model: &Model,
) -> Result<(), kube::Error> {
    let body = serde_json::json!({
        "apiVersion": format!("{}/{}", ferry_api::GROUP, ferry_api::VERSION),
        "kind": kind,
        "metadata": {"name": name},
        "status": model,
    });
    api.patch_status(
        name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&body),
    )
    .await
    .map(|_| ())
}

/// A duration in Go's `time.Duration` syntax (`1m2.5s`), as `metav1.Duration` prints it.
pub fn go_duration(d: Duration) -> String {
    let millis = d.as_millis();
    let hours = millis / 3_600_000;
    let minutes = (millis / 60_000) % 60;
    let seconds = (millis % 60_000) as f64 / 1000.0;
    let mut out = String::new();
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if hours > 0 || minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    let secs = format!("{seconds:.3}");
    let secs = secs.trim_end_matches('0').trim_end_matches('.');
    out.push_str(if secs.is_empty() { "0" } else { secs });
    out.push('s');
    out
}

/// At most `max` bytes of `text`, cut at a character boundary, from the start.
pub fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// At most `max` bytes of the end of `text`, cut at a character boundary.
pub fn tail(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text[start..].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_like_go() {
        assert_eq!(go_duration(Duration::from_millis(0)), "0s");
        assert_eq!(go_duration(Duration::from_millis(2500)), "2.5s");
        assert_eq!(go_duration(Duration::from_millis(62_000)), "1m2s");
        assert_eq!(go_duration(Duration::from_secs(3600 + 5)), "1h0m5s");
    }

    #[test]
    fn conditions_keep_their_transition_time_while_unchanged() {
        let mut m = Model::default();
        m.set_condition(SYNCHRONIZING, false, "WaitingForManual", "", Some(1));
        let first = m.sync.conditions[0].last_transition_time.clone();
        m.set_condition(SYNCHRONIZING, false, "Paused", "", Some(2));
        assert_eq!(m.sync.conditions[0].last_transition_time, first);
        assert_eq!(m.reason(SYNCHRONIZING), Some("Paused"));
        assert_eq!(m.sync.conditions.len(), 1);
    }

    #[test]
    fn tails_cut_on_character_boundaries() {
        let text = "é".repeat(600);
        let t = tail(&text, LOG_TAIL);
        assert!(t.len() <= LOG_TAIL);
        assert!(t.chars().all(|c| c == 'é'));
        assert_eq!(clip("abc", 2), "ab");
    }

    #[test]
    fn the_model_round_trips_through_a_status() {
        let mut m = Model {
            sync: SyncStatus {
                bound_pod: Some("app-0".into()),
                last_manual_sync: Some("one".into()),
                ..SyncStatus::default()
            },
            ..Model::default()
        };
        m.finish(
            "2026-01-01T00:00:00Z".parse().unwrap(),
            "2026-01-01T00:01:02Z".parse().unwrap(),
            MoverResult::Successful,
            "done",
        );
        let value = serde_json::to_value(&m).unwrap();
        assert_eq!(value["lastSyncDuration"], "1m2s");
        assert_eq!(value["latestMoverStatus"]["result"], "Successful");
        assert_eq!(
            value["boundPod"], "app-0",
            "the shared fields are flat: {value}"
        );
        assert_eq!(Model::from_status(Some(&value)), m);
        // What the sidecar writes is what the CRDs' types read.
        let source: ferry_api::types::ReplicationSourceStatus =
            serde_json::from_value(value.clone()).unwrap();
        let destination: ferry_api::types::ReplicationDestinationStatus =
            serde_json::from_value(value).unwrap();
        assert_eq!(source.sync, m.sync);
        assert_eq!(destination.sync, m.sync);
    }
}
