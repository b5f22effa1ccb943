//! Label selectors as controllers evaluate them (apimachinery's LabelSelectorAsSelector and
//! labels.SelectorFromSet): matchLabels and matchExpressions (In, NotIn, Exists,
//! DoesNotExist), all terms ANDed.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Requirement {
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

/// A parsed label selector. `Nothing` matches no object (a nil selector, or an invalid one,
/// as upstream treats them); an empty requirement list matches everything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    Nothing,
    Match(Vec<Requirement>),
}

/// Why a selector could not be used.
#[derive(Debug, thiserror::Error)]
#[error("invalid label selector: {0}")]
pub struct InvalidSelector(String);

impl Selector {
    /// apimachinery's LabelSelectorAsSelector: nil → nothing, empty → everything.
    pub fn from_label_selector(sel: Option<&LabelSelector>) -> Result<Self, InvalidSelector> {
        let Some(sel) = sel else {
            return Ok(Selector::Nothing);
        };
        let mut reqs = Vec::new();
        for (k, v) in sel.match_labels.iter().flatten() {
            reqs.push(Requirement::In(k.clone(), vec![v.clone()]));
        }
        for expr in sel.match_expressions.iter().flatten() {
            let values = expr.values.clone().unwrap_or_default();
            let req = match expr.operator.as_str() {
                "In" | "NotIn" if values.is_empty() => {
                    return Err(InvalidSelector(format!(
                        "{}: operator {} needs at least one value",
                        expr.key, expr.operator
                    )));
                }
                "Exists" | "DoesNotExist" if !values.is_empty() => {
                    return Err(InvalidSelector(format!(
                        "{}: operator {} takes no values",
                        expr.key, expr.operator
                    )));
                }
                "In" => Requirement::In(expr.key.clone(), values),
                "NotIn" => Requirement::NotIn(expr.key.clone(), values),
                "Exists" => Requirement::Exists(expr.key.clone()),
                "DoesNotExist" => Requirement::DoesNotExist(expr.key.clone()),
                op => {
                    return Err(InvalidSelector(format!(
                        "{}: unknown operator {op:?}",
                        expr.key
                    )));
                }
            };
            reqs.push(req);
        }
        Ok(Selector::Match(reqs))
    }

    /// labels.SelectorFromSet: every pair must match; an empty set matches everything (a
    /// ReplicationController's selector).
    pub fn from_map(set: &BTreeMap<String, String>) -> Self {
        Selector::Match(
            set.iter()
                .map(|(k, v)| Requirement::In(k.clone(), vec![v.clone()]))
                .collect(),
        )
    }

    pub fn matches(&self, labels: Option<&BTreeMap<String, String>>) -> bool {
        let reqs = match self {
            Selector::Nothing => return false,
            Selector::Match(reqs) => reqs,
        };
        let get = |k: &str| labels.and_then(|l| l.get(k));
        reqs.iter().all(|r| match r {
            Requirement::In(k, vs) => get(k).is_some_and(|v| vs.contains(v)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|v| !vs.contains(v)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::DoesNotExist(k) => get(k).is_none(),
        })
    }

    /// Whether this selects everything (upstream refuses to let a Deployment act on that).
    pub fn is_everything(&self) -> bool {
        matches!(self, Selector::Match(reqs) if reqs.is_empty())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn selectors_match_as_upstream() {
        let cases = [
            (
                json!({"matchLabels": {"app": "web"}}),
                vec![("app", "web")],
                true,
            ),
            (
                json!({"matchLabels": {"app": "web"}}),
                vec![("app", "db")],
                false,
            ),
            (json!({"matchLabels": {"app": "web"}}), vec![], false),
            (json!({}), vec![("x", "y")], true),
            (
                json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]}),
                vec![("tier", "b")],
                true,
            ),
            (
                json!({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["a"]}]}),
                vec![],
                true,
            ),
            (
                json!({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}),
                vec![("tier", "")],
                true,
            ),
            (
                json!({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "canary", "operator": "DoesNotExist"}]}),
                vec![("app", "web"), ("canary", "1")],
                false,
            ),
        ];
        for (sel, pod, want) in cases {
            let ls: LabelSelector = serde_json::from_value(sel.clone()).unwrap();
            let s = Selector::from_label_selector(Some(&ls)).unwrap();
            assert_eq!(s.matches(Some(&labels(&pod))), want, "{sel} vs {pod:?}");
        }
        assert!(
            !Selector::from_label_selector(None)
                .unwrap()
                .matches(Some(&labels(&[])))
        );
        let bad: LabelSelector =
            serde_json::from_value(json!({"matchExpressions": [{"key": "a", "operator": "In"}]}))
                .unwrap();
        assert!(Selector::from_label_selector(Some(&bad)).is_err());
        assert!(Selector::from_map(&labels(&[])).is_everything());
    }
}
