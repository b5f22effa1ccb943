//! kubectl's verbs end to end against ferrokube, with the default kubectl and the oldest and
//! newest versioned copies beside it (1.27, 1.33): server-side apply with a conflict and
//! --force-conflicts (and the upgrade from client-side apply), client-side apply re-applied
//! with a field removed and one changed, edit, rollout pause/resume, set image, wait
//! --for=delete and --for=condition, get -w, describe with events, delete with a finalizer,
//! scale of deployments, replicasets and replication controllers, get all, --sort-by, -L,
//! --show-labels; and a protobuf watch stream.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use e2e::apiserver::ApiServer;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const TIMEOUT: Duration = Duration::from_secs(240);
const KUBECTL_TIMEOUT: Duration = Duration::from_secs(60);

fn which(bin: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(bin))
            .find(|p| p.is_file())
    })
}

/// The default kubectl, or `kubectl.<version>` beside it (ENVIRONMENT.md).
fn kubectl_binary(version: Option<&str>) -> PathBuf {
    let default = which("kubectl").expect("kubectl on PATH");
    let Some(v) = version else { return default };
    let real = std::fs::canonicalize(&default).unwrap();
    let path = real.parent().unwrap().join(format!("kubectl.{v}"));
    assert!(
        path.is_file(),
        "kubectl.{v} is expected beside kubectl (ENVIRONMENT.md)"
    );
    path
}

/// One kubectl binary against one server, with its own cache directory and namespace.
struct Kubectl {
    bin: PathBuf,
    kubeconfig: PathBuf,
    cache: PathBuf,
    namespace: String,
    label: String,
}

impl Kubectl {
    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.bin);
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .arg("-n")
            .arg(&self.namespace)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    async fn run_with(&self, args: &[&str], input: Option<&str>, env: &[(&str, &str)]) -> Output {
        let mut cmd = self.command(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        if input.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let run = async {
            let mut child = cmd.spawn()?;
            if let (Some(data), Some(mut stdin)) = (input, child.stdin.take()) {
                stdin.write_all(data.as_bytes()).await?;
                drop(stdin);
            }
            child.wait_with_output().await
        };
        tokio::time::timeout(KUBECTL_TIMEOUT, run)
            .await
            .unwrap_or_else(|_| panic!("{}: kubectl {args:?} timed out", self.label))
            .unwrap()
    }

    async fn ok(&self, args: &[&str]) -> String {
        self.ok_with(args, None).await
    }

    async fn ok_with(&self, args: &[&str], input: Option<&str>) -> String {
        let out = self.run_with(args, input, &[]).await;
        assert!(
            out.status.success(),
            "{}: kubectl {args:?} failed: {}{}",
            self.label,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    async fn fails_with(&self, args: &[&str], input: Option<&str>) -> String {
        let out = self.run_with(args, input, &[]).await;
        assert!(
            !out.status.success(),
            "{}: kubectl {args:?} succeeded: {}",
            self.label,
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    async fn jsonpath(&self, what: &[&str], path: &str) -> String {
        let mut args = vec!["get"];
        args.extend_from_slice(what);
        let expr = format!("jsonpath={path}");
        args.extend_from_slice(&["-o", &expr]);
        self.ok(&args).await.trim().to_string()
    }
}

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

fn deployment(replicas: u32, image: &str, extra_label: bool) -> String {
    let label = if extra_label { "\n    tier: web" } else { "" };
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web{label}
spec:
  replicas: {replicas}
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
        image: {image}
"
    )
}

async fn server_side_apply(k: &Kubectl) {
    // Created by apply (create-on-apply), owned by the "ci" manager.
    let out = k
        .ok_with(
            &["apply", "--server-side", "--field-manager=ci", "-f", "-"],
            Some(&deployment(2, "nginx:1.25", true)),
        )
        .await;
    assert!(
        out.contains("deployment.apps/web serverside-applied"),
        "{out}"
    );
    let managed = k
        .ok(&[
            "get",
            "deployment",
            "web",
            "-o",
            "yaml",
            "--show-managed-fields",
        ])
        .await;
    assert!(managed.contains("manager: ci"), "{managed}");
    assert!(managed.contains("operation: Apply"), "{managed}");
    assert!(managed.contains("fieldsType: FieldsV1"), "{managed}");
    assert!(managed.contains("f:replicas: {}"), "{managed}");
    // kubectl hides them by default.
    let plain = k.ok(&["get", "deployment", "web", "-o", "yaml"]).await;
    assert!(!plain.contains("managedFields"), "{plain}");

    // Another writer takes spec.replicas; re-applying the old value conflicts.
    k.ok(&["scale", "deployment", "web", "--replicas=3"]).await;
    let err = k
        .fails_with(
            &["apply", "--server-side", "--field-manager=ci", "-f", "-"],
            Some(&deployment(2, "nginx:1.25", true)),
        )
        .await;
    assert!(
        err.contains("Apply failed with 1 conflict: conflict with")
            && err.contains("with subresource \"scale\"")
            && err.contains(".spec.replicas"),
        "{}: {err}",
        k.label
    );
    assert_eq!(
        k.jsonpath(&["deployment", "web"], "{.spec.replicas}").await,
        "3"
    );
    // Forced: ci owns replicas again; dropping the tier label from the configuration removes it.
    k.ok_with(
        &[
            "apply",
            "--server-side",
            "--field-manager=ci",
            "--force-conflicts",
            "-f",
            "-",
        ],
        Some(&deployment(2, "nginx:1.26", false)),
    )
    .await;
    assert_eq!(
        k.jsonpath(
            &["deployment", "web"],
            "{.spec.replicas} {.spec.template.spec.containers[0].image} {.metadata.labels.tier}"
        )
        .await,
        "2 nginx:1.26"
    );

    // From client-side to server-side apply: another manager conflicts with
    // kubectl-client-side-apply; kubectl itself takes over the fields it applied before.
    let cm = |v: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: upgrade\ndata:\n  key: {v}\n")
    };
    k.ok_with(&["apply", "-f", "-"], Some(&cm("one"))).await;
    let err = k
        .fails_with(
            &["apply", "--server-side", "--field-manager=other", "-f", "-"],
            Some(&cm("two")),
        )
        .await;
    assert!(
        err.contains("conflict with \"kubectl-client-side-apply\" using v1: .data.key"),
        "{}: {err}",
        k.label
    );
    k.ok_with(&["apply", "--server-side", "-f", "-"], Some(&cm("two")))
        .await;
    assert_eq!(
        k.jsonpath(&["configmap", "upgrade"], "{.data.key}").await,
        "two"
    );
    let last = k
        .jsonpath(
            &["configmap", "upgrade"],
            "{.metadata.annotations.kubectl\\.kubernetes\\.io/last-applied-configuration}",
        )
        .await;
    assert!(last.contains("\"key\":\"two\""), "{last}");
}

async fn client_side_apply(k: &Kubectl) {
    let first = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: csa\n  labels:\n    a: one\n    b: two\ndata:\n  removed: gone-soon\n  changed: before\n";
    let second = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: csa\n  labels:\n    a: one\ndata:\n  changed: after\n";
    let out = k.ok_with(&["apply", "-f", "-"], Some(first)).await;
    assert!(out.contains("configmap/csa created"), "{out}");
    let out = k.ok_with(&["apply", "-f", "-"], Some(second)).await;
    assert!(out.contains("configmap/csa configured"), "{out}");
    let data = k
        .jsonpath(&["configmap", "csa"], "{.data} {.metadata.labels}")
        .await;
    assert_eq!(data, r#"{"changed":"after"} {"a":"one"}"#, "{}", k.label);
    let out = k.ok_with(&["apply", "-f", "-"], Some(second)).await;
    assert!(out.contains("configmap/csa unchanged"), "{out}");
}

async fn edit_set_image_rollout(k: &Kubectl, dir: &Path) {
    let editor = dir.join(format!("editor-{}.sh", k.namespace));
    std::fs::write(
        &editor,
        "#!/bin/sh\nsed -i 's/image: nginx:1.26/image: nginx:1.27-edited/' \"$1\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = k
        .run_with(
            &["edit", "deployment", "web"],
            None,
            &[("EDITOR", editor.to_str().unwrap()), ("KUBE_EDITOR", "")],
        )
        .await;
    assert!(
        out.status.success(),
        "{}: edit: {}",
        k.label,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        k.jsonpath(
            &["deployment", "web"],
            "{.spec.template.spec.containers[0].image}"
        )
        .await,
        "nginx:1.27-edited"
    );

    k.ok(&["set", "image", "deployment/web", "nginx=nginx:1.28"])
        .await;
    assert_eq!(
        k.jsonpath(
            &["deployment", "web"],
            "{.spec.template.spec.containers[0].image}"
        )
        .await,
        "nginx:1.28"
    );

    k.ok(&["rollout", "pause", "deployment/web"]).await;
    assert_eq!(
        k.jsonpath(&["deployment", "web"], "{.spec.paused}").await,
        "true"
    );
    k.ok(&["rollout", "resume", "deployment/web"]).await;
    assert_eq!(
        k.jsonpath(&["deployment", "web"], "{.spec.paused}").await,
        ""
    );
}

async fn wait_and_watch(k: &Kubectl) {
    // wait --for=delete
    k.ok(&["create", "configmap", "doomed", "--from-literal=a=b"])
        .await;
    let waiter = k
        .command(&["wait", "--for=delete", "configmap/doomed", "--timeout=45s"])
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    k.ok(&["delete", "configmap", "doomed"]).await;
    let out = tokio::time::timeout(KUBECTL_TIMEOUT, waiter.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: wait --for=delete: {}",
        k.label,
        String::from_utf8_lossy(&out.stderr)
    );

    // wait --for=condition: a condition written through the status subresource.
    let ns = format!("{}-cond", k.namespace);
    k.ok(&["create", "namespace", &ns]).await;
    let waiter = k
        .command(&[
            "wait",
            "--for=condition=Audited",
            &format!("namespace/{ns}"),
            "--timeout=45s",
        ])
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let status = r#"{"status":{"conditions":[{"type":"Audited","status":"True","reason":"Test","message":"checked"}]}}"#;
    k.ok(&[
        "patch",
        "namespace",
        &ns,
        "--subresource=status",
        "--type=merge",
        "-p",
        status,
    ])
    .await;
    let out = tokio::time::timeout(KUBECTL_TIMEOUT, waiter.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: wait --for=condition: {}{}",
        k.label,
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );

    // get -w shows a later change.
    k.ok(&["create", "configmap", "watched", "--from-literal=a=b"])
        .await;
    let mut watcher = k
        .command(&["get", "configmap", "watched", "-w"])
        .spawn()
        .unwrap();
    let stdout = watcher.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap_or_default();
    assert_eq!(header(&first), ["NAME", "DATA", "AGE"], "{}", k.label);
    k.ok(&[
        "patch",
        "configmap",
        "watched",
        "--type=merge",
        "-p",
        r#"{"data":{"c":"d"}}"#,
    ])
    .await;
    let seen = tokio::time::timeout(Duration::from_secs(20), async {
        while let Ok(Some(line)) = lines.next_line().await {
            let cells: Vec<&str> = line.split_whitespace().collect();
            if cells.first() == Some(&"watched") && cells.get(1) == Some(&"2") {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    let _ = watcher.kill().await;
    assert!(seen, "{}: get -w did not show DATA 2", k.label);
}

async fn describe_delete_scale(k: &Kubectl) {
    // describe with events
    let uid = k.jsonpath(&["deployment", "web"], "{.metadata.uid}").await;
    let event = format!(
        "apiVersion: v1
kind: Event
metadata:
  name: web.audit
involvedObject:
  apiVersion: apps/v1
  kind: Deployment
  name: web
  namespace: {ns}
  uid: {uid}
reason: Audited
message: checked by the kubectl verbs test
type: Normal
count: 1
firstTimestamp: \"2025-01-01T00:00:00Z\"
lastTimestamp: \"2025-01-01T00:00:00Z\"
source:
  component: e2e
",
        ns = k.namespace
    );
    k.ok_with(&["create", "-f", "-"], Some(&event)).await;
    let described = k.ok(&["describe", "deployment", "web"]).await;
    assert!(described.contains("Events:"), "{described}");
    assert!(
        described.contains("Audited") && described.contains("checked by the kubectl verbs test"),
        "{}: {described}",
        k.label
    );

    // delete with a finalizer stays until the finalizer goes
    let held = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n  finalizers:\n  - example.com/hold\n";
    k.ok_with(&["create", "-f", "-"], Some(held)).await;
    k.ok(&["delete", "configmap", "held", "--wait=false"]).await;
    let ts = k
        .jsonpath(&["configmap", "held"], "{.metadata.deletionTimestamp}")
        .await;
    assert!(!ts.is_empty(), "{}: deletionTimestamp set", k.label);
    k.ok(&[
        "patch",
        "configmap",
        "held",
        "--type=json",
        "-p",
        r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
    ])
    .await;
    let gone = k.fails_with(&["get", "configmap", "held"], None).await;
    assert!(gone.contains("NotFound"), "{gone}");

    // scale through /scale
    let rs = "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: rs1\nspec:\n  replicas: 0\n  selector:\n    matchLabels:\n      app: rs1\n  template:\n    metadata:\n      labels:\n        app: rs1\n    spec:\n      containers:\n      - name: c\n        image: busybox\n";
    let rc = "apiVersion: v1\nkind: ReplicationController\nmetadata:\n  name: rc1\nspec:\n  replicas: 0\n  selector:\n    app: rc1\n  template:\n    metadata:\n      labels:\n        app: rc1\n    spec:\n      containers:\n      - name: c\n        image: busybox\n";
    k.ok_with(&["create", "-f", "-"], Some(rs)).await;
    k.ok_with(&["create", "-f", "-"], Some(rc)).await;
    for (what, n) in [
        ("deployment/web", "4"),
        ("replicaset/rs1", "1"),
        ("replicationcontroller/rc1", "1"),
    ] {
        let out = k.ok(&["scale", what, &format!("--replicas={n}")]).await;
        assert!(out.contains("scaled"), "{out}");
        assert_eq!(k.jsonpath(&[what], "{.spec.replicas}").await, n, "{what}");
    }

    // get all
    let all = k.ok(&["get", "all"]).await;
    for name in [
        "deployment.apps/web",
        "replicaset.apps/rs1",
        "replicationcontroller/rc1",
    ] {
        assert!(all.contains(name), "{}: {name} in get all: {all}", k.label);
    }
}

async fn get_flags(k: &Kubectl) {
    for name in ["cm-b", "cm-c", "cm-a"] {
        k.ok(&["create", "configmap", name, "--from-literal=x=y"])
            .await;
        k.ok(&["label", "configmap", name, &format!("tier={name}-tier")])
            .await;
    }
    let sorted = k
        .ok(&[
            "get",
            "configmaps",
            "-l",
            "tier",
            "--sort-by=.metadata.name",
            "-L",
            "tier",
        ])
        .await;
    assert_eq!(header(&sorted), ["NAME", "DATA", "AGE", "TIER"], "{sorted}");
    let rows: Vec<Vec<&str>> = sorted
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    let names: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    assert_eq!(names, ["cm-a", "cm-b", "cm-c"], "{}: {sorted}", k.label);
    assert_eq!(rows[0].last(), Some(&"cm-a-tier"));
    let labels = k.ok(&["get", "configmap", "cm-a", "--show-labels"]).await;
    assert_eq!(header(&labels), ["NAME", "DATA", "AGE", "LABELS"]);
    assert!(labels.contains("tier=cm-a-tier"), "{labels}");

    // -o name across all namespaces, narrowed by a field selector.
    let named = k
        .ok(&[
            "get",
            "configmaps",
            "-A",
            // The other kubectl versions run the same steps in their own namespaces.
            &format!(
                "--field-selector=metadata.name=cm-b,metadata.namespace={}",
                k.namespace
            ),
            "-o",
            "name",
        ])
        .await;
    assert_eq!(named.trim(), "configmap/cm-b", "{}: {named}", k.label);
    let wide = k
        .ok(&[
            "get",
            "configmaps",
            "-A",
            "-l",
            "tier=cm-c-tier",
            "-o",
            "wide",
        ])
        .await;
    assert_eq!(
        header(&wide),
        ["NAMESPACE", "NAME", "DATA", "AGE"],
        "{}: {wide}",
        k.label
    );
    assert!(wide.contains(&k.namespace), "{wide}");

    // explain reads the served OpenAPI.
    let explained = k
        .ok(&["explain", "pod.spec.containers.livenessProbe"])
        .await;
    assert!(
        explained.contains("KIND:") && explained.contains("Pod"),
        "{}: {explained}",
        k.label
    );
    assert!(explained.contains("<Probe>"), "{}: {explained}", k.label);
}

async fn all_verbs(server: &ApiServer, version: Option<&str>, namespace: &str) {
    let k = Kubectl {
        bin: kubectl_binary(version),
        kubeconfig: server.kubeconfig.clone(),
        cache: server.dir().join(format!("cache-{namespace}")),
        namespace: namespace.to_string(),
        label: format!("kubectl {}", version.unwrap_or("default")),
    };
    server
        .kubectl_ok(&["create", "namespace", namespace])
        .await
        .unwrap();
    server_side_apply(&k).await;
    client_side_apply(&k).await;
    edit_set_image_rollout(&k, server.dir()).await;
    wait_and_watch(&k).await;
    describe_delete_scale(&k).await;
    get_flags(&k).await;
}

/// A raw protobuf watch: length-prefixed frames whose WatchEvent carries the object as
/// `k8s\0` + runtime.Unknown.
async fn protobuf_watch(server: &ApiServer) {
    use http_body_util::BodyExt;
    server
        .kubectl_ok(&["create", "configmap", "proto-watched", "--from-literal=a=b"])
        .await
        .unwrap();
    let client = server.client().await.unwrap();
    let req = http::Request::get(
        "/api/v1/namespaces/default/configmaps?watch=1&fieldSelector=metadata.name%3Dproto-watched",
    )
    .header(
        http::header::ACCEPT,
        "application/vnd.kubernetes.protobuf;stream=watch",
    )
    .body(kube::client::Body::empty())
    .unwrap();
    let resp = client.send(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()[http::header::CONTENT_TYPE],
        "application/vnd.kubernetes.protobuf;stream=watch"
    );
    let mut body = resp.into_body();
    let mut buf: Vec<u8> = Vec::new();
    let frame = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if buf.len() >= 4 {
                let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
                if buf.len() >= 4 + len {
                    return buf[4..4 + len].to_vec();
                }
            }
            let f = body.frame().await.unwrap().unwrap();
            if let Ok(data) = f.into_data() {
                buf.extend_from_slice(&data);
            }
        }
    })
    .await
    .unwrap();
    // WatchEvent field 1 (type) = "ADDED", field 2 (object) holds k8s\0 + Unknown.
    assert_eq!(&frame[..7], b"\x0a\x05ADDED", "{frame:?}");
    let magic = frame.windows(4).position(|w| w == b"k8s\0").unwrap();
    let rest = &frame[magic..];
    assert!(
        rest.windows(b"proto-watched".len())
            .any(|w| w == b"proto-watched"),
        "the object in the frame"
    );
    assert!(rest.windows(b"ConfigMap".len()).any(|w| w == b"ConfigMap"));
}

async fn run_all(server: &ApiServer) {
    protobuf_watch(server).await;
    // The three kubectl versions at once, each in its own namespace.
    tokio::join!(
        all_verbs(server, None, "verbs-default"),
        all_verbs(server, Some("1.27"), "verbs-127"),
        all_verbs(server, Some("1.33"), "verbs-133"),
    );
}

#[tokio::test]
async fn kubectl_verbs_on_the_embedded_store() {
    tokio::time::timeout(TIMEOUT, async {
        let data = tempfile::tempdir().unwrap();
        let server = ApiServer::start_up(data.path()).await.unwrap();
        run_all(&server).await;
    })
    .await
    .expect("bounded");
}

#[tokio::test]
async fn kubectl_verbs_on_etcd() {
    tokio::time::timeout(TIMEOUT, async {
        let etcd = e2e::etcd::Etcd::start().await.unwrap();
        let server = ApiServer::start_etcd(&etcd).await.unwrap();
        run_all(&server).await;
    })
    .await
    .expect("bounded");
}
