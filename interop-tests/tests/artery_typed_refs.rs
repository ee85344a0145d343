//! Location transparency against a real JVM Pekko node (`SelectionNode`):
//! typed `ActorRef`s for JVM paths whose sender ref the JVM replies to,
//! asks answered to the sender and to the `replyTo` inside a Jackson
//! message, the JVM reaching a Rekko typed actor by its path, and a Rekko
//! ref string resolved by the JVM's own typed `ActorRefResolver`.

use std::time::Duration;

use rekko_actor::remote::{SerializerRegistry, WireError, WireMessage};
use rekko_actor::testkit::TestProbe;
use rekko_actor::{ActorRef, ActorSystem, ActorSystemSettings, Behavior, Behaviors};
use rekko_interop_tests::{require_jvm, FixtureSpec, HarnessError, JvmNode, PekkoVersion};
use rekko_remote::codec::Bytes;
use rekko_remote::typed::{serde_actor_ref, RemoteActorRefProvider};
use rekko_remote::{RemoteNode, RemoteSettings};
use serde::{Deserialize, Serialize};

const ANSWER: Duration = Duration::from_secs(30);

/// `org.rekko.fixtures.SelectionNode$Hello` (Jackson JSON), answered by the
/// JVM's typed `/user/greeter` to its `replyTo`.
#[derive(Serialize, Deserialize)]
struct Hello {
    text: String,
    #[serde(rename = "replyTo", with = "serde_actor_ref")]
    reply_to: ActorRef<String>,
}

impl WireMessage for Hello {
    const SERIALIZER_ID: i32 = 31;
    fn manifest(&self) -> String {
        "org.rekko.fixtures.SelectionNode$Hello".into()
    }
    fn to_bytes(&self) -> Result<Bytes, WireError> {
        serde_json::to_vec(self)
            .map(Bytes::from)
            .map_err(|e| WireError::Decode {
                serializer_id: 31,
                manifest: self.manifest(),
                reason: e.to_string(),
            })
    }
    fn from_bytes(manifest: &str, bytes: &[u8]) -> Result<Self, WireError> {
        serde_json::from_slice(bytes).map_err(|e| WireError::Decode {
            serializer_id: 31,
            manifest: manifest.into(),
            reason: e.to_string(),
        })
    }
}

/// Spawns an actor that forwards `<name>:<text>` to the probe for every String.
struct SpawnTagger {
    name: String,
    probe: ActorRef<String>,
    reply_to: ActorRef<ActorRef<String>>,
}

fn guardian() -> Behavior<SpawnTagger> {
    Behaviors::receive(|ctx, m: SpawnTagger| {
        let tag = m.name.clone();
        let probe = m.probe;
        let r = ctx.spawn(
            Behaviors::receive_message(move |s: String| {
                probe.tell(format!("{tag}:{s}"));
                Behaviors::same()
            }),
            &m.name,
        );
        m.reply_to.tell(r);
        Behaviors::same()
    })
}

fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_test_writer()
        .try_init();
}

fn jvm_request(node: &mut JvmNode, line: &str) -> Result<String, HarnessError> {
    tokio::task::block_in_place(|| node.request(line, ANSWER))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_refs_with_pekko_1_7() -> Result<(), HarnessError> {
    require_jvm!();
    init_logs();
    let mut jvm = tokio::task::block_in_place(|| {
        JvmNode::start(
            FixtureSpec::new("org.rekko.fixtures.SelectionNode")
                .name("artery-typed-refs")
                .version(PekkoVersion::V1_7_0)
                .args(["--system", "SelJvm"]),
        )
    })?;
    let mut settings = ActorSystemSettings::default();
    settings.coordinated_shutdown.run_by_jvm_shutdown_hook = false;
    let system = ActorSystem::new(guardian(), "Rekko", settings).expect("actor system");
    let node = RemoteNode::start(RemoteSettings::new("Rekko", "127.0.0.1", 0))
        .await
        .expect("node");
    let registry = SerializerRegistry::new();
    registry.bind::<Hello>("org.rekko.fixtures.SelectionNode$Hello");
    let provider = RemoteActorRefProvider::new(&node, system.handle(), registry).expect("provider");
    let resolver = provider.resolver();
    let probe = TestProbe::new("probe");
    let p = probe.ref_();
    let inbox: ActorRef<String> = system
        .guardian()
        .ask(
            |reply_to| SpawnTagger {
                name: "inbox".into(),
                probe: p,
                reply_to,
            },
            ANSWER,
        )
        .await
        .expect("inbox spawned");

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

    node.shutdown().await;
    system.terminate();
    system.when_terminated().await;
    tokio::task::block_in_place(|| jvm.quit(ANSWER))?;
    Ok(())
}
