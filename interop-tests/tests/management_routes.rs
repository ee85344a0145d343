//! Every route of Pekko Management's cluster HTTP, asked of a Rekko node and of a JVM Pekko
//! 1.7.0 node running pekko-management-cluster-http (`ClusterNode --management-port`) in the
//! same cluster: status code, content type, `Allow` header and body must be equal (JSON compared
//! as text with its key and member order, after sorting what Pekko writes in hash order — roles,
//! oldest per role — and setting aside `selfNode`, the one field that legitimately differs).
//!
//! Read-write mode: joining through `POST /cluster/members`, the member list and single members
//! (full and `system@host:port` addresses, unknown members), `PUT /cluster`, `PUT` with unknown
//! or missing operations, `/cluster/shards`, the rejections (405 with `Allow`, 400 for missing
//! form fields, 404), the health checks, a member leaving through `PUT operation=Leave` and
//! `DELETE`, and `/cluster/domain-events`: the replayed state (members, leader, role leaders)
//! and the events of the member that left. Read-only mode with a `base-path`: the refusals and
//! the routes that remain. A member killed with SIGKILL: the same unreachable document and the
//! same reachability and member events until it is downed and removed. A full cluster shutdown:
//! `PUT /cluster operation=prepare-for-full-shutdown` answers the same on both endpoints, then
//! both list every member `ReadyForShutdown` with the same document and `/ready` fails the same.
//! Conditions are polled until a deadline; nothing sleeps as synchronisation.

use std::path::Path;
use std::time::{Duration, Instant};

use rekko_cluster::ClusterNode;
use rekko_interop_tests::managed_rekko::start_managed_rekko;
use rekko_interop_tests::{free_port, require_jvm, FixtureSpec, HarnessError, JvmNode};
use rekko_management::ManagementServer;
use reqwest::Method;
use serde_json::Value;

const SYSTEM: &str = "ClusterSystem";
const CONVERGE: Duration = Duration::from_secs(90);
const FORM: &str = "application/x-www-form-urlencoded";

fn address(port: u16) -> String {
    format!("pekko://{SYSTEM}@127.0.0.1:{port}")
}

fn encoded(address: &str) -> String {
    address
        .replace(':', "%3A")
        .replace('/', "%2F")
        .replace('@', "%40")
}

fn write_conf(dir: &Path, name: &str, text: &str) -> Result<String, HarnessError> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|source| HarnessError::Io {
        context: format!("writing {}", path.display()),
        source,
    })?;
    Ok(path.display().to_string())
}

/// A JVM `ClusterNode` with pekko-management on `http` and the management settings of `conf`;
/// joins `seed` unless it is `None`.
fn start_jvm(
    name: &str,
    port: u16,
    seed: Option<&str>,
    http: u16,
    conf: &str,
) -> Result<JvmNode, HarnessError> {
    let mut spec = FixtureSpec::new("org.rekko.fixtures.ClusterNode")
        .name(name)
        .args(["--system", SYSTEM, "--port", &port.to_string()])
        .args(["--management-port", &http.to_string(), "--config", conf]);
    if let Some(seed) = seed {
        spec = spec.args(["--seeds", seed]);
    }
    tokio::task::block_in_place(|| JvmNode::start(spec))
}

/// A Rekko member with the JVM fixture's cluster settings (plus role `rekko`), not joined,
/// serving management HTTP on `http` with `management` (HOCON inside `pekko.management`).
async fn start_rekko(port: u16, http: u16, management: &str) -> (ClusterNode, ManagementServer) {
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
pekko.management {{
  http {{ hostname = "127.0.0.1", port = {http} }}
  {management}
}}
"#
        ),
    )
    .await
}

/// What is compared of a response.
#[derive(Debug, PartialEq)]
struct Answer {
    status: u16,
    content_type: String,
    allow: Option<String>,
    body: Body,
}

#[derive(Debug, PartialEq)]
enum Body {
    /// Normalised JSON, written with the key order of the response.
    Json(String),
    Text(String),
}

/// Sorts what Pekko writes in hash order (roles, oldest per role) and drops `selfNode`.
fn normalise(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.shift_remove("selfNode");
            for (key, value) in map.iter_mut() {
                normalise(value);
                if let (true, Value::Array(items)) = (key == "roles", &mut *value) {
                    items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
                }
                if let (true, Value::Object(per_role)) = (key == "oldestPerRole", &mut *value) {
                    // A Scala Map: written in hash order.
                    let mut entries: Vec<(String, Value)> =
                        std::mem::take(per_role).into_iter().collect();
                    entries.sort_by(|a, b| a.0.cmp(&b.0));
                    per_role.extend(entries);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalise),
        _ => {}
    }
}

async fn send(method: &Method, url: &str, form: Option<&str>) -> Answer {
    let mut request = reqwest::Client::new().request(method.clone(), url);
    if let Some(form) = form {
        request = request.header("content-type", FORM).body(form.to_string());
    }
    let response = request.send().await.expect("the endpoint answers");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (status, content_type, allow) = (
        response.status().as_u16(),
        header("content-type").unwrap_or_default(),
        header("allow"),
    );
    let text = response.text().await.expect("a body");
    let body = match serde_json::from_str::<Value>(&text) {
        Ok(mut v) if content_type == "application/json" => {
            normalise(&mut v);
            Body::Json(v.to_string())
        }
        _ => Body::Text(text),
    };
    Answer {
        status,
        content_type,
        allow,
        body,
    }
}

/// Sends the same request to both endpoints and asserts equal answers; returns Rekko's.
async fn same(rekko: &str, jvm: &str, method: Method, path: &str, form: Option<&str>) -> Answer {
    let from_rekko = send(&method, &format!("{rekko}{path}"), form).await;
    let from_jvm = send(&method, &format!("{jvm}{path}"), form).await;
    assert_eq!(
        from_rekko, from_jvm,
        "{method} {path} (form {form:?}): Rekko answered differently from Pekko Management"
    );
    from_rekko
}

/// Waits until `GET {base}/alive` answers 200 (a JVM endpoint binds shortly after READY).
async fn await_endpoint(base: &str) {
    let deadline = Instant::now() + CONVERGE;
    loop {
        if let Ok(r) = reqwest::get(format!("{base}/alive")).await {
            if r.status().as_u16() == 200 {
                return;
            }
        }
        assert!(Instant::now() < deadline, "{base} never answered");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Polls `GET /cluster/members` on every endpoint until each lists exactly `expected`, all Up.
async fn await_all_up(bases: &[&str], expected: &[String]) {
    let deadline = Instant::now() + CONVERGE;
    loop {
        let mut ok = true;
        for base in bases {
            let a = send(&Method::GET, &format!("{base}/cluster/members"), None).await;
            let Some(doc) = (match &a.body {
                Body::Json(text) => serde_json::from_str::<Value>(text).ok(),
                Body::Text(_) => None,
            }) else {
                ok = false;
                continue;
            };
            let members = doc["members"].as_array().cloned().unwrap_or_default();
            ok &= members.len() == expected.len()
                && expected.iter().all(|e| {
                    members
                        .iter()
                        .any(|m| m["node"] == e.as_str() && m["status"] == "Up")
                })
                && doc["unreachable"].as_array().is_some_and(Vec::is_empty);
        }
        if ok {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "members never all Up: {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// One server-sent event: its name and its JSON data, normalised.
type Sse = (String, Value);

/// Reads a `/cluster/domain-events` stream frame by frame.
struct SseReader {
    response: reqwest::Response,
    buf: String,
}

impl SseReader {
    async fn open(url: &str) -> (u16, String, SseReader) {
        let response = reqwest::get(url).await.expect("the stream opens");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let reader = SseReader {
            response,
            buf: String::new(),
        };
        (status, content_type, reader)
    }

    /// The next event (heartbeats skipped); `None` when `deadline` passes first.
    async fn next(&mut self, deadline: Instant) -> Option<Sse> {
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let frame: String = self.buf.drain(..end + 2).collect();
                let (mut kind, mut data) = (String::new(), String::new());
                for line in frame.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        kind = v.trim_start().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.strip_prefix(' ').unwrap_or(v));
                    }
                }
                if kind.is_empty() && data.is_empty() {
                    continue;
                }
                let mut value: Value = serde_json::from_str(&data).expect("JSON event data");
                normalise(&mut value);
                return Some((kind, value));
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            match tokio::time::timeout(left, self.response.chunk()).await {
                Ok(Ok(Some(chunk))) => self.buf.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(_) | Err(_) => return None,
            }
        }
    }

    /// Events until `done` holds for those read so far; panics naming them at the deadline.
    async fn until(&mut self, what: &str, done: impl Fn(&[Sse]) -> bool) -> Vec<Sse> {
        let deadline = Instant::now() + CONVERGE;
        let mut events = Vec::new();
        while !done(&events) {
            match self.next(deadline).await {
                Some(e) => events.push(e),
                None => panic!("stream never showed {what}; read {events:#?}"),
            }
        }
        events
    }
}

fn about(events: &[Sse], node: &str) -> Vec<Sse> {
    events
        .iter()
        .filter(|(_, d)| d["member"]["uniqueAddress"]["address"] == node)
        .cloned()
        .collect()
}

fn has(events: &[Sse], kind: &str, pred: impl Fn(&Value) -> bool) -> bool {
    events.iter().any(|(k, d)| k == kind && pred(d))
}

/// The events as text (JSON with its key order), sorted.
fn sorted(events: &[Sse]) -> Vec<String> {
    let mut texts = texts(events);
    texts.sort();
    texts
}

/// The events as text: `<event> <JSON data with its key order>`.
fn texts(events: &[Sse]) -> Vec<String> {
    events.iter().map(|(k, d)| format!("{k} {d}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_read_write_route_answers_as_pekko_management() -> Result<(), HarnessError> {
    require_jvm!();
    let dir = tempfile::tempdir().map_err(|source| HarnessError::Io {
        context: "creating a temporary directory".to_string(),
        source,
    })?;
    let conf = write_conf(
        dir.path(),
        "read-write.conf",
        "pekko.management.http.route-providers-read-only = false\n",
    )?;
    let (p1, p2, p3) = (free_port()?, free_port()?, free_port()?);
    let (h1, h2, h3) = (free_port()?, free_port()?, free_port()?);
    let seed = address(p1);
    let _j1 = start_jvm("mgmt-routes-seed", p1, Some(&seed), h1, &conf)?;
    let _j2 = start_jvm("mgmt-routes-second", p2, None, h2, &conf)?;
    let (rekko, server) = start_rekko(p3, h3, "http.route-providers-read-only = false").await;
    let (jvm, second) = (
        format!("http://127.0.0.1:{h1}"),
        format!("http://127.0.0.1:{h2}"),
    );
    let ours = server.base_uri().to_string();
    await_endpoint(&jvm).await;
    await_endpoint(&second).await;

    // Both unjoined nodes join the seed through POST /cluster/members.
    let join = format!("address={}", encoded(&seed));
    let from_rekko = send(
        &Method::POST,
        &format!("{ours}/cluster/members"),
        Some(&join),
    )
    .await;
    let from_jvm = send(
        &Method::POST,
        &format!("{second}/cluster/members"),
        Some(&join),
    )
    .await;
    assert_eq!(from_rekko, from_jvm);
    assert_eq!(
        from_rekko.body,
        Body::Json(format!(r#"{{"message":"Joining {seed}"}}"#))
    );
    let (a1, a2, a3) = (address(p1), address(p2), address(p3));
    let all = vec![a1.clone(), a2.clone(), a3.clone()];
    await_all_up(&[&ours, &jvm, &second], &all).await;

    // The replayed state on an unfiltered event stream: members Up, the leader, role leaders.
    let roles_done = |events: &[Sse]| {
        all.iter().all(|a| {
            has(events, "MemberUp", |d| {
                d["member"]["uniqueAddress"]["address"] == a.as_str()
            })
        }) && has(events, "LeaderChanged", |_| true)
            && has(events, "RoleLeaderChanged", |d| d["role"] == "rekko")
            && has(events, "RoleLeaderChanged", |d| d["role"] == "dc-default")
    };
    let (s_r, ct_r, mut all_r) = SseReader::open(&format!("{ours}/cluster/domain-events")).await;
    let (s_j, ct_j, mut all_j) = SseReader::open(&format!("{jvm}/cluster/domain-events")).await;
    assert_eq!((s_r, ct_r.as_str()), (s_j, ct_j.as_str()));
    assert_eq!(s_r, 200);
    let replay_r = all_r.until("the replayed state", roles_done).await;
    let replay_j = all_j.until("the replayed state", roles_done).await;
    assert_eq!(sorted(&replay_r), sorted(&replay_j));
    let lowest = address(p1.min(p2).min(p3));
    assert!(
        has(&replay_r, "LeaderChanged", |d| d["address"]
            == lowest.as_str()),
        "{replay_r:#?}"
    );
    assert!(
        has(&replay_r, "RoleLeaderChanged", |d| d["address"]
            == a3.as_str()
            && d["role"] == "rekko"),
        "{replay_r:#?}"
    );

    // Member events only, from here on both streams see the second JVM node leave.
    let member_events = "/cluster/domain-events?type=MemberEvent";
    let (_, _, mut members_r) = SseReader::open(&format!("{ours}{member_events}")).await;
    let (_, _, mut members_j) = SseReader::open(&format!("{jvm}{member_events}")).await;

    // The routes, request by request.
    let (g, put, post, del) = (Method::GET, Method::PUT, Method::POST, Method::DELETE);
    let members = same(&ours, &jvm, g.clone(), "/cluster/members", None).await;
    assert_eq!(members.status, 200);
    same(&ours, &jvm, g.clone(), "/cluster/members/", None).await;
    for target in [&a3, &a2] {
        let full = format!("/cluster/members/{}", encoded(target));
        assert_eq!(same(&ours, &jvm, g.clone(), &full, None).await.status, 200);
        let host_port = format!("/cluster/members/{}", &target["pekko://".len()..]);
        assert_eq!(
            same(&ours, &jvm, g.clone(), &host_port, None).await.status,
            200
        );
    }
    let unknown = format!("/cluster/members/{}", encoded(&address(1)));
    for (method, form) in [
        (g.clone(), None),
        (put.clone(), Some("operation=Down")),
        (del.clone(), None),
    ] {
        let a = same(&ours, &jvm, method, &unknown, form).await;
        assert_eq!(a.status, 404);
    }
    let second_member = format!("/cluster/members/{}", encoded(&a2));
    for (method, path, form, status) in [
        (g.clone(), "/cluster", None, 405),
        (put.clone(), "/cluster", None, 400),
        (put.clone(), "/cluster", Some("operation=Bogus"), 400),
        (put.clone(), "/cluster/", Some("operation=Bogus"), 400),
        (
            put.clone(),
            second_member.as_str(),
            Some("operation=Join"),
            400,
        ),
        (
            put.clone(),
            second_member.as_str(),
            Some("operation=Bogus"),
            400,
        ),
        (put.clone(), second_member.as_str(), None, 400),
        (post.clone(), second_member.as_str(), None, 405),
        (Method::PATCH, second_member.as_str(), None, 405),
        (post.clone(), "/cluster/members", None, 400),
        (Method::PATCH, "/cluster/members", None, 405),
        (Method::HEAD, "/cluster/members", None, 405),
        (Method::OPTIONS, "/cluster/members", None, 405),
        (Method::HEAD, "/ready", None, 405),
        (g.clone(), "/cluster/shards", None, 200),
        (del.clone(), "/cluster/shards", None, 405),
        (g.clone(), "/cluster/shards/Cart", None, 404),
        (post.clone(), "/cluster/shards/Cart", None, 405),
        (post.clone(), "/cluster/domain-events", None, 405),
        (g.clone(), "/ready", None, 200),
        (g.clone(), "/alive", None, 200),
        (g.clone(), "/startup", None, 200),
        (post.clone(), "/ready", None, 405),
        (g.clone(), "/ready/", None, 404),
        (g.clone(), "/clusters", None, 404),
        (g.clone(), "/", None, 404),
    ] {
        let a = same(&ours, &jvm, method.clone(), path, form).await;
        assert_eq!(a.status, status, "{method} {path} {form:?}: {a:?}");
    }

    // The second JVM node leaves: PUT operation=Leave and DELETE on both endpoints at once
    // (removal takes gossip rounds, so all four find it a member).
    let (on_rekko, on_jvm) = (
        format!("{ours}{second_member}"),
        format!("{jvm}{second_member}"),
    );
    let (put_r, put_j, del_r, del_j) = futures::join!(
        send(&put, &on_rekko, Some("operation=Leave")),
        send(&put, &on_jvm, Some("operation=Leave")),
        send(&del, &on_rekko, None),
        send(&del, &on_jvm, None),
    );
    let leaving = Body::Json(format!(r#"{{"message":"Leaving {a2}"}}"#));
    for a in [&put_r, &put_j, &del_r, &del_j] {
        assert_eq!((a.status, &a.body), (200, &leaving));
    }
    assert_eq!((&put_r, &del_r), (&put_j, &del_j));

    let removed = |events: &[Sse]| {
        has(events, "MemberRemoved", |d| {
            d["member"]["uniqueAddress"]["address"] == a2.as_str()
        })
    };
    let seen_r = about(&members_r.until("the member removed", removed).await, &a2);
    let seen_j = about(&members_j.until("the member removed", removed).await, &a2);
    let kinds: Vec<&str> = seen_j.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        ["MemberUp", "MemberLeft", "MemberExited", "MemberRemoved"],
        "{seen_j:#?}"
    );
    assert_eq!(texts(&seen_r), texts(&seen_j));
    await_all_up(&[&ours, &jvm], &[a1.clone(), a3.clone()]).await;
    same(&ours, &jvm, g.clone(), "/cluster/members", None).await;
    same(&ours, &jvm, g.clone(), &second_member, None).await;

    drop((all_r, all_j, members_r, members_j));
    server.stop().await;
    rekko.remote().shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_routes_under_a_base_path_answer_as_pekko_management() -> Result<(), HarnessError>
{
    require_jvm!();
    let dir = tempfile::tempdir().map_err(|source| HarnessError::Io {
        context: "creating a temporary directory".to_string(),
        source,
    })?;
    let management = r#"http.base-path = "ops/cluster-admin"
  cluster.health-check.ready-states = ["Up", "Removed"]"#;
    let conf = write_conf(
        dir.path(),
        "read-only.conf",
        &format!("pekko.management {{\n  {management}\n}}\n"),
    )?;
    let (p1, p2, h1, h2) = (free_port()?, free_port()?, free_port()?, free_port()?);
    let _jvm = start_jvm("mgmt-routes-read-only", p1, None, h1, &conf)?;
    let (rekko, server) = start_rekko(p2, h2, management).await;
    let jvm = format!("http://127.0.0.1:{h1}/ops/cluster-admin");
    let ours = server.base_uri().to_string();
    assert_eq!(ours, format!("http://127.0.0.1:{h2}/ops/cluster-admin"));
    await_endpoint(&jvm).await;

    let member = format!("/cluster/members/{}", encoded(&address(p1)));
    let (g, put, post, del) = (Method::GET, Method::PUT, Method::POST, Method::DELETE);
    let join = format!("address={}", encoded(&address(p1)));
    for (method, path, form, status) in [
        // Not a member, and `Removed` is a ready state: ready, as Pekko's selfMember is Removed.
        (g.clone(), "/ready", None, 200),
        (g.clone(), "/alive", None, 200),
        (g.clone(), "/cluster/members", None, 200),
        (g.clone(), "/cluster/members/", None, 200),
        (post.clone(), "/cluster/members", Some(join.as_str()), 405),
        (post.clone(), "/cluster/members", None, 405),
        (put.clone(), member.as_str(), Some("operation=Down"), 405),
        (del.clone(), member.as_str(), None, 405),
        (g.clone(), member.as_str(), None, 404),
        (
            put.clone(),
            "/cluster",
            Some("operation=prepare-for-full-shutdown"),
            404,
        ),
        (g.clone(), "/cluster/shards", None, 404),
        (g.clone(), "/cluster/shards/Cart", None, 404),
        (post.clone(), "/cluster/domain-events", None, 405),
    ] {
        let a = same(&ours, &jvm, method.clone(), path, form).await;
        assert_eq!(a.status, status, "{method} {path} {form:?}: {a:?}");
    }
    // Outside the base path nothing is served.
    let root = |base: &str| base.trim_end_matches("/ops/cluster-admin").to_string();
    for path in ["/ready", "/cluster/members"] {
        let a = same(&root(&ours), &root(&jvm), g.clone(), path, None).await;
        assert_eq!(a.status, 404, "{path}");
    }
    // An unjoined node's event stream replays nothing but stays open.
    let (s_r, ct_r, _) = SseReader::open(&format!("{ours}/cluster/domain-events")).await;
    let (s_j, ct_j, _) = SseReader::open(&format!("{jvm}/cluster/domain-events")).await;
    assert_eq!((s_r, ct_r), (s_j, ct_j));

    server.stop().await;
    rekko.remote().shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_member_and_its_downing_answer_as_pekko_management(
) -> Result<(), HarnessError> {
    require_jvm!();
    let dir = tempfile::tempdir().map_err(|source| HarnessError::Io {
        context: "creating a temporary directory".to_string(),
        source,
    })?;
    let conf = write_conf(dir.path(), "default.conf", "")?;
    let (p1, p2, p3) = (free_port()?, free_port()?, free_port()?);
    let (h1, h2, h3) = (free_port()?, free_port()?, free_port()?);
    let seed = address(p1);
    let _j1 = start_jvm("mgmt-unreachable-seed", p1, Some(&seed), h1, &conf)?;
    let mut j2 = start_jvm("mgmt-unreachable-victim", p2, Some(&seed), h2, &conf)?;
    let (rekko, server) = start_rekko(p3, h3, "").await;
    rekko.join_seed_nodes(&[seed.parse().expect("seed address")]);
    let jvm = format!("http://127.0.0.1:{h1}");
    let ours = server.base_uri().to_string();
    await_endpoint(&jvm).await;
    let (a1, a2, a3) = (address(p1), address(p2), address(p3));
    await_all_up(&[&ours, &jvm], &[a1.clone(), a2.clone(), a3.clone()]).await;

    let events = "/cluster/domain-events?type=ReachabilityEvent&type=MemberEvent";
    let (_, _, mut events_r) = SseReader::open(&format!("{ours}{events}")).await;
    let (_, _, mut events_j) = SseReader::open(&format!("{jvm}{events}")).await;
    tokio::task::block_in_place(|| j2.kill())?;

    // Both endpoints report the killed node unreachable, observed by both survivors, with the
    // same document; then the split brain resolver downs it and both list two members.
    let observers = {
        let mut o = vec![a1.clone(), a3.clone()];
        o.sort();
        o
    };
    let deadline = Instant::now() + CONVERGE;
    loop {
        let from_rekko = send(&Method::GET, &format!("{ours}/cluster/members"), None).await;
        let from_jvm = send(&Method::GET, &format!("{jvm}/cluster/members"), None).await;
        let unreachable = match &from_rekko.body {
            Body::Json(text) => serde_json::from_str::<Value>(text)
                .map(|v| v["unreachable"].clone())
                .unwrap_or_default(),
            Body::Text(_) => Value::Null,
        };
        let expected = serde_json::json!([{ "node": a2, "observedBy": observers }]);
        if unreachable == expected && from_rekko == from_jvm {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never the same unreachable view: Rekko {from_rekko:?} JVM {from_jvm:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let removed = |events: &[Sse]| {
        has(events, "MemberRemoved", |d| {
            d["member"]["uniqueAddress"]["address"] == a2.as_str()
        })
    };
    let seen_r = about(&events_r.until("the member removed", removed).await, &a2);
    let seen_j = about(&events_j.until("the member removed", removed).await, &a2);
    let kinds: Vec<&str> = seen_j.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "MemberUp",
            "UnreachableMember",
            "MemberDowned",
            "MemberRemoved"
        ],
        "{seen_j:#?}"
    );
    assert_eq!(texts(&seen_r), texts(&seen_j));
    await_all_up(&[&ours, &jvm], &[a1.clone(), a3.clone()]).await;
    same(&ours, &jvm, Method::GET, "/cluster/members", None).await;

    drop((events_r, events_j));
    server.stop().await;
    rekko.remote().shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_cluster_shutdown_answers_and_reads_the_same() -> Result<(), HarnessError> {
    require_jvm!();
    let dir = tempfile::tempdir().map_err(|source| HarnessError::Io {
        context: "creating a temporary directory".to_string(),
        source,
    })?;
    let conf = write_conf(
        dir.path(),
        "read-write.conf",
        "pekko.management.http.route-providers-read-only = false\n",
    )?;
    let (p1, p3, h1, h3) = (free_port()?, free_port()?, free_port()?, free_port()?);
    let seed = address(p1);
    let _j1 = start_jvm("mgmt-full-shutdown", p1, Some(&seed), h1, &conf)?;
    let (rekko, server) = start_rekko(p3, h3, "http.route-providers-read-only = false").await;
    rekko.join_seed_nodes(&[seed.parse().expect("seed address")]);
    let jvm = format!("http://127.0.0.1:{h1}");
    let ours = server.base_uri().to_string();
    await_endpoint(&jvm).await;
    await_all_up(&[&ours, &jvm], &[address(p1), address(p3)]).await;

    // Rekko's endpoint is asked first (Rekko starts the shutdown), then the JVM's: the same
    // answer from both.
    let a = same(
        &ours,
        &jvm,
        Method::PUT,
        "/cluster",
        Some("operation=prepare-for-full-shutdown"),
    )
    .await;
    assert_eq!(
        (a.status, a.body),
        (
            200,
            Body::Json(r#"{"message":"Preparing for full cluster shutdown"}"#.to_string())
        )
    );
    let deadline = Instant::now() + CONVERGE;
    loop {
        let from_rekko = send(&Method::GET, &format!("{ours}/cluster/members"), None).await;
        let from_jvm = send(&Method::GET, &format!("{jvm}/cluster/members"), None).await;
        let all_ready = match &from_jvm.body {
            Body::Json(text) => serde_json::from_str::<Value>(text).is_ok_and(|v| {
                v["members"].as_array().is_some_and(|ms| {
                    ms.len() == 2 && ms.iter().all(|m| m["status"] == "ReadyForShutdown")
                })
            }),
            Body::Text(_) => false,
        };
        if all_ready && from_rekko == from_jvm {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never the same ReadyForShutdown view: Rekko {from_rekko:?} JVM {from_jvm:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let ready = same(&ours, &jvm, Method::GET, "/ready", None).await;
    assert_eq!(ready.status, 500);

    server.stop().await;
    rekko.remote().shutdown().await;
    Ok(())
}
