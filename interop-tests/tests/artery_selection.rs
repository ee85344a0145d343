//! Actor selection with wildcards, `..`, `Identify` and `resolveOne` in both
//! directions between a Rekko node with an actor system and a real JVM Pekko
//! node (`SelectionNode`); the Rekko actors are plain children of the
//! guardian, found by walking the live actor tree.

use std::time::Duration;

use rekko_actor::remote::SerializerRegistry;
use rekko_actor::testkit::TestProbe;
use rekko_interop_tests::typed_node::{spawn_tagger, tagger_guardian, TypedNode};
use rekko_interop_tests::{
    init_test_logs, require_jvm, FixtureSpec, HarnessError, JvmNode, PekkoVersion,
};

const ANSWER: Duration = Duration::from_secs(30);

fn jvm_request(node: &mut JvmNode, line: &str) -> Result<String, HarnessError> {
    tokio::task::block_in_place(|| node.request(line, ANSWER))
}

async fn selection_both_ways(version: PekkoVersion) -> Result<(), HarnessError> {
    init_test_logs();
    let mut jvm = tokio::task::block_in_place(|| {
        JvmNode::start(
            FixtureSpec::new("org.rekko.fixtures.SelectionNode")
                .name(&format!("artery-selection-{}", version.as_str()))
                .version(version)
                .args(["--system", "SelJvm"]),
        )
    })?;
    let rekko_node = TypedNode::start(tagger_guardian(), "Rekko", SerializerRegistry::new()).await;
    let (node, provider) = (&rekko_node.node, &rekko_node.provider);
    let probe = TestProbe::new("probe");
    let mut spawned = Vec::new();
    for name in ["worker-a", "worker-b", "other", "inbox"] {
        let r = spawn_tagger(&rekko_node.system, name, probe.ref_(), ANSWER).await;
        // Plain children of the guardian, never exposed: selections walk the live actor tree.
        spawned.push(r);
    }
    let inbox = spawned[3].clone();
    let rekko = node.address().to_string();
    let jvm_address = jvm.address().to_string();

    // JVM -> Rekko: Identify through a wildcard selection; the matching Rekko actors answer.
    let answer = jvm_request(&mut jvm, &format!("identify-all {rekko}/user/worker-* 2"))?;
    assert_eq!(
        answer,
        format!("IDENTITIES {rekko}/user/worker-a,{rekko}/user/worker-b")
    );
    // JVM -> Rekko: a message through the wildcard reaches exactly the matches.
    assert_eq!(
        jvm_request(&mut jvm, &format!("tell {rekko}/user/worker-* fan out"))?,
        "SENT"
    );
    let mut got = vec![
        probe.expect_message(ANSWER).await,
        probe.expect_message(ANSWER).await,
    ];
    got.sort();
    assert_eq!(got, vec!["worker-a:fan out", "worker-b:fan out"]);
    assert_eq!(
        jvm_request(&mut jvm, &format!("tell {rekko}/user/other last"))?,
        "SENT"
    );
    // `other` did not match the wildcard: its first message is the one sent to it.
    assert_eq!(probe.expect_message(ANSWER).await, "other:last");
    let answer = jvm_request(&mut jvm, &format!("identify-all {rekko}/user/oth* 1"))?;
    assert_eq!(answer, format!("IDENTITIES {rekko}/user/other"));
    // JVM -> Rekko: `resolveOne` of an exact path gives a ref naming the incarnation (`#uid`)
    // that delivers.
    let other = provider.resolver().to_serialization_format(&spawned[2]);
    assert!(
        other.starts_with(&format!("{rekko}/user/other#")),
        "{other}"
    );
    assert_eq!(
        jvm_request(
            &mut jvm,
            &format!("resolve-one {rekko}/user/other resolved")
        )?,
        format!("RESOLVED {other}")
    );
    assert_eq!(probe.expect_message(ANSWER).await, "other:resolved");

    // JVM -> Rekko: `..` (ActorSelectionMessage pattern type PARENT) walks up
    // through existing actors only, once per branch of a wildcard.
    let answer = jvm_request(
        &mut jvm,
        &format!("identify-all {rekko}/user/worker-a/../other 1"),
    )?;
    assert_eq!(answer, format!("IDENTITIES {rekko}/user/other"));
    assert_eq!(
        jvm_request(
            &mut jvm,
            &format!("identify-one {rekko}/user/nobody/../other")
        )?,
        "IDENTITY none"
    );
    assert_eq!(
        jvm_request(&mut jvm, &format!("tell {rekko}/user/worker-*/../other up"))?,
        "SENT"
    );
    assert_eq!(probe.expect_message(ANSWER).await, "other:up");
    assert_eq!(probe.expect_message(ANSWER).await, "other:up");
    assert_eq!(
        jvm_request(
            &mut jvm,
            &format!("tell {rekko}/user/inbox/../other last-up")
        )?,
        "SENT"
    );
    // Nothing else arrived in between: the next message is the last one.
    assert_eq!(probe.expect_message(ANSWER).await, "other:last-up");

    // Rekko -> JVM: Identify through a wildcard selection.
    let sel = provider
        .actor_selection(&format!("{jvm_address}/user/worker-*"))
        .expect("selection");
    let mut ids = sel.identify().expect("identify");
    let mut found = Vec::new();
    for _ in 0..2 {
        let id = tokio::time::timeout(ANSWER, ids.recv())
            .await
            .expect("an answer in time")
            .expect("answers open");
        let path = id.actor_ref.expect("an actor");
        found.push(path.split('#').next().unwrap_or_default().to_string());
    }
    found.sort();
    assert_eq!(
        found,
        vec![
            format!("{jvm_address}/user/worker-1"),
            format!("{jvm_address}/user/worker-2"),
        ]
    );
    // Rekko -> JVM: a message through the wildcard; both JVM workers answer
    // the Rekko sender.
    sel.tell_from(&"hi".to_string(), &inbox).expect("sent");
    let mut got = vec![
        probe.expect_message(ANSWER).await,
        probe.expect_message(ANSWER).await,
    ];
    got.sort();
    assert_eq!(got, vec!["inbox:worker-1:hi", "inbox:worker-2:hi"]);
    // Nothing matches, or `..` goes up through a JVM actor that does not
    // exist: one ActorIdentity without actor.
    for path in ["/user/nobody-*", "/user/nobody/../other"] {
        let mut none = provider
            .actor_selection(&format!("{jvm_address}{path}"))
            .expect("selection")
            .identify()
            .expect("identify");
        let id = tokio::time::timeout(ANSWER, none.recv())
            .await
            .expect("an answer in time")
            .expect("answers open");
        assert_eq!(id.actor_ref, None, "{path}");
    }
    // Rekko -> JVM: `..` sent as PARENT elements; the JVM walks them.
    let mut up = provider
        .actor_selection(&format!("{jvm_address}/user/worker-1/../other"))
        .expect("selection")
        .identify()
        .expect("identify");
    let id = tokio::time::timeout(ANSWER, up.recv())
        .await
        .expect("an answer in time")
        .expect("answers open");
    let path = id.actor_ref.expect("an actor");
    assert_eq!(
        path.split('#').next().unwrap_or_default(),
        format!("{jvm_address}/user/other")
    );
    // The JVM delivers once per branch of the wildcard, as Rekko does.
    provider
        .actor_selection(&format!("{jvm_address}/user/worker-*/../other"))
        .expect("selection")
        .tell_from(&"up".to_string(), &inbox)
        .expect("sent");
    assert_eq!(probe.expect_message(ANSWER).await, "inbox:other:up");
    assert_eq!(probe.expect_message(ANSWER).await, "inbox:other:up");
    provider
        .actor_selection(&format!("{jvm_address}/user/other/../other"))
        .expect("selection")
        .tell_from(&"last".to_string(), &inbox)
        .expect("sent");
    assert_eq!(probe.expect_message(ANSWER).await, "inbox:other:last");

    rekko_node.stop().await;
    tokio::task::block_in_place(|| jvm.quit(ANSWER))?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wildcard_selection_with_pekko_1_7() -> Result<(), HarnessError> {
    require_jvm!();
    selection_both_ways(PekkoVersion::V1_7_0).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wildcard_selection_with_pekko_1_0() -> Result<(), HarnessError> {
    require_jvm!();
    selection_both_ways(PekkoVersion::V1_0_3).await
}
