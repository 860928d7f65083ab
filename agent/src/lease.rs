//! One acting sidecar per CR: a `coordination.k8s.io` Lease named after the CR. The holder
//! renews it; a standby takes it over once it has gone unrenewed for its duration (the holder
//! died) or was released (the holder stopped cleanly).

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};

use super::env::Role;

/// How long a Lease stays valid without renewal.
pub const DURATION: Duration = Duration::from_secs(15);
/// How often the holder renews it, and a standby retries.
pub const RENEW_EVERY: Duration = Duration::from_secs(5);

/// The Lease of one CR.
#[derive(Debug, Clone)]
pub struct CrLease {
    api: Api<Lease>,
    name: String,
    holder: String,
}

/// What an attempt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    /// This pod holds it.
    ByUs,
    /// Another pod holds it.
    By(String),
}

/// The Lease name of a CR: `ferry-src-<name>` or `ferry-dst-<name>`, cut to 253 characters.
pub fn lease_name(role: Role, object: &str) -> String {
    let prefix = match role {
        Role::Source => "ferry-src-",
        Role::Destination => "ferry-dst-",
    };
    let mut name = format!("{prefix}{object}");
    name.truncate(253);
    name
}

impl CrLease {
    /// The Lease `name` in `namespace`, held as `holder` (the pod name).
    pub fn new(client: kube::Client, namespace: &str, name: String, holder: String) -> CrLease {
        CrLease {
            api: Api::namespaced(client, namespace),
            name,
            holder,
        }
    }

    /// Takes or renews the Lease if it is free, expired or already ours.
    pub async fn try_acquire(&self) -> Result<Held, kube::Error> {
        let now = Timestamp::now();
        let existing = self.api.get_opt(&self.name).await?;
        let Some(mut lease) = existing else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.spec(now, None)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(Held::ByUs),
                Err(kube::Error::Api(s)) if s.code == 409 => self.holder_now().await,
                Err(e) => Err(e),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let current = spec.holder_identity.clone().filter(|h| !h.is_empty());
        let ours = current.as_deref() == Some(self.holder.as_str());
        let expired = match (&spec.renew_time, spec.lease_duration_seconds) {
            (Some(MicroTime(renewed)), Some(secs)) => {
                *renewed + SignedDuration::from_secs(i64::from(secs)) < now
            }
            _ => true,
        };
        if !(ours || expired || current.is_none()) {
            return Ok(Held::By(current.unwrap_or_default()));
        }
        let acquired = if ours {
            spec.acquire_time.clone()
        } else {
            None
        };
        lease.spec = Some(self.spec(now, acquired));
        match self
            .api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(Held::ByUs),
            // Someone else wrote it between our read and write: they won this round.
            Err(kube::Error::Api(s)) if s.code == 409 => self.holder_now().await,
            Err(e) => Err(e),
        }
    }

    /// Gives the Lease up so a standby takes over at once (on a clean shutdown).
    pub async fn release(&self) {
        let Ok(Some(mut lease)) = self.api.get_opt(&self.name).await else {
            return;
        };
        let ours = lease
            .spec
            .as_ref()
            .and_then(|s| s.holder_identity.as_deref())
            == Some(self.holder.as_str());
        if !ours {
            return;
        }
        if let Some(spec) = lease.spec.as_mut() {
            spec.holder_identity = None;
            spec.renew_time = None;
        }
        if let Err(e) = self
            .api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            tracing::warn!(error = %e, lease = %self.name, "could not release the Lease");
        }
    }

    fn spec(&self, now: Timestamp, acquired: Option<MicroTime>) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.holder.clone()),
            lease_duration_seconds: Some(DURATION.as_secs() as i32),
            acquire_time: Some(acquired.unwrap_or(MicroTime(now))),
            renew_time: Some(MicroTime(now)),
            ..LeaseSpec::default()
        }
    }

    async fn holder_now(&self) -> Result<Held, kube::Error> {
        let lease = self.api.get(&self.name).await?;
        let holder = lease
            .spec
            .and_then(|s| s.holder_identity)
            .unwrap_or_default();
        Ok(if holder == self.holder {
            Held::ByUs
        } else {
            Held::By(holder)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_names_say_the_side_and_fit() {
        assert_eq!(lease_name(Role::Source, "db"), "ferry-src-db");
        assert_eq!(lease_name(Role::Destination, "db"), "ferry-dst-db");
        assert_eq!(lease_name(Role::Source, &"a".repeat(300)).len(), 253);
    }
}
