//! The structural-schema rules every apiextensions.k8s.io/v1 CRD schema follows (upstream's
//! `structuralschema.ValidateStructural` plus the CRD validation around it): a `type` on every
//! node except under `x-kubernetes-int-or-string` / `x-kubernetes-preserve-unknown-fields`,
//! `object` at the root, nothing but `name`/`generateName` under the root's `metadata`, ...

use serde_json::json;

use super::{AdditionalProperties, Schema, child, validate::validate_value};
use crate::validation::FieldError;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Root,
    Property,
    Items,
    Additional,
    /// Inside allOf/anyOf/oneOf/not: value validations only, no type required.
    Validation,
}

/// Checks that `schema` (parsed from `raw`) is structural. `path` is where the schema sits
/// in the CRD, e.g. `spec.versions[0].schema.openAPIV3Schema`.
pub fn validate_structural(schema: &Schema, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    check(schema, path, Level::Root, &mut errs);
    errs
}

fn check(s: &Schema, path: &str, level: Level, errs: &mut Vec<FieldError>) {
    let untyped_ok = s.int_or_string || s.preserves_unknown_fields() || level == Level::Validation;
    if s.type_.is_empty() && !untyped_ok {
        let detail = match level {
            Level::Root => "must not be empty at the root",
            Level::Items => "must not be empty for specified array items",
            Level::Additional => "must not be empty for specified additionalProperties",
            _ => "must not be empty for specified object fields",
        };
        errs.push(FieldError::required(child(path, "type"), detail));
    }
    if !s.type_.is_empty()
        && !matches!(
            s.type_.as_str(),
            "object" | "array" | "string" | "integer" | "number" | "boolean"
        )
    {
        errs.push(FieldError::not_supported(
            child(path, "type"),
            json!(s.type_),
            &["array", "boolean", "integer", "number", "object", "string"],
        ));
    }
    if level == Level::Root && !s.type_.is_empty() && s.type_ != "object" {
        errs.push(FieldError::invalid(
            child(path, "type"),
            json!(s.type_),
            "must be object at the root",
        ));
    }
    if s.int_or_string && !s.type_.is_empty() {
        errs.push(FieldError::invalid(
            child(path, "type"),
            json!(s.type_),
            "must be empty if x-kubernetes-int-or-string is true",
        ));
    }
    if s.preserve_unknown_fields == Some(false) {
        errs.push(FieldError::invalid(
            child(path, "x-kubernetes-preserve-unknown-fields"),
            json!(false),
            "must be true or undefined",
        ));
    }
    if s.embedded_resource {
        if s.type_ != "object" {
            errs.push(FieldError::invalid(
                child(path, "type"),
                json!(s.type_),
                "must be object if x-kubernetes-embedded-resource is true",
            ));
        }
        if !s.preserves_unknown_fields() && s.properties.is_empty() {
            errs.push(FieldError::required(
                child(path, "properties"),
                "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
            ));
        }
    }
    if s.type_ == "array" && s.items.is_none() {
        errs.push(FieldError::required(
            child(path, "items"),
            "must be specified",
        ));
    }
    if s.unique_items {
        errs.push(FieldError::forbidden(
            child(path, "uniqueItems"),
            "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
        ));
    }
    if !s.properties.is_empty() && s.additional_properties.is_some() {
        errs.push(FieldError::forbidden(
            child(path, "additionalProperties"),
            "additionalProperties and properties are mutual exclusive",
        ));
    }
    if matches!(
        s.additional_properties,
        Some(AdditionalProperties::Allowed(false))
    ) {
        errs.push(FieldError::forbidden(
            child(path, "additionalProperties"),
            "additionalProperties cannot be set to false",
        ));
    }
    for k in &s.forbidden_keywords {
        errs.push(FieldError::forbidden(
            child(path, k),
            format!("{k} is not supported"),
        ));
    }
    if let Some(p) = &s.pattern
        && p.regex.is_none()
    {
        let detail = match regex::Regex::new(&p.source) {
            Err(e) => format!("must be a valid regular expression, but isn't: {e}"),
            Ok(_) => "must be a valid regular expression".to_string(),
        };
        errs.push(FieldError::invalid(
            child(path, "pattern"),
            json!(p.source),
            detail,
        ));
    }
    if level == Level::Root || s.embedded_resource {
        check_metadata(s, path, level == Level::Root, errs);
    }
    if let Some(d) = &s.default {
        if level == Level::Root {
            errs.push(FieldError::forbidden(
                child(path, "default"),
                "must not be set at the root",
            ));
        } else {
            let mut value_errs = Vec::new();
            validate_value(s, d, "", &mut value_errs);
            for e in value_errs {
                errs.push(FieldError::invalid(
                    child(path, "default"),
                    d.clone(),
                    e.message(),
                ));
            }
        }
    }

    let next = |l: Level| {
        if level == Level::Validation {
            Level::Validation
        } else {
            l
        }
    };
    for (k, p) in &s.properties {
        check(
            p,
            &format!("{}[{k}]", child(path, "properties")),
            next(Level::Property),
            errs,
        );
    }
    if let Some(items) = &s.items {
        check(items, &child(path, "items"), next(Level::Items), errs);
    }
    if let Some(AdditionalProperties::Schema(ap)) = &s.additional_properties {
        check(
            ap,
            &child(path, "additionalProperties"),
            next(Level::Additional),
            errs,
        );
    }
    for (name, list) in [
        ("allOf", &s.all_of),
        ("anyOf", &s.any_of),
        ("oneOf", &s.one_of),
    ] {
        for (i, sub) in list.iter().enumerate() {
            check(
                sub,
                &format!("{}[{i}]", child(path, name)),
                Level::Validation,
                errs,
            );
        }
    }
    if let Some(not) = &s.not {
        check(not, &child(path, "not"), Level::Validation, errs);
    }
}

/// Under `metadata`, the root may only constrain `name` and `generateName` (as strings);
/// embedded resources' metadata must at least be an object.
fn check_metadata(s: &Schema, path: &str, root: bool, errs: &mut Vec<FieldError>) {
    let Some(meta) = s.properties.get("metadata") else {
        return;
    };
    let meta_path = format!("{}[metadata]", child(path, "properties"));
    if !meta.type_.is_empty() && meta.type_ != "object" {
        errs.push(FieldError::invalid(
            child(&meta_path, "type"),
            json!(meta.type_),
            "must be object",
        ));
    }
    if !root {
        return;
    }
    let only_names = meta.properties.iter().all(|(k, p)| {
        matches!(k.as_str(), "name" | "generateName")
            && (p.type_ == "string" || p.type_.is_empty())
            && p.properties.is_empty()
            && p.items.is_none()
    }) && meta.additional_properties.is_none()
        && meta.required.is_empty()
        && meta.default.is_none()
        && meta.enum_values.is_none()
        && !meta.nullable
        && meta.all_of.is_empty()
        && meta.any_of.is_empty()
        && meta.one_of.is_empty()
        && meta.not.is_none()
        && !meta.preserves_unknown_fields();
    if !only_names {
        errs.push(FieldError::forbidden(
            meta_path,
            "must not specify anything other than name and generateName, but metadata is implicitly specified",
        ));
    }
}
