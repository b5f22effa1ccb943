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
    set_user_agent(&mut config);
    Ok(config)
}

/// Names the component in `User-Agent` as client-go does (`<binary>/<version> (<os>/<arch>)
/// ...`): the API server derives a request's default field manager from it, so
/// managedFields say `scheduler` or `kubelet` rather than nothing, and audit trails and
/// metrics can tell the components apart. In `ferrokube up` every component shares one
/// client, named after the `ferrokube` binary.
fn set_user_agent(config: &mut kube::Config) {
    use axum::http::{HeaderValue, header::USER_AGENT};
    if config.headers.iter().any(|(name, _)| name == USER_AGENT) {
        return;
    }
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "ferrokube".to_owned());
    let value = format!(
        "{binary}/v{} ({}/{}) ferrokube",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    );
    if let Ok(value) = HeaderValue::from_str(&value) {
        config.headers.push((USER_AGENT, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agent_names_the_binary_and_is_kept_when_given() {
        let mut config = kube::Config::new("https://127.0.0.1:6443".parse().unwrap_or_default());
        set_user_agent(&mut config);
        let ua: Vec<_> = config
            .headers
            .iter()
            .filter(|(n, _)| n == axum::http::header::USER_AGENT)
            .map(|(_, v)| v.to_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(ua.len(), 1);
        let binary = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_default();
        assert!(ua[0].starts_with(&format!("{binary}/v")), "{}", ua[0]);
        // A second call (or a header set by the caller) is not doubled.
        set_user_agent(&mut config);
        assert_eq!(
            config
                .headers
                .iter()
                .filter(|(n, _)| n == axum::http::header::USER_AGENT)
                .count(),
            1
        );
    }
}
