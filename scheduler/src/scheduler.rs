//! The scheduling loop: one thread that owns the cache, the queue and the framework. Watch
//! events and binding outcomes arrive as messages; between them it pops pods one at a time
//! (upstream's scheduleOne), decides, assumes and hands the binding to a background task.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::binder::Binder;
use crate::cache::Cache;
use crate::events::Recorder;
use crate::framework::{FitError, Framework};
use crate::metrics::Metrics;
use crate::queue::SchedulingQueue;
use crate::types::{NodeSpec, PodInfo};

/// What reaches the loop.
pub enum Msg {
    NodeApply(NodeSpec),
    NodeDelete(String),
    /// A (re)list of nodes finished: these are all the nodes there are.
    NodesListed(HashSet<String>),
    PodApply(Arc<PodInfo>),
    PodDelete(String),
    /// A (re)list of pods finished: these are the uids of all pods there are.
    PodsListed(HashSet<String>),
    /// The binding of this (assumed) pod failed.
    BindFailed(Arc<PodInfo>),
    /// The PodScheduled=False write for this pod finished.
    StatusWritten(String),
    /// This instance leads (or is the only one): start scheduling.
    Lead,
    Shutdown,
}

/// How often pods left unschedulable for too long are checked (upstream: 30 s).
const LEFTOVER_INTERVAL: Duration = Duration::from_secs(30);
/// The longest the loop sleeps without looking at the queue.
const IDLE_WAKEUP: Duration = Duration::from_secs(1);

pub struct Loop {
    pub scheduler_name: String,
    pub cache: Cache,
    pub queue: SchedulingQueue,
    pub framework: Framework,
    pub binder: Binder,
    pub events: Recorder,
    pub metrics: Metrics,
    pub rx: Receiver<Msg>,
    leading: bool,
    nodes_synced: bool,
    pods_synced: bool,
    /// Pods whose PodScheduled=False write is still under way.
    status_writes: HashSet<String>,
}

impl Loop {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        scheduler_name: String,
        queue: SchedulingQueue,
        framework: Framework,
        binder: Binder,
        events: Recorder,
        metrics: Metrics,
        rx: Receiver<Msg>,
    ) -> Loop {
        Loop {
            scheduler_name,
            cache: Cache::default(),
            queue,
            framework,
            binder,
            events,
            metrics,
            rx,
            leading: false,
            nodes_synced: false,
            pods_synced: false,
            status_writes: HashSet::new(),
        }
    }

    /// Runs until a Shutdown message or until every sender is gone.
    pub fn run(mut self) {
        let mut last_leftover_check = Instant::now();
        let mut last_gauges = Instant::now();
        loop {
            // Take in everything that happened before deciding anything.
            loop {
                match self.rx.try_recv() {
                    Ok(Msg::Shutdown) => return,
                    Ok(msg) => self.handle(msg),
                    Err(_) => break,
                }
            }
            let now = Instant::now();
            if now.duration_since(last_leftover_check) >= LEFTOVER_INTERVAL {
                self.queue.flush_unschedulable_leftover(now);
                last_leftover_check = now;
            }
            if now.duration_since(last_gauges) >= Duration::from_millis(500) {
                self.metrics.set_pending(self.queue.lengths());
                last_gauges = now;
            }
            if self.leading
                && self.nodes_synced
                && self.pods_synced
                && let Some(qp) = self.queue.pop(now)
            {
                self.schedule_one(qp.pod, qp.first_seen, now);
                continue;
            }
            self.metrics.set_pending(self.queue.lengths());
            let wait = self
                .queue
                .next_backoff_expiry()
                .map_or(IDLE_WAKEUP, |at| at.saturating_duration_since(now))
                .min(IDLE_WAKEUP);
            match self.rx.recv_timeout(wait) {
                Ok(Msg::Shutdown) => return,
                Ok(msg) => self.handle(msg),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    fn handle(&mut self, msg: Msg) {
        let now = Instant::now();
        match msg {
            Msg::NodeApply(spec) => {
                let name = spec.name.clone();
                let old = self.cache.apply_node(spec);
                let node = self.cache.node(&name);
                let may_help = match (&old, node) {
                    (None, _) => true,
                    (Some(old), Some(node)) => node_change_may_help(old, &node.node),
                    (Some(_), None) => false,
                };
                if may_help && let Some(node) = node {
                    let framework = &self.framework;
                    self.queue
                        .move_unschedulable(now, |pod| framework.node_may_fit(pod, node));
                }
            }
            Msg::NodeDelete(name) => self.cache.remove_node(&name),
            Msg::NodesListed(names) => {
                for name in self.cache.node_names() {
                    if !names.contains(&name) {
                        self.cache.remove_node(&name);
                    }
                }
                self.nodes_synced = true;
            }
            Msg::PodApply(pod) => self.apply_pod(pod, now),
            Msg::PodDelete(uid) => self.delete_pod(&uid, now),
            Msg::PodsListed(uids) => {
                for uid in self.cache.confirmed_pod_uids() {
                    if !uids.contains(&uid) {
                        self.delete_pod(&uid, now);
                    }
                }
                self.pods_synced = true;
            }
            Msg::BindFailed(pod) => {
                // Only a pod still assumed is retried: one deleted meanwhile is gone from
                // the cache, one the watch shows bound is no longer assumed.
                if self.cache.is_assumed(&pod.uid) {
                    self.cache.forget(&pod.uid);
                    self.queue.add_or_update(pod.clone(), now);
                    self.queue.requeue_failed(&pod.uid, false, now);
                    self.queue.move_unschedulable(now, |_| true);
                }
            }
            Msg::StatusWritten(uid) => {
                self.status_writes.remove(&uid);
            }
            Msg::Lead => {
                tracing::info!("leading: scheduling starts");
                self.leading = true;
            }
            Msg::Shutdown => {}
        }
    }

    fn apply_pod(&mut self, pod: Arc<PodInfo>, now: Instant) {
        let uid = pod.uid.clone();
        if !pod.node_name.is_empty() {
            self.queue.delete(&uid);
            if pod.terminal {
                // A finished pod frees its node's resources.
                if self.cache.remove_pod(&uid) {
                    self.queue.move_unschedulable(now, |_| true);
                }
            } else {
                self.cache.apply_assigned_pod(pod);
            }
            return;
        }
        let ours = pod.scheduler_name == self.scheduler_name;
        if !ours || pod.terminal || pod.deleting {
            self.queue.delete(&uid);
            return;
        }
        if self.cache.is_assumed(&uid) {
            // Binding under way; the bound pod will show up shortly.
            return;
        }
        self.queue.add_or_update(pod, now);
    }

    fn delete_pod(&mut self, uid: &str, now: Instant) {
        self.queue.delete(uid);
        self.status_writes.remove(uid);
        if self.cache.remove_pod(uid) {
            self.queue.move_unschedulable(now, |_| true);
        }
    }

    fn schedule_one(&mut self, pod: Arc<PodInfo>, first_seen: Instant, now: Instant) {
        if self.status_writes.contains(&pod.uid) {
            // Do not let a late PodScheduled=False land after a binding.
            self.queue.requeue_later(&pod.uid, now);
            return;
        }
        let started = Instant::now();
        let result = if self.cache.node_count() == 0 {
            Err(None)
        } else {
            self.framework
                .schedule(&pod, self.cache.nodes(), self.cache.node_count())
                .map_err(Some)
        };
        let elapsed = started.elapsed().as_secs_f64();
        match result {
            Ok(decision) => {
                self.metrics
                    .attempt_duration
                    .get_or_create(&crate::metrics::ResultLabel {
                        result: "scheduled",
                    })
                    .observe(elapsed);
                tracing::debug!(
                    pod = %pod.key(),
                    node = %decision.node,
                    evaluated = decision.evaluated_nodes,
                    feasible = decision.feasible_nodes,
                    "scheduled"
                );
                self.queue.done(&pod.uid);
                self.cache.assume(pod.clone(), &decision.node);
                self.binder.bind(pod, decision.node, first_seen);
            }
            Err(fit) => {
                let (message, result) = match &fit {
                    None => (
                        "no nodes available to schedule pods".to_string(),
                        "unschedulable",
                    ),
                    Some(FitError { error: true, .. }) => (fit_message(fit.as_ref()), "error"),
                    Some(_) => (fit_message(fit.as_ref()), "unschedulable"),
                };
                self.metrics.attempt(result);
                self.metrics
                    .attempt_duration
                    .get_or_create(&crate::metrics::ResultLabel { result })
                    .observe(elapsed);
                tracing::info!(pod = %pod.key(), %message, "unable to schedule pod");
                self.events.pod_event(
                    &pod,
                    "Warning",
                    "FailedScheduling",
                    "Scheduling",
                    message.clone(),
                );
                self.queue
                    .requeue_failed(&pod.uid, result == "unschedulable", now);
                let unchanged = pod.scheduled_condition.as_ref().is_some_and(|c| {
                    c.status == "False" && c.reason == "Unschedulable" && c.message == message
                });
                if !unchanged {
                    self.status_writes.insert(pod.uid.clone());
                    self.binder.mark_unschedulable(pod, message);
                }
            }
        }
    }
}

fn fit_message(fit: Option<&FitError>) -> String {
    fit.map(FitError::message).unwrap_or_default()
}

/// Upstream's queueing hints for node updates, in short: a node update can only help
/// when the node got more room, other labels or taints, or was uncordoned.
fn node_change_may_help(old: &NodeSpec, new: &NodeSpec) -> bool {
    let a = &old.allocatable;
    let b = &new.allocatable;
    let grew = b.milli_cpu > a.milli_cpu
        || b.memory > a.memory
        || b.ephemeral_storage > a.ephemeral_storage
        || b.allowed_pods > a.allowed_pods
        || b.scalar.iter().any(|(k, v)| *v > a.scalar(k));
    grew || old.labels != new.labels
        || old.taints != new.taints
        || (old.unschedulable && !new.unschedulable)
}
