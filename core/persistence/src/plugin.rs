//! Plugin selection by Pekko's config keys.
//!
//! `pekko.persistence.journal.plugin` and `pekko.persistence.snapshot-store.plugin` name a
//! plugin id; the id's config section says how to build it. Known ids:
//!
//! | Plugin id | Backend |
//! |---|---|
//! | `jdbc-journal`, or any section whose `class` is pekko-persistence-jdbc's journal | PostgreSQL or SQLite, by `slick.db.url` |
//! | `jdbc-snapshot-store`, or any section whose `class` is the JDBC snapshot store | PostgreSQL or SQLite |
//! | `jdbc-read-journal` | queries over its `write-plugin` |
//! | `pekko.persistence.journal.inmem` | in-memory journal |
//! | `rekko.persistence.snapshot-store.inmem` | in-memory snapshot store |
//!
//! A JDBC section connects to its own `slick` block, or, when its `use-shared-db` names one, to
//! the shared database `pekko-persistence-jdbc.shared-databases.<name>` (see
//! [`plugin_database`]); sections naming the same shared database share one connection pool.
//! Instances are cached per plugin id, so the journal and the read journal share one pool.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::Mutex;

use crate::backend::inmem::{InMemoryJournal, InMemorySnapshotStore};
use crate::backend::legacy::{LegacyJournal, LegacySnapshotStore};
use crate::backend::sql::{
    postgres_pool_at, sqlite_pool_at, PostgresJournal, PostgresSnapshotStore, SqliteJournal,
    SqliteSnapshotStore,
};
use crate::batching::BatchingJournal;
use crate::journal::{Journal, SnapshotStore};
use crate::query::{QuerySettings, ReadJournal};
use crate::settings::{
    plugin_database, section, string_at, Database, DbTarget, JdbcJournalSettings,
    JdbcReadJournalSettings, JdbcSnapshotSettings, RekkoJdbcSettings, DEFAULT_JOURNAL_DAO,
    DEFAULT_SNAPSHOT_DAO, LEGACY_JOURNAL_DAO, LEGACY_SNAPSHOT_DAO,
};
use crate::{PersistenceError, Result};

/// Plugin id of the in-memory journal (Pekko's own id for its in-memory journal).
pub const INMEM_JOURNAL: &str = "pekko.persistence.journal.inmem";
/// Plugin id of the in-memory snapshot store.
pub const INMEM_SNAPSHOT_STORE: &str = "rekko.persistence.snapshot-store.inmem";
/// pekko-persistence-jdbc's journal class.
pub const JDBC_JOURNAL_CLASS: &str =
    "org.apache.pekko.persistence.jdbc.journal.JdbcAsyncWriteJournal";
/// pekko-persistence-jdbc's snapshot store class.
pub const JDBC_SNAPSHOT_CLASS: &str =
    "org.apache.pekko.persistence.jdbc.snapshot.JdbcSnapshotStore";

/// Builds and caches journals, snapshot stores and read journals from a config tree.
pub struct PluginRegistry {
    config: serde_json::Value,
    journals: Mutex<HashMap<String, Arc<dyn Journal>>>,
    snapshots: Mutex<HashMap<String, Arc<dyn SnapshotStore>>>,
    shared_pools: Mutex<HashMap<String, SharedPool>>,
    lock: tokio::sync::Mutex<()>,
}

/// The pool of a shared database.
#[derive(Clone)]
enum SharedPool {
    Postgres(sqlx::PgPool),
    Sqlite(sqlx::SqlitePool),
}

impl PluginRegistry {
    /// A registry over a config tree (HOCON rendered as JSON: nested objects keyed by path).
    pub fn new(config: serde_json::Value) -> Self {
        PluginRegistry {
            config,
            journals: Mutex::new(HashMap::new()),
            snapshots: Mutex::new(HashMap::new()),
            shared_pools: Mutex::new(HashMap::new()),
            lock: tokio::sync::Mutex::new(()),
        }
    }

    /// The config tree.
    pub fn config(&self) -> &serde_json::Value {
        &self.config
    }

    /// The default journal (`pekko.persistence.journal.plugin`).
    pub async fn default_journal(&self) -> Result<Arc<dyn Journal>> {
        let id = self.default_id("pekko.persistence.journal.plugin")?;
        self.journal(&id).await
    }

    /// The default snapshot store (`pekko.persistence.snapshot-store.plugin`).
    pub async fn default_snapshot_store(&self) -> Result<Arc<dyn SnapshotStore>> {
        let id = self.default_id("pekko.persistence.snapshot-store.plugin")?;
        self.snapshot_store(&id).await
    }

    fn default_id(&self, key: &str) -> Result<String> {
        match string_at(&self.config, key) {
            Some(id) if !id.is_empty() => Ok(id),
            _ => Err(PersistenceError::Config {
                path: key.to_string(),
                reason: "no plugin id configured".into(),
            }),
        }
    }

    /// The journal with this plugin id.
    pub async fn journal(&self, plugin_id: &str) -> Result<Arc<dyn Journal>> {
        self.cached(&self.journals, plugin_id, self.build_journal(plugin_id))
            .await
    }

    /// The snapshot store with this plugin id.
    pub async fn snapshot_store(&self, plugin_id: &str) -> Result<Arc<dyn SnapshotStore>> {
        self.cached(
            &self.snapshots,
            plugin_id,
            self.build_snapshot_store(plugin_id),
        )
        .await
    }

    /// The instance cached for `plugin_id`, or the one `build` makes (then cached).
    async fn cached<T: ?Sized>(
        &self,
        cache: &Mutex<HashMap<String, Arc<T>>>,
        plugin_id: &str,
        build: impl std::future::Future<Output = Result<Arc<T>>>,
    ) -> Result<Arc<T>> {
        let _guard = self.lock.lock().await;
        if let Some(found) = cache.lock().get(plugin_id) {
            return Ok(found.clone());
        }
        let built = build.await?;
        cache.lock().insert(plugin_id.to_string(), built.clone());
        Ok(built)
    }

    async fn build_journal(&self, plugin_id: &str) -> Result<Arc<dyn Journal>> {
        if plugin_id == INMEM_JOURNAL {
            return Ok(Arc::new(InMemoryJournal::new()));
        }
        if !self.is_jdbc(plugin_id, "jdbc-journal", JDBC_JOURNAL_CLASS) {
            return Err(PersistenceError::UnknownPlugin(plugin_id.to_string()));
        }
        let s: JdbcJournalSettings = section(&self.config, plugin_id)?;
        let create = self.rekko_jdbc()?.create_tables;
        let legacy = is_legacy_dao(plugin_id, &s.dao, LEGACY_JOURNAL_DAO, DEFAULT_JOURNAL_DAO)?;
        let db = plugin_database(
            &self.config,
            plugin_id,
            s.use_shared_db.as_deref(),
            &s.slick,
        )?;
        let tables = &s.tables;
        let journal: Arc<dyn Journal> = match db.target()? {
            DbTarget::Postgres { .. } if legacy => {
                let pool = self.postgres_pool(&db)?;
                let j = LegacyJournal::<sqlx::Postgres>::new(
                    pool,
                    &tables.legacy_journal,
                    &s.tag_separator,
                );
                with_tables(j, create).await?
            }
            DbTarget::Sqlite { .. } if legacy => {
                let pool = self.sqlite_pool(&db)?;
                let j = LegacyJournal::<sqlx::Sqlite>::new(
                    pool,
                    &tables.legacy_journal,
                    &s.tag_separator,
                );
                with_tables(j, true).await?
            }
            DbTarget::Postgres { .. } => {
                let j = PostgresJournal::new(self.postgres_pool(&db)?, tables, s.batch_size);
                with_tables(j, create).await?
            }
            DbTarget::Sqlite { .. } => {
                let j = SqliteJournal::new(self.sqlite_pool(&db)?, tables, s.batch_size);
                with_tables(j, true).await?
            }
        };
        Ok(Arc::new(BatchingJournal::new(
            journal,
            s.batch_size,
            s.parallelism,
        )))
    }

    async fn build_snapshot_store(&self, plugin_id: &str) -> Result<Arc<dyn SnapshotStore>> {
        if plugin_id == INMEM_SNAPSHOT_STORE {
            return Ok(Arc::new(InMemorySnapshotStore::new()));
        }
        if !self.is_jdbc(plugin_id, "jdbc-snapshot-store", JDBC_SNAPSHOT_CLASS) {
            return Err(PersistenceError::UnknownPlugin(plugin_id.to_string()));
        }
        let s: JdbcSnapshotSettings = section(&self.config, plugin_id)?;
        let create = self.rekko_jdbc()?.create_tables;
        let legacy = is_legacy_dao(plugin_id, &s.dao, LEGACY_SNAPSHOT_DAO, DEFAULT_SNAPSHOT_DAO)?;
        let db = plugin_database(
            &self.config,
            plugin_id,
            s.use_shared_db.as_deref(),
            &s.slick,
        )?;
        let tables = &s.tables;
        Ok(match db.target()? {
            DbTarget::Postgres { .. } if legacy => {
                let pool = self.postgres_pool(&db)?;
                let st = LegacySnapshotStore::<sqlx::Postgres>::new(pool, &tables.legacy_snapshot);
                with_tables(st, create).await?
            }
            DbTarget::Sqlite { .. } if legacy => {
                let pool = self.sqlite_pool(&db)?;
                let st = LegacySnapshotStore::<sqlx::Sqlite>::new(pool, &tables.legacy_snapshot);
                with_tables(st, true).await?
            }
            DbTarget::Postgres { .. } => {
                let st = PostgresSnapshotStore::new(self.postgres_pool(&db)?, &tables.snapshot);
                with_tables(st, create).await?
            }
            DbTarget::Sqlite { .. } => {
                let st = SqliteSnapshotStore::new(self.sqlite_pool(&db)?, &tables.snapshot);
                with_tables(st, true).await?
            }
        })
    }

    /// Whether `plugin_id` is pekko-persistence-jdbc's: the plugin's own id, or a section whose
    /// `class` is the plugin's class.
    fn is_jdbc(&self, plugin_id: &str, jdbc_id: &str, class: &str) -> bool {
        plugin_id == jdbc_id
            || string_at(&self.config, &format!("{plugin_id}.class")).as_deref() == Some(class)
    }

    /// The read journal with this plugin id (`jdbc-read-journal`): queries over the journal
    /// named by its `write-plugin`, with its `refresh-interval` and `max-buffer-size`.
    pub async fn read_journal(&self, plugin_id: &str) -> Result<ReadJournal> {
        let s: JdbcReadJournalSettings = section(&self.config, plugin_id)?;
        let journal = self.journal(&s.write_plugin).await?;
        Ok(ReadJournal::new(journal, QuerySettings::from(&s)))
    }

    /// A PostgreSQL pool for `db`: a new one for a section's own `slick` block, the one pool of
    /// a shared database.
    fn postgres_pool(&self, db: &Database) -> Result<sqlx::PgPool> {
        self.pool_for(
            db,
            || postgres_pool_at(&db.slick.db, &db.path),
            SharedPool::Postgres,
            |shared| match shared {
                SharedPool::Postgres(pool) => Some(pool.clone()),
                SharedPool::Sqlite(_) => None,
            },
        )
    }

    /// A SQLite pool for `db`: a new one for a section's own `slick` block, the one pool of a
    /// shared database.
    fn sqlite_pool(&self, db: &Database) -> Result<sqlx::SqlitePool> {
        self.pool_for(
            db,
            || sqlite_pool_at(&db.slick.db, &db.path),
            SharedPool::Sqlite,
            |shared| match shared {
                SharedPool::Sqlite(pool) => Some(pool.clone()),
                SharedPool::Postgres(_) => None,
            },
        )
    }

    /// The pool of `db`: `open`s a new one for a section's own `slick` block; for a shared
    /// database, the pool opened by the first section naming it (`wrap` stores it, `of_kind`
    /// takes it back, `None` when it was opened for the other backend).
    fn pool_for<P: Clone>(
        &self,
        db: &Database,
        open: impl FnOnce() -> Result<P>,
        wrap: fn(P) -> SharedPool,
        of_kind: fn(&SharedPool) -> Option<P>,
    ) -> Result<P> {
        let Some(name) = &db.shared else {
            return open();
        };
        let mut pools = self.shared_pools.lock();
        match pools.get(name) {
            Some(shared) => of_kind(shared).ok_or_else(|| shared_kind_mismatch(db)),
            None => {
                let pool = open()?;
                pools.insert(name.clone(), wrap(pool.clone()));
                Ok(pool)
            }
        }
    }

    fn rekko_jdbc(&self) -> Result<RekkoJdbcSettings> {
        section(&self.config, "rekko.persistence.jdbc")
    }
}

/// A shared database's pool is of the other backend than its URL now says (cannot happen with
/// one config tree; reported rather than assumed).
fn shared_kind_mismatch(db: &Database) -> PersistenceError {
    PersistenceError::Config {
        path: format!("{}.db.url", db.path),
        reason: "the shared database's pool was opened for another backend".into(),
    }
}

/// Whether a JDBC plugin's `dao` names the legacy schema's DAO (`Ok(false)` for the default
/// DAO or none); any other DAO is a configuration error.
fn is_legacy_dao(plugin_id: &str, dao: &str, legacy: &str, default: &str) -> Result<bool> {
    if dao == legacy {
        Ok(true)
    } else if dao == default || dao.is_empty() {
        Ok(false)
    } else {
        Err(PersistenceError::Config {
            path: format!("{plugin_id}.dao"),
            reason: format!("unsupported DAO {dao:?}"),
        })
    }
}

/// A SQL store whose tables can be created if missing.
#[async_trait]
trait CreateTables {
    async fn create_tables(&self) -> Result<()>;
}

macro_rules! create_tables_of {
    ($($store:ty),+) => {
        $(
            #[async_trait]
            impl CreateTables for $store {
                async fn create_tables(&self) -> Result<()> {
                    <$store>::create_tables(self).await
                }
            }
        )+
    };
}

create_tables_of!(
    PostgresJournal,
    SqliteJournal,
    PostgresSnapshotStore,
    SqliteSnapshotStore,
    LegacyJournal<sqlx::Postgres>,
    LegacyJournal<sqlx::Sqlite>,
    LegacySnapshotStore<sqlx::Postgres>,
    LegacySnapshotStore<sqlx::Sqlite>
);

/// The store, after creating its tables when `create` says so (`rekko.persistence.jdbc.create-tables`
/// for PostgreSQL; always for SQLite, whose embedded file starts empty).
async fn with_tables<T: CreateTables>(store: T, create: bool) -> Result<Arc<T>> {
    if create {
        store.create_tables().await?;
    }
    Ok(Arc::new(store))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn selects_by_plugin_id_and_caches() {
        let reg = PluginRegistry::new(json!({
            "pekko": {"persistence": {"journal": {"plugin": INMEM_JOURNAL},
                                      "snapshot-store": {"plugin": INMEM_SNAPSHOT_STORE}}}
        }));
        let a = reg.default_journal().await.unwrap();
        let b = reg.journal(INMEM_JOURNAL).await.unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        reg.default_snapshot_store().await.unwrap();
        let err = reg.journal("cassandra-journal").await.err().unwrap();
        assert!(err.to_string().contains("cassandra-journal"));
        let none = PluginRegistry::new(json!({}));
        let err = none.default_journal().await.err().unwrap();
        assert!(err.to_string().contains("pekko.persistence.journal.plugin"));
    }

    #[tokio::test]
    async fn jdbc_plugin_on_sqlite_by_url() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("jdbc:sqlite:{}", dir.path().join("j.db").display());
        let reg = PluginRegistry::new(json!({
            "my-journal": {"class": JDBC_JOURNAL_CLASS, "slick": {"db": {"url": url}}},
            "jdbc-read-journal": {"write-plugin": "my-journal", "refresh-interval": "10ms"}
        }));
        let j = reg.journal("my-journal").await.unwrap();
        assert_eq!(j.highest_sequence_nr("x").await.unwrap(), 0);
        let rj = reg.read_journal("jdbc-read-journal").await.unwrap();
        assert!(Arc::ptr_eq(rj.journal(), &j));
        assert_eq!(
            rj.settings().refresh_interval,
            std::time::Duration::from_millis(10)
        );
    }

    #[tokio::test]
    async fn sections_naming_one_shared_database_share_its_pool() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("jdbc:sqlite:{}", dir.path().join("shared.db").display());
        let reg = PluginRegistry::new(json!({
            "pekko-persistence-jdbc": {"shared-databases": {"main": {
                "profile": "slick.jdbc.SQLiteProfile$", "db": {"url": url}}}},
            "jdbc-journal": {"use-shared-db": "main"},
            "jdbc-snapshot-store": {"use-shared-db": "main",
                                    "slick": {"db": {"url": "jdbc:sqlite:/nonexistent/ignored.db"}}},
            "missing-journal": {"class": JDBC_JOURNAL_CLASS, "use-shared-db": "nope"}
        }));
        reg.journal("jdbc-journal").await.unwrap();
        reg.snapshot_store("jdbc-snapshot-store").await.unwrap();
        {
            let pools = reg.shared_pools.lock();
            assert_eq!(pools.len(), 1);
            assert!(matches!(pools.get("main"), Some(SharedPool::Sqlite(_))));
        }
        let err = reg.journal("missing-journal").await.err().unwrap();
        let text = err.to_string();
        assert!(text.contains("missing-journal.use-shared-db"), "{text}");
        assert!(
            text.contains("pekko-persistence-jdbc.shared-databases.nope"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn legacy_dao_selects_the_legacy_schema() {
        use crate::model::{AtomicWrite, PersistentRepr, SerializedPayload};
        let dir = tempfile::tempdir().unwrap();
        let url = format!("jdbc:sqlite:{}", dir.path().join("l.db").display());
        let reg = PluginRegistry::new(json!({
            "jdbc-journal": {"dao": LEGACY_JOURNAL_DAO, "tagSeparator": ";",
                             "slick": {"db": {"url": url.clone()}}},
            "jdbc-snapshot-store": {"dao": LEGACY_SNAPSHOT_DAO, "slick": {"db": {"url": url.clone()}}},
            "bad-journal": {"class": JDBC_JOURNAL_CLASS, "dao": "com.example.MyDao",
                            "slick": {"db": {"url": url}}}
        }));
        let j = reg.journal("jdbc-journal").await.unwrap();
        let e = PersistentRepr::new("L|1", 1, SerializedPayload::new(31, "a.B", &b"{}"[..]), "w")
            .with_tags(["x", "y"]);
        j.write(&[AtomicWrite::new(vec![e]).unwrap()])
            .await
            .unwrap();
        let back = j.read_events("L|1", 1, 1, 1).await.unwrap();
        assert_eq!(back[0].repr.tags, vec!["x".to_string(), "y".to_string()]);
        reg.snapshot_store("jdbc-snapshot-store").await.unwrap();
        let err = reg.journal("bad-journal").await.err().unwrap();
        assert!(err.to_string().contains("bad-journal.dao"), "{err}");
    }
}
