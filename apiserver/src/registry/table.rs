//! Server-side Table output, as kube-apiserver produces it for
//! `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` (`kubectl get`), and the
//! `PartialObjectMetadata(List)` forms (`as=PartialObjectMetadataList;g=meta.k8s.io;v=v1`,
//! kube-rs metadata watches).
//!
//! Everything here is a pure function of the stored objects (k8s JSON form, any field may be
//! missing or of the wrong type) and of the current time. The column lists and the cell logic
//! follow upstream's printers (`pkg/printers/internalversion/printers.go`, Kubernetes 1.33),
//! which kube-apiserver runs with `Wide: true`: every row carries the `-o wide` cells as well,
//! and kubectl drops the `priority: 1` columns unless asked for them.
//!
//! Kinds without a printer of their own get upstream's defaults: built-in kinds (Role,
//! ClusterRole, LimitRange, CustomResourceDefinition, ...) the generic `Name`, `Created At`
//! (RFC3339) columns; custom resources the CRD default `Name`, `Age` (type `date`, shown as a
//! relative age), which a CRD's `additionalPrinterColumns` replace.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value, json};

/// `apiVersion` of Table and PartialObjectMetadata(List) for `v=v1;g=meta.k8s.io`.
pub const META_V1: &str = "meta.k8s.io/v1";

/// The `includeObject` query parameter of Table requests: what each row's `object` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IncludeObject {
    /// `object: null`.
    None,
    /// A `PartialObjectMetadata` with the object's metadata (the default).
    #[default]
    Metadata,
    /// The full object (`kubectl get --sort-by` asks for it).
    Object,
}

impl IncludeObject {
    /// Parses `?includeObject=`; absent or empty means `Metadata`. An unknown value is an
    /// error whose message is upstream's 400 BadRequest message.
    pub fn parse(value: Option<&str>) -> Result<Self, String> {
        match value {
            None | Some("") | Some("Metadata") => Ok(Self::Metadata),
            Some("Object") => Ok(Self::Object),
            Some("None") => Ok(Self::None),
            Some(other) => Err(format!("unrecognized includeObject value: {other:?}")),
        }
    }
}

/// One column of a Table (`metav1.TableColumnDefinition`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnDef {
    pub name: &'static str,
    pub type_: &'static str,
    pub format: &'static str,
    pub priority: i32,
    pub description: &'static str,
}

impl ColumnDef {
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "type": self.type_,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        })
    }
}

const fn col(
    name: &'static str,
    type_: &'static str,
    format: &'static str,
    priority: i32,
    description: &'static str,
) -> ColumnDef {
    ColumnDef {
        name,
        type_,
        format,
        priority,
        description,
    }
}

/// Which printer renders a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Printer {
    Pod,
    PodTemplate,
    PodDisruptionBudget,
    ReplicationController,
    ReplicaSet,
    DaemonSet,
    Job,
    CronJob,
    Service,
    Ingress,
    IngressClass,
    StatefulSet,
    Endpoints,
    Node,
    Event,
    Namespace,
    Secret,
    ServiceAccount,
    PersistentVolume,
    PersistentVolumeClaim,
    ComponentStatus,
    Deployment,
    HorizontalPodAutoscaler,
    ConfigMap,
    NetworkPolicy,
    RoleBinding,
    ClusterRoleBinding,
    CertificateSigningRequest,
    ClusterTrustBundle,
    Lease,
    LeaseCandidate,
    StorageClass,
    VolumeAttributesClass,
    ControllerRevision,
    ResourceQuota,
    PriorityClass,
    RuntimeClass,
    VolumeAttachment,
    EndpointSlice,
    CsiNode,
    CsiDriver,
    CsiStorageCapacity,
    Webhooks,
    ValidatingAdmissionPolicy,
    MutatingAdmissionPolicy,
    AdmissionPolicyBinding,
    FlowSchema,
    PriorityLevelConfiguration,
    StorageVersion,
    DeviceClass,
    ResourceClaim,
    ResourceClaimTemplate,
    ResourceSlice,
    ServiceCidr,
    IpAddress,
    StorageVersionMigration,
    /// Built-in kinds without a printer: `rest.NewDefaultTableConvertor`.
    Default,
    /// Custom resources without additionalPrinterColumns: the CRD default.
    Custom,
}

/// API groups served by kube-apiserver itself (not by CRDs).
const BUILTIN_GROUPS: &[&str] = &[
    "",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "apiregistration.k8s.io",
    "apps",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "autoscaling",
    "batch",
    "certificates.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "events.k8s.io",
    "extensions",
    "flowcontrol.apiserver.k8s.io",
    "internal.apiserver.k8s.io",
    "networking.k8s.io",
    "node.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "resource.k8s.io",
    "scheduling.k8s.io",
    "storage.k8s.io",
    "storagemigration.k8s.io",
];

fn printer(group: &str, kind: &str) -> Printer {
    use Printer as P;
    match (group, kind) {
        ("", "Pod") => P::Pod,
        ("", "PodTemplate") => P::PodTemplate,
        ("policy", "PodDisruptionBudget") => P::PodDisruptionBudget,
        ("", "ReplicationController") => P::ReplicationController,
        ("apps" | "extensions", "ReplicaSet") => P::ReplicaSet,
        ("apps" | "extensions", "DaemonSet") => P::DaemonSet,
        ("apps" | "extensions", "Deployment") => P::Deployment,
        ("apps", "StatefulSet") => P::StatefulSet,
        ("apps", "ControllerRevision") => P::ControllerRevision,
        ("batch", "Job") => P::Job,
        ("batch", "CronJob") => P::CronJob,
        ("", "Service") => P::Service,
        ("networking.k8s.io" | "extensions", "Ingress") => P::Ingress,
        ("networking.k8s.io", "IngressClass") => P::IngressClass,
        ("networking.k8s.io" | "extensions", "NetworkPolicy") => P::NetworkPolicy,
        ("networking.k8s.io", "ServiceCIDR") => P::ServiceCidr,
        ("networking.k8s.io", "IPAddress") => P::IpAddress,
        ("", "Endpoints") => P::Endpoints,
        ("", "Node") => P::Node,
        ("" | "events.k8s.io", "Event") => P::Event,
        ("", "Namespace") => P::Namespace,
        ("", "Secret") => P::Secret,
        ("", "ServiceAccount") => P::ServiceAccount,
        ("", "PersistentVolume") => P::PersistentVolume,
        ("", "PersistentVolumeClaim") => P::PersistentVolumeClaim,
        ("", "ComponentStatus") => P::ComponentStatus,
        ("", "ConfigMap") => P::ConfigMap,
        ("", "ResourceQuota") => P::ResourceQuota,
        ("autoscaling", "HorizontalPodAutoscaler") => P::HorizontalPodAutoscaler,
        ("rbac.authorization.k8s.io", "RoleBinding") => P::RoleBinding,
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => P::ClusterRoleBinding,
        ("certificates.k8s.io", "CertificateSigningRequest") => P::CertificateSigningRequest,
        ("certificates.k8s.io", "ClusterTrustBundle") => P::ClusterTrustBundle,
        ("coordination.k8s.io", "Lease") => P::Lease,
        ("coordination.k8s.io", "LeaseCandidate") => P::LeaseCandidate,
        ("storage.k8s.io", "StorageClass") => P::StorageClass,
        ("storage.k8s.io", "VolumeAttributesClass") => P::VolumeAttributesClass,
        ("storage.k8s.io", "VolumeAttachment") => P::VolumeAttachment,
        ("storage.k8s.io", "CSINode") => P::CsiNode,
        ("storage.k8s.io", "CSIDriver") => P::CsiDriver,
        ("storage.k8s.io", "CSIStorageCapacity") => P::CsiStorageCapacity,
        ("scheduling.k8s.io", "PriorityClass") => P::PriorityClass,
        ("node.k8s.io", "RuntimeClass") => P::RuntimeClass,
        ("discovery.k8s.io", "EndpointSlice") => P::EndpointSlice,
        (
            "admissionregistration.k8s.io",
            "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration",
        ) => P::Webhooks,
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy") => {
            P::ValidatingAdmissionPolicy
        }
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicy") => P::MutatingAdmissionPolicy,
        (
            "admissionregistration.k8s.io",
            "ValidatingAdmissionPolicyBinding" | "MutatingAdmissionPolicyBinding",
        ) => P::AdmissionPolicyBinding,
        ("flowcontrol.apiserver.k8s.io", "FlowSchema") => P::FlowSchema,
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration") => {
            P::PriorityLevelConfiguration
        }
        ("internal.apiserver.k8s.io", "StorageVersion") => P::StorageVersion,
        ("resource.k8s.io", "DeviceClass") => P::DeviceClass,
        ("resource.k8s.io", "ResourceClaim") => P::ResourceClaim,
        ("resource.k8s.io", "ResourceClaimTemplate") => P::ResourceClaimTemplate,
        ("resource.k8s.io", "ResourceSlice") => P::ResourceSlice,
        ("storagemigration.k8s.io", "StorageVersionMigration") => P::StorageVersionMigration,
        (g, _) if BUILTIN_GROUPS.contains(&g) => P::Default,
        _ => P::Custom,
    }
}

fn columns(p: Printer) -> &'static [ColumnDef] {
    use Printer as P;
    match p {
        P::Pod => COLS_POD,
        P::PodTemplate => COLS_POD_TEMPLATE,
        P::PodDisruptionBudget => COLS_PDB,
        P::ReplicationController => COLS_RC,
        P::ReplicaSet => COLS_RS,
        P::DaemonSet => COLS_DS,
        P::Job => COLS_JOB,
        P::CronJob => COLS_CRONJOB,
        P::Service => COLS_SVC,
        P::Ingress => COLS_ING,
        P::IngressClass => COLS_INGCLASS,
        P::StatefulSet => COLS_STS,
        P::Endpoints => COLS_EP,
        P::Node => COLS_NODE,
        P::Event => COLS_EVENT,
        P::Namespace => COLS_NS,
        P::Secret => COLS_SECRET,
        P::ServiceAccount => COLS_SA,
        P::PersistentVolume => COLS_PV,
        P::PersistentVolumeClaim => COLS_PVC,
        P::ComponentStatus => COLS_CS,
        P::Deployment => COLS_DEPLOY,
        P::HorizontalPodAutoscaler => COLS_HPA,
        P::ConfigMap => COLS_CM,
        P::NetworkPolicy => COLS_NETPOL,
        P::RoleBinding => COLS_RB,
        P::ClusterRoleBinding => COLS_CRB,
        P::CertificateSigningRequest => COLS_CSR,
        P::ClusterTrustBundle => COLS_CTB,
        P::Lease => COLS_LEASE,
        P::LeaseCandidate => COLS_LEASECAND,
        P::StorageClass => COLS_SC,
        P::VolumeAttributesClass => COLS_VAC,
        P::ControllerRevision => COLS_CR,
        P::ResourceQuota => COLS_QUOTA,
        P::PriorityClass => COLS_PC,
        P::RuntimeClass => COLS_RTC,
        P::VolumeAttachment => COLS_VA,
        P::EndpointSlice => COLS_EPS,
        P::CsiNode => COLS_CSINODE,
        P::CsiDriver => COLS_CSIDRIVER,
        P::CsiStorageCapacity => COLS_CSISC,
        P::Webhooks => COLS_WEBHOOK,
        P::ValidatingAdmissionPolicy => COLS_VAP,
        P::MutatingAdmissionPolicy => COLS_MAP,
        P::AdmissionPolicyBinding => COLS_VAPB,
        P::FlowSchema => COLS_FS,
        P::PriorityLevelConfiguration => COLS_PLC,
        P::StorageVersion => COLS_SV,
        P::DeviceClass => COLS_DEVCLASS,
        P::ResourceClaim => COLS_RCLAIM,
        P::ResourceClaimTemplate => COLS_RCT,
        P::ResourceSlice => COLS_RSLICE,
        P::ServiceCidr => COLS_SCIDR,
        P::IpAddress => COLS_IPADDR,
        P::StorageVersionMigration => COLS_SVM,
        P::Default => COLS_DEFAULT,
        P::Custom => COLS_CUSTOM,
    }
}

// ---------------------------------------------------------------------------------------------
// Public API

/// The columns kube-apiserver declares for a kind, as typed definitions.
pub fn columns_for(group: &str, kind: &str) -> &'static [ColumnDef] {
    columns(printer(group, kind))
}

/// The `columnDefinitions` of a kind's Table:
/// `[{"name","type","format","description","priority"}, ...]`.
pub fn column_definitions(group: &str, kind: &str) -> Vec<Value> {
    columns_for(group, kind)
        .iter()
        .map(ColumnDef::to_json)
        .collect()
}

/// The cells of one object's row (all columns, `-o wide` ones included), computed at `now`.
/// Never panics: missing or mistyped fields print as upstream prints their zero values.
pub fn row_cells(group: &str, kind: &str, obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    use Printer as P;
    match printer(group, kind) {
        P::Pod => pod_cells(obj, now),
        P::PodTemplate => pod_template_cells(obj),
        P::PodDisruptionBudget => pdb_cells(obj, now),
        P::ReplicationController => rc_cells(obj, now),
        P::ReplicaSet => replica_set_cells(obj, now),
        P::DaemonSet => daemon_set_cells(obj, now),
        P::Job => job_cells(obj, now),
        P::CronJob => cron_job_cells(obj, now),
        P::Service => service_cells(obj, now),
        P::Ingress => ingress_cells(obj, now),
        P::IngressClass => ingress_class_cells(obj, now),
        P::StatefulSet => stateful_set_cells(obj, now),
        P::Endpoints => vec![name(obj), format_endpoints(obj).into(), age(obj, now)],
        P::Node => node_cells(obj, now),
        P::Event => event_cells(obj, now),
        P::Namespace => vec![
            name(obj),
            str_at(obj, "/status/phase").into(),
            age(obj, now),
        ],
        P::Secret => secret_cells(obj, now),
        P::ServiceAccount => vec![
            name(obj),
            len_json(arr_at(obj, "/secrets").len()),
            age(obj, now),
        ],
        P::PersistentVolume => pv_cells(obj, now),
        P::PersistentVolumeClaim => pvc_cells(obj, now),
        P::ComponentStatus => component_status_cells(obj),
        P::Deployment => deployment_cells(obj, now),
        P::HorizontalPodAutoscaler => hpa_cells(obj, now),
        P::ConfigMap => vec![
            name(obj),
            len_json(map_len(obj, "/data") + map_len(obj, "/binaryData")),
            age(obj, now),
        ],
        P::NetworkPolicy => vec![
            name(obj),
            format_label_selector(Some(obj.pointer("/spec/podSelector").unwrap_or(&EMPTY))).into(),
            age(obj, now),
        ],
        P::RoleBinding | P::ClusterRoleBinding => role_binding_cells(obj, now),
        P::CertificateSigningRequest => csr_cells(obj, now),
        P::ClusterTrustBundle => vec![name(obj), or(str_at(obj, "/spec/signerName"), "<none>")],
        P::Lease => vec![
            name(obj),
            str_at(obj, "/spec/holderIdentity").into(),
            age(obj, now),
        ],
        P::LeaseCandidate => vec![
            name(obj),
            str_at(obj, "/spec/leaseName").into(),
            str_at(obj, "/spec/binaryVersion").into(),
            str_at(obj, "/spec/emulationVersion").into(),
            age(obj, now),
        ],
        P::StorageClass => storage_class_cells(obj, now),
        P::VolumeAttributesClass => {
            let mut n = name_str(obj).to_string();
            if annotation(
                obj,
                "volumeattributesclass.alpha.kubernetes.io/is-default-class",
            ) == Some("true")
            {
                n.push_str(" (default)");
            }
            vec![n.into(), str_at(obj, "/driverName").into(), age(obj, now)]
        }
        P::ControllerRevision => controller_revision_cells(obj, now),
        P::ResourceQuota => resource_quota_cells(obj, now),
        P::PriorityClass => vec![
            name(obj),
            int_at(obj, "/value").into(),
            bool_at(obj, "/globalDefault").unwrap_or(false).into(),
            age(obj, now),
            str_at(obj, "/preemptionPolicy").into(),
        ],
        P::RuntimeClass => vec![name(obj), str_at(obj, "/handler").into(), age(obj, now)],
        P::VolumeAttachment => vec![
            name(obj),
            str_at(obj, "/spec/attacher").into(),
            str_at(obj, "/spec/source/persistentVolumeName").into(),
            str_at(obj, "/spec/nodeName").into(),
            bool_at(obj, "/status/attached").unwrap_or(false).into(),
            age(obj, now),
        ],
        P::EndpointSlice => vec![
            name(obj),
            str_at(obj, "/addressType").into(),
            format_discovery_ports(arr_at(obj, "/ports")).into(),
            format_discovery_endpoints(arr_at(obj, "/endpoints")).into(),
            age(obj, now),
        ],
        P::CsiNode => vec![
            name(obj),
            len_json(arr_at(obj, "/spec/drivers").len()),
            age(obj, now),
        ],
        P::CsiDriver => csi_driver_cells(obj, now),
        P::CsiStorageCapacity => vec![
            name(obj),
            str_at(obj, "/storageClassName").into(),
            obj.pointer("/capacity")
                .and_then(quantity)
                .unwrap_or_else(|| "<unset>".to_string())
                .into(),
        ],
        P::Webhooks => vec![
            name(obj),
            len_json(arr_at(obj, "/webhooks").len()),
            age(obj, now),
        ],
        P::ValidatingAdmissionPolicy => admission_policy_cells(obj, "/spec/validations", now),
        P::MutatingAdmissionPolicy => admission_policy_cells(obj, "/spec/mutations", now),
        P::AdmissionPolicyBinding => admission_policy_binding_cells(obj, now),
        P::FlowSchema => flow_schema_cells(obj, now),
        P::PriorityLevelConfiguration => priority_level_cells(obj, now),
        P::StorageVersion => storage_version_cells(obj, now),
        P::DeviceClass | P::ResourceClaimTemplate => vec![name(obj), age(obj, now)],
        P::ResourceClaim => vec![name(obj), resource_claim_state(obj).into(), age(obj, now)],
        P::ResourceSlice => vec![
            name(obj),
            str_at(obj, "/spec/nodeName").into(),
            str_at(obj, "/spec/driver").into(),
            str_at(obj, "/spec/pool/name").into(),
            age(obj, now),
        ],
        P::ServiceCidr => vec![
            name(obj),
            join_strs(arr_at(obj, "/spec/cidrs"), ",").into(),
            age(obj, now),
        ],
        P::IpAddress => ip_address_cells(obj, now),
        P::StorageVersionMigration => {
            let r = |f: &str| str_at(obj, &format!("/spec/resource/{f}")).to_string();
            vec![
                name(obj),
                format!("{}.{}.{}", r("resource"), r("version"), r("group")).into(),
            ]
        }
        P::Default => vec![
            name(obj),
            created_at_rfc3339(obj.pointer("/metadata/creationTimestamp")).into(),
        ],
        P::Custom => vec![name(obj), custom_age(obj, now)],
    }
}

/// The row's `conditions` (upstream sets them for finished Pods only), or `None`.
pub fn row_conditions(group: &str, kind: &str, obj: &Value) -> Option<Value> {
    if printer(group, kind) != Printer::Pod {
        return None;
    }
    match str_at(obj, "/status/phase") {
        "Succeeded" => Some(json!([{
            "type": "Completed",
            "status": "True",
            "reason": "Succeeded",
            "message": "The pod has completed successfully.",
        }])),
        "Failed" => Some(json!([{
            "type": "Completed",
            "status": "True",
            "reason": "Failed",
            "message": "The pod failed.",
        }])),
        _ => None,
    }
}

/// A whole `meta.k8s.io/v1` Table for `rows` (one per object, each with its own
/// `includeObject`), computed now. See [`table_at`].
pub fn table(
    group: &str,
    kind: &str,
    rows: &[(&Value, IncludeObject)],
    with_column_definitions: bool,
    list_meta: Map<String, Value>,
) -> Value {
    table_at(
        META_V1,
        group,
        kind,
        rows,
        with_column_definitions,
        list_meta,
        Utc::now(),
    )
}

/// A whole Table: `{"kind":"Table","apiVersion","metadata","columnDefinitions","rows"}`.
///
/// - `api_version`: [`META_V1`], or `meta.k8s.io/v1beta1` when the client asked for that; it is
///   also the apiVersion of the rows' PartialObjectMetadata.
/// - `with_column_definitions: false` (upstream's `NoHeaders`, used for every watch event
///   after the first) gives `"columnDefinitions": null`, as upstream.
/// - `list_meta` becomes `metadata` (`resourceVersion`, `continue`, `remainingItemCount`; for a
///   single GET upstream puts the object's resourceVersion there).
/// - Each row's `object` follows its [`IncludeObject`]; `None` gives `"object": null`, as
///   upstream (`runtime.RawExtension` has no omitempty form).
/// - FlowSchemas are sorted by matchingPrecedence, then name, as upstream's list printer does.
pub fn table_at(
    api_version: &str,
    group: &str,
    kind: &str,
    rows: &[(&Value, IncludeObject)],
    with_column_definitions: bool,
    list_meta: Map<String, Value>,
    now: DateTime<Utc>,
) -> Value {
    let p = printer(group, kind);
    let mut ordered: Vec<&(&Value, IncludeObject)> = rows.iter().collect();
    if p == Printer::FlowSchema {
        ordered.sort_by(|a, b| {
            let key = |o: &Value| {
                (
                    int_at(o, "/spec/matchingPrecedence"),
                    name_str(o).to_string(),
                )
            };
            key(a.0).cmp(&key(b.0))
        });
    }
    let rows_json: Vec<Value> = ordered
        .into_iter()
        .map(|(obj, include)| {
            let mut row = Map::new();
            row.insert(
                "cells".into(),
                Value::Array(row_cells(group, kind, obj, now)),
            );
            if let Some(c) = row_conditions(group, kind, obj) {
                row.insert("conditions".into(), c);
            }
            let object = match include {
                IncludeObject::None => Value::Null,
                IncludeObject::Metadata => partial_object_metadata_as(api_version, obj),
                IncludeObject::Object => (*obj).clone(),
            };
            row.insert("object".into(), object);
            Value::Object(row)
        })
        .collect();
    let column_definitions = if with_column_definitions {
        Value::Array(columns(p).iter().map(ColumnDef::to_json).collect())
    } else {
        Value::Null
    };
    json!({
        "kind": "Table",
        "apiVersion": api_version,
        "metadata": Value::Object(list_meta),
        "columnDefinitions": column_definitions,
        "rows": rows_json,
    })
}

/// `{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{...}}` — the
/// object's whole metadata (managedFields included, as upstream).
pub fn partial_object_metadata(obj: &Value) -> Value {
    partial_object_metadata_as(META_V1, obj)
}

/// [`partial_object_metadata`] for a given meta.k8s.io version (`meta.k8s.io/v1beta1`).
pub fn partial_object_metadata_as(api_version: &str, obj: &Value) -> Value {
    let metadata = match obj.get("metadata") {
        Some(m @ Value::Object(_)) => m.clone(),
        _ => Value::Object(Map::new()),
    };
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": api_version,
        "metadata": metadata,
    })
}

/// `{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":list_meta,
/// "items":[PartialObjectMetadata...]}` (`items` is `[]` when empty).
pub fn partial_object_metadata_list(items: &[&Value], list_meta: Map<String, Value>) -> Value {
    partial_object_metadata_list_as(META_V1, items, list_meta)
}

/// [`partial_object_metadata_list`] for a given meta.k8s.io version.
pub fn partial_object_metadata_list_as(
    api_version: &str,
    items: &[&Value],
    list_meta: Map<String, Value>,
) -> Value {
    let items: Vec<Value> = items
        .iter()
        .map(|o| partial_object_metadata_as(api_version, o))
        .collect();
    json!({
        "kind": "PartialObjectMetadataList",
        "apiVersion": api_version,
        "metadata": Value::Object(list_meta),
        "items": items,
    })
}

/// Upstream's `duration.HumanDuration`: `5s`, `119s`, `2m`, `3m2s`, `10m`, `179m`, `3h`,
/// `3h5m`, `8h`, `47h`, `2d`, `5d3h`, `8d`, `729d`, `2y`, `2y3d`, `8y`; under -1s
/// `<invalid>`, -1s..0 `0s`. Durations saturate at Go's ±292 years.
pub fn human_duration(d: TimeDelta) -> String {
    human_duration_ms(d.num_milliseconds())
}

/// The age of a timestamp at `now` as upstream prints it (`translateTimestampSince`):
/// `<unknown>` when absent, null, unparsable or Go's zero time.
pub fn translate_timestamp_since(ts: Option<&Value>, now: DateTime<Utc>) -> String {
    since(parse_time(ts), now)
}

// ---------------------------------------------------------------------------------------------
// Time

fn human_duration_ms(ms: i64) -> String {
    // Go's time.Duration is int64 nanoseconds: time.Since saturates there.
    const MAX_MS: i64 = i64::MAX / 1_000_000;
    let ms = ms.clamp(-MAX_MS, MAX_MS);
    let seconds = ms / 1000;
    if seconds < -1 {
        return "<invalid>".into();
    } else if seconds < 0 {
        return "0s".into();
    } else if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = ms / 60_000;
    if minutes < 10 {
        let s = seconds % 60;
        if s == 0 {
            return format!("{minutes}m");
        }
        return format!("{minutes}m{s}s");
    } else if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = ms / 3_600_000;
    if hours < 8 {
        let m = minutes % 60;
        if m == 0 {
            return format!("{hours}h");
        }
        format!("{hours}h{m}m")
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        let h = hours % 24;
        if h == 0 {
            return format!("{}d", hours / 24);
        }
        format!("{}d{h}h", hours / 24)
    } else if hours < 24 * 365 * 2 {
        format!("{}d", hours / 24)
    } else if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        if dy == 0 {
            return format!("{}y", hours / 24 / 365);
        }
        format!("{}y{dy}d", hours / 24 / 365)
    } else {
        format!("{}y", hours / 24 / 365)
    }
}

/// Seconds since the Unix epoch of Go's zero `time.Time` (0001-01-01T00:00:00Z).
const GO_ZERO_UNIX: i64 = -62_135_596_800;

/// A timestamp (metav1.Time / MicroTime); `None` when absent, null, unparsable or zero.
fn parse_time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    let s = v?.as_str()?;
    let t = DateTime::parse_from_rfc3339(s).ok()?.with_timezone(&Utc);
    if t.timestamp() == GO_ZERO_UNIX && t.timestamp_subsec_nanos() == 0 {
        return None;
    }
    Some(t)
}

fn since(t: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match t {
        None => "<unknown>".into(),
        Some(t) => human_duration(now.signed_duration_since(t)),
    }
}

fn age(obj: &Value, now: DateTime<Utc>) -> Value {
    translate_timestamp_since(obj.pointer("/metadata/creationTimestamp"), now).into()
}

/// The default table convertor's `Created At`: `Time.UTC().Format(time.RFC3339)`.
fn created_at_rfc3339(v: Option<&Value>) -> String {
    match v
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
    {
        Some(t) => t
            .with_timezone(&Utc)
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
        None => "0001-01-01T00:00:00Z".into(),
    }
}

/// The CRD default `Age` column (type `date`): null when the field is absent or null,
/// `<invalid>` when unparsable, else the relative age.
fn custom_age(obj: &Value, now: DateTime<Utc>) -> Value {
    match obj.pointer("/metadata/creationTimestamp") {
        None | Some(Value::Null) => Value::Null,
        Some(Value::String(s)) => match DateTime::parse_from_rfc3339(s) {
            Ok(_) => {
                translate_timestamp_since(obj.pointer("/metadata/creationTimestamp"), now).into()
            }
            Err(_) => "<invalid>".into(),
        },
        Some(_) => Value::Null,
    }
}

// ---------------------------------------------------------------------------------------------
// Field access (never panics)

static EMPTY: Value = Value::Null;

fn str_at<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

fn as_int(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_u64().map(|u| i64::try_from(u).unwrap_or(i64::MAX)))
        .or_else(|| v.as_f64().map(|f| f as i64))
}

fn int_at(v: &Value, ptr: &str) -> i64 {
    v.pointer(ptr).and_then(as_int).unwrap_or(0)
}

fn opt_int_at(v: &Value, ptr: &str) -> Option<i64> {
    v.pointer(ptr).and_then(as_int)
}

fn bool_at(v: &Value, ptr: &str) -> Option<bool> {
    v.pointer(ptr).and_then(Value::as_bool)
}

fn arr_at<'a>(v: &'a Value, ptr: &str) -> &'a [Value] {
    v.pointer(ptr)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn map_len(v: &Value, ptr: &str) -> usize {
    v.pointer(ptr)
        .and_then(Value::as_object)
        .map_or(0, Map::len)
}

/// Present and not null (a Go pointer field that is set).
fn is_set(v: &Value, ptr: &str) -> bool {
    v.pointer(ptr).is_some_and(|x| !x.is_null())
}

fn len_json(n: usize) -> Value {
    Value::from(i64::try_from(n).unwrap_or(i64::MAX))
}

fn name_str(obj: &Value) -> &str {
    str_at(obj, "/metadata/name")
}

fn name(obj: &Value) -> Value {
    name_str(obj).into()
}

fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.get("metadata")?.get("annotations")?.get(key)?.as_str()
}

fn or(s: &str, default: &str) -> Value {
    if s.is_empty() { default } else { s }.into()
}

fn join_strs(items: &[Value], sep: &str) -> String {
    items
        .iter()
        .map(|v| v.as_str().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(sep)
}

/// A resource.Quantity as `String()` prints it (stored quantities are already canonical).
fn quantity(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A Quantity that is not a pointer: the zero Quantity prints `0`.
fn quantity_or_zero(v: Option<&Value>) -> String {
    v.and_then(quantity).unwrap_or_else(|| "0".into())
}

/// An `*resource.Quantity`: nil prints `<nil>`.
fn quantity_ptr(v: Option<&Value>) -> String {
    v.and_then(quantity).unwrap_or_else(|| "<nil>".into())
}

/// An IntOrString as `String()` prints it.
fn int_or_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => as_int(other).unwrap_or(0).to_string(),
    }
}

/// `labels.FormatLabels`: sorted `k=v` joined by `,`, or `<none>`.
fn format_labels(v: Option<&Value>) -> String {
    let mut parts: Vec<String> = v
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    if parts.is_empty() {
        return "<none>".into();
    }
    parts.sort();
    parts.join(",")
}

/// `metav1.LabelSelectorAsSelector(sel).String()`; `Err` where upstream fails to convert.
fn label_selector_string(sel: Option<&Value>) -> Result<String, ()> {
    let Some(sel) = sel.filter(|s| s.is_object()) else {
        return Ok(String::new());
    };
    let mut reqs: Vec<(String, String)> = Vec::new();
    if let Some(m) = sel.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in m {
            reqs.push((k.clone(), format!("{k}={}", v.as_str().unwrap_or(""))));
        }
    }
    for expr in arr_at(sel, "/matchExpressions") {
        let key = str_at(expr, "/key");
        let mut values: Vec<&str> = arr_at(expr, "/values")
            .iter()
            .map(|v| v.as_str().unwrap_or(""))
            .collect();
        let joined = |values: &mut Vec<&str>| {
            values.sort_unstable();
            values.join(",")
        };
        let text = match str_at(expr, "/operator") {
            "In" | "NotIn" if values.is_empty() => return Err(()),
            "In" => format!("{key} in ({})", joined(&mut values)),
            "NotIn" => format!("{key} notin ({})", joined(&mut values)),
            "Exists" | "DoesNotExist" if !values.is_empty() => return Err(()),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            _ => return Err(()),
        };
        reqs.push((key.to_string(), text));
    }
    reqs.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(reqs
        .into_iter()
        .map(|(_, t)| t)
        .collect::<Vec<_>>()
        .join(","))
}

/// `metav1.FormatLabelSelector`: `<none>` when empty, `<error>` when invalid.
fn format_label_selector(sel: Option<&Value>) -> String {
    match label_selector_string(sel) {
        Err(()) => "<error>".into(),
        Ok(s) if s.is_empty() => "<none>".into(),
        Ok(s) => s,
    }
}

/// `layoutContainerCells`: container names and images, each joined by `,`.
fn container_cells(containers: &[Value]) -> (Value, Value) {
    let names: Vec<&str> = containers.iter().map(|c| str_at(c, "/name")).collect();
    let images: Vec<&str> = containers.iter().map(|c| str_at(c, "/image")).collect();
    (names.join(",").into(), images.join(",").into())
}

fn condition<'a>(conditions: &'a [Value], type_: &str) -> Option<&'a Value> {
    conditions.iter().find(|c| str_at(c, "/type") == type_)
}

/// `hasJobCondition` and friends: the first condition of the type has status True.
fn condition_true(conditions: &[Value], type_: &str) -> bool {
    condition(conditions, type_).is_some_and(|c| str_at(c, "/status") == "True")
}

/// `listWithMoreString`.
fn list_with_more(list: &[String], more: bool, count: usize, max: usize) -> String {
    let ret = list.join(",");
    if more {
        return format!("{ret} + {} more...", count.saturating_sub(max));
    }
    if ret.is_empty() {
        return "<unset>".into();
    }
    ret
}

// ---------------------------------------------------------------------------------------------
// Printers

fn pod_cells(pod: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let init_specs = arr_at(pod, "/spec/initContainers");
    let conditions = arr_at(pod, "/status/conditions");
    // The spec of the init container with this name (the last one, as Go's map keeps it).
    let restartable = |name: &str| {
        init_specs
            .iter()
            .rev()
            .find(|c| str_at(c, "/name") == name)
            .is_some_and(|c| str_at(c, "/restartPolicy") == "Always")
    };
    let finished_at = |cs: &Value| parse_time(cs.pointer("/lastState/terminated/finishedAt"));
    let later = |cur: Option<DateTime<Utc>>, t: Option<DateTime<Utc>>| match (cur, t) {
        (Some(c), Some(t)) if c < t => Some(t),
        (None, Some(t)) => Some(t),
        (c, _) => c,
    };

    let mut restarts: i64 = 0;
    let mut restartable_restarts: i64 = 0;
    let mut total = arr_at(pod, "/spec/containers").len();
    let mut ready = 0usize;
    let mut last_restart: Option<DateTime<Utc>> = None;
    let mut last_restartable_restart: Option<DateTime<Utc>> = None;

    let phase = str_at(pod, "/status/phase");
    let status_reason = str_at(pod, "/status/reason");
    let mut reason = if status_reason.is_empty() {
        phase.to_string()
    } else {
        status_reason.to_string()
    };
    if conditions
        .iter()
        .any(|c| str_at(c, "/type") == "PodScheduled" && str_at(c, "/reason") == "SchedulingGated")
    {
        reason = "SchedulingGated".into();
    }

    total += init_specs
        .iter()
        .filter(|c| str_at(c, "/restartPolicy") == "Always")
        .count();

    let mut initializing = false;
    for (i, cs) in arr_at(pod, "/status/initContainerStatuses")
        .iter()
        .enumerate()
    {
        let rc = int_at(cs, "/restartCount");
        restarts = restarts.saturating_add(rc);
        last_restart = later(last_restart, finished_at(cs));
        let is_restartable = restartable(str_at(cs, "/name"));
        if is_restartable {
            restartable_restarts = restartable_restarts.saturating_add(rc);
            last_restartable_restart = later(last_restartable_restart, finished_at(cs));
        }
        let terminated = cs.pointer("/state/terminated").filter(|t| !t.is_null());
        let waiting_reason = str_at(cs, "/state/waiting/reason");
        if terminated.is_some_and(|t| int_at(t, "/exitCode") == 0) {
            continue;
        } else if is_restartable && bool_at(cs, "/started") == Some(true) {
            if bool_at(cs, "/ready") == Some(true) {
                ready += 1;
            }
            continue;
        } else if let Some(t) = terminated {
            let r = str_at(t, "/reason");
            reason = if !r.is_empty() {
                format!("Init:{r}")
            } else if int_at(t, "/signal") != 0 {
                format!("Init:Signal:{}", int_at(t, "/signal"))
            } else {
                format!("Init:ExitCode:{}", int_at(t, "/exitCode"))
            };
        } else if is_set(cs, "/state/waiting")
            && !waiting_reason.is_empty()
            && waiting_reason != "PodInitializing"
        {
            reason = format!("Init:{waiting_reason}");
        } else {
            reason = format!("Init:{i}/{}", init_specs.len());
        }
        initializing = true;
        break;
    }

    let initialized = conditions
        .iter()
        .find(|c| str_at(c, "/type") == "Initialized")
        .is_some_and(|c| str_at(c, "/status") == "True");
    if !initializing || initialized {
        restarts = restartable_restarts;
        last_restart = last_restartable_restart;
        let mut has_running = false;
        for cs in arr_at(pod, "/status/containerStatuses").iter().rev() {
            restarts = restarts.saturating_add(int_at(cs, "/restartCount"));
            last_restart = later(last_restart, finished_at(cs));
            let waiting_reason = str_at(cs, "/state/waiting/reason");
            let terminated = cs.pointer("/state/terminated").filter(|t| !t.is_null());
            if is_set(cs, "/state/waiting") && !waiting_reason.is_empty() {
                reason = waiting_reason.to_string();
            } else if let Some(t) = terminated {
                let r = str_at(t, "/reason");
                reason = if !r.is_empty() {
                    r.to_string()
                } else if int_at(t, "/signal") != 0 {
                    format!("Signal:{}", int_at(t, "/signal"))
                } else {
                    format!("ExitCode:{}", int_at(t, "/exitCode"))
                };
            } else if bool_at(cs, "/ready") == Some(true) && is_set(cs, "/state/running") {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            reason = if condition_true(conditions, "Ready") {
                "Running"
            } else {
                "NotReady"
            }
            .into();
        }
    }

    let deleting = is_set(pod, "/metadata/deletionTimestamp");
    if deleting && status_reason == "NodeLost" {
        reason = "Unknown".into();
    } else if deleting && phase != "Succeeded" && phase != "Failed" {
        reason = "Terminating".into();
    }

    let restarts_str = match last_restart {
        Some(t) if restarts != 0 => format!("{restarts} ({} ago)", since(Some(t), now)),
        _ => restarts.to_string(),
    };

    let mut pod_ip = match arr_at(pod, "/status/podIPs").first() {
        Some(first) => str_at(first, "/ip"),
        // The v1 → internal conversion fills podIPs from podIP.
        None => str_at(pod, "/status/podIP"),
    };
    if pod_ip.is_empty() {
        pod_ip = "<none>";
    }
    let gates = arr_at(pod, "/spec/readinessGates");
    let readiness_gates = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let true_count = gates
            .iter()
            .filter(|g| condition_true(conditions, str_at(g, "/conditionType")))
            .count();
        format!("{true_count}/{}", gates.len())
    };

    vec![
        name(pod),
        format!("{ready}/{total}").into(),
        reason.into(),
        restarts_str.into(),
        age(pod, now),
        pod_ip.into(),
        or(str_at(pod, "/spec/nodeName"), "<none>"),
        or(str_at(pod, "/status/nominatedNodeName"), "<none>"),
        readiness_gates.into(),
    ]
}

fn pod_template_cells(obj: &Value) -> Vec<Value> {
    let (names, images) = container_cells(arr_at(obj, "/template/spec/containers"));
    vec![
        name(obj),
        names,
        images,
        format_labels(obj.pointer("/template/metadata/labels")).into(),
    ]
}

fn pdb_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let intstr = |ptr: &str| match obj.pointer(ptr) {
        None | Some(Value::Null) => "N/A".to_string(),
        Some(v) => int_or_string(v),
    };
    vec![
        name(obj),
        intstr("/spec/minAvailable").into(),
        intstr("/spec/maxUnavailable").into(),
        int_at(obj, "/status/disruptionsAllowed").into(),
        age(obj, now),
    ]
}

/// `spec.replicas`, which v1 defaulting sets to 1 when absent.
fn desired_replicas(obj: &Value) -> i64 {
    match obj.pointer("/spec/replicas") {
        None | Some(Value::Null) => 1,
        Some(v) => as_int(v).unwrap_or(0),
    }
}

fn rc_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (names, images) = container_cells(arr_at(obj, "/spec/template/spec/containers"));
    vec![
        name(obj),
        desired_replicas(obj).into(),
        int_at(obj, "/status/replicas").into(),
        int_at(obj, "/status/readyReplicas").into(),
        age(obj, now),
        names,
        images,
        format_labels(obj.pointer("/spec/selector")).into(),
    ]
}

fn replica_set_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (names, images) = container_cells(arr_at(obj, "/spec/template/spec/containers"));
    vec![
        name(obj),
        desired_replicas(obj).into(),
        int_at(obj, "/status/replicas").into(),
        int_at(obj, "/status/readyReplicas").into(),
        age(obj, now),
        names,
        images,
        format_label_selector(obj.pointer("/spec/selector")).into(),
    ]
}

fn deployment_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (names, images) = container_cells(arr_at(obj, "/spec/template/spec/containers"));
    let selector = label_selector_string(obj.pointer("/spec/selector"))
        .unwrap_or_else(|()| "<invalid>".into());
    vec![
        name(obj),
        format!(
            "{}/{}",
            int_at(obj, "/status/readyReplicas"),
            desired_replicas(obj)
        )
        .into(),
        int_at(obj, "/status/updatedReplicas").into(),
        int_at(obj, "/status/availableReplicas").into(),
        age(obj, now),
        names,
        images,
        selector.into(),
    ]
}

fn stateful_set_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (names, images) = container_cells(arr_at(obj, "/spec/template/spec/containers"));
    vec![
        name(obj),
        format!(
            "{}/{}",
            int_at(obj, "/status/readyReplicas"),
            desired_replicas(obj)
        )
        .into(),
        age(obj, now),
        names,
        images,
    ]
}

fn daemon_set_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (names, images) = container_cells(arr_at(obj, "/spec/template/spec/containers"));
    vec![
        name(obj),
        int_at(obj, "/status/desiredNumberScheduled").into(),
        int_at(obj, "/status/currentNumberScheduled").into(),
        int_at(obj, "/status/numberReady").into(),
        int_at(obj, "/status/updatedNumberScheduled").into(),
        int_at(obj, "/status/numberAvailable").into(),
        format_labels(obj.pointer("/spec/template/spec/nodeSelector")).into(),
        age(obj, now),
        names,
        images,
        format_label_selector(obj.pointer("/spec/selector")).into(),
    ]
}

fn job_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let succeeded = int_at(obj, "/status/succeeded");
    let completions = match opt_int_at(obj, "/spec/completions") {
        Some(c) => format!("{succeeded}/{c}"),
        None => {
            let parallelism = int_at(obj, "/spec/parallelism");
            if parallelism > 1 {
                format!("{succeeded}/1 of {parallelism}")
            } else {
                format!("{succeeded}/1")
            }
        }
    };
    let start = parse_time(obj.pointer("/status/startTime"));
    let completion = parse_time(obj.pointer("/status/completionTime"));
    let duration = match (start, completion) {
        (None, _) => String::new(),
        (Some(s), None) => human_duration(now.signed_duration_since(s)),
        (Some(s), Some(c)) => human_duration(c.signed_duration_since(s)),
    };
    let conditions = arr_at(obj, "/status/conditions");
    let status = if condition_true(conditions, "Complete") {
        "Complete"
    } else if condition_true(conditions, "Failed") {
        "Failed"
    } else if is_set(obj, "/metadata/deletionTimestamp") {
        "Terminating"
    } else if condition_true(conditions, "Suspended") {
        "Suspended"
    } else if condition_true(conditions, "FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    };
    let (names, images) = container_cells(arr_at(obj, "/spec/template/spec/containers"));
    vec![
        name(obj),
        status.into(),
        completions.into(),
        duration.into(),
        age(obj, now),
        names,
        images,
        format_label_selector(obj.pointer("/spec/selector")).into(),
    ]
}

fn cron_job_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let last_schedule = if is_set(obj, "/status/lastScheduleTime") {
        translate_timestamp_since(obj.pointer("/status/lastScheduleTime"), now)
    } else {
        "<none>".into()
    };
    let time_zone = match obj.pointer("/spec/timeZone") {
        Some(Value::String(s)) => s.clone(),
        _ => "<none>".into(),
    };
    let suspend = match bool_at(obj, "/spec/suspend") {
        Some(true) => "True",
        Some(false) => "False",
        None => "<unset>",
    };
    let (names, images) = container_cells(arr_at(
        obj,
        "/spec/jobTemplate/spec/template/spec/containers",
    ));
    vec![
        name(obj),
        str_at(obj, "/spec/schedule").into(),
        time_zone.into(),
        suspend.into(),
        len_json(arr_at(obj, "/status/active").len()),
        last_schedule.into(),
        age(obj, now),
        names,
        images,
        format_label_selector(obj.pointer("/spec/jobTemplate/spec/selector")).into(),
    ]
}

/// `loadBalancerStatusStringer` with wide output (no truncation): sorted unique IPs or
/// hostnames.
fn load_balancer_string(ingress: &[Value]) -> String {
    let set: BTreeSet<&str> = ingress
        .iter()
        .filter_map(|i| {
            let ip = str_at(i, "/ip");
            let host = str_at(i, "/hostname");
            if !ip.is_empty() {
                Some(ip)
            } else if !host.is_empty() {
                Some(host)
            } else {
                None
            }
        })
        .collect();
    set.into_iter().collect::<Vec<_>>().join(",")
}

fn service_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    // v1 defaulting: type ClusterIP, protocol TCP; clusterIPs filled from clusterIP.
    let svc_type = match str_at(obj, "/spec/type") {
        "" => "ClusterIP",
        t => t,
    };
    let cluster_ip = match arr_at(obj, "/spec/clusterIPs").first() {
        Some(ip) => ip.as_str().unwrap_or(""),
        None => str_at(obj, "/spec/clusterIP"),
    };
    let internal_ip = if cluster_ip.is_empty() && arr_at(obj, "/spec/clusterIPs").is_empty() {
        "<none>"
    } else {
        cluster_ip
    };
    let external_ips: Vec<&str> = arr_at(obj, "/spec/externalIPs")
        .iter()
        .map(|v| v.as_str().unwrap_or(""))
        .collect();
    let external = match svc_type {
        "ClusterIP" | "NodePort" => {
            if external_ips.is_empty() {
                "<none>".to_string()
            } else {
                external_ips.join(",")
            }
        }
        "LoadBalancer" => {
            let lb = load_balancer_string(arr_at(obj, "/status/loadBalancer/ingress"));
            if !external_ips.is_empty() {
                let mut results: Vec<&str> = Vec::new();
                if !lb.is_empty() {
                    results.extend(lb.split(','));
                }
                results.extend(external_ips.iter().copied());
                results.join(",")
            } else if !lb.is_empty() {
                lb
            } else {
                "<pending>".to_string()
            }
        }
        "ExternalName" => str_at(obj, "/spec/externalName").to_string(),
        _ => "<unknown>".to_string(),
    };
    let ports: Vec<String> = arr_at(obj, "/spec/ports")
        .iter()
        .map(|p| {
            let protocol = match str_at(p, "/protocol") {
                "" => "TCP",
                proto => proto,
            };
            let port = int_at(p, "/port");
            let node_port = int_at(p, "/nodePort");
            if node_port > 0 {
                format!("{port}:{node_port}/{protocol}")
            } else {
                format!("{port}/{protocol}")
            }
        })
        .collect();
    let ports = if ports.is_empty() {
        "<none>".to_string()
    } else {
        ports.join(",")
    };
    vec![
        name(obj),
        svc_type.into(),
        internal_ip.into(),
        external.into(),
        ports.into(),
        age(obj, now),
        format_labels(obj.pointer("/spec/selector")).into(),
    ]
}

fn ingress_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let class = match obj.pointer("/spec/ingressClassName") {
        Some(Value::String(s)) => s.clone(),
        _ => "<none>".into(),
    };
    let rules = arr_at(obj, "/spec/rules");
    let max = 3;
    let mut list: Vec<&str> = Vec::new();
    let mut more = false;
    for rule in rules {
        if list.len() == max {
            more = true;
        }
        let host = str_at(rule, "/host");
        if !more && !host.is_empty() {
            list.push(host);
        }
    }
    let hosts = if list.is_empty() {
        "*".to_string()
    } else if more {
        format!(
            "{} + {} more...",
            list.join(","),
            rules.len().saturating_sub(max)
        )
    } else {
        list.join(",")
    };
    let ports = if arr_at(obj, "/spec/tls").is_empty() {
        "80"
    } else {
        "80, 443"
    };
    vec![
        name(obj),
        class.into(),
        hosts.into(),
        load_balancer_string(arr_at(obj, "/status/loadBalancer/ingress")).into(),
        ports.into(),
        age(obj, now),
    ]
}

fn ingress_class_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let parameters = match obj.pointer("/spec/parameters").filter(|p| p.is_object()) {
        None => "<none>".to_string(),
        Some(p) => {
            let mut s = str_at(p, "/kind").to_string();
            if let Some(g) = p.get("apiGroup").and_then(Value::as_str) {
                s.push('.');
                s.push_str(g);
            }
            format!("{s}/{}", str_at(p, "/name"))
        }
    };
    vec![
        name(obj),
        str_at(obj, "/spec/controller").into(),
        parameters.into(),
        age(obj, now),
    ]
}

/// `net.JoinHostPort`.
fn join_host_port(host: &str, port: i64) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// `formatEndpoints(endpoints, nil)`: up to three `ip:port`, then ` + N more...`.
fn format_endpoints(obj: &Value) -> String {
    let subsets = arr_at(obj, "/subsets");
    if subsets.is_empty() {
        return "<none>".into();
    }
    let max = 3;
    let mut list: Vec<String> = Vec::new();
    let mut more = false;
    let mut count = 0usize;
    for ss in subsets {
        let addresses = arr_at(ss, "/addresses");
        let ports = arr_at(ss, "/ports");
        if ports.is_empty() {
            // Headless services may have no ports.
            count += addresses.len();
            for a in addresses {
                if list.len() == max {
                    more = true;
                    break;
                }
                list.push(str_at(a, "/ip").to_string());
            }
            continue;
        }
        for port in ports {
            count += addresses.len();
            for a in addresses {
                if list.len() == max {
                    more = true;
                    break;
                }
                list.push(join_host_port(str_at(a, "/ip"), int_at(port, "/port")));
            }
        }
    }
    let ret = list.join(",");
    if more {
        format!("{ret} + {} more...", count.saturating_sub(max))
    } else {
        ret
    }
}

fn format_discovery_ports(ports: &[Value]) -> String {
    let max = 3;
    let mut list = Vec::new();
    let mut more = false;
    let mut count = 0;
    for port in ports {
        if list.len() < max {
            let num = if let Some(p) = opt_int_at(port, "/port") {
                p.to_string()
            } else if let Some(n) = port.get("name").and_then(Value::as_str) {
                n.to_string()
            } else {
                "*".to_string()
            };
            list.push(num);
        } else if list.len() == max {
            more = true;
        }
        count += 1;
    }
    list_with_more(&list, more, count, max)
}

fn format_discovery_endpoints(endpoints: &[Value]) -> String {
    let max = 3;
    let mut list = Vec::new();
    let mut more = false;
    let mut count = 0;
    for ep in endpoints {
        for address in arr_at(ep, "/addresses") {
            if list.len() < max {
                list.push(address.as_str().unwrap_or("").to_string());
            } else if list.len() == max {
                more = true;
            }
            count += 1;
        }
    }
    list_with_more(&list, more, count, max)
}

fn node_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    // Upstream keeps the last condition of each type.
    let ready = arr_at(obj, "/status/conditions")
        .iter()
        .rev()
        .find(|c| str_at(c, "/type") == "Ready");
    let mut status: Vec<&str> = match ready {
        Some(c) if str_at(c, "/status") == "True" => vec!["Ready"],
        Some(_) => vec!["NotReady"],
        None => vec!["Unknown"],
    };
    if bool_at(obj, "/spec/unschedulable") == Some(true) {
        status.push("SchedulingDisabled");
    }
    let mut roles: BTreeSet<&str> = BTreeSet::new();
    if let Some(labels) = obj.pointer("/metadata/labels").and_then(Value::as_object) {
        for (k, v) in labels {
            if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
                if !role.is_empty() {
                    roles.insert(role);
                }
            } else if k == "kubernetes.io/role" {
                let v = v.as_str().unwrap_or("");
                if !v.is_empty() {
                    roles.insert(v);
                }
            }
        }
    }
    let roles = if roles.is_empty() {
        "<none>".to_string()
    } else {
        roles.into_iter().collect::<Vec<_>>().join(",")
    };
    let address = |t: &str| {
        arr_at(obj, "/status/addresses")
            .iter()
            .find(|a| str_at(a, "/type") == t)
            .map_or("<none>", |a| str_at(a, "/address"))
    };
    let info = |f: &str| or(str_at(obj, &format!("/status/nodeInfo/{f}")), "<unknown>");
    vec![
        name(obj),
        status.join(",").into(),
        roles.into(),
        age(obj, now),
        str_at(obj, "/status/nodeInfo/kubeletVersion").into(),
        address("InternalIP").into(),
        address("ExternalIP").into(),
        info("osImage"),
        info("kernelVersion"),
        info("containerRuntimeVersion"),
    ]
}

/// Core/v1 and events.k8s.io/v1 Events (the latter renames some fields); either form works.
fn event_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let field = |core: &str, events: &str| -> Option<&Value> {
        obj.get(core)
            .filter(|v| !v.is_null())
            .or_else(|| obj.get(events).filter(|v| !v.is_null()))
    };
    let first = parse_time(field("firstTimestamp", "deprecatedFirstTimestamp"));
    let event_time = parse_time(obj.get("eventTime"));
    let first_seen = if first.is_some() {
        since(first, now)
    } else {
        since(event_time, now)
    };
    let last = parse_time(field("lastTimestamp", "deprecatedLastTimestamp"));
    let mut last_seen = if last.is_some() {
        since(last, now)
    } else {
        first_seen.clone()
    };
    let mut count = field("count", "deprecatedCount")
        .and_then(as_int)
        .unwrap_or(0);
    if let Some(series) = obj.get("series").filter(|s| s.is_object()) {
        last_seen = since(parse_time(series.get("lastObservedTime")), now);
        count = int_at(series, "/count");
    } else if count == 0 {
        // Singleton events don't have a count set in the new API.
        count = 1;
    }
    let involved = field("involvedObject", "regarding").unwrap_or(&EMPTY);
    let kind = str_at(involved, "/kind").to_lowercase();
    let involved_name = str_at(involved, "/name");
    let target = if involved_name.is_empty() {
        kind
    } else {
        format!("{kind}/{involved_name}")
    };
    let source = field("source", "deprecatedSource").unwrap_or(&EMPTY);
    let first_non_empty = |a: &str, b: &str| if a.is_empty() { b } else { a }.to_string();
    let component = first_non_empty(
        str_at(source, "/component"),
        str_at(obj, "/reportingController"),
    );
    let instance = first_non_empty(str_at(source, "/host"), str_at(obj, "/reportingInstance"));
    let source = if instance.is_empty() {
        component
    } else {
        format!("{component}, {instance}")
    };
    let message = field("message", "note")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim();
    vec![
        last_seen.into(),
        str_at(obj, "/type").into(),
        str_at(obj, "/reason").into(),
        target.into(),
        str_at(involved, "/fieldPath").into(),
        source.into(),
        message.into(),
        first_seen.into(),
        count.into(),
        name(obj),
    ]
}

fn secret_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let type_ = match str_at(obj, "/type") {
        "" => "Opaque",
        t => t,
    };
    // stringData is merged into data on write; count the union should it still be there.
    let mut keys: BTreeSet<&str> = BTreeSet::new();
    for f in ["data", "stringData"] {
        if let Some(m) = obj.get(f).and_then(Value::as_object) {
            keys.extend(m.keys().map(String::as_str));
        }
    }
    vec![name(obj), type_.into(), len_json(keys.len()), age(obj, now)]
}

/// `helper.GetAccessModesAsString`.
fn access_modes(modes: &[Value]) -> String {
    let has = |m: &str| modes.iter().any(|v| v.as_str() == Some(m));
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(m, _)| has(m))
    .map(|(_, s)| *s)
    .collect::<Vec<_>>()
    .join(",")
}

/// The beta annotation wins over `spec.storageClassName`.
fn storage_class_name(obj: &Value) -> String {
    match annotation(obj, "volume.beta.kubernetes.io/storage-class") {
        Some(c) => c.to_string(),
        None => str_at(obj, "/spec/storageClassName").to_string(),
    }
}

fn pv_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let claim = match obj.pointer("/spec/claimRef").filter(|c| c.is_object()) {
        Some(c) => format!("{}/{}", str_at(c, "/namespace"), str_at(c, "/name")),
        None => String::new(),
    };
    let phase = if is_set(obj, "/metadata/deletionTimestamp") {
        "Terminating"
    } else {
        str_at(obj, "/status/phase")
    };
    let str_or_unset = |ptr: &str| match obj.pointer(ptr) {
        Some(Value::String(s)) => s.clone(),
        _ => "<unset>".to_string(),
    };
    vec![
        name(obj),
        quantity_or_zero(obj.pointer("/spec/capacity/storage")).into(),
        access_modes(arr_at(obj, "/spec/accessModes")).into(),
        str_at(obj, "/spec/persistentVolumeReclaimPolicy").into(),
        phase.into(),
        claim.into(),
        storage_class_name(obj).into(),
        str_or_unset("/spec/volumeAttributesClassName").into(),
        str_at(obj, "/status/reason").into(),
        age(obj, now),
        str_or_unset("/spec/volumeMode").into(),
    ]
}

fn pvc_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let phase = if is_set(obj, "/metadata/deletionTimestamp") {
        "Terminating"
    } else {
        str_at(obj, "/status/phase")
    };
    let volume = str_at(obj, "/spec/volumeName");
    let (capacity, modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        (
            quantity_or_zero(obj.pointer("/status/capacity/storage")),
            access_modes(arr_at(obj, "/status/accessModes")),
        )
    };
    let str_or_unset = |ptr: &str| match obj.pointer(ptr) {
        Some(Value::String(s)) => s.clone(),
        _ => "<unset>".to_string(),
    };
    vec![
        name(obj),
        phase.into(),
        volume.into(),
        capacity.into(),
        modes.into(),
        storage_class_name(obj).into(),
        str_or_unset("/spec/volumeAttributesClassName").into(),
        age(obj, now),
        str_or_unset("/spec/volumeMode").into(),
    ]
}

fn component_status_cells(obj: &Value) -> Vec<Value> {
    let (status, message, error) = match condition(arr_at(obj, "/conditions"), "Healthy") {
        Some(c) => (
            if str_at(c, "/status") == "True" {
                "Healthy"
            } else {
                "Unhealthy"
            },
            str_at(c, "/message"),
            str_at(c, "/error"),
        ),
        None => ("Unknown", "", ""),
    };
    vec![name(obj), status.into(), message.into(), error.into()]
}

/// `formatHPAMetrics` for autoscaling/v2 objects (and v1's targetCPUUtilizationPercentage).
fn hpa_metrics(obj: &Value) -> String {
    let specs = arr_at(obj, "/spec/metrics");
    let statuses = arr_at(obj, "/status/currentMetrics");
    if specs.is_empty() {
        // autoscaling/v1 form.
        if let Some(target) = opt_int_at(obj, "/spec/targetCPUUtilizationPercentage") {
            let current = opt_int_at(obj, "/status/currentCPUUtilizationPercentage")
                .map_or_else(|| "<unknown>".to_string(), |c| format!("{c}%"));
            return format!("cpu: {current}/{target}%");
        }
        return "<none>".into();
    }
    let max = 2;
    let mut list: Vec<String> = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let status = statuses.get(i);
        // The status' source of the same type, if the status has one.
        let current_of = |src: &str| status.and_then(|s| s.get(src)).filter(|v| v.is_object());
        let entry = match str_at(spec, "/type") {
            t @ ("External" | "Object") => {
                let src = if t == "External" {
                    "external"
                } else {
                    "object"
                };
                let target = spec.get(src).unwrap_or(&EMPTY);
                if is_set(target, "/target/averageValue") {
                    let current = current_of(src)
                        .and_then(|c| c.pointer("/current/averageValue"))
                        .and_then(quantity)
                        .unwrap_or_else(|| "<unknown>".into());
                    format!(
                        "{current}/{} (avg)",
                        quantity_ptr(target.pointer("/target/averageValue"))
                    )
                } else {
                    let current = current_of(src).map_or_else(
                        || "<unknown>".to_string(),
                        |c| quantity_ptr(c.pointer("/current/value")),
                    );
                    format!(
                        "{current}/{}",
                        quantity_ptr(target.pointer("/target/value"))
                    )
                }
            }
            "Pods" => {
                let current = current_of("pods").map_or_else(
                    || "<unknown>".to_string(),
                    |c| quantity_ptr(c.pointer("/current/averageValue")),
                );
                format!(
                    "{current}/{}",
                    quantity_ptr(spec.pointer("/pods/target/averageValue"))
                )
            }
            t @ ("Resource" | "ContainerResource") => {
                let src = if t == "Resource" {
                    "resource"
                } else {
                    "containerResource"
                };
                let target = spec.get(src).unwrap_or(&EMPTY);
                let res_name = str_at(target, "/name");
                if is_set(target, "/target/averageValue") {
                    let current = current_of(src).map_or_else(
                        || "<unknown>".to_string(),
                        |c| quantity_ptr(c.pointer("/current/averageValue")),
                    );
                    format!(
                        "{res_name}: {current}/{}",
                        quantity_ptr(target.pointer("/target/averageValue"))
                    )
                } else {
                    let current = current_of(src)
                        .and_then(|c| opt_int_at(c, "/current/averageUtilization"))
                        .map_or_else(|| "<unknown>".to_string(), |u| format!("{u}%"));
                    let target = opt_int_at(target, "/target/averageUtilization")
                        .map_or_else(|| "<auto>".to_string(), |u| format!("{u}%"));
                    format!("{res_name}: {current}/{target}")
                }
            }
            _ => "<unknown type>".to_string(),
        };
        list.push(entry);
    }
    let count = list.len();
    if count > max {
        list.truncate(max);
        return format!("{} + {} more...", list.join(", "), count - max);
    }
    list.join(", ")
}

fn hpa_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let reference = format!(
        "{}/{}",
        str_at(obj, "/spec/scaleTargetRef/kind"),
        str_at(obj, "/spec/scaleTargetRef/name")
    );
    let min_pods = opt_int_at(obj, "/spec/minReplicas")
        .map_or_else(|| "<unset>".to_string(), |m| m.to_string());
    vec![
        name(obj),
        reference.into(),
        hpa_metrics(obj).into(),
        min_pods.into(),
        int_at(obj, "/spec/maxReplicas").into(),
        int_at(obj, "/status/currentReplicas").into(),
        age(obj, now),
    ]
}

fn role_binding_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let mut users = Vec::new();
    let mut groups = Vec::new();
    let mut sas = Vec::new();
    for s in arr_at(obj, "/subjects") {
        let n = str_at(s, "/name");
        match str_at(s, "/kind") {
            "ServiceAccount" => sas.push(format!("{}/{n}", str_at(s, "/namespace"))),
            "User" => users.push(n.to_string()),
            "Group" => groups.push(n.to_string()),
            _ => {}
        }
    }
    vec![
        name(obj),
        format!(
            "{}/{}",
            str_at(obj, "/roleRef/kind"),
            str_at(obj, "/roleRef/name")
        )
        .into(),
        age(obj, now),
        users.join(", ").into(),
        groups.join(", ").into(),
        sas.join(", ").into(),
    ]
}

fn csr_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (mut approved, mut denied, mut failed) = (false, false, false);
    for c in arr_at(obj, "/status/conditions") {
        match str_at(c, "/type") {
            "Approved" => approved = true,
            "Denied" => denied = true,
            "Failed" => failed = true,
            _ => {}
        }
    }
    let mut status = if denied {
        "Denied"
    } else if approved {
        "Approved"
    } else {
        "Pending"
    }
    .to_string();
    if failed {
        status.push_str(",Failed");
    }
    if !str_at(obj, "/status/certificate").is_empty() {
        status.push_str(",Issued");
    }
    let requested = opt_int_at(obj, "/spec/expirationSeconds").map_or_else(
        || "<none>".to_string(),
        |s| human_duration_ms(s.saturating_mul(1000)),
    );
    vec![
        name(obj),
        age(obj, now),
        or(str_at(obj, "/spec/signerName"), "<none>"),
        str_at(obj, "/spec/username").into(),
        requested.into(),
        status.into(),
    ]
}

fn storage_class_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let mut n = name_str(obj).to_string();
    if annotation(obj, "storageclass.kubernetes.io/is-default-class") == Some("true")
        || annotation(obj, "storageclass.beta.kubernetes.io/is-default-class") == Some("true")
    {
        n.push_str(" (default)");
    }
    let reclaim = match obj.get("reclaimPolicy") {
        Some(Value::String(s)) => s.as_str(),
        _ => "Delete",
    };
    let binding = match obj.get("volumeBindingMode") {
        Some(Value::String(s)) => s.as_str(),
        _ => "Immediate",
    };
    vec![
        n.into(),
        str_at(obj, "/provisioner").into(),
        reclaim.into(),
        binding.into(),
        bool_at(obj, "/allowVolumeExpansion")
            .unwrap_or(false)
            .into(),
        age(obj, now),
    ]
}

fn controller_revision_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let controller = arr_at(obj, "/metadata/ownerReferences")
        .iter()
        .find(|r| bool_at(r, "/controller") == Some(true));
    let controller_name = match controller {
        None => "<none>".to_string(),
        Some(r) => {
            let ref_name = str_at(r, "/name");
            let kind = str_at(r, "/kind");
            let api_version = str_at(r, "/apiVersion");
            let group = match api_version.split_once('/') {
                Some((g, _)) => g,
                None => "",
            };
            if group.is_empty() && kind.is_empty() {
                ref_name.to_string()
            } else if group.is_empty() {
                format!("{}/{ref_name}", kind.to_lowercase())
            } else {
                format!(
                    "{}.{}/{ref_name}",
                    kind.to_lowercase(),
                    group.to_lowercase()
                )
            }
        }
    };
    vec![
        name(obj),
        controller_name.into(),
        int_at(obj, "/revision").into(),
        age(obj, now),
    ]
}

fn resource_quota_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let hard = obj.pointer("/status/hard").and_then(Value::as_object);
    let mut resources: Vec<&String> = hard.map(|h| h.keys().collect()).unwrap_or_default();
    resources.sort();
    let mut requests: Vec<String> = Vec::new();
    let mut limits: Vec<String> = Vec::new();
    for r in resources {
        let used = quantity_or_zero(obj.pointer("/status/used").and_then(|u| u.get(r)));
        let limit = quantity_or_zero(hard.and_then(|h| h.get(r)));
        let entry = format!("{r}: {used}/{limit}");
        let pieces: Vec<&str> = r.split('.').collect();
        if pieces.len() > 1 && pieces.first() == Some(&"limits") {
            limits.push(entry);
        } else {
            requests.push(entry);
        }
    }
    vec![
        name(obj),
        requests.join(", ").into(),
        limits.join(", ").into(),
        age(obj, now),
    ]
}

fn csi_driver_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let token_requests = match obj.pointer("/spec/tokenRequests") {
        Some(Value::Array(a)) => a
            .iter()
            .map(|t| str_at(t, "/audience"))
            .collect::<Vec<_>>()
            .join(","),
        _ => "<unset>".to_string(),
    };
    let modes = join_strs(arr_at(obj, "/spec/volumeLifecycleModes"), ",");
    vec![
        name(obj),
        bool_at(obj, "/spec/attachRequired").unwrap_or(true).into(),
        bool_at(obj, "/spec/podInfoOnMount").unwrap_or(false).into(),
        bool_at(obj, "/spec/storageCapacity")
            .unwrap_or(false)
            .into(),
        token_requests.into(),
        bool_at(obj, "/spec/requiresRepublish")
            .unwrap_or(false)
            .into(),
        or(&modes, "<none>"),
        age(obj, now),
    ]
}

fn admission_policy_cells(obj: &Value, rules: &str, now: DateTime<Utc>) -> Vec<Value> {
    let param_kind = match obj.pointer("/spec/paramKind").filter(|p| p.is_object()) {
        Some(p) => format!("{}/{}", str_at(p, "/apiVersion"), str_at(p, "/kind")),
        None => "<unset>".to_string(),
    };
    vec![
        name(obj),
        len_json(arr_at(obj, rules).len()),
        param_kind.into(),
        age(obj, now),
    ]
}

fn admission_policy_binding_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let param = match obj.pointer("/spec/paramRef").filter(|p| p.is_object()) {
        None => "<unset>".to_string(),
        Some(p) => {
            let n = str_at(p, "/name");
            let ns = str_at(p, "/namespace");
            if !n.is_empty() {
                if ns.is_empty() {
                    format!("*/{n}")
                } else {
                    format!("{ns}/{n}")
                }
            } else if let Some(sel) = p.get("selector").filter(|s| s.is_object()) {
                // Upstream prints the generated Go String() of the LabelSelector; the
                // selector's string form is the readable equivalent.
                format_label_selector(Some(sel))
            } else {
                "<unset>".to_string()
            }
        }
    };
    vec![
        name(obj),
        str_at(obj, "/spec/policyName").into(),
        param.into(),
        age(obj, now),
    ]
}

fn flow_schema_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let distinguisher = match obj
        .pointer("/spec/distinguisherMethod")
        .filter(|d| d.is_object())
    {
        Some(d) => str_at(d, "/type").to_string(),
        None => "<none>".to_string(),
    };
    let bad_pl_ref = condition(arr_at(obj, "/status/conditions"), "Dangling")
        .map_or("?", |c| str_at(c, "/status"));
    vec![
        name(obj),
        str_at(obj, "/spec/priorityLevelConfiguration/name").into(),
        int_at(obj, "/spec/matchingPrecedence").into(),
        distinguisher.into(),
        age(obj, now),
        bad_pl_ref.into(),
    ]
}

fn priority_level_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let none = || Value::from("<none>");
    let (mut ncs, mut queues, mut hand_size, mut queue_length) = (none(), none(), none(), none());
    if let Some(limited) = obj.pointer("/spec/limited").filter(|l| l.is_object()) {
        ncs = int_at(limited, "/nominalConcurrencyShares").into();
        if let Some(q) = limited
            .pointer("/limitResponse/queuing")
            .filter(|q| q.is_object())
        {
            queues = int_at(q, "/queues").into();
            hand_size = int_at(q, "/handSize").into();
            queue_length = int_at(q, "/queueLengthLimit").into();
        }
    }
    vec![
        name(obj),
        str_at(obj, "/spec/type").into(),
        ncs,
        queues,
        hand_size,
        queue_length,
        age(obj, now),
    ]
}

fn storage_version_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let common = match obj.pointer("/status/commonEncodingVersion") {
        Some(Value::String(s)) => s.clone(),
        _ => "<unset>".to_string(),
    };
    let max = 3;
    let mut list = Vec::new();
    let mut more = false;
    let mut count = 0;
    for sv in arr_at(obj, "/status/storageVersions") {
        if list.len() < max {
            list.push(format!(
                "{}={}",
                str_at(sv, "/apiServerID"),
                str_at(sv, "/encodingVersion")
            ));
        } else if list.len() == max {
            more = true;
        }
        count += 1;
    }
    vec![
        name(obj),
        common.into(),
        list_with_more(&list, more, count, max).into(),
        age(obj, now),
    ]
}

fn resource_claim_state(obj: &Value) -> String {
    let deleted = is_set(obj, "/metadata/deletionTimestamp");
    let mut states = Vec::new();
    if deleted {
        states.push("deleted");
    }
    if !is_set(obj, "/status/allocation") {
        if !deleted {
            states.push("pending");
        }
    } else {
        states.push("allocated");
        if !arr_at(obj, "/status/reservedFor").is_empty() {
            states.push("reserved");
        }
    }
    states.join(",")
}

fn ip_address_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let parent = match obj.pointer("/spec/parentRef").filter(|p| p.is_object()) {
        None => "<none>".to_string(),
        Some(p) => {
            let group = str_at(p, "/group");
            let resource = str_at(p, "/resource");
            let mut s = if group.is_empty() {
                resource.to_lowercase()
            } else {
                format!("{resource}.{group}").to_lowercase()
            };
            let ns = str_at(p, "/namespace");
            if !ns.is_empty() {
                s.push('/');
                s.push_str(ns);
            }
            s.push('/');
            s.push_str(str_at(p, "/name"));
            s
        }
    };
    // Upstream declares two columns but emits the age as a third cell.
    vec![name(obj), parent.into(), age(obj, now)]
}

// ---------------------------------------------------------------------------------------------
// Column definitions
// Generated from upstream printers.go column lists and the API types' SwaggerDoc strings
// (k8s.io/api v0.33.0). Keep in sync by hand.

const DESC_0: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const DESC_1: &str = "The aggregate readiness state of this pod for accepting traffic.";
const DESC_2: &str = "The aggregate status of the containers in this pod.";
const DESC_3: &str = "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.";
const DESC_4: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
const DESC_5: &str = "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.";
const DESC_6: &str = "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename";
const DESC_7: &str = "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.";
const DESC_8: &str = "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates";
const DESC_9: &str = "Names of each container in the template.";
const DESC_10: &str = "Images referenced by each container in the template.";
const DESC_11: &str = "The labels for the pod template.";
const DESC_12: &str = "The minimum number of pods that must be available.";
const DESC_13: &str = "The maximum number of pods that may be unavailable.";
const DESC_14: &str = "Calculated number of pods that may be disrupted at this time.";
const DESC_15: &str = "Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller";
const DESC_16: &str = "Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller";
const DESC_17: &str = "The number of ready replicas for this replication controller.";
const DESC_18: &str = "Selector is a label query over pods that should match the Replicas count. If Selector is empty, it is defaulted to the labels present on the Pod template. Label keys and values that must match in order to be controlled by this replication controller, if empty defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors";
const DESC_19: &str = "Replicas is the number of desired pods. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicaset";
const DESC_20: &str = "Replicas is the most recently observed number of non-terminating pods. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicaset";
const DESC_21: &str =
    "The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition.";
const DESC_22: &str = "Selector is a label query over pods that should match the replica count. If the selector is empty, it is defaulted to the labels present on the pod template. Label keys and values that must match in order to be controlled by this replica set. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors";
const DESC_23: &str = "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod). More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/";
const DESC_24: &str = "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod. More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/";
const DESC_25: &str = "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.";
const DESC_26: &str = "The total number of nodes that are running updated daemon pod";
const DESC_27: &str = "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)";
const DESC_28: &str = "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node. More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/";
const DESC_29: &str = "A label query over pods that are managed by the daemon set. Must match in order to be controlled. If empty, defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors";
const DESC_30: &str = "Status of the job.";
const DESC_31: &str = "The number of pods which reached phase Succeeded. The value increases monotonically for a given spec. However, it may decrease in reaction to scale down of elastic indexed jobs.";
const DESC_32: &str = "Time required to complete the job.";
const DESC_33: &str = "A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors";
const DESC_34: &str = "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.";
const DESC_35: &str = "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones. If not specified, this will default to the time zone of the kube-controller-manager process. The set of valid time zone names and the time zone offset is loaded from the system-wide time zone database by the API server during CronJob validation and the controller manager during execution. If no system-wide time zone database can be found a bundled version of the database is used instead. If the time zone name becomes invalid during the lifetime of a CronJob or due to a change in host configuration, the controller will stop creating new new Jobs and will create a system event with the reason UnknownTimeZone. More information can be found in https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#time-zones";
const DESC_36: &str = "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.  Defaults to false.";
const DESC_37: &str = "A list of pointers to currently running jobs.";
const DESC_38: &str = "Information when was the last time the job was successfully scheduled.";
const DESC_39: &str = "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer. \"ClusterIP\" allocates a cluster-internal IP address for load-balancing to endpoints. Endpoints are determined by the selector or if that is not specified, by manual construction of an Endpoints object or EndpointSlice objects. If clusterIP is \"None\", no virtual IP is allocated and the endpoints are published as a set of endpoints rather than a virtual IP. \"NodePort\" builds on ClusterIP and allocates a port on every node which routes to the same endpoints as the clusterIP. \"LoadBalancer\" builds on NodePort and creates an external load-balancer (if supported in the current cloud) which routes to the same endpoints as the clusterIP. \"ExternalName\" aliases this service to the specified externalName. Several other fields do not apply to ExternalName services. More info: https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types";
const DESC_40: &str = "clusterIP is the IP address of the service and is usually assigned randomly. If an address is specified manually, is in-range (as per system configuration), and is not in use, it will be allocated to the service; otherwise creation of the service will fail. This field may not be changed through updates unless the type field is also being changed to ExternalName (which requires this field to be blank) or the type field is being changed from ExternalName (in which case this field may optionally be specified, as describe above).  Valid values are \"None\", empty string (\"\"), or a valid IP address. Setting this to \"None\" makes a \"headless service\" (no virtual IP), which is useful when direct endpoint connections are preferred and proxying is not required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this field is specified when creating a Service of type ExternalName, creation will fail. This field will be wiped when updating a Service to type ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies";
const DESC_41: &str = "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.  These IPs are not managed by Kubernetes.  The user is responsible for ensuring that traffic arrives at a node with this IP.  A common example is external load-balancers that are not part of the Kubernetes system.";
const DESC_42: &str = "The list of ports that are exposed by this service. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies";
const DESC_43: &str = "Route service traffic to pods with label keys and values matching this selector. If empty or not present, the service is assumed to have an external process managing its endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/";
const DESC_44: &str =
    "The name of the IngressClass resource that should be used for additional configuration";
const DESC_45: &str = "Hosts that incoming requests are matched against before the ingress rule";
const DESC_46: &str = "Address is a list containing ingress points for the load-balancer";
const DESC_47: &str = "Ports of TLS configurations that open";
const DESC_48: &str = "Controller that is responsible for handling this class";
const DESC_49: &str = "A reference to a resource with additional parameters";
const DESC_50: &str = "Number of the pod with ready state";
const DESC_51: &str = "The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share. A single address with multiple ports, some of which are ready and some of which are not (because they come from different containers) will result in the address being displayed in different subsets for the different ports. No address will appear in both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a service.";
const DESC_52: &str = "The status of the node";
const DESC_53: &str = "The roles of the node";
const DESC_54: &str = "Kubelet Version reported by the node.";
const DESC_55: &str = "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP).";
const DESC_56: &str =
    "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).";
const DESC_57: &str =
    "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).";
const DESC_58: &str = "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).";
const DESC_59: &str = "The time at which the most recent occurrence of this event was recorded.";
const DESC_60: &str =
    "Type of this event (Normal, Warning), new types could be added in the future";
const DESC_61: &str = "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.";
const DESC_62: &str = "The object that this event is about.";
const DESC_63: &str = "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: \"spec.containers{name}\" (where \"name\" refers to the name of the container that triggered the event) or if no container name is specified \"spec.containers[2]\" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.";
const DESC_64: &str =
    "The component reporting this event. Should be a short machine understandable string.";
const DESC_65: &str = "A human-readable description of the status of this operation.";
const DESC_66: &str =
    "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)";
const DESC_67: &str = "The number of times this event has occurred.";
const DESC_68: &str = "The status of the namespace";
const DESC_69: &str = "Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types";
const DESC_70: &str = "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4";
const DESC_71: &str = "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use. Pods are only limited to this list if this service account has a \"kubernetes.io/enforce-mountable-secrets\" annotation set to \"true\". The \"kubernetes.io/enforce-mountable-secrets\" annotation is deprecated since v1.32. Prefer separate namespaces to isolate access to mounted secrets. This field should not be used to find auto-generated service account token secrets for use outside of pods. Instead, tokens can be requested directly using the TokenRequest API, or service account token secrets can be manually created. More info: https://kubernetes.io/docs/concepts/configuration/secret";
const DESC_72: &str = "capacity is the description of the persistent volume's resources and capacity. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#capacity";
const DESC_73: &str = "accessModes contains all ways the volume can be mounted. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes";
const DESC_74: &str = "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim. Valid options are Retain (default for manually created PersistentVolumes), Delete (default for dynamically provisioned PersistentVolumes), and Recycle (deprecated). Recycle must be supported by the volume plugin underlying this PersistentVolume. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#reclaiming";
const DESC_75: &str = "phase indicates if a volume is available, bound to a claim, or released by a claim. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#phase";
const DESC_76: &str = "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim. Expected to be non-nil when bound. claim.VolumeName is the authoritative bind between PV and PVC. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#binding";
const DESC_77: &str = "StorageClass of the pv";
const DESC_78: &str = "VolumeAttributesClass of the pv";
const DESC_79: &str = "reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.";
const DESC_80: &str = "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state. Value of Filesystem is implied when not included in spec.";
const DESC_81: &str = "phase represents the current phase of PersistentVolumeClaim.";
const DESC_82: &str =
    "volumeName is the binding reference to the PersistentVolume backing this claim.";
const DESC_83: &str = "capacity represents the actual resources of the underlying volume.";
const DESC_84: &str = "accessModes contains the actual access modes the volume backing the PVC has. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes-1";
const DESC_85: &str = "StorageClass of the pvc";
const DESC_86: &str = "VolumeAttributesClass of the pvc";
const DESC_87: &str = "volumeMode defines what type of volume is required by the claim. Value of Filesystem is implied when not included in claim spec.";
const DESC_88: &str = "Status of the component conditions";
const DESC_89: &str = "Message of the component conditions";
const DESC_90: &str = "Error of the component conditions";
const DESC_91: &str = "Total number of non-terminating pods targeted by this deployment that have the desired template spec.";
const DESC_92: &str = "Total number of available non-terminating pods (ready for at least minReadySeconds) targeted by this deployment.";
const DESC_93: &str = "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.";
const DESC_94: &str = "scaleTargetRef points to the target resource to scale, and is used to the pods for which metrics should be collected, as well as to actually change the replica count.";
const DESC_95: &str = "metrics contains the specifications for which to use to calculate the desired replica count (the maximum replica count across all metrics will be used).  The desired replica count is calculated multiplying the ratio between the target value and the current value by the current number of pods.  Ergo, metrics used must decrease as the pod count is increased, and vice-versa.  See the individual metric source types for more information about how each type of metric must respond.";
const DESC_96: &str = "minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down.  It defaults to 1 pod.  minReplicas is allowed to be 0 if the alpha feature gate HPAScaleToZero is enabled and at least one Object or External metric is configured.  Scaling is active as long as at least one metric value is available.";
const DESC_97: &str = "maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up. It cannot be less that minReplicas.";
const DESC_98: &str = "currentReplicas is current number of replicas of pods managed by this autoscaler, as last seen by the autoscaler.";
const DESC_99: &str = "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.";
const DESC_100: &str = "Selects the pods to which this NetworkPolicy object applies.  The array of ingress rules is applied to any pods selected by this field. Multiple network policies can select the same set of pods.  In this case, the ingress rules for each are combined additively. This field is NOT optional and follows standard label selector semantics. An empty podSelector matches all pods in this namespace.";
const DESC_101: &str = "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error.";
const DESC_102: &str = "Users in the roleBinding";
const DESC_103: &str = "Groups in the roleBinding";
const DESC_104: &str = "ServiceAccounts in the roleBinding";
const DESC_105: &str = "RoleRef can only reference a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error.";
const DESC_106: &str = "Users in the clusterRoleBinding";
const DESC_107: &str = "Groups in the clusterRoleBinding";
const DESC_108: &str = "ServiceAccounts in the clusterRoleBinding";
const DESC_109: &str = "Requested signer for the request. It is a qualified name in the form: `scope-hostname.io/name`. If empty, it will be defaulted:\n 1. If it's a kubelet client certificate, it is assigned\n    \"kubernetes.io/kube-apiserver-client-kubelet\".\n 2. If it's a kubelet serving certificate, it is assigned\n    \"kubernetes.io/kubelet-serving\".\n 3. Otherwise, it is assigned \"kubernetes.io/legacy-unknown\".\nDistribution of trust for signers happens out of band. You can select on this field using `spec.signerName`.";
const DESC_110: &str = "Base64-encoded PKCS#10 CSR data";
const DESC_111: &str = "expirationSeconds is the requested duration of validity of the issued certificate. The certificate signer may issue a certificate with a different validity duration so a client must check the delta between the notBefore and and notAfter fields in the issued certificate to determine the actual duration.\n\nThe v1.22+ in-tree implementations of the well-known Kubernetes signers will honor this field as long as the requested duration is not greater than the maximum duration they will honor per the --cluster-signing-duration CLI flag to the Kubernetes controller manager.\n\nCertificate signers may not honor this field for various reasons:\n\n  1. Old signer that is unaware of the field (such as the in-tree\n     implementations prior to v1.22)\n  2. Signer whose configured maximum is shorter than the requested duration\n  3. Signer whose configured minimum is longer than the requested duration\n\nThe minimum valid value for expirationSeconds is 600, i.e. 10 minutes.";
const DESC_112: &str = "Conditions applied to the request, such as approval or denial.";
const DESC_113: &str = "holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.";
const DESC_114: &str = "provisioner indicates the type of the provisioner.";
const DESC_115: &str = "reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class. Defaults to Delete.";
const DESC_116: &str = "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.  When unset, VolumeBindingImmediate is used. This field is only honored by servers that enable the VolumeScheduling feature.";
const DESC_117: &str = "allowVolumeExpansion shows whether the storage class allow volume expand.";
const DESC_118: &str = "Controller of the object";
const DESC_119: &str = "revision indicates the revision of the state represented by Data.";
const DESC_120: &str =
    "Request represents a minimum amount of cpu/memory that a container may consume.";
const DESC_121: &str = "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.";
const DESC_122: &str = "value represents the integer value of this priority class. This is the actual priority that pods receive when they have the name of this class in their pod spec.";
const DESC_123: &str = "globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class. Only one PriorityClass can be marked as `globalDefault`. However, if more than one PriorityClasses exists with their `globalDefault` field set to true, the smallest value of such global default PriorityClasses will be used as the default priority.";
const DESC_124: &str = "preemptionPolicy is the Policy for preempting pods with lower priority. One of Never, PreemptLowerPriority. Defaults to PreemptLowerPriority if unset.";
const DESC_125: &str = "";
const DESC_126: &str = "attacher indicates the name of the volume driver that MUST handle this request. This is the name returned by GetPluginName().";
const DESC_127: &str =
    "persistentVolumeName represents the name of the persistent volume to attach.";
const DESC_128: &str = "nodeName represents the node that the volume should be attached to.";
const DESC_129: &str = "attached indicates the volume is successfully attached. This field must only be set by the entity completing the attach operation, i.e. the external-attacher.";
const DESC_130: &str = "addressType specifies the type of address carried by this EndpointSlice. All addresses in this slice must be the same type. This field is immutable after creation. The following address types are currently supported: * IPv4: Represents an IPv4 Address. * IPv6: Represents an IPv6 Address. * FQDN: Represents a Fully Qualified Domain Name.";
const DESC_131: &str = "ports specifies the list of network ports exposed by each endpoint in this slice. Each port must have a unique name. When ports is empty, it indicates that there are no defined ports. When a port is defined with a nil port value, it indicates \"all ports\". Each slice may include a maximum of 100 ports.";
const DESC_132: &str = "endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of 1000 endpoints.";
const DESC_133: &str = "Drivers indicates the number of CSI drivers registered on the node";
const DESC_134: &str = "attachRequired indicates this CSI volume driver requires an attach operation (because it implements the CSI ControllerPublishVolume() method), and that the Kubernetes attach detach controller should call the attach volume interface which checks the volumeattachment status and waits until the volume is attached before proceeding to mounting. The CSI external-attacher coordinates with CSI volume driver and updates the volumeattachment status when the attach operation is complete. If the CSIDriverRegistry feature gate is enabled and the value is specified to false, the attach operation will be skipped. Otherwise the attach operation will be called.\n\nThis field is immutable.";
const DESC_135: &str = "podInfoOnMount indicates this CSI volume driver requires additional pod information (like podName, podUID, etc.) during mount operations, if set to true. If set to false, pod information will not be passed on mount. Default is false.\n\nThe CSI driver specifies podInfoOnMount as part of driver deployment. If true, Kubelet will pass pod information as VolumeContext in the CSI NodePublishVolume() calls. The CSI driver is responsible for parsing and validating the information passed in as VolumeContext.\n\nThe following VolumeContext will be passed if podInfoOnMount is set to true. This list might grow, but the prefix will be used. \"csi.storage.k8s.io/pod.name\": pod.Name \"csi.storage.k8s.io/pod.namespace\": pod.Namespace \"csi.storage.k8s.io/pod.uid\": string(pod.UID) \"csi.storage.k8s.io/ephemeral\": \"true\" if the volume is an ephemeral inline volume\n                                defined by a CSIVolumeSource, otherwise \"false\"\n\n\"csi.storage.k8s.io/ephemeral\" is a new feature in Kubernetes 1.16. It is only required for drivers which support both the \"Persistent\" and \"Ephemeral\" VolumeLifecycleMode. Other drivers can leave pod info disabled and/or ignore this field. As Kubernetes 1.15 doesn't support this field, drivers can only support one mode when deployed on such a cluster and the deployment determines which mode that is, for example via a command line parameter of the driver.\n\nThis field was immutable in Kubernetes < 1.29 and now is mutable.";
const DESC_136: &str = "storageCapacity indicates that the CSI volume driver wants pod scheduling to consider the storage capacity that the driver deployment will report by creating CSIStorageCapacity objects with capacity information, if set to true.\n\nThe check can be enabled immediately when deploying a driver. In that case, provisioning new volumes with late binding will pause until the driver deployment has published some suitable CSIStorageCapacity object.\n\nAlternatively, the driver can be deployed with the field unset or false and it can be flipped later when storage capacity information has been published.\n\nThis field was immutable in Kubernetes <= 1.22 and now is mutable.";
const DESC_137: &str = "tokenRequests indicates the CSI driver needs pods' service account tokens it is mounting volume for to do necessary authentication. Kubelet will pass the tokens in VolumeContext in the CSI NodePublishVolume calls. The CSI driver should parse and validate the following VolumeContext: \"csi.storage.k8s.io/serviceAccount.tokens\": {\n  \"<audience>\": {\n    \"token\": <token>,\n    \"expirationTimestamp\": <expiration timestamp in RFC3339>,\n  },\n  ...\n}\n\nNote: Audience in each TokenRequest should be different and at most one token is empty string. To receive a new token after expiry, RequiresRepublish can be used to trigger NodePublishVolume periodically.";
const DESC_138: &str = "requiresRepublish indicates the CSI driver wants `NodePublishVolume` being periodically called to reflect any possible change in the mounted volume. This field defaults to false.\n\nNote: After a successful initial NodePublishVolume call, subsequent calls to NodePublishVolume should only update the contents of the volume. New mount points will not be seen by a running container.";
const DESC_139: &str = "volumeLifecycleModes defines what kind of volumes this CSI volume driver supports. The default if the list is empty is \"Persistent\", which is the usage defined by the CSI specification and implemented in Kubernetes via the usual PV/PVC mechanism.\n\nThe other mode is \"Ephemeral\". In this mode, volumes are defined inline inside the pod spec with CSIVolumeSource and their lifecycle is tied to the lifecycle of that pod. A driver has to be aware of this because it is only going to get a NodePublishVolume call for such a volume.\n\nFor more information about implementing this mode, see https://kubernetes-csi.github.io/docs/ephemeral-local-volumes.html A driver can support one or more of these modes and more modes may be added in the future.\n\nThis field is beta. This field is immutable.";
const DESC_140: &str = "storageClassName represents the name of the StorageClass that the reported capacity applies to. It must meet the same requirements as the name of a StorageClass object (non-empty, DNS subdomain). If that object no longer exists, the CSIStorageCapacity object is obsolete and should be removed by its creator. This field is immutable.";
const DESC_141: &str = "capacity is the value reported by the CSI driver in its GetCapacityResponse for a GetCapacityRequest with topology and parameters that match the previous fields.\n\nThe semantic is currently (CSI spec 1.2) defined as: The available capacity, in bytes, of the storage that can be used to provision volumes. If not set, that information is currently unavailable.";
const DESC_142: &str = "Webhooks indicates the number of webhooks registered in this configuration";
const DESC_143: &str =
    "Validations indicates the number of validation rules defined in this configuration";
const DESC_144: &str = "ParamKind specifies the kind of resources used to parameterize this policy";
const DESC_145: &str =
    "PolicyName indicates the policy definition which the policy binding binded to";
const DESC_146: &str = "ParamRef indicates the param resource which sets the configration param";
const DESC_147: &str =
    "`name` is the name of the priority level configuration being referenced Required.";
const DESC_148: &str = "`matchingPrecedence` is used to choose among the FlowSchemas that match a given request. The chosen FlowSchema is among those with the numerically lowest (which we take to be logically highest) MatchingPrecedence.  Each MatchingPrecedence value must be ranged in [1,10000]. Note that if the precedence is not specified, it will be set to 1000 as default.";
const DESC_149: &str = "`distinguisherMethod` defines how to compute the flow distinguisher for requests that match this schema. `nil` specifies that the distinguisher is disabled and thus will always be the empty string.";
const DESC_150: &str = "references a broken or non-existent PriorityLevelConfiguration";
const DESC_151: &str = "`type` indicates whether this priority level is subject to limitation on request execution.  A value of `\"Exempt\"` means that requests of this priority level are not subject to a limit (and thus are never queued) and do not detract from the capacity made available to other priority levels.  A value of `\"Limited\"` means that (a) requests of this priority level _are_ subject to limits and (b) some of the server's limited capacity is made available exclusively to this priority level. Required.";
const DESC_152: &str = "`nominalConcurrencyShares` (NCS) contributes to the computation of the NominalConcurrencyLimit (NominalCL) of this level. This is the number of execution seats available at this priority level. This is used both for requests dispatched from this priority level as well as requests dispatched from other priority levels borrowing seats from this level. The server's concurrency limit (ServerCL) is divided among the Limited priority levels in proportion to their NCS values:\n\nNominalCL(i)  = ceil( ServerCL * NCS(i) / sum_ncs ) sum_ncs = sum[priority level k] NCS(k)\n\nBigger numbers mean a larger nominal concurrency limit, at the expense of every other priority level.\n\nIf not specified, this field defaults to a value of 30.\n\nSetting this field to zero supports the construction of a \"jail\" for this priority level that is used to hold some request(s)";
const DESC_153: &str = "`queues` is the number of queues for this priority level. The queues exist independently at each apiserver. The value must be positive.  Setting it to 1 effectively precludes shufflesharding and thus makes the distinguisher method of associated flow schemas irrelevant.  This field has a default value of 64.";
const DESC_154: &str = "`handSize` is a small positive number that configures the shuffle sharding of requests into queues.  When enqueuing a request at this priority level the request's flow identifier (a string pair) is hashed and the hash value is used to shuffle the list of queues and deal a hand of the size specified here.  The request is put into one of the shortest queues in that hand. `handSize` must be no larger than `queues`, and should be significantly smaller (so that a few heavy flows do not saturate most of the queues).  See the user-facing documentation for more extensive guidance on setting this field.  This field has a default value of 8.";
const DESC_155: &str = "`queueLengthLimit` is the maximum number of requests allowed to be waiting in a given queue of this priority level at a time; excess requests are rejected.  This value must be positive.  If not specified, it will be defaulted to 50.";
const DESC_156: &str = "CIDRs defines the IP blocks in CIDR notation (e.g. \"192.168.0.0/24\" or \"2001:db8::/64\") from which to assign service cluster IPs. Max of two CIDRs is allowed, one of each IP family. This field is immutable.";
const DESC_157: &str = "ParentRef references the resource that an IPAddress is attached to. An IPAddress must reference a parent object.";
const DESC_158: &str = "A summary of the current state (allocated, pending, reserved, etc.).";
const DESC_159: &str = "NodeName identifies the node which provides the resources in this pool. A field selector can be used to list only ResourceSlice objects belonging to a certain node.\n\nThis field can be used to limit access from nodes to ResourceSlices with the same node name. It also indicates to autoscalers that adding new nodes of the same type as some old node might also make new resources available.\n\nExactly one of NodeName, NodeSelector, AllNodes, and PerDeviceNodeSelection must be set. This field is immutable.";
const DESC_160: &str = "Driver identifies the DRA driver providing the capacity information. A field selector can be used to list only ResourceSlice objects with a certain driver name.\n\nMust be a DNS subdomain and should end with a DNS domain owned by the vendor of the driver. This field is immutable.";
const DESC_161: &str = "Name is used to identify the pool. For node-local devices, this is often the node name, but this is not required.\n\nIt must not be longer than 253 characters and must consist of one or more DNS sub-domains separated by slashes. This field is immutable.";
const DESC_162: &str = "LeaseName is the name of the lease for which this candidate is contending. This field is immutable.";
const DESC_163: &str = "Name of the CSI driver This field is immutable.";
const DESC_164: &str = "signerName indicates the associated signer, if any.\n\nIn order to create or update a ClusterTrustBundle that sets signerName, you must have the following cluster-scoped permission: group=certificates.k8s.io resource=signers resourceName=<the signer name> verb=attest.\n\nIf signerName is not empty, then the ClusterTrustBundle object must be named with the signer name as a prefix (translating slashes to colons). For example, for the signer name `example.com/foo`, valid ClusterTrustBundle object names include `example.com:foo:abc` and `example.com:foo:v1`.\n\nIf signerName is empty, then the ClusterTrustBundle object's name must not have such a prefix.\n\nList/watch requests for ClusterTrustBundles can filter on this field using a `spec.signerName=NAME` field selector.";
const DESC_165: &str =
    "Mutation indicates the number of mutations rules defined in this configuration";
const DESC_166: &str = "If all API server instances agree on the same encoding storage version, then this field is set to that version. Otherwise this field is left empty. API servers should finish updating its storageVersionStatus entry before serving write operations, so that this field will be in sync with the reality.";
const DESC_167: &str = "The reported versions per API server instance.";
const DESC_168: &str = "Fully qualified resource to migrate";
const COLS_POD: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Ready", "string", "", 0, DESC_1),
    col("Status", "string", "", 0, DESC_2),
    col("Restarts", "string", "", 0, DESC_3),
    col("Age", "string", "", 0, DESC_4),
    col("IP", "string", "", 1, DESC_5),
    col("Node", "string", "", 1, DESC_6),
    col("Nominated Node", "string", "", 1, DESC_7),
    col("Readiness Gates", "string", "", 1, DESC_8),
];
const COLS_POD_TEMPLATE: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Containers", "string", "", 0, DESC_9),
    col("Images", "string", "", 0, DESC_10),
    col("Pod Labels", "string", "", 0, DESC_11),
];
const COLS_PDB: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Min Available", "string", "", 0, DESC_12),
    col("Max Unavailable", "string", "", 0, DESC_13),
    col("Allowed Disruptions", "integer", "", 0, DESC_14),
    col("Age", "string", "", 0, DESC_4),
];
const COLS_RC: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Desired", "integer", "", 0, DESC_15),
    col("Current", "integer", "", 0, DESC_16),
    col("Ready", "integer", "", 0, DESC_17),
    col("Age", "string", "", 0, DESC_4),
    col("Containers", "string", "", 1, DESC_9),
    col("Images", "string", "", 1, DESC_10),
    col("Selector", "string", "", 1, DESC_18),
];
const COLS_RS: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Desired", "integer", "", 0, DESC_19),
    col("Current", "integer", "", 0, DESC_20),
    col("Ready", "integer", "", 0, DESC_21),
    col("Age", "string", "", 0, DESC_4),
    col("Containers", "string", "", 1, DESC_9),
    col("Images", "string", "", 1, DESC_10),
    col("Selector", "string", "", 1, DESC_22),
];
const COLS_DS: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Desired", "integer", "", 0, DESC_23),
    col("Current", "integer", "", 0, DESC_24),
    col("Ready", "integer", "", 0, DESC_25),
    col("Up-to-date", "integer", "", 0, DESC_26),
    col("Available", "integer", "", 0, DESC_27),
    col("Node Selector", "string", "", 0, DESC_28),
    col("Age", "string", "", 0, DESC_4),
    col("Containers", "string", "", 1, DESC_9),
    col("Images", "string", "", 1, DESC_10),
    col("Selector", "string", "", 1, DESC_29),
];
const COLS_JOB: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Status", "string", "", 0, DESC_30),
    col("Completions", "string", "", 0, DESC_31),
    col("Duration", "string", "", 0, DESC_32),
    col("Age", "string", "", 0, DESC_4),
    col("Containers", "string", "", 1, DESC_9),
    col("Images", "string", "", 1, DESC_10),
    col("Selector", "string", "", 1, DESC_33),
];
const COLS_CRONJOB: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Schedule", "string", "", 0, DESC_34),
    col("Timezone", "string", "", 0, DESC_35),
    col("Suspend", "boolean", "", 0, DESC_36),
    col("Active", "integer", "", 0, DESC_37),
    col("Last Schedule", "string", "", 0, DESC_38),
    col("Age", "string", "", 0, DESC_4),
    col("Containers", "string", "", 1, DESC_9),
    col("Images", "string", "", 1, DESC_10),
    col("Selector", "string", "", 1, DESC_33),
];
const COLS_SVC: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Type", "string", "", 0, DESC_39),
    col("Cluster-IP", "string", "", 0, DESC_40),
    col("External-IP", "string", "", 0, DESC_41),
    col("Port(s)", "string", "", 0, DESC_42),
    col("Age", "string", "", 0, DESC_4),
    col("Selector", "string", "", 1, DESC_43),
];
const COLS_ING: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Class", "string", "", 0, DESC_44),
    col("Hosts", "string", "", 0, DESC_45),
    col("Address", "string", "", 0, DESC_46),
    col("Ports", "string", "", 0, DESC_47),
    col("Age", "string", "", 0, DESC_4),
];
const COLS_INGCLASS: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Controller", "string", "", 0, DESC_48),
    col("Parameters", "string", "", 0, DESC_49),
    col("Age", "string", "", 0, DESC_4),
];
const COLS_STS: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Ready", "string", "", 0, DESC_50),
    col("Age", "string", "", 0, DESC_4),
    col("Containers", "string", "", 1, DESC_9),
    col("Images", "string", "", 1, DESC_10),
];
const COLS_EP: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Endpoints", "string", "", 0, DESC_51),
    col("Age", "string", "", 0, DESC_4),
];
const COLS_NODE: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Status", "string", "", 0, DESC_52),
    col("Roles", "string", "", 0, DESC_53),
    col("Age", "string", "", 0, DESC_4),
    col("Version", "string", "", 0, DESC_54),
    col("Internal-IP", "string", "", 1, DESC_55),
    col("External-IP", "string", "", 1, DESC_55),
    col("OS-Image", "string", "", 1, DESC_56),
    col("Kernel-Version", "string", "", 1, DESC_57),
    col("Container-Runtime", "string", "", 1, DESC_58),
];
const COLS_EVENT: &[ColumnDef] = &[
    col("Last Seen", "string", "", 0, DESC_59),
    col("Type", "string", "", 0, DESC_60),
    col("Reason", "string", "", 0, DESC_61),
    col("Object", "string", "", 0, DESC_62),
    col("Subobject", "string", "", 1, DESC_63),
    col("Source", "string", "", 1, DESC_64),
    col("Message", "string", "", 0, DESC_65),
    col("First Seen", "string", "", 1, DESC_66),
    col("Count", "string", "", 1, DESC_67),
    col("Name", "string", "name", 1, DESC_0),
];
const COLS_NS: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Status", "string", "", 0, DESC_68),
    col("Age", "string", "", 0, DESC_4),
];
const COLS_SECRET: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Type", "string", "", 0, DESC_69),
    col("Data", "string", "", 0, DESC_70),
    col("Age", "string", "", 0, DESC_4),
];
const COLS_SA: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Secrets", "string", "", 0, DESC_71),
    col("Age", "string", "", 0, DESC_4),
];
const COLS_PV: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Capacity", "string", "", 0, DESC_72),
    col("Access Modes", "string", "", 0, DESC_73),
    col("Reclaim Policy", "string", "", 0, DESC_74),
    col("Status", "string", "", 0, DESC_75),
    col("Claim", "string", "", 0, DESC_76),
    col("StorageClass", "string", "", 0, DESC_77),
    col("VolumeAttributesClass", "string", "", 0, DESC_78),
    col("Reason", "string", "", 0, DESC_79),
    col("Age", "string", "", 0, DESC_4),
    col("VolumeMode", "string", "", 1, DESC_80),
];
const COLS_PVC: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Status", "string", "", 0, DESC_81),
    col("Volume", "string", "", 0, DESC_82),
    col("Capacity", "string", "", 0, DESC_83),
    col("Access Modes", "string", "", 0, DESC_84),
    col("StorageClass", "string", "", 0, DESC_85),
    col("VolumeAttributesClass", "string", "", 0, DESC_86),
    col("Age", "string", "", 0, DESC_4),
    col("VolumeMode", "string", "", 1, DESC_87),
];
const COLS_CS: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Status", "string", "", 0, DESC_88),
    col("Message", "string", "", 0, DESC_89),
    col("Error", "string", "", 0, DESC_90),
];
const COLS_DEPLOY: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Ready", "string", "", 0, DESC_50),
    col("Up-to-date", "string", "", 0, DESC_91),
    col("Available", "string", "", 0, DESC_92),
    col("Age", "string", "", 0, DESC_4),
    col("Containers", "string", "", 1, DESC_9),
    col("Images", "string", "", 1, DESC_10),
    col("Selector", "string", "", 1, DESC_93),
];
const COLS_HPA: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Reference", "string", "", 0, DESC_94),
    col("Targets", "string", "", 0, DESC_95),
    col("MinPods", "string", "", 0, DESC_96),
    col("MaxPods", "string", "", 0, DESC_97),
    col("Replicas", "string", "", 0, DESC_98),
    col("Age", "string", "", 0, DESC_4),
];
const COLS_CM: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Data", "string", "", 0, DESC_99),
    col("Age", "string", "", 0, DESC_4),
];
const COLS_NETPOL: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Pod-Selector", "string", "", 0, DESC_100),
    col("Age", "string", "", 0, DESC_4),
];
const COLS_RB: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Role", "string", "", 0, DESC_101),
    col("Age", "string", "", 0, DESC_4),
    col("Users", "string", "", 1, DESC_102),
    col("Groups", "string", "", 1, DESC_103),
    col("ServiceAccounts", "string", "", 1, DESC_104),
];
const COLS_CRB: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Role", "string", "", 0, DESC_105),
    col("Age", "string", "", 0, DESC_4),
    col("Users", "string", "", 1, DESC_106),
    col("Groups", "string", "", 1, DESC_107),
    col("ServiceAccounts", "string", "", 1, DESC_108),
];
const COLS_CSR: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Age", "string", "", 0, DESC_4),
    col("SignerName", "string", "", 0, DESC_109),
    col("Requestor", "string", "", 0, DESC_110),
    col("RequestedDuration", "string", "", 0, DESC_111),
    col("Condition", "string", "", 0, DESC_112),
];
const COLS_LEASE: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Holder", "string", "", 0, DESC_113),
    col("Age", "string", "", 0, DESC_4),
];
const COLS_SC: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Provisioner", "string", "", 0, DESC_114),
    col("ReclaimPolicy", "string", "", 0, DESC_115),
    col("VolumeBindingMode", "string", "", 0, DESC_116),
    col("AllowVolumeExpansion", "string", "", 0, DESC_117),
    col("Age", "string", "", 0, DESC_4),
];
const COLS_CR: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Controller", "string", "", 0, DESC_118),
    col("Revision", "string", "", 0, DESC_119),
    col("Age", "string", "", 0, DESC_4),
];
const COLS_QUOTA: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Request", "string", "", 0, DESC_120),
    col("Limit", "string", "", 0, DESC_121),
    col("Age", "string", "", 0, DESC_4),
];
const COLS_PC: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Value", "integer", "", 0, DESC_122),
    col("Global-Default", "boolean", "", 0, DESC_123),
    col("Age", "string", "", 0, DESC_4),
    col("PreemptionPolicy", "string", "", 0, DESC_124),
];
const COLS_RTC: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Handler", "string", "", 0, DESC_125),
    col("Age", "string", "", 0, DESC_4),
];
const COLS_VA: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Attacher", "string", "name", 0, DESC_126),
    col("PV", "string", "", 0, DESC_127),
    col("Node", "string", "", 0, DESC_128),
    col("Attached", "boolean", "", 0, DESC_129),
    col("Age", "string", "", 0, DESC_4),
];
const COLS_EPS: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("AddressType", "string", "", 0, DESC_130),
    col("Ports", "string", "", 0, DESC_131),
    col("Endpoints", "string", "", 0, DESC_132),
    col("Age", "string", "", 0, DESC_4),
];
const COLS_CSINODE: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Drivers", "integer", "", 0, DESC_133),
    col("Age", "string", "", 0, DESC_4),
];
const COLS_CSIDRIVER: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("AttachRequired", "boolean", "", 0, DESC_134),
    col("PodInfoOnMount", "boolean", "", 0, DESC_135),
    col("StorageCapacity", "boolean", "", 0, DESC_136),
    col("TokenRequests", "string", "", 0, DESC_137),
    col("RequiresRepublish", "boolean", "", 0, DESC_138),
    col("Modes", "string", "", 0, DESC_139),
    col("Age", "string", "", 0, DESC_4),
];
const COLS_CSISC: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("StorageClassName", "string", "", 0, DESC_140),
    col("Capacity", "string", "", 0, DESC_141),
];
const COLS_WEBHOOK: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Webhooks", "integer", "", 0, DESC_142),
    col("Age", "string", "", 0, DESC_4),
];
const COLS_VAP: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Validations", "integer", "", 0, DESC_143),
    col("ParamKind", "string", "", 0, DESC_144),
    col("Age", "string", "", 0, DESC_4),
];
const COLS_VAPB: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("PolicyName", "string", "", 0, DESC_145),
    col("ParamRef", "string", "", 0, DESC_146),
    col("Age", "string", "", 0, DESC_4),
];
const COLS_FS: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("PriorityLevel", "string", "", 0, DESC_147),
    col("MatchingPrecedence", "string", "", 0, DESC_148),
    col("DistinguisherMethod", "string", "", 0, DESC_149),
    col("Age", "string", "", 0, DESC_4),
    col("MissingPL", "string", "", 0, DESC_150),
];
const COLS_PLC: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Type", "string", "", 0, DESC_151),
    col("NominalConcurrencyShares", "string", "", 0, DESC_152),
    col("Queues", "string", "", 0, DESC_153),
    col("HandSize", "string", "", 0, DESC_154),
    col("QueueLengthLimit", "string", "", 0, DESC_155),
    col("Age", "string", "", 0, DESC_4),
];
const COLS_SCIDR: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("CIDRs", "string", "", 0, DESC_156),
    col("Age", "string", "", 0, DESC_4),
];
const COLS_IPADDR: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("ParentRef", "string", "", 0, DESC_157),
];
const COLS_DEVCLASS: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Age", "string", "", 0, DESC_4),
];
const COLS_RCLAIM: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("State", "string", "", 0, DESC_158),
    col("Age", "string", "", 0, DESC_4),
];
const COLS_RCT: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Age", "string", "", 0, DESC_4),
];
const COLS_RSLICE: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Node", "string", "", 0, DESC_159),
    col("Driver", "string", "", 0, DESC_160),
    col("Pool", "string", "", 0, DESC_161),
    col("Age", "string", "", 0, DESC_4),
];
const COLS_LEASECAND: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("LeaseName", "string", "", 0, DESC_162),
    col("BinaryVersion", "string", "", 0, DESC_125),
    col("EmulationVersion", "string", "", 0, DESC_125),
    col("Age", "string", "", 0, DESC_4),
];
const COLS_VAC: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("DriverName", "string", "", 0, DESC_163),
    col("Age", "string", "", 0, DESC_4),
];
const COLS_CTB: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("SignerName", "string", "", 0, DESC_164),
];
const COLS_MAP: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Mutations", "integer", "", 0, DESC_165),
    col("ParamKind", "string", "", 0, DESC_144),
    col("Age", "string", "", 0, DESC_4),
];
const COLS_SV: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("CommonEncodingVersion", "string", "", 0, DESC_166),
    col("StorageVersions", "string", "", 0, DESC_167),
    col("Age", "string", "", 0, DESC_4),
];
const COLS_SVM: &[ColumnDef] = &[
    col("Name", "string", "", 0, DESC_0),
    col("Resource", "string", "", 0, DESC_168),
];
const COLS_DEFAULT: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Created At", "date", "", 0, DESC_4),
];
const COLS_CUSTOM: &[ColumnDef] = &[
    col("Name", "string", "name", 0, DESC_0),
    col("Age", "date", "", 0, DESC_4),
];

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-06-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    /// A timestamp `secs` seconds before [`now`].
    fn ago(secs: i64) -> String {
        (now() - TimeDelta::seconds(secs))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    }

    fn meta(name: &str, created_secs_ago: i64) -> Value {
        json!({
            "name": name,
            "namespace": "default",
            "uid": "0b4a0e5c-8f52-4c4f-9d1e-3f7c2c1a9e11",
            "resourceVersion": "123",
            "creationTimestamp": ago(created_secs_ago),
            "labels": {"app": name},
        })
    }

    fn cells(group: &str, kind: &str, obj: &Value) -> Vec<Value> {
        row_cells(group, kind, obj, now())
    }

    #[test]
    fn human_duration_matches_upstream() {
        let cases: &[(i64, &str)] = &[
            (-3, "<invalid>"),
            (-2, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (5, "5s"),
            (119, "119s"),
            (120, "2m"),
            (182, "3m2s"),
            (599, "9m59s"),
            (600, "10m"),
            (10_799, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 5 * 60, "3h5m"),
            (7 * 3600 + 59 * 60 + 59, "7h59m"),
            (8 * 3600, "8h"),
            (47 * 3600 + 3599, "47h"),
            (48 * 3600, "2d"),
            (5 * 86_400 + 3 * 3600, "5d3h"),
            (8 * 86_400, "8d"),
            (729 * 86_400, "729d"),
            (730 * 86_400, "2y"),
            (733 * 86_400, "2y3d"),
            (8 * 365 * 86_400, "8y"),
            (1000 * 365 * 86_400, "292y"),
        ];
        for (secs, want) in cases {
            assert_eq!(human_duration(TimeDelta::seconds(*secs)), *want, "{secs}s");
        }
        assert_eq!(human_duration(TimeDelta::milliseconds(-1999)), "0s");
        assert_eq!(human_duration(TimeDelta::milliseconds(-2000)), "<invalid>");
        assert_eq!(human_duration(TimeDelta::milliseconds(119_999)), "119s");
    }

    #[test]
    fn timestamps_unknown_and_invalid() {
        let n = now();
        assert_eq!(translate_timestamp_since(None, n), "<unknown>");
        assert_eq!(
            translate_timestamp_since(Some(&Value::Null), n),
            "<unknown>"
        );
        assert_eq!(
            translate_timestamp_since(Some(&json!("0001-01-01T00:00:00Z")), n),
            "<unknown>"
        );
        assert_eq!(
            translate_timestamp_since(Some(&json!("garbage")), n),
            "<unknown>"
        );
        assert_eq!(translate_timestamp_since(Some(&json!(12)), n), "<unknown>");
        // A clock two seconds or more behind the object.
        assert_eq!(
            translate_timestamp_since(Some(&json!("2024-06-01T12:00:05Z")), n),
            "<invalid>"
        );
        // Fractional seconds and offsets (MicroTime) parse.
        assert_eq!(
            translate_timestamp_since(Some(&json!("2024-06-01T13:55:00.123456+02:00")), n),
            "4m59s"
        );
    }

    #[test]
    fn include_object_parse() {
        assert_eq!(IncludeObject::parse(None), Ok(IncludeObject::Metadata));
        assert_eq!(IncludeObject::parse(Some("")), Ok(IncludeObject::Metadata));
        assert_eq!(
            IncludeObject::parse(Some("Metadata")),
            Ok(IncludeObject::Metadata)
        );
        assert_eq!(
            IncludeObject::parse(Some("Object")),
            Ok(IncludeObject::Object)
        );
        assert_eq!(IncludeObject::parse(Some("None")), Ok(IncludeObject::None));
        assert_eq!(
            IncludeObject::parse(Some("object")),
            Err("unrecognized includeObject value: \"object\"".to_string())
        );
    }

    fn names(group: &str, kind: &str) -> Vec<(&'static str, &'static str, i32)> {
        columns_for(group, kind)
            .iter()
            .map(|c| (c.name, c.type_, c.priority))
            .collect()
    }

    #[test]
    fn column_definitions_as_upstream() {
        assert_eq!(
            names("", "Pod"),
            vec![
                ("Name", "string", 0),
                ("Ready", "string", 0),
                ("Status", "string", 0),
                ("Restarts", "string", 0),
                ("Age", "string", 0),
                ("IP", "string", 1),
                ("Node", "string", 1),
                ("Nominated Node", "string", 1),
                ("Readiness Gates", "string", 1),
            ]
        );
        assert_eq!(
            names("apps", "Deployment"),
            vec![
                ("Name", "string", 0),
                ("Ready", "string", 0),
                ("Up-to-date", "string", 0),
                ("Available", "string", 0),
                ("Age", "string", 0),
                ("Containers", "string", 1),
                ("Images", "string", 1),
                ("Selector", "string", 1),
            ]
        );
        assert_eq!(
            names("apps", "ReplicaSet"),
            vec![
                ("Name", "string", 0),
                ("Desired", "integer", 0),
                ("Current", "integer", 0),
                ("Ready", "integer", 0),
                ("Age", "string", 0),
                ("Containers", "string", 1),
                ("Images", "string", 1),
                ("Selector", "string", 1),
            ]
        );
        assert_eq!(
            names("", "ReplicationController"),
            names("apps", "ReplicaSet")
        );
        assert_eq!(
            names("", "Service"),
            vec![
                ("Name", "string", 0),
                ("Type", "string", 0),
                ("Cluster-IP", "string", 0),
                ("External-IP", "string", 0),
                ("Port(s)", "string", 0),
                ("Age", "string", 0),
                ("Selector", "string", 1),
            ]
        );
        assert_eq!(
            names("", "Node"),
            vec![
                ("Name", "string", 0),
                ("Status", "string", 0),
                ("Roles", "string", 0),
                ("Age", "string", 0),
                ("Version", "string", 0),
                ("Internal-IP", "string", 1),
                ("External-IP", "string", 1),
                ("OS-Image", "string", 1),
                ("Kernel-Version", "string", 1),
                ("Container-Runtime", "string", 1),
            ]
        );
        let event = vec![
            ("Last Seen", "string", 0),
            ("Type", "string", 0),
            ("Reason", "string", 0),
            ("Object", "string", 0),
            ("Subobject", "string", 1),
            ("Source", "string", 1),
            ("Message", "string", 0),
            ("First Seen", "string", 1),
            ("Count", "string", 1),
            ("Name", "string", 1),
        ];
        assert_eq!(names("", "Event"), event);
        assert_eq!(names("events.k8s.io", "Event"), event);
        assert_eq!(
            names("", "Namespace"),
            vec![
                ("Name", "string", 0),
                ("Status", "string", 0),
                ("Age", "string", 0)
            ]
        );
        assert_eq!(
            names("", "Endpoints"),
            vec![
                ("Name", "string", 0),
                ("Endpoints", "string", 0),
                ("Age", "string", 0)
            ]
        );
        assert_eq!(
            names("", "ConfigMap"),
            vec![
                ("Name", "string", 0),
                ("Data", "string", 0),
                ("Age", "string", 0)
            ]
        );
        assert_eq!(
            names("", "Secret"),
            vec![
                ("Name", "string", 0),
                ("Type", "string", 0),
                ("Data", "string", 0),
                ("Age", "string", 0)
            ]
        );
        assert_eq!(
            names("", "ServiceAccount"),
            vec![
                ("Name", "string", 0),
                ("Secrets", "string", 0),
                ("Age", "string", 0)
            ]
        );
        assert_eq!(
            names("coordination.k8s.io", "Lease"),
            vec![
                ("Name", "string", 0),
                ("Holder", "string", 0),
                ("Age", "string", 0)
            ]
        );
        assert_eq!(
            names("discovery.k8s.io", "EndpointSlice"),
            vec![
                ("Name", "string", 0),
                ("AddressType", "string", 0),
                ("Ports", "string", 0),
                ("Endpoints", "string", 0),
                ("Age", "string", 0)
            ]
        );
        assert_eq!(
            names("example.com", "Widget"),
            vec![("Name", "string", 0), ("Age", "date", 0)]
        );
        assert_eq!(
            names("rbac.authorization.k8s.io", "ClusterRole"),
            vec![("Name", "string", 0), ("Created At", "date", 0)]
        );
        assert_eq!(
            names("", "LimitRange"),
            names("apiextensions.k8s.io", "CustomResourceDefinition")
        );

        // The JSON form, formats and descriptions.
        let defs = column_definitions("", "Pod");
        assert_eq!(
            defs[0],
            json!({
                "name": "Name",
                "type": "string",
                "format": "name",
                "description": "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
                "priority": 0,
            })
        );
        assert_eq!(
            defs[1],
            json!({
                "name": "Ready",
                "type": "string",
                "format": "",
                "description": "The aggregate readiness state of this pod for accepting traffic.",
                "priority": 0,
            })
        );
        assert!(
            defs[4]["description"]
                .as_str()
                .unwrap()
                .starts_with("CreationTimestamp is a timestamp representing the server time")
        );
        assert_eq!(
            defs[5]["description"],
            "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated."
        );
        // Only the Name column of events is priority 1 and formatted as a name.
        let ev = column_definitions("", "Event");
        assert_eq!(ev[9]["format"], "name");
        assert_eq!(ev[0]["format"], "");
    }

    // ----- Pods

    fn pod(status: Value) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": meta("web-7d4b9c6f5d-x2x8k", 300),
            "spec": {
                "nodeName": "node-1",
                "containers": [
                    {"name": "app", "image": "nginx:1.25"},
                    {"name": "sidecar", "image": "busybox"}
                ]
            },
            "status": status,
        })
    }

    fn running(ready: bool, restarts: i64) -> Value {
        json!({
            "name": "c",
            "ready": ready,
            "restartCount": restarts,
            "started": true,
            "state": {"running": {"startedAt": ago(200)}},
        })
    }

    #[test]
    fn pod_rows() {
        let cases: Vec<(&str, Value, Vec<Value>)> = vec![
            (
                "running, one of two ready",
                pod(json!({
                    "phase": "Running",
                    "podIP": "10.244.1.5",
                    "podIPs": [{"ip": "10.244.1.5"}, {"ip": "fd00::5"}],
                    "containerStatuses": [running(true, 0), running(false, 0)],
                })),
                vec![
                    json!("web-7d4b9c6f5d-x2x8k"),
                    json!("1/2"),
                    json!("Running"),
                    json!("0"),
                    json!("5m"),
                    json!("10.244.1.5"),
                    json!("node-1"),
                    json!("<none>"),
                    json!("<none>"),
                ],
            ),
            (
                "crash looping with the last restart two minutes ago",
                pod(json!({
                    "phase": "Running",
                    "podIP": "10.244.1.5",
                    "conditions": [{"type": "Ready", "status": "False"}],
                    "containerStatuses": [
                        {
                            "name": "app", "ready": false, "restartCount": 5,
                            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 2m40s"}},
                            "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(120)}}
                        },
                        {
                            "name": "sidecar", "ready": true, "restartCount": 1,
                            "state": {"running": {}},
                            "lastState": {"terminated": {"exitCode": 0, "reason": "Completed", "finishedAt": ago(250)}}
                        }
                    ],
                })),
                vec![
                    json!("web-7d4b9c6f5d-x2x8k"),
                    json!("1/2"),
                    json!("CrashLoopBackOff"),
                    json!("6 (2m ago)"),
                    json!("5m"),
                    json!("10.244.1.5"),
                    json!("node-1"),
                    json!("<none>"),
                    json!("<none>"),
                ],
            ),
            (
                "pending, not scheduled",
                json!({"metadata": meta("p", 30), "spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Pending"}}),
                vec![
                    json!("p"),
                    json!("0/1"),
                    json!("Pending"),
                    json!("0"),
                    json!("30s"),
                    json!("<none>"),
                    json!("<none>"),
                    json!("<none>"),
                    json!("<none>"),
                ],
            ),
            (
                "container creating, nominated node",
                json!({
                    "metadata": meta("p", 30),
                    "spec": {"nodeName": "n1", "containers": [{"name": "a"}]},
                    "status": {
                        "phase": "Pending",
                        "nominatedNodeName": "n2",
                        "containerStatuses": [{"name": "a", "ready": false, "restartCount": 0,
                            "state": {"waiting": {"reason": "ContainerCreating"}}}]
                    }
                }),
                vec![
                    json!("p"),
                    json!("0/1"),
                    json!("ContainerCreating"),
                    json!("0"),
                    json!("30s"),
                    json!("<none>"),
                    json!("n1"),
                    json!("n2"),
                    json!("<none>"),
                ],
            ),
            (
                "scheduling gated",
                json!({
                    "metadata": meta("p", 30),
                    "spec": {"containers": [{"name": "a"}], "schedulingGates": [{"name": "g"}]},
                    "status": {"phase": "Pending", "conditions": [
                        {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}
                }),
                vec![
                    json!("p"),
                    json!("0/1"),
                    json!("SchedulingGated"),
                    json!("0"),
                    json!("30s"),
                    json!("<none>"),
                    json!("<none>"),
                    json!("<none>"),
                    json!("<none>"),
                ],
            ),
            (
                "terminating",
                {
                    let mut p = pod(json!({
                        "phase": "Running",
                        "podIP": "10.244.1.5",
                        "containerStatuses": [running(true, 0), running(true, 0)],
                    }));
                    p["metadata"]["deletionTimestamp"] = json!(ago(5));
                    p
                },
                vec![
                    json!("web-7d4b9c6f5d-x2x8k"),
                    json!("2/2"),
                    json!("Terminating"),
                    json!("0"),
                    json!("5m"),
                    json!("10.244.1.5"),
                    json!("node-1"),
                    json!("<none>"),
                    json!("<none>"),
                ],
            ),
            (
                "node lost",
                {
                    let mut p = pod(json!({
                        "phase": "Running",
                        "reason": "NodeLost",
                        "containerStatuses": [running(true, 0), running(true, 0)],
                    }));
                    p["metadata"]["deletionTimestamp"] = json!(ago(5));
                    p
                },
                vec![
                    json!("web-7d4b9c6f5d-x2x8k"),
                    json!("2/2"),
                    json!("Unknown"),
                    json!("0"),
                    json!("5m"),
                    json!("<none>"),
                    json!("node-1"),
                    json!("<none>"),
                    json!("<none>"),
                ],
            ),
            (
                "evicted",
                pod(
                    json!({"phase": "Failed", "reason": "Evicted", "message": "The node was low on resource: memory."}),
                ),
                vec![
                    json!("web-7d4b9c6f5d-x2x8k"),
                    json!("0/2"),
                    json!("Evicted"),
                    json!("0"),
                    json!("5m"),
                    json!("<none>"),
                    json!("node-1"),
                    json!("<none>"),
                    json!("<none>"),
                ],
            ),
            (
                "exit code and signal without a reason (the first container wins)",
                pod(json!({
                    "phase": "Running",
                    "containerStatuses": [
                        {"name": "app", "restartCount": 0, "state": {"terminated": {"exitCode": 137}}},
                        {"name": "sidecar", "restartCount": 0, "state": {"terminated": {"exitCode": 0, "signal": 9}}}
                    ]
                })),
                vec![
                    json!("web-7d4b9c6f5d-x2x8k"),
                    json!("0/2"),
                    json!("ExitCode:137"),
                    json!("0"),
                    json!("5m"),
                    json!("<none>"),
                    json!("node-1"),
                    json!("<none>"),
                    json!("<none>"),
                ],
            ),
            (
                "one completed, one still running and ready",
                pod(json!({
                    "phase": "Running",
                    "conditions": [{"type": "Ready", "status": "False"}],
                    "containerStatuses": [
                        running(true, 0),
                        {"name": "sidecar", "restartCount": 0, "ready": false,
                         "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
                    ]
                })),
                vec![
                    json!("web-7d4b9c6f5d-x2x8k"),
                    json!("1/2"),
                    json!("NotReady"),
                    json!("0"),
                    json!("5m"),
                    json!("<none>"),
                    json!("node-1"),
                    json!("<none>"),
                    json!("<none>"),
                ],
            ),
            (
                "readiness gates",
                {
                    let mut p = pod(json!({
                        "phase": "Running",
                        "podIPs": [{"ip": "fd00::7"}],
                        "conditions": [
                            {"type": "Ready", "status": "True"},
                            {"type": "example.com/lb", "status": "True"},
                            {"type": "example.com/dns", "status": "False"}
                        ],
                        "containerStatuses": [running(true, 0), running(true, 0)],
                    }));
                    p["spec"]["readinessGates"] = json!([
                        {"conditionType": "example.com/lb"},
                        {"conditionType": "example.com/dns"}
                    ]);
                    p
                },
                vec![
                    json!("web-7d4b9c6f5d-x2x8k"),
                    json!("2/2"),
                    json!("Running"),
                    json!("0"),
                    json!("5m"),
                    json!("fd00::7"),
                    json!("node-1"),
                    json!("<none>"),
                    json!("1/2"),
                ],
            ),
        ];
        for (what, obj, want) in cases {
            assert_eq!(cells("", "Pod", &obj), want, "{what}");
        }
    }

    fn init_pod(init_statuses: Value, conditions: Value) -> Value {
        json!({
            "metadata": meta("init", 60),
            "spec": {
                "initContainers": [{"name": "migrate"}, {"name": "seed"}],
                "containers": [{"name": "app"}]
            },
            "status": {
                "phase": "Pending",
                "conditions": conditions,
                "initContainerStatuses": init_statuses,
                "containerStatuses": [{"name": "app", "ready": false, "restartCount": 0,
                    "state": {"waiting": {"reason": "PodInitializing"}}}]
            }
        })
    }

    #[test]
    fn pod_init_containers() {
        let status_and_restarts = |obj: &Value| {
            let c = cells("", "Pod", obj);
            (c[1].clone(), c[2].clone(), c[3].clone())
        };
        let waiting_init = json!({"name": "migrate", "restartCount": 0,
            "state": {"waiting": {"reason": "PodInitializing"}}});
        let running_init = json!({"name": "migrate", "restartCount": 0,
            "state": {"running": {"startedAt": ago(10)}}});
        let done = json!({"name": "migrate", "restartCount": 0,
            "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}});
        let crash = json!({"name": "seed", "restartCount": 3,
            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(90)}}});
        let failed = json!({"name": "seed", "restartCount": 0,
            "state": {"terminated": {"exitCode": 1, "reason": "Error"}}});
        let failed_no_reason = json!({"name": "seed", "restartCount": 0,
            "state": {"terminated": {"exitCode": 2}}});
        let signaled = json!({"name": "seed", "restartCount": 0,
            "state": {"terminated": {"exitCode": 0, "signal": 15}}});
        let cases: Vec<(Value, (Value, Value, Value))> = vec![
            (
                init_pod(json!([waiting_init.clone()]), json!([])),
                (json!("0/1"), json!("Init:0/2"), json!("0")),
            ),
            (
                init_pod(json!([running_init]), json!([])),
                (json!("0/1"), json!("Init:0/2"), json!("0")),
            ),
            (
                init_pod(json!([done.clone(), crash]), json!([])),
                (
                    json!("0/1"),
                    json!("Init:CrashLoopBackOff"),
                    json!("3 (90s ago)"),
                ),
            ),
            (
                init_pod(json!([done.clone(), failed]), json!([])),
                (json!("0/1"), json!("Init:Error"), json!("0")),
            ),
            (
                init_pod(json!([done.clone(), failed_no_reason]), json!([])),
                (json!("0/1"), json!("Init:ExitCode:2"), json!("0")),
            ),
            (
                // Exit code 0 counts as done whatever the signal.
                init_pod(json!([done.clone(), signaled]), json!([])),
                (json!("0/1"), json!("PodInitializing"), json!("0")),
            ),
            (
                init_pod(
                    json!([done.clone(), {"name": "seed", "restartCount": 0, "state": {"terminated": {"exitCode": 0}}}]),
                    json!([{"type": "Initialized", "status": "True"}]),
                ),
                (json!("0/1"), json!("PodInitializing"), json!("0")),
            ),
        ];
        for (obj, want) in cases {
            assert_eq!(status_and_restarts(&obj), want, "{obj}");
        }
    }

    #[test]
    fn pod_sidecar_containers() {
        let obj = json!({
            "metadata": meta("sc", 600),
            "spec": {
                "initContainers": [
                    {"name": "proxy", "restartPolicy": "Always"},
                    {"name": "setup"}
                ],
                "containers": [{"name": "app"}]
            },
            "status": {
                "phase": "Running",
                "conditions": [
                    {"type": "Initialized", "status": "True"},
                    {"type": "Ready", "status": "True"}
                ],
                "initContainerStatuses": [
                    {"name": "proxy", "ready": true, "started": true, "restartCount": 2,
                     "state": {"running": {}},
                     "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(400)}}},
                    {"name": "setup", "ready": false, "restartCount": 1,
                     "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
                     "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(30)}}}
                ],
                "containerStatuses": [
                    {"name": "app", "ready": true, "restartCount": 0, "state": {"running": {}}}
                ]
            }
        });
        let c = cells("", "Pod", &obj);
        // The sidecar counts as a container; only its restarts are kept once initialized.
        assert_eq!(c[1], json!("2/2"));
        assert_eq!(c[2], json!("Running"));
        assert_eq!(c[3], json!("2 (6m40s ago)"));
    }

    #[test]
    fn pod_row_conditions() {
        let done = pod(json!({"phase": "Succeeded", "containerStatuses": [
            {"name": "app", "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
            {"name": "sidecar", "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
        ]}));
        assert_eq!(cells("", "Pod", &done)[2], json!("Completed"));
        assert_eq!(
            row_conditions("", "Pod", &done),
            Some(
                json!([{"type": "Completed", "status": "True", "reason": "Succeeded",
                "message": "The pod has completed successfully."}])
            )
        );
        let failed = pod(json!({"phase": "Failed"}));
        assert_eq!(
            row_conditions("", "Pod", &failed).unwrap()[0]["reason"],
            "Failed"
        );
        assert_eq!(
            row_conditions("", "Pod", &pod(json!({"phase": "Running"}))),
            None
        );
        assert_eq!(row_conditions("", "ConfigMap", &done), None);
        // A finished pod with a deletionTimestamp is not Terminating.
        let mut deleting = done.clone();
        deleting["metadata"]["deletionTimestamp"] = json!(ago(1));
        assert_eq!(cells("", "Pod", &deleting)[2], json!("Completed"));
    }

    // ----- Workloads

    fn template(containers: Value) -> Value {
        json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": containers}})
    }

    #[test]
    fn workload_rows() {
        let two = json!([
            {"name": "nginx", "image": "nginx:1.25"},
            {"name": "log", "image": "fluent/fluent-bit:3.0"}
        ]);
        let deploy = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": meta("web", 3 * 86_400 + 4 * 3600),
            "spec": {
                "replicas": 3,
                "selector": {
                    "matchLabels": {"app": "web", "tier": "frontend"},
                    "matchExpressions": [
                        {"key": "env", "operator": "In", "values": ["prod", "canary"]},
                        {"key": "legacy", "operator": "DoesNotExist"}
                    ]
                },
                "template": template(two.clone())
            },
            "status": {"replicas": 3, "updatedReplicas": 3, "readyReplicas": 2, "availableReplicas": 2}
        });
        let rs = json!({
            "metadata": meta("web-7d4b9c6f5d", 600),
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web", "pod-template-hash": "7d4b9c6f5d"}},
                     "template": template(json!([{"name": "nginx", "image": "nginx:1.25"}]))},
            "status": {"replicas": 3, "readyReplicas": 1}
        });
        let rc = json!({
            "metadata": meta("legacy", 7200),
            "spec": {"selector": {"app": "legacy"},
                     "template": template(json!([{"name": "nginx", "image": "nginx"}]))},
            "status": {"replicas": 1, "readyReplicas": 1}
        });
        let cases: Vec<(&str, &str, Value, Vec<Value>)> = vec![
            (
                "apps",
                "Deployment",
                deploy,
                vec![
                    json!("web"),
                    json!("2/3"),
                    json!(3),
                    json!(2),
                    json!("3d4h"),
                    json!("nginx,log"),
                    json!("nginx:1.25,fluent/fluent-bit:3.0"),
                    json!("app=web,env in (canary,prod),!legacy,tier=frontend"),
                ],
            ),
            (
                "apps",
                "Deployment",
                json!({"metadata": meta("fresh", 3), "spec": {"template": {}}}),
                vec![
                    json!("fresh"),
                    json!("0/1"),
                    json!(0),
                    json!(0),
                    json!("3s"),
                    json!(""),
                    json!(""),
                    json!(""),
                ],
            ),
            (
                "apps",
                "Deployment",
                json!({"metadata": meta("bad", 3), "spec": {"replicas": 0,
                    "selector": {"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}}}),
                vec![
                    json!("bad"),
                    json!("0/0"),
                    json!(0),
                    json!(0),
                    json!("3s"),
                    json!(""),
                    json!(""),
                    json!("<invalid>"),
                ],
            ),
            (
                "apps",
                "ReplicaSet",
                rs,
                vec![
                    json!("web-7d4b9c6f5d"),
                    json!(3),
                    json!(3),
                    json!(1),
                    json!("10m"),
                    json!("nginx"),
                    json!("nginx:1.25"),
                    json!("app=web,pod-template-hash=7d4b9c6f5d"),
                ],
            ),
            (
                "apps",
                "ReplicaSet",
                json!({"metadata": meta("empty", 10), "spec": {"replicas": 0, "selector": {}}}),
                vec![
                    json!("empty"),
                    json!(0),
                    json!(0),
                    json!(0),
                    json!("10s"),
                    json!(""),
                    json!(""),
                    json!("<none>"),
                ],
            ),
            (
                "",
                "ReplicationController",
                rc,
                vec![
                    json!("legacy"),
                    json!(1),
                    json!(1),
                    json!(1),
                    json!("120m"),
                    json!("nginx"),
                    json!("nginx"),
                    json!("app=legacy"),
                ],
            ),
            (
                "apps",
                "StatefulSet",
                json!({"metadata": meta("db", 86_400), "spec": {"replicas": 3, "template": template(json!([{"name": "pg", "image": "postgres:16"}]))},
                       "status": {"readyReplicas": 3}}),
                vec![
                    json!("db"),
                    json!("3/3"),
                    json!("24h"),
                    json!("pg"),
                    json!("postgres:16"),
                ],
            ),
            (
                "apps",
                "DaemonSet",
                json!({"metadata": meta("fluentd", 9 * 86_400),
                       "spec": {"selector": {"matchLabels": {"name": "fluentd"}},
                                "template": {"spec": {"nodeSelector": {"kubernetes.io/os": "linux"},
                                    "containers": [{"name": "fluentd", "image": "fluentd:v1"}]}}},
                       "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2,
                                  "updatedNumberScheduled": 3, "numberAvailable": 2}}),
                vec![
                    json!("fluentd"),
                    json!(3),
                    json!(3),
                    json!(2),
                    json!(3),
                    json!(2),
                    json!("kubernetes.io/os=linux"),
                    json!("9d"),
                    json!("fluentd"),
                    json!("fluentd:v1"),
                    json!("name=fluentd"),
                ],
            ),
            (
                "batch",
                "Job",
                json!({"metadata": meta("pi", 400),
                       "spec": {"completions": 1, "parallelism": 1,
                                "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "abc"}},
                                "template": {"spec": {"containers": [{"name": "pi", "image": "perl:5.34"}]}}},
                       "status": {"succeeded": 1, "startTime": ago(400), "completionTime": ago(362),
                                  "conditions": [{"type": "SuccessCriteriaMet", "status": "True"},
                                                 {"type": "Complete", "status": "True"}]}}),
                vec![
                    json!("pi"),
                    json!("Complete"),
                    json!("1/1"),
                    json!("38s"),
                    json!("6m40s"),
                    json!("pi"),
                    json!("perl:5.34"),
                    json!("batch.kubernetes.io/controller-uid=abc"),
                ],
            ),
            (
                "batch",
                "Job",
                json!({"metadata": meta("work", 200), "spec": {"parallelism": 3},
                       "status": {"succeeded": 1, "startTime": ago(190)}}),
                vec![
                    json!("work"),
                    json!("Running"),
                    json!("1/1 of 3"),
                    json!("3m10s"),
                    json!("3m20s"),
                    json!(""),
                    json!(""),
                    json!("<none>"),
                ],
            ),
            (
                "batch",
                "CronJob",
                json!({"metadata": meta("hello", 3600),
                       "spec": {"schedule": "*/5 * * * *", "suspend": false,
                                "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "hello", "image": "busybox:1.28"}]}}}}},
                       "status": {"active": [{"name": "hello-1"}], "lastScheduleTime": ago(125)}}),
                vec![
                    json!("hello"),
                    json!("*/5 * * * *"),
                    json!("<none>"),
                    json!("False"),
                    json!(1),
                    json!("2m5s"),
                    json!("60m"),
                    json!("hello"),
                    json!("busybox:1.28"),
                    json!("<none>"),
                ],
            ),
        ];
        for (g, k, obj, want) in cases {
            assert_eq!(cells(g, k, &obj), want, "{k} {}", obj["metadata"]["name"]);
        }
    }

    // ----- Services, endpoints

    fn svc(spec: Value, status: Value) -> Value {
        json!({"metadata": meta("web", 120), "spec": spec, "status": status})
    }

    #[test]
    fn service_rows() {
        let cases: Vec<(Value, Vec<Value>)> = vec![
            (
                svc(
                    json!({"type": "ClusterIP", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                           "selector": {"k8s-app": "kube-dns"},
                           "ports": [{"name": "dns", "port": 53, "protocol": "UDP"},
                                     {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
                                     {"name": "metrics", "port": 9153}]}),
                    json!({}),
                ),
                vec![
                    json!("web"),
                    json!("ClusterIP"),
                    json!("10.96.0.10"),
                    json!("<none>"),
                    json!("53/UDP,53/TCP,9153/TCP"),
                    json!("2m"),
                    json!("k8s-app=kube-dns"),
                ],
            ),
            (
                svc(
                    json!({"type": "NodePort", "clusterIP": "10.96.12.7",
                           "ports": [{"port": 80, "targetPort": 8080, "nodePort": 30080, "protocol": "TCP"}],
                           "selector": {"app": "web", "tier": "fe"}, "externalIPs": ["192.0.2.10"]}),
                    json!({}),
                ),
                vec![
                    json!("web"),
                    json!("NodePort"),
                    json!("10.96.12.7"),
                    json!("192.0.2.10"),
                    json!("80:30080/TCP"),
                    json!("2m"),
                    json!("app=web,tier=fe"),
                ],
            ),
            (
                svc(
                    json!({"type": "LoadBalancer", "clusterIPs": ["10.96.1.1"],
                           "ports": [{"port": 443, "nodePort": 31443, "protocol": "TCP"}]}),
                    json!({"loadBalancer": {}}),
                ),
                vec![
                    json!("web"),
                    json!("LoadBalancer"),
                    json!("10.96.1.1"),
                    json!("<pending>"),
                    json!("443:31443/TCP"),
                    json!("2m"),
                    json!("<none>"),
                ],
            ),
            (
                svc(
                    json!({"type": "LoadBalancer", "clusterIPs": ["10.96.1.1"], "externalIPs": ["198.51.100.9"],
                           "ports": [{"port": 443, "nodePort": 31443, "protocol": "TCP"}]}),
                    json!({"loadBalancer": {"ingress": [
                        {"hostname": "a1b2c3d4e5f6a7b8c9d0.elb.us-east-1.amazonaws.com"},
                        {"ip": "203.0.113.7"}]}}),
                ),
                vec![
                    json!("web"),
                    json!("LoadBalancer"),
                    json!("10.96.1.1"),
                    json!(
                        "203.0.113.7,a1b2c3d4e5f6a7b8c9d0.elb.us-east-1.amazonaws.com,198.51.100.9"
                    ),
                    json!("443:31443/TCP"),
                    json!("2m"),
                    json!("<none>"),
                ],
            ),
            (
                svc(
                    json!({"type": "ExternalName", "externalName": "db.example.com"}),
                    json!({}),
                ),
                vec![
                    json!("web"),
                    json!("ExternalName"),
                    json!("<none>"),
                    json!("db.example.com"),
                    json!("<none>"),
                    json!("2m"),
                    json!("<none>"),
                ],
            ),
            (
                svc(
                    json!({"clusterIP": "None", "clusterIPs": ["None"], "selector": {"app": "db"},
                           "ports": [{"port": 5432}]}),
                    json!({}),
                ),
                vec![
                    json!("web"),
                    json!("ClusterIP"),
                    json!("None"),
                    json!("<none>"),
                    json!("5432/TCP"),
                    json!("2m"),
                    json!("app=db"),
                ],
            ),
        ];
        for (obj, want) in cases {
            assert_eq!(cells("", "Service", &obj), want, "{obj}");
        }
    }

    #[test]
    fn endpoints_rows() {
        let ep = |subsets: Value| json!({"metadata": meta("web", 60), "subsets": subsets});
        let addr = |ips: &[&str]| -> Value { ips.iter().map(|ip| json!({"ip": ip})).collect() };
        let cases: Vec<(Value, &str)> = vec![
            (ep(json!(null)), "<none>"),
            (ep(json!([])), "<none>"),
            (
                ep(
                    json!([{"addresses": addr(&["10.244.1.5", "10.244.2.7"]), "ports": [{"port": 8080, "protocol": "TCP"}]}]),
                ),
                "10.244.1.5:8080,10.244.2.7:8080",
            ),
            (
                ep(json!([{"addresses": addr(&["10.0.0.1", "10.0.0.2"]),
                           "ports": [{"name": "http", "port": 80}, {"name": "https", "port": 443}]}])),
                "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...",
            ),
            (
                ep(json!([
                    {"addresses": addr(&["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]), "ports": [{"port": 80}]},
                    {"addresses": addr(&["10.0.1.1"]), "ports": [{"port": 81}]}
                ])),
                "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 2 more...",
            ),
            (
                ep(json!([{"addresses": addr(&["fd00::1"]), "ports": [{"port": 80}]}])),
                "[fd00::1]:80",
            ),
            (ep(json!([{"addresses": addr(&["10.0.0.9"])}])), "10.0.0.9"),
            (
                ep(json!([{"notReadyAddresses": addr(&["10.0.0.9"]), "ports": [{"port": 80}]}])),
                "",
            ),
        ];
        for (obj, want) in cases {
            assert_eq!(
                cells("", "Endpoints", &obj),
                vec![json!("web"), json!(want), json!("60s")],
                "{obj}"
            );
        }
    }

    #[test]
    fn endpoint_slice_rows() {
        let obj = json!({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": meta("web-abc12", 3000),
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": 80, "protocol": "TCP"}, {"name": "named"}, {}, {"port": 9090}],
            "endpoints": [
                {"addresses": ["10.244.1.5"], "conditions": {"ready": true}},
                {"addresses": ["10.244.2.7"], "conditions": {"ready": false}}
            ]
        });
        assert_eq!(
            cells("discovery.k8s.io", "EndpointSlice", &obj),
            vec![
                json!("web-abc12"),
                json!("IPv4"),
                json!("80,named,* + 1 more..."),
                json!("10.244.1.5,10.244.2.7"),
                json!("50m"),
            ]
        );
        let empty = json!({"metadata": meta("e", 3000), "addressType": "IPv6", "ports": null, "endpoints": []});
        assert_eq!(
            cells("discovery.k8s.io", "EndpointSlice", &empty),
            vec![
                json!("e"),
                json!("IPv6"),
                json!("<unset>"),
                json!("<unset>"),
                json!("50m")
            ]
        );
    }

    // ----- Nodes, namespaces

    #[test]
    fn node_rows() {
        let node = json!({
            "metadata": {
                "name": "kind-control-plane",
                "creationTimestamp": ago(10 * 86_400),
                "labels": {
                    "kubernetes.io/hostname": "kind-control-plane",
                    "node-role.kubernetes.io/control-plane": "",
                    "node-role.kubernetes.io/etcd": "true",
                    "kubernetes.io/role": "master"
                }
            },
            "spec": {"unschedulable": true},
            "status": {
                "conditions": [
                    {"type": "MemoryPressure", "status": "False"},
                    {"type": "Ready", "status": "True", "reason": "KubeletReady"}
                ],
                "addresses": [
                    {"type": "InternalIP", "address": "172.18.0.2"},
                    {"type": "Hostname", "address": "kind-control-plane"}
                ],
                "nodeInfo": {
                    "kubeletVersion": "v1.33.1",
                    "osImage": "Debian GNU/Linux 12 (bookworm)",
                    "kernelVersion": "6.8.0-31-generic",
                    "containerRuntimeVersion": "containerd://2.1.1"
                }
            }
        });
        assert_eq!(
            cells("", "Node", &node),
            vec![
                json!("kind-control-plane"),
                json!("Ready,SchedulingDisabled"),
                json!("control-plane,etcd,master"),
                json!("10d"),
                json!("v1.33.1"),
                json!("172.18.0.2"),
                json!("<none>"),
                json!("Debian GNU/Linux 12 (bookworm)"),
                json!("6.8.0-31-generic"),
                json!("containerd://2.1.1"),
            ]
        );
        let worker = json!({
            "metadata": {"name": "w1", "creationTimestamp": ago(3600)},
            "status": {"conditions": [{"type": "Ready", "status": "Unknown"}],
                       "addresses": [{"type": "ExternalIP", "address": "203.0.113.5"}]}
        });
        assert_eq!(
            cells("", "Node", &worker),
            vec![
                json!("w1"),
                json!("NotReady"),
                json!("<none>"),
                json!("60m"),
                json!(""),
                json!("<none>"),
                json!("203.0.113.5"),
                json!("<unknown>"),
                json!("<unknown>"),
                json!("<unknown>"),
            ]
        );
        let new = json!({"metadata": {"name": "n"}});
        assert_eq!(cells("", "Node", &new)[1], json!("Unknown"));
        assert_eq!(cells("", "Node", &new)[3], json!("<unknown>"));
    }

    #[test]
    fn simple_core_rows() {
        let ns = json!({"metadata": {"name": "kube-system", "creationTimestamp": ago(90_000)},
                        "status": {"phase": "Active"}});
        assert_eq!(
            cells("", "Namespace", &ns),
            vec![json!("kube-system"), json!("Active"), json!("25h")]
        );
        let terminating = json!({"metadata": {"name": "old", "creationTimestamp": ago(60)},
                                 "status": {"phase": "Terminating"}});
        assert_eq!(
            cells("", "Namespace", &terminating)[1],
            json!("Terminating")
        );

        let cm = json!({"metadata": meta("kube-root-ca.crt", 200),
                        "data": {"ca.crt": "-----BEGIN CERTIFICATE-----"}, "binaryData": {"x": "AA=="}});
        assert_eq!(
            cells("", "ConfigMap", &cm),
            vec![json!("kube-root-ca.crt"), json!(2), json!("3m20s")]
        );
        let empty_cm = json!({"metadata": meta("empty", 200)});
        assert_eq!(cells("", "ConfigMap", &empty_cm)[1], json!(0));

        let secret = json!({"metadata": meta("tls", 200), "type": "kubernetes.io/tls",
                            "data": {"tls.crt": "QQ==", "tls.key": "Qg=="}});
        assert_eq!(
            cells("", "Secret", &secret),
            vec![
                json!("tls"),
                json!("kubernetes.io/tls"),
                json!(2),
                json!("3m20s")
            ]
        );
        let opaque =
            json!({"metadata": meta("o", 200), "stringData": {"a": "b"}, "data": {"a": "Yg=="}});
        assert_eq!(
            cells("", "Secret", &opaque),
            vec![json!("o"), json!("Opaque"), json!(1), json!("3m20s")]
        );

        let sa = json!({"metadata": meta("default", 200)});
        assert_eq!(
            cells("", "ServiceAccount", &sa),
            vec![json!("default"), json!(0), json!("3m20s")]
        );
        let sa2 = json!({"metadata": meta("builder", 200), "secrets": [{"name": "builder-token"}]});
        assert_eq!(cells("", "ServiceAccount", &sa2)[1], json!(1));

        let lease = json!({"metadata": meta("kube-scheduler", 4000),
                           "spec": {"holderIdentity": "node-1_4f7c", "leaseDurationSeconds": 15}});
        assert_eq!(
            cells("coordination.k8s.io", "Lease", &lease),
            vec![json!("kube-scheduler"), json!("node-1_4f7c"), json!("66m")]
        );
        let free = json!({"metadata": meta("free", 4000), "spec": {}});
        assert_eq!(cells("coordination.k8s.io", "Lease", &free)[1], json!(""));
    }

    // ----- Events

    #[test]
    fn event_rows() {
        let core = json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": meta("web-7d4b9c6f5d-x2x8k.17d3f0a1b2c3d4e5", 600),
            "involvedObject": {"kind": "Pod", "namespace": "default", "name": "web-7d4b9c6f5d-x2x8k",
                               "fieldPath": "spec.containers{app}"},
            "reason": "BackOff",
            "message": "Back-off restarting failed container app in pod web\n",
            "source": {"component": "kubelet", "host": "node-1"},
            "firstTimestamp": ago(600),
            "lastTimestamp": ago(30),
            "count": 12,
            "type": "Warning",
            "eventTime": null,
            "reportingComponent": "kubelet",
            "reportingInstance": "node-1"
        });
        assert_eq!(
            cells("", "Event", &core),
            vec![
                json!("30s"),
                json!("Warning"),
                json!("BackOff"),
                json!("pod/web-7d4b9c6f5d-x2x8k"),
                json!("spec.containers{app}"),
                json!("kubelet, node-1"),
                json!("Back-off restarting failed container app in pod web"),
                json!("10m"),
                json!(12),
                json!("web-7d4b9c6f5d-x2x8k.17d3f0a1b2c3d4e5"),
            ]
        );
        // A new-style event (eventTime, series, reporting controller), in core form ...
        let new_core = json!({
            "metadata": meta("deploy.1", 900),
            "involvedObject": {"kind": "Deployment", "name": "web"},
            "reason": "ScalingReplicaSet", "message": "Scaled up replica set web-7d4b9c6f5d to 3",
            "type": "Normal",
            "eventTime": "2024-06-01T11:45:00.000000Z",
            "series": {"count": 4, "lastObservedTime": "2024-06-01T11:58:00.123456Z"},
            "reportingComponent": "deployment-controller",
            "reportingController": "deployment-controller",
            "reportingInstance": "",
            "source": {}
        });
        let want = vec![
            json!("119s"),
            json!("Normal"),
            json!("ScalingReplicaSet"),
            json!("deployment/web"),
            json!(""),
            json!("deployment-controller"),
            json!("Scaled up replica set web-7d4b9c6f5d to 3"),
            json!("15m"),
            json!(4),
            json!("deploy.1"),
        ];
        assert_eq!(cells("", "Event", &new_core), want);
        // ... and as events.k8s.io/v1 shows it.
        let v1 = json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": meta("deploy.1", 900),
            "regarding": {"kind": "Deployment", "name": "web"},
            "reason": "ScalingReplicaSet", "note": "Scaled up replica set web-7d4b9c6f5d to 3",
            "type": "Normal",
            "eventTime": "2024-06-01T11:45:00.000000Z",
            "series": {"count": 4, "lastObservedTime": "2024-06-01T11:58:00.123456Z"},
            "reportingController": "deployment-controller",
            "reportingInstance": ""
        });
        assert_eq!(cells("events.k8s.io", "Event", &v1), want);
        // events.k8s.io with the deprecated legacy fields, and no name.
        let legacy_v1 = json!({
            "metadata": meta("x", 60),
            "regarding": {"kind": "Node"},
            "deprecatedSource": {"component": "kubelet", "host": "node-1"},
            "deprecatedFirstTimestamp": ago(60), "deprecatedCount": 0,
            "eventTime": null, "note": "  Starting kubelet.  ", "reason": "Starting", "type": "Normal"
        });
        assert_eq!(
            cells("events.k8s.io", "Event", &legacy_v1),
            vec![
                json!("60s"),
                json!("Normal"),
                json!("Starting"),
                json!("node"),
                json!(""),
                json!("kubelet, node-1"),
                json!("Starting kubelet."),
                json!("60s"),
                json!(1),
                json!("x"),
            ]
        );
        // No timestamps at all.
        let bare = json!({"metadata": {"name": "b"}});
        let c = cells("", "Event", &bare);
        assert_eq!(c[0], json!("<unknown>"));
        assert_eq!(c[7], json!("<unknown>"));
        assert_eq!(c[8], json!(1));
    }

    // ----- Other built-ins

    #[test]
    fn other_builtin_rows() {
        let cases: Vec<(&str, &str, Value, Vec<Value>)> = vec![
            (
                "policy",
                "PodDisruptionBudget",
                json!({"metadata": meta("web-pdb", 60), "spec": {"minAvailable": "50%"},
                       "status": {"disruptionsAllowed": 1}}),
                vec![
                    json!("web-pdb"),
                    json!("50%"),
                    json!("N/A"),
                    json!(1),
                    json!("60s"),
                ],
            ),
            (
                "",
                "PersistentVolumeClaim",
                json!({"metadata": meta("data", 60),
                       "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "standard",
                                "volumeName": "pvc-1", "volumeMode": "Filesystem",
                                "resources": {"requests": {"storage": "1Gi"}}},
                       "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce", "ReadWriteOncePod"],
                                  "capacity": {"storage": "1Gi"}}}),
                vec![
                    json!("data"),
                    json!("Bound"),
                    json!("pvc-1"),
                    json!("1Gi"),
                    json!("RWO,RWOP"),
                    json!("standard"),
                    json!("<unset>"),
                    json!("60s"),
                    json!("Filesystem"),
                ],
            ),
            (
                "",
                "PersistentVolume",
                json!({"metadata": meta("pvc-1", 60),
                       "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                                "persistentVolumeReclaimPolicy": "Delete", "storageClassName": "standard",
                                "claimRef": {"namespace": "default", "name": "data"}},
                       "status": {"phase": "Bound"}}),
                vec![
                    json!("pvc-1"),
                    json!("1Gi"),
                    json!("RWO"),
                    json!("Delete"),
                    json!("Bound"),
                    json!("default/data"),
                    json!("standard"),
                    json!("<unset>"),
                    json!(""),
                    json!("60s"),
                    json!("<unset>"),
                ],
            ),
            (
                "storage.k8s.io",
                "StorageClass",
                json!({"metadata": {"name": "standard", "creationTimestamp": ago(60),
                          "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
                       "provisioner": "rancher.io/local-path", "volumeBindingMode": "WaitForFirstConsumer"}),
                vec![
                    json!("standard (default)"),
                    json!("rancher.io/local-path"),
                    json!("Delete"),
                    json!("WaitForFirstConsumer"),
                    json!(false),
                    json!("60s"),
                ],
            ),
            (
                "rbac.authorization.k8s.io",
                "ClusterRoleBinding",
                json!({"metadata": {"name": "admins", "creationTimestamp": ago(60)},
                       "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                       "subjects": [{"kind": "Group", "name": "system:masters"},
                                    {"kind": "User", "name": "alice"}, {"kind": "User", "name": "bob"},
                                    {"kind": "ServiceAccount", "name": "ci", "namespace": "build"}]}),
                vec![
                    json!("admins"),
                    json!("ClusterRole/cluster-admin"),
                    json!("60s"),
                    json!("alice, bob"),
                    json!("system:masters"),
                    json!("build/ci"),
                ],
            ),
            (
                "networking.k8s.io",
                "Ingress",
                json!({"metadata": meta("web", 60),
                       "spec": {"ingressClassName": "nginx", "tls": [{"hosts": ["a.example.com"]}],
                                "rules": [{"host": "a.example.com"}, {"host": "b.example.com"}, {},
                                          {"host": "c.example.com"}, {"host": "d.example.com"}]},
                       "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}]}}}),
                vec![
                    json!("web"),
                    json!("nginx"),
                    json!("a.example.com,b.example.com,c.example.com + 2 more..."),
                    json!("203.0.113.9"),
                    json!("80, 443"),
                    json!("60s"),
                ],
            ),
            (
                "networking.k8s.io",
                "NetworkPolicy",
                json!({"metadata": meta("deny-all", 60), "spec": {"podSelector": {}}}),
                vec![json!("deny-all"), json!("<none>"), json!("60s")],
            ),
            (
                "autoscaling",
                "HorizontalPodAutoscaler",
                json!({"metadata": meta("web", 60),
                "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                         "minReplicas": 1, "maxReplicas": 10,
                         "metrics": [
                             {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}},
                             {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "500Mi"}}},
                             {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "1k"}}}
                         ]},
                "status": {"currentReplicas": 2, "currentMetrics": [
                    {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 23, "averageValue": "115m"}}}
                ]}}),
                vec![
                    json!("web"),
                    json!("Deployment/web"),
                    json!("cpu: 23%/50%, memory: <unknown>/500Mi + 1 more..."),
                    json!("1"),
                    json!(10),
                    json!(2),
                    json!("60s"),
                ],
            ),
            (
                "certificates.k8s.io",
                "CertificateSigningRequest",
                json!({"metadata": {"name": "csr-abc", "creationTimestamp": ago(60)},
                       "spec": {"signerName": "kubernetes.io/kube-apiserver-client-kubelet",
                                "username": "system:node:node-1", "expirationSeconds": 86400},
                       "status": {"conditions": [{"type": "Approved", "status": "True"}], "certificate": "LS0t"}}),
                vec![
                    json!("csr-abc"),
                    json!("60s"),
                    json!("kubernetes.io/kube-apiserver-client-kubelet"),
                    json!("system:node:node-1"),
                    json!("24h"),
                    json!("Approved,Issued"),
                ],
            ),
            (
                "apps",
                "ControllerRevision",
                json!({"metadata": {"name": "fluentd-5d8f7c9b6", "creationTimestamp": ago(60),
                          "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "fluentd", "controller": true}]},
                       "revision": 2}),
                vec![
                    json!("fluentd-5d8f7c9b6"),
                    json!("daemonset.apps/fluentd"),
                    json!(2),
                    json!("60s"),
                ],
            ),
            (
                "",
                "ResourceQuota",
                json!({"metadata": meta("quota", 60),
                       "status": {"hard": {"pods": "10", "limits.cpu": "4", "requests.cpu": "2", "limits.memory": "4Gi"},
                                  "used": {"pods": "3", "limits.cpu": "500m", "requests.cpu": "250m"}}}),
                vec![
                    json!("quota"),
                    json!("pods: 3/10, requests.cpu: 250m/2"),
                    json!("limits.cpu: 500m/4, limits.memory: 0/4Gi"),
                    json!("60s"),
                ],
            ),
            (
                "scheduling.k8s.io",
                "PriorityClass",
                json!({"metadata": {"name": "system-node-critical", "creationTimestamp": ago(60)},
                       "value": 2000001000, "preemptionPolicy": "PreemptLowerPriority"}),
                vec![
                    json!("system-node-critical"),
                    json!(2_000_001_000),
                    json!(false),
                    json!("60s"),
                    json!("PreemptLowerPriority"),
                ],
            ),
            (
                "admissionregistration.k8s.io",
                "ValidatingWebhookConfiguration",
                json!({"metadata": {"name": "vwc", "creationTimestamp": ago(60)}, "webhooks": [{}, {}]}),
                vec![json!("vwc"), json!(2), json!("60s")],
            ),
            (
                "storage.k8s.io",
                "CSIDriver",
                json!({"metadata": {"name": "ebs.csi.aws.com", "creationTimestamp": ago(60)},
                       "spec": {"attachRequired": true, "volumeLifecycleModes": ["Persistent"]}}),
                vec![
                    json!("ebs.csi.aws.com"),
                    json!(true),
                    json!(false),
                    json!(false),
                    json!("<unset>"),
                    json!(false),
                    json!("Persistent"),
                    json!("60s"),
                ],
            ),
            (
                "flowcontrol.apiserver.k8s.io",
                "PriorityLevelConfiguration",
                json!({"metadata": {"name": "workload-low", "creationTimestamp": ago(60)},
                       "spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 100,
                           "limitResponse": {"type": "Queue", "queuing": {"queues": 128, "handSize": 6, "queueLengthLimit": 50}}}}}),
                vec![
                    json!("workload-low"),
                    json!("Limited"),
                    json!(100),
                    json!(128),
                    json!(6),
                    json!(50),
                    json!("60s"),
                ],
            ),
            (
                "flowcontrol.apiserver.k8s.io",
                "PriorityLevelConfiguration",
                json!({"metadata": {"name": "exempt", "creationTimestamp": ago(60)}, "spec": {"type": "Exempt"}}),
                vec![
                    json!("exempt"),
                    json!("Exempt"),
                    json!("<none>"),
                    json!("<none>"),
                    json!("<none>"),
                    json!("<none>"),
                    json!("60s"),
                ],
            ),
        ];
        for (g, k, obj, want) in cases {
            assert_eq!(cells(g, k, &obj), want, "{k}");
        }
    }

    #[test]
    fn default_and_custom_rows() {
        let role =
            json!({"metadata": {"name": "admin", "creationTimestamp": "2024-05-01T08:30:00Z"}});
        assert_eq!(
            cells("rbac.authorization.k8s.io", "ClusterRole", &role),
            vec![json!("admin"), json!("2024-05-01T08:30:00Z")]
        );
        let offset =
            json!({"metadata": {"name": "x", "creationTimestamp": "2024-05-01T10:30:00.5+02:00"}});
        assert_eq!(
            cells("", "LimitRange", &offset),
            vec![json!("x"), json!("2024-05-01T08:30:00Z")]
        );
        assert_eq!(
            cells("", "LimitRange", &json!({})),
            vec![json!(""), json!("0001-01-01T00:00:00Z")]
        );

        let widget =
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": meta("w", 7200)});
        assert_eq!(
            cells("example.com", "Widget", &widget),
            vec![json!("w"), json!("120m")]
        );
        assert_eq!(
            cells("example.com", "Widget", &json!({"metadata": {"name": "w"}})),
            vec![json!("w"), Value::Null]
        );
        assert_eq!(
            cells(
                "example.com",
                "Widget",
                &json!({"metadata": {"name": "w", "creationTimestamp": "yesterday"}})
            ),
            vec![json!("w"), json!("<invalid>")]
        );
        // A CRD group that merely ends in .k8s.io is still custom.
        assert_eq!(
            names("gateway.networking.k8s.io", "Gateway"),
            vec![("Name", "string", 0), ("Age", "date", 0)]
        );
    }

    /// Every printer yields one cell per column, and none panics whatever the object holds.
    #[test]
    fn malformed_objects_never_panic() {
        let kinds: &[(&str, &str)] = &[
            ("", "Pod"),
            ("", "PodTemplate"),
            ("policy", "PodDisruptionBudget"),
            ("", "ReplicationController"),
            ("apps", "ReplicaSet"),
            ("apps", "DaemonSet"),
            ("apps", "Deployment"),
            ("apps", "StatefulSet"),
            ("apps", "ControllerRevision"),
            ("batch", "Job"),
            ("batch", "CronJob"),
            ("", "Service"),
            ("networking.k8s.io", "Ingress"),
            ("networking.k8s.io", "IngressClass"),
            ("networking.k8s.io", "NetworkPolicy"),
            ("networking.k8s.io", "ServiceCIDR"),
            ("", "Endpoints"),
            ("", "Node"),
            ("", "Event"),
            ("events.k8s.io", "Event"),
            ("", "Namespace"),
            ("", "Secret"),
            ("", "ServiceAccount"),
            ("", "PersistentVolume"),
            ("", "PersistentVolumeClaim"),
            ("", "ComponentStatus"),
            ("", "ConfigMap"),
            ("", "ResourceQuota"),
            ("", "LimitRange"),
            ("autoscaling", "HorizontalPodAutoscaler"),
            ("rbac.authorization.k8s.io", "RoleBinding"),
            ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
            ("rbac.authorization.k8s.io", "Role"),
            ("certificates.k8s.io", "CertificateSigningRequest"),
            ("certificates.k8s.io", "ClusterTrustBundle"),
            ("coordination.k8s.io", "Lease"),
            ("coordination.k8s.io", "LeaseCandidate"),
            ("storage.k8s.io", "StorageClass"),
            ("storage.k8s.io", "VolumeAttributesClass"),
            ("storage.k8s.io", "VolumeAttachment"),
            ("storage.k8s.io", "CSINode"),
            ("storage.k8s.io", "CSIDriver"),
            ("storage.k8s.io", "CSIStorageCapacity"),
            ("scheduling.k8s.io", "PriorityClass"),
            ("node.k8s.io", "RuntimeClass"),
            ("discovery.k8s.io", "EndpointSlice"),
            (
                "admissionregistration.k8s.io",
                "MutatingWebhookConfiguration",
            ),
            ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
            ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
            (
                "admissionregistration.k8s.io",
                "ValidatingAdmissionPolicyBinding",
            ),
            ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
            ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
            ("internal.apiserver.k8s.io", "StorageVersion"),
            ("resource.k8s.io", "DeviceClass"),
            ("resource.k8s.io", "ResourceClaim"),
            ("resource.k8s.io", "ResourceClaimTemplate"),
            ("resource.k8s.io", "ResourceSlice"),
            ("storagemigration.k8s.io", "StorageVersionMigration"),
            ("apiextensions.k8s.io", "CustomResourceDefinition"),
            ("example.com", "Widget"),
        ];
        let odd_values = [
            json!(null),
            json!(7),
            json!("s"),
            json!(true),
            json!([1, "x", null, {"a": 1}]),
            json!({"x": [null]}),
            json!(-1.5),
            json!(u64::MAX),
        ];
        let fields = [
            "metadata",
            "spec",
            "status",
            "subsets",
            "data",
            "binaryData",
            "secrets",
            "ports",
            "endpoints",
            "involvedObject",
            "regarding",
            "series",
            "source",
            "count",
            "type",
            "addressType",
            "roleRef",
            "subjects",
            "webhooks",
            "value",
            "revision",
            "conditions",
            "firstTimestamp",
            "lastTimestamp",
            "eventTime",
            "message",
            "note",
            "reason",
            "provisioner",
            "capacity",
            "driverName",
        ];
        let mut objects = vec![json!(null), json!([]), json!("pod"), json!({})];
        for v in &odd_values {
            let mut whole = Map::new();
            for f in fields {
                whole.insert(f.to_string(), v.clone());
            }
            objects.push(Value::Object(whole));
            // Odd values one level down too.
            let inner: Map<String, Value> = [
                "name",
                "creationTimestamp",
                "deletionTimestamp",
                "labels",
                "annotations",
                "ownerReferences",
                "containers",
                "initContainers",
                "containerStatuses",
                "initContainerStatuses",
                "conditions",
                "phase",
                "replicas",
                "selector",
                "template",
                "podIPs",
                "addresses",
                "nodeInfo",
                "metrics",
                "currentMetrics",
                "hard",
                "used",
                "limited",
                "clusterIPs",
                "externalIPs",
                "loadBalancer",
                "readinessGates",
                "claimRef",
                "jobTemplate",
                "parentRef",
                "paramRef",
                "paramKind",
                "storageVersions",
                "allocation",
                "tokenRequests",
                "lastScheduleTime",
                "startTime",
                "completionTime",
            ]
            .iter()
            .map(|k| (k.to_string(), v.clone()))
            .collect();
            let mut nested = Map::new();
            for f in ["metadata", "spec", "status"] {
                nested.insert(f.to_string(), Value::Object(inner.clone()));
            }
            objects.push(Value::Object(nested));
        }
        // Well-shaped containers whose items are odd.
        objects.push(json!({
            "spec": {"containers": [null, 1, {"name": 5}], "initContainers": [{"name": "i", "restartPolicy": "Always"}],
                     "selector": {"matchLabels": {"a": 1}, "matchExpressions": [null, {"operator": "In"}]},
                     "metrics": [null, {"type": "External"}, {"type": "Object", "object": {"target": {"averageValue": 3}}}]},
            "status": {"containerStatuses": [null, {"state": {"terminated": null, "waiting": {"reason": 3}}}],
                       "initContainerStatuses": [{"name": "i", "state": {"terminated": {"exitCode": "x"}}}],
                       "currentMetrics": [null, 1]},
            "subsets": [null, {"addresses": [null, 3], "ports": [null]}],
        }));
        for (g, k) in kinds {
            let ncols = columns_for(g, k).len();
            for obj in &objects {
                let c = row_cells(g, k, obj, now());
                if *k != "IPAddress" {
                    assert_eq!(c.len(), ncols, "{g}/{k} on {obj}");
                }
                let t = table(g, k, &[(obj, IncludeObject::Metadata)], true, Map::new());
                assert_eq!(
                    t["rows"][0]["cells"].as_array().map(Vec::len),
                    Some(c.len())
                );
            }
        }
        // IPAddress keeps upstream's extra age cell.
        assert_eq!(columns_for("networking.k8s.io", "IPAddress").len(), 2);
        assert_eq!(
            cells(
                "networking.k8s.io",
                "IPAddress",
                &json!({"metadata": meta("10.96.0.1", 60),
                        "spec": {"parentRef": {"group": "", "resource": "services", "namespace": "default", "name": "kubernetes"}}})
            ),
            vec![
                json!("10.96.0.1"),
                json!("services/default/kubernetes"),
                json!("60s")
            ]
        );
    }

    // ----- Whole tables

    #[test]
    fn table_shapes() {
        let cm = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "namespace": "default", "resourceVersion": "7",
                         "creationTimestamp": ago(60), "labels": {"x": "y"}},
            "data": {"k": "v"}
        });
        let mut list_meta = Map::new();
        list_meta.insert("resourceVersion".into(), json!("42"));
        list_meta.insert("continue".into(), json!("tok"));
        let t = table_at(
            META_V1,
            "",
            "ConfigMap",
            &[
                (&cm, IncludeObject::Metadata),
                (&cm, IncludeObject::Object),
                (&cm, IncludeObject::None),
            ],
            true,
            list_meta,
            now(),
        );
        assert_eq!(
            t,
            json!({
                "kind": "Table",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": {"resourceVersion": "42", "continue": "tok"},
                "columnDefinitions": column_definitions("", "ConfigMap"),
                "rows": [
                    {"cells": ["a", 1, "60s"], "object": {
                        "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                        "metadata": cm["metadata"].clone()}},
                    {"cells": ["a", 1, "60s"], "object": cm.clone()},
                    {"cells": ["a", 1, "60s"], "object": null},
                ]
            })
        );

        // A watch event after the first: no column definitions; v1beta1 tables.
        let t = table_at(
            "meta.k8s.io/v1beta1",
            "",
            "ConfigMap",
            &[(&cm, IncludeObject::Metadata)],
            false,
            Map::new(),
            now(),
        );
        assert_eq!(t["columnDefinitions"], Value::Null);
        assert_eq!(t["apiVersion"], "meta.k8s.io/v1beta1");
        assert_eq!(t["rows"][0]["object"]["apiVersion"], "meta.k8s.io/v1beta1");
        assert_eq!(t["metadata"], json!({}));

        // Empty lists have rows: [].
        let t = table("", "Pod", &[], true, Map::new());
        assert_eq!(t["rows"], json!([]));
        assert_eq!(t["columnDefinitions"].as_array().map(Vec::len), Some(9));

        // Finished pods carry row conditions.
        let done = pod(json!({"phase": "Succeeded"}));
        let t = table("", "Pod", &[(&done, IncludeObject::None)], true, Map::new());
        assert_eq!(t["rows"][0]["conditions"][0]["type"], "Completed");

        // FlowSchemas come sorted by precedence, then name.
        let fs = |n: &str, p: i64| {
            json!({"metadata": {"name": n, "creationTimestamp": ago(60)},
                   "spec": {"matchingPrecedence": p, "priorityLevelConfiguration": {"name": "global-default"}}})
        };
        let (a, b, c) = (fs("z", 100), fs("b", 9000), fs("a", 9000));
        let t = table_at(
            META_V1,
            "flowcontrol.apiserver.k8s.io",
            "FlowSchema",
            &[
                (&b, IncludeObject::None),
                (&a, IncludeObject::None),
                (&c, IncludeObject::None),
            ],
            true,
            Map::new(),
            now(),
        );
        let order: Vec<&str> = t["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["cells"][0].as_str().unwrap())
            .collect();
        assert_eq!(order, ["z", "a", "b"]);
        assert_eq!(
            t["rows"][0]["cells"],
            json!(["z", "global-default", 100, "<none>", "60s", "?"])
        );
    }

    #[test]
    fn partial_object_metadata_forms() {
        let obj = json!({"apiVersion": "v1", "kind": "Pod",
                         "metadata": {"name": "p", "namespace": "default", "resourceVersion": "5",
                                      "managedFields": [{"manager": "kubectl"}]},
                         "spec": {"containers": []}});
        assert_eq!(
            partial_object_metadata(&obj),
            json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                   "metadata": obj["metadata"].clone()})
        );
        assert_eq!(
            partial_object_metadata(&json!("junk")),
            json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": {}})
        );
        let mut list_meta = Map::new();
        list_meta.insert("resourceVersion".into(), json!("9"));
        let l = partial_object_metadata_list(&[&obj, &obj], list_meta.clone());
        assert_eq!(l["kind"], "PartialObjectMetadataList");
        assert_eq!(l["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(l["metadata"], json!({"resourceVersion": "9"}));
        assert_eq!(l["items"].as_array().map(Vec::len), Some(2));
        assert_eq!(l["items"][1], partial_object_metadata(&obj));
        let empty = partial_object_metadata_list(&[], list_meta);
        assert_eq!(empty["items"], json!([]));
        let beta = partial_object_metadata_list_as("meta.k8s.io/v1beta1", &[&obj], Map::new());
        assert_eq!(beta["items"][0]["apiVersion"], "meta.k8s.io/v1beta1");
    }

    #[test]
    fn label_selectors() {
        let sel = |v: Value| label_selector_string(Some(&v));
        assert_eq!(label_selector_string(None), Ok(String::new()));
        assert_eq!(sel(json!({})), Ok(String::new()));
        assert_eq!(
            sel(json!({"matchExpressions": [
                {"key": "b", "operator": "NotIn", "values": ["y", "x"]},
                {"key": "a", "operator": "Exists"}
            ]})),
            Ok("a,b notin (x,y)".to_string())
        );
        assert_eq!(
            sel(json!({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]})),
            Err(())
        );
        assert_eq!(
            sel(json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["v"]}]})),
            Err(())
        );
        assert_eq!(format_label_selector(None), "<none>");
        assert_eq!(
            format_label_selector(Some(
                &json!({"matchExpressions": [{"key": "a", "operator": "Bogus"}]})
            )),
            "<error>"
        );
        assert_eq!(format_labels(Some(&json!({"b": "2", "a": "1"}))), "a=1,b=2");
        assert_eq!(format_labels(Some(&json!({}))), "<none>");
    }
}
