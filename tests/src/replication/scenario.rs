//! The steps replication tests share, built on the fixture's primitives: binding a CR to a
//! workload, an rsync destination ready to receive, carrying its keys Secret to the source's
//! namespace, a bucket prefix seeded with an object the source lacks, and the checks every
//! error case makes.

use std::collections::BTreeMap;

use anyhow::{Context, ensure};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::Api;
use kube::api::PostParams;
use serde_json::Value;

use super::manifests::{self, Role};
use super::observe;
use super::{LIMIT, Replication, SYNC_LIMIT};

/// The key of the object a seeded prefix holds, relative to the prefix.
pub const KEEP_KEY: &str = "keep-me.txt";
/// Its contents.
pub const KEEP_BODY: &[u8] = b"already at the far end; a failed sync must not delete this\n";

/// An rsync destination that has published where and how to push.
#[derive(Clone, Debug)]
pub struct RsyncDestination {
    /// The pod whose sidecar serves.
    pub pod: Pod,
    /// The status once `rsync.address` and `rsync.sshKeys` are published.
    pub status: Value,
}

impl RsyncDestination {
    /// The Secret with the keys a source needs, as published.
    pub fn keys_secret(&self) -> &str {
        self.status["rsync"]["sshKeys"].as_str().unwrap_or_default()
    }

    /// Where a source pushes, as published: the Service's address (`status.rsync.address`).
    pub fn address(&self) -> &str {
        self.status["rsync"]["address"].as_str().unwrap_or_default()
    }

    /// The Service's port (`status.rsync.port`).
    pub fn port(&self) -> u16 {
        self.status["rsync"]["port"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or_default()
    }
}

impl Replication {
    /// Creates the rclone Secret `secret` from `conf` and a Direct source `name` of claim
    /// `data` pushing to `dest` (manual trigger "one", `options` merged into `spec.rclone`),
    /// and binds it to a pod `web`; returns the pod without waiting for the sync.
    pub async fn bind_rclone_source(
        &self,
        ns: &str,
        (name, secret): (&str, &str),
        dest: &str,
        conf: &str,
        options: &Value,
    ) -> anyhow::Result<Pod> {
        self.create(ns, &manifests::rclone_secret(secret, conf))
            .await?;
        let mut source = manifests::rclone_source(
            name,
            "data",
            secret,
            dest,
            "Direct",
            Some(manifests::manual("one")),
        );
        for (key, value) in options.as_object().into_iter().flatten() {
            source["spec"]["rclone"][key] = value.clone();
        }
        let template = manifests::pod_template("web", Role::Source, name, "data");
        let pods = self
            .bind(ns, &source, &manifests::pod("web", &template))
            .await?;
        pods.into_iter().next().context("no pod")
    }

    /// Creates `cr` and then `workload` (a Pod, or a Deployment) bound to it, and returns its
    /// running pods (as many as the Deployment's replicas).
    pub async fn bind(&self, ns: &str, cr: &Value, workload: &Value) -> anyhow::Result<Vec<Pod>> {
        self.create(ns, cr).await?;
        self.create_workload(ns, workload).await?;
        if workload["kind"] == "Pod" {
            let name = workload["metadata"]["name"].as_str().unwrap_or_default();
            let pods = self.pods(ns);
            let pod = crate::wait::eventually(LIMIT, &format!("pod {name} to run"), || async {
                let pod = pods.get(name).await?;
                Ok(super::running(&pod).then_some(pod))
            })
            .await?;
            return Ok(vec![pod]);
        }
        let app = workload["spec"]["selector"]["matchLabels"]["app"]
            .as_str()
            .context("the workload has no app label")?;
        let replicas = workload["spec"]["replicas"].as_u64().unwrap_or(1);
        self.running_pods(ns, &format!("app={app}"), usize::try_from(replicas)?)
            .await
    }

    /// Binds an rsync ReplicationDestination `name` (generated keys, `copyMethod: Snapshot`,
    /// `retain`) to a one-replica Deployment writing into claim `claim`, and waits until it
    /// publishes its address and keys.
    pub async fn rsync_destination(
        &self,
        ns: &str,
        name: &str,
        claim: &str,
        retain: u32,
    ) -> anyhow::Result<RsyncDestination> {
        let template = manifests::pod_template(name, Role::Destination, name, claim);
        let pods = self
            .bind(
                ns,
                &manifests::rsync_destination(name, retain),
                &manifests::deployment(name, 1, &template),
            )
            .await?;
        let pod = pods.into_iter().next().context("no destination pod")?;
        let status = self
            .wait_status(
                Role::Destination,
                ns,
                name,
                "status.rsync.address and sshKeys",
                LIMIT,
                |s| {
                    (s["rsync"]["address"].is_string() && s["rsync"]["sshKeys"].is_string())
                        .then(|| s.clone())
                },
            )
            .await?;
        Ok(RsyncDestination { pod, status })
    }

    /// Copies Secret `from_ns/name` to `to_ns/new_name`, letting `edit` change its data first.
    pub async fn copy_secret(
        &self,
        from_ns: &str,
        name: &str,
        to_ns: &str,
        new_name: &str,
        edit: impl FnOnce(&mut BTreeMap<String, ByteString>),
    ) -> anyhow::Result<()> {
        let secret = Api::<Secret>::namespaced(self.client.clone(), from_ns)
            .get(name)
            .await
            .with_context(|| format!("getting Secret {from_ns}/{name}"))?;
        let mut data = secret.data.unwrap_or_default();
        edit(&mut data);
        let copy = Secret {
            metadata: kube::api::ObjectMeta {
                name: Some(new_name.to_owned()),
                ..Default::default()
            },
            data: Some(data),
            ..Default::default()
        };
        Api::<Secret>::namespaced(self.client.clone(), to_ns)
            .create(&PostParams::default(), &copy)
            .await
            .with_context(|| format!("creating Secret {to_ns}/{new_name}"))?;
        Ok(())
    }

    /// A new bucket whose `prefix` holds [`KEEP_KEY`]; returns `(bucket, "bucket/prefix")`.
    pub async fn seeded_bucket(
        &self,
        name: &str,
        prefix: &str,
    ) -> anyhow::Result<(String, String)> {
        let bucket = self.minio.bucket(name).await?;
        self.minio
            .put(&bucket, &format!("{prefix}/{KEEP_KEY}"), KEEP_BODY)
            .await?;
        Ok((bucket.clone(), format!("{bucket}/{prefix}")))
    }

    /// Fails unless `bucket/prefix` holds exactly [`KEEP_KEY`] with its contents.
    pub async fn ensure_untouched(&self, bucket: &str, prefix: &str) -> anyhow::Result<()> {
        let listed = self.minio.list(bucket, prefix).await?;
        ensure!(
            listed.keys().eq([KEEP_KEY].iter()),
            "the remote {bucket}/{prefix} changed: {listed:?}"
        );
        let body = self
            .minio
            .get(bucket, &format!("{prefix}/{KEEP_KEY}"))
            .await?;
        ensure!(
            body.as_deref() == Some(KEEP_BODY),
            "{bucket}/{prefix}/{KEEP_KEY} changed"
        );
        Ok(())
    }

    /// The checks of every error case: the condition `Synchronizing` False with reason
    /// `Error` and a message containing each of `needles`, an Event `SyncFailed`, and
    /// `ferry_syncs_total{result="failure"}` of `pod`'s sidecar at least 1. Returns the
    /// status.
    pub async fn ensure_sync_error(
        &self,
        role: Role,
        ns: &str,
        name: &str,
        pod: &Pod,
        needles: &[&str],
    ) -> anyhow::Result<Value> {
        let status = self
            .wait_status(
                role,
                ns,
                name,
                &format!("Synchronizing=False reason Error with a message naming {needles:?}"),
                SYNC_LIMIT,
                |s| {
                    // A sync that succeeds instead ends the wait: it will not fail later.
                    if s["latestMoverStatus"]["result"] == "Successful" {
                        return Some(Err(s.clone()));
                    }
                    let message = observe::condition_message(s, "Synchronizing");
                    (observe::condition_is(s, "Synchronizing", "False", "Error")
                        && needles.iter().all(|n| message.contains(n)))
                    .then(|| Ok(s.clone()))
                },
            )
            .await?
            .map_err(|status| {
                anyhow::anyhow!(
                    "the sync succeeded although it should have failed naming {needles:?}; \
                     status:\n{status:#}"
                )
            })?;
        let event = self.wait_event(role, ns, name, "SyncFailed").await?;
        ensure!(
            event.type_ == "Warning",
            "SyncFailed is not a Warning: {event:?}"
        );
        ensure!(
            needles.iter().all(|n| event.message.contains(n)),
            "the SyncFailed event does not name {needles:?}: {:?}",
            event.message
        );
        self.wait_metric(
            pod,
            "ferry_syncs_total",
            &[("name", name), ("namespace", ns), ("result", "failure")],
            1.0,
        )
        .await?;
        Ok(status)
    }
}
