//! One behaviour suite, run against the in-memory, embedded SQLite and PostgreSQL backends.
//!
//! PostgreSQL is reached through `REKKO_TEST_PG_URL` (e.g.
//! `postgres://rekko:rekko@127.0.0.1:5432/rekko`, see `.ci/postgres.sh`); each test uses its own
//! schema and drops it afterwards. Without the variable the PostgreSQL tests print that they
//! were skipped, except under `CI=true` where a missing or unreachable database fails them.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use rekko_persistence::backend::sql::{postgres_pool, PostgresJournal};
use rekko_persistence::journal::Journal;
use rekko_persistence::query::{QuerySettings, ReadJournal};
use rekko_persistence::settings::{DbSettings, JournalTables};
use rekko_persistence::{
    AtomicWrite, PersistentRepr, SerializedPayload, SnapshotMetadata, SnapshotRecord,
    SnapshotSelectionCriteria,
};

mod common;
use common::{
    drop_schema, inmem, pg_url, postgres, postgres_legacy, sqlite, sqlite_legacy, Backend, Hook,
    HookedJournal, Op,
};

fn payload(n: i64) -> SerializedPayload {
    SerializedPayload::new(
        31,
        "com.example.Cart$ItemAdded",
        format!(r#"{{"n":{n}}}"#).into_bytes(),
    )
}

fn event(pid: &str, seq: i64, writer: &str) -> PersistentRepr {
    PersistentRepr::new(pid, seq, payload(seq), writer)
}

fn aw(events: Vec<PersistentRepr>) -> AtomicWrite {
    AtomicWrite::new(events).expect("valid atomic write")
}

async fn write_range(j: &dyn Journal, pid: &str, from: i64, to: i64, tags: &[&str]) {
    let events = (from..=to)
        .map(|s| event(pid, s, "w-1").with_tags(tags.iter().copied()))
        .collect();
    j.write(&[aw(events)]).await.expect("write");
}

mod behaviours {
    use super::*;

    pub async fn write_replay_and_highest(b: Backend) {
        let j = &*b.journal;
        assert_eq!(j.highest_sequence_nr("Cart|a").await.unwrap(), 0);
        let mut first = event("Cart|a", 1, "writer-a");
        first.adapter_manifest = "v1".into();
        first.metadata = Some(SerializedPayload::new(40, "m", vec![0u8, 1, 2]));
        let second = PersistentRepr::new(
            "Cart|a",
            2,
            SerializedPayload::new(2, "com.example.P", vec![0u8, 255, 0, 7]),
            "writer-a",
        );
        j.write(&[aw(vec![first.clone(), second.clone()])])
            .await
            .unwrap();
        write_range(j, "Cart|a", 3, 5, &[]).await;
        assert_eq!(j.highest_sequence_nr("Cart|a").await.unwrap(), 5);
        let all = j.read_events("Cart|a", 1, i64::MAX, 100).await.unwrap();
        assert_eq!(
            all.iter().map(|e| e.repr.sequence_nr).collect::<Vec<_>>(),
            vec![1, 2, 3, 4, 5]
        );
        let r1 = &all[0].repr;
        assert_eq!(r1.payload, first.payload);
        assert_eq!(r1.adapter_manifest, "v1");
        assert_eq!(r1.writer_uuid, "writer-a");
        assert_eq!(r1.metadata, first.metadata);
        assert!(r1.timestamp > 0, "journal stamps the write time");
        assert_eq!(all[1].repr.payload, second.payload);
        assert_eq!(all[1].repr.metadata, None);
        assert!(all.windows(2).all(|w| w[0].ordering < w[1].ordering));
        let window = j.read_events("Cart|a", 2, 4, 2).await.unwrap();
        assert_eq!(
            window
                .iter()
                .map(|e| e.repr.sequence_nr)
                .collect::<Vec<_>>(),
            vec![2, 3]
        );
        assert!(j
            .read_events("Cart|zzz", 1, 10, 10)
            .await
            .unwrap()
            .is_empty());
        b.done().await;
    }

    pub async fn failed_batch_writes_nothing(b: Backend) {
        let j = &*b.journal;
        write_range(j, "Cart|a", 1, 2, &["t"]).await;
        let batch = [
            aw(vec![event("Cart|b", 1, "w")]),
            aw(vec![event("Cart|a", 2, "w"), event("Cart|a", 3, "w")]),
        ];
        let err = j
            .write(&batch)
            .await
            .expect_err("duplicate sequence number");
        assert!(err.to_string().contains("Cart|"), "{err}");
        assert_eq!(j.highest_sequence_nr("Cart|b").await.unwrap(), 0);
        assert_eq!(j.highest_sequence_nr("Cart|a").await.unwrap(), 2);
        // The journal keeps working after the failure.
        write_range(j, "Cart|a", 3, 3, &[]).await;
        assert_eq!(j.highest_sequence_nr("Cart|a").await.unwrap(), 3);
        b.done().await;
    }

    pub async fn delete_keeps_highest_sequence_nr(b: Backend) {
        let j = &*b.journal;
        write_range(j, "Cart|d", 1, 5, &["del"]).await;
        j.delete_to("Cart|d", 3).await.unwrap();
        let left = j.read_events("Cart|d", 1, i64::MAX, 100).await.unwrap();
        assert_eq!(
            left.iter().map(|e| e.repr.sequence_nr).collect::<Vec<_>>(),
            vec![4, 5]
        );
        assert_eq!(j.highest_sequence_nr("Cart|d").await.unwrap(), 5);
        j.delete_to("Cart|d", i64::MAX).await.unwrap();
        assert!(j
            .read_events("Cart|d", 1, i64::MAX, 100)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(j.highest_sequence_nr("Cart|d").await.unwrap(), 5);
        let max = j.max_ordering().await.unwrap();
        assert!(j.read_tagged("del", 0, max, 100).await.unwrap().is_empty());
        assert!(!j
            .persistence_ids()
            .await
            .unwrap()
            .contains(&"Cart|d".to_string()));
        // Writing continues above the kept highest row.
        write_range(j, "Cart|d", 6, 6, &[]).await;
        assert_eq!(j.highest_sequence_nr("Cart|d").await.unwrap(), 6);
        b.done().await;
    }

    pub async fn tags_in_ordering_order(b: Backend) {
        let j = &*b.journal;
        write_range(j, "Cart|a", 1, 2, &["red"]).await;
        write_range(j, "Cart|b", 1, 1, &["blue", "red"]).await;
        write_range(j, "Cart|a", 3, 3, &["blue"]).await;
        write_range(j, "Cart|c", 1, 2, &[]).await;
        write_range(j, "Cart|c", 3, 3, &["red"]).await;
        let q = b.queries(2);
        let red: Vec<_> = q
            .current_events_by_tag("red", 0)
            .map(|r| r.unwrap())
            .collect()
            .await;
        let ids: Vec<_> = red
            .iter()
            .map(|e| (e.repr.persistence_id.as_str(), e.repr.sequence_nr))
            .collect();
        assert_eq!(
            ids,
            vec![("Cart|a", 1), ("Cart|a", 2), ("Cart|b", 1), ("Cart|c", 3)]
        );
        assert!(red.windows(2).all(|w| w[0].ordering < w[1].ordering));
        assert_eq!(
            red[2].repr.tags,
            vec!["blue".to_string(), "red".to_string()]
        );
        // Offsets are exclusive.
        let after: Vec<_> = q
            .current_events_by_tag("red", red[1].ordering)
            .map(|r| r.unwrap().repr.sequence_nr)
            .collect()
            .await;
        assert_eq!(after, vec![1, 3]);
        // Live: sees what exists, then what is written later.
        let mut live = q.events_by_tag("blue", 0);
        assert_eq!(
            live.next().await.unwrap().unwrap().repr.persistence_id,
            "Cart|b"
        );
        assert_eq!(
            live.next().await.unwrap().unwrap().repr.persistence_id,
            "Cart|a"
        );
        write_range(j, "Cart|e", 1, 1, &["blue"]).await;
        let late = tokio::time::timeout(Duration::from_secs(20), live.next())
            .await
            .expect("live tag query delivers a new event")
            .unwrap()
            .unwrap();
        assert_eq!(late.repr.persistence_id, "Cart|e");
        b.done().await;
    }

    pub async fn events_by_persistence_id_pages_and_live(b: Backend) {
        let j = &*b.journal;
        write_range(j, "Cart|p", 1, 5, &[]).await;
        let q = b.queries(2);
        let seqs: Vec<_> = q
            .current_events_by_persistence_id("Cart|p", 2, 4)
            .map(|r| r.unwrap().repr.sequence_nr)
            .collect()
            .await;
        assert_eq!(seqs, vec![2, 3, 4]);
        let replayed: Vec<_> = ReadJournal::replay(b.journal.clone(), "Cart|p", 1, i64::MAX, 3, 2)
            .map(|r| r.unwrap().repr.sequence_nr)
            .collect()
            .await;
        assert_eq!(replayed, vec![1, 2, 3]);
        let mut live = q.events_by_persistence_id("Cart|p", 5, i64::MAX);
        assert_eq!(live.next().await.unwrap().unwrap().repr.sequence_nr, 5);
        write_range(j, "Cart|p", 6, 6, &[]).await;
        let next = tokio::time::timeout(Duration::from_secs(20), live.next())
            .await
            .expect("live query delivers a new event")
            .unwrap()
            .unwrap();
        assert_eq!(next.repr.sequence_nr, 6);
        b.done().await;
    }

    pub async fn persistence_ids_current_and_live(b: Backend) {
        let j = &*b.journal;
        write_range(j, "Cart|x", 1, 1, &[]).await;
        write_range(j, "Cart|y", 1, 2, &[]).await;
        let q = b.queries(10);
        let mut ids: Vec<_> = q
            .current_persistence_ids()
            .map(|r| r.unwrap())
            .collect()
            .await;
        ids.sort();
        assert_eq!(ids, vec!["Cart|x".to_string(), "Cart|y".to_string()]);
        let mut live = q.persistence_ids();
        let mut first_two = vec![
            live.next().await.unwrap().unwrap(),
            live.next().await.unwrap().unwrap(),
        ];
        first_two.sort();
        assert_eq!(first_two, ids);
        write_range(j, "Cart|z", 1, 1, &[]).await;
        let new = tokio::time::timeout(Duration::from_secs(20), live.next())
            .await
            .expect("live ids stream delivers a new id")
            .unwrap()
            .unwrap();
        assert_eq!(new, "Cart|z");
        b.done().await;
    }

    pub async fn snapshots(b: Backend) {
        let s = &*b.snapshots;
        let snap = |seq: i64, ts: i64, body: &str| SnapshotRecord {
            metadata: SnapshotMetadata {
                persistence_id: "Cart|s".into(),
                sequence_nr: seq,
                timestamp: ts,
            },
            state: SerializedPayload::new(33, "com.example.Cart$State", body.as_bytes().to_vec()),
            meta: None,
        };
        assert_eq!(
            s.load("Cart|s", SnapshotSelectionCriteria::LATEST)
                .await
                .unwrap(),
            None
        );
        s.save(&snap(5, 1000, "five")).await.unwrap();
        s.save(&snap(10, 2000, "ten")).await.unwrap();
        s.save(&snap(15, 3000, "fifteen")).await.unwrap();
        let latest = s
            .load("Cart|s", SnapshotSelectionCriteria::LATEST)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(latest, snap(15, 3000, "fifteen"));
        let up_to = s
            .load("Cart|s", SnapshotSelectionCriteria::up_to(12))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(up_to.metadata.sequence_nr, 10);
        let by_time = SnapshotSelectionCriteria {
            max_timestamp: 1500,
            ..SnapshotSelectionCriteria::LATEST
        };
        assert_eq!(
            s.load("Cart|s", by_time)
                .await
                .unwrap()
                .unwrap()
                .metadata
                .sequence_nr,
            5
        );
        // Saving at the same sequence number replaces the snapshot.
        let mut with_meta = snap(15, 3500, "fifteen-b");
        with_meta.meta = Some(SerializedPayload::new(40, "R", vec![9u8]));
        s.save(&with_meta).await.unwrap();
        let mut expected = with_meta.clone();
        if !b.snapshot_meta {
            expected.meta = None;
        }
        assert_eq!(
            s.load("Cart|s", SnapshotSelectionCriteria::LATEST)
                .await
                .unwrap(),
            Some(expected)
        );
        s.delete(&with_meta.metadata).await.unwrap();
        assert_eq!(
            s.load("Cart|s", SnapshotSelectionCriteria::LATEST)
                .await
                .unwrap()
                .unwrap()
                .metadata
                .sequence_nr,
            10
        );
        s.delete_matching("Cart|s", SnapshotSelectionCriteria::up_to(7))
            .await
            .unwrap();
        assert_eq!(
            s.load("Cart|s", SnapshotSelectionCriteria::up_to(9))
                .await
                .unwrap(),
            None
        );
        s.delete_matching("Cart|s", SnapshotSelectionCriteria::LATEST)
            .await
            .unwrap();
        assert_eq!(
            s.load("Cart|s", SnapshotSelectionCriteria::LATEST)
                .await
                .unwrap(),
            None
        );
        b.done().await;
    }

    pub async fn concurrent_writers_of_different_entities(b: Backend) {
        let mut tasks = Vec::new();
        for e in 0..8 {
            let j = b.journal.clone();
            tasks.push(tokio::spawn(async move {
                let pid = format!("Cart|c{e}");
                for s in 1..=10 {
                    j.write(&[aw(vec![event(&pid, s, "w").with_tags(["all"])])])
                        .await
                        .expect("concurrent write");
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        for e in 0..8 {
            let pid = format!("Cart|c{e}");
            assert_eq!(b.journal.highest_sequence_nr(&pid).await.unwrap(), 10);
        }
        let all: Vec<_> = b
            .queries(7)
            .current_events_by_tag("all", 0)
            .map(|r| r.unwrap())
            .collect()
            .await;
        assert_eq!(all.len(), 80);
        assert!(all.windows(2).all(|w| w[0].ordering < w[1].ordering));
        b.done().await;
    }
}

macro_rules! suite {
    ($backend:ident, $make:expr) => {
        suite!(
            @tests $backend,
            $make,
            write_replay_and_highest,
            failed_batch_writes_nothing,
            delete_keeps_highest_sequence_nr,
            tags_in_ordering_order,
            events_by_persistence_id_pages_and_live,
            persistence_ids_current_and_live,
            snapshots,
            concurrent_writers_of_different_entities
        );
    };
    (@tests $backend:ident, $make:expr, $($name:ident),+) => {
        mod $backend {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(b) = $make {
                        behaviours::$name(b).await;
                    }
                }
            )+
        }
    };
}

suite!(inmem_backend, inmem().await);
suite!(sqlite_backend, sqlite().await);
suite!(postgres_backend, postgres().await);
suite!(sqlite_legacy_backend, sqlite_legacy().await);
suite!(postgres_batched_backend, batched(postgres().await));
suite!(postgres_legacy_backend, postgres_legacy().await);

/// The same backend behind the group-commit layer the plugin registry puts in front of JDBC.
fn batched(b: Option<Backend>) -> Option<Backend> {
    b.map(|mut b| {
        b.journal = Arc::new(rekko_persistence::batching::BatchingJournal::new(
            b.journal.clone(),
            400,
            4,
        ));
        b
    })
}

/// Holds the first write until released; records how many atomic writes each write call had.
struct HoldFirstWrite {
    entered: tokio::sync::Notify,
    release: tokio::sync::Semaphore,
    calls: parking_lot::Mutex<Vec<usize>>,
}

#[async_trait::async_trait]
impl Hook for HoldFirstWrite {
    async fn before(&self, op: Op, writes: &[AtomicWrite]) -> rekko_persistence::Result<()> {
        if op != Op::Write {
            return Ok(());
        }
        let first = {
            let mut calls = self.calls.lock();
            calls.push(writes.len());
            calls.len() == 1
        };
        if first {
            self.entered.notify_one();
            let _ = self.release.acquire().await;
        }
        Ok(())
    }
}

/// Two entities' writes in one group commit, one of them with a sequence number already taken:
/// only that entity's write fails.
async fn group_commit_fails_only_the_bad_entity(b: Backend) {
    let held = Arc::new(HookedJournal {
        inner: b.journal.clone(),
        hook: HoldFirstWrite {
            entered: tokio::sync::Notify::new(),
            release: tokio::sync::Semaphore::new(0),
            calls: parking_lot::Mutex::new(Vec::new()),
        },
    });
    let j = Arc::new(rekko_persistence::batching::BatchingJournal::new(
        held.clone(),
        400,
        1,
    ));
    // The first write holds the only transaction slot, so the next two are committed together.
    let first = tokio::spawn({
        let j = j.clone();
        async move { j.write(&[aw(vec![event("Cart|a", 1, "w")])]).await }
    });
    held.hook.entered.notified().await;
    let bad_write = [aw(vec![event("Cart|a", 1, "w")])];
    let good_write = [aw(vec![event("Cart|b", 1, "w"), event("Cart|b", 2, "w")])];
    let bad = j.write(&bad_write);
    let good = j.write(&good_write);
    tokio::pin!(bad, good);
    // Polled once, each write is queued (there is room) and waits for its answer.
    assert!(futures::poll!(bad.as_mut()).is_pending());
    assert!(futures::poll!(good.as_mut()).is_pending());
    held.hook.release.add_permits(1);
    first.await.unwrap().expect("first write");
    let (bad, good) = tokio::join!(bad, good);
    assert_eq!(
        held.hook.calls.lock()[..2],
        [1, 2],
        "both writes went in one transaction"
    );
    let err = bad.expect_err("sequence number 1 of Cart|a is taken");
    assert!(err.to_string().contains("Cart|a"), "{err}");
    good.expect("Cart|b's write does not fail with Cart|a's");
    assert_eq!(j.highest_sequence_nr("Cart|b").await.unwrap(), 2);
    assert_eq!(j.highest_sequence_nr("Cart|a").await.unwrap(), 1);
    b.done().await;
}

#[tokio::test]
async fn inmem_group_commit_fails_only_the_bad_entity() {
    if let Some(b) = inmem().await {
        group_commit_fails_only_the_bad_entity(b).await;
    }
}

#[tokio::test]
async fn sqlite_group_commit_fails_only_the_bad_entity() {
    if let Some(b) = sqlite().await {
        group_commit_fails_only_the_bad_entity(b).await;
    }
}

#[tokio::test]
async fn postgres_group_commit_fails_only_the_bad_entity() {
    if let Some(b) = postgres().await {
        group_commit_fails_only_the_bad_entity(b).await;
    }
}

#[tokio::test]
async fn postgres_down_fails_fast_with_an_error() {
    // Port 1 on loopback: nothing listens, the connection is refused.
    let db = DbSettings {
        url: "jdbc:postgresql://127.0.0.1:1/rekko".into(),
        user: "rekko".into(),
        password: "rekko".into(),
        connection_timeout: Duration::from_secs(2),
        ..Default::default()
    };
    let j = PostgresJournal::new(
        postgres_pool(&db, "jdbc-journal").unwrap(),
        &JournalTables::default(),
        400,
    );
    let err = tokio::time::timeout(
        Duration::from_secs(30),
        j.write(&[aw(vec![event("Cart|down", 1, "w")])]),
    )
    .await
    .expect("a journal that is down answers, it does not hang")
    .expect_err("write fails");
    assert!(err.to_string().contains("postgres"), "{err}");
}

/// A TCP proxy in front of PostgreSQL that the test can take down and bring back.
struct Proxy {
    port: u16,
    upstream: std::net::SocketAddr,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    conns: Arc<parking_lot::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(upstream: std::net::SocketAddr) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut p = Proxy {
            port,
            upstream,
            tasks: Vec::new(),
            conns: Arc::new(parking_lot::Mutex::new(Vec::new())),
        };
        p.serve(listener);
        p
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let upstream = self.upstream;
        let conns = self.conns.clone();
        self.tasks.push(tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                conns.lock().push(task);
            }
        }));
    }

    fn down(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
        for t in self.conns.lock().drain(..) {
            t.abort();
        }
    }

    async fn up(&mut self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("rebind the proxy port");
        self.serve(listener);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_journal_down_then_back() {
    let Some(url) = pg_url() else {
        return;
    };
    let target = DbSettings {
        url: url.clone(),
        ..Default::default()
    }
    .target("REKKO_TEST_PG_URL")
    .unwrap();
    let rekko_persistence::settings::DbTarget::Postgres {
        host,
        port,
        database,
        url_user,
        url_password,
    } = target
    else {
        panic!("not a PostgreSQL URL: {url}");
    };
    let upstream = tokio::net::lookup_host((host.as_str(), port))
        .await
        .unwrap()
        .next()
        .unwrap();
    let mut proxy = Proxy::start(upstream).await;
    let schema = format!("rekko_t_{}", uuid::Uuid::new_v4().simple());
    let db = DbSettings {
        url: format!("jdbc:postgresql://127.0.0.1:{}/{database}", proxy.port),
        user: url_user.unwrap_or_default(),
        password: url_password.unwrap_or_default(),
        max_connections: 2,
        connection_timeout: Duration::from_secs(2),
        ..Default::default()
    };
    let mut tables = JournalTables::default();
    tables.event_journal.schema_name = schema.clone();
    tables.event_tag.schema_name = schema.clone();
    let pool = postgres_pool(&db, "jdbc-journal").unwrap();
    let j = PostgresJournal::new(pool.clone(), &tables, 400);
    j.create_tables().await.expect("tables through the proxy");
    write_range(&j, "Cart|down", 1, 2, &[]).await;

    proxy.down();
    let failed = tokio::time::timeout(
        Duration::from_secs(60),
        j.write(&[aw(vec![event("Cart|down", 3, "w")])]),
    )
    .await
    .expect("a write to a journal that is down fails, it does not hang");
    let err = failed.expect_err("the database is unreachable");
    assert!(err.to_string().contains("Cart|down"), "{err}");

    proxy.up().await;
    // The pool reconnects: the entity recovers its sequence number and continues.
    assert_eq!(j.highest_sequence_nr("Cart|down").await.unwrap(), 2);
    write_range(&j, "Cart|down", 3, 3, &[]).await;
    assert_eq!(j.highest_sequence_nr("Cart|down").await.unwrap(), 3);
    drop_schema(&pool, &schema).await;
}

/// Counts tag-page reads, so a test can wait for query progress.
struct CountTagReads(tokio::sync::watch::Sender<usize>);

#[async_trait::async_trait]
impl Hook for CountTagReads {
    async fn before(&self, op: Op, _writes: &[AtomicWrite]) -> rekko_persistence::Result<()> {
        if op == Op::ReadTagged {
            self.0.send_modify(|n| *n += 1);
        }
        Ok(())
    }
}

/// A transaction that took an `ordering` but commits after a later one must not be skipped by
/// the live tag query: it holds at the gap until the row commits, then delivers both in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_live_tag_query_waits_for_a_late_commit() {
    let Some(b) = postgres().await else {
        return;
    };
    let (pool, schema) = b.cleanup.clone().expect("postgres backend");
    let (tx_reads, mut reads) = tokio::sync::watch::channel(0usize);
    let journal: Arc<dyn Journal> = Arc::new(HookedJournal {
        inner: b.journal.clone(),
        hook: CountTagReads(tx_reads),
    });
    write_range(&*journal, "Cart|g", 1, 1, &["gap"]).await;

    // A slow writer takes the next ordering and does not commit yet.
    let mut slow = pool.begin().await.unwrap();
    let late_ordering: i64 = sqlx::query_scalar(&format!(
        "INSERT INTO {schema}.event_journal (persistence_id, sequence_number, deleted, writer, \
         write_timestamp, adapter_manifest, event_ser_id, event_ser_manifest, event_payload) \
         VALUES ('Cart|slow', 1, false, 'w', 1, '', 31, 'com.example.Cart$ItemAdded', '\\x7b7d') \
         RETURNING ordering"
    ))
    .fetch_one(&mut *slow)
    .await
    .unwrap();
    sqlx::query(&format!(
        "INSERT INTO {schema}.event_tag (event_id, tag) VALUES ($1, 'gap')"
    ))
    .bind(late_ordering)
    .execute(&mut *slow)
    .await
    .unwrap();
    // A fast writer commits a later ordering.
    write_range(&*journal, "Cart|fast", 1, 1, &["gap"]).await;

    let q = ReadJournal::new(
        journal.clone(),
        QuerySettings {
            refresh_interval: Duration::from_millis(10),
            max_buffer_size: 100,
            sequence_batch_size: 1000,
            sequence_max_tries: 1_000_000,
        },
    );
    let mut live = q.events_by_tag("gap", 0);
    let first = live.next().await.unwrap().unwrap();
    assert_eq!(first.repr.persistence_id, "Cart|g");
    let rest = tokio::spawn(async move {
        let a = live.next().await.unwrap().unwrap();
        let b = live.next().await.unwrap().unwrap();
        (a, b)
    });
    // Let the live query poll a few times while the slow row is uncommitted (reads are counted
    // as they start and run one after another: 4 started means 3 done).
    let seen = *reads.borrow();
    reads.wait_for(|n| *n >= seen + 4).await.unwrap();
    slow.commit().await.unwrap();
    let (a, c) = tokio::time::timeout(Duration::from_secs(20), rest)
        .await
        .expect("both events arrive after the commit")
        .unwrap();
    assert_eq!(
        (a.repr.persistence_id.as_str(), a.ordering),
        ("Cart|slow", late_ordering)
    );
    assert_eq!(c.repr.persistence_id, "Cart|fast");
    b.done().await;
}
