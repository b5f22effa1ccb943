//! Figures for issue 3 in the `api` run: `kubectl get pods` of a large namespace through
//! real kubectl (Table output, its chunked LIST), and server-side applies of distinct
//! objects beside plain creates of the same objects measured in the same run.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};

use crate::client::{Mode, Sender, Target};
use crate::stats::{Load, closed_loop, figure, median_ms, report_load};

/// Wall time of `kubectl get pods -n <namespace>` (kubectl asks for a Table in pages of
/// 500), median of `runs` after one untimed run that also fills kubectl's discovery cache.
pub async fn kubectl_get_pods(
    kubeconfig: &Path,
    namespace: &str,
    expect: u64,
    runs: usize,
) -> anyhow::Result<()> {
    let cache = tempfile::Builder::new()
        .prefix("bench-kubectl-cache-")
        .tempdir()?;
    let run = || async {
        let began = Instant::now();
        let out = tokio::time::timeout(
            Duration::from_secs(300),
            tokio::process::Command::new("kubectl")
                .arg("--kubeconfig")
                .arg(kubeconfig)
                .arg("--cache-dir")
                .arg(cache.path())
                .args(["get", "pods", "-n", namespace])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .output(),
        )
        .await
        .context("kubectl get pods took over 300 s")?
        .context("running kubectl (is it on PATH?)")?;
        let took = began.elapsed();
        if !out.status.success() {
            bail!(
                "kubectl get pods failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let rows = String::from_utf8_lossy(&out.stdout)
            .lines()
            .count()
            .saturating_sub(1) as u64;
        anyhow::Ok((took, rows))
    };
    let (_, rows) = run().await?;
    if rows != expect {
        bail!("kubectl get pods printed {rows} rows, expected {expect}");
    }
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        samples.push(run().await?.0);
    }
    figure(
        &format!("kubectl_get_pods_{expect}_ms"),
        median_ms(&mut samples),
        "ms",
        &format!("median of {runs}, real kubectl (Table, pages of 500), wall time"),
    );
    Ok(())
}

fn configmap(name: &str) -> Bytes {
    Bytes::from(
        serde_json::json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "labels": {"app": "bench"}},
            "data": {"payload": "v".repeat(1024), "mode": "bench"},
        })
        .to_string(),
    )
}

async fn expect(
    mut sender: Sender,
    request: http::Request<http_body_util::Full<Bytes>>,
    want: StatusCode,
) -> (Sender, anyhow::Result<()>) {
    let result = async {
        let what = format!("{} {}", request.method(), request.uri());
        let (status, body) = sender.send(request).await?;
        if status != want {
            bail!(
                "{what}: HTTP {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(300)])
            );
        }
        Ok(())
    }
    .await;
    (sender, result)
}

/// Plain creates, then server-side applies (each creating a new object), of the same
/// ConfigMaps at `concurrency` in flight for `duration` each.
pub async fn applies(
    target: &Target,
    mode: Mode,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<()> {
    let ns = "bench-ssa";
    let mut sender = target.connect(mode).await?;
    let body =
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
    sender
        .call(
            Method::POST,
            "/api/v1/namespaces",
            Bytes::from(body.to_string()),
            StatusCode::CREATED,
        )
        .await?;
    let base: Arc<str> = format!("/api/v1/namespaces/{ns}/configmaps").into();
    let c = concurrency;

    tokio::time::sleep(Duration::from_millis(500)).await;
    let path = base.clone();
    let mut creates: Load = closed_loop(
        target.senders(mode, c).await?,
        duration,
        move |sender, worker, seq| {
            let path = path.clone();
            async move {
                let body = configmap(&format!("create-{worker:03}-{seq:08}"));
                match sender.request(Method::POST, &path, body) {
                    Ok(req) => expect(sender, req, StatusCode::CREATED).await,
                    Err(e) => (sender, Err(e)),
                }
            }
        },
    )
    .await;
    report_load(
        &mut creates,
        &format!("ssa_reference_creates_per_s_c{c}"),
        "ssa_reference_create",
        &format!("c{c}"),
        "reference: POST of the same ConfigMaps",
    );

    tokio::time::sleep(Duration::from_millis(500)).await;
    let path = base.clone();
    let mut applies: Load = closed_loop(
        target.senders(mode, c).await?,
        duration,
        move |sender, worker, seq| {
            let path = path.clone();
            async move {
                let name = format!("apply-{worker:03}-{seq:08}");
                let url = format!("{path}/{name}?fieldManager=bench&force=false");
                match sender.request(Method::PATCH, &url, configmap(&name)) {
                    Ok(mut req) => {
                        req.headers_mut().insert(
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("application/apply-patch+yaml"),
                        );
                        expect(sender, req, StatusCode::CREATED).await
                    }
                    Err(e) => (sender, Err(e)),
                }
            }
        },
    )
    .await;
    report_load(
        &mut applies,
        &format!("ssa_applies_per_s_c{c}"),
        "ssa_apply",
        &format!("c{c}"),
        "server-side apply creating distinct ConfigMaps",
    );
    figure(
        &format!("ssa_vs_create_ratio_c{c}"),
        applies.per_s() / creates.per_s(),
        "x",
        "same run",
    );
    if creates.errors > 0 || applies.errors > 0 {
        bail!(
            "{} create and {} apply errors",
            creates.errors,
            applies.errors
        );
    }
    Ok(())
}
