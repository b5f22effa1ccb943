//! The `scale` subresource of custom resources: an autoscaling/v1 Scale read from and
//! written to the CRD's `specReplicasPath`, `statusReplicasPath` and `labelSelectorPath`.

use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use machinery::{ApiError, FieldError, GroupKind};
use serde_json::{Map, Value, json};

use super::{CustomResource, ScaleSpec};
use crate::ApiState;
use crate::handlers::codec::{self, Encoding, respond};
use crate::handlers::request::{Query, Verb};
use crate::handlers::{check_kind, write_options};
use crate::registry::meta;

/// `.spec.replicas` -> `["spec", "replicas"]` (the CRD validation allows only such paths).
fn segments(path: &str) -> Vec<&str> {
    path.trim_start_matches('.')
        .split('.')
        .filter(|s| !s.is_empty())
        .collect()
}

fn at<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = obj;
    for s in segments(path) {
        cur = cur.get(s)?;
    }
    Some(cur)
}

/// The Scale of a custom object.
pub fn scale_of(obj: &Value, spec: &ScaleSpec) -> Value {
    let mut scale_meta = Map::new();
    if let Some(m) = obj.get("metadata").and_then(Value::as_object) {
        for field in [
            "name",
            "namespace",
            "uid",
            "resourceVersion",
            "creationTimestamp",
        ] {
            if let Some(v) = m.get(field) {
                scale_meta.insert(field.into(), v.clone());
            }
        }
    }
    let replicas = at(obj, &spec.spec_replicas_path)
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let status_replicas = at(obj, &spec.status_replicas_path)
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let mut status = Map::new();
    status.insert("replicas".into(), json!(status_replicas));
    if let Some(sel) = spec
        .label_selector_path
        .as_deref()
        .and_then(|p| at(obj, p))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        status.insert("selector".into(), json!(sel));
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": scale_meta,
        "spec": { "replicas": replicas },
        "status": status,
    })
}

/// Writes `replicas` at the spec replicas path, creating the objects on the way.
pub fn set_replicas(obj: &mut Value, spec: &ScaleSpec, replicas: i64) {
    let segs = segments(&spec.spec_replicas_path);
    let Some((last, parents)) = segs.split_last() else {
        return;
    };
    let mut cur = obj;
    for s in parents {
        let Some(map) = cur.as_object_mut() else {
            return;
        };
        let next = map
            .entry(s.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !next.is_object() {
            *next = Value::Object(Map::new());
        }
        cur = next;
    }
    if let Some(map) = cur.as_object_mut() {
        map.insert(last.to_string(), json!(replicas));
    }
}

/// GET, PUT and PATCH of `<plural>/<name>/scale`.
#[allow(clippy::too_many_arguments)]
pub async fn serve(
    state: &Arc<ApiState>,
    cr: &CustomResource,
    namespace: Option<&str>,
    name: &str,
    verb: Verb,
    query: &Query,
    headers: &HeaderMap,
    body: Body,
    encoding: Encoding,
) -> Result<Response, ApiError> {
    let spec = cr.scale.as_ref().ok_or_else(ApiError::path_not_found)?;
    let registry = &state.registry;
    let resource = &cr.info;
    match verb {
        Verb::Get => {
            let obj = registry.get(resource, namespace, name).await?;
            Ok(respond(StatusCode::OK, encoding, &scale_of(&obj, spec)))
        }
        Verb::Update | Verb::Patch => {
            let bytes = codec::read_body(headers, body).await?;
            let opts = write_options(query, headers)?;
            let content_type = codec::content_type(headers);
            let input = match verb {
                Verb::Update => {
                    let mut scale = codec::decode_object(content_type.as_deref(), &bytes)?;
                    check_kind(&mut scale, "autoscaling/v1", "Scale")?;
                    scale
                }
                _ => codec::decode_json(&bytes)?,
            };
            let patch_type = content_type.unwrap_or_default();
            let produce = |current: &Value| -> Result<Value, ApiError> {
                if verb == Verb::Update {
                    return Ok(input.clone());
                }
                match patch_type.as_str() {
                    // A Scale is a built-in type: a strategic merge patch of it is a merge.
                    "application/merge-patch+json" | "application/strategic-merge-patch+json" => {
                        machinery::patch::merge_patch(current, &input).map_err(ApiError::from)
                    }
                    "application/json-patch+json" => {
                        machinery::patch::json_patch(current, &input).map_err(ApiError::from)
                    }
                    other => Err(ApiError::unsupported_media_type(other)),
                }
            };
            let mut checked = false;
            let updated = registry
                .write_update(resource, namespace, name, None, None, &opts, |old| {
                    let scale = produce(&scale_of(old, spec))?;
                    if let Some(rv) = meta::resource_version(&scale)
                        && !checked
                        && Some(rv) != meta::resource_version(old)
                    {
                        return Err(ApiError::stale_resource_version(
                            &resource.group_resource(),
                            name,
                        ));
                    }
                    checked = true;
                    let replicas = match scale.pointer("/spec/replicas") {
                        None | Some(Value::Null) => 0,
                        Some(v) => v.as_i64().ok_or_else(|| {
                            ApiError::bad_request(format!(
                                "spec.replicas must be an integer, got {v}"
                            ))
                        })?,
                    };
                    if replicas < 0 {
                        return Err(ApiError::invalid(
                            &GroupKind::new("autoscaling", "Scale"),
                            name,
                            &[FieldError::invalid(
                                "spec.replicas",
                                json!(replicas),
                                "must be greater than or equal to 0",
                            )],
                        ));
                    }
                    let mut new = old.clone();
                    set_replicas(&mut new, spec, replicas);
                    Ok(new)
                })
                .await?;
            Ok(respond(StatusCode::OK, encoding, &scale_of(&updated, spec)))
        }
        _ => Err(ApiError::method_not_supported(
            &resource.group_resource(),
            verb.as_str(),
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn scale_reads_and_writes_the_declared_paths() {
        let spec = ScaleSpec {
            spec_replicas_path: ".spec.size".into(),
            status_replicas_path: ".status.count".into(),
            label_selector_path: Some(".status.selector".into()),
        };
        let mut obj = json!({
            "metadata": {"name": "w", "namespace": "ns", "resourceVersion": "5", "labels": {"a": "b"}},
            "spec": {"size": 2},
            "status": {"count": 1, "selector": "app=w"},
        });
        let s = scale_of(&obj, &spec);
        assert_eq!(s["spec"]["replicas"], 2);
        assert_eq!(s["status"], json!({"replicas": 1, "selector": "app=w"}));
        assert_eq!(
            s["metadata"],
            json!({"name": "w", "namespace": "ns", "resourceVersion": "5"})
        );
        set_replicas(&mut obj, &spec, 5);
        assert_eq!(obj["spec"]["size"], 5);
        let mut empty = json!({});
        set_replicas(&mut empty, &spec, 1);
        assert_eq!(empty, json!({"spec": {"size": 1}}));
    }
}
