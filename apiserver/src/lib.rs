//! ferrokube's API server: the Kubernetes REST API over etcd or an embedded store.

pub mod registry;
pub mod storage;
