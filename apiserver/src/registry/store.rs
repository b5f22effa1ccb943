//! The generic store: create, get, update, patch and delete for every resource, with the
//! rules common to all kinds (upstream's `registry/generic/registry.Store`). Each kind adds
//! only its Strategy. Reads of lists and watches are served by the watch cache
//! (handlers/list.rs and handlers/watch.rs), not here.

use std::sync::Arc;

use bytes::Bytes;
use machinery::{ApiError, FieldError, ResourceInfo, ResourceTable, Subresource};
use serde_json::{Map, Value, json};

use super::allocator::ServiceAllocator;
use super::decode;
use super::kinds;
use super::meta::{self, meta, meta_mut, remove_meta, set_meta};
use super::strategy::Strategy;
use crate::storage::{KeyValue, Storage, StorageError};
use crate::watchcache::{CacheSet, set_resource_version};

/// How many times a write retries after losing a compare-and-swap race, when the client did
/// not pin a resourceVersion.
const MAX_CAS_RETRIES: usize = 16;
/// How many fresh names a create with `generateName` tries (upstream: RetryGenerateName).
const GENERATE_NAME_ATTEMPTS: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidation {
    Strict,
    #[default]
    Warn,
    Ignore,
}

impl FieldValidation {
    pub fn parse(s: Option<&str>) -> Result<Self, ApiError> {
        Ok(match s {
            None => Self::Warn,
            Some("Strict") => Self::Strict,
            Some("Warn") => Self::Warn,
            Some("Ignore") => Self::Ignore,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "fieldValidation: Unsupported value: \"{other}\": supported values: \"Ignore\", \"Strict\", \"Warn\""
                )));
            }
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    pub dry_run: bool,
    pub field_validation: FieldValidation,
    pub field_manager: Option<String>,
}

/// The result of a write: the object as stored and warnings for the client (unknown fields
/// under fieldValidation=Warn).
#[derive(Debug, Clone)]
pub struct Written {
    pub object: Value,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    Orphan,
    Background,
    Foreground,
}

#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    pub grace_period_seconds: Option<i64>,
    pub precondition_uid: Option<String>,
    pub precondition_resource_version: Option<String>,
    pub propagation: Option<Propagation>,
    pub dry_run: bool,
}

pub enum Deleted {
    /// Gone from storage; the last state.
    Now(Value),
    /// Marked for deletion (finalizers or a grace period pending); the updated object.
    Pending(Value),
}

/// Everything the verbs need: the resource table, storage, caches and allocators.
pub struct Registry {
    pub table: ResourceTable,
    pub storage: Arc<dyn Storage>,
    pub caches: Arc<CacheSet>,
    pub allocator: Arc<ServiceAllocator>,
    /// Custom resources of established CRDs, consulted after `table`.
    pub crds: Arc<crate::crd::CustomResources>,
}

fn storage_err(info: &ResourceInfo, name: &str, e: StorageError) -> ApiError {
    let gr = info.group_resource();
    match e {
        StorageError::NotFound { .. } => ApiError::not_found(&gr, name),
        StorageError::AlreadyExists { .. } => ApiError::already_exists(&gr, name),
        StorageError::Conflict { .. } => ApiError::stale_resource_version(&gr, name),
        StorageError::Compacted { .. } => ApiError::expired(e.to_string()),
        StorageError::FutureRevision { .. } => ApiError::timeout(e.to_string()),
        StorageError::Unavailable(m) => ApiError::service_unavailable(m),
        StorageError::Internal(m) => ApiError::internal(m),
    }
}

/// Parses a stored value into an object carrying its resourceVersion.
pub fn decode_stored(kv: &KeyValue) -> Result<Value, ApiError> {
    let mut obj: Value = serde_json::from_slice(&kv.value)
        .map_err(|e| ApiError::internal(format!("stored object at {} is not JSON: {e}", kv.key)))?;
    set_resource_version(&mut obj, kv.mod_revision);
    Ok(obj)
}

/// The bytes stored for an object: JSON without resourceVersion (it is the key's
/// mod_revision, as in kube-apiserver).
fn encode_for_storage(obj: &Value) -> Result<Bytes, ApiError> {
    let mut obj = obj.clone();
    remove_meta(&mut obj, "resourceVersion");
    remove_meta(&mut obj, "selfLink");
    serde_json::to_vec(&obj)
        .map(Bytes::from)
        .map_err(|e| ApiError::internal(format!("cannot encode object: {e}")))
}

/// Kinds whose `metadata.generation` counts spec changes (upstream sets it for these).
fn tracks_generation(info: &ResourceInfo) -> bool {
    matches!(
        (info.group.as_str(), info.kind.as_str()),
        (
            "apps",
            "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet"
        ) | ("", "ReplicationController")
            | ("apiextensions.k8s.io", _)
    ) || !is_builtin_group(&info.group)
}

fn is_builtin_group(group: &str) -> bool {
    group.is_empty() || group.ends_with(".k8s.io") || !group.contains('.') || group == "apps"
}

/// Kinds whose DELETE answers with the deleted object rather than a Status (upstream's
/// ReturnDeletedObject).
fn returns_deleted_object(info: &ResourceInfo) -> bool {
    info.group.is_empty() && matches!(info.kind.as_str(), "Pod" | "Service" | "Namespace" | "Node")
}

impl Registry {
    pub fn strategy(&self, info: &ResourceInfo) -> Arc<dyn Strategy> {
        if let Some(cr) = self.crds.get(info) {
            return Arc::new(crate::crd::strategy::CustomResourceStrategy(cr));
        }
        kinds::strategy_for(&info.group, &info.kind)
    }

    fn is_events_v1(info: &ResourceInfo) -> bool {
        info.group == "events.k8s.io"
    }

    /// The object as the client's group-version sees it (events.k8s.io Events are stored as
    /// core Events).
    pub fn to_external(&self, info: &ResourceInfo, obj: Value) -> Value {
        if Self::is_events_v1(info) {
            kinds::event::event_v1_to_events_v1(obj)
        } else if self.crds.needs_conversion(info) {
            // Custom resources convert with strategy None: only apiVersion changes.
            with_api_version(obj, info.api_version())
        } else {
            obj
        }
    }

    fn to_internal(&self, info: &ResourceInfo, obj: Value) -> Value {
        if Self::is_events_v1(info) {
            kinds::event::events_v1_to_core(obj)
        } else if let Some(cr) = self
            .crds
            .get(info)
            .filter(|c| c.storage_version != info.version)
        {
            with_api_version(obj, cr.storage_api_version())
        } else {
            obj
        }
    }

    /// The resource whose strategy and validation apply to stored objects.
    fn storage_info(&self, info: &ResourceInfo) -> ResourceInfo {
        if Self::is_events_v1(info)
            && let Some(core) = self.table.lookup("", "v1", "events")
        {
            return (*core).clone();
        }
        info.clone()
    }

    pub async fn get(
        &self,
        info: &ResourceInfo,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError> {
        let key = info.key(namespace, name);
        match self.storage.get(&key).await {
            Ok(Some(kv)) => decode_stored(&kv),
            Ok(None) => Err(ApiError::not_found(&info.group_resource(), name)),
            Err(e) => Err(storage_err(info, name, e)),
        }
    }

    /// A patched object: strict decoding, then the stored representation.
    pub fn normalize_patched(
        &self,
        info: &ResourceInfo,
        patched: Value,
        validation: FieldValidation,
        warnings: &mut Vec<String>,
    ) -> Result<Value, ApiError> {
        let obj = self.normalize(info, patched, validation, warnings)?;
        Ok(self.to_internal(info, obj))
    }

    /// Strict decoding against the kind's schema: unknown fields are an error, a warning or
    /// dropped, per fieldValidation.
    fn normalize(
        &self,
        info: &ResourceInfo,
        obj: Value,
        validation: FieldValidation,
        warnings: &mut Vec<String>,
    ) -> Result<Value, ApiError> {
        let normalized = match self.crds.get(info) {
            Some(cr) => crate::crd::strategy::normalize(&cr, obj)?,
            None => {
                decode::normalize(&info.group, &info.kind, obj).map_err(|e| e.to_api_error())?
            }
        };
        if info.group == "apiextensions.k8s.io" {
            warnings.extend(crate::crd::strategy::unenforced_rules(&normalized.object));
        }
        if !normalized.unknown_fields.is_empty() {
            match validation {
                FieldValidation::Strict => {
                    return Err(decode::strict_decoding_error(
                        &info.kind,
                        &info.version,
                        &normalized.unknown_fields,
                    ));
                }
                FieldValidation::Warn => {
                    for f in &normalized.unknown_fields {
                        warnings.push(format!("unknown field \"{f}\""));
                    }
                }
                FieldValidation::Ignore => {}
            }
        }
        Ok(normalized.object)
    }

    /// Namespace lifecycle admission: the namespace must exist and not be terminating.
    async fn admit_namespace(
        &self,
        info: &ResourceInfo,
        namespace: Option<&str>,
    ) -> Result<(), ApiError> {
        let Some(ns) = namespace.filter(|_| info.namespaced) else {
            return Ok(());
        };
        let Some(ns_info) = self.table.lookup("", "v1", "namespaces") else {
            return Ok(());
        };
        let key = ns_info.key(None, ns);
        // The cache may lag behind a namespace created a moment ago: fall back to storage.
        let cached = self
            .caches
            .cache_for(&key)
            .and_then(|c| c.get(&key))
            .map(|o| o.object.clone());
        let obj = match cached {
            Some(o) => Some(o),
            None => match self.storage.get(&key).await {
                Ok(Some(kv)) => Some(decode_stored(&kv)?),
                Ok(None) => None,
                Err(e) => return Err(storage_err(&ns_info, ns, e)),
            },
        };
        match obj {
            None => Err(ApiError::not_found(&ns_info.group_resource(), ns)),
            Some(o) if meta::is_deleting(&o) => Err(ApiError::forbidden(format!(
                "{} \"{}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                info.plural,
                meta::name(&o)
            ))
            .with_reason_details("NamespaceTerminating")),
            Some(_) => Ok(()),
        }
    }

    /// Validation common to every kind: names, namespace, labels, annotations, finalizers.
    fn validate_meta(
        &self,
        info: &ResourceInfo,
        strategy: &dyn Strategy,
        obj: &Value,
    ) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let name = meta::name(obj);
        if name.is_empty() {
            errs.push(FieldError::required(
                "metadata.name",
                "name or generateName is required",
            ));
        } else {
            let problems = if strategy.name_is_label() {
                machinery::validation::dns1123_label_errors(name)
            } else if info.kind == "Event" || info.kind == "Lease" || info.kind == "Node" {
                // Names of these kinds are only required to be valid path segments upstream
                // (nodes: subdomains, events: path segments).
                if info.kind == "Node" {
                    machinery::validation::dns1123_subdomain_errors(name)
                } else {
                    machinery::validation::path_segment_name_errors(name)
                }
            } else {
                machinery::validation::dns1123_subdomain_errors(name)
            };
            for p in problems {
                errs.push(FieldError::invalid("metadata.name", json!(name), p));
            }
        }
        if info.namespaced && meta::namespace(obj).is_none() {
            errs.push(FieldError::required("metadata.namespace", ""));
        }
        if let Some(labels) = meta::labels(obj) {
            for (k, v) in labels {
                for p in machinery::validation::qualified_name_errors(k) {
                    errs.push(FieldError::invalid("metadata.labels", json!(k), p));
                }
                match v.as_str() {
                    Some(s) => {
                        for p in machinery::validation::label_value_errors(s) {
                            errs.push(FieldError::invalid(
                                "metadata.labels".to_string(),
                                json!(s),
                                p,
                            ));
                        }
                    }
                    None => errs.push(FieldError::invalid(
                        "metadata.labels",
                        v.clone(),
                        "must be a string",
                    )),
                }
            }
        }
        if let Some(ann) = meta(obj)
            .and_then(|m| m.get("annotations"))
            .and_then(Value::as_object)
        {
            let mut total = 0usize;
            for (k, v) in ann {
                for p in machinery::validation::qualified_name_errors(&k.to_ascii_lowercase()) {
                    errs.push(FieldError::invalid("metadata.annotations", json!(k), p));
                }
                total += k.len() + v.as_str().map(str::len).unwrap_or(0);
            }
            if total > 256 * 1024 {
                errs.push(FieldError::too_long("metadata.annotations", 256 * 1024));
            }
        }
        for (i, f) in meta::finalizers(obj).iter().enumerate() {
            for p in machinery::validation::qualified_name_errors(f) {
                errs.push(FieldError::invalid(
                    format!("metadata.finalizers[{i}]"),
                    json!(f),
                    p,
                ));
            }
        }
        errs
    }

    fn invalid(info: &ResourceInfo, name: &str, errs: &[FieldError]) -> ApiError {
        ApiError::invalid(&info.group_kind(), name, errs)
    }

    pub async fn create(
        &self,
        info: &ResourceInfo,
        namespace: Option<&str>,
        body: Value,
        opts: &WriteOptions,
    ) -> Result<Written, ApiError> {
        let mut warnings = Vec::new();
        let body = self.normalize(info, body, opts.field_validation, &mut warnings)?;
        let body = self.to_internal(info, body);
        let sinfo = self.storage_info(info);
        // The request's kind decides the rules (events.k8s.io Events are validated more
        // strictly than core Events, on the same stored form).
        let strategy = self.strategy(info);
        let mut obj = body;
        if let Some(ns) = namespace.filter(|_| sinfo.namespaced) {
            match meta::namespace(&obj) {
                Some(body_ns) if body_ns != ns => {
                    return Err(ApiError::bad_request(
                        "the namespace of the provided object does not match the namespace sent on the request",
                    ));
                }
                _ => set_meta(&mut obj, "namespace", json!(ns)),
            }
        } else {
            remove_meta(&mut obj, "namespace");
        }
        self.admit_namespace(&sinfo, namespace).await?;

        let generate_name = meta::meta_str(&obj, "generateName").map(str::to_string);
        let explicit_name = !meta::name(&obj).is_empty();
        if !explicit_name && let Some(base) = &generate_name {
            set_meta(
                &mut obj,
                "name",
                json!(machinery::names::generate_name(base)),
            );
        }
        for field in [
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
        ] {
            remove_meta(&mut obj, field);
        }
        set_meta(&mut obj, "uid", json!(uuid::Uuid::new_v4().to_string()));
        set_meta(&mut obj, "creationTimestamp", json!(meta::now_rfc3339()));
        if tracks_generation(&sinfo) {
            set_meta(&mut obj, "generation", json!(1));
        } else {
            remove_meta(&mut obj, "generation");
        }
        strategy.default(&mut obj);
        strategy.prepare_for_create(&mut obj);

        let mut errs = self.validate_meta(&sinfo, strategy.as_ref(), &obj);
        errs.extend(strategy.validate(&obj));
        if !errs.is_empty() {
            return Err(Self::invalid(info, meta::name(&obj), &errs));
        }
        let mut obj =
            super::apply::track_update(self, info, None, None, obj, opts.field_manager.as_deref());

        let is_service = sinfo.group.is_empty() && sinfo.kind == "Service";
        if is_service && !opts.dry_run {
            self.allocator.allocate(&mut obj).await?;
        }
        if opts.dry_run {
            return Ok(Written {
                object: self.to_external(info, obj),
                warnings,
            });
        }

        let mut attempts = 0;
        loop {
            attempts += 1;
            let name = meta::name(&obj).to_string();
            let key = sinfo.key(namespace, &name);
            let bytes = encode_for_storage(&obj)?;
            match self.storage.create(&key, bytes).await {
                Ok(rev) => {
                    set_resource_version(&mut obj, rev);
                    return Ok(Written {
                        object: self.to_external(info, obj),
                        warnings,
                    });
                }
                Err(StorageError::AlreadyExists { .. })
                    if !explicit_name && attempts < GENERATE_NAME_ATTEMPTS =>
                {
                    if let Some(base) = &generate_name {
                        set_meta(
                            &mut obj,
                            "name",
                            json!(machinery::names::generate_name(base)),
                        );
                    }
                }
                Err(e) => {
                    if is_service {
                        self.allocator.release(&obj).await;
                    }
                    return Err(storage_err(info, &name, e));
                }
            }
        }
    }

    /// Reads, transforms and writes back one object with compare-and-swap, retrying when
    /// another writer got there first (upstream's GuaranteedUpdate). `transform` gets the
    /// current object and returns the new one; `precondition` pins the resourceVersion the
    /// client based its change on. A no-op change writes nothing.
    pub async fn guaranteed_update<F>(
        &self,
        info: &ResourceInfo,
        namespace: Option<&str>,
        name: &str,
        precondition: Option<String>,
        mut transform: F,
    ) -> Result<Value, ApiError>
    where
        F: FnMut(Value) -> Result<Value, ApiError>,
    {
        let sinfo = self.storage_info(info);
        let key = sinfo.key(namespace, name);
        let gr = info.group_resource();
        let mut current: Option<KeyValue> = None;
        for _ in 0..MAX_CAS_RETRIES {
            let kv = match current.take() {
                Some(kv) => kv,
                None => match self.storage.get(&key).await {
                    Ok(Some(kv)) => kv,
                    Ok(None) => return Err(ApiError::not_found(&gr, name)),
                    Err(e) => return Err(storage_err(info, name, e)),
                },
            };
            if let Some(rv) = &precondition
                && rv != &kv.mod_revision.to_string()
            {
                return Err(ApiError::stale_resource_version(&gr, name));
            }
            let old = decode_stored(&kv)?;
            let new = transform(old.clone())?;
            if new == old {
                return Ok(old);
            }
            // Removing the last finalizer of an object being deleted completes the delete.
            if self.should_delete_during_update(&sinfo, &new) {
                return match self.storage.delete(&key, Some(kv.mod_revision)).await {
                    Ok((_, rev)) => {
                        let mut gone = new;
                        set_resource_version(&mut gone, rev);
                        self.after_delete(&sinfo, &gone).await;
                        Ok(gone)
                    }
                    Err(StorageError::Conflict { current: c, .. }) if precondition.is_none() => {
                        current = c.map(|b| *b);
                        continue;
                    }
                    Err(e) => Err(storage_err(info, name, e)),
                };
            }
            let bytes = encode_for_storage(&new)?;
            match self.storage.update(&key, bytes, kv.mod_revision).await {
                Ok(rev) => {
                    let mut new = new;
                    set_resource_version(&mut new, rev);
                    return Ok(new);
                }
                Err(StorageError::Conflict { current: c, .. }) if precondition.is_none() => {
                    current = c.map(|b| *b);
                }
                Err(e) => return Err(storage_err(info, name, e)),
            }
        }
        Err(ApiError::conflict(
            &gr,
            name,
            "too many concurrent writers; please retry",
        ))
    }

    fn should_delete_during_update(&self, info: &ResourceInfo, obj: &Value) -> bool {
        if !meta::is_deleting(obj) || !meta::finalizers(obj).is_empty() {
            return false;
        }
        if info.kind == "Namespace" && info.group.is_empty() {
            // Namespaces also wait for their spec finalizers (the namespace controller).
            let spec_finalizers = obj
                .pointer("/spec/finalizers")
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty());
            return !spec_finalizers;
        }
        if info.kind == "Pod" && info.group.is_empty() {
            // A pod waits for its node agent to confirm termination with grace 0.
            return meta(obj)
                .and_then(|m| m.get("deletionGracePeriodSeconds"))
                .and_then(Value::as_i64)
                .unwrap_or(0)
                == 0;
        }
        true
    }

    /// Shared preparation of an update of `old` into `new` (PUT, PATCH, apply), for the main
    /// resource or its status.
    fn prepare_update(
        &self,
        info: &ResourceInfo,
        subresource: Option<&str>,
        mut new: Value,
        old: &Value,
    ) -> Result<Value, ApiError> {
        let strategy = self.strategy(info);
        let name = meta::name(old).to_string();
        let body_name = meta::name(&new);
        if !body_name.is_empty() && body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        if let (Some(body_ns), Some(ns)) = (meta::namespace(&new), meta::namespace(old))
            && body_ns != ns
        {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        // Fields only the server sets.
        let old_meta = meta(old).cloned().unwrap_or_default();
        if let Some(m) = meta_mut(&mut new) {
            for field in [
                "name",
                "namespace",
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
            ] {
                match old_meta.get(field) {
                    Some(v) => m.insert(field.to_string(), v.clone()),
                    None => m.remove(field),
                };
            }
            m.remove("selfLink");
        }
        match subresource {
            Some("status") => {
                // A status write changes only status (and labels/annotations, as upstream).
                let mut merged = old.clone();
                if let (Some(dst), Some(src)) = (merged.as_object_mut(), new.as_object()) {
                    match src.get("status") {
                        Some(s) => dst.insert("status".into(), s.clone()),
                        None => dst.remove("status"),
                    };
                    if let (Some(dm), Some(sm)) = (
                        dst.get_mut("metadata").and_then(Value::as_object_mut),
                        src.get("metadata").and_then(Value::as_object),
                    ) {
                        for field in ["labels", "annotations"] {
                            match sm.get(field) {
                                Some(v) => dm.insert(field.into(), v.clone()),
                                None => dm.remove(field),
                            };
                        }
                        // Managed fields a status apply computed (status updates take the
                        // live ones again when they are tracked, see registry/apply.rs).
                        if let Some(v) = sm.get("managedFields") {
                            dm.insert("managedFields".into(), v.clone());
                        }
                    }
                }
                new = merged;
                strategy.prepare_for_status_update(&mut new, old);
            }
            Some("finalize") => {
                // namespaces/finalize changes only spec.finalizers.
                let finalizers = new.pointer("/spec/finalizers").cloned();
                let mut merged = old.clone();
                if let Some(spec) = merged.get_mut("spec").and_then(Value::as_object_mut) {
                    match finalizers {
                        Some(f) => spec.insert("finalizers".into(), f),
                        None => spec.remove("finalizers"),
                    };
                } else if let (Some(m), Some(f)) = (merged.as_object_mut(), finalizers) {
                    m.insert("spec".into(), json!({ "finalizers": f }));
                }
                new = merged;
            }
            // certificatesigningrequests/approval changes only the conditions.
            Some("approval") => new = kinds::csr::prepare_for_approval_update(&new, old),
            // pods/binding: bind_pod set spec.nodeName and the PodScheduled condition, which
            // no other write may do.
            Some("binding") => {}
            _ => {
                if strategy.status_via_subresource()
                    && let Some(m) = new.as_object_mut()
                {
                    match old.get("status") {
                        Some(s) => m.insert("status".into(), s.clone()),
                        None => m.remove("status"),
                    };
                }
                strategy.prepare_for_update(&mut new, old);
            }
        }
        let old_generation = old_meta.get("generation").and_then(Value::as_i64);
        if tracks_generation(info) {
            let bump = meta::spec_part(&new) != meta::spec_part(old)
                || strategy.bumps_generation(&new, old);
            let generation = old_generation.unwrap_or(1) + i64::from(bump);
            set_meta(&mut new, "generation", json!(generation));
        } else if let Some(g) = old_generation {
            set_meta(&mut new, "generation", json!(g));
        }
        strategy.default(&mut new);

        let mut errs = self.validate_meta(info, strategy.as_ref(), &new);
        if meta::is_deleting(old) {
            let old_f = meta::finalizers(old);
            if meta::finalizers(&new).iter().any(|f| !old_f.contains(f)) {
                errs.push(FieldError::forbidden(
                    "metadata.finalizers",
                    "no new finalizers can be added if the object is being deleted",
                ));
            }
        }
        errs.extend(match subresource {
            Some("status") => strategy.validate_status_update(&new, old),
            Some("binding") => Vec::new(),
            Some("approval") => kinds::csr::validate_approval_update(&new, old),
            _ => strategy.validate_update(&new, old),
        });
        if !errs.is_empty() {
            return Err(Self::invalid(info, &name, &errs));
        }
        Ok(new)
    }

    /// PUT: replace the object (or its status) with `body`.
    pub async fn update(
        &self,
        info: &ResourceInfo,
        namespace: Option<&str>,
        name: &str,
        subresource: Option<&str>,
        body: Value,
        opts: &WriteOptions,
    ) -> Result<Written, ApiError> {
        let mut warnings = Vec::new();
        let body = self.normalize(info, body, opts.field_validation, &mut warnings)?;
        let body = self.to_internal(info, body);
        let body_name = meta::name(&body);
        if !body_name.is_empty() && body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let precondition = meta::resource_version(&body).map(str::to_string);
        let written = self
            .write_update(
                info,
                namespace,
                name,
                subresource,
                precondition,
                opts,
                |_| Ok(body.clone()),
            )
            .await?;
        Ok(Written {
            object: self.to_external(info, written),
            warnings,
        })
    }

    /// The update path shared by PUT and PATCH: `produce` makes the client's intended object
    /// from the current one; then the server's rules apply.
    #[allow(clippy::too_many_arguments)]
    pub async fn write_update<F>(
        &self,
        info: &ResourceInfo,
        namespace: Option<&str>,
        name: &str,
        subresource: Option<&str>,
        precondition: Option<String>,
        opts: &WriteOptions,
        mut produce: F,
    ) -> Result<Value, ApiError>
    where
        F: FnMut(&Value) -> Result<Value, ApiError>,
    {
        if info.group.is_empty() && info.kind == "Service" && !opts.dry_run {
            return self
                .write_service_update(
                    info,
                    namespace,
                    name,
                    subresource,
                    precondition,
                    opts.field_manager.as_deref(),
                    produce,
                )
                .await;
        }
        let mut dry_run_result = None;
        let result = self
            .guaranteed_update(info, namespace, name, precondition, |old| {
                let intended = produce(&old)?;
                let new = self.prepare_update(info, subresource, intended, &old)?;
                let new = super::apply::track_update(
                    self,
                    info,
                    subresource,
                    Some(&old),
                    new,
                    opts.field_manager.as_deref(),
                );
                if opts.dry_run {
                    dry_run_result = Some(new);
                    return Ok(old);
                }
                Ok(new)
            })
            .await?;
        Ok(dry_run_result.unwrap_or(result))
    }

    /// A Service update also moves its cluster IPs and node ports (type changes, new ports):
    /// the new values are taken before the compare-and-swap and the old ones given back only
    /// after it succeeded, so a lost race never leaves a value held twice or lost.
    #[allow(clippy::too_many_arguments)]
    async fn write_service_update<F>(
        &self,
        info: &ResourceInfo,
        namespace: Option<&str>,
        name: &str,
        subresource: Option<&str>,
        precondition: Option<String>,
        field_manager: Option<&str>,
        mut produce: F,
    ) -> Result<Value, ApiError>
    where
        F: FnMut(&Value) -> Result<Value, ApiError>,
    {
        let key = info.key(namespace, name);
        let gr = info.group_resource();
        for _ in 0..MAX_CAS_RETRIES {
            let kv = match self.storage.get(&key).await {
                Ok(Some(kv)) => kv,
                Ok(None) => return Err(ApiError::not_found(&gr, name)),
                Err(e) => return Err(storage_err(info, name, e)),
            };
            if precondition
                .as_ref()
                .is_some_and(|rv| rv != &kv.mod_revision.to_string())
            {
                return Err(ApiError::stale_resource_version(&gr, name));
            }
            let old = decode_stored(&kv)?;
            let intended = produce(&old)?;
            let new = self.prepare_update(info, subresource, intended, &old)?;
            let mut new =
                super::apply::track_update(self, info, subresource, Some(&old), new, field_manager);
            if new == old {
                return Ok(old);
            }
            if self.should_delete_during_update(info, &new) {
                return match self.storage.delete(&key, Some(kv.mod_revision)).await {
                    Ok((_, rev)) => {
                        set_resource_version(&mut new, rev);
                        self.after_delete(info, &new).await;
                        Ok(new)
                    }
                    Err(StorageError::Conflict { .. }) if precondition.is_none() => continue,
                    Err(e) => Err(storage_err(info, name, e)),
                };
            }
            let plan = self.allocator.reallocate_for_update(&mut new, &old).await?;
            let bytes = encode_for_storage(&new)?;
            match self.storage.update(&key, bytes, kv.mod_revision).await {
                Ok(rev) => {
                    self.allocator.commit_update(&plan).await;
                    set_resource_version(&mut new, rev);
                    return Ok(new);
                }
                Err(StorageError::Conflict { .. }) if precondition.is_none() => {
                    self.allocator.rollback_update(&plan).await;
                }
                Err(e) => {
                    self.allocator.rollback_update(&plan).await;
                    return Err(storage_err(info, name, e));
                }
            }
        }
        Err(ApiError::conflict(
            &gr,
            name,
            "too many concurrent writers; please retry",
        ))
    }

    pub async fn delete(
        &self,
        info: &ResourceInfo,
        namespace: Option<&str>,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<(Deleted, bool), ApiError> {
        let sinfo = self.storage_info(info);
        let key = sinfo.key(namespace, name);
        let gr = info.group_resource();
        for _ in 0..MAX_CAS_RETRIES {
            let kv = match self.storage.get(&key).await {
                Ok(Some(kv)) => kv,
                Ok(None) => return Err(ApiError::not_found(&gr, name)),
                Err(e) => return Err(storage_err(info, name, e)),
            };
            let obj = decode_stored(&kv)?;
            if let Some(uid) = &opts.precondition_uid {
                let actual = meta::meta_str(&obj, "uid").unwrap_or("");
                if uid != actual {
                    return Err(ApiError::conflict(
                        &gr,
                        name,
                        &format!(
                            "Precondition failed: UID in precondition: {uid}, UID in object meta: {actual}"
                        ),
                    ));
                }
            }
            if let Some(rv) = &opts.precondition_resource_version
                && rv != &kv.mod_revision.to_string()
            {
                return Err(ApiError::conflict(
                    &gr,
                    name,
                    &format!(
                        "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                        kv.mod_revision
                    ),
                ));
            }
            let mut new = obj.clone();
            let mut finalizers = meta::finalizers(&obj);
            match opts.propagation {
                Some(Propagation::Orphan) if !finalizers.iter().any(|f| f == "orphan") => {
                    finalizers.push("orphan".into())
                }
                Some(Propagation::Foreground)
                    if !finalizers.iter().any(|f| f == "foregroundDeletion") =>
                {
                    finalizers.push("foregroundDeletion".into())
                }
                _ => {}
            }
            let grace = self.grace_period(&sinfo, &obj, opts);
            let already_deleting = meta::is_deleting(&obj);
            // A CRD stays until the API server has deleted its objects (upstream adds this
            // finalizer on delete).
            if !already_deleting
                && sinfo.group == "apiextensions.k8s.io"
                && sinfo.kind == "CustomResourceDefinition"
                && !finalizers
                    .iter()
                    .any(|f| f == crate::crd::CLEANUP_FINALIZER)
            {
                finalizers.push(crate::crd::CLEANUP_FINALIZER.into());
            }
            let namespace_pending = sinfo.group.is_empty()
                && sinfo.kind == "Namespace"
                && obj
                    .pointer("/spec/finalizers")
                    .and_then(Value::as_array)
                    .is_some_and(|a| !a.is_empty());
            let immediate = finalizers.is_empty() && grace == 0 && !namespace_pending;
            if opts.dry_run {
                return Ok((
                    if immediate {
                        Deleted::Now(obj)
                    } else {
                        Deleted::Pending(obj)
                    },
                    returns_deleted_object(&sinfo),
                ));
            }
            if immediate {
                match self.storage.delete(&key, Some(kv.mod_revision)).await {
                    Ok((_, rev)) => {
                        let mut gone = obj;
                        set_resource_version(&mut gone, rev);
                        self.after_delete(&sinfo, &gone).await;
                        let gone = self.to_external(info, gone);
                        return Ok((Deleted::Now(gone), returns_deleted_object(&sinfo)));
                    }
                    Err(StorageError::Conflict { .. }) => continue,
                    Err(StorageError::NotFound { .. }) => {
                        return Err(ApiError::not_found(&gr, name));
                    }
                    Err(e) => return Err(storage_err(info, name, e)),
                }
            }
            if already_deleting {
                // Only a shorter grace period changes anything (upstream's graceful shortening).
                let current_grace = meta(&obj)
                    .and_then(|m| m.get("deletionGracePeriodSeconds"))
                    .and_then(Value::as_i64);
                let shorten = current_grace.is_some_and(|c| grace < c);
                if !shorten && finalizers == meta::finalizers(&obj) {
                    return Ok((Deleted::Pending(self.to_external(info, obj)), true));
                }
            }
            if let Some(m) = meta_mut(&mut new) {
                m.insert("finalizers".into(), json!(finalizers));
                if finalizers.is_empty() {
                    m.remove("finalizers");
                }
                if !already_deleting || grace > 0 || sinfo.kind == "Pod" {
                    m.insert(
                        "deletionTimestamp".into(),
                        json!(meta::rfc3339_after(grace)),
                    );
                    m.insert("deletionGracePeriodSeconds".into(), json!(grace));
                }
            }
            if sinfo.group.is_empty()
                && sinfo.kind == "Namespace"
                && let Some(status) = new.as_object_mut()
            {
                status.insert("status".into(), json!({ "phase": "Terminating" }));
            }
            if self.should_delete_during_update(&sinfo, &new) {
                match self.storage.delete(&key, Some(kv.mod_revision)).await {
                    Ok((_, rev)) => {
                        set_resource_version(&mut new, rev);
                        self.after_delete(&sinfo, &new).await;
                        return Ok((
                            Deleted::Now(self.to_external(info, new)),
                            returns_deleted_object(&sinfo),
                        ));
                    }
                    Err(StorageError::Conflict { .. }) => continue,
                    Err(e) => return Err(storage_err(info, name, e)),
                }
            }
            let bytes = encode_for_storage(&new)?;
            match self.storage.update(&key, bytes, kv.mod_revision).await {
                Ok(rev) => {
                    set_resource_version(&mut new, rev);
                    return Ok((Deleted::Pending(self.to_external(info, new)), true));
                }
                Err(StorageError::Conflict { .. }) => continue,
                Err(e) => return Err(storage_err(info, name, e)),
            }
        }
        Err(ApiError::conflict(
            &gr,
            name,
            "too many concurrent writers; please retry",
        ))
    }

    /// Pods are deleted gracefully when they may be running: their grace period (default
    /// spec.terminationGracePeriodSeconds) lets the node agent stop them. Pods not yet on a
    /// node, or finished, go at once. Other kinds have no grace period.
    fn grace_period(&self, info: &ResourceInfo, obj: &Value, opts: &DeleteOptions) -> i64 {
        if !(info.group.is_empty() && info.kind == "Pod") {
            return 0;
        }
        let scheduled = obj
            .pointer("/spec/nodeName")
            .and_then(Value::as_str)
            .is_some_and(|n| !n.is_empty());
        let finished = matches!(
            obj.pointer("/status/phase").and_then(Value::as_str),
            Some("Succeeded" | "Failed")
        );
        if !scheduled || finished {
            return 0;
        }
        let grace = opts.grace_period_seconds.unwrap_or_else(|| {
            obj.pointer("/spec/terminationGracePeriodSeconds")
                .and_then(Value::as_i64)
                .unwrap_or(30)
        });
        // Upstream turns a negative grace into 1 second, and 0 means now.
        grace.max(0)
    }

    async fn after_delete(&self, info: &ResourceInfo, obj: &Value) {
        if info.group.is_empty() && info.kind == "Service" {
            self.allocator.release(obj).await;
        }
    }
}

fn with_api_version(mut obj: Value, api_version: String) -> Value {
    if let Some(m) = obj.as_object_mut() {
        m.insert("apiVersion".into(), Value::String(api_version));
    }
    obj
}

/// Builds `/scale` for deployments, replicasets and replicationcontrollers.
pub fn scale_of(obj: &Value, info: &ResourceInfo) -> Value {
    let m = meta(obj).cloned().unwrap_or_default();
    let mut scale_meta = Map::new();
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
    let replicas = obj
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let status_replicas = obj
        .pointer("/status/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let selector = obj.pointer("/spec/selector").map(|s| {
        if info.kind == "ReplicationController" {
            match s.as_object() {
                Some(m) => machinery::selector::LabelSelector::from_map(m),
                None => Ok(machinery::selector::LabelSelector::everything()),
            }
        } else {
            machinery::selector::LabelSelector::from_label_selector_json(s)
        }
        .map(|sel| sel.to_string())
        .unwrap_or_default()
    });
    let mut status = Map::new();
    status.insert("replicas".into(), json!(status_replicas));
    if let Some(s) = selector.filter(|s| !s.is_empty()) {
        status.insert("selector".into(), json!(s));
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": scale_meta,
        "spec": { "replicas": replicas },
        "status": status,
    })
}

trait WithReason {
    fn with_reason_details(self, reason: &str) -> Self;
}

impl WithReason for ApiError {
    fn with_reason_details(mut self, reason: &str) -> Self {
        let details = self.details.get_or_insert_with(Default::default);
        details.causes.push(machinery::status::StatusCause {
            reason: reason.to_string(),
            message: self.message.clone(),
            field: String::new(),
        });
        self
    }
}

pub fn is_scale_subresource(sub: Option<&str>) -> bool {
    sub.and_then(Subresource::parse) == Some(Subresource::Scale)
}
