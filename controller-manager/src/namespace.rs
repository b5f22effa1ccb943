//! The namespace controller: a namespace marked for deletion is drained, as upstream's
//! NamespaceController does. Every namespaced resource the API server serves (found through
//! discovery, so new kinds are covered too) is deleted collection by collection, the
//! controller waits until nothing is left (objects with finalizers or grace periods take
//! time), then removes the `kubernetes` finalizer through `namespaces/{name}/finalize`, which
//! lets the API server delete the namespace itself.

use std::time::Duration;

use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{ApiResource, DeleteParams, DynamicObject, ListParams, PostParams};
use kube::discovery::{ApiCapabilities, Discovery, Scope, verbs};
use kube::{Api, Client};

use crate::framework::{Action, Notification, WorkQueue, key_of, run_workers};
use crate::{Context, Error};

pub const NAME: &str = "namespace";
/// The finalizer the API server puts on every namespace and this controller removes.
pub const FINALIZER: &str = "kubernetes";

pub fn start(ctx: Context) -> BoxFuture<'static, Result<(), Error>> {
    Box::pin(run(ctx))
}

/// Every resource the API server serves, in its preferred version, without subresources.
pub(crate) async fn discover(
    client: &Client,
) -> Result<Vec<(ApiResource, ApiCapabilities)>, kube::Error> {
    let discovery = Discovery::new(client.clone()).run().await?;
    Ok(discovery
        .groups()
        .flat_map(|g| g.recommended_resources())
        .filter(|(ar, _)| !ar.plural.contains('/'))
        .collect())
}

/// Runs the controller until `ctx.shutdown`.
pub async fn run(ctx: Context) -> Result<(), Error> {
    let namespaces = ctx.informers.get::<Namespace>();
    let queue = WorkQueue::new(NAME, ctx.metrics.clone(), ctx.shutdown.clone());
    {
        let q = queue.clone();
        namespaces.add_handler(move |n| match n {
            Notification::Added(ns) | Notification::Updated { new: ns, .. } => {
                if ns.metadata.deletion_timestamp.is_some() {
                    q.add(key_of(ns.as_ref()));
                }
            }
            Notification::Deleted(_) => {}
        });
    }
    if !namespaces.wait_synced(&ctx.shutdown).await {
        return Ok(());
    }
    let client = ctx.client.clone();
    let recheck = ctx.options.namespace_content_recheck_period;
    run_workers(
        NAME,
        queue,
        ctx.options.concurrent_namespace_syncs,
        None,
        ctx.metrics.clone(),
        ctx.shutdown.clone(),
        move |key| {
            let (client, namespaces) = (client.clone(), namespaces.clone());
            async move {
                if namespaces.get(&key).is_none() {
                    return Ok(Action::Done);
                }
                sync(&client, &key, recheck).await
            }
        },
    )
    .await;
    Ok(())
}

#[derive(Debug, thiserror::Error)]
enum SyncError {
    #[error("deleting {resource} in namespace {namespace}: {source}")]
    Delete {
        resource: String,
        namespace: String,
        source: kube::Error,
    },
    #[error(transparent)]
    Kube(#[from] kube::Error),
}

fn code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

async fn sync(client: &Client, name: &str, recheck: Duration) -> Result<Action, SyncError> {
    let api = Api::<Namespace>::all(client.clone());
    // The cache may lag on spec.finalizers; decide on the live object.
    let Some(ns) = api.get_opt(name).await? else {
        return Ok(Action::Done);
    };
    if ns.metadata.deletion_timestamp.is_none() {
        return Ok(Action::Done);
    }
    let finalizers = ns
        .spec
        .as_ref()
        .and_then(|s| s.finalizers.clone())
        .unwrap_or_default();
    if !finalizers.iter().any(|f| f == FINALIZER) {
        return Ok(Action::Done);
    }
    let remaining = delete_all_content(client, name).await?;
    if remaining > 0 {
        tracing::info!(
            namespace = name,
            remaining,
            "namespace content remains; checking again"
        );
        return Ok(Action::RequeueAfter(recheck));
    }
    let mut finalized = ns.clone();
    if let Some(spec) = finalized.spec.as_mut() {
        spec.finalizers = Some(finalizers.into_iter().filter(|f| f != FINALIZER).collect());
    }
    match api
        .replace_subresource("finalize", name, &PostParams::default(), &finalized)
        .await
    {
        Ok(_) => {
            tracing::info!(namespace = name, "namespace content deleted; finalized");
            Ok(Action::Done)
        }
        Err(e) if code(&e) == Some(404) => Ok(Action::Done),
        Err(e) => Err(e.into()),
    }
}

/// Deletes every namespaced object in `namespace`; returns how many are still there.
async fn delete_all_content(client: &Client, namespace: &str) -> Result<usize, SyncError> {
    let mut remaining = 0;
    for (ar, caps) in discover(client).await? {
        if caps.scope != Scope::Namespaced || !caps.supports_operation(verbs::LIST) {
            continue;
        }
        let api = Api::<DynamicObject>::namespaced_with(client.clone(), namespace, &ar);
        let failed = |source| SyncError::Delete {
            resource: ar.plural.clone(),
            namespace: namespace.to_string(),
            source,
        };
        // Background propagation, as upstream: an owner here must not wait for the garbage
        // collector to take its dependents first; they are all in this namespace and go too.
        let dp = DeleteParams::background();
        if caps.supports_operation(verbs::DELETE_COLLECTION) {
            match api.delete_collection(&dp, &ListParams::default()).await {
                Ok(_) => {}
                Err(e) if matches!(code(&e), Some(404 | 405)) => {}
                Err(e) => return Err(failed(e)),
            }
        }
        let left = match api.list_metadata(&ListParams::default()).await {
            Ok(l) => l.items,
            Err(e) if matches!(code(&e), Some(404 | 405)) => continue,
            Err(e) => return Err(failed(e)),
        };
        if !caps.supports_operation(verbs::DELETE_COLLECTION)
            && caps.supports_operation(verbs::DELETE)
        {
            for obj in &left {
                if obj.metadata.deletion_timestamp.is_some() {
                    continue;
                }
                let Some(n) = obj.metadata.name.as_deref() else {
                    continue;
                };
                match api.delete(n, &dp).await {
                    Ok(_) => {}
                    Err(e) if code(&e) == Some(404) => {}
                    Err(e) => return Err(failed(e)),
                }
            }
        }
        if !left.is_empty() {
            tracing::debug!(namespace, resource = %ar.plural, left = left.len(), "objects remain");
        }
        remaining += left.len();
    }
    Ok(remaining)
}
