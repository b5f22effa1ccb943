//! Golden tests: protobuf bodies captured from `kubectl create ...` (kubectl v1.32 against a
//! recording HTTP server), compared with what `kubectl create ... --dry-run=client -o json`
//! prints for the same command.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use std::path::PathBuf;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Drops `null`s (Go prints unset `metav1.Time` as `null`; the decoder leaves it out).
fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, v| !v.is_null());
            m.values_mut().for_each(strip_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

fn check(name: &str) -> Value {
    let body = fixture(&format!("{name}.pb"));
    let decoded = proto::decode_object(&body).unwrap();
    let mut expected: Value = serde_json::from_slice(&fixture(&format!("{name}.json"))).unwrap();
    strip_nulls(&mut expected);
    assert_eq!(
        decoded,
        expected,
        "{name}: decoded\n{}\nexpected\n{}",
        serde_json::to_string_pretty(&decoded).unwrap(),
        serde_json::to_string_pretty(&expected).unwrap()
    );
    // Re-encoding gives a body that decodes to the same object (bytes differ: Go also writes
    // empty non-pointer fields).
    let again = proto::encode_object(&decoded).unwrap();
    assert!(again.starts_with(b"k8s\0"));
    assert_eq!(
        proto::decode_object(&again).unwrap(),
        decoded,
        "{name}: re-encoded"
    );
    // Encoding kubectl's JSON gives the same object too.
    let from_json = proto::encode_object(&expected).unwrap();
    assert_eq!(
        proto::decode_object(&from_json).unwrap(),
        decoded,
        "{name}: from JSON"
    );
    decoded
}

#[test]
fn deployment() {
    let d = check("deployment");
    assert_eq!(d["spec"]["replicas"], 2);
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.25"
    );
}

#[test]
fn configmap() {
    let c = check("configmap");
    assert_eq!(c["data"], json!({"a": "b"}));
}

#[test]
fn secret() {
    let s = check("secret");
    // `q`, base64.
    assert_eq!(s["data"], json!({"p": "cQ=="}));
}

#[test]
fn namespace() {
    check("namespace");
}

#[test]
fn service() {
    check("service");
}

#[test]
fn serviceaccount() {
    check("serviceaccount");
}

#[test]
fn job() {
    check("job");
}

#[test]
fn cronjob() {
    check("cronjob");
}

#[test]
fn role() {
    check("role");
}

#[test]
fn rolebinding() {
    check("rolebinding");
}

#[test]
fn clusterrole() {
    check("clusterrole");
}

#[test]
fn clusterrolebinding() {
    check("clusterrolebinding");
}

#[test]
fn priorityclass() {
    check("priorityclass");
}

#[test]
fn quota() {
    let q = check("quota");
    assert_eq!(q["spec"]["hard"]["memory"], "1Gi");
}

#[test]
fn poddisruptionbudget() {
    let p = check("pdb");
    assert_eq!(p["spec"]["minAvailable"], "50%");
}

#[test]
fn ingress() {
    check("ingress");
}

/// `kubectl create job from-rich --from=cronjob/rich`: kubectl fetched a CronJob whose job
/// template holds a rich pod spec (the one of tests/fixtures/objects/deployment.json) and
/// POSTed a Job built from it, so this body is Go's encoding of a realistic pod template:
/// pointer fields holding zero (`replicas`-like `runAsUser: 0`, `automountServiceAccountToken:
/// false`), IntOrString ports, quantities, projected volumes, affinity, probes...
#[test]
fn job_from_cronjob() {
    let j = check("job-from-cronjob");
    let spec = &j["spec"]["template"]["spec"];
    assert_eq!(spec["containers"][0]["securityContext"]["runAsUser"], 0);
    assert_eq!(spec["automountServiceAccountToken"], false);
    assert_eq!(spec["terminationGracePeriodSeconds"], 0);
    assert_eq!(
        spec["containers"][0]["livenessProbe"]["httpGet"]["port"],
        "http"
    );
    assert_eq!(
        spec["containers"][0]["resources"]["limits"]["nvidia.com/gpu"],
        "1"
    );
    assert_eq!(j["spec"]["backoffLimit"], 0);
    assert_eq!(j["spec"]["ttlSecondsAfterFinished"], 0);
}

/// `kubectl create token sa --duration=1h --audience=api` (no dry-run for this one).
#[test]
fn token_request() {
    let decoded = proto::decode_object(&fixture("tokenrequest.pb")).unwrap();
    assert_eq!(
        decoded,
        json!({
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "metadata": {},
            "spec": {"audiences": ["api"], "expirationSeconds": 3600},
            "status": {"token": ""}
        })
    );
}

/// `kubectl auth can-i create deployments.apps --subresource=scale -n prod`.
#[test]
fn self_subject_access_review() {
    let decoded = proto::decode_object(&fixture("selfsubjectaccessreview.pb")).unwrap();
    assert_eq!(
        decoded,
        json!({
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "metadata": {},
            "spec": {"resourceAttributes": {
                "namespace": "prod", "verb": "create", "group": "apps",
                "resource": "deployments", "subresource": "scale"
            }},
            "status": {"allowed": false}
        })
    );
}

/// `kubectl auth whoami`.
#[test]
fn self_subject_review() {
    let decoded = proto::decode_object(&fixture("selfsubjectreview.pb")).unwrap();
    assert_eq!(
        decoded,
        json!({
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "SelfSubjectReview",
            "metadata": {},
            "status": {"userInfo": {}}
        })
    );
}
