//! The manifests of `examples/`, for tests that apply them to the real apiserver.

use serde_json::Value;

use crate::cluster::repo_root;

/// Every YAML document under `examples/`, with the file it came from, without its
/// `metadata.namespace` (the ported VolSync manifests name theirs; each test uses its own).
pub fn all() -> anyhow::Result<Vec<(String, Value)>> {
    let mut out = Vec::new();
    let mut dirs = vec![repo_root().join("examples")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                let text = std::fs::read_to_string(&path)?;
                for mut value in serde_saphyr::from_multiple::<Value>(&text)? {
                    if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
                        meta.remove("namespace");
                    }
                    if !value.is_null() {
                        out.push((path.display().to_string(), value));
                    }
                }
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// The image the node runs app containers from: the examples name public images (busybox,
/// nginx), and the test node has no registry to pull them from.
pub const NODE_APP_IMAGE: &str = "ferry.local/test-app:1";
/// What an app container without a command runs instead of its image's own (the node's app
/// image is busybox): it waits, and ends at once on SIGTERM.
pub const NODE_APP_COMMAND: [&str; 3] =
    ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"];

/// Makes the app containers of every pod spec in `value` (a Pod, a workload's template, a
/// List) runnable on the test node: the node's app image, never pulled, and
/// [`NODE_APP_COMMAND`] where the container has no command (`sleep infinity` stays: busybox
/// knows it). Ferry's own containers (`ferry-sidecar`) are left alone. Nothing else changes.
pub fn for_node(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(containers)) = map.get_mut("containers") {
                for c in containers.iter_mut() {
                    if c["name"] == "ferry-sidecar" {
                        continue;
                    }
                    c["image"] = Value::from(NODE_APP_IMAGE);
                    c["imagePullPolicy"] = Value::from("Never");
                    if c.get("command").is_none() {
                        c["command"] = Value::from(NODE_APP_COMMAND.to_vec());
                    }
                }
            }
            for v in map.values_mut() {
                for_node(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(for_node),
        _ => {}
    }
}

/// YAML `text` (one or more documents) with [`for_node`] applied, as one JSON document (a
/// `List` when there are several), which kubectl reads as YAML.
pub fn text_for_node(text: &str) -> anyhow::Result<String> {
    let mut docs: Vec<Value> = serde_saphyr::from_multiple::<Value>(text)?
        .into_iter()
        .filter(|v| !v.is_null())
        .collect();
    docs.iter_mut().for_each(for_node);
    let value = if docs.len() == 1 {
        docs.remove(0)
    } else {
        serde_json::json!({"apiVersion": "v1", "kind": "List", "items": docs})
    };
    Ok(serde_json::to_string_pretty(&value)?)
}

/// Writes a copy of `examples/` into `dir` with every YAML file through [`text_for_node`]
/// (other files as they are), for tests that run the guides' `kubectl apply -f examples/...`
/// on the node.
pub fn copy_for_node(dir: &std::path::Path) -> anyhow::Result<()> {
    copy_tree(&repo_root().join("examples"), dir)
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let path = entry?.path();
        let target = to.join(path.file_name().unwrap_or_default());
        if path.is_dir() {
            copy_tree(&path, &target)?;
        } else if path.extension().is_some_and(|e| e == "yaml") {
            std::fs::write(&target, text_for_node(&std::fs::read_to_string(&path)?)?)?;
        } else {
            std::fs::copy(&path, &target)?;
        }
    }
    Ok(())
}
