//! The Deployment controller: rolls a Deployment's pod template out through ReplicaSets
//! named `<deployment>-<pod-template-hash>` — RollingUpdate within maxSurge/maxUnavailable or
//! Recreate — keeps revisions so `kubectl rollout history/undo` work, scales proportionally
//! during a rollout, honours pause, reports progress (and the progress deadline) in the
//! Available and Progressing conditions, and deletes old ReplicaSets beyond
//! revisionHistoryLimit. The shape follows upstream's pkg/controller/deployment.

pub mod hash;
mod progress;
mod rolling;
mod sync;
pub mod util;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use serde_json::{Value, json};

use crate::framework::controllerref::{self, Claim};
use crate::framework::mutation::MutationCache;
use crate::framework::{
    Action, Informer, Notification, Selector, WorkQueue, controller_uid, key_of, pods, run_workers,
    split_key,
};
use crate::{Context, Error};

const CONTROLLER: &str = "deployment";
/// Upstream drops a key after this many failed syncs in a row (until its next event).
const MAX_RETRIES: u32 = 15;

/// Starts the Deployment controller.
pub fn start(ctx: Context) -> BoxFuture<'static, Result<(), Error>> {
    Box::pin(run(ctx))
}

async fn run(ctx: Context) -> Result<(), Error> {
    let dc = Arc::new(DeploymentController::new(&ctx));
    dc.clone().register_handlers();
    for synced in [
        dc.deployments.wait_synced(&ctx.shutdown).await,
        dc.replica_sets.wait_synced(&ctx.shutdown).await,
        dc.pods.wait_synced(&ctx.shutdown).await,
    ] {
        if !synced {
            return Ok(());
        }
    }
    tracing::info!(controller = CONTROLLER, "caches synced; starting workers");
    let worker = dc.clone();
    run_workers(
        CONTROLLER,
        dc.queue.clone(),
        ctx.options.concurrent_deployment_syncs,
        Some(MAX_RETRIES),
        ctx.metrics.clone(),
        ctx.shutdown.clone(),
        move |key| {
            let dc = worker.clone();
            async move { dc.sync_deployment(&key).await }
        },
    )
    .await;
    Ok(())
}

/// Why one sync failed (retried with back-off).
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{0}")]
    Api(#[from] kube::Error),
    #[error("{0}")]
    Invalid(#[from] util::InvalidIntOrPercent),
    #[error("deployment {0} was recreated or is being deleted; not adopting ReplicaSets")]
    CannotAdopt(String),
    #[error("hash collision for ReplicaSet {0}: bumped the collision count, retrying")]
    HashCollision(String),
}

pub struct DeploymentController {
    client: kube::Client,
    deployments: Arc<Informer<Deployment>>,
    replica_sets: Arc<Informer<ReplicaSet>>,
    pods: Arc<Informer<Pod>>,
    queue: Arc<WorkQueue>,
    written_deployments: MutationCache<Deployment>,
    written_replica_sets: MutationCache<ReplicaSet>,
}

impl DeploymentController {
    fn new(ctx: &Context) -> Self {
        DeploymentController {
            client: ctx.client.clone(),
            deployments: ctx.informers.get::<Deployment>(),
            replica_sets: ctx.informers.get::<ReplicaSet>(),
            pods: ctx.informers.get::<Pod>(),
            queue: WorkQueue::new(CONTROLLER, ctx.metrics.clone(), ctx.shutdown.clone()),
            written_deployments: MutationCache::new(Duration::from_secs(60)),
            written_replica_sets: MutationCache::new(Duration::from_secs(60)),
        }
    }

    fn register_handlers(self: Arc<Self>) {
        let me = self.clone();
        self.deployments.add_handler(move |n| match n {
            Notification::Added(d)
            | Notification::Updated { new: d, .. }
            | Notification::Deleted(d) => me.queue.add(key_of(d.as_ref())),
        });
        let me = self.clone();
        self.replica_sets.add_handler(move |n| match n {
            Notification::Added(rs) | Notification::Deleted(rs) => me.enqueue_for_rs(rs, true),
            Notification::Updated { old, new } => {
                if old.metadata.resource_version == new.metadata.resource_version {
                    return;
                }
                if controller_uid(old.as_ref()) != controller_uid(new.as_ref()) {
                    me.enqueue_for_rs(old, false);
                }
                let labels_changed = old.metadata.labels != new.metadata.labels;
                me.enqueue_for_rs(new, labels_changed);
            }
        });
        let me = self.clone();
        self.pods.add_handler(move |n| {
            // Pods that stop counting (terminating, finished, gone) or change readiness move
            // what a rollout may do next (see rolling.rs); Recreate waits for old pods to go.
            let moved = match n {
                Notification::Added(_) => None,
                Notification::Deleted(p) => Some(p),
                Notification::Updated { old, new } => (pods::is_active(old)
                    != pods::is_active(new)
                    || pods::is_ready(old) != pods::is_ready(new))
                .then_some(new),
            };
            if let Some(p) = moved
                && let Some(d) = me.deployment_of_pod(p)
            {
                me.queue.add(key_of(d.as_ref()));
            }
        });
    }

    /// The Deployment controlling `rs`; for an orphan (when `orphans` is set), every
    /// Deployment whose selector matches it, so one of them adopts it.
    fn enqueue_for_rs(&self, rs: &ReplicaSet, orphans: bool) {
        let ns = rs.metadata.namespace.as_deref().unwrap_or_default();
        if let Some(r) = rs
            .metadata
            .owner_references
            .iter()
            .flatten()
            .find(|r| r.controller == Some(true))
        {
            if r.kind == "Deployment"
                && let Some(d) = self.deployments.get_namespaced(ns, &r.name)
                && d.metadata.uid.as_deref() == Some(r.uid.as_str())
            {
                self.queue.add(key_of(d.as_ref()));
            }
            return;
        }
        if !orphans {
            return;
        }
        for d in self.deployments.list_namespace(ns) {
            let selector = d
                .spec
                .as_ref()
                .map(|s| Selector::from_label_selector(Some(&s.selector)));
            if let Some(Ok(sel)) = selector
                && !sel.is_everything()
                && sel.matches(rs.metadata.labels.as_ref())
            {
                self.queue.add(key_of(d.as_ref()));
            }
        }
    }

    fn deployment_of_pod(&self, pod: &Pod) -> Option<Arc<Deployment>> {
        let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
        let r = pod
            .metadata
            .owner_references
            .iter()
            .flatten()
            .find(|r| r.controller == Some(true) && r.kind == "ReplicaSet")?;
        let rs = self.replica_sets.get_namespaced(ns, &r.name)?;
        let dr = rs
            .metadata
            .owner_references
            .iter()
            .flatten()
            .find(|r| r.controller == Some(true) && r.kind == "Deployment")?;
        let d = self.deployments.get_namespaced(ns, &dr.name)?;
        (d.metadata.uid.as_deref() == Some(dr.uid.as_str())).then_some(d)
    }

    async fn sync_deployment(&self, key: &str) -> Result<Action, SyncError> {
        let Some(cached) = self.deployments.get(key) else {
            return Ok(Action::Done);
        };
        let mut d = (*self.written_deployments.newest(cached)).clone();
        let selector = match Selector::from_label_selector(d.spec.as_ref().map(|s| &s.selector)) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(controller = CONTROLLER, key, error = %e, "not syncing");
                return Ok(Action::Done);
            }
        };
        if selector.is_everything() {
            // Upstream refuses to select every pod in the namespace; it only records that it
            // saw this generation.
            tracing::warn!(
                controller = CONTROLLER,
                key,
                "selector selects all pods; not syncing"
            );
            let generation = d.metadata.generation.unwrap_or(0);
            let observed = d
                .status
                .as_ref()
                .and_then(|s| s.observed_generation)
                .unwrap_or(0);
            if observed < generation {
                let mut status = d.status.clone().unwrap_or_default();
                status.observed_generation = Some(generation);
                self.write_status(&mut d, status).await?;
            }
            return Ok(Action::Done);
        }

        let rs_list = self.replica_sets_for(&d, &selector).await?;

        if d.metadata.deletion_timestamp.is_some() {
            return self.sync_status_only(&mut d, rs_list).await;
        }
        self.check_paused_conditions(&mut d).await?;
        if util::paused(&d) {
            return self.sync(&mut d, rs_list).await;
        }
        if self.is_scaling_event(&d, &rs_list) {
            return self.sync(&mut d, rs_list).await;
        }
        match util::strategy_type(&d) {
            "Recreate" => self.rollout_recreate(&mut d, rs_list).await,
            _ => self.rollout_rolling(&mut d, rs_list).await,
        }
    }

    /// The ReplicaSets this Deployment controls after adopting matching orphans and
    /// releasing those that stopped matching (upstream's ClaimReplicaSets).
    async fn replica_sets_for(
        &self,
        d: &Deployment,
        selector: &Selector,
    ) -> Result<Vec<ReplicaSet>, SyncError> {
        let uid = d.metadata.uid.clone().unwrap_or_default();
        let ns = d.metadata.namespace.clone().unwrap_or_default();
        let deleting = d.metadata.deletion_timestamp.is_some();
        let mut owned = Vec::new();
        let mut adopt = Vec::new();
        let mut release = Vec::new();
        let candidates = self
            .replica_sets
            .list_controlled_by(&uid)
            .into_iter()
            .chain(self.replica_sets.list_orphans(&ns));
        for rs in candidates {
            let rs = self.written_replica_sets.newest(rs);
            match controllerref::classify(
                &rs.metadata,
                &uid,
                deleting,
                selector.matches(rs.metadata.labels.as_ref()),
            ) {
                Claim::Owned => owned.push((*rs).clone()),
                Claim::Adopt => adopt.push(rs),
                Claim::Release => release.push(rs),
                Claim::Ignore => {}
            }
        }
        if adopt.is_empty() && release.is_empty() {
            return Ok(owned);
        }
        let api: Api<ReplicaSet> = Api::namespaced(self.client.clone(), &ns);
        if !adopt.is_empty() {
            let fresh = Api::<Deployment>::namespaced(self.client.clone(), &ns)
                .get_opt(&d.name_any())
                .await?;
            if !fresh.is_some_and(|f| {
                f.metadata.uid.as_deref() == Some(uid.as_str())
                    && f.metadata.deletion_timestamp.is_none()
            }) {
                return Err(SyncError::CannotAdopt(key_of(d)));
            }
            let owner_ref =
                controllerref::controller_ref("apps/v1", "Deployment", &d.name_any(), &uid);
            for rs in adopt {
                let rs_uid = rs.metadata.uid.clone().unwrap_or_default();
                match controllerref::adopt(&api, &rs.name_any(), &rs_uid, &owner_ref).await {
                    Ok(adopted) => {
                        tracing::info!(controller = CONTROLLER, deployment = %key_of(d), rs = %adopted.name_any(), "adopted ReplicaSet");
                        owned.push(adopted);
                    }
                    Err(e) if controllerref::is_not_found(&e) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        let results = futures::stream::iter(release)
            .map(|rs| {
                let api = api.clone();
                let uid = uid.clone();
                async move {
                    let rs_uid = rs.metadata.uid.clone().unwrap_or_default();
                    controllerref::release(&api, &rs.name_any(), &rs_uid, &uid).await
                }
            })
            .buffer_unordered(16)
            .collect::<Vec<_>>()
            .await;
        for r in results {
            r?;
        }
        Ok(owned)
    }

    /// Writes `status` (and the Deployment's revision annotation, which upstream also
    /// writes through the status subresource) with the object's resourceVersion as a
    /// precondition, so a status computed from an outdated spec is refused.
    async fn write_status(
        &self,
        d: &mut Deployment,
        status: DeploymentStatus,
    ) -> Result<(), SyncError> {
        let mut status_json = serde_json::to_value(&status).unwrap_or(Value::Null);
        if let Some(m) = status_json.as_object_mut() {
            for field in [
                "availableReplicas",
                "collisionCount",
                "conditions",
                "observedGeneration",
                "readyReplicas",
                "replicas",
                "unavailableReplicas",
                "updatedReplicas",
            ] {
                m.entry(field).or_insert(Value::Null);
            }
        }
        let mut metadata = json!({"resourceVersion": d.metadata.resource_version});
        if let Some(rev) = util::annotation(&d.metadata, util::REVISION) {
            metadata["annotations"] = json!({ util::REVISION: rev });
        }
        let patch = json!({"metadata": metadata, "status": status_json});
        let (ns, name) = split_key_owned(d);
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), &ns);
        let written = api
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(patch))
            .await?;
        *d = (*self.written_deployments.record(written)).clone();
        Ok(())
    }

    /// Sets spec.replicas and the desired/max-replicas annotations of `rs` (upstream's
    /// scaleReplicaSet); returns whether the size changed and the written object.
    async fn scale_replica_set(
        &self,
        rs: &ReplicaSet,
        new_scale: i32,
        d: &Deployment,
    ) -> Result<(bool, ReplicaSet), SyncError> {
        let size_changes = util::rs_replicas(rs) != new_scale;
        let desired = util::replicas(d);
        let max = desired + util::max_surge(d);
        if !size_changes && !util::replicas_annotations_need_update(rs, desired, max) {
            return Ok((false, rs.clone()));
        }
        // No resourceVersion precondition: the spec is only written by this controller, whose
        // own earlier writes the mutation cache already reflects, and a precondition would
        // fail on every status change the ReplicaSet controller makes meanwhile.
        let patch = json!({
            "metadata": {"annotations": {util::DESIRED_REPLICAS: desired.to_string(), util::MAX_REPLICAS: max.to_string()}},
            "spec": {"replicas": new_scale},
        });
        let (ns, name) = split_key_owned(rs);
        let api: Api<ReplicaSet> = Api::namespaced(self.client.clone(), &ns);
        let written = api
            .patch(&name, &PatchParams::default(), &Patch::Merge(patch))
            .await?;
        if size_changes {
            tracing::info!(
                controller = CONTROLLER,
                deployment = %key_of(d),
                "Scaled {} replica set {} to {} from {}",
                if new_scale > util::rs_replicas(rs) { "up" } else { "down" },
                name,
                new_scale,
                util::rs_replicas(rs)
            );
        }
        let written = (*self.written_replica_sets.record(written)).clone();
        Ok((size_changes, written))
    }

    /// Scales `rs` to `new_scale` unless it is there already.
    async fn scale_and_record(
        &self,
        rs: &ReplicaSet,
        new_scale: i32,
        d: &Deployment,
    ) -> Result<(bool, ReplicaSet), SyncError> {
        if util::rs_replicas(rs) == new_scale {
            return Ok((false, rs.clone()));
        }
        self.scale_replica_set(rs, new_scale, d).await
    }
}

fn split_key_owned<K: Resource>(obj: &K) -> (String, String) {
    let key = key_of(obj);
    let (ns, name) = split_key(&key);
    (ns.to_string(), name.to_string())
}
