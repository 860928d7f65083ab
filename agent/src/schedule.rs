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
//! - no trigger at all means continuous: sync again as soon as the last one ended.

use ferry_api::rules::cron::Schedule;
use jiff::Timestamp;
use jiff::tz::TimeZone;

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
        let cron = |field: &'static str, text: &str, zone: TimeZone| {
            Schedule::parse(text)
                .map(|schedule| Trigger::Cron {
                    schedule,
                    zone,
                    text: text.to_owned(),
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
        Trigger::Cron { schedule, zone, .. } => {
            let Some(next) = schedule.next_after(anchor, zone) else {
                return Decision::Never;
            };
            if next > now {
                return Decision::At(next);
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
        Trigger::Cron { schedule, zone, .. } => schedule.next_after(completed, zone),
        _ => None,
    }
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
}
