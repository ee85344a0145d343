//! Location transparency between two Rekko nodes, each with an actor
//! system: typed remote refs, sender refs that can be replied to, asks with
//! the reply ref inside the message, the resolver's string form, wildcard
//! selection with `Identify`, and unbound messages dropped with a warning.

use std::time::Duration;

use bytes::Bytes;
use rekko_actor::remote::SerializerRegistry;
use rekko_actor::testkit::TestProbe;
use rekko_actor::{ActorRef, Behavior, Behaviors};
use rekko_interop_tests::typed_node::{tagger, Hello, TypedNode, HELLO_MANIFEST};
use rekko_remote::typed::RefError;
use rekko_remote::{RemoteEvent, SerializedMessage};

const WAIT: Duration = Duration::from_secs(20);

enum Guardian {
    /// Spawns an actor that forwards `<name>:<text>` to `probe` for every String.
    Tagger {
        name: String,
        probe: ActorRef<String>,
        reply_to: ActorRef<ActorRef<String>>,
    },
    /// Spawns an actor answering `hello <text>` to a Hello's replyTo.
    Greeter { reply_to: ActorRef<ActorRef<Hello>> },
}

fn guardian() -> Behavior<Guardian> {
    Behaviors::receive(|ctx, msg| {
        match msg {
            Guardian::Tagger {
                name,
                probe,
                reply_to,
            } => {
                let r = ctx.spawn(tagger(name.clone(), probe), &name);
                reply_to.tell(r);
            }
            Guardian::Greeter { reply_to } => {
                let r = ctx.spawn(
                    Behaviors::receive_message(|h: Hello| {
                        h.reply_to.tell(format!("hello {}", h.text));
                        Behaviors::same()
                    }),
                    "greeter",
                );
                reply_to.tell(r);
            }
        }
        Behaviors::same()
    })
}

/// One Rekko node of the test: an actor system with remoting and typed refs.
struct Side(TypedNode<Guardian>);

impl std::ops::Deref for Side {
    type Target = TypedNode<Guardian>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Side {
    async fn start(name: &str) -> Side {
        let registry = SerializerRegistry::new();
        registry.bind::<Hello>(HELLO_MANIFEST);
        Side(TypedNode::start(guardian(), name, registry).await)
    }

    async fn tagger(&self, name: &str, probe: &TestProbe<String>) -> ActorRef<String> {
        let probe = probe.ref_();
        self.system
            .guardian()
            .ask(
                |reply_to| Guardian::Tagger {
                    name: name.to_string(),
                    probe,
                    reply_to,
                },
                WAIT,
            )
            .await
            .expect("spawned")
    }

    async fn stop(self) {
        self.0.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolver_string_form_has_node_address_and_uid_and_resolves_back() {
    let a = Side::start("RekkoA").await;
    let probe = TestProbe::new("p");
    let inbox = a.tagger("inbox", &probe).await;
    let resolver = a.provider.resolver();
    let s = resolver.to_serialization_format(&inbox);
    let prefix = format!("{}/user/inbox#", a.node.address());
    assert!(s.starts_with(&prefix), "{s}");
    assert_eq!(
        s[prefix.len()..].parse::<i32>().ok(),
        Some(inbox.path().uid)
    );
    let back: ActorRef<String> = resolver.resolve_actor_ref(&s).expect("resolves");
    assert_eq!(back, inbox);
    back.tell("local".into());
    assert_eq!(probe.expect_message(WAIT).await, "inbox:local");
    // The system's own local form resolves too.
    let local: ActorRef<String> = resolver
        .resolve_actor_ref("pekko://RekkoA/user/inbox")
        .expect("local form");
    assert_eq!(local, inbox);
    // Wrong uid, wrong type, missing actor.
    let wrong_uid = format!("{prefix}{}", inbox.path().uid.wrapping_add(1));
    assert!(matches!(
        resolver.resolve_actor_ref::<String>(&wrong_uid),
        Err(RefError::NotFound(_))
    ));
    assert!(matches!(
        resolver.resolve_actor_ref::<Hello>(&s),
        Err(RefError::WrongType { .. })
    ));
    assert!(matches!(
        resolver.resolve_actor_ref::<String>("no path"),
        Err(RefError::InvalidPath { .. })
    ));
    // A path of another node gives a remote ref with that path.
    let remote: ActorRef<String> = resolver
        .resolve_actor_ref("pekko://Other@127.0.0.1:1/user/x#5")
        .expect("remote ref");
    assert_eq!(
        resolver.to_serialization_format(&remote),
        "pekko://Other@127.0.0.1:1/user/x#5"
    );
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_refs_send_reply_and_ask_between_nodes() {
    let a = Side::start("RekkoA").await;
    let b = Side::start("RekkoB").await;
    let probe_a = TestProbe::new("a");
    let probe_b = TestProbe::new("b");
    let inbox_a = a.tagger("inbox", &probe_a).await;
    let _inbox_b = b.tagger("inbox", &probe_b).await;
    b.node.register_echo("/user/echo");

    // A tells B's typed actor by path.
    let to_b: ActorRef<String> = a
        .provider
        .resolver()
        .resolve_actor_ref(&format!("{}/user/inbox", b.node.address()))
        .expect("remote ref");
    to_b.tell("over the wire".into());
    assert_eq!(probe_b.expect_message(WAIT).await, "inbox:over the wire");

    // The sender ref A puts on the envelope is one B can reply to.
    let echo: ActorRef<String> = a
        .provider
        .resolver()
        .resolve_actor_ref(&format!("{}/user/echo", b.node.address()))
        .expect("remote ref");
    a.provider
        .tell_from(&echo, "bounce".to_string(), &inbox_a)
        .expect("sent");
    assert_eq!(probe_a.expect_message(WAIT).await, "inbox:bounce");

    // Ask answered to the sender (classic style).
    let r: String = a
        .provider
        .ask(
            &echo,
            |_reply_to: ActorRef<String>| "ping".to_string(),
            WAIT,
        )
        .await
        .expect("ask");
    assert_eq!(r, "ping");

    // Ask answered to the replyTo inside the message (typed style), by the
    // provider and by ActorRef::ask.
    let greeter_b: ActorRef<Hello> = b
        .system
        .guardian()
        .ask(|reply_to| Guardian::Greeter { reply_to }, WAIT)
        .await
        .expect("greeter");
    let greeter_s = b.provider.resolver().to_serialization_format(&greeter_b);
    let greeter: ActorRef<Hello> = a
        .provider
        .resolver()
        .resolve_actor_ref(&greeter_s)
        .expect("remote ref");
    let r = a
        .provider
        .ask(
            &greeter,
            |reply_to| Hello {
                text: "provider".into(),
                reply_to,
            },
            WAIT,
        )
        .await
        .expect("ask greeter");
    assert_eq!(r, "hello provider");
    let r = greeter
        .ask(
            |reply_to| Hello {
                text: "ActorRef::ask".into(),
                reply_to,
            },
            WAIT,
        )
        .await
        .expect("ActorRef::ask greeter");
    assert_eq!(r, "hello ActorRef::ask");

    // A ref inside a message pointing at a local actor: B's greeter answers A's inbox.
    greeter.tell(Hello {
        text: "inbox".into(),
        reply_to: inbox_a.clone(),
    });
    assert_eq!(probe_a.expect_message(WAIT).await, "inbox:hello inbox");

    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbound_manifest_is_dropped_naming_serializer_and_manifest() {
    let a = Side::start("RekkoA").await;
    let b = Side::start("RekkoB").await;
    let probe_b = TestProbe::new("b");
    let _inbox_b = b.tagger("inbox", &probe_b).await;
    let mut events = b.node.subscribe();
    let path = format!("{}/user/inbox", b.node.address());
    a.node
        .tell(
            &path,
            None,
            SerializedMessage {
                serializer_id: 31,
                manifest: "com.example.Unknown".into(),
                payload: Bytes::from_static(b"{}"),
            },
        )
        .expect("sent");
    let reason = loop {
        match tokio::time::timeout(WAIT, events.recv()).await {
            Ok(Ok(RemoteEvent::MessageDropped { reason })) => break reason,
            Ok(Ok(_)) => continue,
            other => panic!("no drop event: {other:?}"),
        }
    };
    assert!(reason.contains("31"), "{reason}");
    assert!(reason.contains("com.example.Unknown"), "{reason}");
    // The connection lives: the next message arrives.
    a.node
        .tell(&path, None, SerializedMessage::string("after"))
        .expect("sent");
    assert_eq!(probe_b.expect_message(WAIT).await, "inbox:after");
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wildcard_selection_and_identify_between_nodes() {
    let a = Side::start("RekkoA").await;
    let b = Side::start("RekkoB").await;
    let probe_a = TestProbe::new("a");
    let probe_b = TestProbe::new("b");
    let inbox_a = a.tagger("inbox", &probe_a).await;
    // Plain children of the guardian: no exposure needed to be selected.
    let mut identities = Vec::new();
    for name in ["worker-1", "worker-2", "other"] {
        let r = b.tagger(name, &probe_b).await;
        identities.push(b.provider.resolver().to_serialization_format(&r));
    }
    let uid = identities[0]
        .strip_prefix(&format!("{}/user/worker-1#", b.node.address()))
        .and_then(|u| u.parse::<i32>().ok());
    assert!(uid.is_some_and(|u| u != 0), "{}", identities[0]);
    let sel = a
        .provider
        .actor_selection(&format!("{}/user/worker-*", b.node.address()))
        .expect("selection");
    let mut ids = sel.identify().expect("identify");
    let mut found = Vec::new();
    for _ in 0..2 {
        let id = tokio::time::timeout(WAIT, ids.recv())
            .await
            .expect("answer")
            .expect("open");
        found.push(id.actor_ref.expect("an actor"));
    }
    found.sort();
    // Each identity names the incarnation (`#uid`).
    assert_eq!(found, identities[..2].to_vec());
    // An exact path (the JVM's `resolveOne`) and `..` reach a plain child too.
    for path in ["/user/other", "/user/worker-1/../other"] {
        let exact = a
            .provider
            .actor_selection(&format!("{}{path}", b.node.address()))
            .expect("selection");
        let mut ids = exact.identify().expect("identify");
        let id = tokio::time::timeout(WAIT, ids.recv())
            .await
            .expect("answer")
            .expect("open");
        assert_eq!(
            id.actor_ref.as_deref(),
            Some(identities[2].as_str()),
            "{path}"
        );
    }
    // Messages fan out to the matches, with a sender they can be answered at.
    sel.tell_from(&"fan".to_string(), &inbox_a).expect("sent");
    let mut got = vec![
        probe_b.expect_message(WAIT).await,
        probe_b.expect_message(WAIT).await,
    ];
    got.sort();
    assert_eq!(got, vec!["worker-1:fan", "worker-2:fan"]);
    // Nothing matches, or `..` walks up through an actor that does not
    // exist (Pekko walks through existing actors): one answer without actor.
    for path in ["/user/nobody-*", "/user/nobody/../other"] {
        let none = a
            .provider
            .actor_selection(&format!("{}{path}", b.node.address()))
            .expect("selection");
        let mut ids = none.identify().expect("identify");
        let id = tokio::time::timeout(WAIT, ids.recv())
            .await
            .expect("answer")
            .expect("open");
        assert_eq!(id.actor_ref, None, "{path}");
    }
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selection_of_the_own_address_is_delivered_locally() {
    let a = Side::start("RekkoA").await;
    let probe = TestProbe::new("a");
    let inbox = a.tagger("inbox", &probe).await;
    let worker = a.tagger("worker-1", &probe).await;
    let me = a.node.address().to_string();
    let worker_id = a.provider.resolver().to_serialization_format(&worker);
    for path in ["/user/worker-*", "/user/inbox/../worker-1"] {
        let sel = a
            .provider
            .actor_selection(&format!("{me}{path}"))
            .expect("selection");
        let mut ids = sel.identify().expect("identify");
        let id = tokio::time::timeout(WAIT, ids.recv())
            .await
            .expect("answer")
            .expect("open");
        assert_eq!(id.actor_ref.as_deref(), Some(worker_id.as_str()), "{path}");
        sel.tell_from(&"local".to_string(), &inbox).expect("sent");
        assert_eq!(probe.expect_message(WAIT).await, "worker-1:local", "{path}");
    }
    // Nothing went over a connection.
    assert_eq!(a.node.stream_stats(), rekko_remote::StreamStats::default());
    a.stop().await;
}
