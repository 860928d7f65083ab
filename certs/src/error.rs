//! The crate's error type.
//!
//! No variant carries certificate or key bytes: errors end up in logs, and a private key must
//! never reach one.

use std::path::PathBuf;
use std::time::SystemTime;

/// Everything that can go wrong while making, parsing, loading or publishing certificates.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// rcgen could not generate a key or sign a certificate.
    #[error("generating a certificate failed")]
    Generate(#[source] rcgen::Error),

    /// A PEM document (certificate or private key) could not be decoded.
    #[error("decoding PEM failed")]
    Pem(#[source] rustls::pki_types::pem::Error),

    /// A certificate's DER could not be parsed as X.509.
    #[error("parsing an X.509 certificate failed")]
    X509(#[source] x509_parser::error::X509Error),

    /// The PEM text held no certificate at all.
    #[error("no certificate found in the PEM text")]
    NoCertificate,

    /// A leaf needs at least one DNS name or IP address to be useful.
    #[error("a leaf certificate needs at least one DNS name or IP address")]
    NoSubjectNames,

    /// A DNS name for a leaf is not a valid host name.
    #[error("{name:?} is not a valid DNS name")]
    InvalidDnsName {
        /// The offending name.
        name: String,
        /// Why it was refused.
        #[source]
        source: rustls::pki_types::InvalidDnsNameError,
    },

    /// rustls refused the private key, or the key does not belong to the certificate.
    #[error("the private key is unusable or does not match the certificate")]
    KeyRejected(#[source] rustls::Error),

    /// The private key given for a CA is not the CA certificate's key.
    #[error("the CA key does not match the CA certificate")]
    CaKeyMismatch,

    /// The certificate's notAfter is already past, so loading it would break every handshake.
    #[error("the certificate expired at {not_after:?}")]
    Expired {
        /// When the certificate stopped being valid.
        not_after: SystemTime,
    },

    /// The rustls server configuration could not be built.
    #[error("building the TLS server configuration failed")]
    Tls(#[source] rustls::Error),

    /// A file could not be read or written.
    #[error("file {path}: I/O failed")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying failure.
        #[source]
        source: std::io::Error,
    },

    /// A call to the Kubernetes API failed.
    #[error("Kubernetes API call failed: {action}")]
    Kube {
        /// What was being attempted, e.g. "get Secret".
        action: &'static str,
        /// The client's error.
        #[source]
        source: kube::Error,
    },

    /// The managed Secret lacks a data key this crate needs.
    #[error("the certificate Secret has no usable `{key}`")]
    SecretKeyMissing {
        /// The missing data key, e.g. `tls.crt`.
        key: &'static str,
    },

    /// The self-managed configuration is unusable.
    #[error("invalid self-managed configuration: {0}")]
    Config(String),
}

impl Error {
    /// Whether trying the same thing again later may succeed (an API or file-system hiccup),
    /// as opposed to bad input that will fail the same way every time.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Kube { source, .. } => ferry_kube::retry::is_retryable(source),
            Error::Io { .. } => true,
            _ => false,
        }
    }

    /// Whether this is an apiserver conflict (HTTP 409): someone else wrote first.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::Kube { source: kube::Error::Api(status), .. } if status.code == 409)
    }

    pub(crate) fn kube(action: &'static str) -> impl FnOnce(kube::Error) -> Error {
        move |source| Error::Kube { action, source }
    }
}

impl From<rcgen::Error> for Error {
    fn from(e: rcgen::Error) -> Self {
        Error::Generate(e)
    }
}

impl From<rustls::pki_types::pem::Error> for Error {
    fn from(e: rustls::pki_types::pem::Error) -> Self {
        Error::Pem(e)
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
