//! The sidecar's Prometheus metrics (DESIGN.md §4), served on the pod IP at
//! `FERRY_METRICS_PORT` (9811), a port apps do not use.
//!
//! `ferry_volume_out_of_sync` is 1 while the last sync failed or a scheduled sync is
//! overdue, and goes back to 0 on the next success, so an alert on it clears by itself.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels every series carries.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Labels {
    /// The CR's name.
    pub name: String,
    /// The CR's namespace.
    pub namespace: String,
    /// `source` or `destination`.
    pub role: String,
    /// `rsync` or `rclone`.
    pub method: String,
}

/// Labels of the sync counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    /// The CR's name.
    pub name: String,
    /// The CR's namespace.
    pub namespace: String,
    /// `source` or `destination`.
    pub role: String,
    /// `rsync` or `rclone`.
    pub method: String,
    /// `success` or `failure`.
    pub result: String,
}

/// Labels of the counters by reason (failures, guard refusals).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    /// The CR's name.
    pub name: String,
    /// The CR's namespace.
    pub namespace: String,
    /// `source` or `destination`.
    pub role: String,
    /// `rsync` or `rclone`.
    pub method: String,
    /// The reason word of the condition (`SourceEmpty`, `ShrinkLimit`, `SourceUnreadable`,
    /// `Error`).
    pub reason: String,
}

/// Labels of the S3 request counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OpLabels {
    /// The CR's name.
    pub name: String,
    /// The CR's namespace.
    pub namespace: String,
    /// `source` or `destination`.
    pub role: String,
    /// `rclone`.
    pub method: String,
    /// The kind of request: `list`, `head`, `get`, `put`, `part`, `copy`, `delete`, `other`.
    pub op: String,
}

/// Labels of the hook counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HookLabels {
    /// The CR's name.
    pub name: String,
    /// The CR's namespace.
    pub namespace: String,
    /// `source` or `destination`.
    pub role: String,
    /// `rsync` or `rclone`.
    pub method: String,
    /// `preSync` or `postSync`.
    pub hook: String,
    /// `success` or `failure`.
    pub outcome: String,
}

/// The metrics of one sidecar.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    labels: Mutex<Labels>,
    syncs: Family<ResultLabels, Counter>,
    duration: Family<Labels, Histogram>,
    missed: Family<Labels, Counter>,
    out_of_sync: Family<Labels, Gauge>,
    bytes: Family<Labels, Counter>,
    files: Family<Labels, Counter>,
    failures: Family<ReasonLabels, Counter>,
    refusals: Family<ReasonLabels, Counter>,
    consecutive: Family<Labels, Gauge>,
    verified_at: Family<Labels, Gauge>,
    verifications: Family<ResultLabels, Counter>,
    s3_requests: Family<OpLabels, Counter>,
    restores: Family<ResultLabels, Counter>,
    freeze: Family<Labels, Histogram>,
    hooks: Family<HookLabels, Counter>,
}

impl Metrics {
    /// Registers every metric for one CR.
    pub fn new(labels: Labels) -> Metrics {
        let mut registry = Registry::with_prefix("ferry");
        let syncs = Family::<ResultLabels, Counter>::default();
        // 1 s to ~9 h.
        let duration = Family::<Labels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(1.0, 2.0, 16))
        });
        let missed = Family::<Labels, Counter>::default();
        let out_of_sync = Family::<Labels, Gauge>::default();
        let bytes = Family::<Labels, Counter>::default();
        let files = Family::<Labels, Counter>::default();
        let failures = Family::<ReasonLabels, Counter>::default();
        let refusals = Family::<ReasonLabels, Counter>::default();
        let consecutive = Family::<Labels, Gauge>::default();
        let verified_at = Family::<Labels, Gauge>::default();
        let verifications = Family::<ResultLabels, Counter>::default();
        let s3_requests = Family::<OpLabels, Counter>::default();
        registry.register(
            "s3_requests",
            "S3 requests sent by successful syncs, by kind (what providers bill by)",
            s3_requests.clone(),
        );
        let restores = Family::<ResultLabels, Counter>::default();
        registry.register(
            "restores",
            "Restore steps on first start by result: restored, skipped or failed",
            restores.clone(),
        );
        // 10 ms to ~5 min: a freeze is meant to last well under a second.
        let freeze = Family::<Labels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.01, 2.0, 15))
        });
        let hooks = Family::<HookLabels, Counter>::default();
        registry.register(
            "freeze_seconds",
            "How long the app was frozen by spec.hooks, from preSync to postSync's answer",
            freeze.clone(),
        );
        registry.register(
            "hook_results",
            "Hook calls by hook (preSync, postSync) and outcome (success, failure)",
            hooks.clone(),
        );
        registry.register(
            "last_verified_timestamp_seconds",
            "Unix time of the last verification of the newest copy (spec.rclone.verify), any result",
            verified_at.clone(),
        );
        registry.register(
            "verifications",
            "Verifications of the newest copy by result: passed, failed (mismatches) or error",
            verifications.clone(),
        );
        registry.register("syncs", "Syncs by result", syncs.clone());
        registry.register(
            "sync_failures",
            "Failed syncs by reason (SourceEmpty, ShrinkLimit, SourceUnreadable, Error)",
            failures.clone(),
        );
        registry.register(
            "guard_refusals",
            "Syncs or prunings a guard refused, by reason (SourceEmpty, ShrinkLimit, RetentionLimit)",
            refusals.clone(),
        );
        registry.register(
            "consecutive_failures",
            "Failed syncs in a row since the last success",
            consecutive.clone(),
        );
        registry.register(
            "sync_duration_seconds",
            "Time a sync took",
            duration.clone(),
        );
        registry.register(
            "missed_intervals",
            "Schedule fire times that passed without a sync",
            missed.clone(),
        );
        registry.register(
            "volume_out_of_sync",
            "1 while the last sync failed or a scheduled sync is overdue",
            out_of_sync.clone(),
        );
        registry.register("bytes_transferred", "Bytes copied by syncs", bytes.clone());
        registry.register("files_transferred", "Files copied by syncs", files.clone());
        // Every series exists from the start, so rates and alerts see zeros, not gaps.
        for result in ["success", "failure"] {
            let _ = syncs.get_or_create(&result_labels(&labels, result));
        }
        let _ = missed.get_or_create(&labels);
        let _ = out_of_sync.get_or_create(&labels);
        let _ = bytes.get_or_create(&labels);
        let _ = files.get_or_create(&labels);
        let _ = consecutive.get_or_create(&labels);
        // `ferry_last_verified_timestamp_seconds` appears with the first verification, so
        // that an alert on its age only sees CRs that verify.
        Metrics {
            registry,
            labels: Mutex::new(labels),
            syncs,
            duration,
            missed,
            out_of_sync,
            bytes,
            files,
            failures,
            refusals,
            consecutive,
            verified_at,
            verifications,
            s3_requests,
            restores,
            freeze,
            hooks,
        }
    }

    fn labels(&self) -> Labels {
        self.labels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Sets the `method` label once the CR is read (until then it is `unknown`: a sidecar
    /// that cannot read its CR still counts its failures). The old series stay, the new ones
    /// start at zero.
    pub fn set_method(&self, method: &str) {
        let mut labels = self.labels.lock().unwrap_or_else(PoisonError::into_inner);
        if labels.method == method {
            return;
        }
        labels.method = method.to_owned();
        for result in ["success", "failure"] {
            let _ = self.syncs.get_or_create(&result_labels(&labels, result));
        }
        let _ = self.missed.get_or_create(&labels);
        let _ = self.out_of_sync.get_or_create(&labels);
        let _ = self.bytes.get_or_create(&labels);
        let _ = self.files.get_or_create(&labels);
    }

    /// Counts a finished sync.
    pub fn sync_finished(&self, success: bool, seconds: f64, bytes: u64, files: u64) {
        let labels = self.labels();
        let result = if success { "success" } else { "failure" };
        self.syncs
            .get_or_create(&result_labels(&labels, result))
            .inc();
        self.duration.get_or_create(&labels).observe(seconds);
        self.bytes.get_or_create(&labels).inc_by(bytes);
        self.files.get_or_create(&labels).inc_by(files);
        self.out_of_sync
            .get_or_create(&labels)
            .set(if success { 0 } else { 1 });
    }

    /// Counts the S3 requests of a sync.
    pub fn s3_requests(&self, requests: &ferry_api::types::S3Requests) {
        let labels = self.labels();
        for (op, n) in requests.by_kind() {
            let labels = OpLabels {
                name: labels.name.clone(),
                namespace: labels.namespace.clone(),
                role: labels.role.clone(),
                method: labels.method.clone(),
                op: op.to_owned(),
            };
            self.s3_requests
                .get_or_create(&labels)
                .inc_by(u64::try_from(n).unwrap_or(0));
        }
    }

    /// Counts a failed sync by its reason, and sets the failures in a row.
    pub fn failed(&self, reason: &str, in_a_row: u32) {
        let labels = self.labels();
        self.failures
            .get_or_create(&reason_labels(&labels, reason))
            .inc();
        self.consecutive
            .get_or_create(&labels)
            .set(i64::from(in_a_row));
    }

    /// Sets the failures in a row to zero (after a success).
    pub fn no_failures(&self) {
        self.consecutive.get_or_create(&self.labels()).set(0);
    }

    /// Records a verification: its `result` (`passed`, `failed`, `error`) at `unix` seconds.
    pub fn verified(&self, result: &str, unix: i64) {
        let labels = self.labels();
        self.verifications
            .get_or_create(&result_labels(&labels, result))
            .inc();
        self.verified_at.get_or_create(&labels).set(unix);
    }

    /// Counts a restore step on first start by its `result` (`restored`, `skipped`,
    /// `failed`).
    pub fn restored(&self, result: &str) {
        let labels = self.labels();
        self.restores
            .get_or_create(&result_labels(&labels, result))
            .inc();
    }

    /// Records how long the app was frozen.
    pub fn freeze_seconds(&self, seconds: f64) {
        self.freeze.get_or_create(&self.labels()).observe(seconds);
    }

    /// Counts a hook call by hook (`preSync`, `postSync`) and outcome (`success`,
    /// `failure`; a postSync counts once, after its retries).
    pub fn hook_result(&self, hook: &str, outcome: &str) {
        let labels = self.labels();
        self.hooks
            .get_or_create(&HookLabels {
                name: labels.name,
                namespace: labels.namespace,
                role: labels.role,
                method: labels.method,
                hook: hook.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// Counts a guard's refusal.
    pub fn refused(&self, reason: &str) {
        let labels = self.labels();
        self.refusals
            .get_or_create(&reason_labels(&labels, reason))
            .inc();
    }

    /// Counts fire times that passed without a sync.
    pub fn missed(&self, n: u64) {
        if n > 0 {
            let labels = self.labels();
            self.missed.get_or_create(&labels).inc_by(n);
            self.out_of_sync.get_or_create(&labels).set(1);
        }
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

fn result_labels(labels: &Labels, result: &str) -> ResultLabels {
    ResultLabels {
        name: labels.name.clone(),
        namespace: labels.namespace.clone(),
        role: labels.role.clone(),
        method: labels.method.clone(),
        result: result.to_owned(),
    }
}

fn reason_labels(labels: &Labels, reason: &str) -> ReasonLabels {
    ReasonLabels {
        name: labels.name.clone(),
        namespace: labels.namespace.clone(),
        role: labels.role.clone(),
        method: labels.method.clone(),
        reason: reason.to_owned(),
    }
}

/// Serves `GET /metrics` on `addr` until the process ends.
pub async fn serve(addr: SocketAddr, metrics: Arc<Metrics>) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "metrics listening");
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!(error = %e, "metrics: accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let metrics = Arc::clone(&metrics);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let metrics = Arc::clone(&metrics);
                async move { Ok::<_, std::convert::Infallible>(answer(&req, &metrics)) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await;
        });
    }
}

fn answer(req: &Request<hyper::body::Incoming>, metrics: &Metrics) -> Response<Full<Bytes>> {
    let (status, body, kind) = match req.uri().path() {
        "/metrics" => (
            StatusCode::OK,
            metrics.encode(),
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        ),
        "/healthz" => (StatusCode::OK, "ok\n".to_owned(), "text/plain"),
        _ => (
            StatusCode::NOT_FOUND,
            "not found: try /metrics\n".to_owned(),
            "text/plain",
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(value) = hyper::header::HeaderValue::from_str(kind) {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_out_of_sync_gauge_clears_on_success() {
        let m = Metrics::new(Labels {
            name: "db".into(),
            namespace: "shop".into(),
            role: "source".into(),
            method: "rclone".into(),
        });
        let text = m.encode();
        assert!(text.contains("ferry_syncs_total{name=\"db\",namespace=\"shop\",role=\"source\",method=\"rclone\",result=\"failure\"} 0"), "{text}");
        m.sync_finished(false, 1.0, 0, 0);
        assert!(m.encode().contains("ferry_volume_out_of_sync{name=\"db\",namespace=\"shop\",role=\"source\",method=\"rclone\"} 1"));
        m.sync_finished(true, 2.0, 10, 1);
        let text = m.encode();
        assert!(text.contains("ferry_volume_out_of_sync{name=\"db\",namespace=\"shop\",role=\"source\",method=\"rclone\"} 0"), "{text}");
        assert!(text.contains("ferry_bytes_transferred_total{name=\"db\",namespace=\"shop\",role=\"source\",method=\"rclone\"} 10"), "{text}");
        m.failed("SourceEmpty", 3);
        m.refused("SourceEmpty");
        let text = m.encode();
        assert!(text.contains("ferry_sync_failures_total{name=\"db\",namespace=\"shop\",role=\"source\",method=\"rclone\",reason=\"SourceEmpty\"} 1"), "{text}");
        assert!(text.contains("ferry_guard_refusals_total{name=\"db\",namespace=\"shop\",role=\"source\",method=\"rclone\",reason=\"SourceEmpty\"} 1"), "{text}");
        assert!(text.contains("ferry_consecutive_failures{name=\"db\",namespace=\"shop\",role=\"source\",method=\"rclone\"} 3"), "{text}");
        let requests = ferry_api::types::S3Requests {
            total: 15,
            list: 11,
            get: 2,
            put: 2,
            ..Default::default()
        };
        m.s3_requests(&requests);
        m.s3_requests(&requests);
        let text = m.encode();
        assert!(text.contains("ferry_s3_requests_total{name=\"db\",namespace=\"shop\",role=\"source\",method=\"rclone\",op=\"list\"} 22"), "{text}");
        assert!(text.contains("ferry_s3_requests_total{name=\"db\",namespace=\"shop\",role=\"source\",method=\"rclone\",op=\"head\"} 0"), "{text}");
    }
}
