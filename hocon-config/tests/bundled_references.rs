//! Every bundled `reference.conf` in the workspace restates Pekko's defaults: each setting in it
//! must equal Pekko's value (settings under `rekko.` are Rekko's own and skipped).

mod common;

use std::path::{Path, PathBuf};

fn find_reference_files(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    if depth > 4 {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_dir() {
            if name.starts_with('.')
                || name == "target"
                || name == "jvm-fixtures"
                || name == "fuzz"
                || name == "tests"
            {
                continue;
            }
            find_reference_files(&p, depth + 1, out);
        } else if name == "reference.conf" {
            out.push(p);
        }
    }
}

#[test]
fn bundled_reference_files_match_pekko() {
    let Some(dir) = common::conformance_dir() else {
        return;
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    find_reference_files(&root, 0, &mut files);
    files.sort();
    let mut failures = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read bundled reference.conf");
        match hocon_config::testing::check_against_pekko_reference(
            &text,
            &dir.join("pekko-reference"),
        ) {
            Ok(n) => eprintln!("{}: {} settings match Pekko", f.display(), n),
            Err(m) => failures.push(format!("{}: {:?}", f.display(), m)),
        }
    }
    eprintln!("{} bundled reference.conf files checked", files.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn checker_detects_wrong_default() {
    let Some(dir) = common::conformance_dir() else {
        return;
    };
    let pekko = dir.join("pekko-reference");
    let good = "pekko.actor.default-dispatcher.throughput = 5\npekko.loglevel = INFO\nrekko.own-setting = 1";
    assert_eq!(
        hocon_config::testing::check_against_pekko_reference(good, &pekko),
        Ok(2)
    );
    let bad = "pekko.actor.default-dispatcher.throughput = 6\npekko.no-such-setting = 1";
    let errs = hocon_config::testing::check_against_pekko_reference(bad, &pekko)
        .expect_err("mismatch detected");
    assert_eq!(errs.len(), 2, "{:?}", errs);
}
