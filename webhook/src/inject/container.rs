//! The sidecar container and the volumes it brings, as raw JSON ready for the patch.

use ferry_api::annotations::Binding;
use ferry_api::contract::{self, Role, env};
use serde_json::{Value, json};

use super::plan::{Identity, Plan};
use super::settings::Settings;

pub use ferry_api::contract::{CONTAINER, VOLUMES_DIR};
/// Where the bound CR's Secrets are mounted in the sidecar.
pub const SECRETS_DIR: &str = "/ferry/secrets";
/// Name of the projected token volume added when the pod turns automount off.
pub const TOKEN_VOLUME: &str = "ferry-sa-token";
/// Name of the sidecar's scratch volume.
pub const SCRATCH_VOLUME: &str = "ferry-scratch";
/// Where Kubernetes clients look for the service-account token.
const TOKEN_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The name of the volume for the `index`th Secret.
pub fn secret_volume(index: usize) -> String {
    format!("ferry-secret-{index}")
}

/// The sidecar container.
pub fn container(plan: &Plan, settings: &Settings) -> Value {
    let (role, object) = match &plan.binding {
        Binding::Source(name) => (Role::Source.as_str(), name),
        Binding::Destination(name) => (Role::Destination.as_str(), name),
    };
    let mut env = vec![
        field_env(env::POD_NAME, "metadata.name"),
        field_env(env::POD_NAMESPACE, "metadata.namespace"),
        field_env(env::POD_UID, "metadata.uid"),
        field_env(env::POD_IP, "status.podIP"),
        field_env(env::SERVICE_ACCOUNT, "spec.serviceAccountName"),
        json!({"name": env::FERRY_ROLE, "value": role}),
        json!({"name": env::FERRY_OBJECT, "value": object}),
        json!({"name": env::FERRY_VOLUME, "value": plan.replicated}),
        json!({"name": env::FERRY_VOLUME_PATH, "value": format!("{VOLUMES_DIR}/{}", plan.replicated)}),
    ];
    if let Some(schedule) = &plan.annotations.schedule {
        env.push(json!({"name": env::FERRY_SCHEDULE, "value": schedule.to_string()}));
    }
    if let Some(zone) = plan
        .annotations
        .time_zone
        .as_ref()
        .and_then(|z| z.iana_name())
    {
        env.push(json!({"name": env::FERRY_TIME_ZONE, "value": zone}));
    }
    let mut mounts: Vec<Value> = plan
        .mounts
        .iter()
        .map(|m| json!({"name": m.volume, "mountPath": format!("{VOLUMES_DIR}/{}", m.volume), "readOnly": m.read_only}))
        .collect();
    mounts.extend(plan.secrets.iter().enumerate().map(|(i, secret)| {
        json!({"name": secret_volume(i), "mountPath": format!("{SECRETS_DIR}/{secret}"), "readOnly": true})
    }));
    mounts.push(json!({"name": SCRATCH_VOLUME, "mountPath": contract::SCRATCH_DIR}));
    if plan.token_volume {
        mounts.push(json!({"name": TOKEN_VOLUME, "mountPath": TOKEN_DIR, "readOnly": true}));
    } else if let Some(volume) = &plan.api_access_volume {
        // The mount ServiceAccount admission would append; see `Plan::api_access_volume`.
        mounts.push(json!({"name": volume, "mountPath": TOKEN_DIR, "readOnly": true}));
    }
    let mut container = json!({
        "name": CONTAINER,
        "image": settings.image,
        "imagePullPolicy": settings.pull_policy,
        "command": ["ferry-sidecar"],
        "args": ["run"],
        "env": env,
        "volumeMounts": mounts,
        "resources": {
            "requests": {"cpu": plan.resources.cpu, "memory": plan.resources.memory},
            "limits": {"memory": plan.resources.memory},
        },
        "securityContext": security_context(plan.identity),
    });
    if let Some(map) = container.as_object_mut() {
        if plan.native {
            map.insert("restartPolicy".to_owned(), json!("Always"));
        }
        if matches!(plan.binding, Binding::Destination(_)) {
            map.insert(
                "ports".to_owned(),
                json!([{"name": "ssh", "containerPort": contract::SSH_PORT, "protocol": "TCP"}]),
            );
        }
    }
    container
}

fn field_env(name: &str, path: &str) -> Value {
    json!({"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}})
}

/// Restricted Pod Security by default; root with a few capabilities where allowed (the
/// contract's one definition, shared with the mover pod).
fn security_context(identity: Identity) -> Value {
    let ctx = match identity {
        Identity::Restricted(user) => contract::security_context(user, false),
        Identity::Root => contract::security_context(Some(0), true),
    };
    json!(ctx)
}

/// The volumes the sidecar brings: its Secrets and, when needed, its own token.
pub fn volumes(plan: &Plan) -> Vec<Value> {
    let mut volumes: Vec<Value> = plan
        .secrets
        .iter()
        .enumerate()
        .map(|(i, secret)| {
            // Optional so a missing Secret delays the sidecar's work, not the app's start.
            json!({"name": secret_volume(i), "secret": {"secretName": secret, "defaultMode": 0o444, "optional": true}})
        })
        .collect();
    volumes.push(
        json!({"name": SCRATCH_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}}),
    );
    if plan.token_volume {
        volumes.push(json!({"name": TOKEN_VOLUME, "projected": {"defaultMode": 0o444, "sources": [
            {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
        ]}}));
    }
    volumes
}
