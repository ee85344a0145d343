//! Recovering an entity's state from storage and continuing its event stream, with the rules
//! of Pekko's typed `EventSourcedBehavior` recovery (snapshot first, then the events after it,
//! up to the highest sequence number) and of a clean writer take-over (a fresh writer UUID,
//! sequence numbers continuing strictly above everything stored).
//!
//! This is the storage half of an event-sourced entity; the actor half (command handler,
//! effects, stashing) builds on it.

use std::sync::Arc;

use futures::StreamExt;

use crate::journal::{Journal, SnapshotStore};
use crate::model::{
    new_writer_uuid, now_millis, AtomicWrite, PersistentRepr, SerializedPayload, SnapshotMetadata,
    SnapshotRecord, SnapshotSelectionCriteria,
};
use crate::query::ReadJournal;
use crate::serialization::PayloadCodec;
use crate::{PersistenceError, Result};

/// The outcome of a recovery.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovered<S> {
    /// The recovered state.
    pub state: S,
    /// The sequence number of the last event included (highest stored, even if deleted).
    pub sequence_nr: i64,
    /// The snapshot recovery started from, if any.
    pub snapshot_sequence_nr: Option<i64>,
    /// Number of events applied after the snapshot.
    pub events_replayed: u64,
}

pub(crate) fn recovery_error(
    pid: &str,
    seq: i64,
    p: &SerializedPayload,
    e: PersistenceError,
) -> PersistenceError {
    let reason = match e {
        PersistenceError::Decode { reason, .. } => reason,
        other => other.to_string(),
    };
    PersistenceError::Recovery {
        persistence_id: pid.to_string(),
        sequence_nr: seq,
        serializer_id: p.serializer_id,
        manifest: p.manifest.clone(),
        reason,
    }
}

/// Loads the latest snapshot matching `criteria`, then replays later events in pages of
/// `replay_batch_size`, folding them with `apply`. A payload that cannot be decoded fails the
/// recovery with [`PersistenceError::Recovery`] naming persistence id, sequence number,
/// serializer and manifest.
#[allow(clippy::too_many_arguments)]
pub async fn recover<S, E>(
    journal: Arc<dyn Journal>,
    snapshots: &dyn SnapshotStore,
    persistence_id: &str,
    criteria: SnapshotSelectionCriteria,
    empty: S,
    state_codec: &dyn PayloadCodec<S>,
    event_codec: &dyn PayloadCodec<E>,
    mut apply: impl FnMut(S, E) -> S,
    replay_batch_size: usize,
) -> Result<Recovered<S>> {
    let (mut state, from) = if criteria == SnapshotSelectionCriteria::NONE {
        (empty, 0)
    } else {
        match snapshots.load(persistence_id, criteria).await? {
            Some(s) => {
                let st = state_codec.decode(&s.state).map_err(|e| {
                    recovery_error(persistence_id, s.metadata.sequence_nr, &s.state, e)
                })?;
                (st, s.metadata.sequence_nr)
            }
            None => (empty, 0),
        }
    };
    let highest = journal.highest_sequence_nr(persistence_id).await?;
    let mut replayed = 0u64;
    let mut last = from;
    if highest > from {
        let mut events = ReadJournal::replay(
            journal,
            persistence_id,
            from + 1,
            highest,
            u64::MAX,
            replay_batch_size,
        );
        while let Some(row) = events.next().await {
            let row = row?;
            let r = &row.repr;
            let event = event_codec
                .decode(&r.payload)
                .map_err(|e| recovery_error(persistence_id, r.sequence_nr, &r.payload, e))?;
            state = apply(state, event);
            replayed += 1;
            last = r.sequence_nr;
        }
    }
    Ok(Recovered {
        state,
        sequence_nr: highest.max(last).max(from),
        snapshot_sequence_nr: (from > 0).then_some(from),
        events_replayed: replayed,
    })
}

/// Writes events for one entity incarnation: a fresh writer UUID, sequence numbers continuing
/// from the recovered one, one atomic write per call.
pub struct EntityWriter {
    journal: Arc<dyn Journal>,
    persistence_id: String,
    writer_uuid: String,
    sequence_nr: i64,
}

impl EntityWriter {
    /// A writer continuing after `sequence_nr` (from [`Recovered::sequence_nr`]).
    pub fn new(journal: Arc<dyn Journal>, persistence_id: &str, sequence_nr: i64) -> Self {
        EntityWriter {
            journal,
            persistence_id: persistence_id.to_string(),
            writer_uuid: new_writer_uuid(),
            sequence_nr,
        }
    }

    /// This incarnation's writer UUID.
    pub fn writer_uuid(&self) -> &str {
        &self.writer_uuid
    }

    /// The sequence number of the last event written (or recovered).
    pub fn sequence_nr(&self) -> i64 {
        self.sequence_nr
    }

    /// Persists events (payload, tags) as one atomic write; returns the last sequence number.
    /// On failure the sequence number is not advanced (the caller should stop or re-recover).
    pub async fn persist(&mut self, events: Vec<(SerializedPayload, Vec<String>)>) -> Result<i64> {
        if events.is_empty() {
            return Ok(self.sequence_nr);
        }
        let reprs = events
            .into_iter()
            .enumerate()
            .map(|(i, (payload, tags))| {
                PersistentRepr::new(
                    self.persistence_id.clone(),
                    self.sequence_nr + 1 + i as i64,
                    payload,
                    self.writer_uuid.clone(),
                )
                .with_tags(tags)
            })
            .collect();
        let write = AtomicWrite::new(reprs)?;
        self.journal.write(std::slice::from_ref(&write)).await?;
        self.sequence_nr = write.highest_sequence_nr();
        Ok(self.sequence_nr)
    }

    /// Saves a snapshot of the state at the current sequence number.
    pub async fn save_snapshot(
        &self,
        snapshots: &dyn SnapshotStore,
        state: SerializedPayload,
    ) -> Result<SnapshotMetadata> {
        let metadata = SnapshotMetadata {
            persistence_id: self.persistence_id.clone(),
            sequence_nr: self.sequence_nr,
            timestamp: now_millis(),
        };
        snapshots
            .save(&SnapshotRecord {
                metadata: metadata.clone(),
                state,
                meta: None,
            })
            .await?;
        Ok(metadata)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::inmem::{InMemoryJournal, InMemorySnapshotStore};
    use crate::serialization::jackson::{JacksonCodec, JacksonFormat};

    #[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
    struct Added {
        n: i64,
    }

    fn codecs() -> (JacksonCodec<Added>, JacksonCodec<i64>) {
        (
            JacksonCodec::single(JacksonFormat::Json, "x.Added"),
            JacksonCodec::single(JacksonFormat::Json, "x.Total"),
        )
    }

    #[tokio::test]
    async fn recovers_from_snapshot_then_events_and_continues() {
        let journal: Arc<dyn Journal> = Arc::new(InMemoryJournal::new());
        let snaps = InMemorySnapshotStore::new();
        let (ev, st) = codecs();
        let mut w = EntityWriter::new(journal.clone(), "A|1", 0);
        for n in 1..=3 {
            w.persist(vec![(ev.encode(&Added { n }).unwrap(), vec![])])
                .await
                .unwrap();
        }
        w.save_snapshot(&snaps, st.encode(&6).unwrap())
            .await
            .unwrap();
        w.persist(vec![
            (ev.encode(&Added { n: 4 }).unwrap(), vec!["t".into()]),
            (ev.encode(&Added { n: 5 }).unwrap(), vec![]),
        ])
        .await
        .unwrap();
        let r = recover(
            journal.clone(),
            &snaps,
            "A|1",
            SnapshotSelectionCriteria::LATEST,
            0i64,
            &st,
            &ev,
            |s, e| s + e.n,
            2,
        )
        .await
        .unwrap();
        assert_eq!(
            r,
            Recovered {
                state: 15,
                sequence_nr: 5,
                snapshot_sequence_nr: Some(3),
                events_replayed: 2
            }
        );
        let w2 = EntityWriter::new(journal, "A|1", r.sequence_nr);
        assert_ne!(w2.writer_uuid(), w.writer_uuid());
    }

    #[tokio::test]
    async fn an_undecodable_event_names_entity_sequence_serializer_and_manifest() {
        let journal: Arc<dyn Journal> = Arc::new(InMemoryJournal::new());
        let snaps = InMemorySnapshotStore::new();
        let (ev, st) = codecs();
        let mut w = EntityWriter::new(journal.clone(), "A|bad", 0);
        w.persist(vec![(ev.encode(&Added { n: 1 }).unwrap(), vec![])])
            .await
            .unwrap();
        w.persist(vec![(
            SerializedPayload::new(31, "x.Added", &b"{not json"[..]),
            vec![],
        )])
        .await
        .unwrap();
        let mut other = EntityWriter::new(journal.clone(), "A|good", 0);
        other
            .persist(vec![(ev.encode(&Added { n: 7 }).unwrap(), vec![])])
            .await
            .unwrap();
        let recover_sum = |pid| {
            recover(
                journal.clone(),
                &snaps,
                pid,
                SnapshotSelectionCriteria::LATEST,
                0i64,
                &st,
                &ev,
                |s, e| s + e.n,
                10,
            )
        };
        let err = recover_sum("A|bad").await.unwrap_err();
        match &err {
            PersistenceError::Recovery {
                persistence_id,
                sequence_nr,
                serializer_id,
                manifest,
                ..
            } => {
                assert_eq!(
                    (
                        persistence_id.as_str(),
                        *sequence_nr,
                        *serializer_id,
                        manifest.as_str()
                    ),
                    ("A|bad", 2, 31, "x.Added")
                );
            }
            other => panic!("unexpected error {other}"),
        }
        let msg = err.to_string();
        assert!(
            msg.contains("A|bad") && msg.contains("sequence number 2"),
            "{msg}"
        );
        // Other entities keep working.
        let good = recover_sum("A|good").await.unwrap();
        assert_eq!(good.state, 7);
    }
}
