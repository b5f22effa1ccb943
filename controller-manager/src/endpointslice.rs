//! The endpointslice controller: for every Service with a selector, EndpointSlices
//! (discovery.k8s.io/v1) list the matching pods, at most `--max-endpoints-per-slice` per
//! slice, with conditions ready/serving/terminating, owned by the Service (so they go with
//! it) and labelled `kubernetes.io/service-name` and
//! `endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io`, as upstream's
//! EndpointSliceController. Pods whose named target ports resolve to different numbers land in
//! different slices (a slice has one port list). Endpoints stay in the slice they are in when
//! possible, so a readiness change rewrites one slice. A Service without endpoints keeps one
//! empty placeholder slice.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::{Pod, Service, ServicePort};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::Api;
use kube::api::{DeleteParams, PostParams};

use crate::endpoints::{
    HEADLESS_LABEL, endpoint_hostname, find_port, is_headless, is_managed, is_pod_ready,
    pod_reference, selector, selector_matches, should_pod_be_in_endpoints, watch_services_and_pods,
};
use crate::framework::{Action, Informer, Notification, WorkQueue, run_workers, split_key};
use crate::{Context, Error};

pub const NAME: &str = "endpointslice";
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
pub const CONTROLLER_NAME: &str = "endpointslice-controller.k8s.io";

/// How long to wait for the slice watch to show this controller's own writes before deciding
/// on a Service again; afterwards the cache is trusted anyway.
const EXPECTATION_TIMEOUT: Duration = Duration::from_secs(5);
const EXPECTATION_RECHECK: Duration = Duration::from_millis(50);

pub fn start(ctx: Context) -> BoxFuture<'static, Result<(), Error>> {
    Box::pin(run(ctx))
}

/// Writes this controller made that the slice informer has not shown yet, per Service: a sync
/// on a cache without them would create duplicate slices.
#[derive(Default)]
struct Expectations {
    by_service: HashMap<String, Pending>,
}

struct Pending {
    since: Instant,
    /// Slices created or updated: name -> the resourceVersion the write returned.
    written: HashMap<String, String>,
    /// Slices deleted, by name.
    deleted: HashSet<String>,
}

impl Expectations {
    /// Whether the cache shows every pending write of `service`.
    fn satisfied(&mut self, service: &str, slices: &[Arc<EndpointSlice>]) -> bool {
        let Some(p) = self.by_service.get(service) else {
            return true;
        };
        let seen = |name: &str| {
            slices
                .iter()
                .find(|s| s.metadata.name.as_deref() == Some(name))
        };
        let done = p.since.elapsed() > EXPECTATION_TIMEOUT
            || (p.written.iter().all(|(name, rv)| {
                seen(name).is_some_and(|s| {
                    let have = s.metadata.resource_version.as_deref().unwrap_or_default();
                    // Resource versions are etcd revisions: numbers that only grow.
                    match (have.parse::<u64>(), rv.parse::<u64>()) {
                        (Ok(h), Ok(w)) => h >= w,
                        _ => have == rv,
                    }
                })
            }) && p.deleted.iter().all(|name| seen(name).is_none()));
        if done {
            self.by_service.remove(service);
        }
        done
    }
}

/// Runs the controller until `ctx.shutdown`.
pub async fn run(ctx: Context) -> Result<(), Error> {
    let services = ctx.informers.get::<Service>();
    let pods = ctx.informers.get::<Pod>();
    let slices = ctx.informers.get::<EndpointSlice>();
    let queue = WorkQueue::new(NAME, ctx.metrics.clone(), ctx.shutdown.clone());
    watch_services_and_pods(
        &services,
        &pods,
        &queue,
        ctx.options.endpointslice_updates_batch_period,
    );
    {
        let q = queue.clone();
        slices.add_handler(move |n| {
            let s = match n {
                Notification::Added(_) => return,
                Notification::Updated { new, .. } => new,
                Notification::Deleted(s) => s,
            };
            if let Some(key) = owning_service_key(s) {
                q.add(key);
            }
        });
    }
    for synced in [
        services.wait_synced(&ctx.shutdown).await,
        pods.wait_synced(&ctx.shutdown).await,
        slices.wait_synced(&ctx.shutdown).await,
    ] {
        if !synced {
            return Ok(());
        }
    }
    let client = ctx.client.clone();
    let max = ctx.options.max_endpoints_per_slice.max(1);
    let expectations = Arc::new(Mutex::new(Expectations::default()));
    run_workers(
        NAME,
        queue,
        ctx.options.concurrent_service_endpoint_syncs,
        None,
        ctx.metrics.clone(),
        ctx.shutdown.clone(),
        move |key| {
            let (client, services, pods, slices, exp) = (
                client.clone(),
                services.clone(),
                pods.clone(),
                slices.clone(),
                expectations.clone(),
            );
            async move { reconcile(&client, &services, &pods, &slices, &exp, max, &key).await }
        },
    )
    .await;
    Ok(())
}

/// `namespace/service` of a slice this controller manages.
fn owning_service_key(s: &EndpointSlice) -> Option<String> {
    let labels = s.metadata.labels.as_ref()?;
    if labels.get(MANAGED_BY_LABEL).map(String::as_str) != Some(CONTROLLER_NAME) {
        return None;
    }
    let svc = labels.get(SERVICE_NAME_LABEL)?;
    Some(format!("{}/{svc}", s.metadata.namespace.as_deref()?))
}

fn lock(m: &Mutex<Expectations>) -> std::sync::MutexGuard<'_, Expectations> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

async fn reconcile(
    client: &kube::Client,
    services: &Informer<Service>,
    pods: &Informer<Pod>,
    slices: &Informer<EndpointSlice>,
    expectations: &Mutex<Expectations>,
    max: usize,
    key: &str,
) -> Result<Action, kube::Error> {
    let (namespace, name) = split_key(key);
    let Some(svc) = services.get(key) else {
        // Deleted Services take their slices with them through the garbage collector.
        lock(expectations).by_service.remove(key);
        return Ok(Action::Done);
    };
    if !is_managed(&svc) {
        return Ok(Action::Done);
    }
    let existing: Vec<Arc<EndpointSlice>> = slices
        .list_namespace(namespace)
        .into_iter()
        .filter(|s| owning_service_key(s).as_deref() == Some(key))
        .collect();
    if !lock(expectations).satisfied(key, &existing) {
        return Ok(Action::RequeueAfter(EXPECTATION_RECHECK));
    }
    let address_type = address_type(&svc);
    let desired = desired_endpoints(&svc, &pods.list_namespace(namespace), &address_type);
    let plan = plan(&svc, &existing, desired, &address_type, max);
    if plan.is_empty() {
        return Ok(Action::Done);
    }
    let api = Api::<EndpointSlice>::namespaced(client.clone(), namespace);
    let mut pending = Pending {
        since: Instant::now(),
        written: HashMap::new(),
        deleted: HashSet::new(),
    };
    let mut result = Ok(());
    for slice in plan.create {
        match api.create(&PostParams::default(), &slice).await {
            Ok(s) => {
                if let (Some(n), Some(rv)) = (s.metadata.name, s.metadata.resource_version) {
                    pending.written.insert(n, rv);
                }
            }
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    if result.is_ok() {
        for slice in plan.update {
            let n = slice.metadata.name.clone().unwrap_or_default();
            match api.replace(&n, &PostParams::default(), &slice).await {
                Ok(s) => {
                    if let Some(rv) = s.metadata.resource_version {
                        pending.written.insert(n, rv);
                    }
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
    }
    if result.is_ok() {
        for n in plan.delete {
            match api.delete(&n, &DeleteParams::default()).await {
                Ok(_) => {
                    pending.deleted.insert(n);
                }
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
    }
    if !pending.written.is_empty() || !pending.deleted.is_empty() {
        lock(expectations)
            .by_service
            .insert(key.to_string(), pending);
    }
    match result {
        Ok(()) => {
            tracing::debug!(service = %name, namespace, "endpoint slices synced");
            Ok(Action::Done)
        }
        // Stale cache: the event that made it stale requeues this Service.
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(Action::RequeueAfter(EXPECTATION_RECHECK)),
        Err(kube::Error::Api(s)) if crate::serviceaccount::is_terminating(&s) => Ok(Action::Done),
        Err(e) => Err(e),
    }
}

/// IPv4 unless the Service is IPv6-only.
fn address_type(svc: &Service) -> String {
    let families = svc.spec.as_ref().and_then(|s| s.ip_families.as_ref());
    match families.and_then(|f| f.first()).map(String::as_str) {
        Some("IPv6") => "IPv6".to_string(),
        _ => "IPv4".to_string(),
    }
}

/// Endpoints of one port set.
type PortSet = Vec<PortKey>;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct PortKey {
    name: Option<String>,
    port: Option<i32>,
    protocol: Option<String>,
    app_protocol: Option<String>,
}

impl PortKey {
    fn of(p: &EndpointPort) -> PortKey {
        PortKey {
            name: p.name.clone(),
            port: p.port,
            protocol: p.protocol.clone(),
            app_protocol: p.app_protocol.clone(),
        }
    }

    fn to_port(&self) -> EndpointPort {
        EndpointPort {
            name: self.name.clone(),
            port: self.port,
            protocol: self.protocol.clone(),
            app_protocol: self.app_protocol.clone(),
        }
    }
}

/// The endpoints of `svc`, grouped by the port set each pod resolves to.
fn desired_endpoints(
    svc: &Service,
    pods: &[Arc<Pod>],
    address_type: &str,
) -> BTreeMap<PortSet, Vec<Endpoint>> {
    let mut out: BTreeMap<PortSet, Vec<Endpoint>> = BTreeMap::new();
    let Some(sel) = selector(svc) else {
        return out;
    };
    let spec = svc.spec.as_ref();
    let publish_not_ready = spec
        .and_then(|s| s.publish_not_ready_addresses)
        .unwrap_or(false);
    let ports: &[ServicePort] = spec.and_then(|s| s.ports.as_deref()).unwrap_or_default();
    for pod in pods {
        if !selector_matches(sel, pod) || !should_pod_be_in_endpoints(pod, true) {
            continue;
        }
        let status = pod.status.as_ref();
        let ips: Vec<String> = status
            .and_then(|s| s.pod_ips.as_ref())
            .map(|l| l.iter().map(|i| i.ip.clone()).collect())
            .filter(|l: &Vec<String>| !l.is_empty())
            .or_else(|| status.and_then(|s| s.pod_ip.clone()).map(|ip| vec![ip]))
            .unwrap_or_default();
        let want_v6 = address_type == "IPv6";
        let Some(ip) = ips.into_iter().find(|ip| ip.contains(':') == want_v6) else {
            continue;
        };
        let mut port_set: PortSet = ports
            .iter()
            .filter_map(|p| {
                let number = find_port(pod, p)?;
                Some(PortKey {
                    name: Some(p.name.clone().unwrap_or_default()),
                    port: Some(number),
                    protocol: Some(p.protocol.clone().unwrap_or_else(|| "TCP".into())),
                    app_protocol: p.app_protocol.clone(),
                })
            })
            .collect();
        port_set.sort();
        let terminating = pod.metadata.deletion_timestamp.is_some();
        let serving = is_pod_ready(pod);
        let ready = publish_not_ready || (serving && !terminating);
        out.entry(port_set).or_default().push(Endpoint {
            addresses: vec![ip],
            conditions: Some(EndpointConditions {
                ready: Some(ready),
                serving: Some(serving || publish_not_ready),
                terminating: Some(terminating),
            }),
            hostname: endpoint_hostname(pod, svc),
            node_name: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
            target_ref: Some(pod_reference(pod)),
            ..Default::default()
        });
    }
    for eps in out.values_mut() {
        eps.sort_by(|a, b| a.addresses.cmp(&b.addresses));
    }
    out
}

#[derive(Default, Debug)]
struct Plan {
    create: Vec<EndpointSlice>,
    update: Vec<EndpointSlice>,
    delete: Vec<String>,
}

impl Plan {
    fn is_empty(&self) -> bool {
        self.create.is_empty() && self.update.is_empty() && self.delete.is_empty()
    }
}

fn slice_ports(s: &EndpointSlice) -> PortSet {
    let mut ports: PortSet = s.ports.iter().flatten().map(PortKey::of).collect();
    ports.sort();
    ports
}

fn endpoint_ip(e: &Endpoint) -> Option<&str> {
    e.addresses.first().map(String::as_str)
}

/// What to write so the slices of `svc` hold exactly `desired`, keeping endpoints in the
/// slices they are in and filling slices with room before creating new ones.
fn plan(
    svc: &Service,
    existing: &[Arc<EndpointSlice>],
    desired: BTreeMap<PortSet, Vec<Endpoint>>,
    address_type: &str,
    max: usize,
) -> Plan {
    let mut plan = Plan::default();
    let labels = slice_labels(svc);
    let owner = owner_reference(svc);
    let mut keep_names: BTreeSet<String> = BTreeSet::new();
    // Slices of another address type, or not owned by this Service (a Service recreated
    // under the same name), go.
    let usable: Vec<&Arc<EndpointSlice>> = existing
        .iter()
        .filter(|s| {
            s.address_type == address_type
                && s.metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .any(|o| Some(&o.uid) == svc.metadata.uid.as_ref())
        })
        .collect();

    if desired.is_empty() {
        // One empty placeholder slice, as upstream keeps.
        let placeholder = usable
            .iter()
            .find(|s| s.endpoints.is_empty() && s.ports.as_ref().is_none_or(Vec::is_empty));
        match placeholder {
            Some(s) => {
                let name = s.metadata.name.clone().unwrap_or_default();
                if s.metadata.labels.as_ref() != Some(&labels) {
                    let mut s = (***s).clone();
                    s.metadata.labels = Some(labels.clone());
                    plan.update.push(s);
                }
                keep_names.insert(name);
            }
            None => plan.create.push(new_slice(
                svc,
                &labels,
                &owner,
                address_type,
                &[],
                Vec::new(),
            )),
        }
    } else {
        for (ports, endpoints) in desired {
            let mut wanted: HashMap<String, Endpoint> = endpoints
                .into_iter()
                .filter_map(|e| endpoint_ip(&e).map(|ip| (ip.to_string(), e.clone())))
                .collect();
            // Existing slices of this port set: keep what is still wanted in place.
            let mut filled: Vec<(Arc<EndpointSlice>, Vec<Endpoint>)> = Vec::new();
            for s in usable.iter().filter(|s| slice_ports(s) == ports) {
                let mut kept: Vec<Endpoint> = Vec::new();
                for e in &s.endpoints {
                    if kept.len() >= max {
                        break;
                    }
                    if let Some(ip) = endpoint_ip(e)
                        && let Some(w) = wanted.remove(ip)
                    {
                        kept.push(w);
                    }
                }
                filled.push(((*s).clone(), kept));
            }
            // The rest go into slices with room, then into new ones.
            let mut rest: Vec<Endpoint> = wanted.into_values().collect();
            rest.sort_by(|a, b| a.addresses.cmp(&b.addresses));
            for (_, kept) in filled.iter_mut() {
                while kept.len() < max {
                    match rest.pop() {
                        Some(e) => kept.push(e),
                        None => break,
                    }
                }
            }
            for (s, mut kept) in filled {
                let name = s.metadata.name.clone().unwrap_or_default();
                if kept.is_empty() {
                    continue;
                }
                kept.sort_by(|a, b| a.addresses.cmp(&b.addresses));
                keep_names.insert(name);
                let unchanged = s.endpoints == kept && s.metadata.labels.as_ref() == Some(&labels);
                if !unchanged {
                    let mut s = (*s).clone();
                    s.endpoints = kept;
                    s.metadata.labels = Some(labels.clone());
                    plan.update.push(s);
                }
            }
            while !rest.is_empty() {
                let take = rest.len().min(max);
                let mut chunk: Vec<Endpoint> = rest.drain(..take).collect();
                chunk.sort_by(|a, b| a.addresses.cmp(&b.addresses));
                plan.create
                    .push(new_slice(svc, &labels, &owner, address_type, &ports, chunk));
            }
        }
    }
    for s in existing {
        let name = s.metadata.name.clone().unwrap_or_default();
        if !keep_names.contains(&name) {
            plan.delete.push(name);
        }
    }
    plan
}

fn slice_labels(svc: &Service) -> BTreeMap<String, String> {
    let mut labels = svc.metadata.labels.clone().unwrap_or_default();
    labels.remove(HEADLESS_LABEL);
    if is_headless(svc) {
        labels.insert(HEADLESS_LABEL.to_string(), String::new());
    }
    labels.insert(
        SERVICE_NAME_LABEL.to_string(),
        svc.metadata.name.clone().unwrap_or_default(),
    );
    labels.insert(MANAGED_BY_LABEL.to_string(), CONTROLLER_NAME.to_string());
    labels
}

fn owner_reference(svc: &Service) -> OwnerReference {
    OwnerReference {
        api_version: "v1".into(),
        kind: "Service".into(),
        name: svc.metadata.name.clone().unwrap_or_default(),
        uid: svc.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

fn new_slice(
    svc: &Service,
    labels: &BTreeMap<String, String>,
    owner: &OwnerReference,
    address_type: &str,
    ports: &[PortKey],
    endpoints: Vec<Endpoint>,
) -> EndpointSlice {
    EndpointSlice {
        metadata: ObjectMeta {
            generate_name: Some(format!(
                "{}-",
                svc.metadata.name.as_deref().unwrap_or_default()
            )),
            namespace: svc.metadata.namespace.clone(),
            labels: Some(labels.clone()),
            owner_references: Some(vec![owner.clone()]),
            ..Default::default()
        },
        address_type: address_type.to_string(),
        endpoints,
        ports: (!ports.is_empty()).then(|| ports.iter().map(PortKey::to_port).collect()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::endpoints::tests::{pod, service};
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    fn named(mut s: EndpointSlice, name: &str, rv: &str) -> Arc<EndpointSlice> {
        s.metadata.name = Some(name.into());
        s.metadata.resource_version = Some(rv.into());
        Arc::new(s)
    }

    fn conditions(s: &EndpointSlice) -> Vec<(String, bool)> {
        s.endpoints
            .iter()
            .map(|e| {
                (
                    e.addresses[0].clone(),
                    e.conditions.as_ref().unwrap().ready.unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn slices_hold_at_most_max_endpoints_and_are_owned_by_the_service() {
        let svc = service(&[("http", IntOrString::Int(8080))]);
        let pods: Vec<_> = (0..5)
            .map(|i| pod(&format!("p{i}"), &format!("10.0.0.{i}"), i % 2 == 0, &[]))
            .collect();
        let desired = desired_endpoints(&svc, &pods, "IPv4");
        let p = plan(&svc, &[], desired, "IPv4", 2);
        assert_eq!(p.create.len(), 3);
        let total: usize = p.create.iter().map(|s| s.endpoints.len()).sum();
        assert_eq!(total, 5);
        let s = &p.create[0];
        assert!(s.endpoints.len() <= 2);
        assert_eq!(s.metadata.generate_name.as_deref(), Some("web-"));
        let labels = s.metadata.labels.as_ref().unwrap();
        assert_eq!(labels[SERVICE_NAME_LABEL], "web");
        assert_eq!(labels[MANAGED_BY_LABEL], CONTROLLER_NAME);
        let owner = &s.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.uid.as_str()),
            ("Service", "svc-uid")
        );
        assert_eq!(s.ports.as_ref().unwrap()[0].port, Some(8080));
    }

    #[test]
    fn readiness_change_updates_the_slice_in_place() {
        let svc = service(&[("http", IntOrString::Int(8080))]);
        let before = [
            pod("a", "10.0.0.1", true, &[]),
            pod("b", "10.0.0.2", false, &[]),
        ];
        let p = plan(
            &svc,
            &[],
            desired_endpoints(&svc, &before, "IPv4"),
            "IPv4",
            100,
        );
        let existing = [named(p.create[0].clone(), "web-abc", "5")];
        // Nothing changed: nothing to write.
        let again = plan(
            &svc,
            &existing,
            desired_endpoints(&svc, &before, "IPv4"),
            "IPv4",
            100,
        );
        assert!(again.is_empty(), "{again:?}");
        let after = [
            pod("a", "10.0.0.1", true, &[]),
            pod("b", "10.0.0.2", true, &[]),
        ];
        let p = plan(
            &svc,
            &existing,
            desired_endpoints(&svc, &after, "IPv4"),
            "IPv4",
            100,
        );
        assert!(p.create.is_empty() && p.delete.is_empty());
        assert_eq!(p.update.len(), 1);
        assert_eq!(
            conditions(&p.update[0]),
            [
                ("10.0.0.1".to_string(), true),
                ("10.0.0.2".to_string(), true)
            ]
        );
    }

    #[test]
    fn named_ports_split_slices_and_empty_services_keep_a_placeholder() {
        let svc = service(&[("http", IntOrString::String("web".into()))]);
        let pods = [
            pod("a", "10.0.0.1", true, &[("web", 8080)]),
            pod("b", "10.0.0.2", true, &[("web", 9090)]),
            pod("c", "10.0.0.3", true, &[]),
        ];
        let p = plan(
            &svc,
            &[],
            desired_endpoints(&svc, &pods, "IPv4"),
            "IPv4",
            100,
        );
        let mut ports: Vec<Option<i32>> = p
            .create
            .iter()
            .map(|s| s.ports.as_ref().and_then(|p| p[0].port))
            .collect();
        ports.sort();
        // The pod without the named port still gets an endpoint, in a slice without ports.
        assert_eq!(ports, [None, Some(8080), Some(9090)]);

        let existing: Vec<_> = p
            .create
            .iter()
            .enumerate()
            .map(|(i, s)| named(s.clone(), &format!("web-{i}"), "1"))
            .collect();
        let empty = plan(&svc, &existing, BTreeMap::new(), "IPv4", 100);
        assert_eq!(empty.create.len(), 1);
        assert!(empty.create[0].endpoints.is_empty());
        assert_eq!(empty.delete.len(), 3);
    }

    #[test]
    fn terminating_pods_are_listed_not_ready() {
        let svc = service(&[("http", IntOrString::Int(80))]);
        let mut t = (*pod("t", "10.0.0.9", true, &[])).clone();
        t.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::now(),
        ));
        let eps = desired_endpoints(&svc, &[Arc::new(t)], "IPv4");
        let e = &eps.values().next().unwrap()[0];
        let c = e.conditions.as_ref().unwrap();
        assert_eq!(
            (c.ready, c.serving, c.terminating),
            (Some(false), Some(true), Some(true))
        );
    }

    #[test]
    fn expectations_wait_for_the_cache() {
        let mut exp = Expectations::default();
        exp.by_service.insert(
            "ns/web".into(),
            Pending {
                since: Instant::now(),
                written: HashMap::from([("web-a".to_string(), "7".to_string())]),
                deleted: HashSet::from(["web-b".to_string()]),
            },
        );
        let old = EndpointSlice::default();
        assert!(!exp.satisfied("ns/web", &[named(old.clone(), "web-a", "6")]));
        assert!(!exp.satisfied(
            "ns/web",
            &[
                named(old.clone(), "web-a", "7"),
                named(old.clone(), "web-b", "3")
            ]
        ));
        assert!(exp.satisfied("ns/web", &[named(old, "web-a", "8")]));
        assert!(exp.satisfied("ns/other", &[]));
    }
}
