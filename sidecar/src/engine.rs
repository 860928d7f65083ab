//! The S3 engine's side of a job: `ferry-sidecar engine` (the child the long-lived agent
//! starts for each S3 sync), and the in-process runner of `ferry-sidecar mover`. Both turn
//! the CR's `rclone` options and the Secret the agent read into the engine's remote and
//! options. This lives in the binary, not in the agent, so that `ferry-agent` never links
//! the S3 engine (see `ferry_agent::job`).

// `ferry_agent::Error` is large (it carries `kube::Error`); these functions return it as the
// agent does, where clippy leaves a library's public API alone.
#![allow(clippy::result_large_err)]

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use ferry_agent::context::clamp;
use ferry_agent::job::{
    Direction, Job, MAX_MESSAGE, Outcome, PARENT_VAR, Reply, Running, SECRET_FIELD,
};
use ferry_agent::secrets::SecretData;
use ferry_agent::{Error, Result};
use ferry_api::rules::glob::Pattern;
use ferry_api::rules::rate::BandwidthLimit;
use ferry_api::types::{RcloneOptions, SyncStats};
use ferry_s3::entry::Links;
use ferry_s3::list::Filter;
use ferry_s3::options::{Compare, Mode, SyncOptions};
use ferry_s3::pipeline::End;
use ferry_s3::remote::Remote;
use ferry_s3::stats::Stats;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

/// The key of the rclone configuration in its Secret (as VolSync).
pub const RCLONE_CONF_KEY: &str = "rclone.conf";

/// Runs the job in this process.
pub fn in_process(job: Job, cancel: CancellationToken) -> Running {
    Box::pin(execute(job, cancel))
}

/// Runs `job` in this process.
pub async fn execute(job: Job, cancel: CancellationToken) -> Result<Outcome> {
    let data = job.secret_data.into_iter().map(|(k, v)| (k, v.0)).collect();
    let secret = SecretData::new(SECRET_FIELD, &job.secret_namespace, &job.secret_name, data);
    let remote = remote_from(&secret, &job.rclone).await?;
    let mut opts = sync_options(&job.rclone)?;
    opts.layout = job.layout;
    opts.guards = job.guards;
    opts.lock = lock_of(job.layout);
    let (src, dst) = match job.direction {
        Direction::Restore => {
            let wanted = job.restore.and_then(|r| r.copy);
            return restore(remote, job.dir, opts, wanted, cancel).await;
        }
        Direction::Push => (End::Local(job.dir), End::Remote(remote)),
        Direction::Pull => (End::Remote(remote), End::Local(job.dir)),
        Direction::Verify => {
            let how = job.verify.unwrap_or(ferry_agent::job::VerifyJob {
                deep: false,
                sample_percent: 100,
            });
            let report = ferry_s3::verify::run(&remote, job.layout, how)
                .await
                .map_err(s3_error)?;
            return Ok(Outcome {
                logs: format!(
                    "verified {}: {} object(s) checked, {} mismatch(es)",
                    report.copy, report.checked, report.mismatches
                ),
                verified: Some(report),
                ..Outcome::default()
            });
        }
    };
    run_s3(src, dst, opts, ferry_s3::cancel::Cancel::from(cancel)).await
}

/// Restore on first start: the copy [`ferry_s3::restore::choose`] picks, pulled into the
/// empty volume with the CR's options (its excludes, transfers, checkers), or the note that
/// there is nothing complete to restore. A restore always writes (`dryRun` is for pushes),
/// and leaves the file system's own `lost+found` alone.
pub async fn restore(
    remote: Remote,
    dir: std::path::PathBuf,
    mut opts: SyncOptions,
    wanted: Option<String>,
    cancel: CancellationToken,
) -> Result<Outcome> {
    use ferry_s3::restore::Choice;
    remote.preflight().await.map_err(s3_error)?;
    let layout = opts.layout;
    let chosen = ferry_s3::restore::choose(&remote, layout, wanted.as_deref())
        .await
        .map_err(s3_error)?;
    let (remote, name) = match chosen {
        Choice::Nothing(why) => {
            return Ok(Outcome {
                logs: why.clone(),
                restored: Some(ferry_agent::job::RestoreReport {
                    copy: None,
                    note: why,
                }),
                ..Outcome::default()
            });
        }
        Choice::Copy { remote, name } => (remote, name),
    };
    opts.layout = ferry_agent::job::Layout::Plain;
    opts.mode = Mode::Apply;
    opts.max_delete = None;
    if let Ok(pattern) = Pattern::parse("/lost+found/") {
        opts.filter = opts.filter.with(pattern);
    }
    let mut outcome = run_s3(
        End::Remote(remote),
        End::Local(dir),
        opts,
        ferry_s3::cancel::Cancel::from(cancel),
    )
    .await?;
    outcome.restored = Some(ferry_agent::job::RestoreReport {
        note: format!("restored {name}"),
        copy: Some(name),
    });
    Ok(outcome)
}

/// Runs the S3 engine and turns its summary into an outcome.
pub async fn run_s3(
    src: End,
    dst: End,
    opts: SyncOptions,
    cancel: ferry_s3::cancel::Cancel,
) -> Result<Outcome> {
    let stats = Arc::new(Stats::default());
    let cancelled = cancel.clone();
    let summary = ferry_s3::pipeline::sync(src, dst, opts, stats, cancel)
        .await
        .map_err(|e| match e {
            ferry_s3::Error::Cancelled => Error::Interrupted,
            ferry_s3::Error::Refused(refusal) => Error::Refused(refusal),
            other => s3_error(other),
        })?;
    if cancelled.is_set() {
        return Err(Error::Interrupted);
    }
    if summary.unreadable > 0 {
        return Err(Error::Unreadable {
            count: summary.unreadable,
            paths: summary.unreadable_paths,
        });
    }
    if summary.errors > 0 {
        return Err(Error::S3Partial {
            errors: summary.errors,
        });
    }
    Ok(Outcome {
        stats: SyncStats {
            bytes_transferred: clamp(summary.bytes_transferred),
            files_transferred: clamp(summary.files_transferred),
            files_deleted: clamp(summary.files_deleted),
            files_checked: clamp(summary.files_checked),
            requests: Some(summary.requests.clone()),
        },
        logs: summary.to_string(),
        refused: summary.refused,
        verified: None,
        restored: None,
    })
}

/// The engine's Object Lock of the CR's `spec.rclone.objectLock` (carried by the layout:
/// only timestamped copies are locked).
fn lock_of(layout: ferry_agent::job::Layout) -> Option<ferry_s3::lock::Lock> {
    use ferry_api::types::ObjectLockMode;
    use ferry_s3::lock::{Lock, Mode, Retention};
    let ferry_agent::job::Layout::Timestamped {
        lock: Some(lock), ..
    } = layout
    else {
        return None;
    };
    let days = u64::try_from(lock.retain_days.max(1)).unwrap_or(1);
    Some(Lock {
        mode: match lock.mode {
            ObjectLockMode::Governance => Mode::Governance,
            ObjectLockMode::Compliance => Mode::Compliance,
        },
        retention: Retention::For(std::time::Duration::from_secs(days * 86_400)),
        legal_hold: false,
        setting: String::from("spec.rclone.objectLock"),
    })
}

/// The S3 remote the CR's `rclone` options point at, from the rclone.conf in its Secret.
pub async fn remote_from(secret: &SecretData, rclone: &RcloneOptions) -> Result<Remote> {
    // An rclone.conf (VolSync's Secret), or else the env-style keys of object bucket claims
    // and DataMover Secrets (`AWS_ACCESS_KEY_ID`, `BUCKET_HOST`, ...), as DESIGN.md §5.
    let (config, crypt) = if secret.has(RCLONE_CONF_KEY) || !secret.has("AWS_ACCESS_KEY_ID") {
        let text = secret.text(RCLONE_CONF_KEY)?;
        let section = rclone
            .rclone_config_section
            .clone()
            .ok_or_else(|| Error::Spec {
                field: "spec.rclone.rcloneConfigSection",
                problem: "is not set; name the [section] of rclone.conf to use".to_owned(),
            })?;
        let label = format!("Secret {}/{RCLONE_CONF_KEY}", rclone.rclone_config);
        let section =
            ferry_s3::config::rclone::section_from_text(&text, Path::new(&label), &section)
                .map_err(s3_error)?;
        for w in section.warnings {
            tracing::warn!("{w}");
        }
        (section.s3, section.crypt)
    } else {
        let config =
            ferry_s3::config::env::from_vars(|key| secret.text(key).ok()).map_err(s3_error)?;
        (config, None)
    };
    let arg = "spec.rclone.rcloneDestPath";
    let label = format!("{arg} \"{}\"", rclone.rclone_dest_path);
    Remote::open(config, crypt, arg, &rclone.rclone_dest_path, label)
        .await
        .map_err(s3_error)
}

/// The engine options of the CR's `rclone` block.
pub fn sync_options(rclone: &RcloneOptions) -> Result<SyncOptions> {
    let mut patterns = Vec::new();
    for text in rclone.exclude.iter().flatten() {
        patterns.push(Pattern::parse(text).map_err(|e| Error::Spec {
            field: "spec.rclone.exclude",
            problem: format!("\"{text}\": {e}"),
        })?);
    }
    let bwlimit = match rclone.bandwidth_limit.as_deref() {
        None => BandwidthLimit::Off,
        Some(text) => BandwidthLimit::parse(text).map_err(|e| Error::Spec {
            field: "spec.rclone.bandwidthLimit",
            problem: format!("\"{text}\": {e}"),
        })?,
    };
    let defaults = SyncOptions::default();
    let count = |v: Option<i32>, default: usize| {
        v.and_then(|n| usize::try_from(n).ok())
            .filter(|n| *n > 0)
            .unwrap_or(default)
    };
    Ok(SyncOptions {
        compare: if rclone.checksum.unwrap_or(false) {
            Compare::Checksum
        } else {
            Compare::SizeAndMtime
        },
        mode: if rclone.dry_run.unwrap_or(false) {
            Mode::DryRun
        } else {
            Mode::Apply
        },
        transfers: count(rclone.transfers, defaults.transfers),
        checkers: count(rclone.checkers, defaults.checkers),
        filter: Filter::new(patterns),
        max_delete: rclone.max_delete.and_then(|n| u64::try_from(n).ok()),
        // A volume's symlinks are part of it: kept as rclone's `.rclonelink` objects.
        links: Links::Keep,
        bwlimit,
        ..defaults
    })
}

/// `ferry-sidecar engine`: read a job on stdin, run it, answer on stdout.
pub fn main() -> ExitCode {
    ferry_rsync::ssh::init_logging("info");
    if let Err(message) = die_with_parent() {
        eprintln!("ferry-sidecar engine: {message}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ferry-sidecar engine: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(async {
        let reply = match read_job().await {
            Ok(job) => {
                let cancel = CancellationToken::new();
                let canceller = cancel.clone();
                tokio::spawn(async move {
                    ferry_kube::shutdown::signalled().await;
                    canceller.cancel();
                });
                Reply::of(execute(job, cancel).await)
            }
            Err(message) => Reply::Failed {
                message,
                needs_change: false,
            },
        };
        let ok = matches!(reply, Reply::Done { .. });
        let written = match serde_json::to_vec(&reply) {
            Ok(bytes) => tokio::io::stdout().write_all(&bytes).await.is_ok(),
            Err(_) => false,
        };
        if ok && written {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    })
}

/// Arms SIGTERM on the parent's death, then checks that the parent named in
/// [`PARENT_VAR`] is still the parent (it may have died before the signal was armed).
fn die_with_parent() -> std::result::Result<(), String> {
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM)
        .map_err(|e| format!("cannot arm the parent-death signal: {e}"))?;
    let wanted = std::env::var(PARENT_VAR).map_err(|_| {
        format!("{PARENT_VAR} is not set; this subcommand is started by `ferry-sidecar run`")
    })?;
    let parent = nix::unistd::getppid().as_raw().to_string();
    if parent == wanted {
        Ok(())
    } else {
        Err(format!(
            "the sidecar that started this engine (pid {wanted}) is gone; nothing was done"
        ))
    }
}

async fn read_job() -> std::result::Result<Job, String> {
    let mut body = Vec::new();
    tokio::io::stdin()
        .take(MAX_MESSAGE)
        .read_to_end(&mut body)
        .await
        .map_err(|e| format!("reading the job on stdin: {e}"))?;
    serde_json::from_slice(&body).map_err(|e| format!("the job on stdin is not valid: {e}"))
}

/// The agent's error for an engine failure: its text is what the agent reported when the
/// engine was part of it (`rclone: ...`).
/// Failures only a change can fix (credentials, bucket, settings) say so, so that the
/// sidecar waits for the change instead of retrying.
fn s3_error(e: ferry_s3::Error) -> Error {
    if e.needs_change() {
        Error::S3Fatal(Box::new(e))
    } else {
        Error::S3(Box::new(e))
    }
}
