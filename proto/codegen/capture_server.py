#!/usr/bin/env python3
"""A recording fake API server for capturing kubectl's protobuf traffic (test fixtures).

Usage: python3 capture_server.py PORT OUTDIR, then point a kubeconfig at http://127.0.0.1:PORT.
- Answers discovery (/api, /apis, /api/v1, /apis/<g>/<v>) for the resources in RES.
- Records every POST body to OUTDIR/last.bin (path, Content-Type and Accept in OUTDIR/last.meta)
  and answers 201 with a minimal JSON object.
- Oracle mode: if OUTDIR/oracle/<METHOD><path with / replaced by _>.pb exists, that body is
  served as application/vnd.kubernetes.protobuf (or the .json beside it when the client does not
  accept protobuf), so kubectl's Go decoder reads bytes made by proto::encode_object
  (see examples/encode_json.rs).
See tests/fixtures/README.md for the commands that produced the fixtures.
"""
import json, sys, os, http.server
OUT = sys.argv[2]
RES = {
  "/api/v1": ("v1", [("namespaces","Namespace",False),("configmaps","ConfigMap",True),("secrets","Secret",True),("services","Service",True),("serviceaccounts","ServiceAccount",True),("resourcequotas","ResourceQuota",True),("pods","Pod",True),("events","Event",True),("nodes","Node",False)]),
  "/apis/apps/v1": ("apps/v1", [("deployments","Deployment",True)]),
  "/apis/batch/v1": ("batch/v1", [("jobs","Job",True),("cronjobs","CronJob",True)]),
  "/apis/rbac.authorization.k8s.io/v1": ("rbac.authorization.k8s.io/v1", [("roles","Role",True),("rolebindings","RoleBinding",True),("clusterroles","ClusterRole",False),("clusterrolebindings","ClusterRoleBinding",False)]),
  "/apis/networking.k8s.io/v1": ("networking.k8s.io/v1", [("ingresses","Ingress",True)]),
  "/apis/policy/v1": ("policy/v1", [("poddisruptionbudgets","PodDisruptionBudget",True)]),
  "/apis/authorization.k8s.io/v1": ("authorization.k8s.io/v1", [("selfsubjectaccessreviews","SelfSubjectAccessReview",False),("selfsubjectrulesreviews","SelfSubjectRulesReview",False)]),
  "/apis/authentication.k8s.io/v1": ("authentication.k8s.io/v1", [("selfsubjectreviews","SelfSubjectReview",False)]),
  "/apis/scheduling.k8s.io/v1": ("scheduling.k8s.io/v1", [("priorityclasses","PriorityClass",False)]),
}
KINDS = {}
for p,(gv,rs) in RES.items():
    for n,k,ns in rs: KINDS[n]=(gv,k)
class H(http.server.BaseHTTPRequestHandler):
    def send_json(self, code, obj):
        b = json.dumps(obj).encode()
        self.send_response(code); self.send_header("Content-Type","application/json"); self.send_header("Content-Length",str(len(b))); self.end_headers(); self.wfile.write(b)
    def oracle(self, method):
        p = self.path.split("?")[0]
        f = os.path.join(OUT, "oracle", method + p.replace("/", "_") + ".pb")
        accept = str(self.headers.get("Accept"))
        if os.path.exists(f) and "protobuf" not in accept and os.path.exists(f[:-3] + ".json"):
            b = open(f[:-3] + ".json", "rb").read()
            self.send_response(200); self.send_header("Content-Type","application/json"); self.send_header("Content-Length",str(len(b))); self.end_headers(); self.wfile.write(b)
            return True
        if os.path.exists(f):
            b = open(f, "rb").read()
            with open(os.path.join(OUT, "oracle.log"), "a") as lf: lf.write(method + " " + self.path + " " + str(self.headers.get("Accept")) + "\n")
            code = 201 if method == "POST" else 200
            self.send_response(code); self.send_header("Content-Type","application/vnd.kubernetes.protobuf"); self.send_header("Content-Length",str(len(b))); self.end_headers(); self.wfile.write(b)
            return True
        with open(os.path.join(OUT, "requests.log"), "a") as lf: lf.write(method + " " + self.path + " " + str(self.headers.get("Accept")) + "\n")
        return False
    def do_GET(self):
        if self.oracle("GET"): return
        p = self.path.split("?")[0]
        if p == "/api": return self.send_json(200, {"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1"}]})
        if p == "/apis":
            gs=[]
            for path,(gv,_) in RES.items():
                if "/" in gv:
                    g,v=gv.split("/"); gs.append({"name":g,"versions":[{"groupVersion":gv,"version":v}],"preferredVersion":{"groupVersion":gv,"version":v}})
            return self.send_json(200, {"kind":"APIGroupList","apiVersion":"v1","groups":gs})
        if p in RES:
            gv, rs = RES[p]
            return self.send_json(200, {"kind":"APIResourceList","apiVersion":"v1","groupVersion":gv,"resources":[{"name":n,"singularName":"","namespaced":ns,"kind":k,"verbs":["create","get","list","delete"]} for n,k,ns in rs]})
        self.send_json(404, {"kind":"Status","apiVersion":"v1","status":"Failure","code":404,"reason":"NotFound","message":"nf"})
    def do_POST(self):
        n = int(self.headers.get("Content-Length","0"))
        body = self.rfile.read(n)
        with open(os.path.join(OUT, "last.bin"), "wb") as f: f.write(body)
        if self.oracle("POST"): return
        parts = self.path.split("?")[0].strip("/").split("/")
        res = parts[-1]
        gv, kind = KINDS.get(res, ("v1","Unknown"))
        with open(os.path.join(OUT, "last.bin"), "wb") as f: f.write(body)
        with open(os.path.join(OUT, "last.meta"), "w") as f: f.write(self.path + "\n" + str(self.headers.get("Content-Type")) + "\n" + str(self.headers.get("Accept")) + "\n")
        self.send_json(201, {"apiVersion":gv,"kind":kind,"metadata":{"name":"x","namespace":"default"}})
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
