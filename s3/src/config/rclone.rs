//! An S3 remote from a section of an rclone.conf.

use std::path::Path;

use super::ini::{self, Entry};
use super::{Credentials, Origin, S3Config, Secret, suggest};
use crate::error::{Error, Result};
use crate::location::Location;
use crate::lock::{Lock, Mode, parse_retention};

/// The keys Ferry reads.
const USED: &[&str] = &[
    "type",
    "provider",
    "env_auth",
    "access_key_id",
    "secret_access_key",
    "session_token",
    "region",
    "endpoint",
    "force_path_style",
    "location_constraint",
    "acl",
    "server_side_encryption",
    "storage_class",
    "no_check_bucket",
    "object_lock_mode",
    "object_lock_retain_until_date",
    "object_lock_legal_hold_status",
];

/// rclone S3 keys Ferry accepts and ignores (with a warning), so that an rclone user's file
/// works unchanged.
const IGNORED: &[&str] = &[
    "description",
    "bucket_acl",
    "requester_pays",
    "sse_customer_algorithm",
    "sse_customer_key",
    "sse_customer_key_base64",
    "sse_customer_key_md5",
    "sse_kms_key_id",
    "upload_cutoff",
    "chunk_size",
    "max_upload_parts",
    "copy_cutoff",
    "disable_checksum",
    "shared_credentials_file",
    "profile",
    "role_arn",
    "role_external_id",
    "role_session_duration",
    "role_session_name",
    "upload_concurrency",
    "v2_auth",
    "use_dual_stack",
    "use_accelerate_endpoint",
    "use_arn_region",
    "leave_parts_on_error",
    "list_chunk",
    "list_version",
    "list_url_encode",
    "no_head",
    "no_head_object",
    "encoding",
    "memory_pool_flush_time",
    "memory_pool_use_mmap",
    "disable_http2",
    "download_url",
    "directory_markers",
    "use_multipart_etag",
    "use_presigned_request",
    "versions",
    "version_at",
    "version_deleted",
    "decompress",
    "might_gzip",
    "use_accept_encoding_gzip",
    "no_system_metadata",
    "sts_endpoint",
    "use_already_exists",
    "use_multipart_uploads",
    "use_unsigned_payload",
    "use_x_id",
    "sign_accept_encoding",
    "directory_bucket",
    "sdk_log_mode",
    "use_data_integrity_protections",
    "ibm_api_key",
    "ibm_resource_instance_id",
    "ibm_iam_endpoint",
    "bucket_object_lock_enabled",
    "object_lock_set_after_upload",
    "object_lock_supported",
    "bypass_governance_retention",
];

/// Reads section `section` of the rclone.conf at `path`, an S3 or a crypt remote.
pub fn load_section(path: &Path, section: &str) -> Result<Section> {
    section_from_text(&read(path)?, path, section)
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::Config {
        setting: format!("--config {}", path.display()),
        problem: format!("cannot read it: {e}"),
        fix: String::from("mount the rclone.conf there or fix the path"),
        source: Some(Box::new(e)),
    })
}

/// What a section of an rclone.conf stands for: an S3 remote, or a crypt remote over one.
#[derive(Debug)]
pub struct Section {
    /// The S3 remote (for a crypt section, the one its `remote` names).
    pub s3: S3Config,
    /// The crypt layer, for a `type = crypt` section.
    pub crypt: Option<CryptSection>,
    /// Keys Ferry accepts and ignores, in either section.
    pub warnings: Vec<String>,
}

/// A `type = crypt` section and where its `remote` points on the S3 remote.
#[derive(Debug)]
pub struct CryptSection {
    /// The typed crypt settings.
    pub config: ferry_crypt::CryptConfig,
    /// What follows the `:` of its `remote` (`bucket/path`).
    pub path: String,
    /// `remote in [section] of FILE`, for messages about that path.
    pub setting: String,
    /// The rclone.conf, for messages.
    pub file: String,
}

/// Parses `text` (the contents of `path`) and reads section `section`: a `type = s3`
/// section, or a `type = crypt` one whose `remote` names an S3 section of the same file.
pub fn section_from_text(text: &str, path: &Path, section: &str) -> Result<Section> {
    let sections = ini::parse(text).ok();
    let found = sections
        .iter()
        .flatten()
        .find(|s| s.name == section)
        .filter(|s| {
            s.entries
                .iter()
                .any(|e| e.key == "type" && e.value == "crypt")
        });
    let Some(found) = found else {
        // Not a crypt section: the S3 parser reads it and says what is wrong.
        let (s3, warnings) = from_text(text, path, section)?;
        return Ok(Section {
            s3,
            crypt: None,
            warnings,
        });
    };
    let file = path.display().to_string();
    let settings = found.entries.iter().map(|e| ferry_crypt::Setting {
        key: &e.key,
        value: &e.value,
        line: Some(e.line),
    });
    let (config, mut warnings) =
        ferry_crypt::CryptConfig::from_section(section, &file, settings).map_err(crypt_error)?;
    let setting = format!("remote in [{section}] of {file}");
    let (inner, under) = match Location::parse(&config.remote) {
        Location::Remote { remote, path } => (remote, path),
        Location::Local(_) => {
            return Err(Error::config(
                setting,
                format!("\"{}\" is a local path", config.remote),
                "Ferry syncs crypt remotes over S3: set it to <s3 section>:<bucket>/<path>",
            ));
        }
    };
    let nested = sections
        .iter()
        .flatten()
        .find(|s| s.name == inner)
        .is_some_and(|s| {
            s.entries
                .iter()
                .any(|e| e.key == "type" && e.value == "crypt")
        });
    if nested {
        return Err(Error::config(
            setting,
            format!("names [{inner}], another crypt remote"),
            "point it at the S3 section itself: Ferry does not stack crypt remotes",
        ));
    }
    let (s3, more) = from_text(text, path, &inner)?;
    warnings.extend(more);
    Ok(Section {
        s3,
        crypt: Some(CryptSection {
            config,
            path: under,
            setting,
            file,
        }),
        warnings,
    })
}

/// A crypt setting error as the engine's, naming the same setting and fix.
pub fn crypt_error(e: ferry_crypt::Error) -> Error {
    match e {
        ferry_crypt::Error::Config {
            setting,
            problem,
            fix,
        } => Error::config(setting, problem, fix),
        other => Error::config(
            "the crypt remote",
            other.to_string(),
            "check its password settings",
        ),
    }
}

/// Parses `text` (the contents of `path`) and reads section `section`.
pub fn from_text(text: &str, path: &Path, section: &str) -> Result<(S3Config, Vec<String>)> {
    let file = format!("--config {}", path.display());
    if text.trim_start().starts_with("RCLONE_ENCRYPT_") {
        return Err(Error::config(
            file,
            "the file is encrypted",
            "store the decrypted config (rclone config show) instead",
        ));
    }
    let sections = ini::parse(text).map_err(|e| {
        Error::config(
            &file,
            e.to_string(),
            "write [remote] headers and key = value lines",
        )
    })?;
    let Some(found) = sections.iter().find(|s| s.name == section) else {
        let names: Vec<&str> = sections.iter().map(|s| s.name.as_str()).collect();
        let fix = match suggest::closest(section, &names) {
            Some(near) => {
                format!("did you mean \"{near}:\"? Or add a [{section}] section with type = s3")
            }
            None if names.is_empty() => format!("add a [{section}] section with type = s3"),
            None => format!(
                "add a [{section}] section with type = s3, or use one of: {}",
                names.join(", ")
            ),
        };
        return Err(Error::config(
            format!("remote \"{section}:\""),
            format!("there is no [{section}] section in {}", path.display()),
            fix,
        ));
    };
    let at = |e: &Entry| {
        format!(
            "{} in [{section}] of {} (line {})",
            e.key,
            path.display(),
            e.line
        )
    };
    let mut config = S3Config::new(Origin::File {
        path: path.to_owned(),
        section: section.to_owned(),
    });
    let mut warnings = Vec::new();
    let mut kind = None;
    let (mut env_auth, mut key_id, mut secret, mut token) = (false, None, None, None);
    let mut lock = LockKeys::default();
    for entry in &found.entries {
        let value = || (!entry.value.is_empty()).then(|| entry.value.clone());
        match entry.key.as_str() {
            "type" => kind = Some(entry),
            "provider" => config.provider = value(),
            "env_auth" => env_auth = boolean(entry, &at)?,
            "access_key_id" => key_id = value(),
            "secret_access_key" => secret = value().map(Secret::new),
            "session_token" => token = value().map(Secret::new),
            "region" => config.region = value().unwrap_or_else(|| String::from("us-east-1")),
            "endpoint" => {
                config.endpoint = value().map(|v| endpoint(&v, entry, &at)).transpose()?
            }
            "force_path_style" => config.force_path_style = boolean(entry, &at)?,
            "location_constraint" => {}
            "acl" => config.acl = value(),
            "server_side_encryption" => config.server_side_encryption = value(),
            "storage_class" => config.storage_class = value(),
            "no_check_bucket" => config.no_check_bucket = boolean(entry, &at)?,
            "object_lock_mode" => lock.mode = Some(entry),
            "object_lock_retain_until_date" => lock.until = Some(entry),
            "object_lock_legal_hold_status" => lock.hold = Some(entry),
            key if IGNORED.contains(&key) => {
                warnings.push(format!("{}: ignored, Ferry does not use it", at(entry)));
            }
            key => {
                let fix =
                    match suggest::closest(key, USED).or_else(|| suggest::closest(key, IGNORED)) {
                        Some(near) => format!("did you mean {near}?"),
                        None => format!("remove it; Ferry reads {}", USED.join(", ")),
                    };
                return Err(Error::config(at(entry), "unknown key", fix));
            }
        }
    }
    match kind {
        None => {
            return Err(Error::config(
                format!("type in [{section}] of {}", path.display()),
                "is missing",
                "add type = s3",
            ));
        }
        Some(e) if e.value != "s3" => {
            return Err(Error::config(
                at(e),
                format!("is \"{}\"", e.value),
                "Ferry syncs S3 remotes only: use a section with type = s3",
            ));
        }
        Some(_) => {}
    }
    config.credentials = match (key_id, secret) {
        (Some(access_key_id), Some(secret_access_key)) => Credentials::Static {
            access_key_id,
            secret_access_key,
            session_token: token,
        },
        (None, None) if env_auth => Credentials::Environment,
        (None, None) => Credentials::Anonymous,
        (Some(_), None) | (None, Some(_)) => {
            return Err(Error::config(
                format!(
                    "access_key_id/secret_access_key in [{section}] of {}",
                    path.display()
                ),
                "only one of the two is set",
                "set both, or neither (with env_auth = true to use the environment)",
            ));
        }
    };
    config.object_lock = lock.read(&at)?;
    Ok((config, warnings))
}

/// rclone's Object Lock keys of one section, as found.
#[derive(Default)]
struct LockKeys<'a> {
    mode: Option<&'a Entry>,
    until: Option<&'a Entry>,
    hold: Option<&'a Entry>,
}

impl<'a> LockKeys<'a> {
    /// The lock they set, if any. Ferry uploads local files, which carry no lock to `copy`,
    /// and locks with a date: a mode needs its date and the other way round.
    fn read(&self, at: &dyn Fn(&Entry) -> String) -> Result<Option<Lock>> {
        let set = |e: Option<&'a Entry>| e.filter(|e| !e.value.trim().is_empty());
        let (mode, until, hold) = (set(self.mode), set(self.until), set(self.hold));
        for entry in [mode, until, hold].into_iter().flatten() {
            if entry.value.trim() == "copy" {
                return Err(Error::config(
                    at(entry),
                    "\"copy\" takes the lock of a source object, and Ferry uploads local files",
                    "set the value itself (GOVERNANCE or COMPLIANCE, a period such as 30d or a date, ON or OFF)",
                ));
            }
        }
        let legal_hold = match hold.map(|e| (e, e.value.trim().to_ascii_uppercase())) {
            None => false,
            Some((_, v)) if v == "OFF" => false,
            Some((_, v)) if v == "ON" => true,
            Some((e, _)) => {
                return Err(Error::config(
                    at(e),
                    format!("\"{}\" is not ON or OFF", e.value),
                    "write ON or OFF",
                ));
            }
        };
        match (mode, until) {
            (None, None) if legal_hold => Err(Error::config(
                hold.map(at).unwrap_or_default(),
                "a legal hold alone would keep every copy until someone lifts it by hand",
                "set object_lock_mode and object_lock_retain_until_date too, or remove it",
            )),
            (None, None) => Ok(None),
            (Some(m), None) => Err(Error::config(
                at(m),
                "is set without object_lock_retain_until_date",
                "add object_lock_retain_until_date = 30d (a period from each push, or an RFC 3339 date)",
            )),
            (None, Some(u)) => Err(Error::config(
                at(u),
                "is set without object_lock_mode",
                "add object_lock_mode = GOVERNANCE or COMPLIANCE",
            )),
            (Some(m), Some(u)) => {
                let mode = match m.value.trim().to_ascii_uppercase().as_str() {
                    "GOVERNANCE" => Mode::Governance,
                    "COMPLIANCE" => Mode::Compliance,
                    _ => {
                        return Err(Error::config(
                            at(m),
                            format!("\"{}\" is not an Object Lock mode", m.value),
                            "write GOVERNANCE or COMPLIANCE",
                        ));
                    }
                };
                let retention = parse_retention(&u.value).ok_or_else(|| {
                    Error::config(
                        at(u),
                        format!("\"{}\" is neither a period nor a date", u.value),
                        "write a period such as 30d, 12h or 1y, or an RFC 3339 date such as 2030-01-01T00:00:00Z",
                    )
                })?;
                Ok(Some(Lock {
                    mode,
                    retention,
                    legal_hold,
                    setting: at(m),
                }))
            }
        }
    }
}

/// rclone's booleans.
fn boolean(entry: &Entry, at: &dyn Fn(&Entry) -> String) -> Result<bool> {
    match entry.value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" | "" => Ok(false),
        _ => Err(Error::config(
            at(entry),
            format!("\"{}\" is not a boolean", entry.value),
            "use true or false",
        )),
    }
}

/// An endpoint as rclone takes it: a URL, or a host\[:port\] meaning https.
fn endpoint(value: &str, entry: &Entry, at: &dyn Fn(&Entry) -> String) -> Result<String> {
    let url = if value.contains("://") {
        value.to_owned()
    } else {
        format!("https://{value}")
    };
    let (scheme, rest) = url.split_once("://").unwrap_or(("", ""));
    let host = rest.split('/').next().unwrap_or("");
    if !matches!(scheme, "http" | "https") || host.is_empty() || host.contains(char::is_whitespace)
    {
        return Err(Error::config(
            at(entry),
            format!("\"{value}\" is not an http(s) URL"),
            "write it as http://host:port or https://host",
        ));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

#[cfg(test)]
#[path = "rclone_tests.rs"]
mod tests;
