//! apps/v1 ReplicaSets, plus what the three replica controllers (ReplicaSet, Deployment,
//! ReplicationController) share: pod template defaulting, template-versus-selector checks and
//! replica status validation.

use machinery::FieldError;
use serde_json::{Map, Value, json};

use super::common::*;
use super::pod::{default_pod_spec, validate_pod_template};
use crate::registry::strategy::Strategy;

pub struct ReplicaSetStrategy;

impl Strategy for ReplicaSetStrategy {
    fn default(&self, obj: &mut Value) {
        if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
            default_value(spec, "replicas", json!(1));
            default_template(spec);
        }
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        // Status belongs to the controller; Go always serializes `replicas`.
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
        validate_apps_selector_and_template(spec, "ReplicaSet", &mut errs);
        errs
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = self.validate(new);
        validate_immutable(
            get(new, &["spec", "selector"]),
            get(old, &["spec", "selector"]),
            "spec.selector",
            &mut errs,
        );
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

/// Pod template defaults (the PodSpec defaults, not the Pod-only ones).
pub(crate) fn default_template(spec: &mut Map<String, Value>) {
    if let Some(t) = spec.get_mut("template").and_then(Value::as_object_mut)
        && let Some(ps) = t.get_mut("spec").and_then(Value::as_object_mut)
    {
        default_pod_spec(ps, false);
    }
}

pub(crate) fn validate_replicas_and_min_ready(spec: &Value, errs: &mut Errs) {
    validate_nonnegative(spec, &["replicas"], "spec.replicas", errs);
    validate_nonnegative(spec, &["minReadySeconds"], "spec.minReadySeconds", errs);
}

/// apps/v1 selector rules (required, non-empty, valid) and the template that must match it.
pub(crate) fn validate_apps_selector_and_template(spec: &Value, kind: &str, errs: &mut Errs) {
    let selector = spec.get("selector").filter(|s| !s.is_null());
    let mut usable = false;
    match selector {
        None => errs.push(FieldError::required("spec.selector", "")),
        Some(sel) => {
            let before = errs.len();
            validate_label_selector(sel, "spec.selector", errs);
            if selector_is_empty(sel) {
                // Upstream words this for every apps/v1 controller as for deployments.
                errs.push(FieldError::invalid(
                    "spec.selector",
                    sel.clone(),
                    "empty selector is invalid for deployment",
                ));
            }
            usable = errs.len() == before;
        }
    }
    let template = spec.get("template").filter(|t| !t.is_null());
    let Some(template) = template else {
        errs.push(FieldError::required("spec.template", ""));
        return;
    };
    if let (true, Some(sel)) = (usable, selector) {
        let labels = get(template, &["metadata", "labels"]);
        if !selector_matches(sel, labels) {
            errs.push(FieldError::invalid(
                "spec.template.metadata.labels",
                labels.cloned().unwrap_or(Value::Null),
                "`selector` does not match template `labels`",
            ));
        }
    }
    validate_controller_template(template, kind, errs);
}

/// What every replica controller requires of its pod template beyond PodSpec validity.
pub(crate) fn validate_controller_template(template: &Value, kind: &str, errs: &mut Errs) {
    validate_pod_template(template, "spec.template", errs);
    if let Some(rp) = get_str(template, &["spec", "restartPolicy"])
        && rp != "Always"
        && !rp.is_empty()
    {
        errs.push(FieldError::not_supported(
            "spec.template.spec.restartPolicy",
            json!(rp),
            &["Always"],
        ));
    }
    if is_set(get(template, &["spec", "activeDeadlineSeconds"])) {
        errs.push(FieldError::forbidden(
            "spec.template.spec.activeDeadlineSeconds",
            format!("activeDeadlineSeconds in {kind} is not Supported"),
        ));
    }
}

/// Replica counts in a controller's status: non-negative and consistent with each other.
/// `labeled` names the third counter (fullyLabeledReplicas, or updatedReplicas for
/// deployments).
pub(crate) fn validate_replica_status(status: &Value, labeled: &str, errs: &mut Errs) {
    for field in [
        "replicas",
        labeled,
        "readyReplicas",
        "availableReplicas",
        "observedGeneration",
        "unavailableReplicas",
        "collisionCount",
    ] {
        validate_nonnegative(status, &[field], &format!("status.{field}"), errs);
    }
    let n = |f: &str| get_i64(status, &[f]).unwrap_or(0);
    let msg = "cannot be greater than status.replicas";
    for field in [labeled, "readyReplicas", "availableReplicas"] {
        if n(field) > n("replicas") {
            errs.push(FieldError::invalid(
                format!("status.{field}"),
                json!(n(field)),
                msg,
            ));
        }
    }
    if n("availableReplicas") > n("readyReplicas") {
        errs.push(FieldError::invalid(
            "status.availableReplicas",
            json!(n("availableReplicas")),
            "cannot be greater than readyReplicas",
        ));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn rs(spec: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "r", "namespace": "d"}, "spec": spec})
    }

    fn good_spec() -> Value {
        json!({
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
        })
    }

    #[test]
    fn defaults_and_create() {
        let mut o = rs(good_spec());
        ReplicaSetStrategy.default(&mut o);
        ReplicaSetStrategy.prepare_for_create(&mut o);
        assert_eq!(o["spec"]["replicas"], 1);
        assert_eq!(o["spec"]["template"]["spec"]["restartPolicy"], "Always");
        assert_eq!(
            o["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
            "Always"
        );
        // Template defaults stop at PodSpec: no pod-only fields.
        assert!(
            o["spec"]["template"]["spec"]
                .get("enableServiceLinks")
                .is_none()
        );
        assert!(o["spec"]["template"]["spec"].get("tolerations").is_none());
        assert_eq!(o["status"], json!({"replicas": 0}));
        assert!(
            ReplicaSetStrategy.validate(&o).is_empty(),
            "{:?}",
            ReplicaSetStrategy.validate(&o)
        );
    }

    #[test]
    fn validation_table() {
        type Mutation = Box<dyn Fn(&mut Value)>;
        let cases: Vec<(Mutation, Vec<&str>)> = vec![
            (
                Box::new(|s| s["replicas"] = json!(-1)),
                vec!["spec.replicas"],
            ),
            (
                Box::new(|s| {
                    s.as_object_mut().unwrap().remove("selector");
                }),
                vec!["spec.selector"],
            ),
            (
                Box::new(|s| s["selector"] = json!({})),
                vec!["spec.selector"],
            ),
            (
                Box::new(|s| s["template"]["metadata"]["labels"] = json!({"app": "other"})),
                vec!["spec.template.metadata.labels"],
            ),
            (
                Box::new(|s| s["template"]["spec"]["restartPolicy"] = json!("Never")),
                vec!["spec.template.spec.restartPolicy"],
            ),
            (
                Box::new(|s| s["template"]["spec"]["containers"][0]["image"] = json!("")),
                vec!["spec.template.spec.containers[0].image"],
            ),
            (
                Box::new(|s| {
                    s.as_object_mut().unwrap().remove("template");
                }),
                vec!["spec.template"],
            ),
        ];
        for (mutate, want) in cases {
            let mut spec = good_spec();
            mutate(&mut spec);
            let mut o = rs(spec);
            ReplicaSetStrategy.default(&mut o);
            let errs = ReplicaSetStrategy.validate(&o);
            let got: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
            assert_eq!(got, want, "{errs:?}");
        }
        let mut spec = good_spec();
        spec["template"]["metadata"]["labels"] = json!({"app": "other"});
        let errs = ReplicaSetStrategy.validate(&rs(spec));
        assert_eq!(
            errs[0].to_string(),
            "spec.template.metadata.labels: Invalid value: {\"app\":\"other\"}: `selector` does not match template `labels`"
        );
    }

    #[test]
    fn selector_is_immutable_and_status_kept() {
        let mut old = rs(good_spec());
        ReplicaSetStrategy.default(&mut old);
        old["status"] = json!({"replicas": 3});
        let mut new = old.clone();
        new["spec"]["selector"] = json!({"matchLabels": {"app": "web", "x": "y"}});
        new["spec"]["template"]["metadata"]["labels"]["x"] = json!("y");
        new["status"] = json!({"replicas": 0});
        ReplicaSetStrategy.prepare_for_update(&mut new, &old);
        assert_eq!(new["status"]["replicas"], 3);
        let errs = ReplicaSetStrategy.validate_update(&new, &old);
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0]
                .to_string()
                .starts_with("spec.selector: Invalid value: ")
        );
        assert!(errs[0].to_string().ends_with("field is immutable"));
    }

    #[test]
    fn status_validation() {
        let mut o = rs(good_spec());
        o["status"] = json!({"replicas": 1, "readyReplicas": 2, "availableReplicas": -1});
        let errs = ReplicaSetStrategy.validate_status_update(&o, &o);
        let got: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            got,
            vec!["status.availableReplicas", "status.readyReplicas"]
        );
        assert_eq!(
            ReplicaSetStrategy
                .field_value(&o, "status.replicas")
                .as_deref(),
            Some("1")
        );
    }
}
