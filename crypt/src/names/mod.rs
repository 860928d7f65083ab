//! File and directory names through a crypt remote: `filename_encryption` (`standard`,
//! `obfuscate`, `off`), `directory_name_encryption`, `filename_encoding` and `suffix`,
//! applied per `/`-separated segment as rclone does.

mod base32768;
pub(crate) mod encoding;
mod obfuscate;
mod standard;
mod version;

use aes::Aes256;
use aes::cipher::KeyInit;

pub use encoding::NameEncoding;

use crate::eme::{self, Direction};
use crate::error::NameError;
use crate::keys::Keys;
use crate::{Error, Result};

/// `filename_encryption`, with the settings each mode uses.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum NameMode {
    /// EME over AES-256, PKCS#7 padding, then `encoding`.
    Standard {
        /// `filename_encoding`.
        encoding: NameEncoding,
    },
    /// rclone's rotation: hides names from a glance only.
    Obfuscate,
    /// Names in clear; files get `suffix` appended (`""` for `suffix = none`).
    Off {
        /// The suffix (`.bin` by default).
        suffix: String,
    },
}

impl Default for NameMode {
    fn default() -> Self {
        Self::Standard {
            encoding: NameEncoding::Base32,
        }
    }
}

/// rclone's limit on a decoded name segment.
const MAX_DECODED: usize = 2048;
const BLOCK: usize = 16;

/// Encrypts and decrypts paths relative to the crypt remote's root.
#[derive(Clone)]
pub struct NameCipher {
    mode: NameMode,
    directories: bool,
    aes: Aes256,
    tweak: [u8; 16],
    offset: i64,
}

impl std::fmt::Debug for NameCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NameCipher")
            .field("mode", &self.mode)
            .field("directories", &self.directories)
            .finish_non_exhaustive()
    }
}

impl NameCipher {
    /// A name cipher with the name key and tweak of `keys`; `directories` is
    /// `directory_name_encryption`.
    pub fn new(keys: &Keys, mode: NameMode, directories: bool) -> Self {
        Self {
            mode,
            directories,
            aes: Aes256::new(&keys.name.into()),
            tweak: keys.tweak,
            offset: obfuscate::key_offset(&keys.name),
        }
    }

    /// The name mode.
    pub fn mode(&self) -> &NameMode {
        &self.mode
    }

    /// The stored name of the file at `path` (rclone's `EncryptFileName`).
    ///
    /// Names here are raw: `path` as on the local filesystem, the result as the key in
    /// the bucket. In between, rclone's internal name encoding is applied as rclone's
    /// local and S3 backends apply it (control characters become U+2400 symbols before
    /// encryption, and symbols in the encrypted name become control characters).
    pub fn encrypt_file(&self, path: &str) -> Result<String> {
        self.encrypt_path(path, true)
    }

    /// The stored name of the directory at `path` (rclone's `EncryptDirName`).
    pub fn encrypt_dir(&self, path: &str) -> Result<String> {
        self.encrypt_path(path, false)
    }

    /// The plaintext path of a stored file name (rclone's `DecryptFileName`). The error
    /// names the stored name; a listing skips such names, as rclone does.
    pub fn decrypt_file(&self, stored: &str) -> Result<String> {
        self.decrypt_path(stored, true)
            .map_err(|reason| Error::Name {
                name: stored.to_owned(),
                reason,
            })
    }

    /// The plaintext path of a stored directory name (rclone's `DecryptDirName`).
    pub fn decrypt_dir(&self, stored: &str) -> Result<String> {
        self.decrypt_path(stored, false)
            .map_err(|reason| Error::Name {
                name: stored.to_owned(),
                reason,
            })
    }

    /// Whether segment `i` of `count` is encrypted: with `off`, none (a file gets the
    /// suffix instead); without directory name encryption, only a file's own name.
    fn encrypts(&self, i: usize, count: usize, file: bool) -> bool {
        let last = file && i + 1 == count;
        match self.mode {
            NameMode::Off { .. } => false,
            _ => last || self.directories,
        }
    }

    fn encrypt_path(&self, path: &str, file: bool) -> Result<String> {
        let segments: Vec<&str> = path.split('/').collect();
        let count = segments.len();
        let mut out = Vec::with_capacity(count);
        for (i, raw) in segments.iter().enumerate() {
            let segment = standard::to_standard(raw);
            let mut stored = if self.encrypts(i, count, file) {
                beside_version(&segment, i + 1 == count, |s| self.encrypt_segment(s))?
            } else {
                segment
            };
            if let (NameMode::Off { suffix }, true) = (&self.mode, file && i + 1 == count) {
                stored.push_str(suffix);
            }
            out.push(standard::from_standard(&stored));
        }
        Ok(out.join("/"))
    }

    fn decrypt_path(&self, stored: &str, file: bool) -> Result<String, NameError> {
        let segments: Vec<String> = stored.split('/').map(standard::to_standard).collect();
        if let (NameMode::Off { suffix }, true) = (&self.mode, file) {
            // rclone checks the whole path here, not the last segment.
            let path = segments.join("/");
            let plain = path
                .strip_suffix(suffix.as_str())
                .filter(|p| !p.is_empty())
                .ok_or(NameError::NotEncrypted("suffix"))?;
            if version::split(plain).is_some_and(|(rest, _)| rest.is_empty()) {
                return Err(NameError::NotEncrypted("suffix"));
            }
            return Ok(plain
                .split('/')
                .map(standard::from_standard)
                .collect::<Vec<_>>()
                .join("/"));
        }
        let count = segments.len();
        let mut out = Vec::with_capacity(count);
        for (i, segment) in segments.into_iter().enumerate() {
            let plain = if self.encrypts(i, count, file) {
                beside_version(&segment, i + 1 == count, |s| self.decrypt_segment(s))?
            } else {
                segment
            };
            out.push(standard::from_standard(&plain));
        }
        Ok(out.join("/"))
    }

    fn encrypt_segment(&self, plain: &str) -> Result<String> {
        match self.mode {
            NameMode::Standard { encoding } => {
                if plain.is_empty() {
                    return Ok(String::new());
                }
                let padding = BLOCK - plain.len() % BLOCK;
                if (plain.len() + padding) / BLOCK > eme::MAX_BLOCKS {
                    return Err(Error::NameTooLong {
                        name: plain.to_owned(),
                        reason: "a name segment may be at most 2031 bytes under standard name encryption",
                    });
                }
                let mut data = Vec::with_capacity(plain.len() + padding);
                data.extend_from_slice(plain.as_bytes());
                data.resize(plain.len() + padding, padding as u8);
                eme::transform(&self.aes, &self.tweak, &mut data, Direction::Encrypt);
                Ok(encoding.encode(&data))
            }
            NameMode::Obfuscate => Ok(obfuscate::obfuscate(plain, self.offset)),
            NameMode::Off { .. } => Ok(plain.to_owned()),
        }
    }

    fn decrypt_segment(&self, stored: &str) -> Result<String, NameError> {
        match self.mode {
            NameMode::Standard { encoding } => {
                if stored.is_empty() {
                    return Ok(String::new());
                }
                let mut data = encoding.decode(stored)?;
                if !data.len().is_multiple_of(BLOCK) {
                    return Err(NameError::NotAMultipleOfBlockSize);
                }
                if data.is_empty() {
                    return Err(NameError::TooShort);
                }
                if data.len() > MAX_DECODED {
                    return Err(NameError::TooLong);
                }
                if data.len() / BLOCK > eme::MAX_BLOCKS {
                    // 2032 to 2048 bytes pass rclone's check but not EME's; rclone
                    // panics there, Ferry refuses the name.
                    return Err(NameError::TooLong);
                }
                eme::transform(&self.aes, &self.tweak, &mut data, Direction::Decrypt);
                let len = unpad(&data)?;
                data.truncate(len);
                String::from_utf8(data).map_err(|_| NameError::NotUtf8)
            }
            NameMode::Obfuscate => obfuscate::deobfuscate(stored, self.offset),
            NameMode::Off { .. } => Ok(stored.to_owned()),
        }
    }
}

/// Applies `transform` to `segment`, leaving a version suffix of the last segment in clear
/// (rclone keeps `-vYYYY-MM-DD-HHMMSS-mmm` readable so versioned listings still parse).
fn beside_version<E>(
    segment: &str,
    last: bool,
    transform: impl FnOnce(&str) -> Result<String, E>,
) -> Result<String, E> {
    match last.then(|| version::split(segment)).flatten() {
        Some((bare, v)) => Ok(version::add(&transform(&bare)?, v)),
        None => transform(segment),
    }
}

/// PKCS#7: the unpadded length of `data`, whole 16-byte blocks.
fn unpad(data: &[u8]) -> Result<usize, NameError> {
    let padding = usize::from(*data.last().ok_or(NameError::TooShort)?);
    if padding == 0
        || padding > BLOCK
        || data[data.len() - padding..]
            .iter()
            .any(|&b| usize::from(b) != padding)
    {
        return Err(NameError::BadPadding);
    }
    Ok(data.len() - padding)
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
