//! S3 Object Lock on timestamped copies: each object of a copy (its manifest included) is
//! written with a retention mode and one retain-until date, computed once per push, so that
//! a compromised cluster cannot delete or overwrite the copy before that date.
//!
//! Where it comes from: rclone's `object_lock_mode`, `object_lock_retain_until_date` and
//! `object_lock_legal_hold_status` keys of the S3 section, or the CR's
//! `spec.rclone.objectLock` (which wins), or `--s3-object-lock-*` on the command line.
//!
//! What it changes:
//! - a push checks first that the bucket has Object Lock enabled ([`check_bucket`]): a
//!   bucket without it would store the objects unlocked, which is worse than failing;
//! - a plain (mirror) push with a lock is refused: every overwrite and deletion of a
//!   locked object would fail;
//! - pruning reads each old copy's lock from its manifest ([`held`]) and leaves a copy that
//!   is still locked, saying until when; an expired copy is deleted version by version, so
//!   the versioned bucket that Object Lock implies does not keep its data behind delete
//!   markers.

use std::time::Duration;

use aws_sdk_s3::primitives::DateTime;
use aws_sdk_s3::types::{ObjectLockEnabled, ObjectLockLegalHoldStatus, ObjectLockMode};
use jiff::Timestamp;

use super::error::{Error, Result};
use super::remote::Remote;

/// The retention mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Users with `s3:BypassGovernanceRetention` may still delete; Ferry never does.
    Governance,
    /// Nobody can delete or overwrite the version before its date.
    Compliance,
}

impl Mode {
    /// The S3 value.
    pub fn s3(self) -> ObjectLockMode {
        match self {
            Mode::Governance => ObjectLockMode::Governance,
            Mode::Compliance => ObjectLockMode::Compliance,
        }
    }
}

/// How long a copy stays locked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retention {
    /// For this long from the start of each push.
    For(Duration),
    /// Until this instant.
    Until(Timestamp),
}

/// An Object Lock setting and where it was read, for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lock {
    /// The mode.
    pub mode: Mode,
    /// The period or date.
    pub retention: Retention,
    /// A legal hold on every object too (rclone's `object_lock_legal_hold_status = ON`).
    pub legal_hold: bool,
    /// The setting, e.g. `spec.rclone.objectLock` or `object_lock_mode in [s3] of FILE`.
    pub setting: String,
}

impl Lock {
    /// The lock with its retain-until date fixed at `now` plus the period: every object of
    /// one copy gets the same date, which pruning reads back from the manifest.
    pub fn fixed(&self, now: Timestamp) -> Result<Lock> {
        let until = match self.retention {
            Retention::Until(t) => t,
            Retention::For(period) => jiff::SignedDuration::try_from(period)
                .ok()
                .and_then(|d| now.checked_add(d).ok())
                .ok_or_else(|| {
                    Error::config(&self.setting, "is too long a period", "use fewer days")
                })?,
        };
        if until <= now {
            return Err(Error::config(
                &self.setting,
                format!("the retain-until date {until} has passed"),
                "set a later date, or a period such as 30d",
            ));
        }
        Ok(Lock {
            retention: Retention::Until(until),
            ..self.clone()
        })
    }

    /// The retain-until date as the SDK takes it (after [`Lock::fixed`]).
    pub fn until(&self) -> Option<DateTime> {
        match self.retention {
            Retention::Until(t) => Some(DateTime::from_secs(t.as_second())),
            Retention::For(_) => None,
        }
    }

    /// The legal hold header, when one is asked for.
    pub fn hold(&self) -> Option<ObjectLockLegalHoldStatus> {
        self.legal_hold.then_some(ObjectLockLegalHoldStatus::On)
    }
}

/// Parses rclone's `object_lock_retain_until_date`: an RFC 3339 date, or a period from now
/// in rclone's duration syntax (`365d`, `1y`, `12h`, `1w2d`).
pub fn parse_retention(text: &str) -> Option<Retention> {
    let text = text.trim();
    if let Ok(t) = text.parse::<Timestamp>() {
        return Some(Retention::Until(t));
    }
    parse_period(text).map(Retention::For)
}

/// rclone's durations: numbers with `ms`, `s`, `m`, `h`, `d`, `w`, `M` (30 days) or `y`
/// (365 days), one after the other.
fn parse_period(text: &str) -> Option<Duration> {
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            "w" => 7.0 * 86_400.0,
            "M" => 30.0 * 86_400.0,
            "y" => 365.0 * 86_400.0,
            _ => return None,
        };
        rest = &rest[unit..];
        total += number * seconds;
    }
    Duration::try_from_secs_f64(total)
        .ok()
        .filter(|d| !d.is_zero())
}

/// Fails, naming `lock.setting`, unless the bucket has Object Lock enabled: without it the
/// objects would be stored unlocked (MinIO and S3 enable it only when the bucket is made).
pub async fn check_bucket(remote: &Remote, lock: &Lock) -> Result<()> {
    if bucket_locks(remote).await? {
        return Ok(());
    }
    Err(Error::config(
        &lock.setting,
        format!(
            "bucket \"{}\" does not have Object Lock enabled, so the copies would not be locked; nothing was written",
            remote.bucket
        ),
        "use a bucket created with Object Lock (mc mb --with-lock, or CreateBucket with x-amz-bucket-object-lock-enabled: true), or remove the Object Lock setting",
    ))
}

/// Whether the remote's bucket has Object Lock enabled (its lock configuration says so).
pub async fn bucket_locks(remote: &Remote) -> Result<bool> {
    match remote
        .client
        .get_object_lock_configuration()
        .bucket(&remote.bucket)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .object_lock_configuration
            .and_then(|c| c.object_lock_enabled)
            .is_some_and(|e| e == ObjectLockEnabled::Enabled)),
        Err(e) => match remote.error("GetObjectLockConfiguration", &remote.bucket, e) {
            // `ObjectLockConfigurationNotFoundError` (a 404): the bucket has no lock.
            Error::Request { message, .. } if message.contains("ObjectLockConfiguration") => {
                Ok(false)
            }
            Error::Request {
                class: super::error::Class::NotFound,
                ..
            } => Ok(false),
            other => Err(other),
        },
    }
}

/// What holds a stored copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Held {
    /// Locked until this date.
    Until(Timestamp),
    /// Under a legal hold (no date: until someone lifts it).
    LegalHold,
}

impl std::fmt::Display for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Held::Until(t) => write!(f, "until {t}"),
            Held::LegalHold => f.write_str("under a legal hold"),
        }
    }
}

/// The lock an object carries, as its HEAD says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stored {
    /// Its retention mode, if it has one.
    pub mode: Option<Mode>,
    /// Its retain-until date, if it has one (possibly past).
    pub until: Option<Timestamp>,
    /// Whether a legal hold is on.
    pub legal_hold: bool,
}

impl Stored {
    /// Whether it was ever locked (its bucket is then versioned).
    pub fn locked(&self) -> bool {
        self.mode.is_some() || self.until.is_some() || self.legal_hold
    }
}

/// The lock of the object at full key `key`.
pub async fn stored(remote: &Remote, key: &str) -> Result<Stored> {
    let out = remote.head_object(key).await?;
    Ok(Stored {
        mode: match out.object_lock_mode {
            Some(ObjectLockMode::Governance) => Some(Mode::Governance),
            Some(ObjectLockMode::Compliance) => Some(Mode::Compliance),
            _ => None,
        },
        until: out
            .object_lock_retain_until_date
            .and_then(|d| Timestamp::new(d.secs(), d.subsec_nanos() as i32).ok()),
        legal_hold: out.object_lock_legal_hold_status == Some(ObjectLockLegalHoldStatus::On),
    })
}

/// Whether the object at full key `key` is locked at `now`, as its HEAD says, and whether
/// it was ever locked (its bucket is then versioned, and deleting must name versions).
pub async fn held(remote: &Remote, key: &str, now: Timestamp) -> Result<(Option<Held>, bool)> {
    let lock = stored(remote, key).await?;
    if lock.legal_hold {
        return Ok((Some(Held::LegalHold), true));
    }
    Ok((
        lock.until.filter(|u| *u > now).map(Held::Until),
        lock.locked(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_in_rclone_syntax() {
        let day = Duration::from_secs(86_400);
        assert_eq!(parse_retention("1d"), Some(Retention::For(day)));
        assert_eq!(parse_retention("365d"), Some(Retention::For(day * 365)));
        assert_eq!(parse_retention("1y"), Some(Retention::For(day * 365)));
        assert_eq!(
            parse_retention("1w2d"),
            Some(Retention::For(day * 9)),
            "units add up"
        );
        assert_eq!(
            parse_retention("2030-01-01T00:00:00Z"),
            Some(Retention::Until("2030-01-01T00:00:00Z".parse().unwrap()))
        );
        for bad in ["", "copy", "10", "1 day", "0d", "-1d"] {
            assert_eq!(parse_retention(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_period_is_fixed_once_and_a_past_date_is_refused() {
        let now: Timestamp = "2026-12-07T10:00:00Z".parse().unwrap();
        let lock = Lock {
            mode: Mode::Compliance,
            retention: Retention::For(Duration::from_secs(86_400)),
            legal_hold: false,
            setting: "spec.rclone.objectLock".into(),
        };
        let fixed = lock.fixed(now).unwrap();
        assert_eq!(
            fixed.retention,
            Retention::Until("2026-12-08T10:00:00Z".parse().unwrap())
        );
        assert_eq!(
            fixed.until().map(|d| d.secs()),
            Some(now.as_second() + 86_400)
        );
        let past = Lock {
            retention: Retention::Until("2020-01-01T00:00:00Z".parse().unwrap()),
            ..lock
        };
        let err = past.fixed(now).unwrap_err().to_string();
        assert!(err.starts_with("spec.rclone.objectLock: "), "{err}");
        assert!(err.contains("has passed"), "{err}");
    }
}
