//! The `ferry-webhook` binary: parse config, set up logging, serve until SIGTERM.

use std::process::ExitCode;

use clap::Parser;
use ferry_webhook::config::Config;

/// mimalloc instead of glibc's malloc: an admission request allocates hundreds of small
/// objects (the decoded review, the patch) on whichever worker thread serves it, and
/// `make bench-webhook` measured the server's CPU per request with each.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    ferry_webhook::telemetry::init(config.log_format);
    match ferry_webhook::run::run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "ferry-webhook stopped");
            eprintln!("ferry-webhook: {err}");
            ExitCode::FAILURE
        }
    }
}
