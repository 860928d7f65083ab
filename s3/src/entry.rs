//! What the listings yield: local files and symlinks, and S3 objects, each under its
//! relative key (`/`-separated, as the object key below the prefix).

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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Known {
    /// rclone's mtime, nanoseconds since the epoch.
    pub mtime: i64,
    /// MD5 of the content, when known.
    pub md5: Option<[u8; 16]>,
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
