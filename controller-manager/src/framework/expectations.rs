//! Expectations (upstream's UIDTrackingControllerExpectations): after a sync creates or
//! deletes pods, the controller waits until its watch has shown those creations and
//! deletions before it counts pods again, so a slow watch never makes it create or delete
//! twice. Deletions are tracked by pod key so that seeing both the deletionTimestamp update
//! and the final delete counts once. Expectations older than the timeout are ignored (a
//! lost watch event must not wedge the controller forever).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Upstream's ExpectationsTimeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5 * 60);

struct Expected {
    adds: i64,
    deletes: HashSet<String>,
    set_at: Instant,
}

pub struct Expectations {
    timeout: Duration,
    by_controller: Mutex<HashMap<String, Expected>>,
}

impl Expectations {
    pub fn new(timeout: Duration) -> Self {
        Expectations {
            timeout,
            by_controller: Mutex::new(HashMap::new()),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Expected>> {
        self.by_controller.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// True when the controller `key` may count pods and act: nothing is expected, or what
    /// was expected has been seen, or the expectations expired.
    pub fn satisfied(&self, key: &str) -> bool {
        match self.map().get(key) {
            None => true,
            Some(e) => (e.adds <= 0 && e.deletes.is_empty()) || e.set_at.elapsed() > self.timeout,
        }
    }

    pub fn expect_creations(&self, key: &str, n: usize) {
        let mut map = self.map();
        map.insert(
            key.to_string(),
            Expected {
                adds: i64::try_from(n).unwrap_or(i64::MAX),
                deletes: HashSet::new(),
                set_at: Instant::now(),
            },
        );
    }

    pub fn expect_deletions(&self, key: &str, pod_keys: impl IntoIterator<Item = String>) {
        let mut map = self.map();
        map.insert(
            key.to_string(),
            Expected {
                adds: 0,
                deletes: pod_keys.into_iter().collect(),
                set_at: Instant::now(),
            },
        );
    }

    /// A creation was seen by the watch (or will never happen because it failed).
    pub fn creation_observed(&self, key: &str) {
        if let Some(e) = self.map().get_mut(key) {
            e.adds -= 1;
        }
    }

    /// The deletion of `pod_key` was seen (or will never happen because it failed).
    pub fn deletion_observed(&self, key: &str, pod_key: &str) {
        if let Some(e) = self.map().get_mut(key) {
            e.deletes.remove(pod_key);
        }
    }

    /// The controller is gone: forget what it expected.
    pub fn delete(&self, key: &str) {
        self.map().remove(key);
    }
}

impl Default for Expectations {
    fn default() -> Self {
        Self::new(DEFAULT_TIMEOUT)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn creations_and_deletions_are_counted_once() {
        let e = Expectations::default();
        assert!(e.satisfied("ns/rs"));
        e.expect_creations("ns/rs", 2);
        assert!(!e.satisfied("ns/rs"));
        e.creation_observed("ns/rs");
        assert!(!e.satisfied("ns/rs"));
        e.creation_observed("ns/rs");
        assert!(e.satisfied("ns/rs"));

        e.expect_deletions("ns/rs", ["ns/a".to_string(), "ns/b".to_string()]);
        e.deletion_observed("ns/rs", "ns/a");
        e.deletion_observed("ns/rs", "ns/a");
        assert!(!e.satisfied("ns/rs"));
        e.deletion_observed("ns/rs", "ns/b");
        assert!(e.satisfied("ns/rs"));
    }

    #[test]
    fn expired_expectations_do_not_block() {
        let e = Expectations::new(Duration::ZERO);
        e.expect_creations("k", 5);
        std::thread::sleep(Duration::from_millis(2));
        assert!(e.satisfied("k"));
    }
}
