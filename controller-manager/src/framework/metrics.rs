//! The controller-manager's Prometheus metrics: reconciles by controller and result, reconcile
//! latency, and client-go's workqueue metrics (depth, adds, retries).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReconcileLabels {
    pub controller: String,
    /// `success`, `error` or `requeue` (success with a requested later sync).
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerLabels {
    pub controller: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabels {
    pub name: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 1 ms .. ~33 s
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

pub struct Metrics {
    reconciles: Family<ReconcileLabels, Counter>,
    reconcile_duration: HistogramFamily<ControllerLabels>,
    depth: Family<QueueLabels, Gauge>,
    adds: Family<QueueLabels, Counter>,
    retries: Family<QueueLabels, Counter>,
    leader: Gauge,
}

impl Metrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn new(registry: &mut Registry) -> Self {
        let m = Metrics {
            reconciles: Family::default(),
            reconcile_duration: Family::new_with_constructor(latency_histogram),
            depth: Family::default(),
            adds: Family::default(),
            retries: Family::default(),
            leader: Gauge::default(),
        };
        registry.register(
            "controller_reconcile",
            "Reconciles (syncs of one key) by controller and result",
            m.reconciles.clone(),
        );
        registry.register(
            "controller_reconcile_duration_seconds",
            "How long one reconcile took, by controller",
            m.reconcile_duration.clone(),
        );
        registry.register(
            "workqueue_depth",
            "Current depth of the work queue",
            m.depth.clone(),
        );
        registry.register(
            "workqueue_adds",
            "Keys added to the work queue",
            m.adds.clone(),
        );
        registry.register(
            "workqueue_retries",
            "Keys re-added after a failed sync",
            m.retries.clone(),
        );
        registry.register(
            "leader_election_master_status",
            "1 while this controller-manager holds the leader Lease (or runs without leader election)",
            m.leader.clone(),
        );
        m
    }

    pub fn reconciled(&self, controller: &str, result: &str, seconds: f64) {
        self.reconciles
            .get_or_create(&ReconcileLabels {
                controller: controller.to_string(),
                result: result.to_string(),
            })
            .inc();
        self.reconcile_duration
            .get_or_create(&ControllerLabels {
                controller: controller.to_string(),
            })
            .observe(seconds);
    }

    pub fn queue_depth(&self, name: &str, depth: usize) {
        self.depth
            .get_or_create(&QueueLabels {
                name: name.to_string(),
            })
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
    }

    pub fn queue_add(&self, name: &str) {
        self.adds
            .get_or_create(&QueueLabels {
                name: name.to_string(),
            })
            .inc();
    }

    pub fn queue_retry(&self, name: &str) {
        self.retries
            .get_or_create(&QueueLabels {
                name: name.to_string(),
            })
            .inc();
    }

    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }
}
