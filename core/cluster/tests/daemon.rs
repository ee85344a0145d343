//! The membership core, sans I/O: message sequences of joining, the configuration check,
//! new incarnations, gossip filtering, leave and down.

use hocon_config::Config;
use rekko_cluster::codec::{ClusterMessage, ConfigCheck, Heartbeat};
use rekko_cluster::daemon::{ClusterCore, CoreSettings, CoreStatus, Destination, Outgoing};
use rekko_cluster::{Address, ClusterEvent, MemberStatus, UniqueAddress};

fn node(port: u16, uid: i64) -> UniqueAddress {
    UniqueAddress::new(Address::new("ClusterSystem", "127.0.0.1", port), uid)
}

fn core(port: u16, uid: i64) -> ClusterCore {
    ClusterCore::new(node(port, uid), CoreSettings::default(), uid as u64)
}

fn one(out: Vec<Outgoing>) -> Outgoing {
    assert_eq!(out.len(), 1, "{out:?}");
    out.into_iter().next().unwrap()
}

/// Passes a message through the codec, as the wire would.
fn wire(m: ClusterMessage) -> ClusterMessage {
    ClusterMessage::from_binary(m.manifest(), &m.to_binary()).unwrap()
}

#[test]
fn first_node_joins_itself_and_is_up_with_up_number_1() {
    let mut a = core(2551, 1);
    assert!(a.join(&node(2551, 1).address, 0).is_empty());
    assert_eq!(*a.status(), CoreStatus::Initialized);
    let me = a.self_member().unwrap();
    assert_eq!((me.status, me.up_number), (MemberStatus::Up, 1));
    assert!(me.has_role("dc-default"));
    let events = a.take_events();
    assert!(events
        .iter()
        .any(|e| matches!(e, ClusterEvent::MemberUp(_))));
    assert!(events
        .iter()
        .any(|e| matches!(e, ClusterEvent::LeaderChanged(Some(_)))));
}

#[test]
fn join_welcome_gossip_and_promotion_to_up() {
    let mut a = core(2551, 1);
    a.join(&node(2551, 1).address, 0);
    let mut b = core(2552, 2);
    let join = one(b.join(&node(2551, 1).address, 0));
    assert_eq!(join.to, Destination::Address(node(2551, 1).address));
    assert!(matches!(*b.status(), CoreStatus::TryingToJoin(_)));

    let welcome = one(a.receive(&node(2552, 2).address, wire(join.message), 10));
    assert_eq!(welcome.to, Destination::Node(node(2552, 2)));
    let ClusterMessage::Welcome { gossip, .. } = &welcome.message else {
        panic!("expected Welcome, got {welcome:?}")
    };
    assert_eq!(
        gossip.member(&node(2552, 2)).unwrap().status,
        MemberStatus::Joining
    );
    assert_eq!(gossip.seen, [node(2551, 1)].into_iter().collect());

    let back = one(b.receive(&node(2551, 1).address, wire(welcome.message), 20));
    assert_eq!(*b.status(), CoreStatus::Initialized);
    assert!(matches!(
        back.message,
        ClusterMessage::GossipEnvelope { .. }
    ));
    // A learns that B has seen its version: convergence, B moves Up
    assert!(
        a.receive(&node(2552, 2).address, wire(back.message), 30)
            .is_empty(),
        "same version, B has seen it"
    );
    assert_eq!(a.gossip().seen.len(), 2);
    a.leader_actions_tick(1000);
    let bm = a.gossip().member(&node(2552, 2)).unwrap();
    assert_eq!((bm.status, bm.up_number), (MemberStatus::Up, 2));
    // the next gossip round carries it to B
    let round = a.gossip_tick();
    let env = one(round);
    let reply = b.receive(&node(2551, 1).address, wire(env.message), 1010);
    assert_eq!(b.self_member().unwrap().status, MemberStatus::Up);
    assert_eq!(reply.len(), 1, "B talks back after adopting newer gossip");
}

#[test]
fn init_join_is_nacked_before_membership_and_checked_after() {
    let own = Config::parse_string(
        r#"pekko.cluster { downing-provider-class = "org.apache.pekko.cluster.sbr.SplitBrainResolverProvider", sharding.state-store-mode = ddata }"#,
    )
    .unwrap();
    let mut a = core(2551, 1).with_join_config(own.clone(), true);
    let joiner = core(2552, 2).with_join_config(own.clone(), true);
    let init = joiner.init_join().unwrap();
    let out = one(a.receive(&node(2552, 2).address, wire(init.clone()), 0));
    assert_eq!(
        out.message,
        ClusterMessage::InitJoinNack(node(2551, 1).address)
    );

    a.join(&node(2551, 1).address, 0);
    let out = one(a.receive(&node(2552, 2).address, wire(init), 0));
    let ClusterMessage::InitJoinAck {
        config_check: ConfigCheck::Compatible(reply),
        ..
    } = &out.message
    else {
        panic!("expected a compatible ack: {out:?}")
    };
    assert!(reply.contains("SplitBrainResolverProvider"));

    let other = core(2553, 3).with_join_config(
        Config::parse_string(r#"pekko.cluster.downing-provider-class = """#).unwrap(),
        true,
    );
    let out = one(a.receive(&node(2553, 3).address, wire(other.init_join().unwrap()), 0));
    assert!(matches!(
        out.message,
        ClusterMessage::InitJoinAck {
            config_check: ConfigCheck::Incompatible,
            ..
        }
    ));
    // an enforcing joiner refuses an incompatible seed
    let mut other = other;
    let refused = other.receive(
        &node(2551, 1).address,
        ClusterMessage::InitJoinAck {
            address: node(2551, 1).address,
            config_check: ConfigCheck::Incompatible,
        },
        0,
    );
    assert!(refused.is_empty());
    // ... and shuts down, as the JVM's CoordinatedShutdown does
    assert_eq!(*other.status(), CoreStatus::Stopped);
}

fn two_node_cluster() -> (ClusterCore, ClusterCore) {
    let mut a = core(2551, 1);
    a.join(&node(2551, 1).address, 0);
    let mut b = core(2552, 2);
    let join = one(b.join(&node(2551, 1).address, 0));
    let welcome = one(a.receive(&node(2552, 2).address, join.message, 0));
    let back = one(b.receive(&node(2551, 1).address, welcome.message, 0));
    a.receive(&node(2552, 2).address, back.message, 0);
    a.leader_actions_tick(1000);
    (a, b)
}

#[test]
fn new_incarnation_downs_the_old_one_first() {
    let (mut a, _b) = two_node_cluster();
    let mut b2 = core(2552, 22);
    let join = one(b2.join(&node(2551, 1).address, 0));
    let out = a.receive(&node(2552, 22).address, join.message, 2000);
    assert!(out
        .iter()
        .all(|o| !matches!(o.message, ClusterMessage::Welcome { .. })));
    assert_eq!(
        a.gossip().member(&node(2552, 2)).unwrap().status,
        MemberStatus::Down
    );
    assert!(!a.gossip().has_member(&node(2552, 22)));
    assert!(
        !a.gossip().reachability.is_reachable(&node(2552, 2)),
        "old incarnation marked terminated"
    );
}

#[test]
fn gossip_for_another_incarnation_or_from_non_members_is_ignored() {
    let (mut a, b) = two_node_cluster();
    let before = a.gossip().clone();
    let mut g = b.gossip().clone();
    g = g.increment(&node(2552, 2));
    let wrong_to = ClusterMessage::GossipEnvelope {
        from: node(2552, 2),
        to: node(2551, 99),
        gossip: g.clone(),
    };
    assert!(a.receive(&node(2552, 2).address, wrong_to, 0).is_empty());
    let stranger = ClusterMessage::GossipEnvelope {
        from: node(2559, 9),
        to: node(2551, 1),
        gossip: g,
    };
    assert!(a.receive(&node(2559, 9).address, stranger, 0).is_empty());
    assert_eq!(a.gossip(), &before);
}

#[test]
fn leave_and_down_messages() {
    let (mut a, _b) = two_node_cluster();
    a.receive(
        &node(2552, 2).address,
        ClusterMessage::Leave(node(2552, 2).address),
        0,
    );
    assert_eq!(
        a.gossip().member(&node(2552, 2)).unwrap().status,
        MemberStatus::Leaving
    );
    let out = a.receive(
        &node(2552, 2).address,
        ClusterMessage::Down(node(2552, 2).address),
        0,
    );
    assert_eq!(
        a.gossip().member(&node(2552, 2)).unwrap().status,
        MemberStatus::Down
    );
    assert_eq!(
        one(out).to,
        Destination::Node(node(2552, 2)),
        "the downed node is told directly"
    );
    // unknown addresses are ignored
    assert!(a
        .receive(
            &node(2552, 2).address,
            ClusterMessage::Down(node(2600, 0).address),
            0
        )
        .is_empty());
}

#[test]
fn heartbeat_is_answered_with_the_exact_unique_address() {
    let mut a = core(2551, -7);
    let out = one(a.receive(
        &node(2552, 2).address,
        ClusterMessage::Heartbeat(Heartbeat {
            from: node(2552, 2).address,
            sequence_nr: 5,
            creation_time: 123,
        }),
        0,
    ));
    let ClusterMessage::HeartbeatRsp(rsp) = out.message else {
        panic!()
    };
    assert_eq!(
        (rsp.from, rsp.sequence_nr, rsp.creation_time),
        (node(2551, -7), 5, 123)
    );
}

#[test]
fn join_from_another_actor_system_is_ignored() {
    let mut a = core(2551, 1);
    a.join(&node(2551, 1).address, 0);
    let stranger = UniqueAddress::new(Address::new("OtherSystem", "127.0.0.1", 2552), 5);
    let mut s = ClusterCore::new(stranger.clone(), CoreSettings::default(), 5);
    let join = one(s.join(&node(2551, 1).address, 0));
    assert!(a.receive(&stranger.address, join.message, 0).is_empty());
    assert!(!a.gossip().has_member(&stranger));
}

#[test]
fn gossip_speeds_up_while_fewer_than_half_have_seen_the_latest_gossip() {
    // A one-node cluster: its own seen entry is at least half of one member.
    let mut a = core(2551, 1);
    a.join(&node(2551, 1).address, 0);
    assert!(!a.is_gossip_speedup_needed());
    // B, C and D join: A's gossip is seen by A only, 1 < 4 / 2.
    for (port, uid) in [(2552, 2), (2553, 3), (2554, 4)] {
        let mut j = core(port, uid);
        let join = one(j.join(&node(2551, 1).address, 0));
        a.receive(&node(port, uid).address, wire(join.message), 10);
    }
    assert_eq!(a.gossip().members.len(), 4);
    assert_eq!(a.gossip().seen.len(), 1);
    assert!(a.is_gossip_speedup_needed());
    assert_eq!(
        a.gossip_speedup_tick().len(),
        1,
        "a speedup tick is one more gossip round"
    );
    // A Down member also asks for speedup, whatever the seen set.
    let mut b = core(2552, 2);
    b.join(&node(2552, 2).address, 0);
    let mut c = core(2553, 3);
    let join = one(c.join(&node(2552, 2).address, 0));
    b.receive(&node(2553, 3).address, wire(join.message), 10);
    assert!(!b.is_gossip_speedup_needed(), "1 seen of 2 members is half");
    b.down(&node(2553, 3).address);
    assert!(b.is_gossip_speedup_needed());
}

/// A (leader, Up) and B (Joining in A's view, welcomed).
fn leader_with_a_joining_member() -> (ClusterCore, ClusterCore) {
    let mut a = core(2551, 1);
    a.join(&node(2551, 1).address, 0);
    let mut b = core(2552, 2);
    let join = one(b.join(&node(2551, 1).address, 0));
    let welcome = one(a.receive(&node(2552, 2).address, wire(join.message), 10));
    let back = one(b.receive(&node(2551, 1).address, wire(welcome.message), 20));
    a.receive(&node(2552, 2).address, wire(back.message), 30);
    (a, b)
}

#[test]
fn prepare_for_full_cluster_shutdown_marks_up_members_and_leaves_joining_ones() {
    let (mut a, _b) = leader_with_a_joining_member();
    a.take_events();
    let out = a.prepare_for_full_cluster_shutdown();
    assert!(a.is_preparing_for_shutdown());
    // the new gossip goes out at once (B has not seen it)
    let env = one(out);
    assert_eq!(env.to, Destination::Node(node(2552, 2)));
    let ClusterMessage::GossipEnvelope { gossip, .. } = wire(env.message) else {
        panic!("expected gossip")
    };
    let status = |n: &UniqueAddress| gossip.member(n).map(|m| m.status);
    assert_eq!(
        status(&node(2551, 1)),
        Some(MemberStatus::PreparingForShutdown)
    );
    assert_eq!(status(&node(2552, 2)), Some(MemberStatus::Joining));
    assert!(a.take_events().iter().any(|e| matches!(
        e,
        ClusterEvent::MemberPreparingForShutdown(m) if m.unique_address == node(2551, 1)
    )));
    // a second request changes nothing
    assert!(a.prepare_for_full_cluster_shutdown().is_empty());
    // on convergence the leader moves itself to ReadyForShutdown and B stays Joining
    a.leader_actions_tick(1000);
    let g = a.gossip();
    assert_eq!(
        g.member(&node(2551, 1)).map(|m| m.status),
        Some(MemberStatus::ReadyForShutdown)
    );
    assert_eq!(
        g.member(&node(2552, 2)).map(|m| m.status),
        Some(MemberStatus::Joining)
    );
    assert!(a.take_events().iter().any(|e| matches!(
        e,
        ClusterEvent::MemberReadyForShutdown(m) if m.unique_address == node(2551, 1)
    )));
    // and no later tick moves B Up or WeaklyUp
    for t in 2..20 {
        a.leader_actions_tick(t * 1000);
    }
    assert_eq!(
        a.gossip().member(&node(2552, 2)).map(|m| m.status),
        Some(MemberStatus::Joining)
    );
    assert_eq!(*a.status(), CoreStatus::Initialized);
}

#[test]
fn a_preparing_node_ignores_joins() {
    let mut a = core(2551, 1);
    a.join(&node(2551, 1).address, 0);
    a.prepare_for_full_cluster_shutdown();
    let mut c = core(2553, 3);
    let join = one(c.join(&node(2551, 1).address, 0));
    assert!(a
        .receive(&node(2553, 3).address, wire(join.message), 10)
        .is_empty());
    assert!(!a.gossip().has_member(&node(2553, 3)));
}

#[test]
fn an_up_member_that_sees_a_member_preparing_for_shutdown_prepares_too() {
    let (mut a, mut b) = leader_with_a_joining_member();
    a.leader_actions_tick(1000);
    let env = one(a.gossip_tick());
    b.receive(&node(2551, 1).address, wire(env.message), 1010);
    assert_eq!(b.self_member().unwrap().status, MemberStatus::Up);
    assert!(!b.is_preparing_for_shutdown());
    // A gossip where only A is PreparingForShutdown reaches B (A's marking raced B's Up).
    let g = a.gossip();
    let g = g
        .update_member(
            g.member(&node(2551, 1))
                .unwrap()
                .with_status(MemberStatus::PreparingForShutdown),
        )
        .increment(&node(2551, 1))
        .only_seen(&node(2551, 1));
    b.receive(
        &node(2551, 1).address,
        wire(ClusterMessage::GossipEnvelope {
            from: node(2551, 1),
            to: node(2552, 2),
            gossip: g,
        }),
        2000,
    );
    assert_eq!(b.self_member().unwrap().status, MemberStatus::Up);
    // B's next leader-actions tick detects the full cluster shutdown
    let out = b.leader_actions_tick(2500);
    assert!(b.is_preparing_for_shutdown());
    assert_eq!(
        b.self_member().unwrap().status,
        MemberStatus::PreparingForShutdown
    );
    assert!(!out.is_empty(), "B gossips its change");
}
