//! The arguments of `ferry-sidecar run`, `mover`, `engine`, `restore` and `restored`: none; everything comes
//! from the environment the webhook (or the sidecar, for a mover) sets, see
//! `ferry_agent::env`.

/// `ferry-sidecar run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {}

/// `ferry-sidecar mover`.
#[derive(Debug, clap::Args)]
pub struct MoverArgs {}

/// `ferry-sidecar engine` (started by `run`; the job comes on stdin).
#[derive(Debug, clap::Args)]
pub struct EngineArgs {}

/// `ferry-sidecar restore` (the init container `ferry-restore`).
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {}

/// `ferry-sidecar restored` (the native sidecar's startup probe).
#[derive(Debug, clap::Args)]
pub struct RestoredArgs {}
