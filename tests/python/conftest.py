"""Fixtures for the Python-client compatibility tests.

`cluster` starts a real API server (the `apiserver` binary) on a real etcd (temporary data dir,
free loopback ports) or on the embedded store, waits for the kubeconfig it writes once ready,
and gives the tests official `kubernetes` client APIs configured from that kubeconfig. Each
backend gets its own server per test module; each test gets its own namespace (`ns`).
Everything is bounded in time and killed by PID at the end; temp dirs are removed.

Binaries: $FERROKUBE_BIN_DIR, else $CARGO_TARGET_DIR/release, else <repo>/target/release.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from kubernetes import client, config

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0  # seconds for etcd / the API server to become ready
STOP_TIMEOUT = 10.0
START_ATTEMPTS = 3  # a free port can be taken before the process binds it
REQUEST_TIMEOUT = 10  # seconds, passed as _request_timeout on every call


def bin_dir() -> Path:
    if os.environ.get("FERROKUBE_BIN_DIR"):
        return Path(os.environ["FERROKUBE_BIN_DIR"])
    if os.environ.get("CARGO_TARGET_DIR"):
        return Path(os.environ["CARGO_TARGET_DIR"]) / "release"
    return REPO / "target" / "release"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL by PID and reap, bounded."""
    if proc.poll() is None:
        proc.kill()
    try:
        proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pass


class Etcd:
    def __init__(self, workdir: Path):
        self.dir = workdir
        self.proc = None
        self.endpoint = None
        last = None
        for _ in range(START_ATTEMPTS):
            try:
                self._start()
                return
            except RuntimeError as e:
                last = e
        raise RuntimeError(f"etcd did not start: {last}")

    def _start(self):
        client_port, peer_port = free_port(), free_port()
        client_url = f"http://127.0.0.1:{client_port}"
        peer_url = f"http://127.0.0.1:{peer_port}"
        data = self.dir / f"etcd-data-{client_port}"
        log_path = self.dir / "etcd.log"
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    "etcd",
                    "--name=test",
                    f"--data-dir={data}",
                    f"--listen-client-urls={client_url}",
                    f"--advertise-client-urls={client_url}",
                    f"--listen-peer-urls={peer_url}",
                    f"--initial-advertise-peer-urls={peer_url}",
                    f"--initial-cluster=test={peer_url}",
                    "--initial-cluster-state=new",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"etcd exited with {self.proc.returncode}: {log_tail(log_path)}")
            try:
                with urllib.request.urlopen(f"{client_url}/health", timeout=2) as resp:
                    if b'"health":"true"' in resp.read():
                        self.endpoint = client_url
                        return
            except OSError:
                pass
            time.sleep(0.05)
        kill(self.proc)
        raise RuntimeError(f"etcd not healthy within {START_TIMEOUT}s: {log_tail(log_path)}")

    def stop(self):
        if self.proc is not None:
            kill(self.proc)


class ApiServer:
    """The `apiserver` binary on etcd (`etcd_endpoint`) or the embedded store (`data_dir`)."""

    def __init__(self, workdir: Path, etcd_endpoint=None, data_dir=None):
        binary = bin_dir() / "apiserver"
        if not binary.is_file():
            raise RuntimeError(
                f"{binary} not found: run `cargo build --release -p apiserver` or set FERROKUBE_BIN_DIR"
            )
        self.dir = workdir
        self.kubeconfig = workdir / "kubeconfig"
        self.proc = None
        if etcd_endpoint:
            storage = ["--etcd-servers", etcd_endpoint]
        else:
            storage = ["--storage", "embedded", "--data-dir", str(data_dir)]
        last = None
        for attempt in range(START_ATTEMPTS):
            self.port = free_port()
            self.log_path = workdir / f"apiserver-{attempt}.log"
            args = [
                str(binary),
                *storage,
                "--secure-port", str(self.port),
                "--bind-address", "127.0.0.1",
                "--cert-dir", str(workdir / "pki"),
                "--kubeconfig-out", str(self.kubeconfig),
            ]
            try:
                self._start(args)
                return
            except RuntimeError as e:
                last = e
        raise RuntimeError(f"the API server did not start: {last}")

    def _start(self, args):
        if self.kubeconfig.exists():
            self.kubeconfig.unlink()
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        # The kubeconfig is written atomically once the server is ready.
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"apiserver exited with {self.proc.returncode}: {log_tail(self.log_path)}"
                )
            if self.kubeconfig.exists():
                return
            time.sleep(0.05)
        kill(self.proc)
        raise RuntimeError(f"no kubeconfig within {START_TIMEOUT}s: {log_tail(self.log_path)}")

    def stop(self):
        if self.proc is not None:
            kill(self.proc)


class Cluster:
    def __init__(self, backend: str, server: ApiServer):
        self.backend = backend
        self.server = server
        self.kubeconfig = str(server.kubeconfig)
        cfg = client.Configuration()
        config.load_kube_config(config_file=self.kubeconfig, client_configuration=cfg)
        self.api_client = client.ApiClient(cfg)
        self.core = client.CoreV1Api(self.api_client)
        self.apps = client.AppsV1Api(self.api_client)

    def close(self):
        self.api_client.close()


@pytest.fixture(scope="module", params=["etcd", "embedded"])
def cluster(request):
    backend = request.param
    workdir = Path(tempfile.mkdtemp(prefix=f"ferrokube-py-{backend}-"))
    etcd = server = c = None
    try:
        if backend == "etcd":
            etcd = Etcd(workdir)
            server = ApiServer(workdir, etcd_endpoint=etcd.endpoint)
        else:
            server = ApiServer(workdir, data_dir=workdir / "data")
        c = Cluster(backend, server)
        yield c
    finally:
        if c is not None:
            c.close()
        if server is not None:
            server.stop()
        if etcd is not None:
            etcd.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def ns(cluster):
    """A fresh namespace for one test."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    cluster.core.create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=name)),
        _request_timeout=REQUEST_TIMEOUT,
    )
    yield name
    try:
        cluster.core.delete_namespace(name, _request_timeout=REQUEST_TIMEOUT)
    except client.ApiException:
        pass
