//! Restore on first start (issue 22), end to end on the test node with MinIO: a pod bound to
//! an rclone source with `restoreOnEmpty` gets its last complete copy before the app
//! container starts, through the native sidecar's startup probe or, without native
//! sidecars, the init container `ferry-restore`.
//!
//! What a user checks is checked: the app container's own first log line (what it read at
//! start), `kubectl describe pod`, the CR's `status.lastRestore` and Events, the bucket's
//! listing, and the restored volume's bytes, modes and mtimes.

use std::time::Duration;

use anyhow::{Context, bail, ensure};
use ferry_e2e::replication::manifests::{self, Role};
use ferry_e2e::replication::observe::condition_is;
use ferry_e2e::replication::{Compare, LIMIT, Replication, SYNC_LIMIT, Tree, tree};
use ferry_e2e::wait::eventually;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

const SOURCE: &str = "app-data";
const SECRET: &str = "s3-creds";
const GREETING: &str = "hello from before the rebuild";

/// What the app prints first: the file it finds at start, read before anything else.
const APP_SCRIPT: &str = "if [ -f /data/hello.txt ]; then echo \"read at start: $(cat /data/hello.txt)\"; else echo 'no data at start'; fi; trap 'exit 0' TERM; while :; do sleep 1; done";

/// A pod template of the app, bound to the source, with `annotations` added.
fn app(name: &str, annotations: Value) -> Value {
    let mut template = manifests::pod_template(name, Role::Source, SOURCE, "data");
    template["spec"]["containers"][0]["command"] = json!(["sh", "-c", APP_SCRIPT]);
    for (key, value) in annotations.as_object().into_iter().flatten() {
        template["metadata"]["annotations"][key] = value.clone();
    }
    template
}

/// The source: `bucket/app`, restore on empty with `restore` (none when `None`), `rclone`
/// options and `spec` fields added.
fn source(bucket: &str, restore: Option<Value>, rclone: Value, spec: Value) -> Value {
    let mut cr = manifests::rclone_source(
        SOURCE,
        "data",
        SECRET,
        &format!("{bucket}/app"),
        "Direct",
        None,
    );
    if let Some(restore) = restore {
        cr["spec"]["rclone"]["restoreOnEmpty"] = restore;
    }
    for (key, value) in rclone.as_object().into_iter().flatten() {
        cr["spec"]["rclone"][key] = value.clone();
    }
    for (key, value) in spec.as_object().into_iter().flatten() {
        cr["spec"][key] = value.clone();
    }
    cr
}

/// The Secret with credentials MinIO refuses.
async fn refused_secret(fx: &Replication, ns: &str) -> anyhow::Result<()> {
    let conf = fx.minio.rclone_conf_with("nobody", "wrong-secret");
    fx.create(ns, &manifests::rclone_secret(SECRET, &conf))
        .await
}

/// A namespace `prefix` whose pod `web` (with `annotations`) starts on an empty volume
/// bound to a paused source with the default restore (`Block`) and credentials MinIO
/// refuses; the pod is created, not waited for.
async fn blocked_pod(fx: &Replication, prefix: &str, annotations: Value) -> anyhow::Result<String> {
    let ns = fx.namespace(prefix, true).await?;
    let bucket = fx.minio.bucket(prefix).await?;
    refused_secret(fx, &ns).await?;
    fx.volume(&ns, "data").await?;
    let cr = source(&bucket, Some(json!({})), json!({}), json!({"paused": true}));
    fx.create(&ns, &cr).await?;
    fx.create_workload(&ns, &manifests::pod("web", &app("web", annotations)))
        .await?;
    Ok(ns)
}

/// The app container's log, as `kubectl logs -c app` shows it.
fn app_log(fx: &Replication, ns: &str, pod: &str) -> String {
    fx.cluster
        .kubectl(["logs", "-n", ns, pod, "-c", "app"])
        .map(|o| o.stdout)
        .unwrap_or_default()
}

/// Waits for the app container's first log line.
async fn first_line(fx: &Replication, ns: &str, pod: &str) -> anyhow::Result<String> {
    eventually(
        LIMIT,
        &format!("the first log line of {ns}/{pod}"),
        || async { Ok(app_log(fx, ns, pod).lines().next().map(str::to_owned)) },
    )
    .await
}

/// Waits until `status.lastRestore.result` is `result`; returns `status.lastRestore`.
async fn wait_restore(fx: &Replication, ns: &str, result: &str) -> anyhow::Result<Value> {
    fx.wait_status(
        Role::Source,
        ns,
        SOURCE,
        &format!("status.lastRestore.result {result}"),
        SYNC_LIMIT,
        |s| (s["lastRestore"]["result"] == result).then(|| s["lastRestore"].clone()),
    )
    .await
}

/// The only pod labelled `app=<app>` in `ns`, whatever its phase.
async fn pod_of(fx: &Replication, ns: &str, app: &str) -> anyhow::Result<Pod> {
    let pods = fx.pods(ns);
    eventually(LIMIT, &format!("a pod app={app} in {ns}"), || async {
        let list = pods
            .list(&kube::api::ListParams::default().labels(&format!("app={app}")))
            .await?;
        Ok(list
            .items
            .into_iter()
            .find(|p| p.metadata.deletion_timestamp.is_none()))
    })
    .await
}

/// Whether the container `name` of `pod` ever started.
fn started(pod: &Pod, name: &str) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten()
        .filter(|c| c.name == name)
        .any(|c| {
            c.state
                .as_ref()
                .is_some_and(|s| s.running.is_some() || s.terminated.is_some())
                || c.last_state
                    .as_ref()
                    .is_some_and(|s| s.running.is_some() || s.terminated.is_some())
        })
}

/// Deletes namespace `ns` and waits until it is gone, then makes it again with the same
/// labels and the sidecar's RoleBinding: a cluster rebuilt from Git.
async fn rebuild_namespace(fx: &Replication, ns: &str) -> anyhow::Result<()> {
    let shown = fx
        .cluster
        .kubectl(["get", "namespace", ns, "-o", "json"])?
        .ok()?;
    let object: Value = serde_json::from_str(&shown.stdout)?;
    let labels: Vec<String> = object["metadata"]["labels"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| !k.starts_with("kubernetes.io/"))
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    fx.cluster
        .kubectl(["delete", "namespace", ns, "--wait=false"])?
        .ok()?;
    eventually(
        Duration::from_secs(180),
        &format!("namespace {ns} to be gone"),
        || async {
            let out = fx.cluster.kubectl(["get", "namespace", ns])?;
            Ok((!out.success && out.stderr.contains("NotFound")).then_some(()))
        },
    )
    .await?;
    fx.cluster.kubectl(["create", "namespace", ns])?.ok()?;
    let mut args = vec!["label".to_owned(), "namespace".to_owned(), ns.to_owned()];
    args.extend(labels);
    fx.cluster.kubectl(&args)?.ok()?;
    fx.create(ns, &manifests::sidecar_binding(ns, "default"))
        .await
}

/// The Secret and the claim of the app, as a user commits them; returns the claim's
/// directory.
async fn apply_claim(fx: &Replication, ns: &str) -> anyhow::Result<std::path::PathBuf> {
    fx.rclone_secret(ns, SECRET).await?;
    fx.volume(ns, "data").await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rebuilt_namespace_gets_its_data_back_before_the_app_starts_and_the_next_push_deletes_nothing()
-> anyhow::Result<()> {
    let fx = Replication::start("rebuild").await?;
    let ns = fx.namespace("rebuild", true).await?;
    let bucket = fx.minio.bucket("rebuild").await?;
    let cr = source(
        &bucket,
        Some(json!({})),
        json!({}),
        json!({"trigger": manifests::manual("one")}),
    );
    let deployment = manifests::deployment("web", 1, &app("web", json!({})));

    // Before: the app's data, pushed by the manual sync "one".
    let dir = apply_claim(&fx, &ns).await?;
    tree::write_tree(&dir, 22)?;
    tree::write_file(&dir, "hello.txt", GREETING.as_bytes(), tree::TREE_MTIME + 9)?;
    let before = Tree::of(&dir)?;
    fx.bind(&ns, &cr, &deployment).await?;
    fx.wait_manual(Role::Source, &ns, SOURCE, "one").await?;
    let pushed = fx.minio.list_all(&bucket, "app").await?;
    ensure!(pushed.contains_key("hello.txt"), "pushed: {pushed:?}");

    // The rebuild: the namespace goes, and the same manifests come back.
    rebuild_namespace(&fx, &ns).await?;
    let dir = apply_claim(&fx, &ns).await?;
    ensure!(
        std::fs::read_dir(&dir)?.next().is_none(),
        "the new claim is not empty"
    );
    fx.bind(&ns, &cr, &deployment).await?;
    let pod = pod_of(&fx, &ns, "web").await?;
    let name = pod.metadata.name.clone().context("pod name")?;
    let line = first_line(&fx, &ns, &name).await?;
    ensure!(
        line == format!("read at start: {GREETING}"),
        "the app's first line: {line:?}"
    );
    let last = wait_restore(&fx, &ns, "Restored").await?;
    ensure!(
        last["copy"] == format!("{bucket}/app") && last["files"].as_i64() > Some(0),
        "status.lastRestore: {last}"
    );
    fx.wait_event(Role::Source, &ns, SOURCE, "Restored").await?;
    Tree::of(&dir)?.ensure_same(&before, Compare::FERRY_S3, "the restored volume")?;

    // The next push (the same manual trigger, on the new CR) finds the remote as it is.
    let status = fx.wait_manual(Role::Source, &ns, SOURCE, "one").await?;
    let stats = &status["lastSyncStats"];
    ensure!(
        stats["filesDeleted"].as_i64() == Some(0),
        "the push after the restore deleted files: {stats}"
    );
    let after = fx.minio.list_all(&bucket, "app").await?;
    ensure!(
        after == pushed,
        "the remote changed:\n{pushed:?}\n{after:?}"
    );
    fx.passed();
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_volume_with_data_is_not_restored_and_the_pod_is_ready_without_the_remote()
-> anyhow::Result<()> {
    let fx = Replication::start("present").await?;
    let ns = fx.namespace("present", true).await?;
    // Credentials MinIO refuses: a restore that asked the remote would block the app.
    refused_secret(&fx, &ns).await?;
    let dir = fx.volume(&ns, "data").await?;
    tree::write_tree(&dir, 5)?;
    tree::write_file(&dir, "hello.txt", b"already here", tree::TREE_MTIME)?;
    let before = Tree::of(&dir)?;
    let bucket = ferry_e2e::replication::Minio::unique_bucket("present");
    let cr = source(
        &bucket,
        Some(json!({"onFailure": "Block"})),
        json!({}),
        json!({"paused": true}),
    );
    let pods = fx
        .bind(&ns, &cr, &manifests::pod("web", &app("web", json!({}))))
        .await?;
    let pod = pods.into_iter().next().context("no pod")?;
    let ready = eventually(LIMIT, "the pod to be Ready", || async {
        let pod = fx.pods(&ns).get("web").await?;
        let ready = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .any(|c| c.type_ == "Ready" && c.status == "True");
        Ok(ready.then_some(pod))
    })
    .await?;
    ensure!(started(&ready, "app"), "the app container did not start");
    let line = first_line(&fx, &ns, "web").await?;
    ensure!(line == "read at start: already here", "{line:?}");
    let last = wait_restore(&fx, &ns, "Skipped").await?;
    ensure!(
        last["message"]
            .as_str()
            .unwrap_or_default()
            .contains("holds data"),
        "{last}"
    );
    let event = fx
        .wait_event(Role::Source, &ns, SOURCE, "RestoreSkipped")
        .await?;
    ensure!(event.type_ == "Normal", "{event:?}");
    Tree::of(&dir)?.ensure_same(&before, Compare::FERRY_S3, "the untouched volume")?;
    fx.wait_metric(&pod, "ferry_restores_total", &[("result", "skipped")], 1.0)
        .await?;
    fx.passed();
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_remote_is_a_fresh_start_recorded_as_skipped() -> anyhow::Result<()> {
    let fx = Replication::start("fresh").await?;
    let ns = fx.namespace("fresh", true).await?;
    let bucket = fx.minio.bucket("fresh").await?;
    fx.rclone_secret(&ns, SECRET).await?;
    let dir = fx.volume(&ns, "data").await?;
    let cr = source(&bucket, Some(json!({})), json!({}), json!({"paused": true}));
    fx.bind(&ns, &cr, &manifests::pod("web", &app("web", json!({}))))
        .await?;
    let line = first_line(&fx, &ns, "web").await?;
    ensure!(line == "no data at start", "{line:?}");
    let event = fx
        .wait_event(Role::Source, &ns, SOURCE, "RestoreSkipped")
        .await?;
    ensure!(
        event.message.contains("nothing to restore") && event.message.contains("starts fresh"),
        "{event:?}"
    );
    let last = wait_restore(&fx, &ns, "Skipped").await?;
    ensure!(last["copy"].is_null() && last["pod"] == "web", "{last}");
    ensure!(
        std::fs::read_dir(&dir)?.next().is_none(),
        "the volume was written"
    );
    fx.passed();
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_restore_with_block_keeps_the_app_from_starting_and_describe_says_why()
-> anyhow::Result<()> {
    let fx = Replication::start("block").await?;
    let ns = blocked_pod(&fx, "block", json!({})).await?;
    let event = fx
        .wait_event(Role::Source, &ns, SOURCE, "RestoreFailed")
        .await?;
    ensure!(event.type_ == "Warning", "{event:?}");
    let last = wait_restore(&fx, &ns, "Failed").await?;
    ensure!(
        last["pushesHeld"].is_null(),
        "Block holds the app, not pushes: {last}"
    );
    // What `kubectl describe pod` shows: the startup probe's output, reason and fix.
    let described = eventually(
        LIMIT,
        "kubectl describe pod to show the restore failure",
        || async {
            let out = fx.cluster.kubectl(["describe", "pod", "-n", &ns, "web"])?;
            Ok((out.stdout.contains("restore on first start failed")
                && out.stdout.contains("StartEmpty"))
            .then_some(out.stdout))
        },
    )
    .await?;
    ensure!(
        described.contains("Startup probe failed"),
        "the reason is not the probe's: {described}"
    );
    // The app never starts while the restore fails.
    for _ in 0..10 {
        let pod = fx.pods(&ns).get("web").await?;
        if started(&pod, "app") {
            bail!("the app container started: {:?}", pod.status);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    fx.passed();
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn start_empty_lets_the_app_start_and_holds_pushes_until_acknowledged() -> anyhow::Result<()>
{
    let fx = Replication::start("startempty").await?;
    let ns = fx.namespace("startempty", true).await?;
    let (bucket, _) = fx.seeded_bucket("startempty", "app").await?;
    refused_secret(&fx, &ns).await?;
    let dir = fx.volume(&ns, "data").await?;
    let cr = source(
        &bucket,
        Some(json!({"onFailure": "StartEmpty"})),
        json!({}),
        json!({"trigger": manifests::manual("one")}),
    );
    fx.bind(&ns, &cr, &manifests::pod("web", &app("web", json!({}))))
        .await?;
    let line = first_line(&fx, &ns, "web").await?;
    ensure!(line == "no data at start", "{line:?}");
    let event = fx
        .wait_event(Role::Source, &ns, SOURCE, "RestoreFailed")
        .await?;
    ensure!(
        event.type_ == "Warning" && event.message.contains("ferry.dev/acknowledge-guards"),
        "{event:?}"
    );
    let last = wait_restore(&fx, &ns, "Failed").await?;
    ensure!(last["pushesHeld"] == true, "{last}");

    // The credentials fixed and the app writing: the push is still refused.
    fx.cluster
        .kubectl_stdin(
            ["apply", "-n", &ns, "-f", "-"],
            &manifests::rclone_secret(SECRET, &fx.minio.rclone_conf()).to_string(),
        )?
        .ok()?;
    tree::write_file(
        &dir,
        "new.txt",
        b"written after an empty start",
        tree::now_secs(),
    )?;
    fx.trigger(Role::Source, &ns, SOURCE, "two").await?;
    let status = fx
        .wait_status(
            Role::Source,
            &ns,
            SOURCE,
            "the push refused for the failed restore",
            SYNC_LIMIT,
            |s| {
                (condition_is(s, "Synchronizing", "False", "SourceEmpty")
                    && ferry_e2e::replication::observe::condition_message(s, "Synchronizing")
                        .contains("restore failed"))
                .then(|| s.clone())
            },
        )
        .await?;
    ensure!(status["lastManualSync"].is_null(), "{status}");
    fx.ensure_untouched(&bucket, "app").await?;

    // Acknowledged once: the push runs, and the hold is lifted.
    let ack = k8s_openapi::jiff::Timestamp::now().to_string();
    fx.patch(
        Role::Source,
        &ns,
        SOURCE,
        json!({"metadata": {"annotations": {"ferry.dev/acknowledge-guards": ack}}, "spec": {"trigger": {"manual": "three"}}}),
    )
    .await?;
    // Not `wait_manual`: the refusal just before may carry this second's time.
    let status = fx
        .wait_status(
            Role::Source,
            &ns,
            SOURCE,
            "the acknowledged manual sync \"three\"",
            SYNC_LIMIT,
            |s| (s["lastManualSync"] == "three").then(|| s.clone()),
        )
        .await?;
    ensure!(status["lastRestore"]["pushesHeld"].is_null(), "{status}");
    let listed = fx.minio.list(&bucket, "app").await?;
    ensure!(listed.contains_key("new.txt"), "{listed:?}");
    fx.passed();
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_named_copy_among_three_is_restored_byte_identical_by_the_init_container()
-> anyhow::Result<()> {
    let fx = Replication::start("named").await?;
    let ns = fx.namespace("named", true).await?;
    let bucket = fx.minio.bucket("named").await?;
    fx.rclone_secret(&ns, SECRET).await?;
    let dir = fx.volume(&ns, "data").await?;
    let rclone = json!({"timestampPrefix": true});
    let cr = source(
        &bucket,
        None,
        rclone.clone(),
        json!({"trigger": manifests::manual("s1")}),
    );
    tree::write_tree(&dir, 1)?;
    fx.bind(
        &ns,
        &cr,
        &manifests::pod("writer", &app("writer", json!({}))),
    )
    .await?;
    fx.wait_manual(Role::Source, &ns, SOURCE, "s1").await?;
    let mut trees = Vec::new();
    for (seed, token) in [(2, "s2"), (3, "s3")] {
        tree::write_tree(&dir, seed)?;
        tree::write_file(
            &dir,
            &format!("only-in-{token}.txt"),
            token.as_bytes(),
            tree::TREE_MTIME,
        )?;
        trees.push(Tree::of(&dir)?);
        // Copies are named to the second.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        fx.trigger(Role::Source, &ns, SOURCE, token).await?;
        fx.wait_manual(Role::Source, &ns, SOURCE, token).await?;
    }
    let copies = complete_copies(&fx, &bucket).await?;
    ensure!(copies.len() == 3, "three complete copies: {copies:?}");
    let second = &copies[1];

    // Another namespace restores the second copy, without native sidecars.
    let other = fx.namespace("named-restore", true).await?;
    fx.rclone_secret(&other, SECRET).await?;
    let restored = fx.volume(&other, "data").await?;
    let paused = source(
        &bucket,
        Some(json!({"copy": second})),
        rclone,
        json!({"paused": true}),
    );
    let pod = manifests::pod(
        "reader",
        &app("reader", json!({"ferry.dev/native-sidecar": "false"})),
    );
    fx.bind(&other, &paused, &pod).await?;
    let shown = fx.pods(&other).get("reader").await?;
    let init: Vec<String> = shown
        .spec
        .as_ref()
        .and_then(|s| s.init_containers.as_ref())
        .into_iter()
        .flatten()
        .map(|c| c.name.clone())
        .collect();
    ensure!(init == ["ferry-restore"], "init containers: {init:?}");
    let last = wait_restore(&fx, &other, "Restored").await?;
    ensure!(last["copy"] == second.as_str(), "{last}");
    Tree::of(&restored)?.ensure_same(&trees[0], Compare::FERRY_S3, "the copy restored")?;
    ensure!(
        !restored.join("only-in-s3.txt").exists(),
        "a file of the third copy was restored"
    );
    fx.passed();
    Ok(())
}

/// The complete timestamped copies below `bucket/app`, oldest first.
async fn complete_copies(fx: &Replication, bucket: &str) -> anyhow::Result<Vec<String>> {
    let listed = fx.minio.list_all(bucket, "app").await?;
    let mut complete: Vec<String> = listed
        .keys()
        .filter_map(|k| k.strip_suffix(".ferry-manifest"))
        .filter(|k| !k.contains('/'))
        .map(str::to_owned)
        .collect();
    complete.sort();
    Ok(complete)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_apiserver_refuses_a_bad_restore_on_empty_without_the_webhook() -> anyhow::Result<()> {
    let cluster = ferry_e2e::Cluster::shared();
    ferry_e2e::ferry::installed(cluster)?;
    // No label the release's webhooks select: the schema alone answers.
    let ns = ferry_e2e::TestNamespace::create(cluster, "restore-schema", &[])?;
    let refused = |restore: &str, extra: &str| -> anyhow::Result<String> {
        let manifest = format!(
            r#"{{"apiVersion":"replication.ferry.dev/v1alpha1","kind":"ReplicationSource",
            "metadata":{{"name":"bad-restore"}},
            "spec":{{"sourcePVC":"data","rclone":{{"rcloneConfig":"c","rcloneDestPath":"bucket/p",
                "restoreOnEmpty":{restore}{extra}}}}}}}"#
        );
        let out = cluster.kubectl_stdin(["apply", "-n", &ns.name, "-f", "-"], &manifest)?;
        ensure!(!out.success, "the apiserver accepted {manifest}");
        Ok(out.stderr)
    };
    let err = refused(r#"{"onFailure":"Retry"}"#, "")?;
    ensure!(
        err.contains(r#"spec.rclone.restoreOnEmpty.onFailure: Unsupported value: "Retry": supported values: "Block", "StartEmpty""#),
        "{err}"
    );
    let err = refused(r#"{"copy":"yesterday"}"#, r#","timestampPrefix":true"#)?;
    ensure!(
        err.contains("spec.rclone.restoreOnEmpty.copy: Invalid value: \"yesterday\""),
        "{err}"
    );
    let err = refused(r#"{"copy":"2026-12-07-101500"}"#, "")?;
    ensure!(
        err.contains("spec.rclone.restoreOnEmpty.copy names a timestamped copy: set spec.rclone.timestampPrefix: true"),
        "{err}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn without_native_sidecars_a_blocked_restore_is_the_init_containers_termination_message()
-> anyhow::Result<()> {
    let fx = Replication::start("block-init").await?;
    let ns = blocked_pod(
        &fx,
        "block-init",
        json!({"ferry.dev/native-sidecar": "false"}),
    )
    .await?;
    // What `kubectl describe pod` shows: the init container's last state and its message.
    let described = eventually(
        LIMIT,
        "kubectl describe pod to show the init container's message",
        || async {
            let out = fx.cluster.kubectl(["describe", "pod", "-n", &ns, "web"])?;
            Ok((out.stdout.contains("restore on first start failed")
                && out.stdout.contains("InvalidAccessKeyId")
                && out.stdout.contains("StartEmpty"))
            .then_some(out.stdout))
        },
    )
    .await?;
    ensure!(described.contains("ferry-restore"), "{described}");
    let last = wait_restore(&fx, &ns, "Failed").await?;
    ensure!(last["pod"] == "web", "{last}");
    let shown = fx.pods(&ns).get("web").await?;
    ensure!(!started(&shown, "app"), "the app container started");
    ensure!(
        !started(&shown, "ferry-sidecar"),
        "the regular sidecar started before the restore"
    );
    fx.passed();
    Ok(())
}
