//! The garbage collector against a real API server on etcd, with the real controller-manager
//! binary: background, orphan and foreground propagation through `kubectl delete
//! --cascade=...`, on owner chains of ConfigMaps and on Deployments/ReplicaSets with their
//! pods; objects whose owner never existed are collected, references to gone owners dropped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use e2e::controllers::{ControllerCluster, within};
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

const NS: &str = "default";

async fn configmap(api: &Api<ConfigMap>, name: &str, owners: &[(&ConfigMap, bool)]) -> ConfigMap {
    let refs: Vec<_> = owners
        .iter()
        .map(|(o, block)| {
            json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "name": o.metadata.name, "uid": o.metadata.uid,
                "blockOwnerDeletion": block,
            })
        })
        .collect();
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": name, "ownerReferences": refs},
        "data": {"k": "v"},
    }))
    .unwrap();
    api.create(&PostParams::default(), &cm).await.unwrap()
}

async fn exists(api: &Api<ConfigMap>, name: &str) -> Option<ConfigMap> {
    api.get_opt(name).await.unwrap()
}

async fn all_gone(api: &Api<ConfigMap>, names: &[&str]) -> Option<()> {
    for n in names {
        if exists(api, n).await.is_some() {
            return None;
        }
    }
    Some(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configmap_owner_chains_in_all_three_propagation_modes() {
    tokio::time::timeout(Duration::from_secs(100), async {
        let c = ControllerCluster::start("garbage-collector", &[])
            .await
            .unwrap();
        let api = Api::<ConfigMap>::namespaced(c.client.clone(), NS);
        let bound = Duration::from_secs(20);

        // Background (kubectl's default): the whole chain goes after the root.
        let root = configmap(&api, "root", &[]).await;
        let child = configmap(&api, "child", &[(&root, true)]).await;
        configmap(&api, "grandchild", &[(&child, true)]).await;
        configmap(&api, "loose", &[(&root, false)]).await;
        c.kubectl(&["delete", "configmap", "root"]).await.unwrap();
        within("background: dependents collected", bound, || {
            all_gone(&api, &["child", "grandchild", "loose"])
        })
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", c.logs()));

        // Orphan: the root goes, its dependents stay without the reference.
        let root = configmap(&api, "root-o", &[]).await;
        let child = configmap(&api, "child-o", &[(&root, true)]).await;
        configmap(&api, "grandchild-o", &[(&child, true)]).await;
        c.kubectl(&["delete", "configmap", "root-o", "--cascade=orphan"])
            .await
            .unwrap();
        within("orphan: root deleted", bound, || async {
            exists(&api, "root-o").await.is_none().then_some(())
        })
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", c.logs()));
        let child = exists(&api, "child-o").await.expect("orphaned child kept");
        assert!(
            child
                .metadata
                .owner_references
                .unwrap_or_default()
                .is_empty(),
            "the orphaned child still refers to its deleted owner"
        );
        let grandchild = exists(&api, "grandchild-o").await.expect("grandchild kept");
        assert_eq!(
            grandchild.metadata.owner_references.unwrap()[0].name,
            "child-o"
        );
        // And they stay.
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(exists(&api, "child-o").await.is_some());
        assert!(exists(&api, "grandchild-o").await.is_some());

        // Foreground: the root stays (foregroundDeletion) while a blocking dependent exists.
        // The grandchild carries a finalizer of the test's, so the chain visibly waits.
        let root = configmap(&api, "root-f", &[]).await;
        let child = configmap(&api, "child-f", &[(&root, true)]).await;
        let mut held = configmap(&api, "grandchild-f", &[(&child, true)]).await;
        held.metadata.finalizers = Some(vec!["example.com/hold".into()]);
        api.replace("grandchild-f", &PostParams::default(), &held)
            .await
            .unwrap();
        configmap(&api, "loose-f", &[(&root, false)]).await;
        c.kubectl(&[
            "delete",
            "configmap",
            "root-f",
            "--cascade=foreground",
            "--wait=false",
        ])
        .await
        .unwrap();
        within(
            "foreground: non-blocking dependent deleted",
            bound,
            || async { exists(&api, "loose-f").await.is_none().then_some(()) },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", c.logs()));
        within(
            "foreground: held grandchild marked for deletion",
            bound,
            || async {
                exists(&api, "grandchild-f")
                    .await
                    .and_then(|g| g.metadata.deletion_timestamp)
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", c.logs()));
        tokio::time::sleep(Duration::from_secs(1)).await;
        for name in ["root-f", "child-f"] {
            let waiting = exists(&api, name)
                .await
                .unwrap_or_else(|| panic!("{name} deleted before its blocking dependent"));
            assert!(waiting.metadata.deletion_timestamp.is_some(), "{name}");
            assert!(
                waiting
                    .metadata
                    .finalizers
                    .unwrap_or_default()
                    .contains(&"foregroundDeletion".to_string()),
                "{name} lacks foregroundDeletion"
            );
        }
        // Release the hold: the chain completes from the bottom up.
        api.patch(
            "grandchild-f",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await
        .unwrap();
        within("foreground: whole chain deleted", bound, || {
            all_gone(&api, &["root-f", "child-f", "grandchild-f"])
        })
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", c.logs()));

        // An owner that never existed: collected. One of two owners gone: reference dropped.
        let keeper = configmap(&api, "keeper", &[]).await;
        let mut ghost = keeper.clone();
        ghost.metadata.name = Some("ghost".into());
        ghost.metadata.uid = Some("00000000-0000-0000-0000-00000000dead".into());
        configmap(&api, "stray", &[(&ghost, false)]).await;
        configmap(&api, "shared", &[(&keeper, false), (&ghost, false)]).await;
        within("dependent of a missing owner collected", bound, || async {
            exists(&api, "stray").await.is_none().then_some(())
        })
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", c.logs()));
        let (refs, _) = within("reference to the missing owner dropped", bound, || async {
            let refs = exists(&api, "shared").await?.metadata.owner_references?;
            (refs.len() == 1).then_some(refs)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", c.logs()));
        assert_eq!(refs[0].name, "keeper");
    })
    .await
    .expect("test timed out");
}

const DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.7.9
"#;

fn replicaset(name: &str, replicas: i32) -> String {
    format!(
        r#"
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: c
        image: nginx:1.7.9
"#
    )
}

async fn pods_of(client: &kube::Client, app: &str) -> Vec<Pod> {
    Api::<Pod>::namespaced(client.clone(), NS)
        .list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .unwrap()
        .items
}

async fn apply(c: &ControllerCluster, manifest: &str) {
    let out = c
        .server
        .kubectl_with_input(&["apply", "-f", "-"], Some(manifest.as_bytes()))
        .await;
    assert!(
        out.status.success(),
        "kubectl apply: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn wait_pods(c: &ControllerCluster, app: &str, n: usize) {
    within(
        &format!("{n} pods of {app}"),
        Duration::from_secs(20),
        || async {
            let pods = pods_of(&c.client, app).await;
            (pods.len() == n).then_some(())
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", c.logs()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_delete_cascades_through_deployments_and_replicasets() {
    tokio::time::timeout(Duration::from_secs(100), async {
        let c = ControllerCluster::start("garbage-collector,replicaset,deployment", &[])
            .await
            .unwrap();
        let bound = Duration::from_secs(20);
        let replicasets = Api::<ReplicaSet>::namespaced(c.client.clone(), NS);

        // Default (background): the Deployment's ReplicaSet and pods go too.
        apply(&c, DEPLOYMENT).await;
        wait_pods(&c, "web", 3).await;
        assert_eq!(
            replicasets
                .list(&ListParams::default())
                .await
                .unwrap()
                .items
                .len(),
            1
        );
        c.kubectl(&["delete", "deployment", "web"]).await.unwrap();
        within(
            "deployment's replicaset and pods collected",
            bound,
            || async {
                let rs = replicasets
                    .list(&ListParams::default())
                    .await
                    .unwrap()
                    .items;
                (rs.is_empty() && pods_of(&c.client, "web").await.is_empty()).then_some(())
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", c.logs()));

        // --cascade=orphan: the pods stay, released.
        apply(&c, &replicaset("orph", 2)).await;
        wait_pods(&c, "orph", 2).await;
        c.kubectl(&["delete", "replicaset", "orph", "--cascade=orphan"])
            .await
            .unwrap();
        assert!(replicasets.get_opt("orph").await.unwrap().is_none());
        tokio::time::sleep(Duration::from_secs(2)).await;
        let pods = pods_of(&c.client, "orph").await;
        assert_eq!(pods.len(), 2, "orphaned pods were deleted\n{}", c.logs());
        for p in &pods {
            assert!(p.metadata.deletion_timestamp.is_none());
            assert!(
                p.metadata
                    .owner_references
                    .clone()
                    .unwrap_or_default()
                    .is_empty(),
                "pod {:?} still refers to the deleted ReplicaSet",
                p.metadata.name
            );
        }

        // --cascade=foreground: kubectl waits for the ReplicaSet to be gone, and by then
        // its pods must be gone already.
        apply(&c, &replicaset("fg", 3)).await;
        wait_pods(&c, "fg", 3).await;
        c.kubectl(&[
            "delete",
            "replicaset",
            "fg",
            "--cascade=foreground",
            "--timeout=30s",
        ])
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", c.logs()));
        assert!(replicasets.get_opt("fg").await.unwrap().is_none());
        let left = pods_of(&c.client, "fg").await;
        assert!(
            left.is_empty(),
            "the ReplicaSet went before its pods: {:?}",
            left.iter().map(|p| &p.metadata.name).collect::<Vec<_>>()
        );
    })
    .await
    .expect("test timed out");
}
