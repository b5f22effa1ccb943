//! The controller-manager: controllers that keep actual state converging to desired state
//! through watch streams, as kube-controller-manager does.
//!
//! Every controller is a module with a `start(Context)` function registered in
//! [`CONTROLLERS`]; it reads shared informers ([`framework::Informers`]), maps events to
//! work-queue keys and reconciles one key at a time ([`framework::run_workers`]). `run` serves
//! /healthz and /metrics, optionally waits for the leader Lease, and starts the enabled
//! controllers.

pub mod deployment;
pub mod endpoints;
pub mod endpointslice;
pub mod framework;
pub mod garbagecollector;
pub mod namespace;
pub mod nodeipam;
pub mod nodelifecycle;
pub mod replicaset;
pub mod replicationcontroller;
pub mod rootcacert;
pub mod serviceaccount;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use component_base::leaderelection::{self, LeaderElectionConfig};
use futures::future::BoxFuture;
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use framework::{Informers, Metrics, parse_duration};

/// Why the controller-manager stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid options: {0}")]
    Options(String),
    #[error("binding the health and metrics port {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Serve(#[from] component_base::serve::Error),
    #[error(transparent)]
    LeaderElection(#[from] leaderelection::Error),
    #[error("controller {controller}: {message}")]
    Controller {
        controller: &'static str,
        message: String,
    },
    #[error(transparent)]
    Kube(#[from] kube::Error),
}

/// Starts one controller; the future runs until `ctx.shutdown` is cancelled.
pub type StartFn = fn(Context) -> BoxFuture<'static, Result<(), Error>>;

/// Every controller this controller-manager knows, by upstream's name (the `--controllers`
/// names; `<name>-controller` is accepted too). All are enabled by default.
pub const CONTROLLERS: &[(&str, StartFn)] = &[
    ("deployment", deployment::start),
    ("replicaset", replicaset::start),
    ("replicationcontroller", replicationcontroller::start),
    (garbagecollector::NAME, garbagecollector::start),
    (endpoints::NAME, endpoints::start),
    (endpointslice::NAME, endpointslice::start),
    (namespace::NAME, namespace::start),
    (serviceaccount::NAME, serviceaccount::start),
    (rootcacert::NAME, rootcacert::start),
    (nodelifecycle::NAME, nodelifecycle::start),
    (
        nodelifecycle::TAINT_EVICTION_NAME,
        nodelifecycle::start_taint_eviction,
    ),
    (nodeipam::NAME, nodeipam::start),
];

/// Flags, with upstream kube-controller-manager's names and defaults.
#[derive(clap::Args, Clone, Debug)]
pub struct Options {
    /// Controllers to enable: `*` enables all on-by-default controllers, `foo` enables foo,
    /// `-foo` disables foo.
    #[arg(long, value_delimiter = ',', default_value = "*")]
    pub controllers: Vec<String>,

    /// Deployments synced concurrently.
    #[arg(long, default_value_t = 5)]
    pub concurrent_deployment_syncs: usize,
    /// ReplicaSets synced concurrently.
    #[arg(long, default_value_t = 5)]
    pub concurrent_replicaset_syncs: usize,
    /// ReplicationControllers synced concurrently.
    #[arg(long, default_value_t = 5)]
    pub concurrent_rc_syncs: usize,
    /// Services whose Endpoints are synced concurrently.
    #[arg(long, default_value_t = 5)]
    pub concurrent_endpoint_syncs: usize,
    /// Services whose EndpointSlices are synced concurrently.
    #[arg(long, default_value_t = 5)]
    pub concurrent_service_endpoint_syncs: usize,
    /// Garbage collector workers.
    #[arg(long, default_value_t = 20)]
    pub concurrent_gc_syncs: usize,
    /// Namespaces deleted concurrently.
    #[arg(long, default_value_t = 10)]
    pub concurrent_namespace_syncs: usize,
    /// ServiceAccounts (default per namespace) synced concurrently.
    #[arg(long, default_value_t = 5)]
    pub concurrent_serviceaccount_syncs: usize,

    /// Pod creations or deletions one ReplicaSet/ReplicationController sync keeps in flight
    /// once slow start (batches of 1, 2, 4, ...) has shown they succeed; a sync still creates
    /// or deletes at most 500 pods, as upstream's burstReplicas.
    #[arg(long, default_value_t = 100)]
    pub concurrent_pod_writes: usize,

    /// How long a node may go without reporting before it is marked Unknown.
    #[arg(long, default_value = "40s", value_parser = parse_duration)]
    pub node_monitor_grace_period: Duration,
    /// How often node health is checked.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub node_monitor_period: Duration,
    /// How long a newly registered node may take to report before it is marked Unknown.
    #[arg(long, default_value = "1m0s", value_parser = parse_duration)]
    pub node_startup_grace_period: Duration,
    /// Pod CIDR range of the cluster, split into per-node ranges.
    #[arg(long, default_value = "10.244.0.0/16")]
    pub cluster_cidr: String,
    /// Prefix length of each node's pod CIDR.
    #[arg(long, default_value_t = 24)]
    pub node_cidr_mask_size: u8,
    /// Give every Node a spec.podCIDR from --cluster-cidr.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub allocate_node_cidrs: bool,
    /// The CA bundle published to every namespace as ConfigMap kube-root-ca.crt.
    #[arg(long)]
    pub root_ca_file: Option<std::path::PathBuf>,
    /// The API server's CA bundle (PEM) taken from the kubeconfig the controller-manager
    /// uses (see `rootcacert::ca_from_kubeconfig`); published when --root-ca-file is unset.
    #[arg(skip)]
    pub root_ca_data: Option<String>,
    /// How long the namespace controller waits before checking again whether a terminating
    /// namespace is empty.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub namespace_content_recheck_period: Duration,
    /// How long the endpoints controller gathers pod changes before syncing a Service (0:
    /// at once).
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub endpoint_updates_batch_period: Duration,
    /// How long the endpointslice controller gathers pod changes before syncing a Service.
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub endpointslice_updates_batch_period: Duration,
    /// Endpoints per EndpointSlice.
    #[arg(long, default_value_t = 100)]
    pub max_endpoints_per_slice: usize,
    /// How often the garbage collector re-reads discovery to watch newly served resources.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub garbage_collector_discovery_period: Duration,

    /// Hold a Lease before running controllers, so only one of several controller-managers
    /// acts at a time.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub leader_elect: bool,
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    pub leader_elect_lease_duration: Duration,
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub leader_elect_renew_deadline: Duration,
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub leader_elect_retry_period: Duration,
    #[arg(long, default_value = "kube-controller-manager")]
    pub leader_elect_resource_name: String,
    #[arg(long, default_value = "kube-system")]
    pub leader_elect_resource_namespace: String,
    /// This candidate's identity in the Lease (default: host name and a random suffix).
    #[arg(long)]
    pub leader_elect_identity: Option<String>,

    /// Address of the /healthz and /metrics server.
    #[arg(long, default_value = "0.0.0.0")]
    pub bind_address: IpAddr,
    /// Port of the /healthz and /metrics server (0: any free port, logged at start).
    #[arg(long, default_value_t = 10257)]
    pub port: u16,
}

impl Options {
    /// Options from command-line style arguments (without the program name), defaults for
    /// the rest; for tests and embedding.
    pub fn from_args<I, T>(args: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        #[derive(clap::Parser)]
        struct Parsed {
            #[command(flatten)]
            options: Options,
        }
        let argv = std::iter::once(std::ffi::OsString::from("controller-manager"))
            .chain(args.into_iter().map(Into::into));
        <Parsed as clap::Parser>::try_parse_from(argv)
            .map(|p| p.options)
            .map_err(|e| Error::Options(e.to_string()))
    }

    /// Whether `--controllers` enables the controller `name`.
    pub fn is_enabled(&self, name: &str) -> bool {
        let matches = |item: &str| item == name || item.strip_suffix("-controller") == Some(name);
        let mut star = false;
        for item in &self.controllers {
            let item = item.trim();
            if let Some(off) = item.strip_prefix('-') {
                if matches(off) {
                    return false;
                }
            } else if item == "*" {
                star = true;
            } else if matches(item) {
                return true;
            }
        }
        star
    }

    fn validate(&self) -> Result<(), Error> {
        for item in &self.controllers {
            let item = item.trim();
            let name = item.strip_prefix('-').unwrap_or(item);
            let name = name.strip_suffix("-controller").unwrap_or(name);
            if name != "*" && !CONTROLLERS.iter().any(|(n, _)| *n == name) {
                return Err(Error::Options(format!(
                    "--controllers: unknown controller {item:?} (known: {})",
                    CONTROLLERS
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        Ok(())
    }
}

/// What every controller gets: the client, the options, the shared informers, the metrics,
/// and the token that ends it (cancelled at shutdown or when leadership is lost).
#[derive(Clone)]
pub struct Context {
    pub client: kube::Client,
    pub options: Arc<Options>,
    pub informers: Arc<Informers>,
    pub metrics: Arc<Metrics>,
    pub shutdown: CancellationToken,
}

/// Runs the controller-manager until `shutdown`.
pub async fn run(
    opts: Options,
    client: kube::Client,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    opts.validate()?;
    let mut registry = Registry::default();
    let metrics = Arc::new(Metrics::new(&mut registry));

    let addr = SocketAddr::new(opts.bind_address, opts.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Bind { addr, source })?;
    let local = listener.local_addr().unwrap_or(addr);
    tracing::info!(addr = %local, "serving /healthz and /metrics");
    let serving = shutdown.child_token();
    let server = tokio::spawn(component_base::serve::serve_health_and_metrics(
        listener,
        registry,
        serving.clone(),
    ));

    let opts = Arc::new(opts);
    let result = if opts.leader_elect {
        let config = LeaderElectionConfig {
            lease_namespace: opts.leader_elect_resource_namespace.clone(),
            lease_name: opts.leader_elect_resource_name.clone(),
            identity: opts
                .leader_elect_identity
                .clone()
                .unwrap_or_else(leaderelection::default_identity),
            lease_duration: opts.leader_elect_lease_duration,
            renew_deadline: opts.leader_elect_renew_deadline,
            retry_period: opts.leader_elect_retry_period,
        };
        let (c, o, m) = (client.clone(), opts.clone(), metrics.clone());
        match leaderelection::run_leader_elected(client, config, shutdown.clone(), |leading| {
            run_controllers(c, o, m, leading)
        })
        .await
        {
            Ok(Some(r)) => r,
            Ok(None) => Ok(()),
            Err(e) => Err(e.into()),
        }
    } else {
        run_controllers(client, opts, metrics.clone(), shutdown.clone()).await
    };
    metrics.set_leader(false);
    serving.cancel();
    match server.await {
        Ok(Err(e)) if result.is_ok() => return Err(e.into()),
        _ => {}
    }
    result
}

async fn run_controllers(
    client: kube::Client,
    options: Arc<Options>,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    metrics.set_leader(true);
    let ctx = Context {
        informers: Arc::new(Informers::new(client.clone(), shutdown.clone())),
        client,
        options,
        metrics,
        shutdown: shutdown.clone(),
    };
    let mut running = tokio::task::JoinSet::new();
    for (name, start) in CONTROLLERS {
        if !ctx.options.is_enabled(name) {
            tracing::info!(controller = name, "controller disabled");
            continue;
        }
        tracing::info!(controller = name, "starting controller");
        let fut = start(ctx.clone());
        running.spawn(async move { (*name, fut.await) });
    }
    let mut result = Ok(());
    while let Some(joined) = running.join_next().await {
        match joined {
            Ok((_, Ok(()))) => {}
            Ok((name, Err(e))) => {
                // As upstream, a controller that cannot run takes the process down rather
                // than leave a half-working controller-manager holding the Lease.
                tracing::error!(controller = name, error = %e, "controller failed");
                if result.is_ok() {
                    result = Err(e);
                }
                shutdown.cancel();
            }
            Err(e) => {
                tracing::error!(error = %e, "controller task ended abnormally");
                if result.is_ok() {
                    result = Err(Error::Controller {
                        controller: "unknown",
                        message: e.to_string(),
                    });
                }
                shutdown.cancel();
            }
        }
    }
    result
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn defaults_parse() {
        let o = Options::from_args::<_, &str>([]).unwrap();
        assert_eq!(o.controllers, vec!["*"]);
        assert_eq!(o.node_monitor_grace_period, Duration::from_secs(40));
        assert!(o.leader_elect);
        assert_eq!(o.port, 10257);
    }

    #[test]
    fn controllers_flag() {
        let with = |list: &[&str]| {
            Options::from_args([format!("--controllers={}", list.join(","))]).unwrap()
        };
        let cases: &[(&[&str], &str, bool)] = &[
            (&["*"], "deployment", true),
            (&["*", "-deployment"], "deployment", false),
            (&["*", "-deployment-controller"], "deployment", false),
            (&["replicaset"], "deployment", false),
            (&["replicaset"], "replicaset", true),
            (&["replicaset-controller"], "replicaset", true),
            (&["-replicaset", "*"], "replicaset", false),
        ];
        for (list, name, want) in cases {
            assert_eq!(with(list).is_enabled(name), *want, "{list:?} {name}");
        }
    }
}
