//! Loading keys: our private key, the pinned destination host key, the authorized source
//! key. Public keys are accepted in `authorized_keys`, `*.pub` and `known_hosts` forms so a
//! Secret's `destination.pub`, a `known_hosts` line or a pasted key all work.

use std::path::Path;

use russh::keys::{HashAlg, PrivateKey, PublicKey};

use super::{Error, Result};

/// Reads an unencrypted OpenSSH private key. The key itself never appears in an error.
pub fn load_private_key(path: &Path) -> Result<PrivateKey> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::ReadKey {
        path: path.to_path_buf(),
        source,
    })?;
    russh::keys::decode_secret_key(&text, None).map_err(|source| Error::ParseKey {
        what: path.display().to_string(),
        source,
    })
}

/// A set of public keys, compared by key material only (comments and options ignored).
#[derive(Debug, Clone)]
pub struct PublicKeySet {
    keys: Vec<PublicKey>,
    origin: String,
    file: Option<std::path::PathBuf>,
}

impl PublicKeySet {
    /// Loads keys from `value`: the key text itself when it starts like a key
    /// (`ssh-ed25519 AAAA...`), else a file holding one key per line.
    pub fn load(value: &str) -> Result<Self> {
        let looks_inline = ["ssh-", "ecdsa-sha2-", "sk-"]
            .iter()
            .any(|p| value.trim_start().starts_with(p));
        if looks_inline {
            return Self::parse(value, "the key given inline");
        }
        let path = Path::new(value);
        let text = std::fs::read_to_string(path).map_err(|source| Error::ReadKey {
            path: path.to_path_buf(),
            source,
        })?;
        let mut set = Self::parse(&text, &path.display().to_string())?;
        set.file = Some(path.to_path_buf());
        Ok(set)
    }

    /// Parses key lines; blank lines and `#` comments are skipped, and a leading field that
    /// is not a key (a `known_hosts` host pattern or an `authorized_keys` option list without
    /// spaces) is ignored.
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        let keys: Vec<PublicKey> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(parse_line)
            .collect();
        if keys.is_empty() {
            return Err(Error::NoPinnedKey {
                what: origin.to_string(),
            });
        }
        Ok(Self {
            keys,
            origin: origin.to_string(),
            file: None,
        })
    }

    /// Whether `key` is one of the set.
    pub fn contains(&self, key: &PublicKey) -> bool {
        self.keys.iter().any(|k| k.key_data() == key.key_data())
    }

    /// A value [`PublicKeySet::load`] reads back into this set: the file it came from, or
    /// the keys themselves. Hands the pin to another process (the `rsync -e` transport)
    /// without losing where it came from, which error messages name.
    pub fn as_argument(&self) -> String {
        match &self.file {
            Some(path) => path.display().to_string(),
            None => self.to_lines(),
        }
    }

    /// The keys as `authorized_keys` lines.
    pub fn to_lines(&self) -> String {
        let lines: Vec<String> = self
            .keys
            .iter()
            .filter_map(|k| k.to_openssh().ok())
            .collect();
        lines.join("\n")
    }

    /// Where the keys came from, for messages.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The keys' algorithms and SHA-256 fingerprints, for messages.
    pub fn describe(&self) -> String {
        let all: Vec<String> = self.keys.iter().map(describe).collect();
        all.join(", ")
    }
}

/// A key's algorithm and SHA-256 fingerprint, the way `ssh-keygen -l` shows it.
pub fn describe(key: &PublicKey) -> String {
    format!("{} {}", key.algorithm(), key.fingerprint(HashAlg::Sha256))
}

fn parse_line(line: &str) -> Option<PublicKey> {
    if let Ok(key) = PublicKey::from_openssh(line) {
        return Some(key);
    }
    // known_hosts: `[host]:port ssh-ed25519 AAAA...`, possibly after a `@marker`.
    let mut fields = line.split_whitespace().skip_while(|f| f.starts_with('@'));
    fields.next()?;
    let rest: Vec<&str> = fields.collect();
    PublicKey::from_openssh(&rest.join(" ")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

    #[test]
    fn accepts_pub_known_hosts_and_authorized_keys_forms() {
        for text in [
            format!("{KEY} someone@host\n"),
            format!("# pinned\n[10.0.0.5]:2222 {KEY}\n"),
            format!("restrict {KEY} source\n"),
        ] {
            let set = PublicKeySet::parse(&text, "test").unwrap();
            let key = PublicKey::from_openssh(KEY).unwrap();
            assert!(set.contains(&key), "{text}");
            assert!(set.describe().starts_with("ssh-ed25519 SHA256:"));
        }
    }

    #[test]
    fn inline_value_is_not_a_path() {
        let set = PublicKeySet::load(KEY).unwrap();
        assert_eq!(set.origin(), "the key given inline");
    }

    #[test]
    fn empty_file_is_an_error_that_names_it() {
        let err = PublicKeySet::parse("# nothing\n", "destination.pub").unwrap_err();
        assert!(err.to_string().contains("destination.pub"), "{err}");
    }
}
