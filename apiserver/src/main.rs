//! `apiserver`: the Kubernetes REST API on etcd or the embedded store.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use apiserver::{Config, StorageConfig};
use clap::Parser;

#[derive(Parser, Debug)]
#[command(
    name = "apiserver",
    version,
    about = "ferrokube API server: the Kubernetes REST API on etcd or an embedded store"
)]
struct Args {
    /// etcd endpoints (comma-separated), e.g. http://127.0.0.1:2379
    #[arg(long, value_delimiter = ',')]
    etcd_servers: Vec<String>,
    /// `etcd` (needs --etcd-servers) or `embedded` (needs --data-dir).
    #[arg(long)]
    storage: Option<String>,
    /// Where the embedded store keeps its data.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    #[arg(long, default_value = "0.0.0.0")]
    bind_address: IpAddr,
    /// HTTPS port (0 = any free port).
    #[arg(long, default_value_t = 6443)]
    secure_port: u16,
    /// Also serve plain HTTP on this port (authentication still applies).
    #[arg(long)]
    insecure_port: Option<u16>,
    /// Where the CA, serving certificate and generated admin token live.
    #[arg(long)]
    cert_dir: Option<PathBuf>,
    /// kube-apiserver CSV token file: token,user,uid,"group1,group2".
    #[arg(long)]
    token_auth_file: Option<PathBuf>,
    /// Write an admin kubeconfig here once the server is ready.
    #[arg(long)]
    kubeconfig_out: Option<PathBuf>,
    /// The address other components and the `kubernetes` Service use for this server.
    #[arg(long)]
    advertise_address: Option<IpAddr>,
    #[arg(long, default_value = "10.96.0.0/12")]
    service_cluster_ip_range: ipnet::Ipv4Net,
    #[arg(long, default_value = "30000-32767")]
    service_node_port_range: String,
    /// How often etcd history is compacted (0s = never).
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    etcd_compaction_interval: Duration,
    /// `text` or `json`.
    #[arg(long, default_value = "text")]
    log_format: String,
}

fn parse_port_range(s: &str) -> anyhow::Result<std::ops::RangeInclusive<u16>> {
    let (a, b) = s
        .split_once('-')
        .with_context(|| format!("--service-node-port-range {s:?}: expected FROM-TO"))?;
    let (a, b): (u16, u16) = (a.trim().parse()?, b.trim().parse()?);
    if a > b {
        bail!("--service-node-port-range {s:?}: FROM is above TO");
    }
    Ok(a..=b)
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    init_logging(&args.log_format);
    let storage = match (
        args.storage.as_deref(),
        args.etcd_servers.is_empty(),
        &args.data_dir,
    ) {
        (Some("embedded"), _, Some(dir)) | (None, true, Some(dir)) => StorageConfig::Embedded {
            data_dir: dir.clone(),
        },
        (Some("embedded"), _, None) => bail!("--storage embedded needs --data-dir DIR"),
        (Some("etcd") | None, false, _) => StorageConfig::Etcd {
            endpoints: args.etcd_servers.clone(),
        },
        (Some("etcd"), true, _) => bail!("--storage etcd needs --etcd-servers URLS"),
        (None, true, None) => {
            bail!("give --etcd-servers URLS, or --storage embedded --data-dir DIR")
        }
        (Some(other), _, _) => bail!("--storage {other:?}: expected etcd or embedded"),
    };
    let cert_dir = args
        .cert_dir
        .clone()
        .unwrap_or_else(|| match &args.data_dir {
            Some(d) => d.join("pki"),
            None => PathBuf::from("/var/run/ferrokube"),
        });
    let mut config = Config::new(storage, cert_dir);
    config.bind_address = args.bind_address;
    config.secure_port = args.secure_port;
    config.insecure_port = args.insecure_port;
    config.token_auth_file = args.token_auth_file;
    config.kubeconfig_out = args.kubeconfig_out;
    config.advertise_address = args.advertise_address;
    config.service_cluster_ip_range = args.service_cluster_ip_range;
    config.service_node_port_range = parse_port_range(&args.service_node_port_range)?;
    config.compaction_interval = args.etcd_compaction_interval;

    let mut server = apiserver::start(config)
        .await
        .context("starting the API server")?;
    eprintln!("apiserver: serving https://{}", server.secure_addr);
    tokio::select! {
        r = server.wait() => r.context("serving")?,
        _ = shutdown_signal() => {
            tracing::info!("shutting down");
            server.shutdown().await;
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
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
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
