//! `make bench-fleet`: what a fleet of bound sidecars costs the apiserver and the S3 server.
//!
//! N agents (`ferry-agent run`, the sidecar's long-lived process, release build) run as local
//! processes against the test cluster, each bound to its own ReplicationSource with the env
//! the webhook would inject and a kubeconfig holding the ServiceAccount token a pod would
//! mount. Each has a pod object (never scheduled: a scheduling gate holds it) so it
//! reads its pod as a sidecar does, and a local directory as its volume (`copyMethod:
//! Direct`, a few small files). The apiserver is read as an operator reads it:
//! - its own `/metrics`: `apiserver_request_total` by verb and resource, and the storage
//!   layer's etcd requests by operation, over an idle window with no agent running (the
//!   cluster's own traffic) and one with the N agents bound and idle: the difference is theirs;
//! - its audit log (`tests/cluster/up`): the writes made with the fleet's ServiceAccount;
//!
//! both scaled to 1,000 CRs. Then every source is set to fire at the same minute, without
//! and with `jitter: 60s`: the apiserver's request rate during that minute, and the peaks of
//! S3 requests at MinIO (from its Prometheus metrics every 100 ms: requests in flight, which
//! short requests slip between, and requests served in one second) and of syncs running at
//! once (the agents' S3 engine processes). Last, the agents' total resident memory while idle.
//!
//! Defaults suit a shared two-core machine: 50 agents, 60 s idle windows.
//! `FERRY_FLEET_FULL=1` runs the size (200 agents, 5 idle minutes);
//! `FERRY_FLEET_N` and `FERRY_FLEET_IDLE_SECONDS` set each alone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use ferry_api::contract::env;
use ferry_e2e::audit;
use ferry_e2e::cluster::Cluster;
use ferry_e2e::namespace::TestNamespace;
use ferry_e2e::replication::s3::{Minio, SECTION};
use ferry_e2e::replication::{manifests, process};
use ferry_e2e::wait::eventually;
use kube::Api;
use kube::api::{DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

const SECRET: &str = "fleet-s3";
/// A schedule that does not fire during the run.
const IDLE_SCHEDULE: &str = "0 0 1 1 *";
/// The storage class of the benchmark's pre-bound volumes; no such class object exists, so
/// nothing provisions for it.
const STATIC_CLASS: &str = "bench-fleet-static";
/// The label on the benchmark's volumes (cluster-scoped, so the namespace's deletion does not
/// remove them): its value is the namespace.
const FLEET_LABEL: &str = "bench-fleet.ferry.dev/namespace";
/// The agents' metrics ports start here (one each, on 127.0.0.1).
const METRICS_BASE: u16 = 21_000;

struct Settings {
    agents: usize,
    idle: Duration,
}

impl Settings {
    fn from_env() -> anyhow::Result<Settings> {
        let full = std::env::var("FERRY_FLEET_FULL").is_ok_and(|v| v == "1");
        let number = |name: &str, default: u64| -> anyhow::Result<u64> {
            match std::env::var(name) {
                Ok(v) => v
                    .parse()
                    .with_context(|| format!("{name}={v:?} is not a whole number")),
                Err(_) => Ok(default),
            }
        };
        Ok(Settings {
            agents: usize::try_from(number("FERRY_FLEET_N", if full { 200 } else { 50 })?)?,
            idle: Duration::from_secs(number(
                "FERRY_FLEET_IDLE_SECONDS",
                if full { 300 } else { 60 },
            )?),
        })
    }
}

/// Counters of the apiserver's `/metrics`: requests by (verb, resource), etcd requests by
/// operation.
#[derive(Clone, Debug, Default)]
struct Counters {
    requests: BTreeMap<(String, String), f64>,
    etcd: BTreeMap<String, f64>,
}

/// The value of label `name` in a Prometheus sample's label set.
fn label<'a>(labels: &'a str, name: &str) -> &'a str {
    labels
        .split(',')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=\"")))
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or_default()
}

fn parse_metrics(text: &str) -> Counters {
    let mut out = Counters::default();
    for line in text.lines() {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        match name {
            "apiserver_request_total" => {
                let mut resource = label(labels, "resource").to_owned();
                let sub = label(labels, "subresource");
                if !sub.is_empty() {
                    resource = format!("{resource}/{sub}");
                }
                *out.requests
                    .entry((label(labels, "verb").to_owned(), resource))
                    .or_default() += value;
            }
            "etcd_request_duration_seconds_count" => {
                *out.etcd
                    .entry(label(labels, "operation").to_owned())
                    .or_default() += value;
            }
            _ => {}
        }
    }
    out
}

fn scrape(cluster: &Cluster) -> anyhow::Result<Counters> {
    let out = cluster.kubectl(["get", "--raw", "/metrics"])?;
    ensure!(out.success, "kubectl get --raw /metrics: {}", out.stderr);
    Ok(parse_metrics(&out.stdout))
}

/// Per-second rates of the counters that grew from `x` to `y`.
fn diff<K: Ord + Clone>(
    x: &BTreeMap<K, f64>,
    y: &BTreeMap<K, f64>,
    seconds: f64,
) -> BTreeMap<K, f64> {
    y.iter()
        .map(|(k, v)| (k.clone(), (v - x.get(k).copied().unwrap_or(0.0)) / seconds))
        .filter(|(_, r)| *r > 0.0)
        .collect()
}

/// Per-second rates between two scrapes.
fn rates(a: &Counters, b: &Counters, seconds: f64) -> Counters {
    Counters {
        requests: diff(&a.requests, &b.requests, seconds),
        etcd: diff(&a.etcd, &b.etcd, seconds),
    }
}

fn is_write_verb(verb: &str) -> bool {
    matches!(
        verb,
        "POST" | "PUT" | "PATCH" | "DELETE" | "APPLY" | "DELETECOLLECTION"
    )
}

fn is_write_op(op: &str) -> bool {
    matches!(op, "create" | "update" | "delete" | "GuaranteedUpdate")
}

fn write_rate(c: &Counters) -> f64 {
    c.requests
        .iter()
        .filter(|((verb, _), _)| is_write_verb(verb))
        .map(|(_, r)| r)
        .sum()
}

fn etcd_write_rate(c: &Counters) -> f64 {
    c.etcd
        .iter()
        .filter(|(op, _)| is_write_op(op))
        .map(|(_, r)| r)
        .sum()
}

/// Measures the apiserver over `window`.
async fn window(cluster: &Cluster, window: Duration) -> anyhow::Result<Counters> {
    let a = scrape(cluster)?;
    let start = Instant::now();
    tokio::time::sleep(window).await;
    let b = scrape(cluster)?;
    Ok(rates(&a, &b, start.elapsed().as_secs_f64()))
}

fn print_rates(title: &str, c: &Counters, baseline: Option<&Counters>) {
    println!(
        "\n{title}: requests/s by verb and resource (total {:.2}/s, writes {:.2}/s; etcd writes {:.2}/s)",
        c.requests.values().sum::<f64>(),
        write_rate(c),
        etcd_write_rate(c)
    );
    for ((verb, resource), rate) in &c.requests {
        let base = baseline
            .and_then(|b| b.requests.get(&(verb.clone(), resource.clone())))
            .copied()
            .unwrap_or(0.0);
        if *rate >= 0.01 || base >= 0.01 {
            println!("  {verb:<8} {resource:<45} {rate:>8.2}/s   (no agents: {base:.2}/s)");
        }
    }
}

/// The pod an agent reads as its own: never scheduled. A scheduling gate keeps it out of
/// the scheduler altogether (a node selector no node matches would have the scheduler retry
/// it and patch its FailedScheduling Event, writes the apiserver would count).
fn pod(name: &str, claim: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "fleet"}},
        "spec": {"schedulingGates": [{"name": "ferry.dev/bench-fleet"}],
            "containers": [{"name": "app", "image": manifests::APP_IMAGE, "command": manifests::APP_COMMAND,
                "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]}})
}

/// A kubeconfig for the ServiceAccount `default` of `ns`, as its token a pod mounts.
fn kubeconfig(cluster: &Cluster, ns: &str, dir: &Path) -> anyhow::Result<PathBuf> {
    let token = cluster.kubectl(["create", "token", "default", "-n", ns, "--duration=2h"])?;
    ensure!(token.success, "kubectl create token: {}", token.stderr);
    let config = json!({"apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": cluster.var("FERRY_API_SERVER")?,
            "certificate-authority": cluster.var("FERRY_CLUSTER_CA_CERT")?}}],
        "users": [{"name": "u", "user": {"token": token.stdout.trim()}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u", "namespace": ns}}],
        "current-context": "c"});
    let path = dir.join("kubeconfig");
    std::fs::write(&path, config.to_string())?;
    Ok(path)
}

/// The agents, killed on drop.
struct Agents(Vec<Child>);

impl Drop for Agents {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Agents {
    /// Their total resident memory (VmRSS), in bytes.
    fn rss(&self) -> u64 {
        self.0
            .iter()
            .filter_map(|c| std::fs::read_to_string(format!("/proc/{}/status", c.id())).ok())
            .filter_map(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
            .sum::<u64>()
            * 1024
    }
}

/// MinIO's S3 requests now: in flight (`minio_api_requests_inflight_total`, absent when
/// none) and served so far (`minio_api_requests_total`), from its v3 API metrics. The v2
/// node metrics' in-flight gauge read 0 in every sample of a full run, and in a test while
/// 40 clients sent requests without pause, where v3's showed them.
async fn s3_requests(http: &reqwest_lite::Client, endpoint: &str) -> anyhow::Result<(f64, f64)> {
    let text = http
        .get(&format!("{endpoint}/minio/metrics/v3/api/requests"))
        .await?;
    let sum = |name: &str| -> f64 {
        text.lines()
            .filter(|l| l.starts_with(&format!("{name}{{")))
            .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
            .sum()
    };
    Ok((
        sum("minio_api_requests_inflight_total"),
        sum("minio_api_requests_total"),
    ))
}

/// The peaks of one firing minute at MinIO and on this machine.
#[derive(Debug, Default)]
struct Peaks {
    /// S3 requests in flight at one sample (100 ms apart; short requests slip between).
    inflight: f64,
    /// S3 requests served per second, the most over any pair of samples 1-2 s apart (the
    /// counter's difference divided by their distance). A longer gap between samples, when
    /// the sampler fell behind or MinIO's metrics did not answer, is left out rather than
    /// read as one second: that is how a whole window's requests once showed as a peak of
    /// 23,556/s.
    per_second: f64,
    /// Samples of MinIO's metrics that failed.
    failed: usize,
    /// The longest time between two successful samples.
    gap: Duration,
    /// Syncs running at once: the agents' S3 engine processes.
    syncs: usize,
}

/// The rate of the newest sample of a counter against the newest one at least 1 s and at
/// most 2 s before it (0 when there is none).
fn per_second(samples: &[(Instant, f64)]) -> f64 {
    let Some((now, total)) = samples.last() else {
        return 0.0;
    };
    samples
        .iter()
        .rev()
        .map(|(t, before)| (now.duration_since(*t), total - before))
        .find(|(span, _)| *span >= Duration::from_secs(1))
        .filter(|(span, _)| *span <= Duration::from_secs(2))
        .map_or(0.0, |(span, served)| served / span.as_secs_f64())
}

/// A minimal HTTP/1.1 GET over TCP (MinIO's metrics on loopback), to keep the benchmark's
/// dependencies those of the tests.
mod reqwest_lite {
    use anyhow::{Context, bail};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    pub struct Client;

    impl Client {
        pub async fn get(&self, url: &str) -> anyhow::Result<String> {
            let rest = url
                .strip_prefix("http://")
                .with_context(|| format!("{url} is not http://"))?;
            let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
            let mut stream = tokio::net::TcpStream::connect(host).await?;
            stream
                .write_all(
                    format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
                        .as_bytes(),
                )
                .await?;
            let mut body = Vec::new();
            stream.read_to_end(&mut body).await?;
            let text = String::from_utf8_lossy(&body).into_owned();
            let Some((head, body)) = text.split_once("\r\n\r\n") else {
                bail!("no HTTP answer from {url}");
            };
            if !head.starts_with("HTTP/1.1 200") {
                bail!("{url}: {}", head.lines().next().unwrap_or_default());
            }
            Ok(body.to_owned())
        }
    }
}

/// Sets every source's trigger, then samples MinIO's requests in flight from the next
/// minute on for `span`; returns the peak and the apiserver's rates over that span.
async fn fire(
    cluster: &Cluster,
    crs: &Api<DynamicObject>,
    names: &[String],
    trigger: &Value,
    minio: &str,
    ns: &str,
    span: Duration,
) -> anyhow::Result<(Peaks, Counters)> {
    for name in names {
        crs.patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"trigger": trigger}})),
        )
        .await?;
    }
    // Start just before the next minute.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
    let to_minute = 60 - now.as_secs() % 60;
    tokio::time::sleep(Duration::from_secs(to_minute.saturating_sub(2))).await;
    let http = reqwest_lite::Client;
    let a = scrape(cluster)?;
    let start = Instant::now();
    let mut peaks = Peaks::default();
    let mut served: Vec<(Instant, f64)> = Vec::new();
    while start.elapsed() < span {
        match s3_requests(&http, minio).await {
            Ok((inflight, total)) => {
                peaks.inflight = peaks.inflight.max(inflight);
                let now = Instant::now();
                if let Some((last, _)) = served.last() {
                    peaks.gap = peaks.gap.max(now.duration_since(*last));
                }
                served.push((now, total));
                peaks.per_second = peaks.per_second.max(per_second(&served));
            }
            Err(_) => peaks.failed += 1,
        }
        peaks.syncs = peaks.syncs.max(process::pods_running(ns, "engine").len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let b = scrape(cluster)?;
    // Back to idle before the next phase.
    for name in names {
        crs.patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(
                json!({"spec": {"trigger": {"schedule": IDLE_SCHEDULE, "jitter": null}}}),
            ),
        )
        .await?;
    }
    Ok((peaks, rates(&a, &b, start.elapsed().as_secs_f64())))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    let n = settings.agents;
    let cluster = Cluster::shared();
    ferry_e2e::ferry::installed(cluster)?;
    let client = cluster.client().await?;
    let exe = std::env::current_exe()?;
    let bin = exe.parent().context("no directory")?;
    let agent = bin.join("ferry-agent");
    ensure!(
        agent.is_file() && bin.join("ferry-sidecar").is_file(),
        "no ferry-agent and ferry-sidecar beside {}: make bench-fleet builds them",
        exe.display()
    );
    // Deleted when the benchmark ends.
    let namespace = TestNamespace::create(cluster, "fleet", &[])?;
    let ns = namespace.name.clone();
    let dir = tempfile::tempdir()?;
    let minio = Minio::new(cluster)?;
    let bucket = minio.bucket("fleet").await?;

    let dynamic = |object: &Value| -> anyhow::Result<(Api<DynamicObject>, DynamicObject)> {
        let (group, version) = match object["apiVersion"]
            .as_str()
            .unwrap_or("v1")
            .split_once('/')
        {
            Some((g, v)) => (g.to_owned(), v.to_owned()),
            None => (String::new(), "v1".to_owned()),
        };
        let kind = object["kind"].as_str().unwrap_or_default();
        let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(&group, &version, kind));
        Ok((
            Api::namespaced_with(client.clone(), &ns, &resource),
            serde_json::from_value(object.clone())?,
        ))
    };
    let create = |object: Value| async move {
        let (api, object) = dynamic(&object)?;
        api.create(&PostParams::default(), &object).await?;
        anyhow::Ok(())
    };
    create(manifests::sidecar_binding(&ns, "default")).await?;
    // The agents reach MinIO from this machine.
    let conf = format!(
        "[{SECTION}]\ntype = s3\nprovider = Minio\naccess_key_id = {}\nsecret_access_key = {}\nendpoint = {}\nforce_path_style = true\n",
        cluster.var("MINIO_ACCESS_KEY")?,
        cluster.var("MINIO_SECRET_KEY")?,
        minio.endpoint
    );
    create(manifests::rclone_secret(SECRET, &conf)).await?;
    let names: Vec<String> = (0..n).map(|i| format!("fleet-{i:04}")).collect();
    println!(
        "bench-fleet: {n} agents in {ns}, idle windows of {:?}",
        settings.idle
    );

    // The cluster's own traffic, before any agent runs.
    let baseline = window(cluster, settings.idle).await?;

    let kubeconfig = kubeconfig(cluster, &ns, dir.path())?;
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(client.clone(), &ns);
    let volumes: Api<k8s_openapi::api::core::v1::PersistentVolume> = Api::all(client.clone());
    // Volumes of an earlier run that ended before its clean-up.
    let stale = kube::api::ListParams::default().labels(FLEET_LABEL);
    volumes
        .delete_collection(&kube::api::DeleteParams::default(), &stale)
        .await?;
    let mut children = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let volume = dir.path().join(name);
        std::fs::create_dir_all(&volume)?;
        for f in 0..4 {
            std::fs::write(
                volume.join(format!("f{f}.txt")),
                format!("{name} {f}\n").repeat(64),
            )?;
        }
        // The claim the source names: it must exist, and is bound to a volume of its own
        // made here, which nothing mounts (the agent reads the local directory). A claim
        // left pending would have the PV controller write an Event for it every 15 s
        // (13 writes/s for 200 claims), which the idle window would count as the fleet's.
        let volume_name = format!("{ns}-{name}");
        volumes
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({
                    "apiVersion": "v1", "kind": "PersistentVolume",
                    "metadata": {"name": volume_name, "labels": {FLEET_LABEL: ns}},
                    "spec": {
                        "capacity": {"storage": "1Gi"},
                        "accessModes": ["ReadWriteOnce"],
                        "persistentVolumeReclaimPolicy": "Retain",
                        "storageClassName": STATIC_CLASS,
                        "hostPath": {"path": volume},
                        "claimRef": {"namespace": ns, "name": name},
                    },
                }))?,
            )
            .await?;
        let mut claim = manifests::claim(name, "1Gi");
        claim["spec"]["storageClassName"] = json!(STATIC_CLASS);
        claim["spec"]["volumeName"] = json!(volume_name);
        create(claim).await?;
        create(manifests::rclone_source(
            name,
            name,
            SECRET,
            &format!("{bucket}/{name}"),
            "Direct",
            Some(json!({"schedule": IDLE_SCHEDULE})),
        ))
        .await?;
        create(pod(name, name)).await?;
        let uid = pods
            .get(name)
            .await?
            .metadata
            .uid
            .context("a pod without UID")?;
        let scratch = dir.path().join(format!("{name}.scratch"));
        let port = METRICS_BASE + u16::try_from(i)?;
        let log = std::fs::File::create(dir.path().join(format!("{name}.log")))?;
        let child = Command::new(&agent)
            .arg("run")
            .env("KUBECONFIG", &kubeconfig)
            .env(env::POD_NAME, name)
            .env(env::POD_NAMESPACE, &ns)
            .env(env::POD_UID, &uid)
            .env(env::POD_IP, "127.0.0.1")
            .env(env::SERVICE_ACCOUNT, "default")
            .env(env::FERRY_ROLE, "source")
            .env(env::FERRY_OBJECT, name)
            .env(env::FERRY_VOLUME, "data")
            .env(env::FERRY_VOLUME_PATH, &volume)
            .env(env::FERRY_METRICS_PORT, port.to_string())
            .env(env::FERRY_SCRATCH_DIR, &scratch)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", agent.display()))?;
        children.push(child);
    }
    let agents = Agents(children);
    let crs: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        &ns,
        &ApiResource::from_gvk(&GroupVersionKind::gvk(
            ferry_api::GROUP,
            ferry_api::VERSION,
            "ReplicationSource",
        )),
    );
    let started = Instant::now();
    eventually(
        Duration::from_secs(60 + 2 * n as u64),
        &format!("{n} sources bound"),
        || async {
            let list = crs.list(&Default::default()).await?;
            let bound = list
                .items
                .iter()
                .filter(|o| {
                    o.data["status"]["boundPod"].as_str() == o.metadata.name.as_deref()
                        && o.data["status"]["nextSyncTime"].is_string()
                })
                .count();
            Ok((bound == n).then_some(()))
        },
    )
    .await
    .with_context(|| format!("agents' logs in {}", dir.path().display()))?;
    println!(
        "{n} sources bound in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // The PV controller binds the pre-bound claims at its own pace (four writes each); a
    // window that starts before it is done counts its writes over the baseline (2.8/s for
    // 200 claims in one full run).
    let claims: Api<k8s_openapi::api::core::v1::PersistentVolumeClaim> =
        Api::namespaced(client.clone(), &ns);
    let ours = kube::api::ListParams::default().labels(&format!("{FLEET_LABEL}={ns}"));
    let started = Instant::now();
    eventually(
        Duration::from_secs(300 + n as u64),
        &format!("{n} claims and their volumes bound"),
        || async {
            let phase = |s: Option<&str>| s == Some("Bound");
            let claims = claims.list(&Default::default()).await?;
            let volumes = volumes.list(&ours).await?;
            let bound = claims
                .items
                .iter()
                .filter(|c| phase(c.status.as_ref().and_then(|s| s.phase.as_deref())))
                .count()
                + volumes
                    .items
                    .iter()
                    .filter(|v| phase(v.status.as_ref().and_then(|s| s.phase.as_deref())))
                    .count();
            Ok((bound == 2 * n).then_some(()))
        },
    )
    .await?;
    println!(
        "{n} claims and their volumes bound {:.1} s later",
        started.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(10)).await;

    // Idle: the apiserver's own counters and the audit log's writes by the fleet's account.
    let rss = agents.rss();
    let from = k8s_openapi::jiff::Timestamp::now();
    let idle = window(cluster, settings.idle).await?;
    let to = k8s_openapi::jiff::Timestamp::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let user = audit::service_account(&ns, "default");
    let all_writes = audit::writes(cluster, |w| w.at >= from && w.at <= to)?;
    let fleet_writes: Vec<&audit::Write> = all_writes.iter().filter(|w| w.user == user).collect();
    let seconds = to.duration_since(from).as_secs_f64();
    print_rates("idle, no agents", &baseline, None);
    print_rates(&format!("idle, {n} agents bound"), &idle, Some(&baseline));
    let scale = 1000.0 / n as f64;
    let metric_writes = (write_rate(&idle) - write_rate(&baseline)).max(0.0);
    let audit_rate = fleet_writes.len() as f64 / seconds;
    println!(
        "\nidle writes of the fleet: {} in {seconds:.0} s by {user} (audit log) = {audit_rate:.3}/s; scaled to 1,000 CRs: {:.3} writes/s (goal <= 1/s)",
        fleet_writes.len(),
        audit_rate * scale
    );
    // Who wrote in the window, so a rate over the baseline can be laid at its author's door.
    let mut writers: std::collections::BTreeMap<(&str, &str), usize> = Default::default();
    for w in &all_writes {
        *writers.entry((&w.user, &w.resource)).or_default() += 1;
    }
    let mut writers: Vec<_> = writers.into_iter().collect();
    writers.sort_by_key(|w| std::cmp::Reverse(w.1));
    println!("writes in the idle window by user and resource (audit log):");
    for ((who, resource), count) in writers.iter().take(8) {
        println!("  {count:>6}  {resource:<32} {who}");
    }
    println!(
        "idle apiserver writes over the no-agent baseline (/metrics): {metric_writes:.3}/s; scaled to 1,000 CRs: {:.3}/s; etcd writes {:.3}/s vs {:.3}/s without agents",
        metric_writes * scale,
        etcd_write_rate(&idle),
        etcd_write_rate(&baseline)
    );
    println!(
        "agents' resident memory while idle: {:.1} MiB in total, {:.2} MiB each",
        rss as f64 / 1_048_576.0,
        rss as f64 / 1_048_576.0 / n as f64
    );

    // All at one minute, without and with jitter.
    let span = Duration::from_secs(75);
    let (peak_plain, plain) = fire(
        cluster,
        &crs,
        &names,
        &json!({"schedule": "* * * * *"}),
        &minio.endpoint,
        &ns,
        span,
    )
    .await?;
    let (peak_jitter, jittered) = fire(
        cluster,
        &crs,
        &names,
        &json!({"schedule": "* * * * *", "jitter": "60s"}),
        &minio.endpoint,
        &ns,
        span,
    )
    .await?;
    print_rates(
        "all firing at one minute, no jitter",
        &plain,
        Some(&baseline),
    );
    print_rates(
        "all firing at one minute, jitter 60s",
        &jittered,
        Some(&baseline),
    );
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
    println!("\nall {n} at one minute:            no jitter   jitter 60s   ratio");
    println!(
        "  S3 requests in flight (peak)    {:>9.0}   {:>10.0}   {:.2}",
        peak_plain.inflight,
        peak_jitter.inflight,
        ratio(peak_plain.inflight, peak_jitter.inflight)
    );
    println!(
        "  S3 requests in 1 s (peak)       {:>9.0}   {:>10.0}   {:.2}",
        peak_plain.per_second,
        peak_jitter.per_second,
        ratio(peak_plain.per_second, peak_jitter.per_second)
    );
    println!(
        "  (MinIO metrics samples: {} and {} failed; longest gap {:.1} s and {:.1} s)",
        peak_plain.failed,
        peak_jitter.failed,
        peak_plain.gap.as_secs_f64(),
        peak_jitter.gap.as_secs_f64()
    );
    println!(
        "  syncs running at once (peak)    {:>9}   {:>10}   {:.2}",
        peak_plain.syncs,
        peak_jitter.syncs,
        ratio(peak_plain.syncs as f64, peak_jitter.syncs as f64)
    );
    println!(
        "  apiserver writes/s              {:>9.2}   {:>10.2}",
        write_rate(&plain),
        write_rate(&jittered)
    );
    if audit_rate * scale > 1.0 {
        bail!("the fleet's idle writes scaled to 1,000 CRs exceed 1/s");
    }
    drop(agents);
    volumes
        .delete_collection(&kube::api::DeleteParams::default(), &ours)
        .await?;
    Ok(())
}
