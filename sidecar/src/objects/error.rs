//! Errors of the Kubernetes operations, each saying what to fix.

/// What went wrong with an object the sidecar needs or makes.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API refused or failed a call.
    #[error("{action} {kind} {namespace}/{name}: {source}")]
    Api {
        /// What was being done (`creating`, `reading`, ...).
        action: &'static str,
        /// The object's kind.
        kind: &'static str,
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// Results of this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;
