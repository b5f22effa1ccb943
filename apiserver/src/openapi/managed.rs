//! The server-side apply schema of every served kind, read from the same OpenAPI
//! definitions `/openapi/v3` publishes (as kube-apiserver builds its type converter from its
//! OpenAPI models): `x-kubernetes-list-type` map/set/atomic with
//! `x-kubernetes-list-map-keys`, `x-kubernetes-map-type: atomic`; lists without a list type
//! are atomic, objects granular.

use std::collections::HashMap;

use machinery::ResourceTable;
use machinery::managedfields::{Atom, ListType, MapType, Schema, TypeRef};
use serde_json::{Map, Value, json};

use super::CustomSchemas;
use super::schemas::{Definitions, REF_PREFIX};

/// The apply schema and the root type of each kind.
pub struct KindSchemas {
    pub schema: Schema,
    roots: HashMap<(String, String, String), TypeRef>,
}

impl KindSchemas {
    pub fn build(table: &ResourceTable) -> Self {
        let defs = Definitions::build(table, &CustomSchemas::default());
        let mut b = Builder {
            defs: &defs.defs,
            schema: Schema::new(),
            by_name: HashMap::new(),
        };
        let mut roots = HashMap::new();
        let mut kinds: Vec<(String, String, String)> = table
            .all()
            .iter()
            .map(|r| (r.group.clone(), r.version.clone(), r.kind.clone()))
            .collect();
        kinds.push(("autoscaling".into(), "v1".into(), "Scale".into()));
        for (g, v, k) in kinds {
            if let Some(name) = defs.name_of(&g, &v, &k).map(str::to_string)
                && defs.is_builtin(&g, &v, &k)
            {
                let t = b.definition(&name);
                roots.insert((g, v, k), t);
            }
        }
        Self {
            schema: b.schema,
            roots,
        }
    }

    /// The root type of a kind; `None` for kinds without a built-in schema (custom
    /// resources are then walked untyped, as upstream does without a structural schema).
    pub fn root(&self, group: &str, version: &str, kind: &str) -> Option<TypeRef> {
        self.roots
            .get(&(group.to_string(), version.to_string(), kind.to_string()))
            .copied()
    }
}

struct Builder<'a> {
    defs: &'a Map<String, Value>,
    schema: Schema,
    by_name: HashMap<String, TypeRef>,
}

fn is_atomic(s: &Map<String, Value>) -> bool {
    s.get("x-kubernetes-map-type").and_then(Value::as_str) == Some("atomic")
        || s.get("x-kubernetes-list-type").and_then(Value::as_str) == Some("atomic")
}

impl Builder<'_> {
    fn definition(&mut self, name: &str) -> TypeRef {
        if let Some(t) = self.by_name.get(name) {
            return *t;
        }
        let t = self.schema.reserve();
        self.by_name.insert(name.to_string(), t);
        let atom = match self.defs.get(name) {
            Some(Value::Object(s)) => {
                let s = s.clone();
                self.atom(&s)
            }
            _ => Atom::Untyped,
        };
        self.schema.define(t, atom);
        t
    }

    fn type_of(&mut self, v: &Value) -> TypeRef {
        let Value::Object(s) = v else {
            return Schema::UNTYPED;
        };
        let reference = s.get("$ref").and_then(Value::as_str).or_else(|| {
            s.get("allOf")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(|f| f.get("$ref"))
                .and_then(Value::as_str)
        });
        if let Some(r) = reference.and_then(|r| r.strip_prefix(REF_PREFIX)) {
            if is_atomic(s) {
                return Schema::LEAF;
            }
            return self.definition(r);
        }
        let atom = self.atom(s);
        match atom {
            Atom::Leaf => Schema::LEAF,
            Atom::Untyped => Schema::UNTYPED,
            other => self.schema.add(other),
        }
    }

    fn atom(&mut self, s: &Map<String, Value>) -> Atom {
        if is_atomic(s) {
            return Atom::Leaf;
        }
        let ty = s.get("type").and_then(Value::as_str);
        if ty == Some("array") {
            let elem = s
                .get("items")
                .map(|i| self.type_of(i))
                .unwrap_or(Schema::UNTYPED);
            return match s.get("x-kubernetes-list-type").and_then(Value::as_str) {
                Some("set") => Atom::List(ListType {
                    elem,
                    keys: Vec::new(),
                    key_defaults: Vec::new(),
                }),
                Some("map") => {
                    let keys: Vec<String> = s
                        .get("x-kubernetes-list-map-keys")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default();
                    // Upstream's published schemas default `protocol` to TCP, which makes
                    // it part of every port's key; k8s-openapi carries no defaults.
                    let key_defaults = keys
                        .iter()
                        .filter(|k| *k == "protocol")
                        .map(|k| (k.clone(), json!("TCP")))
                        .collect();
                    Atom::List(ListType {
                        elem,
                        keys,
                        key_defaults,
                    })
                }
                _ => Atom::Leaf,
            };
        }
        let props = s.get("properties").and_then(Value::as_object);
        let additional = s.get("additionalProperties");
        let preserve = s
            .get("x-kubernetes-preserve-unknown-fields")
            .and_then(Value::as_bool)
            == Some(true);
        if ty == Some("object") || props.is_some() || additional.is_some() {
            let mut fields = HashMap::new();
            if let Some(props) = props {
                for (k, v) in props {
                    let t = self.type_of(v);
                    fields.insert(k.clone(), t);
                }
            }
            let elem = match additional {
                Some(Value::Bool(true)) => Some(Schema::UNTYPED),
                Some(v @ Value::Object(_)) => Some(self.type_of(v)),
                _ if preserve => Some(Schema::UNTYPED),
                _ if props.is_none() => Some(Schema::UNTYPED),
                _ => None,
            };
            return Atom::Map(MapType { fields, elem });
        }
        match ty {
            Some(_) => Atom::Leaf,
            None if s.contains_key("anyOf") || s.contains_key("oneOf") => Atom::Leaf,
            None => Atom::Untyped,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use machinery::managedfields::{FieldManager, Set, typed};
    use serde_json::json;

    use super::*;

    #[test]
    fn deployment_schema_has_upstream_list_types() {
        let k = KindSchemas::build(&ResourceTable::builtin());
        let root = k.root("apps", "v1", "Deployment").unwrap();
        let obj = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}, "finalizers": ["a/b"]},
            "spec": {
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"spec": {
                    "containers": [{"name": "c", "image": "i", "args": ["x"],
                        "ports": [{"containerPort": 80}], "env": [{"name": "E", "value": "1"}]}],
                    "tolerations": [{"key": "k"}],
                    "nodeSelector": {"disk": "ssd"},
                }},
            },
        });
        let set = typed::to_field_set(&k.schema, root, &obj);
        let c = &set.to_fields_v1()["f:spec"]["f:template"]["f:spec"];
        let container = &c["f:containers"]["k:{\"name\":\"c\"}"];
        // Associative lists by their keys (protocol defaulted), atomic lists and maps whole.
        assert!(container["f:ports"]["k:{\"containerPort\":80,\"protocol\":\"TCP\"}"].is_object());
        assert!(container["f:env"]["k:{\"name\":\"E\"}"].is_object());
        assert_eq!(container["f:args"], json!({}));
        assert_eq!(c["f:tolerations"], json!({}));
        assert_eq!(
            c["f:nodeSelector"],
            json!({}),
            "nodeSelector is an atomic map"
        );
        assert_eq!(set.to_fields_v1()["f:spec"]["f:selector"], json!({}));
        assert!(set.to_fields_v1()["f:metadata"]["f:finalizers"]["v:\"a/b\""].is_object());
        assert!(typed::validate(&k.schema, root, &obj).is_empty());
        assert!(!typed::validate(&k.schema, root, &json!({"spec": {"nope": 1}})).is_empty());
    }

    #[test]
    fn every_served_builtin_kind_has_a_schema() {
        let table = ResourceTable::builtin();
        let k = KindSchemas::build(&table);
        for r in table.all() {
            assert!(
                k.root(&r.group, &r.version, &r.kind).is_some(),
                "{}/{} {}",
                r.group,
                r.version,
                r.kind
            );
        }
        assert!(k.root("autoscaling", "v1", "Scale").is_some());
    }

    #[test]
    fn service_ports_merge_by_port_and_protocol() {
        let k = KindSchemas::build(&ResourceTable::builtin());
        let root = k.root("", "v1", "Service").unwrap();
        let empty = json!({"metadata": {}, "spec": {}, "status": {}});
        let ignored = Set::new();
        let fm = FieldManager {
            schema: &k.schema,
            root,
            api_version: "v1",
            subresource: "",
            ignored: &ignored,
            empty: &empty,
            now: "2025-01-01T00:00:00Z",
        };
        let cfg = |ports: serde_json::Value| {
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                   "spec": {"ports": ports}})
        };
        let first = fm
            .apply(
                None,
                &cfg(json!([{"name": "a", "port": 80}, {"name": "b", "port": 81}])),
                "m",
                false,
            )
            .unwrap();
        let mut live = first.clone();
        live["spec"]["clusterIP"] = json!("10.0.0.1");
        let second = fm
            .apply(
                Some(&live),
                &cfg(json!([{"name": "b", "port": 81, "protocol": "TCP"}])),
                "m",
                false,
            )
            .unwrap();
        assert_eq!(
            second["spec"]["ports"],
            json!([{"name": "b", "port": 81, "protocol": "TCP"}])
        );
        assert_eq!(
            second["spec"]["clusterIP"], "10.0.0.1",
            "fields nobody applied stay"
        );
    }
}
