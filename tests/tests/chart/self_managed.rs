//! Self-managed certificates through the chart: the real webhook, run locally as the chart's
//! ServiceAccount with the chart's Deployment arguments, creates the CA Secret and patches the
//! caBundle of the chart's own two configurations; `helm upgrade` then keeps both.

use std::time::Duration;

use anyhow::Context;
use base64::Engine as _;
use ferry_e2e::webhook::{WebhookProcess, free_port};
use ferry_e2e::{Cluster, TestNamespace};
use serde_json::json;

use crate::support::{
    Release, ServiceAccountKubeconfig, ca_bundles, chart_webhook_args, get_json, secret_field,
    strip_ansi, wait_for,
};

/// The caBundles of both configurations, in order.
fn live_bundles(cluster: &Cluster, release: &Release) -> anyhow::Result<Vec<Option<String>>> {
    let mut all = Vec::new();
    for (kind, name) in [
        ("mutatingwebhookconfiguration", release.mutating()),
        ("validatingwebhookconfiguration", release.validating()),
    ] {
        let config = get_json(cluster, &["get", kind, name.as_str()])?
            .with_context(|| format!("{kind} {name} missing"))?;
        all.extend(ca_bundles(&config));
    }
    Ok(all)
}

/// Waits until the apiserver calls the webhook through the chart's validating configuration
/// and returns its refusal of a bad ReplicationSource.
async fn refused_through_apiserver(cluster: &Cluster, ns: &str) -> anyhow::Result<()> {
    let bad = json!({"apiVersion": "replication.ferry.dev/v1alpha1", "kind": "ReplicationSource",
        "metadata": {"name": "bad"},
        "spec": {"sourcePVC": "data", "trigger": {"schedule": "*/61 * * * *"},
            "rsync": {"address": "h", "sshKeys": "k"}}});
    let mut last = String::new();
    let result = wait_for(
        Duration::from_secs(30),
        "a refusal from the webhook",
        || {
            let out = cluster.kubectl_stdin(
                ["create", "--dry-run=server", "-n", ns, "-f", "-"],
                &bad.to_string(),
            )?;
            last = out.stderr;
            Ok(last
                .contains("minute 61 is out of range 0-59")
                .then_some(()))
        },
    )
    .await;
    result.with_context(|| format!("last answer: {last}"))
}

#[tokio::test]
async fn self_managed_webhook_patches_the_chart_configurations_and_upgrade_keeps_the_ca()
-> anyhow::Result<()> {
    let cluster = Cluster::shared();
    let rel_ns = TestNamespace::create(cluster, "chart-sm", &[])?;
    let r = rel_ns.name.clone();
    let app_ns =
        TestNamespace::create(cluster, "chart-sm-app", &[("ferry-e2e/chart", r.as_str())])?;
    let port = free_port()?;
    let values = |url: Option<u16>, timeout: u32| {
        let mut values = json!({
            "webhook": {"namespaceSelector": {"matchLabels": {"ferry-e2e/chart": r}}, "timeoutSeconds": timeout},
            "certs": {"extraIPs": ["127.0.0.1"]},
            "sidecar": {"clusterRoleName": format!("{r}-sidecar")},
        });
        if let Some(port) = url {
            values["webhook"]["url"] = json!(format!("https://127.0.0.1:{port}"));
        }
        values
    };
    let release = Release::install(cluster, &rel_ns, &values(Some(port), 5))?;
    let rel = release.namespace.as_str();

    // Installed: no Secret (the webhook makes it), no caBundle yet.
    assert!(
        get_json(
            cluster,
            &["get", "secret", &release.tls_secret(), "-n", rel]
        )?
        .is_none()
    );
    assert_eq!(live_bundles(cluster, &release)?, vec![None, None, None]);

    // The webhook as the chart's Deployment would run it, with the chart's ServiceAccount.
    let args = chart_webhook_args(cluster, &r, rel, &values(None, 5))?;
    for wanted in [
        "--cert-mode=self-managed".to_owned(),
        "--extra-ip=127.0.0.1".to_owned(),
        format!("--mutating-webhook={}", release.mutating()),
        format!("--validating-webhook={}", release.validating()),
    ] {
        assert!(args.contains(&wanted), "no {wanted} in {args:?}");
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let kubeconfig = ServiceAccountKubeconfig::new(cluster, rel, &release.webhook())?;
    let kubeconfig = kubeconfig.path.display().to_string();
    let env = [
        ("KUBECONFIG", kubeconfig.as_str()),
        ("POD_NAMESPACE", rel),
        ("POD_NAME", "local-0"),
        ("RUST_LOG", "debug"),
    ];
    let mut webhook = WebhookProcess::spawn_on(port, tempfile::tempdir()?, &args, &env)?;

    let secret = wait_for(Duration::from_secs(30), "the certificate Secret", || {
        get_json(
            cluster,
            &["get", "secret", &release.tls_secret(), "-n", rel],
        )
    })
    .await?;
    let ca = secret_field(&secret, "ca.crt")?;
    let bundle =
        base64::engine::general_purpose::STANDARD.encode(secret_field(&secret, "ca-bundle.crt")?);
    let patched = vec![Some(bundle.clone()); 3];
    wait_for(
        Duration::from_secs(30),
        "the caBundle in the chart's three webhooks",
        || Ok((live_bundles(cluster, &release)? == patched).then_some(())),
    )
    .await?;
    webhook.wait_ready(&ca).await?;
    refused_through_apiserver(cluster, &app_ns.name).await?;
    let log = strip_ansi(&webhook.log_text());
    assert!(log.contains("published the CA bundle"), "{log}");
    assert!(!log.contains("http.status_code=403"), "{log}");

    // Stopped, so nothing re-patches behind the upgrades. Each upgrade changes the
    // configurations (timeoutSeconds), so they are really written: first by Helm's merge
    // patch, then with --force, which replaces them whole (a caBundle only kept by the merge
    // would be gone).
    webhook.kill();
    for (timeout, flags) in [(4, &[][..]), (3, &["--force"][..])] {
        release.upgrade(&values(Some(port), timeout), flags)?;
        for (kind, name) in [
            ("mutatingwebhookconfiguration", release.mutating()),
            ("validatingwebhookconfiguration", release.validating()),
        ] {
            let config =
                get_json(cluster, &["get", kind, name.as_str()])?.context("configuration")?;
            for hook in config["webhooks"].as_array().into_iter().flatten() {
                assert_eq!(hook["timeoutSeconds"], timeout, "{kind}: upgrade {flags:?}");
            }
        }
        assert!(
            live_bundles(cluster, &release)? == patched,
            "helm upgrade {flags:?} changed the caBundle"
        );
        let after = get_json(
            cluster,
            &["get", "secret", &release.tls_secret(), "-n", rel],
        )?
        .context("helm upgrade removed the CA Secret")?;
        assert_eq!(
            secret_field(&after, "ca.crt")?,
            ca,
            "helm upgrade changed the CA"
        );
        assert_eq!(after["metadata"]["uid"], secret["metadata"]["uid"]);
        // The chart itself carried the live bundle forward (lookup).
        let carried: Vec<Option<String>> = release
            .manifest()?
            .iter()
            .filter(|o| {
                o["kind"]
                    .as_str()
                    .is_some_and(|k| k.ends_with("WebhookConfiguration"))
            })
            .flat_map(ca_bundles)
            .collect();
        assert!(carried == patched, "the chart did not carry the caBundle");
    }

    // A new instance serves the same CA, and the apiserver still trusts it.
    let webhook = WebhookProcess::spawn_on(port, tempfile::tempdir()?, &args, &env)?;
    webhook.wait_ready(&ca).await?;
    refused_through_apiserver(cluster, &app_ns.name).await?;
    assert_eq!(live_bundles(cluster, &release)?, patched);
    drop(webhook);
    release.uninstall()?;
    Ok(())
}
