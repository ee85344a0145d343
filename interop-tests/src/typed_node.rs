//! Rekko typed actor systems with remoting for tests, and the messages of the JVM
//! `SelectionNode` fixture.

use std::time::Duration;

use bytes::Bytes;
use rekko_actor::remote::{SerializerRegistry, WireError, WireMessage};
use rekko_actor::{ActorRef, ActorSystem, ActorSystemSettings, Behavior, Behaviors};
use rekko_remote::typed::{serde_actor_ref, RemoteActorRefProvider};
use rekko_remote::{RemoteNode, RemoteSettings};
use serde::{Deserialize, Serialize};

/// JVM class name (Jackson manifest) of [`Hello`].
pub const HELLO_MANIFEST: &str = "org.rekko.fixtures.SelectionNode$Hello";

/// A request carrying the ref to answer to: `org.rekko.fixtures.SelectionNode$Hello` (Jackson
/// JSON), which the fixture's typed `/user/greeter` answers with `hello <text>` to `replyTo`.
#[derive(Serialize, Deserialize)]
pub struct Hello {
    /// The text to greet.
    pub text: String,
    /// Where the greeting goes.
    #[serde(rename = "replyTo", with = "serde_actor_ref")]
    pub reply_to: ActorRef<String>,
}

impl WireMessage for Hello {
    const SERIALIZER_ID: i32 = 31;
    fn manifest(&self) -> String {
        HELLO_MANIFEST.into()
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

/// An actor that forwards `<tag>:<text>` to `probe` for every String it receives.
pub fn tagger(tag: String, probe: ActorRef<String>) -> Behavior<String> {
    Behaviors::receive_message(move |s: String| {
        probe.tell(format!("{tag}:{s}"));
        Behaviors::same()
    })
}

/// Asks a [`tagger_guardian`] to spawn a [`tagger`] named `name`.
pub struct SpawnTagger {
    /// Name (and tag) of the new actor.
    pub name: String,
    /// Where it forwards.
    pub probe: ActorRef<String>,
    /// Receives the new actor's ref.
    pub reply_to: ActorRef<ActorRef<String>>,
}

/// A guardian that spawns [`tagger`]s on request.
pub fn tagger_guardian() -> Behavior<SpawnTagger> {
    Behaviors::receive(|ctx, m: SpawnTagger| {
        let r = ctx.spawn(tagger(m.name.clone(), m.probe), &m.name);
        m.reply_to.tell(r);
        Behaviors::same()
    })
}

/// Spawns a [`tagger`] named `name` under a [`tagger_guardian`] system.
pub async fn spawn_tagger(
    system: &ActorSystem<SpawnTagger>,
    name: &str,
    probe: ActorRef<String>,
    timeout: Duration,
) -> ActorRef<String> {
    system
        .guardian()
        .ask(
            |reply_to| SpawnTagger {
                name: name.to_string(),
                probe,
                reply_to,
            },
            timeout,
        )
        .await
        .expect("tagger spawned")
}

/// A Rekko actor system named `name` with remoting on 127.0.0.1 (any free port) and a typed
/// ref provider over it.
pub struct TypedNode<G> {
    /// The actor system (its JVM shutdown hook is off).
    pub system: ActorSystem<G>,
    /// Its remoting.
    pub node: RemoteNode,
    /// Typed remote refs of the system.
    pub provider: RemoteActorRefProvider,
}

impl<G: Send + 'static> TypedNode<G> {
    /// Starts the system with `guardian`, its remoting and a provider decoding with `registry`.
    pub async fn start(
        guardian: Behavior<G>,
        name: &str,
        registry: SerializerRegistry,
    ) -> TypedNode<G> {
        let mut settings = ActorSystemSettings::default();
        settings.coordinated_shutdown.run_by_jvm_shutdown_hook = false;
        let system = ActorSystem::new(guardian, name, settings).expect("actor system");
        let node = RemoteNode::start(RemoteSettings::new(name, "127.0.0.1", 0))
            .await
            .expect("remote node");
        let provider =
            RemoteActorRefProvider::new(&node, system.handle(), registry).expect("provider");
        TypedNode {
            system,
            node,
            provider,
        }
    }

    /// Shuts remoting down and terminates the system.
    pub async fn stop(self) {
        self.node.shutdown().await;
        self.system.terminate();
        self.system.when_terminated().await;
    }
}
