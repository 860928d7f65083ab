//! Ferry's admission webhook: an axum server on rustls that validates ReplicationSource and
//! ReplicationDestination objects and the ferry annotations of opted-in pods.
//!
//! The handlers only decode and encode AdmissionReviews; the decisions are pure functions
//! ([`review::validate`]) over `ferry-api`'s validation, so they are table-tested without a
//! server. The serving certificate comes from `ferry-certs` and is swapped without dropping
//! a connection.

pub mod admission;
pub mod cluster;
pub mod config;
pub mod health;
pub mod inject;
pub mod metrics;
pub mod review;
pub mod run;
pub mod server;
pub mod telemetry;
