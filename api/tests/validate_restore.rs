//! Restore on first start: `spec.rclone.restoreOnEmpty` and the pod annotations
//! `ferry.dev/restore-on-empty` / `ferry.dev/restore-on-failure`, every problem listed by
//! field.

mod support;

use std::collections::BTreeMap;

use ferry_api::annotations::{self as keys, RestoreRequest};
use ferry_api::types::RestoreFailurePolicy;
use serde_json::{Value, json};
use support::{merge, rclone_source};

fn errors(object: &Value) -> Vec<String> {
    ferry_api::validate_source(object).messages()
}

fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn valid_restores_pass() {
    for (name, extra) in [
        ("defaults", json!({"restoreOnEmpty": {}})),
        (
            "StartEmpty",
            json!({"restoreOnEmpty": {"onFailure": "StartEmpty"}}),
        ),
        (
            "a named copy",
            json!({"timestampPrefix": true, "restoreOnEmpty": {"copy": "2026-12-07-101500", "onFailure": "Block"}}),
        ),
    ] {
        let object = merge(rclone_source(), json!({"spec": {"rclone": extra}}));
        assert_eq!(errors(&object), Vec::<String>::new(), "{name}");
    }
}

#[test]
fn every_problem_of_restore_on_empty_is_listed_by_field() {
    let object = merge(
        rclone_source(),
        json!({"spec": {"rclone": {"restoreOnEmpty": {"copy": "2026-13-07-101500", "onFailure": "Retry"}}}}),
    );
    let got = errors(&object);
    assert_eq!(
        got.len(),
        3,
        "the policy, the time and the missing timestampPrefix: {got:#?}"
    );
    assert!(
        got.contains(&"spec.rclone.restoreOnEmpty.onFailure: \"Retry\": must be Block (the app waits for the restore) or StartEmpty".to_owned()),
        "{got:#?}"
    );
    assert!(
        got.iter().any(|m| m.starts_with(
            "spec.rclone.restoreOnEmpty.copy: \"2026-13-07-101500\": is not a valid UTC time"
        )),
        "{got:#?}"
    );
    assert!(
        got.contains(&"spec.rclone.restoreOnEmpty.copy: \"2026-13-07-101500\": names a timestamped copy: set spec.rclone.timestampPrefix: true, or remove copy to restore the prefix".to_owned()),
        "{got:#?}"
    );
    let report = ferry_api::validate_source(&merge(
        rclone_source(),
        json!({"spec": {"rclone": {"dryRun": true, "restoreOnEmpty": {}}}}),
    ));
    assert!(report.is_ok());
    assert!(
        report.warnings.iter().any(|w| w.contains("restoreOnEmpty")),
        "{:?}",
        report.warnings
    );
}

#[test]
fn the_pod_annotations_parse_and_every_problem_is_listed() {
    let (parsed, report) = ferry_api::validate_pod_annotations(&annotations(&[
        (keys::SOURCE, "db"),
        (keys::RESTORE_ON_EMPTY, "2026-12-07-101500"),
        (keys::RESTORE_ON_FAILURE, "StartEmpty"),
    ]));
    assert!(report.is_ok(), "{:?}", report.errors);
    let parsed = parsed.expect("parsed");
    assert_eq!(
        parsed.restore,
        Some(RestoreRequest::Copy("2026-12-07-101500".into()))
    );
    assert_eq!(
        parsed.restore_on_failure,
        Some(RestoreFailurePolicy::StartEmpty)
    );
    for (text, wanted) in [("true", RestoreRequest::Yes), ("false", RestoreRequest::No)] {
        let (parsed, _) = ferry_api::validate_pod_annotations(&annotations(&[
            (keys::SOURCE, "db"),
            (keys::RESTORE_ON_EMPTY, text),
        ]));
        assert_eq!(parsed.expect("parsed").restore, Some(wanted));
    }
    let (parsed, report) = ferry_api::validate_pod_annotations(&annotations(&[
        (keys::DESTINATION, "db"),
        (keys::RESTORE_ON_EMPTY, "latest"),
        (keys::RESTORE_ON_FAILURE, "Never"),
    ]));
    assert!(parsed.is_none());
    let messages = report.messages();
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert!(
        messages[0].starts_with(
            "metadata.annotations[ferry.dev/restore-on-empty]: \"latest\": must be \"true\", \"false\" or a copy name"
        ),
        "{messages:#?}"
    );
    assert_eq!(
        messages[1],
        "metadata.annotations[ferry.dev/restore-on-failure]: \"Never\": must be \"Block\" or \"StartEmpty\""
    );
    let (_, report) = ferry_api::validate_pod_annotations(&annotations(&[
        (keys::DESTINATION, "db"),
        (keys::RESTORE_ON_EMPTY, "true"),
    ]));
    assert_eq!(
        report.messages(),
        [
            "metadata.annotations[ferry.dev/restore-on-empty]: \"true\": a destination is filled by its own pulls: restore on empty is for a pod bound with ferry.dev/source"
        ]
    );
}
