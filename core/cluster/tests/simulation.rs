//! Many-node scenarios on virtual time: joining through a seed, graceful leave, and a network
//! partition resolved by keep-majority.

mod sim;

use std::time::Duration;

use rekko_cluster::daemon::CoreStatus;
use rekko_cluster::sbr::Strategy;
use rekko_cluster::{ClusterEvent, MemberStatus};
use sim::Sim;

fn cluster_of(n: usize, seed: u64, sbr: Option<(Strategy, Duration)>) -> Sim {
    let mut sim = Sim::new(n, seed, sbr);
    sim.join(0, 0);
    for i in 1..n {
        sim.join(i, 0);
    }
    let all: Vec<usize> = (0..n).collect();
    let took = sim.run_until(60_000, |s| s.all_up(&all));
    assert!(
        took.is_some(),
        "cluster of {n} did not converge to all Up: {:?}",
        sim.view(0)
    );
    sim
}

#[test]
fn nodes_join_through_a_seed_and_converge_to_all_up() {
    for seed in [1, 2, 3] {
        let sim = cluster_of(7, seed, None);
        // upNumbers are unique and the first node is the oldest
        let g = sim.nodes[3].core.gossip();
        let mut ups: Vec<i32> = g.members.values().map(|m| m.up_number).collect();
        ups.sort();
        ups.dedup();
        assert_eq!(ups.len(), 7);
        assert_eq!(
            sim.nodes[3].core.state().oldest().unwrap().unique_address,
            sim.node_id(0)
        );
        // every node agrees on the leader: the lowest address
        for i in 0..7 {
            assert_eq!(sim.nodes[i].core.state().leader(), Some(sim.node_id(0)));
        }
        assert!(sim.delivered > 0);
        // heartbeats flow along the monitoring ring (every node answers some)
        for i in 0..7 {
            assert!(
                sim.nodes[i].heartbeats_answered > 0,
                "node {i} answered no heartbeat"
            );
        }
    }
}

#[test]
fn nodes_started_together_with_the_same_seed_nodes_form_one_cluster() {
    for seed in [5, 6] {
        let mut sim = Sim::new(5, seed, None);
        // nodes 0, 1, 2 are the seed nodes; all five start at once
        for i in 0..5 {
            sim.join_seed_nodes(i, &[0, 1, 2]);
        }
        let all: Vec<usize> = (0..5).collect();
        let took = sim.run_until(60_000, |s| s.all_up(&all));
        assert!(
            took.is_some(),
            "no single cluster: {:?} / {:?}",
            sim.view(0),
            sim.view(4)
        );
        // the first seed formed it: it is the oldest
        assert_eq!(
            sim.nodes[2].core.state().oldest().unwrap().unique_address,
            sim.node_id(0)
        );
    }
}

#[test]
fn a_node_leaves_gracefully_and_is_removed_everywhere() {
    let mut sim = cluster_of(5, 11, None);
    let leaver = sim.node_id(3);
    sim.leave(3);
    let rest = [0usize, 1, 2, 4];
    let took = sim.run_until(60_000, |s| s.all_up(&rest));
    assert!(took.is_some(), "leaver not removed: {:?}", sim.view(0));
    assert_eq!(*sim.nodes[3].core.status(), CoreStatus::Stopped);
    for i in rest {
        let events = &sim.nodes[i].events;
        let pos = |f: &dyn Fn(&ClusterEvent) -> bool| events.iter().position(|(_, e)| f(e));
        let exited =
            pos(&|e| matches!(e, ClusterEvent::MemberExited(m) if m.unique_address == leaver));
        let removed = pos(&|e| {
            matches!(e, ClusterEvent::MemberRemoved { member, previous_status: MemberStatus::Exiting }
                if member.unique_address == leaver)
        });
        // a node may miss the Exiting state when it adopts the removal directly
        if let (Some(x), Some(r)) = (exited, removed) {
            assert!(x < r, "node {i}: Exited after Removed");
        }
        assert!(
            removed.is_some() || !sim.nodes[i].core.gossip().has_member(&leaver),
            "node {i}"
        );
        assert!(
            sim.nodes[i].core.gossip().tombstones.contains_key(&leaver),
            "node {i} has the tombstone"
        );
        let unreachable = events.iter().any(
            |(_, e)| matches!(e, ClusterEvent::UnreachableMember(m) if m.unique_address == leaver),
        );
        assert!(!unreachable, "node {i} saw the leaving node unreachable");
    }
}

#[test]
fn a_leaving_node_confirms_its_exit_and_stops_when_it_sees_itself_exiting() {
    for seed in [12, 13, 14] {
        let mut sim = cluster_of(5, seed, None);
        let leaver = sim.node_id(3);
        sim.leave(3);
        let rest = [0usize, 1, 2, 4];
        let took = sim.run_until(60_000, |s| s.all_up(&rest));
        assert!(took.is_some(), "leaver not removed: {:?}", sim.view(0));
        let node = &sim.nodes[3];
        let saw_exiting = node
            .events
            .iter()
            .find(|(_, e)| matches!(e, ClusterEvent::MemberExited(m) if m.unique_address == leaver))
            .map(|(t, _)| *t)
            .expect("the leaver saw itself Exiting");
        // No waiting for a tick or for the removal: the exit completes in the same step.
        assert_eq!(node.stopped_at, Some(saw_exiting), "seed {seed}");
        // Its last words reached the leader: ExitingConfirmed, sent when it stopped.
        let leader = sim.nodes[0].core.state().leader().expect("a leader");
        let l = (0..5)
            .find(|&i| sim.node_id(i) == leader)
            .expect("leader is a node");
        let confirmed = sim.nodes[l]
            .received
            .iter()
            .find(|(_, from, manifest)| *from == 3 && *manifest == "EC")
            .map(|(t, _, _)| *t)
            .expect("the leader got ExitingConfirmed");
        assert!(confirmed >= saw_exiting);
        // The leader removed it after the confirmation, the leaver being gone already.
        let removed = sim.nodes[l]
            .events
            .iter()
            .find(|(_, e)| {
                matches!(e, ClusterEvent::MemberRemoved { member, previous_status: MemberStatus::Exiting }
                    if member.unique_address == leaver)
            })
            .map(|(t, _)| *t)
            .expect("the leader removed the Exiting node");
        assert!(removed >= confirmed, "seed {seed}");
        for i in rest {
            let unreachable = sim.nodes[i].events.iter().any(
                |(_, e)| matches!(e, ClusterEvent::UnreachableMember(m) if m.unique_address == leaver),
            );
            assert!(!unreachable, "node {i} saw the leaving node unreachable");
        }
    }
}

#[test]
fn partition_three_two_with_keep_majority_downs_the_minority() {
    let strategy = Strategy::KeepMajority { role: None };
    let mut sim = cluster_of(5, 21, Some((strategy, Duration::from_secs(5))));
    let minority = [sim.node_id(3), sim.node_id(4)];
    sim.partition(&[0, 1, 2], &[3, 4]);
    let majority = [0usize, 1, 2];
    let took = sim.run_until(120_000, |s| {
        s.all_up(&majority) && !s.nodes[3].alive && !s.nodes[4].alive
    });
    assert!(
        took.is_some(),
        "majority view {:?}, minority statuses {:?} {:?}",
        sim.view(0),
        sim.nodes[3].core.status(),
        sim.nodes[4].core.status()
    );
    for i in majority {
        for m in &minority {
            assert!(
                sim.nodes[i].core.gossip().tombstones.contains_key(m),
                "node {i} removed {m}"
            );
        }
        let downed = sim.nodes[i]
            .events
            .iter()
            .filter(|(_, e)| matches!(e, ClusterEvent::MemberDowned(m) if minority.contains(&m.unique_address)))
            .count();
        assert_eq!(downed, 2, "node {i} saw both minority nodes downed");
    }
    // the minority downed itself
    for i in [3usize, 4] {
        let self_down = sim.nodes[i]
            .events
            .iter()
            .any(|(_, e)| matches!(e, ClusterEvent::MemberDowned(m) if m.unique_address == sim.node_id(i)));
        assert!(self_down, "node {i} saw itself downed");
    }
}

#[test]
fn the_leader_leaves_and_the_next_leader_removes_it() {
    let mut sim = cluster_of(4, 31, None);
    let old_leader = sim.node_id(0);
    sim.leave(0);
    let rest = [1usize, 2, 3];
    let took = sim.run_until(60_000, |s| s.all_up(&rest));
    assert!(took.is_some(), "old leader not removed: {:?}", sim.view(1));
    for i in rest {
        assert_eq!(sim.nodes[i].core.state().leader(), Some(sim.node_id(1)));
        assert!(sim.nodes[i]
            .core
            .gossip()
            .tombstones
            .contains_key(&old_leader));
    }
}

#[test]
fn a_killed_node_is_downed_by_the_sbr_and_removed() {
    let strategy = Strategy::KeepMajority { role: None };
    let mut sim = cluster_of(5, 41, Some((strategy, Duration::from_secs(5))));
    let victim = sim.node_id(2);
    sim.kill(2);
    let rest = [0usize, 1, 3, 4];
    let took = sim.run_until(120_000, |s| s.all_up(&rest));
    assert!(took.is_some(), "killed node not removed: {:?}", sim.view(0));
    for i in rest {
        let ev = &sim.nodes[i].events;
        let unreachable = ev.iter().position(
            |(_, e)| matches!(e, ClusterEvent::UnreachableMember(m) if m.unique_address == victim),
        );
        let downed = ev.iter().position(
            |(_, e)| matches!(e, ClusterEvent::MemberDowned(m) if m.unique_address == victim),
        );
        let removed = ev.iter().position(|(_, e)| {
            matches!(e, ClusterEvent::MemberRemoved { member, previous_status: MemberStatus::Down }
                if member.unique_address == victim)
        });
        assert!(
            unreachable.is_some() && removed.is_some(),
            "node {i}: {unreachable:?} {removed:?}"
        );
        if let Some(d) = downed {
            assert!(
                unreachable < Some(d) && Some(d) < removed,
                "node {i}: order of events"
            );
        }
    }
}

#[test]
fn a_full_cluster_shutdown_started_by_a_member_makes_every_member_ready_for_shutdown() {
    for (seed, starter) in [(21, 2), (22, 0)] {
        let mut sim = cluster_of(4, seed, None);
        let all = [0, 1, 2, 3];
        sim.prepare_for_full_cluster_shutdown(starter);
        assert!(sim.nodes[starter].core.is_preparing_for_shutdown());
        // The starter marks every Up member at once, in its own view.
        assert!(sim
            .view(starter)
            .values()
            .all(|s| *s == MemberStatus::PreparingForShutdown));
        let took = sim.run_until(30_000, |s| {
            s.all_with_status(&all, MemberStatus::ReadyForShutdown)
        });
        assert!(
            took.is_some(),
            "starter {starter}: not all ReadyForShutdown: {:?}",
            sim.view(1)
        );
        for i in all {
            // Every node saw every member PreparingForShutdown, then ReadyForShutdown.
            for j in all {
                let id = sim.node_id(j);
                let at = |want: MemberStatus| {
                    sim.nodes[i].events.iter().position(|(_, e)| match e {
                        ClusterEvent::MemberPreparingForShutdown(m)
                        | ClusterEvent::MemberReadyForShutdown(m) => {
                            m.unique_address == id && m.status == want
                        }
                        _ => false,
                    })
                };
                let (preparing, ready) = (
                    at(MemberStatus::PreparingForShutdown),
                    at(MemberStatus::ReadyForShutdown),
                );
                assert!(
                    preparing.is_some() && preparing < ready,
                    "node {i} about member {j}: {preparing:?} {ready:?}"
                );
            }
            // Nothing stops: the nodes are shut down from outside.
            assert_eq!(*sim.nodes[i].core.status(), CoreStatus::Initialized);
        }
        // The state stays: more time changes nothing.
        sim.run_for(5_000);
        assert!(sim.all_with_status(&all, MemberStatus::ReadyForShutdown));
    }
}

#[test]
fn a_node_preparing_for_shutdown_accepts_no_join() {
    let mut sim = Sim::new(4, 31, None);
    sim.join(0, 0);
    sim.join(1, 0);
    sim.join(2, 0);
    assert!(sim.run_until(30_000, |s| s.all_up(&[0, 1, 2])).is_some());
    sim.prepare_for_full_cluster_shutdown(0);
    sim.join(3, 0);
    assert!(sim
        .run_until(30_000, |s| s
            .all_with_status(&[0, 1, 2], MemberStatus::ReadyForShutdown))
        .is_some());
    sim.run_for(3_000);
    assert!(
        !sim.nodes[0].core.gossip().has_member(&sim.node_id(3)),
        "joined during the shutdown: {:?}",
        sim.view(0)
    );
    assert!(sim.nodes[3].core.self_member().is_none());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(12))]

    /// Whatever the seed (latencies, uids, tick phases) and size, joining converges to all Up
    /// with unique upNumbers and one leader.
    #[test]
    fn joining_converges_for_any_seed(seed in 0u64..1_000_000, n in 2usize..9) {
        let sim = cluster_of(n, seed, None);
        let leaders: std::collections::BTreeSet<_> = (0..n).map(|i| sim.nodes[i].core.state().leader()).collect();
        proptest::prop_assert_eq!(leaders.len(), 1);
        let ups: std::collections::BTreeSet<i32> = sim.nodes[0].core.gossip().members.values().map(|m| m.up_number).collect();
        proptest::prop_assert_eq!(ups.len(), n);
    }
}
