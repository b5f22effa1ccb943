//! The scheduler's Prometheus metrics, named as upstream's.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::queue::Lengths;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabel {
    pub queue: &'static str,
}

#[derive(Clone)]
pub struct Metrics {
    /// scheduler_schedule_attempts_total{result=scheduled|unschedulable|error}
    pub attempts: Family<ResultLabel, Counter>,
    /// scheduler_scheduling_attempt_duration_seconds{result}: one attempt (filter + score).
    pub attempt_duration: Family<ResultLabel, Histogram>,
    /// scheduler_e2e_scheduling_duration_seconds: from the scheduler first seeing the pod
    /// to its binding succeeding.
    pub e2e_duration: Histogram,
    /// scheduler_pending_pods{queue=active|backoff|unschedulable|gated}
    pub pending: Family<QueueLabel, Gauge>,
    /// scheduler_events_dropped_total: events not sent because the queue was full.
    pub events_dropped: Counter,
}

impl Metrics {
    pub fn new(registry: &mut Registry) -> Metrics {
        let m = Metrics {
            attempts: Family::default(),
            attempt_duration: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.00001, 2.0, 20))
            }),
            e2e_duration: Histogram::new(exponential_buckets(0.001, 2.0, 20)),
            pending: Family::default(),
            events_dropped: Counter::default(),
        };
        let sub = registry.sub_registry_with_prefix("scheduler");
        sub.register(
            "schedule_attempts",
            "Number of attempts to schedule pods, by the result",
            m.attempts.clone(),
        );
        sub.register(
            "scheduling_attempt_duration_seconds",
            "Scheduling attempt latency in seconds (scheduling algorithm + binding decision)",
            m.attempt_duration.clone(),
        );
        sub.register(
            "e2e_scheduling_duration_seconds",
            "Time from the scheduler first seeing a pod to its binding",
            m.e2e_duration.clone(),
        );
        sub.register(
            "pending_pods",
            "Number of pending pods, by the queue type",
            m.pending.clone(),
        );
        sub.register(
            "events_dropped",
            "Events dropped because the event queue was full",
            m.events_dropped.clone(),
        );
        m
    }

    pub fn set_pending(&self, l: Lengths) {
        for (queue, n) in [
            ("active", l.active),
            ("backoff", l.backoff),
            ("unschedulable", l.unschedulable),
            ("gated", l.gated),
        ] {
            self.pending
                .get_or_create(&QueueLabel { queue })
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }

    pub fn attempt(&self, result: &'static str) {
        self.attempts.get_or_create(&ResultLabel { result }).inc();
    }
}
