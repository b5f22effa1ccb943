//! ferrokube's API server: the Kubernetes REST API over etcd or an embedded store.
#![forbid(unsafe_code)]

pub mod auth;
pub mod authz;
pub mod bootstrap;
pub mod bootstraptoken;
pub mod crd;
pub mod csrsigning;
pub mod handlers;
pub mod kubeconfig;
pub mod metrics;
pub mod openapi;
pub mod registry;
pub mod serve;
pub mod server;
pub mod storage;
pub mod tls;
pub mod watchcache;

pub use server::{Config, Server, ServerError, StorageConfig, start};

/// What every request handler shares.
pub struct ApiState {
    pub registry: registry::store::Registry,
    pub metrics: std::sync::Arc<metrics::Metrics>,
    /// `ip:port` clients are told to use (discovery's serverAddressByClientCIDRs).
    pub advertise_address: String,
    /// OpenAPI v2/v3 documents, built on first request from the resource table.
    pub openapi: openapi::OpenApiCache,
}
