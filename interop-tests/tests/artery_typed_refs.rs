//! Location transparency against a real JVM Pekko node (`SelectionNode`):
//! typed `ActorRef`s for JVM paths whose sender ref the JVM replies to,
//! asks answered to the sender and to the `replyTo` inside a Jackson
//! message, the JVM reaching a Rekko typed actor by its path, and a Rekko
//! ref string resolved by the JVM's own typed `ActorRefResolver`.

use std::time::Duration;

use rekko_actor::remote::SerializerRegistry;
use rekko_actor::testkit::TestProbe;
use rekko_actor::ActorRef;
use rekko_interop_tests::typed_node::{
    spawn_tagger, tagger_guardian, Hello, TypedNode, HELLO_MANIFEST,
};
use rekko_interop_tests::{
    init_test_logs, require_jvm, FixtureSpec, HarnessError, JvmNode, PekkoVersion,
};

const ANSWER: Duration = Duration::from_secs(30);

fn jvm_request(node: &mut JvmNode, line: &str) -> Result<String, HarnessError> {
    tokio::task::block_in_place(|| node.request(line, ANSWER))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_refs_with_pekko_1_7() -> Result<(), HarnessError> {
    require_jvm!();
    init_test_logs();
    let mut jvm = tokio::task::block_in_place(|| {
        JvmNode::start(
            FixtureSpec::new("org.rekko.fixtures.SelectionNode")
                .name("artery-typed-refs")
                .version(PekkoVersion::V1_7_0)
                .args(["--system", "SelJvm"]),
        )
    })?;
    let registry = SerializerRegistry::new();
    registry.bind::<Hello>(HELLO_MANIFEST);
    let rekko = TypedNode::start(tagger_guardian(), "Rekko", registry).await;
    let (node, provider) = (&rekko.node, &rekko.provider);
    let resolver = provider.resolver();
    let probe = TestProbe::new("probe");
    let inbox = spawn_tagger(&rekko.system, "inbox", probe.ref_(), ANSWER).await;

    // 1. A typed ref to a JVM actor; the JVM answers the sender ref, a Rekko actor.
    let worker: ActorRef<String> = resolver
        .resolve_actor_ref(&format!("{}/user/worker-1", jvm.address()))
        .expect("remote ref");
    provider
        .tell_from(&worker, "ping".to_string(), &inbox)
        .expect("sent");
    assert_eq!(probe.expect_message(ANSWER).await, "inbox:worker-1:ping");

    // Ask, answered to the sender (a classic JVM actor).
    let r: String = provider
        .ask(
            &worker,
            |_reply_to: ActorRef<String>| "q".to_string(),
            ANSWER,
        )
        .await
        .expect("ask worker-1");
    assert_eq!(r, "worker-1:q");

    // Ask, answered by a typed JVM actor to the replyTo inside the Jackson message.
    let greeter: ActorRef<Hello> = resolver
        .resolve_actor_ref(&format!("{}/user/greeter", jvm.address()))
        .expect("remote ref");
    let r = provider
        .ask(
            &greeter,
            |reply_to| Hello {
                text: "from the provider".into(),
                reply_to,
            },
            ANSWER,
        )
        .await
        .expect("ask greeter");
    assert_eq!(r, "hello from the provider");
    let r = greeter
        .ask(
            |reply_to| Hello {
                text: "from ActorRef::ask".into(),
                reply_to,
            },
            ANSWER,
        )
        .await
        .expect("ActorRef::ask greeter");
    assert_eq!(r, "hello from ActorRef::ask");
    // replyTo naming a Rekko actor: the JVM's answer lands in it.
    greeter.tell(Hello {
        text: "inbox".into(),
        reply_to: inbox.clone(),
    });
    assert_eq!(probe.expect_message(ANSWER).await, "inbox:hello inbox");

    // 2. The JVM reaches the Rekko typed actor by its path.
    let answer = jvm_request(
        &mut jvm,
        &format!("tell {}/user/inbox from the JVM", node.address()),
    )?;
    assert_eq!(answer, "SENT");
    assert_eq!(probe.expect_message(ANSWER).await, "inbox:from the JVM");

    // 3. The resolver's string form, resolved by the JVM's typed ActorRefResolver.
    let s = resolver.to_serialization_format(&inbox);
    assert_eq!(
        s,
        format!("{}/user/inbox#{}", node.address(), inbox.path().uid)
    );
    let answer = jvm_request(&mut jvm, &format!("resolve-tell {s} round trip"))?;
    assert_eq!(answer, format!("SENT {s}"));
    assert_eq!(probe.expect_message(ANSWER).await, "inbox:round trip");
    // The JVM's own string for its actor resolves here to a working ref.
    let worker_s = resolver.to_serialization_format(&worker);
    let again: ActorRef<String> = resolver.resolve_actor_ref(&worker_s).expect("resolves");
    let r: String = provider
        .ask(&again, |_r: ActorRef<String>| "again".to_string(), ANSWER)
        .await
        .expect("ask again");
    assert_eq!(r, "worker-1:again");

    rekko.stop().await;
    tokio::task::block_in_place(|| jvm.quit(ANSWER))?;
    Ok(())
}
