//! Differential tests: `hocon-config` against Lightbend config (the JVM `ConfigDump` fixture).
//!
//! * every `.conf`/`.json`/`.properties` file under `../shared/conformance/`, parsed by path and
//!   resolved on both sides;
//! * every single-document case of `../shared/conformance/hocon/cases.json` (written to a file);
//! * randomly generated HOCON documents (nesting, concatenation, substitutions including
//!   self-references and optional ones, `+=`, includes of generated sibling files, unicode,
//!   comments, quoted keys): 500 per run, more with `REKKO_HOCON_DIFF_CASES=N`; the seed is
//!   printed and can be fixed with `REKKO_HOCON_DIFF_SEED=S`;
//! * `load` mode: random application.conf files over Pekko's settings, loaded over Rekko's
//!   bundled references on the Rust side and over Pekko's reference.conf files on the JVM side;
//!   every setting of the Rust result (outside `rekko.*`) must have the JVM's value. 60 per run,
//!   more with `REKKO_HOCON_LOAD_DIFF_CASES=N`;
//! * pekko-persistence-jdbc's sections: Rekko's bundled `jdbc-*` defaults against the plugin's
//!   reference.conf on the JVM (same keys, same values), and fixed application.conf files over
//!   them (self-references, `${jdbc-journal.slick}` substitutions, shared databases).
//!
//! Values are compared value for value (objects unordered, numbers by numeric value); an error on
//! one side must be an error on the other.
//!
//! Exclusions (ConfigDump cannot model them): none of the conformance files needs one — heuristic
//! includes that miss fall back to the classpath on the JVM (the fixture jar) and to nothing on
//! the Rust side, and no conformance file includes a resource that the fixture jar provides.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hocon_config::{Config, ParseOptions};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rekko_interop_tests::{require_jvm, FixtureSpec, JvmNode};
use serde_json::Value as J;

fn shared_conformance() -> Option<PathBuf> {
    let d = rekko_interop_tests::repo_root().join("../shared/conformance");
    if d.is_dir() {
        return Some(d);
    }
    if rekko_interop_tests::running_in_ci() {
        panic!("../shared/conformance missing (required under CI=true)");
    }
    eprintln!("SKIPPED: ../shared/conformance not found");
    None
}

struct Oracle {
    node: JvmNode,
}

impl Oracle {
    fn start() -> Oracle {
        let spec = || {
            FixtureSpec::new("org.rekko.fixtures.ConfigDump")
                .name("config-dump")
                .arg("--serve")
        };
        // one retry: a concurrent Maven build of the shared fixture jar can fail transiently
        let node = JvmNode::start(spec()).or_else(|e| {
            eprintln!("ConfigDump did not start ({}), retrying once", e);
            std::thread::sleep(Duration::from_secs(5));
            JvmNode::start(spec())
        });
        Oracle {
            node: node.expect("ConfigDump starts"),
        }
    }
    /// `Ok(json)` or `Err(message)` from Lightbend config for `parseFile(file).resolve()`.
    fn parse(&mut self, file: &Path) -> Result<J, String> {
        self.ask("parse", file)
    }
    /// `Ok(json)` or `Err(message)` from Lightbend config for `file` loaded as application.conf
    /// over the reference.conf files of the fixture's class path.
    fn load(&mut self, file: &Path) -> Result<J, String> {
        self.ask("load", file)
    }
    fn ask(&mut self, command: &str, file: &Path) -> Result<J, String> {
        let line = self
            .node
            .request(
                &format!("{} {}", command, file.display()),
                Duration::from_secs(60),
            )
            .expect("ConfigDump answers");
        if let Some(json) = line.strip_prefix("OK ") {
            Ok(rendering_to_json(json))
        } else {
            Err(line)
        }
    }
}

fn rust_side(file: &Path) -> Result<J, String> {
    let c = Config::parse_file_with(file, &ParseOptions::default())
        .and_then(|c| c.resolve())
        .map_err(|e| format!("{:?}: {}", e.kind(), e))?;
    Ok(rendering_to_json(&c.render_concise()))
}

/// Parse a concise rendering. Lightbend writes non-finite doubles as `Infinity`/`NaN`, which is
/// not JSON; such renderings are kept as text and compared exactly.
fn rendering_to_json(text: &str) -> J {
    serde_json::from_str(text)
        .unwrap_or_else(|_| J::String(format!("<non-JSON rendering> {}", text)))
}

fn json_eq(a: &J, b: &J) -> bool {
    match (a, b) {
        (J::Number(x), J::Number(y)) => {
            if let (Some(i), Some(j)) = (x.as_i64(), y.as_i64()) {
                return i == j;
            }
            x.as_f64() == y.as_f64()
        }
        (J::Object(x), J::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        (J::Array(x), J::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| json_eq(v, w))
        }
        _ => a == b,
    }
}

/// Compare both sides on one file; `Some(description)` when they differ.
fn compare(oracle: &mut Oracle, file: &Path) -> Option<String> {
    compare_counting(oracle, file).0
}

/// As [`compare`], also telling whether the JVM accepted the document.
fn compare_counting(oracle: &mut Oracle, file: &Path) -> (Option<String>, bool) {
    let jvm = oracle.parse(file);
    let ok = jvm.is_ok();
    if let (Err(e), Ok(kinds)) = (&jvm, std::env::var("REKKO_HOCON_DIFF_SHOW_ERRORS")) {
        if !kinds.is_empty() {
            eprintln!("JVM error: {}", e.chars().take(160).collect::<String>());
        }
    }
    (compare_results(file, jvm), ok)
}

fn compare_results(file: &Path, jvm: Result<J, String>) -> Option<String> {
    let rust = rust_side(file);
    match (&jvm, &rust) {
        (Ok(a), Ok(b)) if json_eq(a, b) => None,
        (Err(_), Err(_)) => None,
        _ => Some(format!(
            "{}:\n  JVM:  {}\n  Rust: {}",
            file.display(),
            match &jvm {
                Ok(j) => j.to_string(),
                Err(e) => e.clone(),
            },
            match &rust {
                Ok(j) => j.to_string(),
                Err(e) => e.clone(),
            }
        )),
    }
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_files(&p, out);
        } else if let Some(ext) = p.extension().and_then(|e| e.to_str()) {
            if matches!(ext, "conf" | "json" | "properties") {
                out.push(p);
            }
        }
    }
}

#[test]
fn conformance_files_match_lightbend() {
    require_jvm!();
    let Some(dir) = shared_conformance() else {
        return;
    };
    let mut files = Vec::new();
    collect_files(&dir, &mut files);
    files.sort();
    let mut oracle = Oracle::start();
    let diffs: Vec<String> = files
        .iter()
        .filter_map(|f| compare(&mut oracle, f))
        .collect();
    eprintln!(
        "{} conformance files compared, {} differences",
        files.len(),
        diffs.len()
    );
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

#[test]
fn conformance_case_documents_match_lightbend() {
    require_jvm!();
    let Some(dir) = shared_conformance() else {
        return;
    };
    let cases: Vec<J> = serde_json::from_str(
        &std::fs::read_to_string(dir.join("hocon/cases.json")).expect("read cases"),
    )
    .expect("parse cases");
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut oracle = Oracle::start();
    let mut diffs = Vec::new();
    let mut compared = 0;
    for (i, case) in cases.iter().enumerate() {
        // documents that need fallbacks or a specific environment cannot be expressed as one file
        if case.get("fallbacks").is_some() || case.get("env").is_some() {
            continue;
        }
        let ext = match case.get("syntax").and_then(|s| s.as_str()) {
            Some("json") => "json",
            Some("properties") => "properties",
            _ => "conf",
        };
        let f = tmp.path().join(format!("case{}.{}", i, ext));
        std::fs::write(&f, case["input"].as_str().unwrap_or_default()).expect("write case");
        compared += 1;
        if let Some(d) = compare(&mut oracle, &f) {
            diffs.push(format!("{} ({})", d, case["name"]));
        }
    }
    eprintln!(
        "{} case documents compared, {} differences",
        compared,
        diffs.len()
    );
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

/// Random HOCON document generator.
struct Gen {
    rng: StdRng,
    keys: Vec<&'static str>,
    include_files: Vec<String>,
    /// Directory of the document being generated (for absolute `file()` includes).
    dir: PathBuf,
    /// Nesting inside arrays (where `+=` and includes with substitutions are Lightbend limitations).
    in_array: u32,
}

const WORDS: &[&str] = &[
    "foo",
    "bar",
    "baz",
    "hello world",
    "x",
    "10s",
    "128 KiB",
    "ключ",
    "日本",
    "tab\there",
    "a.b",
];

impl Gen {
    fn key(&mut self) -> String {
        let k = self.keys[self.rng.gen_range(0..self.keys.len())];
        match self.rng.gen_range(0..10) {
            0 => format!("\"{}\"", k.replace('"', "\\\"")),
            1 => format!(
                "{}.{}",
                k,
                self.keys[self.rng.gen_range(0..self.keys.len())]
            ),
            2 => "\"x.y\"".to_string(),
            3 => "\"ключ\"".to_string(),
            _ => k.to_string(),
        }
    }

    fn path_expr(&mut self) -> String {
        let n = if self.rng.gen_bool(0.7) {
            1
        } else {
            self.rng.gen_range(2..=3)
        };
        (0..n)
            .map(|_| self.keys[self.rng.gen_range(0..self.keys.len())].to_string())
            .collect::<Vec<_>>()
            .join(".")
    }

    fn subst(&mut self) -> String {
        let opt = if self.rng.gen_bool(0.6) { "?" } else { "" };
        let p = match self.rng.gen_range(0..12) {
            0 => "HOME".to_string(),
            1 => "NOT_SET_ANYWHERE".to_string(),
            _ => self.path_expr(),
        };
        format!("${{{}{}}}", opt, p)
    }

    fn simple(&mut self) -> String {
        match self.rng.gen_range(0..14) {
            0 => self.rng.gen_range(-100..1000).to_string(),
            1 => format!(
                "{}.{}",
                self.rng.gen_range(0..100),
                self.rng.gen_range(0..100)
            ),
            2 => [
                "1e3",
                "1.0",
                "-0.5",
                "007",
                "1.",
                "99999999999999999999",
                "0.000001",
            ][self.rng.gen_range(0..7)]
            .to_string(),
            3 => ["true", "false", "null", "on", "yes"][self.rng.gen_range(0..5)].to_string(),
            4 => format!(
                "\"{}\"",
                WORDS[self.rng.gen_range(0..WORDS.len())].replace('\t', "\\t")
            ),
            5 => "\"\"\"multi\nline \"quoted\" \"\"\"".to_string(),
            6 => "\"\"".to_string(),
            7 | 8 => self.subst(),
            _ => ["foo", "bar", "baz", "hello", "ünïcödé", "a-b_c", "/path/to"]
                [self.rng.gen_range(0..7)]
            .to_string(),
        }
    }

    fn value(&mut self, depth: u32) -> String {
        let max = if depth >= 3 { 3 } else { 9 };
        match self.rng.gen_range(0..max) {
            0..=2 => {
                // concatenation of simple values on one line
                let n = self.rng.gen_range(1..=3);
                let seps = [" ", "", "  "];
                let mut s = self.simple();
                for _ in 1..n {
                    s.push_str(seps[self.rng.gen_range(0..seps.len())]);
                    s.push_str(&self.simple());
                }
                s
            }
            3 | 4 => self.object(depth + 1),
            5 | 6 => self.array(depth + 1),
            7 => format!("${{?{}}} {}", self.path_expr(), self.object(depth + 1)),
            _ => format!(
                "{} {}",
                self.array(depth + 1),
                if self.rng.gen_bool(0.5) {
                    format!("${{?{}}}", self.path_expr())
                } else {
                    self.array(depth + 1)
                }
            ),
        }
    }

    fn array(&mut self, depth: u32) -> String {
        let n = self.rng.gen_range(0..4);
        let mut items = Vec::new();
        self.in_array += 1;
        for _ in 0..n {
            items.push(self.value(depth));
        }
        self.in_array -= 1;
        let sep = if self.rng.gen_bool(0.3) { "\n" } else { ", " };
        format!("[{}]", items.join(sep))
    }

    fn object(&mut self, depth: u32) -> String {
        {
            let n = self.rng.gen_range(0..5);
            format!("{{\n{}\n}}", self.fields(depth, n))
        }
    }

    fn fields(&mut self, depth: u32, n: usize) -> String {
        let mut out = String::new();
        for _ in 0..n {
            if self.rng.gen_range(0..12) == 0 {
                out.push_str(
                    ["# a comment\n", "// another\n", "  # ключ comment\n"]
                        [self.rng.gen_range(0..3)],
                );
            }
            if !self.include_files.is_empty()
                && (self.in_array == 0 || self.rng.gen_range(0..10) == 0)
                && self.rng.gen_range(0..10) == 0
            {
                let f = self.include_files[self.rng.gen_range(0..self.include_files.len())].clone();
                let base = f.rsplit_once('.').map(|x| x.0).unwrap_or(&f).to_string();
                let stmt = match self.rng.gen_range(0..7) {
                    0 => format!("include \"{}\"", f),
                    1 => format!("include \"{}\"", base),
                    2 => format!("include required(\"{}\")", base),
                    3 => format!("include file(\"{}/{}\")", self.dir.display(), f),
                    4 => format!("include required(file(\"{}/{}\"))", self.dir.display(), f),
                    5 => "include required(\"missing-file\")".to_string(),
                    _ => "include \"missing-file.conf\"".to_string(),
                };
                out.push_str(&stmt);
                out.push('\n');
                continue;
            }
            let key = self.key();
            let line = match self.rng.gen_range(0..10) {
                0 => format!("{} {}", key, self.object(depth + 1)),
                1 if self.in_array == 0 || self.rng.gen_range(0..10) == 0 => {
                    self.in_array += 1;
                    let v = self.value(depth);
                    self.in_array -= 1;
                    format!("{} += {}", key, v)
                }
                2 => format!(
                    "{} = ${{?{}}} {}",
                    key,
                    key.trim_matches('"'),
                    self.simple()
                ),
                3 => format!("{} : {}", key, self.value(depth)),
                _ => format!("{} = {}", key, self.value(depth)),
            };
            out.push_str(&line);
            out.push_str(if self.rng.gen_bool(0.3) { ",\n" } else { "\n" });
        }
        out
    }
}

/// Fails with the seed and the first five differences when there are any.
fn assert_no_differences(seed: u64, diffs: &[String]) {
    assert!(
        diffs.is_empty(),
        "seed {}:\n{}",
        seed,
        diffs
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
}

/// A case count from the environment variable `var`, else `default`.
fn env_count(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The random seed: `REKKO_HOCON_DIFF_SEED`, else the clock.
fn env_seed() -> u64 {
    std::env::var("REKKO_HOCON_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        })
}

#[test]
fn random_documents_match_lightbend() {
    require_jvm!();
    let cases = env_count("REKKO_HOCON_DIFF_CASES", 500);
    let seed = env_seed();
    eprintln!(
        "random HOCON differential: {} documents, REKKO_HOCON_DIFF_SEED={}",
        cases, seed
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut oracle = Oracle::start();
    let mut diffs = Vec::new();
    let mut both_ok = 0;
    let mut gen = Gen {
        rng: StdRng::seed_from_u64(seed),
        keys: vec!["a", "b", "c", "foo", "bar", "x", "list", "ключ", "d-e"],
        include_files: Vec::new(),
        in_array: 0,
        dir: PathBuf::new(),
    };
    for i in 0..cases {
        let dir = tmp.path().join(format!("doc{}", i));
        std::fs::create_dir_all(&dir).expect("mkdir");
        gen.include_files.clear();
        gen.dir = dir.clone();
        let n_inc = gen.rng.gen_range(0..4);
        for j in 0..n_inc {
            let (name, body) = match gen.rng.gen_range(0..6) {
                // JSON and properties siblings, also reached by basename probing
                0 => (format!("inc{}.json", j), format!("{{ \"j{}\" : [1, \"two\", {{ \"x\" : null }}], \"a\" : {{ \"k\" : 1.5 }} }}", j)),
                1 => (format!("inc{}.properties", j), format!("p{}.q = 1\na.b = text\nlist.0 = zero\nlist.1 = one\n", j)),
                _ => {
                    let n = gen.rng.gen_range(1..4);
                    (format!("inc{}.conf", j), gen.fields(1, n))
                }
            };
            std::fs::write(dir.join(&name), body).expect("write include");
            gen.include_files.push(name);
        }
        let n = gen.rng.gen_range(1..8);
        let body = gen.fields(0, n);
        let main = dir.join("main.conf");
        std::fs::write(&main, &body).expect("write main");
        let (diff, jvm_ok) = compare_counting(&mut oracle, &main);
        if jvm_ok {
            both_ok += 1;
        }
        if let Some(d) = diff {
            let mut text = format!("{}\n--- main.conf ---\n{}", d, body);
            for f in &gen.include_files {
                text.push_str(&format!(
                    "--- {} ---\n{}\n",
                    f,
                    std::fs::read_to_string(dir.join(f)).unwrap_or_default()
                ));
            }
            diffs.push(text);
        }
    }
    eprintln!(
        "{} documents compared ({} valid on the JVM), {} differences",
        cases,
        both_ok,
        diffs.len()
    );
    assert_no_differences(seed, &diffs);
}

/// The `reference.conf` files Rekko bundles (as `rekko config resolve --with-defaults` loads them).
fn rekko_references() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "rekko-actor/reference.conf",
            rekko_actor::settings::REFERENCE_CONF,
        ),
        ("rekko-remote/reference.conf", rekko_remote::REFERENCE_CONF),
        (
            "rekko-cluster/reference.conf",
            rekko_cluster::settings::REFERENCE_CONF,
        ),
        (
            "rekko-persistence/reference.conf",
            rekko_persistence::settings::REFERENCE_CONF,
        ),
    ]
}

/// `file` loaded as application.conf over Rekko's bundled references, or the error.
fn rust_load(file: &Path) -> Result<J, String> {
    hocon_config::Loader::new()
        .references(&rekko_references())
        .load_file(file)
        .map(|c| rendering_to_json(&c.render_concise()))
        .map_err(|e| format!("{:?}: {}", e.kind(), e))
}

/// Leaf values of a JSON object (empty objects and arrays are leaves) with their key paths.
fn json_leaves(j: &J, prefix: &mut Vec<String>, out: &mut Vec<(Vec<String>, J)>) {
    match j {
        J::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                prefix.push(k.clone());
                json_leaves(v, prefix, out);
                prefix.pop();
            }
        }
        _ => out.push((prefix.clone(), j.clone())),
    }
}

fn json_at<'a>(j: &'a J, path: &[String]) -> Option<&'a J> {
    path.iter().try_fold(j, |cur, k| cur.get(k))
}

/// HOCON path expression with every key quoted.
fn quoted_path(path: &[String]) -> String {
    path.iter()
        .map(|k| serde_json::to_string(k).unwrap_or_default())
        .collect::<Vec<_>>()
        .join(".")
}

/// `load` of `file` as application.conf: Rekko's bundled references on the Rust side, the
/// reference.conf files of the fixture's class path (Pekko's) on the JVM side. Every setting of
/// the Rust result outside `rekko.*` that the JVM also has must have the same value there; an
/// error on one side must be an error on the other. Settings the JVM does not have (defaults
/// that Rekko's references add) are returned in `rekko_only`.
fn compare_load(
    oracle: &mut Oracle,
    file: &Path,
    rekko_only: &mut std::collections::BTreeSet<String>,
) -> (Option<String>, bool) {
    let jvm = oracle.load(file);
    let ok = jvm.is_ok();
    (compare_load_results(file, jvm, rekko_only), ok)
}

fn compare_load_results(
    file: &Path,
    jvm: Result<J, String>,
    rekko_only: &mut std::collections::BTreeSet<String>,
) -> Option<String> {
    let rust = rust_load(file);
    match (&jvm, &rust) {
        (Err(_), Err(_)) => None,
        (Ok(j), Ok(r)) => {
            let mut leaves = Vec::new();
            json_leaves(r, &mut Vec::new(), &mut leaves);
            let diffs: Vec<String> = leaves
                .iter()
                .filter(|(p, _)| p.first().is_some_and(|k| k != "rekko"))
                .filter_map(|(p, v)| match json_at(j, p) {
                    Some(w) if json_eq(v, w) => None,
                    Some(w) => Some(format!("  {}: Rust {} JVM {}", quoted_path(p), v, w)),
                    None => {
                        rekko_only.insert(quoted_path(p));
                        None
                    }
                })
                .collect();
            if diffs.is_empty() {
                None
            } else {
                Some(format!("{}:\n{}", file.display(), diffs.join("\n")))
            }
        }
        _ => Some(format!(
            "{}:\n  JVM:  {}\n  Rust: {}",
            file.display(),
            match &jvm {
                Ok(_) => "OK".to_string(),
                Err(e) => e.clone(),
            },
            match &rust {
                Ok(_) => "OK".to_string(),
                Err(e) => e.clone(),
            }
        )),
    }
}

/// Random application.conf files over the settings of Rekko's references outside `rekko.*`
/// (Pekko's `pekko.*` and pekko-persistence-jdbc's sections): overrides of reference settings with
/// literals, substitutions of other reference settings (resolved across the layers), self
/// references, concatenations and optional substitutions that are unset (which keep the
/// reference value), compared under `load` with the JVM (see [`compare_load`]).
#[test]
fn load_mode_matches_lightbend() {
    require_jvm!();
    let cases = env_count("REKKO_HOCON_LOAD_DIFF_CASES", 60);
    let seed = env_seed();
    eprintln!(
        "load-mode differential: {} documents, REKKO_HOCON_DIFF_SEED={}",
        cases, seed
    );
    let reference = hocon_config::Loader::new()
        .references(&rekko_references())
        .default_reference()
        .expect("Rekko's references resolve");
    let mut settings = Vec::new();
    json_leaves(
        &rendering_to_json(&reference.render_concise()),
        &mut Vec::new(),
        &mut settings,
    );
    // Overrides go to every setting outside `rekko.*`: Pekko's own (`pekko.*`) and
    // pekko-persistence-jdbc's sections (`jdbc-journal`, `jdbc-snapshot-store`,
    // `jdbc-read-journal`, `pekko-persistence-jdbc`), except the keys of later plugin versions
    // than the fixture's, which the JVM cannot substitute.
    let settings: Vec<Vec<String>> = settings
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| p.first().is_some_and(|k| k != "rekko"))
        .filter(|p| !JDBC_LATER_KEYS.contains(&quoted_path(p).as_str()))
        .collect();
    assert!(
        settings
            .iter()
            .any(|p| p.first().is_some_and(|k| k.starts_with("jdbc-"))),
        "the jdbc sections are among the overridden settings"
    );
    assert!(!settings.is_empty(), "Rekko's references have settings");
    let mut rng = StdRng::seed_from_u64(seed);
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut oracle = Oracle::start();
    let mut diffs = Vec::new();
    let mut both_ok = 0;
    let mut rekko_only = std::collections::BTreeSet::new();
    for i in 0..cases {
        let mut body = String::new();
        for _ in 0..rng.gen_range(1..=6) {
            let p = &settings[rng.gen_range(0..settings.len())];
            let other = &settings[rng.gen_range(0..settings.len())];
            let value = match rng.gen_range(0..9) {
                0 => rng.gen_range(-5..5000).to_string(),
                1 => ["on", "off", "true", "false"][rng.gen_range(0..4)].to_string(),
                2 => ["3 s", "250ms", "64 KiB", "\"text\"", "[1, 2]", "{}"][rng.gen_range(0..6)]
                    .to_string(),
                3 | 4 => format!("${{{}}}", quoted_path(other)),
                5 => format!("${{{}}}", quoted_path(p)),
                6 => format!("${{{}}}\" suffix\"", quoted_path(other)),
                7 => "${?NOT_SET_ANYWHERE}".to_string(),
                _ => format!("${{?{}}}", quoted_path(other)),
            };
            body.push_str(&format!("{} = {}\n", quoted_path(p), value));
        }
        let f = tmp.path().join(format!("application{}.conf", i));
        std::fs::write(&f, &body).expect("write application.conf");
        let (diff, jvm_ok) = compare_load(&mut oracle, &f, &mut rekko_only);
        if jvm_ok {
            both_ok += 1;
        }
        if let Some(d) = diff {
            diffs.push(format!("{}\n--- application.conf ---\n{}", d, body));
        }
    }
    eprintln!(
        "{} application.conf files compared under load ({} valid on the JVM), {} differences",
        cases,
        both_ok,
        diffs.len()
    );
    if !rekko_only.is_empty() {
        eprintln!(
            "settings of Rekko's references that the JVM does not have (not compared): {}",
            rekko_only.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    assert_no_differences(seed, &diffs);
}

/// The top-level sections of pekko-persistence-jdbc's reference.conf.
const JDBC_SECTIONS: [&str; 4] = [
    "pekko-persistence-jdbc",
    "jdbc-journal",
    "jdbc-snapshot-store",
    "jdbc-read-journal",
];

/// Settings of Rekko's jdbc sections that the fixture's pekko-persistence-jdbc (1.1) lacks:
/// keys of later plugin versions.
const JDBC_LATER_KEYS: [&str; 1] =
    ["\"jdbc-read-journal\".\"events-by-tag-buffer-sizes-per-query\""];

/// Rekko's bundled jdbc sections have exactly the settings (keys and default values) of
/// pekko-persistence-jdbc's reference.conf on the JVM, apart from [`JDBC_LATER_KEYS`]; and
/// application.conf lines that are valid on the JVM, such as self-references into a section's
/// `slick` block (which a `slick = ${jdbc-journal.slick}` inheritance would turn into a cycle),
/// the documented `${jdbc-journal.slick}` substitutions and shared databases, load to the same
/// values on both sides.
#[test]
fn jdbc_sections_match_the_plugin_under_load() {
    require_jvm!();
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut oracle = Oracle::start();

    let empty = tmp.path().join("empty.conf");
    std::fs::write(&empty, "").expect("write application.conf");
    let jvm = oracle.load(&empty).expect("the JVM loads its references");
    let rust = rust_load(&empty).expect("Rust loads Rekko's references");
    let mut differences = Vec::new();
    for section in JDBC_SECTIONS {
        let leaves_of = |root: &J| {
            let mut leaves = Vec::new();
            if let Some(j) = root.get(section) {
                json_leaves(j, &mut vec![section.to_string()], &mut leaves);
            }
            leaves
                .into_iter()
                .map(|(p, v)| (quoted_path(&p), v))
                .collect::<std::collections::BTreeMap<_, _>>()
        };
        let (on_jvm, in_rekko) = (leaves_of(&jvm), leaves_of(&rust));
        assert!(!on_jvm.is_empty(), "the JVM has no {section} section");
        for (path, value) in &on_jvm {
            match in_rekko.get(path) {
                Some(ours) if json_eq(ours, value) => {}
                Some(ours) => differences.push(format!("{path}: Rekko {ours} JVM {value}")),
                None => differences.push(format!("{path}: missing in Rekko (JVM {value})")),
            }
        }
        for (path, value) in &in_rekko {
            if !on_jvm.contains_key(path) && !JDBC_LATER_KEYS.contains(&path.as_str()) {
                differences.push(format!("{path}: only in Rekko ({value})"));
            }
        }
    }
    assert!(
        differences.is_empty(),
        "jdbc sections differ:\n{}",
        differences.join("\n")
    );

    let documents = [
        "jdbc-read-journal.slick.db.maxLifetime = ${jdbc-read-journal.slick.db.maxLifetime}\n",
        "jdbc-snapshot-store.slick = ${jdbc-snapshot-store.slick} { db.url = \"jdbc:postgresql://h/db\" }\n",
        "jdbc-journal.slick {\n  profile = \"slick.jdbc.PostgresProfile$\"\n  \
         db { url = \"jdbc:postgresql://db.internal:5432/shop\", user = shop, maxConnections = 10 }\n}\n\
         jdbc-snapshot-store.slick = ${jdbc-journal.slick}\n\
         jdbc-read-journal.slick = ${jdbc-journal.slick}\n",
        "pekko-persistence-jdbc.shared-databases.slick {\n  profile = \"slick.jdbc.PostgresProfile$\"\n  \
         db { url = \"jdbc:postgresql://127.0.0.1:5432/rekko\", user = rekko, password = rekko }\n}\n\
         jdbc-journal.use-shared-db = \"slick\"\n\
         jdbc-snapshot-store.use-shared-db = \"slick\"\n\
         jdbc-read-journal { use-shared-db = \"slick\", refresh-interval = \"200ms\" }\n",
        "pekko-persistence-jdbc.tagSeparator = \";\"\n",
        "jdbc-read-journal.tables.event_journal.tableName = ${jdbc-journal.tables.event_tag.tableName}\n",
    ];
    let mut rekko_only = std::collections::BTreeSet::new();
    let mut diffs = Vec::new();
    for (i, body) in documents.iter().enumerate() {
        let f = tmp.path().join(format!("jdbc{i}.conf"));
        std::fs::write(&f, body).expect("write application.conf");
        let (diff, jvm_ok) = compare_load(&mut oracle, &f, &mut rekko_only);
        assert!(jvm_ok, "the JVM rejects:\n{body}");
        if let Some(d) = diff {
            diffs.push(format!("{d}\n--- application.conf ---\n{body}"));
        }
    }
    eprintln!(
        "{} jdbc application.conf files compared under load, {} differences",
        documents.len(),
        diffs.len()
    );
    assert!(diffs.is_empty(), "{}", diffs.join("\n\n"));
}
