//! lease-majority: the strategy's decisions (the cases of Pekko's `SplitBrainResolverSpec`
//! "LeaseMajority must"), the resolver waiting for the lease (Pekko's "Split Brain Resolver
//! must" lease cases plus the minority delay, stashing and release), settings and the driver.

use std::collections::{BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hocon_config::Config;
use parking_lot::Mutex;
use rekko_coordination::{Lease, LeaseLostCallback, LeaseProvider, LeaseSettings};

use crate::address::{Address, UniqueAddress};
use crate::member::{Member, MemberStatus};
use crate::reachability::Reachability;
use crate::sbr::lease::{LeaseDriver, LeaseHandle, LeaseRequest, LeaseResponse};
use crate::sbr::resolver::{LeaseRelease, SbrEvent, SplitBrainResolver};
use crate::sbr::settings::SbrSettings;
use crate::sbr::strategy::{Decision, SbrView, Strategy};

const DELAY: Duration = Duration::from_secs(2);

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn lease_majority(role: Option<&str>) -> Strategy {
    Strategy::LeaseMajority {
        role: role.map(str::to_string),
        acquire_lease_delay_for_minority: DELAY,
        release_after: secs(10),
    }
}

/// Pekko's TestAddresses: hosts a..g, upNumbers 5,4,3,2,1,5,6 and the same roles.
fn member(host: &str) -> Member {
    let (up, roles): (i32, &[&str]) = match host {
        "a" => (5, &["role3"]),
        "b" => (4, &["role1", "role3"]),
        "c" => (3, &["role2"]),
        "d" => (2, &["role1", "role2", "role3"]),
        "e" => (1, &[]),
        "f" => (5, &[]),
        _ => (6, &[]),
    };
    let node = UniqueAddress::new(Address::new("sys", host, 7355), 0);
    Member::joining(node, roles.iter().map(|r| r.to_string()), "0.0.0")
        .with_status(MemberStatus::Up)
        .with_up_number(up)
}

/// The members of Pekko's TestAddresses on `hosts`, see [`member`].
fn members<const N: usize>(hosts: [&str; N]) -> [Member; N] {
    hosts.map(member)
}

/// `AcquireLeaseAndDownUnreachable` after `acquire_delay`.
fn acquire_down_unreachable(acquire_delay: Duration) -> Decision {
    Decision::AcquireLeaseAndDownUnreachable { acquire_delay }
}

/// `AcquireLeaseAndDownIndirectlyConnected` after `acquire_delay`.
fn acquire_down_indirect(acquire_delay: Duration) -> Decision {
    Decision::AcquireLeaseAndDownIndirectlyConnected { acquire_delay }
}

fn nodes(ms: &[&Member]) -> BTreeSet<UniqueAddress> {
    ms.iter().map(|m| m.unique_address.clone()).collect()
}

/// Pekko's `StrategySetup.strategy(side)`: the first member of `side` observes every member
/// outside it as unreachable, plus the `indirect` records; the side has seen the gossip.
fn view(all: &[&Member], side: &[&Member], indirect: &[(&Member, &Member)]) -> SbrView {
    let observer = side[0].unique_address.clone();
    let mut records: Vec<(UniqueAddress, UniqueAddress)> = indirect
        .iter()
        .map(|(o, s)| (o.unique_address.clone(), s.unique_address.clone()))
        .collect();
    for m in all {
        if !side.iter().any(|s| s.unique_address == m.unique_address) {
            records.push((observer.clone(), m.unique_address.clone()));
        }
    }
    let mut reachability = Reachability::new();
    for (o, s) in &records {
        reachability = reachability.unreachable(o, s);
    }
    SbrView {
        self_node: observer,
        members: all.iter().map(|m| (*m).clone()).collect(),
        unreachable: records.into_iter().map(|(_, s)| s).collect(),
        reachability,
        seen_by: side
            .iter()
            .map(|m| m.unique_address.address.clone())
            .collect(),
    }
}

#[test]
fn decides_acquire_lease_and_down_unreachable_with_down_reachable_as_reverse() {
    let [a, b, c, d, e] = members(["a", "b", "c", "d", "e"]);
    let all = [&a, &b, &c, &d, &e];
    let (side1, side2) = ([&a, &c, &e], [&b, &d]);
    let s = lease_majority(None);

    let v1 = view(&all, &side1, &[]);
    let d1 = v1.decide(&s);
    assert_eq!(d1, acquire_down_unreachable(Duration::ZERO));
    assert_eq!(v1.nodes_to_down(&s, d1), nodes(&side2));
    assert_eq!(d1.reverse(), Decision::DownReachable);
    assert_eq!(v1.nodes_to_down(&s, d1.reverse()), nodes(&side1));

    let v2 = view(&all, &side2, &[]);
    let d2 = v2.decide(&s);
    assert_eq!(d2, acquire_down_unreachable(DELAY));
    assert_eq!(v2.nodes_to_down(&s, d2), nodes(&side1));
    assert_eq!(d2.reverse(), Decision::DownReachable);
    assert_eq!(v2.nodes_to_down(&s, d2.reverse()), nodes(&side2));
}

#[test]
fn equal_split_delays_the_side_without_the_lowest_address_of_the_role() {
    let [a, b, c, d, e] = members(["a", "b", "c", "d", "e"]);
    let all = [&a, &b, &c, &d, &e];
    let (side1, side2) = ([&a, &d, &e], [&b, &c]);
    let s = lease_majority(Some("role2"));
    // role2: c and d; c is the lowest, on side2
    let v1 = view(&all, &side1, &[]);
    let d1 = v1.decide(&s);
    assert_eq!(d1, acquire_down_unreachable(DELAY));
    assert_eq!(v1.nodes_to_down(&s, d1), nodes(&side2));
    let v2 = view(&all, &side2, &[]);
    let d2 = v2.decide(&s);
    assert_eq!(d2, acquire_down_unreachable(Duration::ZERO));
    assert_eq!(v2.nodes_to_down(&s, d2), nodes(&side1));
}

#[test]
fn downs_indirectly_connected_or_with_reverse_everyone_reachable() {
    // {(A, B), C} => {C}
    let [a, b, c] = members(["a", "b", "c"]);
    let all = [&a, &b, &c];
    let s = lease_majority(None);
    let v = view(&all, &all, &[(&a, &b), (&b, &a)]);
    let d = v.decide(&s);
    assert_eq!(d, acquire_down_indirect(Duration::ZERO));
    assert_eq!(v.nodes_to_down(&s, d), nodes(&[&a, &b]));
    assert_eq!(d.reverse(), Decision::ReverseDownIndirectlyConnected);
    assert_eq!(v.nodes_to_down(&s, d.reverse()), nodes(&all));
}

#[test]
fn indirectly_connected_combined_with_a_clean_partition() {
    // {A, (B, C)} | {D, E} => {A}
    let [a, b, c, d, e] = members(["a", "b", "c", "d", "e"]);
    let all = [&a, &b, &c, &d, &e];
    let (side1, side2) = ([&a, &b, &c], [&d, &e]);
    let s = lease_majority(None);
    let indirect = [(&b, &c), (&c, &b)];

    let v1 = view(&all, &side1, &indirect);
    let d1 = v1.decide(&s);
    assert_eq!(d1, acquire_down_indirect(Duration::ZERO));
    assert_eq!(v1.nodes_to_down(&s, d1), nodes(&[&b, &c, &d, &e]));
    assert_eq!(d1.reverse(), Decision::ReverseDownIndirectlyConnected);
    assert_eq!(v1.nodes_to_down(&s, d1.reverse()), nodes(&side1));

    // side2 did not see the indirect records (clean partition first)
    let v2 = view(&all, &side2, &[]);
    let d2 = v2.decide(&s);
    assert_eq!(d2, acquire_down_unreachable(DELAY));
    assert_eq!(v2.nodes_to_down(&s, d2), nodes(&side1));
    assert_eq!(v2.nodes_to_down(&s, d2.reverse()), nodes(&side2));

    // side2 saw them (indirectly connected before the clean partition)
    let v3 = view(&all, &side2, &indirect);
    let d3 = v3.decide(&s);
    assert_eq!(d3, acquire_down_indirect(Duration::ZERO));
    assert_eq!(v3.nodes_to_down(&s, d3), nodes(&side1));
    assert_eq!(v3.nodes_to_down(&s, d3.reverse()), nodes(&[&b, &c, &d, &e]));
}

#[test]
fn indirectly_connected_to_an_already_downed_node() {
    // {A, B, C, D} | {(E, F)} => {A, B, C, D}
    let [a, b, c, d] = members(["a", "b", "c", "d"]);
    let e_leaving = member("e").with_status(MemberStatus::Leaving);
    let f_down = member("f").with_status(MemberStatus::Down);
    let all = [&a, &b, &c, &d, &e_leaving, &f_down];
    let side1 = [&a, &b, &c, &d];
    let side2 = [&e_leaving, &f_down];
    let s = lease_majority(None);
    let indirect = [(&e_leaving, &f_down)];
    let v1 = view(&all, &side1, &indirect);
    assert_eq!(v1.nodes_to_down(&s, v1.decide(&s)), nodes(&[&e_leaving]));
    let v2 = view(&all, &side2, &indirect);
    assert_eq!(
        v2.nodes_to_down(&s, v2.decide(&s)),
        nodes(&[&a, &b, &c, &d, &e_leaving])
    );
}

#[test]
fn decisions_print_as_pekko_logs_them() {
    assert_eq!(
        acquire_down_unreachable(DELAY).to_string(),
        "AcquireLeaseAndDownUnreachable(2000 milliseconds)"
    );
    assert_eq!(
        acquire_down_indirect(Duration::ZERO).to_string(),
        "AcquireLeaseAndDownIndirectlyConnected(0 days)"
    );
    assert_eq!(Decision::DownReachable.to_string(), "DownReachable");
}

/// A lease handle the test scripts, as Pekko's `TestLease.setNextAcquireResult`.
#[derive(Debug, Default)]
struct ScriptState {
    next_acquire: Option<bool>,
    held: bool,
    started: Vec<LeaseRequest>,
    ready: VecDeque<LeaseResponse>,
}

#[derive(Clone, Debug, Default)]
struct Script(Arc<Mutex<ScriptState>>);

impl Script {
    fn set_next_acquire_result(&self, r: bool) {
        self.0.lock().next_acquire = Some(r);
    }
    fn started(&self) -> Vec<LeaseRequest> {
        self.0.lock().started.clone()
    }
}

impl LeaseHandle for Script {
    fn check(&self) -> bool {
        self.0.lock().held
    }
    fn start(&mut self, request: LeaseRequest) {
        let mut s = self.0.lock();
        s.started.push(request);
        match request {
            LeaseRequest::Acquire => {
                if let Some(r) = s.next_acquire.take() {
                    s.held = r;
                    s.ready.push_back(LeaseResponse::Acquired(r));
                }
            }
            LeaseRequest::Release => {
                s.held = false;
                s.ready.push_back(LeaseResponse::Released(true));
            }
        }
    }
    fn poll(&mut self) -> Option<LeaseResponse> {
        self.0.lock().ready.pop_front()
    }
}

/// Pekko's `SetupLeaseMajority` with stable-after zero: self `me`, members up, `me` leader.
fn resolver(me: &Member, members: &[&Member], script: &Script) -> SplitBrainResolver {
    let mut r = SplitBrainResolver::new(
        lease_majority(None),
        Duration::ZERO,
        None,
        me.unique_address.clone(),
        "default",
        Duration::ZERO,
    )
    .with_lease(Box::new(script.clone()));
    for m in members {
        assert_eq!(
            r.on_event(SbrEvent::MemberUp((*m).clone()), Duration::ZERO),
            None
        );
    }
    r.on_event(
        SbrEvent::LeaderChanged(Some(me.unique_address.address.clone())),
        Duration::ZERO,
    );
    r
}

/// Members a, b and c, a scripted lease and the [`resolver`] of `a` over all three.
fn resolver_of_three() -> ([Member; 3], Script, SplitBrainResolver) {
    let [a, b, c] = members(["a", "b", "c"]);
    let script = Script::default();
    let r = resolver(&a, &[&a, &b, &c], &script);
    ([a, b, c], script, r)
}

fn down_list(ms: &[&Member]) -> Vec<UniqueAddress> {
    ms.iter().map(|m| m.unique_address.clone()).collect()
}

#[test]
fn downs_the_other_side_when_the_lease_is_acquired() {
    let ([_, b, _], script, mut r) = resolver_of_three();
    r.on_event(SbrEvent::UnreachableMember(b.clone()), secs(1));
    script.set_next_acquire_result(true);
    assert_eq!(
        r.tick(secs(1)),
        None,
        "the first tick only asks for the lease"
    );
    assert_eq!(script.started(), vec![LeaseRequest::Acquire]);
    assert!(r.waiting_for_lease().is_some());
    let action = r.tick(secs(2)).expect("acts on the lease answer");
    assert_eq!(action.down, down_list(&[&b]));
    assert_eq!(r.waiting_for_lease(), None);
    assert_eq!(
        r.lease_release(),
        &LeaseRelease::WhenMembersRemoved(nodes(&[&b]))
    );
}

#[test]
fn downs_its_own_side_when_the_lease_cannot_be_acquired() {
    let ([a, b, c], script, mut r) = resolver_of_three();
    r.on_event(SbrEvent::UnreachableMember(b.clone()), secs(1));
    script.set_next_acquire_result(false);
    assert_eq!(r.tick(secs(1)), None);
    let action = r.tick(secs(2)).expect("acts on the lease answer");
    assert_eq!(action.decision, Decision::DownReachable);
    assert_eq!(action.down, down_list(&[&c, &a]), "self last");
    assert_eq!(r.lease_release(), &LeaseRelease::NoLease);
}

fn indirectly_connected(r: &mut SplitBrainResolver, a: &Member, b: &Member) {
    // Pekko's reachabilityChanged(A -> B, B -> A): unreachable(B, A), then the table.
    r.on_event(SbrEvent::UnreachableMember(b.clone()), secs(1));
    r.on_event(SbrEvent::UnreachableMember(a.clone()), secs(1));
    let table = Reachability::new()
        .unreachable(&a.unique_address, &b.unique_address)
        .unreachable(&b.unique_address, &a.unique_address);
    r.on_event(SbrEvent::ReachabilityChanged(table), secs(1));
}

#[test]
fn downs_indirectly_connected_when_the_lease_is_acquired() {
    let ([a, b, _], script, mut r) = resolver_of_three();
    indirectly_connected(&mut r, &a, &b);
    script.set_next_acquire_result(true);
    assert_eq!(r.tick(secs(1)), None);
    let action = r.tick(secs(2)).expect("acts on the lease answer");
    // keeps the fully connected C
    assert_eq!(action.down, down_list(&[&b, &a]));
}

#[test]
fn downs_indirectly_connected_and_reachable_when_the_lease_cannot_be_acquired() {
    let ([a, b, c], script, mut r) = resolver_of_three();
    indirectly_connected(&mut r, &a, &b);
    script.set_next_acquire_result(false);
    assert_eq!(r.tick(secs(1)), None);
    let action = r.tick(secs(2)).expect("acts on the lease answer");
    assert_eq!(action.decision, Decision::ReverseDownIndirectlyConnected);
    assert_eq!(action.down, down_list(&[&b, &c, &a]));
}

#[test]
fn the_minority_waits_before_acquiring() {
    let [a, b, c, d, e] = members(["a", "b", "c", "d", "e"]);
    let script = Script::default();
    let mut r = resolver(&d, &[&a, &b, &c, &d, &e], &script);
    for m in [&a, &b, &c] {
        r.on_event(SbrEvent::UnreachableMember(m.clone()), secs(10));
    }
    script.set_next_acquire_result(false);
    assert_eq!(r.tick(secs(10)), None);
    assert_eq!(r.waiting_for_lease(), Some(acquire_down_unreachable(DELAY)));
    assert!(script.started().is_empty(), "no acquire before the delay");
    assert_eq!(r.tick(secs(11)), None);
    assert!(script.started().is_empty());
    assert_eq!(r.tick(secs(12)), None);
    assert_eq!(script.started(), vec![LeaseRequest::Acquire]);
    let action = r.tick(secs(13)).expect("acts on the lease answer");
    assert_eq!(action.down, down_list(&[&e, &d]));
}

#[test]
fn acts_at_once_when_the_lease_is_already_held() {
    let [a, b, c] = members(["a", "b", "c"]);
    let script = Script::default();
    script.0.lock().held = true;
    let mut r = resolver(&a, &[&a, &b, &c], &script);
    r.on_event(SbrEvent::UnreachableMember(b.clone()), secs(1));
    let action = r.tick(secs(1)).expect("no wait when checkLease is true");
    assert_eq!(action.down, down_list(&[&b]));
    assert!(script.started().is_empty());
}

#[test]
fn events_while_waiting_are_applied_after_the_answer() {
    let ([_, b, _], script, mut r) = resolver_of_three();
    r.on_event(SbrEvent::UnreachableMember(b.clone()), secs(1));
    assert_eq!(r.tick(secs(1)), None, "acquire started, no answer yet");
    // B comes back while the lease is pending: the decision still concerns B ...
    assert_eq!(
        r.on_event(SbrEvent::ReachableMember(b.clone()), secs(2)),
        None
    );
    assert_eq!(r.tick(secs(3)), None, "ticks wait for the lease");
    assert!(r.view().unreachable.contains(&b.unique_address));
    script
        .0
        .lock()
        .ready
        .push_back(LeaseResponse::Acquired(true));
    let action = r.tick(secs(4)).expect("acts on the lease answer");
    assert_eq!(action.down, down_list(&[&b]));
    // ... and the stashed event is applied afterwards.
    assert!(r.view().unreachable.is_empty());
}

#[test]
fn releases_the_lease_after_the_downed_members_are_removed() {
    let ([_, b, _], script, mut r) = resolver_of_three();
    r.on_event(SbrEvent::UnreachableMember(b.clone()), secs(1));
    script.set_next_acquire_result(true);
    r.tick(secs(1));
    r.tick(secs(2)).expect("downs B");
    r.on_event(
        SbrEvent::MemberDowned(b.with_status(MemberStatus::Down)),
        secs(3),
    );
    assert_eq!(r.tick(secs(4)), None);
    r.on_event(
        SbrEvent::MemberRemoved(b.with_status(MemberStatus::Removed)),
        secs(5),
    );
    assert_eq!(r.lease_release(), &LeaseRelease::WhenTimeElapsed(secs(15)));
    r.tick(secs(14));
    assert_eq!(script.started(), vec![LeaseRequest::Acquire]);
    r.tick(secs(15));
    assert_eq!(
        script.started(),
        vec![LeaseRequest::Acquire, LeaseRequest::Release]
    );
    r.tick(secs(16));
    assert_eq!(r.lease_release(), &LeaseRelease::NoLease);
    assert!(!script.check());
}

#[derive(Debug)]
struct MemoryLease {
    settings: LeaseSettings,
    held: AtomicBool,
}

#[rekko_coordination::async_trait]
impl Lease for MemoryLease {
    fn settings(&self) -> &LeaseSettings {
        &self.settings
    }
    async fn acquire_with_lost_callback(
        &self,
        _on_lost: LeaseLostCallback,
    ) -> rekko_coordination::Result<bool> {
        Ok(!self.held.swap(true, Ordering::SeqCst))
    }
    async fn release(&self) -> rekko_coordination::Result<bool> {
        Ok(self.held.swap(false, Ordering::SeqCst))
    }
    fn check_lease(&self) -> bool {
        self.held.load(Ordering::SeqCst)
    }
}

fn provider() -> LeaseProvider {
    let p = LeaseProvider::new();
    p.register("test.MemoryLease", |settings| {
        Ok(Arc::new(MemoryLease {
            settings,
            held: AtomicBool::new(false),
        }) as Arc<dyn Lease>)
    });
    p
}

fn lease_conf(extra: &str) -> Config {
    Config::parse_string(&format!(
        r#"
        pekko.cluster.split-brain-resolver {{
          active-strategy = lease-majority
          lease-majority {{ lease-implementation = "my-lease" {extra} }}
        }}
        my-lease {{ lease-class = "test.MemoryLease", heartbeat-timeout = 30s }}
        "#
    ))
    .unwrap()
}

#[test]
fn settings_default_to_pekkos_and_are_accepted() {
    let s = SbrSettings::from_config(&lease_conf(", role = backend")).unwrap();
    assert_eq!(s.lease_majority.acquire_lease_delay_for_minority, DELAY);
    assert_eq!(s.lease_majority.release_after, secs(40));
    assert_eq!(s.lease_majority.safe_lease_name("Sys"), "Sys-pekko-sbr");
    assert_eq!(
        s.strategy().unwrap(),
        Strategy::LeaseMajority {
            role: Some("backend".into()),
            acquire_lease_delay_for_minority: DELAY,
            release_after: secs(40),
        }
    );
}

#[test]
fn missing_lease_implementation_names_the_key() {
    let c =
        Config::parse_string("pekko.cluster.split-brain-resolver.active-strategy = lease-majority")
            .unwrap();
    let err = SbrSettings::from_config(&c)
        .unwrap()
        .strategy()
        .unwrap_err()
        .to_string();
    assert!(err.contains("lease-majority.lease-implementation"), "{err}");
}

#[test]
fn the_resolver_gets_its_lease_from_the_provider() {
    let node = UniqueAddress::new(Address::new("Sys", "127.0.0.1", 2552), 7);
    let s = SbrSettings::from_config(&lease_conf(", lease-name = orders-sbr")).unwrap();
    let p = provider();
    let r = SplitBrainResolver::from_settings_with_provider(
        &s,
        &p,
        node.clone(),
        "default",
        Duration::ZERO,
    )
    .unwrap();
    assert!(r.strategy().uses_lease());
    // the provider created the lease for this node's system@host:port
    let lease = p
        .get_lease(
            s.source.0.as_ref().unwrap(),
            "orders-sbr",
            "my-lease",
            "Sys@127.0.0.1:2552",
        )
        .unwrap();
    assert_eq!(
        lease.settings().timeout_settings.heartbeat_timeout,
        secs(30)
    );

    let unknown = Config::parse_string(r#"my-lease.lease-class = "com.example.Jvm""#)
        .unwrap()
        .with_fallback(&lease_conf(""));
    let s = SbrSettings::from_config(&unknown).unwrap();
    let err =
        SplitBrainResolver::from_settings_with_provider(&s, &p, node, "default", Duration::ZERO)
            .unwrap_err()
            .to_string();
    assert!(err.contains("lease-majority.lease-implementation"), "{err}");
    assert!(
        err.contains("\"my-lease\"") && err.contains("com.example.Jvm"),
        "{err}"
    );
}

#[tokio::test]
async fn the_driver_runs_requests_on_the_lease() {
    let p = provider();
    let lease = p
        .get_lease(&lease_conf(""), "sbr", "my-lease", "Sys@127.0.0.1:2552")
        .unwrap();
    let mut driver = LeaseDriver::new(lease);
    assert!(!driver.check());
    driver.start(LeaseRequest::Acquire);
    assert_eq!(
        driver.next_response().await,
        Some(LeaseResponse::Acquired(true))
    );
    assert!(driver.check());
    driver.start(LeaseRequest::Acquire);
    assert_eq!(
        driver.next_response().await,
        Some(LeaseResponse::Acquired(false)),
        "this memory lease refuses a second acquire"
    );
    driver.start(LeaseRequest::Release);
    assert_eq!(
        driver.next_response().await,
        Some(LeaseResponse::Released(true))
    );
    assert!(!driver.check());
    assert_eq!(driver.poll(), None);
}
