//! The seed-node processes of joining (Pekko's `FirstSeedNodeProcess` and
//! `JoinSeedNodeProcess`) without I/O: which seeds to ask with `InitJoin` and when, and which
//! acknowledgement wins. The configuration check of the winning `InitJoinAck` and the `Join`
//! itself are [`ClusterCore`](crate::daemon::ClusterCore)'s job.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::address::Address;

/// What the driver should do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SeedAction {
    /// Send `InitJoin` to the core daemon of each of these seeds.
    SendInitJoin(Vec<Address>),
    /// Join this node itself (a new cluster).
    JoinSelf,
    /// This `InitJoinAck` won: hand it to the core, which checks it and sends `Join`.
    AcceptAck(Address),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    FirstSeed,
    JoinSeed,
}

/// One run of the seed-node process.
#[derive(Clone, Debug)]
pub struct SeedNodeProcess {
    kind: Kind,
    others: Vec<Address>,
    timeout: Duration,
    started: Duration,
    last_attempt: Duration,
    attempts: u32,
    nacked: BTreeSet<Address>,
    done: bool,
}

impl SeedNodeProcess {
    /// Starts joining through `seeds` (`pekko.cluster.seed-nodes`) at `now`.
    /// Returns `None` with [`SeedAction::JoinSelf`] when this node is the only seed.
    pub fn start(
        self_address: &Address,
        seeds: &[Address],
        seed_node_timeout: Duration,
        now: Duration,
    ) -> (Option<SeedNodeProcess>, Vec<SeedAction>) {
        let others: Vec<Address> = seeds
            .iter()
            .filter(|s| *s != self_address)
            .cloned()
            .collect();
        if others.is_empty() {
            return (None, vec![SeedAction::JoinSelf]);
        }
        let kind = if seeds.first() == Some(self_address) {
            Kind::FirstSeed
        } else {
            Kind::JoinSeed
        };
        let p = SeedNodeProcess {
            kind,
            others: others.clone(),
            timeout: seed_node_timeout,
            started: now,
            last_attempt: now,
            attempts: 1,
            nacked: BTreeSet::new(),
            done: false,
        };
        (Some(p), vec![SeedAction::SendInitJoin(others)])
    }

    /// True once the process has decided.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// How many rounds of `InitJoin` were sent.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// An `InitJoinAck` from `address`: the first one wins.
    pub fn on_ack(&mut self, address: &Address) -> Vec<SeedAction> {
        if self.done {
            return Vec::new();
        }
        self.done = true;
        vec![SeedAction::AcceptAck(address.clone())]
    }

    /// An `InitJoinNack` from `address` (that seed is not a member yet).
    pub fn on_nack(&mut self, address: &Address) -> Vec<SeedAction> {
        if self.done || self.kind != Kind::FirstSeed {
            return Vec::new();
        }
        self.nacked.insert(address.clone());
        if self.others.iter().all(|o| self.nacked.contains(o)) {
            tracing::info!("All seed nodes declined; joining myself to form a new cluster");
            self.done = true;
            return vec![SeedAction::JoinSelf];
        }
        Vec::new()
    }

    /// Called every second: resends `InitJoin` or gives up waiting.
    pub fn tick(&mut self, now: Duration) -> Vec<SeedAction> {
        if self.done {
            return Vec::new();
        }
        match self.kind {
            Kind::FirstSeed => {
                if now.saturating_sub(self.started) >= self.timeout {
                    tracing::info!(
                        "No seed node answered within seed-node-timeout; joining myself"
                    );
                    self.done = true;
                    return vec![SeedAction::JoinSelf];
                }
                self.attempts += 1;
                self.last_attempt = now;
                let ask: Vec<Address> = self
                    .others
                    .iter()
                    .filter(|o| !self.nacked.contains(*o))
                    .cloned()
                    .collect();
                vec![SeedAction::SendInitJoin(ask)]
            }
            Kind::JoinSeed => {
                if now.saturating_sub(self.last_attempt) < self.timeout {
                    return Vec::new();
                }
                self.attempts += 1;
                self.last_attempt = now;
                if self.attempts > 2 {
                    tracing::warn!(
                        "Couldn't join seed nodes after [{}] attempts, will try again. seed-nodes=[{}]",
                        self.attempts - 1,
                        self.others.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", ")
                    );
                }
                vec![SeedAction::SendInitJoin(self.others.clone())]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(p: u16) -> Address {
        Address::new("S", "127.0.0.1", p)
    }

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn only_seed_joins_itself() {
        let (p, actions) = SeedNodeProcess::start(&a(1), &[a(1)], s(5), s(0));
        assert!(p.is_none());
        assert_eq!(actions, vec![SeedAction::JoinSelf]);
    }

    #[test]
    fn first_seed_joins_itself_when_all_decline_or_after_the_timeout() {
        let (p, actions) = SeedNodeProcess::start(&a(1), &[a(1), a(2), a(3)], s(5), s(0));
        let mut p = p.unwrap();
        assert_eq!(actions, vec![SeedAction::SendInitJoin(vec![a(2), a(3)])]);
        assert!(p.on_nack(&a(2)).is_empty());
        assert_eq!(p.tick(s(1)), vec![SeedAction::SendInitJoin(vec![a(3)])]);
        assert_eq!(p.on_nack(&a(3)), vec![SeedAction::JoinSelf]);

        let (p, _) = SeedNodeProcess::start(&a(1), &[a(1), a(2)], s(5), s(0));
        let mut p = p.unwrap();
        for t in 1..5 {
            assert!(matches!(p.tick(s(t))[..], [SeedAction::SendInitJoin(_)]));
        }
        assert_eq!(p.tick(s(5)), vec![SeedAction::JoinSelf]);
        assert!(p.on_ack(&a(2)).is_empty(), "decided already");
    }

    #[test]
    fn first_seed_joins_an_existing_cluster_that_acks() {
        let (p, _) = SeedNodeProcess::start(&a(1), &[a(1), a(2)], s(5), s(0));
        let mut p = p.unwrap();
        assert_eq!(p.on_ack(&a(2)), vec![SeedAction::AcceptAck(a(2))]);
        assert!(p.tick(s(9)).is_empty());
    }

    #[test]
    fn joining_seed_retries_every_timeout_and_ignores_nacks() {
        let (p, actions) = SeedNodeProcess::start(&a(3), &[a(1), a(2), a(3)], s(5), s(0));
        let mut p = p.unwrap();
        assert_eq!(actions, vec![SeedAction::SendInitJoin(vec![a(1), a(2)])]);
        assert!(p.on_nack(&a(1)).is_empty());
        assert!(p.on_nack(&a(2)).is_empty());
        assert!(p.tick(s(4)).is_empty());
        assert_eq!(
            p.tick(s(5)),
            vec![SeedAction::SendInitJoin(vec![a(1), a(2)])]
        );
        assert_eq!(p.attempts(), 2);
        assert_eq!(p.on_ack(&a(2)), vec![SeedAction::AcceptAck(a(2))]);
        assert!(p.on_ack(&a(1)).is_empty(), "first ack wins");
    }
}
