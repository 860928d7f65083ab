//! The patch table: raw pods in, patch applied with `json-patch`, result checked.

use serde_json::{Value, json};

use super::*;

mod contract;
mod restore;

/// `/mutate` on `pod`: the review's bytes decoded as the server decodes them, then screened
/// and injected.
fn mutate_pod(pod: &Value, settings: &Settings, facts: &Facts) -> Response {
    let body = serde_json::to_vec(&json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
            "uid": "u", "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "operation": "CREATE", "namespace": "app", "object": pod,
        }
    }))
    .expect("JSON");
    let request = crate::server::decode::<Pod>(&body).expect("request");
    mutate(&request, settings, facts)
}

fn facts() -> Facts {
    Facts {
        cluster_supports_native: true,
        bound: Some(BoundObject {
            pvc: Some("data".into()),
            restore: false,
        }),
        ..Facts::default()
    }
}

/// A labelled source pod with one PVC volume; `extra` is merged over it.
fn pod(extra: Value) -> Value {
    let mut pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "app", "namespace": "app",
            "labels": {"ferry.dev/inject": "true"},
            "annotations": {"ferry.dev/source": "data-to-s3"}},
        "spec": {
            "containers": [{"name": "app", "image": "busybox", "securityContext": {"runAsUser": 1000}}],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]
        }
    });
    merge(&mut pod, extra);
    pod
}

fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(base), Value::Object(patch)) => {
            for (k, v) in patch {
                if v.is_null() {
                    base.remove(&k);
                } else {
                    merge(base.entry(k).or_insert(Value::Null), v);
                }
            }
        }
        (base, patch) => *base = patch,
    }
}

/// Runs `/mutate` on `pod` and applies the patch; returns the mutated pod and the response.
fn mutated(pod: &Value, settings: &Settings, facts: &Facts) -> (Value, crate::admission::Response) {
    let response = mutate_pod(pod, settings, facts);
    let mut out = pod.clone();
    if let Some(patch) = &response.patch {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(patch.as_str())
            .expect("base64");
        let patch: json_patch::Patch = serde_json::from_slice(&bytes).expect("patch");
        json_patch::patch(&mut out, &patch).expect("patch applies");
    }
    (out, response)
}

fn sidecars(pod: &Value) -> Vec<(&'static str, usize, Value)> {
    let mut found = Vec::new();
    for list in ["initContainers", "containers"] {
        for (i, c) in pod["spec"][list]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            if c["name"] == CONTAINER {
                found.push((list, i, c.clone()));
            }
        }
    }
    found
}

fn one_sidecar(pod: &Value) -> (&'static str, usize, Value) {
    let found = sidecars(pod);
    assert_eq!(found.len(), 1, "{pod:#}");
    found.into_iter().next().expect("one")
}

#[test]
fn native_sidecar_goes_first_and_creates_init_containers() {
    // 1. No initContainers: the array is created with the sidecar.
    let (out, response) = mutated(&pod(json!({})), &Settings::default(), &facts());
    assert!(response.allowed);
    let (list, index, sidecar) = one_sidecar(&out);
    assert_eq!((list, index), ("initContainers", 0));
    assert_eq!(sidecar["restartPolicy"], "Always");
    // 2. Existing initContainers: the sidecar is put first, the others keep their order.
    let existing = pod(
        json!({"spec": {"initContainers": [{"name": "migrate", "image": "m"}, {"name": "warm", "image": "w"}]}}),
    );
    let (out, _) = mutated(&existing, &Settings::default(), &facts());
    let names: Vec<&str> = out["spec"]["initContainers"]
        .as_array()
        .expect("init")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, [CONTAINER, "migrate", "warm"]);
}

#[test]
fn regular_sidecar_is_appended_to_containers() {
    // 3. never: a regular container at the end.
    let settings = Settings {
        native: NativeMode::Never,
        ..Settings::default()
    };
    let (out, _) = mutated(&pod(json!({})), &settings, &facts());
    let (list, index, sidecar) = one_sidecar(&out);
    assert_eq!((list, index), ("containers", 1));
    assert!(sidecar.get("restartPolicy").is_none());
    // 4. auto on a cluster without native sidecars.
    let old = Facts {
        cluster_supports_native: false,
        ..facts()
    };
    let (out, _) = mutated(&pod(json!({})), &Settings::default(), &old);
    assert_eq!(one_sidecar(&out).0, "containers");
    // 5. The annotation overrides the mode, both ways.
    let forced = pod(json!({"metadata": {"annotations": {"ferry.dev/native-sidecar": "true"}}}));
    assert_eq!(
        one_sidecar(&mutated(&forced, &settings, &facts()).0).0,
        "initContainers"
    );
    let refused = pod(json!({"metadata": {"annotations": {"ferry.dev/native-sidecar": "false"}}}));
    assert_eq!(
        one_sidecar(&mutated(&refused, &Settings::default(), &facts()).0).0,
        "containers"
    );
}

#[test]
fn annotations_are_created_and_escaped_keys_survive() {
    // 6. Keys with "/" and "~" stay as they are; the injected record is added beside them.
    let tricky = pod(json!({"metadata": {"annotations": {"a/b~c": "1", "x~1y": "2"}}}));
    let (out, _) = mutated(&tricky, &Settings::default(), &facts());
    assert_eq!(out["metadata"]["annotations"]["a/b~c"], "1");
    assert_eq!(out["metadata"]["annotations"]["x~1y"], "2");
    let record: Value = serde_json::from_str(
        out["metadata"]["annotations"]["ferry.dev/injected"]
            .as_str()
            .expect("record"),
    )
    .expect("json");
    assert_eq!(record["container"], CONTAINER);
    assert_eq!(record["native"], true);
    assert_eq!(record["volumes"], json!(["ferry-scratch"]));
}

#[test]
fn unknown_fields_survive() {
    // 7. A field our types do not know, at pod, spec and container level.
    let future = pod(
        json!({"futureField": {"x": 1}, "spec": {"futureSpec": [1, 2], "containers": [{"name": "app", "image": "busybox", "futureContainer": true}]}}),
    );
    let (out, _) = mutated(&future, &Settings::default(), &facts());
    assert_eq!(out["futureField"], json!({"x": 1}));
    assert_eq!(out["spec"]["futureSpec"], json!([1, 2]));
    assert_eq!(out["spec"]["containers"][0]["futureContainer"], true);
}

#[test]
fn volumes_secrets_and_tokens() {
    // 8. No volumes array at all but an ephemeral... no: no volumes → denied.
    let none = pod(json!({"spec": {"volumes": null}}));
    let response = mutate_pod(&none, &Settings::default(), &facts());
    assert!(!response.allowed);
    assert_eq!(
        response.status.map(|s| s.message).unwrap_or_default(),
        "spec.volumes: \"\": no PersistentVolumeClaim volume to replicate: add a persistentVolumeClaim or ephemeral volume"
    );
    // 9. An ephemeral volume counts as a claim, beside a projected volume that stays untouched.
    let ephemeral = pod(json!({"spec": {"volumes": [
        {"name": "cache", "ephemeral": {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}}},
        {"name": "cfg", "projected": {"sources": [{"configMap": {"name": "c"}}]}}
    ]}}));
    let (out, response) = mutated(
        &ephemeral,
        &Settings::default(),
        &Facts {
            bound: None,
            ..facts()
        },
    );
    assert!(response.allowed);
    let (_, _, sidecar) = one_sidecar(&out);
    assert_eq!(
        sidecar["volumeMounts"],
        json!([
            {"name": "cache", "mountPath": "/ferry/volumes/cache", "readOnly": true},
            {"name": "ferry-scratch", "mountPath": "/tmp"}
        ])
    );
    assert_eq!(
        out["spec"]["volumes"][1]["projected"]["sources"][0]["configMap"]["name"],
        "c"
    );
    assert!(
        response.warnings.iter().any(|w| w
            == "ReplicationSource \"data-to-s3\" does not exist yet; the sidecar waits for it")
    );
    // 10. The bound CR's Secrets are not mounted: the sidecar reads them through the API.
    let (out, _) = mutated(&pod(json!({})), &Settings::default(), &facts());
    assert!(
        out["spec"]["volumes"]
            .as_array()
            .expect("volumes")
            .iter()
            .all(|v| v.get("secret").is_none()),
        "{:#}",
        out["spec"]["volumes"]
    );
    // 11. automount off: a projected token for the sidecar alone.
    let no_token = pod(json!({"spec": {"automountServiceAccountToken": false}}));
    let (out, _) = mutated(&no_token, &Settings::default(), &facts());
    let (_, _, sidecar) = one_sidecar(&out);
    assert!(
        sidecar["volumeMounts"]
            .as_array()
            .expect("mounts")
            .iter()
            .any(|m| m["mountPath"] == "/var/run/secrets/kubernetes.io/serviceaccount")
    );
    assert!(
        out["spec"]["volumes"]
            .as_array()
            .expect("volumes")
            .iter()
            .any(|v| v["name"] == "ferry-sa-token" && v["projected"].is_object())
    );
    assert!(
        out["spec"]["containers"][0].get("volumeMounts").is_none(),
        "the app gets no token"
    );
}

#[test]
fn the_service_account_token_is_mounted_as_service_account_admission_would() {
    // 27. ServiceAccount admission runs before webhooks: the pod already has its
    // kube-api-access volume, mounted in the app. The sidecar gets the same mount now, so the
    // plugin's reinvocation pass changes nothing and the apiserver calls the webhook once.
    let token = json!({"name": "kube-api-access-x7k2q", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}});
    let automounted = pod(json!({"spec": {
        "containers": [{"name": "app", "image": "busybox", "volumeMounts": [
            {"name": "kube-api-access-x7k2q", "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]}],
        "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}, token]}}));
    let (out, _) = mutated(&automounted, &Settings::default(), &facts());
    let (_, _, sidecar) = one_sidecar(&out);
    let mounts = sidecar["volumeMounts"].as_array().expect("mounts");
    assert_eq!(
        mounts.last(),
        Some(
            &json!({"name": "kube-api-access-x7k2q", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true})
        )
    );
    assert_eq!(
        mounts
            .iter()
            .filter(|m| m["mountPath"] == "/var/run/secrets/kubernetes.io/serviceaccount")
            .count(),
        1
    );
    assert!(
        !out["spec"]["volumes"]
            .as_array()
            .expect("volumes")
            .iter()
            .any(|v| v["name"] == "ferry-sa-token"),
        "no second token volume"
    );
    // 28. No such volume (the plugin is off, or the service account opts out): no mount.
    let (out, _) = mutated(&pod(json!({})), &Settings::default(), &facts());
    assert!(
        one_sidecar(&out).2["volumeMounts"]
            .as_array()
            .expect("mounts")
            .iter()
            .all(|m| m["mountPath"] != "/var/run/secrets/kubernetes.io/serviceaccount")
    );
    // 29. Automount off at the pod with a hand-made volume of that name: the sidecar's own
    // token, never both at one path.
    let off = pod(json!({"spec": {"automountServiceAccountToken": false,
        "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}, token]}}));
    let (out, _) = mutated(&off, &Settings::default(), &facts());
    let (_, _, sidecar) = one_sidecar(&out);
    let at_token_dir: Vec<&Value> = sidecar["volumeMounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .filter(|m| m["mountPath"] == "/var/run/secrets/kubernetes.io/serviceaccount")
        .collect();
    assert_eq!(at_token_dir.len(), 1);
    assert_eq!(at_token_dir[0]["name"], "ferry-sa-token");
}

#[test]
fn source_and_destination_mounts_ports_and_labels() {
    // 12. Source: every claim read-only; the CR's PVC is the replicated one.
    let two = pod(json!({"spec": {"volumes": [
        {"name": "logs", "persistentVolumeClaim": {"claimName": "logs"}},
        {"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]}}));
    let (out, _) = mutated(&two, &Settings::default(), &facts());
    let (_, _, sidecar) = one_sidecar(&out);
    assert!(
        sidecar["volumeMounts"]
            .as_array()
            .expect("m")
            .iter()
            .filter(|m| m["mountPath"]
                .as_str()
                .is_some_and(|p| p.starts_with("/ferry/volumes")))
            .all(|m| m["readOnly"] == true)
    );
    let env = |name: &str| {
        sidecar["env"]
            .as_array()
            .expect("env")
            .iter()
            .find(|e| e["name"] == name)
            .map(|e| e["value"].clone())
    };
    assert_eq!(env("FERRY_VOLUME"), Some(json!("data")));
    assert_eq!(env("FERRY_ROLE"), Some(json!("source")));
    assert!(sidecar.get("ports").is_none());
    // 13. Destination: read-write, the ssh port, and the label its Service selects.
    let dst = pod(
        json!({"metadata": {"annotations": {"ferry.dev/source": null, "ferry.dev/destination": "standby"}}}),
    );
    let (out, _) = mutated(&dst, &Settings::default(), &facts());
    let (_, _, sidecar) = one_sidecar(&out);
    assert_eq!(sidecar["volumeMounts"][0]["readOnly"], false);
    assert_eq!(
        sidecar["ports"],
        json!([{"name": "ssh", "containerPort": 2222, "protocol": "TCP"}])
    );
    assert_eq!(
        out["metadata"]["labels"]["ferry.dev/destination"],
        "standby"
    );
    // 14. A destination pod with no labels map at all (opted in some other way is impossible,
    // so the map exists): the existing map gains the label, the opt-in label stays.
    assert_eq!(out["metadata"]["labels"]["ferry.dev/inject"], "true");
}

#[test]
fn security_context_follows_the_app_and_the_namespace() {
    // 15. Restricted, as the app container's user.
    let (out, _) = mutated(&pod(json!({})), &Settings::default(), &facts());
    let ctx = one_sidecar(&out).2["securityContext"].clone();
    assert_eq!(
        ctx,
        json!({"runAsNonRoot": true, "runAsUser": 1000, "allowPrivilegeEscalation": false,
        "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}})
    );
    // 16. The pod's user when the container has none; the annotation over both.
    let pod_user = pod(
        json!({"spec": {"securityContext": {"runAsUser": 2000}, "containers": [{"name": "app", "image": "i"}]}}),
    );
    assert_eq!(
        one_sidecar(&mutated(&pod_user, &Settings::default(), &facts()).0).2["securityContext"]["runAsUser"],
        2000
    );
    let annotated = pod(json!({"metadata": {"annotations": {"ferry.dev/run-as-user": "3000"}}}));
    assert_eq!(
        one_sidecar(&mutated(&annotated, &Settings::default(), &facts()).0).2["securityContext"]["runAsUser"],
        3000
    );
    // 17. An app running as root: non-root fallback and a warning.
    let root_app = pod(
        json!({"spec": {"containers": [{"name": "app", "image": "i", "securityContext": {"runAsUser": 0}}]}}),
    );
    let (out, response) = mutated(&root_app, &Settings::default(), &facts());
    assert_eq!(one_sidecar(&out).2["securityContext"]["runAsUser"], 65532);
    assert!(response.warnings.iter().all(|w| w.chars().count() < 120));
    assert!(
        response
            .warnings
            .iter()
            .any(|w| w.starts_with("the app runs as root"))
    );
    // 18. The privileged-movers namespace: root with the ownership capabilities.
    let privileged = Facts {
        privileged_namespace: true,
        ..facts()
    };
    let ctx = one_sidecar(&mutated(&pod(json!({})), &Settings::default(), &privileged).0).2["securityContext"].clone();
    assert_eq!(ctx["runAsUser"], 0);
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
    // 19. Root asked for elsewhere: refused with the fix.
    let want_root = pod(json!({"metadata": {"annotations": {"ferry.dev/run-as-user": "0"}}}));
    let response = mutate_pod(&want_root, &Settings::default(), &facts());
    assert_eq!(response.status.map(|s| (s.code, s.message)), Some((403,
        "metadata.annotations[ferry.dev/run-as-user]: \"0\": root needs the namespace label ferry.dev/privileged-movers=true".to_owned())));
}

#[test]
fn denials_and_pass_throughs() {
    // 20. The annotation names a volume the pod does not have, or one that is not a claim.
    let unknown = pod(json!({"metadata": {"annotations": {"ferry.dev/volume": "nope"}}}));
    let response = mutate_pod(&unknown, &Settings::default(), &facts());
    assert_eq!(
        response.status.map(|s| s.message).unwrap_or_default(),
        "metadata.annotations[ferry.dev/volume]: \"nope\": the pod has no volume \"nope\": name one of its PVC volumes"
    );
    let not_claim = pod(
        json!({"metadata": {"annotations": {"ferry.dev/volume": "tmp"}}, "spec": {"volumes": [
        {"name": "data", "persistentVolumeClaim": {"claimName": "data"}}, {"name": "tmp", "emptyDir": {}}]}}),
    );
    let response = mutate_pod(&not_claim, &Settings::default(), &facts());
    assert_eq!(
        response.status.map(|s| s.message).unwrap_or_default(),
        "metadata.annotations[ferry.dev/volume]: \"tmp\": volume \"tmp\" is not a persistentVolumeClaim or ephemeral volume"
    );
    // 21. A destination on hostNetwork.
    let host = pod(
        json!({"metadata": {"annotations": {"ferry.dev/source": null, "ferry.dev/destination": "d"}}, "spec": {"hostNetwork": true}}),
    );
    let response = mutate_pod(&host, &Settings::default(), &facts());
    assert_eq!(
        response.status.map(|s| s.message).unwrap_or_default(),
        "spec.hostNetwork: \"true\": a destination cannot use hostNetwork: its SSH server listens on the pod IP"
    );
    // 22. Already injected: admitted unchanged.
    let (out, _) = mutated(&pod(json!({})), &Settings::default(), &facts());
    let again = mutate_pod(&out, &Settings::default(), &facts());
    assert!(again.allowed && again.patch.is_none());
    assert_eq!(sidecars(&out).len(), 1);
    // 23. Not labelled: untouched even with ferry annotations.
    let unlabelled = pod(json!({"metadata": {"labels": {"ferry.dev/inject": null}}}));
    let response = mutate_pod(&unlabelled, &Settings::default(), &facts());
    assert!(response.allowed && response.patch.is_none());
    // 24. Invalid annotations: every problem listed.
    let bad = pod(
        json!({"metadata": {"annotations": {"ferry.dev/schedule": "61 * * * *", "ferry.dev/sidecar-memory": "lots"}}}),
    );
    let response = mutate_pod(&bad, &Settings::default(), &facts());
    assert_eq!(response.status.map(|s| s.message.lines().count()), Some(2));
}

#[test]
fn resources_default_small_and_follow_annotations() {
    // 25. Defaults, then the annotations.
    let (out, _) = mutated(&pod(json!({})), &Settings::default(), &facts());
    assert_eq!(
        one_sidecar(&out).2["resources"],
        json!({"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}})
    );
    let sized = pod(
        json!({"metadata": {"annotations": {"ferry.dev/sidecar-cpu": "250m", "ferry.dev/sidecar-memory": "512Mi"}}}),
    );
    let (out, _) = mutated(&sized, &Settings::default(), &facts());
    assert_eq!(
        one_sidecar(&out).2["resources"],
        json!({"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "512Mi"}})
    );
    // 26. A request below the limit (--sidecar-memory, --sidecar-memory-limit); the
    // annotation still sets both.
    let mut settings = Settings::default();
    settings.resources.memory = "40Mi".to_owned();
    settings.resources.memory_limit = "200Mi".to_owned();
    let (out, _) = mutated(&pod(json!({})), &settings, &facts());
    assert_eq!(
        one_sidecar(&out).2["resources"],
        json!({"requests": {"cpu": "50m", "memory": "40Mi"}, "limits": {"memory": "200Mi"}})
    );
    let (out, _) = mutated(&sized, &settings, &facts());
    assert_eq!(
        one_sidecar(&out).2["resources"],
        json!({"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "512Mi"}})
    );
}

#[test]
fn exact_patch_for_a_minimal_pod() {
    // The whole patch, for the smallest pod, so nothing unintended slips in.
    let minimal = json!({"metadata": {"labels": {"ferry.dev/inject": "true"}, "annotations": {"ferry.dev/source": "s"}},
        "spec": {"containers": [{"name": "app", "image": "i"}], "volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": "c"}}]}});
    let facts = Facts {
        cluster_supports_native: true,
        bound: Some(BoundObject::default()),
        ..Facts::default()
    };
    let response = mutate_pod(&minimal, &Settings::default(), &facts);
    use base64::Engine as _;
    let patch: Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(response.patch.expect("patch").as_str())
            .expect("b64"),
    )
    .expect("json");
    let ops: Vec<(String, String)> = patch
        .as_array()
        .expect("ops")
        .iter()
        .map(|op| {
            (
                op["op"].as_str().unwrap_or_default().to_owned(),
                op["path"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        ops,
        [
            (
                "add".to_owned(),
                "/metadata/annotations/ferry.dev~1injected".to_owned()
            ),
            ("add".to_owned(), "/spec/volumes/-".to_owned()),
            ("add".to_owned(), "/spec/initContainers".to_owned()),
        ]
    );
}

#[test]
fn missing_maps_are_created_first() {
    // 26. A pod with no annotations or labels maps (the plan made elsewhere): both are created
    // before their keys are added, and the result applies cleanly.
    let annotated = pod(
        json!({"metadata": {"annotations": {"ferry.dev/source": null, "ferry.dev/destination": "d"}}}),
    );
    let annotations =
        ferry_api::validate_pod_annotations(&ferry_api::annotations::from_pod_json(&annotated))
            .0
            .expect("valid");
    let text = annotated.to_string();
    let view: Pod = serde_json::from_str(&text).expect("pod");
    let plan = plan(&view, &annotations, &Settings::default(), &facts()).expect("plan");
    let mut bare = annotated.clone();
    let meta = bare["metadata"].as_object_mut().expect("meta");
    meta.remove("annotations");
    meta.remove("labels");
    let text = bare.to_string();
    let view: Pod = serde_json::from_str(&text).expect("pod");
    let patch = build_patch(&view, &plan, &Settings::default());
    let paths: Vec<String> = patch.0.iter().map(|op| op.path.to_string()).collect();
    assert_eq!(
        &paths[..4],
        [
            "/metadata/annotations",
            "/metadata/annotations/ferry.dev~1injected",
            "/metadata/labels",
            "/metadata/labels/ferry.dev~1destination",
        ]
    );
    let patch: json_patch::Patch =
        serde_json::from_value(serde_json::to_value(&patch).expect("serialisable"))
            .expect("RFC 6902");
    json_patch::patch(&mut bare, &patch).expect("applies");
    assert_eq!(bare["metadata"]["labels"]["ferry.dev/destination"], "d");
    assert_eq!(one_sidecar(&bare).0, "initContainers");
}
