//! Settings of the self-managed mode, with defaults and validation.

use std::net::IpAddr;
use std::time::Duration;

use crate::{Error, Result};

const DAY: Duration = Duration::from_secs(86_400);

/// Settings for [`run`](super::run). Build with [`SelfManagedConfig::new`] or struct update syntax over
/// `Default::default()`. Short validities make renewal and rotation testable in seconds.
#[derive(Clone, Debug)]
pub struct SelfManagedConfig {
    /// Namespace of the Secret, the Lease and the Service.
    pub namespace: String,
    /// Name of the Secret holding CA, leaf and bundle.
    pub secret_name: String,
    /// Name of the Lease that elects the renewing instance.
    pub lease_name: String,
    /// This instance's identity in the Lease: the pod name.
    pub identity: String,
    /// The webhook Service; the leaf carries its four DNS forms.
    pub service_name: String,
    /// More DNS names for the leaf.
    pub extra_dns_names: Vec<String>,
    /// IP addresses for the leaf, e.g. for a webhook registered by URL.
    pub extra_ips: Vec<IpAddr>,
    /// MutatingWebhookConfiguration names whose webhooks get the `caBundle`.
    pub mutating_webhooks: Vec<String>,
    /// ValidatingWebhookConfiguration names whose webhooks get the `caBundle`.
    pub validating_webhooks: Vec<String>,
    /// Lifetime of a new CA (default ten years).
    pub ca_validity: Duration,
    /// Lifetime of a new leaf (default one year).
    pub leaf_validity: Duration,
    /// How long the Lease lasts without renewal (default 15 s); renewed every third of it.
    pub lease_duration: Duration,
    /// How often every instance reads the Secret (default 10 s). An old CA stays in the
    /// bundle for twice this after a leaf from the new CA was written.
    pub poll_interval: Duration,
}

impl Default for SelfManagedConfig {
    fn default() -> Self {
        SelfManagedConfig {
            namespace: String::new(),
            secret_name: String::new(),
            lease_name: String::new(),
            identity: String::new(),
            service_name: String::new(),
            extra_dns_names: Vec::new(),
            extra_ips: Vec::new(),
            mutating_webhooks: Vec::new(),
            validating_webhooks: Vec::new(),
            ca_validity: 3650 * DAY,
            leaf_validity: 365 * DAY,
            lease_duration: Duration::from_secs(15),
            poll_interval: Duration::from_secs(10),
        }
    }
}

impl SelfManagedConfig {
    /// Defaults for `service` in `namespace`: Secret `<service>-certs`, Lease
    /// `<service>-certs`, no webhook configurations.
    pub fn new(namespace: &str, service: &str, identity: &str) -> Self {
        SelfManagedConfig {
            namespace: namespace.to_owned(),
            secret_name: format!("{service}-certs"),
            lease_name: format!("{service}-certs"),
            identity: identity.to_owned(),
            service_name: service.to_owned(),
            ..SelfManagedConfig::default()
        }
    }

    /// How long an old CA stays in the bundle after the new CA's leaf was written: twice
    /// `poll_interval`, so every instance has polled and loaded the new leaf at least once.
    pub fn grace(&self) -> Duration {
        self.poll_interval * 2
    }

    /// How often an instance wakes: often enough to poll and to renew the lease in time.
    pub(super) fn tick(&self) -> Duration {
        self.poll_interval.min(self.lease_duration / 3)
    }

    pub(super) fn validate(&self) -> Result<()> {
        let names = [
            ("namespace", &self.namespace),
            ("secret_name", &self.secret_name),
            ("lease_name", &self.lease_name),
            ("identity", &self.identity),
            ("service_name", &self.service_name),
        ];
        if let Some((field, _)) = names.iter().find(|(_, v)| v.is_empty()) {
            return Err(Error::Config(format!("{field} must not be empty")));
        }
        if self.poll_interval.is_zero() {
            return Err(Error::Config("poll_interval must be positive".into()));
        }
        if self.lease_duration < Duration::from_secs(3) {
            return Err(Error::Config("lease_duration must be at least 3s".into()));
        }
        // The last third of a lifetime must outlast the grace period, or instances could
        // still serve a certificate the bundle no longer trusts.
        let floor = self.grace() * 3;
        for (field, validity) in [
            ("ca_validity", self.ca_validity),
            ("leaf_validity", self.leaf_validity),
        ] {
            if validity <= floor {
                return Err(Error::Config(format!(
                    "{field} ({validity:?}) must exceed six poll intervals ({floor:?})"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
