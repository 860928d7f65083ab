//! Hot reload from mounted certificate files (`cert-manager` and `provided` modes).
//!
//! Kubernetes updates a Secret volume by writing a new timestamped directory and swapping the
//! `..data` symlink, so inotify on the visible paths is unreliable (the watched inode never
//! changes). Reading both files every interval and comparing contents sees every update,
//! whatever the mechanism, and costs two small reads.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::MissedTickBehavior;

use crate::validity::rfc3339;
use crate::{CertStore, Error, Result};

/// Keeps `store` loaded with the pair at `cert_path` and `key_path`.
///
/// Loads at once if the files exist, then every `interval` reloads when either file's
/// content changed and the pair parses and matches. A half-written or mismatched pair is
/// logged and skipped, the old certificate stays, and the next change is tried again. Runs
/// until the task is aborted or dropped.
#[tracing::instrument(skip(store), fields(cert = %cert_path.display(), key = %key_path.display()))]
pub async fn watch_files(
    cert_path: PathBuf,
    key_path: PathBuf,
    store: Arc<CertStore>,
    interval: Duration,
) {
    let mut watcher = FilePair::new(cert_path, key_path);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        watcher.poll(&store).await;
    }
}

/// The last pair tried, so an unchanged pair is neither reloaded nor re-reported.
struct FilePair {
    cert_path: PathBuf,
    key_path: PathBuf,
    last_seen: Option<(Vec<u8>, Vec<u8>)>,
}

impl FilePair {
    fn new(cert_path: PathBuf, key_path: PathBuf) -> Self {
        FilePair {
            cert_path,
            key_path,
            last_seen: None,
        }
    }

    async fn poll(&mut self, store: &CertStore) {
        let pair = match (read(&self.cert_path).await, read(&self.key_path).await) {
            (Ok(cert), Ok(key)) => (cert, key),
            (Err(e), _) | (_, Err(e)) => {
                // Missing at start-up is normal until the volume is populated.
                tracing::debug!(error = %e, "certificate files not readable yet");
                return;
            }
        };
        if self.last_seen.as_ref() == Some(&pair) {
            return;
        }
        match store.set_pem_bytes(&pair.0, &pair.1) {
            Ok(not_after) => tracing::info!(
                not_after = %rfc3339(not_after),
                "certificate reloaded"
            ),
            // The error names what failed, never the bytes.
            Err(e) => tracing::warn!(
                error = %e,
                "certificate files changed but are unusable; keeping the current certificate"
            ),
        }
        self.last_seen = Some(pair);
    }
}

async fn read(path: &Path) -> Result<Vec<u8>> {
    tokio::fs::read(path).await.map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests;
