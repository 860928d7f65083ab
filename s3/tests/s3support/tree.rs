//! Test trees: built deterministically from a seed, and snapshotted (content hash, size,
//! mtime to the nanosecond, permission bits, symlink targets) for comparison.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use md5::{Digest, Md5};
use rand::rngs::StdRng;
use rand::{Rng, RngExt, SeedableRng};

/// What a path holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// A file: size, MD5 hex, permission bits.
    File { size: u64, md5: String, mode: u32 },
    /// A symlink and its target.
    Link { target: String },
    /// A directory and its permission bits (only in [`snapshot_with_dirs`]).
    Dir { mode: u32 },
}

/// A path's node and mtime (ns).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub node: Node,
    pub mtime: i64,
}

/// Files and symlinks below `root`, keyed by relative path (directories left out).
pub fn snapshot(root: &Path) -> BTreeMap<String, Entry> {
    let mut out = BTreeMap::new();
    walk(root, root, false, &mut out);
    out
}

/// Files, symlinks and directories (with their modes and mtimes, keyed `path/`) below
/// `root`.
pub fn snapshot_with_dirs(root: &Path) -> BTreeMap<String, Entry> {
    let mut out = BTreeMap::new();
    walk(root, root, true, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, dirs: bool, out: &mut BTreeMap<String, Entry>) {
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        let meta = fs::symlink_metadata(&path).unwrap();
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let mtime = meta.mtime() * 1_000_000_000 + meta.mtime_nsec();
        if meta.is_dir() {
            walk(root, &path, dirs, out);
            if dirs {
                let node = Node::Dir {
                    mode: meta.mode() & 0o777,
                };
                out.insert(format!("{rel}/"), Entry { node, mtime });
            }
        } else if meta.file_type().is_symlink() {
            let target = fs::read_link(&path).unwrap().to_string_lossy().into_owned();
            out.insert(
                rel,
                Entry {
                    node: Node::Link { target },
                    mtime,
                },
            );
        } else {
            let bytes = fs::read(&path).unwrap();
            let md5 = md5_hex(&bytes);
            let mode = meta.mode() & 0o777;
            out.insert(
                rel,
                Entry {
                    node: Node::File {
                        size: bytes.len() as u64,
                        md5,
                        mode,
                    },
                    mtime,
                },
            );
        }
    }
}

/// Asserts two snapshots are equal, listing the differences.
pub fn assert_same(a: &BTreeMap<String, Entry>, b: &BTreeMap<String, Entry>) {
    let mut diffs = Vec::new();
    for (k, v) in a {
        match b.get(k) {
            None => diffs.push(format!("missing: {k}")),
            Some(w) if w != v => diffs.push(format!("differs: {k}: {v:?} vs {w:?}")),
            _ => {}
        }
    }
    for k in b.keys().filter(|k| !a.contains_key(*k)) {
        diffs.push(format!("extra: {k}"));
    }
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs[..diffs.len().min(30)].join("\n")
    );
}

/// Deterministic random bytes.
pub fn bytes(rng: &mut StdRng, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rng.fill_bytes(&mut v);
    v
}

/// Writes a file with `mode` and an mtime of `mtime_ns`.
pub fn write(path: &Path, data: &[u8], mode: u32, mtime_ns: i64) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, data).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    set_mtime(path, mtime_ns);
}

/// Sets the mtime (and atime) of a file or symlink.
pub fn set_mtime(path: &Path, ns: i64) {
    let t = filetime::FileTime::from_unix_time(
        ns.div_euclid(1_000_000_000),
        ns.rem_euclid(1_000_000_000) as u32,
    );
    filetime::set_symlink_file_times(path, t, t).unwrap();
}

/// A random mtime in 2021-2024 with nanoseconds (some whole seconds, as rclone writes them
/// as integers).
pub fn mtime(rng: &mut StdRng, i: usize) -> i64 {
    let secs = 1_610_000_000 + rng.random_range(0..100_000_000i64);
    let nanos = if i.is_multiple_of(7) {
        0
    } else {
        rng.random_range(0..1_000_000_000i64)
    };
    secs * 1_000_000_000 + nanos
}

/// Names that exercise encoding: spaces, unicode, punctuation S3 and URLs care about.
pub fn odd_name(i: usize) -> String {
    let names = [
        "file with spaces",
        "ünïcødé-日本語",
        "emoji-😀",
        "plus+equals=amp&",
        "percent%20hash#",
        "paren (1) [2] {3}",
        "semi;colon,comma",
        "quote'dq\"",
        "tilde~caret^",
        "dot.dot..name",
    ];
    format!("{} {i}.txt", names[i % names.len()])
}

/// Creates the directory `path` (and its parents) and gives it `mode` and an mtime of
/// `mtime_ns`; call it after writing what goes inside.
pub fn dir(path: &Path, mode: u32, mtime_ns: i64) {
    fs::create_dir_all(path).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    set_mtime(path, mtime_ns);
}

/// Names of exactly 255 bytes, the most Linux allows: ASCII, two-byte and three-byte
/// UTF-8 (cut at the byte limit on a character boundary), and four-byte emoji.
pub fn longest_names() -> Vec<String> {
    let fill = |unit: &str, tail: &str| {
        let mut name = String::new();
        while name.len() + unit.len() + tail.len() <= 255 {
            name.push_str(unit);
        }
        while name.len() + tail.len() < 255 {
            name.push('x');
        }
        name.push_str(tail);
        assert_eq!(name.len(), 255, "{name}");
        name
    };
    vec![
        fill("n", ".txt"),
        fill("é", ".bin"),
        fill("日本", ""),
        fill("😀", ".dat"),
    ]
}

/// Builds a tree of `count` small files (1 in 20 empty, sizes below `max_size`) spread over
/// nested directories up to `depth` deep, with odd names; returns the relative paths.
pub fn small_files(
    root: &Path,
    seed: u64,
    count: usize,
    max_size: usize,
    depth: usize,
) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut paths = Vec::with_capacity(count);
    for i in 0..count {
        let level = i % (depth + 1);
        let mut rel = String::new();
        for d in 0..level {
            rel.push_str(&format!("dir {} ü{}/", d, (i / 7 + d) % 5));
        }
        rel.push_str(&if i % 3 == 0 {
            odd_name(i)
        } else {
            format!("f{i:05}.bin")
        });
        let size = if i.is_multiple_of(20) {
            0
        } else {
            rng.random_range(1..max_size.max(2))
        };
        let data = bytes(&mut rng, size);
        let mt = mtime(&mut rng, i);
        write(&root.join(&rel), &data, 0o644, mt);
        paths.push(rel);
    }
    paths
}

/// A file of `size` bytes (for multipart uploads).
pub fn big_file(path: &Path, seed: u64, size: usize, mtime_ns: i64) {
    let mut rng = StdRng::seed_from_u64(seed);
    write(path, &bytes(&mut rng, size), 0o644, mtime_ns);
}

/// Rewrites a file with different content of a different size, keeping its mode, with a
/// new mtime.
pub fn change(path: &Path, seed: u64) {
    let old = fs::read(path).unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut data = bytes(&mut rng, old.len() + 17);
    data[0] ^= 1;
    fs::write(path, &data).unwrap();
    set_mtime(path, mtime(&mut rng, 1));
}

/// A duration in seconds with millis, for reports.
pub fn secs(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

/// Seconds since the epoch, for mtimes near now.
pub fn now_ns() -> i64 {
    UNIX_EPOCH.elapsed().unwrap().as_nanos() as i64
}

/// MD5 of bytes, hex.
pub fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
