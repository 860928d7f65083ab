//! The two ways the restore step runs: in the native sidecar before it binds, retrying a
//! blocked restore while its startup probe holds the app back ([`in_sidecar`]); and once,
//! in the init container `ferry-restore` ([`once`]), where the kubelet retries a blocked one.

use std::time::Duration;

use ferry_api::types::{LastRestore, RestoreFailurePolicy};
use jiff::Timestamp;
use tokio_util::sync::CancellationToken;

use super::state::{self, State};
use super::{Ended, Wanted, attempt, failure_text, publish, record_of, volume_is_empty};
use crate::context::Ctx;
use crate::env::RestoreAsk;
use crate::metrics::Metrics;
use crate::resource::{self, Replication};
use crate::{Error, Result};

/// First wait before a blocked restore is tried again.
const RETRY_FIRST: Duration = Duration::from_secs(15);
/// Longest wait between tries of a blocked restore.
const RETRY_MAX: Duration = Duration::from_secs(300);

/// Looks at the volume before anything else, and frees the app at once when it holds data
/// (the probe passes without waiting on the API or the remote). `Ok(true)`: empty.
pub fn look(ctx_scratch: &std::path::Path, volume: &std::path::Path) -> Result<bool> {
    let empty = volume_is_empty(volume);
    match &empty {
        Ok(false) => state::write(
            ctx_scratch,
            &State::Done("the volume holds data: not restored".to_owned()),
        ),
        Ok(true) => state::write(
            ctx_scratch,
            &State::Pending("reading the ReplicationSource".to_owned()),
        ),
        Err(e) => state::write(ctx_scratch, &State::Blocked(e.to_string())),
    }
    empty
}

/// The step in the native sidecar, once its CR is read: records what [`look`] found, or
/// restores, retrying a blocked failure until it succeeds, the spec lets the app start
/// empty, or SIGTERM (`None`).
pub async fn in_sidecar(
    ctx: &Ctx,
    cr: &Replication,
    ask: &RestoreAsk,
    empty: Result<bool>,
    metrics: &Metrics,
    stop: &CancellationToken,
) -> Option<LastRestore> {
    let started = Timestamp::now();
    let mut cr = cr.clone();
    let mut backoff = ferry_kube::Backoff::new(RETRY_FIRST, RETRY_MAX);
    let mut empty = Some(empty);
    loop {
        let wanted = Wanted::of(&cr, ask);
        let ended = match empty.take() {
            Some(Ok(false)) => Ok(Ended::NotEmpty),
            Some(Err(e)) => Err(e),
            Some(Ok(true)) | None => {
                state::write(
                    &ctx.who.scratch,
                    &State::Pending(format!("restoring {} into the empty volume", what(&wanted))),
                );
                attempt(ctx, &cr, &wanted, stop.clone()).await
            }
        };
        if matches!(ended, Err(Error::Interrupted)) || stop.is_cancelled() {
            return None;
        }
        let (last, reason, warning, result) =
            record_of(&ctx.who.pod_name, started, &ended, &wanted);
        metrics.restored(result);
        publish(ctx, &last, reason, warning).await;
        match &ended {
            Err(e) if wanted.on_failure == RestoreFailurePolicy::Block => {
                let text = failure_text(e, &wanted);
                tracing::error!("{text}");
                state::write(
                    &ctx.who.scratch,
                    &State::Blocked(format!("{text} (next try in {:?})", backoff.current())),
                );
            }
            _ => {
                state::write(
                    &ctx.who.scratch,
                    &State::Done(last.message.clone().unwrap_or_default()),
                );
                return Some(last);
            }
        }
        tokio::select! {
            () = tokio::time::sleep(backoff.current()) => {}
            () = stop.cancelled() => return None,
        }
        backoff.advance();
        // The spec may have been fixed meanwhile (credentials, the copy, onFailure).
        match resource::fetch(&ctx.client, &ctx.who).await {
            Ok(fresh) => cr = fresh,
            Err(e) => {
                tracing::warn!(error = %e, "reading the CR again; retrying with the last one")
            }
        }
    }
}

/// The step run once, in the init container: `Ok(message)` when the app may start, `Err`
/// with the termination message when it is blocked. Waits for the CR while it does not
/// exist (a pod may be created before its CR), unless the volume holds data.
pub async fn once(
    ctx: &Ctx,
    ask: &RestoreAsk,
    stop: &CancellationToken,
) -> std::result::Result<String, String> {
    let started = Timestamp::now();
    let empty = volume_is_empty(&ctx.who.volume_path);
    if matches!(empty, Ok(false)) {
        // Recorded if the CR can be read now; the app never waits on it.
        if let Ok(cr) = resource::fetch(&ctx.client, &ctx.who).await {
            let wanted = Wanted::of(&cr, ask);
            let (last, reason, warning, _) =
                record_of(&ctx.who.pod_name, started, &Ok(Ended::NotEmpty), &wanted);
            publish(ctx, &last, reason, warning).await;
        }
        return Ok("the volume holds data: not restored".to_owned());
    }
    let cr = wait_for_cr(ctx, stop).await.map_err(|e| e.to_string())?;
    let wanted = Wanted::of(&cr, ask);
    let ended = match empty {
        Ok(_) => attempt(ctx, &cr, &wanted, stop.clone()).await,
        Err(e) => Err(e),
    };
    let (last, reason, warning, _) = record_of(&ctx.who.pod_name, started, &ended, &wanted);
    publish(ctx, &last, reason, warning).await;
    let message = last.message.clone().unwrap_or_default();
    match ended {
        Err(_) if wanted.on_failure == RestoreFailurePolicy::Block => Err(message),
        _ => Ok(message),
    }
}

/// Reads the CR, waiting while it does not exist or the API refuses; `Err` on SIGTERM.
async fn wait_for_cr(ctx: &Ctx, stop: &CancellationToken) -> Result<Replication> {
    let mut backoff = ferry_kube::Backoff::new(Duration::from_secs(2), Duration::from_secs(30));
    loop {
        match resource::fetch(&ctx.client, &ctx.who).await {
            Ok(cr) => return Ok(cr),
            Err(
                e @ (Error::MissingResource { .. } | Error::Forbidden { .. } | Error::Api { .. }),
            ) => {
                tracing::warn!(error = %e, "waiting for the CR before restoring");
            }
            Err(e) => return Err(e),
        }
        tokio::select! {
            () = tokio::time::sleep(backoff.current()) => {}
            () = stop.cancelled() => return Err(Error::Interrupted),
        }
        backoff.advance();
    }
}

/// The copy asked for, in words.
fn what(wanted: &Wanted) -> String {
    match &wanted.copy {
        Some(copy) => format!("copy {copy}"),
        None => "the newest complete copy".to_owned(),
    }
}
