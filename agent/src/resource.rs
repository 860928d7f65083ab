//! The bound CR, read as a raw object (so its status survives whatever Ferry's types do not
//! know) and decoded into a kind-agnostic [`Replication`], kept current by a watch.

use std::time::Duration;

use ferry_api::types::Trigger;
use ferry_api::types::{
    ReplicationDestinationRclone, ReplicationDestinationRsync, ReplicationDestinationSpec,
};
use ferry_api::types::{ReplicationSourceRclone, ReplicationSourceRsync, ReplicationSourceSpec};
use futures::StreamExt;
use k8s_openapi::api::core::v1::ObjectReference;
use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher;
use tokio::sync::watch;

use super::env::{Identity, Role};
use super::job::Guards;
use super::{Error, Result};

/// What the CR asks the mover to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Mover {
    /// A source pushing with the S3 engine.
    SourceRclone(Box<ReplicationSourceRclone>),
    /// A source pushing with rsync over SSH.
    SourceRsync(Box<ReplicationSourceRsync>),
    /// A destination pulling with the S3 engine.
    DestinationRclone(Box<ReplicationDestinationRclone>),
    /// A destination receiving rsync over SSH.
    DestinationRsync(Box<ReplicationDestinationRsync>),
}

impl Mover {
    /// `rsync` or `rclone`, for metric labels.
    pub fn method(&self) -> &'static str {
        match self {
            Mover::SourceRclone(_) | Mover::DestinationRclone(_) => "rclone",
            Mover::SourceRsync(_) | Mover::DestinationRsync(_) => "rsync",
        }
    }
}

/// The bound CR, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Replication {
    /// Source or destination.
    pub role: Role,
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// UID: the owner of temporary objects.
    pub uid: String,
    /// `metadata.generation`, reported as `observedGeneration`.
    pub generation: Option<i64>,
    /// `spec.paused`.
    pub paused: bool,
    /// `spec.trigger`.
    pub trigger: Option<Trigger>,
    /// `spec.sourcePVC` (sources only).
    pub source_pvc: Option<String>,
    /// The mover.
    pub mover: Mover,
    /// The raw status.
    pub status: Option<serde_json::Value>,
    /// The `ferry.dev/acknowledge-guards` annotation's value.
    pub acknowledgement: Option<String>,
    /// `spec.hooks` (sources only).
    pub hooks: Option<ferry_api::types::Hooks>,
}

impl Replication {
    /// The CR as an Event's involved object.
    pub fn reference(&self) -> ObjectReference {
        ObjectReference {
            api_version: Some(api_version()),
            kind: Some(self.role.kind().to_owned()),
            name: Some(self.name.clone()),
            namespace: Some(self.namespace.clone()),
            uid: Some(self.uid.clone()),
            ..ObjectReference::default()
        }
    }

    /// The guards of the next push: the shrink limit from the spec, and the
    /// acknowledgement when the annotation carries a value other than `recorded`, the one
    /// the last acknowledged sync used (`status.acknowledgedGuards`).
    pub fn guards(&self, recorded: Option<&str>) -> Guards {
        let max_delete_percent = match &self.mover {
            Mover::SourceRclone(r) => r.rclone.max_delete_percent,
            Mover::DestinationRclone(r) => r.rclone.max_delete_percent,
            _ => None,
        };
        Guards {
            empty_source: true,
            max_delete_percent: max_delete_percent.and_then(|p| u8::try_from(p).ok()),
            acknowledged: self
                .acknowledgement
                .as_deref()
                .is_some_and(|a| Some(a) != recorded),
        }
    }

    /// A raw status field's text (`acknowledgedGuards`, `lastSyncTime`).
    pub fn status_text(&self, field: &str) -> Option<&str> {
        self.status.as_ref()?.get(field)?.as_str()
    }

    /// The CR as the owner of temporary objects.
    pub fn owner(&self) -> crate::objects::Owner {
        crate::objects::Owner {
            api_version: api_version(),
            kind: self.role.kind().to_owned(),
            name: self.name.clone(),
            uid: self.uid.clone(),
        }
    }
}

/// `replication.ferry.dev/v1alpha1`.
pub fn api_version() -> String {
    format!("{}/{}", ferry_api::GROUP, ferry_api::VERSION)
}

/// The raw API of the role's CR kind.
pub fn api(client: &kube::Client, role: Role, namespace: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk(ferry_api::GROUP, ferry_api::VERSION, role.kind());
    Api::namespaced_with(client.clone(), namespace, &ApiResource::from_gvk(&gvk))
}

/// Decodes a raw CR.
pub fn decode(role: Role, object: &DynamicObject) -> Result<Replication> {
    let spec = object.data.get("spec").cloned().unwrap_or_default();
    let bad = |e: serde_json::Error| Error::Spec {
        field: "spec",
        problem: format!(
            "does not decode ({e}); the webhook or the CRD schema should have refused it, check that both are installed"
        ),
    };
    let (paused, trigger, source_pvc, mover, hooks) = match role {
        Role::Source => {
            let spec: ReplicationSourceSpec = serde_json::from_value(spec).map_err(bad)?;
            let mover = match (spec.rsync, spec.rclone) {
                (Some(rsync), None) => Mover::SourceRsync(Box::new(rsync)),
                (None, Some(rclone)) => Mover::SourceRclone(Box::new(rclone)),
                _ => return Err(one_mover()),
            };
            (
                spec.paused,
                spec.trigger,
                Some(spec.source_pvc),
                mover,
                spec.hooks,
            )
        }
        Role::Destination => {
            let spec: ReplicationDestinationSpec = serde_json::from_value(spec).map_err(bad)?;
            let mover = match (spec.rsync, spec.rclone) {
                (Some(rsync), None) => Mover::DestinationRsync(Box::new(rsync)),
                (None, Some(rclone)) => Mover::DestinationRclone(Box::new(rclone)),
                _ => return Err(one_mover()),
            };
            (spec.paused, spec.trigger, None, mover, None)
        }
    };
    Ok(Replication {
        role,
        name: object.metadata.name.clone().unwrap_or_default(),
        namespace: object.metadata.namespace.clone().unwrap_or_default(),
        uid: object.metadata.uid.clone().unwrap_or_default(),
        generation: object.metadata.generation,
        paused: paused.unwrap_or(false),
        trigger,
        source_pvc,
        mover,
        status: object.data.get("status").cloned(),
        acknowledgement: object
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(ferry_api::annotations::ACKNOWLEDGE_GUARDS))
            .cloned(),
        hooks,
    })
}

fn one_mover() -> Error {
    Error::Spec {
        field: "spec",
        problem: "set exactly one of spec.rsync and spec.rclone".to_owned(),
    }
}

/// Reads the bound CR once.
pub async fn fetch(client: &kube::Client, who: &Identity) -> Result<Replication> {
    let object = api(client, who.role, &who.namespace)
        .get_opt(&who.object)
        .await
        .map_err(|e| {
            Error::api(
                format!("reading {} {}", who.role.kind(), who.object),
                e,
                who,
            )
        })?
        .ok_or_else(|| Error::MissingResource {
            kind: who.role.kind(),
            namespace: who.namespace.clone(),
            name: who.object.clone(),
        })?;
    decode(who.role, &object)
}

/// Keeps `tx` at the CR's latest version (or `None` once it is deleted), until the
/// receivers are gone. Watch errors are retried with back-off by the watcher.
pub async fn watch_cr(client: kube::Client, who: Identity, tx: watch::Sender<Option<Replication>>) {
    let api = api(&client, who.role, &who.namespace);
    let config = watcher::Config::default().fields(&format!("metadata.name={}", who.object));
    let stream = watcher(api, config).default_backoff();
    futures::pin_mut!(stream);
    while let Some(event) = stream.next().await {
        let object = match event {
            Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => o,
            Ok(watcher::Event::Delete(_)) => {
                let _ = tx.send(None);
                continue;
            }
            Ok(_) => continue,
            Err(e) => {
                tracing::debug!(error = %e, "watch of the CR interrupted; retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        match decode(who.role, &object) {
            Ok(replication) => {
                tx.send_if_modified(|current| {
                    if current.as_ref() == Some(&replication) {
                        false
                    } else {
                        *current = Some(replication);
                        true
                    }
                });
            }
            Err(e) => tracing::warn!(error = %e, "the CR does not decode"),
        }
        if tx.is_closed() {
            return;
        }
    }
}
