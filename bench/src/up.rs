//! `bench up`: what `ferrokube up` costs. Time from start to ready (kubeconfig written and
//! /readyz answering), resident memory idle with its one local node, and loaded with 1,000
//! simulated nodes and 10,000 running pods. The references printed beside them are the
//! issue's targets and the same figures for the API server alone (`ferrokube up` without
//! nodes, scheduler or controllers is not available, so the apiserver binary on the embedded
//! store stands in).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{ListParams, PostParams};

use crate::proc::{ChildGuard, free_port};
use crate::stats::{figure, median_ms};

pub struct UpOptions {
    pub ferrokube: PathBuf,
    pub apiserver: PathBuf,
    pub starts: usize,
    pub nodes: usize,
    pub pods: usize,
}

fn rss_mib(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmRSS")?;
    Ok(kib / 1024.0)
}

async fn wait_file(path: &Path, guard: &mut ChildGuard, within: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    while !path.exists() {
        guard.check_alive()?;
        anyhow::ensure!(
            Instant::now() < deadline,
            "{} not written in time",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}

async fn client(kubeconfig: &Path) -> anyhow::Result<kube::Client> {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig)?;
    let mut config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await?;
    config.read_timeout = None;
    Ok(kube::Client::try_from(config)?)
}

/// Starts `ferrokube up` with `extra` flags in a fresh data dir; returns the guard, the
/// kubeconfig and the time to ready.
async fn start_up(
    opts: &UpOptions,
    dir: &Path,
    extra: &[&str],
) -> anyhow::Result<(ChildGuard, PathBuf, Duration)> {
    let data = dir.join("data");
    let port = free_port()?;
    let mut cmd = Command::new(&opts.ferrokube);
    cmd.arg("up")
        .arg("--data-dir")
        .arg(&data)
        .args([
            "--secure-port",
            &port.to_string(),
            "--bind-address",
            "127.0.0.1",
        ])
        .args(extra);
    let started = Instant::now();
    let mut guard = ChildGuard::spawn("ferrokube up", cmd, &dir.join("up.log"))?;
    let kubeconfig = data.join("kubeconfig");
    wait_file(&kubeconfig, &mut guard, Duration::from_secs(60)).await?;
    let ready = started.elapsed();
    Ok((guard, kubeconfig, ready))
}

pub async fn run(opts: UpOptions) -> anyhow::Result<()> {
    // Start-up time: median of several fresh starts with the default local node.
    let mut ready = Vec::new();
    let mut api_ready = Vec::new();
    for _ in 0..opts.starts {
        let dir = tempfile::tempdir()?;
        let (guard, _, t) = start_up(&opts, dir.path(), &[]).await?;
        drop(guard);
        ready.push(t);

        let dir = tempfile::tempdir()?;
        let port = free_port()?;
        let mut cmd = Command::new(&opts.apiserver);
        cmd.args(["--storage", "embedded", "--data-dir"])
            .arg(dir.path().join("data"))
            .args([
                "--secure-port",
                &port.to_string(),
                "--bind-address",
                "127.0.0.1",
            ])
            .arg("--cert-dir")
            .arg(dir.path().join("pki"))
            .arg("--kubeconfig-out")
            .arg(dir.path().join("kubeconfig"));
        let started = Instant::now();
        let mut guard = ChildGuard::spawn("apiserver", cmd, &dir.path().join("apiserver.log"))?;
        wait_file(
            &dir.path().join("kubeconfig"),
            &mut guard,
            Duration::from_secs(60),
        )
        .await?;
        api_ready.push(started.elapsed());
    }
    let up_ready = median_ms(&mut ready) / 1000.0;
    let api = median_ms(&mut api_ready) / 1000.0;
    figure(
        "up_ready_s",
        up_ready,
        "s",
        &format!(
            "target <= 2 s; the API server alone: {api:.3} s; median of {}",
            opts.starts
        ),
    );

    // Idle: one local node, nothing scheduled; measured after things settle.
    let dir = tempfile::tempdir()?;
    let (guard, kubeconfig, _) = start_up(&opts, dir.path(), &[]).await?;
    let c = client(&kubeconfig).await?;
    wait_nodes(&c, 1, Duration::from_secs(30)).await.ok();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let idle = rss_mib(guard.pid())?;
    drop(guard);
    let dir_api = tempfile::tempdir()?;
    let port = free_port()?;
    let mut cmd = Command::new(&opts.apiserver);
    cmd.args(["--storage", "embedded", "--data-dir"])
        .arg(dir_api.path().join("data"))
        .args([
            "--secure-port",
            &port.to_string(),
            "--bind-address",
            "127.0.0.1",
        ])
        .arg("--cert-dir")
        .arg(dir_api.path().join("pki"))
        .arg("--kubeconfig-out")
        .arg(dir_api.path().join("kubeconfig"));
    let mut api_guard = ChildGuard::spawn("apiserver", cmd, &dir_api.path().join("a.log"))?;
    wait_file(
        &dir_api.path().join("kubeconfig"),
        &mut api_guard,
        Duration::from_secs(60),
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let api_idle = rss_mib(api_guard.pid())?;
    drop(api_guard);
    figure(
        "up_idle_rss_mib",
        idle,
        "MiB",
        &format!("target <= 64 MiB; the API server alone: {api_idle:.1} MiB"),
    );

    // Loaded: simulated nodes and running pods.
    let dir = tempfile::tempdir()?;
    let nodes = opts.nodes.to_string();
    let (guard, kubeconfig, _) = start_up(
        &opts,
        dir.path(),
        &["--no-local-node", "--simulated-nodes", &nodes],
    )
    .await?;
    let c = client(&kubeconfig).await?;
    wait_nodes(&c, opts.nodes, Duration::from_secs(120)).await?;
    let pods: Api<Pod> = Api::namespaced(c.clone(), "default");
    let started = Instant::now();
    let creates = futures::stream::iter(0..opts.pods)
        .map(|i| {
            let pods = pods.clone();
            async move {
                let pod: Pod = serde_json::from_value(serde_json::json!({
                    "metadata": {"name": format!("load-{i}"), "labels": {"bench": "up"}},
                    "spec": {"containers": [{"name": "c", "image": "nginx",
                        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}
                }))?;
                pods.create(&PostParams::default(), &pod).await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(32);
    futures::pin_mut!(creates);
    while let Some(r) = creates.next().await {
        r?;
    }
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let running = pods
            .list_metadata(&ListParams::default().fields("status.phase=Running"))
            .await?
            .items
            .len();
        if running >= opts.pods {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {running} of {} pods Running after 600 s",
            opts.pods
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let to_running = started.elapsed();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let loaded = rss_mib(guard.pid())?;
    figure(
        "up_loaded_rss_mib",
        loaded,
        "MiB",
        &format!(
            "target <= 512 MiB; {} simulated nodes, {} pods Running ({:.1} s from first create)",
            opts.nodes,
            opts.pods,
            to_running.as_secs_f64()
        ),
    );
    drop(guard);
    Ok(())
}

async fn wait_nodes(c: &kube::Client, want: usize, within: Duration) -> anyhow::Result<()> {
    let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(c.clone());
    let deadline = Instant::now() + within;
    loop {
        let n = nodes
            .list_metadata(&ListParams::default())
            .await?
            .items
            .len();
        if n >= want {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {n} of {want} nodes registered"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
