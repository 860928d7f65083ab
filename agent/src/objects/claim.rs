//! PersistentVolumeClaims: reading the source PVC, and the temporary PVCs a sync restores a
//! snapshot into or clones the source into, for the mover pod to read.

use std::collections::BTreeMap;
use std::time::Duration;

use ferry_api::rules::quantity::Quantity as Size;
use ferry_api::types::VolumeOptions;
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimSpec, TypedLocalObjectReference,
    VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::api::{Api, DeleteParams, ObjectMeta, PostParams};

use super::Owner;
use super::error::{Error, Result, is_already_exists, is_not_found};
use super::snapshot;
use super::wait::{self, Poll};

const KIND: &str = "PersistentVolumeClaim";
/// The size of a temporary PVC when nothing says otherwise. Unreachable with a real source:
/// the apiserver refuses a PVC without `resources.requests.storage`.
const FALLBACK_CAPACITY: &str = "1Gi";

fn api(client: &kube::Client, ns: &str) -> Api<PersistentVolumeClaim> {
    Api::namespaced(client.clone(), ns)
}

/// Reads the PVC a source replicates.
pub async fn get(client: &kube::Client, ns: &str, name: &str) -> Result<PersistentVolumeClaim> {
    api(client, ns)
        .get_opt(name)
        .await
        .map_err(Error::api("reading", KIND, ns, name))?
        .ok_or_else(|| Error::NotFound {
            kind: KIND,
            namespace: ns.to_owned(),
            name: name.to_owned(),
            hint: "it is named by spec.sourcePVC (or is the claim of the pod's replicated \
                   volume); create it or correct spec.sourcePVC"
                .to_owned(),
        })
}

/// The shape of a temporary PVC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// `storageClassName`; `None` leaves it to the cluster's default class.
    pub storage_class: Option<String>,
    /// `accessModes`.
    pub access_modes: Vec<String>,
    /// `resources.requests.storage`.
    pub capacity: String,
}

/// The temporary PVC's shape, by VolSync's rules so its manifests behave the same: each of the
/// CR's volume options wins, else the source PVC's own `storageClassName`, `accessModes` and
/// requested size. A snapshot cannot be restored into less than its `restoreSize`, so the
/// capacity is raised to it when larger. (For a clone, CSI requires at least the source's size,
/// which the source's request is unless the CR's `capacity` says less.)
pub fn template(
    source: &PersistentVolumeClaim,
    options: &VolumeOptions,
    restore_size: Option<&str>,
) -> Template {
    let spec = source.spec.as_ref();
    let storage_class = options
        .storage_class_name
        .clone()
        .or_else(|| spec.and_then(|s| s.storage_class_name.clone()));
    let access_modes = options
        .access_modes
        .clone()
        .filter(|m| !m.is_empty())
        .or_else(|| {
            spec.and_then(|s| s.access_modes.clone())
                .filter(|m| !m.is_empty())
        })
        .unwrap_or_else(|| vec!["ReadWriteOnce".to_owned()]);
    let requested = options.capacity.as_ref().map(|q| q.0.clone()).or_else(|| {
        spec.and_then(|s| s.resources.as_ref())
            .and_then(|r| r.requests.as_ref())
            .and_then(|r| r.get("storage"))
            .map(|q| q.0.clone())
    });
    Template {
        storage_class,
        access_modes,
        capacity: larger(requested, restore_size),
    }
}

/// `requested`, or `minimum` when that is larger (or the only size known).
fn larger(requested: Option<String>, minimum: Option<&str>) -> String {
    let bytes = |q: &str| Size::parse(q).ok().map(|q| q.as_f64());
    match (requested, minimum) {
        (Some(r), Some(m)) if bytes(m) > bytes(&r) => m.to_owned(),
        (Some(r), _) => r,
        (None, Some(m)) => m.to_owned(),
        (None, None) => FALLBACK_CAPACITY.to_owned(),
    }
}

/// Creates PVC `name` restored from VolumeSnapshot `snapshot`.
pub async fn create_from_snapshot(
    client: &kube::Client,
    ns: &str,
    name: &str,
    snapshot: &str,
    template: &Template,
    labels: &BTreeMap<String, String>,
    owner: Option<&Owner>,
) -> Result<()> {
    let source = TypedLocalObjectReference {
        api_group: Some(snapshot::GROUP.to_owned()),
        kind: "VolumeSnapshot".to_owned(),
        name: snapshot.to_owned(),
    };
    create(client, ns, name, source, template, labels, owner).await
}

/// Creates PVC `name` as a CSI clone of PVC `source_pvc`.
pub async fn create_clone(
    client: &kube::Client,
    ns: &str,
    name: &str,
    source_pvc: &str,
    template: &Template,
    labels: &BTreeMap<String, String>,
    owner: Option<&Owner>,
) -> Result<()> {
    let source = TypedLocalObjectReference {
        api_group: None,
        kind: KIND.to_owned(),
        name: source_pvc.to_owned(),
    };
    create(client, ns, name, source, template, labels, owner).await
}

/// Creates the PVC. Creating it again is fine (a retried step) when the one there has the same
/// data source; one with another source is stale data and is refused.
async fn create(
    client: &kube::Client,
    ns: &str,
    name: &str,
    source: TypedLocalObjectReference,
    template: &Template,
    labels: &BTreeMap<String, String>,
    owner: Option<&Owner>,
) -> Result<()> {
    let api = api(client, ns);
    let claim = claim(ns, name, source.clone(), template, labels, owner);
    match api.create(&PostParams::default(), &claim).await {
        Ok(_) => Ok(()),
        Err(e) if is_already_exists(&e) => {
            let there = api
                .get(name)
                .await
                .map_err(Error::api("reading", KIND, ns, name))?;
            let there_source = there.spec.and_then(|s| s.data_source);
            if there_source.as_ref() == Some(&source) {
                return Ok(());
            }
            Err(Error::AlreadyExists {
                kind: KIND,
                namespace: ns.to_owned(),
                name: name.to_owned(),
                hint: format!(
                    "it was not made from {} {}; delete it (a leftover of an earlier sync)",
                    source.kind, source.name
                ),
            })
        }
        Err(e) => Err(Error::api("creating", KIND, ns, name)(e)),
    }
}

fn claim(
    ns: &str,
    name: &str,
    source: TypedLocalObjectReference,
    template: &Template,
    labels: &BTreeMap<String, String>,
    owner: Option<&Owner>,
) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(ns.to_owned()),
            labels: Some(labels.clone()),
            owner_references: owner.map(|o| vec![o.reference()]),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(template.access_modes.clone()),
            storage_class_name: template.storage_class.clone(),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_owned(),
                    Quantity(template.capacity.clone()),
                )])),
                limits: None,
            }),
            data_source: Some(source),
            ..PersistentVolumeClaimSpec::default()
        }),
        status: None,
    }
}

/// Waits until the PVC is Bound. Only for StorageClasses with `Immediate` binding: with
/// `WaitForFirstConsumer` a PVC binds only once a pod uses it, so wait for the pod instead.
pub async fn wait_bound(
    client: &kube::Client,
    ns: &str,
    name: &str,
    timeout: Duration,
) -> Result<()> {
    let api = &api(client, ns);
    let what = format!("{KIND} {ns}/{name} to be Bound");
    wait::until(what, timeout, || async move {
        let claim = api
            .get_opt(name)
            .await
            .map_err(Error::api("reading", KIND, ns, name))?
            .ok_or_else(|| Error::NotFound {
                kind: KIND,
                namespace: ns.to_owned(),
                name: name.to_owned(),
                hint: "it was deleted while the sync waited for it to be bound".to_owned(),
            })?;
        let phase = claim.status.and_then(|s| s.phase).unwrap_or_default();
        Ok(if phase == "Bound" {
            Poll::Done(())
        } else {
            Poll::Pending(Some(format!("phase {phase:?}")))
        })
    })
    .await
}

/// Deletes a PVC; one already gone is fine.
pub async fn delete(client: &kube::Client, ns: &str, name: &str) -> Result<()> {
    match api(client, ns).delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(Error::api("deleting", KIND, ns, name)(e)),
    }
}

#[cfg(test)]
mod tests;
