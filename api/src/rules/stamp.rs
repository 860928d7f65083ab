//! The names of timestamped copies: `YYYY-MM-DD-HHMMSS` (UTC), the prefix a push with
//! `timestampPrefix` writes each copy under, as a restore names the copy to take.

/// A problem with a copy's name. The `Display` is the rule text of a validation message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StampError {
    /// Not of the form `YYYY-MM-DD-HHMMSS`.
    #[error(
        "must name a timestamped copy as YYYY-MM-DD-HHMMSS (UTC), such as \"2026-12-07-101500\""
    )]
    Form,
    /// Of the form, but not a time (month 13, second 61, ...).
    #[error("is not a valid UTC time ({0}): name a copy listed below the prefix")]
    Time(String),
}

/// Checks a copy name such as `2026-12-07-101500`.
pub fn parse(text: &str) -> Result<jiff::civil::DateTime, StampError> {
    let b = text.as_bytes();
    let form = b.len() == 17
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 | 10 => *c == b'-',
            _ => c.is_ascii_digit(),
        });
    if !form {
        return Err(StampError::Form);
    }
    jiff::civil::DateTime::strptime("%Y-%m-%d-%H%M%S", text)
        .map_err(|e| StampError::Time(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_names_are_checked_for_form_and_time() {
        assert!(parse("2026-12-07-101500").is_ok());
        assert_eq!(parse("2026-12-07T101500"), Err(StampError::Form));
        assert_eq!(parse("latest"), Err(StampError::Form));
        assert!(matches!(
            parse("2026-13-07-101500"),
            Err(StampError::Time(_))
        ));
        assert!(matches!(
            parse("2026-12-07-106100"),
            Err(StampError::Time(_))
        ));
    }
}
