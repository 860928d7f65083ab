//! The errors of the S3 engine. Each says whether it may be retried ([`Error::is_retryable`])
//! or must stop the whole sync ([`Error::is_fatal`]); fatal ones name the setting to fix.

use std::path::PathBuf;

/// Any error a cause can be boxed into.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The result type of the S3 engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure an S3 request met, as far as retrying is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// 503 SlowDown, 429 and the like: back off and retry.
    Throttled,
    /// A 5xx answer.
    Server,
    /// No answer in time.
    Timeout,
    /// The connection failed, was reset or closed early.
    Connection,
    /// The object does not exist.
    NotFound,
    /// The multipart upload does not exist (any more): completed or aborted, perhaps by an
    /// earlier try of the same request whose answer was lost.
    NoSuchUpload,
    /// Any other 4xx answer: retrying will not help.
    Client(u16),
    /// The request could not be built (a bug or a bad setting).
    Construction,
}

/// An error of the S3 engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting is missing or wrong; the message names it and the fix.
    #[error("{setting}: {problem}; {fix}")]
    Config {
        /// Where the setting lives, e.g. `access_key_id in [minio] of rclone.conf`.
        setting: String,
        /// What is wrong with it.
        problem: String,
        /// What to do about it.
        fix: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// The server refused the credentials (or their permissions).
    #[error(
        "{setting}: the server refused them ({code}); fix the keys or grant them access to the bucket"
    )]
    Auth {
        /// The credential settings.
        setting: String,
        /// The S3 error code, e.g. `InvalidAccessKeyId`.
        code: String,
        /// The SDK error.
        #[source]
        source: BoxError,
    },
    /// The bucket does not exist.
    #[error("bucket \"{bucket}\" in {setting} does not exist; create it, or fix the bucket name")]
    NoSuchBucket {
        /// The bucket name.
        bucket: String,
        /// The argument or setting that named it.
        setting: String,
        /// The SDK error.
        #[source]
        source: BoxError,
    },
    /// The endpoint cannot be reached at all.
    #[error(
        "{setting}: cannot reach {endpoint} ({reason}); check the host, the port and that the server is running"
    )]
    Unreachable {
        /// The endpoint setting.
        setting: String,
        /// The endpoint URL.
        endpoint: String,
        /// Why, in a few words.
        reason: String,
        /// The SDK error.
        #[source]
        source: BoxError,
    },
    /// An S3 request failed.
    #[error("{op} {key}: {message}")]
    Request {
        /// The operation, e.g. `PutObject`.
        op: &'static str,
        /// The object key (or bucket) it was about.
        key: String,
        /// How it failed.
        class: Class,
        /// The server's or the client's words.
        message: String,
        /// The SDK error.
        #[source]
        source: BoxError,
    },
    /// A local file operation failed.
    #[error("{}: {op}: {source}", path.display())]
    Local {
        /// What was being done, e.g. `read`.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file changed while it was being uploaded; nothing torn was stored.
    #[error("{}: changed while being uploaded (size or mtime differ before and after); not stored, retry when it is quiet", path.display())]
    SourceChanged {
        /// The file.
        path: PathBuf,
    },
    /// Transferred data does not match its checksum or size.
    #[error("{key}: {what} mismatch after transfer (expected {expected}, got {got})")]
    Corrupt {
        /// The object key.
        key: String,
        /// `size` or `MD5`.
        what: &'static str,
        /// What it should have been.
        expected: String,
        /// What arrived.
        got: String,
    },
    /// CompleteMultipartUpload answered `NoSuchUpload`, and the object at the key is not the
    /// one this upload made: a real failure, not a lost answer.
    #[error(
        "{key}: CompleteMultipartUpload answered NoSuchUpload and the object there is not this upload's (expected {expected}, found {found}); it is uploaded again"
    )]
    NotCompleted {
        /// The object key.
        key: String,
        /// What this upload would have stored.
        expected: String,
        /// What the HEAD found.
        found: String,
    },
    /// A name or object the engine cannot represent on the other side.
    #[error("{key}: {problem}")]
    Unsupported {
        /// The key or path.
        key: String,
        /// Why it is skipped.
        problem: String,
    },
    /// More deletions than `--max-delete` allows: none were made.
    #[error(
        "not deleting files: {count} deletions exceed --max-delete {limit}; check that the source is complete, or raise --max-delete"
    )]
    MaxDelete {
        /// Deletions the sync would have made.
        count: usize,
        /// The limit.
        limit: u64,
    },
    /// A guard refused the sync before it changed the remote ([`crate::guard`]).
    #[error("{0}")]
    Refused(#[from] crate::guard::Refusal),
    /// A pull or restore of a plain prefix whose last push did not finish: it may hold part
    /// of the old tree and part of the new ([`crate::manifest::in_progress`]).
    #[error(
        "{remote}: a push to it started {since} and did not finish (it failed, was stopped, or is still running; the mark {mark} says so), so it may hold part of the old tree and part of the new; it is not pulled, restored or verified: finish a push to it from the source (the next sync that completes removes the mark)"
    )]
    Unfinished {
        /// The remote, as its argument or CR field names it.
        remote: String,
        /// The mark's `bucket/key`.
        mark: String,
        /// When the push started (`at <time>`).
        since: String,
    },
    /// The sync was stopped (SIGTERM or a fatal error elsewhere).
    #[error("stopped by a signal: partial uploads aborted, nothing deleted")]
    Cancelled,
    /// A task of the engine panicked or was aborted.
    #[error("internal task failure: {0}")]
    Task(#[source] tokio::task::JoinError),
}

impl Error {
    /// Whether trying the same operation again may succeed: throttling, 5xx, timeouts,
    /// broken connections, a source file that changed, a corrupt transfer.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Request { class, .. } => matches!(
                class,
                Class::Throttled | Class::Server | Class::Timeout | Class::Connection
            ),
            Error::SourceChanged { .. }
            | Error::Corrupt { .. }
            | Error::NotCompleted { .. }
            | Error::Unreachable { .. } => true,
            _ => false,
        }
    }

    /// Whether the error stops the whole sync: bad configuration, refused credentials, a
    /// missing bucket.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            Error::Config { .. }
                | Error::Auth { .. }
                | Error::NoSuchBucket { .. }
                | Error::Refused(_)
                | Error::Unfinished { .. }
                | Error::Cancelled
        )
    }

    /// Whether retrying without a change (to the spec, the Secret, the bucket) cannot help:
    /// refused credentials, a missing bucket, a bad setting. The sidecar then waits for a
    /// change instead of retrying in a loop.
    pub fn needs_change(&self) -> bool {
        matches!(
            self,
            Error::Config { .. } | Error::Auth { .. } | Error::NoSuchBucket { .. }
        )
    }

    /// The path of a local file or directory this process may not read, if that is what
    /// failed: such a failure fails the sync, and its path is reported.
    pub fn unreadable_path(&self) -> Option<&std::path::Path> {
        match self {
            Error::Local { op, path, source }
                if source.kind() == std::io::ErrorKind::PermissionDenied
                    && matches!(*op, "open" | "read" | "stat" | "read directory") =>
            {
                Some(path)
            }
            _ => None,
        }
    }

    /// Whether a multipart upload was already gone (completed or aborted).
    pub fn is_no_such_upload(&self) -> bool {
        matches!(
            self,
            Error::Request {
                class: Class::NoSuchUpload,
                ..
            }
        )
    }

    /// Whether the object or file was not there.
    pub fn is_not_found(&self) -> bool {
        match self {
            Error::Request { class, .. } => *class == Class::NotFound,
            Error::Local { source, .. } => source.kind() == std::io::ErrorKind::NotFound,
            _ => false,
        }
    }

    /// A configuration error.
    pub fn config(
        setting: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Error {
        Error::Config {
            setting: setting.into(),
            problem: problem.into(),
            fix: fix.into(),
            source: None,
        }
    }

    /// A local I/O error on `path`.
    pub fn local(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Local {
            op,
            path: path.into(),
            source,
        }
    }
}
