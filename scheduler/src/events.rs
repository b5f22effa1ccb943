//! Events about pods (`Scheduled`, `FailedScheduling`) as events.k8s.io/v1 Events, which
//! `kubectl describe pod` shows. As client-go's recorder, sending is asynchronous through a
//! bounded queue and an event that does not fit is dropped (and counted) rather than slowing
//! scheduling.

use futures::StreamExt;
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::PostParams;
use tokio::sync::mpsc;

use crate::metrics::Metrics;
use crate::types::PodInfo;

/// Upstream's event queue length.
const QUEUE: usize = 1000;
/// Events written at once.
const CONCURRENCY: usize = 8;

#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Event>,
    controller: String,
    instance: String,
    metrics: Metrics,
}

impl Recorder {
    /// Starts the sender task; it ends when every Recorder clone is dropped.
    pub fn start(
        client: kube::Client,
        controller: String,
        instance: String,
        metrics: Metrics,
    ) -> Recorder {
        let (tx, mut rx) = mpsc::channel::<Event>(QUEUE);
        tokio::spawn(async move {
            let events = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
            events
                .for_each_concurrent(CONCURRENCY, |ev| {
                    let client = client.clone();
                    async move {
                        let ns = ev.metadata.namespace.clone().unwrap_or_default();
                        let api: Api<Event> = Api::namespaced(client, &ns);
                        if let Err(e) = api.create(&PostParams::default(), &ev).await {
                            tracing::debug!(error = %e, reason = ?ev.reason, "writing event");
                        }
                    }
                })
                .await;
        });
        Recorder {
            tx,
            controller,
            instance,
            metrics,
        }
    }

    /// Queues an event about `pod`; `type_` is Normal or Warning.
    pub fn pod_event(&self, pod: &PodInfo, type_: &str, reason: &str, action: &str, note: String) {
        let now = Timestamp::now();
        let ev = Event {
            metadata: ObjectMeta {
                // Upstream's naming: the object's name and the time in hex nanoseconds.
                name: Some(format!("{}.{:x}", pod.name, now.as_nanosecond())),
                namespace: Some(pod.namespace.clone()),
                ..ObjectMeta::default()
            },
            event_time: Some(MicroTime(now)),
            reporting_controller: Some(self.controller.clone()),
            reporting_instance: Some(self.instance.clone()),
            action: Some(action.to_string()),
            reason: Some(reason.to_string()),
            type_: Some(type_.to_string()),
            note: Some(note),
            regarding: Some(ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                namespace: Some(pod.namespace.clone()),
                name: Some(pod.name.clone()),
                uid: Some(pod.uid.clone()),
                resource_version: Some(pod.resource_version.clone()),
                field_path: None,
            }),
            ..Event::default()
        };
        if self.tx.try_send(ev).is_err() {
            self.metrics.events_dropped.inc();
        }
    }
}
