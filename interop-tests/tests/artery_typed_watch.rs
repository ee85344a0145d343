//! A JVM Pekko node (`EchoNode`) death-watches a Rekko typed actor found by
//! its path: the actor stops -> the JVM gets `Terminated`.

use std::time::Duration;

use rekko_actor::remote::SerializerRegistry;
use rekko_actor::testkit::TestProbe;
use rekko_actor::{ActorRef, Behavior, Behaviors};
use rekko_interop_tests::typed_node::TypedNode;
use rekko_interop_tests::{
    require_jvm, write_fixture_conf, FixtureSpec, HarnessError, JvmNode, PekkoVersion,
};

const ANSWER: Duration = Duration::from_secs(30);

/// Spawns `/user/victim`: forwards Strings to the probe, stops on "stop".
struct SpawnVictim {
    probe: ActorRef<String>,
    reply_to: ActorRef<ActorRef<String>>,
}

fn guardian() -> Behavior<SpawnVictim> {
    Behaviors::receive(|ctx, m: SpawnVictim| {
        let probe = m.probe;
        let r = ctx.spawn(
            Behaviors::receive_message(move |s: String| {
                if s == "stop" {
                    Behaviors::stopped()
                } else {
                    probe.tell(s);
                    Behaviors::same()
                }
            }),
            "victim",
        );
        m.reply_to.tell(r);
        Behaviors::same()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pekko_1_7_watches_a_rekko_typed_actor() -> Result<(), HarnessError> {
    require_jvm!();
    let conf = write_fixture_conf(
        "artery-typed-watch.conf",
        "pekko.remote.use-unsafe-remote-features-outside-cluster = on\n",
    )?;
    let mut jvm = tokio::task::block_in_place(|| {
        JvmNode::start(
            FixtureSpec::new("org.rekko.fixtures.EchoNode")
                .name("artery-typed-watch")
                .version(PekkoVersion::V1_7_0)
                .args(["--system", "Watcher", "--config", &conf.to_string_lossy()]),
        )
    })?;
    let rekko = TypedNode::start(guardian(), "Rekko", SerializerRegistry::new()).await;
    let (node, provider) = (&rekko.node, &rekko.provider);
    let probe = TestProbe::new("probe");
    let p = probe.ref_();
    let victim: ActorRef<String> = rekko
        .system
        .guardian()
        .ask(|reply_to| SpawnVictim { probe: p, reply_to }, ANSWER)
        .await
        .expect("victim spawned");
    // The JVM resolves the path with Identify through an actor selection,
    // which matches exposed actors.
    provider.expose(&victim);
    let path = format!("{}/user/victim", node.address());

    let answer = tokio::task::block_in_place(|| jvm.request(&format!("watch {path}"), ANSWER))?;
    assert_eq!(answer, format!("WATCHING {path}"));
    // The watch is in place once the JVM's message sent after it arrives.
    let answer =
        tokio::task::block_in_place(|| jvm.request(&format!("tell {path} after-watch"), ANSWER))?;
    assert_eq!(answer, "SENT");
    assert_eq!(probe.expect_message(ANSWER).await, "after-watch");

    victim.tell("stop".into());
    let line =
        tokio::task::block_in_place(|| jvm.process().wait_for_prefix("TERMINATED ", ANSWER))?;
    assert_eq!(line, format!("TERMINATED {path}"));

    rekko.stop().await;
    tokio::task::block_in_place(|| jvm.quit(ANSWER))?;
    Ok(())
}
