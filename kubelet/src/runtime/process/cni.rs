//! A CNI client: runs the standard CNI plugins (containernetworking-plugins) with the CNI
//! protocol, as libcni does for containerd — the command and its arguments in `CNI_*`
//! environment variables, the network configuration as JSON on stdin, the result (or an error
//! object) as JSON on stdout. A network configuration list runs its plugins in order on ADD,
//! each one seeing the previous one's result, and in reverse order on DEL.
//!
//! The pod network of a process node is a per-node bridge with host-local IPAM over the node's
//! pod CIDR (IPAM state under the agent's root dir), plus the loopback plugin for `lo`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use super::command;
use crate::runtime::RuntimeError;

/// The CNI spec version we speak; Debian's plugins (1.1) support it.
pub const CNI_VERSION: &str = "1.0.0";

/// Where distributions put the plugins: Debian's lib dir first, then upstream's default.
const PLUGIN_DIRS: &[&str] = &["/usr/lib/cni", "/opt/cni/bin", "/usr/libexec/cni"];

/// The plugins a process node needs.
const REQUIRED_PLUGINS: &[&str] = &["bridge", "host-local", "loopback"];

/// A plugin can take a while on a loaded machine (it creates links, takes IPAM file locks);
/// more than this means it hangs.
const PLUGIN_TIMEOUT: Duration = Duration::from_secs(60);

/// The directory holding the plugins, checked to contain the ones we use.
#[derive(Debug, Clone)]
pub struct Plugins {
    dir: PathBuf,
}

impl Plugins {
    /// Finds the plugin directory: `$CNI_PATH` (the variable CNI runtimes use) when set, else
    /// the first well-known directory holding every required plugin.
    pub fn discover() -> Result<Plugins, RuntimeError> {
        let mut candidates: Vec<PathBuf> = Vec::new();
        if let Some(dirs) = std::env::var_os("CNI_PATH") {
            candidates.extend(std::env::split_paths(&dirs));
        }
        candidates.extend(PLUGIN_DIRS.iter().map(PathBuf::from));
        candidates
            .into_iter()
            .find(|dir| REQUIRED_PLUGINS.iter().all(|p| dir.join(p).is_file()))
            .map(|dir| Plugins { dir })
            .ok_or_else(|| {
                RuntimeError::Network(format!(
                    "the CNI plugins ({}) were not found in $CNI_PATH or {}: install \
                     containernetworking-plugins",
                    REQUIRED_PLUGINS.join(", "),
                    PLUGIN_DIRS.join(", ")
                ))
            })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// A network configuration list (a `.conflist`): a name, a spec version and plugin configs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NetworkList {
    #[serde(rename = "cniVersion")]
    pub cni_version: String,
    pub name: String,
    pub plugins: Vec<Value>,
}

impl NetworkList {
    /// The node's pod network: a bridge acting as the pods' gateway, addresses from
    /// `subnet` handed out by host-local with its state in `ipam_dir`.
    pub fn bridge(name: &str, bridge: &str, subnet: &ipnet::IpNet, ipam_dir: &Path) -> Self {
        NetworkList {
            cni_version: CNI_VERSION.to_string(),
            name: name.to_string(),
            plugins: vec![json!({
                "type": "bridge",
                "bridge": bridge,
                "isGateway": true,
                // Masquerading needs iptables and only matters for traffic leaving the
                // machine; pods here talk to the host and to each other.
                "ipMasq": false,
                "hairpinMode": true,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{ "subnet": subnet.to_string() }]],
                    "dataDir": ipam_dir,
                },
            })],
        }
    }

    /// The loopback network every pod gets on `lo`.
    pub fn loopback() -> Self {
        NetworkList {
            cni_version: CNI_VERSION.to_string(),
            name: "cni-loopback".to_string(),
            plugins: vec![json!({ "type": "loopback" })],
        }
    }
}

/// Which container and interface a CNI call is about.
#[derive(Debug, Clone)]
pub struct Attachment<'a> {
    pub container_id: &'a str,
    pub netns: &'a Path,
    pub ifname: &'a str,
    /// `CNI_ARGS`, e.g. `K8S_POD_NAMESPACE=…;K8S_POD_NAME=…` as the kubelet passes.
    pub args: String,
}

/// An error a plugin reported (the CNI error object) or a failure to run it.
fn plugin_error(plugin: &str, command: &str, out: &command::Output) -> RuntimeError {
    let parsed: Option<Value> = serde_json::from_slice(&out.stdout).ok();
    let detail = match parsed {
        Some(v) => {
            let msg = v.get("msg").and_then(Value::as_str).unwrap_or_default();
            let details = v.get("details").and_then(Value::as_str).unwrap_or_default();
            let code = v.get("code").and_then(Value::as_i64).unwrap_or_default();
            format!("{msg} {details} (CNI error code {code})")
        }
        None => out.message(),
    };
    RuntimeError::Network(format!(
        "CNI plugin {plugin} {command} failed: {}",
        detail.trim()
    ))
}

impl Plugins {
    async fn invoke(
        &self,
        command: &str,
        net: &NetworkList,
        plugin: &Value,
        prev_result: Option<&Value>,
        at: &Attachment<'_>,
    ) -> Result<Option<Value>, RuntimeError> {
        let kind = plugin.get("type").and_then(Value::as_str).ok_or_else(|| {
            RuntimeError::Network(format!("network {}: plugin without a type", net.name))
        })?;
        if kind.contains('/') {
            return Err(RuntimeError::Network(format!(
                "invalid CNI plugin type {kind:?}"
            )));
        }
        let mut conf = plugin.clone();
        if let Some(obj) = conf.as_object_mut() {
            obj.insert("cniVersion".into(), json!(net.cni_version));
            obj.insert("name".into(), json!(net.name));
            if let Some(prev) = prev_result {
                obj.insert("prevResult".into(), prev.clone());
            }
        }
        let stdin = serde_json::to_vec(&conf)
            .map_err(|e| RuntimeError::Network(format!("encoding CNI config: {e}")))?;
        let program = self.dir.join(kind);
        let netns = at.netns.to_string_lossy();
        let path = self.dir.to_string_lossy();
        let out = command::run(
            &program.to_string_lossy(),
            &[],
            &[
                ("CNI_COMMAND", command),
                ("CNI_CONTAINERID", at.container_id),
                ("CNI_NETNS", &netns),
                ("CNI_IFNAME", at.ifname),
                ("CNI_ARGS", &at.args),
                ("CNI_PATH", &path),
            ],
            Some(&stdin),
            PLUGIN_TIMEOUT,
        )
        .await?;
        if !out.success() {
            return Err(plugin_error(kind, command, &out));
        }
        if command != "ADD" || out.stdout.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&out.stdout).map(Some).map_err(|e| {
            RuntimeError::Network(format!(
                "CNI plugin {kind} returned an unreadable result: {e}"
            ))
        })
    }

    /// CNI ADD through every plugin of the list; returns the last plugin's result.
    pub async fn add(&self, net: &NetworkList, at: &Attachment<'_>) -> Result<Value, RuntimeError> {
        let mut prev: Option<Value> = None;
        for plugin in &net.plugins {
            if let Some(result) = self.invoke("ADD", net, plugin, prev.as_ref(), at).await? {
                prev = Some(result);
            }
        }
        prev.ok_or_else(|| {
            RuntimeError::Network(format!("network {}: no plugin returned a result", net.name))
        })
    }

    /// CNI DEL through the plugins in reverse order, with the ADD result as prevResult. DEL
    /// is idempotent in the spec: plugins succeed for things already gone.
    pub async fn del(
        &self,
        net: &NetworkList,
        at: &Attachment<'_>,
        prev_result: Option<&Value>,
    ) -> Result<(), RuntimeError> {
        for plugin in net.plugins.iter().rev() {
            self.invoke("DEL", net, plugin, prev_result, at).await?;
        }
        Ok(())
    }
}

/// The addresses a CNI result assigns (`ips[].address`, CIDR notation), in order.
pub fn result_ips(result: &Value) -> Vec<IpAddr> {
    result
        .get("ips")
        .and_then(Value::as_array)
        .map(|ips| {
            ips.iter()
                .filter_map(|ip| ip.get("address").and_then(Value::as_str))
                .filter_map(|cidr| cidr.split('/').next())
                .filter_map(|ip| ip.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn ips_from_results() {
        let cases = [
            (
                json!({"cniVersion":"1.0.0","ips":[{"address":"10.244.0.5/24","gateway":"10.244.0.1","interface":2}]}),
                vec!["10.244.0.5"],
            ),
            (
                json!({"ips":[{"address":"10.1.0.2/16"},{"address":"fd00::2/64"}]}),
                vec!["10.1.0.2", "fd00::2"],
            ),
            (json!({"ips":[{"address":"garbage"}]}), vec![]),
            (json!({}), vec![]),
        ];
        for (result, want) in cases {
            let want: Vec<IpAddr> = want.iter().map(|s| s.parse().unwrap()).collect();
            assert_eq!(result_ips(&result), want, "{result}");
        }
    }

    #[test]
    fn bridge_config_shape() {
        let subnet: ipnet::IpNet = "10.250.3.0/24".parse().unwrap();
        let net = NetworkList::bridge("ferrokube-abc", "fkabc", &subnet, Path::new("/x/ipam"));
        let v = serde_json::to_value(&net).unwrap();
        assert_eq!(v["cniVersion"], CNI_VERSION);
        assert_eq!(v["plugins"][0]["type"], "bridge");
        assert_eq!(v["plugins"][0]["bridge"], "fkabc");
        assert_eq!(v["plugins"][0]["isGateway"], true);
        assert_eq!(
            v["plugins"][0]["ipam"]["ranges"][0][0]["subnet"],
            "10.250.3.0/24"
        );
        assert_eq!(v["plugins"][0]["ipam"]["dataDir"], "/x/ipam");
        let back: NetworkList = serde_json::from_value(v).unwrap();
        assert_eq!(back, net);
    }

    #[test]
    fn plugin_errors_carry_the_cni_message() {
        let out = command::Output {
            code: Some(1),
            stdout: br#"{"code":11,"msg":"failed to allocate","details":"range full"}"#.to_vec(),
            stderr: vec![],
        };
        let e = plugin_error("host-local", "ADD", &out).to_string();
        assert!(e.contains("failed to allocate range full"), "{e}");
        assert!(e.contains("code 11"), "{e}");
        let out = command::Output {
            code: Some(1),
            stdout: vec![],
            stderr: b"boom\n".to_vec(),
        };
        assert!(
            plugin_error("bridge", "DEL", &out)
                .to_string()
                .contains("boom")
        );
    }
}
