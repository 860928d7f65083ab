//! The Kubernetes mechanics Ferry's processes share, each written once: the Lease elector
//! ([`lease`]), the shutdown signal ([`shutdown`]), the back-off between retries
//! ([`backoff`]), and which API errors are worth retrying ([`retry`]).
//!
//! [`shutdown`] and [`backoff`] need no API client, so the S3 engine and the rsync crate
//! use them without the `client` feature (and without `kube`).

#![forbid(unsafe_code)]

pub mod backoff;
#[cfg(feature = "client")]
mod error;
#[cfg(feature = "client")]
pub mod lease;
#[cfg(feature = "client")]
pub mod retry;
pub mod shutdown;

pub use backoff::Backoff;
#[cfg(feature = "client")]
pub use error::{Error, Result};
