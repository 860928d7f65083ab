//! RFC 6902 `add` operations from the raw pod: a missing array or map is created first, and
//! every path is built from tokens so `/` and `~` in keys are escaped by the pointer type.

use ferry_api::annotations::Binding;
use ferry_api::annotations::{DESTINATION_LABEL, INJECTED};
use json_patch::jsonptr::PointerBuf;
use json_patch::{AddOperation, Patch, PatchOperation};
use serde_json::{Value, json};

use super::container::{self, CONTAINER};
use super::plan::Plan;
use super::settings::Settings;

fn add(tokens: &[&str], value: Value) -> PatchOperation {
    PatchOperation::Add(AddOperation {
        path: PointerBuf::from_tokens(tokens.iter().copied()),
        value,
    })
}

/// Adds `key: value` to the map at `map` (e.g. `["metadata", "annotations"]`), creating the
/// map when the pod has none.
fn add_to_map(pod: &Value, ops: &mut Vec<PatchOperation>, map: &[&str], key: &str, value: Value) {
    let pointer = PointerBuf::from_tokens(map.iter().copied());
    if !pod.pointer(pointer.as_str()).is_some_and(Value::is_object) {
        ops.push(add(map, json!({})));
    }
    let mut path = map.to_vec();
    path.push(key);
    ops.push(add(&path, value));
}

/// Appends `items` to the array at `array`, creating it when missing. With `first`, the
/// items go to the front instead (the native sidecar must start before other init containers).
fn add_to_array(
    pod: &Value,
    ops: &mut Vec<PatchOperation>,
    array: &[&str],
    items: Vec<Value>,
    first: bool,
) {
    if items.is_empty() {
        return;
    }
    let pointer = PointerBuf::from_tokens(array.iter().copied());
    if !pod.pointer(pointer.as_str()).is_some_and(Value::is_array) {
        ops.push(add(array, Value::Array(items)));
        return;
    }
    for (i, item) in items.into_iter().enumerate() {
        let index = if first { i.to_string() } else { "-".to_owned() };
        let mut path = array.to_vec();
        path.push(&index);
        ops.push(add(&path, item));
    }
}

/// The record written to `ferry.dev/injected`: version and what was added.
fn record(plan: &Plan) -> String {
    let mut record = json!({
        "version": env!("CARGO_PKG_VERSION"),
        "container": CONTAINER,
        "native": plan.native,
        "volumes": container::volumes(plan).iter().filter_map(|v| v.get("name").cloned()).collect::<Vec<_>>(),
    });
    if plan.restore.is_some() {
        // How the app waits for the restore step: the sidecar's probe or an init container.
        record["restore"] = json!(if plan.native {
            "startupProbe"
        } else {
            ferry_api::contract::restore::INIT_CONTAINER
        });
    }
    record.to_string()
}

/// The patch that injects `plan` into `pod`, with the image and pull policy of `settings`.
pub fn build(pod: &Value, plan: &Plan, settings: &Settings) -> Patch {
    let mut ops = Vec::new();
    add_to_map(
        pod,
        &mut ops,
        &["metadata", "annotations"],
        INJECTED,
        json!(record(plan)),
    );
    if let Binding::Destination(name) = &plan.binding {
        add_to_map(
            pod,
            &mut ops,
            &["metadata", "labels"],
            DESTINATION_LABEL,
            json!(name),
        );
    }
    add_to_array(
        pod,
        &mut ops,
        &["spec", "volumes"],
        container::volumes(plan),
        false,
    );
    let sidecar = container::container(plan, settings);
    if plan.native {
        add_to_array(
            pod,
            &mut ops,
            &["spec", "initContainers"],
            vec![sidecar],
            true,
        );
    } else {
        // The restore step, when there is one, runs before the app's init containers.
        let restore: Vec<Value> = container::restore_container(plan, settings)
            .into_iter()
            .collect();
        add_to_array(pod, &mut ops, &["spec", "initContainers"], restore, true);
        add_to_array(pod, &mut ops, &["spec", "containers"], vec![sidecar], false);
    }
    Patch(ops)
}
