//! Table tests of consistency hooks: `spec.hooks` of a ReplicationSource and the hook
//! annotations of a pod. Every problem is listed with its field, and a hook to anything but
//! the pod's loopback is refused.

mod support;

use std::collections::BTreeMap;

use ferry_api::annotations as keys;
use ferry_api::types::FailurePolicy;
use serde_json::{Value, json};
use support::{merge, rclone_source};

fn errors(object: &Value) -> Vec<String> {
    ferry_api::validate_source(object).messages()
}

fn with_hooks(hooks: Value) -> Value {
    merge(rclone_source(), json!({"spec": {"hooks": hooks}}))
}

#[test]
fn valid_hooks_pass() {
    for hooks in [
        json!({"preSync": {"port": 8080, "path": "/freeze"}, "postSync": {"port": 8080, "path": "/thaw"}}),
        json!({"preSync": {"host": "localhost", "port": 1, "method": "PUT", "timeoutSeconds": 300, "failurePolicy": "Continue"}}),
        json!({"postSync": {"host": "::1", "port": 65535, "path": "/thaw?now=1", "method": "GET", "headersSecret": "hook-token"}}),
        json!({"preSync": {"host": "127.0.0.2", "port": 8443, "scheme": "HTTPS",
            "tls": {"ca": {"configMap": {"name": "app-ca", "key": "ca.crt"}}, "serverName": "app.local"}}}),
    ] {
        assert_eq!(
            errors(&with_hooks(hooks.clone())),
            Vec::<String>::new(),
            "{hooks}"
        );
    }
}

#[test]
fn invalid_hooks_list_every_problem_with_its_field() {
    let hooks = json!({
        "preSync": {"host": "10.0.0.5", "port": 0, "path": "freeze", "timeoutSeconds": 0,
            "headersSecret": "Bad_Name", "scheme": "HTTPS"},
        "postSync": {"host": "db.example.com", "port": 8080, "method": "DELETE",
            "failurePolicy": "Ignore", "tls": {"ca": {}}},
    });
    assert_eq!(
        errors(&with_hooks(hooks)),
        [
            r#"spec.hooks.postSync.method: "DELETE": must be GET, POST or PUT"#,
            r#"spec.hooks.postSync.failurePolicy: "Ignore": must be Fail (skip the sync) or Continue"#,
            r#"spec.hooks.preSync.host: "10.0.0.5": must be the pod's loopback (localhost, 127.0.0.1 or another 127.x.y.z, or ::1): a hook calls the app in its own pod, never another host"#,
            r#"spec.hooks.preSync.port: "0": must be between 1 and 65535"#,
            r#"spec.hooks.preSync.path: "freeze": must be an HTTP path starting with "/", without spaces or control characters, at most 2048 characters"#,
            r#"spec.hooks.preSync.timeoutSeconds: "0": must be between 1 and 300"#,
            r#"spec.hooks.preSync.headersSecret: "Bad_Name": must be a DNS-1123 subdomain: lower-case letters, digits, "-" and ".", starting and ending with a letter or digit, at most 253 characters"#,
            r#"spec.hooks.preSync.tls: "": required with scheme HTTPS: name the CA that signed the app's certificate in tls.ca.secret or tls.ca.configMap"#,
            r#"spec.hooks.postSync.host: "db.example.com": must be the pod's loopback (localhost, 127.0.0.1 or another 127.x.y.z, or ::1): a hook calls the app in its own pod, never another host"#,
            r#"spec.hooks.postSync.tls: "{…}": is only used with scheme: HTTPS; set scheme: HTTPS or remove tls"#,
            r#"spec.hooks.postSync.tls.ca: "{…}": set exactly one of secret and configMap"#,
        ]
    );
}

fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn hook_annotations_parse_into_overrides() {
    let (parsed, report) = ferry_api::validate_pod_annotations(&annotations(&[
        (keys::SOURCE, "db-to-s3"),
        (keys::PRE_SYNC_HOOK, "POST http://127.0.0.1:8080/freeze"),
        (keys::POST_SYNC_HOOK, "PUT http://[::1]:8080/thaw"),
        (keys::HOOK_TIMEOUT, "5s"),
        (keys::HOOK_FAILURE_POLICY, "Continue"),
    ]));
    assert!(report.is_ok(), "{:?}", report.errors);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    let hooks = parsed.expect("parsed").hooks;
    assert_eq!(
        hooks.pre_sync.map(|t| t.to_string()).as_deref(),
        Some("POST http://127.0.0.1:8080/freeze")
    );
    assert_eq!(
        hooks.post_sync.map(|t| t.to_string()).as_deref(),
        Some("PUT http://[::1]:8080/thaw")
    );
    assert_eq!(hooks.timeout_seconds, Some(5));
    assert_eq!(hooks.failure_policy, Some(FailurePolicy::Continue));
}

#[test]
fn bad_hook_annotations_are_refused_with_the_annotation_named() {
    let (parsed, report) = ferry_api::validate_pod_annotations(&annotations(&[
        (keys::SOURCE, "db-to-s3"),
        (
            keys::PRE_SYNC_HOOK,
            "POST http://db.example.com:8080/freeze",
        ),
        (keys::POST_SYNC_HOOK, "thaw"),
        (keys::HOOK_TIMEOUT, "10m"),
        (keys::HOOK_FAILURE_POLICY, "Ignore"),
    ]));
    assert!(parsed.is_none());
    assert_eq!(
        report.messages(),
        [
            r#"metadata.annotations[ferry.dev/pre-sync-hook]: "POST http://db.example.com:8080/freeze": must be the pod's loopback (localhost, 127.0.0.1 or another 127.x.y.z, or ::1): a hook calls the app in its own pod, never another host"#,
            r#"metadata.annotations[ferry.dev/post-sync-hook]: "thaw": must be "[METHOD ]http://127.0.0.1:PORT/path" (or https://, localhost, [::1]), e.g. "POST http://127.0.0.1:8080/freeze""#,
            r#"metadata.annotations[ferry.dev/hook-timeout]: "10m": must be whole seconds from 1 to 300, such as 10 or 10s"#,
            r#"metadata.annotations[ferry.dev/hook-failure-policy]: "Ignore": must be Fail or Continue"#,
        ]
    );
}
