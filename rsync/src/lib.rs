//! rsync over SSH, Ferry's rsync mover: the russh transport the source gives `rsync -e`
//! and the destination's locked-down server ([`ssh`]), the source's rsync invocation, its
//! `--stats` parsing and the completion signal ([`rsync`]), and the ed25519 key pairs both
//! sides use ([`keys`]).
//!
//! Nothing here knows Kubernetes: the agent reads the CR and the Secrets, and hands this
//! crate paths, keys and addresses.

#![forbid(unsafe_code)]

pub mod keys;
pub mod rsync;
pub mod ssh;
