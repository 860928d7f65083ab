use serde_json::{Value, json};

use super::*;

fn request(group: &str, kind: &str, operation: &str, object: Value) -> Request {
    serde_json::from_value(json!({
        "uid": "u-1",
        "kind": {"group": group, "version": "v1", "kind": kind},
        "operation": operation,
        "namespace": "ns",
        "object": object,
    }))
    .expect("request")
}

#[test]
fn table() {
    let good_source = json!({"metadata": {"name": "s"}, "spec": {"sourcePVC": "data",
        "rsync": {"address": "h", "sshKeys": "k"}}});
    let bad_source = json!({"metadata": {"name": "s"}, "spec": {"sourcePVC": "data",
        "trigger": {"schedule": "*/61 * * * *", "manual": "x"}, "rsync": {"address": "h", "sshKeys": "k"}}});
    let bad_pod = json!({"metadata": {"name": "p", "labels": {"ferry.dev/inject": "true"},
        "annotations": {"ferry.dev/source": "s", "ferry.dev/native-sidecar": "maybe"}}});
    let unlabelled_bad_pod = json!({"metadata": {"name": "p",
        "annotations": {"ferry.dev/native-sidecar": "maybe"}}});
    let g = ferry_api::GROUP;
    let cases: Vec<(&str, Request, bool, Vec<&str>)> = vec![
        (
            "good source",
            request(g, "ReplicationSource", "CREATE", good_source.clone()),
            true,
            vec![],
        ),
        (
            "bad source lists every problem",
            request(g, "ReplicationSource", "UPDATE", bad_source.clone()),
            false,
            vec![
                r#"spec.trigger.schedule: "*/61 * * * *": minute 61 is out of range 0-59"#,
                r#"spec.trigger.manual: "x": mutually exclusive with spec.trigger.schedule: set one of them"#,
            ],
        ),
        (
            "delete is not validated",
            request(g, "ReplicationSource", "DELETE", bad_source),
            true,
            vec![],
        ),
        (
            "bad pod",
            request("", "Pod", "CREATE", bad_pod),
            false,
            vec![
                r#"metadata.annotations[ferry.dev/native-sidecar]: "maybe": must be "true" or "false""#,
            ],
        ),
        (
            "pod without the label",
            request("", "Pod", "CREATE", unlabelled_bad_pod),
            true,
            vec![],
        ),
        (
            "other kinds pass",
            request("apps", "Deployment", "CREATE", json!({})),
            true,
            vec![],
        ),
    ];
    for (name, req, allowed, messages) in cases {
        let response = validate(&req);
        assert_eq!(response.uid, "u-1", "{name}");
        assert_eq!(response.allowed, allowed, "{name}: {response:?}");
        let got: Vec<String> = response
            .status
            .map(|s| s.message.lines().map(str::to_owned).collect())
            .unwrap_or_default();
        assert_eq!(got, messages, "{name}");
    }
}

#[test]
fn missing_object_is_a_bad_request() {
    let req: Request =
        serde_json::from_value(json!({"uid": "u", "kind": {"group": ferry_api::GROUP,
        "kind": "ReplicationSource"}, "operation": "CREATE"}))
        .expect("request");
    let response = validate(&req);
    assert!(!response.allowed);
    assert_eq!(response.status.map(|s| s.code), Some(400));
}
