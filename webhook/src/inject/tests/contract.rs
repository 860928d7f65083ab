//! The contract's round trip: the sidecar container the webhook injects, its downward-API
//! fields resolved as the kubelet would, read back by the agent's own environment reader.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use ferry_agent::env::{Identity, Role};
use ferry_api::contract::{VOLUMES_DIR, env};
use serde_json::{Value, json};

use super::{facts, mutated, one_sidecar, pod};
use crate::inject::Settings;

/// The value the kubelet gives a `fieldRef`.
fn downward(path: &str) -> &'static str {
    match path {
        "metadata.name" => "app",
        "metadata.namespace" => "app",
        "metadata.uid" => "uid-1",
        "status.podIP" => "10.0.0.7",
        "spec.serviceAccountName" => "backup",
        other => panic!("the sidecar asks for an unexpected field {other}"),
    }
}

#[test]
fn the_injected_environment_is_what_the_sidecar_reads() {
    let annotated = pod(json!({"metadata": {"annotations": {
        "ferry.dev/schedule": "*/5 * * * *", "ferry.dev/time-zone": "Europe/Berlin",
        "ferry.dev/restore-on-empty": "2026-12-07-101500",
        "ferry.dev/restore-on-failure": "StartEmpty"}}}));
    let (out, _) = mutated(&annotated, &Settings::default(), &facts());
    let (_, _, sidecar) = one_sidecar(&out);
    let vars: HashMap<String, String> = sidecar["env"]
        .as_array()
        .expect("env")
        .iter()
        .map(|var| {
            let value = match var.get("value").and_then(Value::as_str) {
                Some(value) => value.to_owned(),
                None => downward(
                    var["valueFrom"]["fieldRef"]["fieldPath"]
                        .as_str()
                        .expect("fieldRef"),
                )
                .to_owned(),
            };
            (var["name"].as_str().expect("name").to_owned(), value)
        })
        .collect();
    for name in vars.keys() {
        assert!(
            env::ALL.contains(&name.as_str()),
            "{name} is set but not part of the contract"
        );
    }
    let who = Identity::from_vars(|name| vars.get(name).cloned()).expect("the sidecar reads it");
    assert_eq!(who.role, Role::Source);
    assert_eq!(who.object, "data-to-s3");
    assert_eq!(
        (
            who.pod_name.as_str(),
            who.namespace.as_str(),
            who.pod_uid.as_str()
        ),
        ("app", "app", "uid-1")
    );
    assert_eq!(who.pod_ip, Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7))));
    assert_eq!(who.service_account, "backup");
    assert_eq!(who.volume, "data");
    assert_eq!(
        who.volume_path,
        PathBuf::from(format!("{VOLUMES_DIR}/data"))
    );
    assert_eq!(who.schedule.as_deref(), Some("*/5 * * * *"));
    assert_eq!(who.time_zone.as_deref(), Some("Europe/Berlin"));
    assert_eq!(
        who.restore,
        Some(ferry_agent::env::RestoreAsk {
            copy: Some("2026-12-07-101500".to_owned()),
            on_failure: Some(ferry_api::types::RestoreFailurePolicy::StartEmpty),
        })
    );
    // The volume path the sidecar reads is where the webhook mounted the volume.
    let mounted = sidecar["volumeMounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .any(|m| {
            m["name"] == "data" && m["mountPath"] == who.volume_path.to_string_lossy().as_ref()
        });
    assert!(mounted, "{sidecar:#}");
}
