//! `ferrokube`: a whole cluster from one command.
//!
//! `ferrokube up` runs the control plane in the foreground: the API server on the embedded
//! store (or on etcd with --etcd-servers). The scheduler, controller-manager and nodes join
//! it as they are built (their issues); each still talks to the others only through the API.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use apiserver::{Config, StorageConfig};
use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "ferrokube",
    version,
    about = "ferrokube: a Kubernetes-compatible control plane"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a cluster in the foreground until SIGINT/SIGTERM.
    Up(UpArgs),
}

#[derive(clap::Args, Debug)]
struct UpArgs {
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
}

fn default_data_dir() -> anyhow::Result<PathBuf> {
    match std::env::var_os("HOME") {
        Some(home) if !home.is_empty() => Ok(PathBuf::from(home).join(".ferrokube")),
        _ => bail!("HOME is not set: give --data-dir DIR"),
    }
}

async fn up(args: UpArgs) -> anyhow::Result<()> {
    let data_dir = match args.data_dir {
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
    println!(
        "ferrokube is up: API server at https://{}",
        server.secure_addr
    );
    println!("  export KUBECONFIG={}", kubeconfig.display());
    println!("  kubectl get namespaces");
    println!(
        "Stop with Ctrl-C; the cluster's state stays in {}.",
        data_dir.display()
    );

    tokio::select! {
        r = server.wait() => r.context("serving")?,
        _ = shutdown_signal() => {
            eprintln!("ferrokube: shutting down");
            server.shutdown().await;
        }
    }
    Ok(())
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Up(args) => up(args).await,
    }
}
