//! Leadership where no certificate task holds the Lease (cert-manager and provided
//! certificates): the same Lease, kept by `ferry-kube`'s elector.

use std::time::Duration;

use ferry_kube::lease::LeaseKeeper;
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use tokio::sync::watch;

/// Holds Lease `name` in `namespace` as `identity` when it can, and says whether it does.
pub fn elect(
    client: kube::Client,
    namespace: &str,
    name: &str,
    identity: &str,
    duration: Duration,
) -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    let api: Api<Lease> = Api::namespaced(client, namespace);
    let mut keeper = LeaseKeeper::new(name.to_owned(), identity.to_owned(), duration);
    // The keeper renews at a third of the duration; a tick more often keeps it on time.
    let tick = (duration / 3).max(Duration::from_secs(1));
    tokio::spawn(async move {
        loop {
            let holds = match keeper.try_hold(&api).await {
                Ok(holds) => holds,
                Err(e) => {
                    tracing::warn!(error = %e, "leader Lease check failed");
                    keeper.holds()
                }
            };
            tx.send_if_modified(|current| std::mem::replace(current, holds) != holds);
            if tx.is_closed() {
                return;
            }
            tokio::time::sleep(tick).await;
        }
    });
    rx
}
