//! `ferry-sidecar copies REMOTE`: the timestamped copies below an S3 prefix, one JSON line
//! each (`stamp`, `complete`, `files`, `bytes`, and `lock` where the bucket has Object Lock
//! enabled), oldest first. `kubectl ferry copies` and `restore` run it in a one-shot pod of
//! the sidecar image, so the plugin itself never links the S3 engine.
//!
//! A copy's `lock` is what its manifest's HEAD says (every object of a copy is written with
//! the same lock), or its first object's for a partial copy: `mode` (`Governance` or
//! `Compliance`), `retainUntil` (RFC 3339) and `legalHold`, each left out when absent, so an
//! unlocked copy in a locking bucket is `{}`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use ferry_s3::cli::{RemoteSettings, open_remote};
use ferry_s3::entry::is_dir_key;
use ferry_s3::list::Filter;
use ferry_s3::lock::{self, Mode};
use ferry_s3::manifest;
use ferry_s3::remote::Remote;
use ferry_s3::snapshots::{copies, copy_of};
use serde_json::{Value, json};

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
    // Credentials that may list but not read the bucket's lock configuration still list
    // the copies, without their locks, and say so.
    let locking = lock::bucket_locks(&remote).await.unwrap_or_else(|e| {
        eprintln!(
            "ferry-sidecar copies: the copies' locks are not listed: {}",
            e.to_string().replace(['\n', '\r'], " ")
        );
        false
    });
    for copy in copies(&remote).await? {
        let stored = copy_of(&remote, &copy.stamp);
        let (files, bytes, first) = tally(stored.clone()).await?;
        let mut line = json!({"stamp": copy.stamp, "complete": copy.complete,
            "files": files, "bytes": bytes});
        if locking {
            let probe = match copy.complete {
                true => Some(manifest::key(&stored)),
                false => first.map(|rel| stored.key(&rel)),
            };
            line["lock"] = match probe {
                Some(key) => lock_json(&lock::stored(&remote, &key).await?),
                None => json!({}),
            };
        }
        println!("{line}");
    }
    Ok(())
}

/// A copy's lock as the plugin reads it.
fn lock_json(stored: &lock::Stored) -> Value {
    let mut out = json!({});
    if let Some(mode) = stored.mode {
        out["mode"] = json!(match mode {
            Mode::Governance => "Governance",
            Mode::Compliance => "Compliance",
        });
    }
    if let Some(until) = stored.until {
        out["retainUntil"] = json!(until.to_string());
    }
    if stored.legal_hold {
        out["legalHold"] = json!(true);
    }
    out
}

/// The files (not directory markers) below `remote`, their total stored size, and the
/// first one's relative key.
async fn tally(remote: Remote) -> ferry_s3::Result<(u64, u64, Option<String>)> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(256);
    let filter = Arc::new(Filter::new(Vec::new()));
    let lister = tokio::spawn(ferry_s3::list::remote::list(remote, filter, None, &[], tx));
    let (mut files, mut bytes, mut first) = (0, 0, None);
    while let Some(entry) = rx.recv().await {
        let entry = entry?;
        if !is_dir_key(&entry.key) {
            files += 1;
            bytes += entry.size;
            first.get_or_insert(entry.key);
        }
    }
    let _ = lister.await;
    Ok((files, bytes, first))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_is_written_as_the_plugin_reads_it() {
        let until = "2026-12-08T10:00:00Z".parse().unwrap();
        let stored = lock::Stored {
            mode: Some(Mode::Governance),
            until: Some(until),
            legal_hold: true,
        };
        assert_eq!(
            lock_json(&stored),
            json!({"mode": "Governance", "retainUntil": "2026-12-08T10:00:00Z", "legalHold": true})
        );
        assert_eq!(lock_json(&lock::Stored::default()), json!({}));
    }
}
