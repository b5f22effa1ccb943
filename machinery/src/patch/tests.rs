#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};

use super::*;

fn configmap() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "cfg",
            "namespace": "default",
            "resourceVersion": "5",
            "labels": {"app": "web", "tier": "fe"},
        },
        "data": {"a": "1", "list": "x"},
    })
}

#[test]
fn merge_patch_cases() {
    // (name, patch, expected result)
    let cases = [
        (
            "label set and null deletes",
            json!({"metadata": {"labels": {"tier": null, "new": "x"}}}),
            json!({"app": "web", "new": "x"}),
        ),
        (
            "deleting a missing label is a no-op",
            json!({"metadata": {"labels": {"nope": null}}}),
            json!({"app": "web", "tier": "fe"}),
        ),
        (
            "whole map deleted",
            json!({"metadata": {"labels": null}}),
            Value::Null,
        ),
    ];
    for (name, patch, labels) in cases {
        let out = merge_patch(&configmap(), &patch).unwrap();
        assert_eq!(out["metadata"]["labels"], labels, "{name}");
        assert_eq!(out["data"], configmap()["data"], "{name}: untouched");
    }
}

#[test]
fn merge_patch_scale_and_nested_nulls() {
    let deploy = json!({"spec": {"replicas": 1, "paused": true, "template": {"spec": {"containers": [{"name": "a"}]}}}});
    let out = merge_patch(&deploy, &json!({"spec": {"replicas": 3, "paused": null}})).unwrap();
    assert_eq!(out["spec"]["replicas"], 3);
    assert!(out["spec"].get("paused").is_none());
    // Lists are replaced whole.
    let out = merge_patch(
        &deploy,
        &json!({"spec": {"template": {"spec": {"containers": [{"name": "b"}]}}}}),
    )
    .unwrap();
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"],
        json!([{"name": "b"}])
    );
    // Nulls inside a new object are dropped, per RFC 7386.
    let out = merge_patch(&deploy, &json!({"status": {"replicas": 1, "x": null}})).unwrap();
    assert_eq!(out["status"], json!({"replicas": 1}));
}

#[test]
fn merge_patch_requires_an_object() {
    for patch in [json!(null), json!([1]), json!("x"), json!(1)] {
        let err = merge_patch(&configmap(), &patch).unwrap_err();
        assert_eq!(
            err,
            PatchError::BadRequest("Invalid JSON Patch".into()),
            "{patch}"
        );
        assert_eq!(err.to_api_error().code, 400);
    }
}

#[test]
fn json_patch_applies_operations() {
    // (name, patch, JSON pointer, expected value there)
    let cases = [
        (
            "kube-rs adds its first finalizer after testing for null",
            json!([
                {"op": "test", "path": "/metadata/finalizers", "value": null},
                {"op": "add", "path": "/metadata/finalizers", "value": ["example.com/cleanup"]},
            ]),
            "/metadata/finalizers",
            json!(["example.com/cleanup"]),
        ),
        (
            "a test without value counts as null",
            json!([
                {"op": "test", "path": "/metadata/finalizers"},
                {"op": "add", "path": "/metadata/finalizers", "value": []},
            ]),
            "/metadata/finalizers",
            json!([]),
        ),
        (
            "Kopf guards its write with the resourceVersion",
            json!([
                {"op": "test", "path": "/metadata/resourceVersion", "value": "5"},
                {"op": "replace", "path": "/data/a", "value": "2"},
            ]),
            "/data/a",
            json!("2"),
        ),
        (
            "replace of a missing member adds it",
            json!([{"op": "replace", "path": "/metadata/annotations", "value": {"k": "v"}}]),
            "/metadata/annotations",
            json!({"k": "v"}),
        ),
        (
            "escaped path segments",
            json!([{"op": "add", "path": "/metadata/labels/example.com~1role", "value": "db"}]),
            "/metadata/labels/example.com~1role",
            json!("db"),
        ),
        (
            "remove",
            json!([{"op": "remove", "path": "/metadata/labels/tier"}]),
            "/metadata/labels",
            json!({"app": "web"}),
        ),
        (
            "move and copy",
            json!([
                {"op": "copy", "from": "/data/a", "path": "/data/b"},
                {"op": "move", "from": "/data/a", "path": "/data/c"},
            ]),
            "/data",
            json!({"list": "x", "b": "1", "c": "1"}),
        ),
        (
            "append to a list",
            json!([
                {"op": "add", "path": "/metadata/finalizers", "value": ["a"]},
                {"op": "add", "path": "/metadata/finalizers/-", "value": "b"},
                {"op": "test", "path": "/metadata/finalizers/1", "value": "b"},
            ]),
            "/metadata/finalizers",
            json!(["a", "b"]),
        ),
        (
            "test of a present null passes",
            json!([
                {"op": "add", "path": "/data/n", "value": null},
                {"op": "test", "path": "/data/n", "value": null},
            ]),
            "/data/n",
            Value::Null,
        ),
        ("the empty patch", json!([]), "/data/a", json!("1")),
    ];
    for (name, patch, pointer, expected) in cases {
        let out = json_patch(&configmap(), &patch).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(out.pointer(pointer), Some(&expected), "{name}");
    }
    // `null` decodes to an empty patch upstream.
    assert_eq!(json_patch(&configmap(), &Value::Null).unwrap(), configmap());
}

#[test]
fn json_patch_failures_are_invalid() {
    let cases = [
        (
            "test against null of a present value",
            json!([{"op": "test", "path": "/metadata/labels", "value": null}]),
        ),
        (
            "stale resourceVersion",
            json!([
                {"op": "test", "path": "/metadata/resourceVersion", "value": "4"},
                {"op": "replace", "path": "/data/a", "value": "2"},
            ]),
        ),
        (
            "test below a missing parent",
            json!([{"op": "test", "path": "/spec/foo", "value": null}]),
        ),
        (
            "add below a missing parent",
            json!([{"op": "add", "path": "/spec/replicas", "value": 1}]),
        ),
        (
            "remove of a missing member",
            json!([{"op": "remove", "path": "/metadata/annotations"}]),
        ),
        (
            "index out of range",
            json!([{"op": "add", "path": "/data/list/5", "value": 1}]),
        ),
        ("unknown op", json!([{"op": "frobnicate", "path": "/data"}])),
        ("missing op", json!([{"path": "/data"}])),
        ("null operation", json!([null])),
        ("missing path", json!([{"op": "add", "value": 1}])),
        (
            "move without from",
            json!([{"op": "move", "path": "/data/x"}]),
        ),
        (
            "path without a leading slash",
            json!([{"op": "add", "path": "data", "value": 1}]),
        ),
    ];
    for (name, patch) in cases {
        let err = json_patch(&configmap(), &patch).expect_err(name);
        assert!(matches!(err, PatchError::Invalid(_)), "{name}: {err:?}");
        let status = err.to_api_error().to_status();
        assert_eq!(status["code"], 422, "{name}");
        assert_eq!(status["reason"], "Invalid", "{name}");
        assert_eq!(
            status["message"],
            "the server rejected our request due to an error in our request"
        );
        assert_eq!(status["details"], json!({}));
    }
    assert_eq!(
        json_patch(
            &configmap(),
            &json!([{"op": "frobnicate", "path": "/data"}])
        ),
        Err(PatchError::Invalid("Unexpected kind: frobnicate".into()))
    );
}

#[test]
fn json_patch_malformed_documents_are_bad_requests() {
    let cases = [
        (
            json!({"op": "add"}),
            "json: cannot unmarshal object into Go value of type jsonpatch.Patch",
        ),
        (
            json!(["add"]),
            "json: cannot unmarshal string into Go value of type jsonpatch.Operation",
        ),
    ];
    for (patch, message) in cases {
        let err = json_patch(&configmap(), &patch).unwrap_err();
        assert_eq!(err, PatchError::BadRequest(message.into()));
        assert_eq!(err.to_api_error().code, 400);
    }
}

#[test]
fn json_patch_is_all_or_nothing() {
    let original = configmap();
    let patch = json!([
        {"op": "replace", "path": "/data/a", "value": "changed"},
        {"op": "test", "path": "/data/a", "value": "1"},
    ]);
    assert!(json_patch(&original, &patch).is_err());
    assert_eq!(original, configmap());
}

#[test]
fn json_patch_operation_limit() {
    let ops: Vec<Value> = (0..=MAX_JSON_PATCH_OPERATIONS)
        .map(|_| json!({"op": "test", "path": "/kind", "value": "ConfigMap"}))
        .collect();
    let err = json_patch(&configmap(), &Value::Array(ops)).unwrap_err();
    assert_eq!(
        err,
        PatchError::TooManyOperations {
            max: 10_000,
            got: 10_001
        }
    );
    let api = err.to_api_error();
    assert_eq!(api.code, 413);
    assert_eq!(
        api.message,
        "The allowed maximum operations in a JSON patch is 10000, got 10001"
    );
}

#[test]
fn rejected_patches_are_reported_as_upstream() {
    let status = PatchError::Rejected(
        "map: map[image:nginx] does not contain declared merge key: name".into(),
    )
    .to_api_error()
    .to_status();
    assert_eq!(status["code"], 500);
    assert_eq!(
        status["message"],
        "map: map[image:nginx] does not contain declared merge key: name"
    );
}
