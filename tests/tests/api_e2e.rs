//! End-to-end tests of the API server as users meet it: the real `apiserver` / `ferrokube up`
//! binaries, real etcd, real kubectl and raw HTTPS requests.
//!
//! Every behaviour test runs twice, on etcd and on the embedded store (`both!`), each against
//! its own server on its own free port and temp dirs, bounded by `TEST_TIMEOUT`; processes are
//! killed by PID when the test ends, however it ends.
//!
//! Needs the release binaries (`cargo build --release -p apiserver -p ferrokube`, or
//! `FERROKUBE_BIN_DIR`), `etcd`/`etcdctl` and `kubectl` on PATH.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::future::Future;
use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use e2e::apiserver::{ApiServer, RawResponse, WatchStream, request, send};
use e2e::etcd::Etcd;
use http::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

const TEST_TIMEOUT: Duration = Duration::from_secs(180);
/// How long to wait for a watch event that must come.
const EVENT_TIMEOUT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// Harness

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Etcd,
    Embedded,
}

/// One API server and its storage. Field order = drop order: the server is killed before its
/// etcd, and the data dir is removed last.
struct Cluster {
    server: ApiServer,
    etcd: Option<Etcd>,
    backend: Backend,
    /// Manifests written by the test.
    work: tempfile::TempDir,
    _data: Option<tempfile::TempDir>,
}

impl Cluster {
    async fn start(backend: Backend) -> Cluster {
        let work = tempfile::Builder::new()
            .prefix("api-e2e-")
            .tempdir()
            .unwrap();
        match backend {
            Backend::Etcd => {
                let etcd = Etcd::start().await.expect("start etcd");
                let server = ApiServer::start_etcd(&etcd).await.expect("start apiserver");
                Cluster {
                    server,
                    etcd: Some(etcd),
                    backend,
                    work,
                    _data: None,
                }
            }
            Backend::Embedded => {
                let data = tempfile::Builder::new()
                    .prefix("api-e2e-data-")
                    .tempdir()
                    .unwrap();
                let server = ApiServer::start_embedded(data.path())
                    .await
                    .expect("start apiserver");
                Cluster {
                    server,
                    etcd: None,
                    backend,
                    work,
                    _data: Some(data),
                }
            }
        }
    }

    fn write(&self, name: &str, content: &str) -> PathBuf {
        let path = self.work.path().join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    async fn kubectl(&self, args: &[&str]) -> Output {
        self.server.kubectl(args).await
    }

    /// kubectl that must succeed; its stdout.
    async fn ok(&self, args: &[&str]) -> String {
        match self.server.kubectl_ok(args).await {
            Ok(out) => out,
            Err(e) => panic!("{e}\nserver log:\n{}", self.server.log_tail(20)),
        }
    }

    /// `kubectl ... -o json` (or `get --raw`) that must succeed.
    async fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args).await;
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("kubectl {args:?}: {e}: {out}"))
    }

    /// `kubectl create --validate=false -f FILE` of `manifest`, which must succeed.
    async fn create(&self, file: &str, manifest: &str) -> String {
        let path = self.write(file, manifest);
        self.ok(&["create", "--validate=false", "-f", path.to_str().unwrap()])
            .await
    }

    async fn get(&self, kind_name: &[&str]) -> Value {
        let mut args = vec!["get"];
        args.extend_from_slice(kind_name);
        args.extend_from_slice(&["-o", "json"]);
        self.json(&args).await
    }

    async fn client(&self) -> kube::Client {
        self.server.client().await.expect("kube client")
    }
}

/// Starts a cluster on `backend` and runs `test` on it, all within `TEST_TIMEOUT`. On a
/// timeout the future is dropped, which kills the processes.
async fn run<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(Cluster) -> Fut,
    Fut: Future<Output = ()>,
{
    let body = async move {
        let cluster = Cluster::start(backend).await;
        test(cluster).await;
    };
    if tokio::time::timeout(TEST_TIMEOUT, body).await.is_err() {
        panic!("test timed out after {TEST_TIMEOUT:?} on {backend:?}");
    }
}

/// For each named `async fn name(Cluster)`, a module `name` with two tests, `etcd` and
/// `embedded`.
macro_rules! both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn etcd() {
                super::run(super::Backend::Etcd, super::$name).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn embedded() {
                super::run(super::Backend::Embedded, super::$name).await;
            }
        }
    )*};
}

both!(
    discovery_and_health,
    create_shows_defaults,
    label_annotate_patch_scale_delete,
    not_found_and_already_exists,
    bad_requests_get_status_codes,
    auth_failures_are_401,
    watch_sees_changes_in_order,
    kubectl_watch_sees_changes,
    watch_from_expired_revision_is_410,
    list_pages_with_limit_and_continue,
    objects_survive_restart,
);

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn rv(obj: &Value) -> u64 {
    let s = obj["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_else(|| panic!("no metadata.resourceVersion in {obj}"));
    s.parse()
        .unwrap_or_else(|_| panic!("resourceVersion {s:?} is not a number"))
}

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {list}"))
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

/// `2024-05-01T12:00:00Z`: RFC 3339, UTC, second precision.
fn is_rfc3339_utc(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z'
        && [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
            .iter()
            .all(|i| b[*i].is_ascii_digit())
}

fn assert_status(resp: &RawResponse, code: u16, reason: &str) -> Value {
    assert_eq!(
        resp.status.as_u16(),
        code,
        "want {code} {reason}, got {}: {}",
        resp.status,
        resp.text()
    );
    let status = resp.json().unwrap();
    assert_eq!(status["kind"], "Status", "{status}");
    assert_eq!(status["apiVersion"], "v1", "{status}");
    assert_eq!(status["status"], "Failure", "{status}");
    assert_eq!(status["code"], code, "{status}");
    assert_eq!(status["reason"], reason, "{status}");
    assert!(
        resp.content_type.starts_with("application/json"),
        "Status content type {:?}",
        resp.content_type
    );
    status
}

const CONFIGMAP: &str = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
  namespace: default
data:
  k1: v1
  greeting: hello
"#;

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports:
        - containerPort: 80
"#;

const POD: &str = r#"{
  "apiVersion": "v1",
  "kind": "Pod",
  "metadata": {"name": "p1", "labels": {"app": "p1"}},
  "spec": {
    "containers": [
      {"name": "main", "image": "nginx", "ports": [{"containerPort": 8080}]}
    ]
  }
}
"#;

const NODE: &str = r#"apiVersion: v1
kind: Node
metadata:
  name: n1
  labels:
    kubernetes.io/hostname: n1
"#;

fn namespace_manifest(name: &str) -> String {
    format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n")
}

fn configmap_json(ns: &str, name: &str, data: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns},
        "data": data,
    }))
    .unwrap()
}

/// Creates a ConfigMap through the raw client; returns the created object.
async fn post_configmap(client: &kube::Client, ns: &str, name: &str, data: Value) -> Value {
    let resp = send(
        client,
        request(
            Method::POST,
            &format!("/api/v1/namespaces/{ns}/configmaps"),
            Some("application/json"),
            configmap_json(ns, name, data),
        )
        .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(resp.status, StatusCode::CREATED, "{}", resp.text());
    resp.json().unwrap()
}

async fn raw(
    client: &kube::Client,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<Vec<u8>>,
) -> RawResponse {
    send(client, request(method, path, content_type, body).unwrap())
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Discovery, health, metrics, bootstrap objects

async fn discovery_and_health(c: Cluster) {
    let api = c.json(&["get", "--raw", "/api"]).await;
    assert_eq!(api["kind"], "APIVersions", "{api}");
    assert_eq!(api["versions"], json!(["v1"]), "{api}");
    assert!(
        api["serverAddressByClientCIDRs"].is_array(),
        "serverAddressByClientCIDRs: {api}"
    );

    let apis = c.json(&["get", "--raw", "/apis"]).await;
    assert_eq!(apis["kind"], "APIGroupList", "{apis}");
    let groups = apis["groups"].as_array().unwrap();
    for (group, version) in [
        ("apps", "v1"),
        ("coordination.k8s.io", "v1"),
        ("discovery.k8s.io", "v1"),
        ("events.k8s.io", "v1"),
    ] {
        let g = groups
            .iter()
            .find(|g| g["name"] == group)
            .unwrap_or_else(|| panic!("group {group} missing from /apis: {apis}"));
        let gv = format!("{group}/{version}");
        assert!(
            g["versions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v["groupVersion"] == gv.as_str() && v["version"] == version),
            "{g}"
        );
        assert_eq!(g["preferredVersion"]["groupVersion"], gv.as_str(), "{g}");
    }

    let core = c.json(&["get", "--raw", "/api/v1"]).await;
    assert_eq!(core["kind"], "APIResourceList", "{core}");
    assert_eq!(core["groupVersion"], "v1", "{core}");
    let resources = core["resources"].as_array().unwrap();
    let find = |list: &[Value], name: &str| -> Value {
        list.iter()
            .find(|r| r["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("resource {name} missing from discovery"))
    };
    let cm = find(resources, "configmaps");
    assert_eq!(cm["namespaced"], true);
    assert_eq!(cm["kind"], "ConfigMap");
    assert!(cm["singularName"].is_string(), "singularName: {cm}");
    let verbs: BTreeSet<&str> = cm["verbs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for verb in [
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    ] {
        assert!(verbs.contains(verb), "configmaps verbs lack {verb}: {cm}");
    }
    assert_eq!(find(resources, "namespaces")["namespaced"], false);
    assert_eq!(find(resources, "nodes")["namespaced"], false);
    assert_eq!(find(resources, "pods")["kind"], "Pod");
    for sub in [
        "pods/status",
        "pods/binding",
        "services/status",
        "nodes/status",
        "replicationcontrollers/scale",
    ] {
        find(resources, sub);
    }

    let apps = c.json(&["get", "--raw", "/apis/apps/v1"]).await;
    assert_eq!(apps["groupVersion"], "apps/v1", "{apps}");
    let apps_resources = apps["resources"].as_array().unwrap();
    assert_eq!(find(apps_resources, "deployments")["kind"], "Deployment");
    let scale = find(apps_resources, "deployments/scale");
    assert_eq!(scale["group"], "autoscaling", "{scale}");
    assert_eq!(scale["version"], "v1", "{scale}");
    assert_eq!(scale["kind"], "Scale", "{scale}");
    find(apps_resources, "replicasets");

    let version = c.json(&["get", "--raw", "/version"]).await;
    assert_eq!(version["major"], "1", "{version}");
    assert!(
        version["gitVersion"].as_str().unwrap().starts_with("v1."),
        "{version}"
    );
    let kv = c.json(&["version", "-o", "json"]).await;
    assert_eq!(kv["serverVersion"]["major"], "1", "{kv}");

    assert_eq!(c.ok(&["get", "--raw", "/healthz"]).await.trim(), "ok");
    assert_eq!(c.ok(&["get", "--raw", "/readyz"]).await.trim(), "ok");
    assert_eq!(c.ok(&["get", "--raw", "/livez"]).await.trim(), "ok");
    let metrics = c.ok(&["get", "--raw", "/metrics"]).await;
    assert!(
        metrics.contains("apiserver_request"),
        "/metrics lacks apiserver_request: {}",
        &metrics[..metrics.len().min(2000)]
    );

    // kubectl api-resources is built from discovery alone.
    let ar = c.ok(&["api-resources"]).await;
    for name in [
        "configmaps",
        "deployments",
        "leases",
        "endpointslices",
        "nodes",
    ] {
        assert!(ar.contains(name), "api-resources lacks {name}:\n{ar}");
    }

    // Bootstrap objects.
    let nss = c.get(&["namespaces"]).await;
    let ns_names = names(&nss);
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        assert!(
            ns_names.iter().any(|n| n == ns),
            "namespace {ns} missing: {ns_names:?}"
        );
    }
    let svc = c.get(&["service", "kubernetes", "-n", "default"]).await;
    assert_eq!(svc["spec"]["ports"][0]["port"], 443, "{svc}");
    assert_eq!(svc["spec"]["type"], "ClusterIP", "{svc}");
    assert!(svc["spec"]["clusterIP"].is_string(), "{svc}");
}

// ---------------------------------------------------------------------------------------------
// Create, defaults

async fn create_shows_defaults(c: Cluster) {
    let out = c.create("cm.yaml", CONFIGMAP).await;
    assert!(out.contains("configmap/app-config created"), "{out}");
    let out = c.create("deploy.yaml", DEPLOYMENT).await;
    assert!(out.contains("deployment.apps/web created"), "{out}");
    let out = c.create("pod.json", POD).await;
    assert!(out.contains("pod/p1 created"), "{out}");

    let cm = c.get(&["configmap", "app-config"]).await;
    assert_eq!(cm["kind"], "ConfigMap");
    assert_eq!(cm["apiVersion"], "v1");
    assert_eq!(cm["data"], json!({"k1": "v1", "greeting": "hello"}));
    assert_eq!(cm["metadata"]["namespace"], "default");
    assert_eq!(cm["metadata"]["uid"].as_str().unwrap().len(), 36, "{cm}");
    let ts = cm["metadata"]["creationTimestamp"].as_str().unwrap();
    assert!(is_rfc3339_utc(ts), "creationTimestamp {ts:?}");
    assert!(rv(&cm) > 0);

    let d = c.get(&["deployment", "web"]).await;
    assert_eq!(d["kind"], "Deployment");
    assert_eq!(d["apiVersion"], "apps/v1");
    let spec = &d["spec"];
    assert_eq!(spec["replicas"], 1, "{d}");
    assert_eq!(spec["strategy"]["type"], "RollingUpdate", "{d}");
    assert_eq!(
        spec["strategy"]["rollingUpdate"]["maxUnavailable"], "25%",
        "{d}"
    );
    assert_eq!(spec["strategy"]["rollingUpdate"]["maxSurge"], "25%", "{d}");
    assert_eq!(spec["revisionHistoryLimit"], 10, "{d}");
    assert_eq!(spec["progressDeadlineSeconds"], 600, "{d}");
    let tpl = &spec["template"]["spec"];
    assert_eq!(tpl["restartPolicy"], "Always", "{d}");
    assert_eq!(tpl["dnsPolicy"], "ClusterFirst", "{d}");
    assert_eq!(tpl["schedulerName"], "default-scheduler", "{d}");
    assert_eq!(tpl["terminationGracePeriodSeconds"], 30, "{d}");
    assert_eq!(
        tpl["containers"][0]["imagePullPolicy"], "IfNotPresent",
        "{d}"
    );
    assert_eq!(tpl["containers"][0]["ports"][0]["protocol"], "TCP", "{d}");
    assert_eq!(d["metadata"]["generation"], 1, "{d}");
    assert_eq!(d["metadata"]["uid"].as_str().unwrap().len(), 36);
    assert!(is_rfc3339_utc(
        d["metadata"]["creationTimestamp"].as_str().unwrap()
    ));
    assert!(
        rv(&d) > rv(&cm),
        "RVs grow: cm {} deploy {}",
        rv(&cm),
        rv(&d)
    );

    let p = c.get(&["pod", "p1"]).await;
    let spec = &p["spec"];
    assert_eq!(spec["restartPolicy"], "Always", "{p}");
    assert_eq!(spec["dnsPolicy"], "ClusterFirst", "{p}");
    assert_eq!(spec["schedulerName"], "default-scheduler", "{p}");
    assert_eq!(spec["terminationGracePeriodSeconds"], 30, "{p}");
    assert_eq!(spec["enableServiceLinks"], true, "{p}");
    let ctr = &spec["containers"][0];
    assert_eq!(ctr["imagePullPolicy"], "Always", "untagged image: {p}");
    assert_eq!(ctr["terminationMessagePath"], "/dev/termination-log", "{p}");
    assert_eq!(ctr["terminationMessagePolicy"], "File", "{p}");
    assert_eq!(ctr["ports"][0]["protocol"], "TCP", "{p}");
    let tolerations = spec["tolerations"]
        .as_array()
        .unwrap_or_else(|| panic!("no tolerations: {p}"));
    for key in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ] {
        let t = tolerations
            .iter()
            .find(|t| t["key"] == key)
            .unwrap_or_else(|| panic!("no toleration for {key}: {p}"));
        assert_eq!(t["operator"], "Exists", "{t}");
        assert_eq!(t["effect"], "NoExecute", "{t}");
        assert_eq!(t["tolerationSeconds"], 300, "{t}");
    }
    assert_eq!(tolerations.len(), 2, "{p}");
    assert_eq!(p["status"]["phase"], "Pending", "{p}");
    assert_eq!(p["status"]["qosClass"], "BestEffort", "{p}");

    // The list shows all three kinds' objects, with a list resourceVersion.
    let list = c.get(&["configmaps"]).await;
    assert!(names(&list).contains(&"app-config".to_string()), "{list}");
    assert!(
        list["metadata"]["resourceVersion"].is_string(),
        "list RV: {list}"
    );
    let deploys = c.get(&["deployments"]).await;
    assert_eq!(names(&deploys), vec!["web"]);
}

// ---------------------------------------------------------------------------------------------
// Label, annotate, patch (three kinds), scale, delete

async fn label_annotate_patch_scale_delete(c: Cluster) {
    c.create("cm.yaml", CONFIGMAP).await;
    let deploy_file = c.write("deploy.yaml", DEPLOYMENT);
    c.ok(&[
        "create",
        "--validate=false",
        "-f",
        deploy_file.to_str().unwrap(),
    ])
    .await;
    let before = c.get(&["configmap", "app-config"]).await;

    let out = c
        .ok(&["label", "configmap", "app-config", "tier=backend"])
        .await;
    assert!(out.contains("configmap/app-config labeled"), "{out}");
    let cm = c.get(&["configmap", "app-config"]).await;
    assert_eq!(cm["metadata"]["labels"]["tier"], "backend", "{cm}");
    assert!(rv(&cm) > rv(&before), "a label changes the resourceVersion");
    assert_eq!(cm["metadata"]["uid"], before["metadata"]["uid"]);

    // Overwriting a label, removing one (KEY-).
    c.ok(&[
        "label",
        "configmap",
        "app-config",
        "tier=frontend",
        "--overwrite",
    ])
    .await;
    assert_eq!(
        c.get(&["configmap", "app-config"]).await["metadata"]["labels"]["tier"],
        "frontend"
    );
    c.ok(&["label", "configmap", "app-config", "tier-"]).await;
    let cm = c.get(&["configmap", "app-config"]).await;
    assert!(cm["metadata"]["labels"].get("tier").is_none(), "{cm}");

    // Label selectors see labels.
    c.ok(&["label", "configmap", "app-config", "team=a"]).await;
    let sel = c.get(&["configmaps", "-l", "team=a"]).await;
    assert_eq!(names(&sel), vec!["app-config"]);
    let sel = c.get(&["configmaps", "-l", "team!=a,team"]).await;
    assert_eq!(names(&sel), Vec::<String>::new());

    let out = c
        .ok(&["annotate", "configmap", "app-config", "note=hello world"])
        .await;
    assert!(out.contains("configmap/app-config annotated"), "{out}");
    let cm = c.get(&["configmap", "app-config"]).await;
    assert_eq!(cm["metadata"]["annotations"]["note"], "hello world", "{cm}");

    // Merge patch: adds a key, keeps the others; null deletes.
    let out = c
        .ok(&[
            "patch",
            "configmap",
            "app-config",
            "--type",
            "merge",
            "-p",
            r#"{"data":{"k2":"v2","greeting":null}}"#,
        ])
        .await;
    assert!(out.contains("configmap/app-config patched"), "{out}");
    let cm = c.get(&["configmap", "app-config"]).await;
    assert_eq!(cm["data"], json!({"k1": "v1", "k2": "v2"}), "{cm}");

    // JSON patch.
    c.ok(&["patch", "configmap", "app-config", "--type", "json", "-p", r#"[{"op":"replace","path":"/data/k1","value":"changed"},{"op":"add","path":"/data/k3","value":"three"}]"#])
        .await;
    let cm = c.get(&["configmap", "app-config"]).await;
    assert_eq!(
        cm["data"],
        json!({"k1": "changed", "k2": "v2", "k3": "three"}),
        "{cm}"
    );

    // A JSON patch whose test fails changes nothing.
    let out = c
        .kubectl(&["patch", "configmap", "app-config", "--type", "json", "-p", r#"[{"op":"test","path":"/data/k1","value":"nope"},{"op":"replace","path":"/data/k1","value":"bad"}]"#])
        .await;
    assert!(
        !out.status.success(),
        "failed test op accepted: {}",
        stdout(&out)
    );
    assert_eq!(
        c.get(&["configmap", "app-config"]).await["data"]["k1"],
        "changed"
    );

    // Strategic merge patch on a Deployment: the container list merges by name, so the
    // container keeps its ports; the spec change bumps the generation.
    let d0 = c.get(&["deployment", "web"]).await;
    assert_eq!(d0["metadata"]["generation"], 1);
    c.ok(&[
        "patch",
        "deployment",
        "web",
        "--type",
        "strategic",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.26"}]}}}}"#,
    ])
    .await;
    let d = c.get(&["deployment", "web"]).await;
    let ctrs = d["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert_eq!(ctrs.len(), 1, "{d}");
    assert_eq!(ctrs[0]["image"], "nginx:1.26", "{d}");
    assert_eq!(ctrs[0]["ports"][0]["containerPort"], 80, "ports kept: {d}");
    assert_eq!(d["metadata"]["generation"], 2, "{d}");
    // Strategic is kubectl's default for built-in types; adding a container by a new name
    // appends it.
    c.ok(&["patch", "deployment", "web", "-p", r#"{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox:1.36"}]}}}}"#])
        .await;
    let d = c.get(&["deployment", "web"]).await;
    let ctr_names: Vec<&str> = d["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(ctr_names.len(), 2, "{d}");
    assert!(
        ctr_names.contains(&"nginx") && ctr_names.contains(&"sidecar"),
        "{d}"
    );
    // Metadata-only changes keep the generation.
    c.ok(&["label", "deployment", "web", "tier=web"]).await;
    let d = c.get(&["deployment", "web"]).await;
    assert_eq!(d["metadata"]["generation"], 3, "{d}");

    let out = c.ok(&["scale", "deployment", "web", "--replicas=3"]).await;
    assert!(out.contains("deployment.apps/web scaled"), "{out}");
    let d = c.get(&["deployment", "web"]).await;
    assert_eq!(d["spec"]["replicas"], 3, "{d}");
    assert_eq!(d["metadata"]["generation"], 4, "{d}");
    let scale = c
        .json(&[
            "get",
            "--raw",
            "/apis/apps/v1/namespaces/default/deployments/web/scale",
        ])
        .await;
    assert_eq!(scale["kind"], "Scale", "{scale}");
    assert_eq!(scale["apiVersion"], "autoscaling/v1", "{scale}");
    assert_eq!(scale["spec"]["replicas"], 3, "{scale}");
    assert_eq!(scale["status"]["selector"], "app=web", "{scale}");
    assert_eq!(scale["metadata"]["name"], "web", "{scale}");

    let out = c.ok(&["delete", "configmap", "app-config"]).await;
    assert!(out.contains(r#"configmap "app-config" deleted"#), "{out}");
    let out = c
        .kubectl(&["get", "configmap", "app-config", "-o", "json"])
        .await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("(NotFound)"), "{}", stderr(&out));
    let out = c.ok(&["delete", "-f", deploy_file.to_str().unwrap()]).await;
    assert!(out.contains(r#"deployment.apps "web" deleted"#), "{out}");
    assert_eq!(names(&c.get(&["deployments"]).await), Vec::<String>::new());
}

async fn not_found_and_already_exists(c: Cluster) {
    let out = c
        .kubectl(&["get", "configmap", "missing", "-o", "json"])
        .await;
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(r#"Error from server (NotFound): configmaps "missing" not found"#),
        "{err}"
    );
    let out = c.kubectl(&["get", "deployment", "missing"]).await;
    let err = stderr(&out);
    assert!(
        err.contains(r#"Error from server (NotFound): deployments.apps "missing" not found"#),
        "{err}"
    );
    let out = c.kubectl(&["delete", "configmap", "missing"]).await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("Error from server (NotFound)"),
        "{}",
        stderr(&out)
    );

    c.create("cm.yaml", CONFIGMAP).await;
    let path = c.work.path().join("cm.yaml");
    let out = c
        .kubectl(&["create", "--validate=false", "-f", path.to_str().unwrap()])
        .await;
    assert!(!out.status.success(), "second create succeeded");
    let err = stderr(&out);
    assert!(err.contains("Error from server (AlreadyExists)"), "{err}");
    assert!(
        err.contains(r#"configmaps "app-config" already exists"#),
        "{err}"
    );

    // The object is unchanged by the failed create.
    let cm = c.get(&["configmap", "app-config"]).await;
    assert_eq!(cm["data"]["k1"], "v1");

    // A missing namespace.
    let no_ns = c.write(
        "cm-nons.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: b\n",
    );
    let out = c
        .kubectl(&[
            "create",
            "--validate=false",
            "-n",
            "nope",
            "-f",
            no_ns.to_str().unwrap(),
        ])
        .await;
    assert!(
        !out.status.success(),
        "create into a missing namespace succeeded"
    );
    let err = stderr(&out);
    assert!(
        err.contains(r#"Error from server (NotFound)"#)
            && err.contains(r#"namespaces "nope" not found"#),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Bad input: the right Status, never a dropped connection

/// Collects failed expectations, so that one run reports every wrong answer, not only the
/// first; `finish` fails the test if there was any.
#[derive(Default)]
struct Soft(Vec<String>);

impl Soft {
    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.0.push(what());
        }
    }

    /// Expects a `Status` answer with `code` and `reason`; returns it if so.
    fn status(&mut self, what: &str, r: &RawResponse, code: u16, reason: &str) -> Option<Value> {
        let body = r.json().ok();
        let ok = r.status.as_u16() == code
            && r.content_type.starts_with("application/json")
            && body.as_ref().is_some_and(|s| {
                s["kind"] == "Status"
                    && s["apiVersion"] == "v1"
                    && s["status"] == "Failure"
                    && s["code"] == code
                    && s["reason"] == reason
            });
        if ok {
            body
        } else {
            self.0.push(format!(
                "{what}: want {code} {reason}, got {} ({:?}): {}",
                r.status,
                r.content_type,
                short(&r.text())
            ));
            None
        }
    }

    /// Expects `code` (any body).
    fn code(&mut self, what: &str, r: &RawResponse, code: u16) -> Option<Value> {
        if r.status.as_u16() == code {
            r.json().ok()
        } else {
            self.0.push(format!(
                "{what}: want {code}, got {}: {}",
                r.status,
                short(&r.text())
            ));
            None
        }
    }

    fn finish(self) {
        if !self.0.is_empty() {
            panic!(
                "{} wrong answer(s):\n- {}",
                self.0.len(),
                self.0.join("\n- ")
            );
        }
    }
}

fn short(s: &str) -> &str {
    let mut end = s.len().min(600);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn deployment_json(name: &str, spec_extra: Value) -> String {
    let mut spec = json!({
        "selector": {"matchLabels": {"a": "b"}},
        "template": {"metadata": {"labels": {"a": "b"}},
                     "spec": {"containers": [{"name": "c", "image": "i"}]}},
    });
    for (k, v) in spec_extra.as_object().unwrap() {
        spec[k] = v.clone();
    }
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name}, "spec": spec})
        .to_string()
}

async fn bad_requests_get_status_codes(c: Cluster) {
    let client = c.client().await;
    let mut s = Soft::default();
    let cms = "/api/v1/namespaces/default/configmaps";
    let deps = "/apis/apps/v1/namespaces/default/deployments";
    let json_ct = Some("application/json");
    let get = |path: String| {
        let client = client.clone();
        async move { raw(&client, Method::GET, &path, None, Vec::new()).await }
    };

    let r = raw(
        &client,
        Method::POST,
        cms,
        json_ct,
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"#,
    )
    .await;
    s.status("malformed JSON", &r, 400, "BadRequest");

    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  a: \"1\"\n";
    let r = raw(&client, Method::POST, cms, Some("application/yaml"), yaml).await;
    if let Some(created) = s.code("YAML body", &r, 201) {
        s.check(created["data"]["a"] == "1", || {
            format!("YAML body stored as {created}")
        });
        s.check(r.content_type.starts_with("application/json"), || {
            format!("a YAML create answers in {:?}", r.content_type)
        });
    }

    let r = raw(
        &client,
        Method::POST,
        cms,
        None,
        configmap_json("default", "no-ct", json!({})),
    )
    .await;
    s.code("JSON body without Content-Type", &r, 201);

    let r = raw(&client, Method::POST, cms, Some("text/plain"), "hello").await;
    s.status("Content-Type text/plain", &r, 415, "UnsupportedMediaType");

    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}});
    let r = raw(&client, Method::POST, cms, json_ct, secret.to_string()).await;
    s.status("a Secret POSTed to configmaps", &r, 400, "BadRequest");
    let wrong_group =
        json!({"apiVersion": "apps/v1", "kind": "ConfigMap", "metadata": {"name": "s"}});
    let r = raw(&client, Method::POST, cms, json_ct, wrong_group.to_string()).await;
    s.status(
        "apiVersion apps/v1 POSTed to /api/v1 configmaps",
        &r,
        400,
        "BadRequest",
    );

    let unknown = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "strict"}, "dataa": {"a": "b"}});
    let r = raw(
        &client,
        Method::POST,
        &format!("{cms}?fieldValidation=Strict"),
        json_ct,
        unknown.to_string(),
    )
    .await;
    if let Some(st) = s.status(
        "unknown field, fieldValidation=Strict",
        &r,
        400,
        "BadRequest",
    ) {
        let msg = st["message"].as_str().unwrap_or_default();
        s.check(
            msg.contains(r#"strict decoding error: unknown field "dataa""#),
            || format!("strict decoding message: {msg}"),
        );
    }
    let r = raw(
        &client,
        Method::POST,
        &format!("{cms}?fieldValidation=Ignore"),
        json_ct,
        unknown.to_string(),
    )
    .await;
    if let Some(obj) = s.code("unknown field, fieldValidation=Ignore", &r, 201) {
        s.check(obj.get("dataa").is_none(), || {
            format!("unknown field stored: {obj}")
        });
    }
    let r = raw(
        &client,
        Method::POST,
        &format!("{deps}?fieldValidation=Strict"),
        json_ct,
        deployment_json("d", json!({"foo": 1})),
    )
    .await;
    if let Some(st) = s.status("nested unknown field, Strict", &r, 400, "BadRequest") {
        let msg = st["message"].as_str().unwrap_or_default();
        s.check(msg.contains(r#"unknown field "spec.foo""#), || {
            format!("nested strict message: {msg}")
        });
    }
    let r = raw(
        &client,
        Method::POST,
        &format!("{cms}?fieldValidation=Bogus"),
        json_ct,
        configmap_json("default", "fv", json!({})),
    )
    .await;
    s.status("fieldValidation=Bogus", &r, 400, "BadRequest");

    let r = raw(
        &client,
        Method::POST,
        cms,
        json_ct,
        configmap_json("default", "Bad_Name", json!({})),
    )
    .await;
    if let Some(st) = s.status("name Bad_Name", &r, 422, "Invalid") {
        s.check(
            st["details"]["causes"][0]["field"] == "metadata.name",
            || format!("Bad_Name causes: {st}"),
        );
        s.check(st["details"]["name"] == "Bad_Name", || {
            format!("Bad_Name details.name: {st}")
        });
        s.check(st["details"]["kind"] == "ConfigMap", || {
            format!("Bad_Name details.kind: {st}")
        });
    }
    let bad = c.write(
        "bad.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n",
    );
    let out = c
        .kubectl(&["create", "--validate=false", "-f", bad.to_str().unwrap()])
        .await;
    let err = stderr(&out);
    s.check(
        err.contains(
            r#"The ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name""#,
        ),
        || format!("kubectl create Bad_Name printed: {err}"),
    );
    let r = raw(
        &client,
        Method::POST,
        deps,
        json_ct,
        deployment_json("neg", json!({"replicas": -1})),
    )
    .await;
    if let Some(st) = s.status("replicas -1", &r, 422, "Invalid") {
        let fields: Vec<&str> = st["details"]["causes"]
            .as_array()
            .map(|a| a.iter().filter_map(|c| c["field"].as_str()).collect())
            .unwrap_or_default();
        s.check(fields.contains(&"spec.replicas"), || {
            format!("replicas -1 causes: {st}")
        });
    }
    let r = raw(
        &client,
        Method::POST,
        deps,
        json_ct,
        deployment_json("nomatch", json!({"selector": {"matchLabels": {"x": "y"}}})),
    )
    .await;
    s.status(
        "selector not matching the template labels",
        &r,
        422,
        "Invalid",
    );

    // A body over 3 MiB: 413, answered (not a reset), and the server keeps serving. Tried a
    // few times: whether an early answer races the client's upload is a matter of timing.
    let big = configmap_json(
        "default",
        "big",
        json!({ "big": "x".repeat(3 * 1024 * 1024 + 1024) }),
    );
    for attempt in 1..=3 {
        let req = request(Method::POST, cms, json_ct, big.clone()).unwrap();
        match send(&client, req).await {
            Ok(r) => {
                s.status(
                    &format!("body over 3 MiB (try {attempt})"),
                    &r,
                    413,
                    "RequestEntityTooLarge",
                );
            }
            Err(e) => {
                s.check(false, || {
                    format!("body over 3 MiB (try {attempt}): no answer: {e:#}")
                });
                break;
            }
        }
    }
    // kubectl (Go, HTTP/2) shows the 413 to the user.
    let big_file = c.write("big.json", std::str::from_utf8(&big).unwrap());
    let out = c
        .kubectl(&[
            "create",
            "--validate=false",
            "-f",
            big_file.to_str().unwrap(),
        ])
        .await;
    let err = stderr(&out);
    s.check(
        err.contains("Error from server (RequestEntityTooLarge)"),
        || format!("kubectl create of a 3 MiB object printed: {}", short(&err)),
    );
    let r = get(cms.to_string()).await;
    if let Some(list) = s.code("list after the big body", &r, 200) {
        s.check(!names(&list).contains(&"big".to_string()), || {
            "the 3 MiB object was stored".into()
        });
    }

    for (what, query) in [
        ("labelSelector a in (b", "labelSelector=a%20in%20(b"),
        ("labelSelector =b", "labelSelector=%3Db"),
        ("fieldSelector spec.nope=x", "fieldSelector=spec.nope%3Dx"),
        ("resourceVersion=abc", "resourceVersion=abc"),
        ("watch resourceVersion=abc", "watch=1&resourceVersion=abc"),
        (
            "resourceVersionMatch without resourceVersion",
            "resourceVersionMatch=Exact",
        ),
        ("continue=not-a-token", "limit=1&continue=not-a-token"),
        ("continue=%%% (not base64)", "continue=%25%25%25"),
    ] {
        let r = get(format!("{cms}?{query}")).await;
        s.status(what, &r, 400, "BadRequest");
    }
    let r = get(format!("{cms}/no-ct?resourceVersion=abc")).await;
    s.status("get with resourceVersion=abc", &r, 400, "BadRequest");

    let r = get("/api/v1/namespaces/default/widgets".into()).await;
    s.status("unknown resource", &r, 404, "NotFound");
    let r = get("/apis/nope.example.com/v1/things".into()).await;
    s.status("unknown group", &r, 404, "NotFound");
    let r = get("/api/v2/pods".into()).await;
    s.status("unknown core version", &r, 404, "NotFound");
    let r = get(format!("{cms}/missing")).await;
    if let Some(st) = s.status("missing object", &r, 404, "NotFound") {
        s.check(st["details"]["name"] == "missing", || {
            format!("NotFound details.name: {st}")
        });
        s.check(st["details"]["kind"] == "configmaps", || {
            format!("NotFound details.kind: {st}")
        });
        s.check(st["message"] == r#"configmaps "missing" not found"#, || {
            format!("NotFound message: {st}")
        });
    }
    let r = raw(
        &client,
        Method::POST,
        "/api/v1/namespaces/nope/configmaps",
        json_ct,
        configmap_json("nope", "x", json!({})),
    )
    .await;
    if let Some(st) = s.status("create in a missing namespace", &r, 404, "NotFound") {
        s.check(st["message"] == r#"namespaces "nope" not found"#, || {
            format!("missing namespace message: {st}")
        });
    }
    let r = raw(
        &client,
        Method::POST,
        cms,
        json_ct,
        configmap_json("kube-system", "mismatch", json!({})),
    )
    .await;
    s.status(
        "body namespace differs from the URL's",
        &r,
        400,
        "BadRequest",
    );

    // Stale resourceVersion on PUT: 409 Conflict; the fresh one works.
    let cm = post_configmap(&client, "default", "conflict", json!({"v": "0"})).await;
    let mut v1 = cm.clone();
    v1["data"]["v"] = json!("1");
    let r = raw(
        &client,
        Method::PUT,
        &format!("{cms}/conflict"),
        json_ct,
        v1.to_string(),
    )
    .await;
    let updated = s
        .code("PUT with the current resourceVersion", &r, 200)
        .unwrap_or(v1);
    s.check(rv(&updated) > rv(&cm), || {
        format!("PUT did not raise the RV: {updated}")
    });
    let mut stale = cm.clone();
    stale["data"]["v"] = json!("stale");
    let r = raw(
        &client,
        Method::PUT,
        &format!("{cms}/conflict"),
        json_ct,
        stale.to_string(),
    )
    .await;
    if let Some(st) = s.status("PUT with a stale resourceVersion", &r, 409, "Conflict") {
        s.check(
            st["message"] == r#"Operation cannot be fulfilled on configmaps "conflict": the object has been modified; please apply your changes to the latest version and try again"#,
            || format!("Conflict message: {st}"),
        );
    }
    let got = get(format!("{cms}/conflict")).await.json().unwrap();
    s.check(got["data"]["v"] == "1", || {
        format!("a rejected write changed the object: {got}")
    });
    let patch = json!({"metadata": {"resourceVersion": cm["metadata"]["resourceVersion"]}, "data": {"v": "p"}});
    let r = raw(
        &client,
        Method::PATCH,
        &format!("{cms}/conflict"),
        Some("application/merge-patch+json"),
        patch.to_string(),
    )
    .await;
    s.status(
        "merge patch carrying a stale resourceVersion",
        &r,
        409,
        "Conflict",
    );
    let r = raw(
        &client,
        Method::PATCH,
        &format!("{cms}/conflict"),
        Some("application/json-patch+json"),
        r#"[{"op":"test","path":"/data/v","value":"nope"}]"#,
    )
    .await;
    s.code("JSON patch with a failing test op", &r, 422);
    let r = raw(
        &client,
        Method::PATCH,
        &format!("{cms}/conflict"),
        Some("application/merge-patch+json"),
        "{not json",
    )
    .await;
    s.status("malformed merge patch", &r, 400, "BadRequest");
    let r = raw(
        &client,
        Method::PATCH,
        &format!("{cms}/missing"),
        Some("application/merge-patch+json"),
        "{}",
    )
    .await;
    s.status("patch of a missing object", &r, 404, "NotFound");
    let r = raw(
        &client,
        Method::PUT,
        &format!("{cms}/other"),
        json_ct,
        updated.to_string(),
    )
    .await;
    s.status(
        "PUT with a name other than the URL's",
        &r,
        400,
        "BadRequest",
    );
    let r = raw(
        &client,
        Method::POST,
        &format!("{cms}/conflict"),
        json_ct,
        updated.to_string(),
    )
    .await;
    s.code("POST to an object URL", &r, 405);
    let r = raw(
        &client,
        Method::DELETE,
        &format!("{cms}/missing"),
        None,
        Vec::new(),
    )
    .await;
    s.status("delete of a missing object", &r, 404, "NotFound");
    let uid_pre = json!({"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"uid": "00000000-0000-0000-0000-000000000000"}});
    let r = raw(
        &client,
        Method::DELETE,
        &format!("{cms}/conflict"),
        json_ct,
        uid_pre.to_string(),
    )
    .await;
    s.status("delete with a wrong uid precondition", &r, 409, "Conflict");
    s.finish();
}

async fn auth_failures_are_401(c: Cluster) {
    let anon = c.server.anonymous_client().await.unwrap();
    let path = "/api/v1/namespaces/default/configmaps";
    let r = raw(&anon, Method::GET, path, None, Vec::new()).await;
    assert_status(&r, 401, "Unauthorized");
    let req = http::Request::get(path)
        .header(http::header::AUTHORIZATION, "Bearer not-the-token")
        .body(Vec::new())
        .unwrap();
    let r = send(&anon, req).await.unwrap();
    assert_status(&r, 401, "Unauthorized");
    // Basic auth is not a credential here either.
    let req = http::Request::get(path)
        .header(http::header::AUTHORIZATION, "Basic YWRtaW46YWRtaW4=")
        .body(Vec::new())
        .unwrap();
    assert_status(&send(&anon, req).await.unwrap(), 401, "Unauthorized");
    // A write without credentials changes nothing.
    let r = raw(
        &anon,
        Method::POST,
        path,
        Some("application/json"),
        configmap_json("default", "sneaky", json!({})),
    )
    .await;
    assert_status(&r, 401, "Unauthorized");
    let out = c.kubectl(&["get", "configmap", "sneaky"]).await;
    assert!(stderr(&out).contains("(NotFound)"), "{}", stderr(&out));

    // kubectl with a wrong token.
    let out = c
        .kubectl(&["--token", "wrong-token", "get", "configmaps", "-o", "json"])
        .await;
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("error: You must be logged in to the server (Unauthorized)"),
        "{err}"
    );
    // The real token still works.
    c.ok(&["get", "configmaps", "-o", "json"]).await;
}

// ---------------------------------------------------------------------------------------------
// Watch

async fn create_namespace(c: &Cluster, ns: &str) {
    let out = c
        .create(&format!("ns-{ns}.yaml"), &namespace_manifest(ns))
        .await;
    assert!(out.contains(&format!("namespace/{ns} created")), "{out}");
}

/// Reads events until `want` events for the object `name` have arrived; returns them as
/// (type, resourceVersion). Events of other objects are skipped.
async fn collect_events(w: &mut WatchStream, name: &str, want: usize) -> Vec<(String, u64)> {
    let mut seen = Vec::new();
    while seen.len() < want {
        let ev = w
            .next_event(EVENT_TIMEOUT)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("watch gave no further event; saw {seen:?}"));
        let ty = ev["type"].as_str().unwrap_or_default().to_string();
        assert_ne!(ty, "ERROR", "unexpected ERROR event: {ev}");
        if ty == "BOOKMARK" {
            continue;
        }
        if ev["object"]["metadata"]["name"] == name {
            assert_eq!(ev["object"]["kind"], "ConfigMap", "{ev}");
            assert_eq!(ev["object"]["apiVersion"], "v1", "{ev}");
            seen.push((ty, rv(&ev["object"])));
        }
    }
    seen
}

async fn watch_sees_changes_in_order(c: Cluster) {
    create_namespace(&c, "watched").await;
    let client = c.client().await;
    let base = "/api/v1/namespaces/watched/configmaps";
    let list = raw(&client, Method::GET, base, None, Vec::new())
        .await
        .json()
        .unwrap();
    let start_rv = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();

    let mut w = WatchStream::start(
        &client,
        &format!("{base}?watch=1&resourceVersion={start_rv}"),
    )
    .await
    .unwrap();
    assert_eq!(w.status, StatusCode::OK);
    // Another watch on a different namespace must not see this namespace's objects.
    let mut other = WatchStream::start(
        &client,
        &format!("/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={start_rv}"),
    )
    .await
    .unwrap();

    let created = post_configmap(&client, "watched", "w1", json!({"n": "0"})).await;
    let r = raw(
        &client,
        Method::PATCH,
        &format!("{base}/w1"),
        Some("application/merge-patch+json"),
        r#"{"data":{"n":"1"}}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let modified = r.json().unwrap();
    let r = raw(
        &client,
        Method::DELETE,
        &format!("{base}/w1"),
        None,
        Vec::new(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    let events = collect_events(&mut w, "w1", 3).await;
    let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(types, ["ADDED", "MODIFIED", "DELETED"], "{events:?}");
    assert_eq!(events[0].1, rv(&created));
    assert_eq!(events[1].1, rv(&modified));
    assert!(
        events[2].1 > events[1].1,
        "DELETED carries the deletion RV: {events:?}"
    );

    // The same watch started again from the same revision replays the same events.
    let mut again = WatchStream::start(
        &client,
        &format!("{base}?watch=1&resourceVersion={start_rv}"),
    )
    .await
    .unwrap();
    assert_eq!(collect_events(&mut again, "w1", 3).await, events);

    // A watch without a resourceVersion starts with the current objects as ADDED.
    post_configmap(&client, "watched", "w2", json!({})).await;
    let mut fresh = WatchStream::start(&client, &format!("{base}?watch=1"))
        .await
        .unwrap();
    let first = collect_events(&mut fresh, "w2", 1).await;
    assert_eq!(first[0].0, "ADDED");

    // A label-selected watch: an object that stops matching is DELETED for it.
    let mut sel = WatchStream::start(
        &client,
        &format!(
            "{base}?watch=1&labelSelector=color%3Dblue&resourceVersion={}",
            rv(&list_rv(&client, base).await)
        ),
    )
    .await
    .unwrap();
    let blue = raw(
        &client,
        Method::POST,
        base,
        Some("application/json"),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "w3", "labels": {"color": "blue"}}}).to_string(),
    )
    .await;
    assert_eq!(blue.status, StatusCode::CREATED);
    let r = raw(
        &client,
        Method::PATCH,
        &format!("{base}/w3"),
        Some("application/merge-patch+json"),
        r#"{"metadata":{"labels":{"color":"red"}}}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let types: Vec<String> = collect_events(&mut sel, "w3", 2)
        .await
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert_eq!(types, ["ADDED", "DELETED"]);

    // The default-namespace watch saw none of it (bounded wait for a stray event).
    if let Some(ev) = other.next_event(Duration::from_millis(500)).await.unwrap() {
        assert_ne!(
            ev["object"]["metadata"]["namespace"], "watched",
            "leaked event: {ev}"
        );
    }

    // timeoutSeconds ends the stream cleanly.
    let mut short = WatchStream::start(
        &client,
        &format!(
            "{base}?watch=1&timeoutSeconds=1&resourceVersion={}",
            rv(&list_rv(&client, base).await)
        ),
    )
    .await
    .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !short.ended() && tokio::time::Instant::now() < deadline {
        let _ = short.next_event(Duration::from_millis(500)).await.unwrap();
    }
    assert!(
        short.ended(),
        "watch with timeoutSeconds=1 still open after 10 s"
    );
}

/// A list's metadata as an object (so `rv` reads its resourceVersion).
async fn list_rv(client: &kube::Client, path: &str) -> Value {
    let list = raw(client, Method::GET, path, None, Vec::new())
        .await
        .json()
        .unwrap();
    json!({"metadata": list["metadata"]})
}

async fn kubectl_watch_sees_changes(c: Cluster) {
    create_namespace(&c, "kw").await;
    let client = c.client().await;
    post_configmap(&client, "kw", "existing", json!({})).await;
    let mut child = c
        .server
        .kubectl_command(&[
            "get",
            "configmaps",
            "-n",
            "kw",
            "--watch",
            "--output-watch-events",
            "-o",
            "json",
        ])
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut buf: Vec<u8> = Vec::new();
    let mut events: Vec<(String, String)> = Vec::new();
    let mut changed = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    let base = "/api/v1/namespaces/kw/configmaps";
    loop {
        // Parse every complete JSON document printed so far.
        let mut stream = serde_json::Deserializer::from_slice(&buf).into_iter::<Value>();
        let mut consumed = 0;
        while let Some(Ok(v)) = stream.next() {
            consumed = stream.byte_offset();
            events.push((
                v["type"].as_str().unwrap_or_default().to_string(),
                v["object"]["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            ));
        }
        buf.drain(..consumed);
        if !changed && events.iter().any(|(t, n)| t == "ADDED" && n == "existing") {
            // kubectl has listed: now change things.
            post_configmap(&client, "kw", "kw1", json!({"a": "1"})).await;
            let r = raw(
                &client,
                Method::PATCH,
                &format!("{base}/kw1"),
                Some("application/merge-patch+json"),
                r#"{"data":{"a":"2"}}"#,
            )
            .await;
            assert_eq!(r.status, StatusCode::OK);
            let r = raw(
                &client,
                Method::DELETE,
                &format!("{base}/kw1"),
                None,
                Vec::new(),
            )
            .await;
            assert_eq!(r.status, StatusCode::OK);
            changed = true;
        }
        let kw1: Vec<&str> = events
            .iter()
            .filter(|(_, n)| n == "kw1")
            .map(|(t, _)| t.as_str())
            .collect();
        if kw1.len() >= 3 {
            assert_eq!(kw1, ["ADDED", "MODIFIED", "DELETED"], "{events:?}");
            break;
        }
        let mut chunk = [0u8; 8192];
        match tokio::time::timeout_at(deadline, out.read(&mut chunk)).await {
            Err(_) => panic!("kubectl --watch printed only {events:?} within 40 s"),
            Ok(Ok(0)) => {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ =
                        tokio::time::timeout(Duration::from_secs(2), e.read_to_string(&mut err))
                            .await;
                }
                panic!("kubectl --watch ended; events {events:?}; stderr: {err}");
            }
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            Ok(Err(e)) => panic!("reading kubectl: {e}"),
        }
    }
    let _ = child.kill().await;
}

/// After history is gone (etcd compacted, and the server restarted so its cache starts over;
/// the embedded store reopened), a watch from an old revision cannot be served: HTTP 200, one
/// ERROR event with a 410 Expired Status, then the end of the stream.
async fn watch_from_expired_revision_is_410(mut c: Cluster) {
    let client = c.client().await;
    let old = post_configmap(&client, "default", "old", json!({})).await;
    let old_rv = rv(&old);
    // Changes after old_rv, including a deletion no replay could reconstruct.
    post_configmap(&client, "default", "gone", json!({})).await;
    let r = raw(
        &client,
        Method::DELETE,
        "/api/v1/namespaces/default/configmaps/gone",
        None,
        Vec::new(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    for i in 0..3 {
        post_configmap(&client, "default", &format!("later-{i}"), json!({})).await;
    }
    if let Some(etcd) = &c.etcd {
        let current = etcd_revision(etcd).await;
        let out = etcdctl(etcd, &["compact", &current.to_string()]).await;
        assert!(out.status.success(), "etcdctl compact: {}", stderr(&out));
    }
    c.server.restart().await.unwrap();
    let client = c.client().await;

    let mut w = WatchStream::start(
        &client,
        &format!("/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={old_rv}"),
    )
    .await
    .unwrap();
    assert_eq!(
        w.status,
        StatusCode::OK,
        "a too-old watch is an event, not an HTTP error"
    );
    let ev = w
        .next_event(EVENT_TIMEOUT)
        .await
        .unwrap()
        .unwrap_or_else(|| {
            panic!(
                "no event for a watch from compacted revision {old_rv} ({:?})",
                c.backend
            )
        });
    assert_eq!(
        ev["type"], "ERROR",
        "watch from compacted revision {old_rv} gave {ev}"
    );
    let status = &ev["object"];
    assert_eq!(status["kind"], "Status", "{ev}");
    assert_eq!(status["code"], 410, "{ev}");
    assert_eq!(status["reason"], "Expired", "{ev}");
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .contains("too old resource version"),
        "{ev}"
    );
    let end = w.next_event(EVENT_TIMEOUT).await.unwrap();
    assert!(
        end.is_none() && w.ended(),
        "the stream goes on after the ERROR: {end:?}"
    );

    // A list at that exact old revision is Expired too.
    let r = raw(
        &client,
        Method::GET,
        &format!("/api/v1/namespaces/default/configmaps?resourceVersion={old_rv}&resourceVersionMatch=Exact"),
        None,
        Vec::new(),
    )
    .await;
    assert_status(&r, 410, "Expired");
    // A watch from the current revision works.
    let now = list_rv(&client, "/api/v1/namespaces/default/configmaps").await;
    let mut w = WatchStream::start(
        &client,
        &format!(
            "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={}",
            rv(&now)
        ),
    )
    .await
    .unwrap();
    post_configmap(&client, "default", "after-restart", json!({})).await;
    assert_eq!(
        collect_events(&mut w, "after-restart", 1).await[0].0,
        "ADDED"
    );
}

// ---------------------------------------------------------------------------------------------
// Paging

async fn list_pages_with_limit_and_continue(c: Cluster) {
    create_namespace(&c, "paging").await;
    let client = c.client().await;
    let want: BTreeSet<String> = (0..5).map(|i| format!("cm-{i}")).collect();
    for name in &want {
        post_configmap(&client, "paging", name, json!({})).await;
    }
    let base = "/api/v1/namespaces/paging/configmaps";
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    let mut first_rv = None;
    loop {
        let path = match &token {
            None => format!("{base}?limit=2"),
            Some(t) => format!("{base}?limit=2&continue={}", urlencode(t)),
        };
        let r = raw(&client, Method::GET, &path, None, Vec::new()).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let page = r.json().unwrap();
        pages += 1;
        let items = names(&page);
        assert!(items.len() <= 2, "page over the limit: {items:?}");
        seen.extend(items);
        // Every page is from the first page's snapshot.
        let page_rv = page["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .to_string();
        first_rv.get_or_insert(page_rv.clone());
        if pages == 1 {
            assert_eq!(page["metadata"]["remainingItemCount"], 3, "{page}");
            // A change after the first page is not in the later pages.
            post_configmap(&client, "paging", "cm-9-late", json!({})).await;
        }
        match page["metadata"]["continue"].as_str() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
        assert!(pages < 10, "paging does not end: {seen:?}");
    }
    assert_eq!(pages, 3, "{seen:?}");
    let unique: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "an object came twice: {seen:?}");
    assert_eq!(unique, want, "pages: {seen:?}");

    // Without a limit, everything (now 6).
    let all = raw(&client, Method::GET, base, None, Vec::new())
        .await
        .json()
        .unwrap();
    assert_eq!(names(&all).len(), 6, "{all}");
    assert!(
        all["metadata"]
            .get("continue")
            .is_none_or(|v| v == "" || v.is_null()),
        "{all}"
    );

    // kubectl pages the same way with --chunk-size.
    let list = c
        .json(&[
            "get",
            "configmaps",
            "-n",
            "paging",
            "--chunk-size=2",
            "-o",
            "json",
        ])
        .await;
    let got: BTreeSet<String> = names(&list).into_iter().collect();
    assert_eq!(got.len(), 6, "{got:?}");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Durability

async fn objects_survive_restart(mut c: Cluster) {
    c.create("cm.yaml", CONFIGMAP).await;
    c.create("deploy.yaml", DEPLOYMENT).await;
    c.create("node.yaml", NODE).await;
    create_namespace(&c, "durable").await;
    let before = [
        c.get(&["configmap", "app-config"]).await,
        c.get(&["deployment", "web"]).await,
        c.get(&["node", "n1"]).await,
        c.get(&["namespace", "durable"]).await,
    ];
    let old_pid = c.server.pid;

    c.server.kill9();
    assert!(!c.server.is_running());
    c.server.restart().await.unwrap();
    assert_ne!(c.server.pid, old_pid);

    let after = [
        c.get(&["configmap", "app-config"]).await,
        c.get(&["deployment", "web"]).await,
        c.get(&["node", "n1"]).await,
        c.get(&["namespace", "durable"]).await,
    ];
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(a["metadata"]["uid"], b["metadata"]["uid"], "{a}");
        assert_eq!(
            a["metadata"]["resourceVersion"], b["metadata"]["resourceVersion"],
            "{a}"
        );
        assert_eq!(a["spec"], b["spec"], "{a}");
        assert_eq!(a["data"], b["data"], "{a}");
    }
    // Bootstrap ran again without duplicating anything.
    let svcs = c.get(&["services", "-n", "default"]).await;
    assert_eq!(names(&svcs), vec!["kubernetes"], "{svcs}");

    // Writes continue above the old revisions.
    c.ok(&["label", "configmap", "app-config", "after=restart"])
        .await;
    let cm = c.get(&["configmap", "app-config"]).await;
    let max_before = before.iter().map(rv).max().unwrap();
    assert!(
        rv(&cm) > max_before,
        "new RV {} not above {max_before}",
        rv(&cm)
    );
    let client = c.client().await;
    let created = post_configmap(&client, "durable", "new", json!({})).await;
    assert!(rv(&created) > rv(&cm));
}

// ---------------------------------------------------------------------------------------------
// etcd only: the kube-apiserver key layout, RV = mod_revision, restart on the same etcd

async fn etcdctl(etcd: &Etcd, args: &[&str]) -> Output {
    let mut cmd = tokio::process::Command::new("etcdctl");
    cmd.env("ETCDCTL_API", "3")
        .arg("--endpoints")
        .arg(etcd.endpoint())
        .arg("--command-timeout=10s")
        .args(args)
        .kill_on_drop(true);
    tokio::time::timeout(Duration::from_secs(20), cmd.output())
        .await
        .expect("etcdctl timed out")
        .expect("run etcdctl")
}

/// `etcdctl get KEY -w json`: the key's mod_revision, None if absent.
async fn etcd_mod_revision(etcd: &Etcd, key: &str) -> Option<u64> {
    let out = etcdctl(etcd, &["get", key, "-w", "json"]).await;
    assert!(out.status.success(), "etcdctl get {key}: {}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["kvs"]
        .as_array()
        .and_then(|kvs| kvs.first())
        .map(|kv| kv["mod_revision"].as_u64().unwrap())
}

async fn etcd_revision(etcd: &Etcd) -> u64 {
    let out = etcdctl(
        etcd,
        &[
            "get",
            "/registry/",
            "--prefix",
            "--keys-only",
            "--limit=1",
            "-w",
            "json",
        ],
    )
    .await;
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["header"]["revision"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_layout_matches_kube_apiserver() {
    run(Backend::Etcd, |c: Cluster| async move {
        let etcd = c.etcd.as_ref().unwrap();
        c.create("cm.yaml", CONFIGMAP).await;
        c.create("deploy.yaml", DEPLOYMENT).await;
        c.create("node.yaml", NODE).await;
        c.create("pod.json", POD).await;
        let rc = r#"{"apiVersion":"v1","kind":"ReplicationController","metadata":{"name":"rc1"},
            "spec":{"replicas":0,"selector":{"app":"rc1"},"template":{"metadata":{"labels":{"app":"rc1"}},
            "spec":{"containers":[{"name":"c","image":"busybox"}]}}}}"#;
        c.create("rc.json", rc).await;
        for (args, key) in [
            (vec!["configmap", "app-config"], "/registry/configmaps/default/app-config"),
            (vec!["deployment", "web"], "/registry/deployments/default/web"),
            (vec!["node", "n1"], "/registry/minions/n1"),
            (vec!["pod", "p1"], "/registry/pods/default/p1"),
            (vec!["replicationcontroller", "rc1"], "/registry/controllers/default/rc1"),
            (vec!["service", "kubernetes"], "/registry/services/specs/default/kubernetes"),
            (vec!["namespace", "kube-system"], "/registry/namespaces/kube-system"),
        ] {
            let obj = c.get(&args).await;
            let mod_rev = etcd_mod_revision(etcd, key)
                .await
                .unwrap_or_else(|| panic!("{key} not in etcd"));
            assert_eq!(rv(&obj), mod_rev, "{key}: resourceVersion vs mod_revision");
        }
        // The server's own Lease (coordination.k8s.io) is stored like any other object.
        let leases = c.get(&["leases", "-n", "kube-system"]).await;
        let lease = leases["items"]
            .as_array()
            .and_then(|l| {
                l.iter().find(|l| {
                    let name = l["metadata"]["name"].as_str().unwrap_or_default();
                    name.starts_with("apiserver-")
                })
            })
            .unwrap_or_else(|| panic!("no apiserver-* Lease in kube-system: {leases}"))
            .clone();
        let name = lease["metadata"]["name"].as_str().unwrap();
        let key = format!("/registry/leases/kube-system/{name}");
        let mod_rev = etcd_mod_revision(etcd, &key).await;
        assert!(mod_rev.is_some(), "{key} not in etcd");
        assert!(mod_rev.unwrap() >= rv(&lease), "{key}");
        // An update moves both together; a delete removes the key.
        c.ok(&["label", "configmap", "app-config", "x=y"]).await;
        let cm = c.get(&["configmap", "app-config"]).await;
        assert_eq!(
            Some(rv(&cm)),
            etcd_mod_revision(etcd, "/registry/configmaps/default/app-config").await
        );
        c.ok(&["delete", "configmap", "app-config"]).await;
        assert_eq!(
            etcd_mod_revision(etcd, "/registry/configmaps/default/app-config").await,
            None
        );
        // A list's resourceVersion is an etcd revision: not above etcd's current one.
        let list = c.json(&["get", "--raw", "/api/v1/configmaps"]).await;
        let list_rv = list["metadata"]["resourceVersion"].as_str().unwrap().parse::<u64>().unwrap();
        assert!(list_rv <= etcd_revision(etcd).await);
        assert!(list_rv >= rv(&cm));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_second_apiserver_sees_the_same_objects() {
    run(Backend::Etcd, |c: Cluster| async move {
        let etcd = c.etcd.as_ref().unwrap();
        c.create("cm.yaml", CONFIGMAP).await;
        let cm = c.get(&["configmap", "app-config"]).await;
        // A second server on the same etcd (an HA pair) serves the same object and sees the
        // first one's writes through its watch.
        let second = ApiServer::start_etcd(etcd).await.unwrap();
        let out = second
            .kubectl_json(&["get", "configmap", "app-config", "-o", "json"])
            .await
            .unwrap();
        assert_eq!(out["metadata"]["uid"], cm["metadata"]["uid"]);
        assert_eq!(
            out["metadata"]["resourceVersion"],
            cm["metadata"]["resourceVersion"]
        );
        c.ok(&["label", "configmap", "app-config", "via=first"])
            .await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let got = second
                .kubectl_json(&["get", "configmap", "app-config", "-o", "json"])
                .await
                .unwrap();
            if got["metadata"]["labels"]["via"] == "first" {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "second server never saw the label: {got}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Still exactly one `kubernetes` Service.
        let svcs = second
            .kubectl_json(&["get", "services", "-n", "default", "-o", "json"])
            .await
            .unwrap();
        assert_eq!(names(&svcs), vec!["kubernetes"]);
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// `ferrokube up`: the embedded store survives SIGKILL and SIGTERM

/// uid, resourceVersion, spec and data of the objects the `ferrokube up` test creates.
async fn snapshot(up: &ApiServer) -> Vec<(Value, Value, Value, Value)> {
    let objects: [&[&str]; 4] = [
        &["configmap", "app-config"],
        &["deployment", "web"],
        &["node", "n1"],
        &["namespace", "kept"],
    ];
    let mut out = Vec::new();
    for o in objects {
        let mut args: Vec<&str> = vec!["get"];
        args.extend_from_slice(o);
        args.extend_from_slice(&["-o", "json"]);
        let v = up.kubectl_json(&args).await.unwrap();
        out.push((
            v["metadata"]["uid"].clone(),
            v["metadata"]["resourceVersion"].clone(),
            v["spec"].clone(),
            v["data"].clone(),
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferrokube_up_survives_kill9_and_sigterm() {
    let body = async {
        let data = tempfile::Builder::new()
            .prefix("ferrokube-up-")
            .tempdir()
            .unwrap();
        let work = tempfile::tempdir().unwrap();
        let mut up = ApiServer::start_up(data.path()).await.unwrap();
        assert_eq!(up.kubeconfig, data.path().join("kubeconfig"));
        let write = |name: &str, content: &str| {
            let p = work.path().join(name);
            std::fs::write(&p, content).unwrap();
            p.to_str().unwrap().to_string()
        };
        let files = [
            write("cm.yaml", CONFIGMAP),
            write("deploy.yaml", DEPLOYMENT),
            write("node.yaml", NODE),
            write("ns.yaml", &namespace_manifest("kept")),
        ];
        for f in &files {
            up.kubectl_ok(&["create", "--validate=false", "-f", f])
                .await
                .unwrap();
        }
        let before = snapshot(&up).await;
        // The last write right before the kill must be durable too.
        up.kubectl_ok(&["label", "configmap", "app-config", "last=write"])
            .await
            .unwrap();
        let last = up
            .kubectl_json(&["get", "configmap", "app-config", "-o", "json"])
            .await
            .unwrap();

        up.kill9();
        up.restart().await.unwrap();
        let after = snapshot(&up).await;
        assert_eq!(after[1..], before[1..]);
        assert_eq!(after[0].1, last["metadata"]["resourceVersion"]);
        assert_eq!(after[0].0, before[0].0);

        // SIGTERM: a clean exit, and the data is still there after.
        assert!(
            up.terminate(Duration::from_secs(15)).await,
            "ferrokube up did not exit cleanly on SIGTERM"
        );
        up.restart().await.unwrap();
        assert_eq!(snapshot(&up).await, after);
        let svcs = up
            .kubectl_json(&["get", "services", "-n", "default", "-o", "json"])
            .await
            .unwrap();
        assert_eq!(names(&svcs), vec!["kubernetes"]);
    };
    tokio::time::timeout(TEST_TIMEOUT, body)
        .await
        .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferrokube_up_reports_a_taken_port() {
    let body = async {
        let data = tempfile::tempdir().unwrap();
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let bin = e2e::apiserver::binary("ferrokube").unwrap();
        let mut cmd = tokio::process::Command::new(bin);
        cmd.args([
            "up",
            "--bind-address",
            "127.0.0.1",
            "--secure-port",
            &port.to_string(),
            "--data-dir",
        ])
        .arg(data.path())
        .kill_on_drop(true);
        let out = tokio::time::timeout(Duration::from_secs(30), cmd.output())
            .await
            .expect("ferrokube up on a taken port did not exit")
            .unwrap();
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(err.contains("already in use"), "{err}");
        assert!(!data.path().join("kubeconfig").exists());
        drop(taken);
    };
    tokio::time::timeout(TEST_TIMEOUT, body)
        .await
        .expect("test timed out");
}
