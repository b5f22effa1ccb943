//! Node IPAM: every Node gets a pod CIDR (`spec.podCIDR`, `spec.podCIDRs`) carved out of
//! `--cluster-cidr` in blocks of `--node-cidr-mask-size`, never the same block twice, as
//! upstream's range allocator does. The set of blocks in use is rebuilt from the Nodes at
//! start, and a deleted Node's block is released.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube::api::{Patch, PatchParams};

use crate::framework::{Action, Informer, Notification, WorkQueue, key_of, run_workers};
use crate::{Context, Error};

pub const NAME: &str = "node-ipam";

/// An IP network: address and prefix length, the address masked to the prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cidr {
    /// The network address as a number (IPv4 in the low 32 bits).
    base: u128,
    prefix: u8,
    v6: bool,
}

impl Cidr {
    pub fn parse(s: &str) -> Option<Cidr> {
        let (addr, prefix) = s.trim().split_once('/')?;
        let prefix: u8 = prefix.parse().ok()?;
        let (value, v6) = match addr.parse::<IpAddr>().ok()? {
            IpAddr::V4(a) => (u128::from(u32::from(a)), false),
            IpAddr::V6(a) => (u128::from(a), true),
        };
        let bits = if v6 { 128 } else { 32 };
        if prefix > bits {
            return None;
        }
        Some(Cidr {
            base: value & mask(bits, prefix),
            prefix,
            v6,
        })
    }

    fn bits(&self) -> u8 {
        if self.v6 { 128 } else { 32 }
    }

    /// How many blocks of `/size` this network holds (None when size is out of range).
    fn blocks(&self, size: u8) -> Option<u128> {
        if size < self.prefix || size > self.bits() {
            return None;
        }
        let shift = u32::from(size - self.prefix);
        // Very large IPv6 ranges: cap the count, the allocator never gets near it.
        Some(1u128.checked_shl(shift).unwrap_or(u128::MAX))
    }

    /// The `index`th block of `/size`.
    fn block(&self, size: u8, index: u128) -> Option<Cidr> {
        let step = u32::from(self.bits() - size);
        let offset = index.checked_shl(step)?;
        Some(Cidr {
            base: self.base.checked_add(offset)?,
            prefix: size,
            v6: self.v6,
        })
    }

    /// The index of `block` among this network's `/size` blocks, if it is one.
    fn index_of(&self, size: u8, block: &Cidr) -> Option<u128> {
        if block.v6 != self.v6 || block.prefix != size || size < self.prefix {
            return None;
        }
        if block.base & mask(self.bits(), self.prefix) != self.base {
            return None;
        }
        Some((block.base - self.base) >> u32::from(self.bits() - size))
    }
}

fn mask(bits: u8, prefix: u8) -> u128 {
    let all: u128 = if bits == 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    };
    let host = u32::from(bits - prefix);
    all & !(1u128.checked_shl(host).map_or(u128::MAX, |v| v - 1))
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.v6 {
            write!(f, "{}/{}", Ipv6Addr::from(self.base), self.prefix)
        } else {
            let v4 = u32::try_from(self.base).unwrap_or(0);
            write!(f, "{}/{}", Ipv4Addr::from(v4), self.prefix)
        }
    }
}

/// Hands out the `/size` blocks of one cluster CIDR: the lowest free one first, after the
/// last one handed out (so a just-released block is not reused at once).
#[derive(Debug)]
pub struct RangeAllocator {
    cluster: Cidr,
    size: u8,
    count: u128,
    used: BTreeSet<u128>,
    next: u128,
}

impl RangeAllocator {
    pub fn new(cluster: Cidr, size: u8) -> Option<RangeAllocator> {
        let count = cluster.blocks(size)?;
        Some(RangeAllocator {
            cluster,
            size,
            count,
            used: BTreeSet::new(),
            next: 0,
        })
    }

    /// Marks `block` used; false when it is not one of this range's blocks.
    pub fn occupy(&mut self, block: &Cidr) -> bool {
        match self.cluster.index_of(self.size, block) {
            Some(i) if i < self.count => {
                self.used.insert(i);
                true
            }
            _ => false,
        }
    }

    pub fn release(&mut self, block: &Cidr) {
        if let Some(i) = self.cluster.index_of(self.size, block) {
            self.used.remove(&i);
        }
    }

    /// A free block, now marked used; None when the range is full.
    pub fn allocate(&mut self) -> Option<Cidr> {
        if u128::try_from(self.used.len()).is_ok_and(|n| n >= self.count) {
            return None;
        }
        let mut i = self.next % self.count;
        // Bounded by the range size; `used` is smaller than it, so a free index exists.
        for _ in 0..self.count.min(u128::from(u32::MAX)) {
            if !self.used.contains(&i) {
                self.used.insert(i);
                self.next = (i + 1) % self.count;
                return self.cluster.block(self.size, i);
            }
            i = (i + 1) % self.count;
        }
        None
    }

    pub fn contains_family(&self, block: &Cidr) -> bool {
        block.v6 == self.cluster.v6
    }
}

struct State {
    allocators: Vec<RangeAllocator>,
    /// Blocks given to a node whose Node object may not show them yet, by node name: a
    /// second sync before the watch catches up re-sends the same blocks instead of taking
    /// new ones.
    pending: HashMap<String, Vec<Cidr>>,
}

pub fn start(ctx: Context) -> BoxFuture<'static, Result<(), Error>> {
    Box::pin(run(ctx))
}

/// Parses `--cluster-cidr` (comma-separated, at most one per IP family) into allocators.
fn allocators(cluster_cidr: &str, mask_size: u8) -> Result<Vec<RangeAllocator>, Error> {
    let mut out: Vec<RangeAllocator> = Vec::new();
    for part in cluster_cidr.split(',').filter(|p| !p.trim().is_empty()) {
        let cidr = Cidr::parse(part)
            .ok_or_else(|| Error::Options(format!("--cluster-cidr: invalid CIDR {part:?}")))?;
        if out.iter().any(|a| a.cluster.v6 == cidr.v6) {
            return Err(Error::Options(format!(
                "--cluster-cidr {cluster_cidr:?}: at most one CIDR per IP family"
            )));
        }
        // IPv6 clusters use /64 per node as upstream's default when the mask is IPv4-sized.
        let size = if cidr.v6 && mask_size <= 32 {
            64
        } else {
            mask_size
        };
        let alloc = RangeAllocator::new(cidr, size).ok_or_else(|| {
            Error::Options(format!(
                "--node-cidr-mask-size {size} does not fit in --cluster-cidr {cidr}"
            ))
        })?;
        out.push(alloc);
    }
    if out.is_empty() {
        return Err(Error::Options(
            "--allocate-node-cidrs needs --cluster-cidr".to_string(),
        ));
    }
    Ok(out)
}

fn node_cidrs(node: &Node) -> Vec<Cidr> {
    let spec = node.spec.as_ref();
    let mut list: Vec<Cidr> = spec
        .and_then(|s| s.pod_cidrs.as_ref())
        .map(|l| l.iter().filter_map(|c| Cidr::parse(c)).collect())
        .unwrap_or_default();
    if list.is_empty()
        && let Some(c) = spec
            .and_then(|s| s.pod_cidr.as_deref())
            .and_then(Cidr::parse)
    {
        list.push(c);
    }
    list
}

/// Runs the allocator until `ctx.shutdown`.
pub async fn run(ctx: Context) -> Result<(), Error> {
    if !ctx.options.allocate_node_cidrs {
        tracing::info!("--allocate-node-cidrs=false: not assigning pod CIDRs to nodes");
        ctx.shutdown.cancelled().await;
        return Ok(());
    }
    let state = Arc::new(Mutex::new(State {
        allocators: allocators(&ctx.options.cluster_cidr, ctx.options.node_cidr_mask_size)?,
        pending: HashMap::new(),
    }));
    let nodes = ctx.informers.get::<Node>();
    if !nodes.wait_synced(&ctx.shutdown).await {
        return Ok(());
    }
    // Rebuild what is in use before handing anything out.
    {
        let mut st = lock(&state);
        for node in nodes.list() {
            occupy_all(&mut st, &node);
        }
    }
    let queue = WorkQueue::new(NAME, ctx.metrics.clone(), ctx.shutdown.clone());
    {
        let (q, state) = (queue.clone(), state.clone());
        nodes.add_handler(move |n| match n {
            Notification::Added(node) | Notification::Updated { new: node, .. } => {
                occupy_all(&mut lock(&state), node);
                if node_cidrs(node).is_empty() {
                    q.add(key_of(node.as_ref()));
                }
            }
            Notification::Deleted(node) => {
                let mut st = lock(&state);
                let name = node.metadata.name.clone().unwrap_or_default();
                let mut gone = node_cidrs(node);
                gone.extend(st.pending.remove(&name).unwrap_or_default());
                for cidr in gone {
                    for a in st.allocators.iter_mut() {
                        a.release(&cidr);
                    }
                    tracing::info!(node = %name, cidr = %cidr, "released pod CIDR");
                }
            }
        });
    }
    let client = ctx.client.clone();
    run_workers(
        NAME,
        queue,
        1,
        None,
        ctx.metrics.clone(),
        ctx.shutdown.clone(),
        move |key| {
            let (client, nodes, state) = (client.clone(), nodes.clone(), state.clone());
            async move { reconcile(&client, &nodes, &state, &key).await }
        },
    )
    .await;
    Ok(())
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn occupy_all(st: &mut State, node: &Node) {
    let cidrs = node_cidrs(node);
    if cidrs.is_empty() {
        return;
    }
    if let Some(name) = &node.metadata.name {
        st.pending.remove(name);
    }
    for cidr in cidrs {
        let taken = st.allocators.iter_mut().any(|a| a.occupy(&cidr));
        if !taken {
            tracing::debug!(node = ?node.metadata.name, cidr = %cidr, "node pod CIDR is outside --cluster-cidr");
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum SyncError {
    #[error("no free pod CIDR left in --cluster-cidr for node {0}")]
    Exhausted(String),
    #[error(transparent)]
    Kube(#[from] kube::Error),
}

async fn reconcile(
    client: &kube::Client,
    nodes: &Arc<Informer<Node>>,
    state: &Arc<Mutex<State>>,
    name: &str,
) -> Result<Action, SyncError> {
    let Some(node) = nodes.get(name) else {
        return Ok(Action::Done);
    };
    if !node_cidrs(&node).is_empty() {
        return Ok(Action::Done);
    }
    let cidrs = {
        let mut st = lock(state);
        match st.pending.get(name) {
            Some(c) => c.clone(),
            None => {
                let mut got = Vec::new();
                for i in 0..st.allocators.len() {
                    match st.allocators.get_mut(i).and_then(RangeAllocator::allocate) {
                        Some(c) => got.push(c),
                        None => {
                            // Give back what this node took from the other families.
                            for c in &got {
                                for a in st.allocators.iter_mut() {
                                    a.release(c);
                                }
                            }
                            return Err(SyncError::Exhausted(name.to_string()));
                        }
                    }
                }
                st.pending.insert(name.to_string(), got.clone());
                got
            }
        }
    };
    let strings: Vec<String> = cidrs.iter().map(ToString::to_string).collect();
    let patch = serde_json::json!({
        "spec": { "podCIDR": strings.first(), "podCIDRs": strings }
    });
    match Api::<Node>::all(client.clone())
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => {
            tracing::info!(node = name, cidrs = ?strings, "assigned pod CIDR");
            Ok(Action::Done)
        }
        Err(kube::Error::Api(s)) if s.code == 404 => {
            let mut st = lock(state);
            if let Some(taken) = st.pending.remove(name) {
                for c in taken {
                    for a in st.allocators.iter_mut() {
                        a.release(&c);
                    }
                }
            }
            Ok(Action::Done)
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn parses_and_prints_cidrs() {
        let cases = [
            ("10.244.0.0/16", Some("10.244.0.0/16")),
            ("10.244.3.7/16", Some("10.244.0.0/16")),
            ("fd00::/48", Some("fd00::/48")),
            ("10.0.0.0/33", None),
            ("10.0.0.0", None),
            ("nonsense/8", None),
        ];
        for (input, want) in cases {
            assert_eq!(
                Cidr::parse(input).map(|c| c.to_string()).as_deref(),
                want,
                "{input}"
            );
        }
    }

    #[test]
    fn allocates_distinct_blocks_and_skips_used_ones() {
        let mut a = RangeAllocator::new(Cidr::parse("10.244.0.0/16").unwrap(), 24).unwrap();
        assert!(a.occupy(&Cidr::parse("10.244.1.0/24").unwrap()));
        assert!(!a.occupy(&Cidr::parse("10.245.1.0/24").unwrap()));
        let got: Vec<String> = (0..3).map(|_| a.allocate().unwrap().to_string()).collect();
        assert_eq!(got, ["10.244.0.0/24", "10.244.2.0/24", "10.244.3.0/24"]);
    }

    #[test]
    fn exhausts_and_reuses_released_blocks() {
        let mut a = RangeAllocator::new(Cidr::parse("10.0.0.0/30").unwrap(), 31).unwrap();
        let first = a.allocate().unwrap();
        let second = a.allocate().unwrap();
        assert_ne!(first, second);
        assert!(a.allocate().is_none());
        a.release(&first);
        assert_eq!(a.allocate(), Some(first));
    }

    #[test]
    fn cluster_cidr_flag() {
        assert_eq!(allocators("10.244.0.0/16", 24).unwrap().len(), 1);
        assert_eq!(allocators("10.244.0.0/16,fd00::/48", 24).unwrap().len(), 2);
        assert!(allocators("10.244.0.0/16,10.0.0.0/8", 24).is_err());
        assert!(allocators("10.244.0.0/24", 16).is_err());
        assert!(allocators("", 24).is_err());
    }
}
