//! Data tables for the OpenAPI documents.
//!
//! Generated from the upstream Kubernetes OpenAPI v2 document (its definition names, the
//! `x-kubernetes-group-version-kind` of each stable kind, and the merge/list extensions on the
//! definitions those kinds reach), restricted to the types k8s-openapi 0.29 has for v1.33.
//! k8s-openapi's schemars schemas carry none of these extensions; kubectl's client-side apply
//! reads `x-kubernetes-patch-merge-key`/`-strategy` from the OpenAPI v3 documents when they are
//! served, so they must be right.

use schemars::{Schema, SchemaGenerator};

/// The schemars schema (a `$ref` into the generator's definitions) of a built-in kind.
pub(super) type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

fn sub<T: schemars::JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

/// The k8s-openapi type of a stable built-in kind, by group, version and kind.
pub(super) fn builtin_kind(group: &str, version: &str, kind: &str) -> Option<SchemaFn> {
    use k8s_openapi as k;
    let f: SchemaFn = match (group, version, kind) {
        ("", "v1", "Binding") => sub::<k::api::core::v1::Binding>,
        ("", "v1", "ComponentStatus") => sub::<k::api::core::v1::ComponentStatus>,
        ("", "v1", "ConfigMap") => sub::<k::api::core::v1::ConfigMap>,
        ("", "v1", "Endpoints") => sub::<k::api::core::v1::Endpoints>,
        ("", "v1", "Event") => sub::<k::api::core::v1::Event>,
        ("", "v1", "LimitRange") => sub::<k::api::core::v1::LimitRange>,
        ("", "v1", "Namespace") => sub::<k::api::core::v1::Namespace>,
        ("", "v1", "Node") => sub::<k::api::core::v1::Node>,
        ("", "v1", "PersistentVolume") => sub::<k::api::core::v1::PersistentVolume>,
        ("", "v1", "PersistentVolumeClaim") => sub::<k::api::core::v1::PersistentVolumeClaim>,
        ("", "v1", "Pod") => sub::<k::api::core::v1::Pod>,
        ("", "v1", "PodTemplate") => sub::<k::api::core::v1::PodTemplate>,
        ("", "v1", "ReplicationController") => sub::<k::api::core::v1::ReplicationController>,
        ("", "v1", "ResourceQuota") => sub::<k::api::core::v1::ResourceQuota>,
        ("", "v1", "Secret") => sub::<k::api::core::v1::Secret>,
        ("", "v1", "Service") => sub::<k::api::core::v1::Service>,
        ("", "v1", "ServiceAccount") => sub::<k::api::core::v1::ServiceAccount>,
        ("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration") => {
            sub::<k::api::admissionregistration::v1::MutatingWebhookConfiguration>
        }
        ("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicy") => {
            sub::<k::api::admissionregistration::v1::ValidatingAdmissionPolicy>
        }
        ("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicyBinding") => {
            sub::<k::api::admissionregistration::v1::ValidatingAdmissionPolicyBinding>
        }
        ("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration") => {
            sub::<k::api::admissionregistration::v1::ValidatingWebhookConfiguration>
        }
        ("apiextensions.k8s.io", "v1", "CustomResourceDefinition") => {
            sub::<k::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>
        }
        ("apiregistration.k8s.io", "v1", "APIService") => {
            sub::<k::kube_aggregator::pkg::apis::apiregistration::v1::APIService>
        }
        ("apps", "v1", "ControllerRevision") => sub::<k::api::apps::v1::ControllerRevision>,
        ("apps", "v1", "DaemonSet") => sub::<k::api::apps::v1::DaemonSet>,
        ("apps", "v1", "Deployment") => sub::<k::api::apps::v1::Deployment>,
        ("apps", "v1", "ReplicaSet") => sub::<k::api::apps::v1::ReplicaSet>,
        ("apps", "v1", "StatefulSet") => sub::<k::api::apps::v1::StatefulSet>,
        ("authentication.k8s.io", "v1", "SelfSubjectReview") => {
            sub::<k::api::authentication::v1::SelfSubjectReview>
        }
        ("authentication.k8s.io", "v1", "TokenRequest") => {
            sub::<k::api::authentication::v1::TokenRequest>
        }
        ("authentication.k8s.io", "v1", "TokenReview") => {
            sub::<k::api::authentication::v1::TokenReview>
        }
        ("authorization.k8s.io", "v1", "LocalSubjectAccessReview") => {
            sub::<k::api::authorization::v1::LocalSubjectAccessReview>
        }
        ("authorization.k8s.io", "v1", "SelfSubjectAccessReview") => {
            sub::<k::api::authorization::v1::SelfSubjectAccessReview>
        }
        ("authorization.k8s.io", "v1", "SelfSubjectRulesReview") => {
            sub::<k::api::authorization::v1::SelfSubjectRulesReview>
        }
        ("authorization.k8s.io", "v1", "SubjectAccessReview") => {
            sub::<k::api::authorization::v1::SubjectAccessReview>
        }
        ("autoscaling", "v1", "HorizontalPodAutoscaler") => {
            sub::<k::api::autoscaling::v1::HorizontalPodAutoscaler>
        }
        ("autoscaling", "v1", "Scale") => sub::<k::api::autoscaling::v1::Scale>,
        ("autoscaling", "v2", "HorizontalPodAutoscaler") => {
            sub::<k::api::autoscaling::v2::HorizontalPodAutoscaler>
        }
        ("batch", "v1", "CronJob") => sub::<k::api::batch::v1::CronJob>,
        ("batch", "v1", "Job") => sub::<k::api::batch::v1::Job>,
        ("certificates.k8s.io", "v1", "CertificateSigningRequest") => {
            sub::<k::api::certificates::v1::CertificateSigningRequest>
        }
        ("coordination.k8s.io", "v1", "Lease") => sub::<k::api::coordination::v1::Lease>,
        ("discovery.k8s.io", "v1", "EndpointSlice") => sub::<k::api::discovery::v1::EndpointSlice>,
        ("events.k8s.io", "v1", "Event") => sub::<k::api::events::v1::Event>,
        ("flowcontrol.apiserver.k8s.io", "v1", "FlowSchema") => {
            sub::<k::api::flowcontrol::v1::FlowSchema>
        }
        ("flowcontrol.apiserver.k8s.io", "v1", "PriorityLevelConfiguration") => {
            sub::<k::api::flowcontrol::v1::PriorityLevelConfiguration>
        }
        ("networking.k8s.io", "v1", "IPAddress") => sub::<k::api::networking::v1::IPAddress>,
        ("networking.k8s.io", "v1", "Ingress") => sub::<k::api::networking::v1::Ingress>,
        ("networking.k8s.io", "v1", "IngressClass") => sub::<k::api::networking::v1::IngressClass>,
        ("networking.k8s.io", "v1", "NetworkPolicy") => {
            sub::<k::api::networking::v1::NetworkPolicy>
        }
        ("networking.k8s.io", "v1", "ServiceCIDR") => sub::<k::api::networking::v1::ServiceCIDR>,
        ("node.k8s.io", "v1", "RuntimeClass") => sub::<k::api::node::v1::RuntimeClass>,
        ("policy", "v1", "Eviction") => sub::<k::api::policy::v1::Eviction>,
        ("policy", "v1", "PodDisruptionBudget") => sub::<k::api::policy::v1::PodDisruptionBudget>,
        ("rbac.authorization.k8s.io", "v1", "ClusterRole") => sub::<k::api::rbac::v1::ClusterRole>,
        ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding") => {
            sub::<k::api::rbac::v1::ClusterRoleBinding>
        }
        ("rbac.authorization.k8s.io", "v1", "Role") => sub::<k::api::rbac::v1::Role>,
        ("rbac.authorization.k8s.io", "v1", "RoleBinding") => sub::<k::api::rbac::v1::RoleBinding>,
        ("scheduling.k8s.io", "v1", "PriorityClass") => {
            sub::<k::api::scheduling::v1::PriorityClass>
        }
        ("storage.k8s.io", "v1", "CSIDriver") => sub::<k::api::storage::v1::CSIDriver>,
        ("storage.k8s.io", "v1", "CSINode") => sub::<k::api::storage::v1::CSINode>,
        ("storage.k8s.io", "v1", "CSIStorageCapacity") => {
            sub::<k::api::storage::v1::CSIStorageCapacity>
        }
        ("storage.k8s.io", "v1", "StorageClass") => sub::<k::api::storage::v1::StorageClass>,
        ("storage.k8s.io", "v1", "VolumeAttachment") => {
            sub::<k::api::storage::v1::VolumeAttachment>
        }
        _ => return None,
    };
    Some(f)
}

const LIST_ATOMIC: &str = r#"{"x-kubernetes-list-type":"atomic"}"#;
const MAP_ATOMIC: &str = r#"{"x-kubernetes-map-type":"atomic"}"#;
const KEYED_TYPE_MERGE: &str = r#"{"x-kubernetes-list-map-keys":["type"],"x-kubernetes-list-type":"map","x-kubernetes-patch-merge-key":"type","x-kubernetes-patch-strategy":"merge"}"#;
const KEYED_NAME_MERGE: &str = r#"{"x-kubernetes-list-map-keys":["name"],"x-kubernetes-list-type":"map","x-kubernetes-patch-merge-key":"name","x-kubernetes-patch-strategy":"merge"}"#;
const LIST_SET: &str = r#"{"x-kubernetes-list-type":"set"}"#;
const KEYED_TYPE: &str =
    r#"{"x-kubernetes-list-map-keys":["type"],"x-kubernetes-list-type":"map"}"#;
const KEYED_MOUNT_PATH_MERGE: &str = r#"{"x-kubernetes-list-map-keys":["mountPath"],"x-kubernetes-list-type":"map","x-kubernetes-patch-merge-key":"mountPath","x-kubernetes-patch-strategy":"merge"}"#;
const KEYED_NAME_MERGE_RETAIN: &str = r#"{"x-kubernetes-list-map-keys":["name"],"x-kubernetes-list-type":"map","x-kubernetes-patch-merge-key":"name","x-kubernetes-patch-strategy":"merge,retainKeys"}"#;
const KEYED_CONTAINER_PORT_PROTOCOL_MERGE: &str = r#"{"x-kubernetes-list-map-keys":["containerPort","protocol"],"x-kubernetes-list-type":"map","x-kubernetes-patch-merge-key":"containerPort","x-kubernetes-patch-strategy":"merge"}"#;
const KEYED_DEVICE_PATH_MERGE: &str = r#"{"x-kubernetes-list-map-keys":["devicePath"],"x-kubernetes-list-type":"map","x-kubernetes-patch-merge-key":"devicePath","x-kubernetes-patch-strategy":"merge"}"#;
const LIST_SET_PATCH_MERGE: &str =
    r#"{"x-kubernetes-list-type":"set","x-kubernetes-patch-strategy":"merge"}"#;
const MAP_GRANULAR: &str = r#"{"x-kubernetes-map-type":"granular"}"#;
const KEYED_IP_MERGE: &str = r#"{"x-kubernetes-list-map-keys":["ip"],"x-kubernetes-list-type":"map","x-kubernetes-patch-merge-key":"ip","x-kubernetes-patch-strategy":"merge"}"#;

/// `(definition, property, extensions as JSON)`; an empty property puts the extensions on
/// the definition itself.
pub(super) const EXTENSIONS: &[(&str, &str, &str)] = &[
    (
        "io.k8s.api.admissionregistration.v1.MatchResources",
        "",
        MAP_ATOMIC,
    ),
    (
        "io.k8s.api.admissionregistration.v1.MatchResources",
        "excludeResourceRules",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.admissionregistration.v1.MatchResources",
        "resourceRules",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.admissionregistration.v1.MutatingWebhook",
        "admissionReviewVersions",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.admissionregistration.v1.MutatingWebhook",
        "matchConditions",
        KEYED_NAME_MERGE,
    ),
    (
        "io.k8s.api.admissionregistration.v1.MutatingWebhook",
        "rules",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.admissionregistration.v1.MutatingWebhookConfiguration",
        "webhooks",
        KEYED_NAME_MERGE,
    ),
    (
        "io.k8s.api.admissionregistration.v1.NamedRuleWithOperations",
        "",
        MAP_ATOMIC,
    ),
    (
        "io.k8s.api.admissionregistration.v1.NamedRuleWithOperations",
        "apiGroups",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.admissionregistration.v1.NamedRuleWithOperations",
        "apiVersions",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.admissionregistration.v1.NamedRuleWithOperations",
        "operations",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.admissionregistration.v1.NamedRuleWithOperations",
        "resourceNames",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.admissionregistration.v1.NamedRuleWithOperations",
        "resources",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.admissionregistration.v1.ParamKind",
        "",
        MAP_ATOMIC,
    ),
    (
        "io.k8s.api.admissionregistration.v1.ParamRef",
        "",
        MAP_ATOMIC,
    ),
    (
        "io.k8s.api.admissionregistration.v1.RuleWithOperations",
        "apiGroups",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.admissionregistration.v1.RuleWithOperations",
        "apiVersions",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.admissionregistration.v1.RuleWithOperations",
        "operations",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.admissionregistration.v1.RuleWithOperations",
        "resources",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.admissionregistration.v1.TypeChecking",
        "expressionWarnings",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicyBindingSpec",
        "validationActions",
        LIST_SET,
    ),
    (
        "io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicySpec",
        "auditAnnotations",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicySpec",
        "matchConditions",
        KEYED_NAME_MERGE,
    ),
    (
        "io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicySpec",
        "validations",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicySpec",
        "variables",
        KEYED_NAME_MERGE,
    ),
    (
        "io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicyStatus",
        "conditions",
        KEYED_TYPE,
    ),
    (
        "io.k8s.api.admissionregistration.v1.ValidatingWebhook",
        "admissionReviewVersions",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.admissionregistration.v1.ValidatingWebhook",
        "matchConditions",
        KEYED_NAME_MERGE,
    ),
    (
        "io.k8s.api.admissionregistration.v1.ValidatingWebhook",
        "rules",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.admissionregistration.v1.ValidatingWebhookConfiguration",
        "webhooks",
        KEYED_NAME_MERGE,
    ),
    (
        "io.k8s.api.admissionregistration.v1.Variable",
        "",
        MAP_ATOMIC,
    ),
    (
        "io.k8s.api.apps.v1.DaemonSetStatus",
        "conditions",
        KEYED_TYPE_MERGE,
    ),
    (
        "io.k8s.api.apps.v1.DeploymentSpec",
        "strategy",
        r#"{"x-kubernetes-patch-strategy":"retainKeys"}"#,
    ),
    (
        "io.k8s.api.apps.v1.DeploymentStatus",
        "conditions",
        KEYED_TYPE_MERGE,
    ),
    (
        "io.k8s.api.apps.v1.ReplicaSetStatus",
        "conditions",
        KEYED_TYPE_MERGE,
    ),
    (
        "io.k8s.api.apps.v1.StatefulSetSpec",
        "volumeClaimTemplates",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.apps.v1.StatefulSetStatus",
        "conditions",
        KEYED_TYPE_MERGE,
    ),
    (
        "io.k8s.api.authentication.v1.TokenRequestSpec",
        "audiences",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.authentication.v1.TokenReviewSpec",
        "audiences",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.authentication.v1.TokenReviewStatus",
        "audiences",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.authentication.v1.UserInfo",
        "groups",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.authorization.v1.FieldSelectorAttributes",
        "requirements",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.authorization.v1.LabelSelectorAttributes",
        "requirements",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.authorization.v1.NonResourceRule",
        "nonResourceURLs",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.authorization.v1.NonResourceRule",
        "verbs",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.authorization.v1.ResourceRule",
        "apiGroups",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.authorization.v1.ResourceRule",
        "resourceNames",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.authorization.v1.ResourceRule",
        "resources",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.authorization.v1.ResourceRule",
        "verbs",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.authorization.v1.SubjectAccessReviewSpec",
        "groups",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.authorization.v1.SubjectRulesReviewStatus",
        "nonResourceRules",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.authorization.v1.SubjectRulesReviewStatus",
        "resourceRules",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.autoscaling.v1.CrossVersionObjectReference",
        "",
        MAP_ATOMIC,
    ),
    (
        "io.k8s.api.autoscaling.v2.HPAScalingRules",
        "policies",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec",
        "metrics",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus",
        "conditions",
        KEYED_TYPE_MERGE,
    ),
    (
        "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus",
        "currentMetrics",
        LIST_ATOMIC,
    ),
    ("io.k8s.api.batch.v1.CronJobStatus", "active", LIST_ATOMIC),
    (
        "io.k8s.api.batch.v1.JobStatus",
        "conditions",
        r#"{"x-kubernetes-list-type":"atomic","x-kubernetes-patch-merge-key":"type","x-kubernetes-patch-strategy":"merge"}"#,
    ),
    ("io.k8s.api.batch.v1.PodFailurePolicy", "rules", LIST_ATOMIC),
    (
        "io.k8s.api.batch.v1.PodFailurePolicyOnExitCodesRequirement",
        "values",
        LIST_SET,
    ),
    (
        "io.k8s.api.batch.v1.PodFailurePolicyRule",
        "onPodConditions",
        LIST_ATOMIC,
    ),
    ("io.k8s.api.batch.v1.SuccessPolicy", "rules", LIST_ATOMIC),
    (
        "io.k8s.api.batch.v1.UncountedTerminatedPods",
        "failed",
        LIST_SET,
    ),
    (
        "io.k8s.api.batch.v1.UncountedTerminatedPods",
        "succeeded",
        LIST_SET,
    ),
    (
        "io.k8s.api.certificates.v1.CertificateSigningRequestSpec",
        "groups",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.certificates.v1.CertificateSigningRequestSpec",
        "usages",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.certificates.v1.CertificateSigningRequestStatus",
        "conditions",
        KEYED_TYPE,
    ),
    (
        "io.k8s.api.core.v1.AppArmorProfile",
        "",
        r#"{"x-kubernetes-unions":[{"discriminator":"type","fields-to-discriminateBy":{"localhostProfile":"LocalhostProfile"}}]}"#,
    ),
    ("io.k8s.api.core.v1.Capabilities", "add", LIST_ATOMIC),
    ("io.k8s.api.core.v1.Capabilities", "drop", LIST_ATOMIC),
    (
        "io.k8s.api.core.v1.CephFSPersistentVolumeSource",
        "monitors",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.CephFSVolumeSource",
        "monitors",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.ComponentStatus",
        "conditions",
        KEYED_TYPE_MERGE,
    ),
    ("io.k8s.api.core.v1.ConfigMapKeySelector", "", MAP_ATOMIC),
    (
        "io.k8s.api.core.v1.ConfigMapProjection",
        "items",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.ConfigMapVolumeSource",
        "items",
        LIST_ATOMIC,
    ),
    ("io.k8s.api.core.v1.Container", "args", LIST_ATOMIC),
    ("io.k8s.api.core.v1.Container", "command", LIST_ATOMIC),
    ("io.k8s.api.core.v1.Container", "env", KEYED_NAME_MERGE),
    ("io.k8s.api.core.v1.Container", "envFrom", LIST_ATOMIC),
    (
        "io.k8s.api.core.v1.Container",
        "ports",
        KEYED_CONTAINER_PORT_PROTOCOL_MERGE,
    ),
    ("io.k8s.api.core.v1.Container", "resizePolicy", LIST_ATOMIC),
    (
        "io.k8s.api.core.v1.Container",
        "restartPolicyRules",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.Container",
        "volumeDevices",
        KEYED_DEVICE_PATH_MERGE,
    ),
    (
        "io.k8s.api.core.v1.Container",
        "volumeMounts",
        KEYED_MOUNT_PATH_MERGE,
    ),
    ("io.k8s.api.core.v1.ContainerImage", "names", LIST_ATOMIC),
    (
        "io.k8s.api.core.v1.ContainerRestartRuleOnExitCodes",
        "values",
        LIST_SET,
    ),
    (
        "io.k8s.api.core.v1.ContainerStatus",
        "allocatedResourcesStatus",
        KEYED_NAME_MERGE,
    ),
    (
        "io.k8s.api.core.v1.ContainerStatus",
        "volumeMounts",
        KEYED_MOUNT_PATH_MERGE,
    ),
    (
        "io.k8s.api.core.v1.DownwardAPIProjection",
        "items",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.DownwardAPIVolumeSource",
        "items",
        LIST_ATOMIC,
    ),
    ("io.k8s.api.core.v1.EndpointAddress", "", MAP_ATOMIC),
    ("io.k8s.api.core.v1.EndpointPort", "", MAP_ATOMIC),
    (
        "io.k8s.api.core.v1.EndpointSubset",
        "addresses",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.EndpointSubset",
        "notReadyAddresses",
        LIST_ATOMIC,
    ),
    ("io.k8s.api.core.v1.EndpointSubset", "ports", LIST_ATOMIC),
    ("io.k8s.api.core.v1.Endpoints", "subsets", LIST_ATOMIC),
    ("io.k8s.api.core.v1.EphemeralContainer", "args", LIST_ATOMIC),
    (
        "io.k8s.api.core.v1.EphemeralContainer",
        "command",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.EphemeralContainer",
        "env",
        KEYED_NAME_MERGE,
    ),
    (
        "io.k8s.api.core.v1.EphemeralContainer",
        "envFrom",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.EphemeralContainer",
        "ports",
        KEYED_CONTAINER_PORT_PROTOCOL_MERGE,
    ),
    (
        "io.k8s.api.core.v1.EphemeralContainer",
        "resizePolicy",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.EphemeralContainer",
        "restartPolicyRules",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.EphemeralContainer",
        "volumeDevices",
        KEYED_DEVICE_PATH_MERGE,
    ),
    (
        "io.k8s.api.core.v1.EphemeralContainer",
        "volumeMounts",
        KEYED_MOUNT_PATH_MERGE,
    ),
    ("io.k8s.api.core.v1.ExecAction", "command", LIST_ATOMIC),
    (
        "io.k8s.api.core.v1.FCVolumeSource",
        "targetWWNs",
        LIST_ATOMIC,
    ),
    ("io.k8s.api.core.v1.FCVolumeSource", "wwids", LIST_ATOMIC),
    ("io.k8s.api.core.v1.FileKeySelector", "", MAP_ATOMIC),
    (
        "io.k8s.api.core.v1.HTTPGetAction",
        "httpHeaders",
        LIST_ATOMIC,
    ),
    ("io.k8s.api.core.v1.HostAlias", "hostnames", LIST_ATOMIC),
    (
        "io.k8s.api.core.v1.ISCSIPersistentVolumeSource",
        "portals",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.ISCSIVolumeSource",
        "portals",
        LIST_ATOMIC,
    ),
    ("io.k8s.api.core.v1.LimitRangeSpec", "limits", LIST_ATOMIC),
    (
        "io.k8s.api.core.v1.LinuxContainerUser",
        "supplementalGroups",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.LoadBalancerIngress",
        "ports",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.LoadBalancerStatus",
        "ingress",
        LIST_ATOMIC,
    ),
    ("io.k8s.api.core.v1.LocalObjectReference", "", MAP_ATOMIC),
    (
        "io.k8s.api.core.v1.NamespaceSpec",
        "finalizers",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.NamespaceStatus",
        "conditions",
        KEYED_TYPE_MERGE,
    ),
    (
        "io.k8s.api.core.v1.NodeAffinity",
        "preferredDuringSchedulingIgnoredDuringExecution",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.NodeAllocatableResourceClaimStatus",
        "containers",
        LIST_SET,
    ),
    ("io.k8s.api.core.v1.NodeSelector", "", MAP_ATOMIC),
    (
        "io.k8s.api.core.v1.NodeSelector",
        "nodeSelectorTerms",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.NodeSelectorRequirement",
        "values",
        LIST_ATOMIC,
    ),
    ("io.k8s.api.core.v1.NodeSelectorTerm", "", MAP_ATOMIC),
    (
        "io.k8s.api.core.v1.NodeSelectorTerm",
        "matchExpressions",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.NodeSelectorTerm",
        "matchFields",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.NodeSpec",
        "podCIDRs",
        LIST_SET_PATCH_MERGE,
    ),
    ("io.k8s.api.core.v1.NodeSpec", "taints", LIST_ATOMIC),
    (
        "io.k8s.api.core.v1.NodeStatus",
        "addresses",
        KEYED_TYPE_MERGE,
    ),
    (
        "io.k8s.api.core.v1.NodeStatus",
        "conditions",
        KEYED_TYPE_MERGE,
    ),
    (
        "io.k8s.api.core.v1.NodeStatus",
        "declaredFeatures",
        LIST_ATOMIC,
    ),
    ("io.k8s.api.core.v1.NodeStatus", "images", LIST_ATOMIC),
    (
        "io.k8s.api.core.v1.NodeStatus",
        "runtimeHandlers",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.NodeStatus",
        "volumesAttached",
        LIST_ATOMIC,
    ),
    ("io.k8s.api.core.v1.NodeStatus", "volumesInUse", LIST_ATOMIC),
    ("io.k8s.api.core.v1.ObjectFieldSelector", "", MAP_ATOMIC),
    ("io.k8s.api.core.v1.ObjectReference", "", MAP_ATOMIC),
    (
        "io.k8s.api.core.v1.PersistentVolumeClaimSpec",
        "accessModes",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.PersistentVolumeClaimStatus",
        "accessModes",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.PersistentVolumeClaimStatus",
        "allocatedResourceStatuses",
        MAP_GRANULAR,
    ),
    (
        "io.k8s.api.core.v1.PersistentVolumeClaimStatus",
        "conditions",
        KEYED_TYPE_MERGE,
    ),
    (
        "io.k8s.api.core.v1.PersistentVolumeSpec",
        "accessModes",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.PersistentVolumeSpec",
        "claimRef",
        MAP_GRANULAR,
    ),
    (
        "io.k8s.api.core.v1.PersistentVolumeSpec",
        "mountOptions",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.PodAffinity",
        "preferredDuringSchedulingIgnoredDuringExecution",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.PodAffinity",
        "requiredDuringSchedulingIgnoredDuringExecution",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.PodAffinityTerm",
        "matchLabelKeys",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.PodAffinityTerm",
        "mismatchLabelKeys",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.PodAffinityTerm",
        "namespaces",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.PodAntiAffinity",
        "preferredDuringSchedulingIgnoredDuringExecution",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.PodAntiAffinity",
        "requiredDuringSchedulingIgnoredDuringExecution",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.PodDNSConfig",
        "nameservers",
        LIST_ATOMIC,
    ),
    ("io.k8s.api.core.v1.PodDNSConfig", "options", LIST_ATOMIC),
    ("io.k8s.api.core.v1.PodDNSConfig", "searches", LIST_ATOMIC),
    (
        "io.k8s.api.core.v1.PodExtendedResourceClaimStatus",
        "requestMappings",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.PodSchedulingGroup",
        "",
        r#"{"x-kubernetes-unions":[{"fields-to-discriminateBy":{"podGroupName":"PodGroupName"}}]}"#,
    ),
    (
        "io.k8s.api.core.v1.PodSecurityContext",
        "supplementalGroups",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.PodSecurityContext",
        "sysctls",
        LIST_ATOMIC,
    ),
    ("io.k8s.api.core.v1.PodSpec", "containers", KEYED_NAME_MERGE),
    (
        "io.k8s.api.core.v1.PodSpec",
        "ephemeralContainers",
        KEYED_NAME_MERGE,
    ),
    ("io.k8s.api.core.v1.PodSpec", "hostAliases", KEYED_IP_MERGE),
    (
        "io.k8s.api.core.v1.PodSpec",
        "imagePullSecrets",
        KEYED_NAME_MERGE,
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "initContainers",
        KEYED_NAME_MERGE,
    ),
    ("io.k8s.api.core.v1.PodSpec", "nodeSelector", MAP_ATOMIC),
    ("io.k8s.api.core.v1.PodSpec", "readinessGates", LIST_ATOMIC),
    (
        "io.k8s.api.core.v1.PodSpec",
        "resourceClaims",
        KEYED_NAME_MERGE_RETAIN,
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "schedulingGates",
        KEYED_NAME_MERGE,
    ),
    ("io.k8s.api.core.v1.PodSpec", "tolerations", LIST_ATOMIC),
    (
        "io.k8s.api.core.v1.PodSpec",
        "topologySpreadConstraints",
        r#"{"x-kubernetes-list-map-keys":["topologyKey","whenUnsatisfiable"],"x-kubernetes-list-type":"map","x-kubernetes-patch-merge-key":"topologyKey","x-kubernetes-patch-strategy":"merge"}"#,
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "volumes",
        KEYED_NAME_MERGE_RETAIN,
    ),
    (
        "io.k8s.api.core.v1.PodStatus",
        "conditions",
        KEYED_TYPE_MERGE,
    ),
    (
        "io.k8s.api.core.v1.PodStatus",
        "containerStatuses",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.PodStatus",
        "ephemeralContainerStatuses",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.PodStatus",
        "hostIPs",
        r#"{"x-kubernetes-list-type":"atomic","x-kubernetes-patch-merge-key":"ip","x-kubernetes-patch-strategy":"merge"}"#,
    ),
    (
        "io.k8s.api.core.v1.PodStatus",
        "initContainerStatuses",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.PodStatus",
        "nodeAllocatableResourceClaimStatuses",
        LIST_ATOMIC,
    ),
    ("io.k8s.api.core.v1.PodStatus", "podIPs", KEYED_IP_MERGE),
    (
        "io.k8s.api.core.v1.PodStatus",
        "resourceClaimStatuses",
        KEYED_NAME_MERGE_RETAIN,
    ),
    (
        "io.k8s.api.core.v1.ProjectedVolumeSource",
        "sources",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.RBDPersistentVolumeSource",
        "monitors",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.RBDVolumeSource",
        "monitors",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.ReplicationControllerSpec",
        "selector",
        MAP_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.ReplicationControllerStatus",
        "conditions",
        KEYED_TYPE_MERGE,
    ),
    ("io.k8s.api.core.v1.ResourceFieldSelector", "", MAP_ATOMIC),
    (
        "io.k8s.api.core.v1.ResourceQuotaSpec",
        "scopes",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.ResourceRequirements",
        "claims",
        r#"{"x-kubernetes-list-map-keys":["name"],"x-kubernetes-list-type":"map"}"#,
    ),
    (
        "io.k8s.api.core.v1.ResourceStatus",
        "resources",
        r#"{"x-kubernetes-list-map-keys":["resourceID"],"x-kubernetes-list-type":"map"}"#,
    ),
    ("io.k8s.api.core.v1.ScopeSelector", "", MAP_ATOMIC),
    (
        "io.k8s.api.core.v1.ScopeSelector",
        "matchExpressions",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.ScopedResourceSelectorRequirement",
        "values",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.SeccompProfile",
        "",
        r#"{"x-kubernetes-unions":[{"discriminator":"type","fields-to-discriminateBy":{"localhostProfile":"LocalhostProfile"}}]}"#,
    ),
    ("io.k8s.api.core.v1.SecretKeySelector", "", MAP_ATOMIC),
    ("io.k8s.api.core.v1.SecretProjection", "items", LIST_ATOMIC),
    ("io.k8s.api.core.v1.SecretReference", "", MAP_ATOMIC),
    (
        "io.k8s.api.core.v1.SecretVolumeSource",
        "items",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.ServiceAccount",
        "imagePullSecrets",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.ServiceAccount",
        "secrets",
        KEYED_NAME_MERGE,
    ),
    ("io.k8s.api.core.v1.ServiceSpec", "clusterIPs", LIST_ATOMIC),
    ("io.k8s.api.core.v1.ServiceSpec", "externalIPs", LIST_ATOMIC),
    ("io.k8s.api.core.v1.ServiceSpec", "ipFamilies", LIST_ATOMIC),
    (
        "io.k8s.api.core.v1.ServiceSpec",
        "loadBalancerSourceRanges",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.ServiceSpec",
        "ports",
        r#"{"x-kubernetes-list-map-keys":["port","protocol"],"x-kubernetes-list-type":"map","x-kubernetes-patch-merge-key":"port","x-kubernetes-patch-strategy":"merge"}"#,
    ),
    ("io.k8s.api.core.v1.ServiceSpec", "selector", MAP_ATOMIC),
    (
        "io.k8s.api.core.v1.ServiceStatus",
        "conditions",
        KEYED_TYPE_MERGE,
    ),
    (
        "io.k8s.api.core.v1.TopologySelectorLabelRequirement",
        "values",
        LIST_ATOMIC,
    ),
    ("io.k8s.api.core.v1.TopologySelectorTerm", "", MAP_ATOMIC),
    (
        "io.k8s.api.core.v1.TopologySelectorTerm",
        "matchLabelExpressions",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.TopologySpreadConstraint",
        "matchLabelKeys",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.core.v1.TypedLocalObjectReference",
        "",
        MAP_ATOMIC,
    ),
    ("io.k8s.api.discovery.v1.Endpoint", "addresses", LIST_SET),
    (
        "io.k8s.api.discovery.v1.EndpointHints",
        "forNodes",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.discovery.v1.EndpointHints",
        "forZones",
        LIST_ATOMIC,
    ),
    ("io.k8s.api.discovery.v1.EndpointPort", "", MAP_ATOMIC),
    (
        "io.k8s.api.discovery.v1.EndpointSlice",
        "endpoints",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.discovery.v1.EndpointSlice",
        "ports",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.flowcontrol.v1.FlowSchemaSpec",
        "rules",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.flowcontrol.v1.FlowSchemaStatus",
        "conditions",
        KEYED_TYPE_MERGE,
    ),
    (
        "io.k8s.api.flowcontrol.v1.LimitResponse",
        "",
        r#"{"x-kubernetes-unions":[{"discriminator":"type","fields-to-discriminateBy":{"queuing":"Queuing"}}]}"#,
    ),
    (
        "io.k8s.api.flowcontrol.v1.NonResourcePolicyRule",
        "nonResourceURLs",
        LIST_SET,
    ),
    (
        "io.k8s.api.flowcontrol.v1.NonResourcePolicyRule",
        "verbs",
        LIST_SET,
    ),
    (
        "io.k8s.api.flowcontrol.v1.PolicyRulesWithSubjects",
        "nonResourceRules",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.flowcontrol.v1.PolicyRulesWithSubjects",
        "resourceRules",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.flowcontrol.v1.PolicyRulesWithSubjects",
        "subjects",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.flowcontrol.v1.PriorityLevelConfigurationSpec",
        "",
        r#"{"x-kubernetes-unions":[{"discriminator":"type","fields-to-discriminateBy":{"exempt":"Exempt","limited":"Limited"}}]}"#,
    ),
    (
        "io.k8s.api.flowcontrol.v1.PriorityLevelConfigurationStatus",
        "conditions",
        KEYED_TYPE_MERGE,
    ),
    (
        "io.k8s.api.flowcontrol.v1.ResourcePolicyRule",
        "apiGroups",
        LIST_SET,
    ),
    (
        "io.k8s.api.flowcontrol.v1.ResourcePolicyRule",
        "namespaces",
        LIST_SET,
    ),
    (
        "io.k8s.api.flowcontrol.v1.ResourcePolicyRule",
        "resources",
        LIST_SET,
    ),
    (
        "io.k8s.api.flowcontrol.v1.ResourcePolicyRule",
        "verbs",
        LIST_SET,
    ),
    (
        "io.k8s.api.flowcontrol.v1.Subject",
        "",
        r#"{"x-kubernetes-unions":[{"discriminator":"kind","fields-to-discriminateBy":{"group":"Group","serviceAccount":"ServiceAccount","user":"User"}}]}"#,
    ),
    (
        "io.k8s.api.networking.v1.HTTPIngressRuleValue",
        "paths",
        LIST_ATOMIC,
    ),
    ("io.k8s.api.networking.v1.IPBlock", "except", LIST_ATOMIC),
    (
        "io.k8s.api.networking.v1.IngressLoadBalancerIngress",
        "ports",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.networking.v1.IngressLoadBalancerStatus",
        "ingress",
        LIST_ATOMIC,
    ),
    ("io.k8s.api.networking.v1.IngressSpec", "rules", LIST_ATOMIC),
    ("io.k8s.api.networking.v1.IngressSpec", "tls", LIST_ATOMIC),
    ("io.k8s.api.networking.v1.IngressTLS", "hosts", LIST_ATOMIC),
    (
        "io.k8s.api.networking.v1.NetworkPolicyEgressRule",
        "ports",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.networking.v1.NetworkPolicyEgressRule",
        "to",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.networking.v1.NetworkPolicyIngressRule",
        "from",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.networking.v1.NetworkPolicyIngressRule",
        "ports",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.networking.v1.NetworkPolicySpec",
        "egress",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.networking.v1.NetworkPolicySpec",
        "ingress",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.networking.v1.NetworkPolicySpec",
        "policyTypes",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.networking.v1.ServiceBackendPort",
        "",
        MAP_ATOMIC,
    ),
    (
        "io.k8s.api.networking.v1.ServiceCIDRSpec",
        "cidrs",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.networking.v1.ServiceCIDRStatus",
        "conditions",
        KEYED_TYPE_MERGE,
    ),
    ("io.k8s.api.node.v1.Scheduling", "nodeSelector", MAP_ATOMIC),
    ("io.k8s.api.node.v1.Scheduling", "tolerations", LIST_ATOMIC),
    (
        "io.k8s.api.policy.v1.PodDisruptionBudgetSpec",
        "selector",
        r#"{"x-kubernetes-patch-strategy":"replace"}"#,
    ),
    (
        "io.k8s.api.policy.v1.PodDisruptionBudgetStatus",
        "conditions",
        KEYED_TYPE_MERGE,
    ),
    (
        "io.k8s.api.rbac.v1.AggregationRule",
        "clusterRoleSelectors",
        LIST_ATOMIC,
    ),
    ("io.k8s.api.rbac.v1.ClusterRole", "rules", LIST_ATOMIC),
    (
        "io.k8s.api.rbac.v1.ClusterRoleBinding",
        "subjects",
        LIST_ATOMIC,
    ),
    ("io.k8s.api.rbac.v1.PolicyRule", "apiGroups", LIST_ATOMIC),
    (
        "io.k8s.api.rbac.v1.PolicyRule",
        "nonResourceURLs",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.rbac.v1.PolicyRule",
        "resourceNames",
        LIST_ATOMIC,
    ),
    ("io.k8s.api.rbac.v1.PolicyRule", "resources", LIST_ATOMIC),
    ("io.k8s.api.rbac.v1.PolicyRule", "verbs", LIST_ATOMIC),
    ("io.k8s.api.rbac.v1.Role", "rules", LIST_ATOMIC),
    ("io.k8s.api.rbac.v1.RoleBinding", "subjects", LIST_ATOMIC),
    ("io.k8s.api.rbac.v1.RoleRef", "", MAP_ATOMIC),
    ("io.k8s.api.rbac.v1.Subject", "", MAP_ATOMIC),
    (
        "io.k8s.api.storage.v1.CSIDriverSpec",
        "tokenRequests",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.storage.v1.CSIDriverSpec",
        "volumeLifecycleModes",
        LIST_SET,
    ),
    (
        "io.k8s.api.storage.v1.CSINodeDriver",
        "topologyKeys",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.storage.v1.CSINodeSpec",
        "drivers",
        KEYED_NAME_MERGE,
    ),
    (
        "io.k8s.api.storage.v1.StorageClass",
        "allowedTopologies",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.api.storage.v1.StorageClass",
        "mountOptions",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionNames",
        "categories",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionNames",
        "shortNames",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionSpec",
        "versions",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionStatus",
        "conditions",
        KEYED_TYPE,
    ),
    (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionStatus",
        "storedVersions",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionVersion",
        "additionalPrinterColumns",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionVersion",
        "selectableFields",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps",
        "allOf",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps",
        "anyOf",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps",
        "enum",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps",
        "oneOf",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps",
        "required",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps",
        "x-kubernetes-list-map-keys",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps",
        "x-kubernetes-validations",
        r#"{"x-kubernetes-list-map-keys":["rule"],"x-kubernetes-list-type":"map","x-kubernetes-patch-merge-key":"rule","x-kubernetes-patch-strategy":"merge"}"#,
    ),
    (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.WebhookConversion",
        "conversionReviewVersions",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.APIResource",
        "categories",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.APIResource",
        "shortNames",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList",
        "resources",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
        "dryRun",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.FieldSelectorRequirement",
        "values",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector",
        "",
        MAP_ATOMIC,
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector",
        "matchExpressions",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement",
        "values",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "finalizers",
        LIST_SET_PATCH_MERGE,
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "managedFields",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "ownerReferences",
        r#"{"x-kubernetes-list-map-keys":["uid"],"x-kubernetes-list-type":"map","x-kubernetes-patch-merge-key":"uid","x-kubernetes-patch-strategy":"merge"}"#,
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference",
        "",
        MAP_ATOMIC,
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.StatusDetails",
        "causes",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.kube-aggregator.pkg.apis.apiregistration.v1.APIServiceSpec",
        "caBundle",
        LIST_ATOMIC,
    ),
    (
        "io.k8s.kube-aggregator.pkg.apis.apiregistration.v1.APIServiceStatus",
        "conditions",
        KEYED_TYPE_MERGE,
    ),
];
