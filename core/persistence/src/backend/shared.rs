//! Statements the default and the legacy schema share, written once for both SQL dialects.
//!
//! Both journal layouts have the columns `ordering`, `persistence_id`, `sequence_number` and
//! `deleted`, and both snapshot layouts have `persistence_id`, `sequence_number` and `created`
//! (each under its configured name); the operations that touch only those columns live here,
//! generic over the database. What differs between PostgreSQL and SQLite is in [`Dialect`].

use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Type};

use crate::model::SnapshotSelectionCriteria;
use crate::{PersistenceError, Result};

/// What differs between the SQL databases for the shared statements.
pub(crate) trait Dialect: Database {
    /// The backend's name in errors.
    const BACKEND: &'static str;
    /// Run first in the table-creating transaction: serialises concurrent creators (PostgreSQL's
    /// `CREATE ... IF NOT EXISTS` races on its catalog); SQLite's writer lock already does.
    const DDL_LOCK: Option<&'static str>;
}

impl Dialect for sqlx::Postgres {
    const BACKEND: &'static str = "postgres";
    const DDL_LOCK: Option<&'static str> = Some("SELECT pg_advisory_xact_lock(727365)");
}

impl Dialect for sqlx::Sqlite {
    const BACKEND: &'static str = "sqlite";
    const DDL_LOCK: Option<&'static str> = None;
}

/// The journal columns both layouts have, under their configured names.
pub(crate) struct EventColumns<'a> {
    /// Qualified table name.
    pub table: &'a str,
    pub ordering: &'a str,
    pub persistence_id: &'a str,
    pub sequence_number: &'a str,
    pub deleted: &'a str,
}

/// The snapshot columns both layouts have, under their configured names.
pub(crate) struct SnapshotKeyColumns<'a> {
    /// Qualified table name.
    pub table: &'a str,
    pub persistence_id: &'a str,
    pub sequence_number: &'a str,
    pub created: &'a str,
}

/// A page size as a SQL `LIMIT` value.
pub(crate) fn sql_limit(limit: usize) -> i64 {
    limit.min(i64::MAX as usize) as i64
}

/// The shared statements on one pool.
pub(crate) struct SharedSql<'p, DB: Database> {
    pool: &'p sqlx::Pool<DB>,
}

impl<'p, DB> SharedSql<'p, DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    (i64,): for<'r> FromRow<'r, DB::Row>,
    (Option<i64>,): for<'r> FromRow<'r, DB::Row>,
    (String,): for<'r> FromRow<'r, DB::Row>,
{
    /// The statements on `pool`.
    pub(crate) fn new(pool: &'p sqlx::Pool<DB>) -> Self {
        SharedSql { pool }
    }

    /// Runs `statements` in one transaction, after the dialect's [`Dialect::DDL_LOCK`].
    pub(crate) async fn create_tables(&self, what: &str, statements: &[String]) -> Result<()> {
        let err = |e| PersistenceError::store(DB::BACKEND, format!("create {what}"), e);
        let mut tx = self.pool.begin().await.map_err(err)?;
        if let Some(lock) = DB::DDL_LOCK {
            sqlx::query::<DB>(lock)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
        }
        for stmt in statements {
            sqlx::query::<DB>(stmt)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
        }
        tx.commit().await.map_err(err)
    }

    /// Highest sequence number of the id, deleted rows included; 0 if none.
    pub(crate) async fn highest_sequence_nr(
        &self,
        t: &EventColumns<'_>,
        persistence_id: &str,
    ) -> Result<i64> {
        let q = format!(
            "SELECT MAX({}) FROM {} WHERE {} = $1",
            t.sequence_number, t.table, t.persistence_id
        );
        let v: Option<i64> = sqlx::query_scalar::<DB, Option<i64>>(&q)
            .bind(persistence_id.to_string())
            .fetch_one(self.pool)
            .await
            .map_err(|e| {
                PersistenceError::store(
                    DB::BACKEND,
                    format!("highest sequence number of {persistence_id}"),
                    e,
                )
            })?;
        Ok(v.unwrap_or(0))
    }

    /// Deletes the id's events up to `to_sequence_nr`, keeping the highest of them flagged
    /// `deleted` (pekko-persistence-jdbc's rule), in one transaction.
    pub(crate) async fn delete_to(
        &self,
        t: &EventColumns<'_>,
        persistence_id: &str,
        to_sequence_nr: i64,
    ) -> Result<()> {
        let err = |e| {
            PersistenceError::store(
                DB::BACKEND,
                format!("delete events of {persistence_id} up to {to_sequence_nr}"),
                e,
            )
        };
        let (table, pid, seq) = (t.table, t.persistence_id, t.sequence_number);
        let mut tx = self.pool.begin().await.map_err(err)?;
        let h: Option<i64> = sqlx::query_scalar::<DB, Option<i64>>(&format!(
            "SELECT MAX({seq}) FROM {table} WHERE {pid} = $1 AND {seq} <= $2"
        ))
        .bind(persistence_id.to_string())
        .bind(to_sequence_nr)
        .fetch_one(&mut *tx)
        .await
        .map_err(err)?;
        if let Some(h) = h {
            sqlx::query::<DB>(&format!(
                "DELETE FROM {table} WHERE {pid} = $1 AND {seq} <= $2"
            ))
            .bind(persistence_id.to_string())
            .bind(h - 1)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
            sqlx::query::<DB>(&format!(
                "UPDATE {table} SET {} = $1 WHERE {pid} = $2 AND {seq} = $3",
                t.deleted
            ))
            .bind(true)
            .bind(persistence_id.to_string())
            .bind(h)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        }
        tx.commit().await.map_err(err)
    }

    /// The largest `ordering` (0 when empty).
    pub(crate) async fn max_ordering(&self, t: &EventColumns<'_>) -> Result<i64> {
        let q = format!("SELECT COALESCE(MAX({}), 0) FROM {}", t.ordering, t.table);
        sqlx::query_scalar::<DB, i64>(&q)
            .fetch_one(self.pool)
            .await
            .map_err(|e| PersistenceError::store(DB::BACKEND, "max ordering", e))
    }

    /// Orderings above `after`, ascending, at most `limit`, deleted rows included.
    pub(crate) async fn orderings_after(
        &self,
        t: &EventColumns<'_>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<i64>> {
        let o = t.ordering;
        let q = format!(
            "SELECT {o} FROM {} WHERE {o} > $1 ORDER BY {o} LIMIT $2",
            t.table
        );
        sqlx::query_scalar::<DB, i64>(&q)
            .bind(after)
            .bind(sql_limit(limit))
            .fetch_all(self.pool)
            .await
            .map_err(|e| PersistenceError::store(DB::BACKEND, "scan orderings", e))
    }

    /// Distinct persistence ids with non-deleted rows.
    pub(crate) async fn persistence_ids(&self, t: &EventColumns<'_>) -> Result<Vec<String>> {
        let q = format!(
            "SELECT DISTINCT {} FROM {} WHERE {} = $1",
            t.persistence_id, t.table, t.deleted
        );
        sqlx::query_scalar::<DB, String>(&q)
            .bind(false)
            .fetch_all(self.pool)
            .await
            .map_err(|e| PersistenceError::store(DB::BACKEND, "list persistence ids", e))
    }

    /// The row (`columns` selected) of the matching snapshot with the highest sequence number.
    pub(crate) async fn latest_snapshot(
        &self,
        t: &SnapshotKeyColumns<'_>,
        columns: &str,
        persistence_id: &str,
        criteria: &SnapshotSelectionCriteria,
    ) -> std::result::Result<Option<DB::Row>, sqlx::Error> {
        let (pid, seq, cr) = (t.persistence_id, t.sequence_number, t.created);
        let q = format!(
            "SELECT {columns} FROM {} WHERE {pid} = $1 AND {seq} <= $2 AND {cr} <= $3 \
             AND {seq} >= $4 AND {cr} >= $5 ORDER BY {seq} DESC LIMIT 1",
            t.table
        );
        sqlx::query::<DB>(&q)
            .bind(persistence_id.to_string())
            .bind(criteria.max_sequence_nr)
            .bind(criteria.max_timestamp)
            .bind(criteria.min_sequence_nr)
            .bind(criteria.min_timestamp)
            .fetch_optional(self.pool)
            .await
    }

    /// Deletes the snapshot at exactly `sequence_nr`.
    pub(crate) async fn delete_snapshot(
        &self,
        t: &SnapshotKeyColumns<'_>,
        persistence_id: &str,
        sequence_nr: i64,
    ) -> Result<()> {
        sqlx::query::<DB>(&format!(
            "DELETE FROM {} WHERE {} = $1 AND {} = $2",
            t.table, t.persistence_id, t.sequence_number
        ))
        .bind(persistence_id.to_string())
        .bind(sequence_nr)
        .execute(self.pool)
        .await
        .map_err(|e| {
            PersistenceError::store(
                DB::BACKEND,
                format!("delete snapshot of {persistence_id} at {sequence_nr}"),
                e,
            )
        })?;
        Ok(())
    }

    /// Deletes snapshots up to the criteria's maximum sequence number and timestamp (the
    /// minimum bounds are ignored, as in pekko-persistence-jdbc).
    pub(crate) async fn delete_snapshots(
        &self,
        t: &SnapshotKeyColumns<'_>,
        persistence_id: &str,
        criteria: &SnapshotSelectionCriteria,
    ) -> Result<()> {
        sqlx::query::<DB>(&format!(
            "DELETE FROM {} WHERE {} = $1 AND {} <= $2 AND {} <= $3",
            t.table, t.persistence_id, t.sequence_number, t.created
        ))
        .bind(persistence_id.to_string())
        .bind(criteria.max_sequence_nr)
        .bind(criteria.max_timestamp)
        .execute(self.pool)
        .await
        .map_err(|e| {
            PersistenceError::store(
                DB::BACKEND,
                format!("delete snapshots of {persistence_id}"),
                e,
            )
        })?;
        Ok(())
    }
}
