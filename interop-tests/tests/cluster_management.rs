//! Management HTTP interop: a mixed cluster of one Rekko node and two JVM Pekko 1.7.0 nodes
//! running pekko-management (`ClusterNode --management-port`). `GET /cluster/members` from the
//! Rekko node equals the JVM nodes' answers once `selfNode` (the one field that legitimately
//! differs) is set aside: members, uids, statuses, roles, unreachable, leader, oldest and
//! oldest per role. Single-member lookups, the unknown-member 404, `/ready` and `/alive` answer
//! the same; `PUT operation=Down` on the Rekko node's endpoint downs a JVM member, which the
//! JVM nodes see. Before joining, both answer the same not-ready 500, the same empty status
//! document and, read-only, the same 405. Conditions are polled until a deadline; nothing
//! sleeps as synchronisation.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rekko_cluster::{Address, ClusterNode};
use rekko_interop_tests::managed_rekko::start_managed_rekko;
use rekko_interop_tests::{free_port, require_jvm, FixtureSpec, HarnessError, JvmNode};
use rekko_management::{ClusterMembers, ManagementServer};
use serde_json::Value;

const SYSTEM: &str = "ClusterSystem";
const ANSWER: Duration = Duration::from_secs(30);
const CONVERGE: Duration = Duration::from_secs(90);

fn address(port: u16) -> String {
    format!("pekko://{SYSTEM}@127.0.0.1:{port}")
}

fn encoded(address: &str) -> String {
    address
        .replace(':', "%3A")
        .replace('/', "%2F")
        .replace('@', "%40")
}

/// A JVM `ClusterNode` with pekko-management on `http`; joins `seed` unless it is `None`.
fn start_jvm(
    name: &str,
    port: u16,
    seed: Option<&str>,
    http: u16,
) -> Result<JvmNode, HarnessError> {
    let mut spec = FixtureSpec::new("org.rekko.fixtures.ClusterNode")
        .name(name)
        .args(["--system", SYSTEM, "--port", &port.to_string()])
        .args(["--management-port", &http.to_string()]);
    if let Some(seed) = seed {
        spec = spec.args(["--seeds", seed]);
    }
    tokio::task::block_in_place(|| JvmNode::start(spec))
}

/// A Rekko member (role `rekko`, the JVM fixture's cluster settings) with management HTTP.
async fn start_rekko(port: u16, http: u16, read_only: bool) -> (ClusterNode, ManagementServer) {
    start_managed_rekko(
        SYSTEM,
        port,
        &format!(
            r#"
pekko.cluster {{
  roles = ["rekko"]
  downing-provider-class = "org.apache.pekko.cluster.sbr.SplitBrainResolverProvider"
  split-brain-resolver.active-strategy = keep-majority
  split-brain-resolver.stable-after = 5s
  seed-node-timeout = 3s
  retry-unsuccessful-join-after = 3s
}}
pekko.management.http {{
  hostname = "127.0.0.1"
  port = {http}
  route-providers-read-only = {read_only}
}}
"#
        ),
    )
    .await
}

async fn get(url: &str) -> (u16, String) {
    match reqwest::get(url).await {
        Ok(r) => {
            let status = r.status().as_u16();
            (status, r.text().await.unwrap_or_default())
        }
        // A JVM endpoint may not be bound yet right after READY; report it as no answer.
        Err(e) => (0, e.to_string()),
    }
}

/// The document with `selfNode` set aside and the unordered parts (members, roles) sorted.
#[derive(Debug, PartialEq, Eq)]
struct Normalised {
    keys: BTreeSet<String>,
    doc: ClusterMembers,
}

fn normalise(body: &str) -> Option<Normalised> {
    let raw: Value = serde_json::from_str(body).ok()?;
    let mut keys: BTreeSet<String> = raw.as_object()?.keys().cloned().collect();
    keys.remove("selfNode");
    let mut doc: ClusterMembers = serde_json::from_value(raw).ok()?;
    doc.self_node.clear();
    doc.members.sort_by(|a, b| a.node.cmp(&b.node));
    for m in &mut doc.members {
        m.roles.sort();
    }
    Some(Normalised { keys, doc })
}

/// Polls the three endpoints until their normalised documents are equal and `cond` holds.
async fn await_same_view(
    bases: &[&str],
    what: &str,
    cond: impl Fn(&ClusterMembers) -> bool,
) -> Vec<(String, Normalised)> {
    let deadline = Instant::now() + CONVERGE;
    loop {
        let mut views = Vec::new();
        for base in bases {
            let (status, body) = get(&format!("{base}/cluster/members")).await;
            views.push((status, body));
        }
        let parsed: Vec<Option<Normalised>> = views
            .iter()
            .map(|(s, b)| if *s == 200 { normalise(b) } else { None })
            .collect();
        if parsed
            .iter()
            .all(|p| p.as_ref().is_some_and(|n| cond(&n.doc)))
            && parsed.windows(2).all(|w| w[0] == w[1])
        {
            return views
                .into_iter()
                .zip(parsed)
                .filter_map(|((_, b), p)| p.map(|p| (b, p)))
                .collect();
        }
        assert!(
            Instant::now() < deadline,
            "endpoints never agreed on {what}: {views:#?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn all_up(doc: &ClusterMembers, expected: &[String]) -> bool {
    doc.members.len() == expected.len()
        && expected
            .iter()
            .all(|a| doc.members.iter().any(|m| &m.node == a && m.status == "Up"))
        && doc.unreachable.is_empty()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rekko_management_json_equals_pekko_management() -> Result<(), HarnessError> {
    require_jvm!();
    let (p1, p2, p3) = (free_port()?, free_port()?, free_port()?);
    let (h1, h2, h3) = (free_port()?, free_port()?, free_port()?);
    let seed = address(p1);
    let mut j1 = start_jvm("mgmt-seed", p1, Some(&seed), h1)?;
    let mut j2 = start_jvm("mgmt-second", p2, Some(&seed), h2)?;
    let (rekko, server) = start_rekko(p3, h3, false).await;
    rekko.join_seed_nodes(&[seed.parse::<Address>().expect("seed address")]);

    let (b1, b2) = (
        format!("http://127.0.0.1:{h1}"),
        format!("http://127.0.0.1:{h2}"),
    );
    let b3 = server.base_uri().to_string();
    let bases = [b3.as_str(), b1.as_str(), b2.as_str()];
    let expected = vec![address(p1), address(p2), address(p3)];
    let views = await_same_view(&bases, "three members Up", |d| all_up(d, &expected)).await;

    // The JSON shapes match key for key, and the values carry the whole cluster state.
    let (rekko_body, rekko_view) = &views[0];
    let raw: Value = serde_json::from_str(rekko_body).expect("JSON");
    assert_eq!(raw["selfNode"], address(p3));
    let jvm_raw: Value = serde_json::from_str(&views[1].0).expect("JSON");
    assert_eq!(jvm_raw["selfNode"], address(p1));
    let doc = &rekko_view.doc;
    let lowest = address(p1.min(p2).min(p3));
    assert_eq!(doc.leader.as_deref(), Some(lowest.as_str()));
    assert!(doc.oldest.is_some());
    assert!(doc.oldest_per_role.contains_key("rekko"));
    assert!(doc.oldest_per_role.contains_key("dc-default"));
    let me = doc
        .members
        .iter()
        .find(|m| m.node == address(p3))
        .expect("Rekko member listed");
    assert_eq!(me.node_uid, rekko.self_unique_address().uid.to_string());
    assert_eq!(
        me.roles,
        vec!["dc-default".to_string(), "rekko".to_string()]
    );

    // One member, by encoded address: the same object from Rekko and from the JVM.
    for target in [address(p3), address(p2)] {
        let path = format!("/cluster/members/{}", encoded(&target));
        let (s_r, body_r) = get(&format!("{b3}{path}")).await;
        let (s_j, body_j) = get(&format!("{b1}{path}")).await;
        assert_eq!((s_r, s_j), (200, 200), "{body_r} / {body_j}");
        let mut m_r: Value = serde_json::from_str(&body_r).expect("JSON");
        let mut m_j: Value = serde_json::from_str(&body_j).expect("JSON");
        for m in [&mut m_r, &mut m_j] {
            if let Some(roles) = m["roles"].as_array_mut() {
                roles.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            }
        }
        assert_eq!(m_r, m_j);
    }

    // An unknown member: same status and body.
    let unknown = "/cluster/members/ClusterSystem@127.0.0.1:1";
    let from_rekko = get(&format!("{b3}{unknown}")).await;
    assert_eq!(from_rekko.0, 404);
    assert_eq!(from_rekko, get(&format!("{b1}{unknown}")).await);

    // Health checks: same status codes and bodies.
    for path in ["/ready", "/alive"] {
        let from_rekko = get(&format!("{b3}{path}")).await;
        assert_eq!(from_rekko.0, 200, "{path}");
        assert_eq!(from_rekko, get(&format!("{b1}{path}")).await, "{path}");
    }

    // PUT operation=Down on Rekko's endpoint downs the second JVM node.
    let victim = address(p2);
    let r = reqwest::Client::new()
        .put(format!("{b3}/cluster/members/{}", encoded(&victim)))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("operation=Down")
        .send()
        .await
        .expect("Rekko endpoint answers");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.text().await.expect("body"),
        format!(r#"{{"message":"Downing {victim}"}}"#)
    );
    // The downed JVM node sees itself Down (then Removed) ...
    let deadline = Instant::now() + CONVERGE;
    loop {
        let line = tokio::task::block_in_place(|| j2.request("self", ANSWER))?;
        if line == "SELF Down" || line == "SELF Removed" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "downed JVM node still reports {line}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // ... and the remaining JVM node and Rekko agree it is gone.
    let remaining = vec![address(p1), address(p3)];
    await_same_view(
        &[b3.as_str(), b1.as_str()],
        "the downed node removed",
        |d| all_up(d, &remaining),
    )
    .await;
    let line = tokio::task::block_in_place(|| j1.request("members", ANSWER))?;
    assert!(
        !line.contains(&victim),
        "JVM seed still lists {victim}: {line}"
    );

    server.stop().await;
    rekko.remote().shutdown().await;
    Ok(())
}

/// Nodes that have not joined: the same 500 from `/ready` (the cluster-membership check names
/// itself), the same status document without leader and oldest, and in read-only mode (Pekko
/// Management's default) the same 405 for a PUT.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unjoined_nodes_answer_alike() -> Result<(), HarnessError> {
    require_jvm!();
    let (p1, p2, h1, h2) = (free_port()?, free_port()?, free_port()?, free_port()?);
    let _jvm = start_jvm("mgmt-unjoined", p1, None, h1)?;
    let (rekko, server) = start_rekko(p2, h2, true).await;
    let (bj, br) = (
        format!("http://127.0.0.1:{h1}"),
        server.base_uri().to_string(),
    );
    // The JVM endpoint binds shortly after READY: wait for its first answer.
    let deadline = Instant::now() + CONVERGE;
    while get(&format!("{bj}/alive")).await.0 != 200 {
        assert!(
            Instant::now() < deadline,
            "JVM management endpoint never answered"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    let from_rekko = get(&format!("{br}/ready")).await;
    assert_eq!(from_rekko.0, 500);
    assert_eq!(from_rekko, get(&format!("{bj}/ready")).await);
    assert_eq!(
        get(&format!("{br}/alive")).await,
        get(&format!("{bj}/alive")).await
    );

    let (s_r, body_r) = get(&format!("{br}/cluster/members")).await;
    let (s_j, body_j) = get(&format!("{bj}/cluster/members")).await;
    assert_eq!((s_r, s_j), (200, 200));
    let (n_r, n_j) = (normalise(&body_r), normalise(&body_j));
    assert!(n_r.is_some(), "{body_r}");
    assert_eq!(n_r, n_j, "Rekko {body_r} vs JVM {body_j}");

    let put = |base: &str| {
        reqwest::Client::new()
            .put(format!("{base}/cluster/members/{}", encoded(&address(p1))))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("operation=Down")
            .send()
    };
    let (r, j) = (put(&br).await, put(&bj).await);
    let (r, j) = (r.expect("Rekko answers"), j.expect("JVM answers"));
    assert_eq!((r.status().as_u16(), j.status().as_u16()), (405, 405));
    assert_eq!(r.text().await.ok(), j.text().await.ok());

    server.stop().await;
    rekko.remote().shutdown().await;
    Ok(())
}
