//! When the sidecar syncs, and which sidecar does: a manual trigger syncs once per new value,
//! `paused` holds a pending trigger, no trigger means continuous syncs, the pod's
//! `ferry.dev/schedule` annotation overrides the CR's schedule and fires on the minute, and
//! of two replicas bound to one ReplicationSource exactly one syncs.

use std::time::Duration;

use anyhow::{Context, ensure};
use ferry_e2e::replication::manifests::{self, Role};
use ferry_e2e::replication::observe::{self, condition_is, occurrences};
use ferry_e2e::replication::tree;
use ferry_e2e::replication::{Replication, SYNC_LIMIT, pod_name};
use ferry_e2e::wait::eventually;
use k8s_openapi::jiff::{SignedDuration, Timestamp, TimestampRound, Unit};
use serde_json::json;

const SOURCE: &str = "to-s3";
const SECRET: &str = "s3-creds";

/// A namespace with a source volume holding a tree, the rclone Secret and a fresh bucket;
/// returns `(namespace, bucket, "bucket/data")`.
async fn source_side(fx: &Replication, prefix: &str) -> anyhow::Result<(String, String, String)> {
    let ns = fx.namespace(prefix, true).await?;
    let data = fx.volume(&ns, "data").await?;
    tree::write_tree(&data, 4)?;
    fx.rclone_secret(&ns, SECRET).await?;
    let bucket = fx.minio.bucket(prefix).await?;
    let path = format!("{bucket}/data");
    Ok((ns, bucket, path))
}

#[tokio::test]
async fn a_manual_trigger_syncs_once_per_new_value() -> anyhow::Result<()> {
    let fx = Replication::start("manual").await?;
    let (ns, bucket, path) = source_side(&fx, "manual").await?;
    let template = manifests::pod_template("web", Role::Source, SOURCE, "data");
    fx.bind(
        &ns,
        &manifests::rclone_source(
            SOURCE,
            "data",
            SECRET,
            &path,
            "Direct",
            Some(manifests::manual("a")),
        ),
        &manifests::pod("web", &template),
    )
    .await?;
    let status = fx.wait_manual(Role::Source, &ns, SOURCE, "a").await?;
    ensure!(
        condition_is(&status, "Synchronizing", "False", "WaitingForManual"),
        "{status:#}"
    );
    ensure!(
        fx.minio
            .list(&bucket, "data")
            .await?
            .contains_key("data.bin"),
        "the first sync wrote nothing"
    );
    let events = fx
        .wait_occurrences(Role::Source, &ns, SOURCE, &[("SyncSucceeded", 1)])
        .await?;
    ensure!(
        occurrences(&events, "SyncStarted") == 1,
        "one trigger, one sync:\n{}",
        observe::describe(&events)
    );

    let data =
        ferry_e2e::local::volume_dir(fx.cluster, &fx.client, &ns, "data", SYNC_LIMIT).await?;
    tree::write_file(
        &data,
        "later.txt",
        b"written after the first sync\n",
        tree::now_secs(),
    )?;
    fx.trigger(Role::Source, &ns, SOURCE, "b").await?;
    let status = fx.wait_manual(Role::Source, &ns, SOURCE, "b").await?;
    ensure!(
        status["latestMoverStatus"]["result"] == "Successful",
        "{status:#}"
    );
    ensure!(
        fx.minio
            .list(&bucket, "data")
            .await?
            .contains_key("later.txt"),
        "the second trigger did not sync the new file"
    );
    let events = fx
        .wait_occurrences(Role::Source, &ns, SOURCE, &[("SyncSucceeded", 2)])
        .await?;
    ensure!(
        occurrences(&events, "SyncStarted") == 2 && occurrences(&events, "SyncSucceeded") == 2,
        "two triggers, two syncs:\n{}",
        observe::describe(&events)
    );
    fx.passed();
    Ok(())
}

#[tokio::test]
async fn paused_holds_a_pending_trigger_until_unpaused() -> anyhow::Result<()> {
    let fx = Replication::start("paused").await?;
    let (ns, bucket, path) = source_side(&fx, "paused").await?;
    let mut cr = manifests::rclone_source(
        SOURCE,
        "data",
        SECRET,
        &path,
        "Direct",
        Some(manifests::manual("x")),
    );
    cr["spec"]["paused"] = json!(true);
    let template = manifests::pod_template("web", Role::Source, SOURCE, "data");
    fx.bind(&ns, &cr, &manifests::pod("web", &template)).await?;

    let status = fx
        .wait_synchronizing(Role::Source, &ns, SOURCE, "False", "Paused")
        .await?;
    ensure!(
        condition_is(&status, "Reconciled", "True", "Bound"),
        "{status:#}"
    );
    // Seen paused: nothing ran for the pending trigger.
    ensure!(status["lastManualSync"] != "x", "{status:#}");
    let events = fx.events(Role::Source, &ns, SOURCE).await?;
    ensure!(
        occurrences(&events, "SyncStarted") == 0,
        "a paused source synced:\n{}",
        observe::describe(&events)
    );
    ensure!(
        fx.minio.list(&bucket, "data").await?.is_empty(),
        "a paused source wrote to the bucket"
    );

    fx.patch(
        Role::Source,
        &ns,
        SOURCE,
        json!({"spec": {"paused": false}}),
    )
    .await?;
    let status = fx.wait_manual(Role::Source, &ns, SOURCE, "x").await?;
    ensure!(
        status["latestMoverStatus"]["result"] == "Successful",
        "{status:#}"
    );
    ensure!(
        fx.minio
            .list(&bucket, "data")
            .await?
            .contains_key("data.bin"),
        "unpaused, the pending trigger wrote nothing"
    );
    fx.passed();
    Ok(())
}

#[tokio::test]
async fn without_a_trigger_the_source_syncs_continuously() -> anyhow::Result<()> {
    let fx = Replication::start("continuous").await?;
    let (ns, bucket, path) = source_side(&fx, "continuous").await?;
    let template = manifests::pod_template("web", Role::Source, SOURCE, "data");
    let pod = fx
        .bind(
            &ns,
            &manifests::rclone_source(SOURCE, "data", SECRET, &path, "Direct", None),
            &manifests::pod("web", &template),
        )
        .await?
        .remove(0);
    fx.wait_metric(
        &pod,
        "ferry_syncs_total",
        &[("name", SOURCE), ("result", "success")],
        2.0,
    )
    .await?;
    // A change made now is picked up without anyone asking.
    let data =
        ferry_e2e::local::volume_dir(fx.cluster, &fx.client, &ns, "data", SYNC_LIMIT).await?;
    tree::write_file(
        &data,
        "fresh.txt",
        b"picked up by the next round\n",
        tree::now_secs(),
    )?;
    eventually(SYNC_LIMIT, "fresh.txt to reach the bucket", || async {
        Ok(fx
            .minio
            .list(&bucket, "data")
            .await?
            .contains_key("fresh.txt")
            .then_some(()))
    })
    .await?;
    let status = fx.status(Role::Source, &ns, SOURCE).await?;
    ensure!(
        condition_is(&status, "Reconciled", "True", "Bound"),
        "{status:#}"
    );
    fx.passed();
    Ok(())
}

#[tokio::test]
async fn the_schedule_annotation_overrides_the_cr_and_fires_on_the_minute() -> anyhow::Result<()> {
    let fx = Replication::start("cron").await?;
    let (ns, bucket, path) = source_side(&fx, "cron").await?;
    // The CR's own schedule would fire on January 1st only.
    let cr = manifests::rclone_source(
        SOURCE,
        "data",
        SECRET,
        &path,
        "Direct",
        Some(json!({"schedule": "0 0 1 1 *"})),
    );
    let mut template = manifests::pod_template("web", Role::Source, SOURCE, "data");
    template["metadata"]["annotations"][ferry_api::annotations::SCHEDULE] = json!("* * * * *");
    fx.bind(&ns, &cr, &manifests::pod("web", &template)).await?;
    let started = Timestamp::now();

    // The first minute boundary is at most 60 s away, plus start-up and the sync itself.
    let status = fx
        .wait_status(
            Role::Source,
            &ns,
            SOURCE,
            "a scheduled sync to finish",
            Duration::from_secs(100),
            |s| s["lastSyncTime"].is_string().then(|| s.clone()),
        )
        .await?;
    let start = observe::require_time(&status, "lastSyncStartTime")?;
    let end = observe::require_time(&status, "lastSyncTime")?;
    let minute = start.round(
        TimestampRound::new()
            .smallest(Unit::Minute)
            .mode(k8s_openapi::jiff::RoundMode::Trunc),
    )?;
    ensure!(
        start >= started.checked_sub(SignedDuration::from_secs(1))?,
        "lastSyncStartTime {start} is before the pod was created ({started})"
    );
    let late = start.duration_since(minute);
    ensure!(
        late <= SignedDuration::from_secs(10),
        "the sync started {late:?} after the minute boundary {minute} (at {start})"
    );
    // The next run is counted from the end of this one: the next minute boundary after it.
    let end_minute = end.round(
        TimestampRound::new()
            .smallest(Unit::Minute)
            .mode(k8s_openapi::jiff::RoundMode::Trunc),
    )?;
    let want_next = end_minute.checked_add(SignedDuration::from_secs(60))?;
    let status = fx
        .wait_status(
            Role::Source,
            &ns,
            SOURCE,
            "nextSyncTime after the sync",
            Duration::from_secs(30),
            |s| {
                (observe::time(&s["lastSyncTime"]) == Some(end) && s["nextSyncTime"].is_string())
                    .then(|| s.clone())
            },
        )
        .await?;
    let next = observe::require_time(&status, "nextSyncTime")?;
    ensure!(
        next == want_next,
        "nextSyncTime {next}, want {want_next} (one minute after {minute}, the sync ended {end})"
    );
    ensure!(
        condition_is(&status, "Synchronizing", "False", "WaitingForSchedule"),
        "{status:#}"
    );
    ensure!(
        fx.minio
            .list(&bucket, "data")
            .await?
            .contains_key("data.bin"),
        "the scheduled sync wrote nothing"
    );
    fx.passed();
    Ok(())
}

#[tokio::test]
async fn of_two_replicas_bound_to_one_source_exactly_one_syncs() -> anyhow::Result<()> {
    let fx = Replication::start("replicas").await?;
    let (ns, _bucket, path) = source_side(&fx, "replicas").await?;
    let template = manifests::pod_template("web", Role::Source, SOURCE, "data");
    let pods = fx
        .bind(
            &ns,
            &manifests::rclone_source(
                SOURCE,
                "data",
                SECRET,
                &path,
                "Direct",
                Some(manifests::manual("one")),
            ),
            &manifests::deployment("web", 2, &template),
        )
        .await?;
    let names: Vec<String> = pods.iter().map(pod_name).collect();

    let status = fx.wait_manual(Role::Source, &ns, SOURCE, "one").await?;
    let bound = status["boundPod"]
        .as_str()
        .context("no boundPod")?
        .to_owned();
    ensure!(
        names.contains(&bound),
        "boundPod {bound} is not one of {names:?}"
    );
    fx.trigger(Role::Source, &ns, SOURCE, "two").await?;
    let status = fx.wait_manual(Role::Source, &ns, SOURCE, "two").await?;
    ensure!(status["boundPod"] == bound.as_str(), "{status:#}");
    let events = fx
        .wait_occurrences(Role::Source, &ns, SOURCE, &[("SyncSucceeded", 2)])
        .await?;
    ensure!(
        occurrences(&events, "SyncStarted") == 2,
        "two triggers, two syncs by one sidecar:\n{}",
        observe::describe(&events)
    );
    // The acting sidecar counted both; the other none.
    let acting = pods
        .iter()
        .find(|p| pod_name(p) == bound)
        .context("acting pod")?;
    fx.wait_metric(
        acting,
        "ferry_syncs_total",
        &[("name", SOURCE), ("result", "success")],
        2.0,
    )
    .await?;
    let idle = pods
        .iter()
        .find(|p| pod_name(p) != bound)
        .context("idle pod")?;
    if let Ok(metrics) = fx.metrics(idle).await {
        let syncs = metrics
            .sum("ferry_syncs_total", &[("name", SOURCE)])
            .unwrap_or_default();
        ensure!(
            syncs == 0.0,
            "the idle replica synced too:\n{}",
            metrics.text
        );
    }
    fx.passed();
    Ok(())
}

#[tokio::test]
async fn a_schedule_in_a_time_zone_is_due_at_that_zones_hour() -> anyhow::Result<()> {
    let fx = Replication::start("zone").await?;
    let (ns, _bucket, path) = source_side(&fx, "zone").await?;
    // 03:00 in Kolkata (UTC+05:30 all year, no daylight saving) is 21:30 UTC.
    let cr = manifests::rclone_source(
        SOURCE,
        "data",
        SECRET,
        &path,
        "Direct",
        Some(json!({"schedule": "0 3 * * *", "timeZone": "Asia/Kolkata"})),
    );
    let template = manifests::pod_template("web", Role::Source, SOURCE, "data");
    let before = Timestamp::now();
    fx.bind(&ns, &cr, &manifests::pod("web", &template)).await?;
    let status = fx
        .wait_synchronizing(Role::Source, &ns, SOURCE, "False", "WaitingForSchedule")
        .await?;
    let next = observe::require_time(&status, "nextSyncTime")?;
    let day = before.as_second() - before.as_second().rem_euclid(86_400);
    let mut want = Timestamp::from_second(day + 21 * 3600 + 30 * 60)?;
    if want <= before {
        want = want.checked_add(SignedDuration::from_hours(24))?;
    }
    ensure!(
        next == want,
        "nextSyncTime {next}, want {want} (03:00 Asia/Kolkata); status: {status:#}"
    );
    ensure!(status["lastSyncStartTime"].is_null(), "{status:#}");
    fx.passed();
    Ok(())
}
