//! What can go wrong with a crypt remote: its settings, its names, its contents.

use std::io;

/// Errors from this crate. None carries a password or a key.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting of the crypt section is missing or wrong: `setting` names it (with its
    /// section, file and line when known) and `fix` says what to write instead.
    #[error("{setting}: {problem}; {fix}")]
    Config {
        /// The setting, e.g. `password in [secret] of /etc/rclone.conf (line 4)`.
        setting: String,
        /// What is wrong with it.
        problem: String,
        /// What to do about it.
        fix: String,
    },
    /// An encrypted name that this crypt section cannot decrypt: written with other
    /// settings or another password, or not written by crypt at all.
    #[error("cannot decrypt the name {name:?}: {reason}")]
    Name {
        /// The name as stored (encrypted, so not a secret).
        name: String,
        /// Why.
        reason: NameError,
    },
    /// A plaintext name that cannot be encrypted (too long for the name cipher).
    #[error("cannot encrypt the name {name:?}: {reason}")]
    NameTooLong {
        /// The plaintext name.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// An object's contents are not in rclone's crypt format, are cut short, or do not
    /// authenticate.
    #[error("{0}")]
    Content(#[from] ContentError),
    /// The operating system's random source failed (needed for each file's nonce).
    #[error("cannot read random bytes for a nonce: {0}")]
    Random(String),
    /// The key derivation failed (cannot happen with rclone's fixed parameters).
    #[error("scrypt key derivation failed: {0}")]
    Scrypt(String),
}

/// Why an encrypted name does not decrypt. The messages follow rclone's where it has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Not valid in the name encoding (base32hex, base64, base32768).
    #[error("not valid {0}")]
    BadEncoding(&'static str),
    /// The decoded bytes are not whole 16-byte blocks.
    #[error("not a multiple of the 16-byte block size")]
    NotAMultipleOfBlockSize,
    /// Nothing left after decoding.
    #[error("too short after decoding")]
    TooShort,
    /// More than 2048 bytes after decoding (rclone's limit).
    #[error("too long after decoding")]
    TooLong,
    /// The PKCS#7 padding is wrong: the usual sign of another password.
    #[error("bad padding (wrong password or not an encrypted name)")]
    BadPadding,
    /// The decrypted bytes are not UTF-8: the usual sign of another password.
    #[error("decrypts to invalid UTF-8 (wrong password or not an encrypted name)")]
    NotUtf8,
    /// With `filename_encryption = off`: the name lacks the suffix; with `obfuscate`: it
    /// lacks the `NNN.` prefix.
    #[error("not an encrypted file name (does not match the {0})")]
    NotEncrypted(&'static str),
}

impl NameError {
    /// True for the failures a wrong password (or other name settings) gives on a name
    /// that crypt did write: it decodes, but decrypts to bad padding or bad UTF-8. When
    /// no name of a listing decrypts and these are the reasons, say "wrong password".
    pub fn suggests_wrong_password(&self) -> bool {
        matches!(self, Self::BadPadding | Self::NotUtf8)
    }
}

/// Why an object's contents do not decrypt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentError {
    /// Shorter than the 32-byte header.
    #[error(
        "the object is too short to be encrypted (under 32 bytes): not written by crypt, or cut short"
    )]
    TooShort,
    /// The first 8 bytes are not `RCLONE\0\0`.
    #[error(
        "the object is not in rclone's crypt format (bad magic): not written by crypt, or `no_data_encryption` differs"
    )]
    BadMagic,
    /// A block shorter than its 16-byte tag plus one byte: the object was cut short.
    #[error("the object is truncated (a block has no data after its header)")]
    Truncated,
    /// A block failed authentication.
    #[error("a block failed authentication: wrong password or corrupted object")]
    Authentication,
    /// An encrypted size that no plaintext size gives.
    #[error("{0} bytes is not a size crypt writes: the object is truncated or not encrypted")]
    BadSize(u64),
}

impl ContentError {
    /// The error as the `io::Error` that Read and Write adapters return.
    pub(crate) fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, self)
    }

    /// The crypt error inside an `io::Error` from this crate's adapters, if that is what
    /// it is (other errors come from the wrapped reader or writer).
    pub fn from_io(error: &io::Error) -> Option<&ContentError> {
        error
            .get_ref()
            .and_then(|e| e.downcast_ref::<ContentError>())
    }
}

/// This crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
