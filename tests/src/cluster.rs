//! The one control plane of a test run: started by `tests/cluster/up` on first use, or reused
//! when the state directory already has a running one.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{Context, bail};
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::cli::{self, Output};

/// A running local control plane and the tools built for it.
#[derive(Debug)]
pub struct Cluster {
    /// The state directory: kubeconfig, env file, pids and logs.
    pub state: PathBuf,
    /// The admin kubeconfig.
    pub kubeconfig: PathBuf,
    /// The variables of the env file (`KUBECONFIG`, `MINIO_ENDPOINT`, tool paths, ...).
    pub env: BTreeMap<String, String>,
}

static SHARED: OnceLock<Result<Cluster, String>> = OnceLock::new();

/// The repository root, from this crate's manifest directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

impl Cluster {
    /// The control plane shared by every test of this run, started on first use.
    ///
    /// # Panics
    /// When the control plane cannot be started: every test depends on it, and the panic
    /// carries the script's output.
    #[expect(clippy::panic, reason = "tests cannot go on without the control plane")]
    pub fn shared() -> &'static Cluster {
        let result = SHARED.get_or_init(|| Self::start().map_err(|err| format!("{err:#}")));
        match result {
            Ok(cluster) => cluster,
            Err(err) => panic!("the local control plane did not start: {err}"),
        }
    }

    /// The control plane the state directory describes, if one is running (its apiserver
    /// answers `/readyz`), without running `tests/cluster/up`: for benchmarks that use the
    /// cluster as it is.
    pub fn running() -> Option<&'static Cluster> {
        let state = state_dir();
        let text = std::fs::read_to_string(state.join("env")).ok()?;
        let cluster = Self::from_env(state, &text);
        let ready = cluster
            .kubectl(["get", "--raw", "/readyz"])
            .is_ok_and(|o| o.success);
        ready.then(|| &*Box::leak(Box::new(cluster)))
    }

    /// A cluster handle from the state directory and its env file's text.
    fn from_env(state: PathBuf, text: &str) -> Self {
        let env = parse_env(text);
        let kubeconfig = env
            .get("KUBECONFIG")
            .map_or_else(|| state.join("kubeconfig"), PathBuf::from);
        Self {
            state,
            kubeconfig,
            env,
        }
    }

    /// Runs `tests/cluster/up` for the state directory and reads its env file.
    fn start() -> anyhow::Result<Self> {
        let state = state_dir();
        let up = repo_root().join("tests/cluster/up");
        let mut command = Command::new(&up);
        command.arg(&state);
        let out = command
            .output()
            .with_context(|| format!("running {}", up.display()))?;
        if !out.status.success() {
            bail!(
                "{} failed\nstdout:\n{}\nstderr:\n{}",
                up.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let env_file = state.join("env");
        let text = std::fs::read_to_string(&env_file)
            .with_context(|| format!("reading {}", env_file.display()))?;
        Ok(Self::from_env(state, &text))
    }

    /// A variable of the env file.
    pub fn var(&self, name: &str) -> anyhow::Result<&str> {
        self.env
            .get(name)
            .map(String::as_str)
            .with_context(|| format!("{name} is not in {}", self.state.join("env").display()))
    }

    /// A client for the apiserver, as the cluster admin.
    pub async fn client(&self) -> anyhow::Result<kube::Client> {
        let kubeconfig = Kubeconfig::read_from(&self.kubeconfig)?;
        let config =
            kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
        Ok(kube::Client::try_from(config)?)
    }

    /// Runs the built `kubectl` with `args`.
    pub fn kubectl<I, S>(&self, args: I) -> anyhow::Result<Output>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        cli::run(
            Path::new(self.var("KUBECTL")?),
            &self.kubeconfig,
            args,
            None,
        )
    }

    /// Runs the built `kubectl` with `args`, feeding `stdin` (e.g. `apply -f -`).
    pub fn kubectl_stdin<I, S>(&self, args: I, stdin: &str) -> anyhow::Result<Output>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        cli::run(
            Path::new(self.var("KUBECTL")?),
            &self.kubeconfig,
            args,
            Some(stdin),
        )
    }

    /// Creates `object` in `ns` as a server-side dry run (admission and defaults, nothing
    /// stored), returning what `kubectl create -o json` printed.
    pub fn dry_run(&self, ns: &str, object: &serde_json::Value) -> anyhow::Result<Output> {
        self.kubectl_stdin(
            [
                "create",
                "--dry-run=server",
                "-o",
                "json",
                "-n",
                ns,
                "-f",
                "-",
            ],
            &object.to_string(),
        )
    }

    /// Runs the built `helm` with `args`.
    pub fn helm<I, S>(&self, args: I) -> anyhow::Result<Output>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        cli::run(Path::new(self.var("HELM")?), &self.kubeconfig, args, None)
    }

    /// The last lines of every component log, for a failing test to print.
    pub fn log_tails(&self, lines: usize) -> String {
        let mut out = String::new();
        let Ok(entries) = std::fs::read_dir(self.state.join("logs")) else {
            return out;
        };
        // The audit log is read by the tests that need it, not tailed.
        let mut paths: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| !p.to_string_lossy().contains("/audit"))
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let all: Vec<&str> = text.lines().collect();
            let tail = &all[all.len().saturating_sub(lines)..];
            out.push_str(&format!(
                "==> {} <==\n{}\n",
                path.display(),
                tail.join("\n")
            ));
        }
        out
    }
}

/// `$FERRY_CLUSTER_STATE`, else the default state directory.
fn state_dir() -> PathBuf {
    std::env::var_os("FERRY_CLUSTER_STATE").map_or_else(default_state, PathBuf::from)
}

/// `~/.cache/ferry/cluster`, the state directory `make cluster-up` uses too.
fn default_state() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME").map_or_else(
        || PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache"),
        PathBuf::from,
    );
    cache.join("ferry/cluster")
}

/// Reads `export NAME=value` lines, with single or double quotes around the value.
fn parse_env(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (name, value) = line.split_once('=')?;
            if name.is_empty() || name.starts_with('#') {
                return None;
            }
            let value = value
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .or_else(|| value.strip_prefix('"').and_then(|v| v.strip_suffix('"')))
                .unwrap_or(value);
            Some((name.to_owned(), value.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::parse_env;

    #[test]
    fn reads_quoted_and_bare_exports() {
        let env = parse_env("export A=1\nexport B='two words'\nC=\"x\"\n# comment\n");
        assert_eq!(env["A"], "1");
        assert_eq!(env["B"], "two words");
        assert_eq!(env["C"], "x");
        assert_eq!(env.len(), 3);
    }
}
