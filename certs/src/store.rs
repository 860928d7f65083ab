//! The certificate the server presents, swappable while connections are open.

use arc_swap::ArcSwapOption;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

pub use crate::tls::server_config;
use crate::{Error, Result, chain};

/// Holds the current certificate and key for the TLS server.
///
/// Reads are lock-free (`arc-swap`), so every handshake picks up the newest certificate while
/// established connections keep the one they negotiated. Nothing is loaded at first: the
/// resolver then declines every handshake and the server should report not-ready.
pub struct CertStore {
    current: ArcSwapOption<Loaded>,
}

struct Loaded {
    key: Arc<CertifiedKey>,
    not_after: SystemTime,
}

impl CertStore {
    /// An empty store, shared between the TLS config and whatever reloads it.
    pub fn new() -> Arc<Self> {
        Arc::new(CertStore {
            current: ArcSwapOption::empty(),
        })
    }

    /// Replaces the certificate with `chain_pem` (leaf first) and `key_pem`.
    ///
    /// Everything is checked before the swap: both parse, the key belongs to the leaf, and the
    /// leaf has not expired. On error the previous certificate stays in place, so a bad or
    /// half-written file never replaces a good certificate.
    pub fn set_pem(&self, chain_pem: &str, key_pem: &str) -> Result<()> {
        self.set_pem_bytes(chain_pem.as_bytes(), key_pem.as_bytes())
            .map(drop)
    }

    /// [`CertStore::set_pem`] on raw file contents; returns the new leaf's `not_after`.
    pub(crate) fn set_pem_bytes(&self, chain_pem: &[u8], key_pem: &[u8]) -> Result<SystemTime> {
        let chain = chain::certs_from_pem(chain_pem)?;
        let leaf = chain.first().ok_or(Error::NoCertificate)?;
        let (_, not_after) = chain::times(&chain::parse(leaf)?);
        if not_after <= SystemTime::now() {
            return Err(Error::Expired { not_after });
        }
        let key = certified_key(chain, key_pem)?;
        self.current.store(Some(Arc::new(Loaded {
            key: Arc::new(key),
            not_after,
        })));
        Ok(not_after)
    }

    /// Whether a certificate is loaded, i.e. whether the server can complete a handshake.
    pub fn is_loaded(&self) -> bool {
        self.current.load().is_some()
    }

    /// The `not_after` of the loaded certificate, for readiness reports and metrics.
    pub fn not_after(&self) -> Option<SystemTime> {
        self.current.load().as_ref().map(|l| l.not_after)
    }

    /// The DER of the loaded leaf (the certificate presented), to check that the caBundle
    /// clients hold trusts it.
    pub fn leaf_der(&self) -> Option<Vec<u8>> {
        self.current()
            .and_then(|key| key.cert.first().map(|der| der.to_vec()))
    }

    /// The loaded certificate and key, as handed to rustls.
    pub fn current(&self) -> Option<Arc<CertifiedKey>> {
        self.current.load().as_ref().map(|l| Arc::clone(&l.key))
    }
}

/// The rustls key for a chain and PEM key, refused unless the key is the leaf's.
pub(crate) fn certified_key(
    chain: Vec<CertificateDer<'static>>,
    key_pem: &[u8],
) -> Result<CertifiedKey> {
    let der = PrivateKeyDer::from_pem_slice(key_pem)?;
    let signer =
        rustls::crypto::aws_lc_rs::sign::any_supported_type(&der).map_err(Error::KeyRejected)?;
    let key = CertifiedKey::new(chain, signer);
    // Strict: an "unknown" consistency result is refused too, since every key type we
    // accept can report its public key.
    key.keys_match().map_err(Error::KeyRejected)?;
    Ok(key)
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current()
    }
}

impl fmt::Debug for CertStore {
    // Only metadata: `CertifiedKey` holds the signing key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertStore")
            .field("not_after", &self.not_after())
            .finish()
    }
}

#[cfg(test)]
mod tests;
