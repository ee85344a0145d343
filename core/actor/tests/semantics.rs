//! One test per documented semantic of Pekko typed that rekko-actor implements.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rekko_actor::testkit::TestProbe;
use rekko_actor::{
    ActorError, ActorRef, ActorSystem, ActorSystemSettings, AskError, Behavior, Behaviors,
    DeadLetter, MailboxSelector, Props, Signal, StatusReply, SupervisorStrategy,
};

const T: Duration = Duration::from_secs(5);

fn settings() -> ActorSystemSettings {
    let mut s = ActorSystemSettings::default();
    s.coordinated_shutdown.run_by_jvm_shutdown_hook = false;
    s
}

/// A guardian that spawns whatever behavior it is sent (like Pekko's SpawnProtocol), replying the ref.
type SpawnFn = Box<dyn FnOnce(&mut rekko_actor::ActorContext<Spawn>) + Send>;

enum Spawn {
    Any(SpawnFn),
}

fn spawner() -> Behavior<Spawn> {
    Behaviors::receive(|ctx, msg| {
        let Spawn::Any(f) = msg;
        f(ctx);
        Behaviors::same()
    })
}

fn system(name: &str) -> ActorSystem<Spawn> {
    ActorSystem::new(spawner(), name, settings()).expect("system starts")
}

/// A system whose guardian stops on its first `()`.
fn stop_on_message_system(name: &str) -> ActorSystem<()> {
    ActorSystem::new(
        Behaviors::receive_message(|_: ()| Behaviors::stopped()),
        name,
        settings(),
    )
    .expect("system starts")
}

/// Terminates the system and waits until it is terminated.
async fn shutdown<M: Send + 'static>(sys: &ActorSystem<M>) {
    sys.terminate();
    sys.when_terminated().await;
}

/// A probe and a ref that sends to it.
fn probe<M: Send + 'static>() -> (TestProbe<M>, ActorRef<M>) {
    let probe = TestProbe::new("p");
    let r = probe.ref_();
    (probe, r)
}

/// Runs `f` inside the guardian (whose children it may spawn) and returns what it returns.
async fn in_guardian<R: Send + 'static>(
    sys: &ActorSystem<Spawn>,
    f: impl FnOnce(&mut rekko_actor::ActorContext<Spawn>) -> R + Send + 'static,
) -> R {
    let probe = TestProbe::<R>::new("guardian");
    let reply = probe.ref_();
    sys.tell(Spawn::Any(Box::new(move |ctx| reply.tell(f(ctx)))));
    probe.expect_message(T).await
}

async fn spawn<C: Send + 'static>(
    sys: &ActorSystem<Spawn>,
    b: Behavior<C>,
    name: Option<&str>,
) -> ActorRef<C> {
    let name = name.map(str::to_string);
    in_guardian(sys, move |ctx| match name {
        Some(n) => ctx.spawn(b, &n),
        None => ctx.spawn_anonymous(b),
    })
    .await
}

/// A probe that gets every dead letter of the system.
async fn dead_letters(sys: &ActorSystem<Spawn>) -> TestProbe<DeadLetter> {
    let dl = TestProbe::<DeadLetter>::new("dl");
    let dl_fwd = spawn(sys, forwarder(dl.ref_()), None).await;
    sys.event_stream().subscribe(dl_fwd);
    dl
}

fn forwarder<M: Send + 'static>(probe: ActorRef<M>) -> Behavior<M> {
    Behaviors::receive_message(move |m| {
        probe.tell(m);
        Behaviors::same()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_from_one_sender_arrive_in_order() {
    let sys = system("Order");
    let probe = TestProbe::<u32>::new("p");
    let r = spawn(&sys, forwarder(probe.ref_()), Some("fwd")).await;
    for i in 0..10_000 {
        r.tell(i);
    }
    for i in 0..10_000 {
        assert_eq!(probe.expect_message(T).await, i);
    }
    shutdown(&sys).await;
}

#[tokio::test]
async fn paths_names_and_uids_render_like_pekko() {
    let sys = system("Sys");
    let (probe, p) = probe::<String>();
    let a = spawn(
        &sys,
        Behaviors::setup(move |ctx| {
            let b = ctx.spawn(Behaviors::empty::<()>(), "b");
            p.tell(b.path().to_string());
            let x = ctx.spawn_anonymous(Behaviors::empty::<()>());
            let y = ctx.spawn_anonymous(Behaviors::empty::<()>());
            p.tell(x.path().name().to_string());
            p.tell(y.path().name().to_string());
            let dup = ctx.try_spawn(Behaviors::empty::<()>(), "b", Props::default());
            p.tell(format!(
                "{:?}",
                dup.err()
                    .map(|e| matches!(e, ActorError::NameNotUnique { .. }))
            ));
            let bad = ctx.try_spawn(Behaviors::empty::<()>(), "$x", Props::default());
            p.tell(format!(
                "{:?}",
                bad.err()
                    .map(|e| matches!(e, ActorError::InvalidName { .. }))
            ));
            Behaviors::empty::<()>()
        }),
        Some("a"),
    )
    .await;
    let b_path = probe.expect_message(T).await;
    let uid: i32 = b_path
        .rsplit('#')
        .next()
        .and_then(|u| u.parse().ok())
        .unwrap_or(0);
    assert_ne!(uid, 0);
    assert_eq!(b_path, format!("pekko://Sys/user/a/b#{uid}"));
    assert_eq!(probe.expect_message(T).await, "$a");
    assert_eq!(probe.expect_message(T).await, "$b");
    assert_eq!(probe.expect_message(T).await, "Some(true)");
    assert_eq!(probe.expect_message(T).await, "Some(true)");
    assert!(a.path().to_string().starts_with("pekko://Sys/user/a#"));
    let found = sys.resolve::<()>(&a.path());
    assert_eq!(found, Some(a.clone()));
    shutdown(&sys).await;
}

#[tokio::test]
async fn children_of_lists_the_live_children_of_a_path() {
    let sys = system("Tree");
    let (probe, p) = probe::<String>();
    let a = spawn(
        &sys,
        Behaviors::setup(move |ctx| {
            ctx.spawn(Behaviors::empty::<()>(), "w1");
            ctx.spawn(Behaviors::empty::<()>(), "w2");
            let gone = ctx.spawn(Behaviors::stopped::<()>(), "gone");
            ctx.watch(&gone);
            let p = p.clone();
            Behaviors::receive_signal::<(), _>(move |_ctx, signal| {
                if signal.terminated_ref().is_some() {
                    p.tell("child stopped".to_string());
                }
                Behaviors::same()
            })
        }),
        Some("a"),
    )
    .await;
    assert_eq!(probe.expect_message(T).await, "child stopped");
    let names = |elements: &[&str]| {
        let elements: Vec<String> = elements.iter().map(|e| e.to_string()).collect();
        let mut v: Vec<String> = sys
            .handle()
            .children_of(&elements)
            .iter()
            .map(|c| c.path().to_string())
            .collect();
        v.sort();
        v
    };
    let children = names(&["user", "a"]);
    assert_eq!(children.len(), 2, "{children:?}");
    assert!(children[0].starts_with("pekko://Tree/user/a/w1#"));
    assert!(children[1].starts_with("pekko://Tree/user/a/w2#"));
    let users = names(&["user"]);
    assert_eq!(users.len(), 1);
    assert_eq!(users[0], a.path().to_string());
    let top = names(&[]);
    assert!(
        top.iter()
            .any(|p| p.split('#').next() == Some("pekko://Tree/user")),
        "{top:?}"
    );
    assert!(names(&["user", "a", "w1"]).is_empty());
    assert!(names(&["user", "nobody"]).is_empty());
    shutdown(&sys).await;
}

fn post_stop_reporter(name: &'static str, probe: ActorRef<String>) -> Behavior<()> {
    Behaviors::receive_signal(move |_, sig| {
        if let Signal::PostStop = sig {
            probe.tell(name.to_string());
        }
        Behaviors::same()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_stop_before_parent_and_get_post_stop_first() {
    let sys = system("Stop");
    let (probe, p) = probe::<String>();
    let parent = spawn(
        &sys,
        Behaviors::setup(move |ctx| {
            let p1 = p.clone();
            let c1 = ctx.spawn(post_stop_reporter("child1", p.clone()), "c1");
            ctx.spawn(
                Behaviors::setup(move |ctx| {
                    ctx.spawn(post_stop_reporter("grandchild", p1.clone()), "g");
                    post_stop_reporter("child2", p1.clone())
                }),
                "c2",
            );
            let _ = c1;
            let p2 = p.clone();
            Behaviors::receive_message(|_: ()| Behaviors::stopped()).receive_signal(
                move |_, sig| {
                    if let Signal::PostStop = sig {
                        p2.tell("parent".into());
                    }
                    Behaviors::same()
                },
            )
        }),
        Some("parent"),
    )
    .await;
    parent.tell(());
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(probe.expect_message(T).await);
    }
    assert_eq!(seen.last().map(String::as_str), Some("parent"));
    let g = seen.iter().position(|s| s == "grandchild");
    let c2 = seen.iter().position(|s| s == "child2");
    assert!(g < c2, "grandchild stops before its parent: {seen:?}");
    assert!(seen.contains(&"child1".to_string()));
    shutdown(&sys).await;
}

#[tokio::test]
async fn nothing_is_delivered_after_post_stop_and_late_messages_are_dead_letters() {
    let sys = system("Late");
    let probe = TestProbe::<String>::new("p");
    let dl = dead_letters(&sys).await;
    let p = probe.ref_();
    let p2 = probe.ref_();
    let r = spawn(
        &sys,
        Behaviors::receive_message(move |m: u32| {
            p.tell(format!("msg {m}"));
            Behaviors::stopped_with({
                let p = p.clone();
                move || p.tell("post-stop action".into())
            })
        })
        .receive_signal(move |_, s| {
            if let Signal::PostStop = s {
                p2.tell("PostStop".into());
            }
            Behaviors::same()
        }),
        Some("once"),
    )
    .await;
    r.tell(1);
    r.tell(2);
    r.tell(3);
    assert_eq!(probe.expect_message(T).await, "msg 1");
    assert_eq!(probe.expect_message(T).await, "PostStop");
    assert_eq!(probe.expect_message(T).await, "post-stop action");
    let d1 = dl.expect_message(T).await;
    let d2 = dl.expect_message(T).await;
    assert_eq!(d1.recipient, r.path());
    assert_eq!(d2.recipient, r.path());
    assert_eq!(d1.message_type, "u32");
    // After termination a new message is a dead letter too, with no sender outside actors.
    r.tell(4);
    let d3 = dl.expect_message(T).await;
    assert_eq!(d3.recipient, r.path());
    assert!(d3.sender.is_none());
    assert!(probe.try_receive().is_none());
    assert!(sys.dead_letter_count() >= 3);
    shutdown(&sys).await;
}

#[tokio::test]
async fn dead_letters_carry_the_sending_actor() {
    let sys = system("DlSender");
    let dl = dead_letters(&sys).await;
    let dead = spawn(&sys, Behaviors::stopped::<u8>(), Some("dead")).await;
    let sender = spawn(
        &sys,
        Behaviors::receive_message(move |_: ()| {
            dead.tell(7);
            Behaviors::same()
        }),
        Some("sender"),
    )
    .await;
    // `dead` stops right after start; keep sending until the dead letter shows up.
    sender.tell(());
    let d = dl.expect_message(T).await;
    assert_eq!(
        d.sender.map(|p| p.to_string_without_uid()),
        Some("pekko://DlSender/user/sender".to_string())
    );
    assert_eq!(
        d.recipient.to_string_without_uid(),
        "pekko://DlSender/user/dead"
    );
    shutdown(&sys).await;
}

#[derive(Debug)]
enum Work {
    Add(u32),
    Fail,
    Get(ActorRef<Vec<u32>>),
}

fn failing_accumulator(started: ActorRef<String>) -> Behavior<Work> {
    Behaviors::setup(move |_| {
        started.tell("started".into());
        let started = started.clone();
        collect(Vec::new(), started)
    })
}

fn collect(seen: Vec<u32>, probe: ActorRef<String>) -> Behavior<Work> {
    let p2 = probe.clone();
    Behaviors::receive_message(move |m| match m {
        Work::Add(n) => {
            let mut s = seen.clone();
            s.push(n);
            collect(s, probe.clone())
        }
        Work::Fail => panic!("boom"),
        Work::Get(r) => {
            r.tell(seen.clone());
            Behaviors::same()
        }
    })
    .receive_signal(move |_, s| {
        if let Signal::PreRestart = s {
            p2.tell("PreRestart".into());
        }
        Behaviors::same()
    })
}

#[tokio::test]
async fn restart_keeps_the_mailbox_and_drops_the_failing_message() {
    let sys = system("Restart");
    let probe = TestProbe::<String>::new("p");
    let r = spawn(
        &sys,
        Behaviors::supervise(failing_accumulator(probe.ref_()))
            .on_failure(SupervisorStrategy::restart()),
        Some("acc"),
    )
    .await;
    r.tell(Work::Add(1));
    r.tell(Work::Fail);
    r.tell(Work::Add(2));
    r.tell(Work::Add(3));
    let got = r.ask(Work::Get, T).await;
    assert_eq!(probe.expect_message(T).await, "started");
    assert_eq!(probe.expect_message(T).await, "PreRestart");
    assert_eq!(probe.expect_message(T).await, "started");
    // State was reset by the restart; messages behind the failing one were kept.
    assert_eq!(got, Ok(vec![2, 3]));
    shutdown(&sys).await;
}

#[tokio::test]
async fn resume_keeps_state() {
    let sys = system("Resume");
    let probe = TestProbe::<String>::new("p");
    let r = spawn(
        &sys,
        Behaviors::supervise(failing_accumulator(probe.ref_()))
            .on_failure(SupervisorStrategy::resume()),
        None,
    )
    .await;
    r.tell(Work::Add(1));
    r.tell(Work::Fail);
    r.tell(Work::Add(2));
    assert_eq!(r.ask(Work::Get, T).await, Ok(vec![1, 2]));
    shutdown(&sys).await;
}

#[tokio::test]
async fn restart_limit_stops_the_actor_and_parent_sees_child_failed() {
    let sys = system("Limit");
    let (probe, p) = probe::<String>();
    let parent = spawn(
        &sys,
        Behaviors::setup(move |ctx| {
            let child = ctx.spawn(
                Behaviors::supervise(failing_accumulator(p.clone())).on_failure(
                    SupervisorStrategy::restart().with_limit(2, Duration::from_secs(60)),
                ),
                "child",
            );
            ctx.watch(&child);
            let p = p.clone();
            Behaviors::receive_message(move |n: u32| {
                for _ in 0..n {
                    child.tell(Work::Fail);
                }
                Behaviors::same()
            })
            .receive_signal(move |_, s| {
                match s {
                    Signal::ChildFailed(cf) => {
                        p.tell(format!("ChildFailed {} {}", cf.actor.name(), cf.cause))
                    }
                    Signal::Terminated(t) => p.tell(format!("Terminated {}", t.actor.name())),
                    _ => {}
                }
                Behaviors::same()
            })
        }),
        Some("parent"),
    )
    .await;
    parent.tell(3);
    let mut msgs = Vec::new();
    loop {
        let m = probe.expect_message(T).await;
        let end = m.starts_with("ChildFailed") || m.starts_with("Terminated");
        msgs.push(m);
        if end {
            break;
        }
    }
    assert_eq!(
        msgs.iter().filter(|m| *m == "started").count(),
        3,
        "{msgs:?}"
    );
    assert_eq!(
        msgs.last().map(String::as_str),
        Some("ChildFailed child boom")
    );
    shutdown(&sys).await;
}

#[tokio::test(start_paused = true)]
async fn backoff_restarts_after_growing_delays() {
    let sys = system("Backoff");
    let (probe, p) = probe::<tokio::time::Instant>();
    let fails = Arc::new(AtomicUsize::new(0));
    let f2 = fails.clone();
    let r = spawn(
        &sys,
        Behaviors::supervise(Behaviors::setup(move |ctx| {
            p.tell(tokio::time::Instant::now());
            // Fail right after each start, four times.
            if f2.fetch_add(1, Ordering::SeqCst) < 4 {
                ctx.self_ref().tell(());
            }
            Behaviors::receive_message(|_: ()| panic!("fail"))
        }))
        .on_failure(
            SupervisorStrategy::restart_with_backoff(
                Duration::from_millis(100),
                Duration::from_millis(500),
                0.0,
            )
            .with_reset_backoff_after(Duration::from_secs(10)),
        ),
        Some("b"),
    )
    .await;
    let mut starts = Vec::new();
    for _ in 0..5 {
        starts.push(probe.expect_message(T).await);
    }
    let gaps: Vec<u128> = starts
        .windows(2)
        .map(|w| (w[1] - w[0]).as_millis())
        .collect();
    assert_eq!(gaps, vec![100, 200, 400, 500]);
    let _ = r;
    shutdown(&sys).await;
}

#[tokio::test(start_paused = true)]
async fn messages_during_backoff_are_stashed_and_delivered_after_restart() {
    let sys = system("BackoffStash");
    let (probe, p) = probe::<u32>();
    let r = spawn(
        &sys,
        Behaviors::supervise(Behaviors::receive_message(move |m: u32| {
            if m == 0 {
                panic!("zero");
            }
            p.tell(m);
            Behaviors::same()
        }))
        .on_failure(SupervisorStrategy::restart_with_backoff(
            Duration::from_millis(100),
            Duration::from_secs(1),
            0.0,
        )),
        None,
    )
    .await;
    r.tell(0);
    r.tell(1);
    r.tell(2);
    assert_eq!(probe.expect_message(T).await, 1);
    assert_eq!(probe.expect_message(T).await, 2);
    shutdown(&sys).await;
}

#[derive(Clone, Debug, PartialEq)]
enum Tick {
    Start,
    Block,
    Cancel,
    Fired(&'static str),
    Ping,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_or_replaced_timers_never_deliver_stale_messages() {
    let sys = system("Timers");
    let (probe, p) = probe::<Tick>();
    let r = spawn(
        &sys,
        Behaviors::with_timers(move |timers| {
            let p = p.clone();
            Behaviors::receive_message(move |m: Tick| {
                match m {
                    Tick::Start => {
                        timers.start_single_timer(
                            "k",
                            Tick::Fired("old"),
                            Duration::from_millis(1),
                        );
                        timers.start_single_timer(
                            "k2",
                            Tick::Fired("cancelled"),
                            Duration::from_millis(1),
                        );
                    }
                    // Block long enough that both timers fire and enqueue behind `Cancel`.
                    Tick::Block => std::thread::sleep(Duration::from_millis(50)),
                    Tick::Cancel => {
                        timers.start_single_timer(
                            "k",
                            Tick::Fired("new"),
                            Duration::from_millis(20),
                        );
                        timers.cancel("k2");
                        assert!(!timers.is_timer_active("k2"));
                    }
                    other => p.tell(other),
                }
                Behaviors::same()
            })
        }),
        Some("t"),
    )
    .await;
    r.tell(Tick::Start);
    r.tell(Tick::Block);
    r.tell(Tick::Cancel);
    r.tell(Tick::Ping);
    assert_eq!(probe.expect_message(T).await, Tick::Ping);
    assert_eq!(probe.expect_message(T).await, Tick::Fired("new"));
    r.tell(Tick::Ping);
    assert_eq!(probe.expect_message(T).await, Tick::Ping);
    shutdown(&sys).await;
}

#[tokio::test(start_paused = true)]
async fn periodic_timers_repeat_and_die_with_the_actor() {
    let sys = system("Periodic");
    let (probe, p) = probe::<u32>();
    let r = spawn(
        &sys,
        Behaviors::with_timers(move |timers| {
            timers.start_timer_with_fixed_delay("tick", 1u32, Duration::from_millis(10));
            timers.start_timer_at_fixed_rate("rate", 2u32, Duration::from_millis(25));
            let p = p.clone();
            Behaviors::receive_message(move |m: u32| {
                if m == 99 {
                    return Behaviors::stopped();
                }
                p.tell(m);
                Behaviors::same()
            })
        }),
        None,
    )
    .await;
    let mut ones = 0;
    let mut twos = 0;
    while ones < 5 || twos < 2 {
        match probe.expect_message(T).await {
            1 => ones += 1,
            _ => twos += 1,
        }
    }
    r.tell(99);
    // Drain what was queued before the stop, then nothing more arrives.
    tokio::time::sleep(Duration::from_millis(100)).await;
    while probe.try_receive().is_some() {}
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(probe.try_receive().is_none());
    shutdown(&sys).await;
}

#[derive(Debug)]
enum Db {
    Loaded,
    Save(#[allow(dead_code)] u32),
}

/// Stashes messages (up to `capacity`, an overflow reported to `p`) until `Db::Loaded`, then
/// unstashes them all and reports each message it handles to `p`.
fn stash_until_loaded(capacity: usize, p: ActorRef<String>) -> Behavior<Db> {
    Behaviors::with_stash(capacity, move |stash| {
        let p = p.clone();
        Behaviors::receive_message(move |m: Db| match m {
            Db::Loaded => {
                let p = p.clone();
                stash.unstash_all(Behaviors::receive_message(move |m: Db| {
                    p.tell(format!("{m:?}"));
                    Behaviors::same()
                }))
            }
            other => {
                if let Err(e) = stash.stash(other) {
                    p.tell(format!("overflow: {e}"));
                }
                Behaviors::same()
            }
        })
    })
}

#[tokio::test]
async fn stash_preserves_order_and_overflows_with_an_error() {
    let sys = system("Stash");
    let (probe, p) = probe::<String>();
    let r = spawn(&sys, stash_until_loaded(3, p), Some("db")).await;
    for i in 1..=4 {
        r.tell(Db::Save(i));
    }
    r.tell(Db::Loaded);
    r.tell(Db::Save(5));
    let m = probe.expect_message(T).await;
    assert!(
        m.starts_with("overflow: stash buffer of [pekko://Stash/user/db"),
        "{m}"
    );
    for i in [1, 2, 3, 5] {
        assert_eq!(probe.expect_message(T).await, format!("Save({i})"));
    }
    shutdown(&sys).await;
}

#[tokio::test(start_paused = true)]
async fn ask_times_out_when_nobody_replies() {
    let sys = system("Ask");
    let r = spawn(&sys, Behaviors::ignore::<ActorRef<u8>>(), None).await;
    let res = r.ask(|reply_to| reply_to, Duration::from_millis(300)).await;
    assert!(matches!(res, Err(AskError::Timeout { .. })), "{res:?}");
    let echo = spawn(
        &sys,
        Behaviors::receive_message(|(n, r): (u8, ActorRef<StatusReply<u8>>)| {
            r.tell(if n > 0 {
                StatusReply::success(n)
            } else {
                StatusReply::error("zero")
            });
            Behaviors::same()
        }),
        None,
    )
    .await;
    assert_eq!(echo.ask_with_status(|r| (3, r), T).await, Ok(3));
    assert!(matches!(
        echo.ask_with_status(|r| (0, r), T).await,
        Err(AskError::Status { .. })
    ));
    shutdown(&sys).await;
}

#[tokio::test]
async fn watching_a_dead_actor_yields_terminated_at_once() {
    let sys = system("Watch");
    let probe = TestProbe::<String>::new("p");
    let dead = spawn(&sys, Behaviors::stopped::<()>(), Some("dead")).await;
    // Wait until it is gone: a watcher spawned later must still get Terminated.
    let p = probe.ref_();
    let d = dead.clone();
    let _watcher = spawn(
        &sys,
        Behaviors::setup(move |ctx: &mut rekko_actor::ActorContext<()>| {
            ctx.watch(&d);
            let p = p.clone();
            Behaviors::receive_signal(move |_, s| {
                if let Signal::Terminated(t) = s {
                    p.tell(t.actor.name());
                }
                Behaviors::same()
            })
        }),
        Some("watcher"),
    )
    .await;
    assert_eq!(probe.expect_message(T).await, "dead");
    // watch_with delivers a message instead of the signal.
    let p2 = probe.ref_();
    let d2 = dead.clone();
    spawn(
        &sys,
        Behaviors::setup(move |ctx: &mut rekko_actor::ActorContext<String>| {
            ctx.watch_with(&d2, "custom".to_string());
            forwarder(p2.clone())
        }),
        None,
    )
    .await;
    assert_eq!(probe.expect_message(T).await, "custom");
    shutdown(&sys).await;
}

#[tokio::test]
async fn unhandled_terminated_is_a_death_pact() {
    let sys = system("Pact");
    let (probe, p) = probe::<String>();
    spawn(
        &sys,
        Behaviors::setup(move |ctx: &mut rekko_actor::ActorContext<()>| {
            let watcher = ctx.spawn(
                Behaviors::setup(|ctx| {
                    let victim = ctx.spawn(
                        Behaviors::receive_message(|_: ()| Behaviors::stopped()),
                        "victim",
                    );
                    ctx.watch(&victim);
                    victim.tell(());
                    Behaviors::empty::<()>()
                }),
                "watcher",
            );
            ctx.watch(&watcher);
            let p = p.clone();
            Behaviors::receive_signal(move |_, s| {
                if let Signal::ChildFailed(cf) = s {
                    p.tell(format!("{} {}", cf.actor.name(), cf.cause.is_death_pact()));
                }
                Behaviors::same()
            })
        }),
        None,
    )
    .await;
    assert_eq!(probe.expect_message(T).await, "watcher true");
    shutdown(&sys).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panics_do_not_take_the_system_down() {
    let sys = system("Panic");
    let bomb = spawn(
        &sys,
        Behaviors::receive_message(|_: ()| panic!("kaboom")),
        Some("bomb"),
    )
    .await;
    bomb.tell(());
    let probe = TestProbe::<u32>::new("p");
    let ok = spawn(&sys, forwarder(probe.ref_()), Some("ok")).await;
    ok.tell(1);
    assert_eq!(probe.expect_message(T).await, 1);
    // The failed actor is gone; the name can be reused after termination.
    let again = spawn(
        &sys,
        Behaviors::receive_message(|_: ()| panic!("kaboom")),
        None,
    )
    .await;
    again.tell(());
    ok.tell(2);
    assert_eq!(probe.expect_message(T).await, 2);
    assert!(!sys.is_terminated());
    shutdown(&sys).await;
}

#[tokio::test(start_paused = true)]
async fn receive_timeout_fires_after_inactivity() {
    let sys = system("Idle");
    let (probe, p) = probe::<String>();
    let r = spawn(
        &sys,
        Behaviors::setup(move |ctx| {
            ctx.set_receive_timeout(Duration::from_secs(1), "timeout".to_string());
            let p = p.clone();
            Behaviors::receive(move |ctx, m: String| {
                if m == "timeout" {
                    ctx.cancel_receive_timeout();
                }
                p.tell(format!(
                    "{m} at {}",
                    tokio::time::Instant::now().elapsed().as_millis()
                ));
                Behaviors::same()
            })
        }),
        None,
    )
    .await;
    let start = tokio::time::Instant::now();
    tokio::time::sleep(Duration::from_millis(600)).await;
    r.tell("hello".into());
    let _ = probe.expect_message(T).await;
    let _ = probe.expect_message(T).await;
    let fired_after = start.elapsed();
    assert!(
        fired_after >= Duration::from_millis(1600),
        "{fired_after:?}"
    );
    shutdown(&sys).await;
}

enum Frontend {
    Reply(String),
    Asked(Result<String, AskError>),
    Piped(u32),
}

#[tokio::test]
async fn message_adapter_ask_and_pipe_to_self() {
    let sys = system("Adapt");
    let (probe, p) = probe::<String>();
    let backend = spawn(
        &sys,
        Behaviors::receive_message(|(q, r): (String, ActorRef<String>)| {
            r.tell(q.to_uppercase());
            Behaviors::same()
        }),
        Some("backend"),
    )
    .await;
    spawn(
        &sys,
        Behaviors::setup(move |ctx| {
            let adapter = ctx.message_adapter(Frontend::Reply);
            backend.tell(("adapted".into(), adapter));
            ctx.ask(&backend, |r| ("asked".to_string(), r), T, Frontend::Asked);
            ctx.pipe_to_self(async { 41 + 1 }, Frontend::Piped);
            let p = p.clone();
            Behaviors::receive_message(move |m| {
                p.tell(match m {
                    Frontend::Reply(s) => format!("reply {s}"),
                    Frontend::Asked(r) => format!("asked {r:?}"),
                    Frontend::Piped(n) => format!("piped {n}"),
                });
                Behaviors::same()
            })
        }),
        None,
    )
    .await;
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(probe.expect_message(T).await);
    }
    got.sort();
    assert_eq!(
        got,
        vec!["asked Ok(\"ASKED\")", "piped 42", "reply ADAPTED"]
    );
    shutdown(&sys).await;
}

#[tokio::test]
async fn bounded_mailbox_overflows_to_dead_letters() {
    let sys = system("Bounded");
    let dl = dead_letters(&sys).await;
    let (probe, p) = probe::<u32>();
    let r = in_guardian(&sys, move |ctx| {
        let r = ctx.spawn_with_props(
            forwarder(p),
            "bounded",
            Props::default().with_mailbox(MailboxSelector::bounded(2)),
        );
        // Fill the mailbox while this (the parent) handler runs on the only thread.
        for i in 0..5 {
            r.tell(i);
        }
        r
    })
    .await;
    assert_eq!(probe.expect_message(T).await, 0);
    assert_eq!(probe.expect_message(T).await, 1);
    for _ in 0..3 {
        assert_eq!(dl.expect_message(T).await.recipient, r.path());
    }
    shutdown(&sys).await;
}

/// On a current-thread runtime every default-dispatcher actor runs on the test's thread; an
/// actor on the blocking dispatcher runs on another thread.
async fn runs_off_the_test_thread(
    sys: &ActorSystem<Spawn>,
    selector: rekko_actor::DispatcherSelector,
) -> bool {
    let (probe, p) = probe::<std::thread::ThreadId>();
    let r = in_guardian(sys, move |ctx| {
        ctx.spawn_with_props(
            Behaviors::receive_message(move |_: ()| {
                p.tell(std::thread::current().id());
                Behaviors::same()
            }),
            "io",
            Props::default().with_dispatcher(selector),
        )
    })
    .await;
    r.tell(());
    probe.expect_message(T).await != std::thread::current().id()
}

#[tokio::test]
async fn blocking_dispatcher_runs_actors_on_the_blocking_pool() {
    let sys = system("Blocking");
    assert!(runs_off_the_test_thread(&sys, rekko_actor::DispatcherSelector::blocking()).await);
    shutdown(&sys).await;
}

#[tokio::test]
async fn system_from_config_applies_application_overrides() {
    let app = hocon_config::Config::parse_string(
        r#"
        pekko.coordinated-shutdown.run-by-jvm-shutdown-hook = off
        pekko.actor.default-dispatcher.throughput = 1
        io-dispatcher {
          type = Dispatcher
          executor = "thread-pool-executor"
        }
        "#,
    )
    .expect("valid HOCON");
    let sys = ActorSystem::from_config(spawner(), "FromConfig", &app).expect("system");
    assert_eq!(sys.settings().actor.default_dispatcher.throughput, 1);
    assert!(!sys.settings().coordinated_shutdown.run_by_jvm_shutdown_hook);
    assert!(
        runs_off_the_test_thread(
            &sys,
            rekko_actor::DispatcherSelector::from_config("io-dispatcher")
        )
        .await
    );
    shutdown(&sys).await;
}

#[tokio::test]
async fn receptionist_register_find_subscribe() {
    use rekko_actor::{Listing, Receptionist, ServiceKey};
    let sys = system("Recep");
    let key = ServiceKey::<u32>::new("svc");
    let listings = TestProbe::<Listing<u32>>::new("l");
    let sub = spawn(&sys, forwarder(listings.ref_()), None).await;
    sys.receptionist().tell(Receptionist::subscribe(&key, sub));
    assert!(listings.expect_message(T).await.services.is_empty());
    let svc = spawn(
        &sys,
        Behaviors::receive_message(|_: u32| Behaviors::stopped()),
        Some("svc"),
    )
    .await;
    sys.receptionist()
        .tell(Receptionist::register(&key, svc.clone()));
    let l = listings.expect_message(T).await;
    assert_eq!(l.services, vec![svc.clone()]);
    let found = TestProbe::<Listing<u32>>::new("f");
    let finder = spawn(&sys, forwarder(found.ref_()), None).await;
    sys.receptionist().tell(Receptionist::find(&key, finder));
    assert_eq!(found.expect_message(T).await.services, vec![svc.clone()]);
    svc.tell(1);
    // Termination removes the registration.
    assert!(listings.expect_message(T).await.services.is_empty());
    shutdown(&sys).await;
}

#[tokio::test]
async fn coordinated_shutdown_runs_phases_in_order_then_terminates() {
    let sys = system("Cs");
    let order = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let cs = sys.coordinated_shutdown();
    for phase in [
        "service-stop",
        "before-service-unbind",
        "before-actor-system-terminate",
    ] {
        let o = order.clone();
        cs.add_task(phase, "t", move || async move { o.lock().push(phase) })
            .expect("known phase");
    }
    assert!(cs.add_task("no-such-phase", "t", || async {}).is_err());
    cs.run(rekko_actor::Reason::Unknown).await;
    sys.when_terminated().await;
    assert_eq!(
        *order.lock(),
        vec![
            "before-service-unbind",
            "service-stop",
            "before-actor-system-terminate"
        ]
    );
    assert_eq!(cs.shutdown_reason(), Some(rekko_actor::Reason::Unknown));
}

#[tokio::test]
async fn guardian_stopping_terminates_the_system() {
    let sys = stop_on_message_system("G");
    sys.tell(());
    sys.when_terminated().await;
    assert!(sys.is_terminated());
}

#[test]
fn system_without_a_runtime_starts_its_own() {
    let sys = stop_on_message_system("Own");
    sys.tell(());
    let h = sys.runtime().clone();
    h.block_on(sys.when_terminated());
}

#[tokio::test]
async fn unstashed_messages_come_before_messages_already_taken_from_the_mailbox() {
    let sys = system("Stash2");
    let (probe, p) = probe::<String>();
    let r = spawn(&sys, stash_until_loaded(10, p), None).await;
    // All sent before the actor runs, so they are handled in one turn.
    r.tell(Db::Save(1));
    r.tell(Db::Save(2));
    r.tell(Db::Loaded);
    r.tell(Db::Save(3));
    r.tell(Db::Save(4));
    for i in 1..=4 {
        assert_eq!(probe.expect_message(T).await, format!("Save({i})"));
    }
    shutdown(&sys).await;
}

#[tokio::test]
async fn when_terminated_completes_even_if_awaited_after_termination() {
    let sys = stop_on_message_system("Late");
    let probe = TestProbe::<()>::new("p");
    let p = probe.ref_();
    sys.coordinated_shutdown()
        .add_task("before-actor-system-terminate", "mark", move || {
            p.tell(());
            async {}
        })
        .expect("phase exists");
    sys.terminate();
    probe.expect_message(T).await;
    // Poll until terminated without holding a `when_terminated` future meanwhile.
    while !sys.is_terminated() {
        tokio::task::yield_now().await;
    }
    sys.when_terminated().await;
}

#[tokio::test]
async fn a_failing_message_adapter_fails_the_adapting_actor_not_the_sender() {
    let sys = system("AdaptFail");
    let (probe, p) = probe::<String>();
    spawn(
        &sys,
        Behaviors::setup(move |ctx: &mut rekko_actor::ActorContext<()>| {
            let p1 = p.clone();
            let adapting = ctx.spawn(
                Behaviors::setup(move |ctx: &mut rekko_actor::ActorContext<u32>| {
                    let adapter = ctx.message_adapter(|s: &'static str| -> u32 {
                        s.parse().unwrap_or_else(|_| panic!("not a number: {s}"))
                    });
                    p1.tell("adapter ready".into());
                    adapter.tell("x");
                    Behaviors::receive_message(|_: u32| Behaviors::same())
                }),
                "adapting",
            );
            ctx.watch(&adapting);
            let p = p.clone();
            Behaviors::receive_signal(move |_, s| {
                if let Signal::ChildFailed(cf) = s {
                    p.tell(format!("{} failed: {}", cf.actor.name(), cf.cause));
                }
                Behaviors::same()
            })
        }),
        Some("parent"),
    )
    .await;
    assert_eq!(probe.expect_message(T).await, "adapter ready");
    assert_eq!(
        probe.expect_message(T).await,
        "adapting failed: not a number: x"
    );
    shutdown(&sys).await;
}

/// Two actors get three messages each, sent together from outside, on the test's single thread;
/// each message takes `work` to handle. Returns the order in which the actors handled them.
async fn turn_order(dispatcher: &str, work: Duration) -> String {
    let app = hocon_config::Config::parse_string(&format!(
        "pekko.coordinated-shutdown.run-by-jvm-shutdown-hook = off\n\
         pekko.actor.default-dispatcher {{ {dispatcher} }}"
    ))
    .expect("valid HOCON");
    let sys = ActorSystem::from_config(spawner(), "Turns", &app).expect("system");
    let log = Arc::new(parking_lot::Mutex::new(String::new()));
    let done = TestProbe::<()>::new("done");
    let actor = |name: char| {
        let (log, done) = (log.clone(), done.ref_());
        Behaviors::receive_message(move |last: bool| {
            let start = std::time::Instant::now();
            while start.elapsed() < work {
                std::hint::spin_loop();
            }
            log.lock().push(name);
            if last {
                done.tell(());
            }
            Behaviors::same()
        })
    };
    let a = spawn(&sys, actor('a'), Some("a")).await;
    let b = spawn(&sys, actor('b'), Some("b")).await;
    for r in [&a, &b] {
        for i in 0..3 {
            r.tell(i == 2);
        }
    }
    done.expect_message(T).await;
    done.expect_message(T).await;
    shutdown(&sys).await;
    let order = log.lock().clone();
    order
}

#[tokio::test]
async fn throughput_bounds_the_messages_per_turn() {
    // Everything runs on this test's thread: an actor gives the thread up after `throughput`
    // messages while the other one waits.
    assert_eq!(turn_order("throughput = 2", Duration::ZERO).await, "aabbab");
    assert_eq!(
        turn_order("throughput = 100", Duration::ZERO).await,
        "aaabbb"
    );
}

#[tokio::test]
async fn throughput_deadline_time_ends_a_turn_early() {
    // Each message takes 2ms, longer than the 1ms deadline: every turn ends after one message
    // although throughput would allow 100.
    let d = "throughput = 100\nthroughput-deadline-time = 1ms";
    assert_eq!(turn_order(d, Duration::from_millis(2)).await, "ababab");
    // Pekko ignores deadlines below one millisecond.
    let d = "throughput = 100\nthroughput-deadline-time = 1us";
    assert_eq!(turn_order(d, Duration::from_millis(2)).await, "aaabbb");
}

/// Many threads send to a bounded actor at once: every message is either handled or a dead
/// letter. (That the queue never holds more than its capacity is checked by the mailbox's own
/// stress test.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounded_mailbox_with_concurrent_senders_loses_nothing() {
    const SENDERS: u64 = 8;
    const PER: u64 = 2_000;
    let sys = system("BoundedRace");
    let delivered = Arc::new(AtomicUsize::new(0));
    let all_accounted = TestProbe::<u64>::new("all");
    let (counted, all) = (delivered.clone(), all_accounted.ref_());
    let r = in_guardian(&sys, move |ctx| {
        let counter = Behaviors::receive(move |ctx, _: u64| {
            let n = counted.fetch_add(1, Ordering::AcqRel) as u64 + 1;
            let dead = ctx.system().dead_letter_count();
            if n + dead == SENDERS * PER {
                all.tell(dead);
            }
            Behaviors::same()
        });
        let props = Props::default().with_mailbox(MailboxSelector::bounded(8));
        ctx.spawn_with_props(counter, "counter", props)
    })
    .await;
    let senders: Vec<_> = (0..SENDERS)
        .map(|s| {
            let r = r.clone();
            std::thread::spawn(move || {
                for i in 0..PER {
                    r.tell(s * PER + i);
                }
            })
        })
        .collect();
    for s in senders {
        let _ = s.join();
    }
    // Every rejection is counted now that the senders are done. Either everything is accounted
    // for already, or messages are still queued and the last one handled reports it.
    let handled = delivered.load(Ordering::Acquire) as u64;
    if handled + sys.dead_letter_count() != SENDERS * PER {
        let dead = all_accounted.expect_message(T).await;
        assert_eq!(
            delivered.load(Ordering::Acquire) as u64 + dead,
            SENDERS * PER
        );
    }
    shutdown(&sys).await;
}
