//! The ReplicaSet controller, and the generic replica manager behind it and the
//! ReplicationController controller (upstream runs one controller for both, the RC through
//! an adapter): keep `spec.replicas` active pods matching the selector, created from the
//! template with the owner as controller, and report what exists in status.
//!
//! Each sync works on the informers' caches. Expectations keep a sync from acting on a count
//! its own watch has not caught up with; creations go out in slow-start batches (1, 2, 4, ...)
//! so a failing create stops early, then up to `--concurrent-pod-writes` at a time.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use futures::future::BoxFuture;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::framework::controllerref::{self, Claim};
use crate::framework::expectations::Expectations;
use crate::framework::selector::InvalidSelector;
use crate::framework::{
    Action, Informer, Notification, Selector, WorkQueue, controller_uid, key_of, pods, run_workers,
};
use crate::{Context, Error};

/// Upstream's burstReplicas: the most pods one sync creates or deletes.
pub const BURST_REPLICAS: usize = 500;

/// A condition of a ReplicaSet or ReplicationController (same shape for both).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaCondition {
    pub type_: String,
    pub status: String,
    pub reason: Option<String>,
    pub message: Option<String>,
    pub last_transition_time: Option<String>,
}

/// The status fields both kinds share.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicaStatus {
    pub replicas: i32,
    pub fully_labeled_replicas: i32,
    pub ready_replicas: i32,
    pub available_replicas: i32,
    pub observed_generation: i64,
    pub conditions: Vec<ReplicaCondition>,
}

impl ReplicaStatus {
    /// A merge patch of the status subresource. Zero counts are removed, as upstream's
    /// omitempty fields are absent when zero.
    fn to_patch(&self, resource_version: Option<&str>) -> Value {
        let opt = |v: i32| if v == 0 { Value::Null } else { json!(v) };
        let conditions = if self.conditions.is_empty() {
            Value::Null
        } else {
            Value::Array(
                self.conditions
                    .iter()
                    .map(|c| {
                        json!({
                            "type": c.type_, "status": c.status, "reason": c.reason,
                            "message": c.message, "lastTransitionTime": c.last_transition_time,
                        })
                    })
                    .collect(),
            )
        };
        let mut patch = json!({
            "status": {
                "replicas": self.replicas,
                "fullyLabeledReplicas": opt(self.fully_labeled_replicas),
                "readyReplicas": opt(self.ready_replicas),
                "availableReplicas": opt(self.available_replicas),
                "observedGeneration": if self.observed_generation == 0 { Value::Null } else { json!(self.observed_generation) },
                "conditions": conditions,
            }
        });
        if let Some(rv) = resource_version {
            patch["metadata"] = json!({"resourceVersion": rv});
        }
        patch
    }
}

/// What the replica manager needs from a ReplicaSet or a ReplicationController.
pub trait ReplicaOwner:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + DeserializeOwned
    + Serialize
    + Debug
    + Send
    + Sync
    + 'static
{
    /// The controller's name (metrics, logs, `--controllers`).
    const CONTROLLER: &'static str;
    fn selector(&self) -> Result<Selector, InvalidSelector>;
    fn replicas(&self) -> i32;
    fn min_ready_seconds(&self) -> i32;
    fn template(&self) -> Option<&PodTemplateSpec>;
    fn replica_status(&self) -> ReplicaStatus;
    fn concurrency(ctx: &Context) -> usize;
}

impl ReplicaOwner for ReplicaSet {
    const CONTROLLER: &'static str = "replicaset";
    fn selector(&self) -> Result<Selector, InvalidSelector> {
        match &self.spec {
            Some(spec) => Selector::from_label_selector(Some(&spec.selector)),
            None => Ok(Selector::Nothing),
        }
    }
    fn replicas(&self) -> i32 {
        self.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
    }
    fn min_ready_seconds(&self) -> i32 {
        self.spec
            .as_ref()
            .and_then(|s| s.min_ready_seconds)
            .unwrap_or(0)
    }
    fn template(&self) -> Option<&PodTemplateSpec> {
        self.spec.as_ref()?.template.as_ref()
    }
    fn replica_status(&self) -> ReplicaStatus {
        let Some(s) = &self.status else {
            return ReplicaStatus::default();
        };
        ReplicaStatus {
            replicas: s.replicas,
            fully_labeled_replicas: s.fully_labeled_replicas.unwrap_or(0),
            ready_replicas: s.ready_replicas.unwrap_or(0),
            available_replicas: s.available_replicas.unwrap_or(0),
            observed_generation: s.observed_generation.unwrap_or(0),
            conditions: s
                .conditions
                .iter()
                .flatten()
                .map(|c| ReplicaCondition {
                    type_: c.type_.clone(),
                    status: c.status.clone(),
                    reason: c.reason.clone(),
                    message: c.message.clone(),
                    last_transition_time: c
                        .last_transition_time
                        .as_ref()
                        .map(|t| format_time(&t.0)),
                })
                .collect(),
        }
    }
    fn concurrency(ctx: &Context) -> usize {
        ctx.options.concurrent_replicaset_syncs
    }
}

/// Starts the ReplicaSet controller.
pub fn start(ctx: Context) -> BoxFuture<'static, Result<(), Error>> {
    Box::pin(run::<ReplicaSet>(ctx))
}

/// Runs the replica manager for `O` until `ctx.shutdown`.
pub async fn run<O: ReplicaOwner>(ctx: Context) -> Result<(), Error> {
    let manager = Arc::new(ReplicaManager::<O>::new(&ctx));
    manager.clone().register_handlers();
    if !manager.owners.wait_synced(&ctx.shutdown).await
        || !manager.pods.wait_synced(&ctx.shutdown).await
    {
        return Ok(());
    }
    tracing::info!(
        controller = O::CONTROLLER,
        "caches synced; starting workers"
    );
    let m = manager.clone();
    run_workers(
        O::CONTROLLER,
        manager.queue.clone(),
        O::concurrency(&ctx),
        None,
        ctx.metrics.clone(),
        ctx.shutdown.clone(),
        move |key| {
            let m = m.clone();
            async move { m.sync(&key).await }
        },
    )
    .await;
    Ok(())
}

/// Why one sync failed (the key is retried with back-off).
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{0}")]
    Api(#[from] kube::Error),
    #[error("{kind} {key} was recreated or is being deleted; not adopting pods")]
    CannotAdopt { kind: String, key: String },
}

pub struct ReplicaManager<O: ReplicaOwner> {
    client: kube::Client,
    owners: Arc<Informer<O>>,
    pods: Arc<Informer<Pod>>,
    queue: Arc<WorkQueue>,
    expectations: Expectations,
    pod_writes: usize,
}

impl<O: ReplicaOwner> ReplicaManager<O> {
    fn new(ctx: &Context) -> Self {
        ReplicaManager {
            client: ctx.client.clone(),
            owners: ctx.informers.get::<O>(),
            pods: ctx.informers.get::<Pod>(),
            queue: WorkQueue::new(O::CONTROLLER, ctx.metrics.clone(), ctx.shutdown.clone()),
            expectations: Expectations::default(),
            pod_writes: ctx.options.concurrent_pod_writes.max(1),
        }
    }

    fn kind() -> String {
        O::kind(&()).to_string()
    }

    fn register_handlers(self: Arc<Self>) {
        let me = self.clone();
        self.owners.add_handler(move |n| match n {
            Notification::Added(o) | Notification::Updated { new: o, .. } => {
                me.queue.add(key_of(o.as_ref()))
            }
            Notification::Deleted(o) => {
                let key = key_of(o.as_ref());
                me.expectations.delete(&key);
                me.queue.add(key);
            }
        });
        let me = self.clone();
        self.pods.add_handler(move |n| match n {
            Notification::Added(p) => me.pod_added(p),
            Notification::Updated { old, new } => me.pod_updated(old, new),
            Notification::Deleted(p) => me.pod_deleted(p),
        });
    }

    /// The owner `pod`'s controller reference points at, if it is one of ours and exists with
    /// that uid.
    fn resolve_owner(&self, pod: &Pod) -> Option<Arc<O>> {
        let r = pod
            .metadata
            .owner_references
            .iter()
            .flatten()
            .find(|r| r.controller == Some(true))?;
        if r.kind != Self::kind() {
            return None;
        }
        let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
        let owner = self.owners.get_namespaced(ns, &r.name)?;
        (owner.meta().uid.as_deref() == Some(r.uid.as_str())).then_some(owner)
    }

    /// Owners in the pod's namespace whose selector matches it (candidates to adopt it).
    fn matching_owners(&self, pod: &Pod) -> Vec<Arc<O>> {
        let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
        self.owners
            .list_namespace(ns)
            .into_iter()
            .filter(|o| {
                o.selector()
                    .is_ok_and(|s| s.matches(pod.metadata.labels.as_ref()))
            })
            .collect()
    }

    fn pod_added(&self, pod: &Arc<Pod>) {
        if pod.metadata.deletion_timestamp.is_some() {
            // Restarted controller-manager, or a pod whose deletion began before we saw it.
            self.pod_deleted(pod);
            return;
        }
        if controller_uid(pod.as_ref()).is_some() {
            if let Some(owner) = self.resolve_owner(pod) {
                let key = key_of(owner.as_ref());
                self.expectations.creation_observed(&key);
                self.queue.add(key);
            }
            return;
        }
        for owner in self.matching_owners(pod) {
            self.queue.add(key_of(owner.as_ref()));
        }
    }

    fn pod_updated(&self, old: &Arc<Pod>, new: &Arc<Pod>) {
        if old.metadata.resource_version == new.metadata.resource_version {
            return;
        }
        let labels_changed = old.metadata.labels != new.metadata.labels;
        if new.metadata.deletion_timestamp.is_some() {
            // A graceful deletion: count it as soon as it starts, so a replacement is created
            // without waiting for the kubelet to finish.
            self.pod_deleted(new);
            if labels_changed {
                self.pod_deleted(old);
            }
            return;
        }
        let old_ref = controller_uid(old.as_ref()).map(str::to_string);
        let new_ref = controller_uid(new.as_ref()).map(str::to_string);
        if old_ref != new_ref
            && old_ref.is_some()
            && let Some(owner) = self.resolve_owner(old)
        {
            self.queue.add(key_of(owner.as_ref()));
        }
        if new_ref.is_some() {
            if let Some(owner) = self.resolve_owner(new) {
                let key = key_of(owner.as_ref());
                // A pod that just became ready becomes available after minReadySeconds; sync
                // then to report it.
                let mrs = owner.min_ready_seconds();
                if mrs > 0 && !pods::is_ready(old) && pods::is_ready(new) {
                    self.queue.add_after(
                        key.clone(),
                        Duration::from_secs(u64::try_from(mrs).unwrap_or(0)),
                    );
                }
                self.queue.add(key);
            }
            return;
        }
        if labels_changed || old_ref != new_ref {
            for owner in self.matching_owners(new) {
                self.queue.add(key_of(owner.as_ref()));
            }
        }
    }

    fn pod_deleted(&self, pod: &Arc<Pod>) {
        if let Some(owner) = self.resolve_owner(pod) {
            let key = key_of(owner.as_ref());
            self.expectations
                .deletion_observed(&key, &key_of(pod.as_ref()));
            self.queue.add(key);
        }
    }

    async fn sync(&self, key: &str) -> Result<Action, SyncError> {
        let Some(owner) = self.owners.get(key) else {
            self.expectations.delete(key);
            return Ok(Action::Done);
        };
        let needs_sync = self.expectations.satisfied(key);
        let selector = match owner.selector() {
            Ok(s) => s,
            Err(e) => {
                // Invalid selectors cannot be fixed by retrying; the next update resyncs.
                tracing::warn!(controller = O::CONTROLLER, key, error = %e, "not syncing");
                return Ok(Action::Done);
            }
        };
        let pods = self.claim_pods(&owner, &selector).await?;

        let manage_result = if needs_sync && owner.meta().deletion_timestamp.is_none() {
            self.manage_replicas(key, &owner, &pods).await
        } else {
            Ok(())
        };

        let now = Utc::now();
        let status = calculate_status(owner.as_ref(), &pods, manage_result.as_ref().err(), now);
        let current = owner.replica_status();
        if status != current {
            let api: Api<O> = Api::namespaced(
                self.client.clone(),
                owner.meta().namespace.as_deref().unwrap_or_default(),
            );
            // No resourceVersion precondition: the status only reports what this controller
            // observed, and a conflict would only delay it.
            api.patch_status(
                &owner.name_any(),
                &PatchParams::default(),
                &Patch::Merge(status.to_patch(None)),
            )
            .await?;
        }
        manage_result?;

        // Report pods that become available once minReadySeconds pass.
        let mrs = owner.min_ready_seconds();
        let next = pods
            .iter()
            .filter_map(|p| pods::time_until_available(p, mrs, now))
            .min();
        Ok(match next {
            Some(after) => Action::RequeueAfter(after + Duration::from_millis(100)),
            None => Action::Done,
        })
    }

    /// The active pods this owner controls after adopting matching orphans and releasing
    /// pods that stopped matching.
    async fn claim_pods(&self, owner: &O, selector: &Selector) -> Result<Vec<Arc<Pod>>, SyncError> {
        let uid = owner.meta().uid.clone().unwrap_or_default();
        let ns = owner.meta().namespace.clone().unwrap_or_default();
        let deleting = owner.meta().deletion_timestamp.is_some();
        let mut owned = Vec::new();
        let mut adopt = Vec::new();
        let mut release = Vec::new();
        let candidates = self
            .pods
            .list_controlled_by(&uid)
            .into_iter()
            .chain(self.pods.list_orphans(&ns));
        for pod in candidates {
            if !pods::is_active(&pod) {
                continue;
            }
            match controllerref::classify(
                &pod.metadata,
                &uid,
                deleting,
                selector.matches(pod.metadata.labels.as_ref()),
            ) {
                Claim::Owned => owned.push(pod),
                Claim::Adopt => adopt.push(pod),
                Claim::Release => release.push(pod),
                Claim::Ignore => {}
            }
        }
        if adopt.is_empty() && release.is_empty() {
            return Ok(owned);
        }
        let pods_api: Api<Pod> = Api::namespaced(self.client.clone(), &ns);
        if !adopt.is_empty() {
            // Upstream rechecks with a live read that the owner still exists and is not being
            // deleted before it adopts anything.
            let owners_api: Api<O> = Api::namespaced(self.client.clone(), &ns);
            let fresh = owners_api.get_opt(&owner.name_any()).await?;
            let adoptable = fresh.is_some_and(|f| {
                f.meta().uid.as_deref() == Some(uid.as_str())
                    && f.meta().deletion_timestamp.is_none()
            });
            if !adoptable {
                return Err(SyncError::CannotAdopt {
                    kind: Self::kind(),
                    key: key_of(owner),
                });
            }
            let owner_ref = owner_reference(owner);
            let results = futures::stream::iter(adopt)
                .map(|pod| {
                    let api = pods_api.clone();
                    let owner_ref = owner_ref.clone();
                    async move {
                        let name = pod.name_any();
                        let uid = pod.metadata.uid.clone().unwrap_or_default();
                        controllerref::adopt(&api, &name, &uid, &owner_ref).await
                    }
                })
                .buffer_unordered(self.pod_writes)
                .collect::<Vec<_>>()
                .await;
            for r in results {
                match r {
                    Ok(pod) => {
                        tracing::info!(controller = O::CONTROLLER, owner = %key_of(owner), pod = %pod.name_any(), "adopted pod");
                        owned.push(Arc::new(pod));
                    }
                    Err(e) if controllerref::is_not_found(&e) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        let results = futures::stream::iter(release)
            .map(|pod| {
                let api = pods_api.clone();
                let uid = uid.clone();
                async move {
                    let pod_uid = pod.metadata.uid.clone().unwrap_or_default();
                    controllerref::release(&api, &pod.name_any(), &pod_uid, &uid).await
                }
            })
            .buffer_unordered(self.pod_writes)
            .collect::<Vec<_>>()
            .await;
        for r in results {
            r?;
        }
        Ok(owned)
    }

    async fn manage_replicas(
        &self,
        key: &str,
        owner: &O,
        active: &[Arc<Pod>],
    ) -> Result<(), SyncError> {
        let want = usize::try_from(owner.replicas()).unwrap_or(0);
        let ns = owner.meta().namespace.clone().unwrap_or_default();
        let pods_api: Api<Pod> = Api::namespaced(self.client.clone(), &ns);
        if active.len() < want {
            let count = (want - active.len()).min(BURST_REPLICAS);
            let Some(pod) = pod_from_template(owner) else {
                return Ok(());
            };
            self.expectations.expect_creations(key, count);
            tracing::debug!(
                controller = O::CONTROLLER,
                key,
                creating = count,
                "too few replicas"
            );
            let (created, result) = self.create_pods(&pods_api, &pod, count).await;
            // Creations never attempted or failed will not be seen by the watch.
            for _ in created..count {
                self.expectations.creation_observed(key);
            }
            return result.map_err(Into::into);
        }
        if active.len() > want {
            let count = (active.len() - want).min(BURST_REPLICAS);
            let victims = self.pods_to_delete(owner, active, count);
            self.expectations
                .expect_deletions(key, victims.iter().map(|p| key_of(p.as_ref())));
            tracing::debug!(
                controller = O::CONTROLLER,
                key,
                deleting = count,
                "too many replicas"
            );
            let results = futures::stream::iter(victims)
                .map(|pod| {
                    let api = pods_api.clone();
                    async move {
                        let r = api.delete(&pod.name_any(), &DeleteParams::default()).await;
                        (pod, r)
                    }
                })
                .buffer_unordered(self.pod_writes)
                .collect::<Vec<_>>()
                .await;
            let mut first_error = None;
            for (pod, r) in results {
                if let Err(e) = r {
                    // The watch will not show a deletion that did not happen.
                    self.expectations
                        .deletion_observed(key, &key_of(pod.as_ref()));
                    if !controllerref::is_not_found(&e) && first_error.is_none() {
                        first_error = Some(e);
                    }
                }
            }
            if let Some(e) = first_error {
                return Err(e.into());
            }
        }
        Ok(())
    }

    /// Creates `count` copies of `pod` in slow-start batches, then with `pod_writes` in
    /// flight; returns how many were created and the first error (creation stops there).
    async fn create_pods(
        &self,
        api: &Api<Pod>,
        pod: &Pod,
        count: usize,
    ) -> (usize, Result<(), kube::Error>) {
        let mut created = 0;
        let mut batch = count.min(1);
        while batch > 0 {
            let remaining = count - created;
            let fast = batch >= self.pod_writes;
            let n = if fast {
                remaining
            } else {
                batch.min(remaining)
            };
            let stop = AtomicBool::new(false);
            let results = futures::stream::iter(0..n)
                .map(|_| {
                    let stop = &stop;
                    async move {
                        if stop.load(Ordering::Relaxed) {
                            return None;
                        }
                        let r = create_pod(api, pod).await;
                        if r.is_err() {
                            stop.store(true, Ordering::Relaxed);
                        }
                        Some(r)
                    }
                })
                .buffer_unordered(self.pod_writes)
                .collect::<Vec<_>>()
                .await;
            let mut first_error = None;
            for r in results.into_iter().flatten() {
                match r {
                    Ok(()) => created += 1,
                    Err(e) => {
                        if first_error.is_none() {
                            first_error = Some(e);
                        }
                    }
                }
            }
            if let Some(e) = first_error {
                if namespace_terminating(&e) {
                    // Every further create fails the same way, and nothing will be created.
                    return (created, Ok(()));
                }
                return (created, Err(e));
            }
            if fast {
                break;
            }
            batch = (batch * 2).min(count - created);
        }
        (created, Ok(()))
    }

    /// The `count` pods to delete first: upstream's ranking, with pods doubled up on a node
    /// with pods of sibling ReplicaSets (same controller owner) ranked first.
    fn pods_to_delete(&self, owner: &O, active: &[Arc<Pod>], count: usize) -> Vec<Arc<Pod>> {
        if count >= active.len() {
            return active.to_vec();
        }
        let mut on_node: HashMap<String, usize> = HashMap::new();
        let siblings: Vec<Arc<O>> = match controller_uid(owner) {
            Some(parent) => self.owners.list_controlled_by(parent),
            None => Vec::new(),
        };
        let related: Vec<Arc<Pod>> = if siblings.is_empty() {
            active.to_vec()
        } else {
            siblings
                .iter()
                .filter_map(|s| s.meta().uid.clone())
                .flat_map(|uid| self.pods.list_controlled_by(&uid))
                .collect()
        };
        for p in related.iter().filter(|p| pods::is_active(p)) {
            let node = p
                .spec
                .as_ref()
                .and_then(|s| s.node_name.clone())
                .unwrap_or_default();
            *on_node.entry(node).or_default() += 1;
        }
        let rank = |p: &Pod| {
            let node = p
                .spec
                .as_ref()
                .and_then(|s| s.node_name.clone())
                .unwrap_or_default();
            on_node.get(&node).copied().unwrap_or(0)
        };
        let mut ranked: Vec<(usize, Arc<Pod>)> =
            active.iter().map(|p| (rank(p), p.clone())).collect();
        ranked.sort_by(|(ra, a), (rb, b)| pods::deletion_order(a, *ra, b, *rb));
        ranked.into_iter().take(count).map(|(_, p)| p).collect()
    }
}

async fn create_pod(api: &Api<Pod>, pod: &Pod) -> Result<(), kube::Error> {
    api.create(&PostParams::default(), pod).await.map(|_| ())
}

fn namespace_terminating(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 403 && s.message.contains("because it is being terminated"))
}

/// The controller reference `owner` puts on its pods.
pub fn owner_reference<O: Resource<DynamicType = ()>>(owner: &O) -> OwnerReference {
    controllerref::controller_ref(
        &O::api_version(&()),
        &O::kind(&()),
        owner.meta().name.as_deref().unwrap_or_default(),
        owner.meta().uid.as_deref().unwrap_or_default(),
    )
}

/// Upstream's GetPodFromTemplate: labels, annotations and finalizers from the template,
/// generateName `<owner>-`, the owner as controller.
pub fn pod_from_template<O: ReplicaOwner>(owner: &O) -> Option<Pod> {
    let template = owner.template()?;
    let tm = template.metadata.clone().unwrap_or_default();
    Some(Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-", owner.name_any())),
            namespace: owner.meta().namespace.clone(),
            labels: tm.labels,
            annotations: tm.annotations,
            finalizers: tm.finalizers,
            owner_references: Some(vec![owner_reference(owner)]),
            ..Default::default()
        },
        spec: template.spec.clone(),
        status: None,
    })
}

/// Upstream's calculateStatus: counts over the active pods this owner controls, and the
/// ReplicaFailure condition while creating or deleting pods fails.
pub fn calculate_status<O: ReplicaOwner>(
    owner: &O,
    active: &[Arc<Pod>],
    manage_error: Option<&SyncError>,
    now: chrono::DateTime<Utc>,
) -> ReplicaStatus {
    let template_labels: BTreeMap<String, String> = owner
        .template()
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    let template_selector = Selector::from_map(&template_labels);
    let mrs = owner.min_ready_seconds();
    let mut status = owner.replica_status();
    status.replicas = i32::try_from(active.len()).unwrap_or(i32::MAX);
    status.fully_labeled_replicas = count(active, |p| {
        template_selector.matches(p.metadata.labels.as_ref())
    });
    status.ready_replicas = count(active, pods::is_ready);
    status.available_replicas = count(active, |p| pods::is_available(p, mrs, now));
    status.observed_generation = owner.meta().generation.unwrap_or(0);
    let failure = status
        .conditions
        .iter()
        .position(|c| c.type_ == "ReplicaFailure");
    match (manage_error, failure) {
        (Some(e), None) => {
            let diff = active.len() as i64 - i64::from(owner.replicas());
            let reason = if diff < 0 {
                "FailedCreate"
            } else {
                "FailedDelete"
            };
            status.conditions.push(ReplicaCondition {
                type_: "ReplicaFailure".to_string(),
                status: "True".to_string(),
                reason: Some(reason.to_string()),
                message: Some(e.to_string()),
                last_transition_time: Some(now_rfc3339()),
            });
        }
        (None, Some(i)) => {
            status.conditions.remove(i);
        }
        _ => {}
    }
    status
}

/// metav1.Time's wire form: RFC 3339 in UTC, whole seconds.
pub fn now_rfc3339() -> String {
    Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A stored time in metav1.Time's wire form.
pub fn format_time(t: &k8s_openapi::jiff::Timestamp) -> String {
    pods::to_chrono(t).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn count(pods: &[Arc<Pod>], f: impl Fn(&Pod) -> bool) -> i32 {
    i32::try_from(pods.iter().filter(|p| f(p)).count()).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn rs(v: Value) -> ReplicaSet {
        serde_json::from_value(v).unwrap()
    }

    fn pod(labels: Value, ready: bool) -> Arc<Pod> {
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": "p", "labels": labels},
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}, "lastTransitionTime": "2024-01-01T00:00:00Z"}]}
            }))
            .unwrap(),
        )
    }

    #[test]
    fn status_counts_labels_readiness_and_availability() {
        let owner = rs(json!({
            "metadata": {"name": "web", "namespace": "default", "uid": "u", "generation": 3},
            "spec": {"replicas": 3, "minReadySeconds": 30, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web", "tier": "fe"}}, "spec": {"containers": []}}}
        }));
        let pods = vec![
            pod(json!({"app": "web", "tier": "fe"}), true),
            pod(json!({"app": "web"}), true),
            pod(json!({"app": "web", "tier": "fe"}), false),
        ];
        let now = chrono::DateTime::parse_from_rfc3339("2024-01-01T00:00:10Z")
            .unwrap()
            .with_timezone(&Utc);
        let s = calculate_status(&owner, &pods, None, now);
        assert_eq!(
            (
                s.replicas,
                s.fully_labeled_replicas,
                s.ready_replicas,
                s.available_replicas,
                s.observed_generation
            ),
            (3, 2, 2, 0, 3)
        );
        let later = now + chrono::Duration::seconds(30);
        assert_eq!(
            calculate_status(&owner, &pods, None, later).available_replicas,
            2
        );

        let err = SyncError::CannotAdopt {
            kind: "ReplicaSet".into(),
            key: "x".into(),
        };
        let failed = calculate_status(&owner, &pods[..1], Some(&err), now);
        assert_eq!(failed.conditions.len(), 1);
        assert_eq!(failed.conditions[0].reason.as_deref(), Some("FailedCreate"));
        // The patch drops zero counts as upstream's omitempty fields do.
        let patch = s.to_patch(None);
        assert_eq!(patch["status"]["availableReplicas"], Value::Null);
        assert_eq!(patch["status"]["replicas"], json!(3));
    }

    #[test]
    fn pods_come_from_the_template() {
        let owner = rs(json!({
            "metadata": {"name": "web", "namespace": "ns", "uid": "u"},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}, "annotations": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}
        }));
        let p = pod_from_template(&owner).unwrap();
        assert_eq!(p.metadata.generate_name.as_deref(), Some("web-"));
        assert_eq!(p.metadata.namespace.as_deref(), Some("ns"));
        let r = &p.metadata.owner_references.unwrap()[0];
        assert_eq!(
            (
                r.kind.as_str(),
                r.uid.as_str(),
                r.controller,
                r.block_owner_deletion
            ),
            ("ReplicaSet", "u", Some(true), Some(true))
        );
        assert_eq!(p.metadata.annotations.unwrap()["a"], "b");
        assert_eq!(
            p.spec.unwrap().containers[0].image.as_deref(),
            Some("nginx")
        );
    }
}
