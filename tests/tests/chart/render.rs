//! `helm template` for every certificate mode, validated by the real apiserver with
//! `kubectl apply --dry-run=server`, and the objects as the apiserver returned them checked
//! for what the chart promises.

use std::collections::BTreeSet;

use anyhow::Context;
use ferry_e2e::{Cluster, TestNamespace};
use serde_json::{Value, json};

use crate::mode_values;
use crate::support::{install_cert_manager_fixture, template};

/// The objects the apiserver returned for a server-side dry run of `yaml`.
fn dry_run(cluster: &Cluster, namespace: &str, yaml: &str) -> anyhow::Result<Vec<Value>> {
    let out = cluster
        .kubectl_stdin(
            [
                "apply",
                "--dry-run=server",
                "-n",
                namespace,
                "-o",
                "json",
                "-f",
                "-",
            ],
            yaml,
        )?
        .ok()?;
    let applied: Value = serde_json::from_str(&out.stdout)?;
    Ok(match applied["kind"].as_str() {
        Some("List") => applied["items"].as_array().cloned().unwrap_or_default(),
        _ => vec![applied],
    })
}

fn kinds(objects: &[Value]) -> BTreeSet<String> {
    objects
        .iter()
        .filter_map(|o| o["kind"].as_str().map(str::to_owned))
        .collect()
}

fn find<'a>(objects: &'a [Value], kind: &str) -> anyhow::Result<&'a Value> {
    objects
        .iter()
        .find(|o| o["kind"] == kind)
        .with_context(|| format!("no {kind}"))
}

fn webhooks(objects: &[Value]) -> anyhow::Result<Vec<Value>> {
    let mut all = Vec::new();
    for kind in [
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
    ] {
        all.extend(
            find(objects, kind)?["webhooks"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        );
    }
    Ok(all)
}

fn args(deployment: &Value) -> Vec<String> {
    deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn every_certificate_mode_renders_objects_the_apiserver_accepts() -> anyhow::Result<()> {
    let cluster = Cluster::shared();
    install_cert_manager_fixture(cluster)?;
    let ns = TestNamespace::create(
        cluster,
        "chart-dry",
        &[("pod-security.kubernetes.io/enforce", "restricted")],
    )?;
    let release = ns.name.as_str();
    for (mode, mut values) in mode_values() {
        values["sidecarBindings"] = json!([{"namespace": release, "serviceAccount": "default"}]);
        let rendered = template(cluster, release, release, &values)?
            .ok()
            .with_context(|| format!("helm template ({mode})"))?;
        let objects = dry_run(cluster, release, &rendered.stdout)
            .with_context(|| format!("the apiserver refused the {mode} manifests"))?;
        let kinds = kinds(&objects);
        for kind in [
            "ServiceAccount",
            "ClusterRole",
            "ClusterRoleBinding",
            "RoleBinding",
            "MutatingWebhookConfiguration",
            "ValidatingWebhookConfiguration",
        ] {
            assert!(kinds.contains(kind), "{mode}: no {kind} in {kinds:?}");
        }
        assert!(
            !kinds.contains("Secret"),
            "{mode}: the chart rendered a Secret"
        );
        let in_cluster = values["webhook"]["url"].is_null();
        for kind in ["Deployment", "Service", "PodDisruptionBudget"] {
            assert_eq!(kinds.contains(kind), in_cluster, "{mode}: {kind}");
        }
        let cert_manager = values["certs"]["mode"] == "cert-manager";
        assert_eq!(kinds.contains("Certificate"), cert_manager, "{mode}");

        // Only opted-in pods, never the release namespace or kube-system, failing closed.
        let hooks = webhooks(&objects)?;
        assert_eq!(hooks.len(), 3, "{mode}");
        for hook in &hooks {
            let name = hook["name"].as_str().unwrap_or_default();
            assert_eq!(hook["failurePolicy"], "Fail", "{mode} {name}");
            assert_eq!(hook["sideEffects"], "None", "{mode} {name}");
            assert_eq!(hook["timeoutSeconds"], 5, "{mode} {name}");
            assert_eq!(hook["admissionReviewVersions"], json!(["v1"]));
            assert_eq!(
                hook["namespaceSelector"]["matchExpressions"],
                json!([{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": [release, "kube-system"]}]),
                "{mode} {name}"
            );
            let pods = hook["rules"][0]["resources"] == json!(["pods"]);
            if pods {
                assert_eq!(
                    hook["objectSelector"]["matchExpressions"],
                    json!([{"key": "ferry.dev/inject", "operator": "In", "values": ["true"]}]),
                    "{mode} {name}"
                );
            }
            let (path, url) = match name {
                "inject.ferry.dev" => ("/mutate", "https://127.0.0.1:10250/mutate"),
                _ => ("/validate", "https://127.0.0.1:10250/validate"),
            };
            if in_cluster {
                assert_eq!(
                    hook["clientConfig"]["service"],
                    json!({"name": format!("{release}-webhook"), "namespace": release, "path": path, "port": 443})
                );
            } else {
                assert_eq!(hook["clientConfig"]["url"], url);
            }
            let bundle = &hook["clientConfig"]["caBundle"];
            match values["certs"]["mode"].as_str() {
                Some("provided") => {
                    assert_eq!(bundle, &values["certs"]["provided"]["caBundle"])
                }
                // Patched at runtime by the webhook or the cainjector.
                _ => assert!(bundle.is_null(), "{mode} {name}: {bundle}"),
            }
        }
        let mutating = find(&objects, "MutatingWebhookConfiguration")?;
        let inject = &mutating["webhooks"][0];
        assert_eq!(inject["reinvocationPolicy"], "IfNeeded");
        assert_eq!(
            inject["matchConditions"][0]["expression"],
            "!has(object.metadata.annotations) || !('ferry.dev/injected' in object.metadata.annotations)"
        );
        assert_eq!(inject["rules"][0]["operations"], json!(["CREATE"]));
        let validating = find(&objects, "ValidatingWebhookConfiguration")?;
        assert_eq!(
            validating["webhooks"][0]["rules"][0]["resources"],
            json!(["replicationsources", "replicationdestinations"])
        );
        assert_eq!(
            validating["webhooks"][0]["rules"][0]["operations"],
            json!(["CREATE", "UPDATE"])
        );
        let injection = if cert_manager {
            json!(format!("{release}/{release}-webhook"))
        } else {
            Value::Null
        };
        for configuration in [mutating, validating] {
            assert_eq!(
                configuration["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
                injection,
                "{mode}"
            );
        }
        if in_cluster {
            check_deployment(cluster, release, mode, &values, &objects)?;
        }
    }
    Ok(())
}

/// The Deployment: replicas, spreading, probes, restricted security, args per mode, and a
/// pod template that restricted Pod Security admits.
fn check_deployment(
    cluster: &Cluster,
    release: &str,
    mode: &str,
    values: &Value,
    objects: &[Value],
) -> anyhow::Result<()> {
    let deployment = find(objects, "Deployment")?;
    let spec = &deployment["spec"]["template"]["spec"];
    let container = &spec["containers"][0];
    assert_eq!(deployment["spec"]["replicas"], 2, "{mode}");
    assert_eq!(
        spec["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]
            ["topologyKey"],
        "kubernetes.io/hostname"
    );
    assert_eq!(
        find(objects, "PodDisruptionBudget")?["spec"]["minAvailable"],
        1
    );
    let service = find(objects, "Service")?;
    assert_eq!(service["spec"]["ports"][0]["port"], 443);
    assert_eq!(service["spec"]["ports"][0]["targetPort"], "https");
    assert_eq!(container["ports"][0]["containerPort"], 10250);
    for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        assert_eq!(
            container[probe]["httpGet"],
            json!({"path": path, "port": "https", "scheme": "HTTPS"})
        );
    }
    assert_eq!(container["image"], "ghcr.io/ferry-dev/ferry-webhook:0.1.0");
    let security = &container["securityContext"];
    assert_eq!(security["runAsNonRoot"], true);
    assert_eq!(security["runAsUser"], 65532);
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["capabilities"]["drop"], json!(["ALL"]));
    assert_eq!(
        spec["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    assert!(container["resources"]["requests"]["cpu"].is_string());
    let env: Vec<&Value> = container["env"].as_array().into_iter().flatten().collect();
    for (name, field) in [
        ("POD_NAME", "metadata.name"),
        ("POD_NAMESPACE", "metadata.namespace"),
    ] {
        assert!(
            env.iter()
                .any(|e| e["name"] == name && e["valueFrom"]["fieldRef"]["fieldPath"] == field),
            "{mode}: {name}"
        );
    }
    let args = args(deployment);
    let has = |arg: &str| args.iter().any(|a| a == arg);
    // Every mode: the leader's Lease, the configurations its health checks read, the interval.
    for arg in [
        format!("--cert-lease={release}-webhook-certs"),
        format!("--mutating-webhook={release}-inject"),
        format!("--validating-webhook={release}-validate"),
        "--health-interval=60s".to_owned(),
    ] {
        assert!(has(&arg), "{mode}: no {arg} in {args:?}");
    }
    match values["certs"]["mode"].as_str() {
        None => {
            for arg in [
                "--cert-mode=self-managed".to_owned(),
                format!("--mutating-webhook={release}-inject"),
                format!("--validating-webhook={release}-validate"),
                format!("--service-name={release}-webhook"),
                format!("--cert-secret={release}-webhook-tls"),
            ] {
                assert!(has(&arg), "{mode}: no {arg} in {args:?}");
            }
            assert!(spec["volumes"].is_null(), "{mode}");
        }
        Some(other) => {
            assert!(has("--cert-mode=files"), "{mode}: {args:?}");
            assert!(has("--tls-cert-file=/etc/ferry/tls/tls.crt"), "{mode}");
            let secret = if other == "provided" {
                "webhook-tls".to_owned()
            } else {
                format!("{release}-webhook-tls")
            };
            assert_eq!(spec["volumes"][0]["secret"]["secretName"], secret, "{mode}");
            assert_eq!(
                container["volumeMounts"][0]["mountPath"], "/etc/ferry/tls",
                "{mode}"
            );
        }
    }

    // The pod the Deployment would create is admitted by restricted Pod Security (enforce).
    // (Without its ServiceAccount, which a dry run did not create.)
    let mut pod_spec = spec.clone();
    if let Some(map) = pod_spec.as_object_mut() {
        map.remove("serviceAccountName");
        map.remove("serviceAccount");
    }
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "webhook-pod", "labels": deployment["spec"]["template"]["metadata"]["labels"]},
        "spec": pod_spec});
    let out = cluster.kubectl_stdin(
        ["create", "--dry-run=server", "-n", release, "-f", "-"],
        &pod.to_string(),
    )?;
    assert!(
        out.success,
        "{mode}: restricted refused the webhook pod: {}",
        out.stderr
    );
    assert!(!out.stderr.contains("Warning"), "{mode}: {}", out.stderr);
    Ok(())
}

/// The PrometheusRule: rendered when the cluster serves its API (`auto`) or when asked,
/// with the four health alerts, each description naming its fix.
#[tokio::test]
async fn the_prometheus_rule_renders_when_its_api_is_served_or_asked_for() -> anyhow::Result<()> {
    let cluster = Cluster::shared();
    let api = "monitoring.coreos.com/v1/PrometheusRule";
    let cases: [(&str, Value, &[&str], bool); 4] = [
        ("auto, no CRD", json!({}), &[], false),
        (
            "auto, CRD served",
            json!({}),
            &["--api-versions", api],
            true,
        ),
        (
            "forced off",
            json!({"prometheusRule": {"enabled": false}}),
            &["--api-versions", api],
            false,
        ),
        (
            "forced on",
            json!({"prometheusRule": {"enabled": true, "labels": {"release": "kube-prometheus"}}}),
            &[],
            true,
        ),
    ];
    for (case, values, extra, wanted) in cases {
        let file = crate::support::ValuesFile::new(&values)?;
        let version = crate::support::server_version(cluster)?;
        let chart = crate::support::chart_dir();
        let mut args = vec![
            "template",
            "hc",
            chart.as_str(),
            "-n",
            "ferry-system",
            "--kube-version",
            version.as_str(),
            "-f",
            file.path.as_str(),
        ];
        args.extend_from_slice(extra);
        let out = cluster.helm(&args)?.ok().with_context(|| case.to_owned())?;
        let objects = crate::support::documents(&out.stdout)?;
        let rule = objects.iter().find(|o| o["kind"] == "PrometheusRule");
        assert_eq!(rule.is_some(), wanted, "{case}");
        let Some(rule) = rule else { continue };
        assert_eq!(rule["apiVersion"], "monitoring.coreos.com/v1");
        assert_eq!(rule["metadata"]["namespace"], "ferry-system");
        if case == "forced on" {
            assert_eq!(rule["metadata"]["labels"]["release"], "kube-prometheus");
        }
        let rules = rule["spec"]["groups"][0]["rules"]
            .as_array()
            .context("rules")?;
        let alert = |name: &str| {
            rules
                .iter()
                .find(|r| r["alert"] == name)
                .with_context(|| format!("{case}: no alert {name}"))
        };
        for (name, expr, fix) in [
            (
                "FerryWebhookCertificateExpiring",
                "min by (cert) (ferry_webhook_certificate_expiry_timestamp_seconds) - time() < 7 * 86400",
                "kubectl -n ferry-system rollout restart deployment/hc-ferry-webhook",
            ),
            (
                "FerryWebhookCABundleDrift",
                "max by (kind, configuration) (ferry_webhook_cabundle_untrusted) == 1 or sum by (kind, configuration) (increase(ferry_webhook_cabundle_drift_total[1h])) > 0",
                "make it ignore caBundle",
            ),
            (
                "FerryPodsNotInjected",
                "sum by (pod_namespace) (ferry_webhook_pods_not_injected) > 0",
                "rollout restart deployment/NAME",
            ),
            (
                "FerryOutdatedSidecars",
                "sum by (version) (ferry_webhook_outdated_sidecars) > 0",
                "rollout restart deployment/NAME",
            ),
        ] {
            let alert = alert(name)?;
            assert_eq!(alert["expr"], expr, "{case}: {name}");
            let description = alert["annotations"]["description"]
                .as_str()
                .unwrap_or_default();
            assert!(description.contains("Fix:"), "{name}: {description}");
            assert!(
                description.contains(fix),
                "{name}: {fix:?} not in {description}"
            );
            // Prometheus templates survive Helm's.
            let summary = alert["annotations"]["summary"].as_str().unwrap_or_default();
            assert!(summary.contains("{{ $"), "{name}: {summary}");
        }
        assert_eq!(rules.len(), 4, "{case}");
    }
    Ok(())
}
