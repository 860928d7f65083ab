//! The leader's Events: on the pod the injection missed, and on the configuration whose
//! caBundle drifted (cluster-scoped, so the Event goes to namespace `default`). Best
//! effort: a failure is logged, never retried.

use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};

use super::pods::PodFacts;

/// Writes the leader's Warning Events.
#[derive(Clone)]
pub struct Events {
    recorder: Recorder,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events").finish_non_exhaustive()
    }
}

impl Events {
    /// Events reported by `ferry-webhook`, instance `identity` (the pod name).
    pub fn new(client: kube::Client, identity: &str) -> Self {
        let reporter = Reporter {
            controller: "ferry-webhook".to_owned(),
            instance: Some(identity.to_owned()),
        };
        Self {
            recorder: Recorder::new(client, reporter),
        }
    }

    /// A Warning on `pod`.
    pub async fn on_pod(&self, pod: &PodFacts, reason: &str, note: String) {
        let reference = ObjectReference {
            api_version: Some("v1".to_owned()),
            kind: Some("Pod".to_owned()),
            namespace: Some(pod.namespace.clone()),
            name: Some(pod.name.clone()),
            uid: Some(pod.uid.clone()),
            ..ObjectReference::default()
        };
        self.warn(&reference, reason, note).await;
    }

    /// A Warning on a webhook configuration.
    pub async fn on_configuration(&self, kind: &str, name: &str, reason: &str, note: String) {
        let reference = ObjectReference {
            api_version: Some("admissionregistration.k8s.io/v1".to_owned()),
            kind: Some(kind.to_owned()),
            name: Some(name.to_owned()),
            ..ObjectReference::default()
        };
        self.warn(&reference, reason, note).await;
    }

    async fn warn(&self, reference: &ObjectReference, reason: &str, note: String) {
        let event = Event {
            type_: EventType::Warning,
            reason: reason.to_owned(),
            note: Some(note),
            action: reason.to_owned(),
            secondary: None,
        };
        if let Err(e) = self.recorder.publish(&event, reference).await {
            tracing::warn!(reason, error = %e, "could not record an Event");
        }
    }
}
