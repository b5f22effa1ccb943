//! The API server's own CRD controller (upstream's naming, establishing and finalizing
//! controllers of apiextensions-apiserver, in one level-triggered loop): on every CRD change
//! it decides which names each CRD gets (`NamesAccepted`, older CRDs win a conflict), serves
//! the accepted ones (watch cache first, then the dynamic table, then OpenAPI), and only then
//! reports `Established`, so a client that waited for the condition finds the resource
//! served. A CRD being deleted keeps being served while its objects are deleted, then loses
//! its `customresourcecleanup.apiextensions.k8s.io` finalizer and goes.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use machinery::ResourceInfo;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::{CLEANUP_FINALIZER, CRD_PREFIX, CustomResource, served_from_crd};
use crate::ApiState;
use crate::registry::meta;
use crate::registry::store::{DeleteOptions, Deleted, WriteOptions};

/// How often a CRD being deleted is looked at again while its objects go away.
const CLEANUP_RETRY: Duration = Duration::from_millis(500);
/// How long a new custom resource's watch cache may take to fill before the pass moves on.
const ADD_CACHE_TIMEOUT: Duration = Duration::from_secs(5);
/// A periodic resync, in case a status write lost a race.
const RESYNC: Duration = Duration::from_secs(30);

fn crd_info(state: &ApiState) -> Option<Arc<ResourceInfo>> {
    state
        .registry
        .table
        .lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
}

/// Runs until the task is dropped.
pub async fn run(state: Arc<ApiState>) {
    let Some(cache) = state.registry.caches.cache_for(CRD_PREFIX) else {
        tracing::error!(
            "no watch cache for CustomResourceDefinitions; custom resources are not served"
        );
        return;
    };
    loop {
        let mut live = match cache.start_watch(None) {
            Ok(start) => start.live,
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch CustomResourceDefinitions");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        loop {
            let pending = sync_once(&state).await;
            let wait = if pending { CLEANUP_RETRY } else { RESYNC };
            tokio::select! {
                ev = live.recv() => match ev {
                    Ok(_) => {
                        // Coalesce a burst of changes into one pass.
                        while live.try_recv().is_ok() {}
                    }
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => break,
                },
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}

fn names_of(crd: &Value) -> Vec<(String, String)> {
    let n = crd.pointer("/spec/names").cloned().unwrap_or(Value::Null);
    let s = |k: &str| n.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let mut out = vec![
        ("plural".to_string(), s("plural")),
        ("singular".to_string(), s("singular")),
        ("kind".to_string(), s("kind")),
        ("listKind".to_string(), s("listKind")),
    ];
    for short in n
        .get("shortNames")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        out.push(("shortNames".to_string(), short.to_string()));
    }
    out
}

/// Why a CRD's names cannot be accepted, upstream's reason and message.
fn conflict(
    crd: &Value,
    accepted_in_group: &[(String, BTreeSet<String>, BTreeSet<String>)],
    builtin: &[Arc<ResourceInfo>],
) -> Option<(&'static str, String)> {
    let group = crd
        .pointer("/spec/group")
        .and_then(Value::as_str)
        .unwrap_or("");
    let names = names_of(crd);
    for (g, resources, kinds) in accepted_in_group {
        if g != group {
            continue;
        }
        for (field, value) in &names {
            if value.is_empty() {
                continue;
            }
            let taken = match field.as_str() {
                "kind" | "listKind" => kinds.contains(value),
                _ => resources.contains(value),
            };
            if taken {
                let reason = match field.as_str() {
                    "plural" => "PluralConflict",
                    "singular" => "SingularConflict",
                    "kind" => "KindConflict",
                    "listKind" => "ListKindConflict",
                    _ => "ShortNamesConflict",
                };
                return Some((reason, format!("{value:?} is already in use")));
            }
        }
    }
    for r in builtin.iter().filter(|r| r.group == group) {
        for (field, value) in &names {
            let taken = match field.as_str() {
                "kind" | "listKind" => *value == r.kind || *value == r.list_kind(),
                _ => *value == r.plural || *value == r.singular || r.short_names.contains(value),
            };
            if !value.is_empty() && taken {
                return Some((
                    "BuiltinConflict",
                    format!("{field} {value:?} is already in use by a built-in resource"),
                ));
            }
        }
    }
    None
}

fn condition(type_: &str, status: bool, reason: &str, message: &str) -> Value {
    json!({
        "type": type_,
        "status": if status { "True" } else { "False" },
        "reason": reason,
        "message": message,
    })
}

/// The status the CRD should have: the given conditions (their lastTransitionTime kept when
/// the status did not change), accepted names and stored versions.
fn desired_status(crd: &Value, conditions: Vec<Value>, accepted: bool) -> Value {
    let old = crd.get("status").cloned().unwrap_or(json!({}));
    let old_conditions = old
        .get("conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut merged: Vec<Value> = Vec::new();
    // Conditions this controller does not own stay as they are.
    let ours: HashSet<&str> = conditions
        .iter()
        .filter_map(|c| c.get("type").and_then(Value::as_str))
        .collect();
    for c in &old_conditions {
        let t = c.get("type").and_then(Value::as_str).unwrap_or("");
        if !ours.contains(t) {
            merged.push(c.clone());
        }
    }
    for mut c in conditions {
        let t = c
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let prev = old_conditions
            .iter()
            .find(|o| o.get("type").and_then(Value::as_str) == Some(t.as_str()));
        let time = match prev {
            Some(p) if p.get("status") == c.get("status") => p
                .get("lastTransitionTime")
                .cloned()
                .unwrap_or_else(|| json!(meta::now_rfc3339())),
            _ => json!(meta::now_rfc3339()),
        };
        if let Some(m) = c.as_object_mut() {
            m.insert("lastTransitionTime".into(), time);
        }
        merged.push(c);
    }
    let mut status = old.as_object().cloned().unwrap_or_default();
    status.insert("conditions".into(), Value::Array(merged));
    if accepted {
        let mut names = crd
            .pointer("/spec/names")
            .cloned()
            .unwrap_or_else(|| json!({}));
        if let Some(m) = names.as_object_mut() {
            m.retain(|k, _| {
                matches!(
                    k.as_str(),
                    "plural" | "singular" | "shortNames" | "kind" | "listKind" | "categories"
                )
            });
        }
        status.insert("acceptedNames".into(), names);
    } else if !status.contains_key("acceptedNames") {
        status.insert("acceptedNames".into(), json!({ "plural": "", "kind": "" }));
    }
    let mut stored: Vec<Value> = status
        .get("storedVersions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for v in crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if v.get("storage").and_then(Value::as_bool) == Some(true)
            && let Some(name) = v.get("name")
            && !stored.contains(name)
        {
            stored.push(name.clone());
        }
    }
    status.insert("storedVersions".into(), Value::Array(stored));
    Value::Object(status)
}

/// Conditions compared without their timestamps.
fn same_status(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(cs) = v.get_mut("conditions").and_then(Value::as_array_mut) {
            for c in cs.iter_mut().filter_map(Value::as_object_mut) {
                c.remove("lastTransitionTime");
            }
        }
        v
    };
    strip(a) == strip(b)
}

async fn write_status(state: &ApiState, info: &ResourceInfo, crd: &Value, status: Value) {
    let name = meta::name(crd).to_string();
    let result = state
        .registry
        .write_update(
            info,
            None,
            &name,
            Some("status"),
            None,
            &WriteOptions::default(),
            |old| {
                let mut new = old.clone();
                if let Some(m) = new.as_object_mut() {
                    m.insert("status".into(), status.clone());
                }
                Ok(new)
            },
        )
        .await;
    if let Err(e) = result
        && e.code != 404
    {
        tracing::warn!(crd = %name, error = %e.message, "cannot update CustomResourceDefinition status");
    }
}

/// Deletes the objects of a CRD being deleted; true once none are left.
async fn delete_instances(state: &ApiState, crd: &Value, served: &[CustomResource]) -> bool {
    let group = crd
        .pointer("/spec/group")
        .and_then(Value::as_str)
        .unwrap_or("");
    let plural = crd
        .pointer("/spec/names/plural")
        .and_then(Value::as_str)
        .unwrap_or("");
    if group.is_empty() || plural.is_empty() {
        return true;
    }
    let prefix = format!("/registry/{group}/{plural}/");
    let items = match state
        .registry
        .storage
        .list(&prefix, crate::storage::ListOptions::default())
        .await
    {
        Ok(page) => page.items,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list custom objects to delete");
            return false;
        }
    };
    if items.is_empty() {
        return true;
    }
    let Some(info) = served.iter().find(|c| c.crd_name == meta::name(crd)) else {
        // Never served (names not accepted): nothing can hold the objects back.
        for kv in &items {
            let _ = state.registry.storage.delete(&kv.key, None).await;
        }
        return false;
    };
    for kv in &items {
        let Ok(obj) = serde_json::from_slice::<Value>(&kv.value) else {
            let _ = state.registry.storage.delete(&kv.key, None).await;
            continue;
        };
        if meta::is_deleting(&obj) {
            continue;
        }
        let ns = meta::namespace(&obj).map(str::to_string);
        match state
            .registry
            .delete(
                &info.info,
                ns.as_deref(),
                meta::name(&obj),
                &DeleteOptions::default(),
            )
            .await
        {
            Ok((Deleted::Now(_) | Deleted::Pending(_), _)) => {}
            Err(e) if e.code == 404 => {}
            Err(e) => tracing::warn!(error = %e.message, "cannot delete custom object"),
        }
    }
    false
}

/// One pass over all CRDs. Returns whether a deletion is still in progress (retry soon).
pub async fn sync_once(state: &Arc<ApiState>) -> bool {
    let Some(info) = crd_info(state) else {
        return false;
    };
    let Some(cache) = state.registry.caches.cache_for(CRD_PREFIX) else {
        return false;
    };
    let mut crds: Vec<Value> = cache
        .snapshot(CRD_PREFIX)
        .0
        .iter()
        .map(|o| o.object.clone())
        .collect();
    // Older CRDs keep their names in a conflict.
    crds.sort_by(|a, b| {
        let key = |v: &Value| {
            (
                meta::meta_str(v, "creationTimestamp")
                    .unwrap_or("")
                    .to_string(),
                meta::name(v).to_string(),
            )
        };
        key(a).cmp(&key(b))
    });
    let builtin: Vec<Arc<ResourceInfo>> = state.registry.table.all().to_vec();
    let mut accepted_in_group: Vec<(String, BTreeSet<String>, BTreeSet<String>)> = Vec::new();
    let mut served: Vec<CustomResource> = Vec::new();
    let mut decisions: Vec<(Value, Option<(&'static str, String)>)> = Vec::new();
    let mut retry = false;
    for crd in crds {
        let problem = conflict(&crd, &accepted_in_group, &builtin);
        if problem.is_none() {
            let group = crd
                .pointer("/spec/group")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let mut resources = BTreeSet::new();
            let mut kinds = BTreeSet::new();
            for (field, value) in names_of(&crd) {
                match field.as_str() {
                    "kind" | "listKind" => kinds.insert(value),
                    _ => resources.insert(value),
                };
            }
            accepted_in_group.push((group, resources, kinds));
            let crs = served_from_crd(&crd);
            let mut ready = true;
            if let Some(first) = crs.first() {
                let prefix = first.info.list_prefix(None);
                // Bounded: the cache fills new prefixes between storage events, and a storage
                // outage must not stall this loop (or the server's start-up).
                let added = tokio::time::timeout(
                    ADD_CACHE_TIMEOUT,
                    state.registry.caches.add_prefix(&prefix),
                )
                .await
                .unwrap_or_else(|_| Err("timed out".to_string()));
                if let Err(e) = added {
                    tracing::warn!(prefix = %prefix, error = %e, "cannot start the watch cache of a custom resource; retrying");
                    ready = false;
                    retry = true;
                }
            }
            if ready {
                served.extend(crs);
            } else {
                // Not served yet, so not Established either: its status waits for a later
                // pass.
                continue;
            }
        }
        decisions.push((crd, problem));
    }

    // Serve before reporting Established.
    publish(state, served);
    let served_now = state.registry.crds.all();

    let mut pending = retry;
    for (crd, problem) in decisions {
        let name = meta::name(&crd).to_string();
        if meta::is_deleting(&crd) {
            let served_list: Vec<CustomResource> = served_from_crd(&crd)
                .into_iter()
                .filter(|c| {
                    served_now
                        .iter()
                        .any(|s| s.crd_name == name && s.info.version == c.info.version)
                })
                .collect();
            let mut conditions = vec![condition(
                "Terminating",
                true,
                "InstanceDeletionInProgress",
                "CustomResource deletion is in progress",
            )];
            if problem.is_none() {
                conditions.push(condition(
                    "Established",
                    true,
                    "InitialNamesAccepted",
                    "the initial names have been accepted",
                ));
            }
            let status = desired_status(&crd, conditions, problem.is_none());
            if !same_status(crd.get("status").unwrap_or(&Value::Null), &status) {
                write_status(state, &info, &crd, status).await;
            }
            if delete_instances(state, &crd, &served_list).await {
                let result = state
                    .registry
                    .guaranteed_update(&info, None, &name, None, |mut obj| {
                        if let Some(f) = obj
                            .pointer_mut("/metadata/finalizers")
                            .and_then(Value::as_array_mut)
                        {
                            f.retain(|v| v.as_str() != Some(CLEANUP_FINALIZER));
                        }
                        Ok(obj)
                    })
                    .await;
                if let Err(e) = result
                    && e.code != 404
                {
                    tracing::warn!(crd = %name, error = %e.message, "cannot finish CustomResourceDefinition deletion");
                    pending = true;
                }
            } else {
                pending = true;
            }
            continue;
        }
        let conditions = match &problem {
            None => vec![
                condition("NamesAccepted", true, "NoConflicts", "no conflicts found"),
                condition(
                    "Established",
                    true,
                    "InitialNamesAccepted",
                    "the initial names have been accepted",
                ),
            ],
            Some((reason, message)) => vec![
                condition("NamesAccepted", false, reason, message),
                condition(
                    "Established",
                    false,
                    "NotAccepted",
                    "not all names are accepted",
                ),
            ],
        };
        let status = desired_status(&crd, conditions, problem.is_none());
        if !same_status(crd.get("status").unwrap_or(&Value::Null), &status) {
            write_status(state, &info, &crd, status).await;
        }
    }
    pending
}

/// Swaps the served set and refreshes OpenAPI when it changed.
fn publish(state: &ApiState, served: Vec<CustomResource>) {
    let fingerprint = |crs: &[&CustomResource]| -> Vec<String> {
        let mut v: Vec<String> = crs
            .iter()
            .map(|c| {
                format!(
                    "{}/{}/{}/{}/{}/{:?}/{}/{:?}/{:?}/{}/{}/{:?}/{:?}/{:?}",
                    c.info.group,
                    c.info.version,
                    c.info.plural,
                    c.info.kind,
                    c.info.namespaced,
                    c.info.short_names,
                    c.storage_version,
                    c.raw_schema,
                    c.columns,
                    c.terminating,
                    c.status_subresource,
                    c.scale,
                    c.info.categories,
                    c.selectable_fields,
                )
            })
            .collect();
        v.sort();
        v
    };
    let before = state.registry.crds.all();
    let before_refs: Vec<&CustomResource> = before.iter().map(Arc::as_ref).collect();
    let after_refs: Vec<&CustomResource> = served.iter().collect();
    if fingerprint(&before_refs) == fingerprint(&after_refs) {
        return;
    }
    for old in &before {
        state
            .openapi
            .remove_custom_schema(&old.info.group, &old.info.version, &old.info.kind);
    }
    for cr in &served {
        if let Some(schema) = &cr.raw_schema {
            state.openapi.set_custom_schema(
                &cr.info.group,
                &cr.info.version,
                &cr.info.kind,
                schema.clone(),
            );
        }
    }
    state.registry.crds.replace(&state.registry.table, served);
    state.openapi.invalidate();
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn crd(name: &str, group: &str, plural: &str, kind: &str, short: &[&str]) -> Value {
        json!({
            "metadata": {"name": name},
            "spec": {"group": group, "names": {
                "plural": plural, "singular": plural.trim_end_matches('s'), "kind": kind,
                "listKind": format!("{kind}List"), "shortNames": short,
            }},
        })
    }

    #[test]
    fn names_conflict_within_a_group_and_with_builtins() {
        let builtin = machinery::ResourceTable::builtin().all().to_vec();
        let mut accepted = Vec::new();
        let first = crd(
            "widgets.example.com",
            "example.com",
            "widgets",
            "Widget",
            &["wd"],
        );
        assert!(conflict(&first, &accepted, &builtin).is_none());
        let mut res = BTreeSet::new();
        let mut kinds = BTreeSet::new();
        for (f, v) in names_of(&first) {
            if f == "kind" || f == "listKind" {
                kinds.insert(v);
            } else {
                res.insert(v);
            }
        }
        accepted.push(("example.com".to_string(), res, kinds));
        let same_kind = crd(
            "gadgets.example.com",
            "example.com",
            "gadgets",
            "Widget",
            &[],
        );
        assert_eq!(
            conflict(&same_kind, &accepted, &builtin).unwrap().0,
            "KindConflict"
        );
        let same_short = crd(
            "gizmos.example.com",
            "example.com",
            "gizmos",
            "Gizmo",
            &["wd"],
        );
        assert_eq!(
            conflict(&same_short, &accepted, &builtin).unwrap().0,
            "ShortNamesConflict"
        );
        let other_group = crd(
            "widgets.other.com",
            "other.com",
            "widgets",
            "Widget",
            &["wd"],
        );
        assert!(conflict(&other_group, &accepted, &builtin).is_none());
        let builtin_clash = crd(
            "leases.coordination.k8s.io",
            "coordination.k8s.io",
            "leases",
            "Lease",
            &[],
        );
        assert_eq!(
            conflict(&builtin_clash, &accepted, &builtin).unwrap().0,
            "BuiltinConflict"
        );
    }

    #[test]
    fn status_keeps_transition_times_and_stored_versions() {
        let mut c = crd(
            "widgets.example.com",
            "example.com",
            "widgets",
            "Widget",
            &[],
        );
        c["spec"]["versions"] = json!([{"name": "v2", "storage": true}]);
        c["status"] = json!({
            "storedVersions": ["v1"],
            "conditions": [{"type": "Established", "status": "True", "lastTransitionTime": "2020-01-01T00:00:00Z"}],
        });
        let s = desired_status(
            &c,
            vec![condition("Established", true, "InitialNamesAccepted", "x")],
            true,
        );
        assert_eq!(s["storedVersions"], json!(["v1", "v2"]));
        assert_eq!(
            s["conditions"][0]["lastTransitionTime"],
            "2020-01-01T00:00:00Z"
        );
        assert_eq!(s["acceptedNames"]["kind"], "Widget");
        assert!(same_status(&s, &s.clone()));
    }
}
