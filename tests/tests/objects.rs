//! The sidecar's Kubernetes objects against the test cluster: real CSI snapshots, restores and
//! clones through the hostpath driver, retention, the clean-up of a CR's temporaries, and
//! mover pods run on the node from the sidecar image built here.
// A test crate: helpers outside #[test] functions fail fast too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use ferry_agent::objects::{self, Error, Owner, claim, cleanup, mover, snapshot};
use ferry_api::types::VolumeOptions;
use ferry_e2e::local::volume_dir;
use ferry_e2e::wait::eventually;
use ferry_e2e::{Cluster, TestNamespace};
use k8s_openapi::api::core::v1::{ConfigMap, EnvVar, PersistentVolumeClaim, Pod, Secret};
use kube::api::{Api, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::json;

const LIMIT: Duration = Duration::from_secs(60);
const CLASS: &str = "csi-hostpath-snapclass";

async fn setup(prefix: &str) -> (&'static Cluster, TestNamespace, kube::Client) {
    let cluster = Cluster::shared();
    let ns = TestNamespace::create(cluster, prefix, &[]).unwrap();
    let client = cluster.client().await.unwrap();
    (cluster, ns, client)
}

/// A PVC on the hostpath class, bound, holding `hello.txt`; returns its directory.
async fn source_claim(cluster: &Cluster, client: &kube::Client, ns: &str, text: &str) -> PathBuf {
    let pvc: PersistentVolumeClaim = serde_json::from_value(json!({
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "csi-hostpath-sc",
            "resources": {"requests": {"storage": "1Mi"}}}}))
    .unwrap();
    Api::<PersistentVolumeClaim>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &pvc)
        .await
        .unwrap();
    let dir = volume_dir(cluster, client, ns, "data", LIMIT)
        .await
        .unwrap();
    std::fs::write(dir.join("hello.txt"), text).unwrap();
    dir
}

/// A real object to own the test's objects: an owner reference to a missing owner would let
/// the garbage collector delete them under the test.
async fn owner(client: &kube::Client, ns: &str, name: &str) -> Owner {
    let map: ConfigMap = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    let made = Api::<ConfigMap>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &map)
        .await
        .unwrap();
    Owner {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        name: name.into(),
        uid: made.metadata.uid.unwrap(),
    }
}

fn snapshots(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    let kind = GroupVersionKind::gvk(snapshot::GROUP, "v1", "VolumeSnapshot");
    Api::namespaced_with(client.clone(), ns, &ApiResource::from_gvk(&kind))
}

async fn file_in_claim(cluster: &Cluster, client: &kube::Client, ns: &str, name: &str) -> String {
    let dir = volume_dir(cluster, client, ns, name, LIMIT).await.unwrap();
    std::fs::read_to_string(dir.join("hello.txt")).unwrap()
}

#[tokio::test]
async fn a_snapshot_is_restored_and_a_clone_made_holding_the_sources_data() {
    let (cluster, ns, client) = setup("objects-restore").await;
    let ns = ns.name.as_str();
    let dir = source_claim(cluster, &client, ns, "at snapshot time\n").await;
    let owner = owner(&client, ns, "cr").await;
    let labels = owner.temporary_labels();

    snapshot::check_class(&client, Some(CLASS)).await.unwrap();
    snapshot::check_class(&client, None).await.unwrap();
    snapshot::create(
        &client,
        ns,
        "snap",
        "data",
        Some(CLASS),
        &labels,
        Some(&owner),
    )
    .await
    .unwrap();
    // A retried create is fine; one that would snapshot another PVC is not.
    snapshot::create(
        &client,
        ns,
        "snap",
        "data",
        Some(CLASS),
        &labels,
        Some(&owner),
    )
    .await
    .unwrap();
    let other = snapshot::create(&client, ns, "snap", "other", None, &labels, None).await;
    assert!(
        matches!(other, Err(Error::AlreadyExists { .. })),
        "{other:?}"
    );
    let ready = snapshot::wait_ready(&client, ns, "snap", LIMIT)
        .await
        .unwrap();
    assert_eq!(ready.name, "snap");
    assert!(ready.content.is_some(), "{ready:?}");
    let made = snapshots(&client, ns).get("snap").await.unwrap();
    assert_eq!(made.metadata.labels.as_ref(), Some(&labels));
    assert_eq!(made.metadata.owner_references.unwrap()[0].uid, owner.uid);
    // Written after the snapshot: the restore must not see it, the clone must.
    std::fs::write(dir.join("hello.txt"), "after the snapshot\n").unwrap();

    let source = claim::get(&client, ns, "data").await.unwrap();
    let template = claim::template(
        &source,
        &VolumeOptions::default(),
        ready.restore_size.as_deref(),
    );
    assert_eq!(template.storage_class.as_deref(), Some("csi-hostpath-sc"));
    assert_eq!(template.access_modes, ["ReadWriteOnce"]);
    claim::create_from_snapshot(
        &client,
        ns,
        "restored",
        "snap",
        &template,
        &labels,
        Some(&owner),
    )
    .await
    .unwrap();
    claim::create_from_snapshot(
        &client,
        ns,
        "restored",
        "snap",
        &template,
        &labels,
        Some(&owner),
    )
    .await
    .unwrap();
    claim::wait_bound(&client, ns, "restored", LIMIT)
        .await
        .unwrap();
    assert_eq!(
        file_in_claim(cluster, &client, ns, "restored").await,
        "at snapshot time\n"
    );

    let clone_template = claim::template(&source, &VolumeOptions::default(), None);
    claim::create_clone(
        &client,
        ns,
        "cloned",
        "data",
        &clone_template,
        &labels,
        Some(&owner),
    )
    .await
    .unwrap();
    // The name is taken by a claim of other data: refused, not reused.
    let stale = claim::create_clone(
        &client,
        ns,
        "restored",
        "data",
        &clone_template,
        &labels,
        None,
    )
    .await;
    assert!(
        matches!(stale, Err(Error::AlreadyExists { .. })),
        "{stale:?}"
    );
    claim::wait_bound(&client, ns, "cloned", LIMIT)
        .await
        .unwrap();
    assert_eq!(
        file_in_claim(cluster, &client, ns, "cloned").await,
        "after the snapshot\n"
    );
    let cloned = claim::get(&client, ns, "cloned").await.unwrap();
    assert_eq!(cloned.metadata.labels.as_ref(), Some(&labels));
    assert_eq!(cloned.metadata.owner_references.unwrap()[0].uid, owner.uid);
}

#[tokio::test]
async fn missing_objects_are_reported_with_what_to_fix() {
    let (cluster, ns, client) = setup("objects-missing").await;
    let ns = ns.name.as_str();

    let class = snapshot::check_class(&client, Some("no-such-class")).await;
    let message = class
        .as_ref()
        .err()
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(
        matches!(class, Err(Error::SnapshotClassMissing { .. })),
        "{class:?}"
    );
    assert!(
        message.contains("no-such-class") && message.contains("volumeSnapshotClassName"),
        "{message}"
    );

    let pvc = claim::get(&client, ns, "nope").await;
    let message = pvc
        .as_ref()
        .err()
        .map(ToString::to_string)
        .unwrap_or_default();
    assert_eq!(
        message,
        format!(
            "PersistentVolumeClaim {ns}/nope does not exist: it is named by spec.sourcePVC (or \
             is the claim of the pod's replicated volume); create it or correct spec.sourcePVC"
        )
    );
    let unbound = claim::wait_bound(&client, ns, "nope", LIMIT).await;
    assert!(
        matches!(unbound, Err(Error::NotFound { .. })),
        "{unbound:?}"
    );

    // A snapshot that cannot be taken is never reported ready: a missing class ends the wait
    // as soon as the snapshot controller says so, naming the class and the fix.
    source_claim(cluster, &client, ns, "x").await;
    let labels = BTreeMap::new();
    snapshot::create(
        &client,
        ns,
        "bad",
        "data",
        Some("no-such-class"),
        &labels,
        None,
    )
    .await
    .unwrap();
    let started = std::time::Instant::now();
    let waited = snapshot::wait_ready(&client, ns, "bad", Duration::from_secs(60)).await;
    let message = waited
        .as_ref()
        .err()
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(
        matches!(&waited, Err(Error::SnapshotClassMissing { name }) if name == "no-such-class"),
        "{waited:?}"
    );
    assert!(
        message.contains("no-such-class") && message.contains("volumeSnapshotClassName"),
        "{message}"
    );
    assert!(started.elapsed() < Duration::from_secs(60));

    snapshot::delete(&client, ns, "bad").await.unwrap();
    snapshot::delete(&client, ns, "never-was").await.unwrap();
    claim::delete(&client, ns, "never-was").await.unwrap();
    mover::delete(&client, ns, "never-was").await.unwrap();
}

#[tokio::test]
async fn pruning_keeps_the_newest_ready_snapshots_and_the_protected_one() {
    let (cluster, ns, client) = setup("objects-prune").await;
    let ns = ns.name.as_str();
    source_claim(cluster, &client, ns, "x").await;
    let owner = owner(&client, ns, "cr").await;
    let labels = owner.image_labels();
    // Never ready: not an image, so never pruned.
    snapshot::create(
        &client,
        ns,
        "img-0",
        "data",
        Some("no-such-class"),
        &labels,
        None,
    )
    .await
    .unwrap();
    for name in ["img-1", "img-2", "img-3"] {
        snapshot::create(&client, ns, name, "data", Some(CLASS), &labels, None)
            .await
            .unwrap();
        snapshot::wait_ready(&client, ns, name, LIMIT)
            .await
            .unwrap();
    }
    // Not of this owner.
    snapshot::create(
        &client,
        ns,
        "other",
        "data",
        Some(CLASS),
        &BTreeMap::new(),
        None,
    )
    .await
    .unwrap();

    let selector = format!("{}={}", objects::IMAGE_LABEL, owner.uid);
    let listed = snapshot::list(&client, ns, &selector).await.unwrap();
    let names: Vec<(&str, bool)> = listed.iter().map(|i| (i.name.as_str(), i.ready)).collect();
    assert_eq!(
        names,
        [
            ("img-0", false),
            ("img-1", true),
            ("img-2", true),
            ("img-3", true)
        ]
    );
    assert!(listed.iter().all(|i| i.created.is_some()));

    let deleted = snapshot::prune(&client, ns, &selector, 1, "img-1")
        .await
        .unwrap();
    assert_eq!(deleted, ["img-2"]);
    let left = eventually(LIMIT, "img-2 to be gone", || async {
        let left = snapshot::list(&client, ns, &selector).await?;
        Ok((left.len() == 3).then_some(left))
    })
    .await
    .unwrap();
    let names: Vec<&str> = left.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["img-0", "img-1", "img-3"]);
    assert!(
        snapshots(&client, ns)
            .get_opt("other")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn cleanup_deletes_the_temporaries_of_its_owner_only() {
    let (cluster, ns, client) = setup("objects-cleanup").await;
    let ns = ns.name.as_str();
    source_claim(cluster, &client, ns, "x").await;
    let mine = owner(&client, ns, "mine").await;
    let theirs = owner(&client, ns, "theirs").await;
    let labels = mine.temporary_labels();
    snapshot::create(
        &client,
        ns,
        "tmp-snap",
        "data",
        Some(CLASS),
        &labels,
        Some(&mine),
    )
    .await
    .unwrap();
    snapshot::wait_ready(&client, ns, "tmp-snap", LIMIT)
        .await
        .unwrap();
    let source = claim::get(&client, ns, "data").await.unwrap();
    let template = claim::template(&source, &VolumeOptions::default(), None);
    claim::create_from_snapshot(
        &client,
        ns,
        "tmp-claim",
        "tmp-snap",
        &template,
        &labels,
        Some(&mine),
    )
    .await
    .unwrap();
    claim::wait_bound(&client, ns, "tmp-claim", LIMIT)
        .await
        .unwrap();
    let spec = mover_spec(ns, "tmp-mover", "tmp-claim", labels, Some(mine.clone()));
    let mut pod = mover::pod(&spec);
    pod.spec.as_mut().unwrap().containers[0].command = Some(vec!["sleep".into(), "300".into()]);
    pod.spec.as_mut().unwrap().containers[0].args = None;
    create_pod(&client, ns, &pod).await;
    snapshot::create(
        &client,
        ns,
        "kept",
        "data",
        Some(CLASS),
        &theirs.temporary_labels(),
        None,
    )
    .await
    .unwrap();

    let cleaned = cleanup::temporaries(&client, ns, &mine.uid).await.unwrap();
    assert_eq!(
        cleaned,
        cleanup::Cleaned {
            pods: 1,
            claims: 1,
            snapshots: 1
        }
    );
    eventually(LIMIT, "the temporaries to be gone", || async {
        let pod = Api::<Pod>::namespaced(client.clone(), ns)
            .get_opt("tmp-mover")
            .await?;
        let claim = Api::<PersistentVolumeClaim>::namespaced(client.clone(), ns)
            .get_opt("tmp-claim")
            .await?;
        let snap = snapshots(&client, ns).get_opt("tmp-snap").await?;
        Ok((pod.is_none() && claim.is_none() && snap.is_none()).then_some(()))
    })
    .await
    .unwrap();
    assert!(
        snapshots(&client, ns)
            .get_opt("kept")
            .await
            .unwrap()
            .is_some()
    );
    assert!(claim::get(&client, ns, "data").await.is_ok());
    let again = cleanup::temporaries(&client, ns, &mine.uid).await.unwrap();
    assert_eq!(again, cleanup::Cleaned::default());
}

fn mover_spec(
    ns: &str,
    name: &str,
    claim: &str,
    labels: BTreeMap<String, String>,
    owner: Option<Owner>,
) -> mover::Spec {
    mover::Spec {
        name: name.into(),
        namespace: ns.into(),
        image: ferry_e2e::ferry::sidecar_image(),
        claim: claim.into(),
        read_only: true,
        labels,
        owner,
        ..mover::Spec::default()
    }
}

async fn create_pod(client: &kube::Client, ns: &str, pod: &Pod) {
    Api::<Pod>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), pod)
        .await
        .unwrap();
}

/// `pod` with its mover command replaced by a shell script.
fn scripted(mut pod: Pod, script: &str) -> Pod {
    let container = &mut pod.spec.as_mut().unwrap().containers[0];
    container.command = Some(vec!["sh".into(), "-c".into(), script.into()]);
    container.args = None;
    pod
}

#[tokio::test]
async fn a_mover_pod_runs_with_its_volume_secrets_and_identity_and_reports_its_result() {
    let (cluster, ns, client) = setup("objects-mover").await;
    ferry_e2e::ferry::images(cluster).unwrap();
    let ns = ns.name.as_str();
    source_claim(cluster, &client, ns, "hello\n").await;
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "creds"}, "stringData": {"token": "s3cr3t"}}))
    .unwrap();
    Api::<Secret>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    let mut spec = mover_spec(ns, "mover-ok", "data", BTreeMap::new(), None);
    spec.env = vec![EnvVar {
        name: "FERRY_TEST".into(),
        value: Some("yes".into()),
        value_from: None,
    }];
    spec.secrets = vec![("creds".into(), "/ferry/secrets/creds".into())];
    // What the mover sees: its volume read-only, its Secret, its environment and identity;
    // then the sidecar binary itself runs.
    let script = format!(
        r#"set -e
        test "$(cat {path}/hello.txt)" = hello
        if touch {path}/written 2>/dev/null; then echo "the volume is writable" >&2; exit 9; fi
        test "$(cat /ferry/secrets/creds/token)" = s3cr3t
        test "$FERRY_TEST" = yes
        test "$POD_NAME" = mover-ok
        test "$POD_NAMESPACE" = {ns}
        test -n "$POD_UID"
        test -n "$POD_IP"
        exec ferry-sidecar version"#,
        path = mover::VOLUME_PATH,
    );
    create_pod(&client, ns, &scripted(mover::pod(&spec), &script)).await;
    let result = json!({"bytes": 6, "files": 1});
    mover::report(&client, ns, "mover-ok", &result)
        .await
        .unwrap();
    let outcome = mover::wait(&client, ns, "mover-ok", LIMIT).await.unwrap();
    assert_eq!(
        outcome,
        mover::Outcome {
            succeeded: true,
            exit_code: Some(0),
            message: None,
            result: Some(result),
        }
    );
    let pod = Api::<Pod>::namespaced(client.clone(), ns)
        .get("mover-ok")
        .await
        .unwrap();
    assert_eq!(
        pod.metadata.labels.unwrap()[ferry_api::annotations::MOVER_LABEL],
        "true"
    );

    // The pod is the caller's to delete; run() refuses to reuse a name still taken.
    let taken = mover::run(&client, &spec, LIMIT).await;
    assert!(
        matches!(taken, Err(Error::AlreadyExists { .. })),
        "{taken:?}"
    );
    mover::delete(&client, ns, "mover-ok").await.unwrap();

    let failing = mover_spec(ns, "mover-fails", "data", BTreeMap::new(), None);
    let script = "echo 'no route to the far end' >&2; exit 3";
    create_pod(&client, ns, &scripted(mover::pod(&failing), script)).await;
    let outcome = mover::wait(&client, ns, "mover-fails", LIMIT)
        .await
        .unwrap();
    assert!(!outcome.succeeded);
    assert_eq!(outcome.exit_code, Some(3));
    assert_eq!(outcome.result, None);
    assert!(
        outcome
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("no route to the far end"),
        "{outcome:?}"
    );
}
