//! ECDSA P-256 CA and serving certificates.
//!
//! P-256 because every Kubernetes apiserver and Go TLS stack accepts it, and its keys and
//! signatures are small and fast next to RSA.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SanType,
};
use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};
use time::OffsetDateTime;

pub use crate::validity::{renew_at, validity};
use crate::{Error, Result, chain};

/// A certificate and its private key, both PEM.
///
/// `Debug` shows the certificate only: the key must never reach a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct Pem {
    /// The certificate (for a leaf, the chain; here the leaf alone).
    pub cert: String,
    /// The PKCS#8 private key.
    pub key: String,
}

impl fmt::Debug for Pem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pem")
            .field("cert", &self.cert)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// A self-signed CA that may sign leaves only (path length 0).
pub fn generate_ca(common_name: &str, validity: Duration) -> Result<Pem> {
    generate_ca_at(common_name, SystemTime::now(), validity)
}

/// A serving certificate for `dns_names` and `ip_addresses`, signed by `ca`.
///
/// The common name is the first DNS name (or IP). The extended key usage is serverAuth only.
/// `not_after` is capped at the CA's, so a leaf never outlives its issuer.
pub fn issue_leaf(
    ca: &Pem,
    dns_names: &[String],
    ip_addresses: &[IpAddr],
    validity: Duration,
) -> Result<Pem> {
    issue_leaf_at(ca, dns_names, ip_addresses, SystemTime::now(), validity)
}

/// The names a client uses for a Service: the apiserver calls `svc.ns.svc`, pods in the
/// namespace may use the short forms.
pub fn service_dns_names(service: &str, namespace: &str) -> Vec<String> {
    vec![
        service.to_owned(),
        format!("{service}.{namespace}"),
        format!("{service}.{namespace}.svc"),
        format!("{service}.{namespace}.svc.cluster.local"),
    ]
}

pub(crate) fn generate_ca_at(
    common_name: &str,
    now: SystemTime,
    validity: Duration,
) -> Result<Pem> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    set_times(&mut params, now, now + validity);
    let cert = params.self_signed(&key)?;
    Ok(Pem {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

pub(crate) fn issue_leaf_at(
    ca: &Pem,
    dns_names: &[String],
    ip_addresses: &[IpAddr],
    now: SystemTime,
    validity: Duration,
) -> Result<Pem> {
    let common_name = match (dns_names.first(), ip_addresses.first()) {
        (Some(dns), _) => dns.clone(),
        (None, Some(ip)) => ip.to_string(),
        (None, None) => return Err(Error::NoSubjectNames),
    };
    for name in dns_names {
        // Ia5String takes any ASCII; check host-name syntax so a typo fails here, not in
        // the apiserver's TLS client.
        rustls::pki_types::DnsName::try_from(name.as_str()).map_err(|source| {
            Error::InvalidDnsName {
                name: name.clone(),
                source,
            }
        })?;
    }
    let ca_key = KeyPair::from_pem(&ca.key)?;
    let ca_der = chain::certs_from_pem(&ca.cert)?;
    let ca_cert = chain::parse(ca_der.first().ok_or(Error::NoCertificate)?)?;
    // rcgen signs with whatever key it is given; a wrong one would yield leaves nobody trusts.
    if ca_cert.public_key().subject_public_key.data.as_ref() != ca_key.public_key_raw() {
        return Err(Error::CaKeyMismatch);
    }
    let (_, ca_not_after) = chain::times(&ca_cert);
    let issuer = Issuer::from_ca_cert_pem(&ca.cert, ca_key)?;

    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.subject_alt_names = dns_names
        .iter()
        .map(|name| Ok(SanType::DnsName(name.clone().try_into()?)))
        .chain(ip_addresses.iter().map(|ip| Ok(SanType::IpAddress(*ip))))
        .collect::<Result<Vec<_>, rcgen::Error>>()?;
    params.is_ca = IsCa::NoCa;
    // ECDSA keys sign; keyEncipherment is an RSA key-transport usage and does not apply.
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    set_times(&mut params, now, (now + validity).min(ca_not_after));

    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let cert = params.signed_by(&key, &issuer)?;
    Ok(Pem {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

/// Backdates `not_before` a little (a tenth of the lifetime, at most a minute) so a peer
/// whose clock runs slightly behind ours does not see a not-yet-valid certificate.
fn set_times(params: &mut CertificateParams, now: SystemTime, not_after: SystemTime) {
    let lifetime = not_after.duration_since(now).unwrap_or_default();
    let backdate = (lifetime / 10).min(Duration::from_secs(60));
    params.not_before = whole_seconds(now - backdate);
    params.not_after = whole_seconds(not_after);
}

/// X.509 times have one-second resolution; truncating keeps what we compute equal to what
/// we read back.
fn whole_seconds(t: SystemTime) -> OffsetDateTime {
    let t = OffsetDateTime::from(t);
    t.replace_nanosecond(0).unwrap_or(t)
}

#[cfg(test)]
mod tests;
