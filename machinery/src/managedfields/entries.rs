//! `metadata.managedFields`: the JSON entries, manager identifiers, and the bookkeeping
//! kube-apiserver layers around the updater (timestamps, the cap on update managers,
//! stripping server-set metadata).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::set::{PathElement, Set};
use super::updater::{ManagedFields, VersionedSet};

pub const OPERATION_APPLY: &str = "Apply";
pub const OPERATION_UPDATE: &str = "Update";
/// Upstream's cap on the number of Update entries; older ones merge into "ancient-changes".
pub const MAX_UPDATE_MANAGERS: usize = 10;
pub const ANCIENT_CHANGES_MANAGER: &str = "ancient-changes";

/// Managed fields with each manager's timestamp (RFC 3339).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Managed {
    pub fields: ManagedFields,
    pub times: BTreeMap<String, Option<String>>,
}

/// The parts of an entry that identify its manager.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManagerInfo {
    pub manager: String,
    pub operation: String,
    /// Empty for Apply: an applier keeps its identity across versions.
    pub api_version: String,
    pub subresource: String,
}

impl ManagerInfo {
    /// The identifier upstream keys managers by: the entry's JSON without time and fields
    /// (and without apiVersion for Apply).
    pub fn identifier(&self) -> String {
        let mut m = Map::new();
        if !self.manager.is_empty() {
            m.insert("manager".into(), json!(self.manager));
        }
        if !self.operation.is_empty() {
            m.insert("operation".into(), json!(self.operation));
        }
        if !self.api_version.is_empty() && self.operation != OPERATION_APPLY {
            m.insert("apiVersion".into(), json!(self.api_version));
        }
        if !self.subresource.is_empty() {
            m.insert("subresource".into(), json!(self.subresource));
        }
        Value::Object(m).to_string()
    }

    pub fn parse(identifier: &str) -> Self {
        let v: Value = serde_json::from_str(identifier).unwrap_or(Value::Null);
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        Self {
            manager: s("manager"),
            operation: s("operation"),
            api_version: s("apiVersion"),
            subresource: s("subresource"),
        }
    }

    /// How conflict messages name a manager: `"kubectl"`, `"x" with subresource "scale"`,
    /// `"kubectl-client-side-apply" using apps/v1`.
    pub fn describe(identifier: &str) -> String {
        let v: Value = match serde_json::from_str(identifier) {
            Ok(v @ Value::Object(_)) => v,
            _ => return format!("{identifier:?}"),
        };
        let info = Self::parse(identifier);
        let mut s = format!("{:?}", info.manager);
        if !info.subresource.is_empty() {
            s = format!("{s} with subresource {:?}", info.subresource);
        }
        if info.operation == OPERATION_UPDATE {
            match v.get("time").and_then(Value::as_str) {
                Some(t) => s = format!("{s} using {} at {t}", info.api_version),
                None => s = format!("{s} using {}", info.api_version),
            }
        }
        s
    }
}

/// True for `managedFields: [{}]` and the like: the documented way to clear the managed
/// fields with an update (every entry empty).
pub fn is_reset(entries: &Value) -> bool {
    match entries.as_array() {
        Some(list) if !list.is_empty() => list
            .iter()
            .all(|e| e.as_object().is_some_and(Map::is_empty)),
        _ => false,
    }
}

/// Decodes `metadata.managedFields`, validating as upstream does.
pub fn decode(entries: &Value) -> Result<Managed, String> {
    let mut managed = Managed::default();
    let Some(list) = entries.as_array() else {
        return if entries.is_null() {
            Ok(managed)
        } else {
            Err("managedFields must be a list".into())
        };
    };
    for (i, e) in list.iter().enumerate() {
        let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let operation = s("operation");
        if operation != OPERATION_APPLY && operation != OPERATION_UPDATE {
            return Err("operation must be `Apply` or `Update`".into());
        }
        let api_version = s("apiVersion");
        if api_version.is_empty() {
            return Err("apiVersion must not be empty".into());
        }
        match s("fieldsType").as_str() {
            "FieldsV1" => {}
            "" => return Err(format!("missing fieldsType in managed fields entry {i}")),
            other => {
                return Err(format!(
                    "invalid fieldsType {other:?} in managed fields entry {i}"
                ));
            }
        }
        let info = ManagerInfo {
            manager: s("manager"),
            operation: operation.clone(),
            api_version: api_version.clone(),
            subresource: s("subresource"),
        };
        let set = match e.get("fieldsV1") {
            Some(v) if !v.is_null() => Set::from_fields_v1(v)?,
            _ => Set::new(),
        };
        let id = info.identifier();
        managed.fields.insert(
            id.clone(),
            VersionedSet {
                set,
                api_version,
                applied: operation == OPERATION_APPLY,
            },
        );
        managed.times.insert(
            id,
            e.get("time").and_then(Value::as_str).map(str::to_string),
        );
    }
    Ok(managed)
}

/// Encodes managed fields as `metadata.managedFields` entries, in upstream's order
/// (operation, time, manager, apiVersion, subresource). `None` when there are none.
pub fn encode(managed: &Managed) -> Option<Value> {
    if managed.fields.is_empty() {
        return None;
    }
    struct Entry {
        info: ManagerInfo,
        api_version: String,
        time: Option<String>,
        fields: Value,
    }
    let mut entries: Vec<Entry> = managed
        .fields
        .iter()
        .map(|(id, vs)| Entry {
            info: ManagerInfo::parse(id),
            api_version: vs.api_version.clone(),
            time: managed.times.get(id).cloned().flatten(),
            fields: vs.set.to_fields_v1(),
        })
        .collect();
    entries.sort_by(|p, q| {
        p.info
            .operation
            .cmp(&q.info.operation)
            .then_with(|| seconds(&p.time).cmp(&seconds(&q.time)))
            .then_with(|| p.info.manager.cmp(&q.info.manager))
            .then_with(|| p.api_version.cmp(&q.api_version))
            .then_with(|| p.info.subresource.cmp(&q.info.subresource))
    });
    let list = entries
        .into_iter()
        .map(|e| {
            let mut m = Map::new();
            if !e.info.manager.is_empty() {
                m.insert("manager".into(), json!(e.info.manager));
            }
            m.insert("operation".into(), json!(e.info.operation));
            m.insert("apiVersion".into(), json!(e.api_version));
            if let Some(t) = e.time {
                m.insert("time".into(), json!(t));
            }
            m.insert("fieldsType".into(), json!("FieldsV1"));
            m.insert("fieldsV1".into(), e.fields);
            if !e.info.subresource.is_empty() {
                m.insert("subresource".into(), json!(e.info.subresource));
            }
            Value::Object(m)
        })
        .collect();
    Some(Value::Array(list))
}

fn seconds(t: &Option<String>) -> i64 {
    t.as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.timestamp())
        .unwrap_or(0)
}

/// Metadata the server sets, which nobody owns (upstream's stripMetaManager).
pub fn server_set_fields() -> Set {
    let mut s = Set::new();
    let f = |n: &str| PathElement::Field(n.to_string());
    s.insert(&[f("apiVersion")]);
    s.insert(&[f("kind")]);
    s.insert(&[f("metadata")]);
    for name in [
        "name",
        "namespace",
        "creationTimestamp",
        "selfLink",
        "uid",
        "clusterName",
        "generation",
        "managedFields",
        "resourceVersion",
    ] {
        s.insert(&[f("metadata"), f(name)]);
    }
    s
}

/// Merges the oldest Update entries into "ancient-changes" once there are more than
/// [`MAX_UPDATE_MANAGERS`] (upstream's capManagersManager).
pub fn cap_update_managers(managed: &mut Managed) {
    let mut updaters: Vec<String> = managed
        .fields
        .iter()
        .filter(|(_, vs)| !vs.applied)
        .map(|(id, _)| id.clone())
        .collect();
    if updaters.len() <= MAX_UPDATE_MANAGERS {
        return;
    }
    updaters.sort_by(|a, b| {
        let ta = seconds(managed.times.get(a).unwrap_or(&None));
        let tb = seconds(managed.times.get(b).unwrap_or(&None));
        ta.cmp(&tb).then_with(|| a.cmp(b))
    });
    let mut first_of_version: BTreeMap<String, String> = BTreeMap::new();
    let mut length = updaters.len();
    for manager in updaters {
        if length <= MAX_UPDATE_MANAGERS {
            break;
        }
        let Some(vs) = managed.fields.get(&manager).cloned() else {
            continue;
        };
        let time = managed.times.get(&manager).cloned().flatten();
        let bucket = ManagerInfo {
            manager: ANCIENT_CHANGES_MANAGER.into(),
            operation: OPERATION_UPDATE.into(),
            api_version: vs.api_version.clone(),
            subresource: String::new(),
        }
        .identifier();
        match first_of_version.get(&vs.api_version) {
            Some(first) => {
                if !managed.fields.contains_key(&bucket)
                    && let Some(s) = managed.fields.remove(first)
                {
                    managed.fields.insert(bucket.clone(), s);
                }
                let union = managed
                    .fields
                    .get(&bucket)
                    .map(|b| b.set.union(&vs.set))
                    .unwrap_or_else(|| vs.set.clone());
                managed.fields.insert(
                    bucket.clone(),
                    VersionedSet {
                        set: union,
                        api_version: vs.api_version.clone(),
                        applied: false,
                    },
                );
                managed.fields.remove(&manager);
                managed.times.remove(&manager);
                length -= 1;
                managed.times.insert(bucket, time);
            }
            None => {
                first_of_version.insert(vs.api_version.clone(), manager);
            }
        }
    }
}
