//! Durations as Kubernetes and Go write them (`90s`, `5m`, `1h30m`), for settings such as
//! the trigger's jitter.
//!
//! Only whole hours, minutes and seconds, in that order, each at most once: the settings that
//! take a duration are schedule offsets, where sub-second precision means nothing, and one
//! spelling per value keeps manifests comparable in review.

use std::time::Duration;

/// The longest duration accepted: a day. A longer offset of a cron schedule is the same as a
/// shorter one for every daily or more frequent schedule, and almost surely a typo.
pub const MAX: Duration = Duration::from_secs(24 * 3600);

/// A problem with a duration. The `Display` is the rule text of a validation message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Not of the form `1h30m15s`.
    #[error(
        "not a duration: write whole hours, minutes and seconds in that order, such as \"90s\", \"10m\" or \"1h30m\""
    )]
    Syntax,
    /// Over [`MAX`].
    #[error("longer than 24h: use at most \"24h\"")]
    TooLong,
}

/// Parses `1h30m15s`, `10m`, `90s` or `0s`.
pub fn parse(s: &str) -> Result<Duration, DurationError> {
    let mut rest = s;
    let mut seconds: u64 = 0;
    let mut last_unit = 0;
    if rest.is_empty() {
        return Err(DurationError::Syntax);
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 6 {
            return Err(DurationError::Syntax);
        }
        let (number, tail) = rest.split_at(digits);
        let value: u64 = number.parse().map_err(|_| DurationError::Syntax)?;
        let mut chars = tail.chars();
        let (rank, scale) = match chars.next() {
            Some('h') => (1, 3600),
            Some('m') => (2, 60),
            Some('s') => (3, 1),
            _ => return Err(DurationError::Syntax),
        };
        if rank <= last_unit {
            return Err(DurationError::Syntax);
        }
        last_unit = rank;
        seconds = seconds.saturating_add(value.saturating_mul(scale));
        rest = chars.as_str();
    }
    let duration = Duration::from_secs(seconds);
    if duration > MAX {
        return Err(DurationError::TooLong);
    }
    Ok(duration)
}

/// The regular expression of the CRD schema: the same form [`parse`] accepts (its bound is
/// checked by the webhook).
pub const PATTERN: &str = "^([0-9]{1,6}h)?([0-9]{1,6}m)?([0-9]{1,6}s)?$";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_go_style_durations() {
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("1h2m3s"), Ok(Duration::from_secs(3723)));
        assert_eq!(parse("0s"), Ok(Duration::ZERO));
        assert_eq!(parse("24h"), Ok(MAX));
    }

    #[test]
    fn refuses_other_forms() {
        for bad in [
            "", "5", "m", "1.5h", "1m1h", "1m1m", "-5m", "5 m", "1d", "5ms", "1h ", "1234567s",
        ] {
            assert_eq!(parse(bad), Err(DurationError::Syntax), "{bad:?}");
        }
        assert_eq!(parse("25h"), Err(DurationError::TooLong));
        assert_eq!(parse("24h1s"), Err(DurationError::TooLong));
    }
}
