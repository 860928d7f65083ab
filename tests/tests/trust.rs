//! Trust by default (issue 21), end to end on the test cluster with MinIO: an unreadable
//! file fails the sync and is named, an empty source never empties the remote without the
//! acknowledgement annotation, a shrink over `maxDeletePercent` is refused before any
//! deletion (counted at a proxy in front of MinIO), retention prunes at most one copy beyond
//! `retain` without the acknowledgement, bad credentials wait for the Secret to change, a
//! transient fault is retried with growing intervals, a verification names the object
//! corrupted behind Ferry's back, and an rsync push obeys the same rules.
//!
//! Results are read as a user reads them: the CR's status, its Events, the sidecar's
//! metrics, and the bucket's listing.

mod node_proxy;

use node_proxy::{proxy, start_proxy};

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context, ensure};
use ferry_e2e::replication::manifests::{self, Role};
use ferry_e2e::replication::observe::{self, condition_is};
use ferry_e2e::replication::tree;
use ferry_e2e::replication::{Replication, SYNC_LIMIT};
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

const SOURCE: &str = "guarded";
const SECRET: &str = "s3-creds";
const ACK: &str = "ferry.dev/acknowledge-guards";

/// A source namespace with a seeded volume `data`, and a bucket.
async fn setup(
    fx: &Replication,
    prefix: &str,
) -> anyhow::Result<(String, String, std::path::PathBuf)> {
    let ns = fx.namespace(prefix, true).await?;
    let bucket = fx.minio.bucket(prefix).await?;
    let data = fx.volume(&ns, "data").await?;
    tree::write_tree(&data, 7)?;
    Ok((ns, bucket, data))
}

/// Creates the Secret (`conf`), binds a Direct source of `data` to `bucket/app` with
/// `options` added to its `rclone` spec to a pod `web`, and waits for the manual sync "one".
async fn bind_source(
    fx: &Replication,
    ns: &str,
    bucket: &str,
    conf: &str,
    options: Value,
) -> anyhow::Result<Pod> {
    let pod = bind(fx, ns, bucket, conf, options).await?;
    fx.wait_manual(Role::Source, ns, SOURCE, "one").await?;
    Ok(pod)
}

/// Creates the rclone Secret from `conf` and the source (manual trigger "one", `options`
/// merged into `spec.rclone`) and binds it to the pod `web`, without waiting for the sync.
async fn bind(
    fx: &Replication,
    ns: &str,
    bucket: &str,
    conf: &str,
    options: Value,
) -> anyhow::Result<Pod> {
    fx.bind_rclone_source(
        ns,
        (SOURCE, SECRET),
        &format!("{bucket}/app"),
        conf,
        &options,
    )
    .await
}

/// Waits until the last sync failed with `reason` on `Synchronizing`, and returns the
/// status.
async fn wait_refused(fx: &Replication, ns: &str, reason: &str) -> anyhow::Result<Value> {
    fx.wait_status(
        Role::Source,
        ns,
        SOURCE,
        &format!("a failed sync with reason {reason}"),
        SYNC_LIMIT,
        |s| {
            (s["latestMoverStatus"]["result"] == "Failed"
                && condition_is(s, "Synchronizing", "False", reason))
            .then(|| s.clone())
        },
    )
    .await
}

/// Waits until the manual sync `token` completed, without failing on the refusal just
/// before it (its condition may carry this second's time).
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

/// Sets the acknowledgement annotation to a new value; returns it.
async fn acknowledge(fx: &Replication, ns: &str) -> anyhow::Result<String> {
    let value = k8s_openapi::jiff::Timestamp::now().to_string();
    fx.patch(
        Role::Source,
        ns,
        SOURCE,
        json!({"metadata": {"annotations": {ACK: value}}}),
    )
    .await?;
    Ok(value)
}

/// The timestamped copies below `app/` of a listing, and which of them have a manifest
/// (`app/<stamp>.ferry-manifest`: a complete copy).
fn copies(listed: &BTreeMap<String, i64>) -> (Vec<String>, Vec<String>) {
    let mut all: Vec<String> = listed
        .keys()
        .filter_map(|k| k.split_once('/').map(|(copy, _)| copy.to_owned()))
        .collect();
    all.dedup();
    let complete = listed
        .keys()
        .filter_map(|k| k.strip_suffix(".ferry-manifest"))
        .filter(|k| !k.contains('/'))
        .map(str::to_owned)
        .collect();
    (all, complete)
}

/// Removes everything inside `dir`, keeping `dir`.
fn empty_dir(dir: &Path) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_file_fails_the_sync_is_named_and_the_last_complete_copy_stays_newest()
-> anyhow::Result<()> {
    let fx = Replication::start("unreadable").await?;
    let (ns, bucket, data) = setup(&fx, "unreadable").await?;
    let conf = fx.minio.rclone_conf();
    bind_source(&fx, &ns, &bucket, &conf, json!({"timestampPrefix": true})).await?;
    let before = fx.minio.list_all(&bucket, "app").await?;
    let (first, complete) = copies(&before);
    ensure!(
        first.len() == 1 && complete == first,
        "one complete copy: {before:?}"
    );

    // Owned by root, mode 0600: the sidecar (uid 1000) cannot read it.
    tree::write_file(
        &data,
        "private/secret.db",
        b"not for the sidecar",
        tree::now_secs(),
    )?;
    std::fs::set_permissions(
        data.join("private/secret.db"),
        std::fs::Permissions::from_mode(0o600),
    )?;
    // Copies are named to the second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    fx.trigger(Role::Source, &ns, SOURCE, "two").await?;
    let status = wait_refused(&fx, &ns, "SourceUnreadable").await?;
    let message = observe::condition_message(&status, "Synchronizing");
    ensure!(
        message.contains("private/secret.db")
            && message.contains("1 path(s)")
            && message.contains("ferry.dev/privileged-movers"),
        "the status names the path, the count and the fix: {status:#}"
    );
    let logs = status["latestMoverStatus"]["logs"]
        .as_str()
        .unwrap_or_default();
    ensure!(logs.contains("private/secret.db"), "{status:#}");
    ensure!(status["lastManualSync"] == "one", "{status:#}");
    let event = fx
        .wait_event(Role::Source, &ns, SOURCE, "SourceUnreadable")
        .await?;
    ensure!(event.message.contains("private/secret.db"), "{event:?}");

    let after = fx.minio.list_all(&bucket, "app").await?;
    for (key, size) in &before {
        ensure!(
            after.get(key) == Some(size),
            "{key} was deleted or changed: {after:?}"
        );
    }
    let (all, complete) = copies(&after);
    ensure!(
        complete == first,
        "the previous copy stays the newest complete one: {after:?}"
    );
    // What could be read was copied, into a copy that is not complete.
    let partial = all
        .iter()
        .find(|c| !first.contains(c))
        .with_context(|| format!("no second copy: {after:?}"))?;
    ensure!(
        after.contains_key(&format!("{partial}/data.bin"))
            && !after.contains_key(&format!("{partial}/private/secret.db")),
        "{after:?}"
    );
    fx.passed();
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_source_leaves_the_bucket_unchanged_until_acknowledged_once() -> anyhow::Result<()>
{
    let fx = Replication::start("empty").await?;
    let (ns, bucket, data) = setup(&fx, "empty").await?;
    let conf = fx.minio.rclone_conf();
    let pod = bind_source(&fx, &ns, &bucket, &conf, json!({})).await?;
    let before = fx.minio.list_all(&bucket, "app").await?;
    ensure!(before.contains_key("data.bin"), "{before:?}");

    empty_dir(&data)?;
    fx.trigger(Role::Source, &ns, SOURCE, "two").await?;
    let status = wait_refused(&fx, &ns, "SourceEmpty").await?;
    ensure!(
        observe::condition_message(&status, "Synchronizing").contains(ACK),
        "the message says how to acknowledge: {status:#}"
    );
    ensure!(
        fx.minio.list_all(&bucket, "app").await? == before,
        "the bucket changed"
    );
    fx.wait_event(Role::Source, &ns, SOURCE, "SourceEmpty")
        .await?;
    let metrics = fx.metrics(&pod).await?;
    ensure!(
        metrics.sum("ferry_sync_failures_total", &[("reason", "SourceEmpty")]) >= Some(1.0)
            && metrics.sum("ferry_guard_refusals_total", &[("reason", "SourceEmpty")]) >= Some(1.0),
        "the refusal is counted"
    );

    // Acknowledged: the retry of "two" empties the remote.
    let ack = acknowledge(&fx, &ns).await?;
    let status = wait_synced(&fx, &ns, "two").await?;
    ensure!(status["acknowledgedGuards"] == ack.as_str(), "{status:#}");
    ensure!(
        fx.minio.list(&bucket, "app").await?.is_empty(),
        "the acknowledged sync mirrors the empty source"
    );

    // The same annotation does not acknowledge a second time.
    tree::write_tree(&data, 8)?;
    fx.trigger(Role::Source, &ns, SOURCE, "three").await?;
    fx.wait_manual(Role::Source, &ns, SOURCE, "three").await?;
    let full = fx.minio.list_all(&bucket, "app").await?;
    empty_dir(&data)?;
    fx.trigger(Role::Source, &ns, SOURCE, "four").await?;
    wait_refused(&fx, &ns, "SourceEmpty").await?;
    ensure!(
        fx.minio.list_all(&bucket, "app").await? == full,
        "the bucket changed"
    );
    fx.passed();
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_shrink_over_the_limit_is_refused_before_any_delete() -> anyhow::Result<()> {
    let fx = Replication::start("shrink").await?;
    let (ns, bucket, data) = setup(&fx, "shrink").await?;
    let proxy = start_proxy(&fx, None)?;
    let conf = fx
        .minio
        .rclone_conf()
        .replace(&fx.minio.pod_endpoint, &proxy.endpoint);
    bind_source(&fx, &ns, &bucket, &conf, json!({"maxDeletePercent": 50})).await?;
    let before = fx.minio.list_all(&bucket, "app").await?;

    // 4 of the 6 files go: over 50 %.
    for rel in ["data.bin", "empty", "with space.txt", "bin/run.sh"] {
        std::fs::remove_file(data.join(rel))?;
    }
    proxy.counters.reset_counts();
    fx.trigger(Role::Source, &ns, SOURCE, "two").await?;
    let status = wait_refused(&fx, &ns, "ShrinkLimit").await?;
    let message = observe::condition_message(&status, "Synchronizing");
    ensure!(
        message.contains("4 of the remote's 6 files") && message.contains("maxDeletePercent 50%"),
        "{status:#}"
    );
    let get = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::SeqCst);
    let counters = &proxy.counters;
    ensure!(
        get(&counters.requests) > 0,
        "the refused sync went through the proxy"
    );
    // DeleteObjects is a POST; DeleteObject a DELETE: neither was sent.
    ensure!(
        get(&counters.delete) == 0 && get(&counters.post) == 0,
        "a deletion was sent: {} DELETE, {} POST",
        get(&counters.delete),
        get(&counters.post)
    );
    ensure!(
        fx.minio.list_all(&bucket, "app").await? == before,
        "the bucket changed"
    );
    fx.passed();
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_prunes_at_most_one_copy_beyond_retain_without_the_acknowledgement()
-> anyhow::Result<()> {
    let fx = Replication::start("retain").await?;
    let (ns, bucket, _data) = setup(&fx, "retain").await?;
    let conf = fx.minio.rclone_conf();
    bind_source(&fx, &ns, &bucket, &conf, json!({"timestampPrefix": true})).await?;
    for token in ["two", "three", "four"] {
        tokio::time::sleep(Duration::from_millis(1100)).await;
        fx.trigger(Role::Source, &ns, SOURCE, token).await?;
        fx.wait_manual(Role::Source, &ns, SOURCE, token).await?;
    }
    let (_, four) = copies(&fx.minio.list_all(&bucket, "app").await?);
    ensure!(four.len() == 4, "{four:?}");

    // retain 2 after a fifth copy would prune three at once: refused, the copy kept.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    fx.patch(
        Role::Source,
        &ns,
        SOURCE,
        json!({"spec": {"rclone": {"retain": 2}, "trigger": {"manual": "five"}}}),
    )
    .await?;
    let status = fx.wait_manual(Role::Source, &ns, SOURCE, "five").await?;
    ensure!(
        status["latestMoverStatus"]["result"] == "Successful",
        "{status:#}"
    );
    let event = fx
        .wait_event(Role::Source, &ns, SOURCE, "RetentionLimit")
        .await?;
    ensure!(event.message.contains("3 copies"), "{event:?}");
    let (_, five) = copies(&fx.minio.list_all(&bucket, "app").await?);
    ensure!(
        five.len() == 5 && four.iter().all(|c| five.contains(c)),
        "{five:?}"
    );

    // Acknowledged: the next sync prunes down to two.
    acknowledge(&fx, &ns).await?;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    fx.trigger(Role::Source, &ns, SOURCE, "six").await?;
    fx.wait_manual(Role::Source, &ns, SOURCE, "six").await?;
    let (all, kept) = copies(&fx.minio.list_all(&bucket, "app").await?);
    ensure!(kept.len() == 2 && all.len() == 2, "{all:?}");
    ensure!(
        kept.iter().all(|c| !five.contains(c) || c == &five[4]),
        "the newest kept: {kept:?}"
    );
    fx.passed();
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_credentials_fail_once_and_wait_for_the_secret_to_change() -> anyhow::Result<()> {
    let fx = Replication::start("badcreds").await?;
    let ns = fx.namespace("badcreds", true).await?;
    let bucket = fx.minio.bucket("badcreds").await?;
    let data = fx.volume(&ns, "data").await?;
    tree::write_tree(&data, 3)?;
    let wrong = fx.minio.rclone_conf_with("nobody", "wrong-secret-key");
    bind(&fx, &ns, &bucket, &wrong, json!({})).await?;
    let status = wait_refused(&fx, &ns, "Error").await?;
    ensure!(status["consecutiveFailures"] == 1, "{status:#}");
    ensure!(
        status["nextRetryTime"].is_null(),
        "no retry is planned: {status:#}"
    );
    let started = status["lastSyncStartTime"].clone();
    // Longer than the first two retry delays (15 s, 30 s): no retry comes.
    tokio::time::sleep(Duration::from_secs(50)).await;
    let status = fx.status(Role::Source, &ns, SOURCE).await?;
    ensure!(
        status["lastSyncStartTime"] == started && status["consecutiveFailures"] == 1,
        "retried without a change: {status:#}"
    );
    ensure!(
        observe::condition_message(&status, "Synchronizing").contains("changes"),
        "the status says it waits for a change: {status:#}"
    );
    let events = fx.events(Role::Source, &ns, SOURCE).await?;
    ensure!(
        observe::occurrences(&events, "SyncFailed") == 1,
        "{}",
        observe::describe(&events)
    );

    // The Secret fixed: the sync runs.
    let fixed = manifests::rclone_secret(SECRET, &fx.minio.rclone_conf());
    fx.cluster
        .kubectl_stdin(["apply", "-n", ns.as_str(), "-f", "-"], &fixed.to_string())?
        .ok()
        .context("replacing the Secret")?;
    let status = wait_synced(&fx, &ns, "one").await?;
    ensure!(status["consecutiveFailures"].is_null(), "{status:#}");
    fx.passed();
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transient_fault_is_retried_with_growing_intervals() -> anyhow::Result<()> {
    let fx = Replication::start("transient").await?;
    let (ns, bucket, _data) = setup(&fx, "transient").await?;
    // Every request answered 500 InternalError: a server in trouble.
    let faults = proxy::Faults {
        seed: 1,
        server_error: 1.0,
        max: u64::MAX,
        ..proxy::Faults::default()
    };
    let proxy = start_proxy(&fx, Some(faults))?;
    let conf = fx
        .minio
        .rclone_conf()
        .replace(&fx.minio.pod_endpoint, &proxy.endpoint);
    bind(&fx, &ns, &bucket, &conf, json!({})).await?;
    // The start of each attempt, as the status shows it, until three failed.
    let mut starts: Vec<k8s_openapi::jiff::Timestamp> = Vec::new();
    let mut retries: Vec<k8s_openapi::jiff::Timestamp> = Vec::new();
    fx.wait_status(
        Role::Source,
        &ns,
        SOURCE,
        "three failed attempts",
        Duration::from_secs(240),
        |s| {
            let failures = s["consecutiveFailures"].as_i64().unwrap_or(0);
            if let (Some(start), Some(retry)) = (
                observe::time(&s["lastSyncStartTime"]),
                observe::time(&s["nextRetryTime"]),
            ) && s["latestMoverStatus"]["result"] == "Failed"
                && usize::try_from(failures).is_ok_and(|n| n == starts.len() + 1)
            {
                starts.push(start);
                retries.push(retry);
            }
            (starts.len() >= 3).then_some(())
        },
    )
    .await?;
    let gaps: Vec<i64> = starts
        .windows(2)
        .map(|w| w[1].duration_since(w[0]).as_secs())
        .collect();
    eprintln!("attempts at {starts:?}, {gaps:?} s apart");
    ensure!(
        gaps.windows(2).all(|g| g[1] > g[0]),
        "the intervals between attempts grow: {gaps:?} (starts {starts:?})"
    );
    let waits: Vec<i64> = starts
        .iter()
        .zip(&retries)
        .map(|(s, r)| r.duration_since(*s).as_secs())
        .collect();
    ensure!(
        waits.windows(2).all(|w| w[1] > w[0]),
        "the planned retry delays grow: {waits:?}"
    );
    ensure!(
        proxy.counters.server_errors.load(Ordering::SeqCst) > 0,
        "the faults were injected"
    );
    fx.passed();
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn verification_passes_then_a_deep_one_names_the_object_corrupted_behind_its_back()
-> anyhow::Result<()> {
    let fx = Replication::start("verify").await?;
    let (ns, bucket, _data) = setup(&fx, "verify").await?;
    let conf = fx.minio.rclone_conf();
    let every_minute = json!({"verify": {"schedule": "* * * * *", "mode": "Quick"}});
    let pod = bind_source(&fx, &ns, &bucket, &conf, every_minute).await?;
    let wait_verified = |mode: &'static str| {
        let (fx, ns) = (&fx, ns.clone());
        async move {
            fx.wait_status(
                Role::Source,
                &ns,
                SOURCE,
                &format!("a {mode} verification"),
                Duration::from_secs(150),
                |s| (s["lastVerified"]["mode"] == mode).then(|| s["lastVerified"].clone()),
            )
            .await
        }
    };
    let quick = wait_verified("Quick").await?;
    ensure!(
        quick["result"] == "Passed"
            && quick["mismatches"] == 0
            && quick["objectsChecked"].as_i64() >= Some(6),
        "{quick:#}"
    );
    fx.wait_event(Role::Source, &ns, SOURCE, "VerifyPassed")
        .await?;

    // Overwritten behind Ferry's back, same size, other bytes.
    let key = "app/docs/readme.txt";
    let original = fx.minio.get(&bucket, key).await?.context("no readme")?;
    let corrupt: Vec<u8> = original.iter().map(|b| b ^ 0x20).collect();
    fx.minio.put(&bucket, key, &corrupt).await?;
    let before = fx.minio.list_all(&bucket, "app").await?;
    fx.patch(
        Role::Source,
        &ns,
        SOURCE,
        json!({"spec": {"rclone": {"verify": {"mode": "Deep"}}}}),
    )
    .await?;
    let deep = wait_verified("Deep").await?;
    ensure!(
        deep["result"] == "Failed" && deep["mismatches"] == 1,
        "exactly one mismatch: {deep:#}"
    );
    let details = deep["details"].as_array().cloned().unwrap_or_default();
    ensure!(
        details.len() == 1
            && details[0]
                .as_str()
                .is_some_and(|d| d.starts_with("docs/readme.txt: MD5")),
        "the corrupted object is named: {deep:#}"
    );
    let event = fx
        .wait_event(Role::Source, &ns, SOURCE, "VerifyFailed")
        .await?;
    ensure!(event.message.contains("docs/readme.txt"), "{event:?}");
    let metrics = fx.metrics(&pod).await?;
    ensure!(
        metrics.sum("ferry_verifications_total", &[("result", "failed")]) >= Some(1.0)
            && metrics.sum("ferry_verifications_total", &[("result", "passed")]) >= Some(1.0)
            && metrics.sum("ferry_last_verified_timestamp_seconds", &[]) > Some(0.0),
        "the metrics count the verifications"
    );
    // Verification never changes the remote: the corruption is still there.
    ensure!(
        fx.minio.list_all(&bucket, "app").await? == before,
        "the bucket changed"
    );
    ensure!(
        fx.minio.get(&bucket, key).await?.as_deref() == Some(corrupt.as_slice()),
        "the object was rewritten"
    );
    fx.passed();
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_rsync_push_fails_on_an_unreadable_file_and_refuses_an_empty_source()
-> anyhow::Result<()> {
    let fx = Replication::start("rsync-trust").await?;
    let dst = fx.namespace("rsync-trust-dst", true).await?;
    let src = fx.namespace("rsync-trust-src", true).await?;
    fx.volume(&dst, "backup").await?;
    let destination = fx.rsync_destination(&dst, "standby", "backup", 2).await?;
    let keys = destination.keys_secret().to_owned();
    fx.copy_secret(&dst, &keys, &src, "standby-keys", |_| {})
        .await?;
    let data = fx.volume(&src, "data").await?;
    tree::write_tree(&data, 5)?;
    // Through the destination's Service, as published in its status.
    let port = u16::try_from(
        destination.status["rsync"]["port"]
            .as_u64()
            .unwrap_or_default(),
    )?;
    let cr = manifests::rsync_source(
        SOURCE,
        "data",
        destination.address(),
        port,
        "standby-keys",
        "Direct",
        Some(manifests::manual("one")),
    );
    let template = manifests::pod_template("web", Role::Source, SOURCE, "data");
    fx.bind(&src, &cr, &manifests::pod("web", &template))
        .await?;
    fx.wait_manual(Role::Source, &src, SOURCE, "one").await?;
    let published = fx
        .wait_status(
            Role::Destination,
            &dst,
            "standby",
            "a published image",
            SYNC_LIMIT,
            |s| s["latestImage"]["name"].as_str().map(str::to_owned),
        )
        .await?;

    tree::write_file(
        &data,
        "private/secret.db",
        b"not for the sidecar",
        tree::now_secs(),
    )?;
    std::fs::set_permissions(
        data.join("private/secret.db"),
        std::fs::Permissions::from_mode(0o600),
    )?;
    fx.trigger(Role::Source, &src, SOURCE, "two").await?;
    let status = wait_refused(&fx, &src, "SourceUnreadable").await?;
    ensure!(
        observe::condition_message(&status, "Synchronizing").contains("private/secret.db"),
        "{status:#}"
    );

    std::fs::remove_file(data.join("private/secret.db"))?;
    empty_dir(&data)?;
    fx.trigger(Role::Source, &src, SOURCE, "three").await?;
    wait_refused(&fx, &src, "SourceEmpty").await?;
    let status = fx.status(Role::Destination, &dst, "standby").await?;
    ensure!(
        status["latestImage"]["name"] == published.as_str(),
        "nothing partial or empty was published: {status:#}"
    );
    fx.passed();
    Ok(())
}
