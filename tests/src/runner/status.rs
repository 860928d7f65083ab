//! What the runner tells the apiserver about a pod: its binding to the node, its status
//! (phase, address, conditions, container states) and, once stopped, its final deletion.

use k8s_openapi::api::core::v1::{Binding, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use serde_json::{Value, json};

use super::error::{Error, Result};
use super::select::Slot;

/// A container's state as reported.
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    /// Not started yet.
    Waiting {
        /// Why (`ContainerCreating`, ...).
        reason: String,
    },
    /// Its process runs.
    Running {
        /// When it was started.
        started_at: Timestamp,
    },
    /// Its process ended.
    Terminated {
        /// The exit code (128 + signal when killed).
        exit_code: i32,
        /// When it was started.
        started_at: Timestamp,
        /// When it ended.
        finished_at: Timestamp,
        /// The last lines of its output when it failed (`FallbackToLogsOnError`).
        message: Option<String>,
    },
}

/// One container's line in the pod status.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerReport {
    /// Its name.
    pub name: String,
    /// Its image, as the spec says (nothing is pulled).
    pub image: String,
    /// Which status list it goes to.
    pub slot: Slot,
    /// Its state.
    pub state: State,
}

/// The pod status the runner writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// `Pending`, `Running`, `Succeeded` or `Failed`.
    pub phase: &'static str,
    /// The pod's loopback address.
    pub pod_ip: String,
    /// The node's address.
    pub host_ip: String,
    /// When the runner took the pod.
    pub start_time: Timestamp,
    /// Why the pod is in this phase, when it is not obvious (`Unsupported`, ...).
    pub reason: Option<String>,
    /// A message for the user.
    pub message: Option<String>,
    /// The containers the runner runs.
    pub containers: Vec<ContainerReport>,
}

fn time(t: Timestamp) -> Value {
    serde_json::to_value(Time(t)).unwrap_or(Value::Null)
}

fn container_status(c: &ContainerReport) -> Value {
    let (state, ready, started) = match &c.state {
        State::Waiting { reason } => (json!({"waiting": {"reason": reason}}), false, false),
        State::Running { started_at } => (
            json!({"running": {"startedAt": time(*started_at)}}),
            true,
            true,
        ),
        State::Terminated {
            exit_code,
            started_at,
            finished_at,
            message,
        } => {
            let reason = if *exit_code == 0 {
                "Completed"
            } else {
                "Error"
            };
            let mut t = json!({
                "exitCode": exit_code,
                "reason": reason,
                "startedAt": time(*started_at),
                "finishedAt": time(*finished_at),
            });
            if let (Some(m), Some(map)) = (message, t.as_object_mut()) {
                map.insert("message".into(), json!(m));
            }
            (json!({"terminated": t}), false, false)
        }
    };
    json!({
        "name": c.name,
        "image": c.image,
        "imageID": "",
        "ready": ready,
        "started": started,
        "restartCount": 0,
        "state": state,
    })
}

fn condition(kind: &str, ok: bool, reason: Option<&str>, now: Timestamp) -> Value {
    let mut c = json!({
        "type": kind,
        "status": if ok { "True" } else { "False" },
        "lastTransitionTime": time(now),
    });
    if let (Some(r), Some(map)) = (reason, c.as_object_mut()) {
        map.insert("reason".into(), json!(r));
    }
    c
}

/// The JSON merge patch for the pod's status subresource. Lists are replaced whole, which is
/// what the runner wants: it owns them.
pub fn patch(report: &Report, now: Timestamp) -> Value {
    let running = report.phase == "Running";
    let done = matches!(report.phase, "Succeeded" | "Failed");
    let not_ready = if done { Some("PodCompleted") } else { None };
    let of = |slot: Slot| -> Vec<Value> {
        report
            .containers
            .iter()
            .filter(|c| c.slot == slot)
            .map(container_status)
            .collect()
    };
    json!({"status": {
        "phase": report.phase,
        "reason": report.reason,
        "message": report.message,
        "hostIP": report.host_ip,
        "hostIPs": [{"ip": report.host_ip}],
        "podIP": report.pod_ip,
        "podIPs": [{"ip": report.pod_ip}],
        "startTime": time(report.start_time),
        "conditions": [
            condition("PodScheduled", true, None, now),
            condition("PodReadyToStartContainers", true, None, now),
            condition("Initialized", true, None, now),
            condition("ContainersReady", running, not_ready, now),
            condition("Ready", running, not_ready, now),
        ],
        "initContainerStatuses": of(Slot::Init),
        "containerStatuses": of(Slot::Main),
    }})
}

/// Writes `report` to the pod's status.
pub async fn write(pods: &Api<Pod>, name: &str, report: &Report) -> Result<()> {
    pods.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(patch(report, Timestamp::now())),
    )
    .await
    .map_err(|e| Error::kube(format!("writing the status of pod {name}"), e))?;
    Ok(())
}

/// Binds an unscheduled pod to `node` through the binding subresource, as a scheduler would.
pub async fn bind(pods: &Api<Pod>, pod: &Pod, node: &str) -> Result<()> {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let binding = Binding {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            uid: pod.metadata.uid.clone(),
            ..ObjectMeta::default()
        },
        target: ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Node".into()),
            name: Some(node.to_owned()),
            ..ObjectReference::default()
        },
    };
    pods.create_subresource::<Binding, Value>("binding", &name, &PostParams::default(), &binding)
        .await
        .map_err(|e| Error::kube(format!("binding pod {name} to {node}"), e))?;
    Ok(())
}

/// Deletes the pod for good once its processes are gone, as the kubelet does after a
/// graceful deletion; only that pod (UID precondition), and a pod already gone is fine.
pub async fn delete_now(pods: &Api<Pod>, name: &str, uid: &str) -> Result<()> {
    let params = DeleteParams {
        grace_period_seconds: Some(0),
        preconditions: Some(Preconditions {
            uid: Some(uid.to_owned()),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match pods.delete(name, &params).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(()),
        Err(e) => Err(Error::kube(format!("deleting pod {name}"), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(phase: &'static str, state: State) -> Report {
        Report {
            phase,
            pod_ip: "127.0.4.5".into(),
            host_ip: "127.0.0.1".into(),
            start_time: Timestamp::UNIX_EPOCH,
            reason: None,
            message: None,
            containers: vec![ContainerReport {
                name: "ferry-sidecar".into(),
                image: "img".into(),
                slot: Slot::Init,
                state,
            }],
        }
    }

    #[test]
    fn running_pods_are_ready_with_their_address() {
        let p = patch(
            &report(
                "Running",
                State::Running {
                    started_at: Timestamp::UNIX_EPOCH,
                },
            ),
            Timestamp::UNIX_EPOCH,
        );
        let s = &p["status"];
        assert_eq!(s["phase"], "Running");
        assert_eq!(s["podIP"], "127.0.4.5");
        assert_eq!(s["podIPs"][0]["ip"], "127.0.4.5");
        let ready = s["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "Ready")
            .unwrap();
        assert_eq!(ready["status"], "True");
        assert_eq!(s["initContainerStatuses"][0]["ready"], true);
        assert_eq!(s["containerStatuses"], json!([]));
        assert_eq!(s["startTime"], "1970-01-01T00:00:00Z");
    }

    #[test]
    fn failed_pods_carry_the_exit_code_and_message() {
        let p = patch(
            &report(
                "Failed",
                State::Terminated {
                    exit_code: 3,
                    started_at: Timestamp::UNIX_EPOCH,
                    finished_at: Timestamp::UNIX_EPOCH,
                    message: Some("boom".into()),
                },
            ),
            Timestamp::UNIX_EPOCH,
        );
        let t = &p["status"]["initContainerStatuses"][0]["state"]["terminated"];
        assert_eq!(t["exitCode"], 3);
        assert_eq!(t["reason"], "Error");
        assert_eq!(t["message"], "boom");
        let ready = &p["status"]["conditions"][4];
        assert_eq!(ready["status"], "False");
        assert_eq!(ready["reason"], "PodCompleted");
    }
}
