//! Routes a checked exec request: rsync runs, a completion is recorded, anything else is
//! refused on the channel's standard error with a non-zero exit status.

use russh::Channel;
use russh::server::Msg;

use super::allowlist;
use super::command::{self, Request};
use super::exec;
use super::handler::Connection;
use super::refusal::Refusal;

/// Exit status of a refused command, like a shell's "cannot execute".
pub const REFUSED: u32 = 126;

/// Handles the exec request `raw` on `channel`; the work runs in its own task.
pub fn exec(conn: &Connection, channel: Channel<Msg>, sync_id: Option<String>, raw: &[u8]) {
    let shared = conn.shared.clone();
    match command::parse(raw) {
        Err(refusal) => {
            conn.refuse(&refusal);
            tokio::spawn(refuse_on(channel, refusal));
        }
        Ok(Request::Complete(id)) => match shared.tracker.complete(&id) {
            Ok(done) => {
                tracing::info!(sync_id = %done.sync_id, bytes = done.bytes_received,
                               "sync complete");
                let msg = format!("ferry: completion of sync {} recorded\n", done.sync_id);
                tokio::spawn(finish(channel, msg, 0));
            }
            Err(refusal) => {
                conn.refuse(&refusal);
                tokio::spawn(refuse_on(channel, refusal));
            }
        },
        Ok(Request::Rsync(words)) => {
            let checked = allowlist::check(&words, shared.access, shared.hardening, &shared.volume);
            let mut plan = match checked {
                Ok(plan) => plan,
                Err(refusal) => {
                    shared.tracker.refused_attempt();
                    conn.refuse(&refusal);
                    tokio::spawn(refuse_on(channel, refusal));
                    return;
                }
            };
            if shared.omit_dir_times && !plan.sender {
                // See `Shared::omit_dir_times`: otherwise every push ends in rsync's exit 23.
                plan.args.insert(1, "--omit-dir-times".into());
            }
            // Only receiving transfers change the volume, so only they can be completed.
            let guard = if plan.sender {
                None
            } else {
                match shared.tracker.begin(sync_id) {
                    Ok(guard) => Some(guard),
                    Err(refusal) => {
                        conn.refuse(&refusal);
                        tokio::spawn(refuse_on(channel, refusal));
                        return;
                    }
                }
            };
            tracing::info!(args = ?plan.args, "running rsync");
            tokio::spawn(async move {
                exec::run(channel, &shared.rsync, &shared.volume, plan, guard).await;
            });
        }
    }
}

async fn refuse_on(channel: Channel<Msg>, refusal: Refusal) {
    let _ = channel
        .extended_data_bytes(1, format!("ferry: refused: {refusal}\n").into_bytes())
        .await;
    let _ = channel.exit_status(REFUSED).await;
    let _ = channel.eof().await;
    let _ = channel.close().await;
}

async fn finish(channel: Channel<Msg>, stdout: String, status: u32) {
    let _ = channel.data_bytes(stdout.into_bytes()).await;
    let _ = channel.exit_status(status).await;
    let _ = channel.eof().await;
    let _ = channel.close().await;
}
