//! Node agent (kubelet): registers its Node, renews its Lease, runs the pods bound to it
//! through a container runtime and reports their status.
//!
//! One agent process serves one node (`--runtime process`) or, with `--simulated-nodes N`,
//! N simulated nodes that share one pod watch, one heartbeat loop and one HTTPS server, so
//! thousands of nodes fit in one process.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub mod cidr;
pub mod env;
pub mod events;
pub mod logs;
pub mod node;
pub mod pods;
pub mod probe;
pub mod runtime;
pub mod server;
pub mod status;
pub mod volumes;

use runtime::Runtime;

/// Which runtime runs the containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RuntimeKind {
    Process,
    Simulated,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| e.to_string())
}

/// The agent's flags, named as upstream's kubelet flags where one exists.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Name of the Node object this agent registers (with --simulated-nodes N the nodes are
    /// `<node-name>-0` … `<node-name>-(N-1)`).
    #[arg(long)]
    pub node_name: String,
    #[arg(long, value_enum, default_value = "process")]
    pub runtime: RuntimeKind,
    /// Run this many simulated nodes (implies --runtime simulated).
    #[arg(long, default_value_t = 0)]
    pub simulated_nodes: usize,
    /// Where pod directories, volumes, logs and runtime state live.
    #[arg(long, default_value = "/var/lib/ferrokube/kubelet")]
    pub root_dir: PathBuf,
    /// The node's InternalIP (default: the first non-loopback IPv4 address, else 127.0.0.1).
    #[arg(long)]
    pub node_ip: Option<IpAddr>,
    /// Address the HTTPS API listens on.
    #[arg(long, default_value = "0.0.0.0")]
    pub address: IpAddr,
    /// Port of the HTTPS API (/healthz, /containerLogs); 0 picks a free port.
    #[arg(long, default_value_t = 10250)]
    pub port: u16,
    /// CPU capacity in cores (default: the machine's).
    #[arg(long)]
    pub cpu: Option<u32>,
    /// Memory capacity in bytes (default: the machine's).
    #[arg(long)]
    pub memory: Option<u64>,
    #[arg(long, default_value_t = 110)]
    pub max_pods: u32,
    /// Extra node labels, `k=v,k2=v2`.
    #[arg(long, value_delimiter = ',')]
    pub node_labels: Vec<String>,
    /// Taints the node registers with, `key=value:Effect,key:Effect`.
    #[arg(long, value_delimiter = ',')]
    pub register_with_taints: Vec<String>,
    /// Pod CIDR to use until the Node's spec.podCIDR is assigned. With --simulated-nodes it
    /// is split into one subnet per node.
    #[arg(long)]
    pub pod_cidr: Option<ipnet::IpNet>,
    #[arg(long, default_value_t = 40)]
    pub node_lease_duration_seconds: u32,
    /// How often node status is computed (and patched when it changed).
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    pub node_status_update_frequency: Duration,
    /// How often node status is patched even when nothing changed.
    #[arg(long, value_parser = parse_duration, default_value = "5m")]
    pub node_status_report_frequency: Duration,
    /// First CrashLoopBackOff delay (doubles up to --crash-loop-backoff-max).
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    pub crash_loop_backoff_base: Duration,
    #[arg(long, value_parser = parse_duration, default_value = "300s")]
    pub crash_loop_backoff_max: Duration,
    /// How long a container must run before its back-off is forgotten.
    #[arg(long, value_parser = parse_duration, default_value = "10m")]
    pub crash_loop_backoff_reset: Duration,
    /// How often every pod is re-synced against its runtime state.
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    pub sync_frequency: Duration,
    /// On SIGINT/SIGTERM, stop every pod gracefully and remove the node's host resources
    /// (network namespaces, veths, bridge, cgroups) instead of leaving pods running for the
    /// next agent (upstream's behaviour, the default).
    #[arg(long)]
    pub stop_pods_on_exit: bool,
}

impl Options {
    /// Options for tests and the launcher: every default, the given node name.
    pub fn new(node_name: &str) -> Self {
        Options {
            node_name: node_name.to_string(),
            runtime: RuntimeKind::Process,
            simulated_nodes: 0,
            root_dir: PathBuf::from("/var/lib/ferrokube/kubelet"),
            node_ip: None,
            address: IpAddr::from([0, 0, 0, 0]),
            port: 10250,
            cpu: None,
            memory: None,
            max_pods: 110,
            node_labels: Vec::new(),
            register_with_taints: Vec::new(),
            pod_cidr: None,
            node_lease_duration_seconds: 40,
            node_status_update_frequency: Duration::from_secs(10),
            node_status_report_frequency: Duration::from_secs(300),
            crash_loop_backoff_base: Duration::from_secs(10),
            crash_loop_backoff_max: Duration::from_secs(300),
            crash_loop_backoff_reset: Duration::from_secs(600),
            sync_frequency: Duration::from_secs(10),
            stop_pods_on_exit: false,
        }
    }

    fn simulated(&self) -> bool {
        self.simulated_nodes > 0 || self.runtime == RuntimeKind::Simulated
    }
}

/// Why the agent stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid flag: {0}")]
    InvalidFlag(String),
    #[error("runtime: {0}")]
    Runtime(#[from] runtime::RuntimeError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("kubelet server: {0}")]
    Server(String),
    #[error("API: {0}")]
    Api(#[from] kube::Error),
}

/// Runs the agent until `shutdown` is cancelled. Pods keep running when the agent stops
/// (as upstream's kubelet leaves its containers), so a restarted agent re-adopts them; with
/// `--stop-pods-on-exit` they are stopped and every host resource removed first.
pub async fn run(
    opts: Options,
    client: kube::Client,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let nodes = node::node_specs(&opts)?;
    std::fs::create_dir_all(&opts.root_dir).map_err(|source| Error::Io {
        context: format!("creating root dir {}", opts.root_dir.display()),
        source,
    })?;
    let runtime: Arc<dyn Runtime> = if opts.simulated() {
        Arc::new(runtime::simulated::SimulatedRuntime::new())
    } else {
        let config = runtime::RuntimeConfig {
            root_dir: opts.root_dir.clone(),
            node_name: opts.node_name.clone(),
        };
        Arc::new(runtime::process::ProcessRuntime::new(config).await?)
    };
    let listener = tokio::net::TcpListener::bind((opts.address, opts.port))
        .await
        .map_err(|source| Error::Io {
            context: format!("binding {}:{}", opts.address, opts.port),
            source,
        })?;
    let port = listener
        .local_addr()
        .map_err(|source| Error::Io {
            context: "local address".into(),
            source,
        })?
        .port();
    let node_ip = opts.node_ip.unwrap_or_else(node::default_node_ip);
    tracing::info!(
        nodes = nodes.len(),
        runtime = runtime.name(),
        port,
        %node_ip,
        "node agent starting"
    );

    let agent = Arc::new(pods::Agent::new(
        client.clone(),
        opts.clone(),
        runtime,
        nodes,
        node_ip,
        port,
    ));
    let tls = server::tls_config(node_ip).map_err(Error::Server)?;
    let server_task = tokio::spawn(server::serve(
        listener,
        tls,
        agent.clone(),
        shutdown.clone(),
    ));

    node::register_all(&agent, &shutdown).await;
    if shutdown.is_cancelled() {
        return Ok(());
    }
    let tasks = vec![
        tokio::spawn(node::heartbeat_leases(agent.clone(), shutdown.clone())),
        tokio::spawn(node::update_node_status(agent.clone(), shutdown.clone())),
        tokio::spawn(node::watch_nodes(agent.clone(), shutdown.clone())),
        tokio::spawn(pods::run_pod_dispatcher(agent.clone(), shutdown.clone())),
    ];
    shutdown.cancelled().await;
    for t in tasks {
        t.abort();
    }
    if opts.stop_pods_on_exit {
        agent.stop_all_pods().await;
    } else {
        agent.stop_workers();
    }
    match server_task.await {
        Ok(Ok(())) | Err(_) => Ok(()),
        Ok(Err(e)) => Err(Error::Server(e)),
    }
}
