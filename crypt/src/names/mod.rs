//! File and directory names through a crypt remote: `filename_encryption` (`standard`,
//! `obfuscate`, `off`), `directory_name_encryption`, `filename_encoding` and `suffix`,
//! applied per `/`-separated segment as rclone does.

pub(crate) mod encoding;
mod obfuscate;
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
    pub fn encrypt_file(&self, path: &str) -> Result<String> {
        match &self.mode {
            NameMode::Off { suffix } => Ok(format!("{path}{suffix}")),
            _ => self.encrypt_path(path),
        }
    }

    /// The stored name of the directory at `path` (rclone's `EncryptDirName`).
    pub fn encrypt_dir(&self, path: &str) -> Result<String> {
        match self.mode {
            NameMode::Off { .. } => Ok(path.to_owned()),
            _ if !self.directories => Ok(path.to_owned()),
            _ => self.encrypt_path(path),
        }
    }

    /// The plaintext path of a stored file name (rclone's `DecryptFileName`). The error
    /// names the stored name; a listing skips such names, as rclone does.
    pub fn decrypt_file(&self, stored: &str) -> Result<String> {
        let fail = |reason| Error::Name {
            name: stored.to_owned(),
            reason,
        };
        match &self.mode {
            NameMode::Off { suffix } => {
                let plain = stored
                    .strip_suffix(suffix.as_str())
                    .filter(|p| !p.is_empty())
                    .ok_or(fail(NameError::NotEncrypted("suffix")))?;
                if let Some((rest, _)) = version::split(plain)
                    && rest.is_empty()
                {
                    return Err(fail(NameError::NotEncrypted("suffix")));
                }
                Ok(plain.to_owned())
            }
            _ => self.decrypt_path(stored).map_err(fail),
        }
    }

    /// The plaintext path of a stored directory name (rclone's `DecryptDirName`).
    pub fn decrypt_dir(&self, stored: &str) -> Result<String> {
        match self.mode {
            NameMode::Off { .. } => Ok(stored.to_owned()),
            _ if !self.directories => Ok(stored.to_owned()),
            _ => self.decrypt_path(stored).map_err(|reason| Error::Name {
                name: stored.to_owned(),
                reason,
            }),
        }
    }

    fn encrypt_path(&self, path: &str) -> Result<String> {
        let segments: Vec<&str> = path.split('/').collect();
        let last = segments.len() - 1;
        let mut out = Vec::with_capacity(segments.len());
        for (i, segment) in segments.iter().enumerate() {
            if !self.directories && i != last {
                out.push((*segment).to_owned());
                continue;
            }
            let versioned = if i == last {
                version::split(segment)
            } else {
                None
            };
            let bare = versioned
                .as_ref()
                .map_or(*segment, |(bare, _)| bare.as_str());
            let encrypted = self.encrypt_segment(bare)?;
            out.push(match versioned {
                Some((_, v)) => version::add(&encrypted, v),
                None => encrypted,
            });
        }
        Ok(out.join("/"))
    }

    fn decrypt_path(&self, stored: &str) -> Result<String, NameError> {
        let segments: Vec<&str> = stored.split('/').collect();
        let last = segments.len() - 1;
        let mut out = Vec::with_capacity(segments.len());
        for (i, segment) in segments.iter().enumerate() {
            if !self.directories && i != last {
                out.push((*segment).to_owned());
                continue;
            }
            let versioned = if i == last {
                version::split(segment)
            } else {
                None
            };
            let bare = versioned
                .as_ref()
                .map_or(*segment, |(bare, _)| bare.as_str());
            let plain = self.decrypt_segment(bare)?;
            out.push(match versioned {
                Some((_, v)) => version::add(&plain, v),
                None => plain,
            });
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
