//! The pod runner: the one stand-in for a kubelet in Ferry's test cluster.
//!
//! The test cluster has a real apiserver, controller manager, CSI driver and snapshot
//! machinery, but no kubelet and no container runtime. This runner fills that gap for Ferry's
//! own containers only: it watches pods that have a container named `ferry-sidecar` (a native
//! sidecar or a regular container) or carry the label `ferry.dev/mover`, binds them to the
//! node `ferry-local`, and runs those containers' commands as local processes, each in a
//! private mount namespace where every volume is bind-mounted at its `mountPath`, so the
//! process sees the paths it would see in a pod. It gives each pod its own loopback address
//! (`status.podIP`), resolves the environment (downward API included), gives API access the
//! way a pod has it (a projected service-account token and `KUBERNETES_SERVICE_HOST`/`_PORT`),
//! writes the pod status (Running and Ready, then Succeeded or Failed with exit codes), and
//! stops the processes when the pod is deleted.
//!
//! What it does not do: no images (the command runs from this machine's filesystem; a
//! container without a command needs an `--entrypoint` for its image), no cgroups or resource
//! limits, no network, PID, user or IPC namespaces (ports are shared, separated only by the
//! pod addresses; there is no kube-proxy, so Service IPs do not route, and the apiserver
//! refuses loopback addresses in EndpointSlices, so Services have no endpoints: tests reach a
//! pod by its pod IP), no probes, no restarts,
//! no image pulls, no container log API (`kubectl logs`): each container's output is in
//! `<work dir>/pods/<namespace>_<name>_<uid>/<container>.log`. Application containers are
//! never run. Secret, ConfigMap and token files are written once, not refreshed.

pub mod addresses;
pub mod config;
pub mod container;
pub mod downward;
pub mod env;
pub mod error;
pub mod files;
pub mod launch;
pub mod pod;
pub mod select;
pub mod spawn;
pub mod status;
pub mod volumes;
pub mod watch;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

pub use config::Args;
pub use error::{Error, Result};
pub use watch::run;

use addresses::Addresses;
use env::ApiEndpoint;

/// What the runner is told at start-up.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The Node pods are bound to.
    pub node_name: String,
    /// The CSI driver whose volumes are directories under `csi_data_dir`.
    pub csi_driver: String,
    /// Where that driver keeps each volume, as `<csi_data_dir>/<volume handle>`.
    pub csi_data_dir: PathBuf,
    /// Where pod directories (materialised volumes, scripts, logs) go.
    pub work_dir: PathBuf,
    /// Written once the first list of pods is handled.
    pub ready_file: Option<PathBuf>,
    /// The command for a container without one, by image name.
    pub entrypoints: BTreeMap<String, PathBuf>,
    /// Put in front of the processes' `PATH`.
    pub path_prepend: Vec<PathBuf>,
    /// How long processes get to stop when the runner stops or their pod vanishes.
    pub shutdown_grace: Duration,
}

/// What every pod task shares.
pub struct Context {
    /// A client with the runner's (admin) credentials.
    pub client: kube::Client,
    /// The start-up settings.
    pub settings: Settings,
    /// Where pods reach the apiserver.
    pub api: ApiEndpoint,
    addresses: Mutex<Addresses>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("settings", &self.settings)
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// Connects with `config`; pods will reach the apiserver at the same address.
    pub fn new(config: kube::Config, settings: Settings) -> Result<Self> {
        let uri = &config.cluster_url;
        let host = uri
            .host()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_owned())
            .ok_or_else(|| Error::Config(format!("no host in the server address {uri}")))?;
        let port = uri.port_u16().unwrap_or(443);
        let client = kube::Client::try_from(config)
            .map_err(|e| Error::kube("building the API client", e))?;
        Ok(Self {
            client,
            settings,
            api: ApiEndpoint { host, port },
            addresses: Mutex::new(Addresses::default()),
        })
    }

    /// The pod addresses handed out.
    pub fn addresses(&self) -> MutexGuard<'_, Addresses> {
        // No code panics while holding the lock; a poisoned one still holds valid data.
        self.addresses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
