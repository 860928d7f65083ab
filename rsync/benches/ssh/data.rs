//! The three data sets: a new 1 GiB file, 10,000 small files, and a 1% change of the big
//! file.

use std::io::Write;
use std::path::Path;

pub const BIG: u64 = 1024 * 1024 * 1024;
pub const SMALL_FILES: usize = 10_000;

/// Incompressible, fast, deterministic bytes.
fn fill(buf: &mut [u8], state: &mut u64) {
    for chunk in buf.chunks_mut(8) {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        let bytes = state.to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
}

/// `orig/big.bin` (1 GiB) and `delta/big.bin`: the same file with 1% rewritten in 100
/// scattered regions of about 100 KiB (10 MiB in all).
pub fn big(orig: &Path, delta: &Path) -> u64 {
    std::fs::create_dir_all(orig).unwrap();
    std::fs::create_dir_all(delta).unwrap();
    let mut state = 0x2545_F491_4F6C_DD1D_u64;
    let mut file = std::fs::File::create(orig.join("big.bin")).unwrap();
    let mut buf = vec![0u8; 4 * 1024 * 1024];
    for _ in 0..(BIG / buf.len() as u64) {
        fill(&mut buf, &mut state);
        file.write_all(&buf).unwrap();
    }
    drop(file);
    std::fs::copy(orig.join("big.bin"), delta.join("big.bin")).unwrap();
    let changed = BIG / 100;
    let region = changed / 100;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(delta.join("big.bin"))
        .unwrap();
    let mut patch = vec![0u8; region as usize];
    for i in 0..100u64 {
        fill(&mut patch, &mut state);
        let offset = i * (BIG / 100) + (i * 7919 % 1000) * 4096;
        std::os::unix::fs::FileExt::write_all_at(&file, &patch, offset).unwrap();
    }
    // A later mtime, so rsync's quick check sees the change even within one second.
    let later = std::fs::metadata(orig.join("big.bin"))
        .unwrap()
        .modified()
        .unwrap()
        + std::time::Duration::from_secs(3600);
    file.set_modified(later).unwrap();
    changed
}

/// 10,000 files of 1 to 8 KiB in 100 directories; returns their total size.
pub fn small(root: &Path) -> u64 {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut total = 0;
    for i in 0..SMALL_FILES {
        let dir = root.join(format!("d{:03}", i % 100));
        std::fs::create_dir_all(&dir).unwrap();
        let len = 1024 + (i * 2654435761 % 7168);
        let mut data = vec![0u8; len];
        fill(&mut data, &mut state);
        std::fs::write(dir.join(format!("f{i:05}")), &data).unwrap();
        total += len as u64;
    }
    total
}
