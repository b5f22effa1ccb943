//! Durable batched-commit throughput of candidate engines for the embedded store.
//!
//! Models the embedded store's group commit: every commit writes `batch` values of 1 KiB under
//! new keys plus one small metadata record (the store revision), and is durable (fsync) before
//! the next one starts. Reports commits/s and values/s per engine and batch size.
//!
//! Run: CARGO_TARGET_DIR=/tmp/engines-target cargo run --release -- [seconds-per-case]

use std::time::{Duration, Instant};

const VALUE_LEN: usize = 1024;

type BoxErr = Box<dyn std::error::Error>;

trait Engine {
    fn name(&self) -> &'static str;
    /// One durable transaction: `kvs` plus the revision record.
    fn commit(&mut self, kvs: &[(String, Vec<u8>)], revision: i64) -> Result<(), BoxErr>;
}

struct Redb {
    db: redb::Database,
}

const REDB_KV: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("kv");
const REDB_META: redb::TableDefinition<&str, i64> = redb::TableDefinition::new("meta");

impl Engine for Redb {
    fn name(&self) -> &'static str {
        "redb 4"
    }
    fn commit(&mut self, kvs: &[(String, Vec<u8>)], revision: i64) -> Result<(), BoxErr> {
        // Default durability of a redb write transaction is Immediate (fsync on commit).
        let tx = self.db.begin_write()?;
        {
            let mut t = tx.open_table(REDB_KV)?;
            for (k, v) in kvs {
                t.insert(k.as_str(), v.as_slice())?;
            }
            let mut m = tx.open_table(REDB_META)?;
            m.insert("revision", revision)?;
        }
        tx.commit()?;
        Ok(())
    }
}

struct Fjall {
    db: fjall::Database,
    kv: fjall::Keyspace,
    meta: fjall::Keyspace,
}

impl Engine for Fjall {
    fn name(&self) -> &'static str {
        "fjall 3"
    }
    fn commit(&mut self, kvs: &[(String, Vec<u8>)], revision: i64) -> Result<(), BoxErr> {
        let mut b = self.db.batch().durability(Some(fjall::PersistMode::SyncAll));
        for (k, v) in kvs {
            b.insert(&self.kv, k.as_str(), v.as_slice());
        }
        b.insert(&self.meta, "revision", revision.to_be_bytes());
        b.commit()?;
        Ok(())
    }
}

struct Sqlite {
    conn: rusqlite::Connection,
}

impl Engine for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite (WAL, synchronous=FULL)"
    }
    fn commit(&mut self, kvs: &[(String, Vec<u8>)], revision: i64) -> Result<(), BoxErr> {
        let tx = self.conn.transaction()?;
        {
            let mut put = tx.prepare_cached("INSERT OR REPLACE INTO kv (k, v) VALUES (?1, ?2)")?;
            for (k, v) in kvs {
                put.execute(rusqlite::params![k, v])?;
            }
            tx.execute(
                "INSERT OR REPLACE INTO meta (k, v) VALUES ('revision', ?1)",
                [revision],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}

fn open(engine: &str, dir: &std::path::Path) -> Result<Box<dyn Engine>, BoxErr> {
    Ok(match engine {
        "redb" => Box::new(Redb {
            db: redb::Database::create(dir.join("db.redb"))?,
        }),
        "fjall" => {
            let db = fjall::Database::builder(dir.join("fjall")).open()?;
            let kv = db.keyspace("kv", fjall::KeyspaceCreateOptions::default)?;
            let meta = db.keyspace("meta", fjall::KeyspaceCreateOptions::default)?;
            Box::new(Fjall { db, kv, meta })
        }
        "sqlite" => {
            let conn = rusqlite::Connection::open(dir.join("db.sqlite"))?;
            // WAL + synchronous=FULL: every commit fsyncs the WAL, so it survives power loss.
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn.execute_batch(
                "CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID;
                 CREATE TABLE meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL) WITHOUT ROWID;",
            )?;
            Box::new(Sqlite { conn })
        }
        other => return Err(format!("unknown engine {other}").into()),
    })
}

fn main() -> Result<(), BoxErr> {
    let secs: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(5);
    let engines: Vec<String> = match std::env::args().nth(2) {
        Some(list) => list.split(',').map(str::to_owned).collect(),
        None => vec!["redb".into(), "fjall".into(), "sqlite".into()],
    };
    println!("| engine | batch | commits/s | values/s | mean commit |");
    println!("|---|---:|---:|---:|---:|");
    for engine in &engines {
        for batch in [1usize, 16, 64] {
            let dir = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or("/tmp".into()))?;
            let mut e = open(engine, dir.path())?;
            let value = vec![b'x'; VALUE_LEN];
            let (mut commits, mut values) = (0u64, 0u64);
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(secs) {
                let kvs: Vec<(String, Vec<u8>)> = (0..batch)
                    .map(|i| {
                        let mut v = value.clone();
                        v[..8].copy_from_slice(&(values + i as u64).to_be_bytes());
                        (format!("/registry/pods/default/pod-{:010}", values + i as u64), v)
                    })
                    .collect();
                commits += 1;
                values += batch as u64;
                e.commit(&kvs, commits as i64)?;
            }
            let el = start.elapsed().as_secs_f64();
            println!(
                "| {} | {} | {:.0} | {:.0} | {:.2} ms |",
                e.name(),
                batch,
                commits as f64 / el,
                values as f64 / el,
                el * 1000.0 / commits as f64
            );
            drop(e);
        }
    }
    Ok(())
}
