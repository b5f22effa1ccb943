//! The process runtime against the real machine: real namespaces, real CNI plugins, real
//! cgroups (the tests need root, as the runtime does). Every test has its own root dir and
//! node name, hence its own bridge, namespaces and cgroups, removed by [`Node`]'s Drop even
//! when the test fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::net::IpAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::runtime::{Mount, ResourceLimits};

/// A node's root dir; on drop everything the runtime made on the host goes.
struct Node {
    dir: tempfile::TempDir,
    name: String,
    cidr: ipnet::IpNet,
}

impl Node {
    fn new() -> Node {
        let dir = tempfile::tempdir().unwrap();
        let name = format!("unit-{}", uuid::Uuid::new_v4().simple());
        Node {
            dir,
            name,
            cidr: free_cidr(),
        }
    }

    fn config(&self) -> RuntimeConfig {
        RuntimeConfig {
            root_dir: self.dir.path().to_path_buf(),
            node_name: self.name.clone(),
        }
    }

    async fn runtime(&self) -> ProcessRuntime {
        ProcessRuntime::new(self.config()).await.unwrap()
    }

    fn sandbox(&self, pod: &str) -> SandboxConfig {
        SandboxConfig {
            pod_uid: uuid::Uuid::new_v4().to_string(),
            pod_name: pod.to_string(),
            pod_namespace: "default".to_string(),
            hostname: pod.to_string(),
            node_name: self.name.clone(),
            pod_cidr: Some(self.cidr),
            host_network: false,
            pod_dir: self.dir.path().join("pods").join(pod),
            reuse_ips: Vec::new(),
        }
    }

    fn spec(&self, name: &str, command: &[&str]) -> ContainerSpec {
        let log_dir = self.dir.path().join("logs");
        std::fs::create_dir_all(&log_dir).unwrap();
        ContainerSpec {
            pod_uid: "uid".to_string(),
            pod_name: "pod".to_string(),
            pod_namespace: "default".to_string(),
            name: name.to_string(),
            attempt: 0,
            image: "busybox".to_string(),
            command: command.iter().map(|s| s.to_string()).collect(),
            args: Vec::new(),
            env: Vec::new(),
            working_dir: None,
            mounts: Vec::new(),
            limits: ResourceLimits::default(),
            log_path: log_dir.join(format!("{name}-{}.log", uuid::Uuid::new_v4().simple())),
            init: false,
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        cleanup_host(self.dir.path(), &self.name);
    }
}

/// A /24 in 10.200.0.0/13 that no interface of this machine has an address in (tests run
/// in parallel, each with its own bridge, so each needs its own subnet).
fn free_cidr() -> ipnet::IpNet {
    use rand::Rng;
    for _ in 0..100 {
        let mut rng = rand::rng();
        let cidr: ipnet::IpNet = format!(
            "10.{}.{}.0/24",
            rng.random_range(200..=207),
            rng.random_range(0..=255)
        )
        .parse()
        .unwrap();
        let out = std::process::Command::new("ip")
            .args(["-o", "addr", "show", "to", &cidr.to_string()])
            .output()
            .unwrap();
        if out.stdout.is_empty() {
            return cidr;
        }
    }
    panic!("no free /24 for a test bridge");
}

async fn bounded<T>(secs: u64, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .expect("test timed out")
}

async fn wait_exit(rt: &ProcessRuntime, id: &str, secs: u64) -> ContainerStatus {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let st = rt.container_status(id).await.unwrap();
        if st.state == ContainerState::Exited {
            return st;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "container {id} still {st:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn http_get(ip: IpAddr, port: u16) -> std::io::Result<String> {
    let mut s = tokio::net::TcpStream::connect((ip, port)).await?;
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").await?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).await?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

async fn http_get_eventually(ip: IpAddr, port: u16) -> String {
    for _ in 0..200 {
        if let Ok(r) = http_get(ip, port).await {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nothing answered on {ip}:{port}");
}

fn log_lines(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let mut parts = l.splitn(4, ' ');
            let ts = parts.next().unwrap();
            assert!(
                DateTime::parse_from_rfc3339(ts).is_ok(),
                "bad timestamp in {l:?}"
            );
            let stream = parts.next().unwrap().to_string();
            assert!(matches!(parts.next(), Some("F" | "P")), "{l:?}");
            (stream, parts.next().unwrap_or_default().to_string())
        })
        .collect()
}

fn proc_gone(pid: u32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
        || std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s.contains(") Z"))
            .unwrap_or(true)
}

#[tokio::test]
async fn pods_get_their_own_ip_and_serve_http() {
    let node = Node::new();
    bounded(90, async {
        let rt = node.runtime().await;
        let a = rt.run_pod_sandbox(&node.sandbox("web-a")).await.unwrap();
        let b = rt.run_pod_sandbox(&node.sandbox("web-b")).await.unwrap();
        assert!(a.ready && b.ready);
        assert_eq!(a.ips.len(), 1, "{a:?}");
        assert_eq!(b.ips.len(), 1, "{b:?}");
        assert_ne!(a.ips, b.ips);
        assert!(node.cidr.contains(&a.ips[0]) && node.cidr.contains(&b.ips[0]));

        // Both listen on 8080: each pod has its own network namespace.
        let server = ["python3", "-m", "http.server", "8080"];
        let spec_a = node.spec("server", &server);
        let spec_b = node.spec("server", &server);
        let ca = rt.start_container(&a.id, &spec_a).await.unwrap();
        let cb = rt.start_container(&b.id, &spec_b).await.unwrap();
        for (sandbox, _) in [(&a, &ca), (&b, &cb)] {
            let reply = http_get_eventually(sandbox.ips[0], 8080).await;
            assert!(reply.starts_with("HTTP/1.0 200"), "{reply}");
        }
        let st = rt.container_status(&ca).await.unwrap();
        assert_eq!(st.state, ContainerState::Running);
        let pid = st.pid.unwrap();
        assert!(
            std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                .unwrap()
                .contains("http.server")
        );

        // Its own hostname, pid namespace (the command is PID 2 under the init shell) and
        // the pod IP in /etc/hosts.
        let exec = |cmd: &[&str]| {
            let cmd: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
            let rt = &rt;
            let ca = ca.clone();
            async move {
                rt.exec_sync(&ca, &cmd, Duration::from_secs(10))
                    .await
                    .unwrap()
            }
        };
        let out = exec(&["hostname"]).await;
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "web-a");
        let script =
            "tr '\\0' '\\n' < /proc/1/cmdline | grep -cx fk-init; ls /proc | grep -c '^[0-9]'";
        let out = exec(&["sh", "-c", script]).await;
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("1"), "PID 1 is the init shell: {text}");
        let visible: u32 = lines.next().unwrap().trim().parse().unwrap();
        assert!(
            visible < 10,
            "the container sees only its own processes: {text}"
        );
        let out = exec(&["cat", "/etc/hosts"]).await;
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&format!("{}\tweb-a", a.ips[0])),
            "{out:?}"
        );
        assert_eq!(exec(&["sh", "-c", "exit 7"]).await.exit_code, 7);

        // The request log (python writes it to stderr) is in the CRI-format log file.
        let logged = log_lines(&spec_a.log_path);
        assert!(
            logged
                .iter()
                .any(|(s, l)| s == "stderr" && l.contains("\"GET / HTTP/1.0\" 200")),
            "{logged:?}"
        );

        // Stopping: python dies of the forwarded SIGTERM well within the grace period.
        let started = std::time::Instant::now();
        rt.stop_container(&ca, Duration::from_secs(20))
            .await
            .unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert!(proc_gone(pid), "pid {pid} still there");
        let st = rt.container_status(&ca).await.unwrap();
        assert_eq!(st.state, ContainerState::Exited);
        assert_eq!(st.exit_code, Some(143));
        assert_eq!(st.reason.as_deref(), Some("Error"));
        assert!(st.finished_at.is_some() && st.pid.is_none());

        // Tearing down the pod releases its namespace and IP.
        let pid_b = rt.container_status(&cb).await.unwrap().pid.unwrap();
        rt.stop_pod_sandbox(&b.id).await.unwrap();
        assert!(proc_gone(pid_b), "pid {pid_b} survived its sandbox");
        assert_eq!(
            rt.container_status(&cb).await.unwrap().state,
            ContainerState::Exited
        );
        let listed = rt.list_pod_sandboxes().await.unwrap();
        assert!(!listed.iter().find(|s| s.id == b.id).unwrap().ready);
        rt.remove_pod_sandbox(&b.id).await.unwrap();
        rt.remove_pod_sandbox(&a.id).await.unwrap();
        assert!(rt.list_pod_sandboxes().await.unwrap().is_empty());
        assert!(rt.list_containers().await.unwrap().is_empty());
        assert!(netns::list(&rt.host_names().netns_prefix).is_empty());
        let ipam = node
            .dir
            .path()
            .join("runtime/process/cni")
            .join(&rt.host_names().network);
        let allocated: Vec<String> = std::fs::read_dir(&ipam)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.parse::<IpAddr>().is_ok())
            .collect();
        assert!(allocated.is_empty(), "IPs still allocated: {allocated:?}");
    })
    .await;
}

#[tokio::test]
async fn exit_codes_and_reasons() {
    let node = Node::new();
    bounded(60, async {
        let rt = node.runtime().await;
        let sb = rt.run_pod_sandbox(&node.sandbox("exits")).await.unwrap();
        let cases: [(&[&str], i32, &str); 4] = [
            (&["true"], 0, "Completed"),
            (&["sh", "-c", "echo out; echo err >&2; exit 3"], 3, "Error"),
            (&["sh", "-c", "kill -9 $$"], 137, "Error"),
            (&["sh", "-c", "exit 1"], 1, "Error"),
        ];
        for (cmd, code, reason) in cases {
            let spec = node.spec("c", cmd);
            let id = rt.start_container(&sb.id, &spec).await.unwrap();
            let st = wait_exit(&rt, &id, 10).await;
            assert_eq!(st.exit_code, Some(code), "{cmd:?}");
            assert_eq!(st.reason.as_deref(), Some(reason), "{cmd:?}");
            assert!(st.started_at.unwrap() <= st.finished_at.unwrap());
        }
        let listed = rt.list_containers().await.unwrap();
        assert_eq!(listed.len(), 4);
        assert!(
            listed
                .iter()
                .all(|c| c.sandbox_id == sb.id && c.state == ContainerState::Exited)
        );

        // Output of both streams, full lines, in the log.
        let spec = node.spec(
            "logs",
            &["sh", "-c", "echo out; echo err >&2; printf 'no newline'"],
        );
        let id = rt.start_container(&sb.id, &spec).await.unwrap();
        wait_exit(&rt, &id, 10).await;
        let lines = log_lines(&spec.log_path);
        for want in [
            ("stdout", "out"),
            ("stderr", "err"),
            ("stdout", "no newline"),
        ] {
            assert!(
                lines.contains(&(want.0.to_string(), want.1.to_string())),
                "{want:?} not in {lines:?}"
            );
        }

        // Env, working dir, args.
        let mut spec = node.spec("env", &["sh", "-c"]);
        spec.args = vec!["echo \"$GREETING $PWD $HOSTNAME\"".to_string()];
        spec.env = vec![("GREETING".to_string(), "hello".to_string())];
        spec.working_dir = Some("/tmp".to_string());
        let id = rt.start_container(&sb.id, &spec).await.unwrap();
        assert_eq!(wait_exit(&rt, &id, 10).await.exit_code, Some(0));
        let lines = log_lines(&spec.log_path);
        assert_eq!(
            lines,
            vec![("stdout".to_string(), "hello /tmp exits".to_string())]
        );
        rt.remove_pod_sandbox(&sb.id).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn bad_containers_fail_with_reasons() {
    let node = Node::new();
    bounded(60, async {
        let rt = node.runtime().await;
        let sb = rt.run_pod_sandbox(&node.sandbox("bad")).await.unwrap();
        let keeper = rt
            .start_container(&sb.id, &node.spec("keeper", &["sleep", "60"]))
            .await
            .unwrap();

        match rt
            .start_container(&sb.id, &node.spec("image-only", &[]))
            .await
        {
            Err(RuntimeError::Unsupported { reason, message }) => {
                assert_eq!(reason, "CreateContainerError");
                assert!(message.contains("no command"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        match rt
            .start_container(&sb.id, &node.spec("typo", &["no-such-command-xyz"]))
            .await
        {
            Err(RuntimeError::StartFailed(m)) => {
                assert!(m.contains("executable file not found in $PATH"), "{m}")
            }
            other => panic!("{other:?}"),
        }
        let mut spec = node.spec("bad-volume", &["true"]);
        spec.mounts = vec![Mount {
            host_path: node.dir.path().join("missing"),
            container_path: "/data".into(),
            read_only: false,
        }];
        assert!(matches!(
            rt.start_container(&sb.id, &spec).await,
            Err(RuntimeError::StartFailed(_))
        ));
        let mut spec = node.spec("bad-wd", &["true"]);
        spec.working_dir = Some("/proc/1/no/such/dir".into());
        match rt.start_container(&sb.id, &spec).await {
            Err(RuntimeError::StartFailed(m)) => assert!(m.contains("working directory"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            rt.start_container("no-such-sandbox", &node.spec("x", &["true"]))
                .await,
            Err(RuntimeError::NotFound(_))
        ));
        // Failed starts leave nothing behind, and the other container runs on.
        let listed = rt.list_containers().await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].id, keeper);
        assert_eq!(listed[0].state, ContainerState::Running);
        assert_eq!(rt.inner.cgroups.children(), vec![keeper.clone()]);
        rt.remove_pod_sandbox(&sb.id).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn memory_limit_is_enforced_as_oom_kill() {
    let node = Node::new();
    bounded(60, async {
        let rt = node.runtime().await;
        let sb = rt.run_pod_sandbox(&node.sandbox("hog")).await.unwrap();
        let mut spec = node.spec(
            "hog",
            &[
                "python3",
                "-c",
                "b = bytearray(200 * 1024 * 1024); print('survived', len(b))",
            ],
        );
        spec.limits = ResourceLimits {
            memory_bytes: Some(50 * 1024 * 1024),
            cpu_millis: Some(500),
        };
        let id = rt.start_container(&sb.id, &spec).await.unwrap();
        let cg = lock(&rt.inner.container(&id).unwrap().record)
            .cgroup
            .clone();
        if let Some(cpu) = &cg.cpu {
            // Read while it runs (the cgroup goes with the container).
            if let Ok(q) = std::fs::read_to_string(cpu.join("cpu.cfs_quota_us")) {
                assert_eq!(q.trim(), "50000");
            }
        }
        let st = wait_exit(&rt, &id, 30).await;
        assert_eq!(st.reason.as_deref(), Some("OOMKilled"), "{st:?}");
        assert_eq!(st.exit_code, Some(137));
        assert!(
            !log_lines(&spec.log_path)
                .iter()
                .any(|(_, l)| l.contains("survived"))
        );
        // The cgroup is removed once the exit is recorded.
        assert!(cg.memory.as_ref().is_none_or(|m| !m.exists()));

        // Within the limit the same program completes.
        let mut spec = node.spec(
            "small",
            &[
                "python3",
                "-c",
                "b = bytearray(5 * 1024 * 1024); print('survived', len(b))",
            ],
        );
        spec.limits.memory_bytes = Some(50 * 1024 * 1024);
        let id = rt.start_container(&sb.id, &spec).await.unwrap();
        let st = wait_exit(&rt, &id, 30).await;
        assert_eq!(st.reason.as_deref(), Some("Completed"), "{st:?}");
        rt.remove_pod_sandbox(&sb.id).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn graceful_stop_then_kill() {
    let node = Node::new();
    bounded(60, async {
        let rt = node.runtime().await;
        let sb = rt.run_pod_sandbox(&node.sandbox("stubborn")).await.unwrap();
        // Ignores SIGTERM and has a child: the grace period runs out, SIGKILL takes the whole
        // pid namespace.
        let spec = node.spec("stubborn", &["sh", "-c", "trap '' TERM; sleep 300 & wait"]);
        let id = rt.start_container(&sb.id, &spec).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let cg = lock(&rt.inner.container(&id).unwrap().record)
            .cgroup
            .clone();
        let pids = cg.pids();
        assert!(
            pids.len() >= 3,
            "init, sh and sleep expected in the cgroup: {pids:?}"
        );
        let started = std::time::Instant::now();
        rt.stop_container(&id, Duration::from_secs(1))
            .await
            .unwrap();
        let took = started.elapsed();
        assert!(
            took >= Duration::from_secs(1) && took < Duration::from_secs(6),
            "{took:?}"
        );
        for pid in pids {
            assert!(proc_gone(pid), "pid {pid} survived");
        }
        let st = rt.container_status(&id).await.unwrap();
        assert_eq!(
            (st.exit_code, st.reason.as_deref()),
            (Some(137), Some("Error"))
        );
        // Idempotent.
        rt.stop_container(&id, Duration::from_secs(1))
            .await
            .unwrap();
        rt.remove_container(&id).await.unwrap();
        rt.remove_container(&id).await.unwrap();
        assert!(matches!(
            rt.container_status(&id).await,
            Err(RuntimeError::NotFound(_))
        ));

        // exec that outlives its timeout is killed.
        let id = rt
            .start_container(&sb.id, &node.spec("sleeper", &["sleep", "300"]))
            .await
            .unwrap();
        let started = std::time::Instant::now();
        let r = rt
            .exec_sync(
                &id,
                &["sleep".to_string(), "30".to_string()],
                Duration::from_millis(300),
            )
            .await;
        assert!(matches!(r, Err(RuntimeError::Timeout(_))), "{r:?}");
        assert!(started.elapsed() < Duration::from_secs(3));
        tokio::time::sleep(Duration::from_millis(200)).await;
        let sleeps = lock(&rt.inner.container(&id).unwrap().record).cgroup.pids();
        assert_eq!(
            sleeps.len(),
            2,
            "only init and the container's sleep remain: {sleeps:?}"
        );
        rt.remove_pod_sandbox(&sb.id).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn volumes_are_bind_mounted() {
    let node = Node::new();
    bounded(60, async {
        let rt = node.runtime().await;
        let sb = rt.run_pod_sandbox(&node.sandbox("vol")).await.unwrap();
        let data = node.dir.path().join("volume");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("key"), "value-from-volume").unwrap();
        let target = format!("/tmp/fk-test-mount-{}", uuid::Uuid::new_v4().simple());
        // The mountPath is two levels of missing directories deep.
        let script = format!("cat {target}/sub/key; touch {target}/sub/new && echo writable");
        let mut spec = node.spec("reader", &["sh", "-c", &script]);
        spec.mounts = vec![Mount {
            host_path: data.clone(),
            container_path: format!("{target}/sub"),
            read_only: true,
        }];
        let id = rt.start_container(&sb.id, &spec).await.unwrap();
        let st = wait_exit(&rt, &id, 10).await;
        let lines = log_lines(&spec.log_path);
        assert!(
            lines.contains(&("stdout".into(), "value-from-volume".into())),
            "{lines:?}"
        );
        assert!(
            !lines.iter().any(|(_, l)| l == "writable"),
            "read-only mount was writable"
        );
        assert_ne!(st.exit_code, Some(0));
        assert!(!data.join("new").exists());
        // The host only sees the (empty) mount point, and only until the container goes.
        assert!(Path::new(&target).join("sub").is_dir());
        assert!(!Path::new(&target).join("sub/key").exists());
        rt.remove_container(&id).await.unwrap();
        assert!(
            !Path::new(&target).exists(),
            "created mount point left behind"
        );
        rt.remove_pod_sandbox(&sb.id).await.unwrap();
    })
    .await;
}

#[test]
fn restarted_runtime_readopts_running_containers() {
    let node = Node::new();
    // The first "agent" runs on its own tokio runtime, which is dropped like a killed agent:
    // its tasks and pipe readers vanish, its container processes do not.
    let first = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let spec = node.spec(
        "ticker",
        &[
            "sh",
            "-c",
            "i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.1; done",
        ],
    );
    let (sandbox, id, pid) = first.block_on(bounded(30, async {
        let rt = node.runtime().await;
        let sb = rt.run_pod_sandbox(&node.sandbox("ticker")).await.unwrap();
        let id = rt.start_container(&sb.id, &spec).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let pid = rt.container_status(&id).await.unwrap().pid.unwrap();
        (sb, id, pid)
    }));
    first.shutdown_timeout(Duration::from_secs(2));
    std::thread::sleep(Duration::from_millis(500));
    assert!(!proc_gone(pid), "container died with the agent");

    let second = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    second.block_on(bounded(30, async {
        let rt = node.runtime().await;
        let sandboxes = rt.list_pod_sandboxes().await.unwrap();
        assert_eq!(sandboxes.len(), 1);
        assert_eq!(sandboxes[0].id, sandbox.id);
        assert_eq!(sandboxes[0].ips, sandbox.ips);
        assert!(sandboxes[0].ready);
        let st = rt.container_status(&id).await.unwrap();
        assert_eq!(st.state, ContainerState::Running);
        assert_eq!(st.pid, Some(pid));
        // Output written while no agent was reading, and after, reaches the log.
        let before = log_lines(&spec.log_path).len();
        tokio::time::sleep(Duration::from_millis(800)).await;
        let after = log_lines(&spec.log_path);
        assert!(after.len() > before + 3, "{before} -> {}", after.len());
        let numbers: Vec<u32> = after
            .iter()
            .filter_map(|(_, l)| l.strip_prefix("tick ")?.parse().ok())
            .collect();
        assert!(
            numbers.windows(2).all(|w| w[1] == w[0] + 1),
            "lines lost or reordered: {numbers:?}"
        );
        // The adopted container is stopped and reported like an own one.
        rt.stop_container(&id, Duration::from_secs(5))
            .await
            .unwrap();
        assert!(proc_gone(pid));
        let st = rt.container_status(&id).await.unwrap();
        assert_eq!(st.exit_code, Some(143));

        // A new sandbox for the same pod gets its old IP back when it is free.
        rt.remove_pod_sandbox(&sandbox.id).await.unwrap();
        let mut config = node.sandbox("ticker");
        config.reuse_ips = sandbox.ips.clone();
        let other = rt.run_pod_sandbox(&node.sandbox("other")).await.unwrap();
        let again = rt.run_pod_sandbox(&config).await.unwrap();
        assert_eq!(again.ips, sandbox.ips, "other got {:?}", other.ips);
        rt.remove_pod_sandbox(&again.id).await.unwrap();
        rt.remove_pod_sandbox(&other.id).await.unwrap();
    }));
}

#[test]
fn host_names_fit_and_differ() {
    let a = HostNames::new(Path::new("/var/lib/kubelet-a"), "node-1");
    let b = HostNames::new(Path::new("/var/lib/kubelet-b"), "node-1");
    let c = HostNames::new(Path::new("/var/lib/kubelet-a"), "node-2");
    assert!(a.bridge.len() <= 15, "{}", a.bridge);
    assert_ne!(a.bridge, b.bridge);
    assert_ne!(a.bridge, c.bridge);
    assert_eq!(a, HostNames::new(Path::new("/var/lib/kubelet-a"), "node-1"));
    assert!(a.netns_prefix.starts_with("fk-") && a.cgroup_parent.starts_with("ferrokube-"));
}

#[test]
fn hosts_file_names_the_pod() {
    let ips: Vec<IpAddr> = vec!["10.244.0.7".parse().unwrap()];
    let text = hosts_file_content("web-0", &ips);
    assert!(text.contains("127.0.0.1\tlocalhost\n"));
    assert!(text.ends_with("10.244.0.7\tweb-0\n"));
}
