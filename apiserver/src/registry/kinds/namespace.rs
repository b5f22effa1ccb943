//! Namespaces: the `kubernetes.io/metadata.name` label, the `kubernetes` finalizer added on
//! create (the namespace controller removes it through `/finalize` once the namespace is
//! empty), phase Active, and spec/status changed only through their subresources.

use machinery::FieldError;
use serde_json::{Value, json};

use super::common::*;
use crate::registry::strategy::Strategy;

pub struct NamespaceStrategy;

pub const KUBERNETES_FINALIZER: &str = "kubernetes";
pub const NAME_LABEL: &str = "kubernetes.io/metadata.name";

impl Strategy for NamespaceStrategy {
    fn default(&self, obj: &mut Value) {
        // Without a name yet (generateName) there is nothing to label; upstream skips too.
        let name = str_or_empty(obj, &["metadata", "name"]).to_string();
        if !name.is_empty()
            && let Some(labels) = object_at(obj, &["metadata", "labels"])
        {
            labels.insert(NAME_LABEL.into(), json!(name));
        }
        if let Some(status) = existing_object_at(obj, &["status"]) {
            default_str(status, "phase", "Active");
        }
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        if let Some(m) = obj.as_object_mut() {
            m.insert("status".into(), json!({ "phase": "Active" }));
        }
        if let Some(spec) = object_at(obj, &["spec"]) {
            let list = spec.entry("finalizers").or_insert_with(|| json!([]));
            if !list.is_array() {
                *list = json!([]);
            }
            if let Some(list) = list.as_array_mut()
                && !list
                    .iter()
                    .any(|f| f.as_str() == Some(KUBERNETES_FINALIZER))
            {
                list.push(json!(KUBERNETES_FINALIZER));
            }
        }
    }

    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        // spec.finalizers change only through /finalize, status only through /status.
        let old_finalizers = get(old, &["spec", "finalizers"]).cloned();
        if let Some(spec) = object_at(new, &["spec"]) {
            match old_finalizers {
                Some(f) => spec.insert("finalizers".into(), f),
                None => spec.remove("finalizers"),
            };
        }
        keep_from_old(new, old, "status");
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        validate_finalizers(obj, &mut errs);
        errs
    }

    fn validate_status_update(&self, new: &Value, _old: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let phase = str_or_empty(new, &["status", "phase"]);
        let deleting = is_set(get(new, &["metadata", "deletionTimestamp"]));
        if !deleting && phase != "Active" {
            errs.push(FieldError::invalid(
                "status.Phase",
                json!(phase),
                "may only be 'Active' if `deletionTimestamp` is empty",
            ));
        } else if deleting && phase != "Terminating" {
            errs.push(FieldError::invalid(
                "status.Phase",
                json!(phase),
                "may only be 'Terminating' if `deletionTimestamp` is not empty",
            ));
        }
        errs
    }

    fn status_via_subresource(&self) -> bool {
        true
    }

    fn name_is_label(&self) -> bool {
        true
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        match field {
            "status.phase" => Some(str_or_empty(obj, &["status", "phase"]).to_string()),
            _ => None,
        }
    }
}

/// Finalizer names must be qualified names with a domain, except upstream's own
/// `kubernetes`.
fn validate_finalizers(obj: &Value, errs: &mut Errs) {
    for (i, f) in array(obj, &["spec", "finalizers"]).iter().enumerate() {
        let f = f.as_str().unwrap_or("");
        let field = format!("spec.finalizers[{i}]");
        if f == KUBERNETES_FINALIZER {
            continue;
        }
        validate_qualified_name(f, &field, errs);
        if !f.contains('/') {
            errs.push(FieldError::invalid(
                field,
                json!(f),
                "name is neither a standard finalizer name nor is it fully qualified",
            ));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn create_and_update() {
        let mut ns =
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}});
        NamespaceStrategy.default(&mut ns);
        NamespaceStrategy.prepare_for_create(&mut ns);
        assert_eq!(ns["metadata"]["labels"][NAME_LABEL], "team-a");
        assert_eq!(ns["spec"]["finalizers"], json!(["kubernetes"]));
        assert_eq!(ns["status"]["phase"], "Active");
        assert!(NamespaceStrategy.validate(&ns).is_empty());

        let mut new = ns.clone();
        new["spec"]["finalizers"] = json!([]);
        new["status"]["phase"] = json!("Terminating");
        new["metadata"]["labels"][NAME_LABEL] = json!("spoofed");
        NamespaceStrategy.prepare_for_update(&mut new, &ns);
        NamespaceStrategy.default(&mut new);
        assert_eq!(new["spec"]["finalizers"], json!(["kubernetes"]));
        assert_eq!(new["status"]["phase"], "Active");
        assert_eq!(new["metadata"]["labels"][NAME_LABEL], "team-a");

        let mut bad = ns.clone();
        bad["spec"]["finalizers"] = json!(["kubernetes", "foo", "example.com/x"]);
        let errs = NamespaceStrategy.validate(&bad);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "spec.finalizers[1]");
    }

    #[test]
    fn status_phase_follows_deletion() {
        let mut ns = json!({"metadata": {"name": "a"}, "status": {"phase": "Terminating"}});
        assert_eq!(NamespaceStrategy.validate_status_update(&ns, &ns).len(), 1);
        ns["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z");
        assert!(
            NamespaceStrategy
                .validate_status_update(&ns, &ns)
                .is_empty()
        );
        assert_eq!(
            NamespaceStrategy
                .field_value(&ns, "status.phase")
                .as_deref(),
            Some("Terminating")
        );
    }
}
