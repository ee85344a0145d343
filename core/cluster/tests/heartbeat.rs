//! The monitoring ring and the heartbeat sender with phi accrual detection, on virtual time.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rekko_cluster::codec::HeartbeatRsp;
use rekko_cluster::heartbeat::{
    ring_ordering, FailureDetectorSettings, HeartbeatNodeRing, HeartbeatSender,
};
use rekko_cluster::{Address, UniqueAddress};

fn node(i: u16) -> UniqueAddress {
    // uids spread over the hash space
    UniqueAddress::new(
        Address::new("Sys", "127.0.0.1", 2000 + i),
        (i64::from(i)).wrapping_mul(0x9E37_79B9_7F4A_7C15u64 as i64),
    )
}

#[test]
fn small_rings_heartbeat_everyone() {
    let nodes: Vec<UniqueAddress> = (0..5).map(node).collect();
    let ring = HeartbeatNodeRing::new(node(0), nodes.clone(), [], 9);
    assert_eq!(ring.my_receivers(), nodes[1..].iter().cloned().collect());
}

#[test]
fn each_node_is_monitored_by_k_nodes() {
    let nodes: Vec<UniqueAddress> = (0..20).map(node).collect();
    let ring = HeartbeatNodeRing::new(node(0), nodes.clone(), [], 3);
    let mut monitored_by = std::collections::BTreeMap::<UniqueAddress, usize>::new();
    for n in &nodes {
        let r = ring.receivers(n);
        assert_eq!(r.len(), 3, "{n}");
        assert!(!r.contains(n));
        for x in r {
            *monitored_by.entry(x).or_default() += 1;
        }
    }
    assert!(monitored_by.values().all(|c| *c == 3));
    // receivers are the next three in ring order, wrapping around
    let ordered = ring.nodes().to_vec();
    let mut sorted = nodes.clone();
    sorted.sort_by(ring_ordering);
    assert_eq!(ordered, sorted);
    let last = &ordered[19];
    let expect: BTreeSet<UniqueAddress> = ordered[..3].iter().cloned().collect();
    assert_eq!(ring.receivers(last), expect);
}

#[test]
fn unreachable_nodes_on_the_way_are_included_but_not_counted() {
    let nodes: Vec<UniqueAddress> = (0..10).map(node).collect();
    let mut ordered = nodes.clone();
    ordered.sort_by(ring_ordering);
    let me = ordered[0].clone();
    let ring = HeartbeatNodeRing::new(me.clone(), nodes.clone(), [ordered[1].clone()], 2);
    let expect: BTreeSet<UniqueAddress> = ordered[1..4].iter().cloned().collect();
    assert_eq!(ring.receivers(&me), expect);
    // once k are collected, later unreachable nodes are skipped
    let ring = HeartbeatNodeRing::new(me.clone(), nodes, [ordered[3].clone()], 2);
    let expect: BTreeSet<UniqueAddress> = ordered[1..3].iter().cloned().collect();
    assert_eq!(ring.receivers(&me), expect);
}

#[test]
fn responsive_nodes_stay_available_and_silent_ones_fail() {
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let me = node(0);
    let mut s = HeartbeatSender::new(me.clone(), FailureDetectorSettings::default());
    s.add_member(node(1), at(0));
    s.add_member(node(2), at(0));
    let mut first_failure = None;
    for round in 1..=20u64 {
        let now = at(round * 1000);
        let (hb, receivers) = s.tick(&me.address, (round * 1_000_000_000) as i64, now);
        assert_eq!(hb.sequence_nr, round as i64);
        assert_eq!(receivers.len(), 2);
        // node 1 answers every heartbeat after 10 ms, node 2 never answers
        s.on_response(
            &HeartbeatRsp {
                from: node(1),
                sequence_nr: hb.sequence_nr,
                creation_time: hb.creation_time,
            },
            now + Duration::from_millis(10),
        );
        s.fire_expected_first(now + Duration::from_millis(500));
        assert!(s.is_available(&node(1).address, now + Duration::from_millis(900)));
        if first_failure.is_none()
            && !s.is_available(&node(2).address, now + Duration::from_millis(900))
        {
            first_failure = Some(round);
        }
    }
    // first synthetic heartbeat at ~2 s, then about 4.5-5.5 s of silence
    let failed_at = first_failure.expect("silent node is detected");
    assert!(
        (5..=9).contains(&failed_at),
        "detected after round {failed_at}"
    );
}

#[test]
fn removed_receiver_that_is_unavailable_keeps_being_heartbeated() {
    let t0 = Instant::now();
    let settings = FailureDetectorSettings {
        monitored_by_nr_of_members: 1,
        ..Default::default()
    };
    let mut ordered: Vec<UniqueAddress> = (0..4).map(node).collect();
    ordered.sort_by(ring_ordering);
    let me = ordered[0].clone();
    let target = ordered[1].clone();
    assert!(
        me.ring_hash() + 1 < target.ring_hash(),
        "test needs a gap in the ring"
    );
    let mut s = HeartbeatSender::new(me.clone(), settings);
    for n in &ordered[1..] {
        s.add_member(n.clone(), t0);
    }
    assert_eq!(
        s.ring().my_receivers(),
        [target.clone()].into_iter().collect()
    );
    // heard once, then silent for a long time
    let rsp = HeartbeatRsp {
        from: target.clone(),
        sequence_nr: 1,
        creation_time: 0,
    };
    s.on_response(&rsp, t0);
    let later = t0 + Duration::from_secs(30);
    assert!(!s.is_available(&target.address, later));
    // a node joins between self and the target: the target leaves the ring's receivers but,
    // being unavailable, is still heartbeated so that it can be seen reachable again
    let between = UniqueAddress::new(
        Address::new("Sys", "127.0.0.1", 3999),
        i64::from((me.ring_hash() + 1) as u32),
    );
    s.add_member(between.clone(), later);
    assert_eq!(s.ring().my_receivers(), [between].into_iter().collect());
    assert!(s.active_receivers().contains(&target));
    // once it answers again it is dropped
    s.on_response(&rsp, later);
    assert!(!s.active_receivers().contains(&target));
}
