//! One acting sidecar per CR: a `coordination.k8s.io` Lease named after the CR, kept by
//! Ferry's one elector ([`ferry_kube::lease`]). The holder renews it; a standby takes it over
//! once it has looked unchanged for its duration (the holder died) or was released (the
//! holder stopped cleanly).

use std::sync::Arc;
use std::time::Duration;

use ferry_kube::lease::LeaseKeeper;
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use tokio::sync::Mutex;

use super::env::Role;

/// How long a Lease stays valid without renewal.
pub const DURATION: Duration = Duration::from_secs(15);
/// How often the holder renews it, and a standby retries.
pub const RENEW_EVERY: Duration = Duration::from_secs(5);

/// The Lease of one CR. Clones share one keeper: the loop that takes the Lease, the task
/// that renews it and the shutdown that releases it see the same observations.
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
            keeper: Arc::new(Mutex::new(LeaseKeeper::new(name, holder, DURATION))),
        }
    }

    /// Takes or renews the Lease if it is free, expired or already ours.
    pub async fn try_acquire(&self) -> Result<Held, kube::Error> {
        let mut keeper = self.keeper.lock().await;
        match keeper.try_hold(&self.api).await {
            Ok(true) => Ok(Held::ByUs),
            Ok(false) => Ok(Held::By(keeper.holder().to_owned())),
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
}
