//! `ferrokube join`: a new host joins the cluster with a bootstrap token, as `kubeadm join`
//! and the kubelet's TLS bootstrap do it.
//!
//! 1. Trust: the CA comes from `--ca-file`, or from the server itself: the TLS handshake is
//!    made without verification only to read the CA certificate the server sends after its
//!    serving certificate, and that CA is accepted only if the SHA-256 of its
//!    SubjectPublicKeyInfo equals `--discovery-token-ca-cert-hash` (kubeadm's pin). From
//!    then on every connection verifies the server against that CA.
//! 2. Credentials: with the bootstrap token, a CertificateSigningRequest for
//!    `CN=system:node:<node-name>, O=system:nodes` (signer
//!    `kubernetes.io/kube-apiserver-client-kubelet`) is created with a key generated here
//!    (the key never leaves the host); the API server approves and signs it; the result
//!    is `<data-dir>/kubelet.kubeconfig` (0600).
//! 3. The node agent runs with that kubeconfig (the kubelet flags are accepted here).

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use apiserver::bootstraptoken as bt;
use base64::Engine as _;
use k8s_openapi::ByteString;
use k8s_openapi::api::certificates::v1::{
    CertificateSigningRequest, CertificateSigningRequestSpec,
};
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio_util::sync::CancellationToken;

const SIGNER: &str = "kubernetes.io/kube-apiserver-client-kubelet";
const KUBECONFIG_FILE: &str = "kubelet.kubeconfig";
const BOOTSTRAP_KUBECONFIG_FILE: &str = "bootstrap-kubelet.kubeconfig";
/// How often a 401 for a fresh token is retried (500 ms apart).
const UNAUTHORIZED_RETRIES: u32 = 4;
/// Credentials closer to expiry than this are replaced on start.
const RENEW_BEFORE: i64 = 24 * 60 * 60;

#[derive(clap::Args, Debug)]
// The kubelet's --node-name becomes optional here: a joining host defaults to its hostname.
#[command(mut_arg("node_name", |a| a.required(false).default_value("").hide_default_value(true)))]
pub struct JoinArgs {
    /// The API server, e.g. https://10.0.0.1:6443 (printed by `ferrokube token create`).
    #[arg(long)]
    server: String,
    /// A bootstrap token, `[a-z0-9]{6}.[a-z0-9]{16}` (from `ferrokube token create`).
    #[arg(long)]
    token: String,
    /// `sha256:<hex>` of the cluster CA's public key; the server's CA must match it.
    #[arg(long, required_unless_present = "ca_file")]
    discovery_token_ca_cert_hash: Option<String>,
    /// Trust this CA certificate (PEM) instead of pinning a hash.
    #[arg(long, conflicts_with = "discovery_token_ca_cert_hash")]
    ca_file: Option<PathBuf>,
    /// Where the node's credentials are written (default ~/.ferrokube/node).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// How long to wait for the certificate to be approved and signed.
    #[arg(long, default_value = "2m", value_parser = humantime::parse_duration)]
    bootstrap_timeout: Duration,
    /// Write the kubeconfig and exit instead of running the node agent.
    #[arg(long)]
    bootstrap_only: bool,
    #[command(flatten)]
    kubelet: kubelet::Options,
}

pub async fn run(mut args: JoinArgs) -> anyhow::Result<()> {
    if args.kubelet.node_name.is_empty() {
        args.kubelet.node_name = hostname()?;
    }
    let node_name = args.kubelet.node_name.clone();
    if bt::parse_token(&args.token).is_none() {
        bail!(
            "--token must be a bootstrap token of the form [a-z0-9]{{6}}.[a-z0-9]{{16}}, e.g. abcdef.0123456789abcdef"
        );
    }
    let data_dir = match &args.data_dir {
        Some(d) => d.clone(),
        None => match std::env::var_os("HOME") {
            Some(h) if !h.is_empty() => PathBuf::from(h).join(".ferrokube/node"),
            _ => bail!("HOME is not set: give --data-dir DIR"),
        },
    };
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("data dir {} is not usable", data_dir.display()))?;
    let kubeconfig = data_dir.join(KUBECONFIG_FILE);

    if has_valid_credentials(&kubeconfig, &node_name) {
        eprintln!(
            "ferrokube join: {} already holds valid credentials for node {node_name}; using them",
            kubeconfig.display()
        );
    } else {
        let server = args.server.trim_end_matches('/').to_string();
        let ca_pem = discover_ca(&server, &args).await?;
        let (cert_pem, key_pem) = request_certificate(
            &server,
            &ca_pem,
            &args.token,
            &node_name,
            &data_dir,
            args.bootstrap_timeout,
        )
        .await?;
        let user = format!("system:node:{node_name}");
        let yaml = kubeconfig_yaml(&server, &ca_pem, &user, &cert_pem, &key_pem);
        write_private(&kubeconfig, yaml.as_bytes())?;
        println!(
            "This node has joined the cluster as {user}; credentials in {}",
            kubeconfig.display()
        );
    }
    if args.bootstrap_only {
        println!(
            "Run the node agent with:\n  kubelet --kubeconfig {} --node-name {node_name}",
            kubeconfig.display()
        );
        return Ok(());
    }
    let client = component_base::client::from_kubeconfig(&kubeconfig)
        .await
        .context("building a client from the node's kubeconfig")?;
    let shutdown = CancellationToken::new();
    tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            shutdown_signal().await;
            shutdown.cancel();
        }
    });
    kubelet::run(args.kubelet, client, shutdown)
        .await
        .context("node agent")
}

fn hostname() -> anyhow::Result<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .context("cannot read the hostname: give --node-name NAME")?;
    // As the kubelet: node names are the lower-cased hostname.
    let name = name.trim().to_ascii_lowercase();
    if name.is_empty() {
        bail!("the hostname is empty: give --node-name NAME");
    }
    Ok(name)
}

async fn shutdown_signal() {
    let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
}

/// The CA (PEM) that the rest of the join trusts.
async fn discover_ca(server: &str, args: &JoinArgs) -> anyhow::Result<Vec<u8>> {
    if let Some(file) = &args.ca_file {
        let pem = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        CertificateDer::from_pem_slice(&pem)
            .map_err(|e| anyhow::anyhow!("{}: no PEM certificate: {e:?}", file.display()))?;
        return Ok(pem);
    }
    let pinned = args
        .discovery_token_ca_cert_hash
        .as_deref()
        .context("give --discovery-token-ca-cert-hash sha256:<hex> or --ca-file FILE")?;
    let pinned = normalize_pin(pinned)?;
    let chain = fetch_chain(server).await?;
    let mut seen = Vec::new();
    for der in chain.iter().skip(1).filter(|c| bt::is_ca_cert(c)) {
        let hash = bt::ca_cert_hash(der).map_err(anyhow::Error::msg)?;
        if hash == pinned {
            let pem = pem_encode("CERTIFICATE", der);
            return Ok(pem.into_bytes());
        }
        seen.push(hash);
    }
    if seen.is_empty() {
        bail!(
            "{server} sent no CA certificate with its serving certificate, so it cannot be checked against --discovery-token-ca-cert-hash; copy the cluster CA (ca.crt in the API server's cert dir) and give --ca-file"
        );
    }
    bail!(
        "refusing to trust {server}: its CA has public key hash {}, which does not match --discovery-token-ca-cert-hash {pinned}",
        seen.join(", ")
    )
}

/// `sha256:<64 hex digits>`, lower-cased.
fn normalize_pin(pin: &str) -> anyhow::Result<String> {
    let Some(hex) = pin.trim().strip_prefix("sha256:") else {
        bail!("--discovery-token-ca-cert-hash must be sha256:<hex>, got {pin:?}");
    };
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!(
            "--discovery-token-ca-cert-hash must be sha256: followed by 64 hex digits, got {pin:?}"
        );
    }
    Ok(format!("sha256:{}", hex.to_ascii_lowercase()))
}

/// host and port of an `https://` URL.
fn host_port(server: &str) -> anyhow::Result<(String, u16)> {
    let uri: http::Uri = server
        .parse()
        .with_context(|| format!("--server {server:?} is not a URL"))?;
    if uri.scheme_str() != Some("https") {
        bail!("--server must be an https:// URL, got {server:?}");
    }
    let host = uri.host().context("--server has no host")?;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    Ok((host, uri.port_u16().unwrap_or(443)))
}

/// The certificate chain `server` presents, read without verifying it.
async fn fetch_chain(server: &str) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let (host, port) = host_port(server)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("TLS configuration")?
        .dangerous()
        .with_custom_certificate_verifier(
            // Only to read the chain, which is checked against the pinned CA hash before anything
            // is trusted.
            Arc::new(apiserver::tls::UnverifiedServerCert::new(provider)),
        )
        .with_no_client_auth();
    let name = ServerName::try_from(host.clone())
        .with_context(|| format!("{host:?} is not a valid server name"))?;
    let connect = async {
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .with_context(|| format!("connecting to {server}"))?;
        tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .with_context(|| format!("TLS handshake with {server}"))
    };
    let stream = tokio::time::timeout(Duration::from_secs(10), connect)
        .await
        .with_context(|| format!("connecting to {server}: timed out"))??;
    let chain = stream
        .get_ref()
        .1
        .peer_certificates()
        .map(|c| c.iter().map(|d| d.clone().into_owned()).collect())
        .unwrap_or_default();
    Ok(chain)
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// A kubeconfig; names and URLs are quoted so any character is safe in YAML.
fn kubeconfig_yaml(
    server: &str,
    ca_pem: &[u8],
    user: &str,
    cert_pem: &[u8],
    key_pem: &[u8],
) -> String {
    let q = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    let context = format!("{user}@ferrokube");
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: ferrokube\n  cluster:\n    server: {}\n    certificate-authority-data: {}\ncontexts:\n- name: {}\n  context:\n    cluster: ferrokube\n    user: {}\ncurrent-context: {}\npreferences: {{}}\nusers:\n- name: {}\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\n",
        q(server),
        b64(ca_pem),
        q(&context),
        q(user),
        q(&context),
        q(user),
        b64(cert_pem),
        b64(key_pem),
    )
}

fn bootstrap_kubeconfig_yaml(server: &str, ca_pem: &[u8], token: &str) -> String {
    let q = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: ferrokube\n  cluster:\n    server: {}\n    certificate-authority-data: {}\ncontexts:\n- name: tls-bootstrap\n  context:\n    cluster: ferrokube\n    user: tls-bootstrap-token-user\ncurrent-context: tls-bootstrap\npreferences: {{}}\nusers:\n- name: tls-bootstrap-token-user\n  user:\n    token: {}\n",
        q(server),
        b64(ca_pem),
        q(token),
    )
}

/// Writes `contents` readable by the owner only, atomically (a crash leaves the old file
/// or the new one, never half of one).
fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}

/// Whether `path` is a kubeconfig with a client certificate for this node that is not
/// about to expire (a restarted join then skips the bootstrap, as the kubelet does).
fn has_valid_credentials(path: &Path, node_name: &str) -> bool {
    let Ok(config) = kube::config::Kubeconfig::read_from(path) else {
        return false;
    };
    let Some(auth) = config.auth_infos.first().and_then(|a| a.auth_info.clone()) else {
        return false;
    };
    let Some(cert_b64) = auth.client_certificate_data else {
        return false;
    };
    let Ok(pem) = base64::engine::general_purpose::STANDARD.decode(cert_b64.trim()) else {
        return false;
    };
    let Ok(der) = CertificateDer::from_pem_slice(&pem) else {
        return false;
    };
    let user = config.auth_infos.first().map(|a| a.name.as_str());
    let Some((_, not_after)) = bt::cert_key_and_expiry(&der) else {
        return false;
    };
    user == Some(format!("system:node:{node_name}").as_str())
        && not_after - chrono::Utc::now().timestamp() > RENEW_BEFORE
}

/// Creates the node's key and CSR, waits for the signed certificate; returns (certificate
/// PEM, key PEM).
async fn request_certificate(
    server: &str,
    ca_pem: &[u8],
    token: &str,
    node_name: &str,
    data_dir: &Path,
    timeout: Duration,
) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    let bootstrap = data_dir.join(BOOTSTRAP_KUBECONFIG_FILE);
    write_private(
        &bootstrap,
        bootstrap_kubeconfig_yaml(server, ca_pem, token).as_bytes(),
    )?;
    let client = component_base::client::from_kubeconfig(&bootstrap)
        .await
        .context("building the bootstrap client")?;
    let result = request_with(&client, node_name, timeout).await;
    // The token is a secret; the signed certificate replaces it.
    let _ = std::fs::remove_file(&bootstrap);
    result
}

async fn request_with(
    client: &Client,
    node_name: &str,
    timeout: Duration,
) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .context("generating the node's key")?;
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("system:node:{node_name}"),
    );
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "system:nodes");
    let request = params
        .serialize_request(&key)
        .and_then(|r| r.pem())
        .context("building the certificate signing request")?;
    // Random, so a retried join never collides with an earlier request.
    let random = bt::generate_token();
    let name = format!("node-csr-{}", random.split('.').nth(1).unwrap_or(&random));
    let csr = CertificateSigningRequest {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            ..ObjectMeta::default()
        },
        spec: CertificateSigningRequestSpec {
            request: ByteString(request.into_bytes()),
            signer_name: SIGNER.into(),
            // ECDSA keys sign; they do not encipher (kubelet asks the same for ECDSA).
            usages: Some(vec!["digital signature".into(), "client auth".into()]),
            ..CertificateSigningRequestSpec::default()
        },
        status: None,
    };
    let api: Api<CertificateSigningRequest> = Api::all(client.clone());
    // A token created a moment ago may not have reached the API server's cache yet (as
    // upstream's informer): a 401 is retried briefly before it is taken as final.
    let mut unauthorized = 0;
    loop {
        match api.create(&PostParams::default(), &csr).await {
            Ok(_) => break,
            Err(kube::Error::Api(s)) if s.code == 401 && unauthorized < UNAUTHORIZED_RETRIES => {
                unauthorized += 1;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(kube::Error::Api(s)) if s.code == 401 => bail!(
                "the API server refused the bootstrap token (401 Unauthorized): it is wrong, expired or deleted; create a new one with `ferrokube token create`"
            ),
            Err(e) => {
                return Err(
                    anyhow::Error::new(e).context("creating the certificate signing request")
                );
            }
        }
    }
    eprintln!("ferrokube join: certificate signing request {name} created; waiting for approval");

    let deadline = Instant::now() + timeout;
    loop {
        let current = api
            .get(&name)
            .await
            .with_context(|| format!("reading certificate signing request {name}"))?;
        let status = current.status.unwrap_or_default();
        for c in status.conditions.unwrap_or_default() {
            if (c.type_ == "Denied" || c.type_ == "Failed") && c.status == "True" {
                bail!(
                    "certificate signing request {name} was {}: {} {}",
                    c.type_.to_ascii_lowercase(),
                    c.reason.unwrap_or_default(),
                    c.message.unwrap_or_default()
                );
            }
        }
        if let Some(cert) = status.certificate.filter(|c| !c.0.is_empty()) {
            let der = CertificateDer::from_pem_slice(&cert.0)
                .map_err(|e| anyhow::anyhow!("the issued certificate is not PEM: {e:?}"))?;
            let (public_key, _) =
                bt::cert_key_and_expiry(&der).context("the issued certificate cannot be parsed")?;
            if public_key != key.public_key_raw() {
                bail!("the issued certificate is not for this node's key");
            }
            return Ok((cert.0, key.serialize_pem().into_bytes()));
        }
        if Instant::now() >= deadline {
            bail!(
                "timed out after {} waiting for certificate signing request {name} to be approved and signed; check `kubectl get csr {name}` (approve it with `kubectl certificate approve {name}`)",
                humantime::format_duration(timeout)
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn pins_and_urls() {
        let hex = "AB".repeat(32);
        assert_eq!(
            normalize_pin(&format!("sha256:{hex}")).unwrap(),
            format!("sha256:{}", hex.to_ascii_lowercase())
        );
        assert!(normalize_pin("sha1:abcd").is_err());
        assert!(normalize_pin("sha256:abcd").is_err());
        assert_eq!(
            host_port("https://10.0.0.1:6443").unwrap(),
            ("10.0.0.1".to_string(), 6443)
        );
        assert_eq!(
            host_port("https://[::1]:6443").unwrap(),
            ("::1".to_string(), 6443)
        );
        assert_eq!(
            host_port("https://example.com").unwrap(),
            ("example.com".to_string(), 443)
        );
        assert!(host_port("http://10.0.0.1:6443").is_err());
    }

    #[test]
    fn kubeconfig_is_readable_by_kube() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let yaml = kubeconfig_yaml(
            "https://10.0.0.1:6443",
            b"ca",
            "system:node:n1",
            b"cert",
            b"key",
        );
        write_private(&path, yaml.as_bytes()).unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let config = kube::config::Kubeconfig::read_from(&path).unwrap();
        assert_eq!(
            config.current_context.as_deref(),
            Some("system:node:n1@ferrokube")
        );
        assert_eq!(config.auth_infos[0].name, "system:node:n1");
        let cluster = config.clusters[0].cluster.clone().unwrap();
        assert_eq!(cluster.server.as_deref(), Some("https://10.0.0.1:6443"));
        assert_eq!(
            cluster.certificate_authority_data.as_deref(),
            Some(b64(b"ca").as_str())
        );
        // Not a valid certificate: never taken for usable credentials.
        assert!(!has_valid_credentials(&path, "n1"));
    }
}
