//! Watches of nodes and pods (kube-runtime's watcher: list, then watch, relisting with
//! back-off when the watch breaks) turned into messages for the scheduling loop. Objects are
//! reduced to what scheduling reads right here, off the loop's thread.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::mpsc::Sender;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use tokio_util::sync::CancellationToken;

use crate::scheduler::Msg;
use crate::types::{NodeSpec, PodInfo};

/// Feeds node events to the loop until shutdown (or the loop is gone).
pub async fn watch_nodes(client: kube::Client, tx: Sender<Msg>, shutdown: CancellationToken) {
    let api: Api<Node> = Api::all(client);
    let stream = watcher::watcher(api, watcher::Config::default()).default_backoff();
    futures::pin_mut!(stream);
    let mut listed: HashSet<String> = HashSet::new();
    loop {
        let event = tokio::select! {
            _ = shutdown.cancelled() => return,
            e = stream.next() => e,
        };
        let msg = match event {
            None => return,
            Some(Err(e)) => {
                tracing::warn!(error = %e, "watching nodes");
                continue;
            }
            Some(Ok(Event::Init)) => {
                listed.clear();
                continue;
            }
            Some(Ok(Event::InitApply(node))) => {
                let spec = NodeSpec::from_node(node);
                listed.insert(spec.name.clone());
                Msg::NodeApply(spec)
            }
            Some(Ok(Event::InitDone)) => Msg::NodesListed(std::mem::take(&mut listed)),
            Some(Ok(Event::Apply(node))) => Msg::NodeApply(NodeSpec::from_node(node)),
            Some(Ok(Event::Delete(node))) => {
                Msg::NodeDelete(node.metadata.name.unwrap_or_default())
            }
        };
        if tx.send(msg).is_err() {
            return;
        }
    }
}

/// Feeds pod events to the loop until shutdown (or the loop is gone).
pub async fn watch_pods(client: kube::Client, tx: Sender<Msg>, shutdown: CancellationToken) {
    let api: Api<Pod> = Api::all(client);
    let stream = watcher::watcher(api, watcher::Config::default()).default_backoff();
    futures::pin_mut!(stream);
    let mut listed: HashSet<String> = HashSet::new();
    loop {
        let event = tokio::select! {
            _ = shutdown.cancelled() => return,
            e = stream.next() => e,
        };
        let msg = match event {
            None => return,
            Some(Err(e)) => {
                tracing::warn!(error = %e, "watching pods");
                continue;
            }
            Some(Ok(Event::Init)) => {
                listed.clear();
                continue;
            }
            Some(Ok(Event::InitApply(pod))) => {
                let info = PodInfo::from_pod(pod);
                listed.insert(info.uid.clone());
                Msg::PodApply(Arc::new(info))
            }
            Some(Ok(Event::InitDone)) => Msg::PodsListed(std::mem::take(&mut listed)),
            Some(Ok(Event::Apply(pod))) => Msg::PodApply(Arc::new(PodInfo::from_pod(pod))),
            Some(Ok(Event::Delete(pod))) => Msg::PodDelete(pod.metadata.uid.unwrap_or_default()),
        };
        if tx.send(msg).is_err() {
            return;
        }
    }
}
