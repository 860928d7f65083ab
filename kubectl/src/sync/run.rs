//! The `sync` command's writes and its follow loop.

use std::collections::BTreeSet;
use std::time::Duration;

use ferry_api::{ReplicationDestination, ReplicationSource};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use super::{Progress, progress, token};
use crate::client::Kube;
use crate::error::{Error, Result};
use crate::objects::{self, Kind, Replication};
use crate::pods::PodFacts;
use crate::{events, table};

/// How often `--wait` reads the status and the Events.
const POLL: Duration = Duration::from_secs(1);

/// `sync NAME [--wait]`.
pub async fn sync(kube: &Kube, reference: &str, wait: bool, timeout: Duration) -> Result<()> {
    let client = &kube.client;
    let cr = objects::get(client, &kube.namespace, reference).await?;
    if let Some(schedule) = cr.trigger.as_ref().and_then(|t| t.schedule.as_ref()) {
        return Err(Error::Usage(format!(
            "{} {} syncs on the schedule \"{schedule}\"; spec.trigger.manual cannot be set beside it. \
             Its next sync is shown by `kubectl ferry status {}`; to sync on demand instead, remove \
             spec.trigger.schedule (or set the schedule on the pod with ferry.dev/schedule)",
            cr.kind.as_str(),
            cr.id(),
            cr.name
        )));
    }
    if let Some(problem) = unbound(client, &cr).await? {
        if wait {
            return Err(Error::Failed(format!(
                "{}: nothing will run the sync: {problem}",
                cr.id()
            )));
        }
        eprintln!(
            "warning: {}: {problem}; the sync runs once a pod binds it",
            cr.id()
        );
    }
    let before = cr.status.clone().unwrap_or_default();
    let triggered = Timestamp::now();
    let value = token(triggered);
    let patch = json!({"spec": {"trigger": {"manual": value}}});
    let params = PatchParams::default();
    let doing = format!(
        "setting spec.trigger.manual of {} {}",
        cr.kind.as_str(),
        cr.id()
    );
    match cr.kind {
        Kind::ReplicationSource => {
            let api: Api<ReplicationSource> = Api::namespaced(client.clone(), &cr.namespace);
            api.patch(&cr.name, &params, &Patch::Merge(&patch))
                .await
                .map(|_| ())
        }
        Kind::ReplicationDestination => {
            let api: Api<ReplicationDestination> = Api::namespaced(client.clone(), &cr.namespace);
            api.patch(&cr.name, &params, &Patch::Merge(&patch))
                .await
                .map(|_| ())
        }
    }
    .map_err(Error::api(doing))?;
    println!(
        "{} {}: sync triggered (spec.trigger.manual={value})",
        cr.kind.short(),
        cr.id()
    );
    if cr.trigger.as_ref().is_none_or(|t| t.manual.is_none()) {
        eprintln!(
            "note: {} had no trigger and synced continuously; it now syncs when triggered",
            cr.id()
        );
    }
    if !wait {
        return Ok(());
    }
    follow(kube, &cr, &before, &value, triggered, timeout).await
}

/// Why no pod will run a sync of `cr`, if none will.
async fn unbound(client: &kube::Client, cr: &Replication) -> Result<Option<String>> {
    let Some(name) = cr.bound_pod() else {
        return Ok(Some(format!(
            "no pod binds it (label a pod ferry.dev/inject=true and annotate it ferry.dev/{}: {})",
            cr.kind.short(),
            cr.name
        )));
    };
    let api: Api<Pod> = Api::namespaced(client.clone(), &cr.namespace);
    let pod = api
        .get_opt(name)
        .await
        .map_err(Error::api(format!("getting pod {}/{name}", cr.namespace)))?
        .map(|p| PodFacts::from_pod(&p));
    Ok(match pod {
        None => Some(format!("its bound pod {name} is gone")),
        Some(p) if !p.live() => Some(format!("its bound pod {name} is not running ({})", p.phase)),
        Some(_) => None,
    })
}

/// Prints the Events and condition changes until the sync ends.
async fn follow(
    kube: &Kube,
    cr: &Replication,
    before: &ferry_api::types::SyncStatus,
    value: &str,
    triggered: Timestamp,
    timeout: Duration,
) -> Result<()> {
    let client = &kube.client;
    let reference = format!("{}/{}", cr.kind.short(), cr.name);
    let mut seen: BTreeSet<String> = events::of(client, cr)
        .await?
        .into_iter()
        .map(|e| e.uid)
        .collect();
    let mut last_reason = String::new();
    let deadline = tokio::time::Instant::now() + timeout;
    let stop = ferry_kube::shutdown::signalled();
    tokio::pin!(stop);
    loop {
        let now_cr = match objects::get(client, &cr.namespace, &reference).await {
            Ok(found) => found,
            Err(Error::Api { source, .. }) if ferry_kube::retry::is_retryable(&source) => {
                tokio::time::sleep(POLL).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        let status = now_cr.status.clone().unwrap_or_default();
        for e in events::of(client, cr).await.unwrap_or_default() {
            if seen.insert(e.uid.clone()) {
                println!("  {:<8} {:<20} {}", e.type_, e.reason, e.message);
            }
        }
        if let Some(c) = status
            .conditions
            .iter()
            .find(|c| c.type_ == "Synchronizing")
        {
            let now_reason = format!("{}/{}", c.status, c.reason);
            if now_reason != last_reason {
                println!("  Synchronizing={} {}", c.status, c.reason);
                last_reason = now_reason;
            }
        }
        match progress(before, &status, value, triggered) {
            Progress::Succeeded => {
                let took = status.last_sync_duration.as_deref().unwrap_or("?");
                let stats = status
                    .last_sync_stats
                    .as_ref()
                    .map_or_else(String::new, |s| {
                        format!(
                            ": {} file(s) ({}) transferred, {} deleted, {} checked",
                            s.files_transferred,
                            table::bytes(s.bytes_transferred),
                            s.files_deleted,
                            s.files_checked
                        )
                    });
                println!("sync {value} succeeded in {took}{stats}");
                return Ok(());
            }
            Progress::Failed(reason) => {
                return Err(Error::Failed(format!(
                    "the sync of {} {} failed: {reason}",
                    cr.kind.as_str(),
                    cr.id()
                )));
            }
            Progress::Running => {}
        }
        if tokio::time::Instant::now() > deadline {
            return Err(Error::Failed(format!(
                "the sync of {} did not end within {}s; it goes on: follow it with `kubectl ferry status {}`",
                cr.id(),
                timeout.as_secs(),
                cr.name
            )));
        }
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            () = &mut stop => return Err(Error::Interrupted),
        }
    }
}
