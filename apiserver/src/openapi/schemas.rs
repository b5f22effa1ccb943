//! The schema definitions: k8s-openapi's schemars schemas for built-in kinds (named as
//! upstream names them, `io.k8s.api.core.v1.Pod`), list kinds built beside them, custom
//! resources from their CRD schemas (or an open object), and the Kubernetes vendor
//! extensions k8s-openapi leaves out.
//!
//! Definitions are kept in one canonical form: JSON Schema with `$ref`s to
//! `#/components/schemas/<name>` that may have siblings (`description`, extensions). The
//! OpenAPI v3 and v2 renderings rewrite that form (see [`to_v3`] and [`to_v2`]).

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use machinery::{ResourceInfo, ResourceTable, Subresource};
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value, json};

use super::CustomSchemas;
use super::tables;

pub(super) const REF_PREFIX: &str = "#/components/schemas/";
const V2_REF_PREFIX: &str = "#/definitions/";

pub(super) const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
pub(super) const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
pub(super) const STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
pub(super) const DELETE_OPTIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
pub(super) const WATCH_EVENT: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent";
pub(super) const PATCH: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
const INT_OR_STRING: &str = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";

type Gvk = (String, String, String);

/// Every definition the served resources need, and which definition holds which kind.
pub(super) struct Definitions {
    pub defs: Map<String, Value>,
    kinds: HashMap<Gvk, String>,
    /// Kinds k8s-openapi knows: these take strategic merge patches.
    builtin: HashMap<Gvk, bool>,
}

impl Definitions {
    /// The definition name of `group/version/kind`, once [`Definitions::build`] has seen it.
    pub fn name_of(&self, group: &str, version: &str, kind: &str) -> Option<&str> {
        self.kinds
            .get(&(group.to_string(), version.to_string(), kind.to_string()))
            .map(String::as_str)
    }

    /// Whether the kind is a built-in type (strategic merge patch applies) rather than a
    /// custom resource.
    pub fn is_builtin(&self, group: &str, version: &str, kind: &str) -> bool {
        self.builtin
            .get(&(group.to_string(), version.to_string(), kind.to_string()))
            .copied()
            .unwrap_or(false)
    }

    pub fn build(table: &ResourceTable, custom: &CustomSchemas) -> Self {
        let mut generator = SchemaSettings::draft07()
            .with(|s| {
                s.definitions_path = "/components/schemas".into();
                s.meta_schema = None;
                s.transforms = Vec::new();
            })
            .into_generator();
        for f in [
            sub::<meta::ObjectMeta>,
            sub::<meta::ListMeta>,
            sub::<meta::Status>,
            sub::<meta::DeleteOptions>,
            sub::<meta::WatchEvent<Value>>,
            sub::<meta::Patch>,
        ] {
            f(&mut generator);
        }

        let mut kinds: HashMap<Gvk, String> = HashMap::new();
        let mut builtin: HashMap<Gvk, bool> = HashMap::new();
        // (definition, gvk) of every kind that gets x-kubernetes-group-version-kind.
        let mut top_level: Vec<(String, Gvk)> = Vec::new();
        // Custom resources and the served kinds whose list kinds are built here.
        let mut customs: Vec<(String, Gvk, Option<Value>)> = Vec::new();
        let mut lists: Vec<(String, &ResourceInfo)> = Vec::new();

        let mut add_kind =
            |generator: &mut SchemaGenerator, group: &str, version: &str, kind: &str| {
                let gvk: Gvk = (group.into(), version.into(), kind.into());
                if let Some(name) = kinds.get(&gvk) {
                    return Some(name.clone());
                }
                let name = match tables::builtin_kind(group, version, kind) {
                    Some(f) => {
                        let schema = f(generator);
                        let name = schema
                            .get("$ref")
                            .and_then(Value::as_str)
                            .and_then(|r| r.strip_prefix(REF_PREFIX))?
                            .to_string();
                        builtin.insert(gvk.clone(), true);
                        name
                    }
                    None => {
                        let name = custom_definition_name(group, version, kind);
                        let schema = custom.get(group, version, kind).cloned();
                        customs.push((name.clone(), gvk.clone(), schema));
                        builtin.insert(gvk.clone(), false);
                        name
                    }
                };
                kinds.insert(gvk.clone(), name.clone());
                top_level.push((name.clone(), gvk));
                Some(name)
            };

        for r in table.all() {
            if let Some(name) = add_kind(&mut generator, &r.group, &r.version, &r.kind) {
                lists.push((name, r));
            }
            for sub in &r.subresources {
                let (g, v, k) = match sub {
                    Subresource::Scale => ("autoscaling", "v1", "Scale"),
                    Subresource::Eviction => ("policy", "v1", "Eviction"),
                    Subresource::Binding => ("", "v1", "Binding"),
                    Subresource::Status | Subresource::Log | Subresource::Approval => continue,
                };
                // Only built-in kinds: a subresource kind is never a custom resource.
                if tables::builtin_kind(g, v, k).is_some() {
                    add_kind(&mut generator, g, v, k);
                }
            }
        }

        let mut defs = generator.take_definitions(false);
        for (name, (group, version, kind), schema) in customs {
            defs.insert(name, custom_schema(&group, &version, &kind, schema));
        }
        for (name, r) in lists {
            let list_name = format!("{name}List");
            if !defs.contains_key(&list_name) {
                defs.insert(list_name.clone(), list_schema(&name, r));
            }
            let gvk: Gvk = (r.group.clone(), r.version.clone(), r.list_kind());
            kinds.insert(gvk.clone(), list_name.clone());
            top_level.push((list_name, gvk));
        }

        // k8s-openapi marks `metadata` required (its field is not optional); upstream does
        // not, and `kubectl explain` shows the difference.
        for (name, gvk) in &top_level {
            if builtin.get(gvk).copied().unwrap_or(false)
                && let Some(Value::Object(d)) = defs.get_mut(name)
            {
                unrequire(d, "metadata");
            }
        }
        fix_special_types(&mut defs);
        add_extensions(&mut defs);
        for (name, (group, version, kind)) in top_level {
            if let Some(Value::Object(d)) = defs.get_mut(&name) {
                let entry = json!({ "group": group, "kind": kind, "version": version });
                let list = d
                    .entry("x-kubernetes-group-version-kind")
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(list) = list
                    && !list.contains(&entry)
                {
                    list.push(entry);
                }
            }
        }
        Self {
            defs,
            kinds,
            builtin,
        }
    }

    /// The definitions `roots` reach through `$ref`s, sorted by name.
    pub fn closure<'a>(&self, roots: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        let mut stack: Vec<String> = roots.into_iter().map(str::to_string).collect();
        while let Some(name) = stack.pop() {
            if out.contains_key(&name) {
                continue;
            }
            let Some(schema) = self.defs.get(&name) else {
                continue;
            };
            collect_refs(schema, &mut stack);
            out.insert(name, schema.clone());
        }
        out
    }
}

fn sub<T: JsonSchema>(g: &mut SchemaGenerator) -> schemars::Schema {
    g.subschema_for::<T>()
}

/// Upstream's name for a custom resource's definition: the group reversed, then version and
/// kind (`stable.example.com`, `v1`, `CronTab` → `com.example.stable.v1.CronTab`).
pub(super) fn custom_definition_name(group: &str, version: &str, kind: &str) -> String {
    let mut parts: Vec<&str> = group.split('.').filter(|p| !p.is_empty()).collect();
    parts.reverse();
    parts.push(version);
    parts.push(kind);
    parts.join(".")
}

fn type_meta_properties() -> (Value, Value) {
    (
        json!({
            "description": "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources",
            "type": "string",
        }),
        json!({
            "description": "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
            "type": "string",
        }),
    )
}

/// A custom resource's schema: the CRD's `openAPIV3Schema` when given (with apiVersion, kind
/// and metadata filled in as upstream does), else an object that keeps any field.
fn custom_schema(group: &str, version: &str, kind: &str, schema: Option<Value>) -> Value {
    let mut schema = match schema {
        Some(Value::Object(m)) => m,
        _ => {
            let mut m = Map::new();
            m.insert("type".into(), json!("object"));
            m.insert("x-kubernetes-preserve-unknown-fields".into(), json!(true));
            m
        }
    };
    if !schema.contains_key("description") {
        schema.insert(
            "description".into(),
            json!(format!(
                "{kind} is a custom resource of {}.",
                if group.is_empty() {
                    version.to_string()
                } else {
                    format!("{group}/{version}")
                }
            )),
        );
    }
    schema
        .entry("type")
        .or_insert_with(|| Value::String("object".into()));
    let (api_version, kind_prop) = type_meta_properties();
    let props = schema
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(props) = props {
        props.entry("apiVersion").or_insert(api_version);
        props.entry("kind").or_insert(kind_prop);
        props.insert(
            "metadata".into(),
            json!({
                "$ref": format!("{REF_PREFIX}{OBJECT_META}"),
                "description": "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
            }),
        );
    }
    Value::Object(schema)
}

/// `<Kind>List`, as upstream publishes it.
fn list_schema(item: &str, r: &ResourceInfo) -> Value {
    let (api_version, kind) = type_meta_properties();
    json!({
        "description": format!("{} is a list of {}.", r.list_kind(), r.kind),
        "type": "object",
        "properties": {
            "apiVersion": api_version,
            "items": {
                "description": format!("List of {}.", r.plural),
                "type": "array",
                "items": { "$ref": format!("{REF_PREFIX}{item}") },
            },
            "kind": kind,
            "metadata": {
                "$ref": format!("{REF_PREFIX}{LIST_META}"),
                "description": "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
            },
        },
        "required": ["items"],
    })
}

fn unrequire(schema: &mut Map<String, Value>, field: &str) {
    if let Some(Value::Array(required)) = schema.get_mut("required") {
        required.retain(|f| f != field);
        if required.is_empty() {
            schema.shift_remove("required");
        }
    }
}

/// k8s-openapi describes IntOrString and Quantity with `x-kubernetes-int-or-string` and no
/// type; upstream publishes them as strings (kubectl's v2 model parser wants a type).
fn fix_special_types(defs: &mut Map<String, Value>) {
    for (name, format) in [(INT_OR_STRING, Some("int-or-string")), (QUANTITY, None)] {
        if let Some(Value::Object(d)) = defs.get_mut(name) {
            d.remove("x-kubernetes-int-or-string");
            d.insert("type".into(), json!("string"));
            if let Some(f) = format {
                d.insert("format".into(), json!(f));
            }
        }
    }
}

/// The merge/list/map extensions from the upstream table, on the definitions and properties
/// k8s-openapi has.
fn add_extensions(defs: &mut Map<String, Value>) {
    for (def, prop, ext) in tables::EXTENSIONS {
        let Ok(Value::Object(ext)) = serde_json::from_str::<Value>(ext) else {
            continue;
        };
        let Some(Value::Object(d)) = defs.get_mut(*def) else {
            continue;
        };
        let target = if prop.is_empty() {
            Some(d)
        } else {
            d.get_mut("properties")
                .and_then(|p| p.get_mut(*prop))
                .and_then(Value::as_object_mut)
        };
        if let Some(target) = target {
            for (k, v) in ext {
                target.insert(k, v);
            }
        }
    }
}

/// Pushes the definition names of the `$ref`s in `v`.
pub(super) fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => {
                        if let Some(name) = r.strip_prefix(REF_PREFIX) {
                            out.push(name.to_string());
                        }
                    }
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(list) => {
            for v in list {
                collect_refs(v, out);
            }
        }
        _ => {}
    }
}

/// OpenAPI v3 form, as upstream: a `$ref` with siblings becomes `allOf: [{$ref}]` beside them
/// (OpenAPI 3.0 ignores a `$ref`'s siblings).
pub(super) fn to_v3(v: &mut Value) {
    match v {
        Value::Object(m) => {
            let has_ref_with_siblings = m.len() > 1 && m.get("$ref").is_some_and(Value::is_string);
            if has_ref_with_siblings && let Some(r) = m.shift_remove("$ref") {
                let mut wrapped = Map::new();
                wrapped.insert("allOf".into(), json!([{ "$ref": r }]));
                wrapped.extend(std::mem::take(m));
                *m = wrapped;
            }
            for (_, v) in m.iter_mut() {
                to_v3(v);
            }
        }
        Value::Array(list) => list.iter_mut().for_each(to_v3),
        _ => {}
    }
}

/// Swagger 2.0 form: references into `#/definitions/`. Custom resources' schemas may use
/// JSON Schema that Swagger 2.0 lacks (`anyOf`, `oneOf`, `not`, `nullable`); those keys are
/// dropped, as upstream does when it publishes CRDs in v2.
pub(super) fn to_v2(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get_mut("$ref")
                && let Some(name) = r.strip_prefix(REF_PREFIX)
            {
                *r = format!("{V2_REF_PREFIX}{name}");
            }
            for key in ["anyOf", "oneOf", "not", "nullable"] {
                m.shift_remove(key);
            }
            for (k, v) in m.iter_mut() {
                // `properties` maps names to schemas: a property named `$ref` is not a ref.
                if k == "properties" {
                    if let Value::Object(props) = v {
                        props.values_mut().for_each(to_v2);
                    }
                } else {
                    to_v2(v);
                }
            }
        }
        Value::Array(list) => list.iter_mut().for_each(to_v2),
        _ => {}
    }
}
