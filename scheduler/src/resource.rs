//! Resource amounts as the scheduler counts them: cpu in millicores, memory and
//! ephemeral-storage in bytes, a pod count, and extended resources (anything else a node
//! advertises, e.g. `example.com/gpu` or `hugepages-2Mi`) in whole units.
//!
//! A pod's request follows upstream's `PodRequests`: the sum of its containers, at least the
//! largest init container (restartable "sidecar" init containers run alongside the rest, so
//! they add to both), plus the pod overhead.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, PodSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

pub const CPU: &str = "cpu";
pub const MEMORY: &str = "memory";
pub const EPHEMERAL_STORAGE: &str = "ephemeral-storage";
pub const PODS: &str = "pods";

/// What a container without a cpu request counts as when scoring (upstream's
/// DefaultMilliCPURequest): filtering counts it as 0, but scoring must still spread such pods.
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
/// What a container without a memory request counts as when scoring (200 MiB, upstream's
/// DefaultMemoryRequest).
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resource {
    pub milli_cpu: i64,
    pub memory: i64,
    pub ephemeral_storage: i64,
    /// Only meaningful for a node's allocatable (its `pods` capacity).
    pub allowed_pods: i64,
    /// Extended resources and hugepages, by name.
    pub scalar: BTreeMap<String, i64>,
}

impl Resource {
    /// The amounts of a `resources.requests` / `status.allocatable` map; unparsable
    /// quantities count as 0 (the API server validates them, and a bad one must not stop the
    /// scheduler).
    pub fn from_map(map: Option<&BTreeMap<String, Quantity>>) -> Resource {
        let mut r = Resource::default();
        if let Some(map) = map {
            for (name, q) in map {
                r.set(name, q);
            }
        }
        r
    }

    fn set(&mut self, name: &str, q: &Quantity) {
        match name {
            CPU => self.milli_cpu = milli_value(q),
            MEMORY => self.memory = value(q),
            EPHEMERAL_STORAGE => self.ephemeral_storage = value(q),
            PODS => self.allowed_pods = value(q),
            _ if is_scalar(name) => {
                self.scalar.insert(name.to_string(), value(q));
            }
            _ => {}
        }
    }

    pub fn add(&mut self, other: &Resource) {
        self.milli_cpu = self.milli_cpu.saturating_add(other.milli_cpu);
        self.memory = self.memory.saturating_add(other.memory);
        self.ephemeral_storage = self
            .ephemeral_storage
            .saturating_add(other.ephemeral_storage);
        self.allowed_pods = self.allowed_pods.saturating_add(other.allowed_pods);
        for (k, v) in &other.scalar {
            let e = self.scalar.entry(k.clone()).or_insert(0);
            *e = e.saturating_add(*v);
        }
    }

    pub fn sub(&mut self, other: &Resource) {
        self.milli_cpu = self.milli_cpu.saturating_sub(other.milli_cpu);
        self.memory = self.memory.saturating_sub(other.memory);
        self.ephemeral_storage = self
            .ephemeral_storage
            .saturating_sub(other.ephemeral_storage);
        self.allowed_pods = self.allowed_pods.saturating_sub(other.allowed_pods);
        for (k, v) in &other.scalar {
            if let Some(e) = self.scalar.get_mut(k) {
                *e = e.saturating_sub(*v);
            }
        }
    }

    /// Each amount the larger of the two.
    fn max_with(&mut self, other: &Resource) {
        self.milli_cpu = self.milli_cpu.max(other.milli_cpu);
        self.memory = self.memory.max(other.memory);
        self.ephemeral_storage = self.ephemeral_storage.max(other.ephemeral_storage);
        for (k, v) in &other.scalar {
            let e = self.scalar.entry(k.clone()).or_insert(0);
            *e = (*e).max(*v);
        }
    }

    pub fn scalar(&self, name: &str) -> i64 {
        self.scalar.get(name).copied().unwrap_or(0)
    }

    pub fn is_zero(&self) -> bool {
        self.milli_cpu == 0
            && self.memory == 0
            && self.ephemeral_storage == 0
            && self.scalar.values().all(|v| *v == 0)
    }
}

/// Extended resources (`domain/name`, not `kubernetes.io/`) and hugepages; other names in a
/// requests map (e.g. misspellings) are not counted, as upstream.
fn is_scalar(name: &str) -> bool {
    name.starts_with("hugepages-")
        || name.starts_with("attachable-volumes-")
        || (name.contains('/') && !name.starts_with("kubernetes.io/"))
}

fn parse(q: &Quantity) -> Option<machinery::quantity::Quantity> {
    machinery::quantity::Quantity::parse(&q.0).ok()
}

fn milli_value(q: &Quantity) -> i64 {
    parse(q).map_or(0, |q| q.milli_value())
}

fn value(q: &Quantity) -> i64 {
    parse(q).map_or(0, |q| q.value())
}

/// Requests of a pod: (for filtering, for scoring). The second counts containers without a
/// cpu or memory request as the defaults above.
pub fn pod_requests(spec: &PodSpec) -> (Resource, Resource) {
    fn requests(c: &Container) -> Option<&BTreeMap<String, Quantity>> {
        c.resources.as_ref().and_then(|r| r.requests.as_ref())
    }
    let actual = |c: &Container| Resource::from_map(requests(c));
    let non_zero = |c: &Container| {
        let mut r = actual(c);
        let reqs = requests(c);
        if !reqs.is_some_and(|m| m.contains_key(CPU)) {
            r.milli_cpu = DEFAULT_MILLI_CPU_REQUEST;
        }
        if !reqs.is_some_and(|m| m.contains_key(MEMORY)) {
            r.memory = DEFAULT_MEMORY_REQUEST;
        }
        r
    };
    let compute = |per_container: &dyn Fn(&Container) -> Resource| {
        let mut sum = Resource::default();
        for c in &spec.containers {
            sum.add(&per_container(c));
        }
        let mut sidecars = Resource::default();
        let mut init_max = Resource::default();
        for c in spec.init_containers.iter().flatten() {
            let mut r = per_container(c);
            if c.restart_policy.as_deref() == Some("Always") {
                // A sidecar keeps running next to the app containers and the later init
                // containers.
                sum.add(&r);
                sidecars.add(&r);
                r = sidecars.clone();
            } else {
                r.add(&sidecars);
            }
            init_max.max_with(&r);
        }
        sum.max_with(&init_max);
        sum.add(&Resource::from_map(spec.overhead.as_ref()));
        sum
    };
    (compute(&actual), compute(&non_zero))
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::type_complexity
)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ResourceRequirements;

    fn container(cpu: Option<&str>, mem: Option<&str>, sidecar: bool) -> Container {
        let mut requests = BTreeMap::new();
        if let Some(c) = cpu {
            requests.insert(CPU.to_string(), Quantity(c.to_string()));
        }
        if let Some(m) = mem {
            requests.insert(MEMORY.to_string(), Quantity(m.to_string()));
        }
        Container {
            name: "c".into(),
            resources: Some(ResourceRequirements {
                requests: Some(requests),
                ..Default::default()
            }),
            restart_policy: sidecar.then(|| "Always".to_string()),
            ..Default::default()
        }
    }

    #[test]
    fn pod_requests_follow_upstream() {
        struct Case {
            name: &'static str,
            containers: Vec<Container>,
            init: Vec<Container>,
            overhead: Option<&'static str>,
            want_cpu: i64,
            want_mem: i64,
            want_non_zero_cpu: i64,
            want_non_zero_mem: i64,
        }
        let cases = vec![
            Case {
                name: "no requests count 0, scoring uses the defaults",
                containers: vec![container(None, None, false)],
                init: vec![],
                overhead: None,
                want_cpu: 0,
                want_mem: 0,
                want_non_zero_cpu: 100,
                want_non_zero_mem: DEFAULT_MEMORY_REQUEST,
            },
            Case {
                name: "containers add up",
                containers: vec![
                    container(Some("100m"), Some("1Gi"), false),
                    container(Some("0.5"), Some("1Gi"), false),
                ],
                init: vec![],
                overhead: None,
                want_cpu: 600,
                want_mem: 2 << 30,
                want_non_zero_cpu: 600,
                want_non_zero_mem: 2 << 30,
            },
            Case {
                name: "the largest init container wins over the sum",
                containers: vec![container(Some("100m"), Some("100Mi"), false)],
                init: vec![
                    container(Some("2"), Some("10Mi"), false),
                    container(Some("1"), Some("10Mi"), false),
                ],
                overhead: None,
                want_cpu: 2000,
                want_mem: 100 << 20,
                want_non_zero_cpu: 2000,
                want_non_zero_mem: 100 << 20,
            },
            Case {
                name: "sidecars run beside later init containers and the app",
                containers: vec![container(Some("100m"), Some("10Mi"), false)],
                init: vec![
                    container(Some("200m"), Some("10Mi"), true),
                    container(Some("1"), Some("10Mi"), false),
                ],
                overhead: None,
                want_cpu: 1200,
                want_mem: 20 << 20,
                want_non_zero_cpu: 1200,
                want_non_zero_mem: 20 << 20,
            },
            Case {
                name: "overhead is added",
                containers: vec![container(Some("100m"), Some("10Mi"), false)],
                init: vec![],
                overhead: Some("50m"),
                want_cpu: 150,
                want_mem: 10 << 20,
                want_non_zero_cpu: 150,
                want_non_zero_mem: 10 << 20,
            },
        ];
        for c in cases {
            let spec = PodSpec {
                containers: c.containers,
                init_containers: Some(c.init),
                overhead: c
                    .overhead
                    .map(|o| BTreeMap::from([(CPU.to_string(), Quantity(o.to_string()))])),
                ..Default::default()
            };
            let (actual, non_zero) = pod_requests(&spec);
            assert_eq!(actual.milli_cpu, c.want_cpu, "{}", c.name);
            assert_eq!(actual.memory, c.want_mem, "{}", c.name);
            assert_eq!(non_zero.milli_cpu, c.want_non_zero_cpu, "{}", c.name);
            assert_eq!(non_zero.memory, c.want_non_zero_mem, "{}", c.name);
        }
    }

    #[test]
    fn extended_resources_are_counted() {
        let map = BTreeMap::from([
            ("example.com/gpu".to_string(), Quantity("2".into())),
            ("hugepages-2Mi".to_string(), Quantity("4Mi".into())),
            ("pods".to_string(), Quantity("110".into())),
            ("bogus".to_string(), Quantity("1".into())),
        ]);
        let r = Resource::from_map(Some(&map));
        assert_eq!(r.scalar("example.com/gpu"), 2);
        assert_eq!(r.scalar("hugepages-2Mi"), 4 << 20);
        assert_eq!(r.allowed_pods, 110);
        assert_eq!(r.scalar("bogus"), 0);
    }
}
