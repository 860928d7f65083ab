//! Small helpers over PEM and X.509 shared by the other modules.

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use x509_parser::certificate::X509Certificate;
use x509_parser::error::X509Error;
use x509_parser::time::ASN1Time;

use crate::{Error, Result};

/// Every certificate in a PEM text, in order. Errors if there is none: an empty file is
/// what a half-written mount looks like, not a valid chain.
pub(crate) fn certs_from_pem(pem: impl AsRef<[u8]>) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem.as_ref()).collect::<Result<Vec<_>, _>>()?;
    if certs.is_empty() {
        return Err(Error::NoCertificate);
    }
    Ok(certs)
}

/// Parses one DER certificate.
pub(crate) fn parse(der: &[u8]) -> Result<X509Certificate<'_>> {
    match x509_parser::parse_x509_certificate(der) {
        Ok((_, cert)) => Ok(cert),
        Err(x509_parser::nom::Err::Error(e) | x509_parser::nom::Err::Failure(e)) => {
            Err(Error::X509(e))
        }
        Err(x509_parser::nom::Err::Incomplete(_)) => {
            Err(Error::X509(X509Error::InvalidCertificate))
        }
    }
}

/// `(not_before, not_after)` of a parsed certificate.
pub(crate) fn times(cert: &X509Certificate<'_>) -> (SystemTime, SystemTime) {
    let v = cert.validity();
    (system_time(v.not_before), system_time(v.not_after))
}

fn system_time(t: ASN1Time) -> SystemTime {
    let secs = t.timestamp();
    if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    }
}

/// Whether `leaf` was issued by `ca`: the issuer name matches and the signature verifies
/// with the CA's public key. This is what a TLS client trusting `ca` checks (times aside).
pub(crate) fn signed_by(leaf: &X509Certificate<'_>, ca: &X509Certificate<'_>) -> bool {
    leaf.issuer() == ca.subject() && leaf.verify_signature(Some(ca.public_key())).is_ok()
}

/// Whether any certificate of a PEM bundle issued `leaf`.
pub(crate) fn bundle_trusts(bundle: &[CertificateDer<'_>], leaf: &X509Certificate<'_>) -> bool {
    bundle
        .iter()
        .filter_map(|der| parse(der).ok())
        .any(|ca| signed_by(leaf, &ca))
}
