//! Certificates for HTTPS serving: the cluster CA and the API server's serving certificate in
//! `--cert-dir`, created on first start and reused afterwards, and the rustls server
//! configuration built from them.
//!
//! Clients trust the CA (it goes into the kubeconfig), not the serving certificate itself, so
//! the serving certificate can be re-issued (new addresses, near expiry) without breaking any
//! kubeconfig already handed out.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::net::IpAddr;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

use crate::auth::UserInfo;

pub const CA_CERT_FILE: &str = "ca.crt";
pub const CA_KEY_FILE: &str = "ca.key";
pub const SERVING_CERT_FILE: &str = "apiserver.crt";
pub const SERVING_KEY_FILE: &str = "apiserver.key";

/// Names every serving certificate carries: loopback, and the names and service IP under which
/// pods reach the API server through the `kubernetes` Service (first IP of 10.96.0.0/12).
pub const DEFAULT_SANS: &[&str] = &[
    "127.0.0.1",
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
    "10.96.0.1",
];

const CA_COMMON_NAME: &str = "ferrokube-ca";
const SERVING_COMMON_NAME: &str = "kube-apiserver";
const DAY: Duration = Duration::from_secs(24 * 60 * 60);
const CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);
const SERVING_VALIDITY: Duration = Duration::from_secs(365 * 24 * 60 * 60);
/// Re-issue the serving certificate this long before it expires, so a server that restarts
/// now and then never serves an expired one.
const SERVING_RENEW_BEFORE: Duration = Duration::from_secs(30 * 24 * 60 * 60);
/// Backdating tolerates clients whose clocks run a little behind ours.
const BACKDATE: Duration = Duration::from_secs(60 * 60);

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: {message}", path.display())]
    InvalidFile { path: PathBuf, message: String },
    #[error(
        "{}: the CA is incomplete ({} without {}); supply both or remove the one left over so a new CA is generated",
        dir.display(), present, missing
    )]
    IncompleteCa {
        dir: PathBuf,
        present: &'static str,
        missing: &'static str,
    },
    #[error("invalid subject alternative name {0:?}")]
    InvalidSan(String),
    #[error("generating certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("client certificate verifier: {0}")]
    ClientVerifier(#[from] rustls::server::VerifierBuilderError),
}

/// Where the certificate files live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertPaths {
    pub ca_cert: PathBuf,
    pub ca_key: PathBuf,
    pub serving_cert: PathBuf,
    pub serving_key: PathBuf,
}

impl CertPaths {
    pub fn in_dir(cert_dir: &Path) -> Self {
        Self {
            ca_cert: cert_dir.join(CA_CERT_FILE),
            ca_key: cert_dir.join(CA_KEY_FILE),
            serving_cert: cert_dir.join(SERVING_CERT_FILE),
            serving_key: cert_dir.join(SERVING_KEY_FILE),
        }
    }

    /// The CA certificate in PEM, as it goes into kubeconfigs.
    pub fn ca_pem(&self) -> Result<String, TlsError> {
        read_string(&self.ca_cert)
    }
}

/// A subject alternative name, normalised for comparison.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum San {
    Ip(IpAddr),
    Dns(String),
}

impl San {
    /// `None` for names that are useless in a certificate: empty, or a wildcard bind address.
    fn parse(raw: &str) -> Result<Option<San>, TlsError> {
        let trimmed = raw.trim();
        // Addresses arrive as flags, IPv6 possibly bracketed as in URLs.
        let unbracketed = trimmed
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .unwrap_or(trimmed);
        if unbracketed.is_empty() {
            return Ok(None);
        }
        if let Ok(ip) = unbracketed.parse::<IpAddr>() {
            return Ok((!ip.is_unspecified()).then_some(San::Ip(canonical_ip(ip))));
        }
        let name = unbracketed.trim_end_matches('.').to_ascii_lowercase();
        let valid = !name.is_empty()
            && name.len() <= 253
            && name.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'*')
            });
        if !valid {
            return Err(TlsError::InvalidSan(raw.to_string()));
        }
        Ok(Some(San::Dns(name)))
    }

    fn to_rcgen(&self) -> Result<SanType, TlsError> {
        Ok(match self {
            San::Ip(ip) => SanType::IpAddress(*ip),
            San::Dns(name) => SanType::DnsName(name.clone().try_into()?),
        })
    }
}

/// Go clients compare IPv4-mapped IPv6 addresses as IPv4, so we do too.
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

fn wanted_sans(extra: &[String]) -> Result<Vec<San>, TlsError> {
    let mut sans = Vec::new();
    for raw in DEFAULT_SANS
        .iter()
        .copied()
        .chain(extra.iter().map(String::as_str))
    {
        if let Some(san) = San::parse(raw)?
            && !sans.contains(&san)
        {
            sans.push(san);
        }
    }
    Ok(sans)
}

/// Makes sure `cert_dir` holds a CA and a serving certificate signed by it that covers
/// [`DEFAULT_SANS`] and `sans` (the bind and advertise addresses, extra names). Existing files
/// are reused; only the serving certificate is re-issued when it lacks a name, is near expiry,
/// does not match its key or was not signed by the CA. The CA is replaced only once expired.
pub fn ensure_certs(cert_dir: &Path, sans: &[String]) -> Result<CertPaths, TlsError> {
    create_private_dir(cert_dir)?;
    let paths = CertPaths::in_dir(cert_dir);
    let wanted = wanted_sans(sans)?;
    let (ca, ca_is_new) = load_or_create_ca(cert_dir, &paths)?;

    let mut keep_sans = Vec::new();
    if !ca_is_new {
        match check_serving(&paths, &ca.der, &wanted)? {
            ServingState::Fine => return Ok(paths),
            ServingState::Reissue { reason, existing } => {
                tracing::info!(
                    cert = %paths.serving_cert.display(),
                    %reason,
                    "re-issuing the API server's serving certificate"
                );
                keep_sans = existing;
            }
        }
    }

    // Names the old certificate had stay valid, so clients using them keep working.
    let mut all_sans = wanted;
    for san in keep_sans {
        if !all_sans.contains(&san) {
            all_sans.push(san);
        }
    }
    issue_serving(&paths, &ca.issuer, &all_sans)?;
    Ok(paths)
}

pub(crate) struct LoadedCa {
    pub(crate) issuer: Issuer<'static, KeyPair>,
    pub(crate) der: CertificateDer<'static>,
}

fn load_or_create_ca(cert_dir: &Path, paths: &CertPaths) -> Result<(LoadedCa, bool), TlsError> {
    match (paths.ca_cert.exists(), paths.ca_key.exists()) {
        (true, true) => {
            let ca = load_ca(paths)?;
            let expired = {
                let cert = parse_cert(&paths.ca_cert, &ca.der)?;
                cert.validity().not_after.timestamp() <= unix_now()
            };
            if !expired {
                return Ok((ca, false));
            }
            tracing::warn!(
                cert = %paths.ca_cert.display(),
                "the cluster CA has expired; generating a new one (kubeconfigs must be refreshed)"
            );
        }
        (false, false) => {}
        (true, false) => {
            return Err(TlsError::IncompleteCa {
                dir: cert_dir.to_path_buf(),
                present: CA_CERT_FILE,
                missing: CA_KEY_FILE,
            });
        }
        (false, true) => {
            return Err(TlsError::IncompleteCa {
                dir: cert_dir.to_path_buf(),
                present: CA_KEY_FILE,
                missing: CA_CERT_FILE,
            });
        }
    }
    Ok((create_ca(paths)?, true))
}

pub(crate) fn load_ca(paths: &CertPaths) -> Result<LoadedCa, TlsError> {
    let der = read_first_cert(&paths.ca_cert)?;
    let key = read_key_pair(&paths.ca_key)?;
    {
        let cert = parse_cert(&paths.ca_cert, &der)?;
        if cert.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
            return Err(invalid(&paths.ca_key, "does not match the CA certificate"));
        }
        if !cert.is_ca() {
            return Err(invalid(&paths.ca_cert, "is not a CA certificate"));
        }
    }
    let issuer = Issuer::from_ca_cert_der(&der, key)
        .map_err(|e| invalid(&paths.ca_cert, &format!("cannot use as issuer: {e}")))?;
    Ok(LoadedCa { issuer, der })
}

fn create_ca(paths: &CertPaths) -> Result<LoadedCa, TlsError> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = common_name(CA_COMMON_NAME);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    set_validity(&mut params, CA_VALIDITY);
    let cert = params.self_signed(&key)?;
    // Key first: a crash between the two writes then leaves a key without a certificate,
    // which load_or_create_ca reports instead of silently pairing a new CA with an old key.
    write_file_atomic(&paths.ca_key, key.serialize_pem().as_bytes(), 0o600)?;
    write_file_atomic(&paths.ca_cert, cert.pem().as_bytes(), 0o644)?;
    Ok(LoadedCa {
        der: cert.der().clone(),
        issuer: Issuer::new(params, key),
    })
}

enum ServingState {
    Fine,
    Reissue { reason: String, existing: Vec<San> },
}

fn check_serving(
    paths: &CertPaths,
    ca_der: &CertificateDer<'_>,
    wanted: &[San],
) -> Result<ServingState, TlsError> {
    let reissue = |reason: &str, existing: Vec<San>| {
        Ok(ServingState::Reissue {
            reason: reason.to_string(),
            existing,
        })
    };
    if !paths.serving_cert.exists() || !paths.serving_key.exists() {
        return reissue("missing", Vec::new());
    }
    let Ok(der) = read_first_cert(&paths.serving_cert) else {
        return reissue("unreadable certificate", Vec::new());
    };
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(&der) else {
        return reissue("unparsable certificate", Vec::new());
    };
    let existing = cert_sans(&cert);
    let Ok(key) = read_key_pair(&paths.serving_key) else {
        return reissue("unreadable key", existing);
    };
    if cert.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
        return reissue("key does not match certificate", existing);
    }
    let ca = parse_cert(&paths.ca_cert, ca_der)?;
    if cert.verify_signature(Some(ca.public_key())).is_err() {
        return reissue("not signed by the current CA", existing);
    }
    let renew_at = cert
        .validity()
        .not_after
        .timestamp()
        .saturating_sub(secs(SERVING_RENEW_BEFORE));
    if renew_at <= unix_now() {
        return reissue("expires soon", existing);
    }
    if let Some(missing) = wanted.iter().find(|san| !existing.contains(san)) {
        return reissue(&format!("lacks the name {missing:?}"), existing);
    }
    Ok(ServingState::Fine)
}

fn cert_sans(cert: &X509Certificate<'_>) -> Vec<San> {
    let Ok(Some(ext)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    ext.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some(San::Dns(dns.to_ascii_lowercase())),
            GeneralName::IPAddress(bytes) => {
                ip_from_bytes(bytes).map(|ip| San::Ip(canonical_ip(ip)))
            }
            _ => None,
        })
        .collect()
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        return Some(IpAddr::from(v4));
    }
    <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from)
}

fn issue_serving(
    paths: &CertPaths,
    ca: &Issuer<'_, KeyPair>,
    sans: &[San],
) -> Result<(), TlsError> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = common_name(SERVING_COMMON_NAME);
    params.subject_alt_names = sans.iter().map(San::to_rcgen).collect::<Result<_, _>>()?;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    set_validity(&mut params, SERVING_VALIDITY);
    let cert = params.signed_by(&key, ca)?;
    write_file_atomic(&paths.serving_key, key.serialize_pem().as_bytes(), 0o600)?;
    write_file_atomic(&paths.serving_cert, cert.pem().as_bytes(), 0o644)?;
    Ok(())
}

/// A client certificate signed by the cluster CA, as kube-apiserver's x509 authenticator reads
/// it: the common name is the user, each organization a group. Returns (certificate PEM, key
/// PEM), for kubeconfigs of components and nodes.
pub fn issue_client_cert(
    paths: &CertPaths,
    user: &str,
    groups: &[String],
    validity: Duration,
) -> Result<(String, String), TlsError> {
    let ca = load_ca(paths)?;
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::default();
    let mut dn = common_name(user);
    for group in groups {
        dn.push(DnType::OrganizationName, group.as_str());
    }
    params.distinguished_name = dn;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    set_validity(&mut params, validity);
    let cert = params.signed_by(&key, &ca.issuer)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// The user a verified client certificate names (the first in the chain the client sent):
/// CN is the user name, each O a group, as in kube-apiserver.
pub fn peer_identity(chain: &[CertificateDer<'_>]) -> Option<UserInfo> {
    let leaf = chain.first()?;
    let (_, cert) = x509_parser::parse_x509_certificate(leaf).ok()?;
    let subject = cert.subject();
    let name = subject.iter_common_name().next()?.as_str().ok()?;
    if name.is_empty() {
        return None;
    }
    let groups = subject
        .iter_organization()
        .filter_map(|o| o.as_str().ok())
        .map(str::to_string)
        .collect();
    Some(UserInfo::authenticated(
        name.to_string(),
        String::new(),
        groups,
    ))
}

/// The rustls configuration for the API server: the serving certificate, ALPN h2 then
/// http/1.1 (client-go picks h2 when offered), and client certificates requested but not
/// required: ones signed by the cluster CA authenticate their user (see [`peer_identity`]),
/// clients without one authenticate by bearer token.
pub fn server_config(paths: &CertPaths) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    // Explicit provider: installing a process-wide default would race with other components
    // of `ferrokube up` that run in the same process.
    let provider = Arc::new(rustls::crypto::ring::default_provider());

    let chain = CertificateDer::pem_file_iter(&paths.serving_cert)
        .map_err(|e| invalid(&paths.serving_cert, &e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(&paths.serving_cert, &e.to_string()))?;
    if chain.is_empty() {
        return Err(invalid(&paths.serving_cert, "contains no certificate"));
    }
    // The CA goes out after the serving certificate so `ferrokube join` can read it before
    // it trusts anything and check it against the pinned --discovery-token-ca-cert-hash.
    let mut chain = chain;
    if paths.ca_cert.exists() {
        let ca = read_first_cert(&paths.ca_cert)?;
        if !chain.contains(&ca) {
            chain.push(ca);
        }
    }
    let key = PrivateKeyDer::from_pem_file(&paths.serving_key)
        .map_err(|e| invalid(&paths.serving_key, &e.to_string()))?;

    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = if paths.ca_cert.exists() {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(&paths.ca_cert)
            .map_err(|e| invalid(&paths.ca_cert, &e.to_string()))?
        {
            let cert = cert.map_err(|e| invalid(&paths.ca_cert, &e.to_string()))?;
            roots.add(cert)?;
        }
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()?;
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let mut config = builder.with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    // Stateless TLS 1.3 resumption: reconnecting clients skip the full handshake.
    config.ticketer = rustls::crypto::ring::Ticketer::new()?;
    Ok(Arc::new(config))
}

/// Writes `contents` to `path` so readers see either the old or the new file, never a partial
/// one, created with `mode` (secrets: 0600) rather than chmod-ed after the fact.
pub(crate) fn write_file_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<(), TlsError> {
    let io_err = |source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| io_err(io::Error::new(io::ErrorKind::InvalidInput, "no file name")))?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{:08x}",
        file_name.to_string_lossy(),
        std::process::id(),
        rand::random::<u32>()
    ));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        // Best effort: the error that matters is the one returned.
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io_err)
}

/// Creates the directory (and parents) 0700 if missing; an existing one keeps its mode.
pub(crate) fn create_private_dir(dir: &Path) -> Result<(), TlsError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| TlsError::Io {
            path: dir.to_path_buf(),
            source,
        })
}

fn common_name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

fn set_validity(params: &mut CertificateParams, validity: Duration) {
    let now = SystemTime::now();
    params.not_before = now.checked_sub(BACKDATE).unwrap_or(now).into();
    params.not_after = now.checked_add(validity).unwrap_or(now + DAY).into();
    // Random positive serials: clients cache by (issuer, serial), so re-issued certificates
    // must not repeat one.
    let mut serial = rand::random::<[u8; 16]>();
    serial[0] &= 0x7f;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
}

fn read_string(path: &Path) -> Result<String, TlsError> {
    fs::read_to_string(path).map_err(|source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn read_first_cert(path: &Path) -> Result<CertificateDer<'static>, TlsError> {
    CertificateDer::from_pem_file(path).map_err(|e| invalid(path, &e.to_string()))
}

fn read_key_pair(path: &Path) -> Result<KeyPair, TlsError> {
    KeyPair::from_pem(&read_string(path)?).map_err(|e| invalid(path, &e.to_string()))
}

fn parse_cert<'a>(path: &Path, der: &'a [u8]) -> Result<X509Certificate<'a>, TlsError> {
    x509_parser::parse_x509_certificate(der)
        .map(|(_, cert)| cert)
        .map_err(|e| invalid(path, &format!("cannot parse certificate: {e}")))
}

fn invalid(path: &Path, message: &str) -> TlsError {
    TlsError::InvalidFile {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// Accepts any server certificate while still checking the handshake signatures (so the peer
/// holds the key of the certificate it shows). For the places where upstream does the same:
/// the API server reaching kubelets without `--kubelet-certificate-authority`, and a joining
/// node reading the chain it then checks against the pinned CA hash.
#[derive(Debug)]
pub struct UnverifiedServerCert(Arc<rustls::crypto::CryptoProvider>);

impl UnverifiedServerCert {
    pub fn new(provider: Arc<rustls::crypto::CryptoProvider>) -> Self {
        Self(provider)
    }
}

impl rustls::client::danger::ServerCertVerifier for UnverifiedServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn leaf(paths: &CertPaths) -> (Vec<u8>, Vec<San>) {
        let der = read_first_cert(&paths.serving_cert).unwrap();
        let sans = cert_sans(&parse_cert(&paths.serving_cert, &der).unwrap());
        (der.to_vec(), sans)
    }

    #[test]
    fn generates_ca_and_leaf_with_sans() {
        let dir = tempfile::tempdir().unwrap();
        let certs = dir.path().join("pki");
        let paths =
            ensure_certs(&certs, &["192.168.1.10".into(), "api.example.com".into()]).unwrap();
        assert_eq!(mode(&paths.ca_key), 0o600);
        assert_eq!(mode(&paths.serving_key), 0o600);
        assert_eq!(mode(&certs), 0o700);

        let ca_der = read_first_cert(&paths.ca_cert).unwrap();
        let ca = parse_cert(&paths.ca_cert, &ca_der).unwrap();
        assert!(ca.is_ca());
        assert_eq!(
            ca.subject()
                .iter_common_name()
                .next()
                .unwrap()
                .as_str()
                .unwrap(),
            CA_COMMON_NAME
        );

        let (der, sans) = leaf(&paths);
        let cert = parse_cert(&paths.serving_cert, &der).unwrap();
        assert!(!cert.is_ca(), "the serving certificate must be a leaf");
        assert!(cert.verify_signature(Some(ca.public_key())).is_ok());
        assert_eq!(
            cert.subject()
                .iter_common_name()
                .next()
                .unwrap()
                .as_str()
                .unwrap(),
            SERVING_COMMON_NAME
        );
        let eku = cert.extended_key_usage().unwrap().unwrap();
        assert!(eku.value.server_auth);
        for want in DEFAULT_SANS
            .iter()
            .chain(&["192.168.1.10", "api.example.com"])
        {
            let san = San::parse(want).unwrap().unwrap();
            assert!(sans.contains(&san), "{want} missing from {sans:?}");
        }
        let days =
            |c: &X509Certificate<'_>| (c.validity().not_after.timestamp() - unix_now()) / 86400;
        assert!(
            (364..=365).contains(&days(&cert)),
            "serving: {} days",
            days(&cert)
        );
        assert!((3649..=3650).contains(&days(&ca)), "CA: {} days", days(&ca));
    }

    #[test]
    fn reuses_existing_files_and_reissues_only_the_leaf_for_new_sans() {
        let dir = tempfile::tempdir().unwrap();
        let paths = ensure_certs(dir.path(), &["10.0.0.5".into()]).unwrap();
        let ca_before = fs::read(&paths.ca_cert).unwrap();
        let leaf_before = fs::read(&paths.serving_cert).unwrap();

        // Same (or fewer) names: nothing changes. Bracketed IPv6 and unspecified addresses
        // are accepted as flag values.
        ensure_certs(dir.path(), &["10.0.0.5".into(), "0.0.0.0".into()]).unwrap();
        assert_eq!(fs::read(&paths.serving_cert).unwrap(), leaf_before);

        // A new name: new leaf, same CA, old names kept.
        ensure_certs(dir.path(), &["[fd00::1]".into()]).unwrap();
        assert_eq!(fs::read(&paths.ca_cert).unwrap(), ca_before);
        assert_ne!(fs::read(&paths.serving_cert).unwrap(), leaf_before);
        let (der, sans) = leaf(&paths);
        assert!(sans.contains(&San::Ip("10.0.0.5".parse().unwrap())));
        assert!(sans.contains(&San::Ip("fd00::1".parse().unwrap())));
        let ca_der = read_first_cert(&paths.ca_cert).unwrap();
        let ca = parse_cert(&paths.ca_cert, &ca_der).unwrap();
        let cert = parse_cert(&paths.serving_cert, &der).unwrap();
        assert!(cert.verify_signature(Some(ca.public_key())).is_ok());
    }

    #[test]
    fn reissues_leaf_when_missing_or_mismatched() {
        let dir = tempfile::tempdir().unwrap();
        let paths = ensure_certs(dir.path(), &[]).unwrap();
        let ca_before = fs::read(&paths.ca_cert).unwrap();

        fs::remove_file(&paths.serving_cert).unwrap();
        ensure_certs(dir.path(), &[]).unwrap();
        assert!(paths.serving_cert.exists());

        // A key that does not belong to the certificate.
        let other = KeyPair::generate().unwrap();
        fs::write(&paths.serving_key, other.serialize_pem()).unwrap();
        ensure_certs(dir.path(), &[]).unwrap();
        let key = read_key_pair(&paths.serving_key).unwrap();
        let (der, _) = leaf(&paths);
        let cert = parse_cert(&paths.serving_cert, &der).unwrap();
        assert_eq!(
            cert.public_key().subject_public_key.data.as_ref(),
            key.public_key_raw()
        );
        assert_eq!(fs::read(&paths.ca_cert).unwrap(), ca_before);
    }

    #[test]
    fn incomplete_ca_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let paths = ensure_certs(dir.path(), &[]).unwrap();
        fs::remove_file(&paths.ca_key).unwrap();
        let err = ensure_certs(dir.path(), &[]).unwrap_err();
        assert!(matches!(err, TlsError::IncompleteCa { .. }), "{err}");
        assert!(err.to_string().contains("ca.key"), "{err}");
    }

    #[test]
    fn invalid_san_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let err = ensure_certs(dir.path(), &["bad name!".into()]).unwrap_err();
        assert!(matches!(err, TlsError::InvalidSan(_)), "{err}");
    }

    #[test]
    fn server_config_offers_h2_and_http11() {
        let dir = tempfile::tempdir().unwrap();
        let paths = ensure_certs(dir.path(), &[]).unwrap();
        let config = server_config(&paths).unwrap();
        assert_eq!(
            config.alpn_protocols,
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        assert!(
            paths
                .ca_pem()
                .unwrap()
                .starts_with("-----BEGIN CERTIFICATE-----")
        );
    }

    #[test]
    fn client_cert_identity() {
        let dir = tempfile::tempdir().unwrap();
        let paths = ensure_certs(dir.path(), &[]).unwrap();
        let (cert_pem, key_pem) =
            issue_client_cert(&paths, "system:node:n1", &["system:nodes".into()], DAY).unwrap();
        assert!(KeyPair::from_pem(&key_pem).is_ok());
        let der = CertificateDer::from_pem_slice(cert_pem.as_bytes()).unwrap();
        let user = peer_identity(&[der]).unwrap();
        assert_eq!(user.name, "system:node:n1");
        assert_eq!(user.groups, vec!["system:nodes", "system:authenticated"]);
    }
}
