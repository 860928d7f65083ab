//! The objects of a replication test as JSON, the way a user writes them: claims, the
//! rclone Secret, opted-in pods and Deployments, the two CRs and the sidecar's RoleBinding.
//! Tests adjust a manifest with `value["spec"][...] = json!(...)` before creating it.

use serde_json::{Value, json};

use super::s3::SECTION;

/// The ClusterRole the tests' release of the chart grants the sidecar.
pub const SIDECAR_CLUSTER_ROLE: &str = crate::ferry::SIDECAR_CLUSTER_ROLE;
/// The app image of the node (`tests/cluster/images/build node`): busybox and ferry-probe.
pub const APP_IMAGE: &str = "ferry.local/test-app:1";
/// The app's command: it waits, and ends at once on SIGTERM (as pid 1 without a handler,
/// `sleep` would make every pod deletion wait out its grace period).
pub const APP_COMMAND: [&str; 3] = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"];
/// The key of the rclone config in its Secret.
pub const RCLONE_CONF_KEY: &str = "rclone.conf";
/// The user the test pods (and so their sidecars) run as.
pub const POD_USER: i64 = 1000;

/// Which CR a pod binds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// `ferry.dev/source`.
    Source,
    /// `ferry.dev/destination`.
    Destination,
}

impl Role {
    /// The CR kind.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Source => "ReplicationSource",
            Self::Destination => "ReplicationDestination",
        }
    }

    /// The pod annotation that binds the CR.
    pub fn annotation(self) -> &'static str {
        match self {
            Self::Source => ferry_api::annotations::SOURCE,
            Self::Destination => ferry_api::annotations::DESTINATION,
        }
    }

    /// The `role` label of the sidecar's metrics.
    pub fn label(self) -> &'static str {
        match self {
            Self::Source => "source",
            Self::Destination => "destination",
        }
    }
}

/// A PVC on the cluster's CSI hostpath class.
pub fn claim(name: &str, size: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "csi-hostpath-sc",
            "resources": {"requests": {"storage": size}}}})
}

/// A PVC restored from a VolumeSnapshot (a destination's `latestImage`).
pub fn restored_claim(name: &str, snapshot: &str, size: &str) -> Value {
    let mut claim = claim(name, size);
    claim["spec"]["dataSource"] = json!({
        "apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": snapshot});
    claim
}

/// A Secret holding an rclone.conf under [`RCLONE_CONF_KEY`].
pub fn rclone_secret(name: &str, conf: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
        "stringData": {RCLONE_CONF_KEY: conf}})
}

/// A RoleBinding of [`SIDECAR_CLUSTER_ROLE`] to `service_account` in `namespace`.
pub fn sidecar_binding(namespace: &str, service_account: &str) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": SIDECAR_CLUSTER_ROLE},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": SIDECAR_CLUSTER_ROLE},
        "subjects": [{"kind": "ServiceAccount", "name": service_account, "namespace": namespace}]})
}

/// A restricted-compliant pod template labelled `app: <app>` and opted in, binding `cr` in
/// `role`, with the app's volume `data` on `claim_name`. The app container runs on the node
/// and waits; tests write its data into the claim's directory.
pub fn pod_template(app: &str, role: Role, cr: &str, claim_name: &str) -> Value {
    json!({
        "metadata": {
            "labels": {"app": app, ferry_api::annotations::INJECT_LABEL: "true"},
            "annotations": {role.annotation(): cr},
        },
        "spec": {
            "terminationGracePeriodSeconds": 30,
            "securityContext": {"runAsNonRoot": true, "runAsUser": POD_USER, "runAsGroup": POD_USER,
                "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "app", "image": APP_IMAGE, "imagePullPolicy": "Never",
                "command": APP_COMMAND,
                "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}},
                "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim_name}}],
        },
    })
}

/// A Deployment of `replicas` pods from `template` (selected by its `app` label).
pub fn deployment(name: &str, replicas: u32, template: &Value) -> Value {
    let app = template["metadata"]["labels"]["app"].clone();
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": app}}, "template": template}})
}

/// A bare Pod from `template`.
pub fn pod(name: &str, template: &Value) -> Value {
    let mut pod = template.clone();
    pod["apiVersion"] = json!("v1");
    pod["kind"] = json!("Pod");
    pod["metadata"]["name"] = json!(name);
    pod
}

/// A manual trigger.
pub fn manual(token: &str) -> Value {
    json!({"manual": token})
}

/// A ReplicationSource pushing `pvc` to `bucket/prefix` with the rclone mover.
pub fn rclone_source(
    name: &str,
    pvc: &str,
    secret: &str,
    dest_path: &str,
    copy_method: &str,
    trigger: Option<Value>,
) -> Value {
    let mut source = json!({"apiVersion": api_version(), "kind": "ReplicationSource",
        "metadata": {"name": name},
        "spec": {"sourcePVC": pvc, "rclone": {"rcloneConfig": secret, "rcloneConfigSection": SECTION,
            "rcloneDestPath": dest_path, "copyMethod": copy_method}}});
    if let Some(trigger) = trigger {
        source["spec"]["trigger"] = trigger;
    }
    source
}

/// A ReplicationDestination pulling `bucket/prefix` into its pod's volume with the rclone
/// mover, publishing snapshots and keeping `retain`.
pub fn rclone_destination(
    name: &str,
    secret: &str,
    dest_path: &str,
    retain: u32,
    trigger: Option<Value>,
) -> Value {
    let mut destination = json!({"apiVersion": api_version(), "kind": "ReplicationDestination",
        "metadata": {"name": name},
        "spec": {"rclone": {"rcloneConfig": secret, "rcloneConfigSection": SECTION,
            "rcloneDestPath": dest_path, "copyMethod": "Snapshot", "retain": retain}}});
    if let Some(trigger) = trigger {
        destination["spec"]["trigger"] = trigger;
    }
    destination
}

/// A ReplicationDestination receiving rsync pushes into its pod's volume, with generated
/// keys, publishing snapshots and keeping `retain`.
pub fn rsync_destination(name: &str, retain: u32) -> Value {
    json!({"apiVersion": api_version(), "kind": "ReplicationDestination",
        "metadata": {"name": name},
        "spec": {"rsync": {"copyMethod": "Snapshot", "retain": retain}}})
}

/// A ReplicationSource pushing `pvc` over rsync to `address:port` with the keys in
/// `keys_secret`.
pub fn rsync_source(
    name: &str,
    pvc: &str,
    address: &str,
    port: u16,
    keys_secret: &str,
    copy_method: &str,
    trigger: Option<Value>,
) -> Value {
    let mut source = json!({"apiVersion": api_version(), "kind": "ReplicationSource",
        "metadata": {"name": name},
        "spec": {"sourcePVC": pvc, "rsync": {"address": address, "port": port,
            "sshKeys": keys_secret, "copyMethod": copy_method}}});
    if let Some(trigger) = trigger {
        source["spec"]["trigger"] = trigger;
    }
    source
}

fn api_version() -> String {
    format!("{}/{}", ferry_api::GROUP, ferry_api::VERSION)
}
