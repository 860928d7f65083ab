//! The HTTP surface: routes, limits and the handlers that decode and encode AdmissionReviews.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::{get, post};
use ferry_certs::CertStore;
use serde::Deserialize;
use serde_json::Value;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;

use crate::admission::{API_VERSION, Request, Response, Review};
use crate::cluster::ClusterView;
use crate::inject::{self, Candidate, Facts, Pod, Screened, Settings};
use crate::metrics::{Metrics, RequestLabels};
use crate::review::{self, Subject};

/// The largest AdmissionReview accepted; the apiserver's own request limit is 3 MiB.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;
/// How long a client may take to send the body once the headers are in.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// What the handlers share.
#[derive(Debug)]
pub struct AppState {
    /// The metrics registry.
    pub metrics: Metrics,
    /// The serving certificate; `/readyz` reports ready once it holds one.
    pub certs: Arc<CertStore>,
    /// Injection settings.
    pub settings: Settings,
    /// What the webhook knows about the cluster.
    pub cluster: ClusterView,
}

impl AppState {
    /// State with no cluster behind it, for tests and benchmarks.
    pub fn offline(certs: Arc<CertStore>) -> Self {
        Self {
            metrics: Metrics::new(),
            certs,
            settings: Settings::default(),
            cluster: ClusterView::offline(true),
        }
    }
}

/// Builds the router. `floor` adds `/allow`, an endpoint that admits everything without
/// looking, used only by the benchmark as the cost floor of the server itself.
pub fn router(state: Arc<AppState>, floor: bool) -> Router {
    let mut router = Router::new()
        .route("/validate", post(validate))
        .route("/mutate", post(mutate))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics));
    if floor {
        router = router.route("/allow", post(allow));
    }
    router
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestBodyTimeoutLayer::new(BODY_READ_TIMEOUT))
        .layer(CatchPanicLayer::custom(|_| {
            // Defence in depth: handlers are written not to panic, but a panic must still
            // become an answer, never a dropped connection.
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }))
        .with_state(state)
}

async fn ready(State(state): State<Arc<AppState>>) -> HttpResponse {
    if state.certs.is_loaded() {
        (StatusCode::OK, "ready").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "no serving certificate loaded yet",
        )
            .into_response()
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> HttpResponse {
    match state.metrics.encode() {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "metrics encoding failed").into_response(),
    }
}

async fn validate(State(state): State<Arc<AppState>>, body: Bytes) -> HttpResponse {
    let started = Instant::now();
    let (kind, result, response) = match decode::<Value>(&body) {
        Err(message) => ("unknown", "bad_request", bad_request(message)),
        Ok(request) => {
            let answer = review::validate(&request);
            let result = if answer.allowed { "allowed" } else { "denied" };
            (Subject::of(&request).as_str(), result, json(&answer))
        }
    };
    state.metrics.observe(
        RequestLabels {
            endpoint: "validate",
            kind,
            result,
        },
        started.elapsed(),
    );
    response
}

async fn mutate(State(state): State<Arc<AppState>>, body: Bytes) -> HttpResponse {
    let started = Instant::now();
    let (kind, result, response) = match decode::<Pod>(&body) {
        Err(message) => ("unknown", "bad_request", bad_request(message)),
        Ok(request) => {
            let answer = match inject::screen(&request) {
                Screened::Answer(answer) => answer,
                Screened::Inject(candidate) => {
                    let facts = gather_facts(&state, &request, &candidate).await;
                    inject::inject(candidate, &state.settings, &facts)
                }
            };
            let result = match (answer.allowed, answer.patch.is_some()) {
                (false, _) => "denied",
                (true, true) => "injected",
                (true, false) => "allowed",
            };
            (Subject::of(&request).as_str(), result, json(&answer))
        }
    };
    state.metrics.observe(
        RequestLabels {
            endpoint: "mutate",
            kind,
            result,
        },
        started.elapsed(),
    );
    response
}

/// The cluster facts for a pod to inject, from the annotations [`inject::screen`] parsed.
async fn gather_facts(
    state: &AppState,
    request: &Request<Pod<'_>>,
    candidate: &Candidate<'_>,
) -> Facts {
    let namespace = request.namespace.as_deref().unwrap_or("default");
    let service_account = candidate
        .pod
        .spec
        .service_account_name
        .as_deref()
        .unwrap_or("default");
    state
        .cluster
        .facts(namespace, &candidate.annotations.binding, service_account)
        .await
}

async fn allow(State(state): State<Arc<AppState>>, body: Bytes) -> HttpResponse {
    let started = Instant::now();
    let (result, response) = match decode::<Value>(&body) {
        Err(message) => ("bad_request", bad_request(message)),
        Ok(request) => ("allowed", json(&Response::allow(&request.uid))),
    };
    state.metrics.observe(
        RequestLabels {
            endpoint: "allow",
            kind: "unknown",
            result,
        },
        started.elapsed(),
    );
    response
}

/// Decodes an AdmissionReview v1 and returns its request, or says what is wrong with it.
/// The object is decoded as `O` (see [`Review`]).
pub fn decode<'a, O: Deserialize<'a>>(body: &'a [u8]) -> Result<Request<O>, String> {
    let review: Review<O> = match serde_json::from_slice(body) {
        Ok(review) => review,
        // Decoded again, only when it failed, to name the field (the tracking costs on
        // every request when done the first time).
        Err(err) => {
            let mut de = serde_json::Deserializer::from_slice(body);
            let message = match serde_path_to_error::deserialize::<_, Review<O>>(&mut de) {
                Err(traced)
                    if traced.path().iter().next().is_some()
                        && !traced
                            .path()
                            .iter()
                            .any(|s| matches!(s, serde_path_to_error::Segment::Unknown)) =>
                {
                    format!("{}: {}", traced.path(), traced.inner())
                }
                _ => err.to_string(),
            };
            return Err(format!("malformed AdmissionReview: {message}"));
        }
    };
    if review.api_version != API_VERSION || review.kind != "AdmissionReview" {
        return Err(format!(
            "expected apiVersion {API_VERSION} and kind AdmissionReview, got {} {}",
            review.api_version, review.kind
        ));
    }
    review
        .request
        .ok_or_else(|| "AdmissionReview has no request".to_owned())
}

fn bad_request(message: String) -> HttpResponse {
    (StatusCode::BAD_REQUEST, message).into_response()
}

/// The AdmissionReview around `response`, written straight from the typed response.
fn json(response: &Response) -> HttpResponse {
    match response.to_wire() {
        Ok(bytes) => ([(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(err) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("encoding the AdmissionReview failed: {err}"),
        )
            .into_response(),
    }
}
