//! `ferrokube up`: the whole cluster in one process. The API server (embedded store, or etcd
//! with --etcd-servers) starts first; the scheduler, the controller-manager, the local node
//! (process runtime) and any simulated nodes then run as tasks that talk to it only through
//! the HTTPS API with the admin kubeconfig, exactly as they do as separate binaries.

use std::future::Future;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use apiserver::{Config, StorageConfig};
use clap::Parser;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

#[derive(clap::Args, Debug)]
pub struct UpArgs {
    /// Where the cluster keeps its state, certificates and kubeconfig (default ~/.ferrokube).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Use these etcd endpoints (comma-separated) instead of the embedded store.
    #[arg(long, value_delimiter = ',')]
    etcd_servers: Vec<String>,
    /// The API server's HTTPS port.
    #[arg(long, default_value_t = 6443)]
    secure_port: u16,
    #[arg(long, default_value = "0.0.0.0")]
    bind_address: IpAddr,
    /// The address written into the kubeconfig and the `kubernetes` Service.
    #[arg(long)]
    advertise_address: Option<IpAddr>,
    /// Also run this many simulated nodes (named `simulated-0` … `simulated-<N-1>`; no
    /// processes run on them, their pods are marked Running as declared).
    #[arg(long, default_value_t = 0)]
    simulated_nodes: usize,
    /// Leave out the local node (the one that runs pods as processes on this machine).
    #[arg(long)]
    no_local_node: bool,
    /// Name of the local node (default: this machine's host name).
    #[arg(long)]
    node_name: Option<String>,
    /// Run the API server only: no scheduler, controller-manager or nodes.
    #[arg(long)]
    apiserver_only: bool,
}

fn default_data_dir() -> anyhow::Result<PathBuf> {
    match std::env::var_os("HOME") {
        Some(home) if !home.is_empty() => Ok(PathBuf::from(home).join(".ferrokube")),
        _ => bail!("HOME is not set: give --data-dir DIR"),
    }
}

/// This machine's host name as a node name: lower case, as kubelet's default
/// `--hostname-override` does.
fn host_name() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_lowercase())
        .unwrap_or_default();
    if name.is_empty() || !machinery::validation::dns1123_subdomain_errors(&name).is_empty() {
        "localhost".to_string()
    } else {
        name
    }
}

/// A component's options from command-line style flags, with its own defaults for the rest.
fn options<T: clap::Args>(flags: &[&str]) -> anyhow::Result<T> {
    #[derive(Parser)]
    struct Wrapper<A: clap::Args> {
        #[command(flatten)]
        options: A,
    }
    let argv = std::iter::once("ferrokube").chain(flags.iter().copied());
    Ok(Wrapper::<T>::try_parse_from(argv)?.options)
}

pub async fn up(args: UpArgs) -> anyhow::Result<()> {
    let data_dir = match args.data_dir.clone() {
        Some(d) => d,
        None => default_data_dir()?,
    };
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("data dir {} is not usable", data_dir.display()))?;
    let probe = data_dir.join(".write-test");
    std::fs::write(&probe, b"")
        .with_context(|| format!("data dir {} is not writable", data_dir.display()))?;
    let _ = std::fs::remove_file(&probe);

    let storage = if args.etcd_servers.is_empty() {
        StorageConfig::Embedded {
            data_dir: data_dir.clone(),
        }
    } else {
        StorageConfig::Etcd {
            endpoints: args.etcd_servers.clone(),
        }
    };
    let kubeconfig = data_dir.join("kubeconfig");
    let mut config = Config::new(storage, data_dir.join("pki"));
    config.secure_port = args.secure_port;
    config.bind_address = args.bind_address;
    config.advertise_address = args.advertise_address;
    config.kubeconfig_out = Some(kubeconfig.clone());

    let mut server = apiserver::start(config).await.map_err(|e| match e {
        apiserver::ServerError::Listen { addr, source } if source.kind() == std::io::ErrorKind::AddrInUse => {
            anyhow::anyhow!("port {} is already in use (is another ferrokube or kube-apiserver running?); choose another with --secure-port", addr.port())
        }
        other => anyhow::Error::new(other).context("starting the control plane"),
    })?;

    let shutdown = CancellationToken::new();
    let mut components = JoinSet::new();
    let mut running = vec!["apiserver"];
    if !args.apiserver_only {
        let client = component_base::client::from_kubeconfig(&kubeconfig)
            .await
            .context("a client for the components")?;
        start_components(
            &args,
            &data_dir,
            client,
            &shutdown,
            &mut components,
            &mut running,
        )?;
    }

    println!(
        "ferrokube is up: API server at https://{} ({})",
        server.secure_addr,
        running.join(", ")
    );
    println!("  export KUBECONFIG={}", kubeconfig.display());
    println!("  kubectl get nodes");
    println!(
        "Stop with Ctrl-C; the cluster's state stays in {}.",
        data_dir.display()
    );

    let result = tokio::select! {
        r = server.wait() => r.context("serving"),
        _ = shutdown_signal() => {
            eprintln!("ferrokube: shutting down");
            Ok(())
        }
    };
    // Components first (they release their Leases and stop their watches), then the server.
    shutdown.cancel();
    let drained = tokio::time::timeout(Duration::from_secs(10), async {
        while components.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        eprintln!("ferrokube: components did not stop within 10 s");
        components.abort_all();
    }
    server.shutdown().await;
    result
}

fn start_components(
    args: &UpArgs,
    data_dir: &Path,
    client: kube::Client,
    shutdown: &CancellationToken,
    components: &mut JoinSet<()>,
    running: &mut Vec<&'static str>,
) -> anyhow::Result<()> {
    // In one process there is no second instance to elect against, and fixed health ports
    // would collide between clusters on one machine: any free port (0) it is.
    let scheduler_opts: scheduler::Options = options(&["--port", "0"])?;
    supervise(components, shutdown, "scheduler", {
        let client = client.clone();
        move |token| scheduler::run(scheduler_opts.clone(), client.clone(), token)
    });
    running.push("scheduler");

    let cm_opts = controller_manager::Options::from_args(["--leader-elect=false", "--port", "0"])
        .map_err(|e| anyhow::anyhow!("controller-manager options: {e}"))?;
    supervise(components, shutdown, "controller-manager", {
        let client = client.clone();
        move |token| controller_manager::run(cm_opts.clone(), client.clone(), token)
    });
    running.push("controller-manager");

    if !args.no_local_node {
        let name = args.node_name.clone().unwrap_or_else(host_name);
        let root = data_dir.join("kubelet");
        let root = root.to_string_lossy();
        let opts: kubelet::Options = options(&[
            "--node-name",
            &name,
            "--runtime",
            "process",
            "--root-dir",
            &root,
            "--port",
            "0",
        ])?;
        let client = client.clone();
        let token = shutdown.child_token();
        components.spawn(async move {
            // The local node needs namespaces and CNI plugins; a machine without them still
            // gets a working control plane (and simulated nodes), with the reason printed.
            if let Err(e) = kubelet::run(opts, client, token).await {
                eprintln!(
                    "ferrokube: the local node stopped: {e} (pods cannot run on this machine; use --no-local-node to run without it)"
                );
            }
        });
        running.push("local node");
    }

    if args.simulated_nodes > 0 {
        let n = args.simulated_nodes.to_string();
        let root = data_dir.join("simulated");
        let root = root.to_string_lossy();
        let opts: kubelet::Options = options(&[
            "--node-name",
            "simulated",
            "--runtime",
            "simulated",
            "--simulated-nodes",
            &n,
            "--root-dir",
            &root,
            "--port",
            "0",
        ])?;
        supervise(components, shutdown, "simulated nodes", {
            let client = client.clone();
            move |token| kubelet::run(opts.clone(), client.clone(), token)
        });
        running.push("simulated nodes");
    }
    Ok(())
}

/// Runs a component until shutdown; if it stops with an error, logs it and starts it again
/// after a pause, as a service manager would restart a crashed kube-scheduler.
fn supervise<F, Fut, E>(
    components: &mut JoinSet<()>,
    shutdown: &CancellationToken,
    name: &'static str,
    mut start: F,
) where
    F: FnMut(CancellationToken) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Display + Send,
{
    let shutdown = shutdown.clone();
    components.spawn(async move {
        loop {
            let result = start(shutdown.child_token()).await;
            if shutdown.is_cancelled() {
                return;
            }
            match result {
                Ok(()) => eprintln!("ferrokube: {name} stopped; restarting"),
                Err(e) => eprintln!("ferrokube: {name} failed: {e}; restarting in 2 s"),
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            }
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = ctrl_c.await;
            return;
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term.recv() => {},
    }
}
