//! Every manifest in `examples/` validates, including the VolSync manifests ported by
//! changing only `apiVersion`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

#[expect(
    clippy::expect_used,
    reason = "test support: a broken example must stop the test"
)]
fn manifests() -> Vec<(PathBuf, Value)> {
    let mut out = Vec::new();
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read examples dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                let text = std::fs::read_to_string(&path).expect("read manifest");
                for value in serde_saphyr::from_multiple::<Value>(&text).expect("parse yaml") {
                    if !value.is_null() {
                        out.push((path.clone(), value));
                    }
                }
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The annotations of a pod, or of a workload's pod template.
#[expect(clippy::expect_used, reason = "test support")]
fn pod_annotations(manifest: &Value) -> BTreeMap<String, String> {
    let meta = match manifest["kind"].as_str() {
        Some("Pod") => &manifest["metadata"],
        _ => &manifest["spec"]["template"]["metadata"],
    };
    serde_json::from_value(meta["annotations"].clone()).expect("annotations are strings")
}

#[test]
fn every_example_validates() {
    let all = manifests();
    let mut kinds = BTreeMap::<String, usize>::new();
    for (path, manifest) in &all {
        let kind = manifest["kind"].as_str().expect("kind").to_owned();
        let errors = match kind.as_str() {
            "ReplicationSource" => ferry_api::validate_source(manifest).messages(),
            "ReplicationDestination" => ferry_api::validate_destination(manifest).messages(),
            "Pod" | "Deployment" | "StatefulSet" => {
                let (parsed, report) =
                    ferry_api::validate_pod_annotations(&pod_annotations(manifest));
                assert!(parsed.is_some() || !report.is_ok());
                report.messages()
            }
            other => panic!("{}: unexpected kind {other}", path.display()),
        };
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
        assert_eq!(
            manifest["apiVersion"]
                .as_str()
                .map(|v| v.starts_with("volsync")),
            Some(false),
            "{}",
            path.display()
        );
        *kinds.entry(kind).or_default() += 1;
    }
    for kind in [
        "ReplicationSource",
        "ReplicationDestination",
        "Pod",
        "Deployment",
        "StatefulSet",
    ] {
        assert!(
            kinds.get(kind).is_some_and(|n| *n > 0),
            "no {kind} example: {kinds:?}"
        );
    }
}

#[test]
fn ported_volsync_manifests_validate_and_warn_about_provisioning() {
    let ported: Vec<_> = manifests()
        .into_iter()
        .filter(|(path, _)| path.parent().is_some_and(|p| p.ends_with("volsync")))
        .collect();
    assert_eq!(ported.len(), 4, "the four database examples");
    for (path, manifest) in ported {
        let report = match manifest["kind"].as_str() {
            Some("ReplicationSource") => ferry_api::validate_source(&manifest),
            _ => ferry_api::validate_destination(&manifest),
        };
        assert!(report.is_ok(), "{}: {:#?}", path.display(), report.errors);
        if manifest["kind"] == "ReplicationDestination" {
            let mover = if manifest["spec"]["rsync"].is_object() {
                "rsync"
            } else {
                "rclone"
            };
            assert!(
                report.warnings.contains(&format!(
                    "spec.{mover}.capacity is unused: Ferry provisions no volume, it writes to the bound pod's volume"
                )),
                "{}: {:?}",
                path.display(),
                report.warnings
            );
        }
    }
}
