//! The serviceaccount controller: every active namespace has a ServiceAccount named `default`
//! (recreated when deleted), as upstream's ServiceAccountsController ensures. Pods that name no
//! service account run as `default`, so a namespace without it cannot run pods.

use std::sync::Arc;

use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Api;
use kube::api::PostParams;

use crate::framework::{Action, Informer, Notification, WorkQueue, key_of, run_workers};
use crate::{Context, Error};

/// The controller's name (`--controllers`), metrics label and queue name.
pub const NAME: &str = "serviceaccount";
/// The ServiceAccount every namespace gets.
pub const DEFAULT_SERVICE_ACCOUNT: &str = "default";

pub fn start(ctx: Context) -> BoxFuture<'static, Result<(), Error>> {
    Box::pin(run(ctx))
}

/// Runs the controller until `ctx.shutdown`.
pub async fn run(ctx: Context) -> Result<(), Error> {
    let namespaces = ctx.informers.get::<Namespace>();
    let accounts = ctx.informers.get::<ServiceAccount>();
    let queue = WorkQueue::new(NAME, ctx.metrics.clone(), ctx.shutdown.clone());
    {
        let q = queue.clone();
        namespaces.add_handler(move |n| match n {
            Notification::Added(ns) | Notification::Updated { new: ns, .. } => {
                q.add(key_of(ns.as_ref()))
            }
            Notification::Deleted(_) => {}
        });
    }
    {
        let q = queue.clone();
        accounts.add_handler(move |n| {
            // Only a deleted `default` needs action: it is recreated.
            if let Notification::Deleted(sa) = n
                && sa.metadata.name.as_deref() == Some(DEFAULT_SERVICE_ACCOUNT)
                && let Some(ns) = &sa.metadata.namespace
            {
                q.add(ns.clone());
            }
        });
    }
    if !namespaces.wait_synced(&ctx.shutdown).await || !accounts.wait_synced(&ctx.shutdown).await {
        return Ok(());
    }
    let client = ctx.client.clone();
    run_workers(
        NAME,
        queue,
        ctx.options.concurrent_serviceaccount_syncs,
        None,
        ctx.metrics.clone(),
        ctx.shutdown.clone(),
        move |key| {
            let (client, namespaces, accounts) =
                (client.clone(), namespaces.clone(), accounts.clone());
            async move { reconcile(&client, &namespaces, &accounts, &key).await }
        },
    )
    .await;
    Ok(())
}

async fn reconcile(
    client: &kube::Client,
    namespaces: &Arc<Informer<Namespace>>,
    accounts: &Arc<Informer<ServiceAccount>>,
    namespace: &str,
) -> Result<Action, kube::Error> {
    let Some(ns) = namespaces.get(namespace) else {
        return Ok(Action::Done);
    };
    // Nothing new may be created in a terminating namespace.
    if ns.metadata.deletion_timestamp.is_some() {
        return Ok(Action::Done);
    }
    if accounts
        .get_namespaced(namespace, DEFAULT_SERVICE_ACCOUNT)
        .is_some()
    {
        return Ok(Action::Done);
    }
    let sa = ServiceAccount {
        metadata: ObjectMeta {
            name: Some(DEFAULT_SERVICE_ACCOUNT.to_string()),
            namespace: Some(namespace.to_string()),
            ..Default::default()
        },
        ..Default::default()
    };
    match Api::<ServiceAccount>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &sa)
        .await
    {
        Ok(_) => {
            tracing::info!(namespace, "created the default ServiceAccount");
            Ok(Action::Done)
        }
        // The cache lagged behind a creation, or the namespace started terminating.
        Err(kube::Error::Api(s)) if s.code == 409 || is_terminating(&s) => Ok(Action::Done),
        Err(e) => Err(e),
    }
}

/// Whether the API server refused a create because the namespace is being deleted (or was).
pub(crate) fn is_terminating(status: &kube::core::Status) -> bool {
    (status.code == 403 && status.reason == "Forbidden" && status.message.contains("terminated"))
        || status.code == 404
}
