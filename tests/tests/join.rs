//! Nodes joining with a bootstrap token, against a real API server on etcd over TLS:
//! `ferrokube token create` writes a kubeadm-format token Secret; the token may create
//! CertificateSigningRequests and nothing else; expired or deleted tokens get 401;
//! `ferrokube join` pins the CA by hash, obtains a node client certificate signed by the
//! cluster CA and runs the node agent with it; a wrong CA hash is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use e2e::apiserver::{ApiServer, binary, request, send};
use e2e::etcd::Etcd;
use http::Method;
use serde_json::{Value, json};

/// Bound on one `ferrokube` CLI run.
const CLI_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `ferrokube <args>` to completion (bounded); (exit ok, stdout, stderr).
async fn ferrokube(args: &[&str]) -> (bool, String, String) {
    let mut cmd = tokio::process::Command::new(binary("ferrokube").unwrap());
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let out = tokio::time::timeout(CLI_TIMEOUT, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("ferrokube {args:?} timed out"))
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

struct Created {
    token: String,
    join: String,
}

async fn token_create(server: &ApiServer, extra: &[&str]) -> Created {
    let kubeconfig = server.kubeconfig.to_str().unwrap();
    let mut args = vec!["token", "create", "--kubeconfig", kubeconfig];
    args.extend_from_slice(extra);
    let (ok, stdout, stderr) = ferrokube(&args).await;
    assert!(ok, "token create failed: {stderr}{stdout}");
    let mut lines = stdout.lines();
    let token = lines.next().unwrap().trim().to_string();
    let join = lines.next().unwrap_or_default().trim().to_string();
    Created { token, join }
}

/// The CA hash as kubeadm documents computing it, with openssl.
fn openssl_ca_hash(ca_pem_path: &Path) -> String {
    let script = format!(
        "openssl x509 -pubkey -noout -in {} | openssl pkey -pubin -outform der | sha256sum",
        ca_pem_path.display()
    );
    let out = Command::new("sh").arg("-c").arg(script).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    format!("sha256:{}", text.split_whitespace().next().unwrap())
}

/// The cluster CA (PEM) from the admin kubeconfig, written to `dir/ca.crt`.
fn write_ca(server: &ApiServer, dir: &Path) -> std::path::PathBuf {
    let config = kube::config::Kubeconfig::read_from(&server.kubeconfig).unwrap();
    let data = config.clusters[0]
        .cluster
        .as_ref()
        .unwrap()
        .certificate_authority_data
        .clone()
        .unwrap();
    let pem = base64::engine::general_purpose::STANDARD
        .decode(data)
        .unwrap();
    let path = dir.join("ca.crt");
    std::fs::write(&path, pem).unwrap();
    path
}

fn node_csr_pem(cn: &str, org: &str) -> String {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, org);
    params.serialize_request(&key).unwrap().pem().unwrap()
}

fn csr_body(name: &str, signer: &str, pem: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"name": name},
        "spec": {
            "request": base64::engine::general_purpose::STANDARD.encode(pem),
            "signerName": signer,
            "usages": ["digital signature", "client auth"],
            // Ignored: the server fills the requester in.
            "username": "admin",
        }
    }))
    .unwrap()
}

/// A request with `Authorization: Bearer <token>`.
async fn with_token(
    server: &ApiServer,
    token: &str,
    method: Method,
    path: &str,
    body: Vec<u8>,
) -> e2e::apiserver::RawResponse {
    let client = server.anonymous_client().await.unwrap();
    let mut req = request(
        method,
        path,
        (!body.is_empty()).then_some("application/json"),
        body,
    )
    .unwrap();
    req.headers_mut().insert(
        http::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    send(&client, req).await.unwrap()
}

const CSRS: &str = "/apis/certificates.k8s.io/v1/certificatesigningrequests";

/// Polls the CSR until `done` holds (bounded).
async fn wait_csr(
    server: &ApiServer,
    name: &str,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let csr = server
            .kubectl_json(&["get", "csr", name, "-o", "json"])
            .await
            .unwrap();
        if done(&csr) {
            return csr;
        }
        assert!(
            Instant::now() < deadline,
            "CSR {name}: {what} never happened: {csr}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn condition<'a>(csr: &'a Value, kind: &str) -> Option<&'a Value> {
    csr.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_tokens_only_request_certificates() {
    let etcd = Etcd::start().await.unwrap();
    let server = ApiServer::start_etcd(&etcd).await.unwrap();
    let created = token_create(&server, &["--ttl", "1h", "--description", "e2e"]).await;
    let token = created.token.clone();
    let (id, _) = token.split_once('.').unwrap();
    assert_eq!(id.len(), 6);

    // The join command pins the CA by kubeadm's hash.
    let ca = write_ca(&server, server.dir());
    let hash = openssl_ca_hash(&ca);
    assert!(
        created.join.starts_with("ferrokube join --server https://")
            && created.join.contains(&format!("--token {token}"))
            && created
                .join
                .ends_with(&format!("--discovery-token-ca-cert-hash {hash}")),
        "{}",
        created.join
    );

    // The Secret is in kubeadm's format.
    let secret = server
        .kubectl_json(&[
            "get",
            "secret",
            "-n",
            "kube-system",
            &format!("bootstrap-token-{id}"),
            "-o",
            "json",
        ])
        .await
        .unwrap();
    assert_eq!(secret["type"], "bootstrap.kubernetes.io/token");
    let data = |k: &str| {
        let v = secret["data"][k]
            .as_str()
            .unwrap_or_else(|| panic!("no {k}: {secret}"));
        String::from_utf8(base64::engine::general_purpose::STANDARD.decode(v).unwrap()).unwrap()
    };
    assert_eq!(
        format!("{}.{}", data("token-id"), data("token-secret")),
        token
    );
    assert_eq!(data("usage-bootstrap-authentication"), "true");
    assert_eq!(data("usage-bootstrap-signing"), "true");
    assert_eq!(
        data("auth-extra-groups"),
        "system:bootstrappers:ferrokube:default-node-token"
    );
    assert_eq!(data("description"), "e2e");
    let expires = chrono::DateTime::parse_from_rfc3339(&data("expiration")).unwrap();
    let left = expires.timestamp() - chrono::Utc::now().timestamp();
    assert!((3500..=3600).contains(&left), "{left}");

    // The token may create a CSR; the requester is taken from the token, not the body.
    let resp = with_token(
        &server,
        &token,
        Method::POST,
        CSRS,
        csr_body(
            "node-csr-e2e",
            "kubernetes.io/kube-apiserver-client-kubelet",
            &node_csr_pem("system:node:e2e", "system:nodes"),
        ),
    )
    .await;
    assert_eq!(resp.status, 201, "{}", resp.text());
    let csr = resp.json().unwrap();
    assert_eq!(csr["spec"]["username"], format!("system:bootstrap:{id}"));
    let groups = csr["spec"]["groups"].as_array().unwrap();
    for g in [
        "system:bootstrappers",
        "system:bootstrappers:ferrokube:default-node-token",
        "system:authenticated",
    ] {
        assert!(groups.iter().any(|x| x == g), "{groups:?}");
    }
    // ... and read it back, but nothing else.
    let resp = with_token(
        &server,
        &token,
        Method::GET,
        &format!("{CSRS}/node-csr-e2e"),
        vec![],
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let resp = with_token(&server, &token, Method::GET, "/api/v1/pods", vec![]).await;
    assert_eq!(resp.status, 403, "{}", resp.text());
    assert_eq!(
        resp.json().unwrap(),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": format!("pods is forbidden: User \"system:bootstrap:{id}\" cannot list resource \"pods\" in API group \"\" at the cluster scope"),
            "reason": "Forbidden", "details": {"kind": "pods"}, "code": 403})
    );
    let resp = with_token(
        &server,
        &token,
        Method::GET,
        "/api/v1/namespaces/kube-system/secrets",
        vec![],
    )
    .await;
    assert_eq!(resp.status, 403);
    // Approving its own request is not allowed either.
    let resp = with_token(
        &server,
        &token,
        Method::PUT,
        &format!("{CSRS}/node-csr-e2e/approval"),
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(resp.status, 403, "{}", resp.text());

    // A bootstrapper's node client CSR is approved and signed by the cluster CA.
    let csr = wait_csr(&server, "node-csr-e2e", "signing", |c| {
        c.pointer("/status/certificate")
            .is_some_and(|v| v.is_string())
    })
    .await;
    let approved = condition(&csr, "Approved").unwrap();
    assert_eq!(approved["reason"], "AutoApproved");
    assert_eq!(approved["status"], "True");
    let cert_path = server.dir().join("e2e.crt");
    std::fs::write(
        &cert_path,
        base64::engine::general_purpose::STANDARD
            .decode(csr["status"]["certificate"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let verify = Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(&ca)
        .arg(&cert_path)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let subject = Command::new("openssl")
        .args(["x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in"])
        .arg(&cert_path)
        .output()
        .unwrap();
    let subject = String::from_utf8_lossy(&subject.stdout).into_owned();
    assert!(
        subject.contains("CN=system:node:e2e") && subject.contains("O=system:nodes"),
        "{subject}"
    );

    // Other signers stay pending until approved by hand (kubectl certificate approve uses
    // /approval), then the signer issues them.
    let admin = server.client().await.unwrap();
    let resp = send(
        &admin,
        request(
            Method::POST,
            CSRS,
            Some("application/json"),
            csr_body(
                "alice",
                "kubernetes.io/kube-apiserver-client",
                &node_csr_pem("alice", "dev"),
            ),
        )
        .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(resp.status, 201, "{}", resp.text());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pending = server
        .kubectl_json(&["get", "csr", "alice", "-o", "json"])
        .await
        .unwrap();
    assert!(condition(&pending, "Approved").is_none(), "{pending}");
    let table = server.kubectl_ok(&["get", "csr"]).await.unwrap();
    let header = table.lines().next().unwrap();
    for col in [
        "NAME",
        "AGE",
        "SIGNERNAME",
        "REQUESTOR",
        "REQUESTEDDURATION",
        "CONDITION",
    ] {
        assert!(header.contains(col), "{table}");
    }
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("alice") && l.contains("admin") && l.contains("Pending")),
        "{table}"
    );
    server
        .kubectl_ok(&["certificate", "approve", "alice"])
        .await
        .unwrap();
    let alice = wait_csr(&server, "alice", "signing after manual approval", |c| {
        c.pointer("/status/certificate")
            .is_some_and(|v| v.is_string())
    })
    .await;
    assert_eq!(
        condition(&alice, "Approved").unwrap()["reason"],
        "KubectlApprove"
    );

    // The token is listed; once deleted it is refused.
    let (ok, list, err) = ferrokube(&[
        "token",
        "list",
        "--kubeconfig",
        server.kubeconfig.to_str().unwrap(),
    ])
    .await;
    assert!(ok, "{err}");
    assert!(
        list.lines()
            .any(|l| l.starts_with(&token) && l.contains("authentication,signing")),
        "{list}"
    );
    let (ok, out, err) = ferrokube(&[
        "token",
        "delete",
        "--kubeconfig",
        server.kubeconfig.to_str().unwrap(),
        id,
    ])
    .await;
    assert!(ok, "{err}{out}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let resp = with_token(&server, &token, Method::GET, CSRS, vec![]).await;
        if resp.status == 401 {
            assert_eq!(resp.json().unwrap()["reason"], "Unauthorized");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "deleted token still accepted: {}",
            resp.status
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // An expired token is refused although its Secret is still there.
    let expired = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "bootstrap-token-exp123", "namespace": "kube-system"},
        "type": "bootstrap.kubernetes.io/token",
        "stringData": {
            "token-id": "exp123", "token-secret": "0123456789abcdef",
            "expiration": "2020-01-01T00:00:00Z",
            "usage-bootstrap-authentication": "true",
        }
    });
    let resp = send(
        &admin,
        request(
            Method::POST,
            "/api/v1/namespaces/kube-system/secrets",
            Some("application/json"),
            serde_json::to_vec(&expired).unwrap(),
        )
        .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(resp.status, 201, "{}", resp.text());
    // A valid twin created after it proves the cache has caught up with both.
    let valid_twin = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "bootstrap-token-val123", "namespace": "kube-system"},
        "type": "bootstrap.kubernetes.io/token",
        "stringData": {
            "token-id": "val123", "token-secret": "0123456789abcdef",
            "usage-bootstrap-authentication": "true",
        }
    });
    let resp = send(
        &admin,
        request(
            Method::POST,
            "/api/v1/namespaces/kube-system/secrets",
            Some("application/json"),
            serde_json::to_vec(&valid_twin).unwrap(),
        )
        .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(resp.status, 201, "{}", resp.text());
    let deadline = Instant::now() + Duration::from_secs(10);
    while with_token(
        &server,
        "val123.0123456789abcdef",
        Method::GET,
        CSRS,
        vec![],
    )
    .await
    .status
        != 200
    {
        assert!(Instant::now() < deadline, "valid token never accepted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let resp = with_token(
        &server,
        "exp123.0123456789abcdef",
        Method::GET,
        CSRS,
        vec![],
    )
    .await;
    assert_eq!(resp.status, 401, "{}", resp.text());
    // A wrong secret for an existing id is refused too.
    let resp = with_token(
        &server,
        "val123.0123456789abcdee",
        Method::GET,
        CSRS,
        vec![],
    )
    .await;
    assert_eq!(resp.status, 401, "{}", resp.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_obtains_node_credentials_and_refuses_a_wrong_ca() {
    let etcd = Etcd::start().await.unwrap();
    let server = ApiServer::start_etcd(&etcd).await.unwrap();
    let created = token_create(&server, &[]).await;
    let ca = write_ca(&server, server.dir());
    let hash = openssl_ca_hash(&ca);
    let node_dir = tempfile::tempdir().unwrap();
    let data_dir = node_dir.path().to_str().unwrap();

    // A wrong pin is refused before anything is sent to the server.
    let wrong = format!("sha256:{}", "0".repeat(64));
    let (ok, out, err) = ferrokube(&[
        "join",
        "--server",
        &server.url,
        "--token",
        &created.token,
        "--discovery-token-ca-cert-hash",
        &wrong,
        "--node-name",
        "n1",
        "--data-dir",
        data_dir,
        "--bootstrap-only",
    ])
    .await;
    assert!(!ok, "join with a wrong CA hash succeeded: {out}");
    assert!(
        err.contains("refusing to trust") && err.contains(&hash) && err.contains(&wrong),
        "{err}"
    );
    assert!(!node_dir.path().join("kubelet.kubeconfig").exists());

    // A token the server does not know is refused with a clear error.
    let (ok, out, err) = ferrokube(&[
        "join",
        "--server",
        &server.url,
        "--token",
        "aaaaaa.bbbbbbbbbbbbbbbb",
        "--discovery-token-ca-cert-hash",
        &hash,
        "--node-name",
        "n1",
        "--data-dir",
        data_dir,
        "--bootstrap-only",
    ])
    .await;
    assert!(!ok, "join with an unknown token succeeded: {out}");
    assert!(err.contains("refused the bootstrap token"), "{err}");

    // The right pin: a certificate for system:node:n1.
    let (ok, out, err) = ferrokube(&[
        "join",
        "--server",
        &server.url,
        "--token",
        &created.token,
        "--discovery-token-ca-cert-hash",
        &hash,
        "--node-name",
        "n1",
        "--data-dir",
        data_dir,
        "--bootstrap-only",
    ])
    .await;
    assert!(ok, "join failed: {err}{out}");
    assert!(out.contains("system:node:n1"), "{out}");
    let kubeconfig = node_dir.path().join("kubelet.kubeconfig");
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&kubeconfig).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        !node_dir
            .path()
            .join("bootstrap-kubelet.kubeconfig")
            .exists()
    );

    // That kubeconfig authenticates as the node: it can create its Node, and the server
    // records it as the requester of a CSR.
    let kc = kubeconfig.to_str().unwrap();
    let node = r#"{"apiVersion":"v1","kind":"Node","metadata":{"name":"n1"}}"#;
    let out = server
        .kubectl_with_input(
            &["--kubeconfig", kc, "create", "-f", "-"],
            Some(node.as_bytes()),
        )
        .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server
        .kubectl_ok(&["--kubeconfig", kc, "get", "node", "n1"])
        .await
        .unwrap();
    let renewal = serde_json::from_slice::<Value>(&csr_body(
        "n1-renewal",
        "kubernetes.io/kube-apiserver-client-kubelet",
        &node_csr_pem("system:node:n1", "system:nodes"),
    ))
    .unwrap();
    let out = server
        .kubectl_with_input(
            &["--kubeconfig", kc, "create", "-f", "-", "-o", "json"],
            Some(renewal.to_string().as_bytes()),
        )
        .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csr: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(csr["spec"]["username"], "system:node:n1");
    assert!(
        csr["spec"]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g == "system:nodes")
    );
    // A node renewing its own certificate is approved automatically too.
    wait_csr(&server, "n1-renewal", "self renewal", |c| {
        condition(c, "Approved")
            .is_some_and(|a| a["message"].as_str().unwrap_or("").contains("self"))
    })
    .await;

    // --ca-file works as well, and a rerun keeps the valid credentials.
    let (ok, _, err) = ferrokube(&[
        "join",
        "--server",
        &server.url,
        "--token",
        &created.token,
        "--ca-file",
        ca.to_str().unwrap(),
        "--node-name",
        "n1",
        "--data-dir",
        data_dir,
        "--bootstrap-only",
    ])
    .await;
    assert!(ok, "{err}");
    assert!(err.contains("already holds valid credentials"), "{err}");
}

/// Kills the child by PID when dropped.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joined_node_registers_and_renews_its_lease() {
    let etcd = Etcd::start().await.unwrap();
    let server = ApiServer::start_etcd(&etcd).await.unwrap();
    let created = token_create(&server, &[]).await;
    let ca = write_ca(&server, server.dir());
    let hash = openssl_ca_hash(&ca);
    let node_dir = tempfile::tempdir().unwrap();
    let log = std::fs::File::create(node_dir.path().join("join.log")).unwrap();
    let child = Command::new(binary("ferrokube").unwrap())
        .args(["join", "--server", &server.url, "--token", &created.token])
        .args([
            "--discovery-token-ca-cert-hash",
            &hash,
            "--node-name",
            "joined-1",
        ])
        .arg("--data-dir")
        .arg(node_dir.path())
        .args([
            "--runtime",
            "simulated",
            "--port",
            "0",
            "--address",
            "127.0.0.1",
        ])
        .args(["--node-lease-duration-seconds", "4"])
        .arg("--root-dir")
        .arg(node_dir.path().join("kubelet"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut child = Child(child);
    let log_text = || std::fs::read_to_string(node_dir.path().join("join.log")).unwrap_or_default();

    let client = server.client().await.unwrap();
    let leases: kube::Api<k8s_openapi::api::coordination::v1::Lease> =
        kube::Api::namespaced(client.clone(), "kube-node-lease");
    let nodes: kube::Api<k8s_openapi::api::core::v1::Node> = kube::Api::all(client);
    let deadline = Instant::now() + Duration::from_secs(40);
    let first = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            panic!("join exited with {status}: {}", log_text());
        }
        if nodes.get_opt("joined-1").await.unwrap().is_some()
            && let Some(lease) = leases.get_opt("joined-1").await.unwrap()
            && let Some(t) = lease.spec.and_then(|s| s.renew_time)
        {
            break t.0;
        }
        assert!(
            Instant::now() < deadline,
            "node never registered: {}",
            log_text()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let lease = leases.get("joined-1").await.unwrap();
        let renewed = lease.spec.and_then(|s| s.renew_time).unwrap().0;
        if renewed > first {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "lease never renewed: {}",
            log_text()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // Its credentials came from a bootstrap-token CSR that was signed.
    let csrs = server
        .kubectl_json(&["get", "csr", "-o", "json"])
        .await
        .unwrap();
    assert!(
        csrs["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["spec"]["username"]
                .as_str()
                .is_some_and(|u| u.starts_with("system:bootstrap:"))
                && c["status"]["certificate"].is_string()),
        "{csrs}"
    );
    drop(child);
}
