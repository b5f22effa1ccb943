//! LIST, served from the watch cache with upstream's resourceVersion semantics:
//! unset = consistent (the cache catches up to storage's current revision first), `0` =
//! whatever the cache has, `N` with NotOlderThan = at least N, `N` with Exact (or a continue
//! token) = exactly as of N, reconstructed from the cache's history or read from storage.

use std::sync::Arc;
use std::time::Duration;

use axum::response::Response;
use base64::Engine;
use bytes::{BufMut, Bytes, BytesMut};
use http::StatusCode;
use machinery::{ApiError, ResourceInfo};
use serde_json::{Map, Value, json};

use super::codec::{self, Encoding};
use super::filter::Filter;
use super::request::Query;
use crate::ApiState;
use crate::storage::{ListOptions, Revision, StorageError};
use crate::watchcache::{CacheError, CachedObject, WatchCache};

/// How long a read waits for the cache to reach a revision before answering "too large".
pub const CACHE_WAIT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    NotOlderThan,
    Exact,
}

pub fn parse_resource_version(query: &Query) -> Result<Option<Revision>, ApiError> {
    match query.get("resourceVersion") {
        None => Ok(None),
        Some(s) => s
            .parse::<Revision>()
            .ok()
            .filter(|r| *r >= 0)
            .map(Some)
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "resourceVersion: Invalid value: \"{s}\": must be a non-negative integer"
                ))
            }),
    }
}

pub fn parse_match(query: &Query) -> Result<Option<Match>, ApiError> {
    match query.get("resourceVersionMatch") {
        None => Ok(None),
        Some("NotOlderThan") => Ok(Some(Match::NotOlderThan)),
        Some("Exact") => Ok(Some(Match::Exact)),
        Some(other) => Err(ApiError::bad_request(format!(
            "resourceVersionMatch: Unsupported value: \"{other}\": supported values: \"Exact\", \"NotOlderThan\""
        ))),
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ContinueToken {
    v: String,
    rv: Revision,
    start: String,
}

fn encode_continue(rv: Revision, last_key: &str, base: &str) -> String {
    let token = ContinueToken {
        v: "meta.k8s.io/v1".into(),
        rv,
        start: last_key.strip_prefix(base).unwrap_or(last_key).to_string(),
    };
    let json = serde_json::to_vec(&token).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

fn decode_continue(token: &str, base: &str) -> Result<(Revision, String), ApiError> {
    let bad = || ApiError::bad_request("continue key is not valid: the token could not be decoded");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .map_err(|_| bad())?;
    let t: ContinueToken = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if t.v != "meta.k8s.io/v1" || t.rv <= 0 || t.start.contains("..") {
        return Err(bad());
    }
    Ok((t.rv, format!("{base}{}", t.start)))
}

/// Where a list's items come from.
enum Source {
    /// The cache's current state (after waiting for `at_least`).
    Current { at_least: Option<Revision> },
    /// Exactly as of a revision.
    Exact(Revision),
}

pub async fn list(
    state: &ApiState,
    info: &Arc<ResourceInfo>,
    namespace: Option<&str>,
    query: &Query,
    encoding: Encoding,
    view: super::View,
) -> Result<Response, ApiError> {
    let registry = &state.registry;
    let strategy = registry.strategy(info);
    let prefix = info.list_prefix(namespace);
    let base = info.list_prefix(None);
    let filter = Filter::from_query(prefix.clone(), query, strategy, None)?;
    let limit = query.i64("limit")?.filter(|l| *l > 0).map(|l| l as usize);
    let rv = parse_resource_version(query)?;
    let rv_match = parse_match(query)?;
    let continue_token = query.get("continue");

    let (source, start_after, use_limit) = if let Some(token) = continue_token {
        if rv.is_some_and(|r| r != 0) {
            return Err(ApiError::bad_request(
                "specifying resource version is not allowed when using continue",
            ));
        }
        let (rv, start) = decode_continue(token, &base)?;
        (Source::Exact(rv), Some(start), true)
    } else {
        match (rv, rv_match) {
            (None, Some(_)) => {
                return Err(ApiError::bad_request(
                    "resourceVersionMatch is forbidden unless resourceVersion is provided",
                ));
            }
            (None, None) => {
                let current = registry
                    .storage
                    .current_revision()
                    .await
                    .map_err(|e| ApiError::service_unavailable(e.to_string()))?;
                (
                    Source::Current {
                        at_least: Some(current),
                    },
                    None,
                    true,
                )
            }
            (Some(0), Some(Match::Exact)) => {
                return Err(ApiError::bad_request(
                    "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
                ));
            }
            // "Any": served from the cache, and as upstream, without paging.
            (Some(0), _) => (Source::Current { at_least: None }, None, false),
            (Some(n), Some(Match::Exact)) => (Source::Exact(n), None, true),
            (Some(n), None) if limit.is_some() => (Source::Exact(n), None, true),
            (Some(n), _) => (Source::Current { at_least: Some(n) }, None, true),
        }
    };

    let cache = registry
        .caches
        .cache_for(&prefix)
        .ok_or_else(|| ApiError::internal(format!("no watch cache for {prefix}")))?;
    let (items, revision) = match source {
        Source::Current { at_least } => {
            if let Some(r) = at_least
                && registry
                    .caches
                    .wait_for_revision(r, CACHE_WAIT)
                    .await
                    .is_err()
            {
                return Err(too_large(r, registry.caches.revision()));
            }
            cache.snapshot(&prefix)
        }
        Source::Exact(r) => (
            exact_items(state, &cache, &prefix, r, continue_token.is_some()).await?,
            r,
        ),
    };

    let limit = if use_limit { limit } else { None };
    let mut page: Vec<&Arc<CachedObject>> = Vec::new();
    let mut iter = items
        .iter()
        .filter(|o| {
            start_after
                .as_ref()
                .is_none_or(|s| o.key.as_str() > s.as_str())
        })
        .filter(|o| filter.matches(&o.object));
    let mut more = false;
    for o in iter.by_ref() {
        if limit.is_some_and(|l| page.len() >= l) {
            more = true;
            break;
        }
        page.push(o);
    }
    let mut list_meta = Map::new();
    list_meta.insert("resourceVersion".into(), json!(revision.to_string()));
    if more && let Some(last) = page.last() {
        list_meta.insert(
            "continue".into(),
            json!(encode_continue(revision, &last.key, &base)),
        );
        if !filter.has_selectors() {
            // The item that ended the page counts too.
            let remaining = 1 + iter.count();
            list_meta.insert("remainingItemCount".into(), json!(remaining));
        }
    }
    render_list(state, info, &list_meta, &page, encoding, view)
}

fn too_large(requested: Revision, current: Revision) -> ApiError {
    let mut err = ApiError::timeout(format!(
        "Too large resource version: {requested}, current: {current}"
    ));
    let details = err.details.get_or_insert_with(Default::default);
    details.causes.push(machinery::status::StatusCause {
        reason: "ResourceVersionTooLarge".into(),
        message: "Too large resource version".into(),
        field: String::new(),
    });
    details.retry_after_seconds = Some(1);
    err
}

/// Items exactly as of `revision`: from the cache's history when it reaches back that far,
/// else from storage; 410 Expired when neither has it.
async fn exact_items(
    state: &ApiState,
    cache: &WatchCache,
    prefix: &str,
    revision: Revision,
    is_continue: bool,
) -> Result<Vec<Arc<CachedObject>>, ApiError> {
    let expired = || {
        if is_continue {
            ApiError::expired(
                "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
            )
        } else {
            ApiError::expired(format!(
                "The resourceVersion for the provided list is too old: {revision}"
            ))
        }
    };
    match cache.snapshot_at(prefix, revision) {
        Ok(items) => Ok(items),
        Err(CacheError::TooLarge { requested, current }) => Err(too_large(requested, current)),
        Err(_) => {
            let opts = ListOptions {
                revision: Some(revision),
                start_after: None,
                limit: None,
            };
            match state.registry.storage.list(prefix, opts).await {
                Ok(list) => list
                    .items
                    .iter()
                    .map(|kv| {
                        CachedObject::from_stored(&kv.key, &kv.value, kv.mod_revision)
                            .map(Arc::new)
                            .map_err(ApiError::internal)
                    })
                    .collect(),
                Err(StorageError::Compacted { .. }) => Err(expired()),
                Err(e) => Err(ApiError::service_unavailable(e.to_string())),
            }
        }
    }
}

/// Writes `{"kind":"<Kind>List",...,"items":[...]}` by concatenating each object's cached
/// JSON: a list of 10,000 pods is not re-serialized.
fn render_list(
    state: &ApiState,
    info: &ResourceInfo,
    list_meta: &Map<String, Value>,
    items: &[&Arc<CachedObject>],
    encoding: Encoding,
    view: super::View,
) -> Result<Response, ApiError> {
    let convert = info.group == "events.k8s.io" || state.registry.crds.needs_conversion(info);
    if encoding != Encoding::Json || convert || !view.is_object() {
        let items: Vec<Value> = items
            .iter()
            .map(|o| state.registry.to_external(info, o.object.clone()))
            .collect();
        let refs: Vec<&Value> = items.iter().collect();
        let list = view.list(info, &refs, list_meta.clone());
        return Ok(codec::respond(StatusCode::OK, encoding, &list));
    }
    let head = serde_json::to_vec(&json!({
        "kind": info.list_kind(),
        "apiVersion": info.api_version(),
        "metadata": list_meta,
    }))
    .map_err(|e| ApiError::internal(e.to_string()))?;
    let total: usize = items.iter().map(|o| o.json.len() + 1).sum();
    let mut out = BytesMut::with_capacity(head.len() + total + 16);
    // `head` ends with '}': reopen it to append the items.
    out.put_slice(&head[..head.len().saturating_sub(1)]);
    out.put_slice(b",\"items\":[");
    for (i, o) in items.iter().enumerate() {
        if i > 0 {
            out.put_u8(b',');
        }
        out.put_slice(&o.json);
    }
    out.put_slice(b"]}");
    Ok(codec::raw_json(StatusCode::OK, Bytes::from(out)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip() {
        let base = "/registry/pods/";
        let t = encode_continue(42, "/registry/pods/default/web-1", base);
        assert_eq!(
            decode_continue(&t, base).unwrap(),
            (42, "/registry/pods/default/web-1".into())
        );
        assert_eq!(decode_continue("garbage!", base).unwrap_err().code, 400);
    }
}
