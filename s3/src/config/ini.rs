//! The INI dialect of rclone.conf: `[section]` headers, `key = value` lines, `#` and `;`
//! comments. Keys keep their line numbers so that errors can point at them.

use std::fmt;

/// One `key = value` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The key, as written (rclone keys are lower case).
    pub key: String,
    /// The value, trimmed, with one pair of surrounding quotes removed.
    pub value: String,
    /// 1-based line number.
    pub line: usize,
}

/// One `[name]` section and its entries, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// The section (remote) name.
    pub name: String,
    /// Its entries.
    pub entries: Vec<Entry>,
}

/// A line that is neither a section header, a `key = value` pair nor a comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub problem: &'static str,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.problem)
    }
}

/// Parses an rclone.conf. Sections repeated in the file are merged, as rclone does.
pub fn parse(text: &str) -> Result<Vec<Section>, SyntaxError> {
    let mut sections: Vec<Section> = Vec::new();
    let mut current: Option<usize> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim().trim_start_matches('\u{feff}');
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix('[') {
            let name = rest.strip_suffix(']').ok_or(SyntaxError {
                line,
                problem: "section header without a closing \"]\"",
            })?;
            let name = name.trim();
            if name.is_empty() {
                return Err(SyntaxError {
                    line,
                    problem: "empty section name",
                });
            }
            current = Some(match sections.iter().position(|s| s.name == name) {
                Some(at) => at,
                None => {
                    sections.push(Section {
                        name: name.to_owned(),
                        entries: Vec::new(),
                    });
                    sections.len() - 1
                }
            });
            continue;
        }
        let (key, value) = trimmed.split_once('=').ok_or(SyntaxError {
            line,
            problem: "expected \"key = value\", \"[section]\" or a comment",
        })?;
        let section = current
            .and_then(|at| sections.get_mut(at))
            .ok_or(SyntaxError {
                line,
                problem: "\"key = value\" before the first [section]",
            })?;
        section.entries.push(Entry {
            key: key.trim().to_owned(),
            value: unquote(value.trim()).to_owned(),
            line,
        });
    }
    Ok(sections)
}

/// Removes one pair of matching surrounding quotes.
fn unquote(value: &str) -> &str {
    for quote in ['"', '\'', '`'] {
        if value.len() >= 2 && value.starts_with(quote) && value.ends_with(quote) {
            return &value[1..value.len() - 1];
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sections_comments_and_quotes() {
        let text = "# top\n[minio]\ntype = s3\n; note\nendpoint = \"http://x:9000\"\n\n[b]\nk=v\n[minio]\nregion = r\n";
        let sections = parse(text).unwrap();
        assert_eq!(sections.len(), 2);
        assert_eq!(sections[0].name, "minio");
        let keys: Vec<_> = sections[0]
            .entries
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str(), e.line))
            .collect();
        assert_eq!(
            keys,
            [
                ("type", "s3", 3),
                ("endpoint", "http://x:9000", 5),
                ("region", "r", 10)
            ]
        );
    }

    #[test]
    fn reports_bad_lines() {
        assert_eq!(parse("[a\n").unwrap_err().line, 1);
        assert_eq!(parse("k = v\n").unwrap_err().line, 1);
        assert_eq!(parse("[a]\njunk\n").unwrap_err().line, 2);
    }
}
