//! Rendering values as JSON or HOCON, like Lightbend's `ConfigValue.render`.

use crate::resolve::expr_string;
use crate::value::{Kind, Number, V};

/// Rendering options (Lightbend `ConfigRenderOptions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderOptions {
    /// Write `# origin` comments above values.
    pub origin_comments: bool,
    /// Write the comments kept from the source.
    pub comments: bool,
    /// Indent and break lines.
    pub formatted: bool,
    /// JSON (true) or HOCON (false).
    pub json: bool,
}

impl RenderOptions {
    /// `ConfigRenderOptions.concise()`: JSON without whitespace.
    pub fn concise() -> Self {
        RenderOptions {
            origin_comments: false,
            comments: false,
            formatted: false,
            json: true,
        }
    }
    /// `ConfigRenderOptions.defaults()`: everything on.
    pub fn defaults() -> Self {
        RenderOptions {
            origin_comments: true,
            comments: true,
            formatted: true,
            json: true,
        }
    }
    /// Formatted HOCON without origin comments.
    pub fn hocon() -> Self {
        RenderOptions {
            origin_comments: false,
            comments: true,
            formatted: true,
            json: false,
        }
    }
}

/// JSON string literal with Lightbend's escaping.
pub(crate) fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Java `Double.toString`.
pub(crate) fn java_double_string(d: f64) -> String {
    if d.is_nan() {
        return "NaN".into();
    }
    if d.is_infinite() {
        return if d > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if d == 0.0 {
        return if d.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    let a = d.abs();
    if (1e-3..1e7).contains(&a) {
        let s = format!("{}", d);
        if s.contains('.') {
            s
        } else {
            s + ".0"
        }
    } else {
        // shortest digits in scientific form, then Java's layout d.dddE±n
        let s = format!("{:e}", d);
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mant = if mant.contains('.') {
            mant.to_string()
        } else {
            format!("{}.0", mant)
        };
        format!("{}E{}", mant, exp)
    }
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Lightbend's key order for rendering: digit-only keys numerically first, then by UTF-16 order.
pub(crate) fn sorted_keys(map: &crate::value::Map) -> Vec<&crate::value::Key> {
    let mut keys: Vec<&crate::value::Key> = map.keys().collect();
    keys.sort_by(|a, b| match (is_digits(a), is_digits(b)) {
        (true, true) => {
            let (ta, tb) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
            ta.len()
                .cmp(&tb.len())
                .then_with(|| ta.cmp(tb))
                .then_with(|| a.encode_utf16().cmp(b.encode_utf16()))
        }
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        (false, false) => a.encode_utf16().cmp(b.encode_utf16()),
    });
    keys
}

fn render_unquoted_if_possible(s: &str) -> String {
    if s.is_empty() {
        return json_string(s);
    }
    let first = s.chars().next().unwrap_or(' ');
    if first.is_ascii_digit() || first.is_numeric() || first == '-' {
        return json_string(s);
    }
    if s.starts_with("include")
        || s.starts_with("true")
        || s.starts_with("false")
        || s.starts_with("null")
        || s.contains("//")
    {
        return json_string(s);
    }
    if s.chars().all(|c| c.is_alphanumeric() || c == '-') {
        s.to_string()
    } else {
        json_string(s)
    }
}

fn indent(sb: &mut String, n: usize, o: &RenderOptions) {
    if o.formatted {
        for _ in 0..n {
            sb.push_str("    ");
        }
    }
}

fn render_number(n: &Number) -> String {
    n.java_string()
}

/// Render a value with the given options (root form).
pub(crate) fn render(v: &V, o: &RenderOptions) -> String {
    let mut sb = String::new();
    render_at(v, &mut sb, 0, true, None, o);
    sb
}

fn render_at(
    v: &V,
    sb: &mut String,
    ind: usize,
    at_root: bool,
    at_key: Option<&str>,
    o: &RenderOptions,
) {
    if let Some(k) = at_key {
        sb.push_str(&if o.json {
            json_string(k)
        } else {
            render_unquoted_if_possible(k)
        });
        if o.json {
            sb.push_str(if o.formatted { " : " } else { ":" });
        } else if v.is_object() {
            if o.formatted {
                sb.push(' ');
            }
        } else {
            sb.push('=');
        }
    }
    stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || {
        render_value(v, sb, ind, at_root, o)
    });
}

fn render_value(v: &V, sb: &mut String, ind: usize, at_root: bool, o: &RenderOptions) {
    match &v.kind {
        Kind::Object { map, .. } => {
            let outer_braces = o.json || !at_root;
            let inner_indent = if outer_braces {
                sb.push('{');
                if o.formatted {
                    sb.push('\n');
                }
                ind + 1
            } else {
                ind
            };
            let mut separator_count = 0;
            for k in sorted_keys(map) {
                let child = &map[k.as_str()];
                if o.origin_comments {
                    for l in child.origin.description().split('\n') {
                        indent(sb, inner_indent, o);
                        sb.push('#');
                        if !l.is_empty() {
                            sb.push(' ');
                        }
                        sb.push_str(l);
                        sb.push('\n');
                    }
                }
                if o.comments {
                    for c in child.origin.comments() {
                        indent(sb, inner_indent, o);
                        sb.push('#');
                        if !c.starts_with(' ') {
                            sb.push(' ');
                        }
                        sb.push_str(c);
                        sb.push('\n');
                    }
                }
                indent(sb, inner_indent, o);
                render_at(child, sb, inner_indent, false, Some(k), o);
                if o.formatted {
                    if o.json {
                        sb.push(',');
                        separator_count = 2;
                    } else {
                        separator_count = 1;
                    }
                    sb.push('\n');
                } else {
                    sb.push(',');
                    separator_count = 1;
                }
            }
            sb.truncate(sb.len() - separator_count);
            if outer_braces {
                if o.formatted {
                    sb.push('\n');
                    if outer_braces {
                        indent(sb, ind, o);
                    }
                }
                sb.push('}');
            }
            if at_root && o.formatted {
                sb.push('\n');
            }
        }
        Kind::List { items, .. } => {
            if items.is_empty() {
                sb.push_str("[]");
            } else {
                sb.push('[');
                if o.formatted {
                    sb.push('\n');
                }
                for item in items {
                    if o.origin_comments {
                        for l in item.origin.description().split('\n') {
                            indent(sb, ind + 1, o);
                            sb.push_str("# ");
                            sb.push_str(l);
                            sb.push('\n');
                        }
                    }
                    if o.comments {
                        for c in item.origin.comments() {
                            indent(sb, ind + 1, o);
                            sb.push_str("# ");
                            sb.push_str(c);
                            sb.push('\n');
                        }
                    }
                    indent(sb, ind + 1, o);
                    render_at(item, sb, ind + 1, false, None, o);
                    sb.push(',');
                    if o.formatted {
                        sb.push('\n');
                    }
                }
                sb.truncate(sb.len() - 1);
                if o.formatted {
                    sb.truncate(sb.len() - 1);
                    sb.push('\n');
                    indent(sb, ind, o);
                }
                sb.push(']');
            }
        }
        Kind::Str { s, .. } => {
            if o.json {
                sb.push_str(&json_string(s));
            } else {
                sb.push_str(&render_unquoted_if_possible_value(s));
            }
        }
        Kind::Num { n, .. } => sb.push_str(&render_number(n)),
        Kind::Bool(b) => sb.push_str(if *b { "true" } else { "false" }),
        Kind::Null => sb.push_str("null"),
        Kind::Ref { path, optional, .. } => sb.push_str(&expr_string(path, *optional)),
        Kind::Concat(p) => {
            for x in p {
                render_value(x, sb, ind, at_root, o);
            }
        }
        Kind::DelayedMerge(s) | Kind::DelayedMergeObject(s) => {
            for (i, x) in s.iter().rev().enumerate() {
                if i > 0 {
                    sb.push(',');
                }
                render_value(x, sb, ind, at_root, o);
            }
        }
    }
}

fn render_unquoted_if_possible_value(s: &str) -> String {
    // ConfigString renders with quotes unless HOCON and safe
    render_unquoted_if_possible(s)
}

/// Short description of a value for error messages (`ConfigString("x")` style).
pub(crate) fn debug_string(v: &V) -> String {
    let name = match &v.kind {
        Kind::Object { .. } => "SimpleConfigObject",
        Kind::List { .. } => "SimpleConfigList",
        Kind::Str { quoted: true, .. } => "Quoted",
        Kind::Str { quoted: false, .. } => "Unquoted",
        Kind::Num {
            n: Number::Int(_), ..
        } => "ConfigInt",
        Kind::Num { .. } => "ConfigDouble",
        Kind::Bool(_) => "ConfigBoolean",
        Kind::Null => "ConfigNull",
        Kind::Ref { .. } => "ConfigReference",
        Kind::Concat(_) => "ConfigConcatenation",
        Kind::DelayedMerge(_) => "ConfigDelayedMerge",
        Kind::DelayedMergeObject(_) => "ConfigDelayedMergeObject",
    };
    format!("{}({})", name, render(v, &RenderOptions::concise()))
}
