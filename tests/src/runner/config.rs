//! The runner's command line.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use super::Settings;

/// `ferry-pod-runner`: runs Ferry's containers of the test cluster's pods as local processes
/// (the kubelet stand-in; see the `runner` module).
#[derive(Debug, Clone, Parser)]
#[command(name = "ferry-pod-runner", version, about)]
pub struct Args {
    /// The kubeconfig to act with (the cluster admin's).
    #[arg(long, env = "KUBECONFIG")]
    pub kubeconfig: PathBuf,
    /// The Node pods are bound to.
    #[arg(long, env = "FERRY_NODE_NAME", default_value = "ferry-local")]
    pub node_name: String,
    /// The CSI driver whose volumes are directories under --csi-data-dir.
    #[arg(long, env = "FERRY_CSI_DRIVER", default_value = "hostpath.csi.k8s.io")]
    pub csi_driver: String,
    /// The driver's data directory: a volume is `<dir>/<volume handle>`.
    #[arg(long, env = "FERRY_CSI_DATA_DIR")]
    pub csi_data_dir: PathBuf,
    /// Where pod directories (volumes, scripts, logs) go.
    #[arg(long, env = "FERRY_RUNNER_DIR")]
    pub work_dir: PathBuf,
    /// A file written once the runner has listed the pods and is running them.
    #[arg(long)]
    pub ready_file: Option<PathBuf>,
    /// `NAME=PATH`: the command for containers without one whose image is named NAME
    /// (`registry/.../NAME:tag`). Repeatable.
    #[arg(long = "entrypoint", value_parser = parse_entrypoint)]
    pub entrypoints: Vec<(String, PathBuf)>,
    /// A directory put in front of the processes' PATH. Repeatable.
    #[arg(long)]
    pub path_prepend: Vec<PathBuf>,
    /// How long processes get to stop when the runner stops, e.g. `3s`.
    #[arg(long, default_value = "3s", value_parser = parse_seconds)]
    pub shutdown_grace: Duration,
}

fn parse_entrypoint(s: &str) -> Result<(String, PathBuf), String> {
    match s.split_once('=') {
        Some((name, path)) if !name.is_empty() && path.starts_with('/') => {
            Ok((name.to_owned(), PathBuf::from(path)))
        }
        _ => Err(format!("{s:?} is not NAME=/absolute/path")),
    }
}

fn parse_seconds(s: &str) -> Result<Duration, String> {
    s.strip_suffix('s')
        .unwrap_or(s)
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n >= 0.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("{s:?} is not a number of seconds like 3s"))
}

impl Args {
    /// The settings these arguments give.
    pub fn settings(&self) -> Settings {
        Settings {
            node_name: self.node_name.clone(),
            csi_driver: self.csi_driver.clone(),
            csi_data_dir: self.csi_data_dir.clone(),
            work_dir: self.work_dir.clone(),
            ready_file: self.ready_file.clone(),
            entrypoints: self.entrypoints.iter().cloned().collect::<BTreeMap<_, _>>(),
            path_prepend: self.path_prepend.clone(),
            shutdown_grace: self.shutdown_grace,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_parse_into_settings() {
        let args = Args::try_parse_from([
            "ferry-pod-runner",
            "--kubeconfig=/k",
            "--csi-data-dir=/d",
            "--work-dir=/w",
            "--entrypoint=ferry-sidecar=/t/ferry-sidecar",
            "--shutdown-grace=1.5s",
        ])
        .unwrap();
        let s = args.settings();
        assert_eq!(s.node_name, "ferry-local");
        assert_eq!(
            s.entrypoints["ferry-sidecar"],
            PathBuf::from("/t/ferry-sidecar")
        );
        assert_eq!(s.shutdown_grace, Duration::from_millis(1500));
    }

    #[test]
    fn bad_entrypoints_are_refused() {
        for bad in ["x", "=/p", "x=relative"] {
            assert!(parse_entrypoint(bad).is_err(), "{bad}");
        }
    }
}
