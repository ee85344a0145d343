//! Tokenizer: HOCON (and JSON) text to tokens, following Lightbend's tokenizer rules.
//!
//! Lexical errors do not abort tokenizing: they become [`Tok::Problem`] tokens so that the
//! parser reports whichever error comes first in the document.

use std::borrow::Cow;

use crate::origin::Origin;

/// A number token: its value and the text it was written as.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NumTok<'a> {
    pub value: crate::value::Number,
    pub text: &'a str,
}

/// A token; text borrows from the input where it can (quoted strings with escapes own theirs).
///
/// `repr(C, u8)` keeps every payload 8-byte aligned after the tag, so that moving tokens
/// between the lexer and the parser copies whole words.
#[derive(Debug, Clone, PartialEq)]
#[repr(C, u8)]
pub(crate) enum Tok<'a> {
    End,
    Comma,
    Equals,
    Colon,
    OpenCurly,
    CloseCurly,
    OpenSquare,
    CloseSquare,
    PlusEquals,
    /// One or more newlines (the parser's stream joins a run of blank and comment-only lines
    /// into one token with their count).
    Newline(u32),
    Unquoted(&'a str),
    Str(Cow<'a, str>),
    Num(NumTok<'a>),
    Bool(bool),
    Null,
    /// A comment (its text is not kept).
    Comment,
    Subst {
        optional: bool,
        expr: Vec<Token<'a>>,
    },
    Problem(String),
}

impl Tok<'_> {
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::End => "end of file".into(),
            Tok::Comma => "','".into(),
            Tok::Equals => "'='".into(),
            Tok::Colon => "':'".into(),
            Tok::OpenCurly => "'{'".into(),
            Tok::CloseCurly => "'}'".into(),
            Tok::OpenSquare => "'['".into(),
            Tok::CloseSquare => "']'".into(),
            Tok::PlusEquals => "'+='".into(),
            Tok::Newline(_) => "newline".into(),
            Tok::Unquoted(s) => format!("'{}'", s),
            Tok::Str(s) => format!("quoted string {}", crate::render::json_string(s)),
            Tok::Num(n) => format!("'{}'", n.text),
            Tok::Bool(b) => format!("'{}'", b),
            Tok::Null => "'null'".into(),
            Tok::Comment => "comment".into(),
            Tok::Subst { .. } => "'${'".into(),
            Tok::Problem(m) => m.clone(),
        }
    }
    pub(crate) fn is_simple_value(&self) -> bool {
        matches!(
            self,
            Tok::Subst { .. }
                | Tok::Unquoted(_)
                | Tok::Str(_)
                | Tok::Num(_)
                | Tok::Bool(_)
                | Tok::Null
        )
    }
    pub(crate) fn is_value(&self) -> bool {
        matches!(self, Tok::Str(_) | Tok::Num(_) | Tok::Bool(_) | Tok::Null)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token<'a> {
    pub tok: Tok<'a>,
    pub line: u32,
}

/// Lightbend's whitespace set (Java `Character.isWhitespace` plus non-breaking spaces and BOM).
pub(crate) fn is_whitespace(c: char) -> bool {
    matches!(c,
        ' ' | '\n' | '\u{00A0}' | '\u{2007}' | '\u{202F}' | '\u{FEFF}'
        | '\t' | '\u{000B}' | '\u{000C}' | '\r' | '\u{001C}'..='\u{001F}'
        | '\u{1680}' | '\u{2000}'..='\u{2006}' | '\u{2008}'..='\u{200A}'
        | '\u{2028}' | '\u{2029}' | '\u{205F}' | '\u{3000}')
}

/// Characters that may not appear in unquoted text (`$"{}[]:=,+#`^?!@*&\`).
#[inline]
fn not_in_unquoted(c: char) -> bool {
    matches!(
        c,
        '$' | '"'
            | '{'
            | '}'
            | '['
            | ']'
            | ':'
            | '='
            | ','
            | '+'
            | '#'
            | '`'
            | '^'
            | '?'
            | '!'
            | '@'
            | '*'
            | '&'
            | '\\'
    )
}

fn as_string(c: Option<char>) -> String {
    match c {
        None => "end of file".into(),
        Some('\n') => "newline".into(),
        Some('\t') => "tab".into(),
        Some(c) if (c as u32) < 0x20 => format!("control character 0x{:x}", c as u32),
        Some(c) => c.to_string(),
    }
}

/// ASCII bytes that end unquoted text: the reserved characters and ASCII whitespace.
const ASCII_STOP: [bool; 128] = {
    let mut t = [false; 128];
    let reserved = b"$\"{}[]:=,+#`^?!@*&\\";
    let mut i = 0;
    while i < reserved.len() {
        t[reserved[i] as usize] = true;
        i += 1;
    }
    let ws = b" \n\t\x0b\x0c\r\x1c\x1d\x1e\x1f";
    let mut i = 0;
    while i < ws.len() {
        t[ws[i] as usize] = true;
        i += 1;
    }
    t
};

struct Lexer<'a> {
    s: &'a str,
    pos: usize,
    line: u32,
    allow_comments: bool,
    /// Join runs of newlines, blank and comment-only lines into one token (parser stream).
    coalesce: bool,
}

/// Tracks whitespace between simple values: such whitespace is kept as an unquoted-text token
/// (it is part of a concatenation); any other whitespace is dropped (Lightbend's "ignored
/// whitespace" tokens have no effect on parsing).
struct WsSaver {
    ws: Option<(usize, usize)>,
    last_simple: bool,
}

impl WsSaver {
    fn new() -> WsSaver {
        WsSaver {
            ws: None,
            last_simple: false,
        }
    }
    /// The whitespace token to emit before `t`, if any.
    fn check<'a>(&mut self, t: &Tok<'a>, line: u32, s: &'a str) -> Option<Token<'a>> {
        let mut out = None;
        if t.is_simple_value() {
            if let (Some((a, b)), true) = (self.ws, self.last_simple) {
                out = Some(Token {
                    tok: Tok::Unquoted(&s[a..b]),
                    line,
                });
            }
            self.last_simple = true;
        } else {
            self.last_simple = false;
        }
        self.ws = None;
        out
    }
}

/// A lazy token stream over one input; after `End` it yields `None`.
pub(crate) struct Tokens<'a> {
    lx: Lexer<'a>,
    saver: WsSaver,
    pending: Option<Token<'a>>,
    done: bool,
    keep_comments: bool,
}

impl<'a> Tokens<'a> {
    /// Tokens of `s` (JSON disallows comments), without comment tokens: a comment always runs
    /// to the end of its line, so the parser sees the same newline or end token next, with the
    /// same whitespace handling, as it would after the comment.
    pub(crate) fn new(s: &'a str, json: bool) -> Tokens<'a> {
        Tokens::with_comments(s, json, false)
    }

    fn with_comments(s: &'a str, json: bool, keep_comments: bool) -> Tokens<'a> {
        Tokens {
            lx: Lexer {
                s,
                pos: 0,
                line: 1,
                allow_comments: !json,
                coalesce: !keep_comments,
            },
            saver: WsSaver::new(),
            pending: None,
            done: false,
            keep_comments,
        }
    }
    /// The next token, `None` after `End`.
    #[inline]
    pub(crate) fn next_token(&mut self) -> Option<Token<'a>> {
        if let Some(t) = self.pending.take() {
            return Some(t);
        }
        if self.done {
            return None;
        }
        let mut next = self.lx.pull_next(&mut self.saver);
        while !self.keep_comments && matches!(&next, Ok(t) if t.tok == Tok::Comment) {
            self.saver.check(&Tok::Comment, self.lx.line, self.lx.s);
            next = self.lx.pull_next(&mut self.saver);
        }
        match next {
            Ok(t) => {
                if t.tok == Tok::End {
                    self.done = true;
                }
                match self.saver.check(&t.tok, self.lx.line, self.lx.s) {
                    Some(ws) => {
                        self.pending = Some(t);
                        Some(ws)
                    }
                    None => Some(t),
                }
            }
            Err(p) => Some(p),
        }
    }
}

/// Tokenize the whole input. The last token is always `End`.
pub(crate) fn tokenize<'a>(s: &'a str, _origin: &Origin, json: bool) -> Vec<Token<'a>> {
    let mut toks = Tokens::with_comments(s, json, true);
    let mut out = Vec::new();
    while let Some(t) = toks.next_token() {
        out.push(t);
    }
    out
}

impl<'a> Lexer<'a> {
    #[inline]
    fn peek(&self) -> Option<char> {
        let b = *self.s.as_bytes().get(self.pos)?;
        if b < 0x80 {
            Some(b as char)
        } else {
            self.s[self.pos..].chars().next()
        }
    }
    #[inline]
    fn peek2(&self) -> Option<char> {
        let mut it = self.s[self.pos..].chars();
        it.next();
        it.next()
    }
    #[inline]
    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }
    fn problem(&self, msg: String) -> Token<'a> {
        Token {
            tok: Tok::Problem(msg),
            line: self.line,
        }
    }
    /// After a newline: skip whitespace, comments and further newlines; returns how many
    /// newlines were skipped. The next token starts a line, so none of it is significant.
    fn skip_blank_lines(&mut self) -> u32 {
        let b = self.s.as_bytes();
        let mut n = 0;
        while let Some(&c) = b.get(self.pos) {
            match c {
                b' ' | b'\t' | b'\r' | 0x0b | 0x0c | 0x1c..=0x1f => self.pos += 1,
                b'\n' => {
                    self.pos += 1;
                    self.line += 1;
                    n += 1;
                }
                b'#' | b'/' if self.start_of_comment(c as char) => {
                    let rest = &self.s[self.pos..];
                    self.pos += memchr::memchr(b'\n', rest.as_bytes()).unwrap_or(rest.len());
                }
                0x80.. => match self.peek() {
                    Some(ch) if is_whitespace(ch) => self.pos += ch.len_utf8(),
                    _ => break,
                },
                _ => break,
            }
        }
        n
    }
    fn start_of_comment(&self, c: char) -> bool {
        self.allow_comments && (c == '#' || (c == '/' && self.peek2() == Some('/')))
    }

    fn pull_next(&mut self, saver: &mut WsSaver) -> Result<Token<'a>, Token<'a>> {
        // skip whitespace except newline
        let ws_start = self.pos;
        let b = self.s.as_bytes();
        while let Some(&c) = b.get(self.pos) {
            match c {
                b' ' | b'\t' | b'\r' | 0x0b | 0x0c | 0x1c..=0x1f => self.pos += 1,
                0x80.. => match self.peek() {
                    Some(ch) if is_whitespace(ch) => self.pos += ch.len_utf8(),
                    _ => break,
                },
                _ => break,
            }
        }
        if self.pos > ws_start {
            saver.ws = Some((ws_start, self.pos));
        }
        let line = self.line;
        let c = match self.peek() {
            None => {
                return Ok(Token {
                    tok: Tok::End,
                    line,
                })
            }
            Some(c) => c,
        };
        if c == '\n' {
            self.pos += 1;
            self.line += 1;
            let n = if self.coalesce {
                1 + self.skip_blank_lines()
            } else {
                1
            };
            return Ok(Token {
                tok: Tok::Newline(n),
                line,
            });
        }
        if self.start_of_comment(c) {
            self.pos += if c == '/' { 2 } else { 1 };
            let rest = &self.s[self.pos..];
            let end = memchr::memchr(b'\n', rest.as_bytes()).unwrap_or(rest.len());
            self.pos += end;
            return Ok(Token {
                tok: Tok::Comment,
                line,
            });
        }
        let tok = match c {
            '"' => {
                self.pos += 1;
                return self.pull_quoted(line);
            }
            '$' => {
                self.pos += 1;
                return self.pull_subst(line);
            }
            ':' => Tok::Colon,
            ',' => Tok::Comma,
            '=' => Tok::Equals,
            '{' => Tok::OpenCurly,
            '}' => Tok::CloseCurly,
            '[' => Tok::OpenSquare,
            ']' => Tok::CloseSquare,
            '+' => {
                self.pos += 1;
                let n = self.peek();
                if n != Some('=') {
                    let what = as_string(n);
                    return Err(self.problem(format!(
                        "'+' not followed by =, '{}' not allowed after '+' (if you intended '{}' to be part of a key or string value, try enclosing the key or value in double quotes)",
                        what, what
                    )));
                }
                self.pos += 1;
                return Ok(Token {
                    tok: Tok::PlusEquals,
                    line,
                });
            }
            _ => {
                if c.is_ascii_digit() || c == '-' {
                    return self.pull_number(line);
                } else if not_in_unquoted(c) {
                    self.pos += c.len_utf8();
                    let w = as_string(Some(c));
                    return Err(self.problem(format!(
                        "Reserved character '{}' is not allowed outside quotes (if you intended '{}' to be part of a key or string value, try enclosing the key or value in double quotes)",
                        w, w
                    )));
                } else {
                    return Ok(self.pull_unquoted(line));
                }
            }
        };
        self.pos += 1;
        Ok(Token { tok, line })
    }

    /// Unquoted text up to a reserved character, whitespace or a comment. As in Lightbend's
    /// tokenizer, text starting with `true`, `false` or `null` yields that literal first.
    fn pull_unquoted(&mut self, line: u32) -> Token<'a> {
        let start = self.pos;
        let rest = &self.s[start..];
        let lit = if rest.starts_with("true") {
            Some((Tok::Bool(true), 4))
        } else if rest.starts_with("null") {
            Some((Tok::Null, 4))
        } else if rest.starts_with("false") {
            Some((Tok::Bool(false), 5))
        } else {
            None
        };
        if let Some((tok, n)) = lit {
            self.pos += n;
            return Token { tok, line };
        }
        let b = self.s.as_bytes();
        let mut i = start;
        while i < b.len() {
            let c = b[i];
            if c < 0x80 {
                if ASCII_STOP[c as usize]
                    || (c == b'/' && self.allow_comments && b.get(i + 1) == Some(&b'/'))
                {
                    break;
                }
                i += 1;
            } else {
                let ch = self.s[i..].chars().next().unwrap_or('\u{FFFD}');
                if is_whitespace(ch) {
                    break;
                }
                i += ch.len_utf8();
            }
        }
        self.pos = i;
        Token {
            tok: Tok::Unquoted(&self.s[start..i]),
            line,
        }
    }

    fn pull_number(&mut self, line: u32) -> Result<Token<'a>, Token<'a>> {
        let start = self.pos;
        self.pos += 1;
        let mut dec = false;
        while let Some(c) = self.peek() {
            if matches!(c, '0'..='9' | 'e' | 'E' | '+' | '-' | '.') {
                if matches!(c, '.' | 'e' | 'E') {
                    dec = true;
                }
                self.pos += 1;
            } else {
                break;
            }
        }
        let text = &self.s[start..self.pos];
        let parsed = if dec {
            crate::value::parse_java_double(text).map(crate::value::Number::from_double)
        } else {
            text.parse::<i64>().ok().map(crate::value::Number::Int)
        };
        match parsed {
            Some(n) => Ok(Token {
                tok: Tok::Num(NumTok { value: n, text }),
                line,
            }),
            None => {
                if text.contains('+') {
                    Err(self.problem(
                        "Reserved character '+' is not allowed outside quotes (if you intended '+' to be part of a key or string value, try enclosing the key or value in double quotes)".to_string(),
                    ))
                } else {
                    Ok(Token {
                        tok: Tok::Unquoted(text),
                        line,
                    })
                }
            }
        }
    }

    fn pull_quoted(&mut self, line: u32) -> Result<Token<'a>, Token<'a>> {
        // fast path: no escapes and no control characters borrow the input
        let b = self.s.as_bytes();
        let start = self.pos;
        let mut i = start;
        while i < b.len() && b[i] != b'"' && b[i] != b'\\' && b[i] >= 0x20 {
            i += 1;
        }
        if i < b.len() && b[i] == b'"' {
            self.pos = i + 1;
            if i == start && self.peek() == Some('"') {
                self.pos += 1;
                return self.pull_triple(line);
            }
            return Ok(Token {
                tok: Tok::Str(Cow::Borrowed(&self.s[start..i])),
                line,
            });
        }
        let mut sb = self.s[start..i].to_string();
        self.pos = i;
        loop {
            let c = match self.next() {
                None => {
                    return Err(self.problem("End of input but string quote was still open".into()))
                }
                Some(c) => c,
            };
            if c == '\\' {
                self.pull_escape(&mut sb)?;
            } else if c == '"' {
                break;
            } else if (c as u32) < 0x20 {
                let w = as_string(Some(c));
                return Err(self.problem(format!(
                    "JSON does not allow unescaped {} in quoted strings, use a backslash escape",
                    w
                )));
            } else {
                sb.push(c);
            }
        }
        if sb.is_empty() && self.peek() == Some('"') {
            self.pos += 1;
            return self.pull_triple(line);
        }
        Ok(Token {
            tok: Tok::Str(Cow::Owned(sb)),
            line,
        })
    }

    fn pull_triple(&mut self, line: u32) -> Result<Token<'a>, Token<'a>> {
        let start = self.pos;
        let mut quotes = 0usize;
        loop {
            match self.peek() {
                Some('"') => {
                    quotes += 1;
                    self.pos += 1;
                }
                other if quotes >= 3 => {
                    let _ = other;
                    let text = &self.s[start..self.pos - 3];
                    return Ok(Token {
                        tok: Tok::Str(Cow::Borrowed(text)),
                        line,
                    });
                }
                None => {
                    return Err(
                        self.problem("End of input but triple-quoted string was still open".into())
                    )
                }
                Some(c) => {
                    quotes = 0;
                    if c == '\n' {
                        self.line += 1;
                    }
                    self.pos += c.len_utf8();
                }
            }
        }
    }

    fn pull_escape(&mut self, sb: &mut String) -> Result<(), Token<'a>> {
        let e = match self.next() {
            None => {
                return Err(self
                    .problem("End of input but backslash in string had nothing after it".into()))
            }
            Some(e) => e,
        };
        match e {
            '"' => sb.push('"'),
            '\\' => sb.push('\\'),
            '/' => sb.push('/'),
            'b' => sb.push('\u{8}'),
            'f' => sb.push('\u{c}'),
            'n' => sb.push('\n'),
            'r' => sb.push('\r'),
            't' => sb.push('\t'),
            'u' => {
                let mut digits = String::new();
                for _ in 0..4 {
                    match self.next() {
                        None => {
                            return Err(self.problem(
                                "End of input but expecting 4 hex digits for \\uXXXX escape".into(),
                            ))
                        }
                        Some(c) => {
                            if c == '\n' {
                                self.line += 1;
                            }
                            digits.push(c)
                        }
                    }
                }
                let v = parse_java_hex(&digits).ok_or_else(|| {
                    self.problem(format!(
                        "Malformed hex digits after \\u escape in string: '{}'",
                        digits
                    ))
                })?;
                if (0xD800..=0xDBFF).contains(&v) {
                    // combine with an immediately following \uDCxx escape
                    let rest = &self.s[self.pos..];
                    if rest.len() >= 6 && rest.starts_with("\\u") {
                        if let Some(lo) = rest.get(2..6).and_then(parse_java_hex) {
                            if (0xDC00..=0xDFFF).contains(&lo) {
                                self.pos += 6;
                                let cp = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
                                sb.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
                                return Ok(());
                            }
                        }
                    }
                    sb.push('\u{FFFD}');
                } else {
                    sb.push(char::from_u32(v).unwrap_or('\u{FFFD}'));
                }
            }
            other => {
                if other == '\n' {
                    self.line += 1;
                }
                let w = as_string(Some(other));
                return Err(self.problem(format!(
                    "backslash followed by '{}', this is not a valid escape sequence (quoted strings use JSON escaping, so use double-backslash \\\\ for literal backslash)",
                    w
                )));
            }
        }
        Ok(())
    }

    fn pull_subst(&mut self, line: u32) -> Result<Token<'a>, Token<'a>> {
        let c = self.peek();
        if c != Some('{') {
            if c.is_some() {
                // the character after '$' is consumed by Java's tokenizer too
                let ch = self.next();
                if ch == Some('\n') {
                    self.line += 1;
                }
            }
            let w = as_string(c);
            return Err(self.problem(format!(
                "'$' not followed by {{, '{}' not allowed after '$' (if you intended '{}' to be part of a key or string value, try enclosing the key or value in double quotes)",
                w, w
            )));
        }
        self.pos += 1;
        let mut optional = false;
        if self.peek() == Some('?') {
            self.pos += 1;
            optional = true;
        }
        let mut saver = WsSaver::new();
        let mut expr = Vec::new();
        let coalesce = std::mem::replace(&mut self.coalesce, false);
        let r = self.pull_subst_expr(line, &mut saver, &mut expr);
        self.coalesce = coalesce;
        r?;
        Ok(Token {
            tok: Tok::Subst { optional, expr },
            line,
        })
    }

    fn pull_subst_expr(
        &mut self,
        line: u32,
        saver: &mut WsSaver,
        expr: &mut Vec<Token<'a>>,
    ) -> Result<(), Token<'a>> {
        loop {
            let t = self.pull_next(saver)?;
            match t.tok {
                Tok::CloseCurly => break,
                Tok::End => {
                    return Err(Token {
                        tok: Tok::Problem("Substitution ${ was not closed with a }".into()),
                        line,
                    })
                }
                _ => {
                    if let Some(ws) = saver.check(&t.tok, line, self.s) {
                        expr.push(ws);
                    }
                    expr.push(t);
                }
            }
        }
        Ok(())
    }
}

/// Java `Integer.parseInt(s, 16)` on exactly the given text (sign allowed).
fn parse_java_hex(s: &str) -> Option<u32> {
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let v = u32::from_str_radix(digits, 16).ok()?;
    if neg {
        // Java appendCodePoint of a negative number throws; treat as malformed
        return None;
    }
    Some(v)
}
