//! Throwaway certificate authorities for TLS tests, made with the `openssl` command.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::HarnessError;

/// PEM files of a test CA and one node certificate it signed, in the layout of Pekko's
/// `ssl.rotating-keys-engine` (`key-file`, `cert-file`, `ca-cert-file`).
#[derive(Debug, Clone)]
pub struct TestPki {
    /// The node's private key.
    pub key_file: PathBuf,
    /// The node's certificate, signed by the CA.
    pub cert_file: PathBuf,
    /// The CA certificate that peers must trust.
    pub ca_cert_file: PathBuf,
}

impl TestPki {
    /// These files as Rekko's TLS settings (`pekko.remote.artery.ssl.rotating-keys-engine`).
    pub fn tls_settings(&self) -> rekko_remote::TlsSettings {
        rekko_remote::TlsSettings {
            key_file: self.key_file.clone(),
            cert_file: self.cert_file.clone(),
            ca_cert_file: self.ca_cert_file.clone(),
        }
    }
}

/// Creates in `dir` a new CA and an RSA node certificate with CN and DNS SAN `name`, valid for
/// server and client authentication. Two calls make two unrelated CAs.
pub fn test_pki(dir: &Path, name: &str) -> Result<TestPki, HarnessError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| HarnessError::io(format!("creating {}", dir.display()), e))?;
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=rekko-test-ca",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    )?;
    let subject = format!("/CN={name}");
    openssl(
        dir,
        &[
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "tls.key", "-out", "tls.csr",
            "-subj", &subject,
        ],
    )?;
    let extensions = dir.join("ext.cnf");
    std::fs::write(
        &extensions,
        format!(
            "subjectAltName=DNS:{name}\nbasicConstraints=CA:FALSE\n\
             keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n"
        ),
    )
    .map_err(|e| HarnessError::io(format!("writing {}", extensions.display()), e))?;
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "tls.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "tls.crt",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    )?;
    Ok(TestPki {
        key_file: dir.join("tls.key"),
        cert_file: dir.join("tls.crt"),
        ca_cert_file: dir.join("ca.crt"),
    })
}

fn openssl(dir: &Path, args: &[&str]) -> Result<(), HarnessError> {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .map_err(|source| HarnessError::Spawn {
            what: format!("openssl {}", args.first().copied().unwrap_or_default()),
            source,
        })?;
    if out.status.success() {
        return Ok(());
    }
    Err(HarnessError::io(
        format!("openssl {args:?}"),
        std::io::Error::other(String::from_utf8_lossy(&out.stderr).into_owned()),
    ))
}
