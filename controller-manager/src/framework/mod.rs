//! What every controller of this crate is built from: shared informers (watch-fed stores),
//! a rate-limited work queue, worker loops that call a controller's `reconcile` for one key
//! at a time, and the metrics they record.

pub mod controllerref;
pub mod expectations;
pub mod informer;
pub mod metrics;
pub mod mutation;
pub mod pods;
pub mod selector;
pub mod workqueue;

use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

pub use informer::{Informer, Informers, Notification, controller_uid, key_of, split_key};
pub use metrics::Metrics;
pub use selector::Selector;
pub use workqueue::WorkQueue;

/// What a reconcile asks for next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Nothing until the next event.
    Done,
    /// Reconcile the key again after this long (also on any event before).
    RequeueAfter(Duration),
}

/// Runs `workers` loops taking keys from `queue` and calling `reconcile` for each, until
/// `shutdown`. Errors are logged and the key retried with back-off; after `max_retries`
/// consecutive failures (None: never) the key is dropped until its next event, as upstream's
/// controllers do.
pub async fn run_workers<F, Fut, E>(
    controller: &'static str,
    queue: Arc<WorkQueue>,
    workers: usize,
    max_retries: Option<u32>,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
    reconcile: F,
) where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Action, E>> + Send,
    E: Display,
{
    let reconcile = Arc::new(reconcile);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers.max(1) {
        let queue = queue.clone();
        let reconcile = reconcile.clone();
        let metrics = metrics.clone();
        tasks.spawn(async move {
            while let Some(key) = queue.get().await {
                let started = Instant::now();
                let result = reconcile(key.clone()).await;
                let seconds = started.elapsed().as_secs_f64();
                match result {
                    Ok(Action::Done) => {
                        metrics.reconciled(controller, "success", seconds);
                        queue.forget(&key);
                    }
                    Ok(Action::RequeueAfter(after)) => {
                        metrics.reconciled(controller, "requeue", seconds);
                        queue.forget(&key);
                        queue.add_after(key.clone(), after);
                    }
                    Err(e) => {
                        metrics.reconciled(controller, "error", seconds);
                        if max_retries.is_none_or(|max| queue.num_requeues(&key) < max) {
                            tracing::info!(controller, key = %key, error = %e, "sync failed; retrying");
                            queue.add_rate_limited(key.clone());
                        } else {
                            tracing::warn!(controller, key = %key, error = %e, "sync failed too often; dropping key until its next change");
                            queue.forget(&key);
                        }
                    }
                }
                queue.done(&key);
            }
        });
    }
    shutdown.cancelled().await;
    queue.shut_down();
    while tasks.join_next().await.is_some() {}
}

/// Parses a Go duration as Kubernetes flags take them: `40s`, `5m0s`, `1h30m`, `500ms`,
/// `1.5s`, `0`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err("empty duration".to_string());
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("duration {s:?} lacks a unit (s, m, h, ms)"))?;
        if num_len == 0 {
            return Err(format!("invalid duration {s:?}"));
        }
        let value: f64 = rest[..num_len]
            .parse()
            .map_err(|_| format!("invalid duration {s:?}"))?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            unit => return Err(format!("unknown unit {unit:?} in duration {s:?}")),
        };
        total += value * factor;
        rest = &rest[unit_len..];
    }
    Duration::try_from_secs_f64(total).map_err(|e| format!("invalid duration {s:?}: {e}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn go_durations() {
        let cases = [
            ("40s", Some(Duration::from_secs(40))),
            ("5m0s", Some(Duration::from_secs(300))),
            ("1h30m", Some(Duration::from_secs(5400))),
            ("500ms", Some(Duration::from_millis(500))),
            ("1.5s", Some(Duration::from_millis(1500))),
            ("0", Some(Duration::ZERO)),
            ("10", None),
            ("s", None),
            ("3x", None),
            ("", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_duration(input).ok(), want, "{input}");
        }
    }
}
