//! CustomResourceDefinitions: the apiextensions.k8s.io/v1 resource itself (its Strategy, in
//! [`strategy`]), the in-process controller that accepts names and establishes CRDs and
//! cleans up their objects on deletion ([`controller`]), and what serving a custom resource
//! needs beyond the generic store: schema pruning, defaulting and validation ([`strategy`]),
//! printer columns ([`table`]) and the scale subresource ([`scale`]).
//!
//! The built-in resources stay in the one static [`ResourceTable`]; custom resources live in
//! [`CustomResources`], a second table swapped as a whole when CRDs change and consulted only
//! after the static one, so requests for built-in kinds pay nothing for it.

pub mod controller;
pub mod scale;
pub mod strategy;
pub mod table;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use machinery::schema::Schema;
use machinery::{ResourceInfo, ResourceTable, Subresource};
use serde_json::Value;

/// The etcd prefix of CRD objects.
pub const CRD_PREFIX: &str = "/registry/apiextensions.k8s.io/customresourcedefinitions/";
/// The finalizer the API server puts on a CRD being deleted until its objects are gone.
pub const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

/// One printer column of a CRD version (`additionalPrinterColumns`).
#[derive(Debug, Clone, PartialEq)]
pub struct PrinterColumn {
    pub name: String,
    pub type_: String,
    pub format: String,
    pub description: String,
    pub priority: i64,
    pub json_path: String,
}

/// A CRD version's `subresources.scale`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleSpec {
    pub spec_replicas_path: String,
    pub status_replicas_path: String,
    pub label_selector_path: Option<String>,
}

/// One served version of a custom resource.
#[derive(Debug)]
pub struct CustomResource {
    pub info: Arc<ResourceInfo>,
    pub crd_name: String,
    /// The version objects are stored in (their `apiVersion` in etcd).
    pub storage_version: String,
    pub schema: Option<Schema>,
    /// The version's `openAPIV3Schema` as written, for OpenAPI.
    pub raw_schema: Option<Value>,
    pub status_subresource: bool,
    pub scale: Option<ScaleSpec>,
    pub columns: Vec<PrinterColumn>,
    /// `selectableFields` as field-selector names (`spec.color` for `.spec.color`).
    pub selectable_fields: Vec<String>,
    /// The CRD is being deleted: no new objects (upstream refuses creates then).
    pub terminating: bool,
}

impl CustomResource {
    /// `<group>/<version>` of the stored form.
    pub fn storage_api_version(&self) -> String {
        format!("{}/{}", self.info.group, self.storage_version)
    }
}

/// Kubernetes' version priority (`version.CompareKubeAwareVersionStrings`): GA before beta
/// before alpha, higher numbers first, non-Kubernetes versions last in name order.
pub fn version_priority(v: &str) -> (u8, i64, i64, String) {
    let parse = |s: &str| -> Option<(u8, i64, i64)> {
        let rest = s.strip_prefix('v')?;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let major: i64 = digits.parse().ok()?;
        let tail = &rest[digits.len()..];
        if tail.is_empty() {
            return Some((0, -major, 0));
        }
        for (kind, rank) in [("beta", 1u8), ("alpha", 2u8)] {
            if let Some(n) = tail.strip_prefix(kind) {
                let minor: i64 = n.parse().ok()?;
                return Some((rank, -major, -minor));
            }
        }
        None
    };
    match parse(v) {
        Some((rank, major, minor)) => (rank, major, minor, String::new()),
        None => (3, 0, 0, v.to_string()),
    }
}

/// The served custom resources of all established CRDs, derived from CRD objects.
pub fn served_from_crd(crd: &Value) -> Vec<CustomResource> {
    let spec = crd.get("spec").cloned().unwrap_or(Value::Null);
    let group = spec.get("group").and_then(Value::as_str).unwrap_or("");
    let names = spec.get("names").cloned().unwrap_or(Value::Null);
    let str_of = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let kind = str_of(&names, "kind");
    let plural = str_of(&names, "plural");
    let mut singular = str_of(&names, "singular");
    if singular.is_empty() {
        singular = kind.to_ascii_lowercase();
    }
    let list_of = |v: &Value, k: &str| -> Vec<String> {
        v.get(k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let namespaced = spec.get("scope").and_then(Value::as_str) != Some("Cluster");
    let crd_name = crd
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let terminating = crd
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null());
    let versions = spec
        .get("versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let storage_version = versions
        .iter()
        .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .map(|v| str_of(v, "name"))
        .unwrap_or_default();
    let mut out = Vec::new();
    for v in &versions {
        if v.get("served").and_then(Value::as_bool) != Some(true) {
            continue;
        }
        let version = str_of(v, "name");
        let status_subresource = v.pointer("/subresources/status").is_some();
        let scale = v.pointer("/subresources/scale").map(|s| ScaleSpec {
            spec_replicas_path: str_of(s, "specReplicasPath"),
            status_replicas_path: str_of(s, "statusReplicasPath"),
            label_selector_path: s
                .get("labelSelectorPath")
                .and_then(Value::as_str)
                .filter(|p| !p.is_empty())
                .map(str::to_string),
        });
        let mut subresources = Vec::new();
        if status_subresource {
            subresources.push(Subresource::Status);
        }
        if scale.is_some() {
            subresources.push(Subresource::Scale);
        }
        let raw_schema = v.pointer("/schema/openAPIV3Schema").cloned();
        let columns = v
            .get("additionalPrinterColumns")
            .and_then(Value::as_array)
            .map(|cols| {
                cols.iter()
                    .map(|c| PrinterColumn {
                        name: str_of(c, "name"),
                        type_: str_of(c, "type"),
                        format: str_of(c, "format"),
                        description: str_of(c, "description"),
                        priority: c.get("priority").and_then(Value::as_i64).unwrap_or(0),
                        json_path: str_of(c, "jsonPath"),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let selectable_fields = v
            .get("selectableFields")
            .and_then(Value::as_array)
            .map(|fields| {
                fields
                    .iter()
                    .filter_map(|f| f.get("jsonPath").and_then(Value::as_str))
                    .map(|p| p.trim_start_matches('.').to_string())
                    .collect()
            })
            .unwrap_or_default();
        let info = ResourceInfo {
            group: group.to_string(),
            version: version.clone(),
            kind: kind.clone(),
            plural: plural.clone(),
            singular: singular.clone(),
            short_names: list_of(&names, "shortNames"),
            namespaced,
            etcd_prefix: format!("/registry/{group}/{plural}"),
            subresources,
            categories: list_of(&names, "categories"),
        };
        out.push(CustomResource {
            info: Arc::new(info),
            crd_name: crd_name.clone(),
            storage_version: storage_version.clone(),
            schema: raw_schema.as_ref().map(Schema::parse),
            raw_schema,
            status_subresource,
            scale,
            columns,
            selectable_fields,
            terminating,
        });
    }
    out.sort_by_key(|c| version_priority(&c.info.version));
    out
}

struct Snapshot {
    /// By group, for a lookup that allocates nothing.
    by_group: HashMap<String, Vec<Arc<CustomResource>>>,
    /// Built-in and custom resources together (discovery and OpenAPI).
    table: Arc<ResourceTable>,
}

/// The custom resources being served, swapped as a whole by the CRD controller.
pub struct CustomResources {
    snapshot: RwLock<Arc<Snapshot>>,
}

impl CustomResources {
    pub fn new(builtin: &ResourceTable) -> Self {
        Self {
            snapshot: RwLock::new(Arc::new(Snapshot {
                by_group: HashMap::new(),
                table: Arc::new(builtin.clone()),
            })),
        }
    }

    fn current(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The custom resource served at `/apis/<group>/<version>/<plural>`.
    pub fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<Arc<CustomResource>> {
        let snap = self.snapshot.read().unwrap_or_else(|e| e.into_inner());
        snap.by_group
            .get(group)?
            .iter()
            .find(|c| c.info.version == version && c.info.plural == plural)
            .cloned()
    }

    /// The custom resource behind a resource, `None` for built-in ones.
    pub fn get(&self, info: &ResourceInfo) -> Option<Arc<CustomResource>> {
        self.lookup(&info.group, &info.version, &info.plural)
    }

    /// Whether objects of `info` are stored in another version than the one requested.
    pub fn needs_conversion(&self, info: &ResourceInfo) -> bool {
        self.get(info)
            .is_some_and(|c| c.storage_version != c.info.version)
    }

    /// Every served resource, built-in ones first.
    pub fn table(&self) -> Arc<ResourceTable> {
        self.current().table.clone()
    }

    /// All served custom resources.
    pub fn all(&self) -> Vec<Arc<CustomResource>> {
        self.current()
            .by_group
            .values()
            .flat_map(|v| v.iter().cloned())
            .collect()
    }

    /// Replaces the served set. `crs` come in CRD order, each CRD's versions by priority.
    pub fn replace(&self, builtin: &ResourceTable, crs: Vec<CustomResource>) {
        let mut table = builtin.clone();
        let mut by_group: HashMap<String, Vec<Arc<CustomResource>>> = HashMap::new();
        for cr in crs {
            table.insert((*cr.info).clone());
            by_group
                .entry(cr.info.group.clone())
                .or_default()
                .push(Arc::new(cr));
        }
        *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(Snapshot {
            by_group,
            table: Arc::new(table),
        });
    }
}

/// The watch-cache prefixes of the custom resources of stored CRDs (read at start-up, so the
/// caches exist before the first request).
pub fn prefixes_of(crds: &[Value]) -> Vec<String> {
    let mut out = Vec::new();
    for crd in crds {
        let group = crd.pointer("/spec/group").and_then(Value::as_str);
        let plural = crd.pointer("/spec/names/plural").and_then(Value::as_str);
        if let (Some(g), Some(p)) = (group, plural) {
            out.push(format!("/registry/{g}/{p}/"));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn versions_sort_as_kubernetes_sorts_them() {
        let mut v = vec!["v1beta1", "foo", "v1", "v2alpha1", "v2", "v1alpha1", "v10"];
        v.sort_by_key(|s| version_priority(s));
        assert_eq!(
            v,
            vec!["v10", "v2", "v1", "v1beta1", "v2alpha1", "v1alpha1", "foo"]
        );
    }

    #[test]
    fn served_versions_come_from_the_crd() {
        let crd = json!({
            "metadata": {"name": "widgets.example.com"},
            "spec": {
                "group": "example.com",
                "scope": "Namespaced",
                "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wd"], "categories": ["all"]},
                "versions": [
                    {"name": "v1beta1", "served": true, "storage": false},
                    {"name": "v1", "served": true, "storage": true,
                     "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"}},
                     "additionalPrinterColumns": [{"name": "Size", "type": "string", "jsonPath": ".spec.size"}],
                     "selectableFields": [{"jsonPath": ".spec.size"}],
                     "schema": {"openAPIV3Schema": {"type": "object"}}},
                    {"name": "v0", "served": false, "storage": false},
                ],
            },
        });
        let served = served_from_crd(&crd);
        assert_eq!(served.len(), 2);
        let v1 = &served[0];
        assert_eq!(v1.info.version, "v1");
        assert_eq!(v1.info.etcd_prefix, "/registry/example.com/widgets");
        assert_eq!(v1.info.singular, "widget");
        assert_eq!(v1.info.short_names, vec!["wd"]);
        assert!(v1.status_subresource);
        assert_eq!(v1.columns[0].json_path, ".spec.size");
        assert_eq!(served[1].storage_version, "v1");
        let strategy = strategy::CustomResourceStrategy(Arc::new(served_from_crd(&crd).remove(0)));
        use crate::registry::strategy::Strategy;
        let obj = json!({"spec": {"size": "large", "other": 1}});
        assert_eq!(
            strategy.field_value(&obj, "spec.size").as_deref(),
            Some("large")
        );
        assert_eq!(
            strategy.field_value(&json!({}), "spec.size").as_deref(),
            Some("")
        );
        assert_eq!(strategy.field_value(&obj, "spec.other"), None);
        let table = CustomResources::new(&ResourceTable::builtin());
        table.replace(&ResourceTable::builtin(), served);
        assert!(table.lookup("example.com", "v1beta1", "widgets").is_some());
        assert!(table.lookup("example.com", "v0", "widgets").is_none());
        assert!(
            table
                .table()
                .lookup("example.com", "v1", "widgets")
                .is_some()
        );
        let info = table
            .table()
            .lookup("example.com", "v1beta1", "widgets")
            .unwrap();
        assert!(table.needs_conversion(&info));
    }
}
