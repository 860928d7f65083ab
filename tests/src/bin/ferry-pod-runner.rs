//! `ferry-pod-runner`: the kubelet stand-in of Ferry's test cluster. Runs the `ferry-sidecar`
//! and mover containers of pods as local processes; see `ferry_e2e::runner` for what it does
//! and does not do. `tests/cluster/up` starts it.

use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;
use ferry_e2e::runner::{self, Args, Context};
use kube::config::{KubeConfigOptions, Kubeconfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let kubeconfig = Kubeconfig::read_from(&args.kubeconfig)
        .with_context(|| format!("reading {}", args.kubeconfig.display()))?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .context("loading the kubeconfig")?;
    let ctx = Arc::new(Context::new(config, args.settings())?);
    runner::run(ctx, ferry_kube::shutdown::signalled()).await?;
    Ok(())
}
