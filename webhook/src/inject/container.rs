//! The sidecar container and the volumes it brings, as raw JSON ready for the patch.

use ferry_api::annotations::Binding;
use std::collections::BTreeMap;

use ferry_api::contract::{self, Role, SidecarContainer, env};
use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use serde_json::{Value, json};

use super::plan::{Identity, Plan};
use super::settings::Settings;

pub use ferry_api::contract::{CONTAINER, VOLUMES_DIR};
/// Name of the projected token volume added when the pod turns automount off.
pub const TOKEN_VOLUME: &str = "ferry-sa-token";
/// Name of the sidecar's scratch volume.
pub const SCRATCH_VOLUME: &str = "ferry-scratch";
/// Where Kubernetes clients look for the service-account token.
const TOKEN_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The sidecar container, built by the contract's builder and serialised for the patch.
pub fn container(plan: &Plan, settings: &Settings) -> Value {
    let (role, object) = match &plan.binding {
        Binding::Source(name) => (Role::Source.as_str(), name),
        Binding::Destination(name) => (Role::Destination.as_str(), name),
    };
    let mut built = SidecarContainer::new(CONTAINER, &settings.image, "run")
        .env_from_field(env::POD_NAME, "metadata.name")
        .env_from_field(env::POD_NAMESPACE, "metadata.namespace")
        .env_from_field(env::POD_UID, "metadata.uid")
        .env_from_field(env::POD_IP, "status.podIP")
        .env_from_field(env::SERVICE_ACCOUNT, "spec.serviceAccountName")
        .env(env::FERRY_ROLE, role)
        .env(env::FERRY_OBJECT, object.as_str())
        .env(env::FERRY_VOLUME, plan.replicated.as_str())
        .env(
            env::FERRY_VOLUME_PATH,
            format!("{VOLUMES_DIR}/{}", plan.replicated),
        );
    if let Some(schedule) = &plan.annotations.schedule {
        built = built.env(env::FERRY_SCHEDULE, schedule.to_string());
    }
    if let Some(zone) = plan
        .annotations
        .time_zone
        .as_ref()
        .and_then(|z| z.iana_name())
    {
        built = built.env(env::FERRY_TIME_ZONE, zone);
    }
    if let Some(jitter) = &plan.annotations.jitter {
        built = built.env(env::FERRY_JITTER, jitter.as_str());
    }
    for m in &plan.mounts {
        let path = format!("{VOLUMES_DIR}/{}", m.volume);
        built = built.mount(&m.volume, &path, Some(m.read_only));
    }
    built = built.mount(SCRATCH_VOLUME, contract::SCRATCH_DIR, None);
    if plan.token_volume {
        built = built.mount(TOKEN_VOLUME, TOKEN_DIR, Some(true));
    } else if let Some(volume) = &plan.api_access_volume {
        // The mount ServiceAccount admission would append; see `Plan::api_access_volume`.
        built = built.mount(volume, TOKEN_DIR, Some(true));
    }
    built = built.resources(Some(ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".to_owned(), Quantity(plan.resources.cpu.clone())),
            ("memory".to_owned(), Quantity(plan.resources.memory.clone())),
        ])),
        limits: Some(BTreeMap::from([(
            "memory".to_owned(),
            Quantity(plan.resources.memory_limit.clone()),
        )])),
        ..ResourceRequirements::default()
    }));
    // Restricted Pod Security by default; root with a few capabilities where allowed.
    built = match plan.identity {
        Identity::Restricted(user) => built.security(user, false),
        Identity::Root => built.security(Some(0), true),
    };
    if matches!(plan.binding, Binding::Destination(_)) {
        built = built.port("ssh", contract::SSH_PORT);
    }
    let mut container = built.build();
    container.image_pull_policy = Some(settings.pull_policy.clone());
    if plan.native {
        container.restart_policy = Some("Always".to_owned());
    }
    json!(container)
}

/// The volumes the sidecar brings: its scratch space and, when needed, its own token. No
/// Secret volumes: the sidecar reads the CR's Secrets through the API, where a missing one
/// becomes a status message that names it.
pub fn volumes(plan: &Plan) -> Vec<Value> {
    let mut volumes = vec![
        json!({"name": SCRATCH_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}}),
    ];
    if plan.token_volume {
        volumes.push(json!({"name": TOKEN_VOLUME, "projected": {"defaultMode": 0o444, "sources": [
            {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
        ]}}));
    }
    volumes
}
