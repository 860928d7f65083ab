//! The `self-managed` certificate mode (DESIGN.md section 6), for any number of replicas.
//!
//! Every instance polls one Secret and serves the leaf in it. The instance holding a
//! `coordination.k8s.io/v1` Lease also keeps that Secret current: it creates it (CA and
//! leaf), renews the leaf at two thirds of its lifetime, rotates the CA at two thirds of its
//! own (the rule is in [`plan`]), and patches the bundle into the `caBundle` of every webhook
//! in the named webhook configurations.
//!
//! Secret data keys: `ca.crt`, `ca.key`, `tls.crt`, `tls.key` and `ca-bundle.crt` (the
//! CAs to publish), type `kubernetes.io/tls`, annotation `certs.ferry.dev/leaf-issued-at`.
//!
//! RBAC the webhook's ServiceAccount needs:
//! - in its namespace: `secrets` get, create, update, patch; `coordination.k8s.io` `leases`
//!   get, create, update;
//! - cluster-wide: `admissionregistration.k8s.io` `mutatingwebhookconfigurations` and
//!   `validatingwebhookconfigurations` get, patch (restrict with `resourceNames`).

pub mod plan;
pub mod report;

mod apply;
mod config;
mod instance;
mod material;
mod webhooks;
mod write;

pub use config::SelfManagedConfig;
pub use material::{CA_BUNDLE, CA_CERT, CA_KEY, LEAF_ISSUED_AT, SECRET_TYPE, TLS_CERT, TLS_KEY};
pub use report::{Repair, Reporter, Reports};

use std::sync::Arc;
use tokio::time::MissedTickBehavior;

use crate::{CertStore, Result};

/// Runs this instance's part of the self-managed mode until the task is aborted.
///
/// Returns early only for an invalid `config`. API errors are logged and retried on the
/// next tick. `reporter` tells the caller whether this instance holds the Lease and which
/// caBundles it repaired (see [`report`]). Aborting the task (or killing the process)
/// leaves the Lease to expire, after
/// which another instance takes over.
#[tracing::instrument(skip_all, fields(namespace = %config.namespace, identity = %config.identity))]
pub async fn run(
    client: kube::Client,
    config: SelfManagedConfig,
    store: Arc<CertStore>,
    reporter: Reporter,
) -> Result<()> {
    config.validate()?;
    let mut ticker = tokio::time::interval(config.tick());
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut instance = instance::Instance::new(client, config, store, reporter);
    loop {
        ticker.tick().await;
        instance.tick().await;
    }
}
