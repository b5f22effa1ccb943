//! Node lifecycle, as upstream's node-lifecycle and taint-eviction controllers:
//!
//! - Health: a node reports through its Lease in `kube-node-lease` (renewTime) and its Ready
//!   condition's heartbeat. When neither changed for `--node-monitor-grace-period`
//!   (`--node-startup-grace-period` for a node that never reported), its conditions become
//!   Unknown (`NodeStatusUnknown`, "Kubelet stopped posting node status.") and the Ready
//!   condition of its pods False. Times are measured on this controller's clock from when it
//!   saw a change, so skewed node clocks do not matter.
//! - Taints follow conditions: Ready=Unknown → `node.kubernetes.io/unreachable`, Ready=False
//!   → `node.kubernetes.io/not-ready` (NoSchedule and NoExecute), pressure conditions and
//!   spec.unschedulable → their NoSchedule taints; they come off when the condition clears.
//! - Taint eviction: a pod on a node with a NoExecute taint it does not tolerate is deleted
//!   at once; one tolerated with tolerationSeconds is deleted that long after the taint's
//!   timeAdded.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, NodeCondition, Pod, Taint, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::{DeleteParams, PostParams};

use crate::framework::{Action, Informer, Notification, WorkQueue, key_of, run_workers, split_key};
use crate::{Context, Error};

pub const NAME: &str = "node-lifecycle";
pub const TAINT_EVICTION_NAME: &str = "taint-eviction";
pub const NODE_LEASE_NAMESPACE: &str = "kube-node-lease";

pub const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";
pub const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
const TAINT_MEMORY_PRESSURE: &str = "node.kubernetes.io/memory-pressure";
const TAINT_DISK_PRESSURE: &str = "node.kubernetes.io/disk-pressure";
const TAINT_PID_PRESSURE: &str = "node.kubernetes.io/pid-pressure";
const TAINT_NETWORK_UNAVAILABLE: &str = "node.kubernetes.io/network-unavailable";
const TAINT_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";
/// Taints this controller owns: any other taint on a node is left as it is.
const MANAGED_TAINTS: &[&str] = &[
    TAINT_UNREACHABLE,
    TAINT_NOT_READY,
    TAINT_MEMORY_PRESSURE,
    TAINT_DISK_PRESSURE,
    TAINT_PID_PRESSURE,
    TAINT_NETWORK_UNAVAILABLE,
    TAINT_UNSCHEDULABLE,
];
/// The conditions a node agent reports, set to Unknown when it stops.
const REPORTED_CONDITIONS: &[&str] = &["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];

pub fn start(ctx: Context) -> BoxFuture<'static, Result<(), Error>> {
    Box::pin(run(ctx))
}

pub fn start_taint_eviction(ctx: Context) -> BoxFuture<'static, Result<(), Error>> {
    Box::pin(run_taint_eviction(ctx))
}

/// What this controller last saw a node report, and when (its own clock).
struct Health {
    probed: Instant,
    ready_heartbeat: Option<Time>,
    ready_status: Option<String>,
    lease_renew: Option<MicroTime>,
}

fn condition<'a>(node: &'a Node, type_: &str) -> Option<&'a NodeCondition> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
}

/// Runs the node health monitor until `ctx.shutdown`.
pub async fn run(ctx: Context) -> Result<(), Error> {
    let nodes = ctx.informers.get::<Node>();
    let leases = ctx.informers.get::<Lease>();
    let pods = ctx.informers.get::<Pod>();
    let queue = WorkQueue::new(NAME, ctx.metrics.clone(), ctx.shutdown.clone());
    {
        let q = queue.clone();
        nodes.add_handler(move |n| match n {
            Notification::Added(node) | Notification::Updated { new: node, .. } => {
                q.add(key_of(node.as_ref()))
            }
            Notification::Deleted(_) => {}
        });
    }
    {
        let q = queue.clone();
        leases.add_handler(move |n| {
            if let Notification::Added(l) | Notification::Updated { new: l, .. } = n
                && l.metadata.namespace.as_deref() == Some(NODE_LEASE_NAMESPACE)
                && let Some(name) = &l.metadata.name
            {
                q.add(name.clone());
            }
        });
    }
    for synced in [
        nodes.wait_synced(&ctx.shutdown).await,
        leases.wait_synced(&ctx.shutdown).await,
        pods.wait_synced(&ctx.shutdown).await,
    ] {
        if !synced {
            return Ok(());
        }
    }
    // Every monitor period every node is looked at, reported or not.
    {
        let (q, nodes, shutdown) = (queue.clone(), nodes.clone(), ctx.shutdown.clone());
        let period = ctx
            .options
            .node_monitor_period
            .max(Duration::from_millis(10));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tick.tick() => {
                        for node in nodes.list() {
                            q.add(key_of(node.as_ref()));
                        }
                    }
                }
            }
        });
    }
    let health: Arc<Mutex<HashMap<String, Health>>> = Arc::new(Mutex::new(HashMap::new()));
    let client = ctx.client.clone();
    let grace = ctx.options.node_monitor_grace_period;
    let startup_grace = ctx.options.node_startup_grace_period;
    run_workers(
        NAME,
        queue,
        1,
        None,
        ctx.metrics.clone(),
        ctx.shutdown.clone(),
        move |key| {
            let (client, nodes, leases, pods, health) = (
                client.clone(),
                nodes.clone(),
                leases.clone(),
                pods.clone(),
                health.clone(),
            );
            async move {
                let Some(node) = nodes.get(&key) else {
                    lock(&health).remove(&key);
                    return Ok(Action::Done);
                };
                let lease = leases.get_namespaced(NODE_LEASE_NAMESPACE, &key);
                let stale = observe(&health, &node, lease.as_deref(), grace, startup_grace);
                sync_node(&client, &pods, &node, stale).await
            }
        },
    )
    .await;
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Records what the node reports now; true when it has been silent for longer than its
/// grace period.
fn observe(
    health: &Mutex<HashMap<String, Health>>,
    node: &Node,
    lease: Option<&Lease>,
    grace: Duration,
    startup_grace: Duration,
) -> bool {
    let name = node.metadata.name.clone().unwrap_or_default();
    let ready = condition(node, "Ready");
    let heartbeat = ready.and_then(|c| c.last_heartbeat_time.clone());
    let status = ready.map(|c| c.status.clone());
    let renew = lease.and_then(|l| l.spec.as_ref()?.renew_time.clone());
    let now = Instant::now();
    let mut all = lock(health);
    let h = all.entry(name).or_insert_with(|| Health {
        probed: now,
        ready_heartbeat: heartbeat.clone(),
        ready_status: status.clone(),
        lease_renew: renew.clone(),
    });
    // A change of heartbeat, of the reported Ready status or of the Lease is a report. Our
    // own write of Unknown is not: it leaves the heartbeat as it was.
    let reported = h.ready_heartbeat != heartbeat
        || (h.ready_status != status && status.as_deref() != Some("Unknown"))
        || h.lease_renew != renew;
    if reported {
        h.probed = now;
    }
    h.ready_heartbeat = heartbeat;
    h.ready_status = status;
    h.lease_renew = renew;
    let allowed = if ready.is_none() {
        startup_grace
    } else {
        grace
    };
    now.duration_since(h.probed) > allowed
}

fn now_time() -> Time {
    Time(Timestamp::now())
}

/// The node's conditions with every reported one set to Unknown; None when all already are.
fn unknown_conditions(node: &Node) -> Option<Vec<NodeCondition>> {
    let mut conditions = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let mut changed = false;
    let now = now_time();
    for type_ in REPORTED_CONDITIONS {
        match conditions.iter_mut().find(|c| c.type_ == *type_) {
            Some(c) if c.status == "Unknown" => {}
            Some(c) => {
                c.status = "Unknown".into();
                c.reason = Some("NodeStatusUnknown".into());
                c.message = Some("Kubelet stopped posting node status.".into());
                c.last_transition_time = Some(now.clone());
                changed = true;
            }
            None => {
                conditions.push(NodeCondition {
                    type_: (*type_).to_string(),
                    status: "Unknown".into(),
                    reason: Some("NodeStatusNeverUpdated".into()),
                    message: Some("Kubelet never posted node status.".into()),
                    last_heartbeat_time: node.metadata.creation_timestamp.clone(),
                    last_transition_time: Some(now.clone()),
                });
                changed = true;
            }
        }
    }
    changed.then_some(conditions)
}

/// The taints the node's conditions call for, by (key, effect).
fn condition_taints(node: &Node) -> BTreeSet<(&'static str, &'static str)> {
    let mut out = BTreeSet::new();
    let status = |t: &str| condition(node, t).map(|c| c.status.as_str());
    match status("Ready") {
        Some("False") => {
            out.insert((TAINT_NOT_READY, "NoSchedule"));
            out.insert((TAINT_NOT_READY, "NoExecute"));
        }
        Some("Unknown") => {
            out.insert((TAINT_UNREACHABLE, "NoSchedule"));
            out.insert((TAINT_UNREACHABLE, "NoExecute"));
        }
        _ => {}
    }
    for (cond, taint) in [
        ("MemoryPressure", TAINT_MEMORY_PRESSURE),
        ("DiskPressure", TAINT_DISK_PRESSURE),
        ("PIDPressure", TAINT_PID_PRESSURE),
        ("NetworkUnavailable", TAINT_NETWORK_UNAVAILABLE),
    ] {
        if status(cond) == Some("True") {
            out.insert((taint, "NoSchedule"));
        }
    }
    if node.spec.as_ref().and_then(|s| s.unschedulable) == Some(true) {
        out.insert((TAINT_UNSCHEDULABLE, "NoSchedule"));
    }
    out
}

/// The node's taints with the managed ones matching its conditions; None when they do.
fn reconciled_taints(node: &Node) -> Option<Vec<Taint>> {
    let current: Vec<Taint> = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    let want = condition_taints(node);
    let mut out: Vec<Taint> = current
        .iter()
        .filter(|t| {
            !MANAGED_TAINTS.contains(&t.key.as_str())
                || want.contains(&(t.key.as_str(), t.effect.as_str()))
        })
        .cloned()
        .collect();
    let now = now_time();
    for (key, effect) in &want {
        if !out.iter().any(|t| t.key == *key && t.effect == *effect) {
            out.push(Taint {
                key: (*key).to_string(),
                effect: (*effect).to_string(),
                value: None,
                time_added: Some(now.clone()),
            });
        }
    }
    (out != current).then_some(out)
}

fn conflict_or(e: kube::Error) -> Result<Action, kube::Error> {
    match e {
        // A stale cache: the watch brings the newer node, which requeues it.
        kube::Error::Api(s) if s.code == 409 => {
            Ok(Action::RequeueAfter(Duration::from_millis(100)))
        }
        kube::Error::Api(s) if s.code == 404 => Ok(Action::Done),
        e => Err(e),
    }
}

async fn sync_node(
    client: &kube::Client,
    pods: &Informer<Pod>,
    node: &Node,
    stale: bool,
) -> Result<Action, kube::Error> {
    let name = node.metadata.name.clone().unwrap_or_default();
    let api = Api::<Node>::all(client.clone());
    let mut node = node.clone();
    if stale && let Some(conditions) = unknown_conditions(&node) {
        tracing::info!(node = %name, "node stopped reporting; marking its conditions Unknown");
        node.status.get_or_insert_with(Default::default).conditions = Some(conditions);
        node = match api
            .replace_status(&name, &PostParams::default(), &node)
            .await
        {
            Ok(n) => n,
            Err(e) => return conflict_or(e),
        };
    }
    if let Some(taints) = reconciled_taints(&node) {
        tracing::info!(node = %name, taints = ?taints.iter().map(|t| format!("{}:{}", t.key, t.effect)).collect::<Vec<_>>(), "updating node taints");
        node.spec.get_or_insert_with(Default::default).taints =
            (!taints.is_empty()).then_some(taints);
        if let Err(e) = api.replace(&name, &PostParams::default(), &node).await {
            return conflict_or(e);
        }
    }
    if condition(&node, "Ready").is_some_and(|c| c.status != "True") {
        mark_pods_not_ready(client, pods, &name).await?;
    }
    Ok(Action::Done)
}

/// upstream's MarkPodsNotReady: pods on a node that is not Ready are not ready either.
async fn mark_pods_not_ready(
    client: &kube::Client,
    pods: &Informer<Pod>,
    node: &str,
) -> Result<(), kube::Error> {
    for pod in pods.list() {
        if pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) != Some(node) {
            continue;
        }
        let ready_true = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        if !ready_true {
            continue;
        }
        let mut updated = (*pod).clone();
        if let Some(cs) = updated.status.as_mut().and_then(|s| s.conditions.as_mut()) {
            for c in cs.iter_mut().filter(|c| c.type_ == "Ready") {
                c.status = "False".into();
                c.last_transition_time = Some(now_time());
            }
        }
        let key = key_of(&updated);
        let (ns, name) = split_key(&key);
        tracing::info!(node, pod = %key, "marking pod not ready: its node is not ready");
        match Api::<Pod>::namespaced(client.clone(), ns)
            .replace_status(name, &PostParams::default(), &updated)
            .await
        {
            Ok(_) => {}
            // Changed or gone meanwhile: the next sync of the node sees the news.
            Err(kube::Error::Api(s)) if s.code == 409 || s.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Whether `toleration` tolerates `taint` (upstream's ToleratesTaint).
pub fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    if let Some(effect) = toleration.effect.as_deref()
        && !effect.is_empty()
        && effect != taint.effect
    {
        return false;
    }
    let key = toleration.key.as_deref().unwrap_or_default();
    if !key.is_empty() && key != taint.key {
        return false;
    }
    match toleration.operator.as_deref().unwrap_or("Equal") {
        "Exists" => true,
        "Equal" | "" => {
            // An empty key with Equal is invalid; it tolerates nothing.
            !key.is_empty()
                && toleration.value.as_deref().unwrap_or_default()
                    == taint.value.as_deref().unwrap_or_default()
        }
        _ => false,
    }
}

/// When `pod` must go from a node with `taints` (NoExecute ones count): None when it may
/// stay forever, else the time (`first_seen` stands in for taints without timeAdded).
fn eviction_time(pod: &Pod, taints: &[Taint], first_seen: Timestamp) -> Option<Timestamp> {
    let tolerations: &[Toleration] = pod
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.as_deref())
        .unwrap_or_default();
    let mut earliest: Option<Timestamp> = None;
    for taint in taints.iter().filter(|t| t.effect == "NoExecute") {
        let matching: Vec<&Toleration> =
            tolerations.iter().filter(|t| tolerates(t, taint)).collect();
        let added = taint.time_added.as_ref().map_or(first_seen, |t| t.0);
        if matching.is_empty() {
            // Not tolerated: out now.
            return Some(Timestamp::MIN);
        }
        // The shortest tolerationSeconds of the matching tolerations; none set: forever.
        let seconds = matching
            .iter()
            .filter_map(|t| t.toleration_seconds)
            .map(|s| s.max(0))
            .min();
        if let Some(s) = seconds {
            let at = added
                .checked_add(k8s_openapi::jiff::SignedDuration::from_secs(s))
                .unwrap_or(Timestamp::MAX);
            earliest = Some(earliest.map_or(at, |e| e.min(at)));
        }
    }
    earliest
}

fn no_execute_taints(node: &Node) -> Vec<Taint> {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .map(|ts| {
            ts.iter()
                .filter(|t| t.effect == "NoExecute")
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

fn pod_node(pod: &Pod) -> Option<&str> {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .filter(|n| !n.is_empty())
}

/// Runs the NoExecute taint eviction until `ctx.shutdown`.
pub async fn run_taint_eviction(ctx: Context) -> Result<(), Error> {
    let nodes = ctx.informers.get::<Node>();
    let pods = ctx.informers.get::<Pod>();
    let queue = WorkQueue::new(
        TAINT_EVICTION_NAME,
        ctx.metrics.clone(),
        ctx.shutdown.clone(),
    );
    {
        let (q, pods) = (queue.clone(), pods.clone());
        nodes.add_handler(move |n| {
            let (old, new) = match n {
                Notification::Added(node) => (Vec::new(), node),
                Notification::Updated { old, new } => (no_execute_taints(old), new),
                Notification::Deleted(_) => return,
            };
            let taints = no_execute_taints(new);
            if taints.is_empty() || taints == old {
                return;
            }
            let name = new.metadata.name.as_deref().unwrap_or_default();
            for pod in pods.list() {
                if pod_node(&pod) == Some(name) {
                    q.add(key_of(pod.as_ref()));
                }
            }
        });
    }
    {
        let (q, nodes) = (queue.clone(), nodes.clone());
        pods.add_handler(move |n| {
            if let Notification::Added(pod) | Notification::Updated { new: pod, .. } = n
                && pod.metadata.deletion_timestamp.is_none()
                && let Some(node) = pod_node(pod)
                && nodes
                    .get(node)
                    .is_some_and(|n| !no_execute_taints(&n).is_empty())
            {
                q.add(key_of(pod.as_ref()));
            }
        });
    }
    for synced in [
        nodes.wait_synced(&ctx.shutdown).await,
        pods.wait_synced(&ctx.shutdown).await,
    ] {
        if !synced {
            return Ok(());
        }
    }
    let first_seen: Arc<Mutex<HashMap<String, Timestamp>>> = Arc::new(Mutex::new(HashMap::new()));
    let client = ctx.client.clone();
    run_workers(
        TAINT_EVICTION_NAME,
        queue,
        4,
        None,
        ctx.metrics.clone(),
        ctx.shutdown.clone(),
        move |key| {
            let (client, nodes, pods, first_seen) = (
                client.clone(),
                nodes.clone(),
                pods.clone(),
                first_seen.clone(),
            );
            async move { sync_pod(&client, &nodes, &pods, &first_seen, &key).await }
        },
    )
    .await;
    Ok(())
}

async fn sync_pod(
    client: &kube::Client,
    nodes: &Informer<Node>,
    pods: &Informer<Pod>,
    first_seen: &Mutex<HashMap<String, Timestamp>>,
    key: &str,
) -> Result<Action, kube::Error> {
    let taints = pods
        .get(key)
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .and_then(|p| {
            let node = nodes.get(pod_node(&p)?)?;
            Some((p, no_execute_taints(&node)))
        });
    let Some((pod, taints)) = taints.filter(|(_, t)| !t.is_empty()) else {
        lock(first_seen).remove(key);
        return Ok(Action::Done);
    };
    let now = Timestamp::now();
    let seen = *lock(first_seen).entry(key.to_string()).or_insert(now);
    let Some(at) = eviction_time(&pod, &taints, seen) else {
        return Ok(Action::Done);
    };
    if at > now {
        let wait = at.duration_since(now);
        let wait = Duration::try_from(wait).unwrap_or(Duration::from_secs(1));
        return Ok(Action::RequeueAfter(wait));
    }
    let (ns, name) = split_key(key);
    tracing::info!(pod = key, node = ?pod_node(&pod), "deleting pod: its node has a NoExecute taint it does not tolerate (any longer)");
    match Api::<Pod>::namespaced(client.clone(), ns)
        .delete(name, &DeleteParams::default())
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 => {}
        Err(e) => return Err(e),
    }
    lock(first_seen).remove(key);
    Ok(Action::Done)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use k8s_openapi::api::core::v1::{NodeSpec, NodeStatus, PodSpec};

    fn node(ready: Option<&str>, taints: &[(&str, &str)]) -> Node {
        Node {
            metadata: Default::default(),
            spec: Some(NodeSpec {
                taints: Some(
                    taints
                        .iter()
                        .map(|(k, e)| Taint {
                            key: (*k).into(),
                            effect: (*e).into(),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
            status: Some(NodeStatus {
                conditions: ready.map(|s| {
                    vec![NodeCondition {
                        type_: "Ready".into(),
                        status: s.into(),
                        ..Default::default()
                    }]
                }),
                ..Default::default()
            }),
        }
    }

    fn keys(taints: &Option<Vec<Taint>>) -> Vec<String> {
        let mut v: Vec<String> = taints
            .iter()
            .flatten()
            .map(|t| format!("{}:{}", t.key, t.effect))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn taints_follow_the_ready_condition() {
        type Case<'a> = (
            Option<&'a str>,
            &'a [(&'a str, &'a str)],
            Option<&'a [&'a str]>,
        );
        let cases: &[Case] = &[
            (Some("True"), &[], None),
            (
                Some("Unknown"),
                &[("other", "NoSchedule")],
                Some(&[
                    "node.kubernetes.io/unreachable:NoExecute",
                    "node.kubernetes.io/unreachable:NoSchedule",
                    "other:NoSchedule",
                ]),
            ),
            (
                Some("False"),
                &[(TAINT_UNREACHABLE, "NoExecute")],
                Some(&[
                    "node.kubernetes.io/not-ready:NoExecute",
                    "node.kubernetes.io/not-ready:NoSchedule",
                ]),
            ),
            (
                Some("True"),
                &[
                    (TAINT_UNREACHABLE, "NoExecute"),
                    (TAINT_UNREACHABLE, "NoSchedule"),
                ],
                Some(&[]),
            ),
            (
                Some("Unknown"),
                &[
                    (TAINT_UNREACHABLE, "NoExecute"),
                    (TAINT_UNREACHABLE, "NoSchedule"),
                ],
                None,
            ),
        ];
        for (ready, taints, want) in cases {
            let got = reconciled_taints(&node(*ready, taints));
            match want {
                None => assert!(got.is_none(), "{ready:?} {taints:?}: {got:?}"),
                Some(w) => assert_eq!(keys(&got), *w, "{ready:?} {taints:?}"),
            }
        }
    }

    #[test]
    fn silent_nodes_get_unknown_conditions_once() {
        let n = node(Some("True"), &[]);
        let conditions = unknown_conditions(&n).unwrap();
        let ready = conditions.iter().find(|c| c.type_ == "Ready").unwrap();
        assert_eq!(ready.status, "Unknown");
        assert_eq!(ready.reason.as_deref(), Some("NodeStatusUnknown"));
        assert_eq!(
            ready.message.as_deref(),
            Some("Kubelet stopped posting node status.")
        );
        assert_eq!(conditions.len(), REPORTED_CONDITIONS.len());
        let mut after = n.clone();
        after.status.as_mut().unwrap().conditions = Some(conditions);
        assert!(unknown_conditions(&after).is_none());
    }

    #[test]
    fn health_goes_stale_after_grace_and_fresh_on_a_lease_renewal() {
        let health = Mutex::new(HashMap::new());
        let mut n = node(Some("True"), &[]);
        n.metadata.name = Some("n1".into());
        let grace = Duration::from_millis(50);
        let lease = |t: Timestamp| Lease {
            spec: Some(k8s_openapi::api::coordination::v1::LeaseSpec {
                renew_time: Some(MicroTime(t)),
                ..Default::default()
            }),
            ..Default::default()
        };
        let t0 = Timestamp::now();
        assert!(!observe(&health, &n, Some(&lease(t0)), grace, grace));
        std::thread::sleep(Duration::from_millis(80));
        assert!(observe(&health, &n, Some(&lease(t0)), grace, grace));
        let t1 = t0
            .checked_add(k8s_openapi::jiff::SignedDuration::from_secs(1))
            .unwrap();
        assert!(!observe(&health, &n, Some(&lease(t1)), grace, grace));
    }

    fn toleration(key: &str, op: &str, effect: &str, seconds: Option<i64>) -> Toleration {
        Toleration {
            key: (!key.is_empty()).then(|| key.into()),
            operator: Some(op.into()),
            effect: (!effect.is_empty()).then(|| effect.into()),
            toleration_seconds: seconds,
            value: None,
        }
    }

    #[test]
    fn eviction_times() {
        let added = Timestamp::from_second(1_000_000).unwrap();
        let taint = Taint {
            key: TAINT_UNREACHABLE.into(),
            effect: "NoExecute".into(),
            time_added: Some(Time(added)),
            value: None,
        };
        let pod = |tols: Vec<Toleration>| Pod {
            spec: Some(PodSpec {
                tolerations: Some(tols),
                ..Default::default()
            }),
            ..Default::default()
        };
        let at = |secs: i64| Some(Timestamp::from_second(1_000_000 + secs).unwrap());
        let cases = [
            (vec![], Some(Timestamp::MIN)),
            (
                vec![toleration("other", "Exists", "", None)],
                Some(Timestamp::MIN),
            ),
            (
                vec![toleration(
                    TAINT_UNREACHABLE,
                    "Exists",
                    "NoExecute",
                    Some(2),
                )],
                at(2),
            ),
            (
                vec![toleration(TAINT_UNREACHABLE, "Exists", "NoExecute", None)],
                None,
            ),
            (vec![toleration("", "Exists", "", None)], None),
            (
                vec![
                    toleration(TAINT_UNREACHABLE, "Exists", "NoExecute", Some(300)),
                    toleration("", "Exists", "NoExecute", Some(5)),
                ],
                at(5),
            ),
            (
                vec![toleration(
                    TAINT_UNREACHABLE,
                    "Exists",
                    "NoSchedule",
                    Some(2),
                )],
                Some(Timestamp::MIN),
            ),
        ];
        for (tols, want) in cases {
            let desc = format!("{tols:?}");
            assert_eq!(
                eviction_time(&pod(tols), std::slice::from_ref(&taint), Timestamp::now()),
                want,
                "{desc}"
            );
        }
    }
}
