//! Upstream's rolling.go: grow the new ReplicaSet while the total stays within
//! replicas + maxSurge, shrink old ones while available pods stay at or above
//! replicas - maxUnavailable (unhealthy old pods go first).

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};

use super::sync::ReplicaSets;
use super::util::{self, rs_replicas};
use super::{DeploymentController, SyncError};
use crate::framework::{Action, pods};

impl DeploymentController {
    /// The pods a ReplicaSet counts for against replicas + maxSurge: its spec, or the active
    /// pods the watch still shows if more. Upstream counts the spec only, so a new pod could
    /// be created before the old one its scale-down removes is gone, briefly exceeding
    /// maxSurge; counting what still runs keeps the bound at every moment.
    pub(super) fn pods_counted(&self, rs: &ReplicaSet) -> i32 {
        let active = rs
            .metadata
            .uid
            .as_deref()
            .map(|uid| {
                self.pods
                    .list_controlled_by(uid)
                    .iter()
                    .filter(|p| pods::is_active(p))
                    .count()
            })
            .unwrap_or(0);
        rs_replicas(rs).max(i32::try_from(active).unwrap_or(i32::MAX))
    }

    /// The available pods a ReplicaSet counts for when old pods may go: the least of its
    /// reported available replicas, its spec (pods beyond it are being removed) and the
    /// available pods the watch shows. Upstream trusts the status alone, which lags a
    /// scale-down it just made, so a second scale-down could briefly take availability
    /// below replicas - maxUnavailable.
    fn available_counted(&self, d: &Deployment, rs: &ReplicaSet) -> i32 {
        let now = chrono::Utc::now();
        let min_ready = rs
            .spec
            .as_ref()
            .and_then(|s| s.min_ready_seconds)
            .unwrap_or_else(|| util::min_ready_seconds(d));
        let observed = rs
            .metadata
            .uid
            .as_deref()
            .map(|uid| {
                self.pods
                    .list_controlled_by(uid)
                    .iter()
                    .filter(|p| pods::is_active(p) && pods::is_available(p, min_ready, now))
                    .count()
            })
            .unwrap_or(0);
        util::status_of(rs)
            .2
            .min(rs_replicas(rs))
            .min(i32::try_from(observed).unwrap_or(i32::MAX))
    }

    pub(super) async fn rollout_rolling(
        &self,
        d: &mut Deployment,
        rs_list: Vec<ReplicaSet>,
    ) -> Result<Action, SyncError> {
        let mut sets = self
            .all_replica_sets_and_sync_revision(d, &rs_list, true)
            .await?;

        if self.reconcile_new_replica_set(d, &mut sets).await? {
            return self.sync_rollout_status(d, &sets).await;
        }
        if self.reconcile_old_replica_sets(d, &mut sets).await? {
            return self.sync_rollout_status(d, &sets).await;
        }
        if util::deployment_complete(d, &d.status.clone().unwrap_or_default()) {
            self.cleanup_deployment(d, &sets.old).await?;
        }
        self.sync_rollout_status(d, &sets).await
    }

    /// Scales the new ReplicaSet up as far as maxSurge allows (or down to the Deployment's
    /// replicas when it has more); true when it changed.
    async fn reconcile_new_replica_set(
        &self,
        d: &Deployment,
        sets: &mut ReplicaSets,
    ) -> Result<bool, SyncError> {
        let Some(new) = sets.new.clone() else {
            return Ok(false);
        };
        let want = util::replicas(d);
        let current = rs_replicas(&new);
        if current == want {
            return Ok(false);
        }
        let target = if current > want {
            want
        } else {
            let counted = sets.all().into_iter().map(|rs| self.pods_counted(rs)).sum();
            util::new_rs_new_replicas(d, counted, &new)?
        };
        let (scaled, written) = self.scale_and_record(&new, target, d).await?;
        sets.replace(written);
        Ok(scaled)
    }

    /// Scales old ReplicaSets down within maxUnavailable; true when any changed.
    async fn reconcile_old_replica_sets(
        &self,
        d: &Deployment,
        sets: &mut ReplicaSets,
    ) -> Result<bool, SyncError> {
        let old_pods: i32 = sets.old.iter().map(rs_replicas).sum();
        if old_pods == 0 {
            return Ok(false);
        }
        let all_pods = util::sum_spec(&sets.all());
        let min_available = util::replicas(d) - util::max_unavailable(d);
        let new_unavailable = sets
            .new
            .as_ref()
            .map(|n| rs_replicas(n) - util::status_of(n).2)
            .unwrap_or(0);
        // Pods that may go: everything above the minimum, less what the new ReplicaSet has
        // not made available yet (those may never become available).
        let max_scaled_down = all_pods - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return Ok(false);
        }
        let cleaned = self
            .cleanup_unhealthy_replicas(d, sets, max_scaled_down)
            .await?;
        let scaled = self.scale_down_old_for_rolling_update(d, sets).await?;
        Ok(cleaned + scaled > 0)
    }

    /// Removes old replicas that are not available, oldest ReplicaSet first, up to
    /// `max_cleanup`: they cost no availability.
    async fn cleanup_unhealthy_replicas(
        &self,
        d: &Deployment,
        sets: &mut ReplicaSets,
        max_cleanup: i32,
    ) -> Result<i32, SyncError> {
        let mut old: Vec<ReplicaSet> = sets.old.clone();
        old.sort_by(util::by_creation);
        let mut total = 0;
        for rs in old {
            if total >= max_cleanup {
                break;
            }
            let replicas = rs_replicas(&rs);
            let available = util::status_of(&rs).2;
            if replicas == 0 || replicas == available {
                continue;
            }
            let down = (max_cleanup - total).min(replicas - available);
            let (_, written) = self.scale_and_record(&rs, replicas - down, d).await?;
            sets.replace(written);
            total += down;
        }
        Ok(total)
    }

    /// Scales old ReplicaSets down, oldest first, by what availability above the minimum
    /// allows.
    async fn scale_down_old_for_rolling_update(
        &self,
        d: &Deployment,
        sets: &mut ReplicaSets,
    ) -> Result<i32, SyncError> {
        let min_available = util::replicas(d) - util::max_unavailable(d);
        let available: i32 = sets
            .all()
            .into_iter()
            .map(|rs| self.available_counted(d, rs))
            .sum();
        if available <= min_available {
            return Ok(0);
        }
        let allowed = available - min_available;
        let mut old: Vec<ReplicaSet> = sets.old.clone();
        old.sort_by(util::by_creation);
        let mut total = 0;
        for rs in old {
            if total >= allowed {
                break;
            }
            let replicas = rs_replicas(&rs);
            if replicas == 0 {
                continue;
            }
            let down = replicas.min(allowed - total);
            let (_, written) = self.scale_and_record(&rs, replicas - down, d).await?;
            sets.replace(written);
            total += down;
        }
        Ok(total)
    }
}
