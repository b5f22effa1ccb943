//! The scheduler: places every pending pod whose `schedulerName` is ours onto a node, through
//! the API only, as kube-scheduler does.
//!
//! Pieces: watches of nodes and pods ([`informer`]) feed one scheduling loop
//! ([`scheduler::Loop`]) that owns the node/pod cache ([`cache`]) and the scheduling queue
//! ([`queue`]); each attempt runs the filter and score plugins ([`plugins`]) through the
//! framework ([`framework`]), assumes the pod onto the chosen node and leaves the binding to
//! a background task ([`binder`]). Failures produce a `FailedScheduling` event
//! ([`events`]) and the PodScheduled=False condition. With `--leader-elect` only the holder
//! of the `kube-scheduler` Lease schedules; /healthz and /metrics are served on `--port`.
//!
//! Not implemented: preemption (a pod that fits nowhere waits; the message says preemption
//! cannot help), inter-pod affinity, volume plugins, scheduling profiles and extenders.

pub mod binder;
pub mod cache;
pub mod events;
pub mod framework;
pub mod informer;
pub mod metrics;
pub mod plugins;
pub mod queue;
pub mod resource;
pub mod scheduler;
pub mod types;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use component_base::leaderelection::{self, LeaderElectionConfig};
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use crate::binder::Binder;
use crate::events::Recorder;
use crate::metrics::Metrics;
use crate::queue::{QueueConfig, SchedulingQueue};
use crate::scheduler::{Loop, Msg};

/// The scheduler name pods get by default (and that this scheduler answers to by default).
pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";

/// Why the scheduler stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid options: {0}")]
    Options(String),
    #[error("binding the health and metrics port {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("starting the scheduling loop thread: {0}")]
    Thread(std::io::Error),
    #[error(transparent)]
    Serve(#[from] component_base::serve::Error),
    #[error(transparent)]
    LeaderElection(#[from] leaderelection::Error),
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{s:?}: {e}"))
}

/// Flags, with kube-scheduler's names and defaults where it has them.
#[derive(clap::Args, Clone, Debug)]
pub struct Options {
    /// Schedule only while holding the leader Lease (kube-system/kube-scheduler), so several
    /// instances can run. Accepts `--leader-elect` or `--leader-elect=true|false`.
    #[arg(long, default_value_t = false, num_args = 0..=1, default_missing_value = "true",
          action = clap::ArgAction::Set)]
    pub leader_elect: bool,
    /// How long a standby waits after the last renewal before taking the Lease.
    #[arg(long = "leader-elect-lease-duration", alias = "lease-duration", default_value = "15s", value_parser = parse_duration)]
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before it gives up leading.
    #[arg(long = "leader-elect-renew-deadline", alias = "renew-deadline", default_value = "10s", value_parser = parse_duration)]
    pub renew_deadline: Duration,
    /// How often candidates try to take or renew the Lease.
    #[arg(long = "leader-elect-retry-period", alias = "retry-period", default_value = "2s", value_parser = parse_duration)]
    pub retry_period: Duration,
    #[arg(long = "leader-elect-resource-name", default_value = "kube-scheduler")]
    pub lease_name: String,
    #[arg(
        long = "leader-elect-resource-namespace",
        default_value = "kube-system"
    )]
    pub lease_namespace: String,
    /// This instance's name in the Lease and in its events (default: host name and a
    /// random suffix).
    #[arg(long)]
    pub identity: Option<String>,
    /// Pods with this `spec.schedulerName` are ours.
    #[arg(long, default_value = DEFAULT_SCHEDULER_NAME)]
    pub scheduler_name: String,
    /// Share of nodes to find feasible before scoring; 0 = upstream's adaptive default
    /// (50% minus 1% per 125 nodes, at least 5%, at least 100 nodes).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub percentage_of_nodes_to_score: u32,
    /// Back-off of a pod after its first failed attempt; doubles per attempt.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub pod_initial_backoff: Duration,
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub pod_max_backoff: Duration,
    /// Unschedulable pods are retried at least this often, event or not.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub pod_max_in_unschedulable_pods_duration: Duration,
    /// Threads that filter and score nodes on big clusters; 0 = one per core.
    #[arg(long, default_value_t = 0)]
    pub parallelism: usize,
    /// Bindings in flight at once.
    #[arg(long, default_value_t = 64)]
    pub binding_concurrency: usize,
    /// Port of /healthz and /metrics (plain HTTP); 0 picks a free port (logged).
    #[arg(long, default_value_t = 10259)]
    pub port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    pub bind_address: IpAddr,
}

impl Options {
    fn validate(&self) -> Result<(), Error> {
        if self.pod_initial_backoff.is_zero() || self.pod_max_backoff < self.pod_initial_backoff {
            return Err(Error::Options(
                "--pod-max-backoff must be at least --pod-initial-backoff, which must be positive"
                    .into(),
            ));
        }
        if self.scheduler_name.is_empty() {
            return Err(Error::Options("--scheduler-name must not be empty".into()));
        }
        Ok(())
    }
}

/// Runs the scheduler until `shutdown` is cancelled; with leader election, returns an error
/// when leadership is lost (the process should exit, as kube-scheduler does).
pub async fn run(
    opts: Options,
    client: kube::Client,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    opts.validate()?;
    let mut registry = Registry::default();
    let metrics = Metrics::new(&mut registry);

    let addr = SocketAddr::new(opts.bind_address, opts.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| Error::Bind { addr, source })?;
    tracing::info!(address = %bound, "serving /healthz and /metrics");
    let serve_stop = CancellationToken::new();
    let server = tokio::spawn(component_base::serve::serve_health_and_metrics(
        listener,
        registry,
        serve_stop.clone(),
    ));

    let identity = opts
        .identity
        .clone()
        .unwrap_or_else(leaderelection::default_identity);
    let (tx, rx) = std::sync::mpsc::channel::<Msg>();
    let events = Recorder::start(
        client.clone(),
        opts.scheduler_name.clone(),
        identity.clone(),
        metrics.clone(),
    );
    let binder = Binder::new(
        client.clone(),
        tokio::runtime::Handle::current(),
        opts.binding_concurrency,
        events.clone(),
        metrics.clone(),
        tx.clone(),
    );
    let parallelism = if opts.parallelism == 0 {
        std::thread::available_parallelism().map_or(1, usize::from)
    } else {
        opts.parallelism
    };
    let queue = SchedulingQueue::new(QueueConfig {
        initial_backoff: opts.pod_initial_backoff,
        max_backoff: opts.pod_max_backoff,
        max_in_unschedulable: opts.pod_max_in_unschedulable_pods_duration,
    });
    let framework = plugins::default_framework(opts.percentage_of_nodes_to_score, parallelism);
    let scheduling_loop = Loop::new(
        opts.scheduler_name.clone(),
        queue,
        framework,
        binder,
        events,
        metrics,
        rx,
    );
    let loop_thread = std::thread::Builder::new()
        .name("scheduling-loop".into())
        .spawn(move || scheduling_loop.run())
        .map_err(Error::Thread)?;

    // Informers run on standbys too, so a new leader starts with a warm cache.
    let watches = shutdown.child_token();
    tokio::spawn(informer::watch_nodes(
        client.clone(),
        tx.clone(),
        watches.clone(),
    ));
    tokio::spawn(informer::watch_pods(
        client.clone(),
        tx.clone(),
        watches.clone(),
    ));

    let result = if opts.leader_elect {
        let config = LeaderElectionConfig {
            lease_namespace: opts.lease_namespace.clone(),
            lease_name: opts.lease_name.clone(),
            identity: identity.clone(),
            lease_duration: opts.lease_duration,
            renew_deadline: opts.renew_deadline,
            retry_period: opts.retry_period,
        };
        let lead_tx = tx.clone();
        leaderelection::run_leader_elected(client, config, shutdown.clone(), |leading| async move {
            let _ = lead_tx.send(Msg::Lead);
            leading.cancelled().await;
        })
        .await
        .map(|_| ())
        .map_err(Error::from)
    } else {
        let _ = tx.send(Msg::Lead);
        shutdown.cancelled().await;
        Ok(())
    };

    watches.cancel();
    let _ = tx.send(Msg::Shutdown);
    let _ = tokio::task::spawn_blocking(move || loop_thread.join()).await;
    serve_stop.cancel();
    match server.await {
        Ok(Err(e)) if result.is_ok() => return Err(e.into()),
        _ => {}
    }
    result
}
