//! Server-side apply and field ownership (`metadata.managedFields`), as kube-apiserver does
//! them with structured-merge-diff:
//!
//! - [`Set`]: sets of field paths and their `FieldsV1` encoding (`f:`, `k:{...}`, `v:`, `.`);
//! - [`Schema`]: which maps are structs, which lists merge by key or as sets, which values
//!   are atomic;
//! - [`typed`]: field sets of objects, comparison, merge, removal;
//! - [`Updater`]: ownership changes of updates and applies, conflicts;
//! - [`FieldManager`]: the whole pipeline kube-apiserver runs for one kind and endpoint
//!   (manager identifiers, timestamps, the "before-first-apply" manager, the upgrade from
//!   client-side apply, the cap on update managers).
//!
//! Pure functions on JSON values; the API server supplies the schema and the clock.

mod entries;
mod schema;
mod set;
pub mod typed;
mod updater;

pub use entries::{
    ANCIENT_CHANGES_MANAGER, MAX_UPDATE_MANAGERS, Managed, ManagerInfo, OPERATION_APPLY,
    OPERATION_UPDATE, cap_update_managers, decode, encode, is_reset, server_set_fields,
};
pub use schema::{Atom, ListType, MapType, Schema, TypeRef};
pub use set::{Path, PathElement, Set, compare_values, path_string};
pub use updater::{ApplyError, Conflict, ManagedFields, Updater, VersionedSet};

use serde_json::{Map, Value};

/// The manager that owns an object's fields from before its first apply, when the object
/// had no managed fields (upstream's skipNonAppliedManager).
pub const BEFORE_FIRST_APPLY_MANAGER: &str = "before-first-apply";
/// kubectl's client-side apply annotation.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// The field manager `kubectl apply --server-side` uses; only it upgrades from client-side
/// apply (as upstream).
pub const KUBECTL_MANAGER: &str = "kubectl";
const CURRENT_OPERATION: &str = "current-operation";

/// Why an apply failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyFailure {
    /// Fields owned by other managers would change: upstream's 409 with one
    /// `FieldManagerConflict` cause per field.
    #[error("{}", conflict_message(.0))]
    Conflicts(Vec<Conflict>),
    /// A malformed request: 400.
    #[error("{0}")]
    BadRequest(String),
    /// A configuration that does not fit the kind's schema (undeclared fields, list items
    /// without keys or duplicated); the caller names the kind.
    #[error("{0}")]
    Invalid(String),
}

impl ApplyFailure {
    /// `(message, field)` of each conflict, as upstream's causes.
    pub fn causes(&self) -> Vec<(String, String)> {
        match self {
            Self::Conflicts(c) => c
                .iter()
                .map(|c| {
                    (
                        format!("conflict with {}", ManagerInfo::describe(&c.manager)),
                        c.path_string(),
                    )
                })
                .collect(),
            Self::BadRequest(_) | Self::Invalid(_) => Vec::new(),
        }
    }
}

/// Upstream's conflict message: `Apply failed with 1 conflict: conflict with "x" using
/// apps/v1: .spec.replicas`, or per manager for several.
pub fn conflict_message(conflicts: &[Conflict]) -> String {
    if let [c] = conflicts {
        return format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            ManagerInfo::describe(&c.manager),
            c.path_string()
        );
    }
    let mut by_manager: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for c in conflicts {
        by_manager
            .entry(c.manager.as_str())
            .or_default()
            .push(c.path_string());
    }
    let mut lines = Vec::new();
    for (manager, paths) in by_manager {
        lines.push(format!(
            "conflicts with {}:",
            ManagerInfo::describe(manager)
        ));
        for p in paths {
            lines.push(format!("- {p}"));
        }
    }
    format!(
        "Apply failed with {} conflicts: {}",
        conflicts.len(),
        lines.join("\n")
    )
}

/// Field ownership for writes to one kind through one endpoint.
pub struct FieldManager<'a> {
    pub schema: &'a Schema,
    pub root: TypeRef,
    /// The group-version of the resource (`apps/v1`).
    pub api_version: &'a str,
    /// `""`, `"status"`, `"scale"`.
    pub subresource: &'a str,
    /// Fields the endpoint resets (nobody owns them through it).
    pub ignored: &'a Set,
    /// The object a create starts from: the kind's zero value as kube-apiserver
    /// serializes it (decides where `.` markers appear in a creator's fields).
    pub empty: &'a Value,
    /// The time recorded on entries (RFC 3339, seconds).
    pub now: &'a str,
}

fn managed_fields_of(obj: &Value) -> &Value {
    obj.pointer("/metadata/managedFields")
        .unwrap_or(&Value::Null)
}

fn without_managed_fields(obj: &Value) -> Value {
    let mut o = obj.clone();
    remove_managed_fields(&mut o);
    o
}

fn remove_managed_fields(obj: &mut Value) {
    if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        m.shift_remove("managedFields");
    }
}

fn set_managed_fields(obj: &mut Value, managed: &Managed) {
    let encoded = encode(managed);
    if let Some(m) = obj.as_object_mut() {
        let meta = m
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(meta) = meta.as_object_mut() {
            match encoded {
                Some(e) => {
                    meta.insert("managedFields".into(), e);
                }
                None => {
                    meta.shift_remove("managedFields");
                }
            }
        }
    }
}

fn strip_server_fields(managed: &mut ManagedFields, id: &str) {
    if let Some(vs) = managed.get_mut(id) {
        vs.set = vs.set.difference(&server_set_fields());
        if vs.set.is_empty() {
            managed.remove(id);
        }
    }
}

fn last_applied(obj: &Value) -> Option<&str> {
    obj.pointer("/metadata/annotations")
        .and_then(|a| a.get(LAST_APPLIED_ANNOTATION))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// JSON with object keys sorted, as Go encodes maps (kubectl's annotation format).
fn sorted_json(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted_json(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted_json).collect()),
        other => other.clone(),
    }
}

impl FieldManager<'_> {
    fn updater(&self) -> Updater<'_> {
        Updater {
            schema: self.schema,
            root: self.root,
            ignored: self.ignored,
        }
    }

    fn info(&self, manager: &str, operation: &str) -> ManagerInfo {
        ManagerInfo {
            manager: if manager.is_empty() {
                "unknown".into()
            } else {
                manager.into()
            },
            operation: operation.into(),
            api_version: self.api_version.into(),
            subresource: self.subresource.into(),
        }
    }

    /// A create (`live` = `None`), update or patch by `manager`: returns `new` with its
    /// `metadata.managedFields`. A body's own valid managedFields replace the live ones
    /// (`[{}]` clears them); on subresources they are ignored. Objects without managed
    /// fields stay untracked until their first apply, except on create.
    pub fn update(&self, live: Option<&Value>, mut new: Value, manager: &str) -> Value {
        let is_create = live.is_none();
        let live = live.unwrap_or(self.empty);
        let from_live = || decode(managed_fields_of(live)).unwrap_or_default();
        let managed = if !self.subresource.is_empty() {
            from_live()
        } else {
            let entries = managed_fields_of(&new);
            if is_reset(entries) {
                Managed::default()
            } else {
                match decode(entries) {
                    Ok(m) if !m.fields.is_empty() => m,
                    _ => from_live(),
                }
            }
        };
        remove_managed_fields(&mut new);
        if managed.fields.is_empty() && !is_create {
            return new;
        }
        let managed = self.track_update(live, &new, managed, manager);
        set_managed_fields(&mut new, &managed);
        new
    }

    fn track_update(
        &self,
        live: &Value,
        new: &Value,
        mut managed: Managed,
        manager: &str,
    ) -> Managed {
        let id = self.info(manager, OPERATION_UPDATE).identifier();
        let live = without_managed_fields(live);
        self.updater().update(
            &live,
            new,
            self.api_version,
            &mut managed.fields,
            CURRENT_OPERATION,
        );
        strip_server_fields(&mut managed.fields, CURRENT_OPERATION);
        if let Some(vs) = managed.fields.remove(CURRENT_OPERATION) {
            let set = match managed.fields.get(&id) {
                Some(prev) => vs.set.union(&prev.set),
                None => vs.set,
            };
            managed.fields.insert(
                id.clone(),
                VersionedSet {
                    set,
                    api_version: vs.api_version,
                    applied: false,
                },
            );
            managed.times.insert(id, Some(self.now.to_string()));
        }
        managed.times.retain(|k, _| managed.fields.contains_key(k));
        cap_update_managers(&mut managed);
        managed
    }

    /// Server-side apply of `config` by `manager` onto `live` (`None`: the object does not
    /// exist and is created). Returns the object to store, with its managed fields.
    pub fn apply(
        &self,
        live: Option<&Value>,
        config: &Value,
        manager: &str,
        force: bool,
    ) -> Result<Value, ApplyFailure> {
        let live = live.unwrap_or(self.empty);
        if config
            .pointer("/metadata/managedFields")
            .is_some_and(|v| !v.is_null())
        {
            return Err(ApplyFailure::BadRequest(
                "metadata.managedFields must be nil".into(),
            ));
        }
        let managed = decode(managed_fields_of(live)).map_err(|e| {
            ApplyFailure::BadRequest(format!("failed to decode managed fields: {e}"))
        })?;
        let result = match self.apply_once(live, config, managed.clone(), manager, force) {
            Err(ApplyFailure::Conflicts(conflicts)) if manager == KUBECTL_MANAGER => {
                // kubectl switching from client-side to server-side apply may take the fields
                // its last client-side apply set, where the object still has those values.
                let allowed = self.allowed_conflicts_from_last_applied(live);
                let rest: Vec<Conflict> = conflicts
                    .into_iter()
                    .filter(|c| !allowed.as_ref().is_some_and(|a| a.has(&c.path)))
                    .collect();
                if rest.is_empty() {
                    self.apply_once(live, config, managed, manager, true)
                } else {
                    Err(ApplyFailure::Conflicts(rest))
                }
            }
            other => other,
        };
        let mut obj = result?;
        if manager == KUBECTL_MANAGER && last_applied(live).is_some() {
            let mut cfg = sorted_json(config);
            if let Some(a) = cfg
                .pointer_mut("/metadata/annotations")
                .and_then(Value::as_object_mut)
            {
                a.shift_remove(LAST_APPLIED_ANNOTATION);
            }
            let text = format!("{cfg}\n");
            if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                let ann = meta
                    .entry("annotations")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Some(ann) = ann.as_object_mut() {
                    ann.insert(LAST_APPLIED_ANNOTATION.into(), Value::String(text));
                }
            }
        }
        Ok(obj)
    }

    fn apply_once(
        &self,
        live: &Value,
        config: &Value,
        mut managed: Managed,
        manager: &str,
        force: bool,
    ) -> Result<Value, ApplyFailure> {
        let live = without_managed_fields(live);
        if managed.fields.is_empty() {
            managed = self.track_update(self.empty, &live, managed, BEFORE_FIRST_APPLY_MANAGER);
        }
        let id = self.info(manager, OPERATION_APPLY).identifier();
        let applied = self
            .updater()
            .apply(
                &live,
                config,
                self.api_version,
                &mut managed.fields,
                &id,
                force,
            )
            .map_err(|e| match e {
                ApplyError::Conflicts(c) => ApplyFailure::Conflicts(c),
                ApplyError::Invalid(m) => ApplyFailure::Invalid(m),
            })?;
        strip_server_fields(&mut managed.fields, &id);
        let mut obj = match applied {
            Some(o) => {
                managed.times.insert(id, Some(self.now.to_string()));
                o
            }
            None => live,
        };
        managed.times.retain(|k, _| managed.fields.contains_key(k));
        cap_update_managers(&mut managed);
        set_managed_fields(&mut obj, &managed);
        Ok(obj)
    }

    /// Fields kubectl's last client-side apply set that still have those values.
    fn allowed_conflicts_from_last_applied(&self, live: &Value) -> Option<Set> {
        let text = last_applied(live)?;
        let last: Value = serde_json::from_str(text).ok()?;
        if !typed::validate(self.schema, self.root, &last).is_empty() {
            return None;
        }
        let set = typed::to_field_set(self.schema, self.root, &last);
        let live = without_managed_fields(live);
        let c = typed::compare(self.schema, self.root, &last, &live);
        Some(set.difference(&c.modified).difference(&c.added))
    }
}

#[cfg(test)]
mod tests;
