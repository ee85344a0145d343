//! Key and trust stores made by the JDK's `keytool` at test time, as Pekko's
//! `ConfigSSLEngineProvider` reads them (`pekko.remote.artery.ssl.config-ssl-engine`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::requirements::running_in_ci;
use crate::HarnessError;

/// The `keytool` of `JAVA_HOME`, else the one on `PATH`.
///
/// Without one it prints that `test` is skipped and returns `None`, except under `CI=true`,
/// where it panics so that the test fails.
pub fn keytool_or_skip(test: &str) -> Option<PathBuf> {
    let candidates = std::env::var_os("JAVA_HOME")
        .map(|home| PathBuf::from(home).join("bin/keytool"))
        .into_iter()
        .chain(std::iter::once(PathBuf::from("keytool")));
    for keytool in candidates {
        if Command::new(&keytool).arg("-help").output().is_ok() {
            return Some(keytool);
        }
    }
    let reason = format!("{test}: needs keytool (it comes with the JDK 17 the fixtures use)");
    assert!(!running_in_ci(), "{reason}; it is required under CI=true");
    eprintln!("SKIPPED {reason}");
    None
}

/// Creates in `dir` a key store `<name>.p12` of type `store_type` (`PKCS12`, `JKS`, ...) with a
/// self-signed 2048-bit RSA key pair for `CN=<name>` (SAN `localhost` and `127.0.0.1`), and a
/// trust store `<name>-trust.p12` of the same type holding its certificate, both protected by
/// `password`. Returns the key store and trust store paths; files of an earlier run are
/// replaced.
pub fn keytool_stores(
    keytool: &Path,
    dir: &Path,
    name: &str,
    store_type: &str,
    password: &str,
) -> Result<(PathBuf, PathBuf), HarnessError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| HarnessError::io(format!("creating {}", dir.display()), e))?;
    let key_store = dir.join(format!("{name}.p12"));
    let trust_store = dir.join(format!("{name}-trust.p12"));
    let cert = dir.join(format!("{name}.crt"));
    for file in [&key_store, &trust_store, &cert] {
        match std::fs::remove_file(file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(HarnessError::io(format!("removing {}", file.display()), e));
            }
            _ => {}
        }
    }
    let (ks, ts, crt) = (
        key_store.display().to_string(),
        trust_store.display().to_string(),
        cert.display().to_string(),
    );
    let dname = format!("CN={name}");
    let store = [
        "-storetype",
        store_type,
        "-storepass",
        password,
        "-alias",
        name,
    ];
    run(
        keytool,
        &[
            &["-genkeypair", "-keystore", &ks, "-keypass", password][..],
            &store,
            &["-keyalg", "RSA", "-keysize", "2048", "-dname", &dname],
            &["-validity", "365", "-ext", "SAN=dns:localhost,ip:127.0.0.1"],
        ]
        .concat(),
    )?;
    run(
        keytool,
        &[
            &["-exportcert", "-keystore", &ks, "-file", &crt][..],
            &store,
        ]
        .concat(),
    )?;
    run(
        keytool,
        &[
            &["-importcert", "-noprompt", "-keystore", &ts, "-file", &crt][..],
            &store,
        ]
        .concat(),
    )?;
    Ok((key_store, trust_store))
}

/// Runs `keytool` with `args` (for stores [`keytool_stores`] does not make: another key
/// password, another key algorithm, a conversion with `-importkeystore`); an error carries
/// keytool's output.
pub fn keytool_run(keytool: &Path, args: &[&str]) -> Result<(), HarnessError> {
    run(keytool, args)
}

fn run(keytool: &Path, args: &[&str]) -> Result<(), HarnessError> {
    let out = Command::new(keytool)
        .args(args)
        .output()
        .map_err(|source| HarnessError::Spawn {
            what: format!("keytool {}", args.first().copied().unwrap_or_default()),
            source,
        })?;
    if out.status.success() {
        return Ok(());
    }
    Err(HarnessError::io(
        format!("keytool {args:?}"),
        std::io::Error::other(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )),
    ))
}
