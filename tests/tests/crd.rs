//! CustomResourceDefinitions end to end: real kubectl and kube-rs against the apiserver binary
//! on etcd and on the embedded store. A CRD is applied and becomes Established; its custom
//! objects are created, listed with printer columns, patched, scaled, validated (422 with
//! field paths), pruned, defaulted, applied server-side, watched and deleted; deleting the CRD
//! deletes them. A kube-rs controller built on `#[derive(CustomResource)]` owns ConfigMaps per
//! object, which the garbage collector removes with their owner.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use e2e::apiserver::ApiServer;
use e2e::controllers::ControllerCluster;
use e2e::etcd::Etcd;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams,
    PostParams, ResourceExt,
};
use kube::runtime::watcher::{self, Event};
use kube::{CustomResource, CustomResourceExt, Resource};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

const TEST_TIMEOUT: Duration = Duration::from_secs(110);

const WIDGET_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names:
    plural: widgets
    singular: widget
    kind: Widget
    shortNames: [wd]
    categories: [all]
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale:
        specReplicasPath: .spec.replicas
        statusReplicasPath: .status.replicas
    selectableFields:
    - jsonPath: .spec.size
    additionalPrinterColumns:
    - name: Size
      type: string
      jsonPath: .spec.size
    - name: Replicas
      type: integer
      jsonPath: .spec.replicas
    - name: Ready
      type: string
      jsonPath: .status.conditions[?(@.type=="Ready")].status
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size:
                type: string
                enum: [small, large]
              replicas:
                type: integer
                minimum: 0
                default: 1
              name:
                type: string
                pattern: '^[a-z]+$'
              template:
                type: object
                x-kubernetes-embedded-resource: true
                x-kubernetes-preserve-unknown-fields: true
              port:
                x-kubernetes-int-or-string: true
          status:
            type: object
            properties:
              replicas:
                type: integer
              conditions:
                type: array
                items:
                  type: object
                  properties:
                    type: {type: string}
                    status: {type: string}
"#;

async fn apply(server: &ApiServer, yaml: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["apply", "-f", "-"];
    args.extend_from_slice(extra);
    server
        .kubectl_with_input(&args, Some(yaml.as_bytes()))
        .await
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

async fn apply_ok(server: &ApiServer, yaml: &str) {
    let out = apply(server, yaml, &[]).await;
    assert!(out.status.success(), "kubectl apply: {}", text(&out));
}

async fn install_widgets(server: &ApiServer) {
    apply_ok(server, WIDGET_CRD).await;
    server
        .kubectl_ok(&[
            "wait",
            "--for=condition=Established",
            "crd/widgets.example.com",
            "--timeout=20s",
        ])
        .await
        .unwrap();
}

fn widget(name: &str, spec: &str) -> String {
    format!("apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: {name}\nspec:\n{spec}\n")
}

async fn kubectl_lifecycle(server: &ApiServer) {
    install_widgets(server).await;
    let crd = server
        .kubectl_json(&["get", "crd", "widgets.example.com", "-o", "json"])
        .await
        .unwrap();
    let conditions = crd["status"]["conditions"].as_array().unwrap();
    for t in ["NamesAccepted", "Established"] {
        assert!(
            conditions
                .iter()
                .any(|c| c["type"] == t && c["status"] == "True"),
            "{t} in {conditions:?}"
        );
    }
    assert_eq!(crd["status"]["acceptedNames"]["kind"], "Widget");
    assert_eq!(crd["status"]["storedVersions"], json!(["v1"]));
    assert_eq!(crd["spec"]["names"]["listKind"], "WidgetList");

    // Create with defaults applied; printer columns in `kubectl get`.
    apply_ok(server, &widget("w1", "  size: small")).await;
    let w1 = server
        .kubectl_json(&["get", "widget", "w1", "-o", "json"])
        .await
        .unwrap();
    assert_eq!(w1["spec"]["replicas"], 1, "default applied: {w1}");
    assert_eq!(w1["metadata"]["generation"], 1);
    let table = server.kubectl_ok(&["get", "wd"]).await.unwrap();
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, vec!["NAME", "SIZE", "REPLICAS", "READY"], "{table}");
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    // READY has no value yet: the cell is null, which kubectl prints as nothing.
    assert_eq!(row, vec!["w1", "small", "1"], "{table}");
    let all = server.kubectl_ok(&["get", "all"]).await.unwrap();
    assert!(all.contains("widget.example.com/w1"), "{all}");

    // Merge and JSON patches; strategic merge is refused as upstream refuses it.
    server
        .kubectl_ok(&[
            "patch",
            "widget",
            "w1",
            "--type=merge",
            "-p",
            r#"{"spec":{"size":"large"}}"#,
        ])
        .await
        .unwrap();
    server
        .kubectl_ok(&[
            "patch",
            "widget",
            "w1",
            "--type=json",
            "-p",
            r#"[{"op":"replace","path":"/spec/replicas","value":2}]"#,
        ])
        .await
        .unwrap();
    let w1 = server
        .kubectl_json(&["get", "widget", "w1", "-o", "json"])
        .await
        .unwrap();
    assert_eq!(w1["spec"]["size"], "large");
    assert_eq!(w1["spec"]["replicas"], 2);
    assert_eq!(w1["metadata"]["generation"], 3);
    let smp = server
        .kubectl(&[
            "patch",
            "widget",
            "w1",
            "-p",
            r#"{"spec":{"size":"small"}}"#,
        ])
        .await;
    assert!(!smp.status.success());
    assert!(
        text(&smp).contains("application/strategic-merge-patch+json is not supported"),
        "{}",
        text(&smp)
    );

    // selectableFields make field selectors of custom fields.
    let large = server
        .kubectl_ok(&[
            "get",
            "widgets",
            "--field-selector",
            "spec.size=large",
            "-o",
            "name",
        ])
        .await
        .unwrap();
    assert_eq!(large.trim(), "widget.example.com/w1");
    let small = server
        .kubectl_ok(&[
            "get",
            "widgets",
            "--field-selector",
            "spec.size=small",
            "-o",
            "name",
        ])
        .await
        .unwrap();
    assert_eq!(small.trim(), "");
    let unknown = server
        .kubectl(&["get", "widgets", "--field-selector", "spec.replicas=1"])
        .await;
    assert!(!unknown.status.success(), "{}", text(&unknown));

    // Client-side apply of a change (kubectl falls back to a JSON merge patch).
    apply_ok(server, &widget("w1", "  size: small\n  replicas: 2")).await;

    // Scale subresource.
    server
        .kubectl_ok(&["scale", "widget", "w1", "--replicas=5"])
        .await
        .unwrap();
    let scale = server
        .kubectl_json(&[
            "get",
            "--raw",
            "/apis/example.com/v1/namespaces/default/widgets/w1/scale",
        ])
        .await
        .unwrap();
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["spec"]["replicas"], 5);

    // Status subresource: status only through /status, which does not bump generation.
    let before = server
        .kubectl_json(&["get", "widget", "w1", "-o", "json"])
        .await
        .unwrap();
    server
        .kubectl_ok(&[
            "patch",
            "widget",
            "w1",
            "--subresource=status",
            "--type=merge",
            "-p",
            r#"{"status":{"replicas":5,"conditions":[{"type":"Ready","status":"True"}]}}"#,
        ])
        .await
        .unwrap();
    server
        .kubectl_ok(&[
            "patch",
            "widget",
            "w1",
            "--type=merge",
            "-p",
            r#"{"status":{"replicas":99}}"#,
        ])
        .await
        .unwrap();
    let after = server
        .kubectl_json(&["get", "widget", "w1", "-o", "json"])
        .await
        .unwrap();
    assert_eq!(after["status"]["replicas"], 5, "{after}");
    assert_eq!(
        after["metadata"]["generation"],
        before["metadata"]["generation"]
    );
    let table = server.kubectl_ok(&["get", "widget", "w1"]).await.unwrap();
    assert!(table.lines().nth(1).unwrap().ends_with("True"), "{table}");

    // Invalid objects: 422 with field paths in upstream's words.
    let bad = apply(
        server,
        &widget("bad", "  size: huge\n  replicas: \"x\"\n  name: ABC"),
        &[],
    )
    .await;
    assert!(!bad.status.success());
    let msg = text(&bad);
    assert!(msg.contains(r#"The Widget "bad" is invalid"#), "{msg}");
    assert!(
        msg.contains(r#"spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string""#),
        "{msg}"
    );
    assert!(
        msg.contains(r#"spec.size: Unsupported value: "huge": supported values: "small", "large""#),
        "{msg}"
    );
    assert!(
        msg.contains(
            r#"spec.name: Invalid value: "ABC": spec.name in body should match '^[a-z]+$'"#
        ),
        "{msg}"
    );
    let missing = apply(server, &widget("missing", "  replicas: 1"), &[]).await;
    assert!(
        text(&missing).contains("spec.size: Required value"),
        "{}",
        text(&missing)
    );
    let embedded = apply(
        server,
        &widget("emb", "  size: small\n  template: {spec: {}}"),
        &[],
    )
    .await;
    assert!(
        text(&embedded).contains("spec.template.apiVersion: Required value"),
        "{}",
        text(&embedded)
    );

    // Unknown fields: strict validation (kubectl's default) refuses them, otherwise they are
    // pruned; preserved under x-kubernetes-preserve-unknown-fields.
    let strict = apply(server, &widget("unk", "  size: small\n  bogus: 1"), &[]).await;
    assert!(
        text(&strict).contains(r#"strict decoding error: unknown field "spec.bogus""#),
        "{}",
        text(&strict)
    );
    let out = apply(
        server,
        &widget(
            "unk",
            "  size: small\n  bogus: 1\n  port: http\n  template: {apiVersion: v1, kind: Pod, spec: {anything: 1}}",
        ),
        &["--validate=false"],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let unk = server
        .kubectl_json(&["get", "widget", "unk", "-o", "json"])
        .await
        .unwrap();
    assert!(unk["spec"].get("bogus").is_none(), "{unk}");
    assert_eq!(unk["spec"]["port"], "http");
    assert_eq!(unk["spec"]["template"]["spec"]["anything"], 1);

    // `kubectl explain` reads the CRD schema from OpenAPI.
    let explain = server
        .kubectl_ok(&["explain", "widgets.spec.size"])
        .await
        .unwrap();
    assert!(
        explain.contains("ENUM:") && explain.contains("large"),
        "{explain}"
    );

    // Server-side apply: create, a conflict with another manager, then forced.
    let ssa = apply(server, &widget("ssa", "  size: small"), &["--server-side"]).await;
    assert!(ssa.status.success(), "{}", text(&ssa));
    server
        .kubectl_ok(&[
            "patch",
            "widget",
            "ssa",
            "--type=merge",
            "--field-manager=other",
            "-p",
            r#"{"spec":{"size":"large"}}"#,
        ])
        .await
        .unwrap();
    let conflict = apply(server, &widget("ssa", "  size: small"), &["--server-side"]).await;
    assert!(!conflict.status.success());
    assert!(
        text(&conflict).contains(r#"conflict with "other""#)
            && text(&conflict).contains(".spec.size"),
        "{}",
        text(&conflict)
    );
    let forced = apply(
        server,
        &widget("ssa", "  size: small"),
        &["--server-side", "--force-conflicts"],
    )
    .await;
    assert!(forced.status.success(), "{}", text(&forced));
    let ssa = server
        .kubectl_json(&[
            "get",
            "widget",
            "ssa",
            "-o",
            "json",
            "--show-managed-fields",
        ])
        .await
        .unwrap();
    assert_eq!(ssa["spec"]["size"], "small");
    assert_eq!(
        ssa["spec"]["replicas"], 1,
        "defaults apply to applied objects"
    );
    assert!(
        ssa["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["manager"] == "kubectl" && m["operation"] == "Apply"),
        "{ssa}"
    );

    server
        .kubectl_ok(&["delete", "widget", "w1", "unk", "ssa"])
        .await
        .unwrap();
    let none = server.kubectl_ok(&["get", "widgets"]).await.unwrap();
    assert!(!none.contains("w1"), "{none}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_custom_resources_on_etcd() {
    tokio::time::timeout(TEST_TIMEOUT, async {
        let etcd = Etcd::start().await.unwrap();
        let server = ApiServer::start_etcd(&etcd).await.unwrap();
        kubectl_lifecycle(&server).await;
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_custom_resources_on_embedded_store() {
    tokio::time::timeout(TEST_TIMEOUT, async {
        let data = tempfile::tempdir().unwrap();
        let server = ApiServer::start_embedded(data.path()).await.unwrap();
        kubectl_lifecycle(&server).await;
    })
    .await
    .expect("test timed out");
}

const THING_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: things.example.org
spec:
  group: example.org
  scope: Cluster
  names: {plural: things, kind: Thing}
  versions:
  - name: v1beta1
    served: true
    storage: false
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
"#;

/// Cluster scope, two versions with `None` conversion, discovery, name conflicts, CRD
/// deletion taking its objects along, and a restart that keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_scope_versions_conflicts_deletion_and_restart() {
    tokio::time::timeout(TEST_TIMEOUT, async {
        let data = tempfile::tempdir().unwrap();
        let mut server = ApiServer::start_embedded(data.path()).await.unwrap();
        apply_ok(&server, THING_CRD).await;
        server
            .kubectl_ok(&["wait", "--for=condition=Established", "crd/things.example.org", "--timeout=20s"])
            .await
            .unwrap();
        apply_ok(
            &server,
            "apiVersion: example.org/v1beta1\nkind: Thing\nmetadata: {name: t1}\nspec: {a: 1}\n",
        )
        .await;
        let v1 = server
            .kubectl_json(&["get", "--raw", "/apis/example.org/v1/things/t1"])
            .await
            .unwrap();
        assert_eq!(v1["apiVersion"], "example.org/v1");
        let beta = server
            .kubectl_json(&["get", "--raw", "/apis/example.org/v1beta1/things"])
            .await
            .unwrap();
        assert_eq!(beta["apiVersion"], "example.org/v1beta1");
        assert_eq!(beta["items"][0]["apiVersion"], "example.org/v1beta1");
        assert!(beta["items"][0]["metadata"].get("namespace").is_none());
        let group = server
            .kubectl_json(&["get", "--raw", "/apis/example.org"])
            .await
            .unwrap();
        assert_eq!(group["preferredVersion"]["version"], "v1");
        let resources = server.kubectl_ok(&["api-resources", "--api-group=example.org"]).await.unwrap();
        assert!(resources.contains("things") && resources.contains("false"), "{resources}");

        // A second CRD claiming the same kind in the group is not accepted.
        apply_ok(
            &server,
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: others.example.org}\nspec:\n  group: example.org\n  scope: Cluster\n  names: {plural: others, kind: Thing}\n  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]\n",
        )
        .await;
        let mut accepted = String::new();
        for _ in 0..50 {
            accepted = server
                .kubectl_ok(&["get", "crd", "others.example.org", "-o", "jsonpath={.status.conditions[?(@.type==\"NamesAccepted\")].status}"])
                .await
                .unwrap();
            if !accepted.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(accepted, "False");
        let raw = server.kubectl(&["get", "--raw", "/apis/example.org/v1/others"]).await;
        assert!(!raw.status.success());
        // Once the older CRD is gone the kind would be free for this one: remove it first.
        server
            .kubectl_ok(&["delete", "crd", "others.example.org"])
            .await
            .unwrap();

        // An invalid CRD is refused with upstream's field paths.
        let bad = apply(
            &server,
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: bads.example}\nspec: {group: example, scope: Global, names: {plural: bads, kind: Bad}, versions: [{name: v1, served: true, storage: false, schema: {openAPIV3Schema: {type: object, properties: {spec: {properties: {}}}}}}]}\n",
            &[],
        )
        .await;
        let msg = text(&bad);
        assert!(msg.contains(r#"spec.group: Invalid value: "example": should be a domain with at least one dot"#), "{msg}");
        assert!(msg.contains(r#"spec.scope: Unsupported value: "Global""#), "{msg}");
        assert!(msg.contains("must have exactly one version marked as storage version"), "{msg}");
        assert!(msg.contains("spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value"), "{msg}");

        // Served again right after a restart.
        server.restart().await.unwrap();
        let again = server
            .kubectl_json(&["get", "thing", "t1", "-o", "json"])
            .await
            .unwrap();
        assert_eq!(again["spec"]["a"], 1);

        // Deleting the CRD deletes its objects and stops serving it.
        server.kubectl_ok(&["delete", "crd", "things.example.org", "--timeout=30s"]).await.unwrap();
        let gone = server.kubectl(&["get", "--raw", "/apis/example.org/v1/things"]).await;
        assert!(!gone.status.success());
        apply_ok(&server, THING_CRD).await;
        server
            .kubectl_ok(&["wait", "--for=condition=Established", "crd/things.example.org", "--timeout=20s"])
            .await
            .unwrap();
        let list = server
            .kubectl_json(&["get", "--raw", "/apis/example.org/v1/things"])
            .await
            .unwrap();
        assert_eq!(list["items"], json!([]), "objects of the deleted CRD are gone");
    })
    .await
    .expect("test timed out");
}

async fn next_event<S>(stream: &mut S) -> Event<DynamicObject>
where
    S: futures::Stream<Item = Result<Event<DynamicObject>, watcher::Error>> + Unpin,
{
    tokio::time::timeout(Duration::from_secs(10), stream.try_next())
        .await
        .expect("a watch event in time")
        .expect("no watch error")
        .expect("the stream goes on")
}

/// kube-rs's dynamic API and watcher on a custom resource.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_watches_dynamic_objects() {
    tokio::time::timeout(TEST_TIMEOUT, async {
        let data = tempfile::tempdir().unwrap();
        let server = ApiServer::start_embedded(data.path()).await.unwrap();
        install_widgets(&server).await;
        let client = server.client().await.unwrap();
        let ar = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("example.com", "v1", "Widget"),
            "widgets",
        );
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &ar);
        let mut stream = watcher::watcher(api.clone(), watcher::Config::default()).boxed();
        assert!(matches!(next_event(&mut stream).await, Event::Init));
        assert!(matches!(next_event(&mut stream).await, Event::InitDone));
        let obj: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "dyn"}, "spec": {"size": "large", "extra": true},
        }))
        .unwrap();
        let created = api.create(&PostParams::default(), &obj).await.unwrap();
        assert_eq!(created.data["spec"]["replicas"], 1);
        assert!(created.data["spec"].get("extra").is_none());
        match next_event(&mut stream).await {
            Event::Apply(o) => assert_eq!(o.name_any(), "dyn"),
            other => panic!("expected Apply, got {other:?}"),
        }
        api.patch(
            "dyn",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 4}})),
        )
        .await
        .unwrap();
        match next_event(&mut stream).await {
            Event::Apply(o) => assert_eq!(o.data["spec"]["replicas"], 4),
            other => panic!("expected Apply, got {other:?}"),
        }
        let err = api
            .patch(
                "dyn",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"replicas": -1}})),
            )
            .await
            .unwrap_err();
        match err {
            kube::Error::Api(s) => {
                assert_eq!(s.code, 422);
                assert!(s.message.contains("spec.replicas"), "{}", s.message);
            }
            other => panic!("expected 422, got {other:?}"),
        }
        api.delete("dyn", &DeleteParams::default()).await.unwrap();
        match next_event(&mut stream).await {
            Event::Delete(o) => assert_eq!(o.name_any(), "dyn"),
            other => panic!("expected Delete, got {other:?}"),
        }
    })
    .await
    .expect("test timed out");
}

// ---------------------------------------------------------------------------------------------
// A kube-rs controller built on #[derive(CustomResource)]

/// The spec of a `Bundle`: the ConfigMaps the controller keeps for it.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, JsonSchema)]
#[kube(
    group = "e2e.ferrokube.dev",
    version = "v1",
    kind = "Bundle",
    namespaced
)]
#[kube(status = "BundleStatus", shortname = "bdl")]
struct BundleSpec {
    /// How many ConfigMaps to keep.
    copies: u32,
    /// The data each ConfigMap carries.
    message: String,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, JsonSchema)]
struct BundleStatus {
    created: u32,
}

/// Reconciles a Bundle: `copies` ConfigMaps owned by it, then status.created.
async fn reconcile_bundle(
    bundle: std::sync::Arc<Bundle>,
    client: kube::Client,
) -> Result<kube::runtime::controller::Action, kube::Error> {
    let ns = bundle.namespace().unwrap_or_default();
    let owner = bundle
        .controller_owner_ref(&())
        .expect("a stored Bundle has a uid");
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    for i in 0..bundle.spec.copies {
        let cm = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": format!("{}-{i}", bundle.name_any()), "ownerReferences": [owner]},
            "data": {"message": bundle.spec.message},
        });
        if cms
            .get_opt(&format!("{}-{i}", bundle.name_any()))
            .await?
            .is_none()
        {
            let typed: ConfigMap = serde_json::from_value(cm).expect("a ConfigMap");
            match cms.create(&PostParams::default(), &typed).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 409 => {}
                Err(e) => return Err(e),
            }
        }
    }
    let bundles: Api<Bundle> = Api::namespaced(client, &ns);
    bundles
        .patch_status(
            &bundle.name_any(),
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"created": bundle.spec.copies}})),
        )
        .await?;
    Ok(kube::runtime::controller::Action::await_change())
}

/// Installs the Bundle CRD as the controller would, waits for Established.
async fn install_bundle_crd(client: &kube::Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), &Bundle::crd())
        .await
        .unwrap();
    for _ in 0..100 {
        let crd = crds.get(Bundle::crd_name()).await.unwrap();
        let established = crd
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True");
        if established {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("Bundle CRD not established");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn derive_custom_resource_controller_owns_configmaps_and_gc_collects_them() {
    tokio::time::timeout(TEST_TIMEOUT, async {
        let c = ControllerCluster::start(
            "garbage-collector",
            &["--garbage-collector-discovery-period=1s"],
        )
        .await
        .unwrap();
        let client = c.client.clone();
        install_bundle_crd(&client).await;
        // The garbage collector learns of new kinds at its next discovery pass (1 s here);
        // dependents it meets before that are left alone and not looked at again (a gap of
        // the garbage collector, which upstream retries), so let it see Bundles first.
        tokio::time::sleep(Duration::from_millis(2500)).await;

        let bundles: Api<Bundle> = Api::namespaced(client.clone(), "default");
        let controller_client = client.clone();
        let controller = tokio::spawn(async move {
            kube::runtime::Controller::new(bundles, watcher::Config::default())
                .owns(
                    Api::<ConfigMap>::namespaced(controller_client.clone(), "default"),
                    watcher::Config::default(),
                )
                .run(
                    move |b, ctx: std::sync::Arc<kube::Client>| reconcile_bundle(b, (*ctx).clone()),
                    |_b, _e, _ctx| {
                        kube::runtime::controller::Action::requeue(Duration::from_secs(1))
                    },
                    std::sync::Arc::new(controller_client),
                )
                .for_each(|_| async {})
                .await;
        });

        let api: Api<Bundle> = Api::namespaced(client.clone(), "default");
        let b = Bundle::new(
            "greetings",
            BundleSpec {
                copies: 2,
                message: "hello".into(),
            },
        );
        api.create(&PostParams::default(), &b).await.unwrap();
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
        let mut status = None;
        for _ in 0..100 {
            let got = api.get("greetings").await.unwrap();
            status = got.status.clone();
            if status.as_ref().is_some_and(|s| s.created == 2) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(status.map(|s| s.created), Some(2));
        let owner_uid = api.get("greetings").await.unwrap().uid().unwrap();
        for i in 0..2 {
            let cm = cms.get(&format!("greetings-{i}")).await.unwrap();
            assert_eq!(cm.data.unwrap()["message"], "hello");
            let refs = cm.metadata.owner_references.unwrap();
            assert_eq!(refs[0].uid, owner_uid);
            assert_eq!(refs[0].kind, "Bundle");
        }
        controller.abort();

        api.delete("greetings", &DeleteParams::default())
            .await
            .unwrap();
        let mut left = usize::MAX;
        for _ in 0..200 {
            left = 0;
            for i in 0..2 {
                if cms
                    .get_opt(&format!("greetings-{i}"))
                    .await
                    .unwrap()
                    .is_some()
                {
                    left += 1;
                }
            }
            if left == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            left,
            0,
            "ConfigMaps owned by the deleted Bundle are collected\n{}",
            c.logs()
        );
    })
    .await
    .expect("test timed out");
}

/// Deleting a namespace deletes the custom objects in it (the namespace controller finds
/// custom resources through discovery like any other).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_deletion_removes_custom_objects() {
    tokio::time::timeout(TEST_TIMEOUT, async {
        let c = ControllerCluster::start("namespace", &[]).await.unwrap();
        install_widgets(&c.server).await;
        c.kubectl(&["create", "namespace", "scratch"])
            .await
            .unwrap();
        let out = c
            .server
            .kubectl_with_input(
                &["apply", "-n", "scratch", "-f", "-"],
                Some(widget("doomed", "  size: small").as_bytes()),
            )
            .await;
        assert!(out.status.success(), "{}", text(&out));
        c.kubectl(&["delete", "namespace", "scratch", "--timeout=60s"])
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", c.logs()));
        let left = c
            .server
            .kubectl_json(&["get", "--raw", "/apis/example.com/v1/widgets"])
            .await
            .unwrap();
        assert_eq!(left["items"], json!([]));
    })
    .await
    .expect("test timed out");
}
