//! Pod network namespaces, made with `ip netns` so they are named files under /run/netns that
//! outlive the agent (a restarted agent re-adopts its pods' namespaces) and that an operator
//! can inspect with `ip netns list`. Names carry the node's key, so agents and test clusters
//! on one machine never touch each other's namespaces.

use std::path::PathBuf;
use std::time::Duration;

use super::command;
use crate::runtime::RuntimeError;

const NETNS_DIR: &str = "/run/netns";
const IP_TIMEOUT: Duration = Duration::from_secs(10);

/// The bind-mounted namespace file `ip netns add` creates.
pub fn path(name: &str) -> PathBuf {
    PathBuf::from(NETNS_DIR).join(name)
}

/// Creates the named network namespace, or reuses it when it already exists (a retried
/// sandbox creation after a crash).
pub async fn create(name: &str) -> Result<PathBuf, RuntimeError> {
    let p = path(name);
    if p.exists() {
        return Ok(p);
    }
    command::run_ok("ip", &["netns", "add", name], IP_TIMEOUT)
        .await
        .map_err(|e| RuntimeError::Network(format!("creating network namespace {name}: {e}")))?;
    Ok(p)
}

/// Deletes the named network namespace; a missing one is already deleted.
pub async fn delete(name: &str) -> Result<(), RuntimeError> {
    if !path(name).exists() {
        return Ok(());
    }
    match command::run_ok("ip", &["netns", "delete", name], IP_TIMEOUT).await {
        Ok(_) => Ok(()),
        Err(_) if !path(name).exists() => Ok(()),
        Err(e) => Err(RuntimeError::Network(format!(
            "deleting network namespace {name}: {e}"
        ))),
    }
}

/// Names of the namespaces that start with `prefix` (one node's namespaces).
pub fn list(prefix: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(NETNS_DIR) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with(prefix))
        .collect()
}
