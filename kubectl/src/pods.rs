//! The opted-in pods: which of them binds which object, whether it runs, and its sidecar's
//! state, read from the pod as `kubectl describe pod` shows it.

use std::collections::BTreeMap;

use ferry_api::annotations::{self, INJECT_LABEL};
use ferry_api::contract::CONTAINER;
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use kube::api::{Api, ListParams};

use crate::error::{Error, Result};

/// What a pod says about its sidecar and its binding.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodFacts {
    /// The pod's namespace.
    pub namespace: String,
    /// The pod's name.
    pub name: String,
    /// `Running`, `Pending`, ...
    pub phase: String,
    /// Whether it is being deleted.
    pub deleting: bool,
    /// The pod's service account.
    pub service_account: String,
    /// `ferry.dev/source`, if set.
    pub source: Option<String>,
    /// `ferry.dev/destination`, if set.
    pub destination: Option<String>,
    /// `ferry.dev/schedule`, if set: overrides the CR's schedule for this pod.
    pub schedule: Option<String>,
    /// `ferry.dev/time-zone`, if set.
    pub time_zone: Option<String>,
    /// Whether the webhook injected it (`ferry.dev/injected`, or a `ferry-sidecar`
    /// container).
    pub injected: bool,
    /// The sidecar container's state, when it has one.
    pub sidecar: Option<SidecarState>,
}

/// The injected container as the kubelet reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SidecarState {
    /// Its image.
    pub image: String,
    /// Whether it is ready.
    pub ready: bool,
    /// How many times it restarted.
    pub restarts: i32,
    /// `running`, `waiting: CrashLoopBackOff`, `terminated: Error (exit 1)`.
    pub state: String,
    /// Why it last ended, when it restarted.
    pub last_termination: Option<String>,
}

impl PodFacts {
    /// Whether the pod can act for its object: running and not being deleted.
    pub fn live(&self) -> bool {
        self.phase == "Running" && !self.deleting
    }

    /// Reads a pod.
    pub fn from_pod(pod: &Pod) -> PodFacts {
        let meta = &pod.metadata;
        let note = |key: &str| meta.annotations.as_ref().and_then(|a| a.get(key)).cloned();
        let spec = pod.spec.as_ref();
        let status = pod.status.as_ref();
        let statuses = status.into_iter().flat_map(|s| {
            s.init_container_statuses
                .iter()
                .flatten()
                .chain(s.container_statuses.iter().flatten())
        });
        let sidecar = statuses
            .filter(|c| c.name == CONTAINER)
            .map(sidecar_state)
            .next();
        let has_container = spec.is_some_and(|s| {
            s.containers
                .iter()
                .chain(s.init_containers.iter().flatten())
                .any(|c| c.name == CONTAINER)
        });
        PodFacts {
            namespace: meta.namespace.clone().unwrap_or_default(),
            name: meta.name.clone().unwrap_or_default(),
            phase: status.and_then(|s| s.phase.clone()).unwrap_or_default(),
            deleting: meta.deletion_timestamp.is_some(),
            service_account: spec
                .and_then(|s| s.service_account_name.clone())
                .unwrap_or_else(|| "default".to_owned()),
            source: note(annotations::SOURCE),
            destination: note(annotations::DESTINATION),
            schedule: note(annotations::SCHEDULE),
            time_zone: note(annotations::TIME_ZONE),
            injected: note(annotations::INJECTED).is_some() || has_container,
            sidecar,
        }
    }
}

fn sidecar_state(c: &ContainerStatus) -> SidecarState {
    let describe = |s: &k8s_openapi::api::core::v1::ContainerState| {
        if s.running.is_some() {
            "running".to_owned()
        } else if let Some(w) = &s.waiting {
            format!("waiting: {}", w.reason.as_deref().unwrap_or("-"))
        } else if let Some(t) = &s.terminated {
            format!(
                "terminated: {} (exit {})",
                t.reason.as_deref().unwrap_or("-"),
                t.exit_code
            )
        } else {
            "unknown".to_owned()
        }
    };
    SidecarState {
        image: c.image.clone(),
        ready: c.ready,
        restarts: c.restart_count,
        state: c
            .state
            .as_ref()
            .map_or_else(|| "unknown".to_owned(), describe),
        last_termination: c
            .last_state
            .as_ref()
            .filter(|s| s.terminated.is_some())
            .map(describe),
    }
}

/// The opted-in pods (label `ferry.dev/inject=true`) in `namespace` or in all namespaces,
/// by `(namespace, name)`.
pub async fn opted_in(
    client: &kube::Client,
    namespace: Option<&str>,
) -> Result<BTreeMap<(String, String), PodFacts>> {
    let api: Api<Pod> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let params = ListParams::default().labels(&format!("{INJECT_LABEL}=true"));
    let list = api.list(&params).await.map_err(Error::api(
        "listing the pods labelled ferry.dev/inject=true",
    ))?;
    Ok(list
        .items
        .iter()
        .map(PodFacts::from_pod)
        .map(|p| ((p.namespace.clone(), p.name.clone()), p))
        .collect())
}
