//! Ferry's replication sidecar. One binary, several roles, chosen by subcommand:
//! the injected sidecar, the mover pod, the rsync transport and destination server, and a
//! standalone rclone-compatible sync.

pub mod agent;
pub mod cli;
pub mod keys;
pub mod objects;
pub mod rsync;
pub mod s3;
pub mod ssh;
