//! The scheduling framework: the `Filter` and `Score` extension points as small traits, and
//! one scheduling attempt over them — filter nodes (in parallel chunks on big clusters,
//! stopping once enough feasible nodes are found, starting where the last attempt stopped),
//! score the feasible ones, normalize each plugin's scores to 0..=100, weight, and pick the
//! best node (ties broken at random).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::plugins::pod_topology_spread::{SpreadFilterState, SpreadScoreState};
use crate::types::{NodeInfo, PodInfo};

/// The highest score a plugin gives after normalization.
pub const MAX_NODE_SCORE: i64 = 100;

/// Below this many nodes a cluster is scanned on one thread: starting threads would cost
/// more than the scan.
const PARALLEL_MIN_NODES: usize = 1024;
/// Nodes handed to a worker at a time.
const CHUNK: usize = 128;

/// Upstream's status codes; the code (not the message) decides how the pod is requeued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// Might fit after the cluster changes (e.g. resources freed).
    Unschedulable,
    /// Preemption cannot help on this node (e.g. a label or taint does not match).
    UnschedulableAndUnresolvable,
    /// Something went wrong; retried after back-off.
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub code: Code,
    pub reasons: Vec<Cow<'static, str>>,
}

impl Status {
    pub fn unschedulable(reason: impl Into<Cow<'static, str>>) -> Status {
        Status {
            code: Code::Unschedulable,
            reasons: vec![reason.into()],
        }
    }

    pub fn unresolvable(reason: impl Into<Cow<'static, str>>) -> Status {
        Status {
            code: Code::UnschedulableAndUnresolvable,
            reasons: vec![reason.into()],
        }
    }

    pub fn error(reason: impl Into<Cow<'static, str>>) -> Status {
        Status {
            code: Code::Error,
            reasons: vec![reason.into()],
        }
    }
}

/// What plugins compute once per attempt and read per node.
#[derive(Debug, Default)]
pub struct CycleState {
    pub spread_filter: Option<SpreadFilterState>,
    pub spread_score: Option<SpreadScoreState>,
}

pub trait FilterPlugin: Send + Sync {
    fn name(&self) -> &'static str;

    /// Runs once per attempt before any filter (upstream's PreFilter); an error here makes
    /// the pod unschedulable on every node.
    fn pre_filter(
        &self,
        _pod: &PodInfo,
        _nodes: &[NodeInfo],
        _state: &mut CycleState,
    ) -> Result<(), Status> {
        Ok(())
    }

    /// Whether the pod can run on the node.
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<(), Status>;
}

pub trait ScorePlugin: Send + Sync {
    fn name(&self) -> &'static str;

    /// Upstream's default weight of the plugin.
    fn weight(&self) -> i64;

    /// Runs once per attempt before scoring (upstream's PreScore), with every node and the
    /// feasible ones.
    fn pre_score(
        &self,
        _pod: &PodInfo,
        _nodes: &[NodeInfo],
        _feasible: &[&NodeInfo],
        _state: &mut CycleState,
    ) {
    }

    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> i64;

    /// Brings the raw scores (one per feasible node) into 0..=MAX_NODE_SCORE.
    fn normalize(&self, _state: &CycleState, _pod: &PodInfo, _scores: &mut [i64]) {}
}

/// Upstream's DefaultNormalizeScore: scale to 0..=max by the highest score; `reverse` makes
/// low raw scores good.
pub fn default_normalize(scores: &mut [i64], reverse: bool) {
    let highest = scores.iter().copied().max().unwrap_or(0);
    if highest == 0 {
        if reverse {
            scores.iter_mut().for_each(|s| *s = MAX_NODE_SCORE);
        }
        return;
    }
    for s in scores.iter_mut() {
        let scaled = MAX_NODE_SCORE * *s / highest;
        *s = if reverse {
            MAX_NODE_SCORE - scaled
        } else {
            scaled
        };
    }
}

/// Why no node was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FitError {
    pub num_all_nodes: usize,
    pub pre_filter_msg: Option<String>,
    /// Count of failing nodes per reason.
    pub reasons: BTreeMap<String, usize>,
    /// Whether any node failed with an error rather than a plain misfit.
    pub error: bool,
}

impl FitError {
    /// Upstream's message shape, e.g. `0/5 nodes are available: 3 Insufficient cpu, 2
    /// node(s) had untolerated taint {key: value}. preemption: 0/5 nodes are available: 5
    /// Preemption is not helpful for scheduling.`. This scheduler does not preempt, so the
    /// preemption part always says preemption cannot help.
    pub fn message(&self) -> String {
        let n = self.num_all_nodes;
        let mut msg = format!("0/{n} nodes are available:");
        if let Some(pre) = &self.pre_filter_msg {
            msg.push_str(&format!(" {pre}."));
        }
        let mut histogram: Vec<String> = self
            .reasons
            .iter()
            .map(|(reason, count)| format!("{count} {reason}"))
            .collect();
        histogram.sort();
        if !histogram.is_empty() {
            msg.push_str(&format!(" {}.", histogram.join(", ")));
        }
        msg.push_str(&format!(
            " preemption: 0/{n} nodes are available: {n} Preemption is not helpful for scheduling."
        ));
        msg
    }
}

/// The outcome of a successful attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub node: String,
    pub evaluated_nodes: usize,
    pub feasible_nodes: usize,
}

pub struct Framework {
    filters: Vec<Box<dyn FilterPlugin>>,
    scores: Vec<Box<dyn ScorePlugin>>,
    percentage_of_nodes_to_score: u32,
    parallelism: usize,
    next_start: usize,
}

impl Framework {
    pub fn new(
        filters: Vec<Box<dyn FilterPlugin>>,
        scores: Vec<Box<dyn ScorePlugin>>,
        percentage_of_nodes_to_score: u32,
        parallelism: usize,
    ) -> Framework {
        Framework {
            filters,
            scores,
            percentage_of_nodes_to_score,
            parallelism: parallelism.max(1),
            next_start: 0,
        }
    }

    /// Upstream's numFeasibleNodesToFind: small clusters are scanned fully; otherwise a
    /// percentage (adaptive by default: 50% minus 1% per 125 nodes, at least 5%) and at
    /// least 100 nodes.
    pub fn num_feasible_nodes_to_find(percentage: u32, num_all_nodes: usize) -> usize {
        const MIN_FEASIBLE: usize = 100;
        const MIN_PERCENTAGE: i64 = 5;
        if num_all_nodes < MIN_FEASIBLE || percentage >= 100 {
            return num_all_nodes;
        }
        let mut adaptive = i64::from(percentage);
        if adaptive <= 0 {
            let n = i64::try_from(num_all_nodes).unwrap_or(i64::MAX);
            adaptive = (50 - n / 125).max(MIN_PERCENTAGE);
        }
        let adaptive = usize::try_from(adaptive).unwrap_or(100);
        (num_all_nodes * adaptive / 100).max(MIN_FEASIBLE)
    }

    /// One scheduling attempt for `pod` over `nodes`.
    pub fn schedule(
        &mut self,
        pod: &PodInfo,
        nodes: &[NodeInfo],
        num_present: usize,
    ) -> Result<Decision, FitError> {
        let mut state = CycleState::default();
        let fit_error = |pre: Option<String>, reasons, error| FitError {
            num_all_nodes: num_present,
            pre_filter_msg: pre,
            reasons,
            error,
        };
        for f in &self.filters {
            if let Err(status) = f.pre_filter(pod, nodes, &mut state) {
                let error = status.code == Code::Error;
                return Err(fit_error(
                    Some(status.reasons.join(", ")),
                    BTreeMap::new(),
                    error,
                ));
            }
        }

        let to_find =
            Self::num_feasible_nodes_to_find(self.percentage_of_nodes_to_score, num_present);
        let scan = self.find_feasible(&state, pod, nodes, to_find);
        if nodes.is_empty() {
            self.next_start = 0;
        } else {
            self.next_start = (self.next_start + scan.processed) % nodes.len();
        }
        if scan.feasible.is_empty() {
            let mut reasons = BTreeMap::new();
            let mut error = false;
            for status in &scan.failures {
                error |= status.code == Code::Error;
                for r in &status.reasons {
                    *reasons.entry(r.to_string()).or_insert(0) += 1;
                }
            }
            return Err(fit_error(None, reasons, error));
        }
        let feasible: Vec<&NodeInfo> = scan.feasible.iter().map(|i| &nodes[*i]).collect();
        let evaluated = scan.processed;
        let chosen = if feasible.len() == 1 {
            0
        } else {
            let totals = self.prioritize(&mut state, pod, nodes, &feasible);
            select_host(&totals)
        };
        Ok(Decision {
            node: feasible[chosen].name().to_string(),
            evaluated_nodes: evaluated,
            feasible_nodes: feasible.len(),
        })
    }

    /// Whether the pod passes every filter on this node alone (a queueing hint: worth
    /// another attempt). Spreading constraints need the whole cluster, so they do not
    /// veto here.
    pub fn node_may_fit(&self, pod: &PodInfo, node: &NodeInfo) -> bool {
        node.present && self.filter_node(&CycleState::default(), pod, node).is_ok()
    }

    fn filter_node(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        node: &NodeInfo,
    ) -> Result<(), Status> {
        for f in &self.filters {
            f.filter(state, pod, node)?;
        }
        Ok(())
    }

    fn find_feasible(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        nodes: &[NodeInfo],
        to_find: usize,
    ) -> Scan {
        let n = nodes.len();
        let start = self.next_start % n.max(1);
        let order = |i: usize| (start + i) % n;
        if self.parallelism <= 1 || n < PARALLEL_MIN_NODES {
            let mut scan = Scan::default();
            for i in 0..n {
                let idx = order(i);
                let node = &nodes[idx];
                scan.processed = i + 1;
                if !node.present {
                    continue;
                }
                match self.filter_node(state, pod, node) {
                    Ok(()) => {
                        scan.feasible.push(idx);
                        if scan.feasible.len() >= to_find {
                            break;
                        }
                    }
                    Err(status) => scan.failures.push(status),
                }
            }
            return scan;
        }

        let next_chunk = AtomicUsize::new(0);
        let found = AtomicUsize::new(0);
        let workers = self.parallelism.min(n.div_ceil(CHUNK));
        let partials: Vec<Option<Partial>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    s.spawn(|| {
                        let mut part = Partial::default();
                        while found.load(Ordering::Relaxed) < to_find {
                            let lo = next_chunk.fetch_add(1, Ordering::Relaxed) * CHUNK;
                            if lo >= n {
                                break;
                            }
                            for i in lo..(lo + CHUNK).min(n) {
                                let idx = order(i);
                                let node = &nodes[idx];
                                if !node.present {
                                    continue;
                                }
                                match self.filter_node(state, pod, node) {
                                    Ok(()) => {
                                        part.feasible.push((i, idx));
                                        found.fetch_add(1, Ordering::Relaxed);
                                    }
                                    Err(status) => part.failures.push((i, status)),
                                }
                            }
                            part.highest = part.highest.max((lo + CHUNK).min(n));
                        }
                        part
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().ok()).collect()
        });
        let mut feasible = Vec::new();
        let mut failures = Vec::new();
        let mut highest = 0;
        for part in partials {
            // A worker that panicked scanned nothing we can trust; its chunk's nodes are
            // simply not candidates this time.
            let Some(part) = part else { continue };
            feasible.extend(part.feasible);
            failures.extend(part.failures);
            highest = highest.max(part.highest);
        }
        feasible.sort_unstable_by_key(|(i, _)| *i);
        let mut processed = highest;
        if feasible.len() > to_find {
            feasible.truncate(to_find);
            processed = feasible.last().map_or(highest, |(i, _)| i + 1);
        }
        Scan {
            feasible: feasible.into_iter().map(|(_, idx)| idx).collect(),
            failures: failures
                .into_iter()
                .filter(|(i, _)| *i < processed)
                .map(|(_, s)| s)
                .collect(),
            processed,
        }
    }

    /// Weighted sum of the normalized scores of every score plugin, per feasible node.
    fn prioritize(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        nodes: &[NodeInfo],
        feasible: &[&NodeInfo],
    ) -> Vec<i64> {
        for p in &self.scores {
            p.pre_score(pod, nodes, feasible, state);
        }
        let state = &*state;
        let plugins = self.scores.len();
        // scores[p][j]: plugin p on feasible node j.
        let mut scores: Vec<Vec<i64>> = vec![vec![0; feasible.len()]; plugins];
        let score_range = |range: std::ops::Range<usize>| -> Vec<Vec<i64>> {
            self.scores
                .iter()
                .map(|p| {
                    feasible[range.clone()]
                        .iter()
                        .map(|n| p.score(state, pod, n))
                        .collect()
                })
                .collect()
        };
        if self.parallelism <= 1 || feasible.len() < PARALLEL_MIN_NODES {
            scores = score_range(0..feasible.len());
        } else {
            let per = feasible.len().div_ceil(self.parallelism);
            let parts: Vec<(usize, Option<Vec<Vec<i64>>>)> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..self.parallelism)
                    .map(|w| {
                        let lo = (w * per).min(feasible.len());
                        let hi = ((w + 1) * per).min(feasible.len());
                        (lo, s.spawn(move || score_range(lo..hi)))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|(lo, h)| (lo, h.join().ok()))
                    .collect()
            });
            for (lo, part) in parts {
                // A panicked worker leaves its nodes at 0, which only makes them less likely.
                let Some(part) = part else { continue };
                for (p, chunk) in part.into_iter().enumerate() {
                    if let Some(dst) = scores.get_mut(p) {
                        dst[lo..lo + chunk.len()].copy_from_slice(&chunk);
                    }
                }
            }
        }
        let mut totals = vec![0i64; feasible.len()];
        for (p, plugin) in self.scores.iter().enumerate() {
            let s = &mut scores[p];
            plugin.normalize(state, pod, s);
            let w = plugin.weight();
            for (t, v) in totals.iter_mut().zip(s.iter()) {
                *t += v.clamp(&0, &MAX_NODE_SCORE) * w;
            }
        }
        totals
    }
}

#[derive(Default)]
struct Scan {
    feasible: Vec<usize>,
    failures: Vec<Status>,
    processed: usize,
}

#[derive(Default)]
struct Partial {
    feasible: Vec<(usize, usize)>,
    failures: Vec<(usize, Status)>,
    highest: usize,
}

/// The index of a highest total, chosen uniformly among ties (reservoir sampling).
fn select_host(totals: &[i64]) -> usize {
    let mut best = 0;
    let mut ties = 0u32;
    for (i, t) in totals.iter().enumerate() {
        if *t > totals[best] {
            best = i;
            ties = 1;
        } else if *t == totals[best] {
            ties += 1;
            if rand::random_range(0..ties) == 0 {
                best = i;
            }
        }
    }
    best
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::type_complexity
)]
mod tests {
    use super::*;
    use crate::plugins;
    use crate::resource::Resource;
    use crate::types::NodeSpec;
    use std::sync::Arc;

    #[test]
    fn num_feasible_nodes_to_find_matches_upstream() {
        let cases = [
            (0, 50, 50),
            (0, 99, 99),
            (0, 100, 100),
            (0, 1000, 420),
            (0, 5000, 500),
            (0, 6000, 300),
            (0, 10000, 500),
            (10, 1000, 100),
            (10, 5000, 500),
            (100, 5000, 5000),
            (30, 300, 100),
        ];
        for (pct, n, want) in cases {
            assert_eq!(
                Framework::num_feasible_nodes_to_find(pct, n),
                want,
                "{pct}% of {n}"
            );
        }
    }

    #[test]
    fn fit_error_message_has_upstream_shape() {
        let e = FitError {
            num_all_nodes: 5,
            pre_filter_msg: None,
            reasons: BTreeMap::from([
                ("Insufficient cpu".to_string(), 3),
                ("node(s) had untolerated taint {key: value}".to_string(), 2),
            ]),
            error: false,
        };
        assert_eq!(
            e.message(),
            "0/5 nodes are available: 2 node(s) had untolerated taint {key: value}, 3 Insufficient cpu. preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling."
        );
    }

    #[test]
    fn default_normalize_scales_and_reverses() {
        let mut s = vec![0, 5, 10];
        default_normalize(&mut s, false);
        assert_eq!(s, [0, 50, 100]);
        let mut s = vec![0, 5, 10];
        default_normalize(&mut s, true);
        assert_eq!(s, [100, 50, 0]);
        let mut s = vec![0, 0];
        default_normalize(&mut s, true);
        assert_eq!(s, [100, 100]);
    }

    fn nodes(n: usize, cpu_every_other: bool) -> Vec<NodeInfo> {
        (0..n)
            .map(|i| {
                let cpu = if cpu_every_other && i % 2 == 1 {
                    0
                } else {
                    4000
                };
                NodeInfo::new(Arc::new(NodeSpec {
                    name: format!("n{i}"),
                    allocatable: Resource {
                        milli_cpu: cpu,
                        memory: 8 << 30,
                        allowed_pods: 110,
                        ..Resource::default()
                    },
                    ..NodeSpec::default()
                }))
            })
            .collect()
    }

    fn pod(cpu: i64) -> PodInfo {
        PodInfo {
            uid: "u".into(),
            requests: Resource {
                milli_cpu: cpu,
                ..Resource::default()
            },
            non_zero_requests: Resource {
                milli_cpu: cpu,
                memory: crate::resource::DEFAULT_MEMORY_REQUEST,
                ..Resource::default()
            },
            ..PodInfo::default()
        }
    }

    /// The parallel and the sequential scans agree on which nodes fit and why others don't.
    #[test]
    fn parallel_scan_finds_the_same_nodes() {
        let all = nodes(3000, true);
        for parallelism in [1, 2, 4] {
            let mut fw = plugins::default_framework(100, parallelism);
            let d = fw.schedule(&pod(1000), &all, all.len()).unwrap();
            assert_eq!(d.feasible_nodes, 1500, "parallelism {parallelism}");
            assert_eq!(d.evaluated_nodes, 3000);
            let name_idx: usize = d.node[1..].parse().unwrap();
            assert_eq!(name_idx % 2, 0);
            let err = fw.schedule(&pod(5000), &all, all.len()).unwrap_err();
            assert_eq!(err.reasons.get("Insufficient cpu"), Some(&3000));
        }
    }

    #[test]
    fn scans_stop_early_and_rotate() {
        let all = nodes(5000, false);
        for parallelism in [1, 2] {
            let mut fw = plugins::default_framework(0, parallelism);
            let d = fw.schedule(&pod(100), &all, all.len()).unwrap();
            assert_eq!(d.feasible_nodes, 500);
            let first = fw.next_start;
            assert!(first >= 500, "{first}");
            fw.schedule(&pod(100), &all, all.len()).unwrap();
            assert!(fw.next_start >= first + 500 || fw.next_start < first);
        }
    }
}
