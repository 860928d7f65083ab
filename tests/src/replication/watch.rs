//! Every version of the temporary objects of a CR's syncs, recorded from watches, so a test
//! can assert on objects that live only for the seconds of a sync (the snapshot that became
//! ready, the PVC made from it, the mover pod that ran) after they are gone.

use std::sync::{Arc, Mutex, PoisonError};

use futures::StreamExt;
use kube::Api;
use kube::api::DynamicObject;
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::watcher;
use serde_json::Value;
use tokio::task::JoinHandle;

use super::TEMPORARY_LABEL;

/// The kinds of temporary objects: (group, version, kind).
const KINDS: [(&str, &str, &str); 3] = [
    ("snapshot.storage.k8s.io", "v1", "VolumeSnapshot"),
    ("", "v1", "PersistentVolumeClaim"),
    ("", "v1", "Pod"),
];

/// Records every version of the objects labelled [`TEMPORARY_LABEL`]`=<uid>` in a namespace
/// until dropped.
pub struct TemporaryLog {
    seen: Arc<Mutex<Vec<Value>>>,
    tasks: Vec<JoinHandle<()>>,
}

impl TemporaryLog {
    /// Starts watching the temporary objects of the CR with `uid` in `ns`.
    pub fn start(client: &kube::Client, ns: &str, uid: &str) -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let config = watcher::Config::default().labels(&format!("{TEMPORARY_LABEL}={uid}"));
        let tasks = KINDS
            .iter()
            .map(|(group, version, kind)| {
                let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
                let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &resource);
                let seen = Arc::clone(&seen);
                let config = config.clone();
                let kind = (*kind).to_owned();
                tokio::spawn(async move {
                    let mut stream = std::pin::pin!(watcher::watcher(api, config));
                    while let Some(event) = stream.next().await {
                        let object = match event {
                            Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => o,
                            _ => continue,
                        };
                        if let Ok(mut value) = serde_json::to_value(&object) {
                            value["kind"] = Value::String(kind.clone());
                            seen.lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .push(value);
                        }
                    }
                })
            })
            .collect();
        Self { seen, tasks }
    }

    /// Every recorded version of objects of `kind`, oldest first.
    pub fn versions(&self, kind: &str) -> Vec<Value> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|v| v["kind"] == kind)
            .cloned()
            .collect()
    }

    /// A one-line-per-version summary, for messages.
    pub fn summary(&self) -> String {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|v| {
                format!(
                    "{}/{} phase={} ready={}",
                    v["kind"].as_str().unwrap_or_default(),
                    v["metadata"]["name"].as_str().unwrap_or_default(),
                    v["status"]["phase"],
                    v["status"]["readyToUse"]
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for TemporaryLog {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
