//! etcd backend: every operation is one etcd request, so the API server adds no round trip
//! over a raw etcd put (writes are single transactions whose compare carries the CAS).
//!
//! resourceVersion is etcd's `mod_revision`; a list reports the revision it was read at.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use etcd_client::{
    Client, Compare, CompareOp, ConnectOptions, DeleteOptions, EventType, GetOptions, GetResponse,
    KvClient, Txn, TxnOp, TxnOpResponse, TxnResponse, WatchClient, WatchOptions, WatchResponse,
    WatchStream,
};
use futures::StreamExt;

use super::{
    EventStream, KeyValue, ListOptions, ListResult, Result, Revision, Storage, StorageError,
    WatchEvent,
};

/// Bound on establishing a connection (and on the first request proving etcd answers).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Bound on one unary request; for a watch it bounds only the stream's opening.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// HTTP/2 keep-alive so a watch on a dead connection fails instead of hanging silently.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(10);
const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the error path of a compacted list waits to learn the compacted revision.
const COMPACTED_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// gRPC status codes (grpc's `code.proto`) meaning "not reachable now, try again"; compared
/// as numbers because tonic is only an indirect dependency.
const GRPC_CANCELLED: i32 = 1;
const GRPC_UNKNOWN: i32 = 2;
const GRPC_DEADLINE_EXCEEDED: i32 = 4;
const GRPC_UNAVAILABLE: i32 = 14;

/// Attempts of a request that failed before reaching any etcd member (see [`never_sent`]);
/// the back-off doubles from [`RETRY_BACKOFF`] between them, about 1.5 s in all.
const RETRY_ATTEMPTS: u32 = 5;
const RETRY_BACKOFF: Duration = Duration::from_millis(100);

/// The etcd server's error strings (etcd's mvcc and rpctypes packages).
const ERR_COMPACTED: &str = "required revision has been compacted";
const ERR_FUTURE_REV: &str = "required revision is a future revision";
const ERR_NO_LEADER: &str = "no leader";

/// A [`Storage`] over an etcd v3 cluster.
///
/// Cloning is cheap and shares the one HTTP/2 connection (per endpoint) of the client.
#[derive(Clone)]
pub struct EtcdStorage {
    kv: KvClient,
    watch: WatchClient,
}

impl EtcdStorage {
    /// Connects to the given endpoints (`http://host:port`; several for HA, requests are
    /// balanced across them) and checks within [`CONNECT_TIMEOUT`] that the cluster answers a
    /// linearizable read, so a wrong address fails here rather than on the first request.
    pub async fn connect(endpoints: &[String]) -> Result<Self> {
        if endpoints.is_empty() {
            return Err(StorageError::Unavailable("no etcd endpoints given".into()));
        }
        let options = ConnectOptions::new()
            .with_connect_timeout(CONNECT_TIMEOUT)
            .with_timeout(REQUEST_TIMEOUT)
            .with_keep_alive(KEEP_ALIVE_INTERVAL, KEEP_ALIVE_TIMEOUT)
            .with_keep_alive_while_idle(true)
            // A member cut off from the leader must fail requests (and cancel watches) instead
            // of serving a partitioned, stale view.
            .with_require_leader(true);
        let client =
            tokio::time::timeout(CONNECT_TIMEOUT, Client::connect(endpoints, Some(options)))
                .await
                .map_err(|_| unreachable(endpoints))?
                .map_err(map_err)?;
        let storage = Self {
            kv: client.kv_client(),
            watch: client.watch_client(),
        };
        tokio::time::timeout(CONNECT_TIMEOUT, storage.current_revision())
            .await
            .map_err(|_| unreachable(endpoints))??;
        Ok(storage)
    }

    /// The oldest revision etcd still keeps, learnt the only way etcd tells it: a watch from
    /// revision 1 is answered with the compact revision. Used on error paths only.
    async fn compacted_revision(&self) -> Option<Revision> {
        let probe = async {
            let opts = WatchOptions::new().with_start_revision(1);
            let mut stream = self
                .watch
                .clone()
                .watch("\0ferrokube-compaction-probe", Some(opts))
                .await
                .ok()?;
            while let Ok(Some(resp)) = stream.message().await {
                if resp.compact_revision() != 0 {
                    return Some(resp.compact_revision());
                }
            }
            None
        };
        tokio::time::timeout(COMPACTED_PROBE_TIMEOUT, probe)
            .await
            .ok()
            .flatten()
    }

    /// Turns an etcd "compacted" / "future revision" failure of a read at `requested` into the
    /// typed error, with the bound the caller needs for its message.
    async fn revision_error(&self, err: StorageError, requested: Revision) -> StorageError {
        match err {
            StorageError::Compacted { .. } => StorageError::Compacted {
                requested,
                // If the probe fails the best true statement is "newer than requested".
                compacted: self
                    .compacted_revision()
                    .await
                    .unwrap_or(requested.saturating_add(1)),
            },
            StorageError::FutureRevision { .. } => StorageError::FutureRevision {
                requested,
                current: self.current_revision().await.unwrap_or(0),
            },
            other => other,
        }
    }
}

impl EtcdStorage {
    /// One transaction, sent again only if it provably never reached etcd.
    async fn txn(&self, txn: Txn) -> Result<TxnResponse> {
        retry_unsent(|| {
            let mut kv = self.kv.clone();
            let txn = txn.clone();
            async move { kv.txn(txn).await }
        })
        .await
        .map_err(map_err)
    }
}

fn unreachable(endpoints: &[String]) -> StorageError {
    StorageError::Unavailable(format!(
        "etcd at {} did not answer within {CONNECT_TIMEOUT:?}",
        endpoints.join(",")
    ))
}

/// True when a request failed without being executed by etcd, so sending it again cannot apply
/// it twice: the connection to the chosen member could not be opened (the client balances
/// across all endpoints and may pick a dead member until it notices), or the member refused it
/// because it has no leader (`require_leader` rejects before proposing anything).
fn never_sent(err: &etcd_client::Error) -> bool {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text.contains("tcp connect error")
        || text.contains("Connection refused")
        || text.contains("etcdserver: no leader")
}

/// Runs `op` again while it fails in a way [`never_sent`] proves harmless, so one dead member
/// of an etcd cluster does not turn into failed API requests while live members remain.
async fn retry_unsent<T, F, Fut>(mut op: F) -> std::result::Result<T, etcd_client::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, etcd_client::Error>>,
{
    let mut backoff = RETRY_BACKOFF;
    let mut attempt = 1;
    loop {
        match op().await {
            Err(e) if attempt < RETRY_ATTEMPTS && never_sent(&e) => {
                tracing::debug!(error = %e, attempt, "etcd request not sent; retrying");
                tokio::time::sleep(backoff).await;
                backoff *= 2;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Maps a client error to the storage error kinds callers act on.
fn map_err(err: etcd_client::Error) -> StorageError {
    let msg = err.to_string();
    if msg.contains(ERR_COMPACTED) {
        // The real bounds are filled in by `EtcdStorage::revision_error`.
        return StorageError::Compacted {
            requested: 0,
            compacted: 0,
        };
    }
    if msg.contains(ERR_FUTURE_REV) {
        return StorageError::FutureRevision {
            requested: 0,
            current: 0,
        };
    }
    let retryable = match &err {
        etcd_client::Error::TransportError(_) | etcd_client::Error::IoError(_) => true,
        etcd_client::Error::GRpcStatus(status) => {
            matches!(
                status.code() as i32,
                GRPC_CANCELLED | GRPC_DEADLINE_EXCEEDED | GRPC_UNAVAILABLE
            )
            // tonic reports a connection broken mid-stream (h2/hyper I/O) as status
            // Unknown with the transport error as its source; the server never sets one.
            || (status.code() as i32 == GRPC_UNKNOWN
                && std::error::Error::source(status).is_some())
        }
        _ => false,
    };
    if retryable || msg.contains(ERR_NO_LEADER) {
        StorageError::Unavailable(msg)
    } else {
        StorageError::Internal(msg)
    }
}

fn header_revision(header: Option<&etcd_client::ResponseHeader>) -> Result<Revision> {
    header
        .map(|h| h.revision())
        .ok_or_else(|| StorageError::Internal("etcd response without header".into()))
}

fn convert_kv(kv: etcd_client::KeyValue) -> Result<KeyValue> {
    let (create_revision, mod_revision) = (kv.create_revision(), kv.mod_revision());
    let (key, value) = kv.into_key_value();
    let key = String::from_utf8(key)
        .map_err(|e| StorageError::Internal(format!("non-UTF-8 key in etcd: {e}")))?;
    Ok(KeyValue {
        key,
        value: Bytes::from(value),
        create_revision,
        mod_revision,
    })
}

/// The first key after every key starting with `prefix` (etcd's prefix range end); `\0` means
/// "to the end of the keyspace".
fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

/// The first key of the range holding every key that starts with `prefix`. etcd rejects an
/// empty key, and NUL is the smallest non-empty key, so "" starts at "\0".
fn prefix_start(prefix: &str) -> &str {
    if prefix.is_empty() { "\0" } else { prefix }
}

/// The key's current value from the `get` in a failed transaction's else branch.
fn current_from_else(resp: &TxnResponse) -> Result<Option<KeyValue>> {
    for op in resp.op_responses() {
        if let TxnOpResponse::Get(mut get) = op {
            return get
                .take_kvs()
                .into_iter()
                .next()
                .map(convert_kv)
                .transpose();
        }
    }
    Err(StorageError::Internal(
        "etcd transaction answered without its else branch".into(),
    ))
}

fn conflict_or_not_found(key: &str, current: Option<KeyValue>) -> StorageError {
    match current {
        None => StorageError::NotFound {
            key: key.to_owned(),
        },
        Some(kv) => StorageError::Conflict {
            key: key.to_owned(),
            current: Some(Box::new(kv)),
        },
    }
}

#[async_trait::async_trait]
impl Storage for EtcdStorage {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        let mut resp = retry_unsent(|| {
            let mut kv = self.kv.clone();
            async move { kv.get(key, None).await }
        })
        .await
        .map_err(map_err)?;
        resp.take_kvs()
            .into_iter()
            .next()
            .map(convert_kv)
            .transpose()
    }

    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult> {
        let end = prefix_end(prefix);
        // Resume strictly after `start_after`: the smallest key greater than it is itself
        // followed by a NUL byte. Never start before the prefix.
        let start = match &opts.start_after {
            Some(after) if after.as_str() >= prefix => format!("{after}\0"),
            _ => prefix_start(prefix).to_owned(),
        };
        let mut get = GetOptions::new().with_range(end);
        if let Some(limit) = opts.limit {
            // etcd treats 0 as "no limit", which is also this trait's meaning of Some(0).
            get = get.with_limit(i64::try_from(limit).unwrap_or(i64::MAX));
        }
        if let Some(rev) = opts.revision {
            get = get.with_revision(rev);
        }
        let resp: GetResponse = match retry_unsent(|| {
            let mut kv = self.kv.clone();
            let (start, get) = (start.clone(), get.clone());
            async move { kv.get(start, Some(get)).await }
        })
        .await
        {
            Ok(resp) => resp,
            Err(e) => {
                let err = map_err(e);
                return Err(match opts.revision {
                    Some(rev) => self.revision_error(err, rev).await,
                    None => err,
                });
            }
        };
        let mut resp = resp;
        let header = header_revision(resp.header())?;
        // `count` is the number of keys in [start, end), so it already excludes the keys up to
        // `start_after`.
        let count = resp.count();
        let items = resp
            .take_kvs()
            .into_iter()
            .map(convert_kv)
            .collect::<Result<Vec<_>>>()?;
        let returned = i64::try_from(items.len()).unwrap_or(i64::MAX);
        Ok(ListResult {
            items,
            // A list at an older revision reflects that revision, not etcd's current one.
            revision: opts.revision.unwrap_or(header),
            remaining: (count - returned).max(0),
        })
    }

    async fn count(&self, prefix: &str) -> Result<i64> {
        let opts = GetOptions::new()
            .with_range(prefix_end(prefix))
            .with_count_only();
        let resp = retry_unsent(|| {
            let mut kv = self.kv.clone();
            let opts = opts.clone();
            async move { kv.get(prefix_start(prefix), Some(opts)).await }
        })
        .await
        .map_err(map_err)?;
        Ok(resp.count())
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<Revision> {
        // create_revision == 0 means "absent" to etcd.
        let txn = Txn::new()
            .when([Compare::create_revision(key, CompareOp::Equal, 0)])
            .and_then([TxnOp::put(key, Vec::from(value), None)]);
        let resp = self.txn(txn).await?;
        if !resp.succeeded() {
            return Err(StorageError::AlreadyExists {
                key: key.to_owned(),
            });
        }
        header_revision(resp.header())
    }

    async fn update(&self, key: &str, value: Bytes, expected: Revision) -> Result<Revision> {
        if expected <= 0 {
            // etcd's compare `mod_revision == 0` matches an absent key, which would turn this
            // update into a create. No existing key has such a revision: report what is there.
            let current = self.get(key).await?;
            return Err(conflict_or_not_found(key, current));
        }
        let txn = Txn::new()
            .when([Compare::mod_revision(key, CompareOp::Equal, expected)])
            .and_then([TxnOp::put(key, Vec::from(value), None)])
            .or_else([TxnOp::get(key, None)]);
        let resp = self.txn(txn).await?;
        if resp.succeeded() {
            header_revision(resp.header())
        } else {
            Err(conflict_or_not_found(key, current_from_else(&resp)?))
        }
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<(KeyValue, Revision)> {
        let with_prev = || Some(DeleteOptions::new().with_prev_key());
        let resp = match expected {
            None => {
                let mut resp = retry_unsent(|| {
                    let mut kv = self.kv.clone();
                    async move { kv.delete(key, with_prev()).await }
                })
                .await
                .map_err(map_err)?;
                let revision = header_revision(resp.header())?;
                let prev = resp.take_prev_kvs().into_iter().next().ok_or_else(|| {
                    StorageError::NotFound {
                        key: key.to_owned(),
                    }
                })?;
                return Ok((convert_kv(prev)?, revision));
            }
            Some(expected) if expected <= 0 => {
                // See `update`: a zero compare would match an absent key.
                let current = self.get(key).await?;
                return Err(conflict_or_not_found(key, current));
            }
            Some(expected) => {
                let txn = Txn::new()
                    .when([Compare::mod_revision(key, CompareOp::Equal, expected)])
                    .and_then([TxnOp::delete(key, with_prev())])
                    .or_else([TxnOp::get(key, None)]);
                self.txn(txn).await?
            }
        };
        if !resp.succeeded() {
            return Err(conflict_or_not_found(key, current_from_else(&resp)?));
        }
        let revision = header_revision(resp.header())?;
        for op in resp.op_responses() {
            if let TxnOpResponse::Delete(mut del) = op
                && let Some(prev) = del.take_prev_kvs().into_iter().next()
            {
                return Ok((convert_kv(prev)?, revision));
            }
        }
        Err(StorageError::Internal(
            "etcd delete transaction succeeded without the deleted value".into(),
        ))
    }

    async fn watch(&self, prefix: &str, from: Revision) -> Result<EventStream> {
        let start = from.saturating_add(1).max(1);
        let opts = WatchOptions::new()
            .with_range(prefix_end(prefix))
            .with_start_revision(start);
        let stream = retry_unsent(|| {
            let mut watch = self.watch.clone();
            let opts = opts.clone();
            async move { watch.watch(prefix_start(prefix), Some(opts)).await }
        })
        .await
        .map_err(map_err)?;
        let state = WatchState {
            stream,
            requested: from,
            pending: VecDeque::new(),
            done: false,
        };
        Ok(Box::pin(futures::stream::unfold(state, WatchState::next)))
    }

    async fn compact(&self, upto: Revision) -> Result<()> {
        match self.kv.clone().compact(upto, None).await.map_err(map_err) {
            Ok(_) => Ok(()),
            // Already compacted at or past `upto`: the request's goal already holds.
            Err(StorageError::Compacted { .. }) => Ok(()),
            Err(StorageError::FutureRevision { .. }) => Err(StorageError::FutureRevision {
                requested: upto,
                current: self.current_revision().await.unwrap_or(0),
            }),
            Err(e) => Err(e),
        }
    }

    async fn current_revision(&self) -> Result<Revision> {
        // Any linearizable read carries the store revision in its header; a count of one key
        // moves no data.
        let opts = GetOptions::new().with_count_only();
        let resp = retry_unsent(|| {
            let mut kv = self.kv.clone();
            let opts = opts.clone();
            async move { kv.get("\0", Some(opts)).await }
        })
        .await
        .map_err(map_err)?;
        header_revision(resp.header())
    }
}

/// The etcd watch stream turned into [`WatchEvent`]s. It ends after yielding its first error:
/// a watch that can no longer guarantee "every change, in order" must not continue.
struct WatchState {
    // Keeping the whole stream (not just its receiving half) keeps the request side open.
    stream: WatchStream,
    requested: Revision,
    pending: VecDeque<WatchEvent>,
    done: bool,
}

impl WatchState {
    async fn next(mut self) -> Option<(Result<WatchEvent>, Self)> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some((Ok(event), self));
            }
            if self.done {
                return None;
            }
            let resp = match self.stream.next().await {
                Some(Ok(resp)) => resp,
                Some(Err(e)) => return self.fail(map_err(e)),
                None => {
                    return self.fail(StorageError::Unavailable(
                        "etcd closed the watch stream".into(),
                    ));
                }
            };
            if let Err(e) = self.take_events(resp) {
                return self.fail(e);
            }
        }
    }

    fn fail(mut self, err: StorageError) -> Option<(Result<WatchEvent>, Self)> {
        self.done = true;
        self.pending.clear();
        Some((Err(err), self))
    }

    fn take_events(&mut self, resp: WatchResponse) -> Result<()> {
        if resp.compact_revision() != 0 {
            return Err(StorageError::Compacted {
                requested: self.requested,
                compacted: resp.compact_revision(),
            });
        }
        if resp.canceled() {
            let reason = resp.cancel_reason();
            return Err(if reason.contains(ERR_NO_LEADER) {
                StorageError::Unavailable(format!("etcd canceled the watch: {reason}"))
            } else {
                StorageError::Internal(format!("etcd canceled the watch: {reason}"))
            });
        }
        for event in resp.events() {
            let Some(kv) = event.kv() else { continue };
            let mapped = match event.event_type() {
                EventType::Put => WatchEvent::Put(convert_kv(kv.clone())?),
                EventType::Delete => WatchEvent::Delete {
                    key: String::from_utf8(kv.key().to_vec()).map_err(|e| {
                        StorageError::Internal(format!("non-UTF-8 key in etcd: {e}"))
                    })?,
                    // etcd reports a delete with the key's mod_revision set to the delete's.
                    revision: kv.mod_revision(),
                },
            };
            self.pending.push_back(mapped);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn prefix_end_increments_last_byte() {
        assert_eq!(prefix_end("/registry/pods/"), b"/registry/pods0".to_vec());
        assert_eq!(prefix_end(""), vec![0]);
    }
}
