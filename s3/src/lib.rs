//! Ferry's rclone-compatible S3 sync engine (DESIGN.md §5).
//!
//! A sync lists both sides as streams in key order ([`list`]), merges them ([`march`]),
//! decides per key ([`check`]), runs per-object operations ([`ops`]) with bounded
//! concurrency, collects outcomes in order into the [`manifest`], and deletes only after
//! every transfer succeeded ([`pipeline`]). Objects are stored exactly as rclone stores them
//! ([`meta`]), so rclone reads what Ferry writes and the other way round.
//!
//! Every request may lose its answer (the server acted, the connection dropped) and be
//! sent again by the SDK, so each is idempotent or checked: PutObject, CopyObject onto
//! itself, DeleteObjects (a missing key is deleted) and UploadPart give the same state when
//! repeated; CompleteMultipartUpload is checked by a HEAD when the retry meets
//! `NoSuchUpload`, for data and the manifest alike ([`ops::multipart::complete`]);
//! AbortMultipartUpload takes `NoSuchUpload` as done; and the upload a repeated
//! CreateMultipartUpload orphans is aborted by the sweep at the end of a later successful
//! push ([`ops::orphans`]).

#![forbid(unsafe_code)]

pub mod budget;
pub mod cancel;
pub mod check;
pub mod cli;
pub mod client;
pub mod config;
pub mod crypt;
pub mod entry;
pub mod error;
pub mod list;
pub mod location;
pub mod lock;
pub mod manifest;
pub mod march;
pub mod meta;
pub mod ops;
pub mod options;
pub mod pipeline;
pub mod progress;
pub mod pull;
pub mod push;
pub mod remote;
pub mod requests;
pub mod restore;
pub mod retry;
pub mod snapshots;
pub mod stats;
pub mod throttle;
pub mod verify;

pub use error::{Error, Result};
/// The guards, shared with the agent through the contract.
pub use ferry_api::contract::guard;
