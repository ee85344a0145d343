//! Payloads compatible with pekko-serialization-jackson: JSON (id 31, and 32 for old data) and
//! CBOR (id 33), with the JVM class name as manifest and an optional `#version` suffix.
//!
//! Reading follows `JacksonSerializer.decompress`: every payload that starts with the gzip magic
//! `1F 8B` is gunzipped, one that starts with the LZ4 marker `87 D9 6D F6` is LZ4-block
//! decompressed, anything else is plain JSON or CBOR. Writing compresses JSON with gzip when
//! it is longer than `compress-larger-than` (32 KiB by default for the `jackson-json` binding),
//! exactly like the JVM's default settings; CBOR is not compressed by default.

use std::borrow::Cow;
use std::fmt;
use std::io::{Read, Write};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::model::SerializedPayload;
use crate::{PersistenceError, Result};

/// Serializer id of `jackson-json`.
pub const JACKSON_JSON_ID: i32 = 31;
/// Serializer id of `jackson-cbor-264` (JSON bytes kept for Akka 2.6.4 compatibility).
pub const JACKSON_CBOR_264_ID: i32 = 32;
/// Serializer id of `jackson-cbor`.
pub const JACKSON_CBOR_ID: i32 = 33;
/// `compress-larger-than` default of the `jackson-json` binding (32 KiB).
pub const DEFAULT_JSON_COMPRESS_LARGER_THAN: usize = 32 * 1024;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const LZ4_MAGIC: [u8; 4] = [0x87, 0xd9, 0x6d, 0xf6];

/// Which Jackson binding a type uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JacksonFormat {
    /// `jackson-json`, serializer id 31.
    Json,
    /// `jackson-cbor`, serializer id 33.
    Cbor,
}

impl JacksonFormat {
    /// The serializer id the JVM uses for this binding.
    pub fn serializer_id(self) -> i32 {
        match self {
            JacksonFormat::Json => JACKSON_JSON_ID,
            JacksonFormat::Cbor => JACKSON_CBOR_ID,
        }
    }

    /// The format of a serializer id, if it is one of Jackson's (32 reads as JSON).
    pub fn from_serializer_id(id: i32) -> Option<Self> {
        match id {
            JACKSON_JSON_ID | JACKSON_CBOR_264_ID => Some(JacksonFormat::Json),
            JACKSON_CBOR_ID => Some(JacksonFormat::Cbor),
            _ => None,
        }
    }
}

/// Compression applied when writing (`pekko.serialization.jackson.<binding>.compression`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// `algorithm = off`.
    Off,
    /// `algorithm = gzip` with `compress-larger-than` in bytes (compress when strictly larger).
    Gzip {
        /// Threshold in bytes.
        larger_than: usize,
    },
}

impl Compression {
    /// The JVM's default for a binding: gzip above 32 KiB for JSON, off for CBOR.
    pub fn default_for(format: JacksonFormat) -> Self {
        match format {
            JacksonFormat::Json => Compression::Gzip {
                larger_than: DEFAULT_JSON_COMPRESS_LARGER_THAN,
            },
            JacksonFormat::Cbor => Compression::Off,
        }
    }
}

/// A Jackson manifest: JVM class name plus the version suffix written when a migration exists.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct JacksonManifest {
    /// Binary JVM class name, e.g. `com.example.ShoppingCart$ItemAdded`.
    pub class_name: String,
    /// Version after the last `#`; `None` when the manifest has no suffix (version 1).
    pub version: Option<u32>,
}

impl JacksonManifest {
    /// Splits at the last `#`: the part after it must be an integer version.
    pub fn parse(manifest: &str) -> Result<Self> {
        match manifest.rfind('#') {
            None => Ok(JacksonManifest {
                class_name: manifest.to_string(),
                version: None,
            }),
            Some(i) => {
                let v = &manifest[i + 1..];
                let version = v.parse::<u32>().map_err(|e| PersistenceError::Decode {
                    serializer_id: JACKSON_JSON_ID,
                    manifest: manifest.to_string(),
                    what: "Jackson manifest".into(),
                    reason: format!("version suffix {v:?} is not an integer: {e}"),
                })?;
                Ok(JacksonManifest {
                    class_name: manifest[..i].to_string(),
                    version: Some(version),
                })
            }
        }
    }

    /// The version, 1 when absent.
    pub fn version_or_1(&self) -> u32 {
        self.version.unwrap_or(1)
    }

    /// Whether the class is a Scala `object` (name ends with `$`): the JVM ignores the bytes.
    pub fn is_singleton(&self) -> bool {
        self.class_name.ends_with('$')
    }
}

impl fmt::Display for JacksonManifest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.version {
            Some(v) => write!(f, "{}#{}", self.class_name, v),
            None => f.write_str(&self.class_name),
        }
    }
}

fn decode_err(payload: &SerializedPayload, reason: impl fmt::Display) -> PersistenceError {
    PersistenceError::Decode {
        serializer_id: payload.serializer_id,
        manifest: payload.manifest.clone(),
        what: "Jackson payload".into(),
        reason: reason.to_string(),
    }
}

/// Undoes the JVM's compression (gzip or LZ4 block), leaving plain bytes untouched.
pub fn decompress(bytes: &[u8]) -> std::io::Result<Cow<'_, [u8]>> {
    if bytes.len() >= 2 && bytes[..2] == GZIP_MAGIC {
        let mut out = Vec::with_capacity(bytes.len() * 4);
        flate2::read::MultiGzDecoder::new(bytes).read_to_end(&mut out)?;
        Ok(Cow::Owned(out))
    } else if bytes.len() >= 8 && bytes[..4] == LZ4_MAGIC {
        let len = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
        let out = lz4_flex::block::decompress(&bytes[8..], len)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        Ok(Cow::Owned(out))
    } else {
        Ok(Cow::Borrowed(bytes))
    }
}

/// Applies the write-side compression rule.
pub fn compress(bytes: Vec<u8>, compression: Compression) -> Vec<u8> {
    match compression {
        Compression::Gzip { larger_than } if bytes.len() > larger_than => {
            let mut enc = flate2::write::GzEncoder::new(
                Vec::with_capacity(bytes.len() / 4),
                flate2::Compression::default(),
            );
            // Writing into a Vec cannot fail.
            if enc.write_all(&bytes).is_ok() {
                if let Ok(out) = enc.finish() {
                    return out;
                }
            }
            bytes
        }
        _ => bytes,
    }
}

/// Serializes `value` as the JVM's Jackson serializer would, with the given manifest.
pub fn encode<T: Serialize + ?Sized>(
    format: JacksonFormat,
    manifest: &JacksonManifest,
    value: &T,
    compression: Compression,
) -> Result<SerializedPayload> {
    let raw = match format {
        JacksonFormat::Json => serde_json::to_vec(value).map_err(|e| PersistenceError::Encode {
            what: format!("{manifest} as JSON"),
            reason: e.to_string(),
        })?,
        JacksonFormat::Cbor => {
            let mut out = Vec::new();
            ciborium::into_writer(value, &mut out).map_err(|e| PersistenceError::Encode {
                what: format!("{manifest} as CBOR"),
                reason: e.to_string(),
            })?;
            out
        }
    };
    Ok(SerializedPayload::new(
        format.serializer_id(),
        manifest.to_string(),
        compress(raw, compression),
    ))
}

/// Deserializes a Jackson payload (31, 32 or 33) into `T`, ignoring the manifest's class.
pub fn decode<T: DeserializeOwned>(payload: &SerializedPayload) -> Result<T> {
    let format = JacksonFormat::from_serializer_id(payload.serializer_id)
        .ok_or_else(|| decode_err(payload, "not a Jackson serializer id"))?;
    let plain = decompress(&payload.bytes).map_err(|e| decode_err(payload, e))?;
    decode_plain(format, &plain).map_err(|e| decode_err(payload, e))
}

fn decode_plain<T: DeserializeOwned>(
    format: JacksonFormat,
    plain: &[u8],
) -> std::result::Result<T, String> {
    match format {
        JacksonFormat::Json => serde_json::from_slice(plain).map_err(|e| e.to_string()),
        JacksonFormat::Cbor => ciborium::from_reader(plain).map_err(|e| e.to_string()),
    }
}

/// The payload as a JSON value (CBOR converted), for display and generic tools.
pub fn decode_to_json(payload: &SerializedPayload) -> Result<serde_json::Value> {
    let format = JacksonFormat::from_serializer_id(payload.serializer_id)
        .ok_or_else(|| decode_err(payload, "not a Jackson serializer id"))?;
    let plain = decompress(&payload.bytes).map_err(|e| decode_err(payload, e))?;
    match format {
        JacksonFormat::Json => serde_json::from_slice(&plain).map_err(|e| decode_err(payload, e)),
        JacksonFormat::Cbor => {
            let v: ciborium::Value =
                ciborium::from_reader(&plain[..]).map_err(|e| decode_err(payload, e))?;
            Ok(cbor_to_json(v))
        }
    }
}

fn cbor_to_json(v: ciborium::Value) -> serde_json::Value {
    use ciborium::Value as C;
    use serde_json::Value as J;
    match v {
        C::Integer(i) => {
            let i: i128 = i.into();
            if let Ok(x) = i64::try_from(i) {
                J::from(x)
            } else if let Ok(x) = u64::try_from(i) {
                J::from(x)
            } else {
                J::String(i.to_string())
            }
        }
        C::Bytes(b) => J::String(hex::encode(b)),
        C::Float(f) => serde_json::Number::from_f64(f).map_or(J::Null, J::Number),
        C::Text(s) => J::String(s),
        C::Bool(b) => J::Bool(b),
        C::Null => J::Null,
        C::Tag(_, inner) => cbor_to_json(*inner),
        C::Array(a) => J::Array(a.into_iter().map(cbor_to_json).collect()),
        C::Map(m) => J::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        C::Text(s) => s,
                        other => cbor_to_json(other).to_string(),
                    };
                    (key, cbor_to_json(v))
                })
                .collect(),
        ),
        _ => J::Null,
    }
}

type DecodeFn<T> =
    Box<dyn Fn(JacksonFormat, &[u8]) -> std::result::Result<T, String> + Send + Sync>;
type EncodeFn<T> =
    Box<dyn Fn(&T, JacksonFormat) -> Option<std::result::Result<Vec<u8>, String>> + Send + Sync>;

struct Binding<T> {
    manifest: JacksonManifest,
    decode: DecodeFn<T>,
    encode: EncodeFn<T>,
    migrate: Option<MigrationFn>,
}

/// Rewrites the JSON tree of an old version (`fromVersion`) into the current shape.
pub type MigrationFn = Box<dyn Fn(u32, serde_json::Value) -> serde_json::Value + Send + Sync>;

/// A codec for a Rust type `T` (typically an enum of events) whose variants stand for JVM classes.
///
/// ```
/// use rekko_persistence::serialization::jackson::{JacksonCodec, JacksonFormat};
/// use rekko_persistence::serialization::PayloadCodec;
/// #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
/// struct Added { amount: i64 }
/// #[derive(Debug, PartialEq)]
/// enum Event { Added(Added) }
/// let codec = JacksonCodec::<Event>::new(JacksonFormat::Json)
///     .bind("com.example.Added", Event::Added, |e| match e { Event::Added(a) => Some(a) });
/// let p = codec.encode(&Event::Added(Added { amount: 3 })).unwrap();
/// assert_eq!(p.manifest, "com.example.Added");
/// assert_eq!(&p.bytes[..], br#"{"amount":3}"#);
/// assert_eq!(codec.decode(&p).unwrap(), Event::Added(Added { amount: 3 }));
/// ```
pub struct JacksonCodec<T> {
    format: JacksonFormat,
    compression: Compression,
    bindings: Vec<Binding<T>>,
}

impl<T: Serialize + DeserializeOwned + 'static> JacksonCodec<T> {
    /// A codec for one type standing for one JVM class.
    pub fn single(format: JacksonFormat, class_name: &str) -> Self {
        fn same<T>(t: &T) -> Option<&T> {
            Some(t)
        }
        JacksonCodec::new(format).bind(class_name, |v: T| v, same::<T>)
    }
}

impl<T: 'static> JacksonCodec<T> {
    /// An empty codec writing with `format` and the JVM's default compression for it.
    pub fn new(format: JacksonFormat) -> Self {
        JacksonCodec {
            format,
            compression: Compression::default_for(format),
            bindings: Vec::new(),
        }
    }

    /// Overrides the write-side compression.
    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Binds JVM class `class_name` to the Rust type `V`, wrapped into `T` by `wrap` and found
    /// in a `T` by `unwrap`.
    pub fn bind<V, W, U>(self, class_name: &str, wrap: W, unwrap: U) -> Self
    where
        V: Serialize + DeserializeOwned + 'static,
        W: Fn(V) -> T + Send + Sync + 'static,
        U: Fn(&T) -> Option<&V> + Send + Sync + 'static,
    {
        self.bind_versioned(class_name, None, wrap, unwrap, None)
    }

    /// Like [`bind`](Self::bind) for a class with a JVM migration: writes `class#version` and
    /// passes older versions' JSON trees through `migrate(from_version, tree)` before binding.
    pub fn bind_versioned<V, W, U>(
        mut self,
        class_name: &str,
        version: Option<u32>,
        wrap: W,
        unwrap: U,
        migrate: Option<MigrationFn>,
    ) -> Self
    where
        V: Serialize + DeserializeOwned + 'static,
        W: Fn(V) -> T + Send + Sync + 'static,
        U: Fn(&T) -> Option<&V> + Send + Sync + 'static,
    {
        let decode: DecodeFn<T> = Box::new(move |format, bytes| {
            let v: V = decode_plain(format, bytes)?;
            Ok(wrap(v))
        });
        let encode: EncodeFn<T> = Box::new(move |t, format| {
            let v = unwrap(t)?;
            Some(match format {
                JacksonFormat::Json => serde_json::to_vec(v).map_err(|e| e.to_string()),
                JacksonFormat::Cbor => {
                    let mut out = Vec::new();
                    ciborium::into_writer(v, &mut out)
                        .map(|_| out)
                        .map_err(|e| e.to_string())
                }
            })
        });
        self.bindings.push(Binding {
            manifest: JacksonManifest {
                class_name: class_name.to_string(),
                version,
            },
            decode,
            encode,
            migrate,
        });
        self
    }

    /// The JVM class names this codec knows.
    pub fn class_names(&self) -> impl Iterator<Item = &str> {
        self.bindings.iter().map(|b| b.manifest.class_name.as_str())
    }
}

impl<T: 'static> super::PayloadCodec<T> for JacksonCodec<T> {
    fn encode(&self, value: &T) -> Result<SerializedPayload> {
        for b in &self.bindings {
            if let Some(raw) = (b.encode)(value, self.format) {
                let raw = raw.map_err(|reason| PersistenceError::Encode {
                    what: b.manifest.to_string(),
                    reason,
                })?;
                return Ok(SerializedPayload::new(
                    self.format.serializer_id(),
                    b.manifest.to_string(),
                    compress(raw, self.compression),
                ));
            }
        }
        Err(PersistenceError::Encode {
            what: std::any::type_name::<T>().to_string(),
            reason: "no Jackson class binding matches this value".into(),
        })
    }

    fn decode(&self, payload: &SerializedPayload) -> Result<T> {
        // Reading accepts JSON and CBOR whatever the write format is, as the JVM does by id.
        let format = JacksonFormat::from_serializer_id(payload.serializer_id).ok_or_else(|| {
            PersistenceError::UnknownPayload {
                serializer_id: payload.serializer_id,
                manifest: payload.manifest.clone(),
            }
        })?;
        let manifest = JacksonManifest::parse(&payload.manifest)?;
        let binding = self
            .bindings
            .iter()
            .find(|b| b.manifest.class_name == manifest.class_name)
            .ok_or_else(|| PersistenceError::UnknownPayload {
                serializer_id: payload.serializer_id,
                manifest: payload.manifest.clone(),
            })?;
        let stored = manifest.version_or_1();
        let current = binding.manifest.version_or_1();
        if stored > current {
            return Err(decode_err(
                payload,
                format!("stored version {stored} is newer than supported version {current}"),
            ));
        }
        let plain = if manifest.is_singleton() {
            // The JVM ignores the bytes of a Scala object; we bind an empty object.
            Cow::Borrowed(&b"{}"[..])
        } else {
            decompress(&payload.bytes).map_err(|e| decode_err(payload, e))?
        };
        let format = if manifest.is_singleton() {
            JacksonFormat::Json
        } else {
            format
        };
        match (&binding.migrate, stored < current) {
            (Some(migrate), true) => {
                let tree: serde_json::Value = match format {
                    JacksonFormat::Json => {
                        serde_json::from_slice(&plain).map_err(|e| decode_err(payload, e))?
                    }
                    JacksonFormat::Cbor => {
                        ciborium::from_reader(&plain[..]).map_err(|e| decode_err(payload, e))?
                    }
                };
                let migrated = migrate(stored, tree);
                let bytes = serde_json::to_vec(&migrated).map_err(|e| decode_err(payload, e))?;
                (binding.decode)(JacksonFormat::Json, &bytes).map_err(|e| decode_err(payload, e))
            }
            _ => (binding.decode)(format, &plain).map_err(|e| decode_err(payload, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serialization::PayloadCodec;
    use proptest::prelude::*;

    #[derive(Serialize, serde::Deserialize, Debug, PartialEq, Clone)]
    struct Added {
        item: String,
        amount: i64,
    }
    #[derive(Serialize, serde::Deserialize, Debug, PartialEq, Clone)]
    struct Removed {
        item: String,
    }
    #[derive(Debug, PartialEq, Clone)]
    enum Ev {
        Added(Added),
        Removed(Removed),
    }

    fn codec(format: JacksonFormat) -> JacksonCodec<Ev> {
        JacksonCodec::new(format)
            .bind("com.example.Cart$Added", Ev::Added, |e| match e {
                Ev::Added(a) => Some(a),
                _ => None,
            })
            .bind_versioned(
                "com.example.Cart$Removed",
                Some(2),
                Ev::Removed,
                |e| match e {
                    Ev::Removed(r) => Some(r),
                    _ => None,
                },
                Some(Box::new(|from, mut tree| {
                    if from < 2 {
                        if let Some(obj) = tree.as_object_mut() {
                            if let Some(v) = obj.remove("name") {
                                obj.insert("item".into(), v);
                            }
                        }
                    }
                    tree
                })),
            )
    }

    #[test]
    fn manifest_parses_version_at_last_hash() {
        let m = JacksonManifest::parse("a.B$C#3").unwrap();
        assert_eq!(m.class_name, "a.B$C");
        assert_eq!(m.version, Some(3));
        assert_eq!(m.to_string(), "a.B$C#3");
        let m = JacksonManifest::parse("a.B").unwrap();
        assert_eq!(m.version_or_1(), 1);
        assert!(JacksonManifest::parse("a.B#x").is_err());
        assert!(JacksonManifest::parse("a.Closed$").unwrap().is_singleton());
    }

    #[test]
    fn versioned_manifest_is_written_and_old_versions_migrate() {
        let c = codec(JacksonFormat::Json);
        let p = c
            .encode(&Ev::Removed(Removed { item: "x".into() }))
            .unwrap();
        assert_eq!(p.manifest, "com.example.Cart$Removed#2");
        let old = SerializedPayload::new(31, "com.example.Cart$Removed", &br#"{"name":"y"}"#[..]);
        assert_eq!(
            c.decode(&old).unwrap(),
            Ev::Removed(Removed { item: "y".into() })
        );
        let future = SerializedPayload::new(31, "com.example.Cart$Removed#3", &b"{}"[..]);
        assert!(c.decode(&future).is_err());
    }

    #[test]
    fn large_json_is_gzipped_and_read_back() {
        let c = codec(JacksonFormat::Json);
        let big = Ev::Added(Added {
            item: "z".repeat(40_000),
            amount: 1,
        });
        let p = c.encode(&big).unwrap();
        assert_eq!(&p.bytes[..2], &GZIP_MAGIC);
        assert_eq!(c.decode(&p).unwrap(), big);
        // Exactly at the threshold stays plain (the JVM compresses when strictly larger).
        let raw = vec![b' '; DEFAULT_JSON_COMPRESS_LARGER_THAN];
        assert_eq!(
            compress(raw.clone(), Compression::default_for(JacksonFormat::Json)),
            raw
        );
    }

    #[test]
    fn lz4_block_payload_is_read() {
        let json = br#"{"item":"lz","amount":7}"#;
        let mut bytes = LZ4_MAGIC.to_vec();
        bytes.extend_from_slice(&(json.len() as u32).to_be_bytes());
        bytes.extend_from_slice(&lz4_flex::block::compress(json));
        let p = SerializedPayload::new(31, "com.example.Cart$Added", bytes);
        assert_eq!(
            codec(JacksonFormat::Json).decode(&p).unwrap(),
            Ev::Added(Added {
                item: "lz".into(),
                amount: 7
            })
        );
    }

    #[test]
    fn cbor_indefinite_length_map_is_read() {
        // {_ "item": "a", "amount": 2} as Jackson writes it: 0xBF ... 0xFF
        let mut bytes = vec![0xbf, 0x64];
        bytes.extend_from_slice(b"item");
        bytes.extend_from_slice(&[0x61, b'a', 0x66]);
        bytes.extend_from_slice(b"amount");
        bytes.extend_from_slice(&[0x02, 0xff]);
        let p = SerializedPayload::new(33, "com.example.Cart$Added", bytes);
        assert_eq!(
            codec(JacksonFormat::Cbor).decode(&p).unwrap(),
            Ev::Added(Added {
                item: "a".into(),
                amount: 2
            })
        );
        assert_eq!(
            decode_to_json(&p).unwrap(),
            serde_json::json!({"item": "a", "amount": 2})
        );
    }

    #[test]
    fn unknown_class_names_serializer_and_manifest() {
        let p = SerializedPayload::new(31, "com.example.Other", &b"{}"[..]);
        let err = codec(JacksonFormat::Json)
            .decode(&p)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("31") && err.contains("com.example.Other"),
            "{err}"
        );
    }

    proptest! {
        #[test]
        fn round_trip(item in ".{0,64}", amount in any::<i64>(), cbor in any::<bool>()) {
            let format = if cbor { JacksonFormat::Cbor } else { JacksonFormat::Json };
            let c = codec(format);
            let ev = Ev::Added(Added { item, amount });
            let p = c.encode(&ev).unwrap();
            prop_assert_eq!(p.serializer_id, format.serializer_id());
            prop_assert_eq!(c.decode(&p).unwrap(), ev);
        }

        #[test]
        fn decompress_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decompress(&bytes);
        }
    }
}
