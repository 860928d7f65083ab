use super::*;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

fn spec() -> Spec {
    Spec {
        name: "db-mover".into(),
        namespace: "shop".into(),
        image: "ghcr.io/ferry-dev/ferry-sidecar:1.0".into(),
        service_account: Some("app".into()),
        claim: "db-tmp".into(),
        read_only: true,
        env: vec![EnvVar {
            name: "FERRY_ROLE".into(),
            value: Some("source".into()),
            value_from: None,
        }],
        secrets: vec![("db-rclone".into(), "/ferry/secrets/db-rclone".into())],
        run_as_user: Some(1000),
        pod_security_context: None,
        resources: None,
        labels: BTreeMap::from([("ferry.dev/temporary-for".into(), "u-1".into())]),
        owner: Some(Owner {
            api_version: "replication.ferry.dev/v1alpha1".into(),
            kind: "ReplicationSource".into(),
            name: "db".into(),
            uid: "u-1".into(),
        }),
    }
}

fn json_of(spec: &Spec) -> Value {
    serde_json::to_value(pod(spec)).unwrap()
}

#[test]
fn the_pod_runs_the_mover_once_with_its_labels_and_owner() {
    let v = json_of(&spec());
    assert_eq!(v["metadata"]["name"], "db-mover");
    assert_eq!(v["metadata"]["namespace"], "shop");
    assert_eq!(
        v["metadata"]["labels"],
        json!({"ferry.dev/mover": "true", "ferry.dev/temporary-for": "u-1"})
    );
    assert_eq!(
        v["metadata"]["ownerReferences"][0]["kind"],
        "ReplicationSource"
    );
    assert_eq!(v["spec"]["restartPolicy"], "Never");
    assert_eq!(v["spec"]["serviceAccountName"], "app");
    assert_eq!(v["spec"]["automountServiceAccountToken"], true);
    let containers = v["spec"]["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    assert_eq!(c["name"], "ferry-mover");
    assert_eq!(c["image"], "ghcr.io/ferry-dev/ferry-sidecar:1.0");
    assert_eq!(c["command"], json!(["ferry-sidecar"]));
    assert_eq!(c["args"], json!(["mover"]));
}

#[test]
fn the_caller_cannot_unset_the_mover_label() {
    let mut s = spec();
    s.labels
        .insert(ferry_api::annotations::MOVER_LABEL.into(), "no".into());
    assert_eq!(json_of(&s)["metadata"]["labels"]["ferry.dev/mover"], "true");
}

#[test]
fn the_environment_adds_the_pods_identity() {
    let v = json_of(&spec());
    let env = v["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap()
        .clone();
    let names: Vec<&str> = env.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "FERRY_ROLE",
            "POD_NAME",
            "POD_NAMESPACE",
            "POD_UID",
            "POD_IP"
        ]
    );
    assert_eq!(env[0]["value"], "source");
    assert_eq!(
        env[3]["valueFrom"],
        json!({"fieldRef": {"fieldPath": "metadata.uid"}})
    );
    assert_eq!(env[4]["valueFrom"]["fieldRef"]["fieldPath"], "status.podIP");
}

#[test]
fn the_claim_secrets_and_tmp_are_mounted() {
    let v = json_of(&spec());
    assert_eq!(
        v["spec"]["volumes"],
        json!([
            {"name": "data", "persistentVolumeClaim": {"claimName": "db-tmp", "readOnly": true}},
            {"name": "tmp", "emptyDir": {}},
            {"name": "ferry-secret-0", "secret": {"secretName": "db-rclone", "defaultMode": 0o444, "optional": true}},
        ])
    );
    assert_eq!(
        v["spec"]["containers"][0]["volumeMounts"],
        json!([
            {"name": "data", "mountPath": VOLUME_PATH, "readOnly": true},
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "ferry-secret-0", "mountPath": "/ferry/secrets/db-rclone", "readOnly": true},
        ])
    );
    let mut writable = spec();
    writable.read_only = false;
    let v = json_of(&writable);
    assert_eq!(
        v["spec"]["volumes"][0]["persistentVolumeClaim"]["readOnly"],
        false
    );
    assert_eq!(
        v["spec"]["containers"][0]["volumeMounts"][0]["readOnly"],
        false
    );
}

#[test]
fn the_container_meets_restricted_pod_security() {
    let v = json_of(&spec());
    assert_eq!(
        v["spec"]["containers"][0]["securityContext"],
        json!({
            "runAsUser": 1000,
            "runAsNonRoot": true,
            "allowPrivilegeEscalation": false,
            "readOnlyRootFilesystem": true,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        })
    );
    let mut anyone = spec();
    anyone.run_as_user = None;
    let ctx = json_of(&anyone)["spec"]["containers"][0]["securityContext"].clone();
    assert_eq!(ctx["runAsNonRoot"], true);
    assert!(ctx.get("runAsUser").is_none(), "{ctx}");
}

#[test]
fn root_keeps_the_rest_of_the_restrictions_and_gets_the_ownership_capabilities() {
    let mut root = spec();
    root.run_as_user = Some(0);
    let ctx = json_of(&root)["spec"]["containers"][0]["securityContext"].clone();
    assert_eq!(ctx["runAsUser"], 0);
    assert_eq!(ctx["runAsNonRoot"], false);
    assert_eq!(ctx["allowPrivilegeEscalation"], false);
    assert_eq!(ctx["capabilities"]["drop"], json!(["ALL"]));
    assert_eq!(
        ctx["capabilities"]["add"],
        json!([
            "CHOWN",
            "DAC_OVERRIDE",
            "DAC_READ_SEARCH",
            "FOWNER",
            "FSETID"
        ])
    );
    // Root asked for by the CR's moverSecurityContext is the same.
    let mut by_cr = spec();
    by_cr.run_as_user = None;
    by_cr.pod_security_context = Some(PodSecurityContext {
        run_as_user: Some(0),
        ..PodSecurityContext::default()
    });
    let v = json_of(&by_cr);
    assert_eq!(v["spec"]["securityContext"]["runAsUser"], 0);
    assert_eq!(
        v["spec"]["containers"][0]["securityContext"]["runAsNonRoot"],
        false
    );
}

#[test]
fn resources_and_the_pod_security_context_come_from_the_cr() {
    let mut s = spec();
    s.resources = Some(ResourceRequirements {
        limits: Some(BTreeMap::from([(
            "memory".into(),
            Quantity("256Mi".into()),
        )])),
        ..ResourceRequirements::default()
    });
    s.pod_security_context = Some(PodSecurityContext {
        fs_group: Some(2000),
        ..PodSecurityContext::default()
    });
    let v = json_of(&s);
    assert_eq!(
        v["spec"]["containers"][0]["resources"],
        json!({"limits": {"memory": "256Mi"}})
    );
    assert_eq!(v["spec"]["securityContext"], json!({"fsGroup": 2000}));
}

fn pod_in(status: Value, annotations: Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": "m", "annotations": annotations},
        "status": status,
    }))
    .unwrap()
}

#[test]
fn an_ended_pod_gives_its_exit_code_message_and_result() {
    let pod = pod_in(
        json!({"phase": "Failed", "containerStatuses": [{
            "name": "ferry-mover", "ready": false, "restartCount": 0, "image": "i", "imageID": "",
            "state": {"terminated": {"exitCode": 3, "message": "no route to the far end"}}}]}),
        json!({RESULT_ANNOTATION: "{\"bytes\": 10}"}),
    );
    let Poll::Done(outcome) = outcome(&pod) else {
        panic!("a Failed pod has ended");
    };
    assert_eq!(
        outcome,
        Outcome {
            succeeded: false,
            exit_code: Some(3),
            message: Some("no route to the far end".into()),
            result: Some(json!({"bytes": 10})),
        }
    );
}

#[test]
fn a_running_pod_says_why_it_waits_and_bad_results_are_ignored() {
    let waiting = pod_in(
        json!({"phase": "Pending", "containerStatuses": [{
            "name": "ferry-mover", "ready": false, "restartCount": 0, "image": "i", "imageID": "",
            "state": {"waiting": {"reason": "ImagePullBackOff", "message": "not found"}}}]}),
        json!({}),
    );
    assert!(
        matches!(outcome(&waiting), Poll::Pending(Some(ref s)) if s == "phase Pending: ImagePullBackOff: not found")
    );
    assert!(
        matches!(outcome(&pod_in(json!({}), json!({}))), Poll::Pending(Some(ref s)) if s == "phase Pending")
    );
    let garbled = pod_in(
        json!({"phase": "Succeeded"}),
        json!({RESULT_ANNOTATION: "{not json"}),
    );
    let Poll::Done(outcome) = outcome(&garbled) else {
        panic!("a Succeeded pod has ended");
    };
    assert!(outcome.succeeded);
    assert_eq!((outcome.exit_code, outcome.result), (None, None));
}
