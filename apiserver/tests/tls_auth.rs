//! HTTPS serving, certificates, token and client-certificate authentication and the admin
//! kubeconfig, end to end: real kubectl, kube-rs, and raw HTTP/2 and HTTP/1.1 clients against
//! `serve` with a tiny router.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use apiserver::auth::{Authenticator, TokenAuthenticator, UserInfo, ensure_admin_token};
use apiserver::kubeconfig::write_admin_kubeconfig;
use apiserver::serve::{ServeOptions, serve_with_options, with_authentication};
use apiserver::tls::{self, CertPaths};
use axum::body::Body;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Router};
use bytes::Bytes;
use http::header::AUTHORIZATION;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::Command;

const TEST_TIMEOUT: Duration = Duration::from_secs(90);

struct Server {
    addr: std::net::SocketAddr,
    paths: CertPaths,
    token: String,
    kubeconfig: PathBuf,
    stop: tokio::sync::oneshot::Sender<()>,
    handle: tokio::task::JoinHandle<Result<(), apiserver::serve::ServeError>>,
    _dir: tempfile::TempDir,
}

fn json(value: serde_json::Value) -> axum::response::Response {
    (
        [(http::header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

fn router() -> Router {
    Router::new()
        .route(
            "/api",
            get(|| async {
                json(serde_json::json!({
                    "kind": "APIVersions",
                    "versions": ["v1"],
                    "serverAddressByClientCIDRs": [
                        {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}
                    ],
                }))
            }),
        )
        .route(
            "/whoami",
            get(
                |version: http::Version, Extension(user): Extension<UserInfo>| async move {
                    json(serde_json::json!({
                        "name": user.name,
                        "groups": user.groups,
                        "protocol": format!("{version:?}"),
                    }))
                },
            ),
        )
        .route("/healthz", get(|| async { "ok" }))
        // A response that streams in pieces, as a watch does.
        .route(
            "/stream",
            get(|| async {
                let chunks = futures::stream::iter(
                    (0..3).map(|i| Ok::<_, std::io::Error>(Bytes::from(format!("event-{i}\n")))),
                );
                Body::from_stream(chunks)
            }),
        )
}

async fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let cert_dir = dir.path().join("certs");
    let paths = tls::ensure_certs(&cert_dir, &["127.0.0.1".to_string()]).unwrap();
    let token = ensure_admin_token(&cert_dir).unwrap();
    let tokens =
        TokenAuthenticator::from_file(&cert_dir.join(apiserver::auth::ADMIN_TOKEN_FILE)).unwrap();
    let authn = Arc::new(Authenticator::new(Arc::new(tokens)));
    let config = tls::server_config(&paths).unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let kubeconfig = dir.path().join("admin.kubeconfig");
    write_admin_kubeconfig(
        &kubeconfig,
        &format!("https://127.0.0.1:{}", addr.port()),
        &paths.ca_pem().unwrap(),
        &token,
        "ferrokube",
    )
    .unwrap();

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(serve_with_options(
        listener,
        Some(config),
        with_authentication(router(), authn),
        async {
            let _ = stopped.await;
        },
        ServeOptions {
            shutdown_grace: Duration::from_secs(1),
            ..ServeOptions::default()
        },
    ));
    Server {
        addr,
        paths,
        token,
        kubeconfig,
        stop,
        handle,
        _dir: dir,
    }
}

impl Server {
    async fn stop(self) {
        self.stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(10), self.handle)
            .await
            .expect("serve stops within its grace period")
            .unwrap()
            .unwrap();
    }
}

async fn kubectl(kubeconfig: &Path, args: &[&str]) -> std::process::Output {
    let cache = kubeconfig.with_file_name("kube-cache");
    let mut command = Command::new("kubectl");
    command
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--cache-dir")
        .arg(&cache)
        .args(args)
        .env_remove("KUBECONFIG")
        .kill_on_drop(true);
    tokio::time::timeout(Duration::from_secs(30), command.output())
        .await
        .expect("kubectl finishes")
        .expect("kubectl runs")
}

#[tokio::test]
async fn kubectl_with_the_admin_kubeconfig() {
    tokio::time::timeout(TEST_TIMEOUT, async {
        let server = start().await;

        let out = kubectl(&server.kubeconfig, &["get", "--raw", "/api"]).await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "stdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let value: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(value["kind"], "APIVersions");

        let out = kubectl(&server.kubeconfig, &["get", "--raw", "/whoami"]).await;
        let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(value["name"], "admin");
        // client-go takes HTTP/2 when ALPN offers it, as against kube-apiserver.
        assert_eq!(value["protocol"], "HTTP/2.0");
        assert_eq!(
            value["groups"],
            serde_json::json!(["system:masters", "system:authenticated"])
        );

        for args in [
            &["--token", "wrong", "get", "--raw", "/api"][..],
            // A wrong token is refused even where anonymous reads are allowed.
            &["--token", "wrong", "get", "--raw", "/healthz"][..],
        ] {
            let out = kubectl(&server.kubeconfig, args).await;
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{args:?}: {stderr}");
            assert!(
                stderr.contains("error: You must be logged in to the server (Unauthorized)"),
                "{args:?}: {stderr}"
            );
        }

        server.stop().await;
    })
    .await
    .expect("test finishes in time");
}

fn client_config(
    paths: &CertPaths,
    alpn: &[u8],
    client_cert: Option<(String, String)>,
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&paths.ca_cert).unwrap())
        .unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let mut config = match client_cert {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![alpn.to_vec()];
    Arc::new(config)
}

/// A minimal client speaking exactly the protocol ALPN negotiated.
struct RawClient {
    h2: Option<hyper::client::conn::http2::SendRequest<Empty<Bytes>>>,
    h1: Option<hyper::client::conn::http1::SendRequest<Empty<Bytes>>>,
}

impl RawClient {
    async fn connect(
        addr: std::net::SocketAddr,
        host: &str,
        config: Arc<rustls::ClientConfig>,
    ) -> (RawClient, Vec<u8>) {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let name = ServerName::try_from(host.to_string()).unwrap();
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .unwrap();
        let alpn = tls.get_ref().1.alpn_protocol().unwrap_or_default().to_vec();
        let io = TokioIo::new(tls);
        let client = if alpn == b"h2" {
            let (send, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                .await
                .unwrap();
            tokio::spawn(conn);
            RawClient {
                h2: Some(send),
                h1: None,
            }
        } else {
            let (send, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
            tokio::spawn(conn);
            RawClient {
                h2: None,
                h1: Some(send),
            }
        };
        (client, alpn)
    }

    async fn get(&mut self, path: &str, token: Option<&str>) -> (StatusCode, String) {
        let mut request = Request::get(format!("https://127.0.0.1{path}"));
        if self.h1.is_some() {
            request = request.header(http::header::HOST, "127.0.0.1");
        }
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request.body(Empty::<Bytes>::new()).unwrap();
        let response = match (&mut self.h2, &mut self.h1) {
            (Some(h2), _) => h2.send_request(request).await.unwrap(),
            (None, Some(h1)) => h1.send_request(request).await.unwrap(),
            (None, None) => unreachable!(),
        };
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }
}

#[tokio::test]
async fn http2_and_http11_with_tokens_and_client_certificates() {
    tokio::time::timeout(TEST_TIMEOUT, async {
        let server = start().await;

        // A client that never starts its TLS handshake must not hold up anyone else.
        let _idle = TcpStream::connect(server.addr).await.unwrap();

        for (alpn, host) in [(&b"h2"[..], "127.0.0.1"), (&b"http/1.1"[..], "localhost")] {
            let (mut client, negotiated) =
                RawClient::connect(server.addr, host, client_config(&server.paths, alpn, None))
                    .await;
            assert_eq!(negotiated, alpn);

            let (status, body) = client.get("/api", Some(&server.token)).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert!(body.contains("APIVersions"), "{body}");

            // Several requests on the one connection, one of them streamed.
            let (status, body) = client.get("/stream", Some(&server.token)).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(body, "event-0\nevent-1\nevent-2\n");

            for token in [None, Some("wrong")] {
                let (status, body) = client.get("/api", token).await;
                assert_eq!(status, StatusCode::UNAUTHORIZED);
                let value: serde_json::Value = serde_json::from_str(&body).unwrap();
                assert_eq!(value["reason"], "Unauthorized");
                assert_eq!(value["code"], 401);
            }

            let (status, body) = client.get("/healthz", None).await;
            assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"));
        }

        // A client certificate signed by the cluster CA authenticates without a token.
        let cert = tls::issue_client_cert(
            &server.paths,
            "system:node:n1",
            &["system:nodes".to_string()],
            Duration::from_secs(3600),
        )
        .unwrap();
        let (mut client, _) = RawClient::connect(
            server.addr,
            "127.0.0.1",
            client_config(&server.paths, b"h2", Some(cert)),
        )
        .await;
        let (status, body) = client.get("/whoami", None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value["name"], "system:node:n1");
        assert_eq!(
            value["groups"],
            serde_json::json!(["system:nodes", "system:authenticated"])
        );

        server.stop().await;
    })
    .await
    .expect("test finishes in time");
}

#[tokio::test]
async fn kube_rs_client_from_the_kubeconfig() {
    tokio::time::timeout(TEST_TIMEOUT, async {
        let server = start().await;

        let kubeconfig = kube::config::Kubeconfig::read_from(&server.kubeconfig).unwrap();
        let config = kube::Config::from_custom_kubeconfig(
            kubeconfig.clone(),
            &kube::config::KubeConfigOptions::default(),
        )
        .await
        .unwrap();
        let client = kube::Client::try_from(config).unwrap();
        let versions = client.list_core_api_versions().await.unwrap();
        assert_eq!(versions.versions, vec!["v1".to_string()]);

        let mut wrong = kubeconfig;
        wrong.auth_infos[0].auth_info.as_mut().unwrap().token = Some("wrong".to_string().into());
        let config = kube::Config::from_custom_kubeconfig(
            wrong,
            &kube::config::KubeConfigOptions::default(),
        )
        .await
        .unwrap();
        let client = kube::Client::try_from(config).unwrap();
        match client.list_core_api_versions().await {
            Err(kube::Error::Api(status)) => {
                assert_eq!(status.code, 401);
                assert_eq!(status.reason, "Unauthorized");
            }
            other => panic!("expected 401, got {other:?}"),
        }

        server.stop().await;
    })
    .await
    .expect("test finishes in time");
}
