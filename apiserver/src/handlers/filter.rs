//! Which objects a list or watch selects: a namespace (key prefix), a label selector and a
//! field selector.

use std::sync::Arc;

use machinery::ApiError;
use machinery::selector::{FieldSelector, LabelSelector};
use serde_json::{Value, json};

use super::request::Query;
use crate::registry::meta;
use crate::registry::strategy::Strategy;

pub struct Filter {
    /// Storage prefix of the scope (all namespaces or one).
    pub prefix: String,
    pub labels: Option<LabelSelector>,
    pub fields: Option<FieldSelector>,
    strategy: Arc<dyn Strategy>,
}

fn field_value(strategy: &dyn Strategy, obj: &Value, field: &str) -> Option<String> {
    match field {
        "metadata.name" => Some(meta::name(obj).to_string()),
        "metadata.namespace" => Some(meta::namespace(obj).unwrap_or("").to_string()),
        other => strategy.field_value(obj, other),
    }
}

impl Filter {
    /// Builds the filter from `labelSelector` and `fieldSelector`; a bad selector or an
    /// unsupported field is a 400.
    pub fn from_query(
        prefix: String,
        query: &Query,
        strategy: Arc<dyn Strategy>,
        name: Option<&str>,
    ) -> Result<Self, ApiError> {
        let labels = match query.get("labelSelector") {
            Some(s) => {
                let sel = LabelSelector::parse(s).map_err(|e| {
                    ApiError::bad_request(format!("unable to parse requirement: {e}"))
                })?;
                (!sel.is_empty()).then_some(sel)
            }
            None => None,
        };
        let mut field_text = query.get("fieldSelector").unwrap_or("").to_string();
        if let Some(n) = name {
            // GET .../pods/<name>?watch=1 watches just that object.
            if !field_text.is_empty() {
                field_text.push(',');
            }
            field_text.push_str(&format!("metadata.name={n}"));
        }
        let fields = if field_text.is_empty() {
            None
        } else {
            let sel = FieldSelector::parse(&field_text)
                .map_err(|e| ApiError::bad_request(format!("invalid field selector: {e}")))?;
            let empty = json!({});
            for field in sel.fields_requested() {
                if field_value(strategy.as_ref(), &empty, field).is_none() {
                    return Err(ApiError::bad_request(format!(
                        "field label not supported: {field}"
                    )));
                }
            }
            Some(sel)
        };
        Ok(Self {
            prefix,
            labels,
            fields,
            strategy,
        })
    }

    pub fn has_selectors(&self) -> bool {
        self.labels.is_some() || self.fields.is_some()
    }

    pub fn matches_key(&self, key: &str) -> bool {
        key.starts_with(&self.prefix)
    }

    pub fn matches(&self, obj: &Value) -> bool {
        if let Some(l) = &self.labels {
            let empty = serde_json::Map::new();
            if !l.matches(meta::labels(obj).unwrap_or(&empty)) {
                return false;
            }
        }
        if let Some(f) = &self.fields {
            let strategy = self.strategy.as_ref();
            return f
                .matches(|field| field_value(strategy, obj, field))
                .unwrap_or(false);
        }
        true
    }
}
