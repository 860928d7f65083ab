//! Secrets the CR names, read through the API when a sync needs them, so a Secret created or
//! rotated after the pod started is used at the next sync, and a missing one fails that sync
//! with a message naming it (the pod itself starts regardless).

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;

use super::env::Identity;
use super::{Error, Result};

/// The data of a Secret.
pub struct SecretData {
    field: &'static str,
    namespace: String,
    name: String,
    data: BTreeMap<String, Vec<u8>>,
}

impl std::fmt::Debug for SecretData {
    // The values are secret: show only the key names.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretData")
            .field("name", &self.name)
            .field("keys", &self.data.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Reads Secret `name`, named by the CR field `field`.
pub async fn read(
    client: &kube::Client,
    who: &Identity,
    field: &'static str,
    name: &str,
) -> Result<SecretData> {
    let secret = Api::<Secret>::namespaced(client.clone(), &who.namespace)
        .get_opt(name)
        .await
        .map_err(|e| Error::api(format!("reading Secret {name}"), e, who))?
        .ok_or_else(|| Error::Secret {
            field,
            namespace: who.namespace.clone(),
            name: name.to_owned(),
            problem: format!(
                "does not exist; create it in namespace {} or fix {field}",
                who.namespace
            ),
        })?;
    let data = secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect();
    Ok(SecretData {
        field,
        namespace: who.namespace.clone(),
        name: name.to_owned(),
        data,
    })
}

impl SecretData {
    /// Builds one in memory (tests, generated keys).
    pub fn new(
        field: &'static str,
        namespace: &str,
        name: &str,
        data: BTreeMap<String, Vec<u8>>,
    ) -> SecretData {
        SecretData {
            field,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            data,
        }
    }

    /// The Secret's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The Secret's namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Its keys and values (to hand to the engine process on a pipe).
    pub fn entries(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.data.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// Whether the Secret has a non-empty `key`.
    pub fn has(&self, key: &str) -> bool {
        self.data.get(key).is_some_and(|v| !v.is_empty())
    }

    /// The bytes of `key`, or an error naming the Secret, the key and the fix.
    pub fn bytes(&self, key: &str) -> Result<&[u8]> {
        self.data
            .get(key)
            .map(Vec::as_slice)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Error::Secret {
                field: self.field,
                namespace: self.namespace.clone(),
                name: self.name.clone(),
                problem: format!(
                    "has no key \"{key}\" (it has: {}); add it",
                    if self.data.is_empty() {
                        "none".to_owned()
                    } else {
                        self.data.keys().cloned().collect::<Vec<_>>().join(", ")
                    }
                ),
            })
    }

    /// The text of `key`.
    pub fn text(&self, key: &str) -> Result<String> {
        let bytes = self.bytes(key)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| Error::Secret {
            field: self.field,
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            problem: format!("key \"{key}\" is not UTF-8 text"),
        })
    }

    /// Writes `key` to `dir/key` with mode 0600 (for programs that read key files).
    pub fn write(&self, key: &str, dir: &Path) -> Result<PathBuf> {
        let bytes = self.bytes(key)?;
        write_private(&dir.join(key), bytes)
    }
}

/// Writes a private file (0600), replacing what was there.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<PathBuf> {
    let io = |source| Error::Io {
        context: format!("writing {}", path.display()),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let _ = std::fs::remove_file(path);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    Ok(path.to_path_buf())
}
