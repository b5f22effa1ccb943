//! Nodes: allocatable defaults to capacity; podCIDR(s) and providerID may be set once;
//! taints are validated; status is written through `/status` (the node agent).

use std::collections::HashSet;

use machinery::FieldError;
use serde_json::{Value, json};

use super::common::*;
use crate::registry::strategy::Strategy;

pub struct NodeStrategy;

const TAINT_EFFECTS: &[&str] = &["NoExecute", "NoSchedule", "PreferNoSchedule"];

impl Strategy for NodeStrategy {
    fn default(&self, obj: &mut Value) {
        if let Some(status) = existing_object_at(obj, &["status"])
            && status.get("allocatable").is_none_or(Value::is_null)
            && let Some(capacity) = status.get("capacity").filter(|c| c.is_object()).cloned()
        {
            status.insert("allocatable".into(), capacity);
        }
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        // The node agent registers with its status; the deprecated dynamic config fields are
        // dropped as upstream does since the feature's removal.
        if let Some(spec) = existing_object_at(obj, &["spec"]) {
            spec.remove("configSource");
        }
        if let Some(status) = existing_object_at(obj, &["status"]) {
            status.remove("config");
        }
    }

    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        keep_from_old(new, old, "status");
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let spec = obj.get("spec").unwrap_or(&Value::Null);
        if let Some(c) = get_str(spec, &["podCIDR"]).filter(|s| !s.is_empty()) {
            validate_cidr(c, "spec.podCIDR", &mut errs);
        }
        let cidrs = array(spec, &["podCIDRs"]);
        for (i, c) in cidrs.iter().enumerate() {
            validate_cidr(
                c.as_str().unwrap_or(""),
                &format!("spec.podCIDRs[{i}]"),
                &mut errs,
            );
        }
        if cidrs.len() > 2 {
            errs.push(FieldError::invalid(
                "spec.podCIDRs",
                json!(cidrs),
                "may specify no more than one CIDR for each IP family",
            ));
        }
        if let (Some(first), Some(single)) = (
            cidrs.first().and_then(Value::as_str),
            get_str(spec, &["podCIDR"]),
        ) && !single.is_empty()
            && first != single
        {
            errs.push(FieldError::invalid(
                "spec.podCIDRs[0]",
                json!(first),
                "must match `spec.podCIDR`",
            ));
        }
        let mut seen = HashSet::new();
        for (i, t) in array(spec, &["taints"]).iter().enumerate() {
            let tp = format!("spec.taints[{i}]");
            let key = str_or_empty(t, &["key"]);
            if key.is_empty() {
                errs.push(FieldError::required(format!("{tp}.key"), ""));
            } else {
                validate_qualified_name(key, &format!("{tp}.key"), &mut errs);
            }
            if let Some(v) = get_str(t, &["value"]) {
                for msg in machinery::validation::label_value_errors(v) {
                    errs.push(FieldError::invalid(format!("{tp}.value"), json!(v), msg));
                }
            }
            let effect = str_or_empty(t, &["effect"]);
            if effect.is_empty() {
                errs.push(FieldError::required(format!("{tp}.effect"), ""));
            } else if !TAINT_EFFECTS.contains(&effect) {
                errs.push(FieldError::not_supported(
                    format!("{tp}.effect"),
                    json!(effect),
                    TAINT_EFFECTS,
                ));
            }
            if !seen.insert((key, effect)) {
                errs.push(FieldError::duplicate(
                    tp,
                    json!({"key": key, "effect": effect}),
                ));
            }
        }
        errs
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = self.validate(new);
        // Pod CIDRs are handed out once by the node IPAM controller and routes depend on them.
        let old_cidrs = array(old, &["spec", "podCIDRs"]);
        if !old_cidrs.is_empty() && array(new, &["spec", "podCIDRs"]) != old_cidrs {
            errs.push(FieldError::forbidden(
                "spec.podCIDRs",
                "node updates may not change podCIDR except from \"\" to valid",
            ));
        }
        let old_pid = str_or_empty(old, &["spec", "providerID"]);
        if !old_pid.is_empty() && str_or_empty(new, &["spec", "providerID"]) != old_pid {
            errs.push(FieldError::forbidden(
                "spec.providerID",
                "node updates may not change providerID except from \"\" to valid",
            ));
        }
        errs
    }

    fn validate_status_update(&self, new: &Value, _old: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        for kind in ["capacity", "allocatable"] {
            for (name, q) in string_map(new, &["status", kind]) {
                if parse_quantity(q).is_none() {
                    errs.push(FieldError::invalid(
                        format!("status.{kind}[{name}]"),
                        json!(q),
                        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
                    ));
                }
            }
        }
        const ADDRESS_TYPES: &[&str] = &[
            "ExternalDNS",
            "ExternalIP",
            "Hostname",
            "InternalDNS",
            "InternalIP",
        ];
        for (i, a) in array(new, &["status", "addresses"]).iter().enumerate() {
            let t = str_or_empty(a, &["type"]);
            if !ADDRESS_TYPES.contains(&t) {
                errs.push(FieldError::not_supported(
                    format!("status.addresses[{i}].type"),
                    json!(t),
                    ADDRESS_TYPES,
                ));
            }
        }
        errs
    }

    fn status_via_subresource(&self) -> bool {
        true
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        match field {
            "spec.unschedulable" => Some(
                get_bool(obj, &["spec", "unschedulable"])
                    .unwrap_or(false)
                    .to_string(),
            ),
            _ => None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn node(spec: Value) -> Value {
        let mut n = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}, "spec": spec,
            "status": {"capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"}}});
        NodeStrategy.default(&mut n);
        NodeStrategy.prepare_for_create(&mut n);
        n
    }

    #[test]
    fn allocatable_defaults_to_capacity() {
        let n = node(json!({}));
        assert_eq!(n["status"]["allocatable"], n["status"]["capacity"]);
        assert!(NodeStrategy.validate(&n).is_empty());
        assert_eq!(
            NodeStrategy
                .field_value(&n, "spec.unschedulable")
                .as_deref(),
            Some("false")
        );
    }

    #[test]
    fn taints_and_cidrs() {
        let n = node(
            json!({"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"], "taints": [
                {"key": "a", "effect": "NoSchedule"}, {"key": "a", "effect": "NoSchedule"}, {"key": "b", "effect": "Sometimes"}, {"effect": "NoExecute"}
            ]}),
        );
        let fields: Vec<_> = NodeStrategy
            .validate(&n)
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            vec![
                "spec.taints[1]",
                "spec.taints[2].effect",
                "spec.taints[3].key"
            ]
        );

        let old = node(
            json!({"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"], "providerID": "p1"}),
        );
        let mut new = old.clone();
        new["spec"]["podCIDRs"] = json!(["10.244.1.0/24"]);
        new["spec"]["podCIDR"] = json!("10.244.1.0/24");
        new["spec"]["providerID"] = json!("p2");
        let fields: Vec<_> = NodeStrategy
            .validate_update(&new, &old)
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, vec!["spec.podCIDRs", "spec.providerID"]);
        let bad = node(json!({"podCIDR": "10.244.0.0/33"}));
        assert_eq!(NodeStrategy.validate(&bad).len(), 1);
    }
}
