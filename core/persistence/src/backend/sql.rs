//! SQL backends in pekko-persistence-jdbc's default schema: PostgreSQL (the JVM plugin's
//! database) and SQLite (embedded, no server). Both use sqlx with a connection pool; the
//! statement texts are shared and built from the configured table and column names.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Postgres, QueryBuilder, Row, Sqlite};

use super::shared::{sql_limit, Dialect, EventColumns, SharedSql, SnapshotKeyColumns};
use crate::journal::{Journal, SnapshotStore};
use crate::model::{
    now_millis, AtomicWrite, EventRecord, PersistentRepr, SerializedPayload, SnapshotMetadata,
    SnapshotRecord, SnapshotSelectionCriteria,
};
use crate::settings::{
    DbSettings, DbTarget, EventJournalColumns, EventTagColumns, JournalTables, SnapshotColumns,
    Table,
};
use crate::{PersistenceError, Result};

/// Statement texts for one configured set of tables.
#[derive(Debug)]
struct JournalSql {
    ej: String,
    et: String,
    c: EventJournalColumns,
    t: EventTagColumns,
    select_cols: String,
    select_cols_e: String,
    insert_head: String,
    ddl_pg: Vec<String>,
    ddl_sqlite: Vec<String>,
}

impl JournalSql {
    fn events(&self) -> EventColumns<'_> {
        EventColumns {
            table: &self.ej,
            ordering: &self.c.ordering,
            persistence_id: &self.c.persistence_id,
            sequence_number: &self.c.sequence_number,
            deleted: &self.c.deleted,
        }
    }

    fn new(tables: &JournalTables) -> Self {
        let ej = tables.event_journal.qualified();
        let et = tables.event_tag.qualified();
        let c = tables.event_journal.column_names.clone();
        let t = tables.event_tag.column_names.clone();
        let cols = [
            &c.ordering,
            &c.persistence_id,
            &c.sequence_number,
            &c.deleted,
            &c.writer,
            &c.write_timestamp,
            &c.adapter_manifest,
            &c.event_ser_id,
            &c.event_ser_manifest,
            &c.event_payload,
            &c.meta_ser_id,
            &c.meta_ser_manifest,
            &c.meta_payload,
        ]
        .map(String::as_str);
        let select_cols = cols.join(", ");
        let select_cols_e = cols
            .iter()
            .map(|s| format!("e.{s}"))
            .collect::<Vec<_>>()
            .join(", ");
        // Every column but `ordering`, which the database assigns.
        let insert_head = format!("INSERT INTO {ej} ({}) ", cols[1..].join(", "));
        let body = |ordering: &str, bytes: &str, pk: &str| {
            let types = [
                ordering.to_string(),
                "VARCHAR(255) NOT NULL".into(),
                "BIGINT NOT NULL".into(),
                "BOOLEAN DEFAULT FALSE NOT NULL".into(),
                "VARCHAR(255) NOT NULL".into(),
                "BIGINT".into(),
                "VARCHAR(255)".into(),
                "INTEGER NOT NULL".into(),
                "VARCHAR(255) NOT NULL".into(),
                format!("{bytes} NOT NULL"),
                "INTEGER".into(),
                "VARCHAR(255)".into(),
                bytes.to_string(),
            ];
            let columns: Vec<String> = cols
                .iter()
                .zip(types)
                .map(|(c, t)| format!("{c} {t}"))
                .collect();
            format!(
                "CREATE TABLE IF NOT EXISTS {ej} ({}, {pk})",
                columns.join(", ")
            )
        };
        let tag_ddl = format!(
            "CREATE TABLE IF NOT EXISTS {et} ({} BIGINT, {} VARCHAR(256), PRIMARY KEY({}, {}), \
             CONSTRAINT fk_event_journal FOREIGN KEY({}) REFERENCES {ej}({}) ON DELETE CASCADE)",
            t.event_id, t.tag, t.event_id, t.tag, t.event_id, c.ordering
        );
        let mut ddl_pg = Vec::new();
        if !tables.event_journal.schema_name.is_empty() {
            ddl_pg.push(format!(
                "CREATE SCHEMA IF NOT EXISTS {}",
                tables.event_journal.schema_name
            ));
        }
        if !tables.event_tag.schema_name.is_empty()
            && tables.event_tag.schema_name != tables.event_journal.schema_name
        {
            ddl_pg.push(format!(
                "CREATE SCHEMA IF NOT EXISTS {}",
                tables.event_tag.schema_name
            ));
        }
        ddl_pg.push(body(
            "BIGSERIAL",
            "BYTEA",
            &format!("PRIMARY KEY({}, {})", c.persistence_id, c.sequence_number),
        ));
        ddl_pg.push(format!(
            "CREATE UNIQUE INDEX IF NOT EXISTS {}_{}_idx ON {ej}({})",
            tables.event_journal.table_name, c.ordering, c.ordering
        ));
        ddl_pg.push(tag_ddl.clone());
        // SQLite: the ordering must be the rowid to auto-increment, so the natural key becomes
        // a UNIQUE constraint; columns, names and meaning are those of the PostgreSQL schema.
        let ddl_sqlite = vec![
            body(
                "INTEGER PRIMARY KEY AUTOINCREMENT",
                "BLOB",
                &format!("UNIQUE({}, {})", c.persistence_id, c.sequence_number),
            ),
            tag_ddl,
        ];
        JournalSql {
            ej,
            et,
            c,
            t,
            select_cols,
            select_cols_e,
            insert_head,
            ddl_pg,
            ddl_sqlite,
        }
    }
}

#[derive(Debug)]
struct SnapshotSql {
    st: String,
    c: SnapshotColumns,
    select_cols: String,
    ddl_pg: Vec<String>,
    ddl_sqlite: Vec<String>,
}

impl SnapshotSql {
    fn key(&self) -> SnapshotKeyColumns<'_> {
        SnapshotKeyColumns {
            table: &self.st,
            persistence_id: &self.c.persistence_id,
            sequence_number: &self.c.sequence_number,
            created: &self.c.created,
        }
    }

    fn new(table: &Table<SnapshotColumns>) -> Self {
        let st = table.qualified();
        let c = table.column_names.clone();
        let select_cols = [
            &c.persistence_id,
            &c.sequence_number,
            &c.created,
            &c.snapshot_ser_id,
            &c.snapshot_ser_manifest,
            &c.snapshot_payload,
            &c.meta_ser_id,
            &c.meta_ser_manifest,
            &c.meta_payload,
        ]
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ");
        let body = |bytes: &str| {
            format!(
                "CREATE TABLE IF NOT EXISTS {st} ({} VARCHAR(255) NOT NULL, {} BIGINT NOT NULL, \
                 {} BIGINT NOT NULL, {} INTEGER NOT NULL, {} VARCHAR(255) NOT NULL, \
                 {} {bytes} NOT NULL, {} INTEGER, {} VARCHAR(255), {} {bytes}, PRIMARY KEY({}, {}))",
                c.persistence_id,
                c.sequence_number,
                c.created,
                c.snapshot_ser_id,
                c.snapshot_ser_manifest,
                c.snapshot_payload,
                c.meta_ser_id,
                c.meta_ser_manifest,
                c.meta_payload,
                c.persistence_id,
                c.sequence_number
            )
        };
        let mut ddl_pg = Vec::new();
        if !table.schema_name.is_empty() {
            ddl_pg.push(format!("CREATE SCHEMA IF NOT EXISTS {}", table.schema_name));
        }
        ddl_pg.push(body("BYTEA"));
        let ddl_sqlite = vec![body("BLOB")];
        SnapshotSql {
            st,
            c,
            select_cols,
            ddl_pg,
            ddl_sqlite,
        }
    }
}

/// A journal on a SQL database (`DB` = [`sqlx::Postgres`] or [`sqlx::Sqlite`]).
pub struct SqlJournal<DB: sqlx::Database> {
    pool: sqlx::Pool<DB>,
    sql: Arc<JournalSql>,
    batch_size: usize,
    in_flight: crate::inflight::InFlightWrites,
}

/// A snapshot store on a SQL database (`DB` = [`sqlx::Postgres`] or [`sqlx::Sqlite`]).
pub struct SqlSnapshotStore<DB: sqlx::Database> {
    pool: sqlx::Pool<DB>,
    sql: Arc<SnapshotSql>,
}

/// Journal on PostgreSQL.
pub type PostgresJournal = SqlJournal<Postgres>;
/// Journal on an embedded SQLite file.
pub type SqliteJournal = SqlJournal<Sqlite>;
/// Snapshot store on PostgreSQL.
pub type PostgresSnapshotStore = SqlSnapshotStore<Postgres>;
/// Snapshot store on an embedded SQLite file.
pub type SqliteSnapshotStore = SqlSnapshotStore<Sqlite>;

/// Opens a PostgreSQL pool for `slick.db` of the plugin section at `path` (lazily: a database
/// that is down makes operations fail after `connectionTimeout`, it does not fail
/// construction). Call it inside a Tokio runtime.
pub fn postgres_pool(db: &DbSettings, path: &str) -> Result<sqlx::PgPool> {
    postgres_pool_at(db, &format!("{path}.slick"))
}

/// As [`postgres_pool`], for the `slick` block at config path `slick_path` (errors name
/// `<slick_path>.db.url`), e.g. a shared database's.
pub fn postgres_pool_at(db: &DbSettings, slick_path: &str) -> Result<sqlx::PgPool> {
    let DbTarget::Postgres {
        host,
        port,
        database,
        url_user,
        url_password,
    } = db.target_at(slick_path)?
    else {
        return Err(PersistenceError::Config {
            path: format!("{slick_path}.db.url"),
            reason: format!("{:?} is not a PostgreSQL URL", db.url),
        });
    };
    let mut opts = PgConnectOptions::new()
        .host(&host)
        .port(port)
        .database(&database);
    if !db.user.is_empty() {
        opts = opts.username(&db.user);
    } else if let Some(u) = &url_user {
        opts = opts.username(u);
    }
    if !db.password.is_empty() {
        opts = opts.password(&db.password);
    } else if let Some(p) = &url_password {
        opts = opts.password(p);
    }
    let max = db.max_connections.max(1) as u32;
    Ok(PgPoolOptions::new()
        .max_connections(max)
        .min_connections(0)
        .acquire_timeout(db.connection_timeout)
        .idle_timeout(Some(db.idle_timeout))
        .max_lifetime(Some(db.max_lifetime))
        .connect_lazy_with(opts))
}

/// Opens a SQLite pool for `slick.db.url = "jdbc:sqlite:<file>"` (created if missing, WAL mode,
/// foreign keys on so tag rows follow their events), for `slick.db` of the plugin section at
/// `path`. Call it inside a Tokio runtime.
pub fn sqlite_pool(db: &DbSettings, path: &str) -> Result<sqlx::SqlitePool> {
    sqlite_pool_at(db, &format!("{path}.slick"))
}

/// As [`sqlite_pool`], for the `slick` block at config path `slick_path` (errors name
/// `<slick_path>.db.url`), e.g. a shared database's.
pub fn sqlite_pool_at(db: &DbSettings, slick_path: &str) -> Result<sqlx::SqlitePool> {
    let DbTarget::Sqlite { path: file } = db.target_at(slick_path)? else {
        return Err(PersistenceError::Config {
            path: format!("{slick_path}.db.url"),
            reason: format!("{:?} is not a SQLite URL", db.url),
        });
    };
    let memory = file == ":memory:";
    let opts = SqliteConnectOptions::from_str(&format!("sqlite:{file}"))
        .map_err(|e| PersistenceError::Config {
            path: format!("{slick_path}.db.url"),
            reason: e.to_string(),
        })?
        .create_if_missing(true)
        .foreign_keys(true)
        .busy_timeout(
            db.connection_timeout
                .min(std::time::Duration::from_secs(30)),
        );
    let opts = if memory {
        opts
    } else {
        opts.journal_mode(SqliteJournalMode::Wal)
    };
    let max = if memory {
        1
    } else {
        db.max_connections.clamp(1, 8) as u32
    };
    Ok(SqlitePoolOptions::new()
        .max_connections(max)
        .min_connections(0)
        .acquire_timeout(db.connection_timeout)
        .connect_lazy_with(opts))
}

impl<DB: sqlx::Database> SqlJournal<DB> {
    /// A journal on `pool` with the plugin's table names and write batch size.
    pub fn new(pool: sqlx::Pool<DB>, tables: &JournalTables, batch_size: usize) -> Self {
        SqlJournal {
            pool,
            sql: Arc::new(JournalSql::new(tables)),
            batch_size: batch_size.max(1),
            in_flight: Default::default(),
        }
    }

    /// The underlying pool.
    pub fn pool(&self) -> &sqlx::Pool<DB> {
        &self.pool
    }
}

impl<DB: sqlx::Database> SqlSnapshotStore<DB> {
    /// A snapshot store on `pool` with the plugin's table names.
    pub fn new(pool: sqlx::Pool<DB>, table: &Table<SnapshotColumns>) -> Self {
        SqlSnapshotStore {
            pool,
            sql: Arc::new(SnapshotSql::new(table)),
        }
    }

    /// The underlying pool.
    pub fn pool(&self) -> &sqlx::Pool<DB> {
        &self.pool
    }
}

/// The optional metadata columns (serializer id, manifest, bytes) as a payload.
fn optional_payload(
    id: Option<i32>,
    manifest: Option<String>,
    bytes: Option<Vec<u8>>,
) -> Option<SerializedPayload> {
    id.map(|id| SerializedPayload::new(id, manifest.unwrap_or_default(), bytes.unwrap_or_default()))
}

macro_rules! sql_backend {
    ($db:ty, $row:ty, $ddl:ident) => {
        impl SqlJournal<$db> {
            /// Creates the journal tables if they do not exist.
            pub async fn create_tables(&self) -> Result<()> {
                SharedSql::new(&self.pool)
                    .create_tables("journal tables", &self.sql.$ddl)
                    .await
            }

            fn decode_row(row: &$row) -> std::result::Result<EventRecord, sqlx::Error> {
                let metadata =
                    optional_payload(row.try_get(10)?, row.try_get(11)?, row.try_get(12)?);
                Ok(EventRecord {
                    ordering: row.try_get(0)?,
                    repr: PersistentRepr {
                        persistence_id: row.try_get(1)?,
                        sequence_nr: row.try_get(2)?,
                        deleted: row.try_get(3)?,
                        writer_uuid: row.try_get(4)?,
                        timestamp: row.try_get::<Option<i64>, _>(5)?.unwrap_or(0),
                        adapter_manifest: row.try_get::<Option<String>, _>(6)?.unwrap_or_default(),
                        payload: SerializedPayload::new(
                            row.try_get(7)?,
                            row.try_get::<String, _>(8)?,
                            row.try_get::<Vec<u8>, _>(9)?,
                        ),
                        metadata,
                        tags: Vec::new(),
                    },
                })
            }

            /// The events of a query's rows, with their tags.
            async fn fetch_records<'q>(
                &self,
                query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>>,
            ) -> std::result::Result<Vec<EventRecord>, sqlx::Error> {
                let rows = query.fetch_all(&self.pool).await?;
                let mut out = rows
                    .iter()
                    .map(Self::decode_row)
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                self.attach_tags(&mut out).await?;
                Ok(out)
            }

            async fn attach_tags(
                &self,
                records: &mut [EventRecord],
            ) -> std::result::Result<(), sqlx::Error> {
                if records.is_empty() {
                    return Ok(());
                }
                let mut qb = QueryBuilder::<$db>::new(format!(
                    "SELECT {}, {} FROM {} WHERE {} IN (",
                    self.sql.t.event_id, self.sql.t.tag, self.sql.et, self.sql.t.event_id
                ));
                let mut sep = qb.separated(", ");
                for r in records.iter() {
                    sep.push_bind(r.ordering);
                }
                qb.push(format!(") ORDER BY {}, {}", self.sql.t.event_id, self.sql.t.tag));
                let rows = qb.build().fetch_all(&self.pool).await?;
                let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
                for row in rows {
                    let id: i64 = row.try_get(0)?;
                    let tag: String = row.try_get(1)?;
                    tags.entry(id).or_default().push(tag);
                }
                for r in records.iter_mut() {
                    if let Some(t) = tags.remove(&r.ordering) {
                        r.repr.tags = t;
                    }
                }
                Ok(())
            }
        }

        #[async_trait]
        impl Journal for SqlJournal<$db> {
            async fn write(&self, writes: &[AtomicWrite]) -> Result<()> {
                if writes.is_empty() {
                    return Ok(());
                }
                let now = now_millis();
                let count: usize = writes.iter().map(|w| w.events().len()).sum();
                let op = || {
                    format!(
                        "write of {count} events of {}{}",
                        writes[0].persistence_id(),
                        if writes.len() > 1 { " and others" } else { "" }
                    )
                };
                let err = |e: sqlx::Error| PersistenceError::store(<$db as Dialect>::BACKEND, op(), e);
                let _in_flight = self
                    .in_flight
                    .begin(writes.iter().map(|w| w.persistence_id()));
                let mut rows: Vec<&PersistentRepr> =
                    writes.iter().flat_map(|w| w.events().iter()).collect();
                // Within a batch rows go in sequence order, as the JVM plugin writes them.
                rows.sort_by(|a, b| {
                    (a.sequence_nr, &a.persistence_id).cmp(&(b.sequence_nr, &b.persistence_id))
                });
                let any_tags = rows.iter().any(|r| !r.tags.is_empty());
                let mut tx = self.pool.begin().await.map_err(err)?;
                for chunk in rows.chunks(self.batch_size) {
                    let mut qb = QueryBuilder::<$db>::new(&self.sql.insert_head);
                    qb.push_values(chunk.iter(), |mut b, r| {
                        let ts = if r.timestamp == 0 { now } else { r.timestamp };
                        b.push_bind(r.persistence_id.as_str())
                            .push_bind(r.sequence_nr)
                            .push_bind(false)
                            .push_bind(r.writer_uuid.as_str())
                            .push_bind(ts)
                            .push_bind(r.adapter_manifest.as_str())
                            .push_bind(r.payload.serializer_id)
                            .push_bind(r.payload.manifest.as_str())
                            .push_bind(&r.payload.bytes[..])
                            .push_bind(r.metadata.as_ref().map(|m| m.serializer_id))
                            .push_bind(r.metadata.as_ref().map(|m| m.manifest.as_str()))
                            .push_bind(r.metadata.as_ref().map(|m| &m.bytes[..]));
                    });
                    if !any_tags {
                        qb.build().execute(&mut *tx).await.map_err(err)?;
                        continue;
                    }
                    qb.push(format!(
                        " RETURNING {}, {}, {}",
                        self.sql.c.ordering, self.sql.c.persistence_id, self.sql.c.sequence_number
                    ));
                    let returned = qb.build().fetch_all(&mut *tx).await.map_err(err)?;
                    let mut orderings: HashMap<(String, i64), i64> = HashMap::new();
                    for row in returned {
                        let o: i64 = row.try_get(0).map_err(err)?;
                        let pid: String = row.try_get(1).map_err(err)?;
                        let seq: i64 = row.try_get(2).map_err(err)?;
                        orderings.insert((pid, seq), o);
                    }
                    let mut tag_rows: Vec<(i64, &str)> = Vec::new();
                    for r in chunk {
                        if r.tags.is_empty() {
                            continue;
                        }
                        let o = *orderings
                            .get(&(r.persistence_id.clone(), r.sequence_nr))
                            .ok_or_else(|| {
                                err(sqlx::Error::Protocol(format!(
                                    "insert returned no ordering for {} seq {}",
                                    r.persistence_id, r.sequence_nr
                                )))
                            })?;
                        let mut seen = std::collections::BTreeSet::new();
                        for t in &r.tags {
                            if seen.insert(t.as_str()) {
                                tag_rows.push((o, t.as_str()));
                            }
                        }
                    }
                    for tag_chunk in tag_rows.chunks(1000) {
                        let mut qb = QueryBuilder::<$db>::new(format!(
                            "INSERT INTO {} ({}, {}) ",
                            self.sql.et, self.sql.t.event_id, self.sql.t.tag
                        ));
                        qb.push_values(tag_chunk.iter(), |mut b, (o, t)| {
                            b.push_bind(*o).push_bind(*t);
                        });
                        qb.build().execute(&mut *tx).await.map_err(err)?;
                    }
                }
                tx.commit().await.map_err(err)
            }

            async fn highest_sequence_nr(&self, persistence_id: &str) -> Result<i64> {
                self.in_flight.wait_idle(persistence_id).await;
                SharedSql::new(&self.pool)
                    .highest_sequence_nr(&self.sql.events(), persistence_id)
                    .await
            }

            async fn delete_to(&self, persistence_id: &str, to_sequence_nr: i64) -> Result<()> {
                SharedSql::new(&self.pool)
                    .delete_to(&self.sql.events(), persistence_id, to_sequence_nr)
                    .await
            }

            async fn read_events(
                &self,
                persistence_id: &str,
                from_sequence_nr: i64,
                to_sequence_nr: i64,
                limit: usize,
            ) -> Result<Vec<EventRecord>> {
                let err = |e| {
                    PersistenceError::store(
                        <$db as Dialect>::BACKEND,
                        format!(
                            "read events of {persistence_id} from {from_sequence_nr} to {to_sequence_nr}"
                        ),
                        e,
                    )
                };
                let c = &self.sql.c;
                let q = format!(
                    "SELECT {} FROM {} WHERE {} = $1 AND {} = $2 AND {} >= $3 AND {} <= $4 \
                     ORDER BY {} ASC LIMIT $5",
                    self.sql.select_cols,
                    self.sql.ej,
                    c.persistence_id,
                    c.deleted,
                    c.sequence_number,
                    c.sequence_number,
                    c.sequence_number
                );
                let query = sqlx::query(&q)
                    .bind(persistence_id)
                    .bind(false)
                    .bind(from_sequence_nr)
                    .bind(to_sequence_nr)
                    .bind(sql_limit(limit));
                self.fetch_records(query).await.map_err(err)
            }

            async fn read_tagged(
                &self,
                tag: &str,
                after_ordering: i64,
                up_to_ordering: i64,
                limit: usize,
            ) -> Result<Vec<EventRecord>> {
                let err = |e| {
                    PersistenceError::store(
                        <$db as Dialect>::BACKEND,
                        format!("read events tagged {tag:?} after ordering {after_ordering}"),
                        e,
                    )
                };
                let c = &self.sql.c;
                let q = format!(
                    "SELECT {} FROM {} e JOIN {} t ON e.{} = t.{} WHERE e.{} = $1 AND t.{} = $2 \
                     AND e.{} > $3 AND e.{} <= $4 ORDER BY e.{} ASC LIMIT $5",
                    self.sql.select_cols_e,
                    self.sql.ej,
                    self.sql.et,
                    c.ordering,
                    self.sql.t.event_id,
                    c.deleted,
                    self.sql.t.tag,
                    c.ordering,
                    c.ordering,
                    c.ordering
                );
                let query = sqlx::query(&q)
                    .bind(false)
                    .bind(tag)
                    .bind(after_ordering)
                    .bind(up_to_ordering)
                    .bind(sql_limit(limit));
                self.fetch_records(query).await.map_err(err)
            }

            async fn max_ordering(&self) -> Result<i64> {
                SharedSql::new(&self.pool)
                    .max_ordering(&self.sql.events())
                    .await
            }

            async fn orderings_after(&self, after: i64, limit: usize) -> Result<Vec<i64>> {
                SharedSql::new(&self.pool)
                    .orderings_after(&self.sql.events(), after, limit)
                    .await
            }

            async fn persistence_ids(&self) -> Result<Vec<String>> {
                SharedSql::new(&self.pool)
                    .persistence_ids(&self.sql.events())
                    .await
            }
        }

        impl SqlSnapshotStore<$db> {
            /// Creates the snapshot table if it does not exist.
            pub async fn create_tables(&self) -> Result<()> {
                SharedSql::new(&self.pool)
                    .create_tables("snapshot table", &self.sql.$ddl)
                    .await
            }

            fn decode_row(row: &$row) -> std::result::Result<SnapshotRecord, sqlx::Error> {
                let meta = optional_payload(row.try_get(6)?, row.try_get(7)?, row.try_get(8)?);
                Ok(SnapshotRecord {
                    metadata: SnapshotMetadata {
                        persistence_id: row.try_get(0)?,
                        sequence_nr: row.try_get(1)?,
                        timestamp: row.try_get(2)?,
                    },
                    state: SerializedPayload::new(
                        row.try_get(3)?,
                        row.try_get::<String, _>(4)?,
                        row.try_get::<Vec<u8>, _>(5)?,
                    ),
                    meta,
                })
            }
        }

        #[async_trait]
        impl SnapshotStore for SqlSnapshotStore<$db> {
            async fn save(&self, s: &SnapshotRecord) -> Result<()> {
                let c = &self.sql.c;
                let q = format!(
                    "INSERT INTO {st} ({pid}, {seq}, {cr}, {sid}, {sm}, {sp}, {mid}, {mm}, {mp}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT ({pid}, {seq}) DO UPDATE SET \
                     {cr} = excluded.{cr}, {sid} = excluded.{sid}, {sm} = excluded.{sm}, \
                     {sp} = excluded.{sp}, {mid} = excluded.{mid}, {mm} = excluded.{mm}, {mp} = excluded.{mp}",
                    st = self.sql.st,
                    pid = c.persistence_id,
                    seq = c.sequence_number,
                    cr = c.created,
                    sid = c.snapshot_ser_id,
                    sm = c.snapshot_ser_manifest,
                    sp = c.snapshot_payload,
                    mid = c.meta_ser_id,
                    mm = c.meta_ser_manifest,
                    mp = c.meta_payload
                );
                sqlx::query(&q)
                    .bind(s.metadata.persistence_id.as_str())
                    .bind(s.metadata.sequence_nr)
                    .bind(s.metadata.timestamp)
                    .bind(s.state.serializer_id)
                    .bind(s.state.manifest.as_str())
                    .bind(&s.state.bytes[..])
                    .bind(s.meta.as_ref().map(|m| m.serializer_id))
                    .bind(s.meta.as_ref().map(|m| m.manifest.as_str()))
                    .bind(s.meta.as_ref().map(|m| &m.bytes[..]))
                    .execute(&self.pool)
                    .await
                    .map_err(|e| {
                        PersistenceError::store(
                            <$db as Dialect>::BACKEND,
                            format!(
                                "save snapshot of {} at {}",
                                s.metadata.persistence_id, s.metadata.sequence_nr
                            ),
                            e,
                        )
                    })?;
                Ok(())
            }

            async fn load(
                &self,
                persistence_id: &str,
                criteria: SnapshotSelectionCriteria,
            ) -> Result<Option<SnapshotRecord>> {
                let err = |e| {
                    PersistenceError::store(<$db as Dialect>::BACKEND, format!("load snapshot of {persistence_id}"), e)
                };
                let row = SharedSql::new(&self.pool)
                    .latest_snapshot(&self.sql.key(), &self.sql.select_cols, persistence_id, &criteria)
                    .await
                    .map_err(err)?;
                row.as_ref()
                    .map(Self::decode_row)
                    .transpose()
                    .map_err(err)
            }

            async fn delete(&self, m: &SnapshotMetadata) -> Result<()> {
                SharedSql::new(&self.pool)
                    .delete_snapshot(&self.sql.key(), &m.persistence_id, m.sequence_nr)
                    .await
            }

            async fn delete_matching(
                &self,
                persistence_id: &str,
                criteria: SnapshotSelectionCriteria,
            ) -> Result<()> {
                SharedSql::new(&self.pool)
                    .delete_snapshots(&self.sql.key(), persistence_id, &criteria)
                    .await
            }
        }
    };
}

sql_backend!(Postgres, sqlx::postgres::PgRow, ddl_pg);
sql_backend!(Sqlite, sqlx::sqlite::SqliteRow, ddl_sqlite);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_journal_statements_are_pekko_persistence_jdbc_s_schema() {
        let sql = JournalSql::new(&JournalTables::default());
        assert_eq!(
            sql.ddl_pg[0],
            "CREATE TABLE IF NOT EXISTS event_journal (ordering BIGSERIAL, \
             persistence_id VARCHAR(255) NOT NULL, sequence_number BIGINT NOT NULL, \
             deleted BOOLEAN DEFAULT FALSE NOT NULL, writer VARCHAR(255) NOT NULL, \
             write_timestamp BIGINT, adapter_manifest VARCHAR(255), event_ser_id INTEGER NOT NULL, \
             event_ser_manifest VARCHAR(255) NOT NULL, event_payload BYTEA NOT NULL, \
             meta_ser_id INTEGER, meta_ser_manifest VARCHAR(255), meta_payload BYTEA, \
             PRIMARY KEY(persistence_id, sequence_number))"
        );
        assert!(sql.ddl_sqlite[0].starts_with(
            "CREATE TABLE IF NOT EXISTS event_journal (ordering INTEGER PRIMARY KEY AUTOINCREMENT, \
             persistence_id VARCHAR(255) NOT NULL,"
        ));
        assert!(sql.ddl_sqlite[0].ends_with(
            "event_payload BLOB NOT NULL, meta_ser_id INTEGER, meta_ser_manifest VARCHAR(255), \
             meta_payload BLOB, UNIQUE(persistence_id, sequence_number))"
        ));
        assert_eq!(
            sql.insert_head,
            "INSERT INTO event_journal (persistence_id, sequence_number, deleted, writer, \
             write_timestamp, adapter_manifest, event_ser_id, event_ser_manifest, event_payload, \
             meta_ser_id, meta_ser_manifest, meta_payload) "
        );
    }
}
