//! Parser: tokens to an unresolved value tree, with Lightbend's syntax rules and merge semantics.

use crate::error::{ConfigError, ErrorKind, Result};
use crate::lexer::{self, is_whitespace, Tok, Token};
use crate::origin::Origin;
use crate::path::{self, Path};
use crate::value::{self, mk, Key, Kind, Map, V};

/// A key from token text, without copying short text.
fn cow_key(s: std::borrow::Cow<'_, str>) -> Key {
    match s {
        std::borrow::Cow::Borrowed(b) => Key::new(b),
        std::borrow::Cow::Owned(o) => Key::from(o),
    }
}

/// Maximum nesting of objects/arrays; deeper input fails with a parse error instead of
/// exhausting the stack.
pub const MAX_NESTING: u32 = 100_000;

/// Source syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// HOCON (`.conf`).
    Conf,
    /// Strict JSON (`.json`).
    Json,
    /// Java properties (`.properties`).
    Properties,
}

/// Include statement forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeKind {
    /// `include "name"`.
    Heuristic,
    /// `include file("path")`.
    File,
    /// `include url("url")`.
    Url,
    /// `include classpath("resource")`.
    Classpath,
}

/// Resolves include statements for the parser.
pub(crate) trait Includer {
    /// Parse the include target; a missing optional target gives an empty object.
    fn include(&mut self, kind: IncludeKind, name: &str, required: bool, at: &Origin) -> Result<V>;
}

/// Validate a URL the way `java.net.URL` would for the protocols Java knows.
pub(crate) fn check_url(name: &str, at: &Origin) -> Result<()> {
    let known = ["http:", "https:", "file:", "jar:", "ftp:"];
    if known.iter().any(|p| name.starts_with(p)) {
        Ok(())
    } else {
        Err(ConfigError::new(
            ErrorKind::Parse,
            Some(at),
            format!("include url() specifies an invalid URL: {}", name),
        ))
    }
}

/// Parse `text` in HOCON or JSON syntax; returns the root value (object or list).
pub(crate) fn parse_text(
    text: &str,
    origin: &Origin,
    syntax: Syntax,
    includer: &mut dyn Includer,
) -> Result<V> {
    let json = syntax == Syntax::Json;
    let mut p = Parser {
        toks: lexer::Tokens::new(text, json),
        scratch: Vec::new(),
        key_tokens: Vec::new(),
        buffer: Vec::new(),
        json,
        line: 1,
        origin: origin.clone(),
        equals_count: 0,
        array_count: 0,
        path_stack: Vec::new(),
        includer,
        depth: 0,
    };
    p.parse_document()
}

/// Objects with at most this many keys are collected in the parser's scratch vector (linear
/// key lookup) and get a map of exactly their size; larger ones switch to a map while parsing.
const SMALL_OBJECT: usize = 16;

/// Entries of the object being parsed: `scratch[base..]`, or a map once it grew large.
struct Entries {
    base: usize,
    big: Option<Map>,
}

struct Parser<'a, 't> {
    /// Entries of the objects being parsed, innermost last.
    scratch: Vec<(Key, V)>,
    /// Tokens of the key being parsed (reused).
    key_tokens: Vec<Token<'t>>,
    toks: lexer::Tokens<'t>,
    buffer: Vec<Token<'t>>,
    json: bool,
    line: u32,
    origin: Origin,
    equals_count: u32,
    array_count: u32,
    path_stack: Vec<Path>,
    includer: &'a mut dyn Includer,
    depth: u32,
}

fn is_unquoted_ws(t: &Tok<'_>) -> bool {
    matches!(t, Tok::Unquoted(s) if s.chars().all(is_whitespace))
}

impl<'a, 't> Parser<'a, 't> {
    fn err(&self, msg: impl Into<String>) -> ConfigError {
        ConfigError::new(
            ErrorKind::Parse,
            Some(&self.origin.with_line(self.line)),
            msg,
        )
    }

    fn pop_token(&mut self) -> Token<'t> {
        if let Some(t) = self.buffer.pop() {
            return t;
        }
        match self.toks.next_token() {
            Some(t) => t,
            None => Token {
                tok: Tok::End,
                line: self.line,
            },
        }
    }

    fn next_token(&mut self) -> Result<Token<'t>> {
        let t = self.pop_token();
        if let Tok::Problem(m) = &t.tok {
            return Err(ConfigError::new(
                ErrorKind::Parse,
                Some(&self.origin.with_line(t.line)),
                m.clone(),
            ));
        }
        if self.json {
            if let Tok::Unquoted(s) = &t.tok {
                if !s.chars().all(is_whitespace) {
                    self.line = t.line;
                    return Err(self.err(format!("Token not allowed in valid JSON: '{}'", s)));
                }
            } else if let Tok::Subst { .. } = &t.tok {
                self.line = t.line;
                return Err(self.err("Substitutions (${} syntax) not allowed in JSON"));
            }
        }
        Ok(t)
    }

    fn put_back(&mut self, t: Token<'t>) {
        self.buffer.push(t);
    }

    fn next_token_collecting_ws(&mut self) -> Result<Token<'t>> {
        loop {
            let t = self.next_token()?;
            match &t.tok {
                Tok::Comment => {}
                Tok::Newline(n) => self.line = t.line + n,
                tk if is_unquoted_ws(tk) => {}
                _ => {
                    self.line = t.line;
                    return Ok(t);
                }
            }
        }
    }

    fn check_element_separator(&mut self) -> Result<bool> {
        if self.json {
            let t = self.next_token_collecting_ws()?;
            if t.tok == Tok::Comma {
                return Ok(true);
            }
            self.put_back(t);
            return Ok(false);
        }
        let mut saw = false;
        loop {
            let t = self.next_token()?;
            match &t.tok {
                Tok::Comment => {}
                tk if is_unquoted_ws(tk) => {}
                Tok::Newline(n) => {
                    saw = true;
                    self.line += n;
                }
                Tok::Comma => return Ok(true),
                _ => {
                    self.put_back(t);
                    return Ok(saw);
                }
            }
        }
    }

    fn quote_hint(&self, bad: &str, message: String) -> String {
        let mut s = format!(
            "{} (if you intended {} to be part of a key or string value, try enclosing the key or value in double quotes",
            message, bad
        );
        if self.equals_count > 0 {
            s.push_str(", or you may be able to rename the file .properties rather than .conf)");
        } else {
            s.push(')');
        }
        s
    }

    fn parse_document(&mut self) -> Result<V> {
        let t = self.next_token_collecting_ws()?;
        let result = match t.tok {
            Tok::OpenCurly | Tok::OpenSquare => self.parse_value(t)?,
            _ => {
                if self.json {
                    if t.tok == Tok::End {
                        return Err(self.err("Empty document"));
                    }
                    return Err(self.err(format!(
                        "Document must have an object or array at root, unexpected token: {}",
                        t.tok.describe()
                    )));
                }
                self.put_back(t);
                self.parse_object(false)?
            }
        };
        let t = self.next_token_collecting_ws()?;
        if t.tok != Tok::End {
            return Err(self.err(format!(
                "Document has trailing tokens after first object or array: {}",
                t.tok.describe()
            )));
        }
        Ok(result)
    }

    /// The origin for `line`.
    fn origin_at(&mut self, line: u32) -> Origin {
        self.origin.with_line(line)
    }

    fn simple_value(&mut self, t: Token<'t>) -> Result<V> {
        let origin = self.origin_at(t.line);
        let kind = match t.tok {
            Tok::Str(s) => Kind::Str {
                s: cow_key(s),
                quoted: true,
            },
            Tok::Unquoted(s) => Kind::Str {
                s: Key::new(s),
                quoted: false,
            },
            Tok::Num(n) => Kind::Num {
                n: n.value,
                text: Some(Key::new(n.text)),
            },
            Tok::Bool(b) => Kind::Bool(b),
            Tok::Null => Kind::Null,
            Tok::Subst { optional, expr } => {
                let p = path::parse_path_tokens(&expr, &origin, None)?;
                Kind::Ref {
                    path: p,
                    optional,
                    prefix_len: 0,
                }
            }
            other => {
                return Err(self.err(format!(
                    "Expecting a value but got wrong token: {}",
                    other.describe()
                )))
            }
        };
        Ok(mk(origin, kind))
    }

    fn is_value_start(t: &Tok<'_>) -> bool {
        t.is_value()
            || matches!(
                t,
                Tok::Unquoted(_) | Tok::Subst { .. } | Tok::OpenCurly | Tok::OpenSquare
            )
    }

    fn parse_value(&mut self, t: Token<'t>) -> Result<V> {
        match t.tok {
            Tok::OpenCurly => {
                self.enter(t.line)?;
                let r = stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || self.parse_object(true));
                self.depth -= 1;
                r
            }
            Tok::OpenSquare => {
                self.enter(t.line)?;
                let r = stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || self.parse_array());
                self.depth -= 1;
                r
            }
            ref tk if tk.is_simple_value() => self.simple_value(t),
            other => {
                self.line = t.line;
                let d = other.describe();
                Err(self.err(
                    self.quote_hint(&d, format!("Expecting a value but got wrong token: {}", d)),
                ))
            }
        }
    }

    fn enter(&mut self, line: u32) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            self.line = line;
            return Err(self.err(format!(
                "objects and arrays nested more than {} levels deep",
                MAX_NESTING
            )));
        }
        Ok(())
    }

    /// HOCON value concatenation on one line; `None` when no value starts here.
    fn consolidate_values(&mut self) -> Result<Option<V>> {
        if self.json {
            return Ok(None);
        }
        let t = self.next_token_collecting_ws()?;
        if !Self::is_value_start(&t.tok) {
            self.put_back(t);
            return Ok(None);
        }
        let first = self.parse_value(t)?;
        let mut t = self.next_token()?;
        if !Self::is_value_start(&t.tok) {
            self.put_back(t);
            return Ok(Some(first));
        }
        let mut values: Vec<V> = Vec::with_capacity(4);
        values.push(first);
        while Self::is_value_start(&t.tok) {
            values.push(self.parse_value(t)?);
            t = self.next_token()?;
        }
        self.put_back(t);
        value::concatenate(values)
    }

    fn parse_key(&mut self, t: Token<'t>) -> Result<Path> {
        if self.json {
            if let Tok::Str(s) = t.tok {
                return Ok(Path::from_single(cow_key(s)));
            }
            return Err(self.err(format!(
                "Expecting close brace }} or a field name here, got {}",
                t.tok.describe()
            )));
        }
        // the key's tokens go into a vector reused from key to key
        let mut expr = std::mem::take(&mut self.key_tokens);
        expr.clear();
        let r = self.parse_key_tokens(t, &mut expr);
        expr.clear();
        self.key_tokens = expr;
        r
    }

    fn parse_key_tokens(&mut self, t: Token<'t>, expr: &mut Vec<Token<'t>>) -> Result<Path> {
        let mut t = t;
        while t.tok.is_value() || matches!(t.tok, Tok::Unquoted(_)) {
            expr.push(t);
            t = self.next_token()?;
        }
        if expr.is_empty() {
            return Err(self.err(format!(
                "expecting a close parentheses ')' here, not: {}",
                t.tok.describe()
            )));
        }
        self.put_back(t);
        // fast path: one unquoted word without '.' or one quoted string is a one-key path
        if expr.len() == 1 {
            let simple = match &expr[0].tok {
                Tok::Unquoted(s) => !s.is_empty() && !s.contains('.'),
                Tok::Str(_) => true,
                _ => false,
            };
            if simple {
                match expr.pop().map(|t| t.tok) {
                    Some(Tok::Unquoted(s)) => return Ok(Path::from_single(Key::new(s))),
                    Some(Tok::Str(s)) => return Ok(Path::from_single(cow_key(s))),
                    _ => {}
                }
            }
        }
        let origin = self.origin_at(self.line);
        path::parse_path_tokens(expr, &origin, None)
    }

    fn full_current_path(&self) -> Option<Path> {
        let keys: Vec<Key> = self
            .path_stack
            .iter()
            .flat_map(|p| p.keys().iter().cloned())
            .collect();
        Path::from_keys(keys)
    }

    fn parse_object(&mut self, had_open: bool) -> Result<V> {
        let object_origin = self.origin_at(self.line);
        let mut values = Entries {
            base: self.scratch.len(),
            big: None,
        };
        let mut after_comma = false;
        let mut last_path: Option<Path> = None;
        let mut last_inside_equals = false;
        loop {
            let t = self.next_token_collecting_ws()?;
            match &t.tok {
                Tok::CloseCurly => {
                    if self.json && after_comma {
                        return Err(self.err(
                            self.quote_hint(
                                "'}'",
                                "expecting a field name after a comma, got a close brace } instead"
                                    .to_string(),
                            ),
                        ));
                    } else if !had_open {
                        return Err(self.err(self.quote_hint(
                            "'}'",
                            "unbalanced close brace '}' with no open brace".to_string(),
                        )));
                    }
                    break;
                }
                Tok::End if !had_open => {
                    self.put_back(t);
                    break;
                }
                Tok::Unquoted(s) if !self.json && *s == "include" => {
                    self.parse_include(&mut values)?;
                }
                _ => {
                    let key_line = t.line;
                    let path = self.parse_key(t)?;
                    let after_key = self.next_token_collecting_ws()?;
                    let mut inside_equals = false;
                    let mut plus_equals = false;
                    self.path_stack.push(path.clone());
                    let value = if !self.json && after_key.tok == Tok::OpenCurly {
                        self.parse_value(after_key)?
                    } else {
                        let is_sep = if self.json {
                            after_key.tok == Tok::Colon
                        } else {
                            matches!(after_key.tok, Tok::Colon | Tok::Equals | Tok::PlusEquals)
                        };
                        if !is_sep {
                            let d = after_key.tok.describe();
                            return Err(self.err(self.quote_hint(
                                &d,
                                format!(
                                    "Key '{}' may not be followed by token: {}",
                                    path.render(),
                                    d
                                ),
                            )));
                        }
                        if after_key.tok == Tok::Equals {
                            inside_equals = true;
                            self.equals_count += 1;
                        }
                        if after_key.tok == Tok::PlusEquals {
                            plus_equals = true;
                            if self.array_count > 0 {
                                self.line = key_line;
                                return Err(self.err("Due to current limitations of the config parser, += does not work nested inside a list. += expands to a ${} substitution and the path in ${} cannot currently refer to list elements. You might be able to move the += outside of the list and then refer to it from inside the list with ${}."));
                            }
                            self.array_count += 1;
                        }
                        let v = match self.consolidate_values()? {
                            Some(v) => v,
                            None => {
                                let t = self.next_token_collecting_ws()?;
                                self.parse_value(t)?
                            }
                        };
                        if inside_equals {
                            self.equals_count -= 1;
                        }
                        v
                    };
                    let mut value = value;
                    if plus_equals {
                        self.array_count -= 1;
                        let full = self.full_current_path().unwrap_or_else(|| path.clone());
                        let r = mk(
                            value.origin.clone(),
                            Kind::Ref {
                                path: full,
                                optional: true,
                                prefix_len: 0,
                            },
                        );
                        let list = value::new_list(value.origin.clone(), vec![value]);
                        value = value::concatenate(vec![r, list])?
                            .ok_or_else(|| crate::error::bug("empty += concatenation"))?;
                    }
                    self.path_stack.pop();
                    last_inside_equals = inside_equals;
                    let key = path.first_key().clone();
                    match path.remainder() {
                        None => {
                            if let Some(existing) = self.entry_get(&values, &key) {
                                if self.json {
                                    return Err(self.err(format!(
                                        "JSON does not allow duplicate fields: '{}' was already seen at {}",
                                        key,
                                        existing.origin.description()
                                    )));
                                }
                                value = value::with_fallback(&value, existing);
                            }
                            self.entry_insert(&mut values, key, value);
                        }
                        Some(rem) => {
                            let mut obj = create_value_under_path(&rem, value);
                            if let Some(existing) = self.entry_get(&values, &key) {
                                obj = value::with_fallback(&obj, existing);
                            }
                            self.entry_insert(&mut values, key, obj);
                        }
                    }
                    last_path = Some(path);
                }
            }
            if self.check_element_separator()? {
                after_comma = true;
            } else {
                let t = self.next_token_collecting_ws()?;
                match t.tok {
                    Tok::CloseCurly => {
                        if !had_open {
                            return Err(self.err(self.hint_with_path(
                                &last_path,
                                last_inside_equals,
                                "'}'",
                                "unbalanced close brace '}' with no open brace",
                            )));
                        }
                        break;
                    }
                    Tok::End if !had_open => {
                        self.put_back(t);
                        break;
                    }
                    other => {
                        let d = other.describe();
                        let msg = if had_open {
                            format!("Expecting close brace }} or a comma, got {}", d)
                        } else {
                            format!("Expecting end of input or a comma, got {}", d)
                        };
                        return Err(self.err(self.hint_with_path(
                            &last_path,
                            last_inside_equals,
                            &d,
                            &msg,
                        )));
                    }
                }
            }
        }
        let map = self.entries_finish(values);
        Ok(value::new_object(object_origin, map))
    }

    fn hint_with_path(
        &self,
        last: &Option<Path>,
        inside_equals: bool,
        bad: &str,
        message: &str,
    ) -> String {
        let mut s = match last {
            Some(p) => format!(
                "{} (if you intended {} to be part of the value for '{}', try enclosing the value in double quotes",
                message,
                bad,
                p.render()
            ),
            None => format!(
                "{} (if you intended {} to be part of a key or string value, try enclosing the key or value in double quotes",
                message, bad
            ),
        };
        if inside_equals {
            s.push_str(", or you may be able to rename the file .properties rather than .conf)");
        } else {
            s.push(')');
        }
        s
    }

    /// The value under `key` in the object being parsed.
    fn entry_get<'s>(&'s self, e: &'s Entries, key: &str) -> Option<&'s V> {
        match &e.big {
            Some(m) => m.get(key),
            None => self.scratch[e.base..]
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v),
        }
    }

    /// Insert or replace (keeping the first position, like `IndexMap::insert`).
    fn entry_insert(&mut self, e: &mut Entries, key: Key, v: V) {
        if let Some(m) = &mut e.big {
            m.insert(key, v);
            return;
        }
        if let Some(slot) = self.scratch[e.base..].iter_mut().find(|(k, _)| *k == key) {
            slot.1 = v;
            return;
        }
        self.scratch.push((key, v));
        let n = self.scratch.len() - e.base;
        if n > SMALL_OBJECT {
            let mut m = Map::with_capacity_and_hasher(n * 2, Default::default());
            m.extend(self.scratch.drain(e.base..));
            e.big = Some(m);
        }
    }

    /// The finished object's entries as a map of exactly the needed size.
    fn entries_finish(&mut self, e: Entries) -> Map {
        match e.big {
            Some(m) => m,
            None => {
                let mut m =
                    Map::with_capacity_and_hasher(self.scratch.len() - e.base, Default::default());
                m.extend(self.scratch.drain(e.base..));
                m
            }
        }
    }

    fn parse_include(&mut self, values: &mut Entries) -> Result<()> {
        let t = self.next_token_collecting_ws()?;
        let (kind, name, required) = match &t.tok {
            Tok::Unquoted(text) if text.starts_with("required(") => {
                let text: &'t str = text;
                let r = &text["required(".len()..];
                let line = t.line;
                if !r.is_empty() {
                    self.put_back(Token {
                        tok: Tok::Unquoted(r),
                        line,
                    });
                }
                let (k, n) = self.parse_include_resource()?;
                let t = self.next_token_collecting_ws()?;
                if !matches!(&t.tok, Tok::Unquoted(s) if *s == ")") {
                    return Err(self.err(format!(
                        "expecting a close parentheses ')' here, not: {}",
                        t.tok.describe()
                    )));
                }
                (k, n, true)
            }
            _ => {
                self.put_back(t);
                let (k, n) = self.parse_include_resource()?;
                (k, n, false)
            }
        };
        let at = self.origin.with_line(self.line);
        let mut obj = self.includer.include(kind, &name, required, &at)?;
        if self.array_count > 0 && !obj.is_resolved() {
            return Err(self.err("Due to current limitations of the config parser, when an include statement is nested inside a list value, ${} substitutions inside the included file cannot be resolved correctly. Either move the include outside of the list value or remove the ${} statements from the included file."));
        }
        if let Some(prefix) = self.full_current_path() {
            obj = value::relativized(&obj, &prefix);
        }
        let map = match &obj.kind {
            Kind::Object { map, .. } => map,
            _ => {
                return Err(ConfigError::new(
                    ErrorKind::NotResolved,
                    Some(&at),
                    "included configuration could not be merged before resolving",
                ))
            }
        };
        for (k, v) in map {
            let nv = match self.entry_get(values, k) {
                Some(existing) => value::with_fallback(v, existing),
                None => v.clone(),
            };
            self.entry_insert(values, k.clone(), nv);
        }
        Ok(())
    }

    fn parse_include_resource(&mut self) -> Result<(IncludeKind, String)> {
        let t = self.next_token_collecting_ws()?;
        match t.tok {
            Tok::Unquoted(text) => {
                let (kind, prefix) = if text.starts_with("url(") {
                    (IncludeKind::Url, "url(")
                } else if text.starts_with("file(") {
                    (IncludeKind::File, "file(")
                } else if text.starts_with("classpath(") {
                    (IncludeKind::Classpath, "classpath(")
                } else {
                    return Err(self.err(format!("expecting include parameter to be quoted filename, file(), classpath(), or url(). No spaces are allowed before the open paren. Not expecting: '{}'", text)));
                };
                let r = &text[text.find('(').map(|i| i + 1).unwrap_or(text.len())..];
                if !r.is_empty() {
                    self.put_back(Token {
                        tok: Tok::Unquoted(r),
                        line: t.line,
                    });
                }
                let t = self.next_token_collecting_ws()?;
                let name = match t.tok {
                    Tok::Str(s) => s.into_owned(),
                    other => {
                        return Err(self.err(format!(
                        "expecting include {}) parameter to be a quoted string, rather than: {}",
                        prefix,
                        other.describe()
                    )))
                    }
                };
                let t = self.next_token_collecting_ws()?;
                match &t.tok {
                    Tok::Unquoted(s) if s.starts_with(')') => {
                        let rest = &s[1..];
                        if !rest.is_empty() {
                            self.put_back(Token {
                                tok: Tok::Unquoted(rest),
                                line: t.line,
                            });
                        }
                    }
                    other => {
                        return Err(self.err(format!(
                            "expecting a close parentheses ')' here, not: {}",
                            other.describe()
                        )))
                    }
                }
                Ok((kind, name))
            }
            Tok::Str(s) => Ok((IncludeKind::Heuristic, s.into_owned())),
            other => Err(self.err(format!(
                "include keyword is not followed by a quoted string, but by: {}",
                other.describe()
            ))),
        }
    }

    fn parse_array(&mut self) -> Result<V> {
        let origin = self.origin_at(self.line);
        self.array_count += 1;
        let mut items: Vec<V> = Vec::new();
        match self.consolidate_values()? {
            Some(v) => items.push(v),
            None => {
                let t = self.next_token_collecting_ws()?;
                if t.tok == Tok::CloseSquare {
                    self.array_count -= 1;
                    return Ok(value::new_list(origin, items));
                } else if Self::is_value_start(&t.tok) {
                    items.push(self.parse_value(t)?);
                } else {
                    let d = t.tok.describe();
                    return Err(self.err(format!("List should have ] or a first element after the open [, instead had token: {} (if you want {} to be part of a string value, then double-quote it)", d, d)));
                }
            }
        }
        loop {
            if !self.check_element_separator()? {
                let t = self.next_token_collecting_ws()?;
                if t.tok == Tok::CloseSquare {
                    self.array_count -= 1;
                    return Ok(value::new_list(origin, items));
                }
                let d = t.tok.describe();
                return Err(self.err(format!("List should have ended with ] or had a comma, instead had token: {} (if you want {} to be part of a string value, then double-quote it)", d, d)));
            }
            match self.consolidate_values()? {
                Some(v) => items.push(v),
                None => {
                    let t = self.next_token_collecting_ws()?;
                    if Self::is_value_start(&t.tok) {
                        items.push(self.parse_value(t)?);
                    } else if !self.json && t.tok == Tok::CloseSquare {
                        self.put_back(t);
                    } else {
                        let d = t.tok.describe();
                        return Err(self.err(format!("List should have had new element after a comma, instead had token: {} (if you want the comma or {} to be part of a string value, then double-quote it)", d, d)));
                    }
                }
            }
        }
    }
}

fn create_value_under_path(path: &Path, value: V) -> V {
    let keys = path.keys();
    let origin = value.origin.clone();
    let mut m = Map::default();
    m.insert(keys[keys.len() - 1].clone(), value);
    let mut o = value::new_object(origin.clone(), m);
    for k in keys[..keys.len() - 1].iter().rev() {
        let mut m = Map::default();
        m.insert(k.clone(), o);
        o = value::new_object(origin.clone(), m);
    }
    o
}
