//! `kubectl ferry sync NAME [--wait]`: sets `spec.trigger.manual` to a fresh value, and with
//! `--wait` follows the sync through the status and the Events to its end. Whether a status
//! shows the end, and how, is the pure [`progress`].

pub mod run;

use ferry_api::types::{MoverResult, SyncStatus};
use jiff::Timestamp;

use crate::health::WAITING_REASONS;

/// Where a triggered sync stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Not ended yet.
    Running,
    /// `status.lastManualSync` is the token: it completed.
    Succeeded,
    /// An attempt started after the trigger failed; why.
    Failed(String),
}

/// Where the sync triggered with `token` at `triggered` stands, given the status `before`
/// the trigger and the status `now`.
pub fn progress(
    before: &SyncStatus,
    now: &SyncStatus,
    token: &str,
    triggered: Timestamp,
) -> Progress {
    if now.last_manual_sync.as_deref() == Some(token) {
        return Progress::Succeeded;
    }
    let failed = now
        .latest_mover_status
        .as_ref()
        .is_some_and(|m| m.result == MoverResult::Failed);
    // Condition and status times have whole seconds.
    let floor = Timestamp::from_second(triggered.as_second()).unwrap_or(triggered);
    let started_since = now
        .last_sync_start_time
        .as_ref()
        .is_some_and(|t| t.0 >= floor && Some(t) != before.last_sync_start_time.as_ref());
    let more_failures =
        now.consecutive_failures.unwrap_or(0) > before.consecutive_failures.unwrap_or(0);
    let condition = now.conditions.iter().find(|c| c.type_ == "Synchronizing");
    let running = condition.is_some_and(|c| c.status == "True");
    if failed && !running && (started_since || more_failures) {
        return Progress::Failed(reason(now));
    }
    Progress::Running
}

/// Why the last attempt failed: the condition's reason and message, and the last line of
/// the mover's log.
pub fn reason(status: &SyncStatus) -> String {
    let mut out = String::new();
    if let Some(c) = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Synchronizing" && !WAITING_REASONS.contains(&c.reason.as_str()))
    {
        out.push_str(&c.reason);
        if !c.message.is_empty() {
            out.push_str(": ");
            out.push_str(&c.message);
        }
    }
    let last_log = status
        .latest_mover_status
        .as_ref()
        .and_then(|m| m.logs.as_deref())
        .and_then(|l| l.lines().rev().find(|l| !l.trim().is_empty()));
    if let Some(line) = last_log
        && !out.contains(line.trim())
    {
        if !out.is_empty() {
            out.push_str("; ");
        }
        out.push_str("mover log: ");
        out.push_str(line.trim());
    }
    if out.is_empty() {
        out.push_str("the sync failed (no reason recorded)");
    }
    out
}

/// A fresh trigger value: the time, to the nanosecond, so two runs never share one.
pub fn token(now: Timestamp) -> String {
    format!("kubectl-ferry-{}", now.strftime("%Y%m%dT%H%M%S.%fZ"))
}

#[cfg(test)]
mod tests;
