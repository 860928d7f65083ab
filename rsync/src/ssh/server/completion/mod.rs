//! The completion signal. The source runs `ferry-complete SYNC_ID` after rsync exited 0;
//! the destination records a completion only when the transfer immediately before it, on
//! this server, received data and exited 0, and (when the transfer carried a sync id) the
//! ids match. A cut transfer therefore never leads to a published snapshot.
//!
//! Completions go to a [`CompletionLog`]: in process through a watch channel (the sidecar
//! snapshots on it) and on disk as `completion.json` in the state directory.

mod log;
mod tracker;

pub use log::{Completion, CompletionLog, MARKER, read_marker};
pub use tracker::{TransferGuard, TransferTracker};

#[cfg(test)]
mod tests;
