//! PodTopologySpread: `topologySpreadConstraints`. Hard ones (`DoNotSchedule`) filter: on
//! the node's domain (its value of `topologyKey`), matching pods plus this one may exceed
//! the least-loaded domain by at most `maxSkew` (with fewer than `minDomains` domains the
//! minimum counts as 0). Soft ones (`ScheduleAnyway`) score: fewer matching pods in the
//! node's domain is better, weighted by the log of the number of domains.
//!
//! A pod without constraints gets upstream's system defaults (spread over hostnames with
//! maxSkew 3 and over zones with maxSkew 5, both soft), counting the pods that share its
//! controller ownerReference — the "spread" strategy for the replicas of one workload.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::TopologySpreadConstraint;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

use super::helper::{find_untolerated_taint, label_selector_matches};
use super::node_affinity::required_matches;
use crate::framework::{CycleState, FilterPlugin, MAX_NODE_SCORE, ScorePlugin, Status};
use crate::types::{NodeInfo, PodInfo};

pub const NAME: &str = "PodTopologySpread";
pub const ERR_CONSTRAINTS: &str = "node(s) didn't match pod topology spread constraints";
pub const ERR_MISSING_LABEL: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";
pub const HOSTNAME: &str = "kubernetes.io/hostname";
pub const ZONE: &str = "topology.kubernetes.io/zone";

#[derive(Debug, Clone)]
enum Selector {
    Labels(Option<LabelSelector>),
    /// Pods with this controller ownerReference uid (system default constraints).
    Controller(String),
}

#[derive(Debug, Clone)]
struct Constraint {
    max_skew: i64,
    topology_key: String,
    selector: Selector,
    min_domains: Option<i64>,
    honor_node_affinity: bool,
    honor_node_taints: bool,
}

impl Constraint {
    fn from_api(c: &TopologySpreadConstraint, pod: &PodInfo) -> Constraint {
        let mut selector = c.label_selector.clone();
        // matchLabelKeys: the pod's own values of these keys narrow the selector.
        if let Some(sel) = selector.as_mut() {
            for key in c.match_label_keys.iter().flatten() {
                if let Some(v) = pod.labels.get(key) {
                    sel.match_expressions.get_or_insert_with(Vec::new).push(
                        LabelSelectorRequirement {
                            key: key.clone(),
                            operator: "In".into(),
                            values: Some(vec![v.clone()]),
                        },
                    );
                }
            }
        }
        Constraint {
            max_skew: i64::from(c.max_skew),
            topology_key: c.topology_key.clone(),
            selector: Selector::Labels(selector),
            min_domains: c.min_domains.map(i64::from),
            honor_node_affinity: c.node_affinity_policy.as_deref() != Some("Ignore"),
            honor_node_taints: c.node_taints_policy.as_deref() == Some("Honor"),
        }
    }

    fn system_default(key: &str, max_skew: i64, controller_uid: &str) -> Constraint {
        Constraint {
            max_skew,
            topology_key: key.to_string(),
            selector: Selector::Controller(controller_uid.to_string()),
            min_domains: None,
            honor_node_affinity: true,
            honor_node_taints: false,
        }
    }

    fn counts_pod(&self, namespace: &str, p: &PodInfo) -> bool {
        !p.deleting
            && p.namespace == namespace
            && match &self.selector {
                Selector::Labels(sel) => label_selector_matches(sel.as_ref(), &p.labels),
                Selector::Controller(uid) => p.controller_uid.as_deref() == Some(uid),
            }
    }

    fn count_on_node(&self, namespace: &str, node: &NodeInfo) -> i64 {
        let n = match &self.selector {
            // Owner uids are unique cluster-wide, so the per-node tally is exact.
            Selector::Controller(uid) => node.controller_pods.get(uid).map_or(0, |n| *n as usize),
            Selector::Labels(_) => node
                .pods
                .iter()
                .filter(|p| self.counts_pod(namespace, p))
                .count(),
        };
        i64::try_from(n).unwrap_or(i64::MAX)
    }

    /// nodeAffinityPolicy / nodeTaintsPolicy: whether pods on this node count at all.
    fn node_included(&self, pod: &PodInfo, node: &NodeInfo) -> bool {
        (!self.honor_node_affinity || required_matches(pod, &node.node))
            && (!self.honor_node_taints
                || find_untolerated_taint(&node.node.taints, &pod.tolerations, |t| {
                    t.effect == "NoSchedule" || t.effect == "NoExecute"
                })
                .is_none())
    }
}

fn has_all_keys(node: &NodeInfo, constraints: &[Constraint]) -> bool {
    constraints
        .iter()
        .all(|c| node.node.labels.contains_key(&c.topology_key))
}

#[derive(Debug)]
pub struct SpreadFilterState {
    constraints: Vec<Constraint>,
    /// Per constraint: matching pods per domain (every eligible domain, zeros included).
    counts: Vec<HashMap<String, i64>>,
    min: Vec<i64>,
}

#[derive(Debug)]
pub struct SpreadScoreState {
    constraints: Vec<Constraint>,
    /// Per constraint: ln(number of domains + 2).
    weights: Vec<f64>,
    /// Per constraint (except hostname ones, counted per node directly): pods per domain.
    counts: Vec<HashMap<String, i64>>,
    /// Explicit constraints ignore nodes lacking a key; system defaults just skip the key.
    require_all_keys: bool,
}

pub struct PodTopologySpread;

/// A marker score for nodes the soft constraints ignore; normalize turns it into 0.
const IGNORED: i64 = -1;

impl FilterPlugin for PodTopologySpread {
    fn name(&self) -> &'static str {
        NAME
    }

    fn pre_filter(
        &self,
        pod: &PodInfo,
        nodes: &[NodeInfo],
        state: &mut CycleState,
    ) -> Result<(), Status> {
        let constraints: Vec<Constraint> = pod
            .topology_spread_constraints
            .iter()
            .filter(|c| c.when_unsatisfiable == "DoNotSchedule")
            .map(|c| Constraint::from_api(c, pod))
            .collect();
        if constraints.is_empty() {
            return Ok(());
        }
        let mut counts = vec![HashMap::new(); constraints.len()];
        for node in nodes.iter().filter(|n| n.present) {
            if !has_all_keys(node, &constraints) {
                continue;
            }
            for (i, c) in constraints.iter().enumerate() {
                if !c.node_included(pod, node) {
                    continue;
                }
                let Some(domain) = node.node.labels.get(&c.topology_key) else {
                    continue;
                };
                *counts[i].entry(domain.clone()).or_insert(0) +=
                    c.count_on_node(&pod.namespace, node);
            }
        }
        let min = constraints
            .iter()
            .zip(&counts)
            .map(|(c, domains)| {
                let too_few = c
                    .min_domains
                    .is_some_and(|m| i64::try_from(domains.len()).unwrap_or(0) < m);
                if too_few {
                    0
                } else {
                    domains.values().copied().min().unwrap_or(0)
                }
            })
            .collect();
        state.spread_filter = Some(SpreadFilterState {
            constraints,
            counts,
            min,
        });
        Ok(())
    }

    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<(), Status> {
        let Some(s) = &state.spread_filter else {
            return Ok(());
        };
        for (i, c) in s.constraints.iter().enumerate() {
            let Some(domain) = node.node.labels.get(&c.topology_key) else {
                return Err(Status::unresolvable(ERR_MISSING_LABEL));
            };
            let self_match = i64::from(c.counts_pod(&pod.namespace, pod));
            let matching = s.counts[i].get(domain).copied().unwrap_or(0);
            if matching + self_match - s.min[i] > c.max_skew {
                return Err(Status::unschedulable(ERR_CONSTRAINTS));
            }
        }
        Ok(())
    }
}

impl ScorePlugin for PodTopologySpread {
    fn name(&self) -> &'static str {
        NAME
    }

    fn weight(&self) -> i64 {
        2
    }

    fn pre_score(
        &self,
        pod: &PodInfo,
        nodes: &[NodeInfo],
        feasible: &[&NodeInfo],
        state: &mut CycleState,
    ) {
        let explicit = !pod.topology_spread_constraints.is_empty();
        let constraints: Vec<Constraint> = if explicit {
            pod.topology_spread_constraints
                .iter()
                .filter(|c| c.when_unsatisfiable == "ScheduleAnyway")
                .map(|c| Constraint::from_api(c, pod))
                .collect()
        } else if let Some(uid) = &pod.controller_uid {
            vec![
                Constraint::system_default(HOSTNAME, 3, uid),
                Constraint::system_default(ZONE, 5, uid),
            ]
        } else {
            Vec::new()
        };
        if constraints.is_empty() {
            return;
        }
        let mut counts = vec![HashMap::new(); constraints.len()];
        let mut considered = 0usize;
        for node in feasible {
            if explicit && !has_all_keys(node, &constraints) {
                continue;
            }
            considered += 1;
            for (i, c) in constraints.iter().enumerate() {
                if c.topology_key == HOSTNAME {
                    continue;
                }
                if let Some(domain) = node.node.labels.get(&c.topology_key) {
                    counts[i].entry(domain.clone()).or_insert(0);
                }
            }
        }
        let weights = constraints
            .iter()
            .zip(&counts)
            .map(|(c, domains)| {
                let size = if c.topology_key == HOSTNAME {
                    considered
                } else {
                    domains.len()
                };
                ((size + 2) as f64).ln()
            })
            .collect();
        // Domains other than hostname count pods on every node in them, feasible or not.
        if counts.iter().any(|d| !d.is_empty()) {
            for node in nodes.iter().filter(|n| n.present) {
                for (i, c) in constraints.iter().enumerate() {
                    if c.topology_key == HOSTNAME || !c.node_included(pod, node) {
                        continue;
                    }
                    let Some(domain) = node.node.labels.get(&c.topology_key) else {
                        continue;
                    };
                    if let Some(n) = counts[i].get_mut(domain) {
                        *n += c.count_on_node(&pod.namespace, node);
                    }
                }
            }
        }
        state.spread_score = Some(SpreadScoreState {
            constraints,
            weights,
            counts,
            require_all_keys: explicit,
        });
    }

    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> i64 {
        let Some(s) = &state.spread_score else {
            return 0;
        };
        if s.require_all_keys && !has_all_keys(node, &s.constraints) {
            return IGNORED;
        }
        let mut score = 0.0;
        for (i, c) in s.constraints.iter().enumerate() {
            let Some(domain) = node.node.labels.get(&c.topology_key) else {
                continue;
            };
            let count = if c.topology_key == HOSTNAME {
                c.count_on_node(&pod.namespace, node)
            } else {
                s.counts[i].get(domain).copied().unwrap_or(0)
            };
            score += count as f64 * s.weights[i] + (c.max_skew - 1) as f64;
        }
        score.round() as i64
    }

    fn normalize(&self, state: &CycleState, _: &PodInfo, scores: &mut [i64]) {
        if state.spread_score.is_none() {
            return;
        }
        let counted = || scores.iter().copied().filter(|s| *s != IGNORED);
        let (Some(min), Some(max)) = (counted().min(), counted().max()) else {
            scores.iter_mut().for_each(|s| *s = 0);
            return;
        };
        for s in scores.iter_mut() {
            *s = if *s == IGNORED {
                0
            } else if max == 0 {
                MAX_NODE_SCORE
            } else {
                MAX_NODE_SCORE * (max + min - *s) / max
            };
        }
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
    use std::collections::BTreeMap;
    use std::sync::Arc;

    fn labelled(name: &str, app: &str) -> PodInfo {
        let mut p = pod(name);
        p.namespace = "default".into();
        p.labels = BTreeMap::from([("app".to_string(), app.to_string())]);
        p
    }

    fn constraint(
        key: &str,
        max_skew: i32,
        hard: bool,
        min_domains: Option<i32>,
    ) -> TopologySpreadConstraint {
        TopologySpreadConstraint {
            max_skew,
            topology_key: key.into(),
            when_unsatisfiable: if hard {
                "DoNotSchedule"
            } else {
                "ScheduleAnyway"
            }
            .into(),
            label_selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([("app".to_string(), "web".to_string())])),
                match_expressions: None,
            }),
            min_domains,
            ..TopologySpreadConstraint::default()
        }
    }

    /// Nodes a, b (zone 1) and c (zone 2), with `web` pods per node.
    fn cluster(web: [usize; 3]) -> Vec<NodeInfo> {
        let mut nodes = vec![
            node_with_labels("a", &[(HOSTNAME, "a"), (ZONE, "1")]),
            node_with_labels("b", &[(HOSTNAME, "b"), (ZONE, "1")]),
            node_with_labels("c", &[(HOSTNAME, "c"), (ZONE, "2")]),
        ];
        for (n, count) in nodes.iter_mut().zip(web) {
            for i in 0..count {
                n.add_pod(Arc::new(labelled(&format!("{}-{i}", n.name()), "web")));
            }
            n.add_pod(Arc::new(labelled(&format!("{}-db", n.name()), "db")));
        }
        nodes
    }

    fn feasible_names(p: &PodInfo, nodes: &[NodeInfo]) -> Vec<String> {
        let mut state = CycleState::default();
        PodTopologySpread.pre_filter(p, nodes, &mut state).unwrap();
        nodes
            .iter()
            .filter(|n| PodTopologySpread.filter(&state, p, n).is_ok())
            .map(|n| n.name().to_string())
            .collect()
    }

    #[test]
    fn hard_constraints_filter() {
        let cases: Vec<(&str, [usize; 3], Vec<TopologySpreadConstraint>, &[&str])> = vec![
            ("no constraints", [5, 0, 0], vec![], &["a", "b", "c"]),
            (
                "hostname skew 1",
                [1, 0, 0],
                vec![constraint(HOSTNAME, 1, true, None)],
                &["b", "c"],
            ),
            (
                "hostname skew 2",
                [1, 0, 0],
                vec![constraint(HOSTNAME, 2, true, None)],
                &["a", "b", "c"],
            ),
            (
                "balanced",
                [1, 1, 1],
                vec![constraint(HOSTNAME, 1, true, None)],
                &["a", "b", "c"],
            ),
            (
                "zone skew 1",
                [1, 0, 0],
                vec![constraint(ZONE, 1, true, None)],
                &["c"],
            ),
            (
                "zone skew 1 balanced",
                [1, 0, 1],
                vec![constraint(ZONE, 1, true, None)],
                &["a", "b", "c"],
            ),
            (
                "minDomains above the domain count makes the minimum 0",
                [1, 1, 1],
                vec![constraint(ZONE, 1, true, Some(3))],
                &[],
            ),
            (
                "soft constraints do not filter",
                [3, 0, 0],
                vec![constraint(HOSTNAME, 1, false, None)],
                &["a", "b", "c"],
            ),
            (
                "a key missing everywhere",
                [0, 0, 0],
                vec![constraint("rack", 1, true, None)],
                &[],
            ),
        ];
        for (name, web, constraints, want) in cases {
            let nodes = cluster(web);
            let mut p = labelled("new", "web");
            p.topology_spread_constraints = constraints;
            assert_eq!(feasible_names(&p, &nodes), want, "{name}");
        }
    }

    #[test]
    fn missing_label_is_unresolvable() {
        let mut nodes = cluster([0, 0, 0]);
        nodes.push(node_with_labels("bare", &[]));
        let mut p = labelled("new", "web");
        p.topology_spread_constraints = vec![constraint(ZONE, 1, true, None)];
        let mut state = CycleState::default();
        PodTopologySpread
            .pre_filter(&p, &nodes, &mut state)
            .unwrap();
        assert_eq!(
            PodTopologySpread.filter(&state, &p, &nodes[3]),
            Err(Status::unresolvable(ERR_MISSING_LABEL))
        );
    }

    fn normalized(p: &PodInfo, nodes: &[NodeInfo]) -> Vec<i64> {
        let feasible: Vec<&NodeInfo> = nodes.iter().collect();
        let mut state = CycleState::default();
        PodTopologySpread.pre_score(p, nodes, &feasible, &mut state);
        let mut scores: Vec<i64> = nodes
            .iter()
            .map(|n| PodTopologySpread.score(&state, p, n))
            .collect();
        PodTopologySpread.normalize(&state, p, &mut scores);
        scores
    }

    #[test]
    fn soft_constraints_prefer_emptier_domains() {
        let mut p = labelled("new", "web");
        p.topology_spread_constraints = vec![constraint(HOSTNAME, 1, false, None)];
        let scores = normalized(&p, &cluster([2, 1, 0]));
        assert!(scores[2] > scores[1] && scores[1] > scores[0], "{scores:?}");
        assert_eq!(scores[2], 100);
        // Balanced: all equal.
        let scores = normalized(&p, &cluster([1, 1, 1]));
        assert!(scores.iter().all(|s| *s == scores[0]), "{scores:?}");
    }

    #[test]
    fn default_spreading_counts_pods_of_the_same_controller() {
        let mut nodes = vec![
            node_with_labels("a", &[(HOSTNAME, "a")]),
            node_with_labels("b", &[(HOSTNAME, "b")]),
            node_with_labels("c", &[(HOSTNAME, "c")]),
        ];
        let owned = |name: &str, owner: &str| {
            let mut p = pod(name);
            p.controller_uid = Some(owner.into());
            Arc::new(p)
        };
        nodes[0].add_pod(owned("x1", "rs-1"));
        nodes[0].add_pod(owned("x2", "rs-1"));
        nodes[1].add_pod(owned("x3", "rs-1"));
        // Pods of another controller do not matter.
        nodes[2].add_pod(owned("y1", "rs-2"));
        nodes[2].add_pod(owned("y2", "rs-2"));
        let p = owned("new", "rs-1");
        let scores = normalized(&p, &nodes);
        assert!(scores[2] > scores[1] && scores[1] > scores[0], "{scores:?}");
        // A pod without a controller gets no default spreading.
        let scores = normalized(&pod("lonely"), &nodes);
        assert_eq!(scores, [0, 0, 0]);
    }
}
