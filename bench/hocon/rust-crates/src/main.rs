//! `hocon-bench-rust-crates PEKKO_REFERENCE_DIR [WARMUP_S] [MEASURE_S]`: prints
//! `<crate> <load> <mean microseconds> <iterations> <mean CPU microseconds>` lines, or
//! `<crate> <load> FAILED <error>`. CPU time is the process's user+system time (one thread
//! here), read from `/proc/self/stat` on Linux in 10 ms ticks; elsewhere it is `nan`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// User+system CPU time of this process in nanoseconds (`utime` and `stime` of
/// `/proc/self/stat`, in ticks of 1/100 s).
fn cpu_nanos() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = &s[s.rfind(')')? + 1..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks * 10_000_000)
}

fn measure<T, E: std::fmt::Display>(name: &str, load: &str, warm: f64, meas: f64, mut f: impl FnMut() -> Result<T, E>) {
    if let Err(e) = f() {
        println!("{} {} FAILED {}", name, load, e.to_string().replace('\n', " "));
        return;
    }
    let end = Instant::now() + Duration::from_secs_f64(warm);
    while Instant::now() < end {
        let _ = std::hint::black_box(f());
    }
    let start = Instant::now();
    let cpu_start = cpu_nanos();
    let mut n = 0u64;
    loop {
        let _ = std::hint::black_box(f());
        n += 1;
        if start.elapsed().as_secs_f64() >= meas {
            break;
        }
    }
    let wall = start.elapsed().as_secs_f64() * 1e6 / n as f64;
    let cpu = match (cpu_start, cpu_nanos()) {
        (Some(a), Some(b)) => format!("{:.1}", (b - a) as f64 / 1e3 / n as f64),
        _ => "nan".to_string(),
    };
    println!("{} {} {:.1} {} {}", name, load, wall, n, cpu);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = PathBuf::from(args.first().expect("usage: PEKKO_REFERENCE_DIR [WARMUP_S] [MEASURE_S]"));
    let warm: f64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let meas: f64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5.0);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read dir")
        .flatten()
        .map(|e| e.path().join("reference.conf"))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let actor = dir.join("actor/reference.conf");

    let hc_actor = |p: &Path| hocon_config::Config::parse_file(p).and_then(|c| c.resolve_with_options(hocon_config::ResolveOptions::no_system()));
    measure("hocon-config", "actor-reference", warm, meas, || hc_actor(&actor));
    measure("hocon-config", "all-pekko-references-merged", warm, meas, || {
        let mut cfg = hocon_config::Config::parse_string("user.dir = \"/app\"")?;
        for f in &files {
            cfg = cfg.with_fallback(&hocon_config::Config::parse_file(f)?);
        }
        cfg.resolve_with_options(hocon_config::ResolveOptions::no_system())
    });

    measure("hocon", "actor-reference", warm, meas, || hocon::HoconLoader::new().load_file(&actor).and_then(|l| l.hocon()));
    measure("hocon", "all-pekko-references-merged", warm, meas, || {
        // the `hocon` crate gives later loads precedence, so load in reverse fallback order
        let mut l = hocon::HoconLoader::new().load_str("user.dir = \"/app\"")?;
        for f in files.iter().rev() {
            l = l.load_file(f)?;
        }
        l = l.load_str("user.dir = \"/app\"")?;
        l.hocon()
    });
}
