//! A fresh namespace per test, so tests run in any order and in parallel.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::cluster::Cluster;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A namespace made for one test. Deleted when the test passes; kept, with the component
/// logs and the namespace's events printed, when it fails, so the failure can be inspected.
#[derive(Debug)]
pub struct TestNamespace {
    /// The namespace's name.
    pub name: String,
    cluster: &'static Cluster,
}

impl TestNamespace {
    /// Creates `ferry-<prefix>-<pid>-<n>` with the given labels.
    pub fn create(
        cluster: &'static Cluster,
        prefix: &str,
        labels: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("ferry-{prefix}-{}-{n}", std::process::id());
        cluster
            .kubectl(["create", "namespace", name.as_str()])?
            .ok()?;
        if !labels.is_empty() {
            let mut args = vec!["label".to_owned(), "namespace".to_owned(), name.clone()];
            args.extend(labels.iter().map(|(k, v)| format!("{k}={v}")));
            cluster.kubectl(&args)?.ok()?;
        }
        Ok(Self { name, cluster })
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let events = self
                .cluster
                .kubectl(["get", "events", "-n", self.name.as_str()])
                .map(|o| o.stdout)
                .unwrap_or_default();
            eprintln!(
                "test failed; namespace {} kept\nevents:\n{events}\n{}",
                self.name,
                self.cluster.log_tails(40)
            );
        } else {
            let _ =
                self.cluster
                    .kubectl(["delete", "namespace", self.name.as_str(), "--wait=false"]);
        }
    }
}
