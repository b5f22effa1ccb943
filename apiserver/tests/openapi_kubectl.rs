//! The OpenAPI documents against real kubectl binaries: default validation of `create` and
//! `apply` (kubectl must find the kind's `fieldValidation` support and send
//! `fieldValidation=Strict` instead of failing with `failed to download openapi`),
//! client-side apply's strategic merge patch (computed from the served schemas' patch
//! extensions), and `kubectl explain`.
//!
//! A small axum server on 127.0.0.1 serves discovery, the OpenAPI documents and an in-memory
//! object store that records every write. The default kubectl (v1.32) and every
//! `kubectl.1.*` beside the real binary (1.27 ... 1.33 here) are tried; without kubectl the
//! test passes after saying so.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use apiserver::handlers::discovery;
use apiserver::openapi::{OpenApiCache, OpenApiDocuments};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use http::{Method, StatusCode, header};
use machinery::ResourceTable;
use serde_json::{Value, json};

#[derive(Debug, Clone)]
struct Recorded {
    method: Method,
    path: String,
    query: String,
    content_type: String,
    body: Value,
}

struct TestServer {
    table: ResourceTable,
    docs: Arc<OpenApiDocuments>,
    address: String,
    writes: Mutex<Vec<Recorded>>,
    reads: Mutex<Vec<String>>,
    objects: Mutex<HashMap<String, Value>>,
}

fn json_response(status: StatusCode, v: &Value) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::to_vec(v).unwrap()))
        .unwrap()
}

fn not_found(what: &str) -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": format!("{what} not found"), "reason": "NotFound", "code": 404}),
    )
}

/// `/api/v1/namespaces/default/pods/x` → (group, version, rest).
fn split_api_path(path: &str) -> Option<(String, String, Vec<String>)> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["api", v, rest @ ..] => Some((
            String::new(),
            v.to_string(),
            rest.iter().map(|s| s.to_string()).collect(),
        )),
        ["apis", g, v, rest @ ..] => Some((
            g.to_string(),
            v.to_string(),
            rest.iter().map(|s| s.to_string()).collect(),
        )),
        _ => None,
    }
}

async fn handle(State(s): State<Arc<TestServer>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();
    if parts.method == Method::GET {
        s.reads.lock().unwrap().push(parts.uri.to_string());
        if let Some(resp) = s.docs.respond(&parts.uri, &parts.headers) {
            return resp.map(Body::from);
        }
        match path.as_str() {
            "/version" => return json_response(StatusCode::OK, &discovery::version()),
            "/api" => {
                return json_response(StatusCode::OK, &discovery::api_versions(&s.address));
            }
            "/apis" => return json_response(StatusCode::OK, &discovery::api_group_list(&s.table)),
            _ => {}
        }
        if let Some((g, v, rest)) = split_api_path(&path)
            && rest.is_empty()
        {
            return match discovery::api_resource_list(&s.table, &g, &v) {
                Some(list) => json_response(StatusCode::OK, &list),
                None => not_found(&path),
            };
        }
        return match s.objects.lock().unwrap().get(&path) {
            Some(obj) => json_response(StatusCode::OK, obj),
            None => not_found(&path),
        };
    }
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    s.writes.lock().unwrap().push(Recorded {
        method: parts.method.clone(),
        path: path.clone(),
        query,
        content_type,
        body: body.clone(),
    });
    if parts.method == Method::POST {
        let mut obj = body;
        let name = obj["metadata"]["name"].as_str().unwrap_or("x").to_string();
        if let Some((_, _, rest)) = split_api_path(&path)
            && rest.len() >= 2
            && rest[0] == "namespaces"
        {
            obj["metadata"]["namespace"] = json!(rest[1]);
        }
        obj["metadata"]["uid"] = json!("00000000-0000-0000-0000-000000000001");
        obj["metadata"]["resourceVersion"] = json!("1");
        obj["metadata"]["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
        s.objects
            .lock()
            .unwrap()
            .insert(format!("{path}/{name}"), obj.clone());
        return json_response(StatusCode::CREATED, &obj);
    }
    if parts.method == Method::PATCH {
        // The object as it was: enough for kubectl to print "configured".
        return match s.objects.lock().unwrap().get(&path) {
            Some(obj) => json_response(StatusCode::OK, obj),
            None => not_found(&path),
        };
    }
    json_response(
        StatusCode::METHOD_NOT_ALLOWED,
        &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 405}),
    )
}

/// Serves on 127.0.0.1 from a runtime of its own; lives as long as the test.
fn start_server() -> Arc<TestServer> {
    let table = ResourceTable::builtin();
    let docs = OpenApiCache::new().documents(&table);
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let address = std_listener.local_addr().unwrap().to_string();
    let server = Arc::new(TestServer {
        table,
        docs,
        address,
        writes: Mutex::new(Vec::new()),
        reads: Mutex::new(Vec::new()),
        objects: Mutex::new(HashMap::new()),
    });
    let app = Router::new().fallback(handle).with_state(server.clone());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    server
}

/// `kubectl` (the default) and `kubectl.1.27`, ... beside the real binary.
fn kubectl_binaries() -> Vec<(String, PathBuf)> {
    let Some(path) = std::env::var_os("PATH") else {
        return Vec::new();
    };
    let Some(kubectl) = std::env::split_paths(&path)
        .map(|d| d.join("kubectl"))
        .find(|p| p.is_file())
    else {
        return Vec::new();
    };
    let mut out = vec![("default".to_string(), kubectl.clone())];
    if let Some(dir) = std::fs::canonicalize(&kubectl)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
    {
        // Every versioned binary there: at least 1.27 (the oldest, which reads /openapi/v2
        // as protobuf) through 1.33.
        let mut versioned: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter_map(|e| {
                        let name = e.file_name().to_string_lossy().into_owned();
                        let v = name.strip_prefix("kubectl.")?.to_string();
                        v.starts_with("1.").then(|| (v, e.path()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        versioned.sort();
        out.extend(versioned);
    }
    out
}

struct Kubectl {
    bin: PathBuf,
    kubeconfig: PathBuf,
    cache: PathBuf,
}

impl Kubectl {
    fn run(&self, args: &[&str], dir: &Path) -> (bool, String, String) {
        let out = Command::new(&self.bin)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .arg("--request-timeout=30s")
            .args(args)
            .current_dir(dir)
            .env_remove("KUBECONFIG")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx
        env:
        - {name: A, value: a}
        - {name: B, value: b}
      - name: sidecar
        image: busybox
";

/// The same Deployment without the sidecar and without env B.
const DEPLOYMENT_EDITED: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx
        env:
        - {name: A, value: a}
";

const CONFIGMAP: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  k: v
";

fn check_version(label: &str, bin: &Path) {
    let server = start_server();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: t\n  cluster:\n    server: http://{}\n\
             contexts:\n- name: t\n  context: {{cluster: t, user: u, namespace: default}}\n\
             current-context: t\nusers:\n- name: u\n  user: {{}}\n",
            server.address
        ),
    )
    .unwrap();
    for (name, text) in [
        ("deploy.yaml", DEPLOYMENT),
        ("deploy-edited.yaml", DEPLOYMENT_EDITED),
        ("cm.yaml", CONFIGMAP),
    ] {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let k = Kubectl {
        bin: bin.to_path_buf(),
        kubeconfig,
        cache: dir.path().join("cache"),
    };

    // create with default validation: server-side validation requested.
    let (ok, stdout, stderr) = k.run(&["create", "-f", "deploy.yaml"], dir.path());
    assert!(ok, "kubectl {label} create: {stdout}\n{stderr}");
    assert!(stdout.contains("deployment.apps/web created"), "{stdout}");
    let (ok, stdout, stderr) = k.run(&["create", "-f", "cm.yaml"], dir.path());
    assert!(ok, "kubectl {label} create cm: {stdout}\n{stderr}");
    {
        let writes = server.writes.lock().unwrap();
        let posts: Vec<&Recorded> = writes.iter().filter(|w| w.method == Method::POST).collect();
        assert_eq!(posts.len(), 2, "{writes:?}");
        assert_eq!(
            posts[0].path,
            "/apis/apps/v1/namespaces/default/deployments"
        );
        assert_eq!(posts[1].path, "/api/v1/namespaces/default/configmaps");
        for p in posts {
            assert!(
                p.query.split('&').any(|q| q == "fieldValidation=Strict"),
                "kubectl {label}: {}",
                p.query
            );
        }
    }
    let reads = server.reads.lock().unwrap().clone();
    assert!(
        reads
            .iter()
            .any(|r| r.starts_with("/openapi/v3/apis/apps/v1?hash=")),
        "kubectl {label} read no v3 document: {reads:?}"
    );

    // Client-side apply: create, then a three-way strategic merge patch built from the
    // schemas' merge keys (containers by name, env by name).
    server.writes.lock().unwrap().clear();
    server.objects.lock().unwrap().clear();
    server.reads.lock().unwrap().clear();
    let (ok, stdout, stderr) = k.run(&["apply", "-f", "deploy.yaml"], dir.path());
    assert!(ok, "kubectl {label} apply: {stdout}\n{stderr}");
    let (ok, stdout, stderr) = k.run(&["apply", "-f", "deploy-edited.yaml"], dir.path());
    assert!(ok, "kubectl {label} apply (edit): {stdout}\n{stderr}");
    assert!(
        !stderr.contains("error calculating patch"),
        "kubectl {label}: {stderr}"
    );
    // The patch came from the v3 schemas: nothing was read after the object (a failed v3
    // patch falls back to /openapi/v2, which kubectl 1.27 and 1.28 also read for validation,
    // before the object).
    let reads = server.reads.lock().unwrap().clone();
    let object_read = reads
        .iter()
        .rposition(|r| r.starts_with("/apis/apps/v1/namespaces/default/deployments/web"))
        .unwrap_or_else(|| panic!("kubectl {label}: {reads:?}"));
    assert_eq!(object_read, reads.len() - 1, "kubectl {label}: {reads:?}");
    {
        let writes = server.writes.lock().unwrap();
        let first = &writes[0];
        assert_eq!(first.method, Method::POST);
        assert!(
            first.query.contains("fieldValidation=Strict"),
            "{}",
            first.query
        );
        let patch = writes
            .iter()
            .find(|w| w.method == Method::PATCH)
            .unwrap_or_else(|| panic!("kubectl {label} sent no patch: {writes:?}"));
        assert_eq!(
            patch.path,
            "/apis/apps/v1/namespaces/default/deployments/web"
        );
        assert_eq!(patch.content_type, "application/strategic-merge-patch+json");
        let spec = &patch.body["spec"]["template"]["spec"];
        assert_eq!(
            spec["$setElementOrder/containers"],
            json!([{"name": "web"}]),
            "kubectl {label}: {}",
            patch.body
        );
        let containers = spec["containers"].as_array().unwrap();
        assert!(
            containers.contains(&json!({"$patch": "delete", "name": "sidecar"})),
            "kubectl {label}: {}",
            patch.body
        );
        let web = containers.iter().find(|c| c["name"] == "web").unwrap();
        assert_eq!(web["$setElementOrder/env"], json!([{"name": "A"}]));
        assert!(
            web["env"]
                .as_array()
                .unwrap()
                .contains(&json!({"$patch": "delete", "name": "B"})),
            "kubectl {label}: {}",
            patch.body
        );
    }

    // explain renders the schemas.
    let (ok, stdout, stderr) = k.run(&["explain", "pod.spec.containers"], dir.path());
    assert!(ok, "kubectl {label} explain: {stdout}\n{stderr}");
    assert!(stdout.contains("FIELDS:"), "kubectl {label}: {stdout}");
    assert!(
        stdout.contains("image\t<string>"),
        "kubectl {label}: {stdout}"
    );
    assert!(
        stdout.contains("ports\t<[]ContainerPort>"),
        "kubectl {label}: {stdout}"
    );
    let (ok, stdout, stderr) = k.run(&["explain", "deployment.spec.strategy"], dir.path());
    assert!(ok, "kubectl {label} explain: {stdout}\n{stderr}");
    assert!(
        stdout.contains("rollingUpdate"),
        "kubectl {label}: {stdout}"
    );
}

#[test]
fn kubectl_validates_applies_and_explains_with_our_openapi() {
    let binaries = kubectl_binaries();
    if binaries.is_empty() {
        eprintln!("kubectl not installed: skipped");
        return;
    }
    for (label, bin) in binaries {
        check_version(&label, &bin);
    }
}
