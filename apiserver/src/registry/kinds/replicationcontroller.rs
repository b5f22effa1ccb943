//! core/v1 ReplicationControllers: a map selector defaulted from the template's labels (and
//! the object's labels from them too), replicas 1, and the template rules shared with
//! ReplicaSets.

use machinery::FieldError;
use serde_json::{Value, json};

use super::common::*;
use super::replicaset::{
    default_template, validate_controller_template, validate_replica_status,
    validate_replicas_and_min_ready,
};
use crate::registry::strategy::Strategy;

pub struct ReplicationControllerStrategy;

impl Strategy for ReplicationControllerStrategy {
    fn default(&self, obj: &mut Value) {
        let template_labels = get(obj, &["spec", "template", "metadata", "labels"])
            .filter(|l| l.is_object())
            .cloned();
        if let Some(labels) = template_labels {
            let empty =
                |v: Option<&Value>| v.and_then(Value::as_object).is_none_or(|m| m.is_empty());
            if empty(get(obj, &["spec", "selector"]))
                && let Some(spec) = object_at(obj, &["spec"])
            {
                spec.insert("selector".into(), labels.clone());
            }
            if empty(get(obj, &["metadata", "labels"]))
                && let Some(meta) = object_at(obj, &["metadata"])
            {
                meta.insert("labels".into(), labels);
            }
        }
        if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
            default_value(spec, "replicas", json!(1));
            default_template(spec);
        }
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        if let Some(m) = obj.as_object_mut() {
            m.insert("status".into(), json!({ "replicas": 0 }));
        }
    }

    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        keep_from_old(new, old, "status");
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let spec = obj.get("spec").unwrap_or(&Value::Null);
        validate_replicas_and_min_ready(spec, &mut errs);
        let selector = object(spec, &["selector"]).filter(|m| !m.is_empty());
        match selector {
            None => errs.push(FieldError::required("spec.selector", "")),
            Some(_) => validate_labels(spec.get("selector"), "spec.selector", &mut errs),
        }
        match spec.get("template").filter(|t| !t.is_null()) {
            None => {
                if get_i64(spec, &["replicas"]).unwrap_or(0) > 0 {
                    errs.push(FieldError::required("spec.template", ""));
                }
            }
            Some(template) => {
                if let Some(sel) = selector {
                    let labels = get(template, &["metadata", "labels"]);
                    if !map_selector_matches(sel, labels) {
                        errs.push(FieldError::invalid(
                            "spec.template.metadata.labels",
                            labels.cloned().unwrap_or(Value::Null),
                            "`selector` does not match template `labels`",
                        ));
                    }
                }
                validate_controller_template(template, "ReplicationController", &mut errs);
            }
        }
        errs
    }

    fn validate_status_update(&self, new: &Value, _old: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        validate_replica_status(
            new.get("status").unwrap_or(&Value::Null),
            "fullyLabeledReplicas",
            &mut errs,
        );
        errs
    }

    fn status_via_subresource(&self) -> bool {
        true
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        match field {
            "status.replicas" => Some(
                get_i64(obj, &["status", "replicas"])
                    .unwrap_or(0)
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

    fn rc(spec: Value) -> Value {
        let mut o = json!({"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "r", "namespace": "d"}, "spec": spec});
        ReplicationControllerStrategy.default(&mut o);
        o
    }

    #[test]
    fn selector_and_labels_default_from_template() {
        let o = rc(
            json!({"template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}),
        );
        assert_eq!(o["spec"]["selector"], json!({"app": "web"}));
        assert_eq!(o["metadata"]["labels"], json!({"app": "web"}));
        assert_eq!(o["spec"]["replicas"], 1);
        assert!(ReplicationControllerStrategy.validate(&o).is_empty());
    }

    #[test]
    fn validation() {
        let o = rc(
            json!({"selector": {"app": "a"}, "template": {"metadata": {"labels": {"app": "b"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}),
        );
        let errs = ReplicationControllerStrategy.validate(&o);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "spec.template.metadata.labels");
        let o = rc(json!({"replicas": 2}));
        let fields: Vec<_> = ReplicationControllerStrategy
            .validate(&o)
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, vec!["spec.selector", "spec.template"]);
        let o = rc(
            json!({"template": {"metadata": {"labels": {"app": "a"}}, "spec": {"restartPolicy": "OnFailure", "activeDeadlineSeconds": 5, "containers": [{"name": "c", "image": "x"}]}}}),
        );
        let fields: Vec<_> = ReplicationControllerStrategy
            .validate(&o)
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            vec![
                "spec.template.spec.restartPolicy",
                "spec.template.spec.activeDeadlineSeconds"
            ]
        );
    }
}
