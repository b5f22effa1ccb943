//! The node agent on the `process` runtime, end to end: the real `kubelet` binary against a
//! real API server, driven with real kubectl. Pods with spec.nodeName set (no scheduler) run
//! as host processes in their own namespaces with their own pod IPs; the tests check what a
//! user sees: status, curl to pod IPs, `kubectl logs`, events, processes (by PID) and the
//! node's Lease, also across a SIGKILL and restart of the agent.
//!
//! Needs root (network namespaces, bridges, cgroups). Each test has its own API server, root
//! dir, node name and pod CIDR; every agent runs with --stop-pods-on-exit and a guard removes
//! any process, network namespace, bridge and cgroup left behind, also when a test fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use e2e::apiserver::ApiServer;
use e2e::cluster::{eventually, suffix};
use e2e::kubelet::{ProcessNode, find_pids, pid_alive};
use serde_json::{Value, json};

/// Bound for each whole test.
const TEST_TIMEOUT: Duration = Duration::from_secs(150);

async fn apply(api: &ApiServer, objects: &[Value]) {
    let list = json!({"apiVersion": "v1", "kind": "List", "items": objects});
    let out = api
        .kubectl_with_input(&["apply", "-f", "-"], Some(list.to_string().as_bytes()))
        .await;
    assert!(
        out.status.success(),
        "kubectl apply failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn get_pod(api: &ApiServer, name: &str) -> Option<Value> {
    api.kubectl_json(&["get", "pod", name, "-o", "json"])
        .await
        .ok()
}

fn condition(obj: &Value, type_: &str) -> Option<String> {
    obj.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
        .and_then(|c| c["status"].as_str())
        .map(str::to_string)
}

fn container_status<'a>(pod: &'a Value, name: &str) -> Option<&'a Value> {
    pod.pointer("/status/containerStatuses")?
        .as_array()?
        .iter()
        .find(|c| c["name"] == name)
}

async fn wait_node_ready(api: &ApiServer, node: &ProcessNode) {
    let name = node.node_name.clone();
    let r = eventually("node Ready", Duration::from_secs(40), || async {
        let n = api
            .kubectl_json(&["get", "node", &name, "-o", "json"])
            .await
            .ok()?;
        (condition(&n, "Ready").as_deref() == Some("True")).then_some(())
    })
    .await;
    if let Err(e) = r {
        panic!("{e}\n{}", node.proc.log_tail(40));
    }
}

/// A pod bound to `node` running python's http.server on 8080, with a readiness probe on it
/// and an env marker to find its process by.
fn web_pod(name: &str, node: &str, marker: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "nodeName": node,
            "terminationGracePeriodSeconds": 5,
            "containers": [{
                "name": "web",
                "image": "python:3",
                "command": ["python3", "-m", "http.server", "8080"],
                "workingDir": "/tmp",
                "env": [
                    {"name": "FK_TEST_MARKER", "value": marker},
                    {"name": "PYTHONUNBUFFERED", "value": "1"},
                ],
                "ports": [{"containerPort": 8080}],
                "readinessProbe": {
                    "httpGet": {"path": "/", "port": 8080},
                    "periodSeconds": 1,
                },
            }],
        },
    })
}

async fn curl(url: &str) -> Option<String> {
    let out = tokio::process::Command::new("curl")
        .args(["-s", "-f", "-m", "3", url])
        .kill_on_drop(true)
        .output()
        .await
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

async fn lease_renew_time(api: &ApiServer, node: &str) -> Option<String> {
    let lease = api
        .kubectl_json(&["get", "lease", "-n", "kube-node-lease", node, "-o", "json"])
        .await
        .ok()?;
    lease
        .pointer("/spec/renewTime")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Events about `pod` as (reason, message, count, source.component, source.host).
async fn pod_events(api: &ApiServer, pod: &str) -> Vec<(String, String, i64, String, String)> {
    let Ok(list) = api
        .kubectl_json(&["get", "events", "-n", "default", "-o", "json"])
        .await
    else {
        return Vec::new();
    };
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["involvedObject"]["name"] == pod)
        .map(|e| {
            (
                e["reason"].as_str().unwrap_or("").to_string(),
                e["message"].as_str().unwrap_or("").to_string(),
                e["count"].as_i64().unwrap_or(0),
                e["source"]["component"].as_str().unwrap_or("").to_string(),
                e["source"]["host"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// Waits for the agent process to exit.
async fn wait_exit(node: &mut ProcessNode, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if !node.proc.is_running() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

fn marker_env(marker: &str) -> String {
    format!("FK_TEST_MARKER={marker}")
}

/// Pods Running/Ready with distinct IPs that answer curl from the host, `kubectl logs` (and
/// `-f`), events, deletion within the grace period, lease renewals stopping with the agent,
/// re-adoption without duplicates after a SIGKILL, clean-up of a pod deleted while the agent
/// was down, and --stop-pods-on-exit removing everything.
#[tokio::test]
async fn web_pods_run_log_stop_and_survive_agent_restart() {
    tokio::time::timeout(TEST_TIMEOUT, web_pods_inner())
        .await
        .expect("test timed out");
}

async fn web_pods_inner() {
    let data = tempfile::tempdir().unwrap();
    let api = ApiServer::start_embedded(data.path()).await.unwrap();
    let sfx = suffix();
    let node_name = format!("kp-web-{sfx}");
    let mut node = ProcessNode::start(&api, &node_name, &[]).unwrap();
    wait_node_ready(&api, &node).await;

    let names = ["web-a", "web-b", "web-c", "web-d"];
    let markers: Vec<String> = names.iter().map(|n| format!("{sfx}-{n}")).collect();
    let pods: Vec<Value> = names
        .iter()
        .zip(&markers)
        .map(|(n, m)| web_pod(n, &node_name, m))
        .collect();
    apply(&api, &pods).await;

    // Running and Ready, each with its own pod IP.
    let mut ips = Vec::new();
    for name in names {
        let r = eventually(
            &format!("{name} Running and Ready"),
            Duration::from_secs(40),
            || async {
                let p = get_pod(&api, name).await?;
                let ready = condition(&p, "Ready").as_deref() == Some("True");
                let ip = p.pointer("/status/podIP")?.as_str()?.to_string();
                (p["status"]["phase"] == "Running" && ready).then_some(ip)
            },
        )
        .await;
        match r {
            Ok(ip) => ips.push(ip),
            Err(e) => panic!(
                "{e}: {:#}\n{}",
                get_pod(&api, name).await.unwrap_or_default()["status"],
                node.proc.log_tail(40)
            ),
        }
    }
    let mut distinct = ips.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), names.len(), "pod IPs must differ: {ips:?}");
    let prefix = node.pod_cidr.trim_end_matches("0/24");
    for ip in &ips {
        assert!(
            ip.starts_with(prefix),
            "pod IP {ip} not in {}",
            node.pod_cidr
        );
    }

    // Reachable from the host on the pod IPs: two pods both listen on 8080.
    for ip in &ips {
        let body = curl(&format!("http://{ip}:8080/")).await;
        assert!(
            body.as_deref()
                .is_some_and(|b| b.contains("Directory listing")),
            "curl http://{ip}:8080/ answered {body:?}"
        );
    }

    // kubectl logs shows the server's output (its start-up line and the request).
    let logs = eventually(
        "request in kubectl logs",
        Duration::from_secs(10),
        || async {
            let out = api.kubectl_ok(&["logs", "web-a"]).await.ok()?;
            (out.contains("Serving HTTP") && out.contains("\"GET / HTTP/1.1\" 200")).then_some(out)
        },
    )
    .await;
    assert!(logs.is_ok(), "{logs:?}");
    let tail = api
        .kubectl_ok(&["logs", "web-a", "--tail", "1"])
        .await
        .unwrap();
    assert_eq!(tail.lines().count(), 1, "--tail 1 gave {tail:?}");

    // kubectl logs -f streams what the container writes after it started.
    let mut follow = api.kubectl_command(&["logs", "-f", "web-a"]);
    let mut child = follow.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let ip_a = ips[0].clone();
    let followed = async {
        use tokio::io::AsyncBufReadExt;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let poke = async {
            loop {
                let _ = curl(&format!("http://{ip_a}:8080/followed-{sfx}")).await;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        };
        tokio::select! {
            _ = poke => false,
            found = async {
                while let Ok(Some(line)) = lines.next_line().await {
                    if line.contains(&format!("/followed-{sfx}")) {
                        return true;
                    }
                }
                false
            } => found,
        }
    };
    let found = tokio::time::timeout(Duration::from_secs(15), followed)
        .await
        .unwrap_or(false);
    let _ = child.kill().await;
    assert!(found, "kubectl logs -f did not stream the new request");

    // A container the pod does not have: the API server's 400, as upstream.
    let out = api.kubectl(&["logs", "web-a", "-c", "nope"]).await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("container nope is not valid for pod web-a"),
        "{err}"
    );

    // Events from the kubelet: Created and Started, with the node as source.
    let events = eventually(
        "Created/Started events",
        Duration::from_secs(10),
        || async {
            let ev = pod_events(&api, "web-a").await;
            let has = |reason: &str| ev.iter().any(|e| e.0 == reason);
            (has("Created") && has("Started")).then_some(ev)
        },
    )
    .await
    .unwrap();
    for e in &events {
        assert_eq!(
            (e.3.as_str(), e.4.as_str()),
            ("kubelet", node_name.as_str())
        );
    }
    let describe = api.kubectl_ok(&["describe", "pod", "web-a"]).await.unwrap();
    assert!(
        describe.contains("Started container web") && describe.contains("Created container: web"),
        "{describe}"
    );

    // Deleting a pod stops its process within the grace period (5 s).
    let pid_a = find_pids(&marker_env(&markers[0]), "http.server");
    assert_eq!(pid_a.len(), 1, "one web-a process: {pid_a:?}");
    let started = Instant::now();
    api.kubectl_ok(&["delete", "pod", "web-a", "--timeout=30s"])
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(
        !pid_alive(pid_a[0]),
        "web-a's process {} survived",
        pid_a[0]
    );
    assert!(took < Duration::from_secs(15), "delete took {took:?}");
    let events = pod_events(&api, "web-a").await;
    assert!(
        events.iter().any(|e| e.0 == "Killing"),
        "no Killing event: {events:?}"
    );

    // Kill the agent: the pods keep running, the Lease stops being renewed.
    let pid_b = find_pids(&marker_env(&markers[1]), "http.server");
    let pid_c = find_pids(&marker_env(&markers[2]), "http.server");
    let pid_d = find_pids(&marker_env(&markers[3]), "http.server");
    assert_eq!(
        (pid_b.len(), pid_c.len(), pid_d.len()),
        (1, 1, 1),
        "{pid_b:?} {pid_c:?} {pid_d:?}"
    );
    assert!(lease_renew_time(&api, &node_name).await.is_some());
    node.proc.kill9();
    let renew_after_kill = lease_renew_time(&api, &node_name).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        lease_renew_time(&api, &node_name).await,
        renew_after_kill,
        "the Lease was renewed with the agent dead"
    );
    assert!(pid_alive(pid_b[0]) && pid_alive(pid_c[0]));
    // With the agent down the log proxy answers 503 and says why.
    let out = api.kubectl(&["logs", "web-b"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("cannot reach the kubelet of node"),
        "{err}"
    );
    // web-d's process dies while the agent is down.
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid_d[0].to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // web-c disappears from the API while the agent is down.
    api.kubectl_ok(&["delete", "pod", "web-c", "--grace-period=0", "--force"])
        .await
        .unwrap();

    // Restart: web-b is re-adopted (same process, no second copy, restartCount 0), web-c's
    // leftovers are removed, renewals resume.
    node.proc.restart().unwrap();
    let r = eventually("lease renewed again", Duration::from_secs(20), || async {
        let t = lease_renew_time(&api, &node_name).await;
        (t != renew_after_kill).then_some(())
    })
    .await;
    assert!(r.is_ok(), "{r:?}\n{}", node.proc.log_tail(40));
    let r = eventually(
        "web-c's process removed",
        Duration::from_secs(20),
        || async { (!pid_alive(pid_c[0]) && node.cleanup.netns().len() == 2).then_some(()) },
    )
    .await;
    assert!(
        r.is_ok(),
        "{r:?}: netns {:?}\n{}",
        node.cleanup.netns(),
        node.proc.log_tail(40)
    );
    // Several syncs of the re-adopted pod, then the same single process still serves.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(find_pids(&marker_env(&markers[1]), "http.server"), pid_b);
    let p = get_pod(&api, "web-b").await.unwrap();
    assert_eq!(p["status"]["phase"], "Running");
    assert_eq!(condition(&p, "Ready").as_deref(), Some("True"));
    assert_eq!(container_status(&p, "web").unwrap()["restartCount"], 0);
    assert_eq!(p["status"]["podIP"].as_str(), Some(ips[1].as_str()));
    assert!(curl(&format!("http://{}:8080/", ips[1])).await.is_some());

    // web-d is restarted (restartPolicy Always): a new process, restartCount 1, the exit
    // recorded as its last state.
    let r = eventually("web-d restarted", Duration::from_secs(20), || async {
        let p = get_pod(&api, "web-d").await?;
        let c = container_status(&p, "web")?;
        let pids = find_pids(&marker_env(&markers[3]), "http.server");
        (c["restartCount"] == 1
            && c.pointer("/state/running").is_some()
            && c.pointer("/lastState/terminated/exitCode") == Some(&json!(137))
            && pids.len() == 1
            && pids != pid_d)
            .then_some(())
    })
    .await;
    assert!(
        r.is_ok(),
        "{r:?}: {:#}",
        get_pod(&api, "web-d").await.unwrap_or_default()["status"]
    );

    // --stop-pods-on-exit: SIGTERM stops the pods and removes the node's host objects.
    assert!(node.cleanup.bridge_exists());
    node.proc.signal("TERM").unwrap();
    assert!(
        wait_exit(&mut node, Duration::from_secs(20)).await,
        "{}",
        node.proc.log_tail(40)
    );
    assert!(!pid_alive(pid_b[0]), "web-b survived --stop-pods-on-exit");
    assert_eq!(
        find_pids(&marker_env(&markers[3]), "http.server"),
        Vec::<u32>::new()
    );
    assert_eq!(node.cleanup.netns(), Vec::<String>::new());
    assert!(!node.cleanup.bridge_exists(), "bridge left behind");
    assert_eq!(node.cleanup.container_pids(), Vec::<u32>::new());
    assert!(
        node.cleanup.cgroup_parents().is_empty(),
        "cgroups left: {:?}",
        node.cleanup.cgroup_parents()
    );
}

fn pod(name: &str, node: &str, restart: &str, container: Value, volumes: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "nodeName": node,
            "restartPolicy": restart,
            "terminationGracePeriodSeconds": 1,
            "containers": [container],
            "volumes": volumes,
        },
    })
}

/// A condition on a pod object.
type Check = Box<dyn Fn(&Value) -> bool>;

fn sleeper(extra: Value) -> Value {
    let mut c = json!({"name": "main", "image": "busybox", "command": ["sleep", "3600"]});
    if let (Some(c), Some(extra)) = (c.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            c.insert(k.clone(), v.clone());
        }
    }
    c
}

/// Crash loops, liveness and readiness probes, a memory limit, and bad input (missing
/// configMap, a command that does not exist, an unsupported volume type) each show up in
/// status and events, while a healthy pod on the same node keeps running.
#[tokio::test]
async fn failing_containers_report_why() {
    tokio::time::timeout(TEST_TIMEOUT, failing_inner())
        .await
        .expect("test timed out");
}

async fn failing_inner() {
    let data = tempfile::tempdir().unwrap();
    let api = ApiServer::start_embedded(data.path()).await.unwrap();
    let node_name = format!("kp-fail-{}", suffix());
    // Without --stop-pods-on-exit: the end of the test checks that pods outlive a SIGTERM.
    let mut node = ProcessNode::start_keeping_pods(
        &api,
        &node_name,
        &[
            "--crash-loop-backoff-base",
            "1s",
            "--crash-loop-backoff-max",
            "4s",
        ],
    )
    .unwrap();
    wait_node_ready(&api, &node).await;
    let n = node_name.as_str();
    let healthy_marker = format!("{node_name}-healthy");
    let none = json!([]);
    let exec =
        |cmd: &[&str]| json!({"exec": {"command": cmd}, "periodSeconds": 1, "failureThreshold": 2});
    let pods = vec![
        pod(
            "crash",
            n,
            "Always",
            json!({"name": "main", "image": "busybox", "command": ["sh", "-c", "echo boom; exit 1"]}),
            none.clone(),
        ),
        pod(
            "liveness",
            n,
            "Always",
            sleeper(json!({"livenessProbe": exec(&["cat", "/nonexistent/healthy"])})),
            none.clone(),
        ),
        pod(
            "unready",
            n,
            "Always",
            sleeper(json!({"readinessProbe": exec(&["false"])})),
            none.clone(),
        ),
        pod(
            "oom",
            n,
            "Never",
            json!({
                "name": "main", "image": "python:3",
                "command": ["python3", "-c", "a = b'x' * (512 * 1024 * 1024)"],
                "resources": {"limits": {"memory": "64Mi"}},
            }),
            none.clone(),
        ),
        pod(
            "missing-cm",
            n,
            "Always",
            sleeper(
                json!({"env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "missing-cm", "key": "k"}}}]}),
            ),
            none.clone(),
        ),
        pod(
            "bad-cmd",
            n,
            "Always",
            json!({"name": "main", "image": "busybox", "command": ["/nonexistent/bin/app"]}),
            none.clone(),
        ),
        pod(
            "nfs",
            n,
            "Always",
            sleeper(json!({"volumeMounts": [{"name": "data", "mountPath": "/data"}]})),
            json!([{"name": "data", "nfs": {"server": "nfs.example", "path": "/export"}}]),
        ),
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "healthy", "namespace": "default"},
            "spec": {
                "nodeName": n,
                "terminationGracePeriodSeconds": 1,
                "containers": [
                    {
                        "name": "main", "image": "busybox", "command": ["sleep", "3600"],
                        "env": [{"name": "FK_TEST_MARKER", "value": healthy_marker}],
                    },
                    {"name": "side", "image": "busybox", "command": ["sleep", "3600"]},
                ],
            },
        }),
    ];
    apply(&api, &pods).await;

    let waiting = |p: &Value, reason: &str, needle: &str| {
        container_status(p, "main")
            .and_then(|c| c.pointer("/state/waiting"))
            .is_some_and(|w| {
                w["reason"] == reason && w["message"].as_str().unwrap_or("").contains(needle)
            })
    };
    let checks: Vec<(&str, &str, Check)> = vec![
        (
            "crash",
            "restartCount >= 2 in CrashLoopBackOff after exit code 1",
            Box::new(|p: &Value| {
                container_status(p, "main").is_some_and(|c| {
                    c["restartCount"].as_i64().unwrap_or(0) >= 2
                        && c.pointer("/state/waiting/reason") == Some(&json!("CrashLoopBackOff"))
                        && c.pointer("/lastState/terminated/exitCode") == Some(&json!(1))
                })
            }),
        ),
        (
            "liveness",
            "restarted by its liveness probe",
            Box::new(|p: &Value| {
                container_status(p, "main")
                    .is_some_and(|c| c["restartCount"].as_i64().unwrap_or(0) >= 1)
            }),
        ),
        (
            "oom",
            "terminated OOMKilled",
            Box::new(|p: &Value| {
                container_status(p, "main").is_some_and(|c| {
                    c.pointer("/state/terminated/reason") == Some(&json!("OOMKilled"))
                })
            }),
        ),
        (
            "missing-cm",
            "Waiting CreateContainerConfigError",
            Box::new(move |p: &Value| {
                waiting(
                    p,
                    "CreateContainerConfigError",
                    "configmap \"missing-cm\" not found",
                )
            }),
        ),
        (
            "bad-cmd",
            "Waiting RunContainerError",
            Box::new(move |p: &Value| waiting(p, "RunContainerError", "/nonexistent/bin/app")),
        ),
        (
            "nfs",
            "Waiting CreateContainerConfigError for the nfs volume",
            Box::new(move |p: &Value| waiting(p, "CreateContainerConfigError", "nfs")),
        ),
        (
            "healthy",
            "Ready",
            Box::new(|p: &Value| condition(p, "Ready").as_deref() == Some("True")),
        ),
    ];
    for (name, what, check) in &checks {
        let r = eventually(
            &format!("{name}: {what}"),
            Duration::from_secs(45),
            || async {
                let p = get_pod(&api, name).await?;
                check(&p).then_some(())
            },
        )
        .await;
        if let Err(e) = r {
            panic!(
                "{e}: {:#}\n{}",
                get_pod(&api, name).await.unwrap_or_default()["status"],
                node.proc.log_tail(30)
            );
        }
    }

    // A failing readiness probe: running, but not Ready, for many probe periods.
    let p = get_pod(&api, "unready").await.unwrap();
    let c = container_status(&p, "main").unwrap();
    assert!(c.pointer("/state/running").is_some(), "{c}");
    assert_eq!(c["ready"], false);
    assert_eq!(condition(&p, "Ready").as_deref(), Some("False"));
    assert_eq!(condition(&p, "ContainersReady").as_deref(), Some("False"));
    assert_eq!(c["restartCount"], 0);

    // Logs of a crashing container, current and previous instance.
    let logs = api.kubectl_ok(&["logs", "crash"]).await.unwrap();
    assert!(logs.contains("boom"), "{logs:?}");
    let logs = api
        .kubectl_ok(&["logs", "crash", "--previous"])
        .await
        .unwrap();
    assert!(logs.contains("boom"), "{logs:?}");
    // Several containers and none named: upstream's 400 (kubectl itself would pick the
    // first container, so the API is asked directly).
    let out = api
        .kubectl(&[
            "get",
            "--raw",
            "/api/v1/namespaces/default/pods/healthy/log",
        ])
        .await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && err.contains(
                "a container name must be specified for pod healthy, choose one of: [main side]"
            ),
        "{err}"
    );
    // A pod no node runs yet: upstream's 400.
    apply(
        &api,
        &[json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "unbound", "namespace": "default"},
            "spec": {"containers": [{"name": "main", "image": "busybox"}]},
        })],
    )
    .await;
    let out = api.kubectl(&["logs", "unbound"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("pod unbound does not have a host assigned"),
        "{err}"
    );
    let side = api
        .kubectl_ok(&["logs", "healthy", "-c", "side"])
        .await
        .unwrap();
    assert_eq!(side, "");

    // Events: one BackOff object counted up, Unhealthy + Killing for the liveness probe,
    // Failed for the bad command, FailedMount-free config errors reported as Failed.
    let r = eventually("events", Duration::from_secs(20), || async {
        let crash = pod_events(&api, "crash").await;
        let backoff: Vec<_> = crash.iter().filter(|e| e.0 == "BackOff").collect();
        let live = pod_events(&api, "liveness").await;
        let unready = pod_events(&api, "unready").await;
        let bad = pod_events(&api, "bad-cmd").await;
        let cm = pod_events(&api, "missing-cm").await;
        let ok = backoff.len() == 1
            && backoff[0].2 >= 2
            && backoff[0]
                .1
                .starts_with("Back-off restarting failed container main in pod crash_default(")
            && live
                .iter()
                .any(|e| e.0 == "Unhealthy" && e.1.starts_with("Liveness probe failed: "))
            && live.iter().any(|e| {
                e.0 == "Killing" && e.1 == "Container main failed liveness probe, will be restarted"
            })
            && unready.iter().any(|e| {
                e.0 == "Unhealthy" && e.1.starts_with("Readiness probe failed: ") && e.2 >= 2
            })
            && bad
                .iter()
                .any(|e| e.0 == "Failed" && e.1.contains("/nonexistent/bin/app"))
            && cm
                .iter()
                .any(|e| e.0 == "Failed" && e.1 == "Error: configmap \"missing-cm\" not found");
        ok.then_some(())
    })
    .await;
    if r.is_err() {
        panic!(
            "events not as expected: crash {:?}\nliveness {:?}\nunready {:?}\nbad-cmd {:?}\nmissing-cm {:?}",
            pod_events(&api, "crash").await,
            pod_events(&api, "liveness").await,
            pod_events(&api, "unready").await,
            pod_events(&api, "bad-cmd").await,
            pod_events(&api, "missing-cm").await,
        );
    }

    // The healthy pod kept running through all of it.
    let p = get_pod(&api, "healthy").await.unwrap();
    assert_eq!(condition(&p, "Ready").as_deref(), Some("True"));
    assert_eq!(container_status(&p, "main").unwrap()["restartCount"], 0);

    // SIGTERM without --stop-pods-on-exit: the agent exits, its pods keep running (the
    // guard removes them and the node's host objects afterwards).
    let healthy = find_pids(&marker_env(&healthy_marker), "sleep");
    assert_eq!(healthy.len(), 1, "{healthy:?}");
    node.proc.signal("TERM").unwrap();
    assert!(
        wait_exit(&mut node, Duration::from_secs(20)).await,
        "{}",
        node.proc.log_tail(40)
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(pid_alive(healthy[0]), "the pod did not outlive the agent");
    assert!(node.cleanup.bridge_exists());
}
