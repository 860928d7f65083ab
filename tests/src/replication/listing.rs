//! What a pod sees in a volume, read through the API as a user reads it: a shell of the test
//! app image prints every regular file below `/data` (size, SHA-256, mtime, path), in a
//! running pod's container (`kubectl exec`) or in a one-shot pod under restricted Pod
//! Security that mounts a claim read-only (`kubectl logs`). Two [`Listing`]s compare
//! byte for byte, where [`super::Tree`] reads the node's volume directories instead.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::{Context, bail};
use kube::api::DeleteParams;
use serde_json::{Value, json};

use super::manifests::{APP_IMAGE, POD_USER};
use super::{LIMIT, Replication};
use crate::wait::eventually;

/// The shell that lists: one line per regular file below `/data`, `SIZE SHA256 MTIME ./PATH`,
/// in byte order of the paths.
pub const LIST: &str = "cd /data && find . -type f | LC_ALL=C sort | while IFS= read -r f; do \
    printf '%s %s %s %s\\n' \"$(wc -c <\"$f\")\" \"$(sha256sum <\"$f\" | cut -d' ' -f1)\" \
    \"$(stat -c %Y \"$f\")\" \"$f\"; done";

/// One regular file as a pod lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of its bytes, in hex.
    pub sha256: String,
    /// Modification time, whole seconds.
    pub mtime: i64,
}

/// The regular files below a pod's `/data`, by path relative to it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listing {
    /// Files by relative path.
    pub files: BTreeMap<String, Listed>,
}

impl Listing {
    /// Reads [`LIST`]'s output; a line of another shape fails, quoting the output.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let mut files = BTreeMap::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let (path, listed) = parse_line(line)
                .with_context(|| format!("not a listing line: {line:?} in:\n{text}"))?;
            files.insert(path, listed);
        }
        Ok(Self { files })
    }

    /// The total size of all files.
    pub fn bytes(&self) -> u64 {
        self.files.values().map(|f| f.size).sum()
    }

    /// Fails, naming every difference, unless `other` holds the same files with the same
    /// bytes as `self` (and the same mtimes when `mtime`).
    pub fn ensure_same(&self, other: &Self, mtime: bool, what: &str) -> anyhow::Result<()> {
        let mut problems = String::new();
        for (path, want) in &self.files {
            match other.files.get(path) {
                None => {
                    let _ = writeln!(problems, "  missing: {path}");
                }
                Some(got) if got.size != want.size || got.sha256 != want.sha256 => {
                    let _ = writeln!(
                        problems,
                        "  contents differ: {path} ({} bytes, sha256 {}; want {} bytes, sha256 {})",
                        got.size, got.sha256, want.size, want.sha256
                    );
                }
                Some(got) if mtime && got.mtime != want.mtime => {
                    let _ = writeln!(
                        problems,
                        "  mtime differs: {path} ({}, want {})",
                        got.mtime, want.mtime
                    );
                }
                Some(_) => {}
            }
        }
        for path in other.files.keys() {
            if !self.files.contains_key(path) {
                let _ = writeln!(problems, "  unexpected: {path}");
            }
        }
        if !problems.is_empty() {
            bail!("{what} differs from the source:\n{problems}");
        }
        Ok(())
    }
}

/// One line of [`LIST`]: `SIZE SHA256 MTIME ./PATH` (`wc` may pad the size).
fn parse_line(line: &str) -> Option<(String, Listed)> {
    let (size, rest) = line.trim_start().split_once(' ')?;
    let (sha256, rest) = rest.trim_start().split_once(' ')?;
    let (mtime, path) = rest.trim_start().split_once(' ')?;
    if sha256.len() != 64 {
        return None;
    }
    let listed = Listed {
        size: size.parse().ok()?,
        sha256: sha256.to_owned(),
        mtime: mtime.parse().ok()?,
    };
    Some((path.strip_prefix("./").unwrap_or(path).to_owned(), listed))
}

/// A pod of the test app image that mounts `claim` read-only at `/data`, runs `script` once
/// and ends, under restricted Pod Security (non-root, no capabilities, no privilege
/// escalation, read-only root, RuntimeDefault seccomp). It does not opt in to injection.
pub fn reader_pod(name: &str, claim: &str, script: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
    "spec": {
        "restartPolicy": "Never",
        "automountServiceAccountToken": false,
        "securityContext": {"runAsNonRoot": true, "runAsUser": POD_USER, "runAsGroup": POD_USER,
            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "read", "image": APP_IMAGE, "imagePullPolicy": "Never",
            "command": ["sh", "-c", script],
            "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
                "capabilities": {"drop": ["ALL"]}},
            "volumeMounts": [{"name": "data", "mountPath": "/data", "readOnly": true}]}],
        "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim, "readOnly": true}}],
    }})
}

impl Replication {
    /// What container `container` of the running pod `ns/pod` sees below `/data`
    /// (`kubectl exec`).
    pub fn listed_in(&self, ns: &str, pod: &str, container: &str) -> anyhow::Result<Listing> {
        let out = self
            .cluster
            .kubectl([
                "exec", "-n", ns, pod, "-c", container, "--", "sh", "-c", LIST,
            ])?
            .ok()?;
        Listing::parse(&out.stdout)
    }

    /// What a pod that mounts `claim` sees ([`reader_pod`] running [`LIST`]), read from its
    /// log once it succeeded; the pod is deleted afterwards, so the claim is free again.
    pub async fn listed_by_a_pod(&self, ns: &str, claim: &str) -> anyhow::Result<Listing> {
        let mut name = format!("read-{claim}");
        name.truncate(63);
        let name = name.trim_end_matches('-').to_owned();
        self.create(ns, &reader_pod(&name, claim, LIST)).await?;
        let pods = self.pods(ns);
        let phase = eventually(
            LIMIT,
            &format!("pod {ns}/{name} reading {claim} to end"),
            || async {
                let phase = pods.get(&name).await?.status.and_then(|s| s.phase);
                Ok(phase.filter(|p| p == "Succeeded" || p == "Failed"))
            },
        )
        .await?;
        let out = self.cluster.kubectl(["logs", "-n", ns, &name])?;
        if phase != "Succeeded" {
            bail!(
                "pod {ns}/{name} reading {claim} failed:\n{}{}",
                out.stdout,
                out.stderr
            );
        }
        let listing = Listing::parse(&out.ok()?.stdout)?;
        pods.delete(&name, &DeleteParams::default()).await?;
        Ok(listing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_the_shell_prints() {
        let sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let text = format!("0 {sha} 1700000003 ./empty\n   15 {sha} 1700000004 ./with space.txt\n");
        let listing = Listing::parse(&text).unwrap();
        assert_eq!(listing.files.len(), 2);
        assert_eq!(listing.files["with space.txt"].size, 15);
        assert_eq!(listing.files["empty"].mtime, 1_700_000_003);
        assert!(Listing::parse("ls: /data: Permission denied\n").is_err());
    }

    #[test]
    fn names_every_difference() {
        let sha = |c: char| c.to_string().repeat(64);
        let file = |c, mtime| Listed {
            size: 1,
            sha256: sha(c),
            mtime,
        };
        let want = Listing {
            files: BTreeMap::from([("a".into(), file('a', 1)), ("b".into(), file('b', 1))]),
        };
        let got = Listing {
            files: BTreeMap::from([("a".into(), file('x', 1)), ("c".into(), file('c', 2))]),
        };
        let err = want
            .ensure_same(&got, true, "the copy")
            .unwrap_err()
            .to_string();
        for part in ["contents differ: a", "missing: b", "unexpected: c"] {
            assert!(err.contains(part), "{err}");
        }
        let later = Listing {
            files: BTreeMap::from([("a".into(), file('a', 9)), ("b".into(), file('b', 1))]),
        };
        assert!(want.ensure_same(&later, false, "x").is_ok());
        assert!(want.ensure_same(&later, true, "x").is_err());
    }
}
