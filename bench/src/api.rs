//! `bench api`: API server writes against raw etcd writes on the same etcd, the same binary on
//! the embedded store, LIST from the watch cache, and watch fan-out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::BodyExt;
use tempfile::TempDir;
use tokio::sync::mpsc;

use crate::client::{Mode, Sender, Target};
use crate::etcd::{Etcd, RawWrite, write_load};
use crate::proc::{ChildGuard, CpuMeter, free_port};
use crate::stats::{Load, closed_loop, figure, fixed_count, median_ms, report_load};

/// Parts of the `api` run, for `--only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Part {
    /// Raw etcd writes and API creates on etcd, per concurrency.
    Writes,
    /// LIST of many pods from the watch cache.
    List,
    /// Watch fan-out.
    Watch,
    /// API creates on the embedded store.
    Embedded,
    /// Server-side applies beside plain creates (issue 3).
    Apply,
}

#[derive(Debug, Clone)]
pub struct ApiOptions {
    pub apiserver: PathBuf,
    pub etcd: PathBuf,
    pub duration: Duration,
    pub probe_duration: Duration,
    pub client: Option<Mode>,
    pub concurrency: Vec<usize>,
    pub pods: u64,
    pub list_repeats: usize,
    pub watchers: usize,
    pub watch_writes: u64,
    pub parts: Vec<Part>,
    /// Talk plain HTTP to `--insecure-port` instead of HTTPS (a diagnostic: what TLS costs).
    pub plain_http: bool,
}

/// Value size of every write in the throughput runs.
const VALUE_BYTES: usize = 1024;
/// Writers used for set-up writes (pods for LIST, the writes of the fan-out run).
const SETUP_CONCURRENCY: usize = 64;

/// The minimum API/etcd throughput ratio at each concurrency (issue 2's targets).
fn ratio_target(concurrency: usize) -> Option<f64> {
    match concurrency {
        1 | 16 => Some(0.7),
        64 => Some(0.6),
        _ => None,
    }
}

/// The minimum embedded-store creates/s at each concurrency.
fn embedded_target(concurrency: usize) -> Option<f64> {
    (concurrency == 64).then_some(10_000.0)
}

/// Targets and checks, gathered for the summary at the end.
#[derive(Default)]
struct Verdicts {
    missed: Vec<String>,
    failed: Vec<String>,
}

impl Verdicts {
    /// Records `value >= target` and returns the note printed next to the figure.
    fn at_least(&mut self, name: &str, value: f64, target: f64) -> String {
        if value >= target {
            format!("target >= {} met", fmt_target(target))
        } else {
            self.missed.push(format!(
                "{name} = {} (target >= {})",
                fmt_target(value),
                fmt_target(target)
            ));
            format!("target >= {} MISSED", fmt_target(target))
        }
    }
}

fn fmt_target(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// One API server process with its own temp dir (certificates, kubeconfig, embedded data).
pub struct ApiServer {
    /// HTTPS, with the CA and token of the admin kubeconfig.
    pub target: Target,
    /// The same over plain HTTP (`--insecure-port`), for diagnostics.
    pub plain_target: Target,
    // Field order = drop order: the process goes before its directory.
    process: ChildGuard,
    _dir: TempDir,
}

pub enum Backend<'a> {
    Etcd(&'a str),
    Embedded,
}

impl ApiServer {
    /// Starts the binary on a free port and waits for its admin kubeconfig (written once the
    /// server is ready).
    pub async fn start(binary: &Path, backend: Backend<'_>) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("bench-apiserver-")
            .tempdir()?;
        let kubeconfig = dir.path().join("admin.kubeconfig");
        let insecure_port = free_port()?;
        let mut command = Command::new(binary);
        command
            .args(["--secure-port", "0", "--bind-address", "127.0.0.1"])
            .args(["--insecure-port", &insecure_port.to_string()])
            .arg("--cert-dir")
            .arg(dir.path().join("pki"))
            .arg("--kubeconfig-out")
            .arg(&kubeconfig);
        let name = match backend {
            Backend::Etcd(endpoint) => {
                command.args(["--etcd-servers", endpoint]);
                "apiserver (etcd)"
            }
            Backend::Embedded => {
                command
                    .args(["--storage", "embedded", "--data-dir"])
                    .arg(dir.path().join("data"));
                "apiserver (embedded)"
            }
        };
        let mut process = ChildGuard::spawn(name, command, &dir.path().join("apiserver.log"))?;
        let started = Instant::now();
        while !kubeconfig.exists() {
            process.check_alive()?;
            if started.elapsed() > Duration::from_secs(60) {
                bail!(
                    "{name} wrote no kubeconfig within 60 s; end of its log:\n{}",
                    process.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        eprintln!("# {name} ready in {:.1} s", started.elapsed().as_secs_f64());
        let target = Target::from_kubeconfig(&kubeconfig)?;
        Ok(Self {
            plain_target: target.plain_http(insecure_port),
            target,
            process,
            _dir: dir,
        })
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// The admin kubeconfig the server wrote (for real kubectl).
    pub fn kubeconfig(&self) -> PathBuf {
        self._dir.path().join("admin.kubeconfig")
    }

    /// The target the benchmark talks to: HTTPS unless `plain_http`.
    fn target(&self, plain_http: bool) -> &Target {
        if plain_http {
            &self.plain_target
        } else {
            &self.target
        }
    }
}

/// A request body built once, with a fixed-width name slot overwritten per request.
struct Template {
    bytes: Vec<u8>,
    name_at: usize,
    name_len: usize,
}

const NAME_SLOT: &str = "@NAME@";

impl Template {
    /// `json` contains [`NAME_SLOT`] once; names are `name_len` bytes long.
    fn new(json: &str, name_len: usize) -> anyhow::Result<Self> {
        let name_at = json
            .find(NAME_SLOT)
            .context("template without a name slot")?;
        let mut bytes = Vec::with_capacity(json.len() + name_len);
        bytes.extend_from_slice(&json.as_bytes()[..name_at]);
        bytes.resize(name_at + name_len, b'x');
        bytes.extend_from_slice(&json.as_bytes()[name_at + NAME_SLOT.len()..]);
        Ok(Self {
            bytes,
            name_at,
            name_len,
        })
    }

    fn configmap(data_bytes: usize, name_len: usize) -> anyhow::Result<Self> {
        let json = serde_json::json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": NAME_SLOT},
            "data": {"payload": "v".repeat(data_bytes)},
        });
        Self::new(&json.to_string(), name_len)
    }

    fn pod(name_len: usize) -> anyhow::Result<Self> {
        let json = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": NAME_SLOT},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]},
        });
        Self::new(&json.to_string(), name_len)
    }

    fn body(&self, name: &str) -> Bytes {
        let mut bytes = self.bytes.clone();
        if name.len() == self.name_len {
            bytes[self.name_at..self.name_at + self.name_len].copy_from_slice(name.as_bytes());
        } else {
            bytes.splice(
                self.name_at..self.name_at + self.name_len,
                name.bytes().collect::<Vec<_>>(),
            );
        }
        Bytes::from(bytes)
    }
}

/// One POST that must answer 201, on `sender`, which is handed back.
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

/// Closed-loop creates of ConfigMaps with `VALUE_BYTES` of data, named `{tag}-WWW-SSSSSSSS`.
async fn configmap_creates(
    target: &Target,
    mode: Mode,
    concurrency: usize,
    duration: Duration,
    namespace: &str,
    tag: &str,
) -> anyhow::Result<Load> {
    let senders = target.senders(mode, concurrency).await?;
    let name_len = format!("{tag}-000-00000000").len();
    let template = Arc::new(Template::configmap(VALUE_BYTES, name_len)?);
    let path: Arc<str> = format!("/api/v1/namespaces/{namespace}/configmaps").into();
    let tag: Arc<str> = tag.into();
    Ok(closed_loop(senders, duration, move |sender, worker, seq| {
        let body = template.body(&format!("{tag}-{worker:03}-{seq:08}"));
        let path = path.clone();
        async move { post_created(sender, &path, body).await }
    })
    .await)
}

async fn create_namespace(sender: &mut Sender, name: &str) -> anyhow::Result<()> {
    let body = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name},
    });
    sender
        .call(
            Method::POST,
            "/api/v1/namespaces",
            Bytes::from(body.to_string()),
            StatusCode::CREATED,
        )
        .await?;
    Ok(())
}

/// Picks the faster HTTP version by a short create run of each at 16 and 64 in flight.
async fn choose_mode(target: &Target, probe: Duration) -> anyhow::Result<Mode> {
    let mut score = BTreeMap::new();
    for c in [16, 64] {
        for mode in [Mode::H1, Mode::H2] {
            let tag = format!("probe-{}-c{c:03}", mode.as_str());
            let load = configmap_creates(target, mode, c, probe, "default", &tag).await?;
            let rate = load.per_s();
            figure(
                &format!("client_probe_{}_creates_per_s_c{c}", mode.as_str()),
                rate,
                "ops/s",
                "",
            );
            if load.errors > 0 {
                bail!(
                    "probe {}: {} failed creates, first: {}",
                    mode.as_str(),
                    load.errors,
                    load.first_error.as_deref().unwrap_or("?")
                );
            }
            *score.entry(mode.as_str()).or_insert(1.0) *= rate;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    let h1 = score.get("h1").copied().unwrap_or(0.0);
    let h2 = score.get("h2").copied().unwrap_or(0.0);
    Ok(if h2 >= h1 { Mode::H2 } else { Mode::H1 })
}

/// Prints where the CPU of a run went (stderr).
fn cpu_note(label: &str, meter: &CpuMeter, ops: u64) {
    let cores = std::thread::available_parallelism().map_or(1, usize::from) as f64;
    eprintln!("# {label}: {}", meter.summary(ops, cores));
}

pub async fn run(opts: ApiOptions) -> anyhow::Result<()> {
    let wants = |p: Part| opts.parts.is_empty() || opts.parts.contains(&p);
    let mut verdicts = Verdicts::default();
    let value = vec![b'v'; VALUE_BYTES];
    let pause = Duration::from_millis(500);

    let etcd = Etcd::start(&opts.etcd).await?;
    eprintln!("# etcd at {} (pid {})", etcd.endpoint, etcd.pid());
    let mode = {
        let api = ApiServer::start(&opts.apiserver, Backend::Etcd(&etcd.endpoint)).await?;
        eprintln!("# apiserver on etcd: pid {}", api.pid());
        let target = api.target(opts.plain_http);
        let procs = [
            ("apiserver", api.pid()),
            ("etcd", etcd.pid()),
            ("client", std::process::id()),
        ];
        if opts.plain_http {
            eprintln!("# DIAGNOSTIC RUN: plain HTTP (--insecure-port), not HTTPS");
        }
        let mode = match opts.client {
            Some(m) => m,
            None if wants(Part::Writes) || wants(Part::Embedded) => {
                choose_mode(target, opts.probe_duration).await?
            }
            None => Mode::H2,
        };
        eprintln!("# client: {}", mode.as_str());
        let client_note = format!(
            "{} client",
            match (opts.plain_http, mode) {
                (false, Mode::H1) => "HTTPS, HTTP/1.1",
                (false, Mode::H2) => "HTTPS, HTTP/2",
                (true, Mode::H1) => "PLAIN HTTP, HTTP/1.1",
                (true, Mode::H2) => "PLAIN HTTP, HTTP/2",
            }
        );

        if wants(Part::Writes) {
            // Every run writes keys of its own, also when a concurrency is given twice.
            for (run, &c) in opts.concurrency.iter().enumerate() {
                tokio::time::sleep(pause).await;
                let meter = CpuMeter::start(&procs);
                let mut put = write_load(
                    &etcd.endpoint,
                    RawWrite::Put,
                    &format!("/bench/put/r{run}-c{c}"),
                    &value,
                    c,
                    opts.duration,
                )
                .await?;
                cpu_note(&format!("etcd puts c{c}"), &meter, put.ok);
                report_load(
                    &mut put,
                    &format!("etcd_puts_per_s_c{c}"),
                    "etcd_put",
                    &format!("c{c}"),
                    "reference",
                );
                tokio::time::sleep(pause).await;
                let meter = CpuMeter::start(&procs);
                let mut txn = write_load(
                    &etcd.endpoint,
                    RawWrite::CreateTxn,
                    &format!("/bench/txn/r{run}-c{c}"),
                    &value,
                    c,
                    opts.duration,
                )
                .await?;
                cpu_note(&format!("etcd create txns c{c}"), &meter, txn.ok);
                report_load(
                    &mut txn,
                    &format!("etcd_create_txns_per_s_c{c}"),
                    "etcd_txn",
                    &format!("c{c}"),
                    "reference: create-shaped txn",
                );
                tokio::time::sleep(pause).await;
                let meter = CpuMeter::start(&procs);
                let mut api_load = configmap_creates(
                    target,
                    mode,
                    c,
                    opts.duration,
                    "default",
                    &format!("cm-r{run}-c{c:03}"),
                )
                .await?;
                cpu_note(&format!("api creates c{c}"), &meter, api_load.ok);
                report_load(
                    &mut api_load,
                    &format!("api_creates_per_s_c{c}"),
                    "api_create",
                    &format!("c{c}"),
                    &client_note,
                );
                if api_load.errors > 0 {
                    verdicts
                        .failed
                        .push(format!("api creates c{c}: {} errors", api_load.errors));
                }
                let name = format!("api_vs_etcd_ratio_c{c}");
                let ratio = api_load.per_s() / put.per_s();
                let note = match ratio_target(c) {
                    Some(t) => verdicts.at_least(&name, ratio, t),
                    None => String::new(),
                };
                figure(&name, ratio, "x", &note);
                figure(
                    &format!("api_vs_etcd_txn_ratio_c{c}"),
                    api_load.per_s() / txn.per_s(),
                    "x",
                    "against create-shaped txns (reference only)",
                );
            }
        }
        if wants(Part::List) {
            list_pods(target, mode, &opts, &procs, &mut verdicts).await?;
            // The same pods through real kubectl (Table output).
            if let Err(e) =
                crate::ssa::kubectl_get_pods(&api.kubeconfig(), "bench-list", opts.pods, 3).await
            {
                verdicts.failed.push(format!("kubectl get pods: {e:#}"));
            }
        }
        if wants(Part::Apply) {
            crate::ssa::applies(target, mode, 16, opts.duration).await?;
        }
        if wants(Part::Watch) {
            watch_fanout(target, mode, &opts, &procs, &mut verdicts).await?;
        }
        mode
    };

    if wants(Part::Embedded) {
        let api = ApiServer::start(&opts.apiserver, Backend::Embedded).await?;
        eprintln!("# apiserver on the embedded store: pid {}", api.pid());
        let procs = [
            ("apiserver", api.pid()),
            ("etcd (idle)", etcd.pid()),
            ("client", std::process::id()),
        ];
        for (run, &c) in opts.concurrency.iter().enumerate() {
            tokio::time::sleep(pause).await;
            let meter = CpuMeter::start(&procs);
            let mut load = configmap_creates(
                api.target(opts.plain_http),
                mode,
                c,
                opts.duration,
                "default",
                &format!("cm-r{run}-c{c:03}"),
            )
            .await?;
            cpu_note(&format!("embedded creates c{c}"), &meter, load.ok);
            let name = format!("embedded_creates_per_s_c{c}");
            let note = match embedded_target(c) {
                Some(t) => verdicts.at_least(&name, load.per_s(), t),
                None => String::new(),
            };
            report_load(&mut load, &name, "embedded_create", &format!("c{c}"), &note);
            if load.errors > 0 {
                verdicts
                    .failed
                    .push(format!("embedded creates c{c}: {} errors", load.errors));
            }
        }
    }
    drop(etcd);

    eprintln!("#");
    if verdicts.missed.is_empty() {
        eprintln!("# all targets met");
    } else {
        for m in &verdicts.missed {
            eprintln!("# target MISSED: {m}");
        }
    }
    if !verdicts.failed.is_empty() {
        for f in &verdicts.failed {
            eprintln!("# FAILED: {f}");
        }
        bail!("{} correctness check(s) failed", verdicts.failed.len());
    }
    Ok(())
}

/// Creates `opts.pods` pods in a fresh namespace, then times LIST from the watch cache
/// (`resourceVersion=0`) and the consistent LIST (no resourceVersion).
async fn list_pods(
    target: &Target,
    mode: Mode,
    opts: &ApiOptions,
    procs: &[(&'static str, u32)],
    verdicts: &mut Verdicts,
) -> anyhow::Result<()> {
    let ns = "bench-list";
    let mut sender = target.connect(mode).await?;
    create_namespace(&mut sender, ns).await?;
    let template = Arc::new(Template::pod("p-000000".len())?);
    let path: Arc<str> = format!("/api/v1/namespaces/{ns}/pods").into();
    let senders = target.senders(mode, SETUP_CONCURRENCY).await?;
    let create_path = path.clone();
    let load = fixed_count(senders, opts.pods, move |sender, i| {
        let body = template.body(&format!("p-{i:06}"));
        let path = create_path.clone();
        async move { post_created(sender, &path, body).await }
    })
    .await;
    eprintln!(
        "# created {} pods in {:.1} s ({:.0}/s)",
        load.ok,
        load.elapsed.as_secs_f64(),
        load.per_s()
    );
    if load.errors > 0 {
        bail!(
            "{} pod creates failed, first: {}",
            load.errors,
            load.first_error.as_deref().unwrap_or("?")
        );
    }

    let n = opts.pods;
    let variants = [
        (format!("list_{n}_pods_ms"), "?resourceVersion=0"),
        (format!("list_{n}_pods_consistent_ms"), ""),
    ];
    for (_, query) in &variants {
        let url = format!("{path}{query}");
        // One untimed call each checks the answer.
        let body = sender
            .call(Method::GET, &url, Bytes::new(), StatusCode::OK)
            .await?;
        let list: serde_json::Value = serde_json::from_slice(&body)?;
        let items = list["items"].as_array().map(Vec::len).unwrap_or(0);
        if items as u64 != n {
            verdicts
                .failed
                .push(format!("GET {url}: {items} items, expected {n}"));
        }
        eprintln!(
            "# GET {url}: {items} items, {:.1} MB",
            body.len() as f64 / 1e6
        );
    }
    // The two kinds alternate, so drift in the machine's load affects both alike.
    let mut samples = vec![Vec::with_capacity(opts.list_repeats); variants.len()];
    let meter = CpuMeter::start(procs);
    for _ in 0..opts.list_repeats {
        for (i, (_, query)) in variants.iter().enumerate() {
            let url = format!("{path}{query}");
            let began = Instant::now();
            sender
                .call(Method::GET, &url, Bytes::new(), StatusCode::OK)
                .await?;
            samples[i].push(began.elapsed());
        }
    }
    cpu_note(
        "LIST (both kinds)",
        &meter,
        (opts.list_repeats * variants.len()) as u64,
    );
    for ((name, _), mut s) in variants.iter().zip(samples) {
        figure(
            name,
            median_ms(&mut s),
            "ms",
            &format!("median of {}", opts.list_repeats),
        );
    }
    Ok(())
}

/// What one watcher saw.
#[derive(Default)]
struct WatchOutcome {
    /// Distinct expected objects seen ADDED.
    distinct: u64,
    /// Every event line.
    lines: u64,
    last_event: Option<Instant>,
    error: Option<String>,
}

/// The watchers of one fan-out run, each on its own HTTP/1.1 connection (like separate
/// clients), each expecting the `n` objects `fan-NNNNNN` ADDED.
struct Watchers {
    handles: Vec<tokio::task::JoinHandle<WatchOutcome>>,
    /// Opens the gate of watchers started with one.
    gate: tokio::sync::watch::Sender<bool>,
}

impl Watchers {
    /// Starts `count` watchers on `url` and returns once all are ready: with `gated`, once
    /// connected (their requests go out when [`Watchers::open`] is called); without, once the
    /// server has answered their watch requests.
    async fn start(
        target: &Target,
        url: &str,
        n: u64,
        count: usize,
        gated: bool,
    ) -> anyhow::Result<Self> {
        let give_up = Instant::now() + Duration::from_secs(90);
        let (gate, gate_rx) = tokio::sync::watch::channel(!gated);
        let (ready_tx, mut ready_rx) = mpsc::channel::<anyhow::Result<()>>(count);
        let mut handles = Vec::with_capacity(count);
        for _ in 0..count {
            let target = target.clone();
            let ready = ready_tx.clone();
            let url = url.to_string();
            let gate = gate_rx.clone();
            handles.push(tokio::spawn(async move {
                let mut outcome = WatchOutcome::default();
                if let Err(e) =
                    watch_one(&target, &url, n, give_up, ready, gate, &mut outcome).await
                {
                    outcome.error = Some(format!("{e:#}"));
                }
                outcome
            }));
        }
        drop(ready_tx);
        for _ in 0..count {
            match tokio::time::timeout(Duration::from_secs(30), ready_rx.recv()).await {
                Ok(Some(Ok(()))) => {}
                Ok(Some(Err(e))) => return Err(e.context("starting a watch")),
                Ok(None) | Err(_) => bail!("watchers did not start within 30 s"),
            }
        }
        Ok(Self { handles, gate })
    }

    fn open(&self) {
        self.gate.send_replace(true);
    }

    /// Waits for every watcher: (events delivered, watchers that got all, time of the last
    /// event, the first problem).
    async fn finish(self, n: u64) -> (u64, usize, Option<Instant>, Option<String>) {
        let mut delivered = 0u64;
        let mut complete = 0usize;
        let mut last: Option<Instant> = None;
        let mut first_problem = None;
        for h in self.handles {
            let outcome = h.await.unwrap_or_else(|e| WatchOutcome {
                error: Some(e.to_string()),
                ..WatchOutcome::default()
            });
            delivered += outcome.distinct;
            if outcome.distinct == n {
                complete += 1;
            } else if first_problem.is_none() {
                first_problem = Some(format!(
                    "got {} of {n} events ({} lines){}",
                    outcome.distinct,
                    outcome.lines,
                    outcome
                        .error
                        .map(|e| format!(", error: {e}"))
                        .unwrap_or_default()
                ));
            }
            if let Some(t) = outcome.last_event {
                last = Some(last.map_or(t, |l| l.max(t)));
            }
        }
        (delivered, complete, last, first_problem)
    }
}

/// Watch fan-out on the ConfigMaps of a fresh namespace. Live: `opts.watchers` watchers, then
/// `opts.watch_writes` creates; events/s is the events delivered across all watchers over the
/// time from the first write to the last event received (so it cannot exceed the write rate
/// times the watchers). Replay: as many new watchers from the resourceVersion before those
/// writes, released at once; each is sent the same events from the watch cache's history as
/// fast as the server can, which shows the fan-out capacity itself.
async fn watch_fanout(
    target: &Target,
    mode: Mode,
    opts: &ApiOptions,
    procs: &[(&'static str, u32)],
    verdicts: &mut Verdicts,
) -> anyhow::Result<()> {
    let ns = "bench-watch";
    let n = opts.watch_writes;
    let w = opts.watchers;
    let mut sender = target.connect(mode).await?;
    create_namespace(&mut sender, ns).await?;
    let path = format!("/api/v1/namespaces/{ns}/configmaps");
    let list = sender
        .call(Method::GET, &path, Bytes::new(), StatusCode::OK)
        .await?;
    let list: serde_json::Value = serde_json::from_slice(&list)?;
    let rv = list["metadata"]["resourceVersion"]
        .as_str()
        .context("list without metadata.resourceVersion")?
        .to_string();
    let url = format!("{path}?watch=1&resourceVersion={rv}");

    // Live.
    let watchers = Watchers::start(target, &url, n, w, false).await?;
    let template = Arc::new(Template::configmap(8, "fan-000000".len())?);
    let senders = target.senders(mode, SETUP_CONCURRENCY).await?;
    let create_path: Arc<str> = path.as_str().into();
    let meter = CpuMeter::start(procs);
    let first_write = Instant::now();
    let writes = fixed_count(senders, n, move |sender, i| {
        let body = template.body(&format!("fan-{i:06}"));
        let path = create_path.clone();
        async move { post_created(sender, &path, body).await }
    })
    .await;
    let writes_done = Instant::now();
    if writes.errors > 0 {
        verdicts.failed.push(format!(
            "watch fan-out: {} writes failed, first: {}",
            writes.errors,
            writes.first_error.as_deref().unwrap_or("?")
        ));
    }
    let (delivered, complete, last, problem) = watchers.finish(n).await;
    cpu_note(
        "watch fan-out (live), per delivered event",
        &meter,
        delivered,
    );
    let last = last.unwrap_or(first_write);
    figure(
        &format!("watch_fanout_events_per_s_{w}"),
        delivered as f64 / (last - first_write).as_secs_f64().max(1e-9),
        "events/s",
        &format!("{w} watchers x {n} creates"),
    );
    figure(
        "watch_fanout_write_per_s",
        writes.ok as f64 / (writes_done - first_write).as_secs_f64().max(1e-9),
        "ops/s",
        &format!("the {n} creates, {SETUP_CONCURRENCY} in flight"),
    );
    figure(
        "watch_fanout_lag_ms",
        last.saturating_duration_since(writes_done).as_secs_f64() * 1000.0,
        "ms",
        "last create answered -> last event received",
    );
    check_watchers(
        verdicts,
        "watch_fanout_complete_watchers",
        complete,
        w,
        problem,
    );

    // Replay.
    let watchers = Watchers::start(target, &url, n, w, true).await?;
    let meter = CpuMeter::start(procs);
    let opened = Instant::now();
    watchers.open();
    let (delivered, complete, last, problem) = watchers.finish(n).await;
    cpu_note("watch replay, per delivered event", &meter, delivered);
    let span = last.map_or(0.0, |l| (l - opened).as_secs_f64());
    figure(
        &format!("watch_replay_events_per_s_{w}"),
        delivered as f64 / span.max(1e-9),
        "events/s",
        &format!("{w} watchers each sent the {n} events from the cache at once"),
    );
    check_watchers(
        verdicts,
        "watch_replay_complete_watchers",
        complete,
        w,
        problem,
    );
    Ok(())
}

fn check_watchers(
    verdicts: &mut Verdicts,
    name: &str,
    complete: usize,
    watchers: usize,
    problem: Option<String>,
) {
    let note = if complete == watchers {
        "every watcher got every event".to_string()
    } else {
        let problem = problem.unwrap_or_default();
        verdicts.failed.push(format!(
            "{name}: {} of {watchers} watchers incomplete; first: {problem}",
            watchers - complete
        ));
        format!("FAILED: {problem}")
    };
    figure(name, complete as f64, "count", &note);
}

/// Runs one watch until it has seen all `n` objects `fan-NNNNNN` ADDED or `give_up` passes.
/// Reports ready once connected if `gate` is closed (and sends the request when it opens),
/// else once the server answered the watch request.
async fn watch_one(
    target: &Target,
    url: &str,
    n: u64,
    give_up: Instant,
    ready: mpsc::Sender<anyhow::Result<()>>,
    mut gate: tokio::sync::watch::Receiver<bool>,
    outcome: &mut WatchOutcome,
) -> anyhow::Result<()> {
    let gated = !*gate.borrow();
    let started = async {
        let mut sender = target.connect(Mode::H1).await?;
        if gated {
            let _ = ready.send(Ok(())).await;
            gate.wait_for(|open| *open).await?;
        }
        let request = sender.request(Method::GET, url, Bytes::new())?;
        let response = sender.send_streaming(request).await?;
        if response.status() != StatusCode::OK {
            bail!("GET {url}: HTTP {}", response.status());
        }
        Ok((sender, response))
    }
    .await;
    let (_sender, response) = match started {
        Ok(s) => {
            if !gated {
                let _ = ready.send(Ok(())).await;
            }
            s
        }
        Err(e) => {
            let msg = format!("{e:#}");
            let _ = ready.send(Err(e)).await;
            bail!(msg);
        }
    };
    let mut body = response.into_body();
    let mut seen = vec![false; usize::try_from(n)?];
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    while outcome.distinct < n {
        let frame = match tokio::time::timeout_at(give_up.into(), body.frame()).await {
            Err(_) => bail!("timed out"),
            Ok(None) => bail!("watch ended"),
            Ok(Some(frame)) => frame?,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        buf.extend_from_slice(&data);
        let mut consumed = 0;
        while let Some(nl) = buf[consumed..].iter().position(|&b| b == b'\n') {
            let line = &buf[consumed..consumed + nl];
            consumed += nl + 1;
            outcome.lines += 1;
            if let Some(i) = added_index(line)
                && let Some(slot) = seen.get_mut(i)
                && !*slot
            {
                *slot = true;
                outcome.distinct += 1;
                outcome.last_event = Some(Instant::now());
            }
        }
        buf.drain(..consumed);
    }
    Ok(())
}

/// For an ADDED event line of an object named `fan-NNNNNN`, NNNNNN.
fn added_index(line: &[u8]) -> Option<usize> {
    const ADDED: &[u8] = br#"{"type":"ADDED""#;
    const NAME: &[u8] = br#""name":"fan-"#;
    if !line.starts_with(ADDED) {
        return None;
    }
    let at = line.windows(NAME.len()).position(|w| w == NAME)? + NAME.len();
    let digits = line.get(at..at + 6)?;
    std::str::from_utf8(digits).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn template_fills_the_name() {
        let t = Template::configmap(4, 10).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&t.body("abcdefghij")).unwrap();
        assert_eq!(v["metadata"]["name"], "abcdefghij");
        assert_eq!(v["data"]["payload"], "vvvv");
        let v: serde_json::Value = serde_json::from_slice(&t.body("short")).unwrap();
        assert_eq!(v["metadata"]["name"], "short");
    }

    #[test]
    fn event_lines() {
        let line =
            br#"{"type":"ADDED","object":{"metadata":{"name":"fan-000042","namespace":"x"}}}"#;
        assert_eq!(added_index(line), Some(42));
        let line = br#"{"type":"MODIFIED","object":{"metadata":{"name":"fan-000042"}}}"#;
        assert_eq!(added_index(line), None);
    }
}
