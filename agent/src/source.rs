//! A source's sync: push the volume with the S3 engine or rsync, either from the live mount
//! (`Direct`) or through a mover pod that mounts a snapshot or a clone of it (`Snapshot`,
//! `Clone`). The pushes themselves ([`push_rclone`], [`push_rsync`]) are shared with the
//! mover, which runs them against its temporary volume.

use std::path::Path;
use std::time::Duration;

use ferry_api::types::SyncStats;
use ferry_api::types::{RcloneOptions, SourceCopyMethod};
use ferry_api::types::{ReplicationSourceRclone, ReplicationSourceRsync};

use super::context::{Ctx, MoverPlan, clamp};
use super::job::{Direction, Guards, Job, Layout, Outcome};
use super::resource::{Mover, Replication};
use super::secrets::{self, SecretData};
use super::{Error, Result};
use tokio_util::sync::CancellationToken;

/// Runs one sync of a source: Direct from `who.volume_path`, else through a mover, with
/// `freeze` around the cut (its Events are the sync's).
pub async fn sync(
    ctx: &Ctx,
    cr: &Replication,
    mover_image: &MoverPlan,
    pod_claim: Option<&str>,
    guards: Guards,
    freeze: &mut super::hooks::Freeze,
    cancel: CancellationToken,
) -> Result<Outcome> {
    let (method, volume) = match &cr.mover {
        Mover::SourceRclone(r) => (r.copy_method.normalized(), &r.volume),
        Mover::SourceRsync(r) => (r.copy_method.normalized(), &r.volume),
        _ => {
            return Err(Error::Spec {
                field: "spec",
                problem: "a destination mover on a ReplicationSource".to_owned(),
            });
        }
    };
    match method {
        SourceCopyMethod::Snapshot | SourceCopyMethod::Clone => {
            super::mover::through_mover(ctx, cr, method, volume, mover_image, freeze, cancel).await
        }
        _ => {
            check_direct_claim(ctx, cr, pod_claim).await?;
            // Direct copies from the live volume: the cut is the whole transfer, so the
            // freeze lasts until it ends, and the thaw follows whatever happened.
            let pushed = match freeze.freeze(None).await {
                Ok(()) => push_from(ctx, cr, &ctx.who.volume_path, guards, cancel).await,
                Err(e) => Err(e),
            };
            let thawed = freeze.thaw().await;
            match (pushed, thawed) {
                (Ok(_), Err(e)) => Err(e),
                (pushed, _) => pushed,
            }
        }
    }
}

/// Direct pushes the pod's mounted volume, so it must be the claim the CR names: a CR whose
/// `sourcePVC` is missing or names another claim must not replicate (and delete remotely)
/// whatever the pod happens to mount.
async fn check_direct_claim(ctx: &Ctx, cr: &Replication, pod_claim: Option<&str>) -> Result<()> {
    let wanted = cr.source_pvc.as_deref().unwrap_or_default();
    crate::objects::claim::get(&ctx.client, &cr.namespace, wanted).await?;
    match pod_claim {
        Some(claim) if claim == wanted => Ok(()),
        Some(claim) => Err(Error::Spec {
            field: "spec.sourcePVC",
            problem: format!(
                "\"{wanted}\" is not the claim of the pod volume {} (claim \"{claim}\"); fix spec.sourcePVC or annotate the pod with ferry.dev/volume",
                ctx.who.volume
            ),
        }),
        None => Err(Error::Spec {
            field: "spec.sourcePVC",
            problem: format!(
                "the pod volume {} is not a PVC; copyMethod Direct pushes the pod's claim \"{wanted}\"",
                ctx.who.volume
            ),
        }),
    }
}

/// Pushes `dir` as the CR says (Direct, or inside the mover), under `guards`.
pub async fn push_from(
    ctx: &Ctx,
    cr: &Replication,
    dir: &Path,
    guards: Guards,
    cancel: CancellationToken,
) -> Result<Outcome> {
    match &cr.mover {
        Mover::SourceRclone(r) => push_rclone(ctx, r, dir, guards, cancel).await,
        Mover::SourceRsync(r) => {
            // rsync cannot cheaply tell whether the destination holds data: it holds the
            // copy of the last successful push, if there was one.
            let has_copy = cr.status_text("lastSyncTime").is_some();
            if let Some(refusal) = guards.empty_source(
                ferry_api::contract::guard::has_files(dir),
                has_copy,
                "the rsync destination",
            ) {
                return Err(Error::Refused(refusal));
            }
            push_rsync(ctx, r, dir, cancel).await
        }
        _ => Err(Error::Spec {
            field: "spec",
            problem: "a destination mover on a ReplicationSource".to_owned(),
        }),
    }
}

/// Pushes `dir` to the CR's S3 remote.
pub async fn push_rclone(
    ctx: &Ctx,
    spec: &ReplicationSourceRclone,
    dir: &Path,
    guards: Guards,
    cancel: CancellationToken,
) -> Result<Outcome> {
    let secret = rclone_secret(ctx, &spec.rclone).await?;
    let mut job = Job::new(Direction::Push, dir, &spec.rclone, layout_of(spec), &secret);
    job.guards = guards;
    (ctx.engine)(job, cancel).await
}

/// Where a source's pushes go: plain, or timestamped copies with their `retain`.
pub fn layout_of(spec: &ReplicationSourceRclone) -> Layout {
    if spec.timestamp_prefix.unwrap_or(false) {
        Layout::Timestamped {
            retain: spec.retain.and_then(|r| usize::try_from(r).ok()),
            lock: spec.object_lock,
        }
    } else {
        Layout::Plain
    }
}

/// Verifies the newest complete copy of the CR's S3 remote (`spec.rclone.verify`).
pub async fn verify_rclone(
    ctx: &Ctx,
    spec: &ReplicationSourceRclone,
    how: super::job::VerifyJob,
    cancel: CancellationToken,
) -> Result<Outcome> {
    let secret = rclone_secret(ctx, &spec.rclone).await?;
    let mut job = Job::new(
        Direction::Verify,
        &ctx.who.volume_path,
        &spec.rclone,
        layout_of(spec),
        &secret,
    );
    job.verify = Some(how);
    (ctx.engine)(job, cancel).await
}

/// The Secret the CR's `rclone` options name.
pub async fn rclone_secret(ctx: &Ctx, rclone: &RcloneOptions) -> Result<SecretData> {
    secrets::read(
        &ctx.client,
        &ctx.who,
        "spec.rclone.rcloneConfig",
        &rclone.rclone_config,
    )
    .await
}

/// Pushes `dir` with rsync over `ferry-sidecar ssh` to the CR's destination.
pub async fn push_rsync(
    ctx: &Ctx,
    spec: &ReplicationSourceRsync,
    dir: &Path,
    cancel: CancellationToken,
) -> Result<Outcome> {
    use ferry_rsync::rsync::command::{Completion, PushOptions};
    use ferry_rsync::ssh::client::ClientSettings;
    use ferry_rsync::ssh::keyset::PublicKeySet;

    let address = spec.address.clone().ok_or_else(|| Error::Spec {
        field: "spec.rsync.address",
        problem: "is not set; copy status.rsync.address of the ReplicationDestination here"
            .to_owned(),
    })?;
    let keys_name = spec.ssh_keys.clone().ok_or_else(|| Error::Spec {
        field: "spec.rsync.sshKeys",
        problem: "is not set; copy the Secret named in the destination's status.rsync.sshKeys and name it here".to_owned(),
    })?;
    let keys = secrets::read(&ctx.client, &ctx.who, "spec.rsync.sshKeys", &keys_name).await?;
    let dir_keys = ctx.who.scratch.join("ssh");
    let key = keys.write(ferry_rsync::keys::SOURCE, &dir_keys)?;
    let pinned_text = keys.text(ferry_rsync::keys::DESTINATION_PUB)?;
    let pinned = PublicKeySet::parse(
        &pinned_text,
        &format!("Secret {keys_name} key destination.pub"),
    )?;
    let port = u16::try_from(spec.port).map_err(|_| Error::Spec {
        field: "spec.rsync.port",
        problem: format!("{} is not a port number", spec.port),
    })?;
    // A Ferry destination ignores the user; a plain OpenSSH host needs one. Only a Ferry
    // destination understands the completion signal, so an explicit sshUser means a plain
    // host, as with VolSync's `sshUser` (its default, root, is for its own destination).
    let (user, completion) = match &spec.ssh_user {
        Some(user) => (user.clone(), Completion::Skip),
        None => ("ferry".to_owned(), Completion::Signal),
    };
    let transport = super::env::sidecar_binary()?;
    let push = ferry_rsync::rsync::push::Push {
        rsync: ctx.who.rsync.clone(),
        transport,
        source_dir: dir.to_path_buf(),
        remote_path: spec.path.trim_start_matches('/').to_owned(),
        ssh: ClientSettings {
            host: address,
            port,
            user,
            key,
            pinned,
            keys_secret: Some(format!("{}/{keys_name}", ctx.who.namespace)),
            connect_timeout: Duration::from_secs(30),
            tuning: ferry_rsync::ssh::tuning::Tuning::default(),
        },
        options: PushOptions {
            completion,
            ..PushOptions::default()
        },
        sync_id: ferry_rsync::rsync::cli::new_sync_id(),
    };
    let outcome = tokio::select! {
        result = ferry_rsync::rsync::push::push(&push) => match result {
            Err(ferry_rsync::rsync::Error::Unreadable { count, paths }) => {
                return Err(Error::Unreadable { count, paths });
            }
            other => other?,
        },
        () = cancel.cancelled() => return Err(Error::Interrupted),
    };
    let stats = outcome.stats.unwrap_or_default();
    Ok(Outcome {
        refused: None,
        verified: None,
        restored: None,
        stats: SyncStats {
            bytes_transferred: clamp(stats.bytes_transferred()),
            files_transferred: clamp(stats.files_transferred),
            files_deleted: clamp(stats.files_deleted),
            files_checked: clamp(stats.files_checked),
            requests: None,
        },
        logs: format!(
            "rsync: {} file(s), {} byte(s) sent{}",
            stats.files_transferred,
            stats.bytes_transferred(),
            if outcome.completed {
                ", completion signalled"
            } else {
                ""
            }
        ),
    })
}
