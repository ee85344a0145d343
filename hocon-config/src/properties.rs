//! `.properties` input (Java `Properties.load` rules) and the properties-to-object mapping.

use std::collections::HashMap;

use crate::error::{ConfigError, ErrorKind, Result};
use crate::origin::Origin;
use crate::value::{self, Map, V};

/// Parse Java properties text into key/value pairs (later duplicates win).
pub(crate) fn parse_properties_text(text: &str, origin: &Origin) -> Result<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0usize;
    let n = chars.len();
    // iterate logical lines
    while i < n {
        // skip leading whitespace of a natural line
        while i < n && matches!(chars[i], ' ' | '\t' | '\u{c}') {
            i += 1;
        }
        if i >= n {
            break;
        }
        if chars[i] == '\n' || chars[i] == '\r' {
            i += 1;
            continue;
        }
        if chars[i] == '#' || chars[i] == '!' {
            while i < n && chars[i] != '\n' && chars[i] != '\r' {
                i += 1;
            }
            continue;
        }
        // collect logical line with continuations
        let mut line: Vec<char> = Vec::new();
        loop {
            let start = i;
            while i < n && chars[i] != '\n' && chars[i] != '\r' {
                i += 1;
            }
            let seg = &chars[start..i];
            // count trailing backslashes
            let bs = seg.iter().rev().take_while(|&&c| c == '\\').count();
            if bs % 2 == 1 {
                line.extend_from_slice(&seg[..seg.len() - 1]);
                // consume line terminator
                if i < n && chars[i] == '\r' {
                    i += 1;
                    if i < n && chars[i] == '\n' {
                        i += 1;
                    }
                } else if i < n {
                    i += 1;
                }
                // skip leading whitespace of continuation
                while i < n && matches!(chars[i], ' ' | '\t' | '\u{c}') {
                    i += 1;
                }
                if i >= n {
                    break;
                }
                continue;
            }
            line.extend_from_slice(seg);
            break;
        }
        // split key / value
        let mut k = 0usize;
        let len = line.len();
        let mut has_sep = false;
        let mut preceding_backslash = false;
        let mut value_start = len;
        while k < len {
            let c = line[k];
            if (c == '=' || c == ':') && !preceding_backslash {
                value_start = k + 1;
                has_sep = true;
                break;
            } else if matches!(c, ' ' | '\t' | '\u{c}') && !preceding_backslash {
                value_start = k + 1;
                break;
            }
            preceding_backslash = c == '\\' && !preceding_backslash;
            k += 1;
        }
        let key_end = k;
        let mut v = value_start;
        while v < len {
            let c = line[v];
            if !matches!(c, ' ' | '\t' | '\u{c}') {
                if !has_sep && (c == '=' || c == ':') {
                    has_sep = true;
                } else {
                    break;
                }
            }
            v += 1;
        }
        let key = unescape(&line[..key_end], origin)?;
        let val = unescape(&line[v.min(len)..], origin)?;
        out.push((key, val));
    }
    Ok(out)
}

fn unescape(s: &[char], origin: &Origin) -> Result<String> {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        i += 1;
        if c != '\\' {
            out.push(c);
            continue;
        }
        if i >= s.len() {
            break;
        }
        let e = s[i];
        i += 1;
        match e {
            'u' => {
                let mut v: u32 = 0;
                for _ in 0..4 {
                    let d = s.get(i).and_then(|c| c.to_digit(16)).ok_or_else(|| {
                        ConfigError::new(
                            ErrorKind::Parse,
                            Some(origin),
                            "Malformed \\uxxxx encoding.",
                        )
                    })?;
                    v = v * 16 + d;
                    i += 1;
                }
                out.push(char::from_u32(v).unwrap_or('\u{FFFD}'));
            }
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'n' => out.push('\n'),
            'f' => out.push('\u{c}'),
            other => out.push(other),
        }
    }
    Ok(out)
}

/// Split a property key on every `.` (keeping empty elements).
fn split_key(k: &str) -> Vec<String> {
    k.split('.').map(|s| s.to_string()).collect()
}

/// Build an object from string properties: values are strings, objects win over strings.
pub(crate) fn from_string_pairs(
    origin: &Origin,
    pairs: impl IntoIterator<Item = (String, String)>,
) -> V {
    // later duplicates win
    let mut path_map: HashMap<Vec<String>, String> = HashMap::default();
    let mut order: Vec<Vec<String>> = Vec::new();
    for (k, v) in pairs {
        let p = split_key(&k);
        if path_map.insert(p.clone(), v).is_none() {
            order.push(p);
        }
    }
    let mut scopes: std::collections::HashSet<Vec<String>> = std::collections::HashSet::new();
    for p in &order {
        for i in 1..p.len() {
            scopes.insert(p[..i].to_vec());
        }
    }
    // tree building
    #[derive(Default)]
    struct T {
        children: indexmap::IndexMap<String, T>,
        value: Option<String>,
    }
    let mut root = T::default();
    for p in &order {
        if scopes.contains(p) {
            continue; // object wins over string
        }
        let mut node = &mut root;
        for key in p {
            node = node.children.entry(key.clone()).or_default();
        }
        node.value = path_map.get(p).cloned();
    }
    for s in &scopes {
        let mut node = &mut root;
        for key in s {
            node = node.children.entry(key.clone()).or_default();
        }
    }
    fn build(t: T, origin: &Origin) -> V {
        let mut m = Map::default();
        for (k, c) in t.children {
            let v = match c.value {
                Some(s) if c.children.is_empty() => value::new_string(origin.clone(), s),
                _ => build(c, origin),
            };
            m.insert(k.into(), v);
        }
        value::new_object(origin.clone(), m)
    }
    build(root, origin)
}
