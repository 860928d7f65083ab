//! The sidecar container and the volumes it brings, as raw JSON ready for the patch.

use ferry_api::annotations::Binding;
use std::collections::BTreeMap;

use ferry_api::contract::{self, Role, SidecarContainer, env};
use k8s_openapi::api::core::v1::{Container, ResourceRequirements};
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

/// The sidecar container, built by the contract's builder; the patch writes it as it is.
/// A native sidecar that runs the restore step writes the volume, and holds the app
/// containers back with its startup probe.
pub fn container(plan: &Plan, settings: &Settings) -> Container {
    let gate = plan.restore.as_ref().filter(|_| plan.native);
    let mut built = common(plan, settings, CONTAINER, "run", gate.is_some());
    if let Some(gate) = gate {
        for (name, value) in super::restore::env_vars(gate) {
            built = built.env(name, value);
        }
    }
    if matches!(plan.binding, Binding::Destination(_)) {
        built = built.port("ssh", contract::SSH_PORT);
    }
    let mut container = built.build();
    container.image_pull_policy = Some(settings.pull_policy.clone());
    if plan.native {
        container.restart_policy = Some("Always".to_owned());
    }
    if gate.is_some() {
        container.startup_probe = Some(super::restore::startup_probe());
    }
    container
}

/// The init container that runs the restore step when the sidecar is not a native one
/// (placed before the app's init containers); `None` when there is no step to run there.
pub fn restore_container(plan: &Plan, settings: &Settings) -> Option<Container> {
    let gate = plan.restore.as_ref().filter(|_| !plan.native)?;
    let mut built = common(
        plan,
        settings,
        contract::restore::INIT_CONTAINER,
        contract::restore::SUBCOMMAND,
        true,
    );
    for (name, value) in super::restore::env_vars(gate) {
        built = built.env(name, value);
    }
    let mut container = built.build();
    container.image_pull_policy = Some(settings.pull_policy.clone());
    // The step writes what to fix to the termination log; the log's tail otherwise.
    container.termination_message_policy = Some("FallbackToLogsOnError".to_owned());
    Some(container)
}

/// What every Ferry container of the pod shares: the environment, the volumes (the
/// replicated one writable when `writes` or for a destination), the token, the resources
/// and the security context.
fn common(
    plan: &Plan,
    settings: &Settings,
    name: &str,
    subcommand: &str,
    writes: bool,
) -> SidecarContainer {
    let (role, object) = match &plan.binding {
        Binding::Source(name) => (Role::Source.as_str(), name),
        Binding::Destination(name) => (Role::Destination.as_str(), name),
    };
    let mut built = SidecarContainer::new(name, &settings.image, subcommand)
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
        let read_only = m.read_only && !(writes && m.volume == plan.replicated);
        built = built.mount(&m.volume, &path, Some(read_only));
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
    match plan.identity {
        Identity::Restricted(user) => built.security(user, false),
        Identity::Root => built.security(Some(0), true),
    }
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
