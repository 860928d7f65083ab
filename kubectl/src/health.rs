//! One word for how a replication is doing, from its status, its bound pod and the clock.
//! Pure: the table, `doctor` and the tests read the same rules.

use ferry_api::rules::cron::Schedule;
use ferry_api::types::MoverResult;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::objects::Replication;
use crate::pods::PodFacts;

/// How a replication is doing. The order is the precedence: the first that applies wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Health {
    /// No running pod acts for it: nothing replicates.
    Unbound,
    /// `spec.paused`.
    Paused,
    /// The last sync failed (or a guard refused it).
    Failing,
    /// The last successful sync is over two schedule intervals late.
    Stale,
    /// A sync is running.
    Syncing,
    /// Bound, waiting for its first sync.
    Pending,
    /// The last sync succeeded and the next is on time.
    Healthy,
}

impl Health {
    /// The word the table shows.
    pub fn word(self) -> &'static str {
        match self {
            Health::Unbound => "Unbound",
            Health::Paused => "Paused",
            Health::Failing => "Failing",
            Health::Stale => "Stale",
            Health::Syncing => "Syncing",
            Health::Pending => "Pending",
            Health::Healthy => "Healthy",
        }
    }

    /// Whether it needs someone's attention (shown red).
    pub fn is_red(self) -> bool {
        matches!(self, Health::Unbound | Health::Failing | Health::Stale)
    }

    /// Whether it is neither red nor fine (shown yellow).
    pub fn is_yellow(self) -> bool {
        matches!(self, Health::Paused | Health::Pending)
    }
}

/// The reasons of `Synchronizing=False` that mean "waiting", not "failed".
pub const WAITING_REASONS: [&str; 3] = ["WaitingForSchedule", "WaitingForManual", "Paused"];

/// The verdict and why, in a few words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The word.
    pub health: Health,
    /// Why, e.g. `pod web-0 is gone` or `due 3h ago (every 1h)`.
    pub why: String,
}

/// The schedule in force for an object: the bound pod's `ferry.dev/schedule` (and
/// `time-zone`) override the CR's trigger. `None` for manual and continuous triggers, and
/// for expressions that do not parse (the webhook refuses those).
pub fn effective_schedule(
    cr: &Replication,
    pod: Option<&PodFacts>,
) -> Option<(Schedule, TimeZone, String)> {
    let trigger = cr.trigger.as_ref();
    let text = pod
        .and_then(|p| p.schedule.clone())
        .or_else(|| trigger.and_then(|t| t.schedule.clone()))?;
    let zone = pod
        .and_then(|p| p.time_zone.clone())
        .or_else(|| trigger.and_then(|t| t.time_zone.clone()))
        .unwrap_or_else(|| "UTC".to_owned());
    let schedule = Schedule::parse(&text).ok()?;
    let tz = ferry_api::rules::timezone::parse(&zone).ok()?;
    Some((schedule, tz, zone))
}

/// How late the sync due after `since` is at `now`, and the schedule's interval there;
/// `None` when it is not due yet.
pub fn lateness(
    schedule: &Schedule,
    tz: &TimeZone,
    since: Timestamp,
    now: Timestamp,
) -> Option<(SignedDuration, SignedDuration)> {
    let due = schedule.next_after(since, tz)?;
    let after = schedule.next_after(due, tz)?;
    let late = now.duration_since(due);
    (late > SignedDuration::ZERO).then(|| (late, after.duration_since(due)))
}

/// The verdict on `cr`, whose status names `pod` (looked up among the running pods:
/// `None` when it does not exist), at `now`.
pub fn assess(cr: &Replication, pod: Option<&PodFacts>, now: Timestamp) -> Verdict {
    let verdict = |health, why: String| Verdict { health, why };
    let Some(status) = &cr.status else {
        return verdict(
            Health::Unbound,
            format!(
                "no pod binds it: label a pod ferry.dev/inject=true and annotate it ferry.dev/{}: {}",
                cr.kind.short(),
                cr.name
            ),
        );
    };
    let Some(bound) = status.bound_pod.as_deref() else {
        return verdict(Health::Unbound, "no pod acts for it".to_owned());
    };
    match pod {
        None => return verdict(Health::Unbound, format!("bound pod {bound} is gone")),
        Some(p) if !p.live() => {
            let state = if p.deleting {
                "terminating"
            } else {
                p.phase.as_str()
            };
            return verdict(Health::Unbound, format!("bound pod {bound} is {state}"));
        }
        Some(_) => {}
    }
    if cr.paused {
        return verdict(Health::Paused, "spec.paused is true".to_owned());
    }
    let synchronizing = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Synchronizing");
    let failed_condition = synchronizing
        .filter(|c| c.status == "False" && !WAITING_REASONS.contains(&c.reason.as_str()));
    let failed_last = status
        .latest_mover_status
        .as_ref()
        .is_some_and(|m| m.result == MoverResult::Failed);
    let failures = status.consecutive_failures.unwrap_or(0);
    let running = synchronizing.is_some_and(|c| c.status == "True");
    if failures > 0 || failed_condition.is_some() || (failed_last && !running) {
        let reason = failed_condition
            .map(|c| {
                if c.message.is_empty() {
                    c.reason.clone()
                } else {
                    format!("{}: {}", c.reason, c.message)
                }
            })
            .unwrap_or_else(|| "the last sync failed".to_owned());
        return verdict(Health::Failing, reason);
    }
    if let Some((schedule, tz, _)) = effective_schedule(cr, pod) {
        let since = status.last_sync_time.as_ref().map(|t| t.0).or(cr.created);
        if let Some((late, interval)) = since.and_then(|s| lateness(&schedule, &tz, s, now))
            && late > interval * 2
        {
            return verdict(
                Health::Stale,
                format!(
                    "the sync due {} ago has not run (every {})",
                    crate::table::span(late),
                    crate::table::span(interval)
                ),
            );
        }
    }
    if running {
        return verdict(Health::Syncing, "a sync is running".to_owned());
    }
    if status.last_sync_time.is_none() {
        return verdict(Health::Pending, "waiting for its first sync".to_owned());
    }
    verdict(Health::Healthy, String::new())
}

#[cfg(test)]
mod tests;
