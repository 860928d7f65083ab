use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;
use serde_json::json;

use super::*;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn requirement(key: &str, operator: &str, values: &[&str]) -> LabelSelectorRequirement {
    LabelSelectorRequirement {
        key: key.into(),
        operator: operator.into(),
        values: (!values.is_empty()).then(|| values.iter().map(|v| (*v).to_owned()).collect()),
    }
}

#[test]
fn selectors_match_as_the_apiserver_does() {
    // The chart's namespaceSelector: not the release namespace or kube-system, plus a label.
    let selector = LabelSelector {
        match_labels: Some(BTreeMap::from([("team".to_owned(), "a".to_owned())])),
        match_expressions: Some(vec![
            requirement(
                "kubernetes.io/metadata.name",
                "NotIn",
                &["ferry", "kube-system"],
            ),
            requirement("ferry-e2e/installed", "Exists", &[]),
        ]),
    };
    let shop = labels(&[
        ("kubernetes.io/metadata.name", "shop"),
        ("team", "a"),
        ("ferry-e2e/installed", "x"),
    ]);
    assert!(selects(Some(&selector), &shop));
    let mut own = shop.clone();
    own.insert("kubernetes.io/metadata.name".into(), "ferry".into());
    assert!(!selects(Some(&selector), &own));
    let mut unlabelled = shop.clone();
    unlabelled.remove("ferry-e2e/installed");
    assert!(!selects(Some(&selector), &unlabelled));
    let mut other_team = shop;
    other_team.insert("team".into(), "b".into());
    assert!(!selects(Some(&selector), &other_team));
    assert!(selects(None, &BTreeMap::new()));
    assert!(selects(Some(&LabelSelector::default()), &BTreeMap::new()));
    let odd = LabelSelector {
        match_expressions: Some(vec![requirement("a", "Near", &["b"])]),
        ..LabelSelector::default()
    };
    assert!(!selects(Some(&odd), &labels(&[("a", "b")])));
}

#[test]
fn schema_drift_names_the_fields_that_differ() {
    let ours = json!({"properties": {"spec": {"properties": {
        "sourcePVC": {"type": "string"},
        "rclone": {"properties": {"verify": {"properties": {"schedule": {}}}}},
        "exclude": {"items": {"properties": {"x": {}}}}}}}});
    assert_eq!(schema_drift(&ours, &ours, 5), None);
    let old = json!({"properties": {"spec": {"properties": {
        "sourcePVC": {"type": "string"}, "rclone": {"properties": {}}, "legacy": {},
        "exclude": {"items": {"properties": {"x": {}}}}}}}});
    assert_eq!(
        schema_drift(&old, &ours, 5).as_deref(),
        Some(
            "lacks spec.rclone.verify, spec.rclone.verify.schedule; has fields this version does not know: spec.legacy"
        )
    );
    assert_eq!(
        schema_drift(&old, &ours, 1).as_deref(),
        Some(
            "lacks spec.rclone.verify and 1 more; has fields this version does not know: spec.legacy"
        )
    );
    assert!(property_paths(&ours).contains("spec.exclude[].x"));
}

#[test]
fn the_report_names_each_problem_with_its_fix() {
    let text = render(&[
        Finding::ok("CRD replicationsources.replication.ferry.dev"),
        Finding::problem(
            "caBundle",
            "does not trust the serving certificate",
            "helm upgrade",
        ),
    ]);
    assert_eq!(
        text,
        "[ok]      CRD replicationsources.replication.ferry.dev\n\
         [PROBLEM] caBundle: does not trust the serving certificate\n          fix: helm upgrade\n\
         1 problem(s) found in 2 check(s).\n"
    );
}
