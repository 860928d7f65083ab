//! Ferry installed on the test cluster the way a user installs it: the webhook and sidecar
//! images built here (`tests/cluster/images/build`, what `make images` runs without a Docker
//! engine) from the binaries beside the running test executable, imported into the node's
//! containerd, and the Helm chart installed with them. The webhook then runs as the chart's
//! Deployment on the node, with self-managed certificates, and the apiserver calls it
//! through its Service; the sidecars and mover pods it injects run from the sidecar image.
//!
//! One release serves every test of a run: it sees the namespaces labelled
//! [`NAMESPACE_LABEL`] (any value), so the namespaces of other tests (chart, webhook) never
//! reach it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use serde_json::json;

use crate::cluster::{Cluster, repo_root};
use crate::process::run_within;

/// The registry part of the image names, as `make images` tags them.
pub const REGISTRY: &str = "ghcr.io/ferry-dev";
/// The release, and the namespace it is installed in.
pub const RELEASE: &str = "ferry-e2e";
/// The namespace of the release.
pub const RELEASE_NAMESPACE: &str = "ferry-e2e";
/// Namespaces with this label (any value) are seen by the release's webhooks.
pub const NAMESPACE_LABEL: &str = "ferry-e2e/installed";
/// The release's sidecar ClusterRole (not the chart default, which `make demo` installs).
pub const SIDECAR_CLUSTER_ROLE: &str = "ferry-e2e-sidecar";
/// The webhook Deployment of the release.
pub const WEBHOOK_DEPLOYMENT: &str = "ferry-e2e-webhook";

static IMAGES: OnceLock<Result<Images, String>> = OnceLock::new();
static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();

/// The workspace version: the images' tag, as `make images` sets it.
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The sidecar image the release injects.
pub fn sidecar_image() -> String {
    format!("{REGISTRY}/ferry-sidecar:{}", version())
}

/// The webhook image the release runs.
pub fn webhook_image() -> String {
    format!("{REGISTRY}/ferry-webhook:{}", version())
}

/// The images of this build, in the node's containerd.
#[derive(Clone, Debug)]
pub struct Images {
    /// The archives `images/build` wrote (their names carry a hash of their inputs).
    pub archives: Vec<PathBuf>,
}

impl Images {
    /// A short name for this build of the images: changes whenever a binary does.
    pub fn key(&self) -> String {
        self.archives
            .iter()
            .filter_map(|a| a.file_stem()?.to_str()?.rsplit('-').next())
            .collect::<Vec<_>>()
            .join("-")
    }
}

/// The cargo profile directory this executable was built into (`target/debug`, or
/// `target/release` for a benchmark), whose Ferry binaries go into the images.
fn profile() -> anyhow::Result<String> {
    let exe = std::env::current_exe()?;
    exe.ancestors()
        .skip(1)
        .take(2)
        .find(|dir| dir.join("ferry-sidecar").is_file())
        .and_then(|dir| dir.file_name()?.to_str().map(str::to_owned))
        .with_context(|| {
            format!(
                "no ferry-sidecar beside {}: build the binaries first (cargo build --workspace --bins)",
                exe.display()
            )
        })
}

/// Builds the webhook and sidecar images from this build's binaries (nothing is rebuilt
/// when an archive of the same inputs exists) and imports them into the node, once per
/// test executable.
pub fn images(cluster: &Cluster) -> anyhow::Result<Images> {
    IMAGES
        .get_or_init(|| build_images(cluster).map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(|e| anyhow!("building Ferry's images: {e}"))
}

fn build_images(cluster: &Cluster) -> anyhow::Result<Images> {
    let build = repo_root().join("tests/cluster/images/build");
    let profile = profile()?;
    let mut command = Command::new(&build);
    command.args(["ferry", &profile, REGISTRY, version()]);
    let out = run_within(&mut command, Duration::from_secs(900))?;
    if !out.status.success() {
        bail!(
            "{} ferry {profile} failed:\n{}",
            build.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let archives: Vec<PathBuf> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(PathBuf::from)
        .collect();
    let mut import = Command::new(&build);
    import.arg("import").arg(&cluster.state).args(&archives);
    let out = run_within(&mut import, Duration::from_secs(300))?;
    if !out.status.success() {
        bail!(
            "{} import failed:\n{}",
            build.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(Images { archives })
}

/// Installs (or upgrades) the release once per test executable: the images of this build,
/// one webhook replica, and the pod annotation naming the images' build, so a new build
/// rolls the webhook out. Returns once the webhook Deployment is available.
pub fn installed(cluster: &Cluster) -> anyhow::Result<()> {
    INSTALLED
        .get_or_init(|| install(cluster).map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(|e| anyhow!("installing the chart: {e}"))
}

fn install(cluster: &Cluster) -> anyhow::Result<()> {
    let images = images(cluster)?;
    let values = release_values(&images, SIDECAR_CLUSTER_ROLE, NAMESPACE_LABEL);
    helm_install(cluster, RELEASE, RELEASE_NAMESPACE, &values)
        .map_err(|e| anyhow!("{e:#}\n{}", webhook_log(cluster, 40)))
}

/// The values of a test release: this build's images, one webhook replica that sees the
/// namespaces labelled `namespace_label` (any value), the sidecar's ClusterRole named
/// `sidecar_cluster_role`, and the pod annotation naming the images' build, so a new build
/// rolls the webhook out.
pub fn release_values(
    images: &Images,
    sidecar_cluster_role: &str,
    namespace_label: &str,
) -> serde_json::Value {
    json!({
        "image": {"repository": format!("{REGISTRY}/ferry-webhook"), "tag": version(),
            "pullPolicy": "IfNotPresent"},
        "sidecar": {"image": {"repository": format!("{REGISTRY}/ferry-sidecar"), "tag": version(),
            "pullPolicy": "IfNotPresent"}, "clusterRoleName": sidecar_cluster_role},
        "webhook": {
            "replicas": 1,
            "logFormat": "plain",
            "namespaceSelector": {"matchExpressions": [{"key": namespace_label, "operator": "Exists"}]},
            "podAnnotations": {"ferry-e2e/images": images.key()},
        },
    })
}

/// `helm upgrade --install` of the chart of this checkout as `release` in `namespace`
/// (created if needed) with `values`, waiting until the webhook Deployment is available.
pub fn helm_install(
    cluster: &Cluster,
    release: &str,
    namespace: &str,
    values: &serde_json::Value,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("values.json");
    std::fs::write(&file, values.to_string())?;
    let chart = repo_root().join("charts/ferry");
    let out = cluster.helm([
        "upgrade",
        "--install",
        release,
        path(&chart)?,
        "--namespace",
        namespace,
        "--create-namespace",
        "--values",
        path(&file)?,
        "--wait",
        "--timeout",
        "180s",
    ])?;
    if !out.success {
        bail!(
            "helm upgrade --install {release} failed:\n{}{}",
            out.stdout,
            out.stderr
        );
    }
    Ok(())
}

fn path(p: &Path) -> anyhow::Result<&str> {
    p.to_str()
        .with_context(|| format!("{} is not UTF-8", p.display()))
}

/// The last `lines` of the release's webhook log, as `kubectl logs` shows it.
pub fn webhook_log(cluster: &Cluster, lines: u32) -> String {
    let tail = format!("--tail={lines}");
    let deployment = format!("deployment/{WEBHOOK_DEPLOYMENT}");
    cluster
        .kubectl([
            "logs",
            "-n",
            RELEASE_NAMESPACE,
            deployment.as_str(),
            tail.as_str(),
        ])
        .map(|o| format!("{}{}", o.stdout, o.stderr))
        .unwrap_or_else(|e| format!("{e:#}"))
}
