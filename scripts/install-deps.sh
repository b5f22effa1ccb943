#!/usr/bin/env bash
# Installs what building and testing ferrokube needs, idempotently:
#   protoc (the etcd-client crate's build compiles etcd's .proto files),
#   and with --test: etcd (server + etcdctl), iproute2, and a Python venv with the
#   official `kubernetes` client and pytest for the client compatibility tests.
set -euo pipefail

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

root="$(cd "$(dirname "$0")/.." && pwd)"
pkgs=()
command -v protoc >/dev/null 2>&1 || pkgs+=(protobuf-compiler)
# The kubelet's `process` runtime: pod networks through the standard CNI plugins (bridge,
# host-local, loopback), network namespaces with `ip netns`, nsenter/unshare/mount.
[ -x /usr/lib/cni/bridge ] || [ -x /opt/cni/bin/bridge ] || pkgs+=(containernetworking-plugins)
command -v ip >/dev/null 2>&1 || pkgs+=(iproute2)
command -v nsenter >/dev/null 2>&1 || pkgs+=(util-linux)
if [ "$want_test" = 1 ]; then
  command -v etcd >/dev/null 2>&1 || pkgs+=(etcd-server)
  command -v etcdctl >/dev/null 2>&1 || pkgs+=(etcd-client)
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || pkgs+=(python3-venv)
fi
if [ "${#pkgs[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "install-deps: installing ${pkgs[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${pkgs[@]}" >/dev/null
fi

if [ "$want_test" = 1 ]; then
  venv="${FERROKUBE_VENV:-$root/.venv}"
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
  fi
  if ! "$venv/bin/python" -c 'import kubernetes, pytest, kopf' >/dev/null 2>&1; then
    "$venv/bin/pip" install -q --disable-pip-version-check 'kubernetes>=30' 'pytest>=7' 'kopf>=1.37'
  fi
fi
