#![allow(missing_docs)] // criterion_group! generates undocumented functions
//! Criterion benches of the three stream pipelines compared with Pekko Streams
//! (`bench/stream/run.sh` prints the side-by-side table).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rekko_stream::bench_pipelines::{group_by_64, map_async_8, map_filter_fold};

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut g = c.benchmark_group("stream");
    g.sample_size(10);
    let n = 1_000_000u64;
    g.throughput(Throughput::Elements(n));
    g.bench_function("map_filter_fold_1M", |b| {
        b.iter(|| rt.block_on(map_filter_fold(n)).expect("pipeline"))
    });
    g.bench_function("map_async_8_1M", |b| {
        b.iter(|| rt.block_on(map_async_8(n)).expect("pipeline"))
    });
    g.bench_function("group_by_64_1M", |b| {
        b.iter(|| rt.block_on(group_by_64(n)).expect("pipeline"))
    });
    g.finish();
}

criterion_group!(stream, benches);
criterion_main!(stream);
