//! Java key stores as Pekko's `ssl.config-ssl-engine` reads them: the
//! `key-store` holding this node's private key and certificate chain, and the
//! `trust-store` holding the certificates it trusts.
//!
//! The format is recognised by the file's first bytes, not its name:
//! - PKCS12 (the JDK's default key store type since Java 9, what `keytool
//!   -genkeypair` writes) is decoded with the `p12-keystore` crate, which
//!   handles the JDK's PBES2/AES output as well as the older 3DES/RC2 schemes;
//! - JKS (magic `FEEDFEED`, the default up to Java 8 and still read by every
//!   JDK) is decoded by [`jks`]: the store password checks the file's
//!   integrity digest, `key-password` recovers the private keys;
//! - JCEKS (magic `CECECECE`) is refused with the `keytool` command that
//!   converts it.
//!
//! The JDK writes EC private keys (`keytool -keyalg EC`) as PKCS#8 without
//! the optional public key, which rustls's ring provider needs; for P-256
//! and P-384 keys [`complete_ec_key`] recomputes the public point from the
//! private scalar and writes the PKCS#8 form ring reads.
//!
//! [`key_entry_from_bytes`] and [`trusted_from_bytes`] are the entry points
//! for bytes already in memory (the fuzz targets call them);
//! [`load_key_entry`] and [`load_trusted`] read the file first.

use std::path::Path;

use p12_keystore::{KeyStore, KeyStoreEntry, Pkcs12ImportPolicy};
use pkcs8::der::asn1::AnyRef;
use pkcs8::der::{Decode, Reader, SliceReader, TagNumber, Tagged};
use pkcs8::spki::ObjectIdentifier;
use pkcs8::{EncodePrivateKey, PrivateKeyInfoRef};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

#[path = "jks.rs"]
pub mod jks;

use jks::{JksEntryKind, JksError, JCEKS_MAGIC, JKS_MAGIC};

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
    /// The file is a JCEKS store, which Rekko does not read.
    #[error(
        "{key} {path}: is a {kind} key store; Rekko reads PKCS12 and JKS (convert it with \
         `keytool -importkeystore -srckeystore {path} -srcstoretype {kind} -destkeystore {path}.p12 -deststoretype PKCS12`)"
    )]
    UnsupportedType {
        /// The config key naming the file.
        key: String,
        /// The file.
        path: String,
        /// `JCEKS`.
        kind: &'static str,
    },
    /// The password does not open the store (integrity check or decryption
    /// failed), or, for JKS, `key-password` does not recover a private key.
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
    /// The file is not a readable PKCS12 or JKS store.
    #[error("{key} {path}: not a readable {format} key store: {detail}")]
    Malformed {
        /// The config key naming the file.
        key: String,
        /// The file.
        path: String,
        /// `PKCS12` or `JKS`, as the first bytes say.
        format: &'static str,
        /// The decoder's message (for JKS with the byte offset and entry
        /// alias).
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
    /// The private key entry holds a key Rekko cannot use (an EC key on a
    /// curve other than P-256 and P-384, or a malformed EC key).
    #[error("key-store {path} (alias {alias}): {detail}")]
    UnusableKey {
        /// The key store file.
        path: String,
        /// The entry's alias.
        alias: String,
        /// What is wrong with the key.
        detail: String,
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

/// A key store format, as the first bytes of the file say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreFormat {
    /// PKCS12 (anything that is not JKS or JCEKS is read as PKCS12).
    Pkcs12,
    /// JKS, magic `FEEDFEED`.
    Jks,
    /// JCEKS, magic `CECECECE` (refused).
    Jceks,
}

/// The format of a key store, by its magic number.
pub fn store_format(bytes: &[u8]) -> StoreFormat {
    match bytes.get(..4) {
        Some(m) if m == JKS_MAGIC => StoreFormat::Jks,
        Some(m) if m == JCEKS_MAGIC => StoreFormat::Jceks,
        _ => StoreFormat::Pkcs12,
    }
}

/// Decodes PKCS12 bytes with `password`. `key` and `password_key` are the
/// config keys named in errors, `path` the file.
pub fn parse_pkcs12(
    bytes: &[u8],
    password: &str,
    key: &str,
    password_key: &str,
    path: &str,
) -> Result<KeyStore, KeyStoreError> {
    match store_format(bytes) {
        StoreFormat::Pkcs12 => {}
        StoreFormat::Jceks => return Err(jceks(key, path)),
        StoreFormat::Jks => {
            return Err(KeyStoreError::Malformed {
                key: key.into(),
                path: path.into(),
                format: "PKCS12",
                detail: "the file is a JKS store (magic FEEDFEED)".into(),
            })
        }
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
                format: "PKCS12",
                detail: other.to_string(),
            },
        }
    })
}

fn jceks(key: &str, path: &str) -> KeyStoreError {
    KeyStoreError::UnsupportedType {
        key: key.into(),
        path: path.into(),
        kind: "JCEKS",
    }
}

/// Reads JKS bytes with the store `password`; a wrong password is
/// [`KeyStoreError::WrongPassword`] naming `password_key`.
fn parse_jks<'a>(
    bytes: &'a [u8],
    password: &str,
    key: &str,
    password_key: &str,
    path: &str,
) -> Result<jks::JksStore<'a>, KeyStoreError> {
    jks::parse(bytes, password).map_err(|e| jks_err(e, key, password_key, path))
}

fn jks_err(e: JksError, key: &str, password_key: &str, path: &str) -> KeyStoreError {
    match e {
        JksError::Integrity { .. } | JksError::KeyPassword { .. } => KeyStoreError::WrongPassword {
            key: key.into(),
            path: path.into(),
            password_key: password_key.into(),
            detail: e.to_string(),
        },
        e => KeyStoreError::Malformed {
            key: key.into(),
            path: path.into(),
            format: "JKS",
            detail: e.to_string(),
        },
    }
}

/// The private key entry of a JKS key store: the store password opens the
/// file, `key_password` every private key (as the JDK's `SunX509` key
/// manager recovers them all); the first entry by alias is used.
fn jks_key_entry(
    bytes: &[u8],
    store_password: &str,
    key_password: &str,
    path: &str,
) -> Result<KeyEntry, KeyStoreError> {
    let store = parse_jks(
        bytes,
        store_password,
        "key-store",
        "key-store-password",
        path,
    )?;
    let mut keys = Vec::new();
    for e in &store.entries {
        if let JksEntryKind::PrivateKey {
            protected_key,
            chain,
        } = &e.kind
        {
            let key = jks::recover_key(&e.alias, protected_key, key_password)
                .map_err(|err| jks_err(err, "key-store", "key-password", path))?;
            if !chain.is_empty() {
                keys.push((e.alias.as_str(), chain, key));
            }
        }
    }
    let (alias, chain, key) = keys
        .into_iter()
        .min_by(|a, b| a.0.cmp(b.0))
        .ok_or_else(|| KeyStoreError::NoPrivateKey {
            key: "key-store".into(),
            path: path.into(),
        })?;
    let key = complete_ec_key(key, alias, path)?;
    Ok(KeyEntry {
        alias: alias.to_string(),
        chain: chain
            .iter()
            .map(|c| CertificateDer::from(c.to_vec()))
            .collect(),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
    })
}

/// `id-ecPublicKey` (RFC 5480), the algorithm of every EC private key.
const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// `secp256r1` (P-256, `prime256v1`).
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// `secp384r1` (P-384).
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
/// `secp521r1` (P-521), which `keytool -groupname secp521r1` makes.
const SECP521R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");

/// Whether the DER `ECPrivateKey` (RFC 5915) carries its optional
/// `[1] publicKey`.
fn ec_private_key_has_public_key(der: &[u8]) -> Result<bool, pkcs8::der::Error> {
    let mut reader = SliceReader::new(der)?;
    let has = reader.sequence(|r| {
        let mut has = false;
        while !r.is_finished() {
            let field = AnyRef::decode(r)?;
            let tag = field.tag();
            has |= tag.is_context_specific() && tag.number() == TagNumber(1);
        }
        Ok::<_, pkcs8::der::Error>(has)
    })?;
    reader.finish()?;
    Ok(has)
}

/// The PKCS#8 private key `pkcs8` of entry `alias` in key store `path` in a
/// form rustls's ring provider loads.
///
/// An EC key without its public key (the JDK never writes it) on P-256 or
/// P-384 is re-encoded with the public point recomputed from the private
/// scalar: PKCS#8 v1 holding an `ECPrivateKey` with `[1] publicKey`. Such a
/// key on another curve is [`KeyStoreError::UnusableKey`] (ring signs TLS
/// handshakes with P-256 and P-384 keys only). Every other key (RSA, EC
/// with its public key, anything that does not parse as PKCS#8) is returned
/// as it is, for rustls to accept or name.
pub fn complete_ec_key(pkcs8: Vec<u8>, alias: &str, path: &str) -> Result<Vec<u8>, KeyStoreError> {
    let Ok(info) = PrivateKeyInfoRef::from_der(&pkcs8) else {
        return Ok(pkcs8);
    };
    if info.algorithm.oid != ID_EC_PUBLIC_KEY {
        return Ok(pkcs8);
    }
    let unusable = |detail: String| KeyStoreError::UnusableKey {
        path: path.into(),
        alias: alias.into(),
        detail,
    };
    let malformed = |e: &dyn std::fmt::Display| unusable(format!("malformed EC private key: {e}"));
    if ec_private_key_has_public_key(info.private_key.as_bytes()).map_err(|e| malformed(&e))? {
        return Ok(pkcs8);
    }
    let curve = info.algorithm.parameters_oid().map_err(|e| {
        malformed(&format_args!(
            "no named curve in the algorithm parameters ({e})"
        ))
    })?;
    let completed = match curve {
        SECP256R1 => p256::SecretKey::try_from(info)
            .and_then(|k| k.to_pkcs8_der())
            .map_err(|e| malformed(&e))?,
        SECP384R1 => p384::SecretKey::try_from(info)
            .and_then(|k| k.to_pkcs8_der())
            .map_err(|e| malformed(&e))?,
        other => {
            let name = if other == SECP521R1 {
                "secp521r1 (P-521)".to_string()
            } else {
                format!("with OID {other}")
            };
            return Err(unusable(format!(
                "EC key on curve {name} is not supported; TLS keys must be RSA or EC on \
                 secp256r1 (P-256) or secp384r1 (P-384) (keytool -keyalg EC -groupname secp256r1)"
            )));
        }
    };
    tracing::debug!(
        alias,
        key_store = path,
        "EC private key without its public key: public point recomputed"
    );
    Ok(completed.as_bytes().to_vec())
}

fn read(path: &Path, key: &str) -> Result<Vec<u8>, KeyStoreError> {
    std::fs::read(path).map_err(|source| KeyStoreError::Read {
        key: key.into(),
        path: path.display().to_string(),
        source,
    })
}

/// The private key entry of a key store (`key-store`), PKCS12 or JKS by its
/// first bytes; `path` names the file in errors. Like the JDK's `SunX509`
/// key manager with one key, the first private key entry (by alias) is
/// used. For PKCS12 `key_password` must equal `store_password`; for JKS it
/// recovers the private keys.
pub fn key_entry_from_bytes(
    bytes: &[u8],
    store_password: &str,
    key_password: &str,
    path: &str,
) -> Result<KeyEntry, KeyStoreError> {
    match store_format(bytes) {
        StoreFormat::Pkcs12 => {}
        StoreFormat::Jks => return jks_key_entry(bytes, store_password, key_password, path),
        StoreFormat::Jceks => return Err(jceks("key-store", path)),
    }
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
    let key = complete_ec_key(chain.key().as_der().to_vec(), alias, path)?;
    Ok(KeyEntry {
        alias: alias.to_string(),
        chain: chain
            .certs()
            .iter()
            .map(|c| CertificateDer::from(c.as_der().to_vec()))
            .collect(),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
    })
}

/// The certificates a trust store (`trust-store`), PKCS12 or JKS by its
/// first bytes, makes trusted: its trusted certificate entries and, as the
/// JDK's trust manager does, the leaf certificate of each private key entry.
/// `path` names the file in errors.
pub fn trusted_from_bytes(
    bytes: &[u8],
    password: &str,
    path: &str,
) -> Result<Vec<CertificateDer<'static>>, KeyStoreError> {
    let (key, password_key) = ("trust-store", "trust-store-password");
    let certs: Vec<CertificateDer<'static>> = match store_format(bytes) {
        StoreFormat::Jceks => return Err(jceks(key, path)),
        StoreFormat::Jks => parse_jks(bytes, password, key, password_key, path)?
            .entries
            .iter()
            .filter_map(|e| match &e.kind {
                JksEntryKind::TrustedCertificate(c) => Some(c.to_vec()),
                JksEntryKind::PrivateKey { chain, .. } => chain.first().map(|c| c.to_vec()),
            })
            .map(CertificateDer::from)
            .collect(),
        StoreFormat::Pkcs12 => parse_pkcs12(bytes, password, key, password_key, path)?
            .entries()
            .filter_map(|(_, e)| match e {
                KeyStoreEntry::Certificate(c) => Some(c.as_der().to_vec()),
                KeyStoreEntry::PrivateKeyChain(k) => k.certs().first().map(|c| c.as_der().to_vec()),
                KeyStoreEntry::Secret(_) => None,
            })
            .map(CertificateDer::from)
            .collect(),
    };
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
    use std::path::{Path, PathBuf};
    use std::sync::OnceLock;

    use rekko_interop_tests::{keytool_or_skip, keytool_run, keytool_stores};
    use tempfile::TempDir;

    /// The stores `make` writes with `keytool` into a fresh temp dir, made
    /// once per test run and kept in `cell`; `None` (printed skip) without
    /// `keytool`, and under `CI=true` a missing `keytool` fails the test.
    fn made_once<T: Send + Sync>(
        cell: &'static OnceLock<Option<T>>,
        what: &str,
        make: impl FnOnce(&Path, TempDir) -> T,
    ) -> Option<&'static T> {
        cell.get_or_init(|| {
            let kt = keytool_or_skip(what)?;
            let dir = tempfile::tempdir().expect("temp dir");
            Some(make(&kt, dir))
        })
        .as_ref()
    }

    /// `keytool -genkeypair` into `store` of type `store_type` (store
    /// password `changeit`): a key under `alias` for subject `dname`, valid
    /// 365 days, with the key password, algorithm and extensions in `key`.
    fn genkeypair(
        kt: &Path,
        store: &str,
        store_type: &str,
        alias: &str,
        dname: &str,
        key: &[&str],
    ) {
        let store_args = [
            "-genkeypair",
            "-keystore",
            store,
            "-storetype",
            store_type,
            "-storepass",
            "changeit",
            "-alias",
            alias,
            "-dname",
            dname,
            "-validity",
            "365",
        ];
        keytool_run(kt, &[&store_args[..], key].concat())
            .expect("keytool makes the test key store");
    }

    /// Two self-signed identities, `node-a` and `node-b` (key store and
    /// trust store each, PKCS12, password `changeit`), made once per test run.
    pub struct Shared {
        /// `node-a.p12`, `node-a-trust.p12`.
        pub a: (PathBuf, PathBuf),
        /// `node-b.p12`, `node-b-trust.p12`.
        pub b: (PathBuf, PathBuf),
        _dir: TempDir,
    }

    /// The shared stores, or `None` (printed skip) without `keytool`; under
    /// `CI=true` a missing `keytool` fails the test.
    pub fn shared() -> Option<&'static Shared> {
        static SHARED: OnceLock<Option<Shared>> = OnceLock::new();
        made_once(&SHARED, "rekko-remote key store tests", |kt, dir| {
            let make = |name| {
                keytool_stores(kt, dir.path(), name, "PKCS12", "changeit")
                    .expect("keytool makes the test stores")
            };
            let (a, b) = (make("node-a"), make("node-b"));
            Shared { a, b, _dir: dir }
        })
    }

    /// JKS stores made by `keytool -storetype JKS`, store password
    /// `changeit`.
    pub struct SharedJks {
        /// Key store (RSA, alias `node-j`) and trust store holding its
        /// certificate and `other`'s.
        pub node: (PathBuf, PathBuf),
        /// The key store converted to PKCS12 by `keytool -importkeystore`.
        pub node_p12: PathBuf,
        /// A key store whose RSA key (alias `other`) has key password
        /// `keysecret`.
        pub other: PathBuf,
        /// A key store with an EC (P-256) key, alias `ec`.
        pub ec: PathBuf,
        _dir: TempDir,
    }

    /// The shared JKS stores, or `None` (printed skip) without `keytool`;
    /// under `CI=true` a missing `keytool` fails the test.
    pub fn shared_jks() -> Option<&'static SharedJks> {
        static SHARED: OnceLock<Option<SharedJks>> = OnceLock::new();
        made_once(&SHARED, "rekko-remote JKS key store tests", |kt, dir| {
            let node = keytool_stores(kt, dir.path(), "node-j", "JKS", "changeit")
                .expect("keytool makes the JKS stores");
            let p = |f: &str| dir.path().join(f).display().to_string();
            let run = |args: &[&str]| keytool_run(kt, args).expect("keytool");
            let jks = ["-storetype", "JKS", "-storepass", "changeit"];
            let (other, other_crt) = (p("other.jks"), p("other.crt"));
            let node_p12 = p("node-j-converted.p12");
            genkeypair(
                kt,
                &other,
                "JKS",
                "other",
                "CN=other",
                &[
                    "-keypass",
                    "keysecret",
                    "-keyalg",
                    "RSA",
                    "-keysize",
                    "2048",
                ],
            );
            let ec = p("ec.jks");
            genkeypair(
                kt,
                &ec,
                "JKS",
                "ec",
                "CN=ec",
                &[
                    "-keypass",
                    "changeit",
                    "-keyalg",
                    "EC",
                    "-groupname",
                    "secp256r1",
                ],
            );
            // `other`'s certificate, through `other.crt`, into the node's trust store.
            let other_cert = |command: &[&str]| {
                run(&[command, &["-alias", "other"], &jks, &["-file", &other_crt]].concat())
            };
            other_cert(&["-exportcert", "-keystore", &other]);
            let ts = node.1.display().to_string();
            other_cert(&["-importcert", "-noprompt", "-keystore", &ts]);
            let ks = node.0.display().to_string();
            run(&[
                "-importkeystore",
                "-noprompt",
                "-srckeystore",
                &ks,
                "-srcstoretype",
                "JKS",
                "-srcstorepass",
                "changeit",
                "-destkeystore",
                &node_p12,
                "-deststoretype",
                "PKCS12",
                "-deststorepass",
                "changeit",
            ]);
            SharedJks {
                node,
                node_p12: node_p12.into(),
                other: other.into(),
                ec: ec.into(),
                _dir: dir,
            }
        })
    }

    /// EC key stores made by `keytool -keyalg EC`, store password
    /// `changeit`; each key store (alias `ec`, SAN `localhost` and
    /// `127.0.0.1`) also serves as its own trust store.
    pub struct SharedEc {
        /// `(store type, curve, key store)` for `PKCS12` and `JKS` with
        /// `secp256r1` and `secp384r1`.
        pub stores: Vec<(&'static str, &'static str, PathBuf)>,
        /// A PKCS12 key store with a `secp521r1` key, alias `p521`.
        pub p521: PathBuf,
        _dir: TempDir,
    }

    /// The shared EC stores, or `None` (printed skip) without `keytool`;
    /// under `CI=true` a missing `keytool` fails the test.
    pub fn shared_ec() -> Option<&'static SharedEc> {
        static SHARED: OnceLock<Option<SharedEc>> = OnceLock::new();
        made_once(&SHARED, "rekko-remote EC key store tests", |kt, dir| {
            let make = |store_type: &str, curve: &str, alias: &str| {
                let ks = dir.path().join(format!("{alias}-{curve}.{store_type}"));
                genkeypair(
                    kt,
                    &ks.display().to_string(),
                    store_type,
                    alias,
                    &format!("CN={alias}-{curve}"),
                    &[
                        "-keypass",
                        "changeit",
                        "-keyalg",
                        "EC",
                        "-groupname",
                        curve,
                        "-ext",
                        "SAN=dns:localhost,ip:127.0.0.1",
                    ],
                );
                ks
            };
            let mut stores = Vec::new();
            for store_type in ["PKCS12", "JKS"] {
                for curve in ["secp256r1", "secp384r1"] {
                    stores.push((store_type, curve, make(store_type, curve, "ec")));
                }
            }
            let p521 = make("PKCS12", "secp521r1", "p521");
            SharedEc {
                stores,
                p521,
                _dir: dir,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jceks_is_refused_and_jks_is_read_by_magic() {
        let mut jks = JKS_MAGIC.to_vec();
        jks.extend_from_slice(&[0, 0, 0, 2]);
        let e = key_entry_from_bytes(&jks, "p", "p", "/x/ks.p12").unwrap_err();
        assert!(
            matches!(e, KeyStoreError::Malformed { format: "JKS", .. }),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            "key-store /x/ks.p12: not a readable JKS key store: at offset 8: the file ends \
             inside the entry count (4 bytes needed, 0 left)"
        );
        let e = trusted_from_bytes(&JCEKS_MAGIC, "p", "/x/ts").unwrap_err();
        assert!(
            matches!(e, KeyStoreError::UnsupportedType { kind: "JCEKS", .. }),
            "{e}"
        );
        assert!(e.to_string().contains("-srcstoretype JCEKS"), "{e}");
        let e = parse_pkcs12(&jks, "p", "key-store", "key-store-password", "/x/ks").unwrap_err();
        assert!(
            matches!(
                e,
                KeyStoreError::Malformed {
                    format: "PKCS12",
                    ..
                }
            ),
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

    #[test]
    fn keytool_jks_stores_load_like_their_pkcs12_conversion() {
        let Some(s) = testing::shared_jks() else {
            return;
        };
        let (ks, ts) = &s.node;
        assert_eq!(
            store_format(&std::fs::read(ks).unwrap()),
            StoreFormat::Jks,
            "keytool -storetype JKS writes JKS"
        );
        let entry = load_key_entry(ks, "changeit", "changeit").unwrap();
        let converted = load_key_entry(&s.node_p12, "changeit", "changeit").unwrap();
        assert_eq!(entry.alias, "node-j");
        assert_eq!(entry.alias, converted.alias);
        assert_eq!(entry.chain, converted.chain);
        assert_eq!(entry.chain.len(), 1);
        assert_eq!(
            entry.key.secret_der(),
            converted.key.secret_der(),
            "the same PKCS#8 key as keytool's PKCS12 conversion"
        );

        let mut trusted = load_trusted(ts, "changeit").unwrap();
        let other = load_key_entry(&s.other, "changeit", "keysecret").unwrap();
        let mut expected = vec![entry.chain[0].clone(), other.chain[0].clone()];
        trusted.sort_by(|a, b| a.as_ref().cmp(b.as_ref()));
        expected.sort_by(|a, b| a.as_ref().cmp(b.as_ref()));
        assert_eq!(trusted, expected);
        assert_eq!(load_trusted(ks, "changeit").unwrap(), entry.chain);
    }

    #[test]
    fn jks_passwords_name_their_key() {
        let Some(s) = testing::shared_jks() else {
            return;
        };
        let (ks, ts) = &s.node;
        let e = load_key_entry(ks, "wrong", "changeit").unwrap_err();
        assert!(matches!(e, KeyStoreError::WrongPassword { .. }), "{e}");
        let msg = e.to_string();
        assert!(
            msg.starts_with(&format!(
                "key-store {}: wrong key-store-password",
                ks.display()
            )),
            "{msg}"
        );
        assert!(msg.contains("integrity digest does not match"), "{msg}");
        let e = load_trusted(ts, "wrong").unwrap_err();
        assert!(e.to_string().contains("wrong trust-store-password"), "{e}");

        // JKS keeps a key password of its own.
        let entry = load_key_entry(&s.other, "changeit", "keysecret").unwrap();
        assert_eq!(entry.alias, "other");
        assert!(matches!(entry.key, PrivateKeyDer::Pkcs8(_)));
        let e = load_key_entry(&s.other, "changeit", "changeit").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("wrong key-password"), "{msg}");
        assert!(msg.contains("entry \"other\""), "{msg}");

        let e = load_key_entry(ts, "changeit", "changeit").unwrap_err();
        assert!(matches!(e, KeyStoreError::NoPrivateKey { .. }), "{e}");

        let ec = load_key_entry(&s.ec, "changeit", "changeit").unwrap();
        assert_eq!(ec.alias, "ec");
        // id-ecPublicKey
        let oid = [0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
        assert!(ec.key.secret_der().windows(9).any(|w| w == oid));
    }

    /// The DER `ECPrivateKey` inside a PKCS#8 EC key.
    fn ec_private_key(pkcs8: &[u8]) -> &[u8] {
        let info = PrivateKeyInfoRef::from_der(pkcs8).unwrap();
        assert_eq!(info.algorithm.oid, ID_EC_PUBLIC_KEY);
        info.private_key.as_bytes()
    }

    #[test]
    fn jdk_ec_keys_get_the_public_key_of_their_certificate() {
        let Some(s) = testing::shared_ec() else {
            return;
        };
        for (store_type, curve, ks) in &s.stores {
            let what = format!("{store_type} {curve}");
            let entry = load_key_entry(ks, "changeit", "changeit").unwrap();
            assert_eq!(entry.alias, "ec", "{what}");
            let key = entry.key.secret_der();
            assert!(
                ec_private_key_has_public_key(ec_private_key(key)).unwrap(),
                "{what}"
            );
            // The recomputed point is the certificate's public key.
            let (_, cert) = x509_parser::parse_x509_certificate(&entry.chain[0]).unwrap();
            let point = &cert.public_key().subject_public_key.data;
            assert_eq!(point.len(), if *curve == "secp256r1" { 65 } else { 97 });
            assert!(key.windows(point.len()).any(|w| w == &point[..]), "{what}");
            // rustls's ring provider signs with it.
            rustls::crypto::ring::sign::any_supported_type(&entry.key)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            // A complete key is left as it is.
            assert_eq!(complete_ec_key(key.to_vec(), "ec", "ks").unwrap(), key);
            // The JKS store type is what keytool wrote.
            let format = store_format(&std::fs::read(ks).unwrap());
            let expected = if *store_type == "JKS" {
                StoreFormat::Jks
            } else {
                StoreFormat::Pkcs12
            };
            assert_eq!(format, expected, "{what}");
        }
        // The JDK writes the EC key without its public key.
        let (_, _, p12) = &s.stores[0];
        let store = parse_pkcs12(
            &std::fs::read(p12).unwrap(),
            "changeit",
            "key-store",
            "key-store-password",
            "ks",
        )
        .unwrap();
        let (_, chain) = store.private_key_chain().unwrap();
        let jdk_key = chain.key().as_der();
        assert!(!ec_private_key_has_public_key(ec_private_key(jdk_key)).unwrap());
        assert!(
            rustls::crypto::ring::sign::any_supported_type(&PrivateKeyDer::Pkcs8(
                PrivatePkcs8KeyDer::from(jdk_key.to_vec())
            ))
            .is_err()
        );

        // A zero private scalar is named with the alias and store.
        let mut zero = jdk_key.to_vec();
        let len = zero.len();
        zero[len - 32..].fill(0);
        let e = complete_ec_key(zero, "ec", "/x/ks.p12").unwrap_err();
        assert!(matches!(e, KeyStoreError::UnusableKey { .. }), "{e}");
        assert!(
            e.to_string()
                .starts_with("key-store /x/ks.p12 (alias ec): malformed EC private key"),
            "{e}"
        );

        // P-521: ring does not sign with it; the error names the curve.
        let e = load_key_entry(&s.p521, "changeit", "changeit").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "key-store {} (alias p521): EC key on curve secp521r1 (P-521) is not supported; \
                 TLS keys must be RSA or EC on secp256r1 (P-256) or secp384r1 (P-384) \
                 (keytool -keyalg EC -groupname secp256r1)",
                s.p521.display()
            )
        );
    }

    #[test]
    fn rsa_and_other_keys_are_left_as_they_are() {
        let Some(s) = testing::shared() else {
            return;
        };
        let entry = load_key_entry(&s.a.0, "changeit", "changeit").unwrap();
        let rsa = entry.key.secret_der().to_vec();
        assert_eq!(complete_ec_key(rsa.clone(), "a", "ks").unwrap(), rsa);
        let garbage = b"not PKCS#8".to_vec();
        assert_eq!(
            complete_ec_key(garbage.clone(), "a", "ks").unwrap(),
            garbage
        );
    }

    #[test]
    fn truncated_or_changed_jks_files_are_errors() {
        let Some(s) = testing::shared_jks() else {
            return;
        };
        let bytes = std::fs::read(&s.node.0).unwrap();
        for len in (0..bytes.len()).step_by(7).chain([bytes.len() - 1]) {
            let e = key_entry_from_bytes(&bytes[..len], "changeit", "changeit", "ks").unwrap_err();
            let msg = e.to_string();
            if len < 4 {
                assert!(
                    matches!(
                        e,
                        KeyStoreError::Malformed {
                            format: "PKCS12",
                            ..
                        }
                    ),
                    "{len}: {msg}"
                );
            } else {
                assert!(
                    matches!(e, KeyStoreError::Malformed { format: "JKS", .. }),
                    "{len}: {msg}"
                );
                assert!(msg.contains("the file ends inside"), "{len}: {msg}");
            }
        }
        // A changed certificate byte: only the integrity digest notices.
        let mut changed = bytes.clone();
        let at = changed.len() - 100;
        changed[at] ^= 1;
        let e = key_entry_from_bytes(&changed, "changeit", "changeit", "ks").unwrap_err();
        assert!(matches!(e, KeyStoreError::WrongPassword { .. }), "{e}");
        // A changed entry tag is named with its offset and alias.
        let mut changed = bytes.clone();
        changed[15] = 9;
        let e = key_entry_from_bytes(&changed, "changeit", "changeit", "ks").unwrap_err();
        assert_eq!(
            e.to_string(),
            "key-store ks: not a readable JKS key store: at offset 12, entry \"node-j\": unknown \
             entry tag 9 (1 private key, 2 trusted certificate)"
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = key_entry_from_bytes(&bytes, "changeit", "changeit", "fuzz");
            let _ = trusted_from_bytes(&bytes, "changeit", "fuzz");
            let mut jks = JKS_MAGIC.to_vec();
            jks.extend_from_slice(&bytes);
            let _ = key_entry_from_bytes(&jks, "changeit", "changeit", "fuzz");
            let _ = trusted_from_bytes(&jks, "changeit", "fuzz");
        }
    }
}
