//! Error type carrying what failed and where, worded like Lightbend config.

use std::fmt;

/// The kind of a configuration error; mirrors the `ConfigException` subclasses of Lightbend config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Syntax error while parsing (`ConfigException.Parse`).
    Parse,
    /// A `${}` substitution could not be resolved (`ConfigException.UnresolvedSubstitution`).
    UnresolvedSubstitution,
    /// Reading a file or resource failed (`ConfigException.IO`).
    Io,
    /// A value had the wrong type (`ConfigException.WrongType`).
    WrongType,
    /// No value at the requested path (`ConfigException.Missing`).
    Missing,
    /// The value at the requested path is null (`ConfigException.Null`).
    Null,
    /// A value could not be parsed as the requested unit (`ConfigException.BadValue`).
    BadValue,
    /// A path expression is invalid (`ConfigException.BadPath`).
    BadPath,
    /// A value was used before `resolve()` (`ConfigException.NotResolved`).
    NotResolved,
    /// Internal inconsistency (`ConfigException.BugOrBroken`).
    BugOrBroken,
    /// `check_valid` found problems (`ConfigException.ValidationFailed`).
    ValidationFailed,
    /// Anything else (`ConfigException.Generic`).
    Generic,
}

impl ErrorKind {
    /// The simple class name of the matching Java exception (`Parse`, `WrongType`, ...).
    pub fn java_name(self) -> &'static str {
        match self {
            ErrorKind::Parse => "Parse",
            ErrorKind::UnresolvedSubstitution => "UnresolvedSubstitution",
            ErrorKind::Io => "IO",
            ErrorKind::WrongType => "WrongType",
            ErrorKind::Missing => "Missing",
            ErrorKind::Null => "Null",
            ErrorKind::BadValue => "BadValue",
            ErrorKind::BadPath => "BadPath",
            ErrorKind::NotResolved => "NotResolved",
            ErrorKind::BugOrBroken => "BugOrBroken",
            ErrorKind::ValidationFailed => "ValidationFailed",
            ErrorKind::Generic => "Generic",
        }
    }
}

/// A configuration error: kind, origin (`file: line`) and message.
///
/// `Display` renders `<origin>: <message>` like Lightbend's exception messages,
/// e.g. `application.conf: 12: No configuration setting found for key 'a'`.
///
/// One pointer wide, so that results stay small on the parser's hot paths.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{inner}")]
pub struct ConfigError {
    inner: Box<ErrorInner>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ErrorInner {
    kind: ErrorKind,
    origin: Option<String>,
    line: Option<u32>,
    message: String,
}

impl fmt::Display for ErrorInner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Some(o) => write!(f, "{}: {}", o, self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl ConfigError {
    #[cold]
    pub(crate) fn new(
        kind: ErrorKind,
        origin: Option<&crate::origin::Origin>,
        message: impl Into<String>,
    ) -> Self {
        ConfigError {
            inner: Box::new(ErrorInner {
                kind,
                origin: origin.map(|o| o.description()),
                line: origin.and_then(|o| o.line()),
                message: message.into(),
            }),
        }
    }
    #[cold]
    pub(crate) fn plain(kind: ErrorKind, message: impl Into<String>) -> Self {
        ConfigError {
            inner: Box::new(ErrorInner {
                kind,
                origin: None,
                line: None,
                message: message.into(),
            }),
        }
    }
    /// The error kind.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }
    /// The origin description (`file: line`), when known.
    pub fn origin(&self) -> Option<&str> {
        self.inner.origin.as_deref()
    }
    /// The 1-based line number where the error was detected, when known.
    pub fn line(&self) -> Option<u32> {
        self.inner.line
    }
    /// The message without the origin prefix.
    pub fn message(&self) -> &str {
        &self.inner.message
    }
    pub(crate) fn with_message(mut self, message: String) -> Self {
        self.inner.message = message;
        self
    }
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, ConfigError>;

pub(crate) fn bug(msg: impl Into<String>) -> ConfigError {
    ConfigError::plain(ErrorKind::BugOrBroken, msg)
}
