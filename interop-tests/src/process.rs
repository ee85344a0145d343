//! Child processes that speak the fixtures' line protocol.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::jar::{fixture_jar, PekkoVersion};
use crate::paths::interop_logs_dir;
use crate::HarnessError;

/// How much of a log an error message quotes.
const LOG_TAIL_BYTES: u64 = 8 * 1024;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A child process whose stdout is a stream of result lines and whose stdin takes commands.
///
/// Stdout lines are copied into the log file (prefixed `stdout| `) and queued for
/// [`read_line`](Self::read_line); stderr goes straight to the log file. The process is killed
/// when the handle is dropped.
pub struct LineProcess {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    log_path: PathBuf,
}

impl LineProcess {
    /// Starts `command` with piped stdin/stdout and its output logged to
    /// `target/interop-logs/<name>-<n>.log`.
    pub fn spawn(name: &str, mut command: Command) -> Result<Self, HarnessError> {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let log_path = interop_logs_dir()?.join(format!("{name}-{}-{id}.log", std::process::id()));
        let log = File::create(&log_path)
            .map_err(|e| HarnessError::io(format!("creating {}", log_path.display()), e))?;
        let stderr_log = log
            .try_clone()
            .map_err(|e| HarnessError::io("duplicating the log file handle", e))?;
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr_log))
            .spawn()
            .map_err(|source| HarnessError::Spawn {
                what: format!("{name} ({command:?})"),
                source,
            })?;
        let stdout = child.stdout.take().ok_or_else(|| {
            HarnessError::io(
                format!("{name}: stdout"),
                std::io::Error::other("not piped"),
            )
        })?;
        let (sender, lines) = mpsc::channel();
        let stdout_log = Arc::new(Mutex::new(log));
        thread::Builder::new()
            .name(format!("{name}-stdout"))
            .spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if let Ok(mut log) = stdout_log.lock() {
                        // The log is a diagnostic copy; a failed write must not stop the reader.
                        let _ = writeln!(log, "stdout| {line}");
                    }
                    if sender.send(line).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| HarnessError::io(format!("{name}: starting the stdout reader"), e))?;
        Ok(LineProcess {
            name: name.to_string(),
            stdin: child.stdin.take(),
            child,
            lines,
            log_path,
        })
    }

    /// The name given at spawn time.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Where this process's log is.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The last few kilobytes of the log.
    pub fn log_tail(&self) -> String {
        read_tail(&self.log_path)
    }

    /// Writes one command line to the process's stdin.
    pub fn send_line(&mut self, line: &str) -> Result<(), HarnessError> {
        let name = self.name.clone();
        let stdin = self.stdin.as_mut().ok_or_else(|| {
            HarnessError::io(
                format!("{name}: stdin"),
                std::io::Error::other("stdin already closed"),
            )
        })?;
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .map_err(|e| HarnessError::io(format!("{name}: writing {line:?}"), e))
    }

    /// The next stdout line, waiting at most `timeout`.
    pub fn read_line(&mut self, timeout: Duration) -> Result<String, HarnessError> {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => Ok(line),
            Err(RecvTimeoutError::Timeout) => Err(HarnessError::Timeout {
                name: self.name.clone(),
                timeout_secs: timeout.as_secs(),
                log: self.log_path.clone(),
                log_tail: self.log_tail(),
            }),
            Err(RecvTimeoutError::Disconnected) => Err(HarnessError::Exited {
                name: self.name.clone(),
                log: self.log_path.clone(),
                log_tail: self.log_tail(),
            }),
        }
    }

    /// Sends a command and returns the first line of the answer.
    pub fn request(&mut self, line: &str, timeout: Duration) -> Result<String, HarnessError> {
        self.send_line(line)?;
        self.read_line(timeout)
    }

    /// Reads lines until one starts with `prefix` and returns it; other lines are skipped.
    pub fn wait_for_prefix(
        &mut self,
        prefix: &str,
        timeout: Duration,
    ) -> Result<String, HarnessError> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.read_line(left).map_err(|error| match error {
                HarnessError::Timeout {
                    name,
                    log,
                    log_tail,
                    ..
                } => HarnessError::NotReady {
                    name,
                    timeout_secs: timeout.as_secs(),
                    log,
                    log_tail,
                },
                other => other,
            })?;
            if line.starts_with(prefix) {
                return Ok(line);
            }
        }
    }

    /// Kills the process with SIGKILL and reaps it.
    pub fn kill(&mut self) -> Result<(), HarnessError> {
        let name = self.name.clone();
        match self.child.try_wait() {
            Ok(Some(_)) => return Ok(()),
            Ok(None) => {}
            Err(e) => return Err(HarnessError::io(format!("{name}: checking exit"), e)),
        }
        self.child
            .kill()
            .map_err(|e| HarnessError::io(format!("{name}: kill"), e))?;
        self.child
            .wait()
            .map(|_| ())
            .map_err(|e| HarnessError::io(format!("{name}: wait"), e))
    }

    /// Sends SIGTERM (as an orchestrator stopping a node would).
    pub fn terminate(&mut self) -> Result<(), HarnessError> {
        let pid = self.pid().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .map(|_| ())
            .map_err(|e| HarnessError::io(format!("{}: kill -TERM", self.name), e))
    }

    /// Closes stdin and waits up to `timeout` for the process to exit; returns whether it did.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<bool, HarnessError> {
        self.stdin = None;
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => return Ok(true),
                Ok(None) if Instant::now() >= deadline => return Ok(false),
                Ok(None) => thread::sleep(Duration::from_millis(20)),
                Err(e) => return Err(HarnessError::io(format!("{}: wait", self.name), e)),
            }
        }
    }
}

impl Drop for LineProcess {
    fn drop(&mut self) {
        // Best effort: a process that already exited has nothing left to kill.
        let _ = self.kill();
    }
}

fn read_tail(path: &Path) -> String {
    let Ok(mut file) = OpenOptions::new().read(true).open(path) else {
        return String::from("<log unreadable>");
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(LOG_TAIL_BYTES);
    if file.seek(SeekFrom::Start(start)).is_err() {
        return String::from("<log unreadable>");
    }
    let mut bytes = Vec::new();
    if file.read_to_end(&mut bytes).is_err() {
        return String::from("<log unreadable>");
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// How to start a JVM fixture: main class, arguments, Pekko version, JVM options.
#[derive(Debug, Clone)]
pub struct FixtureSpec {
    main_class: String,
    name: String,
    args: Vec<String>,
    jvm_options: Vec<String>,
    env: Vec<(String, String)>,
    version: PekkoVersion,
    ready_timeout: Duration,
}

impl FixtureSpec {
    /// A fixture running `main_class` (e.g. `org.rekko.fixtures.EchoNode`) on Pekko 1.7.0.
    pub fn new(main_class: &str) -> Self {
        let short = main_class.rsplit('.').next().unwrap_or(main_class);
        FixtureSpec {
            main_class: main_class.to_string(),
            name: short.to_string(),
            args: Vec::new(),
            jvm_options: vec!["-Xmx512m".into(), "-XX:+UseSerialGC".into()],
            env: Vec::new(),
            version: PekkoVersion::V1_7_0,
            ready_timeout: Duration::from_secs(90),
        }
    }

    /// The name used in logs and errors.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Adds a command-line argument.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Adds command-line arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Adds a JVM option such as `-Xmx1g`.
    pub fn jvm_option(mut self, option: impl Into<String>) -> Self {
        self.jvm_options.push(option.into());
        self
    }

    /// Sets an environment variable for the fixture.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Runs the fixture on another Pekko version.
    pub fn version(mut self, version: PekkoVersion) -> Self {
        self.version = version;
        self
    }

    /// How long to wait for `READY` (default 90 s: JVM start-up on a loaded machine).
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }
}

/// A running JVM fixture that has printed `READY <address>`.
pub struct JvmNode {
    process: LineProcess,
    address: String,
}

impl JvmNode {
    /// Builds the jar if needed, starts the fixture and waits for its `READY` line.
    pub fn start(spec: FixtureSpec) -> Result<Self, HarnessError> {
        let jar = fixture_jar(spec.version)?;
        let mut command = Command::new("java");
        command
            .args(&spec.jvm_options)
            .arg("-cp")
            .arg(&jar)
            .arg(&spec.main_class)
            .args(&spec.args);
        for (key, value) in &spec.env {
            command.env(key, value);
        }
        let mut process = LineProcess::spawn(&spec.name, command)?;
        let ready = process.wait_for_prefix("READY", spec.ready_timeout)?;
        let address = ready.trim_start_matches("READY").trim().to_string();
        Ok(JvmNode { process, address })
    }

    /// What the fixture printed after `READY`: for nodes, the full address such as
    /// `pekko://EchoSystem@127.0.0.1:25520`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Sends a command and returns the first answer line.
    pub fn request(&mut self, line: &str, timeout: Duration) -> Result<String, HarnessError> {
        self.process.request(line, timeout)
    }

    /// The underlying process, for raw line access, kill and logs.
    pub fn process(&mut self) -> &mut LineProcess {
        &mut self.process
    }

    /// Kills the JVM with SIGKILL.
    pub fn kill(&mut self) -> Result<(), HarnessError> {
        self.process.kill()
    }

    /// Asks the fixture to `quit` and waits for it to exit.
    pub fn quit(mut self, timeout: Duration) -> Result<bool, HarnessError> {
        self.process.send_line("quit")?;
        self.process.wait_exit(timeout)
    }
}
