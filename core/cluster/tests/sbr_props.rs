//! Laws of the downing strategies and of gossip merge, checked on generated inputs.

use std::collections::BTreeSet;

use proptest::prelude::*;
use rekko_cluster::sbr::{Decision, SbrView, Strategy as Downing};
use rekko_cluster::{
    Address, Gossip, Member, MemberStatus, MembershipState, UniqueAddress, VcOrdering,
};

fn node(i: usize) -> UniqueAddress {
    UniqueAddress::new(
        Address::new("Sys", format!("10.0.0.{i}"), 2552),
        i as i64 * 7919,
    )
}

/// The view from a node of `side` when the cluster of `n` Up members (upNumbers from `ages`)
/// is cut into `side` and the rest.
fn view(n: usize, ages: &[i32], side: &BTreeSet<usize>, me: usize) -> SbrView {
    let members = (0..n).map(|i| Member {
        up_number: ages[i],
        ..Member::joining(node(i), Vec::<String>::new(), "1").with_status(MemberStatus::Up)
    });
    let mut g = Gossip::with_members(members);
    for i in (0..n).filter(|i| !side.contains(i)) {
        g.reachability = g.reachability.unreachable(&node(me), &node(i));
    }
    g = g.seen_by(&node(me));
    SbrView::from_membership(&MembershipState::new(g, node(me), "default"))
}

fn keeps_itself(d: Decision) -> bool {
    d == Decision::DownUnreachable
}

fn partition() -> impl Strategy<Value = (usize, Vec<i32>, BTreeSet<usize>)> {
    (2usize..10).prop_flat_map(|n| {
        (
            Just(n),
            Just((1..=n as i32).collect::<Vec<_>>()).prop_shuffle(),
            prop::collection::btree_set(0..n, 1..n),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn keep_majority_keeps_exactly_one_side((n, ages, side) in partition()) {
        let other: BTreeSet<usize> = (0..n).filter(|i| !side.contains(i)).collect();
        let s = Downing::KeepMajority { role: None };
        let a = view(n, &ages, &side, *side.iter().next().unwrap()).decide(&s);
        let b = view(n, &ages, &other, *other.iter().next().unwrap()).decide(&s);
        prop_assert!(keeps_itself(a) != keeps_itself(b), "{a:?} / {b:?}");
        let bigger = if side.len() > other.len() { Some(keeps_itself(a)) } else if other.len() > side.len() { Some(keeps_itself(b)) } else { None };
        prop_assert!(bigger.unwrap_or(true), "the majority survives");
    }

    #[test]
    fn keep_oldest_keeps_exactly_one_side((n, ages, side) in partition(), alone in any::<bool>()) {
        let other: BTreeSet<usize> = (0..n).filter(|i| !side.contains(i)).collect();
        let s = Downing::KeepOldest { down_if_alone: alone, role: None };
        let a = view(n, &ages, &side, *side.iter().next().unwrap()).decide(&s);
        let b = view(n, &ages, &other, *other.iter().next().unwrap()).decide(&s);
        prop_assert!(keeps_itself(a) != keeps_itself(b), "{a:?} / {b:?}");
    }

    #[test]
    fn static_quorum_never_keeps_both_sides((n, ages, side) in partition()) {
        let other: BTreeSet<usize> = (0..n).filter(|i| !side.contains(i)).collect();
        let s = Downing::StaticQuorum { quorum_size: n / 2 + 1, role: None };
        let a = view(n, &ages, &side, *side.iter().next().unwrap()).decide(&s);
        let b = view(n, &ages, &other, *other.iter().next().unwrap()).decide(&s);
        prop_assert!(!(keeps_itself(a) && keeps_itself(b)), "{a:?} / {b:?}");
    }

    #[test]
    fn nodes_to_down_are_one_side((n, ages, side) in partition()) {
        let me = *side.iter().next().unwrap();
        let v = view(n, &ages, &side, me);
        let s = Downing::KeepMajority { role: None };
        let d = v.decide(&s);
        let down = v.nodes_to_down(&s, d);
        let side_nodes: BTreeSet<UniqueAddress> = side.iter().map(|i| node(*i)).collect();
        let other_nodes: BTreeSet<UniqueAddress> = (0..n).filter(|i| !side.contains(i)).map(node).collect();
        prop_assert!(down == side_nodes || down == other_nodes);
    }

    #[test]
    fn merged_gossip_dominates_both_and_keeps_invariants(
        n in 2usize..6,
        a_ops in prop::collection::vec((0usize..6, 0u8..4), 0..8),
        b_ops in prop::collection::vec((0usize..6, 0u8..4), 0..8),
    ) {
        let base = Gossip::with_members((0..n).map(|i| {
            Member::joining(node(i), Vec::<String>::new(), "1").with_status(MemberStatus::Up)
        }));
        let apply = |mut g: Gossip, ops: &[(usize, u8)], by: usize| {
            for (i, op) in ops {
                let target = node(i % n);
                if let Some(m) = g.member(&target).cloned() {
                    g = match op {
                        0 => g.update_member(m.with_status(MemberStatus::Leaving)),
                        1 => g.update_member(m.with_status(MemberStatus::Down)),
                        2 => { let mut g2 = g.clone(); g2.reachability = g.reachability.unreachable(&node(by), &target); g2 }
                        _ => g.remove(&target, 1000),
                    };
                }
                g = g.increment(&node(by));
            }
            g
        };
        let a = apply(base.clone(), &a_ops, 0);
        let b = apply(base.clone(), &b_ops, 1);
        let m = a.merge(&b);
        for side in [&a, &b] {
            let mut pruned = side.version.clone();
            for t in m.tombstones.keys() {
                pruned = pruned.prune(&t.vclock_node());
            }
            prop_assert!(matches!(pruned.compare(&m.version), VcOrdering::Before | VcOrdering::Same));
        }
        prop_assert!(m.check_invariants().is_ok(), "{:?}", m.check_invariants());
        for t in m.tombstones.keys() {
            prop_assert!(!m.has_member(t));
        }
        let m2 = b.merge(&a);
        prop_assert_eq!(m.members.keys().collect::<Vec<_>>(), m2.members.keys().collect::<Vec<_>>());
        for (k, v) in &m.members {
            prop_assert_eq!(v.status, m2.members[k].status);
        }
        prop_assert_eq!(m.version.compare(&m2.version), VcOrdering::Same);
    }
}
