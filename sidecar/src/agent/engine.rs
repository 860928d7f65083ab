//! The S3 engine's work as a job that runs either in this process (the mover pod, which exists
//! for one push) or in a child process, `ferry-sidecar engine` (the long-lived injected
//! sidecar).
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

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{ExitCode, Stdio};
use std::time::Duration;

use ferry_api::types::{RcloneOptions, SyncStats};
use k8s_openapi::ByteString;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::secrets::SecretData;
use super::source::{Outcome, remote_from, run_s3, sync_options};
use super::{Error, Result};
use crate::s3::cancel::Cancel;
use crate::s3::options::Layout;
use crate::s3::pipeline::End;

/// The variable that tells the child its parent's pid, so it can tell whether the parent
/// died before the parent-death signal was armed.
const PARENT_VAR: &str = "FERRY_ENGINE_PARENT";
/// How long the child may take to abort after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(15);
/// The largest job or reply read from a pipe (a job is an rclone.conf and a few options).
const MAX_MESSAGE: u64 = 16 * 1024 * 1024;
/// The field that names the rclone Secret, for the child's error messages.
const SECRET_FIELD: &str = "spec.rclone.rcloneConfig";

/// How a sync's S3 job runs, chosen by the entry point: the mover runs it in its own
/// process ([`in_process`]), the long-lived sidecar in a child ([`in_child_process`]). A
/// function rather than a flag, so that `ferry-agent` links no S3 engine at all: its code,
/// even untouched, would share pages with what the idle agent runs.
pub type Runner = fn(Job, Cancel) -> Running;

/// A job under way.
pub type Running = Pin<Box<dyn Future<Output = Result<Outcome>> + Send>>;

/// Runs the job in this process.
pub fn in_process(job: Job, cancel: Cancel) -> Running {
    Box::pin(execute(job, cancel))
}

/// Runs the job in a `ferry-sidecar engine` child.
pub fn in_child_process(job: Job, cancel: Cancel) -> Running {
    Box::pin(async move { in_child(&job, cancel).await })
}

/// Which way the data goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Direction {
    /// The directory to the remote.
    Push,
    /// The remote to the directory.
    Pull,
}

/// One S3 sync: everything the engine needs, Secret included.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    /// Push or pull.
    pub direction: Direction,
    /// The local directory.
    pub dir: PathBuf,
    /// The CR's `rclone` options.
    pub rclone: RcloneOptions,
    /// Plain, or `timestampPrefix` with its `retain` (pushes only).
    #[serde(default)]
    pub layout: Layout,
    /// The namespace of the Secret.
    pub secret_namespace: String,
    /// The Secret's name.
    pub secret_name: String,
    /// Its data.
    pub secret_data: BTreeMap<String, ByteString>,
}

impl std::fmt::Debug for Job {
    // The Secret's values never reach a log: only its key names.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("direction", &self.direction)
            .field("dir", &self.dir)
            .field("secret_name", &self.secret_name)
            .field("secret_keys", &self.secret_data.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Job {
    /// A job for `dir` with the Secret the sidecar read.
    pub fn new(
        direction: Direction,
        dir: &Path,
        rclone: &RcloneOptions,
        layout: Layout,
        secret: &SecretData,
    ) -> Job {
        Job {
            direction,
            dir: dir.to_path_buf(),
            rclone: rclone.clone(),
            layout,
            secret_namespace: secret.namespace().to_owned(),
            secret_name: secret.name().to_owned(),
            secret_data: secret
                .entries()
                .map(|(k, v)| (k.to_owned(), ByteString(v.to_vec())))
                .collect(),
        }
    }
}

/// What the child answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "camelCase")]
pub enum Reply {
    /// The sync ended without errors.
    Done {
        /// Its counts.
        stats: SyncStats,
        /// Its summary.
        logs: String,
    },
    /// SIGTERM stopped it.
    Interrupted,
    /// Some files failed; nothing was deleted.
    Partial {
        /// How many.
        errors: u64,
    },
    /// It failed; the message says what to fix.
    Failed {
        /// The error's text.
        message: String,
    },
}

impl Reply {
    fn of(result: Result<Outcome>) -> Reply {
        match result {
            Ok(outcome) => Reply::Done {
                stats: outcome.stats,
                logs: outcome.logs,
            },
            Err(Error::Interrupted) => Reply::Interrupted,
            Err(Error::S3Partial { errors }) => Reply::Partial { errors },
            Err(e) => Reply::Failed {
                message: e.to_string(),
            },
        }
    }

    fn into_result(self) -> Result<Outcome> {
        match self {
            Reply::Done { stats, logs } => Ok(Outcome { stats, logs }),
            Reply::Interrupted => Err(Error::Interrupted),
            Reply::Partial { errors } => Err(Error::S3Partial { errors }),
            Reply::Failed { message } => Err(Error::Engine(message)),
        }
    }
}

/// Runs `job` in this process.
pub async fn execute(job: Job, cancel: Cancel) -> Result<Outcome> {
    let data = job.secret_data.into_iter().map(|(k, v)| (k, v.0)).collect();
    let secret = SecretData::new(SECRET_FIELD, &job.secret_namespace, &job.secret_name, data);
    let remote = remote_from(&secret, &job.rclone).await?;
    let mut opts = sync_options(&job.rclone)?;
    opts.layout = job.layout;
    let (src, dst) = match job.direction {
        Direction::Push => (End::Local(job.dir), End::Remote(remote)),
        Direction::Pull => (End::Remote(remote), End::Local(job.dir)),
    };
    run_s3(src, dst, opts, cancel).await
}

/// Runs `job` in a `ferry-sidecar engine` child; on cancel, SIGTERM, then kill after
/// [`STOP_GRACE`].
async fn in_child(job: &Job, cancel: Cancel) -> Result<Outcome> {
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
        () = cancel.wait() => {
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

/// `ferry-sidecar engine`: read a job on stdin, run it, answer on stdout.
pub fn main() -> ExitCode {
    crate::ssh::init_logging("info");
    if let Err(message) = die_with_parent() {
        eprintln!("ferry-sidecar engine: {message}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ferry-sidecar engine: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(async {
        let reply = match read_job().await {
            Ok(job) => {
                let (canceller, cancel) = crate::s3::cancel::pair();
                tokio::spawn(async move {
                    super::run::terminated().await;
                    canceller.cancel();
                });
                Reply::of(execute(job, cancel).await)
            }
            Err(message) => Reply::Failed { message },
        };
        let ok = matches!(reply, Reply::Done { .. });
        let written = match serde_json::to_vec(&reply) {
            Ok(bytes) => tokio::io::stdout().write_all(&bytes).await.is_ok(),
            Err(_) => false,
        };
        if ok && written {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    })
}

/// Arms SIGTERM on the parent's death, then checks that the parent named in
/// [`PARENT_VAR`] is still the parent (it may have died before the signal was armed).
fn die_with_parent() -> std::result::Result<(), String> {
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM)
        .map_err(|e| format!("cannot arm the parent-death signal: {e}"))?;
    let wanted = std::env::var(PARENT_VAR).map_err(|_| {
        format!("{PARENT_VAR} is not set; this subcommand is started by `ferry-sidecar run`")
    })?;
    let parent = nix::unistd::getppid().as_raw().to_string();
    if parent == wanted {
        Ok(())
    } else {
        Err(format!(
            "the sidecar that started this engine (pid {wanted}) is gone; nothing was done"
        ))
    }
}

async fn read_job() -> std::result::Result<Job, String> {
    let mut body = Vec::new();
    tokio::io::stdin()
        .take(MAX_MESSAGE)
        .read_to_end(&mut body)
        .await
        .map_err(|e| format!("reading the job on stdin: {e}"))?;
    serde_json::from_slice(&body).map_err(|e| format!("the job on stdin is not valid: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_round_trip_and_map_to_errors() {
        let done = Reply::Done {
            stats: SyncStats {
                bytes_transferred: 10,
                ..SyncStats::default()
            },
            logs: "ok".to_owned(),
        };
        let text = serde_json::to_string(&done).unwrap();
        assert_eq!(serde_json::from_str::<Reply>(&text).unwrap(), done);
        assert!(matches!(
            Reply::Interrupted.into_result(),
            Err(Error::Interrupted)
        ));
        assert!(matches!(
            Reply::Partial { errors: 3 }.into_result(),
            Err(Error::S3Partial { errors: 3 })
        ));
        let failed = Reply::of(Err(Error::Spec {
            field: "spec.rclone.exclude",
            problem: "bad".to_owned(),
        }));
        assert_eq!(
            failed,
            Reply::Failed {
                message: "spec.rclone.exclude: bad".to_owned()
            }
        );
        match failed.into_result() {
            Err(e) => assert_eq!(e.to_string(), "spec.rclone.exclude: bad"),
            Ok(_) => panic!("a failure became a success"),
        }
    }

    #[test]
    fn a_job_never_shows_its_secret() {
        let mut data = BTreeMap::new();
        data.insert(
            "rclone.conf".to_owned(),
            b"secret_access_key = hush".to_vec(),
        );
        let secret = SecretData::new(SECRET_FIELD, "ns", "creds", data);
        let job = Job::new(
            Direction::Push,
            Path::new("/data"),
            &RcloneOptions::default(),
            Layout::Timestamped { retain: Some(3) },
            &secret,
        );
        let shown = format!("{job:?}");
        assert!(shown.contains("rclone.conf"), "{shown}");
        assert!(!shown.contains("hush"), "{shown}");
        let back: Job = serde_json::from_slice(&serde_json::to_vec(&job).unwrap()).unwrap();
        assert_eq!(
            back.secret_data["rclone.conf"].0,
            b"secret_access_key = hush"
        );
        assert_eq!(back.layout, Layout::Timestamped { retain: Some(3) });
    }
}
