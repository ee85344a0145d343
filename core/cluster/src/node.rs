//! The tokio driver: runs a [`ClusterCore`] on a [`RemoteNode`].
//!
//! It registers the cluster endpoints at Pekko's paths ([`CORE_DAEMON`],
//! [`HEARTBEAT_RECEIVER`], [`HEARTBEAT_SENDER`]), sends the core's [`Outgoing`] messages with
//! the cluster serializer (id 5) as actor selections, drives the timers (gossip, leader
//! actions, heartbeats, unreachable reaper, seed-node process, split brain resolver) and
//! publishes [`ClusterEvent`]s to subscribers.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use artery_wire::misc::Payload;
use artery_wire::selection::SelectionEnvelope;
use artery_wire::serializers;
use bytes::Bytes;
use parking_lot::Mutex;
use rekko_remote::{Delivery, RemoteEvent, RemoteNode, SerializedMessage};
use tokio::sync::{broadcast, watch};

use crate::address::{Address, UniqueAddress};
use crate::codec::{ClusterMessage, HeartbeatRsp};
use crate::daemon::{ClusterCore, CoreSettings, CoreStatus, Destination, Outgoing};
use crate::events::ClusterEvent;
use crate::heartbeat::HeartbeatSender;
use crate::member::{Member, MemberStatus};
use crate::membership::MembershipState;
use crate::sbr::{SbrAction, SbrEvent, SbrSettings, SplitBrainResolver};
use crate::seed::{SeedAction, SeedNodeProcess};
use crate::settings::ClusterSettings;

/// Path of the membership core daemon.
pub const CORE_DAEMON: &str = "/system/cluster/core/daemon";
/// Path of the heartbeat receiver.
pub const HEARTBEAT_RECEIVER: &str = "/system/cluster/heartbeatReceiver";
/// Path of the heartbeat sender (receives `HeartbeatRsp`).
pub const HEARTBEAT_SENDER: &str = "/system/cluster/core/daemon/heartbeatSender";

/// The cluster serializer id.
const CLUSTER_SERIALIZER: i32 = 5;

/// Converts a transport address to a cluster address.
pub fn from_wire_address(a: &artery_wire::Address) -> Address {
    Address {
        protocol: a.protocol.clone(),
        system: a.system.clone(),
        host: a.host.clone(),
        port: a.port,
    }
}

/// Converts a cluster address to a transport address.
pub fn to_wire_address(a: &Address) -> artery_wire::Address {
    artery_wire::Address {
        protocol: a.protocol.clone(),
        system: a.system.clone(),
        host: a.host.clone(),
        port: a.port,
    }
}

struct State {
    core: ClusterCore,
    hb: HeartbeatSender,
    sbr: Option<SplitBrainResolver>,
    seed: Option<SeedNodeProcess>,
    seeds: Vec<Address>,
    pending_ack: Option<(Address, ClusterMessage)>,
    join_started: Option<Duration>,
    exiting_done: bool,
    /// This node's last status as a member (for `SelfRemoved`).
    self_status: Option<MemberStatus>,
}

struct Inner {
    remote: RemoteNode,
    settings: ClusterSettings,
    self_node: UniqueAddress,
    started: Instant,
    state: Mutex<State>,
    events: broadcast::Sender<ClusterEvent>,
    stopped: watch::Sender<bool>,
}

/// A cluster member running on a remoting node. Cheap to clone.
#[derive(Clone)]
pub struct ClusterNode {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ClusterNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterNode")
            .field("self", &self.inner.self_node)
            .finish()
    }
}

impl ClusterNode {
    /// Starts the cluster extension on `remote` with the `pekko.cluster` settings of `config`
    /// (the crate's `reference.conf` is the fallback). The node is not a member until one of
    /// the join methods is called.
    pub fn start(remote: RemoteNode, config: &hocon_config::Config) -> crate::Result<ClusterNode> {
        let settings = ClusterSettings::from_config(config)?;
        let full = crate::settings::with_reference(config)?;
        let wire = remote.unique_address();
        let self_node = UniqueAddress::new(from_wire_address(&wire.address), wire.uid as i64);
        let core = ClusterCore::new(
            self_node.clone(),
            CoreSettings::from_cluster_settings(&settings),
            wire.uid ^ 0x5DEE_CE66_D1CE_4E5B,
        )
        .with_join_config(
            full.clone(),
            settings.configuration_compatibility_check.enforce_on_join,
        );
        let started = Instant::now();
        let sbr = if settings.sbr_enabled() {
            let s = SbrSettings::from_config(config)?;
            Some(SplitBrainResolver::from_settings(
                &s,
                self_node.clone(),
                settings.multi_data_center.self_data_center.clone(),
                Duration::ZERO,
            )?)
        } else {
            None
        };
        let hb = HeartbeatSender::new(self_node.clone(), settings.failure_detector.clone());
        let inner = Arc::new(Inner {
            remote: remote.clone(),
            settings,
            self_node,
            started,
            state: Mutex::new(State {
                core,
                hb,
                sbr,
                seed: None,
                seeds: Vec::new(),
                pending_ack: None,
                join_started: None,
                exiting_done: false,
                self_status: None,
            }),
            events: broadcast::channel(1024).0,
            stopped: watch::channel(false).0,
        });
        inner.register_endpoints();
        tokio::spawn(run_timers(Arc::downgrade(&inner), remote.subscribe()));
        tracing::info!(
            "Cluster Node [{}] - Started up successfully",
            inner.self_node.address
        );
        Ok(ClusterNode { inner })
    }

    /// The remoting node this member runs on.
    pub fn remote(&self) -> &RemoteNode {
        &self.inner.remote
    }

    /// The settings in use.
    pub fn settings(&self) -> &ClusterSettings {
        &self.inner.settings
    }

    /// This node's address and uid.
    pub fn self_unique_address(&self) -> &UniqueAddress {
        &self.inner.self_node
    }

    /// This node's address.
    pub fn self_address(&self) -> &Address {
        &self.inner.self_node.address
    }

    /// The configured `pekko.cluster.seed-nodes`, parsed.
    pub fn configured_seed_nodes(&self) -> crate::Result<Vec<Address>> {
        self.inner
            .settings
            .seed_nodes
            .iter()
            .map(|s| s.parse())
            .collect()
    }

    /// Joins the cluster at `address` (this node's own address forms a new cluster).
    pub fn join(&self, address: &Address) {
        self.inner.with_state(|inner, st| {
            let now = now_ms();
            let out = st.core.join(address, now);
            st.join_started = Some(inner.uptime());
            out
        });
    }

    /// Joins through seed nodes (Pekko's seed-node process): the first seed that answers
    /// `InitJoin` is joined; the first seed forms a new cluster if no other seed answers.
    pub fn join_seed_nodes(&self, seeds: &[Address]) {
        self.inner.with_state(|inner, st| {
            st.seeds = seeds.to_vec();
            inner.start_seed_process(st)
        });
    }

    /// Joins through the configured seed nodes; does nothing if none are configured.
    pub fn join_configured_seed_nodes(&self) -> crate::Result<()> {
        let seeds = self.configured_seed_nodes()?;
        if !seeds.is_empty() {
            self.join_seed_nodes(&seeds);
        }
        Ok(())
    }

    /// Asks the member at `address` to leave (Leaving, then Exiting and Removed).
    pub fn leave(&self, address: &Address) {
        self.inner.with_state(|_, st| st.core.leave(address));
    }

    /// Marks the member at `address` Down.
    pub fn down(&self, address: &Address) {
        self.inner.with_state(|_, st| st.core.down(address));
    }

    /// Starts a full cluster shutdown (Pekko's `Cluster.prepareForFullClusterShutdown()`,
    /// typed `PrepareForFullClusterShutdown`): every Up member becomes PreparingForShutdown,
    /// then, once all have seen it, the leader moves them to ReadyForShutdown. This node stops
    /// accepting joins and, as leader, moves no member Up. Subscribers get
    /// [`ClusterEvent::MemberPreparingForShutdown`] and
    /// [`ClusterEvent::MemberReadyForShutdown`]. Nothing is stopped: wait until every member is
    /// ReadyForShutdown, then shut the nodes down. Does nothing if this node is not a member.
    pub fn prepare_for_full_cluster_shutdown(&self) {
        self.inner
            .with_state(|_, st| st.core.prepare_for_full_cluster_shutdown());
    }

    /// This node's member entry, if it is a member.
    pub fn self_member(&self) -> Option<Member> {
        self.inner.state.lock().core.self_member().cloned()
    }

    /// A snapshot of the membership state.
    pub fn state(&self) -> MembershipState {
        self.inner.state.lock().core.state().clone()
    }

    /// The members, in Pekko's member ordering (by address).
    pub fn members(&self) -> Vec<Member> {
        self.inner
            .state
            .lock()
            .core
            .gossip()
            .members
            .values()
            .cloned()
            .collect()
    }

    /// The current leader of this node's data center.
    pub fn leader(&self) -> Option<Address> {
        self.inner
            .state
            .lock()
            .core
            .state()
            .leader()
            .map(|u| u.address)
    }

    /// Subscribes to cluster events (`MemberUp`, `MemberRemoved`, `UnreachableMember`, ...).
    pub fn subscribe(&self) -> broadcast::Receiver<ClusterEvent> {
        self.inner.events.subscribe()
    }

    /// True once this node was removed, downed, or left the cluster.
    pub fn is_terminated(&self) -> bool {
        *self.inner.stopped.borrow()
    }

    /// Waits until this node was removed, downed, or finished leaving.
    pub async fn terminated(&self) {
        let mut rx = self.inner.stopped.subscribe();
        // An error means the node was dropped: also terminated.
        let _ = rx.wait_for(|s| *s).await;
    }

    /// Leaves the cluster gracefully: marks self Leaving and waits (up to `timeout`) until the
    /// leader moved it to Exiting and this node confirmed its exit. Returns true if that
    /// happened.
    ///
    /// As in Pekko, the node is done at that point: its last gossip and the `ExitingConfirmed`
    /// to the two leader candidates are queued, and the leader removes the confirmed Exiting
    /// member on its own without hearing from this node again. The caller may shut remoting
    /// down right away (its flush delivers what is queued).
    pub async fn leave_gracefully(&self, timeout: Duration) -> bool {
        if self.self_member().is_none() {
            return true;
        }
        self.leave(&self.inner.self_node.address.clone());
        tokio::time::timeout(timeout, self.terminated())
            .await
            .is_ok()
    }

    /// Stops the cluster extension's endpoints (remoting keeps running).
    pub fn stop(&self) {
        for p in [CORE_DAEMON, HEARTBEAT_RECEIVER, HEARTBEAT_SENDER] {
            self.inner.remote.unregister(p);
        }
        if !*self.inner.stopped.borrow() {
            let mut st = self.inner.state.lock();
            self.inner.publish_self_removed(&mut st);
        }
        self.inner.stopped.send_replace(true);
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Inner {
    fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    fn register_endpoints(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        self.remote.register(
            CORE_DAEMON,
            Arc::new(move |_: &RemoteNode, d: Delivery| {
                if let Some(inner) = weak.upgrade() {
                    inner.on_core_message(d);
                }
            }),
        );
        let weak = Arc::downgrade(self);
        self.remote.register(
            HEARTBEAT_RECEIVER,
            Arc::new(move |_: &RemoteNode, d: Delivery| {
                if let Some(inner) = weak.upgrade() {
                    inner.on_heartbeat(d);
                }
            }),
        );
        let weak = Arc::downgrade(self);
        self.remote.register(
            HEARTBEAT_SENDER,
            Arc::new(move |_: &RemoteNode, d: Delivery| {
                if let Some(inner) = weak.upgrade() {
                    inner.on_heartbeat_rsp(d);
                }
            }),
        );
    }

    fn decode(&self, d: &Delivery) -> Option<ClusterMessage> {
        if d.message.serializer_id != CLUSTER_SERIALIZER {
            tracing::warn!(
                "Cluster Node [{}] - dropping message to [{}] from [{}]: serializer {} is not the cluster serializer",
                self.self_node.address,
                d.recipient,
                d.origin.address,
                d.message.serializer_id
            );
            return None;
        }
        match ClusterMessage::from_binary(&d.message.manifest, &d.message.payload) {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::warn!(
                    "Cluster Node [{}] - dropping malformed cluster message to [{}] from [{}]: {e}",
                    self.self_node.address,
                    d.recipient,
                    d.origin.address
                );
                None
            }
        }
    }

    /// Runs `f` on the locked state, then sends its output and processes new events.
    fn with_state(self: &Arc<Self>, f: impl FnOnce(&Inner, &mut State) -> Vec<Outgoing>) {
        let mut guard = self.state.lock();
        let st = &mut *guard;
        let out = f(self, st);
        self.send_all(out);
        self.after(st);
    }

    fn on_core_message(self: &Arc<Self>, d: Delivery) {
        let Some(msg) = self.decode(&d) else {
            return;
        };
        tracing::debug!(
            "Cluster Node [{}] - received {} from [{}]",
            self.self_node.address,
            msg.manifest(),
            d.origin.address
        );
        let sender = from_wire_address(&d.origin.address);
        if let (ClusterMessage::InitJoin { .. }, Some(reply_to)) = (&msg, d.sender.as_deref()) {
            // InitJoinAck/Nack go back to the sender: the joiner's seed-node process actor.
            let mut guard = self.state.lock();
            let st = &mut *guard;
            for o in st.core.receive(&sender, msg, now_ms()) {
                self.send_to_path(reply_to, &o.message);
            }
            self.after(st);
            return;
        }
        self.with_state(|inner, st| match msg {
            ClusterMessage::InitJoinAck { ref address, .. } => {
                let address = address.clone();
                match st.seed.as_mut() {
                    Some(seed) => {
                        let actions = seed.on_ack(&address);
                        st.pending_ack = Some((address, msg));
                        inner.seed_actions(st, actions)
                    }
                    None => st.core.receive(&sender, msg, now_ms()),
                }
            }
            ClusterMessage::InitJoinNack(address) => match st.seed.as_mut() {
                Some(seed) => {
                    let actions = seed.on_nack(&address);
                    inner.seed_actions(st, actions)
                }
                None => Vec::new(),
            },
            ClusterMessage::Heartbeat(_) | ClusterMessage::HeartbeatRsp(_) => Vec::new(),
            other => st.core.receive(&sender, other, now_ms()),
        });
    }

    fn on_heartbeat(&self, d: Delivery) {
        let Some(ClusterMessage::Heartbeat(h)) = self.decode(&d) else {
            return;
        };
        let rsp = ClusterMessage::HeartbeatRsp(HeartbeatRsp {
            from: self.self_node.clone(),
            sequence_nr: h.sequence_nr,
            creation_time: h.creation_time,
        });
        let to = d
            .sender
            .clone()
            .unwrap_or_else(|| format!("{}{}", d.origin.address, HEARTBEAT_SENDER));
        let from = format!("{}{}", self.remote.address(), HEARTBEAT_RECEIVER);
        // A PriorityMessage on the JVM: the control stream.
        if let Err(e) = self.remote.tell_priority(&to, Some(&from), serialize(&rsp)) {
            tracing::debug!("heartbeat response to {to} failed: {e}");
        }
    }

    fn on_heartbeat_rsp(&self, d: Delivery) {
        let Some(ClusterMessage::HeartbeatRsp(rsp)) = self.decode(&d) else {
            return;
        };
        self.state.lock().hb.on_response(&rsp, Instant::now());
    }

    fn start_seed_process(&self, st: &mut State) -> Vec<Outgoing> {
        if st.core.status() != &CoreStatus::Uninitialized {
            return Vec::new();
        }
        let (p, actions) = SeedNodeProcess::start(
            &self.self_node.address,
            &st.seeds,
            self.settings.seed_node_timeout,
            self.uptime(),
        );
        st.seed = p;
        self.seed_actions(st, actions)
    }

    fn seed_actions(&self, st: &mut State, actions: Vec<SeedAction>) -> Vec<Outgoing> {
        let mut out = Vec::new();
        for a in actions {
            match a {
                SeedAction::SendInitJoin(seeds) => match st.core.init_join() {
                    Ok(msg) => out.extend(seeds.into_iter().map(|s| Outgoing {
                        to: Destination::Address(s),
                        message: msg.clone(),
                    })),
                    Err(e) => tracing::error!(
                        "Cluster Node [{}] - cannot build InitJoin: {e}",
                        self.self_node.address
                    ),
                },
                SeedAction::JoinSelf => {
                    st.join_started = Some(self.uptime());
                    out.extend(st.core.join(&self.self_node.address, now_ms()));
                }
                SeedAction::AcceptAck(address) => {
                    if let Some((a, msg)) = st.pending_ack.take() {
                        if a == address {
                            st.join_started = Some(self.uptime());
                            let me = self.self_node.address.clone();
                            out.extend(st.core.receive(&me, msg, now_ms()));
                        }
                    }
                }
            }
        }
        out
    }

    fn send_all(&self, out: Vec<Outgoing>) {
        for o in out {
            let address = match &o.to {
                Destination::Address(a) => a,
                Destination::Node(u) => &u.address,
            };
            if address == &self.self_node.address {
                continue;
            }
            tracing::debug!(
                "Cluster Node [{}] - sending {} to [{address}]",
                self.self_node.address,
                o.message.manifest()
            );
            self.send_selection(address, CORE_DAEMON, CORE_DAEMON, &o.message, false);
        }
    }

    /// Sends `msg` directly to the actor at the full path `to`, with the core daemon as sender.
    fn send_to_path(&self, to: &str, msg: &ClusterMessage) {
        let from = format!("{}{}", self.remote.address(), CORE_DAEMON);
        if let Err(e) = self.remote.tell(to, Some(&from), serialize(msg)) {
            tracing::debug!(
                "Cluster Node [{}] - sending {} to [{to}] failed: {e}",
                self.self_node.address,
                msg.manifest()
            );
        }
    }

    /// Sends `msg` as an actor selection to `path` on `address`, with the local `from` path
    /// as sender; `priority` sends it on the control stream (the JVM's `PriorityMessage`:
    /// `Heartbeat` and `HeartbeatRsp`).
    fn send_selection(
        &self,
        address: &Address,
        path: &str,
        from: &str,
        msg: &ClusterMessage,
        priority: bool,
    ) {
        let inner = serialize(msg);
        let sel = SelectionEnvelope::new(
            Payload::new(inner.serializer_id, &inner.manifest, inner.payload),
            path,
        );
        let wire = to_wire_address(address);
        let root = wire.root_path();
        let sender = format!("{}{}", self.remote.address(), from);
        let m = SerializedMessage {
            serializer_id: serializers::MESSAGE_CONTAINER,
            manifest: String::new(),
            payload: sel.encode(),
        };
        let sent = if priority {
            self.remote.tell_priority(&root, Some(&sender), m)
        } else {
            self.remote.tell(&root, Some(&sender), m)
        };
        if let Err(e) = sent {
            tracing::debug!(
                "Cluster Node [{}] - sending {} to [{address}] failed: {e}",
                self.self_node.address,
                msg.manifest()
            );
        }
    }

    /// Processes the events the core produced: heartbeat ring, SBR, subscribers, exit.
    fn after(&self, st: &mut State) {
        loop {
            let events = st.core.take_events();
            if events.is_empty() {
                break;
            }
            let now = Instant::now();
            let mut actions: Vec<SbrAction> = Vec::new();
            for e in &events {
                log_event(&self.self_node.address, e);
                match e {
                    ClusterEvent::MemberJoined(m)
                    | ClusterEvent::MemberWeaklyUp(m)
                    | ClusterEvent::MemberUp(m)
                        if m.unique_address != self.self_node =>
                    {
                        st.hb.add_member(m.unique_address.clone(), now);
                    }
                    ClusterEvent::MemberRemoved { member, .. } => {
                        st.hb.remove_member(&member.unique_address, now);
                    }
                    ClusterEvent::UnreachableMember(m) => {
                        st.hb.set_unreachable(&m.unique_address, true, now)
                    }
                    ClusterEvent::ReachableMember(m) => {
                        st.hb.set_unreachable(&m.unique_address, false, now)
                    }
                    _ => {}
                }
                if let Some(sbr) = st.sbr.as_mut() {
                    if let Some(ev) = SbrEvent::from_cluster_event(e) {
                        actions.extend(sbr.on_event(ev, self.uptime()));
                    }
                }
                let _ = self.events.send(e.clone());
                self.track_self(st, e);
            }
            // Members seen in a gossip without an event of their own (e.g. the Welcome).
            let known: Vec<UniqueAddress> = st.hb.ring().nodes().to_vec();
            let missing: Vec<UniqueAddress> = st
                .core
                .gossip()
                .members
                .keys()
                .filter(|m| !known.contains(m))
                .cloned()
                .collect();
            for m in missing {
                st.hb.add_member(m, now);
            }
            for a in actions {
                self.execute_sbr(st, a);
            }
        }
        if st.core.in_exit_phase() && !st.exiting_done {
            st.exiting_done = true;
            let out = st.core.exiting_completed();
            self.send_all(out);
        }
        if st.core.status() == &CoreStatus::Stopped && !*self.stopped.borrow() {
            tracing::info!(
                "Cluster Node [{}] - Cluster node terminated",
                self.self_node.address
            );
            self.publish_self_removed(st);
            self.stopped.send_replace(true);
        }
    }

    /// Remembers this node's own status and publishes `SelfUp` after its own `MemberUp`.
    fn track_self(&self, st: &mut State, e: &ClusterEvent) {
        match e {
            ClusterEvent::MemberJoined(m)
            | ClusterEvent::MemberWeaklyUp(m)
            | ClusterEvent::MemberUp(m)
            | ClusterEvent::MemberLeft(m)
            | ClusterEvent::MemberExited(m)
            | ClusterEvent::MemberDowned(m)
            | ClusterEvent::MemberPreparingForShutdown(m)
            | ClusterEvent::MemberReadyForShutdown(m)
                if m.unique_address == self.self_node =>
            {
                st.self_status = Some(m.status);
                if m.status == MemberStatus::Up {
                    let _ = self.events.send(ClusterEvent::SelfUp(m.clone()));
                }
            }
            _ => {}
        }
    }

    /// Publishes `SelfRemoved` once, if this node was a member.
    fn publish_self_removed(&self, st: &mut State) {
        if let Some(previous_status) = st.self_status.take() {
            let _ = self
                .events
                .send(ClusterEvent::SelfRemoved { previous_status });
        }
    }

    fn execute_sbr(&self, st: &mut State, action: SbrAction) {
        for n in action.down {
            let out = st.core.down(&n.address);
            self.send_all(out);
        }
    }

    fn tick(self: &Arc<Self>, which: Tick) {
        let mut speedup = false;
        self.with_state(|inner, st| {
            let now = Instant::now();
            match which {
                Tick::Gossip => {
                    let out = st.core.gossip_tick();
                    speedup = st.core.is_gossip_speedup_needed();
                    out
                }
                Tick::GossipSpeedup => st.core.gossip_speedup_tick(),
                Tick::LeaderActions => st.core.leader_actions_tick(now_ms()),
                Tick::Heartbeat => {
                    if st.core.status() != &CoreStatus::Initialized {
                        return Vec::new();
                    }
                    let nanos = inner.started.elapsed().as_nanos() as i64;
                    let (hb, receivers) = st.hb.tick(&inner.self_node.address, nanos, now);
                    let msg = ClusterMessage::Heartbeat(hb);
                    for r in receivers {
                        inner.send_selection(
                            &r.address,
                            HEARTBEAT_RECEIVER,
                            HEARTBEAT_SENDER,
                            &msg,
                            true,
                        );
                    }
                    Vec::new()
                }
                Tick::Reaper => {
                    st.hb.fire_expected_first(now);
                    let hb = &st.hb;
                    st.core
                        .reap_unreachable(|n| hb.is_available(&n.address, now));
                    Vec::new()
                }
                Tick::Second => {
                    let up = inner.uptime();
                    let mut out = Vec::new();
                    if let Some(seed) = st.seed.as_mut() {
                        let actions = seed.tick(up);
                        out.extend(inner.seed_actions(st, actions));
                    }
                    if let (CoreStatus::TryingToJoin(_), Some(t0), Some(retry)) = (
                        st.core.status(),
                        st.join_started,
                        inner
                            .settings
                            .retry_unsuccessful_join_after
                            .resolve(Duration::from_secs(10)),
                    ) {
                        if up.saturating_sub(t0) >= retry && !st.seeds.is_empty() {
                            tracing::warn!(
                                "Cluster Node [{}] - Couldn't join seed nodes after [{}] ms; retrying",
                                inner.self_node.address,
                                retry.as_millis()
                            );
                            st.core.join_timed_out();
                            out.extend(inner.start_seed_process(st));
                        }
                    }
                    if let Some(a) = st.sbr.as_mut().and_then(|s| s.tick(up)) {
                        inner.execute_sbr(st, a);
                    }
                    out
                }
                Tick::QuarantinedByRemote => {
                    let up = inner.uptime();
                    if let Some(a) = st
                        .sbr
                        .as_mut()
                        .and_then(|s| s.on_event(SbrEvent::ThisNodeQuarantinedByRemote, up))
                    {
                        inner.execute_sbr(st, a);
                    }
                    Vec::new()
                }
            }
        });
        if speedup {
            self.schedule_gossip_speedup();
        }
    }

    /// Two extra gossip rounds at 1/3 and 2/3 of the gossip interval (Pekko's
    /// `GossipSpeedupTick`s).
    fn schedule_gossip_speedup(self: &Arc<Self>) {
        let third = self.settings.gossip_interval / 3;
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            for _ in 0..2 {
                tokio::time::sleep(third).await;
                let Some(inner) = weak.upgrade() else {
                    return;
                };
                if *inner.stopped.borrow() {
                    return;
                }
                inner.tick(Tick::GossipSpeedup);
            }
        });
    }
}

fn serialize(msg: &ClusterMessage) -> SerializedMessage {
    SerializedMessage {
        serializer_id: CLUSTER_SERIALIZER,
        manifest: msg.manifest().to_string(),
        payload: Bytes::from(msg.to_binary()),
    }
}

fn log_event(me: &Address, e: &ClusterEvent) {
    match e {
        ClusterEvent::MemberUp(m) if &m.unique_address.address == me => {
            tracing::info!("Cluster Node [{me}] - Welcome: this node is Up (SelfUp)")
        }
        ClusterEvent::MemberRemoved { member, .. } if &member.unique_address.address == me => {
            tracing::info!("Cluster Node [{me}] - This node was removed (SelfRemoved)")
        }
        ClusterEvent::MemberUp(m) => {
            tracing::info!(
                "Cluster Node [{me}] - Member is Up: [{}]",
                m.unique_address.address
            )
        }
        ClusterEvent::MemberRemoved { member, .. } => tracing::info!(
            "Cluster Node [{me}] - Member removed: [{}]",
            member.unique_address.address
        ),
        ClusterEvent::LeaderChanged(l) => tracing::info!(
            "Cluster Node [{me}] - is the new leader among reachable nodes: {}",
            l.as_ref()
                .map(|a| a.to_string())
                .unwrap_or_else(|| "none".into())
        ),
        ClusterEvent::SeenChanged(_) | ClusterEvent::ReachabilityChanged(_) => {}
        other => tracing::debug!("Cluster Node [{me}] - {other:?}"),
    }
}

#[derive(Clone, Copy, Debug)]
enum Tick {
    Gossip,
    GossipSpeedup,
    LeaderActions,
    Heartbeat,
    Reaper,
    Second,
    QuarantinedByRemote,
}

async fn run_timers(
    weak: std::sync::Weak<Inner>,
    mut remote_events: broadcast::Receiver<RemoteEvent>,
) {
    let (gi, li, hi, ri) = match weak.upgrade() {
        Some(i) => (
            i.settings.gossip_interval,
            i.settings.leader_actions_interval,
            i.settings.failure_detector.heartbeat_interval,
            i.settings.unreachable_nodes_reaper_interval,
        ),
        None => return,
    };
    let iv = |d: Duration| {
        let mut i = tokio::time::interval(d.max(Duration::from_millis(10)));
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        i
    };
    let (mut g, mut l, mut h, mut r, mut s) =
        (iv(gi), iv(li), iv(hi), iv(ri), iv(Duration::from_secs(1)));
    loop {
        let which = tokio::select! {
            _ = g.tick() => Tick::Gossip,
            _ = l.tick() => Tick::LeaderActions,
            _ = h.tick() => Tick::Heartbeat,
            _ = r.tick() => Tick::Reaper,
            _ = s.tick() => Tick::Second,
            ev = remote_events.recv() => match ev {
                Ok(RemoteEvent::QuarantinedByPeer(_)) => Tick::QuarantinedByRemote,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            },
        };
        let Some(inner) = weak.upgrade() else {
            return;
        };
        if *inner.stopped.borrow() {
            return;
        }
        inner.tick(which);
    }
}
