//! Strict decoding of request bodies against the built-in kinds' schemas.
//!
//! kube-apiserver decodes every body into its Go struct: a value of the wrong type is a 400,
//! and a field the struct does not have is dropped (with an error or a warning, per
//! `fieldValidation`). We do the same by round-tripping the JSON through the matching
//! k8s-openapi type: deserialize (type errors), serialize back, and walk the input beside
//! the result. Input fields missing from the result are unknown fields; everything else keeps
//! the client's form (key order, `1Gi` versus `1024Mi`, empty maps) except scalars the typed
//! round trip canonicalizes as Go would (timestamps to RFC 3339 in UTC, numeric quantities to
//! strings).
//!
//! To say *where* a type error is, the input is deserialized from a pretty-printed text in
//! which every field sits on its own line, with a table from line numbers to field paths:
//! serde_json reports the line, the table gives the path.

use machinery::ApiError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// The decoded object and the fields the kind's schema does not know (already removed from
/// `object`), as upstream paths (`spec.foo`, `spec.containers[0].bogus`).
#[derive(Debug, Clone, PartialEq)]
pub struct Normalized {
    pub object: Value,
    pub unknown_fields: Vec<String>,
}

/// A body that cannot be decoded into its kind, worded as kube-apiserver words it
/// (`Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal ...`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A field holds a value of the wrong JSON type (or out of range for its type).
    #[error(
        "{kind} in version \"{version}\" cannot be handled as a {kind}: json: cannot unmarshal {found} into Go struct field {kind}.{go_path} of type {expected}"
    )]
    Type {
        kind: String,
        version: String,
        /// The field with indices (`spec.containers[0].image`).
        path: String,
        /// Go's form of the path (`spec.containers.image`).
        go_path: String,
        found: String,
        expected: String,
    },
    /// A value of the right type that its field rejects (a malformed timestamp or base64).
    #[error("{kind} in version \"{version}\" cannot be handled as a {kind}: {path}: {message}")]
    Value {
        kind: String,
        version: String,
        path: String,
        message: String,
    },
    /// The body is not a JSON object.
    #[error(
        "{kind} in version \"{version}\" cannot be handled as a {kind}: json: cannot unmarshal {found} into Go value of type {kind}"
    )]
    NotAnObject {
        kind: String,
        version: String,
        found: String,
    },
}

impl DecodeError {
    /// The field the error is about (`""` for the whole body).
    pub fn path(&self) -> &str {
        match self {
            Self::Type { path, .. } | Self::Value { path, .. } => path,
            Self::NotAnObject { .. } => "",
        }
    }

    pub fn to_api_error(&self) -> ApiError {
        ApiError::bad_request(self.to_string())
    }
}

/// The 400 for `fieldValidation=Strict` when a body has unknown fields, worded as upstream.
pub fn strict_decoding_error(kind: &str, version: &str, unknown_fields: &[String]) -> ApiError {
    let list = unknown_fields
        .iter()
        .map(|f| format!("unknown field \"{f}\""))
        .collect::<Vec<_>>()
        .join(", ");
    ApiError::bad_request(format!(
        "{kind} in version \"{version}\" cannot be handled as a {kind}: strict decoding error: {list}"
    ))
}

/// The typed round trip of one kind: from the JSON value itself (the fast path every valid
/// body takes), and from text (the slow path that locates an error by line).
#[derive(Clone, Copy)]
struct RoundTrip {
    from_value: fn(&Value) -> Result<Value, serde_json::Error>,
    from_text: fn(&str) -> Result<Value, serde_json::Error>,
}

fn round_trip_value<T: DeserializeOwned + Serialize>(
    v: &Value,
) -> Result<Value, serde_json::Error> {
    let typed = T::deserialize(v)?;
    serde_json::to_value(&typed)
}

fn round_trip_text<T: DeserializeOwned + Serialize>(
    text: &str,
) -> Result<Value, serde_json::Error> {
    let typed: T = serde_json::from_str(text)?;
    serde_json::to_value(&typed)
}

const fn round_trip<T: DeserializeOwned + Serialize>() -> RoundTrip {
    RoundTrip {
        from_value: round_trip_value::<T>,
        from_text: round_trip_text::<T>,
    }
}

/// The typed round trip and API version of each built-in kind.
fn schema(group: &str, kind: &str) -> Option<(RoundTrip, &'static str)> {
    use k8s_openapi::api;
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiext;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
    let rt: RoundTrip = match (group, kind) {
        ("", "Pod") => round_trip::<api::core::v1::Pod>(),
        ("", "Service") => round_trip::<api::core::v1::Service>(),
        ("", "Endpoints") => round_trip::<api::core::v1::Endpoints>(),
        ("", "Node") => round_trip::<api::core::v1::Node>(),
        ("", "Namespace") => round_trip::<api::core::v1::Namespace>(),
        ("", "Event") => round_trip::<api::core::v1::Event>(),
        ("", "ConfigMap") => round_trip::<api::core::v1::ConfigMap>(),
        ("", "Secret") => round_trip::<api::core::v1::Secret>(),
        ("", "ServiceAccount") => round_trip::<api::core::v1::ServiceAccount>(),
        ("", "ReplicationController") => round_trip::<api::core::v1::ReplicationController>(),
        ("", "PodTemplate") => round_trip::<api::core::v1::PodTemplate>(),
        ("", "Binding") => round_trip::<api::core::v1::Binding>(),
        ("", "LimitRange") => round_trip::<api::core::v1::LimitRange>(),
        ("", "ResourceQuota") => round_trip::<api::core::v1::ResourceQuota>(),
        ("", "PersistentVolume") => round_trip::<api::core::v1::PersistentVolume>(),
        ("", "PersistentVolumeClaim") => round_trip::<api::core::v1::PersistentVolumeClaim>(),
        ("apps", "Deployment") => round_trip::<api::apps::v1::Deployment>(),
        ("apps", "ReplicaSet") => round_trip::<api::apps::v1::ReplicaSet>(),
        ("apps", "StatefulSet") => round_trip::<api::apps::v1::StatefulSet>(),
        ("apps", "DaemonSet") => round_trip::<api::apps::v1::DaemonSet>(),
        ("apps", "ControllerRevision") => round_trip::<api::apps::v1::ControllerRevision>(),
        ("autoscaling", "Scale") => round_trip::<api::autoscaling::v1::Scale>(),
        ("policy", "Eviction") => round_trip::<api::policy::v1::Eviction>(),
        ("policy", "PodDisruptionBudget") => round_trip::<api::policy::v1::PodDisruptionBudget>(),
        ("coordination.k8s.io", "Lease") => round_trip::<api::coordination::v1::Lease>(),
        ("certificates.k8s.io", "CertificateSigningRequest") => {
            round_trip::<api::certificates::v1::CertificateSigningRequest>()
        }
        ("discovery.k8s.io", "EndpointSlice") => round_trip::<api::discovery::v1::EndpointSlice>(),
        ("events.k8s.io", "Event") => round_trip::<api::events::v1::Event>(),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            round_trip::<apiext::CustomResourceDefinition>()
        }
        ("meta.k8s.io", "DeleteOptions") => round_trip::<meta::DeleteOptions>(),
        _ => return None,
    };
    let version = match group {
        ""
        | "apps"
        | "autoscaling"
        | "policy"
        | "coordination.k8s.io"
        | "certificates.k8s.io"
        | "discovery.k8s.io"
        | "events.k8s.io"
        | "apiextensions.k8s.io"
        | "meta.k8s.io" => "v1",
        _ => return None,
    };
    Some((rt, version))
}

/// Decodes `obj` strictly as `group`/`kind`. Unknown kinds (custom resources) pass through
/// untouched.
// The error is the rare path and is turned into a Status right away; boxing buys nothing.
#[allow(clippy::result_large_err)]
pub fn normalize(group: &str, kind: &str, obj: Value) -> Result<Normalized, DecodeError> {
    let Some((rt, version)) = schema(group, kind) else {
        return Ok(Normalized {
            object: obj,
            unknown_fields: Vec::new(),
        });
    };
    let Value::Object(mut map) = obj else {
        return Err(DecodeError::NotAnObject {
            kind: kind.to_string(),
            version: version.to_string(),
            found: json_kind(&obj).to_string(),
        });
    };
    // apiVersion and kind are the caller's to check against the URL; k8s-openapi would
    // reject a mismatch with a less helpful message, so they stay out of the round trip.
    let api_version = map.shift_remove("apiVersion");
    let kind_field = map.shift_remove("kind");
    let mut input = Value::Object(map);
    strip_nulls(&mut input, false);
    relax_base64(group, kind, &mut input);

    // Pretty-printing with a line table only pays off when there is an error to locate.
    let typed = match (rt.from_value)(&input) {
        Ok(typed) => typed,
        Err(_) => {
            let (text, line_paths) = pretty_with_paths(&input);
            (rt.from_text)(&text).map_err(|e| to_decode_error(&e, &line_paths, kind, version))?
        }
    };

    let mut unknown = Vec::new();
    let merged = merge(input, &typed, "", &mut unknown);
    let Value::Object(fields) = merged else {
        // merge keeps the input's shape, and the input is an object.
        return Err(DecodeError::NotAnObject {
            kind: kind.to_string(),
            version: version.to_string(),
            found: "value".into(),
        });
    };
    let mut object = Map::new();
    if let Some(v) = api_version {
        object.insert("apiVersion".into(), v);
    }
    if let Some(v) = kind_field {
        object.insert("kind".into(), v);
    }
    object.extend(fields);
    Ok(Normalized {
        object: Value::Object(object),
        unknown_fields: unknown,
    })
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Go decodes a null field as "leave at zero value", which then is not serialized; the
/// typed round trip may reject some nulls (map values), so they go first. managedFields'
/// fieldsV1 is opaque and kept as sent.
fn strip_nulls(v: &mut Value, opaque: bool) {
    if opaque {
        return;
    }
    match v {
        Value::Object(m) => {
            m.retain(|_, v| !v.is_null());
            for (k, v) in m.iter_mut() {
                strip_nulls(v, k == "fieldsV1");
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|v| strip_nulls(v, false)),
        _ => {}
    }
}

/// Go's base64 decoder skips line breaks, which some tools leave in Secret data.
fn relax_base64(group: &str, kind: &str, v: &mut Value) {
    let field = match (group, kind) {
        ("", "Secret") => "data",
        ("", "ConfigMap") => "binaryData",
        _ => return,
    };
    if let Some(m) = v.get_mut(field).and_then(Value::as_object_mut) {
        for val in m.values_mut() {
            if let Value::String(s) = val
                && s.contains(['\n', '\r'])
            {
                s.retain(|c| c != '\n' && c != '\r');
            }
        }
    }
}

fn child_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// JSON text with one field or element per line, and the field path of every line
/// (index 0 = line 1).
fn pretty_with_paths(v: &Value) -> (String, Vec<String>) {
    struct Printer {
        out: String,
        lines: Vec<String>,
    }
    impl Printer {
        fn newline(&mut self, path: &str) {
            self.out.push('\n');
            self.lines.push(path.to_string());
        }
        fn value(&mut self, v: &Value, path: &str) {
            match v {
                Value::Object(m) => {
                    self.out.push('{');
                    for (i, (k, v)) in m.iter().enumerate() {
                        if i > 0 {
                            self.out.push(',');
                        }
                        let child = child_path(path, k);
                        self.newline(&child);
                        self.out.push_str(&Value::String(k.clone()).to_string());
                        self.out.push(':');
                        self.value(v, &child);
                    }
                    self.newline(path);
                    self.out.push('}');
                }
                Value::Array(a) => {
                    self.out.push('[');
                    for (i, v) in a.iter().enumerate() {
                        if i > 0 {
                            self.out.push(',');
                        }
                        let child = format!("{path}[{i}]");
                        self.newline(&child);
                        self.value(v, &child);
                    }
                    self.newline(path);
                    self.out.push(']');
                }
                scalar => self.out.push_str(&scalar.to_string()),
            }
        }
    }
    let mut p = Printer {
        out: String::new(),
        lines: vec![String::new()],
    };
    p.value(v, "");
    (p.out, p.lines)
}

/// Go's path form: no list indices (`spec.containers.image`).
fn go_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// serde's "expected ..." in Go's type vocabulary where the two differ.
fn go_type_name(expected: &str) -> String {
    match expected {
        "a string" | "string" => "string".into(),
        "a boolean" => "bool".into(),
        "a sequence" => "array".into(),
        "a map" => "map[string]string".into(),
        "i32" => "int32".into(),
        "i64" => "int64".into(),
        "u32" => "uint32".into(),
        "u64" => "uint64".into(),
        "f64" => "float64".into(),
        "a base64-encoded string" => "[]uint8".into(),
        other => other.strip_prefix("a ").unwrap_or(other).to_string(),
    }
}

/// serde's "unexpected ..." in Go's vocabulary: `string`, `number 1.5`, `object`, ...
fn go_found(unexpected: &str) -> String {
    let literal = |s: &str| s.split('`').nth(1).unwrap_or("").to_string();
    if unexpected.starts_with("string") {
        "string".into()
    } else if unexpected.starts_with("integer") || unexpected.starts_with("floating point") {
        format!("number {}", literal(unexpected))
    } else if unexpected.starts_with("boolean") {
        "bool".into()
    } else if unexpected == "map" {
        "object".into()
    } else if unexpected == "sequence" {
        "array".into()
    } else {
        unexpected.to_string()
    }
}

fn to_decode_error(
    e: &serde_json::Error,
    line_paths: &[String],
    kind: &str,
    version: &str,
) -> DecodeError {
    let path = e
        .line()
        .checked_sub(1)
        .and_then(|i| line_paths.get(i))
        .cloned()
        .unwrap_or_default();
    let full = e.to_string();
    // serde_json appends the position, which means nothing to the client (it is in our
    // reformatted text); the path replaces it.
    let message = match full.rfind(" at line ") {
        Some(i) => full[..i].to_string(),
        None => full,
    };
    let typed = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
        .and_then(|rest| rest.rsplit_once(", expected "));
    match typed {
        Some((found, expected)) => DecodeError::Type {
            kind: kind.to_string(),
            version: version.to_string(),
            go_path: go_path(&path),
            path,
            found: go_found(found),
            expected: go_type_name(expected),
        },
        None => DecodeError::Value {
            kind: kind.to_string(),
            version: version.to_string(),
            path,
            message,
        },
    }
}

/// Walks the (null-free) input beside its typed round trip: input fields absent from the
/// round trip are unknown and dropped; scalars take the round trip's canonical form where
/// Go's would differ from the input (timestamps, numeric quantities).
fn merge(input: Value, typed: &Value, path: &str, unknown: &mut Vec<String>) -> Value {
    match (input, typed) {
        (Value::Object(fields), Value::Object(known)) => {
            let mut out = Map::with_capacity(fields.len());
            for (k, v) in fields {
                let child = child_path(path, &k);
                match known.get(&k) {
                    Some(t) => {
                        let merged = merge(v, t, &child, unknown);
                        out.insert(k, merged);
                    }
                    None => unknown.push(child),
                }
            }
            Value::Object(out)
        }
        (Value::Array(items), Value::Array(known)) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| match known.get(i) {
                    Some(t) => merge(v, t, &format!("{path}[{i}]"), unknown),
                    None => v,
                })
                .collect(),
        ),
        // Free-form values keep the client's shape.
        (v @ (Value::Object(_) | Value::Array(_)), _) => v,
        // `5` in a float field must not turn into `5.0`.
        (v @ Value::Number(_), Value::Number(_)) => v,
        (v @ Value::Bool(_), _) => v,
        (_, t) => t.clone(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(group: &str, kind: &str, obj: Value) -> Normalized {
        normalize(group, kind, obj).unwrap()
    }

    #[test]
    fn known_objects_round_trip_unchanged() {
        let objects = [
            (
                "",
                "Pod",
                json!({
                    "apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}, "annotations": {},
                        "creationTimestamp": "2024-05-01T10:00:00Z", "uid": "8a1b", "resourceVersion": "12",
                        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d", "uid": "u", "controller": true, "blockOwnerDeletion": true}],
                        "managedFields": [{"manager": "kubectl", "operation": "Update", "apiVersion": "v1", "time": "2024-05-01T10:00:00Z",
                            "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}}}}}}]},
                    "spec": {
                        "containers": [{"name": "web", "image": "nginx:1.25", "ports": [{"containerPort": 80, "protocol": "TCP", "name": "http"}],
                            "resources": {"limits": {"cpu": "500m", "memory": "1Gi"}, "requests": {"cpu": "0.25", "memory": "512Mi"}},
                            "env": [{"name": "A", "value": "1"}, {"name": "B", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                            "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 5},
                            "livenessProbe": {"tcpSocket": {"port": 80}},
                            "volumeMounts": [{"name": "cfg", "mountPath": "/etc/cfg", "readOnly": true}]}],
                        "volumes": [{"name": "cfg", "configMap": {"name": "cfg", "defaultMode": 420}}, {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}],
                        "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}],
                        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]}}},
                        "securityContext": {}, "nodeSelector": {}, "restartPolicy": "Always"
                    },
                    "status": {}
                }),
            ),
            (
                "apps",
                "Deployment",
                json!({
                    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                    "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": "25%"}},
                        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
                    "status": {"replicas": 3, "conditions": [{"type": "Available", "status": "True", "lastUpdateTime": "2024-05-01T10:00:00Z", "lastTransitionTime": "2024-05-01T10:00:00Z", "reason": "MinimumReplicasAvailable", "message": "ok"}]}
                }),
            ),
            (
                "",
                "Service",
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                "spec": {"type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http", "nodePort": 30080, "protocol": "TCP"}],
                    "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"], "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack"},
                "status": {"loadBalancer": {}}}),
            ),
            (
                "",
                "Secret",
                json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "Opaque", "data": {"a": "MQ==", "empty": ""}, "stringData": {"b": "x"}}),
            ),
            (
                "",
                "ConfigMap",
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}, "binaryData": {"b": "AAE="}, "immutable": true}),
            ),
            (
                "",
                "Node",
                json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
                "spec": {"podCIDR": "10.244.0.0/24", "taints": [{"key": "k", "effect": "NoSchedule"}]},
                "status": {"capacity": {"cpu": "4", "memory": "8Gi"}, "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "2024-05-01T10:00:00Z"}],
                    "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}], "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}}),
            ),
            (
                "",
                "Namespace",
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}),
            ),
            (
                "",
                "Endpoints",
                json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "web"}, "subsets": [{"addresses": [{"ip": "10.1.0.5", "targetRef": {"kind": "Pod", "name": "p"}}], "ports": [{"port": 80}]}]}),
            ),
            (
                "",
                "Event",
                json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "p"}, "reason": "Created", "count": 1, "firstTimestamp": "2024-05-01T10:00:00Z", "source": {"component": "kubelet"}, "reportingComponent": "", "reportingInstance": ""}),
            ),
            (
                "events.k8s.io",
                "Event",
                json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e"}, "eventTime": "2024-05-01T10:00:00.123456Z", "regarding": {"kind": "Pod"}, "note": "n", "reportingController": "c", "reportingInstance": "i", "action": "A", "reason": "R", "type": "Normal"}),
            ),
            (
                "coordination.k8s.io",
                "Lease",
                json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "n1"}, "spec": {"holderIdentity": "n1", "leaseDurationSeconds": 40, "renewTime": "2024-05-01T10:00:00.500000Z"}}),
            ),
            (
                "discovery.k8s.io",
                "EndpointSlice",
                json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": {"name": "web-x"}, "addressType": "IPv4", "endpoints": [{"addresses": ["10.1.0.5"], "conditions": {"ready": true}}], "ports": [{"name": "", "port": 80, "protocol": "TCP"}]}),
            ),
            (
                "",
                "ReplicationController",
                json!({"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "r"}, "spec": {"replicas": 1, "selector": {"a": "b"}, "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}, "status": {"replicas": 0}}),
            ),
            (
                "apps",
                "ReplicaSet",
                json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "r"}, "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}}),
            ),
            (
                "",
                "ServiceAccount",
                json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}, "automountServiceAccountToken": false, "secrets": []}),
            ),
            (
                "",
                "Binding",
                json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p", "uid": "u"}, "target": {"kind": "Node", "name": "n1"}}),
            ),
        ];
        for (g, k, obj) in objects {
            let n = ok(g, k, obj.clone());
            assert!(n.unknown_fields.is_empty(), "{k}: {:?}", n.unknown_fields);
            assert_eq!(n.object, obj, "{k} changed");
            // Key order is the client's.
            assert_eq!(n.object.to_string(), obj.to_string(), "{k} order");
        }
    }

    #[test]
    fn custom_resource_definitions_keep_their_schemas() {
        let crd = json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"}},
                    "additionalPrinterColumns": [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}],
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                        "spec": {"type": "object", "required": ["size"], "properties": {
                            "size": {"type": "integer", "minimum": 1, "maximum": 10, "default": 3},
                            "mode": {"type": "string", "enum": ["a", "b"]},
                            "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                            "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
                            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                            "port": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]}
                        }},
                        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
                    }}}}]}
        });
        let n = ok(
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
            crd.clone(),
        );
        assert!(n.unknown_fields.is_empty(), "{:?}", n.unknown_fields);
        assert_eq!(n.object, crd);
    }

    #[test]
    fn unknown_fields_are_reported_and_dropped() {
        let n = ok(
            "",
            "Pod",
            json!({
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "bogusMeta": 1},
                "spec": {"foo": "x", "containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y", "bogus": true, "ports": [{"containerPort": 1, "hostPortt": 2}]}]},
                "extra": {},
                "Spec": {}
            }),
        );
        assert_eq!(
            n.unknown_fields,
            vec![
                "metadata.bogusMeta",
                "spec.foo",
                "spec.containers[1].bogus",
                "spec.containers[1].ports[0].hostPortt",
                "extra",
                "Spec"
            ]
        );
        assert_eq!(
            n.object,
            json!({
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                "spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y", "ports": [{"containerPort": 1}]}]}
            })
        );
        let err = strict_decoding_error("Pod", "v1", &n.unknown_fields[..2]);
        assert_eq!(err.code, 400);
        assert_eq!(
            err.message,
            "Pod in version \"v1\" cannot be handled as a Pod: strict decoding error: unknown field \"metadata.bogusMeta\", unknown field \"spec.foo\""
        );
    }

    #[test]
    fn nulls_are_absent_not_unknown() {
        let n = ok(
            "",
            "Pod",
            json!({"metadata": {"name": "p", "labels": null, "bogus": null}, "spec": {"nodeName": null, "containers": [{"name": "a", "image": "x"}]}}),
        );
        assert!(n.unknown_fields.is_empty());
        assert_eq!(
            n.object,
            json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a", "image": "x"}]}})
        );
    }

    #[test]
    fn canonical_scalars() {
        let n = ok(
            "",
            "Pod",
            json!({
                "metadata": {"name": "p", "creationTimestamp": "2024-05-01T12:00:00.75+02:00"},
                "spec": {"containers": [{"name": "a", "image": "x", "resources": {"limits": {"cpu": 2, "memory": 0.5}}}]}
            }),
        );
        assert_eq!(
            n.object["metadata"]["creationTimestamp"],
            "2024-05-01T10:00:00Z"
        );
        assert_eq!(
            n.object["spec"]["containers"][0]["resources"]["limits"],
            json!({"cpu": "2", "memory": "0.5"})
        );
        let n = ok(
            "coordination.k8s.io",
            "Lease",
            json!({"spec": {"renewTime": "2024-05-01T10:00:00Z"}}),
        );
        assert_eq!(n.object["spec"]["renewTime"], "2024-05-01T10:00:00.000000Z");
        let n = ok("", "Secret", json!({"data": {"a": "MQ\n=="}}));
        assert_eq!(n.object["data"]["a"], "MQ==");
    }

    #[test]
    fn type_errors_name_the_field() {
        let cases = [
            (
                json!({"spec": {"containers": "x"}}),
                "spec.containers",
                "Pod in version \"v1\" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field Pod.spec.containers of type array",
            ),
            (
                json!({"spec": {"containers": [{"name": "a", "image": 5}]}}),
                "spec.containers[0].image",
                "Pod in version \"v1\" cannot be handled as a Pod: json: cannot unmarshal number 5 into Go struct field Pod.spec.containers.image of type string",
            ),
            (
                json!({"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 3000000000u64}]}]}}),
                "spec.containers[0].ports[0].containerPort",
                "Pod in version \"v1\" cannot be handled as a Pod: json: cannot unmarshal number 3000000000 into Go struct field Pod.spec.containers.ports.containerPort of type int32",
            ),
            (
                json!({"metadata": {"labels": {"a": 1}}}),
                "metadata.labels.a",
                "",
            ),
            (
                json!({"spec": {"hostNetwork": "true"}}),
                "spec.hostNetwork",
                "Pod in version \"v1\" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field Pod.spec.hostNetwork of type bool",
            ),
            (
                json!({"spec": {"securityContext": []}}),
                "spec.securityContext",
                "Pod in version \"v1\" cannot be handled as a Pod: json: cannot unmarshal array into Go struct field Pod.spec.securityContext of type PodSecurityContext",
            ),
            (
                json!({"metadata": {"creationTimestamp": "yesterday"}}),
                "metadata.creationTimestamp",
                "",
            ),
        ];
        for (obj, path, msg) in cases {
            let err = normalize("", "Pod", obj.clone()).unwrap_err();
            assert_eq!(err.path(), path, "{obj}: {err}");
            if !msg.is_empty() {
                assert_eq!(err.to_string(), msg);
            }
            assert_eq!(err.to_api_error().code, 400);
        }
        let err = normalize("apps", "Deployment", json!({"spec": {"replicas": "3"}})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Deployment in version \"v1\" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field Deployment.spec.replicas of type int32"
        );
        let err = normalize("", "Secret", json!({"data": {"a": "!!"}})).unwrap_err();
        assert_eq!(err.path(), "data.a");
        let err = normalize("", "ConfigMap", json!([1])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: json: cannot unmarshal array into Go value of type ConfigMap"
        );
    }

    #[test]
    fn unknown_kinds_pass_through() {
        let obj = json!({"apiVersion": "example.com/v1", "kind": "Widget", "spec": {"anything": null, "x": [1]}});
        let n = ok("example.com", "Widget", obj.clone());
        assert_eq!(n.object, obj);
        assert!(n.unknown_fields.is_empty());
        let n = ok("example.com", "Widget", json!("not an object"));
        assert_eq!(n.object, json!("not an object"));
    }

    #[test]
    fn paths_of_pretty_lines() {
        let (text, lines) = pretty_with_paths(&json!({"a": {"b": [1, {"c": 2}]}, "d": "x"}));
        assert_eq!(text.lines().count(), lines.len());
        assert_eq!(
            lines,
            vec![
                "", "a", "a.b", "a.b[0]", "a.b[1]", "a.b[1].c", "a.b[1]", "a.b", "a", "d", ""
            ]
        );
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap(),
            json!({"a": {"b": [1, {"c": 2}]}, "d": "x"})
        );
    }
}
