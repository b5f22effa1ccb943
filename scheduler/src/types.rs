//! What the scheduler keeps of Pods and Nodes: the fields scheduling reads, taken out of the
//! API objects once when a watch event arrives, so a scheduling cycle never parses
//! quantities or clones whole objects.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{
    Node, NodeSelector, Pod, PreferredSchedulingTerm, Taint, Toleration, TopologySpreadConstraint,
};

use crate::resource::{Resource, pod_requests};

/// A port a pod takes on its node (`hostPort`), as upstream's NodePorts counts them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPort {
    pub protocol: String,
    pub ip: String,
    pub port: i32,
}

impl HostPort {
    /// Two uses of a port clash when protocol and port agree and either side binds all
    /// addresses or both bind the same one.
    pub fn conflicts(&self, other: &HostPort) -> bool {
        self.port == other.port
            && self.protocol == other.protocol
            && (self.ip == other.ip || self.ip == "0.0.0.0" || other.ip == "0.0.0.0")
    }
}

/// The PodScheduled condition as last seen on the pod, to write it only when it changes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScheduledCondition {
    pub status: String,
    pub reason: String,
    pub message: String,
}

#[derive(Debug, Clone, Default)]
pub struct PodInfo {
    pub uid: String,
    pub namespace: String,
    pub name: String,
    pub resource_version: String,
    /// `spec.nodeName`; empty while unscheduled.
    pub node_name: String,
    pub scheduler_name: String,
    pub priority: i32,
    pub labels: BTreeMap<String, String>,
    /// Requests counted for fit (`NodeResourcesFit`).
    pub requests: Resource,
    /// Requests counted for scoring (containers without requests count the defaults).
    pub non_zero_requests: Resource,
    pub host_ports: Vec<HostPort>,
    pub node_selector: BTreeMap<String, String>,
    pub required_node_affinity: Option<NodeSelector>,
    pub preferred_node_affinity: Vec<PreferredSchedulingTerm>,
    pub tolerations: Vec<Toleration>,
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    /// The uid of the controller ownerReference (ReplicaSet, StatefulSet, ...), for default
    /// spreading.
    pub controller_uid: Option<String>,
    /// Succeeded or Failed: holds no resources and needs no scheduling.
    pub terminal: bool,
    pub deleting: bool,
    pub scheduling_gated: bool,
    pub scheduled_condition: Option<ScheduledCondition>,
    /// Some container (init or regular) has no `command`, so only a runtime that pulls
    /// images can start it (see `plugins::node_runtime`).
    pub needs_image_entrypoint: bool,
}

impl PodInfo {
    /// Takes the pod apart (no clones of its big parts).
    pub fn from_pod(pod: Pod) -> PodInfo {
        let meta = pod.metadata;
        let spec = pod.spec.unwrap_or_default();
        let status = pod.status.unwrap_or_default();
        let (requests, non_zero_requests) = pod_requests(&spec);
        let needs_image_entrypoint = spec
            .containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
            .any(|c| c.command.as_ref().is_none_or(|cmd| cmd.is_empty()));
        let mut host_ports = Vec::new();
        for c in spec
            .containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
        {
            for p in c.ports.iter().flatten() {
                if let Some(port) = p.host_port.filter(|p| *p > 0) {
                    host_ports.push(HostPort {
                        protocol: p.protocol.clone().unwrap_or_else(|| "TCP".to_string()),
                        ip: p
                            .host_ip
                            .clone()
                            .filter(|ip| !ip.is_empty())
                            .unwrap_or_else(|| "0.0.0.0".to_string()),
                        port,
                    });
                }
            }
        }
        let (required_node_affinity, preferred_node_affinity) =
            match spec.affinity.and_then(|a| a.node_affinity) {
                Some(na) => (
                    na.required_during_scheduling_ignored_during_execution,
                    na.preferred_during_scheduling_ignored_during_execution
                        .unwrap_or_default(),
                ),
                None => (None, Vec::new()),
            };
        let controller_uid = meta
            .owner_references
            .iter()
            .flatten()
            .find(|o| o.controller == Some(true))
            .map(|o| o.uid.clone());
        let phase = status.phase.as_deref().unwrap_or_default();
        let scheduled_condition = status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "PodScheduled")
            .map(|c| ScheduledCondition {
                status: c.status.clone(),
                reason: c.reason.clone().unwrap_or_default(),
                message: c.message.clone().unwrap_or_default(),
            });
        PodInfo {
            uid: meta.uid.unwrap_or_default(),
            namespace: meta.namespace.unwrap_or_default(),
            name: meta.name.unwrap_or_default(),
            resource_version: meta.resource_version.unwrap_or_default(),
            node_name: spec.node_name.unwrap_or_default(),
            scheduler_name: spec
                .scheduler_name
                .unwrap_or_else(|| crate::DEFAULT_SCHEDULER_NAME.to_string()),
            priority: spec.priority.unwrap_or(0),
            labels: meta.labels.unwrap_or_default(),
            requests,
            non_zero_requests,
            host_ports,
            node_selector: spec.node_selector.unwrap_or_default(),
            required_node_affinity,
            preferred_node_affinity,
            tolerations: spec.tolerations.unwrap_or_default(),
            topology_spread_constraints: spec.topology_spread_constraints.unwrap_or_default(),
            controller_uid,
            terminal: phase == "Succeeded" || phase == "Failed",
            deleting: meta.deletion_timestamp.is_some(),
            scheduling_gated: spec.scheduling_gates.is_some_and(|g| !g.is_empty()),
            scheduled_condition,
            needs_image_entrypoint,
        }
    }

    /// `namespace/name`, as messages and logs name pods.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Whether what scheduling reads changed (not status or metadata bookkeeping): an
    /// unschedulable pod whose spec or labels changed is worth another attempt.
    pub fn scheduling_inputs_differ(&self, other: &PodInfo) -> bool {
        self.requests != other.requests
            || self.priority != other.priority
            || self.labels != other.labels
            || self.host_ports != other.host_ports
            || self.node_selector != other.node_selector
            || self.required_node_affinity != other.required_node_affinity
            || self.preferred_node_affinity != other.preferred_node_affinity
            || self.tolerations != other.tolerations
            || self.topology_spread_constraints != other.topology_spread_constraints
            || self.scheduling_gated != other.scheduling_gated
    }
}

/// What the scheduler reads of a Node object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeSpec {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    pub unschedulable: bool,
    pub allocatable: Resource,
}

impl NodeSpec {
    pub fn from_node(node: Node) -> NodeSpec {
        let spec = node.spec.unwrap_or_default();
        let status = node.status.unwrap_or_default();
        // A node that reports no allocatable is taken at its capacity, as the kubelet does.
        let allocatable =
            Resource::from_map(status.allocatable.as_ref().or(status.capacity.as_ref()));
        NodeSpec {
            name: node.metadata.name.unwrap_or_default(),
            labels: node.metadata.labels.unwrap_or_default(),
            taints: spec.taints.unwrap_or_default(),
            unschedulable: spec.unschedulable.unwrap_or(false),
            allocatable,
        }
    }
}

/// A node with the running totals of the pods on it (bound or assumed). Kept up to date
/// incrementally, so plugins read aggregates instead of walking pods.
#[derive(Debug, Clone, Default)]
pub struct NodeInfo {
    pub node: Arc<NodeSpec>,
    /// False while pods name a node whose Node object is not (or no longer) known; such an
    /// entry only holds their resources and is never a candidate.
    pub present: bool,
    pub requested: Resource,
    pub non_zero_requested: Resource,
    pub used_ports: Vec<HostPort>,
    pub pods: Vec<Arc<PodInfo>>,
    /// Pods per controller ownerReference uid (default spreading).
    pub controller_pods: HashMap<String, u32>,
}

impl NodeInfo {
    pub fn new(node: Arc<NodeSpec>) -> NodeInfo {
        NodeInfo {
            node,
            present: true,
            ..NodeInfo::default()
        }
    }

    pub fn name(&self) -> &str {
        &self.node.name
    }

    pub fn add_pod(&mut self, pod: Arc<PodInfo>) {
        self.requested.add(&pod.requests);
        self.non_zero_requested.add(&pod.non_zero_requests);
        self.used_ports.extend(pod.host_ports.iter().cloned());
        if let Some(uid) = &pod.controller_uid {
            *self.controller_pods.entry(uid.clone()).or_insert(0) += 1;
        }
        self.pods.push(pod);
    }

    /// Removes the pod with this uid; returns whether it was there.
    pub fn remove_pod(&mut self, uid: &str) -> bool {
        let Some(i) = self.pods.iter().position(|p| p.uid == uid) else {
            return false;
        };
        let pod = self.pods.swap_remove(i);
        self.requested.sub(&pod.requests);
        self.non_zero_requested.sub(&pod.non_zero_requests);
        for hp in &pod.host_ports {
            if let Some(j) = self.used_ports.iter().position(|u| u == hp) {
                self.used_ports.swap_remove(j);
            }
        }
        if let Some(uid) = &pod.controller_uid
            && let Some(n) = self.controller_pods.get_mut(uid)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.controller_pods.remove(uid);
            }
        }
        true
    }

    pub fn pod_count(&self) -> usize {
        self.pods.len()
    }
}
