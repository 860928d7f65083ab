//! `kubectl ferry migrate volsync [-n NS | -A | -f FILE]`: VolSync's CRs to Ferry's
//! ([`map`]), written as YAML with a comment for every field left behind and the pod-template
//! change that binds each object; `--apply` applies them (server-side).

pub mod map;
pub mod run;

use std::fmt::Write;

use map::{Migration, Outcome};
use serde_json::Value;

use crate::error::{Error, Result};

/// Reads every object of a YAML or JSON text (documents, or `kind: List`).
pub fn parse(text: &str, path: &str) -> Result<Vec<Value>> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(text).map_err(|e| Error::File {
        path: path.to_owned(),
        problem: e.to_string(),
    })?;
    let mut out = Vec::new();
    for doc in docs {
        if doc.is_null() {
            continue;
        }
        if doc["kind"] == "List"
            && let Some(items) = doc["items"].as_array()
        {
            out.extend(items.iter().cloned());
        } else {
            out.push(doc);
        }
    }
    Ok(out)
}

/// The YAML stream of the converted objects, each preceded by comments: where it came
/// from, the fields left behind with what to do, and the pod-template change. `workloads`
/// names, per converted object, the workloads found mounting its PVC.
pub fn render(
    migrations: &[Migration],
    workloads: &dyn Fn(&Migration) -> Vec<String>,
) -> Result<String> {
    let mut out = String::new();
    for m in migrations {
        let Outcome::Converted { object, notes } = &m.outcome else {
            continue;
        };
        out.push_str("---\n");
        let _ = writeln!(
            out,
            "# {} {}, from {}/v1alpha1",
            m.kind,
            m.id,
            map::VOLSYNC_GROUP
        );
        if !notes.is_empty() {
            out.push_str("# Not carried over (no equivalent in Ferry):\n");
            for n in notes {
                let _ = writeln!(out, "#   {}: {}", n.field, n.value);
                let _ = writeln!(out, "#     {}", n.action);
            }
        }
        let pvc = object["spec"]["sourcePVC"]
            .as_str()
            .or_else(|| object["spec"]["rsync"]["destinationPVC"].as_str())
            .or_else(|| object["spec"]["rclone"]["destinationPVC"].as_str());
        let found = workloads(m);
        let whose = match (found.is_empty(), pvc) {
            (false, _) => found.join(", "),
            (true, Some(pvc)) => format!("the workload that mounts PVC {pvc}"),
            (true, None) => "the workload that mounts the destination volume".to_owned(),
        };
        let _ = writeln!(out, "# Add to the pod template of {whose}:");
        for line in map::pod_template_lines(&m.kind, &m.name) {
            let _ = writeln!(out, "#   {line}");
        }
        let yaml = serde_saphyr::to_string(object).map_err(|e| Error::Encode(e.to_string()))?;
        out.push_str(&yaml);
        if !yaml.ends_with('\n') {
            out.push('\n');
        }
    }
    Ok(out)
}

/// The report for standard error: one line per object that was not converted.
pub fn report(migrations: &[Migration]) -> Vec<String> {
    migrations
        .iter()
        .filter_map(|m| match &m.outcome {
            Outcome::Unsupported { mover } => Some(format!(
                "{} {}: VolSync's {mover} mover is not supported by Ferry (rsync and rclone only); nothing written for it",
                m.kind, m.id
            )),
            Outcome::NotVolSync => Some(format!(
                "{} {}: not a volsync.backube ReplicationSource or ReplicationDestination; skipped",
                if m.kind.is_empty() { "object" } else { m.kind.as_str() },
                m.id
            )),
            Outcome::Converted { .. } => None,
        })
        .collect()
}
