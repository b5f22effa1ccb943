//! core/v1 Events about pods, as upstream's kubelet records them (reasons Created, Started,
//! Killing, BackOff, Unhealthy, Failed, FailedMount, FailedCreatePodSandBox), with
//! source.component=kubelet and source.host=<node>.
//!
//! Like client-go's event correlator, an event identical to one already sent (same object,
//! container, type, reason and message) is not created again: the existing Event's count is
//! raised and its lastTimestamp moved, so a crash loop updates one object instead of filling
//! etcd; and, also like it, a token bucket per object and reason (25 at once, then one per
//! five minutes) drops the rest, so a probe failing every second costs no write per second
//! forever. Sending happens on a background task behind a bounded queue; when the API is slow
//! and the queue is full, events are dropped (as upstream's broadcaster does), never the pod
//! worker blocked.

use std::collections::HashMap;

use chrono::Utc;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, Patch, PatchParams, PostParams};
use tokio::sync::mpsc;

/// Events waiting to be sent before new ones are dropped.
const QUEUE: usize = 1024;
/// Events remembered for counting repeats (upstream's correlator keeps an LRU of 4096).
const CACHE: usize = 4096;
/// Spam filter, as client-go's: each object and reason may send this many events at once...
const SPAM_BURST: f64 = 25.0;
/// ...and then one more per this many seconds.
const SPAM_REFILL_SECS: f64 = 300.0;

pub const NORMAL: &str = "Normal";
pub const WARNING: &str = "Warning";

/// What an event is about: a pod, or one container of it (fieldPath
/// `spec.containers{name}`, as upstream).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectRef {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub resource_version: String,
    pub field_path: Option<String>,
}

impl ObjectRef {
    pub fn pod(pod: &Pod) -> ObjectRef {
        ObjectRef {
            namespace: pod
                .metadata
                .namespace
                .clone()
                .unwrap_or_else(|| "default".into()),
            name: pod.metadata.name.clone().unwrap_or_default(),
            uid: pod.metadata.uid.clone().unwrap_or_default(),
            resource_version: pod.metadata.resource_version.clone().unwrap_or_default(),
            field_path: None,
        }
    }

    /// The same pod, narrowed to one of its containers.
    pub fn container(&self, name: &str, init: bool) -> ObjectRef {
        let list = if init { "initContainers" } else { "containers" };
        ObjectRef {
            field_path: Some(format!("spec.{list}{{{name}}}")),
            ..self.clone()
        }
    }
}

struct Request {
    object: ObjectRef,
    type_: &'static str,
    reason: &'static str,
    message: String,
}

/// Records events; cheap to clone. A disabled recorder (simulated nodes, where thousands of
/// pods start at once and nothing really happens) drops everything.
#[derive(Clone)]
pub struct Recorder {
    tx: Option<mpsc::Sender<Request>>,
}

impl Recorder {
    /// A recorder sending as the kubelet of `host`. Needs a tokio runtime; without one it is
    /// disabled.
    pub fn new(client: kube::Client, host: &str) -> Recorder {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return Recorder::disabled();
        };
        let (tx, rx) = mpsc::channel(QUEUE);
        handle.spawn(send_loop(client, host.to_string(), rx));
        Recorder { tx: Some(tx) }
    }

    pub fn disabled() -> Recorder {
        Recorder { tx: None }
    }

    pub fn normal(&self, object: &ObjectRef, reason: &'static str, message: impl Into<String>) {
        self.record(object, NORMAL, reason, message.into());
    }

    pub fn warning(&self, object: &ObjectRef, reason: &'static str, message: impl Into<String>) {
        self.record(object, WARNING, reason, message.into());
    }

    fn record(
        &self,
        object: &ObjectRef,
        type_: &'static str,
        reason: &'static str,
        message: String,
    ) {
        let Some(tx) = &self.tx else { return };
        if object.name.is_empty() {
            return;
        }
        let request = Request {
            object: object.clone(),
            type_,
            reason,
            message: truncate(message),
        };
        if tx.try_send(request).is_err() {
            tracing::debug!(reason, "event queue full, dropping event");
        }
    }
}

/// Upstream caps event messages at 1 KiB.
fn truncate(mut message: String) -> String {
    const MAX: usize = 1024;
    if message.len() > MAX {
        let mut cut = MAX;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
    }
    message
}

/// Identity of an event for counting repeats.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    uid: String,
    field_path: Option<String>,
    type_: &'static str,
    reason: &'static str,
    message: String,
}

struct Sent {
    namespace: String,
    name: String,
    count: i32,
}

/// Token buckets of the spam filter.
#[derive(Default)]
struct SpamFilter {
    buckets: HashMap<(String, Option<String>, &'static str), (f64, std::time::Instant)>,
}

impl SpamFilter {
    /// True if the event may be sent (and takes a token).
    fn allow(&mut self, r: &Request, now: std::time::Instant) -> bool {
        if self.buckets.len() >= CACHE {
            self.buckets.clear();
        }
        let key = (r.object.uid.clone(), r.object.field_path.clone(), r.reason);
        let (tokens, last) = self.buckets.entry(key).or_insert((SPAM_BURST, now));
        let refill = now.duration_since(*last).as_secs_f64() / SPAM_REFILL_SECS;
        *tokens = (*tokens + refill).min(SPAM_BURST);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

async fn send_loop(client: kube::Client, host: String, mut rx: mpsc::Receiver<Request>) {
    let mut sent: HashMap<Key, Sent> = HashMap::new();
    let mut spam = SpamFilter::default();
    while let Some(r) = rx.recv().await {
        if !spam.allow(&r, std::time::Instant::now()) {
            continue;
        }
        let key = Key {
            uid: r.object.uid.clone(),
            field_path: r.object.field_path.clone(),
            type_: r.type_,
            reason: r.reason,
            message: r.message.clone(),
        };
        let api: Api<Event> = Api::namespaced(client.clone(), &r.object.namespace);
        let now = Utc::now();
        if let Some(prev) = sent.get_mut(&key) {
            let count = prev.count.saturating_add(1);
            let patch = serde_json::json!({
                "count": count,
                "lastTimestamp": crate::status::now(),
            });
            match api
                .patch(&prev.name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => {
                    prev.count = count;
                    continue;
                }
                Err(kube::Error::Api(e)) if e.code == 404 => {
                    // The Event expired (events have a TTL) or was deleted: start over.
                    sent.remove(&key);
                }
                Err(e) => {
                    tracing::debug!(event = %prev.name, namespace = %prev.namespace, "updating event: {e}");
                    continue;
                }
            }
        }
        let event = new_event(&r, &host, now);
        match api.create(&PostParams::default(), &event).await {
            Ok(created) => {
                if sent.len() >= CACHE {
                    sent.clear();
                }
                sent.insert(
                    key,
                    Sent {
                        namespace: r.object.namespace.clone(),
                        name: created.metadata.name.unwrap_or_default(),
                        count: 1,
                    },
                );
            }
            Err(e) => tracing::debug!(reason = r.reason, "creating event: {e}"),
        }
    }
}

fn new_event(r: &Request, host: &str, now: chrono::DateTime<Utc>) -> Event {
    let nanos = now.timestamp_nanos_opt().unwrap_or_default();
    Event {
        metadata: ObjectMeta {
            // Upstream's naming: <object name>.<unix nanos in hex>.
            name: Some(format!("{}.{nanos:x}", r.object.name)),
            namespace: Some(r.object.namespace.clone()),
            ..Default::default()
        },
        involved_object: ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Pod".into()),
            namespace: Some(r.object.namespace.clone()),
            name: Some(r.object.name.clone()),
            uid: Some(r.object.uid.clone()).filter(|u| !u.is_empty()),
            resource_version: Some(r.object.resource_version.clone()).filter(|v| !v.is_empty()),
            field_path: r.object.field_path.clone(),
        },
        reason: Some(r.reason.to_string()),
        message: Some(r.message.clone()),
        source: Some(EventSource {
            component: Some("kubelet".into()),
            host: Some(host.to_string()),
        }),
        first_timestamp: Some(crate::status::now()),
        last_timestamp: Some(crate::status::now()),
        event_time: None::<MicroTime>,
        count: Some(1),
        type_: Some(r.type_.to_string()),
        reporting_component: Some("kubelet".into()),
        reporting_instance: Some(host.to_string()),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_refs_use_upstream_field_paths() {
        let pod = ObjectRef {
            namespace: "ns".into(),
            name: "p".into(),
            uid: "u".into(),
            resource_version: "1".into(),
            field_path: None,
        };
        assert_eq!(
            pod.container("web", false).field_path.as_deref(),
            Some("spec.containers{web}")
        );
        assert_eq!(
            pod.container("setup", true).field_path.as_deref(),
            Some("spec.initContainers{setup}")
        );
    }

    #[test]
    fn spam_filter_allows_a_burst_then_one_per_refill() {
        let r = |reason| Request {
            object: ObjectRef {
                namespace: "ns".into(),
                name: "p".into(),
                uid: "u".into(),
                resource_version: String::new(),
                field_path: None,
            },
            type_: WARNING,
            reason,
            message: String::new(),
        };
        let mut f = SpamFilter::default();
        let t0 = std::time::Instant::now();
        let allowed = (0..40).filter(|_| f.allow(&r("Unhealthy"), t0)).count();
        assert_eq!(allowed, 25);
        // Another reason has its own bucket.
        assert!(f.allow(&r("BackOff"), t0));
        let later = t0 + std::time::Duration::from_secs(301);
        assert!(f.allow(&r("Unhealthy"), later));
        assert!(!f.allow(&r("Unhealthy"), later));
    }

    #[test]
    fn events_carry_source_and_count() {
        let r = Request {
            object: ObjectRef {
                namespace: "ns".into(),
                name: "p".into(),
                uid: "u".into(),
                resource_version: String::new(),
                field_path: Some("spec.containers{c}".into()),
            },
            type_: WARNING,
            reason: "BackOff",
            message: "Back-off restarting failed container c in pod p_ns(u)".into(),
        };
        let e = new_event(&r, "node-1", Utc::now());
        let source = e.source.unwrap_or_default();
        assert_eq!(source.component.as_deref(), Some("kubelet"));
        assert_eq!(source.host.as_deref(), Some("node-1"));
        assert_eq!(e.count, Some(1));
        assert_eq!(e.type_.as_deref(), Some("Warning"));
        assert!(e.metadata.name.unwrap_or_default().starts_with("p."));
        assert_eq!(e.involved_object.resource_version, None);
        assert_eq!(truncate("x".repeat(2000)).len(), 1024);
    }
}
