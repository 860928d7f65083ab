//! A container's memory as the node's kernel accounts it: the container's own memory cgroup
//! (cgroup v1, under the node's cgroup root, where the kubelet puts
//! `kubepods/<qos>/pod<uid>/<container id>`), read on this machine. The working set is what
//! `kubectl top` and cAdvisor report: usage less the inactive file cache.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use k8s_openapi::api::core::v1::Pod;

use crate::cluster::Cluster;

/// One container's memory cgroup.
#[derive(Clone, Debug)]
pub struct ContainerMemory {
    /// The cgroup's directory in the memory hierarchy.
    pub dir: PathBuf,
}

impl ContainerMemory {
    /// The cgroup of `container` (a container or an init container, e.g. the native
    /// `ferry-sidecar`) of `pod`, as it runs now.
    pub fn of(cluster: &Cluster, pod: &Pod, container: &str) -> anyhow::Result<Self> {
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        let id = container_id(pod, container)
            .with_context(|| format!("pod {name} has no running container {container}"))?;
        let root = Path::new("/sys/fs/cgroup/memory").join(cluster.var("FERRY_NODE_CGROUP_ROOT")?);
        let dir = find_dir(&root, &id, 4)
            .with_context(|| format!("no memory cgroup {id} under {}", root.display()))?;
        Ok(Self { dir })
    }

    fn read(&self, file: &str) -> anyhow::Result<u64> {
        let path = self.dir.join(file);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        text.trim()
            .parse()
            .with_context(|| format!("{}: {text:?} is not a number", path.display()))
    }

    /// The limit the kubelet set (`memory.limit_in_bytes`).
    pub fn limit(&self) -> anyhow::Result<u64> {
        self.read("memory.limit_in_bytes")
    }

    /// The highest usage since the container started or [`Self::reset_peak`]
    /// (`memory.max_usage_in_bytes`).
    pub fn peak(&self) -> anyhow::Result<u64> {
        self.read("memory.max_usage_in_bytes")
    }

    /// Starts [`Self::peak`] afresh from the current usage.
    pub fn reset_peak(&self) -> anyhow::Result<()> {
        let path = self.dir.join("memory.max_usage_in_bytes");
        std::fs::write(&path, "0").with_context(|| format!("writing {}", path.display()))
    }

    /// How often the cgroup hit its limit (`memory.failcnt`).
    pub fn failcnt(&self) -> anyhow::Result<u64> {
        self.read("memory.failcnt")
    }

    /// The working set: `memory.usage_in_bytes` less `total_inactive_file`, as cAdvisor
    /// computes it.
    pub fn working_set(&self) -> anyhow::Result<u64> {
        let usage = self.read("memory.usage_in_bytes")?;
        let path = self.dir.join("memory.stat");
        let stat = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let inactive = stat
            .lines()
            .find_map(|l| l.strip_prefix("total_inactive_file "))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0);
        Ok(usage.saturating_sub(inactive))
    }
}

/// The runtime's ID of `container` in `pod`'s status, without the `containerd://` prefix.
pub fn container_id(pod: &Pod, container: &str) -> Option<String> {
    let status = pod.status.as_ref()?;
    status
        .container_statuses
        .iter()
        .flatten()
        .chain(status.init_container_statuses.iter().flatten())
        .find(|s| s.name == container)?
        .container_id
        .as_deref()?
        .rsplit("://")
        .next()
        .map(str::to_owned)
}

/// The restarts of `container` in `pod`, and the reason it last ended, if it did.
pub fn restarts(pod: &Pod, container: &str) -> (i32, Option<String>) {
    let Some(status) = pod.status.as_ref() else {
        return (0, None);
    };
    let Some(s) = status
        .container_statuses
        .iter()
        .flatten()
        .chain(status.init_container_statuses.iter().flatten())
        .find(|s| s.name == container)
    else {
        return (0, None);
    };
    let reason = s
        .last_state
        .as_ref()
        .and_then(|l| l.terminated.as_ref())
        .and_then(|t| t.reason.clone());
    (s.restart_count, reason)
}

fn find_dir(dir: &Path, name: &str, depth: u32) -> Option<PathBuf> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut subdirs = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        if entry.file_name().to_str() == Some(name) {
            return Some(path);
        }
        subdirs.push(path);
    }
    if depth == 0 {
        return None;
    }
    subdirs
        .iter()
        .find_map(|sub| find_dir(sub, name, depth - 1))
}

/// Fails unless `bytes` is a plausible cgroup figure (the kernel reports an unlimited limit
/// as a huge number).
pub fn ensure_limited(limit: u64) -> anyhow::Result<()> {
    if limit >= 1 << 50 {
        bail!("the container has no memory limit ({limit})");
    }
    Ok(())
}

/// `bytes` in MiB with one decimal.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1_048_576.0)
}
