//! The pod label and annotations through which users opt a workload in, as documented
//! constants, and [`PodAnnotations`], their typed form.
//!
//! Opt-in is a label, not an annotation, because a webhook's `objectSelector` can only match
//! labels: pods that did not opt in never reach the webhook, so its outage cannot block them.

use std::collections::BTreeMap;

use jiff::tz::TimeZone;

use crate::rules::cron::Schedule;

/// Label that opts a pod into injection. Its value must be `"true"`.
pub const INJECT_LABEL: &str = "ferry.dev/inject";
/// Label the webhook puts on a destination pod, naming its ReplicationDestination, so the
/// destination's Service can select the pod.
pub const DESTINATION_LABEL: &str = "ferry.dev/destination";
/// Label on the mover pods the sidecar runs for `Snapshot` and `Clone`.
pub const MOVER_LABEL: &str = "ferry.dev/mover";
/// Namespace label that allows movers to run as root, to preserve file ownership.
pub const PRIVILEGED_MOVERS_LABEL: &str = "ferry.dev/privileged-movers";

/// Annotation binding the pod to a ReplicationSource in its namespace.
pub const SOURCE: &str = "ferry.dev/source";
/// Annotation binding the pod to a ReplicationDestination in its namespace.
pub const DESTINATION: &str = "ferry.dev/destination";
/// Annotation overriding the CR's `spec.trigger.schedule` for this pod.
pub const SCHEDULE: &str = "ferry.dev/schedule";
/// Annotation overriding the CR's `spec.trigger.timeZone` for this pod.
pub const TIME_ZONE: &str = "ferry.dev/time-zone";
/// Annotation overriding the CR's `spec.trigger.jitter` for this pod (`90s`, `10m`,
/// `1h30m`; `0s` turns it off).
pub const JITTER: &str = "ferry.dev/jitter";
/// Annotation naming the pod volume to replicate; by default the one whose claim is the CR's
/// PVC.
pub const VOLUME: &str = "ferry.dev/volume";
/// Annotation forcing (`true`) or refusing (`false`) the native-sidecar form for this pod.
pub const NATIVE_SIDECAR: &str = "ferry.dev/native-sidecar";
/// Annotation setting the sidecar's CPU request and limit, a quantity such as `100m`.
pub const SIDECAR_CPU: &str = "ferry.dev/sidecar-cpu";
/// Annotation setting the sidecar's memory request and limit, a quantity such as `128Mi`.
pub const SIDECAR_MEMORY: &str = "ferry.dev/sidecar-memory";
/// Annotation setting the user the sidecar runs as; by default the app container's.
pub const RUN_AS_USER: &str = "ferry.dev/run-as-user";
/// Annotation asking this pod to restore its empty volume before the app starts (as the
/// source's `spec.rclone.restoreOnEmpty`): `"true"` (the copy the CR names, else the newest
/// complete one), a timestamped copy `YYYY-MM-DD-HHMMSS`, or `"false"` (never, whatever
/// the CR says).
pub const RESTORE_ON_EMPTY: &str = "ferry.dev/restore-on-empty";
/// Annotation choosing what this pod does when its restore fails: `Block` (the app does not
/// start) or `StartEmpty`; overrides `spec.rclone.restoreOnEmpty.onFailure`.
pub const RESTORE_ON_FAILURE: &str = "ferry.dev/restore-on-failure";
/// Annotation setting this pod's `preSync` hook, `[METHOD ]URL` to the pod's loopback, such
/// as `POST http://127.0.0.1:8080/freeze`; overrides `spec.hooks.preSync`'s method and target
/// and keeps its other settings.
pub const PRE_SYNC_HOOK: &str = "ferry.dev/pre-sync-hook";
/// Annotation setting this pod's `postSync` hook, as [`PRE_SYNC_HOOK`], such as
/// `POST http://127.0.0.1:8080/thaw`.
pub const POST_SYNC_HOOK: &str = "ferry.dev/post-sync-hook";
/// Annotation setting the timeout of this pod's hooks, in whole seconds (`10` or `10s`).
pub const HOOK_TIMEOUT: &str = "ferry.dev/hook-timeout";
/// Annotation setting the failure policy of this pod's hooks: `Fail` or `Continue`.
pub const HOOK_FAILURE_POLICY: &str = "ferry.dev/hook-failure-policy";
/// Annotation the webhook writes after injecting (JSON: version and what it added); a pod
/// carrying it is never injected twice.
pub const INJECTED: &str = "ferry.dev/injected";

/// Annotation on a ReplicationSource or ReplicationDestination that acknowledges, once, what
/// a guard refused: an empty source over a non-empty remote (`SourceEmpty`), deletions over
/// `maxDeletePercent` (`ShrinkLimit`), or pruning more than one copy or snapshot beyond
/// `retain` (`RetentionLimit`). Set it to the current time (e.g. `date -u +%FT%TZ`); the
/// next sync runs without those guards and records the value in
/// `status.acknowledgedGuards`, so the same value never acknowledges twice.
pub const ACKNOWLEDGE_GUARDS: &str = "ferry.dev/acknowledge-guards";

/// The prefix shared by every Ferry key; an unknown key under it is most likely a typo.
pub const PREFIX: &str = "ferry.dev/";

/// Every annotation key Ferry reads or writes on a pod, for typo detection and the reference.
pub const ALL: [&str; 17] = [
    SOURCE,
    DESTINATION,
    SCHEDULE,
    TIME_ZONE,
    JITTER,
    VOLUME,
    NATIVE_SIDECAR,
    SIDECAR_CPU,
    SIDECAR_MEMORY,
    RUN_AS_USER,
    RESTORE_ON_EMPTY,
    RESTORE_ON_FAILURE,
    PRE_SYNC_HOOK,
    POST_SYNC_HOOK,
    HOOK_TIMEOUT,
    HOOK_FAILURE_POLICY,
    INJECTED,
];

/// Every annotation key Ferry reads on its CRs (not on pods), for the reference.
pub const CR_ANNOTATIONS: [&str; 1] = [ACKNOWLEDGE_GUARDS];

/// Every label key Ferry reads or writes (on pods, and `PRIVILEGED_MOVERS_LABEL` on
/// namespaces), for the reference in `docs/reference/annotations.md`.
pub const LABELS: [&str; 4] = [
    INJECT_LABEL,
    DESTINATION_LABEL,
    MOVER_LABEL,
    PRIVILEGED_MOVERS_LABEL,
];

/// Which replication object the pod binds, and so which role its sidecar plays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Binding {
    /// The pod's volume is replicated by the named ReplicationSource.
    Source(String),
    /// The pod's volume receives data for the named ReplicationDestination.
    Destination(String),
}

impl Binding {
    /// The bound object's name.
    pub fn name(&self) -> &str {
        match self {
            Self::Source(name) | Self::Destination(name) => name,
        }
    }
}

/// What a pod's `ferry.dev/restore-on-empty` asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RestoreRequest {
    /// `"true"`: restore the copy the CR names, else the newest complete one.
    Yes,
    /// A timestamped copy, `YYYY-MM-DD-HHMMSS`.
    Copy(String),
    /// `"false"`: never restore this pod's volume.
    No,
}

/// The ferry annotations of one pod, parsed and checked. Built by
/// [`crate::validate_pod_annotations`].
#[derive(Clone, Debug, PartialEq)]
pub struct PodAnnotations {
    /// The bound ReplicationSource or ReplicationDestination.
    pub binding: Binding,
    /// The schedule that overrides the CR's.
    pub schedule: Option<Schedule>,
    /// The time zone that overrides the CR's.
    pub time_zone: Option<TimeZone>,
    /// The jitter that overrides the CR's, as written (already checked to be a duration).
    pub jitter: Option<String>,
    /// The pod volume to replicate.
    pub volume: Option<String>,
    /// Force or refuse the native-sidecar form.
    pub native_sidecar: Option<bool>,
    /// The sidecar's CPU, as written (already checked to be a quantity).
    pub sidecar_cpu: Option<String>,
    /// The sidecar's memory, as written (already checked to be a quantity).
    pub sidecar_memory: Option<String>,
    /// The user the sidecar runs as.
    pub run_as_user: Option<i64>,
    /// Restore an empty volume before the app starts.
    pub restore: Option<RestoreRequest>,
    /// What to do when that restore fails.
    pub restore_on_failure: Option<crate::types::RestoreFailurePolicy>,
    /// The hook settings that override `spec.hooks` for this pod.
    pub hooks: crate::validate::HookOverrides,
    /// Whether the webhook already injected this pod.
    pub injected: bool,
}

/// Reads the annotation map of a pod from its raw JSON (`metadata.annotations`), ignoring
/// values that are not strings (the apiserver refuses those before any webhook runs).
pub fn from_pod_json(pod: &serde_json::Value) -> BTreeMap<String, String> {
    crate::json::get(pod, "/metadata/annotations")
        .and_then(serde_json::Value::as_object)
        .map(|map| {
            map.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}
