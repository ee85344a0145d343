//! The value tree and its merge rules (`withFallback`), mirroring Lightbend's value classes.

use std::sync::Arc;

use indexmap::IndexMap;

use crate::error::{bug, ConfigError, ErrorKind, Result};
use crate::origin::Origin;
use crate::path::Path;

/// A shared, immutable value node. Identity (the pointer) matters during resolution.
pub(crate) type V = Arc<Node>;

/// An object key or short string: stored inline up to 23 bytes, shared (O(1) clone) beyond.
pub(crate) type Key = smol_str::SmolStr;

/// Object entries in insertion order.
pub(crate) type Map = IndexMap<Key, V, FxBuild>;

/// A small, fast non-cryptographic hasher (FxHash) for config keys and memo keys.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(b)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(K);
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.0 = (self.0.rotate_left(5) ^ i as u64).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.0 = (self.0.rotate_left(5) ^ i as u64).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Builder for [`FxHasher`].
pub(crate) type FxBuild = std::hash::BuildHasherDefault<FxHasher>;

/// A number as Lightbend stores it: integral values (also whole doubles) as `Int`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    /// A 64-bit integer (Java int or long).
    Int(i64),
    /// A 64-bit float.
    Double(f64),
}

impl Number {
    /// Java `ConfigNumber.newNumber(double)`: whole doubles that fit in a long become integers.
    pub(crate) fn from_double(d: f64) -> Number {
        let l = d as i64;
        if l as f64 == d {
            Number::Int(l)
        } else {
            Number::Double(d)
        }
    }
    /// The value as f64.
    pub fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Double(d) => d,
        }
    }
    /// The value as i64 (doubles truncated toward zero, saturating).
    pub fn as_i64(self) -> i64 {
        match self {
            Number::Int(i) => i,
            Number::Double(d) => d as i64,
        }
    }
    /// Java `toString` of the number.
    pub fn java_string(self) -> String {
        match self {
            Number::Int(i) => i.to_string(),
            Number::Double(d) => crate::render::java_double_string(d),
        }
    }
}

/// Java `Double.parseDouble` for the characters a number token can contain.
pub(crate) fn parse_java_double(s: &str) -> Option<f64> {
    let t = s.trim_matches(|c: char| c <= ' ');
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    if body.is_empty() {
        return None;
    }
    if body == "Infinity" || body == "NaN" {
        return t.parse::<f64>().ok().or(Some(if t.starts_with('-') {
            f64::NEG_INFINITY
        } else if body == "NaN" {
            f64::NAN
        } else {
            f64::INFINITY
        }));
    }
    let body = body.strip_suffix(['d', 'D', 'f', 'F']).unwrap_or(body);
    // mantissa digits with at most one '.', at least one digit; optional exponent with digits
    let (mant, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let dots = mant.chars().filter(|&c| c == '.').count();
    if dots > 1
        || !mant.chars().all(|c| c.is_ascii_digit() || c == '.')
        || !mant.chars().any(|c| c.is_ascii_digit())
    {
        return None;
    }
    if let Some(e) = exp {
        let ed = e.strip_prefix(['+', '-']).unwrap_or(e);
        if ed.is_empty() || !ed.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
    }
    let norm = if t.len() != s.len() || body.len() != t.trim_start_matches(['+', '-']).len() {
        let sign = if t.starts_with('-') { "-" } else { "" };
        format!("{}{}", sign, body)
    } else {
        t.to_string()
    };
    norm.parse::<f64>().ok()
}

/// Value kinds; unresolved kinds exist only before `resolve()`.
#[derive(Debug)]
pub(crate) enum Kind {
    Object {
        map: Map,
        resolved: bool,
        ignores_fallbacks: bool,
    },
    List {
        items: Vec<V>,
        resolved: bool,
    },
    Str {
        s: Key,
        quoted: bool,
    },
    Num {
        n: Number,
        text: Option<Key>,
    },
    Bool(bool),
    Null,
    Ref {
        path: Path,
        optional: bool,
        prefix_len: usize,
    },
    Concat(Vec<V>),
    DelayedMerge(Vec<V>),
    DelayedMergeObject(Vec<V>),
}

/// One value with its origin.
#[derive(Debug)]
pub(crate) struct Node {
    pub origin: Origin,
    pub kind: Kind,
}

/// The public value type name (Lightbend `ConfigValueType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// An object.
    Object,
    /// A list.
    List,
    /// A number.
    Number,
    /// A boolean.
    Boolean,
    /// Null.
    Null,
    /// A string.
    String,
}

impl ValueType {
    /// Upper-case name as in Lightbend's messages (`OBJECT`, `LIST`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Object => "OBJECT",
            ValueType::List => "LIST",
            ValueType::Number => "NUMBER",
            ValueType::Boolean => "BOOLEAN",
            ValueType::Null => "NULL",
            ValueType::String => "STRING",
        }
    }
}

pub(crate) fn ptr(v: &V) -> usize {
    Arc::as_ptr(v) as usize
}

pub(crate) fn mk(origin: Origin, kind: Kind) -> V {
    Arc::new(Node { origin, kind })
}

pub(crate) fn new_object(origin: Origin, map: Map) -> V {
    let resolved = map.values().all(|v| v.is_resolved());
    mk(
        origin,
        Kind::Object {
            map,
            resolved,
            ignores_fallbacks: false,
        },
    )
}

pub(crate) fn new_object_flags(origin: Origin, map: Map, ignores_fallbacks: bool) -> V {
    let resolved = map.values().all(|v| v.is_resolved());
    mk(
        origin,
        Kind::Object {
            map,
            resolved,
            ignores_fallbacks,
        },
    )
}

pub(crate) fn empty_object(origin: Origin) -> V {
    mk(
        origin,
        Kind::Object {
            map: Map::default(),
            resolved: true,
            ignores_fallbacks: false,
        },
    )
}

pub(crate) fn new_list(origin: Origin, items: Vec<V>) -> V {
    let resolved = items.iter().all(|v| v.is_resolved());
    mk(origin, Kind::List { items, resolved })
}

pub(crate) fn new_string(origin: Origin, s: impl Into<Key>) -> V {
    mk(
        origin,
        Kind::Str {
            s: s.into(),
            quoted: true,
        },
    )
}

fn take_children(kind: &mut Kind, out: &mut Vec<V>) {
    match kind {
        Kind::Object { map, .. } => out.extend(std::mem::take(map).into_values()),
        Kind::List { items, .. } => out.append(items),
        Kind::Concat(p) | Kind::DelayedMerge(p) | Kind::DelayedMergeObject(p) => out.append(p),
        _ => {}
    }
}

thread_local! {
    static DROP_DEPTH: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

impl Drop for Node {
    /// Drops shallow trees recursively (no extra allocation) and deep ones iteratively, so that
    /// dropping never overflows the stack.
    fn drop(&mut self) {
        let is_container = match &self.kind {
            Kind::Object { map, .. } => !map.is_empty(),
            Kind::List { items: p, .. }
            | Kind::Concat(p)
            | Kind::DelayedMerge(p)
            | Kind::DelayedMergeObject(p) => !p.is_empty(),
            _ => false,
        };
        if !is_container {
            return;
        }
        let depth = DROP_DEPTH.with(|d| d.get());
        if depth < 256 {
            DROP_DEPTH.with(|d| d.set(depth + 1));
            match &mut self.kind {
                Kind::Object { map, .. } => drop(std::mem::take(map)),
                Kind::List { items, .. } => drop(std::mem::take(items)),
                Kind::Concat(p) | Kind::DelayedMerge(p) | Kind::DelayedMergeObject(p) => {
                    drop(std::mem::take(p))
                }
                _ => {}
            }
            DROP_DEPTH.with(|d| d.set(depth));
            return;
        }
        let mut stack = Vec::new();
        take_children(&mut self.kind, &mut stack);
        while let Some(v) = stack.pop() {
            if let Ok(mut node) = Arc::try_unwrap(v) {
                take_children(&mut node.kind, &mut stack);
            }
        }
    }
}

impl Node {
    pub(crate) fn is_resolved(&self) -> bool {
        match &self.kind {
            Kind::Object { resolved, .. } | Kind::List { resolved, .. } => *resolved,
            Kind::Ref { .. }
            | Kind::Concat(_)
            | Kind::DelayedMerge(_)
            | Kind::DelayedMergeObject(_) => false,
            _ => true,
        }
    }
    pub(crate) fn is_object(&self) -> bool {
        matches!(self.kind, Kind::Object { .. } | Kind::DelayedMergeObject(_))
    }
    pub(crate) fn is_list(&self) -> bool {
        matches!(self.kind, Kind::List { .. })
    }
    pub(crate) fn is_unmergeable(&self) -> bool {
        matches!(
            self.kind,
            Kind::Ref { .. }
                | Kind::Concat(_)
                | Kind::DelayedMerge(_)
                | Kind::DelayedMergeObject(_)
        )
    }
    pub(crate) fn is_container(&self) -> bool {
        matches!(
            self.kind,
            Kind::Object { .. }
                | Kind::List { .. }
                | Kind::Concat(_)
                | Kind::DelayedMerge(_)
                | Kind::DelayedMergeObject(_)
        )
    }
    pub(crate) fn value_type(&self) -> Option<ValueType> {
        Some(match &self.kind {
            Kind::Object { .. } | Kind::DelayedMergeObject(_) => ValueType::Object,
            Kind::List { .. } => ValueType::List,
            Kind::Str { .. } => ValueType::String,
            Kind::Num { .. } => ValueType::Number,
            Kind::Bool(_) => ValueType::Boolean,
            Kind::Null => ValueType::Null,
            _ => return None,
        })
    }
    pub(crate) fn ignores_fallbacks(&self) -> bool {
        match &self.kind {
            Kind::Object {
                ignores_fallbacks, ..
            } => *ignores_fallbacks,
            Kind::Ref { .. } | Kind::Concat(_) => false,
            Kind::DelayedMerge(s) | Kind::DelayedMergeObject(s) => {
                s.last().is_some_and(|l| l.ignores_fallbacks())
            }
            _ => self.is_resolved(),
        }
    }
    /// Lightbend `transformToString`: text of simple values, `None` for others.
    pub(crate) fn transform_to_string(&self) -> Option<String> {
        match &self.kind {
            Kind::Str { s, .. } => Some(s.to_string()),
            Kind::Num { n, text } => Some(match text {
                Some(t) => t.to_string(),
                None => n.java_string(),
            }),
            Kind::Bool(b) => Some(b.to_string()),
            Kind::Null => Some("null".to_string()),
            _ => None,
        }
    }
    pub(crate) fn map(&self) -> Option<&Map> {
        match &self.kind {
            Kind::Object { map, .. } => Some(map),
            _ => None,
        }
    }
}

fn unmerged_values(v: &V) -> Vec<V> {
    match &v.kind {
        Kind::DelayedMerge(s) | Kind::DelayedMergeObject(s) => s.clone(),
        _ => vec![v.clone()],
    }
}

fn merge_origins(stack: &[V]) -> Origin {
    let mut res: Option<Origin> = None;
    let first = stack[0].origin.clone();
    for v in stack {
        if let Kind::Object {
            map,
            resolved: true,
            ..
        } = &v.kind
        {
            if map.is_empty() {
                continue;
            }
        }
        res = Some(match res {
            None => v.origin.clone(),
            Some(o) => Origin::merge(&o, &v.origin),
        });
    }
    res.unwrap_or(first)
}

fn construct_delayed_merge(self_is_object: bool, stack: Vec<V>) -> V {
    let origin = merge_origins(&stack);
    if self_is_object {
        mk(origin, Kind::DelayedMergeObject(stack))
    } else {
        mk(origin, Kind::DelayedMerge(stack))
    }
}

/// `this.withFallback(other)` with Lightbend's rules.
pub(crate) fn with_fallback(this: &V, other: &V) -> V {
    if this.ignores_fallbacks() {
        return this.clone();
    }
    let self_stack: Vec<V> = unmerged_values(this);
    let self_is_obj = this.is_object();
    if other.is_unmergeable() {
        // mergedWithTheUnmergeable
        let mut st = self_stack;
        st.extend(unmerged_values(other));
        return construct_delayed_merge(self_is_obj, st);
    }
    if let (Kind::Object { .. }, Kind::Object { .. }) = (&this.kind, &other.kind) {
        return stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || merge_objects(this, other));
    }
    // mergedWithNonObject (also mergedWithObject for non-objects and delayed merges)
    if this.is_resolved() {
        with_fallbacks_ignored(this)
    } else {
        let mut st = self_stack;
        st.push(other.clone());
        construct_delayed_merge(self_is_obj, st)
    }
}

fn with_fallbacks_ignored(v: &V) -> V {
    match &v.kind {
        Kind::Object {
            map,
            resolved,
            ignores_fallbacks: false,
        } => mk(
            v.origin.clone(),
            Kind::Object {
                map: map.clone(),
                resolved: *resolved,
                ignores_fallbacks: true,
            },
        ),
        _ => v.clone(),
    }
}

fn merge_objects(this: &V, fallback: &V) -> V {
    let (m1, ig1, res1) = match &this.kind {
        Kind::Object {
            map,
            ignores_fallbacks,
            resolved,
        } => (map, *ignores_fallbacks, *resolved),
        _ => unreachable!("merge_objects called on non-object"),
    };
    let (m2, ig2) = match &fallback.kind {
        Kind::Object {
            map,
            ignores_fallbacks,
            ..
        } => (map, *ignores_fallbacks),
        _ => unreachable!("merge_objects called on non-object"),
    };
    // a copy of `m1` (no rehashing) with merged values replaced in place and the fallback's
    // other keys appended in its order: the same entries and order as inserting one by one
    let mut merged: Option<Map> = None;
    for (k, second) in m2 {
        match m1.get_full(k.as_str()) {
            Some((i, _, first)) => {
                let kept = with_fallback(first, second);
                if !Arc::ptr_eq(&kept, first) {
                    let m = merged.get_or_insert_with(|| {
                        let mut m = m1.clone();
                        m.reserve(m2.len());
                        m
                    });
                    if let Some((_, slot)) = m.get_index_mut(i) {
                        *slot = kept;
                    }
                }
            }
            None => {
                let m = merged.get_or_insert_with(|| {
                    let mut m = m1.clone();
                    m.reserve(m2.len());
                    m
                });
                m.insert(k.clone(), second.clone());
            }
        }
    }
    let all_resolved = match &merged {
        Some(m) => m.values().all(|v| v.is_resolved()),
        None => m1.values().all(|v| v.is_resolved()),
    };
    let new_ig = ig2;
    if let Some(merged) = merged {
        let origin = merge_origins(&[this.clone(), fallback.clone()]);
        mk(
            origin,
            Kind::Object {
                map: merged,
                resolved: all_resolved,
                ignores_fallbacks: new_ig,
            },
        )
    } else if all_resolved != res1 || new_ig != ig1 {
        mk(
            this.origin.clone(),
            Kind::Object {
                map: m1.clone(),
                resolved: all_resolved,
                ignores_fallbacks: new_ig,
            },
        )
    } else {
        this.clone()
    }
}

/// Prefix every substitution in `v` with `prefix` (included files).
pub(crate) fn relativized(v: &V, prefix: &Path) -> V {
    stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || relativized_inner(v, prefix))
}

fn relativized_inner(v: &V, prefix: &Path) -> V {
    match &v.kind {
        Kind::Ref {
            path,
            optional,
            prefix_len,
        } => mk(
            v.origin.clone(),
            Kind::Ref {
                path: path.prepend(prefix),
                optional: *optional,
                prefix_len: prefix_len + prefix.len(),
            },
        ),
        Kind::Object {
            map,
            resolved,
            ignores_fallbacks,
        } => {
            if *resolved {
                return v.clone();
            }
            let m: Map = map
                .iter()
                .map(|(k, c)| (k.clone(), relativized(c, prefix)))
                .collect();
            mk(
                v.origin.clone(),
                Kind::Object {
                    map: m,
                    resolved: *resolved,
                    ignores_fallbacks: *ignores_fallbacks,
                },
            )
        }
        Kind::List { items, resolved } => {
            if *resolved {
                return v.clone();
            }
            let it: Vec<V> = items.iter().map(|c| relativized(c, prefix)).collect();
            mk(
                v.origin.clone(),
                Kind::List {
                    items: it,
                    resolved: *resolved,
                },
            )
        }
        Kind::Concat(p) => mk(
            v.origin.clone(),
            Kind::Concat(p.iter().map(|c| relativized(c, prefix)).collect()),
        ),
        Kind::DelayedMerge(p) => mk(
            v.origin.clone(),
            Kind::DelayedMerge(p.iter().map(|c| relativized(c, prefix)).collect()),
        ),
        Kind::DelayedMergeObject(p) => mk(
            v.origin.clone(),
            Kind::DelayedMergeObject(p.iter().map(|c| relativized(c, prefix)).collect()),
        ),
        _ => v.clone(),
    }
}

fn replace_in_list(list: &[V], child: &V, replacement: Option<&V>) -> Result<Option<Vec<V>>> {
    let i = list
        .iter()
        .position(|x| Arc::ptr_eq(x, child))
        .ok_or_else(|| bug("tried to replace a value which is not in the list"))?;
    let mut n = list.to_vec();
    match replacement {
        Some(r) => n[i] = r.clone(),
        None => {
            n.remove(i);
        }
    }
    Ok(if n.is_empty() { None } else { Some(n) })
}

/// Lightbend `Container.replaceChild`.
pub(crate) fn replace_child(parent: &V, child: &V, replacement: Option<&V>) -> Result<Option<V>> {
    let o = parent.origin.clone();
    match &parent.kind {
        Kind::Object {
            map,
            ignores_fallbacks,
            ..
        } => {
            let key = map
                .iter()
                .find(|(_, v)| Arc::ptr_eq(v, child))
                .map(|(k, _)| k.clone())
                .ok_or_else(|| bug("SimpleConfigObject.replaceChild did not find child"))?;
            let mut m = map.clone();
            match replacement {
                Some(r) => {
                    m.insert(key, r.clone());
                }
                None => {
                    m.shift_remove(&key);
                }
            }
            Ok(Some(new_object_flags(o, m, *ignores_fallbacks)))
        }
        Kind::List { items, .. } => {
            Ok(replace_in_list(items, child, replacement)?.map(|n| new_list(o, n)))
        }
        Kind::Concat(p) => {
            match replace_in_list(p, child, replacement)? {
                None => Ok(None),
                Some(n) => {
                    if n.len() < 2 || !n.iter().any(|x| x.is_unmergeable()) {
                        return Err(bug("Created concatenation with less than 2 items or without an unmergeable"));
                    }
                    Ok(Some(mk(o, Kind::Concat(n))))
                }
            }
        }
        Kind::DelayedMerge(s) => {
            Ok(replace_in_list(s, child, replacement)?.map(|n| mk(o, Kind::DelayedMerge(n))))
        }
        Kind::DelayedMergeObject(s) => match replace_in_list(s, child, replacement)? {
            None => Ok(None),
            Some(n) => {
                if !n[0].is_object() {
                    return Err(bug(
                        "created a delayed merge object not guaranteed to be an object",
                    ));
                }
                Ok(Some(mk(o, Kind::DelayedMergeObject(n))))
            }
        },
        _ => Err(bug("replace_child on a non-container")),
    }
}

/// Convert a numerically-keyed object to a list (Lightbend `DefaultTransformer` to LIST).
pub(crate) fn object_to_list(v: &V) -> Option<V> {
    let map = v.map()?;
    let mut entries: Vec<(i32, &V)> = Vec::new();
    for (k, val) in map {
        if let Some(i) = parse_java_int(k) {
            if i >= 0 {
                entries.push((i, val));
            }
        }
    }
    if entries.is_empty() {
        return None;
    }
    entries.sort_by_key(|e| e.0);
    Some(new_list(
        v.origin.clone(),
        entries.into_iter().map(|e| e.1.clone()).collect(),
    ))
}

/// Java `Integer.parseInt`.
pub(crate) fn parse_java_int(s: &str) -> Option<i32> {
    let b = s.as_bytes();
    if b.is_empty() {
        return None;
    }
    let digits = if b[0] == b'-' || b[0] == b'+' {
        &s[1..]
    } else {
        s
    };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse::<i32>().ok()
}

/// Append the `transformToString` text of a simple value; false for other values.
fn push_text(v: &Node, out: &mut smol_str::SmolStrBuilder) -> bool {
    match &v.kind {
        Kind::Str { s, .. } => out.push_str(s),
        Kind::Num { text: Some(t), .. } => out.push_str(t),
        Kind::Num { n, text: None } => out.push_str(&n.java_string()),
        Kind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Kind::Null => out.push_str("null"),
        _ => return false,
    }
    true
}

fn join(builder: &mut Vec<V>, orig_right: V) -> Result<()> {
    let orig_left = builder
        .last()
        .cloned()
        .ok_or_else(|| bug("join on empty builder"))?;
    let mut left = orig_left.clone();
    let mut right = orig_right;
    if left.is_object() && right.is_list() {
        if let Some(l) = object_to_list(&left) {
            left = l;
        }
    } else if left.is_list() && right.is_object() {
        if let Some(r) = object_to_list(&right) {
            right = r;
        }
    }
    let joined: Option<V> = if left.is_object() && right.is_object() {
        Some(with_fallback(&right, &left))
    } else if let (Kind::List { items: a, .. }, Kind::List { items: b, .. }) =
        (&left.kind, &right.kind)
    {
        let mut items = a.clone();
        items.extend(b.iter().cloned());
        Some(new_list(Origin::merge(&left.origin, &right.origin), items))
    } else if (left.is_list() || left.is_object())
        && matches!(right.kind, Kind::Str { quoted: false, .. })
    {
        Some(left.clone())
    } else if matches!(left.kind, Kind::Concat(_)) || matches!(right.kind, Kind::Concat(_)) {
        return Err(bug("unflattened ConfigConcatenation"));
    } else if left.is_unmergeable() || right.is_unmergeable() {
        None
    } else {
        let mut text = smol_str::SmolStrBuilder::new();
        match push_text(&left, &mut text) && push_text(&right, &mut text) {
            true => Some(new_string(Origin::merge(&left.origin, &right.origin), text.finish())),
            false => {
                return Err(ConfigError::new(
                    ErrorKind::WrongType,
                    Some(&left.origin),
                    format!(
                        "Cannot concatenate object or list with a non-object-or-list, {} and {} are not compatible",
                        crate::render::debug_string(&left),
                        crate::render::debug_string(&right)
                    ),
                ))
            }
        }
    };
    match joined {
        None => builder.push(right),
        Some(j) => {
            builder.pop();
            builder.push(j);
        }
    }
    Ok(())
}

/// Lightbend `ConfigConcatenation.consolidate`.
pub(crate) fn consolidate(pieces: Vec<V>) -> Result<Vec<V>> {
    if pieces.len() < 2 {
        return Ok(pieces);
    }
    let flat = if pieces.iter().any(|p| matches!(p.kind, Kind::Concat(_))) {
        let mut flat = Vec::with_capacity(pieces.len());
        for p in pieces {
            if let Kind::Concat(ps) = &p.kind {
                flat.extend(ps.iter().cloned());
            } else {
                flat.push(p);
            }
        }
        flat
    } else {
        pieces
    };
    let mut out: Vec<V> = Vec::with_capacity(flat.len());
    for v in flat {
        if out.is_empty() {
            out.push(v);
        } else {
            join(&mut out, v)?;
        }
    }
    Ok(out)
}

/// Whether `join` turns this value into text when next to another such value.
fn is_text(v: &Node) -> bool {
    matches!(
        v.kind,
        Kind::Str { .. } | Kind::Num { .. } | Kind::Bool(_) | Kind::Null
    )
}

/// Lightbend `ConfigConcatenation.concatenate`.
pub(crate) fn concatenate(pieces: Vec<V>) -> Result<Option<V>> {
    // fast path: simple values only join into one string, as `consolidate` would
    if pieces.len() >= 2 && pieces.iter().all(|p| is_text(p)) {
        let mut text = smol_str::SmolStrBuilder::new();
        let mut origin = pieces[0].origin.clone();
        for p in &pieces {
            push_text(p, &mut text);
        }
        for p in &pieces[1..] {
            origin = Origin::merge(&origin, &p.origin);
        }
        return Ok(Some(new_string(origin, text.finish())));
    }
    let mut c = consolidate(pieces)?;
    Ok(match c.len() {
        0 => None,
        1 => c.pop(),
        _ => {
            let mut o = c[0].origin.clone();
            for p in &c[1..] {
                o = Origin::merge(&o, &p.origin);
            }
            Some(mk(o, Kind::Concat(c)))
        }
    })
}

/// Java `String.hashCode`.
pub(crate) fn java_hash(s: &str) -> i32 {
    let mut h: i32 = 0;
    for u in s.encode_utf16() {
        h = h.wrapping_mul(31).wrapping_add(u as i32);
    }
    h
}

/// Keys of `map` in the order a Java `HashMap` filled in insertion order would iterate them.
pub(crate) fn java_order(map: &Map) -> Vec<usize> {
    let n = map.len();
    let mut cap: usize = 16;
    while n as f64 > cap as f64 * 0.75 {
        cap *= 2;
    }
    let mut idx: Vec<(usize, usize)> = map
        .keys()
        .enumerate()
        .map(|(i, k)| {
            let h = java_hash(k);
            let spread = (h ^ ((h as u32) >> 16) as i32) as u32 as usize;
            (spread & (cap - 1), i)
        })
        .collect();
    idx.sort_unstable();
    idx.into_iter().map(|x| x.1).collect()
}
