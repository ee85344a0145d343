//! Behaviour suite of the typed `EventSourcedBehavior`, run against the in-memory, embedded
//! SQLite and PostgreSQL journals (PostgreSQL through `REKKO_TEST_PG_URL`; without it the
//! PostgreSQL variants print SKIPPED, under `CI=true` they fail).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rekko_actor::testkit::TestProbe;
use rekko_actor::{
    ActorRef, ActorSystem, ActorSystemSettings, Behavior, Behaviors, SupervisorStrategy,
};
use rekko_persistence::serialization::jackson::{JacksonCodec, JacksonFormat};
use rekko_persistence::typed::{
    command_ref, Effect, EntityMessage, EventSourcedBehavior, EventSourcedSignal, Persistence,
    PersistenceId, RetentionCriteria,
};
use rekko_persistence::{
    AtomicWrite, PersistenceError, PersistentRepr, SerializedPayload, SnapshotSelectionCriteria,
};
use serde::{Deserialize, Serialize};

const T: Duration = Duration::from_secs(20);

// ---------- backends ----------

mod common;
use common::{inmem, postgres, sqlite, Backend, Hook, HookedJournal, Op};

/// A journal switch: while down, writes, replays and sequence number reads fail.
struct Down(AtomicBool);

#[async_trait]
impl Hook for Down {
    async fn before(&self, op: Op, _writes: &[AtomicWrite]) -> rekko_persistence::Result<()> {
        let checked = matches!(op, Op::Write | Op::Highest | Op::Delete | Op::Read);
        if checked && self.0.load(Ordering::SeqCst) {
            return Err(PersistenceError::Store {
                backend: "test",
                operation: format!("{op:?}"),
                source: "journal is down".into(),
            });
        }
        Ok(())
    }
}

// ---------- the entity ----------

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct Added {
    n: i64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
struct Total {
    total: i64,
    count: i64,
}

enum Cmd {
    Add(i64, ActorRef<i64>),
    AddMany(Vec<i64>, ActorRef<i64>),
    Get(ActorRef<i64>),
    AddAndStop(i64, ActorRef<i64>),
    Bad,
    /// Stashed until `Unstash`.
    Later(i64, ActorRef<i64>),
    Unstash,
}

struct Opts {
    retention: Option<RetentionCriteria>,
    tagged: bool,
    signals: Option<ActorRef<String>>,
}

fn opts() -> Opts {
    Opts {
        retention: None,
        tagged: false,
        signals: None,
    }
}

fn counter(p: &Persistence, id: &str, o: Opts) -> Behavior<EntityMessage<Cmd>> {
    let events = Arc::new(JacksonCodec::<Added>::single(
        JacksonFormat::Json,
        "org.rekko.fixtures.Added",
    ));
    let states = Arc::new(JacksonCodec::<Total>::single(
        JacksonFormat::Json,
        "org.rekko.fixtures.Total",
    ));
    let unstashing = Arc::new(AtomicBool::new(false));
    let mut b = EventSourcedBehavior::new(
        p,
        PersistenceId::new("Counter", id),
        Total::default(),
        events,
        move |s: &Total, c: &Cmd| match c {
            Cmd::Add(n, r) => {
                Effect::persist(Added { n: *n }).then_reply(r.clone(), |s: &Total| s.total)
            }
            Cmd::AddMany(ns, r) => {
                Effect::persist_all(ns.iter().map(|n| Added { n: *n }).collect())
                    .then_reply(r.clone(), |s: &Total| s.total)
            }
            Cmd::Get(r) => Effect::reply(r.clone(), s.total),
            Cmd::AddAndStop(n, r) => Effect::persist(Added { n: *n })
                .then_reply(r.clone(), |s: &Total| s.total)
                .then_stop(),
            Cmd::Bad => Effect::unhandled(),
            Cmd::Later(n, r) => {
                if unstashing.load(Ordering::SeqCst) {
                    Effect::persist(Added { n: *n }).then_reply(r.clone(), |s: &Total| s.total)
                } else {
                    Effect::stash()
                }
            }
            Cmd::Unstash => {
                unstashing.store(true, Ordering::SeqCst);
                Effect::unstash_all()
            }
        },
        |s: Total, e: &Added| Total {
            total: s.total + e.n,
            count: s.count + 1,
        },
    )
    .with_snapshot_codec(states)
    .with_replay_batch_size(2);
    if let Some(r) = o.retention {
        b = b.with_retention(r);
    }
    if o.tagged {
        b = b.with_tagger(|e: &Added| {
            if e.n % 2 == 0 {
                vec!["even".to_string()]
            } else {
                vec![]
            }
        });
    }
    if let Some(sig) = o.signals {
        b = b.receive_signal(move |s: &Total, sig_: &EventSourcedSignal| {
            let text = match sig_ {
                EventSourcedSignal::RecoveryCompleted => format!("recovered {}", s.total),
                EventSourcedSignal::RecoveryFailed(e) => format!("recovery failed: {e}"),
                EventSourcedSignal::JournalPersistFailed(_) => "persist failed".into(),
                EventSourcedSignal::SnapshotCompleted(m) => format!("snapshot {}", m.sequence_nr),
                EventSourcedSignal::DeleteEventsCompleted(to) => format!("deleted events {to}"),
                EventSourcedSignal::DeleteSnapshotsCompleted(c) => {
                    format!("deleted snapshots {}", c.max_sequence_nr)
                }
                other => format!("{other:?}"),
            };
            sig.tell(text);
        });
    }
    b.into_behavior()
}

fn spawn(b: Behavior<EntityMessage<Cmd>>) -> (ActorSystem<EntityMessage<Cmd>>, ActorRef<Cmd>) {
    let system = ActorSystem::new(b, "entity", ActorSystemSettings::default()).expect("system");
    let r = command_ref(system.guardian());
    (system, r)
}

async fn stop(system: ActorSystem<EntityMessage<Cmd>>) {
    system.terminate();
    system.when_terminated().await;
}

async fn add(r: &ActorRef<Cmd>, n: i64) -> i64 {
    r.ask(|to| Cmd::Add(n, to), T).await.expect("add reply")
}

async fn get(r: &ActorRef<Cmd>) -> i64 {
    r.ask(Cmd::Get, T).await.expect("get reply")
}

async fn wait_for(probe: &TestProbe<String>, prefix: &str) -> String {
    loop {
        let s = probe.expect_message(T).await;
        if s.starts_with(prefix) {
            return s;
        }
    }
}

// ---------- behaviours ----------

mod behaviours {
    use super::*;

    pub async fn persist_and_recover(b: Backend) {
        let p = Persistence::new(b.journal.clone(), b.snapshots.clone());
        let (sys, r) = spawn(counter(&p, "a", opts()));
        assert_eq!(add(&r, 1).await, 1);
        assert_eq!(add(&r, 2).await, 3);
        assert_eq!(
            r.ask(|to| Cmd::AddMany(vec![3, 4, 5], to), T)
                .await
                .unwrap(),
            15
        );
        stop(sys).await;
        let (sys, r) = spawn(counter(&p, "a", opts()));
        assert_eq!(get(&r).await, 15, "recovered over pages of 2");
        assert_eq!(add(&r, 10).await, 25);
        stop(sys).await;
        let rows = b
            .journal
            .read_events("Counter|a", 1, i64::MAX, 100)
            .await
            .unwrap();
        let seqs: Vec<i64> = rows.iter().map(|e| e.repr.sequence_nr).collect();
        assert_eq!(seqs, vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(rows[0].repr.payload.manifest, "org.rekko.fixtures.Added");
        assert_eq!(rows[0].repr.writer_uuid, rows[4].repr.writer_uuid);
        assert_ne!(
            rows[0].repr.writer_uuid, rows[5].repr.writer_uuid,
            "new incarnation, new writer"
        );
        b.done().await;
    }

    pub async fn snapshot_then_later_events(b: Backend) {
        let p = Persistence::new(b.journal.clone(), b.snapshots.clone());
        let probe = TestProbe::<String>::new("signals");
        let o = Opts {
            retention: Some(RetentionCriteria::snapshot_every(3, 5)),
            signals: Some(probe.ref_()),
            ..opts()
        };
        let (sys, r) = spawn(counter(&p, "s", o));
        assert_eq!(wait_for(&probe, "recovered").await, "recovered 0");
        for n in 1..=5 {
            add(&r, n).await;
        }
        assert_eq!(wait_for(&probe, "snapshot").await, "snapshot 3");
        stop(sys).await;
        let snap = b
            .snapshots
            .load("Counter|s", SnapshotSelectionCriteria::LATEST)
            .await
            .unwrap();
        assert_eq!(snap.map(|s| s.metadata.sequence_nr), Some(3));
        // Remove the events the snapshot covers: recovery must use the snapshot.
        b.journal.delete_to("Counter|s", 3).await.unwrap();
        let (sys, r) = spawn(counter(&p, "s", opts()));
        assert_eq!(get(&r).await, 15);
        assert_eq!(add(&r, 1).await, 16);
        stop(sys).await;
        b.done().await;
    }

    pub async fn commands_during_persist_keep_their_order(b: Backend) {
        let p = Persistence::new(b.journal.clone(), b.snapshots.clone());
        let (sys, r) = spawn(counter(&p, "o", opts()));
        let probe = TestProbe::<i64>::new("replies");
        for n in 1..=20 {
            r.tell(Cmd::Add(n, probe.ref_()));
        }
        r.tell(Cmd::Get(probe.ref_()));
        let mut got = Vec::new();
        for _ in 0..21 {
            got.push(probe.expect_message(T).await);
        }
        let mut want: Vec<i64> = (1..=20)
            .scan(0, |acc, n| {
                *acc += n;
                Some(*acc)
            })
            .collect();
        want.push(210);
        assert_eq!(got, want);
        stop(sys).await;
        b.done().await;
    }

    pub async fn unhandled_user_stash_and_reply(b: Backend) {
        let p = Persistence::new(b.journal.clone(), b.snapshots.clone());
        let (sys, r) = spawn(counter(&p, "u", opts()));
        r.tell(Cmd::Bad);
        let probe = TestProbe::<i64>::new("later");
        r.tell(Cmd::Later(5, probe.ref_()));
        r.tell(Cmd::Later(6, probe.ref_()));
        assert_eq!(
            get(&r).await,
            0,
            "unhandled and stashed commands changed nothing"
        );
        assert!(probe.try_receive().is_none());
        r.tell(Cmd::Unstash);
        assert_eq!(probe.expect_message(T).await, 5);
        assert_eq!(probe.expect_message(T).await, 11);
        assert_eq!(get(&r).await, 11);
        stop(sys).await;
        b.done().await;
    }

    pub async fn stop_after_persist(b: Backend) {
        let p = Persistence::new(b.journal.clone(), b.snapshots.clone());
        let (sys, r) = spawn(counter(&p, "stop", opts()));
        assert_eq!(r.ask(|to| Cmd::AddAndStop(7, to), T).await.unwrap(), 7);
        // The guardian stopped, so the system terminates by itself.
        tokio::time::timeout(T, sys.when_terminated())
            .await
            .expect("entity stopped");
        let (sys, r) = spawn(counter(&p, "stop", opts()));
        assert_eq!(get(&r).await, 7);
        stop(sys).await;
        b.done().await;
    }

    pub async fn snapshot_retention_deletes_events_and_old_snapshots(b: Backend) {
        let p = Persistence::new(b.journal.clone(), b.snapshots.clone());
        let probe = TestProbe::<String>::new("signals");
        let o = Opts {
            retention: Some(
                RetentionCriteria::snapshot_every(2, 2).with_delete_events_on_snapshot(),
            ),
            signals: Some(probe.ref_()),
            ..opts()
        };
        let (sys, r) = spawn(counter(&p, "ret", o));
        for n in 1..=10 {
            add(&r, n).await;
        }
        // Snapshot at 10: events <= 6 go, then snapshots <= 5.
        wait_for(&probe, "deleted events 6").await;
        wait_for(&probe, "deleted snapshots 5").await;
        stop(sys).await;
        let s = &b.snapshots;
        assert_eq!(
            s.load("Counter|ret", SnapshotSelectionCriteria::up_to(5))
                .await
                .unwrap(),
            None
        );
        for keep in [6, 8, 10] {
            let got = s
                .load("Counter|ret", SnapshotSelectionCriteria::up_to(keep))
                .await
                .unwrap();
            assert_eq!(got.map(|x| x.metadata.sequence_nr), Some(keep));
        }
        let rows = b
            .journal
            .read_events("Counter|ret", 1, i64::MAX, 100)
            .await
            .unwrap();
        assert_eq!(rows.first().map(|e| e.repr.sequence_nr), Some(7));
        let (sys, r) = spawn(counter(&p, "ret", opts()));
        assert_eq!(get(&r).await, 55);
        stop(sys).await;
        b.done().await;
    }

    pub async fn tags_from_the_tagger(b: Backend) {
        let p = Persistence::new(b.journal.clone(), b.snapshots.clone());
        let o = Opts {
            tagged: true,
            ..opts()
        };
        let (sys, r) = spawn(counter(&p, "t", o));
        for n in 1..=4 {
            add(&r, n).await;
        }
        stop(sys).await;
        let max = b.journal.max_ordering().await.unwrap();
        let tagged = b.journal.read_tagged("even", 0, max, 100).await.unwrap();
        let seqs: Vec<i64> = tagged.iter().map(|e| e.repr.sequence_nr).collect();
        assert_eq!(seqs, vec![2, 4]);
        assert_eq!(tagged[0].repr.tags, vec!["even".to_string()]);
        b.done().await;
    }

    pub async fn undecodable_event_fails_that_entity_only(b: Backend) {
        let p = Persistence::new(b.journal.clone(), b.snapshots.clone());
        let good = SerializedPayload::new(31, "org.rekko.fixtures.Added", &br#"{"n":1}"#[..]);
        let bad = SerializedPayload::new(31, "org.rekko.fixtures.Added", &b"{not json"[..]);
        let w = AtomicWrite::new(vec![
            PersistentRepr::new("Counter|bad", 1, good, "w"),
            PersistentRepr::new("Counter|bad", 2, bad, "w"),
        ])
        .unwrap();
        b.journal.write(&[w]).await.unwrap();
        let probe = TestProbe::<String>::new("signals");
        let o = Opts {
            signals: Some(probe.ref_()),
            ..opts()
        };
        let (sys_bad, _r) = spawn(counter(&p, "bad", o));
        let msg = wait_for(&probe, "recovery failed").await;
        for part in [
            "Counter|bad",
            "sequence number 2",
            "serializer 31",
            "org.rekko.fixtures.Added",
        ] {
            assert!(msg.contains(part), "{msg} names {part}");
        }
        tokio::time::timeout(T, sys_bad.when_terminated())
            .await
            .expect("failed entity stopped");
        let (sys, r) = spawn(counter(&p, "fine", opts()));
        assert_eq!(add(&r, 3).await, 3);
        stop(sys).await;
        b.done().await;
    }

    pub async fn journal_down_restarts_with_backoff_and_recovers(b: Backend) {
        let flaky = Arc::new(HookedJournal {
            inner: b.journal.clone(),
            hook: Down(AtomicBool::new(false)),
        });
        let p = Persistence::new(flaky.clone(), b.snapshots.clone());
        let probe = TestProbe::<String>::new("signals");
        let o = Opts {
            signals: Some(probe.ref_()),
            ..opts()
        };
        let supervised = Behaviors::supervise(counter(&p, "down", o)).on_failure(
            SupervisorStrategy::restart_with_backoff(
                Duration::from_millis(200),
                Duration::from_secs(2),
                0.0,
            ),
        );
        let (sys, r) = spawn(supervised);
        assert_eq!(add(&r, 1).await, 1);
        flaky.hook.0.store(true, Ordering::SeqCst);
        let lost = TestProbe::<i64>::new("lost");
        r.tell(Cmd::Add(100, lost.ref_()));
        wait_for(&probe, "persist failed").await;
        // Restarted after the back-off; recovery fails while the journal is down.
        wait_for(&probe, "recovery failed").await;
        wait_for(&probe, "recovery failed").await;
        flaky.hook.0.store(false, Ordering::SeqCst);
        assert_eq!(wait_for(&probe, "recovered").await, "recovered 1");
        assert_eq!(get(&r).await, 1, "the failed write never happened");
        assert!(
            lost.try_receive().is_none(),
            "side effects of a failed write never run"
        );
        assert_eq!(add(&r, 2).await, 3);
        stop(sys).await;
        b.done().await;
    }
}

macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        suite!(@on inmem_backend, inmem(), #[tokio::test(start_paused = true)], $($name),*);
        suite!(@on sqlite_backend, sqlite(), #[tokio::test], $($name),*);
        suite!(@on postgres_backend, postgres(), #[tokio::test], $($name),*);
    };
    (@on $backend:ident, $make:expr, #[$test:meta], $($name:ident),*) => {
        mod $backend {
            use super::*;
            $(#[$test]
            async fn $name() {
                if let Some(b) = $make.await { behaviours::$name(b).await }
            })*
        }
    };
}

suite!(
    persist_and_recover,
    snapshot_then_later_events,
    commands_during_persist_keep_their_order,
    unhandled_user_stash_and_reply,
    stop_after_persist,
    snapshot_retention_deletes_events_and_old_snapshots,
    tags_from_the_tagger,
    undecodable_event_fails_that_entity_only,
    journal_down_restarts_with_backoff_and_recovers,
);

/// Stores `Added { n }` as `Added { n * 10 }` with manifest `x10`, and splits it back on replay.
struct TimesTen;

impl rekko_persistence::typed::EventAdapter<Added> for TimesTen {
    fn to_journal(&self, e: &Added) -> Added {
        Added { n: e.n * 10 }
    }
    fn manifest(&self, _e: &Added) -> String {
        "x10".into()
    }
    fn events_from_journal(&self, e: Added, manifest: &str) -> Vec<Added> {
        assert_eq!(manifest, "x10");
        vec![Added { n: e.n / 10 }; 2]
    }
}

#[tokio::test]
async fn event_adapter_writes_its_manifest_and_expands_on_replay() {
    let b = inmem().await.expect("in-memory backend");
    let p = Persistence::new(b.journal.clone(), b.snapshots.clone());
    let make = |p: &Persistence| {
        EventSourcedBehavior::new(
            p,
            PersistenceId::new("Adapted", "a"),
            0i64,
            Arc::new(JacksonCodec::<Added>::single(
                JacksonFormat::Json,
                "x.Added",
            )),
            |s: &i64, c: &Cmd| match c {
                Cmd::Add(n, r) => {
                    Effect::persist(Added { n: *n }).then_reply(r.clone(), |s: &i64| *s)
                }
                Cmd::Get(r) => Effect::reply(r.clone(), *s),
                _ => Effect::unhandled(),
            },
            |s: i64, e: &Added| s + e.n,
        )
        .with_event_adapter(TimesTen)
        .into_behavior()
    };
    let (sys, r) = spawn(make(&p));
    assert_eq!(add(&r, 3).await, 3);
    stop(sys).await;
    let rows = b.journal.read_events("Adapted|a", 1, 1, 1).await.unwrap();
    assert_eq!(rows[0].repr.adapter_manifest, "x10");
    assert_eq!(&rows[0].repr.payload.bytes[..], br#"{"n":30}"#);
    let (sys, r) = spawn(make(&p));
    assert_eq!(get(&r).await, 6, "one stored event replayed as two");
    stop(sys).await;
}

#[tokio::test]
async fn a_full_stash_drops_commands_and_keeps_running() {
    let b = inmem().await.expect("in-memory backend");
    let p = Persistence::new(b.journal.clone(), b.snapshots.clone());
    let entity = EventSourcedBehavior::new(
        &p,
        PersistenceId::new("Small", "s"),
        0i64,
        Arc::new(JacksonCodec::<Added>::single(
            JacksonFormat::Json,
            "x.Added",
        )),
        |s: &i64, c: &Cmd| match c {
            Cmd::Add(n, r) => Effect::persist(Added { n: *n }).then_reply(r.clone(), |s: &i64| *s),
            Cmd::Get(r) => Effect::reply(r.clone(), *s),
            _ => Effect::unhandled(),
        },
        |s: i64, e: &Added| s + e.n,
    )
    .with_stash_capacity(2)
    .into_behavior();
    let (sys, r) = spawn(entity);
    let probe = TestProbe::<i64>::new("replies");
    // During recovery and the first persist only two commands fit into the stash.
    for n in 1..=5 {
        r.tell(Cmd::Add(n, probe.ref_()));
    }
    let first = probe.expect_message(T).await;
    let second = probe.expect_message(T).await;
    assert_eq!((first, second), (1, 3));
    assert_eq!(
        get(&r).await,
        3,
        "commands beyond the capacity were dropped"
    );
    assert!(probe.try_receive().is_none());
    stop(sys).await;
}
