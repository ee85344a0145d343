//! The remoting boundary: a wire-bound message type is decoded from (serializer id, manifest,
//! bytes) and delivered to a local actor by path and uid; the scheduler runs and cancels tasks.

use std::time::Duration;

use bytes::Bytes;
use rekko_actor::remote::{SerializerRegistry, WireError, WireMessage};
use rekko_actor::testkit::TestProbe;
use rekko_actor::{ActorPath, ActorSystem, ActorSystemSettings, Behaviors};

#[derive(Debug, PartialEq)]
struct Greeting(String);

impl WireMessage for Greeting {
    const SERIALIZER_ID: i32 = 31;
    fn manifest(&self) -> String {
        "org.example.Greeting".into()
    }
    fn to_bytes(&self) -> Result<Bytes, WireError> {
        Ok(Bytes::from(self.0.clone().into_bytes()))
    }
    fn from_bytes(manifest: &str, bytes: &[u8]) -> Result<Self, WireError> {
        String::from_utf8(bytes.to_vec())
            .map(Greeting)
            .map_err(|e| WireError::Decode {
                serializer_id: Self::SERIALIZER_ID,
                manifest: manifest.into(),
                reason: e.to_string(),
            })
    }
}

fn settings() -> ActorSystemSettings {
    let mut s = ActorSystemSettings::default();
    s.coordinated_shutdown.run_by_jvm_shutdown_hook = false;
    s
}

#[tokio::test]
async fn inbound_wire_message_reaches_the_actor_at_its_path() {
    let probe = TestProbe::<String>::new("p");
    let p = probe.ref_();
    let sys = ActorSystem::new(
        Behaviors::receive_message(move |g: Greeting| {
            p.tell(g.0);
            Behaviors::same()
        }),
        "Wire",
        settings(),
    )
    .expect("system");
    let registry = SerializerRegistry::new();
    registry.bind::<Greeting>("org.example.Greeting");
    let path = sys.guardian().path();
    assert_eq!(path.to_string_without_uid(), "pekko://Wire/user");
    let msg = Greeting("hello".into());
    let bytes = msg.to_bytes().expect("encodes");
    registry
        .deliver(
            &sys,
            &path,
            Greeting::SERIALIZER_ID,
            &msg.manifest(),
            &bytes,
        )
        .expect("delivered");
    assert_eq!(probe.expect_message(Duration::from_secs(5)).await, "hello");

    let unknown = registry.deliver(&sys, &path, 31, "org.example.Other", b"x");
    assert!(matches!(unknown, Err(WireError::UnknownManifest { .. })));
    let wrong_uid = ActorPath {
        uid: path.uid.wrapping_add(1),
        ..path.clone()
    };
    let gone = registry.deliver(&sys, &wrong_uid, 31, "org.example.Greeting", b"x");
    assert!(matches!(gone, Err(WireError::NoRecipient(_))));
    sys.terminate();
    sys.when_terminated().await;
}

#[tokio::test(start_paused = true)]
async fn scheduler_runs_once_and_cancels() {
    let sys = ActorSystem::new(Behaviors::empty::<()>(), "Sched", settings()).expect("system");
    let probe = TestProbe::<&'static str>::new("p");
    let p1 = probe.ref_();
    let p2 = probe.ref_();
    let s = sys.scheduler();
    s.schedule_once(Duration::from_millis(100), move || p1.tell("once"));
    let c = s.schedule_once(Duration::from_millis(50), move || p2.tell("cancelled"));
    assert!(c.cancel());
    assert_eq!(probe.expect_message(Duration::from_secs(1)).await, "once");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(probe.try_receive().is_none());
    sys.terminate();
    sys.when_terminated().await;
}
