//! Helpers shared by the kind strategies: reading and defaulting fields of JSON objects
//! without panicking on unexpected shapes, and the validation rules many kinds share (label
//! selectors, ports, IPs, quantities, immutability), worded as upstream words them.

use std::net::IpAddr;

use machinery::FieldError;
use machinery::validation::{
    dns1123_label_errors, dns1123_subdomain_errors, label_value_errors, qualified_name_errors,
};
use serde_json::{Map, Value, json};

// ---------------------------------------------------------------------------------------------
// Reading

/// The value at `path` (object keys only), if every step exists.
pub fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |cur, key| cur.get(*key))
}

pub fn get_str<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    get(v, path).and_then(Value::as_str)
}

/// A string field, `""` when absent (Go's zero value, which upstream's checks compare to).
pub fn str_or_empty<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    get_str(v, path).unwrap_or("")
}

pub fn get_i64(v: &Value, path: &[&str]) -> Option<i64> {
    get(v, path).and_then(Value::as_i64)
}

pub fn get_bool(v: &Value, path: &[&str]) -> Option<bool> {
    get(v, path).and_then(Value::as_bool)
}

/// The array at `path`, empty when absent or not an array.
pub fn array<'a>(v: &'a Value, path: &[&str]) -> &'a [Value] {
    get(v, path)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

pub fn object<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Map<String, Value>> {
    get(v, path).and_then(Value::as_object)
}

/// A string-to-string map (labels, selectors, data) with non-string values skipped.
pub fn string_map<'a>(v: &'a Value, path: &[&str]) -> Vec<(&'a str, &'a str)> {
    object(v, path)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.as_str(), s)))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a field is set to something other than Go's zero value (absent, null, "", 0,
/// false, empty list or map all count as unset, as a Go struct would see them).
pub fn is_set(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::Bool(b)) => *b,
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(_)) => true,
    }
}

// ---------------------------------------------------------------------------------------------
// Writing

/// The object under `key` in `map`, created when absent or null. `None` when the field holds
/// something that is not an object (decoding normally rules that out).
pub fn child_object<'a>(
    map: &'a mut Map<String, Value>,
    key: &str,
) -> Option<&'a mut Map<String, Value>> {
    let slot = map.entry(key.to_string()).or_insert(Value::Null);
    if slot.is_null() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut()
}

/// The object at `path` under `v`, creating objects along the way.
pub fn object_at<'a>(v: &'a mut Value, path: &[&str]) -> Option<&'a mut Map<String, Value>> {
    let mut cur = v.as_object_mut()?;
    for key in path {
        cur = child_object(cur, key)?;
    }
    Some(cur)
}

/// The object at `path` if it exists (never creates).
pub fn existing_object_at<'a>(
    v: &'a mut Value,
    path: &[&str],
) -> Option<&'a mut Map<String, Value>> {
    let mut cur = v;
    for key in path {
        cur = cur.get_mut(*key)?;
    }
    cur.as_object_mut()
}

/// Sets `key` to `value` when it is absent, null or the empty string (a Go string field at its
/// zero value).
pub fn default_str(map: &mut Map<String, Value>, key: &str, value: &str) {
    let unset = match map.get(key) {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        _ => false,
    };
    if unset {
        map.insert(key.to_string(), Value::String(value.to_string()));
    }
}

/// Sets `key` when it is absent or null (a Go pointer field at nil).
pub fn default_value(map: &mut Map<String, Value>, key: &str, value: Value) {
    if map.get(key).is_none_or(Value::is_null) {
        map.insert(key.to_string(), value);
    }
}

/// Sets an integer `key` when absent, null or 0 (a Go int field at its zero value).
pub fn default_nonzero(map: &mut Map<String, Value>, key: &str, value: i64) {
    let unset = match map.get(key) {
        None | Some(Value::Null) => true,
        Some(Value::Number(n)) => n.as_i64() == Some(0),
        _ => false,
    };
    if unset {
        map.insert(key.to_string(), json!(value));
    }
}

/// Applies `f` to every object element of the array at `key` in `map`.
pub fn for_each_object(
    map: &mut Map<String, Value>,
    key: &str,
    mut f: impl FnMut(&mut Map<String, Value>),
) {
    if let Some(items) = map.get_mut(key).and_then(Value::as_array_mut) {
        for item in items.iter_mut().filter_map(Value::as_object_mut) {
            f(item);
        }
    }
}

/// Replaces the field at top-level `key` of `new` with the one in `old` (or removes it when
/// `old` has none): how strategies keep parts a given write may not change.
pub fn keep_from_old(new: &mut Value, old: &Value, key: &str) {
    if let Some(m) = new.as_object_mut() {
        match old.get(key) {
            Some(v) => {
                m.insert(key.to_string(), v.clone());
            }
            None => {
                m.remove(key);
            }
        }
    }
}

/// Current time as Kubernetes writes `metav1.Time` (RFC 3339, seconds, UTC).
pub fn now_rfc3339() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

// ---------------------------------------------------------------------------------------------
// Validation

pub type Errs = Vec<FieldError>;

/// `must be greater than or equal to 0` for a set, negative integer.
pub fn validate_nonnegative(v: &Value, path: &[&str], field: &str, errs: &mut Errs) {
    if let Some(n) = get_i64(v, path)
        && n < 0
    {
        errs.push(FieldError::invalid(
            field,
            json!(n),
            "must be greater than or equal to 0",
        ));
    }
}

pub const PORT_RANGE_MSG: &str = "must be between 1 and 65535, inclusive";

pub fn valid_port(n: i64) -> bool {
    (1..=65535).contains(&n)
}

/// A port number field: must be 1–65535 when present (`required` makes absence an error).
pub fn validate_port_field(v: Option<&Value>, field: &str, required: bool, errs: &mut Errs) {
    match v.and_then(Value::as_i64) {
        Some(n) if !valid_port(n) => {
            errs.push(FieldError::invalid(field, json!(n), PORT_RANGE_MSG))
        }
        Some(_) => {}
        None if required => errs.push(FieldError::required(field, "")),
        None => {}
    }
}

pub const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];

pub fn validate_protocol(v: Option<&Value>, field: &str, errs: &mut Errs) {
    match v.and_then(Value::as_str) {
        None | Some("") => errs.push(FieldError::required(field, "")),
        Some(p) if !PROTOCOLS.contains(&p) => {
            errs.push(FieldError::not_supported(field, json!(p), PROTOCOLS))
        }
        Some(_) => {}
    }
}

/// Upstream's IsValidPortName (IANA_SVC_NAME): at most 15 characters of lower-case letters,
/// digits and '-', at least one letter, no leading, trailing or doubled '-'.
pub fn port_name_errors(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    if name.is_empty() || name.len() > 15 {
        out.push("must be no more than 15 characters".to_string());
    }
    if !name
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    {
        out.push(
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".to_string(),
        );
    }
    if name.contains("--") {
        out.push("must not contain consecutive hyphens".to_string());
    }
    if !name.bytes().any(|c| c.is_ascii_lowercase()) {
        out.push("must contain at least one letter (a-z)".to_string());
    }
    if name.starts_with('-') || name.ends_with('-') {
        out.push("must not begin or end with a hyphen".to_string());
    }
    out
}

/// A port given as a number or an IANA service name (targetPort, probe ports).
pub fn validate_port_num_or_name(v: Option<&Value>, field: &str, errs: &mut Errs) {
    match v {
        Some(Value::Number(n)) => {
            let n = n.as_i64().unwrap_or(0);
            if !valid_port(n) {
                errs.push(FieldError::invalid(field, json!(n), PORT_RANGE_MSG));
            }
        }
        Some(Value::String(s)) => {
            if s.is_empty() {
                errs.push(FieldError::required(field, ""));
            }
            for msg in port_name_errors(s) {
                errs.push(FieldError::invalid(field, json!(s), msg));
            }
        }
        None | Some(Value::Null) => errs.push(FieldError::required(field, "")),
        Some(other) => errs.push(FieldError::invalid(
            field,
            other.clone(),
            "must be an integer or a port name",
        )),
    }
}

pub const IP_MSG: &str = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";

pub fn parse_ip(s: &str) -> Option<IpAddr> {
    s.parse().ok()
}

pub fn validate_ip(s: &str, field: &str, errs: &mut Errs) {
    if parse_ip(s).is_none() {
        errs.push(FieldError::invalid(field, json!(s), IP_MSG));
    }
}

/// Endpoint addresses may not be special-purpose addresses a proxy can't reach.
pub fn validate_endpoint_ip(s: &str, field: &str, errs: &mut Errs) {
    let Some(ip) = parse_ip(s) else {
        errs.push(FieldError::invalid(field, json!(s), IP_MSG));
        return;
    };
    let reason = match ip {
        _ if ip.is_unspecified() => Some("may not be unspecified (0.0.0.0)"),
        _ if ip.is_loopback() => Some("may not be in the loopback range (127.0.0.0/8, ::1/128)"),
        IpAddr::V4(v4) if v4.is_link_local() => {
            Some("may not be in the link-local range (169.254.0.0/16, fe80::/10)")
        }
        IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 => {
            Some("may not be in the link-local range (169.254.0.0/16, fe80::/10)")
        }
        _ if ip.is_multicast() => {
            Some("may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)")
        }
        _ => None,
    };
    if let Some(reason) = reason {
        errs.push(FieldError::invalid(field, json!(s), reason));
    }
}

pub fn validate_cidr(s: &str, field: &str, errs: &mut Errs) {
    let ok = match s.split_once('/') {
        Some((ip, bits)) => match (parse_ip(ip), bits.parse::<u8>()) {
            (Some(IpAddr::V4(_)), Ok(b)) => b <= 32,
            (Some(IpAddr::V6(_)), Ok(b)) => b <= 128,
            _ => false,
        },
        None => false,
    };
    if !ok {
        errs.push(FieldError::invalid(
            field,
            json!(s),
            "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
        ));
    }
}

/// `Invalid value: <new>: field is immutable` when a field changed.
pub fn validate_immutable(new: Option<&Value>, old: Option<&Value>, field: &str, errs: &mut Errs) {
    let norm = |v: Option<&Value>| v.filter(|v| !v.is_null()).cloned();
    if norm(new) != norm(old) {
        errs.push(FieldError::invalid(
            field,
            new.cloned().unwrap_or(Value::Null),
            "field is immutable",
        ));
    }
}

pub fn validate_dns_label(s: &str, field: &str, errs: &mut Errs) {
    for msg in dns1123_label_errors(s) {
        errs.push(FieldError::invalid(field, json!(s), msg));
    }
}

pub fn validate_dns_subdomain(s: &str, field: &str, errs: &mut Errs) {
    for msg in dns1123_subdomain_errors(s) {
        errs.push(FieldError::invalid(field, json!(s), msg));
    }
}

pub fn validate_qualified_name(s: &str, field: &str, errs: &mut Errs) {
    for msg in qualified_name_errors(s) {
        errs.push(FieldError::invalid(field, json!(s), msg));
    }
}

/// Label keys and values (pod template labels, node selectors).
pub fn validate_labels(v: Option<&Value>, field: &str, errs: &mut Errs) {
    let Some(map) = v.and_then(Value::as_object) else {
        return;
    };
    for (k, val) in map {
        validate_qualified_name(k, field, errs);
        if let Some(s) = val.as_str() {
            for msg in label_value_errors(s) {
                errs.push(FieldError::invalid(field, json!(s), msg));
            }
        }
    }
}

/// Annotation keys and total size (pod template annotations).
pub fn validate_annotations(v: Option<&Value>, field: &str, errs: &mut Errs) {
    let Some(map) = v.and_then(Value::as_object) else {
        return;
    };
    let mut total = 0usize;
    for (k, val) in map {
        validate_qualified_name(&k.to_ascii_lowercase(), field, errs);
        total += k.len() + val.as_str().map_or(0, str::len);
    }
    const MAX: usize = 256 * 1024;
    if total > MAX {
        errs.push(FieldError::too_long(field, MAX));
    }
}

const SELECTOR_OPS: &[&str] = &["In", "NotIn", "Exists", "DoesNotExist"];

/// A metav1.LabelSelector: keys and values of matchLabels, operators and values of
/// matchExpressions.
pub fn validate_label_selector(sel: &Value, field: &str, errs: &mut Errs) {
    validate_labels(
        sel.get("matchLabels"),
        &format!("{field}.matchLabels"),
        errs,
    );
    for (i, expr) in array(sel, &["matchExpressions"]).iter().enumerate() {
        let p = format!("{field}.matchExpressions[{i}]");
        let op = str_or_empty(expr, &["operator"]);
        let values = array(expr, &["values"]);
        match op {
            "In" | "NotIn" if values.is_empty() => errs.push(FieldError::required(
                format!("{p}.values"),
                "must be specified when `operator` is 'In' or 'NotIn'",
            )),
            "Exists" | "DoesNotExist" if !values.is_empty() => errs.push(FieldError::forbidden(
                format!("{p}.values"),
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            )),
            o if !SELECTOR_OPS.contains(&o) => errs.push(FieldError::invalid(
                format!("{p}.operator"),
                json!(o),
                "not a valid selector operator",
            )),
            _ => {}
        }
        validate_qualified_name(str_or_empty(expr, &["key"]), &format!("{p}.key"), errs);
        for v in values {
            if let Some(s) = v.as_str() {
                for msg in label_value_errors(s) {
                    errs.push(FieldError::invalid(format!("{p}.values"), json!(s), msg));
                }
            }
        }
    }
}

/// Whether a metav1.LabelSelector has no requirements at all (matches everything).
pub fn selector_is_empty(sel: &Value) -> bool {
    object(sel, &["matchLabels"]).is_none_or(Map::is_empty)
        && array(sel, &["matchExpressions"]).is_empty()
}

/// Whether `labels` satisfy a metav1.LabelSelector.
pub fn selector_matches(sel: &Value, labels: Option<&Value>) -> bool {
    let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    let labels_ok = object(sel, &["matchLabels"]).is_none_or(|m| {
        m.iter()
            .all(|(k, v)| v.as_str().is_some_and(|v| label(k) == Some(v)))
    });
    labels_ok
        && array(sel, &["matchExpressions"]).iter().all(|e| {
            let key = str_or_empty(e, &["key"]);
            let values: Vec<&str> = array(e, &["values"])
                .iter()
                .filter_map(Value::as_str)
                .collect();
            match str_or_empty(e, &["operator"]) {
                "In" => label(key).is_some_and(|v| values.contains(&v)),
                "NotIn" => label(key).is_none_or(|v| !values.contains(&v)),
                "Exists" => label(key).is_some(),
                "DoesNotExist" => label(key).is_none(),
                _ => false,
            }
        })
}

/// Whether `labels` satisfy a plain map selector (ReplicationController, Service).
pub fn map_selector_matches(sel: &Map<String, Value>, labels: Option<&Value>) -> bool {
    sel.iter().all(|(k, v)| {
        labels
            .and_then(|l| l.get(k))
            .is_some_and(|lv| Some(lv) == Some(v))
    })
}

// ---------------------------------------------------------------------------------------------
// Quantities

/// A resource.Quantity in units of 10⁻⁹ (machinery's exact parser, as upstream's);
/// `None` for malformed or out-of-range input.
pub fn parse_quantity(s: &str) -> Option<i128> {
    machinery::quantity::Quantity::parse(s.trim())
        .ok()
        .map(|q| q.nano_value())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        let cases: &[(&str, Option<i128>)] = &[
            ("1", Some(1_000_000_000)),
            ("1000m", Some(1_000_000_000)),
            ("0.5", Some(500_000_000)),
            ("500m", Some(500_000_000)),
            ("1Ki", Some(1024 * 1_000_000_000)),
            ("1Gi", Some((1i128 << 30) * 1_000_000_000)),
            ("1e3", Some(1_000_000_000_000)),
            ("1k", Some(1_000_000_000_000)),
            ("-2", Some(-2_000_000_000)),
            ("100n", Some(100)),
            ("1.5Gi", Some((3i128 << 29) * 1_000_000_000)),
            ("", None),
            ("abc", None),
            ("1Xi", None),
            ("1..2", None),
            ("1e", None),
        ];
        for (s, want) in cases {
            assert_eq!(parse_quantity(s), *want, "{s}");
        }
    }

    #[test]
    fn selectors_match() {
        let sel = json!({"matchLabels": {"app": "web"}, "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["fe", "be"]},
            {"key": "canary", "operator": "DoesNotExist"}
        ]});
        assert!(selector_matches(
            &sel,
            Some(&json!({"app": "web", "tier": "fe"}))
        ));
        assert!(!selector_matches(
            &sel,
            Some(&json!({"app": "web", "tier": "db"}))
        ));
        assert!(!selector_matches(
            &sel,
            Some(&json!({"app": "web", "tier": "fe", "canary": "1"}))
        ));
        assert!(!selector_matches(&sel, None));
        assert!(selector_is_empty(&json!({})));
        let mut errs = Vec::new();
        validate_label_selector(
            &json!({"matchExpressions": [{"key": "a", "operator": "In"}, {"key": "b", "operator": "Bad"}]}),
            "spec.selector",
            &mut errs,
        );
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[0].field, "spec.selector.matchExpressions[0].values");
        assert_eq!(errs[1].field, "spec.selector.matchExpressions[1].operator");
    }

    #[test]
    fn port_names() {
        assert!(port_name_errors("http").is_empty());
        assert!(port_name_errors("http-alt2").is_empty());
        assert!(!port_name_errors("8080").is_empty());
        assert!(!port_name_errors("a--b").is_empty());
        assert!(!port_name_errors("Http").is_empty());
        assert!(!port_name_errors("averyveryverylongname").is_empty());
    }

    #[test]
    fn endpoint_ips() {
        for (ip, ok) in [
            ("10.1.2.3", true),
            ("127.0.0.1", false),
            ("169.254.1.1", false),
            ("::1", false),
            ("x", false),
            ("fe80::1", false),
            ("2001:db8::1", true),
        ] {
            let mut errs = Vec::new();
            validate_endpoint_ip(ip, "ip", &mut errs);
            assert_eq!(errs.is_empty(), ok, "{ip}");
        }
    }

    #[test]
    fn defaults_respect_go_zero_values() {
        let mut m = Map::new();
        m.insert("a".into(), json!(""));
        m.insert("b".into(), json!(0));
        m.insert("c".into(), json!(false));
        default_str(&mut m, "a", "x");
        default_nonzero(&mut m, "b", 3);
        default_value(&mut m, "c", json!(true));
        default_value(&mut m, "d", json!(1));
        assert_eq!(
            Value::Object(m),
            json!({"a": "x", "b": 3, "c": false, "d": 1})
        );
    }
}
