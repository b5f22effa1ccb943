#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use machinery::{ResourceInfo, Subresource};

fn table() -> ResourceTable {
    ResourceTable::builtin()
}

fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                if k == "$ref"
                    && let Value::String(r) = v
                {
                    out.push(r.clone());
                    continue;
                }
                refs(v, out);
            }
        }
        Value::Array(l) => l.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn index_lists_every_group_version_with_its_hash() {
    let t = table();
    let docs = OpenApiDocuments::build(&t, &CustomSchemas::default());
    let index: Value = serde_json::from_slice(docs.index()).unwrap();
    let paths = index["paths"].as_object().unwrap();
    for (g, v) in t.group_versions() {
        let key = group_version_path(&g, &v);
        let doc = docs.group_version(&key).unwrap();
        assert_eq!(doc.hash, content_hash(&doc.json));
        assert_eq!(doc.hash.len(), 128);
        assert_eq!(
            paths[&key]["serverRelativeURL"],
            json!(format!("/openapi/v3/{key}?hash={}", doc.hash))
        );
    }
    assert_eq!(v3_index(&t), index);
}

#[test]
fn patch_operations_advertise_field_validation_for_their_kind() {
    let t = table();
    for (g, v) in t.group_versions() {
        let doc = v3_group_version(&t, &g, &v).unwrap();
        for r in t.in_group_version(&g, &v) {
            let gvk = json!({"group": r.group, "kind": r.kind, "version": r.version});
            let mut found = 0;
            for (path, item) in doc["paths"].as_object().unwrap() {
                let Some(patch) = item.get("patch") else {
                    continue;
                };
                if patch["x-kubernetes-group-version-kind"] != gvk {
                    continue;
                }
                found += 1;
                let names: Vec<&str> = patch["parameters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p["name"].as_str().unwrap())
                    .collect();
                assert!(names.contains(&"fieldValidation"), "{path}");
                assert!(
                    patch["requestBody"]["content"]
                        .get("application/strategic-merge-patch+json")
                        .is_some()
                );
            }
            assert!(found >= 1, "{g}/{v} {}", r.kind);
        }
    }
}

#[test]
fn core_document_has_pod_paths_and_real_schemas() {
    let doc = v3_group_version(&table(), "", "v1").unwrap();
    let item = &doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"];
    assert_eq!(item["get"]["operationId"], "readCoreV1NamespacedPod");
    assert_eq!(item["patch"]["x-kubernetes-action"], "patch");
    let params: Vec<&str> = item["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(params, ["name", "namespace", "pretty"]);
    let list = &doc["paths"]["/api/v1/namespaces/{namespace}/pods"]["get"];
    assert_eq!(list["operationId"], "listCoreV1NamespacedPod");
    let names: Vec<&str> = list["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for n in [
        "labelSelector",
        "fieldSelector",
        "limit",
        "continue",
        "resourceVersion",
        "resourceVersionMatch",
        "watch",
        "timeoutSeconds",
        "allowWatchBookmarks",
        "sendInitialEvents",
    ] {
        assert!(names.contains(&n), "{n}");
    }
    assert!(doc["paths"]["/api/v1/pods"]["get"].is_object());
    assert!(doc["paths"]["/api/v1/watch/namespaces/{namespace}/pods/{name}"]["get"].is_object());
    assert_eq!(
        doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/eviction"]["post"]["x-kubernetes-group-version-kind"]
            ["group"],
        "policy"
    );
    assert!(doc["paths"]["/api/v1/namespaces/{name}/finalize"]["put"].is_object());
    let delete = &item["delete"];
    let names: Vec<&str> = delete["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"gracePeriodSeconds") && names.contains(&"propagationPolicy"));

    let schemas = &doc["components"]["schemas"];
    let pod = &schemas["io.k8s.api.core.v1.Pod"];
    assert_eq!(
        pod["x-kubernetes-group-version-kind"],
        json!([{"group": "", "kind": "Pod", "version": "v1"}])
    );
    assert!(pod.get("required").is_none(), "{}", pod["required"]);
    assert_eq!(
        pod["properties"]["spec"]["allOf"],
        json!([{"$ref": "#/components/schemas/io.k8s.api.core.v1.PodSpec"}])
    );
    let containers = &schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
    assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
    assert_eq!(containers["x-kubernetes-patch-strategy"], "merge");
    assert_eq!(
        schemas["io.k8s.api.core.v1.PodList"]["x-kubernetes-group-version-kind"][0]["kind"],
        "PodList"
    );
    assert_eq!(
        schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["format"],
        "int-or-string"
    );
    // Every reference resolves inside the document.
    let mut all = Vec::new();
    refs(&doc, &mut all);
    for r in all {
        let name = r.strip_prefix("#/components/schemas/").unwrap();
        assert!(schemas.get(name).is_some(), "{r}");
    }
}

#[test]
fn apps_document_carries_scale() {
    let doc = v3_group_version(&table(), "apps", "v1").unwrap();
    let scale = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"];
    assert_eq!(
        scale["patch"]["operationId"],
        "patchAppsV1NamespacedDeploymentScale"
    );
    assert_eq!(
        scale["patch"]["x-kubernetes-group-version-kind"],
        json!({"group": "autoscaling", "kind": "Scale", "version": "v1"})
    );
    let schemas = &doc["components"]["schemas"];
    assert!(schemas.get("io.k8s.api.autoscaling.v1.Scale").is_some());
    assert_eq!(
        schemas["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["strategy"]["x-kubernetes-patch-strategy"],
        "retainKeys"
    );
    // No core kinds beyond what apps refers to.
    assert!(schemas.get("io.k8s.api.core.v1.Service").is_none());
    assert!(v3_group_version(&table(), "apps", "v2").is_none());
}

#[test]
fn v2_references_resolve_and_encode_as_protobuf() {
    let t = table();
    let doc = v2(&t);
    assert_eq!(doc["swagger"], "2.0");
    let defs = doc["definitions"].as_object().unwrap();
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r.strip_prefix("#/definitions/").unwrap();
        assert!(defs.contains_key(name), "{r}");
    }
    let patch = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
    assert!(
        patch["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "fieldValidation" && p["in"] == "query")
    );
    assert!(
        patch["consumes"]
            .as_array()
            .unwrap()
            .contains(&json!("application/strategic-merge-patch+json"))
    );
    let pb = v2_protobuf(&t);
    assert!(pb.len() > 10_000);
    assert_eq!(&pb[..5], b"\x0a\x032.0");
}

#[test]
fn custom_resources_get_their_schema_and_no_strategic_merge() {
    let mut t = table();
    t.insert(ResourceInfo {
        group: "stable.example.com".into(),
        version: "v1".into(),
        kind: "CronTab".into(),
        plural: "crontabs".into(),
        singular: "crontab".into(),
        short_names: vec![],
        namespaced: true,
        etcd_prefix: "/registry/stable.example.com/crontabs".into(),
        subresources: vec![Subresource::Status],
        categories: vec![],
    });
    let cache = OpenApiCache::new();
    let before = cache.documents(&t);
    assert!(Arc::ptr_eq(&before, &cache.documents(&t)));
    cache.set_custom_schema(
        "stable.example.com",
        "v1",
        "CronTab",
        json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "cronSpec": {"type": "string"}, "replicas": {"type": "integer"}}}}}),
    );
    let docs = cache.documents(&t);
    assert!(!Arc::ptr_eq(&before, &docs));
    let doc: Value = serde_json::from_slice(
        &docs
            .group_version("apis/stable.example.com/v1")
            .unwrap()
            .json,
    )
    .unwrap();
    let schema = &doc["components"]["schemas"]["com.example.stable.v1.CronTab"];
    assert_eq!(
        schema["properties"]["spec"]["properties"]["cronSpec"]["type"],
        "string"
    );
    assert_eq!(
        schema["properties"]["metadata"]["allOf"][0]["$ref"],
        "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    );
    assert!(
        doc["components"]["schemas"]
            .get("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
            .is_some()
    );
    let patch = &doc["paths"]["/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}"]
        ["patch"];
    assert_eq!(
        patch["operationId"],
        "patchStableExampleComV1NamespacedCronTab"
    );
    let content = patch["requestBody"]["content"].as_object().unwrap();
    assert!(content.contains_key("application/merge-patch+json"));
    assert!(!content.contains_key("application/strategic-merge-patch+json"));
    cache.invalidate();
    assert!(!Arc::ptr_eq(&docs, &cache.documents(&t)));
}

#[test]
fn responses_follow_kube_apiserver() {
    let docs = OpenApiDocuments::build(&table(), &CustomSchemas::default());
    let get = |uri: &str, accept: Option<&str>| {
        let mut h = HeaderMap::new();
        if let Some(a) = accept {
            h.insert(header::ACCEPT, HeaderValue::from_str(a).unwrap());
        }
        docs.respond(&uri.parse::<Uri>().unwrap(), &h)
    };
    let index = get("/openapi/v3", None).unwrap();
    assert_eq!(index.status(), StatusCode::OK);
    let hash = docs.group_version("apis/apps/v1").unwrap().hash.clone();
    let fresh = get(&format!("/openapi/v3/apis/apps/v1?hash={hash}"), None).unwrap();
    assert_eq!(fresh.status(), StatusCode::OK);
    assert_eq!(fresh.headers()[header::CACHE_CONTROL], "public, immutable");
    assert_eq!(
        fresh.headers()[header::ETAG],
        format!("\"{hash}\"").as_str()
    );
    let stale = get("/openapi/v3/apis/apps/v1?hash=ABC", None).unwrap();
    assert_eq!(stale.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        stale.headers()[header::LOCATION],
        format!("/openapi/v3/apis/apps/v1?hash={hash}").as_str()
    );
    assert_eq!(
        get("/openapi/v3/apis/nope/v1", None).unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let pb = get(
        "/openapi/v2?timeout=32s",
        Some("application/com.github.proto-openapi.spec.v2@v1.0+protobuf"),
    )
    .unwrap();
    assert_eq!(pb.headers()[header::CONTENT_TYPE], V2_PROTOBUF_CONTENT_TYPE);
    assert_eq!(pb.body(), docs.v2_protobuf());
    let js = get("/openapi/v2", Some("application/json")).unwrap();
    assert_eq!(js.headers()[header::CONTENT_TYPE], "application/json");
    assert!(get("/api/v1", None).is_none());
}
