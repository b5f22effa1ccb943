//! Pods: upstream's pod defaulting (SetDefaults_PodSpec, _Container, _Probe, _Volume, ...),
//! the admission plugins every cluster runs on pod create (ServiceAccount, Priority,
//! DefaultTolerationSeconds), PodSpec validation with upstream's field paths and wording,
//! the narrow set of mutable pod fields, QoS class, and binding.
//!
//! The PodSpec parts are `pub(crate)` because pod templates (ReplicationController,
//! ReplicaSet, Deployment) get the same defaults and validation.

use std::collections::HashSet;

use machinery::{ApiError, FieldError, GroupResource};
use serde_json::{Map, Value, json};

use super::common::*;
use crate::registry::strategy::Strategy;

pub struct PodStrategy;

/// Upstream's wording when a pod update touches an immutable part of the spec.
pub const POD_UPDATE_FORBIDDEN: &str = "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/// Taints the node lifecycle controller puts on unhealthy nodes; pods tolerate them for 300 s
/// by default so that a short outage does not evict everything (DefaultTolerationSeconds).
const DEFAULT_NOEXECUTE_TAINTS: &[&str] = &[
    "node.kubernetes.io/not-ready",
    "node.kubernetes.io/unreachable",
];
const DEFAULT_TOLERATION_SECONDS: i64 = 300;

impl Strategy for PodStrategy {
    fn default(&self, obj: &mut Value) {
        if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
            default_pod_spec(spec, true);
        }
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
            admit_pod_spec(spec);
        }
        let qos = qos_class(obj);
        let gated = !array(obj, &["spec", "schedulingGates"]).is_empty();
        let mut status = json!({ "phase": "Pending", "qosClass": qos });
        if gated {
            // Upstream marks gated pods so that `kubectl get` shows SchedulingGated.
            status["conditions"] = json!([{
                "type": "PodScheduled",
                "status": "False",
                "lastProbeTime": null,
                "lastTransitionTime": now_rfc3339(),
                "reason": "SchedulingGated",
                "message": "Scheduling is blocked due to non-empty scheduling gates",
            }]);
        }
        if let Some(m) = obj.as_object_mut() {
            m.insert("status".into(), status);
        }
    }

    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        keep_from_old(new, old, "status");
        // Upstream's admission on update: DefaultTolerationSeconds adds its tolerations again
        // and Priority keeps the priority it set on create, so a client that replaces a pod
        // with its own manifest is not refused for fields it never set.
        let old_spec = old.get("spec");
        if let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) {
            for key in ["priority", "preemptionPolicy"] {
                if let Some(v) = old_spec.and_then(|s| s.get(key)) {
                    default_value(spec, key, v.clone());
                }
            }
            add_default_tolerations(spec);
        }
    }

    fn prepare_for_status_update(&self, new: &mut Value, old: &Value) {
        // The QoS class is computed once from the spec, which a status write cannot change.
        if let Some(q) = get(old, &["status", "qosClass"])
            && let Some(status) = object_at(new, &["status"])
        {
            status.insert("qosClass".into(), q.clone());
        }
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let spec = obj.get("spec").unwrap_or(&Value::Null);
        validate_pod_spec(spec, "spec", false, &mut errs);
        if !array(spec, &["ephemeralContainers"]).is_empty() {
            errs.push(FieldError::forbidden(
                "spec.ephemeralContainers",
                "cannot be set on create",
            ));
        }
        errs
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let spec = new.get("spec").unwrap_or(&Value::Null);
        validate_pod_spec(spec, "spec", false, &mut errs);
        validate_pod_spec_update(spec, old.get("spec").unwrap_or(&Value::Null), &mut errs);
        errs
    }

    fn validate_status_update(&self, new: &Value, _old: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        const PHASES: &[&str] = &["Pending", "Running", "Succeeded", "Failed", "Unknown"];
        if let Some(phase) = get_str(new, &["status", "phase"])
            && !phase.is_empty()
            && !PHASES.contains(&phase)
        {
            errs.push(FieldError::not_supported(
                "status.phase",
                json!(phase),
                PHASES,
            ));
        }
        for field in ["podIP", "hostIP"] {
            if let Some(ip) = get_str(new, &["status", field]).filter(|s| !s.is_empty()) {
                validate_ip(ip, &format!("status.{field}"), &mut errs);
            }
        }
        for list in ["podIPs", "hostIPs"] {
            for (i, entry) in array(new, &["status", list]).iter().enumerate() {
                let ip = str_or_empty(entry, &["ip"]);
                validate_ip(ip, &format!("status.{list}[{i}].ip"), &mut errs);
            }
        }
        if let Some(n) = get_str(new, &["status", "nominatedNodeName"]).filter(|s| !s.is_empty()) {
            validate_dns_subdomain(n, "status.nominatedNodeName", &mut errs);
        }
        errs
    }

    fn status_via_subresource(&self) -> bool {
        true
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        let s = |path: &[&str]| Some(str_or_empty(obj, path).to_string());
        match field {
            "spec.nodeName" => s(&["spec", "nodeName"]),
            "spec.restartPolicy" => s(&["spec", "restartPolicy"]),
            "spec.schedulerName" => s(&["spec", "schedulerName"]),
            "spec.serviceAccountName" => s(&["spec", "serviceAccountName"]),
            "spec.hostNetwork" => Some(
                get_bool(obj, &["spec", "hostNetwork"])
                    .unwrap_or(false)
                    .to_string(),
            ),
            "status.phase" => s(&["status", "phase"]),
            "status.nominatedNodeName" => s(&["status", "nominatedNodeName"]),
            // Upstream selects on the primary pod IP.
            "status.podIP" => Some(
                get_str(obj, &["status", "podIP"])
                    .or_else(|| {
                        array(obj, &["status", "podIPs"])
                            .first()
                            .and_then(|p| get_str(p, &["ip"]))
                    })
                    .unwrap_or("")
                    .to_string(),
            ),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Binding

/// Assigns a pending pod to a node (POST pods/<name>/binding): 409 Conflict when the pod is
/// already bound, being deleted, or still gated, as upstream's assignPod.
// ApiError is the crate-wide error type; these run once per binding, not in a hot loop.
#[allow(clippy::result_large_err)]
pub fn bind_pod(pod: &mut Value, node_name: &str) -> Result<(), ApiError> {
    let name = str_or_empty(pod, &["metadata", "name"]).to_string();
    let gr = GroupResource::new("", "pods");
    if is_set(get(pod, &["metadata", "deletionTimestamp"])) {
        return Err(ApiError::conflict(
            &gr,
            &name,
            &format!("pod {name} is being deleted, cannot be assigned to a host"),
        ));
    }
    let current = str_or_empty(pod, &["spec", "nodeName"]);
    if !current.is_empty() {
        return Err(ApiError::conflict(
            &gr,
            &name,
            &format!("pod {name} is already assigned to node \"{current}\""),
        ));
    }
    if !array(pod, &["spec", "schedulingGates"]).is_empty() {
        return Err(ApiError::conflict(
            &gr,
            &name,
            &format!("pod {name} has non-empty .spec.schedulingGates"),
        ));
    }
    let spec =
        object_at(pod, &["spec"]).ok_or_else(|| ApiError::internal("pod has no spec object"))?;
    spec.insert("nodeName".into(), json!(node_name));
    let status = object_at(pod, &["status"])
        .ok_or_else(|| ApiError::internal("pod status is not an object"))?;
    let conditions = status.entry("conditions").or_insert_with(|| json!([]));
    if !conditions.is_array() {
        *conditions = json!([]);
    }
    if let Some(list) = conditions.as_array_mut() {
        let now = now_rfc3339();
        match list
            .iter_mut()
            .find(|c| c.get("type").and_then(Value::as_str) == Some("PodScheduled"))
        {
            Some(Value::Object(c)) => {
                if c.get("status").and_then(Value::as_str) != Some("True") {
                    c.insert("lastTransitionTime".into(), json!(now));
                }
                c.insert("status".into(), json!("True"));
                c.remove("reason");
                c.remove("message");
            }
            _ => list.push(json!({
                "type": "PodScheduled",
                "status": "True",
                "lastProbeTime": null,
                "lastTransitionTime": now,
            })),
        }
    }
    Ok(())
}

/// Validation of a `Binding` body (target.kind must be Node, target.name is required).
pub fn validate_binding(binding: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let kind = str_or_empty(binding, &["target", "kind"]);
    if !kind.is_empty() && kind != "Node" {
        errs.push(FieldError::not_supported(
            "target.kind",
            json!(kind),
            &["Node", "<empty>"],
        ));
    }
    if str_or_empty(binding, &["target", "name"]).is_empty() {
        errs.push(FieldError::required("target.name", ""));
    }
    errs
}

/// Applies a whole `Binding` body: its annotations are copied onto the pod (the scheduler
/// uses them to record decisions), then the pod is bound to `target.name`.
#[allow(clippy::result_large_err)]
pub fn apply_binding(pod: &mut Value, binding: &Value) -> Result<(), ApiError> {
    let node = str_or_empty(binding, &["target", "name"]).to_string();
    bind_pod(pod, &node)?;
    if let Some(ann) = object(binding, &["metadata", "annotations"]).filter(|a| !a.is_empty())
        && let Some(target) = object_at(pod, &["metadata", "annotations"])
    {
        for (k, v) in ann {
            target.insert(k.clone(), v.clone());
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Defaulting

/// Defaults of a PodSpec. `is_pod` adds what upstream defaults only on Pods, not on
/// templates (SetDefaults_Pod: enableServiceLinks, requests from limits, host ports).
pub(crate) fn default_pod_spec(spec: &mut Map<String, Value>, is_pod: bool) {
    default_str(spec, "dnsPolicy", "ClusterFirst");
    default_str(spec, "restartPolicy", "Always");
    default_value(spec, "securityContext", json!({}));
    default_value(spec, "terminationGracePeriodSeconds", json!(30));
    default_str(spec, "schedulerName", "default-scheduler");

    // The deprecated `serviceAccount` mirrors `serviceAccountName` (v1 conversion).
    let deprecated = spec
        .get("serviceAccount")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if !deprecated.is_empty() {
        default_str(spec, "serviceAccountName", &deprecated);
    }
    if let Some(name) = spec
        .get("serviceAccountName")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        let name = name.to_string();
        spec.insert("serviceAccount".into(), json!(name));
    }

    for key in ["containers", "initContainers", "ephemeralContainers"] {
        for_each_object(spec, key, default_container);
    }
    for_each_object(spec, "volumes", default_volume);

    if is_pod {
        default_value(spec, "enableServiceLinks", json!(true));
        for key in ["containers", "initContainers"] {
            for_each_object(spec, key, default_requests_from_limits);
        }
        if spec.get("hostNetwork").and_then(Value::as_bool) == Some(true) {
            for key in ["containers", "initContainers"] {
                for_each_object(spec, key, |c| {
                    for_each_object(c, "ports", |p| {
                        if let Some(cp) = p.get("containerPort").cloned() {
                            default_nonzero(p, "hostPort", cp.as_i64().unwrap_or(0));
                        }
                    })
                });
            }
        }
    }
}

/// Upstream's image pull policy default: Always for `:latest` or an untagged, undigested
/// image (which means latest), IfNotPresent otherwise.
pub(crate) fn default_pull_policy(image: &str) -> &'static str {
    let last = image.rsplit('/').next().unwrap_or(image);
    if image.contains('@') {
        // A digest pins the image; a tag next to it is informational.
        return match last.split('@').next().and_then(|n| n.split_once(':')) {
            Some((_, "latest")) => "Always",
            _ => "IfNotPresent",
        };
    }
    match last.split_once(':') {
        None => "Always",
        Some((_, "latest")) => "Always",
        Some(_) => "IfNotPresent",
    }
}

fn default_container(c: &mut Map<String, Value>) {
    let image = c
        .get("image")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    default_str(c, "imagePullPolicy", default_pull_policy(&image));
    default_str(c, "terminationMessagePath", "/dev/termination-log");
    default_str(c, "terminationMessagePolicy", "File");
    // Go serializes the non-pointer ResourceRequirements even when empty.
    default_value(c, "resources", json!({}));
    for_each_object(c, "ports", |p| default_str(p, "protocol", "TCP"));
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = c.get_mut(probe).and_then(Value::as_object_mut) {
            default_nonzero(p, "timeoutSeconds", 1);
            default_nonzero(p, "periodSeconds", 10);
            default_nonzero(p, "successThreshold", 1);
            default_nonzero(p, "failureThreshold", 3);
            default_handler(p);
        }
    }
    if let Some(lc) = c.get_mut("lifecycle").and_then(Value::as_object_mut) {
        for hook in ["postStart", "preStop"] {
            if let Some(h) = lc.get_mut(hook).and_then(Value::as_object_mut) {
                default_handler(h);
            }
        }
    }
    for_each_object(c, "env", |e| {
        if let Some(vf) = e.get_mut("valueFrom").and_then(Value::as_object_mut)
            && let Some(fr) = vf.get_mut("fieldRef").and_then(Value::as_object_mut)
        {
            default_str(fr, "apiVersion", "v1");
        }
    });
}

fn default_handler(h: &mut Map<String, Value>) {
    if let Some(g) = h.get_mut("httpGet").and_then(Value::as_object_mut) {
        default_str(g, "path", "/");
        default_str(g, "scheme", "HTTP");
    }
    if let Some(g) = h.get_mut("grpc").and_then(Value::as_object_mut) {
        default_value(g, "service", json!(""));
    }
}

fn default_downward_items(m: &mut Map<String, Value>) {
    for_each_object(m, "items", |item| {
        if let Some(fr) = item.get_mut("fieldRef").and_then(Value::as_object_mut) {
            default_str(fr, "apiVersion", "v1");
        }
    });
}

fn default_volume(v: &mut Map<String, Value>) {
    let has_source = v.iter().any(|(k, val)| k != "name" && !val.is_null());
    if !has_source {
        v.insert("emptyDir".into(), json!({}));
    }
    for key in ["secret", "configMap", "downwardAPI", "projected"] {
        if let Some(src) = v.get_mut(key).and_then(Value::as_object_mut) {
            // 0644, upstream's default file mode for projected data.
            default_value(src, "defaultMode", json!(420));
            if key == "downwardAPI" {
                default_downward_items(src);
            }
            if key == "projected" {
                for_each_object(src, "sources", |s| {
                    if let Some(t) = s
                        .get_mut("serviceAccountToken")
                        .and_then(Value::as_object_mut)
                    {
                        default_value(t, "expirationSeconds", json!(3600));
                    }
                    if let Some(d) = s.get_mut("downwardAPI").and_then(Value::as_object_mut) {
                        default_downward_items(d);
                    }
                });
            }
        }
    }
    if let Some(hp) = v.get_mut("hostPath").and_then(Value::as_object_mut) {
        default_value(hp, "type", json!(""));
    }
}

/// A container with limits but no request for a resource requests what it limits.
fn default_requests_from_limits(c: &mut Map<String, Value>) {
    let Some(res) = c.get_mut("resources").and_then(Value::as_object_mut) else {
        return;
    };
    let Some(limits) = res.get("limits").and_then(Value::as_object).cloned() else {
        return;
    };
    if let Some(requests) = child_object(res, "requests") {
        for (k, v) in limits {
            requests.entry(k).or_insert(v);
        }
    }
}

/// What upstream's admission plugins add to every new pod: the namespace's default service
/// account, priority from the priority class, and the default NoExecute tolerations.
fn admit_pod_spec(spec: &mut Map<String, Value>) {
    default_str(spec, "serviceAccountName", "default");
    if let Some(name) = spec.get("serviceAccountName").cloned() {
        spec.insert("serviceAccount".into(), name);
    }

    // The two built-in priority classes; others are resolved by nothing yet and keep what
    // the client sent.
    let class = spec
        .get("priorityClassName")
        .and_then(Value::as_str)
        .unwrap_or("");
    let priority = match class {
        "" => Some(0),
        "system-cluster-critical" => Some(2_000_000_000),
        "system-node-critical" => Some(2_000_001_000),
        _ => None,
    };
    if let Some(p) = priority {
        default_value(spec, "priority", json!(p));
        default_value(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
    }

    add_default_tolerations(spec);
}

/// The DefaultTolerationSeconds admission plugin: tolerate not-ready and unreachable nodes
/// for 300 s unless the pod already says how long.
fn add_default_tolerations(spec: &mut Map<String, Value>) {
    let tolerations = spec.entry("tolerations").or_insert_with(|| json!([]));
    if !tolerations.is_array() {
        *tolerations = json!([]);
    }
    if let Some(list) = tolerations.as_array_mut() {
        for taint in DEFAULT_NOEXECUTE_TAINTS {
            if !list.iter().any(|t| tolerates_noexecute(t, taint)) {
                list.push(json!({
                    "key": taint,
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": DEFAULT_TOLERATION_SECONDS,
                }));
            }
        }
    }
}

/// Whether a toleration already covers a NoExecute taint with `key` (any value).
fn tolerates_noexecute(t: &Value, key: &str) -> bool {
    let effect = str_or_empty(t, &["effect"]);
    let tkey = str_or_empty(t, &["key"]);
    let op = str_or_empty(t, &["operator"]);
    (effect.is_empty() || effect == "NoExecute")
        && ((tkey.is_empty() && op == "Exists") || tkey == key)
}

// ---------------------------------------------------------------------------------------------
// QoS

/// Upstream's QoS class: BestEffort without CPU/memory requests or limits, Guaranteed when
/// every container limits both and requests equal limits, Burstable otherwise.
pub fn qos_class(pod: &Value) -> &'static str {
    use std::collections::BTreeMap;
    let mut requests: BTreeMap<String, i128> = BTreeMap::new();
    let mut limits: BTreeMap<String, i128> = BTreeMap::new();
    let mut guaranteed = true;
    let containers = array(pod, &["spec", "containers"])
        .iter()
        .chain(array(pod, &["spec", "initContainers"]));
    for c in containers {
        for (name, q) in string_map(c, &["resources", "requests"]) {
            if !matches!(name, "cpu" | "memory") {
                continue;
            }
            if let Some(v) = parse_quantity(q).filter(|v| *v > 0) {
                *requests.entry(name.to_string()).or_default() += v;
            }
        }
        let mut found = HashSet::new();
        for (name, q) in string_map(c, &["resources", "limits"]) {
            if !matches!(name, "cpu" | "memory") {
                continue;
            }
            if let Some(v) = parse_quantity(q).filter(|v| *v > 0) {
                found.insert(name);
                *limits.entry(name.to_string()).or_default() += v;
            }
        }
        if !(found.contains("cpu") && found.contains("memory")) {
            guaranteed = false;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    if guaranteed
        && requests.len() == limits.len()
        && requests.iter().all(|(k, v)| limits.get(k) == Some(v))
    {
        return "Guaranteed";
    }
    "Burstable"
}

// ---------------------------------------------------------------------------------------------
// Validation

const RESTART_POLICIES: &[&str] = &["Always", "OnFailure", "Never"];
const DNS_POLICIES: &[&str] = &["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"];
const PULL_POLICIES: &[&str] = &["Always", "IfNotPresent", "Never"];
const TERMINATION_MESSAGE_POLICIES: &[&str] = &["File", "FallbackToLogsOnError"];
const TAINT_EFFECTS: &[&str] = &["NoExecute", "NoSchedule", "PreferNoSchedule"];

/// Validates a pod template (`spec.template` of controllers): its labels, annotations and
/// pod spec.
pub(crate) fn validate_pod_template(template: &Value, path: &str, errs: &mut Errs) {
    validate_labels(
        get(template, &["metadata", "labels"]),
        &format!("{path}.metadata.labels"),
        errs,
    );
    validate_annotations(
        get(template, &["metadata", "annotations"]),
        &format!("{path}.metadata.annotations"),
        errs,
    );
    validate_pod_spec(
        template.get("spec").unwrap_or(&Value::Null),
        &format!("{path}.spec"),
        true,
        errs,
    );
}

/// PodSpec validation (upstream's ValidatePodSpec, the parts that matter on common paths).
pub(crate) fn validate_pod_spec(spec: &Value, p: &str, _is_template: bool, errs: &mut Errs) {
    let volumes = validate_volumes(spec, p, errs);

    let containers = array(spec, &["containers"]);
    if containers.is_empty() {
        errs.push(FieldError::required(format!("{p}.containers"), ""));
    }
    let host_network = get_bool(spec, &["hostNetwork"]).unwrap_or(false);
    let mut names = HashSet::new();
    for (i, c) in array(spec, &["initContainers"]).iter().enumerate() {
        validate_container(
            c,
            &format!("{p}.initContainers[{i}]"),
            &volumes,
            &mut names,
            true,
            host_network,
            errs,
        );
    }
    for (i, c) in containers.iter().enumerate() {
        validate_container(
            c,
            &format!("{p}.containers[{i}]"),
            &volumes,
            &mut names,
            false,
            host_network,
            errs,
        );
    }

    match get_str(spec, &["restartPolicy"]).unwrap_or("") {
        "" => errs.push(FieldError::required(format!("{p}.restartPolicy"), "")),
        r if !RESTART_POLICIES.contains(&r) => errs.push(FieldError::not_supported(
            format!("{p}.restartPolicy"),
            json!(r),
            RESTART_POLICIES,
        )),
        _ => {}
    }
    match get_str(spec, &["dnsPolicy"]).unwrap_or("") {
        "" => errs.push(FieldError::required(format!("{p}.dnsPolicy"), "")),
        "None" if spec.get("dnsConfig").is_none() => errs.push(FieldError::required(
            format!("{p}.dnsConfig"),
            "must provide `dnsConfig` when `dnsPolicy` is None",
        )),
        d if !DNS_POLICIES.contains(&d) => errs.push(FieldError::not_supported(
            format!("{p}.dnsPolicy"),
            json!(d),
            DNS_POLICIES,
        )),
        _ => {}
    }
    validate_labels(spec.get("nodeSelector"), &format!("{p}.nodeSelector"), errs);
    for (field, subdomain) in [
        ("serviceAccountName", true),
        ("nodeName", true),
        ("priorityClassName", true),
        ("hostname", false),
        ("subdomain", false),
    ] {
        if let Some(v) = get_str(spec, &[field]).filter(|s| !s.is_empty()) {
            let fp = format!("{p}.{field}");
            if subdomain {
                validate_dns_subdomain(v, &fp, errs);
            } else {
                validate_dns_label(v, &fp, errs);
            }
        }
    }
    if let Some(n) = get_i64(spec, &["activeDeadlineSeconds"])
        && !(1..=i64::from(i32::MAX)).contains(&n)
    {
        errs.push(FieldError::invalid(
            format!("{p}.activeDeadlineSeconds"),
            json!(n),
            "must be between 1 and 2147483647, inclusive",
        ));
    }
    validate_tolerations(
        array(spec, &["tolerations"]),
        &format!("{p}.tolerations"),
        errs,
    );
    for (i, g) in array(spec, &["readinessGates"]).iter().enumerate() {
        validate_qualified_name(
            str_or_empty(g, &["conditionType"]),
            &format!("{p}.readinessGates[{i}].conditionType"),
            errs,
        );
    }
    let mut gates = HashSet::new();
    for (i, g) in array(spec, &["schedulingGates"]).iter().enumerate() {
        let name = str_or_empty(g, &["name"]);
        let fp = format!("{p}.schedulingGates[{i}].name");
        validate_qualified_name(name, &fp, errs);
        if !gates.insert(name) {
            errs.push(FieldError::duplicate(fp, json!(name)));
        }
    }
    for (i, c) in array(spec, &["topologySpreadConstraints"])
        .iter()
        .enumerate()
    {
        let cp = format!("{p}.topologySpreadConstraints[{i}]");
        match get_i64(c, &["maxSkew"]) {
            Some(n) if n > 0 => {}
            n => errs.push(FieldError::invalid(
                format!("{cp}.maxSkew"),
                json!(n.unwrap_or(0)),
                "must be greater than zero",
            )),
        }
        if str_or_empty(c, &["topologyKey"]).is_empty() {
            errs.push(FieldError::required(
                format!("{cp}.topologyKey"),
                "can not be empty",
            ));
        }
        const WHEN: &[&str] = &["DoNotSchedule", "ScheduleAnyway"];
        let w = str_or_empty(c, &["whenUnsatisfiable"]);
        if !WHEN.contains(&w) {
            errs.push(FieldError::not_supported(
                format!("{cp}.whenUnsatisfiable"),
                json!(w),
                WHEN,
            ));
        }
    }
    for (i, s) in array(spec, &["imagePullSecrets"]).iter().enumerate() {
        if str_or_empty(s, &["name"]).is_empty() {
            errs.push(FieldError::required(
                format!("{p}.imagePullSecrets[{i}].name"),
                "",
            ));
        }
    }
    if let Some(sc) = spec.get("securityContext") {
        for field in ["runAsUser", "runAsGroup", "fsGroup"] {
            validate_nonnegative(sc, &[field], &format!("{p}.securityContext.{field}"), errs);
        }
    }
}

/// Volumes: names unique DNS labels, exactly one source each; returns the volume names.
fn validate_volumes<'a>(spec: &'a Value, p: &str, errs: &mut Errs) -> HashSet<&'a str> {
    let mut names = HashSet::new();
    for (i, v) in array(spec, &["volumes"]).iter().enumerate() {
        let vp = format!("{p}.volumes[{i}]");
        let name = str_or_empty(v, &["name"]);
        if name.is_empty() {
            errs.push(FieldError::required(format!("{vp}.name"), ""));
        } else {
            validate_dns_label(name, &format!("{vp}.name"), errs);
            if !names.insert(name) {
                errs.push(FieldError::duplicate(format!("{vp}.name"), json!(name)));
            }
        }
        let sources: Vec<&str> = v
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, val)| k.as_str() != "name" && !val.is_null())
                    .map(|(k, _)| k.as_str())
                    .collect()
            })
            .unwrap_or_default();
        match sources.len() {
            0 => errs.push(FieldError::required(
                vp.clone(),
                "must specify a volume type",
            )),
            1 => {}
            _ => errs.push(FieldError::forbidden(
                vp.clone(),
                "may not specify more than 1 volume type",
            )),
        }
        let required_name = |src: &str, field: &str, errs: &mut Errs| {
            if v.get(src).is_some() && str_or_empty(v, &[src, field]).is_empty() {
                errs.push(FieldError::required(format!("{vp}.{src}.{field}"), ""));
            }
        };
        required_name("configMap", "name", errs);
        required_name("secret", "secretName", errs);
        required_name("hostPath", "path", errs);
        required_name("persistentVolumeClaim", "claimName", errs);
        for src in ["secret", "configMap", "downwardAPI", "projected"] {
            if let Some(mode) = get_i64(v, &[src, "defaultMode"])
                && !(0..=0o777).contains(&mode)
            {
                errs.push(FieldError::invalid(
                    format!("{vp}.{src}.defaultMode"),
                    json!(mode),
                    "must be a number between 0 and 0777 (octal), both inclusive",
                ));
            }
        }
        if let Some(q) = get_str(v, &["emptyDir", "sizeLimit"]) {
            validate_quantity(q, &format!("{vp}.emptyDir.sizeLimit"), errs);
        }
    }
    names
}

fn validate_quantity(q: &str, field: &str, errs: &mut Errs) -> Option<i128> {
    let parsed = parse_quantity(q);
    if parsed.is_none() {
        errs.push(FieldError::invalid(
            field,
            json!(q),
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
        ));
    }
    parsed
}

#[allow(clippy::too_many_arguments)]
fn validate_container<'a>(
    c: &'a Value,
    cp: &str,
    volumes: &HashSet<&str>,
    names: &mut HashSet<&'a str>,
    is_init: bool,
    host_network: bool,
    errs: &mut Errs,
) {
    let name = str_or_empty(c, &["name"]);
    if name.is_empty() {
        errs.push(FieldError::required(format!("{cp}.name"), ""));
    } else {
        validate_dns_label(name, &format!("{cp}.name"), errs);
        if !names.insert(name) {
            errs.push(FieldError::duplicate(format!("{cp}.name"), json!(name)));
        }
    }
    let image = str_or_empty(c, &["image"]);
    if image.trim().is_empty() {
        errs.push(FieldError::required(format!("{cp}.image"), ""));
    } else if image.trim() != image {
        errs.push(FieldError::invalid(
            format!("{cp}.image"),
            json!(image),
            "must not have leading or trailing whitespace",
        ));
    }
    if let Some(pp) = get_str(c, &["imagePullPolicy"])
        && !PULL_POLICIES.contains(&pp)
    {
        errs.push(FieldError::not_supported(
            format!("{cp}.imagePullPolicy"),
            json!(pp),
            PULL_POLICIES,
        ));
    }
    if let Some(tp) = get_str(c, &["terminationMessagePolicy"])
        && !TERMINATION_MESSAGE_POLICIES.contains(&tp)
    {
        errs.push(FieldError::not_supported(
            format!("{cp}.terminationMessagePolicy"),
            json!(tp),
            TERMINATION_MESSAGE_POLICIES,
        ));
    }

    // Ports.
    let mut port_names = HashSet::new();
    for (j, port) in array(c, &["ports"]).iter().enumerate() {
        let pp = format!("{cp}.ports[{j}]");
        if let Some(n) = get_str(port, &["name"]).filter(|s| !s.is_empty()) {
            for msg in port_name_errors(n) {
                errs.push(FieldError::invalid(format!("{pp}.name"), json!(n), msg));
            }
            if !port_names.insert(n) {
                errs.push(FieldError::duplicate(format!("{pp}.name"), json!(n)));
            }
        }
        validate_port_field(
            port.get("containerPort"),
            &format!("{pp}.containerPort"),
            true,
            errs,
        );
        let host_port = get_i64(port, &["hostPort"]).unwrap_or(0);
        if host_port != 0 {
            validate_port_field(port.get("hostPort"), &format!("{pp}.hostPort"), false, errs);
        }
        if host_network && host_port != 0 && Some(host_port) != get_i64(port, &["containerPort"]) {
            errs.push(FieldError::invalid(
                format!("{pp}.hostPort"),
                json!(host_port),
                "must match `containerPort` when `hostNetwork` is true",
            ));
        }
        validate_protocol(port.get("protocol"), &format!("{pp}.protocol"), errs);
        if let Some(ip) = get_str(port, &["hostIP"]).filter(|s| !s.is_empty()) {
            validate_ip(ip, &format!("{pp}.hostIP"), errs);
        }
    }

    // Environment.
    for (j, e) in array(c, &["env"]).iter().enumerate() {
        let ep = format!("{cp}.env[{j}]");
        let n = str_or_empty(e, &["name"]);
        if n.is_empty() {
            errs.push(FieldError::required(format!("{ep}.name"), ""));
        } else if n.contains('=') || !n.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            errs.push(FieldError::invalid(
                format!("{ep}.name"),
                json!(n),
                "a valid environment variable name must consist only of printable ASCII characters other than '='",
            ));
        }
        if let Some(vf) = e.get("valueFrom").and_then(Value::as_object) {
            let count = vf.values().filter(|v| !v.is_null()).count();
            if count == 0 {
                errs.push(FieldError::invalid(
                    format!("{ep}.valueFrom"),
                    json!(""),
                    "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
                ));
            } else if count > 1 {
                errs.push(FieldError::invalid(
                    format!("{ep}.valueFrom"),
                    json!(""),
                    "may not have more than one field specified at a time",
                ));
            }
            if !str_or_empty(e, &["value"]).is_empty() {
                errs.push(FieldError::invalid(
                    format!("{ep}.valueFrom"),
                    json!(""),
                    "may not be specified when `value` is not empty",
                ));
            }
            if let Some(fr) = vf.get("fieldRef")
                && str_or_empty(fr, &["fieldPath"]).is_empty()
            {
                errs.push(FieldError::required(
                    format!("{ep}.valueFrom.fieldRef.fieldPath"),
                    "",
                ));
            }
            for (src, what) in [("configMapKeyRef", "key"), ("secretKeyRef", "key")] {
                if let Some(r) = vf.get(src)
                    && str_or_empty(r, &[what]).is_empty()
                {
                    errs.push(FieldError::required(
                        format!("{ep}.valueFrom.{src}.{what}"),
                        "",
                    ));
                }
            }
        }
    }
    for (j, ef) in array(c, &["envFrom"]).iter().enumerate() {
        let count = ["configMapRef", "secretRef"]
            .iter()
            .filter(|k| ef.get(**k).is_some_and(|v| !v.is_null()))
            .count();
        if count != 1 {
            errs.push(FieldError::invalid(
                format!("{cp}.envFrom[{j}]"),
                json!(""),
                "must specify one of: `configMapRef` or `secretRef`",
            ));
        }
    }

    // Volume mounts.
    let mut mount_paths = HashSet::new();
    for (j, m) in array(c, &["volumeMounts"]).iter().enumerate() {
        let mp = format!("{cp}.volumeMounts[{j}]");
        let n = str_or_empty(m, &["name"]);
        if n.is_empty() {
            errs.push(FieldError::required(format!("{mp}.name"), ""));
        } else if !volumes.contains(n) {
            errs.push(FieldError::invalid(
                format!("{mp}.name"),
                json!(n),
                "not found",
            ));
        }
        let path = str_or_empty(m, &["mountPath"]);
        if path.is_empty() {
            errs.push(FieldError::required(format!("{mp}.mountPath"), ""));
        } else if !mount_paths.insert(path) {
            errs.push(FieldError::invalid(
                format!("{mp}.mountPath"),
                json!(path),
                "must be unique",
            ));
        }
    }

    validate_resources(c, &format!("{cp}.resources"), errs);

    // Probes and lifecycle.
    let restart = get_str(c, &["restartPolicy"]);
    let sidecar = is_init && restart == Some("Always");
    match (is_init, restart) {
        (_, None) => {}
        (true, Some("Always")) => {}
        (true, Some(r)) => errs.push(FieldError::not_supported(
            format!("{cp}.restartPolicy"),
            json!(r),
            &["Always"],
        )),
        (false, Some(_)) => errs.push(FieldError::forbidden(
            format!("{cp}.restartPolicy"),
            "may not be set for non-init containers",
        )),
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        let Some(pr) = c.get(probe) else { continue };
        let pp = format!("{cp}.{probe}");
        if is_init && !sidecar {
            errs.push(FieldError::forbidden(
                pp,
                "may not be set for init containers without restartPolicy=Always",
            ));
            continue;
        }
        validate_handler(pr, &pp, true, errs);
        for field in [
            "initialDelaySeconds",
            "timeoutSeconds",
            "periodSeconds",
            "successThreshold",
            "failureThreshold",
        ] {
            validate_nonnegative(pr, &[field], &format!("{pp}.{field}"), errs);
        }
        if probe != "readinessProbe"
            && let Some(n) = get_i64(pr, &["successThreshold"]).filter(|n| *n != 1)
        {
            errs.push(FieldError::invalid(
                format!("{pp}.successThreshold"),
                json!(n),
                "must be 1",
            ));
        }
        if let Some(n) = get_i64(pr, &["terminationGracePeriodSeconds"]).filter(|n| *n <= 0) {
            errs.push(FieldError::invalid(
                format!("{pp}.terminationGracePeriodSeconds"),
                json!(n),
                "must be greater than 0",
            ));
        }
    }
    if let Some(lc) = c.get("lifecycle") {
        if is_init && !sidecar {
            errs.push(FieldError::forbidden(
                format!("{cp}.lifecycle"),
                "may not be set for init containers without restartPolicy=Always",
            ));
        } else {
            for hook in ["postStart", "preStop"] {
                if let Some(h) = lc.get(hook) {
                    validate_handler(h, &format!("{cp}.lifecycle.{hook}"), false, errs);
                }
            }
        }
    }
    if let Some(sc) = c.get("securityContext") {
        for field in ["runAsUser", "runAsGroup"] {
            validate_nonnegative(sc, &[field], &format!("{cp}.securityContext.{field}"), errs);
        }
    }
}

/// A probe or lifecycle handler: exactly one action, with valid ports.
fn validate_handler(h: &Value, hp: &str, probe: bool, errs: &mut Errs) {
    let kinds: &[&str] = if probe {
        &["exec", "httpGet", "tcpSocket", "grpc"]
    } else {
        &["exec", "httpGet", "tcpSocket", "sleep"]
    };
    let set: Vec<&str> = kinds
        .iter()
        .copied()
        .filter(|k| h.get(*k).is_some_and(|v| !v.is_null()))
        .collect();
    match set.len() {
        0 => errs.push(FieldError::required(hp, "must specify a handler type")),
        1 => {}
        _ => errs.push(FieldError::forbidden(
            hp,
            "may not specify more than 1 handler type",
        )),
    }
    if let Some(g) = h.get("httpGet") {
        validate_port_num_or_name(g.get("port"), &format!("{hp}.httpGet.port"), errs);
        if let Some(s) = get_str(g, &["scheme"])
            && !matches!(s, "HTTP" | "HTTPS")
        {
            errs.push(FieldError::not_supported(
                format!("{hp}.httpGet.scheme"),
                json!(s),
                &["HTTP", "HTTPS"],
            ));
        }
    }
    if let Some(t) = h.get("tcpSocket") {
        validate_port_num_or_name(t.get("port"), &format!("{hp}.tcpSocket.port"), errs);
    }
    if let Some(g) = h.get("grpc") {
        validate_port_field(g.get("port"), &format!("{hp}.grpc.port"), true, errs);
    }
    if let Some(e) = h.get("exec")
        && array(e, &["command"]).is_empty()
    {
        errs.push(FieldError::required(format!("{hp}.exec.command"), ""));
    }
}

/// Resource names and quantities; requests may not exceed limits.
fn validate_resources(c: &Value, rp: &str, errs: &mut Errs) {
    let mut limits = std::collections::HashMap::new();
    for kind in ["limits", "requests"] {
        for (name, q) in string_map(c, &["resources", kind]) {
            let fp = format!("{rp}.{kind}[{name}]");
            validate_qualified_name(name, &fp, errs);
            let Some(v) = validate_quantity(q, &fp, errs) else {
                continue;
            };
            if v < 0 {
                errs.push(FieldError::invalid(
                    fp,
                    json!(q),
                    "must be greater than or equal to 0",
                ));
                continue;
            }
            if kind == "limits" {
                limits.insert(name, (q, v));
            } else if let Some((lq, lv)) = limits.get(name)
                && v > *lv
            {
                errs.push(FieldError::invalid(
                    format!("{rp}.requests"),
                    json!(q),
                    format!("must be less than or equal to {name} limit of {lq}"),
                ));
            }
        }
    }
}

fn validate_tolerations(tolerations: &[Value], tp: &str, errs: &mut Errs) {
    for (i, t) in tolerations.iter().enumerate() {
        let p = format!("{tp}[{i}]");
        let key = str_or_empty(t, &["key"]);
        let op = get_str(t, &["operator"]).unwrap_or("");
        if !key.is_empty() {
            validate_qualified_name(key, &format!("{p}.key"), errs);
        } else if op != "Exists" {
            errs.push(FieldError::invalid(
                format!("{p}.operator"),
                json!(op),
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            ));
        }
        match op {
            "" | "Equal" => {
                if let Some(v) = get_str(t, &["value"]) {
                    for msg in machinery::validation::label_value_errors(v) {
                        errs.push(FieldError::invalid(format!("{p}.value"), json!(v), msg));
                    }
                }
            }
            "Exists" => {
                if let Some(v) = get_str(t, &["value"]).filter(|v| !v.is_empty()) {
                    errs.push(FieldError::invalid(
                        format!("{p}.operator"),
                        json!(v),
                        "value must be empty when `operator` is 'Exists'",
                    ));
                }
            }
            other => errs.push(FieldError::not_supported(
                format!("{p}.operator"),
                json!(other),
                &["Equal", "Exists"],
            )),
        }
        let effect = str_or_empty(t, &["effect"]);
        if !effect.is_empty() && !TAINT_EFFECTS.contains(&effect) {
            errs.push(FieldError::not_supported(
                format!("{p}.effect"),
                json!(effect),
                TAINT_EFFECTS,
            ));
        }
        if t.get("tolerationSeconds").is_some_and(|v| !v.is_null()) && effect != "NoExecute" {
            errs.push(FieldError::invalid(
                format!("{p}.effect"),
                json!(effect),
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
    }
}

/// Upstream's ValidatePodUpdate for the spec: only images, activeDeadlineSeconds (set or
/// shortened), toleration additions, a negative grace period fixed to 1 and removal of
/// scheduling gates are allowed.
fn validate_pod_spec_update(new: &Value, old: &Value, errs: &mut Errs) {
    if let (Some(n), Some(o)) = (
        get_i64(new, &["activeDeadlineSeconds"]),
        get_i64(old, &["activeDeadlineSeconds"]),
    ) {
        if n > o {
            errs.push(FieldError::invalid(
                "spec.activeDeadlineSeconds",
                json!(n),
                "must be less than or equal to previous value",
            ));
        }
    } else if get_i64(new, &["activeDeadlineSeconds"]).is_none()
        && get_i64(old, &["activeDeadlineSeconds"]).is_some()
    {
        errs.push(FieldError::invalid(
            "spec.activeDeadlineSeconds",
            Value::Null,
            "must not update from a positive integer to nil value",
        ));
    }
    let old_tol = array(old, &["tolerations"]);
    let new_tol = array(new, &["tolerations"]);
    for (i, o) in old_tol.iter().enumerate() {
        let kept = new_tol.iter().any(|n| {
            let strip = |v: &Value| {
                let mut v = v.clone();
                if let Some(m) = v.as_object_mut() {
                    m.remove("tolerationSeconds");
                }
                v
            };
            if strip(n) != strip(o) {
                return false;
            }
            // tolerationSeconds may only be shortened (or set where it was unlimited).
            match (
                get_i64(n, &["tolerationSeconds"]),
                get_i64(o, &["tolerationSeconds"]),
            ) {
                (Some(ns), Some(os)) => ns <= os,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => true,
            }
        });
        if !kept {
            errs.push(FieldError::forbidden(
                format!("spec.tolerations[{i}]"),
                "existing toleration can not be modified except its tolerationSeconds",
            ));
        }
    }

    // Everything else must be unchanged: mask the mutable fields and compare.
    let mut masked = new.clone();
    if let Some(m) = masked.as_object_mut() {
        for key in ["containers", "initContainers"] {
            if let (Some(nc), Some(oc)) = (
                m.get_mut(key).and_then(Value::as_array_mut),
                old.get(key).and_then(Value::as_array),
            ) && nc.len() == oc.len()
            {
                for (n, o) in nc.iter_mut().zip(oc) {
                    if let (Some(n), Some(img)) = (n.as_object_mut(), o.get("image")) {
                        n.insert("image".into(), img.clone());
                    }
                }
            }
        }
        for key in ["activeDeadlineSeconds", "tolerations"] {
            match old.get(key) {
                Some(v) => m.insert(key.into(), v.clone()),
                None => m.remove(key),
            };
        }
        let old_grace = get_i64(old, &["terminationGracePeriodSeconds"]);
        if old_grace.is_some_and(|g| g < 0)
            && get_i64(new, &["terminationGracePeriodSeconds"]) == Some(1)
        {
            m.insert("terminationGracePeriodSeconds".into(), json!(old_grace));
        }
        let old_gates = array(old, &["schedulingGates"]);
        let gates_removed_only = array(new, &["schedulingGates"])
            .iter()
            .all(|g| old_gates.contains(g));
        if gates_removed_only {
            match old.get("schedulingGates") {
                Some(v) => m.insert("schedulingGates".into(), v.clone()),
                None => m.remove("schedulingGates"),
            };
        }
    }
    if strip_empty(&masked) != strip_empty(old) {
        errs.push(FieldError::forbidden("spec", POD_UPDATE_FORBIDDEN));
    }
}

/// Drops empty lists and maps so that `[]` and absent compare equal, as Go's DeepEqual on
/// the decoded structs mostly treats them after omitempty round trips.
fn strip_empty(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| {
                    !matches!(v, Value::Null) && !matches!(v, Value::Array(a) if a.is_empty())
                })
                .map(|(k, v)| (k.clone(), strip_empty(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_empty).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn pod(spec: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"}, "spec": spec})
    }

    fn created(spec: Value) -> Value {
        let mut p = pod(spec);
        PodStrategy.default(&mut p);
        PodStrategy.prepare_for_create(&mut p);
        p
    }

    fn fields(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(|e| e.field.clone()).collect()
    }

    #[test]
    fn defaults_match_upstream() {
        let p = created(json!({"containers": [{
            "name": "web", "image": "nginx",
            "ports": [{"containerPort": 80}],
            "livenessProbe": {"httpGet": {"port": 80}},
        }], "volumes": [{"name": "cfg", "configMap": {"name": "c"}}, {"name": "scratch"}]}));
        let spec = &p["spec"];
        assert_eq!(spec["restartPolicy"], "Always");
        assert_eq!(spec["dnsPolicy"], "ClusterFirst");
        assert_eq!(spec["terminationGracePeriodSeconds"], 30);
        assert_eq!(spec["schedulerName"], "default-scheduler");
        assert_eq!(spec["securityContext"], json!({}));
        assert_eq!(spec["enableServiceLinks"], true);
        assert_eq!(spec["serviceAccountName"], "default");
        assert_eq!(spec["serviceAccount"], "default");
        assert_eq!(spec["priority"], 0);
        assert_eq!(spec["preemptionPolicy"], "PreemptLowerPriority");
        let c = &spec["containers"][0];
        assert_eq!(c["imagePullPolicy"], "Always");
        assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
        assert_eq!(c["terminationMessagePolicy"], "File");
        assert_eq!(c["resources"], json!({}));
        assert_eq!(c["ports"][0]["protocol"], "TCP");
        assert_eq!(
            c["livenessProbe"],
            json!({"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3})
        );
        assert_eq!(spec["volumes"][0]["configMap"]["defaultMode"], 420);
        assert_eq!(spec["volumes"][1]["emptyDir"], json!({}));
        let tol = spec["tolerations"].as_array().unwrap();
        assert_eq!(tol.len(), 2);
        assert_eq!(tol[0]["key"], "node.kubernetes.io/not-ready");
        assert_eq!(tol[1]["tolerationSeconds"], 300);
        assert_eq!(
            p["status"],
            json!({"phase": "Pending", "qosClass": "BestEffort"})
        );
        assert!(
            PodStrategy.validate(&p).is_empty(),
            "{:?}",
            PodStrategy.validate(&p)
        );
    }

    #[test]
    fn existing_tolerations_are_respected() {
        let p = created(
            json!({"containers": [{"name": "a", "image": "x"}], "tolerations": [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5},
            ]}),
        );
        let tol = p["spec"]["tolerations"].as_array().unwrap();
        assert_eq!(tol.len(), 2);
        assert_eq!(tol[0]["tolerationSeconds"], 5);
        let p = created(
            json!({"containers": [{"name": "a", "image": "x"}], "tolerations": [{"operator": "Exists"}]}),
        );
        assert_eq!(p["spec"]["tolerations"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn pull_policy_follows_tag() {
        for (image, want) in [
            ("nginx", "Always"),
            ("nginx:latest", "Always"),
            ("nginx:1.25", "IfNotPresent"),
            ("localhost:5000/nginx", "Always"),
            ("localhost:5000/nginx:v1", "IfNotPresent"),
            ("nginx@sha256:abcd", "IfNotPresent"),
            ("registry.k8s.io/pause:3.10", "IfNotPresent"),
        ] {
            assert_eq!(default_pull_policy(image), want, "{image}");
        }
    }

    #[test]
    fn qos_classes() {
        let cases = [
            (json!([{"name": "a", "image": "x"}]), "BestEffort"),
            (
                json!([{"name": "a", "image": "x", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]),
                "Guaranteed",
            ),
            (
                json!([{"name": "a", "image": "x", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1000m", "memory": "1Gi"}}}]),
                "Guaranteed",
            ),
            (
                json!([{"name": "a", "image": "x", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}}}]),
                "Burstable",
            ),
            (
                json!([{"name": "a", "image": "x", "resources": {"requests": {"cpu": "100m"}}}]),
                "Burstable",
            ),
            (
                json!([{"name": "a", "image": "x", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}, {"name": "b", "image": "y"}]),
                "Burstable",
            ),
        ];
        for (containers, want) in cases {
            let p = created(json!({ "containers": containers }));
            assert_eq!(p["status"]["qosClass"], want, "{containers}");
        }
    }

    #[test]
    fn validation_paths_and_wording() {
        let cases: Vec<(Value, Vec<&str>)> = vec![
            (json!({}), vec!["spec.containers"]),
            (
                json!({"containers": [{"name": "", "image": ""}]}),
                vec!["spec.containers[0].name", "spec.containers[0].image"],
            ),
            (
                json!({"containers": [{"name": "Bad_Name", "image": "x"}]}),
                vec!["spec.containers[0].name"],
            ),
            (
                json!({"containers": [{"name": "a", "image": "x"}, {"name": "a", "image": "y"}]}),
                vec!["spec.containers[1].name"],
            ),
            (
                json!({"containers": [{"name": "a", "image": "x", "ports": [{"containerPort": 70000}]}]}),
                vec!["spec.containers[0].ports[0].containerPort"],
            ),
            (
                json!({"containers": [{"name": "a", "image": "x", "ports": [{"containerPort": 80, "protocol": "HTTP"}]}]}),
                vec!["spec.containers[0].ports[0].protocol"],
            ),
            (
                json!({"containers": [{"name": "a", "image": "x"}], "restartPolicy": "Sometimes"}),
                vec!["spec.restartPolicy"],
            ),
            (
                json!({"containers": [{"name": "a", "image": "x", "volumeMounts": [{"name": "nope", "mountPath": "/x"}]}]}),
                vec!["spec.containers[0].volumeMounts[0].name"],
            ),
            (
                json!({"containers": [{"name": "a", "image": "x", "resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "2"}}}]}),
                vec!["spec.containers[0].resources.requests"],
            ),
            (
                json!({"containers": [{"name": "a", "image": "x", "resources": {"limits": {"cpu": "lots"}}}]}), // Requests default from limits on pods, so the bad value shows twice.
                vec![
                    "spec.containers[0].resources.limits[cpu]",
                    "spec.containers[0].resources.requests[cpu]",
                ],
            ),
            (
                json!({"containers": [{"name": "a", "image": "x", "livenessProbe": {}}]}),
                vec!["spec.containers[0].livenessProbe"],
            ),
            (
                json!({"containers": [{"name": "a", "image": "x"}], "tolerations": [{"key": "k", "effect": "NoSchedule", "tolerationSeconds": 3}]}),
                vec!["spec.tolerations[0].effect"],
            ),
            (
                json!({"containers": [{"name": "a", "image": "x"}], "volumes": [{"name": "v", "emptyDir": {}, "hostPath": {"path": "/"}}]}),
                vec!["spec.volumes[0]"],
            ),
            (
                json!({"containers": [{"name": "a", "image": "x"}], "activeDeadlineSeconds": 0}),
                vec!["spec.activeDeadlineSeconds"],
            ),
        ];
        for (spec, want) in cases {
            let mut p = pod(spec.clone());
            PodStrategy.default(&mut p);
            let errs = PodStrategy.validate(&p);
            assert_eq!(fields(&errs), want, "{spec}: {errs:?}");
        }
        let mut p =
            pod(json!({"containers": [{"name": "a", "image": "x"}], "restartPolicy": "Sometimes"}));
        PodStrategy.default(&mut p);
        assert_eq!(
            PodStrategy.validate(&p)[0].to_string(),
            "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\""
        );
    }

    #[test]
    fn update_allows_only_mutable_fields() {
        let old = created(json!({"containers": [{"name": "a", "image": "nginx:1"}]}));
        let mut new = old.clone();
        new["spec"]["containers"][0]["image"] = json!("nginx:2");
        new["spec"]["activeDeadlineSeconds"] = json!(100);
        new["spec"]["tolerations"]
            .as_array_mut()
            .unwrap()
            .push(json!({"key": "x", "operator": "Exists"}));
        assert!(
            PodStrategy.validate_update(&new, &old).is_empty(),
            "{:?}",
            PodStrategy.validate_update(&new, &old)
        );

        let mut bad = old.clone();
        bad["spec"]["containers"][0]["ports"] = json!([{"containerPort": 80, "protocol": "TCP"}]);
        let errs = PodStrategy.validate_update(&bad, &old);
        assert_eq!(errs.len(), 1);
        assert_eq!(
            errs[0].to_string(),
            format!("spec: Forbidden: {POD_UPDATE_FORBIDDEN}")
        );

        let mut moved = old.clone();
        moved["spec"]["nodeName"] = json!("n2");
        assert_eq!(
            fields(&PodStrategy.validate_update(&moved, &old)),
            vec!["spec"]
        );

        let mut dropped = old.clone();
        dropped["spec"]["tolerations"] = json!([]);
        assert_eq!(
            fields(&PodStrategy.validate_update(&dropped, &old)),
            vec!["spec.tolerations[0]", "spec.tolerations[1]"]
        );
    }

    #[test]
    fn replacing_with_a_bare_manifest_keeps_admission_defaults() {
        let old = created(json!({"containers": [{"name": "a", "image": "nginx:1"}]}));
        let mut new = pod(
            json!({"containers": [{"name": "a", "image": "nginx:2"}], "serviceAccountName": "default"}),
        );
        PodStrategy.prepare_for_update(&mut new, &old);
        PodStrategy.default(&mut new);
        assert_eq!(new["spec"]["tolerations"], old["spec"]["tolerations"]);
        assert_eq!(new["spec"]["priority"], 0);
        assert!(
            PodStrategy.validate_update(&new, &old).is_empty(),
            "{:?}",
            PodStrategy.validate_update(&new, &old)
        );
    }

    #[test]
    fn update_keeps_status() {
        let mut old = created(json!({"containers": [{"name": "a", "image": "x"}]}));
        old["status"]["phase"] = json!("Running");
        let mut new = old.clone();
        new["status"] = json!({"phase": "Failed"});
        PodStrategy.prepare_for_update(&mut new, &old);
        assert_eq!(new["status"]["phase"], "Running");
    }

    #[test]
    fn binding() {
        let mut p = created(json!({"containers": [{"name": "a", "image": "x"}]}));
        bind_pod(&mut p, "node-1").unwrap();
        assert_eq!(p["spec"]["nodeName"], "node-1");
        let cond = &p["status"]["conditions"][0];
        assert_eq!(cond["type"], "PodScheduled");
        assert_eq!(cond["status"], "True");
        let err = bind_pod(&mut p, "node-2").unwrap_err();
        assert_eq!(err.code, 409);
        assert_eq!(err.reason, "Conflict");
        assert_eq!(
            err.message,
            "Operation cannot be fulfilled on pods \"p\": pod p is already assigned to node \"node-1\""
        );

        let mut deleting = created(json!({"containers": [{"name": "a", "image": "x"}]}));
        deleting["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z");
        assert_eq!(bind_pod(&mut deleting, "n").unwrap_err().code, 409);

        let mut gated = created(
            json!({"containers": [{"name": "a", "image": "x"}], "schedulingGates": [{"name": "g"}]}),
        );
        assert_eq!(
            gated["status"]["conditions"][0]["reason"],
            "SchedulingGated"
        );
        assert_eq!(bind_pod(&mut gated, "n").unwrap_err().code, 409);

        let mut p = created(json!({"containers": [{"name": "a", "image": "x"}]}));
        let b = json!({"metadata": {"name": "p", "annotations": {"a": "b"}}, "target": {"kind": "Node", "name": "n1"}});
        assert!(validate_binding(&b).is_empty());
        apply_binding(&mut p, &b).unwrap();
        assert_eq!(p["metadata"]["annotations"]["a"], "b");
        assert_eq!(
            fields(&validate_binding(&json!({"target": {"kind": "Pod"}}))),
            vec!["target.kind", "target.name"]
        );
    }

    #[test]
    fn field_selectors() {
        let mut p = created(json!({"containers": [{"name": "a", "image": "x"}]}));
        p["status"]["podIPs"] = json!([{"ip": "10.0.0.1"}]);
        assert_eq!(
            PodStrategy.field_value(&p, "spec.nodeName").as_deref(),
            Some("")
        );
        assert_eq!(
            PodStrategy.field_value(&p, "status.phase").as_deref(),
            Some("Pending")
        );
        assert_eq!(
            PodStrategy.field_value(&p, "status.podIP").as_deref(),
            Some("10.0.0.1")
        );
        assert_eq!(
            PodStrategy.field_value(&p, "spec.restartPolicy").as_deref(),
            Some("Always")
        );
        assert_eq!(
            PodStrategy.field_value(&p, "spec.hostNetwork").as_deref(),
            Some("false")
        );
        assert_eq!(PodStrategy.field_value(&p, "spec.bogus"), None);
    }

    #[test]
    fn malformed_shapes_do_not_panic() {
        for spec in [
            json!(null),
            json!("x"),
            json!({"containers": "x"}),
            json!({"containers": [1, null, {"ports": "x"}]}),
            json!({"volumes": [{"name": 3}]}),
        ] {
            let mut p = pod(spec);
            PodStrategy.default(&mut p);
            PodStrategy.prepare_for_create(&mut p);
            let _ = PodStrategy.validate(&p);
            let _ = PodStrategy.validate_update(&p, &p);
        }
    }
}
