//! The storage conformance suite: every `check_*` runs against both backends (a real etcd
//! started per test, and the embedded store in a temp dir), so the two keep identical
//! semantics. Backend-specific behaviour (restart, kill -9, connection loss) is tested after.
//!
//! Every test is bounded by `TEST_TIMEOUT` and cleans up after itself (etcd killed, temp dirs
//! removed), so the suite runs in parallel.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use apiserver::storage::embedded::{EmbeddedOptions, EmbeddedStorage};
use apiserver::storage::etcd::EtcdStorage;
use apiserver::storage::{
    Bytes, EventStream, KeyValue, ListOptions, Revision, Storage, StorageError, WatchEvent,
};
use e2e::etcd::Etcd;
use futures::StreamExt;

const TEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How long to wait for a watch event that must come.
const EVENT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait to be confident that an event that must NOT come does not.
const QUIET_PERIOD: Duration = Duration::from_millis(300);

type Store = Arc<dyn Storage>;

// ---------------------------------------------------------------------------------------------
// Harness

/// Keeps what a backend needs alive for the test's duration. Field order matters: the storage
/// is dropped (embedded: writer joined, database closed) before its directory or etcd goes.
struct Backend {
    storage: Store,
    _etcd: Option<Etcd>,
    _dir: Option<tempfile::TempDir>,
}

async fn etcd_backend() -> Backend {
    let etcd = Etcd::start().await.expect("start etcd");
    let storage = EtcdStorage::connect(std::slice::from_ref(&etcd.endpoint))
        .await
        .expect("connect to etcd");
    Backend {
        storage: Arc::new(storage),
        _etcd: Some(etcd),
        _dir: None,
    }
}

fn embedded_backend() -> Backend {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = EmbeddedStorage::open(dir.path()).expect("open embedded store");
    Backend {
        storage: Arc::new(storage),
        _etcd: None,
        _dir: Some(dir),
    }
}

async fn bounded<F: Future<Output = ()>>(test: F) {
    tokio::time::timeout(TEST_TIMEOUT, test)
        .await
        .expect("test exceeded its time bound");
}

/// Declares, for each `check_*` function, a module with one test per backend.
macro_rules! conformance {
    ($($check:ident),* $(,)?) => {$(
        mod $check {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn etcd() {
                super::bounded(async {
                    let backend = super::etcd_backend().await;
                    super::$check(backend.storage.clone()).await;
                })
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn embedded() {
                super::bounded(async {
                    let backend = super::embedded_backend();
                    super::$check(backend.storage.clone()).await;
                })
                .await;
            }
        }
    )*};
}

conformance!(
    check_create_get,
    check_update_cas,
    check_delete,
    check_list_paging,
    check_list_at_revision,
    check_revisions_increase,
    check_concurrent_increments,
    check_watch_replay,
    check_watch_live,
    check_watch_compacted,
);

fn bytes(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn value_of(kv: &KeyValue) -> &str {
    std::str::from_utf8(&kv.value).expect("utf-8 value")
}

/// The next non-progress event, which must come within `EVENT_TIMEOUT`.
async fn next_event(stream: &mut EventStream) -> Result<WatchEvent, StorageError> {
    loop {
        let item = tokio::time::timeout(EVENT_TIMEOUT, stream.next())
            .await
            .expect("no watch event in time")
            .expect("watch stream ended");
        match item {
            Ok(WatchEvent::Progress { .. }) => continue,
            other => return other,
        }
    }
}

/// Asserts that no further (non-progress) event arrives within `QUIET_PERIOD`.
async fn assert_quiet(stream: &mut EventStream) {
    let deadline = tokio::time::Instant::now() + QUIET_PERIOD;
    loop {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Err(_) => return,
            Ok(Some(Ok(WatchEvent::Progress { .. }))) => continue,
            Ok(other) => panic!("unexpected watch item: {other:?}"),
        }
    }
}

/// A watch from a compacted revision fails either when opened or as its first item (etcd
/// reports compaction asynchronously); both are allowed by the contract.
async fn watch_error(s: &Store, prefix: &str, from: Revision) -> StorageError {
    match s.watch(prefix, from).await {
        Err(e) => e,
        Ok(mut stream) => next_event(&mut stream)
            .await
            .expect_err("watch from a compacted revision must fail"),
    }
}

fn put_of(event: &WatchEvent) -> &KeyValue {
    match event {
        WatchEvent::Put(kv) => kv,
        other => panic!("expected a put, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Checks shared by both backends

async fn check_create_get(s: Store) {
    let key = "/registry/pods/default/a";
    let before = s.current_revision().await.unwrap();
    let rev = s.create(key, bytes("v1")).await.unwrap();
    assert!(rev > before, "create revision {rev} must exceed {before}");

    let kv = s.get(key).await.unwrap().expect("created key");
    assert_eq!(kv.key, key);
    assert_eq!(value_of(&kv), "v1");
    assert_eq!(kv.create_revision, rev);
    assert_eq!(kv.mod_revision, rev);

    match s.create(key, bytes("v2")).await {
        Err(StorageError::AlreadyExists { key: k }) => assert_eq!(k, key),
        other => panic!("second create: {other:?}"),
    }
    // The refused create changed nothing.
    assert_eq!(s.get(key).await.unwrap().unwrap().mod_revision, rev);
    assert_eq!(s.current_revision().await.unwrap(), rev);
    assert_eq!(s.get("/registry/pods/default/missing").await.unwrap(), None);
}

async fn check_update_cas(s: Store) {
    let key = "/registry/configmaps/default/cm";
    let r1 = s.create(key, bytes("one")).await.unwrap();
    let r2 = s.update(key, bytes("two"), r1).await.unwrap();
    assert!(r2 > r1);
    let kv = s.get(key).await.unwrap().unwrap();
    assert_eq!(
        (value_of(&kv), kv.create_revision, kv.mod_revision),
        ("two", r1, r2)
    );

    // A stale expected revision conflicts and carries the current value.
    match s.update(key, bytes("three"), r1).await {
        Err(StorageError::Conflict { key: k, current }) => {
            assert_eq!(k, key);
            let current = current.expect("conflict carries the current value");
            assert_eq!((value_of(&current), current.mod_revision), ("two", r2));
        }
        other => panic!("stale update: {other:?}"),
    }
    // Revision 0 never matches an existing key (and must not act as a create either).
    assert!(matches!(
        s.update(key, bytes("x"), 0).await,
        Err(StorageError::Conflict { .. })
    ));
    let missing = "/registry/configmaps/default/missing";
    for expected in [0, r1, r2] {
        match s.update(missing, bytes("x"), expected).await {
            Err(StorageError::NotFound { key: k }) => assert_eq!(k, missing),
            other => panic!("update of a missing key at {expected}: {other:?}"),
        }
    }
    assert_eq!(s.get(missing).await.unwrap(), None);
    assert_eq!(value_of(&s.get(key).await.unwrap().unwrap()), "two");
}

async fn check_delete(s: Store) {
    let a = "/registry/secrets/default/a";
    let b = "/registry/secrets/default/b";
    let ra = s.create(a, bytes("a")).await.unwrap();
    let rb = s.create(b, bytes("b")).await.unwrap();

    // Unconditional delete returns the deleted value and a new revision.
    let (gone, rdel) = s.delete(a, None).await.unwrap();
    assert_eq!((gone.key.as_str(), value_of(&gone)), (a, "a"));
    assert_eq!(gone.mod_revision, ra);
    assert!(rdel > rb);
    assert_eq!(s.get(a).await.unwrap(), None);
    assert!(matches!(
        s.delete(a, None).await,
        Err(StorageError::NotFound { .. })
    ));
    assert!(matches!(
        s.delete(a, Some(ra)).await,
        Err(StorageError::NotFound { .. })
    ));

    // Conditional delete: a wrong revision conflicts with the current value; the right one
    // deletes.
    match s.delete(b, Some(ra)).await {
        Err(StorageError::Conflict { current, .. }) => {
            assert_eq!(current.unwrap().mod_revision, rb)
        }
        other => panic!("delete with a stale revision: {other:?}"),
    }
    let (gone, rdel2) = s.delete(b, Some(rb)).await.unwrap();
    assert_eq!(value_of(&gone), "b");
    assert!(rdel2 > rdel);
    assert_eq!(s.current_revision().await.unwrap(), rdel2);

    // A key can be created again after its delete: a new incarnation.
    let again = s.create(a, bytes("a2")).await.unwrap();
    let kv = s.get(a).await.unwrap().unwrap();
    assert_eq!((kv.create_revision, kv.mod_revision), (again, again));
}

async fn check_list_paging(s: Store) {
    let prefix = "/registry/pods/ns1/";
    for i in 0..5 {
        s.create(&format!("{prefix}p{i}"), bytes(&format!("v{i}")))
            .await
            .unwrap();
    }
    // Neighbours that must stay out: a sibling namespace sharing the string prefix "ns1" and a
    // key sorting just before the prefix.
    s.create("/registry/pods/ns10/p0", bytes("x"))
        .await
        .unwrap();
    s.create("/registry/pods/ns0/p9", bytes("x")).await.unwrap();

    let all = s.list(prefix, ListOptions::default()).await.unwrap();
    let keys: Vec<_> = all.items.iter().map(|kv| kv.key.as_str()).collect();
    let expected: Vec<String> = (0..5).map(|i| format!("{prefix}p{i}")).collect();
    assert_eq!(keys, expected);
    assert_eq!(all.remaining, 0);
    assert_eq!(all.revision, s.current_revision().await.unwrap());
    assert!(all.items.iter().all(|kv| kv.mod_revision <= all.revision));
    assert_eq!(s.count(prefix).await.unwrap(), 5);

    // Pages of two, resuming strictly after the last key returned.
    let page = |start_after: Option<String>| ListOptions {
        revision: None,
        start_after,
        limit: Some(2),
    };
    let p1 = s.list(prefix, page(None)).await.unwrap();
    assert_eq!(p1.items.len(), 2);
    assert_eq!(p1.remaining, 3);
    let p2 = s
        .list(prefix, page(Some(p1.items[1].key.clone())))
        .await
        .unwrap();
    assert_eq!(
        p2.items.iter().map(|kv| kv.key.clone()).collect::<Vec<_>>(),
        expected[2..4]
    );
    assert_eq!(p2.remaining, 1);
    let p3 = s
        .list(prefix, page(Some(p2.items[1].key.clone())))
        .await
        .unwrap();
    assert_eq!(p3.items.len(), 1);
    assert_eq!(p3.items[0].key, expected[4]);
    assert_eq!(p3.remaining, 0);

    // Resuming after the last key gives nothing; an empty prefix lists everything.
    let end = s
        .list(prefix, page(Some(expected[4].clone())))
        .await
        .unwrap();
    assert!(end.items.is_empty());
    assert_eq!(end.remaining, 0);
    let everything = s.list("", ListOptions::default()).await.unwrap();
    assert_eq!(everything.items.len(), 7);
    let empty = s
        .list("/registry/none/", ListOptions::default())
        .await
        .unwrap();
    assert!(empty.items.is_empty());
}

async fn check_list_at_revision(s: Store) {
    let prefix = "/registry/services/specs/default/";
    let key = |i: u32| format!("{prefix}s{i}");
    for i in 0..3 {
        s.create(&key(i), bytes("old")).await.unwrap();
    }
    let then = s.list(prefix, ListOptions::default()).await.unwrap();
    let at = then.revision;

    let r0 = s.get(&key(0)).await.unwrap().unwrap().mod_revision;
    s.update(&key(0), bytes("new"), r0).await.unwrap();
    s.delete(&key(1), None).await.unwrap();
    s.create(&key(3), bytes("new")).await.unwrap();
    s.create("/registry/services/specs/other/x", bytes("x"))
        .await
        .unwrap();

    // Listing at the earlier revision gives exactly the earlier state.
    let old = ListOptions {
        revision: Some(at),
        ..Default::default()
    };
    let past = s.list(prefix, old.clone()).await.unwrap();
    assert_eq!(past.items, then.items);
    assert_eq!(past.revision, at);
    assert_eq!(past.remaining, 0);

    // Paging works at the earlier revision too.
    let page = s
        .list(
            prefix,
            ListOptions {
                revision: Some(at),
                start_after: Some(key(0)),
                limit: Some(1),
            },
        )
        .await
        .unwrap();
    assert_eq!(page.items, then.items[1..2]);
    assert_eq!(page.remaining, 1);

    let now = s.list(prefix, ListOptions::default()).await.unwrap();
    let summary: Vec<_> = now
        .items
        .iter()
        .map(|kv| (kv.key.clone(), value_of(kv).to_owned()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (key(0), "new".to_owned()),
            (key(2), "old".to_owned()),
            (key(3), "new".to_owned())
        ]
    );

    let current = s.current_revision().await.unwrap();
    match s
        .list(
            prefix,
            ListOptions {
                revision: Some(current + 100),
                ..Default::default()
            },
        )
        .await
    {
        Err(StorageError::FutureRevision {
            requested,
            current: c,
        }) => {
            assert_eq!(requested, current + 100);
            assert_eq!(c, current);
        }
        other => panic!("list at a future revision: {other:?}"),
    }

    // After compaction the earlier revision is gone; the compaction point itself still lists.
    s.compact(current).await.unwrap();
    match s.list(prefix, old).await {
        Err(StorageError::Compacted {
            requested,
            compacted,
        }) => {
            assert_eq!(requested, at);
            assert!(compacted > at, "compacted {compacted} must be after {at}");
        }
        other => panic!("list at a compacted revision: {other:?}"),
    }
    let at_compaction = s
        .list(
            prefix,
            ListOptions {
                revision: Some(current),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(at_compaction.items, now.items);
}

async fn check_revisions_increase(s: Store) {
    let prefix = "/registry/events/default/";
    let mut last = s.current_revision().await.unwrap();
    fn advance(last: &mut Revision, rev: Revision, what: &str) {
        assert!(rev > *last, "{what}: revision {rev} not after {last}");
        *last = rev;
    }
    for i in 0..10 {
        let k = format!("{prefix}e{i}");
        let r = s.create(&k, bytes("c")).await.unwrap();
        advance(&mut last, r, "create");
        let r = s.update(&k, bytes("u"), r).await.unwrap();
        advance(&mut last, r, "update");
        if i % 2 == 0 {
            let (_, r) = s.delete(&k, Some(r)).await.unwrap();
            advance(&mut last, r, "delete");
        } else {
            // Refused writes do not consume a revision.
            assert!(matches!(
                s.create(&k, bytes("x")).await,
                Err(StorageError::AlreadyExists { .. })
            ));
            assert_eq!(s.current_revision().await.unwrap(), last);
        }
    }
    let list = s.list(prefix, ListOptions::default()).await.unwrap();
    assert_eq!(list.items.len(), 5);
    assert_eq!(list.revision, last);
    assert_eq!(s.current_revision().await.unwrap(), last);
    for kv in &list.items {
        assert!(kv.mod_revision <= list.revision);
        assert!(kv.create_revision < kv.mod_revision);
    }
}

async fn check_concurrent_increments(s: Store) {
    const WRITERS: usize = 20;
    const INCREMENTS: usize = 10;
    let key = "/registry/leases/kube-system/counter";
    s.create(key, bytes("0")).await.unwrap();

    let mut tasks = Vec::new();
    for _ in 0..WRITERS {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut revisions = Vec::new();
            let mut conflicts = 0usize;
            for _ in 0..INCREMENTS {
                // Read once; after a conflict the error carries the fresh value (no re-read).
                let mut current = s.get(key).await.unwrap().unwrap();
                loop {
                    let n: usize = value_of(&current).parse().unwrap();
                    match s
                        .update(key, bytes(&(n + 1).to_string()), current.mod_revision)
                        .await
                    {
                        Ok(rev) => {
                            revisions.push(rev);
                            break;
                        }
                        Err(StorageError::Conflict {
                            current: Some(fresh),
                            ..
                        }) => {
                            conflicts += 1;
                            current = *fresh;
                        }
                        Err(e) => panic!("increment failed: {e}"),
                    }
                }
            }
            (revisions, conflicts)
        }));
    }
    let mut all_revisions = HashSet::new();
    let mut conflicts = 0;
    for t in tasks {
        let (revs, c) = t.await.unwrap();
        conflicts += c;
        all_revisions.extend(revs);
    }
    let kv = s.get(key).await.unwrap().unwrap();
    assert_eq!(value_of(&kv), (WRITERS * INCREMENTS).to_string());
    assert_eq!(
        all_revisions.len(),
        WRITERS * INCREMENTS,
        "revisions unique"
    );
    assert_eq!(kv.mod_revision, *all_revisions.iter().max().unwrap());
    // Not asserted (timing-dependent), but shows the test exercised the conflict path.
    eprintln!("{conflicts} conflicts retried");
}

async fn check_watch_replay(s: Store) {
    let prefix = "/registry/pods/w/";
    let a = format!("{prefix}a");
    let b = format!("{prefix}b");
    let from = s.create(&a, bytes("a1")).await.unwrap();
    let r2 = s.update(&a, bytes("a2"), from).await.unwrap();
    s.create("/registry/pods/x/outside", bytes("o"))
        .await
        .unwrap();
    let r3 = s.create(&b, bytes("b1")).await.unwrap();
    let (_, r4) = s.delete(&a, Some(r2)).await.unwrap();

    let mut w = s.watch(prefix, from).await.unwrap();
    let e1 = next_event(&mut w).await.unwrap();
    let kv = put_of(&e1);
    assert_eq!(
        (
            kv.key.as_str(),
            value_of(kv),
            kv.create_revision,
            kv.mod_revision
        ),
        (a.as_str(), "a2", from, r2)
    );
    let e2 = next_event(&mut w).await.unwrap();
    let kv = put_of(&e2);
    assert_eq!(
        (kv.key.as_str(), kv.create_revision, kv.mod_revision),
        (b.as_str(), r3, r3)
    );
    let e3 = next_event(&mut w).await.unwrap();
    assert_eq!(
        e3,
        WatchEvent::Delete {
            key: a.clone(),
            revision: r4
        }
    );
    assert_quiet(&mut w).await;

    // Replay continues seamlessly into live events.
    let r5 = s.create(&a, bytes("a3")).await.unwrap();
    let e4 = next_event(&mut w).await.unwrap();
    assert_eq!(put_of(&e4).mod_revision, r5);

    // A watch from the latest revision replays nothing.
    let mut quiet = s.watch(prefix, r5).await.unwrap();
    assert_quiet(&mut quiet).await;
}

async fn check_watch_live(s: Store) {
    let prefix = "/registry/nodes/";
    let start = s.current_revision().await.unwrap();
    let mut w = s.watch(prefix, start).await.unwrap();
    let mut other = s.watch("/registry/other/", start).await.unwrap();

    let key = format!("{prefix}n1");
    let r1 = s.create(&key, bytes("1")).await.unwrap();
    let r2 = s.update(&key, bytes("2"), r1).await.unwrap();
    let (_, r3) = s.delete(&key, None).await.unwrap();

    let got = [
        next_event(&mut w).await.unwrap(),
        next_event(&mut w).await.unwrap(),
        next_event(&mut w).await.unwrap(),
    ];
    assert_eq!(put_of(&got[0]).mod_revision, r1);
    assert_eq!(put_of(&got[0]).create_revision, r1);
    assert_eq!(value_of(put_of(&got[1])), "2");
    assert_eq!(put_of(&got[1]).mod_revision, r2);
    assert_eq!(
        got[2],
        WatchEvent::Delete {
            key: key.clone(),
            revision: r3
        }
    );
    assert_quiet(&mut w).await;
    assert_quiet(&mut other).await;

    // Many concurrent writes: every event arrives, in revision order.
    let mut writers = Vec::new();
    for t in 0..4 {
        let s = s.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..25 {
                s.create(&format!("/registry/nodes/t{t}-{i}"), bytes("x"))
                    .await
                    .unwrap();
            }
        }));
    }
    for wr in writers {
        wr.await.unwrap();
    }
    let mut last = r3;
    for _ in 0..100 {
        let rev = next_event(&mut w).await.unwrap().revision();
        assert!(rev > last, "watch order: {rev} after {last}");
        last = rev;
    }
    assert_quiet(&mut w).await;
}

async fn check_watch_compacted(s: Store) {
    let prefix = "/registry/deployments/default/";
    let key = format!("{prefix}d");
    let first = s.create(&key, bytes("1")).await.unwrap();
    let mut rev = first;
    for i in 2..6 {
        rev = s.update(&key, bytes(&i.to_string()), rev).await.unwrap();
    }
    s.compact(rev).await.unwrap();

    match watch_error(&s, prefix, first).await {
        StorageError::Compacted {
            requested,
            compacted,
        } => {
            assert_eq!(requested, first);
            assert!(
                compacted > first && compacted <= rev,
                "compacted {compacted}"
            );
        }
        other => panic!("watch from a compacted revision: {other:?}"),
    }

    // A watch from the compaction point works and sees later changes.
    let mut w = s.watch(prefix, rev).await.unwrap();
    let next = s.update(&key, bytes("after"), rev).await.unwrap();
    assert_eq!(next_event(&mut w).await.unwrap().revision(), next);

    // Compacting again to an older revision is a no-op; to a future one is refused.
    s.compact(first).await.unwrap();
    assert!(matches!(
        s.compact(next + 1000).await,
        Err(StorageError::FutureRevision { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// Embedded-only: restart, kill -9, lagging watchers

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_survives_reopen() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let (before, deleted_rev) = {
            let s: Store = Arc::new(EmbeddedStorage::open(dir.path()).unwrap());
            let r1 = s.create("/registry/a/x", bytes("x1")).await.unwrap();
            let r2 = s.update("/registry/a/x", bytes("x2"), r1).await.unwrap();
            s.create("/registry/a/y", bytes("y")).await.unwrap();
            let (_, rd) = s.delete("/registry/a/y", None).await.unwrap();
            assert!(rd > r2);
            (s.list("", ListOptions::default()).await.unwrap(), rd)
        };

        let s: Store = Arc::new(EmbeddedStorage::open(dir.path()).unwrap());
        let after = s.list("", ListOptions::default()).await.unwrap();
        assert_eq!(after.items, before.items);
        // The revision continues from the last write, even when that write was a delete.
        assert_eq!(s.current_revision().await.unwrap(), deleted_rev);
        assert_eq!(after.revision, deleted_rev);
        let next = s.create("/registry/a/z", bytes("z")).await.unwrap();
        assert_eq!(next, deleted_rev + 1);

        // History is not persisted: the reopen revision is the compaction point.
        match watch_error(&s, "/registry/", deleted_rev - 1).await {
            StorageError::Compacted {
                requested,
                compacted,
            } => assert_eq!((requested, compacted), (deleted_rev - 1, deleted_rev)),
            other => panic!("{other:?}"),
        }
        let mut w = s.watch("/registry/", deleted_rev).await.unwrap();
        assert_eq!(next_event(&mut w).await.unwrap().revision(), next);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_fresh_store_starts_at_revision_one() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let s = EmbeddedStorage::open(dir.path()).unwrap();
        assert_eq!(s.current_revision().await.unwrap(), 1);
        assert_eq!(s.create("/k", bytes("v")).await.unwrap(), 2);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_second_open_of_same_dir_fails() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let _first = EmbeddedStorage::open(dir.path()).unwrap();
        assert!(EmbeddedStorage::open(dir.path()).is_err());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_lagging_watcher_gets_compacted_not_silence() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let options = EmbeddedOptions {
            history_limit: 10,
            ..Default::default()
        };
        let s: Store = Arc::new(EmbeddedStorage::open_with(dir.path(), options).unwrap());
        let start = s.current_revision().await.unwrap();
        let mut w = s.watch("/registry/", start).await.unwrap();
        // The watcher does not read while 50 changes pass through a 10-change history.
        for i in 0..50 {
            s.create(&format!("/registry/k{i}"), bytes("v"))
                .await
                .unwrap();
        }
        match next_event(&mut w).await {
            Err(StorageError::Compacted { requested, .. }) => assert_eq!(requested, start),
            other => panic!("a lagging watcher must fail, got {other:?}"),
        }
        // The stream ends after its error.
        let end = tokio::time::timeout(EVENT_TIMEOUT, w.next()).await.unwrap();
        assert!(end.is_none());

        // A list further back than the history also reports compaction.
        let old = ListOptions {
            revision: Some(start + 1),
            ..Default::default()
        };
        assert!(matches!(
            s.list("/registry/", old).await,
            Err(StorageError::Compacted { .. })
        ));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_watch_ends_when_store_closes() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let s = EmbeddedStorage::open(dir.path()).unwrap();
        let mut w = s
            .watch("/", s.current_revision().await.unwrap())
            .await
            .unwrap();
        drop(s);
        assert!(matches!(
            next_event(&mut w).await,
            Err(StorageError::Unavailable(_))
        ));
    })
    .await;
}

/// Environment variable that turns `embedded_kill9_child` into the writer process.
const KILL9_DIR_ENV: &str = "FERROKUBE_KILL9_DIR";
/// Acknowledged writes to see before killing the child.
const KILL9_AFTER_ACKS: usize = 3000;

/// The child half of `embedded_kill9_keeps_acknowledged_writes`: does nothing in a normal run.
/// With `KILL9_DIR_ENV` set, 64 writers create keys as fast as they can and print
/// `ACK <key> <revision>` for each acknowledged create, until killed (or a safety bound).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_kill9_child() {
    let Ok(dir) = std::env::var(KILL9_DIR_ENV) else {
        return;
    };
    let s = Arc::new(EmbeddedStorage::open(Path::new(&dir)).unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut tasks = Vec::new();
    for w in 0..64 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut i = 0u64;
            while Instant::now() < deadline {
                let key = format!("/registry/kill9/w{w}-{i}");
                let rev = s.create(&key, bytes("payload")).await.unwrap();
                // println! takes stdout's lock per call and flushes at the newline, so a line
                // is either wholly out before the kill or not at all.
                println!("ACK {key} {rev}");
                i += 1;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_kill9_keeps_acknowledged_writes() {
    use std::os::unix::process::ExitStatusExt;
    use tokio::io::AsyncBufReadExt;

    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
            .args(["embedded_kill9_child", "--exact", "--nocapture"])
            .args(["--test-threads=1"])
            .env(KILL9_DIR_ENV, dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut acked: Vec<(String, Revision)> = Vec::new();
        let mut killed = false;
        // Read everything the child printed, killing it mid-stream; lines printed before the
        // kill are still in the pipe and are acknowledged writes too.
        while let Some(line) = lines.next_line().await.unwrap() {
            let Some(rest) = line.strip_prefix("ACK ") else {
                continue;
            };
            let (key, rev) = rest.split_once(' ').unwrap();
            acked.push((key.to_owned(), rev.parse().unwrap()));
            if !killed && acked.len() >= KILL9_AFTER_ACKS {
                child.start_kill().unwrap();
                killed = true;
            }
        }
        let status = child.wait().await.unwrap();
        assert_eq!(
            status.signal(),
            Some(9),
            "child must die by SIGKILL: {status}"
        );
        assert!(acked.len() >= KILL9_AFTER_ACKS);

        let s = EmbeddedStorage::open(dir.path()).unwrap();
        let mut missing = Vec::new();
        for (key, rev) in &acked {
            match s.get(key).await.unwrap() {
                Some(kv) => assert_eq!(kv.mod_revision, *rev, "{key}"),
                None => missing.push(key.clone()),
            }
        }
        assert!(
            missing.is_empty(),
            "{} of {} acknowledged writes lost, e.g. {:?}",
            missing.len(),
            acked.len(),
            &missing[..missing.len().min(5)]
        );
        let max_acked = acked.iter().map(|(_, r)| *r).max().unwrap();
        let current = s.current_revision().await.unwrap();
        assert!(current >= max_acked);
        // Unacknowledged writes may or may not have landed, but nothing else can be there.
        let stored = s.count("/registry/kill9/").await.unwrap();
        assert!(stored as usize >= acked.len());
        assert_eq!(
            stored,
            current - 1,
            "one key per revision since the fresh store"
        );
        eprintln!(
            "kill -9 after {} acks: all present, {} stored",
            acked.len(),
            stored
        );
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// etcd-only: connection failures

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_connect_to_nothing_is_unavailable() {
    bounded(async {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let started = Instant::now();
        match EtcdStorage::connect(&[format!("http://127.0.0.1:{port}")]).await {
            Err(StorageError::Unavailable(_)) => {}
            Err(e) => panic!("expected Unavailable, got {e:?}"),
            Ok(_) => panic!("connected to nothing"),
        }
        assert!(started.elapsed() < Duration::from_secs(15));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_lost_server_is_unavailable() {
    bounded(async {
        let etcd = Etcd::start().await.unwrap();
        let s = EtcdStorage::connect(std::slice::from_ref(&etcd.endpoint))
            .await
            .unwrap();
        s.create("/k", bytes("v")).await.unwrap();
        let mut w = s.watch("/", 0).await.unwrap();
        assert!(next_event(&mut w).await.is_ok());
        drop(etcd);
        match s.get("/k").await {
            Err(StorageError::Unavailable(_)) => {}
            other => panic!("expected Unavailable, got {other:?}"),
        }
        // The watch fails rather than going silent.
        let item = tokio::time::timeout(Duration::from_secs(30), w.next())
            .await
            .expect("watch noticed the lost server");
        assert!(
            matches!(item, Some(Err(StorageError::Unavailable(_)))),
            "watch after losing etcd: {item:?}"
        );
    })
    .await;
}

/// An HA API server lists every etcd member; while one is down (killed, restarting) the client
/// may still pick it. Requests that never reached a member are sent again, so none fails while
/// a live member remains.
#[tokio::test]
async fn etcd_dead_endpoint_among_live_ones_is_not_an_error() {
    bounded(async {
        let etcd = Etcd::start().await.unwrap();
        // A port nothing listens on: bind, learn the port, close.
        let dead = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}", l.local_addr().unwrap())
        };
        let s = EtcdStorage::connect(&[dead, etcd.endpoint.clone()])
            .await
            .unwrap();
        for i in 0..40 {
            let key = format!("/dead-endpoint/{i}");
            s.create(&key, bytes("v")).await.unwrap();
            assert!(s.get(&key).await.unwrap().is_some());
        }
        let listed = s
            .list("/dead-endpoint/", ListOptions::default())
            .await
            .unwrap();
        assert_eq!(listed.items.len(), 40);
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Throughput (ignored by default: numbers, not pass/fail on a shared machine). Run with
// `cargo test --release -p e2e --test storage_conformance -- --ignored --nocapture throughput`.

const THROUGHPUT_WRITERS: usize = 64;
const THROUGHPUT_SECS: u64 = 5;

/// Creates/s with `THROUGHPUT_WRITERS` concurrent writers of 1 KiB values for a fixed time.
async fn create_rate(
    write: impl Fn(String) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync + 'static,
) -> f64 {
    let write = Arc::new(write);
    let deadline = Instant::now() + Duration::from_secs(THROUGHPUT_SECS);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..THROUGHPUT_WRITERS {
        let write = write.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                write(format!("/registry/bench/w{w}-{n}")).await;
                n += 1;
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    total as f64 / started.elapsed().as_secs_f64()
}

fn kib_value() -> Bytes {
    Bytes::from(vec![b'x'; 1024])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn throughput_embedded_creates() {
    let dir = tempfile::tempdir().unwrap();
    let s: Store = Arc::new(EmbeddedStorage::open(dir.path()).unwrap());
    let rate = create_rate(move |key| {
        let s = s.clone();
        Box::pin(async move {
            s.create(&key, kib_value()).await.unwrap();
        })
    })
    .await;
    println!("embedded: {rate:.0} creates/s at {THROUGHPUT_WRITERS} writers");
}

/// Compares, each on a fresh etcd: raw puts, raw create-shaped transactions (compare
/// create_revision == 0, then put), and `EtcdStorage::create`. The backend should match the raw
/// transaction; the gap to raw puts is etcd's own transaction cost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn throughput_etcd_creates_vs_raw_puts() {
    use etcd_client::{Compare, CompareOp, Txn, TxnOp};

    let etcd = Etcd::start().await.unwrap();
    let kv = etcd_client::Client::connect([etcd.endpoint.clone()], None)
        .await
        .unwrap()
        .kv_client();
    let puts = create_rate(move |key| {
        let mut kv = kv.clone();
        Box::pin(async move {
            kv.put(key, vec![b'x'; 1024], None).await.unwrap();
        })
    })
    .await;
    drop(etcd);

    let etcd = Etcd::start().await.unwrap();
    let kv = etcd_client::Client::connect([etcd.endpoint.clone()], None)
        .await
        .unwrap()
        .kv_client();
    let txns = create_rate(move |key| {
        let mut kv = kv.clone();
        Box::pin(async move {
            let txn = Txn::new()
                .when([Compare::create_revision(key.clone(), CompareOp::Equal, 0)])
                .and_then([TxnOp::put(key, vec![b'x'; 1024], None)]);
            assert!(kv.txn(txn).await.unwrap().succeeded());
        })
    })
    .await;
    drop(etcd);

    let etcd = Etcd::start().await.unwrap();
    let s: Store = Arc::new(
        EtcdStorage::connect(std::slice::from_ref(&etcd.endpoint))
            .await
            .unwrap(),
    );
    let creates = create_rate(move |key| {
        let s = s.clone();
        Box::pin(async move {
            s.create(&key, kib_value()).await.unwrap();
        })
    })
    .await;
    println!(
        "etcd at {THROUGHPUT_WRITERS} writers: raw puts {puts:.0}/s, raw create txns {txns:.0}/s, \
         EtcdStorage creates {creates:.0}/s"
    );
}
