//! Backends and journal wrappers shared by the behaviour suites (`backends.rs`, `entity.rs`).
//!
//! PostgreSQL is reached through `REKKO_TEST_PG_URL` (e.g.
//! `postgres://rekko:rekko@127.0.0.1:5432/rekko`, see `.ci/postgres.sh`); each backend uses its
//! own schema, dropped by [`Backend::done`]. Without the variable the PostgreSQL backends print
//! that they were skipped, except under `CI=true` where a missing or unreachable database fails.

// Each test crate uses its own part of this module.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rekko_persistence::backend::inmem::{InMemoryJournal, InMemorySnapshotStore};
use rekko_persistence::backend::legacy::{LegacyJournal, LegacySnapshotStore};
use rekko_persistence::backend::sql::{
    postgres_pool, sqlite_pool, PostgresJournal, PostgresSnapshotStore, SqliteJournal,
    SqliteSnapshotStore,
};
use rekko_persistence::journal::{Journal, SnapshotStore};
use rekko_persistence::query::{QuerySettings, ReadJournal};
use rekko_persistence::settings::{DbSettings, JournalTables, SnapshotTables};
use rekko_persistence::{AtomicWrite, EventRecord, Result};

/// A journal and snapshot store under test, with what to clean up afterwards.
pub struct Backend {
    pub journal: Arc<dyn Journal>,
    pub snapshots: Arc<dyn SnapshotStore>,
    /// The legacy snapshot layout has no place for snapshot metadata.
    pub snapshot_meta: bool,
    /// The PostgreSQL pool and the test's schema, dropped by [`Backend::done`].
    pub cleanup: Option<(sqlx::PgPool, String)>,
    pub _dir: Option<tempfile::TempDir>,
}

impl Backend {
    /// Drops the test's PostgreSQL schema, if any.
    pub async fn done(self) {
        if let Some((pool, schema)) = self.cleanup {
            drop_schema(&pool, &schema).await;
        }
    }

    /// Queries over the journal with `page` as the buffer size and a short refresh interval.
    pub fn queries(&self, page: usize) -> ReadJournal {
        ReadJournal::new(
            self.journal.clone(),
            QuerySettings {
                refresh_interval: Duration::from_millis(20),
                max_buffer_size: page,
                sequence_batch_size: 1000,
                sequence_max_tries: 3,
            },
        )
    }
}

/// Drops a test schema and everything in it.
pub async fn drop_schema(pool: &sqlx::PgPool, schema: &str) {
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .execute(pool)
        .await
        .expect("drop test schema");
}

/// In-memory journal and snapshot store.
pub async fn inmem() -> Option<Backend> {
    Some(Backend {
        journal: Arc::new(InMemoryJournal::new()),
        snapshots: Arc::new(InMemorySnapshotStore::new()),
        snapshot_meta: true,
        cleanup: None,
        _dir: None,
    })
}

/// The embedded SQLite file's settings, in a new temporary directory.
fn sqlite_db() -> (tempfile::TempDir, DbSettings) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = DbSettings {
        url: format!("jdbc:sqlite:{}", dir.path().join("journal.db").display()),
        ..Default::default()
    };
    (dir, db)
}

/// Embedded SQLite in the default schema.
pub async fn sqlite() -> Option<Backend> {
    let (dir, db) = sqlite_db();
    let j = SqliteJournal::new(
        sqlite_pool(&db, "jdbc-journal").expect("sqlite pool"),
        &JournalTables::default(),
        400,
    );
    j.create_tables().await.expect("sqlite journal tables");
    let s = SqliteSnapshotStore::new(
        sqlite_pool(&db, "jdbc-snapshot-store").expect("sqlite pool"),
        &SnapshotTables::default().snapshot,
    );
    s.create_tables().await.expect("sqlite snapshot table");
    Some(Backend {
        journal: Arc::new(j),
        snapshots: Arc::new(s),
        snapshot_meta: true,
        cleanup: None,
        _dir: Some(dir),
    })
}

/// Embedded SQLite in the legacy schema.
pub async fn sqlite_legacy() -> Option<Backend> {
    let (dir, db) = sqlite_db();
    let pool = sqlite_pool(&db, "jdbc-journal").expect("sqlite pool");
    let tables = JournalTables::default();
    let j = LegacyJournal::<sqlx::Sqlite>::new(pool.clone(), &tables.legacy_journal, ",");
    j.create_tables().await.expect("legacy journal table");
    let s =
        LegacySnapshotStore::<sqlx::Sqlite>::new(pool, &SnapshotTables::default().legacy_snapshot);
    s.create_tables().await.expect("legacy snapshot table");
    Some(Backend {
        journal: Arc::new(j),
        snapshots: Arc::new(s),
        snapshot_meta: false,
        cleanup: None,
        _dir: Some(dir),
    })
}

/// The PostgreSQL URL, or `None` (skip) when unset outside CI.
pub fn pg_url() -> Option<String> {
    match std::env::var("REKKO_TEST_PG_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!(
                    "REKKO_TEST_PG_URL is not set under CI=true: run .ci/postgres.sh and set it"
                );
            }
            eprintln!("SKIPPED: REKKO_TEST_PG_URL is not set (run .ci/postgres.sh)");
            None
        }
    }
}

/// A pool on `REKKO_TEST_PG_URL` and a new schema name, or `None` (skip).
fn pg_pool_and_schema() -> Option<(sqlx::PgPool, String)> {
    let db = DbSettings {
        url: pg_url()?,
        max_connections: 4,
        connection_timeout: Duration::from_secs(10),
        ..Default::default()
    };
    let schema = format!("rekko_t_{}", uuid::Uuid::new_v4().simple());
    Some((
        postgres_pool(&db, "jdbc-journal").expect("postgres pool"),
        schema,
    ))
}

fn unreachable(e: rekko_persistence::PersistenceError) -> ! {
    panic!("PostgreSQL at REKKO_TEST_PG_URL is unreachable or refused the schema: {e}")
}

/// PostgreSQL in the default schema, in a schema of its own.
pub async fn postgres() -> Option<Backend> {
    let (pool, schema) = pg_pool_and_schema()?;
    let mut tables = JournalTables::default();
    tables.event_journal.schema_name = schema.clone();
    tables.event_tag.schema_name = schema.clone();
    let mut snap = SnapshotTables::default().snapshot;
    snap.schema_name = schema.clone();
    let j = PostgresJournal::new(pool.clone(), &tables, 400);
    j.create_tables().await.unwrap_or_else(|e| unreachable(e));
    let s = PostgresSnapshotStore::new(pool.clone(), &snap);
    s.create_tables().await.expect("postgres snapshot table");
    Some(Backend {
        journal: Arc::new(j),
        snapshots: Arc::new(s),
        snapshot_meta: true,
        cleanup: Some((pool, schema)),
        _dir: None,
    })
}

/// PostgreSQL in the legacy schema, in a schema of its own.
pub async fn postgres_legacy() -> Option<Backend> {
    let (pool, schema) = pg_pool_and_schema()?;
    let mut tables = JournalTables::default();
    tables.legacy_journal.schema_name = schema.clone();
    let mut snap = SnapshotTables::default().legacy_snapshot;
    snap.schema_name = schema.clone();
    let j = LegacyJournal::<sqlx::Postgres>::new(pool.clone(), &tables.legacy_journal, ",");
    j.create_tables().await.unwrap_or_else(|e| unreachable(e));
    let s = LegacySnapshotStore::<sqlx::Postgres>::new(pool.clone(), &snap);
    s.create_tables().await.expect("legacy snapshot table");
    Some(Backend {
        journal: Arc::new(j),
        snapshots: Arc::new(s),
        snapshot_meta: false,
        cleanup: Some((pool, schema)),
        _dir: None,
    })
}

/// The operations of [`Journal`], as the hook of a [`HookedJournal`] sees them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Write,
    Highest,
    Delete,
    Read,
    ReadTagged,
    MaxOrdering,
    OrderingsAfter,
    PersistenceIds,
}

/// A journal that delegates to `inner` after asking `hook`, which may fail the operation (a
/// journal that is down) or observe it (count reads, hold writes).
pub struct HookedJournal<H> {
    pub inner: Arc<dyn Journal>,
    pub hook: H,
}

/// What a [`HookedJournal`] asks before each operation.
#[async_trait]
pub trait Hook: Send + Sync + 'static {
    /// Called before `op`; an error fails the operation.
    async fn before(&self, op: Op, writes: &[AtomicWrite]) -> Result<()>;
}

#[async_trait]
impl<H: Hook> Journal for HookedJournal<H> {
    async fn write(&self, writes: &[AtomicWrite]) -> Result<()> {
        self.hook.before(Op::Write, writes).await?;
        self.inner.write(writes).await
    }
    async fn highest_sequence_nr(&self, pid: &str) -> Result<i64> {
        self.hook.before(Op::Highest, &[]).await?;
        self.inner.highest_sequence_nr(pid).await
    }
    async fn delete_to(&self, pid: &str, to: i64) -> Result<()> {
        self.hook.before(Op::Delete, &[]).await?;
        self.inner.delete_to(pid, to).await
    }
    async fn read_events(
        &self,
        pid: &str,
        from: i64,
        to: i64,
        limit: usize,
    ) -> Result<Vec<EventRecord>> {
        self.hook.before(Op::Read, &[]).await?;
        self.inner.read_events(pid, from, to, limit).await
    }
    async fn read_tagged(
        &self,
        tag: &str,
        after: i64,
        up_to: i64,
        limit: usize,
    ) -> Result<Vec<EventRecord>> {
        self.hook.before(Op::ReadTagged, &[]).await?;
        self.inner.read_tagged(tag, after, up_to, limit).await
    }
    async fn max_ordering(&self) -> Result<i64> {
        self.hook.before(Op::MaxOrdering, &[]).await?;
        self.inner.max_ordering().await
    }
    async fn orderings_after(&self, after: i64, limit: usize) -> Result<Vec<i64>> {
        self.hook.before(Op::OrderingsAfter, &[]).await?;
        self.inner.orderings_after(after, limit).await
    }
    async fn persistence_ids(&self) -> Result<Vec<String>> {
        self.hook.before(Op::PersistenceIds, &[]).await?;
        self.inner.persistence_ids().await
    }
}
