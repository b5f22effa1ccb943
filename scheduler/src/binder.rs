//! Writes that follow a scheduling decision, each in its own task so the scheduling loop
//! never waits on the API: POST pods/<name>/binding (bounded concurrency), and the
//! PodScheduled=False condition of pods that did not fit. Outcomes go back to the loop.

use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::Instant;

use k8s_openapi::api::core::v1::{Binding, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use tokio::sync::Semaphore;

use crate::events::Recorder;
use crate::metrics::Metrics;
use crate::scheduler::Msg;
use crate::types::PodInfo;

#[derive(Clone)]
pub struct Binder {
    client: kube::Client,
    runtime: tokio::runtime::Handle,
    permits: Arc<Semaphore>,
    events: Recorder,
    metrics: Metrics,
    tx: Sender<Msg>,
}

impl Binder {
    pub fn new(
        client: kube::Client,
        runtime: tokio::runtime::Handle,
        concurrency: usize,
        events: Recorder,
        metrics: Metrics,
        tx: Sender<Msg>,
    ) -> Binder {
        Binder {
            client,
            runtime,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            events,
            metrics,
            tx,
        }
    }

    /// Binds the (already assumed) pod to `node` in the background.
    pub fn bind(&self, pod: Arc<PodInfo>, node: String, first_seen: Instant) {
        let this = self.clone();
        self.runtime.spawn(async move {
            let Ok(_permit) = this.permits.acquire().await else {
                return;
            };
            let api: Api<Pod> = Api::namespaced(this.client.clone(), &pod.namespace);
            let binding = Binding {
                metadata: ObjectMeta {
                    name: Some(pod.name.clone()),
                    namespace: Some(pod.namespace.clone()),
                    uid: Some(pod.uid.clone()),
                    ..ObjectMeta::default()
                },
                target: ObjectReference {
                    api_version: Some("v1".into()),
                    kind: Some("Node".into()),
                    name: Some(node.clone()),
                    ..ObjectReference::default()
                },
            };
            let result = api
                .create_subresource::<_, serde::de::IgnoredAny>(
                    "binding",
                    &pod.name,
                    &PostParams::default(),
                    &binding,
                )
                .await;
            match result {
                Ok(_) => {
                    this.metrics.attempt("scheduled");
                    this.metrics
                        .e2e_duration
                        .observe(first_seen.elapsed().as_secs_f64());
                    this.events.pod_event(
                        &pod,
                        "Normal",
                        "Scheduled",
                        "Binding",
                        format!(
                            "Successfully assigned {}/{} to {node}",
                            pod.namespace, pod.name
                        ),
                    );
                }
                Err(e) => {
                    tracing::info!(pod = %pod.key(), node = %node, error = %e, "binding rejected");
                    this.metrics.attempt("error");
                    this.events.pod_event(
                        &pod,
                        "Warning",
                        "FailedScheduling",
                        "Scheduling",
                        format!("Binding rejected: {e}"),
                    );
                    let _ = this.tx.send(Msg::BindFailed(pod));
                }
            }
        });
    }

    /// Sets PodScheduled=False, reason Unschedulable, with the message (a strategic merge
    /// patch of pods/status: conditions merge by type).
    pub fn mark_unschedulable(&self, pod: Arc<PodInfo>, message: String) {
        let this = self.clone();
        self.runtime.spawn(async move {
            let api: Api<Pod> = Api::namespaced(this.client.clone(), &pod.namespace);
            let mut condition = serde_json::json!({
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": message,
                "lastProbeTime": null,
            });
            // The transition time moves only when the status does.
            let transition = pod
                .scheduled_condition
                .as_ref()
                .is_none_or(|c| c.status != "False");
            if transition && let Some(c) = condition.as_object_mut() {
                let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                c.insert("lastTransitionTime".into(), now.into());
            }
            let patch = serde_json::json!({ "status": { "conditions": [condition] } });
            let result = api
                .patch_status(&pod.name, &PatchParams::default(), &Patch::Strategic(patch))
                .await;
            if let Err(e) = result {
                tracing::debug!(pod = %pod.key(), error = %e, "writing PodScheduled=False");
            }
            let _ = this.tx.send(Msg::StatusWritten(pod.uid.clone()));
        });
    }
}
