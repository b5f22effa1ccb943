//! NodeAffinity: `spec.nodeSelector` and required node affinity as a filter (every
//! nodeSelector label, and any required term), preferred node affinity as a score (the sum
//! of the weights of the matching terms, scaled by the best node).

use super::helper::{node_selector_matches, node_selector_term_matches};
use crate::framework::{CycleState, FilterPlugin, ScorePlugin, Status, default_normalize};
use crate::types::{NodeInfo, NodeSpec, PodInfo};

pub const NAME: &str = "NodeAffinity";
pub const ERR_REASON: &str = "node(s) didn't match Pod's node affinity/selector";

pub struct NodeAffinity;

/// Whether the node satisfies the pod's nodeSelector and required node affinity.
pub fn required_matches(pod: &PodInfo, node: &NodeSpec) -> bool {
    pod.node_selector
        .iter()
        .all(|(k, v)| node.labels.get(k) == Some(v))
        && pod
            .required_node_affinity
            .as_ref()
            .is_none_or(|sel| node_selector_matches(sel, node))
}

impl FilterPlugin for NodeAffinity {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<(), Status> {
        if required_matches(pod, &node.node) {
            Ok(())
        } else {
            Err(Status::unresolvable(ERR_REASON))
        }
    }
}

impl ScorePlugin for NodeAffinity {
    fn name(&self) -> &'static str {
        NAME
    }

    fn weight(&self) -> i64 {
        2
    }

    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> i64 {
        pod.preferred_node_affinity
            .iter()
            .filter(|t| t.weight != 0 && node_selector_term_matches(&t.preference, &node.node))
            .map(|t| i64::from(t.weight))
            .sum()
    }

    fn normalize(&self, _: &CycleState, _: &PodInfo, scores: &mut [i64]) {
        default_normalize(scores, false);
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
    use crate::plugins::testing::{node_with_labels, pod};
    use k8s_openapi::api::core::v1::{
        NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, PreferredSchedulingTerm,
    };

    fn term(key: &str, op: &str, values: &[&str]) -> NodeSelectorTerm {
        NodeSelectorTerm {
            match_expressions: Some(vec![NodeSelectorRequirement {
                key: key.into(),
                operator: op.into(),
                values: Some(values.iter().map(|v| v.to_string()).collect()),
            }]),
            match_fields: None,
        }
    }

    #[test]
    fn filter_node_selector_and_required_affinity() {
        let ssd = node_with_labels("n", &[("disk", "ssd"), ("zone", "a")]);
        let cases: Vec<(&str, Vec<(&str, &str)>, Option<Vec<NodeSelectorTerm>>, bool)> = vec![
            ("nothing asked", vec![], None, true),
            ("selector matches", vec![("disk", "ssd")], None, true),
            ("selector differs", vec![("disk", "hdd")], None, false),
            (
                "selector needs all labels",
                vec![("disk", "ssd"), ("gpu", "yes")],
                None,
                false,
            ),
            (
                "affinity In",
                vec![],
                Some(vec![term("zone", "In", &["a", "b"])]),
                true,
            ),
            (
                "affinity NotIn",
                vec![],
                Some(vec![term("zone", "NotIn", &["a"])]),
                false,
            ),
            (
                "terms are ORed",
                vec![],
                Some(vec![
                    term("zone", "In", &["x"]),
                    term("disk", "Exists", &[]),
                ]),
                true,
            ),
            ("no terms match nothing", vec![], Some(vec![]), false),
            (
                "selector and affinity both apply",
                vec![("disk", "hdd")],
                Some(vec![term("zone", "In", &["a"])]),
                false,
            ),
        ];
        for (name, selector, terms, fits) in cases {
            let mut p = pod("p");
            p.node_selector = selector
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            p.required_node_affinity = terms.map(|t| NodeSelector {
                node_selector_terms: t,
            });
            let got = NodeAffinity.filter(&CycleState::default(), &p, &ssd);
            assert_eq!(got.is_ok(), fits, "{name}");
        }
    }

    #[test]
    fn preferred_terms_add_their_weights() {
        let nodes = [
            node_with_labels("a", &[("disk", "ssd"), ("zone", "a")]),
            node_with_labels("b", &[("disk", "ssd")]),
            node_with_labels("c", &[]),
        ];
        let mut p = pod("p");
        p.preferred_node_affinity = vec![
            PreferredSchedulingTerm {
                weight: 10,
                preference: term("disk", "In", &["ssd"]),
            },
            PreferredSchedulingTerm {
                weight: 30,
                preference: term("zone", "Exists", &[]),
            },
        ];
        let state = CycleState::default();
        let mut scores: Vec<i64> = nodes
            .iter()
            .map(|n| NodeAffinity.score(&state, &p, n))
            .collect();
        assert_eq!(scores, [40, 10, 0]);
        NodeAffinity.normalize(&state, &p, &mut scores);
        assert_eq!(scores, [100, 25, 0]);
    }
}
