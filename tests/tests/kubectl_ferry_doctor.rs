//! `kubectl ferry doctor` (issue 27) on the real cluster: it passes on a good installation,
//! and names each broken thing with its fix when the test breaks one at a time: the caBundle,
//! the sidecar's RoleBinding (whose printed fix the test then runs), and a labelled pod
//! created while the injection webhook was unregistered.
//!
//! It installs a release of its own (the chart, the images built here, the webhook as its
//! Deployment on the node) with `provided` certificates, so nothing repairs the caBundle
//! behind the test's back, and a namespace label of its own, so the breakage never reaches
//! the other tests' release.

use std::time::Duration;

use anyhow::{Context, ensure};
use base64::Engine;
use ferry_e2e::cluster::{Cluster, repo_root};
use ferry_e2e::namespace::TestNamespace;
use ferry_e2e::plugin::kubectl_ferry;
use ferry_e2e::replication::Replication;
use ferry_e2e::replication::manifests::{self, Role};
use ferry_e2e::wait::eventually;
use serde_json::json;

const RELEASE: &str = "ferry-doctor";
const RELEASE_NAMESPACE: &str = "ferry-doctor";
const LABEL: &str = "ferry-doctor/installed";
const SIDECAR_ROLE: &str = "ferry-doctor-sidecar";
const SERVICE: &str = "ferry-doctor-webhook";
const TLS_SECRET: &str = "ferry-doctor-tls";

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// Installs (or upgrades) the doctor's release with a CA and serving certificate made here.
fn install(cluster: &Cluster) -> anyhow::Result<()> {
    let images = ferry_e2e::ferry::images(cluster)?;
    // A release left by an earlier run serves its own certificate until the kubelet
    // refreshes the mounted Secret: start from none, so the webhook starts with this one.
    let _ = cluster.helm([
        "uninstall",
        RELEASE,
        "--namespace",
        RELEASE_NAMESPACE,
        "--wait",
    ]);
    let ca = ferry_certs::generate_ca("ferry-doctor test CA", Duration::from_secs(90 * 86_400))?;
    let leaf = ferry_certs::issue_leaf(
        &ca,
        &ferry_certs::service_dns_names(SERVICE, RELEASE_NAMESPACE),
        &[],
        Duration::from_secs(90 * 86_400),
    )?;
    let namespace =
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": RELEASE_NAMESPACE}});
    cluster
        .kubectl_stdin(["apply", "-f", "-"], &namespace.to_string())?
        .ok()?;
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "metadata": {"name": TLS_SECRET, "namespace": RELEASE_NAMESPACE},
        "stringData": {"tls.crt": leaf.cert, "tls.key": leaf.key}});
    cluster
        .kubectl_stdin(["apply", "-f", "-"], &secret.to_string())?
        .ok()?;
    let mut values = ferry_e2e::ferry::release_values(&images, SIDECAR_ROLE, LABEL);
    values["certs"] = json!({"mode": "provided",
        "provided": {"secretName": TLS_SECRET, "caBundle": b64(&ca.cert)}});
    ferry_e2e::ferry::helm_install(cluster, RELEASE, RELEASE_NAMESPACE, &values)
}

fn doctor(cluster: &Cluster) -> anyhow::Result<ferry_e2e::Output> {
    kubectl_ferry(cluster, ["doctor", "--release", RELEASE])
}

/// Runs doctor until `check` holds for its output (the apiserver applies webhook
/// configuration and RBAC changes asynchronously), returning the output.
async fn doctor_until(
    cluster: &Cluster,
    what: &str,
    check: impl Fn(&ferry_e2e::Output) -> bool,
) -> anyhow::Result<ferry_e2e::Output> {
    let last = std::sync::Mutex::new(String::new());
    let found = eventually(Duration::from_secs(60), what, || async {
        let out = doctor(cluster)?;
        if let Ok(mut l) = last.lock() {
            *l = format!("{}{}", out.stdout, out.stderr);
        }
        Ok(check(&out).then_some(out))
    })
    .await;
    found.map_err(|e| {
        anyhow::anyhow!(
            "{e:#}; doctor's last output:\n{}",
            last.lock().map(|l| l.clone()).unwrap_or_default()
        )
    })
}

/// Checks doctor's output: `problems` problems (none: it passed), and every line of `wants`.
fn shows(out: &ferry_e2e::Output, problems: usize, wants: &[String]) -> anyhow::Result<()> {
    ensure!(
        out.success == (problems == 0),
        "doctor's exit status is wrong ({problems} problem(s) expected):\n{}{}",
        out.stdout,
        out.stderr
    );
    ensure!(
        out.stdout.matches("[PROBLEM]").count() == problems,
        "{problems} problem(s) expected:\n{}",
        out.stdout
    );
    for want in wants {
        ensure!(out.stdout.contains(want), "no {want:?} in:\n{}", out.stdout);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_passes_then_names_each_broken_thing_with_its_fix() -> anyhow::Result<()> {
    let fx = Replication::start("kfdoctor").await?;
    let cluster = fx.cluster;
    install(cluster)?;
    let ns_guard = TestNamespace::create(
        cluster,
        "kfdoctor",
        &[
            (LABEL, "yes"),
            ("pod-security.kubernetes.io/enforce", "restricted"),
        ],
    )?;
    let ns = ns_guard.name.clone();
    let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": SIDECAR_ROLE},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": SIDECAR_ROLE},
        "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": ns}]});
    fx.create(&ns, &binding).await?;
    let bucket = fx.minio.bucket("kfdoctor").await?;
    fx.volume(&ns, "data").await?;
    fx.rclone_secret(&ns, "creds").await?;
    let source = manifests::rclone_source(
        "doctored",
        "data",
        "creds",
        &format!("{bucket}/d"),
        "Direct",
        Some(manifests::manual("one")),
    );
    let template = manifests::pod_template("web", Role::Source, "doctored", "data");
    fx.bind(&ns, &source, &manifests::pod("web", &template))
        .await?;

    // A good installation: every check passes.
    let out = doctor_until(cluster, "doctor to pass on the good installation", |o| {
        o.success
    })
    .await?;
    shows(
        &out,
        0,
        &[
            format!("[ok]      webhook {RELEASE_NAMESPACE}/{SERVICE} reachable"),
            format!("[ok]      certificate {RELEASE_NAMESPACE}/{TLS_SECRET} valid until"),
            format!(
                "[ok]      caBundle of ValidatingWebhookConfiguration/{RELEASE}-validate (crs.validate.ferry.dev) trusts"
            ),
            "[ok]      CRD replicationsources.replication.ferry.dev matches Ferry".to_owned(),
            format!("[ok]      sidecar RBAC of service account {ns}/default (pods web)"),
            "No problem found".to_owned(),
        ],
    )?;

    // 1. The caBundle of the validating configuration replaced by another CA's.
    let other = ferry_certs::generate_ca("not the webhook's CA", Duration::from_secs(3600))?;
    let config = format!("validatingwebhookconfiguration/{RELEASE}-validate");
    let original = cluster
        .kubectl([
            "get",
            config.as_str(),
            "-o",
            "jsonpath={.webhooks[0].clientConfig.caBundle}",
        ])?
        .ok()?
        .stdout;
    let set_bundle = |bundle: &str| {
        let patch = json!([{"op": "replace", "path": "/webhooks/0/clientConfig/caBundle", "value": bundle}]);
        cluster
            .kubectl([
                "patch",
                config.as_str(),
                "--type=json",
                "-p",
                &patch.to_string(),
            ])?
            .ok()
    };
    set_bundle(&b64(&other.cert))?;
    shows(
        &doctor(cluster)?,
        1,
        &[
            format!(
                "[PROBLEM] caBundle of ValidatingWebhookConfiguration/{RELEASE}-validate (crs.validate.ferry.dev): does not trust the serving certificate in Secret {RELEASE_NAMESPACE}/{TLS_SECRET}"
            ),
            "fix: self-managed mode: the webhook's leader publishes it again".to_owned(),
        ],
    )?;
    set_bundle(&original)?;
    doctor_until(cluster, "doctor to pass with the caBundle restored", |o| {
        o.success
    })
    .await?;

    // 2. The sidecar's RoleBinding deleted; then the printed fix, run as printed, mends it.
    cluster
        .kubectl(["delete", "rolebinding", SIDECAR_ROLE, "-n", ns.as_str()])?
        .ok()?;
    let out = doctor_until(cluster, "doctor to name the missing RBAC", |o| !o.success).await?;
    let fix = format!(
        "kubectl -n {ns} create rolebinding {SIDECAR_ROLE} --clusterrole={SIDECAR_ROLE} --serviceaccount={ns}:default"
    );
    shows(
        &out,
        1,
        &[
            format!(
                "[PROBLEM] sidecar RBAC of service account {ns}/default (pods web): cannot get replicationsources, patch replicationsources/status, create events, update leases"
            ),
            format!("fix: {fix} (or add"),
        ],
    )?;
    let args: Vec<&str> = fix.split_whitespace().skip(1).collect();
    cluster.kubectl(&args)?.ok()?;
    doctor_until(cluster, "doctor to pass after its RBAC fix", |o| o.success).await?;

    // 3. The injection webhook unregistered, and a labelled pod created meanwhile.
    cluster
        .kubectl([
            "delete",
            "mutatingwebhookconfiguration",
            &format!("{RELEASE}-inject"),
        ])?
        .ok()?;
    let late = manifests::pod(
        "late",
        &manifests::pod_template("late", Role::Source, "doctored", "data"),
    );
    let pods = fx.pods(&ns);
    eventually(
        Duration::from_secs(60),
        "a labelled pod created without the sidecar",
        || async {
            fx.create(&ns, &late).await?;
            let pod = pods.get("late").await?;
            let injected = serde_json::to_string(&pod)?.contains("ferry-sidecar");
            if injected {
                // The apiserver had not dropped the configuration yet.
                fx.delete_pod(&ns, "late").await?;
            }
            Ok((!injected).then_some(()))
        },
    )
    .await?;
    shows(
        &doctor(cluster)?,
        2,
        &[
            format!(
                "[PROBLEM] installation {RELEASE}: webhook configurations: MutatingWebhookConfiguration {RELEASE}-inject is missing"
            ),
            format!("fix: helm upgrade {RELEASE} charts/ferry --reuse-values"),
            format!(
                "[PROBLEM] pod {ns}/late: is labelled ferry.dev/inject=true but has no ferry-sidecar"
            ),
            format!(
                "fix: once the webhook checks pass, recreate it: kubectl -n {ns} delete pod late"
            ),
        ],
    )?;
    // Both fixes, as printed (the chart from this checkout), and the doctor is content.
    let chart = repo_root().join("charts/ferry");
    let chart = chart.to_str().context("path")?;
    cluster
        .helm([
            "upgrade",
            RELEASE,
            chart,
            "--reuse-values",
            "--namespace",
            RELEASE_NAMESPACE,
            "--wait",
        ])?
        .ok()?;
    fx.delete_pod(&ns, "late").await?;
    doctor_until(cluster, "doctor to pass after the fixes", |o| o.success).await?;

    let _ = cluster.helm([
        "uninstall",
        RELEASE,
        "--namespace",
        RELEASE_NAMESPACE,
        "--wait",
    ]);
    let _ = cluster.kubectl(["delete", "namespace", RELEASE_NAMESPACE, "--wait=false"]);
    fx.passed();
    Ok(())
}
