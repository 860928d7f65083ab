//! `ReplicationDestination`: where replicated data lands and how it is published.

// kube-derive takes one `printcolumn(...)` per column; clippy reads them as duplicates.
#![allow(clippy::duplicated_attributes)]

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{DestinationCopyMethod, RcloneOptions, ServiceType, Trigger, VolumeOptions};
use super::status::ReplicationDestinationStatus;

/// Where replicated data lands. Bind it to a pod with the annotation
/// `ferry.dev/destination: <name>` and the label `ferry.dev/inject: "true"`; Ferry writes into
/// that pod's volume and publishes each complete sync as `status.latestImage`.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema)]
#[kube(
    group = "replication.ferry.dev",
    version = "v1alpha1",
    kind = "ReplicationDestination",
    namespaced,
    status = "ReplicationDestinationStatus",
    shortname = "rdst",
    category = "ferry",
    doc = "ReplicationDestination receives a replicated volume over rsync+SSH or from S3-compatible object storage and publishes each complete sync.",
    printcolumn(
        name = "PVC",
        type_ = "string",
        json_path = ".spec..destinationPVC",
        description = "The PersistentVolumeClaim written to"
    ),
    printcolumn(
        name = "Method",
        type_ = "string",
        json_path = ".spec..copyMethod",
        description = "How a complete sync is published: Direct or Snapshot"
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
    validation = Rule::new("!(has(self.rsync) && has(self.rclone))").message("spec.rsync and spec.rclone are mutually exclusive: set exactly one mover").reason(Reason::FieldValueForbidden)
)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationDestinationSpec {
    /// Stop scheduling syncs (rclone) or accepting them (rsync); a sync already running
    /// finishes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,

    /// When an rclone destination pulls. An rsync destination is pushed to and ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<Trigger>,

    /// Receive pushes from a source over rsync+SSH.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rsync: Option<ReplicationDestinationRsync>,

    /// Pull from S3-compatible object storage written in rclone's format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rclone: Option<ReplicationDestinationRclone>,
}

/// The rsync-over-SSH mover of a destination: a non-root SSH server that only accepts
/// `rsync --server` into the volume, from the source's key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationDestinationRsync {
    /// The PersistentVolumeClaim to write into. Defaults to the bound pod's volume that the
    /// `ferry.dev/volume` annotation names, or its only PVC volume.
    #[serde(
        rename = "destinationPVC",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(length(min = 1, max = 253), regex(pattern = super::DNS1123_SUBDOMAIN_PATTERN))]
    pub destination_pvc: Option<String>,

    /// How a complete sync is published.
    #[serde(default)]
    pub copy_method: DestinationCopyMethod,

    /// Secret with the keys: `destination` (the host key), `destination.pub` and
    /// `source.pub` (the only key allowed to log in). Generated when unset; its name is
    /// published in `status.rsync.sshKeys`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253), regex(pattern = super::DNS1123_SUBDOMAIN_PATTERN))]
    pub ssh_keys: Option<String>,

    /// Type of the Service that exposes the SSH endpoint.
    #[serde(default)]
    pub service_type: ServiceType,

    /// Port of the Service that exposes the SSH endpoint.
    #[serde(default = "default_service_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,

    /// Annotations for the Service, e.g. for a cloud load balancer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_annotations: Option<BTreeMap<String, String>>,

    /// How many published snapshots to keep; older ones are deleted.
    #[serde(default = "default_retain")]
    #[schemars(range(min = 1, max = 1000))]
    pub retain: i32,

    /// Snapshot options. `capacity`, `accessModes` and `storageClassName` are accepted so
    /// VolSync manifests apply unchanged; Ferry does not provision the destination volume.
    #[serde(flatten)]
    pub volume: VolumeOptions,
}

/// The rclone-compatible S3 mover of a destination: pulls on its trigger, then publishes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationDestinationRclone {
    /// Connection and sync options.
    #[serde(flatten)]
    pub rclone: RcloneOptions,

    /// The PersistentVolumeClaim to write into. Defaults to the bound pod's volume that the
    /// `ferry.dev/volume` annotation names, or its only PVC volume.
    #[serde(
        rename = "destinationPVC",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(length(min = 1, max = 253), regex(pattern = super::DNS1123_SUBDOMAIN_PATTERN))]
    pub destination_pvc: Option<String>,

    /// How a complete sync is published.
    #[serde(default)]
    pub copy_method: DestinationCopyMethod,

    /// How many published snapshots to keep; older ones are deleted.
    #[serde(default = "default_retain")]
    #[schemars(range(min = 1, max = 1000))]
    pub retain: i32,

    /// Snapshot options. `capacity`, `accessModes` and `storageClassName` are accepted so
    /// VolSync manifests apply unchanged; Ferry does not provision the destination volume.
    #[serde(flatten)]
    pub volume: VolumeOptions,
}

/// The SSH port a destination's Service exposes by default: 22, as in VolSync.
fn default_service_port() -> i32 {
    22
}

/// Snapshots kept by default: one, as in VolSync.
fn default_retain() -> i32 {
    1
}
