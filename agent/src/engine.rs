//! The S3 engine's work ([`super::job`]) in a child process, `ferry-sidecar engine`, for the
//! long-lived injected sidecar. (The mover pod, which exists for one push, runs it in its
//! own process: `ferry-sidecar` passes that runner in.)
//!
//! Why a child: a sync touches megabytes of code (the AWS SDK, its HTTP stack) and leaves
//! freed heap that the allocator keeps, so a sidecar that synced once would stay at two or
//! three times the memory of one that never did, for the life of the pod. In a child all of
//! that ends with the process, and the idle sidecar keeps only what it needs to watch its CR.
//! The Secret is read by the sidecar (its errors name the Secret and the fix) and handed to
//! the child on a pipe, never in its arguments or environment.
//!
//! The child dies with the sidecar (parent-death signal SIGTERM), so a killed sidecar never
//! leaves a pull writing into the volume behind the next sidecar's back; on SIGTERM the
//! engine aborts its multipart uploads and deletes nothing, as in-process.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use super::job::{Job, MAX_MESSAGE, Outcome, PARENT_VAR, Reply, Running};
use super::{Error, Result};

/// How long the child may take to abort after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(15);
/// Runs the job in a `ferry-sidecar engine` child.
pub fn in_child_process(job: Job, cancel: CancellationToken) -> Running {
    Box::pin(async move { in_child(&job, cancel).await })
}

/// Runs `job` in a `ferry-sidecar engine` child; on cancel, SIGTERM, then kill after
/// [`STOP_GRACE`].
async fn in_child(job: &Job, cancel: CancellationToken) -> Result<Outcome> {
    let io = |context: &str| {
        let context = context.to_owned();
        move |source| Error::Io { context, source }
    };
    let exe = super::env::sidecar_binary()?;
    let body =
        serde_json::to_vec(job).map_err(|e| Error::Engine(format!("encoding the job: {e}")))?;
    // The child's parent-death signal follows the thread that forks it: this runs on a
    // runtime worker thread (never in `spawn_blocking`, whose idle threads end), and those
    // live as long as the sidecar.
    let mut child = tokio::process::Command::new(exe)
        .arg("engine")
        .env(PARENT_VAR, std::process::id().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(io("starting the S3 engine process (ferry-sidecar engine)"))?;
    let pid = child.id();
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| Error::Engine("the engine process has no stdin".to_owned()))?;
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| Error::Engine("the engine process has no stdout".to_owned()))?;
    let work = async {
        stdin
            .write_all(&body)
            .await
            .map_err(io("handing the job to the engine process"))?;
        drop(stdin);
        let mut reply = Vec::new();
        (&mut stdout)
            .take(MAX_MESSAGE)
            .read_to_end(&mut reply)
            .await
            .map_err(io("reading the engine process's result"))?;
        let status = child
            .wait()
            .await
            .map_err(io("waiting for the engine process"))?;
        Ok::<_, Error>((status, reply))
    };
    tokio::pin!(work);
    let (status, reply) = tokio::select! {
        done = &mut work => done?,
        () = cancel.cancelled() => {
            terminate(pid);
            match tokio::time::timeout(STOP_GRACE, &mut work).await {
                Ok(Ok((_, reply))) => {
                    // An answer written before SIGTERM landed still counts as interrupted:
                    // the sidecar is stopping and publishes nothing.
                    tracing::debug!(bytes = reply.len(), "engine answered while stopping");
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "engine process while stopping"),
                Err(_) => tracing::warn!("the engine process did not stop within {STOP_GRACE:?}; killing it"),
            }
            return Err(Error::Interrupted);
        }
    };
    match serde_json::from_slice::<Reply>(&reply) {
        Ok(reply) => reply.into_result(),
        Err(_) => Err(Error::Engine(format!(
            "the S3 engine process ended ({status}) without a result; its error is in the sidecar's log"
        ))),
    }
}

/// Sends SIGTERM to the child, if it still has a pid.
fn terminate(pid: Option<u32>) {
    let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) else {
        return;
    };
    if let Err(e) = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    ) {
        tracing::debug!(error = %e, "signalling the engine process");
    }
}
