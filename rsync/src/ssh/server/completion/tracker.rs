//! One receiving transfer at a time, and the rule that only a completion right after a
//! successful one is recorded.

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use super::log::{Completion, CompletionLog};
use crate::ssh::server::refusal::Refusal;

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
