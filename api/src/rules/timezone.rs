//! Time zones: IANA names such as `Europe/Berlin`, looked up in the time zone database
//! bundled into the binary.
//!
//! The bundled copy, not the host's, so the webhook that validates a name and the sidecar
//! that schedules with it agree whatever image each runs in.

use jiff::tz::{TimeZone, TimeZoneDatabase};

/// A problem with a time zone name. The `Display` is the rule text of a validation message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TimeZoneError {
    /// The name is empty or only whitespace.
    #[error("empty time zone: use an IANA name such as \"Europe/Berlin\" or \"UTC\"")]
    Empty,
    /// The name is not in the time zone database, or is a POSIX TZ string, an offset or a
    /// file path rather than a name.
    #[error("unknown time zone: use an IANA name such as \"Europe/Berlin\" or \"UTC\"")]
    Unknown,
}

/// Parses an IANA time zone name such as `UTC`, `Europe/Berlin` or
/// `America/Argentina/Buenos_Aires` (without regard to ASCII case).
///
/// POSIX TZ strings (`CET-1CEST,M3.5.0,M10.5.0/3`), offsets (`+02:00`), `:`-prefixed file
/// names and paths with `..` are refused: the field takes a name, which also keeps the
/// lookup inside the database.
pub fn parse(s: &str) -> Result<TimeZone, TimeZoneError> {
    if s.trim().is_empty() {
        return Err(TimeZoneError::Empty);
    }
    let not_a_name = s.contains(',')
        || s.contains("..")
        || s.starts_with(['+', '-', ':', '/'])
        || s.chars().any(|c| c.is_whitespace() || c.is_control())
        // The database's stand-in for "no time zone", never a user's choice.
        || s.eq_ignore_ascii_case("Etc/Unknown");
    if not_a_name {
        return Err(TimeZoneError::Unknown);
    }
    TimeZoneDatabase::bundled()
        .get(s)
        .map_err(|_| TimeZoneError::Unknown)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn accepts_iana_names() {
        for (input, canonical) in [
            ("UTC", "UTC"),
            ("Europe/Berlin", "Europe/Berlin"),
            (
                "America/Argentina/Buenos_Aires",
                "America/Argentina/Buenos_Aires",
            ),
            ("america/new_york", "America/New_York"),
            ("Asia/Kolkata", "Asia/Kolkata"),
            ("Etc/GMT+5", "Etc/GMT+5"),
            ("EST5EDT", "EST5EDT"),
        ] {
            let zone = parse(input).map(|tz| tz.iana_name().map(str::to_owned));
            assert_eq!(zone, Ok(Some(canonical.to_owned())), "{input:?}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_zone_name() {
        let unknown = "unknown time zone: use an IANA name such as \"Europe/Berlin\" or \"UTC\"";
        let empty = "empty time zone: use an IANA name such as \"Europe/Berlin\" or \"UTC\"";
        for (input, expected) in [
            ("", empty),
            ("  ", empty),
            ("Mars/Olympus", unknown),
            ("+02:00", unknown),
            ("-05", unknown),
            ("EST5EDT,M3.2.0,M11.1.0", unknown),
            ("CET-1CEST,M3.5.0,M10.5.0/3", unknown),
            (":Europe/Berlin", unknown),
            ("/usr/share/zoneinfo/UTC", unknown),
            ("../../etc/passwd", unknown),
            ("Europe/../UTC", unknown),
            (" UTC", unknown),
            ("Europe/Berlin\n", unknown),
            ("Etc/Unknown", unknown),
        ] {
            assert_eq!(
                parse(input).map_err(|e| e.to_string()).err().as_deref(),
                Some(expected),
                "{input:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn never_panics(input in any::<String>()) {
            let _ = parse(&input);
        }
    }
}
