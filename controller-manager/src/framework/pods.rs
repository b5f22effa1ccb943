//! Pod facts the replica controllers decide on (upstream's podutil and controller_utils):
//! active, ready, available, and the order in which surplus pods are deleted.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;

/// Annotation whose integer value makes a pod cheaper (lower) or dearer to delete.
pub const POD_DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";

/// Not finished and not being deleted: it counts toward replicas.
pub fn is_active(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    !matches!(phase, Some("Succeeded") | Some("Failed"))
        && pod.metadata.deletion_timestamp.is_none()
}

fn ready_condition(pod: &Pod) -> Option<&k8s_openapi::api::core::v1::PodCondition> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
}

pub fn is_ready(pod: &Pod) -> bool {
    ready_condition(pod).is_some_and(|c| c.status == "True")
}

/// When the pod last became Ready (None when not ready or unknown).
pub fn ready_since(pod: &Pod) -> Option<DateTime<Utc>> {
    let c = ready_condition(pod)?;
    if c.status != "True" {
        return None;
    }
    c.last_transition_time.as_ref().map(|t| to_chrono(&t.0))
}

pub fn to_chrono(t: &Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp(
        t.as_second(),
        u32::try_from(t.subsec_nanosecond()).unwrap_or(0),
    )
    .unwrap_or_default()
}

/// Ready for at least `min_ready_seconds` at `now`.
pub fn is_available(pod: &Pod, min_ready_seconds: i32, now: DateTime<Utc>) -> bool {
    if !is_ready(pod) {
        return false;
    }
    if min_ready_seconds <= 0 {
        return true;
    }
    match ready_since(pod) {
        Some(since) => since + chrono::Duration::seconds(i64::from(min_ready_seconds)) <= now,
        None => false,
    }
}

/// How long until a ready pod becomes available (None when it is not ready or already is).
pub fn time_until_available(
    pod: &Pod,
    min_ready_seconds: i32,
    now: DateTime<Utc>,
) -> Option<std::time::Duration> {
    if min_ready_seconds <= 0 || !is_ready(pod) {
        return None;
    }
    let at = ready_since(pod)? + chrono::Duration::seconds(i64::from(min_ready_seconds));
    (at > now).then(|| (at - now).to_std().unwrap_or_default())
}

fn phase_ordinal(pod: &Pod) -> u8 {
    match pod.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some("Pending") | None => 0,
        Some("Unknown") => 1,
        Some("Running") => 2,
        _ => 3,
    }
}

fn deletion_cost(pod: &Pod) -> i32 {
    pod.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(POD_DELETION_COST))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn max_restarts(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map(|cs| cs.iter().map(|c| c.restart_count).max().unwrap_or(0))
        .unwrap_or(0)
}

fn created(pod: &Pod) -> Option<DateTime<Utc>> {
    pod.metadata
        .creation_timestamp
        .as_ref()
        .map(|t| to_chrono(&t.0))
}

/// "a is newer than b", with a missing time newest of all (upstream's afterOrZero).
fn after_or_zero(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> bool {
    match (a, b) {
        (None, _) => true,
        (_, None) => false,
        (Some(a), Some(b)) => a > b,
    }
}

/// Upstream's ActivePodsWithRanks order: pods earlier in it are deleted first. `rank_*` is
/// the number of related pods on the same node (doubled-up pods go first).
pub fn deletion_order(a: &Pod, rank_a: usize, b: &Pod, rank_b: usize) -> Ordering {
    let node = |p: &Pod| {
        p.spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_default()
    };
    let (na, nb) = (node(a), node(b));
    // 1. unscheduled before scheduled
    if na != nb && (na.is_empty() || nb.is_empty()) {
        return if na.is_empty() {
            Ordering::Less
        } else {
            Ordering::Greater
        };
    }
    // 2. Pending < Unknown < Running
    let (pa, pb) = (phase_ordinal(a), phase_ordinal(b));
    if pa != pb {
        return pa.cmp(&pb);
    }
    // 3. not ready before ready
    let (ra, rb) = (is_ready(a), is_ready(b));
    if ra != rb {
        return if !ra {
            Ordering::Less
        } else {
            Ordering::Greater
        };
    }
    // 4. lower deletion cost first
    let (ca, cb) = (deletion_cost(a), deletion_cost(b));
    if ca != cb {
        return ca.cmp(&cb);
    }
    // 5. doubled up on a node first
    if rank_a != rank_b {
        return rank_b.cmp(&rank_a);
    }
    // 6. ready for a shorter time first
    if ra && rb {
        let (ta, tb) = (ready_since(a), ready_since(b));
        if ta != tb {
            return if after_or_zero(ta, tb) {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
    }
    // 7. more restarts first
    let (xa, xb) = (max_restarts(a), max_restarts(b));
    if xa != xb {
        return xb.cmp(&xa);
    }
    // 8. newer first
    let (ta, tb) = (created(a), created(b));
    if ta != tb {
        return if after_or_zero(ta, tb) {
            Ordering::Less
        } else {
            Ordering::Greater
        };
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use serde_json::json;

    fn pod(name: &str, v: serde_json::Value) -> Pod {
        let mut p: Pod = serde_json::from_value(v).unwrap();
        p.metadata.name = Some(name.into());
        p
    }

    fn running(ready: bool, since: &str) -> serde_json::Value {
        json!({"phase": "Running", "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}, "lastTransitionTime": since}]})
    }

    #[test]
    fn deletion_prefers_early_pods() {
        let t0 = "2024-01-01T00:00:00Z";
        let t1 = "2024-01-01T00:01:00Z";
        let pods = vec![
            pod(
                "ready-old",
                json!({"metadata": {"creationTimestamp": t0}, "spec": {"nodeName": "n", "containers": []}, "status": running(true, t0)}),
            ),
            pod(
                "ready-new",
                json!({"metadata": {"creationTimestamp": t0}, "spec": {"nodeName": "n", "containers": []}, "status": running(true, t1)}),
            ),
            pod(
                "not-ready",
                json!({"metadata": {"creationTimestamp": t0}, "spec": {"nodeName": "n", "containers": []}, "status": running(false, t0)}),
            ),
            pod(
                "pending",
                json!({"metadata": {"creationTimestamp": t0}, "spec": {"nodeName": "n", "containers": []}, "status": {"phase": "Pending"}}),
            ),
            pod(
                "unscheduled",
                json!({"metadata": {"creationTimestamp": t0}, "spec": {"containers": []}, "status": {"phase": "Pending"}}),
            ),
            pod(
                "unknown",
                json!({"metadata": {"creationTimestamp": t0}, "spec": {"nodeName": "n", "containers": []}, "status": {"phase": "Unknown"}}),
            ),
            pod(
                "restarts",
                json!({"metadata": {"creationTimestamp": t0}, "spec": {"nodeName": "n", "containers": []}, "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": t0}], "containerStatuses": [{"name": "c", "image": "i", "imageID": "", "ready": true, "restartCount": 3}]}}),
            ),
        ];
        let mut sorted = pods.clone();
        sorted.sort_by(|a, b| deletion_order(a, 0, b, 0));
        let names: Vec<_> = sorted
            .iter()
            .map(|p| p.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "unscheduled",
                "pending",
                "unknown",
                "not-ready",
                "ready-new",
                "restarts",
                "ready-old"
            ]
        );
    }

    #[test]
    fn availability_waits_min_ready_seconds() {
        let p = pod(
            "p",
            json!({"status": running(true, "2024-01-01T00:00:00Z")}),
        );
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert!(is_available(&p, 0, at("2024-01-01T00:00:00Z")));
        assert!(!is_available(&p, 10, at("2024-01-01T00:00:05Z")));
        assert!(is_available(&p, 10, at("2024-01-01T00:00:10Z")));
        assert_eq!(
            time_until_available(&p, 10, at("2024-01-01T00:00:04Z")),
            Some(std::time::Duration::from_secs(6))
        );
        let done = pod("d", json!({"status": {"phase": "Succeeded"}}));
        assert!(!is_active(&done));
    }
}
