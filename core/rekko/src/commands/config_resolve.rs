//! `rekko config resolve FILE [--path P] [--with-defaults]`.

use std::process::ExitCode;

use hocon_config::{resolve_to_json, ConfigError};

use super::FAILED;
use crate::cli::ResolveArgs;
use rekko::bundled_references;

/// Prints the concise JSON of the resolved file; on invalid input prints `FILE:LINE: message`
/// on stderr, nothing on stdout, and fails.
pub fn run(args: &ResolveArgs) -> ExitCode {
    let references = if args.with_defaults {
        bundled_references()
    } else {
        Vec::new()
    };
    match resolve_to_json(
        &args.file,
        args.path.as_deref(),
        &references,
        args.with_defaults,
    ) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{}", located(&error, &args.file.display().to_string()));
            ExitCode::from(FAILED)
        }
    }
}

/// `FILE:LINE: message`, naming the file the error is in (an included file, or `file` itself).
pub(crate) fn located(error: &ConfigError, file: &str) -> String {
    let source = error
        .origin()
        .map(origin_source)
        .filter(|source| !source.is_empty())
        .unwrap_or(file);
    match error.line() {
        Some(line) => format!("{source}:{line}: {}", error.message()),
        None => format!("{source}: {}", error.message()),
    }
}

/// The source part of an origin description such as `app.conf: 12` or `app.conf: 3-5`.
fn origin_source(description: &str) -> &str {
    match description.rsplit_once(": ") {
        Some((source, lines)) if lines.chars().all(|c| c.is_ascii_digit() || c == '-') => source,
        _ => description,
    }
}

#[cfg(test)]
mod tests {
    use super::origin_source;

    #[test]
    fn origin_source_drops_the_line_part_only() {
        assert_eq!(origin_source("app.conf: 12"), "app.conf");
        assert_eq!(origin_source("app.conf: 3-5"), "app.conf");
        assert_eq!(origin_source("String"), "String");
        assert_eq!(origin_source("a: b.conf: 7"), "a: b.conf");
    }
}
