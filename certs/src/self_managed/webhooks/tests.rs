use super::*;
use k8s_openapi::ByteString;

#[test]
fn patches_only_the_stale_entries() {
    let current = WebhookClientConfig {
        ca_bundle: Some(ByteString(b"NEW".to_vec())),
        ..WebhookClientConfig::default()
    };
    let stale = WebhookClientConfig {
        ca_bundle: Some(ByteString(b"OLD".to_vec())),
        ..WebhookClientConfig::default()
    };
    let empty = WebhookClientConfig::default();
    let b64 = "TkVX"; // base64("NEW")
    let set = |i: usize, name: &str| {
        serde_json::json!([
            {"op": "test", "path": format!("/webhooks/{i}/name"), "value": name},
            {"op": "add", "path": format!("/webhooks/{i}/clientConfig/caBundle"), "value": b64},
        ])
    };
    type Case = (
        &'static str,
        Vec<(String, WebhookClientConfig)>,
        Option<serde_json::Value>,
    );
    let cases: Vec<Case> = vec![
        ("no webhooks", vec![], None),
        (
            "already current",
            vec![("a.ferry.dev".into(), current.clone())],
            None,
        ),
        (
            "no bundle yet",
            vec![("a.ferry.dev".into(), empty.clone())],
            Some(set(0, "a.ferry.dev")),
        ),
        (
            "second of two stale",
            vec![
                ("a.ferry.dev".into(), current.clone()),
                ("b.ferry.dev".into(), stale.clone()),
            ],
            Some(set(1, "b.ferry.dev")),
        ),
    ];
    for (case, webhooks, want) in cases {
        let got = ca_bundle_patch(&webhooks, b"NEW").map(|p| serde_json::to_value(p).unwrap());
        assert_eq!(got, want, "{case}");
    }
}

#[test]
fn drift_is_another_bundle_not_a_missing_one() {
    let with = |bundle: Option<&[u8]>| WebhookClientConfig {
        ca_bundle: bundle.map(|b| ByteString(b.to_vec())),
        ..WebhookClientConfig::default()
    };
    let webhooks = vec![
        ("current.ferry.dev".to_owned(), with(Some(b"NEW"))),
        ("none-yet.ferry.dev".to_owned(), with(None)),
        ("replaced.ferry.dev".to_owned(), with(Some(b"WRONG"))),
    ];
    assert_eq!(drifted(&webhooks, b"NEW"), vec!["replaced.ferry.dev"]);
    assert!(drifted(&webhooks[..2], b"NEW").is_empty());
}
