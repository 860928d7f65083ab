//! rclone's `crypt` format, so that Ferry reads what rclone wrote through a crypt remote
//! and rclone reads what Ferry wrote.
//!
//! Pure and streaming: no I/O beyond `std::io` adapters, no async. The S3 engine builds a
//! [`Cipher`] once per crypt section ([`CryptConfig::from_section`], then
//! [`CryptConfig::cipher`]) and then, per object:
//! - push: [`Cipher::encrypt_file_name`] for the key, [`Cipher::encrypted_size`] for the
//!   size it will have, [`Cipher::encrypt_reader`] for the body;
//! - pull: [`Cipher::decrypt_reader`] or [`Cipher::decrypt_writer`] for the body;
//! - listing: [`Cipher::decrypt_file_name`] and [`Cipher::decrypted_size`]; a name that does
//!   not decrypt is skipped with a warning, as rclone does (an error if `strict_names`).
//!
//! Paths are relative to the crypt remote's root and `/`-separated, and raw: plaintext
//! paths as on the local filesystem, stored paths as keys in the bucket (rclone's internal
//! name encoding is applied in between, as rclone's backends do).
//!
//! Formats (rclone's backend/crypt): keys from scrypt over the password (salted with
//! `password2`), names by EME/AES-256 then base32hex, base64 or base32768 (or rclone's
//! obfuscation, or in clear with a suffix), contents in 64 KiB XSalsa20-Poly1305 blocks.

#![forbid(unsafe_code)]

mod config;
pub mod content;
mod eme;
mod error;
mod keys;
mod names;
pub mod obscure;

use std::io::{Read, Write};

pub use config::{CryptConfig, Setting};
pub use content::{DecryptWriter, Decrypter, Encrypter, Nonce};
pub use error::{ContentError, Error, NameError, Result};
pub use keys::Keys;
pub use names::{NameCipher, NameEncoding, NameMode};
pub use obscure::Secret;

use content::Sealer;

/// Everything needed to read and write objects through one crypt remote: derived keys,
/// name settings, and whether contents are encrypted. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Cipher {
    names: NameCipher,
    /// `None` with `no_data_encryption = true`.
    sealer: Option<Sealer>,
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cipher")
            .field("names", &self.names)
            .field("data_encryption", &self.sealer.is_some())
            .finish_non_exhaustive()
    }
}

impl Cipher {
    /// A cipher from derived keys. `data_encryption` is false for rclone's
    /// `no_data_encryption = true` (names encrypted, contents stored as they are).
    pub fn new(keys: &Keys, mode: NameMode, directory_names: bool, data_encryption: bool) -> Self {
        Self {
            names: NameCipher::new(keys, mode, directory_names),
            sealer: data_encryption.then(|| Sealer::new(&keys.data)),
        }
    }

    /// The name cipher.
    pub fn names(&self) -> &NameCipher {
        &self.names
    }

    /// True unless `no_data_encryption` is set.
    pub fn encrypts_data(&self) -> bool {
        self.sealer.is_some()
    }

    /// The stored name of the file at `path` (relative to the crypt remote's root).
    pub fn encrypt_file_name(&self, path: &str) -> Result<String> {
        self.names.encrypt_file(path)
    }

    /// The stored name of the directory at `path` (for the path part of the remote, and
    /// for listing prefixes).
    pub fn encrypt_dir_name(&self, path: &str) -> Result<String> {
        self.names.encrypt_dir(path)
    }

    /// The plaintext path of a stored file name.
    pub fn decrypt_file_name(&self, stored: &str) -> Result<String> {
        self.names.decrypt_file(stored)
    }

    /// The plaintext path of a stored directory name.
    pub fn decrypt_dir_name(&self, stored: &str) -> Result<String> {
        self.names.decrypt_dir(stored)
    }

    /// The stored size of a file of `plaintext` bytes.
    pub fn encrypted_size(&self, plaintext: u64) -> u64 {
        if self.sealer.is_some() {
            content::encrypted_size(plaintext)
        } else {
            plaintext
        }
    }

    /// The plaintext size of a stored object of `stored` bytes; an error for sizes crypt
    /// never writes.
    pub fn decrypted_size(&self, stored: u64) -> Result<u64, ContentError> {
        if self.sealer.is_some() {
            content::decrypted_size(stored)
        } else {
            Ok(stored)
        }
    }

    /// Encrypts `plaintext` with a fresh random nonce: read the stored object from it.
    pub fn encrypt_reader<R: Read>(&self, plaintext: R) -> Result<Encrypter<R>> {
        Ok(self.encrypt_reader_with_nonce(plaintext, Nonce::random()?))
    }

    /// Encrypts with a given nonce: for `cryptcheck` (re-encrypt a source with a stored
    /// object's nonce and compare hashes) and for test vectors. Never reuse a nonce for
    /// different contents.
    pub fn encrypt_reader_with_nonce<R: Read>(&self, plaintext: R, nonce: Nonce) -> Encrypter<R> {
        Encrypter::new(plaintext, self.sealer.clone(), nonce)
    }

    /// Decrypts a stored object read from `stored`. Reads the header now: fails at once on
    /// an object that is too short or not in crypt's format.
    pub fn decrypt_reader<R: Read>(&self, stored: R) -> std::io::Result<Decrypter<R>> {
        Decrypter::new(stored, self.sealer.clone())
    }

    /// Decrypts a stored object written to it in pieces, writing the plaintext to `out`;
    /// end with [`DecryptWriter::finish`].
    pub fn decrypt_writer<W: Write>(&self, out: W) -> DecryptWriter<W> {
        DecryptWriter::new(out, self.sealer.clone())
    }
}
