//! Restore on first start (DESIGN.md §8): an rclone source whose pod starts with an empty
//! volume fills it from a complete copy before the app containers start, so that a cluster
//! rebuilt from Git brings its apps back with their data, and the next push never replaces
//! the good copy with an empty volume.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What the pod does when the restore fails (the remote unreachable, bad credentials, a
/// named copy missing).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum RestoreFailurePolicy {
    /// The app containers do not start; the pod shows why and what to fix (the sidecar's
    /// startup probe, or the restore init container's termination message), and the
    /// restore is retried.
    #[default]
    Block,
    /// The app starts on the empty volume, with a Warning Event; the source refuses to push
    /// until the `ferry.dev/acknowledge-guards` annotation acknowledges it, so the empty
    /// volume never replaces the copy on the remote.
    StartEmpty,
}

impl RestoreFailurePolicy {
    /// The policy as written in the spec and the pod annotation.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Block => "Block",
            Self::StartEmpty => "StartEmpty",
        }
    }

    /// The policy written `text`, if it is one.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "Block" => Some(Self::Block),
            "StartEmpty" => Some(Self::StartEmpty),
            _ => None,
        }
    }
}

/// Restore the volume when a pod bound to this source starts with it empty (no entry but
/// `lost+found`). A volume that holds data is never touched; a remote without a complete
/// copy means a fresh start, recorded in `status.lastRestore`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestoreOnEmpty {
    /// The timestamped copy to restore, `YYYY-MM-DD-HHMMSS` (needs `timestampPrefix`).
    /// Unset: the newest complete copy (with `timestampPrefix`) or the prefix itself once a
    /// push stored its manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{6}$"))]
    pub copy: Option<String>,

    /// `Block` (default): the app does not start until a restore succeeds. `StartEmpty`:
    /// the app starts empty, and pushes wait for an acknowledgement.
    #[serde(default)]
    pub on_failure: RestoreFailurePolicy,
}

/// The outcome of a restore step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum RestoreResult {
    /// A copy was restored into the empty volume.
    Restored,
    /// Nothing was restored: the volume holds data, or the remote has no complete copy
    /// (a fresh start). The message says which.
    Skipped,
    /// The restore failed; the message says what to fix.
    Failed,
}

/// The last restore step of a pod bound to this source.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LastRestore {
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Time>,
    /// The pod whose volume it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// `Restored`, `Skipped` or `Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<RestoreResult>,
    /// The copy restored: its `YYYY-MM-DD-HHMMSS` name, or the prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy: Option<String>,
    /// Files written into the volume.
    #[serde(default)]
    pub files: i64,
    /// Bytes written into the volume.
    #[serde(default)]
    pub bytes: i64,
    /// How long it took, e.g. `12.5s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// What happened, and for a failure what to fix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Set when the app started on an empty volume after a failed restore
    /// (`onFailure: StartEmpty`): pushes are refused until the `ferry.dev/acknowledge-guards`
    /// annotation acknowledges it; cleared by the first acknowledged push.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushes_held: Option<bool>,
}
