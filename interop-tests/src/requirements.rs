//! Whether the JVM tools the interop tests need are here, and what to do when they are not.

use std::process::{Command, Stdio};

/// True when the `CI` environment variable is `true` (or `1`).
pub fn running_in_ci() -> bool {
    matches!(
        std::env::var("CI")
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Ok("true") | Ok("1")
    )
}

fn tool_runs(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|status| status.success())
        .unwrap_or(false)
}

/// Checks that `java` and `mvn` can run.
///
/// Returns `true` when they can. When one is missing it returns `false` after printing that the
/// test is skipped and why, except under `CI=true`, where it panics so that the test fails.
pub fn jvm_available_or_fail(test: &str) -> bool {
    let missing: Vec<&str> = [("java", "-version"), ("mvn", "-version")]
        .into_iter()
        .filter(|(program, arg)| !tool_runs(program, arg))
        .map(|(program, _)| program)
        .collect();
    if missing.is_empty() {
        return true;
    }
    let reason = format!(
        "{test}: needs {} on PATH (Java 17 and Maven build and run the JVM Pekko fixtures)",
        missing.join(" and ")
    );
    if running_in_ci() {
        panic!("{reason}; CI=true, so a missing JVM is a failure");
    }
    eprintln!("SKIPPED {reason}");
    false
}

/// Returns from the calling test unless `java` and `mvn` are available; under `CI=true` their
/// absence fails the test instead.
#[macro_export]
macro_rules! require_jvm {
    () => {
        if !$crate::jvm_available_or_fail(module_path!()) {
            return $crate::Skipped::skipped();
        }
    };
}

/// The value a test returns when [`require_jvm!`] skips it: `()` or `Ok(())`.
pub trait Skipped {
    /// The "nothing was tested" value.
    fn skipped() -> Self;
}

impl Skipped for () {
    fn skipped() -> Self {}
}

impl<E> Skipped for Result<(), E> {
    fn skipped() -> Self {
        Ok(())
    }
}
