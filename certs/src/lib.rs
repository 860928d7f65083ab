//! Certificates for Ferry's admission webhook (DESIGN.md section 6).
//!
//! - [`generate`]: an ECDSA P-256 CA and serving leaves, made with rcgen.
//! - [`CertStore`]: the certificate the TLS server presents, swapped atomically so a reload
//!   never drops a connection; [`server_config`] builds the rustls config around it.
//! - [`files`]: hot reload from mounted files (`cert-manager` and `provided` modes).
//! - [`self_managed`]: CA and leaf kept in a Secret, renewed by the Lease holder, which also
//!   publishes the `caBundle`.
//!
//! One crypto provider: everything runs on rustls' and rcgen's aws-lc-rs backends.
#![forbid(unsafe_code)]

pub mod error;
pub mod files;
pub mod generate;
pub mod self_managed;
pub mod store;
pub mod validity;

mod chain;
mod tls;

pub use error::{Error, Result};
pub use files::watch_files;
pub use generate::{Pem, generate_ca, issue_leaf, service_dns_names};
pub use self_managed::SelfManagedConfig;
pub use store::CertStore;
pub use tls::server_config;
pub use validity::{bundle_trusts_leaf, renew_at, validity};

#[cfg(test)]
mod test_support;
