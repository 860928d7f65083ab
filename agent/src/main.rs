//! `ferry-agent`: the injected sidecar's long-lived process. `ferry-sidecar run` execs it.
//!
//! A binary of its own so that an idle sidecar maps only the code it runs: watching its CR,
//! the Lease, the schedule, the status, metrics and the rsync destination's SSH server. The
//! S3 engine and the rsync transport run as `ferry-sidecar` children for the length of a sync,
//! and their code is not linked here at all.

#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    match std::env::args_os().nth(1) {
        Some(arg) if arg == "run" => ferry_agent::entry::agent(),
        _ => {
            eprintln!(
                "usage: ferry-agent run\n\
                 The injected sidecar's process, started by `ferry-sidecar run` with the \
                 environment the webhook sets; run that instead."
            );
            ExitCode::from(2)
        }
    }
}
