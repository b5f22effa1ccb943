//! NodeUnschedulable: cordoned nodes (`spec.unschedulable`, what `kubectl cordon` sets) take
//! no new pods, unless the pod tolerates the `node.kubernetes.io/unschedulable` taint.

use k8s_openapi::api::core::v1::Taint;

use super::helper::tolerated;
use crate::framework::{CycleState, FilterPlugin, Status};
use crate::types::{NodeInfo, PodInfo};

pub const NAME: &str = "NodeUnschedulable";
pub const ERR_REASON: &str = "node(s) were unschedulable";
pub const TAINT_KEY: &str = "node.kubernetes.io/unschedulable";

pub struct NodeUnschedulable;

impl FilterPlugin for NodeUnschedulable {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<(), Status> {
        if !node.node.unschedulable {
            return Ok(());
        }
        let taint = Taint {
            key: TAINT_KEY.to_string(),
            effect: "NoSchedule".to_string(),
            ..Taint::default()
        };
        if tolerated(&pod.tolerations, &taint) {
            return Ok(());
        }
        Err(Status::unresolvable(ERR_REASON))
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::type_complexity
)]
mod tests {
    use super::*;
    use crate::plugins::testing::{node, pod};
    use k8s_openapi::api::core::v1::Toleration;

    #[test]
    fn cordoned_nodes_are_skipped_unless_tolerated() {
        let tolerate = Toleration {
            key: Some(TAINT_KEY.into()),
            operator: Some("Exists".into()),
            effect: Some("NoSchedule".into()),
            ..Toleration::default()
        };
        let cases = [
            ("schedulable node", false, vec![], true),
            ("cordoned node", true, vec![], false),
            ("cordoned node, tolerated", true, vec![tolerate], true),
        ];
        for (name, cordoned, tolerations, want) in cases {
            let mut n = node("n", 1000, 1 << 30);
            std::sync::Arc::make_mut(&mut n.node).unschedulable = cordoned;
            let mut p = pod("p");
            p.tolerations = tolerations;
            let got = NodeUnschedulable.filter(&CycleState::default(), &p, &n);
            assert_eq!(got.is_ok(), want, "{name}");
            if let Err(s) = got {
                assert_eq!(s, Status::unresolvable(ERR_REASON));
            }
        }
    }
}
