//! Vector clocks as Pekko's cluster gossip uses them: node hash -> counter.

use std::collections::BTreeMap;

/// Result of comparing two vector clocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VcOrdering {
    /// This clock happened before the other.
    Before,
    /// This clock happened after the other.
    After,
    /// Both are equal.
    Same,
    /// Neither dominates.
    Concurrent,
}

/// A vector clock: sorted map from node hash (see
/// [`UniqueAddress::vclock_node`](crate::UniqueAddress::vclock_node)) to a counter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct VectorClock {
    versions: BTreeMap<String, i64>,
}

impl VectorClock {
    /// The empty clock.
    pub fn new() -> VectorClock {
        VectorClock::default()
    }

    /// Builds a clock from `(node, counter)` pairs.
    pub fn from_entries(entries: impl IntoIterator<Item = (String, i64)>) -> VectorClock {
        VectorClock {
            versions: entries.into_iter().collect(),
        }
    }

    /// The entries in key order.
    pub fn entries(&self) -> &BTreeMap<String, i64> {
        &self.versions
    }

    /// Counter of a node (0 when absent).
    pub fn get(&self, node: &str) -> i64 {
        self.versions.get(node).copied().unwrap_or(0)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.versions.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.versions.is_empty()
    }

    /// A copy with the node's counter incremented.
    pub fn increment(&self, node: &str) -> VectorClock {
        let mut v = self.clone();
        let e = v.versions.entry(node.to_string()).or_insert(0);
        *e = e.saturating_add(1);
        v
    }

    /// Per-node maximum of both clocks.
    pub fn merge(&self, other: &VectorClock) -> VectorClock {
        let mut v = self.clone();
        for (k, &c) in &other.versions {
            let e = v.versions.entry(k.clone()).or_insert(c);
            if c > *e {
                *e = c;
            }
        }
        v
    }

    /// A copy without the node's entry.
    pub fn prune(&self, node: &str) -> VectorClock {
        if !self.versions.contains_key(node) {
            return self.clone();
        }
        let mut v = self.clone();
        v.versions.remove(node);
        v
    }

    /// Compares this clock with `other`; missing entries count as 0.
    pub fn compare(&self, other: &VectorClock) -> VcOrdering {
        let mut less = false;
        let mut greater = false;
        for (k, &a) in &self.versions {
            let b = other.get(k);
            if a < b {
                less = true;
            } else if a > b {
                greater = true;
            }
        }
        for (k, &b) in &other.versions {
            if !self.versions.contains_key(k) {
                if b > 0 {
                    less = true;
                } else if b < 0 {
                    greater = true;
                }
            }
        }
        match (less, greater) {
            (false, false) => VcOrdering::Same,
            (true, false) => VcOrdering::Before,
            (false, true) => VcOrdering::After,
            (true, true) => VcOrdering::Concurrent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn vc(e: &[(&str, i64)]) -> VectorClock {
        VectorClock::from_entries(e.iter().map(|(k, v)| (k.to_string(), *v)))
    }

    #[test]
    fn compare_cases() {
        let a = vc(&[("a", 1)]);
        let b = a.increment("b");
        assert_eq!(a.compare(&b), VcOrdering::Before);
        assert_eq!(b.compare(&a), VcOrdering::After);
        assert_eq!(a.compare(&a.clone()), VcOrdering::Same);
        let c = a.increment("c");
        assert_eq!(b.compare(&c), VcOrdering::Concurrent);
        assert_eq!(b.merge(&c), vc(&[("a", 1), ("b", 1), ("c", 1)]));
        assert_eq!(b.merge(&c).prune("b"), vc(&[("a", 1), ("c", 1)]));
    }

    fn arb_vc() -> impl Strategy<Value = VectorClock> {
        prop::collection::btree_map("[a-e]", 0i64..5, 0..5).prop_map(VectorClock::from_entries)
    }

    proptest! {
        #[test]
        fn merge_is_commutative_associative_idempotent(a in arb_vc(), b in arb_vc(), c in arb_vc()) {
            prop_assert_eq!(a.merge(&b).compare(&b.merge(&a)), VcOrdering::Same);
            prop_assert_eq!(a.merge(&b).merge(&c).compare(&a.merge(&b.merge(&c))), VcOrdering::Same);
            prop_assert_eq!(a.merge(&a).compare(&a), VcOrdering::Same);
        }

        #[test]
        fn merge_dominates_both(a in arb_vc(), b in arb_vc()) {
            let m = a.merge(&b);
            prop_assert!(matches!(a.compare(&m), VcOrdering::Before | VcOrdering::Same));
            prop_assert!(matches!(b.compare(&m), VcOrdering::Before | VcOrdering::Same));
        }

        #[test]
        fn compare_is_antisymmetric(a in arb_vc(), b in arb_vc()) {
            let expected = match a.compare(&b) {
                VcOrdering::Before => VcOrdering::After,
                VcOrdering::After => VcOrdering::Before,
                o => o,
            };
            prop_assert_eq!(b.compare(&a), expected);
        }

        #[test]
        fn increment_moves_forward(a in arb_vc(), n in "[a-e]") {
            prop_assert_eq!(a.compare(&a.increment(&n)), VcOrdering::Before);
        }
    }
}
