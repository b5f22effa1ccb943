//! ConfigMaps: key names, the 1 MiB size limit and `immutable: true`.

use machinery::FieldError;
use serde_json::{Value, json};

use super::common::*;
use crate::registry::strategy::Strategy;

pub struct ConfigMapStrategy;

/// Upstream's MaxConfigMapSize and MaxSecretSize: what etcd takes comfortably in one value.
pub const MAX_DATA_SIZE: usize = 1024 * 1024;

/// Upstream's IsConfigMapKey: a file name a volume can project.
pub fn config_key_errors(key: &str) -> Vec<String> {
    let mut out = Vec::new();
    if key.len() > 253 {
        out.push("must be no more than 253 characters".to_string());
    }
    if key.is_empty()
        || !key
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
    {
        out.push("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')".to_string());
    }
    if key == "." {
        out.push("must not be '.'".to_string());
    } else if key == ".." {
        out.push("must not be '..'".to_string());
    } else if key.starts_with("..") {
        out.push("must not start with '..'".to_string());
    }
    out
}

/// Keys of `data` (and `binaryData`), no key in both, total size. Returns the total size.
pub(crate) fn validate_data_keys(obj: &Value, maps: &[&str], errs: &mut Errs) -> usize {
    let mut total = 0;
    for map in maps {
        let Some(m) = object(obj, &[map]) else {
            continue;
        };
        for (k, v) in m {
            let field = format!("{map}[{k}]");
            for msg in config_key_errors(k) {
                errs.push(FieldError::invalid(field.clone(), json!(k), msg));
            }
            total += v.as_str().map_or(0, str::len);
        }
    }
    total
}

/// With `immutable: true`, the data and the flag itself are frozen.
pub(crate) fn validate_immutable_data(new: &Value, old: &Value, maps: &[&str], errs: &mut Errs) {
    if get_bool(old, &["immutable"]) != Some(true) {
        return;
    }
    if get_bool(new, &["immutable"]) != Some(true) {
        errs.push(FieldError::forbidden(
            "immutable",
            "field is immutable when `immutable` is set",
        ));
    }
    for map in maps {
        let norm = |v: &Value| object(v, &[map]).filter(|m| !m.is_empty()).cloned();
        if norm(new) != norm(old) {
            errs.push(FieldError::forbidden(
                *map,
                "field is immutable when `immutable` is set",
            ));
        }
    }
}

impl Strategy for ConfigMapStrategy {
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let total = validate_data_keys(obj, &["data", "binaryData"], &mut errs);
        if let (Some(d), Some(b)) = (object(obj, &["data"]), object(obj, &["binaryData"])) {
            for k in d.keys().filter(|k| b.contains_key(*k)) {
                errs.push(FieldError::invalid(
                    format!("data[{k}]"),
                    json!(k),
                    "duplicate of key present in binaryData",
                ));
            }
        }
        if total > MAX_DATA_SIZE {
            errs.push(FieldError::too_long("data", MAX_DATA_SIZE));
        }
        errs
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = self.validate(new);
        validate_immutable_data(new, old, &["data", "binaryData"], &mut errs);
        errs
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_size() {
        let cm = json!({"metadata": {"name": "c"}, "data": {"good.key": "v", "bad/key": "v", "both": "x"}, "binaryData": {"both": "eA=="}});
        let fields: Vec<_> = ConfigMapStrategy
            .validate(&cm)
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, vec!["data[bad/key]", "data[both]"]);
        let big = json!({"data": {"a": "x".repeat(MAX_DATA_SIZE + 1)}});
        assert_eq!(
            ConfigMapStrategy.validate(&big)[0].to_string(),
            "data: Too long: must have at most 1048576 bytes"
        );
        for (k, ok) in [
            ("a", true),
            (".a", true),
            ("..a", false),
            (".", false),
            ("", false),
            ("a b", false),
        ] {
            assert_eq!(config_key_errors(k).is_empty(), ok, "{k}");
        }
    }

    #[test]
    fn immutable() {
        let old = json!({"metadata": {"name": "c"}, "data": {"a": "1"}, "immutable": true});
        let mut new = old.clone();
        new["data"]["a"] = json!("2");
        new["immutable"] = json!(false);
        let errs = ConfigMapStrategy.validate_update(&new, &old);
        let msgs: Vec<_> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            msgs,
            vec![
                "immutable: Forbidden: field is immutable when `immutable` is set",
                "data: Forbidden: field is immutable when `immutable` is set",
            ]
        );
        let mut meta_only = old.clone();
        meta_only["metadata"]["labels"] = json!({"a": "b"});
        assert!(
            ConfigMapStrategy
                .validate_update(&meta_only, &old)
                .is_empty()
        );
        let mutable_old = json!({"data": {"a": "1"}});
        assert!(
            ConfigMapStrategy
                .validate_update(&new, &mutable_old)
                .is_empty()
        );
    }
}
