//! Server-side apply (`PATCH` with `application/apply-patch+yaml`) and `managedFields` for
//! every write, on top of the generic store. The ownership rules are in
//! `machinery::managedfields`; this module supplies each kind's schema (from the OpenAPI
//! definitions), the fields each endpoint resets, the kind's zero object, and the request
//! plumbing (create-on-apply, conflicts as 409, the /scale and /status subresources).

use std::sync::OnceLock;

use http::StatusCode;
use machinery::managedfields::{ApplyFailure, FieldManager, PathElement, Schema, Set, TypeRef};
use machinery::status::{StatusCause, StatusDetails};
use machinery::{ApiError, FieldError, GroupKind, ResourceInfo, ResourceTable};
use serde_json::{Map, Value, json};

use super::meta;
use super::store::{Registry, WriteOptions};
use crate::openapi::managed::KindSchemas;

/// upstream's limit on `fieldManager`.
pub const FIELD_MANAGER_MAX_LENGTH: usize = 128;

static SCHEMAS: OnceLock<KindSchemas> = OnceLock::new();

/// The apply schema of the built-in kinds (the same for every server in the process).
fn schemas(table: &ResourceTable) -> &'static KindSchemas {
    SCHEMAS.get_or_init(|| KindSchemas::build(table))
}

/// The manager of a write without `fieldManager`: the User-Agent up to its first `/`, only
/// printable characters, at most 128 bytes (upstream's prefixFromUserAgent).
pub fn manager_from_user_agent(user_agent: &str) -> String {
    let prefix = user_agent.split('/').next().unwrap_or("");
    let mut out = String::new();
    for c in prefix.chars().filter(|c| !c.is_control()) {
        if out.len() + c.len_utf8() > FIELD_MANAGER_MAX_LENGTH {
            break;
        }
        out.push(c);
    }
    out
}

/// Upstream's checks of `fieldManager` on writes: at most 128 characters, printable.
pub fn validate_field_manager(manager: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if manager.len() > FIELD_MANAGER_MAX_LENGTH {
        errs.push(FieldError::too_long(
            "fieldManager",
            FIELD_MANAGER_MAX_LENGTH,
        ));
    }
    for (i, c) in manager.chars().enumerate() {
        if c.is_control() {
            errs.push(FieldError::invalid(
                "fieldManager",
                json!(manager),
                format!("invalid character {:?} (at position {i})", c),
            ));
        }
    }
    errs
}

/// 422 for bad write options, as upstream words it (`PatchOptions.meta.k8s.io "" is
/// invalid: fieldManager: Required value: is required for apply patch`).
pub fn options_invalid(kind: &str, errs: &[FieldError]) -> ApiError {
    ApiError::invalid(&GroupKind::new("meta.k8s.io", kind), "", errs)
}

/// What the field manager needs to know about one kind and endpoint.
struct KindContext {
    root: TypeRef,
    ignored: Set,
    empty: Value,
    api_version: String,
    subresource: String,
}

fn context(registry: &Registry, info: &ResourceInfo, subresource: Option<&str>) -> KindContext {
    let schemas = schemas(&registry.table);
    // Kinds without a built-in schema (custom resources) are walked untyped: maps granular,
    // lists atomic, as upstream does for schemas that preserve unknown fields.
    let root = schemas
        .root(&info.group, &info.version, &info.kind)
        .unwrap_or(Schema::UNTYPED);
    let mut top_level = schemas.schema.field_names(root);
    if top_level.is_empty() {
        top_level = vec!["spec".into(), "status".into()];
    }
    let sub = subresource.unwrap_or("");
    let field = |n: &str| PathElement::Field(n.to_string());
    let mut ignored = Set::new();
    // What the endpoint resets is owned by nobody through it (upstream's reset fields).
    let keep: Option<&[&str]> = match sub {
        "status" => Some(&["status", "metadata", "apiVersion", "kind"]),
        "finalize" => Some(&["spec", "metadata", "apiVersion", "kind"]),
        _ => None,
    };
    match keep {
        Some(keep) => {
            for name in &top_level {
                if !keep.contains(&name.as_str()) {
                    ignored.insert(&[field(name)]);
                }
            }
        }
        None => {
            if registry.strategy(info).status_via_subresource() {
                ignored.insert(&[field("status")]);
            }
        }
    }
    KindContext {
        root,
        ignored,
        empty: empty_object(&info.group, &info.kind, &schemas.schema.field_names(root)),
        api_version: info.api_version(),
        subresource: sub.to_string(),
    }
}

/// The zero value of a kind as kube-apiserver's Go types serialize it: structs that are
/// not pointers are `{}`, lists without `omitempty` are `null`. A creator's fields get `.`
/// markers exactly where that object lacks a map (so `f:spec` has none, a new
/// `f:labels` has one).
fn empty_object(group: &str, kind: &str, fields: &[String]) -> Value {
    let pod_template =
        || json!({"metadata": {"creationTimestamp": null}, "spec": {"containers": null}});
    let mut obj = Map::new();
    obj.insert("metadata".into(), json!({"creationTimestamp": null}));
    for f in ["spec", "status"] {
        if fields.iter().any(|n| n == f) {
            obj.insert(f.into(), json!({}));
        }
    }
    match (group, kind) {
        ("", "Pod") => {
            obj.insert("spec".into(), json!({"containers": null}));
        }
        ("apps", "Deployment") => {
            obj.insert(
                "spec".into(),
                json!({"selector": null, "template": pod_template(), "strategy": {}}),
            );
        }
        ("apps", "ReplicaSet") => {
            obj.insert(
                "spec".into(),
                json!({"selector": null, "template": pod_template()}),
            );
            obj.insert("status".into(), json!({"replicas": 0}));
        }
        ("apps", "StatefulSet" | "DaemonSet") => {
            obj.insert(
                "spec".into(),
                json!({"selector": null, "template": pod_template(), "updateStrategy": {}}),
            );
        }
        ("", "ReplicationController") => {
            obj.insert("status".into(), json!({"replicas": 0}));
        }
        ("batch", "Job") => {
            obj.insert("spec".into(), json!({"template": pod_template()}));
        }
        ("", "Service") => {
            obj.insert("status".into(), json!({"loadBalancer": {}}));
        }
        _ => {}
    }
    Value::Object(obj)
}

/// Records `manager`'s update (create when `old` is `None`) in `new`'s managedFields.
/// Writes without a manager (internal ones that opted out) and binding are not tracked.
pub fn track_update(
    registry: &Registry,
    info: &ResourceInfo,
    subresource: Option<&str>,
    old: Option<&Value>,
    new: Value,
    manager: Option<&str>,
) -> Value {
    let Some(manager) = manager else {
        return new;
    };
    // events.k8s.io Events are stored as core Events: their schema is not the stored one.
    if matches!(subresource, Some("binding" | "eviction")) || info.group == "events.k8s.io" {
        return new;
    }
    let ctx = context(registry, info, subresource);
    let now = meta::now_rfc3339();
    let fm = FieldManager {
        schema: &schemas(&registry.table).schema,
        root: ctx.root,
        api_version: &ctx.api_version,
        subresource: &ctx.subresource,
        ignored: &ctx.ignored,
        empty: &ctx.empty,
        now: &now,
    };
    fm.update(old, new, manager)
}

fn apply_error(info: &ResourceInfo, api_version: &str, kind: &str, e: ApplyFailure) -> ApiError {
    match e {
        ApplyFailure::Conflicts(_) => {
            let causes = e
                .causes()
                .into_iter()
                .map(|(message, field)| StatusCause {
                    reason: "FieldManagerConflict".into(),
                    message,
                    field,
                })
                .collect();
            let mut err = ApiError::new(409, "Conflict", e.to_string());
            err.details = Some(Box::new(StatusDetails {
                causes,
                ..Default::default()
            }));
            err
        }
        ApplyFailure::BadRequest(m) => ApiError::bad_request(m),
        ApplyFailure::Invalid(m) => {
            let gvk = if info.group.is_empty() {
                format!("/{api_version}, Kind={kind}")
            } else {
                format!("{api_version}, Kind={kind}")
            };
            ApiError::bad_request(format!("failed to create typed patch object ({gvk}): {m}"))
        }
    }
}

/// Decodes an apply body: YAML (JSON is YAML too), one object.
fn decode_config(body: &[u8]) -> Result<Value, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
    let v: Value = serde_yaml::from_str(text)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
    match v {
        Value::Object(_) => Ok(v),
        Value::Null => Err(ApiError::bad_request(
            "error decoding YAML: the apply configuration is empty",
        )),
        other => Err(ApiError::bad_request(format!(
            "error decoding YAML: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            match other {
                Value::Array(_) => "array",
                Value::String(_) => "string",
                Value::Number(_) => "number",
                _ => "bool",
            }
        ))),
    }
}

/// The outcome of an apply: the object (for /scale, still the parent), warnings, and 200 or
/// 201 (created).
pub struct Applied {
    pub object: Value,
    pub warnings: Vec<String>,
    pub status: StatusCode,
}

/// `PATCH` with `application/apply-patch+yaml` on the resource or its /status or /scale.
#[allow(clippy::too_many_arguments)]
pub async fn apply(
    registry: &Registry,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
    subresource: Option<&str>,
    body: &[u8],
    field_manager: Option<&str>,
    force: bool,
    opts: &WriteOptions,
) -> Result<Applied, ApiError> {
    let manager = field_manager.filter(|m| !m.is_empty()).ok_or_else(|| {
        options_invalid(
            "PatchOptions",
            &[FieldError::required(
                "fieldManager",
                "is required for apply patch",
            )],
        )
    })?;
    let errs = validate_field_manager(manager);
    if !errs.is_empty() {
        return Err(options_invalid("PatchOptions", &errs));
    }
    let mut config = decode_config(body)?;
    let scale = subresource == Some("scale");
    let (want_version, want_kind) = if scale {
        ("autoscaling/v1".to_string(), "Scale".to_string())
    } else {
        (info.api_version(), info.kind.clone())
    };
    let got_version = config
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let got_kind = config.get("kind").and_then(Value::as_str).unwrap_or("");
    if got_kind.is_empty() {
        return Err(ApiError::bad_request(format!(
            "Object 'Kind' is missing in '{}'",
            String::from_utf8_lossy(body).trim()
        )));
    }
    if got_version != want_version {
        return Err(ApiError::bad_request(format!(
            "Incorrect version specified in apply patch. Specified patch version: {got_version}, expected: {want_version}"
        )));
    }
    if got_kind != want_kind {
        return Err(ApiError::bad_request(format!(
            "the kind in the request body ({got_kind}) does not match the kind of the URL ({want_kind})"
        )));
    }
    let body_name = meta::name(&config).to_string();
    if !body_name.is_empty() && body_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    if let (Some(body_ns), Some(ns)) = (meta::namespace(&config), namespace)
        && body_ns != ns
    {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    if scale {
        // An apply to /scale is an apply of the parent's spec.replicas by this manager
        // (upstream maps the Scale's managed fields to the parent's the same way).
        let mut parent = json!({
            "apiVersion": info.api_version(),
            "kind": info.kind,
            "metadata": {"name": name},
        });
        if let Some(r) = config.pointer("/spec/replicas") {
            parent["spec"] = json!({ "replicas": r });
        }
        if let Some(rv) = meta::resource_version(&config) {
            parent["metadata"]["resourceVersion"] = json!(rv);
        }
        config = parent;
    }
    meta::set_meta(&mut config, "name", json!(name));
    if let Some(ns) = namespace.filter(|_| info.namespaced) {
        meta::set_meta(&mut config, "namespace", json!(ns));
    }
    let precondition = meta::resource_version(&config).map(str::to_string);
    let ctx = context(registry, info, subresource);
    let now = meta::now_rfc3339();
    let fm = FieldManager {
        schema: &schemas(&registry.table).schema,
        root: ctx.root,
        api_version: &ctx.api_version,
        subresource: &ctx.subresource,
        ignored: &ctx.ignored,
        empty: &ctx.empty,
        now: &now,
    };
    let to_api = |e| apply_error(info, &want_version, &want_kind, e);
    // The managed fields are computed here, so the store must not track this write again.
    let inner = WriteOptions {
        field_manager: None,
        ..opts.clone()
    };
    for _ in 0..3 {
        let mut warnings = Vec::new();
        let result = registry
            .write_update(
                info,
                namespace,
                name,
                subresource,
                precondition.clone(),
                &inner,
                |old| {
                    let external = registry.to_external(info, old.clone());
                    let applied = fm
                        .apply(Some(&external), &config, manager, force)
                        .map_err(to_api)?;
                    warnings.clear();
                    registry.normalize_patched(info, applied, opts.field_validation, &mut warnings)
                },
            )
            .await;
        match result {
            Ok(obj) => {
                return Ok(Applied {
                    object: registry.to_external(info, obj),
                    warnings,
                    status: StatusCode::OK,
                });
            }
            // Apply creates what does not exist yet (not through a subresource).
            Err(e) if e.code == 404 && subresource.is_none() && precondition.is_none() => {
                let created = fm.apply(None, &config, manager, force).map_err(to_api)?;
                match registry.create(info, namespace, created, &inner).await {
                    Ok(written) => {
                        return Ok(Applied {
                            object: written.object,
                            warnings: written.warnings,
                            status: StatusCode::CREATED,
                        });
                    }
                    // Created by someone else meanwhile: apply to that.
                    Err(e) if e.reason == "AlreadyExists" => continue,
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(ApiError::conflict(
        &info.group_resource(),
        name,
        "too many concurrent writers; please retry",
    ))
}
