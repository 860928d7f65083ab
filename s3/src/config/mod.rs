//! Where an S3 remote's settings come from: a section of an rclone.conf ([`rclone`]) or the
//! env-style keys of object bucket claims ([`env`]). Both produce one [`S3Config`], which
//! remembers its origin so that every error names the setting the user has to fix.

pub mod env;
pub mod ini;
pub mod rclone;
pub mod suggest;

use std::fmt;
use std::path::PathBuf;

/// A secret value: never printed, not even by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the request signer only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// How requests are signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// Keys given in the configuration.
    Static {
        /// `access_key_id` / `AWS_ACCESS_KEY_ID`.
        access_key_id: String,
        /// `secret_access_key` / `AWS_SECRET_ACCESS_KEY`.
        secret_access_key: Secret,
        /// `session_token` / `AWS_SESSION_TOKEN`.
        session_token: Option<Secret>,
    },
    /// The AWS credential chain of the environment (`env_auth = true`): environment
    /// variables, web identity (IRSA), shared files, instance metadata.
    Environment,
    /// Unsigned requests (rclone's behaviour when no keys are given).
    Anonymous,
}

/// Where the settings were read from, to name them in messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A section of an rclone.conf.
    File {
        /// The file.
        path: PathBuf,
        /// The section (remote) name.
        section: String,
    },
    /// Environment variables (`--env-config`).
    Env,
}

/// A setting, named in messages according to its [`Origin`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    /// The access key and secret.
    Keys,
    /// The endpoint (`endpoint` / `BUCKET_HOST`+`BUCKET_PORT`).
    Endpoint,
    /// The region.
    Region,
    /// The CA bundle.
    CaBundle,
}

/// The settings of one S3 remote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Config {
    /// Where they came from.
    pub origin: Origin,
    /// `provider` (informational; rclone uses it for quirks).
    pub provider: Option<String>,
    /// How to sign requests.
    pub credentials: Credentials,
    /// `region`; `us-east-1` when not given, as rclone.
    pub region: String,
    /// `endpoint` as a URL; `None` for AWS itself.
    pub endpoint: Option<String>,
    /// `force_path_style` (rclone's default: true).
    pub force_path_style: bool,
    /// `acl`: canned ACL for new objects.
    pub acl: Option<String>,
    /// `server_side_encryption`: `AES256` or `aws:kms`.
    pub server_side_encryption: Option<String>,
    /// `storage_class` for new objects.
    pub storage_class: Option<String>,
    /// `no_check_bucket`: skip the bucket check before a sync.
    pub no_check_bucket: bool,
    /// A PEM CA bundle to trust in addition to the system roots.
    pub ca_bundle: Option<PathBuf>,
    /// The bucket, when the configuration fixes it (`BUCKET_NAME`); remote paths are then
    /// prefixes inside it.
    pub bucket: Option<String>,
    /// rclone's `object_lock_*` keys: the lock of every object a push writes.
    pub object_lock: Option<crate::lock::Lock>,
}

impl S3Config {
    /// The settings with rclone's defaults, for `origin`.
    pub fn new(origin: Origin) -> S3Config {
        S3Config {
            origin,
            provider: None,
            credentials: Credentials::Anonymous,
            region: String::from("us-east-1"),
            endpoint: None,
            force_path_style: true,
            acl: None,
            server_side_encryption: None,
            storage_class: None,
            no_check_bucket: false,
            ca_bundle: None,
            bucket: None,
            object_lock: None,
        }
    }

    /// How `setting` is spelt where these settings came from, e.g.
    /// `access_key_id/secret_access_key in [minio] of /etc/rclone.conf`.
    pub fn name(&self, setting: Setting) -> String {
        match &self.origin {
            Origin::File { path, section } => {
                let key = match setting {
                    Setting::Keys => match self.credentials {
                        Credentials::Environment => "env_auth (AWS_* environment variables)",
                        _ => "access_key_id/secret_access_key",
                    },
                    Setting::Endpoint => "endpoint",
                    Setting::Region => "region",
                    Setting::CaBundle => return String::from("--ca-cert / AWS_CA_BUNDLE"),
                };
                format!("{key} in [{section}] of {}", path.display())
            }
            Origin::Env => String::from(match setting {
                Setting::Keys => "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
                Setting::Endpoint => "BUCKET_HOST/BUCKET_PORT/TLS_HOST",
                Setting::Region => "AWS_REGION",
                Setting::CaBundle => "--ca-cert / AWS_CA_BUNDLE",
            }),
        }
    }

    /// Whether ETags of single-part uploads are MD5s (not with KMS encryption).
    pub fn etag_is_md5(&self) -> bool {
        !matches!(self.server_side_encryption.as_deref(), Some(s) if s.starts_with("aws:kms"))
    }
}
