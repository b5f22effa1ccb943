//! Validation of a custom object against its structural schema, with upstream's error
//! wording (kube-openapi's validator as kube-apiserver converts its errors into field errors:
//! `spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer:
//! "string"`, `spec.size: Required value`, `Unsupported value: "x": supported values: ...`).

use serde_json::{Value, json};

use super::{AdditionalProperties, Schema, child, index, json_type};
use crate::validation::{FieldError, FieldErrorType};

/// Validates `obj` (a whole custom object) against the CRD version's schema. `apiVersion`,
/// `kind` and `metadata` are the generic store's to check, as upstream.
pub fn validate(schema: &Schema, obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(map) = obj.as_object() else {
        errs.push(type_error("", obj, "object"));
        return errs;
    };
    for r in &schema.required {
        if matches!(r.as_str(), "apiVersion" | "kind" | "metadata") {
            continue;
        }
        if !map.contains_key(r) {
            errs.push(FieldError::required(r.clone(), ""));
        }
    }
    for (k, v) in map {
        if matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
            continue;
        }
        if let Some(s) = schema.property(k) {
            validate_value(s, v, k, &mut errs);
        }
    }
    // Root-level value validations (rare, but allowed).
    validate_combinators(schema, obj, "", &mut errs);
    errs
}

fn shown_name(path: &str) -> &str {
    if path.is_empty() { "body" } else { path }
}

fn type_error(path: &str, v: &Value, expected: &str) -> FieldError {
    let actual = json_type(v);
    FieldError::invalid(
        path,
        json!(actual),
        format!(
            "{} in body must be of type {expected}: \"{actual}\"",
            shown_name(path)
        ),
    )
}

fn invalid(path: &str, v: &Value, detail: String) -> FieldError {
    FieldError::invalid(path, v.clone(), detail)
}

fn type_matches(type_: &str, v: &Value) -> bool {
    match type_ {
        "" => true,
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64(),
        _ => true,
    }
}

/// Numbers compare by value (`1` equals `1.0` in an enum), everything else structurally.
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

fn num(f: f64) -> String {
    // Go's %v prints integral floats without a fraction.
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

pub(super) fn validate_value(s: &Schema, v: &Value, path: &str, errs: &mut Vec<FieldError>) {
    if v.is_null() {
        if s.nullable || (s.type_.is_empty() && !s.int_or_string) {
            return;
        }
        let expected = if s.int_or_string {
            "integer,string"
        } else {
            s.type_.as_str()
        };
        errs.push(type_error(path, v, expected));
        return;
    }
    if s.int_or_string && !(v.is_string() || v.is_i64() || v.is_u64()) {
        errs.push(type_error(path, v, "integer,string"));
        return;
    }
    if !type_matches(&s.type_, v) {
        errs.push(type_error(path, v, &s.type_));
        return;
    }
    if let Some(values) = &s.enum_values
        && !values.iter().any(|e| json_equal(e, v))
    {
        let supported: Vec<String> = values
            .iter()
            .map(|e| match e {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        let refs: Vec<&str> = supported.iter().map(String::as_str).collect();
        errs.push(FieldError::not_supported(path, v.clone(), &refs));
    }
    match v {
        Value::String(text) => validate_string(s, text, v, path, errs),
        Value::Number(n) => {
            if let Some(f) = n.as_f64() {
                validate_number(s, f, v, path, errs);
            }
        }
        Value::Array(items) => validate_array(s, items, v, path, errs),
        Value::Object(map) => validate_object(s, map, v, path, errs),
        _ => {}
    }
    validate_combinators(s, v, path, errs);
}

fn validate_string(s: &Schema, text: &str, v: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let name = shown_name(path);
    let chars = text.chars().count() as u64;
    if let Some(max) = s.max_length
        && chars > max
    {
        errs.push(FieldError {
            error_type: FieldErrorType::TooLong,
            field: path.to_string(),
            bad_value: None,
            detail: format!(
                "may not be more than {max} {}",
                if max == 1 { "byte" } else { "bytes" }
            ),
        });
    }
    if let Some(min) = s.min_length
        && chars < min
    {
        errs.push(invalid(
            path,
            v,
            format!("{name} in body should be at least {min} chars long"),
        ));
    }
    if let Some(p) = &s.pattern
        && let Some(re) = &p.regex
        && !re.is_match(text)
    {
        errs.push(invalid(
            path,
            v,
            format!("{name} in body should match '{}'", p.source),
        ));
    }
    if !format_ok(&s.format, text) {
        errs.push(invalid(
            path,
            v,
            format!("{name} in body must be of type {}: \"{text}\"", s.format),
        ));
    }
}

/// The formats kube-apiserver checks on strings (a subset of its list: the common ones).
fn format_ok(format: &str, text: &str) -> bool {
    match format {
        "date-time" => chrono::DateTime::parse_from_rfc3339(text).is_ok(),
        "date" => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok(),
        "byte" => {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .is_ok()
        }
        "uuid" => {
            let parts: Vec<&str> = text.split('-').collect();
            parts.len() == 5
                && [8, 4, 4, 4, 12]
                    .iter()
                    .zip(&parts)
                    .all(|(n, p)| p.len() == *n && p.chars().all(|c| c.is_ascii_hexdigit()))
        }
        "ipv4" => text.parse::<std::net::Ipv4Addr>().is_ok(),
        "ipv6" => text.parse::<std::net::Ipv6Addr>().is_ok(),
        _ => true,
    }
}

fn validate_number(s: &Schema, f: f64, v: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let name = shown_name(path);
    if let Some(min) = s.minimum {
        if s.exclusive_minimum && f <= min {
            errs.push(invalid(
                path,
                v,
                format!("{name} in body should be greater than {}", num(min)),
            ));
        } else if !s.exclusive_minimum && f < min {
            errs.push(invalid(
                path,
                v,
                format!(
                    "{name} in body should be greater than or equal to {}",
                    num(min)
                ),
            ));
        }
    }
    if let Some(max) = s.maximum {
        if s.exclusive_maximum && f >= max {
            errs.push(invalid(
                path,
                v,
                format!("{name} in body should be less than {}", num(max)),
            ));
        } else if !s.exclusive_maximum && f > max {
            errs.push(invalid(
                path,
                v,
                format!(
                    "{name} in body should be less than or equal to {}",
                    num(max)
                ),
            ));
        }
    }
    if let Some(m) = s.multiple_of
        && m > 0.0
    {
        let q = f / m;
        if (q - q.round()).abs() > 1e-9 {
            errs.push(invalid(
                path,
                v,
                format!("{name} in body should be a multiple of {}", num(m)),
            ));
        }
    }
    let out_of_range = match s.format.as_str() {
        "int32" => v.as_i64().is_some_and(|i| i32::try_from(i).is_err()),
        _ => false,
    };
    if out_of_range {
        errs.push(invalid(
            path,
            v,
            format!("{name} in body must be of type {}: \"{v}\"", s.format),
        ));
    }
}

fn validate_array(s: &Schema, items: &[Value], v: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let name = shown_name(path);
    let n = items.len() as u64;
    if let Some(max) = s.max_items
        && n > max
    {
        errs.push(FieldError {
            error_type: FieldErrorType::TooMany,
            field: path.to_string(),
            bad_value: Some(json!(n)),
            detail: format!("must have at most {max} items"),
        });
    }
    if let Some(min) = s.min_items
        && n < min
    {
        errs.push(invalid(
            path,
            v,
            format!("{name} in body should have at least {min} items"),
        ));
    }
    if s.unique_items || s.list_type == "set" {
        for (i, a) in items.iter().enumerate() {
            if items[..i].iter().any(|b| json_equal(a, b)) {
                errs.push(FieldError::duplicate(index(path, i), a.clone()));
            }
        }
    }
    if let Some(item_schema) = &s.items {
        for (i, item) in items.iter().enumerate() {
            validate_value(item_schema, item, &index(path, i), errs);
        }
    }
}

fn validate_object(
    s: &Schema,
    map: &serde_json::Map<String, Value>,
    v: &Value,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    let n = map.len() as u64;
    if let Some(max) = s.max_properties
        && n > max
    {
        errs.push(FieldError {
            error_type: FieldErrorType::TooMany,
            field: path.to_string(),
            bad_value: Some(json!(n)),
            detail: format!("must have at most {max} items"),
        });
    }
    if let Some(min) = s.min_properties
        && n < min
    {
        errs.push(invalid(
            path,
            v,
            format!(
                "{} in body should have at least {min} properties",
                shown_name(path)
            ),
        ));
    }
    for r in &s.required {
        if !map.contains_key(r) {
            errs.push(FieldError::required(child(path, r), ""));
        }
    }
    if s.embedded_resource {
        for field in ["apiVersion", "kind"] {
            match map.get(field) {
                Some(Value::String(t)) if !t.is_empty() => {}
                _ => errs.push(FieldError::required(
                    child(path, field),
                    "must not be empty",
                )),
            }
        }
        if let Some(meta) = map.get("metadata") {
            if let Some(name) = meta.get("name").and_then(Value::as_str)
                && !name.is_empty()
            {
                for p in crate::validation::dns1123_subdomain_errors(name) {
                    errs.push(FieldError::invalid(
                        child(&child(path, "metadata"), "name"),
                        json!(name),
                        p,
                    ));
                }
            }
            if !meta.is_object() {
                errs.push(type_error(&child(path, "metadata"), meta, "object"));
            }
        }
    }
    for (k, val) in map {
        if s.embedded_resource && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
            continue;
        }
        if let Some(ps) = s.properties.get(k) {
            validate_value(ps, val, &child(path, k), errs);
        } else if let Some(AdditionalProperties::Schema(ap)) = &s.additional_properties {
            validate_value(ap, val, &child(path, k), errs);
        }
    }
}

fn validate_combinators(s: &Schema, v: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let name = shown_name(path);
    for sub in &s.all_of {
        validate_value(sub, v, path, errs);
    }
    let passes = |sub: &Schema| {
        let mut e = Vec::new();
        validate_value(sub, v, path, &mut e);
        e.is_empty()
    };
    if !s.any_of.is_empty() && !s.any_of.iter().any(passes) {
        errs.push(invalid(
            path,
            v,
            format!("{name} in body must validate at least one schema (anyOf)"),
        ));
    }
    if !s.one_of.is_empty() && s.one_of.iter().filter(|s| passes(s)).count() != 1 {
        errs.push(invalid(
            path,
            v,
            format!("{name} in body must validate one and only one schema (oneOf)"),
        ));
    }
    if let Some(not) = &s.not
        && passes(not)
    {
        errs.push(invalid(
            path,
            v,
            format!("{name} in body should not validate the schema (not)"),
        ));
    }
}
