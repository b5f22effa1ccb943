//! Upstream's progress.go: the Progressing condition (ReplicaSetUpdated while pods move,
//! NewReplicaSetAvailable when done, ProgressDeadlineExceeded when nothing moved for
//! progressDeadlineSeconds), ReplicaFailure carried over from the ReplicaSets, and a resync
//! at the deadline so a stuck rollout is reported without any event.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus};
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;

use super::sync::{ReplicaSets, calculate_status};
use super::util;
use super::{DeploymentController, SyncError};
use crate::framework::Action;

/// The Progressing and ReplicaFailure conditions upstream's syncRolloutStatus sets on top of
/// `calculate_status`.
pub(super) fn rollout_status(d: &Deployment, sets: &ReplicaSets) -> DeploymentStatus {
    let mut status = calculate_status(d, &sets.all(), sets.new.as_ref());
    if util::progress_deadline(d).is_none() {
        util::remove_condition(&mut status, util::PROGRESSING);
    }
    let current = d
        .status
        .as_ref()
        .and_then(|s| util::get_condition(s, util::PROGRESSING))
        .cloned();
    let complete_before = status.replicas == status.updated_replicas
        && current
            .as_ref()
            .is_some_and(|c| c.reason.as_deref() == Some(util::NEW_RS_AVAILABLE));
    if util::progress_deadline(d).is_some() && !complete_before {
        let name = sets.new.as_ref().map(|n| n.name_any()).unwrap_or_default();
        if util::deployment_complete(d, &status) {
            util::set_condition(
                &mut status,
                util::new_condition(
                    util::PROGRESSING,
                    "True",
                    util::NEW_RS_AVAILABLE,
                    format!("ReplicaSet \"{name}\" has successfully progressed."),
                ),
            );
        } else if util::deployment_progressing(d, &status) {
            // Progress refreshes lastUpdateTime even when the reason stays the same, which
            // set_condition alone would not do.
            let mut cond = util::new_condition(
                util::PROGRESSING,
                "True",
                util::REPLICA_SET_UPDATED,
                format!("ReplicaSet \"{name}\" is progressing."),
            );
            if let Some(cur) = &current {
                if cur.status == "True" {
                    cond.last_transition_time = cur.last_transition_time.clone();
                }
                util::remove_condition(&mut status, util::PROGRESSING);
            }
            util::set_condition(&mut status, cond);
        } else if util::deployment_timed_out(d, &status) {
            util::set_condition(
                &mut status,
                util::new_condition(
                    util::PROGRESSING,
                    "False",
                    util::TIMED_OUT,
                    format!("ReplicaSet \"{name}\" has timed out progressing."),
                ),
            );
        }
    }
    // The first ReplicaFailure of the ReplicaSets (new one first) becomes the Deployment's.
    let failure = sets
        .new
        .iter()
        .chain(sets.old.iter())
        .filter_map(|rs| rs.status.as_ref()?.conditions.as_ref())
        .flatten()
        .find(|c| c.type_ == util::REPLICA_FAILURE && c.status == "True")
        .map(util::rs_condition_to_deployment);
    match failure {
        Some(c) => util::set_condition(&mut status, c),
        None => util::remove_condition(&mut status, util::REPLICA_FAILURE),
    }
    status
}

impl DeploymentController {
    /// Upstream's syncRolloutStatus.
    pub(super) async fn sync_rollout_status(
        &self,
        d: &mut Deployment,
        sets: &ReplicaSets,
    ) -> Result<Action, SyncError> {
        let status = rollout_status(d, sets);
        if d.status.as_ref() != Some(&status) {
            self.write_status(d, status.clone()).await?;
        }
        Ok(requeue_stuck(d, &status))
    }
}

/// Upstream's requeueStuckDeployment: sync again when the progress deadline passes, so the
/// timeout is reported even if nothing else happens.
fn requeue_stuck(d: &Deployment, status: &DeploymentStatus) -> Action {
    let Some(deadline) = util::progress_deadline(d) else {
        return Action::Done;
    };
    let Some(cond) = util::get_condition(status, util::PROGRESSING) else {
        return Action::Done;
    };
    if util::deployment_complete(d, status) || cond.reason.as_deref() == Some(util::TIMED_OUT) {
        return Action::Done;
    }
    let Some(updated) = cond.last_update_time.as_ref() else {
        return Action::Done;
    };
    let due = updated.0.as_second() + i64::from(deadline);
    let now = Timestamp::now().as_second();
    let after = u64::try_from(due - now).unwrap_or(0);
    // Whole seconds are what the condition times carry; one more makes sure the deadline has
    // passed when the sync runs.
    Action::RequeueAfter(Duration::from_secs(after + 1))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use k8s_openapi::api::apps::v1::ReplicaSet;
    use serde_json::json;

    fn deployment(status: serde_json::Value) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "d", "generation": 1},
            "spec": {"replicas": 2, "progressDeadlineSeconds": 10, "selector": {"matchLabels": {"a": "b"}}, "template": {},
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}},
            "status": status
        }))
        .unwrap()
    }

    fn rs(replicas: i32, available: i32) -> ReplicaSet {
        serde_json::from_value(json!({
            "metadata": {"name": "d-abc"},
            "spec": {"replicas": replicas, "selector": {}},
            "status": {"replicas": replicas, "availableReplicas": available, "readyReplicas": available}
        }))
        .unwrap()
    }

    fn reason(s: &DeploymentStatus) -> (String, String) {
        let c = util::get_condition(s, util::PROGRESSING).unwrap();
        (c.status.clone(), c.reason.clone().unwrap())
    }

    #[test]
    fn progressing_reasons() {
        let sets = |r, a| ReplicaSets {
            new: Some(rs(r, a)),
            old: vec![],
        };
        // Pods became available: progressing.
        let d = deployment(
            json!({"replicas": 2, "updatedReplicas": 2, "observedGeneration": 1,
            "conditions": [{"type": "Progressing", "status": "True", "reason": "NewReplicaSetCreated", "lastUpdateTime": "2024-01-01T00:00:00Z"}]}),
        );
        let s = rollout_status(&d, &sets(2, 1));
        assert_eq!(
            reason(&s),
            ("True".into(), util::REPLICA_SET_UPDATED.into())
        );
        // All available: done.
        let s = rollout_status(&d, &sets(2, 2));
        assert_eq!(reason(&s), ("True".into(), util::NEW_RS_AVAILABLE.into()));
        // No progress since long before the deadline: timed out.
        let d = deployment(
            json!({"replicas": 2, "updatedReplicas": 2, "availableReplicas": 1, "readyReplicas": 1, "observedGeneration": 1,
            "conditions": [{"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated", "lastUpdateTime": "2024-01-01T00:00:00Z"}]}),
        );
        let s = rollout_status(&d, &sets(2, 1));
        assert_eq!(reason(&s), ("False".into(), util::TIMED_OUT.into()));
        assert_eq!(requeue_stuck(&d, &s), Action::Done);
    }
}
