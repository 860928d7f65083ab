//! Turns an exec request into words without a shell. rsync's client joins its arguments
//! with spaces and backslash-escapes the characters a shell would interpret (rsync 3.2.4+
//! argument protection), so splitting on unescaped spaces and removing the backslashes
//! gives back exactly the words it meant. Anything that only a shell could give meaning to
//! (quotes, `;`, `|`, `$`, ...) is refused rather than guessed at.

use super::refusal::{Refusal, check_sync_id};

/// The longest exec command read, in bytes. rsync's own command lines are a few hundred.
pub const MAX_COMMAND_LEN: usize = 64 * 1024;

/// The completion signal the source sends after a successful transfer.
pub const COMPLETE_PROGRAM: &str = "ferry-complete";

/// What the client asked to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `rsync --server ...`; holds the words after `--server`.
    Rsync(Vec<String>),
    /// `ferry-complete SYNC_ID`.
    Complete(String),
}

/// Characters that only mean something to a shell. rsync escapes every one of them in the
/// arguments it sends, so an unescaped one means someone is trying shell syntax.
const SHELL_CHARS: &str = "!#$&;|<>(){}\"'`";

/// Parses the raw bytes of an exec request.
pub fn parse(raw: &[u8]) -> Result<Request, Refusal> {
    if raw.len() > MAX_COMMAND_LEN {
        return Err(Refusal::CommandTooLong {
            len: raw.len(),
            max: MAX_COMMAND_LEN,
        });
    }
    let text = std::str::from_utf8(raw).map_err(|_| Refusal::NotUtf8)?;
    let words = split_words(text)?;
    match words.split_first() {
        Some((program, rest)) if program == "rsync" => match rest.split_first() {
            Some((server, args)) if server == "--server" => Ok(Request::Rsync(args.to_vec())),
            _ => Err(Refusal::Malformed("'--server' must follow 'rsync'")),
        },
        Some((program, rest)) if program == COMPLETE_PROGRAM => match rest {
            [id] => {
                check_sync_id(id)?;
                Ok(Request::Complete(id.clone()))
            }
            _ => Err(Refusal::Malformed(
                "ferry-complete takes exactly one sync id",
            )),
        },
        Some((program, _)) => Err(Refusal::Program(program.chars().take(64).collect())),
        None => Err(Refusal::Malformed("empty command")),
    }
}

/// Splits on unescaped spaces; `\x` stands for a literal `x`.
pub fn split_words(text: &str) -> Result<Vec<String>, Refusal> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c.is_control() {
            return Err(Refusal::ControlCharacter(c));
        }
        match c {
            ' ' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\\' => {
                let escaped = chars
                    .next()
                    .ok_or(Refusal::Malformed("a backslash ends the command"))?;
                if escaped.is_control() {
                    return Err(Refusal::ControlCharacter(escaped));
                }
                word.push(escaped);
                in_word = true;
            }
            c if SHELL_CHARS.contains(c) => return Err(Refusal::ShellSyntax(c)),
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        match parse(s.as_bytes()).unwrap() {
            Request::Rsync(w) => w,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rsync_push_as_rsync_sends_it() {
        assert_eq!(
            words("rsync --server -lHogDtpArxSe.iLsfxCIvu --delete --numeric-ids . sub/dir"),
            [
                "-lHogDtpArxSe.iLsfxCIvu",
                "--delete",
                "--numeric-ids",
                ".",
                "sub/dir"
            ]
        );
    }

    #[test]
    fn backslash_escapes_are_removed() {
        assert_eq!(
            words(r"rsync --server -r . a\ b\;x\$y"),
            ["-r", ".", "a b;x$y"]
        );
    }

    #[test]
    fn completion_takes_one_checked_id() {
        assert_eq!(
            parse(b"ferry-complete 1700000000-ab12").unwrap(),
            Request::Complete("1700000000-ab12".into())
        );
        assert_eq!(parse(b"ferry-complete a/b").unwrap_err().code(), "sync-id");
        assert_eq!(parse(b"ferry-complete").unwrap_err().code(), "malformed");
    }

    #[test]
    fn refusals() {
        let code = |s: &[u8]| parse(s).unwrap_err().code();
        assert_eq!(code(b"sh -c id"), "program");
        assert_eq!(code(b"/usr/bin/rsync --server . x"), "program");
        assert_eq!(code(b"rsync --daemon"), "malformed");
        assert_eq!(code(b"rsync --server . x; id"), "shell-syntax");
        assert_eq!(code(b"rsync --server . 'x'"), "shell-syntax");
        assert_eq!(code(b"rsync --server . $(id)"), "shell-syntax");
        assert_eq!(code(b"rsync --server .\nid"), "control-character");
        assert_eq!(code(b"rsync --server . \xff"), "not-utf8");
        assert_eq!(code(b"rsync --server . x\\"), "malformed");
        assert_eq!(code(&vec![b'a'; MAX_COMMAND_LEN + 1]), "command-too-long");
        assert_eq!(code(b""), "malformed");
    }
}
