//! The `simulated` runtime: no processes, no network. Sandboxes get IPs from their node's pod
//! CIDR (so pod IPs look like a real cluster's), containers are "Running" as soon as they
//! are started and stay so until stopped; init containers complete at once (exit 0) so pods
//! with init containers progress as declared, like kwok. Each container's log file gets one
//! honest line saying that no process runs. One instance serves every simulated node of the
//! agent, so its state is a few maps behind one lock.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use ipnet::IpNet;

use super::{
    ContainerSpec, ContainerState, ContainerStatus, ExecResult, Runtime, RuntimeError,
    SandboxConfig, SandboxStatus,
};

/// The line written to each simulated container's log.
pub const LOG_LINE: &str = "simulated container: no process runs";

#[derive(Default)]
struct State {
    sandboxes: HashMap<String, SandboxStatus>,
    containers: HashMap<String, ContainerStatus>,
    /// Host offsets in use per pod CIDR.
    allocated: HashMap<IpNet, BTreeSet<u64>>,
    /// Where the next allocation search starts per CIDR, so freed addresses are not reused at
    /// once (as host-local IPAM does).
    cursor: HashMap<IpNet, u64>,
}

/// See the module comment.
#[derive(Default)]
pub struct SimulatedRuntime {
    state: Mutex<State>,
}

impl SimulatedRuntime {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned lock only means another task panicked mid-update; the maps are still
        // usable, and the agent must not die for it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Number of assignable host addresses in `net` (network and broadcast excluded, the first
/// host kept for the gateway as the bridge plugin does), capped to keep IPv6 arithmetic small.
fn host_count(net: &IpNet) -> u64 {
    let bits = u32::from(net.max_prefix_len() - net.prefix_len()).min(32);
    (1u64 << bits).saturating_sub(3)
}

fn nth_host(net: &IpNet, offset: u64) -> Option<IpAddr> {
    // offset 0 is the first address after the gateway (.2 in a /24).
    match net.network() {
        IpAddr::V4(base) => {
            let n = u32::from(base).checked_add(u32::try_from(offset + 2).ok()?)?;
            Some(IpAddr::V4(n.into()))
        }
        IpAddr::V6(base) => {
            let n = u128::from(base).checked_add(u128::from(offset + 2))?;
            Some(IpAddr::V6(n.into()))
        }
    }
}

fn allocate(state: &mut State, net: IpNet) -> Result<IpAddr, RuntimeError> {
    let count = host_count(&net);
    if count == 0 {
        return Err(RuntimeError::Network(format!(
            "pod CIDR {net} has no assignable addresses"
        )));
    }
    let start = state.cursor.get(&net).copied().unwrap_or(0) % count;
    let used = state.allocated.entry(net).or_default();
    for i in 0..count {
        let offset = (start + i) % count;
        if !used.contains(&offset) {
            used.insert(offset);
            state.cursor.insert(net, offset + 1);
            return nth_host(&net, offset).ok_or_else(|| {
                RuntimeError::Network(format!("address {offset} out of range in {net}"))
            });
        }
    }
    Err(RuntimeError::Network(format!(
        "no free address left in pod CIDR {net}"
    )))
}

fn offset_of(net: &IpNet, ip: IpAddr) -> Option<u64> {
    match (net.network(), ip) {
        (IpAddr::V4(b), IpAddr::V4(a)) => {
            u64::from(u32::from(a)).checked_sub(u64::from(u32::from(b)) + 2)
        }
        (IpAddr::V6(b), IpAddr::V6(a)) => u128::from(a)
            .checked_sub(u128::from(b) + 2)
            .and_then(|d| u64::try_from(d).ok()),
        _ => None,
    }
}

/// Takes `ip` for a pod when it lies in `net` and is free (a pod keeping its IP).
fn claim(state: &mut State, net: IpNet, ip: IpAddr) -> bool {
    match offset_of(&net, ip) {
        Some(offset) if net.contains(&ip) && offset < host_count(&net) => {
            state.allocated.entry(net).or_default().insert(offset)
        }
        _ => false,
    }
}

fn release(state: &mut State, ip: IpAddr) {
    for (net, used) in state.allocated.iter_mut() {
        if net.contains(&ip) {
            if let Some(offset) = offset_of(net, ip) {
                used.remove(&offset);
            }
            return;
        }
    }
}

fn write_log(path: &Path) {
    // Best effort: the log is informational; a simulated container must not fail for it.
    if let Some(parent) = path.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    let line = format!(
        "{} stdout F {LOG_LINE}\n",
        Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
    );
    let _ = std::fs::write(path, line);
}

#[async_trait]
impl Runtime for SimulatedRuntime {
    fn name(&self) -> &'static str {
        "simulated"
    }

    fn is_simulated(&self) -> bool {
        true
    }

    async fn run_pod_sandbox(&self, config: &SandboxConfig) -> Result<SandboxStatus, RuntimeError> {
        let mut state = self.lock();
        let ips = match (config.host_network, config.pod_cidr) {
            (true, _) => Vec::new(),
            (false, Some(net)) => match config
                .reuse_ips
                .iter()
                .find(|ip| claim(&mut state, net, **ip))
            {
                Some(ip) => vec![*ip],
                None => vec![allocate(&mut state, net)?],
            },
            (false, None) => {
                return Err(RuntimeError::Network(format!(
                    "node {} has no pod CIDR (spec.podCIDR unset and no --pod-cidr)",
                    config.node_name
                )));
            }
        };
        let sandbox = SandboxStatus {
            id: uuid::Uuid::new_v4().simple().to_string(),
            pod_uid: config.pod_uid.clone(),
            pod_name: config.pod_name.clone(),
            pod_namespace: config.pod_namespace.clone(),
            node_name: config.node_name.clone(),
            ips,
            ready: true,
            created_at: Utc::now(),
        };
        state.sandboxes.insert(sandbox.id.clone(), sandbox.clone());
        Ok(sandbox)
    }

    async fn stop_pod_sandbox(&self, sandbox_id: &str) -> Result<(), RuntimeError> {
        let mut state = self.lock();
        let now = Utc::now();
        for c in state.containers.values_mut() {
            if c.sandbox_id == sandbox_id && c.state != ContainerState::Exited {
                c.state = ContainerState::Exited;
                c.exit_code = Some(137);
                c.reason = Some("Error".to_string());
                c.finished_at = Some(now);
            }
        }
        let ips = match state.sandboxes.get_mut(sandbox_id) {
            Some(sandbox) => {
                sandbox.ready = false;
                std::mem::take(&mut sandbox.ips)
            }
            None => return Ok(()),
        };
        for ip in ips {
            release(&mut state, ip);
        }
        Ok(())
    }

    async fn remove_pod_sandbox(&self, sandbox_id: &str) -> Result<(), RuntimeError> {
        let mut state = self.lock();
        if let Some(sandbox) = state.sandboxes.remove(sandbox_id) {
            for ip in sandbox.ips {
                release(&mut state, ip);
            }
        }
        state.containers.retain(|_, c| c.sandbox_id != sandbox_id);
        Ok(())
    }

    async fn start_container(
        &self,
        sandbox_id: &str,
        spec: &ContainerSpec,
    ) -> Result<String, RuntimeError> {
        let mut state = self.lock();
        if !state.sandboxes.contains_key(sandbox_id) {
            return Err(RuntimeError::NotFound(format!("sandbox {sandbox_id}")));
        }
        write_log(&spec.log_path);
        let now = Utc::now();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let (container_state, exit_code, reason, finished_at) = if spec.init {
            (
                ContainerState::Exited,
                Some(0),
                Some("Completed".to_string()),
                Some(now),
            )
        } else {
            (ContainerState::Running, None, None, None)
        };
        state.containers.insert(
            id.clone(),
            ContainerStatus {
                id: id.clone(),
                sandbox_id: sandbox_id.to_string(),
                pod_uid: spec.pod_uid.clone(),
                name: spec.name.clone(),
                attempt: spec.attempt,
                state: container_state,
                image: spec.image.clone(),
                image_id: String::new(),
                created_at: now,
                started_at: Some(now),
                finished_at,
                exit_code,
                reason,
                message: None,
                pid: None,
                log_path: spec.log_path.clone(),
            },
        );
        Ok(id)
    }

    async fn stop_container(
        &self,
        container_id: &str,
        _grace_period: Duration,
    ) -> Result<(), RuntimeError> {
        let mut state = self.lock();
        if let Some(c) = state.containers.get_mut(container_id)
            && c.state != ContainerState::Exited
        {
            // Nothing runs, so nothing can ignore SIGTERM: it "exits" at once, as a process
            // that handles SIGTERM cleanly would.
            c.state = ContainerState::Exited;
            c.exit_code = Some(0);
            c.reason = Some("Completed".to_string());
            c.finished_at = Some(Utc::now());
        }
        Ok(())
    }

    async fn container_status(&self, container_id: &str) -> Result<ContainerStatus, RuntimeError> {
        self.lock()
            .containers
            .get(container_id)
            .cloned()
            .ok_or_else(|| RuntimeError::NotFound(format!("container {container_id}")))
    }

    async fn remove_container(&self, container_id: &str) -> Result<(), RuntimeError> {
        self.lock().containers.remove(container_id);
        Ok(())
    }

    async fn exec_sync(
        &self,
        container_id: &str,
        _command: &[String],
        _timeout: Duration,
    ) -> Result<ExecResult, RuntimeError> {
        // Probes on simulated pods are treated as passing (the agent does not even call
        // this); an explicit exec gets an honest message rather than fake output.
        if !self.lock().containers.contains_key(container_id) {
            return Err(RuntimeError::NotFound(format!("container {container_id}")));
        }
        Ok(ExecResult {
            exit_code: 0,
            stdout: Vec::new(),
            stderr: b"simulated container: no process runs, the command was not run\n".to_vec(),
        })
    }

    async fn list_pod_sandboxes(&self) -> Result<Vec<SandboxStatus>, RuntimeError> {
        Ok(self.lock().sandboxes.values().cloned().collect())
    }

    async fn list_containers(&self) -> Result<Vec<ContainerStatus>, RuntimeError> {
        Ok(self.lock().containers.values().cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn sandbox_config(uid: &str, cidr: &str) -> SandboxConfig {
        SandboxConfig {
            pod_uid: uid.to_string(),
            pod_name: uid.to_string(),
            pod_namespace: "default".to_string(),
            hostname: uid.to_string(),
            node_name: "n".to_string(),
            pod_cidr: Some(cidr.parse().unwrap()),
            host_network: false,
            pod_dir: std::env::temp_dir(),
            reuse_ips: vec![],
        }
    }

    #[tokio::test]
    async fn ips_come_from_the_cidr_and_are_distinct() {
        let rt = SimulatedRuntime::new();
        let a = rt
            .run_pod_sandbox(&sandbox_config("a", "10.244.3.0/24"))
            .await
            .unwrap();
        let b = rt
            .run_pod_sandbox(&sandbox_config("b", "10.244.3.0/24"))
            .await
            .unwrap();
        assert_eq!(a.ips, vec!["10.244.3.2".parse::<IpAddr>().unwrap()]);
        assert_eq!(b.ips, vec!["10.244.3.3".parse::<IpAddr>().unwrap()]);
        // A restarted agent asks for the pod's old IP and gets it back.
        let rt2 = SimulatedRuntime::new();
        let mut again = sandbox_config("b", "10.244.3.0/24");
        again.reuse_ips = b.ips.clone();
        assert_eq!(rt2.run_pod_sandbox(&again).await.unwrap().ips, b.ips);
        rt.stop_pod_sandbox(&a.id).await.unwrap();
        rt.remove_pod_sandbox(&a.id).await.unwrap();
        assert_eq!(rt.list_pod_sandboxes().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_full_cidr_is_an_error_not_a_duplicate() {
        let rt = SimulatedRuntime::new();
        // A /30 has 4 addresses: network, gateway, one host, broadcast.
        rt.run_pod_sandbox(&sandbox_config("a", "10.0.0.0/30"))
            .await
            .unwrap();
        let err = rt
            .run_pod_sandbox(&sandbox_config("b", "10.0.0.0/30"))
            .await
            .unwrap_err();
        assert!(matches!(err, RuntimeError::Network(_)), "{err}");
    }

    #[tokio::test]
    async fn containers_run_until_stopped_and_init_containers_complete() {
        let dir = tempfile::tempdir().unwrap();
        let rt = SimulatedRuntime::new();
        let sb = rt
            .run_pod_sandbox(&sandbox_config("a", "10.0.0.0/24"))
            .await
            .unwrap();
        let mut spec = ContainerSpec {
            pod_uid: "a".into(),
            pod_name: "a".into(),
            pod_namespace: "default".into(),
            name: "c".into(),
            attempt: 0,
            image: "busybox".into(),
            command: vec![],
            args: vec![],
            env: vec![],
            working_dir: None,
            mounts: vec![],
            limits: Default::default(),
            log_path: dir.path().join("c/0.log"),
            init: false,
        };
        let id = rt.start_container(&sb.id, &spec).await.unwrap();
        let st = rt.container_status(&id).await.unwrap();
        assert_eq!(st.state, ContainerState::Running);
        let log = std::fs::read_to_string(&spec.log_path).unwrap();
        assert!(log.ends_with(&format!(" stdout F {LOG_LINE}\n")), "{log}");
        rt.stop_container(&id, Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(
            rt.container_status(&id).await.unwrap().state,
            ContainerState::Exited
        );
        spec.init = true;
        spec.name = "init".into();
        let init = rt.start_container(&sb.id, &spec).await.unwrap();
        let st = rt.container_status(&init).await.unwrap();
        assert_eq!(
            (st.state, st.exit_code, st.reason.as_deref()),
            (ContainerState::Exited, Some(0), Some("Completed"))
        );
    }
}
