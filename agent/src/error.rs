//! Why a sync failed, in words that say what to fix. The `Display` of each variant is what
//! lands in the `Synchronizing` condition, the `SyncFailed` Event and the mover status, so
//! it never carries a secret.

use std::time::Duration;

/// A failure of the sidecar's work.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting of the environment the webhook injects is missing or wrong.
    #[error("environment variable {name}: {problem}; the webhook sets it, so re-create the pod")]
    Env {
        /// The variable.
        name: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// The CR does not exist (any more).
    #[error(
        "{kind} {namespace}/{name} does not exist; create it, or fix the pod's ferry.dev annotation"
    )]
    MissingResource {
        /// The kind.
        kind: &'static str,
        /// The namespace.
        namespace: String,
        /// The name.
        name: String,
    },
    /// A Secret the CR names is missing, or lacks a key.
    #[error("Secret {namespace}/{name} (from {field}): {problem}")]
    Secret {
        /// The field that names the Secret.
        field: &'static str,
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// What is wrong, with the fix.
        problem: String,
    },
    /// The pod's service account may not do something the sidecar needs.
    #[error(
        "forbidden while {action}: service account {service_account} lacks the right; bind ClusterRole ferry-sidecar to it in namespace {namespace} (helm value sidecarBindings)"
    )]
    Forbidden {
        /// The service account.
        service_account: String,
        /// The namespace.
        namespace: String,
        /// What it tried.
        action: String,
    },
    /// The CR asks for something this sidecar cannot do.
    #[error("{field}: {problem}")]
    Spec {
        /// The CR field.
        field: &'static str,
        /// What is wrong, with the fix.
        problem: String,
    },
    /// Reading or writing an object failed.
    #[error("{action}: {source}")]
    Api {
        /// What was being done.
        action: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Snapshot, claim or mover operations failed.
    #[error(transparent)]
    Objects(Box<crate::objects::Error>),
    /// The S3 engine failed, in process (`ferry-sidecar mover`); the source is the engine's
    /// error, boxed because this crate does not depend on the engine.
    #[error("rclone: {0}")]
    S3(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The S3 engine, in process, failed in a way only a change can fix (refused
    /// credentials, a missing bucket, a bad setting): the sidecar waits for one.
    #[error("rclone: {0}")]
    S3Fatal(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The engine process failed in a way only a change can fix; its error's text.
    #[error("{0}")]
    EngineFatal(String),
    /// Paths of the source cannot be read: the sync fails, names them and the fix; what
    /// could be read was copied, nothing was deleted, nothing partial was published.
    #[error("{}", ferry_api::contract::guard::unreadable_text(*count, paths))]
    Unreadable {
        /// How many paths.
        count: u64,
        /// The first of them (up to ten), relative to the volume.
        paths: Vec<String>,
    },
    /// A guard refused the sync before it changed the remote.
    #[error("{0}")]
    Refused(ferry_api::contract::guard::Refusal),
    /// The S3 sync finished with errors on some files; nothing was deleted.
    #[error(
        "rclone: {errors} file(s) failed; nothing was deleted on the destination, the next sync retries them"
    )]
    S3Partial {
        /// How many.
        errors: u64,
    },
    /// The S3 engine process failed; the message is its error's text.
    #[error("{0}")]
    Engine(String),
    /// rsync or its transport failed.
    #[error("rsync: {0}")]
    Rsync(#[from] ferry_rsync::rsync::Error),
    /// The SSH server could not start.
    #[error("ssh server: {0}")]
    Ssh(#[from] ferry_rsync::ssh::Error),
    /// The mover pod failed.
    #[error("mover pod {name} failed: {message}")]
    Mover {
        /// The pod.
        name: String,
        /// What it reported.
        message: String,
        /// The reason word of its failure, when it reported one.
        reason: Option<String>,
        /// Whether only a change can fix its failure.
        needs_change: bool,
    },
    /// A consistency hook failed and its failure policy is `Fail`; the message names the
    /// hook, its target and what happened (never a header value).
    #[error("{message}")]
    Hook {
        /// What happened, with the consequence.
        message: String,
    },
    /// The source PVC asks for a copy trigger and none came in time.
    #[error("{message}")]
    CopyTrigger {
        /// What to set.
        message: String,
    },
    /// SIGTERM arrived during the sync.
    #[error(
        "sync interrupted: the sidecar received SIGTERM (pod deleted or evicted); it did not finish, nothing was published, the next sync starts over"
    )]
    Interrupted,
    /// The sync ran longer than allowed.
    #[error("the sync did not finish within {0:?}")]
    TimedOut(Duration),
    /// Local files (the scratch directory, the volume).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl From<crate::objects::Error> for Error {
    fn from(e: crate::objects::Error) -> Error {
        Error::Objects(Box::new(e))
    }
}

impl Error {
    /// The reason word of the `Synchronizing` condition, the Event and the failure
    /// metric: the guard's (`SourceEmpty`, ...), `SourceUnreadable`, `Interrupted`, else
    /// `Error` (whether or not only a change fixes it: the message says which).
    pub fn reason(&self) -> &str {
        match self {
            Error::Mover {
                reason: Some(reason),
                ..
            } => reason,
            Error::Refused(refusal) => refusal.guard.reason(),
            Error::Unreadable { .. } => "SourceUnreadable",
            Error::Interrupted => "Interrupted",
            Error::Hook { .. } => "HookFailed",
            Error::CopyTrigger { .. } => "CopyTriggerTimeout",
            _ => "Error",
        }
    }

    /// Whether retrying cannot help until the spec or a Secret changes: a missing or bad
    /// Secret or setting, credentials the server refused, a missing bucket, a pinned host
    /// key that does not match. The sidecar then waits for a change instead of retrying.
    pub fn needs_change(&self) -> bool {
        match self {
            Error::Secret { .. }
            | Error::Spec { .. }
            | Error::S3Fatal(_)
            | Error::EngineFatal(_) => true,
            Error::Mover { needs_change, .. } => *needs_change,
            Error::Rsync(e) => e.is_host_key_mismatch(),
            _ => false,
        }
    }
}

/// Results of the agent.
pub type Result<T, E = Error> = std::result::Result<T, E>;
