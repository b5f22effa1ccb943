"""Server-side apply with the official `kubernetes` Python client (dynamic client's
`server_side_apply`, and typed PATCH calls with `application/apply-patch+yaml`) against
ferrokube, on etcd and on the embedded store. Also the managedFields every write records."""

import json

import pytest
from kubernetes import client
from kubernetes.dynamic import DynamicClient

T = 10  # seconds: _request_timeout of every call


@pytest.fixture(scope="module")
def dyn(cluster):
    return DynamicClient(cluster.api_client)


def deployment(ns, replicas, image="nginx:1.25"):
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": ns, "labels": {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "nginx", "image": image}]},
            },
        },
    }


def entries(obj):
    """(manager, operation, fieldsV1) of each managedFields entry."""
    meta = obj["metadata"] if isinstance(obj, dict) else obj.metadata
    fields = meta.get("managedFields") if isinstance(meta, dict) else meta.managedFields
    return [(e["manager"], e["operation"], e["fieldsV1"]) for e in (fields or [])]


def test_apply_creates_and_records_the_applier(dyn, ns):
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    created = dyn.server_side_apply(
        deployments, body=deployment(ns, 2), namespace=ns, field_manager="py-ssa",
        _request_timeout=T,
    ).to_dict()
    assert created["spec"]["replicas"] == 2
    assert created["metadata"]["uid"]
    managers = entries(created)
    assert [(m, op) for m, op, _ in managers] == [("py-ssa", "Apply")]
    fields = managers[0][2]
    assert "f:replicas" in fields["f:spec"]
    assert 'k:{"name":"nginx"}' in fields["f:spec"]["f:template"]["f:spec"]["f:containers"]
    # Re-applying the same configuration changes nothing.
    again = dyn.server_side_apply(
        deployments, body=deployment(ns, 2), namespace=ns, field_manager="py-ssa",
        _request_timeout=T,
    ).to_dict()
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


def test_conflicts_and_force(dyn, ns):
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    dyn.server_side_apply(
        deployments, body=deployment(ns, 2), namespace=ns, field_manager="team-a",
        _request_timeout=T,
    )
    with pytest.raises(client.ApiException) as exc:
        dyn.server_side_apply(
            deployments, body=deployment(ns, 3), namespace=ns, field_manager="team-b",
            _request_timeout=T,
        )
    assert exc.value.status == 409
    body = json.loads(exc.value.body)
    assert body["reason"] == "Conflict"
    assert body["message"] == (
        'Apply failed with 1 conflict: conflict with "team-a": .spec.replicas'
    )
    assert body["details"]["causes"] == [
        {
            "reason": "FieldManagerConflict",
            "message": 'conflict with "team-a"',
            "field": ".spec.replicas",
        }
    ]
    forced = dyn.server_side_apply(
        deployments, body=deployment(ns, 3), namespace=ns, field_manager="team-b",
        force_conflicts=True, _request_timeout=T,
    ).to_dict()
    assert forced["spec"]["replicas"] == 3
    owners = {m: f for m, _, f in entries(forced)}
    assert "f:replicas" in owners["team-b"]["f:spec"]
    assert "f:replicas" not in owners["team-a"]["f:spec"]


def test_apply_requires_a_field_manager(dyn, ns):
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    with pytest.raises(client.ApiException) as exc:
        dyn.server_side_apply(deployments, body=deployment(ns, 1), namespace=ns, _request_timeout=T)
    assert exc.value.status == 422
    body = json.loads(exc.value.body)
    assert "fieldManager: Required value" in body["message"], body


def test_typed_patch_with_apply_content_type(cluster, ns):
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "applied"},
        "data": {"a": "1", "b": "2"},
    }
    cm = cluster.core.patch_namespaced_config_map(
        "applied", ns, body, field_manager="py-typed",
        _content_type="application/apply-patch+yaml", _request_timeout=T,
    )
    assert cm.data == {"a": "1", "b": "2"}
    # Dropping a key from the configuration removes it (nobody else owns it).
    body["data"] = {"b": "3"}
    cm = cluster.core.patch_namespaced_config_map(
        "applied", ns, body, field_manager="py-typed",
        _content_type="application/apply-patch+yaml", _request_timeout=T,
    )
    assert cm.data == {"b": "3"}
    assert [(e.manager, e.operation) for e in cm.metadata.managed_fields] == [
        ("py-typed", "Apply")
    ]


def test_updates_record_the_user_agent_as_manager(cluster, ns):
    created = cluster.core.create_namespaced_config_map(
        ns,
        client.V1ConfigMap(metadata=client.V1ObjectMeta(name="tracked"), data={"k": "v"}),
        _request_timeout=T,
    )
    (entry,) = created.metadata.managed_fields
    # The Python client's User-Agent is "OpenAPI-Generator/<version>/python".
    assert entry.manager == "OpenAPI-Generator"
    assert entry.operation == "Update"
    assert entry.api_version == "v1"
    assert entry.fields_type == "FieldsV1"
    assert entry.fields_v1 == {"f:data": {".": {}, "f:k": {}}}
    patched = cluster.core.patch_namespaced_config_map(
        "tracked", ns, {"data": {"k2": "v2"}}, field_manager="py-patcher", _request_timeout=T,
    )
    managers = {e.manager: e.fields_v1 for e in patched.metadata.managed_fields}
    assert managers["py-patcher"] == {"f:data": {"f:k2": {}}}
    assert managers["OpenAPI-Generator"] == {"f:data": {".": {}, "f:k": {}}}
