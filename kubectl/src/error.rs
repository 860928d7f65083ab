//! What can go wrong in a command, each with what the user should do about it.

/// An error of a `kubectl ferry` command. Its message is what the user reads: it names the
/// object or setting and the fix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The kubeconfig could not be read or has no usable context.
    #[error("cannot load the kubeconfig: {source}; set KUBECONFIG, --kubeconfig or --context")]
    Kubeconfig {
        /// What kube reported.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// A client could not be built from the kubeconfig (TLS material, proxy).
    #[error("cannot build a client from the kubeconfig: {source}")]
    Client {
        /// What kube reported.
        #[source]
        source: kube::Error,
    },
    /// An API call failed.
    #[error("{doing}: {source}")]
    Api {
        /// What was being done, e.g. `listing ReplicationSources in shop`.
        doing: String,
        /// The apiserver's answer or the transport error.
        #[source]
        source: kube::Error,
    },
    /// No Ferry object has that name.
    #[error("no ReplicationSource or ReplicationDestination {name:?} in namespace {namespace}")]
    NotFound {
        /// The namespace searched.
        namespace: String,
        /// The name asked for.
        name: String,
    },
    /// Both kinds have that name.
    #[error(
        "both a ReplicationSource and a ReplicationDestination are named {name:?} in {namespace}: write source/{name} or destination/{name}"
    )]
    Ambiguous {
        /// The namespace searched.
        namespace: String,
        /// The name asked for.
        name: String,
    },
    /// The user asked for something the object or the command cannot do.
    #[error("{0}")]
    Usage(String),
    /// A file could not be read or parsed.
    #[error("{path}: {problem}")]
    File {
        /// The file.
        path: String,
        /// What is wrong with it.
        problem: String,
    },
    /// Writing the output failed (a closed pipe, a full disk).
    #[error("writing the output: {0}")]
    Output(#[source] std::io::Error),
    /// The output could not be encoded.
    #[error("encoding the output: {0}")]
    Encode(String),
    /// A sync, restore or listing ran and failed; the message says why.
    #[error("{0}")]
    Failed(String),
    /// The command was interrupted (SIGINT, SIGTERM).
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    /// An API error with what was being done.
    pub fn api(doing: impl Into<String>) -> impl FnOnce(kube::Error) -> Error {
        let doing = doing.into();
        move |source| Error::Api { doing, source }
    }

    /// The process exit code: 1 for a failed sync, restore or check, 2 for bad usage or
    /// input, 130 when interrupted.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_)
            | Error::File { .. }
            | Error::NotFound { .. }
            | Error::Ambiguous { .. } => 2,
            Error::Interrupted => 130,
            _ => 1,
        }
    }

    /// Whether the API refused because the object or the resource does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Api { source: kube::Error::Api(s), .. } if s.code == 404)
    }
}

/// The result of a command step.
pub type Result<T, E = Error> = std::result::Result<T, E>;
