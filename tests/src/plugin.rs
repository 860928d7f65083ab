//! `kubectl ferry ...` run the way a user runs it: the built `kubectl` finds the plugin
//! binary `kubectl-ferry` on `PATH` (the cargo profile directory of this build).

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::Context;

use crate::cli::Output;
use crate::cluster::Cluster;

/// The plugin's binary name, as krew installs it.
pub const BINARY: &str = "kubectl-ferry";

/// The directory holding this build's `kubectl-ferry` (beside the test executable's
/// profile directory).
pub fn plugin_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    exe.ancestors()
        .skip(1)
        .take(2)
        .find(|dir| dir.join(BINARY).is_file())
        .map(std::path::Path::to_path_buf)
        .with_context(|| {
            format!(
                "no {BINARY} beside {}: build the binaries first (cargo build --workspace --bins)",
                exe.display()
            )
        })
}

/// Runs `kubectl ferry ARGS` against the cluster, with the plugin's directory first on
/// `PATH`.
pub fn kubectl_ferry<I, S>(cluster: &Cluster, args: I) -> anyhow::Result<Output>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let dir = plugin_dir()?;
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![dir];
    paths.extend(std::env::split_paths(&path));
    let out = Command::new(cluster.var("KUBECTL")?)
        .arg("ferry")
        .args(args)
        .env("KUBECONFIG", &cluster.kubeconfig)
        .env("PATH", std::env::join_paths(paths)?)
        .stdin(Stdio::null())
        .output()
        .context("running kubectl ferry")?;
    Ok(Output {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// Runs a documented command line, `kubectl ferry ...`, split at whitespace (so the README's
/// commands are run verbatim).
pub fn run_line(cluster: &Cluster, line: &str) -> anyhow::Result<Output> {
    let args: Vec<&str> = line
        .strip_prefix("kubectl ferry ")
        .with_context(|| format!("{line:?} is not a kubectl ferry command"))?
        .split_whitespace()
        .collect();
    kubectl_ferry(cluster, args)
}
