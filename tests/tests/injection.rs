//! Sidecar injection through the real apiserver: every kind of workload comes out with the
//! sidecar, restricted Pod Security admits it, privileged-movers namespaces get the root
//! variant, Jobs are not held by it, injection is idempotent, and dry runs change nothing.

use std::time::Duration;

use anyhow::{Context, bail};
use ferry_e2e::https::{Connection, client_config};
use ferry_e2e::webhook::{WebhookProcess, ca_bundle, mutating_configuration};
use ferry_e2e::{Cluster, TestNamespace};
use serde_json::{Value, json};

/// A namespace with the webhook registered for it, and the webhook itself.
struct Setup {
    ns: TestNamespace,
    webhook: WebhookProcess,
    ca: String,
    config: String,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = Cluster::shared().kubectl([
            "delete",
            "mutatingwebhookconfiguration",
            self.config.as_str(),
        ]);
    }
}

async fn setup(prefix: &str, labels: &[(&str, &str)]) -> anyhow::Result<Setup> {
    let cluster = Cluster::shared();
    let ns = TestNamespace::create(cluster, prefix, labels)?;
    cluster
        .kubectl([
            "label",
            "namespace",
            ns.name.as_str(),
            &format!("ferry-e2e/webhook={}", ns.name),
        ])?
        .ok()?;
    let kubeconfig = cluster.kubeconfig.display().to_string();
    let dir = tempfile::tempdir()?;
    let (ca, leaf) = ferry_e2e::webhook::issue_for_loopback()?;
    ferry_e2e::webhook::write_pair(dir.path(), &leaf)?;
    let webhook = WebhookProcess::spawn(
        dir,
        &["--sidecar-image", "ferry-sidecar:e2e"],
        &[("KUBECONFIG", kubeconfig.as_str())],
    )?;
    webhook.wait_ready(&ca.cert).await?;
    let config = format!("ferry-e2e-{}", ns.name);
    let registration = mutating_configuration(
        &config,
        &ns.name,
        &format!("https://{}", webhook.addr),
        &ca_bundle(&[&ca.cert]),
    );
    cluster
        .kubectl_stdin(["apply", "-f", "-"], &registration.to_string())?
        .ok()?;
    let setup = Setup {
        ns,
        webhook,
        ca: ca.cert,
        config,
    };
    // The apiserver picks up webhook configurations asynchronously: probe with a dry run.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let out = cluster.dry_run(setup.ns.name.as_str(), &pod("probe", json!({})))?;
        if out.success && out.stdout.contains("ferry-sidecar") {
            return Ok(setup);
        }
        if tokio::time::Instant::now() > deadline {
            bail!(
                "the apiserver never called /mutate: {}\n{}",
                out.stderr,
                setup.webhook.log_text()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A restricted-compliant pod spec with a PVC volume, labelled and annotated as a source.
fn pod_template(annotations: Value) -> Value {
    let mut all = json!({"ferry.dev/source": "data-to-s3"});
    if let (Some(all), Some(extra)) = (all.as_object_mut(), annotations.as_object()) {
        all.extend(extra.clone());
    }
    json!({
        "metadata": {"labels": {"app": "web", "ferry.dev/inject": "true"}, "annotations": all},
        "spec": {
            "securityContext": {"runAsNonRoot": true, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "app", "image": "busybox", "command": ["sleep", "3600"],
                "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}},
                "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]
        }
    })
}

fn pod(name: &str, annotations: Value) -> Value {
    let mut pod = pod_template(annotations);
    pod["apiVersion"] = json!("v1");
    pod["kind"] = json!("Pod");
    pod["metadata"]["name"] = json!(name);
    pod
}

fn sidecar_of(pod: &Value) -> Option<(String, Value)> {
    for list in ["initContainers", "containers"] {
        if let Some(c) = pod["spec"][list]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["name"] == "ferry-sidecar")
        {
            return Some((list.to_owned(), c.clone()));
        }
    }
    None
}

fn get(cluster: &Cluster, ns: &str, args: &[&str]) -> anyhow::Result<Value> {
    let out = cluster
        .kubectl(
            ["get", "-n", ns, "-o", "json"]
                .into_iter()
                .chain(args.iter().copied()),
        )?
        .ok()?;
    Ok(serde_json::from_str(&out.stdout)?)
}

/// Waits until pods labelled `selector` exist and returns them.
async fn pods_of(
    cluster: &Cluster,
    ns: &str,
    selector: &str,
    count: usize,
) -> anyhow::Result<Vec<Value>> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let list = get(cluster, ns, &["pods", "-l", selector])?;
        let items = list["items"].as_array().cloned().unwrap_or_default();
        if items.len() >= count {
            return Ok(items);
        }
        if tokio::time::Instant::now() > deadline {
            bail!("no {count} pods for {selector} in {ns}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn every_kind_of_workload_gets_the_sidecar() -> anyhow::Result<()> {
    let cluster = Cluster::shared();
    let setup = setup(
        "inject",
        &[("pod-security.kubernetes.io/enforce", "restricted")],
    )
    .await?;
    let ns = setup.ns.name.as_str();
    let template = |kind: &str| {
        let mut t = pod_template(json!({}));
        t["metadata"]["labels"]["app"] = json!(kind);
        t
    };
    let mut job_template = template("job");
    job_template["spec"]["restartPolicy"] = json!("Never");
    let mut cron_template = template("cron");
    cron_template["spec"]["restartPolicy"] = json!("OnFailure");
    let workloads = [
        pod("single", json!({})),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "deployment"}}, "template": template("deployment")}}),
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
            "spec": {"serviceName": "db", "replicas": 1, "selector": {"matchLabels": {"app": "statefulset"}}, "template": template("statefulset")}}),
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once"},
            "spec": {"template": job_template}}),
        json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly"},
            "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": cron_template}}}}),
    ];
    for workload in &workloads {
        cluster
            .kubectl_stdin(["apply", "-n", ns, "-f", "-"], &workload.to_string())?
            .ok()
            .context("restricted PodSecurity admits the injected pod")?;
    }
    cluster
        .kubectl([
            "create",
            "job",
            "-n",
            ns,
            "nightly-now",
            "--from=cronjob/nightly",
        ])?
        .ok()?;

    let single = get(cluster, ns, &["pod", "single"])?;
    let mut pods = vec![single];
    for (selector, count) in [
        ("app=deployment", 2),
        ("app=statefulset", 1),
        ("app=job", 1),
        ("app=cron", 1),
    ] {
        let found = pods_of(cluster, ns, selector, count).await?;
        if selector == "app=deployment" {
            assert!(found.iter().all(|p| {
                p["metadata"]["generateName"]
                    .as_str()
                    .is_some_and(|g| g.starts_with("web-"))
            }));
        }
        pods.extend(found);
    }
    for pod in &pods {
        let name = pod["metadata"]["name"].as_str().unwrap_or_default();
        let (list, sidecar) = sidecar_of(pod).with_context(|| format!("{name} has no sidecar"))?;
        // Native sidecar: first init container, restartPolicy Always, so Jobs complete.
        assert_eq!(list, "initContainers", "{name}");
        assert_eq!(
            pod["spec"]["initContainers"][0]["name"], "ferry-sidecar",
            "{name}"
        );
        assert_eq!(sidecar["restartPolicy"], "Always", "{name}");
        assert_eq!(sidecar["image"], "ferry-sidecar:e2e");
        assert_eq!(
            sidecar["volumeMounts"][0],
            json!({"name": "data", "mountPath": "/ferry/volumes/data", "readOnly": true})
        );
        let env: Vec<&str> = sidecar["env"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["name"].as_str())
            .collect();
        for wanted in [
            "POD_NAME",
            "POD_NAMESPACE",
            "POD_UID",
            "POD_IP",
            "FERRY_ROLE",
            "FERRY_OBJECT",
            "FERRY_VOLUME",
        ] {
            assert!(env.contains(&wanted), "{name}: {env:?}");
        }
        assert_eq!(sidecar["securityContext"]["runAsNonRoot"], true);
        assert_eq!(sidecar["securityContext"]["runAsUser"], 1000);
        assert_eq!(
            sidecar["securityContext"]["capabilities"]["drop"],
            json!(["ALL"])
        );
        let record: Value = serde_json::from_str(
            pod["metadata"]["annotations"]["ferry.dev/injected"]
                .as_str()
                .context("record")?,
        )?;
        assert_eq!(record["native"], true);
    }
    let job = get(cluster, ns, &["pod", "-l", "app=job"])?;
    assert_eq!(job["items"][0]["spec"]["restartPolicy"], "Never");
    Ok(())
}

#[tokio::test]
async fn destinations_get_the_port_and_label_and_privileged_namespaces_the_root_variant()
-> anyhow::Result<()> {
    let cluster = Cluster::shared();
    let setup = setup("privileged", &[("ferry.dev/privileged-movers", "true")]).await?;
    let ns = setup.ns.name.as_str();
    let mut standby = pod(
        "standby",
        json!({"ferry.dev/destination": "data-from-prod"}),
    );
    if let Some(map) = standby["metadata"]["annotations"].as_object_mut() {
        map.remove("ferry.dev/source");
    }
    // The namespace cache may lag the label by a moment.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let sidecar = loop {
        let out = cluster.dry_run(ns, &standby)?.ok()?;
        let created: Value = serde_json::from_str(&out.stdout)?;
        let (_, sidecar) = sidecar_of(&created).context("sidecar")?;
        if sidecar["securityContext"]["runAsUser"] == 0 {
            assert_eq!(
                created["metadata"]["labels"]["ferry.dev/destination"],
                "data-from-prod"
            );
            break sidecar;
        }
        if tokio::time::Instant::now() > deadline {
            bail!("no root variant: {sidecar}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(
        sidecar["ports"],
        json!([{"name": "ssh", "containerPort": 2222, "protocol": "TCP"}])
    );
    // Read-write: the apiserver drops `readOnly: false`.
    assert_ne!(sidecar["volumeMounts"][0]["readOnly"], true);
    assert_eq!(
        sidecar["volumeMounts"][0]["mountPath"],
        "/ferry/volumes/data"
    );
    assert_eq!(
        sidecar["securityContext"]["capabilities"]["add"],
        json!([
            "CHOWN",
            "DAC_OVERRIDE",
            "DAC_READ_SEARCH",
            "FOWNER",
            "FSETID"
        ])
    );
    Ok(())
}

#[tokio::test]
async fn injection_is_idempotent_and_dry_runs_change_nothing() -> anyhow::Result<()> {
    let cluster = Cluster::shared();
    let setup = setup("idempotent", &[]).await?;
    let ns = setup.ns.name.as_str();

    // Server-side dry run shows the mutated pod and creates nothing.
    let out = cluster.dry_run(ns, &pod("dry", json!({})))?.ok()?;
    let dry: Value = serde_json::from_str(&out.stdout)?;
    assert!(sidecar_of(&dry).is_some());
    assert!(
        !cluster.kubectl(["get", "pod", "-n", ns, "dry"])?.success,
        "a dry run created the pod"
    );

    // A pod that already carries the record is admitted unchanged.
    let mut marked = pod(
        "marked",
        json!({"ferry.dev/injected": "{\"version\":\"0.0.0\"}"}),
    );
    marked["metadata"]["labels"]["extra"] = json!("kept");
    cluster
        .kubectl_stdin(["create", "-n", ns, "-f", "-"], &marked.to_string())?
        .ok()?;
    let stored = get(cluster, ns, &["pod", "marked"])?;
    assert!(sidecar_of(&stored).is_none());
    assert_eq!(
        stored["metadata"]["annotations"]["ferry.dev/injected"],
        "{\"version\":\"0.0.0\"}"
    );

    // The same request twice: the second answer, for the already-mutated pod, adds nothing.
    let review = |object: &Value| {
        json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "twice", "kind": {"group": "", "version": "v1", "kind": "Pod"}, "operation": "CREATE",
        "namespace": ns, "object": object, "dryRun": false}})
    };
    let mut conn = Connection::open(
        &setup.webhook.addr,
        "127.0.0.1",
        client_config(&[&setup.ca])?,
    )
    .await?;
    let first = conn
        .review("/mutate", &review(&pod("twice", json!({}))))
        .await?;
    assert!(first["response"]["patch"].is_string());
    cluster
        .kubectl_stdin(
            ["create", "-n", ns, "-f", "-"],
            &pod("twice", json!({})).to_string(),
        )?
        .ok()?;
    let injected = get(cluster, ns, &["pod", "twice"])?;
    let second = conn.review("/mutate", &review(&injected)).await?;
    assert_eq!(second["response"]["allowed"], true);
    assert!(second["response"].get("patch").is_none(), "{second}");
    let count = ["initContainers", "containers"]
        .iter()
        .flat_map(|l| injected["spec"][l].as_array().cloned().unwrap_or_default())
        .filter(|c| c["name"] == "ferry-sidecar")
        .count();
    assert_eq!(count, 1);
    Ok(())
}
