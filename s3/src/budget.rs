//! The memory budget of a sync: how many bytes of file data (parts and small files read
//! whole) may be in memory at once, across every transfer. One budget for the whole sync,
//! not one per file, so four large files hold no more than one does; and a budget that
//! fits the container, so the injected sidecar (128Mi by default) is never OOM-killed.

use std::path::{Path, PathBuf};

/// The budget when nothing limits it: three parts of 8 MiB in flight, as many as a
/// loopback or LAN link needs to stay busy. `make bench-s3`'s 4 × 256 MiB case measured
/// four parts (32 MiB) at 51 MiB peak RSS against rclone's 48, for no gain in wall time.
pub const DEFAULT: u64 = 24 << 20;

/// The smallest budget: one part of S3's smallest size.
pub const MIN: u64 = 5 << 20;

/// The share of the container's memory limit file data may take: the rest is the
/// process itself, the TLS and HTTP buffers, the listings and the page cache the kernel
/// charges to the cgroup.
const SHARE_OF_LIMIT: u64 = 4;

/// The budget for a sync asking for `wanted` bytes under a memory limit of `limit`.
pub fn budget(wanted: u64, limit: Option<u64>) -> u64 {
    let cap = limit.map_or(u64::MAX, |l| l / SHARE_OF_LIMIT);
    wanted.min(cap).max(MIN)
}

/// This process's memory limit: the smallest `memory.max` (cgroup v2) or
/// `memory.limit_in_bytes` (v1) on the way from its cgroup up to the root, as the
/// kernel enforces the tightest of them. `None` when nothing is set or nothing can be read.
pub fn cgroup_limit() -> Option<u64> {
    let membership = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let (v1, v2) = paths(&membership);
    let mut candidates = Vec::new();
    if let Some(path) = v1 {
        candidates.extend(chain(
            Path::new("/sys/fs/cgroup/memory"),
            &path,
            "memory.limit_in_bytes",
        ));
    }
    if let Some(path) = v2 {
        candidates.extend(chain(Path::new("/sys/fs/cgroup"), &path, "memory.max"));
    }
    candidates
        .iter()
        .filter_map(|file| std::fs::read_to_string(file).ok())
        .filter_map(|text| parse_limit(&text))
        .min()
}

/// The v1 memory cgroup and the v2 cgroup of a `/proc/self/cgroup` text.
fn paths(membership: &str) -> (Option<String>, Option<String>) {
    let (mut v1, mut v2) = (None, None);
    for line in membership.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if id == "0" && controllers.is_empty() {
            v2 = Some(path.to_owned());
        } else if controllers.split(',').any(|c| c == "memory") {
            v1 = Some(path.to_owned());
        }
    }
    (v1, v2)
}

/// `file` in the cgroup at `path` below `mount` and in each of its ancestors. A container
/// sees its own cgroup mounted at `mount` while `/proc/self/cgroup` names the host's path,
/// so the mount's own file is always among them.
fn chain(mount: &Path, path: &str, file: &str) -> Vec<PathBuf> {
    let mut out = vec![mount.join(file)];
    let mut dir = mount.to_path_buf();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        dir.push(part);
        out.push(dir.join(file));
    }
    out
}

/// A limit file's value; `max` and the v1 "unlimited" (a page-rounded `i64::MAX`) are none.
fn parse_limit(text: &str) -> Option<u64> {
    let value: u64 = text.trim().parse().ok()?;
    (value < 1 << 62).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_fits_the_limit() {
        assert_eq!(budget(DEFAULT, None), DEFAULT);
        assert_eq!(budget(DEFAULT, Some(128 << 20)), 24 << 20);
        assert_eq!(budget(DEFAULT, Some(64 << 20)), 16 << 20);
        assert_eq!(budget(DEFAULT, Some(8 << 20)), MIN);
        assert_eq!(budget(256 << 20, Some(4 << 30)), 256 << 20);
    }

    #[test]
    fn cgroup_paths_and_limits() {
        let text = "9:name=systemd:/\n4:memory:/kubepods/pod1/c1\n0::/kubepods/pod1/c1\n";
        let (v1, v2) = paths(text);
        assert_eq!(v1.as_deref(), Some("/kubepods/pod1/c1"));
        assert_eq!(v2.as_deref(), Some("/kubepods/pod1/c1"));
        let chain = chain(Path::new("/m"), "/a/b", "f");
        assert_eq!(
            chain,
            [PathBuf::from("/m/f"), "/m/a/f".into(), "/m/a/b/f".into()]
        );
        assert_eq!(parse_limit("134217728\n"), Some(134_217_728));
        assert_eq!(parse_limit("max\n"), None);
        assert_eq!(parse_limit("9223372036854771712\n"), None);
    }
}
