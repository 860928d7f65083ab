//! The S3 client: aws-sdk-s3 on its rustls 0.23 client with the aws-lc-rs provider (the one
//! TLS stack of the workspace), checksums only where S3 requires them (rclone issue #8432),
//! bounded timeouts and retries with jittered exponential backoff.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, Region, RequestChecksumCalculation, ResponseChecksumValidation,
    SharedCredentialsProvider,
};
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use aws_smithy_runtime::client::retries::RetryPartition;
use aws_smithy_runtime::client::retries::TokenBucket;

use super::config::{Credentials, S3Config, Setting};
use super::error::{Error, Result};
use super::requests::{Counter, Requests};

/// Attempts per request (the first one and retries) of the SDK's retry layer; the engine
/// retries whole operations on top of this.
pub const MAX_ATTEMPTS: u32 = 6;
/// Longest wait for a TCP/TLS connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for response bytes.
pub const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Builds the S3 client for `config`; every request it sends is counted in `requests`.
pub async fn build(config: &S3Config, requests: Arc<Requests>) -> Result<Client> {
    let mut builder = aws_sdk_s3::config::Builder::new()
        .interceptor(Counter(requests))
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(config.region.clone()))
        .force_path_style(config.force_path_style)
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(MAX_ATTEMPTS)
                .with_initial_backoff(Duration::from_millis(100))
                .with_max_backoff(Duration::from_secs(5)),
        )
        // The retry quota would turn a burst of throttling into hard failures; the
        // engine bounds retries per operation instead.
        .retry_partition(
            RetryPartition::custom("ferry-s3")
                .token_bucket(TokenBucket::unlimited())
                .build(),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .read_timeout(READ_TIMEOUT)
                .build(),
        )
        .http_client(http_client(config)?);
    if let Some(endpoint) = &config.endpoint {
        builder = builder.endpoint_url(endpoint);
    }
    builder = match &config.credentials {
        Credentials::Static {
            access_key_id,
            secret_access_key,
            session_token,
        } => builder.credentials_provider(aws_sdk_s3::config::Credentials::new(
            access_key_id,
            secret_access_key.expose(),
            session_token.as_ref().map(|t| t.expose().to_owned()),
            None,
            "ferry-config",
        )),
        Credentials::Environment => {
            let chain =
                aws_config::default_provider::credentials::DefaultCredentialsChain::builder()
                    .region(Region::new(config.region.clone()))
                    .build()
                    .await;
            builder.credentials_provider(SharedCredentialsProvider::new(chain))
        }
        Credentials::Anonymous => builder.allow_no_auth(),
    };
    Ok(Client::from_conf(builder.build()))
}

/// The HTTPS client: rustls on aws-lc-rs, trusting the system roots plus the CA bundle.
fn http_client(config: &S3Config) -> Result<aws_sdk_s3::config::SharedHttpClient> {
    let mut trust = TrustStore::default();
    if let Some(path) = &config.ca_bundle {
        let pem = std::fs::read(path).map_err(|e| Error::Config {
            setting: config.name(Setting::CaBundle),
            problem: format!("cannot read {}: {e}", path.display()),
            fix: String::from("mount the CA bundle there or fix the path"),
            source: Some(Box::new(e)),
        })?;
        if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
            return Err(Error::config(
                config.name(Setting::CaBundle),
                format!("{} holds no PEM certificate", path.display()),
                "give a PEM file with -----BEGIN CERTIFICATE----- blocks",
            ));
        }
        trust = trust.with_pem_certificate(pem);
    }
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .map_err(|e| Error::Config {
            setting: config.name(Setting::CaBundle),
            problem: format!("unusable TLS settings: {e}"),
            fix: String::from("give a valid PEM CA bundle"),
            source: Some(Box::new(e)),
        })?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .tls_context(context)
        .build_https())
}

/// Shared handle on a client and the settings it was built from.
pub type SharedClient = Arc<Client>;
