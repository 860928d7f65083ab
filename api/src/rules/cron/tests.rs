use jiff::Timestamp;
use jiff::tz::TimeZone;
use proptest::prelude::*;

use super::*;

/// The messages `Schedule::parse` gives for `input`, or none if it parses.
fn messages(input: &str) -> Vec<String> {
    match Schedule::parse(input) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn accepts_valid_schedules() {
    for input in [
        "0 0 * * MON",
        "@daily",
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@midnight",
        "@hourly",
        "*/5 * * * *",
        "0 9-17 * * 1-5",
        "0 0 1,15 * *",
        "30 2 * JAN-MAR SUN",
        "0 0 * * 7",
        "  0   0 *\t* *  ",
        "0 0 ? * mon-fri",
        "5/15 * * * *",
        "0-30/10 0 * dec fri-sun",
        "59 23 31 12 0-7",
    ] {
        assert_eq!(messages(input), Vec::<String>::new(), "{input:?}");
    }
}

#[test]
fn refuses_invalid_schedules_with_every_problem() {
    let cases: &[(&str, &[&str])] = &[
        (
            "61 25 * * *",
            &[
                "minute 61 is out of range 0-59",
                "hour 25 is out of range 0-23",
            ],
        ),
        ("*/61 * * * *", &["minute 61 is out of range 0-59"]),
        ("*/60 * * * *", &["minute 60 is out of range 0-59"]),
        ("0 0 0 * *", &["day-of-month 0 is out of range 1-31"]),
        ("0 0 * 13 *", &["month 13 is out of range 1-12"]),
        ("0 0 * * 8", &["day-of-week 8 is out of range 0-7"]),
        (
            "99999999999 * * * *",
            &["minute 99999999999 is out of range 0-59"],
        ),
        (
            "@hourlyXYZ",
            &[
                "unknown macro \"@hourlyXYZ\": use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly",
            ],
        ),
        (
            "@reboot",
            &[
                "unknown macro \"@reboot\": use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly",
            ],
        ),
        (
            "garbage 0 0 * * *",
            &["expected 5 fields (minute hour day-of-month month day-of-week), found 6"],
        ),
        (
            "0 0 * * * *",
            &[
                "expected 5 fields (minute hour day-of-month month day-of-week), found 6: Ferry does not take a seconds field",
            ],
        ),
        (
            "0 0 * *",
            &["expected 5 fields (minute hour day-of-month month day-of-week), found 4"],
        ),
        (
            "0 0 12 * * ? 2030",
            &["expected 5 fields (minute hour day-of-month month day-of-week), found 7"],
        ),
        (
            "abc * * * *",
            &["minute \"abc\" is not a number, range, list or step"],
        ),
        (
            "? * * * *",
            &["minute \"?\" is not a number, range, list or step"],
        ),
        (
            "0 1-x * * *",
            &["hour \"x\" is not a number, range, list or step"],
        ),
        (
            "0 -5 * * *",
            &["hour \"-5\" is not a number, range, list or step"],
        ),
        (
            "5-1 * * * *",
            &["minute range 5-1 is reversed: write the smaller value first"],
        ),
        (
            "0 0 * * FRI-MON",
            &["day-of-week range FRI-MON is reversed: write the smaller value first"],
        ),
        ("*/0 * * * *", &["minute step 0 must be at least 1"]),
        ("0 0 */x * *", &["day-of-month step \"x\" is not a number"]),
        (
            "0 0 * FOO *",
            &["month \"FOO\" is not a month name (JAN-DEC) or number 1-12"],
        ),
        (
            "0 0 * JANUARY *",
            &["month \"JANUARY\" is not a month name (JAN-DEC) or number 1-12"],
        ),
        (
            "0 0 * * FUNDAY",
            &["day-of-week \"FUNDAY\" is not a day name (SUN-SAT) or number 0-7"],
        ),
        (
            "1,,2 * * * *",
            &["minute \"1,,2\" has an empty list item: remove the extra \",\""],
        ),
        (
            "",
            &[
                "empty schedule: use a 5-field cron expression such as \"0 * * * *\" or a macro such as @hourly",
            ],
        ),
        (
            " \t ",
            &[
                "empty schedule: use a 5-field cron expression such as \"0 * * * *\" or a macro such as @hourly",
            ],
        ),
        (
            "60 24 32 0 9",
            &[
                "minute 60 is out of range 0-59",
                "hour 24 is out of range 0-23",
                "day-of-month 32 is out of range 1-31",
                "month 0 is out of range 1-12",
                "day-of-week 9 is out of range 0-7",
            ],
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(messages(input), *expected, "{input:?}");
    }
}

#[test]
fn displays_the_expression_as_written() {
    let cases = [("@daily", "@daily"), ("  */5 * * * MON ", "*/5 * * * MON")];
    for (input, shown) in cases {
        let schedule = Schedule::parse(input).map(|s| s.to_string());
        assert_eq!(schedule, Ok(shown.to_owned()), "{input:?}");
    }
}

#[test]
fn seven_and_zero_are_both_sunday() {
    assert_eq!(
        Schedule::parse("0 0 * * 7").map(|s| s.days_of_week),
        Schedule::parse("0 0 * * 0").map(|s| s.days_of_week),
    );
}

/// The next firing of `schedule` after the RFC 3339 instant `after` in zone `zone`.
fn next(schedule: &str, after: &str, zone: &str) -> Result<Option<String>, String> {
    let schedule = Schedule::parse(schedule).map_err(|e| format!("{e:?}"))?;
    let tz = TimeZone::get(zone).map_err(|e| e.to_string())?;
    let after: Timestamp = after.parse().map_err(|e: jiff::Error| e.to_string())?;
    Ok(schedule.next_after(after, &tz).map(|t| t.to_string()))
}

#[test]
fn finds_the_next_firing() {
    let cases: &[(&str, &str, &str, Option<&str>)] = &[
        // Strictly after: a firing at `after` itself does not count.
        (
            "0 0 * * *",
            "2024-01-01T00:00:00Z",
            "UTC",
            Some("2024-01-02T00:00:00Z"),
        ),
        (
            "*/5 * * * *",
            "2024-01-01T00:03:30Z",
            "UTC",
            Some("2024-01-01T00:05:00Z"),
        ),
        (
            "* * * * *",
            "2024-12-31T23:59:00Z",
            "UTC",
            Some("2025-01-01T00:00:00Z"),
        ),
        // 2024-01-01 is a Monday.
        (
            "0 0 * * MON",
            "2024-01-01T00:00:00Z",
            "UTC",
            Some("2024-01-08T00:00:00Z"),
        ),
        (
            "@hourly",
            "2024-01-01T10:30:00Z",
            "UTC",
            Some("2024-01-01T11:00:00Z"),
        ),
        (
            "@yearly",
            "2024-06-01T00:00:00Z",
            "UTC",
            Some("2025-01-01T00:00:00Z"),
        ),
        (
            "0 9-17 * * 1-5",
            "2024-01-05T17:00:00Z",
            "UTC",
            Some("2024-01-08T09:00:00Z"),
        ),
        (
            "0 0 29 2 *",
            "2025-03-01T00:00:00Z",
            "UTC",
            Some("2028-02-29T00:00:00Z"),
        ),
        ("0 0 31 2 *", "2024-01-01T00:00:00Z", "UTC", None),
        // Both day fields restricted: either matches (Friday 5 January before the 13th).
        (
            "0 0 13 * FRI",
            "2024-01-01T00:00:00Z",
            "UTC",
            Some("2024-01-05T00:00:00Z"),
        ),
        // Day-of-month starts with `*`: both must match, so a Friday on the 1st, 11th,
        // 21st or 31st, which first happens on 1 March 2024.
        (
            "0 0 */10 * FRI",
            "2024-01-01T00:00:00Z",
            "UTC",
            Some("2024-03-01T00:00:00Z"),
        ),
        (
            "0 12 * * *",
            "2024-01-01T00:00:00Z",
            "Europe/Berlin",
            Some("2024-01-01T11:00:00Z"),
        ),
        // Spring forward in Berlin: 02:30 does not exist on 31 March 2024.
        (
            "30 2 * * *",
            "2024-03-30T12:00:00Z",
            "Europe/Berlin",
            Some("2024-04-01T00:30:00Z"),
        ),
        (
            "0 * * * *",
            "2024-03-31T00:30:00Z",
            "Europe/Berlin",
            Some("2024-03-31T01:00:00Z"),
        ),
        // Fall back in Berlin: 02:30 happens twice on 27 October 2024 and fires once, in
        // summer time (00:30Z), not again at 01:30Z.
        (
            "30 2 * * *",
            "2024-10-26T12:00:00Z",
            "Europe/Berlin",
            Some("2024-10-27T00:30:00Z"),
        ),
        (
            "30 2 * * *",
            "2024-10-27T00:30:00Z",
            "Europe/Berlin",
            Some("2024-10-28T01:30:00Z"),
        ),
        (
            "0 * * * *",
            "2024-10-27T00:00:00Z",
            "Europe/Berlin",
            Some("2024-10-27T02:00:00Z"),
        ),
        // New York: 09:00 EDT on Monday 11 March 2024, the day after spring forward.
        (
            "0 9 * * 1-5",
            "2024-03-08T15:00:00Z",
            "America/New_York",
            Some("2024-03-11T13:00:00Z"),
        ),
        (
            "30 2 * * *",
            "2024-03-09T12:00:00Z",
            "America/New_York",
            Some("2024-03-11T06:30:00Z"),
        ),
        (
            "30 1 * * *",
            "2024-11-03T04:00:00Z",
            "America/New_York",
            Some("2024-11-03T05:30:00Z"),
        ),
    ];
    for (schedule, after, zone, expected) in cases {
        assert_eq!(
            next(schedule, after, zone),
            Ok(expected.map(str::to_owned)),
            "{schedule:?} after {after} in {zone}"
        );
    }
}

proptest! {
    #[test]
    fn parse_never_panics(input in any::<String>()) {
        let _ = Schedule::parse(&input);
    }

    #[test]
    fn next_after_never_panics(
        input in "[0-9*/,?A-Za-z-]{1,6}( [0-9*/,?A-Za-z-]{1,6}){4}",
        seconds in -10_000_000_000i64..10_000_000_000i64,
    ) {
        if let (Ok(schedule), Ok(after)) = (Schedule::parse(&input), Timestamp::from_second(seconds))
            && let Some(found) = schedule.next_after(after, &TimeZone::UTC)
        {
            prop_assert!(found > after);
        }
    }
}
