//! Log set-up for tests: plain output to the test writer, or a capture that tests can search.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use crate::JvmNode;

/// Installs a `tracing` subscriber writing to the test output, filtered by `RUST_LOG` (default
/// `info`). Later calls (and calls after another subscriber was installed) do nothing.
pub fn init_test_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_test_writer()
        .try_init();
}

/// Installs (once per test binary) a `tracing` subscriber that keeps every log line in memory
/// and also writes it to stderr, filtered by `RUST_LOG` (default `info`); returns the buffer.
/// Tests read it with [`captured_log`] and [`captured_log_line`].
pub fn capture_logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "info".into()),
            )
            .with_ansi(false)
            .with_writer(move || Capture(sink.clone()))
            .try_init();
        logs
    })
}

/// Everything logged since [`capture_logs`] was first called.
pub fn captured_log() -> String {
    capture_logs()
        .lock()
        .map(|l| String::from_utf8_lossy(&l).into_owned())
        .unwrap_or_default()
}

/// The first captured log line containing every one of `needles`, if any.
pub fn captured_log_line(needles: &[&str]) -> Option<String> {
    captured_log()
        .lines()
        .find(|l| needles.iter().all(|n| l.contains(n)))
        .map(str::to_string)
}

/// The first line of a fixture's log (its stdout and stderr) containing every one of
/// `needles`, if any.
pub fn fixture_log_line(node: &mut JvmNode, needles: &[&str]) -> Option<String> {
    let text = std::fs::read_to_string(node.process().log_path()).ok()?;
    text.lines()
        .find(|l| needles.iter().all(|n| l.contains(n)))
        .map(str::to_string)
}

/// Writes to the capture buffer and to stderr.
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut logs) = self.0.lock() {
            logs.extend_from_slice(buf);
        }
        std::io::stderr().write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
