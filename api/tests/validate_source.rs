//! Table tests of `validate_source`: each invalid case asserts the exact messages.

mod support;

use serde_json::{Value, json};
use support::{merge, rclone_source, rsync_source};

fn errors(object: &Value) -> Vec<String> {
    ferry_api::validate_source(object).messages()
}

#[test]
fn valid_sources_pass() {
    let cases = [
        ("rsync", rsync_source()),
        ("rclone", rclone_source()),
        (
            "no trigger: continuous",
            merge(rsync_source(), json!({"spec": {"trigger": null}})),
        ),
        (
            "manual",
            merge(
                rsync_source(),
                json!({"spec": {"trigger": {"schedule": null, "manual": "now"}}}),
            ),
        ),
        (
            "None is Direct",
            merge(
                rsync_source(),
                json!({"spec": {"rsync": {"copyMethod": "None"}}}),
            ),
        ),
        (
            "Clone",
            merge(
                rsync_source(),
                json!({"spec": {"rsync": {"copyMethod": "Clone"}}}),
            ),
        ),
        (
            "IPv4",
            merge(
                rsync_source(),
                json!({"spec": {"rsync": {"address": "10.0.0.7"}}}),
            ),
        ),
        (
            "IPv6",
            merge(
                rsync_source(),
                json!({"spec": {"rsync": {"address": "fd00::7"}}}),
            ),
        ),
        (
            "port",
            merge(
                rsync_source(),
                json!({"spec": {"rsync": {"port": 65535, "sshUser": "backup", "path": "backups/data"}}}),
            ),
        ),
        (
            "root path",
            merge(rsync_source(), json!({"spec": {"rsync": {"path": "/"}}})),
        ),
        (
            "timestamped",
            merge(
                rclone_source(),
                json!({"spec": {"rclone": {"timestampPrefix": true, "retain": 7}}}),
            ),
        ),
        (
            "ranges",
            merge(
                rclone_source(),
                json!({"spec": {"rclone": {"transfers": 256, "checkers": 1, "maxDelete": 0}}}),
            ),
        ),
        (
            "excludes",
            merge(
                rclone_source(),
                json!({"spec": {"rclone": {"exclude": ["*.tmp", "/cache/**", "lost+found/", "{a,b}.log"]}}}),
            ),
        ),
        (
            "bwlimit",
            merge(
                rclone_source(),
                json!({"spec": {"rclone": {"bandwidthLimit": "10M"}}}),
            ),
        ),
        (
            "time zone",
            merge(
                rsync_source(),
                json!({"spec": {"trigger": {"timeZone": "Europe/Berlin"}}}),
            ),
        ),
        (
            "resources",
            merge(
                rsync_source(),
                json!({"spec": {"rsync": {"capacity": "10Gi", "moverResources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}}}}),
            ),
        ),
    ];
    for (name, object) in cases {
        let report = ferry_api::validate_source(&object);
        assert!(report.is_ok(), "{name}: {:#?}", report.errors);
    }
}

#[test]
fn invalid_sources_list_exact_messages() {
    let cases: Vec<(&str, Value, Vec<&str>)> = vec![
        (
            "schedule and manual",
            merge(
                rsync_source(),
                json!({"spec": {"trigger": {"manual": "now"}}}),
            ),
            vec![
                r#"spec.trigger.manual: "now": mutually exclusive with spec.trigger.schedule: set one of them"#,
            ],
        ),
        (
            "two movers",
            merge(
                rsync_source(),
                json!({"spec": {"rclone": rclone_source()["spec"]["rclone"].clone()}}),
            ),
            vec![
                r#"spec.rclone: "{…}": mutually exclusive with spec.rsync: set exactly one mover"#,
            ],
        ),
        (
            "no mover",
            merge(rsync_source(), json!({"spec": {"rsync": null}})),
            vec![r#"spec: "{…}": a mover is required: set spec.rsync or spec.rclone"#],
        ),
        (
            "no spec",
            json!({"metadata": {"name": "x"}}),
            vec![r#"spec: "": required"#],
        ),
        (
            "not an object",
            json!("hello"),
            vec![r#"(object): "hello": must be a JSON object with a spec"#],
        ),
        (
            "missing sourcePVC",
            merge(rsync_source(), json!({"spec": {"sourcePVC": null}})),
            vec![r#"spec.sourcePVC: "": required"#],
        ),
        (
            "wrong type",
            merge(rsync_source(), json!({"spec": {"paused": "yes"}})),
            vec![r#"spec.paused: "yes": invalid type: string "yes", expected a boolean"#],
        ),
        (
            "copy method",
            merge(
                rsync_source(),
                json!({"spec": {"rsync": {"copyMethod": "Move"}}}),
            ),
            vec![
                r#"spec.rsync.copyMethod: "Move": must be Direct, Snapshot or Clone (None is accepted as Direct)"#,
            ],
        ),
        (
            "rsync required fields",
            merge(
                rsync_source(),
                json!({"spec": {"rsync": {"address": null, "sshKeys": null}}}),
            ),
            vec![
                r#"spec.rsync.address: "": required: the destination's host name or IP (a Ferry destination shows it in status.rsync.address)"#,
                r#"spec.rsync.sshKeys: "": required: the Secret with source, source.pub and destination.pub (a Ferry destination shows it in status.rsync.sshKeys)"#,
            ],
        ),
        (
            "port range",
            merge(rsync_source(), json!({"spec": {"rsync": {"port": 70000}}})),
            vec![r#"spec.rsync.port: "70000": must be between 1 and 65535"#],
        ),
        (
            "port zero",
            merge(rsync_source(), json!({"spec": {"rsync": {"port": 0}}})),
            vec![r#"spec.rsync.port: "0": must be between 1 and 65535"#],
        ),
        (
            "rclone ranges",
            merge(
                rclone_source(),
                json!({"spec": {"rclone": {"transfers": 0, "checkers": 5000, "maxDelete": -1}}}),
            ),
            vec![
                r#"spec.rclone.transfers: "0": must be between 1 and 256"#,
                r#"spec.rclone.checkers: "5000": must be between 1 and 1024"#,
                r#"spec.rclone.maxDelete: "-1": must be between 0 and 2147483647"#,
            ],
        ),
        (
            "retain without timestampPrefix, and out of range",
            merge(rclone_source(), json!({"spec": {"rclone": {"retain": 0}}})),
            vec![
                r#"spec.rclone.retain: "0": must be between 1 and 1000"#,
                r#"spec.rclone.retain: "0": counts timestamped copies: set spec.rclone.timestampPrefix: true, or remove retain"#,
            ],
        ),
        (
            "access mode",
            merge(
                rsync_source(),
                json!({"spec": {"rsync": {"accessModes": ["ReadWriteOnce", "RWX"]}}}),
            ),
            vec![
                r#"spec.rsync.accessModes[1]: "RWX": must be one of ReadWriteOnce, ReadOnlyMany, ReadWriteMany or ReadWriteOncePod"#,
            ],
        ),
        (
            "request over limit",
            merge(
                rsync_source(),
                json!({"spec": {"rsync": {"moverResources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}}}}),
            ),
            vec![r#"spec.rsync.moverResources.requests[cpu]: "2": must not exceed the limit 1"#],
        ),
        (
            "negative runAsUser",
            merge(
                rsync_source(),
                json!({"spec": {"rsync": {"moverSecurityContext": {"runAsUser": -1}}}}),
            ),
            vec![r#"spec.rsync.moverSecurityContext.runAsUser: "-1": must be 0 or more"#],
        ),
    ];
    for (name, object, expected) in cases {
        assert_eq!(errors(&object), expected, "{name}");
    }
}

/// Every problem comes back in one answer, in field order.
#[test]
fn schedule_and_manual_and_two_movers_get_one_message_each() {
    let object = merge(
        rsync_source(),
        json!({"spec": {
            "trigger": {"schedule": "*/61 * * * *", "manual": "now", "timeZone": "Mars/Olympus"},
            "rclone": rclone_source()["spec"]["rclone"].clone(),
            "rsync": {"port": 0}
        }}),
    );
    assert_eq!(
        errors(&object),
        [
            r#"spec.trigger.schedule: "*/61 * * * *": minute 61 is out of range 0-59"#,
            r#"spec.trigger.timeZone: "Mars/Olympus": unknown time zone: use an IANA name such as "Europe/Berlin" or "UTC""#,
            r#"spec.trigger.manual: "now": mutually exclusive with spec.trigger.schedule: set one of them"#,
            r#"spec.rclone: "{…}": mutually exclusive with spec.rsync: set exactly one mover"#,
            r#"spec.rsync.port: "0": must be between 1 and 65535"#,
        ]
    );
}

#[test]
fn warnings_are_short_and_separate() {
    let object = merge(
        rsync_source(),
        json!({"spec": {"rsync": {"copyMethod": "Direct", "volumeSnapshotClassName": "snap"}}}),
    );
    let report = ferry_api::validate_source(&object);
    assert!(report.is_ok());
    assert_eq!(
        report.warnings,
        ["spec.rsync.volumeSnapshotClassName is unused with copyMethod Direct"]
    );
    let dry = merge(
        rclone_source(),
        json!({"spec": {"rclone": {"dryRun": true}}}),
    );
    let report = ferry_api::validate_source(&dry);
    assert_eq!(
        report.warnings,
        ["spec.rclone.dryRun is true: syncs only report what they would change"]
    );
    assert!(report.warnings.iter().all(|w| w.chars().count() < 120));
}
