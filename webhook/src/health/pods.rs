//! Which labelled pods the injection missed, and which carry a sidecar of another version.
//! Pure: the caller lists the pods' metadata and the namespaces' labels.

use std::collections::{BTreeMap, BTreeSet};

use crate::inject::recorded_version;

/// The version label of a record that names none.
pub const UNKNOWN_VERSION: &str = "unknown";

/// What the health check needs of one labelled pod.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodFacts {
    /// The pod's namespace.
    pub namespace: String,
    /// The pod's name.
    pub name: String,
    /// The pod's uid: an Event is written once per pod, and a recreated pod is a new one.
    pub uid: String,
    /// The `ferry.dev/injected` record, if any.
    pub record: Option<String>,
    /// The controlling owner, `(kind, name)`, to name the fix.
    pub owner: Option<(String, String)>,
    /// The `pod-template-hash` label (a Deployment's pod), to name the Deployment.
    pub template_hash: Option<String>,
    /// Whether the pod is being deleted (it is on its way out; nothing to report).
    pub deleting: bool,
}

/// A labelled pod's injection state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// No `ferry.dev/injected` record: it runs without the sidecar.
    NotInjected,
    /// Injected by this webhook version.
    Current,
    /// Injected by another version (or a record naming none: [`UNKNOWN_VERSION`]).
    Outdated(String),
}

/// Compares a pod's record with this webhook's `own` version. Any other version counts,
/// newer too: during a rollout the leader may be the older one, and its count then shows
/// how far the rollout has come.
pub fn state(record: Option<&str>, own: &str) -> State {
    let Some(record) = record else {
        return State::NotInjected;
    };
    match recorded_version(record) {
        Some(version) if version == own => State::Current,
        Some(version) => State::Outdated(version),
        None => State::Outdated(UNKNOWN_VERSION.to_owned()),
    }
}

/// The outcome of one scan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally<'a> {
    /// Not-injected pods, by namespace.
    pub not_injected: BTreeMap<String, i64>,
    /// Pods injected by another version, by that version.
    pub outdated: BTreeMap<String, i64>,
    /// The not-injected pods themselves, for their Events.
    pub missed: Vec<&'a PodFacts>,
}

/// Tallies `pods` (all labelled `ferry.dev/inject=true`) in the namespaces `selected`
/// (those the injection webhook's namespaceSelector sends to it). Pods being deleted are
/// left out.
pub fn tally<'a>(pods: &'a [PodFacts], selected: &BTreeSet<String>, own: &str) -> Tally<'a> {
    let mut out = Tally::default();
    for pod in pods
        .iter()
        .filter(|p| !p.deleting && selected.contains(&p.namespace))
    {
        match state(pod.record.as_deref(), own) {
            State::NotInjected => {
                *out.not_injected.entry(pod.namespace.clone()).or_default() += 1;
                out.missed.push(pod);
            }
            State::Current => {}
            State::Outdated(version) => *out.outdated.entry(version).or_default() += 1,
        }
    }
    out
}
