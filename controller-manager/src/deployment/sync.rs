//! Upstream's sync.go (and recreate.go): finding or creating the new ReplicaSet and keeping
//! revisions in step, scaling (proportionally while a rollout is in flight), pause, cleanup
//! of old ReplicaSets, status, and the Recreate strategy.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus, ReplicaSet, ReplicaSetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};
use serde_json::json;

use super::util::{self, rs_replicas};
use super::{DeploymentController, SyncError, split_key_owned};
use crate::framework::controllerref::{self, is_conflict, is_not_found};
use crate::framework::{Action, key_of};

/// A Deployment's ReplicaSets split as upstream does: the one whose template is the
/// Deployment's (`new`) and all others (`old`).
pub(super) struct ReplicaSets {
    pub new: Option<ReplicaSet>,
    pub old: Vec<ReplicaSet>,
}

impl ReplicaSets {
    /// Every ReplicaSet, old first, then the new one.
    pub fn all(&self) -> Vec<&ReplicaSet> {
        self.old.iter().chain(self.new.as_ref()).collect()
    }

    /// Replaces the stored copy of `rs` (same name) with `rs`.
    pub fn replace(&mut self, rs: ReplicaSet) {
        if let Some(n) = &mut self.new
            && n.metadata.name == rs.metadata.name
        {
            *n = rs;
            return;
        }
        if let Some(o) = self
            .old
            .iter_mut()
            .find(|o| o.metadata.name == rs.metadata.name)
        {
            *o = rs;
        }
    }
}

fn nonzero(v: i32) -> Option<i32> {
    (v != 0).then_some(v)
}

/// Upstream's calculateStatus.
pub(super) fn calculate_status(
    d: &Deployment,
    all: &[&ReplicaSet],
    new: Option<&ReplicaSet>,
) -> DeploymentStatus {
    let available = util::sum_available(all);
    let total = util::sum_spec(all);
    let unavailable = (total - available).max(0);
    let current = d.status.clone().unwrap_or_default();
    let mut status = DeploymentStatus {
        observed_generation: d.metadata.generation.filter(|g| *g != 0),
        replicas: nonzero(util::sum_status_replicas(all)),
        updated_replicas: nonzero(new.map(|n| util::status_of(n).0).unwrap_or(0)),
        ready_replicas: nonzero(util::sum_ready(all)),
        available_replicas: nonzero(available),
        unavailable_replicas: nonzero(unavailable),
        collision_count: current.collision_count,
        conditions: current.conditions.clone(),
        terminating_replicas: current.terminating_replicas,
    };
    if available >= util::replicas(d) - util::max_unavailable(d) {
        util::set_condition(
            &mut status,
            util::new_condition(
                util::AVAILABLE,
                "True",
                util::MIN_AVAILABLE,
                "Deployment has minimum availability.".to_string(),
            ),
        );
    } else {
        util::set_condition(
            &mut status,
            util::new_condition(
                util::AVAILABLE,
                "False",
                util::MIN_UNAVAILABLE,
                "Deployment does not have minimum availability.".to_string(),
            ),
        );
    }
    status
}

fn set_deployment_revision(d: &mut Deployment, revision: &str) -> bool {
    let annotations = d.metadata.annotations.get_or_insert_with(BTreeMap::new);
    if annotations.get(util::REVISION).map(String::as_str) == Some(revision) {
        return false;
    }
    annotations.insert(util::REVISION.to_string(), revision.to_string());
    true
}

impl DeploymentController {
    /// Splits `rs_list` into new and old without writing anything (for decisions that only
    /// read, like whether this is a scaling event).
    pub(super) fn split(d: &Deployment, rs_list: &[ReplicaSet]) -> ReplicaSets {
        let new_idx = util::find_new_replica_set(d, rs_list);
        ReplicaSets {
            new: new_idx.map(|i| rs_list[i].clone()),
            old: rs_list
                .iter()
                .enumerate()
                .filter(|(i, _)| Some(*i) != new_idx)
                .map(|(_, rs)| rs.clone())
                .collect(),
        }
    }

    /// Upstream's getAllReplicaSetsAndSyncRevision.
    pub(super) async fn all_replica_sets_and_sync_revision(
        &self,
        d: &mut Deployment,
        rs_list: &[ReplicaSet],
        create_if_missing: bool,
    ) -> Result<ReplicaSets, SyncError> {
        let split = Self::split(d, rs_list);
        let new = self
            .new_replica_set(d, split.new, &split.old, create_if_missing)
            .await?;
        Ok(ReplicaSets {
            new,
            old: split.old,
        })
    }

    /// Upstream's getNewReplicaSet: brings the existing new ReplicaSet's annotations and
    /// revision up to date, or creates it.
    async fn new_replica_set(
        &self,
        d: &mut Deployment,
        existing: Option<ReplicaSet>,
        old: &[ReplicaSet],
        create_if_missing: bool,
    ) -> Result<Option<ReplicaSet>, SyncError> {
        let new_revision = util::max_revision(old) + 1;
        if let Some(mut rs) = existing {
            let annotations_updated = util::set_new_rs_annotations(d, &mut rs, new_revision, true);
            let min_ready = util::min_ready_seconds(d);
            let min_ready_changes = rs
                .spec
                .as_ref()
                .and_then(|s| s.min_ready_seconds)
                .unwrap_or(0)
                != min_ready;
            if annotations_updated || min_ready_changes {
                let patch = json!({
                    "metadata": {"annotations": rs.metadata.annotations},
                    "spec": {"minReadySeconds": min_ready},
                });
                let (ns, name) = split_key_owned(&rs);
                let written = Api::<ReplicaSet>::namespaced(self.client.clone(), &ns)
                    .patch(&name, &PatchParams::default(), &Patch::Merge(patch))
                    .await?;
                rs = (*self.written_replica_sets.record(written)).clone();
            }
            let revision = util::annotation(&rs.metadata, util::REVISION)
                .unwrap_or_default()
                .to_string();
            let mut needs_update = set_deployment_revision(d, &revision);
            let mut status = d.status.clone().unwrap_or_default();
            if util::progress_deadline(d).is_some()
                && util::get_condition(&status, util::PROGRESSING).is_none()
            {
                util::set_condition(
                    &mut status,
                    util::new_condition(
                        util::PROGRESSING,
                        "True",
                        util::FOUND_NEW_RS,
                        format!("Found new replica set \"{}\"", rs.name_any()),
                    ),
                );
                needs_update = true;
            }
            if needs_update {
                self.write_status(d, status).await?;
            }
            return Ok(Some(rs));
        }
        if !create_if_missing {
            return Ok(None);
        }

        let Some(spec) = d.spec.clone() else {
            return Ok(None);
        };
        let collision_count = d.status.as_ref().and_then(|s| s.collision_count);
        let hash = super::hash::compute_hash(&spec.template, collision_count);
        let mut template = spec.template.clone();
        template
            .metadata
            .get_or_insert_with(Default::default)
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(util::POD_TEMPLATE_HASH.to_string(), hash.clone());
        let mut selector = spec.selector.clone();
        selector
            .match_labels
            .get_or_insert_with(BTreeMap::new)
            .insert(util::POD_TEMPLATE_HASH.to_string(), hash.clone());
        let name = format!("{}-{}", d.name_any(), hash);
        let mut new_rs = ReplicaSet {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: d.metadata.namespace.clone(),
                owner_references: Some(vec![controllerref::controller_ref(
                    "apps/v1",
                    "Deployment",
                    &d.name_any(),
                    d.metadata.uid.as_deref().unwrap_or_default(),
                )]),
                labels: template.metadata.as_ref().and_then(|m| m.labels.clone()),
                ..Default::default()
            },
            spec: Some(ReplicaSetSpec {
                replicas: Some(0),
                min_ready_seconds: spec.min_ready_seconds,
                selector,
                template: Some(template),
            }),
            status: None,
        };
        let new_replicas = {
            let current = old.iter().map(|rs| self.pods_counted(rs)).sum();
            util::new_rs_new_replicas(d, current, &new_rs)?
        };
        if let Some(s) = new_rs.spec.as_mut() {
            s.replicas = Some(new_replicas);
        }
        util::set_new_rs_annotations(d, &mut new_rs, new_revision, false);

        let ns = d.metadata.namespace.clone().unwrap_or_default();
        let api: Api<ReplicaSet> = Api::namespaced(self.client.clone(), &ns);
        let mut already_exists = false;
        let created = match api.create(&PostParams::default(), &new_rs).await {
            Ok(rs) => rs,
            Err(e) if is_conflict(&e) => {
                // Created by an earlier sync whose write the cache has not shown yet, or a
                // different ReplicaSet with the same name: a hash collision.
                let found = api.get_opt(&name).await?;
                match found {
                    Some(rs)
                        if rs.metadata.owner_references.iter().flatten().any(|r| {
                            r.controller == Some(true)
                                && Some(r.uid.as_str()) == d.metadata.uid.as_deref()
                        }) && util::equal_ignore_hash(
                            rs.spec.as_ref().and_then(|s| s.template.as_ref()),
                            Some(&spec.template),
                        ) =>
                    {
                        already_exists = true;
                        rs
                    }
                    _ => {
                        let mut status = d.status.clone().unwrap_or_default();
                        status.collision_count =
                            Some(collision_count.unwrap_or(0).saturating_add(1));
                        self.write_status(d, status).await?;
                        return Err(SyncError::HashCollision(name));
                    }
                }
            }
            Err(e) => {
                if util::progress_deadline(d).is_some() {
                    let mut status = d.status.clone().unwrap_or_default();
                    util::set_condition(
                        &mut status,
                        util::new_condition(
                            util::PROGRESSING,
                            "False",
                            util::FAILED_RS_CREATE,
                            format!("Failed to create new replica set \"{name}\": {e}"),
                        ),
                    );
                    // The create error is what matters; a failed status write is retried
                    // with the sync.
                    let _ = self.write_status(d, status).await;
                }
                return Err(e.into());
            }
        };
        if !already_exists && new_replicas > 0 {
            tracing::info!(controller = CONTROLLER_NAME, deployment = %key_of(d), "Scaled up replica set {} to {}", name, new_replicas);
        }
        let mut needs_update = set_deployment_revision(d, &new_revision.to_string());
        let mut status = d.status.clone().unwrap_or_default();
        if !already_exists && util::progress_deadline(d).is_some() {
            util::set_condition(
                &mut status,
                util::new_condition(
                    util::PROGRESSING,
                    "True",
                    util::NEW_REPLICA_SET,
                    format!("Created new replica set \"{name}\""),
                ),
            );
            needs_update = true;
        }
        if needs_update {
            self.write_status(d, status).await?;
        }
        Ok(Some(created))
    }

    /// Upstream's syncStatusOnly (a Deployment being deleted).
    pub(super) async fn sync_status_only(
        &self,
        d: &mut Deployment,
        rs_list: Vec<ReplicaSet>,
    ) -> Result<Action, SyncError> {
        let sets = self
            .all_replica_sets_and_sync_revision(d, &rs_list, false)
            .await?;
        self.sync_deployment_status(d, &sets).await?;
        Ok(Action::Done)
    }

    /// Upstream's sync: scaling events and paused Deployments.
    pub(super) async fn sync(
        &self,
        d: &mut Deployment,
        rs_list: Vec<ReplicaSet>,
    ) -> Result<Action, SyncError> {
        let mut sets = self
            .all_replica_sets_and_sync_revision(d, &rs_list, false)
            .await?;
        self.scale(d, &mut sets).await?;
        if util::paused(d) {
            self.cleanup_deployment(d, &sets.old).await?;
        }
        self.sync_deployment_status(d, &sets).await?;
        Ok(Action::Done)
    }

    pub(super) async fn sync_deployment_status(
        &self,
        d: &mut Deployment,
        sets: &ReplicaSets,
    ) -> Result<(), SyncError> {
        let status = calculate_status(d, &sets.all(), sets.new.as_ref());
        if d.status.as_ref() == Some(&status) {
            return Ok(());
        }
        self.write_status(d, status).await
    }

    /// Upstream's checkPausedConditions: Progressing=Unknown DeploymentPaused while paused,
    /// DeploymentResumed after, so time spent paused never counts toward the deadline.
    pub(super) async fn check_paused_conditions(
        &self,
        d: &mut Deployment,
    ) -> Result<(), SyncError> {
        if util::progress_deadline(d).is_none() {
            return Ok(());
        }
        let mut status = d.status.clone().unwrap_or_default();
        let reason = util::get_condition(&status, util::PROGRESSING).and_then(|c| c.reason.clone());
        if reason.as_deref() == Some(util::TIMED_OUT) {
            return Ok(());
        }
        let paused_exists = reason.as_deref() == Some(util::PAUSED);
        let paused = util::paused(d);
        if paused && !paused_exists {
            util::set_condition(
                &mut status,
                util::new_condition(
                    util::PROGRESSING,
                    "Unknown",
                    util::PAUSED,
                    "Deployment is paused".to_string(),
                ),
            );
        } else if !paused && paused_exists {
            util::set_condition(
                &mut status,
                util::new_condition(
                    util::PROGRESSING,
                    "Unknown",
                    util::RESUMED,
                    "Deployment is resumed".to_string(),
                ),
            );
        } else {
            return Ok(());
        }
        self.write_status(d, status).await
    }

    /// Upstream's isScalingEvent: an active ReplicaSet's desired-replicas annotation differs
    /// from the Deployment's replicas.
    pub(super) fn is_scaling_event(&self, d: &Deployment, rs_list: &[ReplicaSet]) -> bool {
        let want = util::replicas(d);
        let sets = Self::split(d, rs_list);
        sets.all()
            .into_iter()
            .filter(|rs| util::is_active(rs))
            .any(|rs| util::desired_replicas_annotation(rs).is_some_and(|v| v != want))
    }

    /// Upstream's scale.
    pub(super) async fn scale(
        &self,
        d: &Deployment,
        sets: &mut ReplicaSets,
    ) -> Result<(), SyncError> {
        let want = util::replicas(d);
        if let Some(rs) = find_active_or_latest(sets) {
            if rs_replicas(&rs) != want {
                let (_, written) = self.scale_and_record(&rs, want, d).await?;
                sets.replace(written);
            }
            return Ok(());
        }
        if let Some(new) = &sets.new
            && util::is_saturated(d, new)
        {
            let active: Vec<ReplicaSet> = sets
                .old
                .iter()
                .filter(|rs| util::is_active(rs))
                .cloned()
                .collect();
            for rs in active {
                let (_, written) = self.scale_and_record(&rs, 0, d).await?;
                sets.replace(written);
            }
            return Ok(());
        }
        if !util::is_rolling_update(d) {
            return Ok(());
        }
        // Spread the change over the active ReplicaSets in proportion to their size (their
        // share of the max-replicas they were last scaled for).
        let mut active: Vec<ReplicaSet> = sets
            .all()
            .into_iter()
            .filter(|rs| util::is_active(rs))
            .cloned()
            .collect();
        let current: i32 = active.iter().map(rs_replicas).sum();
        let allowed = if want > 0 {
            want + util::max_surge(d)
        } else {
            0
        };
        let to_add = allowed - current;
        if to_add > 0 {
            active.sort_by(util::by_size_newer);
        } else if to_add < 0 {
            active.sort_by(util::by_size_older);
        }
        let mut added = 0;
        let mut sizes = Vec::with_capacity(active.len());
        for rs in &active {
            if to_add != 0 {
                let p = util::proportion(rs, d, to_add, added);
                sizes.push(rs_replicas(rs) + p);
                added += p;
            } else {
                sizes.push(rs_replicas(rs));
            }
        }
        for (i, rs) in active.iter().enumerate() {
            let mut size = sizes[i];
            if i == 0 && to_add != 0 {
                size = (size + to_add - added).max(0);
            }
            let (_, written) = self.scale_replica_set(rs, size, d).await?;
            sets.replace(written);
        }
        Ok(())
    }

    /// Upstream's cleanupDeployment: deletes the oldest ReplicaSets beyond
    /// revisionHistoryLimit that are scaled to zero and settled.
    pub(super) async fn cleanup_deployment(
        &self,
        d: &Deployment,
        old: &[ReplicaSet],
    ) -> Result<(), SyncError> {
        let Some(limit) = util::revision_history_limit(d) else {
            return Ok(());
        };
        let mut cleanable: Vec<&ReplicaSet> = old
            .iter()
            .filter(|rs| rs.metadata.deletion_timestamp.is_none())
            .collect();
        let diff = i64::try_from(cleanable.len()).unwrap_or(i64::MAX) - i64::from(limit);
        if diff <= 0 {
            return Ok(());
        }
        cleanable.sort_by(|a, b| util::by_revision(a, b));
        for rs in cleanable
            .into_iter()
            .take(usize::try_from(diff).unwrap_or(0))
        {
            let (status_replicas, _, _) = util::status_of(rs);
            let observed = rs
                .status
                .as_ref()
                .and_then(|s| s.observed_generation)
                .unwrap_or(0);
            if status_replicas != 0
                || rs_replicas(rs) != 0
                || rs.metadata.generation.unwrap_or(0) > observed
            {
                continue;
            }
            let (ns, name) = split_key_owned(rs);
            tracing::info!(controller = CONTROLLER_NAME, deployment = %key_of(d), rs = %name, "deleting old replica set beyond revisionHistoryLimit");
            match Api::<ReplicaSet>::namespaced(self.client.clone(), &ns)
                .delete(&name, &DeleteParams::default())
                .await
            {
                Ok(_) => {}
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Upstream's rolloutRecreate: all old pods gone, then the new ReplicaSet at full size.
    pub(super) async fn rollout_recreate(
        &self,
        d: &mut Deployment,
        rs_list: Vec<ReplicaSet>,
    ) -> Result<Action, SyncError> {
        let mut sets = self
            .all_replica_sets_and_sync_revision(d, &rs_list, false)
            .await?;
        let mut scaled_down = false;
        let active_old: Vec<ReplicaSet> = sets
            .old
            .iter()
            .filter(|rs| util::is_active(rs))
            .cloned()
            .collect();
        for rs in active_old {
            let (scaled, written) = self.scale_and_record(&rs, 0, d).await?;
            scaled_down |= scaled;
            sets.replace(written);
        }
        if scaled_down || self.old_pods_running(&sets) {
            return self.sync_rollout_status(d, &sets).await;
        }
        if sets.new.is_none() {
            // Without a new ReplicaSet every ReplicaSet is old, in its freshest copy.
            let current = sets.old.clone();
            sets = self
                .all_replica_sets_and_sync_revision(d, &current, true)
                .await?;
        }
        if let Some(new) = sets.new.clone() {
            let (_, written) = self.scale_and_record(&new, util::replicas(d), d).await?;
            sets.replace(written);
        }
        if util::deployment_complete(d, &d.status.clone().unwrap_or_default()) {
            self.cleanup_deployment(d, &sets.old).await?;
        }
        self.sync_rollout_status(d, &sets).await
    }

    /// Upstream's oldPodsRunning: old ReplicaSets still report pods, or a pod of one of them
    /// has not finished (terminating pods count: Recreate waits until they are gone).
    fn old_pods_running(&self, sets: &ReplicaSets) -> bool {
        let old: Vec<&ReplicaSet> = sets.old.iter().collect();
        if util::sum_status_replicas(&old) > 0 {
            return true;
        }
        sets.old
            .iter()
            .filter_map(|rs| rs.metadata.uid.as_deref())
            .any(|uid| {
                self.pods.list_controlled_by(uid).iter().any(|p| {
                    !matches!(
                        p.status.as_ref().and_then(|s| s.phase.as_deref()),
                        Some("Failed") | Some("Succeeded")
                    )
                })
            })
    }
}

pub(super) const CONTROLLER_NAME: &str = "deployment";

/// Upstream's FindActiveOrLatest: the only active ReplicaSet, or the newest when none is
/// active; None when several are active.
fn find_active_or_latest(sets: &ReplicaSets) -> Option<ReplicaSet> {
    if sets.new.is_none() && sets.old.is_empty() {
        return None;
    }
    let mut old: Vec<&ReplicaSet> = sets.old.iter().collect();
    old.sort_by(|a, b| util::by_creation(b, a));
    let active: Vec<&ReplicaSet> = old
        .iter()
        .copied()
        .chain(sets.new.as_ref())
        .filter(|rs| util::is_active(rs))
        .collect();
    match active.len() {
        0 => sets
            .new
            .clone()
            .or_else(|| old.first().map(|rs| (*rs).clone())),
        1 => Some(active[0].clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn rs(name: &str, replicas: i32, available: i32, created: &str) -> ReplicaSet {
        serde_json::from_value(json!({
            "metadata": {"name": name, "creationTimestamp": created},
            "spec": {"replicas": replicas, "selector": {}},
            "status": {"replicas": replicas, "availableReplicas": available, "readyReplicas": available}
        }))
        .unwrap()
    }

    fn deployment(replicas: i32) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "d", "generation": 2},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"a": "b"}}, "template": {},
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}}
        }))
        .unwrap()
    }

    #[test]
    fn status_reports_availability() {
        let d = deployment(4);
        let old = rs("old", 2, 2, "2024-01-01T00:00:00Z");
        let new = rs("new", 3, 1, "2024-01-02T00:00:00Z");
        let s = calculate_status(&d, &[&old, &new], Some(&new));
        assert_eq!(s.replicas, Some(5));
        assert_eq!(s.updated_replicas, Some(3));
        assert_eq!(s.available_replicas, Some(3));
        assert_eq!(s.unavailable_replicas, Some(2));
        assert_eq!(s.observed_generation, Some(2));
        // 3 available >= 4 - 1 unavailable allowed.
        let c = util::get_condition(&s, util::AVAILABLE).unwrap();
        assert_eq!(
            (c.status.as_str(), c.reason.as_deref()),
            ("True", Some(util::MIN_AVAILABLE))
        );
        let s = calculate_status(&d, &[&rs("x", 4, 2, "2024-01-01T00:00:00Z")], None);
        let c = util::get_condition(&s, util::AVAILABLE).unwrap();
        assert_eq!(
            (c.status.as_str(), c.reason.as_deref()),
            ("False", Some(util::MIN_UNAVAILABLE))
        );
    }

    #[test]
    fn active_or_latest() {
        let sets = ReplicaSets {
            new: Some(rs("new", 0, 0, "2024-01-03T00:00:00Z")),
            old: vec![
                rs("a", 0, 0, "2024-01-01T00:00:00Z"),
                rs("b", 3, 3, "2024-01-02T00:00:00Z"),
            ],
        };
        assert_eq!(
            find_active_or_latest(&sets)
                .unwrap()
                .metadata
                .name
                .as_deref(),
            Some("b")
        );
        let two = ReplicaSets {
            new: Some(rs("new", 1, 0, "2024-01-03T00:00:00Z")),
            old: vec![rs("b", 3, 3, "2024-01-02T00:00:00Z")],
        };
        assert!(find_active_or_latest(&two).is_none());
        let none_active = ReplicaSets {
            new: None,
            old: vec![
                rs("a", 0, 0, "2024-01-01T00:00:00Z"),
                rs("b", 0, 0, "2024-01-02T00:00:00Z"),
            ],
        };
        assert_eq!(
            find_active_or_latest(&none_active)
                .unwrap()
                .metadata
                .name
                .as_deref(),
            Some("b")
        );
    }
}
