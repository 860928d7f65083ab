//! Application-consistent copies (issue 23), end to end on the test node: an app container
//! of ours (`ferry-probe pairs`) keeps rewriting pairs of files that must agree and serves
//! `/freeze` and `/thaw` on the pod's loopback; the injected sidecar calls them around the
//! cut of each copy (`spec.hooks`), and every copy pushed to MinIO is read back pair by pair.
//! Without hooks the same app is copied with a disagreeing pair, so the check can fail.
//! The failure paths are seen where a user sees them: the status, the Events, the app's log.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use ferry_e2e::replication::manifests::{self, Role};
use ferry_e2e::replication::observe::{self, condition_is};
use ferry_e2e::replication::tree;
use ferry_e2e::replication::{LIMIT, Replication, SYNC_LIMIT, pod_name};
use ferry_e2e::wait::eventually;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

const SOURCE: &str = "db-to-s3";
const SECRET: &str = "s3-creds";
/// Where the app serves its hooks: the pod's loopback only.
const APP_ADDR: &str = "127.0.0.1:8080";
/// How many pairs the app keeps (tests/cluster/tools/node-utils/ferry-probe/pairs.go).
const PAIRS: usize = 8;

/// The hooks of the app: POST /freeze and POST /thaw on its loopback port.
fn hooks() -> Value {
    json!({"preSync": {"port": 8080, "path": "/freeze"}, "postSync": {"port": 8080, "path": "/thaw"}})
}

/// One test's source: a namespace with the S3 Secret, the volume `data` (a bulk file so that
/// a transfer takes a while, and a directory the app writes its pairs into), a bucket, and
/// the source CR `cr` bound to a pod `db` running the pairs app.
struct Case {
    fx: Replication,
    ns: String,
    bucket: String,
    pod: Pod,
}

impl Case {
    async fn start(
        prefix: &str,
        copy_method: &str,
        adjust: impl FnOnce(&mut Value),
    ) -> anyhow::Result<Case> {
        let fx = Replication::start(prefix).await?;
        let ns = fx.namespace(prefix, true).await?;
        let bucket = fx.minio.bucket(prefix).await?;
        let data = fx.volume(&ns, "data").await?;
        tree::write_big(&data, "bulk.bin", 8 << 20, 23)?;
        let pairs = data.join("pairs");
        std::fs::create_dir_all(&pairs)?;
        std::fs::set_permissions(&pairs, std::os::unix::fs::PermissionsExt::from_mode(0o777))?;
        fx.rclone_secret(&ns, SECRET).await?;
        let mut cr = manifests::rclone_source(
            SOURCE,
            "data",
            SECRET,
            &format!("{bucket}/db"),
            copy_method,
            Some(manifests::manual("one")),
        );
        cr["spec"]["rclone"]["timestampPrefix"] = json!(true);
        cr["spec"]["hooks"] = hooks();
        // Paused until the app serves: the sidecar (a native sidecar) starts before the app
        // container, and a freeze sent before the app listens would fail.
        cr["spec"]["paused"] = json!(true);
        adjust(&mut cr);
        let mut template = manifests::pod_template("db", Role::Source, SOURCE, "data");
        template["spec"]["containers"][0]["command"] =
            json!(["ferry-probe", "pairs", "/data", APP_ADDR]);
        let pod = fx
            .bind(&ns, &cr, &manifests::pod("db", &template))
            .await?
            .remove(0);
        // The app is up once it logs where it serves.
        let case = Case {
            fx,
            ns,
            bucket,
            pod,
        };
        eventually(LIMIT, "the pairs app to serve", || async {
            Ok(case.app_log().contains("serving on").then_some(()))
        })
        .await?;
        case.fx
            .patch(
                Role::Source,
                &case.ns,
                SOURCE,
                json!({"spec": {"paused": false}}),
            )
            .await?;
        Ok(case)
    }

    /// The app container's log (`kubectl logs -c app`).
    fn app_log(&self) -> String {
        self.fx
            .cluster
            .kubectl(["logs", "-n", &self.ns, &pod_name(&self.pod), "-c", "app"])
            .map(|o| o.stdout)
            .unwrap_or_default()
    }

    async fn sync(&self, token: &str) -> anyhow::Result<Value> {
        self.fx
            .trigger(Role::Source, &self.ns, SOURCE, token)
            .await?;
        self.fx
            .wait_manual(Role::Source, &self.ns, SOURCE, token)
            .await
    }

    /// Every timestamped copy in the bucket: copy name to its pairs' `(a, b)` contents.
    async fn copies(&self) -> anyhow::Result<BTreeMap<String, Vec<(String, String)>>> {
        let listed = self.fx.minio.list(&self.bucket, "db").await?;
        let mut copies = BTreeMap::new();
        for key in listed.keys() {
            let Some((copy, rest)) = key.split_once('/') else {
                continue;
            };
            if rest != "bulk.bin" {
                continue;
            }
            let mut pairs = Vec::new();
            for i in 0..PAIRS {
                let read = |file: &'static str| {
                    let key = format!("db/{copy}/pairs/{i}/{file}");
                    async move {
                        let body = self.fx.minio.get(&self.bucket, &key).await?;
                        Ok::<_, anyhow::Error>(
                            String::from_utf8_lossy(&body.unwrap_or_default())
                                .trim()
                                .to_owned(),
                        )
                    }
                };
                pairs.push((read("a").await?, read("b").await?));
            }
            copies.insert(copy.to_owned(), pairs);
        }
        Ok(copies)
    }
}

/// Parses a Go duration as the status writes it (`0.42s`, `1m2.5s`).
fn seconds(text: &str) -> anyhow::Result<f64> {
    let mut total = 0.0;
    let mut number = String::new();
    for c in text.chars() {
        match c {
            '0'..='9' | '.' => number.push(c),
            'h' | 'm' | 's' => {
                let n: f64 = number
                    .parse()
                    .with_context(|| format!("duration {text:?}"))?;
                total += n * match c {
                    'h' => 3600.0,
                    'm' => 60.0,
                    _ => 1.0,
                };
                number.clear();
            }
            _ => bail!("duration {text:?}"),
        }
    }
    Ok(total)
}

/// The reasons of the sidecar's Event log lines, in order, among `wanted`.
fn reasons_in_log(log: &str, wanted: &[&str]) -> Vec<String> {
    log.lines()
        .filter_map(|line| {
            wanted
                .iter()
                .find(|r| {
                    line.contains(&format!("reason=\"{r}\""))
                        || line.contains(&format!("reason={r} "))
                        || line.contains(&format!("\"reason\":\"{r}\""))
                })
                .map(|r| (*r).to_owned())
        })
        .collect()
}

#[tokio::test]
async fn hooks_freeze_the_app_only_until_each_snapshot_is_cut_and_every_copy_agrees()
-> anyhow::Result<()> {
    let case = Case::start("hooks-ok", "Snapshot", |_| {}).await?;
    let (fx, ns) = (&case.fx, case.ns.as_str());
    let tokens = ["one", "two", "three", "four", "five"];
    for (i, token) in tokens.iter().enumerate() {
        let status = if i == 0 {
            fx.wait_manual(Role::Source, ns, SOURCE, token).await?
        } else {
            case.sync(token).await?
        };
        let frozen = status["hooks"]["lastFreezeDuration"]
            .as_str()
            .with_context(|| format!("no status.hooks.lastFreezeDuration: {status:#}"))?;
        let frozen = seconds(frozen)?;
        let took = seconds(status["lastSyncDuration"].as_str().unwrap_or_default())?;
        eprintln!("sync {token}: frozen {frozen}s, whole sync {took}s");
        ensure!(
            frozen < 2.0,
            "sync {token}: the freeze lasted {frozen}s: {status:#}"
        );
        ensure!(
            took - frozen > frozen,
            "sync {token}: the transfer after the freeze ({}s) is not longer than the freeze ({frozen}s)",
            took - frozen
        );
        for hook in ["preSync", "postSync"] {
            ensure!(
                status["hooks"][hook]["result"] == "Succeeded",
                "sync {token}: {hook}: {status:#}"
            );
        }
    }

    // Every copy holds only agreeing pairs.
    let copies = case.copies().await?;
    ensure!(
        copies.len() >= 5,
        "{} copies in MinIO: {copies:?}",
        copies.len()
    );
    for (copy, pairs) in &copies {
        for (i, (a, b)) in pairs.iter().enumerate() {
            ensure!(
                !a.is_empty() && a == b,
                "copy {copy}: pair {i} disagrees: a={a:?} b={b:?}"
            );
        }
    }

    // The app saw one freeze and one thaw per sync, each freeze thawed before the next.
    let log = case.app_log();
    let calls: Vec<&str> = log
        .lines()
        .filter_map(|l| {
            if l.contains(" freeze: POST /freeze") {
                Some("freeze")
            } else if l.contains(" thaw: POST /thaw") {
                Some("thaw")
            } else {
                None
            }
        })
        .collect();
    ensure!(
        calls == ["freeze", "thaw"].repeat(tokens.len()),
        "the app's calls: {calls:?}\n{log}"
    );

    // The freeze ends before the transfer starts: Thawed comes before MoverStarted.
    let sidecar = fx.sidecar_log(&case.pod);
    let order = reasons_in_log(&sidecar, &["Frozen", "Thawed", "MoverStarted"]);
    let want: Vec<String> = ["Frozen", "Thawed", "MoverStarted"]
        .repeat(tokens.len())
        .into_iter()
        .map(str::to_owned)
        .collect();
    ensure!(order == want, "the sidecar's order: {order:?}\n{sidecar}");

    // Events and metrics.
    fx.wait_occurrences(Role::Source, ns, SOURCE, &[("Frozen", 5), ("Thawed", 5)])
        .await?;
    let labels = [
        ("name", SOURCE),
        ("hook", "preSync"),
        ("outcome", "success"),
    ];
    let metrics = fx
        .wait_metric(&case.pod, "ferry_hook_results_total", &labels, 5.0)
        .await?;
    ensure!(
        metrics.sum("ferry_freeze_seconds_count", &[("name", SOURCE)]) >= Some(5.0),
        "ferry_freeze_seconds:\n{}",
        metrics.text
    );
    ensure!(
        metrics
            .sum(
                "ferry_hook_results_total",
                &[("name", SOURCE), ("outcome", "failure")]
            )
            .unwrap_or_default()
            == 0.0,
        "a hook failure was counted:\n{}",
        metrics.text
    );
    fx.passed();
    Ok(())
}

#[tokio::test]
async fn without_hooks_the_same_app_is_copied_with_a_disagreeing_pair() -> anyhow::Result<()> {
    let case = Case::start("hooks-none", "Snapshot", |cr| {
        cr["spec"].as_object_mut().map(|spec| spec.remove("hooks"));
    })
    .await?;
    let (fx, ns) = (&case.fx, case.ns.as_str());
    fx.wait_manual(Role::Source, ns, SOURCE, "one").await?;
    let mut torn = None;
    for token in ["two", "three", "four", "five", "six"] {
        let copies = case.copies().await?;
        torn = copies.iter().find_map(|(copy, pairs)| {
            pairs
                .iter()
                .position(|(a, b)| a != b || a.is_empty())
                .map(|i| format!("copy {copy} pair {i}: {:?}", pairs[i]))
        });
        if torn.is_some() {
            break;
        }
        case.sync(token).await?;
    }
    let torn = match torn {
        Some(torn) => torn,
        None => {
            let copies = case.copies().await?;
            bail!("no copy without hooks held a disagreeing pair: {copies:?}");
        }
    };
    eprintln!("without hooks: {torn}");
    let log = case.app_log();
    ensure!(
        !log.contains("freeze:"),
        "the app was frozen without hooks:\n{log}"
    );
    fx.passed();
    Ok(())
}

#[tokio::test]
async fn a_failed_pre_sync_skips_the_sync_with_fail_and_goes_on_with_continue() -> anyhow::Result<()>
{
    let case = Case::start("hooks-fail", "Direct", |cr| {
        cr["spec"]["hooks"]["preSync"]["path"] = json!("/not-a-hook");
    })
    .await?;
    let (fx, ns) = (&case.fx, case.ns.as_str());
    let status = fx
        .wait_synchronizing(Role::Source, ns, SOURCE, "False", "HookFailed")
        .await?;
    let message = observe::condition_message(&status, "Synchronizing");
    ensure!(
        message.contains("preSync POST http://127.0.0.1:8080/not-a-hook failed: answered HTTP 404")
            && message.contains("failurePolicy Fail"),
        "{message}"
    );
    ensure!(status["lastManualSync"].is_null(), "{status:#}");
    ensure!(
        status["hooks"]["preSync"]["result"] == "Failed",
        "{status:#}"
    );
    let event = fx
        .wait_event(Role::Source, ns, SOURCE, "HookFailed")
        .await?;
    ensure!(
        event.type_ == "Warning" && event.message.contains("skipped"),
        "{event:?}"
    );
    let listed = fx.minio.list(&case.bucket, "db").await?;
    ensure!(listed.is_empty(), "a skipped sync copied {listed:?}");
    // postSync still followed the preSync that was sent.
    eventually(LIMIT, "the app to log the thaw", || async {
        let log = case.app_log();
        Ok(
            (log.contains("POST /not-a-hook: 404") && log.contains("thaw: not frozen"))
                .then_some(()),
        )
    })
    .await
    .with_context(|| case.app_log())?;

    // With Continue the sync goes on, and the Event says so.
    fx.patch(
        Role::Source,
        ns,
        SOURCE,
        json!({"spec": {"hooks": {"preSync": {"failurePolicy": "Continue"}}, "trigger": {"manual": "two"}}}),
    )
    .await?;
    // Not `wait_manual`: it fails on a failure condition that started in the same second,
    // and the skipped sync's condition may have (times have whole seconds).
    let status = fx
        .wait_status(
            Role::Source,
            ns,
            SOURCE,
            "the manual sync \"two\"",
            SYNC_LIMIT,
            |s| (s["lastManualSync"] == "two").then(|| s.clone()),
        )
        .await?;
    ensure!(
        status["latestMoverStatus"]["result"] == "Successful",
        "{status:#}"
    );
    let events = fx.events(Role::Source, ns, SOURCE).await?;
    ensure!(
        events.iter().any(|e| e.reason == "HookFailed"
            && e.message
                .contains("failurePolicy Continue: the sync goes on")),
        "{}",
        observe::describe(&events)
    );
    ensure!(
        fx.minio
            .list(&case.bucket, "db")
            .await?
            .keys()
            .any(|k| k.ends_with("/bulk.bin")),
        "nothing was copied with Continue"
    );
    fx.passed();
    Ok(())
}

#[tokio::test]
async fn a_snapshot_that_fails_after_pre_sync_still_calls_post_sync() -> anyhow::Result<()> {
    // The sidecar may not read cluster-scoped VolumeSnapshotClasses here (its role is bound
    // in the namespace only), so the missing class shows up as the snapshot's own error,
    // after the freeze.
    let case = Case::start("hooks-snapfail", "Snapshot", |cr| {
        cr["spec"]["rclone"]["volumeSnapshotClassName"] = json!("no-such-class");
    })
    .await?;
    let (fx, ns) = (&case.fx, case.ns.as_str());
    let status = fx
        .wait_synchronizing(Role::Source, ns, SOURCE, "False", "Error")
        .await?;
    ensure!(
        observe::condition_message(&status, "Synchronizing").contains("no-such-class"),
        "{status:#}"
    );
    ensure!(
        status["hooks"]["postSync"]["result"] == "Succeeded",
        "{status:#}"
    );
    let log = case.app_log();
    let freeze = log.find(" freeze: POST /freeze").context(log.clone())?;
    let thaw = log.find(" thaw: POST /thaw").context(log.clone())?;
    ensure!(freeze < thaw, "the thaw came before the freeze:\n{log}");
    fx.wait_event(Role::Source, ns, SOURCE, "Thawed").await?;
    fx.passed();
    Ok(())
}

#[tokio::test]
async fn deleting_the_pod_during_the_freeze_thaws_the_app_before_the_sidecar_exits()
-> anyhow::Result<()> {
    // Direct freezes for the whole transfer: a bandwidth limit makes it last.
    let case = Case::start("hooks-term", "Direct", |cr| {
        cr["spec"]["rclone"]["bandwidthLimit"] = json!("256k");
    })
    .await?;
    let (fx, ns) = (&case.fx, case.ns.as_str());
    eventually(LIMIT, "the app to be frozen", || async {
        Ok(case
            .app_log()
            .contains(" freeze: POST /freeze")
            .then_some(()))
    })
    .await?;
    let pods = fx.pods(ns);
    let name = pod_name(&case.pod);
    pods.delete(&name, &Default::default()).await?;
    // The pod's logs vanish with it: read them while it terminates, keeping the longest.
    let mut app = String::new();
    let mut sidecar = String::new();
    let deadline = tokio::time::Instant::now() + SYNC_LIMIT;
    while tokio::time::Instant::now() < deadline {
        let log = case.app_log();
        if log.len() > app.len() {
            app = log;
        }
        let log = fx.sidecar_log(&case.pod);
        if log.len() > sidecar.len() {
            sidecar = log;
        }
        if app.contains(" exit") || pods.get_opt(&name).await?.is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    ensure!(
        app.contains(" thaw: POST /thaw"),
        "the app was not thawed after the pod's deletion:\n{app}\nsidecar:\n{sidecar}"
    );
    ensure!(
        !app.contains("still frozen"),
        "the app stayed frozen after SIGTERM:\n{app}"
    );
    // The sidecar recorded the thaw (an Event outlives the pod, where its log may not be
    // readable once the pod is going).
    let thawed = fx.wait_event(Role::Source, ns, SOURCE, "Thawed").await;
    ensure!(
        thawed.is_ok(),
        "the sidecar did not record the thaw: {thawed:?}\nsidecar log:\n{sidecar}"
    );
    fx.passed();
    Ok(())
}

#[tokio::test]
async fn a_hook_to_another_host_is_refused_with_the_field_named() -> anyhow::Result<()> {
    let fx = Replication::start("hooks-refused").await?;
    let ns = fx.namespace("hooks-refused", true).await?;
    // The CR: the schema refuses it even before the webhook.
    let mut cr = manifests::rclone_source(SOURCE, "data", SECRET, "bucket/db", "Direct", None);
    cr["spec"]["hooks"] = json!({"preSync": {"host": "10.0.0.5", "port": 8080, "path": "/freeze"}});
    let out = fx
        .cluster
        .kubectl_stdin(["apply", "-n", &ns, "-f", "-"], &cr.to_string())?;
    ensure!(!out.success, "a hook to 10.0.0.5 was accepted: {out:?}");
    ensure!(
        out.stderr.contains("spec.hooks.preSync.host"),
        "the refusal does not name the field: {}",
        out.stderr
    );
    // The pod annotation: the webhook refuses the pod, naming the annotation.
    let mut template = manifests::pod_template("db", Role::Source, SOURCE, "data");
    template["metadata"]["annotations"][ferry_api::annotations::PRE_SYNC_HOOK] =
        json!("POST http://db.example.com:8080/freeze");
    let pod = manifests::pod("db", &template);
    let out = fx
        .cluster
        .kubectl_stdin(["create", "-n", &ns, "-f", "-"], &pod.to_string())?;
    ensure!(
        !out.success,
        "a pod with a hook to another host was created: {out:?}"
    );
    ensure!(
        out.stderr
            .contains("metadata.annotations[ferry.dev/pre-sync-hook]")
            && out.stderr.contains("loopback"),
        "the webhook's refusal does not name the annotation: {}",
        out.stderr
    );
    fx.passed();
    Ok(())
}

#[tokio::test]
async fn a_pvc_with_copy_trigger_annotations_waits_for_the_trigger_as_volsync_does()
-> anyhow::Result<()> {
    let fx = Replication::start("hooks-trigger").await?;
    let ns = fx.namespace("hooks-trigger", true).await?;
    let bucket = fx.minio.bucket("hooks-trigger").await?;
    let data = fx.volume(&ns, "data").await?;
    tree::write_tree(&data, 5)?;
    fx.rclone_secret(&ns, SECRET).await?;
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(fx.client.clone(), &ns);
    let annotate = |values: Value| {
        let claims = claims.clone();
        async move {
            claims
                .patch(
                    "data",
                    &PatchParams::default(),
                    &Patch::Merge(&json!({"metadata": {"annotations": values}})),
                )
                .await
                .context("annotating PVC data")
        }
    };
    let annotation = |prefix: &str, key: &str| {
        let claims = claims.clone();
        let key = format!("{prefix}{key}");
        async move {
            let claim = claims.get("data").await?;
            Ok::<_, anyhow::Error>(
                claim
                    .metadata
                    .annotations
                    .unwrap_or_default()
                    .get(&key)
                    .cloned(),
            )
        }
    };
    annotate(json!({"volsync.backube/use-copy-trigger": ""})).await?;
    let cr = manifests::rclone_source(
        SOURCE,
        "data",
        SECRET,
        &format!("{bucket}/db"),
        "Snapshot",
        Some(manifests::manual("one")),
    );
    let template = manifests::pod_template("db", Role::Source, SOURCE, "data");
    fx.bind(&ns, &cr, &manifests::pod("db", &template)).await?;

    for (prefix, token, trigger) in [
        ("volsync.backube/", "one", "trigger-1"),
        ("ferry.dev/", "two", "trigger-2"),
    ] {
        if prefix == "ferry.dev/" {
            annotate(json!({"volsync.backube/use-copy-trigger": null, "ferry.dev/use-copy-trigger": "true"}))
                .await?;
            fx.trigger(Role::Source, &ns, SOURCE, token).await?;
        }
        eventually(
            LIMIT,
            &format!("{prefix}latest-copy-status WaitingForTrigger"),
            || async {
                Ok((annotation(prefix, "latest-copy-status").await?.as_deref()
                    == Some("WaitingForTrigger"))
                .then_some(()))
            },
        )
        .await?;
        // Waiting: no snapshot is taken and the sync does not finish.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let uid = fx.uid(Role::Source, &ns, SOURCE).await?;
        let temporaries = fx.temporaries(&ns, &uid).await?;
        ensure!(
            !temporaries.iter().any(|t| t.starts_with("VolumeSnapshot/")),
            "a snapshot was taken before the trigger: {temporaries:?}"
        );
        let status = fx.status(Role::Source, &ns, SOURCE).await?;
        ensure!(status["lastManualSync"] != token, "{status:#}");
        ensure!(
            condition_is(&status, "Synchronizing", "True", "SyncInProgress"),
            "{status:#}"
        );

        annotate(json!({ format!("{prefix}copy-trigger"): trigger })).await?;
        fx.wait_manual(Role::Source, &ns, SOURCE, token).await?;
        ensure!(
            annotation(prefix, "latest-copy-status").await?.as_deref() == Some("Completed"),
            "{prefix}latest-copy-status after the copy"
        );
        ensure!(
            annotation(prefix, "latest-copy-trigger").await?.as_deref() == Some(trigger),
            "{prefix}latest-copy-trigger after the copy"
        );
    }
    fx.passed();
    Ok(())
}
