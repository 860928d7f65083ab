//! When to sync: the CR's trigger, the pod's schedule override, `paused`, and missed
//! intervals. Pure, so every rule is a unit test.
//!
//! Rules (DESIGN.md §2, §4):
//! - `paused` wins over everything;
//! - the pod's `ferry.dev/schedule` (and `ferry.dev/time-zone`) override the CR's trigger;
//! - a schedule fires at the first cron time after the last completion (or after the
//!   sidecar started, before any completion); when several fire times have passed, one sync
//!   runs and the others are counted as missed, never queued;
//! - `manual` syncs once per new value, compared with `status.lastManualSync`;
//! - `jitter` (or the pod's `ferry.dev/jitter`) moves every fire time later by the same
//!   offset below it, a hash of the CR's identity, so objects that share a schedule spread
//!   over the window and each keeps its slot across restarts;
//! - no trigger at all means continuous: sync again as soon as the last one ended.

use ferry_api::rules::cron::Schedule;
use ferry_api::rules::duration;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// The most fire times counted as missed in one go; beyond it the count saturates.
const MISSED_CAP: u64 = 100_000;

/// What makes this CR sync.
#[derive(Debug, Clone)]
pub enum Trigger {
    /// `spec.paused: true`.
    Paused,
    /// `spec.trigger.manual`.
    Manual {
        /// The value asked for.
        wanted: String,
        /// `status.lastManualSync`.
        done: Option<String>,
    },
    /// A cron schedule.
    Cron {
        /// The parsed schedule.
        schedule: Schedule,
        /// Its time zone.
        zone: TimeZone,
        /// As written, for messages.
        text: String,
        /// How much later than the schedule's times this object fires (its jitter slot).
        offset: SignedDuration,
    },
    /// No trigger.
    Continuous,
}

/// Why a trigger could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: \"{value}\": {problem}")]
pub struct TriggerError {
    /// The field or annotation.
    pub field: &'static str,
    /// Its value.
    pub value: String,
    /// The rule it breaks.
    pub problem: String,
}

/// The inputs of [`Trigger::build`].
#[derive(Debug, Clone, Default)]
pub struct Inputs<'a> {
    /// `spec.paused`.
    pub paused: bool,
    /// `spec.trigger.schedule`.
    pub schedule: Option<&'a str>,
    /// `spec.trigger.timeZone`.
    pub time_zone: Option<&'a str>,
    /// `spec.trigger.manual`.
    pub manual: Option<&'a str>,
    /// `status.lastManualSync`.
    pub last_manual: Option<&'a str>,
    /// The pod's `ferry.dev/schedule`.
    pub pod_schedule: Option<&'a str>,
    /// The pod's `ferry.dev/time-zone`.
    pub pod_time_zone: Option<&'a str>,
    /// `spec.trigger.jitter`.
    pub jitter: Option<&'a str>,
    /// The pod's `ferry.dev/jitter`.
    pub pod_jitter: Option<&'a str>,
    /// What the jitter slot is a hash of: the CR's namespace, kind and name ([`slot_key`]).
    pub key: &'a str,
}

/// The identity a jitter slot is derived from. The CR, not the pod: a Deployment's pod is
/// re-created under a new name, and must keep its slot.
pub fn slot_key(namespace: &str, kind: &str, name: &str) -> String {
    format!("{namespace}/{kind}/{name}")
}

/// The offset of `key` within a window of `jitter`: the stable hash of the key
/// ([`ferry_api::stable_hash`]), modulo the window in milliseconds, so a slot never moves
/// with a restart or an upgrade.
pub fn slot(key: &str, jitter: std::time::Duration) -> SignedDuration {
    let window = u64::try_from(jitter.as_millis()).unwrap_or(u64::MAX);
    if window == 0 {
        return SignedDuration::ZERO;
    }
    let hash = ferry_api::stable_hash::fnv1a(key.as_bytes());
    let millis = i64::try_from(hash % window).unwrap_or(0);
    SignedDuration::from_millis(millis)
}

impl Trigger {
    /// Builds the trigger in force from the CR and the pod's overrides.
    pub fn build(inputs: &Inputs<'_>) -> Result<Trigger, TriggerError> {
        if inputs.paused {
            return Ok(Trigger::Paused);
        }
        let zone_of = |field: &'static str, text: Option<&str>| -> Result<TimeZone, TriggerError> {
            match text {
                None => Ok(TimeZone::UTC),
                Some(name) => ferry_api::rules::timezone::parse(name).map_err(|e| TriggerError {
                    field,
                    value: name.to_owned(),
                    problem: e.to_string(),
                }),
            }
        };
        let (jitter_field, jitter_text) = match (inputs.pod_jitter, inputs.jitter) {
            (Some(text), _) => ("ferry.dev/jitter", Some(text)),
            (None, text) => ("spec.trigger.jitter", text),
        };
        let offset = match jitter_text {
            None => SignedDuration::ZERO,
            Some(text) => duration::parse(text)
                .map(|jitter| slot(inputs.key, jitter))
                .map_err(|e| TriggerError {
                    field: jitter_field,
                    value: text.to_owned(),
                    problem: e.to_string(),
                })?,
        };
        let cron = |field: &'static str, text: &str, zone: TimeZone| {
            Schedule::parse(text)
                .map(|schedule| Trigger::Cron {
                    schedule,
                    zone,
                    text: text.to_owned(),
                    offset,
                })
                .map_err(|errors| TriggerError {
                    field,
                    value: text.to_owned(),
                    problem: errors
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; "),
                })
        };
        if let Some(text) = inputs.pod_schedule {
            let zone = match inputs.pod_time_zone {
                Some(name) => zone_of("ferry.dev/time-zone", Some(name))?,
                None => zone_of("spec.trigger.timeZone", inputs.time_zone)?,
            };
            return cron("ferry.dev/schedule", text, zone);
        }
        if let Some(wanted) = inputs.manual {
            return Ok(Trigger::Manual {
                wanted: wanted.to_owned(),
                done: inputs.last_manual.map(str::to_owned),
            });
        }
        if let Some(text) = inputs.schedule {
            let zone = match inputs.pod_time_zone {
                Some(name) => zone_of("ferry.dev/time-zone", Some(name))?,
                None => zone_of("spec.trigger.timeZone", inputs.time_zone)?,
            };
            return cron("spec.trigger.schedule", text, zone);
        }
        Ok(Trigger::Continuous)
    }
}

/// Why a sync starts now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// A new `manual` value; recorded as `lastManualSync` when the sync ends.
    Manual(String),
    /// The schedule fired; `missed` more fire times passed without a sync.
    Schedule {
        /// Fire times skipped.
        missed: u64,
    },
    /// Continuous mode.
    Continuous,
}

/// What to do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Sync now.
    Now(Why),
    /// Wait until this time (the next fire time), unless the CR changes.
    At(Timestamp),
    /// Wait for a new `manual` value.
    WaitForManual,
    /// Paused: wait for the CR to change.
    Paused,
    /// The schedule never fires again (e.g. `0 0 30 2 *`).
    Never,
}

/// Decides, given the last completion (or the sidecar's start when nothing completed yet).
pub fn decide(trigger: &Trigger, anchor: Timestamp, now: Timestamp) -> Decision {
    match trigger {
        Trigger::Paused => Decision::Paused,
        Trigger::Continuous => Decision::Now(Why::Continuous),
        Trigger::Manual { wanted, done } => {
            if done.as_deref() == Some(wanted.as_str()) {
                Decision::WaitForManual
            } else {
                Decision::Now(Why::Manual(wanted.clone()))
            }
        }
        Trigger::Cron {
            schedule,
            zone,
            offset,
            ..
        } => {
            // In the schedule's own time: the slot moves every fire time by `offset`.
            let anchor = unshift(anchor, *offset);
            let now = unshift(now, *offset);
            let Some(next) = schedule.next_after(anchor, zone) else {
                return Decision::Never;
            };
            if next > now {
                return Decision::At(shift(next, *offset));
            }
            let mut missed = 0;
            let mut at = next;
            while missed < MISSED_CAP {
                match schedule.next_after(at, zone) {
                    Some(later) if later <= now => {
                        missed += 1;
                        at = later;
                    }
                    _ => break,
                }
            }
            Decision::Now(Why::Schedule { missed })
        }
    }
}

/// The next fire time after a sync that ended at `completed`, for `status.nextSyncTime`.
pub fn next_fire(trigger: &Trigger, completed: Timestamp) -> Option<Timestamp> {
    match trigger {
        Trigger::Cron {
            schedule,
            zone,
            offset,
            ..
        } => schedule
            .next_after(unshift(completed, *offset), zone)
            .map(|t| shift(t, *offset)),
        _ => None,
    }
}

/// `t` moved later by a jitter slot (unchanged at the end of time, where nothing fires).
fn shift(t: Timestamp, offset: SignedDuration) -> Timestamp {
    t.checked_add(offset).unwrap_or(t)
}

/// `t` moved earlier by a jitter slot.
fn unshift(t: Timestamp, offset: SignedDuration) -> Timestamp {
    t.checked_sub(offset).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn cron(text: &str) -> Trigger {
        Trigger::build(&Inputs {
            schedule: Some(text),
            ..Inputs::default()
        })
        .unwrap()
    }

    #[test]
    fn paused_wins_over_everything() {
        let t = Trigger::build(&Inputs {
            paused: true,
            manual: Some("a"),
            pod_schedule: Some("* * * * *"),
            ..Inputs::default()
        })
        .unwrap();
        assert_eq!(
            decide(&t, ts("2026-01-01T00:00:00Z"), ts("2026-01-02T00:00:00Z")),
            Decision::Paused
        );
    }

    #[test]
    fn the_pod_schedule_overrides_the_manual_trigger_and_keeps_the_cr_zone() {
        let t = Trigger::build(&Inputs {
            manual: Some("a"),
            time_zone: Some("Europe/Berlin"),
            pod_schedule: Some("0 2 * * *"),
            ..Inputs::default()
        })
        .unwrap();
        // 02:00 in Berlin (winter) is 01:00 UTC.
        assert_eq!(
            decide(&t, ts("2026-01-10T00:00:00Z"), ts("2026-01-10T00:30:00Z")),
            Decision::At(ts("2026-01-10T01:00:00Z"))
        );
        let t = Trigger::build(&Inputs {
            time_zone: Some("Europe/Berlin"),
            pod_time_zone: Some("America/New_York"),
            pod_schedule: Some("0 2 * * *"),
            ..Inputs::default()
        })
        .unwrap();
        assert_eq!(
            decide(&t, ts("2026-01-10T00:00:00Z"), ts("2026-01-10T00:30:00Z")),
            Decision::At(ts("2026-01-10T07:00:00Z"))
        );
    }

    #[test]
    fn manual_syncs_once_per_value() {
        let t = Trigger::build(&Inputs {
            manual: Some("one"),
            last_manual: Some("one"),
            ..Inputs::default()
        })
        .unwrap();
        let now = ts("2026-01-01T00:00:00Z");
        assert_eq!(decide(&t, now, now), Decision::WaitForManual);
        let t = Trigger::build(&Inputs {
            manual: Some("two"),
            last_manual: Some("one"),
            ..Inputs::default()
        })
        .unwrap();
        assert_eq!(
            decide(&t, now, now),
            Decision::Now(Why::Manual("two".into()))
        );
    }

    #[test]
    fn no_trigger_is_continuous() {
        let now = ts("2026-01-01T00:00:00Z");
        assert_eq!(
            decide(&Trigger::build(&Inputs::default()).unwrap(), now, now),
            Decision::Now(Why::Continuous)
        );
    }

    #[test]
    fn the_next_fire_counts_from_the_last_completion() {
        let t = cron("*/10 * * * *");
        assert_eq!(
            decide(&t, ts("2026-01-01T00:03:00Z"), ts("2026-01-01T00:04:00Z")),
            Decision::At(ts("2026-01-01T00:10:00Z"))
        );
        assert_eq!(
            next_fire(&t, ts("2026-01-01T00:10:42Z")),
            Some(ts("2026-01-01T00:20:00Z"))
        );
    }

    #[test]
    fn missed_intervals_are_counted_not_queued() {
        let t = cron("*/10 * * * *");
        // Last completion 00:03; now 00:41: 00:10 fires now, 00:20, 00:30 and 00:40 are missed.
        assert_eq!(
            decide(&t, ts("2026-01-01T00:03:00Z"), ts("2026-01-01T00:41:00Z")),
            Decision::Now(Why::Schedule { missed: 3 })
        );
        assert_eq!(
            decide(&t, ts("2026-01-01T00:03:00Z"), ts("2026-01-01T00:10:00Z")),
            Decision::Now(Why::Schedule { missed: 0 })
        );
    }

    #[test]
    fn a_schedule_that_never_fires_says_so() {
        let t = cron("0 0 30 2 *");
        let now = ts("2026-01-01T00:00:00Z");
        assert_eq!(decide(&t, now, now), Decision::Never);
    }

    #[test]
    fn bad_overrides_name_the_annotation() {
        let err = Trigger::build(&Inputs {
            pod_schedule: Some("*/61 * * * *"),
            ..Inputs::default()
        })
        .unwrap_err();
        assert_eq!(err.field, "ferry.dev/schedule");
        let err = Trigger::build(&Inputs {
            pod_schedule: Some("@hourly"),
            pod_time_zone: Some("Mars/Olympus"),
            ..Inputs::default()
        })
        .unwrap_err();
        assert_eq!(err.field, "ferry.dev/time-zone");
    }

    fn jittered(key: &str, jitter: &str) -> Trigger {
        Trigger::build(&Inputs {
            schedule: Some("0 * * * *"),
            jitter: Some(jitter),
            key,
            ..Inputs::default()
        })
        .unwrap()
    }

    fn offset_of(t: &Trigger) -> SignedDuration {
        match t {
            Trigger::Cron { offset, .. } => *offset,
            other => panic!("not a schedule: {other:?}"),
        }
    }

    #[test]
    fn a_slot_is_fixed_by_the_key_and_below_the_window() {
        let key = slot_key("shop", "ReplicationSource", "db");
        let a = slot(&key, std::time::Duration::from_secs(600));
        assert_eq!(a, slot(&key, std::time::Duration::from_secs(600)));
        assert!(a >= SignedDuration::ZERO && a < SignedDuration::from_secs(600));
        assert_eq!(slot(&key, std::time::Duration::ZERO), SignedDuration::ZERO);
        // A fixed definition: this value must never change across builds, or every
        // object would move to a new slot on upgrade.
        // FNV-1a 64 of the key, modulo 3,600,000 ms.
        assert_eq!(
            slot(
                "shop/ReplicationSource/db",
                std::time::Duration::from_secs(3600)
            ),
            SignedDuration::from_millis(3_543_504)
        );
    }

    #[test]
    fn twenty_objects_spread_over_the_window() {
        let window = std::time::Duration::from_secs(60);
        let mut slots: Vec<i64> = (0..20)
            .map(|i| {
                slot(
                    &slot_key("fleet", "ReplicationSource", &format!("app-{i}")),
                    window,
                )
                .as_secs()
            })
            .collect();
        slots.sort_unstable();
        slots.dedup();
        // Twenty keys over sixty one-second buckets: most land apart, none beyond the window.
        assert!(slots.len() >= 12, "{slots:?}");
        assert!(slots.iter().all(|s| (0..60).contains(s)), "{slots:?}");
        let spread = slots.last().unwrap() - slots.first().unwrap();
        assert!(spread >= 30, "{slots:?}");
    }

    #[test]
    fn jitter_moves_every_fire_time_by_the_slot() {
        let t = jittered("shop/ReplicationSource/db", "10m");
        let offset = offset_of(&t);
        assert!(offset > SignedDuration::ZERO && offset < SignedDuration::from_mins(10));
        let start = ts("2026-01-01T00:10:00Z");
        let due = ts("2026-01-01T01:00:00Z").checked_add(offset).unwrap();
        // Before the slot: wait for it, at the real time.
        assert_eq!(
            decide(&t, start, ts("2026-01-01T01:00:00Z")),
            Decision::At(due)
        );
        assert_eq!(next_fire(&t, start), Some(due));
        // At the slot: sync.
        assert_eq!(
            decide(&t, start, due),
            Decision::Now(Why::Schedule { missed: 0 })
        );
        // A sync that ended inside the hour's window fires at the next hour's slot.
        let after = due.checked_add(SignedDuration::from_secs(5)).unwrap();
        assert_eq!(
            next_fire(&t, after),
            Some(ts("2026-01-01T02:00:00Z").checked_add(offset).unwrap())
        );
        // Missed slots are counted in the shifted time too.
        let late = ts("2026-01-01T03:30:00Z");
        assert_eq!(
            decide(&t, start, late),
            Decision::Now(Why::Schedule { missed: 2 })
        );
    }

    #[test]
    fn the_pod_annotation_overrides_the_jitter_and_bad_values_are_named() {
        let t = Trigger::build(&Inputs {
            schedule: Some("0 * * * *"),
            jitter: Some("30m"),
            pod_jitter: Some("0s"),
            key: "a/ReplicationSource/b",
            ..Inputs::default()
        })
        .unwrap();
        assert_eq!(offset_of(&t), SignedDuration::ZERO);
        let err = Trigger::build(&Inputs {
            schedule: Some("0 * * * *"),
            jitter: Some("5 minutes"),
            ..Inputs::default()
        })
        .unwrap_err();
        assert_eq!(err.field, "spec.trigger.jitter");
        let err = Trigger::build(&Inputs {
            schedule: Some("0 * * * *"),
            pod_jitter: Some("48h"),
            ..Inputs::default()
        })
        .unwrap_err();
        assert_eq!(err.field, "ferry.dev/jitter");
    }
}
