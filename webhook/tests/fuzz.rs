//! Arbitrary bytes and arbitrary mutations of real AdmissionReviews, sent to every admission
//! endpoint: each gets a well-formed HTTP answer (200 with a review, 400 or 413 with a
//! message), never a panic.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use ferry_certs::CertStore;
use ferry_webhook::server::{AppState, router};
use http_body_util::BodyExt;
use proptest::prelude::*;
use serde_json::{Value, json};
use tower::ServiceExt;

const ENDPOINTS: [&str; 3] = ["/validate", "/mutate", "/allow"];

fn app() -> axum::Router {
    router(Arc::new(AppState::offline(CertStore::new())), true)
}

/// Sends `body` to `path` and checks the answer is well formed.
async fn check(path: &str, body: Vec<u8>) -> Result<(), TestCaseError> {
    let request = Request::post(path)
        .header("content-type", "application/json")
        .body(Body::from(body));
    let request = request.map_err(|e| TestCaseError::fail(e.to_string()))?;
    let response = app()
        .oneshot(request)
        .await
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| TestCaseError::fail(e.to_string()))?
        .to_bytes();
    match status {
        StatusCode::OK => {
            let review: Value =
                serde_json::from_slice(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&review["kind"], "AdmissionReview");
            prop_assert!(review["response"]["allowed"].is_boolean());
            prop_assert!(review["response"]["uid"].is_string());
        }
        StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE => prop_assert!(!bytes.is_empty()),
        other => prop_assert!(
            false,
            "unexpected status {other}: {}",
            String::from_utf8_lossy(&bytes)
        ),
    }
    Ok(())
}

/// Real reviews of each kind the webhook handles.
fn seeds() -> Vec<Value> {
    let wrap = |group: &str, kind: &str, object: Value| {
        json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
            "uid": "0b2c", "kind": {"group": group, "version": "v1", "kind": kind},
            "resource": {"group": group, "version": "v1", "resource": "x"},
            "operation": "CREATE", "namespace": "ns", "object": object, "dryRun": false}})
    };
    vec![
        wrap(
            ferry_api::GROUP,
            "ReplicationSource",
            json!({"metadata": {"name": "s"}, "spec": {"sourcePVC": "data",
            "trigger": {"schedule": "*/5 * * * *"}, "rsync": {"address": "h", "sshKeys": "k", "copyMethod": "Snapshot"}}}),
        ),
        wrap(
            ferry_api::GROUP,
            "ReplicationDestination",
            json!({"metadata": {"name": "d"}, "spec": {
            "rclone": {"rcloneConfig": "c", "rcloneDestPath": "bucket/x", "exclude": ["*.tmp"]}}}),
        ),
        wrap(
            "",
            "Pod",
            json!({"metadata": {"name": "p", "labels": {"ferry.dev/inject": "true"},
            "annotations": {"ferry.dev/source": "s", "ferry.dev/schedule": "@daily"}},
            "spec": {"containers": [{"name": "c", "image": "i"}]}}),
        ),
    ]
}

/// A random edit of a JSON value: replace, delete or retype a node somewhere inside it.
fn mutate(value: &mut Value, path: &[u8], replacement: &Value) {
    let Some((step, rest)) = path.split_first() else {
        *value = replacement.clone();
        return;
    };
    match value {
        Value::Object(map) if !map.is_empty() => {
            let key = map
                .keys()
                .nth(usize::from(*step) % map.len())
                .cloned()
                .unwrap_or_default();
            if rest.is_empty() && step % 5 == 0 {
                map.remove(&key);
            } else if let Some(child) = map.get_mut(&key) {
                mutate(child, rest, replacement);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let len = items.len();
            mutate(&mut items[usize::from(*step) % len], rest, replacement);
        }
        other => *other = replacement.clone(),
    }
}

fn any_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        ".{0,30}".prop_map(Value::String),
        Just(json!({})),
        Just(json!([])),
        Just(json!("x".repeat(5000))),
    ]
}

#[expect(clippy::expect_used, reason = "test support")]
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_bytes_get_a_well_formed_answer(body in prop::collection::vec(any::<u8>(), 0..2048)) {
        let rt = runtime();
        for path in ENDPOINTS {
            rt.block_on(check(path, body.clone()))?;
        }
    }

    #[test]
    fn mutated_reviews_get_a_well_formed_answer(
        seed in 0usize..3,
        edits in prop::collection::vec((prop::collection::vec(any::<u8>(), 0..6), any_leaf()), 1..4),
    ) {
        let mut review = seeds()[seed].clone();
        for (path, leaf) in &edits {
            mutate(&mut review, path, leaf);
        }
        let rt = runtime();
        for path in ENDPOINTS {
            rt.block_on(check(path, review.to_string().into_bytes()))?;
        }
    }
}

#[tokio::test]
async fn every_seed_is_answered_and_oversized_bodies_are_refused() {
    for review in seeds() {
        let (status, _) = answer("/validate", review.to_string()).await;
        assert_eq!(status, StatusCode::OK);
    }
    let huge = vec![b' '; ferry_webhook::server::MAX_BODY_BYTES + 1];
    let (status, _) = answer("/validate", huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, body) = answer("/validate", "{\"apiVersion\":\"v1\",\"kind\":\"Pod\"}").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        "expected apiVersion admission.k8s.io/v1 and kind AdmissionReview, got v1 Pod"
    );
    let (status, body) = answer("/validate", "{not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body.starts_with("malformed AdmissionReview: key must be a string"),
        "{body:?}"
    );
}

/// `path`'s answer to `body`: status and text.
#[expect(clippy::expect_used, reason = "test support")]
async fn answer(path: &str, body: impl Into<Body>) -> (StatusCode, String) {
    let request = Request::post(path).body(body.into()).expect("request");
    let response = app().oneshot(request).await.expect("response");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// `/mutate` reads only part of a pod, but a part of the wrong JSON type is refused with
/// the field's path, not with a line and column alone.
#[tokio::test]
async fn a_pod_field_of_the_wrong_type_is_refused_by_name() {
    let mut review = seeds()[2].clone();
    review["request"]["object"]["spec"]["hostNetwork"] = json!("yes");
    let (status, text) = answer("/mutate", review.to_string()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        text.starts_with(
            "malformed AdmissionReview: request.object.spec.hostNetwork: invalid type: string \"yes\", expected a boolean"
        ),
        "{text}"
    );
    // The same review with the field right is decoded and planned (and refused for what
    // the seed pod lacks: a claim volume).
    review["request"]["object"]["spec"]["hostNetwork"] = json!(false);
    let (status, text) = answer("/mutate", review.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.contains("no PersistentVolumeClaim volume"), "{text}");
}
