use serde_json::{Value, json};

use super::*;

fn widget_schema() -> Schema {
    Schema::parse(&json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "required": ["size"],
                "properties": {
                    "size": {"type": "string", "enum": ["small", "large"]},
                    "replicas": {"type": "integer", "minimum": 0, "maximum": 10, "default": 1},
                    "name": {"type": "string", "pattern": "^[a-z]+$", "minLength": 2, "maxLength": 5},
                    "ratio": {"type": "number", "exclusiveMinimum": true, "minimum": 0, "multipleOf": 0.5},
                    "tags": {"type": "array", "maxItems": 2, "minItems": 1, "items": {"type": "string"}},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}, "maxProperties": 2},
                    "port": {"x-kubernetes-int-or-string": true},
                    "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                    "optional": {"type": "string", "nullable": true},
                    "template": {
                        "type": "object",
                        "x-kubernetes-embedded-resource": true,
                        "properties": {"spec": {"type": "object", "properties": {"x": {"type": "string"}}}},
                    },
                    "nested": {
                        "type": "object",
                        "default": {},
                        "properties": {"mode": {"type": "string", "default": "fast"}},
                    },
                    "count32": {"type": "integer", "format": "int32"},
                    "when": {"type": "string", "format": "date-time"},
                    "items": {
                        "type": "array",
                        "items": {"type": "object", "properties": {"a": {"type": "string", "default": "x"}}},
                    },
                },
            },
            "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
        },
    }))
}

fn messages(errs: &[crate::FieldError]) -> Vec<String> {
    errs.iter()
        .map(|e| format!("{}: {}", e.field, e.message()))
        .collect()
}

#[test]
fn validation_errors_read_as_upstream() {
    let s = widget_schema();
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({"spec": {"size": "small"}}), vec![]),
        (json!({"spec": {}}), vec!["spec.size: Required value"]),
        (json!({}), vec![]),
        (
            json!({"spec": {"size": "huge"}}),
            vec![r#"spec.size: Unsupported value: "huge": supported values: "small", "large""#],
        ),
        (
            json!({"spec": {"size": "small", "replicas": "3"}}),
            vec![
                r#"spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string""#,
            ],
        ),
        (
            json!({"spec": {"size": "small", "replicas": 1.5}}),
            vec![
                r#"spec.replicas: Invalid value: "number": spec.replicas in body must be of type integer: "number""#,
            ],
        ),
        (
            json!({"spec": {"size": "small", "replicas": -1}}),
            vec![
                "spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0",
            ],
        ),
        (
            json!({"spec": {"size": "small", "replicas": 11}}),
            vec![
                "spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10",
            ],
        ),
        (
            json!({"spec": {"size": "small", "name": "ABC"}}),
            vec![r#"spec.name: Invalid value: "ABC": spec.name in body should match '^[a-z]+$'"#],
        ),
        (
            json!({"spec": {"size": "small", "name": "a"}}),
            vec![
                r#"spec.name: Invalid value: "a": spec.name in body should be at least 2 chars long"#,
            ],
        ),
        (
            json!({"spec": {"size": "small", "name": "abcdef"}}),
            vec!["spec.name: Too long: may not be more than 5 bytes"],
        ),
        (
            json!({"spec": {"size": "small", "ratio": 0}}),
            vec!["spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0"],
        ),
        (
            json!({"spec": {"size": "small", "ratio": 0.7}}),
            vec!["spec.ratio: Invalid value: 0.7: spec.ratio in body should be a multiple of 0.5"],
        ),
        (
            json!({"spec": {"size": "small", "tags": ["a", "b", "c"]}}),
            vec!["spec.tags: Too many: 3: must have at most 2 items"],
        ),
        (
            json!({"spec": {"size": "small", "tags": []}}),
            vec!["spec.tags: Invalid value: []: spec.tags in body should have at least 1 items"],
        ),
        (
            json!({"spec": {"size": "small", "tags": ["a", 1]}}),
            vec![
                r#"spec.tags[1]: Invalid value: "integer": spec.tags[1] in body must be of type string: "integer""#,
            ],
        ),
        (
            json!({"spec": {"size": "small", "labels": {"a": 1}}}),
            vec![
                r#"spec.labels.a: Invalid value: "integer": spec.labels.a in body must be of type string: "integer""#,
            ],
        ),
        (
            json!({"spec": {"size": "small", "labels": {"a": "1", "b": "2", "c": "3"}}}),
            vec!["spec.labels: Too many: 3: must have at most 2 items"],
        ),
        (json!({"spec": {"size": "small", "port": 80}}), vec![]),
        (json!({"spec": {"size": "small", "port": "http"}}), vec![]),
        (
            json!({"spec": {"size": "small", "port": true}}),
            vec![
                r#"spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean""#,
            ],
        ),
        (json!({"spec": {"size": "small", "optional": null}}), vec![]),
        (
            json!({"spec": {"size": null}}),
            vec![
                r#"spec.size: Invalid value: "null": spec.size in body must be of type string: "null""#,
            ],
        ),
        (
            json!({"spec": {"size": "small", "template": {"spec": {}}}}),
            vec![
                "spec.template.apiVersion: Required value: must not be empty",
                "spec.template.kind: Required value: must not be empty",
            ],
        ),
        (
            json!({"spec": {"size": "small", "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}}}}),
            vec![],
        ),
        (
            json!({"spec": {"size": "small", "count32": 3_000_000_000i64}}),
            vec![
                r#"spec.count32: Invalid value: 3000000000: spec.count32 in body must be of type int32: "3000000000""#,
            ],
        ),
        (
            json!({"spec": {"size": "small", "when": "yesterday"}}),
            vec![
                r#"spec.when: Invalid value: "yesterday": spec.when in body must be of type date-time: "yesterday""#,
            ],
        ),
        (
            json!({"spec": {"size": "small", "when": "2024-01-02T03:04:05Z"}}),
            vec![],
        ),
        (
            json!({"spec": "x"}),
            vec![r#"spec: Invalid value: "string": spec in body must be of type object: "string""#],
        ),
    ];
    for (obj, want) in cases {
        let got = messages(&validate(&s, &obj));
        assert_eq!(got, want, "object {obj}");
    }
}

#[test]
fn pruning_drops_undeclared_fields_only() {
    let s = widget_schema();
    let cases: Vec<(Value, Value, Vec<&str>)> = vec![
        (
            json!({"apiVersion": "x/v1", "kind": "W", "metadata": {"name": "a", "bogus": 1}, "spec": {"size": "small", "unknown": 1}, "top": 2}),
            json!({"apiVersion": "x/v1", "kind": "W", "metadata": {"name": "a"}, "spec": {"size": "small"}}),
            vec!["metadata.bogus", "spec.unknown", "top"],
        ),
        (
            json!({"spec": {"extra": {"anything": {"deep": 1}}}}),
            json!({"spec": {"extra": {"anything": {"deep": 1}}}}),
            vec![],
        ),
        (
            json!({"spec": {"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "x": 1}, "spec": {"x": "1", "y": 2}, "other": 3}}}),
            json!({"spec": {"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"x": "1"}}}}),
            vec![
                "spec.template.metadata.x",
                "spec.template.spec.y",
                "spec.template.other",
            ],
        ),
        (
            json!({"spec": {"items": [{"a": "1", "b": 2}], "labels": {"k": "v"}}}),
            json!({"spec": {"items": [{"a": "1"}], "labels": {"k": "v"}}}),
            vec!["spec.items[0].b"],
        ),
        (
            json!({"status": {"ready": true, "phase": "x"}}),
            json!({"status": {"ready": true}}),
            vec!["status.phase"],
        ),
    ];
    for (mut obj, want, want_paths) in cases {
        let mut paths = prune(&s, &mut obj);
        paths.sort();
        let mut want_paths: Vec<String> = want_paths.into_iter().map(String::from).collect();
        want_paths.sort();
        assert_eq!(obj, want);
        assert_eq!(paths, want_paths);
    }
}

#[test]
fn defaults_fill_absent_and_nested_fields() {
    let s = widget_schema();
    let cases: Vec<(Value, Value)> = vec![
        (
            json!({"spec": {"size": "small"}}),
            json!({"spec": {"size": "small", "replicas": 1, "nested": {"mode": "fast"}}}),
        ),
        (
            json!({"spec": {"size": "small", "replicas": 4, "nested": {"mode": "slow"}}}),
            json!({"spec": {"size": "small", "replicas": 4, "nested": {"mode": "slow"}}}),
        ),
        (
            json!({"spec": {"replicas": null, "items": [{}, {"a": "y"}]}}),
            json!({"spec": {"replicas": 1, "items": [{"a": "x"}, {"a": "y"}], "nested": {"mode": "fast"}}}),
        ),
        (json!({}), json!({})),
    ];
    for (mut obj, want) in cases {
        apply_defaults(&s, &mut obj);
        assert_eq!(obj, want);
    }
}

#[test]
fn structural_rules() {
    let path = "spec.versions[0].schema.openAPIV3Schema";
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {"a": {"type": "string"}}}}}),
            vec![],
        ),
        (
            json!({"type": "object", "properties": {"spec": {"properties": {"a": {"type": "string"}}}}}),
            vec![
                "spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields",
            ],
        ),
        (
            json!({"type": "object", "properties": {"spec": {"x-kubernetes-preserve-unknown-fields": true}, "p": {"x-kubernetes-int-or-string": true}}}),
            vec![],
        ),
        (
            json!({"type": "string"}),
            vec![
                r#"spec.versions[0].schema.openAPIV3Schema.type: Invalid value: "string": must be object at the root"#,
            ],
        ),
        (
            json!({"properties": {}}),
            vec![
                "spec.versions[0].schema.openAPIV3Schema.type: Required value: must not be empty at the root",
            ],
        ),
        (
            json!({"type": "object", "properties": {"metadata": {"type": "object", "properties": {"labels": {"type": "object"}}}}}),
            vec![
                "spec.versions[0].schema.openAPIV3Schema.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified",
            ],
        ),
        (
            json!({"type": "object", "properties": {"metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 10}}}}}),
            vec![],
        ),
        (
            json!({"type": "object", "properties": {"a": {"type": "array"}}}),
            vec![
                "spec.versions[0].schema.openAPIV3Schema.properties[a].items: Required value: must be specified",
            ],
        ),
        (
            json!({"type": "object", "properties": {"a": {"type": "array", "items": {"properties": {}}}}}),
            vec![
                "spec.versions[0].schema.openAPIV3Schema.properties[a].items.type: Required value: must not be empty for specified array items",
            ],
        ),
        (
            json!({"type": "object", "properties": {"a": {"type": "string", "x-kubernetes-int-or-string": true}}}),
            vec![
                r#"spec.versions[0].schema.openAPIV3Schema.properties[a].type: Invalid value: "string": must be empty if x-kubernetes-int-or-string is true"#,
            ],
        ),
        (
            json!({"type": "object", "x-kubernetes-preserve-unknown-fields": false}),
            vec![
                "spec.versions[0].schema.openAPIV3Schema.x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined",
            ],
        ),
        (
            json!({"type": "object", "properties": {"a": {"type": "string", "pattern": "(["}}}),
            vec!["spec.versions[0].schema.openAPIV3Schema.properties[a].pattern: Invalid value"],
        ),
        (
            json!({"type": "object", "properties": {"a": {"type": "integer", "default": "x"}}}),
            vec!["spec.versions[0].schema.openAPIV3Schema.properties[a].default: Invalid value"],
        ),
        (
            json!({"type": "object", "properties": {"a": {"type": "object", "$ref": "#/x"}}}),
            vec![
                "spec.versions[0].schema.openAPIV3Schema.properties[a].$ref: Forbidden: $ref is not supported",
            ],
        ),
        (
            json!({"type": "object", "properties": {"a": {"type": "object", "x-kubernetes-embedded-resource": true}}}),
            vec![
                "spec.versions[0].schema.openAPIV3Schema.properties[a].properties: Required value: must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
            ],
        ),
        (
            json!({"type": "object", "properties": {"a": {"type": "object", "anyOf": [{"required": ["x"]}, {"required": ["y"]}]}}}),
            vec![],
        ),
    ];
    for (raw, want) in cases {
        let got = messages(&validate_structural(&Schema::parse(&raw), path));
        assert_eq!(got.len(), want.len(), "schema {raw}: {got:?}");
        for (g, w) in got.iter().zip(&want) {
            assert!(
                g.starts_with(w),
                "schema {raw}: got {g:?}, want prefix {w:?}"
            );
        }
    }
}

#[test]
fn combinators_validate_values() {
    let s = Schema::parse(&json!({
        "type": "object",
        "properties": {"spec": {
            "type": "object",
            "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
            "oneOf": [{"required": ["a"]}, {"required": ["b"]}],
        }},
    }));
    assert!(validate(&s, &json!({"spec": {"a": "1"}})).is_empty());
    let errs = messages(&validate(&s, &json!({"spec": {"a": "1", "b": "2"}})));
    assert_eq!(errs.len(), 1);
    assert!(errs[0].contains("must validate one and only one schema (oneOf)"));
}
