//! The root CA certificate publisher: every active namespace has a ConfigMap `kube-root-ca.crt`
//! whose `ca.crt` is the API server's CA bundle, so pods can verify the API server (projected
//! service account volumes mount it). Recreated when deleted, rewritten when edited, as
//! upstream's root-ca-cert-publisher does.
//!
//! The bundle is `--root-ca-file`, else the CA of the kubeconfig the controller-manager talks
//! to the API server with ([`crate::Options::root_ca_data`]). A cluster served over plain HTTP
//! has no CA: then nothing is published (and the reason logged once).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Api;
use kube::api::PostParams;

use crate::framework::{Action, Informer, Notification, WorkQueue, key_of, run_workers};
use crate::{Context, Error};

pub const NAME: &str = "root-ca-certificate-publisher";
/// The ConfigMap every namespace gets.
pub const ROOT_CA_CONFIGMAP: &str = "kube-root-ca.crt";
/// Its key holding the PEM bundle.
pub const CA_KEY: &str = "ca.crt";
const DESCRIPTION_ANNOTATION: &str = "kubernetes.io/description";
const DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

pub fn start(ctx: Context) -> BoxFuture<'static, Result<(), Error>> {
    Box::pin(run(ctx))
}

/// The CA bundle (PEM) of the current context of the kubeconfig at `path`: its cluster's
/// `certificate-authority-data`, or the file `certificate-authority` names. None when the
/// cluster has neither (plain HTTP, or a server trusted through the system roots).
pub fn ca_from_kubeconfig(path: &Path) -> Result<Option<String>, Error> {
    let options = || Error::Options(format!("reading the CA of kubeconfig {}", path.display()));
    let config = kube::config::Kubeconfig::read_from(path)
        .map_err(|e| Error::Options(format!("reading kubeconfig {}: {e}", path.display())))?;
    let context_name = config.current_context.clone().unwrap_or_default();
    let cluster_name = config
        .contexts
        .iter()
        .find(|c| c.name == context_name)
        .and_then(|c| c.context.as_ref())
        .map(|c| c.cluster.clone())
        .ok_or_else(options)?;
    let Some(cluster) = config
        .clusters
        .iter()
        .find(|c| c.name == cluster_name)
        .and_then(|c| c.cluster.as_ref())
    else {
        return Err(options());
    };
    if let Some(data) = &cluster.certificate_authority_data {
        return decode_base64(data.trim())
            .and_then(|b| String::from_utf8(b).ok())
            .map(Some)
            .ok_or_else(|| {
                Error::Options(format!(
                    "kubeconfig {}: certificate-authority-data is not base64 PEM",
                    path.display()
                ))
            });
    }
    if let Some(file) = &cluster.certificate_authority {
        let file = path
            .parent()
            .map_or_else(|| file.into(), |dir| dir.join(file));
        return std::fs::read_to_string(&file)
            .map(Some)
            .map_err(|e| Error::Options(format!("reading CA file {}: {e}", file.display())));
    }
    Ok(None)
}

/// Standard base64 (with or without padding); None on anything else.
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace()) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

/// The bundle to publish: `--root-ca-file` first, then the kubeconfig's CA.
fn root_ca(ctx: &Context) -> Result<Option<String>, Error> {
    if let Some(file) = &ctx.options.root_ca_file {
        return std::fs::read_to_string(file)
            .map(Some)
            .map_err(|e| Error::Options(format!("--root-ca-file {}: {e}", file.display())));
    }
    Ok(ctx.options.root_ca_data.clone())
}

/// Runs the publisher until `ctx.shutdown`.
pub async fn run(ctx: Context) -> Result<(), Error> {
    let Some(ca) = root_ca(&ctx)?.filter(|ca| !ca.trim().is_empty()) else {
        tracing::info!(
            "no CA bundle: the API server is not reached over TLS with a known CA (no --root-ca-file, no certificate-authority in the kubeconfig); publishing no kube-root-ca.crt ConfigMaps"
        );
        ctx.shutdown.cancelled().await;
        return Ok(());
    };
    let ca = Arc::new(ca);
    let namespaces = ctx.informers.get::<Namespace>();
    let configmaps = ctx.informers.get::<ConfigMap>();
    let queue = WorkQueue::new(NAME, ctx.metrics.clone(), ctx.shutdown.clone());
    {
        let q = queue.clone();
        namespaces.add_handler(move |n| match n {
            Notification::Added(ns) | Notification::Updated { new: ns, .. } => {
                q.add(key_of(ns.as_ref()))
            }
            Notification::Deleted(_) => {}
        });
    }
    {
        let q = queue.clone();
        configmaps.add_handler(move |n| {
            let cm = match n {
                Notification::Added(_) => return,
                Notification::Updated { new, .. } => new,
                Notification::Deleted(cm) => cm,
            };
            if cm.metadata.name.as_deref() == Some(ROOT_CA_CONFIGMAP)
                && let Some(ns) = &cm.metadata.namespace
            {
                q.add(ns.clone());
            }
        });
    }
    if !namespaces.wait_synced(&ctx.shutdown).await || !configmaps.wait_synced(&ctx.shutdown).await
    {
        return Ok(());
    }
    let client = ctx.client.clone();
    run_workers(
        NAME,
        queue,
        1,
        None,
        ctx.metrics.clone(),
        ctx.shutdown.clone(),
        move |key| {
            let (client, namespaces, configmaps, ca) = (
                client.clone(),
                namespaces.clone(),
                configmaps.clone(),
                ca.clone(),
            );
            async move { reconcile(&client, &namespaces, &configmaps, &ca, &key).await }
        },
    )
    .await;
    Ok(())
}

async fn reconcile(
    client: &kube::Client,
    namespaces: &Arc<Informer<Namespace>>,
    configmaps: &Arc<Informer<ConfigMap>>,
    ca: &str,
    namespace: &str,
) -> Result<Action, kube::Error> {
    let Some(ns) = namespaces.get(namespace) else {
        return Ok(Action::Done);
    };
    if ns.metadata.deletion_timestamp.is_some() {
        return Ok(Action::Done);
    }
    let api = Api::<ConfigMap>::namespaced(client.clone(), namespace);
    let data = BTreeMap::from([(CA_KEY.to_string(), ca.to_string())]);
    let result = match configmaps.get_namespaced(namespace, ROOT_CA_CONFIGMAP) {
        None => {
            let cm = ConfigMap {
                metadata: ObjectMeta {
                    name: Some(ROOT_CA_CONFIGMAP.to_string()),
                    namespace: Some(namespace.to_string()),
                    annotations: Some(BTreeMap::from([(
                        DESCRIPTION_ANNOTATION.to_string(),
                        DESCRIPTION.to_string(),
                    )])),
                    ..Default::default()
                },
                data: Some(data),
                ..Default::default()
            };
            api.create(&PostParams::default(), &cm).await.map(|_| ())
        }
        Some(existing) if existing.data.as_ref() == Some(&data) => return Ok(Action::Done),
        Some(existing) => {
            // Someone edited it: put the bundle back (other keys go, as upstream).
            let mut cm = (*existing).clone();
            cm.data = Some(data);
            cm.binary_data = None;
            cm.metadata
                .annotations
                .get_or_insert_with(BTreeMap::new)
                .entry(DESCRIPTION_ANNOTATION.to_string())
                .or_insert_with(|| DESCRIPTION.to_string());
            api.replace(ROOT_CA_CONFIGMAP, &PostParams::default(), &cm)
                .await
                .map(|_| ())
        }
    };
    match result {
        Ok(()) => Ok(Action::Done),
        // 409: the cache lags behind a write (the next event brings us back); 403/404: the
        // namespace is terminating or gone.
        Err(kube::Error::Api(s)) if s.code == 409 || crate::serviceaccount::is_terminating(&s) => {
            Ok(Action::Done)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn base64_round_trips_known_values() {
        let cases: &[(&str, Option<&[u8]>)] = &[
            ("", Some(b"")),
            ("Zg==", Some(b"f")),
            ("Zm8=", Some(b"fo")),
            ("Zm9v", Some(b"foo")),
            ("Zm9vYmFy", Some(b"foobar")),
            ("Zm9v\nYmFy", Some(b"foobar")),
            ("Zm9v*", None),
        ];
        for (input, want) in cases {
            assert_eq!(decode_base64(input).as_deref(), *want, "{input}");
        }
    }

    #[test]
    fn kubeconfig_ca_data_and_plain_http() {
        let dir = std::env::temp_dir().join(format!("rootca-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, cluster: &str| {
            let path = dir.join(name);
            std::fs::write(
                &path,
                format!(
                    "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: k\n  cluster:\n{cluster}\ncontexts:\n- name: c\n  context:\n    cluster: k\n    user: u\nusers:\n- name: u\n  user: {{}}\n"
                ),
            )
            .unwrap();
            path
        };
        // "-----BEGIN" in base64.
        let tls = write(
            "tls",
            "    server: https://127.0.0.1:6443\n    certificate-authority-data: LS0tLS1CRUdJTg==",
        );
        let http = write("http", "    server: http://127.0.0.1:8080");
        assert_eq!(
            ca_from_kubeconfig(&tls).unwrap().as_deref(),
            Some("-----BEGIN")
        );
        assert_eq!(ca_from_kubeconfig(&http).unwrap(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
