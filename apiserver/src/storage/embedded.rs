//! Embedded backend: an in-process MVCC store with etcd's revision and watch semantics,
//! persisted through redb (chosen by measurement: BENCHMARKS.md, "Embedded store engine
//! choice").
//!
//! Shape:
//! - reads are served from memory (`State`: latest key-values in a `BTreeMap`, plus a ring of
//!   recent changes for watches and lists at an older revision);
//! - every write is a message to one writer thread, which group-commits: it drains what is
//!   queued, checks each op against the state plus the earlier ops of the same batch, commits
//!   the accepted ones in ONE durable (fsynced) redb transaction, and only then applies them to
//!   memory, wakes the watchers and answers the callers. So an acknowledged write is on disk,
//!   and no reader ever sees a write that could still be lost.
//! - only the latest values and the store revision are persisted; history is memory-only, so
//!   after a restart the store is "compacted" at the revision it reopened at.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::JoinHandle;

use bytes::Bytes;
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use tokio::sync::{mpsc, oneshot, watch};

use super::{
    EventStream, KeyValue, ListOptions, ListResult, Result, Revision, Storage, StorageError,
    WatchEvent,
};

/// Tunables of the embedded store.
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    /// How many recent changes are kept in memory for watches (and lists) at an older revision.
    /// A watch further behind than this fails with `Compacted`.
    pub history_limit: usize,
    /// Most ops committed in one durable transaction.
    pub max_batch: usize,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        Self {
            history_limit: 100_000,
            // Large enough that 64+ concurrent writers share one fsync; small enough that one
            // commit stays around a millisecond.
            max_batch: 256,
        }
    }
}

/// The revision of a fresh store. Like etcd, start at 1 so that no list or object ever
/// carries resourceVersion "0", which Kubernetes clients read as "any".
const INITIAL_REVISION: Revision = 1;
/// Queued writes beyond this make callers wait (back-pressure instead of unbounded memory).
const QUEUE_CAPACITY: usize = 4096;
/// Most changes a watcher copies per lock hold, so a far-behind watcher cannot stall writes.
const WATCH_SCAN_CHUNK: usize = 1024;

/// The in-process store. Dropping it stops the writer (after the batch in flight) and closes
/// the database; watch streams still open then end with `Unavailable`.
pub struct EmbeddedStorage {
    shared: Arc<Shared>,
    writer: Option<Writer>,
}

struct Writer {
    ops: mpsc::Sender<Pending>,
    thread: JoinHandle<()>,
}

/// What readers, watchers and the writer share.
struct Shared {
    state: RwLock<State>,
    /// The revision last applied; watchers wait on it. Its sender lives in the writer thread,
    /// so it closes (and watchers end) when the writer stops.
    applied: watch::Receiver<Revision>,
}

struct State {
    data: BTreeMap<String, KeyValue>,
    revision: Revision,
    /// Every change with revision > `base`, oldest first. Each write takes exactly one
    /// revision, so the change at index `i` has revision `base + 1 + i`.
    history: VecDeque<Change>,
    /// The oldest revision the store can still serve: lists at it and watches from it work,
    /// anything older is `Compacted`.
    base: Revision,
    history_limit: usize,
}

/// One committed write with the value it replaced (what a list at an older revision needs).
#[derive(Debug, Clone)]
struct Change {
    event: WatchEvent,
    prev: Option<KeyValue>,
}

impl Change {
    fn key(&self) -> &str {
        match &self.event {
            WatchEvent::Put(kv) => &kv.key,
            WatchEvent::Delete { key, .. } => key,
            // Never stored in history.
            WatchEvent::Progress { .. } => "",
        }
    }

    fn revision(&self) -> Revision {
        self.event.revision()
    }
}

enum Op {
    Create {
        key: String,
        value: Bytes,
    },
    Update {
        key: String,
        value: Bytes,
        expected: Revision,
    },
    Delete {
        key: String,
        expected: Option<Revision>,
    },
}

impl Op {
    fn key(&self) -> &str {
        match self {
            Op::Create { key, .. } | Op::Update { key, .. } | Op::Delete { key, .. } => key,
        }
    }
}

/// The answer to a write: its revision and the value it replaced.
struct Applied {
    revision: Revision,
    prev: Option<KeyValue>,
}

struct Pending {
    op: Op,
    reply: oneshot::Sender<Result<Applied>>,
}

fn read(lock: &RwLock<State>) -> RwLockReadGuard<'_, State> {
    // A panic while holding the lock cannot leave `State` half-updated in a way that matters
    // more than refusing service would, and no code path panics while holding it.
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write(lock: &RwLock<State>) -> RwLockWriteGuard<'_, State> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

impl EmbeddedStorage {
    /// Opens (or creates) the store in `dir` with default options.
    pub fn open(dir: &Path) -> Result<Self> {
        Self::open_with(dir, EmbeddedOptions::default())
    }

    pub fn open_with(dir: &Path, options: EmbeddedOptions) -> Result<Self> {
        let (disk, data, revision) = Disk::open(dir)?;
        let state = State {
            data,
            revision,
            history: VecDeque::new(),
            // History is not persisted: after a restart only the current revision is served.
            base: revision,
            history_limit: options.history_limit.max(1),
        };
        let (applied_tx, applied_rx) = watch::channel(revision);
        let shared = Arc::new(Shared {
            state: RwLock::new(state),
            applied: applied_rx,
        });
        let (ops_tx, ops_rx) = mpsc::channel(QUEUE_CAPACITY);
        let writer_shared = shared.clone();
        let max_batch = options.max_batch.max(1);
        // A plain thread, not a tokio task: each iteration blocks in fsync.
        let thread = std::thread::Builder::new()
            .name("embedded-store-writer".into())
            .spawn(move || run_writer(disk, writer_shared, ops_rx, applied_tx, max_batch))
            .map_err(|e| StorageError::Internal(format!("cannot start the writer thread: {e}")))?;
        Ok(Self {
            shared,
            writer: Some(Writer {
                ops: ops_tx,
                thread,
            }),
        })
    }

    async fn submit(&self, op: Op) -> Result<Applied> {
        let closed = || StorageError::Unavailable("embedded store is closed".into());
        let writer = self.writer.as_ref().ok_or_else(closed)?;
        let (reply, answer) = oneshot::channel();
        writer
            .ops
            .send(Pending { op, reply })
            .await
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

impl Drop for EmbeddedStorage {
    fn drop(&mut self) {
        if let Some(Writer { ops, thread }) = self.writer.take() {
            // Closing the queue ends the writer's loop; joining waits for the batch in flight
            // and for the database to close, so the directory can be reopened right away.
            drop(ops);
            if thread.join().is_err() {
                tracing::error!("embedded store writer thread panicked");
            }
        }
    }
}

#[async_trait::async_trait]
impl Storage for EmbeddedStorage {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        Ok(read(&self.shared.state).data.get(key).cloned())
    }

    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult> {
        read(&self.shared.state).list(prefix, &opts)
    }

    async fn count(&self, prefix: &str) -> Result<i64> {
        let state = read(&self.shared.state);
        let n = under_prefix(&state.data, prefix, None).count();
        Ok(i64::try_from(n).unwrap_or(i64::MAX))
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<Revision> {
        let op = Op::Create {
            key: key.to_owned(),
            value,
        };
        Ok(self.submit(op).await?.revision)
    }

    async fn update(&self, key: &str, value: Bytes, expected: Revision) -> Result<Revision> {
        let op = Op::Update {
            key: key.to_owned(),
            value,
            expected,
        };
        Ok(self.submit(op).await?.revision)
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<(KeyValue, Revision)> {
        let op = Op::Delete {
            key: key.to_owned(),
            expected,
        };
        let applied = self.submit(op).await?;
        let prev = applied.prev.ok_or_else(|| {
            StorageError::Internal("embedded store deleted without a previous value".into())
        })?;
        Ok((prev, applied.revision))
    }

    async fn watch(&self, prefix: &str, from: Revision) -> Result<EventStream> {
        {
            let state = read(&self.shared.state);
            if from < state.base {
                return Err(StorageError::Compacted {
                    requested: from,
                    compacted: state.base,
                });
            }
        }
        let watcher = Watcher {
            shared: self.shared.clone(),
            applied: self.shared.applied.clone(),
            prefix: prefix.to_owned(),
            last: from,
            pending: VecDeque::new(),
            done: false,
        };
        Ok(Box::pin(futures::stream::unfold(watcher, Watcher::next)))
    }

    async fn compact(&self, upto: Revision) -> Result<()> {
        let mut state = write(&self.shared.state);
        if upto > state.revision {
            return Err(StorageError::FutureRevision {
                requested: upto,
                current: state.revision,
            });
        }
        while state.base < upto && state.history.pop_front().is_some() {
            state.base += 1;
        }
        Ok(())
    }

    async fn current_revision(&self) -> Result<Revision> {
        Ok(read(&self.shared.state).revision)
    }
}

/// Keys under `prefix` (strictly after `start_after` when given), in order.
fn under_prefix<'a>(
    data: &'a BTreeMap<String, KeyValue>,
    prefix: &'a str,
    start_after: Option<&'a str>,
) -> impl Iterator<Item = (&'a str, &'a KeyValue)> + 'a {
    let start = match start_after {
        Some(after) if after >= prefix => Bound::Excluded(after),
        _ => Bound::Included(prefix),
    };
    data.range::<str, _>((start, Bound::Unbounded))
        .take_while(move |(k, _)| k.starts_with(prefix))
        .map(|(k, v)| (k.as_str(), v))
}

impl State {
    fn list(&self, prefix: &str, opts: &ListOptions) -> Result<ListResult> {
        // Like etcd, a revision <= 0 means "the latest".
        let at = match opts.revision {
            Some(rev) if rev > self.revision => {
                return Err(StorageError::FutureRevision {
                    requested: rev,
                    current: self.revision,
                });
            }
            Some(rev) if rev > 0 && rev < self.base => {
                return Err(StorageError::Compacted {
                    requested: rev,
                    compacted: self.base,
                });
            }
            Some(rev) if rev > 0 => rev,
            _ => self.revision,
        };
        let start_after = opts.start_after.as_deref();
        let in_range =
            |key: &str| key.starts_with(prefix) && start_after.is_none_or(|after| key > after);

        // The state at `at` = the latest state with every later change undone. Walking the
        // later changes newest first and keeping the last `prev` seen per key leaves, for each
        // key changed since `at`, its value as of `at` (None: it did not exist then).
        let mut undone: BTreeMap<&str, Option<&KeyValue>> = BTreeMap::new();
        if at < self.revision {
            let first_later = usize::try_from(at - self.base).unwrap_or(usize::MAX);
            for change in self.history.range(first_later..).rev() {
                if in_range(change.key()) {
                    undone.insert(change.key(), change.prev.as_ref());
                }
            }
        }

        let limit = match opts.limit {
            Some(0) | None => usize::MAX,
            Some(n) => n,
        };
        let mut items = Vec::new();
        let mut remaining: i64 = 0;
        let current = under_prefix(&self.data, prefix, start_after).map(|(k, v)| (k, Some(v)));
        let past = undone.into_iter();
        for (_, kv) in merge_overriding(current, past) {
            let Some(kv) = kv else { continue };
            if items.len() < limit {
                items.push(kv.clone());
            } else {
                remaining += 1;
            }
        }
        Ok(ListResult {
            items,
            revision: at,
            remaining,
        })
    }

    /// Applies committed changes and trims history to its bound.
    fn apply(&mut self, changes: Vec<Change>) {
        for change in changes {
            match &change.event {
                WatchEvent::Put(kv) => {
                    self.data.insert(kv.key.clone(), kv.clone());
                }
                WatchEvent::Delete { key, .. } => {
                    self.data.remove(key);
                }
                WatchEvent::Progress { .. } => {}
            }
            self.revision = change.revision();
            self.history.push_back(change);
        }
        while self.history.len() > self.history_limit && self.history.pop_front().is_some() {
            self.base += 1;
        }
    }
}

/// Merges two key-sorted sequences; where both have a key, `overrides` wins.
fn merge_overriding<'a, V>(
    base: impl Iterator<Item = (&'a str, V)>,
    overrides: impl Iterator<Item = (&'a str, V)>,
) -> impl Iterator<Item = (&'a str, V)> {
    let mut base = base.peekable();
    let mut overrides = overrides.peekable();
    std::iter::from_fn(move || match (base.peek(), overrides.peek()) {
        (Some((b, _)), Some((o, _))) => match b.cmp(o) {
            std::cmp::Ordering::Less => base.next(),
            std::cmp::Ordering::Greater => overrides.next(),
            std::cmp::Ordering::Equal => {
                base.next();
                overrides.next()
            }
        },
        (Some(_), None) => base.next(),
        (None, Some(_)) => overrides.next(),
        (None, None) => None,
    })
}

// ---------------------------------------------------------------------------------------------
// The writer: group commit.

fn run_writer(
    mut disk: Disk,
    shared: Arc<Shared>,
    mut ops: mpsc::Receiver<Pending>,
    applied: watch::Sender<Revision>,
    max_batch: usize,
) {
    let mut batch = Vec::with_capacity(max_batch);
    // Set when a commit failed: whether that batch reached the disk is then unknown (a failed
    // fsync may or may not have persisted it), so memory and disk could disagree. Refuse
    // every later write rather than build on an unknown state; reopening recovers.
    let mut broken: Option<String> = None;
    while let Some(first) = ops.blocking_recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match ops.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        if let Some(reason) = &broken {
            for p in batch.drain(..) {
                let _ = p.reply.send(Err(StorageError::Unavailable(reason.clone())));
            }
            continue;
        }

        let (changes, replies) = {
            let state = read(&shared.state);
            plan(&state, batch.drain(..))
        };
        if changes.is_empty() {
            continue;
        }
        if let Err(e) = disk.commit(&changes) {
            let reason = format!("embedded store commit failed, writes refused: {e}");
            tracing::error!("{reason}");
            for reply in replies {
                let _ = reply.send(Err(StorageError::Unavailable(reason.clone())));
            }
            broken = Some(reason);
            continue;
        }
        // Only a delete answers with the value it replaced.
        let answers: Vec<Applied> = changes
            .iter()
            .map(|c| Applied {
                revision: c.revision(),
                prev: match c.event {
                    WatchEvent::Delete { .. } => c.prev.clone(),
                    _ => None,
                },
            })
            .collect();
        let revision = {
            let mut state = write(&shared.state);
            state.apply(changes);
            state.revision
        };
        applied.send_replace(revision);
        for (reply, answer) in replies.into_iter().zip(answers) {
            // The caller may have gone away; the write stands regardless, as with etcd.
            let _ = reply.send(Ok(answer));
        }
    }
}

type Reply = oneshot::Sender<Result<Applied>>;

/// Checks each op against the state plus the earlier ops of the batch, answers the refused
/// ones at once, and returns the accepted ones as changes with consecutive revisions (and,
/// index for index, whom to answer).
fn plan(state: &State, batch: impl Iterator<Item = Pending>) -> (Vec<Change>, Vec<Reply>) {
    // Keys written earlier in this batch: their value after those writes (None = deleted).
    let mut touched: HashMap<String, Option<KeyValue>> = HashMap::new();
    let mut changes = Vec::new();
    let mut replies = Vec::new();
    let mut next = state.revision + 1;
    for Pending { op, reply } in batch {
        let key = op.key();
        let current = match touched.get(key) {
            Some(v) => v.clone(),
            None => state.data.get(key).cloned(),
        };
        match check(op, current, next) {
            Ok(change) => {
                let after = match &change.event {
                    WatchEvent::Put(kv) => Some(kv.clone()),
                    _ => None,
                };
                touched.insert(change.key().to_owned(), after);
                changes.push(change);
                replies.push(reply);
                next += 1;
            }
            Err(e) => {
                let _ = reply.send(Err(e));
            }
        }
    }
    (changes, replies)
}

/// The change `op` makes at `revision` given the key's `current` value, or why it is refused.
fn check(op: Op, current: Option<KeyValue>, revision: Revision) -> Result<Change> {
    let conflict = |key: String, current: KeyValue| StorageError::Conflict {
        key,
        current: Some(Box::new(current)),
    };
    match (op, current) {
        (Op::Create { key, .. }, Some(_)) => Err(StorageError::AlreadyExists { key }),
        (Op::Create { key, value }, None) => Ok(Change {
            event: WatchEvent::Put(KeyValue {
                key,
                value,
                create_revision: revision,
                mod_revision: revision,
            }),
            prev: None,
        }),
        (Op::Update { key, .. } | Op::Delete { key, .. }, None) => {
            Err(StorageError::NotFound { key })
        }
        (Op::Update { key, expected, .. }, Some(cur)) if cur.mod_revision != expected => {
            Err(conflict(key, cur))
        }
        (Op::Update { key, value, .. }, Some(cur)) => Ok(Change {
            event: WatchEvent::Put(KeyValue {
                key,
                value,
                create_revision: cur.create_revision,
                mod_revision: revision,
            }),
            prev: Some(cur),
        }),
        (
            Op::Delete {
                key,
                expected: Some(expected),
            },
            Some(cur),
        ) if cur.mod_revision != expected => Err(conflict(key, cur)),
        (Op::Delete { key, .. }, Some(cur)) => Ok(Change {
            event: WatchEvent::Delete { key, revision },
            prev: Some(cur),
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// Watch: each watcher reads the shared history ring from its own position, so a slow watcher
// costs no memory of its own and cannot miss an event: if it falls behind the ring it gets
// `Compacted` and ends.

struct Watcher {
    shared: Arc<Shared>,
    applied: watch::Receiver<Revision>,
    prefix: String,
    /// The revision up to which changes have been examined.
    last: Revision,
    pending: VecDeque<WatchEvent>,
    done: bool,
}

impl Watcher {
    async fn next(mut self) -> Option<(Result<WatchEvent>, Self)> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some((Ok(event), self));
            }
            if self.done {
                return None;
            }
            // Mark the current revision seen before scanning, so a write applied after the
            // scan makes `changed` return at once instead of being missed.
            self.applied.borrow_and_update();
            if let Err(e) = self.scan() {
                self.done = true;
                return Some((Err(e), self));
            }
            if !self.pending.is_empty() {
                continue;
            }
            if self.applied.changed().await.is_err() {
                self.done = true;
                let closed = StorageError::Unavailable("embedded store closed".into());
                return Some((Err(closed), self));
            }
        }
    }

    /// Copies the next chunk of matching changes after `last` into `pending`.
    fn scan(&mut self) -> Result<()> {
        let state = read(&self.shared.state);
        if self.last < state.base {
            return Err(StorageError::Compacted {
                requested: self.last,
                compacted: state.base,
            });
        }
        if self.last >= state.revision {
            return Ok(());
        }
        let first = usize::try_from(self.last - state.base).unwrap_or(usize::MAX);
        for change in state.history.range(first..).take(WATCH_SCAN_CHUNK) {
            self.last = change.revision();
            if change.key().starts_with(&self.prefix) {
                self.pending.push_back(change.event.clone());
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Persistence: redb holds the latest value of every key and the store revision.

/// key -> record (see `encode`).
const KV: TableDefinition<&str, &[u8]> = TableDefinition::new("kv");
/// "revision" -> the store revision as of the last commit.
const META: TableDefinition<&str, i64> = TableDefinition::new("meta");
const META_REVISION: &str = "revision";
const DB_FILE: &str = "store.redb";

struct Disk {
    db: redb::Database,
}

fn disk_err(e: impl std::fmt::Display) -> StorageError {
    StorageError::Internal(format!("embedded store: {e}"))
}

/// Record layout: create_revision (8 bytes BE), mod_revision (8 bytes BE), value.
fn encode(kv: &KeyValue) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + kv.value.len());
    out.extend_from_slice(&kv.create_revision.to_be_bytes());
    out.extend_from_slice(&kv.mod_revision.to_be_bytes());
    out.extend_from_slice(&kv.value);
    out
}

fn decode(key: &str, record: &[u8]) -> Result<KeyValue> {
    let corrupt = || disk_err(format!("corrupt record for {key}"));
    let (create, rest) = record.split_first_chunk::<8>().ok_or_else(corrupt)?;
    let (modr, value) = rest.split_first_chunk::<8>().ok_or_else(corrupt)?;
    Ok(KeyValue {
        key: key.to_owned(),
        value: Bytes::copy_from_slice(value),
        create_revision: i64::from_be_bytes(*create),
        mod_revision: i64::from_be_bytes(*modr),
    })
}

impl Disk {
    /// Opens the database and loads every key and the store revision.
    fn open(dir: &Path) -> Result<(Self, BTreeMap<String, KeyValue>, Revision)> {
        std::fs::create_dir_all(dir).map_err(disk_err)?;
        // redb locks the file, so a second process opening the same store fails here.
        let db = redb::Database::create(dir.join(DB_FILE)).map_err(disk_err)?;
        let tx = db.begin_write().map_err(disk_err)?;
        {
            tx.open_table(KV).map_err(disk_err)?;
            let mut meta = tx.open_table(META).map_err(disk_err)?;
            if meta.get(META_REVISION).map_err(disk_err)?.is_none() {
                meta.insert(META_REVISION, INITIAL_REVISION)
                    .map_err(disk_err)?;
            }
        }
        tx.commit().map_err(disk_err)?;

        let tx = db.begin_read().map_err(disk_err)?;
        let mut revision = tx
            .open_table(META)
            .map_err(disk_err)?
            .get(META_REVISION)
            .map_err(disk_err)?
            .map(|v| v.value())
            .unwrap_or(INITIAL_REVISION);
        let mut data = BTreeMap::new();
        for entry in tx
            .open_table(KV)
            .map_err(disk_err)?
            .iter()
            .map_err(disk_err)?
        {
            let (key, record) = entry.map_err(disk_err)?;
            let kv = decode(key.value(), record.value())?;
            // The revision is committed with the data, so this never moves it; it guards the
            // one rule that must hold whatever happened: revisions never go backwards.
            revision = revision.max(kv.mod_revision);
            data.insert(kv.key.clone(), kv);
        }
        drop(tx);
        Ok((Self { db }, data, revision))
    }

    /// Writes `changes` and the new store revision in one transaction, durable on return
    /// (redb's default `Durability::Immediate` fsyncs on commit).
    fn commit(&mut self, changes: &[Change]) -> Result<()> {
        let Some(last) = changes.last() else {
            return Ok(());
        };
        let tx = self.db.begin_write().map_err(disk_err)?;
        {
            let mut kv = tx.open_table(KV).map_err(disk_err)?;
            for change in changes {
                match &change.event {
                    WatchEvent::Put(put) => {
                        kv.insert(put.key.as_str(), encode(put).as_slice())
                            .map_err(disk_err)?;
                    }
                    WatchEvent::Delete { key, .. } => {
                        kv.remove(key.as_str()).map_err(disk_err)?;
                    }
                    WatchEvent::Progress { .. } => {}
                }
            }
            let mut meta = tx.open_table(META).map_err(disk_err)?;
            meta.insert(META_REVISION, last.revision())
                .map_err(disk_err)?;
        }
        tx.commit().map_err(disk_err)
    }
}

#[cfg(test)]
mod tests {
    use super::merge_overriding;

    #[test]
    fn merge_prefers_overrides_and_keeps_order() {
        let base = vec![("a", 1), ("c", 3), ("e", 5)];
        let over = vec![("b", 20), ("c", 30), ("f", 60)];
        let merged: Vec<_> = merge_overriding(base.into_iter(), over.into_iter()).collect();
        assert_eq!(
            merged,
            vec![("a", 1), ("b", 20), ("c", 30), ("e", 5), ("f", 60)]
        );
    }
}
