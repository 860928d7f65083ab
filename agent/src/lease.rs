//! One acting sidecar per CR: a `coordination.k8s.io` Lease named after the CR, kept by
//! Ferry's one elector ([`ferry_kube::lease`]) with
//! [`Proof::Pod`](ferry_kube::lease::Proof::Pod): the record names the
//! holder's pod and UID, and the holder writes it only while it acts (a sync, an rsync
//! destination publishing an image). An idle bound sidecar makes no write at all.
//!
//! - A standby reads the Lease every [`POLL_EVERY`] and takes it over when it is released
//!   (the holder stopped cleanly: at once), or when it has looked unchanged for
//!   [`DURATION`] and the holder's pod is gone (deleted, replaced, Succeeded or Failed) or
//!   has been seen not Ready for [`NOT_READY_GRACE`] (its node lost).
//! - The holder renews before it acts and every [`RENEW_EVERY`] while it acts; a write lets
//!   it act for [`DURATION`], since no takeover can happen before the record has been
//!   unchanged that long. If it cannot renew within that time, it stops.
//!
//! `docs/design/one-writer.md` gives the reasoning and the takeover bounds.

use std::sync::Arc;
use std::time::Duration;

use ferry_kube::lease::{LeaseKeeper, split_identity};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use tokio::sync::Mutex;

use super::env::Role;

/// How long one write of the Lease lets its holder act, and how long a standby needs the
/// record unchanged before it may take over.
pub const DURATION: Duration = Duration::from_secs(15);
/// How often the holder renews while it acts (a third of [`DURATION`]).
pub const RENEW_EVERY: Duration = Duration::from_secs(5);
/// How often a standby reads the Lease (and, once it may matter, the holder's pod), and an
/// rsync destination's holder checks it still holds the Lease. Reads only.
pub const POLL_EVERY: Duration = Duration::from_secs(5);
/// How long the holder's pod must be seen not Ready before a standby takes over from it: a
/// lost node leaves its pods Running but not Ready.
pub const NOT_READY_GRACE: Duration = Duration::from_secs(30);

/// The Lease of one CR. Clones share one keeper: the loop that takes the Lease, the task
/// that renews it while a sync runs and the shutdown that releases it see the same
/// observations.
#[derive(Debug, Clone)]
pub struct CrLease {
    api: Api<Lease>,
    keeper: Arc<Mutex<LeaseKeeper>>,
}

/// What an attempt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    /// This pod holds it.
    ByUs,
    /// Another pod holds it: its name.
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
    /// The Lease `name` in `namespace`, held by the pod `pod_name` with `pod_uid`.
    pub fn new(
        client: kube::Client,
        namespace: &str,
        name: String,
        pod_name: &str,
        pod_uid: &str,
    ) -> CrLease {
        let keeper = LeaseKeeper::for_pod(
            name,
            pod_name,
            pod_uid,
            DURATION,
            Api::namespaced(client.clone(), namespace),
            NOT_READY_GRACE,
        );
        CrLease {
            api: Api::namespaced(client, namespace),
            keeper: Arc::new(Mutex::new(keeper)),
        }
    }

    /// Takes the Lease if it is free or its holder is gone; a record that already names
    /// this pod is not written.
    pub async fn try_acquire(&self) -> Result<Held, kube::Error> {
        let mut keeper = self.keeper.lock().await;
        let held = keeper.try_hold(&self.api).await;
        Self::held(&keeper, held)
    }

    /// Before acting and while acting: takes or renews the Lease (a write when a third of
    /// [`DURATION`] has passed since the last one).
    pub async fn renew(&self) -> Result<Held, kube::Error> {
        let mut keeper = self.keeper.lock().await;
        let held = keeper.renew(&self.api).await;
        Self::held(&keeper, held)
    }

    /// Whether a write of this pod's backs its hold right now: what acting needs.
    pub async fn holds(&self) -> bool {
        self.keeper.lock().await.holds()
    }

    fn held(keeper: &LeaseKeeper, held: ferry_kube::Result<bool>) -> Result<Held, kube::Error> {
        match held {
            Ok(true) => Ok(Held::ByUs),
            Ok(false) => Ok(Held::By(split_identity(keeper.holder()).0.to_owned())),
            Err(ferry_kube::Error::Api { source, .. }) => Err(source),
        }
    }

    /// Gives the Lease up so a standby takes over at once (on a clean shutdown).
    pub async fn release(&self) {
        self.keeper.lock().await.release(&self.api).await;
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

    #[test]
    fn a_write_outlives_two_missed_renewals() {
        assert!(RENEW_EVERY * 3 <= DURATION);
        assert!(NOT_READY_GRACE >= DURATION);
    }
}
