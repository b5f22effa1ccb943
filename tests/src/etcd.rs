//! A throwaway single-member etcd for tests: free loopback ports, a temporary data directory,
//! killed and removed on drop, so tests running in parallel never share or leak one.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long etcd may take to report healthy (it usually needs about a second).
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// A freshly picked free port can be taken by someone else before etcd binds it; retry then.
const START_ATTEMPTS: usize = 3;

pub struct Etcd {
    /// `http://127.0.0.1:<client port>`.
    pub endpoint: String,
    child: Child,
    // Dropped after the process is killed (field order does not matter: Drop kills first).
    dir: tempfile::TempDir,
}

impl Etcd {
    /// Starts etcd and waits until it answers `/health` with `true`.
    pub async fn start() -> anyhow::Result<Etcd> {
        let mut last_err = None;
        for _ in 0..START_ATTEMPTS {
            match Self::start_once().await {
                Ok(etcd) => return Ok(etcd),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow::anyhow!("etcd did not start")))
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The process id (e.g. to signal it in a failure test).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Where etcd's output goes; worth reading when a test fails.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("etcd.log")
    }

    async fn start_once() -> anyhow::Result<Etcd> {
        let dir = tempfile::Builder::new().prefix("etcd-test-").tempdir()?;
        let client_port = free_port()?;
        let peer_port = free_port()?;
        let client_url = format!("http://127.0.0.1:{client_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        let log = std::fs::File::create(dir.path().join("etcd.log"))?;
        let child = Command::new("etcd")
            .arg("--name=test")
            .arg(format!("--data-dir={}", dir.path().join("data").display()))
            .arg(format!("--listen-client-urls={client_url}"))
            .arg(format!("--advertise-client-urls={client_url}"))
            .arg(format!("--listen-peer-urls={peer_url}"))
            .arg(format!("--initial-advertise-peer-urls={peer_url}"))
            .arg(format!("--initial-cluster=test={peer_url}"))
            .arg("--initial-cluster-state=new")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("spawning etcd (is /usr/bin/etcd installed?)")?;
        let mut etcd = Etcd {
            endpoint: client_url,
            child,
            dir,
        };
        etcd.wait_healthy(client_port).await?;
        Ok(etcd)
    }

    async fn wait_healthy(&mut self, port: u16) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
                let tail: String = log.lines().rev().take(10).collect::<Vec<_>>().join("\n");
                bail!(
                    "etcd exited with {status} before becoming healthy; last log lines (newest first):\n{tail}"
                );
            }
            if health(port).await {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("etcd not healthy within {START_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        // SIGKILL by PID: nothing of a test etcd needs a clean shutdown. Reap it so it does not
        // linger as a zombie; the TempDir field then removes the data directory.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free a moment ago (bind to 0, read it, release it).
fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// etcd's `/health` over plain HTTP/1.0, with a short bound so a hung socket cannot stall.
async fn health(port: u16) -> bool {
    let check = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()?;
        stream
            .write_all(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .await
            .ok()?;
        let mut body = String::new();
        stream.read_to_string(&mut body).await.ok()?;
        Some(body.contains("\"health\":\"true\""))
    };
    tokio::time::timeout(Duration::from_secs(2), check)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}
