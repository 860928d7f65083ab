//! Table tests of `validate_destination`: each invalid case asserts the exact messages.

mod support;

use serde_json::{Value, json};
use support::{merge, rclone_destination, rsync_destination};

fn errors(object: &Value) -> Vec<String> {
    ferry_api::validate_destination(object).messages()
}

#[test]
fn valid_destinations_pass() {
    let cases = [
        ("rsync", rsync_destination()),
        ("rclone", rclone_destination()),
        (
            "rsync with everything",
            merge(
                rsync_destination(),
                json!({"spec": {"rsync": {
                    "destinationPVC": "data", "sshKeys": "keys", "serviceType": "LoadBalancer", "port": 2222,
                    "serviceAnnotations": {"a": "b"}, "retain": 5, "volumeSnapshotClassName": "snap"
                }}}),
            ),
        ),
        (
            "None is Direct",
            merge(
                rsync_destination(),
                json!({"spec": {"rsync": {"copyMethod": "None"}}}),
            ),
        ),
        (
            "scheduled rclone",
            merge(
                rclone_destination(),
                json!({"spec": {"trigger": {"manual": null, "schedule": "0 9-17 * * 1-5", "timeZone": "UTC"}}}),
            ),
        ),
    ];
    for (name, object) in cases {
        let report = ferry_api::validate_destination(&object);
        assert!(report.is_ok(), "{name}: {:#?}", report.errors);
    }
}

#[test]
fn invalid_destinations_list_exact_messages() {
    let cases: Vec<(&str, Value, Vec<&str>)> = vec![
        (
            "Clone is for sources",
            merge(
                rsync_destination(),
                json!({"spec": {"rsync": {"copyMethod": "Clone"}}}),
            ),
            vec![
                r#"spec.rsync.copyMethod: "Clone": a destination takes Direct or Snapshot (None is accepted as Direct)"#,
            ],
        ),
        (
            "service type",
            merge(
                rsync_destination(),
                json!({"spec": {"rsync": {"serviceType": "ExternalName"}}}),
            ),
            vec![
                r#"spec.rsync.serviceType: "ExternalName": must be ClusterIP, LoadBalancer or NodePort"#,
            ],
        ),
        (
            "enum errors do not hide other errors",
            merge(
                rsync_destination(),
                json!({"spec": {"rsync": {"copyMethod": "Clone", "port": 0}}}),
            ),
            vec![
                r#"spec.rsync.copyMethod: "Clone": a destination takes Direct or Snapshot (None is accepted as Direct)"#,
                r#"spec.rsync.port: "0": must be between 1 and 65535"#,
            ],
        ),
        (
            "retain",
            merge(
                rclone_destination(),
                json!({"spec": {"rclone": {"retain": 1001}}}),
            ),
            vec![r#"spec.rclone.retain: "1001": must be between 1 and 1000"#],
        ),
        (
            "two movers",
            merge(
                rsync_destination(),
                json!({"spec": {"rclone": rclone_destination()["spec"]["rclone"].clone()}}),
            ),
            vec![
                r#"spec.rclone: "{…}": mutually exclusive with spec.rsync: set exactly one mover"#,
            ],
        ),
        (
            "schedule and manual",
            merge(
                rclone_destination(),
                json!({"spec": {"trigger": {"schedule": "@daily"}}}),
            ),
            vec![
                r#"spec.trigger.manual: "first": mutually exclusive with spec.trigger.schedule: set one of them"#,
            ],
        ),
        (
            "name too long for a label",
            merge(
                rsync_destination(),
                json!({"metadata": {"name": "d".repeat(64)}}),
            ),
            vec![
                r#"metadata.name: "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd": must be at most 63 characters: it becomes the ferry.dev/destination label of the pod"#,
            ],
        ),
    ];
    for (name, object, expected) in cases {
        assert_eq!(errors(&object), expected, "{name}");
    }
}

#[test]
fn destination_warns_about_what_it_accepts_but_does_not_use() {
    let object = merge(
        rsync_destination(),
        json!({"spec": {"trigger": {"schedule": "@daily"}, "rsync": {"capacity": "2Gi", "destinationPVC": "data"}}}),
    );
    let report = ferry_api::validate_destination(&object);
    assert!(report.is_ok(), "{:#?}", report.errors);
    assert_eq!(
        report.warnings,
        [
            "spec.trigger is ignored by an rsync destination: its source decides when to sync",
            "spec.rsync.capacity is unused: Ferry provisions no volume, it writes to PVC data",
        ]
    );
}
