//! `ferry-sidecar sync SRC DST`: the S3 engine on the command line, with rclone's flags.
//! Exit codes: 0 done, 1 done with errors (nothing deleted; unreadable source paths are
//! named), 2 bad settings or a fatal error (one line naming the setting and the fix),
//! 3 refused by a guard (empty source, shrink limit: nothing changed on the remote;
//! `--acknowledge-guards` lifts them for one run), 130 stopped by SIGTERM or SIGINT.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use ferry_api::rules::glob::Pattern;
use ferry_api::rules::rate::BandwidthLimit;

use super::config::rclone::CryptSection;
use super::config::{self, S3Config};
use super::entry::Links;
use super::error::{Error, Result};
use super::guard::Guards;
use super::list::Filter;
use super::location::Location;
use super::lock::{Lock, Mode as LockMode};
use super::options::{Compare, Layout, Mode, SyncOptions};
use super::pipeline::{End, sync};
use super::progress::Progress;
use super::remote::Remote;
use super::stats::Stats;

/// Arguments of `ferry-sidecar sync`.
#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// Source: a local directory or `remote:bucket/prefix`.
    pub src: String,
    /// Destination: a local directory or `remote:bucket/prefix`.
    pub dst: String,
    /// rclone.conf to read remotes from (the section is the remote's name).
    #[arg(long, env = "FERRY_RCLONE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Read the remote from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION,
    /// BUCKET_HOST, BUCKET_PORT, BUCKET_NAME and TLS_HOST instead.
    #[arg(long, env = "FERRY_ENV_CONFIG", conflicts_with = "config")]
    pub env_config: bool,
    /// Show what would be copied and deleted; change nothing.
    #[arg(long, short = 'n')]
    pub dry_run: bool,
    /// Compare size and MD5 instead of size and mtime.
    #[arg(long, short = 'c')]
    pub checksum: bool,
    /// Files copied at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub transfers: u16,
    /// HEADs and hashes at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub checkers: u16,
    /// Exclude files matching PATTERN (rclone glob; repeatable).
    #[arg(long, value_name = "PATTERN")]
    pub exclude: Vec<String>,
    /// Delete nothing if more than N files would be deleted.
    #[arg(long, value_name = "N")]
    pub max_delete: Option<u64>,
    /// Delete nothing if more than PERCENT of the remote's files would be deleted.
    #[arg(long, value_name = "PERCENT", value_parser = clap::value_parser!(u8).range(0..=100))]
    pub max_delete_percent: Option<u8>,
    /// Lift the guards for this run: push an empty source over a non-empty remote, exceed
    /// --max-delete-percent, prune more than one copy beyond --retain.
    #[arg(long)]
    pub acknowledge_guards: bool,
    /// Keep symlinks as `.rclonelink` objects.
    #[arg(long, short = 'l')]
    pub links: bool,
    /// Bandwidth limit, e.g. `10M` (rclone syntax, one rate) or `off`.
    #[arg(long, default_value = "off", value_name = "RATE")]
    pub bwlimit: String,
    /// Push each sync into a new YYYY-MM-DD-HHMMSS/ below the prefix; pull the newest.
    #[arg(long)]
    pub timestamp_prefix: bool,
    /// Keep this many timestamped copies (with --timestamp-prefix).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub retain: Option<u32>,
    /// Lock every object of each timestamped copy with S3 Object Lock in this mode
    /// (GOVERNANCE or COMPLIANCE; rclone's flag). Needs a bucket made with Object Lock.
    #[arg(
        long,
        value_name = "MODE",
        requires = "s3_object_lock_retain_until_date"
    )]
    pub s3_object_lock_mode: Option<String>,
    /// How long each copy stays locked: a period from the push such as 30d, or an RFC 3339
    /// date (rclone's flag).
    #[arg(long, value_name = "PERIOD|DATE", requires = "s3_object_lock_mode")]
    pub s3_object_lock_retain_until_date: Option<String>,
    /// After a successful push, abort incomplete multipart uploads below the prefix older
    /// than this (left by crashes and lost answers), e.g. `24h`; `off` for none.
    #[arg(long, default_value = "24h", value_name = "DURATION")]
    pub abort_uploads_older_than: String,
    /// PEM bundle of extra CAs to trust (also AWS_CA_BUNDLE).
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Interval of the status line when stderr is not a terminal (0 = none).
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    pub stats: String,
    /// Print the final summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs the sync and maps the outcome to an exit code. Logging is the binary's to set up
/// (`ferry-sidecar sync` starts at level `warn`).
pub fn run(args: SyncArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ferry-sidecar sync: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let json = args.json;
    let result = runtime.block_on(async move {
        let (src, dst, opts, progress) = prepare(args).await?;
        let stats = Arc::new(Stats::default());
        let requests = match (&src, &dst) {
            (End::Remote(r), _) | (_, End::Remote(r)) => Arc::clone(&r.requests),
            _ => Arc::default(),
        };
        let shown = progress.start(Arc::clone(&stats), requests);
        let (canceller, cancel) = super::cancel::pair();
        tokio::spawn(stop_on_signal(canceller));
        let outcome = sync(src, dst, opts, stats, cancel).await;
        progress.finish(shown);
        outcome
    });
    match result {
        Ok(summary) => {
            if json {
                println!("{}", serde_json::to_string(&summary).unwrap_or_default());
            } else {
                println!("{summary}");
            }
            if let Some(refusal) = &summary.refused {
                eprintln!("ferry-sidecar sync: {refusal}");
            }
            if summary.unreadable > 0 {
                eprintln!(
                    "ferry-sidecar sync: {}",
                    super::guard::unreadable_text(summary.unreadable, &summary.unreadable_paths)
                );
            }
            if summary.errors == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            let line = e.to_string().replace(['\n', '\r'], " ");
            eprintln!("ferry-sidecar sync: {line}");
            ExitCode::from(match e {
                Error::Cancelled => 130,
                Error::Refused(_) => 3,
                _ => 2,
            })
        }
    }
}

/// On SIGTERM or SIGINT, asks the sync to stop; if it has not within the grace period,
/// exits anyway.
async fn stop_on_signal(canceller: super::cancel::Canceller) {
    ferry_kube::shutdown::signalled().await;
    tracing::warn!("stopping: aborting uploads in flight, deleting nothing");
    canceller.cancel();
    tokio::time::sleep(STOP_GRACE).await;
    eprintln!("ferry-sidecar sync: did not stop within {STOP_GRACE:?}; exiting");
    std::process::exit(130);
}

/// How long a stopping sync may take to abort what is in flight.
const STOP_GRACE: Duration = Duration::from_secs(20);

/// Turns the arguments into the two ends and the options.
async fn prepare(args: SyncArgs) -> Result<(End, End, SyncOptions, Progress)> {
    let bwlimit = BandwidthLimit::parse(&args.bwlimit).map_err(|e| {
        Error::config(
            format!("--bwlimit \"{}\"", args.bwlimit),
            e.to_string(),
            "see --help",
        )
    })?;
    let mut patterns = Vec::new();
    for text in &args.exclude {
        let p = Pattern::parse(text).map_err(|e| {
            Error::config(
                format!("--exclude \"{text}\""),
                e.to_string(),
                "see rclone's filtering docs",
            )
        })?;
        patterns.push(p);
    }
    let interval = parse_duration(&args.stats).ok_or_else(|| {
        Error::config(
            format!("--stats \"{}\"", args.stats),
            "is not a duration",
            "write e.g. 10s, 500ms or 1m",
        )
    })?;
    let abort_uploads_older_than = match args.abort_uploads_older_than.trim() {
        "off" => None,
        text => Some(parse_duration(text).ok_or_else(|| {
            Error::config(
                format!("--abort-uploads-older-than \"{text}\""),
                "is not a duration",
                "write e.g. 24h, 30m or off",
            )
        })?),
    };
    let layout = match (args.timestamp_prefix, args.retain) {
        (true, retain) => Layout::Timestamped {
            retain: retain.map(|r| r as usize),
            lock: None,
        },
        (false, None) => Layout::Plain,
        (false, Some(_)) => {
            return Err(Error::config(
                "--retain",
                "only applies to timestamped copies",
                "add --timestamp-prefix or drop --retain",
            ));
        }
    };
    let lock = match (
        &args.s3_object_lock_mode,
        &args.s3_object_lock_retain_until_date,
    ) {
        (Some(mode), Some(until)) => Some(cli_lock(mode, until)?),
        _ => None,
    };
    let opts = SyncOptions {
        lock,
        compare: if args.checksum {
            Compare::Checksum
        } else {
            Compare::SizeAndMtime
        },
        mode: if args.dry_run {
            Mode::DryRun
        } else {
            Mode::Apply
        },
        transfers: usize::from(args.transfers),
        checkers: usize::from(args.checkers),
        filter: Filter::new(patterns),
        max_delete: args.max_delete,
        links: if args.links { Links::Keep } else { Links::Skip },
        bwlimit,
        layout,
        abort_uploads_older_than,
        guards: Guards {
            empty_source: true,
            max_delete_percent: args.max_delete_percent,
            acknowledged: args.acknowledge_guards,
        },
        ..SyncOptions::default()
    };
    let src = end(&args, "SRC", &args.src).await?;
    let dst = end(&args, "DST", &args.dst).await?;
    Ok((src, dst, opts, Progress::detect(interval)))
}

/// The Object Lock of `--s3-object-lock-mode` and `--s3-object-lock-retain-until-date`.
fn cli_lock(mode: &str, until: &str) -> Result<Lock> {
    let mode = match mode.to_ascii_uppercase().as_str() {
        "GOVERNANCE" => LockMode::Governance,
        "COMPLIANCE" => LockMode::Compliance,
        _ => {
            return Err(Error::config(
                format!("--s3-object-lock-mode \"{mode}\""),
                "is not an Object Lock mode",
                "write GOVERNANCE or COMPLIANCE",
            ));
        }
    };
    let retention = crate::lock::parse_retention(until).ok_or_else(|| {
        Error::config(
            format!("--s3-object-lock-retain-until-date \"{until}\""),
            "is neither a period nor a date",
            "write a period such as 30d or an RFC 3339 date",
        )
    })?;
    Ok(Lock {
        mode,
        retention,
        legal_hold: false,
        setting: String::from("--s3-object-lock-mode"),
    })
}

/// One end: a local path, or a remote (S3, or crypt over S3) resolved through the
/// configuration.
async fn end(args: &SyncArgs, which: &str, arg: &str) -> Result<End> {
    let settings = RemoteSettings {
        config: args.config.clone(),
        env_config: args.env_config,
        ca_cert: args.ca_cert.clone(),
    };
    Ok(match open_remote(&settings, which, arg).await? {
        Some(remote) => End::Remote(remote),
        None => End::Local(PathBuf::from(arg)),
    })
}

/// Where the settings of a `remote:` argument come from: `--config`, `--env-config` and
/// `--ca-cert`, as `sync` reads them (`ferry-sidecar copies` reads them the same way).
#[derive(Clone, Debug, Default)]
pub struct RemoteSettings {
    /// An rclone.conf (else `RCLONE_CONFIG`).
    pub config: Option<PathBuf>,
    /// The env-style keys instead of an rclone.conf.
    pub env_config: bool,
    /// Extra CAs (else `AWS_CA_BUNDLE`).
    pub ca_cert: Option<PathBuf>,
}

/// Opens the remote `arg` names (`remote:bucket/prefix`); `None` when `arg` is a local path.
/// `which` names the argument in messages.
pub async fn open_remote(
    settings: &RemoteSettings,
    which: &str,
    arg: &str,
) -> Result<Option<Remote>> {
    let (remote, path) = match Location::parse(arg) {
        Location::Local(_) => return Ok(None),
        Location::Remote { remote, path } => (remote, path),
    };
    let (mut config, crypt) = load_config(settings, &remote)?;
    if let Some(ca) = &settings.ca_cert {
        config.ca_bundle = Some(ca.clone());
    } else if config.ca_bundle.is_none() {
        config.ca_bundle = std::env::var_os("AWS_CA_BUNDLE").map(PathBuf::from);
    }
    let label = format!("{which} \"{arg}\"");
    Ok(Some(
        Remote::open(config, crypt, which, &path, label).await?,
    ))
}

fn load_config(
    settings: &RemoteSettings,
    remote: &str,
) -> Result<(S3Config, Option<CryptSection>)> {
    if settings.env_config {
        return Ok((config::env::from_vars(|k| std::env::var(k).ok())?, None));
    }
    let path = match (&settings.config, std::env::var_os("RCLONE_CONFIG")) {
        (Some(path), _) => path.clone(),
        (None, Some(path)) => PathBuf::from(path),
        (None, None) => {
            return Err(Error::config(
                format!("remote \"{remote}:\""),
                "no configuration given",
                "pass --config FILE (an rclone.conf) or --env-config",
            ));
        }
    };
    let section = config::rclone::load_section(&path, remote)?;
    for w in section.warnings {
        tracing::warn!("{w}");
    }
    Ok((section.s3, section.crypt))
}

/// `10s`, `500ms`, `1m`, `0`.
fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let split = text.find(|c: char| !c.is_ascii_digit() && c != '.')?;
    let (number, unit) = text.split_at(split);
    let n: f64 = number.parse().ok()?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(secs).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m"), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_duration("x"), None);
    }
}
