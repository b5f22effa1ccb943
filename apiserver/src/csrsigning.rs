//! Approving and signing CertificateSigningRequests inside the API server, which holds the
//! cluster CA key in its cert dir (upstream runs the same two controllers, csrapproving and
//! csrsigning, in kube-controller-manager with `--cluster-signing-cert-file/key-file`).
//!
//! - Approver: auto-approves (condition Approved, reason AutoApproved) only node client
//!   certificates for signer `kubernetes.io/kube-apiserver-client-kubelet` — subject
//!   `CN=system:node:<name>, O=system:nodes`, no subject alternative names, usages `client
//!   auth` plus at most `digital signature` and `key encipherment` — requested by a
//!   bootstrap-token user (`system:bootstrappers`) or by that same node renewing its
//!   certificate. Everything else stays pending for `kubectl certificate approve|deny`.
//! - Signer: signs approved requests for `kubernetes.io/kube-apiserver-client-kubelet` and
//!   `kubernetes.io/kube-apiserver-client` with the cluster CA (validity: the requested
//!   spec.expirationSeconds, at most `max_duration`, one year by default) and writes
//!   status.certificate; a request the signer's rules refuse gets condition Failed.
//!
//! In an HA set-up every API server runs this task; they share one cert dir content (the
//! same CA), and the writes are compare-and-swap updates that skip requests already
//! approved or signed, so two servers never issue two certificates for one request.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use machinery::{ApiError, ResourceInfo};
use rcgen::{
    CertificateSigningRequestParams, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose, SerialNumber,
};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use crate::ApiState;
use crate::bootstraptoken::BOOTSTRAPPERS_GROUP;
use crate::registry::kinds::csr::{
    self, APPROVED, DENIED, FAILED, KUBE_APISERVER_CLIENT_KUBELET, ParsedRequest,
};
use crate::registry::store::WriteOptions;
use crate::tls::{CertPaths, load_ca};
use crate::watchcache::{EventType, WatchCache};

pub const KUBE_APISERVER_CLIENT: &str = "kubernetes.io/kube-apiserver-client";
const NODE_USER_PREFIX: &str = "system:node:";
const NODES_GROUP: &str = "system:nodes";
/// Upstream backdates issued certificates so clients with clocks a little behind accept them.
const BACKDATE: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, Clone)]
pub struct SignerConfig {
    /// Longest validity of an issued certificate (kube-controller-manager's
    /// `--cluster-signing-duration`, default one year).
    pub max_duration: Duration,
    /// How often every pending request is looked at again, besides watch events.
    pub resync: Duration,
}

impl Default for SignerConfig {
    fn default() -> Self {
        Self {
            max_duration: Duration::from_secs(365 * 24 * 60 * 60),
            resync: Duration::from_secs(30),
        }
    }
}

/// Runs the approver and signer until the task is aborted.
pub async fn run(state: Arc<ApiState>, paths: CertPaths, config: SignerConfig) {
    let Some(info) =
        state
            .registry
            .table
            .lookup("certificates.k8s.io", "v1", "certificatesigningrequests")
    else {
        return;
    };
    let prefix = info.list_prefix(None);
    let Some(cache) = state.registry.caches.cache_for(&prefix) else {
        tracing::warn!(%prefix, "no watch cache for CertificateSigningRequests; signer off");
        return;
    };
    loop {
        watch_once(&state, &info, &cache, &paths, &config).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn watch_once(
    state: &ApiState,
    info: &ResourceInfo,
    cache: &WatchCache,
    paths: &CertPaths,
    config: &SignerConfig,
) {
    let start = match cache.start_watch(None) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "watching CertificateSigningRequests");
            return;
        }
    };
    for obj in &start.initial_objects {
        handle(state, info, &obj.object, paths, config).await;
    }
    let mut live = start.live;
    let mut resync = tokio::time::interval(config.resync);
    resync.tick().await;
    loop {
        tokio::select! {
            event = live.recv() => match event {
                Ok(ev) => {
                    if ev.event_type != EventType::Deleted && ev.object.key.starts_with(cache.prefix()) {
                        handle(state, info, &ev.object.object, paths, config).await;
                    }
                }
                // Fell behind or the cache restarted: start over from the current state.
                Err(RecvError::Lagged(_)) | Err(RecvError::Closed) => return,
            },
            _ = resync.tick() => {
                let (objects, _) = cache.snapshot(cache.prefix());
                for obj in objects {
                    handle(state, info, &obj.object, paths, config).await;
                }
            }
        }
    }
}

fn write_options() -> WriteOptions {
    WriteOptions {
        field_manager: Some("certificatesigningrequest-signing-controller".into()),
        ..WriteOptions::default()
    }
}

fn is_finished(obj: &Value) -> bool {
    csr::has_condition(obj, DENIED)
        || csr::has_condition(obj, FAILED)
        || !csr_str(obj, "/status/certificate").is_empty()
}

fn csr_str<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn usages(obj: &Value) -> Vec<&str> {
    obj.pointer("/spec/usages")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

async fn handle(
    state: &ApiState,
    info: &ResourceInfo,
    obj: &Value,
    paths: &CertPaths,
    config: &SignerConfig,
) {
    if is_finished(obj) {
        return;
    }
    let name = csr_str(obj, "/metadata/name").to_string();
    let mut current = obj.clone();
    if !csr::has_condition(&current, APPROVED) {
        let Some(message) = auto_approval(&current) else {
            return;
        };
        match approve(state, info, &name, message).await {
            Ok(updated) => current = updated,
            Err(e) => {
                tracing::warn!(csr = %name, error = %e, "approving");
                return;
            }
        }
        if !csr::has_condition(&current, APPROVED) || is_finished(&current) {
            return;
        }
    }
    let signer = csr_str(&current, "/spec/signerName");
    if signer != KUBE_APISERVER_CLIENT_KUBELET && signer != KUBE_APISERVER_CLIENT {
        return;
    }
    let result = match signer_check(&current) {
        Ok(()) => sign(&current, paths, config),
        Err(reason) => Err(SignError::Refused(reason)),
    };
    let outcome = match result {
        Ok(pem) => write_certificate(state, info, &name, &pem).await,
        Err(SignError::Refused(message)) => {
            tracing::info!(csr = %name, %message, "refusing to sign");
            write_failed(state, info, &name, &message).await
        }
        Err(SignError::Internal(message)) => {
            // The CA is unreadable or signing broke: retried on the next resync.
            tracing::warn!(csr = %name, %message, "signing");
            return;
        }
    };
    if let Err(e) = outcome {
        tracing::warn!(csr = %name, error = %e, "writing signing result");
    }
}

/// Whether `parsed` with `usages` is a kubelet client certificate request, as upstream's
/// ValidateKubeletClientCSR (plus a request for `client auth` alone).
fn kubelet_client_problem(parsed: &ParsedRequest, usages: &[&str]) -> Option<String> {
    if parsed.organizations != [NODES_GROUP] {
        return Some("subject organization is not system:nodes".into());
    }
    if parsed.has_alt_names {
        return Some("subject alternative names are not allowed".into());
    }
    if !parsed.common_name.starts_with(NODE_USER_PREFIX)
        || parsed.common_name.len() == NODE_USER_PREFIX.len()
    {
        return Some("subject common name does not begin with system:node:".into());
    }
    let allowed = ["client auth", "digital signature", "key encipherment"];
    if !usages.contains(&"client auth") || usages.iter().any(|u| !allowed.contains(u)) {
        return Some(format!(
            "usages did not match [client auth digital signature key encipherment]: {usages:?}"
        ));
    }
    None
}

fn parsed_request(obj: &Value) -> Result<ParsedRequest, String> {
    csr::request_pem(obj).and_then(|pem| csr::parse_request(&pem))
}

/// The approval message when `obj` qualifies for automatic approval.
fn auto_approval(obj: &Value) -> Option<&'static str> {
    if csr_str(obj, "/spec/signerName") != KUBE_APISERVER_CLIENT_KUBELET {
        return None;
    }
    let parsed = parsed_request(obj).ok()?;
    if kubelet_client_problem(&parsed, &usages(obj)).is_some() {
        return None;
    }
    let username = csr_str(obj, "/spec/username");
    let in_group = |g: &str| {
        obj.pointer("/spec/groups")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|v| v.as_str() == Some(g)))
    };
    if in_group(BOOTSTRAPPERS_GROUP) {
        return Some("Auto approving kubelet client certificate after SubjectAccessReview.");
    }
    if username == parsed.common_name && in_group(NODES_GROUP) {
        return Some("Auto approving self kubelet client certificate after SubjectAccessReview.");
    }
    None
}

/// The signer's own rules, checked again at signing: a request approved by hand must still
/// be what the signer issues.
fn signer_check(obj: &Value) -> Result<(), String> {
    let parsed = parsed_request(obj)?;
    let usages = usages(obj);
    match csr_str(obj, "/spec/signerName") {
        KUBE_APISERVER_CLIENT_KUBELET => match kubelet_client_problem(&parsed, &usages) {
            Some(problem) => Err(problem),
            None => Ok(()),
        },
        _ => {
            let allowed = ["client auth", "digital signature", "key encipherment"];
            if !usages.contains(&"client auth") || usages.iter().any(|u| !allowed.contains(u)) {
                return Err(format!("invalid usage for client certificate: {usages:?}"));
            }
            // Upstream's kube-apiserver-client signer never issues system:masters: that
            // group bypasses authorization and cannot be revoked.
            if parsed.organizations.iter().any(|o| o == "system:masters") {
                return Err("invalid subject: system:masters is not allowed".into());
            }
            if parsed.common_name.is_empty() {
                return Err("subject common name is required".into());
            }
            Ok(())
        }
    }
}

#[derive(Debug)]
enum SignError {
    Refused(String),
    Internal(String),
}

/// The certificate for an approved request, in PEM.
fn sign(obj: &Value, paths: &CertPaths, config: &SignerConfig) -> Result<String, SignError> {
    let pem = csr::request_pem(obj).map_err(SignError::Refused)?;
    let pem = String::from_utf8(pem).map_err(|e| SignError::Refused(e.to_string()))?;
    let mut request = CertificateSigningRequestParams::from_pem(&pem)
        .map_err(|e| SignError::Refused(format!("unusable certificate request: {e}")))?;
    let ca = load_ca(paths).map_err(|e| SignError::Internal(e.to_string()))?;

    let requested = obj
        .pointer("/spec/expirationSeconds")
        .and_then(Value::as_u64)
        .map(Duration::from_secs);
    let validity = requested.map_or(config.max_duration, |r| r.min(config.max_duration));
    let now = SystemTime::now();
    let params = &mut request.params;
    params.not_before = now.checked_sub(BACKDATE).unwrap_or(now).into();
    params.not_after = now.checked_add(validity).unwrap_or(now).into();
    let mut serial = rand::random::<[u8; 16]>();
    serial[0] &= 0x7f;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    params.is_ca = IsCa::ExplicitNoCa;
    params.use_authority_key_identifier_extension = true;
    // What the certificate may be used for comes from spec.usages, not from the request's
    // own extensions (as upstream's signer).
    params.key_usages.clear();
    params.extended_key_usages.clear();
    for usage in usages(obj) {
        match usage {
            "digital signature" => params.key_usages.push(KeyUsagePurpose::DigitalSignature),
            "key encipherment" => params.key_usages.push(KeyUsagePurpose::KeyEncipherment),
            "client auth" => params
                .extended_key_usages
                .push(ExtendedKeyUsagePurpose::ClientAuth),
            other => {
                return Err(SignError::Refused(format!("unsupported usage {other:?}")));
            }
        }
    }
    let cert = request
        .signed_by(&ca.issuer)
        .map_err(|e| SignError::Internal(format!("signing: {e}")))?;
    Ok(cert.pem())
}

async fn approve(
    state: &ApiState,
    info: &ResourceInfo,
    name: &str,
    message: &str,
) -> Result<Value, ApiError> {
    state
        .registry
        .write_update(
            info,
            None,
            name,
            Some("approval"),
            None,
            &write_options(),
            |old| {
                if csr::has_condition(old, APPROVED) || csr::has_condition(old, DENIED) {
                    return Ok(old.clone());
                }
                let mut new = old.clone();
                push_condition(
                    &mut new,
                    json!({"type": APPROVED, "status": "True", "reason": "AutoApproved", "message": message}),
                );
                Ok(new)
            },
        )
        .await
}

async fn write_certificate(
    state: &ApiState,
    info: &ResourceInfo,
    name: &str,
    pem: &str,
) -> Result<Value, ApiError> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(pem);
    state
        .registry
        .write_update(
            info,
            None,
            name,
            Some("status"),
            None,
            &write_options(),
            |old| {
                if is_finished(old) || !csr::has_condition(old, APPROVED) {
                    return Ok(old.clone());
                }
                let mut new = old.clone();
                if let Some(status) = status_mut(&mut new) {
                    status.insert("certificate".into(), json!(encoded));
                }
                Ok(new)
            },
        )
        .await
}

async fn write_failed(
    state: &ApiState,
    info: &ResourceInfo,
    name: &str,
    message: &str,
) -> Result<Value, ApiError> {
    state
        .registry
        .write_update(
            info,
            None,
            name,
            Some("status"),
            None,
            &write_options(),
            |old| {
                if is_finished(old) {
                    return Ok(old.clone());
                }
                let mut new = old.clone();
                push_condition(
                    &mut new,
                    json!({"type": FAILED, "status": "True", "reason": "SignerValidationFailure", "message": message}),
                );
                Ok(new)
            },
        )
        .await
}

fn status_mut(obj: &mut Value) -> Option<&mut serde_json::Map<String, Value>> {
    let m = obj.as_object_mut()?;
    let status = m.entry("status").or_insert_with(|| json!({}));
    if !status.is_object() {
        *status = json!({});
    }
    status.as_object_mut()
}

fn push_condition(obj: &mut Value, condition: Value) {
    if let Some(status) = status_mut(obj) {
        let list = status.entry("conditions").or_insert_with(|| json!([]));
        if !list.is_array() {
            *list = json!([]);
        }
        if let Some(a) = list.as_array_mut() {
            a.push(condition);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn request(cn: &str, orgs: &[&str], sans: &[&str]) -> String {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params =
            rcgen::CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        for o in orgs {
            params
                .distinguished_name
                .push(rcgen::DnType::OrganizationName, *o);
        }
        let pem = params.serialize_request(&key).unwrap().pem().unwrap();
        base64::engine::general_purpose::STANDARD.encode(pem)
    }

    fn csr_obj(request: String, username: &str, groups: &[&str], usages: &[&str]) -> Value {
        json!({
            "metadata": {"name": "c"},
            "spec": {
                "request": request,
                "signerName": KUBE_APISERVER_CLIENT_KUBELET,
                "usages": usages,
                "username": username,
                "groups": groups,
            }
        })
    }

    #[test]
    fn auto_approval_rules() {
        let node_req = || request("system:node:n1", &["system:nodes"], &[]);
        let bootstrapper = ["system:bootstrappers", "system:authenticated"];
        let cases: Vec<(&str, Value, bool)> = vec![
            (
                "bootstrapper asks for a node client cert",
                csr_obj(
                    node_req(),
                    "system:bootstrap:abcdef",
                    &bootstrapper,
                    &["digital signature", "client auth"],
                ),
                true,
            ),
            (
                "with key encipherment",
                csr_obj(
                    node_req(),
                    "system:bootstrap:abcdef",
                    &bootstrapper,
                    &["key encipherment", "digital signature", "client auth"],
                ),
                true,
            ),
            (
                "node renews its own",
                csr_obj(
                    node_req(),
                    "system:node:n1",
                    &["system:nodes"],
                    &["client auth"],
                ),
                true,
            ),
            (
                "node asks for another node",
                csr_obj(
                    node_req(),
                    "system:node:n2",
                    &["system:nodes"],
                    &["client auth"],
                ),
                false,
            ),
            (
                "someone else",
                csr_obj(node_req(), "alice", &["dev"], &["client auth"]),
                false,
            ),
            (
                "server auth",
                csr_obj(
                    node_req(),
                    "system:bootstrap:abcdef",
                    &bootstrapper,
                    &["client auth", "server auth"],
                ),
                false,
            ),
            (
                "no client auth",
                csr_obj(
                    node_req(),
                    "system:bootstrap:abcdef",
                    &bootstrapper,
                    &["digital signature"],
                ),
                false,
            ),
            (
                "masters",
                csr_obj(
                    request("system:node:n1", &["system:masters"], &[]),
                    "system:bootstrap:abcdef",
                    &bootstrapper,
                    &["client auth"],
                ),
                false,
            ),
            (
                "not a node",
                csr_obj(
                    request("admin", &["system:nodes"], &[]),
                    "system:bootstrap:abcdef",
                    &bootstrapper,
                    &["client auth"],
                ),
                false,
            ),
            (
                "with a SAN",
                csr_obj(
                    request("system:node:n1", &["system:nodes"], &["n1.example.com"]),
                    "system:bootstrap:abcdef",
                    &bootstrapper,
                    &["client auth"],
                ),
                false,
            ),
        ];
        for (name, obj, want) in cases {
            assert_eq!(auto_approval(&obj).is_some(), want, "{name}");
        }
        let mut other_signer = csr_obj(
            node_req(),
            "system:bootstrap:abcdef",
            &bootstrapper,
            &["client auth"],
        );
        other_signer["spec"]["signerName"] = json!(KUBE_APISERVER_CLIENT);
        assert!(auto_approval(&other_signer).is_none());
    }

    #[test]
    fn signs_with_the_cluster_ca() {
        let dir = tempfile::tempdir().unwrap();
        let paths = crate::tls::ensure_certs(dir.path(), &[]).unwrap();
        let mut obj = csr_obj(
            request("system:node:n1", &["system:nodes"], &[]),
            "system:bootstrap:abcdef",
            &["system:bootstrappers"],
            &["digital signature", "client auth"],
        );
        obj["spec"]["expirationSeconds"] = json!(3600);
        let pem = sign(&obj, &paths, &SignerConfig::default()).unwrap();
        let der = rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
        use rustls::pki_types::pem::PemObject as _;
        let user = crate::tls::peer_identity(std::slice::from_ref(&der)).unwrap();
        assert_eq!(user.name, "system:node:n1");
        assert!(user.in_group("system:nodes"));
        let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
        let ca = load_ca(&paths).unwrap();
        let (_, ca_cert) = x509_parser::parse_x509_certificate(&ca.der).unwrap();
        assert!(cert.verify_signature(Some(ca_cert.public_key())).is_ok());
        let lifetime =
            cert.validity().not_after.timestamp() - cert.validity().not_before.timestamp();
        assert_eq!(lifetime, 3600 + 300);
        let eku = cert.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.client_auth && !eku.server_auth);
    }

    #[test]
    fn manual_client_signer_refuses_masters() {
        let mut obj = csr_obj(
            request("bob", &["system:masters"], &[]),
            "admin",
            &["system:masters"],
            &["client auth"],
        );
        obj["spec"]["signerName"] = json!(KUBE_APISERVER_CLIENT);
        assert!(signer_check(&obj).is_err());
        let mut ok = csr_obj(
            request("bob", &["dev"], &[]),
            "admin",
            &[],
            &["client auth"],
        );
        ok["spec"]["signerName"] = json!(KUBE_APISERVER_CLIENT);
        assert!(signer_check(&ok).is_ok());
    }
}
