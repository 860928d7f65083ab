//! Status of both kinds: what the bound sidecar reports, read by users and alerts.

use k8s_openapi::api::core::v1::TypedLocalObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::MoverResult;

/// The outcome of the latest mover run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MoverStatus {
    /// Whether the latest sync succeeded.
    pub result: MoverResult,
    /// The last 1 KiB of the mover's log, with secrets removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs: Option<String>,
}

/// The last verification of the newest complete copy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LastVerified {
    /// When it ended.
    pub time: Option<Time>,
    /// `Quick` or `Deep`.
    pub mode: String,
    /// The copy verified: the prefix, or its `YYYY-MM-DD-HHMMSS` copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy: Option<String>,
    /// Objects compared with the manifest.
    #[serde(default)]
    pub objects_checked: i64,
    /// Objects that differ from the manifest (or are missing).
    #[serde(default)]
    pub mismatches: i64,
    /// `Passed`, `Failed` (mismatches) or `Error` (it could not run; see the message).
    pub result: String,
    /// The first mismatched objects, or the error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

/// Counters of the last completed sync.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncStats {
    /// Bytes written to the far side.
    #[serde(default)]
    pub bytes_transferred: i64,
    /// Files written to the far side.
    #[serde(default)]
    pub files_transferred: i64,
    /// Files deleted on the far side because they no longer exist here.
    #[serde(default)]
    pub files_deleted: i64,
    /// Files compared and found unchanged.
    #[serde(default)]
    pub files_checked: i64,
}

/// Where a source pushes over rsync.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceRsyncStatus {
    /// The address the source connects to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The Secret holding the source's keys, to give to the destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_keys: Option<String>,
}

/// Where a destination accepts rsync pushes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DestinationRsyncStatus {
    /// The address sources connect to: the Service's cluster IP, load balancer or node address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The port sources connect to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    /// The Secret holding the keys a source needs (`source`, `source.pub`, `destination.pub`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_keys: Option<String>,
}

/// The status fields both kinds share: the sync's conditions, times, outcome and counters.
/// Flattened into each kind's status, so the JSON is one flat object as in VolSync.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    /// `Reconciled` (config valid and a sidecar bound) and `Synchronizing` (True with reason
    /// SyncInProgress; False with WaitingForSchedule, WaitingForManual, Paused or Error).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// When the last successful sync ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_time: Option<Time>,
    /// When the last sync started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_start_time: Option<Time>,
    /// How long the last successful sync took, e.g. `1m30s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_duration: Option<String>,
    /// When the next sync is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_sync_time: Option<Time>,
    /// The `spec.trigger.manual` value of the last manual sync that completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_manual_sync: Option<String>,
    /// The outcome of the latest sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_mover_status: Option<MoverStatus>,
    /// Counters of the last completed sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_stats: Option<SyncStats>,
    /// The pod whose sidecar acts for this object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound_pod: Option<String>,
    /// Failed syncs in a row since the last success (absent after a success).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive_failures: Option<i32>,
    /// When a failed sync is retried: the back-off grows with each failure (with jitter)
    /// up to 30 minutes. Absent when a failure waits for a change to the spec or a Secret
    /// (bad credentials, a missing bucket, a host key mismatch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_retry_time: Option<Time>,
    /// The value of the `ferry.dev/acknowledge-guards` annotation last used, so that one
    /// acknowledgement lifts the guards for one sync only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_guards: Option<String>,
    /// The last verification of the newest complete copy (`spec.rclone.verify`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_verified: Option<LastVerified>,
}

/// Status of a ReplicationSource, written by its bound sidecar.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationSourceStatus {
    /// The fields both kinds share.
    #[serde(flatten)]
    pub sync: SyncStatus,
    /// Where the rsync mover pushes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rsync: Option<SourceRsyncStatus>,
    /// The hooks of the last sync that called them: the freeze's length and each result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<super::hooks::HooksStatus>,
}

/// Status of a ReplicationDestination, written by its bound sidecar.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationDestinationStatus {
    /// The fields both kinds share.
    #[serde(flatten)]
    pub sync: SyncStatus,
    /// The last complete sync: a VolumeSnapshot (`Snapshot`) or the PVC itself (`Direct`).
    /// Never set to a partial transfer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_image: Option<TypedLocalObjectReference>,
    /// Where sources push to over rsync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rsync: Option<DestinationRsyncStatus>,
}
