//! The names of the environment variables the webhook (or the agent, for a mover pod) sets
//! and the sidecar reads (DESIGN.md §3). Nothing is set that is not read: a test renders the
//! webhook's container and reads it back with the agent's reader.

/// The pod's name (downward API).
pub const POD_NAME: &str = "POD_NAME";
/// The pod's namespace (downward API).
pub const POD_NAMESPACE: &str = "POD_NAMESPACE";
/// The pod's UID (downward API).
pub const POD_UID: &str = "POD_UID";
/// The pod's IP (downward API): where the SSH server and the metrics listen.
pub const POD_IP: &str = "POD_IP";
/// The pod's service account (downward API), named in RBAC errors.
pub const SERVICE_ACCOUNT: &str = "SERVICE_ACCOUNT";
/// `source` or `destination`, see [`super::Role`].
pub const FERRY_ROLE: &str = "FERRY_ROLE";
/// The name of the bound CR.
pub const FERRY_OBJECT: &str = "FERRY_OBJECT";
/// The pod volume replicated.
pub const FERRY_VOLUME: &str = "FERRY_VOLUME";
/// Where that volume is mounted in the sidecar.
pub const FERRY_VOLUME_PATH: &str = "FERRY_VOLUME_PATH";
/// The pod's schedule override (`ferry.dev/schedule`).
pub const FERRY_SCHEDULE: &str = "FERRY_SCHEDULE";
/// The pod's time-zone override (`ferry.dev/time-zone`).
pub const FERRY_TIME_ZONE: &str = "FERRY_TIME_ZONE";
/// The pod's jitter override (`ferry.dev/jitter`).
pub const FERRY_JITTER: &str = "FERRY_JITTER";
/// The metrics port, when not [`super::METRICS_PORT`].
pub const FERRY_METRICS_PORT: &str = "FERRY_METRICS_PORT";
/// The rsync program, when not `rsync` on `PATH`.
pub const FERRY_RSYNC: &str = "FERRY_RSYNC";
/// The sidecar's private writable directory, when not below the system temp directory.
pub const FERRY_SCRATCH_DIR: &str = "FERRY_SCRATCH_DIR";

/// `true` when this container runs the restore step before the app starts (the webhook
/// held the app back for it).
pub const FERRY_RESTORE: &str = "FERRY_RESTORE";
/// The copy the pod's `ferry.dev/restore-on-empty` names, over the CR's.
pub const FERRY_RESTORE_COPY: &str = "FERRY_RESTORE_COPY";
/// The pod's `ferry.dev/restore-on-failure`, over the CR's `onFailure`.
pub const FERRY_RESTORE_ON_FAILURE: &str = "FERRY_RESTORE_ON_FAILURE";

/// Every name above: what a sidecar container's environment may hold.
pub const ALL: [&str; 18] = [
    POD_NAME,
    POD_NAMESPACE,
    POD_UID,
    POD_IP,
    SERVICE_ACCOUNT,
    FERRY_ROLE,
    FERRY_OBJECT,
    FERRY_VOLUME,
    FERRY_VOLUME_PATH,
    FERRY_SCHEDULE,
    FERRY_TIME_ZONE,
    FERRY_JITTER,
    FERRY_METRICS_PORT,
    FERRY_RSYNC,
    FERRY_SCRATCH_DIR,
    FERRY_RESTORE,
    FERRY_RESTORE_COPY,
    FERRY_RESTORE_ON_FAILURE,
];
