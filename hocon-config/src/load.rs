//! Parsing files, strings and readers; includes; the environment object; `load` layering.

use std::path::{Path as FsPath, PathBuf};

use crate::error::{ConfigError, ErrorKind, Result};
use crate::origin::{Origin, OriginKind};
use crate::parser::{self, IncludeKind, Includer, Syntax};
use crate::properties;
use crate::value::{self, V};

/// Include statements nested deeper than this fail (Lightbend's limit).
pub const MAX_INCLUDE_DEPTH: usize = 50;

/// Options for parsing (Lightbend `ConfigParseOptions`).
#[derive(Debug, Clone)]
pub struct ParseOptions {
    /// Syntax; `None` means "from the file extension, else HOCON".
    pub syntax: Option<Syntax>,
    /// Origin description to use instead of the default (`String` or the file path).
    pub origin_description: Option<String>,
    /// Treat a missing file as an empty object (Lightbend default: true).
    pub allow_missing: bool,
    /// Directories acting as the classpath for `classpath()` includes and the heuristic
    /// include fallback.
    pub classpath: Vec<PathBuf>,
    /// Allow `url()` includes of non-`file:` URLs (they are refused otherwise).
    pub allow_url_includes: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            syntax: None,
            origin_description: None,
            allow_missing: true,
            classpath: Vec::new(),
            allow_url_includes: false,
        }
    }
}

impl ParseOptions {
    /// Options with the given syntax.
    pub fn with_syntax(mut self, s: Syntax) -> Self {
        self.syntax = Some(s);
        self
    }
    /// Options requiring the parsed file to exist.
    pub fn with_allow_missing(mut self, v: bool) -> Self {
        self.allow_missing = v;
        self
    }
    /// Options with an origin description.
    pub fn with_origin_description(mut self, d: &str) -> Self {
        self.origin_description = Some(d.to_string());
        self
    }
    /// Options with classpath roots.
    pub fn with_classpath(mut self, roots: Vec<PathBuf>) -> Self {
        self.classpath = roots;
        self
    }
}

/// Syntax implied by a file name's extension.
pub fn syntax_from_extension(name: &str) -> Option<Syntax> {
    if name.ends_with(".json") {
        Some(Syntax::Json)
    } else if name.ends_with(".properties") {
        Some(Syntax::Properties)
    } else if name.ends_with(".conf") {
        Some(Syntax::Conf)
    } else {
        None
    }
}

#[derive(Debug, Clone)]
enum Src {
    File(PathBuf),
    Resource(String),
    Str,
}

/// Decode UTF-8 without copying, reporting the line of the first invalid byte.
pub(crate) fn decode_utf8_owned(bytes: Vec<u8>, origin: &Origin) -> Result<String> {
    match String::from_utf8(bytes) {
        Ok(s) => Ok(s),
        Err(e) => {
            let bytes = e.as_bytes();
            let at = e.utf8_error().valid_up_to();
            let line = 1 + bytes[..at].iter().filter(|&&b| b == b'\n').count() as u32;
            Err(ConfigError::new(
                ErrorKind::Parse,
                Some(&origin.with_line(line)),
                format!("invalid UTF-8 byte sequence at byte offset {}", at),
            ))
        }
    }
}

/// Parse text of a given syntax into a root object.
pub(crate) fn parse_text_to_object(
    text: &str,
    origin: &Origin,
    syntax: Syntax,
    inc: &mut dyn Includer,
) -> Result<V> {
    let root = match syntax {
        Syntax::Properties => {
            let pairs = properties::parse_properties_text(text, origin)?;
            properties::from_string_pairs(origin, pairs)
        }
        _ => parser::parse_text(text, origin, syntax, inc)?,
    };
    if !root.is_object() {
        let t = root.value_type().map(|t| t.name()).unwrap_or("UNRESOLVED");
        return Err(ConfigError::new(
            ErrorKind::WrongType,
            Some(&root.origin),
            format!(" has type {} rather than object at file root", t),
        ));
    }
    Ok(root)
}

pub(crate) struct FsIncluder<'a> {
    opts: &'a ParseOptions,
    src: Src,
    depth: usize,
}

enum Target {
    File(PathBuf),
    Resource(String),
}

fn has_ext(name: &str) -> bool {
    syntax_from_extension(name).is_some()
}

fn not_found(at: &Origin, what: String) -> ConfigError {
    ConfigError::new(ErrorKind::Io, Some(at), what)
}

impl<'a> FsIncluder<'a> {
    pub(crate) fn for_string(opts: &'a ParseOptions) -> FsIncluder<'a> {
        FsIncluder {
            opts,
            src: Src::Str,
            depth: 0,
        }
    }

    fn locate(&self, kind: IncludeKind, name: &str) -> Target {
        match kind {
            IncludeKind::File => Target::File(PathBuf::from(name)),
            IncludeKind::Classpath => Target::Resource(name.trim_start_matches('/').to_string()),
            IncludeKind::Url => Target::File(PathBuf::from(
                name.trim_start_matches("file://")
                    .trim_start_matches("file:"),
            )),
            IncludeKind::Heuristic => match &self.src {
                Src::File(f) => {
                    let p = FsPath::new(name);
                    // like Java's `File.getParentFile`: a bare file name has no directory to be
                    // relative to, so only the class path is searched
                    let sibling = if p.is_absolute() {
                        Some(p.to_path_buf())
                    } else {
                        f.parent()
                            .filter(|d| !d.as_os_str().is_empty())
                            .map(|d| d.join(name))
                    };
                    match sibling {
                        Some(s) if s.exists() => Target::File(s),
                        _ => Target::Resource(name.trim_start_matches('/').to_string()),
                    }
                }
                Src::Resource(r) => {
                    if let Some(stripped) = name.strip_prefix('/') {
                        Target::Resource(stripped.to_string())
                    } else {
                        match r.rfind('/') {
                            Some(i) => Target::Resource(format!("{}/{}", &r[..i], name)),
                            None => Target::Resource(name.to_string()),
                        }
                    }
                }
                Src::Str => Target::Resource(name.trim_start_matches('/').to_string()),
            },
        }
    }

    /// Parse one target; `Ok(None)` when it does not exist.
    fn parse_target(
        &self,
        target: &Target,
        at: &Origin,
        syntax: Option<Syntax>,
    ) -> Result<Option<V>> {
        if self.depth + 1 > MAX_INCLUDE_DEPTH {
            return Err(ConfigError::new(
                ErrorKind::Parse,
                Some(at),
                format!(
                    "include statements nested more than {} times, you probably have a cycle in your includes",
                    MAX_INCLUDE_DEPTH
                ),
            ));
        }
        match target {
            Target::File(p) => {
                if !p.is_file() {
                    return Ok(None);
                }
                let v = parse_file_at(p, self.opts, self.depth + 1, None, syntax)?;
                Ok(Some(v))
            }
            Target::Resource(name) => {
                let mut merged: Option<V> = None;
                for root in &self.opts.classpath {
                    let p = root.join(name);
                    if p.is_file() {
                        let desc = format!("{} @ file:{}", name, p.display());
                        let v = parse_file_at(
                            &p,
                            self.opts,
                            self.depth + 1,
                            Some((desc, name.clone())),
                            syntax,
                        )?;
                        merged = Some(match merged {
                            None => v,
                            Some(m) => value::with_fallback(&m, &v),
                        });
                    }
                }
                Ok(merged)
            }
        }
    }
}

impl Includer for FsIncluder<'_> {
    fn include(&mut self, kind: IncludeKind, name: &str, required: bool, at: &Origin) -> Result<V> {
        let mut kind = kind;
        if kind == IncludeKind::Heuristic {
            let known = ["http:", "https:", "file:", "jar:", "ftp:"];
            if known.iter().any(|p| name.starts_with(p)) {
                kind = IncludeKind::Url;
            }
        }
        if kind == IncludeKind::Url {
            parser::check_url(name, at)?;
            if !name.starts_with("file:") && !self.opts.allow_url_includes {
                return Err(ConfigError::new(
                    ErrorKind::Io,
                    Some(at),
                    format!("url() includes are not enabled; refusing to fetch {}", name),
                ));
            }
            let t = self.locate(kind, name);
            return match self.parse_target(&t, at, None)? {
                Some(v) => Ok(v),
                None if required => Err(not_found(
                    at,
                    format!("java.io.FileNotFoundException: {}", name),
                )),
                None => Ok(value::empty_object(at.clone())),
            };
        }
        if has_ext(name) {
            let t = self.locate(kind, name);
            // Lightbend parses a heuristic include that names its extension with the including
            // source's options, so as HOCON whatever the extension (`include "x.properties"`
            // reads x.properties as HOCON); file() and classpath() use the extension.
            let syntax = (kind == IncludeKind::Heuristic).then_some(Syntax::Conf);
            return match self.parse_target(&t, at, syntax)? {
                Some(v) => Ok(v),
                None if required => Err(not_found(at, format!("resource not found: {}", name))),
                None => Ok(value::empty_object(at.clone())),
            };
        }
        let mut merged: Option<V> = None;
        for ext in [".conf", ".json", ".properties"] {
            let cand = format!("{}{}", name, ext);
            let t = self.locate(kind, &cand);
            match self.parse_target(&t, at, None) {
                Ok(Some(v)) => {
                    merged = Some(match merged {
                        None => v,
                        Some(m) => value::with_fallback(&m, &v),
                    });
                }
                Ok(None) => {}
                // Lightbend treats any IO failure while probing a candidate (also a failed
                // `required` include nested inside it) as "this candidate is missing".
                Err(e) if e.kind() == ErrorKind::Io => {}
                Err(e) => return Err(e),
            }
        }
        match merged {
            Some(v) => Ok(v),
            None if required => Err(not_found(
                at,
                format!(
                    "include {} could not find any of {}.conf, {}.json, {}.properties",
                    name, name, name, name
                ),
            )),
            None => Ok(value::empty_object(at.clone())),
        }
    }
}

/// Parse a file at `path` (syntax from options or extension). `resource` gives the origin
/// description and resource name when the file is read as a classpath resource.
pub(crate) fn parse_file_at(
    path: &FsPath,
    opts: &ParseOptions,
    depth: usize,
    resource: Option<(String, String)>,
    syntax: Option<Syntax>,
) -> Result<V> {
    let (desc, kind, src) = match &resource {
        Some((d, name)) => (d.clone(), OriginKind::Resource, Src::Resource(name.clone())),
        None => (
            opts.origin_description
                .clone()
                .unwrap_or_else(|| path.display().to_string()),
            OriginKind::File,
            Src::File(path.to_path_buf()),
        ),
    };
    let origin = Origin::new(&desc, kind);
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            if e.kind() == std::io::ErrorKind::NotFound && opts.allow_missing && depth == 0 {
                return Ok(value::empty_object(origin));
            }
            return Err(ConfigError::new(
                ErrorKind::Io,
                Some(&origin),
                format!("java.io.FileNotFoundException: {} ({})", path.display(), e),
            ));
        }
    };
    let text = decode_utf8_owned(bytes, &origin)?;
    let syntax = syntax
        .or(if depth == 0 { opts.syntax } else { None })
        .or_else(|| syntax_from_extension(&path.to_string_lossy()))
        .unwrap_or(Syntax::Conf);
    let mut inc = FsIncluder { opts, src, depth };
    parse_text_to_object(&text, &origin, syntax, &mut inc)
}

/// Build the environment object (names split on `.`, values strings).
pub(crate) fn env_object_from(vars: impl IntoIterator<Item = (String, String)>) -> V {
    properties::from_string_pairs(&Origin::new("env variables", OriginKind::Env), vars)
}

/// The process environment as an object.
pub(crate) fn process_env_object() -> V {
    env_object_from(std::env::vars_os().map(|(k, v)| {
        (
            k.to_string_lossy().into_owned(),
            v.to_string_lossy().into_owned(),
        )
    }))
}

/// Map a `CONFIG_FORCE_` variable name to a property path (`_`→`.`, `__`→`-`, `___`→`_`).
pub(crate) fn env_variable_as_property(var: &str, prefix: &str) -> Result<String> {
    let s = &var[prefix.len()..];
    let mut out = String::new();
    let mut underscores = 0usize;
    let flush = |out: &mut String, n: usize| -> Result<()> {
        match n {
            0 => Ok(()),
            1 => {
                out.push('.');
                Ok(())
            }
            2 => {
                out.push('-');
                Ok(())
            }
            3 => {
                out.push('_');
                Ok(())
            }
            _ => Err(ConfigError::plain(
                ErrorKind::BadPath,
                format!("Invalid path '{}': Environment variable contains an un-mapped number of underscores.", var),
            )),
        }
    };
    for c in s.chars() {
        if c == '_' {
            underscores += 1;
        } else {
            flush(&mut out, underscores)?;
            underscores = 0;
            out.push(c);
        }
    }
    flush(&mut out, underscores)?;
    Ok(out)
}
