//! One hook call: an HTTP/1.1 request to the pod's loopback, over TLS when the hook says
//! HTTPS (trusting only the CA it names), with headers from a Secret, within a timeout.
//!
//! A small client of its own on hyper's connection API, because a hook makes one request to
//! one address and a pooled client would add a dependency for nothing. Header values are
//! secrets: they are sent, never logged, and never part of an error.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;

use ferry_api::rules::hook::Target;

/// The most of an answer's body kept for the status message.
const BODY_KEPT: usize = 200;

/// How a hook call went wrong. The `Display` is what the Event and the status say: it never
/// holds a header value.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// No answer within the timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The connection failed (nothing listens on the port, or the TLS handshake failed).
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The HTTP exchange failed.
    #[error("HTTP: {0}")]
    Http(String),
    /// The app answered with a status other than 2xx.
    #[error("answered HTTP {status}{}", with_colon(.body))]
    Status {
        /// The status code.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// The hook's settings cannot be used (a bad CA, a header the Secret cannot carry).
    #[error("{0}")]
    Config(String),
}

/// `": body"`, or nothing for an empty body.
fn with_colon(body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        format!(": {body}")
    }
}

/// TLS settings of an HTTPS hook: the trusted CA certificates and the name to check.
#[derive(Clone)]
pub struct Tls {
    config: Arc<rustls::ClientConfig>,
    server_name: ServerName<'static>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("server_name", &self.server_name)
            .finish()
    }
}

impl Tls {
    /// Trusts only the PEM certificates in `ca`, and checks the answer's certificate against
    /// `server_name`.
    pub fn new(ca: &[u8], server_name: &str) -> Result<Tls, CallError> {
        let mut roots = rustls::RootCertStore::empty();
        let mut found = 0;
        for cert in CertificateDer::pem_slice_iter(ca) {
            let cert = cert.map_err(|e| CallError::Config(format!("the CA is not PEM: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| CallError::Config(format!("the CA certificate is not usable: {e}")))?;
            found += 1;
        }
        if found == 0 {
            return Err(CallError::Config(
                "the CA holds no PEM certificate (-----BEGIN CERTIFICATE-----)".to_owned(),
            ));
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| CallError::Config(format!("TLS: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let bare = server_name.trim_start_matches('[').trim_end_matches(']');
        let server_name = ServerName::try_from(bare.to_owned()).map_err(|_| {
            CallError::Config(format!("\"{server_name}\" is not a TLS server name"))
        })?;
        Ok(Tls {
            config: Arc::new(config),
            server_name,
        })
    }
}

/// What a successful call answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The status code (2xx).
    pub status: u16,
}

/// Sends the hook's request and waits for its answer, for at most `timeout`. Only a 2xx
/// answer is a success.
pub async fn call(
    target: &Target,
    headers: &[(String, Vec<u8>)],
    tls: Option<&Tls>,
    timeout: Duration,
) -> Result<Answer, CallError> {
    match tokio::time::timeout(timeout, exchange(target, headers, tls)).await {
        Ok(result) => result,
        Err(_) => Err(CallError::Timeout(timeout)),
    }
}

async fn exchange(
    target: &Target,
    headers: &[(String, Vec<u8>)],
    tls: Option<&Tls>,
) -> Result<Answer, CallError> {
    let host = target.host.trim_start_matches('[').trim_end_matches(']');
    let tcp = TcpStream::connect((host, target.port))
        .await
        .map_err(|e| CallError::Connect(e.to_string()))?;
    let _ = tcp.set_nodelay(true);
    let request = request(target, headers)?;
    match tls {
        Some(tls) => {
            let connector = tokio_rustls::TlsConnector::from(Arc::clone(&tls.config));
            let stream = connector
                .connect(tls.server_name.clone(), tcp)
                .await
                .map_err(|e| CallError::Connect(format!("TLS: {e}")))?;
            send(TokioIo::new(stream), request).await
        }
        None => send(TokioIo::new(tcp), request).await,
    }
}

fn request(
    target: &Target,
    headers: &[(String, Vec<u8>)],
) -> Result<Request<Empty<Bytes>>, CallError> {
    let authority = if target.host.contains(':') && !target.host.starts_with('[') {
        format!("[{}]:{}", target.host, target.port)
    } else {
        format!("{}:{}", target.host, target.port)
    };
    let mut builder = Request::builder()
        .method(target.method.as_str())
        .uri(target.path.as_str())
        .header(hyper::header::HOST, authority)
        .header(hyper::header::USER_AGENT, "ferry-sidecar")
        .header(hyper::header::CONTENT_LENGTH, "0");
    for (name, value) in headers {
        let value = hyper::header::HeaderValue::from_bytes(value).map_err(|_| {
            // The value is secret: name the header only.
            CallError::Config(format!(
                "the value of header {name} is not a valid header value"
            ))
        })?;
        builder = builder.header(name.as_str(), value);
    }
    builder
        .body(Empty::new())
        .map_err(|e| CallError::Config(format!("building the request: {e}")))
}

async fn send<S>(io: TokioIo<S>, request: Request<Empty<Bytes>>) -> Result<Answer, CallError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| CallError::Http(e.to_string()))?;
    let driver = tokio::spawn(connection);
    let result = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| CallError::Http(e.to_string()))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        if (200..300).contains(&status) {
            Ok(Answer { status })
        } else {
            let text = String::from_utf8_lossy(&body);
            let text: String = text.trim().chars().take(BODY_KEPT).collect();
            Err(CallError::Status { status, body: text })
        }
    }
    .await;
    driver.abort();
    result
}

#[cfg(test)]
mod tests;
