//! Errors of the Kubernetes operations, each saying what to fix.

use std::time::Duration;

/// What went wrong with an object the sidecar needs or makes.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API refused or failed a call.
    #[error("{action} {kind} {}: {source}", path(.namespace, .name))]
    Api {
        /// What was being done (`creating`, `reading`, ...).
        action: &'static str,
        /// The object's kind.
        kind: &'static str,
        /// Its namespace (empty for a cluster-scoped object).
        namespace: String,
        /// Its name.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },

    /// RBAC denied a call: the sidecar's service account lacks a right the chart grants.
    #[error(
        "{action} {kind} {}: denied ({source}); bind the pod's service account to the \
         ferry-sidecar ClusterRole in this namespace (Helm value sidecarBindings: \
         [{{namespace: {namespace}, serviceAccount: ...}}])",
        path(.namespace, .name)
    )]
    Forbidden {
        /// What was being done.
        action: &'static str,
        /// The object's kind.
        kind: &'static str,
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// The API error, whose message names the service account and the verb.
        #[source]
        source: kube::Error,
    },

    /// An object the sync needs does not exist.
    #[error("{kind} {} does not exist: {hint}", path(.namespace, .name))]
    NotFound {
        /// The object's kind.
        kind: &'static str,
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// Where the name came from and what to fix.
        hint: String,
    },

    /// An object the sidecar was about to create is already there and is not the one it
    /// would have made.
    #[error("{kind} {} already exists: {hint}", path(.namespace, .name))]
    AlreadyExists {
        /// The object's kind.
        kind: &'static str,
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// Why it is in the way and what to do.
        hint: String,
    },

    /// Something did not happen in time.
    #[error("timed out after {}s waiting for {what}{}", .waited.as_secs(), last_seen(.last))]
    Timeout {
        /// What was awaited, naming the object.
        what: String,
        /// How long it was awaited.
        waited: Duration,
        /// The last thing seen on the object (its error or its phase), if anything.
        last: Option<String>,
    },

    /// A VolumeSnapshot will never become ready (it was deleted while awaited).
    #[error("VolumeSnapshot {namespace}/{name} failed: {message}")]
    SnapshotFailed {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// What happened.
        message: String,
    },

    /// The VolumeSnapshotClass named in the CR does not exist.
    #[error(
        "VolumeSnapshotClass {name} does not exist: set volumeSnapshotClassName (in the \
         spec's rsync or rclone section) to one listed by `kubectl get volumesnapshotclass`, \
         or omit it to use the default class of the volume's CSI driver"
    )]
    SnapshotClassMissing {
        /// The class name from the CR.
        name: String,
    },

    /// The mover pod ended without a phase to read (it was deleted while it ran).
    #[error("mover pod {namespace}/{name} failed: {message}")]
    MoverFailed {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// What happened.
        message: String,
    },
}

impl Error {
    /// Whether trying the same call again later may succeed: transport failures, server
    /// errors, throttling and timeouts, but not refusals that need a change of config.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Api { source, .. } => retryable(source),
            Self::Timeout { .. } | Self::MoverFailed { .. } | Self::SnapshotFailed { .. } => true,
            Self::Forbidden { .. }
            | Self::NotFound { .. }
            | Self::AlreadyExists { .. }
            | Self::SnapshotClassMissing { .. } => false,
        }
    }

    /// Wraps an API error of `action` on `kind` `namespace/name`, telling RBAC refusals apart.
    pub(crate) fn api(
        action: &'static str,
        kind: &'static str,
        namespace: &str,
        name: &str,
    ) -> impl FnOnce(kube::Error) -> Self {
        let (namespace, name) = (namespace.to_owned(), name.to_owned());
        move |source| {
            if matches!(&source, kube::Error::Api(s) if s.is_forbidden()) {
                Self::Forbidden {
                    action,
                    kind,
                    namespace,
                    name,
                    source,
                }
            } else {
                Self::Api {
                    action,
                    kind,
                    namespace,
                    name,
                    source,
                }
            }
        }
    }
}

/// Whether an API error is worth another try: Ferry's one policy.
pub(crate) use ferry_kube::retry::is_retryable as retryable;

/// Whether `error` is the server saying the object does not exist.
pub(crate) fn is_not_found(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(s) if s.is_not_found())
}

/// Whether `error` is the server saying the object already exists.
pub(crate) fn is_already_exists(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(s) if s.is_already_exists())
}

/// `namespace/name`, or `name` alone for a cluster-scoped object.
fn path(namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        name.to_owned()
    } else {
        format!("{namespace}/{name}")
    }
}

fn last_seen(last: &Option<String>) -> String {
    last.as_deref()
        .map(|l| format!(" (last seen: {l})"))
        .unwrap_or_default()
}

/// Results of this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_object_and_the_fix() {
        let timeout = Error::Timeout {
            what: "VolumeSnapshot ns/snap to be readyToUse".into(),
            waited: Duration::from_secs(300),
            last: Some("Failed to check and update snapshot content".into()),
        };
        assert_eq!(
            timeout.to_string(),
            "timed out after 300s waiting for VolumeSnapshot ns/snap to be readyToUse \
             (last seen: Failed to check and update snapshot content)"
        );
        let class = Error::SnapshotClassMissing {
            name: "fast".into(),
        };
        assert!(
            class.to_string().starts_with(
                "VolumeSnapshotClass fast does not exist: set volumeSnapshotClassName"
            )
        );
        assert!(!class.is_retryable());
        let missing = Error::NotFound {
            kind: "PersistentVolumeClaim",
            namespace: "shop".into(),
            name: "data".into(),
            hint: "fix spec.sourcePVC".into(),
        };
        assert_eq!(
            missing.to_string(),
            "PersistentVolumeClaim shop/data does not exist: fix spec.sourcePVC"
        );
    }

    #[test]
    fn refusals_are_told_from_failures() {
        let status = |code: u16, reason: &str| {
            kube::Error::Api(
                kube::core::Status::failure("no", reason)
                    .with_code(code)
                    .boxed(),
            )
        };
        let forbidden = Error::api("creating", "Pod", "shop", "m")(status(403, "Forbidden"));
        assert!(matches!(forbidden, Error::Forbidden { .. }), "{forbidden}");
        assert!(forbidden.to_string().contains("sidecarBindings"));
        assert!(!forbidden.is_retryable());
        let busy = Error::api("reading", "Pod", "shop", "m")(status(503, "ServiceUnavailable"));
        assert!(busy.is_retryable());
        let invalid = Error::api("creating", "Pod", "shop", "m")(status(422, "Invalid"));
        assert!(!invalid.is_retryable());
        assert!(is_not_found(&status(404, "NotFound")));
        assert!(is_already_exists(&status(409, "AlreadyExists")));
    }
}
