//! One field of a cron expression: the set of values it allows.

use super::{CronError, CronField};

/// Month names in order, so that the index plus one is the month number.
const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

/// Day names in order, so that the index is the day number (Sunday is 0).
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// The values one field allows, as a bit set, and whether it was written as `*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct FieldSet {
    bits: u64,
    /// Whether the field starts with `*` or `?`, which Vixie cron's day rule looks at.
    star: bool,
}

impl FieldSet {
    /// Parses the text of `field`, pushing every problem onto `errors`. The set returned
    /// when there are problems is meaningless.
    pub(super) fn parse(field: CronField, text: &str, errors: &mut Vec<CronError>) -> FieldSet {
        let mut set = FieldSet {
            bits: 0,
            star: is_star(field, text.split(['/', ',']).next().unwrap_or_default()),
        };
        let mut reported_empty = false;
        for item in text.split(',') {
            if item.is_empty() {
                if !reported_empty {
                    errors.push(CronError::EmptyListItem {
                        field,
                        text: text.to_owned(),
                    });
                    reported_empty = true;
                }
                continue;
            }
            set.add_item(field, item, errors);
        }
        if field == CronField::DayOfWeek && set.contains(7) {
            // 7 is another name for Sunday.
            set.bits = (set.bits & !(1 << 7)) | 1;
        }
        set
    }

    /// Whether `value` is in the set.
    pub(super) fn contains(self, value: u32) -> bool {
        value < 64 && self.bits & (1 << value) != 0
    }

    /// Whether the field was written as `*` or `?` (with or without a step).
    pub(super) fn is_star(self) -> bool {
        self.star
    }

    /// The values in the set, smallest first.
    pub(super) fn values(self) -> impl Iterator<Item = u32> {
        (0..64).filter(move |value| self.contains(*value))
    }

    /// Adds one list item: a value, a range or a step, pushing any problems onto `errors`.
    fn add_item(&mut self, field: CronField, item: &str, errors: &mut Vec<CronError>) {
        let (base, step) = match item.split_once('/') {
            Some((base, step)) => (base, Some(step)),
            None => (item, None),
        };
        let step = match step.map(|step| parse_step(field, step)) {
            None => Some(1),
            Some(Ok(step)) => Some(step),
            Some(Err(error)) => {
                errors.push(error);
                None
            }
        };
        let range = if is_star(field, base) {
            Some((field.min(), last_of_full_range(field)))
        } else if let Some((start, end)) = base.split_once('-') {
            parse_range(field, base, start, end, errors)
        } else {
            match parse_value(field, base) {
                // `a/n` runs from `a` to the end of the range, as in Vixie cron.
                Ok(start) if step.is_some() && item.contains('/') => {
                    Some((start, last_of_full_range(field).max(start)))
                }
                Ok(value) => Some((value, value)),
                Err(error) => {
                    errors.push(error);
                    None
                }
            }
        };
        if let (Some((start, end)), Some(step)) = (range, step) {
            let step = usize::try_from(step).unwrap_or(usize::MAX);
            for value in (start..=end).step_by(step) {
                self.bits |= 1 << value;
            }
        }
    }
}

/// Whether `base` means "every value" in `field`: `*`, or `?` in the two day fields.
fn is_star(field: CronField, base: &str) -> bool {
    base == "*" || (base == "?" && matches!(field, CronField::DayOfMonth | CronField::DayOfWeek))
}

/// The last value of `*` in `field`: day-of-week stops at Saturday so a step such as `1/2`
/// does not wrap around to Sunday through 7.
fn last_of_full_range(field: CronField) -> u32 {
    match field {
        CronField::DayOfWeek => 6,
        _ => field.max(),
    }
}

/// Parses the `a-b` range `base`, pushing any problems onto `errors`.
fn parse_range(
    field: CronField,
    base: &str,
    start: &str,
    end: &str,
    errors: &mut Vec<CronError>,
) -> Option<(u32, u32)> {
    if start.is_empty() || end.is_empty() {
        errors.push(not_a_value(field, base));
        return None;
    }
    let start = parse_value(field, start).map_err(|error| errors.push(error));
    let end = parse_value(field, end).map_err(|error| errors.push(error));
    let (Ok(start), Ok(mut end)) = (start, end) else {
        return None;
    };
    if field == CronField::DayOfWeek && end == 0 && start > 0 {
        // `FRI-SUN` means Friday through Sunday.
        end = 7;
    }
    if start > end {
        errors.push(CronError::ReversedRange {
            field,
            range: base.to_owned(),
        });
        return None;
    }
    Some((start, end))
}

/// Parses the step after `/`: a whole number from 1 to the field's maximum.
fn parse_step(field: CronField, step: &str) -> Result<u32, CronError> {
    if step.is_empty() || !step.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(CronError::StepNotANumber {
            field,
            step: step.to_owned(),
        });
    }
    match step.parse::<u32>() {
        Ok(0) => Err(CronError::ZeroStep { field }),
        Ok(step) if step <= field.max() => Ok(step),
        _ => Err(CronError::OutOfRange {
            field,
            value: step.to_owned(),
        }),
    }
}

/// Parses one value: a number in the field's range, or a month or day name where allowed.
fn parse_value(field: CronField, token: &str) -> Result<u32, CronError> {
    if !token.is_empty() && token.bytes().all(|byte| byte.is_ascii_digit()) {
        return match token.parse::<u32>() {
            Ok(value) if (field.min()..=field.max()).contains(&value) => Ok(value),
            _ => Err(CronError::OutOfRange {
                field,
                value: token.to_owned(),
            }),
        };
    }
    let names: &[&str] = match field {
        CronField::Month => &MONTHS,
        CronField::DayOfWeek => &DAYS,
        CronField::Minute | CronField::Hour | CronField::DayOfMonth => &[],
    };
    let position = names
        .iter()
        .position(|name| name.eq_ignore_ascii_case(token))
        .and_then(|index| u32::try_from(index).ok());
    match (field, position) {
        (CronField::Month, Some(index)) => Ok(index + 1),
        (CronField::DayOfWeek, Some(index)) => Ok(index),
        _ => Err(not_a_value(field, token)),
    }
}

/// The error for a token that is not a value in `field`.
fn not_a_value(field: CronField, token: &str) -> CronError {
    match field {
        CronField::Month => CronError::NotAMonth(token.to_owned()),
        CronField::DayOfWeek => CronError::NotADayOfWeek(token.to_owned()),
        CronField::Minute | CronField::Hour | CronField::DayOfMonth => CronError::NotAValue {
            field,
            token: token.to_owned(),
        },
    }
}
