//! What goes wrong, and what the user then sees. A sidecar killed mid-sync publishes nothing
//! partial, its temporary objects are cleaned up and the next sync succeeds; a sidecar told
//! to stop mid-sync aborts cleanly and says so. Each configuration error gives the condition
//! `Synchronizing=False` with reason `Error` and a message naming what to fix, a `SyncFailed`
//! Event and a failure in the metrics, and deletes nothing at the far end.

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use ferry_e2e::replication::manifests::{self, Role};
use ferry_e2e::replication::observe::{condition, condition_message};
use ferry_e2e::replication::process;
use ferry_e2e::replication::scenario::{KEEP_BODY, KEEP_KEY};
use ferry_e2e::replication::tree::{self, Compare, Tree};
use ferry_e2e::replication::{LIMIT, Minio, Replication, pod_name};
use ferry_e2e::wait::eventually;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Pod;
use nix::sys::signal::Signal;
use serde_json::json;

const SOURCE: &str = "to-s3";
const DESTINATION: &str = "from-s3";
const SECRET: &str = "s3-creds";
/// Big enough that a sync at [`SLOW`] lasts 20 s or more.
const BIG: usize = 96 << 20;
/// The bandwidth limit that keeps a sync running long enough to interrupt it.
const SLOW: &str = "4M";

/// Waits for the `ferry-sidecar run` process of `pod`.
async fn sidecar_pid(ns: &str, pod: &Pod) -> anyhow::Result<i32> {
    let name = pod_name(pod);
    eventually(LIMIT, &format!("the sidecar process of {name}"), || async {
        Ok(process::find(ns, &name, "run"))
    })
    .await
}

/// SIGKILLs the sidecar of `pod` and waits until it is dead.
async fn kill_sidecar(ns: &str, pod: &Pod) -> anyhow::Result<()> {
    let pid = sidecar_pid(ns, pod).await?;
    process::signal(pid, Signal::SIGKILL)?;
    eventually(LIMIT, "the killed sidecar to be gone", || async {
        Ok((!process::alive(pid)).then_some(()))
    })
    .await
}

#[tokio::test]
async fn a_source_sidecar_killed_mid_sync_leaves_no_temporary_objects_and_the_next_sync_succeeds()
-> anyhow::Result<()> {
    let fx = Replication::start("kill-src").await?;
    let ns = fx.namespace("kill-src", true).await?;
    let bucket = fx.minio.bucket("kill-src").await?;
    let data = fx.volume(&ns, "data").await?;
    tree::write_tree(&data, 5)?;
    tree::write_big(&data, "big.bin", BIG, 5)?;
    fx.rclone_secret(&ns, SECRET).await?;
    let mut cr = manifests::rclone_source(
        SOURCE,
        "data",
        SECRET,
        &format!("{bucket}/data"),
        "Snapshot",
        Some(manifests::manual("one")),
    );
    cr["spec"]["rclone"]["bandwidthLimit"] = json!(SLOW);
    let template = manifests::pod_template("web", Role::Source, SOURCE, "data");
    let pod = fx
        .bind(&ns, &cr, &manifests::deployment("web", 1, &template))
        .await?
        .remove(0);
    let uid = fx.uid(Role::Source, &ns, SOURCE).await?;

    // Mid-sync: the mover pod runs and pushes.
    let mover = eventually(LIMIT, "a running mover pod", || async {
        let running = fx
            .pods(&ns)
            .list(&kube::api::ListParams::default().labels(&format!(
                "{}={uid},{}=true",
                ferry_e2e::replication::TEMPORARY_LABEL,
                ferry_e2e::replication::MOVER_LABEL
            )))
            .await?
            .items
            .into_iter()
            .find(ferry_e2e::replication::running);
        Ok(running)
    })
    .await?;
    let leftovers = fx.temporaries(&ns, &uid).await?;
    ensure!(
        leftovers.contains(&format!("Pod/{}", pod_name(&mover))),
        "{leftovers:?}"
    );
    kill_sidecar(&ns, &pod).await?;
    let status = fx.status(Role::Source, &ns, SOURCE).await?;
    ensure!(status["lastManualSync"] != "one", "{status:#}");

    // The replacement pod's sidecar: cleans up what the killed one left, then syncs fast.
    fx.patch(
        Role::Source,
        &ns,
        SOURCE,
        json!({"spec": {"rclone": {"bandwidthLimit": null}}}),
    )
    .await?;
    fx.delete_pod(&ns, &pod_name(&pod)).await?;
    let replacement = fx.running_pods(&ns, "app=web", 1).await?.remove(0);
    ensure!(pod_name(&replacement) != pod_name(&pod));
    eventually(
        LIMIT,
        "the killed sync's temporary objects to be deleted",
        || async {
            let now = fx.temporaries(&ns, &uid).await?;
            Ok((!leftovers.iter().any(|l| now.contains(l))).then_some(()))
        },
    )
    .await
    .with_context(|| format!("left by the killed sidecar: {leftovers:?}"))?;

    let status = fx.wait_manual(Role::Source, &ns, SOURCE, "one").await?;
    ensure!(
        status["latestMoverStatus"]["result"] == "Successful",
        "{status:#}"
    );
    ensure!(
        status["boundPod"] == pod_name(&replacement).as_str(),
        "{status:#}"
    );
    fx.wait_no_temporaries(&ns, &uid).await?;
    let listed = fx.minio.list(&bucket, "data").await?;
    let source = Tree::of(&data)?;
    ensure!(
        listed.keys().eq(source.files.keys())
            && listed.get("big.bin") == Some(&i64::try_from(BIG)?),
        "MinIO holds {listed:?}"
    );
    ensure!(
        fx.minio.open_uploads(&bucket).await?.is_empty(),
        "multipart uploads left open"
    );
    fx.passed();
    Ok(())
}

#[tokio::test]
async fn a_destination_sidecar_killed_mid_pull_publishes_nothing_and_the_next_pull_publishes_all()
-> anyhow::Result<()> {
    let fx = Replication::start("kill-dst").await?;
    let ns = fx.namespace("kill-dst", true).await?;
    let bucket = fx.minio.bucket("kill-dst").await?;
    // What is in the bucket, as a local tree to compare the restore with.
    let local = tempfile::tempdir()?;
    tree::write_tree(local.path(), 6)?;
    tree::write_big(local.path(), "big.bin", BIG, 6)?;
    let want = Tree::of(local.path())?;
    for path in want.files.keys() {
        let body = std::fs::read(local.path().join(path))?;
        fx.minio
            .put(&bucket, &format!("backup/{path}"), &body)
            .await?;
    }
    fx.volume(&ns, "replica").await?;
    fx.rclone_secret(&ns, SECRET).await?;
    let mut cr = manifests::rclone_destination(
        DESTINATION,
        SECRET,
        &format!("{bucket}/backup"),
        2,
        Some(manifests::manual("one")),
    );
    cr["spec"]["rclone"]["bandwidthLimit"] = json!(SLOW);
    let template = manifests::pod_template("standby", Role::Destination, DESTINATION, "replica");
    let pod = fx
        .bind(&ns, &cr, &manifests::deployment("standby", 1, &template))
        .await?
        .remove(0);
    let uid = fx.uid(Role::Destination, &ns, DESTINATION).await?;

    fx.wait_synchronizing(
        Role::Destination,
        &ns,
        DESTINATION,
        "True",
        "SyncInProgress",
    )
    .await?;
    // The pull runs in the sidecar's engine process, which must not outlive the sidecar:
    // else it would go on writing into the volume behind the next sidecar's back.
    let name = pod_name(&pod);
    let engine = eventually(LIMIT, "the pull's engine process", || async {
        Ok(process::find(&ns, &name, "engine"))
    })
    .await?;
    kill_sidecar(&ns, &pod).await?;
    eventually(
        LIMIT,
        "the engine process to end with its sidecar",
        || async { Ok((!process::alive(engine)).then_some(())) },
    )
    .await?;
    let status = fx.status(Role::Destination, &ns, DESTINATION).await?;
    ensure!(
        status["latestImage"].is_null(),
        "an interrupted pull published an image: {status:#}"
    );
    ensure!(fx.images(&ns, &uid).await?.is_empty(), "an image was made");

    fx.patch(
        Role::Destination,
        &ns,
        DESTINATION,
        json!({"spec": {"rclone": {"bandwidthLimit": null}}}),
    )
    .await?;
    fx.delete_pod(&ns, &pod_name(&pod)).await?;
    fx.running_pods(&ns, "app=standby", 1).await?;
    let status = fx
        .wait_manual(Role::Destination, &ns, DESTINATION, "one")
        .await?;
    ensure!(
        status["latestMoverStatus"]["result"] == "Successful",
        "{status:#}"
    );
    let image = status["latestImage"]["name"]
        .as_str()
        .context("no latestImage after the complete pull")?
        .to_owned();
    fx.wait_snapshot_ready(&ns, &image).await?;
    // retain is 2, yet only one image: the killed round made none.
    ensure!(
        fx.images(&ns, &uid).await? == [image.clone()],
        "images: {:?}",
        fx.images(&ns, &uid).await?
    );
    fx.wait_no_temporaries(&ns, &uid).await?;
    let restored = fx.restore(&ns, "restored", &image).await?;
    want.ensure_same(
        &Tree::of(&restored)?,
        Compare {
            mode: false,
            mtime: false,
            dirs: false,
        },
        "the image after the interrupted pull",
    )?;
    fx.passed();
    Ok(())
}

#[tokio::test]
async fn a_sidecar_stopped_mid_sync_aborts_cleanly_and_says_so() -> anyhow::Result<()> {
    let fx = Replication::start("sigterm").await?;
    let ns = fx.namespace("sigterm", true).await?;
    let bucket = fx.minio.bucket("sigterm").await?;
    let data = fx.volume(&ns, "data").await?;
    tree::write_big(&data, "big.bin", BIG, 7)?;
    fx.rclone_secret(&ns, SECRET).await?;
    let mut cr = manifests::rclone_source(
        SOURCE,
        "data",
        SECRET,
        &format!("{bucket}/data"),
        "Direct",
        Some(manifests::manual("one")),
    );
    cr["spec"]["rclone"]["bandwidthLimit"] = json!(SLOW);
    let template = manifests::pod_template("web", Role::Source, SOURCE, "data");
    let pod = fx
        .bind(&ns, &cr, &manifests::pod("web", &template))
        .await?
        .remove(0);
    fx.wait_synchronizing(Role::Source, &ns, SOURCE, "True", "SyncInProgress")
        .await?;

    // Deleting the pod: the kubelet sends SIGTERM, with 30 s of grace.
    let asked = Instant::now();
    fx.delete_pod(&ns, &pod_name(&pod)).await?;
    let took = asked.elapsed();
    ensure!(
        took < Duration::from_secs(25),
        "the sidecar took {took:?} to stop (grace period 30 s): it did not stop on SIGTERM"
    );

    let status = fx.status(Role::Source, &ns, SOURCE).await?;
    ensure!(
        status["latestMoverStatus"]["result"] == "Failed",
        "{status:#}"
    );
    ensure!(status["lastManualSync"] != "one", "{status:#}");
    let synchronizing = condition(&status, "Synchronizing").context("no Synchronizing")?;
    ensure!(synchronizing["status"] == "False", "{status:#}");
    ensure!(
        condition_message(&status, "Synchronizing")
            .to_lowercase()
            .contains("interrupt"),
        "the message does not mention the interruption: {status:#}"
    );
    fx.wait_event(Role::Source, &ns, SOURCE, "Interrupted")
        .await?;
    // Nothing half-written at the far end.
    ensure!(
        fx.minio.open_uploads(&bucket).await?.is_empty(),
        "multipart uploads left open"
    );
    ensure!(
        !fx.minio
            .list(&bucket, "data")
            .await?
            .contains_key("big.bin"),
        "big.bin reached the bucket although the sync was stopped"
    );
    fx.passed();
    Ok(())
}

/// A source namespace with a volume holding a tree, a pod bound to `cr` (adjusted by the
/// caller), and a bucket prefix seeded with an object the source lacks.
struct ErrorCase {
    fx: Replication,
    ns: String,
    bucket: String,
    pod: Pod,
}

impl ErrorCase {
    async fn start(
        name: &str,
        bind_sidecar: bool,
        secret: Option<String>,
        edit: impl FnOnce(&mut serde_json::Value, &str),
    ) -> anyhow::Result<Self> {
        let fx = Replication::start(name).await?;
        let ns = fx.namespace(name, bind_sidecar).await?;
        let data = fx.volume(&ns, "data").await?;
        tree::write_tree(&data, 8)?;
        if let Some(conf) = secret {
            fx.create(&ns, &manifests::rclone_secret(SECRET, &conf))
                .await?;
        }
        let (bucket, path) = fx.seeded_bucket(name, "data").await?;
        let mut cr = manifests::rclone_source(
            SOURCE,
            "data",
            SECRET,
            &path,
            "Direct",
            Some(manifests::manual("one")),
        );
        edit(&mut cr, &bucket);
        let template = manifests::pod_template("web", Role::Source, SOURCE, "data");
        let pod = fx
            .bind(&ns, &cr, &manifests::pod("web", &template))
            .await?
            .remove(0);
        Ok(Self {
            fx,
            ns,
            bucket,
            pod,
        })
    }

    async fn ensure_error(&self, needles: &[&str]) -> anyhow::Result<()> {
        self.fx
            .ensure_sync_error(Role::Source, &self.ns, SOURCE, &self.pod, needles)
            .await?;
        self.fx.ensure_untouched(&self.bucket, "data").await
    }
}

fn real_conf() -> anyhow::Result<String> {
    Ok(Minio::new(ferry_e2e::Cluster::shared())?.rclone_conf())
}

#[tokio::test]
async fn a_missing_rclone_secret_is_named() -> anyhow::Result<()> {
    let case = ErrorCase::start("err-secret", true, None, |cr, _| {
        cr["spec"]["rclone"]["rcloneConfig"] = json!("no-such-secret");
    })
    .await?;
    case.ensure_error(&["no-such-secret"]).await?;
    case.fx.passed();
    Ok(())
}

/// A CR whose `sourcePVC` names no claim (a typo), bound to a pod that mounts another one:
/// the sidecar must not replicate the pod's volume in its place.
async fn missing_source_pvc(copy_method: &'static str) -> anyhow::Result<()> {
    let case = ErrorCase::start("err-pvc", true, Some(real_conf()?), |cr, _| {
        cr["spec"]["sourcePVC"] = json!("no-such-claim");
        cr["spec"]["rclone"]["copyMethod"] = json!(copy_method);
    })
    .await?;
    case.ensure_error(&["no-such-claim"]).await?;
    case.fx.passed();
    Ok(())
}

#[tokio::test]
async fn a_missing_source_pvc_is_named_with_copy_method_direct() -> anyhow::Result<()> {
    missing_source_pvc("Direct").await
}

#[tokio::test]
async fn a_missing_source_pvc_is_named_with_copy_method_snapshot() -> anyhow::Result<()> {
    missing_source_pvc("Snapshot").await
}

#[tokio::test]
async fn wrong_s3_credentials_are_reported() -> anyhow::Result<()> {
    let minio = Minio::new(ferry_e2e::Cluster::shared())?;
    let conf = minio.rclone_conf_with(
        ferry_e2e::Cluster::shared().var("MINIO_ACCESS_KEY")?,
        "not-the-secret-key",
    );
    let case = ErrorCase::start("err-auth", true, Some(conf), |_, _| {}).await?;
    case.fx
        .ensure_sync_error(Role::Source, &case.ns, SOURCE, &case.pod, &[])
        .await?;
    let status = case.fx.status(Role::Source, &case.ns, SOURCE).await?;
    let message = condition_message(&status, "Synchronizing");
    ensure!(
        message.contains(SECRET) || message.contains("secret_access_key"),
        "the message names neither the Secret nor the key setting: {message}"
    );
    ensure!(
        !message.contains("not-the-secret-key"),
        "the message shows the secret key: {message}"
    );
    case.fx.ensure_untouched(&case.bucket, "data").await?;
    case.fx.passed();
    Ok(())
}

#[tokio::test]
async fn a_missing_bucket_is_named_and_not_created() -> anyhow::Result<()> {
    let missing = Minio::unique_bucket("err-nobucket");
    let case = ErrorCase::start("err-bucket", true, Some(real_conf()?), |cr, _| {
        cr["spec"]["rclone"]["rcloneDestPath"] = json!(format!("{missing}/data"));
    })
    .await?;
    case.fx
        .ensure_sync_error(Role::Source, &case.ns, SOURCE, &case.pod, &[&missing])
        .await?;
    ensure!(
        !case.fx.minio.bucket_exists(&missing).await?,
        "the sidecar created bucket {missing}"
    );
    case.fx.passed();
    Ok(())
}

#[tokio::test]
async fn a_missing_volume_snapshot_class_is_named() -> anyhow::Result<()> {
    let case = ErrorCase::start("err-class", true, Some(real_conf()?), |cr, _| {
        cr["spec"]["rclone"]["copyMethod"] = json!("Snapshot");
        cr["spec"]["rclone"]["volumeSnapshotClassName"] = json!("no-such-class");
    })
    .await?;
    case.ensure_error(&["no-such-class"]).await?;
    case.fx.passed();
    Ok(())
}

#[tokio::test]
async fn denied_rbac_names_the_cluster_role_to_bind() -> anyhow::Result<()> {
    // No RoleBinding: the sidecar can neither read its CR nor write its status or Events,
    // so what it says reaches the user through its log and its metrics while it retries.
    let case = ErrorCase::start("err-rbac", false, Some(real_conf()?), |_, _| {}).await?;
    let fx = &case.fx;
    eventually(LIMIT, "the sidecar to log that it is forbidden", || async {
        let log = fx.sidecar_log(&case.pod);
        Ok((log.contains("forbidden") && log.contains("ClusterRole ferry-sidecar")).then_some(()))
    })
    .await
    .with_context(|| format!("sidecar log:\n{}", fx.sidecar_log(&case.pod)))?;
    fx.wait_metric(
        &case.pod,
        "ferry_syncs_total",
        &[("name", SOURCE), ("result", "failure")],
        1.0,
    )
    .await?;
    fx.ensure_untouched(&case.bucket, "data").await?;
    fx.passed();
    Ok(())
}

#[tokio::test]
async fn an_rsync_host_key_mismatch_names_the_secret_to_check() -> anyhow::Result<()> {
    let fx = Replication::start("err-hostkey").await?;
    let dst = fx.namespace("err-hostkey-dst", true).await?;
    let src = fx.namespace("err-hostkey-src", true).await?;
    let backup = fx.volume(&dst, "backup").await?;
    tree::write_file(&backup, KEEP_KEY, KEEP_BODY, tree::TREE_MTIME)?;
    let destination = fx.rsync_destination(&dst, "from-prod", "backup", 1).await?;

    // Pin a host key that is not the destination's.
    let other = tempfile::tempdir()?;
    let keygen = std::process::Command::new(ferry_e2e::webhook::bin_path("ferry-sidecar")?)
        .arg("keygen")
        .arg(other.path())
        .output()?;
    ensure!(keygen.status.success(), "keygen: {keygen:?}");
    let wrong = std::fs::read(other.path().join("source/destination.pub"))?;
    fx.copy_secret(
        &dst,
        destination.keys_secret(),
        &src,
        "standby-keys",
        |data| {
            data.insert("destination.pub".into(), ByteString(wrong));
        },
    )
    .await?;

    let data = fx.volume(&src, "data").await?;
    tree::write_tree(&data, 9)?;
    let cr = manifests::rsync_source(
        "to-standby",
        "data",
        destination.address(),
        destination.port(),
        "standby-keys",
        "Direct",
        Some(manifests::manual("one")),
    );
    let template = manifests::pod_template("web", Role::Source, "to-standby", "data");
    let pod = fx
        .bind(&src, &cr, &manifests::pod("web", &template))
        .await?
        .remove(0);
    fx.ensure_sync_error(Role::Source, &src, "to-standby", &pod, &["standby-keys"])
        .await?;

    // The destination received nothing and published nothing.
    let held: Vec<String> = Tree::of(&backup)?.files.into_keys().collect();
    ensure!(
        held == [KEEP_KEY],
        "the destination volume changed: {held:?}"
    );
    let status = fx.status(Role::Destination, &dst, "from-prod").await?;
    ensure!(status["latestImage"].is_null(), "{status:#}");
    fx.passed();
    Ok(())
}
