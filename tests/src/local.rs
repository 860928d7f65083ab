//! Where the test cluster keeps things on this machine, as a test sees them: the directory of
//! a PVC's volume (the CSI hostpath driver's `<data dir>/<volume handle>`, which the node's
//! CSI node service bind-mounts into pods).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use kube::Api;

use crate::cluster::Cluster;
use crate::wait::eventually;

/// Waits (up to `limit`) for PVC `ns/name` to be Bound and returns its volume's directory.
pub async fn volume_dir(
    cluster: &Cluster,
    client: &kube::Client,
    ns: &str,
    name: &str,
    limit: Duration,
) -> anyhow::Result<PathBuf> {
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns);
    let pv_name = eventually(limit, &format!("PVC {ns}/{name} to be Bound"), || async {
        let claim = claims.get(name).await?;
        let bound = claim.status.and_then(|s| s.phase).as_deref() == Some("Bound");
        Ok(claim.spec.and_then(|s| s.volume_name).filter(|_| bound))
    })
    .await?;
    let pv = Api::<PersistentVolume>::all(client.clone())
        .get(&pv_name)
        .await?;
    let csi = pv
        .spec
        .and_then(|s| s.csi)
        .with_context(|| format!("PV {pv_name} is not a CSI volume"))?;
    Ok(PathBuf::from(cluster.var("FERRY_CSI_DATA_DIR")?).join(csi.volume_handle))
}
