//! The pod runner's errors.

/// What can go wrong while running a pod.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A call to the apiserver failed.
    #[error("{what}: {source}")]
    Kube {
        /// What the call was for.
        what: String,
        /// The client's error.
        #[source]
        source: kube::Error,
    },
    /// Something the pod needs is not there yet (an unbound PVC, a missing Secret); the pod
    /// waits for it, as it would on a kubelet.
    #[error("waiting: {0}")]
    NotReady(String),
    /// The pod asks for something the runner does not do (an unknown volume type, a field path
    /// it cannot resolve); the pod fails with this message.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A file or process operation on this machine failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, with the path.
        what: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Sending a signal to a process group failed.
    #[error("signalling process group {pgid}: {source}")]
    Signal {
        /// The process group.
        pgid: i32,
        /// The operating system's error.
        #[source]
        source: nix::Error,
    },
    /// The runner's configuration is unusable (bad kubeconfig, no server address).
    #[error("configuration: {0}")]
    Config(String),
}

/// The runner's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// True when waiting and trying again may succeed: the pod stays Pending meanwhile.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::NotReady(_) => true,
            // A not-found object may appear later (a Secret created after the pod); other API
            // failures (conflicts, timeouts, 5xx) are transient too, except a refusal.
            Self::Kube { source, .. } => !matches!(
                source,
                kube::Error::Api(status) if matches!(status.code, 400 | 403 | 422)
            ),
            Self::Unsupported(_) | Self::Io { .. } | Self::Signal { .. } | Self::Config(_) => false,
        }
    }

    /// Wraps a client error with what the call was for.
    pub(crate) fn kube(what: impl Into<String>, source: kube::Error) -> Self {
        Self::Kube {
            what: what.into(),
            source,
        }
    }

    /// Wraps an I/O error with what was being done.
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }
}
