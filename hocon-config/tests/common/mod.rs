//! Shared helpers for the conformance tests: locating ../shared and comparing values.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use hocon_config::{Config, ConfigValue, Number, ParseOptions, ResolveOptions, Syntax, ValueType};
use serde_json::Value as J;

/// `../shared/conformance` relative to the repository root, or `None` (test skipped) when
/// missing; under `CI=true` a missing directory fails.
pub fn conformance_dir() -> Option<PathBuf> {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance");
    if d.is_dir() {
        return Some(d);
    }
    if std::env::var("CI").map(|v| v == "true").unwrap_or(false) {
        panic!(
            "conformance data missing at {} (required under CI=true)",
            d.display()
        );
    }
    eprintln!("SKIPPED: conformance data not found at {}", d.display());
    None
}

pub fn to_json(v: &ConfigValue) -> J {
    match v.value_type() {
        Some(ValueType::Object) => {
            let mut m = serde_json::Map::new();
            for (k, c) in v.as_object().unwrap_or_default() {
                m.insert(k, to_json(&c));
            }
            J::Object(m)
        }
        Some(ValueType::List) => J::Array(
            v.as_list()
                .unwrap_or_default()
                .iter()
                .map(to_json)
                .collect(),
        ),
        Some(ValueType::String) => J::String(v.as_str().unwrap_or_default().to_string()),
        Some(ValueType::Boolean) => J::Bool(v.as_bool().unwrap_or_default()),
        Some(ValueType::Null) => J::Null,
        Some(ValueType::Number) => match v.as_number() {
            Some(Number::Int(i)) => J::from(i),
            Some(Number::Double(d)) => serde_json::Number::from_f64(d)
                .map(J::Number)
                .unwrap_or(J::Null),
            None => J::Null,
        },
        None => J::String("<unresolved>".into()),
    }
}

/// Compare JSON values: objects unordered, numbers by numeric value.
pub fn json_eq(a: &J, b: &J) -> bool {
    match (a, b) {
        (J::Number(x), J::Number(y)) => {
            if let (Some(i), Some(j)) = (x.as_i64(), y.as_i64()) {
                return i == j;
            }
            let (fx, fy) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            fx == fy || (fx - fy).abs() <= 1e-12 * fx.abs().max(fy.abs())
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

pub fn syntax_of(s: Option<&str>) -> Syntax {
    match s {
        Some("json") => Syntax::Json,
        Some("properties") => Syntax::Properties,
        _ => Syntax::Conf,
    }
}

/// Build and resolve a case document: input, fallbacks, env.
pub fn build_case(case: &J, resolve: bool) -> hocon_config::Result<Config> {
    let input = case["input"].as_str().unwrap_or_default();
    let opts =
        ParseOptions::default().with_syntax(syntax_of(case.get("syntax").and_then(|s| s.as_str())));
    let mut cfg = Config::parse_string_with(input, &opts)?;
    if let Some(fbs) = case.get("fallbacks").and_then(|f| f.as_array()) {
        for fb in fbs {
            let o = ParseOptions::default()
                .with_syntax(syntax_of(fb.get("syntax").and_then(|s| s.as_str())));
            let c = Config::parse_string_with(fb["input"].as_str().unwrap_or_default(), &o)?;
            cfg = cfg.with_fallback(&c);
        }
    }
    if !resolve {
        return Ok(cfg);
    }
    let env = env_of(case);
    cfg.resolve_with_env(ResolveOptions::default(), &env)
}

pub fn env_of(case: &J) -> HashMap<String, String> {
    let mut env = HashMap::new();
    if let Some(e) = case.get("env").and_then(|e| e.as_object()) {
        for (k, v) in e {
            env.insert(k.clone(), v.as_str().unwrap_or_default().to_string());
        }
    }
    env
}

/// The line number in a Java message like `String: 5: ...`.
pub fn java_line(msg: &str) -> Option<u32> {
    let rest = msg.strip_prefix("String: ")?;
    let end = rest.find(':')?;
    rest[..end].trim().parse().ok()
}
