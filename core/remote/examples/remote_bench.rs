//! One side of the remoting benchmark (`bench/remote/run.sh`).
//!
//! * `remote_bench serve [SYSTEM]`: a receiver node with `/user/sink` (counts
//!   byte-array messages; answers the String `barrier` with the count so far)
//!   and `/user/echo`; prints `READY <address>` and runs until stdin closes.
//! * `remote_bench run ADDRESS MESSAGES ASKS`: a sender node; sends
//!   MESSAGES byte-array messages of 100 bytes to `ADDRESS/user/sink` in
//!   windows of 1000 followed by a `barrier` ask (so no queue overflows),
//!   then asks `ADDRESS/user/echo` ASKS times one after the other; a warm-up
//!   of a fifth of each comes first. Prints
//!   `RESULT <messages/s> <ask p50 µs> <ask p99 µs>`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rekko_remote::{ByteArray, RemoteMessage, RemoteNode, RemoteSettings, SerializedMessage};
use tokio::io::{AsyncBufReadExt, BufReader};

const WINDOW: u64 = 1000;
const TIMEOUT: Duration = Duration::from_secs(30);

type BoxError = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => serve(args.get(1).map_or("BenchRekko", String::as_str)).await,
        Some("run") if args.len() == 4 => run(&args[1], args[2].parse()?, args[3].parse()?).await,
        _ => Err("usage: remote_bench serve [SYSTEM] | run ADDRESS MESSAGES ASKS".into()),
    }
}

async fn serve(system: &str) -> Result<(), BoxError> {
    let node = RemoteNode::start(RemoteSettings::new(system, "127.0.0.1", 0)).await?;
    let count = Arc::new(AtomicU64::new(0));
    let me = format!("{}/user/sink", node.address());
    let c = count.clone();
    node.register(
        "/user/sink",
        Arc::new(move |n: &RemoteNode, d: rekko_remote::Delivery| {
            if d.message.serializer_id == ByteArray::SERIALIZER_ID {
                c.fetch_add(1, Ordering::Relaxed);
            } else if let Some(sender) = &d.sender {
                let total = c.load(Ordering::Relaxed).to_string();
                let _ = n.tell(sender, Some(&me), SerializedMessage::string(&total));
            }
        }),
    );
    node.register_echo("/user/echo");
    println!("READY {}", node.address());
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while lines.next_line().await?.is_some() {}
    node.shutdown().await;
    Ok(())
}

async fn run(address: &str, messages: u64, asks: usize) -> Result<(), BoxError> {
    let node = RemoteNode::start(RemoteSettings::new("BenchSender", "127.0.0.1", 0)).await?;
    let sink = format!("{address}/user/sink");
    let echo = format!("{address}/user/echo");
    let payload = ByteArray(vec![7u8; 100].into()).to_message()?;
    let barrier = SerializedMessage::string("barrier");

    send_windows(&node, &sink, &payload, &barrier, messages / 5).await?;
    let start = Instant::now();
    send_windows(&node, &sink, &payload, &barrier, messages).await?;
    let rate = messages as f64 / start.elapsed().as_secs_f64();

    for _ in 0..asks / 5 {
        node.ask(&echo, payload.clone(), TIMEOUT).await?;
    }
    let mut rtts = Vec::with_capacity(asks);
    for _ in 0..asks {
        let t = Instant::now();
        node.ask(&echo, payload.clone(), TIMEOUT).await?;
        rtts.push(t.elapsed().as_micros() as u64);
    }
    rtts.sort_unstable();
    let pct = |p: f64| rtts[((rtts.len() as f64 - 1.0) * p).round() as usize];
    println!("RESULT {:.0} {} {}", rate, pct(0.50), pct(0.99));
    node.shutdown().await;
    Ok(())
}

async fn send_windows(
    node: &RemoteNode,
    sink: &str,
    payload: &SerializedMessage,
    barrier: &SerializedMessage,
    messages: u64,
) -> Result<(), BoxError> {
    let mut sent = 0;
    while sent < messages {
        let n = WINDOW.min(messages - sent);
        for _ in 0..n {
            node.tell(sink, None, payload.clone())?;
        }
        sent += n;
        node.ask(sink, barrier.clone(), TIMEOUT).await?;
    }
    Ok(())
}
