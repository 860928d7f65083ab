//! Immutable copies and the cost of a sync (issue 24), end to end on the test cluster with
//! MinIO: a ReplicationSource with `spec.rclone.objectLock` writes each timestamped copy
//! locked, MinIO refuses to delete it, pruning leaves it and says until when (in the
//! sync's summary, `latestMoverStatus.logs`); a bucket without Object Lock fails the sync naming the field;
//! and the S3 requests of a no-change re-sync of 10,000 files, read from the status, are a
//! few dozen at most and the ones a proxy in front of MinIO counted (also in the
//! `SyncSucceeded` Event and in `ferry_s3_requests_total`).
//!
//! Results are read as a user reads them: the CR's status, its Events, the sidecar's
//! metrics, and the bucket.

mod node_proxy;

use node_proxy::start_proxy;

use std::sync::atomic::Ordering;

use anyhow::{Context, ensure};
use aws_sdk_s3::types::ObjectLockMode;
use ferry_e2e::replication::manifests::Role;
use ferry_e2e::replication::observe;
use ferry_e2e::replication::tree;
use ferry_e2e::replication::{Replication, SYNC_LIMIT};
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

const SOURCE: &str = "vault";
const SECRET: &str = "s3-creds";

/// Creates the Secret (`conf`), binds a Direct source of `data` to `dest` with `options`
/// added to its `rclone` spec to a pod `web`, and waits for the manual sync "one".
async fn bind_source(
    fx: &Replication,
    ns: &str,
    dest: &str,
    conf: &str,
    options: Value,
) -> anyhow::Result<Pod> {
    let pod = fx
        .bind_rclone_source(ns, (SOURCE, SECRET), dest, conf, &options)
        .await?;
    fx.wait_manual(Role::Source, ns, SOURCE, "one").await?;
    Ok(pod)
}

/// Waits until the manual sync `token` completed; returns the status.
async fn wait_synced(fx: &Replication, ns: &str, token: &str) -> anyhow::Result<Value> {
    fx.wait_status(
        Role::Source,
        ns,
        SOURCE,
        &format!("the manual sync {token:?} to finish"),
        SYNC_LIMIT,
        |s| (s["lastManualSync"] == token).then(|| s.clone()),
    )
    .await
}

/// The timestamped copies below `app/` (the listing's keys are relative to it; a copy's
/// manifest, `<stamp>.ferry-manifest`, sits beside its directory).
async fn stamps(fx: &Replication, bucket: &str) -> anyhow::Result<Vec<String>> {
    let listed = fx.minio.list_all(bucket, "app").await?;
    let mut all: Vec<String> = listed
        .keys()
        .filter_map(|k| k.split_once('/').map(|(s, _)| s.to_owned()))
        .collect();
    all.dedup();
    Ok(all)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_locked_copy_stays_until_its_date_and_a_bucket_without_lock_is_named()
-> anyhow::Result<()> {
    let fx = Replication::start("locked").await?;
    let ns = fx.namespace("locked", true).await?;
    let bucket = fx.minio.locked_bucket("locked").await?;
    let data = fx.volume(&ns, "data").await?;
    tree::write_tree(&data, 11)?;
    let options = json!({"timestampPrefix": true, "retain": 1,
        "objectLock": {"mode": "Governance", "retainDays": 1}});
    bind_source(
        &fx,
        &ns,
        &format!("{bucket}/app"),
        &fx.minio.rclone_conf(),
        options,
    )
    .await?;
    let [first] = <[String; 1]>::try_from(stamps(&fx, &bucket).await?)
        .map_err(|s| anyhow::anyhow!("one copy expected: {s:?}"))?;

    // Each object is locked for a day, and MinIO refuses to delete its version.
    let key = format!("app/{first}/docs/readme.txt");
    let head = fx
        .minio
        .client
        .head_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await?;
    ensure!(
        head.object_lock_mode() == Some(&ObjectLockMode::Governance),
        "{key}: {head:?}"
    );
    let until = head
        .object_lock_retain_until_date()
        .context("no retain-until date")?
        .secs();
    let now = k8s_openapi::jiff::Timestamp::now().as_second();
    ensure!(
        (now + 86_400 - 600..=now + 86_400).contains(&until),
        "{key} is locked until {until}, not a day after {now}"
    );
    let version = head.version_id().context("no version")?.to_owned();
    let refused = fx
        .minio
        .client
        .delete_object()
        .bucket(&bucket)
        .key(&key)
        .version_id(&version)
        .send()
        .await;
    let err = match refused {
        Ok(_) => anyhow::bail!("MinIO deleted a locked version of {key}"),
        Err(e) => format!("{:?}", aws_sdk_s3::error::DisplayErrorContext(&e)),
    };
    ensure!(err.contains("Object is WORM protected"), "{err}");

    // A second copy: the first is beyond retain 1 and locked, so it waits, and the sync's
    // summary says until when (the status's mover logs; the Event series of
    // SyncSucceeded keeps its first note).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    tree::write_file(&data, "docs/new.txt", b"second copy", tree::TREE_MTIME)?;
    fx.trigger(Role::Source, &ns, SOURCE, "two").await?;
    let status = wait_synced(&fx, &ns, "two").await?;
    let logs = status["latestMoverStatus"]["logs"]
        .as_str()
        .unwrap_or_default();
    ensure!(
        status["latestMoverStatus"]["result"] == "Successful"
            && logs.contains(&format!(
                "1 old copy beyond retain locked, not pruned: {first} until 20"
            )),
        "{status:#}"
    );
    ensure!(stamps(&fx, &bucket).await?.len() == 2, "a locked copy went");

    // The same source pointed at a bucket without Object Lock fails, naming the field.
    let plain = fx.minio.bucket("unlocked").await?;
    fx.patch(
        Role::Source,
        &ns,
        SOURCE,
        json!({"spec": {"rclone": {"rcloneDestPath": format!("{plain}/app")}}}),
    )
    .await?;
    fx.trigger(Role::Source, &ns, SOURCE, "three").await?;
    let failed = fx
        .wait_status(
            Role::Source,
            &ns,
            SOURCE,
            "the sync into a bucket without Object Lock to fail",
            SYNC_LIMIT,
            |s| (s["latestMoverStatus"]["result"] == "Failed").then(|| s.clone()),
        )
        .await?;
    let message = observe::condition_message(&failed, "Synchronizing");
    ensure!(
        message.contains(&format!(
            "spec.rclone.objectLock: bucket \"{plain}\" does not have Object Lock enabled"
        )),
        "{failed:#}"
    );
    ensure!(
        fx.minio.list_all(&plain, "").await?.is_empty(),
        "something was written to {plain}"
    );
    fx.passed();
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_no_change_resync_of_10000_files_costs_a_few_requests_as_the_proxy_counts()
-> anyhow::Result<()> {
    let fx = Replication::start("requests").await?;
    let ns = fx.namespace("requests", true).await?;
    let bucket = fx.minio.bucket("requests").await?;
    let data = fx.volume(&ns, "data").await?;
    for i in 0..10_000u32 {
        tree::write_file(
            &data,
            &format!("d{:02}/f{i:05}.txt", i / 100),
            format!("file {i}\n").as_bytes(),
            tree::TREE_MTIME,
        )?;
    }
    let proxy = start_proxy(&fx, None)?;
    let conf = fx
        .minio
        .rclone_conf()
        .replace(&fx.minio.pod_endpoint, &proxy.endpoint);
    let pod = bind_source(&fx, &ns, &format!("{bucket}/app"), &conf, json!({})).await?;
    let first = fx.status(Role::Source, &ns, SOURCE).await?;
    ensure!(
        first["lastSyncStats"]["filesTransferred"] == 10_000,
        "{first:#}"
    );

    proxy.counters.reset_counts();
    fx.trigger(Role::Source, &ns, SOURCE, "two").await?;
    let status = wait_synced(&fx, &ns, "two").await?;
    let stats = &status["lastSyncStats"];
    ensure!(stats["filesTransferred"] == 0, "{status:#}");
    let requests = &stats["requests"];
    let total = requests["total"].as_i64().context("no requests.total")?;
    let seen = proxy.counters.requests.load(Ordering::SeqCst);
    ensure!(
        total <= 40 && requests["head"] == 0,
        "a no-change re-sync of 10,000 files sent {requests}"
    );
    ensure!(
        u64::try_from(total)? == seen,
        "the status says {total} requests ({requests}), the proxy saw {seen}"
    );
    let listed = requests["list"].as_i64().unwrap_or(-1) + requests["get"].as_i64().unwrap_or(-1);
    let got =
        proxy.counters.get.load(Ordering::SeqCst) + proxy.counters.list.load(Ordering::SeqCst);
    ensure!(
        u64::try_from(listed)? == got,
        "listings and GETs: the status says {listed}, the proxy saw {got}"
    );

    // The Event of the first sync carries its counts (a series keeps its first note).
    let first_total = first["lastSyncStats"]["requests"]["total"]
        .as_i64()
        .context("no requests in the first sync's status")?;
    let events = fx
        .wait_occurrences(Role::Source, &ns, SOURCE, &[("SyncSucceeded", 2)])
        .await?;
    ensure!(
        events.iter().any(|e| e.reason == "SyncSucceeded"
            && e.message.contains(&format!("S3 requests {first_total} ("))),
        "{}",
        observe::describe(&events)
    );
    let metrics = fx
        .wait_metric(&pod, "ferry_s3_requests_total", &[("name", SOURCE)], 1.0)
        .await?;
    let counted = metrics
        .sum("ferry_s3_requests_total", &[("name", SOURCE)])
        .unwrap_or(0.0);
    ensure!(
        counted as i64 == first_total + total,
        "ferry_s3_requests_total is {counted}, the two syncs sent {first_total} + {total}"
    );
    fx.passed();
    Ok(())
}
