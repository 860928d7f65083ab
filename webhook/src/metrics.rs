//! Prometheus metrics of the webhook: requests by endpoint, kind and result, and a latency
//! histogram by endpoint. One registry, built at start-up and passed down.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
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

/// The webhook's metrics and the registry that exports them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<EndpointLabels, Histogram>,
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
        Self {
            registry,
            requests,
            latency,
        }
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
