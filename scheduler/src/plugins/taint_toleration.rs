//! TaintToleration: NoSchedule and NoExecute taints the pod does not tolerate rule the node
//! out; PreferNoSchedule taints it does not tolerate make the node less attractive (fewer
//! is better).

use k8s_openapi::api::core::v1::Toleration;

use super::helper::{find_untolerated_taint, tolerates};
use crate::framework::{CycleState, FilterPlugin, ScorePlugin, Status, default_normalize};
use crate::types::{NodeInfo, PodInfo};

pub const NAME: &str = "TaintToleration";

pub struct TaintToleration;

impl FilterPlugin for TaintToleration {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<(), Status> {
        let blocking = |t: &k8s_openapi::api::core::v1::Taint| {
            t.effect == "NoSchedule" || t.effect == "NoExecute"
        };
        match find_untolerated_taint(&node.node.taints, &pod.tolerations, blocking) {
            None => Ok(()),
            Some(t) => Err(Status::unresolvable(format!(
                "node(s) had untolerated taint {{{}: {}}}",
                t.key,
                t.value.as_deref().unwrap_or_default()
            ))),
        }
    }
}

impl ScorePlugin for TaintToleration {
    fn name(&self) -> &'static str {
        NAME
    }

    fn weight(&self) -> i64 {
        3
    }

    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> i64 {
        if node.node.taints.is_empty() {
            return 0;
        }
        // Only tolerations that apply to PreferNoSchedule (or to every effect) count.
        let applies = |t: &&Toleration| {
            matches!(
                t.effect.as_deref(),
                None | Some("") | Some("PreferNoSchedule")
            )
        };
        let untolerated = node
            .node
            .taints
            .iter()
            .filter(|taint| {
                taint.effect == "PreferNoSchedule"
                    && !pod
                        .tolerations
                        .iter()
                        .filter(applies)
                        .any(|t| tolerates(t, taint))
            })
            .count();
        i64::try_from(untolerated).unwrap_or(i64::MAX)
    }

    fn normalize(&self, _: &CycleState, _: &PodInfo, scores: &mut [i64]) {
        default_normalize(scores, true);
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
    use crate::plugins::testing::{node_with_taints, pod};

    fn tol(key: &str, effect: &str) -> Toleration {
        Toleration {
            key: Some(key.into()),
            operator: Some("Exists".into()),
            effect: Some(effect.into()).filter(|e: &String| !e.is_empty()),
            ..Toleration::default()
        }
    }

    #[test]
    fn filter() {
        let cases: Vec<(&str, Vec<(&str, &str, &str)>, Vec<Toleration>, Option<&str>)> = vec![
            ("no taints", vec![], vec![], None),
            (
                "NoSchedule untolerated",
                vec![("dedicated", "gpu", "NoSchedule")],
                vec![],
                Some("node(s) had untolerated taint {dedicated: gpu}"),
            ),
            (
                "NoExecute untolerated",
                vec![("k", "", "NoExecute")],
                vec![],
                Some("node(s) had untolerated taint {k: }"),
            ),
            (
                "tolerated",
                vec![("dedicated", "gpu", "NoSchedule")],
                vec![tol("dedicated", "NoSchedule")],
                None,
            ),
            (
                "PreferNoSchedule does not filter",
                vec![("k", "v", "PreferNoSchedule")],
                vec![],
                None,
            ),
            (
                "toleration for another effect",
                vec![("dedicated", "gpu", "NoSchedule")],
                vec![tol("dedicated", "NoExecute")],
                Some("node(s) had untolerated taint {dedicated: gpu}"),
            ),
        ];
        for (name, taints, tolerations, want) in cases {
            let n = node_with_taints("n", &taints);
            let mut p = pod("p");
            p.tolerations = tolerations;
            let got = TaintToleration.filter(&CycleState::default(), &p, &n);
            match want {
                None => assert!(got.is_ok(), "{name}: {got:?}"),
                Some(reason) => assert_eq!(got, Err(Status::unresolvable(reason)), "{name}"),
            }
        }
    }

    #[test]
    fn prefer_no_schedule_taints_lower_the_score() {
        let nodes = [
            node_with_taints("a", &[]),
            node_with_taints("b", &[("x", "1", "PreferNoSchedule")]),
            node_with_taints(
                "c",
                &[
                    ("x", "1", "PreferNoSchedule"),
                    ("y", "1", "PreferNoSchedule"),
                ],
            ),
            node_with_taints(
                "d",
                &[("x", "1", "PreferNoSchedule"), ("z", "1", "NoSchedule")],
            ),
        ];
        let state = CycleState::default();
        let mut p = pod("p");
        let mut scores: Vec<i64> = nodes
            .iter()
            .map(|n| TaintToleration.score(&state, &p, n))
            .collect();
        assert_eq!(scores, [0, 1, 2, 1]);
        TaintToleration.normalize(&state, &p, &mut scores);
        assert_eq!(scores, [100, 50, 0, 50]);
        // Tolerating x (for every effect) makes b as good as a.
        p.tolerations = vec![tol("x", "")];
        let scores: Vec<i64> = nodes
            .iter()
            .map(|n| TaintToleration.score(&state, &p, n))
            .collect();
        assert_eq!(scores, [0, 0, 1, 0]);
    }
}
