//! The two ends of a sync, written as rclone writes them: a local path, or
//! `remote:bucket/prefix` where `remote` names an rclone.conf section.

use std::fmt;
use std::path::PathBuf;

use ferry_api::rules::paths::BucketPath;

use super::config::S3Config;
use super::error::{Error, Result};

/// One end of a sync, as given on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A local directory.
    Local(PathBuf),
    /// A path on a configured remote.
    Remote {
        /// The remote (rclone.conf section) name.
        remote: String,
        /// What follows the `:`: `bucket/prefix`, or a prefix when the configuration fixes
        /// the bucket.
        path: String,
    },
}

impl Location {
    /// Reads `arg` as rclone does: `name:path` is a remote when `name` is a valid remote name
    /// (letters, digits, `_ - . + @` and spaces, not starting with `-` or a space); anything
    /// else, and anything starting with `/` or `.`, is a local path.
    pub fn parse(arg: &str) -> Location {
        if arg.starts_with('/') || arg.starts_with('.') {
            return Location::Local(PathBuf::from(arg));
        }
        match arg.split_once(':') {
            Some((name, path)) if is_remote_name(name) => Location::Remote {
                remote: name.to_owned(),
                path: path.to_owned(),
            },
            _ => Location::Local(PathBuf::from(arg)),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(path) => write!(f, "{}", path.display()),
            Location::Remote { remote, path } => write!(f, "{remote}:{path}"),
        }
    }
}

/// Whether `name` can name an rclone remote.
fn is_remote_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(['-', ' '])
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '+' | '@' | ' '))
}

/// The bucket and prefix a remote path stands for under `config`. `arg` is the argument
/// (`SRC` or `DST`) for messages.
pub fn resolve(arg: &str, path: &str, config: &S3Config) -> Result<BucketPath> {
    let full = match &config.bucket {
        Some(bucket) if path.trim_matches('/').is_empty() => bucket.clone(),
        Some(bucket) => format!("{bucket}/{}", path.trim_start_matches('/')),
        None => path.to_owned(),
    };
    BucketPath::parse(&full).map_err(|e| {
        let fix = if config.bucket.is_some() {
            "write remote:prefix (BUCKET_NAME gives the bucket)"
        } else {
            "write remote:bucket or remote:bucket/prefix"
        };
        Error::config(format!("{arg} \"{path}\""), e.to_string(), fix)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Origin;

    #[test]
    fn tells_remotes_from_local_paths() {
        let remote = |r: &str, p: &str| Location::Remote {
            remote: r.into(),
            path: p.into(),
        };
        assert_eq!(
            Location::parse("minio:bucket/a/b"),
            remote("minio", "bucket/a/b")
        );
        assert_eq!(Location::parse("my remote:b"), remote("my remote", "b"));
        assert_eq!(Location::parse("s3:"), remote("s3", ""));
        assert_eq!(
            Location::parse("/data/x:y"),
            Location::Local("/data/x:y".into())
        );
        assert_eq!(Location::parse("./a:b"), Location::Local("./a:b".into()));
        assert_eq!(
            Location::parse("dir/a:b"),
            Location::Local("dir/a:b".into())
        );
        assert_eq!(Location::parse("data"), Location::Local("data".into()));
    }

    #[test]
    fn resolves_buckets_and_prefixes() {
        let mut config = S3Config::new(Origin::Env);
        let bp = resolve("DST", "bucket/a/b/", &config).unwrap();
        assert_eq!((bp.bucket.as_str(), bp.prefix.as_str()), ("bucket", "a/b"));
        assert!(resolve("DST", "", &config).is_err());
        config.bucket = Some("fixed".into());
        let bp = resolve("DST", "backups", &config).unwrap();
        assert_eq!(
            (bp.bucket.as_str(), bp.prefix.as_str()),
            ("fixed", "backups")
        );
        let bp = resolve("DST", "", &config).unwrap();
        assert_eq!((bp.bucket.as_str(), bp.prefix.as_str()), ("fixed", ""));
    }
}
