//! The accept loop that puts the axum app on a socket (HTTPS, or plain HTTP for
//! `--insecure-port`), HTTP/1.1 and HTTP/2 on the same port, with graceful shutdown; and the
//! authentication middleware that runs before every handler.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use machinery::ApiError;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::auth::{Authenticator, ClientCertUser};
use crate::tls;

#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// A client that has not finished the TLS handshake by then is dropped; the handshake
    /// runs in the connection's own task, so slow clients never hold up accepting.
    pub handshake_timeout: Duration,
    /// On shutdown, how long open connections get to finish before they are cut. Watches never
    /// finish on their own, so this must be bounded; clients re-list and re-watch.
    pub shutdown_grace: Duration,
    /// How long an HTTP/1.1 connection may sit without a complete request header. hyper's
    /// header timer also runs while a keep-alive connection is idle, so this is also the idle
    /// timeout; it is longer than Go's and urllib3's idle timeouts (90 s) so clients close
    /// idle connections first and never send a request into one we are closing.
    pub http1_idle_timeout: Duration,
    /// HTTP/2 streams per connection: kube-apiserver's default
    /// (`--http2-max-streams-per-connection`), since client-go multiplexes every request and
    /// watch of a process over one connection.
    pub http2_max_concurrent_streams: u32,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            handshake_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(5),
            http1_idle_timeout: Duration::from_secs(120),
            http2_max_concurrent_streams: 1000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("listener: {0}")]
    Listener(#[source] io::Error),
}

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting, asks open
/// connections to finish (HTTP/2 GOAWAY, HTTP/1.1 close after the current response) and cuts
/// those still open after [`ServeOptions::shutdown_grace`]. With `tls` every connection is
/// HTTPS; without, plain HTTP. Handlers can extract `ConnectInfo<SocketAddr>`, and requests on
/// connections with a verified client certificate carry a [`ClientCertUser`].
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    serve_with_options(listener, tls, app, shutdown, ServeOptions::default()).await
}

pub async fn serve_with_options(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    options: ServeOptions,
) -> Result<(), ServeError> {
    let local = listener.local_addr().map_err(ServeError::Listener)?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(address = %local, scheme, "serving");

    let acceptor = tls.map(TlsAcceptor::from);
    let builder = Arc::new(http_builder(&options));
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);

    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            // Reap finished connection tasks so the set does not grow without bound.
            Some(finished) = connections.join_next(), if !connections.is_empty() => {
                if let Err(error) = finished
                    && error.is_panic()
                {
                    tracing::error!(%error, "connection task panicked");
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, remote)) => {
                    connections.spawn(serve_connection(
                        stream,
                        remote,
                        acceptor.clone(),
                        builder.clone(),
                        app.clone(),
                        graceful.watcher(),
                        options.handshake_timeout,
                    ));
                }
                Err(error) => accept_failed(error).await,
            },
        }
    }

    // Closing the listening socket first makes new clients fail fast instead of queueing.
    drop(listener);
    let open = connections.len();
    tracing::info!(address = %local, open, "shutting down; draining connections");
    if tokio::time::timeout(options.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::info!(
            address = %local,
            open = connections.len(),
            "closing connections still open after the grace period"
        );
    }
    connections.shutdown().await;
    Ok(())
}

fn http_builder(options: &ServeOptions) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.http1_idle_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(options.http2_max_concurrent_streams);
    builder
}

/// Accept errors are about one connection (reset before accept) or about resources (out of
/// file descriptors); neither should end the server. Backing off on the latter keeps a full
/// descriptor table from turning into a busy loop.
async fn accept_failed(error: io::Error) {
    match error.kind() {
        io::ErrorKind::ConnectionAborted
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::Interrupted => {
            tracing::debug!(%error, "accept");
        }
        _ => {
            tracing::warn!(%error, "accept failed; backing off");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn serve_connection(
    stream: TcpStream,
    remote: SocketAddr,
    acceptor: Option<TlsAcceptor>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    app: Router,
    watcher: Watcher,
    handshake_timeout: Duration,
) {
    // API calls are small request/response pairs and watch events small writes; Nagle's
    // algorithm would hold each back waiting for an ACK.
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%remote, %error, "set TCP_NODELAY");
    }
    let Some(acceptor) = acceptor else {
        run_connection(&builder, TokioIo::new(stream), app, remote, None, watcher).await;
        return;
    };
    let stream = match tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(error)) => {
            tracing::debug!(%remote, %error, "TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!(%remote, "TLS handshake timed out");
            return;
        }
    };
    let peer = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(tls::peer_identity)
        .map(ClientCertUser);
    run_connection(&builder, TokioIo::new(stream), app, remote, peer, watcher).await;
}

async fn run_connection<I>(
    builder: &auto::Builder<TokioExecutor>,
    io: I,
    app: Router,
    remote: SocketAddr,
    peer: Option<ClientCertUser>,
    watcher: Watcher,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
        let extensions = request.extensions_mut();
        extensions.insert(ConnectInfo(remote));
        if let Some(peer) = &peer {
            extensions.insert(peer.clone());
        }
        app.clone().oneshot(request)
    });
    // Upgrades: exec, attach and port-forward switch protocols on the connection.
    let connection = builder.serve_connection_with_upgrades(io, service);
    if let Err(error) = watcher.watch(connection).await {
        // Mostly clients going away mid-request; nothing the server can act on.
        tracing::debug!(%remote, %error, "connection ended with an error");
    }
}

/// Wraps `router` (all its routes and its fallback, so call it last) in authentication:
/// requests without valid credentials get 401 with a `Status` body, except anonymous reads of
/// the public paths (`/healthz`, `/livez`, `/readyz`, `/version`). Handlers find the
/// [`crate::auth::UserInfo`] in request extensions (`Extension<UserInfo>`).
pub fn with_authentication(router: Router, authn: Arc<Authenticator>) -> Router {
    router.layer(axum::middleware::from_fn_with_state(authn, authenticate))
}

/// The middleware [`with_authentication`] installs, for routers built differently.
pub async fn authenticate(
    State(authn): State<Arc<Authenticator>>,
    mut request: Request,
    next: Next,
) -> Response {
    let user = authn.authenticate(
        request
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
        request.extensions().get::<ClientCertUser>().map(|c| &c.0),
        request.uri().path(),
    );
    let Some(user) = user else {
        return unauthorized();
    };
    // Credentials stop here: nothing downstream (node proxy, webhooks) may forward them.
    request.headers_mut().remove(AUTHORIZATION);
    request.extensions_mut().insert(user);
    next.run(request).await
}

/// The 401 kube-apiserver sends (kubectl prints "You must be logged in to the server").
pub fn unauthorized() -> Response {
    let body = serde_json::to_vec(&ApiError::unauthorized().to_status()).unwrap_or_default();
    (
        StatusCode::UNAUTHORIZED,
        [(CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::auth::{TokenAuthenticator, UserInfo};
    use axum::Extension;
    use axum::body::Body;
    use axum::routing::get;
    use http_body_util::BodyExt;

    fn app() -> Router {
        let tokens = Arc::new(TokenAuthenticator::new());
        tokens.add_token(
            "secret",
            UserInfo::authenticated("alice".into(), "1".into(), vec!["dev".into()]),
        );
        let router = Router::new()
            .route(
                "/api",
                get(
                    |Extension(user): Extension<UserInfo>, headers: http::HeaderMap| async move {
                        format!("{} {}", user.name, headers.contains_key(AUTHORIZATION))
                    },
                ),
            )
            .route(
                "/healthz",
                get(|Extension(user): Extension<UserInfo>| async move { user.name }),
            );
        with_authentication(router, Arc::new(Authenticator::new(tokens)))
    }

    async fn call(path: &str, token: Option<&str>) -> (StatusCode, String) {
        let mut request = http::Request::get(path);
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let response = app()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn authenticated_requests_reach_handlers_without_the_token() {
        assert_eq!(
            call("/api", Some("secret")).await,
            (StatusCode::OK, "alice false".to_string())
        );
    }

    #[tokio::test]
    async fn missing_or_wrong_credentials_get_401_status() {
        for token in [None, Some("wrong")] {
            let (status, body) = call("/api", token).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
            let value: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(
                value,
                serde_json::json!({"kind":"Status","apiVersion":"v1","metadata":{},
                    "status":"Failure","message":"Unauthorized","reason":"Unauthorized",
                    "code":401})
            );
        }
        // Routes that do not exist are not a way to probe without credentials.
        assert_eq!(call("/nope", None).await.0, StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn health_is_public() {
        assert_eq!(
            call("/healthz", None).await,
            (StatusCode::OK, "system:anonymous".to_string())
        );
        assert_eq!(
            call("/healthz", Some("secret")).await,
            (StatusCode::OK, "alice".to_string())
        );
        assert_eq!(
            call("/healthz", Some("wrong")).await.0,
            StatusCode::UNAUTHORIZED
        );
    }

    #[tokio::test]
    async fn plain_http_serve_and_bounded_shutdown() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = Router::new().route("/ok", get(|| async { "ok" })).route(
            "/forever",
            get(|| async {
                let stream = futures::stream::pending::<Result<bytes::Bytes, io::Error>>();
                Body::from_stream(stream)
            }),
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let options = ServeOptions {
            shutdown_grace: Duration::from_millis(300),
            ..ServeOptions::default()
        };
        let server = tokio::spawn(serve_with_options(
            listener,
            None,
            router,
            async {
                let _ = stopped.await;
            },
            options,
        ));

        let mut ok = TcpStream::connect(addr).await.unwrap();
        ok.write_all(b"GET /ok HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut response = String::new();
        ok.read_to_string(&mut response).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.ends_with("ok"), "{response}");

        // A response that never ends must not hold shutdown up beyond the grace period.
        let mut forever = TcpStream::connect(addr).await.unwrap();
        forever
            .write_all(b"GET /forever HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let mut head = [0u8; 12];
        forever.read_exact(&mut head).await.unwrap();
        assert_eq!(&head, b"HTTP/1.1 200");

        let started = std::time::Instant::now();
        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("serve returns after the grace period")
            .unwrap()
            .unwrap();
        assert!(started.elapsed() < Duration::from_secs(3));
        // The listener is closed and the stuck connection cut.
        assert!(TcpStream::connect(addr).await.is_err());
        let mut rest = Vec::new();
        // EOF or a reset: either way closed, and promptly.
        let _ = tokio::time::timeout(Duration::from_secs(2), forever.read_to_end(&mut rest))
            .await
            .expect("connection closed");
    }
}
