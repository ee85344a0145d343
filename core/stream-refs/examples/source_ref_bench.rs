//! Throughput of a SourceRef of Strings across nodes: a JVM `StreamRefNode`
//! offering `n` elements consumed by Rekko, and a Rekko node offering `n`
//! elements to another Rekko node (both over Artery TCP on localhost).
//!
//! Usage: `source_ref_bench <fixtures jar> [n]`; prints
//! `RESULT <case> <n> <seconds> <elements/s>` lines.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rekko_remote::{RemoteNode, RemoteSettings, SerializedMessage};
use rekko_stream::prelude::*;
use rekko_stream_refs::{StreamRefMessage, StreamRefSettings, StreamRefs};

fn count() -> Sink<SerializedMessage, rekko_stream::StreamFuture<u64>> {
    Sink::fold(0u64, |n, _| n + 1)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let jar = args
        .next()
        .ok_or("usage: source_ref_bench <fixtures jar> [n]")?;
    let n: u64 = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);

    let mut jvm = Command::new("java")
        .args([
            "-cp",
            &jar,
            "org.rekko.fixtures.StreamRefNode",
            "--system",
            "BenchJvm",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut lines = BufReader::new(jvm.stdout.take().ok_or("no stdout")?).lines();
    let address = loop {
        let line = lines.next().ok_or("fixture exited")??;
        if let Some(a) = line.strip_prefix("READY ") {
            break a.to_string();
        }
    };

    let a = RemoteNode::start(RemoteSettings::new("BenchA", "127.0.0.1", 0)).await?;
    let b = RemoteNode::start(RemoteSettings::new("BenchB", "127.0.0.1", 0)).await?;
    let refs_a = StreamRefs::new(a.clone(), StreamRefSettings::default());
    let refs_b = StreamRefs::new(b.clone(), StreamRefSettings::default());

    for round in 0..3 {
        let reply = a
            .ask(
                &format!("{address}/user/refs"),
                SerializedMessage::string(&format!("source {n}")),
                Duration::from_secs(30),
            )
            .await?;
        let StreamRefMessage::SourceRef(r) = StreamRefMessage::from_serialized(&reply.message)?
        else {
            return Err("expected a SourceRef".into());
        };
        let start = Instant::now();
        let got = refs_a.source(&r).run_with(count()).await?;
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(got, n);
        println!(
            "RESULT jvm->rekko#{round} {n} {secs:.3} {:.0}",
            n as f64 / secs
        );

        let elements = Source::iter((0..n).map(|i| SerializedMessage::string(&i.to_string())));
        let (r, _done) = elements.run_with(refs_b.source_ref());
        let start = Instant::now();
        let got = refs_a.source(&r).run_with(count()).await?;
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(got, n);
        println!(
            "RESULT rekko->rekko#{round} {n} {secs:.3} {:.0}",
            n as f64 / secs
        );
    }

    if let Some(stdin) = jvm.stdin.as_mut() {
        let _ = writeln!(stdin, "quit");
    }
    let _ = jvm.wait();
    a.shutdown().await;
    b.shutdown().await;
    Ok(())
}
