//! Pods: one watch for all of the agent's nodes (spec.nodeName=NAME for a single node; for
//! simulated nodes a watch of all scheduled pods filtered in memory, so N nodes cost one
//! watch), and one pod worker per pod — a small task that sleeps until its pod changes, a
//! probe result arrives, a back-off expires or the periodic resync is due, then runs
//! [`PodState::sync`].

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Container, Node, Pod, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::events::{ObjectRef, Recorder};
use crate::node::{MachineInfo, NodeHandle};
use crate::probe::{ProbeKind, ProbeResults, Prober};
use crate::runtime::{
    ContainerSpec, ContainerState, ContainerStatus, Runtime, RuntimeError, SandboxConfig,
    SandboxStatus,
};
use crate::status::{ContainerView, PodView};
use crate::{Options, env, status, volumes};

/// Shared by every task of the agent.
pub struct Agent {
    pub client: kube::Client,
    pub opts: Options,
    pub runtime: Arc<dyn Runtime>,
    pub nodes: HashMap<String, Arc<NodeHandle>>,
    pub node_ip: IpAddr,
    /// The HTTPS API's real port (reported in daemonEndpoints).
    pub port: u16,
    pub machine: MachineInfo,
    /// Events about pods (disabled for simulated nodes).
    pub events: Recorder,
    workers: Mutex<HashMap<String, Worker>>,
    /// Runtime state found at start-up, per pod uid, handed to the pod's worker.
    adopted: Mutex<HashMap<String, Adopted>>,
}

struct Worker {
    tx: watch::Sender<Option<Arc<Pod>>>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct Adopted {
    sandboxes: Vec<SandboxStatus>,
    containers: Vec<ContainerStatus>,
}

impl Agent {
    pub fn new(
        client: kube::Client,
        opts: Options,
        runtime: Arc<dyn Runtime>,
        nodes: Vec<Arc<NodeHandle>>,
        node_ip: IpAddr,
        port: u16,
    ) -> Self {
        let machine =
            MachineInfo::read(&opts, format!("{}://{}", runtime.name(), runtime.version()));
        let events = if runtime.is_simulated() {
            Recorder::disabled()
        } else {
            Recorder::new(client.clone(), &opts.node_name)
        };
        Agent {
            events,
            client,
            opts,
            runtime,
            nodes: nodes.into_iter().map(|n| (n.name.clone(), n)).collect(),
            node_ip,
            port,
            machine,
            workers: Mutex::new(HashMap::new()),
            adopted: Mutex::new(HashMap::new()),
        }
    }

    /// The Node's uid, for the Lease's owner reference.
    pub async fn node_uid(&self, name: &str) -> Option<String> {
        let api: Api<Node> = Api::all(self.client.clone());
        api.get_opt(name).await.ok().flatten()?.metadata.uid
    }

    /// Drops every worker's channel: workers stop without touching their pods (the agent is
    /// shutting down, not the pods).
    pub fn stop_workers(&self) {
        self.workers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// `--stop-pods-on-exit`: stops every pod this agent runs, each container gracefully
    /// (its pod's terminationGracePeriodSeconds), removes their sandboxes and then the node's
    /// own host resources (bridge, cgroups). Pod objects in the API are left as they are.
    pub async fn stop_all_pods(&self) {
        let drained: Vec<(String, Worker)> = self
            .workers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .collect();
        let mut graces: HashMap<String, Duration> = HashMap::new();
        let mut tasks = Vec::new();
        for (uid, w) in drained {
            let pod = w.tx.borrow().clone();
            let grace = pod
                .as_ref()
                .and_then(|p| p.spec.as_ref())
                .and_then(|s| s.termination_grace_period_seconds)
                .unwrap_or(30)
                .max(0)
                .unsigned_abs();
            graces.insert(uid, Duration::from_secs(grace));
            // Dropping the sender tells the worker to stop; it may be mid-way through a
            // container start, which is let finish so nothing starts after the stop below.
            drop(w.tx);
            tasks.push(w.task);
        }
        for mut task in tasks {
            if tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
        let containers = self.runtime.list_containers().await.unwrap_or_else(|e| {
            tracing::warn!("listing containers: {e}");
            Vec::new()
        });
        let stops = containers
            .iter()
            .filter(|c| c.state == ContainerState::Running)
            .map(|c| {
                let grace = graces
                    .get(&c.pod_uid)
                    .copied()
                    .unwrap_or(Duration::from_secs(2));
                self.runtime.stop_container(&c.id, grace)
            });
        for r in futures::future::join_all(stops).await {
            if let Err(e) = r {
                tracing::warn!("stopping container: {e}");
            }
        }
        let sandboxes = self.runtime.list_pod_sandboxes().await.unwrap_or_default();
        for s in sandboxes {
            if let Err(e) = self.runtime.remove_pod_sandbox(&s.id).await {
                tracing::warn!(sandbox = %s.id, "removing sandbox: {e}");
            }
        }
        if let Err(e) = self.runtime.shutdown().await {
            tracing::warn!("removing the node's host resources: {e}");
        }
        tracing::info!(
            pods = graces.len(),
            "stopped every pod (--stop-pods-on-exit)"
        );
    }

    /// Number of pods with a worker (for tests and metrics).
    pub fn pod_count(&self) -> usize {
        self.workers.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Where a pod's files live: volumes, and (below `logs_dir`) container logs.
    pub fn pod_dir(&self, uid: &str) -> PathBuf {
        self.opts.root_dir.join("pods").join(uid)
    }

    /// Container logs of a pod, upstream's layout: `<root>/logs/<ns>_<name>_<uid>/`.
    pub fn pod_logs_dir(&self, namespace: &str, name: &str, uid: &str) -> PathBuf {
        self.opts
            .root_dir
            .join("logs")
            .join(format!("{namespace}_{name}_{uid}"))
    }

    fn dispatch(self: &Arc<Self>, pod: Pod) {
        let Some(uid) = pod.metadata.uid.clone() else {
            return;
        };
        let node = pod.spec.as_ref().and_then(|s| s.node_name.as_deref());
        let Some(node) = node.and_then(|n| self.nodes.get(n)).cloned() else {
            return;
        };
        let pod = Arc::new(pod);
        let mut workers = self.workers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(w) = workers.get(&uid) {
            w.tx.send_replace(Some(pod));
            return;
        }
        let (tx, rx) = watch::channel(Some(pod));
        let adopted = self
            .adopted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&uid)
            .unwrap_or_default();
        let task = tokio::spawn(pod_worker(self.clone(), node, uid.clone(), rx, adopted));
        workers.insert(uid, Worker { tx, task });
    }

    /// The pod is gone from the API: its worker tears it down and exits.
    fn pod_gone(&self, uid: &str) {
        if let Some(w) = self
            .workers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(uid)
        {
            w.tx.send_replace(None);
        }
    }

    fn worker_uids(&self) -> Vec<String> {
        self.workers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect()
    }
}

/// Lists what the runtime already runs (a restarted agent re-adopts it), then follows the
/// agent's pods and feeds their workers.
pub async fn run_pod_dispatcher(agent: Arc<Agent>, shutdown: CancellationToken) {
    match adopt_runtime_state(&agent).await {
        Ok(n) if n > 0 => tracing::info!(pods = n, "re-adopting pods found in the runtime"),
        Ok(_) => {}
        Err(e) => tracing::warn!("listing runtime state: {e}"),
    }
    let api: Api<Pod> = Api::all(agent.client.clone());
    let config = if agent.nodes.len() == 1 {
        watcher::Config::default().fields(&format!("spec.nodeName={}", agent.opts.node_name))
    } else {
        watcher::Config::default().fields("spec.nodeName!=")
    };
    let mut stream = watcher(api, config).default_backoff().boxed();
    let mut listing: Option<HashSet<String>> = None;
    let mut orphans_collected = false;
    loop {
        let event = tokio::select! {
            _ = shutdown.cancelled() => return,
            e = stream.next() => e,
        };
        let Some(event) = event else { return };
        match event {
            Ok(watcher::Event::Apply(pod)) => agent.dispatch(pod),
            Ok(watcher::Event::InitApply(pod)) => {
                if let (Some(seen), Some(uid)) = (listing.as_mut(), pod.metadata.uid.as_ref()) {
                    seen.insert(uid.clone());
                }
                agent.dispatch(pod);
            }
            Ok(watcher::Event::Delete(pod)) => {
                if let Some(uid) = pod.metadata.uid.as_deref() {
                    agent.pod_gone(uid);
                }
            }
            Ok(watcher::Event::Init) => listing = Some(HashSet::new()),
            Ok(watcher::Event::InitDone) => {
                // A relist: pods that vanished while the watch was down are gone.
                let seen = listing.take().unwrap_or_default();
                for uid in agent.worker_uids() {
                    if !seen.contains(&uid) {
                        agent.pod_gone(&uid);
                    }
                }
                if !orphans_collected {
                    orphans_collected = true;
                    remove_orphans(&agent).await;
                }
            }
            Err(e) => tracing::warn!("pod watch: {e}"),
        }
    }
}

async fn adopt_runtime_state(agent: &Agent) -> Result<usize, RuntimeError> {
    let sandboxes = agent.runtime.list_pod_sandboxes().await?;
    let containers = agent.runtime.list_containers().await?;
    let mut adopted = agent.adopted.lock().unwrap_or_else(|e| e.into_inner());
    for s in sandboxes {
        if agent.nodes.contains_key(&s.node_name) {
            adopted
                .entry(s.pod_uid.clone())
                .or_default()
                .sandboxes
                .push(s);
        }
    }
    for c in containers {
        if let Some(a) = adopted.get_mut(&c.pod_uid) {
            a.containers.push(c);
        }
    }
    Ok(adopted.len())
}

/// Runtime state of pods that no longer exist in the API (deleted while the agent was
/// down): stop and remove it.
async fn remove_orphans(agent: &Agent) {
    let orphans: Vec<(String, Adopted)> = agent
        .adopted
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .drain()
        .collect();
    for (uid, a) in orphans {
        tracing::info!(pod_uid = %uid, "removing runtime state of a pod that no longer exists");
        for c in &a.containers {
            let _ = agent
                .runtime
                .stop_container(&c.id, Duration::from_secs(2))
                .await;
            let _ = agent.runtime.remove_container(&c.id).await;
        }
        for s in &a.sandboxes {
            let _ = agent.runtime.stop_pod_sandbox(&s.id).await;
            let _ = agent.runtime.remove_pod_sandbox(&s.id).await;
        }
        let _ = std::fs::remove_dir_all(agent.pod_dir(&uid));
    }
}

async fn pod_worker(
    agent: Arc<Agent>,
    node: Arc<NodeHandle>,
    uid: String,
    mut rx: watch::Receiver<Option<Arc<Pod>>>,
    adopted: Adopted,
) {
    let kick = Arc::new(Notify::new());
    let mut state = PodState::new(&agent, node, uid, adopted, kick.clone());
    loop {
        let pod = rx.borrow_and_update().clone();
        let Some(pod) = pod else {
            Box::pin(state.teardown(&agent, Duration::from_secs(0))).await;
            state.remove_files(&agent);
            return;
        };
        // Boxed so an idle worker holds only a pointer, not the whole sync future.
        let next = Box::pin(state.sync(&agent, &pod)).await;
        let wait = next.map_or(agent.opts.sync_frequency, |d| {
            d.min(agent.opts.sync_frequency)
        });
        tokio::select! {
            r = rx.changed() => if r.is_err() {
                // The agent is stopping: leave the pod running for the next agent.
                state.stop_probers();
                return;
            },
            _ = kick.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// The agent's record of one container name in a pod.
#[derive(Default)]
pub struct ContainerRecord {
    /// The newest instance.
    pub current: Option<ContainerStatus>,
    /// The instance before it (lastState).
    pub previous: Option<ContainerStatus>,
    pub restart_count: u32,
    /// Why the container is not running, when it is waiting.
    pub waiting: Option<(String, String)>,
    backoff_delay: Option<Duration>,
    backoff_until: Option<Instant>,
    /// Set once the liveness probe asked for a restart of `current`.
    killed_by_liveness: bool,
}

/// Everything a pod worker knows about its pod.
pub struct PodState {
    uid: String,
    node: Arc<NodeHandle>,
    sandbox: Option<SandboxStatus>,
    sandbox_error: Option<String>,
    sandbox_retry: Option<Instant>,
    containers: HashMap<String, ContainerRecord>,
    init_containers: HashMap<String, ContainerRecord>,
    /// Terminal phase decided by the agent (Succeeded/Failed), with reason and message.
    terminal: Option<(String, Option<String>, Option<String>)>,
    start_time: Option<Time>,
    probes: ProbeResults,
    probers: HashMap<String, Prober>,
    kick: Arc<Notify>,
    /// What was last written to pods/status.
    last_written: Option<PodStatus>,
    deleted_requested: bool,
    /// The pod as last seen, for events (also after it is gone from the API).
    pod_ref: Option<ObjectRef>,
}

fn is_running(c: &Option<ContainerStatus>) -> bool {
    c.as_ref()
        .is_some_and(|c| c.state == ContainerState::Running)
}

impl PodState {
    fn new(
        agent: &Agent,
        node: Arc<NodeHandle>,
        uid: String,
        adopted: Adopted,
        kick: Arc<Notify>,
    ) -> Self {
        let mut state = PodState {
            uid,
            node,
            sandbox: None,
            sandbox_error: None,
            sandbox_retry: None,
            containers: HashMap::new(),
            init_containers: HashMap::new(),
            terminal: None,
            start_time: None,
            probes: ProbeResults::default(),
            probers: HashMap::new(),
            kick,
            last_written: None,
            deleted_requested: false,
            pod_ref: None,
        };
        // Newest ready sandbox wins; others are leftovers to clean up on the next sync.
        let mut sandboxes = adopted.sandboxes;
        sandboxes.sort_by_key(|s| s.created_at);
        state.sandbox = sandboxes.into_iter().rev().find(|s| s.ready);
        let mut containers = adopted.containers;
        containers.sort_by_key(|c| (c.name.clone(), c.attempt));
        for c in containers {
            if state.sandbox.as_ref().is_none_or(|s| s.id != c.sandbox_id) {
                continue;
            }
            // Init or regular is decided when the pod spec is known; park all as regular
            // and move init ones in `sync`.
            let rec = state.containers.entry(c.name.clone()).or_default();
            rec.restart_count = rec.restart_count.max(c.attempt);
            rec.previous = rec.current.take();
            rec.current = Some(c);
        }
        let _ = agent;
        state
    }

    fn stop_probers(&mut self) {
        self.probers.clear();
    }

    fn remove_files(&self, agent: &Agent) {
        let _ = std::fs::remove_dir_all(agent.pod_dir(&self.uid));
    }

    /// One pass of the pod worker: bring the runtime in line with the pod spec and report
    /// status. Returns when it wants to run again (a back-off expiring), if sooner than the
    /// periodic resync.
    async fn sync(&mut self, agent: &Arc<Agent>, pod: &Pod) -> Option<Duration> {
        let spec = pod.spec.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        let namespace = pod
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        self.pod_ref = Some(ObjectRef::pod(pod));
        // Containers adopted before the spec was known: move init containers to their map.
        for c in spec.init_containers.iter().flatten() {
            if let Some(rec) = self.containers.remove(&c.name) {
                self.init_containers.insert(c.name.clone(), rec);
            }
        }
        if self.start_time.is_none() {
            self.start_time = pod
                .status
                .as_ref()
                .and_then(|s| s.start_time.clone())
                .or_else(|| Some(status::now()));
        }

        if pod.metadata.deletion_timestamp.is_some() {
            let grace = pod
                .metadata
                .deletion_grace_period_seconds
                .or(spec.termination_grace_period_seconds)
                .unwrap_or(30)
                .max(0);
            self.teardown(agent, Duration::from_secs(grace.unsigned_abs()))
                .await;
            self.write_status(agent, pod, &spec).await;
            return self.delete_pod_object(agent, pod, &name, &namespace).await;
        }
        if let Some(phase) = pod.status.as_ref().and_then(|s| s.phase.as_deref())
            && matches!(phase, "Succeeded" | "Failed")
            && self.terminal.is_none()
        {
            // Terminal pods stay terminal (restarted agent, or a pod another agent finished).
            self.terminal = Some((phase.to_string(), None, None));
        }
        if self.terminal.is_some() {
            self.stop_all(agent, &spec, false).await;
            self.write_status(agent, pod, &spec).await;
            return None;
        }

        self.refresh(agent).await;
        let mut next: Option<Duration> = None;
        if self
            .ensure_sandbox(agent, pod, &spec, &name, &namespace)
            .await
        {
            let init_done = self.run_init_containers(agent, pod, &spec, &mut next).await;
            if init_done && self.terminal.is_none() {
                self.handle_liveness(agent, &spec).await;
                self.run_containers(agent, pod, &spec, &mut next).await;
                self.check_completion(&spec);
            }
        } else if let Some(at) = self.sandbox_retry {
            next = Some(at.saturating_duration_since(Instant::now()));
        }
        if self.terminal.is_some() {
            self.stop_all(agent, &spec, false).await;
        }
        self.write_status(agent, pod, &spec).await;
        next
    }

    /// Reloads every known container's state from the runtime.
    async fn refresh(&mut self, agent: &Agent) {
        for rec in self
            .containers
            .values_mut()
            .chain(self.init_containers.values_mut())
        {
            if let Some(cur) = &rec.current
                && cur.state != ContainerState::Exited
            {
                match agent.runtime.container_status(&cur.id).await {
                    Ok(s) => rec.current = Some(s),
                    Err(RuntimeError::NotFound(_)) => {
                        // Vanished under us (e.g. the runtime lost it): treat as exited.
                        let mut s = cur.clone();
                        s.state = ContainerState::Exited;
                        s.exit_code = s.exit_code.or(Some(137));
                        s.reason = Some("ContainerStatusUnknown".into());
                        s.message = Some("The container could not be located".into());
                        s.finished_at = Some(chrono::Utc::now());
                        rec.current = Some(s);
                    }
                    Err(e) => tracing::debug!("container status: {e}"),
                }
            }
        }
    }

    async fn ensure_sandbox(
        &mut self,
        agent: &Agent,
        pod: &Pod,
        spec: &k8s_openapi::api::core::v1::PodSpec,
        name: &str,
        namespace: &str,
    ) -> bool {
        if self.sandbox.as_ref().is_some_and(|s| s.ready) {
            return true;
        }
        if self.sandbox_retry.is_some_and(|at| Instant::now() < at) {
            return false;
        }
        let reuse_ips = pod
            .status
            .as_ref()
            .and_then(|s| s.pod_ips.as_ref())
            .map(|ips| ips.iter().filter_map(|ip| ip.ip.parse().ok()).collect())
            .unwrap_or_default();
        let config = SandboxConfig {
            pod_uid: self.uid.clone(),
            pod_name: name.to_string(),
            pod_namespace: namespace.to_string(),
            hostname: spec.hostname.clone().unwrap_or_else(|| name.to_string()),
            node_name: self.node.name.clone(),
            pod_cidr: self.node.pod_cidr(),
            host_network: spec.host_network.unwrap_or(false),
            pod_dir: agent.pod_dir(&self.uid),
            reuse_ips,
        };
        if let Err(e) = std::fs::create_dir_all(&config.pod_dir) {
            self.sandbox_error = Some(format!("creating {}: {e}", config.pod_dir.display()));
            self.sandbox_retry = Some(Instant::now() + Duration::from_secs(2));
            return false;
        }
        // A sandbox that died takes its containers with it: start again from scratch.
        if let Some(old) = self.sandbox.take() {
            let _ = agent.runtime.stop_pod_sandbox(&old.id).await;
            let _ = agent.runtime.remove_pod_sandbox(&old.id).await;
        }
        match agent.runtime.run_pod_sandbox(&config).await {
            Ok(s) => {
                self.sandbox = Some(s);
                self.sandbox_error = None;
                self.sandbox_retry = None;
                true
            }
            Err(e) => {
                tracing::warn!(pod = %name, "creating pod sandbox: {e}");
                self.sandbox_error = Some(format!("Failed to create pod sandbox: {e}"));
                if let Some(r) = &self.pod_ref {
                    agent.events.warning(
                        r,
                        "FailedCreatePodSandBox",
                        format!("Failed to create pod sandbox: {e}"),
                    );
                }
                self.sandbox_retry = Some(Instant::now() + Duration::from_secs(2));
                false
            }
        }
    }

    /// Runs init containers in order; true once all have completed.
    async fn run_init_containers(
        &mut self,
        agent: &Arc<Agent>,
        pod: &Pod,
        spec: &k8s_openapi::api::core::v1::PodSpec,
        next: &mut Option<Duration>,
    ) -> bool {
        let policy = spec.restart_policy.as_deref().unwrap_or("Always");
        for c in spec.init_containers.iter().flatten() {
            let rec = self.init_containers.entry(c.name.clone()).or_default();
            match &rec.current {
                Some(cur) if cur.state == ContainerState::Exited && cur.exit_code == Some(0) => {
                    continue;
                }
                Some(cur) if cur.state == ContainerState::Exited => {
                    if policy == "Never" {
                        self.terminal = Some((
                            "Failed".into(),
                            None,
                            Some(format!("init container {:?} failed", c.name)),
                        ));
                        return false;
                    }
                    self.start_with_backoff(agent, pod, spec, c, true, next)
                        .await;
                    return false;
                }
                Some(_) => return false,
                None => {
                    self.start_with_backoff(agent, pod, spec, c, true, next)
                        .await;
                    // Init containers that finish at once (simulated) let the pod go on.
                    let done = self.init_containers.get(&c.name).is_some_and(|r| {
                        r.current.as_ref().is_some_and(|c| {
                            c.state == ContainerState::Exited && c.exit_code == Some(0)
                        })
                    });
                    if !done {
                        return false;
                    }
                }
            }
        }
        true
    }

    async fn handle_liveness(&mut self, agent: &Agent, spec: &k8s_openapi::api::core::v1::PodSpec) {
        let grace = Duration::from_secs(
            spec.termination_grace_period_seconds
                .unwrap_or(30)
                .max(0)
                .unsigned_abs(),
        );
        for (name, rec) in self.containers.iter_mut() {
            let Some(cur) = &rec.current else { continue };
            if cur.state == ContainerState::Running
                && !rec.killed_by_liveness
                && self.probes.liveness_failed(name, &cur.id)
            {
                tracing::info!(container = %name, "liveness probe failed, restarting container");
                if let Some(r) = &self.pod_ref {
                    agent.events.normal(
                        &r.container(name, false),
                        "Killing",
                        format!("Container {name} failed liveness probe, will be restarted"),
                    );
                }
                rec.killed_by_liveness = true;
                let _ = agent.runtime.stop_container(&cur.id, grace).await;
                if let Ok(s) = agent.runtime.container_status(&cur.id).await {
                    rec.current = Some(s);
                }
            }
        }
    }

    async fn run_containers(
        &mut self,
        agent: &Arc<Agent>,
        pod: &Pod,
        spec: &k8s_openapi::api::core::v1::PodSpec,
        next: &mut Option<Duration>,
    ) {
        let policy = spec.restart_policy.as_deref().unwrap_or("Always");
        for c in &spec.containers {
            let rec = self.containers.entry(c.name.clone()).or_default();
            let start = match &rec.current {
                None => true,
                Some(cur) if cur.state == ContainerState::Exited => {
                    let failed = cur.exit_code != Some(0) || rec.killed_by_liveness;
                    // Back-off is forgotten once a container ran long enough.
                    if let (Some(s), Some(f)) = (cur.started_at, cur.finished_at)
                        && (f - s).to_std().unwrap_or_default()
                            >= agent.opts.crash_loop_backoff_reset
                    {
                        rec.backoff_delay = None;
                        rec.backoff_until = None;
                    }
                    match policy {
                        "Never" => false,
                        "OnFailure" => failed,
                        _ => true,
                    }
                }
                Some(_) => false,
            };
            let running = is_running(&rec.current);
            if start {
                self.start_with_backoff(agent, pod, spec, c, false, next)
                    .await;
            } else if running && !self.probers.contains_key(&c.name) {
                // A container re-adopted after an agent restart: probe it again (its
                // readiness starts as failed until the first success, as upstream's).
                self.start_probers(agent, pod, c);
            }
        }
    }

    /// For restartPolicy Never/OnFailure: the pod is done once every container has exited
    /// for good.
    fn check_completion(&mut self, spec: &k8s_openapi::api::core::v1::PodSpec) {
        let policy = spec.restart_policy.as_deref().unwrap_or("Always");
        if policy == "Always" || spec.containers.is_empty() {
            return;
        }
        let mut any_failed = false;
        for c in &spec.containers {
            let Some(rec) = self.containers.get(&c.name) else {
                return;
            };
            let Some(cur) = &rec.current else { return };
            if cur.state != ContainerState::Exited {
                return;
            }
            let failed = cur.exit_code != Some(0);
            if failed && policy == "OnFailure" {
                return;
            }
            any_failed |= failed;
        }
        let phase = if any_failed { "Failed" } else { "Succeeded" };
        self.terminal = Some((phase.into(), None, None));
    }

    /// Starts a (new instance of a) container unless its back-off says wait.
    async fn start_with_backoff(
        &mut self,
        agent: &Arc<Agent>,
        pod: &Pod,
        spec: &k8s_openapi::api::core::v1::PodSpec,
        c: &Container,
        init: bool,
        next: &mut Option<Duration>,
    ) {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        let now = Instant::now();
        let uid = self.uid.clone();
        {
            let rec = self.record(&c.name, init);
            let has_run = rec.current.is_some();
            if let Some(until) = rec.backoff_until
                && now < until
                && (has_run || rec.waiting.is_some())
            {
                let delay = rec.backoff_delay.unwrap_or_default();
                if has_run {
                    if let Some(r) = &self.pod_ref {
                        agent.events.warning(
                            &r.container(&c.name, init),
                            "BackOff",
                            format!(
                                "Back-off restarting failed container {} in pod {name}_{namespace}({uid})",
                                c.name
                            ),
                        );
                    }
                    let rec = self.record(&c.name, init);
                    rec.waiting = Some((
                        "CrashLoopBackOff".into(),
                        format!(
                            "back-off {} restarting failed container={} pod={name}_{namespace}({})",
                            humantime::format_duration(delay),
                            c.name,
                            uid
                        ),
                    ));
                }
                let left = until - now;
                *next = Some(next.map_or(left, |n| n.min(left)));
                return;
            }
        }
        let attempt = {
            let rec = self.record(&c.name, init);
            if rec.current.is_some() {
                rec.restart_count + 1
            } else {
                rec.restart_count
            }
        };
        let result = self
            .start_container(agent, pod, spec, c, init, attempt)
            .await;
        let base = agent.opts.crash_loop_backoff_base;
        let max = agent.opts.crash_loop_backoff_max;
        let restarting = self.record(&c.name, init).current.is_some();
        let event_ref = self.pod_ref.as_ref().map(|r| r.container(&c.name, init));
        let rec = self.record(&c.name, init);
        // Upstream's back-off: every (re)start, successful or not, pushes the next allowed
        // start out by a delay that doubles from the base up to the maximum.
        let delay = rec.backoff_delay.map_or(base, |d| (d * 2).min(max));
        if restarting || result.is_err() {
            rec.backoff_delay = Some(delay);
            rec.backoff_until = Some(now + delay);
        } else {
            rec.backoff_until = Some(now + rec.backoff_delay.unwrap_or(base));
            rec.backoff_delay.get_or_insert(base);
        }
        match result {
            Ok(status) => {
                if let Some(r) = &event_ref {
                    agent
                        .events
                        .normal(r, "Created", format!("Created container: {}", c.name));
                    agent
                        .events
                        .normal(r, "Started", format!("Started container {}", c.name));
                }
                if restarting {
                    rec.restart_count = attempt;
                    rec.previous = rec.current.take();
                }
                rec.current = Some(status);
                rec.waiting = None;
                rec.killed_by_liveness = false;
                if !init {
                    self.start_probers(agent, pod, c);
                }
            }
            Err((reason, message)) => {
                if let Some(r) = &event_ref {
                    match reason.as_str() {
                        // No sandbox yet: nothing failed, the pod is still being set up.
                        "ContainerCreating" if message.is_empty() => {}
                        // Volume set-up (e.g. a missing configMap): upstream's FailedMount.
                        "ContainerCreating" => agent.events.warning(r, "FailedMount", &message),
                        _ => agent
                            .events
                            .warning(r, "Failed", format!("Error: {message}")),
                    }
                }
                rec.waiting = Some((reason, message));
                let left = delay;
                *next = Some(next.map_or(left, |n| n.min(left)));
            }
        }
    }

    fn record(&mut self, name: &str, init: bool) -> &mut ContainerRecord {
        let map = if init {
            &mut self.init_containers
        } else {
            &mut self.containers
        };
        map.entry(name.to_string()).or_default()
    }

    /// Resolves env and volumes and asks the runtime to start the container. Errors come
    /// back as (Waiting reason, message) in upstream's words.
    async fn start_container(
        &mut self,
        agent: &Arc<Agent>,
        pod: &Pod,
        spec: &k8s_openapi::api::core::v1::PodSpec,
        c: &Container,
        init: bool,
        attempt: u32,
    ) -> Result<ContainerStatus, (String, String)> {
        let Some(sandbox) = self.sandbox.clone() else {
            return Err(("ContainerCreating".into(), String::new()));
        };
        let mut view = env::PodFields::from_pod(pod, &agent.node_ip);
        view.pod_ips = sandbox.ips.iter().map(|ip| ip.to_string()).collect();
        if view.pod_ips.is_empty() {
            view.pod_ips = vec![agent.node_ip.to_string()];
        }
        let env = env::resolve(&agent.client, pod, c, &view)
            .await
            .map_err(|e| ("CreateContainerConfigError".to_string(), e.to_string()))?;
        let mounts =
            volumes::mounts_for(&agent.client, agent.pod_dir(&self.uid), pod, spec, c, &view)
                .await
                .map_err(|e| e.waiting())?;
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        let log_path = agent
            .pod_logs_dir(&namespace, &name, &self.uid)
            .join(&c.name)
            .join(format!("{attempt}.log"));
        if let Some(parent) = log_path.parent()
            && let Err(e) = std::fs::create_dir_all(parent)
        {
            return Err((
                "CreateContainerError".into(),
                format!("creating log directory {}: {e}", parent.display()),
            ));
        }
        let (command, args) = env::expand_command(c, &env);
        let container_spec = ContainerSpec {
            pod_uid: self.uid.clone(),
            pod_name: name,
            pod_namespace: namespace,
            name: c.name.clone(),
            attempt,
            image: c.image.clone().unwrap_or_default(),
            command,
            args,
            env,
            working_dir: c.working_dir.clone(),
            mounts,
            limits: status::limits_of(c),
            log_path,
            init,
        };
        let id = agent
            .runtime
            .start_container(&sandbox.id, &container_spec)
            .await
            .map_err(|e| match e {
                RuntimeError::Unsupported { reason, message } => (reason, message),
                RuntimeError::StartFailed(m) => ("RunContainerError".into(), m),
                other => ("CreateContainerError".into(), other.to_string()),
            })?;
        agent
            .runtime
            .container_status(&id)
            .await
            .map_err(|e| ("CreateContainerError".into(), e.to_string()))
    }

    fn start_probers(&mut self, agent: &Arc<Agent>, pod: &Pod, c: &Container) {
        self.probers.remove(&c.name);
        if agent.runtime.is_simulated() {
            return;
        }
        let Some(cur) = self.containers.get(&c.name).and_then(|r| r.current.clone()) else {
            return;
        };
        let pod_ip = self
            .sandbox
            .as_ref()
            .and_then(|s| s.ips.first().copied())
            .unwrap_or(agent.node_ip);
        let prober = Prober::start(
            agent.runtime.clone(),
            c,
            cur.id.clone(),
            pod_ip,
            self.probes.clone(),
            self.kick.clone(),
            (
                agent.events.clone(),
                ObjectRef::pod(pod).container(&c.name, false),
            ),
        );
        self.probers.insert(c.name.clone(), prober);
    }

    /// Stops every running container (regular ones gracefully) and the sandbox.
    async fn stop_all(
        &mut self,
        agent: &Agent,
        spec: &k8s_openapi::api::core::v1::PodSpec,
        remove_sandbox: bool,
    ) {
        let grace = Duration::from_secs(
            spec.termination_grace_period_seconds
                .unwrap_or(30)
                .max(0)
                .unsigned_abs(),
        );
        self.stop_everything(agent, grace, remove_sandbox).await;
    }

    async fn stop_everything(&mut self, agent: &Agent, grace: Duration, remove_sandbox: bool) {
        self.probers.clear();
        let running: Vec<(String, bool, String)> = self
            .containers
            .iter()
            .map(|(n, r)| (n, false, r))
            .chain(self.init_containers.iter().map(|(n, r)| (n, true, r)))
            .filter(|(_, _, r)| is_running(&r.current))
            .filter_map(|(n, init, r)| r.current.as_ref().map(|c| (n.clone(), init, c.id.clone())))
            .collect();
        if let Some(r) = &self.pod_ref {
            for (name, init, _) in &running {
                agent.events.normal(
                    &r.container(name, *init),
                    "Killing",
                    format!("Stopping container {name}"),
                );
            }
        }
        // Containers stop in parallel, each with the full grace period, as upstream.
        let stops = running
            .iter()
            .map(|(_, _, id)| agent.runtime.stop_container(id, grace));
        for r in futures::future::join_all(stops).await {
            if let Err(e) = r {
                tracing::warn!(pod_uid = %self.uid, "stopping container: {e}");
            }
        }
        self.refresh(agent).await;
        if let Some(s) = &self.sandbox {
            if self.containers.values().all(|r| !is_running(&r.current)) && s.ready {
                let _ = agent.runtime.stop_pod_sandbox(&s.id).await;
            }
            if remove_sandbox {
                for r in self
                    .containers
                    .values()
                    .chain(self.init_containers.values())
                {
                    for c in [&r.current, &r.previous].into_iter().flatten() {
                        let _ = agent.runtime.remove_container(&c.id).await;
                    }
                }
                let _ = agent.runtime.remove_pod_sandbox(&s.id).await;
            } else if let Some(s) = self.sandbox.as_mut() {
                s.ready = false;
            }
        }
        if remove_sandbox {
            self.sandbox = None;
        }
    }

    /// Stops the pod for deletion (or because it is gone from the API).
    async fn teardown(&mut self, agent: &Agent, grace: Duration) {
        self.stop_everything(agent, grace, true).await;
        if self.terminal.is_none() {
            self.terminal = Some(("Terminating".into(), None, None));
        }
    }

    async fn delete_pod_object(
        &mut self,
        agent: &Agent,
        pod: &Pod,
        name: &str,
        namespace: &str,
    ) -> Option<Duration> {
        if self.deleted_requested {
            return Some(Duration::from_secs(5));
        }
        let api: Api<Pod> = Api::namespaced(agent.client.clone(), namespace);
        let params = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions {
                uid: pod.metadata.uid.clone(),
                resource_version: None,
            }),
            ..Default::default()
        };
        match api.delete(name, &params).await {
            Ok(_) => {
                self.deleted_requested = true;
                Some(Duration::from_secs(5))
            }
            Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => {
                self.deleted_requested = true;
                Some(Duration::from_secs(5))
            }
            Err(e) => {
                tracing::warn!(pod = %name, "deleting pod: {e}");
                Some(Duration::from_secs(1))
            }
        }
    }

    fn view(&self) -> PodView<'_> {
        fn convert(m: &HashMap<String, ContainerRecord>) -> HashMap<String, ContainerView<'_>> {
            m.iter()
                .map(|(k, r)| {
                    (
                        k.clone(),
                        ContainerView {
                            current: r.current.as_ref(),
                            previous: r.previous.as_ref(),
                            restart_count: r.restart_count,
                            waiting: r.waiting.clone(),
                        },
                    )
                })
                .collect()
        }
        PodView {
            sandbox: self.sandbox.as_ref(),
            sandbox_error: self.sandbox_error.clone(),
            containers: convert(&self.containers),
            init_containers: convert(&self.init_containers),
            terminal: self.terminal.clone(),
            start_time: self.start_time.clone(),
            probes: &self.probes,
            simulated: false,
        }
    }

    async fn write_status(
        &mut self,
        agent: &Agent,
        pod: &Pod,
        spec: &k8s_openapi::api::core::v1::PodSpec,
    ) {
        let mut view = self.view();
        view.simulated = agent.runtime.is_simulated();
        let new = status::pod_status(pod, spec, &view, agent.node_ip);
        let old = pod.status.clone().unwrap_or_default();
        if status::same_status(&old, &new)
            || self
                .last_written
                .as_ref()
                .is_some_and(|w| status::same_status(w, &new))
        {
            return;
        }
        let api: Api<Pod> = Api::namespaced(
            agent.client.clone(),
            pod.metadata.namespace.as_deref().unwrap_or("default"),
        );
        let patch = serde_json::json!({
            "metadata": {"uid": pod.metadata.uid},
            "status": new,
        });
        let name = pod.metadata.name.as_deref().unwrap_or("");
        match api
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => self.last_written = Some(new),
            Err(e) => tracing::warn!(pod = %name, "writing pod status: {e}"),
        }
    }
}

/// Which probes exist for a container (for the status module).
pub fn has_probe(c: &Container, kind: ProbeKind) -> bool {
    match kind {
        ProbeKind::Liveness => c.liveness_probe.is_some(),
        ProbeKind::Readiness => c.readiness_probe.is_some(),
        ProbeKind::Startup => c.startup_probe.is_some(),
    }
}
