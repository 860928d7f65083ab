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
    let mut command = kubectl_with_plugins(cluster, &[plugin_dir()?], true)?;
    command.arg("ferry").args(args);
    output(command, "running kubectl ferry")
}

/// The built `kubectl` against the cluster, finding its plugins in `dirs` (then in this
/// process's `PATH` when `inherit`), with standard input closed.
pub fn kubectl_with_plugins(
    cluster: &Cluster,
    dirs: &[PathBuf],
    inherit: bool,
) -> anyhow::Result<Command> {
    let mut command = Command::new(cluster.var("KUBECTL")?);
    plugin_env(&mut command, cluster, dirs, inherit)?;
    Ok(command)
}

/// Sets `KUBECONFIG` to the cluster's and `PATH` to `dirs` (then this process's `PATH` when
/// `inherit`), and closes standard input.
fn plugin_env(
    command: &mut Command,
    cluster: &Cluster,
    dirs: &[PathBuf],
    inherit: bool,
) -> anyhow::Result<()> {
    let mut paths = dirs.to_vec();
    if inherit {
        let path = std::env::var_os("PATH").unwrap_or_default();
        paths.extend(std::env::split_paths(&path));
    }
    command
        .env("KUBECONFIG", &cluster.kubeconfig)
        .env("PATH", std::env::join_paths(paths)?)
        .stdin(Stdio::null());
    Ok(())
}

/// Runs `command` to its end; what it printed.
pub fn output(mut command: Command, what: &str) -> anyhow::Result<Output> {
    let out = command.output().with_context(|| what.to_owned())?;
    Ok(Output {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// Runs `kubectl ferry ARGS` as on a terminal: under `script`, which gives it a
/// pseudo-terminal for its standard output (so the plugin colours, as it does for a
/// person), with `NO_COLOR` unset. Returns what the terminal received, `\r\n` read as
/// `\n`.
pub fn kubectl_ferry_on_a_terminal(cluster: &Cluster, args: &[&str]) -> anyhow::Result<Output> {
    let quote = |word: &str| format!("'{}'", word.replace('\'', "'\\''"));
    let mut line = quote(cluster.var("KUBECTL")?);
    line.push_str(" ferry");
    for arg in args {
        line.push(' ');
        line.push_str(&quote(arg));
    }
    let mut command = Command::new("script");
    plugin_env(&mut command, cluster, &[plugin_dir()?], true)?;
    command
        .args(["-qec", &line, "/dev/null"])
        .env_remove("NO_COLOR");
    let mut out = output(command, "running kubectl ferry under script")?;
    out.stdout = out.stdout.replace("\r\n", "\n");
    Ok(out)
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
