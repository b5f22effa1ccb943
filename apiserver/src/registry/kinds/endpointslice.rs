//! discovery.k8s.io/v1 EndpointSlices: the address type is required and immutable, addresses
//! match it, ports default to TCP with an empty name.

use std::collections::HashSet;

use machinery::FieldError;
use machinery::validation::{FieldErrorType, dns1123_subdomain_errors};
use serde_json::{Value, json};

use super::common::*;
use crate::registry::strategy::Strategy;

pub struct EndpointSliceStrategy;

const ADDRESS_TYPES: &[&str] = &["FQDN", "IPv4", "IPv6"];
const MAX_ENDPOINTS: usize = 1000;
const MAX_PORTS: usize = 100;
const MAX_ADDRESSES: usize = 100;

fn too_many(field: String, actual: usize, max: usize) -> FieldError {
    FieldError {
        error_type: FieldErrorType::TooMany,
        field,
        bad_value: Some(json!(actual)),
        detail: format!("must have at most {max} items"),
    }
}

impl Strategy for EndpointSliceStrategy {
    fn default(&self, obj: &mut Value) {
        if let Some(m) = obj.as_object_mut() {
            for_each_object(m, "ports", |p| {
                default_value(p, "name", json!(""));
                default_str(p, "protocol", "TCP");
            });
        }
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let address_type = str_or_empty(obj, &["addressType"]);
        if address_type.is_empty() {
            errs.push(FieldError::required("addressType", ""));
        } else if !ADDRESS_TYPES.contains(&address_type) {
            errs.push(FieldError::not_supported(
                "addressType",
                json!(address_type),
                ADDRESS_TYPES,
            ));
        }
        let endpoints = array(obj, &["endpoints"]);
        if endpoints.len() > MAX_ENDPOINTS {
            errs.push(too_many("endpoints".into(), endpoints.len(), MAX_ENDPOINTS));
        }
        for (i, ep) in endpoints.iter().enumerate() {
            let p = format!("endpoints[{i}]");
            let addresses = array(ep, &["addresses"]);
            if addresses.is_empty() {
                errs.push(FieldError::required(
                    format!("{p}.addresses"),
                    "must contain at least 1 address",
                ));
            } else if addresses.len() > MAX_ADDRESSES {
                errs.push(too_many(
                    format!("{p}.addresses"),
                    addresses.len(),
                    MAX_ADDRESSES,
                ));
            }
            for (j, a) in addresses.iter().enumerate() {
                let a = a.as_str().unwrap_or("");
                let ap = format!("{p}.addresses[{j}]");
                match address_type {
                    "IPv4" if !matches!(parse_ip(a), Some(std::net::IpAddr::V4(_))) => {
                        errs.push(FieldError::invalid(
                            ap,
                            json!(a),
                            "must be a valid IPv4 address",
                        ));
                    }
                    "IPv6" if !matches!(parse_ip(a), Some(std::net::IpAddr::V6(_))) => {
                        errs.push(FieldError::invalid(
                            ap,
                            json!(a),
                            "must be a valid IPv6 address",
                        ));
                    }
                    "FQDN" => {
                        for msg in dns1123_subdomain_errors(a) {
                            errs.push(FieldError::invalid(ap.clone(), json!(a), msg));
                        }
                    }
                    _ => {}
                }
            }
            if let Some(h) = get_str(ep, &["hostname"]).filter(|s| !s.is_empty()) {
                validate_dns_label(h, &format!("{p}.hostname"), &mut errs);
            }
            if let Some(n) = get_str(ep, &["nodeName"]).filter(|s| !s.is_empty()) {
                validate_dns_subdomain(n, &format!("{p}.nodeName"), &mut errs);
            }
        }
        let ports = array(obj, &["ports"]);
        if ports.len() > MAX_PORTS {
            errs.push(too_many("ports".into(), ports.len(), MAX_PORTS));
        }
        let mut names = HashSet::new();
        for (i, port) in ports.iter().enumerate() {
            let pp = format!("ports[{i}]");
            let name = str_or_empty(port, &["name"]);
            if !name.is_empty() {
                validate_dns_label(name, &format!("{pp}.name"), &mut errs);
            }
            if !names.insert(name) {
                errs.push(FieldError::duplicate(format!("{pp}.name"), json!(name)));
            }
            validate_protocol(port.get("protocol"), &format!("{pp}.protocol"), &mut errs);
            if let Some(n) = get_i64(port, &["port"])
                && !(0..=65535).contains(&n)
            {
                errs.push(FieldError::invalid(
                    format!("{pp}.port"),
                    json!(n),
                    "must be between 0 and 65535, inclusive",
                ));
            }
            if let Some(ap) = get_str(port, &["appProtocol"]).filter(|s| !s.is_empty()) {
                validate_qualified_name(ap, &format!("{pp}.appProtocol"), &mut errs);
            }
        }
        errs
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = self.validate(new);
        validate_immutable(
            new.get("addressType"),
            old.get("addressType"),
            "addressType",
            &mut errs,
        );
        errs
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn slice(v: Value) -> Value {
        let mut s = v;
        EndpointSliceStrategy.default(&mut s);
        s
    }

    #[test]
    fn validation() {
        let ok = slice(
            json!({"metadata": {"name": "web-abc"}, "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.1.0.5"], "conditions": {"ready": true}, "nodeName": "n1"}],
            "ports": [{"name": "http", "port": 80}]}),
        );
        assert_eq!(ok["ports"][0]["protocol"], "TCP");
        assert!(EndpointSliceStrategy.validate(&ok).is_empty());

        let bad = slice(
            json!({"addressType": "IPv5", "endpoints": [{"addresses": []}], "ports": [{"port": 80}, {"port": 81}]}),
        );
        let fields: Vec<_> = EndpointSliceStrategy
            .validate(&bad)
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            vec!["addressType", "endpoints[0].addresses", "ports[1].name"]
        );

        let wrong_family =
            slice(json!({"addressType": "IPv6", "endpoints": [{"addresses": ["10.0.0.1"]}]}));
        assert_eq!(
            EndpointSliceStrategy.validate(&wrong_family)[0].field,
            "endpoints[0].addresses[0]"
        );

        let mut changed = ok.clone();
        changed["addressType"] = json!("FQDN");
        changed["endpoints"][0]["addresses"] = json!(["db.example.com"]);
        let errs = EndpointSliceStrategy.validate_update(&changed, &ok);
        assert_eq!(errs.len(), 1);
        assert_eq!(
            errs[0].to_string(),
            "addressType: Invalid value: \"FQDN\": field is immutable"
        );
    }
}
