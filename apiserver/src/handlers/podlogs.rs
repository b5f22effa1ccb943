//! The pods/log subresource: like kube-apiserver, the API server does not read logs itself but
//! proxies the request to the kubelet of the pod's node (`GET
//! https://<node address>:<kubelet port>/containerLogs/<ns>/<pod>/<container>?…`) and streams
//! the kubelet's answer back, so `kubectl logs -f` follows as the container writes.
//!
//! The kubelet's serving certificate is not verified, as kube-apiserver does when it runs
//! without `--kubelet-certificate-authority` (the kubelets here serve self-signed
//! certificates).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use http::{StatusCode, header};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use machinery::{ApiError, ResourceInfo};
use rustls::pki_types::ServerName;
use serde_json::Value;

use super::request::Query;
use crate::ApiState;

/// How long connecting to a kubelet (TCP and TLS) may take before the request fails with 503.
const DIAL_TIMEOUT: Duration = Duration::from_secs(10);
/// Most of a kubelet error body kept for the Status message.
const MAX_ERROR_BODY: usize = 4096;

/// The query parameters of pods/log that the kubelet's /containerLogs takes, checked as
/// upstream's PodLogOptions validation does before anything is proxied.
const FORWARDED: [&str; 7] = [
    "follow",
    "previous",
    "timestamps",
    "tailLines",
    "sinceSeconds",
    "sinceTime",
    "limitBytes",
];

/// GET pods/log: find the container and the pod's kubelet, then proxy.
pub async fn pod_log(
    state: &Arc<ApiState>,
    resource: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
    query: &Query,
) -> Result<Response, ApiError> {
    let registry = &state.registry;
    let pod = registry.get(resource, namespace, name).await?;
    let container = choose_container(&pod, name, query.get("container"))?;
    let params = log_params(query)?;
    let node_name = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .unwrap_or("");
    if node_name.is_empty() {
        return Err(ApiError::bad_request(format!(
            "pod {name} does not have a host assigned"
        )));
    }
    let nodes = registry
        .table
        .lookup("", "v1", "nodes")
        .ok_or_else(|| ApiError::internal("the nodes resource is not registered"))?;
    let node = registry.get(&nodes, None, node_name).await.map_err(|e| {
        if e.code == 404 {
            ApiError::bad_request(format!(
                "pod {name} is bound to node {node_name}, which does not exist"
            ))
        } else {
            e
        }
    })?;
    let (host, port) = kubelet_endpoint(&node, node_name)?;
    let namespace = namespace.unwrap_or("default");
    let mut path = format!(
        "/containerLogs/{}/{}/{}",
        encode(namespace),
        encode(name),
        encode(&container)
    );
    if !params.is_empty() {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &params {
            q.append_pair(k, v);
        }
        path.push('?');
        path.push_str(&q.finish());
    }
    proxy(&host, port, node_name, &path).await
}

/// The container the request names, or the only one; upstream's errors otherwise.
fn choose_container(pod: &Value, pod_name: &str, asked: Option<&str>) -> Result<String, ApiError> {
    let names = |key: &str| -> Vec<String> {
        pod.pointer(&format!("/spec/{key}"))
            .and_then(Value::as_array)
            .map(|cs| {
                cs.iter()
                    .filter_map(|c| c.get("name").and_then(Value::as_str))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let containers = names("containers");
    let init = names("initContainers");
    let ephemeral = names("ephemeralContainers");
    match asked {
        Some(c) => {
            if containers
                .iter()
                .chain(&init)
                .chain(&ephemeral)
                .any(|n| n == c)
            {
                Ok(c.to_string())
            } else {
                Err(ApiError::bad_request(format!(
                    "container {c} is not valid for pod {pod_name}"
                )))
            }
        }
        None => match containers.as_slice() {
            [only] => Ok(only.clone()),
            [] => Err(ApiError::bad_request(format!(
                "pod {pod_name} does not have a container"
            ))),
            many => {
                let mut message = format!(
                    "a container name must be specified for pod {pod_name}, choose one of: [{}]",
                    many.join(" ")
                );
                if !init.is_empty() {
                    message.push_str(&format!(
                        " or one of the init containers: [{}]",
                        init.join(" ")
                    ));
                }
                Err(ApiError::bad_request(message))
            }
        },
    }
}

/// The parameters passed on to the kubelet, validated as upstream validates PodLogOptions.
fn log_params(query: &Query) -> Result<Vec<(&'static str, String)>, ApiError> {
    let mut out = Vec::new();
    for key in FORWARDED {
        let Some(value) = query.get(key) else {
            continue;
        };
        match key {
            "follow" | "previous" | "timestamps" => {
                if query.flag(key) {
                    out.push((key, "true".to_string()));
                }
            }
            "sinceTime" => {
                chrono::DateTime::parse_from_rfc3339(value).map_err(|_| {
                    ApiError::bad_request(format!(
                        "invalid value for sinceTime: {value:?}: must be an RFC 3339 time"
                    ))
                })?;
                out.push((key, value.to_string()));
            }
            _ => {
                let n = query.i64(key)?.unwrap_or_default();
                let (ok, rule) = match key {
                    "tailLines" => (n >= 0, "must be greater than or equal to 0"),
                    _ => (n >= 1, "must be greater than 0"),
                };
                if !ok {
                    return Err(ApiError::new(
                        422,
                        "Invalid",
                        format!("PodLogOptions \"\" is invalid: {key}: Invalid value: {n}: {rule}"),
                    ));
                }
                out.push((key, n.to_string()));
            }
        }
    }
    if query.get("sinceSeconds").is_some() && query.get("sinceTime").is_some() {
        return Err(ApiError::new(
            422,
            "Invalid",
            "PodLogOptions \"\" is invalid: sinceSeconds: Forbidden: at most one of sinceTime or sinceSeconds may be specified",
        ));
    }
    Ok(out)
}

/// The kubelet's address and port from the Node: the first address in kube-apiserver's
/// default preference order, and status.daemonEndpoints.kubeletEndpoint.Port.
fn kubelet_endpoint(node: &Value, node_name: &str) -> Result<(String, u16), ApiError> {
    let port = node
        .pointer("/status/daemonEndpoints/kubeletEndpoint/Port")
        .and_then(Value::as_u64)
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p > 0)
        .ok_or_else(|| {
            ApiError::service_unavailable(format!(
                "node {node_name} does not report a kubelet port (status.daemonEndpoints.kubeletEndpoint.Port)"
            ))
        })?;
    let addresses: Vec<(&str, &str)> = node
        .pointer("/status/addresses")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| {
                    Some((
                        x.get("type").and_then(Value::as_str)?,
                        x.get("address").and_then(Value::as_str)?,
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    // kube-apiserver's --kubelet-preferred-address-types default, IP addresses first since
    // this server resolves no node host names.
    let host = [
        "InternalIP",
        "ExternalIP",
        "Hostname",
        "InternalDNS",
        "ExternalDNS",
    ]
    .iter()
    .find_map(|t| {
        addresses
            .iter()
            .find(|(ty, addr)| ty == t && !addr.is_empty())
    })
    .map(|(_, addr)| addr.to_string())
    .ok_or_else(|| {
        ApiError::service_unavailable(format!(
            "node {node_name} has no address in status.addresses to reach its kubelet at"
        ))
    })?;
    Ok((host, port))
}

/// Percent-encodes one path segment.
fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn unreachable(node: &str, host: &str, port: u16, why: impl std::fmt::Display) -> ApiError {
    ApiError::service_unavailable(format!(
        "cannot reach the kubelet of node {node} at {host}:{port}: {why}"
    ))
}

/// Sends the request to the kubelet over TLS and streams its answer back. Non-2xx answers
/// become a Status with the kubelet's code and its body as the message, as upstream's
/// LocationStreamer reports them.
async fn proxy(host: &str, port: u16, node: &str, path: &str) -> Result<Response, ApiError> {
    let addr = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ApiError::internal(format!("TLS client config: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(crate::tls::UnverifiedServerCert::new(provider)))
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let server_name = ServerName::try_from(host.to_string())
        .map_err(|e| unreachable(node, host, port, format!("bad address: {e}")))?;
    let dial = async {
        let tcp = tokio::net::TcpStream::connect(&addr).await?;
        connector.connect(server_name, tcp).await
    };
    let tls = match tokio::time::timeout(DIAL_TIMEOUT, dial).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(unreachable(node, host, port, e)),
        Err(_) => {
            return Err(unreachable(
                node,
                host,
                port,
                format!("no answer within {DIAL_TIMEOUT:?}"),
            ));
        }
    };
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| unreachable(node, host, port, e))?;
    // The connection task ends when the response body is finished or dropped (the client
    // went away), which closes the kubelet's stream too.
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "kubelet log connection");
        }
    });
    let request = http::Request::get(path)
        .header(header::HOST, addr.as_str())
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .map_err(|e| ApiError::internal(format!("building the kubelet request: {e}")))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| unreachable(node, host, port, e))?;
    let status = response.status();
    if !status.is_success() {
        let body = response.into_body().collect().await.map(|b| b.to_bytes());
        let mut text = body
            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
            .unwrap_or_default();
        text.truncate(MAX_ERROR_BODY);
        if text.is_empty() {
            text = format!("the kubelet answered {status}");
        }
        let reason = match status.as_u16() {
            400 => "BadRequest",
            404 => "NotFound",
            503 => "ServiceUnavailable",
            _ => "InternalError",
        };
        return Err(ApiError::new(status.as_u16(), reason, text));
    }
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::new(response.into_body()))
        .map_err(|e| ApiError::internal(format!("building the response: {e}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn container_choice_follows_upstream() {
        let pod = json!({"spec": {
            "containers": [{"name": "a"}, {"name": "b"}],
            "initContainers": [{"name": "i"}],
        }});
        let single = json!({"spec": {"containers": [{"name": "only"}]}});
        let cases: Vec<(&Value, Option<&str>, Result<&str, &str>)> = vec![
            (&single, None, Ok("only")),
            (&pod, Some("b"), Ok("b")),
            (&pod, Some("i"), Ok("i")),
            (
                &pod,
                None,
                Err(
                    "a container name must be specified for pod p, choose one of: [a b] or one of the init containers: [i]",
                ),
            ),
            (&pod, Some("x"), Err("container x is not valid for pod p")),
        ];
        for (pod, asked, want) in cases {
            let got = choose_container(pod, "p", asked);
            match want {
                Ok(name) => assert_eq!(got.unwrap(), name),
                Err(msg) => {
                    let e = got.unwrap_err();
                    assert_eq!((e.code, e.message.as_str()), (400, msg));
                }
            }
        }
    }

    #[test]
    fn kubelet_endpoint_prefers_internal_ip() {
        let node = json!({"status": {
            "addresses": [
                {"type": "Hostname", "address": "n1"},
                {"type": "InternalIP", "address": "10.1.2.3"},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        }});
        assert_eq!(
            kubelet_endpoint(&node, "n1").unwrap(),
            ("10.1.2.3".to_string(), 10250)
        );
        let no_port =
            json!({"status": {"addresses": [{"type": "InternalIP", "address": "1.2.3.4"}]}});
        assert_eq!(kubelet_endpoint(&no_port, "n1").unwrap_err().code, 503);
    }

    #[test]
    fn params_are_validated_and_forwarded() {
        let q = Query::parse(Some("follow=true&tailLines=5&container=a&timestamps=false"));
        assert_eq!(
            log_params(&q).unwrap(),
            vec![
                ("follow", "true".to_string()),
                ("tailLines", "5".to_string())
            ]
        );
        for bad in ["tailLines=-1", "limitBytes=0", "sinceSeconds=0"] {
            assert_eq!(log_params(&Query::parse(Some(bad))).unwrap_err().code, 422);
        }
        assert_eq!(
            log_params(&Query::parse(Some("tailLines=x")))
                .unwrap_err()
                .code,
            400
        );
        assert_eq!(encode("a b/c"), "a%20b%2Fc");
    }
}
