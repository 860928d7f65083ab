//! RFC 6902 `add` operations for a pod: a missing array or map is created first, and
//! every path is built from tokens by [`pointer`], which escapes `/` and `~` in keys.
//!
//! The operations are our own serialisable type rather than `json_patch`'s, whose values are
//! `serde_json::Value`s: the sidecar container goes into the patch as the typed `Container`
//! and is written once, straight to the patch's bytes. Turning it into a `Value` first was
//! the largest single cost of `/mutate` in `make bench-webhook`'s profile.

use ferry_api::annotations::Binding;
use ferry_api::annotations::{DESTINATION_LABEL, INJECTED};
use k8s_openapi::api::core::v1::Container;
use serde::Serialize;
use serde_json::{Value, json};

use super::container::{self, CONTAINER};
use super::plan::Plan;
use super::pod::Pod;
use super::settings::Settings;

/// One RFC 6902 `add` operation.
#[derive(Debug, Clone, Serialize)]
pub struct Add {
    op: Op,
    /// Where the value goes, an RFC 6901 pointer.
    pub path: String,
    /// What is added.
    pub value: Item,
}

/// The only operation the injection uses: it never removes or replaces what the pod has.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
enum Op {
    Add,
}

/// A value in the patch: plain JSON, or a container written as its typed self.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Item {
    /// Maps, strings and volumes.
    Json(Value),
    /// One container.
    Container(Box<Container>),
    /// A new array of containers (the pod had none of that list).
    Containers(Vec<Container>),
}

/// The injection patch: `add` operations in order.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(transparent)]
pub struct Patch(pub Vec<Add>);

impl Patch {
    /// True when there is nothing to add.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// An RFC 6901 pointer from unescaped tokens: `~` becomes `~0` and `/` becomes `~1`. Tokens
/// with neither (all but the annotation and label keys) are copied as they are, without the
/// two passes of replacing that cost `/mutate` more than the plan itself.
fn pointer(tokens: &[&str]) -> String {
    let mut out = String::with_capacity(tokens.iter().map(|t| t.len() + 3).sum());
    for token in tokens {
        out.push('/');
        if token.contains(['~', '/']) {
            out.push_str(&token.replace('~', "~0").replace('/', "~1"));
        } else {
            out.push_str(token);
        }
    }
    out
}

fn add(tokens: &[&str], value: Item) -> Add {
    Add {
        op: Op::Add,
        path: pointer(tokens),
        value,
    }
}

/// Adds `key: value` to the map at `map` (e.g. `["metadata", "annotations"]`), creating the
/// map first when the pod has none (`exists`).
fn add_to_map(exists: bool, ops: &mut Vec<Add>, map: &[&str], key: &str, value: Value) {
    if !exists {
        ops.push(add(map, Item::Json(json!({}))));
    }
    let mut path = map.to_vec();
    path.push(key);
    ops.push(add(&path, Item::Json(value)));
}

/// Appends `items` to the array at `array`, creating it when the pod has none (`exists`;
/// `whole` makes the new array's value). With `first`, the items go to the front instead (the
/// native sidecar must start before other init containers).
fn add_to_array<T>(
    exists: bool,
    ops: &mut Vec<Add>,
    array: &[&str],
    items: Vec<T>,
    first: bool,
    one: fn(T) -> Item,
    whole: fn(Vec<T>) -> Item,
) {
    if items.is_empty() {
        return;
    }
    if !exists {
        ops.push(add(array, whole(items)));
        return;
    }
    for (i, item) in items.into_iter().enumerate() {
        let index = if first { i.to_string() } else { "-".to_owned() };
        let mut path = array.to_vec();
        path.push(&index);
        ops.push(add(&path, one(item)));
    }
}

/// Appends containers to `array` (see [`add_to_array`]).
fn add_containers(
    exists: bool,
    ops: &mut Vec<Add>,
    array: &[&str],
    containers: Vec<Container>,
    first: bool,
) {
    add_to_array(
        exists,
        ops,
        array,
        containers,
        first,
        |c| Item::Container(Box::new(c)),
        Item::Containers,
    );
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

/// The webhook version in a pod's `ferry.dev/injected` record, as [`record`] writes it;
/// `None` when the record is not JSON or names no version. The leader compares it with its
/// own to count outdated sidecars.
pub fn recorded_version(record: &str) -> Option<String> {
    serde_json::from_str::<Value>(record)
        .ok()?
        .get("version")?
        .as_str()
        .map(str::to_owned)
}

/// The patch that injects `plan` into `pod`, with the image and pull policy of `settings`.
pub fn build(pod: &Pod<'_>, plan: &Plan, settings: &Settings) -> Patch {
    let mut ops = Vec::new();
    add_to_map(
        pod.metadata.annotations.is_some(),
        &mut ops,
        &["metadata", "annotations"],
        INJECTED,
        json!(record(plan)),
    );
    if let Binding::Destination(name) = &plan.binding {
        add_to_map(
            pod.metadata.labels.is_some(),
            &mut ops,
            &["metadata", "labels"],
            DESTINATION_LABEL,
            json!(name),
        );
    }
    add_to_array(
        pod.spec.volumes.is_some(),
        &mut ops,
        &["spec", "volumes"],
        container::volumes(plan),
        false,
        Item::Json,
        |items| Item::Json(Value::Array(items)),
    );
    let sidecar = container::container(plan, settings);
    if plan.native {
        add_containers(
            pod.spec.init_containers.is_some(),
            &mut ops,
            &["spec", "initContainers"],
            vec![sidecar],
            true,
        );
    } else {
        // The restore step, when there is one, runs before the app's init containers.
        let restore: Vec<Container> = container::restore_container(plan, settings)
            .into_iter()
            .collect();
        add_containers(
            pod.spec.init_containers.is_some(),
            &mut ops,
            &["spec", "initContainers"],
            restore,
            true,
        );
        add_containers(
            pod.spec.containers.is_some(),
            &mut ops,
            &["spec", "containers"],
            vec![sidecar],
            false,
        );
    }
    Patch(ops)
}

#[cfg(test)]
mod tests {
    use super::pointer;

    #[test]
    fn pointers_escape_tilde_then_slash() {
        assert_eq!(pointer(&["spec", "volumes", "-"]), "/spec/volumes/-");
        assert_eq!(
            pointer(&["metadata", "annotations", "ferry.dev/injected"]),
            "/metadata/annotations/ferry.dev~1injected"
        );
        // `~1` in a key must stay a literal `~1`, not become a `/`.
        assert_eq!(pointer(&["a~1/b"]), "/a~01~1b");
        assert_eq!(pointer(&[]), "");
    }
}
