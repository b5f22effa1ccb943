//! client-go's rate-limited work queue: a key is queued at most once however many events name
//! it, a key being processed is never handed to a second worker (it is re-queued when the
//! first finishes if it was added meanwhile), failures back off exponentially per key
//! (5 ms doubling up to 1000 s), and keys can be re-added after a delay.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::metrics::Metrics;

const BASE_DELAY: Duration = Duration::from_millis(5);
const MAX_DELAY: Duration = Duration::from_secs(1000);

#[derive(Default)]
struct State {
    queue: VecDeque<String>,
    dirty: HashSet<String>,
    processing: HashSet<String>,
    failures: HashMap<String, u32>,
    shutting_down: bool,
}

pub struct WorkQueue {
    name: String,
    state: Mutex<State>,
    notify: Notify,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
}

impl WorkQueue {
    /// A queue named `name` (the `name` label of the workqueue metrics). Delayed adds stop at
    /// `shutdown`.
    pub fn new(name: &str, metrics: Arc<Metrics>, shutdown: CancellationToken) -> Arc<Self> {
        Arc::new(WorkQueue {
            name: name.to_string(),
            state: Mutex::new(State::default()),
            notify: Notify::new(),
            metrics,
            shutdown,
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn add(&self, key: String) {
        let mut st = self.state();
        if st.shutting_down || st.dirty.contains(&key) {
            return;
        }
        self.metrics.queue_add(&self.name);
        st.dirty.insert(key.clone());
        if st.processing.contains(&key) {
            return;
        }
        st.queue.push_back(key);
        self.metrics.queue_depth(&self.name, st.queue.len());
        drop(st);
        self.notify.notify_one();
    }

    /// Adds `key` once `delay` has passed.
    pub fn add_after(self: &Arc<Self>, key: String, delay: Duration) {
        if delay.is_zero() {
            self.add(key);
            return;
        }
        let queue = self.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep(delay) => queue.add(key),
                _ = queue.shutdown.cancelled() => {}
            }
        });
    }

    /// Re-adds `key` after its per-key exponential back-off.
    pub fn add_rate_limited(self: &Arc<Self>, key: String) {
        let delay = {
            let mut st = self.state();
            let n = st.failures.entry(key.clone()).or_insert(0);
            let exp = (*n).min(30);
            *n += 1;
            BASE_DELAY
                .checked_mul(1u32 << exp)
                .map_or(MAX_DELAY, |d| d.min(MAX_DELAY))
        };
        self.metrics.queue_retry(&self.name);
        self.add_after(key, delay);
    }

    /// How often `key` failed since it was last forgotten.
    pub fn num_requeues(&self, key: &str) -> u32 {
        self.state().failures.get(key).copied().unwrap_or(0)
    }

    /// Clears `key`'s back-off after a successful sync.
    pub fn forget(&self, key: &str) {
        self.state().failures.remove(key);
    }

    /// The next key to process, or None once the queue shuts down. The caller must call
    /// [`WorkQueue::done`] with it.
    pub async fn get(&self) -> Option<String> {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut st = self.state();
                if let Some(key) = st.queue.pop_front() {
                    st.dirty.remove(&key);
                    st.processing.insert(key.clone());
                    self.metrics.queue_depth(&self.name, st.queue.len());
                    // More keys may wait; pass the wake-up on to another worker.
                    if !st.queue.is_empty() {
                        self.notify.notify_one();
                    }
                    return Some(key);
                }
                if st.shutting_down {
                    return None;
                }
            }
            notified.await;
        }
    }

    pub fn done(&self, key: &str) {
        let mut st = self.state();
        st.processing.remove(key);
        if st.dirty.contains(key) {
            st.queue.push_back(key.to_string());
            self.metrics.queue_depth(&self.name, st.queue.len());
            drop(st);
            self.notify.notify_one();
        }
    }

    pub fn shut_down(&self) {
        self.state().shutting_down = true;
        self.notify.notify_waiters();
    }

    pub fn len(&self) -> usize {
        self.state().queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn queue() -> Arc<WorkQueue> {
        let mut reg = prometheus_client::registry::Registry::default();
        WorkQueue::new(
            "test",
            Arc::new(Metrics::new(&mut reg)),
            CancellationToken::new(),
        )
    }

    #[tokio::test]
    async fn dedups_and_defers_keys_in_flight() {
        let q = queue();
        q.add("a".into());
        q.add("a".into());
        q.add("b".into());
        assert_eq!(q.len(), 2);
        let a = q.get().await.unwrap();
        assert_eq!(a, "a");
        // Added while processing: not handed out again until done.
        q.add("a".into());
        assert_eq!(q.get().await.unwrap(), "b");
        assert!(q.is_empty());
        q.done("a");
        assert_eq!(q.get().await.unwrap(), "a");
        q.done("a");
        q.done("b");
        q.shut_down();
        assert!(q.get().await.is_none());
    }

    #[tokio::test]
    async fn rate_limited_adds_back_off() {
        let q = queue();
        q.add_rate_limited("k".into());
        q.add_rate_limited("k".into());
        assert_eq!(q.num_requeues("k"), 2);
        let got = tokio::time::timeout(Duration::from_secs(2), q.get()).await;
        assert_eq!(got.unwrap().unwrap(), "k");
        q.forget("k");
        assert_eq!(q.num_requeues("k"), 0);
    }
}
