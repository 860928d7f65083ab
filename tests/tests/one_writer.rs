//! One writer per CR at no cost while idle (issue 26), on the real node:
//! - a bound source with no sync running makes no write request at all, as the apiserver's
//!   audit log records it (its ServiceAccount's writes, over 60 s);
//! - two pods bound to one source never sync at once: the S3 engine process of a sync is
//!   sampled on the node, and never runs in both pods at the same time, before, during or
//!   after a takeover;
//! - when the holder's pod is deleted, the standby takes the Lease over within the bound
//!   `docs/design/one-writer.md` documents, and syncs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, ensure};
use ferry_e2e::audit;
use ferry_e2e::replication::manifests::{self, Role};
use ferry_e2e::replication::{Replication, observe, pod_name, process};
use ferry_e2e::wait::eventually;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::DeleteParams;

const SECRET: &str = "s3-creds";
/// How long the idle source is watched.
const IDLE: Duration = Duration::from_secs(60);
/// The documented bound on a takeover after the holder's pod is deleted
/// (docs/design/one-writer.md): the app's own shutdown (here at once), the holder's sidecar
/// interrupting its sync (at most 20 s), the standby's next read (at most 5 s), and 5 s for
/// the kubelet and the API.
const TAKEOVER_AFTER_DELETE: Duration = Duration::from_secs(30);

/// The verbs that write.
fn is_write(verb: &str) -> bool {
    matches!(
        verb,
        "create" | "update" | "patch" | "delete" | "deletecollection"
    )
}

#[tokio::test]
async fn a_bound_idle_source_makes_no_write_request() -> anyhow::Result<()> {
    let fx = Replication::start("idle").await?;
    let ns = fx.namespace("idle", true).await?;
    fx.rclone_secret(&ns, SECRET).await?;
    let bucket = fx.minio.bucket("idle").await?;
    let data = fx.volume(&ns, "data").await?;
    std::fs::write(data.join("hello.txt"), "hello\n")?;
    fx.create(
        &ns,
        &manifests::rclone_source(
            "idle",
            "data",
            SECRET,
            &format!("{bucket}/idle"),
            "Direct",
            Some(manifests::manual("first")),
        ),
    )
    .await?;
    let template = manifests::pod_template("app", Role::Source, "idle", "data");
    fx.create_workload(&ns, &manifests::pod("app", &template))
        .await?;
    // Bound, one sync done: then idle until the manual trigger changes.
    fx.wait_manual(Role::Source, &ns, "idle", "first").await?;
    fx.wait_occurrences(Role::Source, &ns, "idle", &[("SyncSucceeded", 1)])
        .await?;
    let user = audit::service_account(&ns, "default");
    let mine = |w: &audit::Write| w.user == user && w.namespace == ns && is_write(&w.verb);

    // The log sees this sidecar's writes: the Lease taken, the status, the Events.
    let before = audit::writes(fx.cluster, mine)?;
    let listed = || {
        before
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    };
    for resource in ["leases", "replicationsources/status", "events"] {
        ensure!(
            before.iter().any(|w| w.resource == resource),
            "the audit log shows no write of {resource} by {user} while it bound and synced:\n{}",
            listed()
        );
    }

    // Settle (an Event's write may still be in flight), then watch for a minute.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let from = Timestamp::now();
    tokio::time::sleep(IDLE).await;
    let to = Timestamp::now();
    // The apiserver writes its audit lines as it answers; give the last ones a moment.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let during: Vec<audit::Write> = audit::writes(fx.cluster, mine)?
        .into_iter()
        .filter(|w| w.at >= from && w.at <= to)
        .collect();
    let total_writes = audit::writes(fx.cluster, |w| {
        w.at >= from && w.at <= to && is_write(&w.verb)
    })?
    .len();
    println!(
        "idle source: {} write request(s) by {user} in {IDLE:?} (the audit log recorded {total_writes} service-account writes in the cluster meanwhile; {} by this sidecar before)",
        during.len(),
        before.len()
    );
    ensure!(
        during.is_empty(),
        "the idle source's sidecar wrote {} time(s) in {IDLE:?}:\n{}",
        during.len(),
        during
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );

    // Still bound and running all along: one pod, its sidecar never restarted.
    let pods = fx.running_pods(&ns, "app=app", 1).await?;
    let pod = pods.first().context("no pod")?;
    let restarts: i32 = pod
        .status
        .as_ref()
        .and_then(|s| {
            s.init_container_statuses
                .clone()
                .or(s.container_statuses.clone())
        })
        .unwrap_or_default()
        .iter()
        .filter(|c| c.name == "ferry-sidecar")
        .map(|c| c.restart_count)
        .sum();
    ensure!(restarts == 0, "the sidecar restarted {restarts} time(s)");
    let status = fx.status(Role::Source, &ns, "idle").await?;
    ensure!(
        status["boundPod"] == "app",
        "status.boundPod is not app: {status:#}"
    );
    fx.passed();
    Ok(())
}

/// Samples, every 50 ms, which pods of `ns` run a sync's S3 engine process, until stopped.
struct Sampler {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Vec<(Timestamp, Vec<String>)>>,
}

impl Sampler {
    fn start(ns: &str) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let ns = ns.to_owned();
        let stopped = Arc::clone(&stop);
        let task = tokio::task::spawn_blocking(move || {
            let mut samples = Vec::new();
            while !stopped.load(Ordering::Relaxed) {
                samples.push((Timestamp::now(), process::pods_running(&ns, "engine")));
                std::thread::sleep(Duration::from_millis(50));
            }
            samples
        });
        Sampler { stop, task }
    }

    async fn finish(self) -> anyhow::Result<Vec<(Timestamp, Vec<String>)>> {
        self.stop.store(true, Ordering::Relaxed);
        Ok(self.task.await?)
    }
}

/// The Lease's holder pod name and acquireTime, if held.
async fn holder(leases: &Api<Lease>, name: &str) -> anyhow::Result<Option<(String, Timestamp)>> {
    let Some(lease) = leases.get_opt(name).await? else {
        return Ok(None);
    };
    let spec = lease.spec.unwrap_or_default();
    let Some(identity) = spec.holder_identity.filter(|h| !h.is_empty()) else {
        return Ok(None);
    };
    let pod = identity
        .rsplit_once('_')
        .map_or(identity.as_str(), |(pod, _)| pod)
        .to_owned();
    let acquired = spec
        .acquire_time
        .context("a held Lease has no acquireTime")?;
    Ok(Some((pod, acquired.0)))
}

/// Waits until `name`'s status shows `count` more completed syncs (by `lastSyncTime`, whole
/// seconds) after `after`.
async fn more_syncs(
    fx: &Replication,
    ns: &str,
    name: &str,
    after: Timestamp,
    count: usize,
) -> anyhow::Result<()> {
    let mut last = after;
    for i in 0..count {
        last = fx
            .wait_status(
                Role::Source,
                ns,
                name,
                &format!("completed sync {} of {count} after {after}", i + 1),
                Duration::from_secs(120),
                |s| {
                    observe::time(&s["lastSyncTime"])
                        .filter(|t| *t > last && s["latestMoverStatus"]["result"] == "Successful")
                },
            )
            .await?;
    }
    Ok(())
}

#[tokio::test]
async fn two_pods_of_one_source_never_sync_at_once_and_the_standby_takes_over() -> anyhow::Result<()>
{
    let fx = Replication::start("one-writer").await?;
    let ns = fx.namespace("one-writer", true).await?;
    fx.rclone_secret(&ns, SECRET).await?;
    let bucket = fx.minio.bucket("one-writer").await?;
    let data = fx.volume(&ns, "data").await?;
    for i in 0..20 {
        std::fs::write(
            data.join(format!("file-{i:02}.txt")),
            format!("{i}\n").repeat(512),
        )?;
    }
    // No trigger: the holder syncs continuously, one sync after the other, so a second
    // writer would overlap it at once.
    fx.create(
        &ns,
        &manifests::rclone_source(
            "shared",
            "data",
            SECRET,
            &format!("{bucket}/shared"),
            "Direct",
            None,
        ),
    )
    .await?;
    let sampler = Sampler::start(&ns);
    let template = manifests::pod_template("shared", Role::Source, "shared", "data");
    fx.create_workload(&ns, &manifests::pod("one", &template))
        .await?;
    fx.create_workload(&ns, &manifests::pod("two", &template))
        .await?;
    fx.running_pods(&ns, "app=shared", 2).await?;
    let leases: Api<Lease> = Api::namespaced(fx.client.clone(), &ns);
    let lease = "ferry-src-shared";
    let (first, _) = eventually(Duration::from_secs(90), "a holder of the Lease", || async {
        holder(&leases, lease).await
    })
    .await?;
    let second = if first == "one" { "two" } else { "one" }.to_owned();
    fx.wait_event(Role::Source, &ns, "shared", "Standby")
        .await?;
    more_syncs(&fx, &ns, "shared", Timestamp::now(), 3).await?;

    // Delete the holder while it syncs; the standby takes over.
    let deleted = Timestamp::now();
    fx.pods(&ns)
        .delete(&first, &DeleteParams::default())
        .await
        .with_context(|| format!("deleting the holder {first}"))?;
    let acquired = eventually(
        TAKEOVER_AFTER_DELETE + Duration::from_secs(30),
        &format!("{second} to hold the Lease"),
        || async {
            Ok(holder(&leases, lease)
                .await?
                .filter(|(pod, _)| *pod == second)
                .map(|(_, at)| at))
        },
    )
    .await?;
    let takeover = acquired.duration_since(deleted);
    println!(
        "takeover: {second} acquired the Lease {:.1} s after {first} was deleted (bound {TAKEOVER_AFTER_DELETE:?})",
        takeover.as_secs_f64()
    );
    ensure!(
        takeover.as_secs_f64() <= TAKEOVER_AFTER_DELETE.as_secs_f64(),
        "{second} took the Lease over {:.1} s after {first} was deleted: over the documented {TAKEOVER_AFTER_DELETE:?}",
        takeover.as_secs_f64()
    );
    more_syncs(&fx, &ns, "shared", acquired, 3).await?;
    let status = fx.status(Role::Source, &ns, "shared").await?;
    ensure!(
        status["boundPod"] == second.as_str(),
        "status.boundPod is not {second} after the takeover: {status:#}"
    );

    // Never both at once; each synced in its turn (the check saw both, so it can fail).
    let samples = sampler.finish().await?;
    let both: Vec<&(Timestamp, Vec<String>)> =
        samples.iter().filter(|(_, pods)| pods.len() > 1).collect();
    let syncing = |pod: &str| {
        samples
            .iter()
            .filter(|(_, pods)| pods.iter().any(|p| p == pod))
            .map(|(t, _)| *t)
            .collect::<Vec<_>>()
    };
    let (by_first, by_second) = (syncing(&first), syncing(&second));
    println!(
        "{} samples over {:.0} s: {first} synced in {}, {second} in {}, both in {}",
        samples.len(),
        samples
            .last()
            .zip(samples.first())
            .map_or(0.0, |(l, f)| l.0.duration_since(f.0).as_secs_f64()),
        by_first.len(),
        by_second.len(),
        both.len()
    );
    ensure!(
        both.is_empty(),
        "two pods ran a sync of one source at once: {both:?}"
    );
    ensure!(
        !by_first.is_empty() && !by_second.is_empty(),
        "the sampler did not see both pods sync ({first}: {}, {second}: {})",
        by_first.len(),
        by_second.len()
    );
    let last_first = by_first.iter().max().context("no sample")?;
    let first_second = by_second.iter().min().context("no sample")?;
    ensure!(
        first_second > last_first,
        "{second} synced at {first_second} before {first}'s last sync at {last_first}"
    );
    ensure!(
        pod_name(&fx.running_pods(&ns, "app=shared", 1).await?[0]) == second,
        "the pod left is not {second}"
    );
    fx.passed();
    Ok(())
}
