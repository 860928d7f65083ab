//! Sidecar injection: from the raw JSON of a Pod CREATE to RFC 6902 `add` operations.
//!
//! Pods are never round-tripped through typed structs, which would drop fields newer than
//! our types (a native sidecar's `restartPolicy`, for one). The plan reads what it needs from
//! the raw JSON; the patch only adds, creating a missing array or map first.

mod container;
mod patch;
mod plan;
mod restore;
mod settings;

pub use container::CONTAINER;
pub use patch::{build as build_patch, recorded_version};
pub use plan::{Denial, Plan, plan};
pub use restore::Gate;
pub use settings::{BoundObject, Facts, NativeMode, Resources, Settings};

use ferry_api::annotations;

use crate::admission::{Request, Response};
use crate::review::opted_in;

/// Answers a `/mutate` request: a patch that injects the sidecar, a refusal with every
/// problem, or an unchanged admission for pods that did not opt in or are already injected.
pub fn mutate(request: &Request, settings: &Settings, facts: &Facts) -> Response {
    let Some(pod) = request.object.as_ref() else {
        return Response::deny(
            &request.uid,
            400,
            &["request.object: \"\": required for CREATE".to_owned()],
        );
    };
    if request.operation != "CREATE" || request.kind.kind != "Pod" || !opted_in(pod) {
        return Response::allow(&request.uid);
    }
    let (parsed, report) = ferry_api::validate_pod_annotations(&annotations::from_pod_json(pod));
    let Some(parsed) = parsed else {
        return Response::deny(&request.uid, 400, &report.messages())
            .with_warnings(report.warnings);
    };
    if parsed.injected {
        return Response::allow(&request.uid).with_warnings(report.warnings);
    }
    match plan(pod, &parsed, settings, facts) {
        Err(denials) => {
            let messages: Vec<String> = denials.iter().map(ToString::to_string).collect();
            Response::deny(&request.uid, 403, &messages)
        }
        Ok(plan) => {
            let mut warnings = report.warnings;
            warnings.extend(plan.warnings.iter().cloned());
            let patch = build_patch(pod, &plan, settings);
            let allowed = Response::allow(&request.uid);
            let patched = if patch.0.is_empty() {
                allowed
            } else {
                match allowed.clone().with_patch(&patch) {
                    Ok(patched) => patched,
                    Err(_) => allowed,
                }
            };
            patched.with_warnings(warnings)
        }
    }
}

#[cfg(test)]
mod tests;
