//! `ferrokube token create|list|delete`: bootstrap tokens as kubeadm keeps them — Secrets
//! `kube-system/bootstrap-token-<id>` of type `bootstrap.kubernetes.io/token` — and the
//! `ferrokube join` command that uses one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use apiserver::bootstraptoken as bt;
use base64::Engine as _;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Endpoints, Secret};
use kube::api::{DeleteParams, ListParams, ObjectMeta, PostParams};
use kube::{Api, Client};

#[derive(clap::Args, Debug)]
pub struct TokenArgs {
    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(clap::Subcommand, Debug)]
enum TokenCommand {
    /// Create a bootstrap token and print it with the `ferrokube join` command that uses it.
    Create(CreateArgs),
    /// List bootstrap tokens.
    List(Cluster),
    /// Delete a bootstrap token (by id or whole token).
    Delete(DeleteArgs),
}

/// Which cluster to talk to: `--kubeconfig FILE`, else `<data-dir>/kubeconfig` (as written
/// by `ferrokube up`), else `$KUBECONFIG`, else `~/.ferrokube/kubeconfig`.
#[derive(clap::Args, Debug)]
struct Cluster {
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    #[arg(long, conflicts_with = "kubeconfig")]
    data_dir: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
struct CreateArgs {
    #[command(flatten)]
    cluster: Cluster,
    /// How long the token is valid (e.g. 30m, 24h); 0 = never expires.
    #[arg(long, default_value = "24h", value_parser = parse_ttl)]
    ttl: Duration,
    /// A human-friendly note kept with the token.
    #[arg(long)]
    description: Option<String>,
    /// The API server URL to put in the join command (default: the advertised address of
    /// an API server, else the kubeconfig's server).
    #[arg(long)]
    server: Option<String>,
}

#[derive(clap::Args, Debug)]
struct DeleteArgs {
    #[command(flatten)]
    cluster: Cluster,
    /// Token ids (`abcdef`) or whole tokens (`abcdef.0123456789abcdef`).
    #[arg(required = true)]
    tokens: Vec<String>,
}

fn parse_ttl(s: &str) -> Result<Duration, String> {
    if s.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(s).map_err(|e| e.to_string())
}

pub async fn run(args: TokenArgs) -> anyhow::Result<()> {
    match args.command {
        TokenCommand::Create(a) => create(a).await,
        TokenCommand::List(c) => list(c).await,
        TokenCommand::Delete(a) => delete(a).await,
    }
}

fn kubeconfig_path(cluster: &Cluster) -> anyhow::Result<PathBuf> {
    if let Some(p) = &cluster.kubeconfig {
        return Ok(p.clone());
    }
    if let Some(d) = &cluster.data_dir {
        return Ok(d.join("kubeconfig"));
    }
    if let Some(k) = std::env::var_os("KUBECONFIG").filter(|k| !k.is_empty()) {
        // Only the first file of a KUBECONFIG list: the one with the current context.
        if let Some(first) = std::env::split_paths(&k).next() {
            return Ok(first);
        }
    }
    match std::env::var_os("HOME") {
        Some(home) if !home.is_empty() => Ok(PathBuf::from(home).join(".ferrokube/kubeconfig")),
        _ => bail!("no kubeconfig: give --kubeconfig FILE or --data-dir DIR"),
    }
}

async fn client(path: &Path) -> anyhow::Result<Client> {
    component_base::client::from_kubeconfig(path)
        .await
        .with_context(|| format!("connecting with {}", path.display()))
}

/// The current context's cluster: server URL and CA certificate (PEM).
fn cluster_of(path: &Path) -> anyhow::Result<(String, Vec<u8>)> {
    let config = kube::config::Kubeconfig::read_from(path)
        .with_context(|| format!("reading {}", path.display()))?;
    let context_name = config
        .current_context
        .clone()
        .context("the kubeconfig has no current-context")?;
    let context = config
        .contexts
        .iter()
        .find(|c| c.name == context_name)
        .and_then(|c| c.context.clone())
        .with_context(|| format!("context {context_name:?} not found in the kubeconfig"))?;
    let cluster = config
        .clusters
        .iter()
        .find(|c| c.name == context.cluster)
        .and_then(|c| c.cluster.clone())
        .with_context(|| format!("cluster {:?} not found in the kubeconfig", context.cluster))?;
    let server = cluster
        .server
        .context("the kubeconfig's cluster has no server")?;
    let ca = match (
        &cluster.certificate_authority_data,
        &cluster.certificate_authority,
    ) {
        (Some(data), _) => base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .context("certificate-authority-data is not base64")?,
        (None, Some(file)) => {
            let file = Path::new(file);
            let file = if file.is_relative() {
                path.parent().unwrap_or(Path::new(".")).join(file)
            } else {
                file.to_path_buf()
            };
            std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?
        }
        (None, None) => bail!(
            "the kubeconfig's cluster has no certificate authority, so there is no CA hash to pin"
        ),
    };
    Ok((server, ca))
}

fn is_loopback_url(url: &str) -> bool {
    let host = url
        .split("://")
        .nth(1)
        .unwrap_or(url)
        .split('/')
        .next()
        .unwrap_or("");
    host.starts_with("127.") || host.starts_with("localhost") || host.starts_with("[::1]")
}

/// Where other hosts reach the API: the first address of the `kubernetes` Service's
/// endpoints (the API servers' advertise addresses).
async fn advertised_url(client: &Client) -> Option<String> {
    let endpoints: Endpoints = Api::namespaced(client.clone(), "default")
        .get("kubernetes")
        .await
        .ok()?;
    let subset = endpoints.subsets?.into_iter().next()?;
    let ip = subset.addresses?.into_iter().next()?.ip;
    let port = subset
        .ports?
        .into_iter()
        .find(|p| p.name.as_deref() == Some("https"))?
        .port;
    let host = if ip.contains(':') {
        format!("[{ip}]")
    } else {
        ip
    };
    Some(format!("https://{host}:{port}"))
}

async fn create(args: CreateArgs) -> anyhow::Result<()> {
    let path = kubeconfig_path(&args.cluster)?;
    let (kubeconfig_server, ca_pem) = cluster_of(&path)?;
    let hash = bt::ca_cert_hash_pem(&ca_pem).map_err(anyhow::Error::msg)?;
    let client = client(&path).await?;

    let token = bt::generate_token();
    let (id, secret) = bt::parse_token(&token).context("generated token has a bad shape")?;
    let mut data = BTreeMap::new();
    let mut put = |k: &str, v: &str| {
        data.insert(k.to_string(), ByteString(v.as_bytes().to_vec()));
    };
    put(bt::TOKEN_ID_KEY, id);
    put(bt::TOKEN_SECRET_KEY, secret);
    if !args.ttl.is_zero() {
        let ttl = chrono::Duration::from_std(args.ttl).context("--ttl is too long")?;
        let expiration = chrono::Utc::now() + ttl;
        put(
            bt::EXPIRATION_KEY,
            &expiration.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        );
    }
    if let Some(d) = &args.description {
        put(bt::DESCRIPTION_KEY, d);
    }
    put(bt::USAGE_AUTHENTICATION_KEY, "true");
    put(bt::USAGE_SIGNING_KEY, "true");
    put(bt::EXTRA_GROUPS_KEY, bt::DEFAULT_EXTRA_GROUP);
    let object = Secret {
        metadata: ObjectMeta {
            name: Some(bt::secret_name(id)),
            namespace: Some(bt::SECRET_NAMESPACE.into()),
            ..ObjectMeta::default()
        },
        type_: Some(bt::SECRET_TYPE.into()),
        data: Some(data),
        ..Secret::default()
    };
    let secrets: Api<Secret> = Api::namespaced(client.clone(), bt::SECRET_NAMESPACE);
    secrets
        .create(&PostParams::default(), &object)
        .await
        .context("creating the bootstrap token Secret")?;

    let server = match args.server {
        Some(s) => s,
        None if is_loopback_url(&kubeconfig_server) => {
            advertised_url(&client).await.unwrap_or(kubeconfig_server)
        }
        None => kubeconfig_server,
    };
    println!("{token}");
    println!(
        "ferrokube join --server {server} --token {token} --discovery-token-ca-cert-hash {hash}"
    );
    Ok(())
}

fn describe_ttl(expiration: Option<&str>) -> (String, String) {
    let Some(e) = expiration.filter(|e| !e.is_empty()) else {
        return ("<forever>".into(), "<never>".into());
    };
    match chrono::DateTime::parse_from_rfc3339(e) {
        Ok(at) => {
            let left = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
            let ttl = match left.to_std() {
                Ok(d) => humantime::format_duration(Duration::from_secs(d.as_secs())).to_string(),
                Err(_) => "<invalid>".into(),
            };
            (ttl, e.to_string())
        }
        Err(_) => ("<invalid>".into(), e.to_string()),
    }
}

async fn list(cluster: Cluster) -> anyhow::Result<()> {
    let path = kubeconfig_path(&cluster)?;
    let client = client(&path).await?;
    let secrets: Api<Secret> = Api::namespaced(client, bt::SECRET_NAMESPACE);
    let list = secrets
        .list(&ListParams::default())
        .await
        .context("listing Secrets in kube-system")?;
    let mut rows = vec![[
        "TOKEN".to_string(),
        "TTL".into(),
        "EXPIRES".into(),
        "USAGES".into(),
        "DESCRIPTION".into(),
        "EXTRA GROUPS".into(),
    ]];
    for s in list.items {
        if s.type_.as_deref() != Some(bt::SECRET_TYPE) {
            continue;
        }
        let value = serde_json::to_value(&s).unwrap_or_default();
        let get = |k: &str| bt::secret_data(&value, k);
        let (Some(id), Some(secret)) = (get(bt::TOKEN_ID_KEY), get(bt::TOKEN_SECRET_KEY)) else {
            continue;
        };
        let (ttl, expires) = describe_ttl(get(bt::EXPIRATION_KEY).as_deref());
        let usages: Vec<&str> = [
            (bt::USAGE_AUTHENTICATION_KEY, "authentication"),
            (bt::USAGE_SIGNING_KEY, "signing"),
        ]
        .into_iter()
        .filter(|(k, _)| get(k).as_deref() == Some("true"))
        .map(|(_, name)| name)
        .collect();
        rows.push([
            format!("{id}.{secret}"),
            ttl,
            expires,
            usages.join(","),
            get(bt::DESCRIPTION_KEY).unwrap_or_else(|| "<none>".into()),
            get(bt::EXTRA_GROUPS_KEY).unwrap_or_default(),
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        println!("{}", line.join("   ").trim_end());
    }
    Ok(())
}

async fn delete(args: DeleteArgs) -> anyhow::Result<()> {
    let path = kubeconfig_path(&args.cluster)?;
    let client = client(&path).await?;
    let secrets: Api<Secret> = Api::namespaced(client, bt::SECRET_NAMESPACE);
    for token in &args.tokens {
        let id = match bt::parse_token(token) {
            Some((id, _)) => id,
            None if bt::is_token_id(token) => token.as_str(),
            None => bail!(
                "{token:?} is neither a token id ([a-z0-9]{{6}}) nor a token ([a-z0-9]{{6}}.[a-z0-9]{{16}})"
            ),
        };
        secrets
            .delete(&bt::secret_name(id), &DeleteParams::default())
            .await
            .with_context(|| format!("deleting bootstrap token {id:?}"))?;
        println!("bootstrap token {id:?} deleted");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn ttl_flag() {
        assert_eq!(parse_ttl("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_ttl("24h").unwrap(), Duration::from_secs(86400));
        assert!(parse_ttl("soon").is_err());
    }

    #[test]
    fn loopback_servers() {
        assert!(is_loopback_url("https://127.0.0.1:6443"));
        assert!(is_loopback_url("https://localhost:6443"));
        assert!(is_loopback_url("https://[::1]:6443"));
        assert!(!is_loopback_url("https://10.0.0.5:6443"));
    }
}
