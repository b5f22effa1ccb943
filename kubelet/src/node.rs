//! The node's own objects: registration of the Node, its Lease in kube-node-lease renewed
//! every quarter of the lease duration, and node status patched when it changes (or every
//! --node-status-report-frequency). One loop each serves every node of the agent, paced over
//! the interval, so thousands of simulated nodes cost a few tasks, not thousands.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{
    DaemonEndpoint, Node, NodeAddress, NodeCondition, NodeDaemonEndpoints, NodeSpec, NodeStatus,
    NodeSystemInfo, Taint,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use tokio_util::sync::CancellationToken;

use crate::pods::Agent;
use crate::{Error, Options, cidr};

/// Label every simulated node carries.
pub const SIMULATED_LABEL: &str = "ferrokube.io/simulated";
/// Label naming the node's container runtime (`process` or `simulated`): the scheduler keeps
/// pods whose containers need an image (no `command`) off `process` nodes, which have no
/// image store and could only report them Waiting.
pub const RUNTIME_LABEL: &str = "ferrokube.io/runtime";
/// How many API requests the heartbeat loops keep in flight.
const CONCURRENCY: usize = 32;

/// One node served by this agent.
#[derive(Debug)]
pub struct NodeHandle {
    pub name: String,
    /// `--pod-cidr` (or this node's share of it) for use until spec.podCIDR is assigned.
    pub fallback_cidr: Option<ipnet::IpNet>,
    /// spec.podCIDR as last seen on the Node.
    pub assigned_cidr: Mutex<Option<ipnet::IpNet>>,
    /// The Lease as last written, so a renewal is one PUT instead of GET + PUT.
    lease: Mutex<Option<Lease>>,
    /// Status as last reported, and when.
    reported: Mutex<Option<(NodeStatus, Instant)>>,
}

impl NodeHandle {
    pub fn pod_cidr(&self) -> Option<ipnet::IpNet> {
        let assigned = *self.assigned_cidr.lock().unwrap_or_else(|e| e.into_inner());
        assigned.or(self.fallback_cidr)
    }
}

/// The nodes this agent serves, from the flags.
pub fn node_specs(opts: &Options) -> Result<Vec<Arc<NodeHandle>>, Error> {
    if opts.node_name.is_empty() {
        return Err(Error::InvalidFlag("--node-name is required".into()));
    }
    let names: Vec<String> = if opts.simulated_nodes > 0 {
        (0..opts.simulated_nodes)
            .map(|i| format!("{}-{i}", opts.node_name))
            .collect()
    } else {
        vec![opts.node_name.clone()]
    };
    let count = names.len();
    names
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let fallback_cidr = match opts.pod_cidr {
                Some(range) => Some(cidr::node_subnet(range, i, count).ok_or_else(|| {
                    Error::InvalidFlag(format!("--pod-cidr {range} is too small for {count} nodes"))
                })?),
                None => None,
            };
            Ok(Arc::new(NodeHandle {
                name,
                fallback_cidr,
                assigned_cidr: Mutex::new(None),
                lease: Mutex::new(None),
                reported: Mutex::new(None),
            }))
        })
        .collect()
}

/// The first non-loopback IPv4 address of the machine, else loopback.
pub fn default_node_ip() -> IpAddr {
    if_addrs::get_if_addrs()
        .ok()
        .and_then(|addrs| {
            addrs
                .into_iter()
                .find(|a| !a.is_loopback() && a.ip().is_ipv4())
                .map(|a| a.ip())
        })
        .unwrap_or(IpAddr::from([127, 0, 0, 1]))
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn machine_memory_bytes() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

fn os_image() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        })
        .unwrap_or_else(|| "Linux".to_string())
}

/// Kubernetes' name for the architecture Rust was built for.
pub fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// Parses `key=value:Effect` / `key:Effect`.
pub fn parse_taint(s: &str) -> Result<Taint, String> {
    let (kv, effect) = s
        .rsplit_once(':')
        .ok_or_else(|| format!("taint {s:?}: want key=value:Effect"))?;
    if !matches!(effect, "NoSchedule" | "PreferNoSchedule" | "NoExecute") {
        return Err(format!(
            "taint {s:?}: effect must be NoSchedule, PreferNoSchedule or NoExecute"
        ));
    }
    let (key, value) = match kv.split_once('=') {
        Some((k, v)) => (k, Some(v.to_string())),
        None => (kv, None),
    };
    if key.is_empty() {
        return Err(format!("taint {s:?}: empty key"));
    }
    Ok(Taint {
        key: key.to_string(),
        value,
        effect: effect.to_string(),
        time_added: None,
    })
}

/// Static facts about the machine, read once.
#[derive(Debug, Clone)]
pub struct MachineInfo {
    pub cpu: u32,
    pub memory: u64,
    pub system_info: NodeSystemInfo,
}

impl MachineInfo {
    pub fn read(opts: &Options, runtime_version: String) -> Self {
        let cpu = opts.cpu.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| u32::try_from(n.get()).unwrap_or(u32::MAX))
                .unwrap_or(1)
        });
        let memory = opts.memory.unwrap_or_else(machine_memory_bytes);
        let machine_id = read_trimmed("/etc/machine-id");
        let system_info = NodeSystemInfo {
            architecture: arch().to_string(),
            boot_id: read_trimmed("/proc/sys/kernel/random/boot_id"),
            container_runtime_version: runtime_version,
            kernel_version: read_trimmed("/proc/sys/kernel/osrelease"),
            kube_proxy_version: String::new(),
            kubelet_version: format!("v1.33.0-ferrokube.{}", env!("CARGO_PKG_VERSION")),
            machine_id: machine_id.clone(),
            operating_system: "linux".to_string(),
            os_image: os_image(),
            system_uuid: machine_id,
            swap: None,
        };
        MachineInfo {
            cpu,
            memory,
            system_info,
        }
    }
}

fn condition(type_: &str, status: &str, reason: &str, message: &str) -> NodeCondition {
    NodeCondition {
        type_: type_.to_string(),
        status: status.to_string(),
        reason: Some(reason.to_string()),
        message: Some(message.to_string()),
        last_heartbeat_time: None,
        last_transition_time: None,
    }
}

/// The node status this agent reports, without timestamps (they are filled from the last
/// report when comparing and patching).
pub fn desired_status(agent: &Agent) -> NodeStatus {
    let m = &agent.machine;
    let mut resources = BTreeMap::new();
    resources.insert("cpu".to_string(), Quantity(m.cpu.to_string()));
    resources.insert(
        "memory".to_string(),
        Quantity(format!("{}Ki", m.memory / 1024)),
    );
    resources.insert(
        "pods".to_string(),
        Quantity(agent.opts.max_pods.to_string()),
    );
    NodeStatus {
        capacity: Some(resources.clone()),
        allocatable: Some(resources),
        addresses: None,
        conditions: Some(vec![
            condition(
                "MemoryPressure",
                "False",
                "KubeletHasSufficientMemory",
                "kubelet has sufficient memory available",
            ),
            condition(
                "DiskPressure",
                "False",
                "KubeletHasNoDiskPressure",
                "kubelet has no disk pressure",
            ),
            condition(
                "PIDPressure",
                "False",
                "KubeletHasSufficientPID",
                "kubelet has sufficient PID available",
            ),
            condition(
                "Ready",
                "True",
                "KubeletReady",
                "kubelet is posting ready status",
            ),
        ]),
        daemon_endpoints: Some(NodeDaemonEndpoints {
            kubelet_endpoint: Some(DaemonEndpoint {
                port: i32::from(agent.port),
            }),
        }),
        node_info: Some(m.system_info.clone()),
        ..Default::default()
    }
}

fn status_for(agent: &Agent, node: &NodeHandle) -> NodeStatus {
    let mut status = desired_status(agent);
    status.addresses = Some(vec![
        NodeAddress {
            type_: "InternalIP".to_string(),
            address: agent.node_ip.to_string(),
        },
        NodeAddress {
            type_: "Hostname".to_string(),
            address: node.name.clone(),
        },
    ]);
    status
}

fn node_object(agent: &Agent, node: &NodeHandle) -> Result<Node, String> {
    let mut labels = BTreeMap::new();
    labels.insert("kubernetes.io/hostname".to_string(), node.name.clone());
    labels.insert("kubernetes.io/os".to_string(), "linux".to_string());
    labels.insert("kubernetes.io/arch".to_string(), arch().to_string());
    labels.insert("beta.kubernetes.io/os".to_string(), "linux".to_string());
    labels.insert("beta.kubernetes.io/arch".to_string(), arch().to_string());
    if agent.runtime.is_simulated() {
        labels.insert(SIMULATED_LABEL.to_string(), "true".to_string());
        labels.insert(RUNTIME_LABEL.to_string(), "simulated".to_string());
    } else {
        labels.insert(RUNTIME_LABEL.to_string(), "process".to_string());
    }
    for kv in &agent.opts.node_labels {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| format!("--node-labels {kv:?}: want key=value"))?;
        labels.insert(k.to_string(), v.to_string());
    }
    let taints = agent
        .opts
        .register_with_taints
        .iter()
        .map(|t| parse_taint(t))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Node {
        metadata: ObjectMeta {
            name: Some(node.name.clone()),
            labels: Some(labels),
            annotations: Some(BTreeMap::from([(
                "node.alpha.kubernetes.io/ttl".to_string(),
                "0".to_string(),
            )])),
            ..Default::default()
        },
        spec: Some(NodeSpec {
            taints: (!taints.is_empty()).then_some(taints),
            ..Default::default()
        }),
        status: None,
    })
}

/// Registers one node: create, or adopt the existing object (refreshing our labels), then
/// patch its status. Upstream re-uses an existing Node the same way.
async fn register(agent: &Agent, node: &NodeHandle) -> Result<(), String> {
    let api: Api<Node> = Api::all(agent.client.clone());
    let obj = node_object(agent, node)?;
    match api.create(&PostParams::default(), &obj).await {
        Ok(created) => note_cidr(node, &created),
        Err(kube::Error::Api(e)) if e.code == 409 => {
            let patch = serde_json::json!({"metadata": {"labels": obj.metadata.labels}});
            let existing = api
                .patch(&node.name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map_err(|e| format!("updating existing node {}: {e}", node.name))?;
            note_cidr(node, &existing);
        }
        Err(e) => return Err(format!("creating node {}: {e}", node.name)),
    }
    patch_status(agent, node, true).await
}

fn note_cidr(node: &NodeHandle, obj: &Node) {
    let cidr = obj
        .spec
        .as_ref()
        .and_then(|s| s.pod_cidr.as_deref())
        .and_then(|c| c.parse().ok());
    if cidr.is_some() {
        *node.assigned_cidr.lock().unwrap_or_else(|e| e.into_inner()) = cidr;
    }
}

/// Registers every node, retrying failures until all are registered or shutdown.
pub async fn register_all(agent: &Arc<Agent>, shutdown: &CancellationToken) {
    let mut pending: Vec<Arc<NodeHandle>> = agent.nodes.values().cloned().collect();
    let mut delay = Duration::from_millis(200);
    while !pending.is_empty() && !shutdown.is_cancelled() {
        let results: Vec<(Arc<NodeHandle>, Result<(), String>)> =
            futures::stream::iter(pending.drain(..))
                .map(|node| async move {
                    let r = register(agent, &node).await;
                    (node, r)
                })
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
        for (node, r) in results {
            if let Err(e) = r {
                tracing::warn!(node = %node.name, "registration failed, will retry: {e}");
                pending.push(node);
            }
        }
        if !pending.is_empty() {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(Duration::from_secs(7));
        }
    }
    tracing::info!(nodes = agent.nodes.len(), "nodes registered");
}

fn now_time() -> Time {
    crate::status::now()
}

fn without_times(status: &NodeStatus) -> NodeStatus {
    let mut s = status.clone();
    for c in s.conditions.iter_mut().flatten() {
        c.last_heartbeat_time = None;
        c.last_transition_time = None;
    }
    s
}

/// Patches the node status when it differs from the last report, when the report frequency
/// has passed, or when `force`.
async fn patch_status(agent: &Agent, node: &NodeHandle, force: bool) -> Result<(), String> {
    let mut status = status_for(agent, node);
    let previous = node
        .reported
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let due = match &previous {
        Some((last, at)) => {
            force
                || without_times(last) != status
                || at.elapsed() >= agent.opts.node_status_report_frequency
        }
        None => true,
    };
    if !due {
        return Ok(());
    }
    let now = now_time();
    for c in status.conditions.iter_mut().flatten() {
        c.last_heartbeat_time = Some(now.clone());
        // The transition time stays as long as the condition's status does.
        c.last_transition_time = previous
            .as_ref()
            .and_then(|(last, _)| {
                last.conditions
                    .iter()
                    .flatten()
                    .find(|p| p.type_ == c.type_ && p.status == c.status)
                    .and_then(|p| p.last_transition_time.clone())
            })
            .or_else(|| Some(now.clone()));
    }
    let api: Api<Node> = Api::all(agent.client.clone());
    let patch = serde_json::json!({ "status": status });
    api.patch_status(&node.name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| format!("patching status of node {}: {e}", node.name))?;
    *node.reported.lock().unwrap_or_else(|e| e.into_inner()) = Some((status, Instant::now()));
    Ok(())
}

/// Checks every node's status each --node-status-update-frequency and patches those due.
pub async fn update_node_status(agent: Arc<Agent>, shutdown: CancellationToken) {
    let interval = agent.opts.node_status_update_frequency;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
        let failures = paced(&agent, interval, |agent, node| async move {
            patch_status(&agent, &node, false).await
        })
        .await;
        if failures > 0 {
            tracing::warn!(failures, "node status updates failed");
        }
    }
}

/// Runs `f` for every node, spread over 80% of `interval` so the API server sees a steady
/// trickle rather than a burst; returns the number of failures.
async fn paced<F, Fut>(agent: &Arc<Agent>, interval: Duration, f: F) -> usize
where
    F: Fn(Arc<Agent>, Arc<NodeHandle>) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let start = tokio::time::Instant::now();
    let count = agent.nodes.len().max(1);
    let spread = interval.mul_f64(0.8);
    let f = &f;
    futures::stream::iter(agent.nodes.values().cloned().enumerate())
        .map(|(i, node)| {
            let agent = agent.clone();
            let due = start + spread.mul_f64(i as f64 / count as f64);
            async move {
                tokio::time::sleep_until(due).await;
                let name = node.name.clone();
                let r = f(agent, node).await;
                if let Err(e) = &r {
                    tracing::debug!(node = %name, "{e}");
                }
                r.is_err()
            }
        })
        .buffer_unordered(CONCURRENCY)
        .filter(|failed| futures::future::ready(*failed))
        .count()
        .await
}

/// Renews one node's Lease (creating it when missing).
async fn renew_lease(agent: &Agent, node: &NodeHandle) -> Result<(), String> {
    let api: Api<Lease> = Api::namespaced(agent.client.clone(), "kube-node-lease");
    let now = MicroTime(k8s_openapi::jiff::Timestamp::now());
    let cached = node.lease.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let written = match cached {
        Some(mut lease) => {
            let spec = lease.spec.get_or_insert_with(Default::default);
            spec.renew_time = Some(now.clone());
            spec.holder_identity = Some(node.name.clone());
            spec.lease_duration_seconds =
                Some(i32::try_from(agent.opts.node_lease_duration_seconds).unwrap_or(40));
            match api
                .replace(&node.name, &PostParams::default(), &lease)
                .await
            {
                Ok(l) => Ok(l),
                // Someone else wrote it (or it was deleted): start again from the server's copy.
                Err(e) => {
                    *node.lease.lock().unwrap_or_else(|e| e.into_inner()) = None;
                    Err(format!("renewing lease {}: {e}", node.name))
                }
            }
        }
        None => get_or_create_lease(agent, node, &api, now).await,
    }?;
    *node.lease.lock().unwrap_or_else(|e| e.into_inner()) = Some(written);
    Ok(())
}

async fn get_or_create_lease(
    agent: &Agent,
    node: &NodeHandle,
    api: &Api<Lease>,
    now: MicroTime,
) -> Result<Lease, String> {
    let duration = i32::try_from(agent.opts.node_lease_duration_seconds).unwrap_or(40);
    match api
        .get_opt(&node.name)
        .await
        .map_err(|e| format!("reading lease {}: {e}", node.name))?
    {
        Some(mut lease) => {
            let spec = lease.spec.get_or_insert_with(Default::default);
            spec.renew_time = Some(now);
            spec.holder_identity = Some(node.name.clone());
            spec.lease_duration_seconds = Some(duration);
            api.replace(&node.name, &PostParams::default(), &lease)
                .await
                .map_err(|e| format!("renewing lease {}: {e}", node.name))
        }
        None => {
            let node_uid = agent.node_uid(&node.name).await;
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(node.name.clone()),
                    namespace: Some("kube-node-lease".to_string()),
                    // As upstream: the Lease is owned by its Node, so deleting the Node
                    // garbage-collects it.
                    owner_references: node_uid.map(|uid| {
                        vec![
                            k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
                                api_version: "v1".into(),
                                kind: "Node".into(),
                                name: node.name.clone(),
                                uid,
                                ..Default::default()
                            },
                        ]
                    }),
                    ..Default::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(node.name.clone()),
                    lease_duration_seconds: Some(duration),
                    renew_time: Some(now),
                    ..Default::default()
                }),
            };
            api.create(&PostParams::default(), &lease)
                .await
                .map_err(|e| format!("creating lease {}: {e}", node.name))
        }
    }
}

/// Renews every node's Lease every quarter of the lease duration, as upstream.
pub async fn heartbeat_leases(agent: Arc<Agent>, shutdown: CancellationToken) {
    let interval =
        Duration::from_secs(u64::from(agent.opts.node_lease_duration_seconds.max(1))) / 4;
    loop {
        let started = tokio::time::Instant::now();
        let failures = paced(&agent, interval, |agent, node| async move {
            renew_lease(&agent, &node).await
        })
        .await;
        if failures > 0 {
            tracing::warn!(failures, "lease renewals failed");
        }
        // A little jitter keeps several agents from renewing in lock-step.
        let jitter = interval.mul_f64(rand::random::<f64>() * 0.04);
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep_until(started + interval - jitter) => {}
        }
    }
}

/// The Ready status of a node's conditions, as stored or as reported.
fn ready_status(status: Option<&NodeStatus>) -> Option<&str> {
    status?
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Ready")
        .map(|c| c.status.as_str())
}

/// When someone else rewrote the node's Ready condition (the node lifecycle controller sets
/// Unknown after missed heartbeats, e.g. while this agent was stopped or cut off), the last
/// report no longer describes what is stored: forgetting it makes the next status update
/// re-post the agent's view, as upstream's kubelet does by comparing with the Node it reads.
fn forget_report_if_overwritten(handle: &NodeHandle, stored: &Node) {
    let mut reported = handle.reported.lock().unwrap_or_else(|e| e.into_inner());
    let differs = reported
        .as_ref()
        .is_some_and(|(last, _)| ready_status(Some(last)) != ready_status(stored.status.as_ref()));
    if differs {
        tracing::info!(node = %handle.name, "stored Ready condition differs from the last report; re-posting");
        *reported = None;
    }
}

/// Follows the agent's Node objects for spec.podCIDR assignments (from the
/// controller-manager's node IPAM) and for Ready conditions others overwrote.
pub async fn watch_nodes(agent: Arc<Agent>, shutdown: CancellationToken) {
    let api: Api<Node> = Api::all(agent.client.clone());
    let config = if agent.nodes.len() == 1 {
        watcher::Config::default().fields(&format!("metadata.name={}", agent.opts.node_name))
    } else {
        watcher::Config::default().labels(&format!("{SIMULATED_LABEL}=true"))
    };
    let stream = watcher(api, config)
        .default_backoff()
        .applied_objects()
        .try_for_each(|node| {
            if let Some(handle) = node
                .metadata
                .name
                .as_deref()
                .and_then(|n| agent.nodes.get(n))
            {
                note_cidr(handle, &node);
                forget_report_if_overwritten(handle, &node);
            }
            futures::future::ready(Ok(()))
        });
    tokio::select! {
        _ = shutdown.cancelled() => {}
        r = stream => if let Err(e) = r { tracing::warn!("node watch ended: {e}") },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn taints_parse_as_upstream() {
        let t = parse_taint("dedicated=gpu:NoSchedule").unwrap();
        assert_eq!(
            (t.key.as_str(), t.value.as_deref(), t.effect.as_str()),
            ("dedicated", Some("gpu"), "NoSchedule")
        );
        let t = parse_taint("maintenance:NoExecute").unwrap();
        assert_eq!((t.key.as_str(), t.value), ("maintenance", None));
        assert!(parse_taint("x=y:Sometimes").is_err());
        assert!(parse_taint("nocolon").is_err());
    }

    #[test]
    fn simulated_nodes_get_numbered_names_and_subnets() {
        let mut opts = Options::new("sim");
        opts.simulated_nodes = 3;
        opts.pod_cidr = Some("10.244.0.0/16".parse().unwrap());
        let nodes = node_specs(&opts).unwrap();
        let got: Vec<(String, String)> = nodes
            .iter()
            .map(|n| (n.name.clone(), n.pod_cidr().unwrap().to_string()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("sim-0".to_string(), "10.244.0.0/24".to_string()),
                ("sim-1".to_string(), "10.244.1.0/24".to_string()),
                ("sim-2".to_string(), "10.244.2.0/24".to_string()),
            ]
        );
    }
}
