//! The mover pod of the `Snapshot` and `Clone` copy methods: the sidecar's image running
//! `ferry-sidecar mover` against the temporary PVC, so the application's pod is never the
//! one reading a point-in-time copy.
//!
//! The mover reports its result as JSON in [`RESULT_ANNOTATION`] on its own pod, which the
//! sidecar reads once the pod has ended: no Service, port or shared volume between them.

mod pod;

pub use pod::pod;

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{
    ContainerStateTerminated, EnvVar, Pod, PodSecurityContext, ResourceRequirements,
};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use super::Owner;
use super::error::{Error, Result, is_already_exists, is_not_found};
use super::wait::{self, Poll};

/// The annotation on its own pod where the mover writes its result (JSON).
pub const RESULT_ANNOTATION: &str = "ferry.dev/mover-result";
/// Where the mover sees the temporary PVC.
pub const VOLUME_PATH: &str = "/ferry/volumes/data";
/// The mover's container.
pub const CONTAINER: &str = ferry_api::contract::MOVER_CONTAINER;
const KIND: &str = "Pod";

/// What a mover pod is made of.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Spec {
    /// The pod's name.
    pub name: String,
    /// Its namespace (the CR's).
    pub namespace: String,
    /// The sidecar's own image.
    pub image: String,
    /// The service account; `None` for the namespace's default.
    pub service_account: Option<String>,
    /// The temporary PVC, mounted at [`VOLUME_PATH`].
    pub claim: String,
    /// Whether the PVC is mounted read-only (a source's mover only reads).
    pub read_only: bool,
    /// What the mover is told to do; the downward-API identity is added.
    pub env: Vec<EnvVar>,
    /// Secrets and where each is mounted (read-only).
    pub secrets: Vec<(String, String)>,
    /// The user the mover runs as; `Some(0)` is root with the ownership capabilities.
    pub run_as_user: Option<i64>,
    /// The CR's `moverSecurityContext`.
    pub pod_security_context: Option<PodSecurityContext>,
    /// The CR's `moverResources`.
    pub resources: Option<ResourceRequirements>,
    /// Labels beyond `ferry.dev/mover` (the temporary-object labels).
    pub labels: BTreeMap<String, String>,
    /// The CR, as the pod's owner.
    pub owner: Option<Owner>,
}

/// How a mover pod ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Phase `Succeeded`.
    pub succeeded: bool,
    /// The mover container's exit code.
    pub exit_code: Option<i32>,
    /// The container's termination message (its log's tail on failure).
    pub message: Option<String>,
    /// The JSON the mover left in [`RESULT_ANNOTATION`], if any.
    pub result: Option<Value>,
}

fn api(client: &kube::Client, ns: &str) -> Api<Pod> {
    Api::namespaced(client.clone(), ns)
}

/// Creates the mover pod and waits until it has ended or `timeout` has passed. The pod is
/// left in place for the caller to read and delete. A pod of that name already there is an
/// error: it belongs to another run, and its result must not be taken for this one's.
pub async fn run(client: &kube::Client, spec: &Spec, timeout: Duration) -> Result<Outcome> {
    let (ns, name) = (spec.namespace.as_str(), spec.name.as_str());
    match api(client, ns)
        .create(&PostParams::default(), &pod(spec))
        .await
    {
        Ok(_) => {}
        Err(e) if is_already_exists(&e) => {
            return Err(Error::AlreadyExists {
                kind: KIND,
                namespace: ns.to_owned(),
                name: name.to_owned(),
                hint: "a mover pod of an earlier sync is still there; the next sync's clean-up \
                       deletes it, or delete it with kubectl"
                    .to_owned(),
            });
        }
        Err(e) => return Err(Error::api("creating", KIND, ns, name)(e)),
    }
    wait(client, ns, name, timeout).await
}

/// Waits until mover pod `name` has ended (phase `Succeeded` or `Failed`) and reads how.
pub async fn wait(
    client: &kube::Client,
    ns: &str,
    name: &str,
    timeout: Duration,
) -> Result<Outcome> {
    let api = &api(client, ns);
    let what = format!("mover pod {ns}/{name} to finish");
    wait::until(what, timeout, || async move {
        match api
            .get_opt(name)
            .await
            .map_err(Error::api("reading", KIND, ns, name))?
        {
            Some(pod) => Ok(outcome(&pod)),
            None => Err(Error::MoverFailed {
                namespace: ns.to_owned(),
                name: name.to_owned(),
                message: "the pod was deleted before it finished".to_owned(),
            }),
        }
    })
    .await
}

/// The outcome of an ended pod; otherwise its phase and why its container waits.
fn outcome(pod: &Pod) -> Poll<Outcome> {
    let status = pod.status.as_ref();
    let phase = status.and_then(|s| s.phase.as_deref()).unwrap_or("Pending");
    let container = status
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|list| list.iter().find(|c| c.name == CONTAINER));
    let state = container.and_then(|c| c.state.as_ref());
    if phase != "Succeeded" && phase != "Failed" {
        let waiting = state.and_then(|s| s.waiting.as_ref());
        let why = waiting
            .map(|w| {
                let reason = w.reason.as_deref().unwrap_or("waiting");
                match w.message.as_deref() {
                    Some(m) => format!(": {reason}: {m}"),
                    None => format!(": {reason}"),
                }
            })
            .unwrap_or_default();
        return Poll::Pending(Some(format!("phase {phase}{why}")));
    }
    let terminated: Option<&ContainerStateTerminated> = state.and_then(|s| s.terminated.as_ref());
    Poll::Done(Outcome {
        succeeded: phase == "Succeeded",
        exit_code: terminated.map(|t| t.exit_code),
        message: terminated
            .and_then(|t| t.message.clone())
            .filter(|m| !m.is_empty()),
        result: result(pod),
    })
}

/// The mover's result annotation, parsed. Unparsable text is logged and ignored: the phase
/// and exit code still say how the run went.
fn result(pod: &Pod) -> Option<Value> {
    let text = pod.metadata.annotations.as_ref()?.get(RESULT_ANNOTATION)?;
    match serde_json::from_str(text) {
        Ok(value) => Some(value),
        Err(error) => {
            tracing::warn!(
                pod = pod.metadata.name.as_deref().unwrap_or_default(),
                %error,
                "the mover's result annotation is not JSON"
            );
            None
        }
    }
}

/// Writes `result` into [`RESULT_ANNOTATION`] on pod `pod_name`: the mover reporting on
/// itself before it exits.
pub async fn report(client: &kube::Client, ns: &str, pod_name: &str, result: &Value) -> Result<()> {
    let patch = json!({"metadata": {"annotations": {RESULT_ANNOTATION: result.to_string()}}});
    api(client, ns)
        .patch(pod_name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(Error::api("annotating", KIND, ns, pod_name))?;
    Ok(())
}

/// Deletes a mover pod with its grace period, so one still pushing gets SIGTERM and aborts its
/// multipart uploads instead of leaving them open; one already gone is fine.
pub async fn delete(client: &kube::Client, ns: &str, name: &str) -> Result<()> {
    match api(client, ns).delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(Error::api("deleting", KIND, ns, name)(e)),
    }
}

#[cfg(test)]
mod tests;
