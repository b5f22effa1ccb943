//! `ferrokube lb`: a small TCP load balancer for highly available API servers. Clients
//! (kubectl, kube-rs, the components) take one server URL, so a cluster with several API
//! servers puts this in front of them: every connection goes to the next backend in turn,
//! and a backend that refuses or times out is skipped for a while. TLS passes through
//! untouched (the API servers' certificates carry the load balancer's address as a SAN).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;

#[derive(clap::Args, Debug)]
pub struct LbArgs {
    /// Where clients connect, e.g. 127.0.0.1:6443.
    #[arg(long)]
    pub listen: SocketAddr,
    /// An API server address (host:port); give one flag per server.
    #[arg(long = "backend", required = true)]
    pub backends: Vec<SocketAddr>,
    /// How long to try one backend before the next.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub connect_timeout: Duration,
    /// How long a backend that failed is left out.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub backoff: Duration,
}

struct Backends {
    addrs: Vec<SocketAddr>,
    next: AtomicUsize,
    failed_until: Mutex<Vec<Option<Instant>>>,
    connect_timeout: Duration,
    backoff: Duration,
}

impl Backends {
    /// Connects to the next healthy backend in turn; backends in back-off are tried last, so
    /// a client still gets through when every backend has failed once.
    async fn connect(&self) -> Option<(SocketAddr, TcpStream)> {
        let n = self.addrs.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let order: Vec<usize> = {
            let failed = self.failed_until.lock().await;
            let (healthy, resting): (Vec<usize>, Vec<usize>) = (0..n)
                .map(|k| (start + k) % n)
                .partition(|&i| failed[i].is_none_or(|t| t <= now));
            healthy.into_iter().chain(resting).collect()
        };
        for i in order {
            let addr = self.addrs[i];
            match tokio::time::timeout(self.connect_timeout, TcpStream::connect(addr)).await {
                Ok(Ok(stream)) => {
                    self.failed_until.lock().await[i] = None;
                    return Some((addr, stream));
                }
                Ok(Err(e)) => tracing::warn!(backend = %addr, error = %e, "backend refused"),
                Err(_) => tracing::warn!(backend = %addr, "backend connect timed out"),
            }
            self.failed_until.lock().await[i] = Some(Instant::now() + self.backoff);
        }
        None
    }
}

pub async fn run(args: LbArgs) -> anyhow::Result<()> {
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let n = args.backends.len();
    let backends = Arc::new(Backends {
        addrs: args.backends,
        next: AtomicUsize::new(0),
        failed_until: Mutex::new(vec![None; n]),
        connect_timeout: args.connect_timeout,
        backoff: args.backoff,
    });
    println!(
        "ferrokube lb: {} -> {}",
        args.listen,
        backends
            .addrs
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    loop {
        let (mut client, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: keep serving once it passes.
                tracing::warn!(error = %e, "accept");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let backends = backends.clone();
        tokio::spawn(async move {
            let _ = client.set_nodelay(true);
            let Some((addr, mut server)) = backends.connect().await else {
                tracing::warn!(client = %peer, "no backend reachable");
                return;
            };
            let _ = server.set_nodelay(true);
            if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut server).await {
                tracing::debug!(client = %peer, backend = %addr, error = %e, "connection ended");
            }
        });
    }
}
