//! The real `apiserver` / `ferrokube up` binaries as child processes for end-to-end tests:
//! a free loopback port, a private temporary directory (certificates, kubeconfig, log, kubectl
//! cache), readiness = the kubeconfig file appearing (bounded), SIGKILL by PID on drop.
//!
//! Also the clients a test talks to it with: real `kubectl` (bounded in time) and a raw HTTPS
//! client (kube-rs, built from the kubeconfig) that shows status codes and bodies as they are.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::BodyExt;

use crate::etcd::Etcd;

/// How long a server may take to write its kubeconfig (it is usually well under a second; tests
/// run four at a time on two cores, so leave room).
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// The bound on one kubectl invocation.
pub const KUBECTL_TIMEOUT: Duration = Duration::from_secs(60);
/// The bound on one raw HTTP request (not a watch).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// A freshly picked free port can be taken by someone else before the server binds it.
const START_ATTEMPTS: usize = 3;

/// Which binary and storage a server runs with.
#[derive(Debug, Clone)]
enum Mode {
    /// `apiserver --etcd-servers URL`.
    Etcd { endpoint: String },
    /// `apiserver --storage embedded --data-dir DIR`.
    Embedded { data_dir: PathBuf },
    /// `ferrokube up --data-dir DIR` (embedded store; kubeconfig at DIR/kubeconfig).
    Up { data_dir: PathBuf },
}

/// A running (or killed, until restarted) API server process.
pub struct ApiServer {
    /// The admin kubeconfig the server wrote.
    pub kubeconfig: PathBuf,
    /// `https://127.0.0.1:<port>`.
    pub url: String,
    /// The process id of the current incarnation.
    pub pid: u32,
    pub port: u16,
    mode: Mode,
    child: Option<Child>,
    starts: usize,
    // Last: removed after the process is killed (Drop kills first).
    dir: tempfile::TempDir,
}

/// Where the ferrokube binaries are: `$FERROKUBE_BIN_DIR`, else the cargo profile directory of
/// the running test executable (`target/release/deps/x-hash` → `target/release`).
pub fn bin_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("FERROKUBE_BIN_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let exe = std::env::current_exe().context("locating the test executable")?;
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.pop();
    }
    Ok(dir)
}

/// The path of a ferrokube binary, checked to exist.
pub fn binary(name: &str) -> anyhow::Result<PathBuf> {
    let path = bin_dir()?.join(name);
    if !path.is_file() {
        bail!(
            "{} not found: build it first (cargo build --release -p apiserver -p ferrokube) or set FERROKUBE_BIN_DIR",
            path.display()
        );
    }
    Ok(path)
}

/// A port that was free a moment ago.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl ApiServer {
    /// `apiserver` on the given etcd.
    pub async fn start_etcd(etcd: &Etcd) -> anyhow::Result<ApiServer> {
        Self::launch(Mode::Etcd {
            endpoint: etcd.endpoint.clone(),
        })
        .await
    }

    /// `apiserver --storage embedded` keeping its data in `data_dir` (owned by the caller, so
    /// it can outlive the server and be reopened).
    pub async fn start_embedded(data_dir: &Path) -> anyhow::Result<ApiServer> {
        Self::launch(Mode::Embedded {
            data_dir: data_dir.to_path_buf(),
        })
        .await
    }

    /// `ferrokube up --data-dir data_dir` (owned by the caller).
    pub async fn start_up(data_dir: &Path) -> anyhow::Result<ApiServer> {
        Self::launch(Mode::Up {
            data_dir: data_dir.to_path_buf(),
        })
        .await
    }

    async fn launch(mode: Mode) -> anyhow::Result<ApiServer> {
        let dir = tempfile::Builder::new()
            .prefix("apiserver-test-")
            .tempdir()?;
        let kubeconfig = match &mode {
            Mode::Up { data_dir } => data_dir.join("kubeconfig"),
            _ => dir.path().join("kubeconfig"),
        };
        let mut server = ApiServer {
            kubeconfig,
            url: String::new(),
            pid: 0,
            port: 0,
            mode,
            child: None,
            starts: 0,
            dir,
        };
        server.start_fresh_port().await?;
        Ok(server)
    }

    /// The temporary directory of this server (certificates, logs); removed on drop.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The log of the current (or last) incarnation: worth reading when a test fails.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join(format!("server-{}.log", self.starts))
    }

    /// The last lines of the current log.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// SIGKILL the server and reap it; its data (etcd or data dir) stays.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM the server and wait (bounded) for it to exit; SIGKILL if it does not in time.
    /// Returns whether it exited on its own and with success.
    pub async fn terminate(&mut self, within: Duration) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        let sent = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .is_ok_and(|s| s.success());
        let deadline = Instant::now() + within;
        while sent && Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    /// Kill (SIGKILL) if running, then start again on the same storage, certificates and
    /// port (another free port if that one is taken meanwhile).
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.kill9();
        match self.start_on(self.port).await {
            Ok(()) => Ok(()),
            Err(_) => self.start_fresh_port().await,
        }
    }

    async fn start_fresh_port(&mut self) -> anyhow::Result<()> {
        let mut last_err = None;
        for _ in 0..START_ATTEMPTS {
            match self.start_on(free_port()?).await {
                Ok(()) => return Ok(()),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow::anyhow!("the API server did not start")))
    }

    async fn start_on(&mut self, port: u16) -> anyhow::Result<()> {
        // The kubeconfig's appearance is the readiness signal: remove any earlier one.
        match std::fs::remove_file(&self.kubeconfig) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).context("removing the old kubeconfig");
            }
            _ => {}
        }
        self.starts += 1;
        let log = std::fs::File::create(self.log_path())?;
        let mut cmd = match &self.mode {
            Mode::Etcd { endpoint } => {
                let mut c = Command::new(binary("apiserver")?);
                c.arg("--etcd-servers").arg(endpoint);
                self.common_apiserver_args(&mut c, port);
                c
            }
            Mode::Embedded { data_dir } => {
                let mut c = Command::new(binary("apiserver")?);
                c.arg("--storage")
                    .arg("embedded")
                    .arg("--data-dir")
                    .arg(data_dir);
                self.common_apiserver_args(&mut c, port);
                c
            }
            Mode::Up { data_dir } => {
                let mut c = Command::new(binary("ferrokube")?);
                c.arg("up")
                    .arg("--data-dir")
                    .arg(data_dir)
                    .arg("--secure-port")
                    .arg(port.to_string())
                    .arg("--bind-address")
                    .arg("127.0.0.1")
                    // The API tests check the API server's own behaviour: no controllers
                    // acting on their objects, no local node.
                    .arg("--apiserver-only");
                c
            }
        };
        cmd.env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
        )
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
        let child = cmd.spawn().context("spawning the API server")?;
        self.pid = child.id();
        self.port = port;
        self.url = format!("https://127.0.0.1:{port}");
        self.child = Some(child);
        if let Err(e) = self.wait_ready().await {
            self.kill9();
            return Err(e);
        }
        Ok(())
    }

    fn common_apiserver_args(&self, c: &mut Command, port: u16) {
        c.arg("--secure-port")
            .arg(port.to_string())
            .arg("--bind-address")
            .arg("127.0.0.1")
            .arg("--cert-dir")
            .arg(self.dir.path().join("pki"))
            .arg("--kubeconfig-out")
            .arg(&self.kubeconfig);
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(child) = &mut self.child
                && let Some(status) = child.try_wait()?
            {
                bail!(
                    "the API server exited with {status} before it was ready; last log lines:\n{}",
                    self.log_tail(40)
                );
            }
            if let Ok(text) = std::fs::read_to_string(&self.kubeconfig)
                && text.contains(&format!(":{}", self.port))
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "the API server wrote no kubeconfig within {START_TIMEOUT:?}; last log lines:\n{}",
                    self.log_tail(40)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs real kubectl against this server (own discovery cache dir), bounded by
    /// [`KUBECTL_TIMEOUT`]. A timeout gives exit code 124 and says so on stderr.
    pub async fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_with_input(args, None).await
    }

    /// [`ApiServer::kubectl`] with `input` on stdin (for `-f -`).
    pub async fn kubectl_with_input(&self, args: &[&str], input: Option<&[u8]>) -> Output {
        let mut cmd = self.kubectl_command(args);
        cmd.stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let run = async {
            let mut child = cmd.spawn()?;
            if let (Some(data), Some(mut stdin)) = (input, child.stdin.take()) {
                use tokio::io::AsyncWriteExt;
                stdin.write_all(data).await?;
                drop(stdin);
            }
            child.wait_with_output().await
        };
        match tokio::time::timeout(KUBECTL_TIMEOUT, run).await {
            Ok(Ok(out)) => out,
            Ok(Err(e)) => failed_output(format!("cannot run kubectl: {e}")),
            // Dropping the future dropped the child, which kill_on_drop kills.
            Err(_) => failed_output(format!(
                "kubectl {args:?} timed out after {KUBECTL_TIMEOUT:?}"
            )),
        }
    }

    /// kubectl's stdout if it exits 0, else an error with its stderr.
    pub async fn kubectl_ok(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = self.kubectl(args).await;
        if !out.status.success() {
            bail!(
                "kubectl {args:?} failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// kubectl's stdout parsed as JSON (for `-o json` and `get --raw`).
    pub async fn kubectl_json(&self, args: &[&str]) -> anyhow::Result<serde_json::Value> {
        let out = self.kubectl_ok(args).await?;
        serde_json::from_str(&out)
            .with_context(|| format!("kubectl {args:?} printed no JSON: {out}"))
    }

    /// A kubectl command (not started) for streaming uses such as `--watch`: stdout piped,
    /// killed when dropped. The caller bounds its run time.
    pub fn kubectl_command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new("kubectl");
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.dir.path().join("kubectl-cache"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    /// A kube-rs client authenticated as the admin of the kubeconfig. Retries are off, so
    /// tests see every status code as sent.
    pub async fn client(&self) -> anyhow::Result<kube::Client> {
        let config = self.client_config().await?;
        Ok(kube::Client::try_from(config)?)
    }

    /// A client that trusts the server's CA but sends no credentials of its own (add an
    /// `Authorization` header per request to try a token).
    pub async fn anonymous_client(&self) -> anyhow::Result<kube::Client> {
        let mut config = self.client_config().await?;
        config.auth_info = Default::default();
        Ok(kube::Client::try_from(config)?)
    }

    async fn client_config(&self) -> anyhow::Result<kube::Config> {
        let kc = kube::config::Kubeconfig::read_from(&self.kubeconfig)?;
        let mut config =
            kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
                .await?;
        config.default_retry = false;
        config.read_timeout = None;
        Ok(config)
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn failed_output(message: String) -> Output {
    use std::os::unix::process::ExitStatusExt;
    Output {
        status: std::process::ExitStatus::from_raw(124 << 8),
        stdout: Vec::new(),
        stderr: message.into_bytes(),
    }
}

/// A raw HTTP response: status, content type and the whole body.
#[derive(Debug)]
pub struct RawResponse {
    pub status: http::StatusCode,
    pub content_type: String,
    pub body: Bytes,
}

impl RawResponse {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> anyhow::Result<serde_json::Value> {
        serde_json::from_slice(&self.body)
            .with_context(|| format!("response ({}) is not JSON: {}", self.status, self.text()))
    }
}

/// Sends one request and reads the whole response, bounded by [`REQUEST_TIMEOUT`]. Any HTTP
/// status is a success here; only a transport failure (e.g. a dropped connection) is an error.
pub async fn send(
    client: &kube::Client,
    request: http::Request<Vec<u8>>,
) -> anyhow::Result<RawResponse> {
    let what = format!("{} {}", request.method(), request.uri());
    let run = async {
        let resp = client.send(request.map(kube::client::Body::from)).await?;
        let status = resp.status();
        let content_type = resp
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = resp.into_body().collect().await?.to_bytes();
        anyhow::Ok(RawResponse {
            status,
            content_type,
            body,
        })
    };
    tokio::time::timeout(REQUEST_TIMEOUT, run)
        .await
        .with_context(|| format!("{what}: no response within {REQUEST_TIMEOUT:?}"))?
        .with_context(|| format!("{what}: transport failure"))
}

/// Builds a request (a helper for the common cases): `content_type` None sends no header.
pub fn request(
    method: http::Method,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<Vec<u8>>,
) -> anyhow::Result<http::Request<Vec<u8>>> {
    let mut b = http::Request::builder().method(method).uri(path);
    if let Some(ct) = content_type {
        b = b.header(http::header::CONTENT_TYPE, ct);
    }
    Ok(b.body(body.into())?)
}

/// A watch response being read event by event.
pub struct WatchStream {
    pub status: http::StatusCode,
    body: kube::client::Body,
    buf: Vec<u8>,
    ended: bool,
}

impl WatchStream {
    /// Starts a watch (`path` must carry `watch=1`); waits for the response head, bounded.
    pub async fn start(client: &kube::Client, path: &str) -> anyhow::Result<WatchStream> {
        let req = http::Request::get(path).body(kube::client::Body::empty())?;
        let resp = tokio::time::timeout(REQUEST_TIMEOUT, client.send(req))
            .await
            .with_context(|| {
                format!("watch {path}: no response head within {REQUEST_TIMEOUT:?}")
            })??;
        Ok(WatchStream {
            status: resp.status(),
            body: resp.into_body(),
            buf: Vec::new(),
            ended: false,
        })
    }

    /// The next event (one JSON line), waiting at most `within`. `Ok(None)`: the stream
    /// ended (or nothing came in time — see [`WatchStream::ended`]).
    pub async fn next_event(
        &mut self,
        within: Duration,
    ) -> anyhow::Result<Option<serde_json::Value>> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                let line = &line[..line.len() - 1];
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return serde_json::from_slice(line).map(Some).with_context(|| {
                    format!("watch line is not JSON: {}", String::from_utf8_lossy(line))
                });
            }
            if self.ended {
                if self.buf.iter().all(u8::is_ascii_whitespace) {
                    return Ok(None);
                }
                let rest = std::mem::take(&mut self.buf);
                return serde_json::from_slice(&rest).map(Some).with_context(|| {
                    format!(
                        "last watch bytes are not JSON: {}",
                        String::from_utf8_lossy(&rest)
                    )
                });
            }
            match tokio::time::timeout_at(deadline, self.body.frame()).await {
                Err(_) => return Ok(None),
                Ok(None) => self.ended = true,
                Ok(Some(frame)) => {
                    if let Ok(data) = frame?.into_data() {
                        self.buf.extend_from_slice(&data);
                    }
                }
            }
        }
    }

    /// Whether the server ended the stream.
    pub fn ended(&self) -> bool {
        self.ended
    }
}
