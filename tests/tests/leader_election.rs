//! Leader election on a Lease against a real API server on etcd: one of two candidates
//! leads, the standby takes over when the leader shuts down (released Lease) and when it
//! dies without a word (expired Lease).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use component_base::leaderelection::{LeaderElectionConfig, run_leader_elected};
use e2e::apiserver::ApiServer;
use e2e::etcd::Etcd;
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use tokio_util::sync::CancellationToken;

fn config(identity: &str) -> LeaderElectionConfig {
    LeaderElectionConfig {
        lease_duration: Duration::from_secs(3),
        renew_deadline: Duration::from_secs(2),
        retry_period: Duration::from_millis(500),
        ..LeaderElectionConfig::new("test-component", identity.to_string())
    }
}

/// Starts a candidate whose work counts how many candidates lead at once and records the
/// highest count seen.
fn candidate(
    client: kube::Client,
    identity: &str,
    leaders: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
) -> (CancellationToken, tokio::task::JoinHandle<bool>) {
    let shutdown = CancellationToken::new();
    let token = shutdown.clone();
    let cfg = config(identity);
    let handle = tokio::spawn(async move {
        let result = run_leader_elected(client, cfg, token, |leading| async move {
            let now = leaders.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            leading.cancelled().await;
            leaders.fetch_sub(1, Ordering::SeqCst);
        })
        .await;
        matches!(result, Ok(Some(())))
    });
    (shutdown, handle)
}

async fn holder(client: &kube::Client) -> Option<String> {
    let lease = Api::<Lease>::namespaced(client.clone(), "kube-system")
        .get_opt("test-component")
        .await
        .unwrap()?;
    lease.spec?.holder_identity
}

async fn wait_for_holder(client: &kube::Client, want: &str, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if holder(client).await.as_deref() == Some(want) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{want} did not take the lease within {within:?}; holder {:?}",
            holder(client).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standby_takes_over_after_release_and_after_expiry() {
    tokio::time::timeout(Duration::from_secs(90), async {
        let etcd = Etcd::start().await.unwrap();
        let server = ApiServer::start_etcd(&etcd).await.unwrap();
        let client = server.client().await.unwrap();
        let leaders = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));

        let (stop_a, a) = candidate(client.clone(), "a", leaders.clone(), most.clone());
        wait_for_holder(&client, "a", Duration::from_secs(10)).await;
        let (stop_b, b) = candidate(client.clone(), "b", leaders.clone(), most.clone());
        // b must stay a standby while a renews, for longer than a lease duration.
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert_eq!(holder(&client).await.as_deref(), Some("a"));
        assert_eq!(leaders.load(Ordering::SeqCst), 1);

        // A clean shutdown releases the Lease: b leads well before a lease duration passes.
        let released = tokio::time::Instant::now();
        stop_a.cancel();
        assert!(a.await.unwrap(), "a's work should finish cleanly");
        wait_for_holder(&client, "b", Duration::from_secs(10)).await;
        assert!(
            released.elapsed() < Duration::from_secs(3),
            "took {:?}",
            released.elapsed()
        );

        // A leader that dies without releasing: c takes over once the lease expires.
        b.abort();
        // The aborted work never ran its own decrement.
        leaders.fetch_sub(1, Ordering::SeqCst);
        let died = tokio::time::Instant::now();
        let (stop_c, c) = candidate(client.clone(), "c", leaders.clone(), most.clone());
        wait_for_holder(&client, "c", Duration::from_secs(15)).await;
        assert!(
            died.elapsed() >= Duration::from_secs(2),
            "c took a live lease after {:?}",
            died.elapsed()
        );
        drop(stop_b);
        stop_c.cancel();
        assert!(c.await.unwrap());
        // a, b and c each led alone: never two at once.
        assert_eq!(most.load(Ordering::SeqCst), 1);

        let lease = Api::<Lease>::namespaced(client.clone(), "kube-system")
            .get("test-component")
            .await
            .unwrap();
        assert_eq!(lease.spec.unwrap().lease_transitions, Some(2));
    })
    .await
    .expect("test timed out");
}
