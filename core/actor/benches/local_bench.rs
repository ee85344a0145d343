//! Local benchmark: tell throughput (1 and 8 pairs), ping-pong round-trip latency, spawn+stop
//! of many actors, memory per idle actor. Prints `RESULT <name> <value>` lines; the same
//! scenarios run on Pekko in `org.rekko.fixtures.LocalBench` (see `bench/actor/run.sh`).
//!
//! Run: `cargo bench -p rekko-actor --bench local_bench -- [scenario ...]`
//! (scenarios: tell1 tell8 latency spawn memory; default all).

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rekko_actor::{
    AbstractBehavior, ActorContext, ActorRef, ActorSystem, ActorSystemSettings, Behavior, Behaviors,
};
use tokio::sync::oneshot;

type Done<T> = Arc<Mutex<Option<oneshot::Sender<T>>>>;

fn done<T>() -> (Done<T>, oneshot::Receiver<T>) {
    let (tx, rx) = oneshot::channel();
    (Arc::new(Mutex::new(Some(tx))), rx)
}

fn finish<T>(d: &Done<T>, v: T) {
    if let Some(tx) = d.lock().take() {
        let _ = tx.send(v);
    }
}

/// Messages of the bench guardian: set-up requests executed in the guardian's context.
type Job = Box<dyn FnOnce(&mut ActorContext<Guardian>) + Send>;
enum Guardian {
    Run(Job),
}

fn guardian() -> Behavior<Guardian> {
    Behaviors::receive(|ctx, Guardian::Run(job)| {
        job(ctx);
        Behaviors::same()
    })
}

fn settings() -> ActorSystemSettings {
    let mut s = ActorSystemSettings::default();
    s.coordinated_shutdown.run_by_jvm_shutdown_hook = false;
    s
}

// ---------------------------------------------------------------- tell throughput

enum PingMsg {
    Start(ActorRef<PongMsg>),
    Pong,
}
struct PongMsg;

struct Pinger {
    pong: Option<ActorRef<PongMsg>>,
    to_send: u64,
    to_recv: u64,
    inflight: u64,
    done: Done<()>,
}

impl AbstractBehavior<PingMsg> for Pinger {
    fn on_message(&mut self, _ctx: &mut ActorContext<PingMsg>, msg: PingMsg) -> Behavior<PingMsg> {
        match msg {
            PingMsg::Start(pong) => {
                for _ in 0..self.inflight.min(self.to_send) {
                    pong.tell(PongMsg);
                    self.to_send -= 1;
                }
                self.pong = Some(pong);
            }
            PingMsg::Pong => {
                self.to_recv -= 1;
                if self.to_send > 0 {
                    self.to_send -= 1;
                    if let Some(p) = &self.pong {
                        p.tell(PongMsg);
                    }
                }
                if self.to_recv == 0 {
                    finish(&self.done, ());
                }
            }
        }
        Behaviors::same()
    }
}

fn ponger(ping: ActorRef<PingMsg>) -> Behavior<PongMsg> {
    Behaviors::receive_message(move |_: PongMsg| {
        ping.tell(PingMsg::Pong);
        Behaviors::same()
    })
}

/// CPU time used by this process so far (all threads), from `/proc/self/stat` (Linux; 0 when
/// unavailable). Clock ticks are taken as 1/100 s, the Linux default.
fn cpu_secs() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let after = &s[s.rfind(')')? + 1..];
            let f: Vec<&str> = after.split_whitespace().collect();
            let utime: f64 = f.get(11)?.parse().ok()?;
            let stime: f64 = f.get(12)?.parse().ok()?;
            Some((utime + stime) / 100.0)
        })
        .unwrap_or(0.0)
}

/// Messages per second of wall time and per second of process CPU time.
async fn tell_throughput(pairs: usize, round_trips_per_pair: u64, inflight: u64) -> (f64, f64) {
    let sys = ActorSystem::new(guardian(), "Bench", settings()).expect("system");
    let mut waits = Vec::new();
    let mut starts = Vec::new();
    for _ in 0..pairs {
        let (d, rx) = done::<()>();
        waits.push(rx);
        let (stx, srx) = oneshot::channel();
        sys.tell(Guardian::Run(Box::new(move |ctx| {
            let ping = ctx.spawn_anonymous(
                Pinger {
                    pong: None,
                    to_send: round_trips_per_pair,
                    to_recv: round_trips_per_pair,
                    inflight,
                    done: d,
                }
                .into_behavior(),
            );
            let pong = ctx.spawn_anonymous(ponger(ping.clone()));
            let _ = stx.send((ping, pong));
        })));
        starts.push(srx.await.expect("spawned"));
    }
    let t0 = Instant::now();
    let cpu0 = cpu_secs();
    for (ping, pong) in &starts {
        ping.tell(PingMsg::Start(pong.clone()));
    }
    for w in waits {
        w.await.expect("done");
    }
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu_secs() - cpu0;
    sys.terminate();
    sys.when_terminated().await;
    // Each round trip is two messages.
    let msgs = (pairs as u64 * round_trips_per_pair * 2) as f64;
    (msgs / secs, if cpu > 0.0 { msgs / cpu } else { 0.0 })
}

// ---------------------------------------------------------------- latency

enum LatMsg {
    Start(ActorRef<PongMsg2>),
    Pong,
}
struct PongMsg2;

struct LatPinger {
    pong: Option<ActorRef<PongMsg2>>,
    remaining: u64,
    sent_at: Instant,
    samples: Vec<u64>,
    done: Done<Vec<u64>>,
}

impl AbstractBehavior<LatMsg> for LatPinger {
    fn on_message(&mut self, _ctx: &mut ActorContext<LatMsg>, msg: LatMsg) -> Behavior<LatMsg> {
        match msg {
            LatMsg::Start(p) => {
                self.sent_at = Instant::now();
                p.tell(PongMsg2);
                self.pong = Some(p);
            }
            LatMsg::Pong => {
                self.samples.push(self.sent_at.elapsed().as_nanos() as u64);
                self.remaining -= 1;
                if self.remaining == 0 {
                    finish(&self.done, std::mem::take(&mut self.samples));
                } else if let Some(p) = &self.pong {
                    self.sent_at = Instant::now();
                    p.tell(PongMsg2);
                }
            }
        }
        Behaviors::same()
    }
}

async fn latency(round_trips: u64) -> (f64, f64) {
    let sys = ActorSystem::new(guardian(), "Bench", settings()).expect("system");
    let (d, rx) = done::<Vec<u64>>();
    let (stx, srx) = oneshot::channel();
    sys.tell(Guardian::Run(Box::new(move |ctx| {
        let ping = ctx.spawn_anonymous(
            LatPinger {
                pong: None,
                remaining: round_trips,
                sent_at: Instant::now(),
                samples: Vec::with_capacity(round_trips as usize),
                done: d,
            }
            .into_behavior(),
        );
        let p2 = ping.clone();
        let pong = ctx.spawn_anonymous(Behaviors::receive_message(move |_: PongMsg2| {
            p2.tell(LatMsg::Pong);
            Behaviors::same()
        }));
        let _ = stx.send((ping, pong));
    })));
    let (ping, pong) = srx.await.expect("spawned");
    ping.tell(LatMsg::Start(pong));
    let mut samples = rx.await.expect("samples");
    // Drop the first 10% as warm-up.
    let warm = samples.len() / 10;
    samples.drain(..warm);
    samples.sort_unstable();
    let pct = |p: f64| {
        samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)] as f64 / 1000.0
    };
    let r = (pct(0.50), pct(0.99));
    sys.terminate();
    sys.when_terminated().await;
    r
}

// ---------------------------------------------------------------- spawn + stop

enum SpawnerMsg {
    Wave,
    ChildStarted,
    CheckEmpty,
}

struct Spawner {
    total: u64,
    spawned: u64,
    started_in_wave: u64,
    wave: u64,
    child: Behavior<()>,
    done: Done<()>,
}

impl AbstractBehavior<SpawnerMsg> for Spawner {
    fn on_message(
        &mut self,
        ctx: &mut ActorContext<SpawnerMsg>,
        msg: SpawnerMsg,
    ) -> Behavior<SpawnerMsg> {
        match msg {
            SpawnerMsg::Wave => {
                let n = self.wave.min(self.total - self.spawned);
                self.started_in_wave = 0;
                for _ in 0..n {
                    if let Some(b) = self.child.try_clone() {
                        ctx.spawn_anonymous(b);
                    }
                }
                self.spawned += n;
                self.wave = n;
            }
            SpawnerMsg::ChildStarted => {
                self.started_in_wave += 1;
                if self.started_in_wave == self.wave {
                    if self.spawned < self.total {
                        ctx.self_ref().tell(SpawnerMsg::Wave);
                    } else {
                        ctx.self_ref().tell(SpawnerMsg::CheckEmpty);
                    }
                }
            }
            SpawnerMsg::CheckEmpty => {
                if ctx.children().is_empty() {
                    finish(&self.done, ());
                } else {
                    ctx.self_ref().tell(SpawnerMsg::CheckEmpty);
                }
            }
        }
        Behaviors::same()
    }
}

async fn spawn_stop(total: u64) -> f64 {
    let sys = ActorSystem::new(guardian(), "Bench", settings()).expect("system");
    let (d, rx) = done::<()>();
    let t0 = Instant::now();
    sys.tell(Guardian::Run(Box::new(move |ctx| {
        let parent = ctx.spawn(
            Behaviors::setup(move |ctx: &mut ActorContext<SpawnerMsg>| {
                let me = ctx.self_ref();
                let child = Behaviors::setup(move |_| {
                    me.tell(SpawnerMsg::ChildStarted);
                    Behaviors::stopped()
                });
                Spawner {
                    total,
                    spawned: 0,
                    started_in_wave: 0,
                    wave: 10_000,
                    child,
                    done: d.clone(),
                }
                .into_behavior()
            }),
            "spawner",
        );
        parent.tell(SpawnerMsg::Wave);
    })));
    rx.await.expect("done");
    let secs = t0.elapsed().as_secs_f64();
    sys.terminate();
    sys.when_terminated().await;
    total as f64 / secs
}

// ---------------------------------------------------------------- memory

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map(|pages| pages * 4096)
        .unwrap_or(0)
}

async fn memory(total: u64) -> f64 {
    let sys = ActorSystem::new(guardian(), "Bench", settings()).expect("system");
    let idle: Behavior<u64> = Behaviors::receive_message(|_| Behaviors::same());
    // Warm up allocator and runtime.
    let (tx, rx) = oneshot::channel();
    sys.tell(Guardian::Run(Box::new(move |_| {
        let _ = tx.send(());
    })));
    rx.await.expect("warm");
    let before = rss_bytes();
    let (tx, rx) = oneshot::channel();
    let idle2 = idle.try_clone().expect("clonable");
    sys.tell(Guardian::Run(Box::new(move |ctx| {
        let mut keep = Vec::with_capacity(0);
        for _ in 0..total {
            if let Some(b) = idle2.try_clone() {
                ctx.spawn_anonymous(b);
            }
        }
        keep.push(());
        let _ = tx.send(());
    })));
    rx.await.expect("spawned");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = rss_bytes();
    let per = (after.saturating_sub(before)) as f64 / total as f64;
    sys.terminate();
    sys.when_terminated().await;
    per
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let want = |s: &str| args.is_empty() || args.iter().any(|a| a == s);
    let scale: f64 = std::env::var("BENCH_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1.0);
    let n = |base: u64| ((base as f64 * scale) as u64).max(1);
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        if want("tell1") {
            let _ = tell_throughput(1, n(200_000), 100).await;
            let (r, c) = tell_throughput(1, n(2_000_000), 100).await;
            println!("RESULT tell_1_pair_msgs_per_s {r:.0}");
            println!("RESULT tell_1_pair_msgs_per_cpu_s {c:.0}");
        }
        if want("tell8") {
            let _ = tell_throughput(8, n(50_000), 100).await;
            let (r, c) = tell_throughput(8, n(500_000), 100).await;
            println!("RESULT tell_8_pairs_msgs_per_s {r:.0}");
            println!("RESULT tell_8_pairs_msgs_per_cpu_s {c:.0}");
        }
        if want("latency") {
            // Warm-up run, as the JVM side does.
            let _ = latency(n(50_000)).await;
            let (p50, p99) = latency(n(200_000)).await;
            println!("RESULT pingpong_p50_us {p50:.2}");
            println!("RESULT pingpong_p99_us {p99:.2}");
        }
        if want("spawn") {
            let _ = spawn_stop(n(100_000)).await;
            let r = spawn_stop(n(1_000_000)).await;
            println!("RESULT spawn_stop_actors_per_s {r:.0}");
        }
        if want("memory") {
            let r = memory(n(1_000_000)).await;
            println!("RESULT bytes_per_idle_actor {r:.1}");
        }
    });
}
