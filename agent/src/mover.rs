//! `copyMethod: Snapshot` and `Clone`: the sidecar makes a point-in-time copy of the source
//! PVC, mounts it in a mover pod (same image, `ferry-sidecar mover`) that pushes it, and
//! removes the temporary objects afterwards, whatever happened. The mover reports its
//! result in an annotation on its own pod, which the sidecar reads when the pod ends.

use ferry_api::types::SyncStats;
use ferry_api::types::{SourceCopyMethod, VolumeOptions};
use k8s_openapi::api::core::v1::EnvVar;
use serde::{Deserialize, Serialize};

use super::context::{CUT_TIMEOUT, Ctx, MOVER_TIMEOUT, MoverPlan, SNAPSHOT_TIMEOUT};
use super::env::Identity;
use super::hooks::Freeze;
use super::job::Outcome;
use super::resource::Replication;
use super::{Error, Result};
use crate::objects;
use tokio_util::sync::CancellationToken;

/// How long a temporary PVC may take to bind.
const BIND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// What the mover writes into its pod's result annotation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MoverReport {
    /// Whether the push succeeded.
    pub succeeded: bool,
    /// Its counts.
    #[serde(default)]
    pub stats: SyncStats,
    /// The log tail, or the error.
    #[serde(default)]
    pub logs: String,
    /// The failure's reason word ([`Error::reason`]), when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Whether only a change (spec, Secret, bucket) can fix the failure.
    #[serde(default)]
    pub needs_change: bool,
    /// A guard's refusal that did not fail the push (the retention limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<super::job::Refusal>,
}

/// Runs one push through a snapshot or a clone and a mover pod.
pub async fn through_mover(
    ctx: &Ctx,
    cr: &Replication,
    method: SourceCopyMethod,
    volume: &VolumeOptions,
    plan: &MoverPlan,
    freeze: &mut Freeze,
    cancel: CancellationToken,
) -> Result<Outcome> {
    use super::events::reason;
    let events = &freeze.events().clone();
    let owner = cr.owner();
    // Leftovers of a run that was killed go first, so names and quotas are free.
    let cleaned = objects::cleanup::temporaries(&ctx.client, &cr.namespace, &owner.uid).await?;
    if cleaned.pods + cleaned.claims + cleaned.snapshots > 0 {
        tracing::info!(?cleaned, "deleted leftovers of an interrupted sync");
        events
            .normal(
                reason::CLEANED_UP,
                format!(
                    "deleted what an interrupted sync left: {} mover pod(s), {} PVC(s), {} VolumeSnapshot(s)",
                    cleaned.pods, cleaned.claims, cleaned.snapshots
                ),
            )
            .await;
    }
    let result = tokio::select! {
        result = push_through(ctx, cr, method, volume, plan, events, freeze) => result,
        () = cancel.cancelled() => Err(Error::Interrupted),
    };
    // A postSync follows every preSync that was sent, whatever ended the work: a failed
    // snapshot, a timeout, SIGTERM or the pod's deletion. Nothing happens when the cut
    // already thawed.
    let thawed = freeze.thaw().await;
    if let Err(e) = objects::cleanup::temporaries(&ctx.client, &cr.namespace, &owner.uid).await {
        tracing::warn!(error = %e, "could not delete the temporary objects; the next sync retries");
    }
    match (result, thawed) {
        (Ok(_), Err(e)) => Err(e),
        (result, _) => result,
    }
}

async fn push_through(
    ctx: &Ctx,
    cr: &Replication,
    method: SourceCopyMethod,
    volume: &VolumeOptions,
    plan: &MoverPlan,
    events: &super::events::Events,
    freeze: &mut Freeze,
) -> Result<Outcome> {
    let client = &ctx.client;
    let ns = cr.namespace.as_str();
    let owner = cr.owner();
    let labels = owner.temporary_labels();
    let source_pvc = cr.source_pvc.clone().unwrap_or_default();
    let source = objects::claim::get(client, ns, &source_pvc).await?;
    let base = temporary_name(&cr.name, jiff::Timestamp::now());
    let template = match method {
        SourceCopyMethod::Snapshot => {
            let class = volume.volume_snapshot_class_name.as_deref();
            objects::snapshot::check_class(client, class).await?;
            freeze.freeze(Some(&source_pvc)).await?;
            objects::snapshot::create(client, ns, &base, &source_pvc, class, &labels, Some(&owner))
                .await?;
            // The cut: the snapshot holds the volume as of its creation time. The app is
            // thawed now, before the snapshot is ready and long before the transfer.
            objects::snapshot::wait_cut(client, ns, &base, CUT_TIMEOUT).await?;
            freeze.cut().await?;
            let ready = objects::snapshot::wait_ready(client, ns, &base, SNAPSHOT_TIMEOUT).await?;
            events
                .normal(
                    super::events::reason::SNAPSHOT_READY,
                    format!("VolumeSnapshot {} of PVC {source_pvc} is ready", ready.name),
                )
                .await;
            let template = objects::claim::template(&source, volume, ready.restore_size.as_deref());
            objects::claim::create_from_snapshot(
                client,
                ns,
                &base,
                &base,
                &template,
                &labels,
                Some(&owner),
            )
            .await?;
            template
        }
        _ => {
            let template = objects::claim::template(&source, volume, None);
            freeze.freeze(Some(&source_pvc)).await?;
            objects::claim::create_clone(
                client,
                ns,
                &base,
                &source_pvc,
                &template,
                &labels,
                Some(&owner),
            )
            .await?;
            template
        }
    };
    tracing::debug!(?template, claim = %base, "temporary claim created");
    // With an `Immediate` class the claim binds now; with `WaitForFirstConsumer` it binds only
    // once the mover pod uses it, so a claim still pending after the wait is not an error.
    // A bound clone is cut, so the app is thawed then; a snapshot was thawed already.
    let cut_pending = match objects::claim::wait_bound(client, ns, &base, BIND_TIMEOUT).await {
        Ok(()) => {
            freeze.cut().await?;
            false
        }
        Err(objects::Error::Timeout { .. }) => {
            tracing::info!(claim = %base, "claim not bound yet; the mover pod binds it (WaitForFirstConsumer)");
            true
        }
        Err(e) => return Err(e.into()),
    };
    let spec = objects::mover::Spec {
        name: format!("{base}-mover"),
        namespace: ns.to_owned(),
        image: plan.image.clone(),
        service_account: plan.service_account.clone(),
        claim: base.clone(),
        read_only: true,
        env: mover_env(&ctx.who),
        secrets: Vec::new(),
        run_as_user: plan.run_as_user,
        pod_security_context: volume.mover_security_context.clone(),
        resources: volume.mover_resources.clone(),
        labels,
        owner: Some(owner),
    };
    events
        .normal(
            super::events::reason::MOVER_STARTED,
            format!(
                "mover pod {} pushes claim {base} ({method:?} of PVC {source_pvc})",
                spec.name
            ),
        )
        .await;
    let outcome = if cut_pending {
        // WaitForFirstConsumer: the clone is cut when the mover pod binds it; thaw then,
        // while the mover runs.
        let cut = async {
            objects::claim::wait_bound(client, ns, &base, MOVER_TIMEOUT).await?;
            freeze.cut().await
        };
        let (outcome, cut) = tokio::join!(objects::mover::run(client, &spec, MOVER_TIMEOUT), cut);
        cut?;
        outcome?
    } else {
        objects::mover::run(client, &spec, MOVER_TIMEOUT).await?
    };
    let report: Option<MoverReport> = outcome.result.and_then(|v| serde_json::from_value(v).ok());
    match report {
        Some(report) if outcome.succeeded && report.succeeded => Ok(Outcome {
            stats: report.stats,
            logs: report.logs,
            refused: report.refused,
            verified: None,
            restored: None,
        }),
        Some(report) => Err(Error::Mover {
            name: spec.name,
            message: report.logs,
            reason: report.reason,
            needs_change: report.needs_change,
        }),
        None => Err(Error::Mover {
            reason: None,
            needs_change: false,
            name: spec.name,
            message: match outcome.exit_code {
                Some(code) => format!("exited {code} without a report; see its log"),
                None => "ended without a report; see its log".to_owned(),
            },
        }),
    }
}

/// `<cr>-ferry-<unix seconds>`, cut so `-mover` still fits a pod name.
pub fn temporary_name(cr: &str, at: jiff::Timestamp) -> String {
    let stamp = at.as_second();
    let mut base = cr.to_owned();
    base.truncate(40);
    format!("{}-ferry-{stamp}", base.trim_end_matches(['-', '.']))
}

fn mover_env(who: &Identity) -> Vec<EnvVar> {
    let var = |name: &str, value: String| EnvVar {
        name: name.to_owned(),
        value: Some(value),
        value_from: None,
    };
    use ferry_api::contract::env;
    vec![
        var(env::FERRY_ROLE, who.role.as_str().to_owned()),
        var(env::FERRY_OBJECT, who.object.clone()),
        var(env::FERRY_VOLUME, "data".to_owned()),
        var(
            env::FERRY_VOLUME_PATH,
            objects::mover::VOLUME_PATH.to_owned(),
        ),
        var(env::FERRY_SCRATCH_DIR, "/tmp/ferry".to_owned()),
        var(env::SERVICE_ACCOUNT, who.service_account.clone()),
    ]
}
