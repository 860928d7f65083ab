//! The downward API: pod fields and container resources as strings, for env vars and files.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, ObjectFieldSelector, Pod, ResourceFieldSelector};

use super::error::{Error, Result};

/// What the runner knows about a pod beyond its object: the address it gave it.
#[derive(Debug, Clone)]
pub struct PodFacts<'a> {
    /// The pod object.
    pub pod: &'a Pod,
    /// `status.podIP`, as the runner assigned it.
    pub pod_ip: String,
    /// `status.hostIP` (loopback).
    pub host_ip: String,
    /// `spec.nodeName` as bound.
    pub node_name: String,
}

/// `metadata.labels` / `metadata.annotations` as the kubelet writes them to a file:
/// `key="value"` lines, sorted by key, values quoted like Go's `%q`.
fn map_lines(map: Option<&BTreeMap<String, String>>) -> String {
    map.into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", serde_json::Value::String(v.clone())))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The value of a `fieldRef`.
pub fn field(facts: &PodFacts<'_>, selector: &ObjectFieldSelector) -> Result<String> {
    let meta = &facts.pod.metadata;
    let path = selector.field_path.as_str();
    let subscript = |prefix: &str| {
        path.strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix("['"))
            .and_then(|rest| rest.strip_suffix("']"))
    };
    let value = match path {
        "metadata.name" => meta.name.clone().unwrap_or_default(),
        "metadata.namespace" => meta.namespace.clone().unwrap_or_default(),
        "metadata.uid" => meta.uid.clone().unwrap_or_default(),
        "metadata.labels" => map_lines(meta.labels.as_ref()),
        "metadata.annotations" => map_lines(meta.annotations.as_ref()),
        "spec.nodeName" => facts.node_name.clone(),
        "spec.serviceAccountName" => facts
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.service_account_name.clone())
            .unwrap_or_default(),
        "status.podIP" | "status.podIPs" => facts.pod_ip.clone(),
        "status.hostIP" | "status.hostIPs" => facts.host_ip.clone(),
        _ => {
            if let Some(key) = subscript("metadata.labels") {
                lookup(meta.labels.as_ref(), key)
            } else if let Some(key) = subscript("metadata.annotations") {
                lookup(meta.annotations.as_ref(), key)
            } else {
                return Err(Error::Unsupported(format!("downward API fieldPath {path}")));
            }
        }
    };
    Ok(value)
}

fn lookup(map: Option<&BTreeMap<String, String>>, key: &str) -> String {
    map.and_then(|m| m.get(key)).cloned().unwrap_or_default()
}

/// The value of a `resourceFieldRef` for `container`: its limit or request divided by the
/// divisor and rounded up, as the kubelet does. A missing limit falls back to the machine's
/// size (the kubelet uses the node's allocatable).
pub fn resource(container: &Container, selector: &ResourceFieldSelector) -> Result<String> {
    let resources = container.resources.as_ref();
    let (kind, name) = selector
        .resource
        .split_once('.')
        .ok_or_else(|| Error::Unsupported(format!("resource {}", selector.resource)))?;
    let list = match kind {
        "limits" => resources.and_then(|r| r.limits.as_ref()),
        "requests" => resources.and_then(|r| r.requests.as_ref()),
        _ => {
            return Err(Error::Unsupported(format!(
                "resource {}",
                selector.resource
            )));
        }
    };
    let set = list.and_then(|l| l.get(name)).map(|q| parse_quantity(&q.0));
    let value = match set {
        Some(v) => v?,
        // An unset request reads as 0, an unset limit as the machine's size.
        None if kind == "requests" => 0.0,
        None => machine_size(name)?,
    };
    let divisor = match &selector.divisor {
        Some(q) => parse_quantity(&q.0)?,
        None => 1.0,
    };
    if divisor <= 0.0 {
        return Err(Error::Unsupported(format!(
            "divisor {:?}",
            selector.divisor.as_ref().map(|q| &q.0)
        )));
    }
    // Quantities are whole numbers of milli-units at most, so f64 holds them exactly enough;
    // the small epsilon keeps 1.0000000001 from rounding up to 2.
    let ratio = value / divisor;
    // Saturating cast: the rounded ratio is a whole, non-negative number.
    let whole = (ratio - 1e-9).ceil().max(0.0) as u64;
    Ok(whole.to_string())
}

fn machine_size(name: &str) -> Result<f64> {
    match name {
        "cpu" => Ok(std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64)),
        "memory" | "ephemeral-storage" => {
            let text = std::fs::read_to_string("/proc/meminfo")
                .map_err(|e| Error::io("reading /proc/meminfo", e))?;
            let kib = text
                .lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
                .ok_or_else(|| Error::Unsupported("MemTotal in /proc/meminfo".into()))?;
            Ok(kib * 1024.0)
        }
        _ => Err(Error::Unsupported(format!("resource limits.{name}"))),
    }
}

/// A Kubernetes quantity (`500m`, `2`, `1Gi`, `1e3`, `128M`) as a number, read by Ferry's
/// one quantity parser ([`ferry_api::rules::quantity::Quantity`]).
pub fn parse_quantity(text: &str) -> Result<f64> {
    ferry_api::rules::quantity::Quantity::parse(text.trim())
        .map(|quantity| quantity.as_f64())
        .map_err(|_| Error::Unsupported(format!("quantity {text:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "ns", "uid": "u-1",
                "labels": {"b": "2", "a": "x\"y"}, "annotations": {"k": "v"}},
            "spec": {"serviceAccountName": "sa", "containers": []}
        }))
        .unwrap()
    }

    fn field_of(path: &str) -> Result<String> {
        let pod = pod();
        let facts = PodFacts {
            pod: &pod,
            pod_ip: "127.0.3.4".into(),
            host_ip: "127.0.0.1".into(),
            node_name: "ferry-local".into(),
        };
        field(
            &facts,
            &ObjectFieldSelector {
                field_path: path.into(),
                api_version: None,
            },
        )
    }

    #[test]
    fn pod_fields() {
        assert_eq!(field_of("metadata.name").unwrap(), "p");
        assert_eq!(field_of("metadata.namespace").unwrap(), "ns");
        assert_eq!(field_of("metadata.uid").unwrap(), "u-1");
        assert_eq!(field_of("spec.serviceAccountName").unwrap(), "sa");
        assert_eq!(field_of("spec.nodeName").unwrap(), "ferry-local");
        assert_eq!(field_of("status.podIP").unwrap(), "127.0.3.4");
        assert_eq!(field_of("status.hostIP").unwrap(), "127.0.0.1");
        assert_eq!(field_of("metadata.labels['b']").unwrap(), "2");
        assert_eq!(field_of("metadata.annotations['k']").unwrap(), "v");
        assert_eq!(field_of("metadata.labels['none']").unwrap(), "");
        assert_eq!(
            field_of("metadata.labels").unwrap(),
            "a=\"x\\\"y\"\nb=\"2\""
        );
        assert!(matches!(
            field_of("spec.hostname"),
            Err(Error::Unsupported(_))
        ));
    }

    fn resource_of(resources: serde_json::Value, resource: &str, divisor: Option<&str>) -> String {
        let container: Container =
            serde_json::from_value(json!({"name": "c", "resources": resources})).unwrap();
        let selector: ResourceFieldSelector =
            serde_json::from_value(json!({"resource": resource, "divisor": divisor})).unwrap();
        super::resource(&container, &selector).unwrap()
    }

    #[test]
    fn container_resources() {
        let r = json!({"limits": {"cpu": "1500m", "memory": "64Mi"}, "requests": {"cpu": "250m"}});
        assert_eq!(resource_of(r.clone(), "limits.cpu", None), "2");
        assert_eq!(resource_of(r.clone(), "limits.cpu", Some("1m")), "1500");
        assert_eq!(resource_of(r.clone(), "requests.cpu", Some("1m")), "250");
        assert_eq!(resource_of(r.clone(), "limits.memory", Some("1Mi")), "64");
        assert_eq!(resource_of(r.clone(), "limits.memory", None), "67108864");
        assert_eq!(resource_of(r, "requests.memory", None), "0");
        let cpus = resource_of(json!({}), "limits.cpu", None);
        assert!(cpus.parse::<u32>().unwrap() >= 1);
    }

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("500m").unwrap(), 0.5);
        assert_eq!(parse_quantity("2").unwrap(), 2.0);
        assert_eq!(parse_quantity("1Ki").unwrap(), 1024.0);
        assert_eq!(parse_quantity("1e3").unwrap(), 1000.0);
        assert_eq!(parse_quantity("3G").unwrap(), 3e9);
        assert!(parse_quantity("3X").is_err());
    }
}
