//! Journal throughput and recovery time on PostgreSQL, Rekko against JVM Pekko
//! (pekko-persistence-jdbc) in the same run, printed as a table with ratios.
//!
//! ```text
//! bash .ci/postgres.sh
//! (cd jvm-fixtures && mvn -B -q package -DskipTests)
//! REKKO_TEST_PG_URL=postgres://rekko:rekko@127.0.0.1:5432/rekko \
//!   cargo run --release -p rekko-persistence --example pg_bench
//! ```
//!
//! Scenarios (both sides: connection pool of 4, one event per persist, each entity waits for
//! its previous persist, Jackson JSON payloads, one tag):
//! - `write 1 entity`: 2000 events from one entity;
//! - `write 100 entities`: 100 entities x 50 events, concurrently;
//! - `recover 10000`: recovery of an entity with 10,000 events (the same rows for both sides).
//!
//! Without the fixture jar only the Rekko column is printed.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rekko_persistence::backend::inmem::InMemorySnapshotStore;
use rekko_persistence::backend::sql::{postgres_pool, PostgresJournal, PostgresSnapshotStore};
use rekko_persistence::batching::BatchingJournal;
use rekko_persistence::journal::Journal;
use rekko_persistence::recovery::{recover, EntityWriter};
use rekko_persistence::serialization::jackson::{JacksonCodec, JacksonFormat};
use rekko_persistence::serialization::PayloadCodec;
use rekko_persistence::settings::{DbSettings, DbTarget, JournalTables, SnapshotTables};
use rekko_persistence::SnapshotSelectionCriteria;
use serde::{Deserialize, Serialize};

const ADDED: &str = "org.rekko.fixtures.PersistenceNode$Added";

#[derive(Serialize, Deserialize, Clone)]
struct Added {
    item: String,
    amount: i32,
}

struct Jvm {
    child: std::process::Child,
    out: BufReader<std::process::ChildStdout>,
}

impl Jvm {
    fn request(&mut self, line: &str) -> String {
        let stdin = self.child.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{line}").expect("write to JVM");
        stdin.flush().expect("flush");
        let mut answer = String::new();
        self.out.read_line(&mut answer).expect("read from JVM");
        answer.trim().to_string()
    }
}

fn start_jvm(jar: &std::path::Path, args: &[String]) -> Option<Jvm> {
    let mut child = Command::new("java")
        .args(["-Xmx1g", "-cp"])
        .arg(jar)
        .arg("org.rekko.fixtures.PersistenceNode")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut out = BufReader::new(child.stdout.take()?);
    let mut line = String::new();
    loop {
        line.clear();
        if out.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line.starts_with("READY") {
            return Some(Jvm { child, out });
        }
    }
}

async fn write_entities(
    journal: Arc<dyn Journal>,
    prefix: &str,
    entities: usize,
    events: i32,
) -> Duration {
    let codec = Arc::new(JacksonCodec::<Added>::single(JacksonFormat::Json, ADDED));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for e in 0..entities {
        let journal = journal.clone();
        let codec = codec.clone();
        let pid = format!("Counter|{prefix}-{e}");
        tasks.push(tokio::spawn(async move {
            let mut w = EntityWriter::new(journal, &pid, 0);
            for amount in 1..=events {
                let payload = codec
                    .encode(&Added {
                        item: format!("item-{amount}"),
                        amount,
                    })
                    .expect("encode");
                w.persist(vec![(payload, vec!["counters".into()])])
                    .await
                    .expect("persist");
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer task");
    }
    start.elapsed()
}

fn ratio(rust: f64, jvm: Option<f64>) -> String {
    jvm.map_or("-".into(), |j| format!("{:.2}", rust / j))
}

#[tokio::main]
async fn main() {
    let url = std::env::var("REKKO_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://rekko:rekko@127.0.0.1:5432/rekko".into());
    let schema = format!("rekko_bench_{}", uuid::Uuid::new_v4().simple());
    let db = DbSettings {
        url: url.clone(),
        max_connections: 4,
        connection_timeout: Duration::from_secs(30),
        ..Default::default()
    };
    let pool = postgres_pool(&db, "REKKO_TEST_PG_URL").expect("pool");
    let mut tables = JournalTables::default();
    tables.event_journal.schema_name = schema.clone();
    tables.event_tag.schema_name = schema.clone();
    let mut snap = SnapshotTables::default().snapshot;
    snap.schema_name = schema.clone();
    let journal = Arc::new(PostgresJournal::new(pool.clone(), &tables, 400));
    journal.create_tables().await.expect("tables");
    PostgresSnapshotStore::new(pool.clone(), &snap)
        .create_tables()
        .await
        .expect("snapshot table");
    // Batched writes across entities, with the plugin's default batchSize and a parallelism of 4
    // (the pool size), as the JVM plugin writes.
    let jdyn: Arc<dyn Journal> = Arc::new(BatchingJournal::new(journal.clone(), 400, 4));

    let jar = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../jvm-fixtures/target/rekko-jvm-fixtures.jar");
    let DbTarget::Postgres {
        host,
        port,
        database,
        url_user,
        url_password,
    } = db.target("REKKO_TEST_PG_URL").expect("url")
    else {
        panic!("not a PostgreSQL URL");
    };
    let mut jvm = if jar.exists() {
        start_jvm(
            &jar,
            &[
                "--jdbc-url".into(),
                format!("jdbc:postgresql://{host}:{port}/{database}"),
                "--db-user".into(),
                url_user.unwrap_or_default(),
                "--db-password".into(),
                url_password.unwrap_or_default(),
                "--schema".into(),
                schema.clone(),
            ],
        )
    } else {
        eprintln!("{} not found: JVM column skipped", jar.display());
        None
    };

    let mut rows: Vec<(String, String, f64, Option<f64>)> = Vec::new();
    for (name, entities, events) in [
        ("write 1 entity", 1usize, 2000i32),
        ("write 100 entities", 100, 50),
    ] {
        let total = entities as f64 * f64::from(events);
        // Warm-up outside the measurement.
        write_entities(
            jdyn.clone(),
            &format!("warm{entities}"),
            entities.min(10),
            5,
        )
        .await;
        let rust = write_entities(jdyn.clone(), &format!("rb{entities}"), entities, events).await;
        let rust_rate = total / rust.as_secs_f64();
        let jvm_rate = jvm.as_mut().and_then(|j| {
            j.request("bench 10 5");
            let a = j.request(&format!("bench {entities} {events}"));
            let ms: f64 = a.split_whitespace().nth(2)?.parse().ok()?;
            Some(total / (ms / 1000.0))
        });
        rows.push((name.into(), "events/s".into(), rust_rate, jvm_rate));
    }

    // Recovery of 10,000 events, written once (by Rust, in the JVM's format) and read by both.
    let codec = JacksonCodec::<Added>::single(JacksonFormat::Json, ADDED);
    let mut w = EntityWriter::new(jdyn.clone(), "Counter|recover", 0);
    for chunk in 0..20 {
        let batch = (1..=500)
            .map(|i| {
                let amount = chunk * 500 + i;
                (
                    codec
                        .encode(&Added {
                            item: format!("item-{amount}"),
                            amount,
                        })
                        .expect("encode"),
                    vec!["counters".to_string()],
                )
            })
            .collect();
        w.persist(batch).await.expect("persist batch");
    }
    let states = JacksonCodec::<(i64, usize)>::single(JacksonFormat::Json, "unused");
    let start = Instant::now();
    let r = recover(
        jdyn.clone(),
        &InMemorySnapshotStore::new(),
        "Counter|recover",
        SnapshotSelectionCriteria::LATEST,
        (0i64, 0usize),
        &states,
        &codec,
        |(total, n), e: Added| (total + i64::from(e.amount), n + 1),
        400,
    )
    .await
    .expect("recover");
    let rust_ms = start.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(r.sequence_nr, 10_000);
    let jvm_ms = jvm.as_mut().and_then(|j| {
        j.request("bench-recover recover");
        let a = j.request("bench-recover recover");
        a.split_whitespace().nth(2)?.parse::<f64>().ok()
    });
    rows.push(("recover 10000 events".into(), "ms".into(), rust_ms, jvm_ms));

    if let Some(mut j) = jvm {
        let _ = j.request("quit");
        let _ = j.child.wait();
    }
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .execute(&pool)
        .await
        .expect("drop bench schema");

    println!("| scenario | unit | Rekko | JVM Pekko | Rekko/JVM |");
    println!("|---|---|---|---|---|");
    for (name, unit, rust, jvm) in rows {
        println!(
            "| {name} | {unit} | {rust:.0} | {} | {} |",
            jvm.map_or("-".into(), |j| format!("{j:.0}")),
            ratio(rust, jvm)
        );
    }
}
