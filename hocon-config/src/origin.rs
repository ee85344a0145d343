//! Where a value came from: a file, a string, the environment.

use std::sync::Arc;

/// What kind of source an origin describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginKind {
    /// Programmatic or string input.
    Generic,
    /// A file.
    File,
    /// A resource (e.g. a bundled `reference.conf`).
    Resource,
    /// The process environment.
    Env,
}

#[derive(Debug, PartialEq, Eq)]
struct Inner {
    base: Arc<str>,
    kind: OriginKind,
    line: Option<u32>,
    end_line: Option<u32>,
    comments: Vec<String>,
}

/// The origin of a value: a description (`String`, a file path, `env variables`), an optional
/// line number and the comments written next to the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin(Arc<Inner>);

impl Origin {
    /// A new origin with the given description and kind, without a line number.
    pub fn new(base: &str, kind: OriginKind) -> Origin {
        Origin(Arc::new(Inner {
            base: base.into(),
            kind,
            line: None,
            end_line: None,
            comments: Vec::new(),
        }))
    }
    pub(crate) fn simple(base: &str) -> Origin {
        Origin::new(base, OriginKind::Generic)
    }
    /// The same source at another line.
    pub fn with_line(&self, line: u32) -> Origin {
        if self.0.line == Some(line) && self.0.end_line.is_none() && self.0.comments.is_empty() {
            return self.clone();
        }
        Origin(Arc::new(Inner {
            base: self.0.base.clone(),
            kind: self.0.kind,
            line: Some(line),
            end_line: None,
            comments: Vec::new(),
        }))
    }
    /// Description with line, e.g. `application.conf: 12`.
    pub fn description(&self) -> String {
        match (self.0.line, self.0.end_line) {
            (Some(l), Some(e)) if e != l => format!("{}: {}-{}", self.0.base, l, e),
            (Some(l), _) => format!("{}: {}", self.0.base, l),
            _ => self.0.base.to_string(),
        }
    }
    /// The source description without line.
    pub fn base(&self) -> &str {
        &self.0.base
    }
    /// The 1-based line number, if known.
    pub fn line(&self) -> Option<u32> {
        self.0.line
    }
    /// The kind of source.
    pub fn kind(&self) -> OriginKind {
        self.0.kind
    }
    /// Comments attached to the value.
    pub fn comments(&self) -> &[String] {
        &self.0.comments
    }
    /// Merge two origins (`merge of` semantics simplified to a line range on the same source).
    pub(crate) fn merge(a: &Origin, b: &Origin) -> Origin {
        if a.0.base == b.0.base {
            let lo = match (a.0.line, b.0.line) {
                (Some(x), Some(y)) => Some(x.min(y)),
                (x, y) => x.or(y),
            };
            let hi = [a.0.end_line, a.0.line, b.0.end_line, b.0.line]
                .into_iter()
                .flatten()
                .max();
            if lo == a.0.line && hi == a.0.line.or(a.0.end_line) && a.0.end_line.is_none() {
                return a.clone();
            }
            Origin(Arc::new(Inner {
                base: a.0.base.clone(),
                kind: a.0.kind,
                line: lo,
                end_line: hi,
                comments: Vec::new(),
            }))
        } else {
            let base = format!("merge of {},{}", a.description(), b.description());
            Origin(Arc::new(Inner {
                base: base.into(),
                kind: OriginKind::Generic,
                line: None,
                end_line: None,
                comments: Vec::new(),
            }))
        }
    }
}
