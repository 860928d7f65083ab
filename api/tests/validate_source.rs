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
            "timestamped and locked",
            merge(
                rclone_source(),
                json!({"spec": {"rclone": {"timestampPrefix": true, "retain": 7, "objectLock": {"mode": "Compliance", "retainDays": 7}}}}),
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
            "jitter",
            merge(
                rsync_source(),
                json!({"spec": {"trigger": {"schedule": "0 * * * *", "jitter": "1h30m"}}}),
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
                json!({"spec": {"rclone": {"transfers": 0, "checkers": 5000, "maxDelete": -1, "maxDeletePercent": 101}}}),
            ),
            vec![
                r#"spec.rclone.transfers: "0": must be between 1 and 256"#,
                r#"spec.rclone.checkers: "5000": must be between 1 and 1024"#,
                r#"spec.rclone.maxDelete: "-1": must be between 0 and 2147483647"#,
                r#"spec.rclone.maxDeletePercent: "101": must be between 0 and 100"#,
            ],
        ),
        (
            "verify with a bad schedule and sample",
            merge(
                rclone_source(),
                json!({"spec": {"rclone": {"verify": {"schedule": "*/61 * * * *", "mode": "Deep", "samplePercent": 0}}}}),
            ),
            vec![
                r#"spec.rclone.verify.schedule: "*/61 * * * *": minute 61 is out of range 0-59"#,
                r#"spec.rclone.verify.samplePercent: "0": must be between 1 and 100"#,
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
            "object lock on a mirror, out of range, with a bad mode",
            merge(
                rclone_source(),
                json!({"spec": {"rclone": {"objectLock": {"mode": "Forever", "retainDays": 0}}}}),
            ),
            vec![
                r#"spec.rclone.objectLock.mode: "Forever": must be Governance or Compliance"#,
                r#"spec.rclone.objectLock.retainDays: "0": must be between 1 and 36500"#,
                r#"spec.rclone.objectLock: "{mode: Governance, retainDays: 0}": needs spec.rclone.timestampPrefix: true: on a mirror every overwrite and deletion of a locked object would fail"#,
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

/// The cron cases of the issue, through the whole entry point.
#[test]
fn cron_schedules_are_checked_field_by_field() {
    let refused = [
        (
            "@hourlyXYZ",
            vec![
                r#"spec.trigger.schedule: "@hourlyXYZ": unknown macro "@hourlyXYZ": use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly"#,
            ],
        ),
        (
            "garbage 0 0 * * *",
            vec![
                r#"spec.trigger.schedule: "garbage 0 0 * * *": expected 5 fields (minute hour day-of-month month day-of-week), found 6"#,
            ],
        ),
        (
            "0 0 * * * *",
            vec![
                r#"spec.trigger.schedule: "0 0 * * * *": expected 5 fields (minute hour day-of-month month day-of-week), found 6: Ferry does not take a seconds field"#,
            ],
        ),
        (
            "61 25 * * *",
            vec![
                r#"spec.trigger.schedule: "61 25 * * *": minute 61 is out of range 0-59"#,
                r#"spec.trigger.schedule: "61 25 * * *": hour 25 is out of range 0-23"#,
            ],
        ),
        (
            "0 0 * FOO *",
            vec![
                r#"spec.trigger.schedule: "0 0 * FOO *": month "FOO" is not a month name (JAN-DEC) or number 1-12"#,
            ],
        ),
    ];
    for (schedule, expected) in refused {
        let object = merge(
            rsync_source(),
            json!({"spec": {"trigger": {"schedule": schedule}}}),
        );
        assert_eq!(errors(&object), expected, "{schedule}");
    }
    for schedule in [
        "0 0 * * MON",
        "@daily",
        "*/5 * * * *",
        "0 9-17 * * 1-5",
        "30 2 * JAN-MAR SUN",
    ] {
        let object = merge(
            rsync_source(),
            json!({"spec": {"trigger": {"schedule": schedule}}}),
        );
        assert_eq!(errors(&object), Vec::<String>::new(), "{schedule}");
    }
}

/// One valid and one invalid value per value rule, through the entry point.
#[test]
fn value_rules_name_the_field_and_the_fix() {
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"spec": {"trigger": {"timeZone": "Mars/Olympus"}}}),
            r#"spec.trigger.timeZone: "Mars/Olympus": unknown time zone: use an IANA name such as "Europe/Berlin" or "UTC""#,
        ),
        (
            json!({"spec": {"trigger": {"schedule": "@hourly", "jitter": "10 minutes"}}}),
            r#"spec.trigger.jitter: "10 minutes": not a duration: write whole hours, minutes and seconds in that order, such as "90s", "10m" or "1h30m""#,
        ),
        (
            json!({"spec": {"trigger": {"schedule": "@hourly", "jitter": "36h"}}}),
            r#"spec.trigger.jitter: "36h": longer than 24h: use at most "24h""#,
        ),
        (
            json!({"spec": {"sourcePVC": "Data_1"}}),
            r#"spec.sourcePVC: "Data_1": must be a DNS-1123 subdomain: lower-case letters, digits, "-" and ".", starting and ending with a letter or digit, at most 253 characters"#,
        ),
        (
            json!({"spec": {"rsync": {"address": "root@nas"}}}),
            r#"spec.rsync.address: "root@nas": must be a host name or an IP address without a user: put the user in sshUser"#,
        ),
        (
            json!({"spec": {"rsync": {"address": "nas:22"}}}),
            r#"spec.rsync.address: "nas:22": must be a host name or an IP address without a port: put the port in the port field"#,
        ),
        (
            json!({"spec": {"rsync": {"address": "bad_host!"}}}),
            r#"spec.rsync.address: "bad_host!": must be a host name or an IP address: labels of letters, digits and "-" separated by ".", each starting and ending with a letter or digit, at most 253 characters"#,
        ),
        (
            json!({"spec": {"rsync": {"sshUser": "-root"}}}),
            r#"spec.rsync.sshUser: "-root": must be a POSIX user name: letters, digits, ".", "_" and "-", not starting with "-", 1 to 32 characters"#,
        ),
        (
            json!({"spec": {"rsync": {"path": "data/../../etc"}}}),
            r#"spec.rsync.path: "data/../../etc": must not contain ".." components: the path must stay inside the volume"#,
        ),
        (
            json!({"spec": {"rsync": {"capacity": "ten gigs"}}}),
            r#"spec.rsync.capacity: "ten gigs": must be a quantity such as "10Gi", "500m" or "1.5": a number with an optional suffix (Ki, Mi, Gi, Ti, Pi, Ei, m, k, M, G, T, P, E)"#,
        ),
        (
            json!({"spec": {"rsync": {"capacity": "0"}}}),
            r#"spec.rsync.capacity: "0": must be more than 0"#,
        ),
    ];
    for (patch, expected) in cases {
        assert_eq!(
            errors(&merge(rsync_source(), patch.clone())),
            [expected],
            "{patch}"
        );
    }
    let rclone_cases: Vec<(Value, &str)> = vec![
        (
            json!({"spec": {"rclone": {"rcloneConfigSection": " minio"}}}),
            r#"spec.rclone.rcloneConfigSection: " minio": must be an rclone remote name: letters, digits, "_", "-", ".", "+", "@" and spaces, not starting with "-" or a space, not ending with a space"#,
        ),
        (
            json!({"spec": {"rclone": {"rcloneDestPath": "minio:bucket/x"}}}),
            r#"spec.rclone.rcloneDestPath: "minio:bucket/x": must be bucket or bucket/prefix without a remote: put the remote name in rcloneConfigSection"#,
        ),
        (
            json!({"spec": {"rclone": {"rcloneDestPath": "My_Bucket/x"}}}),
            r#"spec.rclone.rcloneDestPath: "My_Bucket/x": bucket "My_Bucket" must be 3 to 63 lower-case letters, digits, "." and "-", starting and ending with a letter or digit"#,
        ),
        (
            json!({"spec": {"rclone": {"rcloneDestPath": "bucket/a/../b"}}}),
            r#"spec.rclone.rcloneDestPath: "bucket/a/../b": prefix must not contain "." or ".." segments"#,
        ),
        (
            json!({"spec": {"rclone": {"exclude": ["*.tmp", "[abc"]}}}),
            r#"spec.rclone.exclude[1]: "[abc": unclosed "[": end the character class with "]" or write "\[" for a literal "[""#,
        ),
        (
            json!({"spec": {"rclone": {"bandwidthLimit": "08:00,512k"}}}),
            r#"spec.rclone.bandwidthLimit: "08:00,512k": Ferry takes one rate, not a timetable: use a single rate such as "10M""#,
        ),
        (
            json!({"spec": {"rclone": {"rcloneConfig": "Rclone.Secret"}}}),
            r#"spec.rclone.rcloneConfig: "Rclone.Secret": must be a DNS-1123 subdomain: lower-case letters, digits, "-" and ".", starting and ending with a letter or digit, at most 253 characters"#,
        ),
    ];
    for (patch, expected) in rclone_cases {
        assert_eq!(
            errors(&merge(rclone_source(), patch.clone())),
            [expected],
            "{patch}"
        );
    }
}
