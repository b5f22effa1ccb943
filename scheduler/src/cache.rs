//! The scheduler's view of the cluster: nodes with the pods on them, including pods the
//! scheduler has *assumed* onto a node (decided, binding under way) before the watch shows
//! them bound. The next scheduling cycle therefore already sees the resources taken, and a
//! failed binding gives them back (`forget`).
//!
//! Owned by the scheduling loop alone (no locks); watch events reach it as messages.

use std::collections::HashMap;
use std::sync::Arc;

use crate::types::{NodeInfo, NodeSpec, PodInfo};

struct CachedPod {
    pod: Arc<PodInfo>,
    node: String,
    assumed: bool,
}

#[derive(Default)]
pub struct Cache {
    /// Every node entry, in a stable order for round-robin scans; removal swaps the last one
    /// in.
    nodes: Vec<NodeInfo>,
    index: HashMap<String, usize>,
    pods: HashMap<String, CachedPod>,
    present: usize,
}

impl Cache {
    pub fn nodes(&self) -> &[NodeInfo] {
        &self.nodes
    }

    /// Nodes with a Node object (candidates).
    pub fn node_count(&self) -> usize {
        self.present
    }

    pub fn node(&self, name: &str) -> Option<&NodeInfo> {
        self.index.get(name).map(|i| &self.nodes[*i])
    }

    fn entry(&mut self, name: &str) -> &mut NodeInfo {
        let i = match self.index.get(name) {
            Some(i) => *i,
            None => {
                let mut info = NodeInfo::new(Arc::new(NodeSpec {
                    name: name.to_string(),
                    ..NodeSpec::default()
                }));
                info.present = false;
                self.nodes.push(info);
                self.index.insert(name.to_string(), self.nodes.len() - 1);
                self.nodes.len() - 1
            }
        };
        &mut self.nodes[i]
    }

    /// Adds or updates a node; returns the previous spec if there was one.
    pub fn apply_node(&mut self, spec: NodeSpec) -> Option<Arc<NodeSpec>> {
        let name = spec.name.clone();
        let info = self.entry(&name);
        let was_present = info.present;
        let old = std::mem::replace(&mut info.node, Arc::new(spec));
        info.present = true;
        if was_present {
            Some(old)
        } else {
            self.present += 1;
            None
        }
    }

    pub fn remove_node(&mut self, name: &str) {
        let Some(&i) = self.index.get(name) else {
            return;
        };
        if self.nodes[i].present {
            self.present -= 1;
        }
        if self.nodes[i].pods.is_empty() {
            self.drop_entry(i);
        } else {
            // Its pods still exist until their deletion is seen; keep their accounting.
            self.nodes[i].present = false;
        }
    }

    fn drop_entry(&mut self, i: usize) {
        let removed = self.nodes.swap_remove(i);
        self.index.remove(removed.name());
        if let Some(moved) = self.nodes.get(i) {
            self.index.insert(moved.name().to_string(), i);
        }
    }

    /// Names of the nodes the cache holds (for a relist to find what disappeared).
    pub fn node_names(&self) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|n| n.present)
            .map(|n| n.name().to_string())
            .collect()
    }

    pub fn is_assumed(&self, uid: &str) -> bool {
        self.pods.get(uid).is_some_and(|p| p.assumed)
    }

    pub fn contains_pod(&self, uid: &str) -> bool {
        self.pods.contains_key(uid)
    }

    /// Records a pod the watch shows bound (confirming an assumed one). Terminal pods hold
    /// no resources and are dropped.
    pub fn apply_assigned_pod(&mut self, pod: Arc<PodInfo>) {
        if pod.terminal {
            self.remove_pod(&pod.uid);
            return;
        }
        self.remove_pod(&pod.uid);
        let node = pod.node_name.clone();
        self.insert(pod, node, false);
    }

    fn insert(&mut self, pod: Arc<PodInfo>, node: String, assumed: bool) {
        self.entry(&node).add_pod(pod.clone());
        self.pods
            .insert(pod.uid.clone(), CachedPod { pod, node, assumed });
    }

    /// Takes the node's resources for `pod` before its binding to `node` is confirmed.
    pub fn assume(&mut self, pod: Arc<PodInfo>, node: &str) {
        self.remove_pod(&pod.uid);
        self.insert(pod, node.to_string(), true);
    }

    /// Gives back what an assumed pod took (its binding failed). A pod the watch has since
    /// shown bound is left alone.
    pub fn forget(&mut self, uid: &str) {
        if self.is_assumed(uid) {
            self.remove_pod(uid);
        }
    }

    /// Removes a pod; returns whether it was in the cache.
    pub fn remove_pod(&mut self, uid: &str) -> bool {
        let Some(cached) = self.pods.remove(uid) else {
            return false;
        };
        if let Some(&i) = self.index.get(&cached.node) {
            let node = &mut self.nodes[i];
            node.remove_pod(uid);
            if !node.present && node.pods.is_empty() {
                self.drop_entry(i);
            }
        }
        true
    }

    /// Uids of pods the watch has confirmed (not assumed ones), for relists.
    pub fn confirmed_pod_uids(&self) -> Vec<String> {
        self.pods
            .iter()
            .filter(|(_, p)| !p.assumed)
            .map(|(uid, _)| uid.clone())
            .collect()
    }

    pub fn pod(&self, uid: &str) -> Option<&Arc<PodInfo>> {
        self.pods.get(uid).map(|p| &p.pod)
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
    use crate::resource::Resource;

    fn pod(uid: &str, node: &str, cpu: i64) -> Arc<PodInfo> {
        Arc::new(PodInfo {
            uid: uid.into(),
            node_name: node.into(),
            requests: Resource {
                milli_cpu: cpu,
                ..Resource::default()
            },
            ..PodInfo::default()
        })
    }

    fn node(name: &str) -> NodeSpec {
        NodeSpec {
            name: name.into(),
            ..NodeSpec::default()
        }
    }

    #[test]
    fn assume_confirm_forget() {
        let mut c = Cache::default();
        c.apply_node(node("a"));
        c.apply_node(node("b"));
        c.assume(pod("p1", "", 100), "a");
        assert!(c.is_assumed("p1"));
        assert_eq!(c.node("a").map(|n| n.requested.milli_cpu), Some(100));
        // The watch shows it bound: no longer assumed, counted once.
        c.apply_assigned_pod(pod("p1", "a", 100));
        assert!(!c.is_assumed("p1"));
        assert_eq!(c.node("a").map(|n| n.requested.milli_cpu), Some(100));
        // forget leaves confirmed pods alone.
        c.forget("p1");
        assert_eq!(c.node("a").map(|n| n.requested.milli_cpu), Some(100));
        c.assume(pod("p2", "", 300), "b");
        c.forget("p2");
        assert_eq!(c.node("b").map(|n| n.requested.milli_cpu), Some(0));
        assert!(!c.contains_pod("p2"));
    }

    #[test]
    fn pods_on_unknown_nodes_are_kept_until_the_node_appears() {
        let mut c = Cache::default();
        c.apply_assigned_pod(pod("p1", "late", 250));
        assert_eq!(c.node_count(), 0);
        c.apply_node(node("late"));
        assert_eq!(c.node_count(), 1);
        assert_eq!(c.node("late").map(|n| n.requested.milli_cpu), Some(250));
        c.remove_node("late");
        assert_eq!(c.node_count(), 0);
        assert!(c.node("late").is_some(), "kept while its pod exists");
        c.remove_pod("p1");
        assert!(c.node("late").is_none());
    }

    #[test]
    fn removal_keeps_the_index_consistent() {
        let mut c = Cache::default();
        for n in ["a", "b", "c"] {
            c.apply_node(node(n));
        }
        c.remove_node("a");
        assert_eq!(c.node("c").map(|n| n.name()), Some("c"));
        assert_eq!(c.node("b").map(|n| n.name()), Some("b"));
        assert_eq!(c.node_count(), 2);
        c.assume(pod("p", "", 1), "c");
        assert_eq!(c.node("c").map(|n| n.pod_count()), Some(1));
    }
}
