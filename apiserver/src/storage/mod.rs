//! Storage: one small trait, two backends with identical semantics (etcd and the embedded
//! store), and one conformance suite that runs on both.
//!
//! Semantics follow etcd, because kube-apiserver's resourceVersion is etcd's revision:
//! - every successful write gets a new, strictly increasing store-wide revision;
//! - an object's resourceVersion is its key's `mod_revision`;
//! - a list reports the store revision it reflects;
//! - a watch from revision R delivers every change with revision > R, in revision order,
//!   or fails with [`StorageError::Compacted`] when R is older than what the store keeps.
//!   That failure may come from `watch` itself or as the stream's first item (etcd reports
//!   compaction asynchronously); a stream ends after yielding any error, and callers resume
//!   by listing again.
//!
//! Backends: [`etcd::EtcdStorage`] and [`embedded::EmbeddedStorage`]; the conformance suite is
//! `tests/tests/storage_conformance.rs`.

use std::pin::Pin;

/// Re-exported so users of the trait need no `bytes` dependency of their own.
pub use bytes::Bytes;
use futures::Stream;

pub mod embedded;
pub mod etcd;

pub type Revision = i64;

/// One stored key and value with its revisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: Bytes,
    /// Revision of the write that created the key (the key's current incarnation).
    pub create_revision: Revision,
    /// Revision of the last write to the key: the object's resourceVersion.
    pub mod_revision: Revision,
}

/// A change seen by a watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// Create or update. `kv.create_revision == kv.mod_revision` for a create.
    Put(KeyValue),
    /// Delete of `key` at `revision`.
    Delete { key: String, revision: Revision },
    /// Sent when the watch has delivered everything up to `revision` and is live; backends
    /// may send it (etcd progress notifications) or not.
    Progress { revision: Revision },
}

impl WatchEvent {
    pub fn revision(&self) -> Revision {
        match self {
            Self::Put(kv) => kv.mod_revision,
            Self::Delete { revision, .. } | Self::Progress { revision } => *revision,
        }
    }
}

pub type EventStream = Pin<Box<dyn Stream<Item = Result<WatchEvent, StorageError>> + Send>>;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// List as of this revision; `None` (or a value <= 0, as in etcd) = the latest (a
    /// consistent read).
    pub revision: Option<Revision>,
    /// Only keys strictly greater than this (continue tokens resume after the last key).
    pub start_after: Option<String>,
    /// At most this many items; `None` (or `Some(0)`, as in etcd and Kubernetes) = all.
    pub limit: Option<usize>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListResult {
    /// Sorted by key.
    pub items: Vec<KeyValue>,
    /// The store revision this list reflects.
    pub revision: Revision,
    /// How many more keys under the prefix follow the last returned one (0 when complete).
    pub remaining: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    #[error("key not found: {key}")]
    NotFound { key: String },
    #[error("key already exists: {key}")]
    AlreadyExists { key: String },
    /// The compare of a CAS write failed. `current` is the key's value now (None if gone), so a
    /// retrying update needs no extra read.
    #[error("revision conflict on {key}")]
    Conflict {
        key: String,
        current: Option<Box<KeyValue>>,
    },
    /// The requested revision is older than the oldest one the store keeps. Lists at
    /// `compacted` and watches from it work.
    #[error("required revision {requested} has been compacted (oldest available {compacted})")]
    Compacted {
        requested: Revision,
        compacted: Revision,
    },
    /// The requested revision is newer than the store's current revision.
    #[error("required revision {requested} is a future revision (current {current})")]
    FutureRevision {
        requested: Revision,
        current: Revision,
    },
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("storage error: {0}")]
    Internal(String),
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// The storage contract the registry is written against.
#[async_trait::async_trait]
pub trait Storage: Send + Sync + 'static {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>>;

    /// Keys under `prefix` (a plain string prefix, normally ending in `/`).
    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult>;

    /// Count of keys under `prefix` at the latest revision.
    async fn count(&self, prefix: &str) -> Result<i64>;

    /// Creates `key`; fails with `AlreadyExists` if present. Returns the new revision.
    async fn create(&self, key: &str, value: Bytes) -> Result<Revision>;

    /// Replaces `key` if its mod_revision is `expected`; `NotFound` if absent, `Conflict`
    /// (with the current value) otherwise. Returns the new revision.
    async fn update(&self, key: &str, value: Bytes, expected: Revision) -> Result<Revision>;

    /// Deletes `key`, only if its mod_revision is `expected` when given. Returns the deleted
    /// value and the revision of the delete.
    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<(KeyValue, Revision)>;

    /// Every change under `prefix` with revision > `from`, in order, then live changes.
    async fn watch(&self, prefix: &str, from: Revision) -> Result<EventStream>;

    /// Drops history older than `upto`: later reads or watches at an older revision get
    /// `Compacted`.
    async fn compact(&self, upto: Revision) -> Result<()>;

    /// The store's current revision.
    async fn current_revision(&self) -> Result<Revision>;
}
