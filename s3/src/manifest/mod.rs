//! The manifest: an object beside the synced prefix (`<prefix>.ferry-manifest`, or
//! `.ferry-manifest` at a bucket's root) that records, per object, what a listing does not
//! say: rclone's mtime and the MD5. With it an unchanged object costs no HEAD.
//!
//! It is JSON lines in key order (a header line, then one line per object), read as a
//! stream beside the listing and written as a stream, so neither needs memory in
//! proportion to the tree. A line is trusted only while the listing's size and ETag agree
//! with it (and, once recorded, the listing's `LastModified`, which catches metadata-only
//! rewrites such as rclone's mtime updates); anything else falls back to a HEAD.

pub mod in_progress;
pub mod reader;
pub mod writer;

use serde::{Deserialize, Serialize};

use super::entry::{DirMeta, Known, RemoteEntry, md5_hex, parse_md5_hex};
use super::remote::Remote;

/// The version written in the header line.
pub const VERSION: u32 = 1;
/// The manifest's name suffix.
pub const SUFFIX: &str = ".ferry-manifest";

/// The header line.
#[derive(Debug, Serialize, Deserialize)]
pub struct Header {
    /// Format version.
    pub ferry_manifest: u32,
}

/// One object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// Relative key.
    #[serde(rename = "k")]
    pub key: String,
    /// Size in bytes.
    #[serde(rename = "s")]
    pub size: u64,
    /// rclone's mtime in nanoseconds.
    #[serde(rename = "m")]
    pub mtime: i64,
    /// MD5, hex.
    #[serde(rename = "h", default, skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
    /// ETag, quotes included.
    #[serde(rename = "e")]
    pub etag: String,
    /// The listing's `LastModified` (ms) once seen; absent right after an upload.
    #[serde(rename = "l", default, skip_serializing_if = "Option::is_none")]
    pub listed_ms: Option<i64>,
    /// A directory marker's mode and owner.
    #[serde(rename = "d", default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<DirMeta>,
}

impl Line {
    /// A line for an object with `known` facts, as listed in `entry`.
    pub fn listed(entry: &RemoteEntry, known: Known) -> Line {
        Line {
            key: entry.key.clone(),
            size: entry.size,
            mtime: known.mtime,
            md5: known.md5.as_ref().map(md5_hex),
            etag: entry.etag.clone(),
            listed_ms: Some(entry.last_modified_ms),
            dir: known.dir,
        }
    }

    /// What this line says about `entry`, if it may be trusted for it.
    pub fn trusted_for(&self, entry: &RemoteEntry) -> Option<Known> {
        let agrees = self.key == entry.key
            && self.size == entry.size
            && self.etag == entry.etag
            && self.listed_ms.is_none_or(|ms| ms == entry.last_modified_ms);
        agrees.then(|| Known {
            mtime: self.mtime,
            md5: self.md5.as_deref().and_then(parse_md5_hex),
            dir: self.dir,
        })
    }
}

/// The manifest object's key for `remote` (its prefix, or the bucket root).
pub fn key(remote: &Remote) -> String {
    if remote.prefix.is_empty() {
        SUFFIX.to_owned()
    } else {
        format!("{}{SUFFIX}", remote.prefix)
    }
}

/// The relative keys Ferry's own objects (the manifest and the push-in-progress mark)
/// have inside the listing of `remote`, if they are inside it (only at a bucket's root),
/// so that the listing skips them.
pub fn inside_listing(remote: &Remote) -> &'static [&'static str] {
    match remote.prefix.is_empty() {
        true => &[SUFFIX, in_progress::SUFFIX],
        false => &[],
    }
}

/// Whether `key` is one of Ferry's own objects beside a prefix (a manifest or a
/// push-in-progress mark), not data.
pub fn is_ferry_key(key: &str) -> bool {
    key.ends_with(SUFFIX) || key.ends_with(in_progress::SUFFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(etag: &str, ms: i64) -> RemoteEntry {
        RemoteEntry {
            key: "a".into(),
            size: 3,
            etag: etag.into(),
            last_modified_ms: ms,
            known: None,
        }
    }

    #[test]
    fn trusted_only_when_the_listing_agrees() {
        let line = Line {
            key: "a".into(),
            size: 3,
            mtime: 5,
            md5: None,
            etag: "\"x\"".into(),
            listed_ms: None,
            dir: None,
        };
        assert_eq!(
            line.trusted_for(&entry("\"x\"", 9)),
            Some(Known {
                mtime: 5,
                md5: None,
                dir: None,
            })
        );
        assert_eq!(line.trusted_for(&entry("\"y\"", 9)), None);
        let seen = Line {
            listed_ms: Some(9),
            ..line.clone()
        };
        assert!(seen.trusted_for(&entry("\"x\"", 9)).is_some());
        assert_eq!(seen.trusted_for(&entry("\"x\"", 10)), None);
        let json = serde_json::to_string(&seen).unwrap();
        assert_eq!(json, r#"{"k":"a","s":3,"m":5,"e":"\"x\"","l":9}"#);
        let dir = Line {
            key: "a/".into(),
            dir: Some(DirMeta {
                mode: Some(0o40700),
                uid: Some(1000),
                gid: None,
            }),
            ..seen
        };
        let json = serde_json::to_string(&dir).unwrap();
        assert_eq!(
            json,
            r#"{"k":"a/","s":3,"m":5,"e":"\"x\"","l":9,"d":{"o":16832,"u":1000}}"#
        );
        assert_eq!(serde_json::from_str::<Line>(&json).unwrap(), dir);
    }
}
