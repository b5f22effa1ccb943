//! Strategies: the CustomResourceDefinition kind's (defaults and validation of names, group,
//! scope, versions, schemas, subresources and printer columns, as upstream's
//! `apiextensions/validation`), and one per served custom resource (its CRD's schema:
//! pruning on decode, then defaulting, then validation).

use std::collections::HashSet;
use std::sync::Arc;

use machinery::schema::{self, Schema};
use machinery::validation::{dns1035_label_errors, dns1123_subdomain_errors};
use machinery::{ApiError, FieldError};
use serde_json::{Value, json};

use super::CustomResource;
use crate::registry::decode::Normalized;
use crate::registry::strategy::Strategy;

// ---------------------------------------------------------------------------------------------
// CustomResourceDefinition

pub struct CrdStrategy;

fn str_at<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

fn storage_versions(crd: &Value) -> Vec<String> {
    crd.pointer("/spec/versions")
        .and_then(Value::as_array)
        .map(|vs| {
            vs.iter()
                .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
                .filter_map(|v| v.get("name").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

impl Strategy for CrdStrategy {
    fn default(&self, obj: &mut Value) {
        let kind = str_at(obj, "/spec/names/kind").to_string();
        if let Some(names) = obj
            .pointer_mut("/spec/names")
            .and_then(Value::as_object_mut)
            && !kind.is_empty()
        {
            if names
                .get("singular")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                names.insert("singular".into(), json!(kind.to_ascii_lowercase()));
            }
            if names
                .get("listKind")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                names.insert("listKind".into(), json!(format!("{kind}List")));
            }
        }
        if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
            if !spec.get("conversion").is_some_and(Value::is_object) {
                spec.insert("conversion".into(), json!({ "strategy": "None" }));
            }
            for v in spec
                .get_mut("versions")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Some(cols) = v
                    .get_mut("additionalPrinterColumns")
                    .and_then(Value::as_array_mut)
                {
                    for c in cols.iter_mut().filter_map(Value::as_object_mut) {
                        c.entry("priority").or_insert(json!(0));
                    }
                }
            }
        }
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        let stored = storage_versions(obj);
        if let Some(m) = obj.as_object_mut() {
            m.insert(
                "status".into(),
                json!({
                    "conditions": [],
                    "acceptedNames": { "plural": "", "kind": "" },
                    "storedVersions": stored,
                }),
            );
        }
    }

    fn prepare_for_update(&self, new: &mut Value, _old: &Value) {
        // A new storage version joins storedVersions, as upstream's PrepareForUpdate does.
        let mut stored: Vec<Value> = new
            .pointer("/status/storedVersions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut changed = false;
        for v in storage_versions(new) {
            if !stored.iter().any(|s| s.as_str() == Some(v.as_str())) {
                stored.push(json!(v));
                changed = true;
            }
        }
        if changed && let Some(status) = new.get_mut("status").and_then(Value::as_object_mut) {
            status.insert("storedVersions".into(), Value::Array(stored));
        }
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_crd(obj)
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = validate_crd(new);
        let old_scope = str_at(old, "/spec/scope");
        let new_scope = str_at(new, "/spec/scope");
        if old_scope != new_scope {
            errs.push(FieldError::invalid(
                "spec.scope",
                json!(new_scope),
                "field is immutable",
            ));
        }
        errs
    }

    fn status_via_subresource(&self) -> bool {
        true
    }
}

fn kind_errors(path: &str, value: &str) -> Vec<FieldError> {
    if value.is_empty() {
        return vec![FieldError::required(path, "")];
    }
    if dns1035_label_errors(&value.to_ascii_lowercase()).is_empty() {
        Vec::new()
    } else {
        vec![FieldError::invalid(
            path,
            json!(value),
            "may have mixed case, but should otherwise match: [a-z]([-a-z0-9]*[a-z0-9])?",
        )]
    }
}

fn label_errors(path: &str, value: &str, required: bool) -> Vec<FieldError> {
    if value.is_empty() {
        return if required {
            vec![FieldError::required(path, "")]
        } else {
            Vec::new()
        };
    }
    dns1035_label_errors(value)
        .into_iter()
        .map(|e| FieldError::invalid(path, json!(value), e))
        .collect()
}

/// Upstream's `ValidateCustomResourceDefinition` (the parts a user meets).
pub fn validate_crd(crd: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let group = str_at(crd, "/spec/group");
    let plural = str_at(crd, "/spec/names/plural");
    let name = str_at(crd, "/metadata/name");
    if name != format!("{plural}.{group}") {
        errs.push(FieldError::invalid(
            "metadata.name",
            json!(name),
            "must be spec.names.plural+\".\"+spec.group",
        ));
    }
    if group.is_empty() {
        errs.push(FieldError::required("spec.group", ""));
    } else {
        for e in dns1123_subdomain_errors(group) {
            errs.push(FieldError::invalid("spec.group", json!(group), e));
        }
        if !group.contains('.') {
            errs.push(FieldError::invalid(
                "spec.group",
                json!(group),
                "should be a domain with at least one dot",
            ));
        }
    }
    match str_at(crd, "/spec/scope") {
        "Cluster" | "Namespaced" => {}
        "" => errs.push(FieldError::required("spec.scope", "")),
        other => errs.push(FieldError::not_supported(
            "spec.scope",
            json!(other),
            &["Cluster", "Namespaced"],
        )),
    }
    errs.extend(label_errors("spec.names.plural", plural, true));
    errs.extend(label_errors(
        "spec.names.singular",
        str_at(crd, "/spec/names/singular"),
        false,
    ));
    let kind = str_at(crd, "/spec/names/kind");
    let list_kind = str_at(crd, "/spec/names/listKind");
    errs.extend(kind_errors("spec.names.kind", kind));
    errs.extend(kind_errors("spec.names.listKind", list_kind));
    if !kind.is_empty() && kind == list_kind {
        errs.push(FieldError::invalid(
            "spec.names.listKind",
            json!(list_kind),
            "kind and listKind cannot be the same",
        ));
    }
    for field in ["shortNames", "categories"] {
        if let Some(items) = crd
            .pointer(&format!("/spec/names/{field}"))
            .and_then(Value::as_array)
        {
            for (i, v) in items.iter().enumerate() {
                errs.extend(label_errors(
                    &format!("spec.names.{field}[{i}]"),
                    v.as_str().unwrap_or(""),
                    true,
                ));
            }
        }
    }
    if crd.pointer("/spec/preserveUnknownFields") == Some(&json!(true)) {
        errs.push(FieldError::invalid(
            "spec.preserveUnknownFields",
            json!(true),
            "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead",
        ));
    }
    match str_at(crd, "/spec/conversion/strategy") {
        "" | "None" => {}
        "Webhook" => errs.push(FieldError::forbidden(
            "spec.conversion.strategy",
            "Webhook conversion is not supported by this API server; use None",
        )),
        other => errs.push(FieldError::not_supported(
            "spec.conversion.strategy",
            json!(other),
            &["None", "Webhook"],
        )),
    }
    errs.extend(validate_versions(crd));
    errs
}

fn validate_versions(crd: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if versions.is_empty() {
        errs.push(FieldError::required(
            "spec.versions",
            "must have exactly one version marked as storage version",
        ));
        return errs;
    }
    let storage = versions
        .iter()
        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .count();
    if storage != 1 {
        errs.push(FieldError::invalid(
            "spec.versions",
            Value::Array(versions.clone()),
            "must have exactly one version marked as storage version",
        ));
    }
    if !versions
        .iter()
        .any(|v| v.get("served").and_then(Value::as_bool) == Some(true))
    {
        errs.push(FieldError::invalid(
            "spec.versions",
            Value::Array(versions.clone()),
            "must have at least one version marked as served",
        ));
    }
    let mut seen = HashSet::new();
    for (i, v) in versions.iter().enumerate() {
        let path = format!("spec.versions[{i}]");
        let name = v.get("name").and_then(Value::as_str).unwrap_or("");
        errs.extend(label_errors(&format!("{path}.name"), name, true));
        if !seen.insert(name.to_string()) {
            errs.push(FieldError::duplicate(format!("{path}.name"), json!(name)));
        }
        match v.pointer("/schema/openAPIV3Schema") {
            Some(raw @ Value::Object(_)) => {
                let parsed = Schema::parse(raw);
                errs.extend(schema::validate_structural(
                    &parsed,
                    &format!("{path}.schema.openAPIV3Schema"),
                ));
            }
            _ => errs.push(FieldError::required(
                format!("{path}.schema.openAPIV3Schema"),
                "schemas are required",
            )),
        }
        if let Some(scale) = v.pointer("/subresources/scale") {
            let sp = format!("{path}.subresources.scale");
            let spec_path = scale
                .get("specReplicasPath")
                .and_then(Value::as_str)
                .unwrap_or("");
            if spec_path.is_empty() {
                errs.push(FieldError::required(format!("{sp}.specReplicasPath"), ""));
            } else if !spec_path.starts_with(".spec.") {
                errs.push(FieldError::invalid(
                    format!("{sp}.specReplicasPath"),
                    json!(spec_path),
                    "should be a json path under .spec",
                ));
            }
            let status_path = scale
                .get("statusReplicasPath")
                .and_then(Value::as_str)
                .unwrap_or("");
            if status_path.is_empty() {
                errs.push(FieldError::required(format!("{sp}.statusReplicasPath"), ""));
            } else if !status_path.starts_with(".status.") {
                errs.push(FieldError::invalid(
                    format!("{sp}.statusReplicasPath"),
                    json!(status_path),
                    "should be a json path under .status",
                ));
            }
            if let Some(sel) = scale.get("labelSelectorPath").and_then(Value::as_str)
                && !sel.is_empty()
                && !(sel.starts_with(".spec.") || sel.starts_with(".status."))
            {
                errs.push(FieldError::invalid(
                    format!("{sp}.labelSelectorPath"),
                    json!(sel),
                    "should be a json path under either .spec or .status",
                ));
            }
        }
        if let Some(cols) = v.get("additionalPrinterColumns").and_then(Value::as_array) {
            for (j, c) in cols.iter().enumerate() {
                let cp = format!("{path}.additionalPrinterColumns[{j}]");
                if c.get("name")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    errs.push(FieldError::required(format!("{cp}.name"), ""));
                }
                let t = c.get("type").and_then(Value::as_str).unwrap_or("");
                if !matches!(t, "integer" | "number" | "string" | "boolean" | "date") {
                    errs.push(FieldError::not_supported(
                        format!("{cp}.type"),
                        json!(t),
                        &["integer", "number", "string", "boolean", "date"],
                    ));
                }
                let f = c.get("format").and_then(Value::as_str).unwrap_or("");
                if !matches!(
                    f,
                    "" | "int32"
                        | "int64"
                        | "float"
                        | "double"
                        | "byte"
                        | "date"
                        | "date-time"
                        | "password"
                ) {
                    errs.push(FieldError::not_supported(
                        format!("{cp}.format"),
                        json!(f),
                        &[
                            "int32",
                            "int64",
                            "float",
                            "double",
                            "byte",
                            "date",
                            "date-time",
                            "password",
                        ],
                    ));
                }
                let jp = c.get("jsonPath").and_then(Value::as_str).unwrap_or("");
                if jp.is_empty() {
                    errs.push(FieldError::required(format!("{cp}.jsonPath"), ""));
                } else if let Err(e) = super::table::JsonPath::parse(jp) {
                    errs.push(FieldError::invalid(
                        format!("{cp}.jsonPath"),
                        json!(jp),
                        format!("must be a simple json path starting with .: {e}"),
                    ));
                }
            }
        }
    }
    errs
}

/// Warnings for schema rules this API server accepts but does not enforce
/// (`x-kubernetes-validations`, CEL), one per CRD version that has them.
pub fn unenforced_rules(crd: &Value) -> Vec<String> {
    fn has_rules(v: &Value) -> bool {
        match v {
            Value::Object(m) => {
                m.contains_key("x-kubernetes-validations") || m.values().any(has_rules)
            }
            Value::Array(a) => a.iter().any(has_rules),
            _ => false,
        }
    }
    crd.pointer("/spec/versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter(|(_, v)| v.pointer("/schema/openAPIV3Schema").is_some_and(has_rules))
        .map(|(i, _)| {
            format!(
                "spec.versions[{i}].schema.openAPIV3Schema: x-kubernetes-validations (CEL) rules are not enforced by this API server"
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Custom resources

/// Decoding of a custom object: unknown fields are pruned and reported (the generic store
/// turns them into warnings or a strict decoding error per fieldValidation).
#[allow(clippy::result_large_err)]
pub fn normalize(cr: &CustomResource, mut obj: Value) -> Result<Normalized, ApiError> {
    if !obj.is_object() {
        return Err(ApiError::bad_request(format!(
            "{} in version \"{}\" cannot be handled as a {}: the object must be a JSON object",
            cr.info.kind, cr.info.version, cr.info.kind
        )));
    }
    let unknown_fields = match &cr.schema {
        Some(s) => schema::prune(s, &mut obj),
        None => Vec::new(),
    };
    Ok(Normalized {
        object: obj,
        unknown_fields,
    })
}

pub struct CustomResourceStrategy(pub Arc<CustomResource>);

impl CustomResourceStrategy {
    fn validate_schema(&self, obj: &Value) -> Vec<FieldError> {
        match &self.0.schema {
            Some(s) => schema::validate(s, obj),
            None => Vec::new(),
        }
    }
}

impl Strategy for CustomResourceStrategy {
    fn default(&self, obj: &mut Value) {
        if let Some(s) = &self.0.schema {
            schema::apply_defaults(s, obj);
        }
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        // With a status subresource, status is written only through /status.
        if self.0.status_subresource
            && let Some(m) = obj.as_object_mut()
        {
            m.remove("status");
        }
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        self.validate_schema(obj)
    }

    fn validate_status_update(&self, new: &Value, _old: &Value) -> Vec<FieldError> {
        self.validate_schema(new)
    }

    /// Without a status subresource any change outside metadata counts, status included.
    fn bumps_generation(&self, new: &Value, old: &Value) -> bool {
        !self.0.status_subresource && new.get("status") != old.get("status")
    }

    fn status_via_subresource(&self) -> bool {
        self.0.status_subresource
    }

    /// `selectableFields` of the CRD version: the value as a field selector compares it
    /// (strings as they are, numbers and booleans in JSON form, absent as "").
    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        if !self.0.selectable_fields.iter().any(|f| f == field) {
            return None;
        }
        let mut cur = Some(obj);
        for seg in field.split('.') {
            cur = cur.and_then(|v| v.get(seg));
        }
        Some(match cur {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn crd() -> Value {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {
                "group": "example.com",
                "scope": "Namespaced",
                "names": {"plural": "widgets", "kind": "Widget"},
                "versions": [{
                    "name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object"}}}},
                }],
            },
        })
    }

    fn errors_after(edit: impl Fn(&mut Value)) -> Vec<String> {
        let mut c = crd();
        edit(&mut c);
        CrdStrategy.default(&mut c);
        CrdStrategy
            .validate(&c)
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message()))
            .collect()
    }

    #[test]
    fn cel_rules_are_reported_as_unenforced() {
        let mut c = crd();
        assert!(unenforced_rules(&c).is_empty());
        c["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["x-kubernetes-validations"] =
            json!([{"rule": "self.a > 0"}]);
        assert_eq!(unenforced_rules(&c).len(), 1);
        assert!(unenforced_rules(&c)[0].starts_with("spec.versions[0].schema.openAPIV3Schema"));
    }

    #[test]
    fn crd_defaults() {
        let mut c = crd();
        CrdStrategy.default(&mut c);
        assert_eq!(c["spec"]["names"]["singular"], "widget");
        assert_eq!(c["spec"]["names"]["listKind"], "WidgetList");
        assert_eq!(c["spec"]["conversion"]["strategy"], "None");
        CrdStrategy.prepare_for_create(&mut c);
        assert_eq!(c["status"]["storedVersions"], json!(["v1"]));
    }

    #[test]
    fn crd_validation() {
        type Edit = Box<dyn Fn(&mut Value)>;
        let cases: Vec<(Edit, Vec<&str>)> = vec![
            (Box::new(|_| {}), vec![]),
            (
                Box::new(|c| c["metadata"]["name"] = json!("widget.example.com")),
                vec![
                    r#"metadata.name: Invalid value: "widget.example.com": must be spec.names.plural+"."+spec.group"#,
                ],
            ),
            (
                Box::new(|c| {
                    c["spec"]["group"] = json!("example");
                    c["metadata"]["name"] = json!("widgets.example");
                }),
                vec![
                    r#"spec.group: Invalid value: "example": should be a domain with at least one dot"#,
                ],
            ),
            (
                Box::new(|c| c["spec"]["scope"] = json!("Global")),
                vec![
                    r#"spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced""#,
                ],
            ),
            (
                Box::new(|c| c["spec"]["versions"][0]["storage"] = json!(false)),
                vec!["spec.versions: Invalid value"],
            ),
            (
                Box::new(|c| {
                    let v = c["spec"]["versions"][0].clone();
                    c["spec"]["versions"].as_array_mut().unwrap().push(v);
                }),
                vec![
                    "spec.versions: Invalid value",
                    "spec.versions[1].name: Duplicate value: \"v1\"",
                ],
            ),
            (
                Box::new(|c| c["spec"]["versions"][0]["schema"] = json!(null)),
                vec![
                    "spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required",
                ],
            ),
            (
                Box::new(|c| {
                    c["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"] =
                        json!({"properties": {}})
                }),
                vec![
                    "spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value",
                ],
            ),
            (
                Box::new(|c| c["spec"]["names"]["kind"] = json!("Bad_Kind")),
                // The defaulted singular and listKind inherit the problem.
                vec![
                    "spec.names.singular: Invalid value: \"bad_kind\"",
                    "spec.names.kind: Invalid value: \"Bad_Kind\": may have mixed case",
                    "spec.names.listKind: Invalid value: \"Bad_KindList\"",
                ],
            ),
            (
                Box::new(|c| c["spec"]["names"]["shortNames"] = json!(["OK"])),
                vec!["spec.names.shortNames[0]: Invalid value: \"OK\""],
            ),
            (
                Box::new(
                    |c| c["spec"]["versions"][0]["subresources"] = json!({"scale": {"specReplicasPath": ".replicas", "statusReplicasPath": ".status.replicas"}}),
                ),
                vec![
                    r#"spec.versions[0].subresources.scale.specReplicasPath: Invalid value: ".replicas": should be a json path under .spec"#,
                ],
            ),
            (
                Box::new(|c| {
                    c["spec"]["versions"][0]["additionalPrinterColumns"] =
                        json!([{"name": "X", "type": "text", "jsonPath": ".spec.x"}])
                }),
                vec![
                    "spec.versions[0].additionalPrinterColumns[0].type: Unsupported value: \"text\"",
                ],
            ),
        ];
        for (i, (edit, want)) in cases.into_iter().enumerate() {
            let got = errors_after(edit);
            assert_eq!(got.len(), want.len(), "case {i}: {got:?}");
            for (g, w) in got.iter().zip(&want) {
                assert!(g.starts_with(w), "case {i}: got {g:?}, want {w:?}");
            }
        }
    }
}
