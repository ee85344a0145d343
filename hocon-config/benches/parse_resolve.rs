//! Parse+resolve benchmarks on Pekko's reference.conf files (read from `../shared` at run time):
//! (a) the actor module's reference.conf, (b) all Pekko reference.conf files merged and resolved.

#![allow(missing_docs)] // criterion's macros generate undocumented items

use std::path::{Path, PathBuf};

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use hocon_config::{Config, ResolveOptions};

fn pekko_dir() -> Option<PathBuf> {
    let d =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/pekko-reference");
    if d.is_dir() {
        Some(d)
    } else {
        eprintln!("SKIPPED: {} not found", d.display());
        None
    }
}

fn modules(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read pekko-reference")
        .flatten()
        .map(|e| e.path().join("reference.conf"))
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

fn actor(dir: &Path) -> Config {
    Config::parse_file(dir.join("actor/reference.conf"))
        .and_then(|c| c.resolve_with_options(ResolveOptions::no_system()))
        .expect("actor reference resolves")
}

fn merged(files: &[PathBuf]) -> Config {
    let mut cfg = Config::parse_string("user.dir = \"/app\"").expect("seed");
    for f in files {
        cfg = cfg.with_fallback(&Config::parse_file(f).expect("parse"));
    }
    cfg.resolve_with_options(ResolveOptions::no_system())
        .expect("merged reference resolves")
}

fn bench(c: &mut Criterion) {
    let Some(dir) = pekko_dir() else { return };
    let files = modules(&dir);
    c.bench_function("parse_resolve/actor-reference", |b| {
        b.iter(|| black_box(actor(&dir)))
    });
    c.bench_function("parse_resolve/all-pekko-references-merged", |b| {
        b.iter(|| black_box(merged(&files)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
