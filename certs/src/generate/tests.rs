use super::*;
use crate::chain;
use std::net::{Ipv4Addr, Ipv6Addr};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_SIG_ECDSA_WITH_SHA256,
};

const DAY: Duration = Duration::from_secs(86_400);

fn with_cert<T>(pem: &str, f: impl FnOnce(&X509Certificate<'_>) -> T) -> T {
    let ders = chain::certs_from_pem(pem).unwrap();
    assert_eq!(ders.len(), 1, "one certificate per PEM");
    f(&chain::parse(&ders[0]).unwrap())
}

fn assert_p256(cert: &X509Certificate<'_>) {
    let spki = cert.public_key();
    assert_eq!(spki.algorithm.algorithm, OID_KEY_TYPE_EC_PUBLIC_KEY);
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .unwrap()
        .as_oid()
        .unwrap();
    assert_eq!(curve, OID_EC_P256);
    assert_eq!(
        cert.signature_algorithm.algorithm,
        OID_SIG_ECDSA_WITH_SHA256
    );
}

fn common_name(cert: &X509Certificate<'_>) -> String {
    let cn = cert.subject().iter_common_name().next().unwrap();
    cn.as_str().unwrap().to_owned()
}

#[test]
fn ca_is_a_p256_ca_limited_to_signing_leaves() {
    let ca = generate_ca("Ferry test CA", 3650 * DAY).unwrap();
    assert!(ca.key.contains("PRIVATE KEY"));
    with_cert(&ca.cert, |cert| {
        assert_p256(cert);
        assert_eq!(common_name(cert), "Ferry test CA");
        let bc = cert.basic_constraints().unwrap().unwrap().value;
        assert!(bc.ca);
        assert_eq!(bc.path_len_constraint, Some(0));
        let ku = cert.key_usage().unwrap().unwrap().value;
        assert!(ku.key_cert_sign());
        assert!(chain::signed_by(cert, cert), "self-signed");
    });
}

#[test]
fn leaf_has_the_names_usage_and_issuer_asked_for() {
    let ca = generate_ca("Ferry test CA", 3650 * DAY).unwrap();
    let v4 = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7));
    let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
    let svc = service_dns_names("ferry-webhook", "ferry-system");
    let cases: [(&str, Vec<String>, Vec<IpAddr>, &str); 3] = [
        ("service names", svc.clone(), vec![], "ferry-webhook"),
        ("names and IPs", svc, vec![v4, v6], "ferry-webhook"),
        ("IP only", vec![], vec![v4], "10.0.0.7"),
    ];
    for (case, dns, ips, want_cn) in cases {
        let leaf = issue_leaf(&ca, &dns, &ips, 365 * DAY).unwrap();
        let ca_der = chain::certs_from_pem(&ca.cert).unwrap();
        let ca_cert = chain::parse(&ca_der[0]).unwrap();
        with_cert(&leaf.cert, |cert| {
            assert_p256(cert);
            assert_eq!(common_name(cert), want_cn, "{case}");
            assert!(chain::signed_by(cert, &ca_cert), "{case}: signed by the CA");
            let eku = cert.extended_key_usage().unwrap().unwrap().value;
            assert!(
                eku.server_auth && !eku.client_auth,
                "{case}: serverAuth only"
            );
            let bc = cert.basic_constraints().unwrap();
            assert!(bc.is_none_or(|bc| !bc.value.ca), "{case}: not a CA");
            let san = cert.subject_alternative_name().unwrap().unwrap().value;
            let mut got_dns = vec![];
            let mut got_ips = vec![];
            for name in &san.general_names {
                match name {
                    GeneralName::DNSName(d) => got_dns.push(d.to_string()),
                    GeneralName::IPAddress(b) => got_ips.push(match b.len() {
                        4 => IpAddr::from(<[u8; 4]>::try_from(*b).unwrap()),
                        _ => IpAddr::from(<[u8; 16]>::try_from(*b).unwrap()),
                    }),
                    other => panic!("{case}: unexpected SAN {other:?}"),
                }
            }
            assert_eq!(got_dns, dns, "{case}");
            assert_eq!(got_ips, ips, "{case}");
        });
    }
}

#[test]
fn leaf_never_outlives_its_ca() {
    let ca = generate_ca("short CA", 10 * DAY).unwrap();
    let leaf = issue_leaf(&ca, &["a.example".into()], &[], 365 * DAY).unwrap();
    assert_eq!(
        validity(&leaf.cert).unwrap().1,
        validity(&ca.cert).unwrap().1
    );
}

#[test]
fn leaf_issuance_refuses_bad_input() {
    let ca = generate_ca("CA", DAY).unwrap();
    let other = generate_ca("other CA", DAY).unwrap();
    let swapped = Pem {
        cert: ca.cert.clone(),
        key: other.key.clone(),
    };
    let garbage = Pem {
        cert: "nope".into(),
        key: ca.key.clone(),
    };
    let name = vec!["ok.example".to_owned()];
    let cases: [(&str, &Pem, Vec<String>); 4] = [
        ("no names", &ca, vec![]),
        ("CA key of another CA", &swapped, name.clone()),
        ("garbage CA cert", &garbage, name),
        ("DNS name with a space", &ca, vec!["bad name".into()]),
    ];
    for (case, ca, dns) in cases {
        assert!(issue_leaf(ca, &dns, &[], DAY).is_err(), "{case} must fail");
    }
    assert!(matches!(
        issue_leaf(&swapped, &["a".into()], &[], DAY),
        Err(Error::CaKeyMismatch)
    ));
}

#[test]
fn service_names_cover_every_form_a_client_uses() {
    assert_eq!(
        service_dns_names("wh", "ns"),
        ["wh", "wh.ns", "wh.ns.svc", "wh.ns.svc.cluster.local"]
    );
}

#[test]
fn debug_never_shows_the_key() {
    let ca = generate_ca("CA", DAY).unwrap();
    let shown = format!("{ca:?}");
    assert!(shown.contains("<redacted>"));
    assert!(!shown.contains("PRIVATE KEY"));
    let body = ca.key.lines().nth(1).unwrap();
    assert!(!shown.contains(body));
}
