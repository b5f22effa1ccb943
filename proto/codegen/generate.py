#!/usr/bin/env python3
"""Generates proto/src/generated.rs: the prost <-> JSON field tables for ferrokube's proto crate.

Inputs (read only, nothing is copied into the repository):
  * the k8s-pb crate's source (prost structs: Rust field names, wire kinds, tags);
  * the Go types of kubernetes/api and kubernetes/apimachinery at the Kubernetes release k8s-pb
    was generated from (JSON names, `omitempty`, pointer-ness and `,inline`, matched to the
    prost fields by protobuf tag number).

Usage:
  python3 proto/codegen/generate.py K8S_PB_SRC API_GIT_DIR APIMACHINERY_GIT_DIR GIT_REF > proto/src/generated.rs
e.g.
  python3 proto/codegen/generate.py ~/.cargo/registry/src/*/k8s-pb-0.9.0/src \
      /path/to/kubernetes-api.git /path/to/kubernetes-apimachinery.git v0.35.0 > proto/src/generated.rs

The output only holds `message!` invocations; the conversion logic lives in src/json.rs. Every
invocation destructures/constructs the prost struct exhaustively, so a k8s-pb upgrade that adds a
field fails to compile until this script is re-run.
"""
import os, re, subprocess, sys

PB_SRC, API_GIT, MACH_GIT, REF = sys.argv[1:5]

# Root kinds (module path, message). Lists are included for every kind that has one.
ROOTS = {
    ("api", "core", "v1"): ["Namespace", "Pod", "Service", "Endpoints", "Node", "Event", "ConfigMap",
                             "Secret", "ServiceAccount", "ReplicationController", "Binding",
                             "PersistentVolume", "PersistentVolumeClaim", "ResourceQuota", "LimitRange",
                             "PodTemplate"],
    ("api", "apps", "v1"): ["ReplicaSet", "Deployment", "StatefulSet", "DaemonSet", "ControllerRevision"],
    ("api", "batch", "v1"): ["Job", "CronJob"],
    ("api", "certificates", "v1"): ["CertificateSigningRequest"],
    ("api", "coordination", "v1"): ["Lease"],
    ("api", "discovery", "v1"): ["EndpointSlice"],
    ("api", "events", "v1"): ["Event"],
    ("api", "autoscaling", "v1"): ["Scale"],
    ("api", "rbac", "v1"): ["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"],
    ("api", "networking", "v1"): ["Ingress", "IngressClass", "NetworkPolicy"],
    ("api", "policy", "v1"): ["PodDisruptionBudget", "Eviction"],
    ("api", "scheduling", "v1"): ["PriorityClass"],
    ("api", "authentication", "v1"): ["TokenRequest", "TokenReview", "SelfSubjectReview"],
    ("api", "authorization", "v1"): ["SubjectAccessReview", "SelfSubjectAccessReview",
                                      "LocalSubjectAccessReview", "SelfSubjectRulesReview"],
    ("apimachinery", "pkg", "apis", "meta", "v1"): ["DeleteOptions", "Status"],
}
NO_LIST = {"Binding", "Scale", "Eviction", "TokenRequest", "TokenReview", "SelfSubjectReview",
           "SubjectAccessReview", "SelfSubjectAccessReview", "LocalSubjectAccessReview",
           "SelfSubjectRulesReview", "DeleteOptions", "Status"}

# Hand-written in src/json.rs (their JSON form is not an object of their fields).
SPECIAL = {
    ("apimachinery", "pkg", "apis", "meta", "v1", "Time"),
    ("apimachinery", "pkg", "apis", "meta", "v1", "MicroTime"),
    ("apimachinery", "pkg", "apis", "meta", "v1", "Duration"),
    ("apimachinery", "pkg", "apis", "meta", "v1", "FieldsV1"),
    ("apimachinery", "pkg", "util", "intstr", "IntOrString"),
    ("apimachinery", "pkg", "api", "resource", "Quantity"),
    ("apimachinery", "pkg", "runtime", "RawExtension"),
}

SCALARS = {"string", "bool", "int32", "int64", "double", "bytes"}


def parse_pb():
    msgs = {}
    for root, _, files in os.walk(PB_SRC):
        if "mod.rs" not in files:
            continue
        mod = tuple(os.path.relpath(root, PB_SRC).split(os.sep))
        if mod == (".",):
            continue
        text = open(os.path.join(root, "mod.rs")).read()
        text = "\n".join(l for l in text.split("\n") if not l.strip().startswith("///") and not l.strip().startswith("#[doc"))
        for m in re.finditer(r"^pub struct (\w+) \{\n(.*?)^\}", text, re.S | re.M):
            name, body = m.group(1), m.group(2)
            fields = []
            for chunk in body.split("#[prost(")[1:]:
                attr, rest = chunk.split(")]", 1)
                fm = re.match(r"\s*pub (r#)?(\w+):\s*(.*?),?\s*$", rest, re.S)
                raw, fname, ty = fm.group(1) or "", fm.group(2), re.sub(r"\s+", "", fm.group(3))
                kind = attr.split(",")[0].strip()
                if kind.startswith("btree_map"):
                    kind = re.match(r'btree_map = "[^"]*"', attr).group(0)
                tag = int(re.search(r'tag = "(\d+)"', attr).group(1))
                repeated = "repeated" in attr
                target = None
                if kind == "message" or (kind.startswith("btree_map") and "message" in kind):
                    inner = re.findall(r"[\w:]+", ty)[-1]
                    target = resolve(mod, inner)
                fields.append(dict(rust=raw + fname, kind=kind, tag=tag, repeated=repeated, target=target))
            msgs[mod + (name,)] = fields
    return msgs


def resolve(mod, path):
    parts = path.split("::")
    base = list(mod)
    while parts[0] == "super":
        base.pop()
        parts.pop(0)
    return tuple(base + parts)


def git(repo, *args):
    return subprocess.run(["git", "--git-dir", repo] + list(args), check=True, capture_output=True, text=True).stdout


def go_dir(mod):
    if mod[0] == "api":
        return API_GIT, "/".join(mod[1:])
    return MACH_GIT, "/".join(mod[1:]) if mod[0] == "apimachinery" else None


GO_CACHE = {}


def go_structs(mod):
    if mod in GO_CACHE:
        return GO_CACHE[mod]
    repo, d = go_dir(mod)
    structs = {}
    try:
        names = git(repo, "ls-tree", "--name-only", f"{REF}:{d}").split()
    except subprocess.CalledProcessError:
        names = []
    for n in names:
        if not n.endswith(".go") or n.endswith("_test.go") or n.startswith("zz_generated") or n == "generated.pb.go":
            continue
        src = git(repo, "show", f"{REF}:{d}/{n}")
        for m in re.finditer(r"^type (\w+) struct \{\n(.*?)^\}", src, re.S | re.M):
            fields = {}
            for line in m.group(2).split("\n"):
                fm = re.match(r"^\t(?:(\w+)\s+)?([^\s`]+)\s+`([^`]*)`", line)
                if not fm:
                    continue
                tags = dict(re.findall(r'(\w+):"([^"]*)"', fm.group(3)))
                if "protobuf" not in tags:
                    continue
                pb = tags["protobuf"].split(",")
                if len(pb) < 2:
                    continue
                json = tags.get("json", "").split(",")
                fields[int(pb[1])] = dict(
                    json=json[0], omitempty=("omitempty" in json[1:] or "omitzero" in json[1:]),
                    inline="inline" in json[1:], pointer=fm.group(2).startswith("*"), gotype=fm.group(2))
            # k8s-pb renames acronyms (AWSElastic... -> AwsElastic...): match case-insensitively.
            structs[m.group(1).lower()] = fields
        # Named slice types (`type ExtraValue []string`) are wrapped in a message with one
        # `items` field by go-to-protobuf; their JSON form is the bare array.
        for m in re.finditer(r"^type (\w+) \[\]\w+$", src, re.M):
            structs[m.group(1).lower()] = "list"
    GO_CACHE[mod] = structs
    return structs


def camel(rust):
    parts = rust.replace("r#", "").split("_")
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


def main():
    msgs = parse_pb()
    roots = []
    for mod, kinds in ROOTS.items():
        for k in kinds:
            roots.append(mod + (k,))
            if k not in NO_LIST:
                roots.append(mod + (k + "List",))
    seen, order, stack = set(), [], list(roots)
    while stack:
        key = stack.pop()
        if key in seen or key in SPECIAL:
            continue
        if key not in msgs:
            sys.exit(f"unknown message {key}")
        seen.add(key)
        order.append(key)
        for f in msgs[key]:
            if f["target"]:
                stack.append(f["target"])
    out = [
        "// @generated by proto/codegen/generate.py from k8s-pb 0.9 (Kubernetes v1.35) and the Go types",
        f"// of kubernetes/api and kubernetes/apimachinery at {REF}. Do not edit by hand.",
        "//",
        "// Field syntax: `rust_field: mode \"jsonName\"`; modes (see src/json.rs):",
        "//   opt       - emitted when set (pointers, messages, lists, maps, non-omitempty scalars)",
        "//   omitempty - emitted when set and not the zero value (Go non-pointer omitempty scalars)",
        "//   inline    - an embedded Go struct: its fields are flattened into this JSON object",
        "// `list_wrapper!` marks a Go named slice type: go-to-protobuf wraps it in a message whose",
        "// single repeated field holds the items; its JSON form is the bare array.",
        "",
        "use crate::json::{list_wrapper, message};",
        "",
    ]
    warnings = []
    for key in sorted(order):
        mod, name = key[:-1], key[-1]
        gofields = go_structs(mod).get(name.lower())
        if gofields == "list":
            (f,) = msgs[key]
            out.append(f"list_wrapper!(k8s_pb::{'::'.join(key)} {{ {f['rust']} }});")
            continue
        if gofields is None:
            warnings.append(f"no Go struct for {'::'.join(key)}")
            gofields = {}
        lines = []
        for f in msgs[key]:
            g = gofields.get(f["tag"])
            if g is None:
                warnings.append(f"no Go field for {'::'.join(key)}.{f['rust']} (tag {f['tag']})")
                g = dict(json=camel(f["rust"]), omitempty=False, inline=False, pointer=True, gotype="?")
            if f["kind"] == "double":
                warnings.append(f"double field {'::'.join(key)}.{f['rust']}")
            if g["inline"]:
                lines.append(f"    {f['rust']}: inline,")
                continue
            scalar = f["kind"] in SCALARS and not f["repeated"]
            mode = "omitempty" if scalar and g["omitempty"] and not g["pointer"] else "opt"
            lines.append(f"    {f['rust']}: {mode} \"{g['json']}\",")
        out.append(f"message!(k8s_pb::{'::'.join(key)} {{")
        out.extend(lines)
        out.append("});")
    print("\n".join(out))
    for w in warnings:
        print("warning:", w, file=sys.stderr)
    print(f"{len(order)} messages", file=sys.stderr)


main()
