//! `ferry-sidecar copies REMOTE`: the timestamped copies below an S3 prefix, one JSON line
//! each (`stamp`, `complete`, `files`, `bytes`), oldest first. `kubectl ferry copies` and
//! `restore` run it in a one-shot pod of the sidecar image, so the plugin itself never
//! links the S3 engine.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use ferry_s3::cli::{RemoteSettings, open_remote};
use ferry_s3::entry::is_dir_key;
use ferry_s3::list::Filter;
use ferry_s3::remote::Remote;
use ferry_s3::snapshots::{child, copies};

/// Arguments of `ferry-sidecar copies`.
#[derive(Debug, clap::Args)]
pub struct CopiesArgs {
    /// The prefix holding the copies: `remote:bucket/prefix`.
    pub remote: String,
    /// rclone.conf to read the remote from (the section is the remote's name).
    #[arg(long, env = "FERRY_RCLONE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Read the remote from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, BUCKET_HOST, ... instead.
    #[arg(long, env = "FERRY_ENV_CONFIG", conflicts_with = "config")]
    pub env_config: bool,
    /// PEM bundle of extra CAs to trust (also AWS_CA_BUNDLE).
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
}

/// Lists the copies; exit 0, or 2 with one line naming the problem.
pub fn run(args: CopiesArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ferry-sidecar copies: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(list(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "ferry-sidecar copies: {}",
                e.to_string().replace(['\n', '\r'], " ")
            );
            ExitCode::from(2)
        }
    }
}

async fn list(args: CopiesArgs) -> ferry_s3::Result<()> {
    let settings = RemoteSettings {
        config: args.config,
        env_config: args.env_config,
        ca_cert: args.ca_cert,
    };
    let Some(remote) = open_remote(&settings, "REMOTE", &args.remote).await? else {
        return Err(ferry_s3::Error::config(
            format!("REMOTE \"{}\"", args.remote),
            "is a local path",
            "write remote:bucket/prefix",
        ));
    };
    for copy in copies(&remote).await? {
        let (files, bytes) = tally(remote.with_prefix(child(&remote.prefix, &copy.stamp))).await?;
        let line = serde_json::json!({"stamp": copy.stamp, "complete": copy.complete,
            "files": files, "bytes": bytes});
        println!("{line}");
    }
    Ok(())
}

/// The files (not directory markers) below `remote` and their total stored size.
async fn tally(remote: Remote) -> ferry_s3::Result<(u64, u64)> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(256);
    let filter = Arc::new(Filter::new(Vec::new()));
    let lister = tokio::spawn(ferry_s3::list::remote::list(remote, filter, None, None, tx));
    let (mut files, mut bytes) = (0, 0);
    while let Some(entry) = rx.recv().await {
        let entry = entry?;
        if !is_dir_key(&entry.key) {
            files += 1;
            bytes += entry.size;
        }
    }
    let _ = lister.await;
    Ok((files, bytes))
}
