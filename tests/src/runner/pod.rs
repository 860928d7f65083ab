//! One pod's life on the runner: bind it, give it an address, make its volumes and
//! environment, run its containers, report each step, and stop it when it is deleted.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use tokio::sync::watch;
use tracing::{info, warn};

use super::Context;
use super::container::{self, Started, Stopper};
use super::downward::PodFacts;
use super::error::{Error, Result};
use super::files;
use super::launch::{self, Ready};
use super::select::{self, Plan};
use super::status::{self, ContainerReport, Report, State};

/// What the watch loop tells a pod's task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Keep running.
    Run,
    /// The pod is being deleted: stop within `grace`, then delete it for good.
    Delete {
        /// The pod's grace period.
        grace: Duration,
    },
    /// The pod object is gone: stop now.
    Gone,
    /// The runner is stopping: stop the processes, leave the pod as it is.
    Shutdown,
}

/// How long to wait between attempts while a volume or a referenced object is not there.
const RETRY: Duration = Duration::from_secs(1);
/// The address pods see as their node's.
const HOST_IP: &str = "127.0.0.1";

/// Runs `pod` until it ends or is deleted; returns its UID.
pub async fn run(
    ctx: Arc<Context>,
    pod: Pod,
    plan: Plan,
    signals: watch::Receiver<Signal>,
) -> String {
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let mut life = Life {
        pods: Api::namespaced(ctx.client.clone(), &ns),
        dir: ctx
            .settings
            .work_dir
            .join("pods")
            .join(format!("{ns}_{name}_{uid}")),
        what: format!("pod {ns}/{name}"),
        ctx: ctx.clone(),
        signals,
        name,
        uid: uid.clone(),
    };
    if let Err(err) = life.run(pod, plan).await {
        warn!(pod = %life.what, %err, "running the pod failed");
    }
    ctx.addresses().release(&uid);
    uid
}

struct Life {
    ctx: Arc<Context>,
    pods: Api<Pod>,
    signals: watch::Receiver<Signal>,
    dir: PathBuf,
    what: String,
    name: String,
    uid: String,
}

/// How a group of containers ended.
enum Outcome {
    /// Every process exited by itself.
    Exited(Vec<ContainerReport>),
    /// The pod was deleted or the runner is stopping; the processes were stopped.
    Stopped,
    /// A process could not be started; those already started were stopped.
    NotStarted(Error),
}

fn waiting(plan: &Plan, reason: &str) -> Vec<ContainerReport> {
    plan.before
        .iter()
        .chain(&plan.together)
        .map(|s| {
            container::report(
                s,
                State::Waiting {
                    reason: reason.into(),
                },
            )
        })
        .collect()
}

impl Life {
    async fn run(&mut self, pod: Pod, plan: Plan) -> Result<()> {
        let node = self.ctx.settings.node_name.clone();
        if select::node_name(&pod).is_none() {
            status::bind(&self.pods, &pod, &node).await?;
            info!(pod = %self.what, %node, "bound");
        }
        let preferred = pod
            .status
            .as_ref()
            .and_then(|s| s.pod_ip.as_deref())
            .and_then(|ip| ip.parse::<Ipv4Addr>().ok());
        let ip = self.ctx.addresses().assign(&self.uid, preferred)?;
        files::make_dir(&self.dir, 0o700)?;
        let facts = PodFacts {
            pod: &pod,
            pod_ip: ip.to_string(),
            host_ip: HOST_IP.to_owned(),
            node_name: node,
        };
        let mut report = Report {
            phase: "Pending",
            pod_ip: facts.pod_ip.clone(),
            host_ip: HOST_IP.to_owned(),
            start_time: Timestamp::now(),
            reason: None,
            message: None,
            containers: waiting(&plan, "ContainerCreating"),
        };
        status::write(&self.pods, &self.name, &report).await?;
        let Some((before, together)) = self.prepare(&facts, &plan, &mut report).await? else {
            return Ok(());
        };

        let mut done: Vec<ContainerReport> = Vec::new();
        for ready in before {
            let ended = match self
                .run_group(vec![ready], &mut report, &done, &together)
                .await?
            {
                Outcome::Exited(ended) => ended,
                Outcome::Stopped => return self.stopped().await,
                Outcome::NotStarted(err) => return self.fail(report, done, &err).await,
            };
            let failed = ended.iter().any(|c| exit_code(c) != Some(0));
            done.extend(ended);
            if failed {
                return self.finish(report, done, "Failed").await;
            }
        }
        report.phase = "Running";
        let ended = match self.run_group(together, &mut report, &done, &[]).await? {
            Outcome::Exited(ended) => ended,
            Outcome::Stopped => return self.stopped().await,
            Outcome::NotStarted(err) => return self.fail(report, done, &err).await,
        };
        let phase = if ended.iter().all(|c| exit_code(c) == Some(0)) {
            "Succeeded"
        } else {
            "Failed"
        };
        done.extend(ended);
        self.finish(report, done, phase).await
    }

    /// Prepares the launches, retrying while something is missing (the reason shows in the
    /// pod's status message). `None` when the pod was stopped meanwhile or cannot run (then it
    /// is marked Failed).
    async fn prepare(
        &mut self,
        facts: &PodFacts<'_>,
        plan: &Plan,
        report: &mut Report,
    ) -> Result<Option<(Vec<Ready>, Vec<Ready>)>> {
        loop {
            match launch::prepare(&self.ctx, facts, plan, &self.dir).await {
                Ok(ready) => {
                    report.message = None;
                    return Ok(Some(ready));
                }
                Err(err) if err.is_retryable() => {
                    let message = err.to_string();
                    if report.message.as_deref() != Some(message.as_str()) {
                        info!(pod = %self.what, %message, "waiting");
                        report.message = Some(message);
                        status::write(&self.pods, &self.name, report).await?;
                    }
                    if !self.sleep(RETRY).await {
                        self.stopped().await?;
                        return Ok(None);
                    }
                }
                Err(err) => {
                    self.fail(report.clone(), report.containers.clone(), &err)
                        .await?;
                    return Ok(None);
                }
            }
        }
    }

    /// Starts `group` together, reports them running, and waits for them to end.
    async fn run_group(
        &mut self,
        group: Vec<Ready>,
        report: &mut Report,
        done: &[ContainerReport],
        later: &[Ready],
    ) -> Result<Outcome> {
        let mut started = Vec::new();
        for (selected, launch) in group {
            match container::start(selected, &launch, &self.dir, &self.what) {
                Ok(s) => started.push(s),
                Err(err) => {
                    for s in &started {
                        s.stopper().stop(Duration::ZERO);
                    }
                    futures::future::join_all(started.into_iter().map(Started::finish)).await;
                    return Ok(Outcome::NotStarted(err));
                }
            }
        }
        report.containers = self.current(done, &started, later);
        status::write(&self.pods, &self.name, report).await?;
        info!(pod = %self.what, ip = %report.pod_ip, phase = report.phase, "started");
        Ok(match self.wait(started).await {
            Some(ended) => Outcome::Exited(ended),
            None => Outcome::Stopped,
        })
    }

    /// The container reports: ended, running, then not yet started.
    fn current(
        &self,
        done: &[ContainerReport],
        started: &[Started],
        later: &[Ready],
    ) -> Vec<ContainerReport> {
        done.iter()
            .cloned()
            .chain(started.iter().map(Started::running))
            .chain(later.iter().map(|(s, _)| {
                container::report(
                    s,
                    State::Waiting {
                        reason: "PodInitializing".into(),
                    },
                )
            }))
            .collect()
    }

    /// Waits for every started container to end. `None` when the pod was deleted or the
    /// runner is stopping: the processes have then been stopped.
    async fn wait(&mut self, started: Vec<Started>) -> Option<Vec<ContainerReport>> {
        let stoppers: Vec<Stopper> = started.iter().map(Started::stopper).collect();
        let mut all = std::pin::pin!(futures::future::join_all(
            started.into_iter().map(Started::finish)
        ));
        let mut interrupted = false;
        loop {
            tokio::select! {
                reports = &mut all => return (!interrupted).then_some(reports),
                changed = self.signals.changed(), if !interrupted => {
                    let signal = match changed {
                        Ok(()) => *self.signals.borrow(),
                        Err(_) => Signal::Shutdown,
                    };
                    if let Some(grace) = self.grace(signal) {
                        info!(pod = %self.what, ?signal, ?grace, "stopping");
                        interrupted = true;
                        for stopper in &stoppers {
                            stopper.stop(grace);
                        }
                    }
                }
            }
        }
    }

    /// How long the processes get to stop on `signal`; `None` to keep running.
    fn grace(&self, signal: Signal) -> Option<Duration> {
        match signal {
            Signal::Run => None,
            Signal::Delete { grace } => Some(grace),
            Signal::Gone | Signal::Shutdown => Some(self.ctx.settings.shutdown_grace),
        }
    }

    /// Sleeps `d`; false when the pod must stop meanwhile.
    async fn sleep(&mut self, d: Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(d) => true,
            changed = self.signals.changed() => changed.is_ok() && *self.signals.borrow() == Signal::Run,
        }
    }

    /// The pod was told to stop: delete it for good when it was being deleted.
    async fn stopped(&self) -> Result<()> {
        let signal = *self.signals.borrow();
        match signal {
            Signal::Delete { .. } => status::delete_now(&self.pods, &self.name, &self.uid).await,
            _ => Ok(()),
        }
    }

    /// Marks the pod Failed because it cannot run, saying why.
    async fn fail(
        &self,
        mut report: Report,
        done: Vec<ContainerReport>,
        err: &Error,
    ) -> Result<()> {
        warn!(pod = %self.what, %err, "cannot run the pod");
        report.reason = Some("FerryPodRunner".into());
        report.message = Some(err.to_string());
        self.finish(report, done, "Failed").await
    }

    /// Writes the final phase and container reports.
    async fn finish(
        &self,
        mut report: Report,
        done: Vec<ContainerReport>,
        phase: &'static str,
    ) -> Result<()> {
        report.phase = phase;
        report.containers = done;
        info!(pod = %self.what, phase, "ended");
        status::write(&self.pods, &self.name, &report).await
    }
}

fn exit_code(c: &ContainerReport) -> Option<i32> {
    match c.state {
        State::Terminated { exit_code, .. } => Some(exit_code),
        _ => None,
    }
}
