//! Java key stores as Pekko's `ssl.config-ssl-engine` reads them: the
//! `key-store` holding this node's private key and certificate chain, and the
//! `trust-store` holding the certificates it trusts.
//!
//! PKCS12 (the JDK's default key store type since Java 9, what `keytool
//! -genkeypair` writes) is decoded with the `p12-keystore` crate, which
//! handles the JDK's PBES2/AES output as well as the older 3DES/RC2 schemes.
//! JKS and JCEKS files are recognised by their magic number and refused with
//! the `keytool` command that converts them.

use std::path::Path;

use p12_keystore::{KeyStore, KeyStoreEntry, Pkcs12ImportPolicy};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// What went wrong reading a key store, naming the config key and the file.
#[derive(Debug, thiserror::Error)]
pub enum KeyStoreError {
    /// The file could not be read.
    #[error("{key} {path}: cannot read: {source}")]
    Read {
        /// The config key naming the file (`key-store`, `trust-store`).
        key: String,
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is a JKS or JCEKS store, which Rekko does not read.
    #[error(
        "{key} {path}: is a {kind} key store; Rekko reads PKCS12 (convert it with \
         `keytool -importkeystore -srckeystore {path} -destkeystore {path}.p12 -deststoretype PKCS12`)"
    )]
    UnsupportedType {
        /// The config key naming the file.
        key: String,
        /// The file.
        path: String,
        /// `JKS` or `JCEKS`.
        kind: &'static str,
    },
    /// The password does not open the store (integrity check or decryption
    /// failed).
    #[error("{key} {path}: wrong {password_key} (the store's integrity check or decryption failed: {detail})")]
    WrongPassword {
        /// The config key naming the file.
        key: String,
        /// The file.
        path: String,
        /// The config key holding the password.
        password_key: String,
        /// The decoder's message.
        detail: String,
    },
    /// The file is not a PKCS12 store.
    #[error("{key} {path}: not a PKCS12 key store: {detail}")]
    Malformed {
        /// The config key naming the file.
        key: String,
        /// The file.
        path: String,
        /// The decoder's message.
        detail: String,
    },
    /// The key store holds no private key entry with its certificate.
    #[error("{key} {path}: holds no private key entry (a key with its certificate chain, as `keytool -genkeypair` makes)")]
    NoPrivateKey {
        /// The config key naming the file.
        key: String,
        /// The file.
        path: String,
    },
    /// The trust store holds no certificate.
    #[error("{key} {path}: holds no trusted certificate")]
    NoTrustedCertificate {
        /// The config key naming the file.
        key: String,
        /// The file.
        path: String,
    },
    /// `key-password` differs from `key-store-password`; a PKCS12 store
    /// protects its keys with the store password.
    #[error(
        "{path}: key-password differs from key-store-password, but a PKCS12 key store \
         protects its keys with the store password (keytool ignores a different -keypass for PKCS12)"
    )]
    KeyPasswordDiffers {
        /// The key store file.
        path: String,
    },
}

/// The private key entry of a key store: the certificate chain (leaf first)
/// and the PKCS#8 private key.
pub struct KeyEntry {
    /// The entry's alias.
    pub alias: String,
    /// The certificate chain, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The private key (PKCS#8).
    pub key: PrivateKeyDer<'static>,
}

impl std::fmt::Debug for KeyEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyEntry")
            .field("alias", &self.alias)
            .field("chain_len", &self.chain.len())
            .finish_non_exhaustive()
    }
}

const JKS_MAGIC: [u8; 4] = [0xFE, 0xED, 0xFE, 0xED];
const JCEKS_MAGIC: [u8; 4] = [0xCE, 0xCE, 0xCE, 0xCE];

/// Decodes PKCS12 bytes with `password`. `key` and `password_key` are the
/// config keys named in errors, `path` the file.
pub fn parse_pkcs12(
    bytes: &[u8],
    password: &str,
    key: &str,
    password_key: &str,
    path: &str,
) -> Result<KeyStore, KeyStoreError> {
    let kind = match bytes.get(..4) {
        Some(m) if m == JKS_MAGIC => Some("JKS"),
        Some(m) if m == JCEKS_MAGIC => Some("JCEKS"),
        _ => None,
    };
    if let Some(kind) = kind {
        return Err(KeyStoreError::UnsupportedType {
            key: key.into(),
            path: path.into(),
            kind,
        });
    }
    KeyStore::from_pkcs12(bytes, password, Pkcs12ImportPolicy::Strict).map_err(|e| {
        use p12_keystore::error::Error as E;
        match e {
            E::MacError(_) | E::UnpadError | E::Pkcs5Error(_) | E::InvalidPrivateKey => {
                KeyStoreError::WrongPassword {
                    key: key.into(),
                    path: path.into(),
                    password_key: password_key.into(),
                    detail: e.to_string(),
                }
            }
            other => KeyStoreError::Malformed {
                key: key.into(),
                path: path.into(),
                detail: other.to_string(),
            },
        }
    })
}

fn read(path: &Path, key: &str) -> Result<Vec<u8>, KeyStoreError> {
    std::fs::read(path).map_err(|source| KeyStoreError::Read {
        key: key.into(),
        path: path.display().to_string(),
        source,
    })
}

/// The private key entry of a key store (`key-store`). Like the JDK's
/// `SunX509` key manager with one key, the first private key entry (by
/// alias) is used. `key_password` must equal `store_password`.
pub fn key_entry_from_bytes(
    bytes: &[u8],
    store_password: &str,
    key_password: &str,
    path: &str,
) -> Result<KeyEntry, KeyStoreError> {
    let store = parse_pkcs12(
        bytes,
        store_password,
        "key-store",
        "key-store-password",
        path,
    )?;
    let (alias, chain) = store
        .private_key_chain()
        .filter(|(_, c)| !c.certs().is_empty())
        .ok_or_else(|| KeyStoreError::NoPrivateKey {
            key: "key-store".into(),
            path: path.into(),
        })?;
    if key_password != store_password {
        return Err(KeyStoreError::KeyPasswordDiffers { path: path.into() });
    }
    Ok(KeyEntry {
        alias: alias.to_string(),
        chain: chain
            .certs()
            .iter()
            .map(|c| CertificateDer::from(c.as_der().to_vec()))
            .collect(),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(chain.key().as_der().to_vec())),
    })
}

/// The certificates a trust store (`trust-store`) makes trusted: its trusted
/// certificate entries and, as the JDK's trust manager does, the leaf
/// certificate of each private key entry.
pub fn trusted_from_bytes(
    bytes: &[u8],
    password: &str,
    path: &str,
) -> Result<Vec<CertificateDer<'static>>, KeyStoreError> {
    let store = parse_pkcs12(bytes, password, "trust-store", "trust-store-password", path)?;
    let certs: Vec<CertificateDer<'static>> = store
        .entries()
        .filter_map(|(_, e)| match e {
            KeyStoreEntry::Certificate(c) => Some(c.as_der().to_vec()),
            KeyStoreEntry::PrivateKeyChain(k) => k.certs().first().map(|c| c.as_der().to_vec()),
            KeyStoreEntry::Secret(_) => None,
        })
        .map(CertificateDer::from)
        .collect();
    if certs.is_empty() {
        return Err(KeyStoreError::NoTrustedCertificate {
            key: "trust-store".into(),
            path: path.into(),
        });
    }
    Ok(certs)
}

/// Reads the private key entry of the key store file `path`.
pub fn load_key_entry(
    path: &Path,
    store_password: &str,
    key_password: &str,
) -> Result<KeyEntry, KeyStoreError> {
    let bytes = read(path, "key-store")?;
    key_entry_from_bytes(
        &bytes,
        store_password,
        key_password,
        &path.display().to_string(),
    )
}

/// Reads the trusted certificates of the trust store file `path`.
pub fn load_trusted(
    path: &Path,
    password: &str,
) -> Result<Vec<CertificateDer<'static>>, KeyStoreError> {
    let bytes = read(path, "trust-store")?;
    trusted_from_bytes(&bytes, password, &path.display().to_string())
}

/// Key stores made by the JDK's `keytool` for tests.
#[cfg(test)]
pub(crate) mod testing {
    use std::path::PathBuf;

    use rekko_interop_tests::{keytool_or_skip, keytool_stores};

    /// Two self-signed identities, `node-a` and `node-b` (key store and
    /// trust store each, PKCS12, password `changeit`), made once per test run.
    pub struct Shared {
        /// `node-a.p12`, `node-a-trust.p12`.
        pub a: (PathBuf, PathBuf),
        /// `node-b.p12`, `node-b-trust.p12`.
        pub b: (PathBuf, PathBuf),
        _dir: tempfile::TempDir,
    }

    /// The shared stores, or `None` (printed skip) without `keytool`; under
    /// `CI=true` a missing `keytool` fails the test.
    pub fn shared() -> Option<&'static Shared> {
        static SHARED: std::sync::OnceLock<Option<Shared>> = std::sync::OnceLock::new();
        SHARED
            .get_or_init(|| {
                let kt = keytool_or_skip("rekko-remote key store tests")?;
                let dir = tempfile::tempdir().expect("temp dir");
                let make = |name| {
                    keytool_stores(&kt, dir.path(), name, "PKCS12", "changeit")
                        .expect("keytool makes the test stores")
                };
                let (a, b) = (make("node-a"), make("node-b"));
                Some(Shared { a, b, _dir: dir })
            })
            .as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jks_and_jceks_are_named() {
        let mut jks = JKS_MAGIC.to_vec();
        jks.extend_from_slice(&[0, 0, 0, 2]);
        let e = key_entry_from_bytes(&jks, "p", "p", "/x/ks.jks").unwrap_err();
        assert!(
            matches!(e, KeyStoreError::UnsupportedType { kind: "JKS", .. }),
            "{e}"
        );
        assert!(e.to_string().contains("key-store /x/ks.jks"), "{e}");
        let e = trusted_from_bytes(&JCEKS_MAGIC, "p", "/x/ts").unwrap_err();
        assert!(
            matches!(e, KeyStoreError::UnsupportedType { kind: "JCEKS", .. }),
            "{e}"
        );
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        let e = trusted_from_bytes(b"not a key store", "p", "/x/ts").unwrap_err();
        assert!(matches!(e, KeyStoreError::Malformed { .. }), "{e}");
        assert!(e.to_string().starts_with("trust-store /x/ts: "), "{e}");
        let e = key_entry_from_bytes(&[], "p", "p", "/x/ks").unwrap_err();
        assert!(matches!(e, KeyStoreError::Malformed { .. }), "{e}");
    }

    #[test]
    fn missing_file_names_key_and_path() {
        let e = load_key_entry(Path::new("/nonexistent/keystore.p12"), "a", "a").unwrap_err();
        assert!(matches!(e, KeyStoreError::Read { .. }));
        assert!(
            e.to_string()
                .starts_with("key-store /nonexistent/keystore.p12: cannot read"),
            "{e}"
        );
        let e = load_trusted(Path::new("/nonexistent/truststore.p12"), "a").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("trust-store /nonexistent/truststore.p12"),
            "{e}"
        );
    }

    #[test]
    fn keytool_stores_load() {
        let Some(shared) = testing::shared() else {
            return;
        };
        let (ks, ts) = &shared.a;
        let entry = load_key_entry(ks, "changeit", "changeit").unwrap();
        assert_eq!(entry.alias, "node-a");
        assert_eq!(entry.chain.len(), 1);
        assert!(matches!(entry.key, PrivateKeyDer::Pkcs8(_)));
        let trusted = load_trusted(ts, "changeit").unwrap();
        assert_eq!(trusted, entry.chain);
        // A key store also trusts its own key entry's certificate, as the
        // JDK's trust manager does.
        assert_eq!(load_trusted(ks, "changeit").unwrap(), entry.chain);

        let e = load_key_entry(ks, "wrong", "wrong").unwrap_err();
        assert!(matches!(e, KeyStoreError::WrongPassword { .. }), "{e}");
        let msg = e.to_string();
        assert!(
            msg.contains(&format!("key-store {}", ks.display())),
            "{msg}"
        );
        assert!(msg.contains("wrong key-store-password"), "{msg}");
        let e = load_trusted(ts, "wrong").unwrap_err();
        assert!(e.to_string().contains("wrong trust-store-password"), "{e}");

        let e = load_key_entry(ts, "changeit", "changeit").unwrap_err();
        assert!(matches!(e, KeyStoreError::NoPrivateKey { .. }), "{e}");
        assert!(e.to_string().contains(&ts.display().to_string()), "{e}");

        let e = load_key_entry(ks, "changeit", "other").unwrap_err();
        assert!(matches!(e, KeyStoreError::KeyPasswordDiffers { .. }), "{e}");
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = key_entry_from_bytes(&bytes, "changeit", "changeit", "fuzz");
            let _ = trusted_from_bytes(&bytes, "changeit", "fuzz");
        }
    }
}
