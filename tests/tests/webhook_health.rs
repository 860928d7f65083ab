//! The webhook's leader watches its own health, on the chart-installed webhook (self-managed
//! certificates, one replica, a short check interval) with the real apiserver and node:
//! - a pod labelled `ferry.dev/inject=true` created while the MutatingWebhookConfiguration
//!   was deleted gets one `NotInjected` Warning Event and counts in
//!   `ferry_webhook_pods_not_injected` within one interval of the configuration's return;
//! - an injected pod whose `ferry.dev/injected` record the test rewrites to an older version
//!   counts in `ferry_webhook_outdated_sidecars{version}`;
//! - a caBundle replaced with a wrong one is put back, and the drift is reported by a
//!   counter and a `CABundleRepaired` Event on the configuration;
//! - the serving certificate's and the CA's expiry are exported, as the Secret holds them.
//!
//! With provided certificates (the webhook run locally as the chart's ServiceAccount with
//! the chart's arguments), a wrong caBundle is reported once and left alone.
//!
//! Metrics are read as Prometheus would, from the webhook's `/metrics`, here through the
//! apiserver's service proxy.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use base64::Engine as _;
use ferry_e2e::wait::eventually;
use ferry_e2e::{Cluster, TestNamespace, ferry};
use serde_json::{Value, json};

/// The check interval the release is installed with.
const INTERVAL: Duration = Duration::from_secs(5);
/// What a scan may take beyond the interval on this shared machine (it lists namespaces and
/// pods and writes Events), and what polling through kubectl adds.
const SLACK: Duration = Duration::from_secs(5);
/// The namespace label this release's webhooks select on.
const LABEL: &str = "ferry-e2e/health";

/// The chart tests' Release (uninstalled with its cluster-scoped objects when dropped).
#[path = "chart/support.rs"]
#[allow(dead_code)]
mod support;

use support::Release;

/// The webhook's `/metrics`, through the apiserver's proxy to its Service.
fn metrics(cluster: &Cluster, release: &Release) -> anyhow::Result<String> {
    let path = format!(
        "/api/v1/namespaces/{}/services/https:{}:443/proxy/metrics",
        release.namespace,
        release.webhook()
    );
    Ok(cluster
        .kubectl(["get", "--raw", path.as_str()])?
        .ok()?
        .stdout)
}

/// The last `lines` of the webhook's log.
fn log(cluster: &Cluster, release: &Release, lines: u32) -> String {
    let deployment = format!("deployment/{}", release.webhook());
    let tail = format!("--tail={lines}");
    cluster
        .kubectl([
            "logs",
            "-n",
            release.namespace.as_str(),
            deployment.as_str(),
            tail.as_str(),
        ])
        .map(|o| format!("{}{}", o.stdout, o.stderr))
        .unwrap_or_else(|e| format!("{e:#}"))
}

/// `kubectl get ... -o json` of an object that must exist.
fn get(cluster: &Cluster, args: &[&str]) -> anyhow::Result<Value> {
    support::get_json(cluster, args)?.with_context(|| format!("{args:?}: not found"))
}

/// The value of the sample `name{labels}` in an OpenMetrics text, if present.
fn sample(text: &str, name: &str, labels: &str) -> Option<f64> {
    let key = format!("{name}{{{labels}}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(key.as_str()))
        .and_then(|v| v.trim().parse().ok())
}

/// The Events of `reason` about `name` in `namespace`.
fn events(
    cluster: &Cluster,
    namespace: &str,
    reason: &str,
    name: &str,
) -> anyhow::Result<Vec<Value>> {
    let selector = format!("reason={reason},involvedObject.name={name}");
    let out = cluster
        .kubectl([
            "get",
            "events",
            "-n",
            namespace,
            "--field-selector",
            selector.as_str(),
            "-o",
            "json",
        ])?
        .ok()?;
    let list: Value = serde_json::from_str(&out.stdout)?;
    Ok(list["items"].as_array().cloned().unwrap_or_default())
}

/// Whether the apiserver injects a labelled pod of `namespace` now (a server-side dry run).
fn injects(cluster: &Cluster, namespace: &str) -> anyhow::Result<bool> {
    let (pod, _) = support::dry_run_pod(cluster, namespace, &support::pod("probe", true))?;
    Ok(!pod["metadata"]["annotations"]["ferry.dev/injected"].is_null())
}

/// A configuration as it can be created again: without its server-set metadata.
fn recreatable(mut config: Value) -> Value {
    if let Some(meta) = config["metadata"].as_object_mut() {
        for field in [
            "resourceVersion",
            "uid",
            "creationTimestamp",
            "generation",
            "managedFields",
        ] {
            meta.remove(field);
        }
    }
    config
}

#[tokio::test]
async fn the_webhook_leader_reports_missed_pods_outdated_sidecars_and_cabundle_drift()
-> anyhow::Result<()> {
    let cluster = Cluster::shared();
    let images = ferry::images(cluster)?;
    let rel_ns = TestNamespace::create(cluster, "health", &[])?;
    let rel = rel_ns.name.clone();
    let app_ns = TestNamespace::create(cluster, "health-app", &[(LABEL, rel.as_str())])?;
    let app = app_ns.name.as_str();
    let mut values = ferry::release_values(&images, &format!("{rel}-sidecar"), LABEL);
    values["webhook"]["namespaceSelector"] = json!({"matchLabels": {LABEL: rel}});
    values["webhook"]["health"] = json!({"interval": format!("{}s", INTERVAL.as_secs())});
    let release = Release::install(cluster, &rel_ns, &values)?;
    cluster
        .kubectl([
            "rollout",
            "status",
            "-n",
            rel.as_str(),
            &format!("deployment/{}", release.webhook()),
            "--timeout=180s",
        ])?
        .ok()
        .with_context(|| log(cluster, &release, 40))?;

    // The leader exports the certificates' expiry, as the Secret holds them.
    let secret = get(
        cluster,
        &["get", "secret", "-n", &rel, &release.tls_secret()],
    )?;
    let pem = |key: &str| support::secret_field(&secret, key);
    let unix = |t: SystemTime| t.duration_since(UNIX_EPOCH).map(|d| d.as_secs() as f64);
    let (_, leaf_end) = ferry_certs::validity(&pem("tls.crt")?)?;
    let (_, ca_end) = ferry_certs::validity(&pem("ca.crt")?)?;
    let expiry = "ferry_webhook_certificate_expiry_timestamp_seconds";
    let text = eventually(INTERVAL + SLACK * 4, "the expiry gauges", || async {
        let text = metrics(cluster, &release)?;
        Ok(sample(&text, expiry, r#"cert="ca""#).map(|_| text))
    })
    .await
    .with_context(|| log(cluster, &release, 80))?;
    assert_eq!(
        sample(&text, expiry, r#"cert="serving""#),
        Some(unix(leaf_end)?),
        "{text}"
    );
    assert_eq!(
        sample(&text, expiry, r#"cert="ca""#),
        Some(unix(ca_end)?),
        "{text}"
    );

    // (a) Unregister the injection, create a labelled pod, register it again. The apiserver
    // reads webhook configurations asynchronously: dry runs show when it has.
    let mutating = get(
        cluster,
        &["get", "mutatingwebhookconfiguration", &release.mutating()],
    )?;
    cluster
        .kubectl([
            "delete",
            "mutatingwebhookconfiguration",
            &release.mutating(),
        ])?
        .ok()?;
    eventually(
        Duration::from_secs(30),
        "the apiserver to stop injecting",
        || async { Ok((!injects(cluster, app)?).then_some(())) },
    )
    .await?;
    let created = cluster.kubectl_stdin(
        ["create", "-n", app, "-f", "-"],
        &support::pod("missed", true).to_string(),
    );
    cluster
        .kubectl_stdin(["create", "-f", "-"], &recreatable(mutating).to_string())?
        .ok()?;
    let restored = Instant::now();
    created?.ok()?;
    let pod = get(cluster, &["get", "pod", "missed", "-n", app])?;
    assert!(
        pod["metadata"]["annotations"]["ferry.dev/injected"].is_null(),
        "the pod was injected after all: {pod}"
    );
    let gauge = format!(r#"pod_namespace="{app}""#);
    eventually(
        INTERVAL + SLACK,
        "the not-injected gauge and Event",
        || async {
            let counted = sample(
                &metrics(cluster, &release)?,
                "ferry_webhook_pods_not_injected",
                &gauge,
            );
            let events = events(cluster, app, "NotInjected", "missed")?;
            Ok((counted == Some(1.0) && events.len() == 1).then_some(()))
        },
    )
    .await
    .with_context(|| log(cluster, &release, 80))?;
    eprintln!(
        "not-injected pod reported {:?} after the configuration came back",
        restored.elapsed()
    );
    let event = &events(cluster, app, "NotInjected", "missed")?[0];
    assert_eq!(event["type"], "Warning");
    let note = event["message"].as_str().unwrap_or_default();
    for part in [
        "created while the webhook was not called",
        "runs without the ferry-sidecar",
        &format!(
            "fix: recreate it now that the webhook is called: kubectl -n {app} delete pod missed, then create it again"
        ),
    ] {
        assert!(note.contains(part), "{part:?} not in {note:?}");
    }
    assert_eq!(event["reportingComponent"], "ferry-webhook", "{event}");

    // (b) An injected pod counts as current; with its record rewritten to an older version,
    // as outdated.
    eventually(
        Duration::from_secs(30),
        "the apiserver to inject again",
        || async { Ok(injects(cluster, app)?.then_some(())) },
    )
    .await?;
    cluster
        .kubectl_stdin(
            ["create", "-n", app, "-f", "-"],
            &support::pod("injected", true).to_string(),
        )?
        .ok()?;
    let pod = get(cluster, &["get", "pod", "injected", "-n", app])?;
    let record = pod["metadata"]["annotations"]["ferry.dev/injected"]
        .as_str()
        .with_context(|| format!("not injected: {pod}"))?;
    let mut record: Value = serde_json::from_str(record)?;
    assert_eq!(record["version"], ferry::version());
    let old = format!("0.0.0-e2e{}", std::process::id());
    record["version"] = json!(old);
    cluster
        .kubectl([
            "annotate",
            "--overwrite",
            "pod",
            "injected",
            "-n",
            app,
            &format!("ferry.dev/injected={record}"),
        ])?
        .ok()?;
    let outdated = format!(r#"version="{old}""#);
    eventually(INTERVAL + SLACK, "the outdated sidecar gauge", || async {
        let text = metrics(cluster, &release)?;
        Ok(
            (sample(&text, "ferry_webhook_outdated_sidecars", &outdated) == Some(1.0)
                && sample(&text, "ferry_webhook_pods_not_injected", &gauge) == Some(1.0))
            .then_some(()),
        )
    })
    .await
    .with_context(|| log(cluster, &release, 80))?;

    // Reported once per pod: more scans write no second Event (and no series count).
    tokio::time::sleep(INTERVAL * 2).await;
    let again = events(cluster, app, "NotInjected", "missed")?;
    assert_eq!(again.len(), 1, "{again:?}");
    assert!(again[0]["series"].is_null(), "{}", again[0]);

    // (c) A wrong caBundle in the validating configuration is put back and reported.
    let validating = release.validating();
    let live = get(
        cluster,
        &["get", "validatingwebhookconfiguration", &validating],
    )?;
    let good = live["webhooks"][0]["clientConfig"]["caBundle"]
        .as_str()
        .context("no caBundle")?
        .to_owned();
    put_a_wrong_ca_bundle(cluster, &validating)?;
    let drift = format!(r#"kind="ValidatingWebhookConfiguration",configuration="{validating}""#);
    eventually(
        INTERVAL + SLACK * 2,
        "the caBundle repaired and reported",
        || async {
            let live = get(
                cluster,
                &["get", "validatingwebhookconfiguration", &validating],
            )?;
            let repaired = live["webhooks"][0]["clientConfig"]["caBundle"] == good.as_str();
            let counted = sample(
                &metrics(cluster, &release)?,
                "ferry_webhook_cabundle_drift_total",
                &drift,
            );
            let events = events(cluster, "default", "CABundleRepaired", &validating)?;
            Ok((repaired && counted == Some(1.0) && events.len() == 1).then_some(events))
        },
    )
    .await
    .with_context(|| log(cluster, &release, 80))
    .map(|events| {
        let note = events[0]["message"].as_str().unwrap_or_default().to_owned();
        assert!(note.contains("the leader put its own back"), "{note}");
        assert!(
            note.contains(&format!("ValidatingWebhookConfiguration {validating}")),
            "{note}"
        );
    })?;
    // The mutating configuration was never touched: no drift counted for it.
    let text = metrics(cluster, &release)?;
    let mutating_drift = format!(
        r#"kind="MutatingWebhookConfiguration",configuration="{}""#,
        release.mutating()
    );
    let counted = sample(&text, "ferry_webhook_cabundle_drift_total", &mutating_drift);
    if counted.is_some_and(|n| n > 0.0) {
        bail!("drift counted on the untouched mutating configuration:\n{text}");
    }
    drop(release);
    Ok(())
}

/// With provided certificates the webhook does not own the caBundle: its leader (a webhook
/// run locally as the chart's ServiceAccount with the chart's arguments, registered by
/// `webhook.url`) reports a wrong one (gauge, counter, `CABundleUntrusted` Event) and leaves
/// it as it is.
#[tokio::test]
async fn with_provided_certificates_the_leader_reports_a_wrong_cabundle_and_leaves_it()
-> anyhow::Result<()> {
    use ferry_e2e::https::{Connection, client_config};
    use ferry_e2e::webhook::{WebhookProcess, ca_bundle, free_port, write_pair};

    let cluster = Cluster::shared();
    let rel_ns = TestNamespace::create(cluster, "health-prov", &[])?;
    let r = rel_ns.name.clone();
    let (ca, leaf) = ferry_e2e::webhook::issue_for_loopback()?;
    let port = free_port()?;
    let values = |url: Option<u16>| {
        let mut values = json!({
            "webhook": {"namespaceSelector": {"matchLabels": {LABEL: r}}, "health": {"interval": "2s"}},
            "certs": {"mode": "provided", "provided": {"caBundle": ca_bundle(&[&ca.cert])}},
            "sidecar": {"clusterRoleName": format!("{r}-sidecar")},
        });
        match url {
            Some(port) => values["webhook"]["url"] = json!(format!("https://127.0.0.1:{port}")),
            None => values["certs"]["provided"]["secretName"] = json!("unused"),
        }
        values
    };
    let release = Release::install(cluster, &rel_ns, &values(Some(port)))?;
    let rel = release.namespace.as_str();
    let kubeconfig = support::ServiceAccountKubeconfig::new(cluster, rel, &release.webhook())?;
    let kubeconfig = kubeconfig.path.display().to_string();
    let args = support::chart_webhook_args(cluster, &r, rel, &values(None))?;
    assert!(
        args.contains(&"--health-interval=2s".to_owned()),
        "{args:?}"
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let dir = tempfile::tempdir()?;
    write_pair(dir.path(), &leaf)?;
    let env = [
        ("KUBECONFIG", kubeconfig.as_str()),
        ("POD_NAMESPACE", rel),
        ("POD_NAME", "local-0"),
    ];
    let webhook = WebhookProcess::spawn_on(port, dir, &args, &env)?;
    webhook.wait_ready(&ca.cert).await?;
    let tls = client_config(&[&ca.cert])?;
    let addr = format!("127.0.0.1:{port}");
    let metrics = || async {
        let mut conn = Connection::open(&addr, "127.0.0.1", tls.clone()).await?;
        let (_, body) = conn.send("GET", "/metrics", Default::default()).await?;
        anyhow::Ok(String::from_utf8(body.to_vec())?)
    };

    let validating = release.validating();
    let labels = format!(r#"kind="ValidatingWebhookConfiguration",configuration="{validating}""#);
    let (_, ca_end) = ferry_certs::validity(&ca.cert)?;
    let ca_end = ca_end.duration_since(UNIX_EPOCH)?.as_secs() as f64;
    eventually(
        Duration::from_secs(30),
        "the leader's first check",
        || async {
            let text = metrics().await?;
            let trusted = sample(&text, "ferry_webhook_cabundle_untrusted", &labels) == Some(0.0);
            let ca = sample(
                &text,
                "ferry_webhook_certificate_expiry_timestamp_seconds",
                r#"cert="ca""#,
            );
            Ok((trusted && ca == Some(ca_end)).then_some(()))
        },
    )
    .await
    .with_context(|| webhook.log_text())?;

    let wrong = put_a_wrong_ca_bundle(cluster, &validating)?;
    let reported = eventually(Duration::from_secs(20), "the drift reported", || async {
        let text = metrics().await?;
        let untrusted = sample(&text, "ferry_webhook_cabundle_untrusted", &labels) == Some(1.0);
        let counted = sample(&text, "ferry_webhook_cabundle_drift_total", &labels) == Some(1.0);
        let events = events(cluster, "default", "CABundleUntrusted", &validating)?;
        Ok((untrusted && counted && events.len() == 1).then_some(events))
    })
    .await
    .with_context(|| webhook.log_text())?;
    let note = reported[0]["message"].as_str().unwrap_or_default();
    assert!(
        note.contains("does not trust the webhook's serving certificate"),
        "{note}"
    );
    assert!(
        note.contains("provided mode: set certs.provided.caBundle"),
        "{note}"
    );
    // Left alone (the webhook does not own it), and reported once.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let live = get(
        cluster,
        &["get", "validatingwebhookconfiguration", &validating],
    )?;
    assert_eq!(
        live["webhooks"][0]["clientConfig"]["caBundle"],
        wrong.as_str()
    );
    let text = metrics().await?;
    assert_eq!(
        sample(&text, "ferry_webhook_cabundle_drift_total", &labels),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        events(cluster, "default", "CABundleUntrusted", &validating)?.len(),
        1
    );
    drop(webhook);
    drop(release);
    Ok(())
}

/// Replaces the first webhook's caBundle in the ValidatingWebhookConfiguration `validating`
/// with a CA that did not sign the webhook's certificate; returns that bundle (base64).
fn put_a_wrong_ca_bundle(cluster: &Cluster, validating: &str) -> anyhow::Result<String> {
    let (other_ca, _) = ferry_e2e::webhook::issue_for_loopback()?;
    let wrong = base64::engine::general_purpose::STANDARD.encode(&other_ca.cert);
    let patch =
        json!([{"op": "replace", "path": "/webhooks/0/clientConfig/caBundle", "value": wrong}]);
    cluster
        .kubectl([
            "patch",
            "validatingwebhookconfiguration",
            validating,
            "--type=json",
            "-p",
            &patch.to_string(),
        ])?
        .ok()?;
    Ok(wrong)
}
