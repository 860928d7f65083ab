//! `spec.trigger.jitter` on the real node: twenty sources on one minute schedule fire spread
//! over the minute, each at the slot its status announces, and a re-created pod (a
//! Deployment's new pod, under a new name) keeps its slot.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, ensure};
use ferry_e2e::replication::manifests::{self, Role};
use ferry_e2e::replication::observe;
use ferry_e2e::replication::{Replication, pod_name};
use ferry_e2e::wait::within;
use k8s_openapi::jiff::{Timestamp, TimestampRound, Unit};
use serde_json::{Value, json};

const SECRET: &str = "s3-creds";
const SOURCES: usize = 20;
/// Long enough for twenty pods to start on a busy node and each to reach its first slot
/// (one minute) and, after a re-creation, a caught-up sync and then its slot.
const SYNCS: Duration = Duration::from_secs(420);
/// Creating twenty claims, sources and Deployments.
const SETUP: Duration = Duration::from_secs(300);

/// Where `t` falls within its minute, in milliseconds.
fn within_minute(t: Timestamp) -> anyhow::Result<i64> {
    let minute = t.round(
        TimestampRound::new()
            .smallest(Unit::Minute)
            .mode(k8s_openapi::jiff::RoundMode::Trunc),
    )?;
    Ok(i64::try_from(t.duration_since(minute).as_millis())?)
}

/// How late a sync started after the slot its `nextSyncTime` announces, in milliseconds
/// within the minute (both fields have whole seconds).
fn lateness(status: &Value) -> anyhow::Result<i64> {
    let slot = within_minute(observe::require_time(status, "nextSyncTime")?)?;
    let started = within_minute(observe::require_time(status, "lastSyncStartTime")?)?;
    Ok((started - slot).rem_euclid(60_000))
}

/// The sync starts at its slot, after the agent wakes and reads its CR: within 10 s.
const ON_TIME_MS: i64 = 10_000;

/// Waits until source `name` shows a successful sync that started after `after` at its
/// slot (not a catch-up), and returns its status; fails at `deadline`. The status holds the
/// latest sync, so sources are waited for one after the other without waiting out each
/// one's next slot in turn.
async fn synced_after(
    fx: &Replication,
    ns: &str,
    name: &str,
    after: Timestamp,
    deadline: tokio::time::Instant,
) -> anyhow::Result<Value> {
    let limit = deadline.saturating_duration_since(tokio::time::Instant::now());
    fx.wait_status(
        Role::Source,
        ns,
        name,
        &format!("a sync of {name} at its slot after {after}, then nextSyncTime"),
        limit,
        |s| {
            let start = observe::time(&s["lastSyncStartTime"])?;
            let next = observe::time(&s["nextSyncTime"])?;
            let on_time = lateness(s).is_ok_and(|late| late <= ON_TIME_MS);
            (start > after
                && next > start
                && on_time
                && s["latestMoverStatus"]["result"] == "Successful")
                .then(|| s.clone())
        },
    )
    .await
}

/// Each source's slot (milliseconds into the minute, from `nextSyncTime`), checking that
/// the sync it just ran started at that slot of its minute.
fn slots(statuses: &BTreeMap<String, Value>) -> anyhow::Result<BTreeMap<String, i64>> {
    let mut slots = BTreeMap::new();
    for (name, status) in statuses {
        let slot = within_minute(observe::require_time(status, "nextSyncTime")?)?;
        let late = lateness(status)?;
        ensure!(
            late <= ON_TIME_MS,
            "{name}: its sync started {late} ms after its slot at {slot} ms into the minute: {status:#}"
        );
        slots.insert(name.clone(), slot);
    }
    Ok(slots)
}

#[tokio::test]
async fn twenty_sources_on_one_schedule_fire_spread_and_keep_their_slots() -> anyhow::Result<()> {
    let fx = Replication::start("jitter").await?;
    let ns = fx.namespace("jitter", true).await?;
    fx.rclone_secret(&ns, SECRET).await?;
    let bucket = fx.minio.bucket("jitter").await?;
    let names: Vec<String> = (0..SOURCES).map(|i| format!("app-{i:02}")).collect();
    within(
        SETUP,
        "creating twenty claims, sources and Deployments",
        async {
            for name in &names {
                let data = fx.volume(&ns, name).await?;
                std::fs::write(data.join("hello.txt"), format!("{name}\n"))?;
                fx.create(
                    &ns,
                    &manifests::rclone_source(
                        name,
                        name,
                        SECRET,
                        &format!("{bucket}/{name}"),
                        "Direct",
                        Some(json!({"schedule": "* * * * *", "jitter": "60s"})),
                    ),
                )
                .await?;
            }
            for name in &names {
                let template = manifests::pod_template(name, Role::Source, name, name);
                fx.create_workload(&ns, &manifests::deployment(name, 1, &template))
                    .await?;
            }
            Ok(())
        },
    )
    .await?;
    let created = Timestamp::now();
    let deadline = tokio::time::Instant::now() + SYNCS;
    let mut first = BTreeMap::new();
    for name in &names {
        first.insert(
            name.clone(),
            synced_after(&fx, &ns, name, created, deadline).await?,
        );
    }
    let before = slots(&first)?;

    // Spread: without jitter every slot would be 0 ms (all on the minute).
    let seconds: std::collections::BTreeSet<i64> = before.values().map(|ms| ms / 1000).collect();
    let spread =
        before.values().max().copied().unwrap_or(0) - before.values().min().copied().unwrap_or(0);
    ensure!(
        seconds.len() >= 10 && spread >= 30_000,
        "twenty sources fired in {} distinct seconds over {spread} ms of the minute: {before:?}",
        seconds.len()
    );

    // Every pod re-created (a new name, as a Deployment does): each keeps its slot.
    let mut old_pods = BTreeMap::new();
    for name in &names {
        let pods = fx.running_pods(&ns, &format!("app={name}"), 1).await?;
        let pod = pods.into_iter().next().context("no pod")?;
        old_pods.insert(name.clone(), pod_name(&pod));
    }
    for (name, pod) in &old_pods {
        fx.pods(&ns)
            .delete(pod, &Default::default())
            .await
            .with_context(|| format!("deleting {name}'s pod {pod}"))?;
    }
    let restarted = Timestamp::now();
    let deadline = tokio::time::Instant::now() + SYNCS;
    let mut second = BTreeMap::new();
    for name in &names {
        let pods = fx.running_pods(&ns, &format!("app={name}"), 1).await?;
        let pod = pods.into_iter().next().context("no pod")?;
        ensure!(
            pod_name(&pod) != old_pods[name],
            "{name}: the pod was not re-created"
        );
        // The new pod may first catch up on a slot missed while it started (one sync at
        // once, as for any missed schedule); the sync awaited is one at its slot.
        second.insert(
            name.clone(),
            synced_after(&fx, &ns, name, restarted, deadline).await?,
        );
    }
    let after = slots(&second)?;
    ensure!(
        before == after,
        "slots moved across a re-creation of the pods:\nbefore {before:?}\nafter  {after:?}"
    );
    fx.passed();
    Ok(())
}
