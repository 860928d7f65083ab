//! The rsync side of the rsync mover: the source's command line, `--stats` parsing, the
//! version check, and the push that ties them to the SSH transport and the completion
//! signal.

pub mod cli;
pub mod command;
mod error;
pub mod push;
pub mod stats;
pub mod version;

pub use command::{Completion, Compression, PushOptions, Xattrs};
pub use error::Error;
pub use push::{Push, PushOutcome, push};
pub use stats::TransferStats;
pub use version::Version;
