//! The kind table, checked field by field against upstream's struct tags, and realistic
//! patches as kubectl, kube-rs and the Python client send them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};

use super::*;
use crate::patch::{PatchError, strategic_merge};

fn schema(group: &str, kind: &str) -> PatchSchema {
    PatchSchema::for_kind(group, kind).unwrap_or_else(|| panic!("no schema for {group}/{kind}"))
}

const fn by(key: &'static str) -> Strategy {
    Strategy::Merge {
        merge_key: Some(key),
    }
}

const SET: Strategy = Strategy::Merge { merge_key: None };

#[test]
fn table_matches_upstream_struct_tags() {
    const POD_SPEC: &[(&str, Strategy, bool)] = &[
        ("volumes", by("name"), true),
        ("initContainers", by("name"), false),
        ("containers", by("name"), false),
        ("ephemeralContainers", by("name"), false),
        ("imagePullSecrets", by("name"), false),
        ("hostAliases", by("ip"), false),
        ("topologySpreadConstraints", by("topologyKey"), false),
        ("schedulingGates", by("name"), false),
        ("resourceClaims", by("name"), true),
        ("tolerations", Strategy::Default, false),
        ("readinessGates", Strategy::Default, false),
        ("nodeSelector", Strategy::Default, false),
        ("affinity", Strategy::Default, false),
    ];
    const CONTAINER: &[(&str, Strategy)] = &[
        ("ports", by("containerPort")),
        ("env", by("name")),
        ("volumeMounts", by("mountPath")),
        ("volumeDevices", by("devicePath")),
        ("envFrom", Strategy::Default),
        ("args", Strategy::Default),
        ("command", Strategy::Default),
        ("resizePolicy", Strategy::Default),
    ];
    const METADATA: &[(&str, Strategy)] = &[
        ("finalizers", SET),
        ("ownerReferences", by("uid")),
        ("managedFields", Strategy::Default),
        ("labels", Strategy::Default),
    ];

    // Pod specs appear under these paths of these kinds.
    let pod_specs: &[(&str, &str, &[&str])] = &[
        ("", "Pod", &["spec"]),
        ("", "PodTemplate", &["template", "spec"]),
        ("", "ReplicationController", &["spec", "template", "spec"]),
        ("apps", "ReplicaSet", &["spec", "template", "spec"]),
        ("apps", "Deployment", &["spec", "template", "spec"]),
    ];
    for (group, kind, prefix) in pod_specs {
        let s = schema(group, kind);
        for (field, strategy, retain) in POD_SPEC {
            let path = [*prefix, &[*field]].concat();
            let meta = s.field(&path);
            assert_eq!(meta.strategy, *strategy, "{kind} {path:?}");
            assert_eq!(meta.retain_keys, *retain, "{kind} {path:?}");
        }
        for list in ["containers", "initContainers", "ephemeralContainers"] {
            for (field, strategy) in CONTAINER {
                let path = [*prefix, &[list, *field]].concat();
                assert_eq!(s.field(&path).strategy, *strategy, "{kind} {path:?}");
            }
        }
        let mut template_meta: Vec<&str> = prefix.to_vec();
        template_meta.pop();
        if !template_meta.is_empty() {
            template_meta.extend(["metadata", "finalizers"]);
            assert_eq!(
                s.field(&template_meta).strategy,
                SET,
                "{kind} {template_meta:?}"
            );
        }
    }

    let every_kind = [
        ("", "Namespace"),
        ("", "Pod"),
        ("", "Service"),
        ("", "Endpoints"),
        ("", "Node"),
        ("", "Event"),
        ("", "ConfigMap"),
        ("", "Secret"),
        ("", "ServiceAccount"),
        ("", "ReplicationController"),
        ("", "PodTemplate"),
        ("apps", "ReplicaSet"),
        ("apps", "Deployment"),
        ("coordination.k8s.io", "Lease"),
        ("discovery.k8s.io", "EndpointSlice"),
        ("events.k8s.io", "Event"),
        ("autoscaling", "Scale"),
    ];
    for (group, kind) in every_kind {
        let s = schema(group, kind);
        for (field, strategy) in METADATA {
            assert_eq!(
                s.field(&["metadata", field]).strategy,
                *strategy,
                "{kind} {field}"
            );
        }
    }

    // (kind, path, strategy, retainKeys)
    let others: &[(&str, &str, &[&str], Strategy, bool)] = &[
        ("", "Pod", &["status", "conditions"], by("type"), false),
        ("", "Pod", &["status", "podIPs"], by("ip"), false),
        ("", "Pod", &["status", "hostIPs"], by("ip"), false),
        (
            "",
            "Pod",
            &["status", "resourceClaimStatuses"],
            by("name"),
            true,
        ),
        (
            "",
            "Pod",
            &["status", "containerStatuses"],
            Strategy::Default,
            false,
        ),
        ("", "Service", &["spec", "ports"], by("port"), false),
        (
            "",
            "Service",
            &["spec", "externalIPs"],
            Strategy::Default,
            false,
        ),
        ("", "Service", &["status", "conditions"], by("type"), false),
        ("", "Node", &["spec", "podCIDRs"], SET, false),
        ("", "Node", &["spec", "taints"], Strategy::Default, false),
        ("", "Node", &["status", "conditions"], by("type"), false),
        ("", "Node", &["status", "addresses"], by("type"), false),
        ("", "Node", &["status", "images"], Strategy::Default, false),
        (
            "",
            "Namespace",
            &["spec", "finalizers"],
            Strategy::Default,
            false,
        ),
        (
            "",
            "Namespace",
            &["status", "conditions"],
            by("type"),
            false,
        ),
        ("", "ServiceAccount", &["secrets"], by("name"), false),
        (
            "",
            "ServiceAccount",
            &["imagePullSecrets"],
            Strategy::Default,
            false,
        ),
        (
            "",
            "ReplicationController",
            &["status", "conditions"],
            by("type"),
            false,
        ),
        (
            "apps",
            "ReplicaSet",
            &["status", "conditions"],
            by("type"),
            false,
        ),
        (
            "apps",
            "Deployment",
            &["status", "conditions"],
            by("type"),
            false,
        ),
        (
            "apps",
            "Deployment",
            &["spec", "strategy"],
            Strategy::Default,
            true,
        ),
        (
            "apps",
            "Deployment",
            &["spec", "selector", "matchExpressions"],
            Strategy::Default,
            false,
        ),
        ("", "Endpoints", &["subsets"], Strategy::Default, false),
        (
            "discovery.k8s.io",
            "EndpointSlice",
            &["endpoints"],
            Strategy::Default,
            false,
        ),
        ("", "ConfigMap", &["data"], Strategy::Default, false),
    ];
    for (group, kind, path, strategy, retain) in others {
        let meta = schema(group, kind).field(path);
        assert_eq!(meta.strategy, *strategy, "{kind} {path:?}");
        assert_eq!(meta.retain_keys, *retain, "{kind} {path:?}");
    }
}

#[test]
fn unknown_kinds_have_no_schema() {
    for (group, kind) in [
        ("stable.example.com", "CronTab"),
        ("apiextensions.k8s.io", "Widget"),
        ("", "Deployment"),
        ("apps", "Pod"),
    ] {
        assert!(
            PatchSchema::for_kind(group, kind).is_none(),
            "{group}/{kind}"
        );
    }
}

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "default",
            "labels": {"app": "web", "team": "a"},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
            "finalizers": ["example.com/a", "example.com/b"],
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": "nginx:1.25",
                            "ports": [{"containerPort": 80, "protocol": "TCP"}],
                            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                            "terminationMessagePath": "/dev/termination-log",
                        },
                        {"name": "sidecar", "image": "busybox"},
                    ],
                    "volumes": [{"name": "data", "emptyDir": {}}],
                    "tolerations": [{"key": "a", "operator": "Exists"}],
                    "restartPolicy": "Always",
                },
            },
        },
        "status": {
            "replicas": 2,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
            ],
        },
    })
}

fn apply_to_deployment(patch: Value) -> Value {
    strategic_merge(&deployment(), &patch, &schema("apps", "Deployment"))
        .unwrap_or_else(|e| panic!("patch {patch} failed: {e}"))
}

fn containers(out: &Value) -> &Value {
    &out["spec"]["template"]["spec"]["containers"]
}

#[test]
fn kubectl_apply_changes_an_image() {
    // What kubectl's client-side apply sends when only the image changed.
    let out = apply_to_deployment(json!({
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"new\":1}"}},
        "spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "app"}, {"name": "sidecar"}],
            "containers": [{"image": "nginx:1.27", "name": "app"}],
        }}},
    }));
    let app = &containers(&out)[0];
    assert_eq!(app["name"], "app");
    assert_eq!(app["image"], "nginx:1.27");
    // Fields kubectl did not send survive: server defaults and the other container.
    assert_eq!(app["terminationMessagePath"], "/dev/termination-log");
    assert_eq!(
        app["env"],
        deployment()["spec"]["template"]["spec"]["containers"][0]["env"]
    );
    assert_eq!(
        containers(&out)[1],
        json!({"name": "sidecar", "image": "busybox"})
    );
    assert_eq!(
        out["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"],
        "{\"new\":1}"
    );
    assert_eq!(out["spec"]["replicas"], 2);
}

#[test]
fn kubectl_apply_removes_an_env_var_and_reorders_containers() {
    let out = apply_to_deployment(json!({
        "spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}],
            "containers": [{
                "$setElementOrder/env": [{"name": "A"}],
                "env": [{"$patch": "delete", "name": "B"}],
                "name": "app",
            }],
        }}},
    }));
    let names: Vec<&Value> = containers(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["name"])
        .collect();
    assert_eq!(names, [&json!("sidecar"), &json!("app")]);
    assert_eq!(
        containers(&out)[1]["env"],
        json!([{"name": "A", "value": "1"}])
    );
    assert_eq!(containers(&out)[1]["image"], "nginx:1.25");
}

#[test]
fn kubectl_apply_adds_a_container_port_and_env() {
    let out = apply_to_deployment(json!({
        "spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "app"}, {"name": "sidecar"}],
            "containers": [{
                "$setElementOrder/env": [{"name": "A"}, {"name": "C"}, {"name": "B"}],
                "$setElementOrder/ports": [{"containerPort": 80}, {"containerPort": 443}],
                "env": [{"name": "C", "value": "3"}],
                "ports": [{"containerPort": 443, "protocol": "TCP"}],
                "name": "app",
            }],
        }}},
    }));
    let app = &containers(&out)[0];
    assert_eq!(
        app["ports"],
        json!([{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443, "protocol": "TCP"}])
    );
    assert_eq!(
        app["env"],
        json!([{"name": "A", "value": "1"}, {"name": "C", "value": "3"}, {"name": "B", "value": "2"}])
    );
}

#[test]
fn kubectl_set_image_and_rollout_pause_resume() {
    // kubectl set image sends the container by name only.
    let out = apply_to_deployment(json!({
        "spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "busybox:1.36"}]}}},
    }));
    assert_eq!(containers(&out)[1]["image"], "busybox:1.36");
    assert_eq!(containers(&out)[0]["image"], "nginx:1.25");
    assert_eq!(containers(&out).as_array().unwrap().len(), 2);

    let paused = apply_to_deployment(json!({"spec": {"paused": true}}));
    assert_eq!(paused["spec"]["paused"], true);
    let resumed = strategic_merge(
        &paused,
        &json!({"spec": {"paused": null}}),
        &schema("apps", "Deployment"),
    )
    .unwrap();
    assert!(resumed["spec"].get("paused").is_none());
    assert_eq!(resumed, deployment());

    // kubectl rollout restart.
    let restarted = apply_to_deployment(json!({"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": "2024-01-01T00:00:00Z"
    }}}}}));
    assert_eq!(
        restarted["spec"]["template"]["metadata"],
        json!({"labels": {"app": "web"}, "annotations": {"kubectl.kubernetes.io/restartedAt": "2024-01-01T00:00:00Z"}})
    );
}

#[test]
fn labels_and_finalizers() {
    // kubectl label app- (the Python client sends the same as strategic merge patch).
    let out = apply_to_deployment(json!({"metadata": {"labels": {"team": null, "env": "prod"}}}));
    assert_eq!(
        out["metadata"]["labels"],
        json!({"app": "web", "env": "prod"})
    );

    // Finalizers are a set: adding one keeps the others. Without $setElementOrder, items
    // new to the list come before the live ones that the patch does not name.
    let out = apply_to_deployment(
        json!({"metadata": {"finalizers": ["example.com/c", "example.com/a"]}}),
    );
    assert_eq!(
        out["metadata"]["finalizers"],
        json!(["example.com/c", "example.com/a", "example.com/b"])
    );

    // kubectl apply removing a finalizer.
    let out = apply_to_deployment(json!({"metadata": {
        "$setElementOrder/finalizers": ["example.com/b"],
        "$deleteFromPrimitiveList/finalizers": ["example.com/a"],
    }}));
    assert_eq!(out["metadata"]["finalizers"], json!(["example.com/b"]));

    // Removing the last finalizer leaves an empty list.
    let out = apply_to_deployment(json!({"metadata": {
        "$deleteFromPrimitiveList/finalizers": ["example.com/a", "example.com/b"],
    }}));
    assert_eq!(out["metadata"]["finalizers"], json!([]));

    // Or drop the field.
    let out = apply_to_deployment(json!({"metadata": {"finalizers": null}}));
    assert!(out["metadata"].get("finalizers").is_none());
}

#[test]
fn owner_references_merge_by_uid() {
    let pod = json!({"metadata": {"name": "p", "ownerReferences": [
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "u1", "controller": true},
    ]}});
    let out = strategic_merge(
        &pod,
        &json!({"metadata": {"ownerReferences": [
            {"apiVersion": "v1", "kind": "Node", "name": "n", "uid": "u2"},
            {"uid": "u1", "controller": null, "blockOwnerDeletion": true},
        ]}}),
        &schema("", "Pod"),
    )
    .unwrap();
    assert_eq!(
        out["metadata"]["ownerReferences"],
        json!([
            {"apiVersion": "v1", "kind": "Node", "name": "n", "uid": "u2"},
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "u1", "blockOwnerDeletion": true},
        ])
    );
}

#[test]
fn patch_replace_and_atomic_lists() {
    // $patch: replace swaps the whole container list.
    let out = apply_to_deployment(json!({"spec": {"template": {"spec": {"containers": [
        {"name": "only", "image": "alpine"},
        {"$patch": "replace"},
    ]}}}}));
    assert_eq!(
        containers(&out),
        &json!([{"name": "only", "image": "alpine"}])
    );

    // Tolerations have no strategy: the patch's list replaces the live one.
    let out = apply_to_deployment(json!({"spec": {"template": {"spec": {"tolerations": [
        {"key": "b", "operator": "Exists"},
    ]}}}}));
    assert_eq!(
        out["spec"]["template"]["spec"]["tolerations"],
        json!([{"key": "b", "operator": "Exists"}])
    );
}

#[test]
fn deployment_strategy_retain_keys() {
    // kubectl apply switching RollingUpdate to Recreate.
    let out = apply_to_deployment(json!({"spec": {"strategy": {
        "$retainKeys": ["type"],
        "rollingUpdate": null,
        "type": "Recreate",
    }}}));
    assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));

    // Without $retainKeys the old rollingUpdate would stay.
    let out = apply_to_deployment(json!({"spec": {"strategy": {"type": "Recreate"}}}));
    assert_eq!(out["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
}

#[test]
fn volume_source_switch_with_retain_keys() {
    let out = apply_to_deployment(json!({"spec": {"template": {"spec": {
        "$setElementOrder/volumes": [{"name": "data"}],
        "volumes": [{"$retainKeys": ["configMap", "name"], "configMap": {"name": "cfg"}, "name": "data"}],
    }}}}));
    assert_eq!(
        out["spec"]["template"]["spec"]["volumes"],
        json!([{"name": "data", "configMap": {"name": "cfg"}}])
    );
}

#[test]
fn status_conditions_merge_by_type() {
    let out = apply_to_deployment(json!({"status": {"conditions": [
        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"},
        {"type": "ReplicaFailure", "status": "True"},
    ]}}));
    assert_eq!(
        out["status"]["conditions"],
        json!([
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
            {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"},
            {"type": "ReplicaFailure", "status": "True"},
        ])
    );

    // The kubelet's pod status patch.
    let pod = json!({"status": {"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "True"},
    ]}});
    let out = strategic_merge(
        &pod,
        &json!({"status": {
            "$setElementOrder/conditions": [{"type": "PodScheduled"}, {"type": "Initialized"}, {"type": "Ready"}],
            "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "False"}],
            "phase": "Running",
            "podIP": "10.0.0.5",
            "podIPs": [{"ip": "10.0.0.5"}],
        }}),
        &schema("", "Pod"),
    )
    .unwrap();
    assert_eq!(
        out["status"],
        json!({"phase": "Running", "conditions": [
            {"type": "PodScheduled", "status": "True"},
            {"type": "Initialized", "status": "True"},
            {"type": "Ready", "status": "False"},
        ], "podIP": "10.0.0.5", "podIPs": [{"ip": "10.0.0.5"}]})
    );
}

#[test]
fn node_status_patch() {
    let node = json!({"status": {
        "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}, {"type": "Hostname", "address": "n1"}],
        "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "t1"}],
        "images": [{"names": ["a"]}],
    }});
    let out = strategic_merge(
        &node,
        &json!({"status": {
            "conditions": [{"type": "Ready", "lastHeartbeatTime": "t2"}],
            "addresses": [{"type": "InternalIP", "address": "10.0.0.2"}],
            "images": [{"names": ["b"]}],
        }}),
        &schema("", "Node"),
    )
    .unwrap();
    assert_eq!(
        out["status"],
        json!({
            "addresses": [{"type": "InternalIP", "address": "10.0.0.2"}, {"type": "Hostname", "address": "n1"}],
            "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "t2"}],
            "images": [{"names": ["b"]}],
        })
    );
}

#[test]
fn service_ports_merge_by_port() {
    let svc = json!({"spec": {"type": "ClusterIP", "ports": [
        {"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"},
        {"name": "metrics", "port": 9090, "protocol": "TCP"},
    ]}});
    let out = strategic_merge(
        &svc,
        &json!({"spec": {"ports": [
            {"port": 80, "targetPort": 8081},
            {"name": "https", "port": 443, "targetPort": 8443},
        ]}}),
        &schema("", "Service"),
    )
    .unwrap();
    assert_eq!(
        out["spec"]["ports"],
        json!([
            {"name": "http", "port": 80, "targetPort": 8081, "protocol": "TCP"},
            {"name": "https", "port": 443, "targetPort": 8443},
            {"name": "metrics", "port": 9090, "protocol": "TCP"},
        ])
    );
}

#[test]
fn scale_and_configmap_patches_from_the_python_client() {
    let scale = json!({"kind": "Scale", "spec": {"replicas": 1}, "status": {"replicas": 1, "selector": "app=web"}});
    let out = strategic_merge(
        &scale,
        &json!({"spec": {"replicas": 5}}),
        &schema("autoscaling", "Scale"),
    )
    .unwrap();
    assert_eq!(out["spec"]["replicas"], 5);

    let cm = json!({"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}});
    let out = strategic_merge(
        &cm,
        &json!({"data": {"a": null, "c": "3"}}),
        &schema("", "ConfigMap"),
    )
    .unwrap();
    assert_eq!(out["data"], json!({"b": "2", "c": "3"}));
}

#[test]
fn missing_merge_key_is_reported_as_upstream() {
    let err = strategic_merge(
        &deployment(),
        &json!({"spec": {"template": {"spec": {"containers": [{"image": "nginx"}]}}}}),
        &schema("apps", "Deployment"),
    )
    .unwrap_err();
    assert_eq!(
        err,
        PatchError::Rejected(
            "map: map[image:nginx] does not contain declared merge key: name".into()
        )
    );
}
