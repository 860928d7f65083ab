//! One stable hash for every choice that must not move between runs, versions or machines:
//! a schedule's jitter slot, the sample a verification reads, the key an Event folds under.
//!
//! FNV-1a (64 bit) because it is fixed by its definition: `std`'s hasher may change with a
//! Rust upgrade, and a jitter slot or a verification sample that moved after an upgrade would
//! be a surprise. It spreads short, similar keys well enough for these uses; nothing here
//! needs resistance to chosen input.

const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a 64 of `bytes`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(OFFSET_BASIS, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(PRIME)
    })
}

#[cfg(test)]
mod tests {
    use super::fnv1a;

    #[test]
    fn matches_the_published_test_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
