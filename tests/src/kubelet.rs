//! Process-runtime node agents for end-to-end tests: the real `kubelet` binary against a test
//! API server, with its own root dir, node name and pod CIDR, and a guard that removes every
//! host object the agent may have left (container processes, pod network namespaces, the
//! node's bridge, its cgroups) even when the test fails or the agent was SIGKILLed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::bail;

use crate::apiserver::ApiServer;
use crate::cluster::Proc;

/// The key the process runtime derives its host names from (its `HostNames`: FNV-1a of the
/// canonical root dir and the node name). Repeated here so the guard can clean up without
/// the agent's help; if the runtime's naming changes, this must follow.
pub fn host_key(root_dir: &Path, node_name: &str) -> String {
    let root = std::fs::canonicalize(root_dir).unwrap_or_else(|_| root_dir.to_path_buf());
    let data = format!("{}\0{node_name}", root.display());
    let hash = data.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{:08x}", hash as u32)
}

/// Removes what a process node left on the host, on drop.
pub struct HostCleanup {
    pub key: String,
}

impl HostCleanup {
    pub fn new(root_dir: &Path, node_name: &str) -> HostCleanup {
        HostCleanup {
            key: host_key(root_dir, node_name),
        }
    }

    pub fn bridge(&self) -> String {
        format!("fk{}", self.key)
    }

    pub fn netns_prefix(&self) -> String {
        format!("fk-{}-", self.key)
    }

    /// The node's parent cgroup directories (v1: one per controller; v2: one).
    pub fn cgroup_parents(&self) -> Vec<PathBuf> {
        let name = format!("ferrokube-{}", self.key);
        let mut out = Vec::new();
        if let Ok(entries) = std::fs::read_dir("/sys/fs/cgroup") {
            for e in entries.flatten() {
                let p = e.path().join(&name);
                if p.is_dir() {
                    out.push(p);
                }
            }
        }
        let v2 = Path::new("/sys/fs/cgroup").join(&name);
        if v2.join("cgroup.procs").exists() && !out.contains(&v2) {
            out.push(v2);
        }
        out
    }

    /// The node's pod network namespaces still present.
    pub fn netns(&self) -> Vec<String> {
        let out = Command::new("ip")
            .args(["netns", "list"])
            .stderr(Stdio::null())
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        out.lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|n| n.starts_with(&self.netns_prefix()))
            .map(str::to_string)
            .collect()
    }

    pub fn bridge_exists(&self) -> bool {
        Path::new("/sys/class/net").join(self.bridge()).exists()
    }

    /// Processes in the node's container cgroups.
    pub fn container_pids(&self) -> Vec<u32> {
        let mut pids = Vec::new();
        for parent in self.cgroup_parents() {
            for child in std::fs::read_dir(&parent).into_iter().flatten().flatten() {
                if child.path().is_dir() {
                    let procs = std::fs::read_to_string(child.path().join("cgroup.procs"))
                        .unwrap_or_default();
                    pids.extend(procs.lines().filter_map(|l| l.trim().parse::<u32>().ok()));
                }
            }
        }
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    fn clean(&self) {
        for _ in 0..20 {
            let pids = self.container_pids();
            for pid in &pids {
                let _ = Command::new("kill")
                    .args(["-9", &pid.to_string()])
                    .stderr(Stdio::null())
                    .status();
            }
            if pids.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        for ns in self.netns() {
            let _ = Command::new("ip")
                .args(["netns", "delete", &ns])
                .stderr(Stdio::null())
                .status();
        }
        if self.bridge_exists() {
            let _ = Command::new("ip")
                .args(["link", "delete", &self.bridge()])
                .stderr(Stdio::null())
                .status();
        }
        for parent in self.cgroup_parents() {
            for child in std::fs::read_dir(&parent).into_iter().flatten().flatten() {
                if child.path().is_dir() {
                    let _ = std::fs::remove_dir(child.path());
                }
            }
            let _ = std::fs::remove_dir(&parent);
        }
    }
}

impl Drop for HostCleanup {
    fn drop(&mut self) {
        self.clean();
    }
}

/// A /24 in 10.208.0.0/12 no interface of this machine has an address in (parallel tests each
/// need their own bridge subnet).
pub fn free_pod_cidr() -> anyhow::Result<String> {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
        ^ std::process::id().rotate_left(7);
    for i in 0..200u32 {
        let n = seed.wrapping_add(i.wrapping_mul(2_654_435_761));
        let cidr = format!("10.{}.{}.0/24", 208 + (n >> 8) % 16, n % 256);
        let out = Command::new("ip")
            .args(["-o", "addr", "show", "to", &cidr])
            .output()?;
        if out.stdout.is_empty() {
            return Ok(cidr);
        }
    }
    bail!("no free /24 for a test bridge")
}

/// A `kubelet --runtime process` child process for one test. Fields drop in order: the
/// agent is killed first, then the host cleaned, then the root dir removed.
pub struct ProcessNode {
    pub proc: Proc,
    pub cleanup: HostCleanup,
    pub node_name: String,
    pub root_dir: PathBuf,
    pub pod_cidr: String,
    _dir: tempfile::TempDir,
}

impl ProcessNode {
    /// Starts an agent for `node_name` against `api`, with short timings for tests and
    /// `--stop-pods-on-exit`; `extra` flags are appended.
    pub fn start(api: &ApiServer, node_name: &str, extra: &[&str]) -> anyhow::Result<ProcessNode> {
        let mut args = vec!["--stop-pods-on-exit"];
        args.extend_from_slice(extra);
        Self::start_keeping_pods(api, node_name, &args)
    }

    /// Like [`ProcessNode::start`] without `--stop-pods-on-exit`: pods outlive the agent, as
    /// upstream's (the guard still removes them when the test ends).
    pub fn start_keeping_pods(
        api: &ApiServer,
        node_name: &str,
        extra: &[&str],
    ) -> anyhow::Result<ProcessNode> {
        let dir = tempfile::Builder::new().prefix("fk-kubelet-").tempdir()?;
        let root_dir = dir.path().join("root");
        std::fs::create_dir_all(&root_dir)?;
        let cleanup = HostCleanup::new(&root_dir, node_name);
        let pod_cidr = free_pod_cidr()?;
        let mut args: Vec<String> = [
            "--kubeconfig",
            &api.kubeconfig.display().to_string(),
            "--node-name",
            node_name,
            "--runtime",
            "process",
            "--root-dir",
            &root_dir.display().to_string(),
            "--node-ip",
            "127.0.0.1",
            "--address",
            "127.0.0.1",
            "--port",
            "0",
            "--pod-cidr",
            &pod_cidr,
            "--node-lease-duration-seconds",
            "4",
            "--node-status-update-frequency",
            "1s",
            "--sync-frequency",
            "1s",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        let proc = Proc::start(node_name, "kubelet", &args, dir.path())?;
        Ok(ProcessNode {
            proc,
            cleanup,
            node_name: node_name.to_string(),
            root_dir,
            pod_cidr,
            _dir: dir,
        })
    }
}

/// Host pids of processes whose environment holds `NAME=value` (a marker the test puts in the
/// pod's env) and whose command line contains `cmd_contains`, found through /proc as a user
/// of the node would. (Every process of the container's chain — nsenter, unshare, the init
/// shell — carries the env; the command line picks the container's own command.)
pub fn find_pids(env: &str, cmd_contains: &str) -> Vec<u32> {
    let want = env.as_bytes();
    let mut pids = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(environ) = std::fs::read(e.path().join("environ")) else {
            continue;
        };
        if !environ.split(|b| *b == 0).any(|kv| kv == want) {
            continue;
        }
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(cmd_contains) && !cmdline.contains("fk-init") && pid_alive(pid) {
            pids.push(pid);
        }
    }
    pids.sort_unstable();
    pids
}

/// True while `pid` exists and is not a zombie.
pub fn pid_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}
