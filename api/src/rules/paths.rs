//! Paths: the rsync destination path inside the volume, and rclone's `bucket/prefix`.

use std::fmt;
use std::net::Ipv4Addr;

/// The longest rsync `path` accepted, Linux's `PATH_MAX`.
const MAX_PATH_BYTES: usize = 4096;
/// The longest prefix accepted: S3 object keys are at most 1024 bytes.
const MAX_PREFIX_BYTES: usize = 1024;
/// Bucket name prefixes that S3 reserves.
const RESERVED_BUCKET_PREFIXES: [&str; 2] = ["xn--", "sthree-"];
/// Bucket name suffixes that S3 reserves.
const RESERVED_BUCKET_SUFFIXES: [&str; 2] = ["-s3alias", "--ol-s3"];

/// A problem with a path. The `Display` is the rule text of a validation message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// An empty rsync path.
    #[error("must not be empty: use \"/\" for the root of the destination volume")]
    EmptyPath,
    /// An rsync path longer than 4096 bytes.
    #[error("must be at most 4096 bytes")]
    PathTooLong,
    /// A path with NUL or another control character.
    #[error("must not contain control characters")]
    ControlCharacter,
    /// A path with a `..` component, which would leave the volume.
    #[error("must not contain \"..\" components: the path must stay inside the volume")]
    ParentComponent,
    /// An rsync path starting with `~`, which a remote shell would expand.
    #[error(
        "must not start with \"~\": write the path from the root of the destination volume, such as \"/backups/app\""
    )]
    HomeDirectory,
    /// An empty `rcloneDestPath`.
    #[error("must not be empty: write bucket or bucket/prefix")]
    EmptyBucketPath,
    /// An `rcloneDestPath` written as `remote:bucket/prefix`.
    #[error(
        "must be bucket or bucket/prefix without a remote: put the remote name in rcloneConfigSection"
    )]
    Remote,
    /// An `rcloneDestPath` starting with `/`.
    #[error("must not start with \"/\": drop the leading \"/\" and write bucket or bucket/prefix")]
    LeadingSlash,
    /// A bucket name that breaks S3's length or character rules.
    #[error(
        "bucket \"{0}\" must be 3 to 63 lower-case letters, digits, \".\" and \"-\", starting and ending with a letter or digit"
    )]
    BucketName(String),
    /// A bucket name with `..`.
    #[error("bucket \"{0}\" must not contain \"..\"")]
    BucketDoubleDot(String),
    /// A bucket name written like an IPv4 address.
    #[error("bucket \"{0}\" must not be written like an IP address")]
    BucketIpAddress(String),
    /// A bucket name with a prefix or suffix that S3 reserves.
    #[error(
        "bucket \"{0}\" must not start with \"xn--\" or \"sthree-\" or end with \"-s3alias\" or \"--ol-s3\": S3 reserves these"
    )]
    BucketReserved(String),
    /// A prefix with an empty segment, as in `a//b`.
    #[error("prefix must not contain empty segments (\"//\")")]
    PrefixEmptySegment,
    /// A prefix with a `.` or `..` segment.
    #[error("prefix must not contain \".\" or \"..\" segments")]
    PrefixDotSegment,
    /// A prefix with NUL or another control character.
    #[error("prefix must not contain control characters")]
    PrefixControlCharacter,
    /// A prefix longer than 1024 bytes, the limit of an S3 key.
    #[error("prefix must be at most 1024 bytes")]
    PrefixTooLong,
}

/// Checks rsync's `path`: where the data goes inside the destination volume.
///
/// A leading `/` is allowed and means the root of the volume; `..` components, control
/// characters, a leading `~` and more than 4096 bytes are refused so the path cannot escape
/// the volume or be reinterpreted by a shell.
pub fn relative_path(s: &str) -> Result<(), PathError> {
    if s.is_empty() {
        return Err(PathError::EmptyPath);
    }
    if s.len() > MAX_PATH_BYTES {
        return Err(PathError::PathTooLong);
    }
    if s.chars().any(char::is_control) {
        return Err(PathError::ControlCharacter);
    }
    if s.starts_with('~') {
        return Err(PathError::HomeDirectory);
    }
    if s.split('/').any(|component| component == "..") {
        return Err(PathError::ParentComponent);
    }
    Ok(())
}

/// rclone's `rcloneDestPath`, written `bucket` or `bucket/prefix`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BucketPath {
    /// The S3 bucket.
    pub bucket: String,
    /// The key prefix inside the bucket, without leading or trailing `/`; empty for the
    /// whole bucket.
    pub prefix: String,
}

impl BucketPath {
    /// Parses `bucket[/prefix]`. The bucket follows S3's naming rules; the prefix has no
    /// empty, `.` or `..` segments, no control characters and at most 1024 bytes. A trailing
    /// `/` is dropped. A leading `/` or a `remote:` is refused with a message naming the fix.
    pub fn parse(s: &str) -> Result<BucketPath, PathError> {
        if s.is_empty() {
            return Err(PathError::EmptyBucketPath);
        }
        let (bucket, prefix) = s.split_once('/').unwrap_or((s, ""));
        if bucket.contains(':') {
            return Err(PathError::Remote);
        }
        if bucket.is_empty() {
            return Err(PathError::LeadingSlash);
        }
        check_bucket(bucket)?;
        if !prefix.is_empty() {
            // Checked after dropping the trailing `/`, so `bucket//` still has an empty segment.
            check_prefix(prefix.strip_suffix('/').unwrap_or(prefix))?;
        }
        let prefix = prefix.strip_suffix('/').unwrap_or(prefix);
        Ok(BucketPath {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }
}

impl fmt::Display for BucketPath {
    /// Writes `bucket` or `bucket/prefix`, the form rclone takes after `remote:`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix.is_empty() {
            f.write_str(&self.bucket)
        } else {
            write!(f, "{}/{}", self.bucket, self.prefix)
        }
    }
}

/// Checks a bucket name against S3's general purpose bucket naming rules.
fn check_bucket(bucket: &str) -> Result<(), PathError> {
    let bytes = bucket.as_bytes();
    let inner_ok = bytes
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-'));
    let edge_ok = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !(3..=63).contains(&bytes.len())
        || !inner_ok
        || !edge_ok(bytes.first())
        || !edge_ok(bytes.last())
    {
        return Err(PathError::BucketName(bucket.to_owned()));
    }
    if bucket.contains("..") {
        return Err(PathError::BucketDoubleDot(bucket.to_owned()));
    }
    if bucket.parse::<Ipv4Addr>().is_ok() {
        return Err(PathError::BucketIpAddress(bucket.to_owned()));
    }
    let reserved = RESERVED_BUCKET_PREFIXES
        .iter()
        .any(|p| bucket.starts_with(p))
        || RESERVED_BUCKET_SUFFIXES.iter().any(|s| bucket.ends_with(s));
    if reserved {
        return Err(PathError::BucketReserved(bucket.to_owned()));
    }
    Ok(())
}

/// Checks the key prefix after the bucket, its trailing `/` already dropped.
fn check_prefix(prefix: &str) -> Result<(), PathError> {
    if prefix.len() > MAX_PREFIX_BYTES {
        return Err(PathError::PrefixTooLong);
    }
    if prefix.chars().any(char::is_control) {
        return Err(PathError::PrefixControlCharacter);
    }
    for segment in prefix.split('/') {
        match segment {
            "" => return Err(PathError::PrefixEmptySegment),
            "." | ".." => return Err(PathError::PrefixDotSegment),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
