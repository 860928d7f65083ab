//! Runs the system rsync for a checked request: no shell, the volume as working directory,
//! an empty environment (so `RSYNC_*` variables cannot change how it parses), and the
//! channel piped to its standard streams.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use russh::server::Msg;
use russh::{Channel, ChannelMsg};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;
use tokio::sync::Notify;

use super::allowlist::Plan;
use super::completion::TransferGuard;
use crate::ssh::pump;

/// Exit status sent when rsync cannot be started, like a shell's.
const NOT_RUN: u32 = 127;

/// Runs rsync for `plan` over `channel` and closes the channel with rsync's exit status.
/// `guard` (for receiving transfers) learns whether it succeeded.
pub async fn run(
    channel: Channel<Msg>,
    rsync: &Path,
    volume: &Path,
    plan: Plan,
    guard: Option<TransferGuard>,
) {
    let (mut rx, tx) = channel.split();
    let spawned = Command::new(rsync)
        .args(&plan.args)
        .current_dir(volume)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            tracing::error!(rsync = %rsync.display(), error = %e, "cannot start rsync");
            let msg = format!("ferry: cannot start rsync on the destination: {e}\n");
            let _ = tx.extended_data_bytes(1, msg.into_bytes()).await;
            let _ = tx.exit_status(NOT_RUN).await;
            let _ = tx.eof().await;
            let _ = tx.close().await;
            return;
        }
    };
    let (Some(mut stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return;
    };

    // Client → rsync. Ends on EOF (normal) or when the channel goes away (cut connection).
    let received = Arc::new(AtomicU64::new(0));
    let peer_gone = Arc::new(AtomicBool::new(false));
    let gone = Arc::new(Notify::new());
    let input = tokio::spawn({
        let (received, peer_gone, gone) = (received.clone(), peer_gone.clone(), gone.clone());
        async move {
            loop {
                match rx.wait().await {
                    Some(ChannelMsg::Data { data }) => {
                        received.fetch_add(data.len() as u64, Ordering::Relaxed);
                        if stdin.write_all(&data).await.is_err() {
                            // rsync stopped reading; it exits by itself.
                            break;
                        }
                    }
                    Some(ChannelMsg::Eof) => break,
                    Some(ChannelMsg::Close) | None => {
                        peer_gone.store(true, Ordering::Relaxed);
                        gone.notify_one();
                        break;
                    }
                    Some(_) => {}
                }
            }
            drop(stdin);
            // Keep reading so a Close after EOF is still seen.
            while let Some(msg) = rx.wait().await {
                if matches!(msg, ChannelMsg::Close) {
                    break;
                }
            }
        }
    });
    // rsync → client, until rsync closes its output (it exited). Like sshd, the exit status
    // is sent then, without waiting for the client's EOF.
    let output = async {
        let (out, _) = tokio::join!(
            pump::to_channel(stdout, &tx, None),
            pump::to_channel(stderr, &tx, Some(1))
        );
        out.unwrap_or(0)
    };
    tokio::pin!(output);
    let sent = tokio::select! {
        sent = &mut output => sent,
        () = gone.notified() => {
            tracing::warn!("the client went away mid-transfer; stopping rsync");
            let _ = child.start_kill();
            output.await
        }
    };
    input.abort();
    let peer_gone = peer_gone.load(Ordering::Relaxed);
    let received = received.load(Ordering::Relaxed);
    let status = child.wait().await;
    let code = match &status {
        // A shell's convention: 128 + signal when rsync was killed.
        Ok(s) => s
            .code()
            .map(|c| c as u32)
            .or_else(|| s.signal().map(|sig| 128 + sig as u32))
            .unwrap_or(NOT_RUN),
        Err(_) => NOT_RUN,
    };
    let succeeded = code == 0 && !peer_gone;
    tracing::info!(
        exit = code,
        received,
        sent,
        sender = plan.sender,
        "rsync finished"
    );
    if let Some(guard) = guard {
        guard.finish(succeeded, received, sent);
    }
    let _ = tx.exit_status(code).await;
    let _ = tx.eof().await;
    let _ = tx.close().await;
}
