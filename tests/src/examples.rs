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
