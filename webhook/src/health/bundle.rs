//! Whether a webhook configuration's `caBundle` trusts the certificate being served, and
//! when the CA that issued it expires. Pure: the caller reads the configurations.

use std::time::SystemTime;

/// What one webhook entry's `caBundle` says about the serving certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trust {
    /// A CA of the bundle issued the serving certificate; it expires at `ca_not_after`.
    Trusted {
        /// The issuing CA's `not_after`.
        ca_not_after: SystemTime,
    },
    /// No `caBundle` at all.
    Missing,
    /// A `caBundle` without the CA that issued the serving certificate, or one that does
    /// not parse: the apiserver refuses the webhook's TLS.
    Untrusted,
}

/// Judges one entry's `caBundle` against the served leaf (DER).
pub fn trust(bundle: Option<&[u8]>, leaf_der: &[u8]) -> Trust {
    match bundle {
        None | Some([]) => Trust::Missing,
        Some(bundle) => match ferry_certs::issuer_validity(bundle, leaf_der) {
            Ok(Some((_, ca_not_after))) => Trust::Trusted { ca_not_after },
            Ok(None) | Err(_) => Trust::Untrusted,
        },
    }
}

/// The webhooks of a configuration, `(name, trust)`, that do not trust the serving
/// certificate: a configuration with any is drifted.
pub fn untrusted(entries: &[(String, Trust)]) -> Vec<String> {
    entries
        .iter()
        .filter(|(_, t)| !matches!(t, Trust::Trusted { .. }))
        .map(|(name, _)| name.clone())
        .collect()
}

/// The earliest expiry of the CAs that issued the serving certificate, over every entry.
pub fn ca_expiry<'a>(entries: impl IntoIterator<Item = &'a Trust>) -> Option<SystemTime> {
    entries
        .into_iter()
        .filter_map(|t| match t {
            Trust::Trusted { ca_not_after } => Some(*ca_not_after),
            _ => None,
        })
        .min()
}
