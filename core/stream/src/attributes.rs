//! Attributes that tune how operators are materialized (Pekko `Attributes` / `ActorAttributes`).

use crate::error::{Decider, Directive, StreamError, Supervision};

/// Default input buffer of an asynchronous boundary (Pekko `max-input-buffer-size`).
pub const DEFAULT_INPUT_BUFFER: usize = 16;

/// Attributes apply to every operator inside the blueprint they are set on,
/// unless an operator closer to them sets its own (inner overrides outer).
#[derive(Clone, Default)]
pub struct Attributes {
    name: Option<String>,
    decider: Option<Decider>,
    input_buffer: Option<usize>,
}

impl std::fmt::Debug for Attributes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attributes")
            .field("name", &self.name)
            .field("decider", &self.decider.is_some())
            .field("input_buffer", &self.input_buffer)
            .finish()
    }
}

impl Attributes {
    /// No attributes set.
    pub fn new() -> Self {
        Self::default()
    }
    /// A name used in logs (Pekko `Attributes.name`).
    pub fn name(name: impl Into<String>) -> Self {
        Attributes {
            name: Some(name.into()),
            ..Self::default()
        }
    }
    /// A supervision decider (Pekko `ActorAttributes.supervisionStrategy`).
    pub fn supervision(decider: Decider) -> Self {
        Attributes {
            decider: Some(decider),
            ..Self::default()
        }
    }
    /// Buffer size of asynchronous boundaries (Pekko `Attributes.inputBuffer(_, max)`).
    pub fn input_buffer(size: usize) -> Self {
        Attributes {
            input_buffer: Some(size.max(1)),
            ..Self::default()
        }
    }
    /// `self` with every attribute that `inner` sets replaced by `inner`'s value.
    pub fn and(&self, inner: &Attributes) -> Attributes {
        Attributes {
            name: inner.name.clone().or_else(|| self.name.clone()),
            decider: inner.decider.clone().or_else(|| self.decider.clone()),
            input_buffer: inner.input_buffer.or(self.input_buffer),
        }
    }
    /// The configured name, if any.
    pub fn get_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    /// The effective decider (stopping when none is set).
    pub fn decider(&self) -> Decider {
        self.decider
            .clone()
            .unwrap_or_else(Supervision::stopping_decider)
    }
    /// Decides about `err` with the effective decider.
    pub fn decide(&self, err: &StreamError) -> Directive {
        match &self.decider {
            Some(d) => d(err),
            None => Directive::Stop,
        }
    }
    /// The effective asynchronous-boundary buffer size.
    pub fn get_input_buffer(&self) -> usize {
        self.input_buffer.unwrap_or(DEFAULT_INPUT_BUFFER)
    }
}
