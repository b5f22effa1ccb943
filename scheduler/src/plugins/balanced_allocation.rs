//! NodeResourcesBalancedAllocation: prefers nodes where, with the pod added, cpu and memory
//! would be used in similar proportions (1 - the standard deviation of the two fractions).

use crate::framework::{CycleState, MAX_NODE_SCORE, ScorePlugin};
use crate::types::{NodeInfo, PodInfo};

pub const NAME: &str = "NodeResourcesBalancedAllocation";

pub struct BalancedAllocation;

fn fraction(requested: i64, allocatable: i64) -> Option<f64> {
    (allocatable > 0).then(|| (requested as f64 / allocatable as f64).min(1.0))
}

impl ScorePlugin for BalancedAllocation {
    fn name(&self) -> &'static str {
        NAME
    }

    fn weight(&self) -> i64 {
        1
    }

    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> i64 {
        // Upstream skips pods that request neither resource.
        if pod.requests.milli_cpu == 0 && pod.requests.memory == 0 {
            return 0;
        }
        let alloc = &node.node.allocatable;
        let used = &node.requested;
        let fractions: Vec<f64> = [
            fraction(used.milli_cpu + pod.requests.milli_cpu, alloc.milli_cpu),
            fraction(used.memory + pod.requests.memory, alloc.memory),
        ]
        .into_iter()
        .flatten()
        .collect();
        let std = match fractions.as_slice() {
            [a, b] => ((a - b) / 2.0).abs(),
            _ => 0.0,
        };
        ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
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
    use crate::plugins::testing::{node, pod_requesting};
    use std::sync::Arc;

    #[test]
    fn balanced_nodes_score_higher() {
        let state = CycleState::default();
        let cases = [
            // (existing cpu, existing memory, pod cpu, pod memory, want)
            ("equal shares", 0, 0, 1000, 2 << 30, 100),
            ("cpu heavy", 3000, 0, 1000, 0, 50),
            ("cpu at half, memory idle", 1000, 0, 1000, 0, 75),
            (
                "over-committed fractions cap at 1",
                8000,
                8 << 30,
                1000,
                1 << 30,
                100,
            ),
            ("no requests: skipped", 3000, 0, 0, 0, 0),
        ];
        for (name, used_cpu, used_mem, cpu, mem, want) in cases {
            let mut n = node("n", 4000, 8 << 30);
            n.add_pod(Arc::new(pod_requesting("e", used_cpu, used_mem)));
            let p = pod_requesting("p", cpu, mem);
            assert_eq!(BalancedAllocation.score(&state, &p, &n), want, "{name}");
        }
    }
}
