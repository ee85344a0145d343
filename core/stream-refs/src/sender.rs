//! The sending stage (Pekko `SinkRefStageImpl`) as a sans-I/O state
//! machine: it learns its partner (from the ref or the first demand), sends
//! the handshake, pulls upstream only within the partner's cumulative demand,
//! numbers elements from 0 and finishes on its partner's termination.

use std::time::Instant;

use rekko_remote::SerializedMessage;

use crate::codec::StreamRefMessage;
use crate::error::StreamRefError;
use crate::receiver::{same_actor, Effect};
use crate::settings::StreamRefSettings;

/// The sending stage of a stream ref.
#[derive(Debug)]
pub struct Sender {
    name: String,
    settings: StreamRefSettings,
    partner: Option<String>,
    received: i64,
    consumed: i64,
    pulled: bool,
    upstream_done: Option<Result<(), String>>,
    finished: bool,
    subscription_deadline: Option<Instant>,
    effects: Vec<Effect>,
}

impl Sender {
    /// A sender created by the origin (`sourceRef()`): the partner is the
    /// sender of the first `CumulativeDemand`. `name` is this stage actor's
    /// full path, sent in the handshake.
    pub fn origin(name: &str, settings: StreamRefSettings, now: Instant) -> Self {
        let mut s = Self::new(name, settings);
        s.subscription_deadline = Some(now + s.settings.subscription_timeout);
        s
    }

    /// A sender for a received `SinkRef` whose receiving stage is `partner`:
    /// it sends the handshake and watches the partner at once.
    pub fn target(name: &str, partner: &str, settings: StreamRefSettings) -> Self {
        let mut s = Self::new(name, settings);
        s.acquire(partner);
        s
    }

    fn new(name: &str, settings: StreamRefSettings) -> Self {
        Sender {
            name: name.to_string(),
            settings,
            partner: None,
            received: 0,
            consumed: 0,
            pulled: false,
            upstream_done: None,
            finished: false,
            subscription_deadline: None,
            effects: Vec::new(),
        }
    }

    /// Effects produced since the last call, in order.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    /// Moves the effects produced since the last call, in order, to the end
    /// of `into` (both vectors keep their allocations).
    pub fn drain_effects(&mut self, into: &mut Vec<Effect>) {
        into.append(&mut self.effects);
    }

    /// True once the stage completed, failed or was cancelled.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The partner's path, once known.
    pub fn partner(&self) -> Option<&str> {
        self.partner.as_deref()
    }

    /// Elements sent so far.
    pub fn sent(&self) -> i64 {
        self.consumed
    }

    /// The highest cumulative demand received.
    pub fn demand(&self) -> i64 {
        self.received
    }

    /// The earliest instant a timer is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.subscription_deadline
    }

    fn finish(&mut self, e: Effect) {
        if !self.finished {
            self.finished = true;
            self.subscription_deadline = None;
            self.effects.push(e);
        }
    }

    fn acquire(&mut self, partner: &str) {
        self.partner = Some(partner.to_string());
        self.subscription_deadline = None;
        self.effects.push(Effect::Send {
            to: partner.to_string(),
            msg: StreamRefMessage::OnSubscribeHandshake(self.name.clone()),
        });
        self.effects.push(Effect::Watch(partner.to_string()));
        match self.upstream_done.clone() {
            Some(Ok(())) => self.send_final(StreamRefMessage::RemoteStreamCompleted(self.consumed)),
            Some(Err(m)) => self.send_final(StreamRefMessage::RemoteStreamFailure(m)),
            None => {}
        }
    }

    fn send_final(&mut self, msg: StreamRefMessage) {
        if let Some(p) = self.partner.clone() {
            self.effects.push(Effect::Send { to: p, msg });
        }
    }

    fn try_pull(&mut self) {
        if self.partner.is_some()
            && !self.pulled
            && !self.finished
            && self.upstream_done.is_none()
            && self.consumed < self.received
        {
            self.pulled = true;
            self.effects.push(Effect::Pull);
        }
    }

    /// A protocol message arrived from `sender` (the envelope sender).
    pub fn on_message(&mut self, sender: Option<&str>, msg: StreamRefMessage) {
        if self.finished {
            return;
        }
        let Some(s) = sender else {
            tracing::warn!(stage = %self.name, ?msg, "StreamRef message without sender ignored");
            return;
        };
        if let StreamRefMessage::CumulativeDemand(d) = msg {
            match &self.partner {
                None => self.acquire(s),
                Some(p) if !same_actor(p, s) => {
                    tracing::warn!(stage = %self.name, partner = %p, sender = %s, "demand from a foreign actor ignored");
                    return;
                }
                Some(_) => {}
            }
            if d > self.received {
                self.received = d;
            }
            self.try_pull();
            return;
        }
        if self.partner.as_deref().is_some_and(|p| !same_actor(p, s)) {
            tracing::warn!(stage = %self.name, sender = %s, ?msg, "message from a foreign actor ignored");
            return;
        }
        match msg {
            StreamRefMessage::RemoteStreamCompleted(_) if self.upstream_done.is_none() => {
                self.effects.push(Effect::Unwatch(s.to_string()));
                self.effects.push(Effect::CancelUpstream(None));
                self.effects.push(Effect::Send {
                    to: s.to_string(),
                    msg: StreamRefMessage::Ack,
                });
                self.finish(Effect::Cancelled);
            }
            StreamRefMessage::RemoteStreamFailure(reason) if self.upstream_done.is_none() => {
                let e =
                    StreamRefError::RemoteTerminated(format!("Remote downstream failed: {reason}"));
                self.effects.push(Effect::Unwatch(s.to_string()));
                self.effects.push(Effect::CancelUpstream(Some(e.clone())));
                self.effects.push(Effect::Send {
                    to: s.to_string(),
                    msg: StreamRefMessage::Ack,
                });
                self.finish(Effect::Fail(e));
            }
            other => {
                tracing::debug!(stage = %self.name, ?other, "unexpected message for a sending stage, ignored");
            }
        }
    }

    /// Upstream pushed the element that was pulled.
    pub fn on_element(&mut self, x: SerializedMessage) {
        if self.finished {
            return;
        }
        self.pulled = false;
        if self.partner.is_none() {
            return;
        }
        self.effects.push(Effect::Element {
            seq_nr: self.consumed,
            payload: x,
        });
        self.consumed += 1;
        self.try_pull();
    }

    /// The driver failed on the stage's behalf (a send or watch the
    /// transport refused, or the node stopped): upstream is cancelled and the
    /// stage fails with `e`.
    pub fn on_failure(&mut self, e: StreamRefError) {
        if !self.finished {
            self.effects.push(Effect::CancelUpstream(Some(e.clone())));
            self.finish(Effect::Fail(e));
        }
    }

    /// Upstream completed (`Ok`) or failed with a message (`Err`).
    pub fn on_upstream_finish(&mut self, result: Result<(), String>) {
        if self.finished || self.upstream_done.is_some() {
            return;
        }
        self.pulled = false;
        self.upstream_done = Some(result.clone());
        match result {
            Ok(()) => self.send_final(StreamRefMessage::RemoteStreamCompleted(self.consumed)),
            Err(m) => self.send_final(StreamRefMessage::RemoteStreamFailure(m)),
        }
    }

    /// A watched actor terminated (death watch notification or node loss).
    pub fn on_terminated(&mut self, actor: &str) {
        let Some(p) = self.partner.clone() else {
            return;
        };
        if !same_actor(actor, &p) {
            return;
        }
        match self.upstream_done.clone() {
            Some(Ok(())) => self.finish(Effect::Complete),
            Some(Err(m)) => self.finish(Effect::Fail(StreamRefError::RemoteTerminated(m))),
            None => {
                self.effects.push(Effect::CancelUpstream(None));
                self.finish(Effect::Fail(StreamRefError::RemoteTerminated(format!(
                    "[{}] Remote target receiver of data {p} terminated. Local stream \
                     terminating, message loss (on remote side) may have happened.",
                    self.name
                ))));
            }
        }
    }

    /// Fires the subscription timeout if due.
    pub fn on_timer(&mut self, now: Instant) {
        if self.subscription_deadline.is_some_and(|t| t <= now) {
            self.subscription_deadline = None;
            if self.partner.is_none() {
                self.effects.push(Effect::CancelUpstream(None));
                self.finish(Effect::Fail(StreamRefError::SubscriptionTimeout(format!(
                    "[{}] Remote side did not subscribe (materialize) handed out Source \
                     reference within subscription timeout: {} ms",
                    self.name,
                    self.settings.subscription_timeout.as_millis()
                ))));
            }
        }
    }
}
