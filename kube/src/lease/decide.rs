//! The elector's decisions, as pure functions of what was read: whose the Lease is, whether
//! it may be taken over, and what a read of the holder's pod says about it.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::LeaseSpec;
use k8s_openapi::api::core::v1::Pod;

/// What to do about the lease this tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// No lease yet: create it, holding it.
    Create,
    /// We hold it: write a fresh renewTime (when a renewal is due).
    Renew,
    /// Free, or its holder is judged gone: write ourselves in.
    TakeOver,
    /// Someone else holds it.
    Wait,
}

/// What a standby knows of the holder besides the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Evidence {
    /// The holder proves itself alive by renewing: the record's expiry alone decides.
    Expiry,
    /// The holder is a pod that writes only while it acts; what a read of that pod showed.
    Pod(PodSeen),
}

/// What a read of the holder's pod showed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodSeen {
    /// Not read: the record changed too recently for it to matter, or there is no holder.
    NotRead,
    /// The pod is deleted, is another pod under the same name (another UID), or its phase is
    /// Succeeded or Failed: no container of the holder runs.
    Gone,
    /// The pod exists and runs but has not been Ready for this long (as this instance saw
    /// it): its node may be lost, and the pod object outlives it.
    NotReadyFor(Duration),
    /// The pod is Ready.
    Ready,
    /// The read failed: nothing is known, and a standby never acts on nothing.
    Unreadable,
}

/// Decides from the lease, our identity, how long the record has looked the same to us, and
/// what we know of its holder.
///
/// Every takeover of another's lease needs the record unchanged for its duration, so a
/// holder that wrote (acquired or renewed) at `t` is safe from takeover until `t +
/// duration` on any clock that runs at the holder's rate: that is what lets it act until
/// then. With [`Evidence::Pod`], the holder's pod must also be gone, or not Ready for
/// `not_ready_grace`, so an idle holder that writes nothing keeps the lease.
pub fn step(
    spec: Option<&LeaseSpec>,
    identity: &str,
    unchanged_for: Duration,
    ours: Duration,
    evidence: Evidence,
    not_ready_grace: Duration,
) -> Step {
    let Some(spec) = spec else {
        return Step::Create;
    };
    let holder = spec.holder_identity.as_deref().unwrap_or_default();
    let duration = spec
        .lease_duration_seconds
        .and_then(|s| u64::try_from(s).ok())
        .map_or(ours, Duration::from_secs);
    let expired = unchanged_for >= duration;
    match holder {
        h if h == identity => Step::Renew,
        "" => Step::TakeOver,
        _ if !expired => Step::Wait,
        _ => match evidence {
            Evidence::Expiry | Evidence::Pod(PodSeen::Gone) => Step::TakeOver,
            Evidence::Pod(PodSeen::NotReadyFor(d)) if d >= not_ready_grace => Step::TakeOver,
            Evidence::Pod(_) => Step::Wait,
        },
    }
}

/// The identity of a pod in a Lease: `<name>_<uid>`, as client-go's elector writes
/// `<host>_<uuid>`. A pod name never holds `_`, so the two parts split again unambiguously;
/// the UID tells a pod from a later one of the same name (a StatefulSet's).
pub fn pod_identity(name: &str, uid: &str) -> String {
    format!("{name}_{uid}")
}

/// The pod name and UID of an identity written by [`pod_identity`]; an identity without
/// `_` (an older sidecar's, which wrote the pod name alone) names a pod without a UID.
pub fn split_identity(identity: &str) -> (&str, Option<&str>) {
    match identity.rsplit_once('_') {
        Some((name, uid)) => (name, Some(uid)),
        None => (identity, None),
    }
}

/// What the pod read under the holder's name says about the holder (`uid`: the one the
/// Lease names; `None`: any pod of that name is the holder). `None` for the pod: not found.
pub fn pod_seen(pod: Option<&Pod>, uid: Option<&str>) -> PodSeen {
    let Some(pod) = pod else {
        return PodSeen::Gone;
    };
    if let Some(uid) = uid
        && pod.metadata.uid.as_deref() != Some(uid)
    {
        return PodSeen::Gone;
    }
    let status = pod.status.as_ref();
    if matches!(
        status.and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    ) {
        return PodSeen::Gone;
    }
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    if ready {
        PodSeen::Ready
    } else {
        // The caller turns this into how long it has seen the pod so.
        PodSeen::NotReadyFor(Duration::ZERO)
    }
}
