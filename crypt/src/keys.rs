//! The three keys of a crypt remote, derived from its passwords as rclone does.

use std::fmt;

use zeroize::Zeroize;

use crate::{Error, Result};

/// rclone's salt when `password2` is not set.
const DEFAULT_SALT: [u8; 16] = [
    0xA8, 0x0D, 0xF4, 0x3A, 0x8F, 0xBD, 0x03, 0x08, 0xA7, 0xCA, 0xB8, 0x3E, 0x58, 0x1F, 0x86, 0xB1,
];

/// scrypt's cost as rclone fixes it: N = 2^14, r = 8, p = 1.
const LOG_N: u8 = 14;
const R: u32 = 8;
const P: u32 = 1;

/// Length of the derived key material: data key, name key, name tweak.
pub const KEY_MATERIAL_LEN: usize = 32 + 32 + 16;

/// The data key (XSalsa20-Poly1305), the name key (AES-256 for EME, and the obfuscation
/// offset) and the name tweak (EME). `Debug` is redacted; the bytes are wiped on drop.
#[derive(Clone)]
pub struct Keys {
    pub(crate) data: [u8; 32],
    pub(crate) name: [u8; 32],
    pub(crate) tweak: [u8; 16],
}

impl Keys {
    /// scrypt(password, salt = password2 or rclone's default salt, N=16384, r=8, p=1),
    /// split into the three keys. Takes tens of milliseconds: derive once per remote.
    ///
    /// As in rclone, an empty password gives all-zero keys; the crypt config refuses an
    /// empty password, so only tests reach that.
    pub fn derive(password: &[u8], password2: Option<&[u8]>) -> Result<Self> {
        let mut material = [0u8; KEY_MATERIAL_LEN];
        if !password.is_empty() {
            let salt = match password2 {
                Some(salt) if !salt.is_empty() => salt,
                _ => &DEFAULT_SALT,
            };
            let params =
                scrypt::Params::new(LOG_N, R, P).map_err(|e| Error::Scrypt(e.to_string()))?;
            scrypt::scrypt(password, salt, &params, &mut material)
                .map_err(|e| Error::Scrypt(e.to_string()))?;
        }
        let keys = Self::from_bytes(&material);
        material.zeroize();
        Ok(keys)
    }

    /// Keys from 80 bytes of key material (data, name, tweak); for test vectors.
    pub fn from_bytes(material: &[u8; KEY_MATERIAL_LEN]) -> Self {
        let mut keys = Self {
            data: [0; 32],
            name: [0; 32],
            tweak: [0; 16],
        };
        keys.data.copy_from_slice(&material[..32]);
        keys.name.copy_from_slice(&material[32..64]);
        keys.tweak.copy_from_slice(&material[64..]);
        keys
    }
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keys(<redacted>)")
    }
}

impl Drop for Keys {
    fn drop(&mut self) {
        self.data.zeroize();
        self.name.zeroize();
        self.tweak.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors from rclone's backend/crypt/cipher_test.go (TestKey).
    #[test]
    fn derives_rclone_vectors() {
        let keys = Keys::derive(b"potato", None).unwrap();
        assert_eq!(
            keys.data,
            [
                0x74, 0x55, 0xC7, 0x1A, 0xB1, 0x7C, 0x86, 0x5B, 0x84, 0x71, 0xF4, 0x7B, 0x79, 0xAC,
                0xB0, 0x7E, 0xB3, 0x1D, 0x56, 0x78, 0xB8, 0x0C, 0x7E, 0x2E, 0xAF, 0x4F, 0xC8, 0x06,
                0x6A, 0x9E, 0xE4, 0x68
            ]
        );
        assert_eq!(
            keys.name,
            [
                0x76, 0x5D, 0xA2, 0x7A, 0xB1, 0x5D, 0x77, 0xF9, 0x57, 0x96, 0x71, 0x1F, 0x7B, 0x93,
                0xAD, 0x63, 0xBB, 0xB4, 0x84, 0x07, 0x2E, 0x71, 0x80, 0xA8, 0xD1, 0x7A, 0x9B, 0xBE,
                0xC1, 0x42, 0x70, 0xD0
            ]
        );
        assert_eq!(
            keys.tweak,
            [
                0xC1, 0x8D, 0x59, 0x32, 0xF5, 0x5B, 0x28, 0x28, 0xC5, 0xE1, 0xE8, 0x72, 0x15, 0x52,
                0x03, 0x10
            ]
        );

        let keys = Keys::derive(b"potato", Some(b"sausage")).unwrap();
        assert_eq!(
            keys.data,
            [
                0x8e, 0x9b, 0x6b, 0x99, 0xf8, 0x69, 0x4, 0x67, 0xa0, 0x71, 0xf9, 0xcb, 0x92, 0xd0,
                0xaa, 0x78, 0x7f, 0x8f, 0xf1, 0x78, 0xbe, 0xc9, 0x6f, 0x99, 0x9f, 0xd5, 0x20, 0x6e,
                0x64, 0x4a, 0x1b, 0x50
            ]
        );
        assert_eq!(
            keys.name,
            [
                0x3e, 0xa9, 0x5e, 0xf6, 0x81, 0x78, 0x2d, 0xc9, 0xd9, 0x95, 0x5d, 0x22, 0x5b, 0xfd,
                0x44, 0x2c, 0x6f, 0x5d, 0x68, 0x97, 0xb0, 0x29, 0x1, 0x5c, 0x6f, 0x46, 0x2e, 0x2a,
                0x9d, 0xae, 0x2c, 0xe3
            ]
        );
        assert_eq!(
            keys.tweak,
            [
                0xf1, 0x7f, 0xd7, 0x14, 0x1d, 0x65, 0x27, 0x4f, 0x36, 0x3f, 0xc2, 0xa0, 0x4d, 0xd2,
                0x14, 0x8a
            ]
        );

        let keys = Keys::derive(b"potato", Some(b"Sausage")).unwrap();
        assert_eq!(
            keys.tweak,
            [
                0x9a, 0xb5, 0xb, 0x3d, 0xcb, 0x60, 0x59, 0x55, 0xa5, 0x4d, 0xe6, 0xb6, 0x47, 0x3,
                0x23, 0xe2
            ]
        );

        let keys = Keys::derive(b"", None).unwrap();
        assert_eq!(
            (keys.data, keys.name, keys.tweak),
            ([0; 32], [0; 32], [0; 16])
        );
    }

    #[test]
    fn debug_is_redacted() {
        let keys = Keys::derive(b"", None).unwrap();
        assert_eq!(format!("{keys:?}"), "Keys(<redacted>)");
    }
}
