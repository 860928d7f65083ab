//! The sidecar at work (DESIGN.md §4): `ferry-sidecar run`, the injected container, and
//! `ferry-sidecar mover`, the pod that pushes from a snapshot or a clone.
//!
//! `run` binds its CR ([`resource`]), takes the CR's Lease so that exactly one pod acts
//! ([`lease`]), decides when to sync ([`schedule`]), syncs ([`source`], [`destination`]),
//! and tells the truth about it in the CR's status ([`status`], written with server-side
//! apply), in Events ([`events`]) and in Prometheus metrics ([`metrics`]). Every failure
//! becomes `Synchronizing=False`, reason `Error`, with a message that says what to fix
//! ([`error`]). The Kubernetes objects of a sync (snapshots, temporary claims, mover pods)
//! are in [`objects`].
//!
//! This crate never depends on the S3 engine (`ferry-s3`): the agent hands S3 work to a
//! `ferry-sidecar engine` child ([`engine`]), and `make lint` checks that `cargo tree -p
//! ferry-agent` holds no aws-sdk-s3.
//!
//! # Layers
//!
//! Modules import only modules of lower layers (or of their own layer, never back):
//!
//! 1. [`error`], [`objects`]: the failures, and the Kubernetes objects of a sync.
//! 2. [`env`](mod@env): who this pod is, from the environment.
//! 3. [`schedule`], [`status`], [`events`], [`metrics`], [`lease`], [`pod`], [`secrets`],
//!    [`resource`]: one concern each (events reads the status condition names).
//! 4. [`job`]: the S3 engine's job, its reply, a sync's [`job::Outcome`].
//! 5. [`engine`] (a job in a child process), [`context`] (what every sync needs) and
//!    [`hooks`] (the freeze and thaw calls to the app, and VolSync's copy triggers).
//! 6. [`mover`]: a push through a snapshot or clone and a mover pod.
//! 7. [`source`] (uses the mover), then [`destination`] and [`restore`] (use the source's
//!    Secret reader).
//! 8. [`run`]: the injected sidecar's state machine.
//! 9. [`entry`]: the process entry points.

#![forbid(unsafe_code)]

pub mod context;
pub mod destination;
pub mod engine;
pub mod entry;
pub mod env;
pub mod error;
pub mod events;
pub mod hooks;
pub mod job;
pub mod lease;
pub mod metrics;
pub mod mover;
pub mod objects;
pub mod pod;
pub mod resource;
pub mod restore;
pub mod run;
pub mod schedule;
pub mod secrets;
pub mod source;
pub mod status;

pub use error::{Error, Result};
