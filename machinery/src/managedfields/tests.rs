#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;

use serde_json::{Value, json};

use super::*;

/// A Deployment-shaped schema: labels/annotations granular maps, finalizers a set,
/// containers keyed by name, ports by containerPort+protocol (protocol defaults to TCP),
/// selector and args atomic.
fn schema() -> (Schema, TypeRef) {
    let mut s = Schema::new();
    let leaf = Schema::LEAF;
    let string_map = s.add(Atom::Map(MapType {
        fields: HashMap::new(),
        elem: Some(leaf),
    }));
    let finalizers = s.add(Atom::List(ListType {
        elem: leaf,
        keys: vec![],
        key_defaults: vec![],
    }));
    let meta = s.add(Atom::Map(MapType {
        fields: [
            ("name", leaf),
            ("namespace", leaf),
            ("labels", string_map),
            ("annotations", string_map),
            ("finalizers", finalizers),
            ("managedFields", leaf),
            ("creationTimestamp", leaf),
            ("uid", leaf),
            ("resourceVersion", leaf),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
        elem: None,
    }));
    let port = s.add(Atom::Map(MapType {
        fields: [("containerPort", leaf), ("protocol", leaf), ("name", leaf)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        elem: None,
    }));
    let ports = s.add(Atom::List(ListType {
        elem: port,
        keys: vec!["containerPort".into(), "protocol".into()],
        key_defaults: vec![("protocol".into(), json!("TCP"))],
    }));
    let container = s.add(Atom::Map(MapType {
        fields: [
            ("name", leaf),
            ("image", leaf),
            ("args", leaf),
            ("ports", ports),
            ("imagePullPolicy", leaf),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
        elem: None,
    }));
    let containers = s.add(Atom::List(ListType {
        elem: container,
        keys: vec!["name".into()],
        key_defaults: vec![],
    }));
    let pod_spec = s.add(Atom::Map(MapType {
        fields: [("containers".to_string(), containers)]
            .into_iter()
            .collect(),
        elem: None,
    }));
    let template = s.add(Atom::Map(MapType {
        fields: [
            ("metadata".to_string(), meta),
            ("spec".to_string(), pod_spec),
        ]
        .into_iter()
        .collect(),
        elem: None,
    }));
    let spec = s.add(Atom::Map(MapType {
        fields: [
            ("replicas", leaf),
            ("selector", leaf),
            ("template", template),
            ("paused", leaf),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
        elem: None,
    }));
    let status = s.add(Atom::Map(MapType {
        fields: [("replicas".to_string(), leaf)].into_iter().collect(),
        elem: None,
    }));
    let root = s.add(Atom::Map(MapType {
        fields: [
            ("apiVersion", leaf),
            ("kind", leaf),
            ("metadata", meta),
            ("spec", spec),
            ("status", status),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
        elem: None,
    }));
    (s, root)
}

fn f(name: &str) -> PathElement {
    PathElement::Field(name.into())
}

fn deployment(replicas: i64, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "nginx", "image": image, "ports": [{"containerPort": 80}]}]},
            },
        },
    })
}

#[test]
fn fields_v1_round_trips_in_upstream_form() {
    let cases = [
        json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}}, "f:spec": {"f:replicas": {}}}),
        json!({"f:spec": {"f:template": {"f:spec": {"f:containers": {
            "k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}, "f:name": {},
                "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}}}
        }}}}}),
        json!({"f:metadata": {"f:finalizers": {".": {}, "v:\"a.example/x\"": {}, "v:\"b\"": {}}}}),
        json!({}),
    ];
    for case in cases {
        let set = Set::from_fields_v1(&case).unwrap();
        assert_eq!(set.to_fields_v1(), case, "round trip of {case}");
        // Key order on the wire is upstream's: "." first, then elements in order.
        assert_eq!(
            serde_json::to_string(&set.to_fields_v1()).unwrap(),
            serde_json::to_string(&case).unwrap()
        );
    }
    assert!(Set::from_fields_v1(&json!({"x": {}})).is_err());
    assert!(Set::from_fields_v1(&json!([])).is_err());
    // Unknown element kinds are dropped, as upstream.
    let s = Set::from_fields_v1(&json!({"z:foo": {}, "f:a": {}})).unwrap();
    assert_eq!(s.to_fields_v1(), json!({"f:a": {}}));
}

#[test]
fn set_algebra() {
    let p = |parts: &[&str]| parts.iter().map(|n| f(n)).collect::<Vec<_>>();
    let a = Set::from_paths([p(&["a", "b"]).as_slice(), &p(&["a", "c"]), &p(&["d"])]);
    let b = Set::from_paths([p(&["a", "b"]).as_slice(), &p(&["e"])]);
    let parent = Set::from_paths([p(&["a"]).as_slice()]);
    type Op = fn(&Set, &Set) -> Set;
    type Case<'a> = (&'a str, Op, &'a Set, &'a Set, Vec<Vec<&'a str>>);
    let cases: [Case; 5] = [
        (
            "union",
            Set::union,
            &a,
            &b,
            vec![vec!["a", "b"], vec!["a", "c"], vec!["d"], vec!["e"]],
        ),
        (
            "intersection",
            Set::intersection,
            &a,
            &b,
            vec![vec!["a", "b"]],
        ),
        (
            "difference",
            Set::difference,
            &a,
            &b,
            vec![vec!["a", "c"], vec!["d"]],
        ),
        // A parent member does not remove children in a plain difference...
        (
            "difference by parent",
            Set::difference,
            &a,
            &parent,
            vec![vec!["a", "b"], vec!["a", "c"], vec!["d"]],
        ),
        // ...but does in a recursive one.
        (
            "recursive difference",
            Set::recursive_difference,
            &a,
            &parent,
            vec![vec!["d"]],
        ),
    ];
    for (name, op, x, y, want) in cases {
        let got: Vec<String> = op(x, y).paths().iter().map(|p| path_string(p)).collect();
        let want: Vec<String> = want.iter().map(|w| path_string(&p(w))).collect();
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn field_set_of_an_applied_configuration() {
    let (s, root) = schema();
    let set = typed::to_field_set(&s, root, &deployment(2, "nginx:1"));
    assert_eq!(
        set.to_fields_v1(),
        json!({
            "f:apiVersion": {}, "f:kind": {},
            "f:metadata": {"f:labels": {"f:app": {}}, "f:name": {}, "f:namespace": {}},
            "f:spec": {
                "f:replicas": {}, "f:selector": {},
                "f:template": {
                    "f:metadata": {"f:labels": {"f:app": {}}},
                    "f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {
                        ".": {}, "f:image": {}, "f:name": {},
                        "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}},
                    }}},
                },
            },
        })
    );
}

#[test]
fn compare_marks_new_maps_as_members() {
    let (s, root) = schema();
    let old = json!({"metadata": {"name": "web"}, "spec": {"replicas": 1}});
    let new =
        json!({"metadata": {"name": "web", "labels": {"app": "web"}}, "spec": {"replicas": 2}});
    let c = typed::compare(&s, root, &old, &new);
    assert_eq!(
        c.added.to_fields_v1(),
        json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}}})
    );
    assert_eq!(
        c.modified.to_fields_v1(),
        json!({"f:spec": {"f:replicas": {}}})
    );
    assert!(c.removed.is_empty());
    let back = typed::compare(&s, root, &new, &old);
    assert_eq!(back.removed, c.added);
}

#[test]
fn merge_keeps_live_only_items_and_config_order() {
    let (s, root) = schema();
    let containers = |names: &[&str]| {
        json!({"spec": {"template": {"spec": {"containers":
            names.iter().map(|n| json!({"name": n, "image": format!("{n}:live")})).collect::<Vec<_>>()}}}})
    };
    let cases: [(&[&str], &[&str], &[&str]); 4] = [
        (&["a", "b"], &["b", "a"], &["b", "a"]),
        (&["a", "x", "b"], &["b", "a"], &["x", "b", "a"]),
        (&["a"], &["c"], &["a", "c"]),
        (&[], &["c", "d"], &["c", "d"]),
    ];
    for (live, config, want) in cases {
        let merged = typed::merge(&s, root, &containers(live), &containers(config));
        let got: Vec<&str> = merged
            .pointer("/spec/template/spec/containers")
            .and_then(Value::as_array)
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(got, want, "live {live:?} config {config:?}");
    }
    // Atomic values are replaced, granular maps merged.
    let live = json!({"metadata": {"labels": {"a": "1"}}, "spec": {"selector": {"matchLabels": {"a": "1"}}}});
    let config = json!({"metadata": {"labels": {"b": "2"}}, "spec": {"selector": {"matchLabels": {"b": "2"}}}});
    assert_eq!(
        typed::merge(&s, root, &live, &config),
        json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"selector": {"matchLabels": {"b": "2"}}}})
    );
}

fn manager(
    schema: &Schema,
    root: TypeRef,
    ignored: &Set,
    empty: &Value,
    now: &'static str,
) -> FieldManager<'static> {
    // The tests leak these small values to get 'static references.
    let schema: &'static Schema = Box::leak(Box::new(schema.clone()));
    let ignored: &'static Set = Box::leak(Box::new(ignored.clone()));
    let empty: &'static Value = Box::leak(Box::new(empty.clone()));
    FieldManager {
        schema,
        root,
        api_version: "apps/v1",
        subresource: "",
        ignored,
        empty,
        now,
    }
}

fn entries(obj: &Value) -> Vec<(String, String, Value)> {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .map(|e| {
                    (
                        e["manager"].as_str().unwrap_or("").to_string(),
                        e["operation"].as_str().unwrap_or("").to_string(),
                        e["fieldsV1"].clone(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn status_ignored() -> Set {
    Set::from_paths([[f("status")].as_slice()])
}

fn zero() -> Value {
    json!({"metadata": {"creationTimestamp": null}, "spec": {"template": {"metadata": {"creationTimestamp": null}, "spec": {"containers": null}}}, "status": {}})
}

#[test]
fn create_records_the_creator_like_upstream() {
    let (s, root) = schema();
    let fm = manager(&s, root, &status_ignored(), &zero(), "2025-01-01T00:00:00Z");
    let created = fm.update(None, deployment(2, "nginx:1"), "kubectl-create");
    let e = entries(&created);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].0, "kubectl-create");
    assert_eq!(e[0].1, "Update");
    // No `.` for spec/template (present in the zero object) nor for containers (null
    // there); labels are new maps.
    assert_eq!(
        e[0].2,
        json!({
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {
                "f:replicas": {}, "f:selector": {},
                "f:template": {
                    "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                    "f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {
                        ".": {}, "f:image": {}, "f:name": {},
                        "f:ports": {".": {}, "k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}},
                    }}},
                },
            },
        })
    );
    let entry = &created["metadata"]["managedFields"][0];
    assert_eq!(entry["apiVersion"], "apps/v1");
    assert_eq!(entry["fieldsType"], "FieldsV1");
    assert_eq!(entry["time"], "2025-01-01T00:00:00Z");
}

#[test]
fn apply_conflicts_force_and_shared_ownership() {
    let (s, root) = schema();
    let fm = manager(&s, root, &status_ignored(), &zero(), "2025-01-01T00:00:00Z");
    let created = fm.update(None, deployment(2, "nginx:1"), "kubectl-client-side-apply");

    // Same values: no conflict, ownership shared.
    let same = fm
        .apply(Some(&created), &deployment(2, "nginx:1"), "ssa", false)
        .unwrap();
    let managers: Vec<(String, String)> =
        entries(&same).into_iter().map(|(m, o, _)| (m, o)).collect();
    assert_eq!(
        managers,
        vec![
            ("ssa".to_string(), "Apply".to_string()),
            (
                "kubectl-client-side-apply".to_string(),
                "Update".to_string()
            )
        ]
    );

    // A different replicas value conflicts with the updater.
    let err = fm
        .apply(Some(&same), &deployment(3, "nginx:1"), "ssa", false)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using apps/v1: .spec.replicas"
    );
    assert_eq!(
        err.causes(),
        vec![(
            "conflict with \"kubectl-client-side-apply\" using apps/v1".to_string(),
            ".spec.replicas".to_string()
        )]
    );

    // Forced: the applier takes the field.
    let forced = fm
        .apply(Some(&same), &deployment(3, "nginx:1"), "ssa", true)
        .unwrap();
    assert_eq!(forced["spec"]["replicas"], 3);
    let e = entries(&forced);
    let csa = e
        .iter()
        .find(|(m, _, _)| m == "kubectl-client-side-apply")
        .unwrap();
    assert!(csa.2.pointer("/f:spec/f:replicas").is_none());
    let ssa = e.iter().find(|(m, _, _)| m == "ssa").unwrap();
    assert!(ssa.2.pointer("/f:spec/f:replicas").is_some());
}

#[test]
fn reapply_removes_fields_no_longer_applied_unless_owned_elsewhere() {
    let (s, root) = schema();
    let fm = manager(&s, root, &status_ignored(), &zero(), "2025-01-01T00:00:00Z");
    let mut cfg = deployment(2, "nginx:1");
    cfg["metadata"]["labels"]["tier"] = json!("front");
    cfg["metadata"]["annotations"] = json!({"note": "x"});
    let first = fm.apply(None, &cfg, "ssa", false).unwrap();
    assert_eq!(first["metadata"]["labels"]["tier"], "front");

    // Another manager takes the annotation by updating it.
    let mut updated = first.clone();
    updated["metadata"]["annotations"]["note"] = json!("y");
    let updated = fm.update(Some(&first), updated, "editor");

    // Re-apply without the label and the annotation.
    let second = fm
        .apply(Some(&updated), &deployment(2, "nginx:1"), "ssa", false)
        .unwrap();
    assert!(
        second["metadata"]["labels"].get("tier").is_none(),
        "{second}"
    );
    assert_eq!(second["metadata"]["labels"]["app"], "web");
    assert_eq!(second["metadata"]["annotations"]["note"], "y");

    // Dropping a container removes it; other fields stay.
    let mut two = deployment(2, "nginx:1");
    two["spec"]["template"]["spec"]["containers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "side", "image": "busybox"}));
    let with_two = fm.apply(Some(&second), &two, "ssa", false).unwrap();
    assert_eq!(
        with_two["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let back = fm
        .apply(Some(&with_two), &deployment(2, "nginx:1"), "ssa", false)
        .unwrap();
    let names: Vec<&str> = back["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["nginx"]);
}

#[test]
fn updates_merge_per_manager_and_untracked_objects_get_before_first_apply() {
    let (s, root) = schema();
    let fm = manager(&s, root, &status_ignored(), &zero(), "2025-01-01T00:00:00Z");
    let created = fm.update(None, deployment(1, "a"), "creator");
    let mut next = created.clone();
    next["spec"]["paused"] = json!(true);
    let updated = fm.update(Some(&created), next, "creator");
    assert_eq!(
        entries(&updated).len(),
        1,
        "same manager and operation merge"
    );
    assert!(entries(&updated)[0].2.pointer("/f:spec/f:paused").is_some());

    // `managedFields: [{}]` clears them; later updates stay untracked.
    let mut reset = updated.clone();
    reset["metadata"]["managedFields"] = json!([{}]);
    let cleared = fm.update(Some(&updated), reset, "creator");
    assert!(cleared["metadata"].get("managedFields").is_none());
    let mut again = cleared.clone();
    again["spec"]["replicas"] = json!(5);
    let untracked = fm.update(Some(&cleared), again, "other");
    assert!(untracked["metadata"].get("managedFields").is_none());

    // The first apply gives the existing fields to "before-first-apply".
    let applied = fm
        .apply(Some(&untracked), &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"paused": false}}), "ssa", true)
        .unwrap();
    let managers: Vec<String> = entries(&applied).into_iter().map(|(m, _, _)| m).collect();
    assert_eq!(
        managers,
        vec!["ssa".to_string(), "before-first-apply".to_string()]
    );
}

#[test]
fn kubectl_server_side_apply_upgrades_from_client_side_apply() {
    let (s, root) = schema();
    let fm = manager(&s, root, &status_ignored(), &zero(), "2025-01-01T00:00:00Z");
    let mut csa = deployment(2, "nginx:1");
    let last = serde_json::to_string(&deployment(2, "nginx:1")).unwrap();
    csa["metadata"]["annotations"] = json!({ LAST_APPLIED_ANNOTATION: last });
    let created = fm.update(None, csa, "kubectl-client-side-apply");
    // kubectl may take fields whose live values are still the last applied ones.
    let upgraded = fm
        .apply(Some(&created), &deployment(3, "nginx:2"), "kubectl", false)
        .unwrap();
    assert_eq!(upgraded["spec"]["replicas"], 3);
    let annotation = upgraded["metadata"]["annotations"][LAST_APPLIED_ANNOTATION]
        .as_str()
        .unwrap();
    let parsed: Value = serde_json::from_str(annotation).unwrap();
    assert_eq!(parsed["spec"]["replicas"], 3);
    // Another manager name gets the conflict.
    let err = fm
        .apply(Some(&created), &deployment(3, "nginx:2"), "other", false)
        .unwrap_err();
    let fields: Vec<String> = err.causes().into_iter().map(|(_, f)| f).collect();
    assert_eq!(
        fields,
        vec![
            ".spec.replicas".to_string(),
            ".spec.template.spec.containers[name=\"nginx\"].image".to_string()
        ]
    );
}

#[test]
fn apply_rejects_malformed_configurations() {
    let (s, root) = schema();
    let fm = manager(&s, root, &status_ignored(), &zero(), "2025-01-01T00:00:00Z");
    let cases = [
        (
            json!({"spec": {"bogus": 1}}),
            ".spec.bogus: field not declared in schema",
        ),
        (
            json!({"metadata": {"managedFields": []}}),
            "metadata.managedFields must be nil",
        ),
        (
            json!({"spec": {"template": {"spec": {"containers": [{"name": "a"}, {"name": "a"}]}}}}),
            "duplicate entries for key [name=\"a\"]",
        ),
        (
            json!({"spec": {"template": {"spec": {"containers": [{"image": "a"}]}}}}),
            "omits all key fields",
        ),
    ];
    for (cfg, want) in cases {
        let err = fm.apply(None, &cfg, "m", false).unwrap_err();
        assert!(
            matches!(&err, ApplyFailure::BadRequest(m) | ApplyFailure::Invalid(m) if m.contains(want)),
            "{cfg}: {err}"
        );
    }
}

#[test]
fn update_managers_are_capped() {
    let (s, root) = schema();
    let fm = manager(&s, root, &status_ignored(), &zero(), "2025-01-01T00:00:00Z");
    let mut obj = fm.update(
        None,
        json!({"metadata": {"name": "x"}, "spec": {"replicas": 0}}),
        "m0",
    );
    for i in 1..=12 {
        let mut next = obj.clone();
        next["metadata"]["labels"] = json!({ format!("l{i}"): "v" });
        let mut labels = obj["metadata"].get("labels").cloned().unwrap_or(json!({}));
        labels[format!("l{i}")] = json!("v");
        next["metadata"]["labels"] = labels;
        obj = fm.update(Some(&obj), next, &format!("m{i}"));
    }
    let e = entries(&obj);
    assert_eq!(e.len(), MAX_UPDATE_MANAGERS);
    assert!(e.iter().any(|(m, _, _)| m == ANCIENT_CHANGES_MANAGER));
}

#[test]
fn conflict_messages_name_managers_as_upstream() {
    let id = |m: &str, op: &str, sub: &str| {
        ManagerInfo {
            manager: m.into(),
            operation: op.into(),
            api_version: "apps/v1".into(),
            subresource: sub.into(),
        }
        .identifier()
    };
    let cases = [
        (id("kubectl", "Apply", ""), "\"kubectl\""),
        (
            id("hpa", "Update", "scale"),
            "\"hpa\" with subresource \"scale\" using apps/v1",
        ),
        ("not json".to_string(), "\"not json\""),
    ];
    for (ident, want) in cases {
        assert_eq!(ManagerInfo::describe(&ident), want);
    }
    assert_eq!(
        id("kubectl", "Apply", ""),
        r#"{"manager":"kubectl","operation":"Apply"}"#
    );
    let two = [
        Conflict {
            manager: id("a", "Apply", ""),
            path: vec![f("spec"), f("replicas")],
        },
        Conflict {
            manager: id("a", "Apply", ""),
            path: vec![f("spec"), f("paused")],
        },
    ];
    assert_eq!(
        conflict_message(&two),
        "Apply failed with 2 conflicts: conflicts with \"a\":\n- .spec.replicas\n- .spec.paused"
    );
}
