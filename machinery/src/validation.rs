//! Field errors with paths, worded as upstream's `field.Error` so that 422 messages read the
//! same as kube-apiserver's, plus the common name checks (DNS-1123 and friends).

use serde_json::Value;

use crate::status::StatusCause;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldErrorType {
    Required,
    Invalid,
    NotSupported,
    Forbidden,
    Duplicate,
    TooLong,
    TooMany,
}

impl FieldErrorType {
    /// The `reason` of a Status cause.
    pub fn cause_reason(self) -> &'static str {
        match self {
            Self::Required => "FieldValueRequired",
            Self::Invalid => "FieldValueInvalid",
            Self::NotSupported => "FieldValueNotSupported",
            Self::Forbidden => "FieldValueForbidden",
            Self::Duplicate => "FieldValueDuplicate",
            Self::TooLong => "FieldValueTooLong",
            Self::TooMany => "FieldValueTooMany",
        }
    }

    fn text(self) -> &'static str {
        match self {
            Self::Required => "Required value",
            Self::Invalid => "Invalid value",
            Self::NotSupported => "Unsupported value",
            Self::Forbidden => "Forbidden",
            Self::Duplicate => "Duplicate value",
            Self::TooLong => "Too long",
            Self::TooMany => "Too many",
        }
    }
}

/// One validation failure at a field path such as `spec.template.spec.containers[0].image`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub error_type: FieldErrorType,
    pub field: String,
    pub bad_value: Option<Value>,
    pub detail: String,
}

impl FieldError {
    pub fn required(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            error_type: FieldErrorType::Required,
            field: field.into(),
            bad_value: None,
            detail: detail.into(),
        }
    }

    pub fn invalid(field: impl Into<String>, value: Value, detail: impl Into<String>) -> Self {
        Self {
            error_type: FieldErrorType::Invalid,
            field: field.into(),
            bad_value: Some(value),
            detail: detail.into(),
        }
    }

    pub fn not_supported(field: impl Into<String>, value: Value, supported: &[&str]) -> Self {
        let list = supported
            .iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(", ");
        Self {
            error_type: FieldErrorType::NotSupported,
            field: field.into(),
            bad_value: Some(value),
            detail: format!("supported values: {list}"),
        }
    }

    pub fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            error_type: FieldErrorType::Forbidden,
            field: field.into(),
            bad_value: None,
            detail: detail.into(),
        }
    }

    pub fn duplicate(field: impl Into<String>, value: Value) -> Self {
        Self {
            error_type: FieldErrorType::Duplicate,
            field: field.into(),
            bad_value: Some(value),
            detail: String::new(),
        }
    }

    pub fn too_long(field: impl Into<String>, max: usize) -> Self {
        Self {
            error_type: FieldErrorType::TooLong,
            field: field.into(),
            bad_value: None,
            detail: format!("must have at most {max} bytes"),
        }
    }

    /// The error without its field path: a Status cause carries the field separately, and
    /// kubectl prints `field: message` from the two.
    pub fn message(&self) -> String {
        let mut out = self.error_type.text().to_string();
        if let Some(v) = &self.bad_value {
            // Upstream prints strings quoted and numbers bare, as JSON does.
            out.push_str(&format!(": {v}"));
        }
        if !self.detail.is_empty() {
            out.push_str(&format!(": {}", self.detail));
        }
        out
    }

    pub fn to_cause(&self) -> StatusCause {
        StatusCause {
            reason: self.error_type.cause_reason().to_string(),
            message: self.message(),
            field: self.field.clone(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message())
    }
}

pub const DNS1123_SUBDOMAIN_MAX: usize = 253;
pub const DNS1123_LABEL_MAX: usize = 63;

fn is_alnum_lower(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn dns1123_label_ok(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && is_alnum_lower(b[0])
        && is_alnum_lower(b[b.len() - 1])
        && b.iter().all(|&c| is_alnum_lower(c) || c == b'-')
}

/// Problems with `value` as an RFC 1123 subdomain (most object names), as upstream words them.
pub fn dns1123_subdomain_errors(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX {
        out.push(format!(
            "must be no more than {DNS1123_SUBDOMAIN_MAX} characters"
        ));
    }
    if !value.split('.').all(dns1123_label_ok) {
        out.push("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".to_string());
    }
    out
}

/// Problems with `value` as an RFC 1123 label (namespace and service names).
pub fn dns1123_label_errors(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    if value.len() > DNS1123_LABEL_MAX {
        out.push(format!(
            "must be no more than {DNS1123_LABEL_MAX} characters"
        ));
    }
    if !dns1123_label_ok(value) {
        out.push("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')".to_string());
    }
    out
}

/// Problems with `value` as an RFC 1035 label (service names: must start with a letter).
pub fn dns1035_label_errors(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    if value.len() > DNS1123_LABEL_MAX {
        out.push(format!(
            "must be no more than {DNS1123_LABEL_MAX} characters"
        ));
    }
    let b = value.as_bytes();
    let ok = !b.is_empty()
        && b[0].is_ascii_lowercase()
        && is_alnum_lower(b[b.len() - 1])
        && b.iter().all(|&c| is_alnum_lower(c) || c == b'-');
    if !ok {
        out.push("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')".to_string());
    }
    out
}

/// Problems with a path segment name (every object name must at least be one): no `/`, `%`,
/// and not `.` or `..`.
pub fn path_segment_name_errors(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    if value == "." || value == ".." {
        out.push(format!("may not be '{value}'"));
    }
    for bad in ["/", "%"] {
        if value.contains(bad) {
            out.push(format!("may not contain '{bad}'"));
        }
    }
    out
}

/// Problems with a qualified name (label and annotation keys: optional DNS prefix + `/` +
/// name of at most 63 characters of alphanumerics, `-`, `_`, `.`).
pub fn qualified_name_errors(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (prefix, name) = match value.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, value),
    };
    if let Some(p) = prefix {
        if p.is_empty() {
            out.push("prefix part must be non-empty".to_string());
        } else {
            for e in dns1123_subdomain_errors(p) {
                out.push(format!("prefix part {e}"));
            }
        }
    }
    if name.is_empty() {
        out.push("name part must be non-empty".to_string());
    } else {
        if name.len() > 63 {
            out.push("name part must be no more than 63 characters".to_string());
        }
        let b = name.as_bytes();
        let edge = |c: u8| c.is_ascii_alphanumeric();
        if !(edge(b[0])
            && edge(b[b.len() - 1])
            && b.iter()
                .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'.'))
        {
            out.push("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')".to_string());
        }
    }
    out
}

/// Problems with a label value (empty, or at most 63 characters of alphanumerics, `-`, `_`, `.`
/// starting and ending with an alphanumeric).
pub fn label_value_errors(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    if value.is_empty() {
        return out;
    }
    if value.len() > 63 {
        out.push("must be no more than 63 characters".to_string());
    }
    let b = value.as_bytes();
    let edge = |c: u8| c.is_ascii_alphanumeric();
    if !(edge(b[0])
        && edge(b[b.len() - 1])
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'.'))
    {
        out.push("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')".to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomain_names() {
        for ok in ["a", "web", "web-1", "a.b.c", "0abc"] {
            assert!(dns1123_subdomain_errors(ok).is_empty(), "{ok}");
        }
        for bad in ["", "Bad_Name", "-a", "a-", "a..b", "A"] {
            assert!(!dns1123_subdomain_errors(bad).is_empty(), "{bad}");
        }
        assert!(!dns1123_subdomain_errors(&"a".repeat(254)).is_empty());
    }

    #[test]
    fn label_names() {
        assert!(dns1123_label_errors("kube-system").is_empty());
        assert!(!dns1123_label_errors("a.b").is_empty());
        assert!(!dns1035_label_errors("1abc").is_empty());
        assert!(dns1035_label_errors("abc-1").is_empty());
    }

    #[test]
    fn qualified_names_and_label_values() {
        assert!(qualified_name_errors("app.kubernetes.io/name").is_empty());
        assert!(qualified_name_errors("app").is_empty());
        assert!(!qualified_name_errors("/app").is_empty());
        assert!(!qualified_name_errors("a/b/c").is_empty());
        assert!(label_value_errors("").is_empty());
        assert!(label_value_errors("v1.2_3").is_empty());
        assert!(!label_value_errors("-x").is_empty());
    }

    #[test]
    fn message_format() {
        let e = FieldError::invalid("metadata.name", Value::from("Bad_Name"), "bad");
        assert_eq!(
            e.to_string(),
            "metadata.name: Invalid value: \"Bad_Name\": bad"
        );
        let e = FieldError::required("spec.selector", "");
        assert_eq!(e.to_string(), "spec.selector: Required value");
    }
}
