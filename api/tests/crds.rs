//! The chart's CRDs are generated from the Rust types; this fails when the committed copies
//! are stale. Run `make crds` to regenerate them.

use std::path::Path;

#[test]
fn committed_crds_match_the_types() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../charts/ferry/crds");
    for (file, fresh) in ferry_api::crd::render_all().expect("render CRDs") {
        let committed = std::fs::read_to_string(dir.join(file))
            .unwrap_or_else(|err| panic!("{file}: {err}; run `make crds`"));
        assert!(
            committed == fresh,
            "{file} is stale; run `make crds` and commit the result"
        );
    }
}

#[test]
fn crds_carry_descriptions_columns_and_cel_rules() {
    for (file, yaml) in ferry_api::crd::render_all().expect("render CRDs") {
        for needle in [
            "x-kubernetes-validations",
            "a mover is required: set spec.rsync or spec.rclone",
            "spec.rsync and spec.rclone are mutually exclusive: set exactly one mover",
            "schedule and manual are mutually exclusive: set one of them",
            "additionalPrinterColumns",
            "name: Last sync",
            "name: Next sync",
            "subresources:",
            "status: {}",
        ] {
            assert!(yaml.contains(needle), "{file} lacks {needle:?}");
        }
    }
}

/// Every property in the schema has a description, so `kubectl explain` documents it.
#[test]
fn every_schema_property_has_a_description() {
    use kube::CustomResourceExt;
    fn walk(path: &str, schema: &serde_json::Value, missing: &mut Vec<String>) {
        if let Some(props) = schema.get("properties").and_then(|p| p.as_object()) {
            for (name, prop) in props {
                let here = format!("{path}.{name}");
                if prop.get("description").is_none()
                    && !here.ends_with(".metadata")
                    && !here.ends_with(".apiVersion")
                    && !here.ends_with(".kind")
                {
                    missing.push(here.clone());
                }
                walk(&here, prop, missing);
            }
        }
        for key in ["items", "additionalProperties"] {
            if let Some(inner) = schema.get(key) {
                walk(path, inner, missing);
            }
        }
    }
    for crd in [
        ferry_api::ReplicationSource::crd(),
        ferry_api::ReplicationDestination::crd(),
    ] {
        let json = serde_json::to_value(&crd).expect("crd to json");
        let schema = &json["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        let mut missing = Vec::new();
        walk(crd.spec.names.kind.as_str(), schema, &mut missing);
        assert!(
            missing.is_empty(),
            "properties without a description: {missing:#?}"
        );
    }
}
