//! EME (ECB-Mix-ECB), the wide-block mode of Halevi and Rogaway ("A Parallelizable
//! Enciphering Mode", 2003), over AES-256: how rclone encrypts each name segment. It is
//! deterministic (a name always encrypts the same, so a listing can be matched) and every
//! output byte depends on every input byte (names with a common prefix share nothing).
//! No crate implements it; this follows the paper, with rclone's byte order for the
//! doubling in GF(2^128).

use aes::Aes256;
use aes::cipher::{BlockCipherDecrypt, BlockCipherEncrypt};

/// The block size.
const B: usize = 16;
/// EME takes 1 to 127 blocks (the multipliers must stay distinct).
pub(crate) const MAX_BLOCKS: usize = 127;

/// Which way to go.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Direction {
    Encrypt,
    Decrypt,
}

/// Multiplies by x in GF(2^128), bytes little-endian, reduction polynomial 0x87.
fn double(block: &mut [u8; B]) {
    let carry = block[B - 1] >> 7;
    for j in (1..B).rev() {
        block[j] = (block[j] << 1) | (block[j - 1] >> 7);
    }
    block[0] = (block[0] << 1) ^ (0x87 * carry);
}

fn xor(into: &mut [u8], with: &[u8]) {
    for (a, b) in into.iter_mut().zip(with) {
        *a ^= b;
    }
}

fn block_of(data: &mut [u8], j: usize) -> &mut [u8; B] {
    let slice = &mut data[j * B..(j + 1) * B];
    // The slice is exactly B long by construction.
    <&mut [u8; B]>::try_from(slice).unwrap_or_else(|_| unreachable!())
}

fn apply(cipher: &Aes256, direction: Direction, block: &mut [u8; B]) {
    let block = <&mut aes::Block>::from(block);
    match direction {
        Direction::Encrypt => cipher.encrypt_block(block),
        Direction::Decrypt => cipher.decrypt_block(block),
    }
}

/// EME-transforms `data` in place under `tweak`. `data` must be 1 to 127 whole blocks
/// (callers check: names are padded to blocks, and a longer name is refused before).
pub(crate) fn transform(cipher: &Aes256, tweak: &[u8; B], data: &mut [u8], direction: Direction) {
    let m = data.len() / B;
    debug_assert!(data.len().is_multiple_of(B) && (1..=MAX_BLOCKS).contains(&m));

    // L = 2 * E(K, 0); the i-th block is masked with 2^i * L.
    let mut l0 = [0u8; B];
    apply(cipher, Direction::Encrypt, &mut l0);
    double(&mut l0);

    let mut l = l0;
    for j in 0..m {
        let block = block_of(data, j);
        xor(block, &l);
        apply(cipher, direction, block);
        double(&mut l);
    }

    // MP = T xor (xor of all PPP_j); MC = E(K, MP); M = MP xor MC.
    let mut mp = *tweak;
    for j in 0..m {
        xor(&mut mp, block_of(data, j));
    }
    let mut mc = mp;
    apply(cipher, direction, &mut mc);
    let mut mask = mp;
    xor(&mut mask, &mc);

    // CCC_j = PPP_j xor 2^(j-1) * M for j >= 1; CCC_0 = MC xor T xor (xor of CCC_j).
    let mut first = mc;
    xor(&mut first, tweak);
    for j in 1..m {
        double(&mut mask);
        let block = block_of(data, j);
        xor(block, &mask);
        xor(&mut first, block);
    }
    block_of(data, 0).copy_from_slice(&first);

    let mut l = l0;
    for j in 0..m {
        let block = block_of(data, j);
        apply(cipher, direction, block);
        xor(block, &l);
        double(&mut l);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes::cipher::KeyInit;

    #[test]
    fn decrypt_inverts_encrypt_for_every_length() {
        let cipher = Aes256::new(&[7u8; 32].into());
        let tweak = [3u8; 16];
        for m in 1..=MAX_BLOCKS {
            let plain: Vec<u8> = (0..m * B).map(|i| (i * 31 % 251) as u8).collect();
            let mut data = plain.clone();
            transform(&cipher, &tweak, &mut data, Direction::Encrypt);
            assert_ne!(data, plain);
            transform(&cipher, &tweak, &mut data, Direction::Decrypt);
            assert_eq!(data, plain, "{m} blocks");
        }
    }

    #[test]
    fn doubling_carries_into_the_next_byte_and_reduces() {
        let mut b = [0u8; B];
        b[0] = 0x80;
        double(&mut b);
        assert_eq!(b[..2], [0x00, 0x01]);
        let mut b = [0u8; B];
        b[15] = 0x80;
        double(&mut b);
        assert_eq!(b[0], 0x87);
        assert_eq!(b[15], 0);
    }
}
