//! The ReplicationController controller: the replica manager of [`crate::replicaset`] applied
//! to v1 ReplicationControllers (a map selector, which defaults to the template's labels).

use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::{PodTemplateSpec, ReplicationController};

use crate::framework::Selector;
use crate::framework::selector::InvalidSelector;
use crate::replicaset::{ReplicaCondition, ReplicaOwner, ReplicaStatus};
use crate::{Context, Error};

impl ReplicaOwner for ReplicationController {
    const CONTROLLER: &'static str = "replicationcontroller";
    fn selector(&self) -> Result<Selector, InvalidSelector> {
        let Some(spec) = &self.spec else {
            return Ok(Selector::Nothing);
        };
        // The API server defaults an absent selector to the template's labels; do the same
        // for objects written before that default existed.
        let selector = spec.selector.clone().or_else(|| {
            spec.template
                .as_ref()
                .and_then(|t| t.metadata.as_ref())
                .and_then(|m| m.labels.clone())
        });
        Ok(match selector {
            Some(s) if !s.is_empty() => Selector::from_map(&s),
            _ => Selector::Nothing,
        })
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
                        .map(|t| crate::replicaset::format_time(&t.0)),
                })
                .collect(),
        }
    }
    fn concurrency(ctx: &Context) -> usize {
        ctx.options.concurrent_rc_syncs
    }
}

/// Starts the ReplicationController controller.
pub fn start(ctx: Context) -> BoxFuture<'static, Result<(), Error>> {
    Box::pin(crate::replicaset::run::<ReplicationController>(ctx))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn selector_defaults_to_template_labels() {
        let rc: ReplicationController = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "redis-master"},
            "spec": {"template": {"metadata": {"labels": {"app": "redis", "role": "master"}}}}
        }))
        .unwrap();
        let sel = rc.selector().unwrap();
        let mut labels = BTreeMap::new();
        labels.insert("app".to_string(), "redis".to_string());
        assert!(!sel.matches(Some(&labels)));
        labels.insert("role".to_string(), "master".to_string());
        assert!(sel.matches(Some(&labels)));
    }
}
