//! Property tests: per sender-receiver ordering and no message loss (every message is either
//! processed or a dead letter) under random spawning and stopping.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use proptest::prelude::*;
use rekko_actor::{ActorContext, ActorRef, ActorSystem, ActorSystemSettings, Behavior, Behaviors};

#[derive(Debug)]
enum Rx {
    Data { sender: usize, seq: u64 },
    Stop,
}

type Log = Arc<Mutex<Vec<(usize, usize, u64)>>>;

fn receiver(id: usize, log: Log, stops: Arc<AtomicU64>) -> Behavior<Rx> {
    Behaviors::receive_message(move |m| match m {
        Rx::Data { sender, seq } => {
            log.lock().push((id, sender, seq));
            Behaviors::same()
        }
        Rx::Stop => {
            stops.fetch_add(1, Ordering::SeqCst);
            Behaviors::stopped()
        }
    })
}

type Job = Box<dyn FnOnce(&mut ActorContext<Job2>) + Send>;
struct Job2(Job);

#[derive(Clone, Debug)]
enum MainOp {
    Spawn,
    Stop(usize),
    Pause,
}

fn main_op() -> impl Strategy<Value = MainOp> {
    prop_oneof![
        2 => Just(MainOp::Spawn),
        1 => (0usize..16).prop_map(MainOp::Stop),
        2 => Just(MainOp::Pause),
    ]
}

fn run_case(main_ops: Vec<MainOp>, senders: Vec<Vec<usize>>) -> Result<(), TestCaseError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    rt.block_on(async move {
        let mut settings = ActorSystemSettings::default();
        settings.coordinated_shutdown.run_by_jvm_shutdown_hook = false;
        settings.log_dead_letters = rekko_actor::settings::LogDeadLetters::Off;
        let sys = ActorSystem::new(
            Behaviors::receive(|ctx, Job2(f)| {
                f(ctx);
                Behaviors::same()
            }),
            "Laws",
            settings,
        )
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let log: Log = Arc::new(Mutex::new(Vec::new()));
        let stops = Arc::new(AtomicU64::new(0));
        let receivers: Arc<RwLock<Vec<ActorRef<Rx>>>> = Arc::new(RwLock::new(Vec::new()));
        let spawn_one = |id: usize| {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let (l, s) = (log.clone(), stops.clone());
            sys.tell(Job2(Box::new(move |ctx| {
                let _ = tx.send(ctx.spawn_anonymous(receiver(id, l, s)));
            })));
            rx
        };
        let first = spawn_one(0)
            .await
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        receivers.write().push(first);
        let sent = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for (sid, targets) in senders.into_iter().enumerate() {
            let recv = receivers.clone();
            let sent = sent.clone();
            tasks.push(tokio::spawn(async move {
                for (seq, t) in targets.into_iter().enumerate() {
                    let r = {
                        let list = recv.read();
                        list[t % list.len()].clone()
                    };
                    r.tell(Rx::Data {
                        sender: sid,
                        seq: seq as u64,
                    });
                    sent.fetch_add(1, Ordering::SeqCst);
                    if seq % 7 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            }));
        }
        let mut stops_sent = 0u64;
        for op in main_ops {
            match op {
                MainOp::Spawn => {
                    let id = receivers.read().len();
                    let r = spawn_one(id)
                        .await
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    receivers.write().push(r);
                }
                MainOp::Stop(i) => {
                    let r = {
                        let list = receivers.read();
                        list[i % list.len()].clone()
                    };
                    r.tell(Rx::Stop);
                    stops_sent += 1;
                }
                MainOp::Pause => tokio::task::yield_now().await,
            }
        }
        for t in tasks {
            t.await.map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
        sys.terminate();
        tokio::time::timeout(Duration::from_secs(20), sys.when_terminated())
            .await
            .map_err(|_| TestCaseError::fail("system did not terminate"))?;
        let log = log.lock().clone();
        let processed = log.len() as u64 + stops.load(Ordering::SeqCst);
        let total = sent.load(Ordering::SeqCst) + stops_sent;
        // No loss: processed plus dead letters is everything sent.
        prop_assert_eq!(processed + sys.dead_letter_count(), total);
        // Per sender-receiver ordering.
        let mut last: std::collections::HashMap<(usize, usize), u64> = Default::default();
        for (r, s, seq) in log {
            if let Some(prev) = last.insert((r, s), seq) {
                prop_assert!(
                    seq > prev,
                    "receiver {} got seq {} after {} from sender {}",
                    r,
                    seq,
                    prev,
                    s
                );
            }
        }
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn ordering_and_no_loss_under_random_spawn_and_stop(
        main_ops in proptest::collection::vec(main_op(), 0..20),
        senders in proptest::collection::vec(proptest::collection::vec(0usize..16, 0..300), 1..4),
    ) {
        run_case(main_ops, senders)?;
    }
}
