//! Closed-loop load runs and their summaries, and the `name value unit` output lines.

use std::future::Future;
use std::time::{Duration, Instant};

/// What one closed-loop run produced.
#[derive(Debug, Default)]
pub struct Load {
    pub ok: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    /// From the start to the completion of the last request.
    pub elapsed: Duration,
    /// Per successful request, in microseconds.
    pub latencies_us: Vec<u32>,
}

impl Load {
    pub fn per_s(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 { self.ok as f64 / s } else { 0.0 }
    }

    /// The `q` quantile (0..=1) of the latencies, in milliseconds.
    pub fn quantile_ms(&mut self, q: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        self.latencies_us.sort_unstable();
        let last = self.latencies_us.len() - 1;
        let i = ((last as f64) * q).round() as usize;
        f64::from(self.latencies_us[i.min(last)]) / 1000.0
    }

    fn merge(&mut self, other: Load) {
        self.ok += other.ok;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.latencies_us.extend(other.latencies_us);
    }
}

/// Runs one worker per element of `states` (its connection or client), each issuing requests
/// back to back until `duration` has passed since the start; `op(state, worker, seq)` performs
/// request number `seq` of worker `worker` and hands the state back. Only requests started
/// before the deadline are counted, and the rate is taken over the time up to the last
/// completion.
pub async fn closed_loop<S, F, Fut, E>(states: Vec<S>, duration: Duration, op: F) -> Load
where
    S: Send + 'static,
    F: Fn(S, usize, u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = (S, Result<(), E>)> + Send,
    E: std::fmt::Display,
{
    let start = Instant::now();
    let deadline = start + duration;
    let mut handles = Vec::with_capacity(states.len());
    for (worker, state) in states.into_iter().enumerate() {
        let op = op.clone();
        handles.push(tokio::spawn(async move {
            let mut state = Some(state);
            let mut load = Load {
                latencies_us: Vec::with_capacity(16_384),
                ..Load::default()
            };
            let mut seq = 0u64;
            let mut last = Instant::now();
            while last < deadline {
                let Some(s) = state.take() else { break };
                let began = last;
                let (s, result) = op(s, worker, seq).await;
                state = Some(s);
                last = Instant::now();
                seq += 1;
                match result {
                    Ok(()) => {
                        load.ok += 1;
                        let us = (last - began).as_micros();
                        load.latencies_us
                            .push(u32::try_from(us).unwrap_or(u32::MAX));
                    }
                    Err(e) => {
                        load.errors += 1;
                        if load.first_error.is_none() {
                            load.first_error = Some(e.to_string());
                        }
                    }
                }
            }
            (load, last)
        }));
    }
    let mut total = Load::default();
    let mut end = start;
    for h in handles {
        match h.await {
            Ok((load, last)) => {
                end = end.max(last);
                total.merge(load);
            }
            Err(e) => {
                total.errors += 1;
                total.first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    total.elapsed = end - start;
    total
}

/// Runs operations `0..total` spread over one worker per element of `states`;
/// `op(state, i)` performs operation `i` and hands the state back.
pub async fn fixed_count<S, F, Fut, E>(states: Vec<S>, total: u64, op: F) -> Load
where
    S: Send + 'static,
    F: Fn(S, u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = (S, Result<(), E>)> + Send,
    E: std::fmt::Display,
{
    let start = Instant::now();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut handles = Vec::with_capacity(states.len());
    for state in states {
        let op = op.clone();
        let next = next.clone();
        handles.push(tokio::spawn(async move {
            let mut load = Load::default();
            let mut state = Some(state);
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let Some(s) = state.take() else { break };
                let began = Instant::now();
                let (s, result) = op(s, i).await;
                state = Some(s);
                match result {
                    Ok(()) => {
                        load.ok += 1;
                        let us = began.elapsed().as_micros();
                        load.latencies_us
                            .push(u32::try_from(us).unwrap_or(u32::MAX));
                    }
                    Err(e) => {
                        load.errors += 1;
                        load.first_error.get_or_insert_with(|| e.to_string());
                    }
                }
            }
            load
        }));
    }
    let mut sum = Load::default();
    for h in handles {
        match h.await {
            Ok(load) => sum.merge(load),
            Err(e) => {
                sum.errors += 1;
                sum.first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    sum.elapsed = start.elapsed();
    sum
}

/// Prints one figure line: `name value unit`, with an optional note after `#`.
pub fn figure(name: &str, value: f64, unit: &str, note: &str) {
    let v = if !value.is_finite() {
        "nan".to_string()
    } else if value.abs() >= 100.0 || value.fract() == 0.0 {
        format!("{value:.0}")
    } else if value.abs() >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.3}")
    };
    if note.is_empty() {
        println!("{name} {v} {unit}");
    } else {
        println!("{name} {v} {unit}  # {note}");
    }
}

/// Reports a run's rate and latency quantiles as `{rate_name}`, `{lat_prefix}_p50_ms_{suffix}`
/// and `{lat_prefix}_p99_ms_{suffix}`, and any errors.
pub fn report_load(load: &mut Load, rate_name: &str, lat_prefix: &str, suffix: &str, note: &str) {
    figure(rate_name, load.per_s(), "ops/s", note);
    let p50 = load.quantile_ms(0.50);
    let p99 = load.quantile_ms(0.99);
    figure(&format!("{lat_prefix}_p50_ms_{suffix}"), p50, "ms", "");
    figure(&format!("{lat_prefix}_p99_ms_{suffix}"), p99, "ms", "");
    if load.errors > 0 {
        figure(
            &format!("{lat_prefix}_errors_{suffix}"),
            load.errors as f64,
            "count",
            "FAILED requests",
        );
        eprintln!(
            "!! {rate_name}: {} failed requests, first: {}",
            load.errors,
            load.first_error.as_deref().unwrap_or("?")
        );
    }
}

/// The median of some durations, in milliseconds.
pub fn median_ms(samples: &mut [Duration]) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    samples.sort_unstable();
    samples[samples.len() / 2].as_secs_f64() * 1000.0
}
