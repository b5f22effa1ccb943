//! The watch cache: every object of every resource in memory, fed by ONE storage watch on
//! `/registry/`, so that LIST with resourceVersion=0, consistent LISTs once caught up, LISTs at
//! a recent exact revision (continue tokens) and every WATCH are served without touching
//! storage. Each change is parsed and serialized once; the same bytes go to every watcher.
//!
//! Consistency: the dispatcher applies an event to its resource's cache under that cache's
//! write lock (and sends it to the cache's watchers while holding it), and only then
//! publishes the new global revision. A reader that holds a cache's read lock and reads the
//! global revision therefore sees every event of that resource up to that revision, and
//! nothing beyond it: snapshots and watch starts are gap-free.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::storage::{KeyValue, ListOptions, Revision, Storage, StorageError, WatchEvent};

/// How many events each resource keeps for watches that start from an older revision.
const HISTORY_CAPACITY: usize = 20_000;
/// How many events a watcher may fall behind before it is closed (it then re-watches).
const WATCHER_CHANNEL: usize = 16_384;
/// Page size of the startup list.
const RELIST_PAGE: usize = 5_000;

/// One object as stored, with its resourceVersion filled in and its JSON ready to send.
#[derive(Debug)]
pub struct CachedObject {
    pub key: String,
    pub revision: Revision,
    pub object: Value,
    pub json: Bytes,
}

impl CachedObject {
    /// Builds a cached object from a stored value, injecting `resourceVersion`.
    pub fn from_stored(key: &str, value: &[u8], revision: Revision) -> Result<Self, String> {
        let mut object: Value = serde_json::from_slice(value)
            .map_err(|e| format!("stored value at {key} is not JSON: {e}"))?;
        set_resource_version(&mut object, revision);
        Self::from_object(key, object, revision)
    }

    pub fn from_object(key: &str, object: Value, revision: Revision) -> Result<Self, String> {
        let json = serde_json::to_vec(&object)
            .map_err(|e| format!("cannot serialize object at {key}: {e}"))?;
        Ok(Self {
            key: key.to_string(),
            revision,
            object,
            json: Bytes::from(json),
        })
    }

    /// A copy of this object claiming a later resourceVersion (deletes and objects leaving a
    /// selector carry the revision of the change, as upstream).
    fn at_revision(&self, revision: Revision) -> Result<Self, String> {
        let mut object = self.object.clone();
        set_resource_version(&mut object, revision);
        Self::from_object(&self.key, object, revision)
    }
}

pub fn set_resource_version(object: &mut Value, revision: Revision) {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert(
            "resourceVersion".into(),
            Value::String(revision.to_string()),
        );
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// A change to one object. For `Deleted`, `object` is the last state with the delete's
/// revision.
#[derive(Debug)]
pub struct CacheEvent {
    pub event_type: EventType,
    pub revision: Revision,
    pub object: Arc<CachedObject>,
    pub prev: Option<Arc<CachedObject>>,
}

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The revision is older than the history kept: 410 Expired.
    #[error("too old resource version: {requested} ({oldest})")]
    TooOld {
        requested: Revision,
        oldest: Revision,
    },
    /// The cache did not reach the revision in time.
    #[error("Too large resource version: {requested}, current: {current}")]
    TooLarge {
        requested: Revision,
        current: Revision,
    },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

struct Inner {
    objects: BTreeMap<String, Arc<CachedObject>>,
    history: VecDeque<Arc<CacheEvent>>,
    /// Every event with a revision above this is in `history`.
    history_start: Revision,
}

/// The cache of one storage prefix (one resource).
pub struct WatchCache {
    prefix: String,
    inner: RwLock<Inner>,
    tx: broadcast::Sender<Arc<CacheEvent>>,
    revision: watch::Receiver<Revision>,
}

/// What a watcher starts from: the events to replay, then the live channel.
pub struct WatchStart {
    pub initial: Vec<Arc<CacheEvent>>,
    pub initial_objects: Vec<Arc<CachedObject>>,
    pub revision: Revision,
    pub live: broadcast::Receiver<Arc<CacheEvent>>,
}

impl WatchCache {
    fn new(prefix: String, revision: watch::Receiver<Revision>, start: Revision) -> Self {
        let (tx, _) = broadcast::channel(WATCHER_CHANNEL);
        Self {
            prefix,
            inner: RwLock::new(Inner {
                objects: BTreeMap::new(),
                history: VecDeque::new(),
                history_start: start,
            }),
            tx,
            revision,
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        // A poisoned lock means a panic elsewhere; the data is still consistent because
        // every mutation is completed before any call that could panic.
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The current objects under `prefix` (a sub-prefix of this cache's) and the revision
    /// they reflect.
    pub fn snapshot(&self, prefix: &str) -> (Vec<Arc<CachedObject>>, Revision) {
        let inner = self.read();
        let revision = *self.revision.borrow();
        let items = range(&inner.objects, prefix)
            .map(|(_, v)| v.clone())
            .collect();
        (items, revision)
    }

    /// The objects under `prefix` as they were at `at`, reconstructed by undoing the events
    /// after it. Fails with TooOld when the history does not reach back that far.
    pub fn snapshot_at(
        &self,
        prefix: &str,
        at: Revision,
    ) -> Result<Vec<Arc<CachedObject>>, CacheError> {
        let inner = self.read();
        let current = *self.revision.borrow();
        if at > current {
            return Err(CacheError::TooLarge {
                requested: at,
                current,
            });
        }
        if at < inner.history_start {
            return Err(CacheError::TooOld {
                requested: at,
                oldest: inner.history_start,
            });
        }
        let mut objects: BTreeMap<String, Arc<CachedObject>> = range(&inner.objects, prefix)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for ev in inner.history.iter().rev() {
            if ev.revision <= at {
                break;
            }
            if !ev.object.key.starts_with(prefix) {
                continue;
            }
            match (&ev.event_type, &ev.prev) {
                (EventType::Added, _) => {
                    objects.remove(&ev.object.key);
                }
                (_, Some(prev)) => {
                    objects.insert(prev.key.clone(), prev.clone());
                }
                (_, None) => {
                    objects.remove(&ev.object.key);
                }
            }
        }
        Ok(objects.into_values().collect())
    }

    pub fn get(&self, key: &str) -> Option<Arc<CachedObject>> {
        self.read().objects.get(key).cloned()
    }

    /// Starts a watch. `from = None`: the current objects (as synthetic ADDED events) then
    /// live changes; `Some(r)`: every change after `r`, then live.
    pub fn start_watch(&self, from: Option<Revision>) -> Result<WatchStart, CacheError> {
        let inner = self.read();
        let revision = *self.revision.borrow();
        let live = self.tx.subscribe();
        match from {
            None => Ok(WatchStart {
                initial: Vec::new(),
                initial_objects: inner.objects.values().cloned().collect(),
                revision,
                live,
            }),
            Some(r) => {
                if r < inner.history_start {
                    return Err(CacheError::TooOld {
                        requested: r,
                        oldest: inner.history_start,
                    });
                }
                let initial = inner
                    .history
                    .iter()
                    .filter(|e| e.revision > r)
                    .cloned()
                    .collect();
                Ok(WatchStart {
                    initial,
                    initial_objects: Vec::new(),
                    revision,
                    live,
                })
            }
        }
    }

    fn apply(&self, event: &WatchEvent) {
        let mut inner = self.write();
        let cache_event = match event {
            WatchEvent::Put(kv) => {
                let object = match CachedObject::from_stored(&kv.key, &kv.value, kv.mod_revision) {
                    Ok(o) => Arc::new(o),
                    Err(e) => {
                        tracing::error!(key = %kv.key, error = %e, "skipping undecodable stored object");
                        return;
                    }
                };
                let prev = inner.objects.insert(kv.key.clone(), object.clone());
                CacheEvent {
                    event_type: if prev.is_some() {
                        EventType::Modified
                    } else {
                        EventType::Added
                    },
                    revision: kv.mod_revision,
                    object,
                    prev,
                }
            }
            WatchEvent::Delete { key, revision } => {
                let Some(prev) = inner.objects.remove(key) else {
                    return;
                };
                let object = match prev.at_revision(*revision) {
                    Ok(o) => Arc::new(o),
                    Err(e) => {
                        tracing::error!(key = %key, error = %e, "cannot build delete event");
                        return;
                    }
                };
                CacheEvent {
                    event_type: EventType::Deleted,
                    revision: *revision,
                    object,
                    prev: Some(prev),
                }
            }
            WatchEvent::Progress { .. } => return,
        };
        let cache_event = Arc::new(cache_event);
        inner.history.push_back(cache_event.clone());
        while inner.history.len() > HISTORY_CAPACITY {
            if let Some(old) = inner.history.pop_front() {
                inner.history_start = old.revision;
            }
        }
        // No receivers is fine: nobody watches this resource right now.
        let _ = self.tx.send(cache_event);
    }

    /// After a relist: bring the cache to `items` (all keys under the prefix at `revision`),
    /// emitting the differences as events at `revision`.
    fn replace(&self, items: &[KeyValue], revision: Revision) {
        let current: HashMap<String, Revision> = self
            .read()
            .objects
            .iter()
            .map(|(k, v)| (k.clone(), v.revision))
            .collect();
        let mut seen = std::collections::HashSet::new();
        for kv in items {
            seen.insert(kv.key.as_str());
            if current.get(&kv.key) != Some(&kv.mod_revision) {
                self.apply(&WatchEvent::Put(kv.clone()));
            }
        }
        for key in current.keys() {
            if !seen.contains(key.as_str()) {
                self.apply(&WatchEvent::Delete {
                    key: key.clone(),
                    revision,
                });
            }
        }
        // Changes between the last event seen and `revision` were folded into the events
        // above: a watch from before `revision` can no longer be replayed exactly.
        let mut inner = self.write();
        inner.history_start = inner.history_start.max(revision);
    }
}

fn range<'a>(
    map: &'a BTreeMap<String, Arc<CachedObject>>,
    prefix: &'a str,
) -> impl Iterator<Item = (&'a String, &'a Arc<CachedObject>)> + 'a {
    map.range(prefix.to_string()..)
        .take_while(move |(k, _)| k.starts_with(prefix))
}

/// All resources' caches and the one storage watch that feeds them.
pub struct CacheSet {
    storage: Arc<dyn Storage>,
    root: String,
    caches: RwLock<Vec<Arc<WatchCache>>>,
    revision_tx: watch::Sender<Revision>,
    revision_rx: watch::Receiver<Revision>,
    ready_tx: watch::Sender<bool>,
    /// Caches added at run time (custom resources): the dispatcher fills each at the revision
    /// it has reached, between two events, so the new cache misses nothing.
    add_tx: mpsc::UnboundedSender<AddPrefix>,
    add_rx: std::sync::Mutex<Option<mpsc::UnboundedReceiver<AddPrefix>>>,
}

type AddPrefix = (String, oneshot::Sender<Result<(), String>>);

impl CacheSet {
    /// Creates the set for the given resource prefixes (each ends in `/`) under `root`
    /// (`/registry/`). Call [`CacheSet::run`] to fill and follow it.
    pub fn new(storage: Arc<dyn Storage>, root: &str, prefixes: &[String]) -> Arc<Self> {
        let (revision_tx, revision_rx) = watch::channel(0);
        let (ready_tx, _) = watch::channel(false);
        let mut caches: Vec<Arc<WatchCache>> = Vec::new();
        for p in prefixes {
            if !caches.iter().any(|c| &c.prefix == p) {
                caches.push(Arc::new(WatchCache::new(p.clone(), revision_rx.clone(), 0)));
            }
        }
        // Longest prefix first, so routing picks the most specific cache.
        caches.sort_by_key(|c| std::cmp::Reverse(c.prefix.len()));
        let (add_tx, add_rx) = mpsc::unbounded_channel();
        Arc::new(Self {
            storage,
            root: root.to_string(),
            caches: RwLock::new(caches),
            revision_tx,
            revision_rx,
            ready_tx,
            add_tx,
            add_rx: std::sync::Mutex::new(Some(add_rx)),
        })
    }

    /// Whether a cache for exactly this prefix exists.
    pub fn has_prefix(&self, prefix: &str) -> bool {
        self.caches
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|c| c.prefix == prefix)
    }

    /// Adds a cache for `prefix` (ending in `/`) while running, filled with what storage
    /// holds there; returns once it is in place. A no-op when it exists.
    pub async fn add_prefix(&self, prefix: &str) -> Result<(), String> {
        if self.has_prefix(prefix) {
            return Ok(());
        }
        let (tx, rx) = oneshot::channel();
        self.add_tx
            .send((prefix.to_string(), tx))
            .map_err(|_| "watch cache is not running".to_string())?;
        rx.await.map_err(|_| "watch cache stopped".to_string())?
    }

    /// Fills and inserts a new cache at the revision the dispatcher has applied everything
    /// up to (called by the dispatcher between events).
    async fn insert_prefix(&self, prefix: &str) -> Result<(), String> {
        if self.has_prefix(prefix) {
            return Ok(());
        }
        let revision = self.revision();
        let mut items: Vec<KeyValue> = Vec::new();
        let mut opts = ListOptions {
            revision: Some(revision),
            start_after: None,
            limit: Some(RELIST_PAGE),
        };
        loop {
            let page = self
                .storage
                .list(prefix, opts.clone())
                .await
                .map_err(|e| e.to_string())?;
            let last = page.items.last().map(|kv| kv.key.clone());
            items.extend(page.items);
            match (page.remaining, last) {
                (r, Some(last)) if r > 0 => opts.start_after = Some(last),
                _ => break,
            }
        }
        let cache = Arc::new(WatchCache::new(
            prefix.to_string(),
            self.revision_rx.clone(),
            revision,
        ));
        cache.replace(&items, revision);
        let mut caches = self.caches.write().unwrap_or_else(|e| e.into_inner());
        caches.push(cache);
        caches.sort_by_key(|c| std::cmp::Reverse(c.prefix.len()));
        Ok(())
    }

    pub fn cache_for(&self, prefix: &str) -> Option<Arc<WatchCache>> {
        self.caches
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|c| prefix.starts_with(&c.prefix))
            .cloned()
    }

    /// The revision everything in the caches reflects.
    pub fn revision(&self) -> Revision {
        *self.revision_rx.borrow()
    }

    pub fn subscribe_revision(&self) -> watch::Receiver<Revision> {
        self.revision_rx.clone()
    }

    pub fn is_ready(&self) -> bool {
        *self.ready_tx.borrow()
    }

    pub async fn wait_ready(&self) {
        let mut rx = self.ready_tx.subscribe();
        // The sender lives as long as self; an error can only mean shutdown.
        let _ = rx.wait_for(|r| *r).await;
    }

    /// Waits until the caches reflect at least `revision`, up to `timeout`.
    pub async fn wait_for_revision(
        &self,
        revision: Revision,
        timeout: Duration,
    ) -> Result<(), CacheError> {
        let mut rx = self.revision_rx.clone();
        match tokio::time::timeout(timeout, rx.wait_for(|r| *r >= revision)).await {
            Ok(Ok(_)) => Ok(()),
            _ => Err(CacheError::TooLarge {
                requested: revision,
                current: self.revision(),
            }),
        }
    }

    fn route(&self, key: &str) -> Option<Arc<WatchCache>> {
        self.cache_for(key)
    }

    fn publish(&self, revision: Revision) {
        self.revision_tx.send_if_modified(|r| {
            if revision > *r {
                *r = revision;
                true
            } else {
                false
            }
        });
    }

    /// Lists everything under the root (paged, at one revision) and brings every cache to it.
    async fn relist(&self) -> Result<Revision, StorageError> {
        let mut all: Vec<KeyValue> = Vec::new();
        let mut opts = ListOptions {
            revision: None,
            start_after: None,
            limit: Some(RELIST_PAGE),
        };
        let revision = loop {
            let page = self.storage.list(&self.root, opts.clone()).await?;
            let rev = page.revision;
            let last = page.items.last().map(|kv| kv.key.clone());
            all.extend(page.items);
            match (page.remaining, last) {
                (r, Some(last)) if r > 0 => {
                    opts.revision = Some(rev);
                    opts.start_after = Some(last);
                }
                _ => break rev,
            }
        };
        let caches = self
            .caches
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for cache in caches {
            let items: Vec<KeyValue> = all
                .iter()
                .filter(|kv| self.route(&kv.key).is_some_and(|c| Arc::ptr_eq(&c, &cache)))
                .cloned()
                .collect();
            cache.replace(&items, revision);
        }
        self.publish(revision);
        Ok(revision)
    }

    /// Fills the caches and follows the storage until the task is dropped. Storage errors
    /// (compaction, a lost connection) lead to a relist with back-off, never a stop.
    pub async fn run(self: Arc<Self>) {
        let mut add_rx = self.add_rx.lock().unwrap_or_else(|e| e.into_inner()).take();
        let mut backoff = Duration::from_millis(100);
        loop {
            let revision = match self.relist().await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, "watch cache relist failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            };
            self.ready_tx.send_replace(true);
            let mut stream = match self.storage.watch(&self.root, revision).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "watch cache watch failed; relisting");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            };
            backoff = Duration::from_millis(100);
            loop {
                let event = tokio::select! {
                    event = stream.next() => event,
                    Some((prefix, reply)) = async {
                        match add_rx.as_mut() {
                            Some(rx) => rx.recv().await,
                            None => std::future::pending().await,
                        }
                    } => {
                        let _ = reply.send(self.insert_prefix(&prefix).await);
                        continue;
                    }
                };
                let Some(event) = event else { break };
                match event {
                    Ok(event) => {
                        let rev = event.revision();
                        let key = match &event {
                            WatchEvent::Put(kv) => Some(kv.key.as_str()),
                            WatchEvent::Delete { key, .. } => Some(key.as_str()),
                            WatchEvent::Progress { .. } => None,
                        };
                        if let Some(cache) = key.and_then(|k| self.route(k)) {
                            cache.apply(&event);
                        }
                        self.publish(rev);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "storage watch ended; relisting");
                        break;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::storage::embedded::EmbeddedStorage;

    fn obj(name: &str, v: i64) -> Bytes {
        Bytes::from(
            serde_json::to_vec(&serde_json::json!({
                "kind": "ConfigMap", "apiVersion": "v1",
                "metadata": { "name": name, "namespace": "ns" },
                "data": { "v": v.to_string() },
            }))
            .unwrap(),
        )
    }

    async fn setup() -> (tempfile::TempDir, Arc<dyn Storage>, Arc<CacheSet>) {
        let dir = tempfile::tempdir().unwrap();
        let storage: Arc<dyn Storage> = Arc::new(EmbeddedStorage::open(dir.path()).unwrap());
        let caches = CacheSet::new(
            storage.clone(),
            "/registry/",
            &[
                "/registry/configmaps/".to_string(),
                "/registry/pods/".to_string(),
            ],
        );
        tokio::spawn(caches.clone().run());
        tokio::time::timeout(Duration::from_secs(5), caches.wait_ready())
            .await
            .unwrap();
        (dir, storage, caches)
    }

    async fn caught_up(storage: &Arc<dyn Storage>, caches: &CacheSet) {
        let rev = storage.current_revision().await.unwrap();
        caches
            .wait_for_revision(rev, Duration::from_secs(5))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn snapshots_now_and_at_an_earlier_revision() {
        let (_dir, storage, caches) = setup().await;
        let a = storage
            .create("/registry/configmaps/ns/a", obj("a", 1))
            .await
            .unwrap();
        let r1 = storage
            .create("/registry/configmaps/ns/b", obj("b", 1))
            .await
            .unwrap();
        storage
            .update("/registry/configmaps/ns/a", obj("a", 2), a)
            .await
            .unwrap();
        storage
            .delete("/registry/configmaps/ns/b", None)
            .await
            .unwrap();
        storage
            .create("/registry/pods/ns/p", obj("p", 1))
            .await
            .unwrap();
        caught_up(&storage, &caches).await;

        let cache = caches.cache_for("/registry/configmaps/ns/").unwrap();
        let (now, rev) = cache.snapshot("/registry/configmaps/ns/");
        assert_eq!(rev, storage.current_revision().await.unwrap());
        assert_eq!(now.len(), 1);
        assert_eq!(now[0].object["data"]["v"], "2");
        assert_eq!(
            now[0].object["metadata"]["resourceVersion"],
            (a + 2).to_string()
        );

        let then = cache.snapshot_at("/registry/configmaps/ns/", r1).unwrap();
        let names: Vec<_> = then
            .iter()
            .map(|o| o.object["metadata"]["name"].clone())
            .collect();
        assert_eq!(names, vec!["a", "b"]);
        assert_eq!(then[0].object["data"]["v"], "1");
        assert!(matches!(
            cache.snapshot_at("/registry/configmaps/ns/", rev + 100),
            Err(CacheError::TooLarge { .. })
        ));
    }

    #[tokio::test]
    async fn watch_replays_history_then_follows_live_changes() {
        let (_dir, storage, caches) = setup().await;
        let start = storage.current_revision().await.unwrap();
        let r = storage
            .create("/registry/configmaps/ns/a", obj("a", 1))
            .await
            .unwrap();
        storage
            .update("/registry/configmaps/ns/a", obj("a", 2), r)
            .await
            .unwrap();
        caught_up(&storage, &caches).await;
        let cache = caches.cache_for("/registry/configmaps/").unwrap();
        let mut w = cache.start_watch(Some(start)).unwrap();
        let types: Vec<_> = w.initial.iter().map(|e| e.event_type).collect();
        assert_eq!(types, vec![EventType::Added, EventType::Modified]);
        storage
            .delete("/registry/configmaps/ns/a", None)
            .await
            .unwrap();
        let ev = tokio::time::timeout(Duration::from_secs(5), w.live.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(ev.event_type, EventType::Deleted);
        // The deleted object carries the delete's revision and its last content.
        assert_eq!(ev.object.object["data"]["v"], "2");
        assert_eq!(
            ev.object.object["metadata"]["resourceVersion"],
            ev.revision.to_string()
        );

        let fresh = cache.start_watch(None).unwrap();
        assert!(fresh.initial_objects.is_empty());
    }

    #[tokio::test]
    async fn watch_from_before_the_history_is_too_old() {
        let dir = tempfile::tempdir().unwrap();
        {
            let storage = EmbeddedStorage::open(dir.path()).unwrap();
            storage
                .create("/registry/configmaps/ns/a", obj("a", 1))
                .await
                .unwrap();
        }
        // A reopened store (and a new cache) keeps no history before its start.
        let storage: Arc<dyn Storage> = Arc::new(EmbeddedStorage::open(dir.path()).unwrap());
        let caches = CacheSet::new(
            storage.clone(),
            "/registry/",
            &["/registry/configmaps/".to_string()],
        );
        tokio::spawn(caches.clone().run());
        tokio::time::timeout(Duration::from_secs(5), caches.wait_ready())
            .await
            .unwrap();
        let cache = caches.cache_for("/registry/configmaps/").unwrap();
        assert!(matches!(
            cache.start_watch(Some(0)),
            Err(CacheError::TooOld { .. })
        ));
        assert_eq!(cache.snapshot("/registry/configmaps/").0.len(), 1);
    }
}
