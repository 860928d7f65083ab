//! Where the test cluster keeps things on this machine, as a test sees them: the directory of
//! a PVC's volume (the CSI hostpath driver's `<data dir>/<volume handle>`), the output of a
//! container the pod runner ran, and whether the pod runner is running.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod};
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

/// The file the pod runner writes `container`'s output of `pod` to.
pub fn container_log(cluster: &Cluster, pod: &Pod, container: &str) -> anyhow::Result<PathBuf> {
    let meta = &pod.metadata;
    let dir = format!(
        "{}_{}_{}",
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default(),
        meta.uid.as_deref().unwrap_or_default()
    );
    Ok(PathBuf::from(cluster.var("FERRY_RUNNER_DIR")?)
        .join("pods")
        .join(dir)
        .join(format!("{container}.log")))
}

/// Fails unless the cluster's pod runner runs (it is started by `tests/cluster/up` when
/// `target/<profile>/ferry-pod-runner` is built).
pub fn require_runner(cluster: &Cluster) -> anyhow::Result<()> {
    let pid_file = cluster.state.join("pids/ferry-pod-runner.pid");
    let pid = std::fs::read_to_string(&pid_file).unwrap_or_default();
    let pid = pid.trim();
    if pid.is_empty() || !PathBuf::from(format!("/proc/{pid}")).exists() {
        bail!(
            "the pod runner is not running ({} has no live pid): build it with \
             `cargo build --workspace --bins` (make test does), then run the tests again",
            pid_file.display()
        );
    }
    Ok(())
}
