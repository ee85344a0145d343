//! In-memory journal and snapshot store (tests, examples). Same semantics as the SQL backends,
//! including global `ordering` and the deletion rule.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use parking_lot::Mutex;

use crate::journal::{Journal, SnapshotStore};
use crate::model::{
    now_millis, AtomicWrite, EventRecord, SnapshotMetadata, SnapshotRecord,
    SnapshotSelectionCriteria,
};
use crate::{PersistenceError, Result};

#[derive(Default)]
struct JournalState {
    next_ordering: i64,
    /// ordering -> event
    rows: BTreeMap<i64, EventRecord>,
    /// persistence id -> (sequence nr -> ordering)
    by_pid: HashMap<String, BTreeMap<i64, i64>>,
}

/// Journal kept in process memory.
#[derive(Default)]
pub struct InMemoryJournal {
    state: Mutex<JournalState>,
}

impl InMemoryJournal {
    /// An empty journal.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl Journal for InMemoryJournal {
    async fn write(&self, writes: &[AtomicWrite]) -> Result<()> {
        let now = now_millis();
        let mut st = self.state.lock();
        // Check the whole batch first: all or nothing, like one transaction.
        for w in writes {
            if let Some(seqs) = st.by_pid.get(w.persistence_id()) {
                for e in w.events() {
                    if seqs.contains_key(&e.sequence_nr) {
                        return Err(PersistenceError::store(
                            "inmem",
                            format!("write of {}", w.persistence_id()),
                            std::io::Error::other(format!(
                                "duplicate key (persistence_id, sequence_number) = ({}, {})",
                                e.persistence_id, e.sequence_nr
                            )),
                        ));
                    }
                }
            }
        }
        for w in writes {
            for e in w.events() {
                st.next_ordering += 1;
                let ordering = st.next_ordering;
                let mut repr = e.clone();
                if repr.timestamp == 0 {
                    repr.timestamp = now;
                }
                st.by_pid
                    .entry(repr.persistence_id.clone())
                    .or_default()
                    .insert(repr.sequence_nr, ordering);
                st.rows.insert(ordering, EventRecord { ordering, repr });
            }
        }
        Ok(())
    }

    async fn highest_sequence_nr(&self, persistence_id: &str) -> Result<i64> {
        let st = self.state.lock();
        Ok(st
            .by_pid
            .get(persistence_id)
            .and_then(|m| m.keys().next_back().copied())
            .unwrap_or(0))
    }

    async fn delete_to(&self, persistence_id: &str, to_sequence_nr: i64) -> Result<()> {
        let mut st = self.state.lock();
        let st = &mut *st;
        let Some(seqs) = st.by_pid.get_mut(persistence_id) else {
            return Ok(());
        };
        let Some((&h, &h_ordering)) = seqs.range(..=to_sequence_nr).next_back() else {
            return Ok(());
        };
        let doomed: Vec<(i64, i64)> = seqs.range(..h).map(|(s, o)| (*s, *o)).collect();
        for (s, o) in doomed {
            seqs.remove(&s);
            st.rows.remove(&o);
        }
        if let Some(row) = st.rows.get_mut(&h_ordering) {
            row.repr.deleted = true;
        }
        Ok(())
    }

    async fn read_events(
        &self,
        persistence_id: &str,
        from_sequence_nr: i64,
        to_sequence_nr: i64,
        limit: usize,
    ) -> Result<Vec<EventRecord>> {
        let st = self.state.lock();
        let Some(seqs) = st.by_pid.get(persistence_id) else {
            return Ok(Vec::new());
        };
        if from_sequence_nr > to_sequence_nr {
            return Ok(Vec::new());
        }
        Ok(seqs
            .range(from_sequence_nr..=to_sequence_nr)
            .filter_map(|(_, o)| st.rows.get(o))
            .filter(|r| !r.repr.deleted)
            .take(limit)
            .cloned()
            .collect())
    }

    async fn read_tagged(
        &self,
        tag: &str,
        after_ordering: i64,
        up_to_ordering: i64,
        limit: usize,
    ) -> Result<Vec<EventRecord>> {
        let st = self.state.lock();
        if after_ordering >= up_to_ordering {
            return Ok(Vec::new());
        }
        Ok(st
            .rows
            .range(after_ordering + 1..=up_to_ordering)
            .map(|(_, r)| r)
            .filter(|r| !r.repr.deleted && r.repr.tags.iter().any(|t| t == tag))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn max_ordering(&self) -> Result<i64> {
        Ok(self
            .state
            .lock()
            .rows
            .keys()
            .next_back()
            .copied()
            .unwrap_or(0))
    }

    async fn orderings_after(&self, after: i64, limit: usize) -> Result<Vec<i64>> {
        let st = self.state.lock();
        Ok(st
            .rows
            .range(after.saturating_add(1)..)
            .map(|(o, _)| *o)
            .take(limit)
            .collect())
    }

    async fn persistence_ids(&self) -> Result<Vec<String>> {
        let st = self.state.lock();
        Ok(st
            .by_pid
            .iter()
            .filter(|(_, seqs)| {
                seqs.values()
                    .any(|o| st.rows.get(o).is_some_and(|r| !r.repr.deleted))
            })
            .map(|(pid, _)| pid.clone())
            .collect())
    }
}

/// Snapshot store kept in process memory.
#[derive(Default)]
pub struct InMemorySnapshotStore {
    snapshots: Mutex<HashMap<String, BTreeMap<i64, SnapshotRecord>>>,
}

impl InMemorySnapshotStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl SnapshotStore for InMemorySnapshotStore {
    async fn save(&self, snapshot: &SnapshotRecord) -> Result<()> {
        self.snapshots
            .lock()
            .entry(snapshot.metadata.persistence_id.clone())
            .or_default()
            .insert(snapshot.metadata.sequence_nr, snapshot.clone());
        Ok(())
    }

    async fn load(
        &self,
        persistence_id: &str,
        criteria: SnapshotSelectionCriteria,
    ) -> Result<Option<SnapshotRecord>> {
        let map = self.snapshots.lock();
        Ok(map.get(persistence_id).and_then(|m| {
            m.values()
                .rev()
                .find(|s| criteria.matches(&s.metadata))
                .cloned()
        }))
    }

    async fn delete(&self, metadata: &SnapshotMetadata) -> Result<()> {
        if let Some(m) = self.snapshots.lock().get_mut(&metadata.persistence_id) {
            m.remove(&metadata.sequence_nr);
        }
        Ok(())
    }

    async fn delete_matching(
        &self,
        persistence_id: &str,
        criteria: SnapshotSelectionCriteria,
    ) -> Result<()> {
        if let Some(m) = self.snapshots.lock().get_mut(persistence_id) {
            m.retain(|_, s| {
                !(s.metadata.sequence_nr <= criteria.max_sequence_nr
                    && s.metadata.timestamp <= criteria.max_timestamp)
            });
        }
        Ok(())
    }
}
