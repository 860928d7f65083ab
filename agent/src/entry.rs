//! The agent's process entry points, in one place: `ferry-sidecar run` (which execs
//! `ferry-agent run`), the agent itself, and `ferry-sidecar mover`. Each builds a runtime,
//! reads its identity from the environment, runs, and maps the outcome to an exit code.

use std::process::ExitCode;

use ferry_api::types::SyncStats;
use tokio_util::sync::CancellationToken;

use super::context::Ctx;
use super::env::Identity;
use super::job::Runner;
use super::mover::MoverReport;
use super::{Error, Result};
use crate::objects;

/// `ferry-sidecar run`, the injected container's command: execs `ferry-agent run` from the
/// same directory (same pid, same environment), so the long-lived process maps only the
/// agent's code. Should `ferry-agent` be missing, it runs here instead, and says so.
pub fn exec_agent() -> std::process::ExitCode {
    use std::os::unix::process::CommandExt;
    match super::env::sibling(super::env::AGENT_BINARY) {
        Ok(agent) => {
            let error = std::process::Command::new(&agent).arg("run").exec();
            eprintln!(
                "ferry-sidecar run: cannot start {}: {error}; running in this process instead, \
                 which keeps more memory while idle: ship ferry-agent next to ferry-sidecar",
                agent.display()
            );
        }
        Err(e) => eprintln!("ferry-sidecar run: {e}; running in this process instead"),
    }
    agent()
}

/// The injected container's work (`ferry-agent run`).
pub fn agent() -> std::process::ExitCode {
    ferry_rsync::ssh::init_logging("info");
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ferry-sidecar run: cannot start the runtime: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    runtime.block_on(async {
        let who = match Identity::from_env() {
            Ok(who) => who,
            Err(e) => {
                eprintln!("ferry-sidecar run: {e}");
                return std::process::ExitCode::from(2);
            }
        };
        tracing::info!(role = who.role.as_str(), object = %who.object, pod = %who.pod_name, "starting");
        match super::run::run(who).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ferry-sidecar run: {e}");
                std::process::ExitCode::from(1)
            }
        }
    })
}

/// Logging and the runtime of a subcommand that runs once (`mover`, `restore`); `None`,
/// said on stderr, when the runtime cannot start.
fn one_shot_runtime(subcommand: &str) -> Option<tokio::runtime::Runtime> {
    ferry_rsync::ssh::init_logging("info");
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(e) => {
            eprintln!("ferry-sidecar {subcommand}: cannot start the runtime: {e}");
            None
        }
    }
}

/// `ferry-sidecar mover`: push the mounted copy once, report, exit. `engine` runs its S3
/// job: `ferry-sidecar` passes its in-process engine, which this crate does not link.
pub fn mover(engine: Runner) -> ExitCode {
    let Some(runtime) = one_shot_runtime("mover") else {
        return ExitCode::from(2);
    };
    runtime.block_on(async {
        match push_and_report(engine).await {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(e) => {
                eprintln!("ferry-sidecar mover: {e}");
                ExitCode::from(2)
            }
        }
    })
}

async fn push_and_report(engine: Runner) -> Result<bool> {
    let who = Identity::from_env()?;
    let client = kube::Client::try_default()
        .await
        .map_err(|source| Error::Api {
            action: "connecting to the API server".to_owned(),
            source,
        })?;
    let ctx = Ctx {
        client: client.clone(),
        who: who.clone(),
        // The mover exits after this one push: no child needed.
        engine,
    };
    let cancel = CancellationToken::new();
    let canceller = cancel.clone();
    tokio::spawn(async move {
        ferry_kube::shutdown::signalled().await;
        canceller.cancel();
    });
    let pushed = match super::resource::fetch(&client, &who).await {
        Ok(cr) => {
            // The sidecar records the acknowledgement after the sync: until then the
            // status holds the one used before.
            let guards = cr.guards(cr.status_text("acknowledgedGuards"));
            super::source::push_from(&ctx, &cr, &who.volume_path, guards, cancel).await
        }
        Err(e) => Err(e),
    };
    let report = match pushed {
        Ok(outcome) => MoverReport {
            succeeded: true,
            stats: outcome.stats,
            logs: outcome.logs,
            refused: outcome.refused,
            ..MoverReport::default()
        },
        Err(e) => MoverReport {
            succeeded: false,
            stats: SyncStats::default(),
            logs: e.to_string(),
            reason: Some(e.reason().to_owned()),
            needs_change: e.needs_change(),
            refused: None,
        },
    };
    if report.succeeded {
        tracing::info!(logs = %report.logs, "push done");
    } else {
        tracing::error!(error = %report.logs, "push failed");
    }
    let value = serde_json::to_value(&report).unwrap_or_default();
    objects::mover::report(&client, &who.namespace, &who.pod_name, &value).await?;
    Ok(report.succeeded)
}

/// Where the kubelet reads a container's termination message (its default
/// `terminationMessagePath`).
const TERMINATION_LOG: &str = "/dev/termination-log";

/// `ferry-sidecar restore`, the init container `ferry-restore` of a pod without a native
/// sidecar: the restore step once. Exit 0 lets the app start; a failure that blocks it
/// exits 1 with what to fix as the termination message (`kubectl describe pod`), and the
/// kubelet runs the step again. `engine` runs the pull in this process.
pub fn restore(engine: Runner) -> ExitCode {
    let Some(runtime) = one_shot_runtime("restore") else {
        return ExitCode::from(2);
    };
    runtime.block_on(async {
        let ended = async {
            let who = Identity::from_env().map_err(|e| e.to_string())?;
            let ask = who.restore.clone().unwrap_or_default();
            let client = kube::Client::try_default()
                .await
                .map_err(|e| format!("connecting to the API server: {e}"))?;
            let stop = CancellationToken::new();
            let stopper = stop.clone();
            tokio::spawn(async move {
                ferry_kube::shutdown::signalled().await;
                stopper.cancel();
            });
            let ctx = Ctx {
                client,
                who,
                engine,
            };
            super::restore::once(&ctx, &ask, &stop).await
        };
        match ended.await {
            Ok(message) => {
                println!("ferry-sidecar restore: {message}");
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("ferry-sidecar restore: {message}");
                if let Err(e) = std::fs::write(TERMINATION_LOG, &message) {
                    tracing::debug!(error = %e, "no termination log; the message is in the log");
                }
                ExitCode::from(1)
            }
        }
    })
}

/// `ferry-sidecar restored`: the native sidecar's startup probe (see
/// [`super::restore::state`]).
pub fn restored() -> ExitCode {
    super::restore::state::probe()
}
