//! A real API server on etcd with the real `controller-manager` binary running chosen
//! controllers, for the controller end-to-end tests. No node agent runs: the tests write
//! Node objects, Leases and pod statuses through the API themselves, as a kubelet would
//! (test scaffolding, said so where it is used).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;

use crate::apiserver::ApiServer;
use crate::cluster::Proc;
use crate::etcd::Etcd;

/// etcd + apiserver + controller-manager. Fields drop in order: the controller-manager is
/// killed first, then the API server, then etcd.
pub struct ControllerCluster {
    pub controller_manager: Proc,
    pub server: ApiServer,
    pub etcd: Etcd,
    pub client: kube::Client,
    /// The API server's CA as the kubeconfig carries it (PEM).
    pub ca_pem: String,
    args: Vec<String>,
}

/// The CA (PEM) in `certificate-authority-data` of a kubeconfig.
pub fn kubeconfig_ca(kubeconfig: &std::path::Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(kubeconfig)?;
    let line = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("certificate-authority-data:"))
        .context("kubeconfig has no certificate-authority-data")?;
    use base64_decode::decode;
    String::from_utf8(decode(line.trim()).context("certificate-authority-data is not base64")?)
        .context("CA is not text")
}

mod base64_decode {
    pub fn decode(s: &str) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let (mut acc, mut bits) = (0u32, 0u32);
        for c in s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'"') {
            let v = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                b'=' => continue,
                _ => return None,
            };
            acc = (acc << 6) | u32::from(v);
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push(((acc >> bits) & 0xff) as u8);
            }
        }
        Some(out)
    }
}

impl ControllerCluster {
    /// Starts etcd, the API server and `controller-manager --controllers=<controllers>`
    /// (no leader election, health port picked freely) with `extra` flags. The API server's
    /// CA is handed over as `--root-ca-file`, written from the kubeconfig.
    pub async fn start(controllers: &str, extra: &[&str]) -> anyhow::Result<ControllerCluster> {
        let etcd = Etcd::start().await?;
        let server = ApiServer::start_etcd(&etcd).await?;
        let client = server.client().await?;
        let ca_pem = kubeconfig_ca(&server.kubeconfig)?;
        let ca_file: PathBuf = server.dir().join("ca-from-kubeconfig.crt");
        std::fs::write(&ca_file, &ca_pem)?;
        let mut args: Vec<String> = vec![
            "--kubeconfig".into(),
            server.kubeconfig.display().to_string(),
            "--leader-elect=false".into(),
            "--bind-address".into(),
            "127.0.0.1".into(),
            "--port".into(),
            "0".into(),
            format!("--controllers={controllers}"),
            "--root-ca-file".into(),
            ca_file.display().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let controller_manager = Proc::start(
            "controller-manager",
            "controller-manager",
            &args,
            server.dir(),
        )?;
        Ok(ControllerCluster {
            controller_manager,
            server,
            etcd,
            client,
            ca_pem,
            args,
        })
    }

    /// Kills the controller-manager and starts it again with the same flags.
    pub fn restart_controller_manager(&mut self) -> anyhow::Result<()> {
        self.controller_manager.kill9();
        self.controller_manager = Proc::start(
            "controller-manager",
            "controller-manager",
            &self.args,
            self.server.dir(),
        )?;
        Ok(())
    }

    /// The last lines of the controller-manager's log, for failure messages.
    pub fn logs(&self) -> String {
        self.controller_manager.log_tail(60)
    }

    pub async fn kubectl(&self, args: &[&str]) -> anyhow::Result<String> {
        self.server.kubectl_ok(args).await
    }
}

/// Registers a Node the way a node agent does (scaffolding: no agent runs): the object,
/// then status Ready=True with a heartbeat now.
pub async fn register_node(client: &kube::Client, name: &str) -> anyhow::Result<Node> {
    let nodes = Api::<Node>::all(client.clone());
    let node: Node = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
    }))?;
    nodes.create(&PostParams::default(), &node).await?;
    post_node_ready(client, name, "True").await
}

/// Posts the node's Ready condition with a fresh heartbeat (scaffolding for a node agent).
pub async fn post_node_ready(
    client: &kube::Client,
    name: &str,
    status: &str,
) -> anyhow::Result<Node> {
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    let nodes = Api::<Node>::all(client.clone());
    let mut node = nodes.get_status(name).await?;
    let conditions = vec![json!({
        "type": "Ready", "status": status, "reason": "KubeletReady",
        "message": "scaffolding node agent is posting ready status",
        "lastHeartbeatTime": now, "lastTransitionTime": now,
    })];
    node.status.get_or_insert_with(Default::default).conditions =
        Some(serde_json::from_value(json!(conditions))?);
    Ok(nodes
        .replace_status(name, &PostParams::default(), &node)
        .await?)
}

/// Creates or renews the node's Lease in kube-node-lease (scaffolding for a node agent).
pub async fn renew_lease(client: &kube::Client, node: &str) -> anyhow::Result<()> {
    let leases = Api::<Lease>::namespaced(client.clone(), "kube-node-lease");
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    let lease = json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": node, "namespace": "kube-node-lease"},
        "spec": {"holderIdentity": node, "leaseDurationSeconds": 40, "renewTime": now},
    });
    leases
        .patch(
            node,
            &PatchParams::apply("scaffolding-node-agent").force(),
            &Patch::Apply(&lease),
        )
        .await?;
    Ok(())
}

/// Sets a pod's status as a node agent would: Running with `ip`, Ready=`ready`.
pub async fn set_pod_status(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    ip: &str,
    ready: bool,
) -> anyhow::Result<()> {
    let pods = Api::<Pod>::namespaced(client.clone(), namespace);
    let ready = if ready { "True" } else { "False" };
    let patch = json!({"status": {
        "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
        "conditions": [
            {"type": "Ready", "status": ready},
            {"type": "ContainersReady", "status": ready},
        ],
    }});
    pods.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(())
}

/// Polls every 50 ms until `check` is Some, for at most `within`; the elapsed time with it.
pub async fn within<T, F, Fut>(
    what: &str,
    within: Duration,
    mut check: F,
) -> anyhow::Result<(T, Duration)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = std::time::Instant::now();
    loop {
        if let Some(v) = check().await {
            return Ok((v, start.elapsed()));
        }
        if start.elapsed() > within {
            anyhow::bail!("{what}: not within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
