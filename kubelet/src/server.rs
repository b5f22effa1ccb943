//! The agent's HTTPS API (upstream's kubelet server on --port): `/healthz` and
//! `/containerLogs/<namespace>/<pod>/<container>`, which the API server's pods/log proxies
//! to. The serving certificate is self-signed and made at start-up (the API server does not
//! verify it yet); client authentication is not enforced yet either, so the port should only
//! be reachable from the cluster's own network.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::logs::{self, LogError, LogOptions};
use crate::pods::Agent;
use crate::runtime::ContainerState;

/// A self-signed serving certificate for the node's IP, localhost and 127.0.0.1.
pub fn tls_config(node_ip: IpAddr) -> Result<Arc<rustls::ServerConfig>, String> {
    let names = vec![
        node_ip.to_string(),
        "localhost".to_string(),
        "127.0.0.1".to_string(),
    ];
    let key = rcgen::generate_simple_self_signed(names).map_err(|e| e.to_string())?;
    let cert = key.cert.der().clone();
    let private = rustls::pki_types::PrivateKeyDer::try_from(key.signing_key.serialize_der())
        .map_err(|e| e.to_string())?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(vec![cert], private)
        .map_err(|e| e.to_string())?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

pub fn router(agent: Arc<Agent>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route(
            "/containerLogs/{namespace}/{pod}/{container}",
            get(container_logs),
        )
        .with_state(agent)
}

async fn healthz() -> &'static str {
    "ok"
}

async fn container_logs(
    State(agent): State<Arc<Agent>>,
    Path((namespace, pod, container)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let opts = match LogOptions::from_query(query.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        Ok(o) => o,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let logs_root = agent.opts.root_dir.join("logs");
    let path = match logs::find_log(&logs_root, &namespace, &pod, &container, opts.previous) {
        Ok(p) => p,
        Err(LogError::NotFound(m)) => return (StatusCode::NOT_FOUND, m).into_response(),
        Err(LogError::BadRequest(m)) => return (StatusCode::BAD_REQUEST, m).into_response(),
    };
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let runtime = agent.runtime.clone();
    let followed = path.clone();
    tokio::spawn(logs::stream_log(path, opts, tx, move || {
        let runtime = runtime.clone();
        let followed = followed.clone();
        async move {
            runtime.list_containers().await.is_ok_and(|cs| {
                cs.iter()
                    .any(|c| c.log_path == followed && c.state == ContainerState::Running)
            })
        }
    }));
    let stream =
        tokio_stream::wrappers::ReceiverStream::new(rx).map(Ok::<_, std::convert::Infallible>);
    Response::builder()
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

use tokio_stream::StreamExt as _;

/// Serves the API over TLS until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    agent: Arc<Agent>,
    shutdown: CancellationToken,
) -> Result<(), String> {
    let app = router(agent);
    let acceptor = TlsAcceptor::from(tls);
    loop {
        let (stream, _) = tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            r = listener.accept() => match r {
                Ok(s) => s,
                Err(e) => {
                    tracing::debug!("accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let Ok(Ok(tls)) =
                tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(stream))
                    .await
            else {
                return;
            };
            let service = TowerToHyperService::new(app);
            let builder = auto::Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection(TokioIo::new(tls), service);
            tokio::select! {
                _ = conn => {}
                _ = shutdown.cancelled() => {}
            }
        });
    }
}
