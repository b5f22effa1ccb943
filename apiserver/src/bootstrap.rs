//! Objects every cluster has from the start: the system namespaces and the `kubernetes`
//! Service in `default`, whose Endpoints and EndpointSlice list the live API servers. Each
//! API server keeps a Lease in kube-system renewed; the endpoints list the servers whose
//! Lease has not expired, so a dead server drops out (upstream's lease endpoint reconciler).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use machinery::ApiError;
use serde_json::{Value, json};

use crate::ApiState;
use crate::registry::meta;
use crate::registry::store::{FieldValidation, WriteOptions};

pub const SYSTEM_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];
const IDENTITY_LABEL: &str = "apiserver.kubernetes.io/identity";
const ENDPOINT_ANNOTATION: &str = "ferrokube.io/apiserver-endpoint";

fn internal_opts() -> WriteOptions {
    WriteOptions {
        dry_run: false,
        field_validation: FieldValidation::Ignore,
        field_manager: Some("kube-apiserver".into()),
    }
}

async fn create_if_absent(
    state: &ApiState,
    group: &str,
    plural: &str,
    namespace: Option<&str>,
    obj: Value,
) -> Result<(), ApiError> {
    let info = state
        .registry
        .table
        .lookup(group, "v1", plural)
        .ok_or_else(|| ApiError::internal(format!("resource {plural} is not served")))?;
    // Look first: creating a Service that exists would trip over its own cluster IP.
    match state.registry.get(&info, namespace, meta::name(&obj)).await {
        Ok(_) => return Ok(()),
        Err(e) if e.code == 404 => {}
        Err(e) => return Err(e),
    }
    match state
        .registry
        .create(&info, namespace, obj, &internal_opts())
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.code == 409 => Ok(()),
        Err(e) => Err(e),
    }
}

pub async fn ensure_system_objects(
    state: &ApiState,
    advertise: IpAddr,
    port: u16,
) -> Result<(), ApiError> {
    for ns in SYSTEM_NAMESPACES {
        create_if_absent(
            state,
            "",
            "namespaces",
            None,
            json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": ns } }),
        )
        .await?;
    }
    let first_ip = state.registry.allocator.kubernetes_service_ip().to_string();
    create_if_absent(
        state,
        "",
        "services",
        Some("default"),
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "kubernetes",
                "namespace": "default",
                "labels": { "component": "apiserver", "provider": "kubernetes" },
            },
            "spec": {
                "type": "ClusterIP",
                "clusterIP": first_ip,
                "ports": [{ "name": "https", "port": 443, "protocol": "TCP", "targetPort": port }],
                "sessionAffinity": "None",
            },
        }),
    )
    .await?;
    renew_lease(state, advertise, port, Duration::from_secs(30)).await?;
    reconcile_endpoints(state, port).await
}

fn lease_name(advertise: IpAddr, port: u16) -> String {
    let ip = advertise.to_string().replace([':', '.'], "-");
    format!("apiserver-{ip}-{port}")
}

fn micro_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

async fn renew_lease(
    state: &ApiState,
    advertise: IpAddr,
    port: u16,
    duration: Duration,
) -> Result<(), ApiError> {
    let registry = &state.registry;
    let info = registry
        .table
        .lookup("coordination.k8s.io", "v1", "leases")
        .ok_or_else(|| ApiError::internal("leases are not served"))?;
    let name = lease_name(advertise, port);
    let now = micro_time(chrono::Utc::now());
    let lease = json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": name,
            "namespace": "kube-system",
            "labels": { IDENTITY_LABEL: "kube-apiserver" },
            "annotations": { ENDPOINT_ANNOTATION: format!("{advertise}:{port}") },
        },
        "spec": {
            "holderIdentity": name,
            "leaseDurationSeconds": duration.as_secs(),
            "renewTime": now,
        },
    });
    match registry.get(&info, Some("kube-system"), &name).await {
        Ok(_) => {
            registry
                .write_update(
                    &info,
                    Some("kube-system"),
                    &name,
                    None,
                    None,
                    &internal_opts(),
                    |old| {
                        let mut new = old.clone();
                        new["spec"]["renewTime"] = json!(now);
                        new["spec"]["leaseDurationSeconds"] = json!(duration.as_secs());
                        Ok(new)
                    },
                )
                .await?;
            Ok(())
        }
        Err(e) if e.code == 404 => {
            create_if_absent(
                state,
                "coordination.k8s.io",
                "leases",
                Some("kube-system"),
                lease,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

/// The addresses of API servers whose Lease is live.
fn live_servers(state: &ApiState) -> Vec<(String, u16)> {
    let Some(info) = state
        .registry
        .table
        .lookup("coordination.k8s.io", "v1", "leases")
    else {
        return Vec::new();
    };
    let prefix = info.list_prefix(Some("kube-system"));
    let Some(cache) = state.registry.caches.cache_for(&prefix) else {
        return Vec::new();
    };
    let now = chrono::Utc::now();
    let mut out = Vec::new();
    for o in cache.snapshot(&prefix).0 {
        let obj = &o.object;
        let is_apiserver = meta::labels(obj)
            .and_then(|l| l.get(IDENTITY_LABEL))
            .and_then(Value::as_str)
            == Some("kube-apiserver");
        if !is_apiserver {
            continue;
        }
        let renewed = obj
            .pointer("/spec/renewTime")
            .and_then(Value::as_str)
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok());
        let duration = obj
            .pointer("/spec/leaseDurationSeconds")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let live = renewed.is_some_and(|r| {
            r.with_timezone(&chrono::Utc) + chrono::Duration::seconds(duration) > now
        });
        let endpoint = meta(obj)
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.get(ENDPOINT_ANNOTATION))
            .and_then(Value::as_str)
            .and_then(|s| s.rsplit_once(':'))
            .and_then(|(ip, port)| {
                Some((
                    ip.trim_matches(['[', ']']).to_string(),
                    port.parse::<u16>().ok()?,
                ))
            });
        if let (true, Some(ep)) = (live, endpoint) {
            out.push(ep);
        }
    }
    out.sort();
    out.dedup();
    out
}

fn meta(obj: &Value) -> Option<&serde_json::Map<String, Value>> {
    meta::meta(obj)
}

async fn put(state: &ApiState, group: &str, plural: &str, desired: Value) -> Result<(), ApiError> {
    let registry = &state.registry;
    let info = registry
        .table
        .lookup(group, "v1", plural)
        .ok_or_else(|| ApiError::internal(format!("{plural} are not served")))?;
    match registry.get(&info, Some("default"), "kubernetes").await {
        Ok(current) => {
            let changed = ["subsets", "endpoints", "ports", "addressType"]
                .iter()
                .any(|f| current.get(*f) != desired.get(*f));
            if changed {
                registry
                    .write_update(
                        &info,
                        Some("default"),
                        "kubernetes",
                        None,
                        None,
                        &internal_opts(),
                        |old| {
                            let mut new = old.clone();
                            for f in ["subsets", "endpoints", "ports", "addressType"] {
                                if let (Some(m), Some(v)) = (new.as_object_mut(), desired.get(f)) {
                                    m.insert(f.to_string(), v.clone());
                                }
                            }
                            Ok(new)
                        },
                    )
                    .await?;
            }
            Ok(())
        }
        Err(e) if e.code == 404 => {
            create_if_absent(state, group, plural, Some("default"), desired).await
        }
        Err(e) => Err(e),
    }
}

async fn reconcile_endpoints(state: &ApiState, own_port: u16) -> Result<(), ApiError> {
    // Endpoints may not point at loopback (upstream validation): a server that only has a
    // loopback address is reachable by local clients but is not listed.
    let servers: Vec<(String, u16)> = live_servers(state)
        .into_iter()
        .filter(|(ip, _)| ip.parse::<IpAddr>().is_ok_and(|ip| !ip.is_loopback()))
        .collect();
    if servers.is_empty() {
        return Ok(());
    }
    let port = servers.first().map(|(_, p)| *p).unwrap_or(own_port);
    let ips: Vec<&String> = servers.iter().map(|(ip, _)| ip).collect();
    let endpoints = json!({
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": { "name": "kubernetes", "namespace": "default", "labels": { "endpointslice.kubernetes.io/skip-mirror": "true" } },
        "subsets": [{
            "addresses": ips.iter().map(|ip| json!({ "ip": ip })).collect::<Vec<_>>(),
            "ports": [{ "name": "https", "port": port, "protocol": "TCP" }],
        }],
    });
    put(state, "", "endpoints", endpoints).await?;
    let address_type = if ips.iter().any(|ip| ip.contains(':')) {
        "IPv6"
    } else {
        "IPv4"
    };
    let slice = json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "kubernetes",
            "namespace": "default",
            "labels": { "kubernetes.io/service-name": "kubernetes", "endpointslice.kubernetes.io/managed-by": "endpointslicemirroring-controller.k8s.io" },
        },
        "addressType": address_type,
        "endpoints": ips.iter().map(|ip| json!({ "addresses": [ip], "conditions": { "ready": true } })).collect::<Vec<_>>(),
        "ports": [{ "name": "https", "port": port, "protocol": "TCP" }],
    });
    put(state, "discovery.k8s.io", "endpointslices", slice).await
}

/// Renews this server's Lease and keeps the `kubernetes` endpoints right, every `interval`.
pub async fn run_endpoint_reconciler(
    state: Arc<ApiState>,
    advertise: IpAddr,
    port: u16,
    interval: Duration,
) {
    let mut tick = tokio::time::interval(interval);
    loop {
        tick.tick().await;
        if let Err(e) = renew_lease(&state, advertise, port, interval * 3).await {
            tracing::warn!(error = %e, "renewing the API server lease failed");
        }
        if let Err(e) = reconcile_endpoints(&state, port).await {
            tracing::warn!(error = %e, "reconciling the kubernetes endpoints failed");
        }
    }
}
