//! Clients built from a kubeconfig file, as every component's `--kubeconfig` flag asks.

use std::path::Path;

/// Why no client could be built.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("reading kubeconfig {path}: {source}")]
    Read {
        path: String,
        source: kube::config::KubeconfigError,
    },
    #[error("kubeconfig {path}: {source}")]
    Config {
        path: String,
        source: kube::config::KubeconfigError,
    },
    #[error("client for kubeconfig {path}: {source}")]
    Client { path: String, source: kube::Error },
}

/// A client for the current context of the kubeconfig at `path`.
pub async fn from_kubeconfig(path: &Path) -> Result<kube::Client, Error> {
    let config = config_from_kubeconfig(path).await?;
    kube::Client::try_from(config).map_err(|source| Error::Client {
        path: path.display().to_string(),
        source,
    })
}

/// The client configuration for the current context of the kubeconfig at `path`; useful
/// when a component needs to adjust timeouts before building its client.
pub async fn config_from_kubeconfig(path: &Path) -> Result<kube::Config, Error> {
    let shown = path.display().to_string();
    let kubeconfig = kube::config::Kubeconfig::read_from(path).map_err(|source| Error::Read {
        path: shown.clone(),
        source,
    })?;
    let mut config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .map_err(|source| Error::Config {
        path: shown,
        source,
    })?;
    // Watches are long-lived streams that the server ends on its own schedule; a client-side
    // read timeout would only cut them short and cause needless relists.
    config.read_timeout = None;
    Ok(config)
}
