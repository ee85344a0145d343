//! The `Config` API: parsing entry points, resolution, merging and typed getters.

use std::collections::HashMap;
use std::io::Read;
use std::time::Duration;

use crate::error::{bug, ConfigError, ErrorKind, Result};
use crate::load::{self, FsIncluder, ParseOptions};
use crate::origin::Origin;
use crate::parser::Syntax;
use crate::path::Path;
use crate::render::{self, RenderOptions};
use crate::resolve::{self, attempt_peek, ResolveOptions};
use crate::units::{self, BigBytes, Period};
use crate::value::{self, Key, Kind, Map, Number, ValueType, V};

/// A configuration: a root object plus path-based accessors (Lightbend `Config`).
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) root: V,
}

/// A value in a configuration (Lightbend `ConfigValue`).
#[derive(Clone, Debug)]
pub struct ConfigValue {
    pub(crate) v: V,
}

fn missing(origin: &Origin, path: &Path) -> ConfigError {
    ConfigError::new(
        ErrorKind::Missing,
        Some(origin),
        format!("No configuration setting found for key '{}'", path.render()),
    )
}

fn wrong_type(origin: &Origin, path: &str, expected: &str, actual: &str) -> ConfigError {
    ConfigError::new(
        ErrorKind::WrongType,
        Some(origin),
        format!("{} has type {} rather than {}", path, actual, expected),
    )
}

fn bad_value(origin: &Origin, path: &str, detail: String) -> ConfigError {
    ConfigError::new(
        ErrorKind::BadValue,
        Some(origin),
        format!("Invalid value at '{}': {}", path, detail),
    )
}

fn not_resolved(path: &str) -> ConfigError {
    ConfigError::plain(
        ErrorKind::NotResolved,
        format!("{} has not been resolved, you need to call Config#resolve(), see API docs for Config#resolve()", path),
    )
}

/// Lightbend `DefaultTransformer.transform`.
pub(crate) fn transform(v: &V, requested: ValueType) -> V {
    match (&v.kind, requested) {
        (Kind::Str { s, .. }, ValueType::Number) => {
            if let Some(l) = units::java_parse_long(s) {
                return value::mk(
                    v.origin.clone(),
                    Kind::Num {
                        n: Number::Int(l),
                        text: Some(s.as_str().into()),
                    },
                );
            }
            if let Some(d) = value::parse_java_double(s) {
                return value::mk(
                    v.origin.clone(),
                    Kind::Num {
                        n: Number::Double(d),
                        text: Some(s.as_str().into()),
                    },
                );
            }
            v.clone()
        }
        (Kind::Str { s, .. }, ValueType::Null) if s == "null" => {
            value::mk(v.origin.clone(), Kind::Null)
        }
        (Kind::Str { s, .. }, ValueType::Boolean) => match s.as_str() {
            "true" | "yes" | "on" => value::mk(v.origin.clone(), Kind::Bool(true)),
            "false" | "no" | "off" => value::mk(v.origin.clone(), Kind::Bool(false)),
            _ => v.clone(),
        },
        (Kind::Num { .. } | Kind::Bool(_), ValueType::String) => value::new_string(
            v.origin.clone(),
            v.transform_to_string().unwrap_or_default(),
        ),
        (Kind::Object { .. }, ValueType::List) => {
            value::object_to_list(v).unwrap_or_else(|| v.clone())
        }
        _ => v.clone(),
    }
}

impl Config {
    pub(crate) fn from_root(root: V) -> Config {
        Config { root }
    }

    /// An empty configuration.
    pub fn empty() -> Config {
        Config {
            root: value::empty_object(Origin::simple("empty config")),
        }
    }

    /// Parse HOCON text (origin `String`).
    pub fn parse_string(text: &str) -> Result<Config> {
        Config::parse_string_with(text, &ParseOptions::default())
    }

    /// Parse text with options (syntax, origin description, classpath for includes).
    pub fn parse_string_with(text: &str, opts: &ParseOptions) -> Result<Config> {
        let origin = Origin::simple(opts.origin_description.as_deref().unwrap_or("String"));
        let mut inc = FsIncluder::for_string(opts);
        let root = load::parse_text_to_object(
            text,
            &origin,
            opts.syntax.unwrap_or(Syntax::Conf),
            &mut inc,
        )?;
        Ok(Config { root })
    }

    /// Parse a file; syntax from its extension (`.conf`, `.json`, `.properties`), else HOCON.
    /// Includes are relative to the file. A missing file is an empty config (Lightbend's default);
    /// use [`Config::parse_file_with`] with `allow_missing = false` to require it.
    pub fn parse_file(path: impl AsRef<std::path::Path>) -> Result<Config> {
        Config::parse_file_with(path, &ParseOptions::default())
    }

    /// Parse a file with options.
    pub fn parse_file_with(
        path: impl AsRef<std::path::Path>,
        opts: &ParseOptions,
    ) -> Result<Config> {
        let root = load::parse_file_at(path.as_ref(), opts, 0, None, None)?;
        Ok(Config { root })
    }

    /// Parse from a reader (UTF-8, HOCON unless the options say otherwise; origin `Reader`).
    pub fn parse_reader(mut reader: impl Read, opts: &ParseOptions) -> Result<Config> {
        let mut bytes = Vec::new();
        let origin = Origin::simple(opts.origin_description.as_deref().unwrap_or("Reader"));
        reader.read_to_end(&mut bytes).map_err(|e| {
            ConfigError::new(ErrorKind::Io, Some(&origin), format!("read error: {}", e))
        })?;
        let text = load::decode_utf8_owned(bytes, &origin)?;
        let mut inc = FsIncluder::for_string(opts);
        let root = load::parse_text_to_object(
            &text,
            &origin,
            opts.syntax.unwrap_or(Syntax::Conf),
            &mut inc,
        )?;
        Ok(Config { root })
    }

    /// Build a config from `key = value` string pairs as a properties source would.
    pub fn from_properties<I: IntoIterator<Item = (String, String)>>(
        pairs: I,
        origin_description: &str,
    ) -> Config {
        Config {
            root: crate::properties::from_string_pairs(&Origin::simple(origin_description), pairs),
        }
    }

    /// Resolve substitutions with the default options (environment fallback on).
    pub fn resolve(&self) -> Result<Config> {
        self.resolve_with_options(ResolveOptions::default())
    }

    /// Resolve with options; the environment comes from the process.
    pub fn resolve_with_options(&self, opts: ResolveOptions) -> Result<Config> {
        if self.root.is_resolved() {
            return Ok(self.clone());
        }
        let env = if opts.use_system_environment {
            load::process_env_object()
        } else {
            value::empty_object(Origin::simple("env variables"))
        };
        self.resolve_with_env_object(opts, &env)
    }

    /// Resolve with an explicit environment (used instead of the process environment).
    pub fn resolve_with_env(
        &self,
        opts: ResolveOptions,
        env: &HashMap<String, String>,
    ) -> Result<Config> {
        let envo = load::env_object_from(env.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.resolve_with_env_object(opts, &envo)
    }

    pub(crate) fn resolve_with_env_object(&self, opts: ResolveOptions, env: &V) -> Result<Config> {
        if self.root.is_resolved() {
            return Ok(self.clone());
        }
        let r = resolve::resolve_value(&self.root, &self.root, opts, env)?;
        if !r.is_object() {
            return Err(bug("resolved root is not an object"));
        }
        Ok(Config { root: r })
    }

    /// Resolve substitutions in this config against `source` (Lightbend `resolveWith`).
    pub fn resolve_with(&self, source: &Config, opts: ResolveOptions) -> Result<Config> {
        let env = if opts.use_system_environment {
            load::process_env_object()
        } else {
            value::empty_object(Origin::simple("env variables"))
        };
        let r = resolve::resolve_value(&self.root, &source.root, opts, &env)?;
        Ok(Config { root: r })
    }

    /// True when no substitutions remain.
    pub fn is_resolved(&self) -> bool {
        self.root.is_resolved()
    }

    /// `self` with `fallback` underneath: values in `self` win.
    pub fn with_fallback(&self, fallback: &Config) -> Config {
        Config {
            root: value::with_fallback(&self.root, &fallback.root),
        }
    }

    /// The root object.
    pub fn root(&self) -> ConfigValue {
        ConfigValue {
            v: self.root.clone(),
        }
    }

    /// True when the root object has no keys.
    pub fn is_empty(&self) -> bool {
        self.root.map().is_some_and(|m| m.is_empty())
    }

    fn find_or_null(&self, path: &Path, expected: Option<ValueType>) -> Result<V> {
        let mut obj = self.root.clone();
        let keys = path.keys();
        let sub = |i: usize| {
            Path::from_keys(keys[..=i].iter().cloned())
                .map(|p| p.render())
                .unwrap_or_default()
        };
        for (i, key) in keys.iter().enumerate() {
            let v = attempt_peek(&obj, key).map_err(|e| {
                e.clone().with_message(format!(
                    "{} has not been resolved, you need to call Config#resolve(), see API docs for Config#resolve(); {}",
                    sub(i),
                    e.message()
                ))
            })?;
            let v = match v {
                Some(v) => v,
                None => {
                    let p = Path::from_keys(keys[..=i].iter().cloned())
                        .ok_or_else(|| bug("empty path"))?;
                    return Err(missing(&obj.origin, &p));
                }
            };
            let last = i + 1 == keys.len();
            let want = if last {
                expected
            } else {
                Some(ValueType::Object)
            };
            let v = match want {
                Some(t) => transform(&v, t),
                None => v,
            };
            let vt = v.value_type().ok_or_else(|| not_resolved(&sub(i)))?;
            if let Some(t) = want {
                if vt != t && vt != ValueType::Null {
                    return Err(wrong_type(&v.origin, &sub(i), t.name(), vt.name()));
                }
            }
            if last {
                return Ok(v);
            }
            if vt == ValueType::Null {
                return Err(ConfigError::new(
                    ErrorKind::Null,
                    Some(&v.origin),
                    format!(
                        "Configuration key '{}' is set to null but expected OBJECT",
                        sub(i)
                    ),
                ));
            }
            obj = v;
        }
        Err(bug("empty path"))
    }

    fn find(&self, path: &str, expected: Option<ValueType>) -> Result<V> {
        let p = Path::parse(path)?;
        let v = self.find_or_null(&p, expected)?;
        if matches!(v.kind, Kind::Null) {
            return Err(ConfigError::new(
                ErrorKind::Null,
                Some(&v.origin),
                match expected {
                    Some(t) => format!(
                        "Configuration key '{}' is set to null but expected {}",
                        p.render(),
                        t.name()
                    ),
                    None => format!("Configuration key '{}' is null", p.render()),
                },
            ));
        }
        Ok(v)
    }

    /// True when `path` exists and is not null.
    pub fn has_path(&self, path: &str) -> Result<bool> {
        let p = Path::parse(path)?;
        Ok(self
            .peek_path(&p)?
            .is_some_and(|v| !matches!(v.kind, Kind::Null)))
    }

    /// True when `path` exists (null counts).
    pub fn has_path_or_null(&self, path: &str) -> Result<bool> {
        let p = Path::parse(path)?;
        Ok(self.peek_path(&p)?.is_some())
    }

    fn peek_path(&self, p: &Path) -> Result<Option<V>> {
        let mut obj = self.root.clone();
        let keys = p.keys();
        for (i, k) in keys.iter().enumerate() {
            let v = attempt_peek(&obj, k)?;
            if i + 1 == keys.len() {
                return Ok(v);
            }
            match v {
                Some(c) if c.is_object() => obj = c,
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    /// True when the value at `path` is null; `Missing` when absent.
    pub fn get_is_null(&self, path: &str) -> Result<bool> {
        let p = Path::parse(path)?;
        let v = self.find_or_null(&p, None)?;
        Ok(matches!(v.kind, Kind::Null))
    }

    /// The value at `path`.
    pub fn get_value(&self, path: &str) -> Result<ConfigValue> {
        Ok(ConfigValue {
            v: self.find(path, None)?,
        })
    }

    /// String (numbers as written, booleans as `true`/`false`).
    pub fn get_string(&self, path: &str) -> Result<String> {
        let v = self.find(path, Some(ValueType::String))?;
        match &v.kind {
            Kind::Str { s, .. } => Ok(s.to_string()),
            _ => Err(bug("string expected")),
        }
    }

    /// Boolean (`true yes on` / `false no off` strings convert).
    pub fn get_bool(&self, path: &str) -> Result<bool> {
        match self.find(path, Some(ValueType::Boolean))?.kind {
            Kind::Bool(b) => Ok(b),
            _ => Err(bug("boolean expected")),
        }
    }

    /// Number (strings convert).
    pub fn get_number(&self, path: &str) -> Result<Number> {
        match &self.find(path, Some(ValueType::Number))?.kind {
            Kind::Num { n, .. } => Ok(*n),
            _ => Err(bug("number expected")),
        }
    }

    /// 32-bit integer (doubles truncate; out of range is `WrongType`).
    pub fn get_int(&self, path: &str) -> Result<i32> {
        let v = self.find(path, Some(ValueType::Number))?;
        let n = match &v.kind {
            Kind::Num { n, .. } => *n,
            _ => return Err(bug("number expected")),
        };
        let l = n.as_i64();
        i32::try_from(l).map_err(|_| {
            wrong_type(
                &v.origin,
                path,
                "32-bit integer",
                &format!("out-of-range value {}", l),
            )
        })
    }

    /// 64-bit integer (doubles truncate).
    pub fn get_long(&self, path: &str) -> Result<i64> {
        Ok(self.get_number(path)?.as_i64())
    }

    /// Double.
    pub fn get_double(&self, path: &str) -> Result<f64> {
        Ok(self.get_number(path)?.as_f64())
    }

    /// Duration in nanoseconds (may be negative), HOCON duration notation; numbers are milliseconds.
    pub fn get_duration_nanos(&self, path: &str) -> Result<i64> {
        let v = self.find(path, Some(ValueType::String))?;
        let s = match &v.kind {
            Kind::Str { s, .. } => s.clone(),
            _ => return Err(bug("string expected")),
        };
        units::parse_duration_nanos(&s).map_err(|d| bad_value(&v.origin, path, d))
    }

    /// Duration (`10s`, `100 ms`, numbers are milliseconds). Negative durations are `BadValue`.
    pub fn get_duration(&self, path: &str) -> Result<Duration> {
        let n = self.get_duration_nanos(path)?;
        if n < 0 {
            let v = self.find(path, None)?;
            return Err(bad_value(
                &v.origin,
                path,
                format!("negative duration ({} ns) cannot be represented", n),
            ));
        }
        Ok(Duration::from_nanos(n as u64))
    }

    /// Period (`3 days`, `2w`, `1mo`, `1y`).
    pub fn get_period(&self, path: &str) -> Result<Period> {
        let v = self.find(path, Some(ValueType::String))?;
        let s = match &v.kind {
            Kind::Str { s, .. } => s.clone(),
            _ => return Err(bug("string expected")),
        };
        units::parse_period(&s).map_err(|d| bad_value(&v.origin, path, d))
    }

    /// Duration if the value parses as one, else a period (Lightbend `getTemporal`).
    pub fn get_temporal(&self, path: &str) -> Result<Temporal> {
        match self.get_duration_nanos(path) {
            Ok(n) => Ok(Temporal::Duration(n)),
            Err(e) if e.kind() == ErrorKind::BadValue => {
                Ok(Temporal::Period(self.get_period(path)?))
            }
            Err(e) => Err(e),
        }
    }

    fn bytes_big(&self, path: &str) -> Result<(BigBytes, Origin)> {
        let v = self.find(path, Some(ValueType::String))?;
        let b = match self.get_long(path) {
            Ok(l) => BigBytes::from_i64(l),
            Err(e) if e.kind() == ErrorKind::WrongType => {
                let s = match &v.kind {
                    Kind::Str { s, .. } => s.clone(),
                    _ => return Err(e),
                };
                units::parse_bytes(&s).map_err(|d| bad_value(&v.origin, path, d))?
            }
            Err(e) => return Err(e),
        };
        if b.is_negative() {
            return Err(bad_value(
                &v.origin,
                path,
                format!(
                    "Attempt to construct memory size with negative number: {}",
                    b.to_string_signed()
                ),
            ));
        }
        Ok((b, v.origin.clone()))
    }

    /// Size in bytes (`512k`, `1 MiB`, `10MB`), as a 64-bit count.
    pub fn get_bytes(&self, path: &str) -> Result<u64> {
        let (b, origin) = self.bytes_big(path)?;
        b.to_i64().map(|v| v as u64).ok_or_else(|| {
            bad_value(
                &origin,
                path,
                "size-in-bytes value is out of range for a 64-bit long".to_string(),
            )
        })
    }

    /// Size in bytes as a decimal string of any magnitude (Lightbend `getMemorySize`).
    pub fn get_memory_size_string(&self, path: &str) -> Result<String> {
        Ok(self.bytes_big(path)?.0.digits)
    }

    /// The list at `path` (numerically-keyed objects convert).
    pub fn get_list(&self, path: &str) -> Result<Vec<ConfigValue>> {
        let v = self.find(path, Some(ValueType::List))?;
        match &v.kind {
            Kind::List { items, .. } => {
                Ok(items.iter().map(|x| ConfigValue { v: x.clone() }).collect())
            }
            _ => Err(bug("list expected")),
        }
    }

    fn typed_list<T>(
        &self,
        path: &str,
        t: ValueType,
        f: impl Fn(&V) -> Option<T>,
    ) -> Result<Vec<T>> {
        let list = self.get_list(path)?;
        let mut out = Vec::with_capacity(list.len());
        for item in list {
            let v = transform(&item.v, t);
            let vt = v.value_type().ok_or_else(|| not_resolved(path))?;
            if vt != t {
                return Err(wrong_type(
                    &v.origin,
                    path,
                    &format!("list of {}", t.name()),
                    &format!("list of {}", vt.name()),
                ));
            }
            out.push(f(&v).ok_or_else(|| bug("list element conversion"))?);
        }
        Ok(out)
    }

    /// List of strings.
    pub fn get_string_list(&self, path: &str) -> Result<Vec<String>> {
        self.typed_list(path, ValueType::String, |v| match &v.kind {
            Kind::Str { s, .. } => Some(s.to_string()),
            _ => None,
        })
    }

    /// List of booleans.
    pub fn get_bool_list(&self, path: &str) -> Result<Vec<bool>> {
        self.typed_list(path, ValueType::Boolean, |v| match v.kind {
            Kind::Bool(b) => Some(b),
            _ => None,
        })
    }

    /// List of numbers.
    pub fn get_number_list(&self, path: &str) -> Result<Vec<Number>> {
        self.typed_list(path, ValueType::Number, |v| match &v.kind {
            Kind::Num { n, .. } => Some(*n),
            _ => None,
        })
    }

    /// List of 32-bit integers.
    pub fn get_int_list(&self, path: &str) -> Result<Vec<i32>> {
        let list = self.get_number_list(path)?;
        let v = self.find(path, None)?;
        list.into_iter()
            .map(|n| {
                let l = n.as_i64();
                i32::try_from(l).map_err(|_| {
                    wrong_type(
                        &v.origin,
                        path,
                        "32-bit integer",
                        &format!("out-of-range value {}", l),
                    )
                })
            })
            .collect()
    }

    /// List of 64-bit integers.
    pub fn get_long_list(&self, path: &str) -> Result<Vec<i64>> {
        Ok(self
            .get_number_list(path)?
            .into_iter()
            .map(|n| n.as_i64())
            .collect())
    }

    /// List of doubles.
    pub fn get_double_list(&self, path: &str) -> Result<Vec<f64>> {
        Ok(self
            .get_number_list(path)?
            .into_iter()
            .map(|n| n.as_f64())
            .collect())
    }

    /// List of durations in nanoseconds.
    pub fn get_duration_nanos_list(&self, path: &str) -> Result<Vec<i64>> {
        let list = self.get_list(path)?;
        let mut out = Vec::new();
        for item in list {
            let v = &item.v;
            let s = match &v.kind {
                Kind::Num { .. } | Kind::Str { .. } => v.transform_to_string().unwrap_or_default(),
                _ => {
                    let t = v.value_type().map(|t| t.name()).unwrap_or("UNRESOLVED");
                    return Err(wrong_type(
                        &v.origin,
                        path,
                        "duration string or number of milliseconds",
                        t,
                    ));
                }
            };
            out.push(units::parse_duration_nanos(&s).map_err(|d| bad_value(&v.origin, path, d))?);
        }
        Ok(out)
    }

    /// List of sizes in bytes.
    pub fn get_bytes_list(&self, path: &str) -> Result<Vec<u64>> {
        Ok(self
            .get_memory_size_string_list(path)?
            .into_iter()
            .map(|s| s.parse::<u64>().unwrap_or(u64::MAX))
            .collect())
    }

    /// List of sizes in bytes as decimal strings.
    pub fn get_memory_size_string_list(&self, path: &str) -> Result<Vec<String>> {
        let list = self.get_list(path)?;
        let mut out = Vec::new();
        for item in list {
            let v = &item.v;
            let b = match &v.kind {
                Kind::Num { n, .. } => BigBytes::from_i64(n.as_i64()),
                Kind::Str { s, .. } => {
                    units::parse_bytes(s).map_err(|d| bad_value(&v.origin, path, d))?
                }
                _ => {
                    let t = v.value_type().map(|t| t.name()).unwrap_or("UNRESOLVED");
                    return Err(wrong_type(
                        &v.origin,
                        path,
                        "memory size string or number of bytes",
                        t,
                    ));
                }
            };
            if b.is_negative() {
                return Err(bad_value(
                    &v.origin,
                    path,
                    format!(
                        "Attempt to construct ConfigMemorySize with negative number: {}",
                        b.to_string_signed()
                    ),
                ));
            }
            out.push(b.digits);
        }
        Ok(out)
    }

    /// The object at `path`.
    pub fn get_object(&self, path: &str) -> Result<ConfigValue> {
        Ok(ConfigValue {
            v: self.find(path, Some(ValueType::Object))?,
        })
    }

    /// The object at `path` as a config.
    pub fn get_config(&self, path: &str) -> Result<Config> {
        Ok(Config {
            root: self.find(path, Some(ValueType::Object))?,
        })
    }

    /// List of objects.
    pub fn get_object_list(&self, path: &str) -> Result<Vec<ConfigValue>> {
        self.typed_list(path, ValueType::Object, |v| {
            Some(ConfigValue { v: v.clone() })
        })
    }

    /// List of objects as configs.
    pub fn get_config_list(&self, path: &str) -> Result<Vec<Config>> {
        Ok(self
            .get_object_list(path)?
            .into_iter()
            .map(|v| Config { root: v.v })
            .collect())
    }

    /// Deserialize the section at `path` into `T` (kebab-case keys; durations and sizes in HOCON
    /// notation via [`crate::serde_units`]). Use `""` for the whole config.
    pub fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T> {
        let (v, p) = if path.is_empty() {
            (self.root.clone(), String::new())
        } else {
            (self.find(path, None)?, Path::parse(path)?.render())
        };
        crate::de::from_value(&v, &p)
    }

    /// Leaf values by rendered path, nulls omitted.
    pub fn entry_set(&self) -> Result<Vec<(String, ConfigValue)>> {
        let mut out = Vec::new();
        fn walk(v: &V, prefix: &[String], out: &mut Vec<(String, ConfigValue)>) -> Result<()> {
            stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || walk_inner(v, prefix, out))
        }
        fn walk_inner(
            v: &V,
            prefix: &[String],
            out: &mut Vec<(String, ConfigValue)>,
        ) -> Result<()> {
            match &v.kind {
                Kind::Object { map, .. } => {
                    for (k, c) in map {
                        let mut p = prefix.to_vec();
                        p.push(k.to_string());
                        walk(c, &p, out)?;
                    }
                    Ok(())
                }
                Kind::Null => Ok(()),
                _ => {
                    if !v.is_resolved() {
                        return Err(not_resolved(&prefix.join(".")));
                    }
                    let p =
                        Path::from_keys(prefix.iter().cloned()).ok_or_else(|| bug("empty path"))?;
                    out.push((p.render(), ConfigValue { v: v.clone() }));
                    Ok(())
                }
            }
        }
        walk(&self.root, &[], &mut out)?;
        Ok(out)
    }

    /// A copy with `value` at `path`.
    pub fn with_value(&self, path: &str, value: &ConfigValue) -> Result<Config> {
        let p = Path::parse(path)?;
        Ok(Config {
            root: with_value_at(&self.root, &p, &value.v)?,
        })
    }

    /// Only the subtree at `path` (empty when absent).
    pub fn with_only_path(&self, path: &str) -> Result<Config> {
        let p = Path::parse(path)?;
        Ok(Config {
            root: with_only_path_or_null(&self.root, &p)?
                .unwrap_or_else(|| value::empty_object(self.root.origin.clone())),
        })
    }

    /// Everything except the subtree at `path`.
    pub fn without_path(&self, path: &str) -> Result<Config> {
        let p = Path::parse(path)?;
        Ok(Config {
            root: without_path(&self.root, &p)?,
        })
    }

    /// This config placed under `path` (Lightbend `root().atPath`).
    pub fn at_path(&self, path: &str) -> Result<Config> {
        ConfigValue {
            v: self.root.clone(),
        }
        .at_path(path)
    }

    /// This config placed under the single key `key`.
    pub fn at_key(&self, key: &str) -> Config {
        ConfigValue {
            v: self.root.clone(),
        }
        .at_key(key)
    }

    /// Render the root object.
    pub fn render(&self, opts: &RenderOptions) -> String {
        render::render(&self.root, opts)
    }

    /// Concise JSON of the root (`root().render(ConfigRenderOptions.concise())`).
    pub fn render_concise(&self) -> String {
        render::render(&self.root, &RenderOptions::concise())
    }

    /// Lightbend `checkValid`: every setting in `reference` (under `restrict_to`, or all) must be
    /// present with a compatible type.
    pub fn check_valid(&self, reference: &Config, restrict_to: &[&str]) -> Result<()> {
        crate::validate::check_valid(self, reference, restrict_to)
    }
}

fn require_object_map(v: &V) -> Result<&Map> {
    match &v.kind {
        Kind::Object { map, .. } => Ok(map),
        _ => Err(ConfigError::plain(
            ErrorKind::NotResolved,
            "need to Config#resolve() before using this object, see the API docs for Config#resolve()",
        )),
    }
}

fn with_value_at(obj: &V, p: &Path, v: &V) -> Result<V> {
    let map = require_object_map(obj)?;
    let (ig, key) = (obj.ignores_fallbacks(), p.first_key().clone());
    let child = match p.remainder() {
        None => v.clone(),
        Some(next) => match map.get(&key) {
            Some(c) if c.is_object() => with_value_at(c, &next, v)?,
            _ => at_path_value(
                v,
                &next,
                &Origin::simple(&format!("withValue({})", next.render())),
            ),
        },
    };
    let mut m = map.clone();
    m.insert(key, child);
    Ok(value::new_object_flags(obj.origin.clone(), m, ig))
}

fn with_only_path_or_null(obj: &V, p: &Path) -> Result<Option<V>> {
    let map = require_object_map(obj)?;
    let key = p.first();
    let mut v = map.get(key).cloned();
    if let Some(next) = p.remainder() {
        v = match v {
            Some(c) if c.is_object() => with_only_path_or_null(&c, &next)?,
            _ => None,
        };
    }
    Ok(v.map(|v| {
        let mut m = Map::default();
        m.insert(Key::new(key), v);
        value::new_object_flags(obj.origin.clone(), m, obj.ignores_fallbacks())
    }))
}

fn without_path(obj: &V, p: &Path) -> Result<V> {
    let map = require_object_map(obj)?;
    let key = p.first();
    let v = map.get(key);
    match (v, p.remainder()) {
        (Some(c), Some(next)) if c.is_object() => {
            let nc = without_path(c, &next)?;
            let mut m = map.clone();
            m.insert(Key::new(key), nc);
            Ok(value::new_object_flags(
                obj.origin.clone(),
                m,
                obj.ignores_fallbacks(),
            ))
        }
        (None, _) | (_, Some(_)) => Ok(obj.clone()),
        (Some(_), None) => {
            let mut m = map.clone();
            m.shift_remove(key);
            Ok(value::new_object_flags(
                obj.origin.clone(),
                m,
                obj.ignores_fallbacks(),
            ))
        }
    }
}

fn at_path_value(v: &V, p: &Path, origin: &Origin) -> V {
    let mut cur = v.clone();
    for k in p.keys().iter().rev() {
        let mut m = Map::default();
        m.insert(k.clone(), cur);
        cur = value::new_object(origin.clone(), m);
    }
    cur
}

/// Result of [`Config::get_temporal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Temporal {
    /// A duration in nanoseconds.
    Duration(i64),
    /// A calendar period.
    Period(Period),
}

impl ConfigValue {
    /// The value type, or `None` for unresolved values.
    pub fn value_type(&self) -> Option<ValueType> {
        self.v.value_type()
    }
    /// Where the value came from.
    pub fn origin(&self) -> &Origin {
        &self.v.origin
    }
    /// Render with options.
    pub fn render(&self, opts: &RenderOptions) -> String {
        render::render(&self.v, opts)
    }
    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.v.kind {
            Kind::Str { s, .. } => Some(s),
            _ => None,
        }
    }
    /// The boolean, if this is a boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match self.v.kind {
            Kind::Bool(b) => Some(b),
            _ => None,
        }
    }
    /// The number, if this is a number.
    pub fn as_number(&self) -> Option<Number> {
        match &self.v.kind {
            Kind::Num { n, .. } => Some(*n),
            _ => None,
        }
    }
    /// True for null.
    pub fn is_null(&self) -> bool {
        matches!(self.v.kind, Kind::Null)
    }
    /// List items, if this is a list.
    pub fn as_list(&self) -> Option<Vec<ConfigValue>> {
        match &self.v.kind {
            Kind::List { items, .. } => {
                Some(items.iter().map(|x| ConfigValue { v: x.clone() }).collect())
            }
            _ => None,
        }
    }
    /// Object entries in rendering order, if this is a resolved object.
    pub fn as_object(&self) -> Option<Vec<(String, ConfigValue)>> {
        let map = self.v.map()?;
        Some(
            render::sorted_keys(map)
                .into_iter()
                .map(|k| {
                    (
                        k.to_string(),
                        ConfigValue {
                            v: map[k.as_str()].clone(),
                        },
                    )
                })
                .collect(),
        )
    }
    /// The object as a config.
    pub fn to_config(&self) -> Option<Config> {
        self.v.is_object().then(|| Config {
            root: self.v.clone(),
        })
    }
    /// A config with this value at `path`.
    pub fn at_path(&self, path: &str) -> Result<Config> {
        let p = Path::parse(path)?;
        Ok(Config {
            root: at_path_value(&self.v, &p, &Origin::simple(&format!("atPath({})", path))),
        })
    }
    /// A config with this value at `key`.
    pub fn at_key(&self, key: &str) -> Config {
        Config {
            root: at_path_value(
                &self.v,
                &Path::key(key),
                &Origin::simple(&format!("atKey({})", key)),
            ),
        }
    }
    /// A string value.
    pub fn from_string(s: &str) -> ConfigValue {
        ConfigValue {
            v: value::new_string(Origin::simple("hardcoded value"), s.to_string()),
        }
    }
    /// A number value.
    pub fn from_i64(n: i64) -> ConfigValue {
        ConfigValue {
            v: value::mk(
                Origin::simple("hardcoded value"),
                Kind::Num {
                    n: Number::Int(n),
                    text: None,
                },
            ),
        }
    }
    /// A boolean value.
    pub fn from_bool(b: bool) -> ConfigValue {
        ConfigValue {
            v: value::mk(Origin::simple("hardcoded value"), Kind::Bool(b)),
        }
    }
}
