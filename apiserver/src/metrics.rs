//! `/metrics` in Prometheus text format: requests by verb, resource and code, request
//! latency, open watches, and storage latency per operation (upstream's metric names).

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry as PromRegistry;

use crate::storage::{
    EventStream, KeyValue, ListOptions, ListResult, Revision, Storage, StorageError,
};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub verb: String,
    pub resource: String,
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LatencyLabels {
    pub verb: String,
    pub resource: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResourceLabels {
    pub resource: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StorageLabels {
    pub operation: String,
}

pub struct Metrics {
    registry: PromRegistry,
    pub requests: Family<RequestLabels, Counter>,
    pub latency: Family<LatencyLabels, Histogram>,
    pub watches: Family<ResourceLabels, Gauge>,
    pub storage_latency: Family<StorageLabels, Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = PromRegistry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<LatencyLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0001, 2.0, 18))
        });
        let watches = Family::<ResourceLabels, Gauge>::default();
        let storage_latency = Family::<StorageLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0001, 2.0, 18))
        });
        registry.register(
            "apiserver_request",
            "Counter of apiserver requests broken out by verb, resource and HTTP response code",
            requests.clone(),
        );
        registry.register(
            "apiserver_request_duration_seconds",
            "Response latency distribution in seconds for each verb and resource",
            latency.clone(),
        );
        registry.register(
            "apiserver_registered_watchers",
            "Number of currently open watches for a given resource",
            watches.clone(),
        );
        registry.register(
            "etcd_request_duration_seconds",
            "Storage request latency in seconds for each operation",
            storage_latency.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            watches,
            storage_latency,
        }
    }

    pub fn observe_request(&self, verb: &str, resource: &str, code: u16, started: Instant) {
        self.requests
            .get_or_create(&RequestLabels {
                verb: verb.to_string(),
                resource: resource.to_string(),
                code: code.to_string(),
            })
            .inc();
        self.latency
            .get_or_create(&LatencyLabels {
                verb: verb.to_string(),
                resource: resource.to_string(),
            })
            .observe(started.elapsed().as_secs_f64());
    }

    pub fn encode(&self) -> Bytes {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        Bytes::from(out)
    }
}

/// Storage that records how long each operation takes.
pub struct InstrumentedStorage {
    inner: Arc<dyn Storage>,
    metrics: Arc<Metrics>,
}

impl InstrumentedStorage {
    pub fn new(inner: Arc<dyn Storage>, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }

    fn observe(&self, op: &str, started: Instant) {
        self.metrics
            .storage_latency
            .get_or_create(&StorageLabels {
                operation: op.to_string(),
            })
            .observe(started.elapsed().as_secs_f64());
    }
}

#[async_trait::async_trait]
impl Storage for InstrumentedStorage {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StorageError> {
        let t = Instant::now();
        let r = self.inner.get(key).await;
        self.observe("get", t);
        r
    }

    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult, StorageError> {
        let t = Instant::now();
        let r = self.inner.list(prefix, opts).await;
        self.observe("list", t);
        r
    }

    async fn count(&self, prefix: &str) -> Result<i64, StorageError> {
        let t = Instant::now();
        let r = self.inner.count(prefix).await;
        self.observe("count", t);
        r
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<Revision, StorageError> {
        let t = Instant::now();
        let r = self.inner.create(key, value).await;
        self.observe("create", t);
        r
    }

    async fn update(
        &self,
        key: &str,
        value: Bytes,
        expected: Revision,
    ) -> Result<Revision, StorageError> {
        let t = Instant::now();
        let r = self.inner.update(key, value, expected).await;
        self.observe("update", t);
        r
    }

    async fn delete(
        &self,
        key: &str,
        expected: Option<Revision>,
    ) -> Result<(KeyValue, Revision), StorageError> {
        let t = Instant::now();
        let r = self.inner.delete(key, expected).await;
        self.observe("delete", t);
        r
    }

    async fn watch(&self, prefix: &str, from: Revision) -> Result<EventStream, StorageError> {
        self.inner.watch(prefix, from).await
    }

    async fn compact(&self, upto: Revision) -> Result<(), StorageError> {
        self.inner.compact(upto).await
    }

    async fn current_revision(&self) -> Result<Revision, StorageError> {
        let t = Instant::now();
        let r = self.inner.current_revision().await;
        self.observe("current_revision", t);
        r
    }
}
