//! `files-expected.json`, the equivalence folders, and Pekko's merged reference.conf files.

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::*;
use hocon_config::{Config, Loader, ParseOptions, ResolveOptions, Syntax};
use serde_json::Value as J;

fn opts(dir: &Path) -> ParseOptions {
    ParseOptions::default().with_classpath(vec![
        dir.join("hocon/resources"),
        dir.join("hocon/test-lib-resources"),
    ])
}

#[test]
fn files_expected_json() {
    let Some(dir) = conformance_dir() else { return };
    let text = std::fs::read_to_string(dir.join("hocon/files-expected.json"))
        .expect("read files-expected.json");
    let spec: J = serde_json::from_str(&text).expect("parse files-expected.json");
    let files = spec["files"].as_array().expect("files array");
    let mut failures = Vec::new();
    for entry in files {
        let file = entry["file"].as_str().unwrap_or_default();
        let path = dir.join("hocon/resources").join(file);
        let env = env_of(entry);
        let res = Config::parse_file_with(&path, &opts(&dir))
            .and_then(|c| c.resolve_with_env(ResolveOptions::default(), &env));
        match (&entry["expect"].get("error"), res) {
            (Some(_), Ok(c)) => failures.push(format!(
                "{}: expected error, got {}",
                file,
                c.render_concise()
            )),
            (Some(_), Err(e)) => {
                for s in entry
                    .get("error_message_contains")
                    .and_then(|m| m.as_array())
                    .into_iter()
                    .flatten()
                {
                    let s = s.as_str().unwrap_or_default();
                    if !e.to_string().contains(s) {
                        failures.push(format!("{}: error '{}' lacks '{}'", file, e, s));
                    }
                }
            }
            (None, Err(e)) => failures.push(format!("{}: unexpected error {}", file, e)),
            (None, Ok(c)) => {
                let got = to_json(&c.root());
                if !json_eq(&got, &entry["expect"]["json"]) {
                    failures.push(format!(
                        "{}: got {} expected {}",
                        file, got, entry["expect"]["json"]
                    ));
                }
            }
        }
    }
    for f in &failures {
        eprintln!("FAIL {}", f);
    }
    assert!(
        failures.is_empty(),
        "{} of {} files failed",
        failures.len(),
        files.len()
    );
}

#[test]
fn equivalence_folders() {
    let Some(dir) = conformance_dir() else { return };
    let res = dir.join("hocon/resources");
    let mut checked = 0;
    let mut failures = Vec::new();
    for n in 1..=5 {
        let folder = res.join(format!("equiv{:02}", n));
        let original = Config::parse_file(folder.join("original.json"))
            .and_then(|c| c.resolve_with_options(ResolveOptions::no_system()));
        let original = to_json(&original.expect("original.json parses").root());
        let mut entries: Vec<_> = std::fs::read_dir(&folder)
            .expect("read equiv dir")
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for p in entries {
            let name = p
                .file_name()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            if !(name.ends_with(".conf") || name.ends_with(".json")) {
                continue;
            }
            let mut variants = vec![(name.clone(), Config::parse_file_with(&p, &opts(&dir)))];
            if name.ends_with(".json") {
                variants.push((
                    format!("{} as HOCON", name),
                    Config::parse_file_with(&p, &opts(&dir).with_syntax(Syntax::Conf)),
                ));
            }
            for (label, parsed) in variants {
                checked += 1;
                match parsed.and_then(|c| c.resolve_with_options(ResolveOptions::no_system())) {
                    Err(e) => failures.push(format!("equiv{:02}/{}: {}", n, label, e)),
                    Ok(c) => {
                        if !json_eq(&to_json(&c.root()), &original) {
                            failures.push(format!(
                                "equiv{:02}/{}: {} != {}",
                                n,
                                label,
                                to_json(&c.root()),
                                original
                            ));
                        }
                    }
                }
            }
        }
    }
    for f in &failures {
        eprintln!("FAIL {}", f);
    }
    assert!(
        failures.is_empty(),
        "{} of {} equivalence checks failed",
        failures.len(),
        checked
    );
    assert!(checked >= 17, "only {} equivalence files found", checked);
}

fn pekko_modules(dir: &Path) -> Vec<String> {
    let mut mods: Vec<String> = std::fs::read_dir(dir.join("pekko-reference"))
        .expect("read pekko-reference")
        .flatten()
        .filter(|e| e.path().join("reference.conf").is_file())
        .filter_map(|e| e.file_name().to_str().map(|s| s.to_string()))
        .collect();
    mods.sort();
    mods
}

/// The merged Pekko reference layer, as `ConfigFactory.defaultReference()` builds it.
fn merged_reference(dir: &Path) -> hocon_config::Result<Config> {
    let mut cfg = Config::parse_string("user.dir = \"/app\"")?;
    for m in pekko_modules(dir) {
        let f = dir.join("pekko-reference").join(&m).join("reference.conf");
        cfg = cfg.with_fallback(&Config::parse_file(&f)?);
    }
    cfg.resolve_with_env(ResolveOptions::default(), &HashMap::new())
}

fn sort_library_extensions(j: &mut J) {
    if let Some(arr) = j
        .pointer_mut("/pekko/library-extensions")
        .and_then(|v| v.as_array_mut())
    {
        arr.sort_by_key(|v| v.to_string());
    }
}

#[test]
fn pekko_merged_reference() {
    let Some(dir) = conformance_dir() else { return };
    let text = std::fs::read_to_string(dir.join("pekko-reference/merged-reference.expected.json"))
        .expect("read expected");
    let mut expected: J = serde_json::from_str(&text).expect("parse expected");
    let cfg = merged_reference(&dir).expect("merged reference resolves");
    let mut got = to_json(&cfg.root());
    sort_library_extensions(&mut expected);
    sort_library_extensions(&mut got);
    if !json_eq(&got, &expected) {
        // find a differing leaf for the message
        let gc = Config::parse_string(&got.to_string()).expect("reparse");
        let ec = Config::parse_string(&expected.to_string()).expect("reparse");
        let ge: HashMap<String, String> = gc
            .entry_set()
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.render(&hocon_config::RenderOptions::concise())))
            .collect();
        let ee: HashMap<String, String> = ec
            .entry_set()
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.render(&hocon_config::RenderOptions::concise())))
            .collect();
        let mut diffs: Vec<String> = ee
            .iter()
            .filter(|(k, v)| ge.get(*k) != Some(v))
            .map(|(k, v)| format!("{}: expected {} got {:?}", k, v, ge.get(k)))
            .collect();
        diffs.extend(
            ge.keys()
                .filter(|k| !ee.contains_key(*k))
                .map(|k| format!("{}: unexpected", k)),
        );
        diffs.sort();
        panic!(
            "merged reference differs in {} settings, e.g. {:?}",
            diffs.len(),
            &diffs[..diffs.len().min(10)]
        );
    }
}

#[test]
fn load_uses_unresolved_reference_under_application() {
    let Some(dir) = conformance_dir() else { return };
    let res = dir.join("hocon/resources");
    let read = |n: &str| std::fs::read_to_string(res.join(n)).expect("read resource");
    let reference = read("test13-reference-with-substitutions.conf");
    let app = Config::parse_string(&read("test13-application-override-substitutions.conf"))
        .expect("parse app");
    let loader = Loader::new()
        .reference("test13", &reference)
        .env(HashMap::new());
    let loaded = loader.load(&app).expect("load");
    assert_eq!(loaded.get_string("a").expect("a"), "overridden");
    assert_eq!(
        loader
            .default_reference()
            .expect("default reference")
            .get_string("a")
            .expect("a"),
        "b"
    );
    let bad = Loader::new()
        .reference("bad", &read("test13-reference-bad-substitutions.conf"))
        .env(HashMap::new());
    let err = bad
        .load(&app)
        .expect_err("reference must resolve on its own");
    assert_eq!(err.kind(), hocon_config::ErrorKind::UnresolvedSubstitution);
    assert!(err.to_string().contains("reference.conf"), "{}", err);
}

#[test]
fn config_force_env_overrides() {
    let Some(dir) = conformance_dir() else { return };
    let res = dir.join("hocon/resources");
    let reference = std::fs::read_to_string(res.join("test02.conf")).expect("read test02");
    let env: HashMap<String, String> = [
        ("CONFIG_FORCE_b", "5"),
        ("CONFIG_FORCE_42___a", "1"),
        ("CONFIG_FORCE_a_b_c", "2"),
        ("CONFIG_FORCE_a__c", "3"),
        ("CONFIG_FORCE_a___c", "4"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let c = Loader::new()
        .reference("test02", &reference)
        .override_with_env_vars(true)
        .env(env)
        .load(&Config::empty())
        .expect("load");
    assert_eq!(c.get_int("\"42_a\"").expect("42_a"), 1);
    assert_eq!(c.get_int("a.b.c").expect("a.b.c"), 2);
    assert_eq!(c.get_int("a-c").expect("a-c"), 3);
    assert_eq!(c.get_int("a_c").expect("a_c"), 4);
}

/// Lightbend's round-trip guarantee: re-parsing any rendering gives an equal value.
#[test]
fn renderings_round_trip() {
    let Some(dir) = conformance_dir() else { return };
    let text = std::fs::read_to_string(dir.join("hocon/files-expected.json"))
        .expect("read files-expected.json");
    let spec: J = serde_json::from_str(&text).expect("parse files-expected.json");
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut configs = Vec::new();
    for entry in spec["files"].as_array().expect("files") {
        let path = dir
            .join("hocon/resources")
            .join(entry["file"].as_str().unwrap_or_default());
        if let Ok(c) = Config::parse_file_with(&path, &opts(&dir))
            .and_then(|c| c.resolve_with_env(ResolveOptions::default(), &env_of(entry)))
        {
            configs.push((entry["file"].as_str().unwrap_or_default().to_string(), c));
        }
    }
    configs.push((
        "pekko merged reference".into(),
        merged_reference(&dir).expect("merged"),
    ));
    let mut concise_hocon = hocon_config::RenderOptions::concise();
    concise_hocon.json = false;
    let renderings = [
        ("concise json", hocon_config::RenderOptions::concise()),
        ("concise hocon", concise_hocon),
        ("formatted hocon", hocon_config::RenderOptions::hocon()),
        ("defaults", hocon_config::RenderOptions::defaults()),
    ];
    for (name, c) in &configs {
        let want = to_json(&c.root());
        for (label, o) in &renderings {
            checked += 1;
            let rendered = c.render(o);
            match Config::parse_string(&rendered) {
                Ok(back) if json_eq(&to_json(&back.root()), &want) => {}
                Ok(back) => failures.push(format!(
                    "{} ({}): {} != {}",
                    name,
                    label,
                    to_json(&back.root()),
                    want
                )),
                Err(e) => failures.push(format!("{} ({}): {}\n{}", name, label, e, rendered)),
            }
        }
    }
    for f in &failures {
        eprintln!("FAIL {}", f.chars().take(600).collect::<String>());
    }
    assert!(
        failures.is_empty(),
        "{} of {} renderings did not round-trip",
        failures.len(),
        checked
    );
}
