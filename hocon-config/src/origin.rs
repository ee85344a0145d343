//! Where a value came from: a file, a string, the environment.

use std::sync::{Arc, OnceLock};

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

/// The source part of an origin, shared by every value read from that source.
#[derive(Debug)]
struct Source {
    /// The description; for a merge of two sources it is written on first use.
    base: OnceLock<Box<str>>,
    kind: OriginKind,
    /// The two origins of a `merge of a,b` source, kept until its description is written.
    merged: Option<(Origin, Origin)>,
    /// Nesting of `merged` (0 for a plain source).
    depth: u32,
}

/// Longest chain of unwritten merge descriptions; deeper merges are written at once.
const MAX_LAZY_MERGE_DEPTH: u32 = 32;

const MERGE_PREFIX: &str = "merge of ";

impl Source {
    fn base(&self) -> &str {
        self.base.get_or_init(|| match &self.merged {
            Some((a, b)) => {
                format!("{}{},{}", MERGE_PREFIX, a.description(), b.description()).into_boxed_str()
            }
            None => Box::from(""),
        })
    }
    fn is_lazy_merge(&self) -> bool {
        self.merged.is_some() && self.base.get().is_none()
    }
}

impl PartialEq for Source {
    fn eq(&self, other: &Source) -> bool {
        self.kind == other.kind && self.base() == other.base()
    }
}

/// Whether two sources have the same description, without writing a lazy merge description
/// when the other one cannot start with `merge of `.
fn same_base(a: &Source, b: &Source) -> bool {
    match (a.is_lazy_merge(), b.is_lazy_merge()) {
        (true, false) => b.base().starts_with(MERGE_PREFIX) && a.base() == b.base(),
        (false, true) => a.base().starts_with(MERGE_PREFIX) && a.base() == b.base(),
        _ => a.base() == b.base(),
    }
}

/// The origin of a value: a description (`String`, a file path, `env variables`) and an
/// optional line number (or line range, for merged values).
///
/// Cheap to clone and to move to another line: the description is shared, the lines are inline.
#[derive(Debug, Clone)]
pub struct Origin {
    src: Arc<Source>,
    /// 1-based line, 0 when unknown.
    line: u32,
    /// Last line of a merged range, 0 when none.
    end_line: u32,
}

impl PartialEq for Origin {
    fn eq(&self, other: &Origin) -> bool {
        self.line == other.line
            && self.end_line == other.end_line
            && (Arc::ptr_eq(&self.src, &other.src) || self.src == other.src)
    }
}
impl Eq for Origin {}

fn opt(n: u32) -> Option<u32> {
    (n != 0).then_some(n)
}

impl Origin {
    /// A new origin with the given description and kind, without a line number.
    pub fn new(base: &str, kind: OriginKind) -> Origin {
        Origin {
            src: Arc::new(Source {
                base: OnceLock::from(Box::from(base)),
                kind,
                merged: None,
                depth: 0,
            }),
            line: 0,
            end_line: 0,
        }
    }
    pub(crate) fn simple(base: &str) -> Origin {
        Origin::new(base, OriginKind::Generic)
    }
    /// The same source at another line.
    pub fn with_line(&self, line: u32) -> Origin {
        Origin {
            src: self.src.clone(),
            line,
            end_line: 0,
        }
    }
    /// Description with line, e.g. `application.conf: 12`.
    pub fn description(&self) -> String {
        match (opt(self.line), opt(self.end_line)) {
            (Some(l), Some(e)) if e != l => format!("{}: {}-{}", self.src.base(), l, e),
            (Some(l), _) => format!("{}: {}", self.src.base(), l),
            _ => self.src.base().to_string(),
        }
    }
    /// The source description without line.
    pub fn base(&self) -> &str {
        self.src.base()
    }
    /// The 1-based line number, if known.
    pub fn line(&self) -> Option<u32> {
        opt(self.line)
    }
    /// The kind of source.
    pub fn kind(&self) -> OriginKind {
        self.src.kind
    }
    /// Comments attached to the value (none are kept from the source).
    pub fn comments(&self) -> &[String] {
        &[]
    }
    /// Merge two origins (`merge of` semantics simplified to a line range on the same source).
    pub(crate) fn merge(a: &Origin, b: &Origin) -> Origin {
        if Arc::ptr_eq(&a.src, &b.src) || same_base(&a.src, &b.src) {
            let lo = match (opt(a.line), opt(b.line)) {
                (Some(x), Some(y)) => Some(x.min(y)),
                (x, y) => x.or(y),
            };
            let hi = [a.end_line, a.line, b.end_line, b.line]
                .into_iter()
                .max()
                .unwrap_or(0);
            let a_hi = if a.line != 0 { a.line } else { a.end_line };
            if lo == opt(a.line) && hi == a_hi && a.end_line == 0 {
                return a.clone();
            }
            Origin {
                src: a.src.clone(),
                line: lo.unwrap_or(0),
                end_line: hi,
            }
        } else {
            let depth = 1 + a.src.depth.max(b.src.depth);
            if depth > MAX_LAZY_MERGE_DEPTH {
                let base = format!("{}{},{}", MERGE_PREFIX, a.description(), b.description());
                return Origin::new(&base, OriginKind::Generic);
            }
            Origin {
                src: Arc::new(Source {
                    base: OnceLock::new(),
                    kind: OriginKind::Generic,
                    merged: Some((a.clone(), b.clone())),
                    depth,
                }),
                line: 0,
                end_line: 0,
            }
        }
    }
}
