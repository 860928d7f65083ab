//! The sidecar container and the volumes it brings, as raw JSON ready for the patch.

use ferry_api::annotations::Binding;
use serde_json::{Value, json};

use super::plan::{Identity, Plan};
use super::settings::Settings;

/// The container's name; the pod runner and the webhook's idempotence check look for it.
pub const CONTAINER: &str = "ferry-sidecar";
/// Where the pod's claim volumes appear in the sidecar.
pub const VOLUMES_DIR: &str = "/ferry/volumes";
/// Where Secrets appear in the sidecar.
pub const SECRETS_DIR: &str = "/ferry/secrets";
/// The SSH port of a destination.
pub const SSH_PORT: i64 = 2222;
/// Name of the projected token volume added when the pod turns automount off.
pub const TOKEN_VOLUME: &str = "ferry-sa-token";
/// Name of the sidecar's scratch volume.
pub const SCRATCH_VOLUME: &str = "ferry-scratch";
/// Where the scratch volume is mounted: the sidecar's temp directory. Its root filesystem is
/// read-only, and it writes a few small private files (the rsync transport's key, the SSH
/// server's completion marker).
const SCRATCH_DIR: &str = "/tmp";
/// Where Kubernetes clients look for the service-account token.
const TOKEN_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// Capabilities of the root variant: enough to read everything and preserve ownership.
const ROOT_CAPABILITIES: [&str; 5] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
];

/// The name of the volume for the `index`th Secret.
pub fn secret_volume(index: usize) -> String {
    format!("ferry-secret-{index}")
}

/// The sidecar container.
pub fn container(plan: &Plan, settings: &Settings) -> Value {
    let (role, object) = match &plan.binding {
        Binding::Source(name) => ("source", name),
        Binding::Destination(name) => ("destination", name),
    };
    let mut env = vec![
        field_env("POD_NAME", "metadata.name"),
        field_env("POD_NAMESPACE", "metadata.namespace"),
        field_env("POD_UID", "metadata.uid"),
        field_env("POD_IP", "status.podIP"),
        field_env("NODE_NAME", "spec.nodeName"),
        field_env("SERVICE_ACCOUNT", "spec.serviceAccountName"),
        json!({"name": "FERRY_ROLE", "value": role}),
        json!({"name": "FERRY_OBJECT", "value": object}),
        json!({"name": "FERRY_VOLUME", "value": plan.replicated}),
        json!({"name": "FERRY_VOLUME_PATH", "value": format!("{VOLUMES_DIR}/{}", plan.replicated)}),
        json!({"name": "FERRY_SECRETS_DIR", "value": SECRETS_DIR}),
    ];
    if let Some(schedule) = &plan.annotations.schedule {
        env.push(json!({"name": "FERRY_SCHEDULE", "value": schedule.to_string()}));
    }
    if let Some(zone) = plan
        .annotations
        .time_zone
        .as_ref()
        .and_then(|z| z.iana_name())
    {
        env.push(json!({"name": "FERRY_TIME_ZONE", "value": zone}));
    }
    let mut mounts: Vec<Value> = plan
        .mounts
        .iter()
        .map(|m| json!({"name": m.volume, "mountPath": format!("{VOLUMES_DIR}/{}", m.volume), "readOnly": m.read_only}))
        .collect();
    mounts.extend(plan.secrets.iter().enumerate().map(|(i, secret)| {
        json!({"name": secret_volume(i), "mountPath": format!("{SECRETS_DIR}/{secret}"), "readOnly": true})
    }));
    mounts.push(json!({"name": SCRATCH_VOLUME, "mountPath": SCRATCH_DIR}));
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
                json!([{"name": "ssh", "containerPort": SSH_PORT, "protocol": "TCP"}]),
            );
        }
    }
    container
}

fn field_env(name: &str, path: &str) -> Value {
    json!({"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}})
}

/// Restricted Pod Security by default; root with a few capabilities where allowed.
fn security_context(identity: Identity) -> Value {
    match identity {
        Identity::Restricted(user) => {
            let mut ctx = json!({
                "runAsNonRoot": true,
                "allowPrivilegeEscalation": false,
                "readOnlyRootFilesystem": true,
                "capabilities": {"drop": ["ALL"]},
                "seccompProfile": {"type": "RuntimeDefault"},
            });
            if let (Some(user), Some(map)) = (user, ctx.as_object_mut()) {
                map.insert("runAsUser".to_owned(), json!(user));
            }
            ctx
        }
        Identity::Root => json!({
            "runAsUser": 0,
            "runAsNonRoot": false,
            "allowPrivilegeEscalation": false,
            "readOnlyRootFilesystem": true,
            "capabilities": {"drop": ["ALL"], "add": ROOT_CAPABILITIES},
            "seccompProfile": {"type": "RuntimeDefault"},
        }),
    }
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
