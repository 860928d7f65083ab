//! Cron schedules: standard 5-field (Vixie) cron expressions and `@`-macros, and the next
//! time a schedule fires in a given time zone.
//!
//! A schedule is parsed once, with every problem reported, so a user fixes a manifest in one
//! round trip; the sidecar then asks it for the next firing time.

mod field;
#[cfg(test)]
mod tests;

use std::fmt;

use jiff::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};

use field::FieldSet;

/// How many days [`Schedule::next_after`] searches before it gives up: five years and the
/// day before the start, enough for any schedule that fires at all (29 February included).
const SEARCH_DAYS: u32 = 5 * 366 + 2;

/// One of the five fields of a cron expression, as named in error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CronField {
    /// The first field, 0-59.
    Minute,
    /// The second field, 0-23.
    Hour,
    /// The third field, 1-31.
    DayOfMonth,
    /// The fourth field, 1-12 or `JAN`-`DEC`.
    Month,
    /// The fifth field, 0-7 (0 and 7 are Sunday) or `SUN`-`SAT`.
    DayOfWeek,
}

impl CronField {
    /// The name users see in messages, as in `crontab(5)`.
    fn name(self) -> &'static str {
        match self {
            CronField::Minute => "minute",
            CronField::Hour => "hour",
            CronField::DayOfMonth => "day-of-month",
            CronField::Month => "month",
            CronField::DayOfWeek => "day-of-week",
        }
    }

    /// The smallest value that may be written in this field.
    fn min(self) -> u32 {
        match self {
            CronField::DayOfMonth | CronField::Month => 1,
            CronField::Minute | CronField::Hour | CronField::DayOfWeek => 0,
        }
    }

    /// The largest value that may be written in this field (7 is Sunday in day-of-week).
    fn max(self) -> u32 {
        match self {
            CronField::Minute => 59,
            CronField::Hour => 23,
            CronField::DayOfMonth => 31,
            CronField::Month => 12,
            CronField::DayOfWeek => 7,
        }
    }
}

impl fmt::Display for CronField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A problem with a cron expression. The `Display` is the rule text of a validation message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    /// The expression is empty or only whitespace.
    #[error(
        "empty schedule: use a 5-field cron expression such as \"0 * * * *\" or a macro such as @hourly"
    )]
    Empty,
    /// The expression starts with `@` but is not one of the supported macros.
    #[error(
        "unknown macro \"{0}\": use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly"
    )]
    UnknownMacro(String),
    /// The expression does not have exactly five whitespace-separated fields.
    #[error("expected 5 fields (minute hour day-of-month month day-of-week), found {0}")]
    FieldCount(usize),
    /// Six fields whose first looks like a seconds field, as in Quartz or Spring schedules.
    #[error(
        "expected 5 fields (minute hour day-of-month month day-of-week), found 6: Ferry does not take a seconds field"
    )]
    SecondsField,
    /// A value, or a step larger than the field's range, lies outside the field's range.
    #[error("{field} {value} is out of range {}-{}", .field.min(), .field.max())]
    OutOfRange {
        /// The field the value was written in.
        field: CronField,
        /// The value as written.
        value: String,
    },
    /// A minute, hour or day-of-month item that is not a number, range, list or step.
    #[error("{field} \"{token}\" is not a number, range, list or step")]
    NotAValue {
        /// The field the token was written in.
        field: CronField,
        /// The offending part of the field.
        token: String,
    },
    /// A month that is neither a number nor a three-letter month name.
    #[error("month \"{0}\" is not a month name (JAN-DEC) or number 1-12")]
    NotAMonth(String),
    /// A day of the week that is neither a number nor a three-letter day name.
    #[error("day-of-week \"{0}\" is not a day name (SUN-SAT) or number 0-7")]
    NotADayOfWeek(String),
    /// A range whose start is after its end.
    #[error("{field} range {range} is reversed: write the smaller value first")]
    ReversedRange {
        /// The field the range was written in.
        field: CronField,
        /// The range as written, without its step.
        range: String,
    },
    /// A step of zero, which would never advance.
    #[error("{field} step 0 must be at least 1")]
    ZeroStep {
        /// The field the step was written in.
        field: CronField,
    },
    /// A step that is not a whole number.
    #[error("{field} step \"{step}\" is not a number")]
    StepNotANumber {
        /// The field the step was written in.
        field: CronField,
        /// The step as written.
        step: String,
    },
    /// A list with an empty item, as in `1,,2` or `1,`.
    #[error("{field} \"{text}\" has an empty list item: remove the extra \",\"")]
    EmptyListItem {
        /// The field the list was written in.
        field: CronField,
        /// The whole field as written.
        text: String,
    },
}

/// A parsed cron schedule: the minutes, hours, days and months at which it fires.
///
/// Built by [`Schedule::parse`]; [`Schedule::next_after`] says when it next fires and the
/// `Display` gives back the expression as written (trimmed).
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    /// The expression as written, without surrounding whitespace.
    text: String,
    minutes: FieldSet,
    hours: FieldSet,
    days_of_month: FieldSet,
    months: FieldSet,
    /// Days of the week, Sunday as 0.
    days_of_week: FieldSet,
}

/// The macros cron accepts instead of five fields, with what each stands for.
const MACROS: [(&str, &str); 7] = [
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
    ("@monthly", "0 0 1 * *"),
    ("@weekly", "0 0 * * 0"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@hourly", "0 * * * *"),
];

impl Schedule {
    /// Parses a 5-field cron expression or a macro such as `@hourly`, returning every problem
    /// found rather than only the first.
    ///
    /// Fields follow Vixie cron: `*`, numbers, `a-b` ranges, `a,b` lists, `*/n`, `a-b/n` and
    /// `a/n` (`a` through the end of the range) steps; month and day names (`JAN`, `mon`) in
    /// any case; `?` as `*` in the two day fields; 0 and 7 both Sunday. Surrounding
    /// whitespace is ignored and fields are separated by runs of whitespace.
    pub fn parse(s: &str) -> Result<Schedule, Vec<CronError>> {
        let text = s.trim();
        if text.is_empty() {
            return Err(vec![CronError::Empty]);
        }
        let expression = if text.starts_with('@') {
            match MACROS.iter().find(|(name, _)| *name == text) {
                Some((_, expansion)) => *expansion,
                None => return Err(vec![CronError::UnknownMacro(text.to_owned())]),
            }
        } else {
            text
        };
        let fields: Vec<&str> = expression.split_whitespace().collect();
        let [minute, hour, day_of_month, month, day_of_week] = fields[..] else {
            return Err(vec![field_count_error(&fields)]);
        };
        let mut errors = Vec::new();
        let minutes = FieldSet::parse(CronField::Minute, minute, &mut errors);
        let hours = FieldSet::parse(CronField::Hour, hour, &mut errors);
        let days_of_month = FieldSet::parse(CronField::DayOfMonth, day_of_month, &mut errors);
        let months = FieldSet::parse(CronField::Month, month, &mut errors);
        let days_of_week = FieldSet::parse(CronField::DayOfWeek, day_of_week, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Schedule {
            text: text.to_owned(),
            minutes,
            hours,
            days_of_month,
            months,
            days_of_week,
        })
    }

    /// The first minute strictly after `after` at which the schedule fires, reckoned in the
    /// civil time of `tz`, or `None` if it does not fire within five years (`0 0 31 2 *`).
    ///
    /// Days follow Vixie cron: when both day fields are restricted either may match; when one
    /// is written `*` (or `?`), only the other counts. Around daylight saving changes a local
    /// time that does not exist (spring forward) is skipped, and a local time that happens
    /// twice (fall back) fires once, at the earlier instant.
    pub fn next_after(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        // Start the day before: around a fall-back transition at midnight, the first
        // firing may carry an earlier civil date than `after` does.
        let mut date = tz.to_datetime(after).date().yesterday().ok()?;
        for _ in 0..SEARCH_DAYS {
            if self.fires_on(date)
                && let Some(found) = self.first_on(date, after, tz)
            {
                return Some(found);
            }
            date = date.tomorrow().ok()?;
        }
        None
    }

    /// Whether the month and day fields allow `date`.
    fn fires_on(&self, date: Date) -> bool {
        let day_of_week = u32::from(date.weekday().to_sunday_zero_offset().unsigned_abs());
        let month = u32::from(date.month().unsigned_abs());
        let day = u32::from(date.day().unsigned_abs());
        if !self.months.contains(month) {
            return false;
        }
        let by_month_day = self.days_of_month.contains(day);
        let by_week_day = self.days_of_week.contains(day_of_week);
        if self.days_of_month.is_star() || self.days_of_week.is_star() {
            by_month_day && by_week_day
        } else {
            by_month_day || by_week_day
        }
    }

    /// The first firing on the civil `date` that is strictly after `after`.
    fn first_on(&self, date: Date, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        for hour in self.hours.values() {
            for minute in self.minutes.values() {
                let (Ok(hour), Ok(minute)) = (i8::try_from(hour), i8::try_from(minute)) else {
                    continue;
                };
                let Ok(time) = Time::new(hour, minute, 0, 0) else {
                    continue;
                };
                let civil = date.to_datetime(time);
                let instant = match tz.to_ambiguous_timestamp(civil).offset() {
                    AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(civil),
                    // Fire once in a repeated hour: at the first occurrence.
                    AmbiguousOffset::Fold { before, .. } => before.to_timestamp(civil),
                    // This local time does not exist today.
                    AmbiguousOffset::Gap { .. } => continue,
                };
                match instant {
                    Ok(instant) if instant > after => return Some(instant),
                    _ => {}
                }
            }
        }
        None
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The error for an expression with the wrong number of fields.
fn field_count_error(fields: &[&str]) -> CronError {
    // `0 0 * * * *` is the usual mistake: a seconds field copied from Quartz or Spring.
    if let [first, _, _, _, _, _] = fields {
        let mut errors = Vec::new();
        FieldSet::parse(CronField::Minute, first, &mut errors);
        if errors.is_empty() {
            return CronError::SecondsField;
        }
    }
    CronError::FieldCount(fields.len())
}
