//! The scheduling queue, as upstream's PriorityQueue:
//!
//! - activeQ: pods ready for a scheduling attempt, highest `spec.priority` first, then in
//!   the order they became ready;
//! - backoffQ: pods that failed recently and wait out their back-off (initial back-off
//!   doubling per attempt up to the maximum);
//! - unschedulablePods: pods no node could take; a cluster event that may help (a node
//!   added or changed, a pod removed) moves them back, and so does staying there longer than
//!   the maximum duration.
//!
//! A pod that failed while a move request happened during its attempt goes to backoffQ
//! instead of unschedulablePods, so an event that arrived mid-cycle is not missed.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::types::PodInfo;

#[derive(Debug, Clone)]
pub struct QueueConfig {
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub max_in_unschedulable: Duration,
}

/// A pod handed to a scheduling attempt.
#[derive(Debug, Clone)]
pub struct QueuedPod {
    pub pod: Arc<PodInfo>,
    /// Attempts so far, this one included.
    pub attempts: u32,
    /// When the scheduler first saw the pod (for the end-to-end latency).
    pub first_seen: Instant,
    /// The scheduling cycle of the current attempt.
    pub cycle: u64,
    last_failure: Option<Instant>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Place {
    Active(u64),
    Backoff(u64),
    Unschedulable(Instant),
    /// Has scheduling gates; waits for an update that removes them.
    Gated,
    /// Being scheduled (popped, not yet done or requeued).
    InFlight,
}

struct Entry {
    qp: QueuedPod,
    place: Place,
}

/// Sizes of the three queues (plus gated pods), for the pending_pods gauge.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Lengths {
    pub active: usize,
    pub backoff: usize,
    pub unschedulable: usize,
    pub gated: usize,
}

pub struct SchedulingQueue {
    cfg: QueueConfig,
    entries: HashMap<String, Entry>,
    /// (priority, FIFO order, uid); entries whose place no longer matches are skipped.
    active: BinaryHeap<(i32, Reverse<u64>, String)>,
    backoff: BinaryHeap<Reverse<(Instant, u64, String)>>,
    seq: u64,
    scheduling_cycle: u64,
    move_request_cycle: u64,
    lengths: Lengths,
}

impl SchedulingQueue {
    pub fn new(cfg: QueueConfig) -> Self {
        SchedulingQueue {
            cfg,
            entries: HashMap::new(),
            active: BinaryHeap::new(),
            backoff: BinaryHeap::new(),
            seq: 0,
            scheduling_cycle: 0,
            move_request_cycle: 0,
            lengths: Lengths::default(),
        }
    }

    pub fn lengths(&self) -> Lengths {
        self.lengths
    }

    pub fn contains(&self, uid: &str) -> bool {
        self.entries.contains_key(uid)
    }

    fn count(&mut self, place: Place, delta: isize) {
        let slot = match place {
            Place::Active(_) => &mut self.lengths.active,
            Place::Backoff(_) => &mut self.lengths.backoff,
            Place::Unschedulable(_) => &mut self.lengths.unschedulable,
            Place::Gated => &mut self.lengths.gated,
            Place::InFlight => return,
        };
        *slot = slot.saturating_add_signed(delta);
    }

    fn set_place(&mut self, uid: &str, place: Place) {
        let Some(entry) = self.entries.get_mut(uid) else {
            return;
        };
        let old = std::mem::replace(&mut entry.place, place);
        let priority = entry.qp.pod.priority;
        let expiry = self.backoff_expiry(uid);
        self.count(old, -1);
        self.count(place, 1);
        match place {
            Place::Active(seq) => self.active.push((priority, Reverse(seq), uid.to_string())),
            Place::Backoff(seq) => {
                let at = expiry.unwrap_or_else(Instant::now);
                self.backoff.push(Reverse((at, seq, uid.to_string())));
            }
            _ => {}
        }
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn make_active(&mut self, uid: &str) {
        let seq = self.next_seq();
        self.set_place(uid, Place::Active(seq));
    }

    fn make_backoff(&mut self, uid: &str) {
        let seq = self.next_seq();
        self.set_place(uid, Place::Backoff(seq));
    }

    /// A new or updated pending pod.
    pub fn add_or_update(&mut self, pod: Arc<PodInfo>, now: Instant) {
        let uid = pod.uid.clone();
        let gated = pod.scheduling_gated;
        match self.entries.get_mut(&uid) {
            None => {
                self.entries.insert(
                    uid.clone(),
                    Entry {
                        qp: QueuedPod {
                            pod,
                            attempts: 0,
                            first_seen: now,
                            cycle: 0,
                            last_failure: None,
                        },
                        place: Place::InFlight,
                    },
                );
                if gated {
                    self.set_place(&uid, Place::Gated);
                } else {
                    self.make_active(&uid);
                }
            }
            Some(entry) => {
                let changed = entry.qp.pod.scheduling_inputs_differ(&pod);
                let place = entry.place;
                entry.qp.pod = pod;
                match place {
                    Place::Gated if !gated => self.make_active(&uid),
                    Place::Unschedulable(_) if changed => {
                        if gated {
                            self.set_place(&uid, Place::Gated);
                        } else if self.is_backing_off(&uid, now) {
                            self.make_backoff(&uid);
                        } else {
                            self.make_active(&uid);
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    pub fn delete(&mut self, uid: &str) {
        if let Some(entry) = self.entries.remove(uid) {
            self.count(entry.place, -1);
        }
    }

    fn backoff_duration(&self, attempts: u32) -> Duration {
        let mut d = self.cfg.initial_backoff;
        for _ in 1..attempts {
            d = d.saturating_mul(2);
            if d >= self.cfg.max_backoff {
                return self.cfg.max_backoff;
            }
        }
        d.min(self.cfg.max_backoff)
    }

    fn backoff_expiry(&self, uid: &str) -> Option<Instant> {
        let qp = &self.entries.get(uid)?.qp;
        let failed = qp.last_failure?;
        Some(failed + self.backoff_duration(qp.attempts))
    }

    fn is_backing_off(&self, uid: &str, now: Instant) -> bool {
        self.backoff_expiry(uid).is_some_and(|at| at > now)
    }

    /// Moves pods whose back-off ended to activeQ, and pods unschedulable for too long back.
    pub fn flush(&mut self, now: Instant) {
        while let Some(Reverse((at, seq, uid))) = self.backoff.peek().cloned() {
            let current = self.entries.get(&uid).map(|e| e.place);
            if current != Some(Place::Backoff(seq)) {
                self.backoff.pop();
                continue;
            }
            if at > now {
                break;
            }
            self.backoff.pop();
            self.make_active(&uid);
        }
    }

    /// Pods that have been unschedulable longer than the maximum go back for another try.
    pub fn flush_unschedulable_leftover(&mut self, now: Instant) {
        let max = self.cfg.max_in_unschedulable;
        let stale: Vec<String> = self
            .entries
            .iter()
            .filter(|(_, e)| {
                matches!(e.place, Place::Unschedulable(since) if now.duration_since(since) > max)
            })
            .map(|(uid, _)| uid.clone())
            .collect();
        for uid in stale {
            self.requeue_moved(&uid, now);
        }
    }

    fn requeue_moved(&mut self, uid: &str, now: Instant) {
        if self.is_backing_off(uid, now) {
            self.make_backoff(uid);
        } else {
            self.make_active(uid);
        }
    }

    /// When the next backed-off pod becomes ready.
    pub fn next_backoff_expiry(&self) -> Option<Instant> {
        self.backoff.peek().map(|Reverse((at, _, _))| *at)
    }

    /// The next pod to schedule, if any is ready.
    pub fn pop(&mut self, now: Instant) -> Option<QueuedPod> {
        self.flush(now);
        while let Some((_, Reverse(seq), uid)) = self.active.pop() {
            let Some(entry) = self.entries.get(&uid) else {
                continue;
            };
            if entry.place != Place::Active(seq) {
                continue;
            }
            self.scheduling_cycle += 1;
            let cycle = self.scheduling_cycle;
            self.set_place(&uid, Place::InFlight);
            let entry = self.entries.get_mut(&uid)?;
            entry.qp.attempts += 1;
            entry.qp.cycle = cycle;
            return Some(entry.qp.clone());
        }
        None
    }

    /// The attempt succeeded (the pod is assumed and being bound): it leaves the queue.
    pub fn done(&mut self, uid: &str) {
        self.delete(uid);
    }

    /// The attempt failed. `unschedulable`: no node fits (wait for a cluster event);
    /// otherwise an error (retry after back-off).
    pub fn requeue_failed(&mut self, uid: &str, unschedulable: bool, now: Instant) {
        let Some(entry) = self.entries.get_mut(uid) else {
            // Deleted meanwhile.
            return;
        };
        entry.qp.last_failure = Some(now);
        let cycle = entry.qp.cycle;
        if !unschedulable || self.move_request_cycle >= cycle {
            self.make_backoff(uid);
        } else {
            self.set_place(uid, Place::Unschedulable(now));
        }
    }

    /// A pod whose previous attempt is still being written (its status patch) waits a
    /// moment before its next attempt.
    pub fn requeue_later(&mut self, uid: &str, now: Instant) {
        if let Some(entry) = self.entries.get_mut(uid) {
            entry.qp.last_failure = Some(now);
            self.make_backoff(uid);
        }
    }

    /// A cluster event that may make unschedulable pods schedulable: those for which
    /// `may_help` says so go to activeQ (or backoffQ while backing off).
    pub fn move_unschedulable(&mut self, now: Instant, may_help: impl Fn(&PodInfo) -> bool) {
        self.move_request_cycle = self.scheduling_cycle;
        let movable: Vec<String> = self
            .entries
            .iter()
            .filter(|(_, e)| matches!(e.place, Place::Unschedulable(_)) && may_help(&e.qp.pod))
            .map(|(uid, _)| uid.clone())
            .collect();
        for uid in movable {
            self.requeue_moved(&uid, now);
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::type_complexity
)]
mod tests {
    use super::*;

    fn cfg() -> QueueConfig {
        QueueConfig {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(10),
            max_in_unschedulable: Duration::from_secs(300),
        }
    }

    fn pod(uid: &str, priority: i32) -> Arc<PodInfo> {
        Arc::new(PodInfo {
            uid: uid.into(),
            priority,
            ..PodInfo::default()
        })
    }

    fn pop_uid(q: &mut SchedulingQueue, now: Instant) -> Option<String> {
        q.pop(now).map(|qp| qp.pod.uid.clone())
    }

    #[test]
    fn priority_then_fifo() {
        let mut q = SchedulingQueue::new(cfg());
        let now = Instant::now();
        q.add_or_update(pod("low-1", 0), now);
        q.add_or_update(pod("high", 100), now);
        q.add_or_update(pod("low-2", 0), now);
        q.add_or_update(pod("mid", 10), now);
        let order: Vec<_> = std::iter::from_fn(|| pop_uid(&mut q, now)).collect();
        assert_eq!(order, ["high", "mid", "low-1", "low-2"]);
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let q = SchedulingQueue::new(cfg());
        let got: Vec<u64> = (1..=6).map(|a| q.backoff_duration(a).as_secs()).collect();
        assert_eq!(got, [1, 2, 4, 8, 10, 10]);
    }

    #[test]
    fn errors_back_off_then_return() {
        let mut q = SchedulingQueue::new(cfg());
        let t0 = Instant::now();
        q.add_or_update(pod("p", 0), t0);
        assert!(pop_uid(&mut q, t0).is_some());
        q.requeue_failed("p", false, t0);
        assert_eq!(q.lengths().backoff, 1);
        assert_eq!(pop_uid(&mut q, t0 + Duration::from_millis(900)), None);
        assert_eq!(
            pop_uid(&mut q, t0 + Duration::from_millis(1001)).as_deref(),
            Some("p")
        );
        // Second failure: 2 s.
        let t1 = t0 + Duration::from_secs(2);
        q.requeue_failed("p", false, t1);
        assert_eq!(pop_uid(&mut q, t1 + Duration::from_millis(1500)), None);
        assert!(pop_uid(&mut q, t1 + Duration::from_millis(2001)).is_some());
    }

    #[test]
    fn unschedulable_pods_wait_for_a_move() {
        let mut q = SchedulingQueue::new(cfg());
        let t0 = Instant::now();
        q.add_or_update(pod("p", 0), t0);
        q.add_or_update(pod("other", 0), t0);
        assert_eq!(pop_uid(&mut q, t0).as_deref(), Some("p"));
        q.requeue_failed("p", true, t0);
        assert_eq!(q.lengths().unschedulable, 1);
        let later = t0 + Duration::from_secs(20);
        assert_eq!(pop_uid(&mut q, later).as_deref(), Some("other"));
        q.done("other");
        assert_eq!(pop_uid(&mut q, later), None, "no event, no retry");
        q.move_unschedulable(later, |_| false);
        assert_eq!(pop_uid(&mut q, later), None, "the hint said no");
        q.move_unschedulable(later, |_| true);
        assert_eq!(pop_uid(&mut q, later).as_deref(), Some("p"));
    }

    #[test]
    fn a_move_during_the_attempt_sends_the_pod_to_backoff() {
        let mut q = SchedulingQueue::new(cfg());
        let t0 = Instant::now();
        q.add_or_update(pod("p", 0), t0);
        assert!(pop_uid(&mut q, t0).is_some());
        q.move_unschedulable(t0, |_| true);
        q.requeue_failed("p", true, t0);
        assert_eq!(q.lengths().backoff, 1);
        assert_eq!(q.lengths().unschedulable, 0);
    }

    #[test]
    fn leftover_unschedulable_pods_are_retried() {
        let mut q = SchedulingQueue::new(cfg());
        let t0 = Instant::now();
        q.add_or_update(pod("p", 0), t0);
        assert!(pop_uid(&mut q, t0).is_some());
        q.requeue_failed("p", true, t0);
        q.flush_unschedulable_leftover(t0 + Duration::from_secs(100));
        assert_eq!(q.lengths().unschedulable, 1);
        q.flush_unschedulable_leftover(t0 + Duration::from_secs(301));
        assert_eq!(q.lengths().unschedulable, 0);
        assert!(pop_uid(&mut q, t0 + Duration::from_secs(301)).is_some());
    }

    #[test]
    fn updates_that_change_the_spec_retry_and_gates_hold_pods() {
        let mut q = SchedulingQueue::new(cfg());
        let t0 = Instant::now();
        q.add_or_update(pod("p", 0), t0);
        assert!(pop_uid(&mut q, t0).is_some());
        q.requeue_failed("p", true, t0);
        // A status-only update (same inputs) does not retry.
        q.add_or_update(pod("p", 0), t0 + Duration::from_secs(20));
        assert_eq!(q.lengths().unschedulable, 1);
        let mut changed = (*pod("p", 0)).clone();
        changed.node_selector.insert("disk".into(), "ssd".into());
        q.add_or_update(Arc::new(changed), t0 + Duration::from_secs(20));
        assert_eq!(q.lengths().active, 1);

        let mut gated = (*pod("g", 0)).clone();
        gated.scheduling_gated = true;
        q.add_or_update(Arc::new(gated.clone()), t0);
        assert_eq!(q.lengths().gated, 1);
        gated.scheduling_gated = false;
        q.add_or_update(Arc::new(gated), t0);
        assert_eq!(q.lengths().gated, 0);
        assert_eq!(q.lengths().active, 2);
        q.delete("g");
        q.delete("p");
        assert_eq!(q.lengths(), Lengths::default());
        assert_eq!(pop_uid(&mut q, t0 + Duration::from_secs(30)), None);
    }
}
