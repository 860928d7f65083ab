//! Checks the words after `rsync --server` against the option allowlist and confines every
//! path to the volume, producing the argv the server runs. Modelled on rrsync: options come
//! first, a lone `.` ends them, the paths follow.

use std::ffi::OsString;
use std::path::Path;

use super::options::{self, Long};
use super::paths;
use super::refusal::Refusal;

/// What the server lets a client do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Receive only: the destination of a replication. `--sender` is refused.
    WriteOnly,
    /// Receive and send (a restore pulls from the destination).
    ReadWrite,
}

/// A checked rsync command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The arguments to run `rsync` with (without the program name).
    pub args: Vec<OsString>,
    /// Whether the client pulls (`--sender`): then nothing is written.
    pub sender: bool,
}

/// Extra server-side options of a current rsync (3.5+), which refuse device creation and
/// bound option paths to the volume by themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hardening {
    /// The local rsync has `--drop-D` and `--confine-root`: add them.
    Rsync35,
    /// An older rsync: rely on the allowlist and on running as non-root.
    None,
}

/// Checks `words` (what follows `rsync --server`) for a server whose volume is `volume`
/// (canonical).
pub fn check(
    words: &[String],
    access: Access,
    hardening: Hardening,
    volume: &Path,
) -> Result<Plan, Refusal> {
    let mut words = words.iter().peekable();
    let sender = words.next_if(|w| *w == "--sender").is_some();
    if sender && access == Access::WriteOnly {
        return Err(Refusal::Sender);
    }
    let mut args: Vec<OsString> = vec!["--server".into()];
    if sender {
        args.push("--sender".into());
    }
    let mut saw_dot = false;
    while let Some(word) = words.next() {
        if word == "." {
            saw_dot = true;
            break;
        }
        if let Some(long) = word.strip_prefix("--") {
            let (name, value) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let kind = options::long(name).ok_or_else(|| Refusal::UnknownOption(word.clone()))?;
            if let Long::Refused(why) = kind {
                return Err(Refusal::Option {
                    option: format!("--{name}"),
                    why,
                });
            }
            let takes_value = !matches!(kind, Long::Flag | Long::Refused(_));
            let value = match (takes_value, value) {
                (true, Some(v)) => Some(v),
                // rsync sends some path options as two words: `--temp-dir DIR`.
                (true, None) => Some(
                    words
                        .next()
                        .cloned()
                        .ok_or(Refusal::Malformed("an option is missing its value"))?,
                ),
                (false, Some(_)) => return Err(Refusal::Malformed("a flag was given a value")),
                (false, None) => None,
            };
            let value = match (kind, value) {
                (Long::NonZeroSize, Some(v)) if !options::size_is_nonzero(&v) => {
                    return Err(Refusal::Option {
                        option: format!("--{name}={v}"),
                        why: "the limit must be a size above zero",
                    });
                }
                // Paths matter where files are written; a sender only reads.
                (Long::Path, Some(v)) if !sender => Some(paths::confine(volume, &v)?),
                (_, v) => v,
            };
            args.push(match value {
                Some(v) => format!("--{name}={v}").into(),
                None => format!("--{name}").into(),
            });
        } else if word.starts_with('-') {
            check_short(word)?;
            args.push(word.into());
        } else {
            return Err(Refusal::Malformed("an argument came before the '.'"));
        }
    }
    if !saw_dot {
        return Err(Refusal::Malformed(
            "no '.' separates the options from the paths",
        ));
    }
    let paths: Vec<&String> = words.collect();
    if !sender && paths.len() > 1 {
        return Err(Refusal::Malformed("a receiver takes one destination path"));
    }
    if hardening == Hardening::Rsync35 {
        if !sender {
            args.push("--drop-D".into());
        }
        let mut confine = OsString::from("--confine-root=");
        confine.push(volume);
        args.push(confine);
    }
    args.push("--".into());
    args.push(".".into());
    if paths.is_empty() {
        args.push(".".into());
    }
    for path in paths {
        args.push(paths::confine(volume, path)?.into());
    }
    Ok(Plan { args, sender })
}

/// Checks a short-option word: a cluster of allowed letters, optionally ending in rsync's
/// capability string `e<digits>.<letters>` (not a remote shell), or `-B1024`-style numbers.
fn check_short(word: &str) -> Result<(), Refusal> {
    let cluster = &word[1..];
    let mut chars = cluster.char_indices();
    if let Some((_, first)) = chars.clone().next()
        && options::SHORT_WITH_NUMBER.contains(first)
        && cluster.len() > 1
        && cluster[1..].chars().all(|c| c.is_ascii_digit())
    {
        return Ok(());
    }
    if cluster.is_empty() {
        return Err(Refusal::Malformed("a lone '-'"));
    }
    for (i, c) in &mut chars {
        if c == 'e' && is_capability(&cluster[i + 1..]) {
            return Ok(());
        }
        if let Some(why) = options::short_refused(c) {
            return Err(Refusal::Option {
                option: format!("-{c}"),
                why,
            });
        }
        if !options::SHORT.contains(c) {
            return Err(Refusal::UnknownOption(format!("-{c} (in {word})")));
        }
    }
    Ok(())
}

/// rsync's capability string after `-e`: optional digits, a dot, word characters.
fn is_capability(rest: &str) -> bool {
    let after_digits = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    after_digits
        .strip_prefix('.')
        .is_some_and(|tail| tail.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

#[cfg(test)]
mod tests;
