//! Restore on first start, between the webhook and the sidecar: how the webhook holds the
//! app containers back until the restore step is done, and what it tells the sidecar.
//!
//! - With a native sidecar, the kubelet starts the app containers only once the sidecar's
//!   startup probe passes: the probe (`ferry-sidecar restored`) passes once the agent
//!   recorded the step as done, and its failure output says what the step waits for or
//!   what to fix, which `kubectl describe pod` shows.
//! - Without native sidecars, an init container placed before the app's runs the step
//!   (`ferry-sidecar restore`) and exits; a failure that blocks the app ends it with a
//!   termination message saying what to fix.

/// The init container that restores when the sidecar is not a native one.
pub const INIT_CONTAINER: &str = "ferry-restore";
/// Its subcommand: the restore step, once.
pub const SUBCOMMAND: &str = "restore";
/// The startup probe's subcommand: exit 0 once the step is done.
pub const PROBE_SUBCOMMAND: &str = "restored";
/// Seconds between probes: the app waits at most this long after the step is done.
pub const PROBE_PERIOD_SECONDS: i32 = 1;
/// Probes that may fail before the kubelet restarts the sidecar: about a week at one a
/// second. A blocked restore is retried by the sidecar itself, so a restart would only
/// lose the message the probe shows.
pub const PROBE_FAILURE_THRESHOLD: i32 = 604_800;
/// The file, in the sidecar's scratch directory, where the agent records the step for the
/// probe.
pub const STATE_FILE: &str = "restore-state";
