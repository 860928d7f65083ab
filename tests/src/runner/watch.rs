//! The watch loop: every pod event decides whether a pod's task starts, is told to stop, or
//! nothing happens.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{info, warn};

use super::Context;
use super::error::{Error, Result};
use super::pod::{self, Signal};
use super::select;
use super::status;

/// The grace period when a pod sets none (the API's default).
const DEFAULT_GRACE: Duration = Duration::from_secs(30);

struct Loop {
    ctx: Arc<Context>,
    /// The tasks of the pods that run, by UID.
    running: HashMap<String, watch::Sender<Signal>>,
    /// Every UID this runner has started: a pod runs at most once per runner.
    started: HashSet<String>,
    /// UIDs whose deletion this runner is finishing (once each).
    finishing: HashSet<String>,
    tasks: JoinSet<String>,
    /// UIDs listed since the last (re)list started.
    listed: Option<HashSet<String>>,
    ready: bool,
}

/// Watches every pod and runs the selected ones until `shutdown` completes; then stops their
/// processes (leaving the pods as they are) and returns.
pub async fn run(ctx: Arc<Context>, shutdown: impl Future<Output = ()>) -> Result<()> {
    let pods: Api<Pod> = Api::all(ctx.client.clone());
    let mut events = std::pin::pin!(watcher(pods, watcher::Config::default()).default_backoff());
    let mut shutdown = std::pin::pin!(shutdown);
    let mut state = Loop {
        ctx: ctx.clone(),
        running: HashMap::new(),
        started: HashSet::new(),
        finishing: HashSet::new(),
        tasks: JoinSet::new(),
        listed: None,
        ready: false,
    };
    info!(node = %ctx.settings.node_name, "watching pods");
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(done) = state.tasks.join_next() => {
                if let Ok(uid) = done {
                    state.running.remove(&uid);
                }
            }
            event = events.next() => match event {
                Some(Ok(event)) => state.on_event(event)?,
                Some(Err(err)) => warn!(%err, "watching pods (retrying)"),
                None => return Err(Error::Config("the pod watch ended".into())),
            },
        }
    }
    info!(pods = state.running.len(), "stopping");
    for tx in state.running.values() {
        tx.send_replace(Signal::Shutdown);
    }
    let drain = async { while state.tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(ctx.settings.shutdown_grace + Duration::from_secs(2), drain)
        .await
        .is_err()
    {
        warn!("some pod tasks did not stop in time");
    }
    Ok(())
}

impl Loop {
    fn on_event(&mut self, event: watcher::Event<Pod>) -> Result<()> {
        match event {
            watcher::Event::Init => self.listed = Some(HashSet::new()),
            watcher::Event::InitApply(pod) => {
                if let (Some(listed), Some(uid)) = (&mut self.listed, &pod.metadata.uid) {
                    listed.insert(uid.clone());
                }
                self.on_pod(pod);
            }
            watcher::Event::InitDone => {
                // Pods that vanished while the watch was down.
                if let Some(listed) = self.listed.take() {
                    for (uid, tx) in &self.running {
                        if !listed.contains(uid) {
                            tx.send_replace(Signal::Gone);
                        }
                    }
                }
                if !self.ready {
                    self.ready = true;
                    if let Some(file) = &self.ctx.settings.ready_file {
                        std::fs::write(file, b"ready\n")
                            .map_err(|e| Error::io(format!("writing {}", file.display()), e))?;
                    }
                    info!("initial list done; ready");
                }
            }
            watcher::Event::Apply(pod) => self.on_pod(pod),
            watcher::Event::Delete(pod) => {
                if let Some(tx) = pod.metadata.uid.as_ref().and_then(|u| self.running.get(u)) {
                    tx.send_replace(Signal::Gone);
                }
            }
        }
        Ok(())
    }

    fn on_pod(&mut self, pod: Pod) {
        let Some(uid) = pod.metadata.uid.clone() else {
            return;
        };
        let deleting = pod.metadata.deletion_timestamp.is_some();
        if let Some(tx) = self.running.get(&uid) {
            if deleting {
                let grace = grace(&pod);
                tx.send_if_modified(|s| {
                    let changed = *s == Signal::Run;
                    if changed {
                        *s = Signal::Delete { grace };
                    }
                    changed
                });
            }
            return;
        }
        let Some(plan) = select::plan(&pod) else {
            return;
        };
        let node = &self.ctx.settings.node_name;
        let bound = select::node_name(&pod);
        if bound.is_some_and(|n| n != node) {
            return;
        }
        if deleting {
            // Being deleted with nothing running here (the runner was restarted, or the pod's
            // containers already ended): finish the deletion a kubelet would finish.
            if bound.is_some() && self.finishing.insert(uid.clone()) {
                let pods: Api<Pod> = Api::namespaced(
                    self.ctx.client.clone(),
                    pod.metadata.namespace.as_deref().unwrap_or("default"),
                );
                let name = pod.metadata.name.clone().unwrap_or_default();
                self.started.insert(uid.clone());
                self.tasks.spawn(async move {
                    if let Err(err) = status::delete_now(&pods, &name, &uid).await {
                        warn!(pod = %name, %err, "finishing the deletion failed");
                    }
                    uid
                });
            }
            return;
        }
        if select::is_terminal(&pod) || !self.started.insert(uid.clone()) {
            return;
        }
        let (tx, rx) = watch::channel(Signal::Run);
        self.running.insert(uid, tx);
        self.tasks.spawn(pod::run(self.ctx.clone(), pod, plan, rx));
    }
}

/// The pod's grace period for this deletion.
fn grace(pod: &Pod) -> Duration {
    pod.metadata
        .deletion_grace_period_seconds
        .or_else(|| {
            pod.spec
                .as_ref()
                .and_then(|s| s.termination_grace_period_seconds)
        })
        .and_then(|s| u64::try_from(s).ok())
        .map_or(DEFAULT_GRACE, Duration::from_secs)
}
