//! What injection is configured with, and what it knows about the cluster at request time.

use serde::Serialize;

/// When the sidecar is injected as a native sidecar (an init container with
/// `restartPolicy: Always`, which Kubernetes runs beside the app and never waits for).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NativeMode {
    /// When the apiserver and every kubelet are at least 1.29.
    Auto,
    /// Always.
    Always,
    /// Never: a regular container.
    Never,
}

/// Requests and limits of the sidecar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resources {
    /// CPU request.
    pub cpu: String,
    /// Memory request.
    pub memory: String,
    /// Memory limit.
    pub memory_limit: String,
}

impl Default for Resources {
    fn default() -> Self {
        Self {
            cpu: "50m".to_owned(),
            memory: "64Mi".to_owned(),
            memory_limit: "128Mi".to_owned(),
        }
    }
}

/// Injection settings, fixed at start-up.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The sidecar image.
    pub image: String,
    /// Its pull policy.
    pub pull_policy: String,
    /// Native sidecar or regular container.
    pub native: NativeMode,
    /// Default resources, overridable per pod by annotation.
    pub resources: Resources,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            image: format!(
                "ghcr.io/ferry-dev/ferry-sidecar:{}",
                env!("CARGO_PKG_VERSION")
            ),
            pull_policy: "IfNotPresent".to_owned(),
            native: NativeMode::Auto,
            resources: Resources::default(),
        }
    }
}

/// What the webhook knows about the cluster when a request arrives, gathered from caches so
/// the decision itself stays a pure function.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Whether the apiserver and every kubelet support native sidecars (for `auto`).
    pub cluster_supports_native: bool,
    /// Whether the pod's namespace carries `ferry.dev/privileged-movers: "true"`.
    pub privileged_namespace: bool,
    /// The bound CR, when it exists: its PVC and the Secrets its mover reads.
    pub bound: Option<BoundObject>,
    /// Extra warnings found while gathering (e.g. missing RBAC), already under 120 chars.
    pub warnings: Vec<String>,
}

/// What the webhook needs to know of the bound ReplicationSource or ReplicationDestination.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BoundObject {
    /// `spec.sourcePVC` or `spec.*.destinationPVC`.
    pub pvc: Option<String>,
    /// Whether the source asks for a restore on first start (`spec.rclone.restoreOnEmpty`).
    pub restore: bool,
}
