//! Leader election over a `coordination.k8s.io/v1` Lease: the one elector of Ferry, used by
//! the webhook's self-managed certificates (one renewing instance) and by the agent (one
//! acting sidecar per CR).
//!
//! Expiry is judged by when this instance last saw the record change, on its own monotonic
//! clock, not by the holder's `renewTime`, so clock skew between nodes cannot make two
//! instances both believe they hold it. Every write carries the resourceVersion read just
//! before, so of two instances racing for an expired lease exactly one succeeds.

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::PostParams;
use std::time::Duration;
use tokio::time::Instant;

use crate::{Error, Result};

/// What the API said while a lease was read or written.
fn failed(action: &'static str) -> impl FnOnce(kube::Error) -> Error {
    move |source| Error::Api { action, source }
}

/// What to do about the lease this tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// No lease yet: create it, holding it.
    Create,
    /// We hold it: write a fresh renewTime.
    Renew,
    /// Free or expired: write ourselves in.
    TakeOver,
    /// Someone else holds it.
    Wait,
}

/// Decides from the lease, our identity, and how long the record has looked the same to us.
pub fn step(
    spec: Option<&LeaseSpec>,
    identity: &str,
    unchanged_for: Duration,
    ours: Duration,
) -> Step {
    let Some(spec) = spec else {
        return Step::Create;
    };
    let holder = spec.holder_identity.as_deref().unwrap_or_default();
    let duration = spec
        .lease_duration_seconds
        .and_then(|s| u64::try_from(s).ok())
        .map_or(ours, Duration::from_secs);
    match holder {
        h if h == identity => Step::Renew,
        "" => Step::TakeOver,
        _ if unchanged_for >= duration => Step::TakeOver,
        _ => Step::Wait,
    }
}

/// One instance's view of the lease.
#[derive(Debug)]
pub struct LeaseKeeper {
    name: String,
    identity: String,
    duration: Duration,
    /// The record's resourceVersion as last seen, and since when it has looked that way.
    observed: Option<(String, Instant)>,
    /// Until when this instance may act as holder: our last successful write's start plus
    /// the lease duration, which is never later than another instance's expiry estimate.
    held_until: Option<Instant>,
    /// The holder the record named when last read (ourselves after a write).
    holder: Option<String>,
}

impl LeaseKeeper {
    /// The keeper of Lease `name`, held as `identity`, for `duration` without renewal.
    pub fn new(name: String, identity: String, duration: Duration) -> Self {
        LeaseKeeper {
            name,
            identity,
            duration,
            observed: None,
            held_until: None,
            holder: None,
        }
    }

    /// Who held the lease when it was last read or written: an empty name when nobody did.
    /// What a standby tells its users about who acts instead of it.
    pub fn holder(&self) -> &str {
        self.holder.as_deref().unwrap_or_default()
    }

    /// Whether we hold the lease right now.
    pub fn holds(&self) -> bool {
        self.held_until.is_some_and(|until| Instant::now() < until)
    }

    /// Acquires or renews the lease if due; returns whether we hold it. After an API error
    /// the caller may still consult [`LeaseKeeper::holds`], which stays true until expiry.
    pub async fn try_hold(&mut self, api: &Api<Lease>) -> Result<bool> {
        let now = Instant::now();
        // Renew at a third of the duration, not on every tick.
        if self
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
        let step = step(spec, &self.identity, now - since, self.duration);
        let written = match step {
            Step::Wait => {
                self.held_until = None;
                return Ok(false);
            }
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
