//! Service cluster IP and NodePort allocation.
//!
//! As in kube-apiserver, each range's state is one object in storage — a `RangeAllocation`
//! at `/registry/ranges/serviceips` and `/registry/ranges/servicenodeports` holding the range
//! and a bitmap (bit i = offset i in use, stored as the big-endian bytes of that number,
//! base64-encoded) — and every change is a compare-and-swap on it. Several API servers on
//! one etcd therefore never hand out the same value: the loser of a race gets a Conflict
//! with the current bitmap and tries again on it.
//!
//! Within one process, changes to a range are serialized by a mutex that also caches the
//! last bitmap written or read, so a burst of creates costs one write each rather than a
//! storm of conflicting retries, and usually no read at all.
//!
//! Dynamic allocation avoids the lower part of each range (upstream's static subrange,
//! KEP-3070) so that addresses and ports users choose by hand rarely collide with ones
//! handed out automatically; the first address is kept for the `kubernetes` Service.

use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::ops::RangeInclusive;
use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use ipnet::Ipv4Net;
use machinery::{ApiError, FieldError, GroupKind};
use rand::Rng;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::kinds::common::{array, get_i64, get_str, str_or_empty};
use super::kinds::service::{
    needs_cluster_ip, needs_health_check_node_port, needs_node_port, normalize_cluster_ips,
    svc_type,
};
use crate::storage::{Storage, StorageError};

pub const SERVICE_IPS_KEY: &str = "/registry/ranges/serviceips";
pub const NODE_PORTS_KEY: &str = "/registry/ranges/servicenodeports";

/// Addresses in a /12, the largest service range upstream accepts.
const MAX_IP_RANGE_SIZE: u64 = 1 << 20;

/// How long one change keeps retrying after losing compare-and-swaps to other API servers
/// (upstream retries without bound; a bound turns a pathological pile-up into a 503).
const CAS_DEADLINE: std::time::Duration = std::time::Duration::from_secs(20);
/// The longest pause between retries. Another server with a queue of changes wins every
/// race it enters right after its own write (it needs no read); a short random pause lets
/// it drain that queue instead of making both sides retry in lockstep.
const MAX_BACKOFF_MS: u64 = 20;

/// Values one write took or gives back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allocation {
    pub cluster_ips: Vec<Ipv4Addr>,
    /// Node ports, the health check node port among them.
    pub node_ports: Vec<u16>,
}

impl Allocation {
    pub fn is_empty(&self) -> bool {
        self.cluster_ips.is_empty() && self.node_ports.is_empty()
    }
}

/// The allocation side of a Service update: what was newly taken (give it back if the write
/// fails: [`ServiceAllocator::rollback_update`]) and what the old object held that the new one
/// no longer does (give it back once the write succeeded: [`ServiceAllocator::commit_update`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateAllocation {
    pub allocated: Allocation,
    pub released: Allocation,
}

/// Why a range operation failed; turned into the API error by the caller, which knows the
/// field.
#[derive(Debug, thiserror::Error)]
enum RangeError {
    /// The i-th value asked for by hand is in use.
    #[error("provided value is already allocated")]
    Taken(usize),
    /// The i-th value asked for by hand is outside the range.
    #[error("provided value is not in the valid range")]
    OutOfRange(usize),
    #[error("range is full")]
    Full,
    #[error("{0}")]
    Storage(StorageError),
    #[error("{0}")]
    Corrupt(String),
}

/// A request for one range: values wanted by hand and how many to pick automatically.
#[derive(Debug, Default)]
struct Request {
    fixed: Vec<u32>,
    dynamic: usize,
}

/// A bitmap over a range's offsets.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Bitmap {
    words: Vec<u64>,
    size: u32,
}

impl Bitmap {
    fn new(size: u32) -> Self {
        Self {
            words: vec![0; (size as usize).div_ceil(64)],
            size,
        }
    }

    fn get(&self, i: u32) -> bool {
        self.words
            .get((i / 64) as usize)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    fn set(&mut self, i: u32, on: bool) {
        if let Some(w) = self.words.get_mut((i / 64) as usize) {
            if on {
                *w |= 1 << (i % 64);
            } else {
                *w &= !(1 << (i % 64));
            }
        }
    }

    /// The first free offset at or after `start` within `[lo, hi)`, wrapping to `lo`.
    fn find_free(&self, lo: u32, hi: u32, start: u32) -> Option<u32> {
        let scan = |from: u32, to: u32| {
            let mut i = from;
            while i < to {
                // Skip whole words that are full.
                if i.is_multiple_of(64)
                    && to - i >= 64
                    && self.words.get((i / 64) as usize) == Some(&u64::MAX)
                {
                    i += 64;
                    continue;
                }
                if !self.get(i) {
                    return Some(i);
                }
                i += 1;
            }
            None
        };
        scan(start, hi).or_else(|| scan(lo, start))
    }

    /// Upstream's encoding: the big-endian bytes of the number whose bit i is offset i.
    fn to_bytes(&self) -> Vec<u8> {
        let n = (self.size as usize).div_ceil(8);
        let mut out = vec![0u8; n];
        for (wi, w) in self.words.iter().enumerate() {
            for b in 0..8 {
                let byte = ((w >> (b * 8)) & 0xff) as u8;
                let idx = wi * 8 + b;
                if idx < n && byte != 0 {
                    out[n - 1 - idx] = byte;
                }
            }
        }
        let first = out.iter().position(|b| *b != 0).unwrap_or(n);
        out.split_off(first)
    }

    fn from_bytes(size: u32, bytes: &[u8]) -> Self {
        let mut bm = Self::new(size);
        let len = bytes.len();
        for (idx, byte) in bytes.iter().rev().enumerate() {
            debug_assert!(idx < len);
            if *byte == 0 {
                continue;
            }
            let wi = idx / 8;
            if let Some(w) = bm.words.get_mut(wi) {
                *w |= u64::from(*byte) << ((idx % 8) * 8);
            }
        }
        // Bits past the range (a range that shrank) are not ours to keep.
        if !size.is_multiple_of(64)
            && let Some(last) = bm.words.last_mut()
        {
            *last &= (1u64 << (size % 64)) - 1;
        }
        bm
    }
}

/// One range's stored state and its in-process cache.
struct RangeStore {
    key: &'static str,
    /// How the range is written in the stored object (`10.96.0.0/12`, `30000-32767`).
    label: String,
    size: u32,
    /// Offsets below this are left for values chosen by hand; dynamic allocation uses them
    /// only when the rest is full.
    static_band: u32,
    /// Offsets never handed out dynamically.
    reserved: BTreeSet<u32>,
    cache: Mutex<Option<(i64, Bitmap)>>,
}

impl RangeStore {
    fn new(
        key: &'static str,
        label: String,
        size: u32,
        static_band: u32,
        reserved: BTreeSet<u32>,
    ) -> Self {
        Self {
            key,
            label,
            size,
            static_band,
            reserved,
            cache: Mutex::new(None),
        }
    }

    fn encode(&self, bm: &Bitmap) -> Bytes {
        let obj = json!({
            "kind": "RangeAllocation",
            "apiVersion": "v1",
            "metadata": { "creationTimestamp": null },
            "range": self.label,
            "data": base64::engine::general_purpose::STANDARD.encode(bm.to_bytes()),
        });
        Bytes::from(obj.to_string())
    }

    fn decode(&self, raw: &[u8]) -> Result<Bitmap, RangeError> {
        let obj: Value = serde_json::from_slice(raw)
            .map_err(|e| RangeError::Corrupt(format!("{}: {e}", self.key)))?;
        let range = get_str(&obj, &["range"]).unwrap_or("");
        if range != self.label {
            return Err(RangeError::Corrupt(format!(
                "the stored range {range:?} at {} does not match the configured range {:?}",
                self.key, self.label
            )));
        }
        let data = base64::engine::general_purpose::STANDARD
            .decode(str_or_empty(&obj, &["data"]))
            .map_err(|e| RangeError::Corrupt(format!("{}: {e}", self.key)))?;
        Ok(Bitmap::from_bytes(self.size, &data))
    }

    async fn load(&self, storage: &dyn Storage) -> Result<(i64, Bitmap), RangeError> {
        match storage.get(self.key).await.map_err(RangeError::Storage)? {
            Some(kv) => Ok((kv.mod_revision, self.decode(&kv.value)?)),
            None => Ok((0, Bitmap::new(self.size))),
        }
    }

    /// Applies `change` to the stored bitmap with compare-and-swap, retrying on conflicts.
    /// `change` must leave the bitmap untouched when it fails. A failure decided on cached
    /// state is re-checked on fresh state, so another server's release is never missed.
    async fn modify<T>(
        &self,
        storage: &dyn Storage,
        mut change: impl FnMut(&mut Bitmap) -> Result<Option<T>, RangeError>,
    ) -> Result<Option<T>, RangeError> {
        let mut cache = self.cache.lock().await;
        let mut from_cache = cache.is_some();
        let deadline = tokio::time::Instant::now() + CAS_DEADLINE;
        let mut conflicts: u32 = 0;
        while tokio::time::Instant::now() < deadline {
            let (rev, mut bm) = match cache.take() {
                Some(c) => c,
                None => self.load(storage).await?,
            };
            let result = match change(&mut bm) {
                Ok(Some(r)) => r,
                Ok(None) => {
                    *cache = Some((rev, bm));
                    return Ok(None);
                }
                Err(e) => {
                    if from_cache && !matches!(e, RangeError::OutOfRange(_)) {
                        from_cache = false;
                        continue;
                    }
                    *cache = Some((rev, bm));
                    return Err(e);
                }
            };
            let bytes = self.encode(&bm);
            let written = if rev == 0 {
                storage.create(self.key, bytes).await
            } else {
                storage.update(self.key, bytes, rev).await
            };
            match written {
                Ok(new_rev) => {
                    *cache = Some((new_rev, bm));
                    return Ok(Some(result));
                }
                Err(StorageError::Conflict {
                    current: Some(kv), ..
                }) => {
                    *cache = Some((kv.mod_revision, self.decode(&kv.value)?));
                }
                Err(StorageError::Conflict { current: None, .. })
                | Err(StorageError::AlreadyExists { .. })
                | Err(StorageError::NotFound { .. }) => {}
                Err(e) => return Err(RangeError::Storage(e)),
            }
            from_cache = cache.is_some();
            conflicts += 1;
            if conflicts > 1 {
                let cap = MAX_BACKOFF_MS.min(1 << conflicts.min(6));
                let pause = rand::rng().random_range(0..=cap);
                tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
            }
        }
        Err(RangeError::Storage(StorageError::Unavailable(format!(
            "too many concurrent changes to {}",
            self.key
        ))))
    }

    /// Takes the fixed offsets and `dynamic` free ones, all or nothing. Returns them in
    /// request order (fixed first).
    async fn allocate(&self, storage: &dyn Storage, req: &Request) -> Result<Vec<u32>, RangeError> {
        if req.fixed.is_empty() && req.dynamic == 0 {
            return Ok(Vec::new());
        }
        for (i, off) in req.fixed.iter().enumerate() {
            if *off >= self.size {
                return Err(RangeError::OutOfRange(i));
            }
        }
        let taken = self
            .modify(storage, |bm| {
                for (i, off) in req.fixed.iter().enumerate() {
                    if bm.get(*off) {
                        return Err(RangeError::Taken(i));
                    }
                }
                let mut picked = Vec::with_capacity(req.fixed.len() + req.dynamic);
                for off in &req.fixed {
                    bm.set(*off, true);
                    picked.push(*off);
                }
                for _ in 0..req.dynamic {
                    match self.pick(bm) {
                        Some(off) => {
                            bm.set(off, true);
                            picked.push(off);
                        }
                        None => {
                            for off in &picked {
                                bm.set(*off, false);
                            }
                            return Err(RangeError::Full);
                        }
                    }
                }
                Ok(Some(picked))
            })
            .await?;
        Ok(taken.unwrap_or_default())
    }

    /// A free offset: random in the dynamic band, else anywhere, never a reserved one.
    fn pick(&self, bm: &Bitmap) -> Option<u32> {
        let mut rng = rand::rng();
        let lo = self.static_band.min(self.size);
        let bands = [(lo, self.size), (0, lo)];
        for (from, to) in bands {
            if from >= to {
                continue;
            }
            let mut start = rng.random_range(from..to);
            // Reserved offsets look free in the bitmap; step over them.
            for _ in 0..=self.reserved.len() {
                match bm.find_free(from, to, start) {
                    Some(off) if self.reserved.contains(&off) => {
                        start = off + 1;
                        if start >= to {
                            start = from;
                        }
                        if bm.find_free(from, to, start) == Some(off) {
                            break;
                        }
                    }
                    Some(off) => return Some(off),
                    None => break,
                }
            }
        }
        None
    }

    async fn release(&self, storage: &dyn Storage, offsets: &[u32]) -> Result<(), RangeError> {
        let offsets: Vec<u32> = offsets.iter().copied().filter(|o| *o < self.size).collect();
        if offsets.is_empty() {
            return Ok(());
        }
        self.modify(storage, |bm| {
            if offsets.iter().all(|o| !bm.get(*o)) {
                return Ok(None);
            }
            for o in &offsets {
                bm.set(*o, false);
            }
            Ok(Some(()))
        })
        .await
        .map(|_| ())
    }
}

/// Hands out Service cluster IPs from the service CIDR and node ports from the node port
/// range, with the state in storage shared by every API server.
pub struct ServiceAllocator {
    storage: Arc<dyn Storage>,
    cidr: Ipv4Net,
    /// The address at offset 0.
    base: u32,
    node_ports: RangeInclusive<u16>,
    ips: RangeStore,
    ports: RangeStore,
}

impl ServiceAllocator {
    pub fn new(
        storage: Arc<dyn Storage>,
        service_cidr: Ipv4Net,
        node_ports: RangeInclusive<u16>,
    ) -> Self {
        let cidr = service_cidr.trunc();
        // Network and broadcast addresses are not handed out, except in /31 and /32 where
        // there are none.
        let total = 1u64 << (32 - u32::from(cidr.prefix_len()));
        let (base, size) = if cidr.prefix_len() >= 31 {
            (u32::from(cidr.network()), total)
        } else {
            (u32::from(cidr.network()).saturating_add(1), total - 2)
        };
        // Upstream refuses ranges larger than a /12 (a 128 KiB bitmap, rewritten on every
        // allocation); a larger one is used only up to that size here.
        let size = u32::try_from(size.min(MAX_IP_RANGE_SIZE)).unwrap_or(u32::MAX);
        let ip_band = (size / 16).clamp(16, 256);
        let ips = RangeStore::new(
            SERVICE_IPS_KEY,
            cidr.to_string(),
            size,
            ip_band,
            // The first address belongs to the `kubernetes` Service.
            BTreeSet::from([0]),
        );
        let port_size =
            u32::from(*node_ports.end()).saturating_sub(u32::from(*node_ports.start())) + 1;
        let port_size = if node_ports.is_empty() { 0 } else { port_size };
        let port_band = (port_size / 32).clamp(16, 128);
        let ports = RangeStore::new(
            NODE_PORTS_KEY,
            format!("{}-{}", node_ports.start(), node_ports.end()),
            port_size,
            port_band,
            BTreeSet::new(),
        );
        Self {
            storage,
            cidr,
            base,
            node_ports,
            ips,
            ports,
        }
    }

    /// The address the `kubernetes` Service gets.
    pub fn kubernetes_service_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.base)
    }

    fn ip_offset(&self, ip: Ipv4Addr) -> Option<u32> {
        if !self.cidr.contains(&ip) {
            return None;
        }
        u32::from(ip)
            .checked_sub(self.base)
            .filter(|o| *o < self.ips.size)
    }

    fn port_offset(&self, port: i64) -> Option<u32> {
        let p = u16::try_from(port).ok()?;
        self.node_ports
            .contains(&p)
            .then(|| u32::from(p) - u32::from(*self.node_ports.start()))
    }

    fn invalid(svc: &Value, errs: Vec<FieldError>) -> ApiError {
        ApiError::invalid(
            &GroupKind::new("", "Service"),
            str_or_empty(svc, &["metadata", "name"]),
            &errs,
        )
    }

    fn storage_error(what: &str, e: RangeError) -> ApiError {
        match e {
            RangeError::Storage(StorageError::Unavailable(m)) => {
                ApiError::service_unavailable(format!("failed to allocate a {what}: {m}"))
            }
            other => ApiError::internal(format!(
                "Internal error occurred: failed to allocate a {what}: {other}"
            )),
        }
    }

    /// Fills in the cluster IP(s) and node ports a new Service needs and takes the values it
    /// asks for by hand: 422 when one is out of range or already taken. Nothing is taken
    /// when it fails. Call after validation; on a failed create, give the values back with
    /// [`Self::release_allocation`] (or [`Self::release`]).
    pub async fn allocate(&self, svc: &mut Value) -> Result<Allocation, ApiError> {
        normalize_cluster_ips(svc, None);
        self.allocate_missing(svc, &Allocation::default()).await
    }

    /// Takes what `svc` needs that `held` does not already cover.
    async fn allocate_missing(
        &self,
        svc: &mut Value,
        held: &Allocation,
    ) -> Result<Allocation, ApiError> {
        let mut out = Allocation::default();

        // Cluster IPs.
        if needs_cluster_ip(svc) {
            let cluster_ip = str_or_empty(svc, &["spec", "clusterIP"]).to_string();
            let mut req = Request::default();
            let mut fixed_ip = None;
            if cluster_ip.is_empty() {
                req.dynamic = 1;
            } else if cluster_ip != "None" {
                let Ok(ip) = cluster_ip.parse::<std::net::IpAddr>() else {
                    return Err(Self::invalid(
                        svc,
                        vec![FieldError::invalid(
                            "spec.clusterIPs[0]",
                            json!(cluster_ip),
                            "must be empty, 'None', or a valid IP address",
                        )],
                    ));
                };
                let std::net::IpAddr::V4(ip) = ip else {
                    return Err(Self::invalid(
                        svc,
                        vec![FieldError::invalid(
                            "spec.ipFamilies[0]",
                            json!("IPv6"),
                            "not configured on this cluster",
                        )],
                    ));
                };
                if !held.cluster_ips.contains(&ip) {
                    let Some(off) = self.ip_offset(ip) else {
                        return Err(Self::invalid(
                            svc,
                            vec![FieldError::invalid(
                                "spec.clusterIPs",
                                json!([cluster_ip]),
                                format!(
                                    "failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. The range of valid IPs is {}",
                                    self.cidr
                                ),
                            )],
                        ));
                    };
                    req.fixed.push(off);
                    fixed_ip = Some(ip);
                }
            }
            if array(svc, &["spec", "clusterIPs"]).len() > 1 {
                return Err(Self::invalid(
                    svc,
                    vec![FieldError::invalid(
                        "spec.clusterIPs[1]",
                        svc.pointer("/spec/clusterIPs/1")
                            .cloned()
                            .unwrap_or(Value::Null),
                        "this cluster is not configured for dual-stack services",
                    )],
                ));
            }
            match self.ips.allocate(self.storage.as_ref(), &req).await {
                Ok(offsets) => {
                    for off in offsets {
                        let ip = Ipv4Addr::from(self.base.saturating_add(off));
                        out.cluster_ips.push(ip);
                    }
                    if req.dynamic == 1
                        && let (Some(ip), Some(spec)) = (
                            out.cluster_ips.last(),
                            svc.get_mut("spec").and_then(Value::as_object_mut),
                        )
                    {
                        spec.insert("clusterIP".into(), json!(ip.to_string()));
                        spec.insert("clusterIPs".into(), json!([ip.to_string()]));
                    }
                }
                Err(RangeError::Taken(_)) => {
                    let ip = fixed_ip.map(|i| i.to_string()).unwrap_or_default();
                    return Err(Self::invalid(
                        svc,
                        vec![FieldError::invalid(
                            "spec.clusterIPs",
                            json!([ip]),
                            format!("failed to allocate IP {ip}: provided IP is already allocated"),
                        )],
                    ));
                }
                Err(e) => return Err(Self::storage_error("serviceIP", e)),
            }
        }

        // Node ports: those given by hand, then new ones for ports without one. Ports with
        // the same number (TCP and UDP of one service port) share a node port, as upstream.
        if needs_node_port(svc)
            && let Err(e) = self.allocate_node_ports(svc, held, &mut out).await
        {
            // All or nothing: the cluster IP taken above goes back.
            self.release_allocation(&out).await;
            return Err(e);
        }
        Ok(out)
    }

    fn port_out_of_range(&self, svc: &Value, field: String, port: i64) -> ApiError {
        Self::invalid(
            svc,
            vec![FieldError::invalid(
                field,
                json!(port),
                format!(
                    "provided port is not in the valid range. The range of valid ports is {}-{}",
                    self.node_ports.start(),
                    self.node_ports.end()
                ),
            )],
        )
    }

    async fn allocate_node_ports(
        &self,
        svc: &mut Value,
        held: &Allocation,
        out: &mut Allocation,
    ) -> Result<(), ApiError> {
        let auto = svc_type(svc) == "NodePort"
            || svc
                .pointer("/spec/allocateLoadBalancerNodePorts")
                .and_then(Value::as_bool)
                != Some(false);
        let ports = array(svc, &["spec", "ports"]).to_vec();
        // Values asked for by hand, with the field each came from.
        let mut fixed: Vec<(String, u16)> = Vec::new();
        let mut by_port: HashMap<i64, u16> = HashMap::new();
        for (i, p) in ports.iter().enumerate() {
            let np = get_i64(p, &["nodePort"]).unwrap_or(0);
            if np == 0 {
                continue;
            }
            let field = format!("spec.ports[{i}].nodePort");
            let (Some(_), Ok(np16)) = (self.port_offset(np), u16::try_from(np)) else {
                return Err(self.port_out_of_range(svc, field, np));
            };
            if let Some(port) = get_i64(p, &["port"]) {
                by_port.entry(port).or_insert(np16);
            }
            if !held.node_ports.contains(&np16) && !fixed.iter().any(|(_, v)| *v == np16) {
                fixed.push((field, np16));
            }
        }
        // Ports without one reuse a same-numbered port's, or get one per port number.
        let mut assign: Vec<(usize, u16)> = Vec::new();
        let mut groups: Vec<(i64, Vec<usize>)> = Vec::new();
        if auto {
            for (i, p) in ports.iter().enumerate() {
                if get_i64(p, &["nodePort"]).unwrap_or(0) != 0 {
                    continue;
                }
                let port = get_i64(p, &["port"]).unwrap_or(-1);
                if let Some(np) = by_port.get(&port) {
                    assign.push((i, *np));
                } else if let Some(g) = groups.iter_mut().find(|(p, _)| *p == port) {
                    g.1.push(i);
                } else {
                    groups.push((port, vec![i]));
                }
            }
        }
        let mut hc_dynamic = false;
        if needs_health_check_node_port(svc) {
            let hc = get_i64(svc, &["spec", "healthCheckNodePort"]).unwrap_or(0);
            if hc == 0 {
                hc_dynamic = true;
            } else {
                let field = "spec.healthCheckNodePort".to_string();
                let (Some(_), Ok(hc16)) = (self.port_offset(hc), u16::try_from(hc)) else {
                    return Err(self.port_out_of_range(svc, field, hc));
                };
                if !held.node_ports.contains(&hc16) && !fixed.iter().any(|(_, v)| *v == hc16) {
                    fixed.push((field, hc16));
                }
            }
        }

        let req = Request {
            fixed: fixed
                .iter()
                .filter_map(|(_, v)| self.port_offset(i64::from(*v)))
                .collect(),
            dynamic: groups.len() + usize::from(hc_dynamic),
        };
        let offsets = match self.ports.allocate(self.storage.as_ref(), &req).await {
            Ok(o) => o,
            Err(RangeError::Taken(i)) => {
                let (field, v) = fixed.get(i).cloned().unwrap_or_default();
                return Err(Self::invalid(
                    svc,
                    vec![FieldError::invalid(
                        field,
                        json!(v),
                        "provided port is already allocated",
                    )],
                ));
            }
            Err(RangeError::OutOfRange(i)) => {
                let (field, v) = fixed.get(i).cloned().unwrap_or_default();
                return Err(self.port_out_of_range(svc, field, i64::from(v)));
            }
            Err(e) => return Err(Self::storage_error("nodePort", e)),
        };
        let start = u32::from(*self.node_ports.start());
        let to_port = |off: u32| u16::try_from(start + off).unwrap_or(0);
        let mut it = offsets.into_iter();
        out.node_ports
            .extend(it.by_ref().take(fixed.len()).map(to_port));
        for (_, members) in &groups {
            if let Some(np) = it.next().map(to_port) {
                out.node_ports.push(np);
                assign.extend(members.iter().map(|m| (*m, np)));
            }
        }
        let hc_port = if hc_dynamic {
            it.next().map(to_port)
        } else {
            None
        };
        if let Some(list) = svc.pointer_mut("/spec/ports").and_then(Value::as_array_mut) {
            for (i, np) in assign {
                if let Some(p) = list.get_mut(i).and_then(Value::as_object_mut) {
                    p.insert("nodePort".into(), json!(np));
                }
            }
        }
        if let Some(np) = hc_port {
            out.node_ports.push(np);
            if let Some(spec) = svc.get_mut("spec").and_then(Value::as_object_mut) {
                spec.insert("healthCheckNodePort".into(), json!(np));
            }
        }
        Ok(())
    }

    /// The cluster IPs and node ports a stored Service holds.
    pub fn held_by(&self, svc: &Value) -> Allocation {
        let mut out = Allocation::default();
        if needs_cluster_ip(svc) {
            for ip in array(svc, &["spec", "clusterIPs"]) {
                if let Some(Ok(ip)) = ip.as_str().map(str::parse::<Ipv4Addr>) {
                    out.cluster_ips.push(ip);
                }
            }
            if out.cluster_ips.is_empty()
                && let Ok(ip) = str_or_empty(svc, &["spec", "clusterIP"]).parse::<Ipv4Addr>()
            {
                out.cluster_ips.push(ip);
            }
        }
        if needs_node_port(svc) {
            for p in array(svc, &["spec", "ports"]) {
                if let Some(np) = get_i64(p, &["nodePort"])
                    .and_then(|n| u16::try_from(n).ok())
                    .filter(|n| *n != 0)
                    && !out.node_ports.contains(&np)
                {
                    out.node_ports.push(np);
                }
            }
        }
        if needs_health_check_node_port(svc)
            && let Some(np) = get_i64(svc, &["spec", "healthCheckNodePort"])
                .and_then(|n| u16::try_from(n).ok())
                .filter(|n| *n != 0)
            && !out.node_ports.contains(&np)
        {
            out.node_ports.push(np);
        }
        out
    }

    /// Gives back everything a Service holds (after its delete). Failures are logged: the
    /// repair loop reclaims what is left behind.
    pub async fn release(&self, svc: &Value) {
        let held = self.held_by(svc);
        self.release_allocation(&held).await;
    }

    /// Gives back specific values (a failed create, or [`UpdateAllocation`] parts).
    pub async fn release_allocation(&self, a: &Allocation) {
        let ip_offsets: Vec<u32> = a
            .cluster_ips
            .iter()
            .filter_map(|ip| self.ip_offset(*ip))
            .collect();
        if let Err(e) = self.ips.release(self.storage.as_ref(), &ip_offsets).await {
            tracing::warn!(error = ?e, ips = ?a.cluster_ips, "releasing service IPs failed");
        }
        let port_offsets: Vec<u32> = a
            .node_ports
            .iter()
            .filter_map(|p| self.port_offset(i64::from(*p)))
            .collect();
        if let Err(e) = self
            .ports
            .release(self.storage.as_ref(), &port_offsets)
            .await
        {
            tracing::warn!(error = ?e, ports = ?a.node_ports, "releasing node ports failed");
        }
    }

    /// The allocation side of an update from `old` to `new` (after the strategy's
    /// prepare_for_update and validation): takes what `new` needs beyond what `old` holds
    /// and fills in missing values. Nothing is released yet: after the write, call
    /// [`Self::commit_update`] on success or [`Self::rollback_update`] on failure.
    pub async fn reallocate_for_update(
        &self,
        new: &mut Value,
        old: &Value,
    ) -> Result<UpdateAllocation, ApiError> {
        normalize_cluster_ips(new, Some(old));
        let held = self.held_by(old);
        let allocated = self.allocate_missing(new, &held).await?;
        let now = self.held_by(new);
        let released = Allocation {
            cluster_ips: held
                .cluster_ips
                .iter()
                .copied()
                .filter(|ip| !now.cluster_ips.contains(ip))
                .collect(),
            node_ports: held
                .node_ports
                .iter()
                .copied()
                .filter(|p| !now.node_ports.contains(p))
                .collect(),
        };
        Ok(UpdateAllocation {
            allocated,
            released,
        })
    }

    /// After a successful update: gives back what the old object held and the new does not.
    pub async fn commit_update(&self, plan: &UpdateAllocation) {
        self.release_allocation(&plan.released).await;
    }

    /// After a failed update: gives back what was taken for it.
    pub async fn rollback_update(&self, plan: &UpdateAllocation) {
        self.release_allocation(&plan.allocated).await;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::storage::{
        EventStream, KeyValue, ListOptions, ListResult, Result as SResult, Revision,
    };

    /// A minimal in-memory Storage with etcd's revision and compare-and-swap semantics.
    #[derive(Default)]
    struct MemStorage {
        state: std::sync::Mutex<(Revision, BTreeMap<String, KeyValue>)>,
        writes: AtomicUsize,
        conflicts: AtomicUsize,
    }

    #[async_trait::async_trait]
    impl Storage for MemStorage {
        async fn get(&self, key: &str) -> SResult<Option<KeyValue>> {
            Ok(self.state.lock().unwrap().1.get(key).cloned())
        }
        async fn list(&self, prefix: &str, _opts: ListOptions) -> SResult<ListResult> {
            let st = self.state.lock().unwrap();
            Ok(ListResult {
                items: st
                    .1
                    .values()
                    .filter(|kv| kv.key.starts_with(prefix))
                    .cloned()
                    .collect(),
                revision: st.0,
                remaining: 0,
            })
        }
        async fn count(&self, prefix: &str) -> SResult<i64> {
            Ok(self
                .state
                .lock()
                .unwrap()
                .1
                .keys()
                .filter(|k| k.starts_with(prefix))
                .count() as i64)
        }
        async fn create(&self, key: &str, value: Bytes) -> SResult<Revision> {
            // Yield so that concurrent writers interleave as they would against etcd.
            tokio::task::yield_now().await;
            let mut st = self.state.lock().unwrap();
            if st.1.contains_key(key) {
                self.conflicts.fetch_add(1, Ordering::Relaxed);
                return Err(StorageError::AlreadyExists { key: key.into() });
            }
            st.0 += 1;
            let rev = st.0;
            st.1.insert(
                key.into(),
                KeyValue {
                    key: key.into(),
                    value,
                    create_revision: rev,
                    mod_revision: rev,
                },
            );
            self.writes.fetch_add(1, Ordering::Relaxed);
            Ok(rev)
        }
        async fn update(&self, key: &str, value: Bytes, expected: Revision) -> SResult<Revision> {
            tokio::task::yield_now().await;
            let mut st = self.state.lock().unwrap();
            let Some(cur) = st.1.get(key).cloned() else {
                return Err(StorageError::NotFound { key: key.into() });
            };
            if cur.mod_revision != expected {
                self.conflicts.fetch_add(1, Ordering::Relaxed);
                return Err(StorageError::Conflict {
                    key: key.into(),
                    current: Some(Box::new(cur)),
                });
            }
            st.0 += 1;
            let rev = st.0;
            st.1.insert(
                key.into(),
                KeyValue {
                    key: key.into(),
                    value,
                    create_revision: cur.create_revision,
                    mod_revision: rev,
                },
            );
            self.writes.fetch_add(1, Ordering::Relaxed);
            Ok(rev)
        }
        async fn delete(
            &self,
            key: &str,
            _expected: Option<Revision>,
        ) -> SResult<(KeyValue, Revision)> {
            let mut st = self.state.lock().unwrap();
            st.0 += 1;
            let rev = st.0;
            st.1.remove(key)
                .map(|kv| (kv, rev))
                .ok_or(StorageError::NotFound { key: key.into() })
        }
        async fn watch(&self, _prefix: &str, _from: Revision) -> SResult<EventStream> {
            Err(StorageError::Internal(
                "watch is not supported by the test store".into(),
            ))
        }
        async fn compact(&self, _upto: Revision) -> SResult<()> {
            Ok(())
        }
        async fn current_revision(&self) -> SResult<Revision> {
            Ok(self.state.lock().unwrap().0)
        }
    }

    fn alloc(storage: &Arc<MemStorage>) -> ServiceAllocator {
        ServiceAllocator::new(
            storage.clone(),
            "10.96.0.0/12".parse().unwrap(),
            30000..=32767,
        )
    }

    fn svc(name: &str, spec: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"}, "spec": spec})
    }

    #[test]
    fn bitmap_encoding_matches_upstream() {
        let mut bm = Bitmap::new(20);
        assert!(bm.to_bytes().is_empty());
        bm.set(0, true);
        assert_eq!(bm.to_bytes(), vec![1]);
        bm.set(9, true);
        // Bits 0 and 9: the number 0b10_0000_0001 = 0x0201, big-endian.
        assert_eq!(bm.to_bytes(), vec![0x02, 0x01]);
        assert_eq!(Bitmap::from_bytes(20, &[0x02, 0x01]), bm);
        let mut big = Bitmap::new(1 << 20);
        for i in [0, 63, 64, 1000, (1 << 20) - 1] {
            big.set(i, true);
        }
        assert_eq!(Bitmap::from_bytes(1 << 20, &big.to_bytes()), big);
        assert_eq!(big.find_free(0, 100, 63), Some(65));
        let mut full = Bitmap::new(130);
        for i in 0..130 {
            full.set(i, true);
        }
        full.set(3, false);
        assert_eq!(full.find_free(0, 130, 100), Some(3));
    }

    #[tokio::test]
    async fn cluster_ips_and_node_ports() {
        let storage = Arc::new(MemStorage::default());
        let a = alloc(&storage);
        assert_eq!(a.kubernetes_service_ip(), Ipv4Addr::new(10, 96, 0, 1));

        // The kubernetes Service takes the first address by name.
        let mut k = svc(
            "kubernetes",
            json!({"clusterIP": "10.96.0.1", "ports": [{"port": 443}]}),
        );
        let got = a.allocate(&mut k).await.unwrap();
        assert_eq!(got.cluster_ips, vec![Ipv4Addr::new(10, 96, 0, 1)]);
        assert_eq!(k["spec"]["clusterIPs"], json!(["10.96.0.1"]));

        // A dynamic one lands in the cidr, above the static band.
        let mut s = svc(
            "web",
            json!({"type": "NodePort", "ports": [{"name": "a", "port": 80, "protocol": "TCP"}, {"name": "b", "port": 80, "protocol": "UDP"}, {"name": "c", "port": 443, "nodePort": 30443}]}),
        );
        let got = a.allocate(&mut s).await.unwrap();
        let ip: Ipv4Addr = s["spec"]["clusterIP"].as_str().unwrap().parse().unwrap();
        assert!(a.cidr.contains(&ip));
        assert!(u32::from(ip) - u32::from(Ipv4Addr::new(10, 96, 0, 1)) >= 256);
        assert_eq!(s["spec"]["clusterIPs"], json!([ip.to_string()]));
        let np_a = s["spec"]["ports"][0]["nodePort"].as_i64().unwrap();
        assert!((30000..=32767).contains(&np_a));
        assert_eq!(
            s["spec"]["ports"][1]["nodePort"].as_i64().unwrap(),
            np_a,
            "TCP and UDP of one port share a node port"
        );
        assert_eq!(s["spec"]["ports"][2]["nodePort"], 30443);
        assert_eq!(got.node_ports.len(), 2);

        // Taken and out-of-range values are 422s naming the field.
        let mut dup = svc(
            "dup",
            json!({"clusterIP": ip.to_string(), "ports": [{"port": 80}]}),
        );
        let err = a.allocate(&mut dup).await.unwrap_err();
        assert_eq!(err.code, 422);
        assert_eq!(
            err.message,
            format!(
                "Service \"dup\" is invalid: spec.clusterIPs: Invalid value: [\"{ip}\"]: failed to allocate IP {ip}: provided IP is already allocated"
            )
        );
        let mut out = svc(
            "out",
            json!({"clusterIP": "192.168.0.1", "ports": [{"port": 80}]}),
        );
        let err = a.allocate(&mut out).await.unwrap_err();
        assert!(
            err.message
                .contains("is not in the valid range. The range of valid IPs is 10.96.0.0/12"),
            "{}",
            err.message
        );
        let mut port_taken = svc(
            "pt",
            json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30443}]}),
        );
        let err = a.allocate(&mut port_taken).await.unwrap_err();
        assert_eq!(
            err.message,
            "Service \"pt\" is invalid: spec.ports[0].nodePort: Invalid value: 30443: provided port is already allocated"
        );
        // ... and the failed request took nothing: its cluster IP went back.
        let mut port_out = svc(
            "po",
            json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 80}]}),
        );
        let err = a.allocate(&mut port_out).await.unwrap_err();
        assert!(err.message.contains("spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767"), "{}", err.message);

        // Headless and ExternalName take nothing.
        let mut headless = svc("h", json!({"clusterIP": "None", "ports": [{"port": 80}]}));
        assert!(a.allocate(&mut headless).await.unwrap().is_empty());
        assert_eq!(headless["spec"]["clusterIPs"], json!(["None"]));
        let mut ext = svc(
            "e",
            json!({"type": "ExternalName", "externalName": "x.example.com"}),
        );
        assert!(a.allocate(&mut ext).await.unwrap().is_empty());
        assert!(ext["spec"].get("clusterIP").is_none());

        // Release on delete makes the values available again.
        a.release(&s).await;
        let mut again = svc(
            "again",
            json!({"clusterIP": ip.to_string(), "type": "NodePort", "ports": [{"port": 1, "nodePort": 30443}]}),
        );
        a.allocate(&mut again).await.unwrap();

        // Only the held values remain: kubernetes, again's IP and port.
        let other = alloc(&storage);
        let held = other.ips.load(storage.as_ref()).await.unwrap().1;
        let count = (0..held.size).filter(|i| held.get(*i)).count();
        assert_eq!(count, 2);
    }

    #[tokio::test]
    async fn load_balancer_ports_and_health_check() {
        let storage = Arc::new(MemStorage::default());
        let a = alloc(&storage);
        let mut lb = svc(
            "lb",
            json!({"type": "LoadBalancer", "externalTrafficPolicy": "Local", "ports": [{"port": 80}]}),
        );
        let got = a.allocate(&mut lb).await.unwrap();
        assert!(lb["spec"]["ports"][0]["nodePort"].as_i64().is_some());
        assert!(lb["spec"]["healthCheckNodePort"].as_i64().is_some());
        assert_eq!(got.node_ports.len(), 2);
        let mut no_ports = svc(
            "lb2",
            json!({"type": "LoadBalancer", "allocateLoadBalancerNodePorts": false, "ports": [{"port": 80}]}),
        );
        let got = a.allocate(&mut no_ports).await.unwrap();
        assert!(got.node_ports.is_empty());
        assert!(no_ports["spec"]["ports"][0].get("nodePort").is_none());
    }

    #[tokio::test]
    async fn updates_follow_type_changes() {
        let storage = Arc::new(MemStorage::default());
        let a = alloc(&storage);
        let mut old = svc("web", json!({"type": "NodePort", "ports": [{"port": 80}]}));
        a.allocate(&mut old).await.unwrap();
        let old_np = old["spec"]["ports"][0]["nodePort"].as_i64().unwrap() as u16;
        let old_ip: Ipv4Addr = old["spec"]["clusterIP"].as_str().unwrap().parse().unwrap();

        // Unchanged: nothing taken, nothing given back.
        let mut same = old.clone();
        let plan = a.reallocate_for_update(&mut same, &old).await.unwrap();
        assert_eq!(plan, UpdateAllocation::default());

        // NodePort -> ClusterIP (the strategy cleared nodePort): the port goes back on commit.
        let mut to_cip = old.clone();
        to_cip["spec"]["type"] = json!("ClusterIP");
        to_cip["spec"]["ports"][0]
            .as_object_mut()
            .unwrap()
            .remove("nodePort");
        let plan = a.reallocate_for_update(&mut to_cip, &old).await.unwrap();
        assert!(plan.allocated.is_empty());
        assert_eq!(plan.released.node_ports, vec![old_np]);
        a.commit_update(&plan).await;

        // ClusterIP -> NodePort: a port is taken; a failed write gives it back.
        let mut back = to_cip.clone();
        back["spec"]["type"] = json!("NodePort");
        let plan = a.reallocate_for_update(&mut back, &to_cip).await.unwrap();
        assert_eq!(plan.allocated.node_ports.len(), 1);
        assert!(back["spec"]["ports"][0]["nodePort"].as_i64().is_some());
        a.rollback_update(&plan).await;

        // -> ExternalName: the cluster IP goes back.
        let mut ext = to_cip.clone();
        ext["spec"]["type"] = json!("ExternalName");
        ext["spec"].as_object_mut().unwrap().remove("clusterIP");
        ext["spec"].as_object_mut().unwrap().remove("clusterIPs");
        let plan = a.reallocate_for_update(&mut ext, &to_cip).await.unwrap();
        assert_eq!(plan.released.cluster_ips, vec![old_ip]);
        a.commit_update(&plan).await;

        let ips = a.ips.load(storage.as_ref()).await.unwrap().1;
        let ports = a.ports.load(storage.as_ref()).await.unwrap().1;
        assert_eq!((0..ips.size).filter(|i| ips.get(*i)).count(), 0);
        assert_eq!((0..ports.size).filter(|i| ports.get(*i)).count(), 0);
    }

    #[tokio::test]
    async fn small_range_fills_up() {
        let storage = Arc::new(MemStorage::default());
        // A /29 has 6 usable addresses; one is kept for the kubernetes Service.
        let a = ServiceAllocator::new(
            storage.clone(),
            "10.0.0.0/29".parse().unwrap(),
            30000..=30001,
        );
        let mut seen = BTreeSet::new();
        for i in 0..5 {
            let mut s = svc(&format!("s{i}"), json!({"ports": [{"port": 80}]}));
            a.allocate(&mut s).await.unwrap();
            seen.insert(s["spec"]["clusterIP"].as_str().unwrap().to_string());
        }
        assert_eq!(seen.len(), 5);
        assert!(!seen.contains("10.0.0.1"));
        let mut s = svc("full", json!({"ports": [{"port": 80}]}));
        let err = a.allocate(&mut s).await.unwrap_err();
        assert_eq!(err.code, 500);
        assert!(err.message.contains("range is full"), "{}", err.message);
        // The reserved address is still there for the kubernetes Service.
        let mut k = svc(
            "kubernetes",
            json!({"clusterIP": "10.0.0.1", "ports": [{"port": 443}]}),
        );
        a.allocate(&mut k).await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_allocations_from_two_servers_are_distinct() {
        let storage = Arc::new(MemStorage::default());
        let servers = [Arc::new(alloc(&storage)), Arc::new(alloc(&storage))];
        let mut tasks = Vec::new();
        for i in 0..200 {
            let a = servers[i % 2].clone();
            tasks.push(tokio::spawn(async move {
                let mut s = svc(
                    &format!("s{i}"),
                    json!({"type": "NodePort", "ports": [{"port": 80}]}),
                );
                a.allocate(&mut s).await.unwrap();
                (
                    s["spec"]["clusterIP"].as_str().unwrap().to_string(),
                    s["spec"]["ports"][0]["nodePort"].as_i64().unwrap(),
                )
            }));
        }
        let mut ips = BTreeSet::new();
        let mut ports = BTreeSet::new();
        for t in tasks {
            let (ip, port) = t.await.unwrap();
            ips.insert(ip);
            ports.insert(port);
        }
        assert_eq!(ips.len(), 200);
        assert_eq!(ports.len(), 200);
        // One successful write per value; the two servers did race (each lost some CAS).
        assert_eq!(storage.writes.load(Ordering::Relaxed), 400);
        eprintln!(
            "compare-and-swap conflicts between the two servers: {}",
            storage.conflicts.load(Ordering::Relaxed)
        );
        // The stored bitmaps agree with what was handed out.
        let fresh = alloc(&storage);
        let bm = fresh.ips.load(storage.as_ref()).await.unwrap().1;
        assert_eq!((0..bm.size).filter(|i| bm.get(*i)).count(), 200);
        let bm = fresh.ports.load(storage.as_ref()).await.unwrap().1;
        assert_eq!((0..bm.size).filter(|i| bm.get(*i)).count(), 200);
    }

    /// The same race on the real embedded store (durable writes, group commit).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_allocations_on_the_embedded_store() {
        let dir = tempfile::tempdir().unwrap();
        let storage: Arc<dyn Storage> =
            Arc::new(crate::storage::embedded::EmbeddedStorage::open(dir.path()).unwrap());
        let cidr: Ipv4Net = "10.96.0.0/12".parse().unwrap();
        let servers = [
            Arc::new(ServiceAllocator::new(storage.clone(), cidr, 30000..=32767)),
            Arc::new(ServiceAllocator::new(storage.clone(), cidr, 30000..=32767)),
        ];
        let mut tasks = Vec::new();
        for i in 0..200 {
            let a = servers[i % 2].clone();
            tasks.push(tokio::spawn(async move {
                let mut s = svc(&format!("s{i}"), json!({"ports": [{"port": 80}]}));
                a.allocate(&mut s).await.unwrap();
                s["spec"]["clusterIP"].as_str().unwrap().to_string()
            }));
        }
        let mut ips = BTreeSet::new();
        for t in tasks {
            ips.insert(t.await.unwrap());
        }
        assert_eq!(ips.len(), 200);
        let fresh = ServiceAllocator::new(storage.clone(), cidr, 30000..=32767);
        let bm = fresh.ips.load(storage.as_ref()).await.unwrap().1;
        assert_eq!((0..bm.size).filter(|i| bm.get(*i)).count(), 200);
    }

    #[tokio::test]
    async fn stale_cache_sees_other_servers_releases() {
        let storage = Arc::new(MemStorage::default());
        let a = alloc(&storage);
        let b = alloc(&storage);
        let mut s = svc(
            "s",
            json!({"clusterIP": "10.96.0.50", "ports": [{"port": 80}]}),
        );
        a.allocate(&mut s).await.unwrap();
        // b learns the state (its cache now says .50 is taken) ...
        let mut t = svc("t", json!({"ports": [{"port": 80}]}));
        b.allocate(&mut t).await.unwrap();
        // ... then a releases .50, and b must see that rather than trust its cache.
        a.release(&s).await;
        let mut u = svc(
            "u",
            json!({"clusterIP": "10.96.0.50", "ports": [{"port": 80}]}),
        );
        b.allocate(&mut u).await.unwrap();
    }

    #[test]
    fn odd_ranges_do_not_panic() {
        let storage = Arc::new(MemStorage::default());
        for cidr in ["0.0.0.0/0", "10.0.0.0/8", "10.0.0.1/32", "10.0.0.0/31"] {
            let a = ServiceAllocator::new(storage.clone(), cidr.parse().unwrap(), 30000..=30000);
            assert!(a.ips.size <= 1 << 20, "{cidr}");
        }
        #[allow(clippy::reversed_empty_ranges)]
        let a = ServiceAllocator::new(storage.clone(), "10.0.0.0/24".parse().unwrap(), 5..=1);
        assert_eq!(a.ports.size, 0);
    }

    #[tokio::test]
    async fn mismatched_stored_range_is_an_error() {
        let storage = Arc::new(MemStorage::default());
        let a = alloc(&storage);
        let mut s = svc("s", json!({"ports": [{"port": 80}]}));
        a.allocate(&mut s).await.unwrap();
        let other = ServiceAllocator::new(
            storage.clone(),
            "10.0.0.0/16".parse().unwrap(),
            30000..=32767,
        );
        let mut s = svc("s2", json!({"ports": [{"port": 80}]}));
        let err = other.allocate(&mut s).await.unwrap_err();
        assert_eq!(err.code, 500);
    }
}
