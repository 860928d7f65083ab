//! The test cluster's storage is real CSI: the external provisioner creates volumes through
//! the hostpath driver, and the snapshot controller and csi-snapshotter take and restore
//! snapshots through it. A volume is a directory on this machine, which the tests read and
//! write directly.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use ferry_e2e::local::volume_dir;
use ferry_e2e::wait::eventually;
use ferry_e2e::{Cluster, TestNamespace};
use kube::api::{Api, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::json;

const LIMIT: Duration = Duration::from_secs(60);

fn snapshot_kind(kind: &str) -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(
        "snapshot.storage.k8s.io",
        "v1",
        kind,
    ))
}

fn snapshots(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, &snapshot_kind("VolumeSnapshot"))
}

async fn create_claim(
    client: &kube::Client,
    ns: &str,
    name: &str,
    data_source: Option<serde_json::Value>,
) -> anyhow::Result<()> {
    let mut spec = json!({
        "accessModes": ["ReadWriteOnce"],
        "storageClassName": "csi-hostpath-sc",
        "resources": {"requests": {"storage": "1Mi"}},
    });
    if let (Some(source), Some(map)) = (data_source, spec.as_object_mut()) {
        map.insert("dataSource".into(), source);
    }
    let claim = serde_json::from_value(json!({"metadata": {"name": name}, "spec": spec}))?;
    Api::<k8s_openapi::api::core::v1::PersistentVolumeClaim>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &claim)
        .await?;
    Ok(())
}

/// Takes a VolumeSnapshot of `claim` and waits until it is ready to use; returns its
/// VolumeSnapshotContent's name.
async fn snapshot(
    client: &kube::Client,
    ns: &str,
    name: &str,
    claim: &str,
) -> anyhow::Result<String> {
    let api = snapshots(client, ns);
    let mut object = DynamicObject::new(name, &snapshot_kind("VolumeSnapshot"));
    object.data = json!({"spec": {
        "volumeSnapshotClassName": "csi-hostpath-snapclass",
        "source": {"persistentVolumeClaimName": claim},
    }});
    api.create(&PostParams::default(), &object).await?;
    eventually(
        LIMIT,
        &format!("VolumeSnapshot {name} readyToUse"),
        || async {
            let s = api.get(name).await?;
            let status = &s.data["status"];
            Ok((status["readyToUse"] == true)
                .then(|| {
                    status["boundVolumeSnapshotContentName"]
                        .as_str()
                        .map(str::to_owned)
                })
                .flatten())
        },
    )
    .await
}

/// Writes a small tree: a file of pseudo-random bytes, a nested file and an executable.
fn write_tree(dir: &Path, seed: u64) -> anyhow::Result<()> {
    let mut x = seed | 1;
    let bytes: Vec<u8> = (0..100_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    std::fs::write(dir.join("data.bin"), bytes)?;
    std::fs::create_dir_all(dir.join("sub/dir"))?;
    std::fs::write(dir.join("sub/dir/note.txt"), format!("seed {seed}\n"))?;
    std::fs::write(dir.join("run.sh"), "#!/bin/sh\necho hi\n")?;
    std::fs::set_permissions(dir.join("run.sh"), std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

fn read_tree(dir: &Path) -> anyhow::Result<(Vec<u8>, String, u32)> {
    Ok((
        std::fs::read(dir.join("data.bin"))?,
        std::fs::read_to_string(dir.join("sub/dir/note.txt"))?,
        std::fs::metadata(dir.join("run.sh"))?.permissions().mode() & 0o777,
    ))
}

#[tokio::test]
async fn a_claim_on_the_hostpath_class_is_bound_and_its_directory_holds_what_is_written()
-> anyhow::Result<()> {
    let cluster = Cluster::shared();
    let ns = TestNamespace::create(cluster, "csi-provision", &[])?;
    let client = cluster.client().await?;
    create_claim(&client, &ns.name, "data", None).await?;

    let dir = volume_dir(cluster, &client, &ns.name, "data", LIMIT).await?;
    assert!(dir.is_dir(), "{} is not a directory", dir.display());
    std::fs::write(dir.join("hello.txt"), "hello from the test\n")?;
    let again = volume_dir(cluster, &client, &ns.name, "data", LIMIT).await?;
    assert_eq!(
        std::fs::read_to_string(again.join("hello.txt"))?,
        "hello from the test\n"
    );
    Ok(())
}

#[tokio::test]
async fn a_snapshot_becomes_ready_to_use_through_the_real_snapshot_machinery() -> anyhow::Result<()>
{
    let cluster = Cluster::shared();
    let ns = TestNamespace::create(cluster, "csi-snapshot", &[])?;
    let client = cluster.client().await?;
    create_claim(&client, &ns.name, "data", None).await?;
    let dir = volume_dir(cluster, &client, &ns.name, "data", LIMIT).await?;
    write_tree(&dir, 7)?;

    let content_name = snapshot(&client, &ns.name, "snap", "data").await?;
    // The content the snapshot controller made, bound by csi-snapshotter to a handle that the
    // driver returned.
    let contents: Api<DynamicObject> =
        Api::all_with(client.clone(), &snapshot_kind("VolumeSnapshotContent"));
    let content = contents.get(&content_name).await?;
    assert_eq!(content.data["spec"]["driver"], "hostpath.csi.k8s.io");
    assert_eq!(content.data["status"]["readyToUse"], true);
    let handle = content.data["status"]["snapshotHandle"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        !handle.is_empty(),
        "no snapshotHandle in {:?}",
        content.data
    );
    let data_dir = Path::new(cluster.var("FERRY_CSI_DATA_DIR")?);
    assert!(data_dir.join(format!("{handle}.snap")).is_file());
    let snap = snapshots(&client, &ns.name).get("snap").await?;
    assert_eq!(
        snap.data["status"]["boundVolumeSnapshotContentName"],
        content_name.as_str()
    );
    Ok(())
}

#[tokio::test]
async fn a_claim_restored_from_a_snapshot_is_bound_and_byte_identical_to_the_snapshot_time()
-> anyhow::Result<()> {
    let cluster = Cluster::shared();
    let ns = TestNamespace::create(cluster, "csi-restore", &[])?;
    let client = cluster.client().await?;
    create_claim(&client, &ns.name, "data", None).await?;
    let dir = volume_dir(cluster, &client, &ns.name, "data", LIMIT).await?;
    write_tree(&dir, 42)?;
    let at_snapshot = read_tree(&dir)?;
    snapshot(&client, &ns.name, "snap", "data").await?;
    // Changed after the snapshot: the restore must not see this.
    write_tree(&dir, 43)?;

    create_claim(
        &client,
        &ns.name,
        "restored",
        Some(json!({"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "snap"})),
    )
    .await?;
    let restored = volume_dir(cluster, &client, &ns.name, "restored", LIMIT).await?;
    assert_ne!(restored, dir);
    let got = read_tree(&restored)?;
    assert!(got.0 == at_snapshot.0, "data.bin differs from the snapshot");
    assert_eq!(got.1, at_snapshot.1);
    assert_eq!(got.2, 0o755, "the executable bit is kept");
    Ok(())
}

#[tokio::test]
async fn a_claim_cloned_from_a_claim_holds_its_files() -> anyhow::Result<()> {
    let cluster = Cluster::shared();
    let ns = TestNamespace::create(cluster, "csi-clone", &[])?;
    let client = cluster.client().await?;
    create_claim(&client, &ns.name, "data", None).await?;
    let dir = volume_dir(cluster, &client, &ns.name, "data", LIMIT).await?;
    write_tree(&dir, 5)?;
    create_claim(
        &client,
        &ns.name,
        "clone",
        Some(json!({"kind": "PersistentVolumeClaim", "name": "data"})),
    )
    .await?;
    let clone = volume_dir(cluster, &client, &ns.name, "clone", LIMIT).await?;
    assert_eq!(read_tree(&clone)?, read_tree(&dir)?);
    Ok(())
}
