//! A lean HTTPS client for the API benchmarks: hyper's connection-level client over
//! tokio-rustls with the cluster CA and bearer token from the admin kubeconfig. Either one
//! HTTP/2 connection multiplexing every request, or one HTTP/1.1 connection per worker; no
//! pool, connector or retry machinery on the measured path.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use base64::Engine as _;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// The HTTP version the client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// One HTTP/1.1 connection per concurrent worker.
    H1,
    /// One HTTP/2 connection, every request a stream on it.
    H2,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::H1 => "h1",
            Mode::H2 => "h2",
        }
    }
}

/// Where and how to reach one API server.
#[derive(Clone)]
pub struct Target {
    addr: SocketAddr,
    /// Plain HTTP (the server's `--insecure-port`) instead of HTTPS: a diagnostic that shows
    /// what TLS costs.
    plain: bool,
    /// `127.0.0.1:PORT`, for the Host header and HTTP/2's :authority.
    authority: String,
    server_name: ServerName<'static>,
    tls_h1: Arc<rustls::ClientConfig>,
    tls_h2: Arc<rustls::ClientConfig>,
    bearer: HeaderValue,
}

impl Target {
    /// Reads the server URL, CA and admin token from an admin kubeconfig.
    pub fn from_kubeconfig(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let config: serde_yaml::Value = serde_yaml::from_str(&text)?;
        let cluster = &config["clusters"][0]["cluster"];
        let server = cluster["server"]
            .as_str()
            .context("kubeconfig: no clusters[0].cluster.server")?;
        let hostport = server
            .strip_prefix("https://")
            .with_context(|| format!("kubeconfig server {server:?} is not https://"))?
            .trim_end_matches('/');
        let addr: SocketAddr = hostport
            .parse()
            .with_context(|| format!("kubeconfig server {server:?}: expected https://IP:PORT"))?;
        let ca_b64 = cluster["certificate-authority-data"]
            .as_str()
            .context("kubeconfig: no certificate-authority-data")?;
        let ca_pem = base64::engine::general_purpose::STANDARD.decode(ca_b64.trim())?;
        let token = config["users"][0]["user"]["token"]
            .as_str()
            .context("kubeconfig: no users[0].user.token")?;

        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(&ca_pem) {
            roots.add(cert.context("kubeconfig: bad CA PEM")?)?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let base = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut tls_h1 = base.clone();
        tls_h1.alpn_protocols = vec![b"http/1.1".to_vec()];
        let mut tls_h2 = base;
        tls_h2.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Self {
            addr,
            plain: false,
            authority: hostport.to_string(),
            server_name: ServerName::IpAddress(addr.ip().into()),
            tls_h1: Arc::new(tls_h1),
            tls_h2: Arc::new(tls_h2),
            bearer: HeaderValue::from_str(&format!("Bearer {token}"))?,
        })
    }

    /// The same server and credentials over plain HTTP on `port` (`--insecure-port`).
    pub fn plain_http(&self, port: u16) -> Self {
        let addr = SocketAddr::new(self.addr.ip(), port);
        Self {
            addr,
            plain: true,
            authority: addr.to_string(),
            ..self.clone()
        }
    }

    /// `concurrency` senders in `mode`: HTTP/1.1 opens one connection each, HTTP/2 opens one
    /// connection they all share.
    pub async fn senders(&self, mode: Mode, concurrency: usize) -> anyhow::Result<Vec<Sender>> {
        let mut senders = Vec::with_capacity(concurrency);
        match mode {
            Mode::H1 => {
                for _ in 0..concurrency {
                    senders.push(self.connect(Mode::H1).await?);
                }
            }
            Mode::H2 => {
                let first = self.connect(Mode::H2).await?;
                for _ in 1..concurrency {
                    senders.push(first.share().context("HTTP/2 sender")?);
                }
                senders.push(first);
            }
        }
        Ok(senders)
    }

    /// One new connection.
    pub async fn connect(&self, mode: Mode) -> anyhow::Result<Sender> {
        let tcp = TcpStream::connect(self.addr)
            .await
            .with_context(|| format!("connecting to {}", self.addr))?;
        tcp.set_nodelay(true)?;
        let conn = if self.plain {
            handshake(mode, TokioIo::new(tcp)).await?
        } else {
            let tls = match mode {
                Mode::H1 => self.tls_h1.clone(),
                Mode::H2 => self.tls_h2.clone(),
            };
            let stream = TlsConnector::from(tls)
                .connect(self.server_name.clone(), tcp)
                .await
                .context("TLS handshake")?;
            let negotiated = stream.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
            if mode == Mode::H2 && negotiated.as_deref() != Some(b"h2") {
                bail!("server did not negotiate h2 (ALPN {negotiated:?})");
            }
            handshake(mode, TokioIo::new(stream)).await?
        };
        Ok(Sender {
            conn,
            plain: self.plain,
            authority: self.authority.clone(),
            bearer: self.bearer.clone(),
        })
    }
}

/// The HTTP handshake on an established stream; the connection is driven by its own task.
async fn handshake<I>(mode: Mode, io: I) -> anyhow::Result<Conn>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    Ok(match mode {
        Mode::H1 => {
            let (send, conn) = http1::handshake(io).await?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Conn::H1(send)
        }
        Mode::H2 => {
            let (send, conn) = http2::handshake(TokioExecutor::new(), io).await?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Conn::H2(send)
        }
    })
}

enum Conn {
    H1(http1::SendRequest<Full<Bytes>>),
    H2(http2::SendRequest<Full<Bytes>>),
}

/// Sends requests on one connection (HTTP/1.1: one at a time; HTTP/2: shared, concurrent).
pub struct Sender {
    conn: Conn,
    plain: bool,
    authority: String,
    bearer: HeaderValue,
}

impl Sender {
    /// Another sender on the same HTTP/2 connection (`None` for HTTP/1.1).
    fn share(&self) -> Option<Self> {
        match &self.conn {
            Conn::H1(_) => None,
            Conn::H2(s) => Some(Self {
                conn: Conn::H2(s.clone()),
                plain: self.plain,
                authority: self.authority.clone(),
                bearer: self.bearer.clone(),
            }),
        }
    }

    /// A request for `path` (with query) carrying the bearer token.
    pub fn request(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
    ) -> anyhow::Result<Request<Full<Bytes>>> {
        let mut builder = Request::builder().method(method);
        builder = match self.conn {
            // HTTP/2 needs :scheme and :authority, which come from an absolute URI.
            Conn::H2(_) => {
                let scheme = if self.plain { "http" } else { "https" };
                builder.uri(format!("{scheme}://{}{path}", self.authority))
            }
            Conn::H1(_) => builder.uri(path).header(HOST, self.authority.as_str()),
        };
        builder = builder.header(AUTHORIZATION, self.bearer.clone());
        if !body.is_empty() {
            builder = builder.header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        Ok(builder.body(Full::new(body))?)
    }

    /// Sends `request` and returns the response with its body unread (for watches).
    pub async fn send_streaming(
        &mut self,
        request: Request<Full<Bytes>>,
    ) -> anyhow::Result<Response<Incoming>> {
        Ok(match &mut self.conn {
            Conn::H1(s) => {
                s.ready().await?;
                s.send_request(request).await?
            }
            Conn::H2(s) => {
                s.ready().await?;
                s.send_request(request).await?
            }
        })
    }

    /// Sends `request` and reads the whole response body.
    pub async fn send(
        &mut self,
        request: Request<Full<Bytes>>,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let response = self.send_streaming(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    /// Sends a request and fails unless the status is `expect`.
    pub async fn call(
        &mut self,
        method: Method,
        path: &str,
        body: Bytes,
        expect: StatusCode,
    ) -> anyhow::Result<Bytes> {
        let request = self.request(method.clone(), path, body)?;
        let (status, body) = self.send(request).await?;
        if status != expect {
            bail!(
                "{method} {path}: HTTP {status} (expected {expect}): {}",
                String::from_utf8_lossy(&body[..body.len().min(300)])
            );
        }
        Ok(body)
    }
}
