//! Pure checks of single values: cron schedules, durations, time zones, names, quantities, paths,
//! exclude patterns and bandwidth limits.
//!
//! Each check returns a typed value or a typed error whose `Display` is the rule text that
//! follows `field.path: "value": ` in a validation message: lower case, no trailing period,
//! and naming the fix where there is one.

pub mod cron;
pub mod duration;
pub mod glob;
pub mod names;
pub mod paths;
pub mod quantity;
pub mod rate;
pub mod timezone;
