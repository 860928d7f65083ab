//! One instance's tick: hold the lease if possible, keep the Secret current if holding,
//! and serve the leaf in the Secret either way.

use ferry_kube::lease::LeaseKeeper;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use std::sync::Arc;
use std::time::SystemTime;

use super::apply::{Spec, apply};
use super::material::{Material, TLS_CERT, TLS_KEY};
use super::report::Reporter;
use super::write::write_secret;
use super::{SelfManagedConfig, plan, webhooks};
use crate::validity::rfc3339;
use crate::{CertStore, Result, service_dns_names};

pub(crate) struct Instance {
    client: kube::Client,
    config: SelfManagedConfig,
    spec: Spec,
    store: Arc<CertStore>,
    secrets: Api<Secret>,
    leases: Api<Lease>,
    lease: LeaseKeeper,
    reporter: Reporter,
    /// The last leaf pair tried, so an unchanged Secret is not reloaded or re-reported.
    last_pair: Option<(Vec<u8>, Vec<u8>)>,
}

impl Instance {
    pub(crate) fn new(
        client: kube::Client,
        config: SelfManagedConfig,
        store: Arc<CertStore>,
        reporter: Reporter,
    ) -> Self {
        let ns = config.namespace.as_str();
        let mut dns_names = service_dns_names(&config.service_name, ns);
        dns_names.extend(config.extra_dns_names.iter().cloned());
        let spec = Spec {
            ca_common_name: format!("ferry-certs CA for {}.{ns}", config.service_name),
            dns_names,
            ips: config.extra_ips.clone(),
            ca_validity: config.ca_validity,
            leaf_validity: config.leaf_validity,
        };
        let lease = LeaseKeeper::new(
            config.lease_name.clone(),
            config.identity.clone(),
            config.lease_duration,
        );
        Instance {
            secrets: Api::namespaced(client.clone(), ns),
            leases: Api::namespaced(client.clone(), ns),
            client,
            config,
            spec,
            store,
            lease,
            reporter,
            last_pair: None,
        }
    }

    pub(crate) async fn tick(&mut self) {
        let holder = match self.lease.try_hold(&self.leases).await {
            Ok(holder) => holder,
            Err(e) => {
                tracing::warn!(error = %e, "lease check failed");
                self.lease.holds()
            }
        };
        self.reporter.leader(holder);
        let secret = match self.secrets.get_opt(&self.config.secret_name).await {
            Ok(secret) => secret,
            Err(e) => {
                tracing::warn!(error = %e, "reading the certificate Secret failed");
                return;
            }
        };
        let secret = if holder {
            match self.reconcile(secret.as_ref()).await {
                Ok(Some(written)) => Some(written),
                Ok(None) => secret,
                Err(e) => {
                    tracing::warn!(error = %e, "updating the certificate Secret failed; will retry");
                    secret
                }
            }
        } else {
            secret
        };
        match secret {
            Some(secret) => self.load(&secret),
            None => tracing::debug!("certificate Secret not created yet"),
        }
    }

    /// The holder's work; returns the Secret as written, or `None` if nothing was.
    async fn reconcile(&self, secret: Option<&Secret>) -> Result<Option<Secret>> {
        let now = SystemTime::now();
        let material = secret.and_then(|s| {
            Material::from_secret(s)
                .inspect_err(
                    |e| tracing::warn!(error = %e, "certificate Secret unusable; recreating it"),
                )
                .ok()
        });
        let observed = material.as_ref().and_then(|m| {
            m.observe(&self.spec.dns_names, &self.spec.ips)
                .inspect_err(
                    |e| tracing::warn!(error = %e, "CA in the Secret unusable; recreating it"),
                )
                .ok()
        });
        // Any other bundle found here was put there by someone else: drift, reported once
        // per repair. The publish after a write below is our own change, never drift.
        let published = match &material {
            Some(m) => {
                let published = self.publish(&m.bundle).await;
                for repair in published.repairs {
                    self.reporter.repaired(repair);
                }
                published.complete
            }
            None => true,
        };
        let action = plan::decide(observed.as_ref(), published, self.config.grace(), now);
        let Some(next) = apply(action, material.as_ref(), &self.spec, now)? else {
            return Ok(None);
        };
        // Key generation took a moment; only a current holder writes.
        if !self.lease.holds() {
            return Ok(None);
        }
        let c = &self.config;
        let written =
            write_secret(&self.secrets, &c.secret_name, &c.namespace, secret, &next).await?;
        if written.is_some() {
            let leaf_not_after = crate::validity(&next.leaf.cert).map(|(_, t)| rfc3339(t));
            tracing::info!(?action, leaf_not_after = ?leaf_not_after.ok(), "certificate Secret updated");
            self.publish(&next.bundle).await;
        }
        Ok(written)
    }

    async fn publish(&self, bundle: &str) -> webhooks::Published {
        let c = &self.config;
        webhooks::publish(
            &self.client,
            &c.mutating_webhooks,
            &c.validating_webhooks,
            bundle.as_bytes(),
        )
        .await
    }

    fn load(&mut self, secret: &Secret) {
        let get = |key| {
            secret
                .data
                .as_ref()
                .and_then(|d| d.get(key))
                .map(|b| b.0.clone())
        };
        let (Some(cert), Some(key)) = (get(TLS_CERT), get(TLS_KEY)) else {
            tracing::warn!("certificate Secret has no tls.crt or tls.key");
            return;
        };
        let pair = (cert, key);
        if self.last_pair.as_ref() == Some(&pair) {
            return;
        }
        match self.store.set_pem_bytes(&pair.0, &pair.1) {
            Ok(not_after) => {
                tracing::info!(not_after = %rfc3339(not_after), "certificate reloaded")
            }
            Err(e) => {
                tracing::warn!(error = %e, "certificate in the Secret unusable; keeping the current one")
            }
        }
        self.last_pair = Some(pair);
    }
}
