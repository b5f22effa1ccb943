"""A Kopf operator, unchanged, against ferrokube's API server (etcd and embedded store).

`kopf run` (not standalone: with an explicit KopfPeering, so it uses its peering CRD) handles
create, update and delete of a custom resource and patches its status. Kopf needs watches
with resourceVersion, merge patches of objects and their status, events, and the discovery
of CRD-served kinds. Everything is bounded in time; the operator is killed by PID.
"""

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from kubernetes import client

T = 10  # seconds: _request_timeout of every call
WAIT = 40.0  # seconds for the operator to react

GROUP = "example.com"

WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "kopfwidgets.example.com"},
    "spec": {
        "group": GROUP,
        "scope": "Namespaced",
        "names": {"plural": "kopfwidgets", "singular": "kopfwidget", "kind": "KopfWidget"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "properties": {"size": {"type": "string"}},
                            },
                            "status": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                            },
                        },
                    }
                },
            }
        ],
    },
}

# Kopf's own peering CRD (as its documentation ships it).
PEERING_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "kopfpeerings.kopf.dev"},
    "spec": {
        "group": "kopf.dev",
        "scope": "Namespaced",
        "names": {"plural": "kopfpeerings", "singular": "kopfpeering", "kind": "KopfPeering"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "status": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                            }
                        },
                    }
                },
            }
        ],
    },
}

OPERATOR = textwrap.dedent(
    """
    import os
    import kopf

    EVIDENCE = os.environ["KOPF_TEST_EVIDENCE"]

    @kopf.on.create("example.com", "v1", "kopfwidgets")
    def created(body, spec, patch, **_):
        kopf.info(body, reason="Created", message="the widget was seen")
        patch.status["phase"] = "Created"
        patch.status["seenSize"] = spec.get("size")

    @kopf.on.update("example.com", "v1", "kopfwidgets")
    def updated(spec, patch, **_):
        patch.status["phase"] = "Updated"
        patch.status["seenSize"] = spec.get("size")

    @kopf.on.delete("example.com", "v1", "kopfwidgets")
    def deleted(name, **_):
        with open(EVIDENCE, "a") as f:
            f.write(f"deleted {name}\\n")
    """
)


def kopf_binary() -> Path:
    exe = Path(sys.executable).with_name("kopf")
    if not exe.exists():
        pytest.skip("kopf is not installed in this Python environment (scripts/install-deps.sh --test)")
    return exe


def wait_for(what, fn, timeout=WAIT):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except client.ApiException as e:
            last = e
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last: {last}")


def ensure_crd(ext, body):
    try:
        ext.create_custom_resource_definition(body, _request_timeout=T)
    except client.ApiException as e:
        if e.status != 409:
            raise

    def established():
        crd = ext.read_custom_resource_definition(body["metadata"]["name"], _request_timeout=T)
        conds = (crd.status and crd.status.conditions) or []
        return any(c.type == "Established" and c.status == "True" for c in conds)

    wait_for(f"{body['metadata']['name']} Established", established)


def test_kopf_operator_handles_create_update_delete(cluster, ns, tmp_path):
    exe = kopf_binary()
    ext = client.ApiextensionsV1Api(cluster.api_client)
    custom = client.CustomObjectsApi(cluster.api_client)
    ensure_crd(ext, PEERING_CRD)
    ensure_crd(ext, WIDGET_CRD)
    custom.create_namespaced_custom_object(
        "kopf.dev", "v1", ns, "kopfpeerings",
        {"apiVersion": "kopf.dev/v1", "kind": "KopfPeering", "metadata": {"name": "default"}},
        _request_timeout=T,
    )

    operator = tmp_path / "operator.py"
    operator.write_text(OPERATOR)
    evidence = tmp_path / "evidence.txt"
    log_path = tmp_path / "kopf.log"
    env = dict(os.environ, KUBECONFIG=cluster.kubeconfig, KOPF_TEST_EVIDENCE=str(evidence))
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(exe), "run", "--namespace", ns, "--peering", "default", "--verbose", str(operator)],
            env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        def log_tail():
            return "\n".join(log_path.read_text(errors="replace").splitlines()[-40:])

        def status():
            obj = custom.get_namespaced_custom_object(GROUP, "v1", ns, "kopfwidgets", "w1", _request_timeout=T)
            return obj.get("status") or {}

        custom.create_namespaced_custom_object(
            GROUP, "v1", ns, "kopfwidgets",
            {"apiVersion": "example.com/v1", "kind": "KopfWidget", "metadata": {"name": "w1"},
             "spec": {"size": "small"}},
            _request_timeout=T,
        )
        try:
            wait_for("status Created", lambda: status().get("phase") == "Created")
        except AssertionError as e:
            raise AssertionError(f"{e}\nkopf log:\n{log_tail()}") from None
        assert status()["seenSize"] == "small"
        obj = custom.get_namespaced_custom_object(GROUP, "v1", ns, "kopfwidgets", "w1", _request_timeout=T)
        assert any(f.startswith("kopf.zalando.org/") for f in obj["metadata"].get("finalizers", [])), obj

        custom.patch_namespaced_custom_object(
            GROUP, "v1", ns, "kopfwidgets", "w1", {"spec": {"size": "large"}}, _request_timeout=T
        )
        try:
            wait_for("status Updated", lambda: status().get("phase") == "Updated")
        except AssertionError as e:
            raise AssertionError(f"{e}\nkopf log:\n{log_tail()}") from None
        assert status()["seenSize"] == "large"

        # Kopf announces itself in its peering object while it runs.
        peering = custom.get_namespaced_custom_object("kopf.dev", "v1", ns, "kopfpeerings", "default", _request_timeout=T)
        assert peering.get("status"), f"no peers in {peering}\nkopf log:\n{log_tail()}"

        custom.delete_namespaced_custom_object(GROUP, "v1", ns, "kopfwidgets", "w1", _request_timeout=T)

        def gone():
            try:
                custom.get_namespaced_custom_object(GROUP, "v1", ns, "kopfwidgets", "w1", _request_timeout=T)
                return False
            except client.ApiException as e:
                return e.status == 404

        try:
            wait_for("w1 deleted after its delete handler", gone)
        except AssertionError as e:
            raise AssertionError(f"{e}\nkopf log:\n{log_tail()}") from None
        assert "deleted w1" in evidence.read_text()

        def posted():
            events = cluster.core.list_namespaced_event(ns, _request_timeout=T)
            return any(
                e.involved_object.name == "w1" and e.reason == "Created" for e in events.items
            )

        try:
            wait_for("Kopf's event about w1", posted, timeout=10)
        except AssertionError as e:
            raise AssertionError(f"{e}\nkopf log:\n{log_tail()}") from None
    finally:
        if proc.poll() is None:
            proc.kill()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
