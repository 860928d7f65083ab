//! Restore on first start (`spec.rclone.restoreOnEmpty`, `ferry.dev/restore-on-empty`):
//! whether the pod's app containers wait for a restore step, and how: a startup probe on
//! the native sidecar, or an init container before the app's (see
//! [`ferry_api::contract::restore`]).

use ferry_api::PodAnnotations;
use ferry_api::annotations::{Binding, RESTORE_ON_EMPTY, RestoreRequest};
use ferry_api::contract::{env, restore};
use ferry_api::types::RestoreFailurePolicy;
use k8s_openapi::api::core::v1::{ExecAction, Probe};

use super::settings::Facts;

/// The restore step the pod waits for, with what the pod's annotations say over the CR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gate {
    /// The copy `ferry.dev/restore-on-empty` names.
    pub copy: Option<String>,
    /// `ferry.dev/restore-on-failure`.
    pub on_failure: Option<RestoreFailurePolicy>,
}

/// The gate of a pod: the annotation decides when it is set (`"false"` turns it off), else
/// the bound source's `spec.rclone.restoreOnEmpty`. A destination never restores.
pub fn gate(
    annotations: &PodAnnotations,
    facts: &Facts,
    warnings: &mut Vec<String>,
) -> Option<Gate> {
    if !matches!(annotations.binding, Binding::Source(_)) {
        return None;
    }
    let on_failure = annotations.restore_on_failure;
    match &annotations.restore {
        Some(RestoreRequest::No) => None,
        Some(RestoreRequest::Yes) => Some(Gate {
            copy: None,
            on_failure,
        }),
        Some(RestoreRequest::Copy(copy)) => Some(Gate {
            copy: Some(copy.clone()),
            on_failure,
        }),
        None => match &facts.bound {
            Some(bound) if bound.restore => Some(Gate {
                copy: None,
                on_failure,
            }),
            Some(_) => None,
            None => {
                // Decided now, at admission: a CR applied after its pod cannot add the step.
                warnings.push(format!(
                    "source unknown, so no restore step; to restore an empty volume set {RESTORE_ON_EMPTY}: \"true\""
                ));
                None
            }
        },
    }
}

/// The variables that tell the container running the step what the pod asked.
pub fn env_vars(gate: &Gate) -> Vec<(&'static str, String)> {
    let mut vars = vec![(env::FERRY_RESTORE, "true".to_owned())];
    if let Some(copy) = &gate.copy {
        vars.push((env::FERRY_RESTORE_COPY, copy.clone()));
    }
    if let Some(policy) = gate.on_failure {
        vars.push((env::FERRY_RESTORE_ON_FAILURE, policy.as_str().to_owned()));
    }
    vars
}

/// The native sidecar's startup probe: the app containers start once it passes, and its
/// output (what the step waits for, or what to fix) is in the pod's Events.
pub fn startup_probe() -> Probe {
    Probe {
        exec: Some(ExecAction {
            command: Some(vec![
                ferry_api::contract::PROGRAM.to_owned(),
                restore::PROBE_SUBCOMMAND.to_owned(),
            ]),
        }),
        period_seconds: Some(restore::PROBE_PERIOD_SECONDS),
        failure_threshold: Some(restore::PROBE_FAILURE_THRESHOLD),
        timeout_seconds: Some(5),
        ..Probe::default()
    }
}
