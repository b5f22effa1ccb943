//! kubectl's own formats against ferrokube: Tables with kube-apiserver's columns, protobuf
//! bodies from `kubectl create <kind>`, describe, and aggregated discovery, with the default
//! kubectl and the oldest and newest versioned copies beside it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::Duration;

use e2e::apiserver::ApiServer;

const TIMEOUT: Duration = Duration::from_secs(120);

fn versioned_kubectl(version: &str) -> Option<PathBuf> {
    let real = std::fs::canonicalize(which("kubectl")?).ok()?;
    let path = real.parent()?.join(format!("kubectl.{version}"));
    path.is_file().then_some(path)
}

fn which(bin: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(bin))
            .find(|p| p.is_file())
    })
}

/// The header row's column names, split on runs of spaces.
fn header(out: &str) -> Vec<String> {
    out.lines()
        .next()
        .unwrap_or("")
        .split("  ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

async fn check(server: &ApiServer) {
    // Protobuf request bodies (kubectl create <kind> sends application/vnd.kubernetes.protobuf).
    server
        .kubectl_ok(&[
            "create",
            "deployment",
            "web",
            "--image=nginx:1.25",
            "--replicas=2",
        ])
        .await
        .unwrap();
    server
        .kubectl_ok(&["create", "configmap", "settings", "--from-literal=a=b"])
        .await
        .unwrap();
    server
        .kubectl_ok(&["create", "secret", "generic", "creds", "--from-literal=p=q"])
        .await
        .unwrap();
    server
        .kubectl_ok(&["create", "namespace", "team-a"])
        .await
        .unwrap();
    let replicas = server
        .kubectl_ok(&[
            "get",
            "deployment",
            "web",
            "-o",
            "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].image}",
        ])
        .await
        .unwrap();
    assert_eq!(replicas.trim(), "2 nginx:1.25");
    let secret = server
        .kubectl_ok(&["get", "secret", "creds", "-o", "jsonpath={.data.p}"])
        .await
        .unwrap();
    assert_eq!(secret.trim(), "cQ==", "base64 of q");

    // Tables.
    let wide = server
        .kubectl_ok(&["get", "deployments", "-o", "wide"])
        .await
        .unwrap();
    assert_eq!(
        header(&wide),
        [
            "NAME",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR"
        ]
    );
    let row = wide.lines().nth(1).unwrap_or("");
    for cell in ["web", "0/2", "nginx", "nginx:1.25", "app=web"] {
        assert!(
            row.split_whitespace().any(|c| c == cell),
            "{cell} in {row:?}"
        );
    }
    let svc = server.kubectl_ok(&["get", "services"]).await.unwrap();
    assert_eq!(
        header(&svc),
        [
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE"
        ]
    );
    assert!(
        svc.contains("10.96.0.1") && svc.contains("443/TCP"),
        "{svc}"
    );
    let cms = server.kubectl_ok(&["get", "configmaps"]).await.unwrap();
    assert_eq!(header(&cms), ["NAME", "DATA", "AGE"]);
    let ns = server
        .kubectl_ok(&["get", "namespaces", "--show-labels"])
        .await
        .unwrap();
    assert_eq!(header(&ns), ["NAME", "STATUS", "AGE", "LABELS"]);
    assert!(ns.contains("kubernetes.io/metadata.name=team-a"), "{ns}");

    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p1\n  labels:\n    app: demo\nspec:\n  containers:\n  - name: c\n    image: busybox\n";
    let out = server
        .kubectl_with_input(
            &["create", "--validate=false", "-f", "-"],
            Some(pod.as_bytes()),
        )
        .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pods = server
        .kubectl_ok(&["get", "pods", "-L", "app", "--sort-by=.metadata.name"])
        .await
        .unwrap();
    assert_eq!(
        header(&pods),
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "APP"]
    );
    let row: Vec<&str> = pods
        .lines()
        .nth(1)
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert_eq!(&row[..4], ["p1", "0/1", "Pending", "0"]);
    assert_eq!(row.last(), Some(&"demo"));

    let described = server
        .kubectl_ok(&["describe", "deployment", "web"])
        .await
        .unwrap();
    assert!(
        described.contains("RollingUpdateStrategy:  25% max unavailable, 25% max surge"),
        "{described}"
    );

    let resources = server.kubectl_ok(&["api-resources"]).await.unwrap();
    assert!(
        resources
            .lines()
            .any(|l| l.starts_with("deployments") && l.contains("apps/v1")),
        "{resources}"
    );

    // The oldest and newest kubectl beside the default one.
    for version in ["1.27", "1.33"] {
        let Some(bin) = versioned_kubectl(version) else {
            panic!("kubectl.{version} is expected beside kubectl (ENVIRONMENT.md)");
        };
        let out = tokio::process::Command::new(&bin)
            .args([
                "--kubeconfig",
                server.kubeconfig.to_str().unwrap(),
                "get",
                "deployments",
            ])
            .output()
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "kubectl {version}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            header(&text),
            ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
            "kubectl {version}"
        );
    }
}

#[tokio::test]
async fn kubectl_formats_on_the_embedded_store() {
    tokio::time::timeout(TIMEOUT, async {
        let data = tempfile::tempdir().unwrap();
        let server = ApiServer::start_up(data.path()).await.unwrap();
        check(&server).await;
    })
    .await
    .expect("bounded");
}

#[tokio::test]
async fn kubectl_formats_on_etcd() {
    tokio::time::timeout(TIMEOUT, async {
        let etcd = e2e::etcd::Etcd::start().await.unwrap();
        let server = ApiServer::start_etcd(&etcd).await.unwrap();
        check(&server).await;
    })
    .await
    .expect("bounded");
}
