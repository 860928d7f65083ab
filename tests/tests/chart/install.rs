//! `helm install` with `webhook.url` pointing at the real `ferry-webhook` run locally as the
//! chart's ServiceAccount, with the arguments the chart gives its Deployment: every object is
//! created, a labelled pod gets the sidecar, unlabelled pods never depend on the webhook, and
//! `helm uninstall` removes the configurations but leaves the CRDs and the user's CRs.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Context, bail};
use ferry_e2e::webhook::{WebhookProcess, ca_bundle, free_port, issue_for_loopback, write_pair};
use ferry_e2e::{Cluster, TestNamespace};
use serde_json::{Value, json};

use crate::support::{
    Release, ServiceAccountKubeconfig, chart_webhook_args, dry_run_pod, get_json, pod, sidecar_of,
    strip_ansi, wait_for,
};

fn secret_volumes(pod: &Value) -> Vec<String> {
    pod["spec"]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["secret"]["secretName"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn install_creates_every_object_and_a_labelled_pod_gets_the_sidecar() -> anyhow::Result<()> {
    let cluster = Cluster::shared();
    let rel_ns = TestNamespace::create(cluster, "chart-inst", &[])?;
    let release_name = rel_ns.name.clone();
    let app_ns = TestNamespace::create(
        cluster,
        "chart-app",
        &[
            ("pod-security.kubernetes.io/enforce", "restricted"),
            ("ferry-e2e/chart", release_name.as_str()),
        ],
    )?;
    let app = app_ns.name.as_str();
    let (ca, leaf) = issue_for_loopback()?;
    let port = free_port()?;
    let values = |url: Option<String>| {
        let mut values = json!({
            "webhook": {"namespaceSelector": {"matchLabels": {"ferry-e2e/chart": release_name}}},
            "certs": {"mode": "provided", "provided": {"caBundle": ca_bundle(&[&ca.cert])}},
            "sidecar": {"image": {"repository": "ferry-sidecar", "tag": "chart-e2e"},
                "clusterRoleName": format!("{release_name}-sidecar")},
            "sidecarBindings": [{"namespace": app, "serviceAccount": "default"}],
        });
        match url {
            Some(url) => values["webhook"]["url"] = json!(url),
            None => values["certs"]["provided"]["secretName"] = json!("unused"),
        }
        values
    };
    let release = Release::install(
        cluster,
        &rel_ns,
        &values(Some(format!("https://127.0.0.1:{port}"))),
    )?;
    let rel = release.namespace.as_str();

    // Every object of the release exists, and these are all of them.
    let created = release.live_objects()?;
    let r = release.name.as_str();
    let expected: BTreeSet<(String, String, String)> = [
        ("ServiceAccount", rel, format!("{r}-webhook")),
        // The leader's Lease (every mode).
        ("Role", rel, format!("{r}-webhook")),
        ("RoleBinding", rel, format!("{r}-webhook")),
        ("ClusterRole", "", format!("{r}-webhook")),
        ("ClusterRoleBinding", "", format!("{r}-webhook")),
        ("ClusterRole", "", format!("{r}-sidecar")),
        ("RoleBinding", app, format!("{r}-sidecar")),
        ("MutatingWebhookConfiguration", "", release.mutating()),
        ("ValidatingWebhookConfiguration", "", release.validating()),
    ]
    .into_iter()
    .map(|(k, ns, n)| (k.to_owned(), ns.to_owned(), n))
    .collect();
    assert_eq!(created, expected);

    // The webhook, run as the chart's ServiceAccount with the chart's Deployment arguments.
    let kubeconfig = ServiceAccountKubeconfig::new(cluster, rel, &release.webhook())?;
    let args = chart_webhook_args(cluster, r, rel, &values(None))?;
    assert!(
        args.contains(&"--sidecar-image=ferry-sidecar:chart-e2e".to_owned()),
        "{args:?}"
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let dir = tempfile::tempdir()?;
    write_pair(dir.path(), &leaf)?;
    let kubeconfig_path = kubeconfig.path.display().to_string();
    let mut webhook = WebhookProcess::spawn_on(
        port,
        dir,
        &args,
        &[
            ("KUBECONFIG", kubeconfig_path.as_str()),
            // As the Deployment sets them: the leader's Lease lives in the release namespace.
            ("POD_NAMESPACE", rel),
            ("POD_NAME", "local-0"),
            ("RUST_LOG", "debug"),
        ],
    )?;
    webhook.wait_ready(&ca.cert).await?;

    // The apiserver picks up webhook configurations asynchronously: probe with dry runs.
    wait_for(
        Duration::from_secs(30),
        "the apiserver to call /mutate",
        || {
            let (probe, _) = dry_run_pod(cluster, app, &pod("probe", true))?;
            Ok(sidecar_of(&probe).map(|_| ()))
        },
    )
    .await?;

    // The CR, validated by the chart's validating webhook, then seen by the webhook's cache:
    // its rclone config Secret gets mounted into the sidecar.
    let source = json!({"apiVersion": "replication.ferry.dev/v1alpha1", "kind": "ReplicationSource",
        "metadata": {"name": "data-to-s3"},
        "spec": {"sourcePVC": "data", "rclone": {"rcloneConfig": "rclone-secret",
            "rcloneConfigSection": "minio", "rcloneDestPath": "bucket/data"}}});
    cluster
        .kubectl_stdin(["create", "-n", app, "-f", "-"], &source.to_string())?
        .ok()?;
    let mut bad = source.clone();
    bad["metadata"]["name"] = json!("bad");
    bad["spec"]["trigger"] = json!({"schedule": "*/61 * * * *"});
    let refused = cluster.kubectl_stdin(["create", "-n", app, "-f", "-"], &bad.to_string())?;
    assert!(
        refused.stderr.contains("minute 61 is out of range 0-59"),
        "{}",
        refused.stderr
    );
    // Until its informer has the CR, the webhook injects and warns that the CR does not
    // exist yet.
    wait_for(Duration::from_secs(20), "the webhook to see the CR", || {
        let (probe, warnings) = dry_run_pod(cluster, app, &pod("probe", true))?;
        Ok(
            (sidecar_of(&probe).is_some() && !warnings.contains("does not exist yet"))
                .then_some(()),
        )
    })
    .await?;

    let out = cluster
        .kubectl_stdin(
            ["create", "-n", app, "-f", "-"],
            &pod("web", true).to_string(),
        )?
        .ok()
        .context("restricted Pod Security admits the injected pod")?;
    // The pod's service account is bound (sidecarBindings): no RBAC warning.
    assert!(!out.stderr.contains("cannot update"), "{}", out.stderr);
    let web = get_json(cluster, &["get", "pod", "web", "-n", app])?.context("pod web")?;
    let (list, sidecar) = sidecar_of(&web).context("no sidecar")?;
    assert_eq!(list, "initContainers");
    assert_eq!(web["spec"]["initContainers"][0]["name"], "ferry-sidecar");
    assert_eq!(sidecar["restartPolicy"], "Always");
    assert_eq!(sidecar["image"], "ferry-sidecar:chart-e2e");
    assert_eq!(sidecar["resources"]["requests"]["cpu"], "50m");
    // The sidecar reads the CR's Secrets through the API: none is mounted into the pod.
    assert!(
        secret_volumes(&web).is_empty(),
        "{:#}",
        web["spec"]["volumes"]
    );
    assert!(web["metadata"]["annotations"]["ferry.dev/injected"].is_string());

    // A service account without the binding gets a warning naming the fix: the webhook's
    // SubjectAccessReviews work under the chart's RBAC.
    cluster
        .kubectl(["create", "serviceaccount", "unbound", "-n", app])?
        .ok()?;
    let mut unbound = pod("unbound", true);
    unbound["spec"]["serviceAccountName"] = json!("unbound");
    let (_, warnings) = dry_run_pod(cluster, app, &unbound)?;
    assert!(
        warnings.contains("service account \"unbound\" cannot update replicationsources"),
        "{warnings}"
    );
    // Files mode needs no Secret access at all, not even in the release namespace.
    let webhook_user = format!("system:serviceaccount:{rel}:{}", release.webhook());
    let can = cluster.kubectl([
        "auth",
        "can-i",
        "get",
        "secrets",
        "-n",
        rel,
        "--as",
        webhook_user.as_str(),
    ])?;
    assert_eq!(can.stdout.trim(), "no", "{}", can.stderr);
    // Nothing the webhook asked the apiserver for was forbidden.
    let log = strip_ansi(&webhook.log_text());
    assert!(log.contains("http.status_code=200"), "no API calls logged");
    assert!(!log.contains("http.status_code=403"), "{log}");

    // With the webhook gone, opted-in pods fail closed and every other pod is unaffected.
    webhook.kill();
    cluster
        .kubectl_stdin(
            ["create", "-n", app, "-f", "-"],
            &pod("plain", false).to_string(),
        )?
        .ok()
        .context("an unlabelled pod must not depend on the webhook")?;
    let blocked = cluster.kubectl_stdin(
        ["create", "-n", app, "-f", "-"],
        &pod("blocked", true).to_string(),
    )?;
    assert!(!blocked.success);
    assert!(
        blocked.stderr.contains("failed calling webhook"),
        "{}",
        blocked.stderr
    );

    // Uninstall: the configurations and RBAC go, the CRDs and the user's CR stay.
    release.uninstall()?;
    for (kind, name) in [
        ("mutatingwebhookconfiguration", release.mutating()),
        ("validatingwebhookconfiguration", release.validating()),
        ("clusterrole", format!("{r}-webhook")),
        ("clusterrole", format!("{r}-sidecar")),
        ("clusterrolebinding", format!("{r}-webhook")),
    ] {
        wait_for(
            Duration::from_secs(30),
            &format!("{kind} {name} to go"),
            || {
                Ok(get_json(cluster, &["get", kind, name.as_str()])?
                    .is_none()
                    .then_some(()))
            },
        )
        .await?;
    }
    assert!(
        get_json(
            cluster,
            &["get", "rolebinding", &format!("{r}-sidecar"), "-n", app]
        )?
        .is_none()
    );
    for crd in [
        "replicationsources.replication.ferry.dev",
        "replicationdestinations.replication.ferry.dev",
    ] {
        if get_json(cluster, &["get", "crd", crd])?.is_none() {
            bail!("helm uninstall removed CRD {crd}");
        }
    }
    let kept = get_json(
        cluster,
        &["get", "replicationsource", "data-to-s3", "-n", app],
    )?;
    assert!(
        kept.is_some(),
        "helm uninstall removed the user's ReplicationSource"
    );
    // Once the apiserver drops the configurations, labelled pods are admitted unchanged.
    wait_for(
        Duration::from_secs(30),
        "a labelled pod admitted without the webhook",
        || {
            let out = cluster.kubectl_stdin(
                ["create", "-n", app, "-f", "-"],
                &pod("after", true).to_string(),
            )?;
            Ok(out.success.then_some(()))
        },
    )
    .await?;
    Ok(())
}
