//! Crash safety: a Rekko writer process is killed with SIGKILL in the middle of a stream of
//! persists to PostgreSQL. Every event acknowledged before the kill is stored, sequence numbers
//! are contiguous, a new incarnation continues the stream, and the JVM (pekko-persistence-jdbc)
//! reads every event and recovers the state.
//!
//! The writer is this test binary re-executed with `--ignored --exact writer_process` and the
//! database coordinates in environment variables; it prints `ACK <seq>` after each commit.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use rekko_interop_tests::persistence_fixture::{pg_url, recover_counter, Added, TestDb, ADDED};
use rekko_interop_tests::{require_jvm, HarnessError, JvmNode};
use rekko_persistence::backend::inmem::InMemorySnapshotStore;
use rekko_persistence::journal::Journal;
use rekko_persistence::recovery::EntityWriter;
use rekko_persistence::serialization::jackson::{JacksonCodec, JacksonFormat};
use rekko_persistence::serialization::PayloadCodec;

const ANSWER: Duration = Duration::from_secs(60);
const PID: &str = "Counter|crash";
const SCHEMA_ENV: &str = "REKKO_CRASH_TEST_SCHEMA";

/// The writer process: persists one event per transaction and acknowledges each on stdout.
#[test]
#[ignore = "run by kill_a_writer_mid_stream as a child process"]
fn writer_process() {
    let (Ok(url), Ok(schema)) = (
        std::env::var("REKKO_TEST_PG_URL"),
        std::env::var(SCHEMA_ENV),
    ) else {
        panic!("writer_process needs REKKO_TEST_PG_URL and {SCHEMA_ENV}");
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let j: Arc<dyn Journal> = Arc::new(TestDb::with_schema(&url, &schema, 2).journal());
        let codec = JacksonCodec::<Added>::single(JacksonFormat::Json, ADDED);
        let mut w = EntityWriter::new(j, PID, 0);
        for amount in 1..=1_000_000 {
            let seq = w
                .persist(vec![(
                    codec.encode(&Added::new(amount)).expect("encode"),
                    vec!["counters".into()],
                )])
                .await
                .expect("persist");
            println!("ACK {seq}");
        }
    });
}

#[test]
fn kill_a_writer_mid_stream() -> Result<(), HarnessError> {
    require_jvm!();
    let Some(url) = pg_url("persistence_crash") else {
        return Ok(());
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let _guard = rt.enter();
    let db = TestDb::open(&url, "rekko_crash", 2);
    let schema = db.schema.clone();
    // The JVM also needs the snapshot table (it loads a snapshot first).
    let (j, _snapshots) = rt.block_on(db.default_schema());

    // 1. Start the writer, wait for 300 acknowledgements, SIGKILL it while it keeps writing.
    let mut child = Command::new(std::env::current_exe().expect("test binary path"))
        .args([
            "--ignored",
            "--exact",
            "writer_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("REKKO_TEST_PG_URL", &url)
        .env(SCHEMA_ENV, &schema)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn writer process");
    let stdout = child.stdout.take().expect("child stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut acked = Vec::new();
    while acked.len() < 300 {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(seq) = ack(&line) {
                    acked.push(seq);
                }
            }
            _ => panic!("writer process ended after {} acks", acked.len()),
        }
    }
    child.kill().expect("SIGKILL the writer");
    // Acknowledgements already printed before the kill count too.
    for line in lines.map_while(Result::ok) {
        if let Some(seq) = ack(&line) {
            acked.push(seq);
        }
    }
    let _ = child.wait();
    let last_ack = *acked.last().expect("some acks");
    assert_eq!(acked, (1..=last_ack).collect::<Vec<_>>());

    // 2. Every acknowledged event is there; sequence numbers are contiguous.
    let journal_dyn: Arc<dyn Journal> = j.clone();
    let events = JacksonCodec::<Added>::single(JacksonFormat::Json, ADDED);
    let highest = rt.block_on(async {
        let highest = j.highest_sequence_nr(PID).await.unwrap();
        assert!(
            highest >= last_ack,
            "highest {highest} < last ack {last_ack}"
        );
        eprintln!("writer killed after {last_ack} acknowledged events; {highest} stored");
        let rows = j.read_events(PID, 1, i64::MAX, usize::MAX).await.unwrap();
        let seqs: Vec<i64> = rows.iter().map(|r| r.repr.sequence_nr).collect();
        assert_eq!(seqs, (1..=highest).collect::<Vec<_>>());
        // 3. A new incarnation recovers and continues the stream.
        let r = recover_counter(journal_dyn.clone(), &InMemorySnapshotStore::new(), PID)
            .await
            .unwrap();
        assert_eq!(r.sequence_nr, highest);
        let mut w = EntityWriter::new(journal_dyn.clone(), PID, r.sequence_nr);
        let next = w
            .persist(vec![(
                events.encode(&Added::new(-1)).unwrap(),
                vec!["counters".into()],
            )])
            .await
            .unwrap();
        assert_eq!(next, highest + 1);
        highest
    });

    // 4. The JVM reads every event and recovers the same total.
    let mut jvm = JvmNode::start(db.persistence_node("persistence-crash"))?;
    let total: i64 = (1..=highest).sum::<i64>() - 1;
    let state = jvm.request("state crash", ANSWER)?;
    let expected_prefix = format!("STATE {} {} item-1,item-2,", highest + 1, total);
    assert!(
        state.starts_with(&expected_prefix),
        "{state} vs {expected_prefix}"
    );
    assert!(
        state.ends_with(&format!("item-{highest},item--1")),
        "{state}"
    );
    let listed = jvm.request(&format!("events {PID}"), ANSWER)?;
    let count = listed.trim_start_matches("EVENTS ").split(',').count() as i64;
    assert_eq!(count, highest + 1);
    assert!(jvm.quit(ANSWER)?, "JVM did not exit");
    rt.block_on(db.drop_schema());
    Ok(())
}

/// The sequence number of an `ACK <seq>` line (the test harness may print its own text before
/// it on the same line); `None` for other lines and for a line cut by the kill.
fn ack(line: &str) -> Option<i64> {
    let at = line.find("ACK ")?;
    line[at + 4..].trim().parse().ok()
}
