//! The client side's russh handler: it pins the destination's host key.

use russh::keys::PublicKeyOrCertificate;

use crate::ssh::Error;
use crate::ssh::keyset::{PublicKeySet, describe};

/// Accepts exactly the pinned host key.
pub struct Pinning {
    pub(super) pinned: PublicKeySet,
    pub(super) address: String,
    pub(super) keys_secret: Option<String>,
}

/// Errors surfacing from the handler during the handshake.
#[derive(Debug)]
pub enum HandlerError {
    /// A protocol error.
    Russh(russh::Error),
    /// The host key did not match.
    Pin(Box<Error>),
}

impl From<russh::Error> for HandlerError {
    fn from(e: russh::Error) -> Self {
        HandlerError::Russh(e)
    }
}

impl Pinning {
    fn mismatch(&self, presented: String) -> HandlerError {
        let hint = match &self.keys_secret {
            Some(secret) => format!(
                "Check that Secret {secret:?} holds the destination's current key in \
                 'destination.pub' (the destination regenerates it when its Secret is lost)."
            ),
            None => format!(
                "Check the pinned key in {} against the destination's 'destination.pub'.",
                self.pinned.origin()
            ),
        };
        HandlerError::Pin(Box::new(Error::HostKeyMismatch {
            address: self.address.clone(),
            presented,
            pinned: self.pinned.describe(),
            hint,
        }))
    }
}

impl russh::client::Handler for Pinning {
    type Error = HandlerError;

    async fn check_server_key(
        &mut self,
        server_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        match server_key {
            PublicKeyOrCertificate::PublicKey { key, .. } if self.pinned.contains(key) => Ok(true),
            PublicKeyOrCertificate::PublicKey { key, .. } => Err(self.mismatch(describe(key))),
            PublicKeyOrCertificate::Certificate(cert) => Err(self.mismatch(format!(
                "a host certificate ({}), which is not pinned",
                cert.algorithm()
            ))),
        }
    }
}
