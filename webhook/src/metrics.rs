//! Prometheus metrics of the webhook: requests by endpoint, kind and result, a latency
//! histogram by endpoint, and the leader's health signals ([`Health`]). One registry, built
//! at start-up and passed down.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of the request counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// `validate`, `mutate` or `allow`.
    pub endpoint: &'static str,
    /// The object kind, e.g. `Pod`, or `unknown` when the body did not decode.
    pub kind: &'static str,
    /// `allowed`, `injected`, `denied` or `bad_request`.
    pub result: &'static str,
}

/// Labels of the latency histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabels {
    /// `validate`, `mutate` or `allow`.
    pub endpoint: &'static str,
}

/// Labels of the certificate expiry gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CertLabels {
    /// `serving` (the certificate presented) or `ca` (the CA of the caBundle that issued it).
    pub cert: &'static str,
}

/// Labels of the caBundle drift series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConfigurationLabels {
    /// `MutatingWebhookConfiguration` or `ValidatingWebhookConfiguration`.
    pub kind: String,
    /// The configuration's name.
    pub configuration: String,
}

/// Labels of the not-injected pods gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NamespaceLabels {
    /// The pods' namespace. Not `namespace`, which Prometheus gives the scraped target (the
    /// webhook's own namespace) and would rename this one over.
    pub pod_namespace: String,
}

/// Labels of the outdated sidecars gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VersionLabels {
    /// The webhook version recorded in the pods' `ferry.dev/injected` (`unknown` when the
    /// record names none).
    pub version: String,
}

/// The leader's health signals. Gauges exist only on the leader: a standby clears them, so
/// every series comes from one pod. Cloning shares the series.
#[derive(Clone, Debug, Default)]
pub struct Health {
    /// Unix time at which each certificate expires.
    pub expiry: Family<CertLabels, Gauge>,
    /// caBundles found not matching (self-managed: repaired; otherwise: reported).
    pub drift_total: Family<ConfigurationLabels, Counter>,
    /// 1 while a configuration's caBundle does not trust the serving certificate.
    pub drift: Family<ConfigurationLabels, Gauge>,
    /// Labelled pods without the `ferry.dev/injected` record, by namespace.
    pub not_injected: Family<NamespaceLabels, Gauge>,
    /// Pods injected by another webhook version, by that version.
    pub outdated: Family<VersionLabels, Gauge>,
}

impl Health {
    fn register(&self, registry: &mut Registry) {
        registry.register(
            "certificate_expiry_timestamp_seconds",
            "When the serving certificate and the CA that issued it expire (Unix time)",
            self.expiry.clone(),
        );
        registry.register(
            "cabundle_drift",
            "caBundles found not matching the CA the webhook serves with (self-managed: repaired)",
            self.drift_total.clone(),
        );
        registry.register(
            "cabundle_untrusted",
            "1 while a configuration's caBundle does not trust the serving certificate",
            self.drift.clone(),
        );
        registry.register(
            "pods_not_injected",
            "Pods labelled ferry.dev/inject=true that the injection did not reach",
            self.not_injected.clone(),
        );
        registry.register(
            "outdated_sidecars",
            "Pods whose sidecar was injected by another webhook version",
            self.outdated.clone(),
        );
    }

    /// Drops every gauge: this instance is not (or no longer) the leader.
    pub fn clear(&self) {
        self.expiry.clear();
        self.drift.clear();
        self.not_injected.clear();
        self.outdated.clear();
    }
}

/// The webhook's metrics and the registry that exports them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<EndpointLabels, Histogram>,
    health: Health,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric in a fresh registry.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("ferry_webhook");
        let requests = Family::<RequestLabels, Counter>::default();
        // 50 µs to ~1.6 s: admission answers should sit at the bottom of this range.
        let latency = Family::<EndpointLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
        });
        registry.register(
            "requests",
            "Admission requests by endpoint, kind and result",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time to answer an admission request",
            latency.clone(),
        );
        let health = Health::default();
        health.register(&mut registry);
        Self {
            registry,
            requests,
            latency,
            health,
        }
    }

    /// The leader's health series, to be set by [`crate::health`].
    pub fn health(&self) -> Health {
        self.health.clone()
    }

    /// Counts one answered request and its latency.
    pub fn observe(&self, labels: RequestLabels, elapsed: Duration) {
        self.latency
            .get_or_create(&EndpointLabels {
                endpoint: labels.endpoint,
            })
            .observe(elapsed.as_secs_f64());
        self.requests.get_or_create(&labels).inc();
    }

    /// The number of requests counted with these labels.
    pub fn count(&self, labels: &RequestLabels) -> u64 {
        self.requests.get(labels).map_or(0, |c| c.get())
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}
