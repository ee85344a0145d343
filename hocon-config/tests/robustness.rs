//! Bad or extreme input never panics or overflows the stack; errors carry line numbers.

use hocon_config::{Config, ErrorKind, ResolveOptions};

#[test]
fn ten_thousand_deep_objects() {
    let depth = 10_000;
    let text = format!("{}{}", "a:{".repeat(depth), "}".repeat(depth));
    let c = Config::parse_string(&text).expect("deep nesting parses");
    let c = c.resolve().expect("resolves");
    let path = vec!["a"; depth].join(".");
    assert!(c.get_config(&path).expect("innermost").is_empty());
    let rendered = c.render_concise();
    assert_eq!(
        rendered,
        format!("{}{{}}{}", "{\"a\":".repeat(depth), "}".repeat(depth))
    );
}

#[test]
fn ten_thousand_deep_arrays_and_unbalanced() {
    let depth = 10_000;
    let ok = format!("a = {}{}", "[".repeat(depth), "]".repeat(depth));
    assert!(Config::parse_string(&ok).and_then(|c| c.resolve()).is_ok());
    let bad = format!("a = {}", "[".repeat(depth));
    let e = Config::parse_string(&bad).expect_err("unclosed arrays fail");
    assert_eq!(e.kind(), ErrorKind::Parse);
    assert_eq!(e.line(), Some(1));
}

#[test]
fn nesting_beyond_limit_is_a_clean_error() {
    let depth = hocon_config::MAX_NESTING as usize + 1;
    let text = format!("{}{}", "a:{".repeat(depth), "}".repeat(depth));
    let e = Config::parse_string(&text).expect_err("too deep");
    assert_eq!(e.kind(), ErrorKind::Parse);
    assert!(e.line().is_some());
}

#[test]
fn ten_thousand_link_substitution_chain() {
    let n = 10_000;
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&format!("k{} = ${{k{}}}\n", i, i + 1));
    }
    text.push_str(&format!("k{} = end\n", n));
    let c = Config::parse_string(&text)
        .expect("parses")
        .resolve_with_options(ResolveOptions::no_system())
        .expect("chain resolves");
    assert_eq!(c.get_string("k0").expect("k0"), "end");
    // and a chain closed into a cycle is an error naming the substitution
    let mut cyc = String::new();
    for i in 0..n {
        cyc.push_str(&format!("k{} = ${{k{}}}\n", i, (i + 1) % n));
    }
    let e = Config::parse_string(&cyc)
        .expect("parses")
        .resolve_with_options(ResolveOptions::no_system())
        .expect_err("cycle");
    assert_eq!(e.kind(), ErrorKind::UnresolvedSubstitution);
    assert!(e.line().is_some());
}

#[test]
fn fifty_megabyte_string() {
    let big = "x".repeat(50 * 1024 * 1024);
    let text = format!("a = \"{}\"\nb = ${{a}}", big);
    let c = Config::parse_string(&text)
        .expect("parses")
        .resolve()
        .expect("resolves");
    assert_eq!(c.get_string("b").expect("b").len(), big.len());
}

#[test]
fn invalid_utf8_is_an_error_with_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("bad.conf");
    std::fs::write(&f, b"a = 1\nb = \"\xff\xfe\"\n").expect("write");
    let e = Config::parse_file(&f).expect_err("invalid utf-8");
    assert_eq!(e.kind(), ErrorKind::Parse);
    assert_eq!(e.line(), Some(2));
    assert!(
        e.to_string().starts_with(&format!("{}: 2:", f.display())),
        "{}",
        e
    );
    let e = Config::parse_reader(&b"x = 1\n\xc3"[..], &Default::default())
        .expect_err("truncated utf-8");
    assert_eq!(e.line(), Some(2));
}

#[test]
fn errors_read_like_lightbend() {
    let e = Config::parse_string("a {\n  b = 1\n}\nc = ${a.x}")
        .expect("parses")
        .resolve()
        .expect_err("missing");
    assert_eq!(
        e.to_string(),
        "String: 4: Could not resolve substitution to a value: ${a.x}"
    );
    let c = Config::parse_string("a = 1").expect("parses");
    let e = c.get_string("pekko.remote.artery").expect_err("missing");
    assert_eq!(
        e.to_string(),
        "String: 1: No configuration setting found for key 'pekko'"
    );
    let e = Config::parse_string("a = 1\nb = }").expect_err("syntax");
    assert_eq!(e.line(), Some(2));
}
