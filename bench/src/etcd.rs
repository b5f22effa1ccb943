//! A throwaway single-member etcd, and raw etcd write load through the etcd-client crate: the
//! reference every API write figure is compared against.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;
use etcd_client::{Client, Compare, CompareOp, Txn, TxnOp};
use tempfile::TempDir;

use crate::proc::{ChildGuard, free_port};
use crate::stats::{Load, closed_loop};

/// etcd on free loopback ports with its data in a temp dir; killed and removed on drop.
pub struct Etcd {
    pub endpoint: String,
    // Field order = drop order: the process goes before its data dir.
    process: ChildGuard,
    _dir: TempDir,
}

impl Etcd {
    pub async fn start(binary: &Path) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix("bench-etcd-").tempdir()?;
        let (client_port, peer_port) = (free_port()?, free_port()?);
        let endpoint = format!("http://127.0.0.1:{client_port}");
        let peer = format!("http://127.0.0.1:{peer_port}");
        let mut command = Command::new(binary);
        command
            .args(["--name", "bench", "--data-dir"])
            .arg(dir.path().join("data"))
            .args(["--listen-client-urls", &endpoint])
            .args(["--advertise-client-urls", &endpoint])
            .args(["--listen-peer-urls", &peer])
            .args(["--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &format!("bench={peer}")])
            .args(["--initial-cluster-state", "new"])
            // The API server's own default quota would be hit by long runs; 8 GiB is etcd's
            // documented maximum and what kube deployments use.
            .args(["--quota-backend-bytes", "8589934592"]);
        let mut process = ChildGuard::spawn("etcd", command, &dir.path().join("etcd.log"))?;
        let started = Instant::now();
        loop {
            process.check_alive()?;
            if let Ok(Ok(mut client)) = tokio::time::timeout(
                Duration::from_secs(1),
                Client::connect([endpoint.as_str()], None),
            )
            .await
                && client.get("health-probe", None).await.is_ok()
            {
                break;
            }
            if started.elapsed() > Duration::from_secs(20) {
                anyhow::bail!(
                    "etcd did not become ready in 20 s; end of its log:\n{}",
                    process.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(Self {
            endpoint,
            process,
            _dir: dir,
        })
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }
}

/// Which write the raw load issues.
#[derive(Debug, Clone, Copy)]
pub enum RawWrite {
    /// A plain put.
    Put,
    /// What an API create issues: a transaction `create_revision(key) == 0 ? put : nothing`.
    CreateTxn,
}

/// `concurrency` writers putting distinct keys `{prefix}/{worker}/{seq}` with `value`, for
/// `duration`, all over one etcd-client connection (as the API server talks to etcd).
pub async fn write_load(
    endpoint: &str,
    kind: RawWrite,
    prefix: &str,
    value: &[u8],
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<Load> {
    let client = Client::connect([endpoint], None)
        .await
        .context("connecting to etcd")?;
    let states = vec![client.kv_client(); concurrency];
    let prefix = prefix.to_string();
    let value = value.to_vec();
    Ok(closed_loop(states, duration, move |mut kv, worker, seq| {
        let key = format!("{prefix}/{worker:03}/{seq:09}");
        let value = value.clone();
        async move {
            let result = match kind {
                RawWrite::Put => kv.put(key, value, None).await.map(|_| ()),
                RawWrite::CreateTxn => {
                    let txn = Txn::new()
                        .when([Compare::create_revision(key.as_str(), CompareOp::Equal, 0)])
                        .and_then([TxnOp::put(key.as_str(), value, None)]);
                    match kv.txn(txn).await {
                        Ok(r) if r.succeeded() => Ok(()),
                        Ok(_) => Err(etcd_client::Error::InvalidArgs(format!(
                            "{key} already exists"
                        ))),
                        Err(e) => Err(e),
                    }
                }
            };
            (kv, result)
        }
    })
    .await)
}
