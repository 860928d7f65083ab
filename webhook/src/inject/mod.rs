//! Sidecar injection: from the raw JSON of a Pod CREATE to RFC 6902 `add` operations.
//!
//! Pods are never round-tripped through typed structs, which would drop fields newer than
//! our types (a native sidecar's `restartPolicy`, for one). The plan reads only what it needs
//! ([`Pod`], decoded from the request's bytes); the patch only adds, creating a missing array
//! or map first.

mod container;
mod patch;
mod plan;
mod pod;
mod restore;
mod settings;

pub use container::CONTAINER;
pub use patch::{Add, Item, Patch, build as build_patch, recorded_version};
pub use plan::{Denial, Plan, plan};
pub use pod::Pod;
pub use restore::Gate;
pub use settings::{BoundObject, Facts, NativeMode, Resources, Settings};

use ferry_api::PodAnnotations;

use crate::admission::{Request, Response};

/// A pod CREATE that opted in and is not injected yet, with its annotations parsed once: the
/// handler reads the binding from them to gather the cluster facts, and [`inject`] plans
/// from the same parse.
#[derive(Debug)]
pub struct Candidate<'a> {
    uid: &'a str,
    /// The pod as it will be stored, as far as the injection reads it.
    pub pod: &'a Pod<'a>,
    /// Its valid ferry annotations.
    pub annotations: PodAnnotations,
    warnings: Vec<String>,
}

/// The first step of `/mutate`: an answer already, or a pod to inject.
#[derive(Debug)]
pub enum Screened<'a> {
    /// Refused (no object, invalid annotations) or admitted unchanged (not a pod CREATE,
    /// not opted in, already injected).
    Answer(Response),
    /// A pod to plan an injection for (boxed: its parsed annotations are large).
    Inject(Box<Candidate<'a>>),
}

/// Screens a `/mutate` request without looking at the cluster.
pub fn screen<'a>(request: &'a Request<Pod<'a>>) -> Screened<'a> {
    let Some(pod) = request.object.as_ref() else {
        return Screened::Answer(Response::deny(
            &request.uid,
            400,
            &["request.object: \"\": required for CREATE".to_owned()],
        ));
    };
    if request.operation != "CREATE" || request.kind.kind != "Pod" || !pod.opted_in() {
        return Screened::Answer(Response::allow(&request.uid));
    }
    let (parsed, report) = ferry_api::validate_pod_annotations(&pod.annotations());
    let Some(parsed) = parsed else {
        return Screened::Answer(
            Response::deny(&request.uid, 400, &report.messages()).with_warnings(report.warnings),
        );
    };
    if parsed.injected {
        return Screened::Answer(Response::allow(&request.uid).with_warnings(report.warnings));
    }
    Screened::Inject(Box::new(Candidate {
        uid: &request.uid,
        pod,
        annotations: parsed,
        warnings: report.warnings,
    }))
}

/// The second step: a patch that injects the sidecar, or a refusal with every problem.
pub fn inject(candidate: Box<Candidate<'_>>, settings: &Settings, facts: &Facts) -> Response {
    let Candidate {
        uid,
        pod,
        annotations,
        warnings,
    } = *candidate;
    match plan(pod, &annotations, settings, facts) {
        Err(denials) => {
            let messages: Vec<String> = denials.iter().map(ToString::to_string).collect();
            Response::deny(uid, 403, &messages)
        }
        Ok(plan) => {
            let mut warnings = warnings;
            warnings.extend(plan.warnings.iter().cloned());
            let patch = build_patch(pod, &plan, settings);
            let allowed = Response::allow(uid);
            let patched = if patch.is_empty() {
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

/// Answers a `/mutate` request with the facts already known: [`screen`], then [`inject`].
pub fn mutate(request: &Request<Pod<'_>>, settings: &Settings, facts: &Facts) -> Response {
    match screen(request) {
        Screened::Answer(response) => response,
        Screened::Inject(candidate) => inject(candidate, settings, facts),
    }
}

#[cfg(test)]
mod tests;
