//! A sans-I/O reader of JKS key stores, the JDK's own key store format
//! (`keytool -storetype JKS`, and what Java 8 and older wrote by default).
//!
//! The layout, all integers big-endian:
//!
//! ```text
//! magic u32 = FEEDFEED, version u32 (1 or 2), entry count u32
//! per entry: tag u32 (1 private key, 2 trusted certificate), alias (u16 length + modified UTF-8),
//!            creation time u64 (ms since the epoch), then
//!   tag 1: encrypted key (u32 length + DER EncryptedPrivateKeyInfo), certificate count u32,
//!          per certificate: [version 2: type (u16 length + UTF-8)] u32 length + DER
//!   tag 2: [version 2: type] u32 length + DER certificate
//! SHA-1(password as UTF-16BE || "Mighty Aphrodite" || every byte before the digest), 20 bytes
//! ```
//!
//! Private keys are protected with Sun's key protector (algorithm
//! `1.3.6.1.4.1.42.2.17.1.1`): the encrypted data is a 20-byte salt, the key
//! XOR-ed with a SHA-1 keystream (`SHA-1(password || previous block)`,
//! starting from the salt), and `SHA-1(password || plain key)` as a check.
//!
//! Nothing here panics on any input; errors say what was expected and where
//! (byte offset, entry alias).

use pkcs8::der::asn1::OctetStringRef;
use pkcs8::der::{Decode, Reader, SliceReader};
use pkcs8::spki::{AlgorithmIdentifierRef, ObjectIdentifier};
use pkcs8::PrivateKeyInfoRef;
use sha1::{Digest, Sha1};

/// The first four bytes of a JKS store.
pub const JKS_MAGIC: [u8; 4] = [0xFE, 0xED, 0xFE, 0xED];

/// The first four bytes of a JCEKS store (the SunJCE provider's variant,
/// which this module does not read).
pub const JCEKS_MAGIC: [u8; 4] = [0xCE, 0xCE, 0xCE, 0xCE];

/// The salt the store's integrity digest mixes in after the password.
const INTEGRITY_SALT: &[u8] = b"Mighty Aphrodite";

/// Sun's JKS key protector.
const KEY_PROTECTOR_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.42.2.17.1.1");

const DIGEST_LEN: usize = 20;
const SALT_LEN: usize = 20;
const TAG_PRIVATE_KEY: u32 = 1;
const TAG_TRUSTED_CERT: u32 = 2;

/// What is wrong with a JKS store, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JksError {
    /// The bytes do not start with the JKS magic number.
    #[error("does not start with the JKS magic number FEEDFEED")]
    NotJks,
    /// The version field is neither 1 nor 2.
    #[error("at offset 4: unknown JKS version {0} (1 and 2 exist)")]
    Version(u32),
    /// The file ends before a field it announces.
    #[error(
        "at offset {offset}: the file ends inside {what} ({needed} bytes needed, {available} left)"
    )]
    Truncated {
        /// Where the field starts.
        offset: usize,
        /// The field, naming its entry.
        what: String,
        /// Its length.
        needed: u64,
        /// The bytes left from `offset`.
        available: usize,
    },
    /// An entry's tag is neither a private key nor a trusted certificate.
    #[error("at offset {offset}, entry {alias:?}: unknown entry tag {tag} (1 private key, 2 trusted certificate)")]
    UnknownTag {
        /// Where the tag is.
        offset: usize,
        /// The entry's alias.
        alias: String,
        /// The tag.
        tag: u32,
    },
    /// A string (alias, certificate type) is not modified UTF-8.
    #[error("at offset {offset}: {what} is not modified UTF-8")]
    Utf8 {
        /// Where the string's bytes start.
        offset: usize,
        /// The string, naming its entry.
        what: String,
    },
    /// A certificate is of another type than X.509.
    #[error("at offset {offset}, entry {alias:?}: certificate type {kind:?} (only X.509 is read)")]
    CertificateType {
        /// Where the type string is.
        offset: usize,
        /// The entry's alias.
        alias: String,
        /// The type.
        kind: String,
    },
    /// The store's integrity digest does not match the password.
    #[error(
        "the integrity digest does not match: the password is wrong or the file was changed \
         (digest at offset {offset})"
    )]
    Integrity {
        /// Where the stored digest is.
        offset: usize,
    },
    /// A private key entry's key is not a DER `EncryptedPrivateKeyInfo`.
    #[error("entry {alias:?}: the protected key is not an EncryptedPrivateKeyInfo: {detail}")]
    KeyEncoding {
        /// The entry's alias.
        alias: String,
        /// The DER decoder's message.
        detail: String,
    },
    /// A private key entry's key is protected with another algorithm.
    #[error(
        "entry {alias:?}: the key is protected with algorithm {oid}, not the JKS key protector \
         1.3.6.1.4.1.42.2.17.1.1"
    )]
    KeyAlgorithm {
        /// The entry's alias.
        alias: String,
        /// The algorithm.
        oid: String,
    },
    /// The key password does not recover the private key.
    #[error("entry {alias:?}: the password does not recover the private key (its check digest does not match)")]
    KeyPassword {
        /// The entry's alias.
        alias: String,
    },
    /// The recovered private key is not a PKCS#8 `PrivateKeyInfo`.
    #[error("entry {alias:?}: the recovered private key is not PKCS#8: {detail}")]
    KeyNotPkcs8 {
        /// The entry's alias.
        alias: String,
        /// The DER decoder's message.
        detail: String,
    },
}

/// A JKS store's entries, borrowing from the file's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JksStore<'a> {
    /// The format version (1 or 2).
    pub version: u32,
    /// The entries in file order.
    pub entries: Vec<JksEntry<'a>>,
}

/// One entry of a JKS store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JksEntry<'a> {
    /// The alias (`keytool` writes them in lower case).
    pub alias: String,
    /// Creation time in milliseconds since the epoch.
    pub created_millis: u64,
    /// The private key or the trusted certificate.
    pub kind: JksEntryKind<'a>,
}

/// What a JKS entry holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JksEntryKind<'a> {
    /// A protected private key and its certificate chain (leaf first, DER).
    PrivateKey {
        /// The DER `EncryptedPrivateKeyInfo`; [`recover_key`] opens it.
        protected_key: &'a [u8],
        /// The certificate chain, leaf first, DER.
        chain: Vec<&'a [u8]>,
    },
    /// A trusted certificate (DER).
    TrustedCertificate(&'a [u8]),
}

/// Encodes a password as the JDK does for JKS: each UTF-16 code unit as two
/// big-endian bytes.
fn password_bytes(password: &str) -> Vec<u8> {
    password.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

/// The integrity digest JKS stores after `content` (every byte of the file
/// before the digest) for `password`.
pub fn integrity_digest(password: &str, content: &[u8]) -> [u8; DIGEST_LEN] {
    let mut h = Sha1::new();
    h.update(password_bytes(password));
    h.update(INTEGRITY_SALT);
    h.update(content);
    h.finalize().into()
}

/// Reads a JKS store and checks its integrity digest with `password` (the
/// store password). Like the JDK, bytes after the digest are ignored.
pub fn parse<'a>(bytes: &'a [u8], password: &str) -> Result<JksStore<'a>, JksError> {
    let (store, digest_at) = parse_unverified(bytes)?;
    let mut c = Cursor {
        bytes,
        pos: digest_at,
    };
    let stored = c.take(DIGEST_LEN, || "the integrity digest".into())?;
    if stored != integrity_digest(password, &bytes[..digest_at]) {
        return Err(JksError::Integrity { offset: digest_at });
    }
    Ok(store)
}

/// Reads a JKS store's entries without checking the integrity digest, and
/// returns where the digest starts.
fn parse_unverified(bytes: &[u8]) -> Result<(JksStore<'_>, usize), JksError> {
    let mut c = Cursor { bytes, pos: 0 };
    if c.take(4, || "the magic number".into())? != JKS_MAGIC {
        return Err(JksError::NotJks);
    }
    let version = c.u32(|| "the version".into())?;
    if version != 1 && version != 2 {
        return Err(JksError::Version(version));
    }
    let count = c.u32(|| "the entry count".into())?;
    let mut entries = Vec::new();
    for n in 0..count {
        let tag_at = c.pos;
        let tag = c.u32(|| format!("the tag of entry {n}"))?;
        let alias = c.utf(|| format!("the alias of entry {n}"))?;
        let created_millis = c.u64(|| format!("the creation time of entry {alias:?}"))?;
        let kind = match tag {
            TAG_PRIVATE_KEY => {
                let len = c.u32(|| format!("the key length of entry {alias:?}"))?;
                let protected_key = c.take_u32(len, || format!("the key of entry {alias:?}"))?;
                let certs = c.u32(|| format!("the certificate count of entry {alias:?}"))?;
                let mut chain = Vec::new();
                for i in 0..certs {
                    chain.push(c.certificate(version, &alias, &format!("certificate {i} of"))?);
                }
                JksEntryKind::PrivateKey {
                    protected_key,
                    chain,
                }
            }
            TAG_TRUSTED_CERT => JksEntryKind::TrustedCertificate(c.certificate(
                version,
                &alias,
                "the certificate of",
            )?),
            tag => {
                return Err(JksError::UnknownTag {
                    offset: tag_at,
                    alias,
                    tag,
                })
            }
        };
        entries.push(JksEntry {
            alias,
            created_millis,
            kind,
        });
    }
    Ok((JksStore { version, entries }, c.pos))
}

/// Recovers the PKCS#8 private key of entry `alias` from its protected key
/// (a DER `EncryptedPrivateKeyInfo` with Sun's key protector) with
/// `password` (the key password).
pub fn recover_key(alias: &str, protected_key: &[u8], password: &str) -> Result<Vec<u8>, JksError> {
    let encoding = |e: pkcs8::der::Error| JksError::KeyEncoding {
        alias: alias.into(),
        detail: e.to_string(),
    };
    let (oid, data) = encrypted_private_key_info(protected_key).map_err(encoding)?;
    if oid != KEY_PROTECTOR_OID {
        return Err(JksError::KeyAlgorithm {
            alias: alias.into(),
            oid: oid.to_string(),
        });
    }
    if data.len() < SALT_LEN + DIGEST_LEN {
        return Err(JksError::KeyEncoding {
            alias: alias.into(),
            detail: format!(
                "{} bytes of encrypted data, the salt and check digest alone take {}",
                data.len(),
                SALT_LEN + DIGEST_LEN
            ),
        });
    }
    let (salt, rest) = data.split_at(SALT_LEN);
    let (encrypted, check) = rest.split_at(rest.len() - DIGEST_LEN);
    let pw = password_bytes(password);
    let mut plain = Vec::with_capacity(encrypted.len());
    let mut block: [u8; DIGEST_LEN] = salt.try_into().unwrap_or([0; DIGEST_LEN]);
    for chunk in encrypted.chunks(DIGEST_LEN) {
        block = Sha1::new()
            .chain_update(&pw)
            .chain_update(block)
            .finalize()
            .into();
        plain.extend(chunk.iter().zip(block).map(|(c, k)| c ^ k));
    }
    let digest: [u8; DIGEST_LEN] = Sha1::new()
        .chain_update(&pw)
        .chain_update(&plain)
        .finalize()
        .into();
    if digest != check {
        return Err(JksError::KeyPassword {
            alias: alias.into(),
        });
    }
    PrivateKeyInfoRef::from_der(&plain).map_err(|e| JksError::KeyNotPkcs8 {
        alias: alias.into(),
        detail: e.to_string(),
    })?;
    Ok(plain)
}

/// The algorithm and encrypted data of a DER `EncryptedPrivateKeyInfo`.
fn encrypted_private_key_info(der: &[u8]) -> Result<(ObjectIdentifier, &[u8]), pkcs8::der::Error> {
    let mut r = SliceReader::new(der)?;
    let parts = r.sequence(|r| {
        let algorithm = AlgorithmIdentifierRef::decode(r)?;
        let data = <&OctetStringRef>::decode(r)?;
        Ok::<_, pkcs8::der::Error>((algorithm.oid, data.as_bytes()))
    })?;
    r.finish()?;
    Ok(parts)
}

/// A position in the store's bytes; every read checks the length first.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, len: usize, what: impl FnOnce() -> String) -> Result<&'a [u8], JksError> {
        let rest = self.bytes.get(self.pos..).unwrap_or_default();
        match rest.get(..len) {
            Some(b) => {
                self.pos += len;
                Ok(b)
            }
            None => Err(JksError::Truncated {
                offset: self.pos,
                what: what(),
                needed: len as u64,
                available: rest.len(),
            }),
        }
    }

    fn take_u32(&mut self, len: u32, what: impl FnOnce() -> String) -> Result<&'a [u8], JksError> {
        match usize::try_from(len) {
            Ok(len) => self.take(len, what),
            Err(_) => Err(JksError::Truncated {
                offset: self.pos,
                what: what(),
                needed: u64::from(len),
                available: self.bytes.len().saturating_sub(self.pos),
            }),
        }
    }

    fn array<const N: usize>(
        &mut self,
        what: impl FnOnce() -> String,
    ) -> Result<[u8; N], JksError> {
        let b = self.take(N, what)?;
        let mut a = [0; N];
        a.copy_from_slice(b);
        Ok(a)
    }

    fn u32(&mut self, what: impl FnOnce() -> String) -> Result<u32, JksError> {
        self.array(what).map(u32::from_be_bytes)
    }

    fn u64(&mut self, what: impl FnOnce() -> String) -> Result<u64, JksError> {
        self.array(what).map(u64::from_be_bytes)
    }

    /// A string as Java's `DataOutput.writeUTF` writes it.
    fn utf(&mut self, what: impl Fn() -> String) -> Result<String, JksError> {
        let len = u16::from_be_bytes(self.array(&what)?);
        let at = self.pos;
        let b = self.take(usize::from(len), &what)?;
        modified_utf8(b).ok_or_else(|| JksError::Utf8 {
            offset: at,
            what: what(),
        })
    }

    /// A certificate (with its type string in version 2) of entry `alias`.
    fn certificate(
        &mut self,
        version: u32,
        alias: &str,
        which: &str,
    ) -> Result<&'a [u8], JksError> {
        if version == 2 {
            let at = self.pos;
            let kind = self.utf(|| format!("the type of {which} entry {alias:?}"))?;
            if kind != "X.509" {
                return Err(JksError::CertificateType {
                    offset: at,
                    alias: alias.into(),
                    kind,
                });
            }
        }
        let len = self.u32(|| format!("the length of {which} entry {alias:?}"))?;
        self.take_u32(len, || format!("{which} entry {alias:?}"))
    }
}

/// Decodes Java's modified UTF-8 (NUL as `C0 80`, characters outside the
/// BMP as two encoded surrogates); `None` if malformed.
fn modified_utf8(b: &[u8]) -> Option<String> {
    if let Ok(s) = std::str::from_utf8(b) {
        return Some(s.to_owned());
    }
    let mut units = Vec::with_capacity(b.len());
    let mut i = b.iter().copied();
    while let Some(x) = i.next() {
        let mut cont = || {
            i.next()
                .filter(|c| c & 0xC0 == 0x80)
                .map(|c| u16::from(c & 0x3F))
        };
        let unit = match x {
            0x00..=0x7F => u16::from(x),
            0xC0..=0xDF => (u16::from(x & 0x1F) << 6) | cont()?,
            0xE0..=0xEF => (u16::from(x & 0x0F) << 12) | (cont()? << 6) | cont()?,
            _ => return None,
        };
        units.push(unit);
    }
    String::from_utf16(&units).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store from `body` (everything after the magic) with a valid digest
    /// for `password`.
    fn signed(body: &[u8], password: &str) -> Vec<u8> {
        let mut b = JKS_MAGIC.to_vec();
        b.extend_from_slice(body);
        let d = integrity_digest(password, &b);
        b.extend_from_slice(&d);
        b
    }

    fn utf(s: &str) -> Vec<u8> {
        let mut b = (s.len() as u16).to_be_bytes().to_vec();
        b.extend_from_slice(s.as_bytes());
        b
    }

    fn trusted_entry(alias: &str, cert_type: &str, cert: &[u8]) -> Vec<u8> {
        let mut b = TAG_TRUSTED_CERT.to_be_bytes().to_vec();
        b.extend(utf(alias));
        b.extend(7u64.to_be_bytes());
        b.extend(utf(cert_type));
        b.extend((cert.len() as u32).to_be_bytes());
        b.extend_from_slice(cert);
        b
    }

    fn header(count: u32) -> Vec<u8> {
        let mut b = 2u32.to_be_bytes().to_vec();
        b.extend(count.to_be_bytes());
        b
    }

    /// Protects `plain` as Sun's key protector does, with a fixed salt.
    fn protect(plain: &[u8], password: &str) -> Vec<u8> {
        let pw = password_bytes(password);
        let salt = [9u8; SALT_LEN];
        let mut data = salt.to_vec();
        let mut block = salt;
        for chunk in plain.chunks(DIGEST_LEN) {
            block = Sha1::new()
                .chain_update(&pw)
                .chain_update(block)
                .finalize()
                .into();
            data.extend(chunk.iter().zip(block).map(|(c, k)| c ^ k));
        }
        data.extend(Sha1::new().chain_update(&pw).chain_update(plain).finalize());
        // SEQUENCE { SEQUENCE { OID, NULL }, OCTET STRING }
        let oid = [
            0x06, 0x0A, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x2A, 0x02, 0x11, 0x01, 0x01,
        ];
        let mut alg = vec![0x30, (oid.len() + 2) as u8];
        alg.extend(oid);
        alg.extend([0x05, 0x00]);
        let mut octets = der_tag_len(0x04, data.len());
        octets.extend(data);
        let mut seq = der_tag_len(0x30, alg.len() + octets.len());
        seq.extend(alg);
        seq.extend(octets);
        seq
    }

    fn der_tag_len(tag: u8, len: usize) -> Vec<u8> {
        match len {
            0..=127 => vec![tag, len as u8],
            128..=255 => vec![tag, 0x81, len as u8],
            _ => vec![tag, 0x82, (len >> 8) as u8, len as u8],
        }
    }

    /// A minimal PKCS#8 PrivateKeyInfo (Ed25519, as RFC 8410 shows it).
    const PKCS8_ED25519: [u8; 48] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20, 0xd4, 0xee, 0x72, 0xdb, 0xf9, 0x13, 0x58, 0x4a, 0xd5, 0xb6, 0xd8, 0xf1, 0xf7, 0x69,
        0xf8, 0xad, 0x3a, 0xfe, 0x7c, 0x28, 0xcb, 0xf1, 0xd4, 0xfb, 0xe0, 0x97, 0xa8, 0x8f, 0x44,
        0x75, 0x58, 0x42,
    ];

    #[test]
    fn trusted_certificate_entries_are_read() {
        let mut body = header(2);
        body.extend(trusted_entry("b", "X.509", b"cert-b"));
        body.extend(trusted_entry("a", "X.509", b"cert-a"));
        let bytes = signed(&body, "pw");
        let store = parse(&bytes, "pw").unwrap();
        assert_eq!(store.version, 2);
        assert_eq!(store.entries.len(), 2);
        assert_eq!(store.entries[0].alias, "b");
        assert_eq!(store.entries[0].created_millis, 7);
        assert_eq!(
            store.entries[1].kind,
            JksEntryKind::TrustedCertificate(b"cert-a")
        );
    }

    #[test]
    fn wrong_password_fails_the_integrity_check() {
        let mut body = header(1);
        body.extend(trusted_entry("a", "X.509", b"c"));
        let bytes = signed(&body, "right");
        let e = parse(&bytes, "wrong").unwrap_err();
        assert_eq!(
            e,
            JksError::Integrity {
                offset: bytes.len() - DIGEST_LEN
            }
        );
        assert!(e.to_string().contains("password is wrong"), "{e}");
    }

    #[test]
    fn every_truncation_names_its_field() {
        let mut body = header(1);
        body.extend(trusted_entry("a", "X.509", b"certificate"));
        let bytes = signed(&body, "pw");
        for len in 0..bytes.len() {
            let e = parse(&bytes[..len], "pw").unwrap_err();
            let JksError::Truncated { offset, what, .. } = &e else {
                panic!("{len}: {e}");
            };
            assert!(*offset <= len, "{len}: {e}");
            assert!(!what.is_empty(), "{len}: {e}");
        }
        let e = parse(&bytes[..bytes.len() - 3], "pw").unwrap_err();
        assert!(e.to_string().contains("the integrity digest"), "{e}");
        let e = parse(&bytes[..30], "pw").unwrap_err();
        assert!(e.to_string().contains("certificate of entry \"a\""), "{e}");
    }

    #[test]
    fn structure_errors_name_offset_and_alias() {
        assert_eq!(parse(b"\x00\x01\x02\x03rest", "pw"), Err(JksError::NotJks));
        let v = signed(&[0, 0, 0, 3, 0, 0, 0, 0], "pw");
        assert_eq!(parse(&v, "pw"), Err(JksError::Version(3)));

        let mut body = header(1);
        body.extend(5u32.to_be_bytes());
        body.extend(utf("odd"));
        body.extend(0u64.to_be_bytes());
        let e = parse(&signed(&body, "pw"), "pw").unwrap_err();
        assert_eq!(
            e,
            JksError::UnknownTag {
                offset: 12,
                alias: "odd".into(),
                tag: 5
            }
        );

        let mut body = header(1);
        body.extend(trusted_entry("pgp", "PGP", b"c"));
        let e = parse(&signed(&body, "pw"), "pw").unwrap_err();
        assert!(
            matches!(&e, JksError::CertificateType { alias, kind, .. } if alias == "pgp" && kind == "PGP"),
            "{e}"
        );

        let mut body = header(1);
        body.extend(TAG_TRUSTED_CERT.to_be_bytes());
        body.extend([0, 2, 0xFF, 0xFE]);
        let e = parse(&signed(&body, "pw"), "pw").unwrap_err();
        assert_eq!(
            e,
            JksError::Utf8 {
                offset: 18,
                what: "the alias of entry 0".into()
            }
        );

        // A length that does not fit the file is a truncation, not an allocation.
        let mut body = header(1);
        body.extend(TAG_TRUSTED_CERT.to_be_bytes());
        body.extend(utf("a"));
        body.extend(0u64.to_be_bytes());
        body.extend(utf("X.509"));
        body.extend(u32::MAX.to_be_bytes());
        let e = parse(&signed(&body, "pw"), "pw").unwrap_err();
        assert!(
            matches!(e, JksError::Truncated { needed, .. } if needed == u64::from(u32::MAX)),
            "{e}"
        );
    }

    #[test]
    fn modified_utf8_aliases() {
        assert_eq!(modified_utf8(b"node-a").as_deref(), Some("node-a"));
        assert_eq!(modified_utf8(&[0x61, 0xC0, 0x80]).as_deref(), Some("a\0"));
        // U+1F600 as two encoded surrogates (D83D DE00).
        let smile = [0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80];
        assert_eq!(modified_utf8(&smile).as_deref(), Some("\u{1F600}"));
        assert_eq!(modified_utf8(&[0xED, 0xA0, 0xBD]), None);
        assert_eq!(modified_utf8(&[0xC3]), None);
    }

    #[test]
    fn key_protector_round_trip_and_wrong_password() {
        let protected = protect(&PKCS8_ED25519, "keypw");
        assert_eq!(
            recover_key("k", &protected, "keypw").unwrap(),
            PKCS8_ED25519.to_vec()
        );
        assert_eq!(
            recover_key("k", &protected, "other"),
            Err(JksError::KeyPassword { alias: "k".into() })
        );
        let not_pkcs8 = protect(b"twenty-one bytes long", "pw");
        assert!(matches!(
            recover_key("k", &not_pkcs8, "pw"),
            Err(JksError::KeyNotPkcs8 { .. })
        ));
        let e = recover_key("k", b"\x30\x03\x02\x01\x00", "pw").unwrap_err();
        assert!(
            matches!(&e, JksError::KeyEncoding { alias, .. } if alias == "k"),
            "{e}"
        );
        let mut other_alg = protected.clone();
        let oid = [0x2B, 0x06, 0x01, 0x04, 0x01, 0x2A, 0x02, 0x11, 0x01, 0x01];
        let at = protected.windows(10).position(|w| w == oid).unwrap();
        other_alg[at + 9] = 0x02; // ...42.2.17.1.2
        let e = recover_key("k", &other_alg, "pw").unwrap_err();
        assert!(
            matches!(&e, JksError::KeyAlgorithm { oid, .. } if oid == "1.3.6.1.4.1.42.2.17.1.2"),
            "{e}"
        );
    }

    #[test]
    fn private_key_entry_with_chain() {
        let protected = protect(&PKCS8_ED25519, "pw");
        let mut body = header(1);
        body.extend(TAG_PRIVATE_KEY.to_be_bytes());
        body.extend(utf("me"));
        body.extend(1u64.to_be_bytes());
        body.extend((protected.len() as u32).to_be_bytes());
        body.extend(&protected);
        body.extend(2u32.to_be_bytes());
        for c in [&b"leaf"[..], b"ca"] {
            body.extend(utf("X.509"));
            body.extend((c.len() as u32).to_be_bytes());
            body.extend(c);
        }
        let bytes = signed(&body, "pw");
        let store = parse(&bytes, "pw").unwrap();
        let JksEntryKind::PrivateKey {
            protected_key,
            chain,
        } = &store.entries[0].kind
        else {
            panic!("{store:?}");
        };
        assert_eq!(chain, &vec![&b"leaf"[..], b"ca"]);
        assert_eq!(
            recover_key("me", protected_key, "pw").unwrap(),
            PKCS8_ED25519
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = parse(&bytes, "changeit");
            let _ = recover_key("a", &bytes, "changeit");
            let mut with_magic = JKS_MAGIC.to_vec();
            with_magic.extend_from_slice(&bytes);
            let _ = parse(&with_magic, "changeit");
        }

        #[test]
        fn signed_arbitrary_bodies_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let mut body = header(u32::from(bytes.first().copied().unwrap_or(1) % 4));
            body.extend_from_slice(&bytes);
            let _ = parse(&signed(&body, "pw"), "pw");
        }
    }
}
