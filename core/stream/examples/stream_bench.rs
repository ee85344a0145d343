//! Runs the benchmark pipelines with warm-up and timed rounds and prints one line per
//! pipeline: `RESULT <name> <elements> <best_ms> <elements_per_sec>` (best of the timed
//! rounds: the least disturbed by other load on the machine). The JVM
//! counterpart is `org.rekko.fixtures.StreamBench`; `bench/stream/run.sh` runs both.
//!
//! Usage: `cargo run --release -p rekko-stream --example stream_bench [n1 n2 n3]`

use std::time::Instant;

use rekko_stream::bench_pipelines::{group_by_64, map_async_8, map_filter_fold};

const WARMUP: usize = 3;
const ROUNDS: usize = 5;

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = [
        args.first().copied().unwrap_or(10_000_000),
        args.get(1).copied().unwrap_or(2_000_000),
        args.get(2).copied().unwrap_or(2_000_000),
    ];
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the tokio runtime: {e}");
            std::process::exit(1);
        }
    };
    type Pipeline = fn(
        u64,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<u64, rekko_stream::StreamError>> + Send>,
    >;
    let pipelines: [(&str, u64, Pipeline); 3] = [
        ("map_filter_fold", sizes[0], |n| {
            Box::pin(map_filter_fold(n))
        }),
        ("map_async_8", sizes[1], |n| Box::pin(map_async_8(n))),
        ("group_by_64_merge", sizes[2], |n| Box::pin(group_by_64(n))),
    ];
    for (name, n, run) in pipelines {
        let mut times = Vec::with_capacity(ROUNDS);
        for round in 0..WARMUP + ROUNDS {
            let start = Instant::now();
            let r = rt.block_on(run(n));
            let elapsed = start.elapsed();
            if let Err(e) = r {
                eprintln!("{name} failed: {e}");
                std::process::exit(1);
            }
            if round >= WARMUP {
                times.push(elapsed.as_secs_f64());
            }
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        println!(
            "RESULT {name} {n} {:.1} {:.0}",
            median * 1000.0,
            n as f64 / median
        );
    }
}
