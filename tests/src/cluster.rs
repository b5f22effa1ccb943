//! Pieces of whole clusters for end-to-end tests: any ferrokube binary as a child process
//! (log file, SIGKILL/SIGSTOP by PID, killed on drop), a three-member etcd cluster with leader
//! lookup and member restart, and "hosts" as network namespaces on a test bridge, so node
//! agents get their own IPs on one machine. Everything is named with a per-test random
//! suffix and removed on drop, so tests run side by side.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::apiserver::{binary, free_port};

/// A child process of a test, with its output in a log file.
pub struct Proc {
    pub name: String,
    child: Option<Child>,
    log: PathBuf,
    program: PathBuf,
    args: Vec<String>,
    prefix: Vec<String>,
    starts: usize,
}

impl Proc {
    /// Starts the ferrokube binary `binary_name` with `args`, logging to `log_dir/<name>.log`.
    pub fn start(
        name: &str,
        binary_name: &str,
        args: &[String],
        log_dir: &Path,
    ) -> anyhow::Result<Proc> {
        Self::start_with_prefix(name, binary_name, args, log_dir, Vec::new())
    }

    /// Like [`Proc::start`], inside the network namespace `netns` (through `ip netns exec`).
    pub fn start_in_netns(
        name: &str,
        binary_name: &str,
        args: &[String],
        log_dir: &Path,
        netns: &str,
    ) -> anyhow::Result<Proc> {
        // nsenter rather than `ip netns exec`: the latter also gives the process its own
        // mount namespace with a fresh /sys, without the cgroup hierarchy a node agent needs
        // for its pods.
        let prefix = vec![
            "nsenter".into(),
            format!("--net=/run/netns/{netns}"),
            "--".into(),
        ];
        Self::start_with_prefix(name, binary_name, args, log_dir, prefix)
    }

    fn start_with_prefix(
        name: &str,
        binary_name: &str,
        args: &[String],
        log_dir: &Path,
        prefix: Vec<String>,
    ) -> anyhow::Result<Proc> {
        let program = if binary_name.contains('/') {
            PathBuf::from(binary_name)
        } else {
            binary(binary_name).or_else(|_| which(binary_name))?
        };
        let mut p = Proc {
            name: name.to_string(),
            child: None,
            log: log_dir.join(format!("{name}.log")),
            program,
            args: args.to_vec(),
            prefix,
            starts: 0,
        };
        p.spawn()?;
        Ok(p)
    }

    fn spawn(&mut self) -> anyhow::Result<()> {
        self.starts += 1;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let mut cmd = if self.prefix.is_empty() {
            Command::new(&self.program)
        } else {
            let mut c = Command::new(&self.prefix[0]);
            c.args(&self.prefix[1..]).arg(&self.program);
            c
        };
        cmd.args(&self.args)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = cmd
            .spawn()
            .with_context(|| format!("spawning {}", self.program.display()))?;
        self.child = Some(child);
        Ok(())
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// SIGKILL and reap.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends a signal by name (e.g. "STOP", "CONT", "TERM") with kill(1).
    pub fn signal(&self, signal: &str) -> anyhow::Result<()> {
        let Some(pid) = self.pid() else {
            bail!("{} is not running", self.name);
        };
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()?;
        if !status.success() {
            bail!("kill -{signal} {pid} failed");
        }
        Ok(())
    }

    /// Starts the same command again (after kill9 or exit).
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.kill9();
        self.spawn()
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        format!(
            "--- {} (last {lines} lines) ---\n{}",
            self.name,
            all[all.len().saturating_sub(lines)..].join("\n")
        )
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // A stopped process must be continued to die promptly under `ip netns exec`.
        let _ = self.signal("CONT");
        self.kill9();
    }
}

fn which(name: &str) -> anyhow::Result<PathBuf> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()?;
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if path.is_empty() {
        bail!("{name} not found");
    }
    Ok(PathBuf::from(path))
}

/// A random suffix for names of host objects (namespaces, links), short enough for the
/// 15-byte interface name limit.
pub fn suffix() -> String {
    let n: u32 = rand_u32();
    format!("{:05x}", n & 0xfffff)
}

fn rand_u32() -> u32 {
    // The pid and the clock are unique enough between concurrently running tests; no need
    // for a random number crate in the test helpers.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    nanos ^ std::process::id().rotate_left(13)
}

/// One member of an [`EtcdCluster`].
pub struct EtcdMember {
    pub name: String,
    pub client_url: String,
    pub proc: Proc,
}

/// A three- (or n-) member etcd cluster on loopback.
pub struct EtcdCluster {
    pub members: Vec<EtcdMember>,
    // Last: removed after the members are killed.
    dir: tempfile::TempDir,
}

impl EtcdCluster {
    pub async fn start(n: usize) -> anyhow::Result<EtcdCluster> {
        let dir = tempfile::Builder::new().prefix("etcd-cluster-").tempdir()?;
        let token = format!("t{}", suffix());
        let ports: Vec<(u16, u16)> = (0..n)
            .map(|_| Ok((free_port()?, free_port()?)))
            .collect::<anyhow::Result<_>>()?;
        let initial: Vec<String> = ports
            .iter()
            .enumerate()
            .map(|(i, (_, peer))| format!("m{i}=http://127.0.0.1:{peer}"))
            .collect();
        let mut members = Vec::new();
        for (i, (client, peer)) in ports.iter().enumerate() {
            let name = format!("m{i}");
            let client_url = format!("http://127.0.0.1:{client}");
            let args = vec![
                format!("--name={name}"),
                format!("--data-dir={}", dir.path().join(&name).display()),
                format!("--listen-client-urls={client_url}"),
                format!("--advertise-client-urls={client_url}"),
                format!("--listen-peer-urls=http://127.0.0.1:{peer}"),
                format!("--initial-advertise-peer-urls=http://127.0.0.1:{peer}"),
                format!("--initial-cluster={}", initial.join(",")),
                format!("--initial-cluster-token={token}"),
                "--initial-cluster-state=new".to_string(),
            ];
            let proc = Proc::start(&format!("etcd-{name}"), "etcd", &args, dir.path())?;
            members.push(EtcdMember {
                name,
                client_url,
                proc,
            });
        }
        let cluster = EtcdCluster { members, dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        while cluster.leader().await.is_none() {
            if Instant::now() > deadline {
                bail!(
                    "etcd cluster has no leader after 30 s:\n{}",
                    cluster
                        .members
                        .iter()
                        .map(|m| m.proc.log_tail(10))
                        .collect::<Vec<_>>()
                        .join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(cluster)
    }

    pub fn endpoints(&self) -> Vec<String> {
        self.members.iter().map(|m| m.client_url.clone()).collect()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The index of the current leader, asked of every running member (etcdctl).
    pub async fn leader(&self) -> Option<usize> {
        for m in &self.members {
            let out = tokio::time::timeout(
                Duration::from_secs(5),
                tokio::process::Command::new("etcdctl")
                    .env("ETCDCTL_API", "3")
                    .arg(format!("--endpoints={}", m.client_url))
                    .args(["endpoint", "status", "-w", "json"])
                    .output(),
            )
            .await;
            let Ok(Ok(out)) = out else { continue };
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(&out.stdout) else {
                continue;
            };
            let status = &v[0]["Status"];
            let (Some(me), Some(leader)) = (
                status["header"]["member_id"].as_u64(),
                status["leader"].as_u64(),
            ) else {
                continue;
            };
            if leader == 0 {
                continue;
            }
            if me == leader {
                return self.members.iter().position(|x| x.name == m.name);
            }
        }
        None
    }

    /// Restarts member `i` on its data dir (it rejoins: `--initial-cluster-state existing`).
    pub fn restart_member(&mut self, i: usize) -> anyhow::Result<()> {
        let member = &mut self.members[i];
        for a in member.proc.args.iter_mut() {
            if a == "--initial-cluster-state=new" {
                *a = "--initial-cluster-state=existing".to_string();
            }
        }
        member.proc.restart()
    }
}

/// "Hosts" on one machine: network namespaces joined by veth pairs to a bridge in the host
/// namespace, with addresses from a random /24 of 10.200.0.0/13. The bridge holds `.1`; host
/// `i` gets `.(10 + i)`. Removed on drop.
pub struct TestNetwork {
    pub bridge: String,
    pub gateway: Ipv4Addr,
    pub hosts: Vec<TestHost>,
    subnet: [u8; 3],
}

pub struct TestHost {
    pub netns: String,
    pub ip: Ipv4Addr,
    host_link: String,
}

impl TestNetwork {
    pub fn create(hosts: usize) -> anyhow::Result<TestNetwork> {
        let tag = suffix();
        let r = rand_u32();
        let subnet = [10, 200 + (r % 8) as u8, ((r >> 8) % 250) as u8];
        let gateway = Ipv4Addr::new(subnet[0], subnet[1], subnet[2], 1);
        let mut net = TestNetwork {
            bridge: format!("fkbr{tag}"),
            gateway,
            hosts: Vec::new(),
            subnet,
        };
        ip(&["link", "add", &net.bridge, "type", "bridge"])?;
        ip(&["addr", "add", &format!("{gateway}/24"), "dev", &net.bridge])?;
        ip(&["link", "set", &net.bridge, "up"])?;
        for i in 0..hosts {
            net.add_host(&tag, i)?;
        }
        Ok(net)
    }

    fn add_host(&mut self, tag: &str, i: usize) -> anyhow::Result<()> {
        let netns = format!("fkn{tag}-{i}");
        let host_link = format!("fkv{tag}{i}");
        let ns_link = format!("fkp{tag}{i}");
        let addr = Ipv4Addr::new(
            self.subnet[0],
            self.subnet[1],
            self.subnet[2],
            10 + u8::try_from(i).unwrap_or(0),
        );
        ip(&["netns", "add", &netns])?;
        // Registered before the remaining steps, so drop cleans up a half-made host too.
        self.hosts.push(TestHost {
            netns: netns.clone(),
            ip: addr,
            host_link: host_link.clone(),
        });
        ip(&[
            "link", "add", &host_link, "type", "veth", "peer", "name", &ns_link,
        ])?;
        ip(&["link", "set", &host_link, "master", &self.bridge])?;
        ip(&["link", "set", &host_link, "up"])?;
        ip(&["link", "set", &ns_link, "netns", &netns])?;
        ip(&["-n", &netns, "link", "set", "lo", "up"])?;
        ip(&[
            "-n",
            &netns,
            "addr",
            "add",
            &format!("{addr}/24"),
            "dev",
            &ns_link,
        ])?;
        ip(&["-n", &netns, "link", "set", &ns_link, "up"])?;
        ip(&[
            "-n",
            &netns,
            "route",
            "add",
            "default",
            "via",
            &self.gateway.to_string(),
        ])?;
        Ok(())
    }

    /// Cuts host `i` off the network (its link down on the bridge side) or joins it again.
    pub fn set_link(&self, i: usize, up: bool) -> anyhow::Result<()> {
        let state = if up { "up" } else { "down" };
        ip(&["link", "set", &self.hosts[i].host_link, state])
    }
}

impl Drop for TestNetwork {
    fn drop(&mut self) {
        for h in &self.hosts {
            // Deleting the namespace removes its end of the veth pair, and with it ours.
            let _ = ip(&["netns", "del", &h.netns]);
            let _ = ip(&["link", "del", &h.host_link]);
        }
        let _ = ip(&["link", "del", &self.bridge]);
    }
}

fn ip(args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .context("running ip (iproute2)")?;
    if !out.status.success() {
        bail!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Polls `check` every 200 ms until it returns Some, or fails after `within`.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = check().await {
            return Ok(v);
        }
        if Instant::now() > deadline {
            bail!("{what}: not within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// kubectl and kube-rs against any kubeconfig (a load balancer's, a node's).
pub struct Kube {
    pub kubeconfig: PathBuf,
    cache: PathBuf,
}

impl Kube {
    pub fn new(kubeconfig: &Path, cache_dir: &Path) -> Kube {
        Kube {
            kubeconfig: kubeconfig.to_path_buf(),
            cache: cache_dir.to_path_buf(),
        }
    }

    /// kubectl's stdout if it exits 0 within 60 s, else an error with its stderr.
    pub async fn kubectl(&self, args: &[&str]) -> anyhow::Result<String> {
        let run = tokio::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(args)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(Duration::from_secs(60), run)
            .await
            .with_context(|| format!("kubectl {args:?} timed out"))??;
        if !out.status.success() {
            bail!(
                "kubectl {args:?} failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    pub async fn kubectl_json(&self, args: &[&str]) -> anyhow::Result<serde_json::Value> {
        let out = self.kubectl(args).await?;
        serde_json::from_str(&out).with_context(|| format!("kubectl {args:?} printed no JSON"))
    }

    /// `kubectl apply -f -` of a manifest.
    pub async fn apply(&self, manifest: &str) -> anyhow::Result<String> {
        let mut child = tokio::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(["apply", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        if let Some(mut stdin) = child.stdin.take() {
            use tokio::io::AsyncWriteExt;
            stdin.write_all(manifest.as_bytes()).await?;
        }
        let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .context("kubectl apply timed out")??;
        if !out.status.success() {
            bail!(
                "kubectl apply failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    pub async fn client(&self) -> anyhow::Result<kube::Client> {
        let kc = kube::config::Kubeconfig::read_from(&self.kubeconfig)?;
        let mut config =
            kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
                .await?;
        config.read_timeout = None;
        Ok(kube::Client::try_from(config)?)
    }
}

/// A copy of `kubeconfig` at `to` whose server URL points at `server` (e.g.
/// `https://10.200.3.1:6443`).
pub fn kubeconfig_for_server(kubeconfig: &Path, to: &Path, server: &str) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(kubeconfig)?;
    let mut doc: serde_json::Value = serde_yaml_to_json(&text)?;
    let Some(clusters) = doc["clusters"].as_array_mut() else {
        bail!("{} has no clusters", kubeconfig.display());
    };
    for c in clusters {
        c["cluster"]["server"] = serde_json::Value::String(server.to_string());
    }
    std::fs::write(to, serde_json::to_string_pretty(&doc)?)?;
    Ok(())
}

fn serde_yaml_to_json(text: &str) -> anyhow::Result<serde_json::Value> {
    // kubeconfig files are YAML; kube's own parser gives us a typed document to re-serialize.
    let kc: kube::config::Kubeconfig = kube::config::Kubeconfig::from_yaml(text)?;
    Ok(serde_json::to_value(kc)?)
}

/// Which of `procs` logged that it acquired its Lease (component-base's leader election
/// logs "successfully acquired lease"); None if none did.
pub fn leader_of(procs: &[&Proc]) -> Option<usize> {
    procs.iter().position(|p| {
        std::fs::read_to_string(p.log_path())
            .map(|l| l.contains("successfully acquired lease"))
            .unwrap_or(false)
    })
}
