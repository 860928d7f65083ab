//! Bandwidth limits in the single-rate form of rclone's `--bwlimit`, such as `10M` or `off`.

use std::fmt;

/// A problem with a bandwidth limit. The `Display` is the rule text of a validation message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RateError {
    /// The limit is empty.
    #[error("empty bandwidth limit: use a rate such as \"10M\" or \"off\"")]
    Empty,
    /// The limit is neither `off` nor a number with an optional suffix.
    #[error(
        "must be \"off\" or a rate such as \"10M\", \"512k\" or \"1.5G\": a number of bytes per second with an optional suffix B, K, M, G, T or P (base 1024; no suffix means K)"
    )]
    Invalid,
    /// A rate of zero, which rclone reads as no limit.
    #[error("a rate of zero would not limit anything: use \"off\" for no limit")]
    Zero,
    /// A rate larger than 16 EiB/s.
    #[error("rate is too large: use \"off\" for no limit")]
    TooLarge,
    /// rclone's timetable form, such as `08:00,512k 19:00,off`.
    #[error("Ferry takes one rate, not a timetable: use a single rate such as \"10M\"")]
    Timetable,
    /// rclone's `upload:download` form, such as `10M:100k`.
    #[error(
        "Ferry takes one rate, not an \"upload:download\" pair: use a single rate such as \"10M\""
    )]
    UploadDownloadPair,
}

/// A limit on transfer bandwidth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BandwidthLimit {
    /// No limit.
    Off,
    /// At most this many bytes per second, never zero.
    BytesPerSecond(u64),
}

impl BandwidthLimit {
    /// Parses `off` or a rate as rclone's `--bwlimit` takes a single one: a number, whole or
    /// decimal, with an optional suffix `B`, `K`, `M`, `G`, `T` or `P` in either case, in
    /// powers of 1024; with no suffix the number is in KiB/s, as in rclone.
    ///
    /// Timetables and `upload:download` pairs are refused: Ferry applies one rate.
    pub fn parse(s: &str) -> Result<BandwidthLimit, RateError> {
        if s.is_empty() {
            return Err(RateError::Empty);
        }
        if s.eq_ignore_ascii_case("off") {
            return Ok(BandwidthLimit::Off);
        }
        // Every entry of a timetable is `[WEEKDAY-]HH:MM,RATE`.
        if s.contains(',') {
            return Err(RateError::Timetable);
        }
        if s.contains(':') {
            return Err(RateError::UploadDownloadPair);
        }
        let (number, shift) = match s.char_indices().last() {
            Some((at, suffix)) if suffix.is_ascii_alphabetic() => {
                (&s[..at], suffix_shift(suffix).ok_or(RateError::Invalid)?)
            }
            _ => (s, 10),
        };
        let bytes = scale(number, shift)?;
        if bytes == 0 {
            return Err(RateError::Zero);
        }
        Ok(BandwidthLimit::BytesPerSecond(bytes))
    }
}

impl fmt::Display for BandwidthLimit {
    /// Writes the limit so that rclone's `--bwlimit` reads it back: `off` or bytes with `B`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BandwidthLimit::Off => f.write_str("off"),
            BandwidthLimit::BytesPerSecond(bytes) => write!(f, "{bytes}B"),
        }
    }
}

/// The power of two a suffix letter stands for.
fn suffix_shift(suffix: char) -> Option<u32> {
    match suffix.to_ascii_uppercase() {
        'B' => Some(0),
        'K' => Some(10),
        'M' => Some(20),
        'G' => Some(30),
        'T' => Some(40),
        'P' => Some(50),
        _ => None,
    }
}

/// `number` (digits with at most one `.`) times 2^`shift`, rounded to whole bytes.
fn scale(number: &str, shift: u32) -> Result<u64, RateError> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits_only(whole) || !digits_only(fraction) {
        return Err(RateError::Invalid);
    }
    let unit = 1u128 << shift;
    let whole = if whole.is_empty() {
        0
    } else {
        whole.parse::<u128>().map_err(|_| RateError::TooLarge)?
    };
    let whole = whole.checked_mul(unit).ok_or(RateError::TooLarge)?;
    // Only the first digits of a fraction matter once scaled to bytes.
    let fraction = format!("0.{}", &fraction[..fraction.len().min(30)]);
    let fraction = fraction.parse::<f64>().map_err(|_| RateError::Invalid)?;
    // A fraction is below 1, so this fits in a u128 and the cast cannot truncate.
    let fraction = (fraction * unit as f64).round() as u128;
    let total = whole.checked_add(fraction).ok_or(RateError::TooLarge)?;
    u64::try_from(total).map_err(|_| RateError::TooLarge)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn accepts_single_rates() {
        let cases = [
            ("off", BandwidthLimit::Off),
            ("OFF", BandwidthLimit::Off),
            ("10M", BandwidthLimit::BytesPerSecond(10 << 20)),
            ("10m", BandwidthLimit::BytesPerSecond(10 << 20)),
            ("512k", BandwidthLimit::BytesPerSecond(512 << 10)),
            ("1.5G", BandwidthLimit::BytesPerSecond(3 << 29)),
            ("100", BandwidthLimit::BytesPerSecond(100 << 10)),
            ("0.5", BandwidthLimit::BytesPerSecond(512)),
            (".5K", BandwidthLimit::BytesPerSecond(512)),
            ("2.", BandwidthLimit::BytesPerSecond(2048)),
            ("100B", BandwidthLimit::BytesPerSecond(100)),
            ("1T", BandwidthLimit::BytesPerSecond(1 << 40)),
            ("1p", BandwidthLimit::BytesPerSecond(1 << 50)),
            ("16383P", BandwidthLimit::BytesPerSecond(16383 << 50)),
        ];
        for (input, expected) in cases {
            assert_eq!(BandwidthLimit::parse(input), Ok(expected), "{input:?}");
        }
    }

    #[test]
    fn refuses_other_forms() {
        let invalid = "must be \"off\" or a rate such as \"10M\", \"512k\" or \"1.5G\": a number of bytes per second with an optional suffix B, K, M, G, T or P (base 1024; no suffix means K)";
        let timetable = "Ferry takes one rate, not a timetable: use a single rate such as \"10M\"";
        let pair = "Ferry takes one rate, not an \"upload:download\" pair: use a single rate such as \"10M\"";
        let zero = "a rate of zero would not limit anything: use \"off\" for no limit";
        let too_large = "rate is too large: use \"off\" for no limit";
        let cases = [
            (
                "",
                "empty bandwidth limit: use a rate such as \"10M\" or \"off\"",
            ),
            ("0", zero),
            ("0M", zero),
            ("0.0001B", zero),
            ("16384P", too_large),
            ("99999999999999999999999999999999999999999", too_large),
            ("10X", invalid),
            ("10MB", invalid),
            ("10Mi", invalid),
            ("10M/s", invalid),
            ("-1M", invalid),
            ("M", invalid),
            (".", invalid),
            ("1.2.3", invalid),
            ("1e3", invalid),
            ("inf", invalid),
            ("10M:1M", pair),
            ("08:00,512k 12:00,10M 23:00,off", timetable),
            ("08:00,512k", timetable),
            ("Mon-00:00,512 Fri-23:59,10M", timetable),
            ("10 M", invalid),
            (" 10M", invalid),
        ];
        for (input, expected) in cases {
            let message = BandwidthLimit::parse(input).err().map(|e| e.to_string());
            assert_eq!(message.as_deref(), Some(expected), "{input:?}");
        }
    }

    #[test]
    fn displays_in_rclone_syntax() {
        for (input, shown) in [("off", "off"), ("10M", "10485760B"), ("1", "1024B")] {
            let limit = BandwidthLimit::parse(input).map(|l| l.to_string());
            assert_eq!(limit.as_deref(), Ok(shown), "{input:?}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(input in any::<String>()) {
            let _ = BandwidthLimit::parse(&input);
        }

        #[test]
        fn never_panics_on_rate_like_text(input in "[0-9.]{0,25}[bBkKmMgGtTpPx]?") {
            let _ = BandwidthLimit::parse(&input);
        }
    }
}
