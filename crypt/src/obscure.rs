//! rclone's "obscured" passwords: AES-256-CTR under a key published in rclone's source,
//! with a random 16-byte IV in front, in URL-safe base64 without padding. It hides a
//! password from a glance, not from anyone who has the file; rclone.conf stores crypt
//! passwords this way, so Ferry reads them this way.

use std::fmt;

use aes::Aes256;
use ctr::Ctr128BE;
use ctr::cipher::{KeyIvInit, StreamCipher};
use zeroize::Zeroize;

use crate::names::encoding::BASE64_URL_NOPAD;

/// rclone's fixed obscuring key (fs/config/obscure).
const KEY: [u8; 32] = [
    0x9c, 0x93, 0x5b, 0x48, 0x73, 0x0a, 0x55, 0x4d, 0x6b, 0xfd, 0x7c, 0x63, 0xc8, 0x86, 0xa9, 0x2b,
    0xd3, 0x90, 0x19, 0x8e, 0xb8, 0x12, 0x8a, 0xfb, 0xf4, 0xde, 0x16, 0x2b, 0x8b, 0x95, 0xf6, 0x38,
];
const IV_LEN: usize = 16;

/// A revealed password: bytes, as rclone keeps them (a Go string need not be UTF-8).
/// Its `Debug` is redacted and its bytes are wiped on drop, so it never reaches a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps plaintext password bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// The password bytes; for key derivation only.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// True for an empty password.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// Why a value is not an obscured password. Never holds the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RevealError {
    /// Not URL-safe base64 without padding.
    #[error("it is not URL-safe base64")]
    NotBase64,
    /// Shorter than the 16-byte IV.
    #[error("it is too short to hold rclone's 16-byte IV")]
    TooShort,
}

/// Reveals a password obscured by `rclone obscure` (or `rclone config`).
pub fn reveal(obscured: &str) -> Result<Secret, RevealError> {
    let mut bytes = BASE64_URL_NOPAD
        .decode(obscured.as_bytes())
        .map_err(|_| RevealError::NotBase64)?;
    if bytes.len() < IV_LEN {
        bytes.zeroize();
        return Err(RevealError::TooShort);
    }
    let (iv, text) = bytes.split_at_mut(IV_LEN);
    apply(iv, text);
    let secret = Secret::new(text.to_vec());
    bytes.zeroize();
    Ok(secret)
}

/// Obscures `password` as `rclone obscure` does, with a random IV; for tests and tools
/// that write an rclone.conf.
pub fn obscure(password: &[u8]) -> crate::Result<String> {
    let mut iv = [0u8; IV_LEN];
    getrandom::fill(&mut iv).map_err(|e| crate::Error::Random(e.to_string()))?;
    Ok(obscure_with_iv(password, iv))
}

/// [`obscure`] with a given IV (deterministic, for tests).
pub fn obscure_with_iv(password: &[u8], iv: [u8; IV_LEN]) -> String {
    let mut bytes = Vec::with_capacity(IV_LEN + password.len());
    bytes.extend_from_slice(&iv);
    bytes.extend_from_slice(password);
    let (iv, text) = bytes.split_at_mut(IV_LEN);
    apply(iv, text);
    let out = BASE64_URL_NOPAD.encode(&bytes);
    bytes.zeroize();
    out
}

/// AES-256-CTR with a 128-bit big-endian counter, as Go's `cipher.NewCTR`.
fn apply(iv: &[u8], text: &mut [u8]) {
    let mut iv_block = [0u8; IV_LEN];
    iv_block.copy_from_slice(iv);
    let mut cipher = Ctr128BE::<Aes256>::new(&KEY.into(), &iv_block.into());
    cipher.apply_keystream(text);
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors from rclone's fs/config/obscure/obscure_test.go.
    #[test]
    fn reveals_rclone_vectors() {
        for (obscured, want) in [
            ("YWFhYWFhYWFhYWFhYWFhYQ", ""),
            ("YWFhYWFhYWFhYWFhYWFhYXMaGgIlEQ", "potato"),
            ("YmJiYmJiYmJiYmJiYmJiYp3gcEWbAw", "potato"),
        ] {
            assert_eq!(
                reveal(obscured).unwrap().expose(),
                want.as_bytes(),
                "{obscured}"
            );
        }
    }

    #[test]
    fn obscures_as_rclone_does() {
        assert_eq!(
            obscure_with_iv(b"potato", *b"aaaaaaaaaaaaaaaa"),
            "YWFhYWFhYWFhYWFhYWFhYXMaGgIlEQ"
        );
        assert_eq!(
            obscure_with_iv(b"", *b"aaaaaaaaaaaaaaaa"),
            "YWFhYWFhYWFhYWFhYWFhYQ"
        );
        let random = obscure(b"hunter2").unwrap();
        assert_eq!(reveal(&random).unwrap().expose(), b"hunter2");
    }

    #[test]
    fn refuses_what_is_not_obscured() {
        assert_eq!(
            reveal("YmJiYmJiYmJiYmJiYmJiYp*gcEWbAw"),
            Err(RevealError::NotBase64)
        );
        assert_eq!(reveal("aGVsbG8"), Err(RevealError::TooShort));
        assert_eq!(reveal(""), Err(RevealError::TooShort));
        assert_eq!(reveal("YQ=="), Err(RevealError::NotBase64));
    }

    #[test]
    fn secret_debug_is_redacted() {
        let secret = reveal("YWFhYWFhYWFhYWFhYWFhYXMaGgIlEQ").unwrap();
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
    }
}
