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
fn unavailable_commands_say_so_and_fail() {
    let out = rekko(&["journal", "ids"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not yet available"));
}

#[test]
fn unknown_subcommand_is_a_usage_error() {
    let out = rekko(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("frobnicate"));
}
