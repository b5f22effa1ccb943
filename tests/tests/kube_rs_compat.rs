//! kube-rs, unchanged, against ferrokube: typed Api calls and the runtime watcher in both
//! its list-then-watch and its streaming-list (sendInitialEvents) modes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::time::Duration;

use e2e::apiserver::ApiServer;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher::{self, Event};
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(60);

fn cm(name: &str, value: &str) -> ConfigMap {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": { "name": name },
        "data": { "v": value },
    }))
    .unwrap()
}

async fn namespace(client: &kube::Client, name: &str) {
    let ns: Namespace = serde_json::from_value(json!({ "metadata": { "name": name } })).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
}

/// Reads watcher events until `done` says the wanted sequence has been seen.
async fn collect<S>(stream: &mut S, mut done: impl FnMut(&[String]) -> bool) -> Vec<String>
where
    S: futures::Stream<Item = Result<Event<ConfigMap>, watcher::Error>> + Unpin,
{
    let mut seen = Vec::new();
    while !done(&seen) {
        let ev = tokio::time::timeout(Duration::from_secs(10), stream.try_next())
            .await
            .expect("a watcher event in time")
            .expect("no watcher error")
            .expect("the stream goes on");
        let name = |c: &ConfigMap| c.metadata.name.clone().unwrap_or_default();
        let value = |c: &ConfigMap| {
            c.data
                .as_ref()
                .and_then(|d| d.get("v").cloned())
                .unwrap_or_default()
        };
        seen.push(match ev {
            Event::Init => "Init".to_string(),
            Event::InitApply(c) => format!("InitApply {}={}", name(&c), value(&c)),
            Event::InitDone => "InitDone".to_string(),
            Event::Apply(c) => format!("Apply {}={}", name(&c), value(&c)),
            Event::Delete(c) => format!("Delete {}", name(&c)),
        });
    }
    seen
}

async fn watcher_sees_changes(streaming: bool) {
    let data = tempfile::tempdir().unwrap();
    let server = ApiServer::start_embedded(data.path()).await.unwrap();
    let client = server.client().await.unwrap();
    let ns = if streaming {
        "kube-rs-streaming"
    } else {
        "kube-rs-list"
    };
    namespace(&client, ns).await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    api.create(&PostParams::default(), &cm("before", "0"))
        .await
        .unwrap();

    let config = if streaming {
        watcher::Config::default().streaming_lists()
    } else {
        watcher::Config::default()
    };
    let mut stream = watcher::watcher(api.clone(), config).boxed();
    let initial = collect(&mut stream, |s| s.last().is_some_and(|e| e == "InitDone")).await;
    assert_eq!(initial, vec!["Init", "InitApply before=0", "InitDone"]);

    api.create(&PostParams::default(), &cm("web", "1"))
        .await
        .unwrap();
    api.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({ "data": { "v": "2" } })),
    )
    .await
    .unwrap();
    api.delete("web", &DeleteParams::default()).await.unwrap();
    let live = collect(&mut stream, |s| s.len() >= 3).await;
    assert_eq!(live, vec!["Apply web=1", "Apply web=2", "Delete web"]);
}

#[tokio::test]
async fn watcher_list_then_watch() {
    tokio::time::timeout(TIMEOUT, watcher_sees_changes(false))
        .await
        .expect("bounded");
}

#[tokio::test]
async fn watcher_streaming_list() {
    tokio::time::timeout(TIMEOUT, watcher_sees_changes(true))
        .await
        .expect("bounded");
}

#[tokio::test]
async fn typed_api_calls() {
    tokio::time::timeout(TIMEOUT, async {
        let data = tempfile::tempdir().unwrap();
        let server = ApiServer::start_embedded(data.path()).await.unwrap();
        let client = server.client().await.unwrap();
        namespace(&client, "typed").await;
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "typed");
        for i in 0..5 {
            cms.create(&PostParams::default(), &cm(&format!("c{i}"), "x"))
                .await
                .unwrap();
        }
        // Paging by 2, as kube-rs' pager does with limit/continue.
        let mut names = Vec::new();
        let mut lp = ListParams::default().limit(2);
        loop {
            let page = cms.list(&lp).await.unwrap();
            assert!(page.metadata.resource_version.is_some());
            names.extend(page.items.iter().filter_map(|c| c.metadata.name.clone()));
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(token) => lp = lp.continue_token(&token),
                None => break,
            }
        }
        assert_eq!(names, vec!["c0", "c1", "c2", "c3", "c4"]);

        // The finalizer pattern kube-rs' finalizer helper uses: a JSON patch whose `test` of a
        // missing list is against null.
        let patch: json_patch::Patch = serde_json::from_value(json!([
            { "op": "test", "path": "/metadata/finalizers", "value": null },
            { "op": "add", "path": "/metadata/finalizers", "value": ["example.com/cleanup"] },
        ]))
        .unwrap();
        let patched = cms
            .patch("c0", &PatchParams::default(), &Patch::<()>::Json(patch))
            .await
            .unwrap();
        assert_eq!(
            patched.metadata.finalizers,
            Some(vec!["example.com/cleanup".to_string()])
        );
        // Deleting keeps it (Terminating) until the finalizer is gone.
        cms.delete("c0", &DeleteParams::default()).await.unwrap();
        let held = cms.get("c0").await.unwrap();
        assert!(held.metadata.deletion_timestamp.is_some());
        cms.patch(
            "c0",
            &PatchParams::default(),
            &Patch::Merge(json!({ "metadata": { "finalizers": null } })),
        )
        .await
        .unwrap();
        let gone = cms.get_opt("c0").await.unwrap();
        assert!(
            gone.is_none(),
            "removing the last finalizer completes the delete"
        );

        let err = cms.get("missing").await.unwrap_err();
        match err {
            kube::Error::Api(s) => {
                assert_eq!(s.code, 404);
                assert_eq!(s.reason, "NotFound");
            }
            other => panic!("expected a 404 Status, got {other:?}"),
        }

        let deploys: Api<Deployment> = Api::namespaced(client.clone(), "typed");
        let d: Deployment = serde_json::from_value(json!({
            "metadata": { "name": "web" },
            "spec": {
                "selector": { "matchLabels": { "app": "web" } },
                "template": {
                    "metadata": { "labels": { "app": "web" } },
                    "spec": { "containers": [{ "name": "web", "image": "nginx:1.25" }] },
                },
            },
        }))
        .unwrap();
        deploys.create(&PostParams::default(), &d).await.unwrap();
        let scale = deploys.get_scale("web").await.unwrap();
        assert_eq!(scale.spec.and_then(|s| s.replicas), Some(1));
        deploys
            .patch_scale(
                "web",
                &PatchParams::default(),
                &Patch::Merge(json!({ "spec": { "replicas": 4 } })),
            )
            .await
            .unwrap();
        let d = deploys.get("web").await.unwrap();
        assert_eq!(d.spec.and_then(|s| s.replicas), Some(4));
        let labels: BTreeMap<String, String> = d.metadata.labels.unwrap_or_default();
        assert!(labels.is_empty());
    })
    .await
    .expect("bounded");
}
