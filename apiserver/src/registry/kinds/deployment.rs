//! apps/v1 Deployments: upstream's defaults (RollingUpdate 25%/25%, revisionHistoryLimit 10,
//! progressDeadlineSeconds 600), strategy validation and the immutable selector.

use machinery::FieldError;
use serde_json::{Value, json};

use super::common::*;
use super::replicaset::{
    default_template, validate_apps_selector_and_template, validate_replica_status,
    validate_replicas_and_min_ready,
};
use crate::registry::strategy::Strategy;

pub struct DeploymentStrategy;

impl Strategy for DeploymentStrategy {
    fn default(&self, obj: &mut Value) {
        let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
            return;
        };
        default_value(spec, "replicas", json!(1));
        if let Some(strategy) = child_object(spec, "strategy") {
            default_str(strategy, "type", "RollingUpdate");
            if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate")
                && let Some(ru) = child_object(strategy, "rollingUpdate")
            {
                default_value(ru, "maxUnavailable", json!("25%"));
                default_value(ru, "maxSurge", json!("25%"));
            }
        }
        default_value(spec, "revisionHistoryLimit", json!(10));
        default_value(spec, "progressDeadlineSeconds", json!(600));
        default_template(spec);
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        if let Some(m) = obj.as_object_mut() {
            m.insert("status".into(), json!({}));
        }
    }

    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        keep_from_old(new, old, "status");
    }

    fn bumps_generation(&self, new: &Value, old: &Value) -> bool {
        // Annotations are copied to the ReplicaSets, so the controller must see a new
        // generation when they change (upstream's deployment strategy).
        get(new, &["metadata", "annotations"]) != get(old, &["metadata", "annotations"])
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let spec = obj.get("spec").unwrap_or(&Value::Null);
        validate_replicas_and_min_ready(spec, &mut errs);
        validate_apps_selector_and_template(spec, "Deployment", &mut errs);
        validate_strategy(spec.get("strategy").unwrap_or(&Value::Null), &mut errs);
        validate_nonnegative(
            spec,
            &["revisionHistoryLimit"],
            "spec.revisionHistoryLimit",
            &mut errs,
        );
        if let Some(pd) = get_i64(spec, &["progressDeadlineSeconds"]) {
            validate_nonnegative(
                spec,
                &["progressDeadlineSeconds"],
                "spec.progressDeadlineSeconds",
                &mut errs,
            );
            if pd <= get_i64(spec, &["minReadySeconds"]).unwrap_or(0) {
                errs.push(FieldError::invalid(
                    "spec.progressDeadlineSeconds",
                    json!(pd),
                    "must be greater than minReadySeconds",
                ));
            }
        }
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

    fn validate_status_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        validate_replica_status(
            new.get("status").unwrap_or(&Value::Null),
            "updatedReplicas",
            &mut errs,
        );
        let cc = |v: &Value| get_i64(v, &["status", "collisionCount"]);
        if let Some(o) = cc(old)
            && cc(new).is_none_or(|n| n < o)
        {
            errs.push(FieldError::invalid(
                "status.collisionCount",
                json!(cc(new).unwrap_or(0)),
                "cannot be decremented",
            ));
        }
        errs
    }

    fn status_via_subresource(&self) -> bool {
        true
    }
}

/// The value of an int-or-percent (`3` or `"25%"`), with whether it is a percentage;
/// `None` for a malformed string.
fn int_or_percent(v: &Value) -> Option<(i64, bool)> {
    match v {
        Value::Number(n) => n.as_i64().map(|n| (n, false)),
        Value::String(s) => {
            let digits = s.strip_suffix('%')?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            digits.parse().ok().map(|n| (n, true))
        }
        _ => None,
    }
}

fn validate_int_or_percent(v: Option<&Value>, field: &str, errs: &mut Errs) -> i64 {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return 0;
    };
    match int_or_percent(v) {
        Some((n, _)) if n < 0 => {
            errs.push(FieldError::invalid(
                field,
                v.clone(),
                "must be greater than or equal to 0",
            ));
            n
        }
        Some((n, _)) => n,
        None => {
            errs.push(FieldError::invalid(
                field,
                v.clone(),
                "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
            ));
            0
        }
    }
}

fn validate_strategy(strategy: &Value, errs: &mut Errs) {
    let ru = strategy.get("rollingUpdate").filter(|v| !v.is_null());
    match str_or_empty(strategy, &["type"]) {
        "Recreate" => {
            if ru.is_some() {
                errs.push(FieldError::forbidden(
                    "spec.strategy.rollingUpdate",
                    "may not be specified when strategy `type` is 'Recreate'",
                ));
            }
        }
        "RollingUpdate" => {
            let Some(ru) = ru else {
                errs.push(FieldError::required(
                    "spec.strategy.rollingUpdate",
                    "this should be defaulted and never be nil",
                ));
                return;
            };
            let p = "spec.strategy.rollingUpdate";
            let unavailable = validate_int_or_percent(
                ru.get("maxUnavailable"),
                &format!("{p}.maxUnavailable"),
                errs,
            );
            let surge = validate_int_or_percent(ru.get("maxSurge"), &format!("{p}.maxSurge"), errs);
            if unavailable == 0 && surge == 0 {
                errs.push(FieldError::invalid(
                    format!("{p}.maxUnavailable"),
                    ru.get("maxUnavailable").cloned().unwrap_or(json!(0)),
                    "may not be 0 when `maxSurge` is 0",
                ));
            }
            if let Some((n, true)) = ru.get("maxUnavailable").and_then(int_or_percent)
                && n > 100
            {
                errs.push(FieldError::invalid(
                    format!("{p}.maxUnavailable"),
                    json!(format!("{n}%")),
                    "must not be greater than 100%",
                ));
            }
        }
        other => errs.push(FieldError::not_supported(
            "spec.strategy",
            json!(other),
            &["Recreate", "RollingUpdate"],
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn deploy(spec: Value) -> Value {
        let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "d"}, "spec": spec});
        DeploymentStrategy.default(&mut d);
        d
    }

    fn good() -> Value {
        json!({
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}
        })
    }

    #[test]
    fn defaults() {
        let mut d = deploy(good());
        DeploymentStrategy.prepare_for_create(&mut d);
        let s = &d["spec"];
        assert_eq!(s["replicas"], 1);
        assert_eq!(
            s["strategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
        );
        assert_eq!(s["revisionHistoryLimit"], 10);
        assert_eq!(s["progressDeadlineSeconds"], 600);
        assert_eq!(
            s["template"]["spec"]["containers"][0]["imagePullPolicy"],
            "IfNotPresent"
        );
        assert_eq!(d["status"], json!({}));
        assert!(
            DeploymentStrategy.validate(&d).is_empty(),
            "{:?}",
            DeploymentStrategy.validate(&d)
        );

        let mut recreate = good();
        recreate["strategy"] = json!({"type": "Recreate"});
        let d = deploy(recreate);
        assert_eq!(d["spec"]["strategy"], json!({"type": "Recreate"}));
        assert!(DeploymentStrategy.validate(&d).is_empty());
    }

    #[test]
    fn validation_table() {
        let cases: Vec<(Value, &str, &str)> = vec![
            (
                json!({"replicas": -1}),
                "spec.replicas",
                "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
            ),
            (
                json!({"selector": null}),
                "spec.selector",
                "spec.selector: Required value",
            ),
            (
                json!({"template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}),
                "spec.template.metadata.labels",
                "spec.template.metadata.labels: Invalid value: {\"app\":\"db\"}: `selector` does not match template `labels`",
            ),
            (
                json!({"strategy": {"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}}),
                "spec.strategy.rollingUpdate",
                "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'",
            ),
            (
                json!({"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}}),
                "spec.strategy.rollingUpdate.maxUnavailable",
                "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0",
            ),
            (
                json!({"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "150%"}}}),
                "spec.strategy.rollingUpdate.maxUnavailable",
                "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: \"150%\": must not be greater than 100%",
            ),
            (
                json!({"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "x"}}}),
                "spec.strategy.rollingUpdate.maxSurge",
                "",
            ),
            (
                json!({"strategy": {"type": "BlueGreen"}}),
                "spec.strategy",
                "",
            ),
            (
                json!({"minReadySeconds": 700}),
                "spec.progressDeadlineSeconds",
                "spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds",
            ),
        ];
        for (patch, field, msg) in cases {
            let mut spec = good();
            for (k, v) in patch.as_object().unwrap() {
                spec[k] = v.clone();
            }
            if spec["selector"].is_null() {
                spec.as_object_mut().unwrap().remove("selector");
            }
            let errs = DeploymentStrategy.validate(&deploy(spec));
            assert_eq!(errs.len(), 1, "{patch}: {errs:?}");
            assert_eq!(errs[0].field, field);
            if !msg.is_empty() {
                assert_eq!(errs[0].to_string(), msg);
            }
        }
    }

    #[test]
    fn update_rules() {
        let old = deploy(good());
        let mut new = old.clone();
        new["spec"]["selector"]["matchLabels"]["v"] = json!("2");
        new["spec"]["template"]["metadata"]["labels"]["v"] = json!("2");
        let errs = DeploymentStrategy.validate_update(&new, &old);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "spec.selector");

        let mut annotated = old.clone();
        annotated["metadata"]["annotations"] = json!({"kubernetes.io/change-cause": "x"});
        assert!(DeploymentStrategy.bumps_generation(&annotated, &old));
        assert!(!DeploymentStrategy.bumps_generation(&old, &old));

        let mut st_old = old.clone();
        st_old["status"] = json!({"replicas": 2, "collisionCount": 2});
        let mut st_new = old.clone();
        st_new["status"] = json!({"replicas": 2, "updatedReplicas": 3, "collisionCount": 1});
        let errs = DeploymentStrategy.validate_status_update(&st_new, &st_old);
        let got: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(got, vec!["status.updatedReplicas", "status.collisionCount"]);
    }
}
