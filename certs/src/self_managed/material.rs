//! The Secret that holds CA, leaf and bundle, and what its contents say.

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use x509_parser::extensions::GeneralName;

use super::plan::Observed;
use crate::generate::Pem;
use crate::{Error, Result, chain};

/// Data key: the current CA certificate, which signs new leaves.
pub const CA_CERT: &str = "ca.crt";
/// Data key: the current CA's private key.
pub const CA_KEY: &str = "ca.key";
/// Data key: the serving certificate every instance loads.
pub const TLS_CERT: &str = "tls.crt";
/// Data key: the serving certificate's private key.
pub const TLS_KEY: &str = "tls.key";
/// Data key: the CAs to publish as `caBundle` (two during a CA rotation).
pub const CA_BUNDLE: &str = "ca-bundle.crt";
/// Annotation: when the current leaf was written, in Unix seconds. The old CA's grace period
/// runs from here.
pub const LEAF_ISSUED_AT: &str = "certs.ferry.dev/leaf-issued-at";
/// The Secret's type: `tls.crt` and `tls.key` make it a valid `kubernetes.io/tls` Secret, so
/// it can be mounted by tools that expect one.
pub const SECRET_TYPE: &str = "kubernetes.io/tls";

/// The Secret's certificate contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Material {
    pub ca: Pem,
    pub leaf: Pem,
    pub bundle: String,
    pub leaf_issued_at: Option<SystemTime>,
}

impl Material {
    /// Reads every key; a missing or non-UTF-8 one makes the Secret unusable.
    pub fn from_secret(secret: &Secret) -> Result<Self> {
        let data = secret.data.as_ref();
        let get = |key: &'static str| {
            data.and_then(|d| d.get(key))
                .and_then(|b| String::from_utf8(b.0.clone()).ok())
                .ok_or(Error::SecretKeyMissing { key })
        };
        let leaf_issued_at = secret
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(LEAF_ISSUED_AT))
            .and_then(|v| v.parse::<u64>().ok())
            .map(|secs| UNIX_EPOCH + Duration::from_secs(secs));
        Ok(Material {
            ca: Pem {
                cert: get(CA_CERT)?,
                key: get(CA_KEY)?,
            },
            leaf: Pem {
                cert: get(TLS_CERT)?,
                key: get(TLS_KEY)?,
            },
            bundle: get(CA_BUNDLE)?,
            leaf_issued_at,
        })
    }

    /// The Secret to write; `metadata` carries name, namespace and, for an update, the
    /// resourceVersion that makes the write conditional.
    pub fn to_secret(&self, mut metadata: ObjectMeta) -> Secret {
        let data = [
            (CA_CERT, &self.ca.cert),
            (CA_KEY, &self.ca.key),
            (TLS_CERT, &self.leaf.cert),
            (TLS_KEY, &self.leaf.key),
            (CA_BUNDLE, &self.bundle),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), ByteString(v.clone().into_bytes())))
        .collect();
        let labels = metadata.labels.get_or_insert_with(BTreeMap::new);
        labels.insert("app.kubernetes.io/managed-by".into(), "ferry-certs".into());
        if let Some(at) = self
            .leaf_issued_at
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        {
            let annotations = metadata.annotations.get_or_insert_with(BTreeMap::new);
            annotations.insert(LEAF_ISSUED_AT.into(), at.as_secs().to_string());
        }
        Secret {
            metadata,
            data: Some(data),
            type_: Some(SECRET_TYPE.into()),
            ..Secret::default()
        }
    }

    /// What [`super::plan::decide`] needs to know. Errors when the CA itself is unusable,
    /// which calls for a fresh Secret.
    pub fn observe(&self, dns_names: &[String], ips: &[IpAddr]) -> Result<Observed> {
        let ca_der = first(&self.ca.cert)?;
        let ca = chain::parse(&ca_der)?;
        let ca_key = rcgen::KeyPair::from_pem(&self.ca.key)?;
        if ca.public_key().subject_public_key.data.as_ref() != ca_key.public_key_raw() {
            return Err(Error::CaKeyMismatch);
        }
        let bundle = chain::certs_from_pem(&self.bundle).unwrap_or_default();
        let mut observed = Observed {
            ca: chain::times(&ca),
            // A broken leaf reads as foreign and long due, so it gets reissued.
            leaf: (UNIX_EPOCH, UNIX_EPOCH),
            leaf_signed_by_ca: false,
            leaf_covers_names: false,
            bundle_has_ca: bundle.iter().any(|c| c.as_ref() == ca_der.as_slice()),
            bundle_has_others: bundle.iter().any(|c| c.as_ref() != ca_der.as_slice()),
            leaf_issued_at: UNIX_EPOCH,
        };
        let Ok(leaf_chain) = chain::certs_from_pem(&self.leaf.cert) else {
            return Ok(observed);
        };
        let Some(Ok(leaf)) = leaf_chain.first().map(|der| chain::parse(der)) else {
            return Ok(observed);
        };
        // A leaf whose key does not load or match is as good as one missing a name.
        let key_ok =
            crate::store::certified_key(leaf_chain.clone(), self.leaf.key.as_bytes()).is_ok();
        observed.leaf = chain::times(&leaf);
        observed.leaf_signed_by_ca = chain::signed_by(&leaf, &ca);
        observed.leaf_covers_names = key_ok && covers(&leaf, dns_names, ips);
        observed.leaf_issued_at = self.leaf_issued_at.unwrap_or(observed.leaf.0);
        Ok(observed)
    }
}

fn first(pem: &str) -> Result<Vec<u8>> {
    let certs = chain::certs_from_pem(pem)?;
    Ok(certs.first().ok_or(Error::NoCertificate)?.to_vec())
}

/// Whether the leaf's SANs include every wanted name. A superset is fine: two versions of the
/// webhook with different extra names, during a rolling update, then agree instead of
/// reissuing in turn.
fn covers(
    leaf: &x509_parser::certificate::X509Certificate<'_>,
    dns: &[String],
    ips: &[IpAddr],
) -> bool {
    let Ok(Some(san)) = leaf.subject_alternative_name() else {
        return dns.is_empty() && ips.is_empty();
    };
    let names = &san.value.general_names;
    let has_dns = |want: &String| {
        names
            .iter()
            .any(|n| matches!(n, GeneralName::DNSName(d) if d.eq_ignore_ascii_case(want)))
    };
    let has_ip = |want: &IpAddr| {
        let octets = match want {
            IpAddr::V4(v4) => v4.octets().to_vec(),
            IpAddr::V6(v6) => v6.octets().to_vec(),
        };
        names
            .iter()
            .any(|n| matches!(n, GeneralName::IPAddress(b) if *b == octets.as_slice()))
    };
    dns.iter().all(has_dns) && ips.iter().all(has_ip)
}
