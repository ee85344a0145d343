//! Config API behaviour: typed settings via serde, layering, rendering, path operations.

use std::collections::HashMap;
use std::time::Duration;

use hocon_config::{Bytes, Config, ConfigValue, Loader, RenderOptions};
use serde::Deserialize;

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
struct Dispatcher {
    throughput: u32,
    throughput_deadline_time: Duration,
    mailbox_capacity: Option<i64>,
    buffer_size: Bytes,
    enabled: bool,
    names: Vec<String>,
    mode: Mode,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
enum Mode {
    FailFast,
    Lenient,
}

#[test]
fn typed_settings_via_serde() {
    let c = Config::parse_string(
        r#"d {
          throughput = 5
          throughput-deadline-time = 100ms
          mailbox-capacity = null
          buffer-size = 128 KiB
          enabled = on
          names.0 = a
          names.1 = b
          mode = fail-fast
        }"#,
    )
    .and_then(|c| c.resolve())
    .expect("config");
    let d: Dispatcher = c.get("d").expect("deserializes");
    assert_eq!(
        d,
        Dispatcher {
            throughput: 5,
            throughput_deadline_time: Duration::from_millis(100),
            mailbox_capacity: None,
            buffer_size: Bytes(131072),
            enabled: true,
            names: vec!["a".into(), "b".into()],
            mode: Mode::FailFast,
        }
    );
    let e = c.get::<Dispatcher>("missing").expect_err("missing");
    assert_eq!(e.kind(), hocon_config::ErrorKind::Missing);
    let bad = Config::parse_string("d { throughput = x }").expect("parse");
    assert!(bad.get::<HashMap<String, u32>>("d").is_err());
}

#[test]
fn getters_and_paths() {
    let c = Config::parse_string("a { b = 10s, \"c.d\" = 3, e = [1, 2], f = null }")
        .and_then(|c| c.resolve())
        .expect("config");
    assert_eq!(c.get_duration("a.b").expect("b"), Duration::from_secs(10));
    assert_eq!(c.get_int("a.\"c.d\"").expect("c.d"), 3);
    assert!(c.has_path("a.e").expect("has"));
    assert!(!c.has_path("a.f").expect("has null"));
    assert!(c.has_path_or_null("a.f").expect("has null"));
    assert_eq!(c.get_int_list("a.e").expect("list"), vec![1, 2]);
    let entries: Vec<String> = c
        .entry_set()
        .expect("entries")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert!(entries.contains(&"a.\"c.d\"".to_string()));
    assert!(!entries.contains(&"a.f".to_string()));
    let only = c.with_only_path("a.e").expect("only");
    assert_eq!(only.render_concise(), r#"{"a":{"e":[1,2]}}"#);
    let without = c.without_path("a").expect("without");
    assert!(without.is_empty());
    let with = c
        .with_value("x.y", &ConfigValue::from_i64(7))
        .expect("with");
    assert_eq!(with.get_int("x.y").expect("x.y"), 7);
    assert_eq!(
        c.get_config("a")
            .expect("a")
            .at_path("q.r")
            .expect("at")
            .get_int("q.r.\"c.d\"")
            .expect("q"),
        3
    );
}

#[test]
fn load_layers_references_application_and_overrides() {
    let app =
        Config::parse_string("pekko.loglevel = DEBUG\nx = ${pekko.stdout-loglevel}").expect("app");
    let c = Loader::new()
        .reference(
            "actor",
            "pekko { loglevel = INFO, stdout-loglevel = WARNING, log-dead-letters = 10 }",
        )
        .reference("other", "pekko { log-dead-letters = 99, extra = 1 }")
        .override_string("pekko.log-dead-letters = 3")
        .env(HashMap::new())
        .load(&app)
        .expect("load");
    assert_eq!(c.get_string("pekko.loglevel").expect("loglevel"), "DEBUG");
    assert_eq!(c.get_string("x").expect("x"), "WARNING");
    assert_eq!(c.get_int("pekko.log-dead-letters").expect("override"), 3);
    assert_eq!(c.get_int("pekko.extra").expect("second reference"), 1);
}

#[test]
fn rendering_json_and_hocon() {
    let c = Config::parse_string("b { y = \"x y\", x = 1.5 }\na = 1\n\"10\" = t\n\"9\" = s")
        .and_then(|c| c.resolve())
        .expect("config");
    assert_eq!(
        c.render_concise(),
        r#"{"9":"s","10":"t","a":1,"b":{"x":1.5,"y":"x y"}}"#
    );
    let mut o = RenderOptions::concise();
    o.json = false;
    assert_eq!(c.render(&o), r#""9"=s,"10"=t,a=1,b{x=1.5,y="x y"}"#);
    let formatted = c.render(&RenderOptions::hocon());
    let back = Config::parse_string(&formatted).expect("formatted HOCON parses back");
    assert_eq!(back.render_concise(), c.render_concise());
    let with_origins = c.render(&RenderOptions::defaults());
    assert!(with_origins.contains("# String: 1"), "{}", with_origins);
}

#[test]
fn cli_resolve_to_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("app.conf");
    std::fs::write(&f, "a = 1\nb { c = ${a} }\n").expect("write");
    assert_eq!(
        hocon_config::resolve_to_json(&f, None, &[], false).expect("json"),
        r#"{"a":1,"b":{"c":1}}"#
    );
    assert_eq!(
        hocon_config::resolve_to_json(&f, Some("b"), &[], false).expect("json"),
        r#"{"c":1}"#
    );
    let with = hocon_config::resolve_to_json(&f, None, &[("ref", "d = 2")], true).expect("json");
    assert!(with.contains(r#""d":2"#), "{}", with);
    std::fs::write(&f, "a = 1\nb = }\n").expect("write");
    let e = hocon_config::resolve_to_json(&f, None, &[], false).expect_err("error");
    assert!(
        e.to_string().starts_with(&format!("{}: 2: ", f.display())),
        "{}",
        e
    );
    let missing = dir.path().join("nope.conf");
    assert!(hocon_config::resolve_to_json(&missing, None, &[], false).is_err());
}
