//! `ReplicationSource`: a volume to replicate, and where to.

// kube-derive takes one `printcolumn(...)` per column; clippy reads them as duplicates.
#![allow(clippy::duplicated_attributes)]

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{RcloneOptions, SourceCopyMethod, Trigger, Verify, VolumeOptions};
use super::hooks::Hooks;
use super::restore::RestoreOnEmpty;
use super::status::ReplicationSourceStatus;

/// What to replicate, when, and through which mover. Bind it to a pod with the annotation
/// `ferry.dev/source: <name>` and the label `ferry.dev/inject: "true"`.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema)]
#[kube(
    group = "replication.ferry.dev",
    version = "v1alpha1",
    kind = "ReplicationSource",
    namespaced,
    status = "ReplicationSourceStatus",
    shortname = "rsrc",
    category = "ferry",
    doc = "ReplicationSource replicates a PersistentVolumeClaim to another cluster over rsync+SSH or to S3-compatible object storage.",
    printcolumn(
        name = "Source",
        type_ = "string",
        json_path = ".spec.sourcePVC",
        description = "The replicated PersistentVolumeClaim"
    ),
    printcolumn(
        name = "Method",
        type_ = "string",
        json_path = ".spec..copyMethod",
        description = "How the volume is read: Direct, Snapshot or Clone"
    ),
    printcolumn(
        name = "Last sync",
        type_ = "date",
        json_path = ".status.lastSyncTime",
        description = "When the last successful sync ended"
    ),
    printcolumn(
        name = "Duration",
        type_ = "string",
        json_path = ".status.lastSyncDuration",
        description = "How long the last successful sync took"
    ),
    printcolumn(
        name = "Next sync",
        // `date` would print a future time as `<invalid>` (kubectl shows ages); VolSync
        // uses a date-time string here too.
        type_ = "string",
        format = "date-time",
        json_path = ".status.nextSyncTime",
        description = "When the next sync is due"
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Synchronizing\")].reason",
        description = "What the sidecar is doing"
    )
)]
#[x_kube(
    validation = Rule::new("has(self.rsync) || has(self.rclone)").message("a mover is required: set spec.rsync or spec.rclone").reason(Reason::FieldValueRequired),
    validation = Rule::new("!(has(self.rsync) && has(self.rclone))").message("spec.rsync and spec.rclone are mutually exclusive: set exactly one mover").reason(Reason::FieldValueForbidden),
    validation = Rule::new("!has(self.rclone) || !has(self.rclone.objectLock) || (has(self.rclone.timestampPrefix) && self.rclone.timestampPrefix)").message("spec.rclone.objectLock needs spec.rclone.timestampPrefix: true: on a mirror every overwrite and deletion of a locked object would fail").reason(Reason::FieldValueForbidden),
    validation = Rule::new("!has(self.rclone) || !has(self.rclone.restoreOnEmpty) || !has(self.rclone.restoreOnEmpty.copy) || (has(self.rclone.timestampPrefix) && self.rclone.timestampPrefix)").message("spec.rclone.restoreOnEmpty.copy names a timestamped copy: set spec.rclone.timestampPrefix: true, or remove copy").reason(Reason::FieldValueInvalid)
)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationSourceSpec {
    /// The PersistentVolumeClaim to replicate, in the same namespace.
    #[serde(rename = "sourcePVC")]
    #[schemars(length(min = 1, max = 253), regex(pattern = super::DNS1123_SUBDOMAIN_PATTERN))]
    pub source_pvc: String,

    /// Stop scheduling syncs; a sync already running finishes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,

    /// When syncs run. Without a trigger Ferry syncs continuously.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<Trigger>,

    /// Push with rsync over SSH, to a Ferry destination or any OpenSSH + rsync host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rsync: Option<ReplicationSourceRsync>,

    /// Push to S3-compatible object storage in rclone's format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rclone: Option<ReplicationSourceRclone>,

    /// HTTP calls to the app in the pod around the cut of each copy, for application-consistent
    /// copies: `preSync` freezes, `postSync` thaws. The pod annotations
    /// `ferry.dev/pre-sync-hook` and `ferry.dev/post-sync-hook` set or override them per pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<Hooks>,
}

/// The rsync-over-SSH mover of a source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationSourceRsync {
    /// Host name or IP address of the destination SSH server; a Ferry destination publishes
    /// it in its `status.rsync.address`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255))]
    pub address: Option<String>,

    /// SSH port of the destination.
    #[serde(default = "default_ssh_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,

    /// User to log in as on the destination. A Ferry destination ignores it; a plain OpenSSH
    /// host needs it. Defaults to `root`, as in VolSync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 32))]
    pub ssh_user: Option<String>,

    /// Secret with the keys: `source` (private), `source.pub` and `destination.pub` (the
    /// destination host key to pin). A Ferry destination publishes its name in
    /// `status.rsync.sshKeys`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253), regex(pattern = super::DNS1123_SUBDOMAIN_PATTERN))]
    pub ssh_keys: Option<String>,

    /// Directory on the destination, relative to its root (the destination volume, or the
    /// user's home on a plain host). `..` is refused.
    #[serde(default = "default_path")]
    #[schemars(length(min = 1, max = 4096))]
    pub path: String,

    /// How the volume is read.
    #[serde(default)]
    pub copy_method: SourceCopyMethod,

    /// Options for snapshot and clone volumes and the mover pod.
    #[serde(flatten)]
    pub volume: VolumeOptions,
}

/// The rclone-compatible S3 mover of a source.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationSourceRclone {
    /// Connection and sync options.
    #[serde(flatten)]
    pub rclone: RcloneOptions,

    /// Write each sync under a new `YYYY-MM-DD-HHMMSS/` prefix instead of mirroring into one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_prefix: Option<bool>,

    /// With `timestampPrefix`, how many timestamped copies to keep; older ones are deleted
    /// after a successful sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub retain: Option<i32>,

    /// S3 Object Lock on each timestamped copy: every object is written locked for
    /// `retainDays`, so nobody (a compromised cluster included) can delete or overwrite it
    /// before then. Needs `timestampPrefix: true` (a mirror overwrites and deletes) and a
    /// bucket created with Object Lock. Pruning (`retain`) leaves a copy until its lock
    /// expires, and says so: choose `retainDays` no longer than `retain` copies last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_lock: Option<ObjectLock>,

    /// Scheduled verification of the newest complete copy against what was pushed. It
    /// never changes the remote. Unset: no verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<Verify>,

    /// Restore the volume from a complete copy when a bound pod starts with it empty,
    /// before the app containers start. Unset: never restore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_on_empty: Option<RestoreOnEmpty>,

    /// How the volume is read.
    #[serde(default)]
    pub copy_method: SourceCopyMethod,

    /// Options for snapshot and clone volumes and the mover pod.
    #[serde(flatten)]
    pub volume: VolumeOptions,
}

/// How each timestamped copy is locked (`spec.rclone.objectLock`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectLock {
    /// `Governance` (default: users with the `s3:BypassGovernanceRetention` permission may
    /// still delete) or `Compliance` (nobody can, not even the bucket's owner).
    #[serde(default)]
    pub mode: ObjectLockMode,
    /// Days each copy stays locked, counted from its push.
    #[schemars(range(min = 1, max = 36500))]
    pub retain_days: i32,
}

/// The S3 Object Lock retention mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ObjectLockMode {
    /// S3's `GOVERNANCE`.
    #[default]
    Governance,
    /// S3's `COMPLIANCE`.
    Compliance,
}

fn default_ssh_port() -> i32 {
    22
}

fn default_path() -> String {
    "/".to_owned()
}
