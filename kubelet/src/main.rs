//! `kubelet` binary: the node agent. See the library for what it does.

use std::path::PathBuf;

use clap::Parser;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Parser)]
#[command(name = "kubelet", about = "ferrokube node agent")]
struct Cli {
    /// kubeconfig with the API server's address and credentials.
    #[arg(long)]
    kubeconfig: PathBuf,
    /// Log format: text or json.
    #[arg(long, default_value = "text")]
    log_format: String,
    #[command(flatten)]
    options: kubelet::Options,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    component_base::logging::init(&cli.log_format);
    let client = component_base::client::from_kubeconfig(&cli.kubeconfig).await?;
    let shutdown = CancellationToken::new();
    let signal = shutdown.clone();
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!("SIGTERM handler: {e}");
                    let _ = tokio::signal::ctrl_c().await;
                    signal.cancel();
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        signal.cancel();
    });
    kubelet::run(cli.options, client, shutdown).await?;
    Ok(())
}
