//! Paths: sequences of keys, parsed from HOCON path expressions.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::error::{ConfigError, ErrorKind, Result};
use crate::lexer::{self, Tok, Token};
use crate::origin::Origin;
use crate::value::Key;

/// A non-empty sequence of keys, e.g. `a.b."c.d"` is `["a", "b", "c.d"]`.
#[derive(Clone)]
pub struct Path {
    elems: Elems,
    start: usize,
}

/// Path storage: one key inline (no allocation), or shared keys.
#[derive(Clone)]
enum Elems {
    One(Key),
    Many(Arc<[Key]>),
}

impl std::ops::Deref for Elems {
    type Target = [Key];
    #[inline]
    fn deref(&self) -> &[Key] {
        match self {
            Elems::One(k) => std::slice::from_ref(k),
            Elems::Many(a) => a,
        }
    }
}

impl From<Vec<Key>> for Elems {
    fn from(mut v: Vec<Key>) -> Elems {
        if v.len() == 1 {
            if let Some(k) = v.pop() {
                return Elems::One(k);
            }
        }
        Elems::Many(v.into())
    }
}

impl PartialEq for Path {
    fn eq(&self, other: &Path) -> bool {
        self.keys() == other.keys()
    }
}
impl Eq for Path {}
impl Hash for Path {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.keys().hash(state)
    }
}
impl std::fmt::Debug for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render())
    }
}

impl Path {
    /// A path from keys; `None` when `keys` is empty.
    pub fn from_keys<S: AsRef<str>>(keys: impl IntoIterator<Item = S>) -> Option<Path> {
        let v: Vec<Key> = keys.into_iter().map(|k| Key::new(k)).collect();
        if v.is_empty() {
            None
        } else {
            Some(Path {
                elems: v.into(),
                start: 0,
            })
        }
    }
    /// A one-key path taking ownership of the key.
    pub(crate) fn from_single(k: Key) -> Path {
        Path {
            elems: Elems::One(k),
            start: 0,
        }
    }
    /// A one-key path.
    pub fn key(k: &str) -> Path {
        Path {
            elems: Elems::One(Key::new(k)),
            start: 0,
        }
    }
    /// The keys of this path.
    pub fn keys(&self) -> &[Key] {
        &self.elems[self.start..]
    }
    /// The first key.
    pub fn first(&self) -> &str {
        &self.elems[self.start]
    }
    /// The first key (shared).
    pub(crate) fn first_key(&self) -> &Key {
        &self.elems[self.start]
    }
    /// The last key.
    pub fn last(&self) -> &str {
        &self.elems[self.elems.len() - 1]
    }
    /// All but the first key, or `None`.
    pub fn remainder(&self) -> Option<Path> {
        if self.start + 1 >= self.elems.len() {
            None
        } else {
            Some(Path {
                elems: self.elems.clone(),
                start: self.start + 1,
            })
        }
    }
    /// All but the last key, or `None`.
    pub fn parent(&self) -> Option<Path> {
        let k = self.keys();
        Path::from_keys(k[..k.len() - 1].iter().cloned())
    }
    /// Number of keys.
    pub fn len(&self) -> usize {
        self.elems.len() - self.start
    }
    /// Always false (paths are non-empty); present for API symmetry.
    pub fn is_empty(&self) -> bool {
        false
    }
    /// `prefix` followed by this path.
    pub fn prepend(&self, prefix: &Path) -> Path {
        let mut v: Vec<Key> = prefix.keys().to_vec();
        v.extend_from_slice(self.keys());
        Path {
            elems: v.into(),
            start: 0,
        }
    }
    /// Drop the first `n` keys (the whole path if that would leave nothing).
    pub fn sub_path(&self, n: usize) -> Path {
        if n >= self.len() {
            return self.clone();
        }
        Path {
            elems: self.elems.clone(),
            start: self.start + n,
        }
    }
    /// This path followed by `other`.
    pub fn append(&self, key: &str) -> Path {
        let mut v: Vec<Key> = self.keys().to_vec();
        v.push(Key::new(key));
        Path {
            elems: v.into(),
            start: 0,
        }
    }
    /// Render as a path expression: keys quoted when needed, joined with `.`.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for (i, k) in self.keys().iter().enumerate() {
            if i > 0 {
                s.push('.');
            }
            s.push_str(&render_key(k));
        }
        s
    }

    /// Parse a path expression as given to getters (`a.b."c.d"`).
    pub fn parse(expr: &str) -> Result<Path> {
        if let Some(p) = fast_path(expr) {
            return Ok(p);
        }
        let origin = Origin::simple("path parameter");
        let toks = lexer::tokenize(expr, &origin, false);
        let mut body: Vec<Token> = Vec::new();
        for t in toks {
            match &t.tok {
                Tok::End => {}
                Tok::Problem(m) => {
                    return Err(ConfigError::new(
                        ErrorKind::BadPath,
                        Some(&origin),
                        format!("Invalid path '{}': {}", expr, m),
                    ))
                }
                _ => body.push(t),
            }
        }
        parse_path_tokens(&body, &origin, Some(expr))
    }
}

fn fast_path(s: &str) -> Option<Path> {
    if s.is_empty() || s.starts_with('.') || s.ends_with('.') {
        return None;
    }
    let mut last_dot = true;
    for c in s.chars() {
        if c.is_ascii_alphabetic() || c == '_' {
            last_dot = false;
        } else if c == '.' {
            if last_dot {
                return None;
            }
            last_dot = true;
        } else if c == '-' {
            if last_dot {
                return None;
            }
        } else {
            return None;
        }
    }
    Path::from_keys(s.split('.'))
}

/// Quote a key when it is not made only of letters, digits, `-` and `_`.
pub(crate) fn render_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    {
        k.to_string()
    } else {
        crate::render::json_string(k)
    }
}

/// Build a path from key/substitution expression tokens (value, unquoted text and whitespace tokens).
pub(crate) fn parse_path_tokens(
    tokens: &[Token<'_>],
    origin: &Origin,
    original: Option<&str>,
) -> Result<Path> {
    let bad = |msg: String| {
        let m = match original {
            Some(o) => format!("Invalid path '{}': {}", o, msg),
            None => msg,
        };
        ConfigError::new(ErrorKind::BadPath, Some(origin), m)
    };
    // fast path: one unquoted word with no empty elements
    if let [Token {
        tok: Tok::Unquoted(s),
        ..
    }] = tokens
    {
        if !s.is_empty() && !s.split('.').any(str::is_empty) {
            let keys: Vec<Key> = s.split('.').map(Key::new).collect();
            return Ok(Path {
                elems: keys.into(),
                start: 0,
            });
        }
    }
    // elements: (text, can_be_empty)
    let mut buf: Vec<(String, bool)> = vec![(String::new(), false)];
    let mut any = false;
    for t in tokens {
        let (text, quoted): (&str, bool) = match &t.tok {
            Tok::Str(s) => (s.as_ref(), true),
            Tok::Unquoted(s) => (*s, false),
            Tok::Num(n) => (n.text, false),
            Tok::Bool(b) => (if *b { "true" } else { "false" }, false),
            Tok::Null => ("null", false),
            other => {
                return Err(bad(format!(
                    "Token not allowed in path expression: {} (you can double-quote this token if you really want it here)",
                    other.describe()
                )))
            }
        };
        any = true;
        add_path_text(&mut buf, quoted, text);
    }
    if !any {
        return Err(bad(
            "Expecting a field name or path here, but got nothing".to_string()
        ));
    }
    let mut keys = Vec::with_capacity(buf.len());
    for (s, can_be_empty) in buf {
        if s.is_empty() && !can_be_empty {
            return Err(bad(
                "path has a leading, trailing, or two adjacent period '.' (use quoted \"\" empty string if you want an empty element)"
                    .to_string(),
            ));
        }
        keys.push(s);
    }
    Path::from_keys(keys).ok_or_else(|| bad("empty path".to_string()))
}

fn add_path_text(buf: &mut Vec<(String, bool)>, quoted: bool, text: &str) {
    let mut text = text;
    loop {
        let idx = if quoted { None } else { text.find('.') };
        let cur = buf.last_mut().expect("path buffer starts non-empty");
        match idx {
            None => {
                cur.0.push_str(text);
                if quoted && cur.0.is_empty() {
                    cur.1 = true;
                }
                return;
            }
            Some(i) => {
                cur.0.push_str(&text[..i]);
                buf.push((String::new(), false));
                text = &text[i + 1..];
            }
        }
    }
}
