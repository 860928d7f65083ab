//! Exclude patterns in rclone's filter glob syntax, compiled to regular expressions.
//!
//! The syntax and matching follow rclone's `--exclude` ("Filtering" in rclone's docs), so a
//! pattern means the same to Ferry as to an rclone user reading the same bucket.

use std::fmt;
use std::str::Chars;

use regex::Regex;

/// POSIX class names allowed in `[[:name:]]`, which the regex crate understands as well.
const POSIX_CLASSES: [&str; 14] = [
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
    "space", "upper", "word", "xdigit",
];

/// A problem with a glob pattern. The `Display` is the rule text of a validation message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GlobError {
    /// The pattern is empty.
    #[error("empty pattern: write a glob such as \"*.tmp\" or \"cache/\"")]
    Empty,
    /// A `[` without its `]`.
    #[error(
        "unclosed \"[\": end the character class with \"]\" or write \"\\[\" for a literal \"[\""
    )]
    UnclosedBracket,
    /// A `]` without a `[` before it.
    #[error("unmatched \"]\": write \"\\]\" for a literal \"]\"")]
    UnmatchedBracket,
    /// `[]` or `[!]`, which match nothing.
    #[error("empty character class: put characters between \"[\" and \"]\"")]
    EmptyClass,
    /// A class range such as `[z-a]`.
    #[error("character range \"{0}\" is reversed: write the smaller character first")]
    ReversedRange(String),
    /// `[[:name:]]` with a name that is not a POSIX class.
    #[error(
        "unknown character class \"[:{0}:]\": use alnum, alpha, ascii, blank, cntrl, digit, graph, lower, print, punct, space, upper, word or xdigit"
    )]
    UnknownClass(String),
    /// A `{` without its `}`.
    #[error(
        "unclosed \"{{\": end the alternatives with \"}}\" or write \"\\{{\" for a literal \"{{\""
    )]
    UnclosedBrace,
    /// A `}` without a `{` before it.
    #[error("unmatched \"}}\": write \"\\}}\" for a literal \"}}\"")]
    UnmatchedBrace,
    /// A `{` inside `{...}`.
    #[error("nested \"{{\": alternatives in \"{{a,b}}\" cannot contain another \"{{\"")]
    NestedBrace,
    /// rclone's `{{regexp}}`, which Ferry does not take.
    #[error("regular expressions in \"{{{{...}}}}\" are not supported: use glob syntax")]
    Regexp,
    /// A `\` at the very end, escaping nothing.
    #[error("trailing \"\\\": write \"\\\\\" for a literal backslash")]
    TrailingBackslash,
    /// Three or more `*` in a row.
    #[error("too many \"*\": use \"*\" within a directory or \"**\" across directories")]
    TooManyStars,
    /// The pattern compiles to a regular expression too large to build.
    #[error("pattern is too complex: split it into simpler patterns")]
    TooComplex,
}

/// A compiled exclude pattern.
///
/// `*` matches within a path segment, `**` across segments, `?` one character other than
/// `/`, `[...]` a character class (`[!...]` or `[^...]` negated, never matching `/`),
/// `{a,b}` one of the alternatives and `\c` the character `c`. A pattern starting with `/`
/// is anchored at the root; otherwise it matches the end of the path at a segment
/// boundary. A pattern ending with `/` matches directories only, and, as in rclone's
/// `--exclude`, everything inside them.
#[derive(Clone, Debug)]
pub struct Pattern {
    text: String,
    regex: Regex,
    /// Whether the pattern can match a directory: it ends with `/` or contains `**`, as
    /// rclone's directory rules.
    matches_dirs: bool,
}

impl Pattern {
    /// Compiles a glob pattern, refusing unbalanced `[` `]` `{` `}`, nested `{`, rclone's
    /// `{{regexp}}`, `***`, a trailing lone `\` and patterns longer than
    /// [`MAX_PATTERN_BYTES`].
    pub fn parse(s: &str) -> Result<Pattern, GlobError> {
        let (regex, matches_dirs) = translate(s)?;
        let regex = Regex::new(&regex).map_err(|_| GlobError::TooComplex)?;
        Ok(Pattern {
            text: s.to_owned(),
            regex,
            matches_dirs,
        })
    }

    /// Checks a pattern as [`Pattern::parse`] does, without compiling it: what validation
    /// needs, at a fraction of the cost (compiling a regex dominates an admission request).
    pub fn check(s: &str) -> Result<(), GlobError> {
        translate(s).map(|_| ())
    }

    /// Whether the pattern matches `path`, relative to the root with `/` separators and no
    /// leading `/`; `is_dir` says whether it names a directory.
    pub fn matches(&self, path: &str, is_dir: bool) -> bool {
        if is_dir {
            // Directories are matched with a trailing `/`, as rclone matches them.
            self.matches_dirs && self.regex.is_match(&format!("{path}/"))
        } else {
            self.regex.is_match(path)
        }
    }
}

/// The longest pattern accepted. Longer ones are refused up front, so a pattern that passes
/// [`Pattern::check`] always compiles within the regex engine's limits.
pub const MAX_PATTERN_BYTES: usize = 1024;

/// Translates a glob into an anchored regex, and says whether it can match directories.
fn translate(s: &str) -> Result<(String, bool), GlobError> {
    if s.is_empty() {
        return Err(GlobError::Empty);
    }
    if s.len() > MAX_PATTERN_BYTES {
        return Err(GlobError::TooComplex);
    }
    let (anchor, body) = match s.strip_prefix('/') {
        Some(body) => ("^", body),
        None => ("(?:^|/)", s),
    };
    let mut compiler = Compiler {
        regex: String::from(anchor),
        double_star: false,
    };
    compiler.body(body)?;
    if s.ends_with('/') {
        // Excluding `dir/` excludes what is inside it too, as rclone does.
        compiler.regex.push_str(".*");
        compiler.double_star = true;
    }
    compiler.regex.push('$');
    Ok((compiler.regex, compiler.double_star))
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq for Pattern {
    /// Patterns are equal when written the same way.
    fn eq(&self, other: &Pattern) -> bool {
        self.text == other.text
    }
}

impl Eq for Pattern {}

/// Builds the regular expression for a pattern.
struct Compiler {
    regex: String,
    double_star: bool,
}

impl Compiler {
    /// Compiles the pattern after any anchoring `/`.
    fn body(&mut self, body: &str) -> Result<(), GlobError> {
        let mut chars = body.chars();
        let mut in_braces = false;
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    let escaped = chars.next().ok_or(GlobError::TrailingBackslash)?;
                    self.literal(escaped);
                }
                '*' => self.stars(&mut chars)?,
                '?' => self.regex.push_str("[^/]"),
                '[' => self.class(&mut chars)?,
                ']' => return Err(GlobError::UnmatchedBracket),
                '{' if in_braces => return Err(GlobError::NestedBrace),
                '{' if chars.as_str().starts_with('{') => return Err(GlobError::Regexp),
                '{' => {
                    in_braces = true;
                    self.regex.push_str("(?:");
                }
                '}' if !in_braces => return Err(GlobError::UnmatchedBrace),
                '}' => {
                    in_braces = false;
                    self.regex.push(')');
                }
                ',' if in_braces => self.regex.push('|'),
                c => self.literal(c),
            }
        }
        if in_braces {
            return Err(GlobError::UnclosedBrace);
        }
        Ok(())
    }

    /// Compiles a run of `*`, the first already read.
    fn stars(&mut self, chars: &mut Chars<'_>) -> Result<(), GlobError> {
        let rest = chars.as_str();
        let more = rest.len() - rest.trim_start_matches('*').len();
        match more {
            0 => self.regex.push_str("[^/]*"),
            1 => {
                chars.next();
                self.regex.push_str(".*");
                self.double_star = true;
            }
            _ => return Err(GlobError::TooManyStars),
        }
        Ok(())
    }

    /// Compiles a character class, its `[` already read.
    fn class(&mut self, chars: &mut Chars<'_>) -> Result<(), GlobError> {
        let negated = chars.as_str().starts_with(['!', '^']);
        if negated {
            chars.next();
        }
        let mut items = String::new();
        loop {
            let c = chars.next().ok_or(GlobError::UnclosedBracket)?;
            match c {
                ']' => break,
                '[' if chars.as_str().starts_with(':') => {
                    let rest = &chars.as_str()[1..];
                    let (name, after) = rest.split_once(":]").ok_or(GlobError::UnclosedBracket)?;
                    if !POSIX_CLASSES.contains(&name) {
                        return Err(GlobError::UnknownClass(name.to_owned()));
                    }
                    items.push_str(&format!("[:{name}:]"));
                    *chars = after.chars();
                }
                c => {
                    let first = class_char(c, chars)?;
                    items.push_str(&escape(first));
                    let rest = chars.as_str();
                    if let Some(after_dash) = rest.strip_prefix('-')
                        && !after_dash.is_empty()
                        && !after_dash.starts_with(']')
                    {
                        chars.next();
                        let c = chars.next().ok_or(GlobError::UnclosedBracket)?;
                        let last = class_char(c, chars)?;
                        if first > last {
                            return Err(GlobError::ReversedRange(format!("{first}-{last}")));
                        }
                        items.push('-');
                        items.push_str(&escape(last));
                    }
                }
            }
        }
        if items.is_empty() {
            return Err(GlobError::EmptyClass);
        }
        // A negated class never matches `/`: like `?`, it stands for one character of a name.
        self.regex.push_str(if negated { "[^/" } else { "[" });
        self.regex.push_str(&items);
        self.regex.push(']');
        Ok(())
    }

    /// Appends a character that stands for itself.
    fn literal(&mut self, c: char) {
        self.regex.push_str(&escape(c));
    }
}

/// The character a class item `c` stands for, reading the next one if `c` is `\`.
fn class_char(c: char, chars: &mut Chars<'_>) -> Result<char, GlobError> {
    match c {
        '\\' => chars.next().ok_or(GlobError::UnclosedBracket),
        c => Ok(c),
    }
}

/// `c` escaped for a regular expression, inside or outside a class.
fn escape(c: char) -> String {
    let mut buffer = [0; 4];
    regex::escape(c.encode_utf8(&mut buffer))
}

#[cfg(test)]
mod tests;
