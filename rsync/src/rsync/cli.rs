//! `ferry-sidecar push`: one rsync push over `ferry-sidecar ssh`, with the completion
//! signal, printing the parsed stats. The sidecar's scheduler calls [`super::push`] itself;
//! this command is for standalone use and tests.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{Completion, Compression, Push, PushOptions, Xattrs, push};
use crate::ssh::client::ClientSettings;
use crate::ssh::keyset::PublicKeySet;
use crate::ssh::tuning::Tuning;

/// Arguments of `ferry-sidecar push`.
#[derive(Debug, clap::Args)]
pub struct PushArgs {
    /// Private key to authenticate with (the `source` key of the Secret).
    #[arg(long, env = "FERRY_SSH_KEY")]
    pub key: PathBuf,
    /// The destination's host key to pin (file or key text).
    #[arg(long, env = "FERRY_KNOWN_HOST_KEY")]
    pub known_host_key: String,
    /// The Secret the keys come from; named in error messages only.
    #[arg(long, env = "FERRY_KEYS_SECRET")]
    pub keys_secret: Option<String>,
    /// Destination host.
    #[arg(long, env = "FERRY_DESTINATION_ADDRESS")]
    pub address: String,
    /// Destination port.
    #[arg(long, env = "FERRY_DESTINATION_PORT", default_value_t = crate::ssh::DEFAULT_SERVER_PORT)]
    pub port: u16,
    /// User to log in as (OpenSSH targets; Ferry ignores it).
    #[arg(long, env = "FERRY_SSH_USER", default_value = "ferry")]
    pub user: String,
    /// Destination directory, relative to what the server exposes.
    #[arg(long, env = "FERRY_DESTINATION_PATH", default_value = "")]
    pub path: String,
    /// Do not send the completion signal (plain OpenSSH + rsync targets).
    #[arg(long, env = "FERRY_NO_COMPLETION")]
    pub no_completion: bool,
    /// Copy extended attributes (`-X`).
    #[arg(long)]
    pub xattrs: bool,
    /// Compress (`-z`); only worth it on slow links.
    #[arg(long)]
    pub compress: bool,
    /// Sync id (default: time-based).
    #[arg(long, env = "FERRY_SYNC_ID")]
    pub sync_id: Option<String>,
    /// The rsync program.
    #[arg(long, env = "FERRY_RSYNC", default_value = "rsync")]
    pub rsync: PathBuf,
    /// SSH tuning.
    #[command(flatten)]
    pub tuning: Tuning,
    /// The directory to push.
    pub source: PathBuf,
}

/// Runs the push; exit code 0 when rsync succeeded and (unless disabled) the completion
/// was recorded.
pub fn run(args: PushArgs) -> ExitCode {
    crate::ssh::init_logging("warn");
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ferry-sidecar push: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let push_request = build(args)?;
        push(&push_request).await.map_err(|e| e.to_string())
    });
    match result {
        Ok(outcome) => {
            println!(
                "sync {} done (completion recorded: {})",
                outcome.sync_id, outcome.completed
            );
            if let Some(s) = outcome.stats {
                println!(
                    "bytes transferred: {}\nfiles transferred: {}\nfiles deleted: {}\nfiles checked: {}",
                    s.bytes_transferred(),
                    s.files_transferred,
                    s.files_deleted,
                    s.files_checked
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ferry-sidecar push: {e}");
            ExitCode::FAILURE
        }
    }
}

fn build(args: PushArgs) -> Result<Push, String> {
    let transport = std::env::current_exe().map_err(|e| format!("locating this binary: {e}"))?;
    let pinned = PublicKeySet::load(&args.known_host_key).map_err(|e| e.to_string())?;
    Ok(Push {
        rsync: args.rsync,
        transport,
        source_dir: args.source,
        remote_path: args.path,
        ssh: ClientSettings {
            host: args.address,
            port: args.port,
            user: args.user,
            key: args.key,
            pinned,
            keys_secret: args.keys_secret,
            connect_timeout: Duration::from_secs(30),
            tuning: args.tuning,
        },
        options: PushOptions {
            xattrs: if args.xattrs {
                Xattrs::Copy
            } else {
                Xattrs::Skip
            },
            compression: if args.compress {
                Compression::On
            } else {
                Compression::Off
            },
            completion: if args.no_completion {
                Completion::Skip
            } else {
                Completion::Signal
            },
        },
        sync_id: args.sync_id.unwrap_or_else(new_sync_id),
    })
}

/// A sync id: the Unix time and a random suffix, sortable and unique enough.
pub fn new_sync_id() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("{secs}-{:08x}", rand::random::<u32>())
}
