//! Leader election over a `coordination.k8s.io/v1` Lease: the one elector of Ferry, used by
//! the webhook's self-managed certificates (one renewing instance) and by the agent (one
//! acting sidecar per CR).
//!
//! Two ways for a holder to show it is alive ([`Proof`]):
//! - **Renewal**: it renews every third of the duration, and a standby takes over once the
//!   record has looked unchanged for the duration. One write every few seconds, forever:
//!   right for one Lease per installation.
//! - **Pod**: the holder is a pod, named with its UID in the record; it writes only while it
//!   acts ([`LeaseKeeper::renew`]), and a standby takes over only when the record has looked
//!   unchanged for the duration *and* a read of the holder's pod shows it gone (deleted,
//!   replaced by another UID, Succeeded or Failed) or not Ready for a grace period. An idle
//!   holder writes nothing: right for one Lease per CR, a thousand in a cluster.
//!
//! Expiry is judged by when this instance last saw the record change, on its own monotonic
//! clock, not by the holder's `renewTime`, so clock skew between nodes cannot make two
//! instances both believe they hold it. Every write carries the resourceVersion read just
//! before, so of two instances racing for the lease exactly one succeeds; and since every
//! takeover needs the record unchanged for the duration, a holder whose write succeeded may
//! act until that write's start plus the duration ([`LeaseKeeper::holds`]).

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::PostParams;
use std::time::Duration;
use tokio::time::Instant;

use crate::{Error, Result};

mod decide;

pub use decide::{Evidence, PodSeen, Step, pod_identity, pod_seen, split_identity, step};

/// What the API said while a lease was read or written.
fn failed(action: &'static str) -> impl FnOnce(kube::Error) -> Error {
    move |source| Error::Api { action, source }
}

/// How the holder of a lease shows that it is alive.
#[derive(Clone)]
pub enum Proof {
    /// By renewing it every third of its duration.
    Renewal,
    /// By its pod: the identity is [`pod_identity`], the holder writes only while it acts,
    /// and standbys read the holder's pod through `pods` (its namespace's).
    Pod {
        /// The pods of the lease's namespace (boxed: the client is large, and the other
        /// mode carries nothing).
        pods: Box<Api<Pod>>,
        /// How long a holder's pod must have been seen not Ready before a standby takes
        /// over from it (its node lost: the pod object stays, Ready turns False).
        not_ready_grace: Duration,
    },
}

impl std::fmt::Debug for Proof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Proof::Renewal => f.write_str("Renewal"),
            Proof::Pod {
                not_ready_grace, ..
            } => f
                .debug_struct("Pod")
                .field("not_ready_grace", not_ready_grace)
                .finish(),
        }
    }
}

/// One instance's view of the lease.
#[derive(Debug)]
pub struct LeaseKeeper {
    name: String,
    identity: String,
    duration: Duration,
    proof: Proof,
    /// The record's resourceVersion as last seen, and since when it has looked that way.
    observed: Option<(String, Instant)>,
    /// Until when this instance may act as holder: our last successful write's start plus
    /// the lease duration, which is never later than another instance's expiry estimate.
    held_until: Option<Instant>,
    /// The holder the record named when last read (ourselves after a write).
    holder: Option<String>,
    /// The holder whose pod was last seen not Ready, and since when.
    not_ready_since: Option<(String, Instant)>,
}

impl LeaseKeeper {
    /// The keeper of Lease `name`, held as `identity`, renewed within `duration`
    /// ([`Proof::Renewal`]).
    pub fn new(name: String, identity: String, duration: Duration) -> Self {
        Self::with_proof(name, identity, duration, Proof::Renewal)
    }

    /// The keeper of Lease `name` for the pod `pod_name` with `pod_uid`: written only while
    /// the pod acts ([`LeaseKeeper::renew`]), taken over only from a holder whose pod is gone
    /// or not Ready for `not_ready_grace` ([`Proof::Pod`]).
    pub fn for_pod(
        name: String,
        pod_name: &str,
        pod_uid: &str,
        duration: Duration,
        pods: Api<Pod>,
        not_ready_grace: Duration,
    ) -> Self {
        Self::with_proof(
            name,
            pod_identity(pod_name, pod_uid),
            duration,
            Proof::Pod {
                pods: Box::new(pods),
                not_ready_grace,
            },
        )
    }

    fn with_proof(name: String, identity: String, duration: Duration, proof: Proof) -> Self {
        LeaseKeeper {
            name,
            identity,
            duration,
            proof,
            observed: None,
            held_until: None,
            holder: None,
            not_ready_since: None,
        }
    }

    /// Who held the lease when it was last read or written: an empty name when nobody did.
    /// What a standby tells its users about who acts instead of it (with [`Proof::Pod`],
    /// [`split_identity`] gives the pod's name).
    pub fn holder(&self) -> &str {
        self.holder.as_deref().unwrap_or_default()
    }

    /// Whether a write of ours backs our hold right now: what acting needs. With
    /// [`Proof::Pod`] an idle holder that has not written for the duration still holds the
    /// record ([`LeaseKeeper::try_hold`] says so) but must [`LeaseKeeper::renew`] before it
    /// acts.
    pub fn holds(&self) -> bool {
        self.held_until.is_some_and(|until| Instant::now() < until)
    }

    /// Acquires the lease if it is free or its holder is judged gone; returns whether the
    /// record names us. With [`Proof::Renewal`] it also renews when due; with
    /// [`Proof::Pod`] it never writes a record that already names us (an idle holder, or a
    /// standby's poll, costs reads only). After an API error the caller may still consult
    /// [`LeaseKeeper::holds`], which stays true until expiry.
    pub async fn try_hold(&mut self, api: &Api<Lease>) -> Result<bool> {
        let write_ours = matches!(self.proof, Proof::Renewal);
        self.hold(api, write_ours).await
    }

    /// Like [`LeaseKeeper::try_hold`], and renews a record that names us when a third of
    /// the duration has passed since our last write: what a holder calls before it acts and
    /// every third of the duration while it acts. `true`: [`LeaseKeeper::holds`] is true.
    pub async fn renew(&mut self, api: &Api<Lease>) -> Result<bool> {
        self.hold(api, true).await
    }

    async fn hold(&mut self, api: &Api<Lease>, write_ours: bool) -> Result<bool> {
        let now = Instant::now();
        // Renew at a third of the duration, not on every tick.
        if write_ours
            && self
                .held_until
                .is_some_and(|until| until > now + self.duration * 2 / 3)
        {
            return Ok(true);
        }
        let current = api.get_opt(&self.name).await.map_err(failed("get Lease"))?;
        let version = current
            .as_ref()
            .and_then(|l| l.metadata.resource_version.clone());
        let version = version.unwrap_or_default();
        if self
            .observed
            .as_ref()
            .is_none_or(|(seen, _)| *seen != version)
        {
            self.observed = Some((version, now));
        }
        let since = self.observed.as_ref().map_or(now, |(_, at)| *at);
        let spec = current.as_ref().and_then(|l| l.spec.as_ref());
        self.holder = spec.and_then(|s| s.holder_identity.clone());
        let evidence = self.evidence(spec, now - since).await;
        let grace = match &self.proof {
            Proof::Pod {
                not_ready_grace, ..
            } => *not_ready_grace,
            Proof::Renewal => Duration::ZERO,
        };
        let step = step(
            spec,
            &self.identity,
            now - since,
            self.duration,
            evidence,
            grace,
        );
        let written = match step {
            Step::Wait => {
                self.held_until = None;
                return Ok(false);
            }
            Step::Renew if !write_ours => return Ok(true),
            Step::Create => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.name.clone()),
                        ..ObjectMeta::default()
                    },
                    spec: Some(self.spec_for(None, step)),
                };
                api.create(&PostParams::default(), &lease).await
            }
            Step::Renew | Step::TakeOver => {
                let mut lease = current.unwrap_or_default();
                lease.spec = Some(self.spec_for(lease.spec.take(), step));
                api.replace(&self.name, &PostParams::default(), &lease)
                    .await
            }
        };
        match written {
            Ok(lease) => {
                if step != Step::Renew {
                    tracing::info!(lease = %self.name, identity = %self.identity, "acquired the lease");
                }
                self.held_until = Some(now + self.duration);
                self.holder = Some(self.identity.clone());
                self.observed = lease.metadata.resource_version.map(|v| (v, now));
                Ok(true)
            }
            // 409: another instance wrote first (create or update); it holds the lease. Read
            // who, so a standby can name the holder (a failed read keeps the last one seen).
            Err(kube::Error::Api(status)) if status.code == 409 => {
                self.held_until = None;
                if let Ok(Some(lease)) = api.get_opt(&self.name).await {
                    self.holder = lease.spec.and_then(|s| s.holder_identity);
                }
                Ok(false)
            }
            Err(e) => Err(failed("write Lease")(e)),
        }
    }

    /// What we know of another holder: with [`Proof::Pod`], a read of its pod, made only
    /// once the record has been unchanged for the duration (before that it cannot matter).
    async fn evidence(&mut self, spec: Option<&LeaseSpec>, unchanged_for: Duration) -> Evidence {
        let Proof::Pod { pods, .. } = &self.proof else {
            return Evidence::Expiry;
        };
        let holder = spec
            .and_then(|s| s.holder_identity.as_deref())
            .unwrap_or_default();
        if holder.is_empty() || holder == self.identity || unchanged_for < self.duration {
            self.not_ready_since = None;
            return Evidence::Pod(PodSeen::NotRead);
        }
        let (name, uid) = split_identity(holder);
        let seen = match pods.get_opt(name).await {
            Ok(pod) => pod_seen(pod.as_ref(), uid),
            Err(e) => {
                tracing::warn!(error = %e, pod = name, lease = %self.name, "cannot read the holder's pod; waiting");
                PodSeen::Unreadable
            }
        };
        let seen = match seen {
            PodSeen::NotReadyFor(_) => {
                let now = Instant::now();
                let since = match &self.not_ready_since {
                    Some((who, at)) if who == holder => *at,
                    _ => {
                        self.not_ready_since = Some((holder.to_owned(), now));
                        now
                    }
                };
                PodSeen::NotReadyFor(now - since)
            }
            other => {
                self.not_ready_since = None;
                other
            }
        };
        if seen != PodSeen::Ready {
            tracing::info!(lease = %self.name, holder, ?seen, "the holder's pod");
        }
        Evidence::Pod(seen)
    }

    /// Gives the lease up, if we hold it, so that a standby takes over at once instead of
    /// after the duration (a clean shutdown). Failures are logged: the lease then expires.
    pub async fn release(&mut self, api: &Api<Lease>) {
        self.held_until = None;
        let Ok(Some(mut lease)) = api.get_opt(&self.name).await else {
            return;
        };
        let ours = lease
            .spec
            .as_ref()
            .and_then(|s| s.holder_identity.as_deref())
            == Some(self.identity.as_str());
        if !ours {
            return;
        }
        if let Some(spec) = lease.spec.as_mut() {
            spec.holder_identity = None;
            spec.renew_time = None;
        }
        if let Err(e) = api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            tracing::warn!(error = %e, lease = %self.name, "could not release the Lease");
        }
    }

    fn spec_for(&self, previous: Option<LeaseSpec>, step: Step) -> LeaseSpec {
        let now = MicroTime(Timestamp::now());
        let previous = previous.unwrap_or_default();
        let (acquire_time, transitions) = match step {
            Step::Renew => (
                previous.acquire_time.or(Some(now.clone())),
                previous.lease_transitions,
            ),
            Step::TakeOver => (
                Some(now.clone()),
                Some(previous.lease_transitions.unwrap_or(0) + 1),
            ),
            Step::Create | Step::Wait => (Some(now.clone()), Some(0)),
        };
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(
                i32::try_from(self.duration.as_secs().max(1)).unwrap_or(i32::MAX),
            ),
            acquire_time,
            renew_time: Some(now),
            lease_transitions: transitions,
            ..LeaseSpec::default()
        }
    }
}

#[cfg(test)]
mod tests;
