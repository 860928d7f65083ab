//! One push: the system rsync with `ferry-sidecar ssh` as its remote shell, stats parsed,
//! then the completion signal when rsync exited 0.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;

use tokio::io::AsyncReadExt;

use super::command::{self, Completion, PushOptions};
use super::{Error, TransferStats, version};
use crate::ssh::client::{self, ClientSettings};

/// Everything one push needs.
#[derive(Debug, Clone)]
pub struct Push {
    /// The rsync program.
    pub rsync: PathBuf,
    /// The `ferry-sidecar` binary rsync runs as its remote shell.
    pub transport: PathBuf,
    /// The directory whose contents are pushed.
    pub source_dir: PathBuf,
    /// The destination directory, relative to what the server exposes (the volume for
    /// Ferry, the rrsync directory or home directory for OpenSSH). Empty means its root.
    pub remote_path: String,
    /// How to reach the destination.
    pub ssh: ClientSettings,
    /// rsync flags and the completion signal.
    pub options: PushOptions,
    /// The id of this sync, sent with the transfer and with the completion signal.
    pub sync_id: String,
}

/// What a push did.
#[derive(Debug, Clone)]
pub struct PushOutcome {
    /// The sync id.
    pub sync_id: String,
    /// rsync's `--stats`, when it printed them.
    pub stats: Option<TransferStats>,
    /// Whether the destination recorded the completion.
    pub completed: bool,
    /// The end of rsync's standard error (at most 1 KiB), for the status.
    pub stderr_tail: String,
}

/// Most of rsync's standard error kept for the status.
const TAIL: usize = 1024;

/// Runs the push.
pub async fn push(push: &Push) -> Result<PushOutcome, Error> {
    version::check(&push.rsync).await?;
    let mut cmd = tokio::process::Command::new(&push.rsync);
    cmd.args(command::flags(&push.options))
        .arg("-e")
        .arg(rsh(push)?)
        .arg("--")
        .arg(source_arg(push))
        .arg(destination_arg(push));
    for (name, value) in transport_env(push) {
        cmd.env(name, value);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| Error::Spawn {
            program: push.rsync.clone(),
            source,
        })?;
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    if let (Some(out), Some(err)) = (child.stdout.as_mut(), child.stderr.as_mut()) {
        let _ = tokio::join!(out.read_to_end(&mut stdout), err.read_to_end(&mut stderr));
    }
    let status = child.wait().await.map_err(|source| Error::Spawn {
        program: push.rsync.clone(),
        source,
    })?;
    let stderr_tail = tail(&stderr);
    if status.code() == Some(23) {
        let (count, paths) = unreadable(&String::from_utf8_lossy(&stderr), &push.source_dir);
        if count > 0 {
            return Err(Error::Unreadable { count, paths });
        }
    }
    if !status.success() {
        return Err(Error::Failed {
            status: status.code(),
            stderr_tail,
        });
    }
    let stats = TransferStats::parse(&String::from_utf8_lossy(&stdout));
    let completed = match push.options.completion {
        Completion::Skip => false,
        Completion::Signal => {
            signal_completion(&push.ssh, &push.sync_id).await?;
            true
        }
    };
    Ok(PushOutcome {
        sync_id: push.sync_id.clone(),
        stats,
        completed,
        stderr_tail,
    })
}

/// Sends `ferry-complete SYNC_ID` on a new connection.
pub async fn signal_completion(ssh: &ClientSettings, sync_id: &str) -> Result<(), Error> {
    let wrap = |source| Error::Completion { source };
    let connection = client::connect(ssh).await.map_err(wrap)?;
    let command = format!(
        "{} {sync_id}",
        crate::ssh::server::command::COMPLETE_PROGRAM
    );
    let output = connection.run(&command, &[]).await.map_err(wrap)?;
    connection.close().await;
    if output.status != 0 {
        return Err(wrap(crate::ssh::Error::RemoteFailed {
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        }));
    }
    Ok(())
}

/// The `-e` command. Settings travel in the environment, so only the program needs quoting.
fn rsh(push: &Push) -> Result<String, Error> {
    let program = push.transport.to_string_lossy();
    let quoted = command::quote_for_rsh(&program).ok_or_else(|| Error::Argument {
        what: program.to_string(),
        reason: "the path holds both kinds of quotes",
    })?;
    Ok(format!("{quoted} ssh"))
}

fn transport_env(push: &Push) -> Vec<(&'static str, OsString)> {
    let ssh = &push.ssh;
    let mut env: Vec<(&'static str, OsString)> = vec![
        ("FERRY_SSH_KEY", ssh.key.clone().into()),
        ("FERRY_KNOWN_HOST_KEY", ssh.pinned.as_argument().into()),
        ("FERRY_SSH_DEST_PORT", ssh.port.to_string().into()),
        ("FERRY_SSH_USER", ssh.user.clone().into()),
        ("FERRY_SYNC_ID", push.sync_id.clone().into()),
        (
            "FERRY_SSH_CONNECT_TIMEOUT",
            ssh.connect_timeout.as_secs().to_string().into(),
        ),
        (
            "FERRY_SSH_PACKET_SIZE",
            ssh.tuning.packet_size.to_string().into(),
        ),
        (
            "FERRY_SSH_WINDOW_SIZE",
            ssh.tuning.window_size.to_string().into(),
        ),
        ("FERRY_SSH_NODELAY", ssh.tuning.nodelay.to_string().into()),
        ("FERRY_SSH_WORKERS", ssh.tuning.workers.to_string().into()),
        (
            "FERRY_SSH_READ_BUFFER",
            ssh.tuning.read_buffer.to_string().into(),
        ),
    ];
    let ciphers: Vec<&str> = ssh.tuning.ciphers.iter().map(AsRef::as_ref).collect();
    env.push(("FERRY_SSH_CIPHERS", ciphers.join(",").into()));
    if let Some(secret) = &ssh.keys_secret {
        env.push(("FERRY_KEYS_SECRET", secret.clone().into()));
    }
    env
}

/// The source with a trailing slash: push the directory's contents, not the directory.
fn source_arg(push: &Push) -> OsString {
    let mut source = push.source_dir.clone().into_os_string();
    if !source.to_string_lossy().ends_with('/') {
        source.push("/");
    }
    source
}

fn destination_arg(push: &Push) -> String {
    let host = if push.ssh.host.contains(':') {
        format!("[{}]", push.ssh.host)
    } else {
        push.ssh.host.clone()
    };
    let path = push.remote_path.trim_start_matches('/');
    let path = if path.is_empty() { "." } else { path };
    format!("{host}:{path}")
}

/// The source paths rsync's sender could not read, from its standard error: how many, and
/// the first ten relative to `source_dir` (lines such as `rsync: [sender] send_files failed
/// to open "/v/a": Permission denied (13)` or `opendir "/v/d" failed: ...`).
fn unreadable(stderr: &str, source_dir: &std::path::Path) -> (u64, Vec<String>) {
    let root = source_dir.to_string_lossy();
    let root = root.trim_end_matches('/');
    let mut count = 0;
    let mut paths = Vec::new();
    for line in stderr.lines() {
        if !(line.contains("[sender]") && line.contains("Permission denied (13)")) {
            continue;
        }
        let Some(path) = line.split('"').nth(1) else {
            continue;
        };
        count += 1;
        if paths.len() < ferry_api::contract::guard::UNREADABLE_SHOWN {
            let rel = path
                .strip_prefix(root)
                .map_or(path, |p| p.trim_start_matches('/'));
            paths.push(if rel.is_empty() { "." } else { rel }.to_owned());
        }
    }
    (count, paths)
}

fn tail(bytes: &[u8]) -> String {
    let start = bytes.len().saturating_sub(TAIL);
    String::from_utf8_lossy(&bytes[start..]).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::unreadable;

    #[test]
    fn the_senders_permission_errors_name_the_unreadable_paths() {
        let stderr = r#"rsync: [sender] opendir "/v/data/locked" failed: Permission denied (13)
rsync: [generator] recv_generator: mkdir "/dst/d" failed: Permission denied (13)
*** Skipping any contents from this failed directory ***
rsync: [sender] send_files failed to open "/v/data/secret": Permission denied (13)
rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1394) [sender=3.5.0]"#;
        let (count, paths) = unreadable(stderr, std::path::Path::new("/v/data/"));
        assert_eq!(count, 2);
        assert_eq!(paths, ["locked", "secret"]);
        assert_eq!(
            unreadable("rsync: [sender] vanished", std::path::Path::new("/v")).0,
            0
        );
    }
}
