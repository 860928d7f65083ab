//! A hook call against a real HTTPS server on loopback: the CA from PEM, the headers sent,
//! a certificate from another CA refused, and a non-2xx answer reported.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;
use ferry_api::rules::hook::Target;

const DAY: Duration = Duration::from_secs(86_400);

/// Serves one TLS connection with a certificate of `ca` for 127.0.0.1; returns the port and
/// the request it received.
async fn serve_once(
    ca: &ferry_certs::generate::Pem,
    answer: &'static str,
) -> (u16, tokio::task::JoinHandle<String>) {
    let leaf = ferry_certs::generate::issue_leaf(
        ca,
        &["localhost".to_owned()],
        &[IpAddr::V4(Ipv4Addr::LOCALHOST)],
        DAY,
    )
    .unwrap();
    let store = ferry_certs::CertStore::new();
    store.set_pem(&leaf.cert, &leaf.key).unwrap();
    let config = ferry_certs::server_config(store).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let Ok(mut tls) = acceptor.accept(tcp).await else {
            return String::new();
        };
        let mut buf = vec![0u8; 4096];
        let n = tls.read(&mut buf).await.unwrap();
        let request = String::from_utf8_lossy(&buf[..n]).into_owned();
        tls.write_all(answer.as_bytes()).await.unwrap();
        tls.shutdown().await.ok();
        request
    });
    (port, served)
}

fn target(port: u16) -> Target {
    Target::parse(&format!("POST https://127.0.0.1:{port}/freeze")).unwrap()
}

#[tokio::test]
async fn an_https_hook_trusts_its_ca_and_sends_the_secret_headers() {
    let ca = ferry_certs::generate::generate_ca("app-ca", DAY).unwrap();
    let (port, served) = serve_once(
        &ca,
        "HTTP/1.1 200 OK\r\ncontent-length: 6\r\nconnection: close\r\n\r\nfrozen",
    )
    .await;
    let tls = Tls::new(ca.cert.as_bytes(), "127.0.0.1").unwrap();
    let headers = [("Authorization".to_owned(), b"Bearer s3cr3t".to_vec())];
    let answer = call(&target(port), &headers, Some(&tls), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    let request = served.await.unwrap();
    assert!(
        request.starts_with("POST /freeze HTTP/1.1\r\n"),
        "{request}"
    );
    assert!(
        request
            .to_ascii_lowercase()
            .contains("authorization: bearer s3cr3t"),
        "{request}"
    );
}

#[tokio::test]
async fn a_certificate_of_another_ca_is_refused_and_says_so() {
    let app_ca = ferry_certs::generate::generate_ca("app-ca", DAY).unwrap();
    let other = ferry_certs::generate::generate_ca("other-ca", DAY).unwrap();
    let (port, _served) = serve_once(&app_ca, "HTTP/1.1 200 OK\r\n\r\n").await;
    let tls = Tls::new(other.cert.as_bytes(), "127.0.0.1").unwrap();
    let err = call(&target(port), &[], Some(&tls), Duration::from_secs(10))
        .await
        .unwrap_err();
    assert!(matches!(err, CallError::Connect(_)), "{err}");
    assert!(err.to_string().contains("TLS"), "{err}");
}

#[tokio::test]
async fn an_answer_other_than_2xx_fails_without_showing_the_headers() {
    let ca = ferry_certs::generate::generate_ca("app-ca", DAY).unwrap();
    let (port, _served) = serve_once(
        &ca,
        "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\nconnection: close\r\n\r\nbusy",
    )
    .await;
    let tls = Tls::new(ca.cert.as_bytes(), "127.0.0.1").unwrap();
    let headers = [("X-Token".to_owned(), b"s3cr3t".to_vec())];
    let err = call(&target(port), &headers, Some(&tls), Duration::from_secs(10))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "answered HTTP 503: busy");
    assert!(!err.to_string().contains("s3cr3t"));
}

#[test]
fn a_ca_that_is_not_pem_is_named() {
    let err = Tls::new(b"not a certificate", "localhost").unwrap_err();
    assert!(err.to_string().contains("no PEM certificate"), "{err}");
}

#[tokio::test]
async fn nothing_listening_is_a_connect_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let plain = Target::parse(&format!("http://127.0.0.1:{port}/thaw")).unwrap();
    let err = call(&plain, &[], None, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(matches!(err, CallError::Connect(_)), "{err}");
}
