"""The official `kubernetes` Python client against ferrokube's API server, on etcd and on the
embedded store (the `cluster` fixture is parametrized over both). Every call is bounded by
`_request_timeout`, every watch by `timeout_seconds`."""

import json

import pytest
from kubernetes import client, watch

T = 10  # seconds: _request_timeout of every call


def configmap(name, data=None, labels=None):
    return client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        data=data or {},
    )


def deployment(name, replicas=None):
    labels = {"app": name}
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1DeploymentSpec(
            replicas=replicas,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(
                    containers=[
                        client.V1Container(
                            name="nginx",
                            image="nginx:1.25",
                            ports=[client.V1ContainerPort(container_port=80)],
                        )
                    ]
                ),
            ),
        ),
    )


def status_body(exc: client.ApiException) -> dict:
    body = json.loads(exc.body)
    assert body["kind"] == "Status", body
    assert body["code"] == exc.status, body
    return body


def test_create_configmap(cluster, ns):
    created = cluster.core.create_namespaced_config_map(
        ns, configmap("cfg", {"k": "v"}), _request_timeout=T
    )
    assert created.metadata.name == "cfg"
    assert created.metadata.namespace == ns
    assert created.metadata.uid
    assert created.metadata.creation_timestamp is not None
    assert int(created.metadata.resource_version) > 0
    got = cluster.core.read_namespaced_config_map("cfg", ns, _request_timeout=T)
    assert got.data == {"k": "v"}
    assert got.metadata.uid == created.metadata.uid
    assert got.metadata.resource_version == created.metadata.resource_version


def test_create_deployment_with_defaults(cluster, ns):
    created = cluster.apps.create_namespaced_deployment(ns, deployment("web"), _request_timeout=T)
    assert created.metadata.generation == 1
    spec = created.spec
    assert spec.replicas == 1
    assert spec.strategy.type == "RollingUpdate"
    assert spec.strategy.rolling_update.max_surge == "25%"
    assert spec.strategy.rolling_update.max_unavailable == "25%"
    assert spec.revision_history_limit == 10
    assert spec.progress_deadline_seconds == 600
    pod = spec.template.spec
    assert pod.restart_policy == "Always"
    assert pod.dns_policy == "ClusterFirst"
    assert pod.scheduler_name == "default-scheduler"
    assert pod.containers[0].image_pull_policy == "IfNotPresent"
    listed = cluster.apps.list_namespaced_deployment(ns, _request_timeout=T)
    assert [d.metadata.name for d in listed.items] == ["web"]
    assert listed.metadata.resource_version


def test_already_exists_is_409(cluster, ns):
    cluster.core.create_namespaced_config_map(ns, configmap("dup"), _request_timeout=T)
    with pytest.raises(client.ApiException) as e:
        cluster.core.create_namespaced_config_map(ns, configmap("dup"), _request_timeout=T)
    assert e.value.status == 409
    body = status_body(e.value)
    assert body["reason"] == "AlreadyExists"
    assert body["message"] == 'configmaps "dup" already exists'


def test_list_with_limit_and_continue(cluster, ns):
    want = {f"cm-{i}" for i in range(5)}
    for name in sorted(want):
        cluster.core.create_namespaced_config_map(ns, configmap(name), _request_timeout=T)
    seen = []
    token = None
    pages = 0
    while True:
        kwargs = {"limit": 2, "_request_timeout": T}
        if token:
            kwargs["_continue"] = token
        page = cluster.core.list_namespaced_config_map(ns, **kwargs)
        pages += 1
        assert len(page.items) <= 2
        seen.extend(cm.metadata.name for cm in page.items)
        if pages == 1:
            assert page.metadata.remaining_item_count == 3
        token = page.metadata._continue
        if not token:
            break
        assert pages < 10, seen
    assert pages == 3, seen
    assert len(seen) == len(set(seen)) == 5, seen
    assert set(seen) == want
    # Without a limit: everything in one list.
    full = cluster.core.list_namespaced_config_map(ns, _request_timeout=T)
    assert {cm.metadata.name for cm in full.items} == want
    assert not full.metadata._continue


def test_watch_from_resource_version(cluster, ns):
    rv = cluster.core.list_namespaced_config_map(ns, _request_timeout=T).metadata.resource_version
    created = cluster.core.create_namespaced_config_map(ns, configmap("w", {"n": "0"}), _request_timeout=T)
    patched = cluster.core.patch_namespaced_config_map(
        "w", ns, {"data": {"n": "1"}}, _request_timeout=T
    )
    cluster.core.delete_namespaced_config_map("w", ns, _request_timeout=T)

    events = []
    w = watch.Watch()
    for ev in w.stream(
        cluster.core.list_namespaced_config_map,
        ns,
        resource_version=rv,
        timeout_seconds=5,
        _request_timeout=15,
    ):
        if ev["type"] == "BOOKMARK" or ev["object"].metadata.name != "w":
            continue
        events.append((ev["type"], ev["object"].metadata.resource_version, ev["object"].data))
        if len(events) == 3:
            w.stop()
    assert [e[0] for e in events] == ["ADDED", "MODIFIED", "DELETED"], events
    assert events[0][1] == created.metadata.resource_version
    assert events[1][1] == patched.metadata.resource_version
    assert events[1][2] == {"n": "1"}
    assert int(events[2][1]) > int(events[1][1])


def test_watch_sees_live_changes(cluster, ns):
    """A watch without a resourceVersion: existing objects as ADDED, then live events."""
    cluster.core.create_namespaced_config_map(ns, configmap("before"), _request_timeout=T)
    w = watch.Watch()
    seen = []
    for ev in w.stream(
        cluster.core.list_namespaced_config_map, ns, timeout_seconds=5, _request_timeout=15
    ):
        if ev["object"].metadata.name not in ("before", "live"):
            continue
        seen.append((ev["type"], ev["object"].metadata.name))
        if seen == [("ADDED", "before")]:
            cluster.core.create_namespaced_config_map(ns, configmap("live"), _request_timeout=T)
        if ("ADDED", "live") in seen:
            w.stop()
    assert seen == [("ADDED", "before"), ("ADDED", "live")], seen


def test_strategic_merge_patch_labels(cluster, ns):
    cluster.core.create_namespaced_config_map(
        ns, configmap("p", {"a": "1"}, labels={"keep": "yes"}), _request_timeout=T
    )
    # The client sends dict bodies as application/strategic-merge-patch+json.
    patched = cluster.core.patch_namespaced_config_map(
        "p", ns, {"metadata": {"labels": {"tier": "db"}}}, _request_timeout=T
    )
    assert patched.metadata.labels == {"keep": "yes", "tier": "db"}
    assert patched.data == {"a": "1"}
    # null deletes a key.
    patched = cluster.core.patch_namespaced_config_map(
        "p", ns, {"metadata": {"labels": {"keep": None}}}, _request_timeout=T
    )
    assert patched.metadata.labels == {"tier": "db"}
    # Label selectors see the result.
    sel = cluster.core.list_namespaced_config_map(ns, label_selector="tier=db", _request_timeout=T)
    assert [c.metadata.name for c in sel.items] == ["p"]
    # A list body is sent as a JSON patch.
    patched = cluster.core.patch_namespaced_config_map(
        "p", ns, [{"op": "add", "path": "/data/b", "value": "2"}], _request_timeout=T
    )
    assert patched.data == {"a": "1", "b": "2"}


def test_strategic_merge_patch_deployment_containers(cluster, ns):
    cluster.apps.create_namespaced_deployment(ns, deployment("web"), _request_timeout=T)
    body = {"spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.26"}]}}}}
    patched = cluster.apps.patch_namespaced_deployment("web", ns, body, _request_timeout=T)
    containers = patched.spec.template.spec.containers
    assert len(containers) == 1
    assert containers[0].image == "nginx:1.26"
    # Merged by name: the ports of the container are kept.
    assert containers[0].ports[0].container_port == 80
    assert patched.metadata.generation == 2


def test_scale_subresource(cluster, ns):
    cluster.apps.create_namespaced_deployment(ns, deployment("web", replicas=2), _request_timeout=T)
    scale = cluster.apps.read_namespaced_deployment_scale("web", ns, _request_timeout=T)
    assert scale.kind == "Scale"
    assert scale.api_version == "autoscaling/v1"
    assert scale.spec.replicas == 2
    assert scale.status.selector == "app=web"
    assert scale.metadata.name == "web"
    # patch_* sends the dict as a strategic merge patch, on /scale too.
    scaled = cluster.apps.patch_namespaced_deployment_scale(
        "web", ns, {"spec": {"replicas": 3}}, _request_timeout=T
    )
    assert scaled.spec.replicas == 3
    d = cluster.apps.read_namespaced_deployment("web", ns, _request_timeout=T)
    assert d.spec.replicas == 3
    assert d.metadata.generation == 2
    # replace on /scale.
    scale = cluster.apps.read_namespaced_deployment_scale("web", ns, _request_timeout=T)
    scale.spec.replicas = 5
    cluster.apps.replace_namespaced_deployment_scale("web", ns, scale, _request_timeout=T)
    assert cluster.apps.read_namespaced_deployment("web", ns, _request_timeout=T).spec.replicas == 5
    # Scale of a missing deployment.
    with pytest.raises(client.ApiException) as e:
        cluster.apps.read_namespaced_deployment_scale("missing", ns, _request_timeout=T)
    assert e.value.status == 404


def test_delete(cluster, ns):
    cluster.core.create_namespaced_config_map(ns, configmap("gone"), _request_timeout=T)
    cluster.core.delete_namespaced_config_map("gone", ns, _request_timeout=T)
    with pytest.raises(client.ApiException) as e:
        cluster.core.read_namespaced_config_map("gone", ns, _request_timeout=T)
    assert e.value.status == 404
    cluster.apps.create_namespaced_deployment(ns, deployment("web"), _request_timeout=T)
    cluster.apps.delete_namespaced_deployment(
        "web", ns, propagation_policy="Background", _request_timeout=T
    )
    assert cluster.apps.list_namespaced_deployment(ns, _request_timeout=T).items == []
    # Deleting again: 404.
    with pytest.raises(client.ApiException) as e:
        cluster.apps.delete_namespaced_deployment("web", ns, _request_timeout=T)
    assert e.value.status == 404


def test_missing_object_is_404(cluster, ns):
    with pytest.raises(client.ApiException) as e:
        cluster.core.read_namespaced_config_map("missing", ns, _request_timeout=T)
    assert e.value.status == 404
    body = status_body(e.value)
    assert body["reason"] == "NotFound"
    assert body["message"] == 'configmaps "missing" not found'
    assert body["details"] == {"name": "missing", "kind": "configmaps"}
    with pytest.raises(client.ApiException) as e:
        cluster.apps.read_namespaced_deployment("missing", ns, _request_timeout=T)
    assert e.value.status == 404
    assert status_body(e.value)["message"] == 'deployments.apps "missing" not found'


def test_stale_update_is_409(cluster, ns):
    original = cluster.core.create_namespaced_config_map(
        ns, configmap("c", {"v": "0"}), _request_timeout=T
    )
    fresh = cluster.core.read_namespaced_config_map("c", ns, _request_timeout=T)
    fresh.data = {"v": "1"}
    updated = cluster.core.replace_namespaced_config_map("c", ns, fresh, _request_timeout=T)
    assert int(updated.metadata.resource_version) > int(original.metadata.resource_version)
    original.data = {"v": "stale"}
    with pytest.raises(client.ApiException) as e:
        cluster.core.replace_namespaced_config_map("c", ns, original, _request_timeout=T)
    assert e.value.status == 409
    body = status_body(e.value)
    assert body["reason"] == "Conflict"
    assert "the object has been modified" in body["message"]
    assert cluster.core.read_namespaced_config_map("c", ns, _request_timeout=T).data == {"v": "1"}


def test_namespace_must_exist(cluster):
    with pytest.raises(client.ApiException) as e:
        cluster.core.create_namespaced_config_map(
            "no-such-namespace", configmap("x"), _request_timeout=T
        )
    assert e.value.status == 404
    body = status_body(e.value)
    assert body["reason"] == "NotFound"
    assert body["message"] == 'namespaces "no-such-namespace" not found'


def test_invalid_name_is_422(cluster, ns):
    with pytest.raises(client.ApiException) as e:
        cluster.core.create_namespaced_config_map(ns, configmap("Bad_Name"), _request_timeout=T)
    assert e.value.status == 422
    body = status_body(e.value)
    assert body["reason"] == "Invalid"
    assert body["details"]["causes"][0]["field"] == "metadata.name"


def test_bootstrap_objects(cluster):
    names = {n.metadata.name for n in cluster.core.list_namespace(_request_timeout=T).items}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names
    svc = cluster.core.read_namespaced_service("kubernetes", "default", _request_timeout=T)
    assert svc.spec.ports[0].port == 443


def test_version_api(cluster):
    # VersionApi asks for /version/ (with the slash).
    version = client.VersionApi(cluster.api_client).get_code(_request_timeout=T)
    assert version.major == "1"
    assert version.git_version.startswith("v1.")
