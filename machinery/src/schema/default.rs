//! Defaulting (upstream's `structural/defaulting.Default`): a property's `default` fills an
//! absent field, or a null one whose schema is not nullable; then defaulting goes on inside,
//! so defaults nested in a default apply too.

use serde_json::Value;

use super::{AdditionalProperties, Schema};

fn non_nullable_null(v: &Value, s: &Schema) -> bool {
    v.is_null() && !s.nullable
}

/// Applies the schema's defaults to `v` in place.
pub fn apply_defaults(schema: &Schema, v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, prop) in &schema.properties {
                let Some(default) = &prop.default else {
                    continue;
                };
                let missing = match map.get(k) {
                    None => true,
                    Some(existing) => non_nullable_null(existing, prop),
                };
                if missing {
                    map.insert(k.clone(), default.clone());
                }
            }
            let additional = match &schema.additional_properties {
                Some(AdditionalProperties::Schema(s)) => Some(s.as_ref()),
                _ => None,
            };
            for (k, child) in map.iter_mut() {
                if let Some(prop) = schema.properties.get(k) {
                    apply_defaults(prop, child);
                } else if let Some(ap) = additional {
                    if non_nullable_null(child, ap)
                        && let Some(d) = &ap.default
                    {
                        *child = d.clone();
                    }
                    apply_defaults(ap, child);
                }
            }
        }
        Value::Array(items) => {
            let Some(item_schema) = &schema.items else {
                return;
            };
            for item in items.iter_mut() {
                if non_nullable_null(item, item_schema)
                    && let Some(d) = &item_schema.default
                {
                    *item = d.clone();
                }
                apply_defaults(item_schema, item);
            }
        }
        _ => {}
    }
}
