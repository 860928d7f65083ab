//! The rustls server configuration around a [`CertStore`].

use rustls::ServerConfig;
use rustls::version::{TLS12, TLS13};
use std::sync::Arc;

use crate::{CertStore, Error, Result};

/// A rustls server config that presents whatever `store` holds at handshake time.
///
/// aws-lc-rs is the crypto provider (the workspace's only one). TLS 1.3 and 1.2 are
/// offered, 1.3 first, so 1.2 is the floor (DESIGN.md section 6). ALPN offers `h2` then
/// `http/1.1`: the apiserver speaks HTTP/2 to webhooks when it can.
pub fn server_config(store: Arc<CertStore>) -> Result<ServerConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&TLS13, &TLS12])
        .map_err(Error::Tls)?
        .with_no_client_auth()
        .with_cert_resolver(store);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
