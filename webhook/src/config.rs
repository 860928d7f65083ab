//! Command-line and environment configuration, parsed and checked at start-up.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::inject::NativeMode;

/// Where the serving certificate comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CertMode {
    /// Files mounted from a Secret (cert-manager or provided), reloaded when they change.
    Files,
    /// The webhook keeps its own CA and leaf in a Secret; the Lease holder renews them and
    /// patches the caBundle.
    SelfManaged,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line, for log pipelines.
    Json,
    /// Human-readable lines.
    Plain,
}

/// Ferry's admission webhook.
#[derive(Debug, Parser)]
#[command(name = "ferry-webhook", version, about)]
pub struct Config {
    /// Address to serve HTTPS on.
    #[arg(long, env = "FERRY_WEBHOOK_LISTEN", default_value = "0.0.0.0:10250")]
    pub listen: SocketAddr,

    /// Where the serving certificate comes from.
    #[arg(long, env = "FERRY_CERT_MODE", value_enum, default_value = "files")]
    pub cert_mode: CertMode,

    /// PEM certificate chain (files mode).
    #[arg(
        long,
        env = "FERRY_TLS_CERT_FILE",
        default_value = "/etc/ferry/tls/tls.crt"
    )]
    pub tls_cert_file: PathBuf,

    /// PEM private key (files mode).
    #[arg(
        long,
        env = "FERRY_TLS_KEY_FILE",
        default_value = "/etc/ferry/tls/tls.key"
    )]
    pub tls_key_file: PathBuf,

    /// How often mounted certificate files and the certificate Secret are checked.
    #[arg(long, env = "FERRY_CERT_POLL", default_value = "2s", value_parser = parse_duration)]
    pub cert_poll: Duration,

    /// The webhook's namespace (self-managed mode).
    #[arg(long, env = "POD_NAMESPACE", default_value = "ferry-system")]
    pub namespace: String,

    /// This instance's identity in the Lease, normally the pod name (self-managed mode).
    #[arg(long, env = "POD_NAME", default_value = "ferry-webhook")]
    pub pod_name: String,

    /// The Service in front of the webhook, named in the certificate (self-managed mode).
    #[arg(long, env = "FERRY_SERVICE_NAME", default_value = "ferry-webhook")]
    pub service_name: String,

    /// The Secret holding the CA and the serving certificate (self-managed mode).
    #[arg(long, env = "FERRY_CERT_SECRET", default_value = "ferry-webhook-tls")]
    pub cert_secret: String,

    /// The Lease that picks the leader: it renews certificates (self-managed mode) and runs
    /// the health checks (every mode).
    #[arg(long, env = "FERRY_CERT_LEASE", default_value = "ferry-webhook-certs")]
    pub cert_lease: String,

    /// MutatingWebhookConfigurations whose caBundle is kept current (self-managed mode) or
    /// checked (every mode); the first one's namespaceSelector says which pods should carry
    /// the sidecar.
    #[arg(
        long = "mutating-webhook",
        env = "FERRY_MUTATING_WEBHOOKS",
        value_delimiter = ','
    )]
    pub mutating_webhooks: Vec<String>,

    /// ValidatingWebhookConfigurations whose caBundle is kept current (self-managed mode) or
    /// checked (every mode).
    #[arg(
        long = "validating-webhook",
        env = "FERRY_VALIDATING_WEBHOOKS",
        value_delimiter = ','
    )]
    pub validating_webhooks: Vec<String>,

    /// Extra DNS names for the serving certificate (self-managed mode).
    #[arg(
        long = "extra-dns-name",
        env = "FERRY_EXTRA_DNS_NAMES",
        value_delimiter = ','
    )]
    pub extra_dns_names: Vec<String>,

    /// Extra IP addresses for the serving certificate (self-managed mode).
    #[arg(long = "extra-ip", env = "FERRY_EXTRA_IPS", value_delimiter = ',')]
    pub extra_ips: Vec<IpAddr>,

    /// How long the leader's Lease lasts without renewal.
    #[arg(long, env = "FERRY_CERT_LEASE_DURATION", default_value = "15s", value_parser = parse_duration)]
    pub cert_lease_duration: Duration,

    /// Lifetime of a serving certificate the webhook issues itself (self-managed mode); it is
    /// renewed at two thirds of it.
    #[arg(long, env = "FERRY_CERT_LEAF_VALIDITY", default_value = "8760h", value_parser = parse_duration)]
    pub cert_leaf_validity: Duration,

    /// How often the leader checks its certificates, the caBundles, and the labelled pods
    /// (not injected, or injected by another version).
    #[arg(long, env = "FERRY_HEALTH_INTERVAL", default_value = "60s", value_parser = parse_positive_duration)]
    pub health_interval: Duration,

    /// How long in-flight requests may take to finish after SIGTERM.
    #[arg(long, env = "FERRY_SHUTDOWN_GRACE", default_value = "10s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,

    /// The sidecar image injected into pods.
    #[arg(long, env = "FERRY_SIDECAR_IMAGE", default_value = concat!("ghcr.io/ferry-dev/ferry-sidecar:", env!("CARGO_PKG_VERSION")))]
    pub sidecar_image: String,

    /// The sidecar image's pull policy.
    #[arg(
        long,
        env = "FERRY_SIDECAR_PULL_POLICY",
        default_value = "IfNotPresent"
    )]
    pub sidecar_pull_policy: String,

    /// Inject a native sidecar (init container with restartPolicy Always): `auto` when the
    /// apiserver and every kubelet are 1.29 or later.
    #[arg(long, env = "FERRY_NATIVE_SIDECAR", value_enum, default_value = "auto")]
    pub native_sidecar: NativeMode,

    /// Default CPU request of the sidecar; `ferry.dev/sidecar-cpu` overrides it per pod.
    #[arg(long, env = "FERRY_SIDECAR_CPU", default_value = "50m")]
    pub sidecar_cpu: String,

    /// Default memory request of the sidecar: above its working set while pushing 10,000
    /// small files (43 MiB measured); `ferry.dev/sidecar-memory` overrides it and the limit.
    #[arg(long, env = "FERRY_SIDECAR_MEMORY", default_value = "64Mi")]
    pub sidecar_memory: String,

    /// Default memory limit of the sidecar: three times its processes' peak while pushing
    /// 4 files of 256 MiB (41 MiB anonymous measured; the S3 engine sizes its buffers from
    /// this limit); `ferry.dev/sidecar-memory` overrides it and the request.
    #[arg(long, env = "FERRY_SIDECAR_MEMORY_LIMIT", default_value = "128Mi")]
    pub sidecar_memory_limit: String,

    /// Log line format.
    #[arg(long, env = "FERRY_LOG_FORMAT", value_enum, default_value = "json")]
    pub log_format: LogFormat,

    /// Serve `/allow`, which admits everything unread: the cost floor for benchmarks only.
    #[arg(long, hide = true)]
    pub floor_endpoint: bool,
}

/// Parses a duration (as [`parse_duration`]) that must not be zero.
pub fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        d if d.is_zero() => Err(format!("{text:?} must be longer than zero, as in \"60s\"")),
        d => Ok(d),
    }
}

/// Parses `500ms`, `2s`, `5m` or `1h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{text:?} needs a unit: ms, s, m or h, as in \"2s\""))?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} must start with a whole number, as in \"2s\""))?;
    match unit {
        "ms" => Ok(Duration::from_millis(number)),
        "s" => Ok(Duration::from_secs(number)),
        "m" => Ok(Duration::from_secs(number * 60)),
        "h" => Ok(Duration::from_secs(number * 3600)),
        _ => Err(format!("{text:?} has an unknown unit: use ms, s, m or h")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(
            parse_duration("2"),
            Err("\"2\" needs a unit: ms, s, m or h, as in \"2s\"".into())
        );
        assert_eq!(
            parse_duration("2d"),
            Err("\"2d\" has an unknown unit: use ms, s, m or h".into())
        );
        assert_eq!(
            parse_duration("s"),
            Err("\"s\" must start with a whole number, as in \"2s\"".into())
        );
        assert_eq!(parse_positive_duration("3s"), Ok(Duration::from_secs(3)));
        assert_eq!(
            parse_positive_duration("0s"),
            Err("\"0s\" must be longer than zero, as in \"60s\"".into())
        );
    }
}
