//! Bootstrap tokens, as kubeadm creates them and kube-apiserver's bootstrap-token
//! authenticator checks them: a bearer token `<id>.<secret>` (`[a-z0-9]{6}\.[a-z0-9]{16}`)
//! is valid while the Secret `kube-system/bootstrap-token-<id>` of type
//! `bootstrap.kubernetes.io/token` holds the same secret, has not expired and allows
//! authentication. The user is `system:bootstrap:<id>` in `system:bootstrappers` plus the
//! Secret's `auth-extra-groups`. New nodes use it only to ask for their own client
//! certificate (see `authz` and `csrsigning`).

use std::sync::Arc;

use base64::Engine as _;
use serde_json::Value;

use crate::auth::UserInfo;
use crate::watchcache::CacheSet;

pub const SECRET_TYPE: &str = "bootstrap.kubernetes.io/token";
pub const SECRET_NAMESPACE: &str = "kube-system";
pub const SECRET_NAME_PREFIX: &str = "bootstrap-token-";
pub const TOKEN_ID_KEY: &str = "token-id";
pub const TOKEN_SECRET_KEY: &str = "token-secret";
pub const EXPIRATION_KEY: &str = "expiration";
pub const DESCRIPTION_KEY: &str = "description";
pub const USAGE_AUTHENTICATION_KEY: &str = "usage-bootstrap-authentication";
pub const USAGE_SIGNING_KEY: &str = "usage-bootstrap-signing";
pub const EXTRA_GROUPS_KEY: &str = "auth-extra-groups";
/// The group every bootstrap token's user is in.
pub const BOOTSTRAPPERS_GROUP: &str = "system:bootstrappers";
pub const USER_PREFIX: &str = "system:bootstrap:";
/// The extra group `ferrokube token create` gives its tokens (kubeadm's is
/// `system:bootstrappers:kubeadm:default-node-token`).
pub const DEFAULT_EXTRA_GROUP: &str = "system:bootstrappers:ferrokube:default-node-token";

const ID_LEN: usize = 6;
const SECRET_LEN: usize = 16;
const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
/// The Secrets' etcd key prefix (the resource table's `/registry/secrets`).
const SECRETS_PREFIX: &str = "/registry/secrets";

fn is_token_char(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// Splits `<id>.<secret>` if it has a bootstrap token's shape.
pub fn parse_token(token: &str) -> Option<(&str, &str)> {
    let (id, secret) = token.split_once('.')?;
    (id.len() == ID_LEN
        && secret.len() == SECRET_LEN
        && id.bytes().all(is_token_char)
        && secret.bytes().all(is_token_char))
    .then_some((id, secret))
}

/// Whether `id` is a valid token id (for `ferrokube token delete <id>`).
pub fn is_token_id(id: &str) -> bool {
    id.len() == ID_LEN && id.bytes().all(is_token_char)
}

/// A new random token from the OS-seeded CSPRNG (rejection-free: 256 % 36 bias is removed
/// by drawing from the largest multiple of 36 below 256).
pub fn generate_token() -> String {
    let mut out = String::with_capacity(ID_LEN + 1 + SECRET_LEN);
    let draw = |n: usize, out: &mut String| {
        let mut taken = 0;
        while taken < n {
            let b: u8 = rand::random();
            // 252 = 7 * 36: bytes above it would favour the first letters.
            if b < 252 {
                out.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
                taken += 1;
            }
        }
    };
    draw(ID_LEN, &mut out);
    out.push('.');
    draw(SECRET_LEN, &mut out);
    out
}

pub fn secret_name(token_id: &str) -> String {
    format!("{SECRET_NAME_PREFIX}{token_id}")
}

/// kubeadm's `--discovery-token-ca-cert-hash` of a CA certificate (DER):
/// `sha256:<hex of the SHA-256 of its SubjectPublicKeyInfo>`. Pinning the public key rather
/// than the certificate keeps the pin valid when the CA certificate is re-issued with the
/// same key.
pub fn ca_cert_hash(cert_der: &[u8]) -> Result<String, String> {
    use sha2::Digest as _;
    let (_, cert) = x509_parser::parse_x509_certificate(cert_der)
        .map_err(|e| format!("parsing the CA certificate: {e}"))?;
    let spki = cert.tbs_certificate.subject_pki.raw;
    Ok(format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(spki))
    ))
}

/// [`ca_cert_hash`] of the first certificate of a PEM file's contents.
pub fn ca_cert_hash_pem(pem: &[u8]) -> Result<String, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let der = CertificateDer::from_pem_slice(pem)
        .map_err(|e| format!("no PEM certificate found: {e:?}"))?;
    ca_cert_hash(&der)
}

/// A certificate's raw subject public key (to check it against a key pair) and its
/// notAfter (Unix seconds).
pub fn cert_key_and_expiry(der: &[u8]) -> Option<(Vec<u8>, i64)> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some((
        cert.public_key().subject_public_key.data.to_vec(),
        cert.validity().not_after.timestamp(),
    ))
}

/// Whether `der` is a CA certificate (basic constraints CA:true).
pub fn is_ca_cert(der: &[u8]) -> bool {
    x509_parser::parse_x509_certificate(der).is_ok_and(|(_, c)| c.is_ca())
}

/// Byte comparison whose time does not depend on where the inputs differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// One decoded `data` entry of a Secret as stored (base64).
pub fn secret_data(secret: &Value, key: &str) -> Option<String> {
    let encoded = secret.get("data")?.get(key)?.as_str()?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// Whether a group name is one upstream accepts in `auth-extra-groups`
/// (`system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]`).
fn valid_extra_group(group: &str) -> bool {
    let Some(rest) = group.strip_prefix("system:bootstrappers:") else {
        return false;
    };
    !rest.is_empty()
        && rest.len() <= 256
        && rest
            .bytes()
            .all(|b| is_token_char(b) || b == b':' || b == b'-')
        && rest.bytes().last().is_some_and(is_token_char)
}

/// Why a token was refused (logged, never sent: the client only learns 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Deleting,
    WrongType,
    WrongSecret,
    WrongId,
    Expired,
    BadExpiration,
    NotForAuthentication,
    BadExtraGroup,
}

/// The user a bootstrap token stands for, checked against its Secret at `now` (Unix
/// seconds).
pub fn user_for(
    secret: &Value,
    token_id: &str,
    token_secret: &str,
    now: i64,
) -> Result<UserInfo, Refusal> {
    let deleting = secret
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null());
    if deleting {
        return Err(Refusal::Deleting);
    }
    if secret.get("type").and_then(Value::as_str) != Some(SECRET_TYPE) {
        return Err(Refusal::WrongType);
    }
    let stored_secret = secret_data(secret, TOKEN_SECRET_KEY).unwrap_or_default();
    if !constant_time_eq(stored_secret.as_bytes(), token_secret.as_bytes()) {
        return Err(Refusal::WrongSecret);
    }
    if secret_data(secret, TOKEN_ID_KEY).as_deref() != Some(token_id) {
        return Err(Refusal::WrongId);
    }
    if let Some(expiration) = secret_data(secret, EXPIRATION_KEY).filter(|e| !e.is_empty()) {
        let at = chrono::DateTime::parse_from_rfc3339(&expiration)
            .map_err(|_| Refusal::BadExpiration)?;
        if at.timestamp() <= now {
            return Err(Refusal::Expired);
        }
    }
    if secret_data(secret, USAGE_AUTHENTICATION_KEY).as_deref() != Some("true") {
        return Err(Refusal::NotForAuthentication);
    }
    let mut groups = vec![BOOTSTRAPPERS_GROUP.to_string()];
    if let Some(extra) = secret_data(secret, EXTRA_GROUPS_KEY) {
        for group in extra.split(',').map(str::trim).filter(|g| !g.is_empty()) {
            if !valid_extra_group(group) {
                return Err(Refusal::BadExtraGroup);
            }
            if !groups.iter().any(|g| g == group) {
                groups.push(group.to_string());
            }
        }
    }
    Ok(UserInfo::authenticated(
        format!("{USER_PREFIX}{token_id}"),
        String::new(),
        groups,
    ))
}

/// Checks bootstrap tokens against the Secrets in the watch cache (as upstream reads them
/// through an informer), so a request costs no storage round trip and a deleted or
/// changed Secret takes effect as soon as its watch event arrives.
#[derive(Clone)]
pub struct BootstrapTokenAuthenticator {
    caches: Arc<CacheSet>,
}

impl std::fmt::Debug for BootstrapTokenAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BootstrapTokenAuthenticator").finish()
    }
}

impl BootstrapTokenAuthenticator {
    pub fn new(caches: Arc<CacheSet>) -> Self {
        Self { caches }
    }

    /// `None`: not a bootstrap token, or one that is not (or no longer) valid.
    pub fn authenticate_token(&self, token: &str) -> Option<UserInfo> {
        let (id, secret) = parse_token(token)?;
        let key = format!("{SECRETS_PREFIX}/{SECRET_NAMESPACE}/{}", secret_name(id));
        let cached = self.caches.cache_for(&key)?.get(&key)?;
        match user_for(&cached.object, id, secret, chrono::Utc::now().timestamp()) {
            Ok(user) => Some(user),
            Err(refusal) => {
                tracing::debug!(token_id = id, ?refusal, "bootstrap token refused");
                None
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use rustls::pki_types::pem::PemObject as _;
    use serde_json::json;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    fn secret(expiration: &str, extra: &str) -> Value {
        json!({
            "metadata": {"name": "bootstrap-token-abcdef", "namespace": "kube-system"},
            "type": SECRET_TYPE,
            "data": {
                "token-id": b64("abcdef"),
                "token-secret": b64("0123456789abcdef"),
                "expiration": b64(expiration),
                "usage-bootstrap-authentication": b64("true"),
                "usage-bootstrap-signing": b64("true"),
                "auth-extra-groups": b64(extra),
            }
        })
    }

    #[test]
    fn token_shape() {
        assert_eq!(
            parse_token("abcdef.0123456789abcdef"),
            Some(("abcdef", "0123456789abcdef"))
        );
        for bad in [
            "abcdef0123456789abcdef",
            "ABCDEF.0123456789abcdef",
            "abcde.0123456789abcdefg",
            "abcdef.0123456789abcde",
            "abcdef.0123456789abcdef.x",
            "abc-ef.0123456789abcdef",
            "",
        ] {
            assert_eq!(parse_token(bad), None, "{bad}");
        }
        for _ in 0..20 {
            let t = generate_token();
            assert!(parse_token(&t).is_some(), "{t}");
        }
        assert_ne!(generate_token(), generate_token());
    }

    #[test]
    fn valid_token_maps_to_bootstrap_user() {
        let s = secret("2100-01-01T00:00:00Z", DEFAULT_EXTRA_GROUP);
        let user = user_for(&s, "abcdef", "0123456789abcdef", 0).unwrap();
        assert_eq!(user.name, "system:bootstrap:abcdef");
        assert_eq!(
            user.groups,
            vec![
                BOOTSTRAPPERS_GROUP,
                DEFAULT_EXTRA_GROUP,
                crate::auth::SYSTEM_AUTHENTICATED
            ]
        );
    }

    #[test]
    fn refusals() {
        let now = chrono::DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
            .unwrap()
            .timestamp();
        let good = secret("2030-01-01T00:00:01Z", "");
        assert!(user_for(&good, "abcdef", "0123456789abcdef", now).is_ok());
        let cases: Vec<(Value, &str, &str, Refusal)> = vec![
            (
                good.clone(),
                "abcdef",
                "0123456789abcdee",
                Refusal::WrongSecret,
            ),
            (good.clone(), "abcdeg", "0123456789abcdef", Refusal::WrongId),
            (
                secret("2030-01-01T00:00:00Z", ""),
                "abcdef",
                "0123456789abcdef",
                Refusal::Expired,
            ),
            (
                secret("tomorrow", ""),
                "abcdef",
                "0123456789abcdef",
                Refusal::BadExpiration,
            ),
            (
                secret("", "system:masters"),
                "abcdef",
                "0123456789abcdef",
                Refusal::BadExtraGroup,
            ),
            (
                {
                    let mut s = good.clone();
                    s["type"] = json!("Opaque");
                    s
                },
                "abcdef",
                "0123456789abcdef",
                Refusal::WrongType,
            ),
            (
                {
                    let mut s = good.clone();
                    s["data"]["usage-bootstrap-authentication"] = json!(b64("false"));
                    s
                },
                "abcdef",
                "0123456789abcdef",
                Refusal::NotForAuthentication,
            ),
            (
                {
                    let mut s = good.clone();
                    s["metadata"]["deletionTimestamp"] = json!("2029-01-01T00:00:00Z");
                    s
                },
                "abcdef",
                "0123456789abcdef",
                Refusal::Deleting,
            ),
        ];
        for (s, id, sec, want) in cases {
            assert_eq!(user_for(&s, id, sec, now).unwrap_err(), want);
        }
        // No expiration: valid forever.
        assert!(user_for(&secret("", ""), "abcdef", "0123456789abcdef", now).is_ok());
    }

    /// The pin matches kubeadm's documented recipe:
    /// `openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256sum`.
    #[test]
    fn ca_hash_matches_openssl() {
        let dir = tempfile::tempdir().unwrap();
        let paths = crate::tls::ensure_certs(dir.path(), &[]).unwrap();
        let pem = std::fs::read(&paths.ca_cert).unwrap();
        let ours = ca_cert_hash_pem(&pem).unwrap();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "openssl x509 -pubkey -noout -in {} | openssl pkey -pubin -outform der | sha256sum",
                paths.ca_cert.display()
            ))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        let openssl = stdout.split_whitespace().next().unwrap();
        assert_eq!(openssl.len(), 64);
        assert_eq!(ours, format!("sha256:{openssl}"));
        // The serving certificate has another key, so another pin.
        let serving = std::fs::read(&paths.serving_cert).unwrap();
        assert_ne!(ca_cert_hash_pem(&serving).unwrap(), ours);
        assert!(is_ca_cert(
            &rustls::pki_types::CertificateDer::from_pem_slice(&pem).unwrap()
        ));
    }

    #[test]
    fn extra_group_rule() {
        assert!(valid_extra_group(DEFAULT_EXTRA_GROUP));
        assert!(valid_extra_group("system:bootstrappers:a"));
        assert!(!valid_extra_group("system:bootstrappers:"));
        assert!(!valid_extra_group("system:bootstrappers:a-"));
        assert!(!valid_extra_group("system:nodes"));
    }
}
