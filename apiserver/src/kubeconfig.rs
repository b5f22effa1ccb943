//! The admin kubeconfig written at start-up (`--kubeconfig-out`): the server URL, the cluster
//! CA inline and the admin bearer token, in the standard layout that kubectl, client-go, the
//! Python client and kube-rs all read.

use std::path::Path;

use base64::Engine as _;
use serde::Serialize;

use crate::tls::{TlsError, create_private_dir, write_file_atomic};

#[derive(Debug, thiserror::Error)]
pub enum KubeconfigError {
    #[error("serializing kubeconfig: {0}")]
    Serialize(#[from] serde_yaml::Error),
    #[error(transparent)]
    Write(#[from] TlsError),
}

// Field order and names follow `kubectl config view`, so the file reads like any other.
#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Config<'a> {
    // The one camelCase key of a kubeconfig; the others are kebab-case.
    #[serde(rename = "apiVersion")]
    api_version: &'a str,
    kind: &'a str,
    clusters: Vec<Named<'a, Cluster<'a>>>,
    contexts: Vec<Named<'a, Context<'a>>>,
    current_context: &'a str,
    preferences: Preferences,
    users: Vec<NamedUser<'a>>,
}

#[derive(Serialize)]
struct Named<'a, T> {
    name: &'a str,
    #[serde(flatten)]
    value: T,
}

#[derive(Serialize)]
struct Cluster<'a> {
    cluster: ClusterInfo<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct ClusterInfo<'a> {
    server: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    certificate_authority_data: Option<String>,
}

#[derive(Serialize)]
struct Context<'a> {
    context: ContextInfo<'a>,
}

#[derive(Serialize)]
struct ContextInfo<'a> {
    cluster: &'a str,
    user: &'a str,
}

#[derive(Serialize)]
struct Preferences {}

#[derive(Serialize)]
struct NamedUser<'a> {
    name: &'a str,
    user: UserInfo<'a>,
}

#[derive(Serialize)]
struct UserInfo<'a> {
    token: &'a str,
}

/// The kubeconfig YAML for `server_url` (`https://127.0.0.1:6443`, or `http://...` for an
/// insecure port, in which case `ca_pem` may be empty). Names derive from `cluster_name` so
/// several clusters' kubeconfigs can be merged (`KUBECONFIG=a:b`) without clashing.
pub fn admin_kubeconfig_yaml(
    server_url: &str,
    ca_pem: &str,
    token: &str,
    cluster_name: &str,
) -> Result<String, KubeconfigError> {
    let user = format!("{cluster_name}-admin");
    let context = format!("{user}@{cluster_name}");
    // An empty certificate-authority-data would make clients trust nothing rather than fall
    // back to system roots, so it is left out instead.
    let ca_data = (!ca_pem.trim().is_empty())
        .then(|| base64::engine::general_purpose::STANDARD.encode(ca_pem.as_bytes()));
    let config = Config {
        api_version: "v1",
        kind: "Config",
        clusters: vec![Named {
            name: cluster_name,
            value: Cluster {
                cluster: ClusterInfo {
                    server: server_url,
                    certificate_authority_data: ca_data,
                },
            },
        }],
        contexts: vec![Named {
            name: &context,
            value: Context {
                context: ContextInfo {
                    cluster: cluster_name,
                    user: &user,
                },
            },
        }],
        current_context: &context,
        preferences: Preferences {},
        users: vec![NamedUser {
            name: &user,
            user: UserInfo { token },
        }],
    };
    Ok(serde_yaml::to_string(&config)?)
}

/// Writes the admin kubeconfig to `path` atomically (readers never see half a file), mode
/// 0600 as it holds the admin token; creates the parent directory if needed.
pub fn write_admin_kubeconfig(
    path: &Path,
    server_url: &str,
    ca_pem: &str,
    token: &str,
    cluster_name: &str,
) -> Result<(), KubeconfigError> {
    let yaml = admin_kubeconfig_yaml(server_url, ca_pem, token, cluster_name)?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_private_dir(parent)?;
    }
    write_file_atomic(path, yaml.as_bytes(), 0o600)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const CA: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    #[test]
    fn standard_layout() {
        let yaml = admin_kubeconfig_yaml("https://127.0.0.1:6443", CA, "tok", "ferrokube").unwrap();
        let value: serde_json::Value = serde_yaml::from_str(&yaml).unwrap();
        let expected = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "ferrokube", "cluster": {
                "server": "https://127.0.0.1:6443",
                "certificate-authority-data": base64::engine::general_purpose::STANDARD.encode(CA),
            }}],
            "contexts": [{"name": "ferrokube-admin@ferrokube",
                "context": {"cluster": "ferrokube", "user": "ferrokube-admin"}}],
            "current-context": "ferrokube-admin@ferrokube",
            "preferences": {},
            "users": [{"name": "ferrokube-admin", "user": {"token": "tok"}}],
        });
        assert_eq!(value, expected, "{yaml}");
    }

    #[test]
    fn no_ca_for_plain_http() {
        let yaml = admin_kubeconfig_yaml("http://127.0.0.1:8080", "", "tok", "c").unwrap();
        assert!(!yaml.contains("certificate-authority"), "{yaml}");
        assert!(!yaml.contains("null"), "{yaml}");
        let value: serde_json::Value = serde_yaml::from_str(&yaml).unwrap();
        assert_eq!(
            value["clusters"][0]["cluster"]["server"],
            "http://127.0.0.1:8080"
        );
    }

    #[test]
    fn written_private_and_replaced_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/admin.kubeconfig");
        write_admin_kubeconfig(&path, "https://127.0.0.1:1", CA, "one", "c").unwrap();
        write_admin_kubeconfig(&path, "https://127.0.0.1:1", CA, "two", "c").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("token: two"), "{text}");
        // No temporary files left behind.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }
}
