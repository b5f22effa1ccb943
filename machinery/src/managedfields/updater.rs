//! Field ownership across writes (structured-merge-diff's `merge.Updater`): an update takes
//! the fields it changed from everyone else; an apply merges its configuration, takes the
//! fields it sets (failing on conflicts unless forced) and removes fields it set before and
//! no longer sets, when nobody else owns them.

use std::collections::BTreeMap;

use serde_json::Value;

use super::schema::{Schema, TypeRef};
use super::set::{Path, Set, path_string};
use super::typed::{self, Comparison};

/// The fields one manager owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionedSet {
    pub set: Set,
    pub api_version: String,
    /// Owned through apply (rather than update).
    pub applied: bool,
}

/// Every manager's fields, by manager identifier (see [`super::manager_identifier`]).
pub type ManagedFields = BTreeMap<String, VersionedSet>;

/// A field another manager owns with a different value than the one being applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The other manager's identifier.
    pub manager: String,
    pub path: Path,
}

impl Conflict {
    pub fn path_string(&self) -> String {
        path_string(&self.path)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    #[error("{} conflicts", .0.len())]
    Conflicts(Vec<Conflict>),
    /// The configuration does not fit the schema.
    #[error("{0}")]
    Invalid(String),
}

/// Computes ownership for one kind: its schema, its root type and the fields the endpoint
/// resets (status on the main resource, everything but status on /status), which nobody
/// owns through it.
pub struct Updater<'a> {
    pub schema: &'a Schema,
    pub root: TypeRef,
    pub ignored: &'a Set,
}

impl Updater<'_> {
    fn compare(&self, old: &Value, new: &Value) -> Comparison {
        let mut c = typed::compare(self.schema, self.root, old, new);
        c.exclude(self.ignored);
        c
    }

    /// Takes the changed fields away from every manager but `workflow`; with conflicts and
    /// without `force`, fails instead.
    fn update_ownership(
        &self,
        old: &Value,
        new: &Value,
        managers: &mut ManagedFields,
        workflow: &str,
        force: bool,
    ) -> Result<Comparison, Vec<Conflict>> {
        let compare = self.compare(old, new);
        let changed = compare.modified.union(&compare.added);
        let mut conflicts: Vec<(String, Set)> = Vec::new();
        for (manager, vs) in managers.iter() {
            if manager == workflow {
                continue;
            }
            let c = vs.set.intersection(&changed);
            if !c.is_empty() {
                conflicts.push((manager.clone(), c));
            }
        }
        if !force && !conflicts.is_empty() {
            let mut out = Vec::new();
            for (manager, set) in conflicts {
                for path in set.paths() {
                    out.push(Conflict {
                        manager: manager.clone(),
                        path,
                    });
                }
            }
            return Err(out);
        }
        for (manager, c) in conflicts {
            if let Some(vs) = managers.get_mut(&manager) {
                vs.set = vs.set.difference(&c);
            }
        }
        if !compare.removed.is_empty() {
            for (manager, vs) in managers.iter_mut() {
                if manager != workflow {
                    vs.set = vs.set.difference(&compare.removed);
                }
            }
        }
        managers.retain(|_, vs| !vs.set.is_empty());
        Ok(compare)
    }

    /// A create, update or patch by `manager` from `live` to `new`: the manager owns what it
    /// added or changed, and keeps what it owned and did not remove.
    pub fn update(
        &self,
        live: &Value,
        new: &Value,
        version: &str,
        managers: &mut ManagedFields,
        manager: &str,
    ) {
        let Ok(compare) = self.update_ownership(live, new, managers, manager, true) else {
            return;
        };
        let previous = managers
            .get(manager)
            .map(|vs| vs.set.clone())
            .unwrap_or_default();
        let set = previous
            .difference(&compare.removed)
            .union(&compare.modified)
            .union(&compare.added)
            .recursive_difference(self.ignored);
        if set.is_empty() {
            managers.remove(manager);
        } else {
            managers.insert(
                manager.to_string(),
                VersionedSet {
                    set,
                    api_version: version.to_string(),
                    applied: false,
                },
            );
        }
    }

    /// Server-side apply of `config` by `manager` onto `live`. Returns the new object
    /// (`None` when it equals `live`) and updates `managers`.
    pub fn apply(
        &self,
        live: &Value,
        config: &Value,
        version: &str,
        managers: &mut ManagedFields,
        manager: &str,
        force: bool,
    ) -> Result<Option<Value>, ApplyError> {
        let errs = typed::validate(self.schema, self.root, config);
        if !errs.is_empty() {
            return Err(ApplyError::Invalid(errs.join(", ")));
        }
        let merged = typed::merge(self.schema, self.root, live, config);
        let last = managers.get(manager).map(|vs| vs.set.clone());
        let set =
            typed::to_field_set(self.schema, self.root, config).recursive_difference(self.ignored);
        let mut candidate = managers.clone();
        candidate.insert(
            manager.to_string(),
            VersionedSet {
                set,
                api_version: version.to_string(),
                applied: true,
            },
        );
        let new = match last.filter(|s| !s.is_empty()) {
            Some(last) => self.prune(&merged, &candidate, &last),
            None => merged,
        };
        self.update_ownership(live, &new, &mut candidate, manager, force)
            .map_err(ApplyError::Conflicts)?;
        *managers = candidate;
        Ok((new != *live).then_some(new))
    }

    /// Removes what `manager` applied last time and not this time, unless another manager
    /// (or this configuration) owns it.
    fn prune(&self, merged: &Value, managers: &ManagedFields, last: &Set) -> Value {
        let (sc, root) = (self.schema, Some(self.root));
        let ensure = |s: &Set| typed::ensure_named_fields_are_members(sc, root, s);
        let pruned = typed::remove_items(sc, self.root, merged, &ensure(last));
        // Add back what someone owns.
        let owned = managers
            .values()
            .fold(Set::new(), |acc, vs| acc.union(&vs.set));
        let merged_set = ensure(&typed::to_field_set(sc, self.root, merged));
        let pruned_set = ensure(&typed::to_field_set(sc, self.root, &pruned));
        let pruned = typed::remove_items(
            sc,
            self.root,
            merged,
            &merged_set.difference(&pruned_set.union(&ensure(&owned))),
        );
        // Only remove what this manager owned before (dangling items stay).
        let pruned_set = ensure(&typed::to_field_set(sc, self.root, &pruned));
        typed::remove_items(
            sc,
            self.root,
            merged,
            &merged_set
                .difference(&pruned_set)
                .intersection(&ensure(last)),
        )
    }
}
