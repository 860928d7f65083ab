//! The leader's self-health checks (DESIGN.md section 8, "Fleet"). Injectors fail
//! silently: an expired or replaced caBundle blocks every labelled pod, pods created while
//! the webhook was not called run without their sidecar, and old sidecars linger after an
//! upgrade. The leader of the webhook Deployment (the holder of the certificate Lease)
//! therefore, every interval:
//! - exports when the serving certificate and the CA that issued it expire;
//! - checks that the caBundle of each named configuration trusts the serving certificate.
//!   In self-managed mode the certificate task repairs drift and reports it here
//!   ([`ferry_certs::self_managed::Repair`]); otherwise the leader reports it;
//! - lists the pods labelled `ferry.dev/inject=true` in the namespaces the injection
//!   selects, writes an Event once on each one without the `ferry.dev/injected` record, and
//!   counts them, and the pods injected by another version, in gauges.
//!
//! The decisions are pure functions ([`bundle`], [`pods`], [`notes`]); this module reads
//! the cluster and writes the results.

pub mod bundle;
mod elect;
mod events;
pub mod notes;
pub mod pods;
mod scan;

pub use elect::elect;

use std::collections::HashSet;
use std::future::pending;
use std::sync::Arc;
use std::time::Duration;

use ferry_certs::CertStore;
use ferry_certs::self_managed::Repair;
use tokio::sync::{mpsc, watch};
use tokio::time::MissedTickBehavior;

use crate::metrics::{ConfigurationLabels, Health};

/// What the checks look at.
#[derive(Clone, Debug)]
pub struct HealthConfig {
    /// Time between two scans.
    pub interval: Duration,
    /// This instance's pod name, the Events' reporting instance.
    pub identity: String,
    /// MutatingWebhookConfigurations to check; the first one's first webhook's
    /// namespaceSelector says which namespaces the injection sees.
    pub mutating: Vec<String>,
    /// ValidatingWebhookConfigurations to check.
    pub validating: Vec<String>,
    /// Self-managed certificates: drift is repaired (and reported) by the certificate task,
    /// so a scan only sets the gauge.
    pub self_managed: bool,
    /// This webhook's version, as it writes it into `ferry.dev/injected`.
    pub version: String,
}

/// Whether this instance leads, and, in self-managed mode, the caBundles it repaired.
#[derive(Debug)]
pub struct Leadership {
    /// True while this instance holds the Lease.
    pub leader: watch::Receiver<bool>,
    /// Repairs made by the self-managed certificate task.
    pub repairs: Option<mpsc::UnboundedReceiver<Repair>>,
}

/// Runs the checks on the leader until the process ends; a standby exports no health
/// gauges.
pub async fn run(
    client: kube::Client,
    config: HealthConfig,
    certs: Arc<CertStore>,
    metrics: Health,
    leadership: Leadership,
) {
    let Leadership {
        mut leader,
        mut repairs,
    } = leadership;
    let mut checker = scan::Checker::new(client, config.clone(), certs, metrics);
    let mut ticker = tokio::time::interval(config.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            changed = leader.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            repair = next_repair(&mut repairs) => {
                checker.repaired(repair).await;
                continue;
            }
        }
        if *leader.borrow_and_update() {
            checker.scan().await;
        } else {
            checker.standby();
        }
    }
}

/// The next repair, or never when there is no repairing task.
async fn next_repair(repairs: &mut Option<mpsc::UnboundedReceiver<Repair>>) -> Repair {
    match repairs {
        Some(rx) => match rx.recv().await {
            Some(repair) => repair,
            None => pending().await,
        },
        None => pending().await,
    }
}

/// What one instance remembers between scans, so each finding is reported once.
#[derive(Debug, Default)]
struct Reported {
    /// Uids of the pods that got their NotInjected Event.
    pods: HashSet<String>,
    /// Configurations reported as not trusting the serving certificate, until they do.
    untrusted: HashSet<ConfigurationLabels>,
}

#[cfg(test)]
mod tests;
