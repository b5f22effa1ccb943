//! WATCH: a chunked stream of `{"type":...,"object":...}` lines, served from the watch cache.
//! An object that stops matching the selector is sent as DELETED, one that starts matching as
//! ADDED (upstream's cacheWatcher). A resourceVersion older than the cache's history gets
//! HTTP 200 and one ERROR event with a 410 Expired Status, then the end of the stream, which
//! is what kube-rs, the Python client and Kopf expect.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderValue, StatusCode, header};
use machinery::{ApiError, ResourceInfo};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use super::filter::Filter;
use super::list::{CACHE_WAIT, Match, parse_match, parse_resource_version};
use super::request::Query;
use crate::ApiState;
use crate::watchcache::{CacheError, CacheEvent, CachedObject, EventType};

/// Upstream picks a random timeout between 30 and 60 minutes when the client names none.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);
const BOOKMARK_INTERVAL: Duration = Duration::from_secs(30);

pub async fn watch(
    state: &Arc<ApiState>,
    info: &Arc<ResourceInfo>,
    namespace: Option<&str>,
    name: Option<&str>,
    query: &Query,
    view: super::View,
    protobuf: bool,
) -> Result<Response, ApiError> {
    let registry = &state.registry;
    let strategy = registry.strategy(info);
    let prefix = info.list_prefix(namespace);
    let filter = Filter::from_query(prefix.clone(), query, strategy, name)?;
    let rv = parse_resource_version(query)?;
    let rv_match = parse_match(query)?;
    let send_initial = query.flag("sendInitialEvents");
    let bookmarks = query.flag("allowWatchBookmarks");
    let timeout = query
        .i64("timeoutSeconds")?
        .filter(|t| *t > 0)
        .map(|t| Duration::from_secs(t as u64))
        .unwrap_or(DEFAULT_TIMEOUT);
    if send_initial && rv_match != Some(Match::NotOlderThan) {
        return Err(ApiError::bad_request(
            "sendInitialEvents is forbidden for watch unless resourceVersionMatch is set to NotOlderThan",
        ));
    }
    if !send_initial && rv_match.is_some() {
        return Err(ApiError::bad_request(
            "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
        ));
    }
    let cache = registry
        .caches
        .cache_for(&prefix)
        .ok_or_else(|| ApiError::internal(format!("no watch cache for {prefix}")))?;

    // Which revision the stream must start after, and whether it starts with the state.
    let from = match (send_initial, rv) {
        (true, _) | (false, None) | (false, Some(0)) => None,
        (false, Some(n)) => Some(n),
    };
    let wait_for = match (send_initial, rv) {
        (_, Some(n)) if n > 0 => Some(n),
        (_, None) => registry.storage.current_revision().await.ok(),
        _ => None,
    };
    if let Some(r) = wait_for {
        // A watch from a revision the cache has not seen yet waits for it (bounded).
        let _ = registry.caches.wait_for_revision(r, CACHE_WAIT).await;
    }

    let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(64);
    let start = match cache.start_watch(from) {
        Ok(s) => s,
        Err(CacheError::TooOld { requested, oldest }) => {
            let status =
                ApiError::expired(format!("too old resource version: {requested} ({oldest})"))
                    .to_status();
            let line = if protobuf {
                super::protowatch::event("ERROR", &status)
            } else {
                event_line(
                    "ERROR",
                    &Bytes::from(serde_json::to_vec(&status).unwrap_or_default()),
                )
            };
            let _ = tx.send(Ok(line)).await;
            drop(tx);
            return Ok(stream_response(rx, protobuf));
        }
        Err(e) => return Err(ApiError::internal(e.to_string())),
    };

    let state = state.clone();
    let info = info.clone();
    tokio::spawn(async move {
        let gauge = state
            .metrics
            .watches
            .get_or_create(&crate::metrics::ResourceLabels {
                resource: info.plural.clone(),
            })
            .clone();
        gauge.inc();
        let w = Watcher {
            state,
            info,
            filter,
            tx,
            view,
            headers_sent: std::sync::atomic::AtomicBool::new(false),
            protobuf,
        };
        w.run(start, send_initial, bookmarks, timeout).await;
        gauge.dec();
    });
    Ok(stream_response(rx, protobuf))
}

fn stream_response(rx: mpsc::Receiver<Result<Bytes, Infallible>>, protobuf: bool) -> Response {
    let mut resp = Response::new(Body::from_stream(ReceiverStream::new(rx)));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(if protobuf {
            super::protowatch::CONTENT_TYPE
        } else {
            "application/json"
        }),
    );
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    resp
}

fn event_line(event_type: &str, object: &Bytes) -> Bytes {
    let mut out = BytesMut::with_capacity(object.len() + 32);
    out.put_slice(b"{\"type\":\"");
    out.put_slice(event_type.as_bytes());
    out.put_slice(b"\",\"object\":");
    out.put_slice(object);
    out.put_slice(b"}\n");
    out.freeze()
}

struct Watcher {
    state: Arc<ApiState>,
    info: Arc<ResourceInfo>,
    filter: Filter,
    tx: mpsc::Sender<Result<Bytes, Infallible>>,
    view: super::View,
    /// A Table watch sends column definitions with its first event only.
    headers_sent: std::sync::atomic::AtomicBool,
    /// Protobuf frames instead of JSON lines.
    protobuf: bool,
}

impl Watcher {
    async fn send(&self, line: Bytes) -> bool {
        self.tx.send(Ok(line)).await.is_ok()
    }

    /// One event about `obj`: a JSON line, or a protobuf frame.
    fn event(&self, event_type: &str, obj: &CachedObject) -> Bytes {
        if self.protobuf {
            let v = self
                .state
                .registry
                .to_external(&self.info, obj.object.clone());
            return super::protowatch::event(event_type, &v);
        }
        event_line(event_type, &self.object_bytes(obj))
    }

    /// The object's bytes as this watch's group-version shows them.
    fn object_bytes(&self, obj: &CachedObject) -> Bytes {
        if !self.view.is_object() {
            let v = self
                .state
                .registry
                .to_external(&self.info, obj.object.clone());
            let first = !self
                .headers_sent
                .swap(true, std::sync::atomic::Ordering::Relaxed);
            let shown = self.view.one(&self.info, &v, first);
            return Bytes::from(serde_json::to_vec(&shown).unwrap_or_default());
        }
        if self.info.group == "events.k8s.io"
            || self.state.registry.crds.needs_conversion(&self.info)
        {
            let v = self
                .state
                .registry
                .to_external(&self.info, obj.object.clone());
            Bytes::from(serde_json::to_vec(&v).unwrap_or_default())
        } else {
            obj.json.clone()
        }
    }

    fn bookmark(&self, revision: i64, initial_end: bool) -> Bytes {
        let mut metadata = json!({
            "resourceVersion": revision.to_string(),
            "creationTimestamp": null,
        });
        if initial_end {
            metadata["annotations"] = json!({ "k8s.io/initial-events-end": "true" });
        }
        let obj = json!({
            "kind": self.info.kind,
            "apiVersion": self.info.api_version(),
            "metadata": metadata,
        });
        if self.protobuf {
            return super::protowatch::event("BOOKMARK", &obj);
        }
        event_line(
            "BOOKMARK",
            &Bytes::from(serde_json::to_vec(&obj).unwrap_or_default()),
        )
    }

    /// The line to send for a cache event, if this watcher sees it.
    fn line_for(&self, ev: &CacheEvent) -> Option<Bytes> {
        if !self.filter.matches_key(&ev.object.key) {
            return None;
        }
        let cur = self.filter.matches(&ev.object.object);
        match ev.event_type {
            EventType::Added => cur.then(|| self.event("ADDED", &ev.object)),
            EventType::Deleted => cur.then(|| self.event("DELETED", &ev.object)),
            EventType::Modified => {
                let prev = ev
                    .prev
                    .as_ref()
                    .is_some_and(|p| self.filter.matches(&p.object));
                match (cur, prev) {
                    (true, true) => Some(self.event("MODIFIED", &ev.object)),
                    (true, false) => Some(self.event("ADDED", &ev.object)),
                    (false, true) => {
                        // Leaving the selection: the previous state at the new revision.
                        let prev = ev.prev.as_ref()?;
                        let mut obj: Value = prev.object.clone();
                        crate::watchcache::set_resource_version(&mut obj, ev.revision);
                        let obj = CachedObject::from_object(&prev.key, obj, ev.revision).ok()?;
                        Some(self.event("DELETED", &obj))
                    }
                    (false, false) => None,
                }
            }
        }
    }

    async fn run(
        self,
        start: crate::watchcache::WatchStart,
        send_initial: bool,
        bookmarks: bool,
        timeout: Duration,
    ) {
        let deadline = tokio::time::Instant::now() + timeout;
        for obj in &start.initial_objects {
            if self.filter.matches_key(&obj.key)
                && self.filter.matches(&obj.object)
                && !self.send(self.event("ADDED", obj)).await
            {
                return;
            }
        }
        for ev in &start.initial {
            if let Some(line) = self.line_for(ev)
                && !self.send(line).await
            {
                return;
            }
        }
        if send_initial && !self.send(self.bookmark(start.revision, true)).await {
            return;
        }
        let mut live = start.live;
        let mut tick = tokio::time::interval(BOOKMARK_INTERVAL);
        tick.tick().await;
        loop {
            tokio::select! {
                ev = live.recv() => match ev {
                    // The channel was subscribed under the same lock as the replayed
                    // history was read, so it holds exactly the later events.
                    Ok(ev) => {
                        if let Some(line) = self.line_for(&ev)
                            && !self.send(line).await {
                                return;
                            }
                    }
                    // Too slow to keep up: end the stream; the client re-watches from the
                    // last revision it saw, which the history still has.
                    Err(broadcast::error::RecvError::Lagged(_)) | Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = tick.tick(), if bookmarks => {
                    let rev = self.state.registry.caches.revision();
                    if !self.send(self.bookmark(rev, false)).await {
                        return;
                    }
                }
                _ = tokio::time::sleep_until(deadline) => return,
                _ = self.tx.closed() => return,
            }
        }
    }
}
