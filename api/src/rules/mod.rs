//! Pure checks of single values: cron schedules, durations, time zones, names, quantities,
//! paths, exclude patterns, bandwidth limits, the names of timestamped copies and hook targets.
//!
//! Each check returns a typed value or a typed error whose `Display` is the rule text that
//! follows `field.path: "value": ` in a validation message: lower case, no trailing period,
//! and naming the fix where there is one.

pub mod cron;
pub mod duration;
pub mod glob;
pub mod hook;
pub mod names;
pub mod paths;
pub mod quantity;
pub mod rate;
pub mod stamp;
pub mod timezone;
