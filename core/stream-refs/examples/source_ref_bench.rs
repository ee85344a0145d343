//! SourceRef throughput across nodes next to the transport's own rate for the
//! same elements, for all four pairings of Rekko and JVM Pekko nodes (over
//! Artery TCP on localhost):
//!
//! * `sourceref <pair>`: a `SourceRef` of the Strings `"0".."n-1"` offered by
//!   the first node and counted by the second (JVM side: `StreamRefNode`);
//! * `tell <pair>`: the same Strings told by the first node to a counting
//!   actor on the second in windows of 1000, each closed by a `barrier` ask
//!   (the transport limit the SourceRef is measured against);
//! * `window <pair>`: the same Strings told by the first node to a windowed
//!   counter on the second, never more than the stream refs' `buffer-capacity`
//!   of them unacknowledged, the counter acknowledging every half of it (the
//!   SourceRef's own flow control: a receiver asks for more once half its
//!   buffer is consumed). This is the transport under the flow-control window
//!   every SourceRef implementation must keep, so the upper bound for it.
//!
//! Two JVM `StreamRefNode`s (one offering, one consuming) and two Rekko nodes
//! run side by side. Usage: `source_ref_bench <fixtures jar> [n] [rounds]`
//! (defaults 200000 and 3); the env var `BUFFER` sets the stream refs'
//! `buffer-capacity` on all nodes (default: Pekko's 32) and `ONLY` runs only
//! the cases whose `<kind> <pair>` contains it. Prints
//! `RESULT <kind> <pair> <n> <seconds> <elements/s> <cpu µs/element>` per case
//! and round, the last figure being this process's CPU time (all threads, so
//! both Rekko nodes, and only the Rekko side of a mixed pair) per element, a
//! figure that moves less than the rate when other processes load the host.

use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rekko_remote::{Delivery, RemoteNode, RemoteSettings, SerializedMessage};
use rekko_stream::prelude::*;
use rekko_stream_refs::{StreamRefMessage, StreamRefSettings, StreamRefs};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

type BoxError = Box<dyn std::error::Error>;

const WINDOW: u64 = 1000;
const TIMEOUT: Duration = Duration::from_secs(60);

/// A `StreamRefNode` JVM driven over its stdin/stdout line protocol.
struct Jvm {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    address: String,
}

impl Jvm {
    async fn start(jar: &str, system: &str, buffer: Option<usize>) -> Result<Jvm, BoxError> {
        let mut cmd = Command::new("java");
        if let Some(b) = buffer {
            cmd.arg(format!(
                "-Dpekko.stream.materializer.stream-ref.buffer-capacity={b}"
            ));
        }
        let mut child = cmd
            .args([
                "-cp",
                jar,
                "org.rekko.fixtures.StreamRefNode",
                "--system",
                system,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
        let address = loop {
            let line = lines.next_line().await?.ok_or("fixture exited")?;
            if let Some(a) = line.strip_prefix("READY ") {
                break a.to_string();
            }
        };
        Ok(Jvm {
            child,
            stdin,
            lines,
            address,
        })
    }

    async fn request(&mut self, line: &str) -> Result<String, BoxError> {
        self.stdin.write_all(format!("{line}\n").as_bytes()).await?;
        self.stdin.flush().await?;
        Ok(self.lines.next_line().await?.ok_or("fixture exited")?)
    }

    /// Runs a `bench-*` command; returns the seconds it took.
    async fn bench(&mut self, line: &str, n: u64) -> Result<f64, BoxError> {
        let answer = self.request(line).await?;
        let mut parts = answer.split(' ');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("BENCH"), Some(count), Some(secs)) if count == n.to_string() => Ok(secs.parse()?),
            _ => Err(format!("{line}: {answer}").into()),
        }
    }

    async fn quit(mut self) {
        let _ = self.request("quit").await;
        let _ = self.child.wait().await;
    }
}

fn numbers(n: u64) -> Source<SerializedMessage, ()> {
    Source::iter((0..n).map(|i| SerializedMessage::string(&i.to_string())))
}

/// `/user/refs`: answers `"source <n>"` with a SourceRef of `n` numbers.
fn register_refs(node: &RemoteNode, refs: &StreamRefs) {
    let me = format!("{}/user/refs", node.address());
    let refs = refs.clone();
    node.register(
        "/user/refs",
        Arc::new(move |node: &RemoteNode, d: Delivery| {
            let n = d
                .message
                .as_text()
                .and_then(|t| t.strip_prefix("source ").and_then(|n| n.parse().ok()));
            if let (Some(n), Some(sender)) = (n, d.sender) {
                let (r, _done) = numbers(n).run_with(refs.source_ref());
                let _ = node.tell(&sender, Some(&me), r.to_serialized());
            }
        }),
    );
}

/// `/user/count`: counts Strings, answers `"barrier"` with the count.
fn register_count(node: &RemoteNode) {
    let me = format!("{}/user/count", node.address());
    let count = Arc::new(AtomicU64::new(0));
    node.register(
        "/user/count",
        Arc::new(
            move |node: &RemoteNode, d: Delivery| match d.message.as_text() {
                Some(t) if t == "barrier" => {
                    if let Some(sender) = d.sender {
                        let total = count.load(Ordering::Relaxed).to_string();
                        let _ = node.tell(&sender, Some(&me), SerializedMessage::string(&total));
                    }
                }
                Some(_) => {
                    count.fetch_add(1, Ordering::Relaxed);
                }
                None => {}
            },
        ),
    );
}

/// `/user/wcount`: the windowed counter. `"start <half>"` resets the count
/// and is answered `"ack 0"`; every `half` Strings it tells their sender
/// `"ack <count>"`; `"barrier"` is answered with `"ack <count>"` too.
fn register_window_count(node: &RemoteNode) {
    let me = format!("{}/user/wcount", node.address());
    let state = Arc::new(parking_lot::Mutex::new((0u64, 1u64)));
    node.register(
        "/user/wcount",
        Arc::new(move |node: &RemoteNode, d: Delivery| {
            let Some(t) = d.message.as_text() else {
                return;
            };
            let mut st = state.lock();
            let ack = if let Some(h) = t.strip_prefix("start ") {
                *st = (0, h.trim().parse::<u64>().unwrap_or(1).max(1));
                true
            } else if t == "barrier" {
                true
            } else {
                st.0 += 1;
                st.0 % st.1 == 0
            };
            if let (true, Some(sender)) = (ack, d.sender.as_deref()) {
                let reply = SerializedMessage::string(&format!("ack {}", st.0));
                let _ = node.tell(sender, Some(&me), reply);
            }
        }),
    );
}

/// Tells `n` numbers to the windowed counter at `path`, never more than
/// `window` ahead of its acknowledgements.
async fn tell_window(node: &RemoteNode, path: &str, n: u64, window: u64) -> Result<f64, BoxError> {
    static TELLERS: AtomicU64 = AtomicU64::new(0);
    let local = format!("/user/wteller-{}", TELLERS.fetch_add(1, Ordering::Relaxed));
    let me = format!("{}{local}", node.address());
    let (tx, mut acks) = tokio::sync::mpsc::unbounded_channel();
    node.register(
        &local,
        Arc::new(move |_: &RemoteNode, d: Delivery| {
            let ack = d.message.as_text().and_then(|t| {
                t.strip_prefix("ack ")
                    .and_then(|a| a.trim().parse::<u64>().ok())
            });
            if let Some(a) = ack {
                let _ = tx.send(a);
            }
        }),
    );
    let start = Instant::now();
    let half = (window / 2).max(1);
    let result = async {
        node.tell(
            path,
            Some(&me),
            SerializedMessage::string(&format!("start {half}")),
        )?;
        let (mut sent, mut barrier) = (0u64, false);
        loop {
            let acked = tokio::time::timeout(TIMEOUT, acks.recv())
                .await?
                .ok_or("teller endpoint closed")?;
            if acked >= n {
                return Ok::<_, BoxError>(());
            }
            while sent < n && sent - acked < window {
                node.tell(
                    path,
                    Some(&me),
                    SerializedMessage::string(&sent.to_string()),
                )?;
                sent += 1;
            }
            if sent == n && !barrier {
                barrier = true;
                node.tell(path, Some(&me), SerializedMessage::string("barrier"))?;
            }
        }
    }
    .await;
    node.unregister(&local);
    result?;
    Ok(start.elapsed().as_secs_f64())
}

/// Consumes the SourceRef offered by `refs_path`; returns the seconds from
/// the ref's arrival to the stream's completion.
async fn consume(
    node: &RemoteNode,
    refs: &StreamRefs,
    refs_path: &str,
    n: u64,
) -> Result<f64, BoxError> {
    let reply = node
        .ask(
            refs_path,
            SerializedMessage::string(&format!("source {n}")),
            TIMEOUT,
        )
        .await?;
    let StreamRefMessage::SourceRef(r) = StreamRefMessage::from_serialized(&reply.message)? else {
        return Err("expected a SourceRef".into());
    };
    let start = Instant::now();
    let got = refs
        .source(&r)
        .run_with(Sink::fold(0u64, |n, _| n + 1))
        .await?;
    if got != n {
        return Err(format!("consumed {got} of {n} elements").into());
    }
    Ok(start.elapsed().as_secs_f64())
}

/// Tells `n` numbers to `path` in windows closed by a `barrier` ask.
async fn tell(node: &RemoteNode, path: &str, n: u64) -> Result<f64, BoxError> {
    let start = Instant::now();
    let mut i = 0;
    while i < n {
        let end = n.min(i + WINDOW);
        for k in i..end {
            node.tell(path, None, SerializedMessage::string(&k.to_string()))?;
        }
        i = end;
        node.ask(path, SerializedMessage::string("barrier"), TIMEOUT)
            .await?;
    }
    Ok(start.elapsed().as_secs_f64())
}

/// CPU time of this process (all threads) so far, from `/proc/self/stat`
/// (clock ticks of 1/100 s); 0 where that file is missing.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name: utime and stime are the
    // 12th and 13th of them.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let mut fields = rest.split_whitespace().skip(11);
    let mut tick = || {
        fields
            .next()
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (tick() + tick()) / 100.0
}

fn report(kind: &str, pair: &str, n: u64, secs: f64, cpu: f64) {
    println!(
        "RESULT {kind} {pair} {n} {secs:.3} {:.0} {:.2}",
        n as f64 / secs,
        cpu * 1e6 / n as f64
    );
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let jar = args
        .next()
        .ok_or("usage: source_ref_bench <fixtures jar> [n] [rounds]")?;
    let n: u64 = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(200_000);
    let rounds: u32 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(3);
    let buffer: Option<usize> = std::env::var("BUFFER")
        .ok()
        .map(|b| b.parse())
        .transpose()?;
    let window = buffer.unwrap_or(StreamRefSettings::default().buffer_capacity) as u64;
    let settings = match buffer {
        Some(b) => StreamRefSettings::default().with_buffer_capacity(b),
        None => StreamRefSettings::default(),
    };

    let jvm_offer = Jvm::start(&jar, "BenchJvmOffer", buffer).await?;
    let mut jvm_read = Jvm::start(&jar, "BenchJvmRead", buffer).await?;
    let reader = RemoteNode::start(RemoteSettings::new("BenchRekkoRead", "127.0.0.1", 0)).await?;
    let offerer = RemoteNode::start(RemoteSettings::new("BenchRekkoOffer", "127.0.0.1", 0)).await?;
    let reader_refs = StreamRefs::new(reader.clone(), settings.clone());
    let offer_refs = StreamRefs::new(offerer.clone(), settings);
    register_refs(&offerer, &offer_refs);
    register_count(&reader);
    register_window_count(&reader);

    let jvm_refs = format!("{}/user/refs", jvm_offer.address);
    let jvm_count = format!("{}/user/count", jvm_offer.address);
    let rekko_refs = format!("{}/user/refs", offerer.address());
    let rekko_count = format!("{}/user/count", reader.address());
    let jvm_wcount = format!("{}/user/wcount", jvm_offer.address);
    let rekko_wcount = format!("{}/user/wcount", reader.address());

    let only = std::env::var("ONLY").unwrap_or_default();
    let run = |kind: &str, pair: &str| format!("{kind} {pair}").contains(&only);
    for _ in 0..rounds {
        if run("sourceref", "jvm->jvm") {
            let cpu0 = cpu_secs();
            let s = jvm_read
                .bench(&format!("bench-source {jvm_refs} {n}"), n)
                .await?;
            report("sourceref", "jvm->jvm", n, s, cpu_secs() - cpu0);
        }
        if run("sourceref", "jvm->rekko") {
            let cpu0 = cpu_secs();
            let s = consume(&reader, &reader_refs, &jvm_refs, n).await?;
            report("sourceref", "jvm->rekko", n, s, cpu_secs() - cpu0);
        }
        if run("sourceref", "rekko->jvm") {
            let cpu0 = cpu_secs();
            let s = jvm_read
                .bench(&format!("bench-source {rekko_refs} {n}"), n)
                .await?;
            report("sourceref", "rekko->jvm", n, s, cpu_secs() - cpu0);
        }
        if run("sourceref", "rekko->rekko") {
            let cpu0 = cpu_secs();
            let s = consume(&reader, &reader_refs, &rekko_refs, n).await?;
            report("sourceref", "rekko->rekko", n, s, cpu_secs() - cpu0);
        }

        if run("tell", "jvm->jvm") {
            let cpu0 = cpu_secs();
            let s = jvm_read
                .bench(&format!("bench-tell {jvm_count} {n}"), n)
                .await?;
            report("tell", "jvm->jvm", n, s, cpu_secs() - cpu0);
        }
        if run("tell", "jvm->rekko") {
            let cpu0 = cpu_secs();
            let s = jvm_read
                .bench(&format!("bench-tell {rekko_count} {n}"), n)
                .await?;
            report("tell", "jvm->rekko", n, s, cpu_secs() - cpu0);
        }
        if run("tell", "rekko->jvm") {
            let cpu0 = cpu_secs();
            let s = tell(&offerer, &jvm_count, n).await?;
            report("tell", "rekko->jvm", n, s, cpu_secs() - cpu0);
        }
        if run("tell", "rekko->rekko") {
            let cpu0 = cpu_secs();
            let s = tell(&offerer, &rekko_count, n).await?;
            report("tell", "rekko->rekko", n, s, cpu_secs() - cpu0);
        }

        if run("window", "jvm->jvm") {
            let cpu0 = cpu_secs();
            let s = jvm_read
                .bench(&format!("bench-window {jvm_wcount} {n} {window}"), n)
                .await?;
            report("window", "jvm->jvm", n, s, cpu_secs() - cpu0);
        }
        if run("window", "jvm->rekko") {
            let cpu0 = cpu_secs();
            let s = jvm_read
                .bench(&format!("bench-window {rekko_wcount} {n} {window}"), n)
                .await?;
            report("window", "jvm->rekko", n, s, cpu_secs() - cpu0);
        }
        if run("window", "rekko->jvm") {
            let cpu0 = cpu_secs();
            let s = tell_window(&offerer, &jvm_wcount, n, window).await?;
            report("window", "rekko->jvm", n, s, cpu_secs() - cpu0);
        }
        if run("window", "rekko->rekko") {
            let cpu0 = cpu_secs();
            let s = tell_window(&offerer, &rekko_wcount, n, window).await?;
            report("window", "rekko->rekko", n, s, cpu_secs() - cpu0);
        }
    }

    jvm_offer.quit().await;
    jvm_read.quit().await;
    reader.shutdown().await;
    offerer.shutdown().await;
    Ok(())
}
