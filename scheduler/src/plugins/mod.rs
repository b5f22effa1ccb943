//! The in-tree plugins, one module each, and the default profile that strings them
//! together in upstream's order with upstream's default score weights.

pub mod balanced_allocation;
pub mod helper;
pub mod node_affinity;
pub mod node_name;
pub mod node_ports;
pub mod node_resources_fit;
pub mod node_runtime;
pub mod node_unschedulable;
pub mod pod_topology_spread;
pub mod taint_toleration;

use crate::framework::Framework;

/// Upstream's default plugins (those this scheduler implements) plus ferrokube's NodeRuntime:
/// filters in upstream's order, so the first failing one names the reason; scores with weights TaintToleration 3,
/// NodeAffinity 2, PodTopologySpread 2, NodeResourcesFit (LeastAllocated) 1,
/// NodeResourcesBalancedAllocation 1.
pub fn default_framework(percentage_of_nodes_to_score: u32, parallelism: usize) -> Framework {
    Framework::new(
        vec![
            Box::new(node_unschedulable::NodeUnschedulable),
            Box::new(node_name::NodeName),
            Box::new(node_runtime::NodeRuntime),
            Box::new(taint_toleration::TaintToleration),
            Box::new(node_affinity::NodeAffinity),
            Box::new(node_ports::NodePorts),
            Box::new(node_resources_fit::NodeResourcesFit),
            Box::new(pod_topology_spread::PodTopologySpread),
        ],
        vec![
            Box::new(taint_toleration::TaintToleration),
            Box::new(node_affinity::NodeAffinity),
            Box::new(node_resources_fit::NodeResourcesFit),
            Box::new(pod_topology_spread::PodTopologySpread),
            Box::new(balanced_allocation::BalancedAllocation),
        ],
        percentage_of_nodes_to_score,
        parallelism,
    )
}

/// Fake nodes and pods for the plugins' tests.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::Arc;

    use k8s_openapi::api::core::v1::Taint;

    use crate::resource::{DEFAULT_MEMORY_REQUEST, DEFAULT_MILLI_CPU_REQUEST, Resource};
    use crate::types::{NodeInfo, NodeSpec, PodInfo};

    pub fn node(name: &str, milli_cpu: i64, memory: i64) -> NodeInfo {
        NodeInfo::new(Arc::new(NodeSpec {
            name: name.into(),
            allocatable: Resource {
                milli_cpu,
                memory,
                allowed_pods: 110,
                ..Resource::default()
            },
            ..NodeSpec::default()
        }))
    }

    pub fn node_with_labels(name: &str, labels: &[(&str, &str)]) -> NodeInfo {
        let mut n = node(name, 4000, 8 << 30);
        Arc::make_mut(&mut n.node).labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        n
    }

    pub fn node_with_taints(name: &str, taints: &[(&str, &str, &str)]) -> NodeInfo {
        let mut n = node(name, 4000, 8 << 30);
        Arc::make_mut(&mut n.node).taints = taints
            .iter()
            .map(|(k, v, e)| Taint {
                key: k.to_string(),
                value: Some(v.to_string()).filter(|v| !v.is_empty()),
                effect: e.to_string(),
                time_added: None,
            })
            .collect();
        n
    }

    /// A pod without requests (scoring counts the defaults).
    pub fn pod(name: &str) -> PodInfo {
        PodInfo {
            uid: format!("uid-{name}"),
            name: name.into(),
            namespace: "default".into(),
            non_zero_requests: Resource {
                milli_cpu: DEFAULT_MILLI_CPU_REQUEST,
                memory: DEFAULT_MEMORY_REQUEST,
                ..Resource::default()
            },
            ..PodInfo::default()
        }
    }

    pub fn pod_requesting(name: &str, milli_cpu: i64, memory: i64) -> PodInfo {
        let r = Resource {
            milli_cpu,
            memory,
            ..Resource::default()
        };
        PodInfo {
            requests: r.clone(),
            non_zero_requests: r,
            ..pod(name)
        }
    }
}
