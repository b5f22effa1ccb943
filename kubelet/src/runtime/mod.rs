//! The container runtime interface the node agent drives, shaped after Kubernetes' CRI
//! (RunPodSandbox / CreateContainer+StartContainer / StopContainer / ContainerStatus /
//! ExecSync / List*), cut down to what the agent needs.
//!
//! Division of labour: the agent (pod workers) resolves everything that needs the API —
//! env values (configMapKeyRef, secretKeyRef, fieldRef, envFrom), volumes materialised as host
//! directories, the log path — and hands the runtime a plain [`ContainerSpec`]. The runtime
//! only starts, stops, inspects and lists what it runs. Runtimes keep enough state on their
//! own (on disk for `process`, in memory for `simulated`) that a restarted agent can list
//! sandboxes and containers and re-adopt them instead of starting duplicates.
//!
//! Log files use the CRI logging format, one line per write:
//! `<RFC 3339 nano timestamp> <stdout|stderr> <F|P> <content>\n` (F = full line, P = partial),
//! which is what `/containerLogs` parses for `timestamps` and `sinceSeconds`. A line that does
//! not parse is served as-is, as stdout without a timestamp.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub mod process;
pub mod simulated;

/// What the agent passes to a runtime's constructor: where its state lives and whose node it
/// is, so several agents (and several test clusters) can share one machine without
/// colliding on names.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// The agent's `--root-dir`; runtimes keep their state below `<root_dir>/runtime/`.
    pub root_dir: PathBuf,
    /// The node this runtime serves (for names of bridges, cgroups, namespaces).
    pub node_name: String,
}

/// Everything a runtime needs to create a pod sandbox (the pod's network namespace and
/// shared context).
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub pod_uid: String,
    pub pod_name: String,
    pub pod_namespace: String,
    /// The pod's hostname (spec.hostname or the pod name).
    pub hostname: String,
    /// The node the pod is bound to; one runtime may serve several simulated nodes.
    pub node_name: String,
    /// The node's pod CIDR (spec.podCIDR, or the agent's `--pod-cidr` until one is
    /// assigned); pod IPs come from it. `None` means no pod network is configured: a runtime
    /// that needs one answers [`RuntimeError::Network`].
    pub pod_cidr: Option<ipnet::IpNet>,
    /// spec.hostNetwork: the pod shares the node's network namespace and gets no own IP.
    pub host_network: bool,
    /// Directory the agent created for this pod (`<root>/pods/<uid>`), for runtime files.
    pub pod_dir: PathBuf,
    /// IPs the pod had before (its status.podIPs), e.g. after an agent restart. A runtime
    /// that can should hand them out again so a pod's IP never changes; it may ignore them.
    pub reuse_ips: Vec<IpAddr>,
}

/// A sandbox as the runtime reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxStatus {
    /// Runtime-assigned id, stable across agent restarts.
    pub id: String,
    pub pod_uid: String,
    pub pod_name: String,
    pub pod_namespace: String,
    pub node_name: String,
    /// The pod's IPs (empty for host-network pods: the agent then reports the host IP).
    pub ips: Vec<IpAddr>,
    pub ready: bool,
    pub created_at: DateTime<Utc>,
}

/// A volume mount already resolved to a host path.
#[derive(Debug, Clone, PartialEq)]
pub struct Mount {
    pub host_path: PathBuf,
    pub container_path: String,
    pub read_only: bool,
}

/// resources.limits in the units a runtime applies.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourceLimits {
    pub memory_bytes: Option<u64>,
    pub cpu_millis: Option<u64>,
}

/// A container fully resolved by the agent: no API lookups left to do.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSpec {
    pub pod_uid: String,
    pub pod_name: String,
    pub pod_namespace: String,
    /// The container's name in the pod spec.
    pub name: String,
    /// How many times this container was started before (its restartCount); the pair
    /// (name, attempt) identifies a container instance within a pod.
    pub attempt: u32,
    pub image: String,
    /// spec.containers[].command (entrypoint); empty means "the image's entrypoint".
    pub command: Vec<String>,
    /// spec.containers[].args, with `$(VAR)` references already expanded.
    pub args: Vec<String>,
    /// Final environment, in order, already resolved to plain values.
    pub env: Vec<(String, String)>,
    pub working_dir: Option<String>,
    pub mounts: Vec<Mount>,
    pub limits: ResourceLimits,
    /// Where stdout/stderr go, in the CRI logging format (see the module comment). The
    /// agent creates the parent directory.
    pub log_path: PathBuf,
    /// True for init containers (runtimes may use it for naming only).
    pub init: bool,
}

/// The state of a container as CRI reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerState {
    Created,
    Running,
    Exited,
    Unknown,
}

/// A container as the runtime reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerStatus {
    /// Runtime-assigned id; the agent reports it as `<runtime>://<id>` in containerID.
    pub id: String,
    pub sandbox_id: String,
    pub pod_uid: String,
    pub name: String,
    pub attempt: u32,
    pub state: ContainerState,
    pub image: String,
    pub image_id: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Set once exited.
    pub exit_code: Option<i32>,
    /// For exited containers: `Completed` (exit 0), `Error` (non-zero), `OOMKilled`.
    pub reason: Option<String>,
    pub message: Option<String>,
    /// The host pid of the container's main process while running (None for simulated).
    pub pid: Option<u32>,
    pub log_path: PathBuf,
}

/// Output of a command run inside a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecResult {
    pub exit_code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Why a runtime call failed.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// This runtime cannot run this container as specified (e.g. an image without a command
    /// on the `process` runtime). The agent reports it as Waiting with `reason` and
    /// `message` (never as Running) and retries only with the normal back-off.
    #[error("{reason}: {message}")]
    Unsupported { reason: String, message: String },
    /// The container's command could not be started (not found, not executable): reported
    /// as Waiting `RunContainerError` / terminated `ContainerCannotRun` in upstream terms.
    #[error("starting container: {0}")]
    StartFailed(String),
    /// No such sandbox or container.
    #[error("not found: {0}")]
    NotFound(String),
    /// The pod network could not be set up or torn down.
    #[error("pod network: {0}")]
    Network(String),
    /// exec did not finish within its timeout.
    #[error("command timed out after {0:?}")]
    Timeout(Duration),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

impl RuntimeError {
    /// An `Io` error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        RuntimeError::Io {
            context: context.into(),
            source,
        }
    }
}

/// A container runtime. All methods are idempotent where CRI's are: stopping a stopped
/// container or removing a removed one succeeds.
#[async_trait]
pub trait Runtime: Send + Sync + 'static {
    /// Short name used in containerID (`<name>://<id>`) and nodeInfo.containerRuntimeVersion,
    /// e.g. "process", "simulated".
    fn name(&self) -> &'static str;

    /// Runtime version reported in nodeInfo.containerRuntimeVersion (`<name>://<version>`).
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_string()
    }

    /// True when nothing really runs (no processes, no network): the agent then treats probes
    /// as passing instead of dialing pod IPs that do not exist.
    fn is_simulated(&self) -> bool {
        false
    }

    /// Creates the pod's sandbox (network namespace, pod IPs from `config.pod_cidr`) and
    /// returns it. Called once per pod (again after the sandbox died).
    async fn run_pod_sandbox(&self, config: &SandboxConfig) -> Result<SandboxStatus, RuntimeError>;

    /// Stops every container in the sandbox (SIGKILL: the agent stops containers gracefully
    /// before) and tears down its network; the pod IPs are released.
    async fn stop_pod_sandbox(&self, sandbox_id: &str) -> Result<(), RuntimeError>;

    /// Forgets a stopped sandbox and removes its state.
    async fn remove_pod_sandbox(&self, sandbox_id: &str) -> Result<(), RuntimeError>;

    /// Creates and starts a container in the sandbox; returns its id. A container that can
    /// not run on this runtime fails with [`RuntimeError::Unsupported`]; one whose process
    /// fails to start with [`RuntimeError::StartFailed`].
    async fn start_container(
        &self,
        sandbox_id: &str,
        spec: &ContainerSpec,
    ) -> Result<String, RuntimeError>;

    /// Stops a running container: SIGTERM, then SIGKILL once `grace_period` has passed.
    /// Returns once the container has exited.
    async fn stop_container(
        &self,
        container_id: &str,
        grace_period: Duration,
    ) -> Result<(), RuntimeError>;

    /// The container's current state (running, or exited with code/reason/times).
    async fn container_status(&self, container_id: &str) -> Result<ContainerStatus, RuntimeError>;

    /// Removes an exited container's runtime state (its log file stays: the agent deletes
    /// pod log directories when the pod is removed).
    async fn remove_container(&self, container_id: &str) -> Result<(), RuntimeError>;

    /// Runs `command` inside the running container (exec probes); fails with
    /// [`RuntimeError::Timeout`] after `timeout`.
    async fn exec_sync(
        &self,
        container_id: &str,
        command: &[String],
        timeout: Duration,
    ) -> Result<ExecResult, RuntimeError>;

    /// Every sandbox this runtime knows (also those created before an agent restart).
    async fn list_pod_sandboxes(&self) -> Result<Vec<SandboxStatus>, RuntimeError>;

    /// Every container this runtime knows, running or exited, in all sandboxes.
    async fn list_containers(&self) -> Result<Vec<ContainerStatus>, RuntimeError>;

    /// Removes the node-wide host resources the runtime created (bridge, parent cgroup, and
    /// anything of its sandboxes still left), once the agent has stopped every pod
    /// (`--stop-pods-on-exit`). Nothing to do for runtimes that create none.
    async fn shutdown(&self) -> Result<(), RuntimeError> {
        Ok(())
    }
}
