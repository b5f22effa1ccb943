//! The endpoints controller: for every Service with a selector, an Endpoints object of the
//! same name lists the matching pods' IPs — ready ones under `addresses`, the others under
//! `notReadyAddresses` — with each Service port resolved against the pod (a named targetPort
//! is looked up among the pod's container ports; a pod without it is left out for that
//! port), packed into subsets as upstream's `RepackSubsets` does. Pod changes reach the
//! Endpoints at once (or after `--endpoint-updates-batch-period`). Services without a
//! selector are left alone (their Endpoints are the user's), and so is `default/kubernetes`,
//! the API servers' own.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointPort, EndpointSubset, Endpoints, ObjectReference, Pod, Service,
    ServicePort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::Api;
use kube::api::{DeleteParams, PostParams};

use crate::framework::{Action, Informer, Notification, WorkQueue, key_of, run_workers, split_key};
use crate::{Context, Error};

pub const NAME: &str = "endpoints";
/// Label on Endpoints and EndpointSlices of headless Services.
pub const HEADLESS_LABEL: &str = "service.kubernetes.io/headless";

pub fn start(ctx: Context) -> BoxFuture<'static, Result<(), Error>> {
    Box::pin(run(ctx))
}

/// Whether `pod` has condition Ready=True.
pub(crate) fn is_pod_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// upstream's ShouldPodBeInEndpoints: pods with an IP that have not finished, and (unless
/// `include_terminating`) are not being deleted.
pub(crate) fn should_pod_be_in_endpoints(pod: &Pod, include_terminating: bool) -> bool {
    let status = pod.status.as_ref();
    let phase = status.and_then(|s| s.phase.as_deref()).unwrap_or_default();
    if phase == "Failed" || phase == "Succeeded" {
        return false;
    }
    if status
        .and_then(|s| s.pod_ip.as_deref())
        .is_none_or(str::is_empty)
    {
        return false;
    }
    include_terminating || pod.metadata.deletion_timestamp.is_none()
}

/// The selector of a Service that selects pods; None for selector-less Services.
pub(crate) fn selector(svc: &Service) -> Option<&BTreeMap<String, String>> {
    svc.spec
        .as_ref()
        .and_then(|s| s.selector.as_ref())
        .filter(|s| !s.is_empty())
}

/// Whether `svc` is one the endpoint controllers manage.
pub(crate) fn is_managed(svc: &Service) -> bool {
    let api_servers_own = svc.metadata.namespace.as_deref() == Some("default")
        && svc.metadata.name.as_deref() == Some("kubernetes");
    !api_servers_own && selector(svc).is_some()
}

pub(crate) fn selector_matches(selector: &BTreeMap<String, String>, pod: &Pod) -> bool {
    let labels = pod.metadata.labels.as_ref();
    selector
        .iter()
        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

/// The container port a Service port reaches on `pod` (upstream's podutil.FindPort): a
/// number is taken as is, a name must match a container port of the same protocol.
pub(crate) fn find_port(pod: &Pod, port: &ServicePort) -> Option<i32> {
    let protocol = port.protocol.as_deref().unwrap_or("TCP");
    match &port.target_port {
        None => Some(port.port),
        Some(IntOrString::Int(n)) => Some(*n),
        Some(IntOrString::String(name)) => {
            if let Ok(n) = name.parse::<i32>() {
                return Some(n);
            }
            pod.spec.as_ref()?.containers.iter().find_map(|c| {
                c.ports.as_ref()?.iter().find_map(|p| {
                    (p.name.as_deref() == Some(name.as_str())
                        && p.protocol.as_deref().unwrap_or("TCP") == protocol)
                        .then_some(p.container_port)
                })
            })
        }
    }
}

pub(crate) fn is_headless(svc: &Service) -> bool {
    svc.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None")
}

/// The pod's hostname for DNS when `svc` is its subdomain (headless pod DNS records).
pub(crate) fn endpoint_hostname(pod: &Pod, svc: &Service) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    let hostname = spec.hostname.as_deref().filter(|h| !h.is_empty())?;
    (spec.subdomain.as_deref() == svc.metadata.name.as_deref()
        && pod.metadata.namespace == svc.metadata.namespace)
        .then(|| hostname.to_string())
}

pub(crate) fn pod_reference(pod: &Pod) -> ObjectReference {
    ObjectReference {
        kind: Some("Pod".into()),
        namespace: pod.metadata.namespace.clone(),
        name: pod.metadata.name.clone(),
        uid: pod.metadata.uid.clone(),
        ..Default::default()
    }
}

/// Keys of the managed Services in the pod's namespace that select it.
pub(crate) fn services_selecting(services: &Informer<Service>, pod: &Pod) -> Vec<String> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
    services
        .list_namespace(ns)
        .iter()
        .filter(|s| is_managed(s) && selector(s).is_some_and(|sel| selector_matches(sel, pod)))
        .map(|s| key_of(s.as_ref()))
        .collect()
}

/// Whether a pod change can change any Service's endpoints.
pub(crate) fn pod_endpoint_relevant_change(old: &Pod, new: &Pod) -> bool {
    let ip = |p: &Pod| p.status.as_ref().and_then(|s| s.pod_ip.clone());
    let phase = |p: &Pod| p.status.as_ref().and_then(|s| s.phase.clone());
    let ports = |p: &Pod| {
        p.spec
            .as_ref()
            .map(|s| {
                s.containers
                    .iter()
                    .map(|c| c.ports.clone())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    old.metadata.labels != new.metadata.labels
        || old.metadata.deletion_timestamp.is_some() != new.metadata.deletion_timestamp.is_some()
        || is_pod_ready(old) != is_pod_ready(new)
        || ip(old) != ip(new)
        || phase(old) != phase(new)
        || old.spec.as_ref().and_then(|s| s.node_name.clone())
            != new.spec.as_ref().and_then(|s| s.node_name.clone())
        || old.spec.as_ref().and_then(|s| s.hostname.clone())
            != new.spec.as_ref().and_then(|s| s.hostname.clone())
        || old.spec.as_ref().and_then(|s| s.subdomain.clone())
            != new.spec.as_ref().and_then(|s| s.subdomain.clone())
        || ports(old) != ports(new)
}

/// Wires pod and service events to `queue` keyed by service: used by both endpoint
/// controllers.
pub(crate) fn watch_services_and_pods(
    services: &Arc<Informer<Service>>,
    pods: &Arc<Informer<Pod>>,
    queue: &Arc<WorkQueue>,
    batch: Duration,
) {
    {
        let q = queue.clone();
        services.add_handler(move |n| {
            let svc = match n {
                Notification::Added(s) | Notification::Deleted(s) => s,
                Notification::Updated { new, .. } => new,
            };
            q.add(key_of(svc.as_ref()));
        });
    }
    let q = queue.clone();
    let svcs = services.clone();
    pods.add_handler(move |n| {
        let mut keys = BTreeSet::new();
        match n {
            Notification::Added(p) | Notification::Deleted(p) => {
                keys.extend(services_selecting(&svcs, p));
            }
            Notification::Updated { old, new } => {
                if !pod_endpoint_relevant_change(old, new) {
                    return;
                }
                keys.extend(services_selecting(&svcs, old));
                keys.extend(services_selecting(&svcs, new));
            }
        }
        for key in keys {
            q.add_after(key, batch);
        }
    });
}

/// Runs the controller until `ctx.shutdown`.
pub async fn run(ctx: Context) -> Result<(), Error> {
    let services = ctx.informers.get::<Service>();
    let pods = ctx.informers.get::<Pod>();
    let endpoints = ctx.informers.get::<Endpoints>();
    let queue = WorkQueue::new(NAME, ctx.metrics.clone(), ctx.shutdown.clone());
    watch_services_and_pods(
        &services,
        &pods,
        &queue,
        ctx.options.endpoint_updates_batch_period,
    );
    {
        // Someone else changed or deleted managed Endpoints: put them back.
        let q = queue.clone();
        endpoints.add_handler(move |n| match n {
            Notification::Added(_) => {}
            Notification::Updated { new: e, .. } | Notification::Deleted(e) => {
                q.add(key_of(e.as_ref()))
            }
        });
    }
    for synced in [
        services.wait_synced(&ctx.shutdown).await,
        pods.wait_synced(&ctx.shutdown).await,
        endpoints.wait_synced(&ctx.shutdown).await,
    ] {
        if !synced {
            return Ok(());
        }
    }
    let client = ctx.client.clone();
    run_workers(
        NAME,
        queue,
        ctx.options.concurrent_endpoint_syncs,
        None,
        ctx.metrics.clone(),
        ctx.shutdown.clone(),
        move |key| {
            let (client, services, pods, endpoints) = (
                client.clone(),
                services.clone(),
                pods.clone(),
                endpoints.clone(),
            );
            async move { reconcile(&client, &services, &pods, &endpoints, &key).await }
        },
    )
    .await;
    Ok(())
}

async fn reconcile(
    client: &kube::Client,
    services: &Informer<Service>,
    pods: &Informer<Pod>,
    endpoints: &Informer<Endpoints>,
    key: &str,
) -> Result<Action, kube::Error> {
    let (namespace, name) = split_key(key);
    let api = Api::<Endpoints>::namespaced(client.clone(), namespace);
    let Some(svc) = services.get(key) else {
        // The Service is gone: so go its Endpoints (only those this controller would have
        // made; a selector-less Service's Endpoints were never ours, but they go with their
        // Service too, as upstream).
        if endpoints.get(key).is_some() && key != "default/kubernetes" {
            match api.delete(name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        return Ok(Action::Done);
    };
    if !is_managed(&svc) {
        return Ok(Action::Done);
    }
    let pods = pods.list_namespace(namespace);
    let subsets = desired_subsets(&svc, &pods);
    let mut labels = svc.metadata.labels.clone().unwrap_or_default();
    if is_headless(&svc) {
        labels.insert(HEADLESS_LABEL.to_string(), String::new());
    } else {
        labels.remove(HEADLESS_LABEL);
    }
    let labels = (!labels.is_empty()).then_some(labels);
    let existing = endpoints.get(key);
    if let Some(e) = &existing {
        let same_subsets = e.subsets.clone().unwrap_or_default() == subsets;
        if same_subsets && e.metadata.labels == labels {
            return Ok(Action::Done);
        }
    }
    let mut desired = existing.as_deref().cloned().unwrap_or_else(|| Endpoints {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(namespace.to_string()),
            ..Default::default()
        },
        ..Default::default()
    });
    desired.metadata.labels = labels;
    desired.subsets = (!subsets.is_empty()).then_some(subsets);
    let result = if existing.is_some() {
        api.replace(name, &PostParams::default(), &desired).await
    } else {
        api.create(&PostParams::default(), &desired).await
    };
    match result {
        Ok(_) => Ok(Action::Done),
        // A stale cache: the watch event that follows brings this key back with news. A
        // terminating namespace refuses creates: nothing to do.
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(Action::Done),
        Err(kube::Error::Api(s)) if crate::serviceaccount::is_terminating(&s) => Ok(Action::Done),
        Err(e) => Err(e),
    }
}

/// The subsets of `svc`'s Endpoints given the pods of its namespace.
pub fn desired_subsets(svc: &Service, pods: &[Arc<Pod>]) -> Vec<EndpointSubset> {
    let Some(sel) = selector(svc) else {
        return Vec::new();
    };
    let spec = svc.spec.as_ref();
    let publish_not_ready = spec
        .and_then(|s| s.publish_not_ready_addresses)
        .unwrap_or(false);
    let ports: &[ServicePort] = spec.and_then(|s| s.ports.as_deref()).unwrap_or_default();
    let headless_no_ports = ports.is_empty() && is_headless(svc);

    // (address, ready) per endpoint port, and the addresses by IP.
    let mut by_port: BTreeMap<PortKey, BTreeMap<String, bool>> = BTreeMap::new();
    let mut addresses: HashMap<String, EndpointAddress> = HashMap::new();
    let mut portless: BTreeMap<String, bool> = BTreeMap::new();
    for pod in pods {
        if !selector_matches(sel, pod) || !should_pod_be_in_endpoints(pod, publish_not_ready) {
            continue;
        }
        let Some(ip) = pod.status.as_ref().and_then(|s| s.pod_ip.clone()) else {
            continue;
        };
        let ready = publish_not_ready || is_pod_ready(pod);
        let address = EndpointAddress {
            ip: ip.clone(),
            hostname: endpoint_hostname(pod, svc),
            node_name: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
            target_ref: Some(pod_reference(pod)),
        };
        let mut used = false;
        if headless_no_ports {
            portless.insert(ip.clone(), ready);
            used = true;
        }
        for port in ports {
            let Some(number) = find_port(pod, port) else {
                tracing::debug!(pod = ?pod.metadata.name, port = ?port.name, "pod lacks the service's target port");
                continue;
            };
            let key = PortKey {
                name: port.name.clone().unwrap_or_default(),
                port: number,
                protocol: port.protocol.clone().unwrap_or_else(|| "TCP".into()),
                app_protocol: port.app_protocol.clone(),
            };
            by_port.entry(key).or_default().insert(ip.clone(), ready);
            used = true;
        }
        if used {
            addresses.insert(ip, address);
        }
    }

    // RepackSubsets: ports reaching the same (address, readiness) set share one subset.
    let mut groups: BTreeMap<Vec<(String, bool)>, Vec<PortKey>> = BTreeMap::new();
    for (port, addrs) in by_port {
        groups
            .entry(addrs.into_iter().collect())
            .or_default()
            .push(port);
    }
    if !portless.is_empty() {
        groups.insert(portless.into_iter().collect(), Vec::new());
    }
    let mut subsets: Vec<EndpointSubset> = groups
        .into_iter()
        .map(|(addrs, ports)| {
            let pick = |want: bool| {
                let list: Vec<EndpointAddress> = addrs
                    .iter()
                    .filter(|(_, r)| *r == want)
                    .filter_map(|(ip, _)| addresses.get(ip).cloned())
                    .collect();
                (!list.is_empty()).then_some(list)
            };
            EndpointSubset {
                addresses: pick(true),
                not_ready_addresses: pick(false),
                ports: (!ports.is_empty()).then(|| {
                    ports
                        .into_iter()
                        .map(|p| EndpointPort {
                            name: (!p.name.is_empty()).then_some(p.name),
                            port: p.port,
                            protocol: Some(p.protocol),
                            app_protocol: p.app_protocol,
                        })
                        .collect()
                }),
            }
        })
        .collect();
    subsets.sort_by_key(|s| {
        let first = |l: &Option<Vec<EndpointAddress>>| {
            l.as_ref()
                .and_then(|l| l.first())
                .map(|a| a.ip.clone())
                .unwrap_or_default()
        };
        (first(&s.addresses), first(&s.not_ready_addresses))
    });
    subsets
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct PortKey {
    name: String,
    port: i32,
    protocol: String,
    app_protocol: Option<String>,
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use k8s_openapi::api::core::v1::{
        Container, ContainerPort, PodCondition, PodSpec, PodStatus, ServiceSpec,
    };

    pub(crate) fn pod(name: &str, ip: &str, ready: bool, ports: &[(&str, i32)]) -> Arc<Pod> {
        Arc::new(Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("ns".into()),
                uid: Some(format!("uid-{name}")),
                labels: Some(BTreeMap::from([("app".into(), "web".into())])),
                ..Default::default()
            },
            spec: Some(PodSpec {
                node_name: Some("node-1".into()),
                containers: vec![Container {
                    name: "c".into(),
                    ports: Some(
                        ports
                            .iter()
                            .map(|(n, p)| ContainerPort {
                                name: Some((*n).into()),
                                container_port: *p,
                                ..Default::default()
                            })
                            .collect(),
                    ),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            status: Some(PodStatus {
                pod_ip: (!ip.is_empty()).then(|| ip.into()),
                phase: Some("Running".into()),
                conditions: Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: if ready { "True" } else { "False" }.into(),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
        })
    }

    pub(crate) fn service(ports: &[(&str, IntOrString)]) -> Service {
        Service {
            metadata: ObjectMeta {
                name: Some("web".into()),
                namespace: Some("ns".into()),
                uid: Some("svc-uid".into()),
                ..Default::default()
            },
            spec: Some(ServiceSpec {
                selector: Some(BTreeMap::from([("app".into(), "web".into())])),
                ports: Some(
                    ports
                        .iter()
                        .enumerate()
                        .map(|(i, (n, t))| ServicePort {
                            name: Some((*n).into()),
                            port: 80 + i32::try_from(i).unwrap(),
                            target_port: Some(t.clone()),
                            protocol: Some("TCP".into()),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn ips(l: &Option<Vec<EndpointAddress>>) -> Vec<&str> {
        l.iter().flatten().map(|a| a.ip.as_str()).collect()
    }

    #[test]
    fn ready_and_not_ready_addresses_share_a_subset() {
        let svc = service(&[("http", IntOrString::Int(8080))]);
        let pods = [
            pod("a", "10.0.0.2", true, &[]),
            pod("b", "10.0.0.1", false, &[]),
            pod("c", "", true, &[]),
        ];
        let subsets = desired_subsets(&svc, &pods);
        assert_eq!(subsets.len(), 1);
        assert_eq!(ips(&subsets[0].addresses), ["10.0.0.2"]);
        assert_eq!(ips(&subsets[0].not_ready_addresses), ["10.0.0.1"]);
        let port = &subsets[0].ports.as_ref().unwrap()[0];
        assert_eq!((port.name.as_deref(), port.port), (Some("http"), 8080));
        let a = &subsets[0].addresses.as_ref().unwrap()[0];
        assert_eq!(a.node_name.as_deref(), Some("node-1"));
        assert_eq!(a.target_ref.as_ref().unwrap().name.as_deref(), Some("a"));
    }

    #[test]
    fn named_target_ports_resolve_per_pod() {
        let svc = service(&[("http", IntOrString::String("web".into()))]);
        let pods = [
            pod("a", "10.0.0.1", true, &[("web", 8080)]),
            pod("b", "10.0.0.2", true, &[("web", 9090)]),
            pod("c", "10.0.0.3", true, &[("other", 7070)]),
        ];
        let subsets = desired_subsets(&svc, &pods);
        let got: Vec<(Vec<&str>, i32)> = subsets
            .iter()
            .map(|s| (ips(&s.addresses), s.ports.as_ref().unwrap()[0].port))
            .collect();
        assert_eq!(got, [(vec!["10.0.0.1"], 8080), (vec!["10.0.0.2"], 9090)]);
    }

    #[test]
    fn terminating_and_finished_pods_and_publish_not_ready() {
        let mut svc = service(&[("http", IntOrString::Int(80))]);
        let mut terminating = (*pod("t", "10.0.0.9", true, &[])).clone();
        terminating.metadata.deletion_timestamp =
            Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                k8s_openapi::jiff::Timestamp::now(),
            ));
        let mut done = (*pod("d", "10.0.0.8", false, &[])).clone();
        done.status.as_mut().unwrap().phase = Some("Succeeded".into());
        let pods = [
            Arc::new(terminating),
            Arc::new(done),
            pod("n", "10.0.0.7", false, &[]),
        ];
        let subsets = desired_subsets(&svc, &pods);
        assert!(ips(&subsets[0].addresses).is_empty());
        assert_eq!(ips(&subsets[0].not_ready_addresses), ["10.0.0.7"]);
        svc.spec.as_mut().unwrap().publish_not_ready_addresses = Some(true);
        let subsets = desired_subsets(&svc, &pods);
        assert_eq!(ips(&subsets[0].addresses), ["10.0.0.7", "10.0.0.9"]);
    }

    #[test]
    fn selector_less_and_api_server_services_are_not_managed() {
        let mut svc = service(&[]);
        assert!(is_managed(&svc));
        svc.spec.as_mut().unwrap().selector = None;
        assert!(!is_managed(&svc));
        let mut api = service(&[]);
        api.metadata.namespace = Some("default".into());
        api.metadata.name = Some("kubernetes".into());
        assert!(!is_managed(&api));
    }
}
