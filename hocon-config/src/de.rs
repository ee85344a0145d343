//! serde support: deserialize a config section into typed settings.
//!
//! Keys are used as written in the config, so settings structs normally carry
//! `#[serde(rename_all = "kebab-case")]`. `std::time::Duration` fields accept HOCON durations
//! (`10s`, `100 ms`; bare numbers are milliseconds); [`crate::Bytes`] accepts HOCON sizes.

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};

use crate::config::transform;
use crate::error::{ConfigError, ErrorKind};
use crate::units;
use crate::value::{Kind, Number, ValueType, V};

impl de::Error for ConfigError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        ConfigError::plain(ErrorKind::BadValue, msg.to_string())
    }
}

pub(crate) fn from_value<T: de::DeserializeOwned>(v: &V, path: &str) -> Result<T, ConfigError> {
    T::deserialize(ValueDe {
        v: v.clone(),
        path: path.to_string(),
    })
}

struct ValueDe {
    v: V,
    path: String,
}

impl ValueDe {
    fn err(&self, msg: impl std::fmt::Display) -> ConfigError {
        let p = if self.path.is_empty() {
            "<root>"
        } else {
            &self.path
        };
        ConfigError::new(
            ErrorKind::BadValue,
            Some(&self.v.origin),
            format!("Invalid value at '{}': {}", p, msg),
        )
    }
    fn wrong(&self, expected: &str) -> ConfigError {
        let actual = self
            .v
            .value_type()
            .map(|t| t.name())
            .unwrap_or("UNRESOLVED");
        let p = if self.path.is_empty() {
            "<root>"
        } else {
            &self.path
        };
        ConfigError::new(
            ErrorKind::WrongType,
            Some(&self.v.origin),
            format!("{} has type {} rather than {}", p, actual, expected),
        )
    }
    fn child(&self, key: &str, v: V) -> ValueDe {
        let k = crate::path::render_key(key);
        let path = if self.path.is_empty() {
            k
        } else {
            format!("{}.{}", self.path, k)
        };
        ValueDe { v, path }
    }
    fn number(&self) -> Result<Number, ConfigError> {
        match &transform(&self.v, ValueType::Number).kind {
            Kind::Num { n, .. } => Ok(*n),
            Kind::Null => Err(ConfigError::new(
                ErrorKind::Null,
                Some(&self.v.origin),
                format!(
                    "Configuration key '{}' is set to null but expected NUMBER",
                    self.path
                ),
            )),
            _ => Err(self.wrong("NUMBER")),
        }
    }
    fn int<T: TryFrom<i64>>(&self) -> Result<T, ConfigError> {
        let l = self.number()?.as_i64();
        T::try_from(l).map_err(|_| self.err(format!("out-of-range value {}", l)))
    }
    fn string(&self) -> Result<String, ConfigError> {
        match &transform(&self.v, ValueType::String).kind {
            Kind::Str { s, .. } => Ok(s.to_string()),
            _ => Err(self.wrong("STRING")),
        }
    }
}

macro_rules! de_int {
    ($name:ident, $visit:ident, $t:ty) => {
        fn $name<Vi: Visitor<'de>>(self, visitor: Vi) -> Result<Vi::Value, ConfigError> {
            let n: $t = self.int()?;
            visitor.$visit(n)
        }
    };
}

impl<'de> de::Deserializer<'de> for ValueDe {
    type Error = ConfigError;

    fn deserialize_any<Vi: Visitor<'de>>(self, visitor: Vi) -> Result<Vi::Value, ConfigError> {
        match &self.v.kind {
            Kind::Object { .. } => self.deserialize_map(visitor),
            Kind::List { .. } => self.deserialize_seq(visitor),
            Kind::Str { s, .. } => visitor.visit_string(s.to_string()),
            Kind::Num {
                n: Number::Int(i), ..
            } => visitor.visit_i64(*i),
            Kind::Num {
                n: Number::Double(d),
                ..
            } => visitor.visit_f64(*d),
            Kind::Bool(b) => visitor.visit_bool(*b),
            Kind::Null => visitor.visit_unit(),
            _ => Err(self.wrong("a resolved value")),
        }
    }

    fn deserialize_bool<Vi: Visitor<'de>>(self, visitor: Vi) -> Result<Vi::Value, ConfigError> {
        match transform(&self.v, ValueType::Boolean).kind {
            Kind::Bool(b) => visitor.visit_bool(b),
            _ => Err(self.wrong("BOOLEAN")),
        }
    }

    de_int!(deserialize_i8, visit_i8, i8);
    de_int!(deserialize_i16, visit_i16, i16);
    de_int!(deserialize_i32, visit_i32, i32);
    de_int!(deserialize_i64, visit_i64, i64);
    de_int!(deserialize_u8, visit_u8, u8);
    de_int!(deserialize_u16, visit_u16, u16);
    de_int!(deserialize_u32, visit_u32, u32);
    de_int!(deserialize_u64, visit_u64, u64);

    fn deserialize_f32<Vi: Visitor<'de>>(self, visitor: Vi) -> Result<Vi::Value, ConfigError> {
        visitor.visit_f32(self.number()?.as_f64() as f32)
    }
    fn deserialize_f64<Vi: Visitor<'de>>(self, visitor: Vi) -> Result<Vi::Value, ConfigError> {
        visitor.visit_f64(self.number()?.as_f64())
    }
    fn deserialize_char<Vi: Visitor<'de>>(self, visitor: Vi) -> Result<Vi::Value, ConfigError> {
        self.deserialize_string(visitor)
    }
    fn deserialize_str<Vi: Visitor<'de>>(self, visitor: Vi) -> Result<Vi::Value, ConfigError> {
        self.deserialize_string(visitor)
    }
    fn deserialize_string<Vi: Visitor<'de>>(self, visitor: Vi) -> Result<Vi::Value, ConfigError> {
        visitor.visit_string(self.string()?)
    }
    fn deserialize_bytes<Vi: Visitor<'de>>(self, visitor: Vi) -> Result<Vi::Value, ConfigError> {
        self.deserialize_seq(visitor)
    }
    fn deserialize_byte_buf<Vi: Visitor<'de>>(self, visitor: Vi) -> Result<Vi::Value, ConfigError> {
        self.deserialize_seq(visitor)
    }
    fn deserialize_option<Vi: Visitor<'de>>(self, visitor: Vi) -> Result<Vi::Value, ConfigError> {
        if matches!(self.v.kind, Kind::Null) {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }
    fn deserialize_unit<Vi: Visitor<'de>>(self, visitor: Vi) -> Result<Vi::Value, ConfigError> {
        visitor.visit_unit()
    }
    fn deserialize_unit_struct<Vi: Visitor<'de>>(
        self,
        _n: &'static str,
        visitor: Vi,
    ) -> Result<Vi::Value, ConfigError> {
        visitor.visit_unit()
    }
    fn deserialize_newtype_struct<Vi: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: Vi,
    ) -> Result<Vi::Value, ConfigError> {
        if name == crate::BYTES_NEWTYPE {
            let bytes = match &self.v.kind {
                Kind::Num { n, .. } => {
                    let l = n.as_i64();
                    u64::try_from(l).map_err(|_| {
                        self.err(format!(
                            "Attempt to construct memory size with negative number: {}",
                            l
                        ))
                    })?
                }
                Kind::Str { s, .. } => {
                    let b = units::parse_bytes(s).map_err(|m| self.err(m))?;
                    if b.is_negative() {
                        return Err(
                            self.err("Attempt to construct memory size with negative number")
                        );
                    }
                    b.to_i64().map(|x| x as u64).ok_or_else(|| {
                        self.err("size-in-bytes value is out of range for a 64-bit long")
                    })?
                }
                _ => return Err(self.wrong("memory size string or number of bytes")),
            };
            return visitor.visit_newtype_struct(bytes.into_deserializer());
        }
        visitor.visit_newtype_struct(self)
    }
    fn deserialize_seq<Vi: Visitor<'de>>(self, visitor: Vi) -> Result<Vi::Value, ConfigError> {
        let lv = transform(&self.v, ValueType::List);
        match &lv.kind {
            Kind::List { items, .. } => visitor.visit_seq(SeqDe {
                items: items.clone().into_iter(),
                parent: self.path.clone(),
                idx: 0,
            }),
            _ => Err(self.wrong("LIST")),
        }
    }
    fn deserialize_tuple<Vi: Visitor<'de>>(
        self,
        _len: usize,
        visitor: Vi,
    ) -> Result<Vi::Value, ConfigError> {
        self.deserialize_seq(visitor)
    }
    fn deserialize_tuple_struct<Vi: Visitor<'de>>(
        self,
        _n: &'static str,
        _len: usize,
        visitor: Vi,
    ) -> Result<Vi::Value, ConfigError> {
        self.deserialize_seq(visitor)
    }
    fn deserialize_map<Vi: Visitor<'de>>(self, visitor: Vi) -> Result<Vi::Value, ConfigError> {
        match &self.v.kind {
            Kind::Object { map, .. } => {
                let entries: Vec<(String, V)> = map
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect();
                visitor.visit_map(MapDe {
                    entries: entries.into_iter(),
                    pending: None,
                    parent: self,
                })
            }
            _ => Err(self.wrong("OBJECT")),
        }
    }
    fn deserialize_struct<Vi: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: Vi,
    ) -> Result<Vi::Value, ConfigError> {
        if name == "Duration" && fields == ["secs", "nanos"] && !self.v.is_object() {
            let s = match &self.v.kind {
                Kind::Num { .. } | Kind::Str { .. } => {
                    self.v.transform_to_string().unwrap_or_default()
                }
                _ => return Err(self.wrong("duration string or number of milliseconds")),
            };
            let nanos = units::parse_duration_nanos(&s).map_err(|m| self.err(m))?;
            if nanos < 0 {
                return Err(self.err(format!(
                    "negative duration ({} ns) cannot be represented",
                    nanos
                )));
            }
            let secs = (nanos / 1_000_000_000) as u64;
            let sub = (nanos % 1_000_000_000) as u32;
            let entries = vec![("secs", secs), ("nanos", sub as u64)];
            return visitor.visit_map(de::value::MapDeserializer::new(entries.into_iter()));
        }
        self.deserialize_map(visitor)
    }
    fn deserialize_enum<Vi: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: Vi,
    ) -> Result<Vi::Value, ConfigError> {
        match &self.v.kind {
            Kind::Object { map, .. } if map.len() == 1 => {
                let (k, v) = map
                    .iter()
                    .next()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .ok_or_else(|| self.wrong("enum"))?;
                let child = self.child(&k, v);
                visitor.visit_enum(EnumDe {
                    variant: k,
                    value: Some(child),
                })
            }
            _ => visitor.visit_enum(EnumDe {
                variant: self.string()?,
                value: None,
            }),
        }
    }
    fn deserialize_identifier<Vi: Visitor<'de>>(
        self,
        visitor: Vi,
    ) -> Result<Vi::Value, ConfigError> {
        self.deserialize_string(visitor)
    }
    fn deserialize_ignored_any<Vi: Visitor<'de>>(
        self,
        visitor: Vi,
    ) -> Result<Vi::Value, ConfigError> {
        visitor.visit_unit()
    }
}

struct SeqDe {
    items: std::vec::IntoIter<V>,
    parent: String,
    idx: usize,
}

impl<'de> SeqAccess<'de> for SeqDe {
    type Error = ConfigError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ConfigError> {
        match self.items.next() {
            None => Ok(None),
            Some(v) => {
                let path = format!("{}[{}]", self.parent, self.idx);
                self.idx += 1;
                seed.deserialize(ValueDe { v, path }).map(Some)
            }
        }
    }
}

struct MapDe {
    entries: std::vec::IntoIter<(String, V)>,
    pending: Option<(String, V)>,
    parent: ValueDe,
}

impl<'de> MapAccess<'de> for MapDe {
    type Error = ConfigError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ConfigError> {
        match self.entries.next() {
            None => Ok(None),
            Some((k, v)) => {
                let key = seed.deserialize(k.clone().into_deserializer())?;
                self.pending = Some((k, v));
                Ok(Some(key))
            }
        }
    }
    fn next_value_seed<Va: DeserializeSeed<'de>>(
        &mut self,
        seed: Va,
    ) -> Result<Va::Value, ConfigError> {
        let (k, v) = self
            .pending
            .take()
            .ok_or_else(|| crate::error::bug("value before key"))?;
        seed.deserialize(self.parent.child(&k, v))
    }
}

struct EnumDe {
    variant: String,
    value: Option<ValueDe>,
}

impl<'de> de::EnumAccess<'de> for EnumDe {
    type Error = ConfigError;
    type Variant = VariantDe;
    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, VariantDe), ConfigError> {
        let v = seed.deserialize(self.variant.into_deserializer())?;
        Ok((v, VariantDe { value: self.value }))
    }
}

struct VariantDe {
    value: Option<ValueDe>,
}

impl<'de> de::VariantAccess<'de> for VariantDe {
    type Error = ConfigError;
    fn unit_variant(self) -> Result<(), ConfigError> {
        Ok(())
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, ConfigError> {
        match self.value {
            Some(v) => seed.deserialize(v),
            None => Err(de::Error::custom("expected a newtype variant")),
        }
    }
    fn tuple_variant<Vi: Visitor<'de>>(
        self,
        _len: usize,
        visitor: Vi,
    ) -> Result<Vi::Value, ConfigError> {
        match self.value {
            Some(v) => de::Deserializer::deserialize_seq(v, visitor),
            None => Err(de::Error::custom("expected a tuple variant")),
        }
    }
    fn struct_variant<Vi: Visitor<'de>>(
        self,
        _f: &'static [&'static str],
        visitor: Vi,
    ) -> Result<Vi::Value, ConfigError> {
        match self.value {
            Some(v) => de::Deserializer::deserialize_map(v, visitor),
            None => Err(de::Error::custom("expected a struct variant")),
        }
    }
}
