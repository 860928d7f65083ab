//! VolSync's `volsync.backube/v1alpha1` ReplicationSource and ReplicationDestination to
//! Ferry's, field by field. Pure: JSON in, JSON and notes out.
//!
//! Ferry's fields are VolSync's names for the rsync and rclone movers, so most fields carry
//! over unchanged. A field with no equivalent is never dropped silently: it becomes a
//! [`Note`] with what to do instead.

use serde_json::{Map, Value, json};

/// VolSync's API group.
pub const VOLSYNC_GROUP: &str = "volsync.backube";

/// A field that did not carry over, and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// Its path in the VolSync object, e.g. `spec.rsync.serviceType`.
    pub field: String,
    /// Its value, as JSON.
    pub value: String,
    /// What to do in Ferry.
    pub action: String,
}

/// What became of one VolSync object.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// A Ferry object, the fields left behind, and the pod-template change that binds it.
    Converted {
        /// The Ferry object.
        object: Value,
        /// Fields that did not carry over.
        notes: Vec<Note>,
    },
    /// A mover Ferry lacks: nothing is written for it.
    Unsupported {
        /// VolSync's name of the mover (`restic`, `rsyncTLS`, `syncthing`, ...).
        mover: String,
    },
    /// Not a VolSync ReplicationSource or ReplicationDestination.
    NotVolSync,
}

/// What one VolSync object is.
#[derive(Clone, Debug, PartialEq)]
pub struct Migration {
    /// `ReplicationSource` or `ReplicationDestination` (or the kind found).
    pub kind: String,
    /// `namespace/name`, or the name when the object has no namespace.
    pub id: String,
    /// Its name.
    pub name: String,
    /// What became of it.
    pub outcome: Outcome,
}

/// The movers of VolSync that Ferry does not have.
pub const UNSUPPORTED_MOVERS: [&str; 5] = ["restic", "rsyncTLS", "syncthing", "kopia", "external"];

/// Converts one VolSync object. `namespace` replaces the object's namespace when given.
pub fn convert(volsync: &Value, namespace: Option<&str>) -> Migration {
    let kind = volsync["kind"].as_str().unwrap_or_default().to_owned();
    let name = volsync["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let ns = namespace
        .map(str::to_owned)
        .or_else(|| volsync["metadata"]["namespace"].as_str().map(str::to_owned));
    let id = match &ns {
        Some(ns) => format!("{ns}/{name}"),
        None => name.clone(),
    };
    let migration = |outcome| Migration {
        kind: kind.clone(),
        id: id.clone(),
        name: name.clone(),
        outcome,
    };
    let is_volsync = volsync["apiVersion"]
        .as_str()
        .is_some_and(|v| v.split('/').next() == Some(VOLSYNC_GROUP));
    let source = match kind.as_str() {
        "ReplicationSource" => true,
        "ReplicationDestination" => false,
        _ => return migration(Outcome::NotVolSync),
    };
    if !is_volsync {
        return migration(Outcome::NotVolSync);
    }
    let spec = volsync["spec"].as_object().cloned().unwrap_or_default();
    if let Some(mover) = UNSUPPORTED_MOVERS.iter().find(|m| spec.contains_key(**m)) {
        return migration(Outcome::Unsupported {
            mover: (*mover).to_owned(),
        });
    }
    let mut notes = Vec::new();
    let mut out = Map::new();
    for (key, value) in &spec {
        let path = format!("spec.{key}");
        match key.as_str() {
            "sourcePVC" if source => {
                out.insert(key.clone(), value.clone());
            }
            "paused" => {
                if value.as_bool() == Some(true) {
                    out.insert(key.clone(), value.clone());
                }
            }
            "trigger" => {
                out.insert(key.clone(), trigger(value, &mut notes));
            }
            "rsync" | "rclone" => {
                let fields = allowed(source, key);
                out.insert(key.clone(), mover(value, &path, fields, &mut notes));
            }
            _ => notes.push(note(&path, value, unknown_action(key))),
        }
    }
    if !source {
        provisioning(&spec, &name, &mut notes);
    }
    let mut metadata = Map::new();
    metadata.insert("name".into(), json!(name));
    if let Some(ns) = &ns {
        metadata.insert("namespace".into(), json!(ns));
    }
    if let Some(labels) = volsync["metadata"]["labels"]
        .as_object()
        .filter(|l| !l.is_empty())
    {
        metadata.insert("labels".into(), Value::Object(labels.clone()));
    }
    let object = json!({
        "apiVersion": format!("{}/{}", ferry_api::GROUP, ferry_api::VERSION),
        "kind": kind,
        "metadata": metadata,
        "spec": out,
    });
    // What Ferry requires that VolSync did not (rsync keys VolSync generated for a source):
    // the apiserver would refuse the object until it is set.
    let report = if source {
        ferry_api::validate_source(&object)
    } else {
        ferry_api::validate_destination(&object)
    };
    for e in report.errors {
        notes.push(Note {
            field: e.path,
            value: format!("{:?}", e.value),
            action: format!("to set before applying: {}", e.rule),
        });
    }
    notes.sort_by(|a, b| a.field.cmp(&b.field));
    migration(Outcome::Converted { object, notes })
}

/// The trigger: `schedule` and `manual` carry over; Ferry refuses both at once (VolSync
/// accepts them and the schedule wins), so the schedule is kept.
fn trigger(value: &Value, notes: &mut Vec<Note>) -> Value {
    let mut out = Map::new();
    for (key, v) in value.as_object().into_iter().flatten() {
        match key.as_str() {
            "schedule" | "manual" => {
                out.insert(key.clone(), v.clone());
            }
            _ => notes.push(note(
                &format!("spec.trigger.{key}"),
                v,
                "no equivalent in Ferry's trigger (schedule, timeZone, manual); remove it"
                    .to_owned(),
            )),
        }
    }
    if out.contains_key("schedule")
        && let Some(manual) = out.remove("manual")
    {
        notes.push(note(
            "spec.trigger.manual",
            &manual,
            "Ferry refuses manual beside schedule (VolSync ignores it while a schedule is set): the schedule is kept; to sync on demand, drop the schedule and use `kubectl ferry sync NAME`".to_owned(),
        ));
    }
    Value::Object(out)
}

/// The volume options both movers of both kinds share (VolSync's and Ferry's names).
const VOLUME: [&str; 7] = [
    "copyMethod",
    "capacity",
    "storageClassName",
    "accessModes",
    "volumeSnapshotClassName",
    "moverSecurityContext",
    "moverResources",
];

/// The fields of a mover that carry over as they are.
fn allowed(source: bool, mover: &str) -> &'static [&'static str] {
    match (source, mover) {
        (true, "rsync") => &["sshKeys", "address", "port", "path", "sshUser"],
        (false, "rsync") => &[
            "sshKeys",
            "serviceType",
            "port",
            "destinationPVC",
            "serviceAnnotations",
        ],
        (true, _) => &["rcloneConfig", "rcloneConfigSection", "rcloneDestPath"],
        (false, _) => &[
            "rcloneConfig",
            "rcloneConfigSection",
            "rcloneDestPath",
            "destinationPVC",
        ],
    }
}

fn mover(value: &Value, path: &str, fields: &[&str], notes: &mut Vec<Note>) -> Value {
    let mut out = Map::new();
    for (key, v) in value.as_object().into_iter().flatten() {
        if fields.contains(&key.as_str()) || VOLUME.contains(&key.as_str()) {
            out.insert(key.clone(), v.clone());
        } else {
            notes.push(note(&format!("{path}.{key}"), v, mover_action(path, key)));
        }
    }
    Value::Object(out)
}

/// A destination without `destinationPVC`: VolSync provisions it, Ferry writes into the
/// bound pod's volume.
fn provisioning(spec: &Map<String, Value>, name: &str, notes: &mut Vec<Note>) {
    for mover in ["rsync", "rclone"] {
        let Some(m) = spec.get(mover) else { continue };
        if m.get("destinationPVC").is_none() {
            let capacity = m.get("capacity").cloned().unwrap_or(Value::Null);
            notes.push(note(
                &format!("spec.{mover}.capacity"),
                &capacity,
                format!(
                    "Ferry provisions no destination volume: create a PVC of this size, mount it in the pod that binds {name}, and name it in spec.{mover}.destinationPVC (or leave Ferry to use that pod's only PVC)"
                ),
            ));
        }
    }
}

fn unknown_action(key: &str) -> String {
    match key {
        "sourcePVC" => "a destination has no source PVC; remove it".to_owned(),
        _ => format!("{key} has no equivalent in Ferry; remove it, or ask for it in an issue"),
    }
}

fn mover_action(path: &str, key: &str) -> String {
    match key {
        "serviceType" => "a Ferry source always pushes; set spec.rsync.address (and port) to the destination's status.rsync.address instead".to_owned(),
        "address" => "a Ferry destination never connects out; point the source's spec.rsync.address at this destination's status.rsync.address".to_owned(),
        "moverServiceAccount" => "the sidecar runs as the bound pod's service account: bind the sidecar ClusterRole to it (Helm value sidecarBindings); mover pods use the same account".to_owned(),
        "moverPodLabels" => "mover pods carry Ferry's labels; put labels on the bound pod's template instead".to_owned(),
        "moverAffinity" => "a Direct sync runs in the bound pod, so it follows that pod's affinity; move the affinity to the workload's pod template".to_owned(),
        "moverVolumes" => "the sidecar mounts the pod's volumes itself; mount extra volumes in the workload's pod template".to_owned(),
        "customCA" => "Ferry's S3 engine trusts the system CAs and the CA bundle of its config; there is no CR field: use a certificate the system trusts".to_owned(),
        _ => format!("{path}.{key} has no equivalent in Ferry; remove it"),
    }
}

fn note(field: &str, value: &Value, action: String) -> Note {
    Note {
        field: field.to_owned(),
        value: value.to_string(),
        action,
    }
}

/// The label and annotations to add to the pod template of the workload that binds the
/// object, as YAML lines.
pub fn pod_template_lines(kind: &str, name: &str) -> Vec<String> {
    let annotation = if kind == "ReplicationSource" {
        ferry_api::annotations::SOURCE
    } else {
        ferry_api::annotations::DESTINATION
    };
    vec![
        "metadata:".to_owned(),
        "  labels:".to_owned(),
        format!("    {}: \"true\"", ferry_api::annotations::INJECT_LABEL),
        "  annotations:".to_owned(),
        format!("    {annotation}: {name}"),
    ]
}

#[cfg(test)]
mod tests;
