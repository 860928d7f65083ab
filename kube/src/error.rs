//! What can go wrong in the shared mechanics.

/// A failure of the Lease elector.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A call to the Kubernetes API failed.
    #[error("Kubernetes API call failed: {action}")]
    Api {
        /// What was being attempted, e.g. "get Lease".
        action: &'static str,
        /// The client's error.
        #[source]
        source: kube::Error,
    },
}

/// Results of the shared mechanics.
pub type Result<T, E = Error> = std::result::Result<T, E>;
