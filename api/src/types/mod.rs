//! The `replication.ferry.dev/v1alpha1` custom resources.
//!
//! Field names follow VolSync's `volsync.backube/v1alpha1`, so a VolSync manifest ports by
//! changing only its `apiVersion`. What the schema can say (enums, ranges, patterns, "exactly
//! one mover", "schedule xor manual") lives here, so the apiserver refuses a bad object even
//! when the webhook is down; what it cannot say lives in [`crate::validate`].

mod common;
mod destination;
mod hooks;
mod restore;
mod source;
mod status;

pub use common::{
    DestinationCopyMethod, ExcludePatterns, MoverResult, RcloneOptions, ServiceType,
    SourceCopyMethod, Trigger, Verify, VerifyMode, VolumeOptions,
};
pub use destination::{
    ReplicationDestination, ReplicationDestinationRclone, ReplicationDestinationRsync,
    ReplicationDestinationSpec,
};
pub use hooks::{
    CaSource, FailurePolicy, Hook, HookMethod, HookResult, HookScheme, HookTls, Hooks, HooksStatus,
    KeyRef,
};
pub use restore::{LastRestore, RestoreFailurePolicy, RestoreOnEmpty, RestoreResult};
pub use source::{
    ObjectLock, ObjectLockMode, ReplicationSource, ReplicationSourceRclone, ReplicationSourceRsync,
    ReplicationSourceSpec,
};
pub use status::{
    DestinationRsyncStatus, LastVerified, MoverStatus, ReplicationDestinationStatus,
    ReplicationSourceStatus, S3Requests, SourceRsyncStatus, SyncStats, SyncStatus,
};

/// The plural resource name of [`ReplicationSource`], as in `kubectl get replicationsources`.
pub const SOURCE_PLURAL: &str = "replicationsources";
/// The plural resource name of [`ReplicationDestination`].
pub const DESTINATION_PLURAL: &str = "replicationdestinations";

/// CEL pattern shared by name fields: a DNS-1123 subdomain, the form of every object name.
pub(crate) const DNS1123_SUBDOMAIN_PATTERN: &str =
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
