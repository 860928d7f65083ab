//! rclone's object metadata on S3: `X-Amz-Meta-Mtime` as decimal Unix seconds with up to 9
//! fractional digits (trailing zeros trimmed, whole seconds as an integer),
//! `X-Amz-Meta-Md5chksum` as the base64 of the MD5, and the keys of rclone's `--metadata`
//! for local files: `mode` (octal, with the file type bits, e.g. `100644`), `uid`, `gid`
//! (decimal), `atime` and `btime` (RFC 3339 with nanoseconds).

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// User metadata key of the modification time.
pub const MTIME: &str = "mtime";
/// User metadata key of the MD5 (base64).
pub const MD5: &str = "md5chksum";
/// User metadata key of the mode.
pub const MODE: &str = "mode";
/// User metadata key of the owner.
pub const UID: &str = "uid";
/// User metadata key of the group.
pub const GID: &str = "gid";
/// User metadata key of the access time.
pub const ATIME: &str = "atime";
/// User metadata key of the birth time.
pub const BTIME: &str = "btime";

/// What Ferry records about a file in an object's user metadata.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileMeta {
    /// Modification time, nanoseconds since the epoch.
    pub mtime: Option<i64>,
    /// MD5 of the content.
    pub md5: Option<[u8; 16]>,
    /// `st_mode`, file type bits included.
    pub mode: Option<u32>,
    /// Owner.
    pub uid: Option<u32>,
    /// Group.
    pub gid: Option<u32>,
    /// Access time, nanoseconds since the epoch.
    pub atime: Option<i64>,
    /// Birth time, nanoseconds since the epoch.
    pub btime: Option<i64>,
}

impl FileMeta {
    /// The user metadata map (keys without `x-amz-meta-`). `with_md5` adds `md5chksum`,
    /// which rclone writes on multipart uploads.
    pub fn to_user_metadata(&self, with_md5: bool) -> HashMap<String, String> {
        let mut map = HashMap::new();
        if let Some(mtime) = self.mtime {
            map.insert(MTIME.to_owned(), format_mtime(mtime));
        }
        if let (true, Some(md5)) = (with_md5, self.md5) {
            map.insert(MD5.to_owned(), STANDARD.encode(md5));
        }
        if let Some(mode) = self.mode {
            map.insert(MODE.to_owned(), format!("{mode:o}"));
        }
        if let Some(uid) = self.uid {
            map.insert(UID.to_owned(), uid.to_string());
        }
        if let Some(gid) = self.gid {
            map.insert(GID.to_owned(), gid.to_string());
        }
        for (key, value) in [(ATIME, self.atime), (BTIME, self.btime)] {
            if let Some(text) = value.and_then(format_rfc3339) {
                map.insert(key.to_owned(), text);
            }
        }
        map
    }

    /// Reads the user metadata of an object (S3 returns keys in lower case). Values that do
    /// not parse are ignored, as rclone does.
    pub fn from_user_metadata(map: Option<&HashMap<String, String>>) -> FileMeta {
        let Some(map) = map else {
            return FileMeta::default();
        };
        let get = |key: &str| map.get(key).map(|v| v.trim());
        FileMeta {
            mtime: get(MTIME).and_then(parse_mtime),
            md5: get(MD5).and_then(|v| STANDARD.decode(v).ok()?.try_into().ok()),
            mode: get(MODE).and_then(|v| u32::from_str_radix(v, 8).ok()),
            uid: get(UID).and_then(|v| v.parse().ok()),
            gid: get(GID).and_then(|v| v.parse().ok()),
            atime: get(ATIME).and_then(parse_rfc3339),
            btime: get(BTIME).and_then(parse_rfc3339),
        }
    }
}

/// rclone's mtime text: `1700000000`, `1700000000.5`, `1700000000.123456789`.
pub fn format_mtime(ns: i64) -> String {
    if ns < 0 {
        return format!("-{}", format_mtime(ns.saturating_neg()));
    }
    let (secs, frac) = (ns / 1_000_000_000, ns % 1_000_000_000);
    if frac == 0 {
        return secs.to_string();
    }
    let digits = format!("{frac:09}");
    format!("{secs}.{}", digits.trim_end_matches('0'))
}

/// Parses rclone's mtime text exactly (no float rounding); more than 9 fractional digits
/// are truncated, as rclone does.
pub fn parse_mtime(text: &str) -> Option<i64> {
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac = &frac[..frac.len().min(9)];
    let frac_ns: i64 = format!("{frac:0<9}").parse().ok()?;
    let ns = whole
        .parse::<i64>()
        .ok()?
        .checked_mul(1_000_000_000)?
        .checked_add(frac_ns)?;
    Some(if negative { -ns } else { ns })
}

/// RFC 3339 in UTC with up to 9 fractional digits, as Go's `time.RFC3339Nano`.
pub fn format_rfc3339(ns: i64) -> Option<String> {
    jiff::Timestamp::from_nanosecond(i128::from(ns))
        .ok()
        .map(|t| t.to_string())
}

/// Parses RFC 3339 (any offset) into nanoseconds since the epoch.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let t: jiff::Timestamp = text.parse().ok()?;
    i64::try_from(t.as_nanosecond()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mtime_text_is_rclones() {
        let cases = [
            (1_700_000_000_000_000_000, "1700000000"),
            (1_700_000_000_500_000_000, "1700000000.5"),
            (1_700_000_000_123_456_789, "1700000000.123456789"),
            (1_700_000_000_000_000_010, "1700000000.00000001"),
            (0, "0"),
            (-1_500_000_000, "-1.5"),
        ];
        for (ns, text) in cases {
            assert_eq!(format_mtime(ns), text);
            assert_eq!(parse_mtime(text), Some(ns), "{text}");
        }
        assert_eq!(parse_mtime("1.1234567891"), Some(1_123_456_789));
        assert_eq!(parse_mtime("1e9"), None);
        assert_eq!(parse_mtime(""), None);
        assert_eq!(parse_mtime(".5"), None);
    }

    #[test]
    fn metadata_round_trips_in_rclones_keys() {
        let meta = FileMeta {
            mtime: Some(1_700_000_000_250_000_000),
            md5: Some([7; 16]),
            mode: Some(0o100600),
            uid: Some(1000),
            gid: Some(100),
            atime: Some(1_700_000_001_000_000_001),
            btime: None,
        };
        let map = meta.to_user_metadata(true);
        assert_eq!(map["mtime"], "1700000000.25");
        assert_eq!(map["mode"], "100600");
        assert_eq!(map["uid"], "1000");
        assert_eq!(map["md5chksum"], "BwcHBwcHBwcHBwcHBwcHBw==");
        assert_eq!(map["atime"], "2023-11-14T22:13:21.000000001Z");
        assert_eq!(FileMeta::from_user_metadata(Some(&map)), meta);
        assert!(!meta.to_user_metadata(false).contains_key("md5chksum"));
    }
}
