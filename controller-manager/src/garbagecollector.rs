//! The garbage collector, as upstream's: a graph of every object the API server serves
//! (found through discovery and re-read every `--garbage-collector-discovery-period`, each
//! resource watched as metadata only) linked by ownerReferences, and two work queues:
//!
//! - attempt-to-delete: an object whose owners are all gone is deleted (with background
//!   propagation, or as its own finalizers ask). "Gone" is decided on a live GET of the owner
//!   by name, a uid mismatch counting as gone, since watch caches lag. An object some of
//!   whose owners are gone while others remain loses the references to the gone ones. An
//!   object being deleted in the foreground (finalizer `foregroundDeletion`) has its
//!   dependents deleted; once none with `blockOwnerDeletion` is left the finalizer is
//!   removed and the API server finishes the delete.
//! - attempt-to-orphan: an object being deleted with the `orphan` finalizer has its
//!   reference removed from every dependent, then the finalizer removed.
//!
//! The API server adds those finalizers for `propagationPolicy=Foreground` / `Orphan`, so
//! `kubectl delete` with `--cascade=background|foreground|orphan` works end to end.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{
    ApiResource, DeleteParams, DynamicObject, PartialObjectMeta, PostParams, Preconditions,
    PropagationPolicy,
};
use kube::discovery::{Scope, verbs};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher;
use kube::{Api, Client};
use tokio_util::sync::CancellationToken;

use crate::framework::{Action, WorkQueue, run_workers};
use crate::{Context, Error};

pub const NAME: &str = "garbage-collector";
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";
pub const ORPHAN_FINALIZER: &str = "orphan";
/// How long a foreground delete waits before looking at its blocking dependents again when
/// no event brought it back (a safety net; dependents' deletions normally do).
const FOREGROUND_RECHECK: Duration = Duration::from_secs(5);
/// Owners confirmed absent are remembered (up to this many) to spare live GETs.
const ABSENT_CACHE_LIMIT: usize = 10_000;

/// A resource the API server serves, as discovery described it.
#[derive(Debug)]
struct Resource {
    ar: ApiResource,
    namespaced: bool,
}

impl Resource {
    fn api(&self, client: &Client, namespace: Option<&str>) -> Api<DynamicObject> {
        match (self.namespaced, namespace) {
            (true, Some(ns)) => Api::namespaced_with(client.clone(), ns, &self.ar),
            _ => Api::all_with(client.clone(), &self.ar),
        }
    }
}

/// One object of the graph.
#[derive(Clone, Debug)]
struct Node {
    resource: Arc<Resource>,
    namespace: Option<String>,
    name: String,
    owners: Vec<OwnerReference>,
    deleting: bool,
    finalizers: Vec<String>,
}

impl Node {
    fn has_finalizer(&self, f: &str) -> bool {
        self.finalizers.iter().any(|x| x == f)
    }
    fn deleting_dependents(&self) -> bool {
        self.deleting && self.has_finalizer(FOREGROUND_FINALIZER)
    }
}

#[derive(Default)]
struct Graph {
    nodes: HashMap<String, Node>,
    /// owner uid -> dependent uids (the owner need not be in `nodes`).
    dependents: HashMap<String, HashSet<String>>,
}

/// What the graph builder asks the workers to look at.
#[derive(Default, Debug, PartialEq)]
struct Work {
    delete: Vec<String>,
    orphan: Vec<String>,
}

impl Graph {
    /// Records `meta` (seen for `resource`); returns the uids to look at.
    fn apply(&mut self, resource: &Arc<Resource>, meta: &ObjectMeta) -> Work {
        let mut work = Work::default();
        let Some(uid) = meta.uid.clone() else {
            return work;
        };
        let node = Node {
            resource: resource.clone(),
            namespace: meta.namespace.clone(),
            name: meta.name.clone().unwrap_or_default(),
            owners: meta.owner_references.clone().unwrap_or_default(),
            deleting: meta.deletion_timestamp.is_some(),
            finalizers: meta.finalizers.clone().unwrap_or_default(),
        };
        let old = self.nodes.insert(uid.clone(), node.clone());
        let old_owners: HashSet<String> = old
            .iter()
            .flat_map(|o| o.owners.iter().map(|r| r.uid.clone()))
            .collect();
        let new_owners: HashSet<String> = node.owners.iter().map(|r| r.uid.clone()).collect();
        for gone in old_owners.difference(&new_owners) {
            self.unlink(gone, &uid, &mut work);
        }
        for added in new_owners.difference(&old_owners) {
            self.dependents
                .entry(added.clone())
                .or_default()
                .insert(uid.clone());
        }
        // An owner not (yet) seen, or one deleting its dependents: verify.
        let check = node.owners.iter().any(|r| match self.nodes.get(&r.uid) {
            None => true,
            Some(owner) => owner.deleting_dependents(),
        });
        if check {
            work.delete.push(uid.clone());
        }
        if node.deleting && node.has_finalizer(ORPHAN_FINALIZER) {
            work.orphan.push(uid.clone());
        }
        if node.deleting_dependents() {
            work.delete.push(uid.clone());
            let changed = old.as_ref().is_none_or(|o| !o.deleting_dependents());
            if changed && let Some(deps) = self.dependents.get(&uid) {
                work.delete.extend(deps.iter().cloned());
            }
        }
        work
    }

    /// `dependent` no longer refers to `owner`.
    fn unlink(&mut self, owner: &str, dependent: &str, work: &mut Work) {
        if let Some(set) = self.dependents.get_mut(owner) {
            set.remove(dependent);
            if set.is_empty() {
                self.dependents.remove(owner);
            }
        }
        // A foreground delete may have been waiting for this one.
        if let Some(o) = self.nodes.get(owner)
            && o.deleting_dependents()
        {
            work.delete.push(owner.to_string());
        }
    }

    /// The object with `uid` is gone.
    fn remove(&mut self, uid: &str) -> Work {
        let mut work = Work::default();
        let Some(node) = self.nodes.remove(uid) else {
            return work;
        };
        for r in &node.owners {
            self.unlink(&r.uid, uid, &mut work);
        }
        // Its dependents may now be garbage.
        if let Some(deps) = self.dependents.get(uid) {
            work.delete.extend(deps.iter().cloned());
        }
        work
    }

    /// Dependents whose reference to `owner` blocks its foreground deletion.
    fn blocking_dependents(&self, owner: &str) -> Vec<String> {
        self.dependents
            .get(owner)
            .into_iter()
            .flatten()
            .filter(|d| {
                self.nodes.get(*d).is_some_and(|n| {
                    n.owners
                        .iter()
                        .any(|r| r.uid == owner && r.block_owner_deletion == Some(true))
                })
            })
            .cloned()
            .collect()
    }
}

/// Shared state of the collector.
struct Collector {
    client: Client,
    graph: Mutex<Graph>,
    /// (group, kind) -> resource, from discovery.
    kinds: RwLock<HashMap<(String, String), Arc<Resource>>>,
    absent: Mutex<HashSet<String>>,
    attempt_to_delete: Arc<WorkQueue>,
    attempt_to_orphan: Arc<WorkQueue>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(group, _)| group)
}

impl Collector {
    fn enqueue(&self, work: Work) {
        for uid in work.delete {
            self.attempt_to_delete.add(uid);
        }
        for uid in work.orphan {
            self.attempt_to_orphan.add(uid);
        }
    }

    fn resource_for(&self, r: &OwnerReference) -> Option<Arc<Resource>> {
        let kinds = self.kinds.read().unwrap_or_else(|e| e.into_inner());
        kinds
            .get(&(group_of(&r.api_version).to_string(), r.kind.clone()))
            .cloned()
    }
}

pub fn start(ctx: Context) -> BoxFuture<'static, Result<(), Error>> {
    Box::pin(run(ctx))
}

/// Whether the collector watches `ar`: listable, watchable, deletable; events are skipped
/// (short-lived, never owners, the heaviest stream), as upstream's ignored resources.
fn collectable(ar: &ApiResource, caps: &kube::discovery::ApiCapabilities) -> bool {
    ar.plural != "events"
        && [verbs::LIST, verbs::WATCH, verbs::DELETE, verbs::GET]
            .iter()
            .all(|v| caps.supports_operation(v))
}

/// Runs the garbage collector until `ctx.shutdown`.
pub async fn run(ctx: Context) -> Result<(), Error> {
    let collector = Arc::new(Collector {
        client: ctx.client.clone(),
        graph: Mutex::new(Graph::default()),
        kinds: RwLock::new(HashMap::new()),
        absent: Mutex::new(HashSet::new()),
        attempt_to_delete: WorkQueue::new(
            "garbage_collector_attempt_to_delete",
            ctx.metrics.clone(),
            ctx.shutdown.clone(),
        ),
        attempt_to_orphan: WorkQueue::new(
            "garbage_collector_attempt_to_orphan",
            ctx.metrics.clone(),
            ctx.shutdown.clone(),
        ),
    });
    // First discovery: retried until it works, since nothing can be collected without it.
    let mut watched: HashSet<(String, String)> = HashSet::new();
    let mut synced = Vec::new();
    loop {
        match sync_discovery(&collector, &mut watched, &ctx.shutdown).await {
            Ok(s) => {
                synced.extend(s);
                break;
            }
            Err(e) => {
                tracing::warn!(error = %e, "garbage collector: discovery failed; retrying");
                tokio::select! {
                    _ = ctx.shutdown.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
    for mut rx in synced {
        tokio::select! {
            _ = ctx.shutdown.cancelled() => return Ok(()),
            _ = rx.wait_for(|s| *s) => {}
        }
    }
    tracing::info!(resources = watched.len(), "garbage collector: graph synced");
    {
        // Resources served later (new kinds) join the graph.
        let (collector, shutdown) = (collector.clone(), ctx.shutdown.clone());
        let period = ctx
            .options
            .garbage_collector_discovery_period
            .max(Duration::from_secs(1));
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(period) => {}
                }
                if let Err(e) = sync_discovery(&collector, &mut watched, &shutdown).await {
                    tracing::warn!(error = %e, "garbage collector: discovery failed");
                }
            }
        });
    }
    let workers = ctx.options.concurrent_gc_syncs;
    let deleting = {
        let c = collector.clone();
        run_workers(
            NAME,
            collector.attempt_to_delete.clone(),
            workers,
            None,
            ctx.metrics.clone(),
            ctx.shutdown.clone(),
            move |uid| {
                let c = c.clone();
                async move { attempt_to_delete(&c, &uid).await }
            },
        )
    };
    let orphaning = {
        let c = collector.clone();
        run_workers(
            NAME,
            collector.attempt_to_orphan.clone(),
            workers,
            None,
            ctx.metrics.clone(),
            ctx.shutdown.clone(),
            move |uid| {
                let c = c.clone();
                async move { attempt_to_orphan(&c, &uid).await }
            },
        )
    };
    futures::future::join(deleting, orphaning).await;
    Ok(())
}

/// Reads discovery and starts watching resources not watched yet; returns their sync flags.
async fn sync_discovery(
    collector: &Arc<Collector>,
    watched: &mut HashSet<(String, String)>,
    shutdown: &CancellationToken,
) -> Result<Vec<tokio::sync::watch::Receiver<bool>>, kube::Error> {
    let resources = crate::namespace::discover(&collector.client).await?;
    let mut synced = Vec::new();
    for (ar, caps) in resources {
        if !collectable(&ar, &caps) {
            continue;
        }
        let resource = Arc::new(Resource {
            namespaced: caps.scope == Scope::Namespaced,
            ar: ar.clone(),
        });
        {
            let mut kinds = collector.kinds.write().unwrap_or_else(|e| e.into_inner());
            kinds
                .entry((ar.group.clone(), ar.kind.clone()))
                .or_insert_with(|| resource.clone());
        }
        if watched.insert((ar.group.clone(), ar.plural.clone())) {
            tracing::debug!(group = %ar.group, resource = %ar.plural, "garbage collector: watching");
            synced.push(watch_resource(
                collector.clone(),
                resource,
                shutdown.clone(),
            ));
        }
    }
    Ok(synced)
}

/// Feeds the graph from a metadata-only watch of `resource`.
fn watch_resource(
    collector: Arc<Collector>,
    resource: Arc<Resource>,
    shutdown: CancellationToken,
) -> tokio::sync::watch::Receiver<bool> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let api = Api::<PartialObjectMeta<DynamicObject>>::all_with(
            collector.client.clone(),
            &resource.ar,
        );
        let stream = watcher::watcher(api, watcher::Config::default()).default_backoff();
        futures::pin_mut!(stream);
        // uids this watch has seen, so a relist can tell which vanished.
        let mut known: HashSet<String> = HashSet::new();
        let mut relisting: Option<HashSet<String>> = None;
        loop {
            let event = tokio::select! {
                _ = shutdown.cancelled() => break,
                e = stream.next() => e,
            };
            let work = match event {
                None => break,
                Some(Err(e)) => {
                    tracing::debug!(resource = %resource.ar.plural, error = %e, "garbage collector watch failed; retrying");
                    continue;
                }
                Some(Ok(watcher::Event::Init)) => {
                    relisting = Some(HashSet::new());
                    continue;
                }
                Some(Ok(watcher::Event::InitApply(obj) | watcher::Event::Apply(obj))) => {
                    let Some(uid) = obj.metadata.uid.clone() else {
                        continue;
                    };
                    if let Some(r) = relisting.as_mut() {
                        r.insert(uid.clone());
                    }
                    known.insert(uid);
                    lock(&collector.graph).apply(&resource, &obj.metadata)
                }
                Some(Ok(watcher::Event::InitDone)) => {
                    let listed = relisting.take().unwrap_or_default();
                    let gone: Vec<String> = known.difference(&listed).cloned().collect();
                    let mut work = Work::default();
                    {
                        let mut graph = lock(&collector.graph);
                        for uid in gone {
                            known.remove(&uid);
                            let w = graph.remove(&uid);
                            work.delete.extend(w.delete);
                            work.orphan.extend(w.orphan);
                        }
                    }
                    tx.send_replace(true);
                    work
                }
                Some(Ok(watcher::Event::Delete(obj))) => {
                    let Some(uid) = obj.metadata.uid.clone() else {
                        continue;
                    };
                    known.remove(&uid);
                    lock(&collector.graph).remove(&uid)
                }
            };
            collector.enqueue(work);
        }
    });
    rx
}

fn code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

#[derive(Debug, PartialEq)]
enum OwnerState {
    /// Exists and is not deleting its dependents.
    Solid,
    /// Gone (or replaced by an object with another uid).
    Dangling,
    /// Being deleted in the foreground: its dependents must go first.
    WaitingForDependentsDeletion,
}

async fn owner_state(
    c: &Collector,
    r: &OwnerReference,
    namespace: Option<&str>,
) -> Result<OwnerState, kube::Error> {
    let in_graph = lock(&c.graph)
        .nodes
        .get(&r.uid)
        .map(Node::deleting_dependents);
    match in_graph {
        Some(true) => return Ok(OwnerState::WaitingForDependentsDeletion),
        Some(false) => return Ok(OwnerState::Solid),
        None => {}
    }
    if lock(&c.absent).contains(&r.uid) {
        return Ok(OwnerState::Dangling);
    }
    let Some(resource) = c.resource_for(r) else {
        // A kind the API server does not serve (yet): cannot be verified, so the dependent
        // stays, as upstream (which retries forever).
        tracing::info!(owner_kind = %r.kind, owner_api_version = %r.api_version, "garbage collector: owner kind unknown to discovery; leaving its dependents");
        return Ok(OwnerState::Solid);
    };
    let ns = if resource.namespaced { namespace } else { None };
    if resource.namespaced && ns.is_none() {
        // A cluster-scoped object cannot be owned by a namespaced one: the reference
        // resolves to nothing.
        return Ok(OwnerState::Dangling);
    }
    let live = resource
        .api(&c.client, ns)
        .get_metadata_opt(&r.name)
        .await?;
    let state = match live {
        Some(m) if m.metadata.uid.as_deref() == Some(r.uid.as_str()) => {
            let deleting_dependents = m.metadata.deletion_timestamp.is_some()
                && m.metadata
                    .finalizers
                    .iter()
                    .flatten()
                    .any(|f| f == FOREGROUND_FINALIZER);
            if deleting_dependents {
                OwnerState::WaitingForDependentsDeletion
            } else {
                OwnerState::Solid
            }
        }
        _ => OwnerState::Dangling,
    };
    if state == OwnerState::Dangling {
        let mut absent = lock(&c.absent);
        if absent.len() >= ABSENT_CACHE_LIMIT {
            absent.clear();
        }
        absent.insert(r.uid.clone());
    }
    Ok(state)
}

/// Reads the object live, applies `change` to its metadata and writes it back (optimistic
/// concurrency: a conflict is returned as an error so the key is retried). Returns false when
/// the object is gone or `change` had nothing to do.
async fn update_metadata(
    c: &Collector,
    node: &Node,
    uid: &str,
    change: impl Fn(&mut ObjectMeta) -> bool,
) -> Result<bool, kube::Error> {
    let api = node.resource.api(&c.client, node.namespace.as_deref());
    let Some(mut obj) = api.get_opt(&node.name).await? else {
        return Ok(false);
    };
    if obj.metadata.uid.as_deref() != Some(uid) || !change(&mut obj.metadata) {
        return Ok(false);
    }
    match api.replace(&node.name, &PostParams::default(), &obj).await {
        Ok(_) => Ok(true),
        Err(e) if code(&e) == Some(404) => Ok(false),
        Err(e) => Err(e),
    }
}

fn remove_finalizer(meta: &mut ObjectMeta, finalizer: &str) -> bool {
    let Some(list) = meta.finalizers.as_mut() else {
        return false;
    };
    let before = list.len();
    list.retain(|f| f != finalizer);
    list.len() != before
}

fn remove_owner_refs(meta: &mut ObjectMeta, uids: &HashSet<String>) -> bool {
    let Some(list) = meta.owner_references.as_mut() else {
        return false;
    };
    let before = list.len();
    list.retain(|r| !uids.contains(&r.uid));
    let changed = list.len() != before;
    if list.is_empty() {
        meta.owner_references = None;
    }
    changed
}

async fn delete_object(
    c: &Collector,
    node: &Node,
    uid: &str,
    policy: PropagationPolicy,
) -> Result<(), kube::Error> {
    let api = node.resource.api(&c.client, node.namespace.as_deref());
    let dp = DeleteParams {
        propagation_policy: Some(policy.clone()),
        preconditions: Some(Preconditions {
            uid: Some(uid.to_string()),
            resource_version: None,
        }),
        ..Default::default()
    };
    tracing::info!(
        kind = %node.resource.ar.kind,
        namespace = ?node.namespace,
        name = %node.name,
        ?policy,
        "garbage collector: deleting object whose owners are gone"
    );
    match api.delete(&node.name, &dp).await {
        Ok(_) => Ok(()),
        // Gone already, or replaced by a new object of the same name (uid precondition).
        Err(e) if matches!(code(&e), Some(404 | 409)) => Ok(()),
        Err(e) => Err(e),
    }
}

async fn attempt_to_delete(c: &Collector, uid: &str) -> Result<Action, kube::Error> {
    let Some(node) = lock(&c.graph).nodes.get(uid).cloned() else {
        return Ok(Action::Done);
    };
    if node.deleting {
        if !node.has_finalizer(FOREGROUND_FINALIZER) {
            return Ok(Action::Done);
        }
        return process_deleting_dependents(c, &node, uid).await;
    }
    // Decide on the live object: the graph may be behind.
    let api = node.resource.api(&c.client, node.namespace.as_deref());
    let Some(latest) = api.get_metadata_opt(&node.name).await? else {
        return Ok(Action::Done);
    };
    if latest.metadata.uid.as_deref() != Some(uid) {
        return Ok(Action::Done);
    }
    let owners = latest.metadata.owner_references.clone().unwrap_or_default();
    if owners.is_empty() {
        return Ok(Action::Done);
    }
    let mut solid = 0;
    let mut dangling = HashSet::new();
    let mut waiting = HashSet::new();
    for r in &owners {
        match owner_state(c, r, node.namespace.as_deref()).await? {
            OwnerState::Solid => solid += 1,
            OwnerState::Dangling => {
                dangling.insert(r.uid.clone());
            }
            OwnerState::WaitingForDependentsDeletion => {
                waiting.insert(r.uid.clone());
            }
        }
    }
    if solid > 0 {
        if !dangling.is_empty() || !waiting.is_empty() {
            // Keep the object for its remaining owners; drop the references to the others.
            let drop: HashSet<String> = dangling.union(&waiting).cloned().collect();
            update_metadata(c, &node, uid, |m| remove_owner_refs(m, &drop)).await?;
        }
        return Ok(Action::Done);
    }
    let has_dependents = lock(&c.graph)
        .dependents
        .get(uid)
        .is_some_and(|d| !d.is_empty());
    let finalizers = latest.metadata.finalizers.unwrap_or_default();
    let policy = if !waiting.is_empty() && has_dependents {
        // An owner waits for this object, which has dependents of its own: delete it in the
        // foreground too, so the owner's wait covers the whole chain.
        PropagationPolicy::Foreground
    } else if finalizers.iter().any(|f| f == ORPHAN_FINALIZER) {
        PropagationPolicy::Orphan
    } else if finalizers.iter().any(|f| f == FOREGROUND_FINALIZER) {
        PropagationPolicy::Foreground
    } else {
        PropagationPolicy::Background
    };
    delete_object(c, &node, uid, policy).await?;
    Ok(Action::Done)
}

async fn process_deleting_dependents(
    c: &Collector,
    node: &Node,
    uid: &str,
) -> Result<Action, kube::Error> {
    let blocking = lock(&c.graph).blocking_dependents(uid);
    if blocking.is_empty() {
        update_metadata(c, node, uid, |m| {
            m.deletion_timestamp.is_some() && remove_finalizer(m, FOREGROUND_FINALIZER)
        })
        .await?;
        return Ok(Action::Done);
    }
    // Make sure every blocking dependent is on its way out.
    for dep in blocking {
        c.attempt_to_delete.add(dep);
    }
    Ok(Action::RequeueAfter(FOREGROUND_RECHECK))
}

async fn attempt_to_orphan(c: &Collector, uid: &str) -> Result<Action, kube::Error> {
    let (node, dependents) = {
        let graph = lock(&c.graph);
        let Some(node) = graph.nodes.get(uid).cloned() else {
            return Ok(Action::Done);
        };
        let deps: Vec<(Node, String)> = graph
            .dependents
            .get(uid)
            .into_iter()
            .flatten()
            .filter_map(|d| graph.nodes.get(d).map(|n| (n.clone(), d.clone())))
            .collect();
        (node, deps)
    };
    if !node.deleting || !node.has_finalizer(ORPHAN_FINALIZER) {
        return Ok(Action::Done);
    }
    let owner = HashSet::from([uid.to_string()]);
    for (dep, dep_uid) in &dependents {
        update_metadata(c, dep, dep_uid, |m| remove_owner_refs(m, &owner)).await?;
    }
    tracing::info!(
        kind = %node.resource.ar.kind,
        namespace = ?node.namespace,
        name = %node.name,
        dependents = dependents.len(),
        "garbage collector: orphaned dependents"
    );
    update_metadata(c, &node, uid, |m| {
        m.deletion_timestamp.is_some() && remove_finalizer(m, ORPHAN_FINALIZER)
    })
    .await?;
    Ok(Action::Done)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn resource() -> Arc<Resource> {
        Arc::new(Resource {
            ar: ApiResource {
                group: "apps".into(),
                version: "v1".into(),
                api_version: "apps/v1".into(),
                kind: "ReplicaSet".into(),
                plural: "replicasets".into(),
            },
            namespaced: true,
        })
    }

    fn meta(uid: &str, owners: &[(&str, bool)], deleting: bool, finalizers: &[&str]) -> ObjectMeta {
        ObjectMeta {
            name: Some(format!("obj-{uid}")),
            namespace: Some("ns".into()),
            uid: Some(uid.into()),
            owner_references: Some(
                owners
                    .iter()
                    .map(|(o, block)| OwnerReference {
                        api_version: "apps/v1".into(),
                        kind: "ReplicaSet".into(),
                        name: format!("obj-{o}"),
                        uid: (*o).into(),
                        block_owner_deletion: Some(*block),
                        ..Default::default()
                    })
                    .collect(),
            ),
            deletion_timestamp: deleting.then(|| Time(k8s_openapi::jiff::Timestamp::now())),
            finalizers: Some(finalizers.iter().map(|f| (*f).to_string()).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn graph_tracks_owners_and_queues_what_changed() {
        let r = resource();
        let mut g = Graph::default();
        // A dependent seen before its owner: verify it.
        let w = g.apply(&r, &meta("pod", &[("rs", true)], false, &[]));
        assert_eq!(w.delete, ["pod"]);
        // The owner appears: nothing to do.
        assert_eq!(g.apply(&r, &meta("rs", &[], false, &[])), Work::default());
        // A second look at the dependent with its owner known: nothing.
        assert_eq!(
            g.apply(&r, &meta("pod", &[("rs", true)], false, &[])),
            Work::default()
        );
        assert_eq!(g.blocking_dependents("rs"), ["pod"]);
        // The owner is deleted in the foreground: it and its dependents are looked at.
        let w = g.apply(&r, &meta("rs", &[], true, &[FOREGROUND_FINALIZER]));
        assert_eq!(w.delete, ["rs", "pod"]);
        // The dependent goes: the waiting owner is looked at again.
        let w = g.remove("pod");
        assert_eq!(w.delete, ["rs"]);
        assert!(g.blocking_dependents("rs").is_empty());
    }

    #[test]
    fn owner_removal_queues_dependents_and_orphan_finalizer_queues_orphaning() {
        let r = resource();
        let mut g = Graph::default();
        g.apply(&r, &meta("rs", &[], false, &[]));
        g.apply(&r, &meta("a", &[("rs", false)], false, &[]));
        g.apply(&r, &meta("b", &[("rs", false)], false, &[]));
        assert!(g.blocking_dependents("rs").is_empty());
        let w = g.apply(&r, &meta("rs", &[], true, &[ORPHAN_FINALIZER]));
        assert_eq!(w.orphan, ["rs"]);
        let mut w = g.remove("rs");
        w.delete.sort();
        assert_eq!(w.delete, ["a", "b"]);
        // Dropping the reference unlinks it.
        g.apply(&r, &meta("a", &[], false, &[]));
        assert_eq!(g.dependents.get("rs").map(|d| d.len()), Some(1));
    }

    #[test]
    fn metadata_edits() {
        let mut m = meta(
            "x",
            &[("a", true), ("b", false)],
            true,
            &["orphan", "other"],
        );
        assert!(remove_finalizer(&mut m, ORPHAN_FINALIZER));
        assert!(!remove_finalizer(&mut m, ORPHAN_FINALIZER));
        assert_eq!(m.finalizers.as_deref().unwrap(), ["other"]);
        assert!(remove_owner_refs(&mut m, &HashSet::from(["a".to_string()])));
        assert_eq!(m.owner_references.as_ref().unwrap().len(), 1);
        assert!(remove_owner_refs(&mut m, &HashSet::from(["b".to_string()])));
        assert!(m.owner_references.is_none());
        assert_eq!(group_of("apps/v1"), "apps");
        assert_eq!(group_of("v1"), "");
    }
}
