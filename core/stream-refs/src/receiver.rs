//! The receiving stage (Pekko `SourceRefStageImpl`) as a sans-I/O state
//! machine: it buffers at most `buffer-capacity` elements, requests more with
//! cumulative demand, validates sequence numbers and partner, and drives its
//! timers from the instants it is given.

use std::collections::VecDeque;
use std::time::Instant;

use rekko_remote::SerializedMessage;

use crate::codec::StreamRefMessage;
use crate::error::StreamRefError;
use crate::settings::StreamRefSettings;

/// What the driver must do on behalf of a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Send `msg` to the actor at `to`, with the stage actor as sender.
    Send {
        /// Recipient path.
        to: String,
        /// The protocol message.
        msg: StreamRefMessage,
    },
    /// Watch the partner's stage actor.
    Watch(String),
    /// Stop watching it.
    Unwatch(String),
    /// Send element `seq_nr` (a `SequencedOnNext`) to the partner, with the
    /// stage actor as sender (sender only; the partner is
    /// [`crate::sender::Sender::partner`], so the hot path copies no path).
    Element {
        /// Its sequence number.
        seq_nr: i64,
        /// The element.
        payload: SerializedMessage,
    },
    /// Emit one element downstream (receiver only, answers a pull).
    Push(SerializedMessage),
    /// Pull one element from upstream (sender only).
    Pull,
    /// Cancel upstream (sender only; `Some` carries a failure cause).
    CancelUpstream(Option<StreamRefError>),
    /// The stage completed successfully.
    Complete,
    /// The stage failed.
    Fail(StreamRefError),
    /// The stage stopped after a downstream cancellation.
    Cancelled,
}

/// Whether two actor paths name the same actor: equal, or equal up to a
/// `#uid` that one of them lacks.
pub fn same_actor(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let (pa, ua) = a.split_once('#').map_or((a, None), |(p, u)| (p, Some(u)));
    let (pb, ub) = b.split_once('#').map_or((b, None), |(p, u)| (p, Some(u)));
    pa == pb && (ua.is_none() || ub.is_none())
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    AwaitingPartner,
    AwaitingSubscription(String),
    Running(String),
    WaitingForCancelAck(String, bool),
    UpstreamCompleted(String),
    UpstreamTerminated(String),
    Finished,
}

impl State {
    fn name(&self) -> &'static str {
        match self {
            State::AwaitingPartner => "AwaitingPartner",
            State::AwaitingSubscription(_) => "AwaitingSubscription",
            State::Running(_) => "Running",
            State::WaitingForCancelAck(..) => "WaitingForCancelAck",
            State::UpstreamCompleted(_) => "UpstreamCompleted",
            State::UpstreamTerminated(_) => "UpstreamTerminated",
            State::Finished => "Finished",
        }
    }

    fn partner(&self) -> Option<&str> {
        match self {
            State::AwaitingSubscription(p)
            | State::Running(p)
            | State::WaitingForCancelAck(p, _)
            | State::UpstreamCompleted(p)
            | State::UpstreamTerminated(p) => Some(p),
            State::AwaitingPartner | State::Finished => None,
        }
    }
}

/// The receiving stage of a stream ref.
#[derive(Debug)]
pub struct Receiver {
    name: String,
    settings: StreamRefSettings,
    state: State,
    expecting_seq_nr: i64,
    cumulative_demand: i64,
    remaining_requested: i64,
    buffer: VecDeque<SerializedMessage>,
    pulled: bool,
    subscription_deadline: Option<Instant>,
    redelivery_deadline: Option<Instant>,
    termination_deadline: Option<Instant>,
    cancellation_deadline: Option<Instant>,
    effects: Vec<Effect>,
}

impl Receiver {
    /// A receiver created by the origin (`sinkRef()`): the partner is unknown
    /// until its handshake. `name` is the stage actor's path (for messages).
    pub fn origin(name: &str, settings: StreamRefSettings, now: Instant) -> Self {
        Self::new(name, settings, State::AwaitingPartner, now)
    }

    /// A receiver for a received `SourceRef` whose sending stage is `partner`;
    /// it watches the partner at once.
    pub fn target(name: &str, partner: &str, settings: StreamRefSettings, now: Instant) -> Self {
        let mut r = Self::new(
            name,
            settings,
            State::AwaitingSubscription(partner.to_string()),
            now,
        );
        r.effects.push(Effect::Watch(partner.to_string()));
        r
    }

    fn new(name: &str, settings: StreamRefSettings, state: State, now: Instant) -> Self {
        Receiver {
            name: name.to_string(),
            subscription_deadline: Some(now + settings.subscription_timeout),
            settings,
            state,
            expecting_seq_nr: 0,
            cumulative_demand: 0,
            remaining_requested: 0,
            buffer: VecDeque::new(),
            pulled: false,
            redelivery_deadline: None,
            termination_deadline: None,
            cancellation_deadline: None,
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
        self.state == State::Finished
    }

    /// Elements buffered now (never more than `buffer-capacity`).
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// The last cumulative demand sent.
    pub fn cumulative_demand(&self) -> i64 {
        self.cumulative_demand
    }

    /// The partner's path, once known.
    pub fn partner(&self) -> Option<&str> {
        self.state.partner()
    }

    /// The earliest instant a timer is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        [
            self.subscription_deadline,
            self.redelivery_deadline,
            self.termination_deadline,
            self.cancellation_deadline,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn finish(&mut self, e: Effect) {
        if self.state == State::Finished {
            return;
        }
        self.state = State::Finished;
        self.buffer.clear();
        self.subscription_deadline = None;
        self.redelivery_deadline = None;
        self.termination_deadline = None;
        self.cancellation_deadline = None;
        self.effects.push(e);
    }

    fn fail(&mut self, e: StreamRefError) {
        self.finish(Effect::Fail(e));
    }

    fn illegal(&mut self, message: &str) {
        let state = self.state.name();
        self.fail(StreamRefError::IllegalState {
            message: message.to_string(),
            state,
        });
    }

    /// The driver failed on the stage's behalf (a send or watch the
    /// transport refused, or the node stopped): the stage fails with `e`.
    pub fn on_failure(&mut self, e: StreamRefError) {
        self.fail(e);
    }

    /// Downstream requests one element.
    pub fn on_pull(&mut self, now: Instant) {
        if self.state == State::Finished {
            return;
        }
        self.pulled = true;
        self.try_push();
        self.trigger_demand(now);
    }

    fn try_push(&mut self) {
        if self.pulled {
            if let Some(x) = self.buffer.pop_front() {
                self.pulled = false;
                self.effects.push(Effect::Push(x));
            }
        }
        if self.buffer.is_empty() && matches!(self.state, State::UpstreamCompleted(_)) {
            self.finish(Effect::Complete);
        }
    }

    fn trigger_demand(&mut self, now: Instant) {
        let capacity = self.settings.buffer_capacity as i64;
        let buffered = self.buffer.len() as i64;
        let free = (capacity - buffered) - self.remaining_requested;
        if free <= 0 {
            return;
        }
        let high = capacity;
        let low = (capacity / 2).max(1);
        let outstanding = buffered + self.remaining_requested;
        let add = if outstanding < low {
            high - outstanding
        } else {
            0
        };
        if add <= 0 {
            return;
        }
        let partner = match &self.state {
            State::Running(p) | State::AwaitingSubscription(p) => p.clone(),
            _ => return,
        };
        self.cumulative_demand += add;
        self.remaining_requested += add;
        self.effects.push(Effect::Send {
            to: partner,
            msg: StreamRefMessage::CumulativeDemand(self.cumulative_demand),
        });
        self.redelivery_deadline = Some(now + self.settings.demand_redelivery_interval);
    }

    fn check_partner(&mut self, sender: Option<&str>, partner: &str) -> bool {
        match sender {
            Some(s) if same_actor(s, partner) => true,
            other => {
                self.fail(StreamRefError::InvalidPartner {
                    expected: partner.to_string(),
                    got: other.unwrap_or("deadLetters").to_string(),
                });
                false
            }
        }
    }

    fn check_seq_nr(&mut self, got: i64, what: &str) -> bool {
        if got != self.expecting_seq_nr {
            self.fail(StreamRefError::InvalidSequenceNumber {
                expected: self.expecting_seq_nr,
                got,
                message: what.to_string(),
            });
            return false;
        }
        self.expecting_seq_nr += 1;
        true
    }

    fn deliver(&mut self, x: SerializedMessage, now: Instant) {
        self.remaining_requested -= 1;
        if self.buffer.is_empty() && self.pulled {
            self.pulled = false;
            self.effects.push(Effect::Push(x));
        } else if self.buffer.len() >= self.settings.buffer_capacity {
            self.fail(StreamRefError::BufferOverflow {
                capacity: self.settings.buffer_capacity,
            });
            return;
        } else {
            self.buffer.push_back(x);
        }
        self.trigger_demand(now);
    }

    /// A protocol message arrived from `sender` (the envelope sender).
    pub fn on_message(&mut self, sender: Option<&str>, msg: StreamRefMessage, now: Instant) {
        if self.state == State::Finished {
            return;
        }
        match msg {
            StreamRefMessage::OnSubscribeHandshake(reference) => match self.state.clone() {
                State::AwaitingPartner => {
                    self.subscription_deadline = None;
                    self.state = State::Running(reference.clone());
                    self.effects.push(Effect::Watch(reference));
                    self.trigger_demand(now);
                }
                State::AwaitingSubscription(p) => {
                    if self.check_partner(sender, &p) {
                        self.subscription_deadline = None;
                        self.state = State::Running(reference);
                        self.trigger_demand(now);
                    }
                }
                _ => self.illegal("OnSubscribeHandshake"),
            },
            StreamRefMessage::SequencedOnNext { seq_nr, payload } => {
                if !self.check_seq_nr(seq_nr, "Illegal sequence nr in SequencedOnNext") {
                    return;
                }
                // The hot path: the state is only borrowed (no partner clone
                // per element).
                let (partner, first) = match &self.state {
                    State::AwaitingSubscription(p) => (p.as_str(), true),
                    State::Running(p) | State::UpstreamTerminated(p) => (p.as_str(), false),
                    State::WaitingForCancelAck(p, _) => {
                        let p = p.clone();
                        if self.check_partner(sender, &p) {
                            tracing::debug!(stage = %self.name, seq_nr, "element dropped while cancelling");
                        }
                        return;
                    }
                    _ => return self.illegal("SequencedOnNext"),
                };
                if !sender.is_some_and(|s| same_actor(s, partner)) {
                    let p = partner.to_string();
                    self.check_partner(sender, &p);
                    return;
                }
                if first {
                    self.subscription_deadline = None;
                    if let State::AwaitingSubscription(p) =
                        std::mem::replace(&mut self.state, State::Finished)
                    {
                        self.state = State::Running(p);
                    }
                }
                self.deliver(payload, now);
            }
            StreamRefMessage::RemoteStreamCompleted(seq_nr) => {
                if matches!(self.state, State::WaitingForCancelAck(..)) {
                    return;
                }
                if !self.check_seq_nr(seq_nr, "Illegal sequence nr in RemoteSinkCompleted") {
                    return;
                }
                match self.state.clone() {
                    // A completion that arrives after the partner's Terminated
                    // (final-termination-signal-deadline) is still a clean end.
                    State::Running(p) | State::UpstreamTerminated(p) => {
                        if self.check_partner(sender, &p) {
                            self.termination_deadline = None;
                            self.redelivery_deadline = None;
                            self.effects.push(Effect::Unwatch(p.clone()));
                            self.state = State::UpstreamCompleted(p);
                            self.try_push();
                        }
                    }
                    _ => self.illegal("RemoteStreamCompleted"),
                }
            }
            StreamRefMessage::RemoteStreamFailure(reason) => match self.state.partner() {
                Some(p) => {
                    let p = p.to_string();
                    if self.check_partner(sender, &p) {
                        self.fail(StreamRefError::RemoteTerminated(format!(
                            "[{}] Remote stream ({p}) failed, reason: {reason}",
                            self.name
                        )));
                    }
                }
                None => self.illegal("RemoteStreamFailure"),
            },
            StreamRefMessage::Ack => match self.state.clone() {
                State::WaitingForCancelAck(p, failed) => {
                    if self.check_partner(sender, &p) {
                        self.finish_cancelled(failed);
                    }
                }
                _ => self.illegal("Ack"),
            },
            other @ (StreamRefMessage::CumulativeDemand(_)
            | StreamRefMessage::SourceRef(_)
            | StreamRefMessage::SinkRef(_)) => {
                tracing::warn!(stage = %self.name, ?other, "unexpected message for a receiving stage, ignored");
            }
        }
    }

    fn finish_cancelled(&mut self, failed: bool) {
        if failed {
            self.fail(StreamRefError::RemoteTerminated(format!(
                "[{}] cancelled after downstream failure",
                self.name
            )));
        } else {
            self.finish(Effect::Cancelled);
        }
    }

    /// A watched actor terminated (death watch notification or node loss).
    pub fn on_terminated(&mut self, actor: &str, now: Instant) {
        let Some(p) = self.state.partner().map(str::to_string) else {
            return;
        };
        if !same_actor(actor, &p) {
            return;
        }
        match self.state {
            State::WaitingForCancelAck(..)
            | State::UpstreamCompleted(_)
            | State::UpstreamTerminated(_) => {}
            _ => {
                self.termination_deadline =
                    Some(now + self.settings.final_termination_signal_deadline);
                self.state = State::UpstreamTerminated(p);
            }
        }
    }

    /// Downstream cancelled (`failed`: with a failure cause).
    pub fn on_downstream_cancel(&mut self, failed: bool, now: Instant) {
        match self.state.clone() {
            State::Running(p) | State::AwaitingSubscription(p) => {
                self.buffer.clear();
                self.pulled = false;
                let msg = if failed {
                    StreamRefMessage::RemoteStreamFailure("Downstream failed".into())
                } else {
                    StreamRefMessage::RemoteStreamCompleted(self.expecting_seq_nr)
                };
                self.effects.push(Effect::Unwatch(p.clone()));
                self.effects.push(Effect::Send { to: p.clone(), msg });
                self.subscription_deadline = None;
                self.redelivery_deadline = None;
                self.cancellation_deadline = Some(now + self.settings.subscription_timeout);
                self.state = State::WaitingForCancelAck(p, failed);
            }
            State::AwaitingPartner => {
                self.termination_deadline =
                    Some(now + self.settings.final_termination_signal_deadline);
            }
            State::UpstreamCompleted(_) => self.finish_cancelled(failed),
            State::UpstreamTerminated(_) => {
                self.pulled = false;
                self.fail(StreamRefError::RemoteTerminated(format!(
                    "[{}] unexpectedly terminated",
                    self.name
                )));
            }
            State::WaitingForCancelAck(..) | State::Finished => {}
        }
    }

    /// Fires every timer due at `now`.
    pub fn on_timer(&mut self, now: Instant) {
        let due = |d: &mut Option<Instant>| {
            if d.is_some_and(|t| t <= now) {
                *d = None;
                true
            } else {
                false
            }
        };
        if due(&mut self.subscription_deadline)
            && matches!(
                self.state,
                State::AwaitingPartner | State::AwaitingSubscription(_)
            )
        {
            self.fail(StreamRefError::SubscriptionTimeout(format!(
                "[{}] Remote side did not subscribe (materialize) handed out Sink reference \
                 within subscription timeout: {} ms",
                self.name,
                self.settings.subscription_timeout.as_millis()
            )));
            return;
        }
        if due(&mut self.redelivery_deadline) {
            if let State::Running(p) = &self.state {
                let to = p.clone();
                self.effects.push(Effect::Send {
                    to,
                    msg: StreamRefMessage::CumulativeDemand(self.cumulative_demand),
                });
                self.redelivery_deadline = Some(now + self.settings.demand_redelivery_interval);
            }
        }
        if due(&mut self.termination_deadline) {
            match &self.state {
                State::UpstreamTerminated(p) => {
                    let msg = format!(
                        "[{}] Remote partner [{p}] has terminated unexpectedly and no clean \
                         completion/failure message was received (possible reasons: network \
                         partition or subscription timeout triggered termination of partner). \
                         Tearing down.",
                        self.name
                    );
                    self.fail(StreamRefError::RemoteTerminated(msg));
                    return;
                }
                State::AwaitingPartner => {
                    self.finish(Effect::Cancelled);
                    return;
                }
                _ => {}
            }
        }
        if due(&mut self.cancellation_deadline) {
            if let State::WaitingForCancelAck(_, failed) = self.state {
                self.finish_cancelled(failed);
            }
        }
    }
}
