//! Ed25519 key pairs for rsync over SSH, laid out under VolSync's Secret key names so a
//! user's habits (and their `kubectl get secret -o yaml` muscle memory) carry over.
//!
//! A replication needs two pairs: the source authenticates with `source`, the destination
//! proves its identity with `destination`. Each side's Secret holds its own private key and
//! both public keys.

pub mod cli;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use russh::keys::ssh_key::LineEnding;
use russh::keys::{Algorithm, HashAlg, PrivateKey};

/// Secret key holding the source's private key (OpenSSH format).
pub const SOURCE: &str = "source";
/// Secret key holding the source's public key (`authorized_keys` format).
pub const SOURCE_PUB: &str = "source.pub";
/// Secret key holding the destination's private key, its SSH host key.
pub const DESTINATION: &str = "destination";
/// Secret key holding the destination's public host key, pinned by the source.
pub const DESTINATION_PUB: &str = "destination.pub";

/// Why keys could not be generated, encoded or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key could not be generated or encoded in OpenSSH format.
    #[error("cannot encode an ed25519 key: {0}")]
    Encode(#[source] russh::keys::ssh_key::Error),
    /// A key file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file being written.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// The contents of a Kubernetes Secret: key name to bytes. It holds a private key, so it
/// must never be logged.
pub type SecretData = BTreeMap<String, Vec<u8>>;

/// The two key pairs of one replication.
pub struct ReplicationKeys {
    source: PrivateKey,
    destination: PrivateKey,
}

impl std::fmt::Debug for ReplicationKeys {
    // Private keys never reach a log line: show only the public fingerprints.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplicationKeys")
            .field(
                "source",
                &self.source.fingerprint(HashAlg::Sha256).to_string(),
            )
            .field(
                "destination",
                &self.destination.fingerprint(HashAlg::Sha256).to_string(),
            )
            .finish()
    }
}

impl ReplicationKeys {
    /// Generates two fresh ed25519 key pairs; `name` ends up in the key comments so an
    /// operator can tell which replication a key belongs to.
    pub fn generate(name: &str) -> Result<Self, KeyError> {
        Ok(Self {
            source: generate_ed25519(&format!("ferry-source@{name}"))?,
            destination: generate_ed25519(&format!("ferry-destination@{name}"))?,
        })
    }

    /// Data for the source's Secret: `source`, `source.pub`, `destination.pub`.
    pub fn source_secret_data(&self) -> Result<SecretData, KeyError> {
        let mut data = SecretData::new();
        data.insert(SOURCE.into(), private_openssh(&self.source)?);
        data.insert(SOURCE_PUB.into(), public_openssh(&self.source)?);
        data.insert(DESTINATION_PUB.into(), public_openssh(&self.destination)?);
        Ok(data)
    }

    /// Data for the destination's Secret: `destination`, `destination.pub`, `source.pub`.
    pub fn destination_secret_data(&self) -> Result<SecretData, KeyError> {
        let mut data = SecretData::new();
        data.insert(DESTINATION.into(), private_openssh(&self.destination)?);
        data.insert(DESTINATION_PUB.into(), public_openssh(&self.destination)?);
        data.insert(SOURCE_PUB.into(), public_openssh(&self.source)?);
        Ok(data)
    }
}

/// Generates one ed25519 key pair with the given comment.
pub fn generate_ed25519(comment: &str) -> Result<PrivateKey, KeyError> {
    let mut key =
        PrivateKey::random(&mut rand::rng(), Algorithm::Ed25519).map_err(KeyError::Encode)?;
    key.set_comment(comment);
    Ok(key)
}

fn private_openssh(key: &PrivateKey) -> Result<Vec<u8>, KeyError> {
    let pem = key.to_openssh(LineEnding::LF).map_err(KeyError::Encode)?;
    Ok(pem.as_bytes().to_vec())
}

fn public_openssh(key: &PrivateKey) -> Result<Vec<u8>, KeyError> {
    let mut line = key.public_key().to_openssh().map_err(KeyError::Encode)?;
    line.push('\n');
    Ok(line.into_bytes())
}

/// Writes Secret data as one file per key into `dir` (created if missing), the way a
/// mounted Secret looks. Private keys get mode 0600, as ssh requires.
pub fn write_secret_dir(dir: &Path, data: &SecretData) -> Result<(), KeyError> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::create_dir_all(dir).map_err(|source| KeyError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    for (name, bytes) in data {
        let path = dir.join(name);
        let mode = if name.ends_with(".pub") { 0o644 } else { 0o600 };
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&path)
            .and_then(|mut file| file.write_all(bytes));
        written.map_err(|source| KeyError::Write { path, source })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
