//! Structural schemas of CustomResourceDefinitions (upstream's
//! `apiextensions-apiserver/pkg/apiserver/schema`): the model parsed from a CRD version's
//! `schema.openAPIV3Schema`, the structural-schema rules a CRD must follow, and what the API
//! server does with a custom object on every write: pruning of unknown fields, defaulting and
//! validation, with errors worded as kube-apiserver words them.
//!
//! Order on a write, as upstream: prune, then default, then validate.

mod default;
mod prune;
mod structural;
mod validate;

use std::collections::BTreeMap;

use serde_json::Value;

pub use default::apply_defaults;
pub use prune::prune;
pub use structural::validate_structural;
pub use validate::validate;

/// `additionalProperties`: a boolean or a schema.
#[derive(Debug, Clone)]
pub enum AdditionalProperties {
    Allowed(bool),
    Schema(Box<Schema>),
}

/// One node of a structural schema. Only what the API server acts on is kept; descriptions
/// and examples stay in the CRD (and in the published OpenAPI, which uses the raw JSON).
#[derive(Debug, Clone, Default)]
pub struct Schema {
    /// `""` when absent.
    pub type_: String,
    pub format: String,
    pub nullable: bool,
    pub properties: BTreeMap<String, Schema>,
    pub additional_properties: Option<AdditionalProperties>,
    pub items: Option<Box<Schema>>,
    pub required: Vec<String>,
    pub enum_values: Option<Vec<Value>>,
    pub pattern: Option<Pattern>,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub exclusive_minimum: bool,
    pub exclusive_maximum: bool,
    pub multiple_of: Option<f64>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    pub unique_items: bool,
    pub min_properties: Option<u64>,
    pub max_properties: Option<u64>,
    pub default: Option<Value>,
    pub all_of: Vec<Schema>,
    pub any_of: Vec<Schema>,
    pub one_of: Vec<Schema>,
    pub not: Option<Box<Schema>>,
    /// `x-kubernetes-preserve-unknown-fields` (`Some(false)` is kept: it is an error).
    pub preserve_unknown_fields: Option<bool>,
    pub int_or_string: bool,
    pub embedded_resource: bool,
    /// `x-kubernetes-list-type` (atomic, set, map), for server-side apply.
    pub list_type: String,
    pub list_map_keys: Vec<String>,
    /// Keywords that structural schemas forbid (`$ref`, `definitions`, ...), for the checks.
    pub forbidden_keywords: Vec<String>,
}

/// A compiled `pattern` (ECMA-262 in OpenAPI, RE2 in kube-apiserver; the `regex` crate's
/// syntax is RE2's).
#[derive(Debug, Clone)]
pub struct Pattern {
    pub source: String,
    pub regex: Option<regex::Regex>,
}

impl Schema {
    /// Parses an `openAPIV3Schema` (or any nested schema). Never fails: values of the wrong
    /// JSON type are ignored here (the CRD's typed decoding rejects them first), and a
    /// pattern that does not compile is reported by [`validate_structural`].
    pub fn parse(v: &Value) -> Schema {
        let Some(m) = v.as_object() else {
            return Schema::default();
        };
        let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let b = |k: &str| m.get(k).and_then(Value::as_bool).unwrap_or(false);
        let f = |k: &str| m.get(k).and_then(Value::as_f64);
        let u = |k: &str| m.get(k).and_then(Value::as_u64);
        let list = |k: &str| -> Vec<Schema> {
            m.get(k)
                .and_then(Value::as_array)
                .map(|a| a.iter().map(Schema::parse).collect())
                .unwrap_or_default()
        };
        let properties = m
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| {
                p.iter()
                    .map(|(k, v)| (k.clone(), Schema::parse(v)))
                    .collect()
            })
            .unwrap_or_default();
        let additional_properties = match m.get("additionalProperties") {
            Some(Value::Bool(b)) => Some(AdditionalProperties::Allowed(*b)),
            Some(v @ Value::Object(_)) => {
                Some(AdditionalProperties::Schema(Box::new(Schema::parse(v))))
            }
            _ => None,
        };
        let items = match m.get("items") {
            Some(v @ Value::Object(_)) => Some(Box::new(Schema::parse(v))),
            // A list of schemas (tuple validation) is not structural; the first one stands
            // in, and the structural check reports it.
            Some(Value::Array(a)) => a.first().map(|v| Box::new(Schema::parse(v))),
            _ => None,
        };
        let pattern = m.get("pattern").and_then(Value::as_str).map(|p| Pattern {
            source: p.to_string(),
            regex: regex::Regex::new(p).ok(),
        });
        let mut forbidden_keywords = Vec::new();
        for k in [
            "$ref",
            "definitions",
            "dependencies",
            "patternProperties",
            "additionalItems",
            "id",
            "$schema",
        ] {
            if m.contains_key(k) {
                forbidden_keywords.push(k.to_string());
            }
        }
        if matches!(m.get("items"), Some(Value::Array(_))) {
            forbidden_keywords.push("items".into());
        }
        Schema {
            type_: s("type"),
            format: s("format"),
            nullable: b("nullable"),
            properties,
            additional_properties,
            items,
            required: m
                .get("required")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            enum_values: m.get("enum").and_then(Value::as_array).cloned(),
            pattern,
            minimum: f("minimum"),
            maximum: f("maximum"),
            exclusive_minimum: b("exclusiveMinimum"),
            exclusive_maximum: b("exclusiveMaximum"),
            multiple_of: f("multipleOf"),
            min_length: u("minLength"),
            max_length: u("maxLength"),
            min_items: u("minItems"),
            max_items: u("maxItems"),
            unique_items: b("uniqueItems"),
            min_properties: u("minProperties"),
            max_properties: u("maxProperties"),
            default: m.get("default").cloned(),
            all_of: list("allOf"),
            any_of: list("anyOf"),
            one_of: list("oneOf"),
            not: m.get("not").map(|v| Box::new(Schema::parse(v))),
            preserve_unknown_fields: m
                .get("x-kubernetes-preserve-unknown-fields")
                .and_then(Value::as_bool),
            int_or_string: b("x-kubernetes-int-or-string"),
            embedded_resource: b("x-kubernetes-embedded-resource"),
            list_type: s("x-kubernetes-list-type"),
            list_map_keys: m
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            forbidden_keywords,
        }
    }

    pub fn preserves_unknown_fields(&self) -> bool {
        self.preserve_unknown_fields == Some(true)
    }

    /// The schema of a property of this object schema: a declared property, else the
    /// `additionalProperties` schema.
    pub fn property(&self, name: &str) -> Option<&Schema> {
        self.properties
            .get(name)
            .or(match &self.additional_properties {
                Some(AdditionalProperties::Schema(s)) => Some(s),
                _ => None,
            })
    }
}

/// Field path helpers in upstream's `field.Path` notation: `spec.items[0]`, `data[key]`.
pub(crate) fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

pub(crate) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// The JSON type name as upstream's validator reports it in type errors.
pub(crate) fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The metadata fields of ObjectMeta: everything else under a custom object's `metadata` is
/// dropped, as upstream's decoding into ObjectMeta drops it.
pub const OBJECT_META_FIELDS: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
