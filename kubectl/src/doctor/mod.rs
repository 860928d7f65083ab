//! `kubectl ferry doctor`: checks an installation (webhook reachable, certificate expiry,
//! caBundle match, CRDs at the installed version, the sidecar's RBAC where pods bind CRs,
//! labelled pods that were not injected) and names each problem with its fix. The checks'
//! rules are pure functions here; [`run`] gathers what they look at.

pub mod run;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde_json::Value;

/// One check's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// What was checked, e.g. `webhook ferry/ferry-webhook reachable`.
    pub check: String,
    /// `None` when it passed; else the problem and its fix.
    pub problem: Option<Problem>,
}

/// What is wrong and what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// What is wrong.
    pub what: String,
    /// The fix: a command or a change to make.
    pub fix: String,
}

impl Finding {
    /// A check that passed.
    pub fn ok(check: impl Into<String>) -> Finding {
        Finding {
            check: check.into(),
            problem: None,
        }
    }

    /// A check that found a problem.
    pub fn problem(
        check: impl Into<String>,
        what: impl Into<String>,
        fix: impl Into<String>,
    ) -> Finding {
        Finding {
            check: check.into(),
            problem: Some(Problem {
                what: what.into(),
                fix: fix.into(),
            }),
        }
    }
}

/// The report: one line per check, each problem followed by its fix, and a summary.
pub fn render(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        match &f.problem {
            None => {
                let _ = writeln!(out, "[ok]      {}", f.check);
            }
            Some(p) => {
                let _ = writeln!(out, "[PROBLEM] {}: {}", f.check, p.what);
                let _ = writeln!(out, "          fix: {}", p.fix);
            }
        }
    }
    let problems = findings.iter().filter(|f| f.problem.is_some()).count();
    if problems == 0 {
        let _ = writeln!(out, "No problem found ({} check(s)).", findings.len());
    } else {
        let _ = writeln!(
            out,
            "{problems} problem(s) found in {} check(s).",
            findings.len()
        );
    }
    out
}

/// Whether a label selector (a webhook's `namespaceSelector` or `objectSelector`) matches
/// `labels`, as the apiserver decides it. An operator it does not know matches nothing.
pub fn selects(selector: Option<&LabelSelector>, labels: &BTreeMap<String, String>) -> bool {
    let Some(selector) = selector else {
        return true;
    };
    let by_label = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let by_expression = selector.match_expressions.iter().flatten().all(|e| {
        let values = e.values.as_deref().unwrap_or_default();
        let value = labels.get(&e.key);
        match e.operator.as_str() {
            "In" => value.is_some_and(|v| values.contains(v)),
            "NotIn" => value.is_none_or(|v| !values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        }
    });
    by_label && by_expression
}

/// Every property path of an OpenAPI v3 schema, e.g. `spec.rclone.rcloneDestPath`, to
/// compare a CRD in the cluster with the one this version of Ferry defines.
pub fn property_paths(schema: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    walk(schema, "", &mut out);
    out
}

fn walk(schema: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    if let Some(props) = schema["properties"].as_object() {
        for (name, sub) in props {
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            out.insert(path.clone());
            walk(sub, &path, out);
        }
    }
    if schema["items"].is_object() {
        walk(&schema["items"], &format!("{prefix}[]"), out);
    }
    if schema["additionalProperties"].is_object() {
        walk(&schema["additionalProperties"], &format!("{prefix}.*"), out);
    }
}

/// How the CRD in the cluster differs from this version's: the fields it lacks and the
/// fields it has that this version does not, at most `shown` of each.
pub fn schema_drift(live: &Value, ours: &Value, shown: usize) -> Option<String> {
    let live = property_paths(live);
    let ours = property_paths(ours);
    let missing: Vec<&String> = ours.difference(&live).collect();
    let extra: Vec<&String> = live.difference(&ours).collect();
    if missing.is_empty() && extra.is_empty() {
        return None;
    }
    let list = |v: &[&String]| {
        let mut s = v
            .iter()
            .take(shown)
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        if v.len() > shown {
            let _ = write!(s, " and {} more", v.len() - shown);
        }
        s
    };
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("lacks {}", list(&missing)));
    }
    if !extra.is_empty() {
        parts.push(format!(
            "has fields this version does not know: {}",
            list(&extra)
        ));
    }
    Some(parts.join("; "))
}

#[cfg(test)]
mod tests;
