//! A multi-node cluster as separate processes: etcd, apiserver, scheduler,
//! controller-manager and three node agents (process runtime), each agent in its own network
//! namespace with its own IP, as if on its own host. A 6-replica Deployment spreads 2/2/2;
//! one node cut off (its agent stopped) has its pods recreated on the other two within the
//! grace period plus the pods' toleration, and once it is back its stale pods are cleaned up.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::time::Duration;

use e2e::apiserver::free_port;
use e2e::cluster::{Kube, Proc, TestNetwork, eventually, kubeconfig_for_server};
use e2e::etcd::Etcd;

const DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: sleeper
spec:
  replicas: 6
  selector:
    matchLabels: {app: sleeper}
  template:
    metadata:
      labels: {app: sleeper}
    spec:
      terminationGracePeriodSeconds: 2
      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 3}
      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 3}
      containers:
      - name: sleeper
        image: busybox
        command: ["sleep", "3600"]
"#;

/// Running, not terminating pods of the Deployment per node.
async fn running_per_node(kube: &Kube) -> BTreeMap<String, usize> {
    let mut per_node = BTreeMap::new();
    let Ok(pods) = kube
        .kubectl_json(&["get", "pods", "-l", "app=sleeper", "-o", "json"])
        .await
    else {
        return per_node;
    };
    for p in pods["items"].as_array().into_iter().flatten() {
        if p["metadata"]["deletionTimestamp"].is_string() || p["status"]["phase"] != "Running" {
            continue;
        }
        let node = p["spec"]["nodeName"].as_str().unwrap_or("").to_string();
        *per_node.entry(node).or_default() += 1;
    }
    per_node
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_spread_and_move_off_a_lost_node() {
    tokio::time::timeout(Duration::from_secs(180), run())
        .await
        .expect("the multi-node scenario did not finish in 180 s");
}

async fn run() {
    let dir = tempfile::Builder::new()
        .prefix("multinode-")
        .tempdir()
        .unwrap();
    let logs = dir.path();
    let net = TestNetwork::create(3).unwrap();
    let etcd = Etcd::start().await.unwrap();
    let port = free_port().unwrap();
    let admin = logs.join("kubeconfig");
    let _apiserver = Proc::start(
        "apiserver",
        "apiserver",
        &[
            "--etcd-servers".into(),
            etcd.endpoint.clone(),
            "--secure-port".into(),
            port.to_string(),
            "--bind-address".into(),
            "0.0.0.0".into(),
            "--advertise-address".into(),
            net.gateway.to_string(),
            "--cert-dir".into(),
            logs.join("pki").display().to_string(),
            "--kubeconfig-out".into(),
            admin.display().to_string(),
        ],
        logs,
    )
    .unwrap();
    eventually("API server ready", Duration::from_secs(30), || {
        let a = admin.clone();
        async move { a.exists().then_some(()) }
    })
    .await
    .unwrap();
    let kube = Kube::new(&admin, &logs.join("kubectl-cache"));
    let kc = vec!["--kubeconfig".to_string(), admin.display().to_string()];
    let _scheduler = Proc::start(
        "scheduler",
        "scheduler",
        &[kc.clone(), vec!["--port".into(), "0".into()]].concat(),
        logs,
    )
    .unwrap();
    let _cm = Proc::start(
        "controller-manager",
        "controller-manager",
        &[
            kc.clone(),
            [
                "--port",
                "0",
                "--node-monitor-grace-period",
                "6s",
                "--node-monitor-period",
                "1s",
            ]
            .map(String::from)
            .to_vec(),
        ]
        .concat(),
        logs,
    )
    .unwrap();

    // Node agents reach the API server through the bridge, as from other hosts.
    let node_kubeconfig = logs.join("node.kubeconfig");
    kubeconfig_for_server(
        &admin,
        &node_kubeconfig,
        &format!("https://{}:{port}", net.gateway),
    )
    .unwrap();
    // Declared before the agents so it runs after they are killed: their pods' processes,
    // network namespaces and cgroups outlive a killed agent by design.
    let mut host_cleanups = Vec::new();
    let mut agents = Vec::new();
    for (i, host) in net.hosts.iter().enumerate() {
        let root_dir = logs.join(format!("node-{i}"));
        std::fs::create_dir_all(&root_dir).unwrap();
        host_cleanups.push(e2e::kubelet::HostCleanup::new(
            &root_dir,
            &format!("node-{i}"),
        ));
        let args: Vec<String> = vec![
            "--kubeconfig".into(),
            node_kubeconfig.display().to_string(),
            "--node-name".into(),
            format!("node-{i}"),
            "--runtime".into(),
            "process".into(),
            "--root-dir".into(),
            root_dir.display().to_string(),
            "--node-ip".into(),
            host.ip.to_string(),
            "--node-lease-duration-seconds".into(),
            "4".into(),
        ];
        agents.push(
            Proc::start_in_netns(&format!("kubelet-{i}"), "kubelet", &args, logs, &host.netns)
                .unwrap(),
        );
    }
    let tails = |agents: &[Proc]| {
        agents
            .iter()
            .map(|p| p.log_tail(20))
            .collect::<Vec<_>>()
            .join("\n")
    };
    eventually("three Ready nodes", Duration::from_secs(30), || async {
        let out = kube
            .kubectl(&[
                "get",
                "nodes",
                "-o",
                "jsonpath={.items[*].status.conditions[?(@.type==\"Ready\")].status}",
            ])
            .await
            .ok()?;
        (out.split_whitespace().filter(|s| *s == "True").count() == 3).then_some(())
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", tails(&agents)));

    kube.apply(DEPLOYMENT).await.unwrap();
    let spread = eventually("6 pods running", Duration::from_secs(60), || async {
        let per_node = running_per_node(&kube).await;
        (per_node.values().sum::<usize>() == 6).then_some(per_node)
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", tails(&agents)));
    assert_eq!(
        spread.values().copied().collect::<Vec<_>>(),
        vec![2, 2, 2],
        "{spread:?}"
    );

    // node-0's agent stops answering: after the grace period (6 s) and the pods' toleration
    // (3 s) its pods are replaced on the other nodes.
    agents[0].signal("STOP").unwrap();
    let moved = eventually(
        "pods recreated on node-1 and node-2",
        Duration::from_secs(45),
        || async {
            let per_node = running_per_node(&kube).await;
            let elsewhere: usize = per_node
                .iter()
                .filter(|(n, _)| *n != "node-0")
                .map(|(_, c)| *c)
                .sum();
            (elsewhere == 6).then_some(per_node)
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", tails(&agents)));
    assert_eq!(moved.get("node-0").copied().unwrap_or(0), 0, "{moved:?}");

    // node-0 comes back: its stale pods are stopped and removed, and it is Ready again.
    agents[0].signal("CONT").unwrap();
    eventually(
        "stale pods on node-0 cleaned up",
        Duration::from_secs(30),
        || async {
            let out = kube
                .kubectl(&[
                    "get",
                    "pods",
                    "-l",
                    "app=sleeper",
                    "--field-selector",
                    "spec.nodeName=node-0",
                    "-o",
                    "name",
                ])
                .await
                .ok()?;
            out.trim().is_empty().then_some(())
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", tails(&agents)));
    // The agent sees that the controller-manager overwrote its Ready condition with Unknown
    // and posts its own view again.
    eventually("node-0 Ready again", Duration::from_secs(30), || async {
        let out = kube
            .kubectl(&[
                "get",
                "node",
                "node-0",
                "-o",
                "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
            ])
            .await
            .ok()?;
        (out.trim() == "True").then_some(())
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", tails(&agents)));
    drop(agents);
}
