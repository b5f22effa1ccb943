//! Pruning (upstream's `structural/pruning`): fields the schema does not declare are dropped,
//! except under `x-kubernetes-preserve-unknown-fields: true`; `apiVersion`, `kind` and
//! `metadata` of the object and of embedded resources always stay (metadata is cut down to
//! ObjectMeta's fields, as decoding into ObjectMeta does upstream).

use serde_json::{Map, Value};

use super::{AdditionalProperties, OBJECT_META_FIELDS, Schema, child, index};

/// Prunes `obj` in place and returns the paths of the dropped fields (`spec.foo`,
/// `spec.items[0].bar`, `metadata.foo`), for `fieldValidation` warnings or errors.
pub fn prune(schema: &Schema, obj: &mut Value) -> Vec<String> {
    let mut pruned = Vec::new();
    if let Value::Object(map) = obj {
        prune_resource(schema, map, "", &mut pruned);
    }
    pruned
}

/// A resource (the root or an embedded one): type meta and metadata are kept.
fn prune_resource(
    schema: &Schema,
    map: &mut Map<String, Value>,
    path: &str,
    pruned: &mut Vec<String>,
) {
    if let Some(Value::Object(meta)) = map.get_mut("metadata") {
        let meta_path = child(path, "metadata");
        meta.retain(|k, _| {
            let keep = OBJECT_META_FIELDS.contains(&k.as_str());
            if !keep {
                pruned.push(child(&meta_path, k));
            }
            keep
        });
    }
    prune_object(schema, map, path, pruned, true);
}

fn prune_object(
    schema: &Schema,
    map: &mut Map<String, Value>,
    path: &str,
    pruned: &mut Vec<String>,
    is_resource: bool,
) {
    let preserve = schema.preserves_unknown_fields()
        || matches!(
            schema.additional_properties,
            Some(AdditionalProperties::Allowed(true))
        );
    let keys: Vec<String> = map.keys().cloned().collect();
    for k in keys {
        if is_resource && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
            continue;
        }
        let sub = schema
            .properties
            .get(&k)
            .or(match &schema.additional_properties {
                Some(AdditionalProperties::Schema(s)) => Some(s.as_ref()),
                _ => None,
            });
        match sub {
            Some(s) => {
                if let Some(v) = map.get_mut(&k) {
                    prune_value(s, v, &child(path, &k), pruned);
                }
            }
            None if preserve => {}
            None => {
                map.shift_remove(&k);
                pruned.push(child(path, &k));
            }
        }
    }
}

fn prune_value(schema: &Schema, v: &mut Value, path: &str, pruned: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if schema.embedded_resource {
                prune_resource(schema, map, path, pruned);
            } else if schema.type_ == "object"
                || !schema.properties.is_empty()
                || schema.additional_properties.is_some()
            {
                prune_object(schema, map, path, pruned, false);
            }
            // Otherwise the schema declares no object here (untyped under
            // preserve-unknown-fields, or a type validation will reject): kept as is.
        }
        Value::Array(items) => {
            if let Some(item_schema) = &schema.items {
                for (i, item) in items.iter_mut().enumerate() {
                    prune_value(item_schema, item, &index(path, i), pruned);
                }
            }
        }
        _ => {}
    }
}
