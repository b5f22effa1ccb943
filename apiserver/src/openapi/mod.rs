//! OpenAPI documents: `/openapi/v3` (index and one document per group-version) and
//! `/openapi/v2` (Swagger 2.0, as JSON or as gnostic's protobuf), all derived from the one
//! resource table.
//!
//! Why they matter: kubectl validates `create`/`apply`/`edit` by default
//! (`--validate=strict`). It reads the group-version's OpenAPI v3 document and, when the
//! kind's `patch` operation lists a `fieldValidation` query parameter, sends
//! `?fieldValidation=Strict` and leaves validation to the server. Without documents it fails
//! with `failed to download openapi`. kubectl 1.27 downloads `/openapi/v2` as protobuf
//! first, whatever else it does. `kubectl explain` renders the schemas, and client-side
//! `kubectl apply` computes its strategic merge patch from the v3 schemas' patch extensions
//! (`x-kubernetes-patch-merge-key`/`-strategy`) when the kind's patch operation accepts
//! `application/strategic-merge-patch+json`, so those extensions are published as upstream
//! publishes them.
//!
//! Schemas are k8s-openapi's (its `schemars` feature), named as upstream names them
//! (`io.k8s.api.core.v1.Pod`). Custom resources get their CRD schema when one is registered
//! with [`OpenApiCache::set_custom_schema`], else an object that keeps unknown fields.
//!
//! Serving ([`OpenApiDocuments::respond`] does all of this):
//! - `GET /openapi/v3` → the index, `{"paths":{"api/v1":{"serverRelativeURL":
//!   "/openapi/v3/api/v1?hash=<HASH>"}, ...}}`.
//! - `GET /openapi/v3/api/v1`, `/openapi/v3/apis/<group>/<version>` → that document, with
//!   `ETag: "<HASH>"`; with the current `?hash=` it may be cached for good
//!   (`Cache-Control: public, immutable`), with a stale one it redirects (301) to the current
//!   URL, as kube-apiserver does.
//! - `GET /openapi/v2` → protobuf when `Accept` names
//!   `application/com.github.proto-openapi.spec.v2@v1.0+protobuf` (or the `.v1.0` spelling),
//!   else JSON.

mod gnostic;
pub mod managed;
mod paths;
mod schemas;
mod tables;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode, Uri, header};
use machinery::ResourceTable;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha512};

use self::schemas::Definitions;

/// The version kube-apiserver puts in `info.version`.
const INFO_VERSION: &str = "v1.33.0";

/// What `/openapi/v2` answers protobuf requests with.
pub const V2_PROTOBUF_CONTENT_TYPE: &str =
    "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// CRD schemas of custom resources, by group, version and kind: each a CRD version's
/// `schema.openAPIV3Schema`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomSchemas {
    by_gvk: BTreeMap<(String, String, String), Value>,
}

impl CustomSchemas {
    pub fn insert(&mut self, group: &str, version: &str, kind: &str, schema: Value) {
        self.by_gvk
            .insert((group.into(), version.into(), kind.into()), schema);
    }

    pub fn remove(&mut self, group: &str, version: &str, kind: &str) -> Option<Value> {
        self.by_gvk
            .remove(&(group.into(), version.into(), kind.into()))
    }

    pub fn get(&self, group: &str, version: &str, kind: &str) -> Option<&Value> {
        self.by_gvk
            .get(&(group.into(), version.into(), kind.into()))
    }
}

/// `api/v1` or `apis/<group>/<version>`: a group-version's key in the v3 index and its
/// document's path under `/openapi/v3/`.
pub fn group_version_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// Upstream's content hash: SHA-512 of the document, upper-case hex.
pub fn content_hash(document: &[u8]) -> String {
    hex::encode_upper(Sha512::digest(document))
}

/// The `/openapi/v3` index (the hashes come from the documents, so this builds them all; use
/// [`OpenApiCache`] to serve).
pub fn v3_index(table: &ResourceTable) -> Value {
    let docs = OpenApiDocuments::build(table, &CustomSchemas::default());
    serde_json::from_slice(&docs.index).unwrap_or_else(|_| json!({ "paths": {} }))
}

/// The OpenAPI v3 document of one group-version; `None` when the table serves nothing there.
pub fn v3_group_version(table: &ResourceTable, group: &str, version: &str) -> Option<Value> {
    let defs = Definitions::build(table, &CustomSchemas::default());
    v3_document(table, &defs, group, version)
}

/// The Swagger 2.0 document of everything served.
pub fn v2(table: &ResourceTable) -> Value {
    let defs = Definitions::build(table, &CustomSchemas::default());
    v2_document(table, &defs)
}

/// [`v2`] as gnostic's `openapi.v2.Document` protobuf message.
pub fn v2_protobuf(table: &ResourceTable) -> Vec<u8> {
    gnostic::encode_document(&v2(table))
}

fn v3_document(
    table: &ResourceTable,
    defs: &Definitions,
    group: &str,
    version: &str,
) -> Option<Value> {
    let paths = paths::group_version_paths(table, defs, group, version);
    if paths.is_empty() {
        return None;
    }
    let rendered = paths::render_v3(&paths, group, version);
    let mut schemas = Map::new();
    for (name, mut schema) in defs.closure(paths::referenced_definitions(&paths)) {
        schemas::to_v3(&mut schema);
        schemas.insert(name, schema);
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": { "title": "Kubernetes", "version": INFO_VERSION },
        "paths": rendered,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "BearerToken": {
                    "type": "apiKey",
                    "description": "Bearer Token authentication",
                    "name": "authorization",
                    "in": "header",
                },
            },
        },
    }))
}

fn v2_document(table: &ResourceTable, defs: &Definitions) -> Value {
    let mut all_paths = Map::new();
    let mut roots: Vec<String> = Vec::new();
    for (group, version) in table.group_versions() {
        let paths = paths::group_version_paths(table, defs, &group, &version);
        roots.extend(
            paths::referenced_definitions(&paths)
                .into_iter()
                .map(str::to_string),
        );
        paths::render_v2(&paths, &group, &version, "#/definitions/", &mut all_paths);
    }
    let mut sorted: Vec<(String, Value)> = all_paths.into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut definitions = Map::new();
    for (name, mut schema) in defs.closure(roots.iter().map(String::as_str)) {
        schemas::to_v2(&mut schema);
        definitions.insert(name, schema);
    }
    json!({
        "swagger": "2.0",
        "info": { "title": "Kubernetes", "version": INFO_VERSION },
        "paths": sorted.into_iter().collect::<Map<String, Value>>(),
        "definitions": definitions,
        "securityDefinitions": {
            "BearerToken": {
                "description": "Bearer Token authentication",
                "in": "header",
                "name": "authorization",
                "type": "apiKey",
            },
        },
        "security": [{ "BearerToken": [] }],
    })
}

/// One group-version's v3 document, serialized, and its content hash.
#[derive(Debug, Clone)]
pub struct GroupVersionDocument {
    pub json: Bytes,
    pub hash: String,
}

/// Every document, serialized once. The v2 protobuf is encoded on first use.
#[derive(Debug)]
pub struct OpenApiDocuments {
    index: Bytes,
    group_versions: BTreeMap<String, GroupVersionDocument>,
    v2_json: Bytes,
    v2_hash: String,
    v2_protobuf: OnceLock<Bytes>,
}

impl OpenApiDocuments {
    pub fn build(table: &ResourceTable, custom: &CustomSchemas) -> Self {
        let defs = Definitions::build(table, custom);
        let mut group_versions = BTreeMap::new();
        let mut index = Map::new();
        for (group, version) in table.group_versions() {
            let Some(doc) = v3_document(table, &defs, &group, &version) else {
                continue;
            };
            let json = Bytes::from(serde_json::to_vec(&doc).unwrap_or_default());
            let hash = content_hash(&json);
            let key = group_version_path(&group, &version);
            index.insert(
                key.clone(),
                json!({ "serverRelativeURL": format!("/openapi/v3/{key}?hash={hash}") }),
            );
            group_versions.insert(key, GroupVersionDocument { json, hash });
        }
        let index = Bytes::from(serde_json::to_vec(&json!({ "paths": index })).unwrap_or_default());
        let v2_json =
            Bytes::from(serde_json::to_vec(&v2_document(table, &defs)).unwrap_or_default());
        let v2_hash = content_hash(&v2_json);
        Self {
            index,
            group_versions,
            v2_json,
            v2_hash,
            v2_protobuf: OnceLock::new(),
        }
    }

    /// The `/openapi/v3` index, serialized.
    pub fn index(&self) -> &Bytes {
        &self.index
    }

    /// A group-version's document by its path (`api/v1`, `apis/apps/v1`).
    pub fn group_version(&self, path: &str) -> Option<&GroupVersionDocument> {
        self.group_versions.get(path.trim_matches('/'))
    }

    /// The index's keys, in order.
    pub fn group_version_paths(&self) -> impl Iterator<Item = &str> {
        self.group_versions.keys().map(String::as_str)
    }

    pub fn v2_json(&self) -> &Bytes {
        &self.v2_json
    }

    /// The SHA-512 of the v2 JSON document (the v2 ETag).
    pub fn v2_hash(&self) -> &str {
        &self.v2_hash
    }

    pub fn v2_protobuf(&self) -> &Bytes {
        self.v2_protobuf.get_or_init(|| {
            let doc: Value = serde_json::from_slice(&self.v2_json).unwrap_or(Value::Null);
            Bytes::from(gnostic::encode_document(&doc))
        })
    }

    /// Answers a GET of `/openapi/v2`, `/openapi/v3` or `/openapi/v3/<group-version>`;
    /// `None` for any other path. Honors `If-None-Match` with the ETag.
    pub fn respond(&self, uri: &Uri, headers: &HeaderMap) -> Option<Response<Bytes>> {
        let path = uri.path().trim_end_matches('/');
        let if_none_match = headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok());
        if path == "/openapi/v2" {
            let accept = headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let etag = format!("\"{}\"", self.v2_hash);
            if if_none_match == Some(etag.as_str()) {
                return Some(not_modified(&etag));
            }
            let (body, content_type) = if accept.contains("protobuf") {
                (self.v2_protobuf().clone(), V2_PROTOBUF_CONTENT_TYPE)
            } else {
                (self.v2_json.clone(), "application/json")
            };
            let mut resp = ok(body, content_type, &etag);
            resp.headers_mut()
                .insert(header::VARY, HeaderValue::from_static("Accept"));
            return Some(resp);
        }
        if path == "/openapi/v3" {
            let mut resp = ok(self.index.clone(), "application/json", "");
            resp.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-cache, private"),
            );
            return Some(resp);
        }
        let gv = path.strip_prefix("/openapi/v3/")?;
        let Some(doc) = self.group_version(gv) else {
            return Some(not_found(path));
        };
        let asked_hash = uri.query().and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "hash")
                .map(|(_, v)| v.into_owned())
        });
        let etag = format!("\"{}\"", doc.hash);
        match asked_hash {
            Some(h) if h != doc.hash => {
                let location = format!("/openapi/v3/{}?hash={}", gv.trim_matches('/'), doc.hash);
                let mut resp = Response::new(Bytes::new());
                *resp.status_mut() = StatusCode::MOVED_PERMANENTLY;
                if let Ok(v) = HeaderValue::from_str(&location) {
                    resp.headers_mut().insert(header::LOCATION, v);
                }
                resp.headers_mut().insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("no-cache, private"),
                );
                Some(resp)
            }
            _ if if_none_match == Some(etag.as_str()) => Some(not_modified(&etag)),
            asked => {
                let mut resp = ok(doc.json.clone(), "application/json", &etag);
                let cache = if asked.is_some() {
                    "public, immutable"
                } else {
                    "no-cache, private"
                };
                resp.headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
                Some(resp)
            }
        }
    }
}

fn ok(body: Bytes, content_type: &'static str, etag: &str) -> Response<Bytes> {
    let mut resp = Response::new(body);
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if !etag.is_empty()
        && let Ok(v) = HeaderValue::from_str(etag)
    {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

fn not_modified(etag: &str) -> Response<Bytes> {
    let mut resp = Response::new(Bytes::new());
    *resp.status_mut() = StatusCode::NOT_MODIFIED;
    if let Ok(v) = HeaderValue::from_str(etag) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

fn not_found(path: &str) -> Response<Bytes> {
    let body = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": format!("the server could not find the requested resource ({path})"),
        "reason": "NotFound",
        "details": {},
        "code": 404,
    });
    let mut resp = Response::new(Bytes::from(serde_json::to_vec(&body).unwrap_or_default()));
    *resp.status_mut() = StatusCode::NOT_FOUND;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

#[derive(Default)]
struct CacheState {
    generation: u64,
    docs: Option<Arc<OpenApiDocuments>>,
    custom: CustomSchemas,
}

/// Builds the documents on first use and keeps them until [`OpenApiCache::invalidate`]
/// (call it whenever the resource table or a CRD schema changes).
#[derive(Default)]
pub struct OpenApiCache {
    state: Mutex<CacheState>,
}

impl OpenApiCache {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The documents for `table`, built now if nothing is cached.
    pub fn documents(&self, table: &ResourceTable) -> Arc<OpenApiDocuments> {
        let (generation, custom) = {
            let s = self.lock();
            if let Some(d) = &s.docs {
                return d.clone();
            }
            (s.generation, s.custom.clone())
        };
        // Built without the lock: the first build takes some milliseconds.
        let built = Arc::new(OpenApiDocuments::build(table, &custom));
        let mut s = self.lock();
        if s.generation == generation {
            match &s.docs {
                Some(d) => return d.clone(),
                None => s.docs = Some(built.clone()),
            }
        }
        built
    }

    /// Drops the cached documents; the next [`OpenApiCache::documents`] rebuilds them.
    pub fn invalidate(&self) {
        let mut s = self.lock();
        s.generation = s.generation.wrapping_add(1);
        s.docs = None;
    }

    /// Publishes a custom resource's CRD schema (its `openAPIV3Schema`) and invalidates.
    pub fn set_custom_schema(&self, group: &str, version: &str, kind: &str, schema: Value) {
        let mut s = self.lock();
        s.custom.insert(group, version, kind, schema);
        s.generation = s.generation.wrapping_add(1);
        s.docs = None;
    }

    /// Forgets a custom resource's schema and invalidates.
    pub fn remove_custom_schema(&self, group: &str, version: &str, kind: &str) {
        let mut s = self.lock();
        s.custom.remove(group, version, kind);
        s.generation = s.generation.wrapping_add(1);
        s.docs = None;
    }
}

#[cfg(test)]
mod tests;
