//! Events: core/v1 Events and their events.k8s.io/v1 representation, which share storage
//! at /registry/events in the core form (as upstream). Validation follows upstream: the
//! legacy rules for everything, the strict ones for writes through events.k8s.io/v1.

use machinery::FieldError;
use serde_json::{Map, Value, json};

use super::common::*;
use crate::registry::strategy::Strategy;

/// `events_api` is set for requests through events.k8s.io/v1, whose stricter validation
/// applies to the (core-form) object.
pub struct EventStrategy {
    pub events_api: bool,
}

/// Core field name ↔ events.k8s.io/v1 field name, for the fields that are renamed.
const RENAMED: &[(&str, &str)] = &[
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
    ("reportingComponent", "reportingController"),
];

fn convert(obj: Value, to_events: bool, api_version: &str) -> Value {
    let Value::Object(map) = obj else {
        return obj;
    };
    let mut out = Map::new();
    out.insert("apiVersion".into(), json!(api_version));
    out.insert("kind".into(), json!("Event"));
    for (k, v) in map {
        if k == "apiVersion" || k == "kind" || v.is_null() {
            continue;
        }
        let renamed = RENAMED.iter().find_map(|(core, ev)| {
            if to_events && k == *core {
                Some(*ev)
            } else if !to_events && k == *ev {
                Some(*core)
            } else {
                None
            }
        });
        out.insert(renamed.map_or(k, str::to_string), v);
    }
    if to_events {
        // events.k8s.io/v1 always carries eventTime (null for legacy events), as Go
        // serializes its non-omitempty MicroTime.
        out.entry("eventTime").or_insert(Value::Null);
    }
    Value::Object(out)
}

/// A stored core/v1 Event as events.k8s.io/v1 shows it.
pub fn event_v1_to_events_v1(core: Value) -> Value {
    convert(core, true, "events.k8s.io/v1")
}

/// An events.k8s.io/v1 Event in the core/v1 form it is stored in.
pub fn events_v1_to_core(ev: Value) -> Value {
    convert(ev, false, "v1")
}

impl Strategy for EventStrategy {
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        legacy_validate(obj, &mut errs);
        if self.events_api {
            strict_validate(obj, &mut errs);
        }
        errs
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        legacy_validate(new, &mut errs);
        if self.events_api {
            if get(new, &["series"]) != get(old, &["series"]) {
                validate_series(new, &mut errs);
            }
            // What happened is fixed once reported; only the series (and metadata) move on.
            for field in [
                "involvedObject",
                "reason",
                "message",
                "source",
                "firstTimestamp",
                "lastTimestamp",
                "count",
                "type",
                "eventTime",
                "action",
                "related",
                "reportingComponent",
                "reportingInstance",
            ] {
                validate_immutable(new.get(field), old.get(field), field, &mut errs);
            }
        }
        errs
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        // events.k8s.io/v1 selects by its own names for the same stored fields.
        let field = match field {
            "regarding.kind" => "involvedObject.kind",
            "regarding.namespace" => "involvedObject.namespace",
            "regarding.name" => "involvedObject.name",
            "regarding.uid" => "involvedObject.uid",
            "regarding.apiVersion" => "involvedObject.apiVersion",
            "regarding.resourceVersion" => "involvedObject.resourceVersion",
            "regarding.fieldPath" => "involvedObject.fieldPath",
            "reportingController" => "reportingComponent",
            "deprecatedSource" => "source",
            f => f,
        };
        let s = |path: &[&str]| Some(str_or_empty(obj, path).to_string());
        match field {
            "involvedObject.kind" => s(&["involvedObject", "kind"]),
            "involvedObject.namespace" => s(&["involvedObject", "namespace"]),
            "involvedObject.name" => s(&["involvedObject", "name"]),
            "involvedObject.uid" => s(&["involvedObject", "uid"]),
            "involvedObject.apiVersion" => s(&["involvedObject", "apiVersion"]),
            "involvedObject.resourceVersion" => s(&["involvedObject", "resourceVersion"]),
            "involvedObject.fieldPath" => s(&["involvedObject", "fieldPath"]),
            "reason" => s(&["reason"]),
            "reportingComponent" => s(&["reportingComponent"]),
            "source" => s(&["source", "component"]),
            "type" => s(&["type"]),
            _ => None,
        }
    }
}

/// Upstream's legacyValidateEvent: namespaces agree, and new-style events (eventTime set)
/// name their reporter, action and reason.
fn legacy_validate(ev: &Value, errs: &mut Errs) {
    let ns = str_or_empty(ev, &["metadata", "namespace"]);
    let io_ns = str_or_empty(ev, &["involvedObject", "namespace"]);
    let mismatch = || {
        FieldError::invalid(
            "involvedObject.namespace",
            json!(io_ns),
            "does not match event.namespace",
        )
    };
    if !is_set(ev.get("eventTime")) {
        if io_ns.is_empty() {
            if !ns.is_empty() && ns != "default" {
                errs.push(mismatch());
            }
        } else if ns != io_ns {
            errs.push(mismatch());
        }
    } else {
        if io_ns.is_empty() && ns != "default" && ns != "kube-system" {
            errs.push(mismatch());
        }
        let controller = str_or_empty(ev, &["reportingComponent"]);
        if controller.is_empty() {
            errs.push(FieldError::required("reportingController", ""));
        } else {
            validate_qualified_name(controller, "reportingController", errs);
        }
        let limited = |field: &str, path: &str, max: usize, required: bool, errs: &mut Errs| {
            let v = str_or_empty(ev, &[field]);
            if required && v.is_empty() {
                errs.push(FieldError::required(path, ""));
            }
            if v.len() > max {
                errs.push(FieldError::invalid(
                    path,
                    json!(""),
                    format!("can have at most {max} characters"),
                ));
            }
        };
        limited("reportingInstance", "reportingInstance", 128, true, errs);
        limited("action", "action", 128, true, errs);
        limited("reason", "reason", 128, true, errs);
        limited("message", "message", 1024, false, errs);
    }
}

/// Extra rules for events written through events.k8s.io/v1.
fn strict_validate(ev: &Value, errs: &mut Errs) {
    validate_series(ev, errs);
    if !is_set(ev.get("eventTime")) {
        errs.push(FieldError::required("eventTime", ""));
    }
    let ty = str_or_empty(ev, &["type"]);
    if ty != "Normal" && ty != "Warning" {
        errs.push(FieldError::invalid(
            "type",
            json!(""),
            format!("has invalid value: {ty}"),
        ));
    }
    for field in ["firstTimestamp", "lastTimestamp", "count"] {
        if is_set(ev.get(field)) {
            errs.push(FieldError::invalid(field, json!(""), "needs to be unset"));
        }
    }
    if !str_or_empty(ev, &["source", "component"]).is_empty()
        || !str_or_empty(ev, &["source", "host"]).is_empty()
    {
        errs.push(FieldError::invalid(
            "source",
            json!(""),
            "needs to be unset",
        ));
    }
}

fn validate_series(ev: &Value, errs: &mut Errs) {
    if let Some(series) = ev.get("series").filter(|s| !s.is_null()) {
        if get_i64(series, &["count"]).unwrap_or(0) < 2 {
            errs.push(FieldError::invalid(
                "series.count",
                json!(""),
                "should be at least 2",
            ));
        }
        if !is_set(series.get("lastObservedTime")) {
            errs.push(FieldError::required("series.lastObservedTime", ""));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn core_event() -> Value {
        json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "web.17a", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "namespace": "default", "name": "web", "uid": "u1", "apiVersion": "v1", "fieldPath": "spec.containers{c}"},
            "reason": "Pulled", "message": "Successfully pulled image",
            "source": {"component": "kubelet", "host": "n1"},
            "firstTimestamp": "2024-01-01T00:00:00Z", "lastTimestamp": "2024-01-01T00:01:00Z",
            "count": 2, "type": "Normal",
            "reportingComponent": "kubelet", "reportingInstance": "n1"
        })
    }

    #[test]
    fn conversion_both_ways() {
        let ev = event_v1_to_events_v1(core_event());
        assert_eq!(ev["apiVersion"], "events.k8s.io/v1");
        assert_eq!(ev["regarding"]["name"], "web");
        assert_eq!(ev["note"], "Successfully pulled image");
        assert_eq!(ev["deprecatedSource"]["component"], "kubelet");
        assert_eq!(ev["deprecatedFirstTimestamp"], "2024-01-01T00:00:00Z");
        assert_eq!(ev["deprecatedLastTimestamp"], "2024-01-01T00:01:00Z");
        assert_eq!(ev["deprecatedCount"], 2);
        assert_eq!(ev["reportingController"], "kubelet");
        assert_eq!(ev["reportingInstance"], "n1");
        assert_eq!(ev["eventTime"], Value::Null);
        assert!(ev.get("involvedObject").is_none() && ev.get("message").is_none());
        let back = events_v1_to_core(ev);
        assert_eq!(back, core_event());

        let new_style = json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "x", "namespace": "default"},
            "eventTime": "2024-01-01T00:00:00.000000Z",
            "series": {"count": 3, "lastObservedTime": "2024-01-01T00:05:00.000000Z"},
            "reportingController": "example.com/ctl", "reportingInstance": "ctl-1",
            "action": "Reconcile", "reason": "Done", "regarding": {"kind": "Node", "name": "n1"},
            "note": "ok", "type": "Normal"
        });
        let core = events_v1_to_core(new_style.clone());
        assert_eq!(core["apiVersion"], "v1");
        assert_eq!(core["reportingComponent"], "example.com/ctl");
        assert_eq!(core["involvedObject"]["kind"], "Node");
        assert_eq!(event_v1_to_events_v1(core), new_style);
    }

    #[test]
    fn validation() {
        let legacy = EventStrategy { events_api: false };
        let strict = EventStrategy { events_api: true };
        assert!(legacy.validate(&core_event()).is_empty());
        let mut wrong_ns = core_event();
        wrong_ns["involvedObject"]["namespace"] = json!("other");
        assert_eq!(
            legacy.validate(&wrong_ns)[0].to_string(),
            "involvedObject.namespace: Invalid value: \"other\": does not match event.namespace"
        );
        // Written through events.k8s.io/v1, the deprecated fields must be unset.
        let fields: Vec<_> = strict
            .validate(&core_event())
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            vec![
                "eventTime",
                "firstTimestamp",
                "lastTimestamp",
                "count",
                "source"
            ]
        );
        let good = events_v1_to_core(json!({
            "metadata": {"name": "x", "namespace": "default"}, "eventTime": "2024-01-01T00:00:00.000000Z",
            "reportingController": "example.com/ctl", "reportingInstance": "i", "action": "A", "reason": "R",
            "regarding": {"kind": "Node", "name": "n1"}, "type": "Normal"
        }));
        assert!(
            strict.validate(&good).is_empty(),
            "{:?}",
            strict.validate(&good)
        );
        let mut changed = good.clone();
        changed["reason"] = json!("Other");
        let fields: Vec<_> = strict
            .validate_update(&changed, &good)
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, vec!["reason"]);
        assert!(legacy.validate_update(&changed, &good).is_empty());
    }

    #[test]
    fn field_selectors() {
        let s = EventStrategy { events_api: false };
        let ev = core_event();
        for (field, want) in [
            ("involvedObject.kind", "Pod"),
            ("involvedObject.name", "web"),
            ("involvedObject.uid", "u1"),
            ("involvedObject.fieldPath", "spec.containers{c}"),
            ("involvedObject.resourceVersion", ""),
            ("regarding.name", "web"),
            ("reason", "Pulled"),
            ("source", "kubelet"),
            ("type", "Normal"),
            ("reportingComponent", "kubelet"),
            ("reportingController", "kubelet"),
        ] {
            assert_eq!(s.field_value(&ev, field).as_deref(), Some(want), "{field}");
        }
        assert_eq!(s.field_value(&ev, "message"), None);
    }
}
