//! Container cgroups: a parent per node (named after the node's key, so agents on one machine
//! never share one) and a child per container instance, carrying resources.limits and telling
//! whether the kernel OOM-killed something inside.
//!
//! Both layouts are supported: cgroup v1 with one hierarchy per controller (memory and cpu
//! are used; the container joins both) and the unified cgroup v2 hierarchy. On a hybrid
//! machine (v1 controllers plus an empty cgroup2 mount) the controllers live in v1, so v1 is
//! what we use. Controllers are found through /proc/self/mounts, not assumed at fixed paths.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::runtime::{ResourceLimits, RuntimeError};

/// CFS period used for CPU limits, as the kubelet (100 ms).
const CFS_PERIOD_US: u64 = 100_000;
/// The smallest quota the kernel accepts (1 ms), as the kubelet's MinQuotaPeriod.
const MIN_CFS_QUOTA_US: u64 = 1_000;

/// Where the controllers are mounted.
#[derive(Debug, Clone, PartialEq)]
enum Layout {
    V1 {
        memory: Option<PathBuf>,
        cpu: Option<PathBuf>,
    },
    V2 {
        root: PathBuf,
    },
    None,
}

/// The node's cgroup parent.
#[derive(Debug, Clone)]
pub struct NodeCgroups {
    layout: Layout,
    parent: String,
}

/// One container instance's cgroup(s), persisted with the container so a restarted agent
/// finds them again.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContainerCgroup {
    /// v1: the memory hierarchy's directory; v2: the unified directory.
    pub memory: Option<PathBuf>,
    /// v1 only: the cpu hierarchy's directory.
    pub cpu: Option<PathBuf>,
    pub v2: bool,
}

fn parse_layout(mounts: &str, v2_controllers: impl Fn(&Path) -> String) -> Layout {
    let mut memory = None;
    let mut cpu = None;
    let mut unified = None;
    for line in mounts.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [_, mountpoint, fstype, options, ..] = fields[..] else {
            continue;
        };
        match fstype {
            "cgroup" => {
                let opts: Vec<&str> = options.split(',').collect();
                if opts.contains(&"memory") && memory.is_none() {
                    memory = Some(PathBuf::from(mountpoint));
                }
                if opts.contains(&"cpu") && cpu.is_none() {
                    cpu = Some(PathBuf::from(mountpoint));
                }
            }
            "cgroup2" if unified.is_none() => unified = Some(PathBuf::from(mountpoint)),
            _ => {}
        }
    }
    if memory.is_some() || cpu.is_some() {
        return Layout::V1 { memory, cpu };
    }
    match unified {
        Some(root)
            if v2_controllers(&root)
                .split_whitespace()
                .any(|c| c == "memory") =>
        {
            Layout::V2 { root }
        }
        _ => Layout::None,
    }
}

fn write(path: &Path, value: &str) -> Result<(), RuntimeError> {
    std::fs::write(path, value)
        .map_err(|e| RuntimeError::io(format!("writing {value:?} to {}", path.display()), e))
}

fn mkdir(path: &Path) -> Result<(), RuntimeError> {
    match std::fs::create_dir(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(RuntimeError::io(
            format!("creating cgroup {}", path.display()),
            e,
        )),
    }
}

/// Enables the memory and cpu controllers for the children of a v2 cgroup.
fn enable_v2_controllers(dir: &Path) -> Result<(), RuntimeError> {
    let available = std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
    let wanted: Vec<String> = ["memory", "cpu", "pids"]
        .iter()
        .filter(|c| available.split_whitespace().any(|a| a == **c))
        .map(|c| format!("+{c}"))
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    write(&dir.join("cgroup.subtree_control"), &wanted.join(" "))
}

impl NodeCgroups {
    /// Finds the controllers and names the node's parent cgroup `parent` (a single path
    /// component).
    pub fn detect(parent: &str) -> NodeCgroups {
        let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
        let layout = parse_layout(&mounts, |root| {
            std::fs::read_to_string(root.join("cgroup.controllers")).unwrap_or_default()
        });
        NodeCgroups {
            layout,
            parent: parent.to_string(),
        }
    }

    /// A short description for logs and node info.
    pub fn describe(&self) -> String {
        match &self.layout {
            Layout::V1 { .. } => format!("cgroup v1 ({})", self.parent),
            Layout::V2 { .. } => format!("cgroup v2 ({})", self.parent),
            Layout::None => "no cgroup controllers".to_string(),
        }
    }

    fn parent_dirs(&self) -> Vec<PathBuf> {
        match &self.layout {
            Layout::V1 { memory, cpu } => [memory, cpu]
                .into_iter()
                .flatten()
                .map(|m| m.join(&self.parent))
                .collect(),
            Layout::V2 { root } => vec![root.join(&self.parent)],
            Layout::None => Vec::new(),
        }
    }

    /// Creates the node's parent cgroup(s).
    pub fn ensure_parent(&self) -> Result<(), RuntimeError> {
        if let Layout::V2 { root } = &self.layout {
            enable_v2_controllers(root)?;
        }
        for dir in self.parent_dirs() {
            mkdir(&dir)?;
        }
        if let Layout::V2 { root } = &self.layout {
            enable_v2_controllers(&root.join(&self.parent))?;
        }
        Ok(())
    }

    /// Removes the node's parent cgroup(s) if no container cgroup is left in them.
    pub fn remove_parent(&self) {
        for dir in self.parent_dirs() {
            let _ = std::fs::remove_dir(dir);
        }
    }

    /// Names of container cgroups under the node's parent (leftovers after a crash).
    pub fn children(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .parent_dirs()
            .iter()
            .filter_map(|d| std::fs::read_dir(d).ok())
            .flatten()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The cgroup(s) a container instance `id` gets (not created yet).
    pub fn container(&self, id: &str) -> ContainerCgroup {
        match &self.layout {
            Layout::V1 { memory, cpu } => ContainerCgroup {
                memory: memory.as_ref().map(|m| m.join(&self.parent).join(id)),
                cpu: cpu.as_ref().map(|c| c.join(&self.parent).join(id)),
                v2: false,
            },
            Layout::V2 { root } => ContainerCgroup {
                memory: Some(root.join(&self.parent).join(id)),
                cpu: None,
                v2: true,
            },
            Layout::None => ContainerCgroup::default(),
        }
    }

    /// Creates a container's cgroup with its limits. Limits this machine cannot enforce are
    /// an error rather than silently ignored.
    pub fn create(
        &self,
        id: &str,
        limits: &ResourceLimits,
    ) -> Result<ContainerCgroup, RuntimeError> {
        let cg = self.container(id);
        if limits.memory_bytes.is_some() && cg.memory.is_none() {
            return Err(RuntimeError::Unsupported {
                reason: "CreateContainerError".into(),
                message: "resources.limits.memory is set but this machine has no memory cgroup controller".into(),
            });
        }
        if limits.cpu_millis.is_some() && cg.cpu.is_none() && !cg.v2 {
            return Err(RuntimeError::Unsupported {
                reason: "CreateContainerError".into(),
                message:
                    "resources.limits.cpu is set but this machine has no cpu cgroup controller"
                        .into(),
            });
        }
        self.ensure_parent()?;
        for dir in cg.dirs() {
            mkdir(dir)?;
        }
        let result = cg.apply(limits);
        if result.is_err() {
            for dir in cg.dirs() {
                let _ = std::fs::remove_dir(dir);
            }
        }
        result.map(|()| cg)
    }
}

/// CFS quota for a CPU limit in millicores, as the kubelet computes it.
pub fn cpu_quota_us(millis: u64) -> u64 {
    (millis.saturating_mul(CFS_PERIOD_US) / 1000).max(MIN_CFS_QUOTA_US)
}

impl ContainerCgroup {
    fn dirs(&self) -> impl Iterator<Item = &PathBuf> {
        self.memory.iter().chain(self.cpu.iter())
    }

    fn apply(&self, limits: &ResourceLimits) -> Result<(), RuntimeError> {
        if let (Some(bytes), Some(dir)) = (limits.memory_bytes, &self.memory) {
            if self.v2 {
                write(&dir.join("memory.max"), &bytes.to_string())?;
                // Swap would let a container exceed its limit instead of being OOM-killed.
                if dir.join("memory.swap.max").exists() {
                    write(&dir.join("memory.swap.max"), "0")?;
                }
            } else {
                write(&dir.join("memory.limit_in_bytes"), &bytes.to_string())?;
                // memsw must be >= the memory limit, so it is set after it.
                let memsw = dir.join("memory.memsw.limit_in_bytes");
                if memsw.exists() {
                    write(&memsw, &bytes.to_string())?;
                }
            }
        }
        if let Some(millis) = limits.cpu_millis {
            let quota = cpu_quota_us(millis);
            if self.v2 {
                if let Some(dir) = &self.memory {
                    write(&dir.join("cpu.max"), &format!("{quota} {CFS_PERIOD_US}"))?;
                }
            } else if let Some(dir) = &self.cpu {
                write(&dir.join("cpu.cfs_period_us"), &CFS_PERIOD_US.to_string())?;
                write(&dir.join("cpu.cfs_quota_us"), &quota.to_string())?;
            }
        }
        Ok(())
    }

    /// The `cgroup.procs` files a process writes itself into to join the container's
    /// cgroup(s).
    pub fn procs_files(&self) -> Vec<PathBuf> {
        self.dirs().map(|d| d.join("cgroup.procs")).collect()
    }

    /// How many processes the kernel OOM-killed in this cgroup.
    pub fn oom_kills(&self) -> u64 {
        let Some(dir) = &self.memory else {
            return 0;
        };
        let file = if self.v2 {
            "memory.events"
        } else {
            "memory.oom_control"
        };
        std::fs::read_to_string(dir.join(file))
            .map(|s| parse_counter(&s, "oom_kill"))
            .unwrap_or(0)
    }

    /// Pids of the processes still in the cgroup.
    pub fn pids(&self) -> Vec<u32> {
        let mut pids: Vec<u32> = self
            .dirs()
            .filter_map(|d| std::fs::read_to_string(d.join("cgroup.procs")).ok())
            .flat_map(|s| {
                s.split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .collect::<Vec<u32>>()
            })
            .collect();
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    /// SIGKILLs everything in the cgroup (v2: cgroup.kill, which also catches processes
    /// forking while we read the list).
    pub fn kill_all(&self) {
        if self.v2
            && let Some(dir) = &self.memory
            && dir.join("cgroup.kill").exists()
        {
            let _ = std::fs::write(dir.join("cgroup.kill"), "1");
        }
        for pid in self.pids() {
            if let Ok(pid) = i32::try_from(pid) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }

    /// Removes the cgroup(s). A cgroup whose last processes are still exiting is busy for a
    /// moment, so removal retries briefly and kills stragglers.
    pub async fn remove(&self) -> Result<(), RuntimeError> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        for dir in self.dirs() {
            loop {
                match std::fs::remove_dir(dir) {
                    Ok(()) => break,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                    Err(e) if tokio::time::Instant::now() >= deadline => {
                        return Err(RuntimeError::io(
                            format!("removing cgroup {}", dir.display()),
                            e,
                        ));
                    }
                    Err(_) => {
                        self.kill_all();
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        }
        Ok(())
    }
}

fn parse_counter(text: &str, key: &str) -> u64 {
    text.lines()
        .filter_map(|l| l.split_once(' '))
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const HYBRID: &str = "tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
";
    const COMBINED: &str = "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,cpu,cpuacct 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,nosuid,memory 0 0
";
    const PURE_V2: &str = "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec 0 0\n";

    #[test]
    fn layouts() {
        // (mounts, whether the cgroup2 root offers the memory controller, layout)
        let cases = [
            (
                HYBRID,
                false,
                Layout::V1 {
                    memory: Some("/sys/fs/cgroup/memory".into()),
                    cpu: Some("/sys/fs/cgroup/cpu".into()),
                },
            ),
            (
                COMBINED,
                false,
                Layout::V1 {
                    memory: Some("/sys/fs/cgroup/memory".into()),
                    cpu: Some("/sys/fs/cgroup/cpu,cpuacct".into()),
                },
            ),
            (
                PURE_V2,
                true,
                Layout::V2 {
                    root: "/sys/fs/cgroup".into(),
                },
            ),
            (PURE_V2, false, Layout::None),
            ("", false, Layout::None),
        ];
        for (mounts, v2_memory, want) in cases {
            let controllers = |_: &Path| {
                if v2_memory {
                    "cpuset cpu io memory pids".to_string()
                } else {
                    String::new()
                }
            };
            assert_eq!(parse_layout(mounts, controllers), want, "{mounts}");
        }
    }

    #[test]
    fn container_paths() {
        let node = NodeCgroups {
            layout: parse_layout(HYBRID, |_| String::new()),
            parent: "ferrokube-abc".into(),
        };
        let cg = node.container("c1");
        assert_eq!(
            cg.procs_files(),
            vec![
                PathBuf::from("/sys/fs/cgroup/memory/ferrokube-abc/c1/cgroup.procs"),
                PathBuf::from("/sys/fs/cgroup/cpu/ferrokube-abc/c1/cgroup.procs"),
            ]
        );
        let v2 = NodeCgroups {
            layout: Layout::V2 {
                root: "/sys/fs/cgroup".into(),
            },
            parent: "p".into(),
        };
        assert_eq!(
            v2.container("c").procs_files(),
            vec![PathBuf::from("/sys/fs/cgroup/p/c/cgroup.procs")]
        );
    }

    #[test]
    fn counters_and_quota() {
        let oom = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";
        assert_eq!(parse_counter(oom, "oom_kill"), 3);
        let events = "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n";
        assert_eq!(parse_counter(events, "oom_kill"), 1);
        assert_eq!(parse_counter("", "oom_kill"), 0);
        assert_eq!(cpu_quota_us(500), 50_000);
        assert_eq!(cpu_quota_us(2000), 200_000);
        assert_eq!(cpu_quota_us(1), MIN_CFS_QUOTA_US);
    }
}
