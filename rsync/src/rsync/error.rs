//! Errors of the rsync mover.

use std::path::PathBuf;

/// What went wrong running rsync.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The rsync binary could not be started (missing or not executable).
    #[error("cannot run {program}: {source}; install rsync 3.2 or later")]
    Spawn {
        /// The program that was run.
        program: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// `rsync --version` printed something we do not understand.
    #[error("cannot read the version of {program} from its output {output:?}")]
    VersionUnreadable {
        /// The program that was run.
        program: PathBuf,
        /// Its first output line.
        output: String,
    },
    /// The local rsync is older than Ferry supports.
    #[error("{program} is rsync {found}; Ferry needs rsync {required} or later")]
    VersionTooOld {
        /// The program that was run.
        program: PathBuf,
        /// The version found.
        found: super::Version,
        /// The minimum version.
        required: super::Version,
    },
    /// rsync ran and failed.
    #[error("rsync exited with {}: {stderr_tail}", status.map_or("a signal".to_string(), |c| format!("status {c}")))]
    Failed {
        /// The exit code, or `None` when rsync was killed by a signal.
        status: Option<i32>,
        /// The last lines of its standard error.
        stderr_tail: String,
    },
    /// rsync could not read paths of the source (exit 23 with the sender's "Permission
    /// denied"): it copied the rest and deleted nothing ("IO error encountered -- skipping
    /// file deletion"), and no completion was signalled.
    #[error("{}", ferry_api::contract::guard::unreadable_text(*count, paths))]
    Unreadable {
        /// How many paths.
        count: u64,
        /// The first of them, relative to the source directory.
        paths: Vec<String>,
    },
    /// A path or option cannot be passed to rsync safely.
    #[error("cannot pass {what} to rsync: {reason}")]
    Argument {
        /// The offending value.
        what: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The transfer succeeded but the destination refused the completion signal.
    #[error("the destination refused the completion signal: {source}")]
    Completion {
        /// Why the completion signal failed.
        #[source]
        source: crate::ssh::Error,
    },
}

impl Error {
    /// Whether the transport refused the destination's host key: only a person can fix
    /// that (a re-created destination, or an attack), so it is not retried in a loop. The
    /// transport is a child of rsync, so its error arrives as text on rsync's standard
    /// error; [`crate::ssh::Error::HOST_KEY_MISMATCH`] is the start of that error's text.
    pub fn is_host_key_mismatch(&self) -> bool {
        match self {
            Error::Failed { stderr_tail, .. } => {
                stderr_tail.contains(crate::ssh::Error::HOST_KEY_MISMATCH)
            }
            Error::Completion { source } => {
                matches!(source, crate::ssh::Error::HostKeyMismatch { .. })
            }
            _ => false,
        }
    }

    /// Whether running the same push again may succeed without a change of configuration.
    /// rsync's own transient exit codes (network, timeouts, partial transfers, vanished files)
    /// are retryable; usage errors, protocol mismatches and a missing or old rsync are not.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Failed { status, .. } => match status {
                // 10 socket I/O, 11 file I/O, 12 protocol stream, 20 signal, 23 partial,
                // 24 vanished source files, 30 timeout, 35 daemon timeout, 255 ssh
                Some(code) => matches!(code, 10 | 11 | 12 | 20 | 23 | 24 | 30 | 35 | 255),
                None => true,
            },
            Error::Completion { source } => source.is_retryable(),
            Error::Spawn { .. }
            | Error::Unreadable { .. }
            | Error::VersionUnreadable { .. }
            | Error::VersionTooOld { .. }
            | Error::Argument { .. } => false,
        }
    }
}
