//! What the webhook knows about the cluster, kept in caches so an admission answer never
//! waits on a list: namespaces (for the privileged-movers label), Ferry's CRs (to mount their
//! Secrets), whether native sidecars are supported, and a short-lived cache of RBAC checks.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferry_api::annotations::{Binding, PRIVILEGED_MOVERS_LABEL};
use ferry_api::{ReplicationDestination, ReplicationSource};
use futures::StreamExt;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::{Namespace, Node};
use kube::api::{Api, ListParams, PostParams};
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use tracing::debug;

use crate::inject::{BoundObject, Facts};

/// How long an RBAC answer is reused: pods of one workload arrive in bursts.
const RBAC_TTL: Duration = Duration::from_secs(30);
/// How often native-sidecar support is re-checked (nodes join and upgrade).
const CAPABILITY_REFRESH: Duration = Duration::from_secs(60);
/// The first Kubernetes minor version with native sidecars on by default.
const NATIVE_SIDECAR_MINOR: u32 = 29;

type RbacCache = Mutex<HashMap<(String, String), (Instant, Option<String>)>>;

/// The webhook's view of the cluster. Without a client (tests, benchmarks) it knows nothing
/// and assumes native sidecars per `offline_native`.
pub struct ClusterView {
    client: Option<kube::Client>,
    namespaces: Option<Store<PartialObjectMeta<Namespace>>>,
    sources: Option<Store<ReplicationSource>>,
    destinations: Option<Store<ReplicationDestination>>,
    native: Arc<AtomicBool>,
    rbac: RbacCache,
}

impl std::fmt::Debug for ClusterView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterView")
            .field("online", &self.client.is_some())
            .finish()
    }
}

impl ClusterView {
    /// A view with no cluster behind it.
    pub fn offline(native: bool) -> Self {
        Self {
            client: None,
            namespaces: None,
            sources: None,
            destinations: None,
            native: Arc::new(AtomicBool::new(native)),
            rbac: Mutex::new(HashMap::new()),
        }
    }

    /// Starts the caches and the capability check in the background.
    pub fn start(client: kube::Client) -> Self {
        let namespaces = spawn_reflector(watcher(
            Api::<PartialObjectMeta<Namespace>>::all(client.clone()),
            watcher::Config::default(),
        ));
        let sources = spawn_reflector(watcher(
            Api::<ReplicationSource>::all(client.clone()),
            watcher::Config::default(),
        ));
        let destinations = spawn_reflector(watcher(
            Api::<ReplicationDestination>::all(client.clone()),
            watcher::Config::default(),
        ));
        let native = Arc::new(AtomicBool::new(false));
        tokio::spawn(refresh_capability(client.clone(), Arc::clone(&native)));
        Self {
            client: Some(client),
            namespaces: Some(namespaces),
            sources: Some(sources),
            destinations: Some(destinations),
            native,
            rbac: Mutex::new(HashMap::new()),
        }
    }

    /// The facts for one pod of `namespace` bound to `binding`, running as `service_account`.
    pub async fn facts(&self, namespace: &str, binding: &Binding, service_account: &str) -> Facts {
        let privileged = self.namespaces.as_ref().is_some_and(|store| {
            store
                .get(&ObjectRef::new(namespace))
                .and_then(|ns| {
                    ns.metadata
                        .labels
                        .as_ref()
                        .map(|l| l.get(PRIVILEGED_MOVERS_LABEL).map(String::as_str) == Some("true"))
                })
                .unwrap_or(false)
        });
        let bound = self.bound(namespace, binding);
        let mut warnings = Vec::new();
        if let Some(warning) = self.rbac_warning(namespace, binding, service_account).await {
            warnings.push(warning);
        }
        Facts {
            cluster_supports_native: self.native.load(Ordering::Relaxed),
            privileged_namespace: privileged,
            // Offline, nothing is known: do not warn that the CR is missing.
            bound: if self.client.is_some() {
                bound
            } else {
                Some(BoundObject::default())
            },
            warnings,
        }
    }

    fn bound(&self, namespace: &str, binding: &Binding) -> Option<BoundObject> {
        match binding {
            Binding::Source(name) => {
                let source = self
                    .sources
                    .as_ref()?
                    .get(&ObjectRef::new(name).within(namespace))?;
                Some(BoundObject {
                    pvc: Some(source.spec.source_pvc.clone()),
                    restore: source
                        .spec
                        .rclone
                        .as_ref()
                        .is_some_and(|r| r.restore_on_empty.is_some()),
                })
            }
            Binding::Destination(name) => {
                let destination = self
                    .destinations
                    .as_ref()?
                    .get(&ObjectRef::new(name).within(namespace))?;
                let spec = &destination.spec;
                let pvc = spec
                    .rsync
                    .as_ref()
                    .and_then(|r| r.destination_pvc.clone())
                    .or_else(|| spec.rclone.as_ref().and_then(|r| r.destination_pvc.clone()));
                Some(BoundObject {
                    pvc,
                    restore: false,
                })
            }
        }
    }

    /// A warning when the pod's service account cannot read its CR or write its status.
    async fn rbac_warning(
        &self,
        namespace: &str,
        binding: &Binding,
        service_account: &str,
    ) -> Option<String> {
        let client = self.client.as_ref()?;
        let key = (namespace.to_owned(), service_account.to_owned());
        if let Ok(cache) = self.rbac.lock()
            && let Some((at, answer)) = cache.get(&key)
            && at.elapsed() < RBAC_TTL
        {
            return answer.clone();
        }
        let resource = match binding {
            Binding::Source(_) => ferry_api::types::SOURCE_PLURAL,
            Binding::Destination(_) => ferry_api::types::DESTINATION_PLURAL,
        };
        let review = SubjectAccessReview {
            spec: SubjectAccessReviewSpec {
                user: Some(format!(
                    "system:serviceaccount:{namespace}:{service_account}"
                )),
                groups: Some(vec![
                    "system:serviceaccounts".to_owned(),
                    format!("system:serviceaccounts:{namespace}"),
                ]),
                resource_attributes: Some(ResourceAttributes {
                    namespace: Some(namespace.to_owned()),
                    group: Some(ferry_api::GROUP.to_owned()),
                    resource: Some(resource.to_owned()),
                    subresource: Some("status".to_owned()),
                    verb: Some("patch".to_owned()),
                    ..ResourceAttributes::default()
                }),
                ..SubjectAccessReviewSpec::default()
            },
            ..SubjectAccessReview::default()
        };
        let api: Api<SubjectAccessReview> = Api::all(client.clone());
        let answer = match tokio::time::timeout(
            Duration::from_secs(1),
            api.create(&PostParams::default(), &review),
        )
        .await
        {
            Ok(Ok(result)) if result.status.as_ref().is_some_and(|s| s.allowed) => None,
            Ok(Ok(_)) => Some(format!(
                "service account {service_account:?} cannot update {resource}: bind ClusterRole ferry-sidecar in {namespace:?}"
            )),
            // No answer is no warning: the check is advice, never a reason to fail a pod.
            other => {
                debug!(?other, "SubjectAccessReview gave no answer");
                return None;
            }
        };
        if let Ok(mut cache) = self.rbac.lock() {
            cache.insert(key, (Instant::now(), answer.clone()));
        }
        answer
    }
}

/// Runs a reflector in the background and returns its store.
fn spawn_reflector<K, S>(stream: S) -> Store<K>
where
    K: kube::Resource + Clone + std::fmt::Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone + Send + Sync,
    S: futures::Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
{
    let (reader, writer) = reflector::store();
    tokio::spawn(async move {
        let mut events = std::pin::pin!(stream.default_backoff().reflect(writer));
        while let Some(event) = events.next().await {
            if let Err(err) = event {
                debug!(error = %err, "watch error; retrying");
            }
        }
    });
    reader
}

/// Re-checks, every minute, whether the apiserver and every kubelet support native sidecars.
async fn refresh_capability(client: kube::Client, native: Arc<AtomicBool>) {
    loop {
        if let Some(supported) = native_supported(&client).await {
            native.store(supported, Ordering::Relaxed);
        }
        tokio::time::sleep(CAPABILITY_REFRESH).await;
    }
}

/// `Some(true)` when the apiserver and all nodes are 1.29 or later; with no nodes the
/// apiserver decides alone. `None` when the cluster could not be asked.
async fn native_supported(client: &kube::Client) -> Option<bool> {
    let info = client.apiserver_version().await.ok()?;
    let server_ok = minor(&info.major, &info.minor)? >= NATIVE_SIDECAR_MINOR;
    let nodes = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await
        .ok()?;
    let nodes_ok = nodes.items.iter().all(|node| {
        node.status
            .as_ref()
            .and_then(|s| s.node_info.as_ref())
            .and_then(|i| kubelet_minor(&i.kubelet_version))
            .is_some_and(|m| m >= NATIVE_SIDECAR_MINOR)
    });
    Some(server_ok && nodes_ok)
}

/// The minor version of a 1.x server, from `/version`'s `major` and `minor` (e.g. `"29+"`).
fn minor(major: &str, minor: &str) -> Option<u32> {
    if major.trim_end_matches('+') != "1" {
        return None;
    }
    minor.trim_end_matches('+').parse().ok()
}

/// The minor version of a kubelet version string such as `v1.30.2`.
fn kubelet_minor(version: &str) -> Option<u32> {
    let mut parts = version.trim_start_matches('v').split('.');
    let (major, minor) = (parts.next()?, parts.next()?);
    self::minor(major, minor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(minor("1", "29"), Some(29));
        assert_eq!(minor("1", "30+"), Some(30));
        assert_eq!(minor("2", "0"), None);
        assert_eq!(kubelet_minor("v1.28.5"), Some(28));
        assert_eq!(kubelet_minor("v1.37.1-gke.1"), Some(37));
        assert_eq!(kubelet_minor("garbage"), None);
    }
}
