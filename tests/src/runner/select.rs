//! Which pods the runner runs, and which of their containers.
//!
//! Only Ferry's own containers run: the `ferry-sidecar` container of a pod (a native sidecar,
//! i.e. an init container with `restartPolicy: Always`, or a regular container), or every
//! container of a mover pod (label `ferry.dev/mover`). Application containers never run.

use k8s_openapi::api::core::v1::{Container, Pod};

/// The name of the container the webhook injects.
pub const SIDECAR_CONTAINER: &str = "ferry-sidecar";
/// The label that marks a mover pod, all of whose containers are Ferry's.
pub const MOVER_LABEL: &str = "ferry.dev/mover";

/// Where a container's status is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// `status.initContainerStatuses`.
    Init,
    /// `status.containerStatuses`.
    Main,
}

/// A container the runner starts, and where its status goes.
#[derive(Debug, Clone)]
pub struct Selected {
    /// The container as the pod spec has it.
    pub container: Container,
    /// Which status list reports it.
    pub slot: Slot,
}

/// The containers of one pod that the runner starts.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Run one after the other, each to success, before the rest (a mover pod's regular init
    /// containers).
    pub before: Vec<Selected>,
    /// Run together; the pod ends when all of them have exited.
    pub together: Vec<Selected>,
}

fn is_native_sidecar(c: &Container) -> bool {
    c.restart_policy.as_deref() == Some("Always")
}

/// The containers to run for `pod`, or `None` when the pod is not one of Ferry's.
pub fn plan(pod: &Pod) -> Option<Plan> {
    let spec = pod.spec.as_ref()?;
    let inits = spec.init_containers.as_deref().unwrap_or_default();
    let is_mover = pod
        .metadata
        .labels
        .as_ref()
        .is_some_and(|l| l.contains_key(MOVER_LABEL));
    let selected = |c: &Container, slot| Selected {
        container: c.clone(),
        slot,
    };
    if is_mover {
        let before = inits
            .iter()
            .filter(|c| !is_native_sidecar(c))
            .map(|c| selected(c, Slot::Init))
            .collect();
        let together = inits
            .iter()
            .filter(|c| is_native_sidecar(c))
            .map(|c| selected(c, Slot::Init))
            .chain(spec.containers.iter().map(|c| selected(c, Slot::Main)))
            .collect();
        return Some(Plan { before, together });
    }
    let sidecar = inits
        .iter()
        .find(|c| c.name == SIDECAR_CONTAINER && is_native_sidecar(c))
        .map(|c| selected(c, Slot::Init))
        .or_else(|| {
            spec.containers
                .iter()
                .find(|c| c.name == SIDECAR_CONTAINER)
                .map(|c| selected(c, Slot::Main))
        })?;
    Some(Plan {
        before: Vec::new(),
        together: vec![sidecar],
    })
}

/// True when the pod has ended (Succeeded or Failed): nothing is run for it again.
pub fn is_terminal(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

/// The node the pod is bound to, if any.
pub fn node_name(pod: &Pod) -> Option<&str> {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(value: serde_json::Value) -> Pod {
        serde_json::from_value(value).unwrap()
    }

    fn names(selected: &[Selected]) -> Vec<(&str, Slot)> {
        selected
            .iter()
            .map(|s| (s.container.name.as_str(), s.slot))
            .collect()
    }

    #[test]
    fn native_sidecar_runs_alone() {
        let p = pod(json!({"spec": {
            "initContainers": [
                {"name": "setup"},
                {"name": "ferry-sidecar", "restartPolicy": "Always"}],
            "containers": [{"name": "app"}]}}));
        let plan = plan(&p).unwrap();
        assert!(plan.before.is_empty());
        assert_eq!(names(&plan.together), [("ferry-sidecar", Slot::Init)]);
    }

    #[test]
    fn regular_sidecar_runs_alone() {
        let p = pod(json!({"spec": {"containers": [
            {"name": "app"}, {"name": "ferry-sidecar"}]}}));
        assert_eq!(
            names(&plan(&p).unwrap().together),
            [("ferry-sidecar", Slot::Main)]
        );
    }

    #[test]
    fn an_init_container_named_ferry_sidecar_without_restart_policy_is_not_a_sidecar() {
        let p = pod(json!({"spec": {
            "initContainers": [{"name": "ferry-sidecar"}],
            "containers": [{"name": "app"}]}}));
        assert!(plan(&p).is_none());
    }

    #[test]
    fn app_pods_are_not_run() {
        let p = pod(json!({"spec": {"containers": [{"name": "app"}]}}));
        assert!(plan(&p).is_none());
    }

    #[test]
    fn mover_pods_run_every_container() {
        let p = pod(json!({
            "metadata": {"labels": {"ferry.dev/mover": "src"}},
            "spec": {
                "initContainers": [
                    {"name": "prep"},
                    {"name": "helper", "restartPolicy": "Always"}],
                "containers": [{"name": "mover"}]}}));
        let plan = plan(&p).unwrap();
        assert_eq!(names(&plan.before), [("prep", Slot::Init)]);
        assert_eq!(
            names(&plan.together),
            [("helper", Slot::Init), ("mover", Slot::Main)]
        );
    }

    #[test]
    fn terminal_phases() {
        assert!(is_terminal(&pod(json!({"status": {"phase": "Failed"}}))));
        assert!(is_terminal(&pod(json!({"status": {"phase": "Succeeded"}}))));
        assert!(!is_terminal(&pod(json!({"status": {"phase": "Running"}}))));
        assert!(!is_terminal(&pod(json!({}))));
    }
}
