//! ServiceAccounts: references to secrets must name them.

use machinery::FieldError;
use serde_json::Value;

use super::common::*;
use crate::registry::strategy::Strategy;

pub struct ServiceAccountStrategy;

impl Strategy for ServiceAccountStrategy {
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        for list in ["secrets", "imagePullSecrets"] {
            for (i, r) in array(obj, &[list]).iter().enumerate() {
                let name = str_or_empty(r, &["name"]);
                let field = format!("{list}[{i}].name");
                if name.is_empty() {
                    errs.push(FieldError::required(field, ""));
                } else {
                    validate_dns_subdomain(name, &field, &mut errs);
                }
            }
        }
        errs
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_references() {
        let sa = json!({"metadata": {"name": "default"}, "secrets": [{"name": "tok"}, {}], "imagePullSecrets": [{"name": "Bad_Name"}]});
        let fields: Vec<_> = ServiceAccountStrategy
            .validate(&sa)
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, vec!["secrets[1].name", "imagePullSecrets[0].name"]);
    }
}
