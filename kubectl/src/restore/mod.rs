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
    /// The PVC it fills.
    pub claim: String,
    /// The remote.
    pub remote: Remote,
    /// The timestamped copy to pull; `None` pulls the prefix itself (a mirror).
    pub stamp: Option<String>,
}

/// An rclone remote as the one-shot pod reaches it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remote {
    /// The Secret with the rclone configuration.
    pub secret: String,
    /// The rclone.conf section; `None` for a Secret of env-style keys.
    pub section: Option<String>,
    /// `bucket/prefix`.
    pub path: String,
}

impl Remote {
    /// `section:path`, and the flags that say where its configuration is.
    pub fn args(&self, below: Option<&str>) -> Vec<String> {
        let path = match below {
            Some(sub) => format!("{}/{sub}", self.path.trim_end_matches('/')),
            None => self.path.clone(),
        };
        let mut args = vec![format!(
            "{}:{path}",
            self.section.as_deref().unwrap_or("s3")
        )];
        match &self.section {
            Some(_) => args.extend(["--config".to_owned(), format!("{CONFIG_DIR}/rclone.conf")]),
            None => args.push("--env-config".to_owned()),
        }
        args
    }
}

/// The one-shot pod's `ferry-sidecar sync` arguments: the copy into [`MOUNT`], links kept.
pub fn pull_args(p: &Pull) -> Vec<String> {
    let mut remote = p.remote.args(p.stamp.as_deref());
    let mut args = vec![
        "sync".to_owned(),
        remote.remove(0),
        MOUNT.to_owned(),
        "--links".to_owned(),
    ];
    args.extend(remote);
    args
}

/// The `ferry-sidecar copies` arguments.
pub fn copies_args(remote: &Remote) -> Vec<String> {
    let mut args = vec!["copies".to_owned()];
    args.extend(remote.args(None));
    args
}

/// A one-shot pod of the sidecar image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OneShot {
    /// Its name.
    pub name: String,
    /// The sidecar image.
    pub image: String,
    /// Where the configuration is.
    pub remote: Remote,
    /// The user it runs as (and owns restored files).
    pub user: i64,
    /// `ferry-sidecar` arguments.
    pub args: Vec<String>,
    /// The PVC mounted at [`MOUNT`], if any.
    pub claim: Option<String>,
}

/// The one-shot pod: restricted Pod Security (non-root, no privilege escalation, every
/// capability dropped, read-only root, RuntimeDefault seccomp), the PVC at [`MOUNT`] and the
/// Secret at [`CONFIG_DIR`] (or as environment for env-style keys), never restarted.
pub fn pod(o: &OneShot) -> Value {
    let mut mounts = vec![json!({"name": "tmp", "mountPath": "/tmp"})];
    let mut volumes = vec![json!({"name": "tmp", "emptyDir": {}})];
    if let Some(claim) = &o.claim {
        mounts.push(json!({"name": "data", "mountPath": MOUNT}));
        volumes.push(json!({"name": "data", "persistentVolumeClaim": {"claimName": claim}}));
    }
    let mut container = json!({
        "name": "ferry",
        "image": o.image,
        "imagePullPolicy": "IfNotPresent",
        "command": [ferry_api::contract::PROGRAM],
        "args": o.args,
        "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
            "runAsNonRoot": true, "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"}},
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
    });
    if o.remote.section.is_some() {
        mounts.push(json!({"name": "config", "mountPath": CONFIG_DIR, "readOnly": true}));
        volumes.push(json!({"name": "config", "secret": {"secretName": o.remote.secret}}));
    } else {
        container["envFrom"] = json!([{"secretRef": {"name": o.remote.secret}}]);
    }
    container["volumeMounts"] = json!(mounts);
    let mut labels = json!({"app.kubernetes.io/managed-by": "kubectl-ferry"});
    if let Some(claim) = &o.claim {
        labels[RESTORE_LABEL] = json!(claim);
    }
    json!({"apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": o.name, "labels": labels},
    "spec": {
        "restartPolicy": "Never",
        "automountServiceAccountToken": false,
        "securityContext": {"runAsNonRoot": true, "runAsUser": o.user, "runAsGroup": o.user,
            "fsGroup": o.user, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        "volumes": volumes,
    }})
}

/// One timestamped copy, as `ferry-sidecar copies` lists it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CopyInfo {
    /// Its `YYYY-MM-DD-HHMMSS` name.
    pub stamp: String,
    /// Whether its manifest is stored (a partial copy is never restored).
    pub complete: bool,
    /// Files in it.
    pub files: u64,
    /// Their stored size.
    pub bytes: u64,
}

/// Reads `ferry-sidecar copies` output (one JSON object per line; other lines ignored).
pub fn parse_copies(log: &str) -> Vec<CopyInfo> {
    log.lines()
        .filter_map(|l| serde_json::from_str(l.trim()).ok())
        .collect()
}

/// The copy to pull: the named one if it is complete, or the newest complete one.
pub fn choose(copies: &[CopyInfo], wanted: &Copy) -> Result<String, String> {
    match wanted {
        Copy::Latest => copies
            .iter()
            .rev()
            .find(|c| c.complete)
            .map(|c| c.stamp.clone())
            .ok_or_else(|| "there is no complete copy yet".to_owned()),
        Copy::Stamp(stamp) => match copies.iter().find(|c| &c.stamp == stamp) {
            Some(c) if c.complete => Ok(stamp.clone()),
            Some(_) => Err(format!(
                "copy {stamp} is partial (its sync did not finish); pick a complete one"
            )),
            None => Err(format!("there is no copy {stamp}")),
        },
    }
}

#[cfg(test)]
mod tests;
