//! Which (apiVersion, kind) pairs have a protobuf form, and the prost message for each.

use prost::Message;
use serde_json::Value;

use crate::ProtoError;
use crate::json::{Json, Object};

use k8s_pb::api::{
    apps::v1 as apps, authentication::v1 as authn, authorization::v1 as authz,
    autoscaling::v1 as autoscaling, batch::v1 as batch, certificates::v1 as certificates,
    coordination::v1 as coordination, core::v1 as core, discovery::v1 as discovery,
    events::v1 as events, networking::v1 as networking, policy::v1 as policy, rbac::v1 as rbac,
    scheduling::v1 as scheduling,
};
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;

fn to_json<M: Message + Default + Json>(raw: &[u8]) -> Result<Object, ProtoError> {
    let message = M::decode(raw)?;
    match message.to_json()? {
        Some(Value::Object(map)) => Ok(map),
        _ => Ok(Object::new()),
    }
}

fn from_json<M: Message + Json>(obj: &Value) -> Result<Vec<u8>, ProtoError> {
    Ok(M::from_json(obj)?.encode_to_vec())
}

/// Declares the supported kinds. `any` matches every apiVersion: the meta/v1 option and status
/// types are registered in every group version (client-go sends `apps/v1 DeleteOptions`).
macro_rules! kinds {
    ($( $api:tt $kind:literal => $ty:ty, )*) => {
        fn lookup(api_version: &str, kind: &str) -> Option<Codec> {
            $(
                if kinds!(@api api_version, $api) && kind == $kind {
                    return Some(Codec { to_json: to_json::<$ty>, from_json: from_json::<$ty> });
                }
            )*
            None
        }

        /// Every (apiVersion, kind) with a protobuf form; `"*"` stands for any apiVersion.
        pub const SUPPORTED_KINDS: &[(&str, &str)] = &[ $( (kinds!(@name $api), $kind), )* ];
    };
    (@api $v:ident, any) => { true };
    (@api $v:ident, $api:literal) => { $v == $api };
    (@name any) => { "*" };
    (@name $api:literal) => { $api };
}

pub(crate) struct Codec {
    pub(crate) to_json: fn(&[u8]) -> Result<Object, ProtoError>,
    pub(crate) from_json: fn(&Value) -> Result<Vec<u8>, ProtoError>,
}

pub(crate) fn codec(api_version: &str, kind: &str) -> Result<Codec, ProtoError> {
    lookup(api_version, kind).ok_or_else(|| ProtoError::UnsupportedKind {
        api_version: api_version.to_owned(),
        kind: kind.to_owned(),
    })
}

kinds! {
    "v1" "Namespace" => core::Namespace,
    "v1" "NamespaceList" => core::NamespaceList,
    "v1" "Pod" => core::Pod,
    "v1" "PodList" => core::PodList,
    "v1" "Service" => core::Service,
    "v1" "ServiceList" => core::ServiceList,
    "v1" "Endpoints" => core::Endpoints,
    "v1" "EndpointsList" => core::EndpointsList,
    "v1" "Node" => core::Node,
    "v1" "NodeList" => core::NodeList,
    "v1" "Event" => core::Event,
    "v1" "EventList" => core::EventList,
    "v1" "ConfigMap" => core::ConfigMap,
    "v1" "ConfigMapList" => core::ConfigMapList,
    "v1" "Secret" => core::Secret,
    "v1" "SecretList" => core::SecretList,
    "v1" "ServiceAccount" => core::ServiceAccount,
    "v1" "ServiceAccountList" => core::ServiceAccountList,
    "v1" "ReplicationController" => core::ReplicationController,
    "v1" "ReplicationControllerList" => core::ReplicationControllerList,
    "v1" "Binding" => core::Binding,
    "v1" "PersistentVolume" => core::PersistentVolume,
    "v1" "PersistentVolumeList" => core::PersistentVolumeList,
    "v1" "PersistentVolumeClaim" => core::PersistentVolumeClaim,
    "v1" "PersistentVolumeClaimList" => core::PersistentVolumeClaimList,
    "v1" "ResourceQuota" => core::ResourceQuota,
    "v1" "ResourceQuotaList" => core::ResourceQuotaList,
    "v1" "LimitRange" => core::LimitRange,
    "v1" "LimitRangeList" => core::LimitRangeList,
    "v1" "PodTemplate" => core::PodTemplate,
    "v1" "PodTemplateList" => core::PodTemplateList,
    "apps/v1" "Deployment" => apps::Deployment,
    "apps/v1" "DeploymentList" => apps::DeploymentList,
    "apps/v1" "ReplicaSet" => apps::ReplicaSet,
    "apps/v1" "ReplicaSetList" => apps::ReplicaSetList,
    "apps/v1" "StatefulSet" => apps::StatefulSet,
    "apps/v1" "StatefulSetList" => apps::StatefulSetList,
    "apps/v1" "DaemonSet" => apps::DaemonSet,
    "apps/v1" "DaemonSetList" => apps::DaemonSetList,
    "apps/v1" "ControllerRevision" => apps::ControllerRevision,
    "apps/v1" "ControllerRevisionList" => apps::ControllerRevisionList,
    "batch/v1" "Job" => batch::Job,
    "batch/v1" "JobList" => batch::JobList,
    "batch/v1" "CronJob" => batch::CronJob,
    "batch/v1" "CronJobList" => batch::CronJobList,
    "autoscaling/v1" "Scale" => autoscaling::Scale,
    "certificates.k8s.io/v1" "CertificateSigningRequest" => certificates::CertificateSigningRequest,
    "certificates.k8s.io/v1" "CertificateSigningRequestList" => certificates::CertificateSigningRequestList,
    "coordination.k8s.io/v1" "Lease" => coordination::Lease,
    "coordination.k8s.io/v1" "LeaseList" => coordination::LeaseList,
    "discovery.k8s.io/v1" "EndpointSlice" => discovery::EndpointSlice,
    "discovery.k8s.io/v1" "EndpointSliceList" => discovery::EndpointSliceList,
    "events.k8s.io/v1" "Event" => events::Event,
    "events.k8s.io/v1" "EventList" => events::EventList,
    "rbac.authorization.k8s.io/v1" "Role" => rbac::Role,
    "rbac.authorization.k8s.io/v1" "RoleList" => rbac::RoleList,
    "rbac.authorization.k8s.io/v1" "RoleBinding" => rbac::RoleBinding,
    "rbac.authorization.k8s.io/v1" "RoleBindingList" => rbac::RoleBindingList,
    "rbac.authorization.k8s.io/v1" "ClusterRole" => rbac::ClusterRole,
    "rbac.authorization.k8s.io/v1" "ClusterRoleList" => rbac::ClusterRoleList,
    "rbac.authorization.k8s.io/v1" "ClusterRoleBinding" => rbac::ClusterRoleBinding,
    "rbac.authorization.k8s.io/v1" "ClusterRoleBindingList" => rbac::ClusterRoleBindingList,
    "networking.k8s.io/v1" "Ingress" => networking::Ingress,
    "networking.k8s.io/v1" "IngressList" => networking::IngressList,
    "networking.k8s.io/v1" "IngressClass" => networking::IngressClass,
    "networking.k8s.io/v1" "IngressClassList" => networking::IngressClassList,
    "networking.k8s.io/v1" "NetworkPolicy" => networking::NetworkPolicy,
    "networking.k8s.io/v1" "NetworkPolicyList" => networking::NetworkPolicyList,
    "policy/v1" "PodDisruptionBudget" => policy::PodDisruptionBudget,
    "policy/v1" "PodDisruptionBudgetList" => policy::PodDisruptionBudgetList,
    "policy/v1" "Eviction" => policy::Eviction,
    "scheduling.k8s.io/v1" "PriorityClass" => scheduling::PriorityClass,
    "scheduling.k8s.io/v1" "PriorityClassList" => scheduling::PriorityClassList,
    "authentication.k8s.io/v1" "TokenRequest" => authn::TokenRequest,
    "authentication.k8s.io/v1" "TokenReview" => authn::TokenReview,
    "authentication.k8s.io/v1" "SelfSubjectReview" => authn::SelfSubjectReview,
    "authorization.k8s.io/v1" "SubjectAccessReview" => authz::SubjectAccessReview,
    "authorization.k8s.io/v1" "SelfSubjectAccessReview" => authz::SelfSubjectAccessReview,
    "authorization.k8s.io/v1" "LocalSubjectAccessReview" => authz::LocalSubjectAccessReview,
    "authorization.k8s.io/v1" "SelfSubjectRulesReview" => authz::SelfSubjectRulesReview,
    any "DeleteOptions" => meta::DeleteOptions,
    any "Status" => meta::Status,
}
