//! `cases.json` and `getter-cases.json` from ../shared/conformance/hocon.

mod common;

use common::*;
use hocon_config::{Config, ErrorKind, Temporal};
use serde_json::{json, Value as J};

fn load(name: &str) -> Option<Vec<J>> {
    let dir = conformance_dir()?;
    let text =
        std::fs::read_to_string(dir.join("hocon").join(name)).expect("read conformance file");
    Some(serde_json::from_str::<Vec<J>>(&text).expect("parse conformance json"))
}

#[test]
fn cases_json() {
    let Some(cases) = load("cases.json") else {
        return;
    };
    let mut failures = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap_or("?");
        let res = build_case(case, true);
        if case["expect"].get("error").is_some() {
            match res {
                Ok(c) => failures.push(format!(
                    "{}: expected error, got {}",
                    name,
                    c.render_concise()
                )),
                Err(e) => {
                    // line numbers must be present and match Java's where Java reports one
                    let jline = case
                        .get("error_message_java")
                        .and_then(|m| m.as_str())
                        .and_then(java_line);
                    if case.get("error_phase").and_then(|p| p.as_str()) == Some("parse")
                        && e.kind() != ErrorKind::BadPath
                    {
                        if let Some(jl) = jline {
                            if e.line() != Some(jl) {
                                failures.push(format!(
                                    "{}: error line {:?}, Java {}: {}",
                                    name,
                                    e.line(),
                                    jl,
                                    e
                                ));
                            }
                        }
                    }
                }
            }
        } else {
            let expect = &case["expect"]["json"];
            match res {
                Err(e) => failures.push(format!("{}: unexpected error {}", name, e)),
                Ok(c) => {
                    let got = to_json(&c.root());
                    if !json_eq(&got, expect) {
                        failures.push(format!("{}: got {} expected {}", name, got, expect));
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
        "{} of {} cases failed",
        failures.len(),
        cases.len()
    );
    eprintln!("{} cases passed", cases.len());
}

fn unit_nanos(unit: &str) -> i64 {
    match unit {
        "NANOSECONDS" => 1,
        "MICROSECONDS" => 1_000,
        "MILLISECONDS" => 1_000_000,
        "SECONDS" => 1_000_000_000,
        "MINUTES" => 60_000_000_000,
        "HOURS" => 3_600_000_000_000,
        "DAYS" => 86_400_000_000_000,
        _ => 1,
    }
}

fn period_json(p: hocon_config::Period) -> J {
    json!({"years": p.years, "months": p.months, "days": p.days})
}

fn run_getter(c: &Config, getter: &str, path: &str, unit: Option<&str>) -> hocon_config::Result<J> {
    Ok(match getter {
        "getDuration" => {
            let n = c.get_duration_nanos(path)?;
            match unit {
                Some(u) => json!(n / unit_nanos(u)),
                None => json!(n),
            }
        }
        "getDurationList" => json!(c.get_duration_nanos_list(path)?),
        "getPeriod" => period_json(c.get_period(path)?),
        "getTemporal" => match c.get_temporal(path)? {
            Temporal::Duration(n) => json!({"duration_nanos": n}),
            Temporal::Period(p) => json!({"period": period_json(p)}),
        },
        "getBytes" => json!(c.get_bytes(path)?),
        "getBytesList" => json!(c.get_bytes_list(path)?),
        "getMemorySize" => json!(c.get_memory_size_string(path)?),
        "getMemorySizeList" => json!(c.get_memory_size_string_list(path)?),
        "getBoolean" => json!(c.get_bool(path)?),
        "getInt" => json!(c.get_int(path)?),
        "getLong" => json!(c.get_long(path)?),
        "getDouble" => json!(c.get_double(path)?),
        "getString" => json!(c.get_string(path)?),
        "getIsNull" => json!(c.get_is_null(path)?),
        "hasPath" => json!(c.has_path(path)?),
        "hasPathOrNull" => json!(c.has_path_or_null(path)?),
        "getIntList" => json!(c.get_int_list(path)?),
        "getLongList" => json!(c.get_long_list(path)?),
        "getDoubleList" => json!(c.get_double_list(path)?),
        "getBooleanList" => json!(c.get_bool_list(path)?),
        "getStringList" => json!(c.get_string_list(path)?),
        "getObjectList" => J::Array(c.get_object_list(path)?.iter().map(to_json).collect()),
        "getList" => J::Array(c.get_list(path)?.iter().map(to_json).collect()),
        "getObject" => to_json(&c.get_object(path)?),
        "renderConcise" => json!(c.render_concise()),
        "renderConciseHocon" => {
            let mut o = hocon_config::RenderOptions::concise();
            o.json = false;
            json!(c.render(&o))
        }
        other => panic!("unknown getter {}", other),
    })
}

#[test]
fn getter_cases_json() {
    let Some(cases) = load("getter-cases.json") else {
        return;
    };
    let mut failures = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap_or("?");
        let resolve = case
            .get("resolve")
            .and_then(|r| r.as_bool())
            .unwrap_or(true);
        let getter = case["getter"].as_str().unwrap_or("");
        let path = case.get("path").and_then(|p| p.as_str()).unwrap_or("");
        let unit = case.get("unit").and_then(|u| u.as_str());
        let res = build_case(case, resolve).and_then(|c| run_getter(&c, getter, path, unit));
        let expect = &case["expect"];
        if expect.get("error").is_some() {
            let kind = case
                .get("error_kind")
                .and_then(|k| k.as_str())
                .unwrap_or("");
            match res {
                Ok(v) => failures.push(format!("{}: expected {} error, got {}", name, kind, v)),
                Err(e) => {
                    let ok = e.kind().java_name() == kind
                        || (kind == "Missing" && e.kind() == ErrorKind::Null);
                    if !ok {
                        failures.push(format!(
                            "{}: expected {} got {:?}: {}",
                            name,
                            kind,
                            e.kind(),
                            e
                        ));
                    }
                }
            }
        } else {
            match res {
                Err(e) => failures.push(format!("{}: unexpected error {}", name, e)),
                Ok(v) => {
                    if !json_eq(&v, &expect["value"]) {
                        failures.push(format!("{}: got {} expected {}", name, v, expect["value"]));
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
        "{} of {} getter cases failed",
        failures.len(),
        cases.len()
    );
}
