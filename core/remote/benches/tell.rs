#![allow(missing_docs)] // criterion_group! generates undocumented functions
//! Per-message cost of `RemoteNode::tell` between two Rekko nodes on
//! 127.0.0.1: a batch of 100-byte `byte[]` messages to one path, timed until
//! the receiving endpoint counted the last one (send path, TCP, inbound
//! dispatch). Run with `cargo bench -p rekko-remote --bench tell`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rekko_remote::{ByteArray, Delivery, RemoteMessage, RemoteNode, RemoteSettings};
use tokio::sync::Notify;

/// Messages per timed batch (below the outbound queue size, so none is dropped).
const BATCH: u64 = 2000;

fn tell(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (a, _b, path, count, notify) = rt.block_on(async {
        let a = RemoteNode::start(RemoteSettings::new("BenchA", "127.0.0.1", 0))
            .await
            .expect("node a");
        let b = RemoteNode::start(RemoteSettings::new("BenchB", "127.0.0.1", 0))
            .await
            .expect("node b");
        let count = Arc::new(AtomicU64::new(0));
        let notify = Arc::new(Notify::new());
        let (c2, n2) = (count.clone(), notify.clone());
        b.register(
            "/user/sink",
            Arc::new(move |_: &RemoteNode, _: Delivery| {
                c2.fetch_add(1, Ordering::Relaxed);
                n2.notify_one();
            }),
        );
        let path = format!("{}/user/sink", b.address());
        (a, b, path, count, notify)
    });
    let payload = ByteArray(vec![7u8; 100].into())
        .to_message()
        .expect("payload");
    let batch = |a: &RemoteNode| {
        let target = count.load(Ordering::Relaxed) + BATCH;
        for _ in 0..BATCH {
            a.tell(&path, None, payload.clone()).expect("tell");
        }
        let (count, notify) = (count.clone(), notify.clone());
        async move {
            while count.load(Ordering::Relaxed) < target {
                notify.notified().await;
            }
        }
    };
    // Handshake and warm-up.
    rt.block_on(async { batch(&a).await });
    let mut group = c.benchmark_group("rekko-remote");
    group.throughput(Throughput::Elements(BATCH));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("tell 100B byte[] to one path (batch of 2000)", |bch| {
        bch.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    batch(&a).await;
                    total += start.elapsed();
                }
                total
            })
        })
    });
    group.finish();
}

criterion_group!(benches, tell);
criterion_main!(benches);
