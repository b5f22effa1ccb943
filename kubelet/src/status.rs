//! Pod status as upstream's kubelet computes it (generateAPIPodStatus / getPhase): phase,
//! conditions, container statuses, IPs and start time, from what the pod worker knows.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{
    Container, ContainerState as ApiState, ContainerStateRunning, ContainerStateTerminated,
    ContainerStateWaiting, ContainerStatus as ApiStatus, HostIP, Pod, PodCondition, PodIP, PodSpec,
    PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::probe::{ProbeKind, ProbeResults};
use crate::runtime::{ContainerState, ContainerStatus, ResourceLimits, SandboxStatus};

/// What the worker knows about one container name.
pub struct ContainerView<'a> {
    pub current: Option<&'a ContainerStatus>,
    pub previous: Option<&'a ContainerStatus>,
    pub restart_count: u32,
    pub waiting: Option<(String, String)>,
}

/// What the worker knows about the pod.
pub struct PodView<'a> {
    pub sandbox: Option<&'a SandboxStatus>,
    pub sandbox_error: Option<String>,
    pub containers: HashMap<String, ContainerView<'a>>,
    pub init_containers: HashMap<String, ContainerView<'a>>,
    /// (phase, reason, message) once the agent decided the pod is finished.
    pub terminal: Option<(String, Option<String>, Option<String>)>,
    pub start_time: Option<Time>,
    pub probes: &'a ProbeResults,
    /// Probes are treated as passing (nothing runs to probe).
    pub simulated: bool,
}

/// resources.limits as the runtime applies them.
pub fn limits_of(c: &Container) -> ResourceLimits {
    let limits = c.resources.as_ref().and_then(|r| r.limits.as_ref());
    let get = |k: &str| limits.and_then(|l| l.get(k)).map(|q| q.0.clone());
    ResourceLimits {
        memory_bytes: get("memory").and_then(|q| parse_bytes(&q)),
        cpu_millis: get("cpu").and_then(|q| parse_millis(&q)),
    }
}

/// Parses a memory quantity ("64Mi", "1G", "1000", "1e3") into bytes.
pub fn parse_bytes(q: &str) -> Option<u64> {
    let q = q.trim();
    let suffixes: &[(&str, f64)] = &[
        ("Ki", 1024.0),
        ("Mi", 1024.0 * 1024.0),
        ("Gi", 1024.0 * 1024.0 * 1024.0),
        ("Ti", 1024.0f64.powi(4)),
        ("Pi", 1024.0f64.powi(5)),
        ("Ei", 1024.0f64.powi(6)),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
        ("m", 1e-3),
    ];
    for (s, mult) in suffixes {
        if let Some(n) = q.strip_suffix(s) {
            let v: f64 = n.parse().ok()?;
            return Some((v * mult).ceil() as u64);
        }
    }
    let v: f64 = q.parse().ok()?;
    (v >= 0.0).then(|| v.ceil() as u64)
}

/// Parses a CPU quantity ("500m", "2", "0.5") into millicores.
pub fn parse_millis(q: &str) -> Option<u64> {
    let q = q.trim();
    if let Some(m) = q.strip_suffix('m') {
        return m.parse::<f64>().ok().map(|v| v.ceil() as u64);
    }
    let v: f64 = q.parse().ok()?;
    (v >= 0.0).then(|| (v * 1000.0).ceil() as u64)
}

/// A chrono time as the API's Time (k8s-openapi uses jiff).
pub fn k8s_time(t: chrono::DateTime<chrono::Utc>) -> Time {
    let nanos = i128::from(t.timestamp()) * 1_000_000_000 + i128::from(t.timestamp_subsec_nanos());
    Time(
        k8s_openapi::jiff::Timestamp::from_nanosecond(nanos)
            .unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
    )
}

/// The current time as the API's Time.
pub fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}

fn time(t: Option<chrono::DateTime<chrono::Utc>>) -> Option<Time> {
    t.map(k8s_time)
}

fn container_id(runtime: &str, id: &str) -> String {
    format!("{runtime}://{id}")
}

fn terminated(c: &ContainerStatus, runtime: &str) -> ApiState {
    ApiState {
        terminated: Some(ContainerStateTerminated {
            container_id: Some(container_id(runtime, &c.id)),
            exit_code: c.exit_code.unwrap_or(0),
            reason: c.reason.clone(),
            message: c.message.clone(),
            started_at: time(c.started_at),
            finished_at: time(c.finished_at),
            signal: None,
        }),
        ..Default::default()
    }
}

/// Whether a running container passes its readiness (and startup) probes.
fn probe_state(
    c: &Container,
    cur: &ContainerStatus,
    probes: &ProbeResults,
    simulated: bool,
) -> (bool, bool) {
    if simulated {
        return (true, true);
    }
    let started = c.startup_probe.is_none() || probes.passed(&c.name, &cur.id, ProbeKind::Startup);
    let ready = started
        && (c.readiness_probe.is_none() || probes.passed(&c.name, &cur.id, ProbeKind::Readiness));
    (started, ready)
}

fn container_status(
    c: &Container,
    v: Option<&ContainerView>,
    runtime: &str,
    default_waiting: &str,
    probes: &ProbeResults,
    simulated: bool,
) -> ApiStatus {
    let mut s = ApiStatus {
        name: c.name.clone(),
        image: c.image.clone().unwrap_or_default(),
        image_id: String::new(),
        ready: false,
        restart_count: 0,
        started: Some(false),
        ..Default::default()
    };
    let waiting = |reason: &str, message: &str| ApiState {
        waiting: Some(ContainerStateWaiting {
            reason: Some(reason.to_string()),
            message: (!message.is_empty()).then(|| message.to_string()),
        }),
        ..Default::default()
    };
    let Some(v) = v else {
        s.state = Some(waiting(default_waiting, ""));
        return s;
    };
    s.restart_count = i32::try_from(v.restart_count).unwrap_or(i32::MAX);
    if let Some(prev) = v.previous
        && prev.state == ContainerState::Exited
    {
        s.last_state = Some(terminated(prev, runtime));
    }
    match (v.current, &v.waiting) {
        // A container waiting to restart (back-off, config error) shows Waiting, and the
        // instance that exited becomes lastState, as upstream.
        (cur, Some((reason, message))) => {
            if let Some(cur) = cur
                && cur.state == ContainerState::Exited
            {
                s.last_state = Some(terminated(cur, runtime));
                s.container_id = Some(container_id(runtime, &cur.id));
                s.image_id = cur.image_id.clone();
            }
            s.state = Some(waiting(reason, message));
        }
        (Some(cur), None) => {
            s.container_id = Some(container_id(runtime, &cur.id));
            s.image_id = cur.image_id.clone();
            match cur.state {
                ContainerState::Running => {
                    let (started, ready) = probe_state(c, cur, probes, simulated);
                    s.started = Some(started);
                    s.ready = ready;
                    s.state = Some(ApiState {
                        running: Some(ContainerStateRunning {
                            started_at: time(cur.started_at),
                        }),
                        ..Default::default()
                    });
                }
                ContainerState::Exited => s.state = Some(terminated(cur, runtime)),
                ContainerState::Created | ContainerState::Unknown => {
                    s.state = Some(waiting("ContainerCreating", ""))
                }
            }
        }
        (None, None) => s.state = Some(waiting(default_waiting, "")),
    }
    s
}

fn condition(type_: &str, ok: bool, reason: Option<&str>, message: Option<String>) -> PodCondition {
    PodCondition {
        type_: type_.to_string(),
        status: if ok { "True" } else { "False" }.to_string(),
        reason: reason.map(str::to_string),
        message,
        last_probe_time: None,
        last_transition_time: None,
        observed_generation: None,
    }
}

/// The status the agent reports for `pod`. Fields it does not own (qosClass,
/// nominatedNodeName, foreign conditions) are kept from the current status.
pub fn pod_status(pod: &Pod, spec: &PodSpec, view: &PodView, host_ip: IpAddr) -> PodStatus {
    let old = pod.status.clone().unwrap_or_default();
    let runtime = if view.simulated {
        "simulated"
    } else {
        "process"
    };
    let policy = spec.restart_policy.as_deref().unwrap_or("Always");

    // Init containers.
    let mut init_statuses = Vec::new();
    let mut init_incomplete = Vec::new();
    let mut init_failed = false;
    for c in spec.init_containers.iter().flatten() {
        let v = view.init_containers.get(&c.name);
        let mut s = container_status(
            c,
            v,
            runtime,
            "PodInitializing",
            view.probes,
            view.simulated,
        );
        let done = v
            .and_then(|v| v.current)
            .is_some_and(|c| c.state == ContainerState::Exited && c.exit_code == Some(0));
        if !done {
            init_incomplete.push(c.name.clone());
            if v.and_then(|v| v.current)
                .is_some_and(|c| c.state == ContainerState::Exited && c.exit_code != Some(0))
            {
                init_failed = true;
            }
        }
        // Init containers are never "ready" except after completing.
        s.ready = done;
        init_statuses.push(s);
    }
    if init_incomplete.is_empty() {
        // Upstream's first init container waits as "PodInitializing"; after init the
        // regular containers start from "ContainerCreating".
    }
    let default_waiting = if init_incomplete.is_empty() {
        "ContainerCreating"
    } else {
        "PodInitializing"
    };

    let mut statuses = Vec::new();
    let (mut running, mut waiting, mut stopped, mut succeeded, mut unready) =
        (0, 0, 0, 0, Vec::new());
    for c in &spec.containers {
        let v = view.containers.get(&c.name);
        let mut s = container_status(c, v, runtime, default_waiting, view.probes, view.simulated);
        if view.terminal.as_ref().is_some_and(|t| t.0 == "Terminating") {
            s.ready = false;
        }
        match &s.state {
            Some(st) if st.running.is_some() => running += 1,
            Some(st) if st.terminated.is_some() => {
                stopped += 1;
                if st.terminated.as_ref().is_some_and(|t| t.exit_code == 0) {
                    succeeded += 1;
                }
            }
            _ => {
                if s.last_state
                    .as_ref()
                    .is_some_and(|l| l.terminated.is_some())
                {
                    stopped += 1;
                } else {
                    waiting += 1;
                }
            }
        }
        if !s.ready {
            unready.push(c.name.clone());
        }
        statuses.push(s);
    }
    statuses.sort_by(|a, b| a.name.cmp(&b.name));

    let (mut phase, mut reason, mut message) = match &view.terminal {
        Some((p, r, m)) if p != "Terminating" => (p.clone(), r.clone(), m.clone()),
        _ => {
            let phase = if init_failed && policy == "Never" {
                "Failed"
            } else if !init_incomplete.is_empty() || waiting > 0 {
                "Pending"
            } else if running > 0 {
                "Running"
            } else if stopped > 0 {
                match policy {
                    "Always" => "Running",
                    _ if stopped == succeeded => "Succeeded",
                    "OnFailure" => "Running",
                    _ => "Failed",
                }
            } else {
                "Pending"
            };
            (phase.to_string(), None, None)
        }
    };
    if view.terminal.as_ref().is_some_and(|t| t.0 == "Terminating") {
        // A pod being deleted keeps the phase it had.
        phase = old.phase.clone().unwrap_or(phase);
        reason = old.reason.clone();
        message = old.message.clone();
    }
    let completed = phase == "Succeeded" || phase == "Failed";

    let sandbox_ready = view.sandbox.is_some_and(|s| s.ready);
    let initialized = init_incomplete.is_empty();
    let all_ready = unready.is_empty() && !completed;
    let list = |names: &[String]| format!("[{}]", names.join(" "));
    let mut conditions = vec![
        condition("PodReadyToStartContainers", sandbox_ready, None, None),
        if initialized {
            condition(
                "Initialized",
                true,
                completed.then_some("PodCompleted"),
                None,
            )
        } else {
            condition(
                "Initialized",
                false,
                Some("ContainersNotInitialized"),
                Some(format!(
                    "containers with incomplete status: {}",
                    list(&init_incomplete)
                )),
            )
        },
        if all_ready {
            condition("Ready", true, None, None)
        } else if completed {
            condition("Ready", false, Some("PodCompleted"), None)
        } else {
            condition(
                "Ready",
                false,
                Some("ContainersNotReady"),
                Some(format!(
                    "containers with unready status: {}",
                    list(&unready)
                )),
            )
        },
        if all_ready {
            condition("ContainersReady", true, None, None)
        } else if completed {
            condition("ContainersReady", false, Some("PodCompleted"), None)
        } else {
            condition(
                "ContainersReady",
                false,
                Some("ContainersNotReady"),
                Some(format!(
                    "containers with unready status: {}",
                    list(&unready)
                )),
            )
        },
        condition("PodScheduled", true, None, None),
    ];
    // Transition times carry over while a condition keeps its status.
    let now = now();
    let old_conditions = old.conditions.clone().unwrap_or_default();
    for c in conditions.iter_mut() {
        c.last_transition_time = old_conditions
            .iter()
            .find(|o| o.type_ == c.type_ && o.status == c.status)
            .and_then(|o| o.last_transition_time.clone())
            .or_else(|| Some(now.clone()));
    }
    let ours: [&str; 5] = [
        "PodReadyToStartContainers",
        "Initialized",
        "Ready",
        "ContainersReady",
        "PodScheduled",
    ];
    for o in old_conditions {
        if !ours.contains(&o.type_.as_str()) {
            conditions.push(o);
        }
    }

    let pod_ips: Vec<String> = match view.sandbox {
        Some(s) if !s.ips.is_empty() => s.ips.iter().map(|ip| ip.to_string()).collect(),
        Some(_) if spec.host_network.unwrap_or(false) => vec![host_ip.to_string()],
        _ => old
            .pod_ips
            .as_ref()
            .map(|ips| ips.iter().map(|p| p.ip.clone()).collect())
            .unwrap_or_default(),
    };
    let _ = (&reason, &message);
    PodStatus {
        phase: Some(phase),
        reason,
        message,
        conditions: Some(conditions),
        host_ip: Some(host_ip.to_string()),
        host_ips: Some(vec![HostIP {
            ip: host_ip.to_string(),
        }]),
        pod_ip: pod_ips.first().cloned(),
        pod_ips: (!pod_ips.is_empty())
            .then(|| pod_ips.iter().map(|ip| PodIP { ip: ip.clone() }).collect()),
        start_time: view.start_time.clone(),
        container_statuses: Some(statuses),
        init_container_statuses: (!init_statuses.is_empty()).then_some(init_statuses),
        ..old
    }
}

/// Equal for reporting purposes: transition times are ignored (they only change together
/// with a condition's status).
pub fn same_status(a: &PodStatus, b: &PodStatus) -> bool {
    fn norm(s: &PodStatus) -> serde_json::Value {
        let mut s = s.clone();
        for c in s.conditions.iter_mut().flatten() {
            c.last_transition_time = None;
            c.last_probe_time = None;
        }
        let mut conds = s.conditions.take().unwrap_or_default();
        conds.sort_by(|a, b| a.type_.cmp(&b.type_));
        s.conditions = Some(conds);
        serde_json::to_value(&s).unwrap_or_default()
    }
    norm(a) == norm(b)
}

/// Env-independent map of container name -> spec, for lookups.
pub fn containers_by_name(spec: &PodSpec) -> BTreeMap<&str, &Container> {
    spec.containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .map(|c| (c.name.as_str(), c))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn quantities() {
        let bytes: &[(&str, Option<u64>)] = &[
            ("64Mi", Some(64 << 20)),
            ("1G", Some(1_000_000_000)),
            ("1000", Some(1000)),
            ("1e3", Some(1000)),
            ("x", None),
        ];
        for (q, want) in bytes {
            assert_eq!(parse_bytes(q), *want, "{q}");
        }
        let cpu: &[(&str, Option<u64>)] =
            &[("500m", Some(500)), ("2", Some(2000)), ("0.25", Some(250))];
        for (q, want) in cpu {
            assert_eq!(parse_millis(q), *want, "{q}");
        }
    }

    fn running(name: &str) -> ContainerStatus {
        ContainerStatus {
            id: format!("id-{name}"),
            sandbox_id: "sb".into(),
            pod_uid: "u".into(),
            name: name.into(),
            attempt: 0,
            state: ContainerState::Running,
            image: "img".into(),
            image_id: String::new(),
            created_at: chrono::Utc::now(),
            started_at: Some(chrono::Utc::now()),
            finished_at: None,
            exit_code: None,
            reason: None,
            message: None,
            pid: None,
            log_path: "/dev/null".into(),
        }
    }

    fn pod_with(containers: &[&str]) -> (Pod, PodSpec) {
        let spec = PodSpec {
            containers: containers
                .iter()
                .map(|n| Container {
                    name: n.to_string(),
                    image: Some("img".into()),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        (
            Pod {
                spec: Some(spec.clone()),
                ..Default::default()
            },
            spec,
        )
    }

    #[test]
    fn phase_and_conditions_follow_containers() {
        let probes = ProbeResults::default();
        let (pod, spec) = pod_with(&["a", "b"]);
        let a = running("a");
        let sandbox = SandboxStatus {
            id: "sb".into(),
            pod_uid: "u".into(),
            pod_name: "p".into(),
            pod_namespace: "default".into(),
            node_name: "n".into(),
            ips: vec!["10.0.0.2".parse().unwrap()],
            ready: true,
            created_at: chrono::Utc::now(),
        };
        let mut containers = HashMap::new();
        containers.insert(
            "a".to_string(),
            ContainerView {
                current: Some(&a),
                previous: None,
                restart_count: 0,
                waiting: None,
            },
        );
        containers.insert(
            "b".to_string(),
            ContainerView {
                current: None,
                previous: None,
                restart_count: 0,
                waiting: Some((
                    "CreateContainerConfigError".into(),
                    "configmap \"x\" not found".into(),
                )),
            },
        );
        let view = PodView {
            sandbox: Some(&sandbox),
            sandbox_error: None,
            containers,
            init_containers: HashMap::new(),
            terminal: None,
            start_time: None,
            probes: &probes,
            simulated: true,
        };
        let s = pod_status(&pod, &spec, &view, "192.168.1.1".parse().unwrap());
        assert_eq!(s.phase.as_deref(), Some("Pending"));
        assert_eq!(s.pod_ip.as_deref(), Some("10.0.0.2"));
        let ready = s
            .conditions
            .as_ref()
            .unwrap()
            .iter()
            .find(|c| c.type_ == "Ready")
            .unwrap();
        assert_eq!(ready.status, "False");
        assert_eq!(
            ready.message.as_deref(),
            Some("containers with unready status: [b]")
        );
        let b = &s.container_statuses.as_ref().unwrap()[1];
        let w = b.state.as_ref().unwrap().waiting.as_ref().unwrap();
        assert_eq!(w.reason.as_deref(), Some("CreateContainerConfigError"));
        let a = &s.container_statuses.as_ref().unwrap()[0];
        assert!(a.ready);
        assert_eq!(a.container_id.as_deref(), Some("simulated://id-a"));
    }
}
