//! A JVM entity on pekko-persistence-jdbc moves to Rekko's journal and back, on PostgreSQL.
//!
//! The JVM fixture `PersistenceNode` (typed `EventSourcedBehavior`, Jackson events, snapshots
//! every 4 events, tags `counters` and `big`) writes events and a snapshot; Rust reads them
//! through its own journal and snapshot store, recovers the same state, appends events and a
//! snapshot in the same schema with a new writer UUID; a new JVM process recovers all of them,
//! reads them with its read journal, and keeps writing. Run for JSON (31) and CBOR (33).
//!
//! Needs java + mvn (see `require_jvm!`) and PostgreSQL at `REKKO_TEST_PG_URL` (see
//! `.ci/postgres.sh`); under `CI=true` missing either fails the test.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use rekko_interop_tests::persistence_fixture::{
    assert_same_events_by_tag, latest_snapshot, pg_url, sorted_tags, Added, CounterState, TestDb,
    ADDED, STATE,
};
use rekko_interop_tests::{require_jvm, HarnessError, JvmNode};
use rekko_persistence::backend::sql::{PostgresJournal, PostgresSnapshotStore};
use rekko_persistence::journal::{Journal, SnapshotStore};
use rekko_persistence::model::{new_writer_uuid, now_millis};
use rekko_persistence::query::ReadJournal;
use rekko_persistence::serialization::jackson::{self, JacksonCodec, JacksonFormat};
use rekko_persistence::serialization::PayloadCodec;
use rekko_persistence::{AtomicWrite, PersistentRepr, SnapshotMetadata, SnapshotRecord};

const ANSWER: Duration = Duration::from_secs(60);

/// Journal and snapshot store in a new schema, and the database the JVM fixture is given.
async fn open_db(url: &str) -> (TestDb, Arc<PostgresJournal>, Arc<PostgresSnapshotStore>) {
    let db = TestDb::open(url, "rekko_it", 4);
    let (journal, snapshots) = db.default_schema().await;
    (db, journal, snapshots)
}

fn start_jvm(db: &TestDb, format: &str, name: &str) -> Result<JvmNode, HarnessError> {
    JvmNode::start(
        db.persistence_node(name)
            .args(["--format", format])
            .args(["--snapshot-every", "4"]),
    )
}

fn take_over_and_hand_back(format: JacksonFormat) -> Result<(), HarnessError> {
    require_jvm!();
    let Some(url) = pg_url("persistence_jdbc") else {
        return Ok(());
    };
    let fmt = match format {
        JacksonFormat::Json => "json",
        JacksonFormat::Cbor => "cbor",
    };
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let (db, journal, snapshots) = rt.block_on(open_db(&url));
    let pid = "Counter|e1";

    // 1. The JVM writes 7 events (snapshot at 4; events 6 and 7 tagged "big").
    let mut jvm = start_jvm(&db, fmt, &format!("persistence-{fmt}-1"))?;
    assert_eq!(jvm.request("persist e1 5", ANSWER)?, "PERSISTED 5 15");
    assert_eq!(jvm.request("persist e1 2 10", ANSWER)?, "PERSISTED 7 36");
    let jvm_state = jvm.request("state e1", ANSWER)?;
    assert_eq!(
        jvm_state,
        "STATE 7 36 item-1,item-2,item-3,item-4,item-5,item-10,item-11"
    );
    assert!(jvm.quit(ANSWER)?, "JVM did not exit");

    let events: JacksonCodec<Added> = JacksonCodec::single(format, ADDED);
    let states: JacksonCodec<CounterState> = JacksonCodec::single(format, STATE);

    rt.block_on(async {
        // 2. Rust reads what the JVM wrote.
        let rows = journal.read_events(pid, 1, i64::MAX, 100).await.unwrap();
        assert_eq!(rows.len(), 7);
        let jvm_writer = rows[0].repr.writer_uuid.clone();
        assert_eq!(jvm_writer.len(), 36, "writer uuid {jvm_writer}");
        let amounts = [1, 2, 3, 4, 5, 10, 11];
        for (i, row) in rows.iter().enumerate() {
            let r = &row.repr;
            assert_eq!(r.sequence_nr, i as i64 + 1);
            assert_eq!(r.payload.serializer_id, format.serializer_id());
            assert_eq!(r.payload.manifest, ADDED);
            assert_eq!(r.adapter_manifest, "");
            assert_eq!(r.writer_uuid, jvm_writer);
            assert!(r.timestamp > 0);
            let a = amounts[i];
            assert_eq!(
                jackson::decode_to_json(&r.payload).unwrap(),
                serde_json::json!({"item": format!("item-{a}"), "amount": a})
            );
            let tags = events.decode(&r.payload).unwrap().tags();
            assert_eq!(sorted_tags(&r.tags), sorted_tags(&tags));
        }
        let snapshot = latest_snapshot(&*snapshots, pid, "the JVM").await;
        assert_eq!(snapshot.metadata.sequence_nr, 4);
        assert_eq!(snapshot.state.serializer_id, format.serializer_id());
        assert_eq!(snapshot.state.manifest, STATE);

        // Recovery: snapshot, then the events after it.
        let mut state = states.decode(&snapshot.state).unwrap();
        assert_eq!(state.total, 10);
        let highest = journal.highest_sequence_nr(pid).await.unwrap();
        let journal: Arc<dyn Journal> = journal.clone();
        let mut replay = ReadJournal::replay(
            journal.clone(),
            pid,
            snapshot.metadata.sequence_nr + 1,
            highest,
            u64::MAX,
            400,
        );
        let mut seq = snapshot.metadata.sequence_nr;
        while let Some(row) = replay.next().await {
            let row = row.unwrap();
            state = state.apply(&events.decode(&row.repr.payload).unwrap());
            seq = row.repr.sequence_nr;
        }
        assert_eq!(seq, 7);
        assert_eq!(
            format!("STATE {seq} {} {}", state.total, state.items.join(",")),
            jvm_state
        );

        // 3. Rust appends 3 events (two atomic writes) and a snapshot at 9, as a new writer.
        let writer = new_writer_uuid();
        let mk = |s: i64, amount: i32| {
            let e = Added::new(amount);
            PersistentRepr::new(pid, s, events.encode(&e).unwrap(), writer.clone())
                .with_tags(e.tags())
        };
        journal
            .write(&[AtomicWrite::new(vec![mk(8, 20), mk(9, 21)]).unwrap()])
            .await
            .unwrap();
        for a in [20, 21] {
            state = state.apply(&Added::new(a));
        }
        snapshots
            .save(&SnapshotRecord {
                metadata: SnapshotMetadata {
                    persistence_id: pid.into(),
                    sequence_nr: 9,
                    timestamp: now_millis(),
                },
                state: states.encode(&state).unwrap(),
                meta: None,
            })
            .await
            .unwrap();
        journal
            .write(&[AtomicWrite::new(vec![mk(10, 22)]).unwrap()])
            .await
            .unwrap();
    });

    // 4. A new JVM recovers from the Rust snapshot and event, reads all 10 events, writes on.
    let mut jvm = start_jvm(&db, fmt, &format!("persistence-{fmt}-2"))?;
    assert_eq!(
        jvm.request("state e1", ANSWER)?,
        "STATE 10 99 item-1,item-2,item-3,item-4,item-5,item-10,item-11,item-20,item-21,item-22"
    );
    assert_eq!(
        jvm.request("events Counter|e1", ANSWER)?,
        "EVENTS 1:item-1:1,2:item-2:2,3:item-3:3,4:item-4:4,5:item-5:5,6:item-10:10,\
         7:item-11:11,8:item-20:20,9:item-21:21,10:item-22:22"
    );
    // eventsByTag: the JVM read journal and Rust give the same order.
    for (tag, count) in [("counters", 10), ("big", 5)] {
        assert_same_events_by_tag(&mut jvm, &rt, journal.clone(), tag, count)?;
    }
    assert_eq!(jvm.request("persist e1 1 30", ANSWER)?, "PERSISTED 11 129");
    let log = jvm.process().log_tail();
    assert!(
        !log.contains("Invalid replayed event"),
        "the JVM replay filter complained:\n{log}"
    );
    assert!(jvm.quit(ANSWER)?, "JVM did not exit");

    // The JVM's write after the hand-back is readable by Rust too. Rust then deletes events up
    // to 9 (the JDBC rule keeps row 9 flagged deleted), so the next JVM can only recover
    // through the snapshot Rust wrote at 9, plus events 10 and 11.
    rt.block_on(async {
        let last = journal.read_events(pid, 11, 11, 1).await.unwrap();
        assert_eq!(
            jackson::decode_to_json(&last[0].repr.payload).unwrap(),
            serde_json::json!({"item": "item-30", "amount": 30})
        );
        journal.delete_to(pid, 9).await.unwrap();
        assert_eq!(journal.highest_sequence_nr(pid).await.unwrap(), 11);
    });
    let mut jvm = start_jvm(&db, fmt, &format!("persistence-{fmt}-3"))?;
    assert_eq!(
        jvm.request("state e1", ANSWER)?,
        "STATE 11 129 item-1,item-2,item-3,item-4,item-5,item-10,item-11,item-20,item-21,item-22,item-30"
    );
    assert_eq!(
        jvm.request("events Counter|e1", ANSWER)?,
        "EVENTS 10:item-22:22,11:item-30:30"
    );
    assert!(jvm.quit(ANSWER)?, "JVM did not exit");
    rt.block_on(db.drop_schema());
    Ok(())
}

#[test]
fn jvm_to_rekko_and_back_with_jackson_json() -> Result<(), HarnessError> {
    take_over_and_hand_back(JacksonFormat::Json)
}

#[test]
fn jvm_to_rekko_and_back_with_jackson_cbor() -> Result<(), HarnessError> {
    take_over_and_hand_back(JacksonFormat::Cbor)
}

/// Jackson JSON above 32 KiB: the JVM writes it gzip-compressed and Rust reads it; Rust writes
/// gzip with its own encoder and the JVM reads it.
#[test]
fn large_json_events_are_gzip_compressed_both_ways() -> Result<(), HarnessError> {
    require_jvm!();
    let Some(url) = pg_url("persistence_jdbc") else {
        return Ok(());
    };
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let (db, journal, _snapshots) = rt.block_on(open_db(&url));
    let pid = "Counter|big";
    let mut jvm = start_jvm(&db, "json", "persistence-big-1")?;
    assert_eq!(
        jvm.request("persist-big big 40000", ANSWER)?,
        "PERSISTED 1 1"
    );
    assert!(jvm.quit(ANSWER)?, "JVM did not exit");

    let events: JacksonCodec<Added> = JacksonCodec::single(JacksonFormat::Json, ADDED);
    rt.block_on(async {
        let rows = journal.read_events(pid, 1, 1, 1).await.unwrap();
        let payload = &rows[0].repr.payload;
        assert_eq!(
            &payload.bytes[..2],
            &[0x1f, 0x8b],
            "the JVM gzips JSON above 32 KiB"
        );
        let e = events.decode(payload).unwrap();
        assert_eq!((e.item.len(), e.amount), (40000, 1));
        let big = Added {
            item: format!("big-{}", "y".repeat(49996)),
            amount: 2,
        };
        let encoded = events.encode(&big).unwrap();
        assert_eq!(
            &encoded.bytes[..2],
            &[0x1f, 0x8b],
            "Rust gzips JSON above 32 KiB"
        );
        let mut w = rekko_persistence::recovery::EntityWriter::new(journal.clone(), pid, 1);
        w.persist(vec![(encoded, vec!["counters".into()])])
            .await
            .unwrap();
    });

    let mut jvm = start_jvm(&db, "json", "persistence-big-2")?;
    assert_eq!(
        jvm.request("state big", ANSWER)?,
        "STATE 2 3 long:40000,long:50000"
    );
    assert!(jvm.quit(ANSWER)?, "JVM did not exit");
    rt.block_on(db.drop_schema());
    Ok(())
}
