use super::*;
use crate::generate::{generate_ca_at, issue_leaf, issue_leaf_at};
use crate::test_support::{Handshake, handshake, service_leaf};
use rustls::version::{TLS12, TLS13};
use std::time::Duration;

const DAY: Duration = Duration::from_secs(86_400);

fn loaded_der(store: &CertStore) -> Vec<u8> {
    store.current().unwrap().cert[0].to_vec()
}

#[test]
fn nothing_is_loaded_at_first() {
    let store = CertStore::new();
    assert!(!store.is_loaded());
    assert!(store.current().is_none());
    assert!(store.not_after().is_none());
}

#[test]
fn a_bad_pair_never_replaces_a_good_one() {
    let (ca, good) = service_leaf();
    let other = issue_leaf(&ca, &["other.example".into()], &[], DAY).unwrap();
    let old_ca = generate_ca_at("old", SystemTime::now() - 3 * DAY, DAY).unwrap();
    let expired = issue_leaf_at(
        &old_ca,
        &["x".into()],
        &[],
        SystemTime::now() - 3 * DAY,
        DAY,
    )
    .unwrap();
    let cases: [(&str, &str, &str); 6] = [
        ("key of another leaf", &good.cert, &other.key),
        ("garbage certificate", "garbage", &good.key),
        ("garbage key", &good.cert, "garbage"),
        ("empty files (half written)", "", ""),
        ("certificate without key", &good.cert, ""),
        ("expired certificate", &expired.cert, &expired.key),
    ];
    let store = CertStore::new();
    store.set_pem(&good.cert, &good.key).unwrap();
    let before = loaded_der(&store);
    for (case, cert, key) in cases {
        assert!(store.set_pem(cert, key).is_err(), "{case}: must be refused");
        assert_eq!(
            loaded_der(&store),
            before,
            "{case}: the good certificate stays"
        );
    }
    // The same bad pairs on an empty store leave it empty.
    let empty = CertStore::new();
    assert!(empty.set_pem(&good.cert, &other.key).is_err());
    assert!(!empty.is_loaded());
}

#[test]
fn debug_shows_no_key() {
    let (_, leaf) = service_leaf();
    let store = CertStore::new();
    store.set_pem(&leaf.cert, &leaf.key).unwrap();
    let shown = format!("{store:?}");
    assert!(shown.starts_with("CertStore { not_after: Some("), "{shown}");
}

#[tokio::test]
async fn handshakes_on_tls13_and_tls12_with_h2() {
    let (ca, leaf) = service_leaf();
    let store = CertStore::new();
    store.set_pem(&leaf.cert, &leaf.key).unwrap();
    let cases = [
        (
            "client offers 1.3 and 1.2",
            vec![&TLS13, &TLS12],
            rustls::ProtocolVersion::TLSv1_3,
        ),
        (
            "client limited to 1.3",
            vec![&TLS13],
            rustls::ProtocolVersion::TLSv1_3,
        ),
        (
            "client limited to 1.2",
            vec![&TLS12],
            rustls::ProtocolVersion::TLSv1_2,
        ),
    ];
    for (case, versions, want) in cases {
        let Handshake {
            version,
            alpn,
            leaf_der,
        } = handshake(Arc::clone(&store), &ca, &versions).await.unwrap();
        assert_eq!(version, want, "{case}");
        assert_eq!(alpn.as_deref(), Some(&b"h2"[..]), "{case}");
        assert_eq!(leaf_der, loaded_der(&store), "{case}");
    }
}

#[tokio::test]
async fn handshake_fails_while_nothing_is_loaded() {
    let (ca, _) = service_leaf();
    let err = handshake(CertStore::new(), &ca, &[&TLS13]).await;
    assert!(err.is_err(), "no certificate, no handshake");
}

#[tokio::test]
async fn a_swap_is_seen_by_the_next_handshake() {
    let (ca1, leaf1) = service_leaf();
    let (ca2, leaf2) = service_leaf();
    let store = CertStore::new();
    store.set_pem(&leaf1.cert, &leaf1.key).unwrap();
    handshake(Arc::clone(&store), &ca1, &[&TLS13])
        .await
        .unwrap();
    store.set_pem(&leaf2.cert, &leaf2.key).unwrap();
    assert!(
        handshake(Arc::clone(&store), &ca1, &[&TLS13])
            .await
            .is_err(),
        "old CA no longer fits"
    );
    handshake(Arc::clone(&store), &ca2, &[&TLS13])
        .await
        .unwrap();
}
