//! client-go's MutationCache: the objects a controller itself just wrote, used in place of
//! the informer's copy until the watch delivers that write (or a later one). Without it, a
//! sync that runs before the watch catches up would act on the object as it was before the
//! controller's own last change (scale a ReplicaSet it already scaled, write a status over
//! the one it just wrote).
//!
//! Resource versions are compared as integers, as this API server (like kube-apiserver on
//! etcd) issues them; a version that does not parse never replaces the informer's copy.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::Resource;

use super::informer::key_of;

pub struct MutationCache<K> {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Arc<K>, Instant)>>,
}

fn rv<K: Resource>(obj: &K) -> Option<u64> {
    obj.meta().resource_version.as_deref()?.parse().ok()
}

impl<K: Resource> MutationCache<K> {
    pub fn new(ttl: Duration) -> Self {
        MutationCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Arc<K>, Instant)>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Remembers what a write returned.
    pub fn record(&self, obj: K) -> Arc<K> {
        let obj = Arc::new(obj);
        self.entries()
            .insert(key_of(obj.as_ref()), (obj.clone(), Instant::now()));
        obj
    }

    /// The newer of the informer's copy and what this controller last wrote. Only objects
    /// the informer still has are upgraded: a deletion is never undone from here.
    pub fn newest(&self, cached: Arc<K>) -> Arc<K> {
        let key = key_of(cached.as_ref());
        let mut entries = self.entries();
        let Some((written, at)) = entries.get(&key) else {
            return cached;
        };
        let same_object = written.meta().uid == cached.meta().uid;
        let newer = match (rv(written.as_ref()), rv(cached.as_ref())) {
            (Some(w), Some(c)) => w > c,
            _ => false,
        };
        if same_object && newer && at.elapsed() < self.ttl {
            return written.clone();
        }
        entries.remove(&key);
        cached
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use k8s_openapi::api::apps::v1::ReplicaSet;

    fn rs(rv: &str, replicas: i32) -> ReplicaSet {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "a", "namespace": "n", "uid": "u", "resourceVersion": rv},
            "spec": {"replicas": replicas, "selector": {}}
        }))
        .unwrap()
    }

    #[test]
    fn own_writes_win_until_the_watch_catches_up() {
        let c = MutationCache::new(Duration::from_secs(60));
        c.record(rs("10", 3));
        let got = c.newest(Arc::new(rs("9", 1)));
        assert_eq!(got.spec.as_ref().unwrap().replicas, Some(3));
        let got = c.newest(Arc::new(rs("11", 4)));
        assert_eq!(got.spec.as_ref().unwrap().replicas, Some(4));
        // Forgotten once the informer caught up.
        let got = c.newest(Arc::new(rs("9", 1)));
        assert_eq!(got.spec.as_ref().unwrap().replicas, Some(1));
    }
}
