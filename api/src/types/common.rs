//! Pieces shared by both kinds: the trigger, copy methods and volume options.

use k8s_openapi::api::core::v1::{PodSecurityContext, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// When a sync runs. With no trigger at all, Ferry syncs continuously: the next sync starts
/// as soon as the previous one ends.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!(has(self.schedule) && has(self.manual))").message("schedule and manual are mutually exclusive: set one of them").reason(Reason::FieldValueForbidden))]
pub struct Trigger {
    /// A 5-field cron expression (minute hour day-of-month month day-of-week) or a macro such
    /// as `@hourly`, evaluated in `timeZone`. The next sync is counted from the end of the last
    /// one; intervals missed while a sync runs are counted, never queued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128))]
    pub schedule: Option<String>,

    /// The IANA time zone of `schedule`, such as `Europe/Berlin`. Defaults to `UTC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub time_zone: Option<String>,

    /// A manual trigger: a sync runs whenever this differs from `status.lastManualSync`.
    /// Mutually exclusive with `schedule`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub manual: Option<String>,

    /// Spreads this object's scheduled syncs over a window: each fire time of `schedule` is
    /// moved later by an offset between zero and `jitter`, the same for the object every
    /// time (a hash of its namespace, kind and name), so a restarted or re-created pod keeps
    /// its slot and `status.nextSyncTime` shows the real time. Written as `90s`, `10m` or
    /// `1h30m`, at most `24h`. Use it when many objects share a schedule, so they do not all
    /// reach the storage and the apiserver in the same second. The pod annotation
    /// `ferry.dev/jitter` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 2, max = 24),
        regex(pattern = crate::rules::duration::PATTERN)
    )]
    pub jitter: Option<String>,
}

/// How thoroughly a copy is verified.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum VerifyMode {
    /// The listing's sizes and ETags against the manifest: one listing, no download.
    #[default]
    Quick,
    /// Every object (or `samplePercent` of them) downloaded and its MD5 compared with the
    /// manifest's.
    Deep,
}

/// When and how the newest complete copy is verified.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Verify {
    /// When to verify: a 5-field cron expression or a macro such as `@daily`, in the
    /// trigger's time zone.
    #[schemars(length(min = 1, max = 128))]
    pub schedule: String,
    /// `Quick` (default) or `Deep`.
    #[serde(default)]
    pub mode: VerifyMode,
    /// With `Deep`, the share of objects downloaded, chosen by key (the same ones each
    /// time); default 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub sample_percent: Option<i32>,
}

/// How a source presents its volume to the mover.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum SourceCopyMethod {
    /// Push straight from the live volume.
    #[default]
    Direct,
    /// VolSync's name for `Direct`; accepted so VolSync manifests port unchanged.
    None,
    /// Push from a CSI VolumeSnapshot of the volume, taken at the start of each sync.
    Snapshot,
    /// Push from a CSI clone of the volume, taken at the start of each sync.
    Clone,
}

impl SourceCopyMethod {
    /// The method with VolSync's `None` spelled as Ferry's `Direct`.
    pub fn normalized(self) -> Self {
        match self {
            Self::None => Self::Direct,
            other => other,
        }
    }
}

/// What a destination publishes once a sync is complete.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum DestinationCopyMethod {
    /// Publish the destination volume itself as `latestImage`.
    Direct,
    /// VolSync's name for `Direct`; accepted so VolSync manifests port unchanged.
    None,
    /// Snapshot the volume after each complete sync and publish the snapshot as `latestImage`.
    #[default]
    Snapshot,
}

impl DestinationCopyMethod {
    /// The method with VolSync's `None` spelled as Ferry's `Direct`.
    pub fn normalized(self) -> Self {
        match self {
            Self::None => Self::Direct,
            other => other,
        }
    }
}

/// How a destination's SSH endpoint is exposed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ServiceType {
    /// Reachable inside the cluster only.
    #[default]
    ClusterIP,
    /// Reachable through a cloud load balancer.
    LoadBalancer,
    /// Reachable on a port of every node.
    NodePort,
}

/// The outcome of the latest mover run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum MoverResult {
    /// The sync completed and, for a destination, was published.
    Successful,
    /// The sync failed; nothing partial was published.
    Failed,
}

/// Options for the volume a mover reads from or writes to. Flattened into each mover so the
/// field names match VolSync's.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VolumeOptions {
    /// The VolumeSnapshotClass for snapshots Ferry takes. Defaults to the cluster's default
    /// class for the volume's CSI driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub volume_snapshot_class_name: Option<String>,

    /// The StorageClass of temporary volumes (snapshot restores and clones). Defaults to the
    /// source volume's class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub storage_class_name: Option<String>,

    /// Access modes of temporary volumes. Defaults to the source volume's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4))]
    pub access_modes: Option<Vec<String>>,

    /// Size of temporary volumes. Defaults to the source volume's. On a destination Ferry
    /// accepts it for VolSync compatibility but does not provision the volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<Quantity>,

    /// Resources of the mover pod run for `Snapshot` and `Clone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mover_resources: Option<ResourceRequirements>,

    /// Pod security context of the mover pod run for `Snapshot` and `Clone`. Defaults to
    /// restricted Pod Security running as the volume's owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mover_security_context: Option<PodSecurityContext>,
}

/// Exclude patterns in rclone's filter syntax, e.g. `*.tmp` or `/cache/**`.
pub type ExcludePatterns = Vec<String>;

/// The rclone sync options shared by source and destination.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RcloneOptions {
    /// Name of the Secret holding `rclone.conf` (or the env-style keys `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `BUCKET_HOST`, `BUCKET_PORT`, `BUCKET_NAME`).
    #[schemars(length(min = 1, max = 253), regex(pattern = super::DNS1123_SUBDOMAIN_PATTERN))]
    pub rclone_config: String,

    /// The section of `rclone.conf` to use, i.e. the rclone remote name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128))]
    pub rclone_config_section: Option<String>,

    /// Where the data lives in object storage, written `bucket[/prefix]`.
    #[schemars(length(min = 3, max = 1088))]
    pub rclone_dest_path: String,

    /// Number of file transfers run in parallel (rclone `--transfers`, default 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 256))]
    pub transfers: Option<i32>,

    /// Number of checkers run in parallel (rclone `--checkers`, default 8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1024))]
    pub checkers: Option<i32>,

    /// Compare files by checksum as well as size, instead of size and modification time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<bool>,

    /// List what a sync would copy and delete without changing anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,

    /// Refuse to delete more than this many files in one sync (rclone `--max-delete`);
    /// the sync then fails and deletes nothing. Unset means no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 2147483647))]
    pub max_delete: Option<i64>,

    /// Refuse a push whose deletions exceed this percentage of the remote's files (the
    /// shrink guard), checked before any deletion; the sync then fails with reason
    /// `ShrinkLimit` and deletes nothing. The annotation `ferry.dev/acknowledge-guards`
    /// lifts it for one sync. Unset means no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub max_delete_percent: Option<i32>,

    /// Exclude patterns in rclone's filter syntax, e.g. `*.tmp`, `/cache/**`, `lost+found/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub exclude: Option<ExcludePatterns>,

    /// Bandwidth limit in rclone's syntax, such as `10M` (MiB/s) or `off`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([oO][fF][fF]|[0-9]+(\.[0-9]+)?[bBkKmMgGtTpP]?)$"))]
    pub bandwidth_limit: Option<String>,
}
