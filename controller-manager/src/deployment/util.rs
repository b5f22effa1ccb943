//! Upstream's deployment util: surge and unavailability arithmetic, revisions and the
//! annotations a Deployment puts on its ReplicaSets, conditions, and orderings.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet, ReplicaSetCondition,
};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;
use serde_json::Value;

use super::hash::normalize;

pub const REVISION: &str = "deployment.kubernetes.io/revision";
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
pub const ROLLBACK_TO: &str = "deprecated.deployment.rollback.to";
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";
/// Upstream's cap on the revision-history annotation.
pub const MAX_REV_HISTORY_CHARS: usize = 2000;

pub const REPLICA_SET_UPDATED: &str = "ReplicaSetUpdated";
pub const FAILED_RS_CREATE: &str = "ReplicaSetCreateError";
pub const NEW_REPLICA_SET: &str = "NewReplicaSetCreated";
pub const FOUND_NEW_RS: &str = "FoundNewReplicaSet";
pub const NEW_RS_AVAILABLE: &str = "NewReplicaSetAvailable";
pub const TIMED_OUT: &str = "ProgressDeadlineExceeded";
pub const PAUSED: &str = "DeploymentPaused";
pub const RESUMED: &str = "DeploymentResumed";
pub const MIN_AVAILABLE: &str = "MinimumReplicasAvailable";
pub const MIN_UNAVAILABLE: &str = "MinimumReplicasUnavailable";

pub const PROGRESSING: &str = "Progressing";
pub const AVAILABLE: &str = "Available";
pub const REPLICA_FAILURE: &str = "ReplicaFailure";

/// A malformed maxSurge/maxUnavailable.
#[derive(Debug, thiserror::Error)]
#[error("invalid value for IntOrString: {0}")]
pub struct InvalidIntOrPercent(String);

/// apimachinery's GetScaledValueFromIntOrPercent.
pub fn scaled_value(
    v: &IntOrString,
    total: i32,
    round_up: bool,
) -> Result<i32, InvalidIntOrPercent> {
    match v {
        IntOrString::Int(i) => Ok(*i),
        IntOrString::String(s) => {
            let Some(p) = s.strip_suffix('%') else {
                return Err(InvalidIntOrPercent(format!(
                    "invalid type: string is not a percentage: {s:?}"
                )));
            };
            let p: i64 = p
                .parse()
                .map_err(|_| InvalidIntOrPercent(format!("invalid percentage {s:?}")))?;
            let scaled = p as f64 * f64::from(total) / 100.0;
            let r = if round_up {
                scaled.ceil()
            } else {
                scaled.floor()
            };
            Ok(r as i32)
        }
    }
}

pub fn replicas(d: &Deployment) -> i32 {
    d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

pub fn rs_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

pub fn is_rolling_update(d: &Deployment) -> bool {
    strategy_type(d) == "RollingUpdate"
}

pub fn strategy_type(d: &Deployment) -> &str {
    d.spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.type_.as_deref())
        .unwrap_or("RollingUpdate")
}

/// Upstream's ResolveFenceposts: surge rounds up, unavailability down, and both zero means
/// one unavailable (so a rollout can move at all).
pub fn resolve_fenceposts(d: &Deployment) -> Result<(i32, i32), InvalidIntOrPercent> {
    let desired = replicas(d);
    let ru = d
        .spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.rolling_update.as_ref());
    let zero = IntOrString::Int(0);
    let surge = ru.and_then(|r| r.max_surge.as_ref()).unwrap_or(&zero);
    let unavailable = ru.and_then(|r| r.max_unavailable.as_ref()).unwrap_or(&zero);
    let surge = scaled_value(surge, desired, true)?;
    let mut unavailable = scaled_value(unavailable, desired, false)?;
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    Ok((surge, unavailable))
}

/// Upstream's MaxSurge (0 for Recreate; a malformed value counts as 0, as upstream ignores
/// the error there — validation rejects such values anyway).
pub fn max_surge(d: &Deployment) -> i32 {
    if !is_rolling_update(d) {
        return 0;
    }
    resolve_fenceposts(d).map(|(s, _)| s).unwrap_or(0)
}

/// Upstream's MaxUnavailable, capped at the replica count.
pub fn max_unavailable(d: &Deployment) -> i32 {
    if !is_rolling_update(d) || replicas(d) == 0 {
        return 0;
    }
    let u = resolve_fenceposts(d).map(|(_, u)| u).unwrap_or(0);
    u.min(replicas(d))
}

pub fn annotation<'a>(
    meta: &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    key: &str,
) -> Option<&'a str> {
    meta.annotations.as_ref()?.get(key).map(String::as_str)
}

/// The revision annotation's value (0 when absent, None when malformed).
pub fn revision(rs: &ReplicaSet) -> Option<i64> {
    match annotation(&rs.metadata, REVISION) {
        None => Some(0),
        Some(v) => v.parse().ok(),
    }
}

pub fn max_revision(rss: &[ReplicaSet]) -> i64 {
    rss.iter().filter_map(revision).max().unwrap_or(0).max(0)
}

/// The template without the pod-template-hash label, normalized for comparison.
fn template_ignoring_hash(t: Option<&PodTemplateSpec>) -> Value {
    let mut v = t
        .and_then(|t| serde_json::to_value(t).ok())
        .unwrap_or(Value::Null);
    if let Some(labels) = v
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove(POD_TEMPLATE_HASH);
    }
    normalize(&v)
}

/// Upstream's EqualIgnoreHash.
pub fn equal_ignore_hash(a: Option<&PodTemplateSpec>, b: Option<&PodTemplateSpec>) -> bool {
    template_ignoring_hash(a) == template_ignoring_hash(b)
}

fn creation(rs: &ReplicaSet) -> Option<Timestamp> {
    rs.metadata.creation_timestamp.as_ref().map(|t| t.0)
}

/// Oldest first, then by name (upstream's ReplicaSetsByCreationTimestamp).
pub fn by_creation(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    creation(a)
        .cmp(&creation(b))
        .then_with(|| a.metadata.name.cmp(&b.metadata.name))
}

/// Larger first; equal sizes oldest first (ReplicaSetsBySizeOlder).
pub fn by_size_older(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    rs_replicas(b)
        .cmp(&rs_replicas(a))
        .then_with(|| by_creation(a, b))
}

/// Larger first; equal sizes newest first (ReplicaSetsBySizeNewer).
pub fn by_size_newer(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    rs_replicas(b)
        .cmp(&rs_replicas(a))
        .then_with(|| by_creation(b, a))
}

/// Lowest revision first, then oldest (ReplicaSetsByRevision).
pub fn by_revision(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    revision(a)
        .unwrap_or(0)
        .cmp(&revision(b).unwrap_or(0))
        .then_with(|| by_creation(a, b))
}

/// Upstream's FindNewReplicaSet: the oldest ReplicaSet whose template equals the
/// Deployment's (ignoring the hash label).
pub fn find_new_replica_set(d: &Deployment, rss: &[ReplicaSet]) -> Option<usize> {
    let template = d.spec.as_ref().map(|s| &s.template);
    let mut idx: Vec<usize> = (0..rss.len()).collect();
    idx.sort_by(|a, b| by_creation(&rss[*a], &rss[*b]));
    idx.into_iter().find(|i| {
        equal_ignore_hash(
            rss[*i].spec.as_ref().and_then(|s| s.template.as_ref()),
            template,
        )
    })
}

pub fn is_active(rs: &ReplicaSet) -> bool {
    rs_replicas(rs) > 0
}

pub fn sum_spec(rss: &[&ReplicaSet]) -> i32 {
    rss.iter().map(|rs| rs_replicas(rs)).sum()
}

pub fn status_of(rs: &ReplicaSet) -> (i32, i32, i32) {
    rs.status
        .as_ref()
        .map(|s| {
            (
                s.replicas,
                s.ready_replicas.unwrap_or(0),
                s.available_replicas.unwrap_or(0),
            )
        })
        .unwrap_or((0, 0, 0))
}

pub fn sum_status_replicas(rss: &[&ReplicaSet]) -> i32 {
    rss.iter().map(|rs| status_of(rs).0).sum()
}

pub fn sum_ready(rss: &[&ReplicaSet]) -> i32 {
    rss.iter().map(|rs| status_of(rs).1).sum()
}

pub fn sum_available(rss: &[&ReplicaSet]) -> i32 {
    rss.iter().map(|rs| status_of(rs).2).sum()
}

fn annotation_i32(rs: &ReplicaSet, key: &str) -> Option<i32> {
    annotation(&rs.metadata, key)?.parse().ok()
}

pub fn desired_replicas_annotation(rs: &ReplicaSet) -> Option<i32> {
    annotation_i32(rs, DESIRED_REPLICAS)
}

/// Whether the desired/max annotations differ from these values.
pub fn replicas_annotations_need_update(rs: &ReplicaSet, desired: i32, max: i32) -> bool {
    annotation(&rs.metadata, DESIRED_REPLICAS) != Some(desired.to_string().as_str())
        || annotation(&rs.metadata, MAX_REPLICAS) != Some(max.to_string().as_str())
}

/// Sets the desired/max annotations; true when something changed.
pub fn set_replicas_annotations(rs: &mut ReplicaSet, desired: i32, max: i32) -> bool {
    let annotations = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    let mut changed = false;
    for (k, v) in [(DESIRED_REPLICAS, desired), (MAX_REPLICAS, max)] {
        let v = v.to_string();
        if annotations.get(k) != Some(&v) {
            annotations.insert(k.to_string(), v);
            changed = true;
        }
    }
    changed
}

fn skip_copy(key: &str) -> bool {
    matches!(
        key,
        LAST_APPLIED | REVISION | REVISION_HISTORY | DESIRED_REPLICAS | MAX_REPLICAS | ROLLBACK_TO
    )
}

/// Copies the Deployment's annotations (but apply/revision/replica ones) to the ReplicaSet —
/// kubernetes.io/change-cause among them; true when something changed.
pub fn copy_annotations_to_rs(d: &Deployment, rs: &mut ReplicaSet) -> bool {
    let annotations = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    let mut changed = false;
    for (k, v) in d.metadata.annotations.iter().flatten() {
        if skip_copy(k) || annotations.get(k) == Some(v) {
            continue;
        }
        annotations.insert(k.clone(), v.clone());
        changed = true;
    }
    changed
}

/// Upstream's SetNewReplicaSetAnnotations: copies the Deployment's annotations, raises the
/// revision to `new_revision` (recording the old one in revision-history, as a rollback
/// renumbers an old ReplicaSet), and on creation sets desired/max replicas.
pub fn set_new_rs_annotations(
    d: &Deployment,
    rs: &mut ReplicaSet,
    new_revision: i64,
    exists: bool,
) -> bool {
    let mut changed = copy_annotations_to_rs(d, rs);
    let annotations = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    let old = annotations.get(REVISION).cloned();
    let old_int = match old.as_deref() {
        None | Some("") => 0,
        Some(v) => match v.parse::<i64>() {
            Ok(n) => n,
            Err(_) => {
                tracing::warn!(rs = ?rs.metadata.name, revision = v, "unparsable revision annotation; leaving it");
                return changed;
            }
        },
    };
    if old_int < new_revision {
        annotations.insert(REVISION.to_string(), new_revision.to_string());
        changed = true;
        if let Some(old) = old.filter(|o| !o.is_empty()) {
            let history = annotations
                .get(REVISION_HISTORY)
                .cloned()
                .unwrap_or_default();
            if history.is_empty() {
                annotations.insert(REVISION_HISTORY.to_string(), old);
            } else {
                let mut parts: Vec<&str> = history.split(',').collect();
                let mut total = history.len() + old.len() + 1;
                let mut start = 0;
                while total > MAX_REV_HISTORY_CHARS && start < parts.len() {
                    total -= parts[start].len() + 1;
                    start += 1;
                }
                if total <= MAX_REV_HISTORY_CHARS {
                    parts = parts.split_off(start);
                    parts.push(&old);
                    let joined = parts.join(",");
                    annotations.insert(REVISION_HISTORY.to_string(), joined);
                }
            }
        }
    }
    if !exists && set_replicas_annotations(rs, replicas(d), replicas(d) + max_surge(d)) {
        changed = true;
    }
    changed
}

pub fn now_time() -> Time {
    Time(Timestamp::from_second(Timestamp::now().as_second()).unwrap_or(Timestamp::UNIX_EPOCH))
}

pub fn new_condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: String,
) -> DeploymentCondition {
    let now = now_time();
    DeploymentCondition {
        type_: type_.to_string(),
        status: status.to_string(),
        reason: Some(reason.to_string()),
        message: Some(message),
        last_update_time: Some(now.clone()),
        last_transition_time: Some(now),
    }
}

pub fn get_condition<'a>(
    status: &'a DeploymentStatus,
    type_: &str,
) -> Option<&'a DeploymentCondition> {
    status
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
}

/// Upstream's SetDeploymentCondition: no change when status and reason are the same; the
/// transition time survives when only the reason changes.
pub fn set_condition(status: &mut DeploymentStatus, mut cond: DeploymentCondition) {
    if let Some(cur) = get_condition(status, &cond.type_) {
        if cur.status == cond.status && cur.reason == cond.reason {
            return;
        }
        if cur.status == cond.status {
            cond.last_transition_time = cur.last_transition_time.clone();
        }
    }
    remove_condition(status, &cond.type_.clone());
    status.conditions.get_or_insert_with(Vec::new).push(cond);
}

pub fn remove_condition(status: &mut DeploymentStatus, type_: &str) {
    if let Some(c) = status.conditions.as_mut() {
        c.retain(|c| c.type_ != type_);
        if c.is_empty() {
            status.conditions = None;
        }
    }
}

pub fn rs_condition_to_deployment(c: &ReplicaSetCondition) -> DeploymentCondition {
    DeploymentCondition {
        type_: c.type_.clone(),
        status: c.status.clone(),
        reason: c.reason.clone(),
        message: c.message.clone(),
        last_update_time: c.last_transition_time.clone(),
        last_transition_time: c.last_transition_time.clone(),
    }
}

pub fn progress_deadline(d: &Deployment) -> Option<i32> {
    d.spec
        .as_ref()
        .and_then(|s| s.progress_deadline_seconds)
        .filter(|p| *p != i32::MAX)
}

pub fn revision_history_limit(d: &Deployment) -> Option<i32> {
    d.spec
        .as_ref()
        .and_then(|s| s.revision_history_limit)
        .filter(|p| *p != i32::MAX)
}

pub fn paused(d: &Deployment) -> bool {
    d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false)
}

pub fn min_ready_seconds(d: &Deployment) -> i32 {
    d.spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0)
}

fn zero_none(v: Option<i32>) -> i32 {
    v.unwrap_or(0)
}

/// Upstream's DeploymentComplete.
pub fn deployment_complete(d: &Deployment, s: &DeploymentStatus) -> bool {
    let want = replicas(d);
    zero_none(s.updated_replicas) == want
        && zero_none(s.replicas) == want
        && zero_none(s.available_replicas) == want
        && s.observed_generation.unwrap_or(0) >= d.metadata.generation.unwrap_or(0)
}

/// Upstream's DeploymentProgressing: more updated, fewer old, more ready or more available
/// replicas than the last status reported.
pub fn deployment_progressing(d: &Deployment, new: &DeploymentStatus) -> bool {
    let old = d.status.clone().unwrap_or_default();
    let old_old = zero_none(old.replicas) - zero_none(old.updated_replicas);
    let new_old = zero_none(new.replicas) - zero_none(new.updated_replicas);
    zero_none(new.updated_replicas) > zero_none(old.updated_replicas)
        || new_old < old_old
        || zero_none(new.ready_replicas) > zero_none(old.ready_replicas)
        || zero_none(new.available_replicas) > zero_none(old.available_replicas)
}

/// Upstream's DeploymentTimedOut.
pub fn deployment_timed_out(d: &Deployment, s: &DeploymentStatus) -> bool {
    let Some(deadline) = progress_deadline(d) else {
        return false;
    };
    let Some(c) = get_condition(s, PROGRESSING) else {
        return false;
    };
    match c.reason.as_deref() {
        Some(NEW_RS_AVAILABLE) => return false,
        Some(TIMED_OUT) => return true,
        _ => {}
    }
    let Some(from) = c.last_update_time.as_ref() else {
        return false;
    };
    from.0.as_second() + i64::from(deadline) < Timestamp::now().as_second()
}

/// Upstream's getReplicaSetFraction: this ReplicaSet's share of a scaling change.
fn replica_set_fraction(rs: &ReplicaSet, d: &Deployment) -> i32 {
    if replicas(d) == 0 {
        return -rs_replicas(rs);
    }
    let deployment_replicas = replicas(d) + max_surge(d);
    let annotated = annotation_i32(rs, MAX_REPLICAS)
        .filter(|v| *v != 0)
        .unwrap_or_else(|| d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0));
    if annotated == 0 {
        return 0;
    }
    let size = f64::from(rs_replicas(rs)) * f64::from(deployment_replicas) / f64::from(annotated);
    size.round() as i32 - rs_replicas(rs)
}

/// Upstream's GetProportion.
pub fn proportion(rs: &ReplicaSet, d: &Deployment, to_add: i32, added: i32) -> i32 {
    if rs_replicas(rs) == 0 || to_add == 0 || to_add == added {
        return 0;
    }
    let fraction = replica_set_fraction(rs, d);
    let allowed = to_add - added;
    if to_add > 0 {
        fraction.min(allowed)
    } else {
        fraction.max(allowed)
    }
}

/// Upstream's IsSaturated: the new ReplicaSet runs all desired replicas, all available.
pub fn is_saturated(d: &Deployment, rs: &ReplicaSet) -> bool {
    desired_replicas_annotation(rs) == Some(replicas(d))
        && rs_replicas(rs) == replicas(d)
        && status_of(rs).2 == replicas(d)
}

/// Upstream's NewRSNewReplicas: how far the new ReplicaSet may grow now, given `current`
/// pods counted against replicas + maxSurge.
pub fn new_rs_new_replicas(
    d: &Deployment,
    current: i32,
    new_rs: &ReplicaSet,
) -> Result<i32, InvalidIntOrPercent> {
    if !is_rolling_update(d) {
        return Ok(replicas(d));
    }
    let (surge, _) = resolve_fenceposts(d)?;
    let max_total = replicas(d) + surge;
    if current >= max_total {
        return Ok(rs_replicas(new_rs));
    }
    let up = (max_total - current).min(replicas(d) - rs_replicas(new_rs));
    Ok(rs_replicas(new_rs) + up)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use serde_json::json;

    fn deployment(replicas: i32, surge: Value, unavailable: Value) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "d"},
            "spec": {"replicas": replicas, "selector": {}, "template": {},
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}}
        }))
        .unwrap()
    }

    #[test]
    fn fenceposts_round_as_upstream() {
        let cases = [
            (10, json!("25%"), json!("25%"), 3, 2),
            (3, json!("25%"), json!("25%"), 1, 0),
            (1000, json!("25%"), json!("25%"), 250, 250),
            (5, json!(0), json!(0), 0, 1),
            (5, json!(2), json!("10%"), 2, 0),
            (4, json!("50%"), json!(7), 2, 4),
        ];
        for (r, s, u, want_s, want_u) in cases {
            let d = deployment(r, s.clone(), u.clone());
            assert_eq!(
                (max_surge(&d), max_unavailable(&d)),
                (want_s, want_u),
                "{r} {s} {u}"
            );
        }
        assert!(scaled_value(&IntOrString::String("25".into()), 10, true).is_err());
    }

    fn rs(name: &str, replicas: i32, max: Option<i32>, created: &str) -> ReplicaSet {
        let mut annotations = serde_json::Map::new();
        if let Some(m) = max {
            annotations.insert(MAX_REPLICAS.into(), json!(m.to_string()));
        }
        serde_json::from_value(json!({
            "metadata": {"name": name, "annotations": annotations, "creationTimestamp": created},
            "spec": {"replicas": replicas, "selector": {}}
        }))
        .unwrap()
    }

    #[test]
    fn proportions_split_a_scale_up() {
        // 10 replicas mid-rollout (old 8, new 5 of max 13), scaled to 20: max becomes 25.
        let d = deployment(20, json!(3), json!(2));
        let d = {
            let mut d = d;
            d.spec
                .as_mut()
                .unwrap()
                .strategy
                .as_mut()
                .unwrap()
                .rolling_update
                .as_mut()
                .unwrap()
                .max_surge = Some(IntOrString::Int(5));
            d
        };
        let old = rs("old", 8, Some(13), "2024-01-01T00:00:00Z");
        let new = rs("new", 5, Some(13), "2024-01-02T00:00:00Z");
        let to_add = 25 - 13;
        let p_old = proportion(&old, &d, to_add, 0);
        let p_new = proportion(&new, &d, to_add, p_old);
        assert_eq!((p_old, p_new), (7, 5));
    }

    #[test]
    fn new_rs_grows_within_surge() {
        let d = deployment(10, json!("25%"), json!("25%"));
        let old = rs("old", 10, None, "2024-01-01T00:00:00Z");
        let new = rs("new", 0, None, "2024-01-02T00:00:00Z");
        assert_eq!(
            new_rs_new_replicas(&d, sum_spec(&[&old, &new]), &new).unwrap(),
            3
        );
        let new3 = rs("new", 3, None, "2024-01-02T00:00:00Z");
        assert_eq!(
            new_rs_new_replicas(&d, sum_spec(&[&old, &new3]), &new3).unwrap(),
            3
        );
        let old8 = rs("old", 8, None, "2024-01-01T00:00:00Z");
        assert_eq!(
            new_rs_new_replicas(&d, sum_spec(&[&old8, &new3]), &new3).unwrap(),
            5
        );
    }

    #[test]
    fn rollback_renumbers_and_keeps_history() {
        let d: Deployment = serde_json::from_value(json!({
            "metadata": {"name": "d", "annotations": {"kubernetes.io/change-cause": "undo", LAST_APPLIED: "{}"}},
            "spec": {"replicas": 3, "selector": {}, "template": {}}
        }))
        .unwrap();
        let mut old: ReplicaSet = serde_json::from_value(json!({
            "metadata": {"name": "d-1", "annotations": {REVISION: "1"}}
        }))
        .unwrap();
        assert!(set_new_rs_annotations(&d, &mut old, 3, true));
        let a = old.metadata.annotations.as_ref().unwrap();
        assert_eq!(a[REVISION], "3");
        assert_eq!(a[REVISION_HISTORY], "1");
        assert_eq!(a["kubernetes.io/change-cause"], "undo");
        assert!(!a.contains_key(LAST_APPLIED));
        assert!(set_new_rs_annotations(&d, &mut old, 5, true));
        assert_eq!(
            old.metadata.annotations.as_ref().unwrap()[REVISION_HISTORY],
            "1,3"
        );
        // A revision that is already high enough stays.
        assert!(!set_new_rs_annotations(&d, &mut old, 4, true));
    }

    #[test]
    fn templates_compare_without_the_hash_label() {
        let a: PodTemplateSpec = serde_json::from_value(json!({"metadata": {"labels": {"app": "x", POD_TEMPLATE_HASH: "abc"}}, "spec": {"containers": [{"name": "c", "image": "i", "env": []}]}})).unwrap();
        let b: PodTemplateSpec = serde_json::from_value(json!({"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}})).unwrap();
        assert!(equal_ignore_hash(Some(&a), Some(&b)));
        let c: PodTemplateSpec = serde_json::from_value(json!({"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "j"}]}})).unwrap();
        assert!(!equal_ignore_hash(Some(&a), Some(&c)));
    }
}
