//! `bench crd`: creates of custom objects (a CRD whose schema has ~20 fields, so pruning,
//! defaulting and validation all run) next to ConfigMap creates at the same concurrency, on
//! the same API server on etcd, in the same run.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use bytes::Bytes;
use http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::api::{ApiServer, Backend};
use crate::client::{Mode, Sender};
use crate::etcd::Etcd;
use crate::stats::{closed_loop, figure, report_load};

#[derive(clap::Args, Debug)]
pub struct CrdArgs {
    /// The apiserver binary (default: next to this one; build it with
    /// `cargo build --release -p apiserver`).
    #[arg(long)]
    apiserver: Option<PathBuf>,
    #[arg(long, default_value = "/usr/bin/etcd")]
    etcd: PathBuf,
    /// Seconds per throughput run.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    #[arg(long, value_enum, default_value = "h2")]
    client: Mode,
}

struct CrdOptions {
    apiserver: PathBuf,
    etcd: PathBuf,
    duration: Duration,
    concurrency: usize,
    mode: Mode,
}

pub async fn run_args(args: CrdArgs) -> anyhow::Result<()> {
    let apiserver = match args.apiserver {
        Some(p) => p,
        None => std::env::current_exe()?.with_file_name("apiserver"),
    };
    anyhow::ensure!(
        apiserver.exists(),
        "{} not found: build it with `cargo build --release -p apiserver` or pass --apiserver",
        apiserver.display()
    );
    run(CrdOptions {
        apiserver,
        etcd: args.etcd,
        duration: Duration::from_secs_f64(args.duration),
        concurrency: args.concurrency,
        mode: args.client,
    })
    .await
}

const CRD_GROUP: &str = "bench.ferrokube.dev";

/// A CRD with twenty typed fields (strings with patterns and enums, bounded integers,
/// defaults, a list and a map).
fn crd() -> Value {
    let mut props = serde_json::Map::new();
    for i in 0..8 {
        props.insert(
            format!("text{i}"),
            json!({"type": "string", "maxLength": 64, "pattern": "^[a-z0-9-]*$"}),
        );
    }
    for i in 0..6 {
        props.insert(
            format!("count{i}"),
            json!({"type": "integer", "minimum": 0, "maximum": 1000, "default": i}),
        );
    }
    props.insert(
        "mode".into(),
        json!({"type": "string", "enum": ["fast", "slow"], "default": "fast"}),
    );
    props.insert(
        "enabled".into(),
        json!({"type": "boolean", "default": true}),
    );
    props.insert("ratio".into(), json!({"type": "number", "minimum": 0}));
    props.insert(
        "tags".into(),
        json!({"type": "array", "maxItems": 10, "items": {"type": "string"}}),
    );
    props.insert(
        "labels".into(),
        json!({"type": "object", "additionalProperties": {"type": "string"}}),
    );
    props.insert("port".into(), json!({"x-kubernetes-int-or-string": true}));
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("gizmos.{CRD_GROUP}")},
        "spec": {
            "group": CRD_GROUP,
            "scope": "Namespaced",
            "names": {"plural": "gizmos", "kind": "Gizmo"},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": {"type": "object", "required": ["text0"], "properties": props},
                        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                    },
                }},
            }],
        },
    })
}

fn gizmo(name: &str) -> Bytes {
    let mut spec = serde_json::Map::new();
    for i in 0..8 {
        spec.insert(format!("text{i}"), json!(format!("value-{i}")));
    }
    for i in 0..3 {
        spec.insert(format!("count{i}"), json!(i * 10));
    }
    spec.insert("ratio".into(), json!(0.5));
    spec.insert("tags".into(), json!(["a", "b", "c"]));
    spec.insert("labels".into(), json!({"team": "bench", "tier": "x"}));
    spec.insert("port".into(), json!("http"));
    Bytes::from(
        json!({
            "apiVersion": format!("{CRD_GROUP}/v1"),
            "kind": "Gizmo",
            "metadata": {"name": name},
            "spec": spec,
        })
        .to_string(),
    )
}

fn configmap(name: &str) -> Bytes {
    Bytes::from(
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name},
            "data": {"payload": "v".repeat(256)},
        })
        .to_string(),
    )
}

async fn post_created(mut sender: Sender, path: &str, body: Bytes) -> (Sender, anyhow::Result<()>) {
    let result = async {
        let request = sender.request(Method::POST, path, body)?;
        let (status, body) = sender.send(request).await?;
        if status != StatusCode::CREATED {
            bail!(
                "POST {path}: HTTP {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(300)])
            );
        }
        Ok(())
    }
    .await;
    (sender, result)
}

async fn run(opts: CrdOptions) -> anyhow::Result<()> {
    let etcd = Etcd::start(&opts.etcd).await?;
    let api = ApiServer::start(&opts.apiserver, Backend::Etcd(&etcd.endpoint)).await?;
    let target = &api.target;
    let mut setup = target.connect(opts.mode).await?;
    setup
        .call(
            Method::POST,
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            Bytes::from(crd().to_string()),
            StatusCode::CREATED,
        )
        .await?;
    // Served once Established; the list answering 200 says so.
    let list = format!("/apis/{CRD_GROUP}/v1/namespaces/default/gizmos");
    let started = Instant::now();
    loop {
        let request = setup.request(Method::GET, &list, Bytes::new())?;
        if setup.send(request).await?.0 == StatusCode::OK {
            break;
        }
        if started.elapsed() > Duration::from_secs(20) {
            bail!("the Gizmo CRD was not served within 20 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    figure(
        "crd_established_ms",
        started.elapsed().as_secs_f64() * 1000.0,
        "ms",
        "POST of the CRD to its resource answering",
    );
    let c = opts.concurrency;
    let cm_path: Arc<str> = "/api/v1/namespaces/default/configmaps".into();
    let senders = target.senders(opts.mode, c).await?;
    let mut cm = closed_loop(senders, opts.duration, move |sender, worker, seq| {
        let path = cm_path.clone();
        let body = configmap(&format!("cm-{worker:03}-{seq:08}"));
        async move { post_created(sender, &path, body).await }
    })
    .await;
    report_load(
        &mut cm,
        &format!("configmap_creates_per_s_c{c}"),
        "configmap_create",
        &format!("c{c}"),
        "reference",
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cr_path: Arc<str> = list.into();
    let senders = target.senders(opts.mode, c).await?;
    let mut cr = closed_loop(senders, opts.duration, move |sender, worker, seq| {
        let path = cr_path.clone();
        let body = gizmo(&format!("gz-{worker:03}-{seq:08}"));
        async move { post_created(sender, &path, body).await }
    })
    .await;
    report_load(
        &mut cr,
        &format!("crd_creates_per_s_c{c}"),
        "crd_create",
        &format!("c{c}"),
        "custom objects, 20-field schema",
    );
    figure(
        &format!("crd_vs_configmap_ratio_c{c}"),
        cr.per_s() / cm.per_s(),
        "x",
        "",
    );
    if cm.errors > 0 || cr.errors > 0 {
        bail!("requests failed");
    }
    Ok(())
}
