//! How encrypted name bytes become text: rclone's `filename_encoding`.

use data_encoding::{Encoding, Specification};

use crate::error::NameError;

/// `filename_encoding`: how the EME output is written as a name.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum NameEncoding {
    /// base32hex, lower case, unpadded (rclone's default; case-insensitive on decode).
    #[default]
    Base32,
    /// URL-safe base64, unpadded (shorter names; needs a case-sensitive store).
    Base64,
    /// base32768: 15 bits per character (for stores that limit names in characters).
    Base32768,
}

impl NameEncoding {
    /// The value as written in rclone.conf.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Base32 => "base32",
            Self::Base64 => "base64",
            Self::Base32768 => "base32768",
        }
    }

    pub(crate) fn encode(self, bytes: &[u8]) -> String {
        match self {
            Self::Base32 => BASE32HEX_LOWER_NOPAD.encode(bytes),
            Self::Base64 => BASE64_URL_NOPAD.encode(bytes),
            Self::Base32768 => super::base32768::encode(bytes),
        }
    }

    pub(crate) fn decode(self, text: &str) -> Result<Vec<u8>, NameError> {
        let (encoding, what) = match self {
            Self::Base32 => (&*BASE32HEX_LOWER_NOPAD, "base32hex"),
            Self::Base64 => (&*BASE64_URL_NOPAD, "base64"),
            Self::Base32768 => return super::base32768::decode(text),
        };
        encoding
            .decode(text.as_bytes())
            .map_err(|_| NameError::BadEncoding(what))
    }
}

/// Go's `base32.HexEncoding` as rclone uses it for names: lower case out, either case in,
/// no padding, trailing bits not checked (as Go does not).
pub(crate) static BASE32HEX_LOWER_NOPAD: std::sync::LazyLock<Encoding> =
    std::sync::LazyLock::new(|| {
        let mut spec = Specification::new();
        spec.symbols.push_str("0123456789abcdefghijklmnopqrstuv");
        spec.translate.from.push_str("ABCDEFGHIJKLMNOPQRSTUV");
        spec.translate.to.push_str("abcdefghijklmnopqrstuv");
        spec.check_trailing_bits = false;
        encoding_of(&spec)
    });

/// Go's `base64.RawURLEncoding`: URL-safe alphabet, no padding, trailing bits not checked.
pub(crate) static BASE64_URL_NOPAD: std::sync::LazyLock<Encoding> =
    std::sync::LazyLock::new(|| {
        let mut spec = Specification::new();
        spec.symbols
            .push_str("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
        spec.check_trailing_bits = false;
        encoding_of(&spec)
    });

/// Both specifications above are valid (a 32- or 64-symbol alphabet, a consistent
/// translation); `data_encoding` only fails on invalid ones.
fn encoding_of(spec: &Specification) -> Encoding {
    match spec.encoding() {
        Ok(encoding) => encoding,
        Err(e) => unreachable!("invalid fixed encoding specification: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors from rclone's backend/crypt/cipher_test.go (TestEncodeFileNameBase32/64).
    #[test]
    fn base32_matches_rclone() {
        for (plain, encoded) in [
            ("", ""),
            ("1", "64"),
            ("12", "64p0"),
            ("123", "64p36"),
            ("1234", "64p36d0"),
            ("12345", "64p36d1l"),
            ("123456", "64p36d1l6o"),
            ("1234567", "64p36d1l6org"),
            ("12345678", "64p36d1l6orjg"),
            ("123456789", "64p36d1l6orjge8"),
            ("1234567890", "64p36d1l6orjge9g"),
            ("12345678901", "64p36d1l6orjge9g64"),
            ("123456789012", "64p36d1l6orjge9g64p0"),
            ("1234567890123", "64p36d1l6orjge9g64p36"),
            ("12345678901234", "64p36d1l6orjge9g64p36d0"),
            ("123456789012345", "64p36d1l6orjge9g64p36d1l"),
            ("1234567890123456", "64p36d1l6orjge9g64p36d1l6o"),
        ] {
            assert_eq!(NameEncoding::Base32.encode(plain.as_bytes()), encoded);
            assert_eq!(
                NameEncoding::Base32.decode(encoded).unwrap(),
                plain.as_bytes()
            );
            let upper = encoded.to_uppercase();
            assert_eq!(
                NameEncoding::Base32.decode(&upper).unwrap(),
                plain.as_bytes()
            );
        }
        for bad in ["64=", "!", "hello=hello"] {
            assert_eq!(
                NameEncoding::Base32.decode(bad),
                Err(NameError::BadEncoding("base32hex")),
                "{bad}"
            );
        }
    }

    #[test]
    fn base64_matches_rclone() {
        for (plain, encoded) in [
            ("", ""),
            ("1", "MQ"),
            ("12", "MTI"),
            ("123", "MTIz"),
            ("1234", "MTIzNA"),
            ("12345", "MTIzNDU"),
            ("123456", "MTIzNDU2"),
            ("1234567", "MTIzNDU2Nw"),
            ("12345678", "MTIzNDU2Nzg"),
            ("123456789", "MTIzNDU2Nzg5"),
            ("1234567890", "MTIzNDU2Nzg5MA"),
            ("12345678901", "MTIzNDU2Nzg5MDE"),
            ("123456789012", "MTIzNDU2Nzg5MDEy"),
            ("1234567890123", "MTIzNDU2Nzg5MDEyMw"),
            ("12345678901234", "MTIzNDU2Nzg5MDEyMzQ"),
            ("123456789012345", "MTIzNDU2Nzg5MDEyMzQ1"),
            ("1234567890123456", "MTIzNDU2Nzg5MDEyMzQ1Ng"),
        ] {
            assert_eq!(NameEncoding::Base64.encode(plain.as_bytes()), encoded);
            assert_eq!(
                NameEncoding::Base64.decode(encoded).unwrap(),
                plain.as_bytes()
            );
        }
        for bad in ["64=", "!", "Hello=Hello"] {
            assert!(NameEncoding::Base64.decode(bad).is_err(), "{bad}");
        }
    }
}
