//! rclone's internal name encoding ("Standard"), which crypt works in.
//!
//! rclone never encrypts a file name as it is on disk: its local backend first turns it
//! into rclone's internal form, in which control characters are shown as the Unicode
//! "symbol for" characters (U+2400 to U+241F, U+2421 for DEL), `/` as a fullwidth `／`, and
//! those symbols themselves are quoted with `‛`. Crypt encrypts that form, and the S3 (or
//! local) backend turns the encrypted name back into a key the same way. Both backends'
//! own encodings (`Slash,Dot` for local, `Slash,InvalidUtf8,Dot` for S3) agree on every
//! name that is valid UTF-8 and was written by rclone (or Ferry), so one mapping serves
//! both: [`to_standard`] for a name read from disk or a listing, [`from_standard`] for a
//! name to write.
//!
//! It matters for names with control characters, `‛`, `␀`..`␟`, `␡` or `／` in them, and
//! for encrypted names that contain those symbols: base32768 uses the U+2400 block, and
//! obfuscation can rotate characters into it.

const QUOTE: char = '\u{201B}';
const SYMBOL_NUL: u32 = 0x2400;
const SYMBOL_DEL: char = '\u{2421}';
const FULLWIDTH_SLASH: char = '\u{FF0F}';
const FULLWIDTH_DOT: &str = "\u{FF0E}";

/// Which substitutions an encoding makes (NUL and the quote are always handled).
#[derive(Clone, Copy)]
struct Mask {
    ctl_del: bool,
}

/// rclone's Standard encoding: Zero, Slash, Ctl, Del, Dot.
const STANDARD: Mask = Mask { ctl_del: true };
/// The local and S3 backends' encodings, as far as valid UTF-8 goes: Slash, Dot.
const BACKEND: Mask = Mask { ctl_del: false };

fn is_ctl_symbol(c: char) -> bool {
    (SYMBOL_NUL + 1..=SYMBOL_NUL + 0x1F).contains(&u32::from(c))
}

fn encode(mask: Mask, name: &str) -> String {
    match name {
        "." => return FULLWIDTH_DOT.into(),
        ".." => return FULLWIDTH_DOT.repeat(2),
        "\u{FF0E}" => return format!("{QUOTE}{FULLWIDTH_DOT}"),
        "\u{FF0E}\u{FF0E}" => return format!("{QUOTE}{FULLWIDTH_DOT}{QUOTE}{FULLWIDTH_DOT}"),
        _ => {}
    }
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '\0' => out.push('\u{2400}'),
            '\u{2400}' | QUOTE | FULLWIDTH_SLASH => {
                out.push(QUOTE);
                out.push(c);
            }
            '/' => out.push(FULLWIDTH_SLASH),
            '\u{7F}' if mask.ctl_del => out.push(SYMBOL_DEL),
            '\u{1}'..='\u{1F}' if mask.ctl_del => {
                out.push(char::from_u32(SYMBOL_NUL + u32::from(c)).unwrap_or(c));
            }
            SYMBOL_DEL if mask.ctl_del => {
                out.push(QUOTE);
                out.push(c);
            }
            c if mask.ctl_del && is_ctl_symbol(c) => {
                out.push(QUOTE);
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

fn decode(mask: Mask, name: &str) -> String {
    match name {
        "\u{FF0E}" => return ".".into(),
        "\u{FF0E}\u{FF0E}" => return "..".into(),
        "\u{201B}\u{FF0E}" => return FULLWIDTH_DOT.into(),
        "\u{201B}\u{FF0E}\u{201B}\u{FF0E}" => return FULLWIDTH_DOT.repeat(2),
        _ => {}
    }
    let mut out = String::with_capacity(name.len());
    let mut quoted_next = false;
    for c in name.chars() {
        let quoted = std::mem::take(&mut quoted_next);
        let plain = match c {
            '\u{2400}' => Some('\0'),
            QUOTE => {
                if quoted {
                    out.push(QUOTE);
                } else {
                    quoted_next = true;
                }
                continue;
            }
            FULLWIDTH_SLASH => Some('/'),
            SYMBOL_DEL if mask.ctl_del => Some('\u{7F}'),
            c if mask.ctl_del && is_ctl_symbol(c) => char::from_u32(u32::from(c) - SYMBOL_NUL),
            _ => None,
        };
        match plain {
            Some(p) => out.push(if quoted { c } else { p }),
            None => {
                if quoted {
                    out.push(QUOTE);
                }
                out.push(c);
            }
        }
    }
    if quoted_next {
        out.push(QUOTE);
    }
    out
}

/// A name segment as read from disk or from a listing, in rclone's internal form.
pub(crate) fn to_standard(raw: &str) -> String {
    encode(STANDARD, &decode(BACKEND, raw))
}

/// A name segment in rclone's internal form, as it is written to disk or to a bucket.
pub(crate) fn from_standard(standard: &str) -> String {
    encode(BACKEND, &decode(STANDARD, standard))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_as_rclone_does() {
        for (raw, standard) in [
            ("plain name.txt", "plain name.txt"),
            ("tab\there", "tab\u{2409}here"),
            ("nl\n\u{1}\u{7f}", "nl\u{240A}\u{2401}\u{2421}"),
            ("sym\u{2409}", "sym\u{201B}\u{2409}"),
            ("del sym \u{2421}", "del sym \u{201B}\u{2421}"),
            // A quoted quote; a bare one on disk defeats rclone itself (it reads
            // "a‛ b" as "a‛‛ b" and then cannot open it).
            ("quote \u{201B}\u{201B} x", "quote \u{201B}\u{201B} x"),
            // rclone's backends read a bare symbol for NUL as NUL, a fullwidth slash as
            // a slash, a lone fullwidth dot as ".": all come back the same.
            ("nul sym \u{2400}", "nul sym \u{2400}"),
            ("full\u{FF0F}slash", "full\u{FF0F}slash"),
            ("\u{FF0E}", "\u{FF0E}"),
            ("\u{FF0E}\u{FF0E}", "\u{FF0E}\u{FF0E}"),
        ] {
            assert_eq!(to_standard(raw), standard, "{raw:?}");
            assert_eq!(from_standard(standard), raw, "{standard:?}");
        }
        // What crypt writes: base32768's U+2400 block becomes control characters.
        assert_eq!(from_standard("a\u{240E}b\u{2400}"), "a\u{E}b\u{2400}");
        assert_eq!(to_standard("a\u{E}b"), "a\u{240E}b");
    }
}
