//! When a certificate is valid, and when to replace it.

use std::time::SystemTime;

use crate::{Result, chain};

/// The `(not_before, not_after)` of the first certificate in `cert_pem`.
pub fn validity(cert_pem: &str) -> Result<(SystemTime, SystemTime)> {
    let certs = chain::certs_from_pem(cert_pem)?;
    // certs_from_pem never returns an empty list, so the first exists.
    let first = certs.first().ok_or(crate::Error::NoCertificate)?;
    Ok(chain::times(&chain::parse(first)?))
}

/// Whether a client trusting the CAs of `bundle_pem` (a webhook configuration's
/// `caBundle`) accepts the first certificate of `leaf_pem` (the serving certificate):
/// some CA of the bundle issued it. Validity times are not checked here (see [`validity`]).
pub fn bundle_trusts_leaf(bundle_pem: &[u8], leaf_pem: &str) -> Result<bool> {
    let bundle = chain::certs_from_pem(bundle_pem)?;
    let leaf = chain::certs_from_pem(leaf_pem)?;
    let first = leaf.first().ok_or(crate::Error::NoCertificate)?;
    Ok(chain::bundle_trusts(&bundle, &chain::parse(first)?))
}

/// When a certificate should be replaced: two thirds into its lifetime, the rule cert-manager
/// and kubelet use. It leaves a third of the lifetime to retry a failed renewal before
/// anything breaks. A certificate whose `not_after` precedes `not_before` is due at once.
pub fn renew_at(not_before: SystemTime, not_after: SystemTime) -> SystemTime {
    match not_after.duration_since(not_before) {
        Ok(lifetime) => not_before + lifetime * 2 / 3,
        Err(_) => not_before,
    }
}

/// RFC 3339 in UTC, for log lines.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    match k8s_openapi::jiff::Timestamp::try_from(t) {
        Ok(ts) => ts.to_string(),
        Err(_) => format!("{t:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::generate_ca;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn renew_at_is_two_thirds_of_the_lifetime() {
        let t = |s| UNIX_EPOCH + Duration::from_secs(s);
        let cases = [
            // (not_before, not_after, expected)
            (t(0), t(300), t(200)),
            (t(1_000), t(1_090), t(1_060)),
            (t(50), t(50), t(50)),
            (t(100), t(10), t(100)),
        ];
        for (nb, na, want) in cases {
            assert_eq!(renew_at(nb, na), want, "renew_at({nb:?}, {na:?})");
        }
    }

    #[test]
    fn validity_reads_back_what_was_generated() {
        let days = Duration::from_secs(86_400);
        for lifetime in [Duration::from_secs(120), 30 * days, 3650 * days] {
            let before = SystemTime::now();
            let ca = generate_ca("validity test", lifetime).unwrap();
            let (nb, na) = validity(&ca.cert).unwrap();
            assert!(nb <= before, "not_before is backdated, not in the future");
            let want = before + lifetime;
            let diff = na.duration_since(want).unwrap_or_else(|e| e.duration());
            assert!(
                diff <= Duration::from_secs(2),
                "not_after {na:?}, want about {want:?}"
            );
        }
    }

    #[test]
    fn a_bundle_trusts_the_leaves_of_its_cas_only() {
        let ca = generate_ca("ferry test CA", Duration::from_secs(3600)).unwrap();
        let other = generate_ca("another CA", Duration::from_secs(3600)).unwrap();
        let leaf = crate::generate::issue_leaf(
            &ca,
            &["svc.ns.svc".to_owned()],
            &[],
            Duration::from_secs(600),
        )
        .unwrap();
        assert!(bundle_trusts_leaf(ca.cert.as_bytes(), &leaf.cert).unwrap());
        let both = format!("{}{}", other.cert, ca.cert);
        assert!(bundle_trusts_leaf(both.as_bytes(), &leaf.cert).unwrap());
        assert!(!bundle_trusts_leaf(other.cert.as_bytes(), &leaf.cert).unwrap());
        assert!(bundle_trusts_leaf(b"", &leaf.cert).is_err());
    }

    #[test]
    fn validity_refuses_garbage() {
        for bad in [
            "",
            "not pem",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        ] {
            assert!(validity(bad).is_err(), "{bad:?} should not parse");
        }
    }
}
