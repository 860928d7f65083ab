//! Helpers shared by the unit tests: a CA with a service leaf, and a real TLS handshake
//! over loopback.

use rustls::pki_types::ServerName;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore, SupportedProtocolVersion};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::generate::{Pem, generate_ca, issue_leaf, service_dns_names};
use crate::{CertStore, server_config};

/// The name the client dials, as the apiserver would.
pub(crate) const SERVER_NAME: &str = "ferry-webhook.ferry-system.svc";

/// A fresh CA and a leaf for the test service.
pub(crate) fn service_leaf() -> (Pem, Pem) {
    let ca = generate_ca("test CA", Duration::from_secs(86_400)).unwrap();
    let names = service_dns_names("ferry-webhook", "ferry-system");
    let leaf = issue_leaf(&ca, &names, &[], Duration::from_secs(3_600)).unwrap();
    (ca, leaf)
}

/// What the client saw.
pub(crate) struct Handshake {
    pub version: rustls::ProtocolVersion,
    pub alpn: Option<Vec<u8>>,
    pub leaf_der: Vec<u8>,
}

/// Serves one connection from `store` and connects to it with a client trusting `ca`,
/// limited to `versions`. Exchanges a byte each way so both sides finish the handshake.
pub(crate) async fn handshake(
    store: Arc<CertStore>,
    ca: &Pem,
    versions: &[&'static SupportedProtocolVersion],
) -> Result<Handshake, std::io::Error> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let acceptor = TlsAcceptor::from(Arc::new(server_config(store).unwrap()));
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await?;
        let mut tls = acceptor.accept(tcp).await?;
        let mut byte = [0u8; 1];
        tls.read_exact(&mut byte).await?;
        tls.write_all(&byte).await?;
        tls.flush().await?;
        Ok::<_, std::io::Error>(tls)
    });

    let mut roots = RootCertStore::empty();
    for der in rustls::pki_types::CertificateDer::pem_slice_iter(ca.cert.as_bytes()) {
        roots.add(der.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let connector = TlsConnector::from(Arc::new(config));
    let name = ServerName::try_from(SERVER_NAME).unwrap();
    let tcp = TcpStream::connect(addr).await?;
    let result = async {
        let mut tls = connector.connect(name, tcp).await?;
        tls.write_all(b"x").await?;
        let mut byte = [0u8; 1];
        tls.read_exact(&mut byte).await?;
        let (_, conn) = tls.get_ref();
        Ok(Handshake {
            version: conn.protocol_version().unwrap(),
            alpn: conn.alpn_protocol().map(<[u8]>::to_vec),
            leaf_der: conn.peer_certificates().unwrap()[0].to_vec(),
        })
    }
    .await;
    // The server side fails too when the client gives up; only the client's view matters.
    server.abort();
    result
}
