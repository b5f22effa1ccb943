//! The `process` runtime: each container is a host process (the host's filesystem is its
//! "image") in its own pid, mount, uts and ipc namespaces, inside its pod's network namespace,
//! limited by its own cgroup, with stdout/stderr in a CRI-format log file.
//!
//! What runs for one container (all host tools, no `unsafe`):
//!
//! ```text
//! nsenter --net=/run/netns/<pod netns> --          (skipped for hostNetwork pods)
//!   unshare --pid --fork --kill-child --mount-proc --uts --ipc --
//!     /bin/sh -c <scripts::INIT> …                  PID 1: joins cgroups, hostname, mounts
//!       <command> <args…>                           PID 2: the container's process
//! ```
//!
//! The `unshare` process is the agent's child and lives exactly as long as the container (its
//! `--kill-child` takes the container down if it is killed). Everything needed to find the
//! container again is in a JSON record per container and per sandbox under
//! `<root-dir>/runtime/process/`, so a restarted agent lists and re-adopts what runs; pids are
//! checked together with their start time, since pids are reused.
//!
//! Everything created on the host is named after a key derived from the root dir and the node
//! name ([`HostNames`]), so several agents and test clusters share one machine.
//!
//! Limitations, on purpose or for now:
//! - The image is not used (there is no image store): a container must have a `command`.
//! - Volume mounts are bind mounts in the container's private mount namespace. A
//!   `mountPath` that does not exist on the host is created there (an empty directory or
//!   file) for the bind mount to sit on, and removed with the container when no other
//!   container uses it; `workingDir` is created when missing, as runc does.
//! - Containers of one pod share the network namespace but each has its own uts and ipc
//!   namespace (same hostname; System V IPC is not shared between them).
//! - oom_score_adj is inherited from the agent and never written: the machine lacks
//!   CAP_SYS_RESOURCE, so it could only be raised, and upstream's QoS-based values need
//!   lowering for Guaranteed pods.

mod cgroup;
mod cni;
mod command;
mod logs;
mod netns;
mod procfs;
mod scripts;

use std::collections::HashMap;
use std::net::IpAddr;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncBufReadExt;
use tokio::sync::watch;

use super::{
    ContainerSpec, ContainerState, ContainerStatus, ExecResult, Runtime, RuntimeConfig,
    RuntimeError, SandboxConfig, SandboxStatus,
};
use cgroup::{ContainerCgroup, NodeCgroups};
use logs::{Fifos, LogCopier};

/// How long a container may take from spawn to "about to exec the command".
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long after SIGKILL a container may take to be reported gone.
const KILL_TIMEOUT: Duration = Duration::from_secs(10);
/// How often re-adopted containers (not the agent's children) are checked for exit.
const ADOPTED_POLL: Duration = Duration::from_millis(200);
/// Exec output kept, as upstream's exec probes (10 KiB).
const MAX_EXEC_OUTPUT: usize = 10 * 1024;
/// PATH for containers whose env has none, when the agent's own is unset.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Names of everything a process node creates on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostNames {
    /// 8 hex digits from the root dir and node name.
    pub key: String,
    /// The node's bridge (`fk<key>`, within IFNAMSIZ).
    pub bridge: String,
    /// Prefix of the pods' network namespaces (`fk-<key>-`).
    pub netns_prefix: String,
    /// The node's parent cgroup (`ferrokube-<key>`).
    pub cgroup_parent: String,
    /// The CNI network name.
    pub network: String,
}

impl HostNames {
    pub fn new(root_dir: &Path, node_name: &str) -> HostNames {
        let root = std::fs::canonicalize(root_dir).unwrap_or_else(|_| root_dir.to_path_buf());
        let key = format!(
            "{:08x}",
            fnv1a(format!("{}\0{node_name}", root.display()).as_bytes()) as u32
        );
        HostNames {
            bridge: format!("fk{key}"),
            netns_prefix: format!("fk-{key}-"),
            cgroup_parent: format!("ferrokube-{key}"),
            network: format!("ferrokube-{key}"),
            key,
        }
    }
}

/// FNV-1a: a stable hash (std's hasher may change between Rust releases, and these names
/// must stay the same across agent restarts and upgrades).
fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Host tools the runtime runs, resolved once to absolute paths (a container's env, which
/// the tools inherit, may have any PATH).
#[derive(Debug, Clone)]
struct Tools {
    nsenter: PathBuf,
    unshare: PathBuf,
    sh: PathBuf,
}

impl Tools {
    fn find() -> Result<Tools, RuntimeError> {
        let path = format!(
            "{}:{DEFAULT_PATH}",
            std::env::var("PATH").unwrap_or_default()
        );
        let find = |name: &str, package: &str| {
            procfs::find_executable(name, &path, None).ok_or_else(|| {
                RuntimeError::Other(format!(
                    "the process runtime needs `{name}` ({package}), which is not installed"
                ))
            })
        };
        find("ip", "iproute2")?;
        find("mount", "util-linux")?;
        Ok(Tools {
            nsenter: find("nsenter", "util-linux")?,
            unshare: find("unshare", "util-linux")?,
            sh: find("sh", "dash or bash")?,
        })
    }
}

fn to_nanos(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or_default()
}

fn from_nanos(n: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(n)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means another task panicked mid-update of plain data; the data
    // is still the best we have.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A sandbox as persisted.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SandboxRecord {
    id: String,
    pod_uid: String,
    pod_name: String,
    pod_namespace: String,
    node_name: String,
    hostname: String,
    /// The pod's network namespace (`ip netns` name); None for hostNetwork pods.
    netns: Option<String>,
    ips: Vec<IpAddr>,
    /// The CNI network the pod was attached to and the ADD result, for DEL.
    network: Option<cni::NetworkList>,
    cni_result: Option<serde_json::Value>,
    /// The pod's /etc/hosts, bind-mounted into its containers.
    hosts_file: Option<PathBuf>,
    created_at_ns: i64,
    stopped: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum RecordState {
    Running,
    Exited,
}

/// A container instance as persisted.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ContainerRecord {
    id: String,
    sandbox_id: String,
    pod_uid: String,
    pod_name: String,
    pod_namespace: String,
    name: String,
    attempt: u32,
    image: String,
    log_path: PathBuf,
    state: RecordState,
    created_at_ns: i64,
    started_at_ns: Option<i64>,
    finished_at_ns: Option<i64>,
    exit_code: Option<i32>,
    reason: Option<String>,
    message: Option<String>,
    /// The `unshare` process (the agent's child) and its start time.
    pid: u32,
    pid_start_ticks: u64,
    /// PID 1 of the container's pid namespace (the init shell), host pid.
    init_pid: Option<u32>,
    init_start_ticks: Option<u64>,
    /// The container's command (PID 2), host pid.
    app_pid: Option<u32>,
    cgroup: ContainerCgroup,
    fifos: Fifos,
    /// Mount points this container created on the host (parents first).
    created_paths: Vec<PathBuf>,
}

impl ContainerRecord {
    fn status(&self) -> ContainerStatus {
        let state = match self.state {
            RecordState::Running => ContainerState::Running,
            RecordState::Exited => ContainerState::Exited,
        };
        let running = self.state == RecordState::Running;
        ContainerStatus {
            id: self.id.clone(),
            sandbox_id: self.sandbox_id.clone(),
            pod_uid: self.pod_uid.clone(),
            name: self.name.clone(),
            attempt: self.attempt,
            state,
            image: self.image.clone(),
            image_id: self.image.clone(),
            created_at: from_nanos(self.created_at_ns),
            started_at: self.started_at_ns.map(from_nanos),
            finished_at: self.finished_at_ns.map(from_nanos),
            exit_code: self.exit_code,
            reason: self.reason.clone(),
            message: self.message.clone(),
            pid: if running {
                self.app_pid.or(self.init_pid)
            } else {
                None
            },
            log_path: self.log_path.clone(),
        }
    }

    /// PID 1 of the container if it is still the process we started.
    fn live_init(&self) -> Option<u32> {
        match (self.init_pid, self.init_start_ticks) {
            (Some(pid), Some(ticks)) if procfs::is_alive(pid, ticks) => Some(pid),
            _ => None,
        }
    }
}

/// A container the runtime tracks: its record and a flag that turns true once its exit is
/// recorded.
struct Container {
    record: Mutex<ContainerRecord>,
    exited: watch::Sender<bool>,
}

struct Inner {
    names: HostNames,
    state_dir: PathBuf,
    plugins: cni::Plugins,
    cgroups: NodeCgroups,
    tools: Tools,
    default_path: String,
    sandboxes: Mutex<HashMap<String, SandboxRecord>>,
    containers: Mutex<HashMap<String, Arc<Container>>>,
}

/// Host processes in their own namespaces; see the module comment.
pub struct ProcessRuntime {
    inner: Arc<Inner>,
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), RuntimeError> {
    let data = serde_json::to_vec_pretty(value)
        .map_err(|e| RuntimeError::Other(format!("encoding {}: {e}", path.display())))?;
    // Write then rename, so a crash never leaves a half-written record.
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, data)
        .map_err(|e| RuntimeError::io(format!("writing {}", tmp.display()), e))?;
    std::fs::rename(&tmp, path)
        .map_err(|e| RuntimeError::io(format!("renaming {}", tmp.display()), e))
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Option<T> {
    let data = std::fs::read(path).ok()?;
    match serde_json::from_slice(&data) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "ignoring unreadable runtime record");
            None
        }
    }
}

fn mkdir_all(dir: &Path) -> Result<(), RuntimeError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| RuntimeError::io(format!("creating {}", dir.display()), e))
}

fn signal(pid: u32, sig: Signal) {
    if let Ok(pid) = i32::try_from(pid) {
        let _ = kill(Pid::from_raw(pid), sig);
    }
}

/// The upstream-style message for a command that cannot be found (runc's wording).
fn not_found_message(command: &str) -> String {
    if command.contains('/') {
        format!(
            "exec: \"{command}\": stat {command}: no such file or directory, or not an executable file"
        )
    } else {
        format!("exec: \"{command}\": executable file not found in $PATH")
    }
}

/// The pod's /etc/hosts, as the kubelet manages it: localhost entries and the pod's own name.
fn hosts_file_content(hostname: &str, ips: &[IpAddr]) -> String {
    let mut s = String::from(
        "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n",
    );
    for ip in ips {
        s.push_str(&format!("{ip}\t{hostname}\n"));
    }
    s
}

/// Creates a missing mount point (and missing parents), returning what it created, parents
/// first. Directory sources get a directory, anything else an empty file.
fn create_mount_point(target: &Path, source_is_dir: bool) -> Result<Vec<PathBuf>, RuntimeError> {
    let mut missing = Vec::new();
    let mut p = target;
    while !p.exists() {
        missing.push(p.to_path_buf());
        match p.parent() {
            Some(parent) => p = parent,
            None => break,
        }
    }
    missing.reverse();
    let mut created = Vec::new();
    for (i, path) in missing.iter().enumerate() {
        let last = i + 1 == missing.len();
        let result = if last && !source_is_dir {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .map(|_| ())
        } else {
            std::fs::create_dir(path)
        };
        match result {
            Ok(()) => created.push(path.clone()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                remove_created(&created);
                return Err(RuntimeError::io(
                    format!("creating mount point {}", path.display()),
                    e,
                ));
            }
        }
    }
    Ok(created)
}

/// Removes created mount points, children first; only empty ones (they were created empty).
fn remove_created(paths: &[PathBuf]) {
    for p in paths.iter().rev() {
        match std::fs::symlink_metadata(p) {
            Ok(m) if m.is_dir() => {
                let _ = std::fs::remove_dir(p);
            }
            Ok(m) if m.len() == 0 => {
                let _ = std::fs::remove_file(p);
            }
            _ => {}
        }
    }
}

impl ProcessRuntime {
    /// The constructor the agent calls for `--runtime process`: checks that this machine can
    /// run containers (tools, CNI plugins, namespaces), then loads and re-adopts what an
    /// earlier agent with the same root dir left running.
    pub async fn new(config: RuntimeConfig) -> Result<ProcessRuntime, RuntimeError> {
        let tools = Tools::find()?;
        let plugins = cni::Plugins::discover()?;
        let names = HostNames::new(&config.root_dir, &config.node_name);
        let state_dir = config.root_dir.join("runtime").join("process");
        for dir in ["sandboxes", "containers", "cni"] {
            mkdir_all(&state_dir.join(dir))?;
        }
        check_namespaces(&tools).await?;
        let cgroups = NodeCgroups::detect(&names.cgroup_parent);
        if let Err(e) = cgroups.ensure_parent() {
            // Containers without limits still run; ones with limits fail with this error.
            tracing::warn!(error = %e, "cannot create the node's cgroup");
        }
        let default_path = std::env::var("PATH")
            .ok()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| DEFAULT_PATH.to_string());
        tracing::info!(
            cni = %plugins.dir().display(),
            cgroups = %cgroups.describe(),
            bridge = %names.bridge,
            "process runtime ready"
        );
        let inner = Arc::new(Inner {
            names,
            state_dir,
            plugins,
            cgroups,
            tools,
            default_path,
            sandboxes: Mutex::new(HashMap::new()),
            containers: Mutex::new(HashMap::new()),
        });
        inner.load().await;
        Ok(ProcessRuntime { inner })
    }

    /// The host names this runtime uses.
    pub fn host_names(&self) -> &HostNames {
        &self.inner.names
    }
}

/// Fails early, with a message that says what is missing, on a machine where the namespaces
/// cannot be created (not root, or a restricted container).
async fn check_namespaces(tools: &Tools) -> Result<(), RuntimeError> {
    let unshare = tools.unshare.to_string_lossy();
    let out = command::run(
        &unshare,
        &[
            "--pid",
            "--fork",
            "--mount-proc",
            "--uts",
            "--ipc",
            "--net",
            "--",
            "true",
        ],
        &[],
        None,
        Duration::from_secs(10),
    )
    .await?;
    if out.success() {
        Ok(())
    } else {
        Err(RuntimeError::Other(format!(
            "the process runtime needs pid, mount, uts, ipc and network namespaces (run the agent as root): {}",
            out.message()
        )))
    }
}

/// Removes what a process node with this root dir and node name left on the host: kills
/// its containers (by cgroup), deletes its pod network namespaces, its bridge and its
/// cgroups. Blocking, so a test's Drop can call it; meant for tests and teardown, not for a
/// running agent.
pub fn cleanup_host(root_dir: &Path, node_name: &str) {
    cleanup_names(&HostNames::new(root_dir, node_name));
}

fn cleanup_names(names: &HostNames) {
    let cgroups = NodeCgroups::detect(&names.cgroup_parent);
    for child in cgroups.children() {
        cgroups.container(&child).kill_all();
    }
    for ns in netns::list(&names.netns_prefix) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "delete", &ns])
            .stderr(Stdio::null())
            .status();
    }
    let _ = std::process::Command::new("ip")
        .args(["link", "delete", &names.bridge])
        .stderr(Stdio::null())
        .status();
    for _ in 0..50 {
        for child in cgroups.children() {
            let cg = cgroups.container(&child);
            cg.kill_all();
            for dir in cg.memory.iter().chain(cg.cpu.iter()) {
                let _ = std::fs::remove_dir(dir);
            }
        }
        if cgroups.children().is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cgroups.remove_parent();
}

impl Inner {
    fn sandbox_dir(&self, id: &str) -> PathBuf {
        self.state_dir.join("sandboxes").join(id)
    }

    fn container_dir(&self, id: &str) -> PathBuf {
        self.state_dir.join("containers").join(id)
    }

    fn save_sandbox(&self, r: &SandboxRecord) -> Result<(), RuntimeError> {
        write_json(&self.sandbox_dir(&r.id).join("sandbox.json"), r)
    }

    fn save_container(&self, r: &ContainerRecord) -> Result<(), RuntimeError> {
        write_json(&self.container_dir(&r.id).join("container.json"), r)
    }

    fn container(&self, id: &str) -> Result<Arc<Container>, RuntimeError> {
        lock(&self.containers)
            .get(id)
            .cloned()
            .ok_or_else(|| RuntimeError::NotFound(format!("container {id}")))
    }

    fn sandbox_status(&self, r: &SandboxRecord) -> SandboxStatus {
        let ready = !r.stopped && r.netns.as_ref().is_none_or(|ns| netns::path(ns).exists());
        SandboxStatus {
            id: r.id.clone(),
            pod_uid: r.pod_uid.clone(),
            pod_name: r.pod_name.clone(),
            pod_namespace: r.pod_namespace.clone(),
            node_name: r.node_name.clone(),
            ips: r.ips.clone(),
            ready,
            created_at: from_nanos(r.created_at_ns),
        }
    }

    /// Loads the records of an earlier agent: running containers are re-adopted (their log
    /// pipes reopened, their exit watched), ones that ended meanwhile get their exit
    /// recorded, and host leftovers without a record (a crash between creating and recording)
    /// are removed.
    async fn load(self: &Arc<Self>) {
        let read_dir = |d: PathBuf| -> Vec<PathBuf> {
            std::fs::read_dir(d)
                .map(|it| it.filter_map(|e| e.ok()).map(|e| e.path()).collect())
                .unwrap_or_default()
        };
        for dir in read_dir(self.state_dir.join("sandboxes")) {
            match read_json::<SandboxRecord>(&dir.join("sandbox.json")) {
                Some(r) => {
                    lock(&self.sandboxes).insert(r.id.clone(), r);
                }
                None => {
                    let _ = std::fs::remove_dir_all(&dir);
                }
            }
        }
        for dir in read_dir(self.state_dir.join("containers")) {
            let Some(r) = read_json::<ContainerRecord>(&dir.join("container.json")) else {
                let _ = std::fs::remove_dir_all(&dir);
                continue;
            };
            let running = r.state == RecordState::Running;
            let alive = running && procfs::is_alive(r.pid, r.pid_start_ticks);
            let (tx, _) = watch::channel(!running);
            let c = Arc::new(Container {
                record: Mutex::new(r.clone()),
                exited: tx,
            });
            lock(&self.containers).insert(r.id.clone(), c.clone());
            if !running {
                continue;
            }
            let copier = if alive {
                LogCopier::start(&r.fifos, &r.log_path)
                    .map_err(|e| tracing::warn!(container = %r.id, error = %e, "cannot reopen container output"))
                    .ok()
            } else {
                None
            };
            tracing::info!(container = %r.id, pod = %r.pod_name, name = %r.name, alive, "re-adopting container");
            tokio::spawn(self.clone().supervise(c, None, copier));
        }
        // Leftovers without records.
        let known_containers: Vec<String> = lock(&self.containers).keys().cloned().collect();
        for child in self.cgroups.children() {
            if !known_containers.contains(&child) {
                let cg = self.cgroups.container(&child);
                cg.kill_all();
                let _ = cg.remove().await;
            }
        }
        let known_netns: Vec<String> = lock(&self.sandboxes)
            .values()
            .filter_map(|s| s.netns.clone())
            .collect();
        for ns in netns::list(&self.names.netns_prefix) {
            if !known_netns.contains(&ns) {
                let _ = netns::delete(&ns).await;
            }
        }
    }

    /// Waits for a container to end (its `unshare` process to exit), then finishes its log
    /// and records its exit.
    async fn supervise(
        self: Arc<Self>,
        c: Arc<Container>,
        child: Option<tokio::process::Child>,
        copier: Option<LogCopier>,
    ) {
        match child {
            Some(mut child) => {
                let _ = child.wait().await;
            }
            None => {
                let (pid, ticks) = {
                    let r = lock(&c.record);
                    (r.pid, r.pid_start_ticks)
                };
                while procfs::is_alive(pid, ticks) {
                    tokio::time::sleep(ADOPTED_POLL).await;
                }
            }
        }
        // Once unshare has reaped PID 1, the whole pid namespace is gone, so nothing can
        // write to the log pipes any more.
        if let Some(copier) = copier {
            copier.finish().await;
        }
        self.record_exit(&c).await;
        c.exited.send_replace(true);
    }

    /// Fills in exit code, reason and finish time of an ended container and frees its
    /// cgroup and pipes.
    async fn record_exit(&self, c: &Container) {
        let record = {
            let mut r = lock(&c.record);
            if r.state == RecordState::Exited {
                return;
            }
            let exit_file = self.container_dir(&r.id).join("exit");
            let written = std::fs::read_to_string(&exit_file)
                .ok()
                .and_then(|s| s.trim().parse::<i32>().ok());
            // No exit status from the init shell: PID 1 itself was SIGKILLed (by the agent
            // after the grace period, by the OOM killer or by someone else).
            let code = written.unwrap_or(128 + 9);
            // The exit file's mtime is when the command ended, also for an exit that
            // happened while no agent was running; file times are coarser than the clock,
            // so never before the recorded start.
            let finished = std::fs::metadata(&exit_file)
                .and_then(|m| m.modified())
                .map(DateTime::<Utc>::from)
                .unwrap_or_else(|_| Utc::now())
                .max(r.started_at_ns.map(from_nanos).unwrap_or_default());
            let reason = if r.cgroup.oom_kills() > 0 {
                "OOMKilled"
            } else if code == 0 {
                "Completed"
            } else {
                "Error"
            };
            r.state = RecordState::Exited;
            r.exit_code = Some(code);
            r.reason = Some(reason.to_string());
            r.finished_at_ns = Some(to_nanos(finished));
            r.app_pid = None;
            r.clone()
        };
        if let Err(e) = self.save_container(&record) {
            tracing::warn!(container = %record.id, error = %e, "cannot record container exit");
        }
        if let Err(e) = record.cgroup.remove().await {
            tracing::warn!(container = %record.id, error = %e, "cannot remove container cgroup");
        }
        let _ = std::fs::remove_file(&record.fifos.stdout);
        let _ = std::fs::remove_file(&record.fifos.stderr);
        tracing::info!(
            container = %record.id, pod = %record.pod_name, name = %record.name,
            exit_code = record.exit_code, reason = record.reason.as_deref(),
            "container exited"
        );
    }

    /// Waits until the container's exit is recorded, up to `timeout`; true if it was.
    async fn wait_exited(c: &Container, timeout: Duration) -> bool {
        let mut rx = c.exited.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|exited| *exited))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// SIGKILLs a container's whole pid namespace (killing PID 1 kills every process in it)
    /// and whatever else is in its cgroup, then waits for the exit to be recorded.
    async fn kill_container(&self, c: &Container) -> Result<(), RuntimeError> {
        let (init, cg, pid, ticks, id) = {
            let r = lock(&c.record);
            (
                r.live_init(),
                r.cgroup.clone(),
                r.pid,
                r.pid_start_ticks,
                r.id.clone(),
            )
        };
        if let Some(init) = init {
            signal(init, Signal::SIGKILL);
        }
        cg.kill_all();
        if !Self::wait_exited(c, KILL_TIMEOUT / 2).await {
            // PID 1 unknown or stuck: killing unshare takes the namespace down
            // (--kill-child).
            if procfs::is_alive(pid, ticks) {
                signal(pid, Signal::SIGKILL);
            }
            if !Self::wait_exited(c, KILL_TIMEOUT / 2).await {
                return Err(RuntimeError::Other(format!(
                    "container {id} did not exit after SIGKILL"
                )));
            }
        }
        Ok(())
    }

    async fn teardown_network(&self, s: &SandboxRecord) -> Result<(), RuntimeError> {
        let Some(ns) = &s.netns else {
            return Ok(());
        };
        let path = netns::path(ns);
        let args = cni_args(s);
        if let Some(net) = &s.network {
            let at = cni::Attachment {
                container_id: &s.id,
                netns: &path,
                ifname: "eth0",
                args: args.clone(),
            };
            self.plugins.del(net, &at, s.cni_result.as_ref()).await?;
        }
        let at = cni::Attachment {
            container_id: &s.id,
            netns: &path,
            ifname: "lo",
            args,
        };
        // The loopback interface disappears with the namespace; a failing DEL is not worth
        // keeping the namespace for.
        if let Err(e) = self
            .plugins
            .del(&cni::NetworkList::loopback(), &at, None)
            .await
        {
            tracing::debug!(sandbox = %s.id, error = %e, "loopback DEL failed");
        }
        netns::delete(ns).await
    }

    /// Refuses a pod CIDR that overlaps addresses on other interfaces of this host (another
    /// node's bridge, the host's LAN): traffic to pod IPs would go the wrong way.
    async fn check_cidr(&self, cidr: &ipnet::IpNet) -> Result<(), RuntimeError> {
        let out = command::run_ok(
            "ip",
            &["-o", "addr", "show", "to", &cidr.to_string()],
            Duration::from_secs(10),
        )
        .await?;
        let text = String::from_utf8_lossy(&out.stdout);
        for line in text.lines() {
            let mut fields = line.split_whitespace();
            let dev = fields.nth(1).unwrap_or_default();
            if dev != self.names.bridge {
                return Err(RuntimeError::Network(format!(
                    "pod CIDR {cidr} overlaps an address on interface {dev} ({}); every node on this machine needs its own pod CIDR",
                    line.split_whitespace().nth(3).unwrap_or_default()
                )));
            }
        }
        Ok(())
    }

    async fn start(
        self: &Arc<Self>,
        sandbox_id: &str,
        spec: &ContainerSpec,
    ) -> Result<String, RuntimeError> {
        let sandbox = lock(&self.sandboxes)
            .get(sandbox_id)
            .cloned()
            .ok_or_else(|| RuntimeError::NotFound(format!("sandbox {sandbox_id}")))?;
        if sandbox.stopped {
            return Err(RuntimeError::Other(format!(
                "sandbox {sandbox_id} of pod {}/{} is stopped",
                sandbox.pod_namespace, sandbox.pod_name
            )));
        }
        let Some(program) = spec.command.first() else {
            return Err(RuntimeError::Unsupported {
                reason: "CreateContainerError".to_string(),
                message: format!(
                    "container {:?} has no command: the process runtime runs host commands and has no image store to take image {:?}'s entrypoint from; set spec.containers[].command",
                    spec.name, spec.image
                ),
            });
        };
        let mut env: Vec<(String, String)> = spec.env.clone();
        for (k, v) in [
            ("PATH", self.default_path.as_str()),
            ("HOSTNAME", sandbox.hostname.as_str()),
            ("HOME", "/root"),
        ] {
            if !env.iter().any(|(key, _)| key == k) {
                env.push((k.to_string(), v.to_string()));
            }
        }
        let path_var = env
            .iter()
            .rev()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let wd = spec.working_dir.as_deref().filter(|w| !w.is_empty());
        if procfs::find_executable(program, &path_var, wd.map(Path::new)).is_none() {
            return Err(RuntimeError::StartFailed(not_found_message(program)));
        }
        for m in &spec.mounts {
            if !m.host_path.exists() {
                return Err(RuntimeError::StartFailed(format!(
                    "volume source {} for {} does not exist",
                    m.host_path.display(),
                    m.container_path
                )));
            }
            if !m.container_path.starts_with('/') {
                return Err(RuntimeError::StartFailed(format!(
                    "mountPath {:?} must be an absolute path",
                    m.container_path
                )));
            }
        }

        let id = uuid::Uuid::new_v4().simple().to_string();
        let dir = self.container_dir(&id);
        mkdir_all(&dir)?;
        let created_paths = Arc::new(Mutex::new(Vec::new()));
        let result = self
            .spawn_container(&id, &dir, &sandbox, spec, &env, wd, created_paths.clone())
            .await;
        if let Err(e) = result {
            remove_created(&lock(&created_paths));
            let cg = self.cgroups.container(&id);
            cg.kill_all();
            let _ = cg.remove().await;
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
        Ok(id)
    }

    #[allow(clippy::too_many_arguments)]
    async fn spawn_container(
        self: &Arc<Self>,
        id: &str,
        dir: &Path,
        sandbox: &SandboxRecord,
        spec: &ContainerSpec,
        env: &[(String, String)],
        wd: Option<&str>,
        created_paths: Arc<Mutex<Vec<PathBuf>>>,
    ) -> Result<(), RuntimeError> {
        let cg = self.cgroups.create(id, &spec.limits)?;

        // Mounts: the pod's /etc/hosts unless the spec mounts its own, then the volumes.
        let mut mounts: Vec<(PathBuf, String, bool)> = Vec::new();
        if let Some(hosts) = &sandbox.hosts_file
            && !spec.mounts.iter().any(|m| m.container_path == "/etc/hosts")
        {
            mounts.push((hosts.clone(), "/etc/hosts".to_string(), false));
        }
        mounts.extend(
            spec.mounts
                .iter()
                .map(|m| (m.host_path.clone(), m.container_path.clone(), m.read_only)),
        );
        for (source, target, _) in &mounts {
            let created = create_mount_point(Path::new(target), source.is_dir())?;
            lock(&created_paths).extend(created);
        }

        let fifos = Fifos::create(dir)?;
        let (out, err) = fifos.container_ends()?;
        let copier = LogCopier::start(&fifos, &spec.log_path)?;

        let (sync_tx, sync_rx) = tokio::net::unix::pipe::pipe()
            .map_err(|e| RuntimeError::io("creating the start pipe", e))?;
        let sync_tx: OwnedFd = sync_tx
            .into_blocking_fd()
            .map_err(|e| RuntimeError::io("creating the start pipe", e))?;

        let exit_file = dir.join("exit");
        let mut args: Vec<String> = Vec::new();
        let unshare = self.tools.unshare.to_string_lossy().into_owned();
        let program = match &sandbox.netns {
            Some(ns) => {
                args.push(format!("--net={}", netns::path(ns).display()));
                args.push("--".into());
                args.push(unshare);
                self.tools.nsenter.to_string_lossy().into_owned()
            }
            None => unshare,
        };
        args.extend(
            [
                "--pid",
                "--fork",
                "--kill-child",
                "--mount-proc",
                "--uts",
                "--ipc",
                "--",
            ]
            .map(String::from),
        );
        args.push(self.tools.sh.to_string_lossy().into_owned());
        args.push("-c".into());
        args.push(scripts::INIT.into());
        args.push("fk-init".into());
        args.push(sandbox.hostname.clone());
        args.push(wd.unwrap_or_default().to_string());
        args.push(exit_file.to_string_lossy().into_owned());
        let procs = cg.procs_files();
        args.push(procs.len().to_string());
        args.extend(procs.iter().map(|p| p.to_string_lossy().into_owned()));
        args.push(mounts.len().to_string());
        for (source, target, ro) in &mounts {
            args.push(source.to_string_lossy().into_owned());
            args.push(target.clone());
            args.push(if *ro { "ro" } else { "rw" }.to_string());
        }
        args.push("--".into());
        args.extend(spec.command.iter().cloned());
        args.extend(spec.args.iter().cloned());

        let mut cmd = tokio::process::Command::new(&program);
        cmd.args(&args)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir("/")
            .stdin(Stdio::from(sync_tx))
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            // Its own process group: signals aimed at the agent's group (Ctrl-C on `ferrokube
            // up`) must not reach containers, which outlive agent restarts.
            .process_group(0);
        let created_at = Utc::now();
        let child = cmd.spawn();
        // The Command holds our copies of the pipe ends; drop them so the start pipe reports
        // EOF when the container side goes away.
        drop(cmd);
        let mut child = match child {
            Ok(c) => c,
            Err(e) => {
                copier.finish().await;
                return Err(RuntimeError::StartFailed(format!("running {program}: {e}")));
            }
        };
        let pid = child.id().unwrap_or_default();
        let pid_start_ticks = procfs::start_ticks(pid).unwrap_or_default();

        let mut line = String::new();
        let mut reader = tokio::io::BufReader::new(sync_rx);
        let started = tokio::time::timeout(START_TIMEOUT, reader.read_line(&mut line)).await;
        let failure = match started {
            Ok(Ok(_)) if line.trim() == "ok" => None,
            Ok(Ok(0)) => Some(format!(
                "the container's setup exited before starting {:?} (see the container's log)",
                spec.command[0]
            )),
            Ok(Ok(_)) => Some(
                line.trim()
                    .strip_prefix("error: ")
                    .unwrap_or(line.trim())
                    .to_string(),
            ),
            Ok(Err(e)) => Some(format!("reading the start pipe: {e}")),
            Err(_) => Some(format!(
                "the container did not start within {START_TIMEOUT:?}"
            )),
        };
        if let Some(message) = failure {
            let _ = child.start_kill();
            cg.kill_all();
            let _ = tokio::time::timeout(KILL_TIMEOUT, child.wait()).await;
            copier.finish().await;
            return Err(RuntimeError::StartFailed(message));
        }
        drop(reader);

        // PID 1 exists (it wrote "ok"); the command is its child a moment later.
        let init_pid = procfs::children(pid).first().copied();
        let init_start_ticks = init_pid.and_then(procfs::start_ticks);
        let mut app_pid = None;
        if let Some(init) = init_pid {
            for _ in 0..20 {
                app_pid = procfs::children(init).first().copied();
                if app_pid.is_some() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        let record = ContainerRecord {
            id: id.to_string(),
            sandbox_id: sandbox.id.clone(),
            pod_uid: spec.pod_uid.clone(),
            pod_name: spec.pod_name.clone(),
            pod_namespace: spec.pod_namespace.clone(),
            name: spec.name.clone(),
            attempt: spec.attempt,
            image: spec.image.clone(),
            log_path: spec.log_path.clone(),
            state: RecordState::Running,
            created_at_ns: to_nanos(created_at),
            started_at_ns: Some(to_nanos(Utc::now())),
            finished_at_ns: None,
            exit_code: None,
            reason: None,
            message: None,
            pid,
            pid_start_ticks,
            init_pid,
            init_start_ticks,
            app_pid,
            cgroup: cg,
            fifos,
            created_paths: lock(&created_paths).clone(),
        };
        if let Err(e) = self.save_container(&record) {
            let _ = child.start_kill();
            record.cgroup.kill_all();
            let _ = tokio::time::timeout(KILL_TIMEOUT, child.wait()).await;
            copier.finish().await;
            return Err(e);
        }
        let (tx, _) = watch::channel(false);
        let c = Arc::new(Container {
            record: Mutex::new(record),
            exited: tx,
        });
        lock(&self.containers).insert(id.to_string(), c.clone());
        tokio::spawn(self.clone().supervise(c, Some(child), Some(copier)));
        Ok(())
    }
}

/// CNI_ARGS as the kubelet passes them (IgnoreUnknown lets plugins skip keys they do not
/// know).
fn cni_args(s: &SandboxRecord) -> String {
    format!(
        "IgnoreUnknown=1;K8S_POD_NAMESPACE={};K8S_POD_NAME={};K8S_POD_INFRA_CONTAINER_ID={};K8S_POD_UID={}",
        s.pod_namespace, s.pod_name, s.id, s.pod_uid
    )
}

#[async_trait]
impl Runtime for ProcessRuntime {
    fn name(&self) -> &'static str {
        "process"
    }

    async fn run_pod_sandbox(&self, config: &SandboxConfig) -> Result<SandboxStatus, RuntimeError> {
        let inner = &self.inner;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let dir = inner.sandbox_dir(&id);
        mkdir_all(&dir)?;
        let mut record = SandboxRecord {
            id: id.clone(),
            pod_uid: config.pod_uid.clone(),
            pod_name: config.pod_name.clone(),
            pod_namespace: config.pod_namespace.clone(),
            node_name: config.node_name.clone(),
            hostname: config.hostname.clone(),
            netns: None,
            ips: Vec::new(),
            network: None,
            cni_result: None,
            hosts_file: None,
            created_at_ns: to_nanos(Utc::now()),
            stopped: false,
        };
        if !config.host_network {
            let Some(cidr) = config.pod_cidr else {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(RuntimeError::Network(
                    "the node has no pod CIDR yet (spec.podCIDR or --pod-cidr), so pods cannot get IPs".to_string(),
                ));
            };
            // Recorded before anything exists on the host, so a failure or crash from here
            // on leaves a record that teardown (or the next agent's load) cleans up.
            let ns = format!("{}{id}", inner.names.netns_prefix);
            record.netns = Some(ns.clone());
            record.network = Some(cni::NetworkList::bridge(
                &inner.names.network,
                &inner.names.bridge,
                &cidr,
                &inner.state_dir.join("cni"),
            ));
            inner.save_sandbox(&record)?;
            lock(&inner.sandboxes).insert(id.clone(), record.clone());
            let attach = async {
                inner.check_cidr(&cidr).await?;
                let path = netns::create(&ns).await?;
                let args = cni_args(&record);
                let lo = cni::Attachment {
                    container_id: &id,
                    netns: &path,
                    ifname: "lo",
                    args: args.clone(),
                };
                inner
                    .plugins
                    .add(&cni::NetworkList::loopback(), &lo)
                    .await?;
                let net = record.network.as_ref().ok_or_else(|| {
                    RuntimeError::Network("sandbox lost its network config".into())
                })?;
                // The pod's earlier IP (after an agent restart), asked for through
                // host-local's IP argument; if it is taken, any free IP will do.
                let reuse = config
                    .reuse_ips
                    .iter()
                    .find(|ip| cidr.contains(*ip))
                    .map(|ip| format!("{args};IP={ip}"));
                if let Some(reuse_args) = reuse {
                    let eth0 = cni::Attachment {
                        container_id: &id,
                        netns: &path,
                        ifname: "eth0",
                        args: reuse_args,
                    };
                    match inner.plugins.add(net, &eth0).await {
                        Ok(result) => return Ok(result),
                        Err(e) => {
                            tracing::info!(sandbox = %id, error = %e, "pod IP not reusable");
                            inner.plugins.del(net, &eth0, None).await?;
                        }
                    }
                }
                let eth0 = cni::Attachment {
                    container_id: &id,
                    netns: &path,
                    ifname: "eth0",
                    args,
                };
                inner.plugins.add(net, &eth0).await
            };
            match attach.await {
                Ok(result) => {
                    record.ips = cni::result_ips(&result);
                    record.cni_result = Some(result);
                }
                Err(e) => {
                    if let Err(te) = inner.teardown_network(&record).await {
                        tracing::warn!(sandbox = %id, error = %te, "cleaning up a failed sandbox");
                    }
                    lock(&inner.sandboxes).remove(&id);
                    let _ = std::fs::remove_dir_all(&dir);
                    return Err(e);
                }
            }
            let hosts = dir.join("hosts");
            std::fs::write(&hosts, hosts_file_content(&config.hostname, &record.ips))
                .map_err(|e| RuntimeError::io("writing the pod's hosts file", e))?;
            record.hosts_file = Some(hosts);
        }
        inner.save_sandbox(&record)?;
        lock(&inner.sandboxes).insert(id.clone(), record.clone());
        Ok(inner.sandbox_status(&record))
    }

    async fn stop_pod_sandbox(&self, sandbox_id: &str) -> Result<(), RuntimeError> {
        let inner = &self.inner;
        let Some(record) = lock(&inner.sandboxes).get(sandbox_id).cloned() else {
            return Ok(());
        };
        let members: Vec<Arc<Container>> = lock(&inner.containers)
            .values()
            .filter(|c| lock(&c.record).sandbox_id == sandbox_id)
            .cloned()
            .collect();
        for c in members {
            if !*c.exited.borrow() {
                inner.kill_container(&c).await?;
            }
        }
        if !record.stopped {
            inner.teardown_network(&record).await?;
            let mut record = record;
            record.stopped = true;
            inner.save_sandbox(&record)?;
            lock(&inner.sandboxes).insert(sandbox_id.to_string(), record);
        }
        Ok(())
    }

    async fn remove_pod_sandbox(&self, sandbox_id: &str) -> Result<(), RuntimeError> {
        if !lock(&self.inner.sandboxes).contains_key(sandbox_id) {
            return Ok(());
        }
        self.stop_pod_sandbox(sandbox_id).await?;
        let members: Vec<String> = lock(&self.inner.containers)
            .iter()
            .filter(|(_, c)| lock(&c.record).sandbox_id == sandbox_id)
            .map(|(id, _)| id.clone())
            .collect();
        for id in members {
            self.remove_container(&id).await?;
        }
        lock(&self.inner.sandboxes).remove(sandbox_id);
        let dir = self.inner.sandbox_dir(sandbox_id);
        std::fs::remove_dir_all(&dir)
            .or_else(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    Ok(())
                } else {
                    Err(e)
                }
            })
            .map_err(|e| RuntimeError::io(format!("removing {}", dir.display()), e))
    }

    async fn start_container(
        &self,
        sandbox_id: &str,
        spec: &ContainerSpec,
    ) -> Result<String, RuntimeError> {
        self.inner.start(sandbox_id, spec).await
    }

    async fn stop_container(
        &self,
        container_id: &str,
        grace_period: Duration,
    ) -> Result<(), RuntimeError> {
        let c = self.inner.container(container_id)?;
        if *c.exited.borrow() {
            return Ok(());
        }
        let init = lock(&c.record).live_init();
        if let Some(init) = init {
            // The init shell forwards SIGTERM to the command.
            signal(init, Signal::SIGTERM);
            if Inner::wait_exited(&c, grace_period).await {
                return Ok(());
            }
        }
        self.inner.kill_container(&c).await
    }

    async fn container_status(&self, container_id: &str) -> Result<ContainerStatus, RuntimeError> {
        let c = self.inner.container(container_id)?;
        let status = lock(&c.record).status();
        Ok(status)
    }

    async fn remove_container(&self, container_id: &str) -> Result<(), RuntimeError> {
        let Ok(c) = self.inner.container(container_id) else {
            return Ok(());
        };
        if !*c.exited.borrow() {
            self.inner.kill_container(&c).await?;
        }
        let record = lock(&c.record).clone();
        lock(&self.inner.containers).remove(container_id);
        // Mount points are shared by containers that mount the same path.
        let in_use: Vec<PathBuf> = lock(&self.inner.containers)
            .values()
            .flat_map(|o| lock(&o.record).created_paths.clone())
            .collect();
        let ours: Vec<PathBuf> = record
            .created_paths
            .iter()
            .filter(|p| !in_use.contains(p))
            .cloned()
            .collect();
        remove_created(&ours);
        let _ = record.cgroup.remove().await;
        let dir = self.inner.container_dir(container_id);
        std::fs::remove_dir_all(&dir)
            .or_else(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    Ok(())
                } else {
                    Err(e)
                }
            })
            .map_err(|e| RuntimeError::io(format!("removing {}", dir.display()), e))
    }

    async fn exec_sync(
        &self,
        container_id: &str,
        command: &[String],
        timeout: Duration,
    ) -> Result<ExecResult, RuntimeError> {
        let c = self.inner.container(container_id)?;
        let (init, app, procs) = {
            let r = lock(&c.record);
            (r.live_init(), r.app_pid, r.cgroup.procs_files())
        };
        let Some(init) = init else {
            return Err(RuntimeError::Other(format!(
                "container {container_id} is not running"
            )));
        };
        if command.is_empty() {
            return Err(RuntimeError::Other("exec: empty command".to_string()));
        }
        // The command sees the container's environment and working directory.
        let source = app.filter(|p| procfs::cwd(*p).is_some()).unwrap_or(init);
        let env = procfs::environ(source);
        let mut args = vec![
            format!("--target={init}"),
            "--pid".to_string(),
            "--net".to_string(),
            "--mount".to_string(),
            "--uts".to_string(),
            "--ipc".to_string(),
        ];
        if let Some(cwd) = procfs::cwd(source) {
            args.push(format!("--wd={}", cwd.display()));
        }
        args.push("--".into());
        args.push(self.inner.tools.sh.to_string_lossy().into_owned());
        args.push("-c".into());
        args.push(scripts::EXEC.into());
        args.push("fk-exec".into());
        args.extend(procs.iter().map(|p| p.to_string_lossy().into_owned()));
        args.push("--".into());
        args.extend(command.iter().cloned());
        let mut cmd = tokio::process::Command::new(&self.inner.tools.nsenter);
        cmd.args(&args)
            .env_clear()
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let child = cmd
            .spawn()
            .map_err(|e| RuntimeError::io("running nsenter", e))?;
        let pgid = child.id();
        match tokio::time::timeout(timeout, child.wait_with_output()).await {
            Ok(Ok(out)) => {
                let truncate = |mut v: Vec<u8>| {
                    v.truncate(MAX_EXEC_OUTPUT);
                    v
                };
                Ok(ExecResult {
                    exit_code: out.status.code().unwrap_or_else(|| {
                        use std::os::unix::process::ExitStatusExt;
                        128 + out.status.signal().unwrap_or(0)
                    }),
                    stdout: truncate(out.stdout),
                    stderr: truncate(out.stderr),
                })
            }
            Ok(Err(e)) => Err(RuntimeError::io("waiting for exec", e)),
            Err(_) => {
                // nsenter's forked child and the command are in its process group.
                if let Some(pgid) = pgid.and_then(|p| i32::try_from(p).ok()) {
                    let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
                }
                Err(RuntimeError::Timeout(timeout))
            }
        }
    }

    async fn list_pod_sandboxes(&self) -> Result<Vec<SandboxStatus>, RuntimeError> {
        let records: Vec<SandboxRecord> = lock(&self.inner.sandboxes).values().cloned().collect();
        Ok(records
            .iter()
            .map(|r| self.inner.sandbox_status(r))
            .collect())
    }

    async fn list_containers(&self) -> Result<Vec<ContainerStatus>, RuntimeError> {
        let containers: Vec<Arc<Container>> =
            lock(&self.inner.containers).values().cloned().collect();
        Ok(containers
            .iter()
            .map(|c| lock(&c.record).status())
            .collect())
    }

    async fn shutdown(&self) -> Result<(), RuntimeError> {
        let names = self.inner.names.clone();
        tokio::task::spawn_blocking(move || cleanup_names(&names))
            .await
            .map_err(|e| RuntimeError::Other(format!("removing host resources: {e}")))
    }
}

#[cfg(test)]
mod tests;
