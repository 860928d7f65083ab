//! `kubectl ferry restore NAME --to PVC [--copy TIMESTAMP|latest]`: a new PVC with the
//! replicated data. A destination's `latestImage` becomes the PVC's `dataSource` (a
//! VolumeSnapshot, or a PVC clone for `Direct`); an rclone source or destination is pulled
//! into the new PVC by a one-shot pod running the sidecar image's `ferry-sidecar sync` (the
//! same code, under restricted Pod Security), which is removed afterwards. The objects are
//! built here, purely; [`run`] creates them.

pub mod run;

use serde_json::{Value, json};

/// The label on the one-shot pod, naming the PVC it fills.
pub const RESTORE_LABEL: &str = "ferry.dev/restore-to";
/// Where the one-shot pod mounts the new PVC.
pub const MOUNT: &str = "/restore";
/// Where it mounts the rclone Secret.
pub const CONFIG_DIR: &str = "/config";

/// Which copy of an rclone remote to restore.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Copy {
    /// The newest complete timestamped copy, or the mirror itself when not timestamped.
    Latest,
    /// The timestamped copy `YYYY-MM-DD-HHMMSS`.
    Stamp(String),
}

impl Copy {
    /// Reads `--copy`: `latest` or a `YYYY-MM-DD-HHMMSS` stamp.
    pub fn parse(text: &str) -> Result<Copy, String> {
        if text == "latest" {
            return Ok(Copy::Latest);
        }
        let b = text.as_bytes();
        let stamp = b.len() == 17
            && b.iter().enumerate().all(|(i, c)| match i {
                4 | 7 | 10 => *c == b'-',
                _ => c.is_ascii_digit(),
            });
        if stamp {
            Ok(Copy::Stamp(text.to_owned()))
        } else {
            Err(format!(
                "--copy {text:?}: write latest, or a copy's YYYY-MM-DD-HHMMSS name (kubectl ferry status NAME shows the last one verified)"
            ))
        }
    }
}

/// The new PVC's shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    /// Its name.
    pub name: String,
    /// `storageClassName`, or the cluster's default.
    pub storage_class: Option<String>,
    /// Its size.
    pub size: String,
    /// Its access modes.
    pub access_modes: Vec<String>,
    /// `dataSource`: `(apiGroup, kind, name)`.
    pub data_source: Option<(String, String, String)>,
}

/// The PVC.
pub fn claim(c: &Claim) -> Value {
    let mut pvc = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": c.name, "labels": {"app.kubernetes.io/managed-by": "kubectl-ferry"}},
        "spec": {"accessModes": c.access_modes, "resources": {"requests": {"storage": c.size}}}});
    if let Some(class) = &c.storage_class {
        pvc["spec"]["storageClassName"] = json!(class);
    }
    if let Some((group, kind, name)) = &c.data_source {
        let mut source = json!({"kind": kind, "name": name});
        if !group.is_empty() {
            source["apiGroup"] = json!(group);
        }
        pvc["spec"]["dataSource"] = source;
    }
    pvc
}

/// What the one-shot pod pulls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pull {
    /// The pod's name.
    pub pod: String,
    /// The PVC it fills.
    pub claim: String,
    /// The sidecar image.
    pub image: String,
    /// The Secret with the rclone configuration.
    pub secret: String,
    /// The rclone.conf section; `None` for a Secret of env-style keys.
    pub section: Option<String>,
    /// `bucket/prefix`.
    pub path: String,
    /// Which copy.
    pub copy: Copy,
    /// Whether the remote holds timestamped copies.
    pub timestamped: bool,
    /// The user the pod runs as (and owns the restored files).
    pub user: i64,
}

/// The one-shot pod's `ferry-sidecar sync` arguments.
pub fn pull_args(p: &Pull) -> Vec<String> {
    let path = match &p.copy {
        Copy::Stamp(stamp) => format!("{}/{stamp}", p.path.trim_end_matches('/')),
        Copy::Latest => p.path.clone(),
    };
    let remote = format!("{}:{path}", p.section.as_deref().unwrap_or("s3"));
    let mut args = vec![
        "sync".to_owned(),
        remote,
        MOUNT.to_owned(),
        "--links".to_owned(),
    ];
    match &p.section {
        Some(_) => args.extend(["--config".to_owned(), format!("{CONFIG_DIR}/rclone.conf")]),
        None => args.push("--env-config".to_owned()),
    }
    if p.copy == Copy::Latest && p.timestamped {
        args.push("--timestamp-prefix".to_owned());
    }
    args
}

/// The one-shot pod: restricted Pod Security (non-root, no privilege escalation, every
/// capability dropped, read-only root, RuntimeDefault seccomp), the PVC at [`MOUNT`] and the
/// Secret at [`CONFIG_DIR`] (or as environment for env-style keys), never restarted.
pub fn pod(p: &Pull) -> Value {
    let mut container = json!({
        "name": "restore",
        "image": p.image,
        "imagePullPolicy": "IfNotPresent",
        "command": [ferry_api::contract::PROGRAM],
        "args": pull_args(p),
        "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
            "runAsNonRoot": true, "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"}},
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        "volumeMounts": [{"name": "data", "mountPath": MOUNT}, {"name": "tmp", "mountPath": "/tmp"}],
    });
    let mut volumes = vec![
        json!({"name": "data", "persistentVolumeClaim": {"claimName": p.claim}}),
        json!({"name": "tmp", "emptyDir": {}}),
    ];
    if p.section.is_some() {
        volumes.push(json!({"name": "config", "secret": {"secretName": p.secret}}));
        if let Some(mounts) = container["volumeMounts"].as_array_mut() {
            mounts.push(json!({"name": "config", "mountPath": CONFIG_DIR, "readOnly": true}));
        }
    } else {
        container["envFrom"] = json!([{"secretRef": {"name": p.secret}}]);
    }
    json!({"apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": p.pod, "labels": {RESTORE_LABEL: p.claim,
        "app.kubernetes.io/managed-by": "kubectl-ferry"}},
    "spec": {
        "restartPolicy": "Never",
        "automountServiceAccountToken": false,
        "securityContext": {"runAsNonRoot": true, "runAsUser": p.user, "runAsGroup": p.user,
            "fsGroup": p.user, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        "volumes": volumes,
    }})
}

#[cfg(test)]
mod tests;
