//! Why the destination server refused something. Every refusal is logged with its code and
//! message, and the message is what the client reads on its standard error.

/// A request the server refused, with the reason in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Public key authentication with a key other than the source's.
    #[error("public key {fingerprint} is not the configured source key")]
    UnknownKey {
        /// Algorithm and fingerprint of the offered key.
        fingerprint: String,
    },
    /// An authentication method other than public key.
    #[error("{method} authentication is disabled; only the source's public key is accepted")]
    AuthMethod {
        /// The method tried.
        method: &'static str,
    },
    /// A channel or global request that this server never serves.
    #[error("{what} is not allowed on this server")]
    Request {
        /// What was requested (a shell, a PTY, forwarding, ...).
        what: String,
    },
    /// The exec command is longer than the server reads.
    #[error("command of {len} bytes is longer than the {max} bytes allowed")]
    CommandTooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The exec command is not valid UTF-8.
    #[error("command is not valid UTF-8")]
    NotUtf8,
    /// The exec command holds a control character (newline, tab, NUL, ...).
    #[error("command contains the control character {0:?}")]
    ControlCharacter(char),
    /// The exec command uses shell syntax; there is no shell here.
    #[error("command uses shell syntax {0:?}; no shell runs here")]
    ShellSyntax(char),
    /// The exec command is neither `rsync --server ...` nor `ferry-complete ID`.
    #[error("only 'rsync --server ...' and 'ferry-complete SYNC_ID' may run here, not {0:?}")]
    Program(String),
    /// An rsync option that the allowlist refuses.
    #[error("rsync option {option} is not allowed: {why}")]
    Option {
        /// The option as sent.
        option: String,
        /// Why it is refused.
        why: &'static str,
    },
    /// An rsync option that the allowlist does not know.
    #[error("unknown rsync option {0}")]
    UnknownOption(String),
    /// A pull (`--sender`) from a write-only destination.
    #[error("this destination is write-only: reading from it (--sender) is not allowed")]
    Sender,
    /// The rsync command line is malformed.
    #[error("not an rsync server command line: {0}")]
    Malformed(&'static str),
    /// A path that is absolute and outside the volume.
    #[error("path {0:?} is outside the volume")]
    OutsideVolume(String),
    /// A path with a `..` component.
    #[error("path {0:?} contains '..'; paths are relative to the volume")]
    DotDot(String),
    /// A path that resolves, through a symlink, outside the volume.
    #[error("path {0:?} resolves outside the volume through a symlink")]
    Escapes(String),
    /// A home-directory path (`~`), which has no meaning here.
    #[error("path {0:?} names a home directory; paths are relative to the volume")]
    Home(String),
    /// A second transfer while one is running.
    #[error("another transfer is in progress")]
    Busy,
    /// A completion signal that does not follow a successful transfer.
    #[error("completion not recorded: {0}")]
    Completion(&'static str),
    /// A malformed sync id.
    #[error("sync id {0:?} is not 1 to 128 characters of [A-Za-z0-9._-]")]
    SyncId(String),
}

impl Refusal {
    /// A short stable code for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::UnknownKey { .. } => "unknown-key",
            Refusal::AuthMethod { .. } => "auth-method",
            Refusal::Request { .. } => "request",
            Refusal::CommandTooLong { .. } => "command-too-long",
            Refusal::NotUtf8 => "not-utf8",
            Refusal::ControlCharacter(_) => "control-character",
            Refusal::ShellSyntax(_) => "shell-syntax",
            Refusal::Program(_) => "program",
            Refusal::Option { .. } => "option",
            Refusal::UnknownOption(_) => "unknown-option",
            Refusal::Sender => "sender",
            Refusal::Malformed(_) => "malformed",
            Refusal::OutsideVolume(_) => "outside-volume",
            Refusal::DotDot(_) => "dot-dot",
            Refusal::Escapes(_) => "symlink-escape",
            Refusal::Home(_) => "home-path",
            Refusal::Busy => "busy",
            Refusal::Completion(_) => "completion",
            Refusal::SyncId(_) => "sync-id",
        }
    }
}

/// Checks a sync id: short, and made of characters that are safe in file names and logs.
pub fn check_sync_id(id: &str) -> Result<(), Refusal> {
    let ok = (1..=128).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Refusal::SyncId(id.chars().take(64).collect()))
    }
}
