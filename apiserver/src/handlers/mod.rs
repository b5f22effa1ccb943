//! HTTP handlers: discovery, health, metrics, and one resource handler that routes every
//! `/api` and `/apis` resource URL through the resource table.

pub mod codec;
pub mod discovery;
pub mod filter;
pub mod list;
pub mod podlogs;
pub mod protowatch;
pub mod request;
pub mod watch;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use machinery::{ApiError, ResourceInfo, Subresource};
use serde_json::{Value, json};

use self::codec::{Encoding, add_warnings, error_response, respond};
use self::request::{Query, RequestInfo, Verb};
use crate::ApiState;
use crate::registry::kinds;
use crate::registry::meta;
use crate::registry::store::{
    DeleteOptions, Deleted, FieldValidation, Propagation, WriteOptions, scale_of,
};
use crate::registry::table;

pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/livez", get(healthz))
        .route("/readyz", get(readyz))
        .route("/healthz/{check}", get(healthz))
        .route("/livez/{check}", get(healthz))
        .route("/readyz/{check}", get(readyz))
        .route("/metrics", get(metrics))
        .route(
            "/version",
            get(|| async { axum::Json(discovery::version()) }),
        )
        .route(
            "/version/",
            get(|| async { axum::Json(discovery::version()) }),
        )
        .route("/openapi/v2", get(openapi))
        .route("/openapi/v3", get(openapi))
        .route("/openapi/v3/{*rest}", get(openapi))
        .route("/api", get(api_versions))
        .route("/apis", get(apis))
        .fallback(resource_handler)
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<Arc<ApiState>>) -> Response {
    if state.registry.caches.is_ready() {
        "ok".into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "[-]informer-sync failed: watch cache not ready\nreadyz check failed",
        )
            .into_response()
    }
}

async fn metrics(State(state): State<Arc<ApiState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        state.metrics.encode(),
    )
        .into_response()
}

/// `/openapi/v2` (JSON or gnostic protobuf) and `/openapi/v3[/<group-version>]`.
async fn openapi(State(state): State<Arc<ApiState>>, req: Request) -> Response {
    let docs = state.openapi.documents(&state.registry.crds.table());
    match docs.respond(req.uri(), req.headers()) {
        Some(resp) => resp.map(Body::from),
        None => error_response(&ApiError::path_not_found()),
    }
}

async fn api_versions(State(state): State<Arc<ApiState>>, headers: HeaderMap) -> Response {
    if let Some(resp) = aggregated_discovery(&state, &headers, true) {
        return resp;
    }
    discovery_response(&headers, &discovery::api_versions(&state.advertise_address))
}

async fn apis(State(state): State<Arc<ApiState>>, headers: HeaderMap) -> Response {
    if let Some(resp) = aggregated_discovery(&state, &headers, false) {
        return resp;
    }
    discovery_response(
        &headers,
        &discovery::api_group_list(&state.registry.crds.table()),
    )
}

/// `/api` and `/apis` as one aggregated document when the client asks for it, so kubectl
/// needs no request per group-version.
fn aggregated_discovery(state: &ApiState, headers: &HeaderMap, legacy: bool) -> Option<Response> {
    let accept = headers.get(header::ACCEPT)?.to_str().ok()?;
    let version = discovery::aggregated_version(accept)?;
    let doc = discovery::aggregated(&state.registry.crds.table(), legacy, version);
    let mut resp = respond(StatusCode::OK, Encoding::Json, &doc);
    let content_type =
        format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList");
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    Some(resp)
}

fn discovery_response(headers: &HeaderMap, value: &Value) -> Response {
    match codec::negotiate(headers) {
        Ok(enc) => respond(StatusCode::OK, enc, value),
        Err(e) => error_response(&e),
    }
}

async fn resource_handler(State(state): State<Arc<ApiState>>, req: Request) -> Response {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let query = Query::parse(parts.uri.query());
    let mut verb_label = "unknown";
    let mut resource_label = String::new();
    let result = async {
        if let Some(doc) = discovery_document(&state, &path) {
            return Ok(discovery_response(&parts.headers, &doc));
        }
        let info = request::parse_path(&path).ok_or_else(ApiError::path_not_found)?;
        let resource = state
            .registry
            .table
            .lookup(&info.group, &info.version, &info.resource)
            .or_else(|| {
                state
                    .registry
                    .crds
                    .lookup(&info.group, &info.version, &info.resource)
                    .map(|c| c.info.clone())
            })
            .ok_or_else(ApiError::path_not_found)?;
        let verb = request::verb_for(&parts.method, &info, &query)?;
        verb_label = verb.as_str();
        resource_label = resource.plural.clone();
        let user = parts.extensions.get::<crate::auth::UserInfo>();
        serve_resource(
            &state,
            &resource,
            &info,
            verb,
            &query,
            &parts.headers,
            body,
            user,
        )
        .await
    }
    .await;
    let response = result.unwrap_or_else(|e| error_response(&e));
    state.metrics.observe_request(
        verb_label,
        &resource_label,
        response.status().as_u16(),
        started,
    );
    response
}

/// `/api/v1`, `/apis/<group>`, `/apis/<group>/<version>`.
fn discovery_document(state: &ApiState, path: &str) -> Option<Value> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let table = &*state.registry.crds.table();
    match parts.as_slice() {
        ["api", version] => discovery::api_resource_list(table, "", version),
        ["apis", group] => discovery::api_group(table, group),
        ["apis", group, version] => discovery::api_resource_list(table, group, version),
        _ => None,
    }
}

/// How objects are shown: themselves, as Table rows or as PartialObjectMetadata.
#[derive(Debug, Clone)]
pub struct View {
    pub target: codec::Target,
    pub include: table::IncludeObject,
    /// The custom resource shown, for its printer columns.
    pub custom: Option<Arc<crate::crd::CustomResource>>,
}

impl View {
    pub fn is_object(&self) -> bool {
        self.target == codec::Target::Object
    }

    /// One object (GET, or one watch event) in this view. `headers`: whether a Table carries
    /// its column definitions.
    pub fn one(&self, info: &ResourceInfo, obj: &Value, headers: bool) -> Value {
        match self.target {
            codec::Target::Object => obj.clone(),
            codec::Target::Table(version) => {
                let mut list_meta = serde_json::Map::new();
                if let Some(rv) = meta::resource_version(obj) {
                    list_meta.insert("resourceVersion".into(), json!(rv));
                }
                if let Some(t) = self.custom.as_ref().and_then(|cr| {
                    crate::crd::table::table_for(
                        cr,
                        version,
                        &[(obj, self.include)],
                        headers,
                        list_meta.clone(),
                    )
                }) {
                    return t;
                }
                table::table_at(
                    version,
                    &info.group,
                    &info.kind,
                    &[(obj, self.include)],
                    headers,
                    list_meta,
                    chrono::Utc::now(),
                )
            }
            codec::Target::Metadata(version) => table::partial_object_metadata_as(version, obj),
        }
    }

    pub fn single(&self, info: &ResourceInfo, obj: &Value) -> Value {
        self.one(info, obj, true)
    }

    /// A list in this view (objects are rendered by the caller when `is_object`).
    pub fn list(
        &self,
        info: &ResourceInfo,
        items: &[&Value],
        list_meta: serde_json::Map<String, Value>,
    ) -> Value {
        match self.target {
            codec::Target::Table(version) => {
                let rows: Vec<(&Value, table::IncludeObject)> =
                    items.iter().map(|o| (*o, self.include)).collect();
                if let Some(t) = self.custom.as_ref().and_then(|cr| {
                    crate::crd::table::table_for(cr, version, &rows, true, list_meta.clone())
                }) {
                    return t;
                }
                table::table_at(
                    version,
                    &info.group,
                    &info.kind,
                    &rows,
                    true,
                    list_meta,
                    chrono::Utc::now(),
                )
            }
            codec::Target::Metadata(version) => {
                table::partial_object_metadata_list_as(version, items, list_meta)
            }
            codec::Target::Object => json!({
                "kind": info.list_kind(),
                "apiVersion": info.api_version(),
                "metadata": list_meta,
                "items": items,
            }),
        }
    }
}

/// Write options from the query; the field manager defaults to the User-Agent's first
/// part, as upstream.
pub(crate) fn write_options(query: &Query, headers: &HeaderMap) -> Result<WriteOptions, ApiError> {
    let field_manager = match query.get("fieldManager").filter(|m| !m.is_empty()) {
        Some(m) => {
            let errs = crate::registry::apply::validate_field_manager(m);
            if !errs.is_empty() {
                return Err(crate::registry::apply::options_invalid(
                    "PatchOptions",
                    &errs,
                ));
            }
            m.to_string()
        }
        None => crate::registry::apply::manager_from_user_agent(
            headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or(""),
        ),
    };
    let dry_run = match query.get("dryRun") {
        None => false,
        Some("All") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "dryRun: Unsupported value: \"{other}\": supported values: \"All\""
            )));
        }
    };
    Ok(WriteOptions {
        dry_run,
        field_validation: FieldValidation::parse(query.get("fieldValidation"))?,
        field_manager: Some(field_manager),
    })
}

/// Checks `apiVersion`/`kind` of a body against what the URL expects, filling them in when
/// absent.
pub(crate) fn check_kind(body: &mut Value, api_version: &str, kind: &str) -> Result<(), ApiError> {
    let obj = body
        .as_object_mut()
        .ok_or_else(|| ApiError::bad_request("the request body must be a JSON object"))?;
    let got_kind = obj
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let got_version = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if !got_kind.is_empty() && got_kind != kind {
        return Err(ApiError::bad_request(format!(
            "the kind in the request body ({got_kind}) does not match the kind of the URL ({kind})"
        )));
    }
    if !got_version.is_empty() && got_version != api_version {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({got_version}) does not match the expected API version ({api_version})"
        )));
    }
    obj.insert("kind".into(), json!(kind));
    obj.insert("apiVersion".into(), json!(api_version));
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn serve_resource(
    state: &Arc<ApiState>,
    resource: &Arc<ResourceInfo>,
    info: &RequestInfo,
    verb: Verb,
    query: &Query,
    headers: &HeaderMap,
    body: Body,
    user: Option<&crate::auth::UserInfo>,
) -> Result<Response, ApiError> {
    let registry = &state.registry;
    let namespace = info.namespace.as_deref();
    if !resource.namespaced && namespace.is_some() {
        return Err(ApiError::path_not_found());
    }
    if resource.namespaced && namespace.is_none() && !matches!(verb, Verb::List | Verb::Watch) {
        return Err(ApiError::path_not_found());
    }
    let sub = info.subresource.as_deref();
    if let Some(s) = sub {
        let served = Subresource::parse(s).is_some_and(|s| resource.has_subresource(s))
            || (s == "finalize" && resource.group.is_empty() && resource.plural == "namespaces");
        if !served {
            return Err(ApiError::path_not_found());
        }
    }
    let (encoding, target) = codec::negotiate_target(headers)?;
    let include =
        table::IncludeObject::parse(query.get("includeObject")).map_err(ApiError::bad_request)?;
    let custom = registry.crds.get(resource);
    let name = info.name.as_deref();
    if let Some(cr) = &custom {
        if cr.terminating && verb == Verb::Create {
            return Err(ApiError::new(
                405,
                "MethodNotAllowed",
                "create not allowed while custom resource definition is terminating",
            ));
        }
        if sub == Some("scale") {
            return crate::crd::scale::serve(
                state,
                cr,
                namespace,
                name.unwrap_or(""),
                verb,
                query,
                headers,
                body,
                encoding,
            )
            .await;
        }
    }
    let view = View {
        target,
        include,
        custom,
    };

    match (verb, sub) {
        (Verb::List, None) => list::list(state, resource, namespace, query, encoding, view).await,
        (Verb::Watch, None) => {
            // Protobuf streams for the kinds the codec knows; others stream JSON (as
            // upstream does for custom resources).
            let protobuf = encoding == Encoding::Protobuf
                && view.is_object()
                && proto::is_supported(&resource.api_version(), &resource.kind);
            watch::watch(state, resource, namespace, name, query, view, protobuf).await
        }
        (Verb::Get, None | Some("status") | Some("approval")) => {
            list::parse_resource_version(query)?;
            let obj = registry
                .get(resource, namespace, name.unwrap_or(""))
                .await?;
            let obj = registry.to_external(resource, obj);
            Ok(respond(
                StatusCode::OK,
                encoding,
                &view.single(resource, &obj),
            ))
        }
        (Verb::Get, Some("scale")) => {
            let obj = registry
                .get(resource, namespace, name.unwrap_or(""))
                .await?;
            Ok(respond(StatusCode::OK, encoding, &scale_of(&obj, resource)))
        }
        (Verb::Get, Some("log")) => {
            podlogs::pod_log(state, resource, namespace, name.unwrap_or(""), query).await
        }
        (Verb::Create, None) => {
            let bytes = codec::read_body(headers, body).await?;
            let mut obj = codec::decode_object(codec::content_type(headers).as_deref(), &bytes)?;
            check_kind(&mut obj, &resource.api_version(), &resource.kind)?;
            if resource.group == "certificates.k8s.io"
                && resource.kind == "CertificateSigningRequest"
                && let Some(user) = user
            {
                kinds::csr::set_requester(&mut obj, user);
            }
            let opts = write_options(query, headers)?;
            let written = registry.create(resource, namespace, obj, &opts).await?;
            let mut resp = respond(StatusCode::CREATED, encoding, &written.object);
            add_warnings(&mut resp, &written.warnings);
            Ok(resp)
        }
        (Verb::Create, Some("binding")) => {
            let bytes = codec::read_body(headers, body).await?;
            let mut obj = codec::decode_object(codec::content_type(headers).as_deref(), &bytes)?;
            check_kind(&mut obj, "v1", "Binding")?;
            let target = obj
                .pointer("/target/name")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    ApiError::invalid(
                        &machinery::GroupKind::new("", "Binding"),
                        name.unwrap_or(""),
                        &[machinery::FieldError::required("target.name", "")],
                    )
                })?
                .to_string();
            let opts = write_options(query, headers)?;
            let pod_name = name.unwrap_or("").to_string();
            registry
                .write_update(
                    resource,
                    namespace,
                    &pod_name,
                    Some("binding"),
                    None,
                    &opts,
                    |old| {
                        let mut pod = old.clone();
                        kinds::pod::bind_pod(&mut pod, &target)?;
                        Ok(pod)
                    },
                )
                .await?;
            Ok(respond(
                StatusCode::CREATED,
                encoding,
                &machinery::status::success_status(201),
            ))
        }
        (Verb::Create, Some("eviction")) => {
            let bytes = codec::read_body(headers, body).await?;
            let obj = codec::decode_object(codec::content_type(headers).as_deref(), &bytes)?;
            let opts = delete_options(
                Some(obj.get("deleteOptions").cloned().unwrap_or(json!({}))),
                query,
            )?;
            registry
                .delete(resource, namespace, name.unwrap_or(""), &opts)
                .await?;
            Ok(respond(
                StatusCode::CREATED,
                encoding,
                &machinery::status::success_status(201),
            ))
        }
        (Verb::Update, None | Some("status") | Some("finalize") | Some("approval")) => {
            let bytes = codec::read_body(headers, body).await?;
            let mut obj = codec::decode_object(codec::content_type(headers).as_deref(), &bytes)?;
            check_kind(&mut obj, &resource.api_version(), &resource.kind)?;
            let opts = write_options(query, headers)?;
            let written = registry
                .update(resource, namespace, name.unwrap_or(""), sub, obj, &opts)
                .await?;
            let mut resp = respond(StatusCode::OK, encoding, &written.object);
            add_warnings(&mut resp, &written.warnings);
            Ok(resp)
        }
        (Verb::Update, Some("scale")) => {
            let bytes = codec::read_body(headers, body).await?;
            let mut scale = codec::decode_object(codec::content_type(headers).as_deref(), &bytes)?;
            check_kind(&mut scale, "autoscaling/v1", "Scale")?;
            let opts = write_options(query, headers)?;
            let updated = update_scale(
                state,
                resource,
                namespace,
                name.unwrap_or(""),
                &opts,
                move |_| Ok(scale.clone()),
            )
            .await?;
            Ok(respond(
                StatusCode::OK,
                encoding,
                &scale_of(&updated, resource),
            ))
        }
        (Verb::Patch, _) => {
            let bytes = codec::read_body(headers, body).await?;
            let opts = write_options(query, headers)?;
            let patch_type = codec::content_type(headers).unwrap_or_default();
            let (obj, warnings, status) = patch(
                state,
                resource,
                namespace,
                name.unwrap_or(""),
                sub,
                &patch_type,
                &bytes,
                &opts,
                query,
            )
            .await?;
            let mut resp = respond(status, encoding, &obj);
            add_warnings(&mut resp, &warnings);
            Ok(resp)
        }
        (Verb::Delete, None) => {
            let bytes = codec::read_body(headers, body).await?;
            let body_opts = if bytes.iter().all(u8::is_ascii_whitespace) {
                None
            } else {
                Some(codec::decode_object(
                    codec::content_type(headers).as_deref(),
                    &bytes,
                )?)
            };
            let opts = delete_options(body_opts, query)?;
            let (deleted, return_object) = registry
                .delete(resource, namespace, name.unwrap_or(""), &opts)
                .await?;
            Ok(match deleted {
                Deleted::Pending(obj) => respond(StatusCode::OK, encoding, &obj),
                Deleted::Now(obj) if return_object => respond(StatusCode::OK, encoding, &obj),
                Deleted::Now(obj) => {
                    let mut status = machinery::status::success_status(200);
                    status["details"] = json!({
                        "name": meta::name(&obj),
                        "group": resource.group,
                        "kind": resource.plural,
                        "uid": meta::meta_str(&obj, "uid").unwrap_or(""),
                    });
                    respond(StatusCode::OK, encoding, &status)
                }
            })
        }
        (Verb::DeleteCollection, None) => {
            delete_collection(state, resource, namespace, query, headers, body, encoding).await
        }
        _ => Err(ApiError::method_not_supported(
            &resource.group_resource(),
            verb.as_str(),
        )),
    }
}

fn delete_options(body: Option<Value>, query: &Query) -> Result<DeleteOptions, ApiError> {
    let body = body.unwrap_or_else(|| json!({}));
    let grace = match body.get("gracePeriodSeconds") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::Null) | None => query.i64("gracePeriodSeconds")?,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "gracePeriodSeconds must be an integer, got {other}"
            )));
        }
    };
    let policy = body
        .get("propagationPolicy")
        .and_then(Value::as_str)
        .or_else(|| query.get("propagationPolicy"));
    let mut propagation = match policy {
        None => None,
        Some("Orphan") => Some(Propagation::Orphan),
        Some("Background") => Some(Propagation::Background),
        Some("Foreground") => Some(Propagation::Foreground),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "propagationPolicy: Unsupported value: \"{other}\": supported values: \"Foreground\", \"Background\", \"Orphan\""
            )));
        }
    };
    let orphan = body
        .get("orphanDependents")
        .and_then(Value::as_bool)
        .or_else(|| query.get("orphanDependents").map(|v| v == "true"));
    if propagation.is_none() {
        propagation = match orphan {
            Some(true) => Some(Propagation::Orphan),
            Some(false) => Some(Propagation::Background),
            None => None,
        };
    }
    let dry_run = match body.get("dryRun").and_then(Value::as_array) {
        Some(a) => a.iter().any(|v| v.as_str() == Some("All")),
        None => query.get("dryRun") == Some("All"),
    };
    Ok(DeleteOptions {
        grace_period_seconds: grace,
        precondition_uid: body
            .pointer("/preconditions/uid")
            .and_then(Value::as_str)
            .map(str::to_string),
        precondition_resource_version: body
            .pointer("/preconditions/resourceVersion")
            .and_then(Value::as_str)
            .map(str::to_string),
        propagation,
        dry_run,
    })
}

async fn delete_collection(
    state: &Arc<ApiState>,
    resource: &Arc<ResourceInfo>,
    namespace: Option<&str>,
    query: &Query,
    headers: &HeaderMap,
    body: Body,
    encoding: Encoding,
) -> Result<Response, ApiError> {
    let registry = &state.registry;
    let bytes = codec::read_body(headers, body).await?;
    let body_opts = if bytes.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(codec::decode_object(
            codec::content_type(headers).as_deref(),
            &bytes,
        )?)
    };
    let opts = delete_options(body_opts, query)?;
    let prefix = resource.list_prefix(namespace);
    let filter =
        filter::Filter::from_query(prefix.clone(), query, registry.strategy(resource), None)?;
    let cache = registry
        .caches
        .cache_for(&prefix)
        .ok_or_else(|| ApiError::internal(format!("no watch cache for {prefix}")))?;
    let current = registry
        .storage
        .current_revision()
        .await
        .map_err(|e| ApiError::service_unavailable(e.to_string()))?;
    let _ = registry
        .caches
        .wait_for_revision(current, list::CACHE_WAIT)
        .await;
    let (items, revision) = cache.snapshot(&prefix);
    let mut deleted = Vec::new();
    for o in items.iter().filter(|o| filter.matches(&o.object)) {
        let name = meta::name(&o.object).to_string();
        let ns = meta::namespace(&o.object).map(str::to_string);
        match registry.delete(resource, ns.as_deref(), &name, &opts).await {
            Ok((Deleted::Now(obj) | Deleted::Pending(obj), _)) => deleted.push(obj),
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    let list = json!({
        "kind": resource.list_kind(),
        "apiVersion": resource.api_version(),
        "metadata": { "resourceVersion": revision.to_string() },
        "items": deleted,
    });
    Ok(respond(StatusCode::OK, encoding, &list))
}

/// Applies a new Scale (made from the current one by `produce`) to the owning object.
async fn update_scale<F>(
    state: &Arc<ApiState>,
    resource: &Arc<ResourceInfo>,
    namespace: Option<&str>,
    name: &str,
    opts: &WriteOptions,
    mut produce: F,
) -> Result<Value, ApiError>
where
    F: FnMut(&Value) -> Result<Value, ApiError>,
{
    let mut precondition_checked = false;
    state
        .registry
        .write_update(
            resource,
            namespace,
            name,
            Some("scale"),
            None,
            opts,
            |old| {
                let current = scale_of(old, resource);
                let scale = produce(&current)?;
                if let Some(rv) = meta::resource_version(&scale)
                    && !precondition_checked
                    && Some(rv) != meta::resource_version(old)
                {
                    return Err(ApiError::stale_resource_version(
                        &resource.group_resource(),
                        name,
                    ));
                }
                precondition_checked = true;
                let replicas = match scale.pointer("/spec/replicas") {
                    Some(Value::Number(n)) => n
                        .as_i64()
                        .ok_or_else(|| ApiError::bad_request("spec.replicas must be an integer"))?,
                    None | Some(Value::Null) => 0,
                    Some(other) => {
                        return Err(ApiError::bad_request(format!(
                            "spec.replicas must be an integer, got {other}"
                        )));
                    }
                };
                if replicas < 0 {
                    return Err(ApiError::invalid(
                        &machinery::GroupKind::new("autoscaling", "Scale"),
                        name,
                        &[machinery::FieldError::invalid(
                            "spec.replicas",
                            json!(replicas),
                            "must be greater than or equal to 0",
                        )],
                    ));
                }
                let mut new = old.clone();
                if let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) {
                    spec.insert("replicas".into(), json!(replicas));
                }
                Ok(new)
            },
        )
        .await
}

#[allow(clippy::too_many_arguments)]
async fn patch(
    state: &Arc<ApiState>,
    resource: &Arc<ResourceInfo>,
    namespace: Option<&str>,
    name: &str,
    sub: Option<&str>,
    patch_type: &str,
    bytes: &[u8],
    opts: &WriteOptions,
    query: &Query,
) -> Result<(Value, Vec<String>, StatusCode), ApiError> {
    let registry = &state.registry;
    if patch_type != "application/apply-patch+yaml" && query.get("force").is_some() {
        return Err(crate::registry::apply::options_invalid(
            "PatchOptions",
            &[machinery::FieldError::forbidden(
                "force",
                "may not be specified for non-apply patch",
            )],
        ));
    }
    let patch_doc = match patch_type {
        "application/merge-patch+json"
        | "application/json-patch+json"
        | "application/strategic-merge-patch+json" => codec::decode_json(bytes)?,
        "application/apply-patch+yaml" => {
            let applied = crate::registry::apply::apply(
                registry,
                resource,
                namespace,
                name,
                sub,
                bytes,
                query.get("fieldManager"),
                query.get("force") == Some("true"),
                opts,
            )
            .await?;
            let object = if sub == Some("scale") {
                scale_of(&applied.object, resource)
            } else {
                applied.object
            };
            return Ok((object, applied.warnings, applied.status));
        }
        other => {
            return Err(ApiError::new(
                415,
                "UnsupportedMediaType",
                format!(
                    "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got \"{other}\")"
                ),
            ));
        }
    };
    let strategic_schema = if patch_type == "application/strategic-merge-patch+json" {
        let schema = if sub == Some("scale") {
            machinery::patch::PatchSchema::for_kind("autoscaling", "Scale")
        } else {
            machinery::patch::PatchSchema::for_kind(&resource.group, &resource.kind)
        };
        Some(schema.ok_or_else(|| {
            ApiError::new(415, "UnsupportedMediaType",
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
            )
        })?)
    } else {
        None
    };
    // A resourceVersion inside a merge-style patch is a precondition (upstream).
    let precondition = match &patch_doc {
        Value::Object(_) => meta::resource_version(&patch_doc).map(str::to_string),
        _ => None,
    };
    let apply = |target: &Value| -> Result<Value, ApiError> {
        let result = match patch_type {
            "application/merge-patch+json" => machinery::patch::merge_patch(target, &patch_doc),
            "application/json-patch+json" => machinery::patch::json_patch(target, &patch_doc),
            _ => match &strategic_schema {
                Some(schema) => machinery::patch::strategic_merge(target, &patch_doc, schema),
                None => machinery::patch::merge_patch(target, &patch_doc),
            },
        };
        result.map_err(ApiError::from)
    };

    if sub == Some("scale") {
        let updated = update_scale(state, resource, namespace, name, opts, |current| {
            apply(current)
        })
        .await?;
        return Ok((scale_of(&updated, resource), Vec::new(), StatusCode::OK));
    }
    let mut warnings = Vec::new();
    let validation = opts.field_validation;
    let written = registry
        .write_update(
            resource,
            namespace,
            name,
            sub,
            precondition.clone(),
            opts,
            |old| {
                let external = registry.to_external(resource, old.clone());
                let patched = apply(&external)?;
                if !patched.is_object() {
                    return Err(ApiError::bad_request(
                        "the patch turned the object into something that is not an object",
                    ));
                }
                warnings.clear();
                registry.normalize_patched(resource, patched, validation, &mut warnings)
            },
        )
        .await?;
    Ok((
        registry.to_external(resource, written),
        warnings,
        StatusCode::OK,
    ))
}
