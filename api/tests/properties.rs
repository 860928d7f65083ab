//! No input makes a validation entry point panic: arbitrary strings in every field an entry
//! point reads, and arbitrary JSON objects.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Arbitrary JSON, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("spec".to_owned()),
                    Just("rsync".to_owned()),
                    Just("rclone".to_owned()),
                    Just("trigger".to_owned()),
                    Just("schedule".to_owned()),
                    Just("copyMethod".to_owned()),
                    ".{0,12}"
                ],
                inner,
                0..6,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Fields an entry point reads, each set to an arbitrary string in a valid-looking object.
fn stringy_object(text: String) -> Value {
    json!({
        "metadata": {"name": text.clone()},
        "spec": {
            "sourcePVC": text.clone(),
            "trigger": {"schedule": text.clone(), "timeZone": text.clone(), "manual": text.clone()},
            "rsync": {
                "address": text.clone(), "sshUser": text.clone(), "sshKeys": text.clone(),
                "path": text.clone(), "destinationPVC": text.clone(), "capacity": text.clone(),
                "volumeSnapshotClassName": text.clone(), "accessModes": [text.clone()]
            },
            "rclone": {
                "rcloneConfig": text.clone(), "rcloneConfigSection": text.clone(),
                "rcloneDestPath": text.clone(), "exclude": [text.clone()], "bandwidthLimit": text.clone(),
                "moverResources": {"limits": {"cpu": text.clone()}, "requests": {"cpu": text}}
            }
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_json_never_panics(value in any_json()) {
        let _ = ferry_api::validate_source(&value);
        let _ = ferry_api::validate_destination(&value);
        let wrapped = json!({"spec": value});
        let _ = ferry_api::validate_source(&wrapped);
        let _ = ferry_api::validate_destination(&wrapped);
    }

    #[test]
    fn arbitrary_strings_never_panic(text in "\\PC{0,80}|[ -~]{0,300}") {
        let object = stringy_object(text.clone());
        let source = ferry_api::validate_source(&object);
        let destination = ferry_api::validate_destination(&object);
        for report in [source, destination] {
            prop_assert!(report.warnings.iter().all(|w| w.chars().count() < 120));
        }
        let annotations: BTreeMap<String, String> = ferry_api::annotations::ALL
            .iter()
            .map(|key| ((*key).to_owned(), text.clone()))
            .chain([(format!("ferry.dev/{text}"), text.clone())])
            .collect();
        let (parsed, report) = ferry_api::validate_pod_annotations(&annotations);
        prop_assert_eq!(parsed.is_some(), report.is_ok());
    }
}
