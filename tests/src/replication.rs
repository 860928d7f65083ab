//! Support for the end-to-end tests of the sidecar at work (issue 10): a [`Replication`]
//! fixture that installs Ferry's chart with the images built here ([`crate::ferry`]: the
//! webhook as its Deployment on the node, the sidecars as containers of the pods), creates the user's objects (claims, Secrets, CRs, opted-in pods and
//! Deployments), waits for what the user would wait for (a manual sync to finish, a condition,
//! an Event, a snapshot to be ready, a pod to run), and reads the truth back: status, Events,
//! metrics, the bytes in MinIO and in restored volumes.
//!
//! When a test fails the fixture prints, through the test's captured output, the container
//! logs (`kubectl logs`), the Events and the CRs of its namespaces, and the webhook's log.

pub mod diagnostics;
pub mod listing;
pub mod manifests;
pub mod observe;
pub mod process;
pub mod s3;
pub mod scenario;
pub mod tree;
pub mod watch;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

use crate::cluster::Cluster;
use crate::local::volume_dir;
use crate::namespace::TestNamespace;
use crate::wait::eventually;

pub use listing::Listing;
pub use manifests::Role;
pub use observe::{EventRecord, Metrics};
pub use s3::Minio;
pub use scenario::RsyncDestination;
pub use tree::{Compare, Tree};
pub use watch::TemporaryLog;

/// How long a test waits for the cluster to settle (a pod to run, a claim to bind).
pub const LIMIT: Duration = Duration::from_secs(90);
/// How long a test waits for a sync to finish or fail.
pub const SYNC_LIMIT: Duration = Duration::from_secs(180);
/// How long a test waits for a sync that moves a bulk tree (10,000 files, or 1 GiB) through
/// the debug-built sidecar: about a minute on a quiet 2-core machine, but several times that
/// while other builds and tests share the cores. It still ends a sync that hangs.
pub const BULK_SYNC_LIMIT: Duration = Duration::from_secs(600);
/// The label on temporary objects: the UID of the CR whose sync made them.
pub const TEMPORARY_LABEL: &str = "ferry.dev/temporary-for";
/// The label on a destination's published snapshots: the UID of the ReplicationDestination.
pub const IMAGE_LABEL: &str = "ferry.dev/image-of";
/// The label on mover pods.
pub const MOVER_LABEL: &str = ferry_api::annotations::MOVER_LABEL;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// One test's replication setup: the namespaces made for the test (deleted on drop, after a
/// failing test's diagnostics are printed), seen by the chart's webhook.
pub struct Replication {
    /// The shared control plane.
    pub cluster: &'static Cluster,
    /// An admin client.
    pub client: kube::Client,
    /// The cluster's MinIO.
    pub minio: Minio,
    selector: String,
    namespaces: Mutex<Vec<TestNamespace>>,
    passed: AtomicBool,
}

impl Replication {
    /// Installs Ferry's chart with this build's images (once per test executable).
    pub async fn start(prefix: &str) -> anyhow::Result<Self> {
        let cluster = Cluster::shared();
        crate::ferry::installed(cluster)?;
        let client = cluster.client().await?;
        let minio = Minio::new(cluster)?;
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut selector = format!("repl-{prefix}-{}-{n}", std::process::id());
        selector.truncate(63);
        Ok(Self {
            cluster,
            client,
            minio,
            selector,
            namespaces: Mutex::new(Vec::new()),
            passed: AtomicBool::new(false),
        })
    }

    /// Makes a namespace for the test, enforcing restricted Pod Security, seen by the
    /// chart's webhook, with the sidecar's RoleBinding for the `default` service account
    /// unless `bind_sidecar` is false. Returns its name once the webhook injects there.
    pub async fn namespace(&self, prefix: &str, bind_sidecar: bool) -> anyhow::Result<String> {
        let ns = TestNamespace::create(
            self.cluster,
            prefix,
            &[
                (crate::ferry::NAMESPACE_LABEL, self.selector.as_str()),
                ("pod-security.kubernetes.io/enforce", "restricted"),
            ],
        )?;
        let name = ns.name.clone();
        self.namespaces
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(ns);
        if bind_sidecar {
            self.create(&name, &manifests::sidecar_binding(&name, "default"))
                .await?;
        }
        // The apiserver picks up webhook configurations and namespace labels asynchronously.
        let probe = manifests::pod(
            "probe",
            &manifests::pod_template("probe", Role::Source, "probe", "data"),
        );
        eventually(
            LIMIT,
            &format!("the webhook to inject in {name}"),
            || async {
                let out = self.dry_run(&name, &probe)?;
                Ok((out.success && out.stdout.contains("ferry-sidecar")).then_some(()))
            },
        )
        .await?;
        Ok(name)
    }

    /// Creates `object` in `ns` as a server-side dry run (admission and defaults, nothing
    /// stored), returning what `kubectl create -o json` printed.
    pub fn dry_run(&self, ns: &str, object: &Value) -> anyhow::Result<crate::Output> {
        self.cluster.dry_run(ns, object)
    }

    /// Creates `object` (any kind, JSON) in `ns`.
    pub async fn create(&self, ns: &str, object: &Value) -> anyhow::Result<()> {
        let (api, kind) = self.dynamic(ns, object)?;
        let dynamic: DynamicObject = serde_json::from_value(object.clone())?;
        api.create(&PostParams::default(), &dynamic)
            .await
            .with_context(|| {
                format!(
                    "creating {kind} {} in {ns}",
                    object["metadata"]["name"].as_str().unwrap_or_default()
                )
            })?;
        Ok(())
    }

    /// Creates an opted-in workload (a Pod or a Deployment) once the webhook knows its CR,
    /// so the sidecar gets the CR's Secrets mounted.
    pub async fn create_workload(&self, ns: &str, workload: &Value) -> anyhow::Result<()> {
        let template = if workload["kind"] == "Pod" {
            workload.clone()
        } else {
            workload["spec"]["template"].clone()
        };
        let probe = manifests::pod("probe", &template);
        eventually(LIMIT, "the webhook to see the CR", || async {
            let out = self.dry_run(ns, &probe)?;
            Ok((out.success
                && out.stdout.contains("ferry-sidecar")
                && !out.stderr.contains("does not exist yet"))
            .then_some(()))
        })
        .await?;
        self.create(ns, workload).await
    }

    fn dynamic(&self, ns: &str, object: &Value) -> anyhow::Result<(Api<DynamicObject>, String)> {
        let kind = object["kind"]
            .as_str()
            .with_context(|| format!("no kind in {object}"))?
            .to_owned();
        let (group, version) = match object["apiVersion"]
            .as_str()
            .unwrap_or("v1")
            .split_once('/')
        {
            Some((g, v)) => (g.to_owned(), v.to_owned()),
            None => (String::new(), "v1".to_owned()),
        };
        let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(&group, &version, &kind));
        Ok((
            Api::namespaced_with(self.client.clone(), ns, &resource),
            kind,
        ))
    }

    /// The API of a CR kind in `ns`.
    pub fn crs(&self, role: Role, ns: &str) -> Api<DynamicObject> {
        let gvk = GroupVersionKind::gvk(ferry_api::GROUP, ferry_api::VERSION, role.kind());
        Api::namespaced_with(self.client.clone(), ns, &ApiResource::from_gvk(&gvk))
    }

    /// The API of a snapshot.storage.k8s.io kind in `ns`.
    pub fn snapshots(&self, ns: &str) -> Api<DynamicObject> {
        let gvk = GroupVersionKind::gvk("snapshot.storage.k8s.io", "v1", "VolumeSnapshot");
        Api::namespaced_with(self.client.clone(), ns, &ApiResource::from_gvk(&gvk))
    }

    /// A CR as JSON.
    pub async fn cr(&self, role: Role, ns: &str, name: &str) -> anyhow::Result<Value> {
        let object = self
            .crs(role, ns)
            .get(name)
            .await
            .with_context(|| format!("getting {} {ns}/{name}", role.kind()))?;
        Ok(serde_json::to_value(object)?)
    }

    /// A CR's status (`null` before the sidecar wrote one).
    pub async fn status(&self, role: Role, ns: &str, name: &str) -> anyhow::Result<Value> {
        Ok(self.cr(role, ns, name).await?["status"].clone())
    }

    /// A CR's UID, the value of [`TEMPORARY_LABEL`] and [`IMAGE_LABEL`].
    pub async fn uid(&self, role: Role, ns: &str, name: &str) -> anyhow::Result<String> {
        self.cr(role, ns, name).await?["metadata"]["uid"]
            .as_str()
            .map(str::to_owned)
            .context("no uid")
    }

    /// Merge-patches a CR (e.g. `{"spec": {"paused": false}}`).
    pub async fn patch(
        &self,
        role: Role,
        ns: &str,
        name: &str,
        patch: Value,
    ) -> anyhow::Result<()> {
        self.crs(role, ns)
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .with_context(|| format!("patching {} {ns}/{name} with {patch}", role.kind()))?;
        Ok(())
    }

    /// Sets `spec.trigger.manual` to `token`.
    pub async fn trigger(
        &self,
        role: Role,
        ns: &str,
        name: &str,
        token: &str,
    ) -> anyhow::Result<()> {
        self.patch(
            role,
            ns,
            name,
            json!({"spec": {"trigger": {"manual": token}}}),
        )
        .await
    }

    /// Polls the CR's status until `check` returns `Some`, for at most `limit`; the error
    /// shows the last status.
    pub async fn wait_status<T, F>(
        &self,
        role: Role,
        ns: &str,
        name: &str,
        what: &str,
        limit: Duration,
        mut check: F,
    ) -> anyhow::Result<T>
    where
        F: FnMut(&Value) -> Option<T>,
    {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let status = self.status(role, ns, name).await?;
            if let Some(found) = check(&status) {
                return Ok(found);
            }
            if tokio::time::Instant::now() > deadline {
                bail!(
                    "timed out after {limit:?} waiting for {what} ({} {ns}/{name}); last status:\n{status:#}",
                    role.kind()
                );
            }
            tokio::time::sleep(crate::wait::POLL).await;
        }
    }

    /// Waits until `status.lastManualSync` is `token` and returns the status. Fails as soon
    /// as a sync that started after this call fails (condition `Synchronizing` turned False
    /// with reason `Error` or a guard's): a test that expects a sync to succeed does not wait out the
    /// retries.
    pub async fn wait_manual(
        &self,
        role: Role,
        ns: &str,
        name: &str,
        token: &str,
    ) -> anyhow::Result<Value> {
        self.wait_manual_within(role, ns, name, token, SYNC_LIMIT)
            .await
    }

    /// [`Replication::wait_manual`] with another limit ([`BULK_SYNC_LIMIT`] for bulk trees).
    pub async fn wait_manual_within(
        &self,
        role: Role,
        ns: &str,
        name: &str,
        token: &str,
        limit: Duration,
    ) -> anyhow::Result<Value> {
        // Condition times have whole seconds.
        let since = k8s_openapi::jiff::Timestamp::from_second(
            k8s_openapi::jiff::Timestamp::now().as_second(),
        )?;
        let outcome = self
            .wait_status(
                role,
                ns,
                name,
                &format!("the manual sync {token:?} to finish"),
                limit,
                |s| {
                    if s["lastManualSync"] == token {
                        return Some(Ok(s.clone()));
                    }
                    // A failure has the reason `Error` or a more precise one (`SourceEmpty`,
                    // `SourceUnreadable`, ...): anything but a waiting or running state.
                    let failed = observe::condition(s, "Synchronizing").is_some_and(|c| {
                        c["status"] == "False"
                            && !matches!(
                                c["reason"].as_str(),
                                Some("WaitingForSchedule" | "WaitingForManual" | "Paused")
                            )
                            && observe::time(&c["lastTransitionTime"]).is_some_and(|t| t >= since)
                    });
                    failed.then(|| Err(s.clone()))
                },
            )
            .await?;
        outcome.map_err(|status| {
            anyhow!(
                "the manual sync {token:?} of {} {ns}/{name} failed; status:\n{status:#}",
                role.kind()
            )
        })
    }

    /// Waits until the condition `Synchronizing` is False with reason `reason`; returns the
    /// status.
    pub async fn wait_synchronizing(
        &self,
        role: Role,
        ns: &str,
        name: &str,
        value: &str,
        reason: &str,
    ) -> anyhow::Result<Value> {
        self.wait_status(
            role,
            ns,
            name,
            &format!("condition Synchronizing={value} reason {reason}"),
            SYNC_LIMIT,
            |s| observe::condition_is(s, "Synchronizing", value, reason).then(|| s.clone()),
        )
        .await
    }

    /// The Events on a CR.
    pub async fn events(
        &self,
        role: Role,
        ns: &str,
        name: &str,
    ) -> anyhow::Result<Vec<EventRecord>> {
        observe::events_of(&self.client, ns, role.kind(), name).await
    }

    /// Waits for an Event with `reason` on a CR and returns it.
    pub async fn wait_event(
        &self,
        role: Role,
        ns: &str,
        name: &str,
        reason: &str,
    ) -> anyhow::Result<EventRecord> {
        let last = Mutex::new(Vec::new());
        let found = eventually(LIMIT, &format!("an Event {reason}"), || async {
            let events = self.events(role, ns, name).await?;
            let found = events.iter().find(|e| e.reason == reason).cloned();
            *last.lock().unwrap_or_else(PoisonError::into_inner) = events;
            Ok(found)
        })
        .await;
        found.map_err(|err| {
            let last = last.into_inner().unwrap_or_else(PoisonError::into_inner);
            anyhow!(
                "{err:#} on {} {ns}/{name}; its events:\n{}",
                role.kind(),
                observe::describe(&last)
            )
        })
    }

    /// Waits until the Events on a CR stand for at least `count` occurrences of each
    /// `(reason, count)` (Events are posted asynchronously, after the status may already
    /// show the sync); returns them so a test can check exact counts.
    pub async fn wait_occurrences(
        &self,
        role: Role,
        ns: &str,
        name: &str,
        want: &[(&str, i64)],
    ) -> anyhow::Result<Vec<EventRecord>> {
        let last = Mutex::new(Vec::new());
        let found = eventually(LIMIT, &format!("Events {want:?}"), || async {
            let events = self.events(role, ns, name).await?;
            let enough = want
                .iter()
                .all(|(reason, n)| observe::occurrences(&events, reason) >= *n);
            *last.lock().unwrap_or_else(PoisonError::into_inner) = events.clone();
            Ok(enough.then_some(events))
        })
        .await;
        found.map_err(|err| {
            let last = last.into_inner().unwrap_or_else(PoisonError::into_inner);
            anyhow!(
                "{err:#} on {} {ns}/{name}; its events:\n{}",
                role.kind(),
                observe::describe(&last)
            )
        })
    }

    /// Creates claim `name` and returns its volume's directory once it is Bound.
    pub async fn volume(&self, ns: &str, name: &str) -> anyhow::Result<PathBuf> {
        self.create(ns, &manifests::claim(name, "1Gi")).await?;
        volume_dir(self.cluster, &self.client, ns, name, LIMIT).await
    }

    /// Creates a Secret `name` with an rclone.conf for the cluster's MinIO.
    pub async fn rclone_secret(&self, ns: &str, name: &str) -> anyhow::Result<()> {
        self.create(
            ns,
            &manifests::rclone_secret(name, &self.minio.rclone_conf()),
        )
        .await
    }

    /// Restores `snapshot` into a new claim `name` and returns its directory once Bound.
    pub async fn restore(&self, ns: &str, name: &str, snapshot: &str) -> anyhow::Result<PathBuf> {
        self.create(ns, &manifests::restored_claim(name, snapshot, "1Gi"))
            .await?;
        volume_dir(self.cluster, &self.client, ns, name, LIMIT).await
    }

    /// Waits until VolumeSnapshot `ns/name` is ready to use; returns it.
    pub async fn wait_snapshot_ready(&self, ns: &str, name: &str) -> anyhow::Result<Value> {
        let api = self.snapshots(ns);
        eventually(
            LIMIT,
            &format!("VolumeSnapshot {ns}/{name} readyToUse"),
            || async {
                let snapshot = serde_json::to_value(api.get(name).await?)?;
                Ok((snapshot["status"]["readyToUse"] == true).then_some(snapshot))
            },
        )
        .await
    }

    /// The published snapshots of a destination (label [`IMAGE_LABEL`]), by name.
    pub async fn images(&self, ns: &str, uid: &str) -> anyhow::Result<Vec<String>> {
        let list = self
            .snapshots(ns)
            .list(&ListParams::default().labels(&format!("{IMAGE_LABEL}={uid}")))
            .await?;
        let mut names: Vec<String> = list
            .items
            .into_iter()
            .filter(|s| s.metadata.deletion_timestamp.is_none())
            .filter_map(|s| s.metadata.name)
            .collect();
        names.sort();
        Ok(names)
    }

    /// The temporary objects of a CR's syncs (label [`TEMPORARY_LABEL`]) that still exist,
    /// as `kind/name`: VolumeSnapshots, PVCs and Pods.
    pub async fn temporaries(&self, ns: &str, uid: &str) -> anyhow::Result<Vec<String>> {
        let params = ListParams::default().labels(&format!("{TEMPORARY_LABEL}={uid}"));
        let mut out = Vec::new();
        for s in self.snapshots(ns).list(&params).await?.items {
            out.push(format!(
                "VolumeSnapshot/{}",
                s.metadata.name.unwrap_or_default()
            ));
        }
        let claims: Api<PersistentVolumeClaim> = Api::namespaced(self.client.clone(), ns);
        for c in claims.list(&params).await?.items {
            out.push(format!(
                "PersistentVolumeClaim/{}",
                c.metadata.name.unwrap_or_default()
            ));
        }
        for p in self.pods(ns).list(&params).await?.items {
            out.push(format!("Pod/{}", p.metadata.name.unwrap_or_default()));
        }
        Ok(out)
    }

    /// Waits until no temporary object of the CR with `uid` is left.
    pub async fn wait_no_temporaries(&self, ns: &str, uid: &str) -> anyhow::Result<()> {
        let last = Mutex::new(Vec::new());
        let result = eventually(LIMIT, "the temporary objects to be deleted", || async {
            let left = self.temporaries(ns, uid).await?;
            let done = left.is_empty();
            *last.lock().unwrap_or_else(PoisonError::into_inner) = left;
            Ok(done.then_some(()))
        })
        .await;
        result.map_err(|err| {
            let last = last.into_inner().unwrap_or_else(PoisonError::into_inner);
            anyhow!("{err:#}; still there: {last:?}")
        })
    }

    /// The pods API of `ns`.
    pub fn pods(&self, ns: &str) -> Api<Pod> {
        Api::namespaced(self.client.clone(), ns)
    }

    /// Waits until `count` pods labelled `selector` run (phase Running, a pod IP, not being
    /// deleted) and returns them, sorted by name.
    pub async fn running_pods(
        &self,
        ns: &str,
        selector: &str,
        count: usize,
    ) -> anyhow::Result<Vec<Pod>> {
        let pods = self.pods(ns);
        eventually(
            LIMIT,
            &format!("{count} running pods {selector} in {ns}"),
            || async {
                let list = pods.list(&ListParams::default().labels(selector)).await?;
                let mut running: Vec<Pod> = list
                    .items
                    .into_iter()
                    .filter(|p| p.metadata.deletion_timestamp.is_none() && running(p))
                    .collect();
                running.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
                Ok((running.len() == count).then_some(running))
            },
        )
        .await
    }

    /// Deletes pod `ns/name` and waits until it is gone (the kubelet stops its containers
    /// with SIGTERM first).
    pub async fn delete_pod(&self, ns: &str, name: &str) -> anyhow::Result<()> {
        let pods = self.pods(ns);
        pods.delete(name, &DeleteParams::default()).await?;
        eventually(LIMIT, &format!("pod {ns}/{name} to be gone"), || async {
            Ok(pods.get_opt(name).await?.is_none().then_some(()))
        })
        .await
    }

    /// The sidecar's metrics, served at its pod IP, fetched through the apiserver's proxy.
    pub async fn metrics(&self, pod: &Pod) -> anyhow::Result<Metrics> {
        Ok(Metrics {
            text: observe::scrape(self.cluster, pod).await?,
        })
    }

    /// Waits until the sum of metric `name` with `labels` in `pod`'s sidecar is at least
    /// `min`; returns the metrics.
    pub async fn wait_metric(
        &self,
        pod: &Pod,
        name: &str,
        labels: &[(&str, &str)],
        min: f64,
    ) -> anyhow::Result<Metrics> {
        let last = Mutex::new(String::new());
        let result = eventually(LIMIT, &format!("{name}{labels:?} >= {min}"), || async {
            let Ok(metrics) = self.metrics(pod).await else {
                return Ok(None);
            };
            let value = metrics.sum(name, labels);
            *last.lock().unwrap_or_else(PoisonError::into_inner) = metrics.text.clone();
            Ok(value.is_some_and(|v| v >= min).then_some(metrics))
        })
        .await;
        result.map_err(|err| {
            let last = last.into_inner().unwrap_or_else(PoisonError::into_inner);
            anyhow!("{err:#}; last metrics:\n{last}")
        })
    }

    /// The sidecar's output so far, as `kubectl logs -c ferry-sidecar` shows it.
    pub fn sidecar_log(&self, pod: &Pod) -> String {
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        self.cluster
            .kubectl(["logs", "-n", &ns, &pod_name(pod), "-c", "ferry-sidecar"])
            .map(|o| o.stdout)
            .unwrap_or_default()
    }

    /// Marks the test as passed: no diagnostics on drop.
    pub fn passed(&self) {
        self.passed.store(true, Ordering::Relaxed);
    }
}

impl Drop for Replication {
    fn drop(&mut self) {
        if !self.passed.load(Ordering::Relaxed) {
            // Captured by the test harness: shown only when the test fails.
            eprintln!(
                "replication test did not pass; diagnostics follow\n{}",
                self.diagnostics()
            );
        }
    }
}

/// Whether the pod is Running with an address.
pub fn running(pod: &Pod) -> bool {
    pod.status.as_ref().is_some_and(|s| {
        s.phase.as_deref() == Some("Running")
            && s.pod_ip.as_deref().is_some_and(|ip| !ip.is_empty())
    })
}

/// The pod's IP.
pub fn pod_ip(pod: &Pod) -> anyhow::Result<String> {
    pod.status
        .as_ref()
        .and_then(|s| s.pod_ip.clone())
        .filter(|ip| !ip.is_empty())
        .with_context(|| {
            format!(
                "pod {} has no IP",
                pod.metadata.name.as_deref().unwrap_or_default()
            )
        })
}

/// The pod's name.
pub fn pod_name(pod: &Pod) -> String {
    pod.metadata.name.clone().unwrap_or_default()
}
