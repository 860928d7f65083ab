//! The completion signal. The source runs `ferry-complete SYNC_ID` after rsync exited 0;
//! the destination records a completion only when the transfer immediately before it, on
//! this server, received data and exited 0, and (when the transfer carried a sync id) the
//! ids match. A cut transfer therefore never leads to a published snapshot.
//!
//! Completions go to a [`CompletionLog`]: in process through a watch channel (the sidecar
//! snapshots on it) and on disk as `completion.json` in the state directory.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::refusal::Refusal;

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

    fn record(&self, completion: Completion) -> std::io::Result<()> {
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

/// The last receiving transfer and whether it may still be completed.
#[derive(Debug, Clone)]
enum State {
    /// Nothing to complete (no transfer yet, or the last one was completed already).
    Nothing,
    /// A transfer is running.
    Running,
    /// The last transfer ended.
    Ended(Outcome),
}

#[derive(Debug, Clone)]
struct Outcome {
    sync_id: Option<String>,
    succeeded: bool,
    started: u64,
    finished: u64,
    bytes_received: u64,
    bytes_sent: u64,
}

/// Tracks receiving transfers, one at a time.
#[derive(Debug)]
pub struct TransferTracker {
    state: Mutex<State>,
    log: CompletionLog,
}

impl TransferTracker {
    /// A tracker publishing to `log`.
    pub fn new(log: CompletionLog) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State::Nothing),
            log,
        })
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        // A poisoned lock only means another task panicked mid-update; the state is a plain
        // value that is always consistent, so keep going with it.
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// Starts a receiving transfer, refusing a second one while one runs.
    pub fn begin(self: &Arc<Self>, sync_id: Option<String>) -> Result<TransferGuard, Refusal> {
        self.with_state(|state| match state {
            State::Running => Err(Refusal::Busy),
            _ => {
                *state = State::Running;
                Ok(())
            }
        })?;
        Ok(TransferGuard {
            tracker: Arc::clone(self),
            sync_id,
            started: now(),
            ended: false,
        })
    }

    /// Notes a refused rsync request: it breaks the chain, so an earlier success can no
    /// longer be completed by a signal that follows it.
    pub fn refused_attempt(&self) {
        self.with_state(|state| {
            if !matches!(state, State::Running) {
                *state = State::Nothing;
            }
        });
    }

    /// Handles `ferry-complete SYNC_ID`.
    pub fn complete(&self, sync_id: &str) -> Result<Completion, Refusal> {
        let outcome = self.with_state(|state| match state {
            State::Running => Err(Refusal::Completion("a transfer is still running")),
            State::Nothing => Err(Refusal::Completion("no transfer precedes it")),
            State::Ended(o) if !o.succeeded => Err(Refusal::Completion(
                "the preceding transfer did not succeed",
            )),
            State::Ended(o) if o.sync_id.as_deref().is_some_and(|id| id != sync_id) => Err(
                Refusal::Completion("the preceding transfer belongs to another sync id"),
            ),
            State::Ended(o) => {
                let o = o.clone();
                *state = State::Nothing;
                Ok(o)
            }
        })?;
        let completion = Completion {
            sync_id: sync_id.to_string(),
            transfer_started: outcome.started,
            transfer_finished: outcome.finished,
            completed_at: now(),
            bytes_received: outcome.bytes_received,
            bytes_sent: outcome.bytes_sent,
        };
        self.log.record(completion.clone()).map_err(|e| {
            tracing::error!(error = %e, "cannot write the completion marker");
            Refusal::Completion("the destination could not record it")
        })?;
        Ok(completion)
    }
}

/// A running transfer. Dropping it without [`TransferGuard::finish`] (the connection died,
/// the task was cancelled) records a failure.
#[derive(Debug)]
pub struct TransferGuard {
    tracker: Arc<TransferTracker>,
    sync_id: Option<String>,
    started: u64,
    ended: bool,
}

impl TransferGuard {
    /// Records how the transfer ended.
    pub fn finish(mut self, succeeded: bool, bytes_received: u64, bytes_sent: u64) {
        self.end(succeeded, bytes_received, bytes_sent);
    }

    fn end(&mut self, succeeded: bool, bytes_received: u64, bytes_sent: u64) {
        self.ended = true;
        let outcome = Outcome {
            sync_id: self.sync_id.take(),
            succeeded,
            started: self.started,
            finished: now(),
            bytes_received,
            bytes_sent,
        };
        self.tracker
            .with_state(|state| *state = State::Ended(outcome));
    }
}

impl Drop for TransferGuard {
    fn drop(&mut self) {
        if !self.ended {
            self.end(false, 0, 0);
        }
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
