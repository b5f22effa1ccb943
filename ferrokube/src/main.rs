//! `ferrokube`: a whole cluster from one command.
//!
//! `ferrokube up` runs the control plane in the foreground: the API server on the embedded
//! store (or on etcd with --etcd-servers). The scheduler, controller-manager and nodes join
//! it as they are built (their issues); each still talks to the others only through the API.

mod join;
mod lb;
mod token;
mod up;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "ferrokube",
    version,
    about = "ferrokube: a Kubernetes-compatible control plane"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a cluster in the foreground until SIGINT/SIGTERM.
    Up(up::UpArgs),
    /// A TCP load balancer in front of several API servers (for HA clusters).
    Lb(lb::LbArgs),
    /// Manage bootstrap tokens, with which other hosts join as nodes.
    Token(token::TokenArgs),
    /// Join this host to a cluster as a node, with a bootstrap token.
    Join(Box<join::JoinArgs>),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Up(args) => up::up(args).await,
        Command::Lb(args) => lb::run(args).await,
        Command::Token(args) => token::run(args).await,
        Command::Join(args) => join::run(*args).await,
    }
}
