//! HOCON parser and `Config` API behaving like Lightbend config 1.4.x,
//! the configuration library Pekko ships.
//!
//! Rekko reads the same `application.conf` a JVM Pekko service uses; any
//! difference from Lightbend config is a bug.
//!
//! ```
//! use hocon_config::Config;
//! let c = Config::parse_string("a { b = 10s, c = ${a.b} }").unwrap().resolve().unwrap();
//! assert_eq!(c.get_duration("a.c").unwrap(), std::time::Duration::from_secs(10));
//! assert_eq!(c.render_concise(), r#"{"a":{"b":"10s","c":"10s"}}"#);
//! ```

mod config;
mod de;
mod error;
mod lexer;
mod load;
mod loader;
mod origin;
mod parser;
mod path;
mod properties;
mod render;
mod resolve;
pub mod testing;
mod units;
mod validate;
mod value;

pub use config::{Config, ConfigValue, Temporal};
pub use error::{ConfigError, ErrorKind, Result};
pub use load::{syntax_from_extension, ParseOptions, MAX_INCLUDE_DEPTH};
pub use loader::{resolve_to_json, Loader};
pub use origin::{Origin, OriginKind};
pub use parser::{Syntax, MAX_NESTING};
pub use path::Path;
pub use render::RenderOptions;
pub use resolve::ResolveOptions;
pub use units::Period;
pub use value::{Number, ValueType};

pub(crate) const BYTES_NEWTYPE: &str = "hocon_config::Bytes";

/// A size in bytes that deserializes from HOCON size notation (`512k`, `10 MiB`, numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Bytes(pub u64);

impl<'de> serde::Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Vis;
        impl<'de> serde::de::Visitor<'de> for Vis {
            type Value = Bytes;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a size in bytes")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<Bytes, E> {
                Ok(Bytes(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<Bytes, E> {
                u64::try_from(v)
                    .map(Bytes)
                    .map_err(|_| E::custom("negative size"))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Bytes, E> {
                let b = units::parse_bytes(v).map_err(E::custom)?;
                if b.is_negative() {
                    return Err(E::custom(
                        "Attempt to construct memory size with negative number",
                    ));
                }
                b.to_i64().map(|x| Bytes(x as u64)).ok_or_else(|| {
                    E::custom("size-in-bytes value is out of range for a 64-bit long")
                })
            }
            fn visit_newtype_struct<D: serde::Deserializer<'de>>(
                self,
                d: D,
            ) -> std::result::Result<Bytes, D::Error> {
                d.deserialize_any(Vis)
            }
        }
        d.deserialize_newtype_struct(BYTES_NEWTYPE, Vis)
    }
}
