//! Status of both kinds: what the bound sidecar reports, read by users and alerts.

use k8s_openapi::api::core::v1::TypedLocalObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::MoverResult;
use super::restore::LastRestore;

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
    /// The S3 requests the sync sent, by kind, retries included (S3 movers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<S3Requests>,
}

/// A sync's S3 requests by kind: what S3 providers bill by. A no-change re-sync sends
/// listings and the manifest's GET, not a request per file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct S3Requests {
    /// Every request.
    #[serde(default)]
    pub total: i64,
    /// Listings (ListObjectsV2, ListObjectVersions, ListMultipartUploads).
    #[serde(default)]
    pub list: i64,
    /// HeadObject.
    #[serde(default)]
    pub head: i64,
    /// GetObject and reads of bucket settings.
    #[serde(default)]
    pub get: i64,
    /// PutObject, and the creation and completion of multipart uploads.
    #[serde(default)]
    pub put: i64,
    /// Multipart parts (UploadPart).
    #[serde(default)]
    pub part: i64,
    /// Server-side copies (CopyObject: mtime updates).
    #[serde(default)]
    pub copy: i64,
    /// DeleteObjects and AbortMultipartUpload.
    #[serde(default)]
    pub delete: i64,
    /// Any other request.
    #[serde(default)]
    pub other: i64,
}

impl std::fmt::Display for S3Requests {
    /// `S3 requests 15 (list 11, get 2, put 2)`: the kinds that were sent.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sent: Vec<String> = self
            .by_kind()
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        write!(f, "S3 requests {}", self.total)?;
        if !sent.is_empty() {
            write!(f, " ({})", sent.join(", "))?;
        }
        Ok(())
    }
}

impl S3Requests {
    /// `(kind, count)` for each kind but the total: the `op` labels of
    /// `ferry_s3_requests_total`.
    pub fn by_kind(&self) -> [(&'static str, i64); 8] {
        [
            ("list", self.list),
            ("head", self.head),
            ("get", self.get),
            ("put", self.put),
            ("part", self.part),
            ("copy", self.copy),
            ("delete", self.delete),
            ("other", self.other),
        ]
    }
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
    /// The last restore on first start (`spec.rclone.restoreOnEmpty`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_restore: Option<LastRestore>,
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
