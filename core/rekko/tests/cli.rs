//! The `rekko` binary's public interface: help, version, and honest refusals.

use std::process::Command;

fn rekko(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rekko"))
        .args(args)
        .output()
        .expect("the rekko binary built by cargo runs")
}

#[test]
fn version_prints_the_crate_version() {
    let out = rekko(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("rekko {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn help_lists_every_subcommand() {
    let out = rekko(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for command in ["node", "config", "send", "identify", "journal"] {
        assert!(help.contains(command), "--help lacks {command}:\n{help}");
    }
}

#[test]
fn node_with_a_missing_config_file_fails_naming_it() {
    let out = rekko(&["node", "--config", "/nonexistent/application.conf"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/application.conf"));
}

#[test]
fn unknown_subcommand_is_a_usage_error() {
    let out = rekko(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("frobnicate"));
}

fn write_file(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("the temporary directory is writable");
    path.display().to_string()
}

#[test]
fn config_resolve_prints_the_resolved_file_as_concise_json() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = write_file(
        &dir,
        "app.conf",
        "a { b = 10, c = ${a.b}\" seconds\" }\nlist = [1, 2] ${extra}\nextra = [3]\n",
    );
    let out = rekko(&["config", "resolve", &file]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        r#"{"a":{"b":10,"c":"10 seconds"},"extra":[3],"list":[1,2,3]}"#
    );
    let out = rekko(&["config", "resolve", &file, "--path", "a.c"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        r#""10 seconds""#
    );
}

#[test]
fn config_resolve_with_defaults_layers_the_file_over_pekko_defaults() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = write_file(
        &dir,
        "application.conf",
        "pekko.remote.artery.canonical.port = 25520\n",
    );
    let out = rekko(&[
        "config",
        "resolve",
        &file,
        "--with-defaults",
        "--path",
        "pekko.remote.artery",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let artery: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("concise JSON on stdout");
    assert_eq!(artery["canonical"]["port"], 25520);
    // Pekko's reference.conf default for a key the file does not set.
    assert_eq!(artery["advanced"]["handshake-timeout"], "20 seconds");
}

#[test]
fn config_resolve_rejects_invalid_input_with_file_and_line() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = write_file(&dir, "bad.conf", "a {\n  b = 1\n  c = ${missing}\n}\n");
    let out = rekko(&["config", "resolve", &file]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!("{file}:3: ")),
        "stderr: {stderr}"
    );
    assert!(stderr.contains("${missing}"), "stderr: {stderr}");

    let file = write_file(&dir, "syntax.conf", "a = 1\nb = {\n");
    let out = rekko(&["config", "resolve", &file]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).starts_with(&format!("{file}:")));
}

#[test]
fn config_resolve_of_a_missing_file_fails_and_names_it() {
    let out = rekko(&["config", "resolve", "/nonexistent/rekko/app.conf"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/rekko/app.conf"));
}
