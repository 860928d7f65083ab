//! Where completions are published: in process and as a marker file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// File name of the completion marker in the state directory.
pub const MARKER: &str = "completion.json";

/// One completed sync, as recorded by the destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completion {
    /// The id the source gave the sync.
    pub sync_id: String,
    /// When the transfer started (Unix seconds).
    pub transfer_started: u64,
    /// When the transfer ended (Unix seconds).
    pub transfer_finished: u64,
    /// When the completion signal arrived (Unix seconds).
    pub completed_at: u64,
    /// Bytes the destination received over the channel during the transfer.
    pub bytes_received: u64,
    /// Bytes the destination sent over the channel during the transfer.
    pub bytes_sent: u64,
}

/// Where completions are published.
#[derive(Debug, Clone)]
pub struct CompletionLog {
    state_dir: Option<PathBuf>,
    latest: Arc<watch::Sender<Option<Completion>>>,
}

impl CompletionLog {
    /// A log that writes its marker into `state_dir` (if given) and starts from the marker
    /// already there, so a restarted sidecar knows the last completion.
    pub fn new(state_dir: Option<PathBuf>) -> Self {
        let initial = state_dir
            .as_deref()
            .and_then(|dir| read_marker(dir).ok().flatten());
        Self {
            state_dir,
            latest: Arc::new(watch::Sender::new(initial)),
        }
    }

    /// Subscribes to completions; the receiver sees each new one.
    pub fn subscribe(&self) -> watch::Receiver<Option<Completion>> {
        self.latest.subscribe()
    }

    /// The last completion, if any.
    pub fn latest(&self) -> Option<Completion> {
        self.latest.borrow().clone()
    }

    pub(super) fn record(&self, completion: Completion) -> std::io::Result<()> {
        if let Some(dir) = &self.state_dir {
            std::fs::create_dir_all(dir)?;
            let tmp = dir.join(format!(".{MARKER}.tmp"));
            let json = serde_json::to_vec_pretty(&completion).map_err(std::io::Error::other)?;
            std::fs::write(&tmp, json)?;
            // Rename is atomic: a reader sees the old marker or the new one, never half.
            std::fs::rename(&tmp, dir.join(MARKER))?;
        }
        self.latest.send_replace(Some(completion));
        Ok(())
    }
}

/// Reads the completion marker of a state directory.
pub fn read_marker(state_dir: &Path) -> std::io::Result<Option<Completion>> {
    match std::fs::read(state_dir.join(MARKER)) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(std::io::Error::other),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}
