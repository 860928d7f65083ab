//! Removing the temporary objects of a CR's syncs: after each sync, and before the next one
//! to sweep up what a killed run left behind.

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, DynamicObject, ListParams, ObjectMeta};
use kube::core::{ApiResource, GroupVersionKind};

use super::error::{Error, Result};
use super::{TEMPORARY_LABEL, claim, mover, selected, snapshot};

/// How many objects of each kind were deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cleaned {
    /// Mover pods.
    pub pods: usize,
    /// Temporary PVCs.
    pub claims: usize,
    /// Temporary VolumeSnapshots.
    pub snapshots: usize,
}

/// Deletes every mover pod, PVC and VolumeSnapshot labelled [`TEMPORARY_LABEL`]`=owner_uid`.
/// Pods go first, since they hold the PVCs, and PVCs before the snapshots they were
/// restored from. Objects already being deleted are left to finish and not counted.
pub async fn temporaries(client: &kube::Client, ns: &str, owner_uid: &str) -> Result<Cleaned> {
    let selector = format!("{TEMPORARY_LABEL}={owner_uid}");
    let params = ListParams::default().labels(&selector);

    let pods = Api::<Pod>::namespaced(client.clone(), ns)
        .list_metadata(&params)
        .await
        .map_err(Error::api("listing", "Pod", ns, &selected(&selector)))?;
    let pods = live(pods.items.iter().map(|o| &o.metadata));
    for name in &pods {
        mover::delete(client, ns, name).await?;
    }

    let claims = Api::<PersistentVolumeClaim>::namespaced(client.clone(), ns)
        .list_metadata(&params)
        .await
        .map_err(Error::api(
            "listing",
            "PersistentVolumeClaim",
            ns,
            &selected(&selector),
        ))?;
    let claims = live(claims.items.iter().map(|o| &o.metadata));
    for name in &claims {
        claim::delete(client, ns, name).await?;
    }

    let kind = ApiResource::from_gvk(&GroupVersionKind::gvk(
        snapshot::GROUP,
        "v1",
        "VolumeSnapshot",
    ));
    let snapshots = Api::<DynamicObject>::namespaced_with(client.clone(), ns, &kind)
        .list_metadata(&params)
        .await
        .map_err(Error::api(
            "listing",
            "VolumeSnapshot",
            ns,
            &selected(&selector),
        ))?;
    let snapshots = live(snapshots.items.iter().map(|o| &o.metadata));
    for name in &snapshots {
        snapshot::delete(client, ns, name).await?;
    }

    Ok(Cleaned {
        pods: pods.len(),
        claims: claims.len(),
        snapshots: snapshots.len(),
    })
}

/// The names of the objects not already being deleted.
fn live<'a>(objects: impl Iterator<Item = &'a ObjectMeta>) -> Vec<String> {
    objects
        .filter(|m| m.deletion_timestamp.is_none())
        .filter_map(|m| m.name.clone())
        .collect()
}
