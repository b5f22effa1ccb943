//! ferrokube benchmarks. Each subcommand starts what it measures (etcd, the API server binary,
//! ...) on free ports and temp dirs, prints one figure per line as `name value unit` (notes after
//! `#`), and kills everything it started by PID when done, on error or on Ctrl-C.

mod api;
mod client;
mod crd;
mod etcd;
mod proc;
mod ssa;
mod stats;
mod up;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "bench", about = "ferrokube benchmarks (see BENCHMARKS.md)")]
struct Cli {
    /// Client runtime threads: 1 runs the whole client on one thread (it shares the machine
    /// with what it measures, so it is kept cheap).
    #[arg(long, global = true, default_value_t = 1)]
    client_threads: usize,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// API server: creates against raw etcd puts on the same etcd, the embedded store, LIST of
    /// 10,000 pods from the watch cache, watch fan-out.
    Api(ApiArgs),
    /// `ferrokube up`: time to ready, resident memory idle and with simulated nodes and pods.
    Up(UpArgs),
    /// Custom objects (a CRD with a 20-field schema) against ConfigMap creates, same server.
    Crd(crd::CrdArgs),
}

#[derive(Args, Debug)]
struct UpArgs {
    /// Fresh starts timed for `up_ready_s` (the median is reported).
    #[arg(long, default_value_t = 5)]
    starts: usize,
    /// Simulated nodes for the loaded figure.
    #[arg(long, default_value_t = 1_000)]
    nodes: usize,
    /// Pods for the loaded figure.
    #[arg(long, default_value_t = 10_000)]
    pods: usize,
}

#[derive(Args, Debug)]
struct ApiArgs {
    /// The apiserver binary (default: next to this one, built first unless --no-build).
    #[arg(long)]
    apiserver: Option<PathBuf>,
    /// Do not run `cargo build --release -p apiserver` first.
    #[arg(long)]
    no_build: bool,
    #[arg(long, default_value = "/usr/bin/etcd")]
    etcd: PathBuf,
    /// Seconds per throughput run.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Seconds per run of the client probe (HTTP/1.1 vs HTTP/2).
    #[arg(long, default_value_t = 2.0)]
    probe_duration: f64,
    /// Use this HTTP version instead of probing which is faster.
    #[arg(long, value_enum)]
    client: Option<client::Mode>,
    /// Concurrencies of the throughput runs.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    concurrency: Vec<usize>,
    /// Pods to create for the LIST benchmark.
    #[arg(long, default_value_t = 10_000)]
    pods: u64,
    /// Timed LISTs of each kind (the median is reported).
    #[arg(long, default_value_t = 5)]
    list_repeats: usize,
    #[arg(long, default_value_t = 100)]
    watchers: usize,
    /// Creates observed by the watchers.
    #[arg(long, default_value_t = 2_000)]
    watch_writes: u64,
    /// Diagnostic: talk plain HTTP to the server's --insecure-port instead of HTTPS.
    #[arg(long)]
    plain_http: bool,
    /// Run only these parts.
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<api::Part>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = if cli.client_threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cli.client_threads)
            .enable_all()
            .build()?
    };
    runtime.block_on(async {
        // Dropping the benchmark's future on Ctrl-C runs the guards that kill what it started.
        tokio::select! {
            r = run(cli.command) => r,
            _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
        }
    })
}

async fn run(command: Cmd) -> anyhow::Result<()> {
    print_machine_note();
    let result = match command {
        Cmd::Crd(args) => crd::run_args(args).await,
        Cmd::Up(args) => {
            let bin = std::env::current_exe()?;
            up::run(up::UpOptions {
                ferrokube: bin.with_file_name("ferrokube"),
                apiserver: bin.with_file_name("apiserver"),
                starts: args.starts,
                nodes: args.nodes,
                pods: args.pods,
            })
            .await
        }
        Cmd::Api(args) => {
            let apiserver = match args.apiserver {
                Some(p) => p,
                None => {
                    let path = std::env::current_exe()?.with_file_name("apiserver");
                    if !args.no_build {
                        build_apiserver()?;
                    }
                    path
                }
            };
            anyhow::ensure!(
                apiserver.exists(),
                "{} not found: build it with `cargo build --release -p apiserver` or pass --apiserver",
                apiserver.display()
            );
            api::run(api::ApiOptions {
                apiserver,
                etcd: args.etcd,
                duration: Duration::from_secs_f64(args.duration),
                probe_duration: Duration::from_secs_f64(args.probe_duration),
                client: args.client,
                concurrency: args.concurrency,
                pods: args.pods,
                list_repeats: args.list_repeats,
                watchers: args.watchers,
                watch_writes: args.watch_writes,
                parts: args.only,
                plain_http: args.plain_http,
            })
            .await
        }
    };
    eprintln!("# load average at the end: {}", load_average());
    result
}

/// `cargo build --release -p apiserver`, so the binary measured is the current source.
fn build_apiserver() -> anyhow::Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("# cargo build --release -p apiserver");
    let status = std::process::Command::new(cargo)
        .args(["build", "--release", "--quiet", "-p", "apiserver"])
        .status()
        .context("running cargo build")?;
    anyhow::ensure!(
        status.success(),
        "cargo build --release -p apiserver failed"
    );
    Ok(())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn print_machine_note() {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    eprintln!(
        "# {cores} cores shared by etcd, the API server and this client; load average at the start: {}",
        load_average()
    );
}
