//! The strategic-merge-patch metadata of the built-in kinds: which lists merge (and by which
//! key), which are sets of scalars, and which maps use `retainKeys`.
//!
//! Upstream reads these from the Go struct tags `patchStrategy` and `patchMergeKey`. This is
//! the same information as a table, transcribed from `k8s.io/api` v0.33 (`core/v1`,
//! `apps/v1`) and `k8s.io/apimachinery` (`meta/v1`). Only the types on a path to a tagged
//! field are described: every other field has no strategy, which is what upstream does for
//! untagged fields (maps merge key by key, lists are replaced whole). kubectl computes its
//! client-side apply patches from the same tags, so a wrong entry here shows up as a list
//! that kubectl believes merged but the server replaced, or the reverse.

/// How a field combines with the patch when both are present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// No `patchStrategy`: maps merge key by key, lists are replaced by the patch's list.
    Default,
    /// `patchStrategy:"merge"`. On a list of objects items are matched by `patchMergeKey`; on
    /// a list of scalars the lists are united as an ordered set.
    Merge { merge_key: Option<&'static str> },
    /// `patchStrategy:"replace"`: the patch's value replaces the field whole.
    Replace,
}

/// One described field of a Go struct.
#[derive(Debug)]
pub(crate) struct FieldDef {
    pub(crate) name: &'static str,
    pub(crate) strategy: Strategy,
    /// `patchStrategy` includes `retainKeys`. Applying a patch honours `$retainKeys`
    /// wherever it appears (as upstream's server does); this flag records where clients
    /// generate it.
    pub(crate) retain_keys: bool,
    /// The struct type of the field (for a list: of its items), when it has tagged fields.
    pub(crate) ty: Option<&'static TypeDef>,
}

/// A Go struct type: its name (used in a few error messages) and its described fields.
#[derive(Debug)]
pub(crate) struct TypeDef {
    pub(crate) name: &'static str,
    pub(crate) fields: &'static [FieldDef],
}

/// What a [`PatchSchema`] says about one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldPatchMeta {
    pub strategy: Strategy,
    pub retain_keys: bool,
}

/// The patch metadata of one kind, handed to [`strategic_merge`](super::strategic_merge).
#[derive(Debug, Clone, Copy)]
pub struct PatchSchema {
    pub(crate) root: &'static TypeDef,
}

impl PatchSchema {
    /// The schema of a built-in kind served here, or `None` (then, as upstream for custom
    /// resources, a strategic merge patch is answered with 415 UnsupportedMediaType).
    pub fn for_kind(group: &str, kind: &str) -> Option<Self> {
        let root = match (group, kind) {
            ("", "Namespace") => &NAMESPACE,
            ("", "Pod") => &POD,
            ("", "Service") => &SERVICE,
            ("", "Node") => &NODE,
            ("", "ServiceAccount") => &SERVICE_ACCOUNT,
            ("", "ReplicationController") => &REPLICATION_CONTROLLER,
            ("", "PodTemplate") => &POD_TEMPLATE,
            ("apps", "ReplicaSet") => &REPLICA_SET,
            ("apps", "Deployment") => &DEPLOYMENT,
            // Kinds whose only tagged fields are those of ObjectMeta. `Scale` is here because
            // clients (the Python client always) send strategic merge patches to /scale.
            ("", "Endpoints" | "Event" | "ConfigMap" | "Secret")
            | ("events.k8s.io", "Event")
            | ("coordination.k8s.io", "Lease")
            | ("discovery.k8s.io", "EndpointSlice")
            | ("apiextensions.k8s.io", "CustomResourceDefinition")
            | ("autoscaling", "Scale") => &METADATA_ONLY,
            _ => return None,
        };
        Some(Self { root })
    }

    /// The metadata of the field at `path` (field names from the object's root; a path
    /// through a list continues in its items, as in `spec.template.spec.containers.env`).
    /// Fields the table does not describe have [`Strategy::Default`].
    pub fn field(&self, path: &[&str]) -> FieldPatchMeta {
        let mut ty = Some(self.root);
        let mut meta = FieldPatchMeta {
            strategy: Strategy::Default,
            retain_keys: false,
        };
        for name in path {
            let field = ty.and_then(|t| t.field(name));
            meta = FieldPatchMeta {
                strategy: field.map_or(Strategy::Default, |f| f.strategy),
                retain_keys: field.is_some_and(|f| f.retain_keys),
            };
            ty = field.and_then(|f| f.ty);
        }
        meta
    }
}

impl TypeDef {
    pub(crate) fn field(&self, name: &str) -> Option<&'static FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// A field that only leads to tagged fields further down.
const fn nested(name: &'static str, ty: &'static TypeDef) -> FieldDef {
    FieldDef {
        name,
        strategy: Strategy::Default,
        retain_keys: false,
        ty: Some(ty),
    }
}

/// A `patchStrategy:"merge"` list of objects matched by `key`.
const fn merge_by(name: &'static str, key: &'static str) -> FieldDef {
    FieldDef {
        name,
        strategy: Strategy::Merge {
            merge_key: Some(key),
        },
        retain_keys: false,
        ty: None,
    }
}

/// A `patchStrategy:"merge"` list of objects whose items have tagged fields themselves.
const fn merge_by_typed(name: &'static str, key: &'static str, ty: &'static TypeDef) -> FieldDef {
    FieldDef {
        ty: Some(ty),
        ..merge_by(name, key)
    }
}

/// A `patchStrategy:"merge,retainKeys"` list of objects matched by `key`.
const fn merge_retain_keys_by(name: &'static str, key: &'static str) -> FieldDef {
    FieldDef {
        retain_keys: true,
        ..merge_by(name, key)
    }
}

/// A `patchStrategy:"merge"` list of scalars (a set).
const fn merge_set(name: &'static str) -> FieldDef {
    FieldDef {
        name,
        strategy: Strategy::Merge { merge_key: None },
        retain_keys: false,
        ty: None,
    }
}

/// A `patchStrategy:"retainKeys"` struct.
const fn retain_keys(name: &'static str) -> FieldDef {
    FieldDef {
        name,
        strategy: Strategy::Default,
        retain_keys: true,
        ty: None,
    }
}

// ---- meta/v1 --------------------------------------------------------------------------------

static OBJECT_META: TypeDef = TypeDef {
    name: "ObjectMeta",
    fields: &[merge_by("ownerReferences", "uid"), merge_set("finalizers")],
};

const METADATA: FieldDef = nested("metadata", &OBJECT_META);

static METADATA_ONLY: TypeDef = TypeDef {
    name: "Object",
    fields: &[METADATA],
};

/// `status.conditions` merged by `type`, shared by every status type that has it.
static CONDITIONS_STATUS: TypeDef = TypeDef {
    name: "Status",
    fields: &[merge_by("conditions", "type")],
};

// ---- core/v1 --------------------------------------------------------------------------------

/// `Container`, and `EphemeralContainer` whose inlined `EphemeralContainerCommon` carries the
/// same tags.
static CONTAINER: TypeDef = TypeDef {
    name: "Container",
    fields: &[
        merge_by("ports", "containerPort"),
        merge_by("env", "name"),
        merge_by("volumeMounts", "mountPath"),
        merge_by("volumeDevices", "devicePath"),
    ],
};

static POD_SPEC: TypeDef = TypeDef {
    name: "PodSpec",
    fields: &[
        merge_retain_keys_by("volumes", "name"),
        merge_by_typed("initContainers", "name", &CONTAINER),
        merge_by_typed("containers", "name", &CONTAINER),
        merge_by_typed("ephemeralContainers", "name", &CONTAINER),
        merge_by("imagePullSecrets", "name"),
        merge_by("hostAliases", "ip"),
        merge_by("topologySpreadConstraints", "topologyKey"),
        merge_by("schedulingGates", "name"),
        merge_retain_keys_by("resourceClaims", "name"),
        // tolerations, readinessGates, containerStatuses and the like have no strategy
        // upstream: they are replaced whole.
    ],
};

static POD_STATUS: TypeDef = TypeDef {
    name: "PodStatus",
    fields: &[
        merge_by("conditions", "type"),
        merge_by("hostIPs", "ip"),
        merge_by("podIPs", "ip"),
        merge_retain_keys_by("resourceClaimStatuses", "name"),
    ],
};

static POD: TypeDef = TypeDef {
    name: "Pod",
    fields: &[
        METADATA,
        nested("spec", &POD_SPEC),
        nested("status", &POD_STATUS),
    ],
};

static POD_TEMPLATE_SPEC: TypeDef = TypeDef {
    name: "PodTemplateSpec",
    fields: &[METADATA, nested("spec", &POD_SPEC)],
};

static POD_TEMPLATE: TypeDef = TypeDef {
    name: "PodTemplate",
    fields: &[METADATA, nested("template", &POD_TEMPLATE_SPEC)],
};

static SERVICE_SPEC: TypeDef = TypeDef {
    name: "ServiceSpec",
    fields: &[merge_by("ports", "port")],
};

static SERVICE: TypeDef = TypeDef {
    name: "Service",
    fields: &[
        METADATA,
        nested("spec", &SERVICE_SPEC),
        nested("status", &CONDITIONS_STATUS),
    ],
};

static NODE_SPEC: TypeDef = TypeDef {
    name: "NodeSpec",
    // taints have no strategy upstream.
    fields: &[merge_set("podCIDRs")],
};

static NODE_STATUS: TypeDef = TypeDef {
    name: "NodeStatus",
    fields: &[
        merge_by("conditions", "type"),
        merge_by("addresses", "type"),
    ],
};

static NODE: TypeDef = TypeDef {
    name: "Node",
    fields: &[
        METADATA,
        nested("spec", &NODE_SPEC),
        nested("status", &NODE_STATUS),
    ],
};

static NAMESPACE: TypeDef = TypeDef {
    name: "Namespace",
    // spec.finalizers has no strategy upstream.
    fields: &[METADATA, nested("status", &CONDITIONS_STATUS)],
};

static SERVICE_ACCOUNT: TypeDef = TypeDef {
    name: "ServiceAccount",
    fields: &[METADATA, merge_by("secrets", "name")],
};

/// The spec of ReplicationController and ReplicaSet: only the pod template is tagged.
static WORKLOAD_SPEC: TypeDef = TypeDef {
    name: "ReplicaSetSpec",
    fields: &[nested("template", &POD_TEMPLATE_SPEC)],
};

static REPLICATION_CONTROLLER: TypeDef = TypeDef {
    name: "ReplicationController",
    fields: &[
        METADATA,
        nested("spec", &WORKLOAD_SPEC),
        nested("status", &CONDITIONS_STATUS),
    ],
};

// ---- apps/v1 --------------------------------------------------------------------------------

static REPLICA_SET: TypeDef = TypeDef {
    name: "ReplicaSet",
    fields: &[
        METADATA,
        nested("spec", &WORKLOAD_SPEC),
        nested("status", &CONDITIONS_STATUS),
    ],
};

static DEPLOYMENT_SPEC: TypeDef = TypeDef {
    name: "DeploymentSpec",
    fields: &[
        nested("template", &POD_TEMPLATE_SPEC),
        retain_keys("strategy"),
    ],
};

static DEPLOYMENT: TypeDef = TypeDef {
    name: "Deployment",
    fields: &[
        METADATA,
        nested("spec", &DEPLOYMENT_SPEC),
        nested("status", &CONDITIONS_STATUS),
    ],
};

#[cfg(test)]
mod tests;
