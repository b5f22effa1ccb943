//! Pod volumes materialised as host directories under `<root>/pods/<uid>/volumes/`:
//! emptyDir, configMap, secret, downwardAPI, projected (configMap/secret/downwardAPI
//! sources) and hostPath. Other volume types are refused with a clear message instead of
//! starting a container without the data it expects.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use k8s_openapi::api::core::v1::{
    ConfigMap, Container, DownwardAPIVolumeFile, KeyToPath, Pod, PodSpec, Secret, Volume,
};
use kube::api::Api;

use crate::env::PodFields;
use crate::runtime::Mount;

/// Why a container's volumes are not ready.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// Data missing in the API (upstream: FailedMount, the pod stays ContainerCreating).
    #[error("MountVolume.SetUp failed for volume \"{volume}\" : {message}")]
    SetUp { volume: String, message: String },
    /// A volume type or option this agent does not implement.
    #[error("volume \"{volume}\": {message}")]
    Unsupported { volume: String, message: String },
}

impl VolumeError {
    /// The Waiting reason and message the container reports.
    pub fn waiting(&self) -> (String, String) {
        match self {
            VolumeError::SetUp { .. } => ("ContainerCreating".into(), self.to_string()),
            VolumeError::Unsupported { .. } => {
                ("CreateContainerConfigError".into(), self.to_string())
            }
        }
    }
}

fn setup(volume: &str, message: impl Into<String>) -> VolumeError {
    VolumeError::SetUp {
        volume: volume.to_string(),
        message: message.into(),
    }
}

/// A relative path with no `..` or root component: keys and items must stay inside the
/// volume directory whatever the API object says.
fn safe_relative(p: &str) -> bool {
    !p.is_empty()
        && Path::new(p)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

fn write_file(
    dir: &Path,
    rel: &str,
    data: &[u8],
    mode: Option<i32>,
    vol: &str,
) -> Result<(), VolumeError> {
    if !safe_relative(rel) {
        return Err(setup(vol, format!("invalid path {rel:?}")));
    }
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| setup(vol, format!("creating {}: {e}", parent.display())))?;
    }
    std::fs::write(&path, data)
        .map_err(|e| setup(vol, format!("writing {}: {e}", path.display())))?;
    let mode = u32::try_from(mode.unwrap_or(0o644)).unwrap_or(0o644) & 0o7777;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| setup(vol, format!("chmod {}: {e}", path.display())))
}

/// Writes `data` (key -> bytes) into `dir`, honouring `items` (key -> path, mode) as the
/// configMap and secret volume sources do; a missing item key is an error unless optional.
#[allow(clippy::too_many_arguments)]
fn write_keys(
    dir: &Path,
    data: &BTreeMap<String, Vec<u8>>,
    items: Option<&Vec<KeyToPath>>,
    default_mode: Option<i32>,
    optional: bool,
    kind: &str,
    name: &str,
    vol: &str,
) -> Result<(), VolumeError> {
    match items {
        Some(items) if !items.is_empty() => {
            for item in items {
                match data.get(&item.key) {
                    Some(v) => write_file(dir, &item.path, v, item.mode.or(default_mode), vol)?,
                    None if optional => {}
                    None => {
                        return Err(setup(
                            vol,
                            format!("configmap references non-existent config key: {}", item.key)
                                .replace("configmap", kind),
                        ));
                    }
                }
            }
        }
        _ => {
            for (k, v) in data {
                write_file(dir, k, v, default_mode, vol)?;
            }
        }
    }
    let _ = name;
    Ok(())
}

async fn config_map_data(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<Option<BTreeMap<String, Vec<u8>>>, String> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let cm = api.get_opt(name).await.map_err(|e| e.to_string())?;
    Ok(cm.map(|cm| {
        let mut data: BTreeMap<String, Vec<u8>> = cm
            .data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.into_bytes()))
            .collect();
        for (k, v) in cm.binary_data.unwrap_or_default() {
            data.insert(k, v.0);
        }
        data
    }))
}

async fn secret_data(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<Option<BTreeMap<String, Vec<u8>>>, String> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let s = api.get_opt(name).await.map_err(|e| e.to_string())?;
    Ok(s.map(|s| {
        let mut data: BTreeMap<String, Vec<u8>> = s
            .data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect();
        for (k, v) in s.string_data.unwrap_or_default() {
            data.insert(k, v.into_bytes());
        }
        data
    }))
}

fn write_downward(
    dir: &Path,
    items: &[DownwardAPIVolumeFile],
    default_mode: Option<i32>,
    fields: &PodFields,
    vol: &str,
) -> Result<(), VolumeError> {
    for item in items {
        let value = if let Some(f) = &item.field_ref {
            fields
                .field(&f.field_path)
                .map_err(|e| VolumeError::Unsupported {
                    volume: vol.to_string(),
                    message: e.to_string(),
                })?
        } else {
            return Err(VolumeError::Unsupported {
                volume: vol.to_string(),
                message: "downwardAPI resourceFieldRef items are not supported by this node agent"
                    .into(),
            });
        };
        write_file(
            dir,
            &item.path,
            value.as_bytes(),
            item.mode.or(default_mode),
            vol,
        )?;
    }
    Ok(())
}

/// Materialises one volume; returns its host directory.
async fn materialise(
    client: &kube::Client,
    pod_dir: &Path,
    namespace: &str,
    v: &Volume,
    fields: &PodFields,
) -> Result<PathBuf, VolumeError> {
    let vol = v.name.as_str();
    let unsupported = |what: &str| VolumeError::Unsupported {
        volume: vol.to_string(),
        message: format!("{what} volumes are not supported by this node agent"),
    };
    let base = pod_dir.join("volumes");
    let mk = |kind: &str| -> Result<PathBuf, VolumeError> {
        let dir = base.join(kind).join(vol);
        std::fs::create_dir_all(&dir)
            .map_err(|e| setup(vol, format!("creating {}: {e}", dir.display())))?;
        Ok(dir)
    };
    if v.empty_dir.is_some() {
        // medium: Memory is served from disk too (no tmpfs mount without privileges); the
        // data is the same, only its backing differs.
        return mk("kubernetes.io~empty-dir");
    }
    if let Some(src) = &v.config_map {
        let dir = mk("kubernetes.io~configmap")?;
        let optional = src.optional.unwrap_or(false);
        let data = config_map_data(client, namespace, &src.name)
            .await
            .map_err(|e| setup(vol, e))?;
        match data {
            Some(data) => write_keys(
                &dir,
                &data,
                src.items.as_ref(),
                src.default_mode,
                optional,
                "configmap",
                &src.name,
                vol,
            )?,
            None if optional => {}
            None => return Err(setup(vol, format!("configmap \"{}\" not found", src.name))),
        }
        return Ok(dir);
    }
    if let Some(src) = &v.secret {
        let dir = mk("kubernetes.io~secret")?;
        let name = src.secret_name.clone().unwrap_or_default();
        let optional = src.optional.unwrap_or(false);
        let data = secret_data(client, namespace, &name)
            .await
            .map_err(|e| setup(vol, e))?;
        match data {
            Some(data) => write_keys(
                &dir,
                &data,
                src.items.as_ref(),
                src.default_mode.or(Some(0o644)),
                optional,
                "secret",
                &name,
                vol,
            )?,
            None if optional => {}
            None => return Err(setup(vol, format!("secret \"{name}\" not found"))),
        }
        return Ok(dir);
    }
    if let Some(src) = &v.downward_api {
        let dir = mk("kubernetes.io~downward-api")?;
        write_downward(
            &dir,
            src.items.as_deref().unwrap_or(&[]),
            src.default_mode,
            fields,
            vol,
        )?;
        return Ok(dir);
    }
    if let Some(src) = &v.projected {
        let dir = mk("kubernetes.io~projected")?;
        for s in src.sources.iter().flatten() {
            if let Some(cm) = &s.config_map {
                let optional = cm.optional.unwrap_or(false);
                match config_map_data(client, namespace, &cm.name)
                    .await
                    .map_err(|e| setup(vol, e))?
                {
                    Some(data) => write_keys(
                        &dir,
                        &data,
                        cm.items.as_ref(),
                        src.default_mode,
                        optional,
                        "configmap",
                        &cm.name,
                        vol,
                    )?,
                    None if optional => {}
                    None => {
                        return Err(setup(vol, format!("configmap \"{}\" not found", cm.name)));
                    }
                }
            } else if let Some(sec) = &s.secret {
                let optional = sec.optional.unwrap_or(false);
                match secret_data(client, namespace, &sec.name)
                    .await
                    .map_err(|e| setup(vol, e))?
                {
                    Some(data) => write_keys(
                        &dir,
                        &data,
                        sec.items.as_ref(),
                        src.default_mode,
                        optional,
                        "secret",
                        &sec.name,
                        vol,
                    )?,
                    None if optional => {}
                    None => {
                        return Err(setup(vol, format!("secret \"{}\" not found", sec.name)));
                    }
                }
            } else if let Some(d) = &s.downward_api {
                write_downward(
                    &dir,
                    d.items.as_deref().unwrap_or(&[]),
                    src.default_mode,
                    fields,
                    vol,
                )?;
            } else if s.service_account_token.is_some() {
                return Err(unsupported("projected serviceAccountToken"));
            } else {
                return Err(unsupported("this projected source's"));
            }
        }
        return Ok(dir);
    }
    if let Some(hp) = &v.host_path {
        let path = PathBuf::from(&hp.path);
        match hp.type_.as_deref().unwrap_or("") {
            "DirectoryOrCreate" => std::fs::create_dir_all(&path)
                .map_err(|e| setup(vol, format!("creating {}: {e}", path.display())))?,
            "Directory" if !path.is_dir() => {
                return Err(setup(
                    vol,
                    format!("hostPath type check failed: {} is not a directory", hp.path),
                ));
            }
            "File" if !path.is_file() => {
                return Err(setup(
                    vol,
                    format!("hostPath type check failed: {} is not a file", hp.path),
                ));
            }
            _ => {}
        }
        return Ok(path);
    }
    let kind = if v.persistent_volume_claim.is_some() {
        "persistentVolumeClaim"
    } else if v.nfs.is_some() {
        "nfs"
    } else if v.csi.is_some() {
        "csi"
    } else if v.ephemeral.is_some() {
        "ephemeral"
    } else if v.image.is_some() {
        "image"
    } else {
        "this type of"
    };
    Err(unsupported(kind))
}

/// Materialises the pod's volumes and returns the container's mounts.
pub async fn mounts_for(
    client: &kube::Client,
    pod_dir: PathBuf,
    pod: &Pod,
    spec: &PodSpec,
    c: &Container,
    fields: &PodFields,
) -> Result<Vec<Mount>, VolumeError> {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let mut mounts = Vec::new();
    for m in c.volume_mounts.iter().flatten() {
        let Some(v) = spec.volumes.iter().flatten().find(|v| v.name == m.name) else {
            return Err(VolumeError::Unsupported {
                volume: m.name.clone(),
                message: "no volume of this name in the pod spec".into(),
            });
        };
        let mut host = materialise(client, &pod_dir, &namespace, v, fields).await?;
        if let Some(sub) = m.sub_path.as_deref().filter(|s| !s.is_empty()) {
            if !safe_relative(sub) {
                return Err(setup(&m.name, format!("invalid subPath {sub:?}")));
            }
            host = host.join(sub);
        }
        mounts.push(Mount {
            host_path: host,
            container_path: m.mount_path.clone(),
            read_only: m.read_only.unwrap_or(false),
        });
    }
    Ok(mounts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_volume() {
        for (p, ok) in [
            ("a", true),
            ("a/b", true),
            ("../x", false),
            ("/etc/passwd", false),
            ("a/../../b", false),
            ("", false),
        ] {
            assert_eq!(safe_relative(p), ok, "{p}");
        }
    }
}
