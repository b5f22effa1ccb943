//! Discovery documents: /version, /api, /apis, /api/v1, /apis/<group>[/<version>], all read
//! from the one resource table.

use machinery::{ResourceTable, Subresource};
use serde_json::{Value, json};

pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "gitVersion": "v1.33.0+ferrokube",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": concat!("ferrokube/", env!("CARGO_PKG_VERSION")),
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, go_arch()),
    })
}

fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

pub fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{ "clientCIDR": "0.0.0.0/0", "serverAddress": server_address }],
    })
}

fn group_json(table: &ResourceTable, group: &str) -> Option<Value> {
    let versions: Vec<Value> = table
        .group_versions()
        .into_iter()
        .filter(|(g, _)| g == group)
        .map(|(g, v)| json!({ "groupVersion": format!("{g}/{v}"), "version": v }))
        .collect();
    let preferred = versions.first()?.clone();
    Some(json!({
        "name": group,
        "versions": versions,
        "preferredVersion": preferred,
    }))
}

pub fn api_group_list(table: &ResourceTable) -> Value {
    let mut groups: Vec<String> = Vec::new();
    for (g, _) in table.group_versions() {
        if !g.is_empty() && !groups.contains(&g) {
            groups.push(g);
        }
    }
    let groups: Vec<Value> = groups.iter().filter_map(|g| group_json(table, g)).collect();
    json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": groups })
}

pub fn api_group(table: &ResourceTable, group: &str) -> Option<Value> {
    let mut g = group_json(table, group)?;
    if let Some(m) = g.as_object_mut() {
        m.insert("kind".into(), json!("APIGroup"));
        m.insert("apiVersion".into(), json!("v1"));
    }
    Some(g)
}

pub fn api_resource_list(table: &ResourceTable, group: &str, version: &str) -> Option<Value> {
    let mut resources = Vec::new();
    for r in table.in_group_version(group, version) {
        let mut entry = json!({
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": r.verbs(),
        });
        if !r.short_names.is_empty() {
            entry["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            entry["categories"] = json!(r.categories);
        }
        resources.push(entry);
        for sub in &r.subresources {
            let name = format!("{}/{}", r.plural, sub.name());
            let e = match sub {
                Subresource::Status | Subresource::Approval => {
                    json!({ "name": name, "singularName": "", "namespaced": r.namespaced, "kind": r.kind, "verbs": ["get", "patch", "update"] })
                }
                Subresource::Scale => {
                    json!({ "name": name, "singularName": "", "namespaced": r.namespaced, "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"] })
                }
                Subresource::Binding => {
                    json!({ "name": name, "singularName": "", "namespaced": r.namespaced, "kind": "Binding", "verbs": ["create"] })
                }
                Subresource::Log => {
                    json!({ "name": name, "singularName": "", "namespaced": r.namespaced, "kind": "Pod", "verbs": ["get"] })
                }
                Subresource::Eviction => {
                    json!({ "name": name, "singularName": "", "namespaced": r.namespaced, "group": "policy", "version": "v1", "kind": "Eviction", "verbs": ["create"] })
                }
            };
            resources.push(e);
        }
        if r.group.is_empty() && r.plural == "namespaces" {
            resources.push(json!({ "name": "namespaces/finalize", "singularName": "", "namespaced": false, "kind": "Namespace", "verbs": ["update"] }));
        }
    }
    if resources.is_empty() {
        return None;
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": resources,
    }))
}

/// Which aggregated discovery version (if any) an Accept header asks for first:
/// `application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList` (kubectl 1.30+) or
/// `v=v2beta1` (1.27–1.29). Entries are tried in order, as the client lists them.
pub fn aggregated_version(accept: &str) -> Option<&'static str> {
    for entry in accept.split(',') {
        let mut parts = entry.split(';').map(str::trim);
        let media = parts.next().unwrap_or("");
        let params: Vec<(&str, &str)> = parts.filter_map(|p| p.split_once('=')).collect();
        let get = |k: &str| params.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
        if media == "application/json"
            && get("as") == Some("APIGroupDiscoveryList")
            && get("g") == Some("apidiscovery.k8s.io")
        {
            match get("v") {
                Some("v2") => return Some("v2"),
                Some("v2beta1") => return Some("v2beta1"),
                _ => {}
            }
        }
        if matches!(media, "application/json" | "*/*" | "application/*") && get("as").is_none() {
            return None;
        }
    }
    None
}

fn discovery_resource(r: &machinery::ResourceInfo) -> Value {
    let mut subresources = Vec::new();
    for sub in &r.subresources {
        let (group, version, kind, verbs): (&str, &str, &str, &[&str]) = match sub {
            Subresource::Status | Subresource::Approval => {
                (&r.group, &r.version, &r.kind, &["get", "patch", "update"])
            }
            Subresource::Scale => ("autoscaling", "v1", "Scale", &["get", "patch", "update"]),
            Subresource::Binding => ("", "v1", "Binding", &["create"]),
            Subresource::Log => ("", "v1", "Pod", &["get"]),
            Subresource::Eviction => ("policy", "v1", "Eviction", &["create"]),
        };
        subresources.push(json!({
            "subresource": sub.name(),
            "responseKind": { "group": group, "version": version, "kind": kind },
            "verbs": verbs,
        }));
    }
    let mut entry = json!({
        "resource": r.plural,
        "responseKind": { "group": r.group, "version": r.version, "kind": r.kind },
        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": r.singular,
        "verbs": r.verbs(),
    });
    if !r.short_names.is_empty() {
        entry["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        entry["categories"] = json!(r.categories);
    }
    if !subresources.is_empty() {
        entry["subresources"] = json!(subresources);
    }
    entry
}

/// Aggregated discovery: every group (core only for `/api`, the named groups for `/apis`)
/// with its versions and resources in one document.
pub fn aggregated(table: &ResourceTable, legacy: bool, version: &str) -> Value {
    let mut groups: Vec<String> = Vec::new();
    for (g, _) in table.group_versions() {
        if g.is_empty() == legacy && !groups.contains(&g) {
            groups.push(g);
        }
    }
    let items: Vec<Value> = groups
        .iter()
        .map(|g| {
            let versions: Vec<Value> = table
                .group_versions()
                .into_iter()
                .filter(|(group, _)| group == g)
                .map(|(_, v)| {
                    let resources: Vec<Value> = table
                        .in_group_version(g, &v)
                        .map(|r| discovery_resource(r))
                        .collect();
                    json!({ "version": v, "resources": resources, "freshness": "Current" })
                })
                .collect();
            let mut metadata = json!({ "creationTimestamp": null });
            if !g.is_empty() {
                metadata["name"] = json!(g);
            }
            json!({ "metadata": metadata, "versions": versions })
        })
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{version}"),
        "metadata": {},
        "items": items,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn aggregated_accept_headers() {
        let kubectl_132 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(aggregated_version(kubectl_132), Some("v2"));
        let kubectl_127 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(aggregated_version(kubectl_127), Some("v2beta1"));
        assert_eq!(aggregated_version("application/json"), None);
        assert_eq!(
            aggregated_version(
                "application/json, application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
            ),
            None
        );
    }

    #[test]
    fn aggregated_documents() {
        let table = ResourceTable::builtin();
        let core = aggregated(&table, true, "v2");
        assert_eq!(core["items"].as_array().unwrap().len(), 1);
        let pods = core["items"][0]["versions"][0]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resource"] == "pods")
            .unwrap();
        assert_eq!(pods["scope"], "Namespaced");
        assert!(
            pods["subresources"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["subresource"] == "binding")
        );
        let groups = aggregated(&table, false, "v2beta1");
        assert_eq!(groups["apiVersion"], "apidiscovery.k8s.io/v2beta1");
        assert!(
            groups["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g["metadata"]["name"] == "apps")
        );
    }
}
