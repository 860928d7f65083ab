//! The admission webhook, called by the real apiserver over TLS: refusals name the field, the
//! value and the rule; pods without the label never reach it; certificates rotate under load
//! without a failed request.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use ferry_e2e::https::{Connection, client_config};
use ferry_e2e::webhook::{
    WebhookProcess, ca_bundle, issue_for_loopback, validating_configuration, write_pair,
};
use ferry_e2e::{Cluster, TestNamespace};
use serde_json::{Value, json};

/// Registers `webhook` for the namespace `ns` and waits until the apiserver calls it.
async fn register(
    cluster: &Cluster,
    ns: &TestNamespace,
    urls: &[String],
    bundle: &str,
) -> anyhow::Result<String> {
    let name = format!("ferry-e2e-{}", ns.name);
    let config = validating_configuration(&name, &ns.name, urls, bundle);
    cluster
        .kubectl_stdin(["apply", "-f", "-"], &config.to_string())?
        .ok()?;
    // The apiserver picks up webhook configurations asynchronously; probe with a bad object.
    let probe = source("probe", json!({"trigger": {"schedule": "*/61 * * * *"}}));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let out = cluster.kubectl_stdin(
            [
                "apply",
                "--dry-run=server",
                "-n",
                ns.name.as_str(),
                "-f",
                "-",
            ],
            &probe.to_string(),
        )?;
        if out.stderr.contains("minute 61 is out of range 0-59") {
            return Ok(name);
        }
        if tokio::time::Instant::now() > deadline {
            bail!("the apiserver never called the webhook: {}", out.stderr);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A valid rsync ReplicationSource named `name`, with `spec` merged over it.
fn source(name: &str, spec: Value) -> Value {
    let mut object = json!({
        "apiVersion": "replication.ferry.dev/v1alpha1", "kind": "ReplicationSource",
        "metadata": {"name": name},
        "spec": {"sourcePVC": "data", "rsync": {"address": "dst.example.com", "sshKeys": "keys"}}
    });
    merge(&mut object["spec"], spec);
    object
}

/// A valid rclone ReplicationSource named `name`, with `rclone` merged into its mover.
fn rclone_source(name: &str, rclone: Value) -> Value {
    let mut object = json!({
        "apiVersion": "replication.ferry.dev/v1alpha1", "kind": "ReplicationSource",
        "metadata": {"name": name},
        "spec": {"sourcePVC": "data", "rclone": {"rcloneConfig": "cfg", "rcloneConfigSection": "minio", "rcloneDestPath": "bucket/data"}}
    });
    merge(&mut object["spec"]["rclone"], rclone);
    object
}

fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(base), Value::Object(patch)) => {
            for (k, v) in patch {
                merge(base.entry(k).or_insert(Value::Null), v);
            }
        }
        (base, patch) => *base = patch,
    }
}

#[tokio::test]
async fn the_apiserver_refuses_invalid_manifests_with_every_problem() -> anyhow::Result<()> {
    let cluster = Cluster::shared();
    let ns = TestNamespace::create(cluster, "refusals", &[])?;
    cluster
        .kubectl([
            "label",
            "namespace",
            ns.name.as_str(),
            &format!("ferry-e2e/webhook={}", ns.name),
        ])?
        .ok()?;
    let (webhook, ca) = WebhookProcess::start_with_files(&[])?;
    webhook.wait_ready(&ca.cert).await?;
    let name = register(
        cluster,
        &ns,
        &[format!("https://{}", webhook.addr)],
        &ca_bundle(&[&ca.cert]),
    )
    .await?;

    let long_name = "d".repeat(64);
    let cases: Vec<(Value, Vec<String>)> = vec![
        (source("cron-range", json!({"trigger": {"schedule": "*/61 * * * *"}})),
            vec![r#"spec.trigger.schedule: "*/61 * * * *": minute 61 is out of range 0-59"#.into()]),
        (source("cron-macro", json!({"trigger": {"schedule": "@hourlyXYZ"}})),
            vec![r#"spec.trigger.schedule: "@hourlyXYZ": unknown macro "@hourlyXYZ": use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly"#.into()]),
        (source("cron-seconds", json!({"trigger": {"schedule": "0 0 * * * *"}})),
            vec![r#"spec.trigger.schedule: "0 0 * * * *": expected 5 fields (minute hour day-of-month month day-of-week), found 6: Ferry does not take a seconds field"#.into()]),
        (source("tz", json!({"trigger": {"schedule": "@daily", "timeZone": "Mars/Olympus"}})),
            vec![r#"spec.trigger.timeZone: "Mars/Olympus": unknown time zone: use an IANA name such as "Europe/Berlin" or "UTC""#.into()]),
        (source("address", json!({"rsync": {"address": "root@nas"}})),
            vec![r#"spec.rsync.address: "root@nas": must be a host name or an IP address without a user: put the user in sshUser"#.into()]),
        (source("user", json!({"rsync": {"sshUser": "-root"}})),
            vec![r#"spec.rsync.sshUser: "-root": must be a POSIX user name: letters, digits, ".", "_" and "-", not starting with "-", 1 to 32 characters"#.into()]),
        (source("path", json!({"rsync": {"path": "../etc"}})),
            vec![r#"spec.rsync.path: "../etc": must not contain ".." components: the path must stay inside the volume"#.into()]),
        (source("capacity", json!({"rsync": {"copyMethod": "Snapshot", "capacity": "ten gigs"}})),
            vec![r#"spec.rsync.capacity: "ten gigs": must be a quantity such as "10Gi", "500m" or "1.5": a number with an optional suffix (Ki, Mi, Gi, Ti, Pi, Ei, m, k, M, G, T, P, E)"#.into()]),
        (source("access", json!({"rsync": {"copyMethod": "Clone", "accessModes": ["RWX"]}})),
            vec![r#"spec.rsync.accessModes[0]: "RWX": must be one of ReadWriteOnce, ReadOnlyMany, ReadWriteMany or ReadWriteOncePod"#.into()]),
        (source("class", json!({"rsync": {"copyMethod": "Snapshot", "volumeSnapshotClassName": "Snap_Class"}})),
            vec![r#"spec.rsync.volumeSnapshotClassName: "Snap_Class": must be a DNS-1123 subdomain: lower-case letters, digits, "-" and ".", starting and ending with a letter or digit, at most 253 characters"#.into()]),
        (source("resources", json!({"rsync": {"moverResources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}}})),
            vec![r#"spec.rsync.moverResources.requests[cpu]: "2": must not exceed the limit 1"#.into()]),
        (rclone_source("remote", json!({"rcloneDestPath": "minio:bucket/x"})),
            vec![r#"spec.rclone.rcloneDestPath: "minio:bucket/x": must be bucket or bucket/prefix without a remote: put the remote name in rcloneConfigSection"#.into()]),
        (rclone_source("section", json!({"rcloneConfigSection": " minio"})),
            vec![r#"spec.rclone.rcloneConfigSection: " minio": must be an rclone remote name: letters, digits, "_", "-", ".", "+", "@" and spaces, not starting with "-" or a space, not ending with a space"#.into()]),
        (rclone_source("exclude", json!({"exclude": ["*.tmp", "[abc"]})),
            vec![r#"spec.rclone.exclude[1]: "[abc": unclosed "[": end the character class with "]" or write "\[" for a literal "[""#.into()]),
        (rclone_source("bwlimit", json!({"bandwidthLimit": "0"})),
            vec![r#"spec.rclone.bandwidthLimit: "0": a rate of zero would not limit anything: use "off" for no limit"#.into()]),
        (rclone_source("retain", json!({"retain": 3})),
            vec![r#"spec.rclone.retain: "3": counts timestamped copies: set spec.rclone.timestampPrefix: true, or remove retain"#.into()]),
        (json!({"apiVersion": "replication.ferry.dev/v1alpha1", "kind": "ReplicationDestination",
                "metadata": {"name": long_name.clone()}, "spec": {"rsync": {}}}),
            vec![format!(r#"metadata.name: "{long_name}": must be at most 63 characters: it becomes the ferry.dev/destination label of the pod"#)]),
        (source("many", json!({"trigger": {"schedule": "61 25 * * *", "timeZone": "Nowhere/Land"}, "rsync": {"path": "a/../../b"}})),
            vec![
                r#"spec.trigger.schedule: "61 25 * * *": minute 61 is out of range 0-59"#.into(),
                r#"spec.trigger.schedule: "61 25 * * *": hour 25 is out of range 0-23"#.into(),
                r#"spec.trigger.timeZone: "Nowhere/Land": unknown time zone: use an IANA name such as "Europe/Berlin" or "UTC""#.into(),
                r#"spec.rsync.path: "a/../../b": must not contain ".." components: the path must stay inside the volume"#.into(),
            ]),
    ];
    assert!(cases.len() >= 15);
    for (manifest, expected) in cases {
        let out = cluster.kubectl_stdin(
            ["apply", "-n", ns.name.as_str(), "-f", "-"],
            &manifest.to_string(),
        )?;
        assert!(!out.success, "accepted: {manifest}");
        assert!(
            out.stderr.contains("denied the request"),
            "not refused by the webhook: {}",
            out.stderr
        );
        for line in expected {
            assert!(
                out.stderr.contains(&line),
                "missing {line:?} in:\n{}",
                out.stderr
            );
        }
    }

    // Every valid example is accepted, with warnings passed through to kubectl.
    let mut warnings = String::new();
    for (file, manifest) in ferry_e2e::examples::all()? {
        let out = cluster
            .kubectl_stdin(
                [
                    "apply",
                    "--dry-run=server",
                    "-n",
                    ns.name.as_str(),
                    "-f",
                    "-",
                ],
                &manifest.to_string(),
            )
            .with_context(|| format!("applying {file}"))?;
        assert!(out.success, "{file} refused: {}", out.stderr);
        warnings.push_str(&out.stderr);
    }
    assert!(
        warnings.contains("Warning: spec.rsync.capacity is unused"),
        "{warnings}"
    );
    cluster
        .kubectl(["delete", "validatingwebhookconfiguration", name.as_str()])?
        .ok()?;
    Ok(())
}

/// Sum of the webhook's request counter for pods.
async fn pod_requests(conn: &mut Connection) -> anyhow::Result<u64> {
    let (_, body) = conn.send("GET", "/metrics", Default::default()).await?;
    let text = String::from_utf8_lossy(&body).into_owned();
    Ok(text
        .lines()
        .filter(|l| l.starts_with("ferry_webhook_requests_total") && l.contains("kind=\"Pod\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum())
}

#[tokio::test]
async fn labelled_pods_are_validated_and_unlabelled_pods_never_reach_the_webhook()
-> anyhow::Result<()> {
    let cluster = Cluster::shared();
    let ns = TestNamespace::create(cluster, "pods", &[])?;
    cluster
        .kubectl([
            "label",
            "namespace",
            ns.name.as_str(),
            &format!("ferry-e2e/webhook={}", ns.name),
        ])?
        .ok()?;
    let (webhook, ca) = WebhookProcess::start_with_files(&[])?;
    webhook.wait_ready(&ca.cert).await?;
    let name = register(
        cluster,
        &ns,
        &[format!("https://{}", webhook.addr)],
        &ca_bundle(&[&ca.cert]),
    )
    .await?;
    let mut metrics =
        Connection::open(&webhook.addr, "127.0.0.1", client_config(&[&ca.cert])?).await?;

    let pod = |name: &str, labelled: bool| {
        let labels = if labelled {
            json!({"ferry.dev/inject": "true"})
        } else {
            json!({})
        };
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels, "annotations": {
                "ferry.dev/source": "Bad_Name", "ferry.dev/schedule": "99 * * * *", "ferry.dev/native-sidecar": "maybe"}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
    };
    let out = cluster.kubectl_stdin(
        ["apply", "-n", ns.name.as_str(), "-f", "-"],
        &pod("labelled", true).to_string(),
    )?;
    assert!(!out.success);
    for line in [
        r#"metadata.annotations[ferry.dev/source]: "Bad_Name": must be a DNS-1123 subdomain"#,
        r#"metadata.annotations[ferry.dev/schedule]: "99 * * * *": minute 99 is out of range 0-59"#,
        r#"metadata.annotations[ferry.dev/native-sidecar]: "maybe": must be "true" or "false""#,
    ] {
        assert!(
            out.stderr.contains(line),
            "missing {line:?} in:\n{}",
            out.stderr
        );
    }

    let before = pod_requests(&mut metrics).await?;
    assert!(before >= 1, "the labelled pod was counted");
    cluster
        .kubectl_stdin(
            ["apply", "-n", ns.name.as_str(), "-f", "-"],
            &pod("unlabelled", false).to_string(),
        )?
        .ok()?;
    let after = pod_requests(&mut metrics).await?;
    assert_eq!(before, after, "an unlabelled pod reached the webhook");
    cluster
        .kubectl(["delete", "validatingwebhookconfiguration", name.as_str()])?
        .ok()?;
    Ok(())
}

/// A request the load generator sends: a valid ReplicationSource review.
fn review(uid: u64) -> Value {
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": uid.to_string(), "kind": {"group": ferry_api::GROUP, "version": "v1alpha1", "kind": "ReplicationSource"},
        "operation": "CREATE", "namespace": "ns", "object": source("load", json!({}))}})
}

#[tokio::test]
async fn certificates_rotate_under_load_without_a_failed_request() -> anyhow::Result<()> {
    let cluster = Cluster::shared();
    let ns = TestNamespace::create(cluster, "rotation", &[])?;
    cluster
        .kubectl([
            "label",
            "namespace",
            ns.name.as_str(),
            &format!("ferry-e2e/webhook={}", ns.name),
        ])?
        .ok()?;
    let (webhook, old_ca) = WebhookProcess::start_with_files(&[])?;
    webhook.wait_ready(&old_ca.cert).await?;
    let url = vec![format!("https://{}", webhook.addr)];
    let name = register(cluster, &ns, &url, &ca_bundle(&[&old_ca.cert])).await?;

    // Clients and the apiserver trust both CAs while the rotation rolls out.
    let (new_ca, new_leaf) = issue_for_loopback()?;
    let both = client_config(&[&old_ca.cert, &new_ca.cert])?;
    let config = validating_configuration(
        &name,
        &ns.name,
        &url,
        &ca_bundle(&[&old_ca.cert, &new_ca.cert]),
    );
    cluster
        .kubectl_stdin(["apply", "-f", "-"], &config.to_string())?
        .ok()?;

    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let stop = tokio::time::Instant::now() + Duration::from_secs(6);
    let mut workers = Vec::new();
    for worker in 0..8u64 {
        let (addr, config, ok, failed) = (
            webhook.addr.clone(),
            both.clone(),
            ok.clone(),
            failed.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut n = 0;
            while tokio::time::Instant::now() < stop {
                // A fresh connection every 50 requests exercises handshakes with both certificates.
                let Ok(mut conn) = Connection::open(&addr, "127.0.0.1", config.clone()).await
                else {
                    failed.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                for _ in 0..50 {
                    n += 1;
                    match conn
                        .review("/validate", &review(worker * 1_000_000 + n))
                        .await
                    {
                        Ok(answer) if answer["response"]["allowed"] == true => {
                            ok.fetch_add(1, Ordering::Relaxed)
                        }
                        _ => failed.fetch_add(1, Ordering::Relaxed),
                    };
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    write_pair(webhook.cert_dir.path(), &new_leaf)?;
    // The apiserver keeps calling through the rotation as well.
    for i in 0..5 {
        let probe = source(
            &format!("during-{i}"),
            json!({"trigger": {"schedule": "*/61 * * * *"}}),
        );
        let out = cluster.kubectl_stdin(
            [
                "apply",
                "--dry-run=server",
                "-n",
                ns.name.as_str(),
                "-f",
                "-",
            ],
            &probe.to_string(),
        )?;
        assert!(
            out.stderr.contains("minute 61 is out of range 0-59"),
            "apiserver call failed during rotation: {}",
            out.stderr
        );
    }
    for worker in workers {
        worker.await?;
    }
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    assert_eq!(
        failed, 0,
        "{failed} requests failed during rotation ({ok} succeeded)"
    );
    assert!(ok > 500, "the load generator sent only {ok} requests");

    // The new leaf is served: a client trusting only the new CA connects, one trusting only the old does not.
    let mut fresh =
        Connection::open(&webhook.addr, "127.0.0.1", client_config(&[&new_ca.cert])?).await?;
    fresh.review("/validate", &review(1)).await?;
    assert!(
        Connection::open(&webhook.addr, "127.0.0.1", client_config(&[&old_ca.cert])?)
            .await
            .is_err()
    );

    // The rollout ends with only the new CA in the bundle, and the apiserver still gets answers.
    let config = validating_configuration(&name, &ns.name, &url, &ca_bundle(&[&new_ca.cert]));
    cluster
        .kubectl_stdin(["apply", "-f", "-"], &config.to_string())?
        .ok()?;
    register(cluster, &ns, &url, &ca_bundle(&[&new_ca.cert])).await?;
    cluster
        .kubectl(["delete", "validatingwebhookconfiguration", name.as_str()])?
        .ok()?;
    Ok(())
}
