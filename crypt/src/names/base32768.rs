//! base32768 (`filename_encoding = base32768`): 15 bits per character, for stores that
//! count name length in characters (OneDrive, Dropbox). rclone uses the "safe" repertoire
//! of qntm's base32768 (github.com/Max-Sum/base32768): 1024 blocks of 32 code points for
//! whole 15-bit groups and 4 blocks for a final group of up to 7 bits, padded with ones.
//! No crate implements this repertoire; this follows its definition.

use std::sync::LazyLock;

use crate::error::NameError;

/// First code point of each 32-point block that encodes 15 bits, as runs of consecutive
/// blocks `(first, last)`: 1024 blocks in all, in code point order.
const FIFTEEN: &[(u16, u16)] = &[
    (0x04A0, 0x04A0),
    (0x0500, 0x0500),
    (0x0680, 0x06A0),
    (0x0760, 0x0780),
    (0x07C0, 0x07C0),
    (0x1000, 0x1000),
    (0x10A0, 0x10A0),
    (0x1100, 0x1140),
    (0x1180, 0x1180),
    (0x11E0, 0x1220),
    (0x1260, 0x1260),
    (0x12E0, 0x12E0),
    (0x1320, 0x1320),
    (0x13A0, 0x13C0),
    (0x1420, 0x1640),
    (0x16A0, 0x16C0),
    (0x1780, 0x1780),
    (0x1820, 0x1840),
    (0x18C0, 0x18C0),
    (0x1980, 0x1980),
    (0x19E0, 0x19E0),
    (0x1A20, 0x1A20),
    (0x1BC0, 0x1BC0),
    (0x1C00, 0x1C00),
    (0x1D00, 0x1D00),
    (0x21E0, 0x21E0),
    (0x22C0, 0x22C0),
    (0x2340, 0x23C0),
    (0x2400, 0x2400),
    (0x2500, 0x2740),
    (0x2780, 0x27A0),
    (0x2800, 0x2960),
    (0x29A0, 0x29A0),
    (0x2A20, 0x2A40),
    (0x2A80, 0x2AA0),
    (0x2AE0, 0x2B40),
    (0x2C00, 0x2C00),
    (0x2C80, 0x2CC0),
    (0x2D00, 0x2D00),
    (0x2D40, 0x2D40),
    (0x2EA0, 0x2EC0),
    (0x31C0, 0x31C0),
    (0x3400, 0x4D80),
    (0x4DC0, 0x9FA0),
    (0xA000, 0xA460),
    (0xA4A0, 0xA4A0),
    (0xA500, 0xA5E0),
    (0xA640, 0xA640),
    (0xA6A0, 0xA6C0),
    (0xA700, 0xA740),
    (0xA780, 0xA780),
    (0xA840, 0xA840),
];

/// The 4 blocks that encode a final group of up to 7 bits.
const SEVEN: &[(u16, u16)] = &[(0x0180, 0x0180), (0x0240, 0x0280)];

struct Tables {
    fifteen: Vec<u16>,
    seven: Vec<u16>,
    /// Code point >> 5 to (block index, is a final block); `None` where not in the set.
    decode: Vec<Option<(u16, bool)>>,
}

fn blocks(runs: &[(u16, u16)]) -> Vec<u16> {
    runs.iter()
        .flat_map(|&(first, last)| (first..=last).step_by(32))
        .collect()
}

static TABLES: LazyLock<Tables> = LazyLock::new(|| {
    let (fifteen, seven) = (blocks(FIFTEEN), blocks(SEVEN));
    let mut decode = vec![None; 0x10000 >> 5];
    for (i, &block) in fifteen.iter().enumerate() {
        decode[usize::from(block >> 5)] = Some((i as u16, false));
    }
    for (i, &block) in seven.iter().enumerate() {
        decode[usize::from(block >> 5)] = Some((i as u16, true));
    }
    Tables {
        fifteen,
        seven,
        decode,
    }
});

/// A code point of the repertoire; the tables only hold BMP non-surrogate code points.
fn point(block: u16, low: u16) -> char {
    char::from_u32(u32::from(block | low)).unwrap_or('\u{FFFD}')
}

pub(crate) fn encode(bytes: &[u8]) -> String {
    let t = &*TABLES;
    let mut out = String::with_capacity((bytes.len() * 8).div_ceil(15) * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        acc = (acc << 8) | u32::from(byte);
        bits += 8;
        if bits >= 15 {
            bits -= 15;
            let group = ((acc >> bits) & 0x7FFF) as u16;
            out.push(point(t.fifteen[usize::from(group >> 5)], group & 31));
        }
    }
    if bits > 0 {
        // The last group, padded with ones: into a 7-bit block if it fits, else 15.
        let width = if bits <= 7 { 7 } else { 15 };
        let pad = width - bits;
        let group = (((acc & ((1 << bits) - 1)) << pad) | ((1 << pad) - 1)) as u16;
        let table = if width == 7 { &t.seven } else { &t.fifteen };
        out.push(point(table[usize::from(group >> 5)], group & 31));
    }
    out
}

pub(crate) fn decode(text: &str) -> Result<Vec<u8>, NameError> {
    let t = &*TABLES;
    let bad = NameError::BadEncoding("base32768");
    let mut out = Vec::with_capacity(text.len());
    let (mut acc, mut bits) = (0u32, 0u32);
    // Like the Go decoder: line breaks are ignored, and a final (7-bit) character ends
    // the input.
    for c in text.chars().filter(|c| !matches!(c, '\r' | '\n')) {
        let code = u16::try_from(u32::from(c)).map_err(|_| bad.clone())?;
        let (index, last) = t.decode[usize::from(code >> 5)].ok_or(bad.clone())?;
        let (value, width) = (
            u32::from(index) << 5 | u32::from(code & 31),
            if last { 7 } else { 15 },
        );
        acc = (acc << width) | value;
        bits += width;
        while bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
        acc &= (1 << bits) - 1;
        if last {
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repertoire_has_the_right_shape() {
        let t = &*TABLES;
        assert_eq!(t.fifteen.len(), 1024);
        assert_eq!(t.seven.len(), 4);
        let mut all: Vec<u16> = t.seven.iter().chain(&t.fifteen).copied().collect();
        assert!(all.windows(2).all(|w| w[0] < w[1]), "sorted and distinct");
        all.retain(|b| b & 31 != 0 || (0xD800..0xE000).contains(b));
        assert!(all.is_empty(), "block starts, no surrogates: {all:x?}");
    }

    // Vectors from rclone's backend/crypt/cipher_test.go (TestEncodeFileNameBase32768).
    #[test]
    fn matches_rclone() {
        for (plain, encoded) in [
            ("", ""),
            ("1", "㼿"),
            ("12", "㻙ɟ"),
            ("123", "㻙ⲿ"),
            ("1234", "㻙ⲍƟ"),
            ("12345", "㻙ⲍ⍟"),
            ("123456", "㻙ⲍ⍆ʏ"),
            ("1234567", "㻙ⲍ⍆觟"),
            ("12345678", "㻙ⲍ⍆觓ɧ"),
            ("123456789", "㻙ⲍ⍆觓栯"),
            ("1234567890", "㻙ⲍ⍆觓栩ɣ"),
            ("12345678901", "㻙ⲍ⍆觓栩朧"),
            ("123456789012", "㻙ⲍ⍆觓栩朤ʅ"),
            ("1234567890123", "㻙ⲍ⍆觓栩朤談"),
            ("12345678901234", "㻙ⲍ⍆觓栩朤諆ɔ"),
            ("123456789012345", "㻙ⲍ⍆觓栩朤諆媕"),
            ("1234567890123456", "㻙ⲍ⍆觓栩朤諆媕䆿"),
        ] {
            assert_eq!(encode(plain.as_bytes()), encoded, "{plain}");
            assert_eq!(decode(encoded).unwrap(), plain.as_bytes(), "{encoded}");
        }
        for bad in ["㼿c", "!", "㻙ⲿ=㻙ⲿ"] {
            assert_eq!(
                decode(bad),
                Err(NameError::BadEncoding("base32768")),
                "{bad}"
            );
        }
    }

    #[test]
    fn round_trips_every_length_and_byte() {
        for len in 0..64 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + len) as u8 ^ 0xA5).collect();
            assert_eq!(decode(&encode(&bytes)).unwrap(), bytes, "{len}");
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(decode(&encode(&all)).unwrap(), all);
    }
}
