//! Building the fixture jar from `jvm-fixtures/`, once per test run.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

use crate::paths::{repo_root, target_dir};
use crate::HarnessError;

/// The Pekko version a fixture jar is built against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PekkoVersion {
    /// Pekko 1.7.0, the default.
    V1_7_0,
    /// Pekko 1.0.3 (Maven profile `pekko-1.0.3`).
    V1_0_3,
}

impl PekkoVersion {
    /// The version string, e.g. `1.7.0`.
    pub fn as_str(self) -> &'static str {
        match self {
            PekkoVersion::V1_7_0 => "1.7.0",
            PekkoVersion::V1_0_3 => "1.0.3",
        }
    }

    /// Maven's build directory for this version, relative to `jvm-fixtures/`.
    fn build_dir(self) -> &'static str {
        match self {
            PekkoVersion::V1_7_0 => "target",
            PekkoVersion::V1_0_3 => "target-pekko-1.0.3",
        }
    }

    fn maven_args(self) -> &'static [&'static str] {
        match self {
            PekkoVersion::V1_7_0 => &[],
            PekkoVersion::V1_0_3 => &["-Ppekko-1.0.3"],
        }
    }
}

static BUILT: OnceLock<Mutex<HashMap<PekkoVersion, PathBuf>>> = OnceLock::new();

/// The shaded fixture jar for `version`, built with `mvn -B -q package` the first time it is
/// asked for in this process, and only when a source file or the pom is newer than the jar.
///
/// Test processes that run at the same time take turns through a lock file in the build
/// directory, and each gets an immutable copy of the jar under `target/interop-jars/`, so a
/// rebuild never changes the classes of a fixture that is already running.
pub fn fixture_jar(version: PekkoVersion) -> Result<PathBuf, HarnessError> {
    let built = BUILT.get_or_init(|| Mutex::new(HashMap::new()));
    // A poisoned lock only means another test panicked while building; the map is still valid.
    let mut built = built
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(jar) = built.get(&version) {
        return Ok(jar.clone());
    }
    let project = repo_root().join("jvm-fixtures");
    let build_dir = project.join(version.build_dir());
    let jar = build_dir.join("rekko-jvm-fixtures.jar");
    let _build_lock = lock_build_dir(&build_dir)?;
    if !jar_is_fresh(&project, &jar) {
        build(&project, version)?;
    }
    if !jar.is_file() {
        return Err(HarnessError::MissingJar(jar));
    }
    let snapshot = snapshot(&jar, version)?;
    built.insert(version, snapshot.clone());
    Ok(snapshot)
}

/// Holds an exclusive lock on `<build dir>/.rekko-harness.lock` until dropped.
fn lock_build_dir(build_dir: &Path) -> Result<File, HarnessError> {
    std::fs::create_dir_all(build_dir)
        .map_err(|e| HarnessError::io(format!("creating {}", build_dir.display()), e))?;
    let path = build_dir.join(".rekko-harness.lock");
    let file = File::create(&path)
        .map_err(|e| HarnessError::io(format!("creating {}", path.display()), e))?;
    file.lock()
        .map_err(|e| HarnessError::io(format!("locking {}", path.display()), e))?;
    Ok(file)
}

/// Copies the jar to `target/interop-jars/<version>-<length>-<mtime>.jar` (once per content),
/// writing a temporary file first and renaming it into place.
fn snapshot(jar: &Path, version: PekkoVersion) -> Result<PathBuf, HarnessError> {
    let metadata = std::fs::metadata(jar)
        .map_err(|e| HarnessError::io(format!("reading {}", jar.display()), e))?;
    let stamp = metadata
        .modified()
        .ok()
        .and_then(|time| time.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |since| since.as_nanos());
    let dir = target_dir().join("interop-jars");
    std::fs::create_dir_all(&dir)
        .map_err(|e| HarnessError::io(format!("creating {}", dir.display()), e))?;
    let copy = dir.join(format!(
        "rekko-jvm-fixtures-{}-{}-{stamp}.jar",
        version.as_str(),
        metadata.len()
    ));
    if copy.is_file() {
        return Ok(copy);
    }
    let partial = dir.join(format!(
        ".{}.partial-{}",
        version.as_str(),
        std::process::id()
    ));
    std::fs::copy(jar, &partial)
        .and_then(|_| std::fs::rename(&partial, &copy))
        .map_err(|e| {
            HarnessError::io(
                format!("copying {} to {}", jar.display(), copy.display()),
                e,
            )
        })?;
    Ok(copy)
}

fn build(project: &Path, version: PekkoVersion) -> Result<(), HarnessError> {
    let output = Command::new("mvn")
        .args(["-B", "-q", "package", "-DskipTests"])
        .args(version.maven_args())
        .current_dir(project)
        .output()
        .map_err(|source| HarnessError::Spawn {
            what: format!("mvn package in {}", project.display()),
            source,
        })?;
    if output.status.success() {
        return Ok(());
    }
    Err(HarnessError::FixtureBuild {
        status: output.status.to_string(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    })
}

/// True when the jar exists and is newer than the pom and every file under `src/`.
fn jar_is_fresh(project: &Path, jar: &Path) -> bool {
    let Some(jar_time) = modified(jar) else {
        return false;
    };
    let mut newest = modified(&project.join("pom.xml"));
    let mut pending = vec![project.join("src")];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if let Some(time) = modified(&path) {
                newest = Some(newest.map_or(time, |n| n.max(time)));
            }
        }
    }
    newest.is_some_and(|newest| newest <= jar_time)
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}
