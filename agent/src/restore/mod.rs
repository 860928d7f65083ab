//! Restore on first start (`spec.rclone.restoreOnEmpty`, `ferry.dev/restore-on-empty`): a
//! pod that starts with an empty volume gets its last complete copy back before the app
//! containers start, so a cluster rebuilt from Git brings its apps back with their data.
//!
//! - Only an empty volume is touched: no entry other than `lost+found`. A volume with data
//!   is recorded as skipped at once, without waiting on the API or the remote.
//! - A remote with no complete copy is a fresh start, recorded as skipped.
//! - A failure blocks the app (`Block`, the default) until a retry succeeds, or lets it start
//!   empty (`StartEmpty`) with pushes held until the acknowledgement annotation: the empty
//!   volume must not replace the good copy ([`held_refusal`]).
//!
//! The step runs in the native sidecar before it binds (its startup probe holds the app
//! back, [`state`]) or, without native sidecars, in the init container `ferry-restore`
//! ([`crate::entry::restore`]). Both record `status.lastRestore`, an Event (`Restored`,
//! `RestoreSkipped`, `RestoreFailed`) and, in the sidecar, `ferry_restores_total`.

pub mod state;
mod step;

pub use step::{in_sidecar, look, once};

use std::path::Path;

use ferry_api::contract::guard::{ACKNOWLEDGE, Guard, Refusal};
use ferry_api::types::{LastRestore, RestoreFailurePolicy, RestoreResult};
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use tokio_util::sync::CancellationToken;

use super::context::Ctx;
use super::env::RestoreAsk;
use super::events::{Events, reason};
use super::job::{Direction, Job, Outcome, RestoreJob};
use super::resource::{Mover, Replication};
use super::source::{layout_of, rclone_secret};
use super::status::{self, Model};
use super::{Error, Result};

/// The name of the file system's own directory, which an empty volume may hold.
const LOST_FOUND: &str = "lost+found";

/// Whether the volume at `root` is empty: no entry other than `lost+found`. A volume that
/// cannot be listed is not known to be empty, and is never written.
pub fn volume_is_empty(root: &Path) -> Result<bool> {
    let entries = std::fs::read_dir(root).map_err(|source| Error::Io {
        context: format!(
            "listing the volume {} to see whether it is empty",
            root.display()
        ),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| Error::Io {
            context: format!("listing the volume {}", root.display()),
            source,
        })?;
        if entry.file_name() != LOST_FOUND {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The restore the pod asks for: its annotations over the CR's `restoreOnEmpty`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// A timestamped copy by name; `None`: the newest complete one.
    pub copy: Option<String>,
    /// What a failure does.
    pub on_failure: RestoreFailurePolicy,
}

impl Wanted {
    /// The pod's `ask` over the CR's spec.
    pub fn of(cr: &Replication, ask: &RestoreAsk) -> Wanted {
        let spec = match &cr.mover {
            Mover::SourceRclone(r) => r.restore_on_empty.clone(),
            _ => None,
        }
        .unwrap_or_default();
        Wanted {
            copy: ask.copy.clone().or(spec.copy),
            on_failure: ask.on_failure.unwrap_or(spec.on_failure),
        }
    }
}

/// How one attempt ended.
#[derive(Debug)]
pub enum Ended {
    /// The volume holds data and was not touched.
    NotEmpty,
    /// The remote has no complete copy: a fresh start. Why.
    Nothing(String),
    /// A copy was restored.
    Restored {
        /// Its name.
        copy: String,
        /// The pull's counts (boxed: the other cases carry little).
        outcome: Box<Outcome>,
    },
}

/// One restore of the CR's copy into the (empty) volume.
pub async fn attempt(
    ctx: &Ctx,
    cr: &Replication,
    wanted: &Wanted,
    cancel: CancellationToken,
) -> Result<Ended> {
    let Mover::SourceRclone(spec) = &cr.mover else {
        return Err(Error::Spec {
            field: "spec.rclone",
            problem: "is not set: a restore on first start reads the copies of an rclone source; remove ferry.dev/restore-on-empty from the pod, or use an rclone source".to_owned(),
        });
    };
    let secret = rclone_secret(ctx, &spec.rclone).await?;
    let mut job = Job::new(
        Direction::Restore,
        &ctx.who.volume_path,
        &spec.rclone,
        layout_of(spec),
        &secret,
    );
    job.restore = Some(RestoreJob {
        copy: wanted.copy.clone(),
    });
    let outcome = (ctx.engine)(job, cancel).await?;
    match outcome.restored.as_ref().and_then(|r| r.copy.clone()) {
        Some(copy) => Ok(Ended::Restored {
            copy,
            outcome: Box::new(outcome),
        }),
        None => Ok(Ended::Nothing(
            outcome
                .restored
                .map(|r| r.note)
                .unwrap_or_else(|| "the engine reported no copy".to_owned()),
        )),
    }
}

/// What a failure says: the error and the way out, for the probe, the termination
/// message, the Event and the status.
pub fn failure_text(e: &Error, wanted: &Wanted) -> String {
    match wanted.on_failure {
        RestoreFailurePolicy::Block => format!(
            "restore on first start failed: {e}; the app does not start (onFailure: Block) until a restore succeeds: fix the cause and it is retried, or set spec.rclone.restoreOnEmpty.onFailure (or the pod annotation ferry.dev/restore-on-failure) to StartEmpty to start empty"
        ),
        RestoreFailurePolicy::StartEmpty => format!(
            "restore on first start failed: {e}; the app starts on the empty volume (onFailure: StartEmpty) and pushes are refused until acknowledged, so the copy on the remote stays: {ACKNOWLEDGE}"
        ),
    }
}

/// The record of an attempt for `status.lastRestore`, with the Event's reason and type
/// (`true`: Warning) and the metric's result.
pub fn record_of(
    pod: &str,
    started: Timestamp,
    ended: &Result<Ended>,
    wanted: &Wanted,
) -> (LastRestore, &'static str, bool, &'static str) {
    let now = Timestamp::now();
    let took = status::go_duration(now.duration_since(started).unsigned_abs());
    let mut last = LastRestore {
        time: Some(Time(now)),
        pod: Some(pod.to_owned()),
        duration: Some(took),
        ..LastRestore::default()
    };
    match ended {
        Ok(Ended::NotEmpty) => {
            last.result = Some(RestoreResult::Skipped);
            last.message = Some("the volume holds data: it was not touched".to_owned());
            (last, reason::RESTORE_SKIPPED, false, "skipped")
        }
        Ok(Ended::Nothing(why)) => {
            last.result = Some(RestoreResult::Skipped);
            last.message = Some(format!("{why}; the app starts fresh"));
            (last, reason::RESTORE_SKIPPED, false, "skipped")
        }
        Ok(Ended::Restored { copy, outcome }) => {
            last.result = Some(RestoreResult::Restored);
            last.copy = Some(copy.clone());
            last.files = outcome.stats.files_transferred;
            last.bytes = outcome.stats.bytes_transferred;
            last.message = Some(format!(
                "restored {copy}: {} file(s), {} byte(s)",
                last.files, last.bytes
            ));
            (last, reason::RESTORED, false, "restored")
        }
        Err(e) => {
            last.result = Some(RestoreResult::Failed);
            last.message = Some(status::clip(&failure_text(e, wanted), 1024));
            if wanted.on_failure == RestoreFailurePolicy::StartEmpty {
                last.pushes_held = Some(true);
            }
            (last, reason::RESTORE_FAILED, true, "failed")
        }
    }
}

/// Writes `last` into the CR's `status.lastRestore` (the rest of the status as it is now)
/// and records the Event. Best effort: a failure is logged, never fatal to the step.
pub async fn publish(ctx: &Ctx, last: &LastRestore, reason: &str, warning: bool) {
    let who = &ctx.who;
    let cr = match super::resource::fetch(&ctx.client, who).await {
        Ok(cr) => cr,
        Err(e) => {
            tracing::warn!(error = %e, "cannot record the restore in the status");
            return;
        }
    };
    let mut model = Model::from_status(cr.status.as_ref());
    model.last_restore = Some(last.clone());
    let api = super::resource::api(&ctx.client, who.role, &who.namespace);
    if let Err(e) = status::apply(&api, who.role.kind(), &who.object, &model).await {
        let e = Error::api("writing status.lastRestore", e, who);
        tracing::warn!(error = %e, "status not written");
    }
    let events = Events::new(ctx.client.clone(), &who.pod_name, cr.reference());
    let note = last.message.clone().unwrap_or_default();
    if warning {
        events.warning(reason, note).await;
    } else {
        events.normal(reason, note).await;
    }
}

/// The `result` label of `ferry_restores_total` for a recorded result.
pub fn metric_result(result: RestoreResult) -> &'static str {
    match result {
        RestoreResult::Restored => "restored",
        RestoreResult::Skipped => "skipped",
        RestoreResult::Failed => "failed",
    }
}

/// The refusal of a push while `last` holds pushes (a failed restore let the app start
/// empty), unless this push is acknowledged. The empty-source guard's reason, since that is
/// what it guards: an empty start over the good copy.
pub fn held_refusal(last: Option<&LastRestore>, acknowledged: bool) -> Option<Refusal> {
    let last = last?;
    (last.pushes_held == Some(true) && !acknowledged).then(|| Refusal {
        guard: Guard::SourceEmpty,
        message: format!(
            "refused: pod {} started on an empty volume after its restore failed (status.lastRestore), so a push could replace the copy on the remote with nothing; nothing was changed on the remote; restore the data, or {ACKNOWLEDGE}",
            last.pod.as_deref().unwrap_or("?")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_lost_and_found_leaves_a_volume_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert!(volume_is_empty(dir.path()).unwrap());
        std::fs::create_dir(dir.path().join("lost+found")).unwrap();
        assert!(volume_is_empty(dir.path()).unwrap());
        std::fs::create_dir(dir.path().join("empty-dir")).unwrap();
        assert!(
            !volume_is_empty(dir.path()).unwrap(),
            "a directory the app made is data"
        );
        assert!(volume_is_empty(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn held_pushes_are_refused_until_acknowledged() {
        let last = LastRestore {
            pod: Some("web-0".into()),
            pushes_held: Some(true),
            ..LastRestore::default()
        };
        let refusal = held_refusal(Some(&last), false).unwrap();
        assert_eq!(refusal.guard, Guard::SourceEmpty);
        assert!(refusal.message.contains("ferry.dev/acknowledge-guards"));
        assert!(held_refusal(Some(&last), true).is_none());
        assert!(held_refusal(None, false).is_none());
        let released = LastRestore {
            pushes_held: None,
            ..last
        };
        assert!(held_refusal(Some(&released), false).is_none());
    }

    #[test]
    fn failures_say_the_way_out_for_each_policy() {
        let e = Error::Spec {
            field: "spec.rclone.rcloneConfig",
            problem: "bad".into(),
        };
        let block = Wanted {
            copy: None,
            on_failure: RestoreFailurePolicy::Block,
        };
        assert!(failure_text(&e, &block).contains("StartEmpty"));
        let (last, reason, warning, result) = record_of("p", Timestamp::now(), &Err(e), &block);
        assert_eq!(
            (reason, warning, result),
            (super::reason::RESTORE_FAILED, true, "failed")
        );
        assert_eq!(last.pushes_held, None, "Block keeps the app from writing");
    }
}
