//! Settings of typed event-sourced entities, ids, retention and signals.

use std::sync::Arc;

use crate::model::{SnapshotMetadata, SnapshotSelectionCriteria};
use crate::settings::lookup;
use crate::PersistenceError;

/// Pekko's `PersistenceId`: `TypeName|entityId` for sharded entities.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PersistenceId(String);

impl PersistenceId {
    /// `"<type_name>|<entity_id>"`, the id the JVM builds with `PersistenceId(typeName, entityId)`.
    pub fn new(type_name: &str, entity_id: &str) -> Self {
        PersistenceId(format!("{type_name}|{entity_id}"))
    }

    /// An id used exactly as given (`PersistenceId.ofUniqueId`).
    pub fn of_unique_id(id: impl Into<String>) -> Self {
        PersistenceId(id.into())
    }

    /// The id string.
    pub fn id(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PersistenceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What happens to a command that does not fit into a full stash
/// (`pekko.persistence.typed.stash-overflow-strategy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StashOverflowStrategy {
    /// Drop the command with a warning (Pekko's default).
    Drop,
    /// Fail the actor.
    Fail,
}

/// Settings read from `pekko.persistence.typed.*` and the journal plugin section.
#[derive(Clone, Debug, PartialEq)]
pub struct EventSourcedSettings {
    /// Capacity of each of the internal and the user stash (`stash-capacity`, 4096).
    pub stash_capacity: usize,
    /// Overflow strategy of both stashes (`stash-overflow-strategy`, `drop`).
    pub stash_overflow: StashOverflowStrategy,
    /// Events read per replay query (the journal plugin's `replayBatchSize`, 400).
    pub replay_batch_size: usize,
}

impl Default for EventSourcedSettings {
    fn default() -> Self {
        EventSourcedSettings {
            stash_capacity: 4096,
            stash_overflow: StashOverflowStrategy::Drop,
            replay_batch_size: 400,
        }
    }
}

impl EventSourcedSettings {
    /// Reads `pekko.persistence.typed.stash-capacity`, `...stash-overflow-strategy` and
    /// `<journal_plugin_id>.replayBatchSize` from a config tree (HOCON rendered as JSON),
    /// keeping the defaults for missing keys.
    pub fn from_config(config: &serde_json::Value, journal_plugin_id: &str) -> crate::Result<Self> {
        let mut s = EventSourcedSettings::default();
        let number = |path: &str| -> crate::Result<Option<usize>> {
            match lookup(config, path) {
                None => Ok(None),
                Some(v) => v
                    .as_u64()
                    .or_else(|| v.as_str().and_then(|t| t.trim().parse().ok()))
                    .filter(|n| *n > 0)
                    .map(|n| Some(n as usize))
                    .ok_or_else(|| PersistenceError::Config {
                        path: path.to_string(),
                        reason: format!("expected a positive number, got {v}"),
                    }),
            }
        };
        if let Some(n) = number("pekko.persistence.typed.stash-capacity")? {
            s.stash_capacity = n;
        }
        if let Some(n) = number(&format!("{journal_plugin_id}.replayBatchSize"))? {
            s.replay_batch_size = n;
        }
        let key = "pekko.persistence.typed.stash-overflow-strategy";
        if let Some(v) = lookup(config, key) {
            s.stash_overflow = match v.as_str().map(str::to_ascii_lowercase).as_deref() {
                Some("drop") => StashOverflowStrategy::Drop,
                Some("fail") => StashOverflowStrategy::Fail,
                _ => {
                    return Err(PersistenceError::Config {
                        path: key.into(),
                        reason: format!("expected \"drop\" or \"fail\", got {v}"),
                    })
                }
            };
        }
        Ok(s)
    }
}

/// Which snapshot and how many events recovery loads (Pekko's `Recovery`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recovery {
    /// Snapshot selection ([`SnapshotSelectionCriteria::NONE`] replays from sequence number 1).
    pub criteria: SnapshotSelectionCriteria,
    /// Highest sequence number to replay.
    pub to_sequence_nr: i64,
    /// Most events to replay.
    pub replay_max: u64,
}

impl Default for Recovery {
    fn default() -> Self {
        Recovery {
            criteria: SnapshotSelectionCriteria::LATEST,
            to_sequence_nr: i64::MAX,
            replay_max: u64::MAX,
        }
    }
}

impl Recovery {
    /// `Recovery.disabled`: no snapshot, no events, but numbering continues after the highest
    /// stored sequence number.
    pub fn disabled() -> Self {
        Recovery {
            criteria: SnapshotSelectionCriteria::NONE,
            to_sequence_nr: 0,
            replay_max: 0,
        }
    }
}

/// Snapshot every `number_of_events` events and keep `keep_n_snapshots` of them
/// (Pekko's `RetentionCriteria.snapshotEvery`), optionally deleting older events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetentionCriteria {
    /// A snapshot is due when an event's sequence number is a multiple of this.
    pub number_of_events: i64,
    /// Snapshots kept after a retention snapshot.
    pub keep_n_snapshots: i64,
    /// Delete events covered by the kept snapshots (`withDeleteEventsOnSnapshot`).
    pub delete_events_on_snapshot: bool,
}

impl RetentionCriteria {
    /// `snapshotEvery(numberOfEvents, keepNSnapshots)`; both are at least 1.
    pub fn snapshot_every(number_of_events: i64, keep_n_snapshots: i64) -> Self {
        RetentionCriteria {
            number_of_events: number_of_events.max(1),
            keep_n_snapshots: keep_n_snapshots.max(1),
            delete_events_on_snapshot: false,
        }
    }

    /// Also deletes events up to the oldest kept snapshot.
    pub fn with_delete_events_on_snapshot(mut self) -> Self {
        self.delete_events_on_snapshot = true;
        self
    }

    /// The highest sequence number whose data may go after a snapshot at `seq` (`u` in the spec).
    pub(crate) fn delete_up_to(&self, seq: i64) -> i64 {
        (seq - self.keep_n_snapshots * self.number_of_events).max(0)
    }
}

/// Signals delivered to an event-sourced entity's signal handler (Pekko's `EventSourcedSignal`).
#[derive(Clone, Debug)]
pub enum EventSourcedSignal {
    /// Recovery finished; the handler sees the recovered state.
    RecoveryCompleted,
    /// Recovery failed (the error names persistence id, sequence number, serializer, manifest);
    /// the actor fails next.
    RecoveryFailed(Arc<PersistenceError>),
    /// A write failed; the actor fails next (restarted when supervised with backoff).
    JournalPersistFailed(Arc<PersistenceError>),
    /// An event could not be serialized; the actor fails next.
    JournalPersistRejected(Arc<PersistenceError>),
    /// A snapshot was saved.
    SnapshotCompleted(SnapshotMetadata),
    /// Saving a snapshot failed (the actor keeps running).
    SnapshotFailed(SnapshotMetadata, Arc<PersistenceError>),
    /// Snapshots matching the criteria were deleted.
    DeleteSnapshotsCompleted(SnapshotSelectionCriteria),
    /// Deleting snapshots failed.
    DeleteSnapshotsFailed(SnapshotSelectionCriteria, Arc<PersistenceError>),
    /// Events up to this sequence number were deleted.
    DeleteEventsCompleted(i64),
    /// Deleting events failed.
    DeleteEventsFailed(i64, Arc<PersistenceError>),
    /// The actor stopped.
    PostStop,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_from_pekko_keys_with_defaults() {
        let config = serde_json::json!({
            "pekko": {"persistence": {"typed": {
                "stash-capacity": 16, "stash-overflow-strategy": "fail"}}},
            "jdbc-journal": {"replayBatchSize": "50"}
        });
        let s = EventSourcedSettings::from_config(&config, "jdbc-journal").unwrap();
        assert_eq!(
            s,
            EventSourcedSettings {
                stash_capacity: 16,
                stash_overflow: StashOverflowStrategy::Fail,
                replay_batch_size: 50,
            }
        );
        let d = EventSourcedSettings::from_config(&serde_json::json!({}), "x").unwrap();
        assert_eq!(d, EventSourcedSettings::default());
        let bad = serde_json::json!({"pekko.persistence.typed.stash-overflow-strategy": "explode"});
        let e = EventSourcedSettings::from_config(&bad, "x").unwrap_err();
        assert!(e.to_string().contains("stash-overflow-strategy"), "{e}");
    }

    #[test]
    fn persistence_ids_and_retention_bounds() {
        assert_eq!(PersistenceId::new("Cart", "c-1").id(), "Cart|c-1");
        let r = RetentionCriteria::snapshot_every(100, 2);
        assert_eq!(r.delete_up_to(500), 300);
        assert_eq!(r.delete_up_to(100), 0);
    }
}
