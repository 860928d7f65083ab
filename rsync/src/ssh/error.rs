//! Errors of the SSH transport and server.

use std::path::PathBuf;

/// What went wrong in an SSH connection, on either end.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A key file could not be read.
    #[error("cannot read key file {path}: {source}")]
    ReadKey {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A key could not be parsed (wrong format, or encrypted).
    #[error("cannot parse the key in {what}: {source}")]
    ParseKey {
        /// Where the key came from (a path, or "the --known-host-key value").
        what: String,
        /// The parser's error.
        #[source]
        source: russh::keys::Error,
    },
    /// The host key to pin holds no usable public key.
    #[error("no public key found in {what}; expected a line such as 'ssh-ed25519 AAAA...'")]
    NoPinnedKey {
        /// Where the keys were looked for.
        what: String,
    },
    /// The TCP connection could not be opened.
    #[error("cannot connect to {address}: {source}")]
    Connect {
        /// The address.
        address: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Nothing happened within the allowed time.
    #[error("timed out after {seconds}s while {during}")]
    Timeout {
        /// What was being waited for.
        during: &'static str,
        /// The limit.
        seconds: u64,
    },
    /// The server presented a host key other than the pinned one.
    #[error(
        "host key mismatch for {address}: the server presented {presented}, but the pinned key \
         is {pinned}; refusing to connect. {hint}"
    )]
    HostKeyMismatch {
        /// The address.
        address: String,
        /// Algorithm and fingerprint of the key the server presented.
        presented: String,
        /// Fingerprints of the pinned keys.
        pinned: String,
        /// What to check, naming the Secret when it is known.
        hint: String,
    },
    /// The server refused our key.
    #[error("{address} refused public key authentication for user {user:?}: {hint}")]
    AuthRejected {
        /// The address.
        address: String,
        /// The user name.
        user: String,
        /// What to check.
        hint: String,
    },
    /// The SSH protocol failed (handshake, channel, connection reset).
    #[error("SSH protocol error with {address}: {source}")]
    Protocol {
        /// The address.
        address: String,
        /// The russh error.
        #[source]
        source: russh::Error,
    },
    /// The server refused the exec request itself.
    #[error("{address} refused to run the command")]
    ExecRefused {
        /// The address.
        address: String,
    },
    /// A local I/O operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The local rsync is missing or too old to serve.
    #[error("{source}")]
    Rsync {
        /// The version check's error.
        #[source]
        source: Box<crate::rsync::Error>,
    },
    /// The configuration cannot work (named setting, and why).
    #[error("{setting}: {problem}")]
    Config {
        /// The setting at fault.
        setting: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// The remote command ran and failed.
    #[error("the remote command exited with status {status}: {stderr}")]
    RemoteFailed {
        /// Its exit status.
        status: u32,
        /// What it printed on standard error.
        stderr: String,
    },
}

impl Error {
    /// How the text of [`Error::HostKeyMismatch`] starts: rsync relays the transport's
    /// error as text, and this is how the push recognises it.
    pub const HOST_KEY_MISMATCH: &'static str = "host key mismatch for ";

    /// Whether the same operation may succeed later: network trouble is retryable, a wrong
    /// key or a host key mismatch is not (it needs a person to look).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Connect { .. } | Error::Timeout { .. } | Error::Protocol { .. } => true,
            Error::Io { .. } => true,
            Error::ReadKey { .. }
            | Error::ParseKey { .. }
            | Error::NoPinnedKey { .. }
            | Error::HostKeyMismatch { .. }
            | Error::AuthRejected { .. }
            | Error::ExecRefused { .. }
            | Error::Rsync { .. }
            | Error::Config { .. }
            | Error::RemoteFailed { .. } => false,
        }
    }
}

/// Shorthand for results of this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;
