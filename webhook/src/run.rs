//! Start-up and shutdown: the certificate source, the TLS listener, and the drain on SIGTERM.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use axum_server::Handle;
use axum_server::accept::NoDelayAcceptor;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use ferry_certs::CertStore;
use hyper_util::rt::TokioTimer;
use tracing::{info, warn};

use crate::cluster::ClusterView;
use crate::config::{CertMode, Config};
use crate::health::{self, HealthConfig, Leadership};
use crate::inject::{NativeMode, Resources, Settings};
use crate::metrics::Metrics;
use crate::server::{AppState, router};

/// How long a client may take to send its request headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Errors that stop the webhook from starting.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address from `--listen`.
        addr: std::net::SocketAddr,
        /// Why binding failed.
        #[source]
        source: std::io::Error,
    },
    /// The TLS configuration could not be built.
    #[error("cannot build the TLS configuration: {0}")]
    Tls(#[source] ferry_certs::Error),
    /// Self-managed mode needs a Kubernetes client.
    #[error("self-managed certificates need access to the Kubernetes API: {0}")]
    Kube(#[source] kube::Error),
    /// The server stopped with an I/O error.
    #[error("the server stopped: {0}")]
    Serve(#[source] std::io::Error),
    /// The sidecar's default memory request or limit is not a quantity, or the request is
    /// above the limit (the apiserver would refuse every injected pod).
    #[error("{0}")]
    Memory(String),
}

/// Checks the sidecar's default memory request against its limit.
fn check_memory(request: &str, limit: &str) -> Result<(), StartError> {
    use ferry_api::rules::quantity::Quantity;
    let parse = |flag: &str, value: &str| {
        Quantity::parse(value).map_err(|e| {
            StartError::Memory(format!(
                "{flag} {value:?} is not a quantity such as 64Mi: {e}"
            ))
        })
    };
    let (req, lim) = (
        parse("--sidecar-memory", request)?,
        parse("--sidecar-memory-limit", limit)?,
    );
    if req.as_f64() > lim.as_f64() {
        return Err(StartError::Memory(format!(
            "--sidecar-memory {request} is above --sidecar-memory-limit {limit}: the apiserver \
             would refuse every injected pod; lower the request or raise the limit (chart: \
             sidecar.resources.memory, sidecar.resources.memoryLimit)"
        )));
    }
    Ok(())
}

/// Runs the webhook until SIGTERM or Ctrl-C, then drains for the configured grace period.
pub async fn run(config: Config) -> Result<(), StartError> {
    check_memory(&config.sidecar_memory, &config.sidecar_memory_limit)?;
    let listener = TcpListener::bind(config.listen)
        .and_then(|listener| {
            // tokio refuses to adopt a blocking socket.
            listener.set_nonblocking(true)?;
            Ok(listener)
        })
        .map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
    let handle = Handle::new();
    let certs = CertStore::new();
    let (certs_task, reports) = spawn_cert_source(&config, Arc::clone(&certs)).await?;
    let client = match kube::Client::try_default().await {
        Ok(client) => Some(client),
        Err(err) => {
            warn!(error = %err, "no Kubernetes API access: injecting without namespace, CR and RBAC facts, and no health checks");
            None
        }
    };
    let cluster = match &client {
        Some(client) => ClusterView::start(client.clone()),
        None => ClusterView::offline(config.native_sidecar != NativeMode::Never),
    };
    let metrics = Metrics::new();
    if let Some(client) = client {
        spawn_health(&config, client, Arc::clone(&certs), &metrics, reports);
    }
    let settings = Settings {
        image: config.sidecar_image.clone(),
        pull_policy: config.sidecar_pull_policy.clone(),
        native: config.native_sidecar,
        resources: Resources {
            cpu: config.sidecar_cpu.clone(),
            memory: config.sidecar_memory.clone(),
            memory_limit: config.sidecar_memory_limit.clone(),
        },
    };
    let state = Arc::new(AppState {
        metrics,
        certs: Arc::clone(&certs),
        settings,
        cluster,
    });
    let app = router(state, config.floor_endpoint);

    let tls = ferry_certs::server_config(certs).map_err(StartError::Tls)?;
    let acceptor = RustlsAcceptor::new(RustlsConfig::from_config(Arc::new(tls)))
        .handshake_timeout(HANDSHAKE_TIMEOUT)
        // Without TCP_NODELAY, small HTTP/2 frames wait on delayed ACKs: tens of ms a call.
        .acceptor(NoDelayAcceptor::new());
    let mut server = axum_server::from_tcp(listener)
        .map_err(StartError::Serve)?
        .acceptor(acceptor)
        .handle(handle.clone());
    server
        .http_builder()
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);

    tokio::spawn(drain_on_signal(handle, config.shutdown_grace));
    info!(listen = %config.listen, mode = ?config.cert_mode, "serving");
    let served = server.serve(app.into_make_service()).await;
    certs_task.abort();
    served.map_err(StartError::Serve)
}

/// Starts the leader's health checks, led by the certificate task's Lease (self-managed) or
/// by the same Lease held here. Off when no webhook configuration is named: there is then
/// nothing to check against (a webhook run by hand, a benchmark).
fn spawn_health(
    config: &Config,
    client: kube::Client,
    certs: Arc<CertStore>,
    metrics: &Metrics,
    reports: Option<ferry_certs::self_managed::Reports>,
) {
    if config.mutating_webhooks.is_empty() && config.validating_webhooks.is_empty() {
        info!("health checks off: no --mutating-webhook or --validating-webhook named");
        return;
    }
    let leadership = match reports {
        Some(reports) => Leadership {
            leader: reports.leader,
            repairs: Some(reports.repairs),
        },
        None => Leadership {
            leader: health::elect(
                client.clone(),
                &config.namespace,
                &config.cert_lease,
                &config.pod_name,
                config.cert_lease_duration,
            ),
            repairs: None,
        },
    };
    let settings = HealthConfig {
        interval: config.health_interval,
        identity: config.pod_name.clone(),
        mutating: config.mutating_webhooks.clone(),
        validating: config.validating_webhooks.clone(),
        self_managed: config.cert_mode == CertMode::SelfManaged,
        version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    tokio::spawn(health::run(
        client,
        settings,
        certs,
        metrics.health(),
        leadership,
    ));
}

/// Starts the task that keeps the serving certificate current; in self-managed mode, with
/// its reports (Lease held, caBundles repaired) for the health checks.
async fn spawn_cert_source(
    config: &Config,
    certs: Arc<CertStore>,
) -> Result<
    (
        tokio::task::JoinHandle<()>,
        Option<ferry_certs::self_managed::Reports>,
    ),
    StartError,
> {
    match config.cert_mode {
        CertMode::Files => {
            let (cert, key, poll) = (
                config.tls_cert_file.clone(),
                config.tls_key_file.clone(),
                config.cert_poll,
            );
            let task = tokio::spawn(ferry_certs::files::watch_files(cert, key, certs, poll));
            Ok((task, None))
        }
        CertMode::SelfManaged => {
            let client = kube::Client::try_default()
                .await
                .map_err(StartError::Kube)?;
            let settings = ferry_certs::self_managed::SelfManagedConfig {
                namespace: config.namespace.clone(),
                secret_name: config.cert_secret.clone(),
                lease_name: config.cert_lease.clone(),
                identity: config.pod_name.clone(),
                service_name: config.service_name.clone(),
                extra_dns_names: config.extra_dns_names.clone(),
                extra_ips: config.extra_ips.clone(),
                mutating_webhooks: config.mutating_webhooks.clone(),
                validating_webhooks: config.validating_webhooks.clone(),
                poll_interval: config.cert_poll,
                lease_duration: config.cert_lease_duration,
                leaf_validity: config.cert_leaf_validity,
                ..ferry_certs::self_managed::SelfManagedConfig::default()
            };
            let (reporter, reports) = ferry_certs::self_managed::report::channel();
            let task = tokio::spawn(async move {
                let run = ferry_certs::self_managed::run(client, settings, certs, reporter);
                if let Err(err) = run.await {
                    warn!(error = %err, "self-managed certificates stopped");
                }
            });
            Ok((task, Some(reports)))
        }
    }
}

/// Waits for SIGTERM or Ctrl-C, then stops accepting and lets in-flight requests finish.
async fn drain_on_signal(handle: Handle<std::net::SocketAddr>, grace: Duration) {
    ferry_kube::shutdown::signalled().await;
    info!(?grace, "draining");
    handle.graceful_shutdown(Some(grace));
}

#[cfg(test)]
mod memory_tests {
    use super::check_memory;

    #[test]
    fn the_memory_request_may_not_exceed_the_limit() {
        assert!(check_memory("48Mi", "128Mi").is_ok());
        assert!(check_memory("128Mi", "128Mi").is_ok());
        let err = check_memory("256Mi", "128Mi").unwrap_err().to_string();
        assert!(
            err.contains("--sidecar-memory 256Mi is above --sidecar-memory-limit 128Mi"),
            "{err}"
        );
        let err = check_memory("lots", "128Mi").unwrap_err().to_string();
        assert!(
            err.starts_with("--sidecar-memory \"lots\" is not a quantity"),
            "{err}"
        );
    }
}
