//! A highly available cluster as separate processes: a three-member etcd cluster, two API
//! servers behind `ferrokube lb`, two schedulers and two controller-managers with leader
//! election, and simulated nodes. Failures while it works: the etcd leader killed during a
//! rollout, one API server killed, the leading scheduler and controller-manager killed. A
//! writer records every acknowledged create; all must be readable at the end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use e2e::apiserver::free_port;
use e2e::cluster::{EtcdCluster, Kube, Proc, eventually, kubeconfig_for_server, leader_of};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::PostParams;
use serde_json::json;

const DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 6
  strategy:
    rollingUpdate: {maxSurge: 1, maxUnavailable: 1}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.7.9
"#;

/// Short leader-election timings; `prefix` is "" for the scheduler's flags (issue 5's
/// names) and "leader-elect-" for the controller-manager's (kube-controller-manager's names).
fn leader_flags(prefix: &str) -> Vec<String> {
    vec![
        "--leader-elect".into(),
        format!("--{prefix}lease-duration"),
        "4s".into(),
        format!("--{prefix}renew-deadline"),
        "3s".into(),
        format!("--{prefix}retry-period"),
        "1s".into(),
        "--port".into(),
        "0".into(),
    ]
}

async fn available(kube: &Kube, want: u64) -> Option<()> {
    let d = kube
        .kubectl_json(&["get", "deployment", "web", "-o", "json"])
        .await
        .ok()?;
    let status = &d["status"];
    (status["availableReplicas"].as_u64() == Some(want)
        && status["updatedReplicas"].as_u64() == Some(want)
        && status["replicas"].as_u64() == Some(want)
        && status["observedGeneration"] == d["metadata"]["generation"])
        .then_some(())
}

fn tails(schedulers: &[Proc], managers: &[Proc]) -> String {
    schedulers
        .iter()
        .chain(managers)
        .map(|p| p.log_tail(15))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ha_cluster_survives_component_and_etcd_failures() {
    tokio::time::timeout(Duration::from_secs(240), run())
        .await
        .expect("the HA scenario did not finish in 240 s");
}

async fn run() {
    let dir = tempfile::Builder::new().prefix("ha-").tempdir().unwrap();
    let logs = dir.path();
    let mut etcd = EtcdCluster::start(3).await.unwrap();
    let endpoints = etcd.endpoints().join(",");
    let pki = logs.join("pki");

    // Two API servers on one etcd cluster, sharing one CA and serving certificate.
    let mut apiservers = Vec::new();
    let mut ports = Vec::new();
    for name in ["a", "b"] {
        let port = free_port().unwrap();
        let kubeconfig = logs.join(format!("kubeconfig-{name}"));
        let args = vec![
            "--etcd-servers".into(),
            endpoints.clone(),
            "--secure-port".into(),
            port.to_string(),
            "--bind-address".into(),
            "127.0.0.1".into(),
            "--cert-dir".into(),
            pki.display().to_string(),
            "--kubeconfig-out".into(),
            kubeconfig.display().to_string(),
        ];
        let p = Proc::start(&format!("apiserver-{name}"), "apiserver", &args, logs).unwrap();
        eventually(
            "API server writes its kubeconfig",
            Duration::from_secs(30),
            || {
                let k = kubeconfig.clone();
                async move { k.exists().then_some(()) }
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", p.log_tail(30)));
        apiservers.push(p);
        ports.push(port);
    }

    let lb_port = free_port().unwrap();
    let _lb = Proc::start(
        "lb",
        "ferrokube",
        &[
            "lb".into(),
            "--listen".into(),
            format!("127.0.0.1:{lb_port}"),
            "--backend".into(),
            format!("127.0.0.1:{}", ports[0]),
            "--backend".into(),
            format!("127.0.0.1:{}", ports[1]),
        ],
        logs,
    )
    .unwrap();
    let kubeconfig = logs.join("kubeconfig");
    kubeconfig_for_server(
        &logs.join("kubeconfig-a"),
        &kubeconfig,
        &format!("https://127.0.0.1:{lb_port}"),
    )
    .unwrap();
    let kube = Kube::new(&kubeconfig, &logs.join("kubectl-cache"));
    eventually(
        "the load balancer answers",
        Duration::from_secs(10),
        || async { kube.kubectl(&["get", "--raw", "/readyz"]).await.ok() },
    )
    .await
    .unwrap();

    let kc = vec!["--kubeconfig".to_string(), kubeconfig.display().to_string()];
    let with = |extra: Vec<String>| [kc.clone(), extra].concat();
    let mut schedulers = vec![
        Proc::start("scheduler-1", "scheduler", &with(leader_flags("")), logs).unwrap(),
        Proc::start("scheduler-2", "scheduler", &with(leader_flags("")), logs).unwrap(),
    ];
    let mut managers = vec![
        Proc::start(
            "cm-1",
            "controller-manager",
            &with(leader_flags("leader-elect-")),
            logs,
        )
        .unwrap(),
        Proc::start(
            "cm-2",
            "controller-manager",
            &with(leader_flags("leader-elect-")),
            logs,
        )
        .unwrap(),
    ];
    let _nodes = Proc::start(
        "kubelet",
        "kubelet",
        &with(
            [
                "--node-name",
                "ha",
                "--runtime",
                "simulated",
                "--simulated-nodes",
                "3",
                "--root-dir",
                &logs.join("kubelet").display().to_string(),
                "--port",
                "0",
            ]
            .map(String::from)
            .to_vec(),
        ),
        logs,
    )
    .unwrap();

    // A writer that records every create the API acknowledged.
    let client = kube.client().await.unwrap();
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = tokio_util::sync::CancellationToken::new();
    let writer = {
        let acked = acked.clone();
        let stop = stop.clone();
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
        tokio::spawn(async move {
            let mut i = 0u64;
            while !stop.is_cancelled() {
                i += 1;
                let name = format!("w-{i}");
                let cm: ConfigMap = serde_json::from_value(json!({
                    "metadata": {"name": name}, "data": {"i": i.to_string()}
                }))
                .unwrap();
                let pp = PostParams::default();
                let create = api.create(&pp, &cm);
                if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_secs(5), create).await {
                    acked.lock().unwrap().push(name);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };

    kube.apply(DEPLOYMENT).await.unwrap();
    eventually("6 replicas available", Duration::from_secs(60), || {
        available(&kube, 6)
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", tails(&schedulers, &managers)));

    // Roll out a new image and kill the etcd leader in the middle of it.
    kube.kubectl(&["set", "image", "deployment/web", "web=nginx:1.10.4"])
        .await
        .unwrap();
    let leader = etcd.leader().await.expect("etcd has a leader");
    etcd.members[leader].proc.kill9();
    eventually(
        "the rollout completes without the old etcd leader",
        Duration::from_secs(60),
        || available(&kube, 6),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", tails(&schedulers, &managers)));
    let images = kube
        .kubectl(&[
            "get",
            "pods",
            "-l",
            "app=web",
            "-o",
            "jsonpath={.items[*].spec.containers[0].image}",
        ])
        .await
        .unwrap();
    assert!(
        images.split_whitespace().all(|i| i == "nginx:1.10.4"),
        "{images}"
    );
    etcd.restart_member(leader).unwrap();

    // One API server dies: kubectl and the components carry on through the other.
    apiservers[0].kill9();
    kube.kubectl(&["scale", "deployment", "web", "--replicas=8"])
        .await
        .unwrap();
    eventually(
        "scaled to 8 through the surviving API server",
        Duration::from_secs(60),
        || available(&kube, 8),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", tails(&schedulers, &managers)));

    // The leading scheduler and controller-manager die: the standbys take over within the
    // lease duration (4 s) plus the retry period.
    let s = leader_of(&[&schedulers[0], &schedulers[1]]).expect("a scheduler leads");
    let c = leader_of(&[&managers[0], &managers[1]]).expect("a controller-manager leads");
    schedulers[s].kill9();
    managers[c].kill9();
    tokio::time::sleep(Duration::from_secs(1)).await;
    kube.kubectl(&["scale", "deployment", "web", "--replicas=10"])
        .await
        .unwrap();
    eventually("standbys scale to 10", Duration::from_secs(30), || {
        available(&kube, 10)
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", tails(&schedulers, &managers)));
    assert!(leader_of(&[&schedulers[1 - s]]).is_some());
    assert!(leader_of(&[&managers[1 - c]]).is_some());

    // No pod was bound twice: every node's pods are distinct and the count is right.
    let bound = kube
        .kubectl(&[
            "get",
            "pods",
            "-l",
            "app=web",
            "-o",
            "jsonpath={.items[*].spec.nodeName}",
        ])
        .await
        .unwrap();
    assert_eq!(bound.split_whitespace().count(), 10, "{bound}");

    stop.cancel();
    writer.await.unwrap();
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 50,
        "the writer got only {} acknowledgements",
        acked.len()
    );
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    for name in &acked {
        assert!(
            api.get_opt(name).await.unwrap().is_some(),
            "acknowledged ConfigMap {name} is lost"
        );
    }
    drop(apiservers);
}
