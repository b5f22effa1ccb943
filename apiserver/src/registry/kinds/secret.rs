//! Secrets: type Opaque by default, `stringData` folded into `data` (as the v1 conversion
//! does, so it is never stored), the keys each well-known type requires, the immutable type
//! and `immutable: true`.

use base64::Engine;
use machinery::FieldError;
use serde_json::{Value, json};

use super::common::*;
use super::configmap::{MAX_DATA_SIZE, validate_data_keys, validate_immutable_data};
use crate::registry::strategy::Strategy;

pub struct SecretStrategy;

impl Strategy for SecretStrategy {
    fn default(&self, obj: &mut Value) {
        let Some(m) = obj.as_object_mut() else {
            return;
        };
        default_str(m, "type", "Opaque");
        if let Some(Value::Object(string_data)) = m.remove("stringData")
            && let Some(data) = child_object(m, "data")
        {
            for (k, v) in string_data {
                let s = v.as_str().unwrap_or("");
                data.insert(
                    k,
                    json!(base64::engine::general_purpose::STANDARD.encode(s)),
                );
            }
        }
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let encoded = validate_data_keys(obj, &["data"], &mut errs);
        // The limit is on decoded bytes; base64 is 4/3 of that.
        if encoded / 4 * 3 > MAX_DATA_SIZE {
            errs.push(FieldError::too_long("data", MAX_DATA_SIZE));
        }
        let has = |k: &str| get_str(obj, &["data", k]).is_some_and(|v| !v.is_empty());
        let require = |k: &str, errs: &mut Errs| {
            if !has(k) {
                errs.push(FieldError::required(format!("data[{k}]"), ""));
            }
        };
        match str_or_empty(obj, &["type"]) {
            "kubernetes.io/service-account-token"
                if str_or_empty(
                    obj,
                    &[
                        "metadata",
                        "annotations",
                        "kubernetes.io/service-account.name",
                    ],
                )
                .is_empty() =>
            {
                errs.push(FieldError::required(
                    "metadata.annotations[kubernetes.io/service-account.name]",
                    "",
                ));
            }
            "kubernetes.io/dockercfg" => require(".dockercfg", &mut errs),
            "kubernetes.io/dockerconfigjson" => {
                require(".dockerconfigjson", &mut errs);
                if let Some(raw) =
                    get_str(obj, &["data", ".dockerconfigjson"]).filter(|s| !s.is_empty())
                {
                    let parsed = base64::engine::general_purpose::STANDARD
                        .decode(raw)
                        .ok()
                        .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
                    if parsed.is_none() {
                        errs.push(FieldError::invalid(
                            "data[.dockerconfigjson]",
                            json!("<secret contents redacted>"),
                            "invalid JSON",
                        ));
                    }
                }
            }
            "kubernetes.io/basic-auth" if !has("username") && !has("password") => {
                errs.push(FieldError::required("data[username]", ""));
                errs.push(FieldError::required("data[password]", ""));
            }
            "kubernetes.io/ssh-auth" => require("ssh-privatekey", &mut errs),
            "kubernetes.io/tls" => {
                require("tls.key", &mut errs);
                require("tls.crt", &mut errs);
            }
            _ => {}
        }
        errs
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = self.validate(new);
        validate_immutable(new.get("type"), old.get("type"), "type", &mut errs);
        validate_immutable_data(new, old, &["data"], &mut errs);
        errs
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        match field {
            "type" => Some(str_or_empty(obj, &["type"]).to_string()),
            _ => None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn secret(v: Value) -> Value {
        let mut s = v;
        SecretStrategy.default(&mut s);
        s
    }

    #[test]
    fn defaults_and_string_data() {
        let s = secret(
            json!({"metadata": {"name": "s"}, "data": {"a": "MQ==", "b": "Mg=="}, "stringData": {"b": "two", "c": "three"}}),
        );
        assert_eq!(s["type"], "Opaque");
        assert_eq!(
            s["data"],
            json!({"a": "MQ==", "b": "dHdv", "c": "dGhyZWU="})
        );
        assert!(s.get("stringData").is_none());
        assert!(SecretStrategy.validate(&s).is_empty());
        assert_eq!(
            SecretStrategy.field_value(&s, "type").as_deref(),
            Some("Opaque")
        );
    }

    #[test]
    fn typed_secrets() {
        let cases = [
            (
                json!({"type": "kubernetes.io/tls", "data": {"tls.crt": "eA=="}}),
                vec!["data[tls.key]"],
            ),
            (
                json!({"type": "kubernetes.io/service-account-token"}),
                vec!["metadata.annotations[kubernetes.io/service-account.name]"],
            ),
            (
                json!({"type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": "bm90IGpzb24="}}),
                vec!["data[.dockerconfigjson]"],
            ),
            (
                json!({"type": "kubernetes.io/basic-auth", "data": {"password": "eA=="}}),
                vec![],
            ),
            (
                json!({"type": "kubernetes.io/ssh-auth"}),
                vec!["data[ssh-privatekey]"],
            ),
            (json!({"data": {"bad key": "eA=="}}), vec!["data[bad key]"]),
        ];
        for (s, want) in cases {
            let s = secret(s);
            let fields: Vec<_> = SecretStrategy
                .validate(&s)
                .into_iter()
                .map(|e| e.field)
                .collect();
            assert_eq!(fields, want, "{s}");
        }
    }

    #[test]
    fn update_rules() {
        let old =
            secret(json!({"metadata": {"name": "s"}, "data": {"a": "MQ=="}, "immutable": true}));
        let mut new = old.clone();
        new["type"] = json!("kubernetes.io/basic-auth");
        new["data"]["a"] = json!("Mg==");
        let msgs: Vec<_> = SecretStrategy
            .validate_update(&new, &old)
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            msgs,
            vec![
                "data[username]: Required value",
                "data[password]: Required value",
                "type: Invalid value: \"kubernetes.io/basic-auth\": field is immutable",
                "data: Forbidden: field is immutable when `immutable` is set",
            ]
        );
    }
}
