//! The reachability table: each observer's row of records about subjects it cannot reach.

use std::collections::{BTreeMap, BTreeSet};

use crate::address::UniqueAddress;

/// Reachability status of a record or the aggregated status of a subject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReachabilityStatus {
    /// Reachable.
    Reachable,
    /// The failure detector suspects the subject.
    Unreachable,
    /// The subject was quarantined; final.
    Terminated,
}

impl ReachabilityStatus {
    /// The protobuf enum number.
    pub fn to_proto(self) -> i32 {
        match self {
            ReachabilityStatus::Reachable => 0,
            ReachabilityStatus::Unreachable => 1,
            ReachabilityStatus::Terminated => 2,
        }
    }

    /// The status for a protobuf enum number.
    pub fn from_proto(n: i32) -> Option<ReachabilityStatus> {
        match n {
            0 => Some(ReachabilityStatus::Reachable),
            1 => Some(ReachabilityStatus::Unreachable),
            2 => Some(ReachabilityStatus::Terminated),
            _ => None,
        }
    }
}

/// One record: what `observer` says about `subject`, stamped with the observer's version.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Record {
    /// The node that observed.
    pub observer: UniqueAddress,
    /// The node observed.
    pub subject: UniqueAddress,
    /// The observation.
    pub status: ReachabilityStatus,
    /// Observer version at which the record was written.
    pub version: i64,
}

type Row = BTreeMap<UniqueAddress, (ReachabilityStatus, i64)>;

/// Reachability table: rows per observer plus each observer's version.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reachability {
    rows: BTreeMap<UniqueAddress, Row>,
    versions: BTreeMap<UniqueAddress, i64>,
}

impl Reachability {
    /// The empty table.
    pub fn new() -> Reachability {
        Reachability::default()
    }

    /// Builds a table from records and versions (as decoded from the wire).
    pub fn from_parts(
        records: impl IntoIterator<Item = Record>,
        versions: impl IntoIterator<Item = (UniqueAddress, i64)>,
    ) -> Reachability {
        let mut rows: BTreeMap<UniqueAddress, Row> = BTreeMap::new();
        for r in records {
            rows.entry(r.observer)
                .or_default()
                .insert(r.subject, (r.status, r.version));
        }
        Reachability {
            rows,
            versions: versions.into_iter().collect(),
        }
    }

    /// All records, by observer then subject.
    pub fn records(&self) -> Vec<Record> {
        self.rows
            .iter()
            .flat_map(|(o, row)| {
                row.iter().map(move |(s, &(status, version))| Record {
                    observer: o.clone(),
                    subject: s.clone(),
                    status,
                    version,
                })
            })
            .collect()
    }

    /// Observer versions.
    pub fn versions(&self) -> &BTreeMap<UniqueAddress, i64> {
        &self.versions
    }

    /// The observer's records (subject -> status and version).
    pub fn records_by(&self, observer: &UniqueAddress) -> Vec<Record> {
        self.records()
            .into_iter()
            .filter(|r| &r.observer == observer)
            .collect()
    }

    fn current_version(&self, observer: &UniqueAddress) -> i64 {
        self.versions.get(observer).copied().unwrap_or(0)
    }

    /// `observer` marks `subject` unreachable.
    pub fn unreachable(&self, observer: &UniqueAddress, subject: &UniqueAddress) -> Reachability {
        self.change(observer, subject, ReachabilityStatus::Unreachable)
    }

    /// `observer` marks `subject` reachable again.
    pub fn reachable(&self, observer: &UniqueAddress, subject: &UniqueAddress) -> Reachability {
        self.change(observer, subject, ReachabilityStatus::Reachable)
    }

    /// `observer` marks `subject` terminated (final).
    pub fn terminated(&self, observer: &UniqueAddress, subject: &UniqueAddress) -> Reachability {
        self.change(observer, subject, ReachabilityStatus::Terminated)
    }

    fn change(
        &self,
        observer: &UniqueAddress,
        subject: &UniqueAddress,
        status: ReachabilityStatus,
    ) -> Reachability {
        use ReachabilityStatus::*;
        let v = self.current_version(observer) + 1;
        let mut next = self.clone();
        match self.rows.get(observer) {
            None if status == Reachable => return next,
            None => {
                next.rows
                    .entry(observer.clone())
                    .or_default()
                    .insert(subject.clone(), (status, v));
            }
            Some(row) => match row.get(subject) {
                None => {
                    if status == Reachable && row.values().all(|(s, _)| *s == Reachable) {
                        next.rows.remove(observer);
                    } else if let Some(r) = next.rows.get_mut(observer) {
                        r.insert(subject.clone(), (status, v));
                    }
                }
                Some(&(old, _)) => {
                    if old == Terminated || old == status {
                        return next;
                    }
                    if status == Reachable
                        && row
                            .iter()
                            .all(|(s, (st, _))| *st == Reachable || s == subject)
                    {
                        next.rows.remove(observer);
                    } else if let Some(r) = next.rows.get_mut(observer) {
                        r.insert(subject.clone(), (status, v));
                    }
                }
            },
        }
        next.versions.insert(observer.clone(), v);
        next
    }

    /// Merges with `other`, per observer row, keeping only observers and subjects in `allowed`.
    pub fn merge(&self, allowed: &BTreeSet<UniqueAddress>, other: &Reachability) -> Reachability {
        let mut rows = BTreeMap::new();
        let mut versions: BTreeMap<UniqueAddress, i64> = self
            .versions
            .iter()
            .filter(|(k, _)| allowed.contains(*k))
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        let keep = |row: &Row| -> Row {
            row.iter()
                .filter(|(s, _)| allowed.contains(*s))
                .map(|(s, r)| (s.clone(), *r))
                .collect()
        };
        for observer in allowed {
            let v1 = self.current_version(observer);
            let v2 = other.current_version(observer);
            let chosen = match (self.rows.get(observer), other.rows.get(observer)) {
                (None, None) => None,
                (Some(r1), Some(r2)) => Some(if v1 > v2 { r1 } else { r2 }),
                (Some(r1), None) => (v1 > v2).then_some(r1),
                (None, Some(r2)) => (v2 > v1).then_some(r2),
            };
            if let Some(row) = chosen {
                let row = keep(row);
                if !row.is_empty() {
                    rows.insert(observer.clone(), row);
                }
            }
            if v2 > v1 {
                versions.insert(observer.clone(), v2);
            }
        }
        Reachability { rows, versions }
    }

    /// Drops every record where one of `nodes` is observer or subject, and their versions.
    pub fn remove<'a>(&self, nodes: impl IntoIterator<Item = &'a UniqueAddress>) -> Reachability {
        let nodes: BTreeSet<&UniqueAddress> = nodes.into_iter().collect();
        let mut next = self.clone();
        next.rows.retain(|o, _| !nodes.contains(o));
        for row in next.rows.values_mut() {
            row.retain(|s, _| !nodes.contains(s));
        }
        next.rows.retain(|_, row| !row.is_empty());
        next.versions.retain(|o, _| !nodes.contains(o));
        next
    }

    /// Drops the rows and versions of the given observers.
    pub fn remove_observers<'a>(
        &self,
        nodes: impl IntoIterator<Item = &'a UniqueAddress>,
    ) -> Reachability {
        let nodes: BTreeSet<&UniqueAddress> = nodes.into_iter().collect();
        let mut next = self.clone();
        next.rows.retain(|o, _| !nodes.contains(o));
        next.versions.retain(|o, _| !nodes.contains(o));
        next
    }

    /// Keeps only records for which `f` holds (versions unchanged).
    pub fn filter_records(&self, f: impl Fn(&Record) -> bool) -> Reachability {
        let records: Vec<Record> = self.records().into_iter().filter(|r| f(r)).collect();
        Reachability::from_parts(records, self.versions.clone())
    }

    /// What `observer` says about `subject`.
    pub fn status_by(
        &self,
        observer: &UniqueAddress,
        subject: &UniqueAddress,
    ) -> ReachabilityStatus {
        self.rows
            .get(observer)
            .and_then(|row| row.get(subject))
            .map(|(s, _)| *s)
            .unwrap_or(ReachabilityStatus::Reachable)
    }

    /// Aggregated status of `subject`: Terminated if any says so, else Unreachable if any says so.
    pub fn status(&self, subject: &UniqueAddress) -> ReachabilityStatus {
        let mut result = ReachabilityStatus::Reachable;
        for row in self.rows.values() {
            match row.get(subject) {
                Some((ReachabilityStatus::Terminated, _)) => return ReachabilityStatus::Terminated,
                Some((ReachabilityStatus::Unreachable, _)) => {
                    result = ReachabilityStatus::Unreachable
                }
                _ => {}
            }
        }
        result
    }

    /// True when the table has no records.
    pub fn is_all_reachable(&self) -> bool {
        self.rows.is_empty()
    }

    /// True unless some observer marks `node` Unreachable or Terminated.
    pub fn is_reachable(&self, node: &UniqueAddress) -> bool {
        self.status(node) == ReachabilityStatus::Reachable
    }

    /// True unless `observer` marks `subject` Unreachable or Terminated.
    pub fn is_reachable_by(&self, observer: &UniqueAddress, subject: &UniqueAddress) -> bool {
        self.status_by(observer, subject) == ReachabilityStatus::Reachable
    }

    /// Subjects some observer marks Unreachable or Terminated.
    pub fn all_unreachable_or_terminated(&self) -> BTreeSet<UniqueAddress> {
        self.rows
            .values()
            .flat_map(|row| row.iter())
            .filter(|(_, (s, _))| *s != ReachabilityStatus::Reachable)
            .map(|(subj, _)| subj.clone())
            .collect()
    }

    /// Subjects marked Unreachable by `observer` (not Terminated).
    pub fn all_unreachable_from(&self, observer: &UniqueAddress) -> BTreeSet<UniqueAddress> {
        self.rows
            .get(observer)
            .map(|row| {
                row.iter()
                    .filter(|(_, (s, _))| *s == ReachabilityStatus::Unreachable)
                    .map(|(subj, _)| subj.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Observers having a row.
    pub fn all_observers(&self) -> BTreeSet<UniqueAddress> {
        self.rows.keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Address;

    fn n(p: u16) -> UniqueAddress {
        UniqueAddress::new(Address::new("S", "h", p), p as i64)
    }

    #[test]
    fn unreachable_then_reachable_drops_row_and_bumps_version() {
        let r = Reachability::new().unreachable(&n(1), &n(2));
        assert_eq!(r.status(&n(2)), ReachabilityStatus::Unreachable);
        assert_eq!(r.versions()[&n(1)], 1);
        let r = r.reachable(&n(1), &n(2));
        assert!(r.is_all_reachable());
        assert_eq!(r.versions()[&n(1)], 2);
        // reachable without a row is a no-op
        let r2 = Reachability::new().reachable(&n(1), &n(2));
        assert!(r2.versions().is_empty());
    }

    #[test]
    fn terminated_is_final_and_wins_aggregation() {
        let r = Reachability::new()
            .terminated(&n(1), &n(3))
            .unreachable(&n(2), &n(3));
        assert_eq!(r.status(&n(3)), ReachabilityStatus::Terminated);
        let r = r.reachable(&n(1), &n(3));
        assert_eq!(r.status_by(&n(1), &n(3)), ReachabilityStatus::Terminated);
    }

    #[test]
    fn merge_keeps_newer_row_per_observer() {
        let all: BTreeSet<_> = [n(1), n(2), n(3)].into_iter().collect();
        let a = Reachability::new().unreachable(&n(1), &n(2));
        let b = a.reachable(&n(1), &n(2)); // newer empty row
        let m = a.merge(&all, &b);
        assert!(m.is_all_reachable());
        assert_eq!(m.versions()[&n(1)], 2);
        let m2 = b.merge(&all, &a);
        assert!(m2.is_all_reachable());
        let c = Reachability::new().unreachable(&n(3), &n(1));
        let m3 = a.merge(&all, &c);
        assert_eq!(m3.all_unreachable_or_terminated().len(), 2);
        // subjects that are not members are dropped
        let only: BTreeSet<_> = [n(1), n(3)].into_iter().collect();
        assert_eq!(
            a.merge(&only, &c).all_unreachable_or_terminated(),
            [n(1)].into_iter().collect()
        );
    }

    #[test]
    fn remove_drops_observer_and_subject() {
        let r = Reachability::new()
            .unreachable(&n(1), &n(2))
            .unreachable(&n(3), &n(1));
        let r = r.remove([&n(1)]);
        assert!(r.is_all_reachable());
        assert!(!r.versions().contains_key(&n(1)));
        assert!(r.versions().contains_key(&n(3)));
    }
}
