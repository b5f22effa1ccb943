//! The one resource table: group, version, kind, plural, short names, scope, etcd prefix and
//! subresources of every resource the API server serves. Discovery, routing, OpenAPI and
//! storage all read this table, so adding a resource is one entry here plus its Strategy.

use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subresource {
    Status,
    Scale,
    Binding,
    Log,
    Eviction,
    /// certificates.k8s.io CertificateSigningRequests' `/approval`.
    Approval,
}

impl Subresource {
    pub fn name(self) -> &'static str {
        match self {
            Self::Status => "status",
            Self::Scale => "scale",
            Self::Binding => "binding",
            Self::Log => "log",
            Self::Eviction => "eviction",
            Self::Approval => "approval",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "status" => Self::Status,
            "scale" => Self::Scale,
            "binding" => Self::Binding,
            "log" => Self::Log,
            "eviction" => Self::Eviction,
            "approval" => Self::Approval,
            _ => return None,
        })
    }
}

/// One served resource (one group/version/plural).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceInfo {
    /// "" for the core group.
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub short_names: Vec<String>,
    pub namespaced: bool,
    /// Where objects live in etcd, as kube-apiserver lays them out: `/registry/pods`,
    /// `/registry/minions`, `/registry/services/specs`, ... Objects are at
    /// `<prefix>/<namespace>/<name>` or `<prefix>/<name>`.
    pub etcd_prefix: String,
    pub subresources: Vec<Subresource>,
    pub categories: Vec<String>,
}

impl ResourceInfo {
    /// `apps/v1` or `v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    pub fn group_resource(&self) -> crate::status::GroupResource {
        crate::status::GroupResource::new(&self.group, &self.plural)
    }

    pub fn group_kind(&self) -> crate::status::GroupKind {
        crate::status::GroupKind::new(&self.group, &self.kind)
    }

    pub fn has_subresource(&self, sub: Subresource) -> bool {
        self.subresources.contains(&sub)
    }

    /// The storage key of one object.
    pub fn key(&self, namespace: Option<&str>, name: &str) -> String {
        match (self.namespaced, namespace) {
            (true, Some(ns)) => format!("{}/{}/{}", self.etcd_prefix, ns, name),
            _ => format!("{}/{}", self.etcd_prefix, name),
        }
    }

    /// The storage prefix that a list covers (all namespaces, or one), ending in `/`.
    pub fn list_prefix(&self, namespace: Option<&str>) -> String {
        match (self.namespaced, namespace) {
            (true, Some(ns)) => format!("{}/{}/", self.etcd_prefix, ns),
            _ => format!("{}/", self.etcd_prefix),
        }
    }

    /// The verbs discovery lists for the main resource.
    pub fn verbs(&self) -> Vec<&'static str> {
        vec![
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ]
    }
}

struct Entry {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    short_names: &'static [&'static str],
    namespaced: bool,
    etcd_prefix: &'static str,
    subresources: &'static [Subresource],
    all_category: bool,
}

use Subresource::*;

const BUILTIN: &[Entry] = &[
    Entry {
        group: "",
        version: "v1",
        kind: "Namespace",
        plural: "namespaces",
        short_names: &["ns"],
        namespaced: false,
        etcd_prefix: "/registry/namespaces",
        subresources: &[Status],
        all_category: false,
    },
    Entry {
        group: "",
        version: "v1",
        kind: "Pod",
        plural: "pods",
        short_names: &["po"],
        namespaced: true,
        etcd_prefix: "/registry/pods",
        subresources: &[Status, Binding, Log, Eviction],
        all_category: true,
    },
    Entry {
        group: "",
        version: "v1",
        kind: "Service",
        plural: "services",
        short_names: &["svc"],
        namespaced: true,
        etcd_prefix: "/registry/services/specs",
        subresources: &[Status],
        all_category: true,
    },
    Entry {
        group: "",
        version: "v1",
        kind: "Endpoints",
        plural: "endpoints",
        short_names: &["ep"],
        namespaced: true,
        etcd_prefix: "/registry/services/endpoints",
        subresources: &[],
        all_category: false,
    },
    Entry {
        group: "",
        version: "v1",
        kind: "Node",
        plural: "nodes",
        short_names: &["no"],
        namespaced: false,
        etcd_prefix: "/registry/minions",
        subresources: &[Status],
        all_category: false,
    },
    Entry {
        group: "",
        version: "v1",
        kind: "Event",
        plural: "events",
        short_names: &["ev"],
        namespaced: true,
        etcd_prefix: "/registry/events",
        subresources: &[],
        all_category: false,
    },
    Entry {
        group: "",
        version: "v1",
        kind: "ConfigMap",
        plural: "configmaps",
        short_names: &["cm"],
        namespaced: true,
        etcd_prefix: "/registry/configmaps",
        subresources: &[],
        all_category: false,
    },
    Entry {
        group: "",
        version: "v1",
        kind: "Secret",
        plural: "secrets",
        short_names: &[],
        namespaced: true,
        etcd_prefix: "/registry/secrets",
        subresources: &[],
        all_category: false,
    },
    Entry {
        group: "",
        version: "v1",
        kind: "ServiceAccount",
        plural: "serviceaccounts",
        short_names: &["sa"],
        namespaced: true,
        etcd_prefix: "/registry/serviceaccounts",
        subresources: &[],
        all_category: false,
    },
    Entry {
        group: "",
        version: "v1",
        kind: "ReplicationController",
        plural: "replicationcontrollers",
        short_names: &["rc"],
        namespaced: true,
        etcd_prefix: "/registry/controllers",
        subresources: &[Status, Scale],
        all_category: true,
    },
    Entry {
        group: "apps",
        version: "v1",
        kind: "ReplicaSet",
        plural: "replicasets",
        short_names: &["rs"],
        namespaced: true,
        etcd_prefix: "/registry/replicasets",
        subresources: &[Status, Scale],
        all_category: true,
    },
    Entry {
        group: "apps",
        version: "v1",
        kind: "Deployment",
        plural: "deployments",
        short_names: &["deploy"],
        namespaced: true,
        etcd_prefix: "/registry/deployments",
        subresources: &[Status, Scale],
        all_category: true,
    },
    Entry {
        group: "coordination.k8s.io",
        version: "v1",
        kind: "Lease",
        plural: "leases",
        short_names: &[],
        namespaced: true,
        etcd_prefix: "/registry/leases",
        subresources: &[],
        all_category: false,
    },
    Entry {
        group: "discovery.k8s.io",
        version: "v1",
        kind: "EndpointSlice",
        plural: "endpointslices",
        short_names: &[],
        namespaced: true,
        etcd_prefix: "/registry/endpointslices",
        subresources: &[],
        all_category: false,
    },
    Entry {
        group: "apiextensions.k8s.io",
        version: "v1",
        kind: "CustomResourceDefinition",
        plural: "customresourcedefinitions",
        short_names: &["crd", "crds"],
        namespaced: false,
        etcd_prefix: "/registry/apiextensions.k8s.io/customresourcedefinitions",
        subresources: &[Status],
        all_category: false,
    },
    Entry {
        group: "certificates.k8s.io",
        version: "v1",
        kind: "CertificateSigningRequest",
        plural: "certificatesigningrequests",
        short_names: &["csr"],
        namespaced: false,
        etcd_prefix: "/registry/certificatesigningrequests",
        subresources: &[Status, Approval],
        all_category: false,
    },
    // events.k8s.io/v1 Events share core/v1 Events' storage, as upstream: one object, two
    // representations, converted on the way in and out.
    Entry {
        group: "events.k8s.io",
        version: "v1",
        kind: "Event",
        plural: "events",
        short_names: &["ev"],
        namespaced: true,
        etcd_prefix: "/registry/events",
        subresources: &[],
        all_category: false,
    },
];

/// The table of served resources, looked up by URL parts or by kind.
#[derive(Debug, Clone, Default)]
pub struct ResourceTable {
    resources: Vec<Arc<ResourceInfo>>,
    by_path: HashMap<(String, String, String), Arc<ResourceInfo>>,
}

impl ResourceTable {
    /// The first-wave built-in resources.
    pub fn builtin() -> Self {
        let mut table = Self::default();
        for e in BUILTIN {
            table.insert(ResourceInfo {
                group: e.group.into(),
                version: e.version.into(),
                kind: e.kind.into(),
                plural: e.plural.into(),
                singular: e.kind.to_ascii_lowercase(),
                short_names: e.short_names.iter().map(|s| s.to_string()).collect(),
                namespaced: e.namespaced,
                etcd_prefix: e.etcd_prefix.into(),
                subresources: e.subresources.to_vec(),
                categories: if e.all_category {
                    vec!["all".into()]
                } else {
                    vec![]
                },
            });
        }
        table
    }

    pub fn insert(&mut self, info: ResourceInfo) {
        let info = Arc::new(info);
        self.by_path.insert(
            (
                info.group.clone(),
                info.version.clone(),
                info.plural.clone(),
            ),
            info.clone(),
        );
        self.resources.retain(|r| {
            !(r.group == info.group && r.version == info.version && r.plural == info.plural)
        });
        self.resources.push(info);
    }

    /// The resource served at `/api[s]/<group>/<version>/<plural>`.
    pub fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceInfo>> {
        self.by_path
            .get(&(group.to_string(), version.to_string(), plural.to_string()))
            .cloned()
    }

    pub fn by_kind(&self, group: &str, kind: &str) -> Option<Arc<ResourceInfo>> {
        self.resources
            .iter()
            .find(|r| r.group == group && r.kind == kind)
            .cloned()
    }

    pub fn all(&self) -> &[Arc<ResourceInfo>] {
        &self.resources
    }

    /// Served group versions in discovery order (core first, then groups as listed).
    pub fn group_versions(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for r in &self.resources {
            let gv = (r.group.clone(), r.version.clone());
            if !out.contains(&gv) {
                out.push(gv);
            }
        }
        out
    }

    pub fn in_group_version<'a>(
        &'a self,
        group: &'a str,
        version: &'a str,
    ) -> impl Iterator<Item = &'a Arc<ResourceInfo>> + 'a {
        self.resources
            .iter()
            .filter(move |r| r.group == group && r.version == version)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_kube_apiserver_layout() {
        let t = ResourceTable::builtin();
        let pods = t.lookup("", "v1", "pods").unwrap();
        assert_eq!(pods.key(Some("default"), "p"), "/registry/pods/default/p");
        let nodes = t.lookup("", "v1", "nodes").unwrap();
        assert_eq!(nodes.key(None, "n1"), "/registry/minions/n1");
        let svc = t.lookup("", "v1", "services").unwrap();
        assert_eq!(
            svc.key(Some("default"), "k"),
            "/registry/services/specs/default/k"
        );
        let rc = t.lookup("", "v1", "replicationcontrollers").unwrap();
        assert_eq!(rc.list_prefix(Some("ns")), "/registry/controllers/ns/");
        assert!(t.lookup("apps", "v1", "deployments").is_some());
        assert!(t.lookup("apps", "v1", "pods").is_none());
    }
}
