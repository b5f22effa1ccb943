//! `controller-manager`: runs the controllers against the API server named by --kubeconfig.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use tokio_util::sync::CancellationToken;

#[derive(Parser, Debug)]
#[command(
    name = "controller-manager",
    version,
    about = "ferrokube controller-manager"
)]
struct Cli {
    /// Kubeconfig of the API server to reconcile against.
    #[arg(long)]
    kubeconfig: PathBuf,
    /// Log format: text or json.
    #[arg(long, default_value = "text")]
    log_format: String,
    #[command(flatten)]
    options: controller_manager::Options,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    component_base::logging::init(&cli.log_format);
    let client = component_base::client::from_kubeconfig(&cli.kubeconfig)
        .await
        .context("building the API client")?;
    let shutdown = CancellationToken::new();
    let on_signal = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        on_signal.cancel();
    });
    controller_manager::run(cli.options, client, shutdown)
        .await
        .context("controller-manager")?;
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
