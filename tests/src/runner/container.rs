//! One started container: its process, waited for in its own task, stoppable with a grace
//! period, and its report once it has ended.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::error::Result;
use super::select::Selected;
use super::spawn::{self, Launch};
use super::status::{ContainerReport, State};

/// How much of a failed container's output goes into its status message.
const MESSAGE_BYTES: usize = 2048;

/// A container whose process runs (or has ended).
#[derive(Debug)]
pub struct Started {
    selected: Selected,
    started_at: Timestamp,
    log: PathBuf,
    stop: Stopper,
    handle: JoinHandle<Result<i32>>,
}

/// Starts `launch` for `selected`, logging to `<pod_dir>/<container>.log`.
pub fn start(selected: Selected, launch: &Launch, pod_dir: &Path, what: &str) -> Result<Started> {
    let name = &selected.container.name;
    let log = pod_dir.join(format!("{name}.log"));
    let script = pod_dir.join(format!("{name}.sh"));
    let mut process = spawn::spawn(launch, what, &script, &log)?;
    let (stop, mut stop_rx) = watch::channel(None::<Duration>);
    let stop = Stopper(Arc::new(stop));
    let handle = tokio::spawn(async move {
        tokio::select! {
            code = process.wait() => code,
            Ok(()) = stop_rx.changed() => {
                let grace = stop_rx.borrow().unwrap_or_default();
                process.stop(grace).await
            }
        }
    });
    Ok(Started {
        selected,
        started_at: Timestamp::now(),
        log,
        stop,
        handle,
    })
}

/// Asks a started container's process to stop.
#[derive(Debug, Clone)]
pub struct Stopper(Arc<watch::Sender<Option<Duration>>>);

impl Stopper {
    /// SIGTERM now, SIGKILL after `grace` if it is still running.
    pub fn stop(&self, grace: Duration) {
        self.0.send_replace(Some(grace));
    }
}

impl Started {
    /// A handle that stops this container's process.
    pub fn stopper(&self) -> Stopper {
        self.stop.clone()
    }

    /// Its report while it runs.
    pub fn running(&self) -> ContainerReport {
        report(
            &self.selected,
            State::Running {
                started_at: self.started_at,
            },
        )
    }

    /// Waits for the process to end and reports how it ended.
    pub async fn finish(self) -> ContainerReport {
        let exit_code = match self.handle.await {
            Ok(Ok(code)) => code,
            Ok(Err(err)) => {
                tracing::warn!(container = %self.selected.container.name, %err, "waiting for the process failed");
                255
            }
            Err(err) => {
                tracing::warn!(container = %self.selected.container.name, %err, "the process task ended abnormally");
                255
            }
        };
        let message = (exit_code != 0).then(|| log_tail(&self.log)).flatten();
        report(
            &self.selected,
            State::Terminated {
                exit_code,
                started_at: self.started_at,
                finished_at: Timestamp::now(),
                message,
            },
        )
    }
}

/// A container's report in `state`.
pub fn report(selected: &Selected, state: State) -> ContainerReport {
    ContainerReport {
        name: selected.container.name.clone(),
        image: selected.container.image.clone().unwrap_or_default(),
        slot: selected.slot,
        state,
    }
}

/// The end of the log, as `terminationMessagePolicy: FallbackToLogsOnError` would report it.
fn log_tail(log: &Path) -> Option<String> {
    let bytes = std::fs::read(log).ok()?;
    let tail = &bytes[bytes.len().saturating_sub(MESSAGE_BYTES)..];
    let text = String::from_utf8_lossy(tail).trim().to_owned();
    (!text.is_empty()).then_some(text)
}
