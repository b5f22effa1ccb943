//! coordination.k8s.io/v1 Leases (leader election, node heartbeats).

use machinery::FieldError;
use serde_json::{Value, json};

use super::common::*;
use crate::registry::strategy::Strategy;

pub struct LeaseStrategy;

const STRATEGIES: &[&str] = &["OldestEmulationVersion"];

impl Strategy for LeaseStrategy {
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let spec = obj.get("spec").unwrap_or(&Value::Null);
        if let Some(d) = get_i64(spec, &["leaseDurationSeconds"])
            && d <= 0
        {
            errs.push(FieldError::invalid(
                "spec.leaseDurationSeconds",
                json!(d),
                "must be greater than 0",
            ));
        }
        validate_nonnegative(
            spec,
            &["leaseTransitions"],
            "spec.leaseTransitions",
            &mut errs,
        );
        let strategy = get_str(spec, &["strategy"]).unwrap_or("");
        if !strategy.is_empty() && !STRATEGIES.contains(&strategy) {
            errs.push(FieldError::not_supported(
                "spec.strategy",
                json!(strategy),
                STRATEGIES,
            ));
        }
        if !str_or_empty(spec, &["preferredHolder"]).is_empty() && strategy.is_empty() {
            errs.push(FieldError::forbidden(
                "spec.preferredHolder",
                "may only be specified if `strategy` is defined",
            ));
        }
        errs
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn lease_rules() {
        let ok = json!({"metadata": {"name": "n1"}, "spec": {"holderIdentity": "n1", "leaseDurationSeconds": 40, "renewTime": "2024-01-01T00:00:00.000000Z"}});
        assert!(LeaseStrategy.validate(&ok).is_empty());
        let bad = json!({"spec": {"leaseDurationSeconds": 0, "leaseTransitions": -1, "strategy": "Newest", "preferredHolder": "x"}});
        let fields: Vec<_> = LeaseStrategy
            .validate(&bad)
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            vec![
                "spec.leaseDurationSeconds",
                "spec.leaseTransitions",
                "spec.strategy"
            ]
        );
        let no_strategy = json!({"spec": {"preferredHolder": "x"}});
        assert_eq!(
            LeaseStrategy.validate(&no_strategy)[0].field,
            "spec.preferredHolder"
        );
    }
}
