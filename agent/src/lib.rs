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

#![forbid(unsafe_code)]

pub mod destination;
pub mod engine;
pub mod env;
pub mod error;
pub mod events;
pub mod lease;
pub mod metrics;
pub mod mover;
pub mod objects;
pub mod pod;
pub mod resource;
pub mod run;
pub mod schedule;
pub mod secrets;
pub mod source;
pub mod status;

pub use error::{Error, Result};
