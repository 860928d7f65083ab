//! Restore on first start: the app containers wait for the step, through the native
//! sidecar's startup probe or an init container placed before the app's.

use serde_json::{Value, json};

use super::{facts, mutated, one_sidecar, pod};
use crate::inject::{BoundObject, Facts, NativeMode, Settings};

fn restoring() -> Facts {
    Facts {
        bound: Some(BoundObject {
            pvc: Some("data".into()),
            restore: true,
        }),
        ..facts()
    }
}

fn mount_of<'a>(container: &'a Value, volume: &str) -> &'a Value {
    container["volumeMounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .find(|m| m["name"] == volume)
        .expect("mount")
}

fn env_of(container: &Value, name: &str) -> Option<String> {
    container["env"]
        .as_array()?
        .iter()
        .find(|v| v["name"] == name)?["value"]
        .as_str()
        .map(str::to_owned)
}

#[test]
fn a_native_sidecar_holds_the_app_back_with_its_startup_probe() {
    let (out, response) = mutated(&pod(json!({})), &Settings::default(), &restoring());
    assert!(response.allowed);
    let (list, index, sidecar) = one_sidecar(&out);
    assert_eq!((list, index), ("initContainers", 0));
    assert_eq!(
        sidecar["startupProbe"]["exec"]["command"],
        json!(["ferry-sidecar", "restored"])
    );
    assert_eq!(sidecar["startupProbe"]["periodSeconds"], 1);
    // The restore writes the volume.
    assert_eq!(mount_of(&sidecar, "data")["readOnly"], false);
    assert_eq!(env_of(&sidecar, "FERRY_RESTORE").as_deref(), Some("true"));
    let names: Vec<&str> = out["spec"]["initContainers"]
        .as_array()
        .expect("init")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["ferry-sidecar"], "no extra container with a probe");
    let record: Value = serde_json::from_str(
        out["metadata"]["annotations"]["ferry.dev/injected"]
            .as_str()
            .expect("record"),
    )
    .expect("json");
    assert_eq!(record["restore"], "startupProbe");
}

#[test]
fn without_native_sidecars_an_init_container_restores_before_the_apps() {
    let settings = Settings {
        native: NativeMode::Never,
        ..Settings::default()
    };
    let existing = pod(
        json!({"spec": {"initContainers": [{"name": "migrate", "image": "m"}]},
        "metadata": {"annotations": {"ferry.dev/restore-on-failure": "StartEmpty"}}}),
    );
    let (out, response) = mutated(&existing, &settings, &restoring());
    assert!(response.allowed);
    let init = out["spec"]["initContainers"].as_array().expect("init");
    let names: Vec<&str> = init.iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(names, ["ferry-restore", "migrate"]);
    let step = &init[0];
    assert_eq!(step["args"], json!(["restore"]));
    assert!(step.get("restartPolicy").is_none(), "a one-shot container");
    assert_eq!(step["terminationMessagePolicy"], "FallbackToLogsOnError");
    assert_eq!(mount_of(step, "data")["readOnly"], false);
    assert_eq!(step["securityContext"]["runAsNonRoot"], true);
    assert_eq!(step["securityContext"]["runAsUser"], 1000);
    assert_eq!(
        env_of(step, "FERRY_RESTORE_ON_FAILURE").as_deref(),
        Some("StartEmpty")
    );
    // The regular sidecar reads, as always, and has no probe.
    let (list, _, sidecar) = one_sidecar(&out);
    assert_eq!(list, "containers");
    assert_eq!(mount_of(&sidecar, "data")["readOnly"], true);
    assert!(sidecar.get("startupProbe").is_none());
    assert_eq!(env_of(&sidecar, "FERRY_RESTORE"), None);
}

#[test]
fn the_pod_annotation_turns_the_step_on_or_off_and_names_a_copy() {
    // On without the CR asking, with a named copy.
    let named = pod(json!({"metadata": {"annotations": {
        "ferry.dev/restore-on-empty": "2026-12-07-101500"}}}));
    let (out, _) = mutated(&named, &Settings::default(), &facts());
    let (_, _, sidecar) = one_sidecar(&out);
    assert!(sidecar.get("startupProbe").is_some());
    assert_eq!(
        env_of(&sidecar, "FERRY_RESTORE_COPY").as_deref(),
        Some("2026-12-07-101500")
    );
    // Off although the CR asks.
    let off = pod(json!({"metadata": {"annotations": {"ferry.dev/restore-on-empty": "false"}}}));
    let (out, _) = mutated(&off, &Settings::default(), &restoring());
    let (_, _, sidecar) = one_sidecar(&out);
    assert!(sidecar.get("startupProbe").is_none());
    assert_eq!(mount_of(&sidecar, "data")["readOnly"], true);
    // Neither: nothing.
    let (out, _) = mutated(&pod(json!({})), &Settings::default(), &facts());
    let (_, _, sidecar) = one_sidecar(&out);
    assert!(sidecar.get("startupProbe").is_none());
}

#[test]
fn bad_restore_annotations_are_all_refused_by_name() {
    let bad = pod(json!({"metadata": {"annotations": {
        "ferry.dev/restore-on-empty": "yesterday",
        "ferry.dev/restore-on-failure": "Retry"}}}));
    let (_, response) = mutated(&bad, &Settings::default(), &facts());
    assert!(!response.allowed);
    let message = response.status.map(|s| s.message).unwrap_or_default();
    assert!(
        message.contains("metadata.annotations[ferry.dev/restore-on-empty]: \"yesterday\""),
        "{message}"
    );
    assert!(
        message.contains("metadata.annotations[ferry.dev/restore-on-failure]: \"Retry\": must be \"Block\" or \"StartEmpty\""),
        "{message}"
    );
}
