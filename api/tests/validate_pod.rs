//! Table tests of `validate_pod_annotations`.

use std::collections::BTreeMap;

use ferry_api::annotations::{self as keys, Binding};

/// A test case: name, annotations, expected messages.
type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Vec<&'a str>);

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn valid_annotations_parse_into_the_typed_struct() {
    let (parsed, report) = ferry_api::validate_pod_annotations(&map(&[
        (keys::SOURCE, "data-to-s3"),
        (keys::SCHEDULE, "*/5 * * * *"),
        (keys::TIME_ZONE, "Europe/Berlin"),
        (keys::JITTER, "10m"),
        (keys::VOLUME, "data"),
        (keys::NATIVE_SIDECAR, "false"),
        (keys::SIDECAR_CPU, "100m"),
        (keys::SIDECAR_MEMORY, "128Mi"),
        (keys::RUN_AS_USER, "1000"),
        ("app.kubernetes.io/name", "ignored"),
    ]));
    assert!(report.is_ok(), "{:#?}", report.errors);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    let parsed = parsed.expect("parsed");
    assert_eq!(parsed.binding, Binding::Source("data-to-s3".into()));
    assert_eq!(parsed.volume.as_deref(), Some("data"));
    assert_eq!(parsed.jitter.as_deref(), Some("10m"));
    assert_eq!(parsed.native_sidecar, Some(false));
    assert_eq!(parsed.run_as_user, Some(1000));
    assert_eq!(parsed.sidecar_memory.as_deref(), Some("128Mi"));
    assert!(parsed.schedule.is_some() && parsed.time_zone.is_some());
    assert!(!parsed.injected);

    let (parsed, report) = ferry_api::validate_pod_annotations(&map(&[
        (keys::DESTINATION, "standby"),
        (keys::INJECTED, r#"{"version":"0.1.0"}"#),
    ]));
    assert!(report.is_ok());
    let parsed = parsed.expect("parsed");
    assert_eq!(parsed.binding, Binding::Destination("standby".into()));
    assert!(parsed.injected);
}

#[test]
fn invalid_annotations_list_every_problem() {
    let cases: Vec<Case<'_>> = vec![
        (
            "neither source nor destination",
            vec![(keys::SCHEDULE, "@daily")],
            vec![
                r#"metadata.annotations[ferry.dev/source]: "": required: name a ReplicationSource in ferry.dev/source or a ReplicationDestination in ferry.dev/destination"#,
            ],
        ),
        (
            "both",
            vec![(keys::SOURCE, "a"), (keys::DESTINATION, "b")],
            vec![
                r#"metadata.annotations[ferry.dev/destination]: "b": mutually exclusive with ferry.dev/source: a pod is either a source or a destination"#,
            ],
        ),
        (
            "many at once",
            vec![
                (keys::SOURCE, "src"),
                (keys::SCHEDULE, "61 25 * * *"),
                (keys::NATIVE_SIDECAR, "yes"),
                (keys::RUN_AS_USER, "-5"),
                (keys::SIDECAR_CPU, "0"),
                (keys::JITTER, "1d"),
            ],
            vec![
                r#"metadata.annotations[ferry.dev/schedule]: "61 25 * * *": minute 61 is out of range 0-59"#,
                r#"metadata.annotations[ferry.dev/schedule]: "61 25 * * *": hour 25 is out of range 0-23"#,
                r#"metadata.annotations[ferry.dev/jitter]: "1d": not a duration: write whole hours, minutes and seconds in that order, such as "90s", "10m" or "1h30m""#,
                r#"metadata.annotations[ferry.dev/native-sidecar]: "yes": must be "true" or "false""#,
                r#"metadata.annotations[ferry.dev/sidecar-cpu]: "0": must be more than 0"#,
                r#"metadata.annotations[ferry.dev/run-as-user]: "-5": must be a user ID from 0 to 2147483647"#,
            ],
        ),
    ];
    for (name, pairs, expected) in cases {
        let (parsed, report) = ferry_api::validate_pod_annotations(&map(&pairs));
        assert!(parsed.is_none(), "{name}");
        assert_eq!(report.messages(), expected, "{name}");
    }
}

#[test]
fn unknown_ferry_keys_get_a_suggestion() {
    let (parsed, report) = ferry_api::validate_pod_annotations(&map(&[
        (keys::SOURCE, "a"),
        ("ferry.dev/shedule", "@daily"),
        ("ferry.dev/zzz-unrelated-thing", "1"),
    ]));
    assert!(parsed.is_some());
    assert_eq!(
        report.warnings,
        [
            "unknown annotation ferry.dev/shedule: did you mean ferry.dev/schedule?",
            "unknown annotation ferry.dev/zzz-unrelated-thing is ignored",
        ]
    );
}
