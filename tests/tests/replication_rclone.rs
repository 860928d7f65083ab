//! The rclone mover end to end, on the test cluster with the chart installed, real CSI
//! snapshots, MinIO and the sidecar containers on the node: an annotated Deployment's volume goes to MinIO
//! through a snapshot, a temporary PVC and a mover pod; a destination in another namespace
//! pulls it, snapshots it and publishes `latestImage`; a PVC restored from that image holds
//! the source's bytes.

use anyhow::{Context, ensure};
use ferry_e2e::replication::manifests::{self, Role};
use ferry_e2e::replication::observe::{self, condition_is};
use ferry_e2e::replication::tree::{self, Compare, Tree};
use ferry_e2e::replication::{LIMIT, MOVER_LABEL, Replication, TemporaryLog, pod_name};
use ferry_e2e::wait::eventually;
use serde_json::Value;

const SOURCE: &str = "to-s3";
const DESTINATION: &str = "from-s3";
const SECRET: &str = "s3-creds";

/// A source's makings in `ns`: its volume `data` seeded with the tree of `seed`, and the S3
/// Secret.
async fn seeded_source(
    fx: &Replication,
    ns: &str,
    seed: u64,
) -> anyhow::Result<(std::path::PathBuf, Tree)> {
    let data = fx.volume(ns, "data").await?;
    tree::write_tree(&data, seed)?;
    let seeded = Tree::of(&data)?;
    fx.rclone_secret(ns, SECRET).await?;
    Ok((data, seeded))
}

/// Binds a `Direct` source of `data` to `dest_path`, with `options` added to its `rclone`
/// spec, to a pod `web`, and waits for its first manual sync, "one".
async fn direct_source_synced(
    fx: &Replication,
    ns: &str,
    dest_path: &str,
    options: Value,
) -> anyhow::Result<()> {
    let mut source = manifests::rclone_source(
        SOURCE,
        "data",
        SECRET,
        dest_path,
        "Direct",
        Some(manifests::manual("one")),
    );
    for (key, value) in options.as_object().into_iter().flatten() {
        source["spec"]["rclone"][key] = value.clone();
    }
    let template = manifests::pod_template("web", Role::Source, SOURCE, "data");
    fx.bind(ns, &source, &manifests::pod("web", &template))
        .await?;
    fx.wait_manual(Role::Source, ns, SOURCE, "one").await?;
    Ok(())
}

/// Binds a destination of `dest_path` (retain 1) to a pod `standby` whose volume is
/// `replica`, and returns its status after its first manual pull, `token`.
async fn destination_pulled(
    fx: &Replication,
    ns: &str,
    dest_path: &str,
    token: &str,
) -> anyhow::Result<Value> {
    fx.volume(ns, "replica").await?;
    fx.rclone_secret(ns, SECRET).await?;
    let standby = manifests::pod_template("standby", Role::Destination, DESTINATION, "replica");
    let destination = manifests::rclone_destination(
        DESTINATION,
        SECRET,
        dest_path,
        1,
        Some(manifests::manual(token)),
    );
    fx.bind(ns, &destination, &manifests::pod("standby", &standby))
        .await?;
    fx.wait_manual(Role::Destination, ns, DESTINATION, token)
        .await
}

/// The objects a sync with `copyMethod: Snapshot` went through, as the watches saw them.
fn ensure_snapshot_chain(log: &TemporaryLog, source_claim: &str) -> anyhow::Result<()> {
    let summary = log.summary();
    let snapshots = log.versions("VolumeSnapshot");
    let ready = snapshots
        .iter()
        .find(|s| {
            s["status"]["readyToUse"] == true
                && s["spec"]["source"]["persistentVolumeClaimName"] == source_claim
        })
        .with_context(|| {
            format!("no ready VolumeSnapshot of {source_claim} was seen:\n{summary}")
        })?;
    let snapshot = ready["metadata"]["name"].as_str().unwrap_or_default();
    let claim = log
        .versions("PersistentVolumeClaim")
        .into_iter()
        .find(|c| {
            c["spec"]["dataSource"]["kind"] == "VolumeSnapshot"
                && c["spec"]["dataSource"]["name"] == snapshot
                && c["status"]["phase"] == "Bound"
        })
        .with_context(|| format!("no Bound PVC restored from {snapshot} was seen:\n{summary}"))?;
    let claim = claim["metadata"]["name"].as_str().unwrap_or_default();
    let mover = log
        .versions("Pod")
        .into_iter()
        .find(|p| {
            p["metadata"]["labels"][MOVER_LABEL] == "true"
                && matches!(p["status"]["phase"].as_str(), Some("Running" | "Succeeded"))
                && p["spec"]["volumes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|v| v["persistentVolumeClaim"]["claimName"] == claim)
        })
        .with_context(|| format!("no mover pod ran with PVC {claim}:\n{summary}"))?;
    ensure!(
        log.versions("Pod")
            .iter()
            .all(|p| p["status"]["phase"] != "Failed"),
        "a mover pod failed:\n{summary}\n{mover:#}"
    );
    Ok(())
}

/// The status fields and conditions after one successful manual sync of `tree`.
fn ensure_synced_status(status: &Value, token: &str, pod: &str, tree: &Tree) -> anyhow::Result<()> {
    ensure!(
        condition_is(status, "Reconciled", "True", "Bound"),
        "Reconciled: {status:#}"
    );
    ensure!(
        condition_is(status, "Synchronizing", "False", "WaitingForManual"),
        "Synchronizing: {status:#}"
    );
    ensure!(status["lastManualSync"] == token, "{status:#}");
    ensure!(status["boundPod"] == pod, "boundPod: {status:#}");
    ensure!(
        status["latestMoverStatus"]["result"] == "Successful",
        "{status:#}"
    );
    let start = observe::require_time(status, "lastSyncStartTime")?;
    let end = observe::require_time(status, "lastSyncTime")?;
    ensure!(
        start <= end,
        "lastSyncStartTime {start} after lastSyncTime {end}"
    );
    ensure!(
        status["lastSyncDuration"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "lastSyncDuration: {status:#}"
    );
    let stats = &status["lastSyncStats"];
    ensure!(
        stats["filesTransferred"].as_u64() == Some(tree.files.len() as u64),
        "filesTransferred, want {}: {stats}",
        tree.files.len()
    );
    ensure!(
        stats["bytesTransferred"].as_u64() == Some(tree.bytes()),
        "bytesTransferred, want {}: {stats}",
        tree.bytes()
    );
    ensure!(stats["filesDeleted"].as_u64() == Some(0), "{stats}");
    Ok(())
}

#[tokio::test]
async fn a_snapshot_of_an_annotated_deployment_reaches_minio_and_a_destination_restores_it_byte_for_byte()
-> anyhow::Result<()> {
    let fx = Replication::start("rclone-e2e").await?;
    let src = fx.namespace("rclone-src", true).await?;
    let dst = fx.namespace("rclone-dst", true).await?;
    let bucket = fx.minio.bucket("rclone-e2e").await?;
    let dest_path = format!("{bucket}/prod/data");

    // The source: an app's volume, its CR and an opted-in Deployment.
    let (data, source_tree) = seeded_source(&fx, &src, 1).await?;
    let cr = manifests::rclone_source(
        SOURCE,
        "data",
        SECRET,
        &dest_path,
        "Snapshot",
        Some(manifests::manual("first")),
    );
    fx.create(&src, &cr).await?;
    let uid = fx.uid(Role::Source, &src, SOURCE).await?;
    let log = TemporaryLog::start(&fx.client, &src, &uid);
    let template = manifests::pod_template("web", Role::Source, SOURCE, "data");
    fx.create_workload(&src, &manifests::deployment("web", 1, &template))
        .await?;
    let pod = fx.running_pods(&src, "app=web", 1).await?.remove(0);
    let name = pod_name(&pod);
    // Injected, and run by the node as the `ferry-sidecar` container of this pod.
    let injected = pod
        .spec
        .as_ref()
        .and_then(|s| s.init_containers.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.name == "ferry-sidecar"));
    ensure!(injected, "{name} has no ferry-sidecar init container");
    eventually(LIMIT, "the sidecar process", || async {
        Ok(ferry_e2e::replication::process::find(&src, &name, "run"))
    })
    .await?;

    let status = fx.wait_manual(Role::Source, &src, SOURCE, "first").await?;
    ensure_synced_status(&status, "first", &name, &source_tree)?;
    ensure_snapshot_chain(&log, "data")?;
    fx.wait_no_temporaries(&src, &uid).await?;

    // MinIO holds the tree under the prefix.
    let listed = fx.minio.list(&bucket, "prod/data").await?;
    let want: Vec<(String, i64)> = source_tree
        .files
        .iter()
        .map(|(path, f)| (path.clone(), i64::try_from(f.size).unwrap_or(-1)))
        .collect();
    ensure!(
        listed.clone().into_iter().collect::<Vec<_>>() == want,
        "MinIO holds {listed:?}, want {want:?}"
    );
    let data_bin = fx.minio.get(&bucket, "prod/data/data.bin").await?;
    ensure!(
        data_bin.as_deref() == Some(std::fs::read(data.join("data.bin"))?.as_slice()),
        "prod/data/data.bin differs from the source"
    );

    // Events are posted after the status shows the sync: wait for each.
    for reason in ["SyncStarted", "SnapshotReady", "SyncSucceeded"] {
        fx.wait_event(Role::Source, &src, SOURCE, reason).await?;
    }
    let labels = [
        ("name", SOURCE),
        ("namespace", src.as_str()),
        ("role", "source"),
    ];
    let metrics = fx
        .wait_metric(
            &pod,
            "ferry_syncs_total",
            &[labels[0], labels[1], labels[2], ("result", "success")],
            1.0,
        )
        .await?;
    let bytes = metrics
        .sum("ferry_bytes_transferred_total", &labels)
        .unwrap_or_default();
    ensure!(
        bytes >= source_tree.bytes() as f64,
        "ferry_bytes_transferred_total {bytes} < {}:\n{}",
        source_tree.bytes(),
        metrics.text
    );
    let files = metrics
        .sum("ferry_files_transferred_total", &labels)
        .unwrap_or_default();
    ensure!(
        files >= source_tree.files.len() as f64,
        "ferry_files_transferred_total {files}:\n{}",
        metrics.text
    );
    ensure!(
        metrics.has("ferry_sync_duration_seconds_count")
            || metrics.has("ferry_sync_duration_seconds"),
        "no ferry_sync_duration_seconds:\n{}",
        metrics.text
    );
    ensure!(
        metrics.sum("ferry_volume_out_of_sync", &labels) == Some(0.0),
        "ferry_volume_out_of_sync is not 0 after a successful sync:\n{}",
        metrics.text
    );
    ensure!(
        metrics
            .sum("ferry_syncs_total", &[labels[0], ("result", "failure")])
            .unwrap_or_default()
            == 0.0,
        "a failure was counted:\n{}",
        metrics.text
    );

    // The destination, in another namespace, pulls into its pod's volume and publishes.
    fx.volume(&dst, "replica").await?;
    fx.rclone_secret(&dst, SECRET).await?;
    let standby = manifests::pod_template("standby", Role::Destination, DESTINATION, "replica");
    let dst_pods = fx
        .bind(
            &dst,
            &manifests::rclone_destination(
                DESTINATION,
                SECRET,
                &dest_path,
                1,
                Some(manifests::manual("first")),
            ),
            &manifests::deployment("standby", 1, &standby),
        )
        .await?;
    let status = fx
        .wait_manual(Role::Destination, &dst, DESTINATION, "first")
        .await?;
    ensure!(
        status["latestMoverStatus"]["result"] == "Successful",
        "{status:#}"
    );
    ensure!(
        condition_is(&status, "Reconciled", "True", "Bound"),
        "{status:#}"
    );
    ensure!(status["boundPod"] == pod_name(&dst_pods[0]), "{status:#}");
    ensure!(
        status["lastSyncStats"]["filesTransferred"].as_u64()
            == Some(source_tree.files.len() as u64),
        "{status:#}"
    );
    let image = &status["latestImage"];
    ensure!(
        image["apiGroup"] == "snapshot.storage.k8s.io" && image["kind"] == "VolumeSnapshot",
        "latestImage: {status:#}"
    );
    let image = image["name"]
        .as_str()
        .context("latestImage.name")?
        .to_owned();
    let snapshot = fx.wait_snapshot_ready(&dst, &image).await?;
    let dst_uid = fx.uid(Role::Destination, &dst, DESTINATION).await?;
    ensure!(
        snapshot["metadata"]["labels"]["ferry.dev/image-of"] == dst_uid.as_str(),
        "the image is not labelled as the destination's: {snapshot:#}"
    );
    fx.wait_event(Role::Destination, &dst, DESTINATION, "ImagePublished")
        .await?;

    let restored = fx.restore(&dst, "restored", &image).await?;
    source_tree.ensure_same(&Tree::of(&restored)?, Compare::RCLONE, "the restored PVC")?;
    fx.passed();
    Ok(())
}

#[tokio::test]
async fn a_second_sync_sends_only_the_change_and_the_destination_keeps_one_image()
-> anyhow::Result<()> {
    let fx = Replication::start("rclone-incr").await?;
    let src = fx.namespace("rclone-incr-src", true).await?;
    let dst = fx.namespace("rclone-incr-dst", true).await?;
    let bucket = fx.minio.bucket("rclone-incr").await?;
    let dest_path = format!("{bucket}/app");

    let (data, _) = seeded_source(&fx, &src, 2).await?;
    direct_source_synced(&fx, &src, &dest_path, serde_json::json!({})).await?;

    let first = destination_pulled(&fx, &dst, &dest_path, "one").await?;
    let first_image = first["latestImage"]["name"]
        .as_str()
        .context("no latestImage after the first pull")?
        .to_owned();

    // One file changed, one added, one removed.
    tree::write_file(
        &data,
        "docs/readme.txt",
        b"changed\n",
        tree::TREE_MTIME + 100,
    )?;
    tree::write_file(&data, "added.txt", b"new\n", tree::TREE_MTIME + 101)?;
    std::fs::remove_file(data.join("empty"))?;
    let changed = Tree::of(&data)?;
    fx.trigger(Role::Source, &src, SOURCE, "two").await?;
    let status = fx.wait_manual(Role::Source, &src, SOURCE, "two").await?;
    let stats = &status["lastSyncStats"];
    ensure!(
        stats["filesTransferred"].as_u64() == Some(2)
            && stats["filesDeleted"].as_u64() == Some(1)
            && stats["bytesTransferred"].as_u64() == Some(12),
        "the second sync should send 2 files (12 bytes) and delete 1: {stats}"
    );
    ensure!(
        stats["filesChecked"].as_u64().unwrap_or_default() >= 4,
        "the unchanged files were not checked: {stats}"
    );
    let listed = fx.minio.list(&bucket, "app").await?;
    ensure!(
        listed.keys().eq(changed.files.keys()),
        "MinIO holds {listed:?}"
    );

    fx.trigger(Role::Destination, &dst, DESTINATION, "two")
        .await?;
    let status = fx
        .wait_manual(Role::Destination, &dst, DESTINATION, "two")
        .await?;
    let image = status["latestImage"]["name"]
        .as_str()
        .context("no latestImage after the second pull")?
        .to_owned();
    ensure!(
        image != first_image,
        "latestImage did not change: {status:#}"
    );
    fx.wait_snapshot_ready(&dst, &image).await?;
    let uid = fx.uid(Role::Destination, &dst, DESTINATION).await?;
    // retain: 1 keeps only the newest image.
    eventually(LIMIT, "only the newest image to remain", || async {
        Ok((fx.images(&dst, &uid).await? == [image.clone()]).then_some(()))
    })
    .await
    .with_context(|| format!("images left, want only {image}"))?;
    let restored = fx.restore(&dst, "restored", &image).await?;
    changed.ensure_same(&Tree::of(&restored)?, Compare::RCLONE, "the restored PVC")?;
    fx.passed();
    Ok(())
}

/// True for a `YYYY-MM-DD-HHMMSS` copy name.
fn is_stamp(name: &str) -> bool {
    name.len() == 17
        && name.char_indices().all(|(i, c)| match i {
            4 | 7 | 10 => c == '-',
            _ => c.is_ascii_digit(),
        })
}

/// The copy names (first path components) of the keys below `app/`.
fn copies(listed: &std::collections::BTreeMap<String, i64>) -> Vec<String> {
    let mut names: Vec<String> = listed
        .keys()
        .filter_map(|k| k.split_once('/').map(|(copy, _)| copy.to_owned()))
        .collect();
    names.dedup();
    names
}

#[tokio::test]
async fn timestamped_pushes_keep_the_newest_retain_copies_each_whole() -> anyhow::Result<()> {
    let fx = Replication::start("rclone-stamp").await?;
    let src = fx.namespace("rclone-stamp-src", true).await?;
    let bucket = fx.minio.bucket("rclone-stamp").await?;
    let dest_path = format!("{bucket}/app");

    let (_, tree) = seeded_source(&fx, &src, 2).await?;
    let stamped = serde_json::json!({"timestampPrefix": true, "retain": 2});
    direct_source_synced(&fx, &src, &dest_path, stamped).await?;
    let first = copies(&fx.minio.list(&bucket, "app").await?);
    ensure!(
        first.len() == 1 && is_stamp(&first[0]),
        "want one timestamped copy after the first push: {first:?}"
    );

    for trigger in ["two", "three"] {
        // Copies are named to the second: keep the pushes in different seconds.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        fx.trigger(Role::Source, &src, SOURCE, trigger).await?;
        fx.wait_manual(Role::Source, &src, SOURCE, trigger).await?;
    }
    let listed = fx.minio.list(&bucket, "app").await?;
    let kept = copies(&listed);
    ensure!(
        kept.len() == 2 && kept.iter().all(|c| is_stamp(c)) && !kept.contains(&first[0]),
        "want the two newest copies, without the first ({}): {kept:?}",
        first[0]
    );
    for copy in &kept {
        let prefix = format!("{copy}/");
        let files: Vec<&str> = listed
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .collect();
        ensure!(
            files
                .iter()
                .copied()
                .eq(tree.files.keys().map(String::as_str)),
            "copy {copy} holds {files:?}, want {:?}",
            tree.files.keys().collect::<Vec<_>>()
        );
    }
    fx.passed();
    Ok(())
}

/// What a database volume needs back: empty directories (nested too) with their modes and
/// mtimes, and names of 255 bytes, go from a source through MinIO to a destination's
/// `latestImage`, and a PVC restored from it holds them all.
#[tokio::test]
async fn empty_directories_and_the_longest_names_survive_a_destination_and_a_restore()
-> anyhow::Result<()> {
    let fx = Replication::start("rclone-edges").await?;
    let src = fx.namespace("rclone-edges-src", true).await?;
    let dst = fx.namespace("rclone-edges-dst", true).await?;
    let bucket = fx.minio.bucket("rclone-edges").await?;
    let dest_path = format!("{bucket}/db");

    let data = fx.volume(&src, "data").await?;
    tree::write_edge_tree(&data, manifests::POD_USER as u32)?;
    let source_tree = Tree::of(&data)?;
    ensure!(
        source_tree.dirs.contains_key("empty/a/b/c"),
        "the source has no empty directory: {source_tree:?}"
    );
    fx.rclone_secret(&src, SECRET).await?;
    direct_source_synced(&fx, &src, &dest_path, serde_json::json!({})).await?;
    let markers = fx.minio.markers(&bucket, "db").await?;
    ensure!(
        markers.iter().any(|m| m == "pgdata/pg_tblspc/"),
        "no marker for pgdata/pg_tblspc: {markers:?}"
    );

    let status = destination_pulled(&fx, &dst, &dest_path, "one").await?;
    ensure!(
        status["latestMoverStatus"]["result"] == "Successful",
        "{status:#}"
    );
    let image = status["latestImage"]["name"]
        .as_str()
        .context("no latestImage after the pull")?
        .to_owned();
    fx.wait_snapshot_ready(&dst, &image).await?;
    let restored = fx.restore(&dst, "restored", &image).await?;
    source_tree.ensure_same(&Tree::of(&restored)?, Compare::FERRY_S3, "the restored PVC")?;
    fx.passed();
    Ok(())
}
