//! Matching rules shared by several plugins, as upstream's component-helpers: tolerations
//! against taints, node selector terms against a node, label selectors against labels.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Taint, Toleration,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::types::NodeSpec;

/// Upstream's Toleration.ToleratesTaint.
pub fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    if let Some(effect) = t.effect.as_deref().filter(|e| !e.is_empty())
        && effect != taint.effect
    {
        return false;
    }
    let key = t.key.as_deref().unwrap_or_default();
    if !key.is_empty() && key != taint.key {
        return false;
    }
    match t.operator.as_deref().unwrap_or("Equal") {
        "Exists" => true,
        "" | "Equal" => {
            // An empty key with Equal matches nothing (validation forbids it anyway).
            !key.is_empty()
                && t.value.as_deref().unwrap_or_default()
                    == taint.value.as_deref().unwrap_or_default()
        }
        _ => false,
    }
}

pub fn tolerated(tolerations: &[Toleration], taint: &Taint) -> bool {
    tolerations.iter().any(|t| tolerates(t, taint))
}

/// The first taint, among those `relevant` selects, that no toleration tolerates.
pub fn find_untolerated_taint<'a>(
    taints: &'a [Taint],
    tolerations: &[Toleration],
    relevant: impl Fn(&Taint) -> bool,
) -> Option<&'a Taint> {
    taints
        .iter()
        .find(|t| relevant(t) && !tolerated(tolerations, t))
}

/// Whether the node matches the selector: any of its terms (an empty term matches nothing).
pub fn node_selector_matches(selector: &NodeSelector, node: &NodeSpec) -> bool {
    selector
        .node_selector_terms
        .iter()
        .any(|term| node_selector_term_matches(term, node))
}

pub fn node_selector_term_matches(term: &NodeSelectorTerm, node: &NodeSpec) -> bool {
    let exprs = term.match_expressions.as_deref().unwrap_or_default();
    let fields = term.match_fields.as_deref().unwrap_or_default();
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    exprs
        .iter()
        .all(|r| requirement_matches(r, node.labels.get(&r.key).map(String::as_str)))
        && fields.iter().all(|r| {
            // metadata.name is the only field upstream supports here.
            r.key == "metadata.name"
                && matches!(r.operator.as_str(), "In" | "NotIn")
                && requirement_matches(r, Some(node.name.as_str()))
        })
}

fn requirement_matches(r: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = r.values.as_deref().unwrap_or_default();
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => !value.is_some_and(|v| values.iter().any(|x| x == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        op @ ("Gt" | "Lt") => {
            let [bound] = values else { return false };
            let (Ok(bound), Some(Ok(v))) = (bound.parse::<i64>(), value.map(str::parse::<i64>))
            else {
                return false;
            };
            if op == "Gt" { v > bound } else { v < bound }
        }
        _ => false,
    }
}

/// Whether `labels` match a label selector; an absent selector matches nothing, an empty
/// one everything (upstream's LabelSelectorAsSelector).
pub fn label_selector_matches(
    selector: Option<&LabelSelector>,
    labels: &BTreeMap<String, String>,
) -> bool {
    let Some(sel) = selector else { return false };
    for (k, v) in sel.match_labels.iter().flatten() {
        if labels.get(k) != Some(v) {
            return false;
        }
    }
    for e in sel.match_expressions.iter().flatten() {
        let value = labels.get(&e.key);
        let values = e.values.as_deref().unwrap_or_default();
        let ok = match e.operator.as_str() {
            "In" => value.is_some_and(|v| values.contains(v)),
            "NotIn" => !value.is_some_and(|v| values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
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
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    fn taint(key: &str, value: &str, effect: &str) -> Taint {
        Taint {
            key: key.into(),
            value: Some(value.into()).filter(|v: &String| !v.is_empty()),
            effect: effect.into(),
            time_added: None,
        }
    }

    fn toleration(key: &str, op: &str, value: &str, effect: &str) -> Toleration {
        Toleration {
            key: Some(key.into()).filter(|k: &String| !k.is_empty()),
            operator: Some(op.into()).filter(|o: &String| !o.is_empty()),
            value: Some(value.into()).filter(|v: &String| !v.is_empty()),
            effect: Some(effect.into()).filter(|e: &String| !e.is_empty()),
            toleration_seconds: None,
        }
    }

    #[test]
    fn tolerations() {
        let cases = [
            (
                "equal key and value",
                toleration("k", "Equal", "v", "NoSchedule"),
                true,
            ),
            (
                "default operator is Equal",
                toleration("k", "", "v", "NoSchedule"),
                true,
            ),
            (
                "other value",
                toleration("k", "Equal", "w", "NoSchedule"),
                false,
            ),
            (
                "exists on key",
                toleration("k", "Exists", "", "NoSchedule"),
                true,
            ),
            (
                "empty effect tolerates all effects",
                toleration("k", "Exists", "", ""),
                true,
            ),
            (
                "other effect",
                toleration("k", "Exists", "", "NoExecute"),
                false,
            ),
            (
                "empty key with Exists tolerates everything",
                toleration("", "Exists", "", ""),
                true,
            ),
            ("other key", toleration("j", "Exists", "", ""), false),
        ];
        let t = taint("k", "v", "NoSchedule");
        for (name, tol, want) in cases {
            assert_eq!(tolerates(&tol, &t), want, "{name}");
        }
    }

    fn req(key: &str, op: &str, values: &[&str]) -> NodeSelectorRequirement {
        NodeSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: Some(values.iter().map(|v| v.to_string()).collect()),
        }
    }

    #[test]
    fn node_selector_requirements() {
        let node = NodeSpec {
            name: "node-1".into(),
            labels: BTreeMap::from([
                ("zone".to_string(), "a".to_string()),
                ("cores".to_string(), "8".to_string()),
            ]),
            ..NodeSpec::default()
        };
        let cases = [
            ("In", req("zone", "In", &["a", "b"]), true),
            ("In other", req("zone", "In", &["b"]), false),
            ("NotIn", req("zone", "NotIn", &["b"]), true),
            ("NotIn absent key", req("disk", "NotIn", &["ssd"]), true),
            ("NotIn match", req("zone", "NotIn", &["a"]), false),
            ("Exists", req("zone", "Exists", &[]), true),
            ("Exists absent", req("disk", "Exists", &[]), false),
            ("DoesNotExist", req("disk", "DoesNotExist", &[]), true),
            ("Gt", req("cores", "Gt", &["4"]), true),
            ("Gt equal", req("cores", "Gt", &["8"]), false),
            ("Lt", req("cores", "Lt", &["16"]), true),
            ("Gt not a number", req("zone", "Gt", &["1"]), false),
            ("Gt two values", req("cores", "Gt", &["1", "2"]), false),
            ("unknown operator", req("zone", "Like", &["a"]), false),
        ];
        for (name, r, want) in cases {
            let term = NodeSelectorTerm {
                match_expressions: Some(vec![r]),
                match_fields: None,
            };
            assert_eq!(node_selector_term_matches(&term, &node), want, "{name}");
        }
        let by_name = |op: &str, v: &str| NodeSelectorTerm {
            match_expressions: None,
            match_fields: Some(vec![req("metadata.name", op, &[v])]),
        };
        assert!(node_selector_term_matches(&by_name("In", "node-1"), &node));
        assert!(!node_selector_term_matches(&by_name("In", "node-2"), &node));
        assert!(node_selector_term_matches(
            &by_name("NotIn", "node-2"),
            &node
        ));
        let empty = NodeSelectorTerm::default();
        assert!(!node_selector_term_matches(&empty, &node));
        // Terms are ORed.
        let sel = NodeSelector {
            node_selector_terms: vec![empty, by_name("In", "node-1")],
        };
        assert!(node_selector_matches(&sel, &node));
    }

    #[test]
    fn label_selectors() {
        let labels = BTreeMap::from([("app".to_string(), "web".to_string())]);
        let sel = |ml: &[(&str, &str)], exprs: Vec<LabelSelectorRequirement>| LabelSelector {
            match_labels: Some(
                ml.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            match_expressions: Some(exprs),
        };
        let expr = |k: &str, op: &str, v: &[&str]| LabelSelectorRequirement {
            key: k.into(),
            operator: op.into(),
            values: Some(v.iter().map(|s| s.to_string()).collect()),
        };
        assert!(!label_selector_matches(None, &labels));
        assert!(label_selector_matches(
            Some(&LabelSelector::default()),
            &labels
        ));
        assert!(label_selector_matches(
            Some(&sel(&[("app", "web")], vec![])),
            &labels
        ));
        assert!(!label_selector_matches(
            Some(&sel(&[("app", "db")], vec![])),
            &labels
        ));
        assert!(label_selector_matches(
            Some(&sel(&[], vec![expr("app", "In", &["web"])])),
            &labels
        ));
        assert!(label_selector_matches(
            Some(&sel(&[], vec![expr("x", "DoesNotExist", &[])])),
            &labels
        ));
        assert!(!label_selector_matches(
            Some(&sel(&[], vec![expr("app", "NotIn", &["web"])])),
            &labels
        ));
    }
}
