//! Facts about this sidecar's own pod that only the API knows: its image (the mover runs the
//! same one), its service account, the claim behind the replicated volume, and the user the
//! sidecar runs as (the mover runs as the same user, so it can read what the app wrote).

use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;

use super::env::Identity;
use super::{Error, Result};

/// The container the webhook injects.
pub const CONTAINER: &str = "ferry-sidecar";

/// What the sidecar learns from its pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodFacts {
    /// The sidecar's image.
    pub image: String,
    /// The pod's service account.
    pub service_account: Option<String>,
    /// The PVC behind the replicated volume.
    pub claim: Option<String>,
    /// The sidecar's user.
    pub run_as_user: Option<i64>,
    /// The pod's UID.
    pub uid: Option<String>,
    /// The hook settings of the pod's annotations (`ferry.dev/pre-sync-hook`, ...).
    pub hook_overrides: ferry_api::validate::HookOverrides,
}

/// Reads the pod.
pub async fn facts(client: &kube::Client, who: &Identity) -> Result<PodFacts> {
    let pod = Api::<Pod>::namespaced(client.clone(), &who.namespace)
        .get(&who.pod_name)
        .await
        .map_err(|e| Error::api(format!("reading pod {}", who.pod_name), e, who))?;
    Ok(from_pod(&pod, &who.volume))
}

/// The facts of a pod (pure).
pub fn from_pod(pod: &Pod, volume: &str) -> PodFacts {
    let spec = pod.spec.clone().unwrap_or_default();
    let sidecar = spec
        .init_containers
        .iter()
        .flatten()
        .chain(spec.containers.iter())
        .find(|c| c.name == CONTAINER);
    let claim = spec
        .volumes
        .iter()
        .flatten()
        .find(|v| v.name == volume)
        .and_then(|v| v.persistent_volume_claim.as_ref())
        .map(|c| c.claim_name.clone());
    let run_as_user = sidecar
        .and_then(|c| c.security_context.as_ref())
        .and_then(|s| s.run_as_user)
        .or_else(|| spec.security_context.as_ref().and_then(|s| s.run_as_user));
    PodFacts {
        image: sidecar.and_then(|c| c.image.clone()).unwrap_or_default(),
        service_account: spec.service_account_name.clone(),
        claim,
        run_as_user,
        uid: pod.metadata.uid.clone(),
        hook_overrides: super::hooks::pod_overrides(
            pod.metadata
                .annotations
                .as_ref()
                .unwrap_or(&Default::default()),
        ),
    }
}
