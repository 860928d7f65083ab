//! `filename_encryption = obfuscate`: rclone's simple rotation, which hides names from a
//! glance only. Each segment becomes `N.` (N = the sum of its code points mod 256) and the
//! segment with letters, digits and other ranges rotated by an amount from N and the name
//! key; `!` quotes. This must match rclone exactly, including its arithmetic on odd input.

use crate::error::NameError;

const QUOTE: char = '!';

/// The rotation base: the sum of the name key's bytes.
pub(crate) fn key_offset(name_key: &[u8; 32]) -> i64 {
    name_key.iter().map(|&b| i64::from(b)).sum()
}

/// A rune as Go's `WriteRune` writes it: invalid code points become U+FFFD.
fn rune(value: i64) -> char {
    u32::try_from(value)
        .ok()
        .and_then(char::from_u32)
        .unwrap_or('\u{FFFD}')
}

pub(crate) fn obfuscate(plain: &str, offset: i64) -> String {
    if plain.is_empty() {
        return String::new();
    }
    let sum: i64 = plain.chars().map(|c| i64::from(u32::from(c))).sum();
    let shown = sum % 256;
    let dir = shown + offset;
    let mut out = format!("{shown}.");
    for c in plain.chars() {
        let r = i64::from(u32::from(c));
        match c {
            QUOTE => {
                out.push(QUOTE);
                out.push(QUOTE);
            }
            '0'..='9' => {
                let step = dir % 9 + 1;
                out.push(rune('0' as i64 + (r - '0' as i64 + step) % 10));
            }
            'A'..='Z' | 'a'..='z' => {
                let step = dir % 25 + 1;
                let mut pos = r - 'A' as i64;
                if pos >= 26 {
                    pos -= 6;
                }
                pos = (pos + step) % 52;
                if pos >= 26 {
                    pos += 6;
                }
                out.push(rune('A' as i64 + pos));
            }
            '\u{A0}'..='\u{FF}' => {
                let step = dir % 95 + 1;
                out.push(rune(0xA0 + (r - 0xA0 + step) % 96));
            }
            _ if r >= 0x100 => {
                let step = dir % 127 + 1;
                let base = r - r % 256;
                let rotated = base + (r - base + step) % 256;
                match u32::try_from(rotated).ok().and_then(char::from_u32) {
                    Some(new) => out.push(new),
                    None => {
                        // A surrogate: not a valid rune, so rclone quotes the original.
                        out.push(QUOTE);
                        out.push(c);
                    }
                }
            }
            _ => out.push(c),
        }
    }
    out
}

pub(crate) fn deobfuscate(cipher: &str, offset: i64) -> Result<String, NameError> {
    if cipher.is_empty() {
        return Ok(String::new());
    }
    let Some((number, rest)) = cipher.split_once('.') else {
        return Err(NameError::NotEncrypted("obfuscated \"N.\" prefix"));
    };
    if number == "!" {
        // rclone's form for a name that was not valid UTF-8: not rotated.
        return Ok(rest.to_owned());
    }
    // Go's strconv.Atoi: an optional sign, then decimal digits.
    let shown: i64 = number
        .parse()
        .map_err(|_| NameError::NotEncrypted("obfuscated \"N.\" prefix"))?;
    let dir = shown + offset;
    let mut out = String::with_capacity(rest.len());
    let mut quoted = false;
    for c in rest.chars() {
        let r = i64::from(u32::from(c));
        if quoted {
            out.push(c);
            quoted = false;
            continue;
        }
        match c {
            QUOTE => quoted = true,
            '0'..='9' => {
                let step = dir % 9 + 1;
                let mut new = r - step;
                if new < '0' as i64 {
                    new += 10;
                }
                out.push(rune(new));
            }
            'A'..='Z' | 'a'..='z' => {
                let step = dir % 25 + 1;
                let mut pos = r - 'A' as i64;
                if pos >= 26 {
                    pos -= 6;
                }
                pos -= step;
                if pos < 0 {
                    pos += 52;
                }
                if pos >= 26 {
                    pos += 6;
                }
                out.push(rune('A' as i64 + pos));
            }
            '\u{A0}'..='\u{FF}' => {
                let step = dir % 95 + 1;
                let mut new = r - step;
                if new < 0xA0 {
                    new += 96;
                }
                out.push(rune(new));
            }
            _ if r >= 0x100 => {
                let step = dir % 127 + 1;
                let base = r - r % 256;
                let mut new = r - step;
                if new < base {
                    new += 256;
                }
                out.push(rune(new));
            }
            _ => out.push(c),
        }
    }
    Ok(out)
}
