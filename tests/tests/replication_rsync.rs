//! The rsync mover end to end: a ReplicationDestination publishes its address and keys, the
//! keys Secret is carried to the source's namespace, the ReplicationSource pushes from a
//! clone of its volume, and the destination snapshots each complete push as `latestImage`,
//! keeping `retain: 2`. Restores hold exactly the source's tree of each round.

use anyhow::{Context, ensure};
use ferry_e2e::replication::manifests::{self, Role};
use ferry_e2e::replication::observe::condition_is;
use ferry_e2e::replication::tree::{self, Compare, Tree};
use ferry_e2e::replication::{LIMIT, Replication, SYNC_LIMIT, TemporaryLog};
use ferry_e2e::wait::eventually;
use k8s_openapi::api::core::v1::{Secret, Service};
use kube::Api;

const SOURCE: &str = "to-standby";
const DESTINATION: &str = "from-prod";

/// Pushes one round (manual `token`) and returns the destination's new `latestImage`, once
/// it differs from `previous`.
async fn round(
    fx: &Replication,
    src: &str,
    dst: &str,
    token: &str,
    previous: Option<&str>,
) -> anyhow::Result<String> {
    fx.trigger(Role::Source, src, SOURCE, token).await?;
    let status = fx.wait_manual(Role::Source, src, SOURCE, token).await?;
    ensure!(
        status["latestMoverStatus"]["result"] == "Successful",
        "{status:#}"
    );
    let image = fx
        .wait_status(
            Role::Destination,
            dst,
            DESTINATION,
            &format!("a new latestImage after round {token}"),
            SYNC_LIMIT,
            |s| {
                s["latestImage"]["name"]
                    .as_str()
                    .filter(|name| Some(*name) != previous)
                    .map(str::to_owned)
            },
        )
        .await?;
    fx.wait_snapshot_ready(dst, &image).await?;
    Ok(image)
}

#[tokio::test]
async fn a_source_pushes_to_a_destination_that_publishes_restorable_snapshots_and_keeps_two()
-> anyhow::Result<()> {
    let fx = Replication::start("rsync-e2e").await?;
    let dst = fx.namespace("rsync-dst", true).await?;
    let src = fx.namespace("rsync-src", true).await?;

    // The destination publishes where and with which keys to push.
    fx.volume(&dst, "backup").await?;
    let destination = fx.rsync_destination(&dst, DESTINATION, "backup", 2).await?;
    let status = &destination.status;
    ensure!(
        condition_is(status, "Reconciled", "True", "Bound"),
        "{status:#}"
    );
    let service_name = format!("ferry-rsync-dst-{DESTINATION}");
    let service = Api::<Service>::namespaced(fx.client.clone(), &dst)
        .get(&service_name)
        .await
        .with_context(|| format!("the destination's Service {service_name}"))?;
    let spec = service.spec.unwrap_or_default();
    ensure!(
        spec.selector
            .as_ref()
            .and_then(|s| s.get("ferry.dev/destination"))
            == Some(&DESTINATION.to_owned()),
        "the Service does not select the destination's pod: {:?}",
        spec.selector
    );
    ensure!(
        status["rsync"]["address"].as_str() == spec.cluster_ip.as_deref(),
        "status.rsync.address is not the Service's ClusterIP {:?}: {status:#}",
        spec.cluster_ip
    );
    let service_port = spec.ports.unwrap_or_default().first().map(|p| p.port);
    ensure!(
        status["rsync"]["port"].as_i64() == service_port.map(i64::from),
        "status.rsync.port is not the Service's port {service_port:?}: {status:#}"
    );
    let keys_name = destination.keys_secret().to_owned();
    ensure!(
        keys_name == format!("ferry-rsync-src-{DESTINATION}"),
        "sshKeys: {keys_name}"
    );
    let secrets: Api<Secret> = Api::namespaced(fx.client.clone(), &dst);
    let keys = secrets.get(&keys_name).await?.data.unwrap_or_default();
    for key in ["source", "source.pub", "destination.pub"] {
        ensure!(keys.contains_key(key), "{keys_name} has no {key}");
    }
    secrets
        .get(&format!("ferry-rsync-dst-{DESTINATION}"))
        .await
        .context("the destination's server keys Secret")?;

    // The keys go to the source's namespace, as a user would carry them across clusters.
    fx.copy_secret(&dst, &keys_name, &src, "standby-keys", |_| {})
        .await?;
    let data = fx.volume(&src, "data").await?;
    tree::write_tree(&data, 3)?;
    let first_tree = Tree::of(&data)?;
    // The source pushes to what the destination publishes: its Service, through kube-proxy.
    let address = status["rsync"]["address"].as_str().unwrap_or_default();
    let port = u16::try_from(status["rsync"]["port"].as_u64().unwrap_or_default())?;
    let cr = manifests::rsync_source(
        SOURCE,
        "data",
        address,
        port,
        "standby-keys",
        "Clone",
        Some(manifests::manual("one")),
    );
    fx.create(&src, &cr).await?;
    let uid = fx.uid(Role::Source, &src, SOURCE).await?;
    let log = TemporaryLog::start(&fx.client, &src, &uid);
    let template = manifests::pod_template("web", Role::Source, SOURCE, "data");
    fx.create_workload(&src, &manifests::deployment("web", 1, &template))
        .await?;
    fx.running_pods(&src, "app=web", 1).await?;
    let status = fx.wait_manual(Role::Source, &src, SOURCE, "one").await?;
    ensure!(
        status["latestMoverStatus"]["result"] == "Successful",
        "{status:#}"
    );
    ensure!(
        status["lastSyncStats"]["filesTransferred"].as_u64() == Some(first_tree.files.len() as u64),
        "{status:#}"
    );
    // Clone: the mover read a PVC cloned from the source's.
    let clone_seen = log.versions("PersistentVolumeClaim").iter().any(|c| {
        c["spec"]["dataSource"]["kind"] == "PersistentVolumeClaim"
            && c["spec"]["dataSource"]["name"] == "data"
    });
    ensure!(
        clone_seen,
        "no clone of PVC data was seen:\n{}",
        log.summary()
    );
    fx.wait_no_temporaries(&src, &uid).await?;

    let first = fx
        .wait_status(
            Role::Destination,
            &dst,
            DESTINATION,
            "latestImage after the first push",
            SYNC_LIMIT,
            |s| s["latestImage"]["name"].as_str().map(str::to_owned),
        )
        .await?;
    let status = fx.status(Role::Destination, &dst, DESTINATION).await?;
    ensure!(
        status["latestImage"]["apiGroup"] == "snapshot.storage.k8s.io"
            && status["latestImage"]["kind"] == "VolumeSnapshot",
        "{status:#}"
    );
    fx.wait_snapshot_ready(&dst, &first).await?;
    let restored = fx.restore(&dst, "restored-one", &first).await?;
    first_tree.ensure_same(&Tree::of(&restored)?, Compare::RSYNC, "the first image")?;

    // A second round after a change: a second image holding the change, the first kept.
    tree::write_file(
        &data,
        "docs/readme.txt",
        b"second round\n",
        tree::TREE_MTIME + 200,
    )?;
    tree::write_file(
        &data,
        "added/new.bin",
        &tree::noise(9, 40_000),
        tree::TREE_MTIME + 201,
    )?;
    std::fs::remove_file(data.join("with space.txt"))?;
    let second_tree = Tree::of(&data)?;
    let second = round(&fx, &src, &dst, "two", Some(&first)).await?;
    let restored = fx.restore(&dst, "restored-two", &second).await?;
    second_tree.ensure_same(&Tree::of(&restored)?, Compare::RSYNC, "the second image")?;
    let dst_uid = fx.uid(Role::Destination, &dst, DESTINATION).await?;
    let mut both = vec![first.clone(), second.clone()];
    both.sort();
    eventually(LIMIT, "two images", || async {
        Ok((fx.images(&dst, &dst_uid).await? == both).then_some(()))
    })
    .await?;

    // A third round: retain 2 drops the first image.
    tree::write_file(&data, "third.txt", b"third\n", tree::TREE_MTIME + 300)?;
    let third = round(&fx, &src, &dst, "three", Some(&second)).await?;
    let mut kept = vec![second, third];
    kept.sort();
    eventually(LIMIT, "the oldest image to be deleted", || async {
        Ok((fx.images(&dst, &dst_uid).await? == kept).then_some(()))
    })
    .await
    .with_context(|| format!("retain 2 should keep {kept:?}"))?;

    fx.wait_occurrences(
        Role::Destination,
        &dst,
        DESTINATION,
        &[("ImagePublished", 3)],
    )
    .await?;
    fx.passed();
    Ok(())
}
