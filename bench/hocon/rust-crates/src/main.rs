//! `hocon-bench-rust-crates PEKKO_REFERENCE_DIR [WARMUP_S] [MEASURE_S]`: prints
//! `<crate> <load> <mean microseconds> <iterations>` lines, or `<crate> <load> FAILED <error>`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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
    let mut n = 0u64;
    loop {
        let _ = std::hint::black_box(f());
        n += 1;
        if start.elapsed().as_secs_f64() >= meas {
            break;
        }
    }
    println!("{} {} {:.1} {}", name, load, start.elapsed().as_secs_f64() * 1e6 / n as f64, n);
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
