//! A JVM entity moves to a Rekko `EventSourcedBehavior` and back, on PostgreSQL.
//!
//! The JVM fixture `PersistenceNode` (typed `EventSourcedBehavior`, pekko-persistence-jdbc,
//! Jackson events, a snapshot every 4 events) writes N events and a snapshot; a Rekko
//! `EventSourcedBehavior` with the same persistence id, serde types bound to the JVM class names,
//! the same tagger and snapshot rule recovers the same state (snapshot + later events) and
//! appends M events; a new JVM process then recovers N + M events and reaches the same state.
//! Run for Jackson JSON (31) and CBOR (33).
//!
//! Needs java + mvn (see `require_jvm!`) and PostgreSQL at `REKKO_TEST_PG_URL` (see
//! `.ci/postgres.sh`); under `CI=true` missing either fails the test.

use std::sync::Arc;
use std::time::Duration;

use rekko_actor::testkit::TestProbe;
use rekko_actor::{ActorRef, ActorSystem, ActorSystemSettings};
use rekko_interop_tests::persistence_fixture::{
    latest_snapshot, pg_url, sorted_tags, Added, CounterState, TestDb, ADDED, STATE,
};
use rekko_interop_tests::{require_jvm, HarnessError, JvmNode};
use rekko_persistence::journal::Journal;
use rekko_persistence::serialization::jackson::{JacksonCodec, JacksonFormat};
use rekko_persistence::typed::{
    command_ref, Effect, EventSourcedBehavior, EventSourcedSignal, Persistence, PersistenceId,
};

const ANSWER: Duration = Duration::from_secs(60);

enum Command {
    Add(i32, ActorRef<i64>),
    Get(ActorRef<CounterState>),
}

/// The JVM entity, restated with Rekko's `EventSourcedBehavior`.
fn counter(
    p: &Persistence,
    entity_id: &str,
    format: JacksonFormat,
    signals: ActorRef<String>,
) -> rekko_actor::Behavior<rekko_persistence::typed::EntityMessage<Command>> {
    EventSourcedBehavior::new(
        p,
        PersistenceId::new("Counter", entity_id),
        CounterState::default(),
        Arc::new(JacksonCodec::<Added>::single(format, ADDED)),
        |_s: &CounterState, c: &Command| match c {
            Command::Add(amount, reply_to) => Effect::persist(Added::new(*amount))
                .then_reply(reply_to.clone(), |s: &CounterState| s.total),
            Command::Get(reply_to) => {
                Effect::none().then_reply(reply_to.clone(), |s: &CounterState| s.clone())
            }
        },
        |s: CounterState, e: &Added| s.apply(e),
    )
    .with_snapshot_codec(Arc::new(JacksonCodec::<CounterState>::single(
        format, STATE,
    )))
    .with_tagger(Added::tags)
    .snapshot_when(|_s: &CounterState, _e: &Added, seq| seq % 4 == 0)
    .receive_signal(move |s: &CounterState, sig: &EventSourcedSignal| {
        let text = match sig {
            EventSourcedSignal::RecoveryCompleted => format!("recovered {}", s.total),
            EventSourcedSignal::SnapshotCompleted(m) => format!("snapshot {}", m.sequence_nr),
            other => format!("{other:?}"),
        };
        signals.tell(text);
    })
    .into_behavior()
}

fn start_jvm(db: &TestDb, format: &str, name: &str) -> Result<JvmNode, HarnessError> {
    JvmNode::start(
        db.persistence_node(name)
            .args(["--format", format])
            .args(["--snapshot-every", "4"]),
    )
}

fn entity_take_over(format: JacksonFormat) -> Result<(), HarnessError> {
    require_jvm!();
    let Some(url) = pg_url("persistence_entity") else {
        return Ok(());
    };
    let fmt = match format {
        JacksonFormat::Json => "json",
        JacksonFormat::Cbor => "cbor",
    };
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let db = rt.block_on(async { TestDb::open(&url, "rekko_it", 4) });
    let (journal, snapshots) = rt.block_on(db.default_schema());
    let pid = "Counter|e1";

    // 1. The JVM writes N = 6 events, with a snapshot at 4.
    let mut jvm = start_jvm(&db, fmt, &format!("entity-{fmt}-1"))?;
    assert_eq!(jvm.request("persist e1 6", ANSWER)?, "PERSISTED 6 21");
    let jvm_state = jvm.request("state e1", ANSWER)?;
    assert_eq!(
        jvm_state,
        "STATE 6 21 item-1,item-2,item-3,item-4,item-5,item-6"
    );
    assert!(jvm.quit(ANSWER)?, "JVM did not exit");

    // 2. A Rekko entity recovers the same state (from the JVM's snapshot at 4 plus events 5
    //    and 6) and appends M = 3 events, snapshotting at 8 like the JVM would.
    rt.block_on(async {
        let jvm_snapshot = latest_snapshot(&*snapshots, pid, "the JVM").await;
        assert_eq!(jvm_snapshot.metadata.sequence_nr, 4);
        let p = Persistence::new(journal.clone(), snapshots.clone());
        let signals = TestProbe::<String>::new("signals");
        let system = ActorSystem::new(
            counter(&p, "e1", format, signals.ref_()),
            "entity",
            ActorSystemSettings::default(),
        )
        .expect("actor system");
        let entity = command_ref(system.guardian());
        assert_eq!(signals.expect_message(ANSWER).await, "recovered 21");
        let state = entity.ask(Command::Get, ANSWER).await.expect("state");
        assert_eq!(
            format!("STATE 6 {} {}", state.total, state.items.join(",")),
            jvm_state
        );
        for (amount, total) in [(20, 41), (21, 62), (22, 84)] {
            let t = entity.ask(|r| Command::Add(amount, r), ANSWER).await;
            assert_eq!(t, Ok(total));
        }
        assert_eq!(signals.expect_message(ANSWER).await, "snapshot 8");
        system.terminate();
        system.when_terminated().await;

        let rows = journal.read_events(pid, 1, i64::MAX, 100).await.unwrap();
        assert_eq!(rows.len(), 9);
        let jvm_writer = &rows[0].repr.writer_uuid;
        let rekko_writer = &rows[6].repr.writer_uuid;
        assert_ne!(
            jvm_writer, rekko_writer,
            "a new writer uuid for the Rekko incarnation"
        );
        for r in &rows[6..] {
            assert_eq!(&r.repr.writer_uuid, rekko_writer);
            assert_eq!(r.repr.payload.serializer_id, format.serializer_id());
            assert_eq!(r.repr.payload.manifest, ADDED);
            assert_eq!(r.repr.adapter_manifest, "");
            assert_eq!(sorted_tags(&r.repr.tags), ["big", "counters"]);
        }
        let snap = latest_snapshot(&*snapshots, pid, "Rekko").await;
        assert_eq!(snap.metadata.sequence_nr, 8);
        assert_eq!(snap.state.manifest, STATE);
    });

    // 3. A new JVM recovers N + M events (through Rekko's snapshot at 8 and event 9) and
    //    reaches the same state, reads all events and writes on.
    let mut jvm = start_jvm(&db, fmt, &format!("entity-{fmt}-2"))?;
    assert_eq!(
        jvm.request("state e1", ANSWER)?,
        "STATE 9 84 item-1,item-2,item-3,item-4,item-5,item-6,item-20,item-21,item-22"
    );
    assert_eq!(
        jvm.request("events Counter|e1", ANSWER)?,
        "EVENTS 1:item-1:1,2:item-2:2,3:item-3:3,4:item-4:4,5:item-5:5,6:item-6:6,\
         7:item-20:20,8:item-21:21,9:item-22:22"
    );
    assert_eq!(jvm.request("persist e1 1 30", ANSWER)?, "PERSISTED 10 114");
    let log = jvm.process().log_tail();
    assert!(
        !log.contains("Invalid replayed event"),
        "the JVM replay filter complained:\n{log}"
    );
    assert!(jvm.quit(ANSWER)?, "JVM did not exit");
    rt.block_on(db.drop_schema());
    Ok(())
}

#[test]
fn jvm_entity_to_rekko_entity_and_back_with_jackson_json() -> Result<(), HarnessError> {
    entity_take_over(JacksonFormat::Json)
}

#[test]
fn jvm_entity_to_rekko_entity_and_back_with_jackson_cbor() -> Result<(), HarnessError> {
    entity_take_over(JacksonFormat::Cbor)
}
