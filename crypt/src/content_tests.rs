//! Content vectors from rclone's backend/crypt/cipher_test.go: all-zero keys, and the
//! nonce 0x01..0x18 that its tests take from a counting "random" source.

use std::io::{Read, Write};

use super::*;
use crate::keys::{KEY_MATERIAL_LEN, Keys};
use crate::{Cipher, NameMode};

fn zero_cipher() -> Cipher {
    Cipher::new(
        &Keys::from_bytes(&[0; KEY_MATERIAL_LEN]),
        NameMode::default(),
        true,
        true,
    )
}

fn counting_nonce() -> Nonce {
    let mut n = [0u8; NONCE_LEN];
    for (i, b) in n.iter_mut().enumerate() {
        *b = i as u8 + 1;
    }
    Nonce(n)
}

const HEADER: [u8; 32] = [
    0x52, 0x43, 0x4c, 0x4f, 0x4e, 0x45, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
    0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
];

fn file1() -> Vec<u8> {
    let mut f = HEADER.to_vec();
    f.extend_from_slice(&[
        0x09, 0x5b, 0x44, 0x6c, 0xd6, 0x23, 0x7b, 0xbc, 0xb0, 0x8d, 0x09, 0xfb, 0x52, 0x4c, 0xe5,
        0x65, 0xAA,
    ]);
    f
}

fn file16() -> Vec<u8> {
    let mut f = HEADER.to_vec();
    f.extend_from_slice(&[
        0xb9, 0xc4, 0x55, 0x2a, 0x27, 0x10, 0x06, 0x29, 0x18, 0x96, 0x0a, 0x3e, 0x60, 0x8c, 0x29,
        0xb9, 0xaa, 0x8a, 0x5e, 0x1e, 0x16, 0x5b, 0x6d, 0x07, 0x5d, 0xe4, 0xe9, 0xbb, 0x36, 0x7f,
        0xd6, 0xd4,
    ]);
    f
}

fn encrypt(c: &Cipher, plain: &[u8], nonce: Nonce) -> Vec<u8> {
    let mut out = Vec::new();
    c.encrypt_reader_with_nonce(plain, nonce)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn decrypt_read(c: &Cipher, stored: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    c.decrypt_reader(stored)?.read_to_end(&mut out)?;
    Ok(out)
}

/// Writes `stored` in pieces of `piece` bytes.
fn decrypt_write(c: &Cipher, stored: &[u8], piece: usize) -> std::io::Result<Vec<u8>> {
    let mut w = c.decrypt_writer(Vec::new());
    for chunk in stored.chunks(piece.max(1)) {
        w.write_all(chunk)?;
    }
    w.finish()
}

fn kind(e: &std::io::Error) -> ContentError {
    ContentError::from_io(e).cloned().unwrap()
}

#[test]
fn encrypts_rclone_vectors() {
    let c = zero_cipher();
    let plain16: Vec<u8> = (1..=16).collect();
    for (plain, want) in [
        (&[][..], HEADER.to_vec()),
        (&[1u8][..], file1()),
        (&plain16[..], file16()),
    ] {
        let stored = encrypt(&c, plain, counting_nonce());
        assert_eq!(stored, want);
        assert_eq!(decrypt_read(&c, &stored).unwrap(), plain);
        assert_eq!(decrypt_write(&c, &stored, 5).unwrap(), plain);
        assert_eq!(c.encrypted_size(plain.len() as u64), stored.len() as u64);
    }
}

#[test]
fn sizes_match_rclone() {
    for (plain, stored) in [
        (0u64, 32u64),
        (1, 32 + 16 + 1),
        (65536, 32 + 16 + 65536),
        (65537, 32 + 16 + 65536 + 16 + 1),
        (1 << 20, 32 + 16 * (16 + 65536)),
        ((1 << 20) + 65535, 32 + 16 * (16 + 65536) + 16 + 65535),
        (1 << 30, 32 + 16384 * (16 + 65536)),
        ((1 << 40) + 1, 32 + 16777216 * (16 + 65536) + 16 + 1),
    ] {
        assert_eq!(encrypted_size(plain), stored, "{plain}");
        assert_eq!(decrypted_size(stored), Ok(plain), "{stored}");
    }
    for bad in [
        0,
        1,
        7,
        32 + 1,
        32 + 16,
        32 + 16 + 65536 + 1,
        32 + 16 + 65536 + 16,
    ] {
        assert_eq!(
            decrypted_size(bad),
            Err(ContentError::BadSize(bad)),
            "{bad}"
        );
    }
}

#[test]
fn nonce_increments_little_endian() {
    let mut n = Nonce([0; NONCE_LEN]);
    n.0[..3].copy_from_slice(&[0xFF, 0xFF, 0x01]);
    n.increment();
    assert_eq!(n.0[..4], [0x00, 0x00, 0x02, 0x00]);
    let mut n = Nonce([0xFF; NONCE_LEN]);
    n.increment();
    assert_eq!(n, Nonce([0; NONCE_LEN]));
}

#[test]
fn round_trips_across_block_edges_in_any_piece_size() {
    let c = zero_cipher();
    for len in [0, 1, 65535, 65536, 65537, 3 * 65536, 200_000] {
        let plain: Vec<u8> = (0..len).map(|i| (i % 257) as u8).collect();
        let stored = encrypt(&c, &plain, Nonce::random().unwrap());
        assert_eq!(stored.len() as u64, encrypted_size(len as u64), "{len}");
        assert_eq!(decrypt_read(&c, &stored).unwrap(), plain, "{len}");
        for piece in [1, 7, 4096, 65552, 100_000] {
            if len > 70_000 && piece == 1 {
                continue;
            }
            assert_eq!(
                decrypt_write(&c, &stored, piece).unwrap(),
                plain,
                "{len}/{piece}"
            );
        }
    }
}

/// A reader that hands out one byte per call.
struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        match (self.0.split_first(), out.first_mut()) {
            (Some((b, rest)), Some(o)) => {
                *o = *b;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

#[test]
fn readers_cope_with_short_reads() {
    let c = zero_cipher();
    let plain: Vec<u8> = (0..70_000).map(|i| (i % 251) as u8).collect();
    let mut stored = Vec::new();
    c.encrypt_reader_with_nonce(Trickle(&plain), counting_nonce())
        .read_to_end(&mut stored)
        .unwrap();
    assert_eq!(stored, encrypt(&c, &plain, counting_nonce()));
    let mut back = Vec::new();
    c.decrypt_reader(Trickle(&stored))
        .unwrap()
        .read_to_end(&mut back)
        .unwrap();
    assert_eq!(back, plain);
}

#[test]
fn each_block_uses_the_next_nonce() {
    // Two full blocks of zeros encrypt differently, because the nonce moves on.
    let c = zero_cipher();
    let stored = encrypt(&c, &vec![0u8; 2 * BLOCK_DATA_LEN], counting_nonce());
    let first = &stored[HEADER_LEN..HEADER_LEN + BLOCK_LEN];
    let second = &stored[HEADER_LEN + BLOCK_LEN..];
    assert_ne!(first, second);
}

#[test]
fn truncation_and_corruption_are_errors_like_rclone() {
    let c = zero_cipher();
    let f16 = file16();
    for cut in 0..f16.len() {
        let read = decrypt_read(&c, &f16[..cut]);
        let write = decrypt_write(&c, &f16[..cut], 3);
        let want = match cut {
            0..32 => Some(ContentError::TooShort),
            32 => None,
            33..=48 => Some(ContentError::Truncated),
            _ => Some(ContentError::Authentication),
        };
        match want {
            None => {
                assert_eq!(read.unwrap(), b"");
                assert_eq!(write.unwrap(), b"");
            }
            Some(want) => {
                assert_eq!(kind(&read.unwrap_err()), want, "read, cut at {cut}");
                assert_eq!(kind(&write.unwrap_err()), want, "write, cut at {cut}");
            }
        }
    }
    for i in 0..f16.len() {
        let mut bad = f16.clone();
        bad[i] ^= 0xFF;
        let want = if i < MAGIC.len() {
            ContentError::BadMagic
        } else {
            ContentError::Authentication
        };
        assert_eq!(kind(&decrypt_read(&c, &bad).unwrap_err()), want, "byte {i}");
        assert_eq!(
            kind(&decrypt_write(&c, &bad, 10).unwrap_err()),
            want,
            "byte {i}"
        );
    }
}

#[test]
fn wrong_key_fails_authentication() {
    let stored = encrypt(&zero_cipher(), b"secret contents", counting_nonce());
    let other = Cipher::new(
        &Keys::from_bytes(&[1; KEY_MATERIAL_LEN]),
        NameMode::default(),
        true,
        true,
    );
    let e = decrypt_read(&other, &stored).unwrap_err();
    assert_eq!(kind(&e), ContentError::Authentication);
    assert!(
        e.to_string().contains("wrong password or corrupted object"),
        "{e}"
    );
}

#[test]
fn no_data_encryption_passes_contents_through() {
    let c = Cipher::new(
        &Keys::from_bytes(&[0; KEY_MATERIAL_LEN]),
        NameMode::default(),
        true,
        false,
    );
    let stored = encrypt(&c, b"plain", counting_nonce());
    assert_eq!(stored, b"plain");
    assert_eq!(c.encrypted_size(5), 5);
    assert_eq!(c.decrypted_size(5), Ok(5));
    assert_eq!(decrypt_read(&c, b"plain").unwrap(), b"plain");
    assert_eq!(decrypt_write(&c, b"plain", 2).unwrap(), b"plain");
}

#[test]
fn plaintext_can_be_drained_between_writes() {
    let c = zero_cipher();
    let plain: Vec<u8> = (0..200_000).map(|i| (i % 253) as u8).collect();
    let stored = encrypt(&c, &plain, counting_nonce());
    let mut w = c.decrypt_writer(Vec::new());
    let mut out = Vec::new();
    for chunk in stored.chunks(30_000) {
        w.write_all(chunk).unwrap();
        out.append(w.get_mut());
    }
    out.extend(w.finish().unwrap());
    assert_eq!(out, plain);
}

#[test]
fn shared_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Cipher>();
    send_sync::<Encrypter<std::fs::File>>();
    send_sync::<Decrypter<std::fs::File>>();
    send_sync::<DecryptWriter<Vec<u8>>>();
}
