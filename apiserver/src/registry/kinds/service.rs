//! Services: upstream's defaults (SetDefaults_Service plus the IP family fields the service
//! REST fills in), the interlinked clusterIP/clusterIPs and type-dependent fields on update
//! (normalizeClusterIPs, patchAllocatedValues, dropTypeDependentFields) and validation.
//! Allocation of cluster IPs and node ports is in `registry::allocator`.

use std::collections::HashSet;

use machinery::FieldError;
use machinery::validation::{dns1035_label_errors, dns1123_label_errors};
use serde_json::{Map, Value, json};

use super::common::*;
use crate::registry::strategy::Strategy;

pub struct ServiceStrategy;

const TYPES: &[&str] = &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];

pub(crate) fn svc_type(svc: &Value) -> &str {
    match str_or_empty(svc, &["spec", "type"]) {
        "" => "ClusterIP",
        t => t,
    }
}

/// Every type but ExternalName gets a cluster IP (or is headless).
pub(crate) fn needs_cluster_ip(svc: &Value) -> bool {
    svc_type(svc) != "ExternalName"
}

pub(crate) fn needs_node_port(svc: &Value) -> bool {
    matches!(svc_type(svc), "NodePort" | "LoadBalancer")
}

pub(crate) fn needs_health_check_node_port(svc: &Value) -> bool {
    svc_type(svc) == "LoadBalancer"
        && str_or_empty(svc, &["spec", "externalTrafficPolicy"]) == "Local"
}

/// Reachable from outside the cluster: what externalTrafficPolicy applies to.
fn externally_accessible(svc: &Value) -> bool {
    matches!(svc_type(svc), "NodePort" | "LoadBalancer")
        || (svc_type(svc) == "ClusterIP" && !array(svc, &["spec", "externalIPs"]).is_empty())
}

fn is_headless(svc: &Value) -> bool {
    str_or_empty(svc, &["spec", "clusterIP"]) == "None"
}

impl Strategy for ServiceStrategy {
    fn default(&self, obj: &mut Value) {
        let headless = is_headless(obj);
        let has_selector = object(obj, &["spec", "selector"]).is_some_and(|m| !m.is_empty());
        let needs_ip = needs_cluster_ip(obj);
        let external = externally_accessible(obj);
        let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
            return;
        };
        default_str(spec, "type", "ClusterIP");
        let ty = spec
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("ClusterIP")
            .to_string();
        default_str(spec, "sessionAffinity", "None");
        match spec.get("sessionAffinity").and_then(Value::as_str) {
            Some("None") => {
                spec.remove("sessionAffinityConfig");
            }
            Some("ClientIP") => {
                let has_timeout = spec
                    .get("sessionAffinityConfig")
                    .and_then(|c| c.get("clientIP"))
                    .and_then(|c| c.get("timeoutSeconds"))
                    .is_some_and(|t| !t.is_null());
                if !has_timeout {
                    spec.insert(
                        "sessionAffinityConfig".into(),
                        json!({ "clientIP": { "timeoutSeconds": 10800 } }),
                    );
                }
            }
            _ => {}
        }
        for_each_object(spec, "ports", |p| {
            default_str(p, "protocol", "TCP");
            let unset = match p.get("targetPort") {
                None | Some(Value::Null) => true,
                Some(Value::Number(n)) => n.as_i64() == Some(0),
                Some(Value::String(s)) => s.is_empty(),
                _ => false,
            };
            if unset && let Some(port) = p.get("port").cloned() {
                p.insert("targetPort".into(), port);
            }
        });
        if external {
            default_str(spec, "externalTrafficPolicy", "Cluster");
        }
        if ty != "ExternalName" {
            default_value(spec, "internalTrafficPolicy", json!("Cluster"));
        }
        if ty == "LoadBalancer" {
            default_value(spec, "allocateLoadBalancerNodePorts", json!(true));
        }
        if needs_ip {
            default_ip_families(spec, headless, has_selector);
        }
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        normalize_cluster_ips(obj, None);
        if let Some(m) = obj.as_object_mut() {
            m.insert("status".into(), json!({ "loadBalancer": {} }));
        }
    }

    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        keep_from_old(new, old, "status");
        patch_allocated_values(new, old);
        normalize_cluster_ips(new, Some(old));
        drop_type_dependent_fields(new, old);
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        validate_service(obj, &mut errs);
        errs
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        validate_service(new, &mut errs);
        if needs_cluster_ip(old) && needs_cluster_ip(new) {
            let old_ip = str_or_empty(old, &["spec", "clusterIP"]);
            let new_ip = str_or_empty(new, &["spec", "clusterIP"]);
            if !old_ip.is_empty() && old_ip != new_ip {
                errs.push(FieldError::invalid(
                    "spec.clusterIPs[0]",
                    get(new, &["spec", "clusterIPs"])
                        .cloned()
                        .unwrap_or(json!([new_ip])),
                    "may not change once set",
                ));
            }
        }
        errs
    }

    fn validate_status_update(&self, new: &Value, _old: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        for (i, ing) in array(new, &["status", "loadBalancer", "ingress"])
            .iter()
            .enumerate()
        {
            if let Some(ip) = get_str(ing, &["ip"]).filter(|s| !s.is_empty()) {
                validate_ip(
                    ip,
                    &format!("status.loadBalancer.ingress[{i}].ip"),
                    &mut errs,
                );
            }
            if let Some(h) = get_str(ing, &["hostname"]).filter(|s| !s.is_empty()) {
                validate_dns_subdomain(
                    h,
                    &format!("status.loadBalancer.ingress[{i}].hostname"),
                    &mut errs,
                );
            }
        }
        errs
    }

    fn status_via_subresource(&self) -> bool {
        true
    }

    fn name_is_label(&self) -> bool {
        true
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        match field {
            "spec.clusterIP" => Some(str_or_empty(obj, &["spec", "clusterIP"]).to_string()),
            "spec.type" => Some(str_or_empty(obj, &["spec", "type"]).to_string()),
            _ => None,
        }
    }
}

/// ipFamilies and ipFamilyPolicy on a cluster whose only family is IPv4 (what upstream's
/// allocator initialises on create).
fn default_ip_families(spec: &mut Map<String, Value>, headless: bool, has_selector: bool) {
    let families_empty = spec
        .get("ipFamilies")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty);
    let policy = if headless && !has_selector {
        // Selectorless headless services may front endpoints of either family.
        "RequireDualStack"
    } else {
        "SingleStack"
    };
    default_value(spec, "ipFamilyPolicy", json!(policy));
    if families_empty {
        let family = spec
            .get("clusterIP")
            .and_then(Value::as_str)
            .and_then(parse_ip)
            .map_or("IPv4", |ip| if ip.is_ipv6() { "IPv6" } else { "IPv4" });
        spec.insert("ipFamilies".into(), json!([family]));
    }
}

fn cluster_ips(svc: &Value) -> Option<&Value> {
    get(svc, &["spec", "clusterIPs"]).filter(|v| v.as_array().is_some_and(|a| !a.is_empty()))
}

/// Keeps clusterIP and clusterIPs consistent for clients that know only the singular field
/// (upstream's normalizeClusterIPs).
pub(crate) fn normalize_cluster_ips(new: &mut Value, old: Option<&Value>) {
    let new_ip = str_or_empty(new, &["spec", "clusterIP"]).to_string();
    let new_ips = cluster_ips(new).cloned();
    let Some(spec) = existing_object_at(new, &["spec"]) else {
        return;
    };
    let Some(old) = old else {
        if !new_ip.is_empty() && new_ips.is_none() {
            spec.insert("clusterIPs".into(), json!([new_ip]));
        }
        return;
    };
    let old_ip = str_or_empty(old, &["spec", "clusterIP"]);
    let old_ips = cluster_ips(old).cloned();
    let mut new_ips = new_ips;
    if old_ips.is_some() && new_ips.is_none() && old_ip == new_ip {
        spec.insert("clusterIPs".into(), old_ips.clone().unwrap_or(Value::Null));
        new_ips = old_ips.clone();
    }
    if old_ip != new_ip {
        let same_ips = new_ips == old_ips;
        if !old_ip.is_empty() && new_ip.is_empty() {
            if same_ips {
                spec.remove("clusterIPs");
            }
        } else if same_ips {
            spec.insert("clusterIPs".into(), json!([new_ip]));
        }
    }
}

/// Clients that resubmit a manifest without the values the server allocated keep them
/// (upstream's patchAllocatedValues).
pub(crate) fn patch_allocated_values(new: &mut Value, old: &Value) {
    if needs_cluster_ip(old) && needs_cluster_ip(new) {
        let old_ip = get(old, &["spec", "clusterIP"]).cloned();
        let old_ips = cluster_ips(old).cloned();
        let new_ip_empty = str_or_empty(new, &["spec", "clusterIP"]).is_empty();
        let new_ips_empty = cluster_ips(new).is_none();
        if let Some(spec) = existing_object_at(new, &["spec"]) {
            if new_ip_empty && let Some(ip) = old_ip {
                spec.insert("clusterIP".into(), ip);
            }
            if new_ips_empty && let Some(ips) = old_ips {
                spec.insert("clusterIPs".into(), ips);
            }
        }
    }
    if needs_node_port(old) && needs_node_port(new) {
        let node_ports = |svc: &Value| -> HashSet<i64> {
            array(svc, &["spec", "ports"])
                .iter()
                .filter_map(|p| get_i64(p, &["nodePort"]))
                .filter(|n| *n != 0)
                .collect()
        };
        let used: HashSet<i64> = node_ports(old)
            .intersection(&node_ports(new))
            .copied()
            .collect();
        let by_name: std::collections::HashMap<String, i64> = array(old, &["spec", "ports"])
            .iter()
            .map(|p| {
                (
                    str_or_empty(p, &["name"]).to_string(),
                    get_i64(p, &["nodePort"]).unwrap_or(0),
                )
            })
            .collect();
        if let Some(spec) = existing_object_at(new, &["spec"]) {
            for_each_object(spec, "ports", |p| {
                if p.get("nodePort").and_then(Value::as_i64).unwrap_or(0) == 0 {
                    let name = p.get("name").and_then(Value::as_str).unwrap_or("");
                    if let Some(&old_np) = by_name.get(name)
                        && old_np != 0
                        && !used.contains(&old_np)
                    {
                        p.insert("nodePort".into(), json!(old_np));
                    }
                }
            });
        }
    }
    if needs_health_check_node_port(old) && needs_health_check_node_port(new) {
        let old_hc = get(old, &["spec", "healthCheckNodePort"]).cloned();
        if get_i64(new, &["spec", "healthCheckNodePort"]).unwrap_or(0) == 0
            && let (Some(spec), Some(hc)) = (existing_object_at(new, &["spec"]), old_hc)
        {
            spec.insert("healthCheckNodePort".into(), hc);
        }
    }
}

/// When a type change makes fields meaningless and the client left them as they were, they
/// are cleared (and their allocations released), as upstream's dropTypeDependentFields.
pub(crate) fn drop_type_dependent_fields(new: &mut Value, old: &Value) {
    let same = |path: &[&str]| get(new, path) == get(old, path);
    let mut remove: Vec<&str> = Vec::new();
    let mut clear_node_ports = false;
    if needs_cluster_ip(old) && !needs_cluster_ip(new) {
        if same(&["spec", "clusterIP"]) && same(&["spec", "clusterIPs"]) {
            remove.extend(["clusterIP", "clusterIPs"]);
        }
        if same(&["spec", "ipFamilies"]) {
            remove.push("ipFamilies");
        }
        if same(&["spec", "ipFamilyPolicy"]) {
            remove.push("ipFamilyPolicy");
        }
    }
    if needs_node_port(old) && !needs_node_port(new) {
        let np = |svc: &Value| -> Vec<Option<i64>> {
            array(svc, &["spec", "ports"])
                .iter()
                .map(|p| get_i64(p, &["nodePort"]))
                .collect()
        };
        clear_node_ports = np(new) == np(old);
    }
    if needs_health_check_node_port(old)
        && !needs_health_check_node_port(new)
        && same(&["spec", "healthCheckNodePort"])
    {
        remove.push("healthCheckNodePort");
    }
    if svc_type(old) == "LoadBalancer" && svc_type(new) != "LoadBalancer" {
        if same(&["spec", "allocateLoadBalancerNodePorts"]) {
            remove.push("allocateLoadBalancerNodePorts");
        }
        if same(&["spec", "loadBalancerClass"]) {
            remove.push("loadBalancerClass");
        }
    }
    if externally_accessible(old)
        && !externally_accessible(new)
        && same(&["spec", "externalTrafficPolicy"])
    {
        remove.push("externalTrafficPolicy");
    }
    if svc_type(new) == "ExternalName" && same(&["spec", "internalTrafficPolicy"]) {
        remove.push("internalTrafficPolicy");
    }
    if let Some(spec) = existing_object_at(new, &["spec"]) {
        for key in remove {
            spec.remove(key);
        }
        if clear_node_ports {
            for_each_object(spec, "ports", |p| {
                p.remove("nodePort");
            });
        }
    }
}

fn validate_service(svc: &Value, errs: &mut Errs) {
    let name = str_or_empty(svc, &["metadata", "name"]);
    // The generic store checks names as RFC 1123 labels; Services also must start with a
    // letter (RFC 1035). Report that only when the label check itself passed.
    if !name.is_empty() && dns1123_label_errors(name).is_empty() {
        for msg in dns1035_label_errors(name) {
            errs.push(FieldError::invalid("metadata.name", json!(name), msg));
        }
    }
    let spec = svc.get("spec").unwrap_or(&Value::Null);
    let ty = svc_type(svc);
    if !TYPES.contains(&ty) {
        errs.push(FieldError::not_supported("spec.type", json!(ty), TYPES));
    }
    let cluster_ip = str_or_empty(spec, &["clusterIP"]);
    let headless = cluster_ip == "None";
    let ports = array(spec, &["ports"]);

    if ty == "ExternalName" {
        let ext = str_or_empty(spec, &["externalName"]);
        if ext.is_empty() {
            errs.push(FieldError::required("spec.externalName", ""));
        } else {
            validate_dns_subdomain(ext.trim_end_matches('.'), "spec.externalName", errs);
        }
        if !cluster_ip.is_empty() {
            errs.push(FieldError::forbidden(
                "spec.clusterIP",
                "may not be set for ExternalName services",
            ));
        }
        if !array(spec, &["clusterIPs"]).is_empty() && cluster_ip.is_empty() {
            errs.push(FieldError::forbidden(
                "spec.clusterIPs",
                "may not be set for ExternalName services",
            ));
        }
    } else {
        if ports.is_empty() && !headless {
            errs.push(FieldError::required("spec.ports", ""));
        }
        if !cluster_ip.is_empty() && !headless && parse_ip(cluster_ip).is_none() {
            errs.push(FieldError::invalid(
                "spec.clusterIPs[0]",
                json!(cluster_ip),
                "must be empty, 'None', or a valid IP address",
            ));
        }
        let ips = array(spec, &["clusterIPs"]);
        if let Some(first) = ips.first().and_then(Value::as_str)
            && first != cluster_ip
        {
            errs.push(FieldError::invalid(
                "spec.clusterIPs[0]",
                json!(first),
                "must match `spec.clusterIP`",
            ));
        }
        for (i, ip) in ips.iter().enumerate().skip(1) {
            if let Some(s) = ip.as_str() {
                validate_ip(s, &format!("spec.clusterIPs[{i}]"), errs);
            }
        }
        if headless && matches!(ty, "NodePort" | "LoadBalancer") {
            errs.push(FieldError::invalid(
                "spec.clusterIPs[0]",
                json!("None"),
                format!("may not be set to 'None' for {ty} services"),
            ));
        }
    }

    validate_service_ports(ports, ty, errs);

    match str_or_empty(spec, &["sessionAffinity"]) {
        "" | "None" => {}
        "ClientIP" => {
            if let Some(t) = get_i64(
                spec,
                &["sessionAffinityConfig", "clientIP", "timeoutSeconds"],
            ) && !(1..=86400).contains(&t)
            {
                errs.push(FieldError::invalid(
                    "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                    json!(t),
                    "must be greater than 0 and less than 86400",
                ));
            }
        }
        other => errs.push(FieldError::not_supported(
            "spec.sessionAffinity",
            json!(other),
            &["ClientIP", "None"],
        )),
    }
    match str_or_empty(spec, &["externalTrafficPolicy"]) {
        "" => {}
        p @ ("Cluster" | "Local") => {
            if !externally_accessible(svc) {
                errs.push(FieldError::invalid(
                    "spec.externalTrafficPolicy",
                    json!(p),
                    "may only be set for externally-accessible services",
                ));
            }
        }
        other => errs.push(FieldError::not_supported(
            "spec.externalTrafficPolicy",
            json!(other),
            &["Cluster", "Local"],
        )),
    }
    if let Some(p) = get_str(spec, &["internalTrafficPolicy"])
        && !matches!(p, "Cluster" | "Local")
    {
        errs.push(FieldError::not_supported(
            "spec.internalTrafficPolicy",
            json!(p),
            &["Cluster", "Local"],
        ));
    }
    if let Some(p) = get_str(spec, &["ipFamilyPolicy"]) {
        const POLICIES: &[&str] = &["SingleStack", "PreferDualStack", "RequireDualStack"];
        if !POLICIES.contains(&p) {
            errs.push(FieldError::not_supported(
                "spec.ipFamilyPolicy",
                json!(p),
                POLICIES,
            ));
        }
    }
    let families = array(spec, &["ipFamilies"]);
    let mut seen = HashSet::new();
    for (i, f) in families.iter().enumerate() {
        let f = f.as_str().unwrap_or("");
        let fp = format!("spec.ipFamilies[{i}]");
        if !matches!(f, "IPv4" | "IPv6") {
            errs.push(FieldError::not_supported(
                fp.clone(),
                json!(f),
                &["IPv4", "IPv6"],
            ));
        }
        if !seen.insert(f) {
            errs.push(FieldError::duplicate(fp, json!(f)));
        }
    }
    if families.len() > 2 {
        errs.push(FieldError {
            error_type: machinery::validation::FieldErrorType::Invalid,
            field: "spec.ipFamilies".into(),
            bad_value: Some(json!(families)),
            detail: "may specify no more than two IP families".into(),
        });
    }
    validate_labels(spec.get("selector"), "spec.selector", errs);
    for (i, ip) in array(spec, &["externalIPs"]).iter().enumerate() {
        validate_ip(
            ip.as_str().unwrap_or(""),
            &format!("spec.externalIPs[{i}]"),
            errs,
        );
    }
    for (i, r) in array(spec, &["loadBalancerSourceRanges"])
        .iter()
        .enumerate()
    {
        validate_cidr(
            r.as_str().unwrap_or("").trim(),
            &format!("spec.loadBalancerSourceRanges[{i}]"),
            errs,
        );
    }
    if is_set(spec.get("allocateLoadBalancerNodePorts")) && ty != "LoadBalancer" {
        errs.push(FieldError::forbidden(
            "spec.allocateLoadBalancerNodePorts",
            "may only be used when `type` is 'LoadBalancer'",
        ));
    }
    if let Some(hc) = get_i64(spec, &["healthCheckNodePort"]).filter(|n| *n != 0) {
        if !needs_health_check_node_port(svc) {
            errs.push(FieldError::invalid(
                "spec.healthCheckNodePort",
                json!(hc),
                "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
            ));
        } else if !valid_port(hc) {
            errs.push(FieldError::invalid(
                "spec.healthCheckNodePort",
                json!(hc),
                PORT_RANGE_MSG,
            ));
        }
    }
}

fn validate_service_ports(ports: &[Value], ty: &str, errs: &mut Errs) {
    let mut names = HashSet::new();
    let mut port_proto = HashSet::new();
    let mut node_port_proto = HashSet::new();
    for (i, p) in ports.iter().enumerate() {
        let pp = format!("spec.ports[{i}]");
        let name = str_or_empty(p, &["name"]);
        if ports.len() > 1 && name.is_empty() {
            errs.push(FieldError::required(format!("{pp}.name"), ""));
        } else if !name.is_empty() {
            validate_dns_label(name, &format!("{pp}.name"), errs);
            if !names.insert(name) {
                errs.push(FieldError::duplicate(format!("{pp}.name"), json!(name)));
            }
        }
        validate_port_field(p.get("port"), &format!("{pp}.port"), true, errs);
        validate_protocol(p.get("protocol"), &format!("{pp}.protocol"), errs);
        if let Some(tp) = p.get("targetPort").filter(|v| !v.is_null()) {
            validate_port_num_or_name(Some(tp), &format!("{pp}.targetPort"), errs);
        }
        let proto = str_or_empty(p, &["protocol"]);
        if let Some(port) = get_i64(p, &["port"])
            && !port_proto.insert((port, proto))
        {
            errs.push(FieldError::duplicate(
                pp.clone(),
                json!({"port": port, "protocol": proto}),
            ));
        }
        let node_port = get_i64(p, &["nodePort"]).unwrap_or(0);
        if node_port != 0 {
            if matches!(ty, "ClusterIP" | "ExternalName") {
                errs.push(FieldError::forbidden(
                    format!("{pp}.nodePort"),
                    format!("may not be used when `type` is '{ty}'"),
                ));
            } else if !valid_port(node_port) {
                errs.push(FieldError::invalid(
                    format!("{pp}.nodePort"),
                    json!(node_port),
                    PORT_RANGE_MSG,
                ));
            } else if !node_port_proto.insert((node_port, proto)) {
                errs.push(FieldError::duplicate(
                    format!("{pp}.nodePort"),
                    json!({"nodePort": node_port, "protocol": proto}),
                ));
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn svc(spec: Value) -> Value {
        let mut s = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "d"}, "spec": spec});
        ServiceStrategy.default(&mut s);
        s
    }

    fn fields(errs: &[FieldError]) -> Vec<&str> {
        errs.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn defaults() {
        let mut s = svc(json!({"selector": {"app": "web"}, "ports": [{"port": 80}]}));
        ServiceStrategy.prepare_for_create(&mut s);
        assert_eq!(s["spec"]["type"], "ClusterIP");
        assert_eq!(s["spec"]["sessionAffinity"], "None");
        assert_eq!(
            s["spec"]["ports"][0],
            json!({"port": 80, "protocol": "TCP", "targetPort": 80})
        );
        assert_eq!(s["spec"]["internalTrafficPolicy"], "Cluster");
        assert!(s["spec"].get("externalTrafficPolicy").is_none());
        assert_eq!(s["spec"]["ipFamilies"], json!(["IPv4"]));
        assert_eq!(s["spec"]["ipFamilyPolicy"], "SingleStack");
        assert_eq!(s["status"], json!({"loadBalancer": {}}));
        assert!(ServiceStrategy.validate(&s).is_empty());

        let s = svc(
            json!({"type": "LoadBalancer", "ports": [{"port": 80, "targetPort": "http"}], "sessionAffinity": "ClientIP"}),
        );
        assert_eq!(s["spec"]["externalTrafficPolicy"], "Cluster");
        assert_eq!(s["spec"]["allocateLoadBalancerNodePorts"], true);
        assert_eq!(s["spec"]["ports"][0]["targetPort"], "http");
        assert_eq!(
            s["spec"]["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"],
            10800
        );

        let s = svc(json!({"clusterIP": "None", "ports": [{"port": 80}]}));
        assert_eq!(s["spec"]["ipFamilyPolicy"], "RequireDualStack");
        let mut s = svc(json!({"type": "ExternalName", "externalName": "example.com"}));
        ServiceStrategy.prepare_for_create(&mut s);
        assert!(s["spec"].get("ipFamilies").is_none());
        assert!(s["spec"].get("internalTrafficPolicy").is_none());
        assert!(
            ServiceStrategy.validate(&s).is_empty(),
            "{:?}",
            ServiceStrategy.validate(&s)
        );

        let mut s = svc(json!({"clusterIP": "10.96.0.10", "ports": [{"port": 53}]}));
        ServiceStrategy.prepare_for_create(&mut s);
        assert_eq!(s["spec"]["clusterIPs"], json!(["10.96.0.10"]));
    }

    #[test]
    fn validation_table() {
        let cases: Vec<(Value, Vec<&str>)> = vec![
            (json!({}), vec!["spec.ports"]),
            (
                json!({"type": "Weird", "ports": [{"port": 1}]}),
                vec!["spec.type"],
            ),
            // The defaulted targetPort copies the bad port, and upstream reports both.
            (
                json!({"ports": [{"port": 0}]}),
                vec!["spec.ports[0].port", "spec.ports[0].targetPort"],
            ),
            (
                json!({"ports": [{"port": 80}, {"port": 81}]}),
                vec!["spec.ports[0].name", "spec.ports[1].name"],
            ),
            (
                json!({"ports": [{"name": "a", "port": 80}, {"name": "a", "port": 81}]}),
                vec!["spec.ports[1].name"],
            ),
            (
                json!({"ports": [{"name": "a", "port": 80}, {"name": "b", "port": 80}]}),
                vec!["spec.ports[1]"],
            ),
            (
                json!({"ports": [{"port": 80, "nodePort": 30080}]}),
                vec!["spec.ports[0].nodePort"],
            ),
            (
                json!({"ports": [{"port": 80, "protocol": "ICMP"}]}),
                vec!["spec.ports[0].protocol"],
            ),
            (
                json!({"ports": [{"port": 80, "targetPort": "not_valid"}]}),
                vec!["spec.ports[0].targetPort"],
            ),
            (
                json!({"clusterIP": "abc", "ports": [{"port": 80}]}),
                vec!["spec.clusterIPs[0]"],
            ),
            (
                json!({"type": "NodePort", "clusterIP": "None", "ports": [{"port": 80}]}),
                vec!["spec.clusterIPs[0]"],
            ),
            (json!({"type": "ExternalName"}), vec!["spec.externalName"]),
            (
                json!({"sessionAffinity": "Sticky", "ports": [{"port": 80}]}),
                vec!["spec.sessionAffinity"],
            ),
            (
                json!({"externalTrafficPolicy": "Local", "ports": [{"port": 80}]}),
                vec!["spec.externalTrafficPolicy"],
            ),
        ];
        for (spec, want) in cases {
            let s = svc(spec.clone());
            let errs = ServiceStrategy.validate(&s);
            assert_eq!(fields(&errs), want, "{spec}: {errs:?}");
        }
        let s = svc(json!({"ports": [{"port": 80, "nodePort": 30080}]}));
        assert_eq!(
            ServiceStrategy.validate(&s)[0].to_string(),
            "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"
        );
        let mut bad_name = svc(json!({"ports": [{"port": 80}]}));
        bad_name["metadata"]["name"] = json!("1web");
        assert_eq!(
            fields(&ServiceStrategy.validate(&bad_name)),
            vec!["metadata.name"]
        );
    }

    #[test]
    fn update_keeps_allocated_values_and_cluster_ip_is_immutable() {
        let mut old = svc(json!({"type": "NodePort", "ports": [{"name": "http", "port": 80}]}));
        old["spec"]["clusterIP"] = json!("10.96.0.20");
        old["spec"]["clusterIPs"] = json!(["10.96.0.20"]);
        old["spec"]["ports"][0]["nodePort"] = json!(30080);
        // A client resubmits its manifest without the allocated values.
        let mut new = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"type": "NodePort", "ports": [{"name": "http", "port": 80}]}});
        ServiceStrategy.prepare_for_update(&mut new, &old);
        ServiceStrategy.default(&mut new);
        assert_eq!(new["spec"]["clusterIP"], "10.96.0.20");
        assert_eq!(new["spec"]["clusterIPs"], json!(["10.96.0.20"]));
        assert_eq!(new["spec"]["ports"][0]["nodePort"], 30080);
        assert!(ServiceStrategy.validate_update(&new, &old).is_empty());

        let mut changed = old.clone();
        changed["spec"]["clusterIP"] = json!("10.96.0.21");
        ServiceStrategy.prepare_for_update(&mut changed, &old);
        assert_eq!(changed["spec"]["clusterIPs"], json!(["10.96.0.21"]));
        let errs = ServiceStrategy.validate_update(&changed, &old);
        assert_eq!(errs.len(), 1);
        assert_eq!(
            errs[0].to_string(),
            "spec.clusterIPs[0]: Invalid value: [\"10.96.0.21\"]: may not change once set"
        );
    }

    #[test]
    fn type_change_drops_dependent_fields() {
        let mut old = svc(json!({"type": "NodePort", "ports": [{"port": 80}]}));
        old["spec"]["clusterIP"] = json!("10.96.0.20");
        old["spec"]["clusterIPs"] = json!(["10.96.0.20"]);
        old["spec"]["ports"][0]["nodePort"] = json!(30080);
        let mut to_cluster_ip = old.clone();
        to_cluster_ip["spec"]["type"] = json!("ClusterIP");
        ServiceStrategy.prepare_for_update(&mut to_cluster_ip, &old);
        ServiceStrategy.default(&mut to_cluster_ip);
        assert!(to_cluster_ip["spec"]["ports"][0].get("nodePort").is_none());
        assert!(to_cluster_ip["spec"].get("externalTrafficPolicy").is_none());
        assert_eq!(to_cluster_ip["spec"]["clusterIP"], "10.96.0.20");
        assert!(
            ServiceStrategy
                .validate_update(&to_cluster_ip, &old)
                .is_empty()
        );

        let mut to_external = old.clone();
        to_external["spec"]["type"] = json!("ExternalName");
        to_external["spec"]["externalName"] = json!("db.example.com");
        ServiceStrategy.prepare_for_update(&mut to_external, &old);
        ServiceStrategy.default(&mut to_external);
        assert!(to_external["spec"].get("clusterIP").is_none());
        assert!(to_external["spec"].get("clusterIPs").is_none());
        assert!(to_external["spec"].get("ipFamilies").is_none());
        assert!(
            ServiceStrategy
                .validate_update(&to_external, &old)
                .is_empty(),
            "{:?}",
            ServiceStrategy.validate_update(&to_external, &old)
        );
    }

    #[test]
    fn field_selectors() {
        let mut s = svc(json!({"ports": [{"port": 80}]}));
        s["spec"]["clusterIP"] = json!("10.96.0.1");
        assert_eq!(
            ServiceStrategy.field_value(&s, "spec.clusterIP").as_deref(),
            Some("10.96.0.1")
        );
        assert_eq!(
            ServiceStrategy.field_value(&s, "spec.type").as_deref(),
            Some("ClusterIP")
        );
        assert_eq!(ServiceStrategy.field_value(&s, "spec.ports"), None);
    }
}
