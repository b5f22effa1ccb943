//! Leader election on a coordination.k8s.io/v1 Lease, with client-go's semantics: a
//! candidate takes the Lease when its holder has not renewed it for a lease duration (timed
//! by this process's own clock from when it last saw the record change, so clock skew
//! between machines does not matter), the leader renews every retry period and gives up
//! when it could not renew within the renew deadline, and a clean shutdown releases the
//! Lease so a standby takes over at once.

use std::future::Future;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::PostParams;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Where the Lease lives, who we are, and the timings (upstream defaults: 15 s lease,
/// 10 s renew deadline, 2 s retry period, Lease in kube-system).
#[derive(Clone, Debug)]
pub struct LeaderElectionConfig {
    pub lease_namespace: String,
    pub lease_name: String,
    pub identity: String,
    pub lease_duration: Duration,
    pub renew_deadline: Duration,
    pub retry_period: Duration,
}

impl LeaderElectionConfig {
    /// Upstream's defaults for a Lease named `lease_name` in kube-system.
    pub fn new(lease_name: &str, identity: String) -> Self {
        LeaderElectionConfig {
            lease_namespace: "kube-system".to_string(),
            lease_name: lease_name.to_string(),
            identity,
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }

    fn validate(&self) -> Result<(), Error> {
        // The same rules as client-go's NewLeaderElector.
        if self.lease_duration <= self.renew_deadline {
            return Err(Error::Config(
                "the lease duration must be greater than the renew deadline".to_string(),
            ));
        }
        if self.renew_deadline <= self.retry_period.mul_f64(1.2) {
            return Err(Error::Config(
                "the renew deadline must be greater than 1.2 times the retry period".to_string(),
            ));
        }
        if self.retry_period.is_zero() {
            return Err(Error::Config(
                "the retry period must be positive".to_string(),
            ));
        }
        if self.identity.is_empty() {
            return Err(Error::Config("the identity must not be empty".to_string()));
        }
        Ok(())
    }
}

/// Upstream's default identity: the host name and a random suffix, so two instances on one
/// machine stay distinct.
pub fn default_identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let host = if host.is_empty() {
        "localhost".to_string()
    } else {
        host
    };
    format!("{host}_{}", uuid::Uuid::new_v4())
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid leader election configuration: {0}")]
    Config(String),
    #[error("leader election lost: Lease {namespace}/{name} was not renewed within {deadline:?}")]
    LostLeadership {
        namespace: String,
        name: String,
        deadline: Duration,
    },
}

/// Waits until this process holds the Lease, then runs `work` while it does. `work` gets a
/// token that is cancelled when leadership is lost or `shutdown` is cancelled; it should
/// stop then. Returns `Ok(None)` when shut down before leading, `Ok(Some(output))` when
/// `work` finished (the Lease is released), and `Err(LostLeadership)` when the Lease could
/// not be renewed in time (the component should exit, as upstream's do).
pub async fn run_leader_elected<F, Fut, T>(
    client: kube::Client,
    config: LeaderElectionConfig,
    shutdown: CancellationToken,
    work: F,
) -> Result<Option<T>, Error>
where
    F: FnOnce(CancellationToken) -> Fut,
    Fut: Future<Output = T>,
{
    config.validate()?;
    let mut elector = Elector {
        api: Api::namespaced(client, &config.lease_namespace),
        config,
        observed: None,
    };

    loop {
        if elector.try_acquire_or_renew().await {
            break;
        }
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(None),
            _ = tokio::time::sleep(jittered(elector.config.retry_period)) => {}
        }
    }
    tracing::info!(
        lease = %format!("{}/{}", elector.config.lease_namespace, elector.config.lease_name),
        identity = %elector.config.identity,
        "successfully acquired lease"
    );

    let leading = shutdown.child_token();
    let work = work(leading.clone());
    tokio::pin!(work);
    let mut last_renewal = Instant::now();
    let mut ticker = tokio::time::interval(elector.config.retry_period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            output = &mut work => {
                elector.release().await;
                return Ok(Some(output));
            }
            _ = ticker.tick() => {
                let remaining = elector.config.renew_deadline.saturating_sub(last_renewal.elapsed());
                let renewed = tokio::time::timeout(remaining, elector.try_acquire_or_renew())
                    .await
                    .unwrap_or(false);
                if renewed {
                    last_renewal = Instant::now();
                } else if last_renewal.elapsed() >= elector.config.renew_deadline {
                    tracing::error!(
                        lease = %format!("{}/{}", elector.config.lease_namespace, elector.config.lease_name),
                        "failed to renew lease within the renew deadline: leadership lost"
                    );
                    leading.cancel();
                    // Give the work a moment to stop what it is doing, but never wait on a
                    // stuck task: another leader may already be acting.
                    let _ = tokio::time::timeout(elector.config.retry_period, &mut work).await;
                    return Err(Error::LostLeadership {
                        namespace: elector.config.lease_namespace.clone(),
                        name: elector.config.lease_name.clone(),
                        deadline: elector.config.renew_deadline,
                    });
                }
            }
        }
    }
}

/// The last Lease record seen and when (on this process's clock) it last changed.
struct Observed {
    holder: String,
    renew_time: Option<MicroTime>,
    transitions: i32,
    duration: Duration,
    at: Instant,
}

struct Elector {
    api: Api<Lease>,
    config: LeaderElectionConfig,
    observed: Option<Observed>,
}

impl Elector {
    /// One attempt to take or keep the Lease; false on any failure (the caller retries).
    async fn try_acquire_or_renew(&mut self) -> bool {
        let name = self.config.lease_name.clone();
        let now = MicroTime(Timestamp::now());
        let existing = match self.api.get_opt(&name).await {
            Ok(existing) => existing,
            Err(e) => {
                tracing::warn!(lease = %name, error = %e, "reading lease");
                return false;
            }
        };
        let Some(mut lease) = existing else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    namespace: Some(self.config.lease_namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.spec_for_us(now.clone(), now, 0)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(created) => {
                    self.observe(&created);
                    true
                }
                Err(e) => {
                    tracing::debug!(lease = %name, error = %e, "creating lease");
                    false
                }
            };
        };

        self.observe(&lease);
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let is_ours = holder == self.config.identity;
        if !holder.is_empty()
            && !is_ours
            && let Some(observed) = &self.observed
            && observed.at.elapsed() < observed.duration
        {
            return false;
        }
        let transitions = spec.lease_transitions.unwrap_or(0);
        lease.spec = Some(if is_ours {
            self.spec_for_us(
                spec.acquire_time.unwrap_or_else(|| now.clone()),
                now,
                transitions,
            )
        } else {
            self.spec_for_us(now.clone(), now, transitions.saturating_add(1))
        });
        // The update carries the resourceVersion just read, so of two candidates racing for
        // an expired Lease only one wins; the other sees 409 Conflict.
        match self
            .api
            .replace(&name, &PostParams::default(), &lease)
            .await
        {
            Ok(updated) => {
                self.observe(&updated);
                true
            }
            Err(e) => {
                tracing::debug!(lease = %name, error = %e, "updating lease");
                false
            }
        }
    }

    fn spec_for_us(&self, acquire: MicroTime, renew: MicroTime, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.config.identity.clone()),
            lease_duration_seconds: Some(duration_seconds(self.config.lease_duration)),
            acquire_time: Some(acquire),
            renew_time: Some(renew),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    fn observe(&mut self, lease: &Lease) {
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.unwrap_or_default();
        let transitions = spec.lease_transitions.unwrap_or(0);
        let duration = spec
            .lease_duration_seconds
            .and_then(|s| u64::try_from(s).ok())
            .map(Duration::from_secs)
            .unwrap_or(self.config.lease_duration);
        let changed = match &self.observed {
            Some(o) => {
                o.holder != holder
                    || o.renew_time != spec.renew_time
                    || o.transitions != transitions
            }
            None => true,
        };
        if changed {
            self.observed = Some(Observed {
                holder,
                renew_time: spec.renew_time,
                transitions,
                duration,
                at: Instant::now(),
            });
        }
    }

    /// Hands the Lease back (empty holder, 1 s duration) so a standby need not wait out
    /// the lease duration; as client-go's ReleaseOnCancel.
    async fn release(&mut self) {
        let name = self.config.lease_name.clone();
        let Ok(Some(mut lease)) = self.api.get_opt(&name).await else {
            return;
        };
        let spec = lease.spec.clone().unwrap_or_default();
        if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            return;
        }
        let now = MicroTime(Timestamp::now());
        lease.spec = Some(LeaseSpec {
            holder_identity: None,
            lease_duration_seconds: Some(1),
            acquire_time: Some(now.clone()),
            renew_time: Some(now),
            lease_transitions: spec.lease_transitions,
            ..LeaseSpec::default()
        });
        match self
            .api
            .replace(&name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => tracing::info!(lease = %name, "released lease"),
            Err(e) => tracing::warn!(lease = %name, error = %e, "releasing lease"),
        }
    }
}

fn duration_seconds(d: Duration) -> i32 {
    i32::try_from(d.as_secs().max(1)).unwrap_or(i32::MAX)
}

/// client-go's wait.Jitter with factor 1.2: spreads candidates' retries.
fn jittered(d: Duration) -> Duration {
    d.mul_f64(1.0 + rand::random::<f64>() * 1.2)
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn configuration_rules_are_client_go_s() {
        let ok = LeaderElectionConfig::new("x", "me".to_string());
        assert!(ok.validate().is_ok());
        let cases = [(15, 15, 2, "lease duration"), (15, 2, 2, "renew deadline")];
        for (lease, renew, retry, want) in cases {
            let c = LeaderElectionConfig {
                lease_duration: Duration::from_secs(lease),
                renew_deadline: Duration::from_secs(renew),
                retry_period: Duration::from_secs(retry),
                ..ok.clone()
            };
            match c.validate() {
                Err(Error::Config(m)) => assert!(m.contains(want), "{m}"),
                other => panic!("{lease}/{renew}/{retry}: {other:?}"),
            }
        }
        let anonymous = LeaderElectionConfig {
            identity: String::new(),
            ..ok
        };
        assert!(anonymous.validate().is_err());
    }

    #[test]
    fn identities_are_unique_per_process_instance() {
        let a = default_identity();
        let b = default_identity();
        assert_ne!(a, b);
        assert!(a.contains('_'));
    }

    #[test]
    fn jitter_stays_within_client_go_bounds() {
        for _ in 0..100 {
            let j = jittered(Duration::from_secs(2));
            assert!(
                j >= Duration::from_secs(2) && j <= Duration::from_millis(4400),
                "{j:?}"
            );
        }
    }
}
