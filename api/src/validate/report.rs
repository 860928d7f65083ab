//! The result of a validation: field errors and warnings.

use std::fmt;

use serde_json::Value;

/// Warnings longer than this may be truncated by clients; the apiserver passes them through
/// to `kubectl`, which prints them one per line.
pub const WARNING_MAX_CHARS: usize = 119;

/// Longest rendering of a bad value in a message; longer values are cut with `…`.
const VALUE_MAX_CHARS: usize = 80;

/// One broken rule: where, what was found, and what the rule is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The field path, such as `spec.trigger.schedule` or
    /// `metadata.annotations[ferry.dev/schedule]`.
    pub path: String,
    /// The offending value as the user wrote it (empty when the field is missing).
    pub value: String,
    /// The rule, naming the fix where there is one.
    pub rule: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {:?}: {}", self.path, self.value, self.rule)
    }
}

/// Everything wrong with an object, and the warnings that do not make it wrong.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Problems that refuse the object, in field order.
    pub errors: Vec<FieldError>,
    /// Short notes for the user (each under [`WARNING_MAX_CHARS`] characters).
    pub warnings: Vec<String>,
}

impl Report {
    /// True when nothing refuses the object.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// The errors, formatted one per line, e.g. for an admission `status.message`.
    pub fn messages(&self) -> Vec<String> {
        self.errors.iter().map(ToString::to_string).collect()
    }

    /// Records a broken rule at `path` for `value`.
    pub(crate) fn error(&mut self, path: &str, value: &str, rule: impl fmt::Display) {
        self.errors.push(FieldError {
            path: path.to_owned(),
            value: clip(value, VALUE_MAX_CHARS),
            rule: rule.to_string(),
        });
    }

    /// Records a warning, cut to [`WARNING_MAX_CHARS`].
    pub(crate) fn warn(&mut self, text: impl fmt::Display) {
        self.warnings
            .push(clip(&text.to_string(), WARNING_MAX_CHARS));
    }
}

/// Renders a JSON value the way the user wrote it: strings bare, objects and arrays elided.
pub(crate) fn render(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Object(_) => "{…}".to_owned(),
        Value::Array(_) => "[…]".to_owned(),
        other => other.to_string(),
    }
}

/// Cuts `text` to at most `max` characters, marking the cut.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_path_value_rule() {
        let mut report = Report::default();
        report.error(
            "spec.trigger.schedule",
            "*/61 * * * *",
            "minute 61 is out of range 0-59",
        );
        assert_eq!(
            report.messages(),
            ["spec.trigger.schedule: \"*/61 * * * *\": minute 61 is out of range 0-59"]
        );
    }

    #[test]
    fn clips_long_values_and_warnings() {
        let mut report = Report::default();
        report.error("spec.x", &"a".repeat(200), "too long");
        report.warn("w".repeat(300));
        assert_eq!(report.errors[0].value.chars().count(), VALUE_MAX_CHARS);
        assert!(report.errors[0].value.ends_with('…'));
        assert_eq!(report.warnings[0].chars().count(), WARNING_MAX_CHARS);
    }

    #[test]
    fn renders_values() {
        assert_eq!(render(&serde_json::json!("x")), "x");
        assert_eq!(render(&serde_json::json!(5)), "5");
        assert_eq!(render(&serde_json::json!({"a": 1})), "{…}");
        assert_eq!(render(&serde_json::json!(null)), "null");
    }
}
