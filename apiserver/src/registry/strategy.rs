//! What each resource brings to the generic store (upstream's RESTCreateStrategy,
//! RESTUpdateStrategy and friends). Everything common to all kinds (uid,
//! creationTimestamp, generateName, resourceVersion checks, generation for `spec` changes,
//! finalizers, deletion) lives in the generic store; a Strategy holds only what differs.
//!
//! Objects are JSON values that have already been decoded strictly against the kind's type
//! (see `normalize`), so a Strategy may rely on field types being right.

use machinery::FieldError;
use serde_json::Value;

pub trait Strategy: Send + Sync + 'static {
    /// Upstream's defaulting functions (SetDefaults_*), applied to every object written:
    /// create, update, patch, apply and status writes.
    fn default(&self, _obj: &mut Value) {}

    /// Kind-specific preparation of a new object, after the generic store has set metadata:
    /// e.g. reset status for kinds whose status is written only through `/status`, set a
    /// Pod's phase to Pending.
    fn prepare_for_create(&self, _obj: &mut Value) {}

    /// Kind-specific preparation of an update of the main resource: e.g. keep the old status
    /// (status is changed only through `/status`).
    fn prepare_for_update(&self, _new: &mut Value, _old: &Value) {}

    /// Preparation of a write to `/status`: by default everything but `status` comes from
    /// the old object (done by the generic store); kinds may keep more (e.g. a Node's
    /// podCIDR is not touched by status writes).
    fn prepare_for_status_update(&self, _new: &mut Value, _old: &Value) {}

    /// Validation of a new object (metadata checks common to all kinds are done by the generic
    /// store: name, namespace, labels, annotations).
    fn validate(&self, _obj: &Value) -> Vec<FieldError> {
        Vec::new()
    }

    /// Validation of an update: `validate(new)` plus immutable fields and transitions.
    fn validate_update(&self, new: &Value, _old: &Value) -> Vec<FieldError> {
        self.validate(new)
    }

    /// Validation of a `/status` write.
    fn validate_status_update(&self, _new: &Value, _old: &Value) -> Vec<FieldError> {
        Vec::new()
    }

    /// Whether an update must bump `metadata.generation` although nothing outside metadata
    /// and status changed (upstream's Deployment strategy also counts annotation changes,
    /// because they are copied to the ReplicaSets).
    fn bumps_generation(&self, _new: &Value, _old: &Value) -> bool {
        false
    }

    /// Whether writes to the main resource keep the old status (true for kinds with a status
    /// subresource, as upstream).
    fn status_via_subresource(&self) -> bool {
        false
    }

    /// Whether object names must be DNS-1123 labels rather than subdomains (namespaces,
    /// services).
    fn name_is_label(&self) -> bool {
        false
    }

    /// Extra field selectors this kind supports beyond metadata.name/metadata.namespace,
    /// returning the field's value in `obj` (e.g. pods: `spec.nodeName`, `status.phase`).
    /// `None` = unknown field (400 for the request).
    fn field_value(&self, _obj: &Value, _field: &str) -> Option<String> {
        None
    }
}

/// Strategy of kinds with no rules beyond the generic ones (ConfigMap's data checks aside,
/// most small kinds).
pub struct Plain;
impl Strategy for Plain {}
