//! One Strategy per built-in kind (defaulting, validation, create/update preparation, field
//! selectors), chosen by group and kind.

use std::sync::Arc;

use super::strategy::{Plain, Strategy};

pub mod common;
pub mod configmap;
pub mod csr;
pub mod deployment;
pub mod endpoints;
pub mod endpointslice;
pub mod event;
pub mod lease;
pub mod namespace;
pub mod node;
pub mod pod;
pub mod replicaset;
pub mod replicationcontroller;
pub mod secret;
pub mod service;
pub mod serviceaccount;

/// The strategy of a kind; [`Plain`] for kinds without rules of their own (custom
/// resources among them). events.k8s.io Events are stored in core form, so their strategy
/// works on core-form objects with the stricter events.k8s.io validation.
pub fn strategy_for(group: &str, kind: &str) -> Arc<dyn Strategy> {
    match (group, kind) {
        ("", "Pod") => Arc::new(pod::PodStrategy),
        ("", "Service") => Arc::new(service::ServiceStrategy),
        ("", "Endpoints") => Arc::new(endpoints::EndpointsStrategy),
        ("", "Node") => Arc::new(node::NodeStrategy),
        ("", "Namespace") => Arc::new(namespace::NamespaceStrategy),
        ("", "Event") => Arc::new(event::EventStrategy { events_api: false }),
        ("events.k8s.io", "Event") => Arc::new(event::EventStrategy { events_api: true }),
        ("", "ConfigMap") => Arc::new(configmap::ConfigMapStrategy),
        ("", "Secret") => Arc::new(secret::SecretStrategy),
        ("", "ServiceAccount") => Arc::new(serviceaccount::ServiceAccountStrategy),
        ("", "ReplicationController") => {
            Arc::new(replicationcontroller::ReplicationControllerStrategy)
        }
        ("apps", "ReplicaSet") => Arc::new(replicaset::ReplicaSetStrategy),
        ("apps", "Deployment") => Arc::new(deployment::DeploymentStrategy),
        ("coordination.k8s.io", "Lease") => Arc::new(lease::LeaseStrategy),
        ("discovery.k8s.io", "EndpointSlice") => Arc::new(endpointslice::EndpointSliceStrategy),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            Arc::new(crate::crd::strategy::CrdStrategy)
        }
        ("certificates.k8s.io", "CertificateSigningRequest") => Arc::new(csr::CsrStrategy),
        _ => Arc::new(Plain),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subresource_kinds_keep_status() {
        for (g, k, want) in [
            ("", "Pod", true),
            ("", "Service", true),
            ("", "Node", true),
            ("", "Namespace", true),
            ("apps", "Deployment", true),
            ("apps", "ReplicaSet", true),
            ("", "ReplicationController", true),
            ("", "ConfigMap", false),
            ("example.com", "Widget", false),
        ] {
            assert_eq!(strategy_for(g, k).status_via_subresource(), want, "{k}");
        }
        assert!(strategy_for("", "Namespace").name_is_label());
        assert!(strategy_for("", "Service").name_is_label());
        assert!(!strategy_for("", "Pod").name_is_label());
    }

    /// Every strategy survives objects of the wrong shape: a request can reach them before
    /// anything else has looked at the body (e.g. custom resources, or a decode gap).
    #[test]
    fn no_strategy_panics_on_odd_shapes() {
        let kinds = [
            ("", "Pod"),
            ("", "Service"),
            ("", "Endpoints"),
            ("", "Node"),
            ("", "Namespace"),
            ("", "Event"),
            ("events.k8s.io", "Event"),
            ("", "ConfigMap"),
            ("", "Secret"),
            ("", "ServiceAccount"),
            ("", "ReplicationController"),
            ("apps", "ReplicaSet"),
            ("apps", "Deployment"),
            ("coordination.k8s.io", "Lease"),
            ("discovery.k8s.io", "EndpointSlice"),
            ("apiextensions.k8s.io", "CustomResourceDefinition"),
            ("certificates.k8s.io", "CertificateSigningRequest"),
        ];
        let shapes = [
            json!(null),
            json!([]),
            json!("x"),
            json!({}),
            json!({"spec": null, "status": 3, "metadata": []}),
            json!({"spec": {"template": "x", "ports": [null, 1, "a"], "selector": [1], "containers": {"a": 1}}}),
            json!({"spec": {"template": {"spec": {"containers": [{"ports": [{"containerPort": "x"}]}]}}}}),
            json!({"data": [1], "subsets": [{"ports": 1}], "endpoints": [null], "involvedObject": 1}),
        ];
        for (g, k) in kinds {
            let s = strategy_for(g, k);
            for shape in &shapes {
                let mut a = shape.clone();
                s.default(&mut a);
                s.prepare_for_create(&mut a);
                let _ = s.validate(&a);
                let mut b = shape.clone();
                s.prepare_for_update(&mut b, &a);
                s.prepare_for_status_update(&mut b, &a);
                let _ = s.validate_update(&b, &a);
                let _ = s.validate_status_update(&b, &a);
                let _ = s.field_value(&a, "status.phase");
                let _ = s.bumps_generation(&a, &b);
            }
        }
    }
}
