//! One end of a sync on S3: client, bucket, prefix and the settings, plus the mapping of SDK
//! errors to [`Error`]s that name what to fix.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

use super::config::rclone::CryptSection;
use super::config::{S3Config, Setting};
use super::crypt::Crypt;
use super::error::{Class, Error, Result};
use super::requests::Requests;

/// A bucket and prefix on a configured S3 server.
#[derive(Clone, Debug)]
pub struct Remote {
    /// The client.
    pub client: Client,
    /// The bucket.
    pub bucket: String,
    /// The key prefix without leading or trailing `/`; empty for the whole bucket.
    pub prefix: String,
    /// The settings.
    pub config: Arc<S3Config>,
    /// The command-line argument, for messages (e.g. `DST "minio:bucket/x"`).
    pub arg: String,
    /// The crypt layer when the remote is an rclone crypt remote: relative keys and sizes
    /// are then plaintext, and `prefix` is stored (encrypted) form.
    pub crypt: Option<Arc<Crypt>>,
    /// The requests sent to the server so far, by kind (shared by every clone).
    pub requests: Arc<Requests>,
}

impl Remote {
    /// Connects to the remote that `path` (what follows `remote:` in `arg`) names under
    /// `config`, or under the crypt remote `crypt` over it. `which` is `SRC`, `DST` or the
    /// CR field, for messages.
    pub async fn open(
        config: S3Config,
        crypt: Option<CryptSection>,
        which: &str,
        path: &str,
        arg: String,
    ) -> Result<Remote> {
        let (full, crypt) = match crypt {
            None => (path.to_owned(), None),
            Some(section) => {
                let under = section.path.trim_matches('/');
                if under.is_empty() && config.bucket.is_none() {
                    return Err(Error::config(
                        section.setting,
                        "names no bucket",
                        "write <s3 section>:<bucket> or <s3 section>:<bucket>/<path>",
                    ));
                }
                let root = super::location::resolve(which, under, &config)?.prefix;
                let crypt = Crypt::new(&section, &root)?;
                let inside = path.trim_matches('/');
                let full = match inside.is_empty() {
                    true => under.to_owned(),
                    false => format!("{under}/{}", crypt.stored_dir(inside)?),
                };
                (full, Some(Arc::new(crypt)))
            }
        };
        let place = super::location::resolve(which, &full, &config)?;
        let requests = Arc::new(Requests::default());
        let client = super::client::build(&config, Arc::clone(&requests)).await?;
        Ok(Remote {
            requests,
            client,
            bucket: place.bucket,
            prefix: place.prefix,
            config: Arc::new(config),
            arg,
            crypt,
        })
    }

    /// The full key of the relative path `rel` (encrypted through crypt; see
    /// [`Remote::try_key`]).
    pub fn key(&self, rel: &str) -> String {
        // A name too long to encrypt is refused before its upload (`try_key`); any other
        // relative key came from a listing, so it encrypts. Should one not, the empty key
        // fails the request rather than touch another object or store a plaintext name.
        self.try_key(rel).unwrap_or_default()
    }

    /// The full key of the relative path `rel`, or why crypt cannot store that name.
    pub fn try_key(&self, rel: &str) -> Result<String> {
        let stored = match &self.crypt {
            Some(crypt) => crypt.stored_key(rel)?,
            None => rel.to_owned(),
        };
        Ok(if self.prefix.is_empty() {
            stored
        } else {
            format!("{}/{stored}", self.prefix)
        })
    }

    /// The prefix to list, with its trailing `/`.
    pub fn list_prefix(&self) -> String {
        if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        }
    }

    /// The same bucket under another prefix.
    pub fn with_prefix(&self, prefix: String) -> Remote {
        Remote {
            prefix,
            ..self.clone()
        }
    }

    /// Checks, quickly and with few retries, that the endpoint answers, the credentials are
    /// accepted and the bucket exists, so that bad settings fail in seconds.
    pub async fn preflight(&self) -> Result<()> {
        let quick = aws_sdk_s3::config::Builder::new()
            .retry_config(RetryConfig::standard().with_max_attempts(2))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_timeout(Duration::from_secs(10))
                    .build(),
            );
        let result = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(self.list_prefix())
            .max_keys(1)
            .customize()
            .config_override(quick)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => Err(match self.error("ListObjectsV2", &self.bucket, e) {
                Error::Request {
                    class: Class::Connection,
                    message,
                    source,
                    ..
                } if message.contains("certificate") => Error::Config {
                    setting: self.config.name(Setting::CaBundle),
                    problem: format!(
                        "the TLS certificate of {} is not trusted ({message})",
                        self.config.endpoint.as_deref().unwrap_or("the endpoint")
                    ),
                    fix: String::from(
                        "give the CA bundle that signed it, or use the host name the certificate names",
                    ),
                    source: Some(source),
                },
                Error::Request {
                    class: Class::Connection | Class::Timeout,
                    message,
                    source,
                    ..
                } => Error::Unreachable {
                    setting: self.config.name(Setting::Endpoint),
                    endpoint: self
                        .config
                        .endpoint
                        .clone()
                        .unwrap_or_else(|| String::from("AWS S3")),
                    reason: message,
                    source,
                },
                Error::Request {
                    class: Class::NotFound | Class::Client(_) | Class::Construction,
                    message,
                    source,
                    ..
                } => Error::Config {
                    setting: self.config.name(Setting::Endpoint),
                    problem: format!("listing bucket \"{}\" failed: {message}", self.bucket),
                    fix: String::from(
                        "check that it is the S3 API endpoint (not a console) and the bucket name",
                    ),
                    source: Some(source),
                },
                other => other,
            }),
        }
    }

    /// One HEAD of the object at full key `key`, its error named for `key`: the request the
    /// engine's HEAD, the push mark, the lock read and the multipart upload's check after a
    /// lost answer share (each with its own retries).
    pub async fn head_object(
        &self,
        key: &str,
    ) -> Result<aws_sdk_s3::operation::head_object::HeadObjectOutput> {
        self.client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| self.error("HeadObject", key, e))
    }

    /// Maps an SDK error of `op` on `key` to an [`Error`], recognising refused credentials
    /// and missing buckets.
    pub fn error<E>(&self, op: &'static str, key: &str, err: SdkError<E, HttpResponse>) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let status = err.raw_response().map(|r| r.status().as_u16());
        let code = err.code().map(str::to_owned);
        let class = match (&err, status) {
            (SdkError::TimeoutError(_), _) => Class::Timeout,
            (SdkError::DispatchFailure(d), _) if d.is_timeout() => Class::Timeout,
            (SdkError::DispatchFailure(d), _) if d.is_io() || d.is_other() => Class::Connection,
            (SdkError::ResponseError(_), _) => Class::Connection,
            (SdkError::ConstructionFailure(_) | SdkError::DispatchFailure(_), _) => {
                Class::Construction
            }
            (_, Some(429 | 503)) => Class::Throttled,
            (_, Some(s)) if s >= 500 => Class::Server,
            (_, _) if code.as_deref() == Some("NoSuchUpload") => Class::NoSuchUpload,
            (_, Some(404)) if code.as_deref() != Some("NoSuchBucket") => Class::NotFound,
            (_, _)
                if matches!(
                    code.as_deref(),
                    Some("RequestTimeout" | "RequestTimeTooSkewed")
                ) =>
            {
                Class::Timeout
            }
            (_, _)
                if matches!(
                    code.as_deref(),
                    Some("SlowDown" | "Throttling" | "ThrottlingException")
                ) =>
            {
                Class::Throttled
            }
            (_, s) => Class::Client(s.unwrap_or(0)),
        };
        let auth_codes = [
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
            "AccessDenied",
            "InvalidToken",
            "ExpiredToken",
            "InvalidSecurity",
        ];
        match code.as_deref() {
            Some(c) if auth_codes.contains(&c) || (status == Some(403) && c.is_empty()) => {
                return Error::Auth {
                    setting: self.config.name(Setting::Keys),
                    code: c.to_owned(),
                    source: Box::new(err),
                };
            }
            Some("NoSuchBucket") => {
                return Error::NoSuchBucket {
                    bucket: self.bucket.clone(),
                    setting: self.arg.clone(),
                    source: Box::new(err),
                };
            }
            // MinIO keeps each `/`-separated part of a key as a file name on its disks,
            // so it refuses parts over 255 bytes, and a directory marker's part gains 9
            // bytes there (a symlink's gains `.rclonelink` everywhere). AWS S3 refuses
            // keys over 1,024 bytes.
            Some("XMinioInvalidObjectName" | "KeyTooLongError") => {
                return Error::Unsupported {
                    key: key.to_owned(),
                    problem: format!(
                        "the server refuses this key ({}): it takes at most 1,024 bytes in all, and MinIO at most 255 bytes per path part, less 9 for a directory and 11 for a symlink; shorten the name",
                        code.as_deref().unwrap_or_default()
                    ),
                };
            }
            Some("AuthorizationHeaderMalformed" | "InvalidRegion") => {
                return Error::Config {
                    setting: self.config.name(Setting::Region),
                    problem: format!("the server refused the region \"{}\"", self.config.region),
                    fix: String::from("set the bucket's region"),
                    source: Some(Box::new(err)),
                };
            }
            _ => {}
        }
        if status == Some(403) {
            return Error::Auth {
                setting: self.config.name(Setting::Keys),
                code: String::from("403 Forbidden"),
                source: Box::new(err),
            };
        }
        let message = match (&code, err.message()) {
            (Some(code), Some(m)) => format!("{code}: {m}"),
            (Some(code), None) => code.clone(),
            _ => root_cause(&err),
        };
        Error::Request {
            op,
            key: key.to_owned(),
            class,
            message,
            source: Box::new(err),
        }
    }
}

/// The innermost cause of an error, on one line (e.g. `Connection refused (os error 111)`).
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current = err;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string().replace('\n', " ")
}
