//! core/v1 Endpoints: port protocols default to TCP; addresses must be real pod or node IPs
//! (a proxy can't forward to loopback or link-local addresses).

use std::collections::HashSet;

use machinery::FieldError;
use serde_json::{Value, json};

use super::common::*;
use crate::registry::strategy::Strategy;

pub struct EndpointsStrategy;

impl Strategy for EndpointsStrategy {
    fn default(&self, obj: &mut Value) {
        if let Some(m) = obj.as_object_mut() {
            for_each_object(m, "subsets", |ss| {
                for_each_object(ss, "ports", |p| default_str(p, "protocol", "TCP"));
            });
        }
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        for (i, ss) in array(obj, &["subsets"]).iter().enumerate() {
            let sp = format!("subsets[{i}]");
            for list in ["addresses", "notReadyAddresses"] {
                for (j, a) in array(ss, &[list]).iter().enumerate() {
                    let ap = format!("{sp}.{list}[{j}]");
                    validate_endpoint_ip(str_or_empty(a, &["ip"]), &format!("{ap}.ip"), &mut errs);
                    if let Some(h) = get_str(a, &["hostname"]).filter(|s| !s.is_empty()) {
                        validate_dns_label(h, &format!("{ap}.hostname"), &mut errs);
                    }
                    if let Some(n) = get_str(a, &["nodeName"]).filter(|s| !s.is_empty()) {
                        validate_dns_subdomain(n, &format!("{ap}.nodeName"), &mut errs);
                    }
                }
            }
            let ports = array(ss, &["ports"]);
            let mut names = HashSet::new();
            for (j, p) in ports.iter().enumerate() {
                let pp = format!("{sp}.ports[{j}]");
                let name = str_or_empty(p, &["name"]);
                if ports.len() > 1 && name.is_empty() {
                    errs.push(FieldError::required(format!("{pp}.name"), ""));
                } else if !name.is_empty() {
                    validate_dns_label(name, &format!("{pp}.name"), &mut errs);
                    if !names.insert(name) {
                        errs.push(FieldError::duplicate(format!("{pp}.name"), json!(name)));
                    }
                }
                validate_port_field(p.get("port"), &format!("{pp}.port"), true, &mut errs);
                validate_protocol(p.get("protocol"), &format!("{pp}.protocol"), &mut errs);
            }
        }
        errs
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_validation() {
        let mut ep = json!({"metadata": {"name": "web"}, "subsets": [{
            "addresses": [{"ip": "10.1.0.5", "nodeName": "n1"}, {"ip": "127.0.0.1"}],
            "ports": [{"name": "http", "port": 80}, {"port": 0}]
        }]});
        EndpointsStrategy.default(&mut ep);
        assert_eq!(ep["subsets"][0]["ports"][0]["protocol"], "TCP");
        let fields: Vec<_> = EndpointsStrategy
            .validate(&ep)
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            vec![
                "subsets[0].addresses[1].ip",
                "subsets[0].ports[1].name",
                "subsets[0].ports[1].port"
            ]
        );
    }
}
