//! Server-side apply and managedFields over the wire, as a client sees them: create-on-apply
//! (201), conflicts as 409 with FieldManagerConflict causes, force, the required
//! fieldManager (422), YAML and JSON bodies, /status and /scale, Update entries named after
//! the User-Agent, managedFields replaced or cleared by a PUT, and 415 for CBOR.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use e2e::apiserver::{ApiServer, RawResponse, request, send};
use http::Method;
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(90);
const APPLY: &str = "application/apply-patch+yaml";
const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/default/deployments";

async fn call(
    client: &kube::Client,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: &str,
) -> RawResponse {
    send(
        client,
        request(method, path, content_type, body.as_bytes().to_vec()).unwrap(),
    )
    .await
    .unwrap()
}

fn entries(obj: &Value) -> Vec<(String, String, String)> {
    obj["metadata"]["managedFields"]
        .as_array()
        .map(|l| {
            l.iter()
                .map(|e| {
                    (
                        e["manager"].as_str().unwrap_or("").to_string(),
                        e["operation"].as_str().unwrap_or("").to_string(),
                        e["subresource"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn owner_of<'a>(obj: &'a Value, manager: &str, subresource: &str) -> &'a Value {
    obj["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["manager"] == manager && e["subresource"].as_str().unwrap_or("") == subresource)
        .map(|e| &e["fieldsV1"])
        .unwrap_or_else(|| panic!("no entry of {manager} ({subresource}) in {obj}"))
}

const DEPLOYMENT_YAML: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports:
        - containerPort: 80
";

async fn check(server: &ApiServer) {
    let client = server.client().await.unwrap();
    let web = format!("{DEPLOYMENTS}/web");

    // fieldManager is required.
    let r = call(&client, Method::PATCH, &web, Some(APPLY), DEPLOYMENT_YAML).await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(
        r.json().unwrap()["message"],
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
    );

    // Create on apply: 201, the applier's entry, upstream's key encoding.
    let r = call(
        &client,
        Method::PATCH,
        &format!("{web}?fieldManager=team-a"),
        Some(APPLY),
        DEPLOYMENT_YAML,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let created = r.json().unwrap();
    assert_eq!(created["spec"]["replicas"], 2);
    assert_eq!(created["metadata"]["generation"], 1);
    assert_eq!(
        entries(&created),
        [("team-a".into(), "Apply".into(), String::new())]
    );
    let fields = owner_of(&created, "team-a", "");
    assert!(
        fields["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"nginx\"}"]
            ["f:ports"]["k:{\"containerPort\":80,\"protocol\":\"TCP\"}"]
            .is_object(),
        "{fields}"
    );
    // Defaults are not the applier's.
    assert!(fields["f:spec"].get("f:revisionHistoryLimit").is_none());
    assert_eq!(created["spec"]["revisionHistoryLimit"], 10);

    // The same configuration as JSON by another manager: shared ownership, no change.
    let as_json = deployment_json().to_string();
    let r = call(
        &client,
        Method::PATCH,
        &format!("{web}?fieldManager=team-b"),
        Some(APPLY),
        &as_json,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let shared = r.json().unwrap();
    assert_eq!(entries(&shared).len(), 2);

    // A different value conflicts with both owners.
    let three = DEPLOYMENT_YAML.replace("replicas: 2", "replicas: 3");
    let r = call(
        &client,
        Method::PATCH,
        &format!("{web}?fieldManager=team-c&force=false"),
        Some(APPLY),
        &three,
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.text());
    let status = r.json().unwrap();
    assert_eq!(status["reason"], "Conflict");
    assert_eq!(
        status["message"],
        "Apply failed with 2 conflicts: conflicts with \"team-a\":\n- .spec.replicas\nconflicts with \"team-b\":\n- .spec.replicas"
    );
    let causes = status["details"]["causes"].as_array().unwrap();
    assert_eq!(causes.len(), 2);
    for c in causes {
        assert_eq!(c["reason"], "FieldManagerConflict");
        assert_eq!(c["field"], ".spec.replicas");
    }
    // Forced: team-c owns replicas alone.
    let r = call(
        &client,
        Method::PATCH,
        &format!("{web}?fieldManager=team-c&force=true"),
        Some(APPLY),
        &three,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let forced = r.json().unwrap();
    assert_eq!(forced["spec"]["replicas"], 3);
    assert!(
        owner_of(&forced, "team-a", "")["f:spec"]
            .get("f:replicas")
            .is_none()
    );
    assert!(owner_of(&forced, "team-c", "")["f:spec"]["f:replicas"].is_object());

    // /scale: the scaler owns spec.replicas through the subresource.
    let r = call(
        &client,
        Method::PATCH,
        &format!("{web}/scale?fieldManager=autoscaler"),
        Some("application/merge-patch+json"),
        r#"{"spec":{"replicas":5}}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json().unwrap()["kind"], "Scale");
    let r = call(&client, Method::GET, &web, None, "").await;
    let scaled = r.json().unwrap();
    assert_eq!(scaled["spec"]["replicas"], 5);
    assert_eq!(
        owner_of(&scaled, "autoscaler", "scale"),
        &json!({"f:spec": {"f:replicas": {}}})
    );
    // An apply of a Scale conflicts with the scaler, naming the subresource.
    let scale_cfg =
        "apiVersion: autoscaling/v1\nkind: Scale\nmetadata:\n  name: web\nspec:\n  replicas: 6\n";
    let r = call(
        &client,
        Method::PATCH,
        &format!("{web}/scale?fieldManager=hpa"),
        Some(APPLY),
        scale_cfg,
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(
        r.json().unwrap()["message"],
        "Apply failed with 1 conflict: conflict with \"autoscaler\" with subresource \"scale\" using apps/v1: .spec.replicas"
    );
    let r = call(
        &client,
        Method::PATCH,
        &format!("{web}/scale?fieldManager=hpa&force=true"),
        Some(APPLY),
        scale_cfg,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json().unwrap()["spec"]["replicas"], 6);

    // /status: a status applier owns status only.
    let status_cfg = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nstatus:\n  conditions:\n  - type: Audited\n    status: \"True\"\n    reason: Test\n    message: ok\n";
    let r = call(
        &client,
        Method::PATCH,
        &format!("{web}/status?fieldManager=auditor"),
        Some(APPLY),
        status_cfg,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let with_status = r.json().unwrap();
    let conditions = with_status["status"]["conditions"].as_array().unwrap();
    assert!(conditions.iter().any(|c| c["type"] == "Audited"));
    assert!(
        owner_of(&with_status, "auditor", "status")["f:status"]["f:conditions"]
            ["k:{\"type\":\"Audited\"}"]
            .is_object()
    );
    // A status subresource cannot be created by apply.
    let r = call(
        &client,
        Method::PATCH,
        &format!("{DEPLOYMENTS}/absent/status?fieldManager=auditor"),
        Some(APPLY),
        &status_cfg.replace("name: web", "name: absent"),
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.text());

    // Malformed configurations.
    for (body, code, text) in [
        (
            DEPLOYMENT_YAML.replace("replicas: 2", "replicas: 2\n  bogus: 1"),
            400,
            "failed to create typed patch object (apps/v1, Kind=Deployment): .spec.bogus: field not declared in schema",
        ),
        (
            DEPLOYMENT_YAML.replace("apps/v1", "apps/v2"),
            400,
            "Incorrect version specified in apply patch. Specified patch version: apps/v2, expected: apps/v1",
        ),
        ("{not yaml".to_string(), 400, "error decoding YAML"),
        (
            DEPLOYMENT_YAML.replace("name: web", "name: other"),
            400,
            "does not match the name on the URL",
        ),
    ] {
        let r = call(
            &client,
            Method::PATCH,
            &format!("{web}?fieldManager=team-a"),
            Some(APPLY),
            &body,
        )
        .await;
        assert_eq!(r.status, code, "{}", r.text());
        assert!(r.text().contains(text), "{text}: {}", r.text());
    }
    let r = call(
        &client,
        Method::PATCH,
        &format!("{web}?fieldManager=team-a"),
        Some("application/apply-patch+cbor"),
        "",
    )
    .await;
    assert_eq!(r.status, 415, "{}", r.text());
    let r = call(
        &client,
        Method::PATCH,
        &format!("{web}?force=true"),
        Some("application/merge-patch+json"),
        "{}",
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.text());

    // Update entries: the manager defaults to the User-Agent's first part; a PUT with
    // managedFields [{}] clears them.
    let cm =
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"tracked"},"data":{"a":"1"}}"#;
    let mut req = request(
        Method::POST,
        "/api/v1/namespaces/default/configmaps",
        Some("application/json"),
        cm.as_bytes().to_vec(),
    )
    .unwrap();
    req.headers_mut().insert(
        http::header::USER_AGENT,
        http::HeaderValue::from_static("my-operator/v0.3 (linux/amd64)"),
    );
    let r = send(&client, req).await.unwrap();
    assert_eq!(r.status, 201, "{}", r.text());
    let created = r.json().unwrap();
    assert_eq!(
        entries(&created),
        [("my-operator".into(), "Update".into(), String::new())]
    );
    assert_eq!(
        owner_of(&created, "my-operator", ""),
        &json!({"f:data": {".": {}, "f:a": {}}})
    );
    let mut cleared = created.clone();
    cleared["metadata"]["managedFields"] = json!([{}]);
    let r = call(
        &client,
        Method::PUT,
        "/api/v1/namespaces/default/configmaps/tracked?fieldManager=resetter",
        Some("application/json"),
        &cleared.to_string(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json().unwrap()["metadata"].get("managedFields").is_none());
    // The first apply then assigns what exists to "before-first-apply".
    let r = call(
        &client,
        Method::PATCH,
        "/api/v1/namespaces/default/configmaps/tracked?fieldManager=applier",
        Some(APPLY),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: tracked\ndata:\n  b: \"2\"\n",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let applied = r.json().unwrap();
    assert_eq!(applied["data"], json!({"a": "1", "b": "2"}));
    assert_eq!(
        entries(&applied),
        [
            ("applier".into(), "Apply".into(), String::new()),
            ("before-first-apply".into(), "Update".into(), String::new())
        ]
    );
}

/// [`DEPLOYMENT_YAML`] as JSON.
fn deployment_json() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}]},
            },
        },
    })
}

#[tokio::test]
async fn server_side_apply_on_the_embedded_store() {
    tokio::time::timeout(TIMEOUT, async {
        let data = tempfile::tempdir().unwrap();
        let server = ApiServer::start_embedded(data.path()).await.unwrap();
        check(&server).await;
    })
    .await
    .expect("bounded");
}

#[tokio::test]
async fn server_side_apply_on_etcd() {
    tokio::time::timeout(TIMEOUT, async {
        let etcd = e2e::etcd::Etcd::start().await.unwrap();
        let server = ApiServer::start_etcd(&etcd).await.unwrap();
        check(&server).await;
    })
    .await
    .expect("bounded");
}
