//! The legacy pekko-persistence-jdbc schema: the JVM fixture runs with the plugin's legacy DAOs
//! (table `journal` holding each `PersistentRepr` serialized by Pekko's `MessageSerializer`,
//! tags joined in a column, snapshots in the `Snapshot` wrapper); Rust reads them, recovers,
//! appends events and a snapshot in the same layout, and a new JVM recovers all of it and
//! returns the same `eventsByTag` order as Rust.

use std::sync::Arc;
use std::time::Duration;

use rekko_interop_tests::persistence_fixture::{
    assert_same_events_by_tag, latest_snapshot, pg_url, recover_counter, sorted_tags, Added,
    CounterState, TestDb, ADDED, STATE,
};
use rekko_interop_tests::{require_jvm, HarnessError, JvmNode};
use rekko_persistence::backend::legacy::{LegacyJournal, LegacySnapshotStore};
use rekko_persistence::journal::Journal;
use rekko_persistence::recovery::EntityWriter;
use rekko_persistence::serialization::jackson::{self, JacksonCodec, JacksonFormat};
use rekko_persistence::serialization::PayloadCodec;

const ANSWER: Duration = Duration::from_secs(60);

#[test]
fn legacy_schema_jvm_to_rekko_and_back() -> Result<(), HarnessError> {
    require_jvm!();
    let Some(url) = pg_url("persistence_legacy") else {
        return Ok(());
    };
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let _guard = rt.enter();
    let db = TestDb::open(&url, "rekko_legacy", 4);
    let journal = Arc::new(LegacyJournal::<sqlx::Postgres>::new(
        db.pool.clone(),
        &db.journal_tables().legacy_journal,
        ",",
    ));
    let snapshots = LegacySnapshotStore::<sqlx::Postgres>::new(
        db.pool.clone(),
        &db.snapshot_tables().legacy_snapshot,
    );
    rt.block_on(async {
        journal
            .create_tables()
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {url} unreachable: {e}"));
        snapshots
            .create_tables()
            .await
            .expect("legacy snapshot table");
    });
    let start = |name: &str| {
        JvmNode::start(
            db.persistence_node(name)
                .args(["--snapshot-every", "4", "--legacy"]),
        )
    };
    let pid = "Counter|old";

    let mut jvm = start("persistence-legacy-1")?;
    assert_eq!(jvm.request("persist old 4", ANSWER)?, "PERSISTED 4 10");
    assert_eq!(jvm.request("persist old 1 10", ANSWER)?, "PERSISTED 5 20");
    assert!(jvm.quit(ANSWER)?, "JVM did not exit");

    let events = JacksonCodec::<Added>::single(JacksonFormat::Json, ADDED);
    let states = JacksonCodec::<CounterState>::single(JacksonFormat::Json, STATE);
    let journal_dyn: Arc<dyn Journal> = journal.clone();
    rt.block_on(async {
        let rows = journal.read_events(pid, 1, i64::MAX, 100).await.unwrap();
        assert_eq!(rows.len(), 5);
        for (i, row) in rows.iter().enumerate() {
            let r = &row.repr;
            assert_eq!(r.sequence_nr, i as i64 + 1);
            assert_eq!(
                (r.payload.serializer_id, r.payload.manifest.as_str()),
                (31, ADDED)
            );
            assert_eq!(r.writer_uuid.len(), 36);
            assert!(r.timestamp > 0);
        }
        assert_eq!(
            jackson::decode_to_json(&rows[4].repr.payload).unwrap(),
            serde_json::json!({"item": "item-10", "amount": 10})
        );
        assert_eq!(sorted_tags(&rows[4].repr.tags), ["big", "counters"]);
        let snap = latest_snapshot(&snapshots, pid, "the JVM").await;
        assert_eq!(snap.metadata.sequence_nr, 4);
        assert_eq!(
            (snap.state.serializer_id, snap.state.manifest.as_str()),
            (31, STATE)
        );

        let r = recover_counter(journal_dyn.clone(), &snapshots, pid)
            .await
            .unwrap();
        assert_eq!(
            (r.sequence_nr, r.snapshot_sequence_nr, r.state.total),
            (5, Some(4), 20)
        );
        let mut state = r.state;
        let mut w = EntityWriter::new(journal_dyn.clone(), pid, r.sequence_nr);
        for amount in [20, 3] {
            let e = Added::new(amount);
            w.persist(vec![(events.encode(&e).unwrap(), e.tags())])
                .await
                .unwrap();
            state = state.apply(&e);
            if w.sequence_nr() == 6 {
                w.save_snapshot(&snapshots, states.encode(&state).unwrap())
                    .await
                    .unwrap();
            }
        }
    });

    let mut jvm = start("persistence-legacy-2")?;
    assert_eq!(
        jvm.request("state old", ANSWER)?,
        "STATE 7 43 item-1,item-2,item-3,item-4,item-10,item-20,item-3"
    );
    assert_eq!(
        jvm.request("events Counter|old", ANSWER)?,
        "EVENTS 1:item-1:1,2:item-2:2,3:item-3:3,4:item-4:4,5:item-10:10,6:item-20:20,7:item-3:3"
    );
    for (tag, count) in [("counters", 7), ("big", 2)] {
        assert_same_events_by_tag(&mut jvm, &rt, journal_dyn.clone(), tag, count)?;
    }
    assert!(jvm.quit(ANSWER)?, "JVM did not exit");
    rt.block_on(db.drop_schema());
    Ok(())
}
