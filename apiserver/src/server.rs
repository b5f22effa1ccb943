//! Assembling the API server: storage, watch cache, registry, HTTP(S) serving, bootstrap
//! objects, and the admin kubeconfig once ready.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::auth::{Authenticator, TokenAuthenticator};
use crate::metrics::{InstrumentedStorage, Metrics};
use crate::registry::allocator::ServiceAllocator;
use crate::registry::store::Registry;
use crate::storage::Storage;
use crate::storage::embedded::EmbeddedStorage;
use crate::storage::etcd::EtcdStorage;
use crate::watchcache::CacheSet;
use crate::{ApiState, bootstrap, handlers};

#[derive(Debug, Clone)]
pub enum StorageConfig {
    Etcd { endpoints: Vec<String> },
    Embedded { data_dir: PathBuf },
}

#[derive(Debug, Clone)]
pub struct Config {
    pub storage: StorageConfig,
    pub bind_address: IpAddr,
    /// HTTPS port; 0 = any free port.
    pub secure_port: u16,
    /// Plain-HTTP port (no TLS, still authenticated); `None` = off.
    pub insecure_port: Option<u16>,
    pub cert_dir: PathBuf,
    pub token_auth_file: Option<PathBuf>,
    pub kubeconfig_out: Option<PathBuf>,
    pub advertise_address: Option<IpAddr>,
    pub service_cluster_ip_range: ipnet::Ipv4Net,
    pub service_node_port_range: RangeInclusive<u16>,
    /// How often etcd history is compacted (kube-apiserver: 5 minutes); zero = never.
    pub compaction_interval: Duration,
    /// How often this server renews its own Lease and reconciles the `kubernetes` Service's
    /// endpoints.
    pub endpoint_reconcile_interval: Duration,
}

impl Config {
    pub fn new(storage: StorageConfig, cert_dir: PathBuf) -> Self {
        Self {
            storage,
            bind_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            secure_port: 6443,
            insecure_port: None,
            cert_dir,
            token_auth_file: None,
            kubeconfig_out: None,
            advertise_address: None,
            service_cluster_ip_range: ipnet::Ipv4Net::new(Ipv4Addr::new(10, 96, 0, 0), 12)
                .unwrap_or_default(),
            service_node_port_range: 30000..=32767,
            compaction_interval: Duration::from_secs(300),
            endpoint_reconcile_interval: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("storage: {0}")]
    Storage(#[from] crate::storage::StorageError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("certificates: {0}")]
    Tls(#[from] crate::tls::TlsError),
    #[error("authentication: {0}")]
    Auth(#[from] crate::auth::AuthError),
    #[error("kubeconfig: {0}")]
    Kubeconfig(#[from] crate::kubeconfig::KubeconfigError),
    #[error("serving: {0}")]
    Serve(#[from] crate::serve::ServeError),
    #[error("bootstrap: {0}")]
    Bootstrap(String),
    #[error("{0}")]
    Config(String),
}

/// A running API server.
pub struct Server {
    pub secure_addr: SocketAddr,
    pub insecure_addr: Option<SocketAddr>,
    pub kubeconfig: Option<PathBuf>,
    pub state: Arc<ApiState>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    serving: Vec<JoinHandle<Result<(), crate::serve::ServeError>>>,
}

impl Server {
    /// Stops accepting, ends connections (bounded) and background tasks.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for s in self.serving {
            let _ = s.await;
        }
        for t in self.tasks {
            t.abort();
        }
    }

    /// Waits until a serving loop ends (it only ends on shutdown or a listener error).
    pub async fn wait(&mut self) -> Result<(), ServerError> {
        if let Some(s) = self.serving.first_mut() {
            match s.await {
                Ok(r) => r?,
                Err(e) => return Err(ServerError::Config(format!("serving task failed: {e}"))),
            }
        }
        Ok(())
    }
}

async fn open_storage(config: &StorageConfig) -> Result<Arc<dyn Storage>, ServerError> {
    Ok(match config {
        StorageConfig::Etcd { endpoints } => Arc::new(EtcdStorage::connect(endpoints).await?),
        StorageConfig::Embedded { data_dir } => {
            Arc::new(EmbeddedStorage::open(&data_dir.join("store"))?)
        }
    })
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Listen { addr, source })
}

/// Starts the API server and returns once it is serving and its watch cache is filled
/// (`/readyz` answers ok) and the kubeconfig, if asked for, is written.
pub async fn start(config: Config) -> Result<Server, ServerError> {
    // Listen first, so a taken port fails fast with a clear error.
    let secure_listener = bind(SocketAddr::new(config.bind_address, config.secure_port)).await?;
    let secure_addr = secure_listener
        .local_addr()
        .map_err(|source| ServerError::Listen {
            addr: SocketAddr::new(config.bind_address, config.secure_port),
            source,
        })?;
    let insecure_listener = match config.insecure_port {
        Some(p) => Some(bind(SocketAddr::new(config.bind_address, p)).await?),
        None => None,
    };
    let insecure_addr = insecure_listener.as_ref().and_then(|l| l.local_addr().ok());

    let advertise = config
        .advertise_address
        .unwrap_or(if config.bind_address.is_unspecified() {
            host_address()
        } else {
            config.bind_address
        });
    // Local users reach a server bound to every address through loopback.
    let kubeconfig_host = match config.advertise_address {
        Some(a) => a,
        None if config.bind_address.is_unspecified() || config.bind_address.is_loopback() => {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        }
        None => config.bind_address,
    };

    let metrics = Arc::new(Metrics::new());
    let raw_storage = open_storage(&config.storage).await?;
    let storage: Arc<dyn Storage> =
        Arc::new(InstrumentedStorage::new(raw_storage, metrics.clone()));
    let table = machinery::ResourceTable::builtin();
    let mut prefixes: Vec<String> = table.all().iter().map(|r| r.list_prefix(None)).collect();
    // Custom resources of stored CRDs get their caches from the start.
    prefixes.extend(crate::crd::prefixes_of(&stored_crds(&storage).await?));
    let crds = Arc::new(crate::crd::CustomResources::new(&table));
    let caches = CacheSet::new(storage.clone(), "/registry/", &prefixes);
    let mut tasks = vec![tokio::spawn(caches.clone().run())];
    let allocator = Arc::new(ServiceAllocator::new(
        storage.clone(),
        config.service_cluster_ip_range,
        config.service_node_port_range.clone(),
    ));
    let state = Arc::new(ApiState {
        registry: Registry {
            table,
            storage: storage.clone(),
            caches: caches.clone(),
            allocator,
            crds,
        },
        metrics,
        advertise_address: format!("{advertise}:{}", secure_addr.port()),
        openapi: crate::openapi::OpenApiCache::new(),
    });

    // Certificates and credentials.
    let mut sans = vec![advertise.to_string(), kubeconfig_host.to_string()];
    if !config.bind_address.is_unspecified() {
        sans.push(config.bind_address.to_string());
    }
    let cert_paths = crate::tls::ensure_certs(&config.cert_dir, &sans)?;
    let tls_config = crate::tls::server_config(&cert_paths)?;
    let (tokens, admin_token) = match &config.token_auth_file {
        Some(path) => {
            let entries = crate::auth::read_token_file(path)?;
            let admin = crate::auth::admin_token_in(&entries).map(str::to_string);
            (TokenAuthenticator::from_entries(entries), admin)
        }
        None => {
            let token = crate::auth::ensure_admin_token(&config.cert_dir)?;
            let path = config.cert_dir.join("admin-token.csv");
            (TokenAuthenticator::from_file(&path)?, Some(token))
        }
    };
    let authn = Arc::new(Authenticator::new(Arc::new(tokens)).with_bootstrap_tokens(
        crate::bootstraptoken::BootstrapTokenAuthenticator::new(caches.clone()),
    ));
    let app = crate::serve::with_authentication(
        crate::authz::with_authorization(handlers::router(state.clone())),
        authn,
    );

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let shutdown_signal = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let mut serving = vec![tokio::spawn(crate::serve::serve(
        secure_listener,
        Some(tls_config),
        app.clone(),
        shutdown_signal(shutdown_rx.clone()),
    ))];
    if let Some(l) = insecure_listener {
        serving.push(tokio::spawn(crate::serve::serve(
            l,
            None,
            app,
            shutdown_signal(shutdown_rx.clone()),
        )));
    }

    caches.wait_ready().await;
    // Serve the custom resources of established CRDs before reporting ready.
    crate::crd::controller::sync_once(&state).await;
    tasks.push(tokio::spawn(crate::crd::controller::run(state.clone())));
    bootstrap::ensure_system_objects(&state, advertise, secure_addr.port())
        .await
        .map_err(|e| ServerError::Bootstrap(e.to_string()))?;
    tasks.push(tokio::spawn(crate::csrsigning::run(
        state.clone(),
        cert_paths.clone(),
        crate::csrsigning::SignerConfig::default(),
    )));
    tasks.push(tokio::spawn(bootstrap::run_endpoint_reconciler(
        state.clone(),
        advertise,
        secure_addr.port(),
        config.endpoint_reconcile_interval,
    )));
    if !config.compaction_interval.is_zero() {
        tasks.push(tokio::spawn(run_compactor(
            storage,
            config.compaction_interval,
        )));
    }

    if let Some(path) = &config.kubeconfig_out {
        let token = admin_token.ok_or_else(|| {
            ServerError::Config(
                "--kubeconfig-out needs an admin token: the token file has no user in group system:masters".into(),
            )
        })?;
        let host = if kubeconfig_host.is_ipv6() {
            format!("[{kubeconfig_host}]")
        } else {
            kubeconfig_host.to_string()
        };
        let url = format!("https://{host}:{}", secure_addr.port());
        crate::kubeconfig::write_admin_kubeconfig(
            path,
            &url,
            &cert_paths.ca_pem()?,
            &token,
            "ferrokube",
        )?;
    }
    tracing::info!(address = %secure_addr, "API server ready");
    Ok(Server {
        secure_addr,
        insecure_addr,
        kubeconfig: config.kubeconfig_out.clone(),
        state,
        shutdown: shutdown_tx,
        tasks,
        serving,
    })
}

/// The CRDs in storage (read before the watch cache starts).
async fn stored_crds(storage: &Arc<dyn Storage>) -> Result<Vec<serde_json::Value>, ServerError> {
    let page = storage
        .list(
            crate::crd::CRD_PREFIX,
            crate::storage::ListOptions::default(),
        )
        .await?;
    Ok(page
        .items
        .iter()
        .filter_map(|kv| serde_json::from_slice(&kv.value).ok())
        .collect())
}

/// The address other hosts reach this one at, as kube-apiserver picks its advertise address:
/// the first non-loopback IPv4 address of the machine, else loopback.
fn host_address() -> IpAddr {
    if_addrs::get_if_addrs()
        .ok()
        .and_then(|addrs| {
            addrs
                .into_iter()
                .map(|a| a.ip())
                .find(|ip| ip.is_ipv4() && !ip.is_loopback())
        })
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

/// Compacts storage history like kube-apiserver: every interval, up to the revision seen at
/// the previous tick, so watchers always have at least one interval of history.
async fn run_compactor(storage: Arc<dyn Storage>, interval: Duration) {
    let mut previous = None;
    let mut tick = tokio::time::interval(interval);
    tick.tick().await;
    loop {
        tick.tick().await;
        if let Some(rev) = previous
            && let Err(e) = storage.compact(rev).await
        {
            tracing::warn!(error = %e, revision = rev, "compaction failed");
        }
        previous = storage.current_revision().await.ok();
    }
}
