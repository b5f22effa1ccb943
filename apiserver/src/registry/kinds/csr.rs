//! certificates.k8s.io/v1 CertificateSigningRequests: the requester's identity is taken from
//! the request (never from the body), spec is immutable, `/status` may set the certificate
//! once but not touch approval, and `/approval` changes only the conditions (upstream's
//! csrStrategy, csrStatusStrategy and csrApprovalStrategy with their validation).

use machinery::FieldError;
use rustls::pki_types::pem::{PemObject, SectionKind};
use serde_json::{Map, Value, json};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::FromDer;

use super::common::*;
use crate::auth::UserInfo;
use crate::registry::strategy::Strategy;

/// The signer of kubelet client certificates, which the built-in approver and signer serve.
pub const KUBE_APISERVER_CLIENT_KUBELET: &str = "kubernetes.io/kube-apiserver-client-kubelet";
pub const LEGACY_UNKNOWN_SIGNER: &str = "kubernetes.io/legacy-unknown";
pub const APPROVED: &str = "Approved";
pub const DENIED: &str = "Denied";
pub const FAILED: &str = "Failed";

/// Every key usage upstream accepts, sorted as its error messages list them.
pub const VALID_USAGES: &[&str] = &[
    "any",
    "cert sign",
    "client auth",
    "code signing",
    "content commitment",
    "crl sign",
    "data encipherment",
    "decipher only",
    "digital signature",
    "email protection",
    "encipher only",
    "ipsec end system",
    "ipsec tunnel",
    "ipsec user",
    "key agreement",
    "key encipherment",
    "microsoft sgc",
    "netscape sgc",
    "ocsp signing",
    "s/mime",
    "server auth",
    "signing",
    "timestamping",
];

/// Condition types that may only be `True` (upstream's trueConditionTypes).
const TRUE_ONLY: &[&str] = &[APPROVED, DENIED, FAILED];
const ALL_STATUSES: &[&str] = &["False", "True", "Unknown"];

pub struct CsrStrategy;

impl Strategy for CsrStrategy {
    fn prepare_for_create(&self, obj: &mut Value) {
        // Users cannot create pre-approved or pre-signed requests.
        if let Some(m) = obj.as_object_mut() {
            m.insert("status".into(), json!({}));
        }
    }

    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        // The request, its requester and its signer never change after creation; status
        // (kept by the generic store) changes only through /status and /approval.
        keep_from_old(new, old, "spec");
    }

    fn prepare_for_status_update(&self, new: &mut Value, old: &Value) {
        keep_from_old(new, old, "spec");
        // Approval is /approval's alone: Approved/Denied conditions written through /status
        // are replaced by the stored ones (adding or removing them then fails validation).
        for kind in [APPROVED, DENIED] {
            preserve_condition_instances(new, old, kind);
        }
        populate_condition_timestamps(new, old);
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_csr(obj)
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        validate_csr_update(new, old, Allow::default())
    }

    fn validate_status_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        validate_csr_update(
            new,
            old,
            Allow {
                certificate: true,
                ..Allow::default()
            },
        )
    }

    fn status_via_subresource(&self) -> bool {
        true
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        match field {
            "spec.signerName" => Some(str_or_empty(obj, &["spec", "signerName"]).to_string()),
            _ => None,
        }
    }
}

/// Fills spec.username, uid, groups and extra from the authenticated requester, replacing
/// whatever the client sent (upstream's PrepareForCreate reads them from the request
/// context). Call on a create's body before it is stored.
pub fn set_requester(obj: &mut Value, user: &UserInfo) {
    let Some(m) = obj.as_object_mut() else {
        return;
    };
    let spec = m.entry("spec").or_insert_with(|| json!({}));
    let Some(spec) = spec.as_object_mut() else {
        return;
    };
    spec.insert("username".into(), json!(user.name));
    if user.uid.is_empty() {
        spec.remove("uid");
    } else {
        spec.insert("uid".into(), json!(user.uid));
    }
    spec.insert("groups".into(), json!(user.groups));
    // This server's identities carry no extra attributes; nothing the client sent may
    // pretend otherwise.
    spec.remove("extra");
}

/// A `/approval` write: only status.conditions (and labels/annotations) come from the
/// client; spec and the issued certificate stay (upstream's csrApprovalStrategy).
pub fn prepare_for_approval_update(new: &Value, old: &Value) -> Value {
    let mut merged = old.clone();
    let conditions = new.pointer("/status/conditions").cloned();
    if let Some(m) = merged.as_object_mut() {
        let status = m.entry("status").or_insert_with(|| json!({}));
        if !status.is_object() {
            *status = json!({});
        }
        if let Some(s) = status.as_object_mut() {
            match conditions {
                Some(c) => s.insert("conditions".into(), c),
                None => s.remove("conditions"),
            };
        }
        if let (Some(dm), Some(sm)) = (
            m.get_mut("metadata").and_then(Value::as_object_mut),
            new.get("metadata").and_then(Value::as_object),
        ) {
            for field in ["labels", "annotations"] {
                match sm.get(field) {
                    Some(v) => dm.insert(field.into(), v.clone()),
                    None => dm.remove(field),
                };
            }
        }
    }
    populate_condition_timestamps(&mut merged, old);
    merged
}

pub fn validate_approval_update(new: &Value, old: &Value) -> Vec<FieldError> {
    validate_csr_update(
        new,
        old,
        Allow {
            approval: true,
            ..Allow::default()
        },
    )
}

/// What a write path may change beyond what every update may.
#[derive(Debug, Clone, Copy, Default)]
struct Allow {
    approval: bool,
    certificate: bool,
}

fn conditions(obj: &Value) -> &[Value] {
    array(obj, &["status", "conditions"])
}

fn condition_type(c: &Value) -> &str {
    str_or_empty(c, &["type"])
}

fn conditions_of<'a>(obj: &'a Value, kind: &str) -> Vec<&'a Value> {
    conditions(obj)
        .iter()
        .filter(|c| condition_type(c) == kind)
        .collect()
}

/// Whether the request carries a condition of `kind` with status True.
pub fn has_condition(obj: &Value, kind: &str) -> bool {
    conditions_of(obj, kind)
        .iter()
        .any(|c| str_or_empty(c, &["status"]) == "True")
}

/// Replaces the conditions of `kind` in `new` by those of `old`, in place when the counts
/// match (so their order is kept), else appended, as upstream's preserveConditionInstances.
fn preserve_condition_instances(new: &mut Value, old: &Value, kind: &str) {
    let old_instances: Vec<Value> = conditions_of(old, kind).into_iter().cloned().collect();
    let Some(list) = new
        .pointer_mut("/status/conditions")
        .and_then(Value::as_array_mut)
    else {
        if !old_instances.is_empty()
            && let Some(status) = object_at(new, &["status"])
        {
            status.insert("conditions".into(), Value::Array(old_instances));
        }
        return;
    };
    let new_count = list.iter().filter(|c| condition_type(c) == kind).count();
    if new_count == old_instances.len() {
        let mut replacements = old_instances.into_iter();
        for c in list.iter_mut().filter(|c| condition_type(c) == kind) {
            if let Some(r) = replacements.next() {
                *c = r;
            }
        }
    } else {
        list.retain(|c| condition_type(c) != kind);
        list.extend(old_instances);
    }
}

/// Conditions without timestamps get now; a condition whose status did not change keeps
/// its old lastTransitionTime.
fn populate_condition_timestamps(new: &mut Value, old: &Value) {
    let now = now_rfc3339();
    let old_conditions: Vec<Value> = conditions(old).to_vec();
    if let Some(list) = new
        .pointer_mut("/status/conditions")
        .and_then(Value::as_array_mut)
    {
        for c in list.iter_mut().filter_map(Value::as_object_mut) {
            let is_unset =
                |m: &Map<String, Value>, k: &str| m.get(k).is_none_or(|v| v.is_null() || v == "");
            if is_unset(c, "lastUpdateTime") {
                c.insert("lastUpdateTime".into(), json!(now));
            }
            if is_unset(c, "lastTransitionTime") {
                let kind = c.get("type").and_then(Value::as_str).unwrap_or("");
                let status = c.get("status").and_then(Value::as_str).unwrap_or("");
                let previous = old_conditions
                    .iter()
                    .find(|o| condition_type(o) == kind && str_or_empty(o, &["status"]) == status)
                    .and_then(|o| o.get("lastTransitionTime"))
                    .filter(|v| v.is_string())
                    .cloned();
                c.insert(
                    "lastTransitionTime".into(),
                    previous.unwrap_or_else(|| json!(now)),
                );
            }
        }
    }
}

/// A parsed, signature-checked PKCS#10 request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedRequest {
    pub der: Vec<u8>,
    pub common_name: String,
    pub organizations: Vec<String>,
    /// Whether the request asks for any subject alternative name (DNS, IP, email, URI).
    pub has_alt_names: bool,
}

/// spec.request as stored: base64 of a PEM `CERTIFICATE REQUEST` block.
pub fn request_pem(obj: &Value) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    let encoded = str_or_empty(obj, &["spec", "request"]);
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|e| format!("spec.request is not base64: {e}"))
}

/// Parses a PEM CSR and checks its signature, with upstream's error wording where it has
/// one.
pub fn parse_request(pem: &[u8]) -> Result<ParsedRequest, String> {
    let (kind, der) = <(SectionKind, Vec<u8>)>::from_pem_slice(pem)
        .map_err(|_| "PEM block type must be CERTIFICATE REQUEST".to_string())?;
    if kind != SectionKind::Csr {
        return Err("PEM block type must be CERTIFICATE REQUEST".into());
    }
    let (_, csr) = X509CertificationRequest::from_der(&der)
        .map_err(|e| format!("x509: malformed certificate request: {e}"))?;
    csr.verify_signature()
        .map_err(|e| format!("x509: signature verification failure: {e}"))?;
    let subject = &csr.certification_request_info.subject;
    let common_name = subject
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .unwrap_or("")
        .to_string();
    let organizations = subject
        .iter_organization()
        .filter_map(|o| o.as_str().ok())
        .map(str::to_string)
        .collect();
    let has_alt_names = csr.requested_extensions().is_some_and(|mut exts| {
        exts.any(|e| {
            matches!(e, ParsedExtension::SubjectAlternativeName(san) if !san.general_names.is_empty())
        })
    });
    Ok(ParsedRequest {
        der: der.clone(),
        common_name,
        organizations,
        has_alt_names,
    })
}

fn validate_csr(obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let request = str_or_empty(spec, &["request"]);
    if let Err(message) = request_pem(obj).and_then(|pem| parse_request(&pem)) {
        errs.push(FieldError::invalid("spec.request", json!(request), message));
    }
    let usages = array(spec, &["usages"]);
    if usages.is_empty() {
        errs.push(FieldError::required(
            "spec.usages",
            "usages must be provided",
        ));
    }
    let mut seen: Vec<&str> = Vec::new();
    for (i, usage) in usages.iter().enumerate() {
        let u = usage.as_str().unwrap_or("");
        if !VALID_USAGES.contains(&u) {
            errs.push(FieldError::not_supported(
                format!("spec.usages[{i}]"),
                usage.clone(),
                VALID_USAGES,
            ));
        }
        if seen.contains(&u) {
            errs.push(FieldError::duplicate(
                format!("spec.usages[{i}]"),
                usage.clone(),
            ));
        }
        seen.push(u);
    }
    let signer = str_or_empty(spec, &["signerName"]);
    if signer == LEGACY_UNKNOWN_SIGNER {
        errs.push(FieldError::invalid(
            "spec.signerName",
            json!(signer),
            "the legacy signerName is not allowed via this API version",
        ));
    } else {
        validate_signer_name(signer, &mut errs);
    }
    if let Some(seconds) = get_i64(spec, &["expirationSeconds"])
        && seconds < 600
    {
        errs.push(FieldError::invalid(
            "spec.expirationSeconds",
            json!(seconds),
            "may not specify a duration less than 600 seconds (10 minutes)",
        ));
    }
    validate_conditions(obj, &mut errs);
    if let Err(message) = validate_certificate(str_or_empty(obj, &["status", "certificate"])) {
        errs.push(FieldError::invalid(
            "status.certificate",
            json!("<certificate data>"),
            message,
        ));
    }
    errs
}

/// `<fully qualified domain>/<path>`, as upstream's ValidateCertificateSigningRequestSignerName.
fn validate_signer_name(signer: &str, errs: &mut Errs) {
    const FIELD: &str = "spec.signerName";
    if signer.is_empty() {
        errs.push(FieldError::required(FIELD, "signerName must be provided"));
        return;
    }
    let segments: Vec<&str> = signer.split('/').collect();
    let [domain, path] = segments.as_slice() else {
        errs.push(FieldError::invalid(
            FIELD,
            json!(signer),
            "must be a fully qualified domain and path of the form 'example.com/signer-name'",
        ));
        return;
    };
    if domain.len() > 253 {
        errs.push(FieldError::too_long(FIELD, 253));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    for label in &labels {
        let problems = machinery::validation::dns1123_label_errors(label);
        if !problems.is_empty() {
            for p in problems {
                errs.push(FieldError::invalid(
                    FIELD,
                    json!(domain),
                    format!("validating label \"{label}\": {p}"),
                ));
            }
            break;
        }
    }
    if labels.len() < 2 {
        errs.push(FieldError::invalid(
            FIELD,
            json!(domain),
            "should be a domain with at least two segments separated by dots",
        ));
    }
    for label in path.split('.') {
        let problems = machinery::validation::dns1123_subdomain_errors(label);
        if !problems.is_empty() {
            for p in problems {
                errs.push(FieldError::invalid(
                    FIELD,
                    json!(path),
                    format!("validating label \"{label}\": {p}"),
                ));
            }
            break;
        }
    }
    let max = 253 + (253 + 63 + 1) + 1;
    if signer.len() > max {
        errs.push(FieldError::too_long(FIELD, max));
    }
}

fn validate_conditions(obj: &Value, errs: &mut Errs) {
    let mut seen: Vec<&str> = Vec::new();
    let (mut approved, mut denied) = (false, false);
    for (i, c) in conditions(obj).iter().enumerate() {
        let kind = condition_type(c);
        let field = |f: &str| format!("status.conditions[{i}].{f}");
        if kind.is_empty() {
            errs.push(FieldError::required(field("type"), ""));
        }
        let status = str_or_empty(c, &["status"]);
        let allowed: &[&str] = if TRUE_ONLY.contains(&kind) {
            &["True"]
        } else {
            ALL_STATUSES
        };
        if status.is_empty() {
            errs.push(FieldError::required(field("status"), ""));
        } else if !allowed.contains(&status) {
            errs.push(FieldError::not_supported(
                field("status"),
                json!(status),
                allowed,
            ));
        }
        match kind {
            APPROVED => {
                approved = true;
                if denied {
                    errs.push(FieldError::invalid(
                        field("type"),
                        json!(kind),
                        "Approved and Denied conditions are mutually exclusive",
                    ));
                }
            }
            DENIED => {
                denied = true;
                if approved {
                    errs.push(FieldError::invalid(
                        field("type"),
                        json!(kind),
                        "Approved and Denied conditions are mutually exclusive",
                    ));
                }
            }
            _ => {}
        }
        if seen.contains(&kind) {
            errs.push(FieldError::duplicate(field("type"), json!(kind)));
        }
        seen.push(kind);
    }
}

/// status.certificate: empty, or only CERTIFICATE PEM blocks that parse (stored base64).
fn validate_certificate(encoded: &str) -> Result<(), String> {
    use base64::Engine as _;
    if encoded.is_empty() {
        return Ok(());
    }
    let pem = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|e| format!("not base64: {e}"))?;
    let mut blocks = 0;
    for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(&pem) {
        let (kind, der) = section.map_err(|e| format!("invalid PEM: {e:?}"))?;
        if kind != SectionKind::Certificate {
            return Err(format!(
                "only CERTIFICATE PEM blocks are allowed, found {kind:?}"
            ));
        }
        x509_parser::parse_x509_certificate(&der)
            .map_err(|e| format!("x509: malformed certificate: {e}"))?;
        blocks += 1;
    }
    if blocks == 0 {
        return Err("must contain at least one CERTIFICATE PEM block".into());
    }
    Ok(())
}

fn validate_csr_update(new: &Value, old: &Value, allow: Allow) -> Vec<FieldError> {
    let mut errs = validate_csr(new);
    for kind in [APPROVED, DENIED, FAILED] {
        if conditions_of(new, kind).len() < conditions_of(old, kind).len() {
            errs.push(FieldError::forbidden(
                "status.conditions",
                format!("updates may not remove a condition of type \"{kind}\""),
            ));
        }
    }
    if !allow.approval {
        for kind in [APPROVED, DENIED] {
            let (o, n) = (conditions_of(old, kind), conditions_of(new, kind));
            if n.len() > o.len() {
                errs.push(FieldError::forbidden(
                    "status.conditions",
                    format!("updates may not add a condition of type \"{kind}\""),
                ));
            } else if n.len() == o.len() && n != o {
                errs.push(FieldError::forbidden(
                    "status.conditions",
                    format!("updates may not modify a condition of type \"{kind}\""),
                ));
            }
        }
    }
    let (new_cert, old_cert) = (
        str_or_empty(new, &["status", "certificate"]),
        str_or_empty(old, &["status", "certificate"]),
    );
    if new_cert != old_cert {
        if !allow.certificate {
            errs.push(FieldError::forbidden(
                "status.certificate",
                "updates may not set certificate content",
            ));
        } else if !old_cert.is_empty() {
            errs.push(FieldError::forbidden(
                "status.certificate",
                "updates may not modify existing certificate content",
            ));
        }
    }
    errs
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    fn csr_pem(cn: &str, orgs: &[&str]) -> String {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        for o in orgs {
            params
                .distinguished_name
                .push(rcgen::DnType::OrganizationName, *o);
        }
        params.serialize_request(&key).unwrap().pem().unwrap()
    }

    fn valid() -> Value {
        json!({
            "metadata": {"name": "node-csr-1"},
            "spec": {
                "request": b64(&csr_pem("system:node:n1", &["system:nodes"])),
                "signerName": KUBE_APISERVER_CLIENT_KUBELET,
                "usages": ["digital signature", "client auth"],
            },
        })
    }

    fn fields(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(|e| e.field.clone()).collect()
    }

    #[test]
    fn parses_subject_of_a_request() {
        let parsed =
            parse_request(csr_pem("system:node:n1", &["system:nodes"]).as_bytes()).unwrap();
        assert_eq!(parsed.common_name, "system:node:n1");
        assert_eq!(parsed.organizations, vec!["system:nodes"]);
        assert!(!parsed.has_alt_names);
        let err = parse_request(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        assert!(err.is_err());
    }

    #[test]
    fn create_validation_matches_upstream() {
        assert_eq!(
            fields(&CsrStrategy.validate(&valid())),
            Vec::<String>::new()
        );
        type Mutation = Box<dyn Fn(&mut Value)>;
        let cases: Vec<(&str, Mutation, &str)> = vec![
            (
                "bad request",
                Box::new(|o| o["spec"]["request"] = json!(b64("nope"))),
                "spec.request",
            ),
            (
                "no usages",
                Box::new(|o| o["spec"]["usages"] = json!([])),
                "spec.usages",
            ),
            (
                "unknown usage",
                Box::new(|o| o["spec"]["usages"] = json!(["client auth", "flying"])),
                "spec.usages[1]",
            ),
            (
                "duplicate usage",
                Box::new(|o| o["spec"]["usages"] = json!(["client auth", "client auth"])),
                "spec.usages[1]",
            ),
            (
                "no signer",
                Box::new(|o| o["spec"]["signerName"] = json!("")),
                "spec.signerName",
            ),
            (
                "signer without path",
                Box::new(|o| o["spec"]["signerName"] = json!("example.com")),
                "spec.signerName",
            ),
            (
                "legacy signer",
                Box::new(|o| o["spec"]["signerName"] = json!(LEGACY_UNKNOWN_SIGNER)),
                "spec.signerName",
            ),
            (
                "short expiration",
                Box::new(|o| o["spec"]["expirationSeconds"] = json!(599)),
                "spec.expirationSeconds",
            ),
            (
                "approved and denied",
                Box::new(|o| {
                    o["status"] = json!({"conditions": [
                        {"type": "Approved", "status": "True"},
                        {"type": "Denied", "status": "True"}]})
                }),
                "status.conditions[1].type",
            ),
            (
                "approved false",
                Box::new(|o| {
                    o["status"] = json!({"conditions": [{"type": "Approved", "status": "False"}]})
                }),
                "status.conditions[0].status",
            ),
            (
                "certificate not PEM",
                Box::new(|o| o["status"] = json!({"certificate": b64("junk")})),
                "status.certificate",
            ),
        ];
        for (name, mutate, field) in cases {
            let mut obj = valid();
            mutate(&mut obj);
            let got = fields(&CsrStrategy.validate(&obj));
            assert!(got.contains(&field.to_string()), "{name}: {got:?}");
        }
    }

    #[test]
    fn requester_comes_from_the_request() {
        let mut obj = valid();
        obj["spec"]["username"] = json!("admin");
        obj["spec"]["extra"] = json!({"x": ["y"]});
        let user = UserInfo::authenticated(
            "system:bootstrap:abcdef".into(),
            String::new(),
            vec!["system:bootstrappers".into()],
        );
        set_requester(&mut obj, &user);
        assert_eq!(obj["spec"]["username"], "system:bootstrap:abcdef");
        assert_eq!(
            obj["spec"]["groups"],
            json!(["system:bootstrappers", "system:authenticated"])
        );
        assert!(obj["spec"].get("extra").is_none());
        assert!(obj["spec"].get("uid").is_none());
    }

    #[test]
    fn status_cannot_approve_and_approval_cannot_sign() {
        let old = valid();
        // /status adding Approved: the stored (absent) approval wins.
        let mut new = old.clone();
        new["status"] = json!({"conditions": [{"type": "Approved", "status": "True"}]});
        CsrStrategy.prepare_for_status_update(&mut new, &old);
        assert!(!has_condition(&new, APPROVED));
        // /approval keeps status.certificate from the old object.
        let mut signed = old.clone();
        signed["status"] = json!({"certificate": "b2xk"});
        let mut asked = signed.clone();
        asked["status"] = json!({"certificate": "bmV3", "conditions": [
            {"type": "Approved", "status": "True", "reason": "R"}]});
        let merged = prepare_for_approval_update(&asked, &signed);
        assert_eq!(merged["status"]["certificate"], "b2xk");
        assert!(has_condition(&merged, APPROVED));
        assert!(merged["status"]["conditions"][0]["lastUpdateTime"].is_string());
        // Approval through the main resource is forbidden.
        let errs = CsrStrategy.validate_update(&merged, &old);
        assert!(
            errs.iter().any(|e| e
                .message()
                .contains("may not add a condition of type \"Approved\"")),
            "{errs:?}"
        );
        let approved = prepare_for_approval_update(&asked, &old);
        let errs = validate_approval_update(&approved, &old);
        assert!(errs.is_empty(), "{errs:?}");
        // Removing an approval is forbidden everywhere.
        let errs = validate_approval_update(&old, &approved);
        assert!(
            errs.iter()
                .any(|e| e.message().contains("may not remove a condition")),
            "{errs:?}"
        );
    }

    /// kubectl's typed client (`kubectl certificate approve`) sends protobuf.
    #[test]
    fn protobuf_round_trip() {
        let mut obj = valid();
        obj["apiVersion"] = json!("certificates.k8s.io/v1");
        obj["kind"] = json!("CertificateSigningRequest");
        obj["spec"]["username"] = json!("system:bootstrap:abcdef");
        obj["spec"]["groups"] = json!(["system:bootstrappers"]);
        obj["spec"]["expirationSeconds"] = json!(3600);
        obj["status"] = json!({
            "conditions": [{"type": "Approved", "status": "True", "reason": "KubectlApprove",
                "message": "m", "lastUpdateTime": "2024-01-01T00:00:00Z",
                "lastTransitionTime": "2024-01-01T00:00:00Z"}],
            "certificate": b64("pem"),
        });
        let bytes = proto::encode_object(&obj).unwrap();
        assert_eq!(proto::decode_object(&bytes).unwrap(), obj);
    }

    #[test]
    fn certificate_is_set_once_through_status() {
        let old = valid();
        let mut new = old.clone();
        new["status"] = json!({"certificate": "x"});
        assert!(
            CsrStrategy
                .validate_update(&new, &old)
                .iter()
                .any(|e| e.field == "status.certificate")
        );
        let mut with_cert = old.clone();
        with_cert["status"] = json!({"certificate": "y"});
        assert!(
            CsrStrategy
                .validate_status_update(&new, &with_cert)
                .iter()
                .any(|e| e.message().contains("may not modify existing certificate"))
        );
    }
}
