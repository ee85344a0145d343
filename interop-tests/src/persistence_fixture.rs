//! What the persistence interop tests share: a PostgreSQL schema of their own on
//! `REKKO_TEST_PG_URL` ([`TestDb`]), the JVM fixture `org.rekko.fixtures.PersistenceNode`
//! started on it ([`TestDb::persistence_node`]), and that fixture's event and state types.
//!
//! ```no_run
//! use rekko_interop_tests::persistence_fixture::{pg_url, TestDb};
//! use rekko_interop_tests::JvmNode;
//!
//! let Some(url) = pg_url("my_test") else { return Ok(()) };
//! let rt = tokio::runtime::Runtime::new().expect("runtime");
//! let db = rt.block_on(async { TestDb::open(&url, "rekko_it", 4) });
//! let (journal, snapshots) = rt.block_on(db.default_schema());
//! let jvm = JvmNode::start(db.persistence_node("jvm-1").args(["--format", "json"]))?;
//! // ...
//! rt.block_on(db.drop_schema());
//! # Ok::<(), rekko_interop_tests::HarnessError>(())
//! ```

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use rekko_persistence::backend::sql::{postgres_pool, PostgresJournal, PostgresSnapshotStore};
use rekko_persistence::journal::{Journal, SnapshotStore};
use rekko_persistence::query::{QuerySettings, ReadJournal};
use rekko_persistence::recovery::{recover, Recovered};
use rekko_persistence::serialization::jackson::{JacksonCodec, JacksonFormat};
use rekko_persistence::settings::{DbSettings, DbTarget, JournalTables, SnapshotTables};
use rekko_persistence::{SnapshotRecord, SnapshotSelectionCriteria};
use serde::{Deserialize, Serialize};

use crate::{running_in_ci, FixtureSpec, HarnessError, JvmNode};

/// How long a fixture command may take to answer.
const ANSWER: Duration = Duration::from_secs(60);

/// The JVM class name of the fixture's event, the Jackson manifest of its payloads.
pub const ADDED: &str = "org.rekko.fixtures.PersistenceNode$Added";
/// The JVM class name of the fixture's state, the Jackson manifest of its snapshots.
pub const STATE: &str = "org.rekko.fixtures.PersistenceNode$CounterState";
/// The fixture's main class.
pub const PERSISTENCE_NODE: &str = "org.rekko.fixtures.PersistenceNode";

/// The fixture's `Added` event.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Added {
    /// `item-<amount>` for events of the `persist` command.
    pub item: String,
    /// Added to the total.
    pub amount: i32,
}

impl Added {
    /// The event the fixture's `persist` command writes for `amount`.
    pub fn new(amount: i32) -> Self {
        Added {
            item: format!("item-{amount}"),
            amount,
        }
    }

    /// The fixture's tagger: `counters`, and `big` from an amount of 10.
    pub fn tags(&self) -> Vec<String> {
        let mut tags = vec!["counters".to_string()];
        if self.amount >= 10 {
            tags.push("big".to_string());
        }
        tags
    }
}

/// The fixture's `CounterState` (also its snapshot).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct CounterState {
    /// Sum of the amounts.
    pub total: i64,
    /// The items, in event order.
    pub items: Vec<String>,
}

impl CounterState {
    /// The fixture's event handler.
    pub fn apply(mut self, e: &Added) -> Self {
        self.total += i64::from(e.amount);
        self.items.push(e.item.clone());
        self
    }
}

/// The event's tags, sorted.
pub fn sorted_tags(tags: &[String]) -> Vec<String> {
    let mut tags = tags.to_vec();
    tags.sort();
    tags
}

/// The latest snapshot of `persistence_id`; panics naming `who` saved it when there is none.
pub async fn latest_snapshot(
    snapshots: &dyn SnapshotStore,
    persistence_id: &str,
    who: &str,
) -> SnapshotRecord {
    snapshots
        .load(persistence_id, SnapshotSelectionCriteria::LATEST)
        .await
        .expect("load the latest snapshot")
        .unwrap_or_else(|| panic!("{who} saved no snapshot of {persistence_id}"))
}

/// Recovers the fixture's entity from Jackson JSON events and snapshots, as the JVM does.
pub async fn recover_counter(
    journal: Arc<dyn Journal>,
    snapshots: &dyn SnapshotStore,
    persistence_id: &str,
) -> rekko_persistence::Result<Recovered<CounterState>> {
    let events = JacksonCodec::<Added>::single(JacksonFormat::Json, ADDED);
    let states = JacksonCodec::<CounterState>::single(JacksonFormat::Json, STATE);
    recover(
        journal,
        snapshots,
        persistence_id,
        SnapshotSelectionCriteria::LATEST,
        CounterState::default(),
        &states,
        &events,
        |s, e: Added| s.apply(&e),
        400,
    )
    .await
}

/// Checks that Rekko's `currentEventsByTag` and the JVM fixture's read journal (command
/// `tagged`) return the same `count` events of `tag`, in the same order.
pub fn assert_same_events_by_tag(
    jvm: &mut JvmNode,
    rt: &tokio::runtime::Runtime,
    journal: Arc<dyn Journal>,
    tag: &str,
    count: usize,
) -> Result<(), HarnessError> {
    let jvm_tagged = jvm.request(&format!("tagged {tag} {count}"), ANSWER)?;
    let queries = ReadJournal::new(journal, QuerySettings::default());
    let rust_tagged: Vec<String> = rt.block_on(
        queries
            .current_events_by_tag(tag, 0)
            .map(|r| {
                let r = r.expect("Rekko's events by tag");
                format!(
                    "{}:{}:{}",
                    r.ordering, r.repr.persistence_id, r.repr.sequence_nr
                )
            })
            .collect(),
    );
    assert_eq!(rust_tagged.len(), count, "Rekko's events tagged {tag}");
    assert_eq!(jvm_tagged, format!("TAGGED {}", rust_tagged.join(",")));
    Ok(())
}

/// `REKKO_TEST_PG_URL`, or `None` after printing that `test` is skipped; under `CI=true` a
/// missing URL fails the test instead.
pub fn pg_url(test: &str) -> Option<String> {
    match std::env::var("REKKO_TEST_PG_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            if running_in_ci() {
                panic!(
                    "REKKO_TEST_PG_URL is not set under CI=true: run .ci/postgres.sh and set it"
                );
            }
            eprintln!("SKIPPED {test}: REKKO_TEST_PG_URL is not set (run .ci/postgres.sh)");
            None
        }
    }
}

/// A schema of its own on the test database, with the coordinates the JVM fixture needs.
pub struct TestDb {
    /// A pool on the database.
    pub pool: sqlx::PgPool,
    /// The schema every table of the test goes in.
    pub schema: String,
    /// `jdbc:postgresql://host:port/database`, for the JVM.
    pub jdbc_url: String,
    /// The user from the URL (empty if none).
    pub user: String,
    /// The password from the URL (empty if none).
    pub password: String,
}

impl TestDb {
    /// A new schema `<prefix>_<uuid>` on `url` (not created yet: the stores create it with their
    /// tables). Call inside a Tokio runtime.
    pub fn open(url: &str, prefix: &str, max_connections: usize) -> Self {
        let schema = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        Self::with_schema(url, &schema, max_connections)
    }

    /// The test database with an existing schema name (a child process joining its parent's
    /// test). Call inside a Tokio runtime.
    pub fn with_schema(url: &str, schema: &str, max_connections: usize) -> Self {
        let db = DbSettings {
            url: url.to_string(),
            max_connections,
            connection_timeout: Duration::from_secs(10),
            ..Default::default()
        };
        let DbTarget::Postgres {
            host,
            port,
            database,
            url_user,
            url_password,
        } = db.target("REKKO_TEST_PG_URL").expect("a PostgreSQL URL")
        else {
            panic!("REKKO_TEST_PG_URL is not a PostgreSQL URL: {url}");
        };
        TestDb {
            pool: postgres_pool(&db, "REKKO_TEST_PG_URL").expect("PostgreSQL pool"),
            schema: schema.to_string(),
            jdbc_url: format!("jdbc:postgresql://{host}:{port}/{database}"),
            user: url_user.unwrap_or_default(),
            password: url_password.unwrap_or_default(),
        }
    }

    /// The journal tables (default and legacy) in the test's schema.
    pub fn journal_tables(&self) -> JournalTables {
        let mut tables = JournalTables::default();
        tables.event_journal.schema_name = self.schema.clone();
        tables.event_tag.schema_name = self.schema.clone();
        tables.legacy_journal.schema_name = self.schema.clone();
        tables
    }

    /// The snapshot tables (default and legacy) in the test's schema.
    pub fn snapshot_tables(&self) -> SnapshotTables {
        let mut tables = SnapshotTables::default();
        tables.snapshot.schema_name = self.schema.clone();
        tables.legacy_snapshot.schema_name = self.schema.clone();
        tables
    }

    /// A journal in the default schema, without creating its tables.
    pub fn journal(&self) -> PostgresJournal {
        PostgresJournal::new(self.pool.clone(), &self.journal_tables(), 400)
    }

    /// Journal and snapshot store in the default schema, their tables created.
    pub async fn default_schema(&self) -> (Arc<PostgresJournal>, Arc<PostgresSnapshotStore>) {
        let journal = self.journal();
        journal
            .create_tables()
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at REKKO_TEST_PG_URL is unreachable: {e}"));
        let snapshots =
            PostgresSnapshotStore::new(self.pool.clone(), &self.snapshot_tables().snapshot);
        snapshots.create_tables().await.expect("snapshot table");
        (Arc::new(journal), Arc::new(snapshots))
    }

    /// The JVM fixture `PersistenceNode` named `name` on this database and schema; add its other
    /// arguments (`--format`, `--snapshot-every`, `--legacy`) to the spec.
    pub fn persistence_node(&self, name: &str) -> FixtureSpec {
        FixtureSpec::new(PERSISTENCE_NODE)
            .name(name)
            .args(["--jdbc-url", &self.jdbc_url])
            .args(["--db-user", &self.user])
            .args(["--db-password", &self.password])
            .args(["--schema", &self.schema])
    }

    /// Drops the test's schema and everything in it.
    pub async fn drop_schema(&self) {
        sqlx::query(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema))
            .execute(&self.pool)
            .await
            .expect("drop test schema");
    }
}
