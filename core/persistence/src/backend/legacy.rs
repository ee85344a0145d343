//! The legacy pekko-persistence-jdbc schema (DAOs `...dao.legacy.ByteArrayJournalDao` and
//! `...dao.legacy.ByteArraySnapshotDao`): table `journal` with the whole event serialized by
//! Pekko's `MessageSerializer` in `message` and tags joined by `tagSeparator` in `tags`; table
//! `snapshot` with the state in the `SnapshotSerializer` wrapper in `snapshot`.
//!
//! Same contracts as the default schema's backends; `eventsByTag` matches `tags LIKE '%tag%'`
//! and then keeps rows whose split tags contain the tag exactly, as the JVM does.

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::{Postgres, QueryBuilder, Row, Sqlite};

use super::shared::{sql_limit, Dialect, EventColumns, SharedSql, SnapshotKeyColumns};
use crate::inflight::InFlightWrites;
use crate::journal::{Journal, SnapshotStore};
use crate::model::{
    now_millis, AtomicWrite, EventRecord, SnapshotMetadata, SnapshotRecord,
    SnapshotSelectionCriteria,
};
use crate::serialization::message::{decode_persistent_message, encode_persistent_message};
use crate::serialization::snapshot::{decode_snapshot, encode_snapshot};
use crate::settings::{LegacyJournalColumns, LegacySnapshotColumns, Table};
use crate::{PersistenceError, Result};

/// Legacy-schema journal (`DB` = [`sqlx::Postgres`] or [`sqlx::Sqlite`]).
pub struct LegacyJournal<DB: sqlx::Database> {
    pool: sqlx::Pool<DB>,
    table: String,
    schema: String,
    c: Arc<LegacyJournalColumns>,
    separator: String,
    in_flight: InFlightWrites,
}

/// Legacy-schema snapshot store (`DB` = [`sqlx::Postgres`] or [`sqlx::Sqlite`]).
pub struct LegacySnapshotStore<DB: sqlx::Database> {
    pool: sqlx::Pool<DB>,
    table: String,
    schema: String,
    c: Arc<LegacySnapshotColumns>,
}

impl<DB: sqlx::Database> LegacyJournal<DB> {
    /// A legacy journal on `pool` with the plugin's `tables.legacy_journal` and `tagSeparator`.
    pub fn new(pool: sqlx::Pool<DB>, table: &Table<LegacyJournalColumns>, separator: &str) -> Self {
        LegacyJournal {
            pool,
            table: table.qualified(),
            schema: table.schema_name.clone(),
            c: Arc::new(table.column_names.clone()),
            separator: if separator.is_empty() {
                ",".into()
            } else {
                separator.into()
            },
            in_flight: InFlightWrites::default(),
        }
    }

    fn events(&self) -> EventColumns<'_> {
        EventColumns {
            table: &self.table,
            ordering: &self.c.ordering,
            persistence_id: &self.c.persistence_id,
            sequence_number: &self.c.sequence_number,
            deleted: &self.c.deleted,
        }
    }

    fn cols(&self) -> String {
        let c = &self.c;
        format!(
            "{}, {}, {}, {}, {}, {}",
            c.ordering, c.persistence_id, c.sequence_number, c.deleted, c.tags, c.message
        )
    }

    fn ddl(&self, ordering: &str, bytes: &str, key: &str, index: bool) -> Vec<String> {
        let c = &self.c;
        let mut out = Vec::new();
        if index && !self.schema.is_empty() {
            out.push(format!("CREATE SCHEMA IF NOT EXISTS {}", self.schema));
        }
        out.push(format!(
            "CREATE TABLE IF NOT EXISTS {} ({} {ordering}, {} VARCHAR(255) NOT NULL, {} BIGINT NOT NULL, \
             {} BOOLEAN DEFAULT FALSE NOT NULL, {} VARCHAR(255) DEFAULT NULL, {} {bytes} NOT NULL, {key})",
            self.table, c.ordering, c.persistence_id, c.sequence_number, c.deleted, c.tags, c.message
        ));
        if index {
            let bare = self.table.rsplit('.').next().unwrap_or(&self.table);
            out.push(format!(
                "CREATE UNIQUE INDEX IF NOT EXISTS {bare}_{}_idx ON {}({})",
                c.ordering, self.table, c.ordering
            ));
        }
        out
    }

    fn decode(
        &self,
        ordering: i64,
        pid: &str,
        seq: i64,
        deleted: bool,
        tags: Option<String>,
        message: &[u8],
    ) -> Result<EventRecord> {
        let mut repr =
            decode_persistent_message(message).map_err(|e| PersistenceError::Decode {
                serializer_id: crate::serialization::message::MESSAGE_SERIALIZER_ID,
                manifest: crate::serialization::message::PERSISTENT_IMPL_MANIFEST.into(),
                what: format!("legacy journal row {pid} seq {seq}"),
                reason: e.to_string(),
            })?;
        repr.persistence_id = pid.to_string();
        repr.sequence_nr = seq;
        repr.deleted = deleted;
        repr.tags = tags
            .map(|t| {
                t.split(self.separator.as_str())
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        Ok(EventRecord { ordering, repr })
    }
}

impl<DB: sqlx::Database> LegacySnapshotStore<DB> {
    /// A legacy snapshot store on `pool` with the plugin's `tables.legacy_snapshot`.
    pub fn new(pool: sqlx::Pool<DB>, table: &Table<LegacySnapshotColumns>) -> Self {
        LegacySnapshotStore {
            pool,
            table: table.qualified(),
            schema: table.schema_name.clone(),
            c: Arc::new(table.column_names.clone()),
        }
    }

    fn key(&self) -> SnapshotKeyColumns<'_> {
        SnapshotKeyColumns {
            table: &self.table,
            persistence_id: &self.c.persistence_id,
            sequence_number: &self.c.sequence_number,
            created: &self.c.created,
        }
    }

    fn ddl(&self, bytes: &str, pg: bool) -> Vec<String> {
        let c = &self.c;
        let mut out = Vec::new();
        if pg && !self.schema.is_empty() {
            out.push(format!("CREATE SCHEMA IF NOT EXISTS {}", self.schema));
        }
        out.push(format!(
            "CREATE TABLE IF NOT EXISTS {} ({} VARCHAR(255) NOT NULL, {} BIGINT NOT NULL, \
             {} BIGINT NOT NULL, {} {bytes} NOT NULL, PRIMARY KEY({}, {}))",
            self.table,
            c.persistence_id,
            c.sequence_number,
            c.created,
            c.snapshot,
            c.persistence_id,
            c.sequence_number
        ));
        out
    }
}

macro_rules! legacy_backend {
    ($db:ty, $pg:expr, $ordering:literal, $bytes:literal, $key:expr) => {
        impl LegacyJournal<$db> {
            /// Creates the legacy `journal` table if it does not exist.
            pub async fn create_tables(&self) -> Result<()> {
                let key = $key(&self.c);
                SharedSql::new(&self.pool)
                    .create_tables(
                        "legacy journal table",
                        &self.ddl($ordering, $bytes, &key, $pg),
                    )
                    .await
            }

            async fn rows(
                &self,
                qb: &mut QueryBuilder<'_, $db>,
                op: &str,
            ) -> Result<Vec<EventRecord>> {
                let rows = qb
                    .build()
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| PersistenceError::store(<$db as Dialect>::BACKEND, op.to_string(), e))?;
                let mut out = Vec::with_capacity(rows.len());
                for row in rows {
                    let get = |e| PersistenceError::store(<$db as Dialect>::BACKEND, op.to_string(), e);
                    let ordering: i64 = row.try_get(0).map_err(get)?;
                    let pid: String = row.try_get(1).map_err(get)?;
                    let seq: i64 = row.try_get(2).map_err(get)?;
                    let deleted: bool = row.try_get(3).map_err(get)?;
                    let tags: Option<String> = row.try_get(4).map_err(get)?;
                    let message: Vec<u8> = row.try_get(5).map_err(get)?;
                    out.push(self.decode(ordering, &pid, seq, deleted, tags, &message)?);
                }
                Ok(out)
            }
        }

        #[async_trait]
        impl Journal for LegacyJournal<$db> {
            async fn write(&self, writes: &[AtomicWrite]) -> Result<()> {
                if writes.is_empty() {
                    return Ok(());
                }
                let op = format!("write to legacy journal of {}", writes[0].persistence_id());
                let err = |e| PersistenceError::store(<$db as Dialect>::BACKEND, op.clone(), e);
                let _guard = self
                    .in_flight
                    .begin(writes.iter().map(|w| w.persistence_id()));
                let now = now_millis();
                let rows: Vec<(String, i64, Option<String>, Vec<u8>)> = writes
                    .iter()
                    .flat_map(|w| w.events().iter())
                    .map(|r| {
                        let mut r = r.clone();
                        if r.timestamp == 0 {
                            r.timestamp = now;
                        }
                        let tags = (!r.tags.is_empty()).then(|| r.tags.join(&self.separator));
                        (
                            r.persistence_id.clone(),
                            r.sequence_nr,
                            tags,
                            encode_persistent_message(&r),
                        )
                    })
                    .collect();
                let c = &self.c;
                let mut tx = self.pool.begin().await.map_err(err)?;
                for chunk in rows.chunks(400) {
                    let mut qb = QueryBuilder::<$db>::new(format!(
                        "INSERT INTO {} ({}, {}, {}, {}, {}) ",
                        self.table, c.persistence_id, c.sequence_number, c.deleted, c.tags, c.message
                    ));
                    qb.push_values(chunk.iter(), |mut b, (pid, seq, tags, msg)| {
                        b.push_bind(pid.as_str())
                            .push_bind(*seq)
                            .push_bind(false)
                            .push_bind(tags.as_deref())
                            .push_bind(&msg[..]);
                    });
                    qb.build().execute(&mut *tx).await.map_err(err)?;
                }
                tx.commit().await.map_err(err)
            }

            async fn highest_sequence_nr(&self, persistence_id: &str) -> Result<i64> {
                self.in_flight.wait_idle(persistence_id).await;
                SharedSql::new(&self.pool)
                    .highest_sequence_nr(&self.events(), persistence_id)
                    .await
            }

            async fn delete_to(&self, persistence_id: &str, to: i64) -> Result<()> {
                SharedSql::new(&self.pool)
                    .delete_to(&self.events(), persistence_id, to)
                    .await
            }

            async fn read_events(
                &self,
                persistence_id: &str,
                from: i64,
                to: i64,
                limit: usize,
            ) -> Result<Vec<EventRecord>> {
                let c = &self.c;
                let mut qb = QueryBuilder::<$db>::new(format!(
                    "SELECT {} FROM {} WHERE {} = ",
                    self.cols(),
                    self.table,
                    c.persistence_id
                ));
                qb.push_bind(persistence_id.to_string());
                qb.push(format!(" AND {} = ", c.deleted)).push_bind(false);
                qb.push(format!(" AND {} >= ", c.sequence_number)).push_bind(from);
                qb.push(format!(" AND {} <= ", c.sequence_number)).push_bind(to);
                qb.push(format!(" ORDER BY {} ASC LIMIT ", c.sequence_number))
                    .push_bind(sql_limit(limit));
                self.rows(&mut qb, &format!("read legacy events of {persistence_id}"))
                    .await
            }

            async fn read_tagged(
                &self,
                tag: &str,
                after: i64,
                up_to: i64,
                limit: usize,
            ) -> Result<Vec<EventRecord>> {
                let c = &self.c;
                let mut out = Vec::new();
                let mut from = after;
                let page = limit.clamp(1, 10_000);
                loop {
                    let mut qb = QueryBuilder::<$db>::new(format!(
                        "SELECT {} FROM {} WHERE {} = ",
                        self.cols(),
                        self.table,
                        c.deleted
                    ));
                    qb.push_bind(false);
                    qb.push(format!(" AND {} LIKE ", c.tags))
                        .push_bind(format!("%{tag}%"));
                    qb.push(format!(" AND {} > ", c.ordering)).push_bind(from);
                    qb.push(format!(" AND {} <= ", c.ordering)).push_bind(up_to);
                    qb.push(format!(" ORDER BY {} ASC LIMIT ", c.ordering))
                        .push_bind(page as i64);
                    let rows = self
                        .rows(&mut qb, &format!("read legacy events tagged {tag:?}"))
                        .await?;
                    let full = rows.len() >= page;
                    if let Some(last) = rows.last() {
                        from = last.ordering;
                    }
                    for r in rows {
                        if r.repr.tags.iter().any(|t| t == tag) && out.len() < limit {
                            out.push(r);
                        }
                    }
                    if !full || out.len() >= limit {
                        return Ok(out);
                    }
                }
            }

            async fn max_ordering(&self) -> Result<i64> {
                SharedSql::new(&self.pool).max_ordering(&self.events()).await
            }

            async fn orderings_after(&self, after: i64, limit: usize) -> Result<Vec<i64>> {
                SharedSql::new(&self.pool)
                    .orderings_after(&self.events(), after, limit)
                    .await
            }

            async fn persistence_ids(&self) -> Result<Vec<String>> {
                SharedSql::new(&self.pool).persistence_ids(&self.events()).await
            }
        }

        impl LegacySnapshotStore<$db> {
            /// Creates the legacy `snapshot` table if it does not exist.
            pub async fn create_tables(&self) -> Result<()> {
                SharedSql::new(&self.pool)
                    .create_tables("legacy snapshot table", &self.ddl($bytes, $pg))
                    .await
            }
        }

        #[async_trait]
        impl SnapshotStore for LegacySnapshotStore<$db> {
            async fn save(&self, s: &SnapshotRecord) -> Result<()> {
                let c = &self.c;
                sqlx::query(&format!(
                    "INSERT INTO {t} ({p}, {q}, {cr}, {sn}) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT ({p}, {q}) DO UPDATE SET {cr} = excluded.{cr}, {sn} = excluded.{sn}",
                    t = self.table,
                    p = c.persistence_id,
                    q = c.sequence_number,
                    cr = c.created,
                    sn = c.snapshot
                ))
                .bind(s.metadata.persistence_id.as_str())
                .bind(s.metadata.sequence_nr)
                .bind(s.metadata.timestamp)
                .bind(encode_snapshot(&s.state))
                .execute(&self.pool)
                .await
                .map_err(|e| {
                    PersistenceError::store(
                        <$db as Dialect>::BACKEND,
                        format!("save legacy snapshot of {}", s.metadata.persistence_id),
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
                let c = &self.c;
                let err = |e| {
                    PersistenceError::store(<$db as Dialect>::BACKEND, format!("load legacy snapshot of {persistence_id}"), e)
                };
                let columns = format!(
                    "{}, {}, {}, {}",
                    c.persistence_id, c.sequence_number, c.created, c.snapshot
                );
                let row = SharedSql::new(&self.pool)
                    .latest_snapshot(&self.key(), &columns, persistence_id, &criteria)
                    .await
                    .map_err(err)?;
                let Some(row) = row else {
                    return Ok(None);
                };
                let seq: i64 = row.try_get(1).map_err(err)?;
                let bytes: Vec<u8> = row.try_get(3).map_err(err)?;
                let state = decode_snapshot(&bytes).map_err(|e| PersistenceError::Decode {
                    serializer_id: crate::serialization::snapshot::SNAPSHOT_SERIALIZER_ID,
                    manifest: String::new(),
                    what: format!("legacy snapshot of {persistence_id} at {seq}"),
                    reason: e.to_string(),
                })?;
                Ok(Some(SnapshotRecord {
                    metadata: SnapshotMetadata {
                        persistence_id: row.try_get(0).map_err(err)?,
                        sequence_nr: seq,
                        timestamp: row.try_get(2).map_err(err)?,
                    },
                    state,
                    meta: None,
                }))
            }

            async fn delete(&self, m: &SnapshotMetadata) -> Result<()> {
                SharedSql::new(&self.pool)
                    .delete_snapshot(&self.key(), &m.persistence_id, m.sequence_nr)
                    .await
            }

            async fn delete_matching(
                &self,
                persistence_id: &str,
                criteria: SnapshotSelectionCriteria,
            ) -> Result<()> {
                SharedSql::new(&self.pool)
                    .delete_snapshots(&self.key(), persistence_id, &criteria)
                    .await
            }
        }
    };
}

fn pk(c: &LegacyJournalColumns) -> String {
    format!("PRIMARY KEY({}, {})", c.persistence_id, c.sequence_number)
}

fn unique(c: &LegacyJournalColumns) -> String {
    format!("UNIQUE({}, {})", c.persistence_id, c.sequence_number)
}

legacy_backend!(Postgres, true, "BIGSERIAL", "BYTEA", pk);
legacy_backend!(
    Sqlite,
    false,
    "INTEGER PRIMARY KEY AUTOINCREMENT",
    "BLOB",
    unique
);
