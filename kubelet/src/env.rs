//! A container's environment as upstream's kubelet builds it (makeEnvironmentVariables):
//! envFrom first, then env in order, `$(VAR)` references expanded against what is defined so
//! far; valueFrom configMapKeyRef / secretKeyRef / fieldRef / resourceFieldRef. Errors carry
//! upstream's messages, reported as Waiting `CreateContainerConfigError`.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, Secret};
use kube::api::Api;

/// Why the environment could not be built.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("configmap \"{0}\" not found")]
    ConfigMapNotFound(String),
    #[error("secret \"{0}\" not found")]
    SecretNotFound(String),
    #[error("couldn't find key {key} in ConfigMap {namespace}/{name}")]
    ConfigMapKey {
        key: String,
        namespace: String,
        name: String,
    },
    #[error("couldn't find key {key} in Secret {namespace}/{name}")]
    SecretKey {
        key: String,
        namespace: String,
        name: String,
    },
    #[error("unsupported fieldRef path {0:?}")]
    FieldPath(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Api(String),
}

/// Pod fields that fieldRef (and downwardAPI volumes) can read.
#[derive(Debug, Clone, Default)]
pub struct PodFields {
    pub name: String,
    pub namespace: String,
    pub uid: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub node_name: String,
    pub service_account_name: String,
    pub host_ip: String,
    pub pod_ips: Vec<String>,
}

impl PodFields {
    pub fn from_pod(pod: &Pod, host_ip: &IpAddr) -> Self {
        let spec = pod.spec.as_ref();
        PodFields {
            name: pod.metadata.name.clone().unwrap_or_default(),
            namespace: pod.metadata.namespace.clone().unwrap_or_default(),
            uid: pod.metadata.uid.clone().unwrap_or_default(),
            labels: pod.metadata.labels.clone().unwrap_or_default(),
            annotations: pod.metadata.annotations.clone().unwrap_or_default(),
            node_name: spec.and_then(|s| s.node_name.clone()).unwrap_or_default(),
            service_account_name: spec
                .and_then(|s| s.service_account_name.clone())
                .unwrap_or_else(|| "default".to_string()),
            host_ip: host_ip.to_string(),
            pod_ips: Vec::new(),
        }
    }

    /// The value of a fieldRef path, as upstream's ExtractFieldPathAsString plus the
    /// kubelet-provided status fields.
    pub fn field(&self, path: &str) -> Result<String, EnvError> {
        let map_value = |m: &BTreeMap<String, String>| {
            let mut lines: Vec<String> =
                m.iter().map(|(k, v)| format!("{k}={}", quote(v))).collect();
            lines.sort();
            lines.join("\n")
        };
        let subscript = |prefix: &str| {
            path.strip_prefix(prefix)
                .and_then(|r| r.strip_prefix("['"))
                .and_then(|r| r.strip_suffix("']"))
                .map(str::to_string)
        };
        Ok(match path {
            "metadata.name" => self.name.clone(),
            "metadata.namespace" => self.namespace.clone(),
            "metadata.uid" => self.uid.clone(),
            "metadata.labels" => map_value(&self.labels),
            "metadata.annotations" => map_value(&self.annotations),
            "spec.nodeName" => self.node_name.clone(),
            "spec.serviceAccountName" => self.service_account_name.clone(),
            "status.hostIP" => self.host_ip.clone(),
            "status.hostIPs" => self.host_ip.clone(),
            "status.podIP" => self.pod_ips.first().cloned().unwrap_or_default(),
            "status.podIPs" => self.pod_ips.join(","),
            _ => {
                if let Some(k) = subscript("metadata.labels") {
                    self.labels.get(&k).cloned().unwrap_or_default()
                } else if let Some(k) = subscript("metadata.annotations") {
                    self.annotations.get(&k).cloned().unwrap_or_default()
                } else {
                    return Err(EnvError::FieldPath(path.to_string()));
                }
            }
        })
    }
}

/// Go's strconv.Quote for the values the downward API writes (`k="v"`).
fn quote(v: &str) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| format!("\"{v}\""))
}

/// Expands `$(VAR)` in `input` from `vars`, as upstream's expansion: `$$` is a literal `$`,
/// unknown references stay as written.
pub fn expand(input: &str, vars: &HashMap<String, String>) -> String {
    let mut out = String::with_capacity(input.len());
    let bytes = input.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' && i + 1 < bytes.len() {
            match bytes[i + 1] {
                b'$' => {
                    out.push('$');
                    i += 2;
                    continue;
                }
                b'(' => {
                    if let Some(end) = input[i + 2..].find(')') {
                        let name = &input[i + 2..i + 2 + end];
                        match vars.get(name) {
                            Some(v) => out.push_str(v),
                            None => out.push_str(&input[i..i + 3 + end]),
                        }
                        i += 3 + end;
                        continue;
                    }
                }
                _ => {}
            }
        }
        // Push the whole UTF-8 character starting here.
        let ch_len = input[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&input[i..i + ch_len]);
        i += ch_len;
    }
    out
}

/// command and args with `$(VAR)` references expanded from the container's environment.
pub fn expand_command(c: &Container, env: &[(String, String)]) -> (Vec<String>, Vec<String>) {
    let vars: HashMap<String, String> = env.iter().cloned().collect();
    let map = |v: &Option<Vec<String>>| {
        v.iter()
            .flatten()
            .map(|s| expand(s, &vars))
            .collect::<Vec<_>>()
    };
    (map(&c.command), map(&c.args))
}

/// Caches the ConfigMaps and Secrets read while building one container's environment.
struct Sources<'a> {
    client: &'a kube::Client,
    namespace: String,
    config_maps: HashMap<String, Option<ConfigMap>>,
    secrets: HashMap<String, Option<Secret>>,
}

impl Sources<'_> {
    async fn config_map(&mut self, name: &str) -> Result<Option<&ConfigMap>, EnvError> {
        if !self.config_maps.contains_key(name) {
            let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), &self.namespace);
            let cm = api
                .get_opt(name)
                .await
                .map_err(|e| EnvError::Api(format!("reading configmap {name:?}: {e}")))?;
            self.config_maps.insert(name.to_string(), cm);
        }
        Ok(self.config_maps.get(name).and_then(Option::as_ref))
    }

    async fn secret(&mut self, name: &str) -> Result<Option<&Secret>, EnvError> {
        if !self.secrets.contains_key(name) {
            let api: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace);
            let s = api
                .get_opt(name)
                .await
                .map_err(|e| EnvError::Api(format!("reading secret {name:?}: {e}")))?;
            self.secrets.insert(name.to_string(), s);
        }
        Ok(self.secrets.get(name).and_then(Option::as_ref))
    }
}

fn config_map_data(cm: &ConfigMap) -> BTreeMap<String, String> {
    let mut data = cm.data.clone().unwrap_or_default();
    for (k, v) in cm.binary_data.iter().flatten() {
        data.insert(k.clone(), String::from_utf8_lossy(&v.0).into_owned());
    }
    data
}

fn secret_data(s: &Secret) -> BTreeMap<String, String> {
    let mut data: BTreeMap<String, String> = s
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), String::from_utf8_lossy(&v.0).into_owned()))
        .collect();
    for (k, v) in s.string_data.iter().flatten() {
        data.insert(k.clone(), v.clone());
    }
    data
}

/// A valid C identifier-ish env name, as upstream checks for envFrom keys.
fn valid_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

/// Builds the container's final environment.
pub async fn resolve(
    client: &kube::Client,
    pod: &Pod,
    c: &Container,
    fields: &PodFields,
) -> Result<Vec<(String, String)>, EnvError> {
    let mut sources = Sources {
        client,
        namespace: fields.namespace.clone(),
        config_maps: HashMap::new(),
        secrets: HashMap::new(),
    };
    let mut order: Vec<String> = Vec::new();
    let mut values: HashMap<String, String> = HashMap::new();
    fn set(values: &mut HashMap<String, String>, k: String, v: String, order: &mut Vec<String>) {
        if values.insert(k.clone(), v).is_none() {
            order.push(k);
        }
    }
    for from in c.env_from.iter().flatten() {
        let prefix = from.prefix.clone().unwrap_or_default();
        if let Some(r) = &from.config_map_ref {
            let optional = r.optional.unwrap_or(false);
            match sources.config_map(&r.name).await? {
                Some(cm) => {
                    for (k, v) in config_map_data(cm) {
                        let key = format!("{prefix}{k}");
                        if valid_env_name(&key) {
                            set(&mut values, key, v, &mut order);
                        }
                    }
                }
                None if optional => {}
                None => return Err(EnvError::ConfigMapNotFound(r.name.clone())),
            }
        }
        if let Some(r) = &from.secret_ref {
            let optional = r.optional.unwrap_or(false);
            match sources.secret(&r.name).await? {
                Some(s) => {
                    for (k, v) in secret_data(s) {
                        let key = format!("{prefix}{k}");
                        if valid_env_name(&key) {
                            set(&mut values, key, v, &mut order);
                        }
                    }
                }
                None if optional => {}
                None => return Err(EnvError::SecretNotFound(r.name.clone())),
            }
        }
    }
    for e in c.env.iter().flatten() {
        let value = match (&e.value, &e.value_from) {
            (_, Some(from)) => {
                if let Some(r) = &from.config_map_key_ref {
                    let optional = r.optional.unwrap_or(false);
                    match sources.config_map(&r.name).await? {
                        Some(cm) => match config_map_data(cm).remove(&r.key) {
                            Some(v) => v,
                            None if optional => continue,
                            None => {
                                return Err(EnvError::ConfigMapKey {
                                    key: r.key.clone(),
                                    namespace: fields.namespace.clone(),
                                    name: r.name.clone(),
                                });
                            }
                        },
                        None if optional => continue,
                        None => return Err(EnvError::ConfigMapNotFound(r.name.clone())),
                    }
                } else if let Some(r) = &from.secret_key_ref {
                    let optional = r.optional.unwrap_or(false);
                    match sources.secret(&r.name).await? {
                        Some(s) => match secret_data(s).remove(&r.key) {
                            Some(v) => v,
                            None if optional => continue,
                            None => {
                                return Err(EnvError::SecretKey {
                                    key: r.key.clone(),
                                    namespace: fields.namespace.clone(),
                                    name: r.name.clone(),
                                });
                            }
                        },
                        None if optional => continue,
                        None => return Err(EnvError::SecretNotFound(r.name.clone())),
                    }
                } else if let Some(r) = &from.field_ref {
                    fields.field(&r.field_path)?
                } else if let Some(r) = &from.resource_field_ref {
                    resource_field(pod, c, r)?
                } else {
                    String::new()
                }
            }
            (Some(v), None) => expand(v, &values),
            (None, None) => String::new(),
        };
        set(&mut values, e.name.clone(), value, &mut order);
    }
    Ok(order
        .into_iter()
        .map(|k| {
            let v = values.get(&k).cloned().unwrap_or_default();
            (k, v)
        })
        .collect())
}

/// resourceFieldRef: limits/requests of cpu and memory, divided by the divisor (default 1),
/// rounded up as upstream. A missing limit falls back to the node's capacity upstream; here
/// the agent reports that it cannot say, rather than invent a number.
fn resource_field(
    pod: &Pod,
    c: &Container,
    r: &k8s_openapi::api::core::v1::ResourceFieldSelector,
) -> Result<String, EnvError> {
    let target = match r.container_name.as_deref() {
        Some(name) if !name.is_empty() && name != c.name => pod
            .spec
            .as_ref()
            .and_then(|s| s.containers.iter().find(|x| x.name == name))
            .unwrap_or(c),
        _ => c,
    };
    let (which, resource) = r
        .resource
        .split_once('.')
        .ok_or_else(|| EnvError::Unsupported(format!("unsupported resource {:?}", r.resource)))?;
    let res = target.resources.as_ref();
    let map = match which {
        "limits" => res.and_then(|r| r.limits.as_ref()),
        "requests" => res.and_then(|r| r.requests.as_ref()),
        _ => None,
    };
    let q = map.and_then(|m| m.get(resource)).ok_or_else(|| {
        EnvError::Unsupported(format!(
            "resourceFieldRef {}: container {:?} sets no such value and this node agent does not default it",
            r.resource, target.name
        ))
    })?;
    let divisor = r.divisor.as_ref().map(|d| d.0.as_str()).unwrap_or("1");
    let value = match resource {
        "cpu" => {
            let v = crate::status::parse_millis(&q.0).unwrap_or(0) as f64;
            let d = crate::status::parse_millis(divisor).unwrap_or(1000).max(1) as f64;
            (v / d).ceil()
        }
        "memory" | "ephemeral-storage" => {
            let v = crate::status::parse_bytes(&q.0).unwrap_or(0) as f64;
            let d = crate::status::parse_bytes(divisor).unwrap_or(1).max(1) as f64;
            (v / d).ceil()
        }
        other => {
            return Err(EnvError::Unsupported(format!(
                "unsupported resource {other:?}"
            )));
        }
    };
    Ok(format!("{}", value as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_as_upstream() {
        let vars: HashMap<String, String> = [("A".to_string(), "x".to_string())].into();
        let cases = [
            ("$(A)", "x"),
            ("pre-$(A)-post", "pre-x-post"),
            ("$$(A)", "$(A)"),
            ("$(B)", "$(B)"),
            ("$(A", "$(A"),
            ("ünï$(A)", "ünïx"),
            ("$", "$"),
        ];
        for (input, want) in cases {
            assert_eq!(expand(input, &vars), want, "{input}");
        }
    }

    #[test]
    fn field_paths() {
        let f = PodFields {
            name: "p".into(),
            namespace: "ns".into(),
            labels: [("app".to_string(), "web".to_string())].into(),
            pod_ips: vec!["10.0.0.2".into()],
            host_ip: "1.2.3.4".into(),
            ..Default::default()
        };
        let cases = [
            ("metadata.name", Some("p")),
            ("metadata.namespace", Some("ns")),
            ("metadata.labels['app']", Some("web")),
            ("metadata.labels", Some("app=\"web\"")),
            ("status.podIP", Some("10.0.0.2")),
            ("status.hostIP", Some("1.2.3.4")),
            ("spec.bogus", None),
        ];
        for (path, want) in cases {
            assert_eq!(f.field(path).ok().as_deref(), want, "{path}");
        }
    }
}
