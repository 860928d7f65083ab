//! The API client, from the kubeconfig as kubectl reads it: `--kubeconfig`, else
//! `KUBECONFIG`, else `~/.kube/config`; `--context`; the context's namespace as default.

use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::error::{Error, Result};

/// Where to connect, as the global flags give it.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct Connection {
    /// Path to the kubeconfig file (default: KUBECONFIG, else ~/.kube/config).
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<std::path::PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// The namespace (default: the context's, else `default`).
    #[arg(short = 'n', long, global = true, value_name = "NS")]
    pub namespace: Option<String>,
}

/// A connected client and the namespace commands default to.
#[derive(Clone)]
pub struct Kube {
    /// The client.
    pub client: kube::Client,
    /// `-n`, else the context's namespace, else `default`.
    pub namespace: String,
}

impl Connection {
    /// Builds the client.
    pub async fn connect(&self) -> Result<Kube> {
        let options = KubeConfigOptions {
            context: self.context.clone(),
            ..KubeConfigOptions::default()
        };
        let config = match &self.kubeconfig {
            Some(path) => {
                let file =
                    Kubeconfig::read_from(path).map_err(|source| Error::Kubeconfig { source })?;
                kube::Config::from_custom_kubeconfig(file, &options).await
            }
            None => kube::Config::from_kubeconfig(&options).await,
        }
        .map_err(|source| Error::Kubeconfig { source })?;
        let namespace = self
            .namespace
            .clone()
            .unwrap_or_else(|| config.default_namespace.clone());
        let client = kube::Client::try_from(config).map_err(|source| Error::Client { source })?;
        Ok(Kube { client, namespace })
    }
}
