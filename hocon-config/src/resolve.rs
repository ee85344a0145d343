//! Substitution resolution, following Lightbend's algorithm (resolve context with memos keyed
//! by value identity, cycle markers, and a resolve source that can "replace" the value being
//! resolved so self-references see the older part of a merge stack).

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use crate::error::{bug, ConfigError, ErrorKind, Result};
use crate::path::Path;
use crate::value::{self, java_order, mk, ptr, Kind, Map, V};

/// Options for [`crate::Config::resolve_with_options`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolveOptions {
    /// Fall back to environment variables for substitutions not found in the config.
    pub use_system_environment: bool,
    /// Leave unresolvable substitutions in place instead of failing.
    pub allow_unresolved: bool,
}

impl Default for ResolveOptions {
    fn default() -> Self {
        ResolveOptions {
            use_system_environment: true,
            allow_unresolved: false,
        }
    }
}

impl ResolveOptions {
    /// Defaults without the environment fallback (Lightbend `ConfigResolveOptions.noSystem()`).
    pub fn no_system() -> Self {
        ResolveOptions {
            use_system_environment: false,
            allow_unresolved: false,
        }
    }
    /// Set `allow_unresolved`.
    pub fn set_allow_unresolved(mut self, v: bool) -> Self {
        self.allow_unresolved = v;
        self
    }
    /// Set `use_system_environment`.
    pub fn set_use_system_environment(mut self, v: bool) -> Self {
        self.use_system_environment = v;
        self
    }
}

const MAX_RESOLVE_DEPTH: usize = 200_000;

pub(crate) enum RErr {
    Cycle(String),
    Fatal(ConfigError),
}

impl From<ConfigError> for RErr {
    fn from(e: ConfigError) -> Self {
        RErr::Fatal(e)
    }
}

type RResult<T> = std::result::Result<T, RErr>;

struct PNode {
    v: V,
    next: Option<Rc<PNode>>,
}

type PList = Option<Rc<PNode>>;

fn prepend(list: &PList, v: V) -> Rc<PNode> {
    Rc::new(PNode {
        v,
        next: list.clone(),
    })
}

fn last(list: &Rc<PNode>) -> V {
    let mut n = list;
    while let Some(x) = &n.next {
        n = x;
    }
    n.v.clone()
}

#[derive(Clone)]
struct Source {
    root: V,
    path: PList,
}

fn root_must_be_obj(v: Option<&V>) -> V {
    match v {
        Some(v) if v.is_object() => v.clone(),
        _ => value::empty_object(crate::origin::Origin::simple("empty config")),
    }
}

impl Source {
    fn new(root: V) -> Source {
        Source { root, path: None }
    }
    fn push_parent(&self, parent: &V) -> Source {
        match &self.path {
            None => {
                if Arc::ptr_eq(parent, &self.root) {
                    Source {
                        root: self.root.clone(),
                        path: Some(prepend(&None, parent.clone())),
                    }
                } else {
                    self.clone()
                }
            }
            Some(_) => Source {
                root: self.root.clone(),
                path: Some(prepend(&self.path, parent.clone())),
            },
        }
    }
    fn reset_parents(self) -> Source {
        Source {
            root: self.root,
            path: None,
        }
    }
    fn replace_current_parent(&self, old: &V, replacement: Option<&V>) -> Result<Source> {
        if replacement.is_some_and(|r| Arc::ptr_eq(r, old)) {
            return Ok(self.clone());
        }
        match &self.path {
            Some(p) => match replace(p, old, replacement)? {
                Some(np) => {
                    let root = last(&np);
                    if !root.is_object() {
                        return Err(bug("resolve source root is not an object"));
                    }
                    Ok(Source {
                        root,
                        path: Some(np),
                    })
                }
                None => Ok(Source::new(root_must_be_obj(None))),
            },
            None => {
                if Arc::ptr_eq(old, &self.root) {
                    Ok(Source::new(root_must_be_obj(replacement)))
                } else {
                    Err(bug(
                        "attempt to replace root with a value that is not the root",
                    ))
                }
            }
        }
    }
    fn replace_within_current_parent(&self, old: &V, replacement: Option<&V>) -> Result<Source> {
        if replacement.is_some_and(|r| Arc::ptr_eq(r, old)) {
            return Ok(self.clone());
        }
        match &self.path {
            Some(p) => {
                let parent = p.v.clone();
                let np = value::replace_child(&parent, old, replacement)?;
                let np = np.filter(|x| x.is_container());
                self.replace_current_parent(&parent, np.as_ref())
            }
            None => {
                if Arc::ptr_eq(old, &self.root) && replacement.is_some_and(|r| r.is_container()) {
                    Ok(Source::new(root_must_be_obj(replacement)))
                } else {
                    Err(bug("replace in parent not possible"))
                }
            }
        }
    }
}

fn replace(list: &Rc<PNode>, old: &V, replacement: Option<&V>) -> Result<PList> {
    if !Arc::ptr_eq(&list.v, old) {
        return Err(bug("Can only replace() the top node we're resolving"));
    }
    let parent = list.next.as_ref().map(|n| n.v.clone());
    match replacement {
        Some(r) if r.is_container() => match parent {
            None => Ok(Some(prepend(&None, r.clone()))),
            Some(parent) => {
                let new_parent = value::replace_child(&parent, old, Some(r))?;
                let tail = match &list.next {
                    Some(t) => replace(t, &parent, new_parent.as_ref())?,
                    None => None,
                };
                Ok(Some(match tail {
                    Some(t) => prepend(&Some(t), r.clone()),
                    None => prepend(&None, r.clone()),
                }))
            }
        },
        _ => match parent {
            None => Ok(None),
            Some(parent) => {
                let new_parent = value::replace_child(&parent, old, None)?;
                match &list.next {
                    Some(t) => replace(t, &parent, new_parent.as_ref()),
                    None => Ok(None),
                }
            }
        },
    }
}

type MemoKey = (usize, Option<Path>);

struct Ctx<'e> {
    opts: ResolveOptions,
    env: &'e V,
    memos: HashMap<MemoKey, (V, V), value::FxBuild>,
    journal: Vec<MemoKey>,
    markers: Vec<V>,
    trace: Vec<V>,
    depth: usize,
}

#[derive(Clone, Copy)]
struct Checkpoint {
    journal: usize,
    markers: usize,
    trace: usize,
}

/// Render a substitution expression as `${path}` / `${?path}`.
pub(crate) fn expr_string(path: &Path, optional: bool) -> String {
    format!("${{{}{}}}", if optional { "?" } else { "" }, path.render())
}

impl<'e> Ctx<'e> {
    fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            journal: self.journal.len(),
            markers: self.markers.len(),
            trace: self.trace.len(),
        }
    }
    fn rollback(&mut self, cp: Checkpoint) {
        self.rollback_memos(cp);
        self.markers.truncate(cp.markers);
        self.trace.truncate(cp.trace);
    }
    fn rollback_memos(&mut self, cp: Checkpoint) {
        while self.journal.len() > cp.journal {
            if let Some(k) = self.journal.pop() {
                self.memos.remove(&k);
            }
        }
    }
    fn memoize(&mut self, key: MemoKey, original: &V, resolved: V) {
        if self
            .memos
            .insert(key.clone(), (original.clone(), resolved))
            .is_none()
        {
            self.journal.push(key);
        }
    }
    fn trace_string(&self) -> String {
        let mut parts = Vec::new();
        for v in &self.trace {
            if let Kind::Ref { path, optional, .. } = &v.kind {
                parts.push(expr_string(path, *optional));
            }
        }
        parts.join(", ")
    }

    fn resolve(&mut self, v: &V, source: &Source, restrict: Option<&Path>) -> RResult<Option<V>> {
        self.depth += 1;
        if self.depth > MAX_RESOLVE_DEPTH {
            self.depth -= 1;
            return Err(RErr::Fatal(ConfigError::new(
                ErrorKind::UnresolvedSubstitution,
                Some(&v.origin),
                format!(
                    "substitutions nested more than {} levels deep",
                    MAX_RESOLVE_DEPTH
                ),
            )));
        }
        // the trace names the substitutions of a cycle; only references are kept
        let is_ref = matches!(v.kind, Kind::Ref { .. });
        if is_ref {
            self.trace.push(v.clone());
        }
        let r = stacker::maybe_grow(128 * 1024, 4 * 1024 * 1024, || {
            self.real_resolve(v, source, restrict)
        });
        self.depth -= 1;
        if r.is_ok() && is_ref {
            self.trace.pop();
        }
        r
    }

    fn real_resolve(
        &mut self,
        v: &V,
        source: &Source,
        restrict: Option<&Path>,
    ) -> RResult<Option<V>> {
        if v.is_resolved() {
            return Ok(Some(v.clone()));
        }
        let full: MemoKey = (ptr(v), None);
        if let Some((_, c)) = self.memos.get(&full) {
            return Ok(Some(c.clone()));
        }
        let restricted_key: Option<MemoKey> = restrict.map(|r| (ptr(v), Some(r.clone())));
        if let Some(k) = &restricted_key {
            if let Some((_, c)) = self.memos.get(k) {
                return Ok(Some(c.clone()));
            }
        }
        if self.markers.iter().any(|m| Arc::ptr_eq(m, v)) {
            return Err(RErr::Cycle(self.trace_string()));
        }
        let result = self.resolve_substitutions(v, source, restrict)?;
        match &result {
            None => {}
            Some(r) if r.is_resolved() => self.memoize(full, v, r.clone()),
            Some(r) => {
                if let Some(k) = restricted_key {
                    self.memoize(k, v, r.clone());
                } else if self.opts.allow_unresolved {
                    self.memoize(full, v, r.clone());
                } else {
                    return Err(RErr::Fatal(bug(
                        "resolveSubstitutions() did not give us a resolved object",
                    )));
                }
            }
        }
        Ok(result)
    }

    fn resolve_substitutions(
        &mut self,
        v: &V,
        source: &Source,
        restrict: Option<&Path>,
    ) -> RResult<Option<V>> {
        match &v.kind {
            Kind::Object {
                map,
                resolved,
                ignores_fallbacks,
            } => {
                if *resolved {
                    return Ok(Some(v.clone()));
                }
                self.resolve_object(v, map, *ignores_fallbacks, source, restrict)
            }
            Kind::List { items, resolved } => {
                if *resolved || restrict.is_some() {
                    return Ok(Some(v.clone()));
                }
                let src = source.push_parent(v);
                let mut changed: Option<Vec<V>> = None;
                for (i, item) in items.iter().enumerate() {
                    let r = self.resolve(item, &src, None)?;
                    let same = r.as_ref().is_some_and(|x| Arc::ptr_eq(x, item));
                    if changed.is_none() && !same {
                        changed = Some(items[..i].to_vec());
                    }
                    if let (Some(c), Some(r)) = (changed.as_mut(), r) {
                        c.push(r);
                    }
                }
                Ok(Some(match changed {
                    Some(c) => value::new_list(v.origin.clone(), c),
                    None => v.clone(),
                }))
            }
            Kind::Ref {
                path,
                optional,
                prefix_len,
            } => self.resolve_ref(v, path, *optional, *prefix_len, source, restrict),
            Kind::Concat(pieces) => {
                let mut resolved = Vec::with_capacity(pieces.len());
                for p in pieces {
                    if let Some(r) = self.resolve(p, source, None)? {
                        resolved.push(r);
                    }
                }
                let mut joined = value::consolidate(resolved)?;
                if joined.len() > 1 && self.opts.allow_unresolved {
                    Ok(Some(mk(v.origin.clone(), Kind::Concat(joined))))
                } else if joined.is_empty() {
                    Ok(None)
                } else if joined.len() == 1 {
                    Ok(joined.pop())
                } else {
                    Err(RErr::Fatal(bug(
                        "Bug in the library; resolved list was joined to too many values",
                    )))
                }
            }
            Kind::DelayedMerge(stack) => self.resolve_merge_stack(v, stack, source, restrict),
            Kind::DelayedMergeObject(stack) => {
                let r = self.resolve_merge_stack(v, stack, source, restrict)?;
                match r {
                    Some(o) if o.is_object() => Ok(Some(o)),
                    _ => Err(RErr::Fatal(bug(
                        "Expecting a resolve result to be an object",
                    ))),
                }
            }
            _ => Ok(Some(v.clone())),
        }
    }

    fn resolve_object(
        &mut self,
        v: &V,
        map: &Map,
        ignores_fallbacks: bool,
        source: &Source,
        restrict: Option<&Path>,
    ) -> RResult<Option<V>> {
        let src = source.push_parent(v);
        let mut changes: Vec<(usize, Option<V>)> = Vec::new();
        match restrict {
            Some(r) => {
                if let Some(idx) = map.get_index_of(r.first()) {
                    if let Some(rem) = r.remainder() {
                        let child = &map[idx];
                        let res = self.resolve(child, &src, Some(&rem))?;
                        if !res.as_ref().is_some_and(|x| Arc::ptr_eq(x, child)) {
                            changes.push((idx, res));
                        }
                    }
                }
            }
            None => {
                for idx in java_order(map) {
                    let child = &map[idx];
                    let res = self.resolve(child, &src, None)?;
                    if !res.as_ref().is_some_and(|x| Arc::ptr_eq(x, child)) {
                        changes.push((idx, res));
                    }
                }
            }
        }
        if changes.is_empty() {
            return Ok(Some(v.clone()));
        }
        // a copy of the map (no rehashing) with the changed values replaced in place
        let mut m: Map = map.clone();
        let mut removed: Vec<usize> = Vec::new();
        for (i, c) in changes {
            match c {
                Some(n) => {
                    if let Some((_, slot)) = m.get_index_mut(i) {
                        *slot = n;
                    }
                }
                None => removed.push(i),
            }
        }
        removed.sort_unstable();
        for i in removed.into_iter().rev() {
            m.shift_remove_index(i);
        }
        Ok(Some(value::new_object_flags(
            v.origin.clone(),
            m,
            ignores_fallbacks,
        )))
    }

    fn resolve_merge_stack(
        &mut self,
        v: &V,
        stack: &[V],
        source: &Source,
        restrict: Option<&Path>,
    ) -> RResult<Option<V>> {
        let mut merged: Option<V> = None;
        for (count, end) in stack.iter().enumerate() {
            let src = if matches!(
                end.kind,
                Kind::DelayedMerge(_) | Kind::DelayedMergeObject(_)
            ) {
                return Err(RErr::Fatal(bug(
                    "A delayed merge should not contain another one",
                )));
            } else if end.is_unmergeable() {
                let remainder = make_replacement(&stack[count + 1..]);
                source
                    .replace_within_current_parent(v, remainder.as_ref())?
                    .reset_parents()
            } else {
                source.push_parent(v)
            };
            if let Some(r) = self.resolve(end, &src, restrict)? {
                merged = Some(match merged {
                    None => r,
                    Some(m) => value::with_fallback(&m, &r),
                });
            }
        }
        Ok(merged)
    }

    fn resolve_ref(
        &mut self,
        v: &V,
        path: &Path,
        optional: bool,
        prefix_len: usize,
        source: &Source,
        restrict: Option<&Path>,
    ) -> RResult<Option<V>> {
        self.markers.push(v.clone());
        let cp = self.checkpoint();
        let mut result: Option<V> = None;
        let cycle: Option<String> = match self.lookup_subst(path, prefix_len, source, restrict) {
            Ok((found, pfr)) => match (found, pfr) {
                (Some(found), Some(pfr)) => {
                    let cp2 = self.checkpoint();
                    let rec = Source {
                        root: last(&pfr),
                        path: Some(pfr),
                    };
                    match self.resolve(&found, &rec, restrict) {
                        Ok(r) => {
                            result = r;
                            None
                        }
                        Err(RErr::Cycle(t)) => {
                            self.rollback(cp2);
                            Some(t)
                        }
                        Err(e) => return Err(e),
                    }
                }
                _ => None,
            },
            Err(RErr::Cycle(t)) => {
                self.rollback(cp);
                Some(t)
            }
            Err(e) => return Err(e),
        };
        if let Some(t) = cycle {
            if !optional {
                return Err(RErr::Fatal(ConfigError::new(
                    ErrorKind::UnresolvedSubstitution,
                    Some(&v.origin),
                    format!(
                        "Could not resolve substitution to a value: {} was part of a cycle of substitutions involving {}",
                        expr_string(path, optional),
                        t
                    ),
                )));
            }
            result = None;
        }
        self.remove_marker(v);
        if result.is_none() && !optional {
            if self.opts.allow_unresolved {
                return Ok(Some(v.clone()));
            }
            return Err(RErr::Fatal(ConfigError::new(
                ErrorKind::UnresolvedSubstitution,
                Some(&v.origin),
                format!(
                    "Could not resolve substitution to a value: {}",
                    expr_string(path, optional)
                ),
            )));
        }
        Ok(result)
    }

    fn remove_marker(&mut self, v: &V) {
        if let Some(i) = self.markers.iter().rposition(|m| Arc::ptr_eq(m, v)) {
            self.markers.remove(i);
        }
    }

    fn lookup_subst(
        &mut self,
        path: &Path,
        prefix_len: usize,
        source: &Source,
        restrict: Option<&Path>,
    ) -> RResult<(Option<V>, PList)> {
        let cp = self.checkpoint();
        let mut res = self.find_in_object(&source.root, path, restrict)?;
        if res.0.is_none() {
            let unprefixed = path.sub_path(prefix_len);
            if prefix_len > 0 {
                res = self.find_in_object(&source.root, &unprefixed, restrict)?;
            }
            if res.0.is_none() && self.opts.use_system_environment {
                self.rollback_memos(cp);
                let env = self.env.clone();
                res = self.find_in_object(&env, &unprefixed, restrict)?;
            }
        }
        Ok(res)
    }

    fn find_in_object(
        &mut self,
        obj: &V,
        path: &Path,
        _restrict: Option<&Path>,
    ) -> RResult<(Option<V>, PList)> {
        let partially = self.resolve(obj, &Source::new(obj.clone()), Some(path))?;
        match partially {
            Some(o) if o.is_object() => {
                let (v, p) = peek_path(&o, path, None)?;
                Ok((v, Some(p)))
            }
            _ => Err(RErr::Fatal(bug("resolved object to non-object"))),
        }
    }
}

fn make_replacement(sub: &[V]) -> Option<V> {
    let mut merged: Option<V> = None;
    for v in sub {
        merged = Some(match merged {
            None => v.clone(),
            Some(m) => value::with_fallback(&m, v),
        });
    }
    merged
}

fn peek_path(obj: &V, path: &Path, parents: PList) -> Result<(Option<V>, Rc<PNode>)> {
    let mut obj = obj.clone();
    let mut path = path.clone();
    let mut parents = parents;
    loop {
        let v = attempt_peek(&obj, path.first())?;
        let np = prepend(&parents, obj.clone());
        match path.remainder() {
            None => return Ok((v, np)),
            Some(next) => match v {
                Some(child) if child.is_object() => {
                    obj = child;
                    path = next;
                    parents = Some(np);
                }
                _ => return Ok((None, np)),
            },
        }
    }
}

/// Lightbend `attemptPeekWithPartialResolve`.
pub(crate) fn attempt_peek(obj: &V, key: &str) -> Result<Option<V>> {
    match &obj.kind {
        Kind::Object { map, .. } => Ok(map.get(key).cloned()),
        Kind::DelayedMergeObject(stack) => {
            for layer in stack {
                if layer.is_object() {
                    match attempt_peek(layer, key)? {
                        Some(v) => {
                            if v.ignores_fallbacks() {
                                return Ok(Some(v));
                            }
                            continue;
                        }
                        None => {
                            if layer.is_unmergeable() {
                                return Err(bug(
                                    "should not be reached: unmergeable object returned null value",
                                ));
                            }
                            continue;
                        }
                    }
                } else if layer.is_unmergeable() {
                    return Err(ConfigError::new(
                        ErrorKind::NotResolved,
                        Some(&obj.origin),
                        format!(
                            "Key '{}' is not available at '{}' because value at '{}' has not been resolved and may turn out to contain or hide '{}'. Be sure to Config#resolve() before using a config object.",
                            key,
                            obj.origin.description(),
                            layer.origin.description(),
                            key
                        ),
                    ));
                } else {
                    return Ok(None);
                }
            }
            Err(bug(
                "Delayed merge stack does not contain any unmergeable values",
            ))
        }
        _ => Ok(None),
    }
}

/// Resolve `value` against `root` (usually the same object).
pub(crate) fn resolve_value(value: &V, root: &V, opts: ResolveOptions, env: &V) -> Result<V> {
    let mut ctx = Ctx {
        opts,
        env,
        memos: HashMap::default(),
        journal: Vec::new(),
        markers: Vec::new(),
        trace: Vec::new(),
        depth: 0,
    };
    let src = Source::new(root.clone());
    match ctx.resolve(value, &src, None) {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Ok(value::empty_object(value.origin.clone())),
        Err(RErr::Fatal(e)) => Err(e),
        Err(RErr::Cycle(_)) => Err(bug(
            "NotPossibleToResolve was thrown from an outermost resolve",
        )),
    }
}
