//! Namespace controllers against a real API server on etcd, with the real controller-manager
//! binary: every namespace gets the `default` ServiceAccount and the `kube-root-ca.crt`
//! ConfigMap holding the API server's CA (recreated when deleted); `kubectl delete namespace`
//! removes everything in it and then the namespace, waiting for objects that are still
//! finalizing; a terminating namespace refuses new objects.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use e2e::controllers::{ControllerCluster, within};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;

const CONTROLLERS: &str =
    "namespace,serviceaccount,root-ca-certificate-publisher,garbage-collector,replicaset";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_namespace_gets_default_service_account_and_root_ca() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let c = ControllerCluster::start(CONTROLLERS, &[]).await.unwrap();
        let bound = Duration::from_secs(15);
        c.kubectl(&["create", "namespace", "team-a"]).await.unwrap();
        for ns in ["default", "kube-system", "team-a"] {
            let sas = Api::<ServiceAccount>::namespaced(c.client.clone(), ns);
            within(
                &format!("default ServiceAccount in {ns}"),
                bound,
                || async { sas.get_opt("default").await.unwrap() },
            )
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", c.logs()));
            let cms = Api::<ConfigMap>::namespaced(c.client.clone(), ns);
            let (cm, _) = within(&format!("kube-root-ca.crt in {ns}"), bound, || async {
                cms.get_opt("kube-root-ca.crt").await.unwrap()
            })
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", c.logs()));
            let data = cm.data.unwrap_or_default();
            assert_eq!(
                data.get("ca.crt"),
                Some(&c.ca_pem),
                "ca.crt is not the API server's CA"
            );
        }
        // kubectl sees them as a user would.
        let out = c
            .kubectl(&[
                "get",
                "serviceaccounts,configmaps",
                "-n",
                "team-a",
                "-o",
                "name",
            ])
            .await
            .unwrap();
        assert!(out.contains("serviceaccount/default"), "{out}");
        assert!(out.contains("configmap/kube-root-ca.crt"), "{out}");

        // Deleted or edited: put back.
        c.kubectl(&["delete", "serviceaccount", "default", "-n", "team-a"])
            .await
            .unwrap();
        c.kubectl(&["delete", "configmap", "kube-root-ca.crt", "-n", "team-a"])
            .await
            .unwrap();
        let sas = Api::<ServiceAccount>::namespaced(c.client.clone(), "team-a");
        within("default ServiceAccount recreated", bound, || async {
            sas.get_opt("default").await.unwrap()
        })
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", c.logs()));
        let cms = Api::<ConfigMap>::namespaced(c.client.clone(), "team-a");
        within("kube-root-ca.crt recreated", bound, || async {
            cms.get_opt("kube-root-ca.crt").await.unwrap()
        })
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", c.logs()));
        cms.patch(
            "kube-root-ca.crt",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"ca.crt": "tampered"}})),
        )
        .await
        .unwrap();
        within("kube-root-ca.crt restored", bound, || async {
            let cm = cms.get("kube-root-ca.crt").await.unwrap();
            (cm.data?.get("ca.crt") == Some(&c.ca_pem)).then_some(())
        })
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", c.logs()));
    })
    .await
    .expect("test timed out");
}

const CONTENT: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: doomed}
data: {a: b}
---
apiVersion: v1
kind: Secret
metadata: {name: token, namespace: doomed}
stringData: {t: x}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: doomed}
spec:
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web, namespace: doomed}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx:1.7.9}]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_namespace_deletes_its_content_then_the_namespace() {
    tokio::time::timeout(Duration::from_secs(90), async {
        let c = ControllerCluster::start(CONTROLLERS, &[]).await.unwrap();
        c.kubectl(&["create", "namespace", "doomed"]).await.unwrap();
        let out = c
            .server
            .kubectl_with_input(&["apply", "-f", "-"], Some(CONTENT.as_bytes()))
            .await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let cms = Api::<ConfigMap>::namespaced(c.client.clone(), "doomed");
        // The ReplicaSet made its pods.
        within("replicaset pods", Duration::from_secs(15), || async {
            let out = c
                .kubectl(&["get", "pods", "-n", "doomed", "-o", "name"])
                .await
                .ok()?;
            (out.lines().count() == 2).then_some(())
        })
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", c.logs()));
        // A finalizer of the test's holds one object back, so the namespace must wait.
        let held: ConfigMap = serde_json::from_value(json!({
            "metadata": {"name": "held", "finalizers": ["example.com/hold"]},
        }))
        .unwrap();
        cms.create(&PostParams::default(), &held).await.unwrap();

        c.kubectl(&["delete", "namespace", "doomed", "--wait=false"])
            .await
            .unwrap();
        let namespaces = Api::<Namespace>::all(c.client.clone());
        within(
            "everything but the held object deleted",
            Duration::from_secs(20),
            || async {
                let out = c
                    .kubectl(&[
                        "get",
                        "all,configmaps,secrets,serviceaccounts",
                        "-n",
                        "doomed",
                        "-o",
                        "name",
                    ])
                    .await
                    .ok()?;
                (out.trim() == "configmap/held").then_some(())
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", c.logs()));
        let ns = namespaces.get("doomed").await.unwrap();
        assert_eq!(
            ns.status.and_then(|s| s.phase).as_deref(),
            Some("Terminating")
        );
        // Nothing new may be created meanwhile (the API server's rule); nor does the
        // serviceaccount controller bring `default` back.
        let refused = cms
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": "late"}})).unwrap(),
            )
            .await
            .unwrap_err();
        assert!(format!("{refused}").contains("terminat"), "{refused}");
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(namespaces.get_opt("doomed").await.unwrap().is_some());

        // Release the hold: the namespace goes, and kubectl sees it gone.
        cms.patch(
            "held",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await
        .unwrap();
        within("namespace deleted", Duration::from_secs(20), || async {
            namespaces
                .get_opt("doomed")
                .await
                .unwrap()
                .is_none()
                .then_some(())
        })
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", c.logs()));

        // A plain `kubectl delete namespace` (which waits) finishes on its own.
        c.kubectl(&["create", "namespace", "quick"]).await.unwrap();
        c.kubectl(&[
            "create",
            "configmap",
            "x",
            "-n",
            "quick",
            "--from-literal=a=b",
        ])
        .await
        .unwrap();
        c.kubectl(&["delete", "namespace", "quick", "--timeout=30s"])
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", c.logs()));
        assert!(namespaces.get_opt("quick").await.unwrap().is_none());
    })
    .await
    .expect("test timed out");
}
