//! Test data in a volume directory: a deterministic tree written from a seed, big
//! incompressible files for slow syncs, and [`Tree`], a record of what a directory holds
//! (sizes, a digest of every byte, permission bits, mtimes) to compare two volumes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::hash::Hasher as _;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};

/// The mtime every file of [`write_tree`] gets, in whole seconds since the epoch: the CSI
/// hostpath driver's snapshots are tar archives, which keep mtimes to the second only.
pub const TREE_MTIME: u64 = 1_700_000_000;

/// Pseudo-random, incompressible bytes from `seed` (xorshift64).
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Writes `bytes` to `dir/rel` (creating parents) with mtime `mtime` (seconds).
pub fn write_file(dir: &Path, rel: &str, bytes: &[u8], mtime: u64) -> anyhow::Result<()> {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let mut file =
        fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes)?;
    file.set_modified(UNIX_EPOCH + Duration::from_secs(mtime))?;
    Ok(())
}

/// Writes a small tree that exercises what a sync must keep: a binary file, nested
/// directories, an empty file, an executable and a name with a space. Files differ with
/// `seed`; every mtime is [`TREE_MTIME`] plus a per-file offset.
pub fn write_tree(dir: &Path, seed: u64) -> anyhow::Result<()> {
    write_file(dir, "data.bin", &noise(seed, 300_000), TREE_MTIME)?;
    write_file(
        dir,
        "docs/readme.txt",
        format!("replicated by ferry, seed {seed}\n").as_bytes(),
        TREE_MTIME + 1,
    )?;
    write_file(
        dir,
        "docs/deep/nested/leaf.txt",
        &noise(seed + 1, 5_000),
        TREE_MTIME + 2,
    )?;
    write_file(dir, "empty", b"", TREE_MTIME + 3)?;
    write_file(dir, "with space.txt", b"spaces survive\n", TREE_MTIME + 4)?;
    write_file(dir, "bin/run.sh", b"#!/bin/sh\necho hi\n", TREE_MTIME + 5)?;
    fs::set_permissions(dir.join("bin/run.sh"), fs::Permissions::from_mode(0o755))?;
    Ok(())
}

/// Writes what a database volume holds and restores depend on: empty directories (nested
/// too) with their own modes, like PostgreSQL's `pg_tblspc`, and files whose names are 255
/// bytes long (ASCII and multi-byte UTF-8), the most Linux allows, one of them in a
/// directory with the longest name MinIO holds as a marker (246 bytes). Everything is
/// owned by `owner` (uid and gid), as an app's files are its own: the sidecar runs as the
/// app's user, and a directory of mode 0700 is readable to its owner only.
pub fn write_edge_tree(dir: &Path, owner: u32) -> anyhow::Result<()> {
    let ascii = format!("{}.txt", "n".repeat(251));
    let utf8 = format!("{}x", "é".repeat(127));
    let cjk = "日本語".repeat(29).chars().take(85).collect::<String>();
    for name in [&ascii, &utf8, &cjk] {
        debug_assert_eq!(name.len(), 255);
        write_file(dir, name, name.as_bytes(), TREE_MTIME + 10)?;
    }
    let long_dir = format!("{}dd", "é".repeat(122));
    write_file(
        dir,
        &format!("{long_dir}/{ascii}"),
        b"nested",
        TREE_MTIME + 11,
    )?;
    write_file(dir, "pgdata/PG_VERSION", b"17\n", TREE_MTIME + 12)?;
    let dirs: [(&str, u32); 7] = [
        ("pgdata/pg_tblspc", 0o700),
        ("pgdata/pg_twophase", 0o700),
        ("empty/a/b/c", 0o755),
        ("empty/a/b", 0o750),
        ("empty/a", 0o711),
        ("pgdata", 0o700),
        (long_dir.as_str(), 0o750),
    ];
    for (i, (rel, mode)) in (0u64..).zip(dirs) {
        let path = dir.join(rel);
        fs::create_dir_all(&path)?;
        fs::set_permissions(&path, fs::Permissions::from_mode(mode))?;
        fs::File::open(&path)?
            .set_modified(UNIX_EPOCH + Duration::from_secs(TREE_MTIME + 20 + i))?;
    }
    chown_tree(dir, owner)
}

/// Gives everything below `dir` (not `dir` itself) to `owner`, keeping mtimes.
fn chown_tree(dir: &Path, owner: u32) -> anyhow::Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if fs::symlink_metadata(&path)?.is_dir() {
            chown_tree(&path, owner)?;
        }
        std::os::unix::fs::lchown(&path, Some(owner), Some(owner))
            .with_context(|| format!("chown {}", path.display()))?;
    }
    Ok(())
}

/// Writes a file of `size` incompressible bytes, a megabyte at a time.
pub fn write_big(dir: &Path, rel: &str, size: usize, seed: u64) -> anyhow::Result<()> {
    const CHUNK: usize = 1 << 20;
    let path = dir.join(rel);
    let mut file =
        fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    let mut written = 0;
    let mut n = 0;
    while written < size {
        let len = CHUNK.min(size - written);
        file.write_all(&noise(seed.wrapping_add(n), len))?;
        written += len;
        n += 1;
    }
    file.set_modified(UNIX_EPOCH + Duration::from_secs(TREE_MTIME))?;
    Ok(())
}

/// One regular file of a [`Tree`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRecord {
    /// Size in bytes.
    pub size: u64,
    /// A 64-bit digest of every byte (SipHash with fixed keys).
    pub digest: u64,
    /// Permission bits.
    pub mode: u32,
    /// Modification time, whole seconds.
    pub mtime: i64,
}

/// One directory of a [`Tree`] (the root left out).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirRecord {
    /// Permission bits.
    pub mode: u32,
    /// Modification time, whole seconds.
    pub mtime: i64,
}

/// What to compare besides paths, sizes and contents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Compare {
    /// Compare permission bits (rsync keeps them; S3 does not store them).
    pub mode: bool,
    /// Compare mtimes to the second.
    pub mtime: bool,
    /// Compare the directories too (with `mode` and `mtime` as for files): every one,
    /// empty ones included, must be there.
    pub dirs: bool,
}

impl Compare {
    /// Contents, sizes and mtimes: what an rclone-format round trip keeps.
    pub const RCLONE: Self = Self {
        mode: false,
        mtime: true,
        dirs: false,
    };
    /// Everything Ferry's S3 format keeps: files with their modes and mtimes, and the
    /// directories (as markers) with theirs.
    pub const FERRY_S3: Self = Self {
        mode: true,
        mtime: true,
        dirs: true,
    };
    /// Contents, sizes, mtimes and permission bits: what rsync `-a` keeps.
    pub const RSYNC: Self = Self {
        mode: true,
        mtime: true,
        dirs: false,
    };
}

/// The regular files below a directory, by relative path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tree {
    /// Files by path relative to the root, `/`-separated.
    pub files: BTreeMap<String, FileRecord>,
    /// Directories by path relative to the root, `/`-separated.
    pub dirs: BTreeMap<String, DirRecord>,
}

impl Tree {
    /// Reads every regular file below `root`. Symlinks and special files are refused: the
    /// test trees have none, so one appearing is a bug worth seeing.
    pub fn of(root: &Path) -> anyhow::Result<Self> {
        let mut tree = Self::default();
        walk(root, root, &mut tree)?;
        Ok(tree)
    }

    /// The total size of all files.
    pub fn bytes(&self) -> u64 {
        self.files.values().map(|f| f.size).sum()
    }

    /// Fails, listing every difference, unless `other` holds the same files as `self`.
    pub fn ensure_same(&self, other: &Self, compare: Compare, what: &str) -> anyhow::Result<()> {
        let mut problems = String::new();
        for (path, want) in &self.files {
            match other.files.get(path) {
                None => {
                    let _ = writeln!(problems, "  missing: {path}");
                }
                Some(got) => {
                    if got.size != want.size || got.digest != want.digest {
                        let _ = writeln!(
                            problems,
                            "  contents differ: {path} ({} bytes, want {})",
                            got.size, want.size
                        );
                    }
                    if compare.mode && got.mode != want.mode {
                        let _ = writeln!(
                            problems,
                            "  mode differs: {path} ({:o}, want {:o})",
                            got.mode, want.mode
                        );
                    }
                    if compare.mtime && got.mtime != want.mtime {
                        let _ = writeln!(
                            problems,
                            "  mtime differs: {path} ({}, want {})",
                            got.mtime, want.mtime
                        );
                    }
                }
            }
        }
        for path in other.files.keys() {
            if !self.files.contains_key(path) {
                let _ = writeln!(problems, "  unexpected: {path}");
            }
        }
        if compare.dirs {
            for (path, want) in &self.dirs {
                match other.dirs.get(path) {
                    None => {
                        let _ = writeln!(problems, "  missing directory: {path}/");
                    }
                    Some(got) if compare.mode && got.mode != want.mode => {
                        let _ = writeln!(
                            problems,
                            "  mode differs: {path}/ ({:o}, want {:o})",
                            got.mode, want.mode
                        );
                    }
                    Some(got) if compare.mtime && got.mtime != want.mtime => {
                        let _ = writeln!(
                            problems,
                            "  mtime differs: {path}/ ({}, want {})",
                            got.mtime, want.mtime
                        );
                    }
                    Some(_) => {}
                }
            }
        }
        if !problems.is_empty() {
            bail!("{what} differs from the source:\n{problems}");
        }
        Ok(())
    }
}

fn walk(root: &Path, dir: &Path, tree: &mut Tree) -> anyhow::Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let meta = fs::symlink_metadata(&path)?;
        let rel = path
            .strip_prefix(root)?
            .to_string_lossy()
            .replace(std::path::MAIN_SEPARATOR, "/");
        let mtime = meta
            .modified()?
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        if meta.is_dir() {
            walk(root, &path, tree)?;
            let mode = meta.permissions().mode() & 0o7777;
            tree.dirs.insert(rel, DirRecord { mode, mtime });
            continue;
        }
        if !meta.is_file() {
            bail!("{} is neither a file nor a directory", path.display());
        }
        tree.files.insert(
            rel,
            FileRecord {
                size: meta.len(),
                digest: digest(&path)?,
                mode: meta.permissions().mode() & 0o7777,
                mtime,
            },
        );
    }
    Ok(())
}

fn digest(path: &Path) -> anyhow::Result<u64> {
    // `DefaultHasher::new()` has fixed keys: the same bytes give the same digest in a run.
    let mut hasher = std::hash::DefaultHasher::new();
    let mut file = fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut buf = vec![0_u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.write(&buf[..n]);
    }
    Ok(hasher.finish())
}

/// The current time in whole seconds since the epoch, for mtimes of files changed by a test.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
