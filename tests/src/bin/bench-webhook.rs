//! `make bench-webhook`: `/validate` over keep-alive TLS next to `/allow`, an endpoint on the
//! same server that admits without looking (the floor). Prints latency at a fixed open-loop
//! rate and the maximum throughput with 64 connections, side by side, with the ratios.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use ferry_e2e::https::{Connection, client_config};
use ferry_e2e::webhook::WebhookProcess;
use serde_json::{Value, json};
use tokio::sync::Mutex;

/// Requests per second of the open-loop latency run.
const RATE: u64 = 1_000;
/// Length of each measured run.
const RUN: Duration = Duration::from_secs(10);
/// Connections of the throughput run.
const CONCURRENCY: usize = 64;

/// A realistic opted-in pod: a Deployment's pod with two containers and a claim.
fn pod_review() -> Value {
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "7a2d", "kind": {"group": "", "version": "v1", "kind": "Pod"}, "operation": "CREATE", "namespace": "app",
        "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "web-5c8597c5fb-", "namespace": "app",
            "labels": {"app": "web", "pod-template-hash": "5c8597c5fb", "ferry.dev/inject": "true"},
            "annotations": {"ferry.dev/source": "data-to-s3", "ferry.dev/schedule": "*/15 * * * *", "ferry.dev/sidecar-memory": "256Mi"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5c8597c5fb", "uid": "f00", "controller": true}]},
            "spec": {"securityContext": {"runAsNonRoot": true, "runAsUser": 101, "fsGroup": 101, "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [
                    {"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 8080}],
                     "volumeMounts": [{"name": "content", "mountPath": "/usr/share/nginx/html"}],
                     "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}},
                    {"name": "exporter", "image": "exporter:1", "ports": [{"containerPort": 9113}]}],
                "volumes": [{"name": "content", "persistentVolumeClaim": {"claimName": "data"}},
                    {"name": "config", "configMap": {"name": "web"}}]}}}})
}

fn review() -> Value {
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "5f1c", "kind": {"group": ferry_api::GROUP, "version": "v1alpha1", "kind": "ReplicationSource"},
        "operation": "CREATE", "namespace": "app",
        "object": {"apiVersion": "replication.ferry.dev/v1alpha1", "kind": "ReplicationSource",
            "metadata": {"name": "data-to-s3", "namespace": "app"},
            "spec": {"sourcePVC": "data", "trigger": {"schedule": "*/15 * * * *", "timeZone": "Europe/Berlin"},
                "rclone": {"rcloneConfig": "rclone-secret", "rcloneConfigSection": "minio",
                    "rcloneDestPath": "ferry-backups/data", "copyMethod": "Snapshot", "transfers": 8,
                    "exclude": ["*.tmp", "/cache/**"], "bandwidthLimit": "50M"}}}}})
}

struct Latency {
    p50: Duration,
    p99: Duration,
    sent: usize,
    errors: usize,
}

/// Open loop: a request is due every 1/RATE s whether or not earlier ones are done, and its
/// latency counts from when it was due, so a slow server cannot hide its queueing.
async fn open_loop(
    addr: &str,
    path: &str,
    body: Value,
    config: Arc<rustls::ClientConfig>,
) -> anyhow::Result<Latency> {
    let pool: Vec<Arc<Mutex<Connection>>> = {
        let mut pool = Vec::new();
        for _ in 0..32 {
            pool.push(Arc::new(Mutex::new(
                Connection::open(addr, "127.0.0.1", config.clone()).await?,
            )));
        }
        pool
    };
    let start = Instant::now();
    let total = RATE * RUN.as_secs();
    let mut tasks = Vec::with_capacity(usize::try_from(total)?);
    for i in 0..total {
        let due = start + Duration::from_nanos(i * 1_000_000_000 / RATE);
        tokio::time::sleep_until(due.into()).await;
        let conn = pool[usize::try_from(i)? % pool.len()].clone();
        let (body, path) = (body.clone(), path.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut conn = conn.lock().await;
            let ok = conn.review(&path, &body).await.is_ok();
            (due.elapsed(), ok)
        }));
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    let mut errors = 0;
    for task in tasks {
        let (latency, ok) = task.await?;
        errors += usize::from(!ok);
        latencies.push(latency);
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Ok(Latency {
        p50: at(0.50),
        p99: at(0.99),
        sent: latencies.len(),
        errors,
    })
}

/// Closed loop: CONCURRENCY connections send back to back for RUN; requests per second.
async fn throughput(
    addr: &str,
    path: &str,
    body: Value,
    config: Arc<rustls::ClientConfig>,
) -> anyhow::Result<f64> {
    let stop = Instant::now() + RUN;
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let mut conn = Connection::open(addr, "127.0.0.1", config.clone()).await?;
        let (body, path) = (body.clone(), path.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut done = 0u64;
            while Instant::now() < stop {
                if conn.review(&path, &body).await.is_ok() {
                    done += 1;
                }
            }
            done
        }));
    }
    let mut done = 0;
    for task in tasks {
        done += task.await?;
    }
    Ok(done as f64 / RUN.as_secs_f64())
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// Median and p99 of creating `count` opted-in pods through the apiserver.
async fn create_pods(
    client: &kube::Client,
    ns: &str,
    prefix: &str,
    count: usize,
) -> anyhow::Result<(Duration, Duration)> {
    use k8s_openapi::api::core::v1::Pod;
    let pods: kube::Api<Pod> = kube::Api::namespaced(client.clone(), ns);
    let mut latencies = Vec::with_capacity(count);
    for i in 0..count {
        let mut object = pod_review()["request"]["object"].clone();
        object["metadata"]["name"] = json!(format!("{prefix}-{i}"));
        object["metadata"]["namespace"] = json!(ns);
        if let Some(meta) = object["metadata"].as_object_mut() {
            meta.remove("ownerReferences");
            meta.remove("generateName");
        }
        let pod: Pod = serde_json::from_value(object)?;
        let started = Instant::now();
        pods.create(&kube::api::PostParams::default(), &pod).await?;
        latencies.push(started.elapsed());
    }
    latencies.sort();
    Ok((
        latencies[latencies.len() / 2],
        latencies[latencies.len() * 99 / 100],
    ))
}

/// Pod creation through the real apiserver without and with the webhook registered.
async fn apiserver_overhead(
    count: usize,
) -> anyhow::Result<((Duration, Duration), (Duration, Duration))> {
    use ferry_e2e::webhook::{ca_bundle, mutating_configuration};
    let cluster = ferry_e2e::Cluster::shared();
    let ns = ferry_e2e::TestNamespace::create(cluster, "bench", &[])?;
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
        &[],
        &[("KUBECONFIG", kubeconfig.as_str()), ("RUST_LOG", "warn")],
    )?;
    webhook.wait_ready(&ca.cert).await?;
    let client = cluster.client().await?;
    let without = create_pods(&client, &ns.name, "plain", count).await?;
    let name = format!("ferry-bench-{}", ns.name);
    let registration = mutating_configuration(
        &name,
        &ns.name,
        &format!("https://{}", webhook.addr),
        &ca_bundle(&[&ca.cert]),
    );
    cluster
        .kubectl_stdin(["apply", "-f", "-"], &registration.to_string())?
        .ok()?;
    // Wait until the apiserver calls the webhook, then measure.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let with = create_pods(&client, &ns.name, "injected", count).await?;
    let probe = cluster
        .kubectl([
            "get",
            "pod",
            "-n",
            ns.name.as_str(),
            &format!("injected-{}", count - 1),
            "-o",
            "jsonpath={.spec.initContainers[0].name}",
        ])?
        .ok()?;
    anyhow::ensure!(
        probe.stdout == "ferry-sidecar",
        "the webhook was not called during the measured run"
    );
    cluster
        .kubectl(["delete", "mutatingwebhookconfiguration", name.as_str()])?
        .ok()?;
    Ok((without, with))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (webhook, ca) = WebhookProcess::start_with_files(&["--floor-endpoint"])
        .context("starting ferry-webhook")?;
    webhook.wait_ready(&ca.cert).await?;
    let config = client_config(&[&ca.cert])?;
    // Warm up both paths (TLS sessions, allocator, caches).
    for path in ["/validate", "/mutate", "/allow"] {
        let mut conn = Connection::open(&webhook.addr, "127.0.0.1", config.clone()).await?;
        let body = if path == "/mutate" {
            pod_review()
        } else {
            review()
        };
        for _ in 0..500 {
            conn.review(path, &body).await?;
        }
    }
    let endpoints = [
        ("/validate", review()),
        ("/mutate", pod_review()),
        ("/allow", review()),
    ];
    let mut rows = Vec::new();
    for (path, body) in &endpoints {
        let latency = open_loop(&webhook.addr, path, body.clone(), config.clone()).await?;
        let rps = throughput(&webhook.addr, path, body.clone(), config.clone()).await?;
        rows.push((*path, latency, rps));
    }
    let (without, with) = apiserver_overhead(500).await?;

    println!(
        "ferry-webhook benchmark: keep-alive TLS 1.3 on loopback, {} build",
        if cfg!(debug_assertions) {
            "DEBUG (figures not comparable)"
        } else {
            "release"
        }
    );
    println!(
        "latency: open loop at {RATE} requests/s for {} s; throughput: {CONCURRENCY} connections, closed loop",
        RUN.as_secs()
    );
    println!();
    println!(
        "| endpoint | p50 | p99 | requests (errors) | max requests/s | p99 goal <= 2 ms | throughput vs floor |"
    );
    println!("|---|---|---|---|---|---|---|");
    let floor_rps = rows.last().map_or(1.0, |r| r.2);
    for (path, latency, rps) in &rows {
        let goal = if latency.p99 <= Duration::from_millis(2) {
            "met"
        } else {
            "MISSED"
        };
        println!(
            "| {path} | {} | {} | {} ({}) | {rps:.0} | {goal} | {:.2} |",
            ms(latency.p50),
            ms(latency.p99),
            latency.sent,
            latency.errors,
            rps / floor_rps
        );
    }
    println!();
    let added = with.0.saturating_sub(without.0);
    println!("pod create through the real apiserver, 500 each, one run:");
    println!("| webhook | median | p99 |");
    println!("|---|---|---|");
    println!("| not registered | {} | {} |", ms(without.0), ms(without.1));
    println!("| registered (/mutate) | {} | {} |", ms(with.0), ms(with.1));
    println!(
        "added to the median create: {} (goal <= 2 ms: {})",
        ms(added),
        if added <= Duration::from_millis(2) {
            "met"
        } else {
            "MISSED"
        }
    );
    Ok(())
}
