//! The journal and snapshot store contracts every backend implements.
//!
//! They follow Pekko's plugin SPI (`AsyncWriteJournal`, `SnapshotStore`) with the
//! pekko-persistence-jdbc semantics: atomic writes, replay that skips deleted rows, a highest
//! sequence number that never decreases, deletion that keeps the highest row flagged `deleted`.

use async_trait::async_trait;

use crate::model::{
    AtomicWrite, EventRecord, SnapshotMetadata, SnapshotRecord, SnapshotSelectionCriteria,
};
use crate::Result;

/// An event journal.
#[async_trait]
pub trait Journal: Send + Sync + 'static {
    /// Stores the batch: all events or none of each atomic write (backends here make the whole
    /// batch one transaction). Events with `timestamp == 0` are stamped with the current time.
    /// Returns only once the events are durable and visible to reads.
    async fn write(&self, writes: &[AtomicWrite]) -> Result<()>;

    /// Highest sequence number ever stored for the id, including rows flagged deleted; 0 if none.
    async fn highest_sequence_nr(&self, persistence_id: &str) -> Result<i64>;

    /// Deletes events up to `to_sequence_nr`, keeping the highest of them as a `deleted` row so
    /// the highest sequence number never decreases.
    async fn delete_to(&self, persistence_id: &str, to_sequence_nr: i64) -> Result<()>;

    /// One page of an entity's non-deleted events with `from <= seq <= to`, ascending, at most
    /// `limit` of them, with their tags.
    async fn read_events(
        &self,
        persistence_id: &str,
        from_sequence_nr: i64,
        to_sequence_nr: i64,
        limit: usize,
    ) -> Result<Vec<EventRecord>>;

    /// One page of non-deleted events tagged `tag` with `after < ordering <= up_to`, ascending
    /// by `ordering`, at most `limit`.
    async fn read_tagged(
        &self,
        tag: &str,
        after_ordering: i64,
        up_to_ordering: i64,
        limit: usize,
    ) -> Result<Vec<EventRecord>>;

    /// The largest `ordering` of any row (0 when empty).
    async fn max_ordering(&self) -> Result<i64>;

    /// Orderings greater than `after`, ascending, at most `limit` (deleted rows included); used to
    /// find gaps left by transactions that have not committed yet.
    async fn orderings_after(&self, after: i64, limit: usize) -> Result<Vec<i64>>;

    /// Distinct persistence ids that have non-deleted events.
    async fn persistence_ids(&self) -> Result<Vec<String>>;
}

/// A snapshot store.
#[async_trait]
pub trait SnapshotStore: Send + Sync + 'static {
    /// Saves (or replaces) the snapshot at (persistence id, sequence number).
    async fn save(&self, snapshot: &SnapshotRecord) -> Result<()>;

    /// The matching snapshot with the highest sequence number.
    async fn load(
        &self,
        persistence_id: &str,
        criteria: SnapshotSelectionCriteria,
    ) -> Result<Option<SnapshotRecord>>;

    /// Deletes the snapshot at exactly this sequence number.
    async fn delete(&self, metadata: &SnapshotMetadata) -> Result<()>;

    /// Deletes snapshots with `sequence_nr <= max_sequence_nr` and `timestamp <= max_timestamp`
    /// (the minimum bounds are ignored, as in pekko-persistence-jdbc).
    async fn delete_matching(
        &self,
        persistence_id: &str,
        criteria: SnapshotSelectionCriteria,
    ) -> Result<()>;
}
