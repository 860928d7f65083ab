//! What the listings yield: local files, symlinks and directories, and S3 objects, each
//! under its relative key (`/`-separated, as the object key below the prefix).
//!
//! A directory is keyed with a trailing `/` (`a/b/`) and stored as a directory marker: a
//! zero-byte object with that key, carrying the directory's mtime, mode and owner in
//! rclone's metadata, as rclone writes markers with `directory_markers = true`. S3 has no
//! directories, so without markers an empty directory (and every directory's mode) would
//! be lost. The key sorts right before everything inside it, in S3's order and the walk's.

use std::path::PathBuf;

use super::meta::FileMeta;

/// The suffix rclone gives objects that stand for symlinks (`--links`).
pub const LINK_SUFFIX: &str = ".rclonelink";

/// How symlinks are treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Links {
    /// Skip local symlinks (with a notice); `.rclonelink` objects are plain files.
    Skip,
    /// Store symlinks as `.rclonelink` objects whose body is the target, and recreate them.
    Keep,
}

/// A local file or symlink.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A symlink (listed only with [`Links::Keep`]).
    Symlink,
    /// A directory other than the root (its key ends in `/`; its size is 0).
    Dir,
}

/// A local entry.
#[derive(Clone, Debug)]
pub struct LocalEntry {
    /// The relative key; `.rclonelink` added for symlinks.
    pub key: String,
    /// Its path on disk.
    pub path: PathBuf,
    /// File or symlink.
    pub kind: Kind,
    /// Size in bytes (for a symlink, the length of its target).
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime: i64,
    /// Mode, owner and times to record.
    pub meta: FileMeta,
}

/// An S3 object as listed, with what a trusted manifest says about it.
#[derive(Clone, Debug)]
pub struct RemoteEntry {
    /// The relative key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// The ETag, quotes included.
    pub etag: String,
    /// `LastModified` of the listing, milliseconds since the epoch.
    pub last_modified_ms: i64,
    /// What the manifest says, when its size and ETag agree with the listing.
    pub known: Option<Known>,
}

/// Facts about an object that the listing does not carry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Known {
    /// rclone's mtime, nanoseconds since the epoch.
    pub mtime: i64,
    /// MD5 of the content, when known.
    pub md5: Option<[u8; 16]>,
    /// A directory marker's mode, owner and group, so a pull restores them without a HEAD
    /// (a file's come with its body).
    pub dir: Option<DirMeta>,
}

/// What a directory marker records besides its mtime.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DirMeta {
    /// `st_mode`, file type bits included.
    #[serde(rename = "o", default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
    /// Owner.
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// Group.
    #[serde(rename = "g", default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
}

impl DirMeta {
    /// The directory part of recorded metadata.
    pub fn of(meta: &FileMeta) -> DirMeta {
        DirMeta {
            mode: meta.mode,
            uid: meta.uid,
            gid: meta.gid,
        }
    }
}

/// Anything with a relative key, so that listings can be merged.
pub trait Keyed {
    /// The relative key.
    fn key(&self) -> &str;
}

impl Keyed for LocalEntry {
    fn key(&self) -> &str {
        &self.key
    }
}

impl Keyed for RemoteEntry {
    fn key(&self) -> &str {
        &self.key
    }
}

/// Whether a relative key names a directory (marker).
pub fn is_dir_key(key: &str) -> bool {
    key.ends_with('/')
}

impl RemoteEntry {
    /// The MD5 the ETag stands for: a single-part upload's ETag is its MD5 (not with KMS
    /// encryption; a multipart ETag ends in `-N`).
    pub fn etag_md5(&self, etag_is_md5: bool) -> Option<[u8; 16]> {
        if !etag_is_md5 {
            return None;
        }
        parse_md5_hex(self.etag.trim_matches('"'))
    }
}

/// Parses 32 hex digits.
pub fn parse_md5_hex(hex: &str) -> Option<[u8; 16]> {
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// 32 lower-case hex digits.
pub fn md5_hex(md5: &[u8; 16]) -> String {
    md5.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_hex_round_trips() {
        let md5 = [
            0xd4, 0x1d, 0x8c, 0xd9, 0x8f, 0x00, 0xb2, 0x04, 0xe9, 0x80, 0x09, 0x98, 0xec, 0xf8,
            0x42, 0x7e,
        ];
        assert_eq!(md5_hex(&md5), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(parse_md5_hex("d41d8cd98f00b204e9800998ecf8427e"), Some(md5));
        assert_eq!(parse_md5_hex("d41d8cd98f00b204e9800998ecf8427e-2"), None);
    }
}
