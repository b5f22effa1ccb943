//! NodeResourcesFit: the pod's requests (cpu, memory, ephemeral-storage, extended resources)
//! must fit in what the node has allocatable minus what its pods (bound and assumed)
//! request, and the node must have room for one more pod. As a score it is upstream's
//! default LeastAllocated strategy: the more cpu and memory stays free, the better (pods
//! without requests count upstream's defaults here, so they still spread).

use crate::framework::{CycleState, FilterPlugin, MAX_NODE_SCORE, ScorePlugin, Status};
use crate::types::{NodeInfo, PodInfo};

pub const NAME: &str = "NodeResourcesFit";

pub struct NodeResourcesFit;

impl FilterPlugin for NodeResourcesFit {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<(), Status> {
        let alloc = &node.node.allocatable;
        let used = &node.requested;
        let req = &pod.requests;
        let mut reasons = Vec::new();
        let pods = i64::try_from(node.pod_count()).unwrap_or(i64::MAX);
        if pods.saturating_add(1) > alloc.allowed_pods {
            reasons.push("Too many pods".into());
        }
        if req.milli_cpu > 0 && req.milli_cpu > alloc.milli_cpu - used.milli_cpu {
            reasons.push("Insufficient cpu".into());
        }
        if req.memory > 0 && req.memory > alloc.memory - used.memory {
            reasons.push("Insufficient memory".into());
        }
        if req.ephemeral_storage > 0
            && req.ephemeral_storage > alloc.ephemeral_storage - used.ephemeral_storage
        {
            reasons.push("Insufficient ephemeral-storage".into());
        }
        for (name, amount) in &req.scalar {
            if *amount > 0 && *amount > alloc.scalar(name) - used.scalar(name) {
                reasons.push(format!("Insufficient {name}").into());
            }
        }
        if reasons.is_empty() {
            Ok(())
        } else {
            Err(Status {
                code: crate::framework::Code::Unschedulable,
                reasons,
            })
        }
    }
}

/// Upstream's leastRequestedScore: the free share of the resource, 0..=100.
fn least_requested(requested: i64, capacity: i64) -> i64 {
    if capacity <= 0 || requested > capacity {
        return 0;
    }
    (capacity - requested) * MAX_NODE_SCORE / capacity
}

impl ScorePlugin for NodeResourcesFit {
    fn name(&self) -> &'static str {
        NAME
    }

    fn weight(&self) -> i64 {
        1
    }

    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> i64 {
        let alloc = &node.node.allocatable;
        let used = &node.non_zero_requested;
        let req = &pod.non_zero_requests;
        // cpu and memory, weight 1 each (upstream's default resources).
        let cpu = least_requested(used.milli_cpu + req.milli_cpu, alloc.milli_cpu);
        let memory = least_requested(used.memory + req.memory, alloc.memory);
        (cpu + memory) / 2
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
    use crate::plugins::testing::{node, pod, pod_requesting};
    use crate::resource::DEFAULT_MEMORY_REQUEST;
    use std::sync::Arc;

    #[test]
    fn filter() {
        struct Case {
            name: &'static str,
            existing: Vec<(i64, i64)>,
            request: (i64, i64),
            gpu: i64,
            max_pods: i64,
            want: Vec<&'static str>,
        }
        let cases = [
            Case {
                name: "fits",
                existing: vec![(1000, 1 << 30)],
                request: (1000, 1 << 30),
                gpu: 0,
                max_pods: 110,
                want: vec![],
            },
            Case {
                name: "exactly full still fits",
                existing: vec![(3000, 3 << 30)],
                request: (1000, 1 << 30),
                gpu: 0,
                max_pods: 110,
                want: vec![],
            },
            Case {
                name: "cpu short",
                existing: vec![(3500, 0)],
                request: (1000, 0),
                gpu: 0,
                max_pods: 110,
                want: vec!["Insufficient cpu"],
            },
            Case {
                name: "cpu and memory short",
                existing: vec![(3500, 4 << 30)],
                request: (1000, 1),
                gpu: 0,
                max_pods: 110,
                want: vec!["Insufficient cpu", "Insufficient memory"],
            },
            Case {
                name: "no requests fit anywhere with room for a pod",
                existing: vec![(4000, 4 << 30)],
                request: (0, 0),
                gpu: 0,
                max_pods: 110,
                want: vec![],
            },
            Case {
                name: "too many pods",
                existing: vec![(0, 0), (0, 0)],
                request: (0, 0),
                gpu: 0,
                max_pods: 2,
                want: vec!["Too many pods"],
            },
            Case {
                name: "extended resource missing",
                existing: vec![],
                request: (0, 0),
                gpu: 1,
                max_pods: 110,
                want: vec!["Insufficient example.com/gpu"],
            },
        ];
        for c in cases {
            let mut n = node("n", 4000, 4 << 30);
            Arc::make_mut(&mut n.node).allocatable.allowed_pods = c.max_pods;
            for (i, (cpu, mem)) in c.existing.iter().enumerate() {
                n.add_pod(Arc::new(pod_requesting(&format!("e{i}"), *cpu, *mem)));
            }
            let mut p = pod_requesting("p", c.request.0, c.request.1);
            if c.gpu > 0 {
                p.requests.scalar.insert("example.com/gpu".into(), c.gpu);
            }
            let got = NodeResourcesFit.filter(&CycleState::default(), &p, &n);
            let reasons: Vec<String> = got
                .err()
                .map(|s| s.reasons.iter().map(|r| r.to_string()).collect())
                .unwrap_or_default();
            assert_eq!(reasons, c.want, "{}", c.name);
        }
    }

    #[test]
    fn least_allocated_prefers_free_nodes_and_counts_defaults() {
        let state = CycleState::default();
        let empty = node("empty", 4000, 8 << 30);
        let mut half = node("half", 4000, 8 << 30);
        half.add_pod(Arc::new(pod_requesting("e", 2000, 4 << 30)));
        let p = pod_requesting("p", 1000, 2 << 30);
        // empty: cpu (4000-1000)/4000 = 75, memory 75 -> 75; half: 25, 25 -> 25.
        assert_eq!(NodeResourcesFit.score(&state, &p, &empty), 75);
        assert_eq!(NodeResourcesFit.score(&state, &p, &half), 25);
        // A pod without requests scores as 100m / 200Mi.
        let none = pod("none");
        assert_eq!(none.non_zero_requests.memory, DEFAULT_MEMORY_REQUEST);
        let cpu = (4000 - 100) * 100 / 4000;
        let mem = ((8i64 << 30) - DEFAULT_MEMORY_REQUEST) * 100 / (8 << 30);
        assert_eq!(
            NodeResourcesFit.score(&state, &none, &empty),
            (cpu + mem) / 2
        );
    }
}
