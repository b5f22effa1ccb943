//! Shared informers: one cluster-wide list+watch per resource kind, feeding an in-memory store
//! that every controller reads, and event handlers that map changes to work-queue keys, as
//! client-go's SharedInformerFactory does. Controllers never list from the API server in their
//! sync loops; they read these stores.
//!
//! The store keeps two indexes every controller of this crate needs: objects by namespace and
//! objects by the uid of their controller owner (client-go's controllerUID index), so that a
//! ReplicaSet finds its pods without scanning every pod in the cluster.

use std::any::{Any, TypeId};
use std::collections::{HashMap, HashSet};
use std::fmt::Debug;
use std::sync::{Arc, Mutex, RwLock};

use futures::StreamExt;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher;
use kube::{Api, Resource};
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

/// A change the informer saw. `Updated` carries the previous object so handlers can react to
/// what changed (a pod whose labels changed may leave one ReplicaSet and join another).
pub enum Notification<'a, K> {
    Added(&'a Arc<K>),
    Updated { old: &'a Arc<K>, new: &'a Arc<K> },
    Deleted(&'a Arc<K>),
}

type Handler<K> = Box<dyn Fn(Notification<'_, K>) + Send + Sync>;

/// client-go's MetaNamespaceKeyFunc: `namespace/name`, or `name` for cluster-scoped objects.
pub fn key_of<K: Resource>(obj: &K) -> String {
    let meta = obj.meta();
    let name = meta.name.as_deref().unwrap_or_default();
    match meta.namespace.as_deref() {
        Some(ns) if !ns.is_empty() => format!("{ns}/{name}"),
        _ => name.to_string(),
    }
}

/// Splits a key made by [`key_of`] into namespace (empty when cluster-scoped) and name.
pub fn split_key(key: &str) -> (&str, &str) {
    match key.split_once('/') {
        Some((ns, name)) => (ns, name),
        None => ("", key),
    }
}

/// The uid of the owner reference with `controller: true`, if any.
pub fn controller_uid<K: Resource>(obj: &K) -> Option<&str> {
    obj.meta()
        .owner_references
        .as_ref()?
        .iter()
        .find(|r| r.controller == Some(true))
        .map(|r| r.uid.as_str())
}

struct Store<K> {
    objects: HashMap<String, Arc<K>>,
    by_namespace: HashMap<String, HashSet<String>>,
    by_controller: HashMap<String, HashSet<String>>,
    /// Objects without a controller owner, by namespace.
    orphans: HashMap<String, HashSet<String>>,
}

impl<K: Resource> Store<K> {
    fn new() -> Self {
        Store {
            objects: HashMap::new(),
            by_namespace: HashMap::new(),
            by_controller: HashMap::new(),
            orphans: HashMap::new(),
        }
    }

    fn index(&mut self, key: &str, obj: &K) {
        let ns = obj.meta().namespace.clone().unwrap_or_default();
        self.by_namespace
            .entry(ns.clone())
            .or_default()
            .insert(key.to_string());
        match controller_uid(obj) {
            Some(uid) => {
                self.by_controller
                    .entry(uid.to_string())
                    .or_default()
                    .insert(key.to_string());
            }
            None => {
                self.orphans.entry(ns).or_default().insert(key.to_string());
            }
        }
    }

    fn unindex(&mut self, key: &str, obj: &K) {
        let ns = obj.meta().namespace.clone().unwrap_or_default();
        if let Some(set) = self.by_namespace.get_mut(&ns) {
            set.remove(key);
            if set.is_empty() {
                self.by_namespace.remove(&ns);
            }
        }
        match controller_uid(obj) {
            Some(uid) => {
                if let Some(set) = self.by_controller.get_mut(uid) {
                    set.remove(key);
                    if set.is_empty() {
                        self.by_controller.remove(uid);
                    }
                }
            }
            None => {
                if let Some(set) = self.orphans.get_mut(&ns) {
                    set.remove(key);
                    if set.is_empty() {
                        self.orphans.remove(&ns);
                    }
                }
            }
        }
    }

    /// Stores `obj`, returning the object it replaced.
    fn put(&mut self, obj: Arc<K>) -> Option<Arc<K>> {
        let key = key_of(obj.as_ref());
        let old = self.objects.insert(key.clone(), obj.clone());
        if let Some(old) = &old {
            self.unindex(&key, old);
        }
        self.index(&key, &obj);
        old
    }

    fn remove(&mut self, key: &str) -> Option<Arc<K>> {
        let old = self.objects.remove(key)?;
        self.unindex(key, &old);
        Some(old)
    }

    fn collect(&self, keys: Option<&HashSet<String>>) -> Vec<Arc<K>> {
        keys.map(|keys| {
            keys.iter()
                .filter_map(|k| self.objects.get(k).cloned())
                .collect()
        })
        .unwrap_or_default()
    }
}

/// One resource kind's store and handlers, fed by one watch.
pub struct Informer<K> {
    store: RwLock<Store<K>>,
    /// Held while an event is applied and dispatched, so a handler added meanwhile sees every
    /// object exactly once (replayed or notified).
    handlers: Mutex<Vec<Handler<K>>>,
    synced: tokio::sync::watch::Sender<bool>,
}

impl<K> Informer<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default,
{
    fn new() -> Self {
        Informer {
            store: RwLock::new(Store::new()),
            handlers: Mutex::new(Vec::new()),
            synced: tokio::sync::watch::Sender::new(false),
        }
    }

    /// Starts the list+watch of `api`; it runs until `shutdown`, re-listing (with backoff)
    /// whenever the watch cannot resume.
    pub fn start(api: Api<K>, shutdown: CancellationToken) -> Arc<Self> {
        let informer = Arc::new(Self::new());
        let feeding = informer.clone();
        let kind = K::kind(&K::DynamicType::default()).to_string();
        tokio::spawn(async move {
            let stream = watcher(api, watcher::Config::default()).default_backoff();
            futures::pin_mut!(stream);
            let mut relisting: Option<HashMap<String, Arc<K>>> = None;
            loop {
                let event = tokio::select! {
                    _ = shutdown.cancelled() => break,
                    event = stream.next() => event,
                };
                match event {
                    None => break,
                    Some(Err(e)) => {
                        tracing::warn!(kind = %kind, error = %e, "watch failed; retrying")
                    }
                    Some(Ok(event)) => feeding.apply(event, &mut relisting),
                }
            }
        });
        informer
    }

    fn apply(&self, event: watcher::Event<K>, relisting: &mut Option<HashMap<String, Arc<K>>>) {
        match event {
            watcher::Event::Init => *relisting = Some(HashMap::new()),
            watcher::Event::InitApply(obj) => {
                let obj = Arc::new(obj);
                match relisting {
                    Some(buf) => {
                        buf.insert(key_of(obj.as_ref()), obj);
                    }
                    None => self.upsert(obj),
                }
            }
            watcher::Event::InitDone => {
                if let Some(listed) = relisting.take() {
                    self.replace(listed);
                }
                self.synced.send_replace(true);
            }
            watcher::Event::Apply(obj) => self.upsert(Arc::new(obj)),
            watcher::Event::Delete(obj) => {
                let handlers = lock(&self.handlers);
                let key = key_of(&obj);
                let removed = write(&self.store).remove(&key);
                let gone = removed.unwrap_or_else(|| Arc::new(obj));
                for h in handlers.iter() {
                    h(Notification::Deleted(&gone));
                }
            }
        }
    }

    fn upsert(&self, obj: Arc<K>) {
        let handlers = lock(&self.handlers);
        let old = write(&self.store).put(obj.clone());
        for h in handlers.iter() {
            match &old {
                Some(old) => h(Notification::Updated { old, new: &obj }),
                None => h(Notification::Added(&obj)),
            }
        }
    }

    /// A relist finished: what was not listed is gone, what was listed is added or updated.
    fn replace(&self, listed: HashMap<String, Arc<K>>) {
        let handlers = lock(&self.handlers);
        let gone: Vec<String> = read(&self.store)
            .objects
            .keys()
            .filter(|k| !listed.contains_key(*k))
            .cloned()
            .collect();
        for key in gone {
            let removed = write(&self.store).remove(&key);
            if let Some(old) = removed {
                for h in handlers.iter() {
                    h(Notification::Deleted(&old));
                }
            }
        }
        for (_, obj) in listed {
            let old = write(&self.store).put(obj.clone());
            let unchanged = old.as_ref().is_some_and(|old| {
                old.meta().resource_version.is_some()
                    && old.meta().resource_version == obj.meta().resource_version
            });
            if unchanged {
                continue;
            }
            for h in handlers.iter() {
                match &old {
                    Some(old) => h(Notification::Updated { old, new: &obj }),
                    None => h(Notification::Added(&obj)),
                }
            }
        }
    }

    /// Registers `handler`; it is first called with `Added` for every object already stored.
    pub fn add_handler(&self, handler: impl Fn(Notification<'_, K>) + Send + Sync + 'static) {
        let mut handlers = lock(&self.handlers);
        for obj in read(&self.store).objects.values() {
            handler(Notification::Added(obj));
        }
        handlers.push(Box::new(handler));
    }

    /// Waits until the first list is complete; false when shut down first.
    pub async fn wait_synced(&self, shutdown: &CancellationToken) -> bool {
        let mut rx = self.synced.subscribe();
        tokio::select! {
            r = rx.wait_for(|s| *s) => r.is_ok(),
            _ = shutdown.cancelled() => false,
        }
    }

    pub fn has_synced(&self) -> bool {
        *self.synced.borrow()
    }

    /// The object stored under `key` (see [`key_of`]).
    pub fn get(&self, key: &str) -> Option<Arc<K>> {
        read(&self.store).objects.get(key).cloned()
    }

    pub fn get_namespaced(&self, namespace: &str, name: &str) -> Option<Arc<K>> {
        self.get(&format!("{namespace}/{name}"))
    }

    pub fn list(&self) -> Vec<Arc<K>> {
        read(&self.store).objects.values().cloned().collect()
    }

    pub fn list_namespace(&self, namespace: &str) -> Vec<Arc<K>> {
        let store = read(&self.store);
        store.collect(store.by_namespace.get(namespace))
    }

    /// Objects whose controller owner reference has `uid`.
    pub fn list_controlled_by(&self, uid: &str) -> Vec<Arc<K>> {
        let store = read(&self.store);
        store.collect(store.by_controller.get(uid))
    }

    /// Objects in `namespace` without a controller owner reference.
    pub fn list_orphans(&self, namespace: &str) -> Vec<Arc<K>> {
        let store = read(&self.store);
        store.collect(store.orphans.get(namespace))
    }

    pub fn len(&self) -> usize {
        read(&self.store).objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

// A poisoned lock only means a handler panicked mid-dispatch; the data is still a consistent
// map, so keep going rather than propagate the panic.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
fn read<T>(m: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|e| e.into_inner())
}
fn write<T>(m: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(|e| e.into_inner())
}

/// One informer per kind for the whole controller-manager, started on first use, so the
/// replicaset, endpoints and garbage-collector controllers share one pod watch.
pub struct Informers {
    client: kube::Client,
    shutdown: CancellationToken,
    started: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl Informers {
    pub fn new(client: kube::Client, shutdown: CancellationToken) -> Self {
        Informers {
            client,
            shutdown,
            started: Mutex::new(HashMap::new()),
        }
    }

    /// The cluster-wide informer for `K`.
    pub fn get<K>(&self) -> Arc<Informer<K>>
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    {
        let mut started = lock(&self.started);
        if let Some(existing) = started.get(&TypeId::of::<K>())
            && let Ok(informer) = existing.clone().downcast::<Informer<K>>()
        {
            return informer;
        }
        let informer = Informer::<K>::start(Api::all(self.client.clone()), self.shutdown.clone());
        started.insert(TypeId::of::<K>(), informer.clone());
        informer
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use k8s_openapi::api::core::v1::Pod;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn pod(ns: &str, name: &str, rv: &str, owner: Option<&str>) -> Pod {
        Pod {
            metadata: ObjectMeta {
                namespace: Some(ns.into()),
                name: Some(name.into()),
                resource_version: Some(rv.into()),
                owner_references: owner.map(|uid| {
                    vec![OwnerReference {
                        uid: uid.into(),
                        controller: Some(true),
                        ..Default::default()
                    }]
                }),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn indexes_follow_updates_and_relists() {
        let inf = Informer::<Pod>::new();
        let adds = Arc::new(AtomicUsize::new(0));
        let dels = Arc::new(AtomicUsize::new(0));
        let (a, d) = (adds.clone(), dels.clone());
        inf.add_handler(move |n| match n {
            Notification::Added(_) => {
                a.fetch_add(1, Ordering::SeqCst);
            }
            Notification::Deleted(_) => {
                d.fetch_add(1, Ordering::SeqCst);
            }
            Notification::Updated { .. } => {}
        });
        let mut relist = None;
        inf.apply(watcher::Event::Init, &mut relist);
        inf.apply(
            watcher::Event::InitApply(pod("a", "p1", "1", Some("u1"))),
            &mut relist,
        );
        inf.apply(
            watcher::Event::InitApply(pod("a", "p2", "1", None)),
            &mut relist,
        );
        inf.apply(watcher::Event::InitDone, &mut relist);
        assert!(inf.has_synced());
        assert_eq!(adds.load(Ordering::SeqCst), 2);
        assert_eq!(inf.list_controlled_by("u1").len(), 1);
        assert_eq!(inf.list_orphans("a").len(), 1);

        // p2 gets adopted by u1.
        inf.apply(
            watcher::Event::Apply(pod("a", "p2", "2", Some("u1"))),
            &mut relist,
        );
        assert_eq!(inf.list_controlled_by("u1").len(), 2);
        assert!(inf.list_orphans("a").is_empty());

        // A relist without p1 deletes it.
        inf.apply(watcher::Event::Init, &mut relist);
        inf.apply(
            watcher::Event::InitApply(pod("a", "p2", "2", Some("u1"))),
            &mut relist,
        );
        inf.apply(watcher::Event::InitDone, &mut relist);
        assert_eq!(dels.load(Ordering::SeqCst), 1);
        assert_eq!(inf.list_controlled_by("u1").len(), 1);
        assert_eq!(inf.list_namespace("a").len(), 1);
        assert!(inf.get("a/p1").is_none());
        assert!(inf.get("a/p2").is_some());
    }

    #[test]
    fn keys_split_back() {
        assert_eq!(split_key("ns/name"), ("ns", "name"));
        assert_eq!(split_key("node1"), ("", "node1"));
    }
}
